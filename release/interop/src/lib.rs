//! The interoperability matrix: a directory of real bundles, good and deliberately bad,
//! that independent Sigstore clients (sigstore-python, sigstore-js, the sigstore-verify
//! crate) must accept or reject. `cargo xtask test` writes it with [`write_cases`] and runs
//! each client over `cases.json`; the Rust test runs sigstore-verify over the same cases.
//!
//! An unpublished crate (`publish = false`): fixture generation is a test concern, not
//! part of `cordon-release`'s published API.
//!
//! Every case is produced by the real signing path; the bad ones change exactly one
//! thing: an artifact byte, the expected identity or issuer, the trust root, an inclusion
//! proof hash, the checkpoint, the SCT (via a CT log that returns a corrupted one, so the
//! CA's signature on the certificate stays valid), or the release CA's window.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use cordon_release::{
    CertError, CtLog, FsError, InitOptions, LeafIdentity, LocalCtLog, SignError, SignOptions,
    Signer, SigningKey, TrustDir,
};

/// The identity the good bundles are signed for.
pub const IDENTITY: &str =
    "https://github.com/cordon-dev/cordon/.github/workflows/release.yml@refs/heads/main";
/// The OIDC issuer the good bundles carry.
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// One verification to run.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    /// Name, e.g. `blob-wrong-identity`.
    pub name: String,
    /// The bundle file.
    pub bundle: PathBuf,
    /// The artifact file (for DSSE bundles: the statement's subject).
    pub artifact: PathBuf,
    /// Expected SAN.
    pub identity: String,
    /// Expected OIDC issuer.
    pub issuer: String,
    /// The trusted_root.json to verify with.
    pub trusted_root: PathBuf,
    /// The ClientTrustConfig with that root (sigstore-python's `--trust-config`).
    pub trust_config: PathBuf,
    /// Whether a correct verifier accepts it.
    pub accept: bool,
}

/// A CT log that signs, then corrupts, the SCT.
#[derive(Debug)]
struct CorruptCtLog<'a>(LocalCtLog<'a>);

impl CtLog for CorruptCtLog<'_> {
    fn submit_precertificate(
        &self,
        precertificate: &[u8],
        issuer_spki: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, CertError> {
        let mut sct = self
            .0
            .submit_precertificate(precertificate, issuer_spki, now)?;
        if let Some(last) = sct.last_mut() {
            *last ^= 0x01;
        }
        Ok(sct)
    }
}

fn identity() -> LeafIdentity {
    LeafIdentity {
        subject: IDENTITY.to_owned(),
        issuer: ISSUER.to_owned(),
        source_repository: Some("https://github.com/cordon-dev/cordon".to_owned()),
        source_digest: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        source_ref: Some("refs/heads/main".to_owned()),
    }
}

/// Wraps an `io::Error` with what was being done and where.
fn fs_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SignError {
    let path = path.to_owned();
    move |source| {
        SignError::Fs(FsError {
            action,
            path,
            source,
        })
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<PathBuf, SignError> {
    cordon_release::write_atomic(path, bytes, 0o644)?;
    Ok(path.to_owned())
}

/// Edits a bundle's JSON.
fn edit(bundle: &str, change: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_str(bundle).unwrap_or_default();
    change(&mut value);
    format!("{value:#}\n").into_bytes()
}

fn flip_base64(value: &mut serde_json::Value, byte: usize) {
    if let Some(text) = value.as_str()
        && let Ok(mut bytes) = STANDARD.decode(text)
    {
        let at = byte.min(bytes.len().saturating_sub(1));
        if let Some(b) = bytes.get_mut(at) {
            *b ^= 0x01;
        }
        *value = json!(STANDARD.encode(bytes));
    }
}

/// Writes the matrix into `dir` (which it creates) and returns the cases.
pub fn write_cases(dir: &Path) -> Result<Vec<Case>, SignError> {
    std::fs::create_dir_all(dir).map_err(fs_error("create", dir))?;
    let day = Duration::from_secs(86_400);
    // Everything happens in the past so verifiers' own clocks see it as history.
    let t0 = SystemTime::now() - 30 * day;
    let trust_dir = dir.join("trust");
    let other_dir = dir.join("other-trust");
    for path in [&trust_dir, &other_dir] {
        if path.exists() {
            std::fs::remove_dir_all(path).map_err(fs_error("remove", path))?;
        }
    }
    let mut options = InitOptions::new("cordon interop test");
    options.now = t0;
    options.release_ca_validity = 10 * day;
    let mut trust = cordon_release::init_trust(&trust_dir, &options)?;
    cordon_release::init_trust(
        &other_dir,
        &InitOptions {
            label: "another root".into(),
            ..options
        },
    )?;
    // Release CA 2 from day 8 (overlapping CA 1, which ends on day 10).
    trust.issue_release_ca(t0 + 8 * day, 20 * day)?;

    let artifact = write(&dir.join("artifact.txt"), b"cordon interop artifact\n")?;
    let changed = write(
        &dir.join("artifact-changed.txt"),
        b"cordon interop artifacT\n",
    )?;
    let digest = hex::encode(Sha256::digest(b"cordon interop artifact\n"));
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "artifact.txt", "digest": {"sha256": digest}}],
        "predicateType": cordon_format::names::SLSA_PROVENANCE_V1,
        "predicate": {"buildDefinition": {"buildType": "https://cordon.dev/interop", "externalParameters": {}}, "runDetails": {"builder": {"id": IDENTITY}}},
    })
    .to_string();

    let at = |days: u32| SignOptions {
        now: Some(t0 + days * day + Duration::from_secs(3600)),
        ..SignOptions::default()
    };
    let signer = Signer::open(&trust_dir, &identity(), &at(2))?;
    // A first entry, so that the good bundles' inclusion proofs have hashes to tamper.
    signer.sign_blob_bytes(b"first entry")?;
    let blob = signer.sign_blob(&artifact)?;
    let dsse = signer.sign_in_toto(statement.as_bytes())?;
    // After the rotation, with the new CA: still good.
    let rotated = Signer::open(&trust_dir, &identity(), &at(12))?.sign_blob(&artifact)?;
    // Release CA 1 used after its window closed: bad.
    let expired = Signer::open(
        &trust_dir,
        &identity(),
        &SignOptions {
            release_ca: Some(1),
            allow_release_ca_outside_window: true,
            ..at(12)
        },
    )?
    .sign_blob(&artifact)?;
    let ct_key = SigningKey::load(&trust.key_path("ctlog"))?;
    let bad_sct = Signer::open_with_ct_log(
        &trust_dir,
        &identity(),
        &at(3),
        &CorruptCtLog(LocalCtLog { key: &ct_key }),
    )?
    .sign_blob(&artifact)?;

    let root = trust_dir.join("trusted_root.json");
    let config = trust_dir.join("client_trust_config.json");
    let mut cases = Vec::new();
    let mut add = |name: &str,
                   bundle: Vec<u8>,
                   artifact: &Path,
                   accept: bool,
                   tweak: &dyn Fn(&mut Case)|
     -> Result<(), SignError> {
        let bundle = write(&dir.join(format!("{name}.sigstore.json")), &bundle)?;
        let mut case = Case {
            name: name.to_owned(),
            bundle,
            artifact: artifact.to_owned(),
            identity: IDENTITY.to_owned(),
            issuer: ISSUER.to_owned(),
            trusted_root: root.clone(),
            trust_config: config.clone(),
            accept,
        };
        tweak(&mut case);
        cases.push(case);
        Ok(())
    };
    let same = |_: &mut Case| {};
    for (kind, bundle) in [("blob", &blob), ("dsse", &dsse)] {
        add(
            &format!("{kind}-good"),
            bundle.clone().into_bytes(),
            &artifact,
            true,
            &same,
        )?;
        add(
            &format!("{kind}-changed-artifact"),
            bundle.clone().into_bytes(),
            &changed,
            false,
            &same,
        )?;
        add(
            &format!("{kind}-wrong-identity"),
            bundle.clone().into_bytes(),
            &artifact,
            false,
            &|case| {
                case.identity =
                    "https://github.com/evil/cordon/.github/workflows/release.yml@refs/heads/main"
                        .into();
            },
        )?;
        add(
            &format!("{kind}-wrong-issuer"),
            bundle.clone().into_bytes(),
            &artifact,
            false,
            &|case| {
                case.issuer = "https://accounts.google.com".into();
            },
        )?;
        add(
            &format!("{kind}-other-root"),
            bundle.clone().into_bytes(),
            &artifact,
            false,
            &|case| {
                case.trusted_root = other_dir.join("trusted_root.json");
                case.trust_config = other_dir.join("client_trust_config.json");
            },
        )?;
        let proof = edit(bundle, |value| {
            let proof = &mut value["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
            if proof["hashes"]
                .as_array()
                .is_some_and(|hashes| !hashes.is_empty())
            {
                flip_base64(&mut proof["hashes"][0], 0);
            } else {
                flip_base64(&mut proof["rootHash"], 0);
            }
        });
        add(
            &format!("{kind}-tampered-inclusion-proof"),
            proof,
            &artifact,
            false,
            &same,
        )?;
        let checkpoint = edit(bundle, |value| {
            let envelope = &mut value["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
                ["envelope"];
            let text = envelope.as_str().unwrap_or_default().to_owned();
            // Keep the root hash (so only the signature can catch it): change the origin.
            *envelope = json!(text.replacen(" - ", " -- ", 1));
        });
        add(
            &format!("{kind}-tampered-checkpoint"),
            checkpoint,
            &artifact,
            false,
            &same,
        )?;
    }
    add(
        "blob-after-rotation",
        rotated.into_bytes(),
        &artifact,
        true,
        &same,
    )?;
    add(
        "blob-tampered-sct",
        bad_sct.into_bytes(),
        &artifact,
        false,
        &same,
    )?;
    add(
        "blob-release-ca-outside-window",
        expired.into_bytes(),
        &artifact,
        false,
        &same,
    )?;
    let listing = serde_json::to_vec_pretty(&cases).unwrap_or_default();
    write(&dir.join("cases.json"), &listing)?;
    let _ = TrustDir::open(&trust_dir)?;
    Ok(cases)
}
