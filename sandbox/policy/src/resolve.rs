//! Resolution: layers in, Plan out.
//!
//! Rules are collected layer by layer (defaults, global, `--policy` files, project,
//! flags). For a path the most specific rule wins; on a tie, deny wins; mandatory write
//! denials are checked before anything else. The project's file is untrusted (it comes
//! with the code): where it allows what a trusted layer denies, the relaxation is
//! granted only below a `project_may_relax` path of the global file, and recorded either
//! way. The filesystem is only read (through [`FsView`]) to learn which paths exist.

use std::path::{Path, PathBuf};

use crate::PolicyLocations;
use crate::catalog;
use crate::defaults;
use crate::error::PolicyError;
use crate::fsview::{FsView, Kind};
use crate::index::RuleIndex;
use crate::plan::{
    Access, Creation, Effect, Layer, Plan, Provenance, Relaxation, Rule, SeccompPlan,
};
use crate::plan::{decide_in, under};
use crate::schema::{NetworkMode, PolicyFile, Weaker, expand_path, load_policy};

mod environment;
mod view;

/// The policy layers above the built-in defaults.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// The user's global file, when it exists.
    pub global: Option<(PathBuf, PolicyFile)>,
    /// Files named with `--policy`, in order.
    pub policy_files: Vec<(PathBuf, PolicyFile)>,
    /// The project's file, when it exists.
    pub project: Option<(PathBuf, PolicyFile)>,
    /// The command-line flags, as a policy.
    pub flags: PolicyFile,
}

impl Layers {
    /// Loads the global and project files found at `locations` (a missing file is an
    /// absent layer) and the `--policy` files (which must exist). A `.json` file is read
    /// as sandbox-runtime (srt) settings.
    pub fn load(
        locations: &PolicyLocations,
        policy_files: &[PathBuf],
        flags: PolicyFile,
    ) -> Result<Self, PolicyError> {
        let optional = |path: &Path| -> Result<Option<(PathBuf, PolicyFile)>, PolicyError> {
            if path.exists() {
                Ok(Some((path.to_path_buf(), load_policy(path)?)))
            } else {
                Ok(None)
            }
        };
        Ok(Layers {
            global: match &locations.global {
                Some(path) => optional(path)?,
                None => None,
            },
            policy_files: policy_files
                .iter()
                .map(|path| Ok((path.clone(), load_policy(path)?)))
                .collect::<Result<_, PolicyError>>()?,
            project: optional(&locations.project)?,
            flags,
        })
    }
}

/// What resolution needs to know about the invocation.
#[derive(Debug, Clone)]
pub struct Context {
    /// The project directory (absolute).
    pub project: PathBuf,
    /// Where the command starts (absolute).
    pub cwd: PathBuf,
    /// The environment cordon was started with.
    pub env: Vec<(String, String)>,
    /// The global policy file's path, protected from writes even when absent.
    pub global_policy: Option<PathBuf>,
}

struct Resolver<'a> {
    fs: &'a dyn FsView,
    home: Option<PathBuf>,
    project: PathBuf,
    rules: Vec<Rule>,
    relaxations: Vec<Relaxation>,
    notes: Vec<String>,
    create: Vec<Creation>,
    index: Option<RuleIndex>,
}

/// Resolves `layers` for `context` into a Plan.
pub fn resolve(layers: &Layers, context: &Context, fs: &dyn FsView) -> Result<Plan, PolicyError> {
    let cached = crate::fsview::Cached::new(fs);
    let fs: &dyn FsView = &cached;
    if fs.kind(&context.project) != Some(Kind::Dir) {
        return Err(PolicyError::Invalid {
            origin: "--project".into(),
            message: format!("{} is not a directory", context.project.display()),
            hint: "pass an existing project directory with --project DIR".into(),
        });
    }
    let home = context
        .env
        .iter()
        .find(|(name, _)| name == "HOME")
        .map(|(_, value)| PathBuf::from(value))
        .filter(|path| path.is_absolute())
        .map(|path| crate::schema::normalize(&path));
    let mut resolver = Resolver {
        fs,
        home,
        project: context.project.clone(),
        rules: Vec::new(),
        relaxations: Vec::new(),
        notes: Vec::new(),
        create: Vec::new(),
        index: None,
    };
    resolver.defaults(context);
    let nested_git = crate::nested::find_nested_repos(&context.project, resolver.fs);
    resolver.protect_nested(&nested_git);

    let ordered = ordered_layers(layers);
    for (layer, origin, file) in &ordered {
        check_layer_keys(*layer, origin, file)?;
    }
    crate::locations::check_project_is_not_home(
        &context.project,
        resolver.home.as_deref(),
        &ordered,
    )?;
    resolver.protect(&ordered)?;
    if let Some((path, global)) = &layers.global {
        resolver.unprotect(global, &path.display().to_string())?;
    }
    let may_relax: Vec<PathBuf> = match &layers.global {
        Some((path, global)) => global
            .project_may_relax
            .iter()
            .map(|raw| resolver.expand(raw, &path.display().to_string()))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    for (layer, origin, file) in &ordered {
        resolver.add_layer(*layer, origin, file, &may_relax)?;
    }

    resolver.freeze();
    let (network, allow_unix_sockets) = resolver.network_and_sockets(&ordered)?;
    let (env, env_removed, env_rules) = resolver.environment(&ordered, &context.env);
    let approvals = crate::approvals::resolve_approvals(&ordered, &mut resolver.relaxations);
    let accept_weaker: Vec<Weaker> = {
        let mut all: Vec<Weaker> = ordered
            .iter()
            .filter(|(layer, _, _)| layer.trusted())
            .flat_map(|(_, _, file)| file.accept_weaker.iter().copied())
            .collect();
        all.sort();
        all.dedup();
        all
    };
    let mounts = resolver.mounts();
    let landlock = resolver.landlock(&mounts, network.mode == NetworkMode::None);
    let mut layers_read = vec![Provenance {
        layer: Layer::Default,
        origin: "built-in".into(),
    }];
    layers_read.extend(ordered.iter().map(|(layer, origin, _)| Provenance {
        layer: *layer,
        origin: origin.clone(),
    }));
    Ok(Plan {
        project: context.project.clone(),
        cwd: context.cwd.clone(),
        layers: layers_read,
        rules: resolver.rules,
        mounts,
        landlock,
        seccomp: SeccompPlan { allow_unix_sockets },
        network,
        approvals,
        env,
        env_removed,
        env_rules,
        relaxations: resolver.relaxations,
        accept_weaker,
        notes: resolver.notes,
        create: resolver.create,
        nested_git,
    })
}

fn ordered_layers(layers: &Layers) -> Vec<(Layer, String, &PolicyFile)> {
    let mut out = Vec::new();
    if let Some((path, file)) = &layers.global {
        out.push((Layer::Global, path.display().to_string(), file));
    }
    for (path, file) in &layers.policy_files {
        out.push((Layer::PolicyFile, path.display().to_string(), file));
    }
    if let Some((path, file)) = &layers.project {
        out.push((Layer::Project, path.display().to_string(), file));
    }
    out.push((Layer::Flags, "command line".to_owned(), &layers.flags));
    out
}

/// What `layer` may not say (global-only keys elsewhere, a weaker sandbox or addresses
/// in the project's file, ...); `resolve` runs it on every layer, `cordon policy check`
/// on the one file it checks.
pub fn check_layer_keys(layer: Layer, origin: &str, file: &PolicyFile) -> Result<(), PolicyError> {
    let global_only = [
        ("project_may_relax", !file.project_may_relax.is_empty()),
        (
            "dangerously_unprotect",
            !file.dangerously_unprotect.is_empty(),
        ),
    ];
    for (key, used) in global_only {
        if used && layer != Layer::Global {
            return Err(PolicyError::Invalid {
                origin: origin.to_owned(),
                message: format!("`{key}` is only allowed in the global policy file"),
                hint: "move it to ~/.config/cordon/policy.yaml".into(),
            });
        }
    }
    if layer == Layer::Project && file.allow_home_project {
        return Err(PolicyError::Invalid {
            origin: origin.to_owned(),
            message: "`allow_home_project` is not allowed in a project's policy".into(),
            hint: "making the home directory the project is the user's decision: pass --allow-home-project or set it in the global file".into(),
        });
    }
    if layer == Layer::Project && !file.accept_weaker.is_empty() {
        return Err(PolicyError::Invalid {
            origin: origin.to_owned(),
            message: "`accept_weaker` is not allowed in a project's policy".into(),
            hint: "a weaker sandbox is the user's decision: put it in the global file or pass --policy".into(),
        });
    }
    crate::network::check_network_layer(layer, origin, file)
}

impl Resolver<'_> {
    fn expand(&self, raw: &str, origin: &str) -> Result<PathBuf, PolicyError> {
        expand_path(raw, self.home.as_deref(), &self.project).map_err(|message| {
            PolicyError::Invalid {
                origin: origin.to_owned(),
                message: format!("path `{raw}`: {message}"),
                hint: "write `~/...`, an absolute path, or a path relative to the project".into(),
            }
        })
    }

    /// Expands a trailing `*` in the last component against the directory's entries.
    fn expand_glob(&self, path: PathBuf) -> Vec<PathBuf> {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        match (name, path.parent()) {
            (Some(name), Some(parent)) if name.ends_with('*') => {
                let prefix = &name[..name.len() - 1];
                self.fs
                    .list(parent)
                    .into_iter()
                    .filter(|entry| entry.starts_with(prefix))
                    .map(|entry| parent.join(entry))
                    .collect()
            }
            _ => vec![path],
        }
    }

    fn push(
        &mut self,
        path: PathBuf,
        access: Access,
        effect: Effect,
        mandatory: bool,
        from: &Provenance,
    ) {
        self.rules.push(Rule {
            path,
            access,
            effect,
            mandatory,
            from: from.clone(),
            reason: None,
        });
    }

    /// A rule with its reason (built-in lists, `protect` entries).
    fn push_because(
        &mut self,
        path: PathBuf,
        access: Access,
        mandatory: bool,
        from: &Provenance,
        reason: String,
    ) {
        self.push(path, access, Effect::Deny, mandatory, from);
        if let Some(rule) = self.rules.last_mut() {
            rule.reason = Some(reason);
        }
    }

    fn defaults(&mut self, context: &Context) {
        let built_in = Provenance {
            layer: Layer::Default,
            origin: "built-in".into(),
        };
        let root = PathBuf::from("/");
        self.push(root.clone(), Access::Read, Effect::Allow, false, &built_in);
        self.push(root, Access::Write, Effect::Deny, false, &built_in);
        self.push(
            self.project.clone(),
            Access::Write,
            Effect::Allow,
            false,
            &built_in,
        );
        self.push(
            PathBuf::from("/tmp"),
            Access::Write,
            Effect::Allow,
            false,
            &built_in,
        );
        // One listing each answers for every built-in name directly below them.
        if let Some(home) = &self.home {
            self.fs.list(home);
        }
        self.fs.list(&self.project);
        for entry in catalog::builtin().hide {
            for path in entry.paths(&self.project, self.home.as_deref()) {
                for path in self.expand_glob(path) {
                    self.push_because(path, Access::Read, false, &built_in, entry.because());
                }
            }
        }
        let mandatory = defaults::mandatory_write_denials(
            &self.project,
            self.home.as_deref(),
            context.global_policy.as_deref(),
            self.fs,
        );
        for (path, reason) in mandatory {
            self.push_because(path, Access::Write, true, &built_in, reason);
        }
        let env = |name: &str| {
            context
                .env
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| std::ffi::OsString::from(value))
        };
        for path in defaults::cordon_directories(self.home.as_deref(), env) {
            self.push_because(
                path,
                Access::Write,
                true,
                &built_in,
                defaults::CORDON_DIRECTORIES_REASON.to_owned(),
            );
        }
    }

    /// The `protect` entries of every layer: more mandatory write denials.
    fn protect(&mut self, ordered: &[(Layer, String, &PolicyFile)]) -> Result<(), PolicyError> {
        for (layer, origin, file) in ordered {
            let from = Provenance {
                layer: *layer,
                origin: origin.clone(),
            };
            for entry in &file.protect {
                let path = self.expand(&entry.path, origin)?;
                let reason = entry
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("listed in `protect` by {from}"));
                self.push_because(path, Access::Write, true, &from, reason);
            }
        }
        Ok(())
    }

    /// The hooks and config of repositories nested in the project: mandatory denials,
    /// as for the project's own repository.
    fn protect_nested(&mut self, nested: &crate::nested::NestedSearch) {
        let from = Provenance {
            layer: Layer::Default,
            origin: "built-in (nested git repository)".into(),
        };
        for git_dir in &nested.git_dirs {
            for name in ["hooks", "config", "config.worktree"] {
                self.push(git_dir.join(name), Access::Write, Effect::Deny, true, &from);
            }
        }
    }

    fn unprotect(&mut self, global: &PolicyFile, origin: &str) -> Result<(), PolicyError> {
        for raw in &global.dangerously_unprotect {
            let path = self.expand(&raw.text, origin)?;
            let before = self.rules.len();
            self.rules
                .retain(|rule| !(rule.mandatory && rule.path == path));
            let removed = before != self.rules.len();
            self.relaxations.push(Relaxation {
                what: format!("mandatory write denial {}", path.display()),
                by: Provenance {
                    layer: Layer::Global,
                    origin: raw.place(origin),
                },
                granted: removed,
                reason: if removed {
                    "lifted by `dangerously_unprotect`".into()
                } else {
                    "`dangerously_unprotect` names no mandatory denial".into()
                },
            });
        }
        Ok(())
    }

    fn add_layer(
        &mut self,
        layer: Layer,
        origin: &str,
        file: &PolicyFile,
        may_relax: &[PathBuf],
    ) -> Result<(), PolicyError> {
        let from = Provenance {
            layer,
            origin: origin.to_owned(),
        };
        let lists = [
            (&file.filesystem.allow_read, Access::Read, Effect::Allow),
            (&file.filesystem.deny_read, Access::Read, Effect::Deny),
            (&file.filesystem.allow_write, Access::Write, Effect::Allow),
            (&file.filesystem.deny_write, Access::Write, Effect::Deny),
        ];
        for (list, access, effect) in lists {
            for raw in list {
                let expanded = self.expand(&raw.text, origin)?;
                // A relaxation names the line that asked for it; the rule keeps the file.
                let asked_by = Provenance {
                    layer,
                    origin: raw.place(origin),
                };
                for path in self.expand_glob(expanded) {
                    if effect == Effect::Allow && !self.admit(&path, access, &asked_by, may_relax) {
                        continue;
                    }
                    self.push(path, access, effect, false, &from);
                }
            }
        }
        Ok(())
    }

    /// Decides whether an allow rule from `from` may apply, recording relaxations.
    fn admit(
        &mut self,
        path: &Path,
        access: Access,
        from: &Provenance,
        may_relax: &[PathBuf],
    ) -> bool {
        let verb = match access {
            Access::Read => "read",
            Access::Write => "write",
        };
        let what = format!("{verb} {}", path.display());
        if access == Access::Write && self.mandatory_covers(path) {
            self.relaxations.push(Relaxation {
                what,
                by: from.clone(),
                granted: false,
                reason: "a built-in mandatory denial covers it (only the global `dangerously_unprotect` lifts one)".into(),
            });
            return false;
        }
        let (effect, _) = self.decide(path, access);
        if effect == Effect::Allow {
            return true;
        }
        let (granted, reason) = if from.layer.trusted() {
            (true, "set by a trusted layer".to_owned())
        } else if may_relax.iter().any(|allowed| under(path, allowed)) {
            (
                true,
                "below a `project_may_relax` path of the global policy".to_owned(),
            )
        } else {
            (
                false,
                "the global policy's `project_may_relax` does not cover it".to_owned(),
            )
        };
        self.relaxations.push(Relaxation {
            what,
            by: from.clone(),
            granted,
            reason,
        });
        granted
    }

    fn mandatory_covers(&self, path: &Path) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.mandatory && under(path, &rule.path))
    }

    /// Indexes the rules by path once no more are added (see [`RuleIndex`]).
    fn freeze(&mut self) {
        self.index = Some(RuleIndex::new(&self.rules));
    }

    /// The effect for `path`, and the rule that decided it.
    fn decide(&self, path: &Path, access: Access) -> (Effect, Option<&Rule>) {
        if let Some(index) = &self.index {
            return index.decide(&self.rules, path, access);
        }
        decide_in(&self.rules, path, access)
    }

    fn provenance(&self, path: &Path, access: Access) -> Provenance {
        self.decide(path, access)
            .1
            .map(|rule| rule.from.clone())
            .unwrap_or(Provenance {
                layer: Layer::Default,
                origin: "built-in".into(),
            })
    }
}

#[cfg(test)]
mod path_tests {
    use super::*;
    use crate::plan::depth;

    #[test]
    fn under_and_depth_agree_with_path() {
        for (path, base) in [
            ("/a/b", "/a"),
            ("/a", "/a"),
            ("/ab", "/a"),
            ("/a", "/"),
            ("/", "/"),
            ("/a/b/c", "/a/b/c/d"),
        ] {
            assert_eq!(
                under(Path::new(path), Path::new(base)),
                Path::new(path).starts_with(base),
                "{path} {base}"
            );
        }
        for path in ["/", "/a", "/a/b/c"] {
            assert_eq!(
                depth(Path::new(path)),
                Path::new(path).components().count(),
                "{path}"
            );
        }
    }
}
