//! SPDX 2.3 JSON, as serde types of just the fields cordon fills.
//!
//! `documentDescribes` names the binaries (or, for several binaries, the release package,
//! which `CONTAINS` them). Each binary package carries the SHA-256 and SHA-512 of the
//! built file. Every linked crate is a package; `DEPENDS_ON` relationships are the edges
//! cargo resolves for the target. The toolchain ([`crate::toolchain`]): every binary
//! `DEPENDS_ON` the `std` package, and the `rustc` package is `BUILD_TOOL_OF` each binary;
//! both carry an `OTHER` external reference of type `cordon:toolchain` and `rustc -vV`'s
//! facts in their comment. Element ids are sanitised (`serde_json` becomes
//! `SPDXRef-Package-serde-json-1.0.145`). A declared licence that names a `LicenseRef-`
//! becomes `NOASSERTION` here, since cargo does not give us the text SPDX 2.3 needs for
//! it.

use serde::Serialize;

use crate::Error;
use crate::document_bytes;
use crate::model::{self, Item, Model, Supplier};
use crate::purl::CrateSource;
use cordon_format::toolchain::{MARKER, ToolchainPart};

const NOASSERTION: &str = "NOASSERTION";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    document_describes: Vec<&'a str>,
    packages: Vec<Package<'a>>,
    relationships: Vec<Relationship<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    name: &'a str,
    version_info: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_file_name: Option<&'a str>,
    supplier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    originator: Option<String>,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage: Option<&'a str>,
    license_concluded: String,
    license_declared: String,
    copyright_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
    primary_package_purpose: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship<'a> {
    spdx_element_id: &'a str,
    relationship_type: &'static str,
    related_spdx_element: &'a str,
}

/// SPDX text fields must not be blank; `Organization: ` values must not contain newlines.
fn actor(kind: &str, name: &str) -> String {
    let name: String = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        NOASSERTION.to_owned()
    } else {
        format!("{kind}: {name}")
    }
}

/// `Organization: name (mail)`, or `NOASSERTION` without a supplier.
fn supplier_field(supplier: Option<&Supplier>) -> String {
    supplier.map_or_else(
        || NOASSERTION.to_owned(),
        |s| {
            let name = actor("Organization", &s.name);
            match s.emails.first() {
                Some(mail) if name != NOASSERTION => format!("{name} ({mail})"),
                _ => name,
            }
        },
    )
}

/// The declared and concluded licences as SPDX 2.3 can state them: an expression naming
/// a `LicenseRef-` would need its text in the document, so it is `NOASSERTION`.
fn licences(item: &Item) -> (String, String) {
    let usable = item
        .licence
        .as_ref()
        .filter(|licence| !licence.has_licence_ref);
    let declared = usable.map_or_else(|| NOASSERTION.to_owned(), |l| l.expression.clone());
    let concluded = usable
        .and(item.concluded.clone())
        .unwrap_or_else(|| NOASSERTION.to_owned());
    (declared, concluded)
}

/// Where the supplier, the concluded licence and the copyright text came from.
fn provenance_comment(item: &Item) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(supplier) = &item.supplier {
        parts.push(supplier.rule.explain().to_owned());
    }
    if item.licence.is_some() {
        let stated = crate::evidence::statements_explained(&item.licence_statements);
        parts.push(match (&item.concluded, stated, item.licence_files.is_empty()) {
            (Some(_), Some(stated), _) => stated,
            (Some(_), None, _) => format!(
                "concluded licence: the declared expression, every licence of it found in {}",
                item.licence_files.join(", ")
            ),
            (None, _, true) => {
                "concluded licence: NOASSERTION, the crate has no licence file and its files do not state every licence of the declared expression".to_owned()
            }
            (None, _, false) => format!(
                "concluded licence: NOASSERTION, {} do not carry every licence of the declared expression and the crate's files do not state the others",
                item.licence_files.join(", ")
            ),
        });
    }
    parts.push(item.copyright_origin.explain(&item.licence_files));
    Some(parts.join("; "))
}

fn package<'a>(item: &'a Item, purpose: &'static str) -> Package<'a> {
    let supplier = supplier_field(item.supplier.as_ref());
    let (licence_declared, licence_concluded) = licences(item);
    let download_location = download_location(&item.source, item.download.as_deref());
    Package {
        spdx_id: &item.spdx_id,
        name: &item.name,
        version_info: &item.version,
        package_file_name: None,
        supplier,
        originator: None,
        download_location,
        files_analyzed: false,
        checksums: item
            .sha256
            .iter()
            .map(|sum| Checksum {
                algorithm: "SHA256",
                checksum_value: sum.clone(),
            })
            .collect(),
        homepage: item
            .homepage
            .as_deref()
            .or(item.repository.as_deref())
            .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
            .filter(|url| !url.contains(char::is_whitespace)),
        license_concluded: licence_concluded,
        license_declared: licence_declared,
        copyright_text: crate::notices::spdx_text(
            item.copyright.as_deref(),
            &item.copyright_origin,
        ),
        description: item.description.as_deref(),
        comment: provenance_comment(item),
        external_refs: vec![ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: &item.purl,
        }],
        primary_package_purpose: purpose,
    }
}

/// A toolchain package: the marker reference beside the purl, `rustc -vV`'s facts in
/// the comment.
fn toolchain_package<'a>(model: &Model, item: &'a Item) -> Package<'a> {
    let part = item.toolchain.unwrap_or(ToolchainPart::Std);
    let mut p = package(
        item,
        match part {
            ToolchainPart::Rustc => "APPLICATION",
            ToolchainPart::Std => "LIBRARY",
        },
    );
    p.external_refs.push(ExternalRef {
        reference_category: "OTHER",
        reference_type: MARKER,
        reference_locator: part.name(),
    });
    p.comment = Some(
        model
            .rustc
            .spdx_comment(part, &model.target, &p.comment.unwrap_or_default()),
    );
    p
}

/// SPDX download locations are network URLs (`git+https://host/...@rev` for git): a git
/// dependency from a local path or another scheme is `NOASSERTION` (its purl still says
/// where it came from).
fn download_location(source: &CrateSource, download: Option<&str>) -> String {
    match (source, download) {
        (CrateSource::Path, _) | (_, None) => NOASSERTION.to_owned(),
        (CrateSource::Git { url, .. }, Some(location)) => {
            if ["https://", "http://", "ssh://", "git://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
            {
                location.to_owned()
            } else {
                NOASSERTION.to_owned()
            }
        }
        (_, Some(location)) => location.to_owned(),
    }
}

pub(crate) fn write(model: &Model) -> Result<Vec<u8>, Error> {
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    let mut spdx_of = std::collections::BTreeMap::new();
    let describes: Vec<&str>;
    let name;
    // The release and its archives carry the first binary's package's licences and
    // copyright (the binaries of one release come from one workspace).
    let first = model.binaries.first().map(|binary| &binary.item);
    let (release_declared, release_concluded) = first.map_or_else(
        || (NOASSERTION.to_owned(), NOASSERTION.to_owned()),
        licences,
    );
    let release_copyright = first.map_or_else(
        || NOASSERTION.to_owned(),
        |item| crate::notices::spdx_text(item.copyright.as_deref(), &item.copyright_origin),
    );
    if let Some(release) = &model.release {
        packages.push(Package {
            spdx_id: &release.spdx_id,
            name: &release.name,
            version_info: &release.version,
            package_file_name: None,
            supplier: supplier_field(model.supplier.as_ref()),
            originator: None,
            download_location: NOASSERTION.to_owned(),
            files_analyzed: false,
            checksums: Vec::new(),
            homepage: None,
            license_concluded: release_concluded.clone(),
            license_declared: release_declared.clone(),
            copyright_text: release_copyright.clone(),
            description: None,
            comment: first.and_then(provenance_comment),
            external_refs: Vec::new(),
            primary_package_purpose: "APPLICATION",
        });
        spdx_of.insert(release.bom_ref.as_str(), release.spdx_id.as_str());
        describes = vec![release.spdx_id.as_str()];
        name = format!("{}-{}", release.name, release.version);
    } else {
        describes = model
            .binaries
            .iter()
            .map(|b| b.item.spdx_id.as_str())
            .collect();
        name = model
            .binaries
            .first()
            .map(|b| format!("{}-{}", b.item.name, b.item.version))
            .unwrap_or_default();
    }
    for binary in &model.binaries {
        let mut p = package(&binary.item, "APPLICATION");
        p.package_file_name = Some(&binary.file_name);
        p.download_location = NOASSERTION.to_owned();
        p.checksums = vec![
            Checksum {
                algorithm: "SHA256",
                checksum_value: binary.sha256.clone(),
            },
            Checksum {
                algorithm: "SHA512",
                checksum_value: binary.sha512.clone(),
            },
        ];
        packages.push(p);
        spdx_of.insert(binary.item.bom_ref.as_str(), binary.item.spdx_id.as_str());
    }
    for item in &model.crates {
        packages.push(package(item, "LIBRARY"));
        spdx_of.insert(item.bom_ref.as_str(), item.spdx_id.as_str());
    }
    for item in &model.toolchain {
        packages.push(toolchain_package(model, item));
        spdx_of.insert(item.bom_ref.as_str(), item.spdx_id.as_str());
    }
    // Archives: files of the release that contain binaries.
    let version = model
        .release
        .as_ref()
        .map_or("", |release| release.version.as_str());
    for archive in &model.archives {
        packages.push(Package {
            spdx_id: &archive.spdx_id,
            name: &archive.file_name,
            version_info: version,
            package_file_name: Some(&archive.file_name),
            supplier: supplier_field(model.supplier.as_ref()),
            originator: None,
            download_location: NOASSERTION.to_owned(),
            files_analyzed: false,
            checksums: vec![
                Checksum {
                    algorithm: "SHA256",
                    checksum_value: archive.sha256.clone(),
                },
                Checksum {
                    algorithm: "SHA512",
                    checksum_value: archive.sha512.clone(),
                },
            ],
            homepage: None,
            license_concluded: release_concluded.clone(),
            license_declared: release_declared.clone(),
            copyright_text: release_copyright.clone(),
            description: None,
            comment: None,
            external_refs: Vec::new(),
            primary_package_purpose: "ARCHIVE",
        });
    }
    for id in &describes {
        relationships.push(Relationship {
            spdx_element_id: "SPDXRef-DOCUMENT",
            relationship_type: "DESCRIBES",
            related_spdx_element: id,
        });
    }
    for (from, targets) in &model.dependencies {
        let Some(from_id) = spdx_of.get(from.as_str()).copied() else {
            continue;
        };
        let kind = if model.release.as_ref().is_some_and(|r| &r.bom_ref == from) {
            "CONTAINS"
        } else {
            "DEPENDS_ON"
        };
        for target in targets {
            if let Some(to) = spdx_of.get(target.as_str()).copied() {
                relationships.push(Relationship {
                    spdx_element_id: from_id,
                    relationship_type: kind,
                    related_spdx_element: to,
                });
            }
        }
    }
    // Dependency completeness, the SPDX 2.3 way: a crate without dependencies
    // `DEPENDS_ON NONE`; one that links a native library the document does not describe,
    // and the toolchain's packages (std's parts and system libraries, what rustc is made
    // of), `DEPENDS_ON NOASSERTION`. A binary's list (its crates and std) is complete.
    for item in &model.toolchain {
        relationships.push(Relationship {
            spdx_element_id: &item.spdx_id,
            relationship_type: "DEPENDS_ON",
            related_spdx_element: NOASSERTION,
        });
        if item.toolchain == Some(ToolchainPart::Rustc) {
            for binary in &model.binaries {
                relationships.push(Relationship {
                    spdx_element_id: &item.spdx_id,
                    relationship_type: "BUILD_TOOL_OF",
                    related_spdx_element: &binary.item.spdx_id,
                });
            }
        }
    }
    for item in &model.crates {
        let leaf = model
            .dependencies
            .get(&item.bom_ref)
            .is_none_or(Vec::is_empty);
        let target = if item.links.is_some() {
            NOASSERTION
        } else if leaf {
            "NONE"
        } else {
            continue;
        };
        relationships.push(Relationship {
            spdx_element_id: &item.spdx_id,
            relationship_type: "DEPENDS_ON",
            related_spdx_element: target,
        });
    }
    for archive in &model.archives {
        if let Some(release) = &model.release {
            relationships.push(Relationship {
                spdx_element_id: &release.spdx_id,
                relationship_type: "CONTAINS",
                related_spdx_element: &archive.spdx_id,
            });
        }
        for binary in &archive.contains {
            if let Some(to) = spdx_of.get(binary.as_str()).copied() {
                relationships.push(Relationship {
                    spdx_element_id: &archive.spdx_id,
                    relationship_type: "CONTAINS",
                    related_spdx_element: to,
                });
            }
        }
    }
    let mut creators = vec![format!(
        "Tool: {}-{}",
        model::TOOL_NAME,
        model::TOOL_VERSION
    )];
    if let Some(creator) = &model.creator {
        creators.push(supplier_field(Some(creator)));
    }
    let mut document = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: name.clone(),
        document_namespace: String::new(),
        creation_info: CreationInfo {
            created: model.timestamp.clone(),
            creators,
            comment: format!(
                "SBOM type: build (made from the build's own resolution and the built files). Crates compiled and linked into the binaries for target {} (features: {}{}); build dependencies and proc-macros are not part of the binaries and are omitted.",
                model.target,
                if model.features.is_empty() {
                    "none".to_owned()
                } else {
                    model.features.join(",")
                },
                if model.no_default_features {
                    ", no default features"
                } else {
                    ", default features"
                },
            ),
        },
        document_describes: describes,
        packages,
        relationships,
    };
    let unnamed = document_bytes::to_json_bytes(&document)?;
    let safe = model::spdx_safe(&name);
    document.document_namespace = format!(
        "https://spdx.org/spdxdocs/{safe}-{}",
        document_bytes::content_uuid(&unnamed)
    );
    document_bytes::to_json_bytes(&document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_download_locations_need_a_network_url() {
        let git = |url: &str| CrateSource::Git {
            url: url.into(),
            rev: "abc".into(),
        };
        assert_eq!(
            download_location(
                &git("https://github.com/o/r"),
                Some("git+https://github.com/o/r@abc")
            ),
            "git+https://github.com/o/r@abc"
        );
        assert_eq!(
            download_location(&git("file:///tmp/r"), Some("git+file:///tmp/r@abc")),
            NOASSERTION
        );
        assert_eq!(download_location(&CrateSource::Path, None), NOASSERTION);
    }
}
