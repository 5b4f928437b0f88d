//! The format-neutral content of a document: who, what, when, and the graph. Both writers
//! render this, so CycloneDX and SPDX files always say the same thing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::crate_digests::CrateDigests;
use crate::early_evidence::EarlyEvidence;
use crate::evidence;
use crate::license::{self, Licence};
use crate::notices::CopyrightOrigin;
use crate::purl::{CrateSource, cargo_purl};
use crate::resolve::Resolved;
use crate::supplier;
pub(crate) use crate::supplier::Supplier;
use crate::toolchain::Toolchain;
use crate::{Build, Error, Options};
use cordon_format::toolchain::ToolchainPart;

/// The tool named in every document.
pub(crate) const TOOL_NAME: &str = "cordon-sbom";
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug)]
pub(crate) struct Model {
    /// RFC 3339, UTC, seconds.
    pub(crate) timestamp: String,
    pub(crate) target: String,
    pub(crate) features: Vec<String>,
    pub(crate) no_default_features: bool,
    /// The release, when the document describes more than one binary.
    pub(crate) release: Option<Release>,
    pub(crate) binaries: Vec<BinaryItem>,
    /// Crates that are not a binary's own package, sorted.
    pub(crate) crates: Vec<Item>,
    /// `(from, to)` references as item refs; every item (binaries included) has an entry.
    pub(crate) dependencies: BTreeMap<String, Vec<String>>,
    /// The supplier of the primary component.
    pub(crate) supplier: Option<Supplier>,
    /// The SBOM's creator, with a contact (`sbom-contact`, else the repository owner).
    pub(crate) creator: Option<Supplier>,
    /// The release's archives (only with a release).
    pub(crate) archives: Vec<ArchiveItem>,
    /// The toolchain's components: `rustc` (built the binaries) and `std` (linked into
    /// each; every binary's dependency list names it).
    pub(crate) toolchain: Vec<Item>,
    /// What `rustc -vV` said, for the toolchain components' properties.
    pub(crate) rustc: Toolchain,
}

/// An archive of the release, ready to render.
#[derive(Debug)]
pub(crate) struct ArchiveItem {
    pub(crate) bom_ref: String,
    pub(crate) spdx_id: String,
    pub(crate) file_name: String,
    pub(crate) sha256: String,
    pub(crate) sha512: String,
    /// The bom-refs of the binaries it holds.
    pub(crate) contains: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Release {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) bom_ref: String,
    pub(crate) spdx_id: String,
}

/// One crate, ready to render.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) bom_ref: String,
    pub(crate) spdx_id: String,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) purl: String,
    pub(crate) source: CrateSource,
    pub(crate) sha256: Option<String>,
    pub(crate) licence: Option<Licence>,
    pub(crate) authors: Vec<String>,
    pub(crate) description: Option<String>,
    pub(crate) homepage: Option<String>,
    pub(crate) repository: Option<String>,
    pub(crate) documentation: Option<String>,
    /// Where the exact source can be downloaded (`None`: unknown).
    pub(crate) download: Option<String>,
    /// By the rule of [`crate::supplier`]; `None` when no rule applies.
    pub(crate) supplier: Option<Supplier>,
    /// Copyright notices from the crate's own files ([`evidence`]).
    pub(crate) copyright: Option<String>,
    /// Where `copyright` came from, or why there is none.
    pub(crate) copyright_origin: CopyrightOrigin,
    /// The declared expression, when the crate's files carry it.
    pub(crate) concluded: Option<String>,
    /// (licence, file) for the licences of `concluded` known from a statement rather
    /// than a licence text ([`evidence::Conclusion`]).
    pub(crate) licence_statements: Vec<(String, String)>,
    /// The licence files read, relative to the crate's directory.
    pub(crate) licence_files: Vec<String>,
    /// The `.crate` archive: file name, SHA-256 and SHA-512 (from cargo's cache, after
    /// its SHA-256 matched `Cargo.lock`).
    pub(crate) crate_file: Option<evidence::CrateFile>,
    /// The crate links a native library (`links`) that the document does not describe,
    /// so its dependency list is not known to be complete.
    pub(crate) links: Option<String>,
    /// `Some` for the toolchain's components ([`crate::toolchain`]), `None` for crates.
    pub(crate) toolchain: Option<ToolchainPart>,
}

#[derive(Debug)]
pub(crate) struct BinaryItem {
    /// The binary's package, as an item; its `name` is the binary's name.
    pub(crate) item: Item,
    pub(crate) package: String,
    pub(crate) file_name: String,
    pub(crate) sha256: String,
    pub(crate) sha512: String,
}

impl Model {
    pub(crate) fn new(
        build: &Build,
        resolved: &Resolved,
        hashes: &[(String, String, PathBuf)],
        crate_digests: &CrateDigests,
        early_evidence: &EarlyEvidence,
        options: &Options,
    ) -> Result<Self, Error> {
        let timestamp = cordon_format::rfc3339(match options.timestamp {
            Some(seconds) => seconds,
            None => default_timestamp(&resolved.workspace_root)?,
        });
        let resolution = &resolved.resolution;

        // Refs: the purl, disambiguated when two crates share it (path crates).
        let mut purls: Vec<String> = resolution
            .crates
            .iter()
            .map(|c| cargo_purl(&c.name, &c.version, &c.source))
            .collect();
        let mut refs = purls.clone();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for purl in &purls {
            *seen.entry(purl.as_str()).or_default() += 1;
        }
        for (index, reference) in refs.iter_mut().enumerate() {
            if seen.get(reference.as_str()).copied().unwrap_or(0) > 1 {
                let extra = resolved.details[index]
                    .relative_path
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", resolution.crates[index].source));
                reference.push('#');
                reference.push_str(&extra);
            }
        }
        let mut spdx_ids = SpdxIds::default();
        let primary_repository = resolution
            .binaries
            .first()
            .and_then(|binary| resolved.details.get(binary.root))
            .and_then(|details| details.repository.clone());
        let creator = supplier::creator(options.contact.as_deref(), primary_repository.as_deref());
        // What each crate's own files say and its archive's SHA-512: file reading and
        // hashing, independent per crate, so spread over the cores.
        let found: Vec<(
            Option<Licence>,
            evidence::Evidence,
            Option<evidence::CrateFile>,
        )> = per_crate_in_parallel(resolution.crates.len(), |index| {
            let krate = &resolution.crates[index];
            let details = &resolved.details[index];
            let licence = details.license.as_deref().and_then(license::normalise);
            let parents: Vec<PathBuf> = match krate.source {
                CrateSource::Path => {
                    evidence::workspace_parents(&details.source_dir, &resolved.workspace_root)
                }
                _ => Vec::new(),
            };
            let found = early_evidence.gather(
                &details.source_dir,
                details.license_file.as_deref(),
                &parents,
                details.license.as_deref(),
                licence.as_ref(),
            );
            let crate_file = match (&krate.source, &details.checksum) {
                (CrateSource::CratesIo | CrateSource::Registry { .. }, Some(sha256)) => {
                    evidence::cached_crate(&details.source_dir)
                        .and_then(|path| match crate_digests.sha512(&path, sha256) {
                            Some(sha512) => Some(sha512.to_owned()),
                            None => evidence::crate_sha512(&path, sha256),
                        })
                        .map(|sha512| evidence::CrateFile {
                            file_name: format!("{}-{}.crate", krate.name, krate.version),
                            sha256: sha256.clone(),
                            sha512,
                        })
                }
                _ => None,
            };
            (licence, found, crate_file)
        });
        let items: Vec<Item> = resolution
            .crates
            .iter()
            .zip(found)
            .enumerate()
            .map(|(index, (krate, (licence, found, crate_file)))| {
                let details = &resolved.details[index];
                Item {
                    bom_ref: refs[index].clone(),
                    spdx_id: spdx_ids.assign(&format!("Package-{}-{}", krate.name, krate.version)),
                    name: krate.name.clone(),
                    version: krate.version.clone(),
                    purl: std::mem::take(&mut purls[index]),
                    source: krate.source.clone(),
                    sha256: details.checksum.clone(),
                    licence,
                    authors: details.authors.clone(),
                    description: details.description.clone(),
                    homepage: details.homepage.clone(),
                    repository: details.repository.clone(),
                    documentation: details.documentation.clone(),
                    download: download(&krate.name, &krate.version, &krate.source),
                    supplier: supplier::supplier(
                        &details.authors,
                        details.repository.as_deref(),
                        details.homepage.as_deref(),
                        &krate.source,
                        creator.as_ref(),
                    ),
                    copyright: found.copyright,
                    copyright_origin: found.copyright_origin,
                    concluded: found.concluded,
                    licence_statements: found.licence_statements,
                    licence_files: found.licence_files,
                    crate_file,
                    links: details.links.clone(),
                    toolchain: None,
                }
            })
            .collect();

        // Binaries replace their package's item.
        let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
        let mut binaries = Vec::new();
        let mut root_ref: BTreeMap<usize, String> = BTreeMap::new();
        for (binary, (sha256, sha512, path)) in resolution.binaries.iter().zip(hashes) {
            let (sha256, sha512) = (sha256.clone(), sha512.clone());
            let template = match items.get_mut(binary.root).and_then(Option::take) {
                Some(item) => item,
                None => {
                    // Two binaries of one package: copy the first one's package item.
                    let first: &BinaryItem = binaries
                        .iter()
                        .find(|b: &&BinaryItem| b.package == binary.package)
                        .ok_or_else(|| Error::Tree {
                            message: format!("package {} resolved twice", binary.package),
                        })?;
                    clone_item(&first.item)
                }
            };
            let mut item = template;
            item.bom_ref = format!("{}?bin={}", item.purl, binary.bin);
            item.spdx_id = spdx_ids.assign(&format!("Binary-{}-{}", binary.bin, item.version));
            item.name = binary.bin.clone();
            root_ref
                .entry(binary.root)
                .or_insert_with(|| item.bom_ref.clone());
            let file_name = path
                .file_name()
                .map_or_else(|| binary.bin.clone(), |n| n.to_string_lossy().into_owned());
            binaries.push(BinaryItem {
                item,
                package: binary.package.clone(),
                file_name,
                sha256,
                sha512,
            });
        }
        let ref_of = |index: usize| {
            root_ref
                .get(&index)
                .cloned()
                .unwrap_or_else(|| refs[index].clone())
        };
        let mut dependencies: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (index, krate) in resolution.crates.iter().enumerate() {
            let mut targets: Vec<String> = krate.dependencies.iter().map(|&d| ref_of(d)).collect();
            targets.sort();
            targets.dedup();
            if root_ref.contains_key(&index) {
                // Every binary of this package has the package's dependencies.
                for binary in binaries.iter().filter(|b| b.package == krate.name) {
                    dependencies.insert(binary.item.bom_ref.clone(), targets.clone());
                }
            } else {
                dependencies.insert(refs[index].clone(), targets);
            }
        }
        let toolchain = resolved.toolchain.items(&resolution.target);
        crate::toolchain::link(&toolchain, &binaries, &mut dependencies);
        let first = binaries.first().ok_or(Error::NoBinaries)?;
        let supplier = first.item.supplier.clone();
        let release =
            (binaries.len() > 1 || options.release_name.is_some() || !options.archives.is_empty())
                .then(|| {
                    let name = options
                        .release_name
                        .clone()
                        .unwrap_or_else(|| first.package.clone());
                    let version = options
                        .release_version
                        .clone()
                        .unwrap_or_else(|| first.item.version.clone());
                    Release {
                        bom_ref: format!("release:{name}@{version}"),
                        spdx_id: spdx_ids.assign(&format!("Release-{name}-{version}")),
                        name,
                        version,
                    }
                });
        if let Some(release) = &release {
            dependencies.insert(
                release.bom_ref.clone(),
                binaries.iter().map(|b| b.item.bom_ref.clone()).collect(),
            );
        }
        let mut archives = Vec::new();
        for archive in &options.archives {
            let mut contains = Vec::new();
            for name in &archive.binaries {
                let binary = binaries
                    .iter()
                    .find(|binary| binary.item.name == *name)
                    .ok_or_else(|| Error::UnknownBinary {
                        package: format!("archive {}", archive.file_name),
                        bin: name.clone(),
                        known: binaries.iter().map(|b| b.item.name.clone()).collect(),
                    })?;
                contains.push(binary.item.bom_ref.clone());
            }
            archives.push(ArchiveItem {
                bom_ref: format!("file:{}", archive.file_name),
                spdx_id: spdx_ids.assign(&format!("Archive-{}", archive.file_name)),
                file_name: archive.file_name.clone(),
                sha256: archive.sha256.clone(),
                sha512: archive.sha512.clone(),
                contains,
            });
        }
        Ok(Self {
            timestamp,
            target: resolution.target.clone(),
            features: build.features.clone(),
            no_default_features: build.no_default_features,
            release,
            binaries,
            crates: items.into_iter().flatten().collect(),
            dependencies,
            supplier,
            creator,
            archives,
            toolchain,
            rustc: resolved.toolchain.clone(),
        })
    }
}

fn clone_item(item: &Item) -> Item {
    Item {
        bom_ref: item.bom_ref.clone(),
        spdx_id: item.spdx_id.clone(),
        name: item.name.clone(),
        version: item.version.clone(),
        purl: item.purl.clone(),
        source: item.source.clone(),
        sha256: item.sha256.clone(),
        licence: item.licence.clone(),
        authors: item.authors.clone(),
        description: item.description.clone(),
        homepage: item.homepage.clone(),
        repository: item.repository.clone(),
        documentation: item.documentation.clone(),
        download: item.download.clone(),
        supplier: item.supplier.clone(),
        copyright: item.copyright.clone(),
        copyright_origin: item.copyright_origin.clone(),
        concluded: item.concluded.clone(),
        licence_statements: item.licence_statements.clone(),
        licence_files: item.licence_files.clone(),
        crate_file: item.crate_file.clone(),
        links: item.links.clone(),
        toolchain: item.toolchain,
    }
}

/// `"Name <mail>"` → (`Name`, `Some(mail)`). Anything in the brackets that is not an
/// e-mail address (some crates put a URL there) keeps the whole text as the name.
pub(crate) fn split_author(author: &str) -> (String, Option<String>) {
    let whole = || {
        (
            author.split_whitespace().collect::<Vec<_>>().join(" "),
            None,
        )
    };
    let Some((name, rest)) = author.split_once('<') else {
        return whole();
    };
    let mail = rest.trim_end().trim_end_matches('>').trim();
    if !is_email(mail) {
        return whole();
    }
    let name = name.trim();
    let name = if name.is_empty() { mail } else { name };
    (name.to_owned(), Some(mail.to_owned()))
}

/// A plausible e-mail address: `local@domain.tld`, no spaces, no URL.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.contains(|c: char| {
            c.is_whitespace() || matches!(c, '<' | '>' | '"' | ',' | ';' | '/' | ':')
        })
}

fn download(name: &str, version: &str, source: &CrateSource) -> Option<String> {
    match source {
        CrateSource::CratesIo => Some(format!(
            "https://crates.io/api/v1/crates/{name}/{version}/download"
        )),
        CrateSource::Git { url, rev } => Some(format!("git+{url}@{rev}")),
        CrateSource::Registry { .. } | CrateSource::Path => None,
    }
}

/// SPDX element ids: `SPDXRef-` + letters, digits, `.` and `-` only, unique.
/// `text` with every character SPDX identifiers and namespaces do not take (anything but
/// ASCII letters, digits, `.` and `-`) replaced by `-`.
pub(crate) fn spdx_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[derive(Debug, Default)]
struct SpdxIds {
    used: BTreeMap<String, usize>,
}

impl SpdxIds {
    fn assign(&mut self, wanted: &str) -> String {
        let clean = spdx_safe(wanted);
        let count = self.used.entry(clean.clone()).or_default();
        *count += 1;
        if *count == 1 {
            format!("SPDXRef-{clean}")
        } else {
            format!("SPDXRef-{clean}-{count}")
        }
    }
}

/// `work(0..count)` on up to as many threads as there are cores (at most 4), in index
/// order; each thread takes the next index when it is done with one.
fn per_crate_in_parallel<T: Send>(count: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 4)
        .min(count.max(1));
    if threads == 1 {
        return (0..count).map(work).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if index >= count {
                            return mine;
                        }
                        mine.push((index, work(index)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, value)| value).collect()
}

/// `SOURCE_DATE_EPOCH`, else the time of the workspace's HEAD commit.
fn default_timestamp(root: &Path) -> Result<i64, Error> {
    if let Some(value) = std::env::var_os("SOURCE_DATE_EPOCH") {
        let text = value.to_string_lossy();
        return text.trim().parse().map_err(|_| {
            Error::Timestamp(format!(
                "SOURCE_DATE_EPOCH=`{text}` is not a whole number of seconds"
            ))
        });
    }
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .map_err(|error| Error::Timestamp(format!("cannot run git: {error}")))?;
    if !output.status.success() {
        return Err(Error::Timestamp(format!(
            "`git log` in {} failed: {}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| Error::Timestamp("git printed no commit time".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_ids_are_sanitised_and_unique() {
        let mut ids = SpdxIds::default();
        assert_eq!(
            ids.assign("Package-serde_json-1.0.0"),
            "SPDXRef-Package-serde-json-1.0.0"
        );
        assert_eq!(
            ids.assign("Package-serde-json-1.0.0"),
            "SPDXRef-Package-serde-json-1.0.0-2"
        );
        assert_eq!(
            ids.assign("Package-a-1.0.0+build"),
            "SPDXRef-Package-a-1.0.0-build"
        );
    }

    #[test]
    fn splits_authors() {
        assert_eq!(
            split_author("A B <a@b.c>"),
            ("A B".into(), Some("a@b.c".into()))
        );
        assert_eq!(split_author("Team"), ("Team".into(), None));
        assert_eq!(
            split_author("<a@b.c>"),
            ("a@b.c".into(), Some("a@b.c".into()))
        );
    }
}
