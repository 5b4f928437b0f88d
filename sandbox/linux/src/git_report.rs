//! What the git repositories nested in the project would make git run, before and after
//! a run, read from the host side: a repository made during the run (`git init`, `git
//! clone`) is writable in the sandbox, so its config keys that run programs and its
//! hooks are reported after the run, for the caller to show and record.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use cordon_policy::{Plan, RealFs, find_nested_repos, is_sample_hook, program_keys};

/// Something a repository in the project would make git run that was not there before
/// the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitFinding {
    /// The repository's git directory.
    pub git_dir: PathBuf,
    /// `config: KEY = VALUE` or `hook: NAME`.
    pub what: String,
}

impl fmt::Display for GitFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.git_dir.display(), self.what)
    }
}

/// What one repository makes git run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RepoState {
    keys: BTreeSet<String>,
    hooks: BTreeSet<String>,
}

/// The nested repositories' state before a run.
#[derive(Debug, Clone, Default)]
pub struct GitSnapshot {
    repos: BTreeMap<PathBuf, RepoState>,
}

/// Config files larger than this are read only this far.
const MAX_CONFIG: u64 = 1 << 20;

fn state(git_dir: &Path) -> RepoState {
    let mut text = String::new();
    if let Ok(file) = std::fs::File::open(git_dir.join("config")) {
        let _ = file.take(MAX_CONFIG).read_to_string(&mut text);
    }
    let hooks = std::fs::read_dir(git_dir.join("hooks"))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| !is_sample_hook(name))
        .collect();
    RepoState {
        keys: program_keys(&text).into_iter().collect(),
        hooks,
    }
}

impl GitSnapshot {
    /// Reads the repositories the Plan found nested in the project.
    pub fn before(plan: &Plan) -> GitSnapshot {
        GitSnapshot {
            repos: plan
                .nested_git
                .git_dirs
                .iter()
                .map(|git_dir| (git_dir.clone(), state(git_dir)))
                .collect(),
        }
    }

    /// Looks for the nested repositories again (the same bounded search) and names every
    /// config key that runs a program and every hook that was not there before.
    pub fn findings_after(&self, plan: &Plan) -> Vec<GitFinding> {
        let mut git_dirs: BTreeSet<PathBuf> = self.repos.keys().cloned().collect();
        git_dirs.extend(find_nested_repos(&plan.project, &RealFs).git_dirs);
        let empty = RepoState::default();
        let mut findings = Vec::new();
        for git_dir in git_dirs {
            let before = self.repos.get(&git_dir).unwrap_or(&empty);
            let after = state(&git_dir);
            for key in after.keys.difference(&before.keys) {
                findings.push(GitFinding {
                    git_dir: git_dir.clone(),
                    what: format!("config: {key}"),
                });
            }
            for hook in after.hooks.difference(&before.hooks) {
                findings.push(GitFinding {
                    git_dir: git_dir.clone(),
                    what: format!("hook: {hook}"),
                });
            }
        }
        findings
    }
}
