//! The RustSec matcher on a fixture database with each advisory shape (aliases, two
//! patched ranges, unaffected, withdrawn, unmaintained, unsound, notice) and on a pinned
//! snapshot of the real `rustsec/advisory-db` (`tests/data/advisory-db-snapshot`, CC0).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use cordon_audit::{CrateVersion, Database, Kind, Vex, VexStatus, fixed_since, hits};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn crates(list: &[(&str, &str)]) -> Vec<CrateVersion> {
    list.iter()
        .map(|(name, version)| CrateVersion::new(*name, *version))
        .collect()
}

#[test]
fn fixture_database_each_shape() {
    let set = crates(&[
        ("vuln", "1.1.0"),
        ("gone", "1.0.0"),
        ("old", "0.1.0"),
        ("shaky", "0.2.9"),
        ("note", "4.0.0"),
        ("clean", "1.0.0"),
    ]);
    let db = Database::load_for(
        &data("advisory-db-fixture"),
        set.iter().map(|c| c.name.as_str()),
    )
    .unwrap();
    assert_eq!(db.advisories.len(), 5);
    let found = hits(&db, &set, None);
    let summary: Vec<(&str, &str, String, String)> = found
        .iter()
        .map(|hit| {
            (
                hit.advisory.id.as_str(),
                hit.advisory.kind.as_str(),
                hit.advisory.label(),
                hit.advisory.fixed_in(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "RUSTSEC-2099-0001",
                "vulnerability",
                "RUSTSEC-2099-0001 (CVE-2099-0001)".to_owned(),
                ">=1.2.0, <2.0.0 or >=2.1.0".to_owned()
            ),
            (
                "RUSTSEC-2099-0003",
                "unmaintained",
                "RUSTSEC-2099-0003".to_owned(),
                "none".to_owned()
            ),
            (
                "RUSTSEC-2099-0004",
                "unsound",
                "RUSTSEC-2099-0004".to_owned(),
                ">=0.3.0".to_owned()
            ),
            (
                "RUSTSEC-2099-0005",
                "notice",
                "RUSTSEC-2099-0005".to_owned(),
                "none".to_owned()
            ),
        ],
        "the withdrawn advisory matches nothing"
    );
    // Fixed and unaffected versions.
    for (version, affected) in [
        ("0.9.0", false),
        ("1.0.0", true),
        ("1.2.0", false),
        ("2.0.5", true),
        ("2.1.0", false),
    ] {
        let set = crates(&[("vuln", version)]);
        assert_eq!(
            !hits(&db, &set, None).is_empty(),
            affected,
            "vuln {version}"
        );
    }
    // A VEX statement by GHSA alias takes the hit off the open list, with its reason.
    let vex = Vex::parse(
        Path::new("vex.json"),
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
          {"vulnerability": {"name": "GHSA-xxxx-yyyy-zzzz"},
           "products": [{"@id": "pkg:cargo/vuln@1.1.0"}],
           "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let found = hits(&db, &set, Some(&vex));
    assert!(!found[0].is_open());
    assert_eq!(found[0].vex.unwrap().status, VexStatus::NotAffected);
    assert!(found[1..].iter().all(|hit| hit.is_open()));
    // An upgrade past the patched range names the advisory it fixed.
    let fixed = fixed_since(&db, &set, &crates(&[("vuln", "1.2.0"), ("shaky", "0.2.9")]));
    let names: Vec<(&str, Option<&str>, Vec<&str>)> = fixed
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.to.as_deref(),
                f.advisories.iter().map(|a| a.id.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("vuln", Some("1.2.0"), vec!["RUSTSEC-2099-0001"]),
            ("old", None, vec!["RUSTSEC-2099-0003"]),
            ("note", None, vec!["RUSTSEC-2099-0005"]),
        ]
    );
}

/// Every file of the real snapshot parses, and known versions match known advisories.
#[test]
fn real_snapshot_parses_and_matches() {
    let root = data("advisory-db-snapshot");
    let names: Vec<String> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let db = Database::load_for(&root, names.iter().map(String::as_str)).unwrap();
    assert_eq!(db.advisories.len(), 83, "every snapshot file parses");
    let withdrawn = db
        .advisories
        .iter()
        .filter(|a| a.withdrawn.is_some())
        .count();
    assert_eq!(withdrawn, 3);
    let kinds = |kind: Kind| db.advisories.iter().filter(|a| a.kind == kind).count();
    assert_eq!(kinds(Kind::Unsound), 16);
    assert_eq!(kinds(Kind::Notice), 2);
    assert_eq!(kinds(Kind::Unmaintained), 3);

    let set = crates(&[
        ("tokio", "1.8.2"),
        ("smallvec", "1.6.0"),
        ("idna", "0.5.0"),
        ("ring", "0.17.8"),
        ("daemonize", "0.4.1"),
    ]);
    let found = hits(&db, &set, None);
    let labels: Vec<String> = found
        .iter()
        .map(|hit| {
            format!(
                "{} {} fixed {}",
                hit.krate.name,
                hit.advisory.label(),
                hit.advisory.fixed_in()
            )
        })
        .collect();
    for expected in [
        "tokio RUSTSEC-2021-0124 (CVE-2021-45710) fixed >=1.8.4, <1.9.0 or >=1.13.1",
        "tokio RUSTSEC-2023-0001 (CVE-2023-22466) fixed >=1.18.4, <1.19.0 or >=1.20.3, <1.21.0 or >=1.23.1",
        "smallvec RUSTSEC-2021-0003 (CVE-2021-25900) fixed >=0.6.14, <1.0.0 or >=1.6.1",
        "idna RUSTSEC-2024-0421 (CVE-2024-12224) fixed >=1.0.0",
        "ring RUSTSEC-2025-0009 (CVE-2025-4432) fixed >=0.17.12",
    ] {
        assert!(
            labels.iter().any(|l| l == expected),
            "{expected} in {labels:#?}"
        );
    }
    // tokio 1.8.2 is in RUSTSEC-2021-0072's patched range ">= 1.8.1".
    assert!(
        !labels.iter().any(|l| l.contains("RUSTSEC-2021-0072")),
        "{labels:#?}"
    );
    // ring 0.17 is unaffected by the unmaintained notice for < 0.17; the withdrawn one
    // and daemonize's withdrawn advisory match nothing.
    assert!(
        !labels.iter().any(|l| l.contains("RUSTSEC-2025-0010")),
        "{labels:#?}"
    );
    assert!(
        !labels.iter().any(|l| l.contains("RUSTSEC-2025-0007")),
        "{labels:#?}"
    );
    assert!(
        !labels.iter().any(|l| l.starts_with("daemonize")),
        "{labels:#?}"
    );
    // The copy has no .git: it is not named by a path.
    assert_eq!(
        db.id.to_string(),
        "a copy of rustsec/advisory-db without git metadata"
    );
}

/// cordon's own Cargo.lock against the snapshot: every hit names a crate at the
/// version the lock file pins (the results are printed for the test log).
#[test]
fn cordon_lock_file_against_the_snapshot() {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"))
        .unwrap();
    let lock: toml::Value = toml::from_str(&lock).unwrap();
    let set: Vec<CrateVersion> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| CrateVersion::new(p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        .collect();
    assert!(set.len() > 100);
    let db = Database::load_for(
        &data("advisory-db-snapshot"),
        set.iter().map(|c| c.name.as_str()),
    )
    .unwrap();
    assert!(db.advisories.len() >= 70, "{}", db.advisories.len());
    for hit in hits(&db, &set, None) {
        println!(
            "{} {}: {} [{}] fixed {}",
            hit.krate.name,
            hit.krate.version,
            hit.advisory.label(),
            hit.advisory.kind.as_str(),
            hit.advisory.fixed_in()
        );
        assert!(set.contains(hit.krate));
        assert!(hit.advisory.withdrawn.is_none());
    }
}
