//! The release formats cordon's signer (`cordon-release`), its verifier
//! (`cordon-verify`) and the release pipeline share, written once: data and its strict
//! parsing, no I/O beyond reading a named file, no crypto.
//!
//! - [`Sha256Sums`]: the `SHA256SUMS` checksum list, rendered and parsed, and the
//!   streaming digest it records ([`sha256_reader`]);
//! - [`Manifest`]: `manifest.json`, the release's index;
//! - [`SignedTrustedRoot`]: `trusted_root.dsse.json`, the root-signed trusted root, with
//!   DSSE's [`pae`] (sigstore-types') and its signed version and expiry
//!   ([`RootStatement`]);
//! - the file names of a release and the media and payload types inside it ([`names`]);
//! - RFC 3339 timestamps as releases write them ([`rfc3339`], [`parse_rfc3339`]);
//! - the Rust toolchain's components in an SBOM and how readers tell them from crates
//!   ([`toolchain`]).
//!
//! Its dependencies are all already in `cordon-verify`'s tree, so the verifier's
//! "no HTTP client, no second crypto stack" test holds with it.
//!
//! ```
//! use cordon_format::{Sha256Sums, names};
//!
//! let mut sums = Sha256Sums::new();
//! sums.insert(names::MANIFEST_FILE, [0xab; 32]);
//! let text = sums.render();
//! assert_eq!(Sha256Sums::parse(&text).unwrap(), sums);
//! assert_eq!(names::bundle_name("SHA256SUMS"), "SHA256SUMS.sigstore.json");
//! ```

mod checksums;
mod manifest;
pub mod names;
mod root_statement;
mod signed_root;
mod time;
pub mod toolchain;

pub use checksums::{Sha256Sums, Sha256SumsError, sha256_reader};
pub use manifest::{
    CrateRecord, FileKind, MANIFEST_SCHEMA, Manifest, ManifestError, ManifestFile, ManifestSource,
};
pub use root_statement::{RootStatement, RootStatementError, VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE};
pub use signed_root::{EnvelopeSignature, SignedTrustedRoot, SignedTrustedRootError, pae};
pub use time::{TimestampError, parse_rfc3339, rfc3339, rfc3339_system_time};
