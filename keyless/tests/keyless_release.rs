//! A release signed twice, end to end: cordon's own CA and log, and keyless through
//! the loopback Sigstore stand-in (`xtask/tools/keyless-standin.mjs`: Fulcio, Rekor v2,
//! a TSA, a GitHub-shaped OIDC issuer). The keyless settings come from the fixture's
//! `[workspace.metadata.cordon] keyless` table, the token from the caller's override.
//! `cordon-verify release` checks both kinds against a trusted root mixing the
//! public-good, the stand-in's and cordon's entries; sigstore-python accepts a keyless
//! bundle; tampered and swapped bundles are refused for the right reason.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../pipeline/tests/fixture/mod.rs"]
mod fixture;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::StandIn;
use cordon_dist::{
    Config, ErrorKind, Identity, KeylessRequest, KeylessSettings, KeylessSigning, Release, Silent,
    Stage,
};
use cordon_keyless::{HttpOptions, KeylessOptions, KeylessSigner};
use cordon_release::{BundleSigner, FileKind, Manifest, SignError};
use cordon_verify::{FailureClass, ReleaseExpectations, Report, Status, TrustSource};
use serde_json::Value;

/// The real keyless signer with the stand-in's fast retries.
#[derive(Debug)]
struct StandInKeyless;

fn options(settings: &KeylessSettings) -> KeylessOptions {
    let mut options = KeylessOptions::new(
        &settings.signing_config,
        &settings.trusted_root,
        settings.identity_token.as_deref(),
    );
    options.http = HttpOptions {
        timeout: Duration::from_secs(20),
        attempts: 3,
        backoff: Duration::from_millis(10),
    };
    options
}

impl KeylessSigning for StandInKeyless {
    fn preflight(&self, settings: &KeylessSettings) -> Result<(), SignError> {
        options(settings)
            .preflight()
            .map_err(|error| SignError::Other(Box::new(error)))
    }

    fn open(&self, settings: &KeylessSettings) -> Result<Box<dyn BundleSigner>, SignError> {
        let signer = KeylessSigner::open(&options(settings))
            .map_err(|error| SignError::Other(Box::new(error)))?;
        Ok(Box::new(signer))
    }
}

/// The small fixture with a `keyless` table naming the stand-in's files, copied beside
/// the workspace (`../keyless/`, relative to the workspace root).
fn workspace(stand_in: &StandIn) -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = fixture::repository();
    fixture::small(&root, "1.0.0", &[("dep-a", "1.0.0")]);
    let material = dir.path().join("keyless");
    fs::create_dir_all(&material).unwrap();
    for name in ["signing_config_v2.json", "trusted_root.json"] {
        fs::copy(stand_in.path(name), material.join(name)).unwrap();
    }
    let manifest = root.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).unwrap().replace(
        "product = \"fixture\"\n",
        "product = \"fixture\"\nkeyless = { signing-config = \"../keyless/signing_config_v2.json\", \
         trusted-root = \"../keyless/trusted_root.json\" }\n",
    );
    fs::write(&manifest, text).unwrap();
    fixture::git(&root, &["commit", "--quiet", "-am", "keyless table"]);
    (dir, root)
}

/// A configuration signing with the stand-in's GitHub identity on both paths (so that a
/// swapped bundle is caught by the authority binding, not by the identity).
fn config(root: &Path, stand_in: &StandIn) -> Config {
    let mut config = Config::new(root, root.parent().unwrap().join("dev-trust"));
    config.command = vec!["fixture-release".into()];
    config.identity = Some(Identity {
        subject: stand_in.identity.clone(),
        issuer: stand_in.issuer.clone(),
    });
    config.keyless = Some(KeylessRequest {
        identity_token: Some(stand_in.path("token.jwt")),
        ..KeylessRequest::default()
    });
    config.keyless_signing = Some(Arc::new(StandInKeyless));
    config
}

/// public-good (sigstore-python's copy of the production root) + the stand-in's + the
/// release's own trusted root, as one trusted_root.json.
fn mixed_root(stand_in: &StandIn, release: &Path, out: &Path) -> PathBuf {
    let lib = common::root().join("target/tools/venv/lib");
    let python = fs::read_dir(&lib)
        .unwrap_or_else(|error| panic!("{}: {error}: run `cargo xtask test` once", lib.display()))
        .filter_map(Result::ok)
        .find(|entry| entry.file_name().to_string_lossy().starts_with("python3"))
        .unwrap()
        .path();
    let production = python.join(
        "site-packages/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json",
    );
    let mut mixed: Value = serde_json::from_slice(&fs::read(production).unwrap()).unwrap();
    for extra in [
        stand_in.path("trusted_root.json"),
        release.join("trusted_root.json"),
    ] {
        let extra: Value = serde_json::from_slice(&fs::read(extra).unwrap()).unwrap();
        for list in [
            "tlogs",
            "ctlogs",
            "certificateAuthorities",
            "timestampAuthorities",
        ] {
            let entries = extra[list].as_array().cloned().unwrap_or_default();
            mixed[list].as_array_mut().unwrap().extend(entries);
        }
    }
    let path = out.join("mixed_trusted_root.json");
    fs::write(&path, mixed.to_string()).unwrap();
    path
}

fn verify(dir: &Path, root: &Path, stand_in: &StandIn, fulcio: bool) -> Report {
    cordon_verify::verify_release(
        dir,
        &TrustSource::File(root.to_owned()),
        &ReleaseExpectations {
            deny_extra: true,
            fulcio_uris: if fulcio {
                vec![stand_in.url("")]
            } else {
                Vec::new()
            },
            keyless_signer: Some(stand_in.identity.clone()),
            ..ReleaseExpectations::default()
        },
    )
}

fn rows<'a>(report: &'a Report, check: &str) -> Vec<&'a cordon_verify::Row> {
    report
        .rows()
        .iter()
        .filter(|row| row.check == check)
        .collect()
}

/// The failure of `file`'s `check` row.
fn failure(report: &Report, file: &str, check: &str) -> cordon_verify::Failure {
    let row = report
        .rows()
        .iter()
        .find(|row| row.file == file && row.check == check)
        .unwrap_or_else(|| panic!("no {check} row for {file}: {}", report.to_text()));
    match &row.status {
        Status::Failed(failure) => failure.clone(),
        other => panic!("{file} {check}: {other:?}\n{}", report.to_text()),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn keyless_settings_are_checked_before_the_build() {
    let stand_in = StandIn::start();
    let (_dir, root) = workspace(&stand_in);
    // No keyless signer supplied: refused in `check`, nothing built.
    let mut no_signer = config(&root, &stand_in);
    no_signer.keyless_signing = None;
    let error = Release::new(no_signer).run(&mut Silent).unwrap_err();
    assert_eq!(error.stage(), Stage::Check);
    assert!(
        matches!(error.kind(), ErrorKind::NoKeylessSigner { .. }),
        "{error}"
    );
    // A token file that does not exist: the preflight fails in `check`.
    let mut no_token = config(&root, &stand_in);
    no_token.keyless = Some(KeylessRequest {
        identity_token: Some(root.join("missing.jwt")),
        ..KeylessRequest::default()
    });
    let error = Release::new(no_token).run(&mut Silent).unwrap_err();
    assert_eq!(error.stage(), Stage::Check);
    assert!(error.to_string().contains("missing.jwt"), "{error}");
    assert!(!root.join("target/release-repro").exists());
}

#[test]
fn a_release_carries_both_bundles_and_each_kind_is_verified() {
    let stand_in = StandIn::start();
    let (dir, root) = workspace(&stand_in);
    let published = Release::new(config(&root, &stand_in))
        .run(&mut Silent)
        .unwrap();
    let release = &published.dir;
    let manifest = Manifest::read(&release.join("manifest.json")).unwrap();

    // Every embedded bundle has its keyless twin; the manifest records them.
    let names: Vec<&str> = published
        .files
        .iter()
        .map(|(name, ..)| name.as_str())
        .collect();
    let embedded: Vec<&str> = names
        .iter()
        .filter_map(|name| cordon_format::names::bundled_file(name))
        .filter(|file| !file.ends_with(".keyless"))
        .collect();
    assert!(embedded.len() >= 6, "{names:?}");
    for file in &embedded {
        let twin = cordon_format::names::keyless_bundle_name(file);
        assert!(names.contains(&twin.as_str()), "{twin} missing: {names:?}");
    }
    let provenance = "fixture-1.0.0.intoto.jsonl";
    let keyless_records: Vec<&str> = manifest
        .files_of(FileKind::KeylessSignature)
        .map(|file| file.describes[0].as_str())
        .collect();
    assert!(keyless_records.contains(&"app"), "{keyless_records:?}");
    assert!(keyless_records.contains(&provenance), "{keyless_records:?}");
    let sums = fs::read_to_string(release.join("SHA256SUMS")).unwrap();
    assert!(
        sums.contains("manifest.json.keyless.sigstore.json"),
        "{sums}"
    );

    // A root mixing public-good, stand-in and cordon entries: every row passes, the
    // keyless ones on their own rows (the files' bundles, the provenance's, the
    // manifest's and SHA256SUMS's).
    let root_file = mixed_root(&stand_in, release, dir.path());
    let report = verify(release, &root_file, &stand_in, true);
    assert_eq!(report.verdict(), None, "{}", report.to_text());
    let keyless = rows(&report, "keyless");
    assert_eq!(
        keyless.len(),
        keyless_records.len() + 2,
        "{}",
        report.to_text()
    );
    assert!(
        keyless
            .iter()
            .all(|row| matches!(&row.status, Status::Passed(detail) if detail.contains(&stand_in.identity))),
        "{}",
        report.to_text()
    );
    assert!(
        rows(&report, "signature")
            .iter()
            .all(|row| matches!(row.status, Status::Passed(_))),
        "{}",
        report.to_text()
    );

    // `cordon-verify report` shows the keyless rows among the signatures.
    let procurement = cordon_verify::build_report(
        release,
        &TrustSource::File(root_file.clone()),
        &cordon_verify::ReportOptions {
            expectations: ReleaseExpectations {
                fulcio_uris: vec![stand_in.url("")],
                ..ReleaseExpectations::default()
            },
            ..cordon_verify::ReportOptions::default()
        },
    );
    let html = procurement.to_html();
    assert!(
        html.contains("app.keyless.sigstore.json signed by"),
        "no keyless row in the report"
    );

    // The pinned root alone: the release verifies, the keyless bundles are skipped with
    // the way to check them (and the report names that for the reviewer).
    let fingerprint = cordon_release::TrustDir::open(&published.trust_dir)
        .unwrap()
        .root_fingerprint();
    let pinned_root = TrustSource::Pinned {
        fingerprint: hex::decode(fingerprint).unwrap().try_into().unwrap(),
        signed_root: release.join("trusted_root.dsse.json"),
    };
    let pinned = cordon_verify::verify_release(
        release,
        &pinned_root,
        &ReleaseExpectations {
            deny_extra: true,
            ..ReleaseExpectations::default()
        },
    );
    let decision = cordon_verify::build_report(
        release,
        &pinned_root,
        &cordon_verify::ReportOptions::default(),
    )
    .decision();
    assert!(
        decision
            .attention
            .iter()
            .any(|item| item.contains("11 keyless bundles not checked")),
        "{decision:?}"
    );
    assert_eq!(pinned.verdict(), None, "{}", pinned.to_text());
    let skipped = rows(&pinned, "keyless");
    assert!(
        matches!(skipped.as_slice(), [row] if matches!(&row.status, Status::Skipped(why) if why.contains("pass --trusted-root"))),
        "{}",
        pinned.to_text()
    );

    // Without naming the stand-in as a Fulcio, its certificates are not believed as
    // keyless ones.
    let report = verify(release, &root_file, &stand_in, false);
    assert_eq!(report.verdict(), Some(FailureClass::Identity));
    let refused = failure(&report, "app", "keyless");
    assert!(
        refused.reason.contains("not by a Fulcio") && refused.reason.contains("--fulcio-uri"),
        "{refused}"
    );

    // sigstore-python accepts a keyless bundle with the stand-in's trust config.
    let case = common::Case {
        name: "app".into(),
        bundle: release.join("app.keyless.sigstore.json"),
        artifact: release.join("app"),
        trusted_root: stand_in.path("trusted_root.json"),
        trust_config: stand_in.path("trust_config_v2.json"),
        identity: stand_in.identity.clone(),
        issuer: stand_in.issuer.clone(),
    };
    common::sigstore_python(&case).unwrap();

    // A tampered keyless bundle: its signature no longer verifies (SHA256SUMS's own,
    // which no list covers), or its listed digest no longer matches (the others).
    let tampered = dir.path().join("tampered");
    copy_dir(release, &tampered);
    let path = tampered.join("SHA256SUMS.keyless.sigstore.json");
    let mut bundle: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let signature = bundle.pointer_mut("/messageSignature/signature").unwrap();
    let mut bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        signature.as_str().unwrap(),
    )
    .unwrap();
    bytes[10] ^= 1;
    *signature = Value::String(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        bytes,
    ));
    fs::write(&path, bundle.to_string()).unwrap();
    let app_bundle = tampered.join("app.keyless.sigstore.json");
    let text = fs::read_to_string(&app_bundle).unwrap();
    fs::write(&app_bundle, text.replacen('{', "{ ", 1)).unwrap();
    let report = verify(&tampered, &root_file, &stand_in, true);
    assert_eq!(report.verdict(), Some(FailureClass::Signature));
    let refused = failure(&report, "SHA256SUMS", "keyless");
    assert_eq!(refused.class, FailureClass::Signature, "{refused}");
    assert!(
        refused
            .reason
            .starts_with("SHA256SUMS.keyless.sigstore.json: "),
        "{refused}"
    );
    let refused = failure(&report, "app.keyless.sigstore.json", "sha256");
    assert_eq!(refused.class, FailureClass::Integrity, "{refused}");
    assert!(
        report.rows().iter().any(|row| row.file == "app"
            && row.check == "keyless"
            && matches!(&row.status, Status::Skipped(why) if why.contains("failed its sha256 check"))),
        "{}",
        report.to_text()
    );

    // The release identity (here the same GitHub workflow identity) certified by
    // Fulcio where cordon's CA must have certified it: the keyless bundle of SHA256SUMS
    // put in the place of the embedded one is refused, and the other way round.
    let swapped = dir.path().join("swapped");
    copy_dir(release, &swapped);
    fs::copy(
        release.join("SHA256SUMS.keyless.sigstore.json"),
        swapped.join("SHA256SUMS.sigstore.json"),
    )
    .unwrap();
    fs::copy(
        release.join("SHA256SUMS.sigstore.json"),
        swapped.join("SHA256SUMS.keyless.sigstore.json"),
    )
    .unwrap();
    let report = verify(&swapped, &root_file, &stand_in, true);
    assert_eq!(report.verdict(), Some(FailureClass::Identity));
    let refused = failure(&report, "SHA256SUMS", "signature");
    assert!(
        refused.reason.contains("Fulcio")
            && refused
                .reason
                .contains("a release's own signatures come from its release CA"),
        "{refused}"
    );
    let refused = failure(&report, "SHA256SUMS", "keyless");
    assert!(refused.reason.contains("not by a Fulcio"), "{refused}");
}
