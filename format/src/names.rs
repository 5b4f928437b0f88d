//! File names in a release directory, and the media and payload types inside its files:
//! the names the signer writes and the verifier looks for, written once.

/// The checksum list (`sha256sum` text format) over every other file of a release.
pub const SHA256SUMS_FILE: &str = "SHA256SUMS";
/// The release index (see [`crate::Manifest`]).
pub const MANIFEST_FILE: &str = "manifest.json";
/// The Sigstore trusted root the release's bundles verify against.
pub const TRUSTED_ROOT_FILE: &str = "trusted_root.json";
/// [`TRUSTED_ROOT_FILE`]'s bytes in a DSSE envelope signed by the root CA's key (see
/// [`crate::SignedTrustedRoot`]).
pub const SIGNED_TRUSTED_ROOT_FILE: &str = "trusted_root.dsse.json";
/// The markdown release notes.
pub const RELEASE_NOTES_FILE: &str = "RELEASE-NOTES.md";
/// What a file's Sigstore bundle appends to the file's name.
pub const BUNDLE_SUFFIX: &str = ".sigstore.json";

/// The Sigstore bundle of `file`: `<file>.sigstore.json`.
pub fn bundle_name(file: &str) -> String {
    format!("{file}{BUNDLE_SUFFIX}")
}

/// The file `bundle` is the Sigstore bundle of, when it is named like one.
pub fn bundled_file(bundle: &str) -> Option<&str> {
    bundle
        .strip_suffix(BUNDLE_SUFFIX)
        .filter(|file| !file.is_empty())
}

/// What a file's keyless Sigstore bundle (public-good Fulcio, Rekor and TSA) appends to
/// the file's name. It sits beside [`BUNDLE_SUFFIX`]'s bundle from cordon's own CA, and
/// still ends in `.sigstore.json` so that Sigstore tools recognise it; they find it with
/// `--bundle` since the default `<file>.sigstore.json` is the embedded one.
pub const KEYLESS_BUNDLE_SUFFIX: &str = ".keyless.sigstore.json";

/// The keyless Sigstore bundle of `file`: `<file>.keyless.sigstore.json`. For the
/// provenance (itself a DSSE bundle) it is a keyless DSSE bundle of the same statement.
pub fn keyless_bundle_name(file: &str) -> String {
    format!("{file}{KEYLESS_BUNDLE_SUFFIX}")
}

/// The file `bundle` is the keyless Sigstore bundle of, when it is named like one.
pub fn keyless_bundled_file(bundle: &str) -> Option<&str> {
    bundle
        .strip_suffix(KEYLESS_BUNDLE_SUFFIX)
        .filter(|file| !file.is_empty())
}

/// The SLSA provenance of a release: `<product>-<version>.intoto.jsonl`.
pub fn provenance_name(product: &str, version: &str) -> String {
    format!("{product}-{version}.intoto.jsonl")
}

/// The release's CycloneDX 1.5 SBOM: `<product>-<version>.cdx.json`.
pub fn cyclonedx_1_5_name(product: &str, version: &str) -> String {
    format!("{product}-{version}.cdx.json")
}

/// The release's CycloneDX 1.6 SBOM: `<product>-<version>.v1_6.cdx.json`.
pub fn cyclonedx_1_6_name(product: &str, version: &str) -> String {
    format!("{product}-{version}.v1_6.cdx.json")
}

/// The release's SPDX 2.3 SBOM: `<product>-<version>.spdx.json`.
pub fn spdx_2_3_name(product: &str, version: &str) -> String {
    format!("{product}-{version}.spdx.json")
}

/// The release's SPDX 3.0.1 JSON-LD SBOM: `<product>-<version>.spdx3.json`.
pub fn spdx_3_0_1_name(product: &str, version: &str) -> String {
    format!("{product}-{version}.spdx3.json")
}

/// The release's VEX document (the configured file's bytes, unchanged):
/// `<product>-<version>.vex.json`.
pub fn vex_name(product: &str, version: &str) -> String {
    format!("{product}-{version}.vex.json")
}

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// `_type` of an in-toto Statement v1.
pub const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of an in-toto Statement v0.1 (slsa-github-generator still emits it).
pub const IN_TOTO_STATEMENT_V0_1: &str = "https://in-toto.io/Statement/v0.1";
/// `predicateType` of SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// The bundle media type the signer writes (Sigstore bundle v0.3).
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Bundle media types a verifier accepts (protobuf-specs `Bundle.media_type`).
pub const BUNDLE_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    BUNDLE_MEDIA_TYPE,
];

/// The trusted-root media type the signer writes.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// Trusted-root media types a verifier accepts.
pub const TRUSTED_ROOT_MEDIA_TYPES: [&str; 3] = [
    TRUSTED_ROOT_MEDIA_TYPE,
    "application/vnd.dev.sigstore.trustedroot.v0.1+json",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
];
/// The DSSE payload type of [`SIGNED_TRUSTED_ROOT_FILE`]: the trusted root's own media
/// type, since the payload is the exact bytes of `trusted_root.json`.
pub const SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE: &str = TRUSTED_ROOT_MEDIA_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names_round_trip() {
        assert_eq!(bundle_name("cordon"), "cordon.sigstore.json");
        assert_eq!(bundled_file("cordon.sigstore.json"), Some("cordon"));
        assert_eq!(bundled_file(".sigstore.json"), None);
        assert_eq!(bundled_file("cordon"), None);
        assert_eq!(
            keyless_bundle_name("cordon"),
            "cordon.keyless.sigstore.json"
        );
        assert_eq!(
            keyless_bundled_file("cordon.keyless.sigstore.json"),
            Some("cordon")
        );
        assert_eq!(keyless_bundled_file("cordon.sigstore.json"), None);
        assert_eq!(keyless_bundled_file(".keyless.sigstore.json"), None);
    }

    #[test]
    fn release_file_names() {
        assert_eq!(
            provenance_name("cordon", "1.0.0"),
            "cordon-1.0.0.intoto.jsonl"
        );
        assert_eq!(
            cyclonedx_1_5_name("cordon", "1.0.0"),
            "cordon-1.0.0.cdx.json"
        );
        assert_eq!(
            cyclonedx_1_6_name("cordon", "1.0.0"),
            "cordon-1.0.0.v1_6.cdx.json"
        );
        assert_eq!(spdx_2_3_name("cordon", "1.0.0"), "cordon-1.0.0.spdx.json");
        assert_eq!(
            spdx_3_0_1_name("cordon", "1.0.0"),
            "cordon-1.0.0.spdx3.json"
        );
    }
}
