//! A time of the report in seconds, held as whole microseconds (the engine rounds every
//! time to the microsecond) and written as the seconds they make: `micros as f64 / 1e6`
//! through serde, its shortest decimal (`0.035947`).

use serde::{Serialize, Serializer};

/// Days since 1970-01-01 to a proleptic Gregorian date (year, month, day): Howard
/// Hinnant's `civil_from_days`, for every UTC time the outputs write.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A time or duration of the report in seconds, held as whole microseconds (the
/// engine rounds every time to the microsecond), written as the seconds they make:
/// `micros as f64 / 1e6` through serde, its shortest decimal (`0.035947`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seconds {
    /// Whole microseconds.
    Micros(i64),
    /// A time that no count of microseconds writes as (`-0.0`, not rounded to the
    /// microsecond): kept as it came, so the document says what the report holds.
    Float(f64),
}

impl Seconds {
    /// The microseconds `secs` was rounded to, when `micros / 10^6` gives back that
    /// very float; else `secs` as it is.
    pub fn from_secs(secs: f64) -> Self {
        // The nearest count (the cast saturates; NaN gives 0) stands only if it gives
        // back `secs` to the bit, so a wrong guess costs nothing but the float kept.
        // Bits, not `==`: -0.0 must stay -0.0.
        let micros = (secs * 1e6 + 0.5f64.copysign(secs)) as i64;
        if (micros as f64 / 1e6).to_bits() == secs.to_bits() {
            Seconds::Micros(micros)
        } else {
            Seconds::Float(secs)
        }
    }

    /// `ns` nanoseconds as seconds rounded to the microsecond: how the engine writes
    /// every time and duration of the report.
    pub fn of_ns(ns: i64) -> Self {
        Self::from_secs((ns as f64 / 1e9 * 1e6).round() / 1e6)
    }

    /// The time in seconds.
    pub fn as_secs(self) -> f64 {
        match self {
            Seconds::Micros(micros) => micros as f64 / 1e6,
            Seconds::Float(secs) => secs,
        }
    }
}

impl PartialOrd for Seconds {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.as_secs().partial_cmp(&other.as_secs())
    }
}

/// As the seconds' `f64` writes them, with the format's precision (`{:.1}`).
impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.as_secs(), f)
    }
}

impl Default for Seconds {
    fn default() -> Self {
        Seconds::Micros(0)
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // serde_json writes a float that is not finite as null.
        s.serialize_f64(self.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times as the engine rounds them: nanoseconds to seconds at the microsecond.
    fn engine_secs(ns: i64) -> f64 {
        (ns as f64 / 1e9 * 1e6).round() / 1e6
    }

    #[test]
    fn times_are_held_in_microseconds_and_give_back_the_same_float() {
        // A fixed pseudo-random spread (the same cases every run), of every size up to
        // a century.
        let mut rng = crate::rng::Rng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..100_000 {
            let x = rng.next_u64();
            let ns = ((x >> 12) % 3_200_000_000_000_000_000) as i64 >> ((x >> 4) % 60);
            for ns in [ns, -ns] {
                let secs = engine_secs(ns);
                let t = Seconds::from_secs(secs);
                // A time just before the start rounds to -0.0, which no count makes.
                let negative_zero = secs == 0.0 && secs.is_sign_negative();
                assert!(matches!(t, Seconds::Micros(_)) != negative_zero, "{ns} ns");
                assert_eq!(t.as_secs().to_bits(), secs.to_bits(), "{ns} ns");
            }
        }
        assert_eq!(Seconds::from_secs(0.035947), Seconds::Micros(35_947));
        assert_eq!(Seconds::from_secs(30.0), Seconds::Micros(30_000_000));
    }

    #[test]
    fn a_time_no_microseconds_make_is_written_as_it_came() {
        for secs in [
            -0.0,
            1e-7,
            0.1 + 0.2,
            1e300,
            1_700_000_000.123_456_7,
            f64::NAN,
        ] {
            let t = Seconds::from_secs(secs);
            assert!(matches!(t, Seconds::Float(_)), "{secs:e}");
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                serde_json::to_string(&secs).unwrap()
            );
        }
        assert_eq!(
            serde_json::to_string(&Seconds::Micros(35_947)).unwrap(),
            "0.035947"
        );
        assert_eq!(
            serde_json::to_string(&Seconds::Micros(-1)).unwrap(),
            "-1e-6"
        );
        assert_eq!(
            serde_json::to_string(&Seconds::Micros(12_000_000)).unwrap(),
            "12.0"
        );
    }
}
