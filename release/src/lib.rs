//! cordon's release library.
//!
//! Everything a release writes goes through here:
//! - the release directory itself ([`output::StagedDir`]: built in a hidden temporary
//!   directory, then renamed into place), its checksum list ([`checksums::Sha256Sums`],
//!   the format shared with the verifier through `cordon-format`) and single files
//!   ([`write_atomic`]: temporary sibling, fsync, rename, fsync of the directory);
//! - trust material ([`trust`]): the pinned root CA, rotating release CAs, the CT-log and
//!   transparency-log keys, and the `trusted_root.json` Sigstore clients load;
//! - signing ([`sign::Signer`]): Sigstore bundle v0.3 for blobs and in-toto statements;
//! - the embedded transparency log ([`tlog`]);
//! - SLSA v1 provenance in an in-toto Statement ([`provenance`]), the `manifest.json`
//!   index with the release's crate set ([`manifest`], [`crates`]) and the markdown
//!   release notes with the dependency diff and RustSec advisories ([`notes`]; the
//!   advisories are read and matched by `cordon-audit`, shared with the verifier).
//!
//! ```
//! use cordon_release::output::StagedDir;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dist = tempfile::tempdir()?;
//! let mut staged = StagedDir::create(dist.path(), "1.2.3")?;
//! staged.write_file("hello.txt", b"hello\n")?;
//! staged.write_checksums("SHA256SUMS")?;
//! let published = staged.publish(false)?;
//! assert_eq!(
//!     std::fs::read_to_string(published.join("SHA256SUMS"))?,
//!     "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  hello.txt\n",
//! );
//! # Ok(()) }
//! ```

pub mod checksums;
pub mod crates;
pub mod ct;
mod fsutil;
pub mod keys;
pub mod manifest;
pub mod notes;
pub mod output;
pub mod provenance;
pub mod sign;
pub mod time;
pub mod tlog;
pub mod trust;
pub mod x509;

pub use fsutil::{FsError, pem_decode, pem_encode, write_atomic};
