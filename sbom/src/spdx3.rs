//! SPDX 3.0.1 JSON-LD (what BSI TR-03183-2 v2.1 asks for beside CycloneDX 1.6).
//!
//! One `SpdxDocument` whose root is a `software_Sbom` of type `build`; the Sbom's root is
//! the release package (or the binaries). Every package is a `software_Package` with its
//! purl, supplier (`suppliedBy`, by the rule of [`crate::supplier`]), creator
//! (`originatedBy`, only when the supplier is the crate's authors, its repository's owner
//! or the SBOM's creator: a registry distributes, it does not create), copyright text,
//! declared and concluded licences (`hasDeclaredLicense`, `hasConcludedLicense`; a
//! concluded licence the crate's files do not support is `NoAssertionLicense`), and its
//! distribution files (`hasDistributionArtifact`): a registry crate's `.crate` archive
//! (SHA-256 and SHA-512), a binary's file and the release archives holding it; a crate
//! without an archive of its own (path and git crates, registry crates missing from
//! cargo's cache) names the shipped files it is linked into. `dependsOn` relationships
//! carry their completeness: a crate's list is `complete` (a crate with none `dependsOn`
//! `NoneElement`), a crate that links a native library the document does not describe
//! says `noAssertion`, a binary's list (its crates and the standard library) is
//! `complete`. The toolchain ([`crate::toolchain`]): every binary `dependsOn` the `std`
//! package and `usesTool` the `rustc` package (a `LifecycleScopedRelationship` scoped to
//! `build`); both carry an `other` external identifier issued by `cordon:toolchain` and
//! `dependsOn` `NoAssertionElement` (their own parts are not described). Ids are IRIs under a content-derived namespace, so the same inputs give
//! the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::Error;
use crate::document_bytes;
use crate::model::{self, Item, Model, Supplier};
use crate::purl::CrateSource;
use crate::supplier::SupplierRule;
use cordon_format::toolchain::{MARKER, ToolchainPart};

const CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";
const CREATION: &str = "_:creationinfo";
const NO_ASSERTION_LICENCE: &str = "expandedlicensing_NoAssertionLicense";
const NONE_ELEMENT: &str = "NoneElement";
const NO_ASSERTION_ELEMENT: &str = "NoAssertionElement";

/// Collects the graph: elements in insertion order, ids under one namespace.
struct Graph {
    namespace: String,
    elements: Vec<Value>,
    relationships: usize,
    agents: BTreeMap<String, String>,
    licences: BTreeMap<String, String>,
}

impl Graph {
    fn id(&self, local: &str) -> String {
        let clean: String = local
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}#{clean}", self.namespace)
    }

    fn relate(&mut self, from: &str, kind: &str, to: &[String], completeness: Option<&str>) {
        self.relate_in(from, kind, to, completeness, None);
    }

    /// A relationship; with `scope`, a `LifecycleScopedRelationship` for that phase.
    fn relate_in(
        &mut self,
        from: &str,
        kind: &str,
        to: &[String],
        completeness: Option<&str>,
        scope: Option<&str>,
    ) {
        if to.is_empty() {
            return;
        }
        self.relationships += 1;
        let mut relationship = json!({
            "type": "Relationship",
            "spdxId": self.id(&format!("Relationship-{}", self.relationships)),
            "creationInfo": CREATION,
            "from": from,
            "relationshipType": kind,
            "to": to,
        });
        if let Some(completeness) = completeness {
            relationship["completeness"] = json!(completeness);
        }
        if let Some(scope) = scope {
            relationship["type"] = json!("LifecycleScopedRelationship");
            relationship["scope"] = json!(scope);
        }
        self.elements.push(relationship);
    }

    /// The id of an Organization for `supplier`, added once.
    fn agent(&mut self, supplier: &Supplier) -> String {
        let key = format!("{}|{:?}|{:?}", supplier.name, supplier.url, supplier.emails);
        if let Some(id) = self.agents.get(&key) {
            return id.clone();
        }
        let id = self.id(&format!("Organization-{}", self.agents.len() + 1));
        let mut identifiers: Vec<Value> = supplier
            .emails
            .iter()
            .map(|mail| json!({"type": "ExternalIdentifier", "externalIdentifierType": "email", "identifier": mail}))
            .collect();
        if let Some(url) = supplier
            .url
            .as_ref()
            .filter(|url| crate::supplier::is_web_url(url))
        {
            identifiers.push(json!({"type": "ExternalIdentifier", "externalIdentifierType": "urlScheme", "identifier": url}));
        }
        let mut agent = json!({
            "type": "Organization",
            "spdxId": id,
            "creationInfo": CREATION,
            "name": one_line(&supplier.name),
        });
        if !identifiers.is_empty() {
            agent["externalIdentifier"] = Value::Array(identifiers);
        }
        self.elements.push(agent);
        self.agents.insert(key, id.clone());
        id
    }

    /// The id of a LicenseExpression element for `expression`, added once.
    fn licence(&mut self, expression: &str) -> String {
        if let Some(id) = self.licences.get(expression) {
            return id.clone();
        }
        let id = self.id(&format!("LicenseExpression-{}", self.licences.len() + 1));
        self.elements.push(json!({
            "type": "simplelicensing_LicenseExpression",
            "spdxId": id,
            "creationInfo": CREATION,
            "simplelicensing_licenseExpression": expression,
        }));
        self.licences.insert(expression.to_owned(), id.clone());
        id
    }

    /// A `software_File` of the release or a registry.
    fn file(
        &mut self,
        local: &str,
        name: &str,
        hashes: &[(&str, &str)],
        purposes: (&str, &[&str]),
        download: Option<&str>,
    ) -> String {
        let id = self.id(local);
        let mut file = json!({
            "type": "software_File",
            "spdxId": id,
            "creationInfo": CREATION,
            "name": name,
            "software_primaryPurpose": purposes.0,
            "verifiedUsing": hashes
                .iter()
                .map(|(algorithm, value)| json!({"type": "Hash", "algorithm": algorithm, "hashValue": value}))
                .collect::<Vec<_>>(),
        });
        if !purposes.1.is_empty() {
            file["software_additionalPurpose"] = json!(purposes.1);
        }
        if let Some(url) = download.filter(|url| crate::supplier::is_web_url(url)) {
            file["externalRef"] = json!([{"type": "ExternalRef", "externalRefType": "binaryArtifact", "locator": [url]}]);
        }
        self.elements.push(file);
        id
    }
}

fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.is_empty() {
        "NOASSERTION".to_owned()
    } else {
        joined
    }
}

pub(crate) fn write(model: &Model) -> Result<Vec<u8>, Error> {
    let name = match &model.release {
        Some(release) => format!("{}-{}", release.name, release.version),
        None => model
            .binaries
            .first()
            .map(|b| format!("{}-{}", b.item.name, b.item.version))
            .unwrap_or_default(),
    };
    let safe = model::spdx_safe(&name);
    let draft =
        document_bytes::to_json_bytes(&document(model, &name, "https://spdx.org/spdxdocs/draft"))?;
    let namespace = format!(
        "https://spdx.org/spdxdocs/{safe}-{}",
        document_bytes::content_uuid(&draft)
    );
    document_bytes::to_json_bytes(&document(model, &name, &namespace))
}

fn document(model: &Model, name: &str, namespace: &str) -> Value {
    let mut graph = Graph {
        namespace: namespace.to_owned(),
        elements: Vec::new(),
        relationships: 0,
        agents: BTreeMap::new(),
        licences: BTreeMap::new(),
    };
    let tool = graph.id("Tool-cordon-sbom");
    graph.elements.push(json!({
        "type": "Tool",
        "spdxId": tool,
        "creationInfo": CREATION,
        "name": format!("{}-{}", model::TOOL_NAME, model::TOOL_VERSION),
    }));
    // Without a configured or derivable contact the document still needs an agent: the
    // supplier of the primary component (without a contact, which BSI then reports).
    let creator = model
        .creator
        .clone()
        .or_else(|| model.supplier.clone())
        .unwrap_or(Supplier {
            name: "NOASSERTION".to_owned(),
            url: None,
            emails: Vec::new(),
            rule: SupplierRule::Workspace,
        });
    let creator_id = graph.agent(&creator);

    // Files: archives first (binaries name them), then each binary's file.
    let archive_ids: Vec<(String, &model::ArchiveItem)> = model
        .archives
        .iter()
        .map(|archive| {
            let id = graph.file(
                &format!("File-{}", archive.file_name),
                &archive.file_name,
                &[("sha256", &archive.sha256), ("sha512", &archive.sha512)],
                ("archive", &["container"]),
                None,
            );
            (id, archive)
        })
        .collect();
    let mut package_of: BTreeMap<&str, String> = BTreeMap::new();
    let mut shipped_in: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for binary in &model.binaries {
        let file = graph.file(
            &format!("File-{}", binary.file_name),
            &binary.file_name,
            &[("sha256", &binary.sha256), ("sha512", &binary.sha512)],
            ("executable", &[]),
            None,
        );
        let mut files = vec![file];
        files.extend(
            archive_ids
                .iter()
                .filter(|(_, archive)| archive.contains.contains(&binary.item.bom_ref))
                .map(|(id, _)| id.clone()),
        );
        shipped_in.insert(&binary.item.bom_ref, files);
    }

    // Packages.
    let first = model.binaries.first().map(|binary| &binary.item);
    let mut roots = Vec::new();
    if let Some(release) = &model.release {
        let id = graph.id(&format!(
            "Package-release-{}-{}",
            release.name, release.version
        ));
        let mut package = json!({
            "type": "software_Package",
            "spdxId": id,
            "creationInfo": CREATION,
            "name": release.name,
            "software_packageVersion": release.version,
            "software_primaryPurpose": "application",
            "software_copyrightText": first.map_or_else(|| "NOASSERTION".to_owned(), |item| crate::notices::spdx_text(item.copyright.as_deref(), &item.copyright_origin)),
        });
        if let Some(supplier) = &model.supplier {
            let agent = graph.agent(supplier);
            package["suppliedBy"] = json!(agent);
            package["originatedBy"] = json!([agent]);
        }
        graph.elements.push(package);
        if let Some(item) = first {
            licences(&mut graph, &id, item);
        }
        package_of.insert(&release.bom_ref, id.clone());
        roots.push(id);
    }
    for binary in &model.binaries {
        let id = package(&mut graph, &binary.item, "application");
        // The binary package is the built file: its digests are the file's.
        if let Some(element) = graph
            .elements
            .iter_mut()
            .find(|element| element.get("spdxId").and_then(Value::as_str) == Some(id.as_str()))
        {
            element["verifiedUsing"] = json!([
                {"type": "Hash", "algorithm": "sha256", "hashValue": binary.sha256},
                {"type": "Hash", "algorithm": "sha512", "hashValue": binary.sha512},
            ]);
        }
        package_of.insert(&binary.item.bom_ref, id.clone());
        if model.release.is_none() {
            roots.push(id);
        }
    }
    for item in &model.crates {
        let id = package(&mut graph, item, "library");
        package_of.insert(&item.bom_ref, id);
    }
    let mut rustc_id = None;
    for item in &model.toolchain {
        let part = item.toolchain.unwrap_or(ToolchainPart::Std);
        let purpose = match part {
            ToolchainPart::Rustc => "application",
            ToolchainPart::Std => "library",
        };
        let id = package(&mut graph, item, purpose);
        if let Some(element) = graph
            .elements
            .iter_mut()
            .find(|element| element.get("spdxId").and_then(Value::as_str) == Some(id.as_str()))
        {
            if let Some(identifiers) = element["externalIdentifier"].as_array_mut() {
                identifiers.push(json!({"type": "ExternalIdentifier", "externalIdentifierType": "other", "identifier": part.name(), "issuingAuthority": MARKER}));
            }
            let rest = element["comment"].as_str().unwrap_or_default().to_owned();
            element["comment"] = json!(model.rustc.spdx_comment(part, &model.target, &rest));
        }
        if part == ToolchainPart::Rustc {
            rustc_id = Some(id.clone());
        }
        package_of.insert(&item.bom_ref, id);
    }

    // Which binaries each crate is linked into (for crates without an archive of their own).
    let mut linked_into: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for binary in &model.binaries {
        let mut todo = vec![binary.item.bom_ref.as_str()];
        let mut seen = BTreeSet::new();
        while let Some(next) = todo.pop() {
            for target in model.dependencies.get(next).into_iter().flatten() {
                if seen.insert(target.as_str()) {
                    todo.push(target);
                }
            }
        }
        for reached in seen {
            linked_into
                .entry(reached)
                .or_default()
                .insert(&binary.item.bom_ref);
        }
    }

    // Relationships: composition and dependencies, then distribution files.
    if let Some(release) = &model.release
        && let Some(from) = package_of.get(release.bom_ref.as_str()).cloned()
    {
        let binaries: Vec<String> = model
            .binaries
            .iter()
            .filter_map(|b| package_of.get(b.item.bom_ref.as_str()).cloned())
            .collect();
        graph.relate(&from, "contains", &binaries, Some("complete"));
        let archives: Vec<String> = archive_ids.iter().map(|(id, _)| id.clone()).collect();
        graph.relate(&from, "hasDistributionArtifact", &archives, None);
    }
    for binary in &model.binaries {
        let Some(from) = package_of.get(binary.item.bom_ref.as_str()).cloned() else {
            continue;
        };
        let targets = targets(model, &package_of, &binary.item.bom_ref);
        graph.relate(&from, "dependsOn", &targets, Some("complete"));
        if let Some(rustc) = &rustc_id {
            graph.relate_in(
                &from,
                "usesTool",
                std::slice::from_ref(rustc),
                None,
                Some("build"),
            );
        }
        let files = shipped_in
            .get(binary.item.bom_ref.as_str())
            .cloned()
            .unwrap_or_default();
        graph.relate(&from, "hasDistributionArtifact", &files, None);
    }
    for item in &model.crates {
        let Some(from) = package_of.get(item.bom_ref.as_str()).cloned() else {
            continue;
        };
        let mut targets = targets(model, &package_of, &item.bom_ref);
        let completeness = if item.links.is_some() {
            "noAssertion"
        } else {
            "complete"
        };
        if targets.is_empty() {
            targets.push(NONE_ELEMENT.to_owned());
        }
        graph.relate(&from, "dependsOn", &targets, Some(completeness));
        let files = match &item.crate_file {
            Some(crate_file) => vec![graph.file(
                &format!("File-{}", crate_file.file_name),
                &crate_file.file_name,
                &[
                    ("sha256", &crate_file.sha256),
                    ("sha512", &crate_file.sha512),
                ],
                ("archive", &["container"]),
                item.download.as_deref(),
            )],
            None => linked_into
                .get(item.bom_ref.as_str())
                .into_iter()
                .flatten()
                .flat_map(|binary| shipped_in.get(binary).cloned().unwrap_or_default())
                .collect::<BTreeSet<String>>()
                .into_iter()
                .collect(),
        };
        graph.relate(&from, "hasDistributionArtifact", &files, None);
    }

    for item in &model.toolchain {
        if let Some(from) = package_of.get(item.bom_ref.as_str()).cloned() {
            graph.relate(
                &from,
                "dependsOn",
                &[NO_ASSERTION_ELEMENT.to_owned()],
                Some("noAssertion"),
            );
            // std is shipped inside every binary's files; rustc is not shipped.
            if item.toolchain == Some(ToolchainPart::Std) {
                let files: Vec<String> = shipped_in
                    .values()
                    .flatten()
                    .cloned()
                    .collect::<BTreeSet<String>>()
                    .into_iter()
                    .collect();
                graph.relate(&from, "hasDistributionArtifact", &files, None);
            }
        }
    }

    let sbom = graph.id("Sbom");
    let mut elements: Vec<String> = graph
        .elements
        .iter()
        .filter_map(|element| element.get("spdxId")?.as_str().map(str::to_owned))
        .collect();
    elements.push(sbom.clone());
    let mut graph_elements = vec![
        json!({
            "type": "CreationInfo",
            "@id": CREATION,
            "specVersion": "3.0.1",
            "created": model.timestamp,
            "createdBy": [creator_id],
            "createdUsing": [tool],
            "comment": format!(
                "SBOM type: build. Crates compiled and linked into the binaries for target {}; build dependencies and proc-macros are not part of the binaries and are omitted.",
                model.target
            ),
        }),
        json!({
            "type": "SpdxDocument",
            "spdxId": graph.id("SpdxDocument"),
            "creationInfo": CREATION,
            "name": name,
            "profileConformance": ["core", "software", "simpleLicensing"],
            "rootElement": [sbom],
            "element": elements.clone(),
        }),
        json!({
            "type": "software_Sbom",
            "spdxId": sbom,
            "creationInfo": CREATION,
            "name": name,
            "software_sbomType": ["build"],
            "rootElement": roots,
            "element": elements[..elements.len() - 1].to_vec(),
        }),
    ];
    graph_elements.append(&mut graph.elements);
    json!({"@context": CONTEXT, "@graph": graph_elements})
}

/// The package ids `from` depends on.
fn targets(model: &Model, package_of: &BTreeMap<&str, String>, from: &str) -> Vec<String> {
    model
        .dependencies
        .get(from)
        .into_iter()
        .flatten()
        .filter_map(|target| package_of.get(target.as_str()).cloned())
        .collect()
}

/// A crate or binary package with its licences; returns its id.
fn package(graph: &mut Graph, item: &Item, purpose: &str) -> String {
    let id = graph.id(item.spdx_id.trim_start_matches("SPDXRef-"));
    let mut package = json!({
        "type": "software_Package",
        "spdxId": id,
        "creationInfo": CREATION,
        "name": item.name,
        "software_packageVersion": item.version,
        "software_primaryPurpose": purpose,
        "software_packageUrl": item.purl,
        "externalIdentifier": [{"type": "ExternalIdentifier", "externalIdentifierType": "packageUrl", "identifier": item.purl}],
        "software_copyrightText": crate::notices::spdx_text(item.copyright.as_deref(), &item.copyright_origin),
    });
    if let Some(description) = &item.description {
        package["description"] = json!(description);
    }
    if let Some(url) = item
        .homepage
        .as_ref()
        .filter(|url| crate::supplier::is_web_url(url))
    {
        package["software_homePage"] = json!(url);
    }
    let download = match (&item.source, &item.download) {
        (CrateSource::Path, _) | (_, None) => None,
        (_, Some(download)) => Some(download.clone()),
    };
    if let Some(download) = download.filter(|url| crate::supplier::is_web_url(url)) {
        package["software_downloadLocation"] = json!(download);
    }
    if let Some(repository) = item
        .repository
        .as_ref()
        .filter(|url| crate::supplier::is_web_url(url))
    {
        package["externalRef"] =
            json!([{"type": "ExternalRef", "externalRefType": "vcs", "locator": [repository]}]);
    }
    if let Some(sha256) = &item.sha256 {
        package["verifiedUsing"] =
            json!([{"type": "Hash", "algorithm": "sha256", "hashValue": sha256}]);
    }
    if let Some(supplier) = &item.supplier {
        let agent = graph.agent(supplier);
        package["suppliedBy"] = json!(agent);
        if supplier.rule != SupplierRule::Registry {
            package["originatedBy"] = json!([agent]);
        }
    }
    // Where the supplier, a concluded licence known from statements and the copyright
    // text came from.
    let comment: Vec<String> = item
        .supplier
        .iter()
        .map(|supplier| supplier.rule.explain().to_owned())
        .chain(crate::evidence::statements_explained(
            &item.licence_statements,
        ))
        .chain(std::iter::once(
            item.copyright_origin.explain(&item.licence_files),
        ))
        .collect();
    package["comment"] = json!(comment.join("; "));
    graph.elements.push(package);
    licences(graph, &id, item);
    id
}

fn licences(graph: &mut Graph, id: &str, item: &Item) {
    if let Some(declared) = &item.licence {
        let licence = graph.licence(&declared.expression);
        graph.relate(id, "hasDeclaredLicense", &[licence], None);
    }
    let concluded = match &item.concluded {
        Some(expression) => graph.licence(expression),
        None => NO_ASSERTION_LICENCE.to_owned(),
    };
    graph.relate(id, "hasConcludedLicense", &[concluded], None);
}
