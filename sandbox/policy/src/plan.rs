//! The Plan: everything the sandbox will do, as plain data, resolved before anything
//! runs. Every rule carries the layer (and file) that set it; every relaxation a project
//! asked for is recorded, granted or not.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::nested::NestedSearch;
use crate::network::NetworkPlan;
use crate::schema::Weaker;

/// Where a rule came from, least trusted last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// cordon's built-in defaults.
    Default,
    /// The user's global policy file.
    Global,
    /// Policy files named with `--policy` (trusted like the command line).
    PolicyFile,
    /// The project's `.cordon/policy.yaml` (untrusted: it travels with the code).
    Project,
    /// Command-line flags.
    Flags,
}

impl Layer {
    /// True for the layers the user wrote (everything but the project's file).
    pub fn trusted(self) -> bool {
        self != Layer::Project
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Default => "default",
            Layer::Global => "global",
            Layer::PolicyFile => "policy-file",
            Layer::Project => "project",
            Layer::Flags => "flags",
        })
    }
}

/// A layer and the file (or flag) a rule came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The layer.
    pub layer: Layer,
    /// The file path, `built-in`, or the flag.
    pub origin: String,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.layer, self.origin)
    }
}

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Reading (and executing).
    Read,
    /// Creating, changing, removing.
    Write,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
}

/// One filesystem rule in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// The absolute path it covers (and everything below it).
    pub path: PathBuf,
    /// Read or write.
    pub access: Access,
    /// Allow or deny.
    pub effect: Effect,
    /// A built-in mandatory denial: no layer but the global escape hatch lifts it.
    pub mandatory: bool,
    /// Who set it.
    pub from: Provenance,
    /// Why the rule exists, for built-in and `protect` rules (group, reason, source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One step of building the sandbox's filesystem view, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Mount {
    /// Everything the host shows, made read-only and nosuid (the base of the view).
    ReadOnlyHost,
    /// A private, empty, writable tmpfs.
    PrivateTmp {
        /// Where.
        path: PathBuf,
    },
    /// A minimal `/dev` (null, zero, full, random, urandom, tty, a private devpts, shm).
    MinimalDev,
    /// A fresh `/proc` for the sandbox's PID namespace.
    FreshProc,
    /// The host path bound at the same place, writable or read-only.
    Bind {
        /// The path.
        path: PathBuf,
        /// Writable or read-only.
        writable: bool,
        /// The rule that asks for it.
        because: Provenance,
    },
    /// A directory hidden under an empty read-only tmpfs.
    HideDir {
        /// The path.
        path: PathBuf,
        /// The rule that asks for it.
        because: Provenance,
    },
    /// A file hidden under a read-only `/dev/null`.
    HideFile {
        /// The path.
        path: PathBuf,
        /// The rule that asks for it.
        because: Provenance,
    },
}

/// A directory in which no new entry may be created, because a denied path that does
/// not exist yet lies below it (a bind mount cannot cover a missing path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreationLock {
    /// The directory.
    pub dir: PathBuf,
    /// The missing denied paths that require it.
    pub because: Vec<PathBuf>,
}

/// The Landlock ruleset (allow-list). Reads are allowed everywhere the mounts show;
/// writes only below `write`; `no_create` directories get every write right but
/// creating entries, and each of their existing subdirectories listed in `write`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandlockPlan {
    /// Read and execute below these.
    pub read: Vec<PathBuf>,
    /// Every right below these.
    pub write: Vec<PathBuf>,
    /// Every right but creating entries (and renaming/linking in) below these.
    pub no_create: Vec<CreationLock>,
    /// Device ioctls below these.
    pub devices: Vec<PathBuf>,
    /// Restrict TCP bind/connect to nothing (ABI 4+).
    pub deny_tcp: bool,
    /// Scope abstract unix sockets and signals to the sandbox (ABI 6+).
    pub scoped: bool,
}

/// The seccomp filter's knobs (the syscall table lives in the Linux backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeccompPlan {
    /// `socket(AF_UNIX, ...)` allowed.
    pub allow_unix_sockets: bool,
}

/// A variable removed from the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvRemoval {
    /// The name (the value is never recorded).
    pub name: String,
    /// The pattern that matched and where it came from.
    pub because: String,
}

/// The environment rules in force, whatever the caller's environment holds: what the
/// policy digest covers of the environment (the variables themselves are the caller's).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EnvRules {
    /// The patterns that remove variables (built-in first, then each layer's).
    pub deny: Vec<EnvPattern>,
    /// The patterns that keep a variable a `deny` pattern matches (trusted layers only).
    pub allow: Vec<EnvPattern>,
    /// The variables the policy sets. Serialized with the values replaced by their
    /// lengths, as [`Plan::env`] is.
    #[serde(serialize_with = "crate::plan_json::masked_env")]
    pub set: Vec<(String, String)>,
}

/// An environment pattern with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvPattern {
    /// The pattern (`*` = any run of characters, case-insensitive).
    pub pattern: String,
    /// The layer that named it.
    pub origin: String,
}

/// A place where a layer allowed what a more trusted layer (or the defaults) denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relaxation {
    /// What was relaxed (`write /path`, `network host`, `env NAME`...).
    pub what: String,
    /// Who asked.
    pub by: Provenance,
    /// Applied or refused.
    pub granted: bool,
    /// Why.
    pub reason: String,
}

/// Everything the sandbox will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The project directory.
    pub project: PathBuf,
    /// Where the command starts.
    pub cwd: PathBuf,
    /// The layers that were read, in order.
    pub layers: Vec<Provenance>,
    /// Every filesystem rule in force.
    pub rules: Vec<Rule>,
    /// The filesystem view, step by step.
    pub mounts: Vec<Mount>,
    /// The Landlock ruleset.
    pub landlock: LandlockPlan,
    /// The seccomp filter's knobs.
    pub seccomp: SeccompPlan,
    /// The network: mode, allow and deny rules, and what the built-in deny-list lifts.
    pub network: NetworkPlan,
    /// Whether a command without an approval runs, and which layer said so.
    pub approvals: crate::approvals::ApprovalsPlan,
    /// The command's environment (names and values). Serialized with the values
    /// replaced by their lengths, so that no secret is printed or hashed.
    #[serde(serialize_with = "crate::plan_json::masked_env")]
    pub env: Vec<(String, String)>,
    /// What was removed from the environment.
    pub env_removed: Vec<EnvRemoval>,
    /// The environment rules that decided [`Plan::env`] and [`Plan::env_removed`].
    pub env_rules: EnvRules,
    /// Every relaxation asked for.
    pub relaxations: Vec<Relaxation>,
    /// Protections this host may lack.
    pub accept_weaker: Vec<Weaker>,
    /// Paths named by rules that do not exist (nothing is mounted for them).
    pub notes: Vec<String>,
    /// Git repositories nested in the project (their hooks and config are protected
    /// like the project's own), and how far the bounded search looked.
    pub nested_git: NestedSearch,
    /// Paths a layer allows writing that do not exist, where the command could not
    /// create them itself (their directory is read-only in the view): `cordon run`
    /// creates them as directories, says so, and resolves again.
    pub create: Vec<Creation>,
}

/// A missing path to create before the run because a layer allows writing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Creation {
    /// The path.
    pub path: PathBuf,
    /// The layer whose `allow_write` names it.
    pub by: Provenance,
}

/// The number of components of a normalized absolute path (`/` is 1).
pub(crate) fn depth(path: &Path) -> usize {
    let bytes = path.as_os_str().as_encoded_bytes();
    1 + bytes.iter().filter(|b| **b == b'/').count() - usize::from(bytes == b"/")
}

/// `path` is `base` or below it. Both are normalized absolute paths, so a byte prefix
/// ending at a separator is the same as `Path::starts_with`, only much cheaper (this is
/// the inner loop of resolution).
pub(crate) fn under(path: &Path, base: &Path) -> bool {
    let (path, base) = (
        path.as_os_str().as_encoded_bytes(),
        base.as_os_str().as_encoded_bytes(),
    );
    base == b"/"
        || (path.starts_with(base) && (path.len() == base.len() || path[base.len()] == b'/'))
}

/// The rule that decides `access` to `path` among `rules`: mandatory write denials
/// first, then the most specific path; on a tie deny wins (the last such rule is
/// named). No rule: allowed.
pub(crate) fn decide_in<'r>(
    rules: &'r [Rule],
    path: &Path,
    access: Access,
) -> (Effect, Option<&'r Rule>) {
    if access == Access::Write
        && let Some(rule) = rules
            .iter()
            .filter(|rule| rule.mandatory && under(path, &rule.path))
            .max_by_key(|rule| depth(&rule.path))
    {
        return (Effect::Deny, Some(rule));
    }
    let best = rules
        .iter()
        .filter(|rule| rule.access == access && under(path, &rule.path))
        .max_by_key(|rule| (depth(&rule.path), rule.effect == Effect::Deny));
    match best {
        Some(rule) => (rule.effect, Some(rule)),
        None => (Effect::Allow, None),
    }
}

impl Plan {
    /// Why `access` to `path` (absolute) is allowed or denied, and for a denial the
    /// policy key or flag that would allow it: what an agent needs after an `EACCES`.
    pub fn why(&self, path: &Path, access: Access) -> String {
        let verb = match access {
            Access::Read => "read",
            Access::Write => "write",
        };
        let (effect, rule) = decide_in(&self.rules, path, access);
        let Some(rule) = rule else {
            return format!("{verb} {}: allowed (no rule names it)", path.display());
        };
        let why = rule
            .reason
            .as_deref()
            .map(|reason| format!(" ({reason})"))
            .unwrap_or_default();
        let by = format!("`{}` <- {}{why}", rule.path.display(), rule.from);
        if effect == Effect::Allow {
            return format!("{verb} {}: allowed by {by}", path.display());
        }
        let fix = if rule.mandatory {
            format!(
                "a mandatory denial: only `dangerously_unprotect: [{}]` in the global policy lifts it",
                rule.path.display()
            )
        } else if access == Access::Read {
            format!(
                "`allow_read: [{}]` in the global policy or a --policy file, or --allow-read {}, re-opens it (a project's own file cannot)",
                path.display(),
                path.display()
            )
        } else if rule.from.layer == Layer::Default {
            format!(
                "outside the writable region: --allow-write {} or `allow_write` in the global policy (a project's own file needs the global `project_may_relax`)",
                path.display()
            )
        } else {
            format!(
                "remove it from the `deny_write` of {}, or allow a deeper path there",
                rule.from
            )
        };
        format!("{verb} {}: denied by {by}; {fix}", path.display())
    }

    /// The plan as JSON (environment values are shown as their length only).
    pub fn to_json(&self) -> String {
        let mut bytes = Vec::new();
        match self.write_json(&mut bytes) {
            Ok(()) => String::from_utf8(bytes)
                .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}")),
            Err(error) => format!("{{\"error\": \"{error}\"}}"),
        }
    }

    /// Writes [`Plan::to_json`]'s text to `out` as it is produced, without copying the
    /// plan or holding the text (the policy digest hashes it this way on every run).
    pub fn write_json(&self, out: impl std::io::Write) -> serde_json::Result<()> {
        serde_json::to_writer_pretty(out, self)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "project: {}", self.project.display())?;
        writeln!(f, "cwd: {}", self.cwd.display())?;
        writeln!(f, "layers:")?;
        for layer in &self.layers {
            writeln!(f, "  {layer}")?;
        }
        writeln!(
            f,
            "rules (most specific path wins; on a tie deny wins; mandatory first):"
        )?;
        for rule in &self.rules {
            let effect = match rule.effect {
                Effect::Allow => "allow",
                Effect::Deny => "deny",
            };
            let access = match rule.access {
                Access::Read => "read",
                Access::Write => "write",
            };
            let mandatory = if rule.mandatory { " [mandatory]" } else { "" };
            writeln!(
                f,
                "  {effect:<5} {access:<5} {}{mandatory}  <- {}",
                rule.path.display(),
                rule.from
            )?;
            if let Some(reason) = &rule.reason {
                writeln!(f, "        why: {reason}")?;
            }
        }
        writeln!(f, "mounts:")?;
        for mount in &self.mounts {
            match mount {
                Mount::ReadOnlyHost => writeln!(f, "  host / read-only, nosuid")?,
                Mount::PrivateTmp { path } => writeln!(f, "  private tmpfs {}", path.display())?,
                Mount::MinimalDev => writeln!(f, "  minimal /dev")?,
                Mount::FreshProc => writeln!(f, "  fresh /proc (own PID namespace)")?,
                Mount::Bind {
                    path,
                    writable,
                    because,
                } => writeln!(
                    f,
                    "  bind {} {}  <- {because}",
                    if *writable { "rw" } else { "ro" },
                    path.display()
                )?,
                Mount::HideDir { path, because } => {
                    writeln!(f, "  hide dir {}  <- {because}", path.display())?;
                }
                Mount::HideFile { path, because } => {
                    writeln!(f, "  hide file {}  <- {because}", path.display())?;
                }
            }
        }
        writeln!(f, "landlock:")?;
        let list = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(f, "  read+execute: {}", list(&self.landlock.read))?;
        writeln!(f, "  write: {}", list(&self.landlock.write))?;
        writeln!(f, "  device ioctls: {}", list(&self.landlock.devices))?;
        for lock in &self.landlock.no_create {
            writeln!(
                f,
                "  no new entries in {} (missing denied: {})",
                lock.dir.display(),
                list(&lock.because)
            )?;
        }
        writeln!(
            f,
            "  tcp: {}; abstract unix sockets and signals scoped: {}",
            if self.landlock.deny_tcp {
                "denied"
            } else {
                "not restricted"
            },
            self.landlock.scoped
        )?;
        writeln!(
            f,
            "seccomp: AF_UNIX sockets {}",
            if self.seccomp.allow_unix_sockets {
                "allowed"
            } else {
                "denied"
            }
        )?;
        write!(f, "{}", self.network)?;
        writeln!(
            f,
            "approvals: shell {}  <- {}",
            self.approvals.shell, self.approvals.by
        )?;
        let names: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        writeln!(f, "environment: {}", names.join(" "))?;
        for removed in &self.env_removed {
            writeln!(f, "  removed {}  <- {}", removed.name, removed.because)?;
        }
        if !self.relaxations.is_empty() {
            writeln!(f, "relaxations:")?;
            for relaxation in &self.relaxations {
                writeln!(
                    f,
                    "  {} {}  <- {}: {}",
                    if relaxation.granted {
                        "granted"
                    } else {
                        "REFUSED"
                    },
                    relaxation.what,
                    relaxation.by,
                    relaxation.reason
                )?;
            }
        }
        if !self.accept_weaker.is_empty() {
            writeln!(f, "accepted weaker modes: {:?}", self.accept_weaker)?;
        }
        writeln!(
            f,
            "nested git repositories: {} ({} directories searched{})",
            if self.nested_git.git_dirs.is_empty() {
                "none".to_owned()
            } else {
                list(&self.nested_git.git_dirs)
            },
            self.nested_git.listed,
            if self.nested_git.complete {
                ", whole project"
            } else {
                "; the bound stopped it: repositories deeper or beyond it are not protected"
            }
        )?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        for creation in &self.create {
            writeln!(
                f,
                "create: {} does not exist; `cordon run` creates it (allow_write from {})",
                creation.path.display(),
                creation.by
            )?;
        }
        Ok(())
    }
}
