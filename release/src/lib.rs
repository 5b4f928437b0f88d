//! cordon's release library.
//!
//! Everything a release writes goes through here:
//! - the release directory itself ([`StagedDir`]: built in a hidden temporary
//!   directory, then renamed into place), its checksum list ([`Sha256Sums`],
//!   the format shared with the verifier through `cordon-format`) and single files
//!   ([`write_atomic`]: temporary sibling, fsync, rename, fsync of the directory);
//! - trust material ([`TrustDir`], [`init_trust`]): the pinned root CA, rotating release CAs, the CT-log and
//!   transparency-log keys, and the `trusted_root.json` Sigstore clients load;
//! - signing ([`Signer`]): Sigstore bundle v0.3 for blobs and in-toto statements;
//! - the embedded transparency log ([`FileLog`], [`merkle`]);
//! - SLSA v1 provenance in an in-toto Statement ([`Statement`]), the `manifest.json`
//!   index with the release's crate set ([`Manifest`], [`diff_crates`]) and the markdown
//!   release notes with the dependency diff and RustSec advisories ([`render_notes`]; the
//!   advisories are read and matched by `cordon-audit`, shared with the verifier).
//!
//! The modules are private; what is public is re-exported here, by name.
//!
//! ```
//! use cordon_release::StagedDir;
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

mod checksums;
mod crates;
mod ct;
mod fsutil;
mod keys;
mod manifest;
mod notes;
mod output;
mod provenance;
mod sign;
mod time;
mod tlog;
mod trust;
mod x509;

pub use checksums::{Sha256Sums, sha256_file, sha256_reader};
pub use crates::{CrateDiff, CrateRecord, VersionChange, diff as diff_crates};
pub use ct::{CtLog, LocalCtLog};
pub use fsutil::{FsError, pem_decode, pem_encode, write_atomic};
pub use keys::{KeyError, PASSPHRASE_ENV, SigningKey, verify as verify_signature};
pub use manifest::{
    FileKind, MANIFEST_FILE, MANIFEST_SCHEMA, Manifest, ManifestError, ManifestFile,
    ManifestSource, previous_release,
};
pub use notes::{AdvisoryCheck, NotesInput, VexNote, render as render_notes};
pub use output::{OutputError, StagedDir};
pub use provenance::{
    BUILD_TYPE, BuildDefinition, BuildMetadata, Builder, ExternalParameters, IN_TOTO_PAYLOAD_TYPE,
    InternalParameters, LOCAL_BUILDER_ID, Provenance, ProvenanceError, ResourceDescriptor,
    RunDetails, SLSA_PROVENANCE_V1, STATEMENT_TYPE, SourceParameters, Statement, Toolchain,
};
pub use sign::{BundleSigner, CertificateAuthority, LocalCa, SignError, SignOptions, Signer};
pub use time::{now_unix, parse_rfc3339, rfc3339};
pub use tlog::note::Checkpoint;
pub use tlog::{FileLog, LogError, LoggedEntry, ProposedEntry, TransparencyLog, merkle};
pub use trust::{
    DEFAULT_RELEASE_CA_DAYS, DEV_LABEL, DEV_ROTATE_BEFORE, InitOptions, ReleaseCa, TrustDir,
    TrustError, init as init_trust, open_or_init_dev as open_or_init_dev_trust,
    open_signed_trusted_root,
};
pub use x509::{
    CertError, LeafIdentity, certificate_spki, certificate_subject, certificate_window,
    fingerprint as certificate_fingerprint,
};
