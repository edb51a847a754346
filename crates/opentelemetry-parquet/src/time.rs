//! Time conversions and the Hive partition of a timestamp.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, as the OTLP exporter computes them (0 before the epoch).
pub(crate) fn to_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// The `date=YYYY-MM-DD/hour=HH` partition of a row, from its UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Partition {
    pub(crate) year: i64,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
}

impl Partition {
    /// The partition of a time in nanoseconds since the epoch (bits read as `i64`, like the
    /// stored timestamp columns).
    pub(crate) fn of(nanos: u64) -> Self {
        let secs = (nanos as i64).div_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let hour = (secs.rem_euclid(86_400) / 3600) as u8;
        let (year, month, day) = civil_from_days(days);
        Partition { year, month, day, hour }
    }

    /// The relative directory, e.g. `date=2026-11-24/hour=07`.
    pub(crate) fn dir(&self) -> std::path::PathBuf {
        std::path::Path::new(&format!("date={:04}-{:02}-{:02}", self.year, self.month, self.day))
            .join(format!("hour={:02}", self.hour))
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_utc_dates_and_hours() {
        let p = |n: u64| Partition::of(n).dir().to_string_lossy().replace('\\', "/");
        assert_eq!(p(0), "date=1970-01-01/hour=00");
        // 2026-11-24T07:59:59.999999999Z
        assert_eq!(p(1_795_507_199_999_999_999), "date=2026-11-24/hour=07");
        // 2024-02-29T23:00:00Z
        assert_eq!(p(1_709_247_600_000_000_000), "date=2024-02-29/hour=23");
        // A u64 beyond i64::MAX reads as a time before 1970.
        assert_eq!(p(u64::MAX), "date=1969-12-31/hour=23");
    }
}
