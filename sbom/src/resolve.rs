//! The exact crate set of binaries, from cargo's own feature resolver.
//!
//! `cargo tree -e normal,no-proc-macro --target T` walks the dependency graph cargo
//! builds for the target: resolver-2 feature unification (weak features included),
//! `cfg(...)` dependencies of other platforms left out, dev-dependencies, build
//! dependencies and proc-macros (which run on the host and are not linked into the
//! binary) left out. `cargo metadata` is not used for membership: its resolve lists
//! optional dependencies named only through weak features (rust-lang/cargo#10801). It is
//! called once, at the same time as `cargo tree`, for each package's details.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Metadata, MetadataCommand, Package};

use crate::lock::Checksums;
use crate::purl::CrateSource;
use crate::{Binary, BinaryCrates, Build, Crate, Error, Resolution};

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
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

pub(crate) fn resolve(build: &Build) -> Result<Resolved, Error> {
    if build.binaries.is_empty() {
        return Err(Error::NoBinaries);
    }
    let target = match &build.target {
        Some(target) => target.clone(),
        None => host_triple()?,
    };
    // Start `cargo tree` and run `cargo metadata` meanwhile.
    let mut tree = cargo();
    tree.args(["tree", "--locked", "--color", "never", "--charset", "ascii"])
        .args([
            "-e",
            "normal,no-proc-macro",
            "--prefix",
            "depth",
            "--format",
            "{p}",
        ])
        .arg("--manifest-path")
        .arg(&build.manifest_path)
        .args(["--target", &target]);
    let packages: BTreeSet<&str> = build.binaries.iter().map(|b| b.package.as_str()).collect();
    for package in &packages {
        tree.args(["--package", package]);
    }
    if !build.features.is_empty() {
        tree.args(["--features", &build.features.join(",")]);
    }
    if build.no_default_features {
        tree.arg("--no-default-features");
    }
    let shown = format!("{tree:?}");
    let child = tree
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            command: "cargo tree".into(),
            source,
        })?;
    let metadata = MetadataCommand::new()
        .cargo_path(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .manifest_path(&build.manifest_path)
        .other_options(vec!["--locked".to_owned()])
        .exec();
    let output = child.wait_with_output().map_err(|source| Error::Spawn {
        command: "cargo tree".into(),
        source,
    })?;
    let metadata = metadata.map_err(|error| metadata_error(&build.manifest_path, &error))?;
    let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
    let checksums = Checksums::read(&workspace_root.join("Cargo.lock"))?;
    let binaries = check_binaries(&metadata, &build.binaries)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(tree_error(&target, &shown, stderr.trim()));
    }
    let stdout = String::from_utf8(output.stdout).map_err(|_| Error::Tree {
        message: "cargo tree printed non-UTF-8 output".into(),
    })?;
    build_resolution(
        &metadata,
        &checksums,
        &workspace_root,
        &stdout,
        target,
        &binaries,
    )
}

fn host_triple() -> Result<String, Error> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|source| Error::Spawn {
            command: "rustc -vV".into(),
            source,
        })?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| Error::Tree {
            message: "`rustc -vV` did not print the host triple".into(),
        })
}

fn metadata_error(manifest: &Path, error: &cargo_metadata::Error) -> Error {
    let text = error.to_string();
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

fn tree_error(target: &str, command: &str, stderr: &str) -> Error {
    if stderr.contains("target-specific information") || stderr.contains("--print=cfg") {
        return Error::UnknownTarget {
            target: target.to_owned(),
            message: stderr.to_owned(),
        };
    }
    Error::Tree {
        message: format!("`{command}` failed:\n{stderr}"),
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
            (name, _) => {
                return Err(Error::UnknownBinary {
                    package: binary.package.clone(),
                    bin: if name.is_empty() {
                        "(the only one)".into()
                    } else {
                        name.to_owned()
                    },
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

/// One line of `cargo tree --prefix depth --format {p}`: depth, name, version, the rest.
fn parse_line(line: &str) -> Option<(usize, &str, &str, &str)> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let depth = line.get(..digits)?.parse().ok()?;
    let rest = line.get(digits..)?;
    let rest = rest.strip_suffix(" (*)").unwrap_or(rest);
    let (name, rest) = rest.split_once(' ')?;
    let (version, rest) = match rest.split_once(' ') {
        Some((version, rest)) => (version, rest),
        None => (rest, ""),
    };
    Some((depth, name, version.strip_prefix('v')?, rest))
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
    tree: &str,
    target: String,
    binaries: &[Binary],
) -> Result<Resolved, Error> {
    let mut by_name_version: BTreeMap<(&str, String), Vec<&Package>> = BTreeMap::new();
    for package in &metadata.packages {
        by_name_version
            .entry((package.name.as_str(), package.version.to_string()))
            .or_default()
            .push(package);
    }
    // Package ids in first-seen order, edges and roots.
    let mut ids: BTreeMap<&str, &Package> = BTreeMap::new();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut roots: BTreeMap<&str, &str> = BTreeMap::new(); // package name -> id
    let mut stack: Vec<&str> = Vec::new();
    for line in tree.lines().filter(|line| !line.trim().is_empty()) {
        let (depth, name, version, rest) = parse_line(line).ok_or_else(|| Error::Tree {
            message: format!("cannot read cargo tree line `{line}`"),
        })?;
        let candidates = by_name_version
            .get(&(name, version.to_owned()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let package = match candidates {
            [one] => *one,
            _ => pick(candidates, rest).ok_or_else(|| Error::Tree {
                message: format!("cannot match cargo tree line `{line}` to one package"),
            })?,
        };
        let id = package.id.repr.as_str();
        ids.insert(id, package);
        edges.entry(id).or_default();
        stack.truncate(depth);
        if depth == 0 {
            roots.insert(package.name.as_str(), id);
        } else if let Some(parent) = stack.last() {
            edges.entry(parent).or_default().insert(id);
        } else {
            return Err(Error::Tree {
                message: format!("cargo tree line `{line}` has no parent"),
            });
        }
        stack.push(id);
    }

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
                message: format!("cargo tree printed no tree for package {}", binary.package),
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
    })
}

/// Picks among packages sharing a name and version by the source cargo tree printed.
fn pick<'a>(candidates: &[&'a Package], shown: &str) -> Option<&'a Package> {
    let matching: Vec<&Package> = candidates
        .iter()
        .copied()
        .filter(|package| match &package.source {
            None => package
                .manifest_path
                .parent()
                .is_some_and(|dir| shown.contains(dir.as_str())),
            Some(source) => {
                let repr = source.repr.as_str();
                let bare = repr.split_once('+').map_or(repr, |(_, url)| url);
                let bare = bare.split(['?', '#']).next().unwrap_or(bare);
                !shown.is_empty() && shown.contains(bare)
            }
        })
        .collect();
    match matching.as_slice() {
        [one] => Some(one),
        _ => None,
    }
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
        authors: package.authors.clone(),
        description: clean(&package.description)
            .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")),
        license: clean(&package.license),
        homepage: clean(&package.homepage),
        repository: clean(&package.repository),
        documentation: clean(&package.documentation),
        checksum,
        relative_path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tree_lines() {
        assert_eq!(
            parse_line("0cordon-cli v0.1.0 (/w/sandbox/cli)"),
            Some((0, "cordon-cli", "0.1.0", "(/w/sandbox/cli)"))
        );
        assert_eq!(
            parse_line("12serde v1.0.228 (*)"),
            Some((12, "serde", "1.0.228", ""))
        );
        assert_eq!(
            parse_line("3utf8parse v0.2.2"),
            Some((3, "utf8parse", "0.2.2", ""))
        );
        assert_eq!(parse_line("nodepth v1"), None);
    }
}
