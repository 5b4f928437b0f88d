//! The exact crate set of binaries, from one `cargo metadata --all-features
//! --filter-platform T` (the graph of every feature) and
//! cargo's feature resolution evaluated over it ([`crate::features`]): resolver-2 feature
//! unification (weak features included), `cfg(...)` dependencies of other platforms left
//! out, dev-dependencies, build dependencies and proc-macros (which run on the host and
//! are not linked into the binary) left out. The same call gives each package's details.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, Package};

use crate::features::{self, Linked};
use crate::lock::Checksums;
use crate::purl::CrateSource;
use crate::toolchain::Toolchain;
use crate::{Binary, BinaryCrates, Build, Crate, Error, Resolution};

/// What cargo calls the host's target triple (`--filter-platform host-tuple`).
const HOST_TUPLE: &str = "host-tuple";

const CRATES_IO: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// A resolution plus what the documents need about each crate.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) resolution: Resolution,
    /// Parallel to `resolution.crates`.
    pub(crate) details: Vec<Details>,
    pub(crate) workspace_root: PathBuf,
    /// The toolchain that builds the binaries (`rustc -vV`, its sysroot).
    pub(crate) toolchain: Toolchain,
}

/// A crate's declared details, from `cargo metadata` and `Cargo.lock`.
#[derive(Debug, Clone)]
pub(crate) struct Details {
    pub(crate) authors: Vec<String>,
    pub(crate) description: Option<String>,
    pub(crate) license: Option<String>,
    pub(crate) homepage: Option<String>,
    pub(crate) repository: Option<String>,
    pub(crate) documentation: Option<String>,
    /// SHA-256 of the `.crate` file, from `Cargo.lock` (registry crates only).
    pub(crate) checksum: Option<String>,
    /// The path relative to the workspace root, for path dependencies.
    pub(crate) relative_path: Option<String>,
    /// The directory holding the crate's `Cargo.toml` (its unpacked sources).
    pub(crate) source_dir: PathBuf,
    /// The manifest's `license-file`, relative to `source_dir`.
    pub(crate) license_file: Option<PathBuf>,
    /// The manifest's `links`: the crate links a native library it does not describe.
    pub(crate) links: Option<String>,
}

pub(crate) fn resolve(build: &Build) -> Result<Resolved, Error> {
    if build.binaries.is_empty() {
        return Err(Error::NoBinaries);
    }
    // rustc is asked for its version and sysroot (the toolchain's components), the host
    // triple (unless a target is given) and the target's cfg
    // values (needed when a dependency names a platform) while cargo answers, from the
    // manifest's directory: two rustc start-ups off the critical path. cargo is given
    // `host-tuple` for the host; a cargo too old to know that name fails, and is asked
    // again with the triple. The cfg values are used only when the manifest's directory
    // is the workspace root (where they would be asked otherwise), else asked later.
    let manifest_dir = build
        .manifest_path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let (metadata, target_and_cfg) = std::thread::scope(|scope| {
        let rustc = scope.spawn(|| {
            let (toolchain, target, cfg) =
                Toolchain::query(&manifest_dir, build.target.as_deref())?;
            let cfg = cfg.and_then(|text| features::parse_cfg(&text));
            Ok::<_, Error>((target, cfg, toolchain))
        });
        let metadata = cargo_metadata(build, build.target.as_deref().unwrap_or(HOST_TUPLE));
        let target_and_cfg = rustc.join().unwrap_or_else(|_| {
            Err(Error::Tree {
                message: "the thread asking rustc for the target panicked".into(),
            })
        });
        (metadata, target_and_cfg)
    });
    let (target, prefetched_cfg, toolchain) = target_and_cfg?;
    let metadata = match metadata {
        Err(Error::UnknownTarget { .. }) if build.target.is_none() => {
            cargo_metadata(build, &target)?
        }
        other => other?,
    };
    let prefetched_cfg = Some(prefetched_cfg).filter(|_| {
        std::fs::canonicalize(&manifest_dir).ok().as_deref()
            == Some(metadata.workspace_root.as_std_path())
    });
    let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
    let checksums = Checksums::read(&workspace_root.join("Cargo.lock"))?;
    let binaries = check_binaries(&metadata, &build.binaries)?;
    let mut roots: Vec<usize> = Vec::new();
    for binary in &binaries {
        let root = metadata
            .packages
            .iter()
            .position(|package| {
                package.name.as_str() == binary.package
                    && metadata.workspace_members.contains(&package.id)
            })
            .ok_or_else(|| Error::UnknownPackage {
                package: binary.package.clone(),
                known: Vec::new(),
            })?;
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    let linked = features::resolve(
        &metadata,
        &target,
        &roots,
        &build.features,
        !build.no_default_features,
        prefetched_cfg,
    );
    let mut resolved = build_resolution(
        &metadata,
        &checksums,
        &workspace_root,
        &linked,
        target,
        &binaries,
    )?;
    resolved.toolchain = toolchain;
    Ok(resolved)
}

/// One `cargo metadata` for the target: the packages, their declared dependencies and
/// features, and the dependency graph (every feature's) without other platforms'
/// dependencies.
fn cargo_metadata(build: &Build, target: &str) -> Result<Metadata, Error> {
    MetadataCommand::new()
        .cargo_path(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .manifest_path(&build.manifest_path)
        // The graph of every feature: cargo leaves out the optional dependencies that
        // only features other than the default enable (`-F pcre2`), and which features
        // this build enables is decided over the whole graph by [`features::resolve`].
        .features(cargo_metadata::CargoOpt::AllFeatures)
        .other_options(vec![
            "--locked".to_owned(),
            "--filter-platform".to_owned(),
            target.to_owned(),
        ])
        .exec()
        .map_err(|error| metadata_error(&build.manifest_path, target, &error))
}

fn metadata_error(manifest: &Path, target: &str, error: &cargo_metadata::Error) -> Error {
    let text = error.to_string();
    if text.contains("target-specific information") || text.contains("--print=cfg") {
        return Error::UnknownTarget {
            target: target.to_owned(),
            message: text,
        };
    }
    if text.contains("lock file") && text.contains("--locked") {
        return Error::NoLockfile {
            path: manifest.with_file_name("Cargo.lock"),
        };
    }
    Error::Metadata {
        manifest: manifest.to_path_buf(),
        message: text,
    }
}

/// Each binary must be a `bin` target of a workspace member; an empty `bin` names the
/// package's only binary.
fn check_binaries(metadata: &Metadata, binaries: &[Binary]) -> Result<Vec<Binary>, Error> {
    let members: Vec<&Package> = metadata.workspace_packages();
    let mut checked = Vec::new();
    for binary in binaries {
        let Some(package) = members.iter().find(|p| p.name.as_str() == binary.package) else {
            let mut known: Vec<String> = members.iter().map(|p| p.name.to_string()).collect();
            known.sort();
            return Err(Error::UnknownPackage {
                package: binary.package.clone(),
                known,
            });
        };
        let bins: Vec<String> = package
            .targets
            .iter()
            .filter(|t| t.is_bin())
            .map(|t| t.name.clone())
            .collect();
        let bin = match (binary.bin.as_str(), bins.as_slice()) {
            ("", [only]) => only.clone(),
            (name, _) if !name.is_empty() && bins.iter().any(|b| b == name) => name.to_owned(),
            ("", _) => {
                return Err(Error::WhichBinary {
                    package: binary.package.clone(),
                    known: bins,
                });
            }
            (name, _) => {
                return Err(Error::UnknownBinary {
                    package: binary.package.clone(),
                    bin: name.to_owned(),
                    known: bins,
                });
            }
        };
        checked.push(Binary {
            package: binary.package.clone(),
            bin,
        });
    }
    Ok(checked)
}

fn crate_source(package: &Package) -> CrateSource {
    let Some(source) = &package.source else {
        return CrateSource::Path;
    };
    let repr = source.repr.as_str();
    if CRATES_IO.contains(&repr) {
        return CrateSource::CratesIo;
    }
    if let Some(git) = repr.strip_prefix("git+") {
        let (location, rev) = git.split_once('#').unwrap_or((git, ""));
        let url = location.split_once('?').map_or(location, |(url, _)| url);
        return CrateSource::Git {
            url: url.to_owned(),
            rev: rev.to_owned(),
        };
    }
    CrateSource::Registry {
        url: repr.strip_prefix("registry+").unwrap_or(repr).to_owned(),
    }
}

fn build_resolution(
    metadata: &Metadata,
    checksums: &Checksums,
    workspace_root: &Path,
    linked: &Linked,
    target: String,
    binaries: &[Binary],
) -> Result<Resolved, Error> {
    let packages = &metadata.packages;
    let mut ids: BTreeMap<&str, &Package> = BTreeMap::new();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (&from, targets) in &linked.edges {
        let id = packages[from].id.repr.as_str();
        ids.insert(id, &packages[from]);
        edges
            .entry(id)
            .or_default()
            .extend(targets.iter().map(|&to| packages[to].id.repr.as_str()));
    }
    let roots: BTreeMap<&str, &str> = binaries
        .iter()
        .filter_map(|binary| {
            packages
                .iter()
                .find(|package| {
                    package.name.as_str() == binary.package
                        && metadata.workspace_members.contains(&package.id)
                })
                .map(|package| (package.name.as_str(), package.id.repr.as_str()))
        })
        .collect();

    // Crates sorted by (name, version, id): stable across runs and machines.
    let mut order: Vec<&Package> = ids.values().copied().collect();
    order.sort_by(|a, b| {
        (a.name.as_str(), &a.version, a.id.repr.as_str()).cmp(&(
            b.name.as_str(),
            &b.version,
            b.id.repr.as_str(),
        ))
    });
    let index: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.repr.as_str(), i))
        .collect();
    let mut crates = Vec::with_capacity(order.len());
    let mut details = Vec::with_capacity(order.len());
    for package in &order {
        let id = package.id.repr.as_str();
        let dependencies = edges
            .get(id)
            .map(|deps| deps.iter().filter_map(|d| index.get(d).copied()).collect())
            .unwrap_or_default();
        let mut dependencies: Vec<usize> = dependencies;
        dependencies.sort_unstable();
        crates.push(Crate {
            name: package.name.to_string(),
            version: package.version.to_string(),
            source: crate_source(package),
            dependencies,
        });
        details.push(package_details(package, checksums, workspace_root));
    }

    let mut binaries_out = Vec::new();
    for binary in binaries {
        let root = roots
            .get(binary.package.as_str())
            .and_then(|id| index.get(id).copied())
            .ok_or_else(|| Error::Tree {
                message: format!(
                    "the feature resolution did not reach package {}",
                    binary.package
                ),
            })?;
        let mut seen = BTreeSet::from([root]);
        let mut todo = vec![root];
        while let Some(next) = todo.pop() {
            for &dependency in crates
                .get(next)
                .map(|c| c.dependencies.as_slice())
                .unwrap_or_default()
            {
                if seen.insert(dependency) {
                    todo.push(dependency);
                }
            }
        }
        binaries_out.push(BinaryCrates {
            package: binary.package.clone(),
            bin: binary.bin.clone(),
            root,
            crates: seen.into_iter().collect(),
        });
    }
    Ok(Resolved {
        resolution: Resolution {
            target,
            crates,
            binaries: binaries_out,
        },
        details,
        workspace_root: workspace_root.to_path_buf(),
        toolchain: Toolchain::default(),
    })
}

fn package_details(package: &Package, checksums: &Checksums, root: &Path) -> Details {
    let checksum = package.source.as_ref().and_then(|source| {
        checksums
            .get(
                package.name.as_str(),
                &package.version.to_string(),
                &source.repr,
            )
            .map(str::to_owned)
    });
    let relative_path = match &package.source {
        None => package.manifest_path.parent().map(|dir| {
            dir.as_std_path().strip_prefix(root).map_or_else(
                |_| dir.to_string(),
                |rel| rel.to_string_lossy().into_owned(),
            )
        }),
        Some(_) => None,
    };
    let clean = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Details {
        authors: package
            .authors
            .iter()
            .map(|author| author.trim())
            .filter(|author| !author.is_empty())
            .map(str::to_owned)
            .collect(),
        description: clean(&package.description)
            .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")),
        license: clean(&package.license),
        homepage: clean(&package.homepage),
        repository: clean(&package.repository),
        documentation: clean(&package.documentation),
        checksum,
        relative_path,
        source_dir: package
            .manifest_path
            .parent()
            .map_or_else(PathBuf::new, |dir| dir.as_std_path().to_path_buf()),
        license_file: package
            .license_file
            .as_ref()
            .map(|file| file.as_std_path().to_path_buf()),
        links: package.links.clone(),
    }
}
