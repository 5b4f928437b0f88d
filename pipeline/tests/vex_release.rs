//! A release that carries a VEX document, end to end on the small fixture workspace:
//! a VEX naming a crate the release does not have (or a malformed id) is refused in
//! `check` before anything is built; a good one ships as `<product>-<version>.vex.json`
//! (kind `vex`), listed in `SHA256SUMS`, signed, named in the notes, verified by
//! `cordon-verify release`, and applied by default by the procurement report — with its
//! justification, its origin, hostile markup in it rendered inert — while the same file
//! edited after signing is refused.

#![allow(clippy::unwrap_used)]

mod fixture;

use std::fs;
use std::path::Path;

use cordon_dist::{Config, Fix, Release, Silent, Stage};
use cordon_release::{FileKind, Manifest};
use cordon_verify::{
    ReleaseExpectations, ReportOptions, ReportPart, Status, TrustSource, build_report,
    verify_release,
};
use serde_json::json;

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

fn advisory_db() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../audit/tests/data/advisory-db-fixture")
}

fn pinned(dir: &Path, trust_dir: &Path) -> TrustSource {
    let fingerprint = cordon_release::TrustDir::open(trust_dir)
        .unwrap()
        .root_fingerprint();
    TrustSource::Pinned {
        fingerprint: hex::decode(fingerprint).unwrap().try_into().unwrap(),
        signed_root: dir.join("trusted_root.dsse.json"),
    }
}

fn openvex(product: &str, id: &str) -> String {
    json!({"@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.invalid/vex/fixture-1", "author": "fixture security",
        "timestamp": "2099-01-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": id},
            "products": [{"@id": "pkg:cargo/app@0.1.0", "subcomponents": [{"@id": product}]}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
            "impact_statement": format!("app never calls vuln::read {HOSTILE}")}]})
    .to_string()
}

#[test]
fn a_vex_document_ships_signed_and_the_report_applies_it() {
    let (dir, root) = fixture::repository();
    // `vuln` 1.1.0 is affected by RUSTSEC-2099-0001 (CVE-2099-0001) in the fixture
    // advisory database.
    fixture::small(&root, "0.1.0", &[("vuln", "1.1.0")]);
    let cargo_toml = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    fs::write(
        root.join("Cargo.toml"),
        cargo_toml.replace(
            "product = \"fixture\"\n",
            "product = \"fixture\"\nvex = \"security/fixture.openvex.json\"\n",
        ),
    )
    .unwrap();
    let vex_text = openvex("pkg:cargo/vuln@1.1.0", "CVE-2099-0001");
    fixture::write(&root, "security/fixture.openvex.json", &vex_text);
    fixture::git(&root, &["add", "-A"]);
    fixture::git(&root, &["commit", "--quiet", "-m", "ship a VEX"]);

    // A VEX that names a crate the release does not have is refused before the build.
    let bad = dir.path().join("bad.openvex.json");
    fs::write(&bad, openvex("pkg:cargo/ghost@1.0.0", "CVE-2099-1")).unwrap();
    let mut config = Config::new(&root, dir.path().join("dev-trust"));
    config.advisory_db = Some(advisory_db());
    let mut refused = config.clone();
    refused.vex = Some(bad.clone());
    let error = Release::new(refused).run(&mut Silent).unwrap_err();
    assert_eq!(error.stage(), Stage::Check);
    assert_eq!(error.fix(), Some(Fix::EditVex { file: bad }));
    let message = error.to_string();
    for expected in [
        "bad.openvex.json: the VEX document cannot ship",
        "statements[0]: vulnerability id \"CVE-2099-1\" is not well-formed",
        "statements[0]: product \"pkg:cargo/ghost@1.0.0\" names crate `ghost`, which is not in the release",
    ] {
        assert!(message.contains(expected), "{expected}\n{message}");
    }
    assert!(!root.join("dist/0.1.0").exists());
    assert!(
        !root.join("target/release-repro/shipped").exists(),
        "nothing is built for a release whose VEX is refused"
    );

    // The table's VEX ships.
    let published = Release::new(config).run(&mut Silent).unwrap();
    let release = &published.dir;
    let shipped = release.join("fixture-0.1.0.vex.json");
    assert_eq!(fs::read_to_string(&shipped).unwrap(), vex_text);
    let manifest = Manifest::read(&release.join("manifest.json")).unwrap();
    let record = manifest.files_of(FileKind::Vex).next().unwrap();
    assert_eq!(record.name, "fixture-0.1.0.vex.json");
    assert_eq!(record.describes[0], "app");
    let sums = fs::read_to_string(release.join("SHA256SUMS")).unwrap();
    assert!(
        sums.contains(&format!("{}  fixture-0.1.0.vex.json\n", record.sha256)),
        "{sums}"
    );
    assert!(
        release
            .join("fixture-0.1.0.vex.json.sigstore.json")
            .is_file()
    );
    let notes = fs::read_to_string(release.join("RELEASE-NOTES.md")).unwrap();
    assert!(
        notes.contains("carries a VEX document, `fixture-0.1.0.vex.json` (OpenVEX, 1 statements)"),
        "{notes}"
    );
    assert!(
        notes.contains("| `vuln` 1.1.0 | vulnerability |")
            && notes.contains("| not_affected: vulnerable_code_not_in_execute_path |"),
        "{notes}"
    );

    let trust = pinned(release, &published.trust_dir);
    let verified = verify_release(
        release,
        &trust,
        &ReleaseExpectations {
            deny_extra: true,
            ..ReleaseExpectations::default()
        },
    );
    assert_eq!(verified.verdict(), None, "{}", verified.to_text());
    assert!(
        verified
            .rows()
            .iter()
            .any(|row| row.file == "fixture-0.1.0.vex.json"
                && row.check == "signature"
                && matches!(row.status, Status::Passed(_))),
        "{}",
        verified.to_text()
    );

    // The report applies the shipped VEX by default and says where it came from.
    let options = ReportOptions {
        advisory_db: Some(advisory_db()),
        ..ReportOptions::default()
    };
    let report = build_report(release, &trust, &options);
    let ReportPart::Done(advisories) = &report.advisories else {
        panic!("{:?}", report.advisories);
    };
    assert_eq!(
        advisories.vex.as_deref(),
        Some("fixture-0.1.0.vex.json (shipped in the release, signed): OpenVEX (1 statements)")
    );
    let hit = &advisories.hits[0];
    assert_eq!(hit.advisory.id, "RUSTSEC-2099-0001");
    assert!(!hit.blocks());
    assert_eq!(
        hit.vex_origin.as_deref(),
        Some("fixture-0.1.0.vex.json (shipped in the release)")
    );
    let decision = report.decision();
    assert!(
        !decision
            .reasons
            .iter()
            .any(|r| r.contains("open vulnerability")),
        "{decision:?}"
    );
    assert!(report.vex_problems.is_empty(), "{:?}", report.vex_problems);
    let html = report.to_html();
    assert!(
        html.contains("VEX not_affected: vulnerable_code_not_in_execute_path — app never calls vuln::read &lt;script&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script>alert") && !html.contains("<img"),
        "hostile markup from the VEX reached the page"
    );
    assert_eq!(
        report.to_json()["advisories"]["hits"][0]["vex"]["from"],
        "fixture-0.1.0.vex.json (shipped in the release)"
    );

    // Without the shipped VEX the advisory is open again.
    let ignored = build_report(
        release,
        &trust,
        &ReportOptions {
            ignore_release_vex: true,
            ..options.clone()
        },
    );
    assert!(
        ignored
            .decision()
            .reasons
            .iter()
            .any(|r| r.starts_with("open vulnerability: RUSTSEC-2099-0001")),
        "{:?}",
        ignored.decision()
    );

    // The VEX edited after signing: `release` refuses it, the report rejects.
    fs::write(
        &shipped,
        vex_text.replace(
            "vulnerable_code_not_in_execute_path",
            "component_not_present",
        ),
    )
    .unwrap();
    let tampered = verify_release(release, &trust, &ReleaseExpectations::default());
    assert!(tampered.verdict().is_some(), "{}", tampered.to_text());
    assert!(
        tampered
            .rows()
            .iter()
            .any(|row| row.file == "fixture-0.1.0.vex.json"
                && matches!(row.status, Status::Failed(_))),
        "{}",
        tampered.to_text()
    );
    let report = build_report(release, &trust, &options);
    let decision = report.decision();
    assert!(!decision.accept);
    assert!(
        decision
            .reasons
            .iter()
            .any(|r| r.contains("fixture-0.1.0.vex.json")),
        "{decision:?}"
    );
}
