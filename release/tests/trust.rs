//! Trust directories: layout and permissions, rotation windows, the root-signed
//! trusted root, and signing refusals.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use cordon_format::{RootStatement, SignedTrustedRoot};
use cordon_release::{InitOptions, LeafIdentity, SignError, SignOptions, Signer, TrustDir};

const DAY: Duration = Duration::from_secs(86_400);

fn identity() -> LeafIdentity {
    LeafIdentity::from_env_or("https://example.com/release", "https://example.com/oidc")
}

#[test]
fn init_writes_private_keys_0600_and_client_files() {
    let dir = tempfile::tempdir().unwrap();
    let trust_dir = dir.path().join("t");
    let created = cordon_release::init_trust(&trust_dir, &InitOptions::new("test")).unwrap();
    for name in ["root", "ctlog", "tlog", "release-ca-1"] {
        let mode = std::fs::metadata(created.key_path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    let keys_mode = std::fs::metadata(trust_dir.join("keys"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(keys_mode, 0o700);
    for file in [
        "trusted_root.json",
        "trusted_root.dsse.json",
        "signing_config.json",
        "client_trust_config.json",
    ] {
        assert!(trust_dir.join(file).is_file(), "{file}");
    }
    let root =
        sigstore_verify::trust_root::TrustedRoot::from_file(trust_dir.join("trusted_root.json"))
            .unwrap();
    assert_eq!(root.certificate_authorities.len(), 1);
    // A second init into the same directory is refused.
    let error = cordon_release::init_trust(&trust_dir, &InitOptions::new("test"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("rotate its release CA"), "{error}");
    // No key material in the public files.
    for file in [
        "trusted_root.json",
        "client_trust_config.json",
        "trust.json",
    ] {
        assert!(
            !std::fs::read_to_string(trust_dir.join(file))
                .unwrap()
                .contains("PRIVATE KEY")
        );
    }
}

#[test]
fn signed_trusted_root_opens_only_with_the_pinned_root() {
    let dir = tempfile::tempdir().unwrap();
    let mut trust =
        cordon_release::init_trust(&dir.path().join("a"), &InitOptions::new("a")).unwrap();
    let other = cordon_release::init_trust(&dir.path().join("b"), &InitOptions::new("b")).unwrap();
    let pin = trust.root_fingerprint();
    let envelope = std::fs::read(dir.path().join("a/trusted_root.dsse.json")).unwrap();
    let payload = cordon_release::open_signed_trusted_root(&envelope, &pin).unwrap();
    assert_eq!(
        payload,
        std::fs::read(dir.path().join("a/trusted_root.json")).unwrap()
    );
    assert!(
        cordon_release::open_signed_trusted_root(&envelope, &other.root_fingerprint()).is_err()
    );
    // Tampered payload: add a release CA to the JSON without re-signing.
    let mut value: serde_json::Value = serde_json::from_slice(&envelope).unwrap();
    let other_payload = std::fs::read(dir.path().join("b/trusted_root.json")).unwrap();
    let mut merged: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&other_payload).unwrap();
    merged["certificateAuthorities"]
        .as_array_mut()
        .unwrap()
        .push(theirs["certificateAuthorities"][0].clone());
    let mut statement = SignedTrustedRoot::parse(&envelope)
        .unwrap()
        .statement
        .unwrap();
    statement.trusted_root = merged.to_string().into_bytes();
    use base64::Engine as _;
    value["payload"] = base64::engine::general_purpose::STANDARD
        .encode(statement.to_json())
        .into();
    let error =
        cordon_release::open_signed_trusted_root(value.to_string().as_bytes(), &pin).unwrap_err();
    assert!(error.contains("no signature"), "{error}");
    // After a rotation the new file is still signed by the same root.
    trust.issue_release_ca(SystemTime::now(), 30 * DAY).unwrap();
    let envelope = std::fs::read(dir.path().join("a/trusted_root.dsse.json")).unwrap();
    let rotated = cordon_release::open_signed_trusted_root(&envelope, &pin).unwrap();
    let rotated: serde_json::Value = serde_json::from_slice(&rotated).unwrap();
    assert_eq!(
        rotated["certificateAuthorities"].as_array().unwrap().len(),
        2
    );
}

/// The statement inside a trust directory's `trusted_root.dsse.json`.
fn statement(dir: &std::path::Path) -> RootStatement {
    let envelope = std::fs::read(dir.join("trusted_root.dsse.json")).unwrap();
    SignedTrustedRoot::parse(&envelope)
        .unwrap()
        .statement
        .expect("a versioned envelope")
}

#[test]
fn every_re_signing_raises_the_signed_version_and_expires_with_the_newest_ca() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let now = SystemTime::now();
    let mut trust = cordon_release::init_trust(&path, &InitOptions::new("t")).unwrap();
    let first = statement(&path);
    assert_eq!(first.version, 1);
    assert_eq!(
        first.expires,
        trust.release_cas[0]
            .not_after
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    );
    // The statement carries the shipped trusted_root.json byte for byte.
    assert_eq!(
        first.trusted_root,
        std::fs::read(path.join("trusted_root.json")).unwrap()
    );
    assert_eq!(trust.signed_root_version().unwrap(), Some(1));
    trust.issue_release_ca(now, 400 * DAY).unwrap();
    let second = statement(&path);
    assert_eq!(second.version, 2);
    assert!(second.expires > first.expires);
    // Re-signing without a new CA: the next version, the same trusted root.
    assert_eq!(trust.resign_trusted_root().unwrap(), 3);
    let third = statement(&path);
    assert_eq!((third.version, third.expires), (3, second.expires));
    assert_eq!(third.trusted_root, second.trusted_root);
}

#[test]
fn a_legacy_envelope_continues_the_derived_version_series() {
    // A directory made before versions were signed: its envelope is the bare trusted
    // root, whose derived version is its release CA count (2 here).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let mut trust = cordon_release::init_trust(&path, &InitOptions::new("t")).unwrap();
    trust.issue_release_ca(SystemTime::now(), 30 * DAY).unwrap();
    let legacy = SignedTrustedRoot::new(
        std::fs::read(path.join("trusted_root.json")).unwrap(),
        "",
        vec![1],
    );
    std::fs::write(path.join("trusted_root.dsse.json"), legacy.to_json()).unwrap();
    assert_eq!(trust.signed_root_version().unwrap(), None);
    assert_eq!(trust.resign_trusted_root().unwrap(), 2);
    assert_eq!(statement(&path).version, 2);
    // A damaged envelope names the file and the command that replaces it.
    std::fs::write(path.join("trusted_root.dsse.json"), "{}").unwrap();
    let error = trust.signed_root_version().unwrap_err().to_string();
    assert!(
        error.contains("trusted_root.dsse.json")
            && error.contains("restore it from the last release you published")
            && error.contains("cargo xtask trust resign"),
        "{error}"
    );
}

#[test]
fn signer_picks_the_current_release_ca_and_refuses_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = SystemTime::now() - 100 * DAY;
    let mut options = InitOptions::new("test");
    options.now = t0;
    options.release_ca_validity = 10 * DAY;
    let trust_dir = dir.path().join("t");
    let mut trust = cordon_release::init_trust(&trust_dir, &options).unwrap();
    trust.issue_release_ca(t0 + 8 * DAY, 10 * DAY).unwrap();
    let reopened = TrustDir::open(&trust_dir).unwrap();
    assert_eq!(reopened.current_release_ca(t0 + DAY).unwrap().number, 1);
    assert_eq!(reopened.current_release_ca(t0 + 9 * DAY).unwrap().number, 2);
    assert!(reopened.current_release_ca(t0 + 30 * DAY).is_none());

    let at = |days: u32| SignOptions {
        now: Some(t0 + days * DAY),
        ..SignOptions::default()
    };
    let signer = Signer::open(&trust_dir, &identity(), &at(9)).unwrap();
    let (_, not_after) = cordon_release::certificate_window(signer.certificate()).unwrap();
    assert!(not_after <= t0 + 9 * DAY + Duration::from_secs(600));
    let error = Signer::open(&trust_dir, &identity(), &at(30)).unwrap_err();
    assert!(matches!(error, SignError::NoCurrentCa { .. }), "{error}");
    assert!(error.to_string().contains("rotate the release CA"));
    // A retired CA is refused unless explicitly forced (for verifier tests only).
    let forced = SignOptions {
        release_ca: Some(1),
        ..at(12)
    };
    assert!(matches!(
        Signer::open(&trust_dir, &identity(), &forced).unwrap_err(),
        SignError::NoCurrentCa { .. }
    ));
    // Not an in-toto statement: refused with a reason.
    let error = signer
        .sign_in_toto(br#"{"_type":"x"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("_type"), "{error}");
}

#[test]
fn missing_trust_directory_is_named() {
    let error = TrustDir::open(std::path::Path::new("/nonexistent/trust"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("/nonexistent/trust/trust.json"), "{error}");
}

#[test]
fn development_root_is_created_once_labelled_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("target/cordon-dev-trust");
    let (first, created) = cordon_release::open_or_init_dev_trust(&dev).unwrap();
    assert!(created);
    assert!(
        cordon_release::certificate_subject(&first.root_certificate)
            .unwrap()
            .contains("DEVELOPMENT")
    );
    let (second, created) = cordon_release::open_or_init_dev_trust(&dev).unwrap();
    assert!(!created);
    assert_eq!(first.root_fingerprint(), second.root_fingerprint());
    // A production directory is never mistaken for the development one.
    let production = dir.path().join("prod");
    cordon_release::init_trust(&production, &InitOptions::new("cordon")).unwrap();
    assert!(cordon_release::open_or_init_dev_trust(&production).is_err());
}

#[test]
fn a_release_ca_close_to_its_end_is_replaced_before_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let mut options = InitOptions::new("test");
    options.now = now - 80 * DAY;
    options.release_ca_validity = 90 * DAY;
    let mut trust = cordon_release::init_trust(&dir.path().join("t"), &options).unwrap();
    // Ten days left, two weeks wanted: the next CA is issued, and only once.
    assert!(trust.rotate_if_expiring(now, 14 * DAY).unwrap());
    assert_eq!(trust.release_cas.len(), 2);
    assert!(!trust.rotate_if_expiring(now, 14 * DAY).unwrap());
    let reopened = TrustDir::open(&dir.path().join("t")).unwrap();
    assert_eq!(reopened.release_cas.len(), 2);
    assert!(reopened.current_release_ca(now + 30 * DAY).is_some());
    // The signed trusted root lists both (its version is 2 for cordon-verify).
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("t/trusted_root.json")).unwrap())
            .unwrap();
    assert_eq!(root["certificateAuthorities"].as_array().unwrap().len(), 2);
}
