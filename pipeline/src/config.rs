//! What the caller decides ([`Config`]) and what the workspace declares: the
//! `[workspace.metadata.cordon]` table of the root `Cargo.toml`, read strictly (every
//! error names the key) into a [`Product`] with defaults from the workspace.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::ErrorKind;
use crate::keyless::{KeylessRequest, KeylessSigning};
use crate::model::{ArchiveFormat, Identity, Prebuilt, Product, Shipped};

/// cordon's SLSA build type: a release made by this pipeline (see cordon's
/// `docs/slsa.md`). The default `build-type`: it says what `externalParameters` hold,
/// which is this crate's format whatever the product.
pub const DEFAULT_BUILD_TYPE: &str = cordon_release::BUILD_TYPE;
/// The default `builder-id` of a release run outside a recognised CI workflow (SLSA
/// Build L1 at most).
pub const DEFAULT_LOCAL_BUILDER_ID: &str = cordon_release::LOCAL_BUILDER_ID;

/// How one release runs: the caller's choices. What is released comes from the
/// workspace's `Cargo.toml` ([`Product`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The workspace root (the directory of the root `Cargo.toml`, a git checkout).
    pub workspace_root: PathBuf,
    /// Where release directories go (`<dist>/<version>/`).
    pub dist: PathBuf,
    /// Replace an existing release of the same version.
    pub force: bool,
    /// Release from a worktree with uncommitted changes (recorded).
    pub allow_dirty: bool,
    /// The trust material to sign with.
    pub trust: TrustSource,
    /// Overrides the table's `identity`.
    pub identity: Option<Identity>,
    /// A RustSec advisory-db clone to check the crate set against.
    pub advisory_db: Option<PathBuf>,
    /// A VEX document to ship instead of the table's `vex`.
    pub vex: Option<PathBuf>,
    /// Take the binaries of a build job instead of building.
    pub prebuilt: Option<Prebuilt>,
    /// The command line that started the release, recorded in the provenance.
    pub command: Vec<String>,
    /// Sign keyless too, these fields overriding the table's `keyless` (`None`: as the
    /// table says).
    pub keyless: Option<KeylessRequest>,
    /// How to sign keyless; required when the table or [`Config::keyless`] asks for it.
    pub keyless_signing: Option<Arc<dyn KeylessSigning>>,
}

impl Config {
    /// A configuration with the defaults: `<root>/dist`, the workspace's trust
    /// directory or a development root at `development_trust`, nothing forced.
    pub fn new(workspace_root: impl Into<PathBuf>, development_trust: impl Into<PathBuf>) -> Self {
        let workspace_root = workspace_root.into();
        Config {
            dist: workspace_root.join("dist"),
            workspace_root,
            force: false,
            allow_dirty: false,
            trust: TrustSource::Workspace {
                development: development_trust.into(),
            },
            identity: None,
            advisory_db: None,
            vex: None,
            prebuilt: None,
            command: Vec::new(),
            keyless: None,
            keyless_signing: None,
        }
    }
}

/// Which trust directory signs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustSource {
    /// This trust directory.
    Dir(PathBuf),
    /// The table's `trust-dir` when set, else the development root at `development`
    /// (created on first use, labelled NOT FOR RELEASE in every certificate).
    Workspace {
        /// Where the development root lives.
        development: PathBuf,
    },
}

/// The workspace facts the table's defaults come from.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    /// Every binary of every publishable package, sorted by name.
    pub(crate) binaries: Vec<Shipped>,
    /// The root package's name, if the root manifest has a `[package]`.
    pub(crate) root_package: Option<String>,
    /// The first publishable package's `repository`.
    pub(crate) repository: Option<String>,
}

const KEYS: [&str; 14] = [
    "product",
    "binaries",
    "features",
    "default-features",
    "archives",
    "include",
    "repository",
    "sbom-contact",
    "identity",
    "trust-dir",
    "build-type",
    "builder-id",
    "keyless",
    "vex",
];

/// Reads `table` (the value of `[workspace.metadata.cordon]`, `Null` when absent) of
/// `manifest` into a [`Product`].
pub(crate) fn product(
    manifest: &Path,
    root: &Path,
    table: &Value,
    defaults: &Defaults,
) -> Result<Product, ErrorKind> {
    let empty = Map::new();
    let table = match table {
        Value::Null => &empty,
        Value::Object(map) => map,
        _ => return Err(config_error(manifest, "", "must be a table")),
    };
    if let Some(unknown) = table.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(config_error(
            manifest,
            unknown,
            &format!("unknown key; the keys are {}", KEYS.join(", ")),
        ));
    }
    let text = |key: &str| -> Result<Option<String>, ErrorKind> {
        match table.get(key) {
            None => Ok(None),
            Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.clone())),
            Some(_) => Err(config_error(manifest, key, "must be a non-empty string")),
        }
    };
    let list = |key: &str| -> Result<Option<Vec<String>>, ErrorKind> {
        match table.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) if !text.is_empty() => Ok(text.clone()),
                    _ => Err(config_error(
                        manifest,
                        key,
                        "must be a list of non-empty strings",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(config_error(manifest, key, "must be a list of strings")),
        }
    };

    let binaries = match list("binaries")? {
        None => defaults.binaries.clone(),
        Some(names) => {
            let mut chosen = Vec::new();
            for name in names {
                let Some(binary) = defaults.binaries.iter().find(|binary| binary.bin == name)
                else {
                    let known: Vec<&str> =
                        defaults.binaries.iter().map(|b| b.bin.as_str()).collect();
                    return Err(config_error(
                        manifest,
                        "binaries",
                        &format!(
                            "`{name}` is not a binary of a publishable workspace package; \
                             those are: {}",
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                };
                if !chosen.contains(binary) {
                    chosen.push(binary.clone());
                }
            }
            chosen.sort_by(|a: &Shipped, b| a.bin.cmp(&b.bin));
            chosen
        }
    };
    if binaries.is_empty() {
        return Err(config_error(
            manifest,
            "binaries",
            "nothing ships: no publishable workspace package has a binary target \
             (`publish = false` marks tools)",
        ));
    }

    let name = match text("product")? {
        Some(name) => name,
        None => match (&defaults.root_package, packages_of(&binaries).as_slice()) {
            (Some(root_package), _) => root_package.clone(),
            (None, [only]) => (*only).to_owned(),
            (None, many) => {
                return Err(config_error(
                    manifest,
                    "product",
                    &format!(
                        "not set, and the binaries come from several packages ({}): name \
                         the product",
                        many.join(", ")
                    ),
                ));
            }
        },
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || name.starts_with('.')
    {
        return Err(config_error(
            manifest,
            "product",
            &format!("{name:?} must be ASCII letters, digits, `-`, `_` or `.`: it names files"),
        ));
    }

    let archives = match list("archives")? {
        None => vec![ArchiveFormat::TarGz],
        Some(names) => {
            let mut formats = Vec::new();
            for format in names {
                match format.as_str() {
                    "tar.gz" => formats.push(ArchiveFormat::TarGz),
                    other => {
                        return Err(config_error(
                            manifest,
                            "archives",
                            &format!(
                                "unknown format {other:?}; supported: \"tar.gz\" (or [] for none)"
                            ),
                        ));
                    }
                }
            }
            formats.sort();
            formats.dedup();
            formats
        }
    };

    let include = match list("include")? {
        Some(paths) => {
            let mut files = Vec::new();
            for relative in paths {
                let path = Path::new(&relative);
                if path.is_absolute()
                    || path
                        .components()
                        .any(|part| matches!(part, std::path::Component::ParentDir))
                {
                    return Err(config_error(
                        manifest,
                        "include",
                        &format!(
                            "{relative:?} must be a path inside the workspace, relative to it"
                        ),
                    ));
                }
                if !root.join(path).is_file() {
                    return Err(config_error(
                        manifest,
                        "include",
                        &format!("{} is not a file", root.join(path).display()),
                    ));
                }
                files.push(path.to_owned());
            }
            files
        }
        None => default_include(root),
    };
    let mut names: Vec<String> = include
        .iter()
        .filter_map(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .collect();
    names.extend(binaries.iter().map(|binary| binary.bin.clone()));
    names.sort();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(config_error(
            manifest,
            "include",
            &format!("two archive entries are named {:?}", pair[0]),
        ));
    }

    let repository = match text("repository")? {
        Some(url) if !url.starts_with("https://") => {
            return Err(config_error(
                manifest,
                "repository",
                &format!("{url:?} must be an https:// URL"),
            ));
        }
        Some(url) => Some(url),
        None => defaults.repository.clone(),
    };

    let identity = match table.get("identity") {
        None => Identity {
            subject: format!("https://{name}.invalid/local-release"),
            issuer: format!("https://{name}.invalid/local-oidc"),
        },
        Some(Value::Object(fields)) => {
            if let Some(unknown) = fields
                .keys()
                .find(|key| *key != "subject" && *key != "issuer")
            {
                return Err(config_error(
                    manifest,
                    &format!("identity.{unknown}"),
                    "unknown key; the keys are subject, issuer",
                ));
            }
            let field = |key: &str| match fields.get(key) {
                Some(Value::String(uri)) if uri.contains("://") => Ok(uri.clone()),
                _ => Err(config_error(
                    manifest,
                    &format!("identity.{key}"),
                    "must be a URI string",
                )),
            };
            Identity {
                subject: field("subject")?,
                issuer: field("issuer")?,
            }
        }
        Some(_) => {
            return Err(config_error(
                manifest,
                "identity",
                "must be a table { subject = \"URI\", issuer = \"URI\" }",
            ));
        }
    };

    let uri = |key: &str, default: &str| -> Result<String, ErrorKind> {
        match text(key)? {
            Some(uri) if !uri.contains("://") => Err(config_error(
                manifest,
                key,
                &format!("{uri:?} must be a URI"),
            )),
            Some(uri) => Ok(uri),
            None => Ok(default.to_owned()),
        }
    };
    let sbom_contact = match text("sbom-contact")? {
        Some(contact) if !is_contact(&contact) => {
            return Err(config_error(
                manifest,
                "sbom-contact",
                &format!(
                    "{contact:?} must be an e-mail address (`Name <mail@host>` or \
                     `mail@host`) or an https:// URL: BSI TR-03183-2 asks for one of them"
                ),
            ));
        }
        Some(contact) => Some(contact),
        None => repository.clone(),
    };
    Ok(Product {
        binaries,
        archives,
        include,
        repository,
        sbom_contact,
        identity,
        trust_dir: text("trust-dir")?.map(|dir| root.join(dir)),
        build_type: uri("build-type", DEFAULT_BUILD_TYPE)?,
        local_builder_id: uri("builder-id", DEFAULT_LOCAL_BUILDER_ID)?,
        keyless: crate::keyless::settings(manifest, root, table.get("keyless"))?,
        vex: crate::vex::setting(manifest, root, table.get("vex"))?,
        features: crate::features::read(manifest, table)?,
        name,
    })
}

/// `https://...`, `mail@host.tld` or `Name <mail@host.tld>`.
fn is_contact(text: &str) -> bool {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("https://") {
        return !rest.is_empty() && !text.contains(char::is_whitespace);
    }
    let mail = match text.rsplit_once('<') {
        Some((_, rest)) => match rest.strip_suffix('>') {
            Some(mail) => mail,
            None => return false,
        },
        None => text,
    };
    mail.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !mail.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ','))
    })
}

fn packages_of(binaries: &[Shipped]) -> Vec<&str> {
    let mut packages: Vec<&str> = binaries
        .iter()
        .map(|binary| binary.package.as_str())
        .collect();
    packages.sort_unstable();
    packages.dedup();
    packages
}

/// The licence files and the README at the workspace root, sorted.
fn default_include(root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            let upper = name.to_ascii_uppercase();
            ["LICENSE", "LICENCE", "COPYING", "NOTICE", "README"]
                .iter()
                .any(|prefix| upper.starts_with(prefix))
        })
        .map(PathBuf::from)
        .collect();
    found.sort();
    found
}

fn config_error(manifest: &Path, key: &str, problem: &str) -> ErrorKind {
    ErrorKind::Config {
        file: manifest.to_owned(),
        key: key.to_owned(),
        problem: problem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> Defaults {
        Defaults {
            binaries: vec![
                Shipped {
                    package: "a".into(),
                    bin: "a".into(),
                },
                Shipped {
                    package: "b".into(),
                    bin: "b-tool".into(),
                },
            ],
            root_package: None,
            repository: Some("https://example.invalid/r".into()),
        }
    }

    fn read(table: &Value) -> Result<Product, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("LICENSE"), "x").unwrap();
        std::fs::write(dir.path().join("README.md"), "x").unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("docs/a"), "x").unwrap();
        product(
            &dir.path().join("Cargo.toml"),
            dir.path(),
            table,
            &defaults(),
        )
        .map_err(|error| error.to_string())
    }

    #[test]
    fn defaults_come_from_the_workspace() {
        let product = read(&json!({"product": "p"})).unwrap();
        assert_eq!(product.binaries, defaults().binaries);
        assert_eq!(product.archives, [ArchiveFormat::TarGz]);
        assert_eq!(
            product.include,
            [PathBuf::from("LICENSE"), PathBuf::from("README.md")]
        );
        assert_eq!(
            product.repository.as_deref(),
            Some("https://example.invalid/r")
        );
        assert_eq!(product.identity.subject, "https://p.invalid/local-release");
        assert_eq!(product.build_type, DEFAULT_BUILD_TYPE);
        // The SBOM contact defaults to the repository.
        assert_eq!(
            product.sbom_contact.as_deref(),
            Some("https://example.invalid/r")
        );
        for contact in [
            "Team <team@example.org>",
            "team@example.org",
            "https://example.org/security",
        ] {
            let product = read(&json!({"product": "p", "sbom-contact": contact})).unwrap();
            assert_eq!(product.sbom_contact.as_deref(), Some(contact));
        }
    }

    #[test]
    fn every_error_names_its_key() {
        for (table, key) in [
            (json!({"produkt": "p"}), "produkt: unknown key"),
            (
                json!({"product": "p", "sbom-contact": "the team"}),
                "sbom-contact: \"the team\" must be an e-mail address",
            ),
            (
                json!({"product": "p", "sbom-contact": "http://example.org"}),
                "sbom-contact: \"http://example.org\" must be an e-mail address",
            ),
            (
                json!({}),
                "product: not set, and the binaries come from several packages (a, b)",
            ),
            (json!({"product": "a/b"}), "product: \"a/b\" must be"),
            (
                json!({"product": "p", "binaries": ["nope"]}),
                "binaries: `nope` is not a binary",
            ),
            (
                json!({"product": "p", "binaries": "a"}),
                "binaries: must be a list",
            ),
            (
                json!({"product": "p", "archives": ["zip"]}),
                "archives: unknown format \"zip\"",
            ),
            (
                json!({"product": "p", "include": ["../x"]}),
                "include: \"../x\" must be a path inside",
            ),
            (json!({"product": "p", "include": ["NOPE"]}), "include: "),
            (
                json!({"product": "p", "include": ["docs/a"]}),
                "include: two archive entries are named \"a\"",
            ),
            (
                json!({"product": "p", "repository": "git@x:y"}),
                "repository: \"git@x:y\" must be an https",
            ),
            (
                json!({"product": "p", "identity": {"subject": "x"}}),
                "identity.subject: must be a URI",
            ),
            (
                json!({"product": "p", "identity": {"subject": "https://a", "issuer": "https://b", "x": 1}}),
                "identity.x: unknown key",
            ),
            (
                json!({"product": "p", "build-type": "local"}),
                "build-type: \"local\" must be a URI",
            ),
        ] {
            let message = read(&table).unwrap_err();
            assert!(
                message.contains(&format!("[workspace.metadata.cordon] {key}")),
                "{table}: {message}"
            );
        }
    }

    #[test]
    fn chosen_binaries_are_a_subset() {
        let product = read(&json!({"product": "p", "binaries": ["b-tool", "b-tool"]})).unwrap();
        assert_eq!(
            product.binaries,
            [Shipped {
                package: "b".into(),
                bin: "b-tool".into()
            }]
        );
        let product = read(&json!({"product": "p", "archives": [], "include": []})).unwrap();
        assert!(product.archives.is_empty() && product.include.is_empty());
    }
}
