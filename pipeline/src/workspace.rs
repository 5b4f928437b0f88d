//! Reading the workspace with one `cargo metadata --no-deps --locked`: the version, the
//! publishable binaries, the repository, the target directory and the
//! `[workspace.metadata.cordon]` table.

use std::path::Path;

use cargo_metadata::{Metadata, MetadataCommand, Package, TargetKind};

use crate::config::{self, Defaults};
use crate::error::ErrorKind;
use crate::model::{Shipped, Workspace};

/// The workspace at `root`.
pub(crate) fn read(root: &Path) -> Result<Workspace, ErrorKind> {
    let manifest = root.join("Cargo.toml");
    let metadata = MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .other_options(vec!["--locked".to_owned()])
        .exec()
        .map_err(|error| ErrorKind::Workspace {
            file: manifest.clone(),
            problem: format!("`cargo metadata --locked` failed: {error}"),
            fix: None,
        })?;
    let defaults = Defaults {
        binaries: publishable_binaries(&metadata),
        root_package: metadata
            .root_package()
            .map(|package| package.name.to_string()),
        repository: metadata
            .workspace_packages()
            .iter()
            .filter(|package| is_published(package))
            .find_map(|package| package.repository.clone()),
    };
    let table = metadata
        .workspace_metadata
        .get("cordon")
        .cloned()
        .unwrap_or_default();
    let product = config::product(&manifest, root, &table, &defaults)?;
    let version = shipped_version(&metadata, &product.binaries, &manifest)?;
    Ok(Workspace {
        root: root.to_owned(),
        version,
        product,
        target_dir: metadata.target_directory.into_std_path_buf(),
    })
}

/// The single version the packages of the shipped binaries carry.
fn shipped_version(
    metadata: &Metadata,
    binaries: &[Shipped],
    manifest: &Path,
) -> Result<String, ErrorKind> {
    let mut versions: Vec<String> = metadata
        .workspace_packages()
        .iter()
        .filter(|package| {
            binaries
                .iter()
                .any(|binary| binary.package == *package.name)
        })
        .map(|package| format!("{} {}", package.name, package.version))
        .collect();
    let mut distinct: Vec<&str> = versions
        .iter()
        .filter_map(|text| text.split_once(' ').map(|(_, version)| version))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    match distinct.as_slice() {
        [version] => Ok((*version).to_owned()),
        _ => {
            versions.sort();
            Err(ErrorKind::Workspace {
                file: manifest.to_owned(),
                problem: format!(
                    "the packages of the shipped binaries disagree on the version ({}): set \
                     them all through [workspace.package] version",
                    versions.join(", ")
                ),
                fix: None,
            })
        }
    }
}

fn is_published(package: &Package) -> bool {
    package
        .publish
        .as_ref()
        .is_none_or(|registries| !registries.is_empty())
}

/// Every binary target of every publishable workspace package, sorted by name.
fn publishable_binaries(metadata: &Metadata) -> Vec<Shipped> {
    let mut shipped: Vec<Shipped> = metadata
        .workspace_packages()
        .iter()
        .filter(|package| is_published(package))
        .flat_map(|package| {
            package
                .targets
                .iter()
                .filter(|target| target.kind.contains(&TargetKind::Bin))
                .map(|target| Shipped {
                    package: package.name.to_string(),
                    bin: target.name.clone(),
                })
        })
        .collect();
    shipped.sort_by(|a, b| a.bin.cmp(&b.bin));
    shipped
}
