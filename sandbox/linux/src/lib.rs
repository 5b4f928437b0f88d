//! cordon's Linux sandbox backend.
//!
//! The backend executes Plans that `cordon-policy` resolved; it makes no policy decisions
//! of its own. [`spawn`] starts a `std::process::Command` under a Plan: user, mount, PID,
//! IPC, UTS, cgroup and (by default) network namespaces; the host read-only with the
//! Plan's binds and hidden paths; Landlock at the highest ABI the kernel offers (up to
//! 7); no_new_privs; every capability dropped; a seccomp filter; a new session; death
//! with its parent; no file descriptor above 2. A layer that cannot be applied makes
//! `spawn` fail with the reason. [`HostSupport::probe`] tells what this host supports.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use cordon_policy::{Context, Layers, PolicyLocations, RealFs, resolve};
//!
//! let project = PathBuf::from("/src/app");
//! let env: Vec<(String, String)> = std::env::vars().collect();
//! let locations = PolicyLocations::discover(&project, |k| std::env::var_os(k));
//! let layers = Layers::load(&locations, &[], Default::default())?;
//! let context = Context { project: project.clone(), cwd: project, env, global_policy: locations.global };
//! let plan = resolve(&layers, &context, &RealFs)?;
//! let mut command = std::process::Command::new("cargo");
//! command.arg("test");
//! let child = cordon_linux::spawn(&plan, &command)?;
//! let status = child.wait()?; // 128+N when signal N killed it
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod creation;
mod egress_glue;
mod fdpass;
mod git_report;
mod guard_report;
mod init;
mod landlock;
mod mounts;
mod name_files;
mod netlog;
mod netns;
mod probe;
mod proxy_env;
mod seccomp;
mod spawn;
mod sys;

pub use egress_glue::{NetworkOptions, NetworkReport};
pub use git_report::{GitFinding, GitSnapshot};
pub use guard_report::GuardReport;
pub use init::{FORWARDED, relay_set};
pub use landlock::MAX_ABI as LANDLOCK_MAX_ABI;
pub use netlog::{default_log_path, writable_inside};
pub use probe::{HostSupport, Support, inside_cordon_sandbox};
pub use proxy_env::NO_PROXY;
pub use seccomp::describe as describe_seccomp;
pub use spawn::{Sandboxed, environment, run, run_with, spawn, spawn_with};

/// How a run ended, with what it left behind that git would run later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The command's exit code (128+N when signal N killed it).
    pub code: i32,
    /// Config keys that run programs and hooks that appeared, during the run, in git
    /// repositories nested in the project (see [`GitSnapshot`]).
    pub git: Vec<GitFinding>,
    /// What the creation guard refused (protected names the command tried to create);
    /// `None` when it did not run (the plan has no creation lock, or the kernel has no
    /// seccomp user notifications): nothing was observed then.
    pub guard: Option<GuardReport>,
    /// Proxy mode: the decision log and its counts; `None` in the other modes.
    pub network: Option<NetworkReport>,
}

/// [`run_with`], and then what the run left in the project's nested git repositories.
pub fn run_reporting(
    plan: &cordon_policy::Plan,
    command: &std::process::Command,
    options: &NetworkOptions,
) -> Result<RunReport, SandboxError> {
    let before = GitSnapshot::before(plan);
    let observed = spawn::run_observed(plan, command, options)?;
    Ok(RunReport {
        code: observed.code,
        git: before.findings_after(plan),
        guard: observed.guard,
        network: observed.network,
    })
}

/// Why a sandbox could not be started. Every case means nothing ran.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The namespaces could not be created or mapped.
    #[error("namespaces: {0}")]
    Namespaces(String),
    /// A step of the filesystem view failed.
    #[error("mount: {0}")]
    Mount(String),
    /// Landlock could not be applied.
    #[error("landlock: {0}")]
    Landlock(String),
    /// The seccomp filter could not be built or installed.
    #[error("seccomp: {0}")]
    Seccomp(String),
    /// The program could not be found or executed.
    #[error("{0}")]
    Program(String),
    /// Forking, waiting, signals.
    #[error("{0}")]
    Spawn(String),
    /// A set-up step in the sandbox's own processes failed; the message says which.
    #[error("sandbox set-up failed: {0}")]
    Setup(String),
}
