//! RFC 3339 timestamps as releases write them: UTC, whole seconds, `Z`
//! (`2023-11-14T22:13:20Z`), through jiff. Parsing is strict: only that exact form, so
//! what is read is what was written.

use std::time::SystemTime;

use jiff::Timestamp;

/// A timestamp that is not in the form releases write.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{found:?} is not an RFC 3339 UTC time in whole seconds (like 2023-11-14T22:13:20Z)")]
pub struct TimestampError {
    /// The rejected text, shortened to 80 characters.
    pub found: String,
}

/// `seconds` since the Unix epoch as `YYYY-MM-DDThh:mm:ssZ`. Instants beyond jiff's
/// range (years -9999 to 9999) are clamped to its ends.
pub fn rfc3339(seconds: i64) -> String {
    let clamped = seconds.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(clamped)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_string()
}

/// A [`SystemTime`] as [`rfc3339`] writes it (sub-second parts dropped).
pub fn rfc3339_system_time(at: SystemTime) -> String {
    let seconds = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            // -0.5 s is in the second that starts at -1 s.
            -whole - i64::from(before.subsec_nanos() > 0)
        }
    };
    rfc3339(seconds)
}

/// Parses exactly what [`rfc3339`] writes, back into Unix seconds.
pub fn parse_rfc3339(text: &str) -> Result<i64, TimestampError> {
    let error = || TimestampError {
        found: text.chars().take(80).collect(),
    };
    let parsed: Timestamp = text.parse().map_err(|_| error())?;
    let seconds = parsed.as_second();
    if rfc3339(seconds) == text {
        Ok(seconds)
    } else {
        Err(error())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400` = 2000-02-29 (a leap day of a century leap year).
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn system_times_drop_sub_seconds() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_900);
        assert_eq!(rfc3339_system_time(at), "2023-11-14T22:13:20Z");
        let before = SystemTime::UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(rfc3339_system_time(before), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn parsing_inverts_formatting_and_nothing_else() {
        for seconds in [0, 1, -1, 951_782_400, 1_700_000_000, 4_107_542_399] {
            assert_eq!(parse_rfc3339(&rfc3339(seconds)), Ok(seconds));
        }
        for other in [
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.5Z",
            "2023-11-14T23:13:20+01:00",
            "2023-11-14t22:13:20z",
            "",
            "yesterday",
        ] {
            assert!(parse_rfc3339(other).is_err(), "{other}");
        }
    }
}
