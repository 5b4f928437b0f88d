//! cordon-verify's library: the checks a distributor runs on a downloaded release.
//!
//! It trusts nothing it is given: every file name is checked to stay inside the release
//! directory, every digest is recomputed, and every failure is reported with the file
//! and the reason. It has no network client and no signing code, by design: Sigstore
//! bundles are verified offline with sigstore-rust's `sigstore-verify` against a trusted
//! root given as a file, proven from a pinned root fingerprint, or embedded in the
//! binary, and cordon's policy (which identity, which builder, which source) is checked
//! on top. The release formats (`SHA256SUMS`, `manifest.json`, the signed trusted root)
//! are `cordon-format`'s, shared with the signer.
//!
//! Each verification returns a [`Report`]: rows that passed, failed (with a
//! [`FailureClass`], which is the process exit code) or were skipped because a check they
//! depend on failed. The `cordon-verify` binary only parses arguments and prints it.
//!
//! The modules are private; what is public is re-exported here, by name: the commands
//! ([`verify_release`], [`verify_checksums`], [`verify_artifact`], [`verify_provenance`],
//! [`build_report`]), what they take and return, the trust sources, and the building
//! blocks a caller needs to verify one bundle or statement itself.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("hello.txt"), b"hello\n")?;
//! let sums = dir.path().join("SHA256SUMS");
//! std::fs::write(
//!     &sums,
//!     "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  hello.txt\n",
//! )?;
//! let report = cordon_verify::verify_checksums(&sums, true);
//! assert_eq!(report.verdict(), None);
//! # Ok(()) }
//! ```

mod authority;
mod checksums;
mod commands;
mod embedded;
mod exit;
mod input;
mod inventory;
mod pinned;
mod procurement;
mod provenance;
mod release_dir;
mod report;
mod rollback;
mod signature;

// The commands: each takes paths and expectations and returns a report.
pub use commands::{verify_artifact, verify_checksums, verify_provenance};
pub use procurement::build as build_report;
pub use release_dir::verify as verify_release;

// What the commands expect and return.
pub use exit::{Failure, FailureClass};
pub use input::ArtifactInput;
pub use procurement::{
    Advisories as ReportAdvisories, Changes as ReportChanges, ComponentRow, Decision, HitRow,
    Part as ReportPart, ProcurementReport, REJECTED_BY_POLICY, ReleaseInfo, ReportOptions,
    SbomSummary,
};
pub use provenance::{
    Expectations as ProvenanceExpectations, Verified as VerifiedProvenance, parse_workflow_input,
};
pub use release_dir::Expectations as ReleaseExpectations;
pub use report::{Line, Report, Row, Status};

// Trust: where the trusted root comes from and who must have signed.
pub use pinned::{ProvenTrustedRoot, open_signed_trusted_root, parse_fingerprint};
pub use rollback::RootVersion;
pub use signature::{ExpectedSigner, LoadedRoot, TrustSource, TrustedRoot};

// The building blocks, for callers that verify one bundle or statement themselves (the
// keyless signer checks what it is about to write; the fuzz targets).
pub use cordon_format::{Sha256Sums, Sha256SumsError};
pub use provenance::file::{Provenance as ProvenanceDocument, parse as parse_provenance_document};
pub use provenance::{
    GITHUB_ACTIONS_ISSUER, SignerClaims, builder_matches, check as check_provenance_statement,
    normalize_repository, signer_matches,
};
pub use signature::{
    dsse_payload, in_toto_payload, load_bundle, load_trusted_root, parse_bundle,
    parse_trusted_root, verify as verify_signature,
};

/// `cordon-verify release`'s SBOM readers (CycloneDX, SPDX 2.3, SPDX 3 JSON-LD) over
/// untrusted text, for `verify/fuzz` (target `sbom`): errors, never panics. Not part of
/// the supported API.
#[doc(hidden)]
pub fn fuzz_sbom_readers(text: &str) -> usize {
    release_dir::read_untrusted_sbom(text)
}
