//! cordon-verify's library: the checks a distributor runs on a downloaded release.
//!
//! It trusts nothing it is given: every file name is checked to stay inside the release
//! directory, every digest is recomputed, and every failure is reported with the file
//! and the reason. It has no network client and no signing code, by design: Sigstore
//! bundles are verified offline with sigstore-rust's `sigstore-verify` against a trusted
//! root given as a file or embedded in the binary, and cordon's policy (which identity,
//! which builder, which source) is checked on top.
//!
//! ```
//! use cordon_verify::checksums::{self, Outcome, Sha256Sums};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("hello.txt"), b"hello\n")?;
//! let list = Sha256Sums::parse(
//!     "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  hello.txt\n",
//! )?;
//! let results = checksums::check(&list, dir.path());
//! assert!(matches!(results[0].outcome, Outcome::Ok));
//! # Ok(()) }
//! ```

pub mod checksums;
pub mod embedded;
pub mod exit;
pub mod input;
pub mod inventory;
pub mod pinned;
pub mod provenance;
pub mod release_dir;
pub mod signature;
