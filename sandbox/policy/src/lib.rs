//! cordon's sandbox policy.
//!
//! A sandbox policy comes in layers, most general first: the built-in defaults, the
//! user's global file, `--policy` files, the project's file, and command-line flags.
//! This crate finds the layers, parses them (YAML, or sandbox-runtime's settings JSON),
//! and resolves them into a [`Plan`]: plain data that says which paths are readable and
//! writable, how the filesystem view is built, which Landlock rules and seccomp knobs
//! apply, what environment and network the command gets, and which layer set each rule.
//! It never touches the operating system beyond reading policy files and asking which
//! paths exist; enforcement lives in `cordon-linux`.
//!
//! ```
//! use std::path::{Path, PathBuf};
//! use cordon_policy::{Context, FakeFs, Layers, PolicyLocations, resolve};
//!
//! let env = |name: &str| match name {
//!     "HOME" => Some("/home/ada".into()),
//!     _ => None,
//! };
//! let here = PolicyLocations::discover(Path::new("/src/app"), env);
//! assert_eq!(here.global.unwrap(), Path::new("/home/ada/.config/cordon/policy.yaml"));
//! assert_eq!(here.project, Path::new("/src/app/.cordon/policy.yaml"));
//!
//! let fs = FakeFs::default().dir("/src/app/.git/hooks").dir("/home/ada/.ssh");
//! let context = Context {
//!     project: PathBuf::from("/src/app"),
//!     cwd: PathBuf::from("/src/app"),
//!     env: vec![("HOME".into(), "/home/ada".into()), ("GITHUB_TOKEN".into(), "x".into())],
//!     global_policy: None,
//! };
//! let plan = resolve(&Layers::default(), &context, &fs).unwrap();
//! assert!(plan.env.iter().all(|(name, _)| name != "GITHUB_TOKEN"));
//! println!("{plan}");
//! ```

mod accept;
mod approvals;
mod catalog;
mod defaults;
mod env;
mod error;
mod fsview;
mod gitconfig;
mod index;
mod loaded_on_cd;
mod locations;
mod nested;
pub mod network;
mod placed;
mod plan;
mod plan_json;
mod resolve;
mod schema;
mod srt;

pub use accept::tightenings_only;
pub use approvals::{Approvals, ApprovalsPlan, ShellApprovals};
pub use catalog::{Catalog, Considered, Entry, Where, builtin as builtin_catalog};
pub use env::{DEFAULT_DENY as ENV_DEFAULT_DENY, DEFAULT_KEEP as ENV_DEFAULT_KEEP};
pub use error::PolicyError;
pub use fsview::{FakeFs, FsView, Kind, RealFs};
pub use locations::{PolicyLocations, ProjectMarker, find_project, state_dir, state_home};
pub use nested::{
    MAX_DEPTH as NESTED_MAX_DEPTH, MAX_DIRS as NESTED_MAX_DIRS, MAX_ENTRIES as NESTED_MAX_ENTRIES,
    NestedSearch, find_nested_repos, is_sample_hook, program_keys,
};
pub use network::{Decision, Destination, NetworkPlan};
pub use placed::Placed;
pub use plan::{
    Access, Creation, CreationLock, Effect, EnvPattern, EnvRemoval, EnvRules, LandlockPlan, Layer,
    Mount, Plan, Provenance, Relaxation, Rule, SeccompPlan,
};
pub use resolve::{Context, Layers, check_layer_keys, resolve};
pub use schema::{
    Environment, Filesystem, Network, NetworkMode, PolicyFile, Protect, SCHEMA_VERSION, Sockets,
    Weaker, expand_path, load_policy, normalize, parse_policy,
};
pub use srt::{parse_srt_settings, srt_settings_notes};

#[cfg(test)]
mod tests;
