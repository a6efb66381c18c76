//! Writing messages back, the same way for every dissector: each message type
//! has `buffer_len()` (the exact size), `emit(&mut [u8])` and `to_vec()`, all
//! failing with the one [`EmitError`]. Inside, every emitter writes through the
//! one [`Writer`]: checked against `buffer_len` first, and a write past the end
//! is still an error naming the size needed, never a panic.

use crate::error::Proto;

/// Why a message could not be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The buffer handed to `emit` is shorter than the message's `buffer_len`
    /// (nothing is written then).
    #[error("{proto} emit: buffer too small, {needed} bytes needed")]
    BufferTooSmall {
        /// The emitting dissector.
        proto: Proto,
        /// The bytes `emit` needs.
        needed: usize,
    },
    /// A value the wire format cannot carry, or that the dissector's `parse`
    /// would read back differently (each `emit` lists its cases); the buffer
    /// may then be partly written.
    #[error("{proto} emit: {field}: {reason}")]
    Unrepresentable {
        /// The emitting dissector.
        proto: Proto,
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

// A failed emit inside a capture writer (bootscope's simulator) ends the
// write like any other bad data, so `?` carries it into `io::Result`.
impl From<EmitError> for std::io::Error {
    fn from(e: EmitError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

/// An [`EmitError::Unrepresentable`].
pub(crate) fn unrepresentable(
    proto: Proto,
    field: &'static str,
    reason: &'static str,
) -> EmitError {
    EmitError::Unrepresentable {
        proto,
        field,
        reason,
    }
}

/// A message emitted into a new zeroed buffer of `len` (its `buffer_len`)
/// bytes, cut to the length `emit` reports: the body of every `to_vec`.
pub(crate) fn to_vec(
    len: usize,
    emit: impl FnOnce(&mut [u8]) -> Result<usize, EmitError>,
) -> Result<Vec<u8>, EmitError> {
    let mut buf = vec![0; len];
    let n = emit(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// The output cursor of every emitter.
///
/// A writer from [`Writer::new`] is strict: a write past its end is an
/// [`EmitError::BufferTooSmall`]. A window from [`Writer::cut`] is a field
/// deliberately cut to its length field's reach (CDP, LLDP): bytes past its
/// end are dropped, and counted by `pos`.
pub(crate) struct Writer<'b> {
    proto: Proto,
    buf: &'b mut [u8],
    pos: usize,
    /// The size the emitter announced (`buffer_len`), reported on overrun.
    needed: usize,
    /// A window of [`Writer::cut`]: overrun drops bytes instead of failing.
    cuts: bool,
}

impl<'b> Writer<'b> {
    /// A strict writer over `buf[..needed]`, for a message of `needed` bytes.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than `needed`.
    pub(crate) fn new(proto: Proto, buf: &'b mut [u8], needed: usize) -> Result<Self, EmitError> {
        let buf = buf
            .get_mut(..needed)
            .ok_or(EmitError::BufferTooSmall { proto, needed })?;
        Ok(Writer {
            proto,
            buf,
            pos: 0,
            needed,
            cuts: false,
        })
    }

    /// Bytes written so far (with those a cut window dropped).
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes of the buffer (fewer only in a cut window), and the
    /// cursor moved past all `n`.
    fn slot(&mut self, n: usize) -> Result<&mut [u8], EmitError> {
        let start = self.pos;
        let end = start.saturating_add(n);
        self.pos = end;
        if self.cuts {
            let len = self.buf.len();
            return Ok(self
                .buf
                .get_mut(start.min(len)..end.min(len))
                .unwrap_or_default());
        }
        let needed = self.needed.max(end);
        let proto = self.proto;
        self.buf
            .get_mut(start..end)
            .ok_or(EmitError::BufferTooSmall { proto, needed })
    }

    /// Append `b` (in a cut window, as much of it as fits).
    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<(), EmitError> {
        let dst = self.slot(b.len())?;
        if let Some(src) = b.get(..dst.len()) {
            dst.copy_from_slice(src);
        }
        Ok(())
    }

    /// Append each of `parts` in turn.
    pub(crate) fn parts(&mut self, parts: &[&[u8]]) -> Result<(), EmitError> {
        parts.iter().try_for_each(|p| self.bytes(p))
    }

    /// Append `n` zero bytes.
    pub(crate) fn zeros(&mut self, n: usize) -> Result<(), EmitError> {
        self.slot(n)?.fill(0);
        Ok(())
    }

    /// Append one byte.
    pub(crate) fn u8(&mut self, v: u8) -> Result<(), EmitError> {
        self.bytes(&[v])
    }

    /// Append a big-endian u16.
    pub(crate) fn be_u16(&mut self, v: u16) -> Result<(), EmitError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Append a big-endian u32.
    pub(crate) fn be_u32(&mut self, v: u32) -> Result<(), EmitError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Append a little-endian u32.
    pub(crate) fn le_u32(&mut self, v: u32) -> Result<(), EmitError> {
        self.bytes(&v.to_le_bytes())
    }

    /// A cut window over the next `len` bytes (a field cut to `len`), and this
    /// writer moved past them.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when a strict writer lacks `len` bytes.
    pub(crate) fn cut(&mut self, len: usize) -> Result<Writer<'_>, EmitError> {
        let proto = self.proto;
        Ok(Writer {
            proto,
            buf: self.slot(len)?,
            pos: 0,
            needed: len,
            cuts: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strict_writer_reports_the_size_needed() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(Proto::Sccp, &mut buf, 4).unwrap();
        w.le_u32(7).unwrap();
        assert_eq!(
            w.u8(1),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Sccp,
                needed: 5
            })
        );
        assert_eq!(buf, [7, 0, 0, 0]);
        assert!(matches!(
            Writer::new(Proto::Cdp, &mut buf, 5),
            Err(EmitError::BufferTooSmall { needed: 5, .. })
        ));
    }

    #[test]
    fn a_cut_window_drops_what_does_not_fit() {
        let mut buf = [0u8; 6];
        let mut w = Writer::new(Proto::Cdp, &mut buf, 6).unwrap();
        {
            let mut v = w.cut(3).unwrap();
            v.bytes(b"abcdef").unwrap();
            v.cut(2).unwrap().bytes(b"gh").unwrap();
            assert_eq!(v.pos(), 8);
        }
        w.bytes(b"xyz").unwrap();
        assert_eq!(w.pos(), 6);
        assert_eq!(&buf, b"abcxyz");
    }
}
