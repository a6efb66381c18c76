//! The two macros every dissector declares its numbers with, so that each set
//! of code points (a TLV type, a message id, an opcode...) is written once,
//! value next to name, and the consts, `name()` and `Debug` cannot disagree.
//!
//! - [`code_points!`]: a `pub struct Ty(pub int)` newtype with one const per
//!   known value, `name()`, and a `Debug` that prints the name. Values that
//!   have a name but no use as a const go in an `also_named` block.
//! - [`bit_flags!`]: a bit-set newtype with one const per bit, `contains()`
//!   and `names()`.
//!
//! Both derive `PartialEq` and `Eq`, so their consts can be used as patterns.

/// Declares a code-point newtype: `pub struct $ty(pub $int)` with a const per
/// known value (documented as `` `Name` (value). `` plus the entry's own doc
/// lines), `name()` (the name of a known value, `None` for any other) and a
/// `Debug` printing that name.
///
/// ```ignore
/// code_points! {
///     /// The 2-byte opcode that starts every TFTP packet.
///     TftpOpcode(u16), debug = name "{}" {
///         /// A read request.
///         RRQ = 1 => "Read Request",
///     }
///     also_named {
///         // Values with a name and no const.
///         7 => "Some Name",
///     }
/// }
/// ```
///
/// `debug = <style> "<fmt>"` picks the `Debug` output, `fmt` being how the raw
/// value is written (`"{}"`, `"{:#x}"`, `"{:#06x}"`...):
/// - `name` (the default, with `"{:#x}"`): the bare name (`Voice`) for a known
///   value, `Ty(<fmt>)` for another;
/// - `name_value`: `Name(<fmt>)` for a known value, `Ty(<fmt>)` for another.
macro_rules! code_points {
    (
        $(#[$m:meta])*
        $ty:ident($int:ty) { $($entries:tt)* }
        $($rest:tt)*
    ) => {
        $crate::codepoint::code_points!(
            @declare [$(#[$m])*] $ty($int) [name "{:#x}"] { $($entries)* } $($rest)*
        );
    };
    (
        $(#[$m:meta])*
        $ty:ident($int:ty), debug = $style:ident $fmt:literal { $($entries:tt)* }
        $($rest:tt)*
    ) => {
        $crate::codepoint::code_points!(
            @declare [$(#[$m])*] $ty($int) [$style $fmt] { $($entries)* } $($rest)*
        );
    };
    (
        @declare [$($m:tt)*] $ty:ident($int:ty) [$style:ident $fmt:literal] {
            $( $(#[$cm:meta])* $c:ident = $v:literal => $s:literal, )*
        }
        $( also_named { $( $ov:literal => $os:literal, )* } )?
    ) => {
        $($m)*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(pub $int);

        impl $ty {
            $(
                #[doc = concat!("`", $s, "` (", stringify!($v), ").")]
                $(#[$cm])*
                pub const $c: Self = Self($v);
            )*

            /// The name of a known value, `None` for any other.
            #[must_use]
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$c => Some($s),)*
                    $($(Self($ov) => Some($os),)*)?
                    _ => None,
                }
            }
        }

        $crate::codepoint::code_points!(@debug $style $ty $fmt);
    };
    (@debug name $ty:ident $fmt:literal) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!(stringify!($ty), "(", $fmt, ")"), self.0),
                }
            }
        }
    };
    (@debug name_value $ty:ident $fmt:literal) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, concat!("{}(", $fmt, ")"), n, self.0),
                    None => write!(f, concat!(stringify!($ty), "(", $fmt, ")"), self.0),
                }
            }
        }
    };
}
pub(crate) use code_points;

/// Declares a bit-set newtype: `pub struct $ty(pub $int)` with a const per
/// bit, `contains()` and `names()` over the set bits; `Debug` prints the raw
/// value and the names joined by `|` (`CdpCapabilities(0x90: phone|host)`).
macro_rules! bit_flags {
    ($(#[$m:meta])* $ty:ident($int:ty) { $($c:ident = $v:literal => $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $ty(pub $int);

        impl $ty {
            $(#[doc = concat!("`", $s, "` (", stringify!($v), ").")] pub const $c: Self = Self($v);)*
            const ALL: &'static [(Self, &'static str)] = &[$((Self::$c, $s),)*];

            /// True when every bit of `other` is set.
            #[must_use]
            pub fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Names of the known bits that are set, lowest bit first.
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                Self::ALL
                    .iter()
                    .filter(move |(bit, _)| self.contains(*bit))
                    .map(|(_, name)| *name)
            }
        }

        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({:#x}", stringify!($ty), self.0)?;
                for (i, n) in self.names().enumerate() {
                    f.write_str(if i == 0 { ": " } else { "|" })?;
                    f.write_str(n)?;
                }
                f.write_str(")")
            }
        }
    };
}
pub(crate) use bit_flags;
