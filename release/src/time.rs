//! The clock a release reads. Timestamps are written by `cordon-format`'s
//! [`rfc3339`] (re-exported here).

use std::time::{SystemTime, UNIX_EPOCH};

pub use cordon_format::{parse_rfc3339, rfc3339};

/// Now, as Unix seconds (0 if the clock is before 1970).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
