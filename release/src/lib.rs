//! cordon's release library.
//!
//! Everything a release writes goes through here. Today that is the release directory
//! itself ([`output::StagedDir`]: built in a hidden temporary directory, then renamed into
//! place, so an interrupted run never leaves something that looks like a release) and its
//! checksum list ([`checksums::Sha256Sums`]). Trust material, Sigstore bundles, the
//! transparency log and SLSA provenance join it as the release pipeline grows.
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
pub mod output;
