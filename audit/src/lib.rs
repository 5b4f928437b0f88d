//! Offline audits of a release's crate set, shared by the release notes
//! (`cordon-release`) and the verifier (`cordon-verify report`):
//!
//! - [`Database`]: a local copy of the RustSec advisory database read for a crate set
//!   ([`Advisory`]: the real `advisory-db` layout, aliases, `patched`/`unaffected`,
//!   withdrawn and informational advisories), named by its commit and date
//!   ([`DatabaseId`]), never by its path; [`hits`] and [`fixed_since`] match it;
//! - [`diff`]: what changed between two releases' crate sets;
//! - [`Vex`]: OpenVEX and CycloneDX VEX statements applied to the hits, and checked
//!   against a release's crate set ([`Vex::problems`]);
//! - [`LicencePolicy`]: allow / review / deny over SPDX expressions, a [`Verdict`] per
//!   component;
//! - [`sbom`]: the components of a CycloneDX or SPDX 2.3 JSON SBOM and the NTIA minimum
//!   elements evaluated over them.
//!
//! It has no network client, no git library and no signing code: `cordon-verify` links
//! it (`verify/tests/dependency_tree.rs`).
//!
//! ```
//! use cordon_audit::{LicencePolicy, Verdict};
//! # fn main() -> Result<(), cordon_audit::AuditError> {
//! let policy = LicencePolicy::parse(
//!     std::path::Path::new("policy.toml"),
//!     "allow = [\"MIT\"]\ndeny = [\"GPL-3.0-only\"]\n",
//! )?;
//! assert_eq!(policy.evaluate(Some("MIT OR GPL-3.0-only")).verdict, Verdict::Allowed);
//! assert_eq!(policy.evaluate(Some("MIT AND GPL-3.0-only")).verdict, Verdict::Denied);
//! # Ok(()) }
//! ```

mod advisory;
mod database;
mod diff;
mod error;
mod licence;
mod matching;
pub mod sbom;
mod vex;
mod vex_check;

pub use advisory::{Advisory, Kind};
pub use database::{Database, DatabaseId, read_id};
pub use diff::{CrateDiff, VersionChange, diff};
pub use error::AuditError;
pub use licence::{LicencePolicy, LicenceVerdict, Verdict};
pub use matching::{CrateVersion, Fixed, Hit, fixed_since, hits};
pub use vex::{Vex, VexStatement, VexStatus};
pub use vex_check::{VexProblem, well_formed_id};
