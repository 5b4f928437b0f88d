//! The components of a CycloneDX (1.4–1.6) or SPDX 2.3 JSON SBOM, and the NTIA minimum
//! elements evaluated over them: per component a supplier, a name, a version, a unique
//! identifier (purl, CPE or SWID) and a dependency relationship; for the document an
//! author and a timestamp (NTIA, "The Minimum Elements For a Software Bill of
//! Materials", 2021).

use std::collections::BTreeSet;
use std::path::Path;

use cordon_format::toolchain::{self, ToolchainPart};
use serde_json::Value;

use crate::error::AuditError;

/// One component as the SBOM describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Component {
    /// Its id in the document (CycloneDX `bom-ref`, SPDX `SPDXID`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: Option<String>,
    /// Its purl.
    pub purl: Option<String>,
    /// A CPE or SWID id, when it has one.
    pub other_id: Option<String>,
    /// Its supplier (`NOASSERTION` is read as none).
    pub supplier: Option<String>,
    /// The licence the SBOM declares (the crate's own declaration).
    pub licence_declared: Option<String>,
    /// The licence the SBOM's author concluded, when it concluded one.
    pub licence_concluded: Option<String>,
    /// True when a dependency relationship names it.
    pub in_relationship: bool,
    /// `Some` when it is one of the Rust toolchain's components cordon-sbom writes
    /// (`rustc`, `std`: exactly the marked shape of [`cordon_format::toolchain`]), which
    /// are not crates: advisories and crate lists leave them out.
    pub toolchain: Option<ToolchainPart>,
}

/// A parsed SBOM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sbom {
    /// `CycloneDX 1.6`, `SPDX-2.3`...
    pub format: String,
    /// The authors of the SBOM data (CycloneDX `metadata.authors`, SPDX `Person:` and
    /// `Organization:` creators).
    pub authors: Vec<String>,
    /// When it was made.
    pub timestamp: Option<String>,
    /// Every component (CycloneDX: `metadata.component` and `components`, nested ones
    /// included; SPDX: `packages`).
    pub components: Vec<Component>,
}

/// One NTIA minimum element and how many components lack it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementResult {
    /// The element: `supplier`, `name`, `version`, `unique id`, `dependency relationship`.
    pub element: &'static str,
    /// How many components have it.
    pub present: usize,
    /// The names (`name@version`) of the components that lack it.
    pub missing: Vec<String>,
}

/// The NTIA minimum elements of one SBOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ntia {
    /// How many components there are.
    pub components: usize,
    /// The document has an author of the SBOM data.
    pub author: bool,
    /// The document has a timestamp.
    pub timestamp: bool,
    /// Each per-component element.
    pub elements: Vec<ElementResult>,
}

impl Ntia {
    /// True when every element is present everywhere.
    pub fn conformant(&self) -> bool {
        self.author && self.timestamp && self.elements.iter().all(|e| e.missing.is_empty())
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty() && *text != "NOASSERTION" && *text != "NONE")
        .map(str::to_owned)
}

impl Sbom {
    /// Parses a CycloneDX or SPDX 2.x JSON SBOM (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Sbom, AuditError> {
        let malformed = |problem: String| AuditError::Malformed {
            path: path.to_owned(),
            problem,
        };
        let document: Value = serde_json::from_str(text)
            .map_err(|error| malformed(format!("line {}: not JSON: {error}", error.line())))?;
        if document.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
            Ok(cyclonedx(&document))
        } else if let Some(version) = document.get("spdxVersion").and_then(Value::as_str) {
            if !version.starts_with("SPDX-2.") {
                return Err(malformed(format!(
                    "spdxVersion {version:?}: only SPDX 2.x JSON is read here"
                )));
            }
            Ok(spdx(&document, version))
        } else {
            Err(malformed(
                "neither CycloneDX (bomFormat) nor SPDX 2.x (spdxVersion) JSON".to_owned(),
            ))
        }
    }

    /// The NTIA minimum elements of this SBOM.
    pub fn ntia(&self) -> Ntia {
        let label = |component: &Component| match &component.version {
            Some(version) => format!("{}@{version}", component.name),
            None => component.name.clone(),
        };
        let check = |element: &'static str, has: fn(&Component) -> bool| {
            let missing: Vec<String> = self
                .components
                .iter()
                .filter(|component| !has(component))
                .map(label)
                .collect();
            ElementResult {
                element,
                present: self.components.len() - missing.len(),
                missing,
            }
        };
        Ntia {
            components: self.components.len(),
            author: !self.authors.is_empty(),
            timestamp: self.timestamp.is_some(),
            elements: vec![
                check("supplier", |c| c.supplier.is_some()),
                check("name", |c| !c.name.is_empty()),
                check("version", |c| c.version.is_some()),
                check("unique id", |c| c.purl.is_some() || c.other_id.is_some()),
                check("dependency relationship", |c| c.in_relationship),
            ],
        }
    }
}

fn cyclonedx_licences(component: &Value, concluded: bool) -> Option<String> {
    let terms: Vec<String> = component
        .get("licenses")
        .and_then(Value::as_array)?
        .iter()
        .filter(|entry| {
            let acknowledgement = entry
                .get("acknowledgement")
                .or_else(|| entry.get("license").and_then(|l| l.get("acknowledgement")))
                .and_then(Value::as_str);
            if concluded {
                acknowledgement == Some("concluded")
            } else {
                acknowledgement != Some("concluded")
            }
        })
        .filter_map(|entry| {
            text(entry, "expression").or_else(|| {
                let licence = entry.get("license")?;
                text(licence, "id").or_else(|| text(licence, "name"))
            })
        })
        .collect();
    match terms.len() {
        0 => None,
        1 => terms.into_iter().next(),
        _ => Some(
            terms
                .iter()
                .map(|term| format!("({term})"))
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

fn cyclonedx(document: &Value) -> Sbom {
    let metadata = document.get("metadata").unwrap_or(&Value::Null);
    let mut related = BTreeSet::new();
    for dependency in document
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let depends_on: Vec<&str> = dependency
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // An entry with an empty dependsOn states "no dependencies": a relationship too.
        if let Some(reference) = dependency.get("ref").and_then(Value::as_str) {
            related.insert(reference.to_owned());
        }
        related.extend(depends_on.into_iter().map(str::to_owned));
    }
    let mut components = Vec::new();
    // A stack popped from the end: the primary component comes out first, then the
    // components in document order, each followed by its nested ones.
    let mut stack: Vec<&Value> = document
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .rev()
        .collect();
    if let Some(component) = metadata.get("component") {
        stack.push(component);
    }
    while let Some(component) = stack.pop() {
        stack.extend(
            component
                .get("components")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .rev(),
        );
        let id = text(component, "bom-ref").unwrap_or_default();
        components.push(Component {
            in_relationship: !id.is_empty() && related.contains(&id),
            id,
            name: text(component, "name").unwrap_or_default(),
            version: text(component, "version"),
            purl: text(component, "purl"),
            other_id: text(component, "cpe")
                .or_else(|| component.get("swid").and_then(|swid| text(swid, "tagId"))),
            supplier: component
                .get("supplier")
                .and_then(|supplier| text(supplier, "name")),
            licence_declared: cyclonedx_licences(component, false),
            licence_concluded: cyclonedx_licences(component, true),
            toolchain: toolchain::in_cyclonedx(component),
        });
    }
    let authors = metadata
        .get("authors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|author| text(author, "name").or_else(|| text(author, "email")))
        .chain(
            metadata
                .get("manufacturer")
                .and_then(|maker| text(maker, "name")),
        )
        .collect();
    let version = document
        .get("specVersion")
        .and_then(Value::as_str)
        .unwrap_or("?");
    Sbom {
        format: format!("CycloneDX {version}"),
        authors,
        timestamp: text(metadata, "timestamp"),
        components,
    }
}

fn spdx(document: &Value, version: &str) -> Sbom {
    let mut related = BTreeSet::new();
    for relationship in document
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = relationship
            .get("relationshipType")
            .and_then(Value::as_str)
            .unwrap_or("");
        if kind == "DESCRIBES" || kind == "DESCRIBED_BY" {
            continue;
        }
        for side in ["spdxElementId", "relatedSpdxElement"] {
            if let Some(id) = relationship.get(side).and_then(Value::as_str) {
                related.insert(id.to_owned());
            }
        }
    }
    let external = |package: &Value, types: &[&str]| {
        package
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|reference| {
                reference
                    .get("referenceType")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| types.contains(&kind))
            })
            .and_then(|reference| text(reference, "referenceLocator"))
    };
    let components = document
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|package| {
            let id = text(package, "SPDXID").unwrap_or_default();
            Component {
                in_relationship: related.contains(&id),
                id,
                name: text(package, "name").unwrap_or_default(),
                version: text(package, "versionInfo"),
                purl: external(package, &["purl"]),
                other_id: external(package, &["cpe22Type", "cpe23Type", "swid"]),
                supplier: text(package, "supplier").map(|supplier| {
                    supplier
                        .strip_prefix("Organization:")
                        .or_else(|| supplier.strip_prefix("Person:"))
                        .unwrap_or(&supplier)
                        .trim()
                        .to_owned()
                }),
                licence_declared: text(package, "licenseDeclared"),
                licence_concluded: text(package, "licenseConcluded"),
                toolchain: toolchain::in_spdx2(package),
            }
        })
        .collect();
    let creation = document.get("creationInfo").unwrap_or(&Value::Null);
    let authors = creation
        .get("creators")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|creator| {
            creator
                .strip_prefix("Organization:")
                .or_else(|| creator.strip_prefix("Person:"))
        })
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    Sbom {
        format: version.to_owned(),
        authors,
        timestamp: text(creation, "created"),
        components,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cyclonedx_components_and_ntia_counts() {
        let document = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6",
            "metadata": {"timestamp": "2099-01-01T00:00:00Z", "authors": [{"name": "Team"}],
                "component": {"bom-ref": "app", "name": "app", "version": "1.0.0",
                    "supplier": {"name": "Team"}, "purl": "pkg:cargo/app@1.0.0",
                    "licenses": [{"expression": "Apache-2.0"}]}},
            "components": [
                {"bom-ref": "pkg:cargo/a@1.0.0", "name": "a", "version": "1.0.0",
                 "purl": "pkg:cargo/a@1.0.0", "supplier": {"name": "A people"},
                 "licenses": [{"expression": "MIT OR Apache-2.0"},
                              {"expression": "MIT", "acknowledgement": "concluded"}]},
                {"bom-ref": "pkg:cargo/b@2.0.0", "name": "b", "version": "2.0.0",
                 "purl": "pkg:cargo/b@2.0.0",
                 "components": [{"bom-ref": "nested", "name": "n"}]}
            ],
            "dependencies": [{"ref": "app", "dependsOn": ["pkg:cargo/a@1.0.0"]},
                             {"ref": "pkg:cargo/b@2.0.0", "dependsOn": []}]
        });
        let sbom = Sbom::parse(Path::new("x.cdx.json"), &document.to_string()).unwrap();
        assert_eq!(sbom.format, "CycloneDX 1.6");
        let names: Vec<&str> = sbom.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app", "a", "b", "n"]);
        assert_eq!(
            sbom.components[1].licence_declared.as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(sbom.components[1].licence_concluded.as_deref(), Some("MIT"));
        let ntia = sbom.ntia();
        assert!(ntia.author && ntia.timestamp);
        assert!(!ntia.conformant());
        let missing = |element: &str| {
            ntia.elements
                .iter()
                .find(|e| e.element == element)
                .unwrap()
                .missing
                .clone()
        };
        assert_eq!(missing("supplier"), ["b@2.0.0", "n"]);
        assert_eq!(missing("version"), ["n"]);
        assert_eq!(missing("unique id"), ["n"]);
        assert_eq!(missing("dependency relationship"), ["n"]);
        assert!(missing("name").is_empty());
    }

    #[test]
    fn spdx_packages_and_ntia() {
        let document = json!({
            "spdxVersion": "SPDX-2.3",
            "creationInfo": {"created": "2099-01-01T00:00:00Z",
                             "creators": ["Tool: x", "Organization: Team"]},
            "packages": [
                {"SPDXID": "SPDXRef-a", "name": "a", "versionInfo": "1.0.0",
                 "supplier": "Organization: A people", "licenseDeclared": "MIT",
                 "licenseConcluded": "NOASSERTION",
                 "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:cargo/a@1.0.0"}]},
                {"SPDXID": "SPDXRef-b", "name": "b", "versionInfo": "1.0.0", "supplier": "NOASSERTION"}
            ],
            "relationships": [
                {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-b"},
                {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-x"}
            ]
        });
        let sbom = Sbom::parse(Path::new("x.spdx.json"), &document.to_string()).unwrap();
        assert_eq!(sbom.authors, ["Team"]);
        assert_eq!(sbom.components[0].supplier.as_deref(), Some("A people"));
        assert_eq!(sbom.components[0].licence_concluded, None);
        assert_eq!(sbom.components[1].supplier, None);
        assert!(sbom.components[0].in_relationship);
        assert!(!sbom.components[1].in_relationship);
        assert_eq!(sbom.components[0].toolchain, None);
        let ntia = sbom.ntia();
        assert_eq!(ntia.components, 2);
        assert_eq!(ntia.elements[0].present, 1);
        assert!(!ntia.conformant());
    }

    #[test]
    fn the_toolchain_is_told_apart_by_its_marker_only() {
        let std = |properties: Value| {
            json!({"name": "std", "version": "1.95.0", "bom-ref": "s",
                   "purl": "pkg:generic/std@1.95.0", "properties": properties})
        };
        let document = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {},
            "components": [std(json!([{"name": "cordon:toolchain", "value": "std"}])),
                           std(json!([]))]
        });
        let sbom = Sbom::parse(Path::new("x.cdx.json"), &document.to_string()).unwrap();
        let parts: Vec<Option<ToolchainPart>> =
            sbom.components.iter().map(|c| c.toolchain).collect();
        assert_eq!(parts, [Some(ToolchainPart::Std), None]);
    }

    #[test]
    fn other_documents_are_refused_with_the_reason() {
        let error = Sbom::parse(Path::new("x.json"), "{}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("neither CycloneDX"), "{error}");
        let error = Sbom::parse(Path::new("x.json"), "{\n!")
            .unwrap_err()
            .to_string();
        assert!(error.contains("x.json: line 2"), "{error}");
    }
}
