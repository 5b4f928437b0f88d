//! CycloneDX 1.5 and 1.6 JSON, as serde types of just the fields cordon fills.
//!
//! Layout: `metadata.component` is the binary (type `application`, SHA-256 and SHA-512 of
//! the built file); for several binaries it is the release, whose `components` are the
//! binaries. `components` lists every crate linked into any of them (type `library`, scope
//! `required`); `dependencies` holds one entry per component, binaries and release
//! included, with the edges cargo resolves for the target. The toolchain
//! ([`crate::toolchain`]) follows the crates: `std` (type `library`, scope `required`),
//! which every binary depends on, and `rustc` (type `application`, scope `excluded`: it
//! built the binaries and is not part of them), each with the property
//! `cordon:toolchain` and `rustc -vV`'s commit, date, host or target and LLVM version.

use serde::Serialize;

use crate::Error;
use crate::document_bytes;
use crate::model::{self, Item, Model, Supplier};
use crate::purl::CrateSource;
use cordon_format::toolchain::ToolchainPart;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V1_5,
    V1_6,
}

impl Version {
    fn spec(self) -> &'static str {
        match self {
            Self::V1_5 => "1.5",
            Self::V1_6 => "1.6",
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    #[serde(rename = "$schema")]
    schema: String,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<Component<'a>>,
    dependencies: Vec<Dependency<'a>>,
    compositions: Vec<Composition<'a>>,
}

/// How complete the dependency lists of `dependencies` are.
#[derive(Serialize)]
struct Composition<'a> {
    aggregate: &'static str,
    dependencies: Vec<&'a str>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: &'a str,
    lifecycles: Vec<Lifecycle>,
    tools: Tools,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Contact>,
    component: Component<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manufacturer: Option<Organisation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Entity>,
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Lifecycle {
    phase: &'static str,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<ToolComponent>,
}

#[derive(Serialize)]
struct ToolComponent {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Contact {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

#[derive(Serialize)]
struct Organisation {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    url: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contact: Vec<Contact>,
}

#[derive(Serialize)]
struct Entity {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    url: Vec<String>,
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Entity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authors: Option<Vec<Contact>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<String>,
    name: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenceChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    copyright: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Component<'a>>,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
struct LicenceChoice {
    expression: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledgement: Option<&'static str>,
}

#[derive(Serialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
}

#[derive(Serialize)]
struct Dependency<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
    #[serde(rename = "dependsOn")]
    depends_on: &'a [String],
}

fn entity(supplier: Option<Supplier>) -> Option<Entity> {
    supplier.map(|s| Entity {
        name: s.name,
        url: s.url.filter(|u| is_url(u)).into_iter().collect(),
    })
}

/// The SBOM's creator as a CycloneDX 1.6 `manufacturer` (1.5: `None`; its contact then
/// goes into `metadata.authors`).
fn organisation(creator: &Supplier) -> Organisation {
    Organisation {
        name: creator.name.clone(),
        url: creator.url.iter().filter(|u| is_url(u)).cloned().collect(),
        contact: creator
            .emails
            .iter()
            .map(|mail| Contact {
                name: creator.name.clone(),
                email: Some(mail.clone()),
            })
            .collect(),
    }
}

/// Only absolute URLs without spaces go into `url` fields (the schema's iri-reference).
fn is_url(text: &str) -> bool {
    let scheme_ok = text.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+')
            && !rest.is_empty()
    });
    scheme_ok
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>')
}

fn component<'a>(item: &'a Item, kind: &'static str, version: Version) -> Component<'a> {
    let mut references = Vec::new();
    let mut add = |kind: &'static str, url: Option<&String>, hashes: Vec<Hash>| {
        if let Some(url) = url.filter(|u| is_url(u)) {
            references.push(Reference {
                kind,
                url: url.clone(),
                hashes,
            });
        }
    };
    let sha = |sum: &Option<String>| -> Vec<Hash> {
        sum.iter()
            .map(|content| Hash {
                alg: "SHA-256",
                content: content.clone(),
            })
            .collect()
    };
    add("website", item.homepage.as_ref(), Vec::new());
    add("vcs", item.repository.as_ref(), Vec::new());
    // A git dependency's exact source, when the crate declares no repository.
    if item.repository.is_none()
        && let CrateSource::Git { url, rev } = &item.source
    {
        add("vcs", Some(&format!("git+{url}@{rev}")), Vec::new());
    }
    add("documentation", item.documentation.as_ref(), Vec::new());
    // The deployable source archive and its hash (BSI: URI and hash of the deployable form).
    if !matches!(item.source, CrateSource::Git { .. }) {
        add("distribution", item.download.as_ref(), sha(&item.sha256));
    }
    let contacts: Vec<Contact> = item
        .authors
        .iter()
        .map(|a| {
            let (name, email) = model::split_author(a);
            Contact { name, email }
        })
        .collect();
    let (authors, author) = match version {
        Version::V1_6 => ((!contacts.is_empty()).then_some(contacts), None),
        Version::V1_5 => (
            None,
            (!item.authors.is_empty()).then(|| item.authors.join(", ")),
        ),
    };
    Component {
        kind,
        bom_ref: &item.bom_ref,
        supplier: entity(item.supplier.clone()),
        authors,
        author,
        name: &item.name,
        version: &item.version,
        description: item.description.as_deref(),
        scope: Some("required"),
        hashes: sha(&item.sha256),
        licenses: item
            .licence
            .iter()
            .map(|licence| LicenceChoice {
                expression: licence.expression.clone(),
                acknowledgement: (version == Version::V1_6).then_some("declared"),
            })
            .collect(),
        copyright: item.copyright.as_deref(),
        purl: Some(&item.purl),
        external_references: references,
        properties: item_properties(item),
        components: Vec::new(),
    }
}

/// Where the supplier and the concluded licence came from (`docs/sbom.md`).
fn item_properties(item: &Item) -> Vec<Property> {
    let mut properties = Vec::new();
    if let Some(supplier) = &item.supplier {
        properties.push(Property {
            name: "cordon:supplier:rule",
            value: supplier.rule.name().to_owned(),
        });
    }
    if item.licence.is_some() {
        properties.push(Property {
            name: "cordon:licence:concluded",
            value: item
                .concluded
                .clone()
                .unwrap_or_else(|| "NOASSERTION".to_owned()),
        });
    }
    if let Some(stated) = crate::evidence::statements_explained(&item.licence_statements) {
        properties.push(Property {
            name: "cordon:licence:evidence",
            value: stated,
        });
    }
    if !item.licence_files.is_empty() {
        properties.push(Property {
            name: "cordon:licence:files",
            value: item.licence_files.join(", "),
        });
    }
    properties.push(Property {
        name: "cordon:copyright:origin",
        value: item.copyright_origin.explain(&item.licence_files),
    });
    properties
}

/// A toolchain component: `std` is required (linked), `rustc` excluded (a build tool).
fn toolchain_component<'a>(model: &'a Model, item: &'a Item, version: Version) -> Component<'a> {
    let part = item.toolchain.unwrap_or(ToolchainPart::Std);
    let (kind, scope) = match part {
        ToolchainPart::Rustc => ("application", "excluded"),
        ToolchainPart::Std => ("library", "required"),
    };
    let mut c = component(item, kind, version);
    c.scope = Some(scope);
    c.properties.extend(
        model
            .rustc
            .facts(part, &model.target)
            .into_iter()
            .map(|(name, value)| Property { name, value }),
    );
    c.properties.sort_by(|a, b| a.name.cmp(b.name));
    c
}

pub(crate) fn write(model: &Model, version: Version) -> Result<Vec<u8>, Error> {
    let mut binaries: Vec<Component<'_>> = model
        .binaries
        .iter()
        .map(|binary| {
            let mut c = component(&binary.item, "application", version);
            c.scope = None;
            c.hashes = vec![
                Hash {
                    alg: "SHA-256",
                    content: binary.sha256.clone(),
                },
                Hash {
                    alg: "SHA-512",
                    content: binary.sha512.clone(),
                },
            ];
            c.properties.extend([
                Property {
                    name: "bsi:component:filename",
                    value: binary.file_name.clone(),
                },
                Property {
                    name: "bsi:component:executable",
                    value: "executable".to_owned(),
                },
                Property {
                    name: "cdx:rustc:sbom:target:triple",
                    value: model.target.clone(),
                },
            ]);
            c.properties.sort_by(|a, b| a.name.cmp(b.name));
            c
        })
        .collect();
    // Archives are files of the release beside the binaries, with their digests.
    binaries.extend(model.archives.iter().map(|archive| {
        Component {
            kind: "file",
            bom_ref: &archive.bom_ref,
            supplier: None,
            authors: None,
            author: None,
            name: &archive.file_name,
            version: model
                .release
                .as_ref()
                .map_or("", |release| release.version.as_str()),
            description: Some("release archive of the binaries it lists as dependencies"),
            scope: None,
            hashes: vec![
                Hash {
                    alg: "SHA-256",
                    content: archive.sha256.clone(),
                },
                Hash {
                    alg: "SHA-512",
                    content: archive.sha512.clone(),
                },
            ],
            licenses: Vec::new(),
            copyright: None,
            purl: None,
            external_references: Vec::new(),
            properties: vec![
                Property {
                    name: "bsi:component:archive",
                    value: "archive".to_owned(),
                },
                Property {
                    name: "bsi:component:filename",
                    value: archive.file_name.clone(),
                },
                Property {
                    name: "bsi:component:structured",
                    value: "structured".to_owned(),
                },
            ],
            components: Vec::new(),
        }
    }));
    let primary = match &model.release {
        Some(release) => Component {
            kind: "application",
            bom_ref: &release.bom_ref,
            supplier: entity(model.supplier.clone()),
            authors: None,
            author: None,
            name: &release.name,
            version: &release.version,
            description: None,
            scope: None,
            hashes: Vec::new(),
            licenses: Vec::new(),
            copyright: None,
            purl: None,
            external_references: Vec::new(),
            properties: Vec::new(),
            components: binaries,
        },
        None => binaries.pop().ok_or(Error::NoBinaries)?,
    };
    let mut properties = vec![
        Property {
            name: "cordon:sbom:target",
            value: model.target.clone(),
        },
        Property {
            name: "cordon:sbom:features",
            value: model.features.join(","),
        },
        Property {
            name: "cordon:sbom:default-features",
            value: (!model.no_default_features).to_string(),
        },
        Property {
            name: "cordon:sbom:scope",
            value: "crates compiled and linked into the binary; build dependencies and proc-macros omitted".into(),
        },
    ];
    properties.sort_by(|a, b| a.name.cmp(b.name));
    // The creator's contact: CycloneDX 1.6 `manufacturer` (name, URL, e-mail); both
    // versions name it in `authors`, with its e-mail address when it has one.
    let authors = model
        .creator
        .iter()
        .map(|creator| Contact {
            name: creator.name.clone(),
            email: creator.emails.first().cloned(),
        })
        .collect();
    let manufacturer = match version {
        Version::V1_6 => model.creator.as_ref().map(organisation),
        Version::V1_5 => None,
    };
    let mut bom = Bom {
        schema: format!(
            "http://cyclonedx.org/schema/bom-{}.schema.json",
            version.spec()
        ),
        bom_format: "CycloneDX",
        spec_version: version.spec(),
        serial_number: String::new(),
        version: 1,
        metadata: Metadata {
            timestamp: &model.timestamp,
            lifecycles: vec![Lifecycle { phase: "build" }],
            tools: Tools {
                components: vec![ToolComponent {
                    kind: "application",
                    name: model::TOOL_NAME,
                    version: model::TOOL_VERSION,
                }],
            },
            authors,
            component: primary,
            manufacturer,
            supplier: entity(model.supplier.clone()),
            properties,
        },
        components: model
            .crates
            .iter()
            .map(|item| component(item, "library", version))
            .chain(
                model
                    .toolchain
                    .iter()
                    .map(|item| toolchain_component(model, item, version)),
            )
            .collect(),
        dependencies: model
            .dependencies
            .iter()
            .map(|(reference, depends_on)| Dependency {
                reference,
                depends_on,
            })
            .chain(model.archives.iter().map(|archive| Dependency {
                reference: &archive.bom_ref,
                depends_on: &archive.contains,
            }))
            .collect(),
        compositions: compositions(model),
    };
    let unnumbered = document_bytes::to_json_bytes(&bom)?;
    bom.serial_number = format!("urn:uuid:{}", document_bytes::content_uuid(&unnumbered));
    document_bytes::to_json_bytes(&bom)
}

/// Per component, how complete its `dependencies` entry is: a crate's list of crates is
/// exactly cargo's resolution (`complete`), except for a crate that links a native
/// library (`links`), which the document does not describe (`unknown`); a binary's list
/// is its crates and the Rust standard library (`complete`). `std`'s own parts and the
/// system libraries it links are not listed (`incomplete`), nor what `rustc` is made of
/// (`unknown`). Release and archive entries list exactly their binaries (`complete`).
fn compositions(model: &Model) -> Vec<Composition<'_>> {
    let mut complete: Vec<&str> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for item in &model.crates {
        if item.links.is_some() {
            unknown.push(&item.bom_ref);
        } else {
            complete.push(&item.bom_ref);
        }
    }
    complete.extend(model.release.iter().map(|release| release.bom_ref.as_str()));
    complete.extend(
        model
            .archives
            .iter()
            .map(|archive| archive.bom_ref.as_str()),
    );
    complete.extend(model.binaries.iter().map(|b| b.item.bom_ref.as_str()));
    let mut incomplete: Vec<&str> = Vec::new();
    for item in &model.toolchain {
        match item.toolchain {
            Some(ToolchainPart::Std) => incomplete.push(&item.bom_ref),
            _ => unknown.push(&item.bom_ref),
        }
    }
    [
        ("complete", complete),
        ("incomplete", incomplete),
        ("unknown", unknown),
    ]
    .into_iter()
    .filter(|(_, refs)| !refs.is_empty())
    .map(|(aggregate, mut dependencies)| {
        dependencies.sort_unstable();
        Composition {
            aggregate,
            dependencies,
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_filter() {
        assert!(is_url("https://github.com/o/r"));
        assert!(is_url("git+https://github.com/o/r@abc"));
        assert!(!is_url("github.com/o r"));
        assert!(!is_url("not a url"));
    }
}
