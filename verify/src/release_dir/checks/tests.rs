//! Unit tests of the SBOM readers and the policy checks of `release`, on documents
//! written here: what each format says a binary is and depends on, and how a mismatch
//! reads.

use serde_json::json;

use super::*;

fn crates(list: &[(&str, &str)]) -> BTreeSet<Crate> {
    list.iter()
        .map(|(name, version)| ((*name).to_owned(), (*version).to_owned()))
        .collect()
}

/// A release CycloneDX document: the product as primary component, `cordon` as its
/// sub-component, depending on `a` which depends on `b`; `c` is listed but unreachable.
fn cyclonedx() -> Value {
    json!({
        "bomFormat": "CycloneDX",
        "metadata": {"component": {
            "name": "cordon", "bom-ref": "product",
            "components": [{"name": "cordon", "bom-ref": "bin",
                "hashes": [{"alg": "SHA-256", "content": "AB".repeat(32)}, {"alg": "SHA-1", "content": "00"}]}]
        }},
        "components": [
            {"name": "a", "version": "1.0.0", "bom-ref": "a"},
            {"name": "b", "version": "2.0.0", "bom-ref": "b"},
            {"name": "c", "version": "3.0.0", "bom-ref": "c"}
        ],
        "dependencies": [
            {"ref": "product", "dependsOn": ["c"]},
            {"ref": "bin", "dependsOn": ["a"]},
            {"ref": "a", "dependsOn": ["b", "bin"]}
        ]
    })
}

/// The same in SPDX: a described package `CONTAINS` the binary, which `DEPENDS_ON` `a`.
fn spdx() -> Value {
    json!({
        "spdxVersion": "SPDX-2.3",
        "documentDescribes": ["SPDXRef-product"],
        "packages": [
            {"SPDXID": "SPDXRef-product", "name": "cordon"},
            {"SPDXID": "SPDXRef-bin", "name": "cordon",
             "checksums": [{"algorithm": "SHA256", "checksumValue": "ab".repeat(32)}]},
            {"SPDXID": "SPDXRef-a", "name": "a", "versionInfo": "1.0.0"},
            {"SPDXID": "SPDXRef-b", "name": "b", "versionInfo": "2.0.0"}
        ],
        "relationships": [
            {"spdxElementId": "SPDXRef-product", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-bin"},
            {"spdxElementId": "SPDXRef-bin", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-a"},
            {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-b"}
        ]
    })
}

#[test]
fn cyclonedx_names_the_binary_with_its_sha256_lowercased() {
    let described = cyclonedx_described(&cyclonedx());
    assert_eq!(described.len(), 2);
    assert_eq!(described[1], ("cordon".to_owned(), vec!["ab".repeat(32)]));
    assert!(described[0].1.is_empty(), "the product has no hash");
}

#[test]
fn spdx_names_described_and_contained_packages() {
    let described = spdx_described(&spdx());
    let names: Vec<(&str, usize)> = described
        .iter()
        .map(|(name, hashes)| (name.as_str(), hashes.len()))
        .collect();
    assert_eq!(names, [("cordon", 0), ("cordon", 1)]);
}

#[test]
fn the_crates_of_a_binary_are_its_transitive_dependencies_only() {
    // From the binary's own component (not the product's), through a cycle back to it.
    assert_eq!(
        sbom_crates(&cyclonedx(), "cordon"),
        Some(crates(&[("a", "1.0.0"), ("b", "2.0.0")]))
    );
    assert_eq!(
        sbom_crates(&spdx(), "cordon"),
        Some(crates(&[("a", "1.0.0"), ("b", "2.0.0")]))
    );
    assert_eq!(sbom_crates(&cyclonedx(), "cordon-verify"), None);
    assert_eq!(sbom_crates(&spdx(), "cordon-verify"), None);
}

#[test]
fn an_sbom_is_checked_against_the_digest_and_the_embedded_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cordon.cdx.json");
    std::fs::write(&path, cyclonedx().to_string()).unwrap();
    let digests = BTreeMap::from([("cordon".to_owned(), [0xab; 32])]);
    let same = BTreeMap::from([(
        "cordon".to_owned(),
        Ok(Some(crates(&[("a", "1.0.0"), ("b", "2.0.0")]))),
    )]);
    let detail = check_sbom(&path, &["cordon"], &digests, &same).unwrap();
    assert!(detail.contains("cordon (2 crates)"), "{detail}");

    let other = BTreeMap::from([(
        "cordon".to_owned(),
        Ok(Some(crates(&[("a", "1.0.0"), ("z", "9.0.0")]))),
    )]);
    let failure = check_sbom(&path, &["cordon"], &digests, &other).unwrap_err();
    assert_eq!(failure.class, FailureClass::SbomMismatch);
    assert!(
        failure
            .reason
            .contains("1 missing from the SBOM (z@9.0.0), 1 not in the binary (b@2.0.0)"),
        "{failure}"
    );

    let wrong = BTreeMap::from([("cordon".to_owned(), [0xcd; 32])]);
    let failure = check_sbom(&path, &["cordon"], &wrong, &same).unwrap_err();
    assert!(failure.reason.contains("has SHA-256"), "{failure}");

    let failure = check_sbom(&path, &["cordon"], &BTreeMap::new(), &same).unwrap_err();
    assert!(
        failure
            .reason
            .contains("describes cordon, which is not listed in SHA256SUMS"),
        "{failure}"
    );

    std::fs::write(&path, "{\"neither\": true}").unwrap();
    let failure = check_sbom(&path, &["cordon"], &digests, &same).unwrap_err();
    assert_eq!(failure.class, FailureClass::BadInput);
}

#[test]
fn the_source_check_compares_repository_and_tag() {
    let manifest: Manifest = serde_json::from_value(json!({
        "schema": cordon_format::MANIFEST_SCHEMA, "name": "cordon", "version": "0.1.0",
        "source": {"repository": "git+https://github.com/cordon-dev/cordon", "ref": "refs/tags/v0.1.0",
                   "commit": "c", "dirty": false, "sourceDateEpoch": 0},
        "files": [], "crates": []
    }))
    .unwrap();
    let mut report = Report::default();
    check_source(
        &manifest,
        &Expectations {
            source_uri: Some("github.com/cordon-dev/cordon".to_owned()),
            source_tag: Some("v0.2.0".to_owned()),
            ..Expectations::default()
        },
        &mut report,
    );
    assert_eq!(report.rows().len(), 2);
    assert!(matches!(
        report.rows()[0].status,
        crate::report::Status::Passed(_)
    ));
    assert_eq!(report.verdict(), Some(FailureClass::ProvenancePolicy));
}

#[test]
fn long_crate_lists_are_shortened() {
    let many = crates(&[
        ("a", "1"),
        ("b", "1"),
        ("c", "1"),
        ("d", "1"),
        ("e", "1"),
        ("f", "1"),
        ("g", "1"),
    ]);
    let listed: Vec<&Crate> = many.iter().collect();
    assert_eq!(show_crates(&listed), "a@1, b@1, c@1, d@1, e@1, and 2 more");
}

#[test]
fn the_fuzz_entry_reads_every_format_and_survives_hostile_shapes() {
    // The product and its binary in CycloneDX; the described package and the binary in
    // SPDX 2.
    assert_eq!(read_untrusted_sbom(&cyclonedx().to_string()), 2);
    assert_eq!(read_untrusted_sbom(&spdx().to_string()), 2);
    for hostile in [
        "",
        "[]",
        "{\"bomFormat\": \"CycloneDX\", \"metadata\": {\"component\": 7}}",
        "{\"@context\": 1, \"@graph\": [{\"type\": \"Relationship\", \"to\": 3}]}",
        "{\"spdxVersion\": \"SPDX-2.3\", \"documentDescribes\": [\"x\"], \
         \"relationships\": [{\"spdxElementId\": \"x\", \"relationshipType\": \"DEPENDS_ON\", \
         \"relatedSpdxElement\": \"x\"}], \"packages\": [{\"SPDXID\": \"x\", \"name\": \"x\"}]}",
    ] {
        let _ = read_untrusted_sbom(hostile);
    }
}

/// `std` as cordon-sbom writes it (CycloneDX), linked into the binary; `marked` false
/// gives the same component without the toolchain marker (a forged `pkg:generic` crate).
fn cyclonedx_with_std(marked: bool) -> Value {
    let mut document = cyclonedx();
    let properties = if marked {
        json!([{"name": "cordon:toolchain", "value": "std"}])
    } else {
        json!([])
    };
    document["components"].as_array_mut().unwrap().push(json!({
        "name": "std", "version": "1.95.0", "bom-ref": "pkg:generic/std@1.95.0",
        "purl": "pkg:generic/std@1.95.0", "properties": properties}));
    document["dependencies"][1]["dependsOn"] = json!(["a", "pkg:generic/std@1.95.0"]);
    document
}

/// The same in SPDX 2.3: the binary `DEPENDS_ON` std, marked by an `OTHER` reference.
fn spdx_with_std(marked: bool) -> Value {
    let mut document = spdx();
    let mut references = vec![json!({"referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl", "referenceLocator": "pkg:generic/std@1.95.0"})];
    if marked {
        references.push(json!({"referenceCategory": "OTHER",
            "referenceType": "cordon:toolchain", "referenceLocator": "std"}));
    }
    document["packages"].as_array_mut().unwrap().push(json!({
        "SPDXID": "SPDXRef-std", "name": "std", "versionInfo": "1.95.0",
        "externalRefs": references}));
    document["relationships"]
        .as_array_mut()
        .unwrap()
        .push(json!({
        "spdxElementId": "SPDXRef-bin", "relationshipType": "DEPENDS_ON",
        "relatedSpdxElement": "SPDXRef-std"}));
    document
}

#[test]
fn the_marked_toolchain_is_left_out_and_a_forged_one_is_a_crate() {
    let embedded = crates(&[("a", "1.0.0"), ("b", "2.0.0")]);
    for (marked, unmarked) in [
        (cyclonedx_with_std(true), cyclonedx_with_std(false)),
        (spdx_with_std(true), spdx_with_std(false)),
    ] {
        assert_eq!(sbom_crates(&marked, "cordon"), Some(embedded.clone()));
        let digests = BTreeMap::from([("cordon".to_owned(), [0xab; 32])]);
        let lists = BTreeMap::from([("cordon".to_owned(), Ok(Some(embedded.clone())))]);
        check_sbom_document(&marked, &["cordon"], &digests, &lists).unwrap();
        // Without the marker, `pkg:generic/std` is a crate the binary does not list.
        let failure = check_sbom_document(&unmarked, &["cordon"], &digests, &lists).unwrap_err();
        assert_eq!(failure.class, FailureClass::SbomMismatch);
        assert!(
            failure.reason.contains("1 not in the binary (std@1.95.0)"),
            "{failure}"
        );
    }
    // A marked component whose purl is not exactly the toolchain's is a crate too.
    let mut other_purl = cyclonedx_with_std(true);
    other_purl["components"][3]["purl"] = json!("pkg:generic/std@1.95.0?evil=1");
    assert_eq!(
        sbom_crates(&other_purl, "cordon").map(|set| set.len()),
        Some(3)
    );
}
