//! The signed version and expiry of `trusted_root.dsse.json` through `cordon-verify
//! release --pinned-root --root-state`, on a release signed by cordon's own signer and
//! envelopes signed by its real root key: a legacy (pre-version) envelope still
//! verifies, the versioned one upgrades the record, older or legacy ones are then
//! refused, an expired statement is refused, a tampered one fails its signature, and a
//! corrupt state file is bad input naming it.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cordon_format::{RootStatement, SignedTrustedRoot};
use cordon_release::{SigningKey, TrustDir};
use support::{Damage, Spec, TestRelease, build, pinned, verify_release};

/// An envelope over `statement` (or, with `None`, a legacy one over the trust
/// directory's bare trusted root) signed by the release's root key, written beside the
/// release.
fn signed_by_root(release: &TestRelease, name: &str, statement: Option<RootStatement>) -> PathBuf {
    let key = SigningKey::load(&release.trust_dir.join("keys/root.key.pem")).unwrap();
    let mut envelope = match statement {
        Some(statement) => SignedTrustedRoot::versioned(statement, "", Vec::new()),
        None => SignedTrustedRoot::new(
            std::fs::read(release.trust_dir.join("trusted_root.json")).unwrap(),
            "",
            Vec::new(),
        ),
    };
    envelope.signatures[0].sig = key.sign(&envelope.signed_bytes()).unwrap();
    let path = release.dir.parent().unwrap().join(name);
    std::fs::write(&path, envelope.to_json()).unwrap();
    path
}

/// The statement the trust directory signed last.
fn current_statement(trust_dir: &Path) -> RootStatement {
    let text = std::fs::read(trust_dir.join("trusted_root.dsse.json")).unwrap();
    SignedTrustedRoot::parse(&text).unwrap().statement.unwrap()
}

fn run(release: &TestRelease, signed_root: &Path, state: &Path) -> (i32, String) {
    verify_release(
        &release.dir,
        &pinned(
            release,
            &[
                "--signed-root",
                signed_root.to_str().unwrap(),
                "--root-state",
                state.to_str().unwrap(),
            ],
        ),
    )
}

#[test]
fn legacy_envelopes_verify_until_a_signed_version_is_recorded() {
    let release = build(&Spec::two_binaries(Damage::None));
    let state = release.dir.parent().unwrap().join("state/roots.json");
    // A release made before versions were signed ships a legacy envelope: it verifies,
    // with the version derived from its one release CA.
    let legacy = signed_by_root(&release, "legacy.dsse.json", None);
    let (code, text) = run(&release, &legacy, &state);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("derived version 1 (first seen; recorded)"),
        "{text}"
    );
    // The release's own (versioned) envelope: signed version 1, an upgrade, recorded.
    let own = release.dir.join("trusted_root.dsse.json");
    let (code, text) = run(&release, &own, &state);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("signed version 1 (now signed; recorded)"),
        "{text}"
    );
    // The legacy envelope is now a downgrade, refused with the file named.
    let (code, text) = run(&release, &legacy, &state);
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("downgrade") && text.contains("legacy.dsse.json"),
        "{text}"
    );
    // The publisher re-signs (version 2): accepted and recorded; version 1 is then a
    // rollback naming both versions and the file.
    let mut trust = TrustDir::open(&release.trust_dir).unwrap();
    assert_eq!(trust.resign_trusted_root().unwrap(), 2);
    let newer = release.trust_dir.join("trusted_root.dsse.json");
    let (code, text) = run(&release, &newer, &state);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("signed version 2 (newer than 1; recorded)"),
        "{text}"
    );
    let (code, text) = run(&release, &own, &state);
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("rollback: this trusted root is version 1, older than version 2")
            && text.contains(&own.display().to_string()),
        "{text}"
    );
}

#[test]
fn expired_tampered_and_unrecorded_envelopes() {
    let release = build(&Spec::two_binaries(Damage::None));
    let state = release.dir.parent().unwrap().join("roots.json");
    // Signed by the root but expired a day ago: refused, saying what to do.
    let mut statement = current_statement(&release.trust_dir);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    statement.version = 5;
    statement.expires = now - 86_400;
    let expired = signed_by_root(&release, "expired.dsse.json", Some(statement));
    let (code, text) = run(&release, &expired, &state);
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("(signed version 5) expired at")
            && text.contains("expired.dsse.json")
            && text.contains("cargo xtask trust rotate"),
        "{text}"
    );
    assert!(!state.exists(), "an expired root must not be recorded");
    // The version raised without the root key: the signature no longer verifies.
    let mut envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(release.dir.join("trusted_root.dsse.json")).unwrap())
            .unwrap();
    let mut raised = current_statement(&release.trust_dir);
    raised.version = 99;
    envelope["payload"] = STANDARD.encode(raised.to_json()).into();
    let tampered = release.dir.parent().unwrap().join("tampered.dsse.json");
    std::fs::write(&tampered, envelope.to_string()).unwrap();
    let (code, text) = run(&release, &tampered, &state);
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("no signature in it verifies with the pinned root's key"),
        "{text}"
    );
    assert!(!state.exists(), "a tampered root must not be recorded");
    // A corrupt state file: bad input naming it, left as it was.
    std::fs::write(&state, "{\"roots\": ").unwrap();
    let own = release.dir.join("trusted_root.dsse.json");
    let (code, text) = run(&release, &own, &state);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(&format!("root state {}: not JSON", state.display())),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{\"roots\": ");
}
