//! Reading an SPDX 3.0.1 JSON-LD SBOM (`*.spdx3.json`) for the release checks: the
//! packages it describes (the `software_Sbom`'s root elements and what they `contains`)
//! with their SHA-256 values, and the crates a binary's package reaches over `dependsOn`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::embedded::Crate;

/// True when `document` is JSON-LD (SPDX 3) rather than SPDX 2 or CycloneDX.
pub(super) fn is_spdx3(document: &Value) -> bool {
    document.get("@context").is_some() && document.get("@graph").is_some()
}

fn graph(document: &Value) -> impl Iterator<Item = &Value> {
    document
        .get("@graph")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn kind(value: &Value) -> Option<&str> {
    text(value, "type").or_else(|| text(value, "@type"))
}

/// Relationships of `wanted` type as (from, [to]).
fn relationships<'a>(document: &'a Value, wanted: &str) -> Vec<(&'a str, Vec<&'a str>)> {
    graph(document)
        .filter(|element| kind(element) == Some("Relationship"))
        .filter(|element| text(element, "relationshipType") == Some(wanted))
        .filter_map(|element| {
            let to = element
                .get("to")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            Some((text(element, "from")?, to))
        })
        .collect()
}

/// The ids of the packages the document describes: the Sbom's root elements and the
/// packages they `contains` (a release package contains its binaries).
fn described_ids(document: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = graph(document)
        .filter(|element| kind(element) == Some("software_Sbom"))
        .flat_map(|sbom| {
            sbom.get("rootElement")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
        })
        .collect();
    let contained: Vec<&str> = relationships(document, "contains")
        .into_iter()
        .filter(|(from, _)| ids.contains(from))
        .flat_map(|(_, to)| to)
        .collect();
    ids.extend(contained);
    ids
}

/// (name, lower-case SHA-256 values) of the described packages and of their
/// distribution files (the release archives are files of the release package).
pub(super) fn described(document: &Value) -> Vec<(String, Vec<String>)> {
    let mut ids = described_ids(document);
    let files: Vec<&str> = relationships(document, "hasDistributionArtifact")
        .into_iter()
        .filter(|(from, _)| ids.contains(from))
        .flat_map(|(_, to)| to)
        .collect();
    ids.extend(files);
    graph(document)
        .filter(|element| matches!(kind(element), Some("software_Package" | "software_File")))
        .filter(|package| text(package, "spdxId").is_some_and(|id| ids.contains(&id)))
        .map(|package| {
            let hashes = package
                .get("verifiedUsing")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|hash| text(hash, "algorithm") == Some("sha256"))
                .filter_map(|hash| text(hash, "hashValue").map(str::to_ascii_lowercase))
                .collect();
            (text(package, "name").unwrap_or("").to_owned(), hashes)
        })
        .collect()
}

/// The (name, version) of every package the described package named `binary` reaches
/// over `dependsOn`, the toolchain's packages left out; `None` without such a package.
pub(super) fn crates(document: &Value, binary: &str) -> Option<BTreeSet<Crate>> {
    let packages: BTreeMap<&str, Crate> = graph(document)
        .filter(|element| kind(element) == Some("software_Package"))
        // The toolchain's packages (rustc, std) are not crates: exactly the marked ones.
        .filter(|package| cordon_format::toolchain::in_spdx3(package).is_none())
        .filter_map(|package| {
            Some((
                text(package, "spdxId")?,
                (
                    text(package, "name")?.to_owned(),
                    text(package, "software_packageVersion")
                        .unwrap_or("")
                        .to_owned(),
                ),
            ))
        })
        .collect();
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in relationships(document, "dependsOn") {
        edges.entry(from).or_default().extend(to);
    }
    // Contained packages (the binaries of a release) last, so that they are found first.
    let start = described_ids(document)
        .into_iter()
        .rev()
        .find(|id| packages.get(id).is_some_and(|(name, _)| name == binary))?;
    let mut seen: BTreeSet<&str> = BTreeSet::from([start]);
    let mut queue = vec![start];
    while let Some(id) = queue.pop() {
        for &next in edges.get(id).into_iter().flatten() {
            if seen.insert(next) {
                queue.push(next);
            }
        }
    }
    seen.remove(start);
    Some(
        seen.iter()
            .filter_map(|id| packages.get(id).cloned())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({
            "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
            "@graph": [
                {"type": "software_Sbom", "spdxId": "x#sbom", "rootElement": ["x#release"]},
                {"type": "software_Package", "spdxId": "x#release", "name": "cordon"},
                {"type": "software_Package", "spdxId": "x#bin", "name": "cordon", "software_packageVersion": "1.0.0",
                 "verifiedUsing": [{"type": "Hash", "algorithm": "sha256", "hashValue": "AB"}]},
                {"type": "software_Package", "spdxId": "x#a", "name": "a", "software_packageVersion": "1.0.0"},
                {"type": "software_Package", "spdxId": "x#b", "name": "b", "software_packageVersion": "2.0.0"},
                {"type": "software_File", "spdxId": "x#tgz", "name": "cordon.tar.gz",
                 "verifiedUsing": [{"type": "Hash", "algorithm": "sha256", "hashValue": "cd"}]},
                {"type": "software_File", "spdxId": "x#a-crate", "name": "a-1.0.0.crate",
                 "verifiedUsing": [{"type": "Hash", "algorithm": "sha256", "hashValue": "ef"}]},
                {"type": "Relationship", "from": "x#release", "relationshipType": "contains", "to": ["x#bin"]},
                {"type": "Relationship", "from": "x#release", "relationshipType": "hasDistributionArtifact", "to": ["x#tgz"]},
                {"type": "Relationship", "from": "x#a", "relationshipType": "hasDistributionArtifact", "to": ["x#a-crate"]},
                {"type": "Relationship", "from": "x#bin", "relationshipType": "dependsOn", "to": ["x#a"]},
                {"type": "Relationship", "from": "x#a", "relationshipType": "dependsOn", "to": ["x#b"]},
                {"type": "Relationship", "from": "x#b", "relationshipType": "dependsOn", "to": ["NoneElement"]}
            ]
        })
    }

    #[test]
    fn reads_described_packages_and_their_crates() {
        let document = document();
        assert!(is_spdx3(&document));
        let described = described(&document);
        assert_eq!(described.len(), 3, "{described:?}");
        assert!(described.contains(&("cordon".to_owned(), vec!["ab".to_owned()])));
        assert!(described.contains(&("cordon.tar.gz".to_owned(), vec!["cd".to_owned()])));
        let crates = crates(&document, "cordon").unwrap();
        assert_eq!(
            crates,
            BTreeSet::from([
                ("a".to_owned(), "1.0.0".to_owned()),
                ("b".to_owned(), "2.0.0".to_owned())
            ])
        );
        assert_eq!(crates_of_missing(&document), None);
    }

    fn crates_of_missing(document: &Value) -> Option<BTreeSet<Crate>> {
        crates(document, "cordon-verify")
    }

    #[test]
    fn only_the_marked_toolchain_package_is_left_out() {
        let with_std = |issuer: &str| {
            let mut document = document();
            let graph = document["@graph"].as_array_mut().unwrap();
            graph.push(json!({"type": "software_Package", "spdxId": "x#std", "name": "std",
                "software_packageVersion": "1.95.0", "software_packageUrl": "pkg:generic/std@1.95.0",
                "externalIdentifier": [{"type": "ExternalIdentifier", "externalIdentifierType": "other",
                    "identifier": "std", "issuingAuthority": issuer}]}));
            graph.push(json!({"type": "Relationship", "from": "x#bin",
                "relationshipType": "dependsOn", "to": ["x#std"]}));
            document
        };
        let crates_of = |document: &Value| crates(document, "cordon").unwrap();
        assert_eq!(crates_of(&with_std("cordon:toolchain")).len(), 2);
        // Another issuer: the marker is not cordon's, so `std` counts as a crate.
        assert!(crates_of(&with_std("someone")).contains(&("std".to_owned(), "1.95.0".to_owned())));
    }
}
