//! The crate set a release records (in `manifest.json`) and the difference between two of
//! them, which the next release's notes report (the diff is `cordon-audit`'s, shared with
//! `cordon-verify report`).

pub use cordon_audit::{CrateDiff, VersionChange, diff};
pub use cordon_format::CrateRecord;
