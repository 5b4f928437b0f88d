//! The crate set of the shipped binaries, from cargo's resolve graph for the host
//! platform: every package reachable from a shipped package through normal (not dev, not
//! build) dependencies, not descending into proc-macros (they run in the compiler, they
//! are not linked in).
//!
//! This is an over-approximation when features differ between workspace members (cargo
//! metadata resolves features for the whole workspace at once); `cordon-sbom` computes
//! the exact per-binary set once it lands, and this module then gives way to it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use anyhow::{Context, Result};
use cargo_metadata::{DependencyKind, MetadataCommand, PackageId, TargetKind};
use cordon_release::crates::CrateRecord;

use super::build::Shipped;

/// The crates compiled into `shipped`, with the binaries each one is in.
pub(crate) fn crate_set(root: &Path, host: &str, shipped: &[Shipped]) -> Result<Vec<CrateRecord>> {
    let metadata = MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .other_options(vec![
            "--locked".to_owned(),
            "--filter-platform".to_owned(),
            host.to_owned(),
        ])
        .exec()
        .context("cannot read the dependency graph with `cargo metadata --locked`")?;
    let resolve = metadata
        .resolve
        .as_ref()
        .context("`cargo metadata` returned no resolve graph")?;
    let nodes: BTreeMap<&PackageId, _> =
        resolve.nodes.iter().map(|node| (&node.id, node)).collect();
    let packages: BTreeMap<&PackageId, _> = metadata
        .packages
        .iter()
        .map(|package| (&package.id, package))
        .collect();
    let is_proc_macro = |id: &PackageId| {
        packages.get(id).is_some_and(|package| {
            package
                .targets
                .iter()
                .any(|target| target.kind.contains(&TargetKind::ProcMacro))
        })
    };

    let mut binaries_of: BTreeMap<&PackageId, BTreeSet<String>> = BTreeMap::new();
    for binary in shipped {
        let start = metadata
            .workspace_packages()
            .into_iter()
            .find(|package| package.name.as_str() == binary.package)
            .map(|package| &package.id)
            .with_context(|| format!("package {} is not in the workspace", binary.package))?;
        let mut seen = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(id) = queue.pop_front() {
            binaries_of
                .entry(id)
                .or_default()
                .insert(binary.bin.clone());
            let Some(node) = nodes.get(id) else { continue };
            for dependency in &node.deps {
                let normal = dependency
                    .dep_kinds
                    .iter()
                    .any(|kind| kind.kind == DependencyKind::Normal);
                if normal && !is_proc_macro(&dependency.pkg) && seen.insert(&dependency.pkg) {
                    queue.push_back(&dependency.pkg);
                }
            }
        }
    }

    let mut records: Vec<CrateRecord> = binaries_of
        .into_iter()
        .filter_map(|(id, binaries)| {
            let package = packages.get(id)?;
            Some(CrateRecord {
                name: package.name.to_string(),
                version: package.version.to_string(),
                source: package.source.as_ref().map(ToString::to_string),
                binaries: binaries.into_iter().collect(),
            })
        })
        .collect();
    records.sort();
    Ok(records)
}
