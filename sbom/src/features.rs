//! Cargo's feature resolution (resolver 2) for the crates linked into binaries, computed
//! from one `cargo metadata --filter-platform T` instead of a second cargo invocation.
//!
//! `cargo metadata`'s `resolve` is the *dependency* resolver's graph: it lists optional
//! dependencies that no enabled feature activates when some feature names them through a
//! weak feature (`dep?/feat`, rust-lang/cargo#10801), and its `features` are not the
//! per-target unification a build uses. So the graph is not taken as it is: starting from
//! the root packages with their requested features, features are enabled and optional
//! dependencies activated exactly as cargo's feature resolver does for the target
//! (`dep:x`, `x/f` which activates `x`, weak `x?/f` which only adds `f` once `x` is
//! active for another reason, implicit features of optional dependencies, a dependency's
//! `features` and `default-features`), following normal dependencies only. Build
//! dependencies, dev-dependencies and proc-macros run on the host and are never linked
//! into a target binary, so neither they nor the features they ask for take part
//! (resolver 2 keeps host and target features apart). `--filter-platform` removes the
//! packages other platforms need, but `resolve` still lists every declaration of a kept
//! dependency (`dep_kinds`), including `[target.'cfg(windows)'.dependencies]` ones that
//! only turn features on: a declaration for another platform is dropped here, its
//! `cfg(...)` evaluated against `rustc --print cfg --target T` (asked only when some
//! declaration names a platform), as cargo's resolver 2 ignores features of
//! platform-specific dependencies that are not built.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;

use cargo_metadata::cargo_platform::{Cfg, Platform};
use cargo_metadata::{DependencyKind, Metadata, Package, PackageId, TargetKind};

/// The target being built: its triple and, once a declaration needs them, its cfg values.
struct TargetPlatform<'a> {
    triple: &'a str,
    metadata: &'a Metadata,
    cfg: OnceCell<Option<Vec<Cfg>>>,
}

impl TargetPlatform<'_> {
    /// Whether a declaration for `platform` (`None`: every platform) applies. When rustc
    /// cannot say, the declaration is kept (an over-approximation, never a missed crate).
    fn applies(&self, platform: Option<&Platform>) -> bool {
        let Some(platform) = platform else {
            return true;
        };
        match self
            .cfg
            .get_or_init(|| target_cfg(self.metadata, self.triple))
        {
            Some(cfg) => platform.matches(self.triple, cfg),
            None => true,
        }
    }
}

/// `rustc --print cfg --target T`, run in the workspace (so its pinned toolchain answers).
fn target_cfg(metadata: &Metadata, triple: &str) -> Option<Vec<Cfg>> {
    target_cfg_in(metadata.workspace_root.as_std_path(), triple)
}

/// `rustc --print cfg --target T` run in `dir`; `None` when rustc cannot say.
fn target_cfg_in(dir: &std::path::Path, triple: &str) -> Option<Vec<Cfg>> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args(["--print", "cfg", "--target", triple])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    parse_cfg(&String::from_utf8_lossy(&output.stdout))
}

/// The cfg values `rustc --print cfg` printed, one per line; `None` when one is not a cfg.
pub(crate) fn parse_cfg(text: &str) -> Option<Vec<Cfg>> {
    text.lines().map(|line| line.parse().ok()).collect()
}

/// A package's index in `metadata.packages`.
type Index = usize;

/// One activatable normal dependency of a package: its name in the manifest (the rename
/// if any), whether it is optional, what it asks of the dependency, and the package it
/// resolved to.
#[derive(Debug)]
struct Edge {
    key: String,
    optional: bool,
    default_features: bool,
    features: Vec<String>,
    to: Index,
}

/// The linked graph: for every package reached from the roots, the packages it links.
#[derive(Debug, Default)]
pub(crate) struct Linked {
    pub(crate) edges: BTreeMap<Index, BTreeSet<Index>>,
}

/// Resolves features for `roots` (package indices), each with `requested` features, and
/// returns the graph of linked crates reachable from them.
pub(crate) fn resolve(
    metadata: &Metadata,
    target: &str,
    roots: &[Index],
    requested: &[String],
    default_features: bool,
    prefetched_cfg: Option<Option<Vec<Cfg>>>,
) -> Linked {
    let index: BTreeMap<&PackageId, Index> = metadata
        .packages
        .iter()
        .enumerate()
        .map(|(i, package)| (&package.id, i))
        .collect();
    let platform = TargetPlatform {
        triple: target,
        metadata,
        cfg: prefetched_cfg.map_or_else(OnceCell::new, OnceCell::from),
    };
    let edges = normal_edges(metadata, &index, &platform);
    let mut state = State {
        packages: &metadata.packages,
        edges: &edges,
        features: BTreeMap::new(),
        active: BTreeSet::new(),
        weak: BTreeMap::new(),
        reached: BTreeSet::new(),
        work: VecDeque::new(),
    };
    let root_names: BTreeSet<&str> = roots
        .iter()
        .map(|&root| metadata.packages[root].name.as_str())
        .collect();
    for &root in roots {
        let package = &metadata.packages[root];
        state.reach(root);
        if default_features {
            state
                .work
                .push_back(Work::Feature(root, "default".to_owned()));
        }
        // As cargo reads `--features`: each value may list several, separated by commas
        // or spaces.
        let requested = requested
            .iter()
            .flat_map(|value| value.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|feature| !feature.is_empty());
        for feature in requested {
            // `pkg/feat` applies to that root package; `dep/feat` (or `dep?/feat`) naming
            // no root is a feature of each root's dependency `dep`, as if a root's own
            // feature listed it; a bare `feat` applies to every root.
            match feature.split_once('/') {
                Some((name, feat)) if name == package.name.as_str() => {
                    state.work.push_back(Work::Feature(root, feat.to_owned()));
                }
                Some((name, _)) if root_names.contains(name.trim_end_matches('?')) => {}
                Some(_) => state.item(root, feature),
                None => state
                    .work
                    .push_back(Work::Feature(root, feature.to_owned())),
            }
        }
    }
    state.run();
    let mut linked = Linked::default();
    for &from in &state.reached {
        let targets = linked.edges.entry(from).or_default();
        for (position, edge) in edges[from].iter().enumerate() {
            if state.active.contains(&(from, position))
                && !is_proc_macro(&metadata.packages[edge.to])
            {
                targets.insert(edge.to);
            }
        }
    }
    linked
}

fn is_proc_macro(package: &Package) -> bool {
    package
        .targets
        .iter()
        .any(|target| target.kind.contains(&TargetKind::ProcMacro))
}

/// Each package's normal dependencies for the target, joined with their declarations.
fn normal_edges(
    metadata: &Metadata,
    index: &BTreeMap<&PackageId, Index>,
    platform: &TargetPlatform<'_>,
) -> Vec<Vec<Edge>> {
    let mut all: Vec<Vec<Edge>> = metadata.packages.iter().map(|_| Vec::new()).collect();
    let Some(resolve) = &metadata.resolve else {
        return all;
    };
    for node in &resolve.nodes {
        let Some(&from) = index.get(&node.id) else {
            continue;
        };
        let package = &metadata.packages[from];
        for resolved in &node.deps {
            let Some(&to) = index.get(&resolved.pkg) else {
                continue;
            };
            let target_package = &metadata.packages[to];
            for kind in resolved.dep_kinds.iter().filter(|kind| {
                kind.kind == DependencyKind::Normal && platform.applies(kind.target.as_ref())
            }) {
                for declared in package.dependencies.iter().filter(|declared| {
                    declared.kind == DependencyKind::Normal
                        && declared.target == kind.target
                        && declared.name == target_package.name.as_str()
                        && match &declared.rename {
                            Some(rename) => rename.replace('-', "_") == resolved.name,
                            None => true,
                        }
                        && declared.req.matches(&target_package.version)
                }) {
                    all[from].push(Edge {
                        key: declared
                            .rename
                            .clone()
                            .unwrap_or_else(|| declared.name.clone()),
                        optional: declared.optional,
                        default_features: declared.uses_default_features,
                        features: declared.features.clone(),
                        to,
                    });
                }
            }
        }
    }
    all
}

#[derive(Debug)]
enum Work {
    /// Enable a feature of a package.
    Feature(Index, String),
    /// Activate a package's (optional) dependencies named this.
    Activate(Index, String),
}

struct State<'a> {
    packages: &'a [Package],
    edges: &'a [Vec<Edge>],
    features: BTreeMap<Index, BTreeSet<String>>,
    /// (package, position in its edges) of the active dependencies.
    active: BTreeSet<(Index, usize)>,
    /// Weak `x?/f` waiting for `x` to be activated: (package, key) -> features.
    weak: BTreeMap<(Index, String), BTreeSet<String>>,
    reached: BTreeSet<Index>,
    work: VecDeque<Work>,
}

impl State<'_> {
    fn run(&mut self) {
        while let Some(item) = self.work.pop_front() {
            match item {
                Work::Feature(package, feature) => self.enable(package, feature),
                Work::Activate(package, key) => self.activate(package, &key),
            }
        }
    }

    /// A package is built: its non-optional dependencies are active.
    fn reach(&mut self, package: Index) {
        if !self.reached.insert(package) {
            return;
        }
        for (position, edge) in self.edges[package].iter().enumerate() {
            if !edge.optional {
                self.use_edge(package, position);
            }
        }
    }

    fn use_edge(&mut self, package: Index, position: usize) {
        if !self.active.insert((package, position)) {
            return;
        }
        let edge = &self.edges[package][position];
        if is_proc_macro(&self.packages[edge.to]) {
            return;
        }
        if edge.default_features {
            self.work
                .push_back(Work::Feature(edge.to, "default".to_owned()));
        }
        for feature in &edge.features {
            self.work.push_back(Work::Feature(edge.to, feature.clone()));
        }
        if let Some(waiting) = self.weak.remove(&(package, edge.key.clone())) {
            for feature in waiting {
                self.work.push_back(Work::Feature(edge.to, feature));
            }
        }
        self.reach(edge.to);
    }

    fn activate(&mut self, package: Index, key: &str) {
        let positions: Vec<usize> = self.edges[package]
            .iter()
            .enumerate()
            .filter(|(_, edge)| edge.key == key)
            .map(|(position, _)| position)
            .collect();
        for position in positions {
            self.use_edge(package, position);
        }
    }

    fn is_active(&self, package: Index, key: &str) -> bool {
        self.edges[package]
            .iter()
            .enumerate()
            .any(|(position, edge)| edge.key == key && self.active.contains(&(package, position)))
    }

    /// Enables `feature` on `package` with everything it implies.
    fn enable(&mut self, package: Index, feature: String) {
        if !self
            .features
            .entry(package)
            .or_default()
            .insert(feature.clone())
        {
            return;
        }
        let table = &self.packages[package].features;
        match table.get(&feature) {
            Some(items) => {
                for item in items.clone() {
                    self.item(package, &item);
                }
            }
            // `x/f` asked of a package by a dependent's `features`.
            None if feature.contains('/') => self.item(package, &feature),
            // An optional dependency's implicit feature (manifests older than `dep:`), or
            // a feature the package does not have ("default").
            None => self.work.push_back(Work::Activate(package, feature)),
        }
    }

    /// One element of a feature's list.
    fn item(&mut self, package: Index, item: &str) {
        if let Some(key) = item.strip_prefix("dep:") {
            self.work.push_back(Work::Activate(package, key.to_owned()));
        } else if let Some((key, dep_feature)) = item.split_once("?/") {
            if self.is_active(package, key) {
                self.on_dependency(package, key, dep_feature);
            } else {
                self.weak
                    .entry((package, key.to_owned()))
                    .or_default()
                    .insert(dep_feature.to_owned());
            }
        } else if let Some((key, dep_feature)) = item.split_once('/') {
            // `x/f` activates an optional `x`, and its implicit feature if it has one.
            let implicit = self.packages[package]
                .features
                .get(key)
                .is_some_and(|implied| *implied == [format!("dep:{key}")]);
            if implicit {
                self.work.push_back(Work::Feature(package, key.to_owned()));
            }
            self.work.push_back(Work::Activate(package, key.to_owned()));
            self.on_dependency(package, key, dep_feature);
        } else {
            self.work.push_back(Work::Feature(package, item.to_owned()));
        }
    }

    /// Enables `feature` on the packages `package`'s dependency `key` resolved to.
    fn on_dependency(&mut self, package: Index, key: &str, feature: &str) {
        let targets: Vec<Index> = self.edges[package]
            .iter()
            .filter(|edge| edge.key == key)
            .map(|edge| edge.to)
            .collect();
        for target in targets {
            self.work
                .push_back(Work::Feature(target, feature.to_owned()));
        }
    }
}
