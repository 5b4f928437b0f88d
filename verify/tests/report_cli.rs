//! `cordon-verify report` over signed test releases: the verdict and its reasons, the
//! advisories with CVE ids and VEX, licence-policy verdicts, the dependency diff, the
//! JSON form, a hostile SBOM rendered inert, and bad input (a damaged release, a bad
//! policy file, an unreadable database) giving a report that says what is wrong.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::{Spec, TestCrate, build, run, usual_crates};

fn fixture_db() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../audit/tests/data/advisory-db-fixture")
}

const POLICY: &str = "allow = [\"MIT\", \"Apache-2.0\", \"Unicode-3.0\"]\n\
                      review = [\"MPL-2.0\"]\ndeny = [\"GPL-3.0-only\"]\n";

struct Outcome {
    code: i32,
    stderr: String,
    html: String,
    json: Value,
}

fn report(dir: &Path, fingerprint: &str, extra: &[&str]) -> Outcome {
    let out = tempfile::tempdir().unwrap();
    let html = out.path().join("report.html");
    let json = out.path().join("report.json");
    let mut args = vec![
        "report".to_owned(),
        dir.display().to_string(),
        "--pinned-root".to_owned(),
        fingerprint.to_owned(),
        "--html".to_owned(),
        html.display().to_string(),
        "--json".to_owned(),
        json.display().to_string(),
    ];
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    let (code, _, stderr) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    Outcome {
        code,
        stderr,
        html: std::fs::read_to_string(&html).unwrap(),
        json: serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap(),
    }
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_clean_release_is_accepted_with_every_section() {
    let release = build(&Spec::new("0.2.0", usual_crates()));
    let policy = write_file(release.temp.path(), "policy.toml", POLICY);
    let db = fixture_db();
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &[
            "--licence-policy",
            &policy,
            "--advisory-db",
            db.to_str().unwrap(),
        ],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome.stderr.starts_with("cordon-verify report: ACCEPT"),
        "{}",
        outcome.stderr
    );
    assert_eq!(outcome.json["verdict"]["decision"], "accept");
    assert_eq!(outcome.json["release"]["commit"], support::COMMIT);
    assert_eq!(outcome.json["components"].as_array().unwrap().len(), 4);
    assert_eq!(
        outcome.json["components"][3]["policy"]["verdict"],
        "allowed"
    );
    assert_eq!(outcome.json["sboms"][0]["ntia"]["conformant"], true);
    assert_eq!(outcome.json["advisories"]["hits"], json!([]));
    // The fixture database has no .git: it is named as such, never by its path.
    assert_eq!(
        outcome.json["advisories"]["database"],
        "a copy of rustsec/advisory-db without git metadata"
    );
    assert!(!outcome.html.contains(db.to_str().unwrap()));
    for section in [
        "id=\"verdict\" class=\"accept\"",
        "id=\"signatures\"",
        "id=\"provenance\"",
        "id=\"sbom\"",
        "id=\"vulnerabilities\"",
        "id=\"licence-policy\"",
        "id=\"components\"",
        "id=\"changes\"",
    ] {
        assert!(outcome.html.contains(section), "{section}");
    }
    // The verdict is the first section.
    let verdict = outcome.html.find("id=\"verdict\"").unwrap();
    assert!(verdict < outcome.html.find("id=\"release\"").unwrap());
    assert!(outcome.html.contains("every NTIA minimum element present"));
    // Self-contained: no script, no link, no external resource.
    for forbidden in ["<script", "href=", "src=", "@import", "url("] {
        assert!(
            !outcome.html.to_lowercase().contains(forbidden),
            "{forbidden}"
        );
    }
}

#[test]
fn advisories_name_cves_and_fixed_versions_and_vex_is_applied() {
    let mut crates = usual_crates();
    crates.push(TestCrate::new("vuln", "1.1.0", "MIT", "Vuln people"));
    crates.push(TestCrate::new("old", "0.1.0", "MIT", "Old people"));
    let release = build(&Spec::new("0.3.0", crates));
    let db = fixture_db();
    let db = db.to_str().unwrap();
    let outcome = report(&release.dir, &release.fingerprint, &["--advisory-db", db]);
    assert_eq!(outcome.code, 1, "rejected by policy: {}", outcome.stderr);
    assert!(
        outcome.stderr.contains(
            "open vulnerability: RUSTSEC-2099-0001 (CVE-2099-0001) affects vuln 1.1.0: vuln reads out of bounds (fixed in >=1.2.0, <2.0.0 or >=2.1.0)"
        ),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("unmaintained advisory: RUSTSEC-2099-0003"),
        "{}",
        outcome.stderr
    );
    let hits = outcome.json["advisories"]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0]["cve"], json!(["CVE-2099-0001"]));
    assert_eq!(hits[0]["blocking"], true);
    assert_eq!(hits[1]["kind"], "unmaintained");
    assert_eq!(hits[1]["blocking"], false);

    let vex = write_file(
        release.temp.path(),
        "cordon.openvex.json",
        &json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.invalid/vex/1",
            "author": "cordon security", "timestamp": "2099-01-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2099-0001"},
                "products": [{"@id": "pkg:cargo/cordon-cli@0.1.0",
                              "subcomponents": [{"@id": "pkg:cargo/vuln@1.1.0"}]}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": "cordon never calls vuln::read"}]})
        .to_string(),
    );
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &["--advisory-db", db, "--vex", &vex],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(
        outcome.json["advisories"]["hits"][0]["vex"]["justification"],
        "vulnerable_code_not_in_execute_path"
    );
    assert!(outcome.html.contains(
        "VEX not_affected: vulnerable_code_not_in_execute_path — cordon never calls vuln::read"
    ));
    assert_eq!(outcome.json["advisories"]["vex"], "OpenVEX (1 statements)");
}

#[test]
fn licence_policy_verdicts_and_a_bad_policy_file() {
    let mut crates = usual_crates();
    crates.push(TestCrate::new(
        "copyleft",
        "1.0.0",
        "GPL-3.0-only",
        "Someone",
    ));
    crates.push(TestCrate::new(
        "dual",
        "1.0.0",
        "GPL-3.0-only OR MIT",
        "Someone",
    ));
    crates.push(TestCrate::new("weak", "1.0.0", "MPL-2.0", "Someone"));
    let release = build(&Spec::new("0.4.0", crates));
    let policy = write_file(release.temp.path(), "policy.toml", POLICY);
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &["--licence-policy", &policy],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("licence denied by policy: copyleft 1.0.0: denied: GPL-3.0-only"),
        "{}",
        outcome.stderr
    );
    let verdict = |name: &str| {
        outcome.json["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["policy"]["verdict"]
            .clone()
    };
    assert_eq!(verdict("dual"), "allowed");
    assert_eq!(verdict("weak"), "review");
    assert_eq!(verdict("copyleft"), "denied");

    let bad = write_file(
        release.temp.path(),
        "bad.toml",
        "allow = [\"MIT\"]\ndeny = [\"GPL-3\"]\n",
    );
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &["--licence-policy", &bad],
    );
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    let reason = outcome.json["verdict"]["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with("the licence policy could not run: ")
            && reason.contains("bad.toml: line 2: \"GPL-3\" is not an SPDX licence id"),
        "{reason}"
    );
    assert!(outcome.html.contains("class=\"reject\""));
}

#[test]
fn the_diff_says_which_upgrade_fixed_which_advisory() {
    let db = fixture_db();
    let mut old_crates = usual_crates();
    old_crates.push(TestCrate::new("vuln", "1.1.0", "MIT", "Vuln people"));
    let previous = build(&Spec::new("0.4.0", old_crates));
    let mut new_crates = usual_crates();
    new_crates.push(TestCrate::new("vuln", "1.2.0", "MIT", "Vuln people"));
    new_crates.push(TestCrate::new("fresh", "0.1.0", "MIT", "Fresh people"));
    let release = build(&Spec::new("0.5.0", new_crates));
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &[
            "--advisory-db",
            db.to_str().unwrap(),
            "--previous",
            previous.dir.to_str().unwrap(),
        ],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let changes = &outcome.json["changes"];
    assert_eq!(changes["previousVersion"], "0.4.0");
    assert_eq!(
        changes["upgraded"],
        json!([{"name": "vuln", "from": "1.1.0", "to": "1.2.0"}])
    );
    assert_eq!(
        changes["added"],
        json!([{"name": "fresh", "version": "0.1.0"}])
    );
    assert_eq!(
        changes["fixedAdvisories"][0]["advisories"],
        json!(["RUSTSEC-2099-0001 (CVE-2099-0001)"])
    );
    assert!(
        outcome
            .html
            .contains("fixes RUSTSEC-2099-0001 (CVE-2099-0001)")
    );
}

#[test]
fn a_damaged_release_and_missing_inputs_still_give_a_report() {
    let release = build(&Spec::new("0.6.0", usual_crates()));
    // One byte of the SBOM changes after signing.
    let sbom = release.dir.join("cordon-0.6.0.cdx.json");
    let mut bytes = std::fs::read(&sbom).unwrap();
    let last = bytes.len() - 1;
    bytes[last] = b' ';
    std::fs::write(&sbom, bytes).unwrap();
    let missing_db = release.temp.path().join("no-such-db");
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &["--advisory-db", missing_db.to_str().unwrap()],
    );
    assert_eq!(outcome.code, 7, "integrity: {}", outcome.stderr);
    let reasons: Vec<&str> = outcome.json["verdict"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r
                .starts_with("verification failed (integrity): cordon-0.6.0.cdx.json: sha256:")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("advisory check could not run")
                && r.contains("is not a RustSec advisory database")),
        "{reasons:#?}"
    );
    // A directory that is not a release at all.
    let empty = tempfile::tempdir().unwrap();
    let outcome = report(empty.path(), &release.fingerprint, &[]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(outcome.html.contains("class=\"reject\""));
    assert!(
        outcome.json["release"]["problem"]
            .as_str()
            .unwrap()
            .contains("manifest")
    );
}

/// Strings a hostile release could put in its SBOM.
pub const HOSTILE: &str = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"><a href=\"javascript:document.title='pwned'\">x</a>\u{1b}[31m\u{202e}";

#[test]
fn a_hostile_sbom_is_escaped() {
    let mut crates = usual_crates();
    crates.push(TestCrate {
        name: "evil".into(),
        version: "1.0.0".into(),
        licence: Some(format!("MIT {HOSTILE}")),
        supplier: Some(format!("{HOSTILE}{}", "A".repeat(1_000_000))),
    });
    let mut spec = Spec::new("0.7.0", crates);
    spec.sbom_metadata = json!({"authors": [{"name": HOSTILE}]});
    let release = build(&spec);
    let policy = write_file(release.temp.path(), "policy.toml", POLICY);
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &["--licence-policy", &policy],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let lower = outcome.html.to_lowercase();
    // The payload is present as text only: no raw tag or quoted attribute survives.
    for forbidden in [
        "<script",
        "<img",
        "<a ",
        "onerror=\"",
        "href=\"",
        "\u{1b}",
        "\u{202e}",
    ] {
        assert!(!lower.contains(forbidden), "{forbidden}");
    }
    assert!(
        outcome
            .html
            .contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;")
    );
    assert!(outcome.html.contains("U+001B[31mU+202E"));
    // The million-character supplier is clipped, and said to be.
    assert!(outcome.html.len() < 200_000, "{}", outcome.html.len());
    assert!(outcome.html.contains("more characters)"));
    // The JSON form keeps the strings whole (JSON escaping makes them inert).
    let evil = outcome.json["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "evil")
        .unwrap()
        .clone();
    assert!(evil["supplier"].as_str().unwrap().len() > 1_000_000);
    assert_eq!(evil["policy"]["verdict"], "review");
}

#[test]
fn the_shipped_vex_applies_by_default_and_a_reviewers_vex_wins() {
    let mut crates = usual_crates();
    crates.push(TestCrate::new("vuln", "1.1.0", "MIT", "Vuln people"));
    let mut spec = Spec::new("0.7.0", crates);
    spec.vex = Some(json!({"@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.invalid/vex/shipped", "author": "cordon security",
        "timestamp": "2099-01-01T00:00:00Z", "version": 1,
        "statements": [
            {"vulnerability": {"name": "CVE-2099-0001"},
             "products": [{"@id": "pkg:cargo/vuln@1.1.0"}],
             "status": "not_affected", "justification": "inline_mitigations_already_exist"},
            {"vulnerability": {"name": "RUSTSEC-2099-0042"},
             "products": [{"@id": "pkg:cargo/ghost"}],
             "status": "not_affected", "justification": "component_not_present"}]}));
    let release = build(&spec);
    let db = fixture_db();
    let db = db.to_str().unwrap();

    // Applied by default, its origin shown, the statement naming a crate the release
    // does not have reported (not silently ignored).
    let outcome = report(&release.dir, &release.fingerprint, &["--advisory-db", db]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let hit = &outcome.json["advisories"]["hits"][0];
    assert_eq!(hit["vex"]["status"], "not_affected");
    assert_eq!(
        hit["vex"]["from"],
        "cordon-0.7.0.vex.json (shipped in the release)"
    );
    assert_eq!(
        outcome.json["advisories"]["vex"],
        "cordon-0.7.0.vex.json (shipped in the release, signed): OpenVEX (2 statements)"
    );
    let problem = "VEX cordon-0.7.0.vex.json (shipped in the release): statements[1]: product \
                   \"pkg:cargo/ghost\" names crate `ghost`, which is not in the release";
    assert!(
        outcome.json["vexProblems"][0]
            .as_str()
            .unwrap()
            .starts_with(problem),
        "{}",
        outcome.json["vexProblems"]
    );
    assert!(
        outcome.stderr.contains(&format!("note: {problem}")),
        "{}",
        outcome.stderr
    );
    assert!(outcome.html.contains("The VEX does not fit the release"));
    assert!(outcome.html.contains(
        "VEX not_affected: inline_mitigations_already_exist (from cordon-0.7.0.vex.json (shipped in the release))"
    ));

    // A reviewer's --vex adds to it, and wins where both speak of the same advisory.
    let reviewer = write_file(
        release.temp.path(),
        "reviewer.openvex.json",
        &json!({"@context": "https://openvex.dev/ns/v0.2.0",
            "statements": [{"vulnerability": {"name": "RUSTSEC-2099-0001"},
                "products": [{"@id": "pkg:cargo/vuln"}], "status": "affected"}]})
        .to_string(),
    );
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &["--advisory-db", db, "--vex", &reviewer],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    let hit = &outcome.json["advisories"]["hits"][0];
    assert_eq!(hit["vex"]["status"], "affected");
    assert_eq!(hit["vex"]["from"], "reviewer.openvex.json (--vex)");
    assert_eq!(
        outcome.json["advisories"]["vex"],
        "cordon-0.7.0.vex.json (shipped in the release, signed): OpenVEX (2 statements); \
         reviewer.openvex.json (--vex): OpenVEX (1 statements)"
    );

    // --ignore-release-vex leaves the shipped one out.
    let outcome = report(
        &release.dir,
        &release.fingerprint,
        &["--advisory-db", db, "--ignore-release-vex"],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert_eq!(outcome.json["advisories"]["hits"][0]["vex"], Value::Null);
    assert_eq!(outcome.json["vexProblems"], json!([]));
}
