//! Resolution: layers in, Plan out.
//!
//! Rules are collected layer by layer (defaults, global, `--policy` files, project,
//! flags). For a path the most specific rule wins; on a tie, deny wins; mandatory write
//! denials are checked before anything else. The project's file is untrusted (it comes
//! with the code): where it allows what a trusted layer denies, the relaxation is
//! granted only below a `project_may_relax` path of the global file, and recorded either
//! way. The filesystem is only read (through [`FsView`]) to learn which paths exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::PolicyLocations;
use crate::catalog;
use crate::defaults::{self, KERNEL_HIDDEN};
use crate::env::{self, Pattern};
use crate::error::PolicyError;
use crate::fsview::{FsView, Kind};
use crate::index::RuleIndex;
use crate::network::NetworkPlan;
use crate::plan::{
    Access, Creation, CreationLock, Effect, EnvRemoval, LandlockPlan, Layer, Mount, Plan,
    Provenance, Relaxation, Rule, SeccompPlan,
};
use crate::plan::{decide_in, depth, under};
use crate::schema::{NetworkMode, PolicyFile, Weaker, expand_path, load_policy};

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
    let (env, env_removed) = resolver.environment(&ordered, &context.env);
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

    fn network_and_sockets(
        &mut self,
        ordered: &[(Layer, String, &PolicyFile)],
    ) -> Result<(NetworkPlan, bool), PolicyError> {
        let network = crate::network::resolve_network(ordered, &mut self.relaxations)?;
        let mut unix = false;
        for (layer, origin, file) in ordered {
            let from = Provenance {
                layer: *layer,
                origin: origin.clone(),
            };
            if let Some(sockets) = file.sockets {
                let wanted = sockets.unix;
                if wanted && !unix {
                    let granted = layer.trusted();
                    self.relaxations.push(Relaxation {
                        what: "sockets unix".into(),
                        by: Provenance {
                            origin: crate::placed::place(origin, sockets.line, sockets.column),
                            ..from
                        },
                        granted,
                        reason: if granted {
                            "set by a trusted layer".into()
                        } else {
                            "a project cannot allow unix sockets; set it globally or with --policy"
                                .into()
                        },
                    });
                    unix |= granted;
                } else if !wanted {
                    unix = false;
                }
            }
        }
        Ok((network, unix))
    }

    fn environment(
        &mut self,
        ordered: &[(Layer, String, &PolicyFile)],
        host_env: &[(String, String)],
    ) -> (Vec<(String, String)>, Vec<EnvRemoval>) {
        let mut deny: Vec<Pattern> = env::DEFAULT_DENY
            .iter()
            .map(|p| Pattern {
                pattern: (*p).to_owned(),
                origin: "default (built-in)".into(),
                builtin: true,
            })
            .collect();
        let mut allow = Vec::new();
        let mut set = BTreeMap::new();
        for (layer, origin, file) in ordered {
            let from = Provenance {
                layer: *layer,
                origin: origin.clone(),
            };
            deny.extend(file.environment.deny.iter().map(|p| Pattern {
                pattern: p.clone(),
                origin: from.to_string(),
                builtin: false,
            }));
            for pattern in &file.environment.allow {
                if layer.trusted() {
                    allow.push(Pattern {
                        pattern: pattern.text.clone(),
                        origin: from.to_string(),
                        builtin: false,
                    });
                } else {
                    self.relaxations.push(Relaxation {
                        what: format!("env {pattern}"),
                        by: Provenance {
                            layer: *layer,
                            origin: pattern.place(origin),
                        },
                        granted: false,
                        reason: "a project cannot pass credentials through; allow it globally"
                            .into(),
                    });
                }
            }
            for (name, value) in &file.environment.set {
                set.insert(name.clone(), value.clone());
            }
        }
        let (mut kept, removed) = env::scrub(host_env, &deny, &allow);
        kept.retain(|(name, _)| !set.contains_key(name));
        kept.extend(set);
        let removed = removed
            .into_iter()
            .map(|(name, because)| EnvRemoval { name, because })
            .collect();
        (kept, removed)
    }

    /// The filesystem view, outermost first.
    fn mounts(&mut self) -> Vec<Mount> {
        let tmp = PathBuf::from("/tmp");
        let mut mounts = vec![
            Mount::ReadOnlyHost,
            Mount::PrivateTmp { path: tmp.clone() },
            Mount::MinimalDev,
            Mount::FreshProc,
        ];
        let built_in = Provenance {
            layer: Layer::Default,
            origin: "built-in".into(),
        };
        for hidden in KERNEL_HIDDEN {
            let path = PathBuf::from(hidden);
            if self.fs.kind(&path) == Some(Kind::Dir) {
                mounts.push(Mount::HideDir {
                    path,
                    because: built_in.clone(),
                });
            }
        }
        let pins = self.pins();
        let paths: Vec<PathBuf> = self
            .rules
            .iter()
            .map(|rule| rule.path.clone())
            .chain(pins.iter().cloned())
            .filter(|path| path.as_os_str() != "/" && path.as_os_str() != tmp.as_os_str())
            .collect();
        // Byte order and byte equality: `Path`'s own comparisons walk components, which
        // is most of resolution's time.
        // Each path's depth is counted once, not at every comparison.
        let mut keyed: Vec<(usize, PathBuf)> =
            paths.into_iter().map(|path| (depth(&path), path)).collect();
        keyed.sort_by(|(da, a), (db, b)| {
            (da, a.as_os_str().as_encoded_bytes()).cmp(&(db, b.as_os_str().as_encoded_bytes()))
        });
        let mut paths: Vec<PathBuf> = keyed.into_iter().map(|(_, path)| path).collect();
        paths.dedup_by(|a, b| a.as_os_str() == b.as_os_str());
        // (path, shows the host's content, writable) of the view, as mounts are added.
        let mut view: Vec<(PathBuf, bool, bool)> =
            vec![(PathBuf::from("/"), true, false), (tmp, false, true)];
        let explicit_allows: std::collections::HashSet<&std::ffi::OsStr> = self
            .rules
            .iter()
            .filter(|rule| rule.effect == Effect::Allow)
            .map(|rule| rule.path.as_os_str())
            .collect();
        let explicit_allows: std::collections::HashSet<std::ffi::OsString> =
            explicit_allows.into_iter().map(ToOwned::to_owned).collect();
        for path in paths {
            let explicit_allow = explicit_allows.contains(path.as_os_str());
            let Some(kind) = self.fs.kind(&path) else {
                if explicit_allow {
                    self.missing_allowed(&path, &view);
                }
                continue;
            };
            let readable = self.decide(&path, Access::Read).0 == Effect::Allow;
            let writable = self.decide(&path, Access::Write).0 == Effect::Allow;
            let (shows_host, current_writable) = view
                .iter()
                .filter(|(at, _, _)| under(&path, at))
                .max_by_key(|(at, _, _)| depth(at))
                .map_or((true, false), |(_, host, writable)| (*host, *writable));
            if !readable {
                if shows_host {
                    let because = self.provenance(&path, Access::Read);
                    mounts.push(match kind {
                        Kind::Dir => Mount::HideDir {
                            path: path.clone(),
                            because,
                        },
                        Kind::File => Mount::HideFile {
                            path: path.clone(),
                            because,
                        },
                    });
                    view.push((path, false, false));
                }
                continue;
            }
            let pinned = writable && shows_host && pins.contains(&path);
            if !pinned
                && ((shows_host && current_writable == writable)
                    || (!shows_host && !explicit_allow))
            {
                continue;
            }
            let access = if writable || current_writable {
                Access::Write
            } else {
                Access::Read
            };
            let because = self.provenance(&path, access);
            mounts.push(Mount::Bind {
                path: path.clone(),
                writable,
                because,
            });
            view.push((path, true, writable));
        }
        mounts
    }

    /// A path an allow rule names that does not exist: to be created when it is meant
    /// to be written and its directory is read-only in the view (the command could not
    /// create it), otherwise a note.
    fn missing_allowed(&mut self, path: &Path, view: &[(PathBuf, bool, bool)]) {
        let write_rule = self
            .rules
            .iter()
            .rev()
            .find(|rule| {
                rule.path.as_os_str() == path.as_os_str()
                    && rule.access == Access::Write
                    && rule.effect == Effect::Allow
            })
            .map(|rule| rule.from.clone());
        let writable = self.decide(path, Access::Write).0 == Effect::Allow;
        let parent_writable = view
            .iter()
            .filter(|(at, _, _)| under(path, at))
            .max_by_key(|(at, _, _)| depth(at))
            .is_some_and(|(_, _, writable)| *writable);
        match write_rule {
            Some(by) if writable && !parent_writable => self.create.push(Creation {
                path: path.to_path_buf(),
                by,
            }),
            _ => self.notes.push(format!(
                "{} does not exist: nothing is mounted for it",
                path.display()
            )),
        }
    }

    /// Writable directories above an existing protected path, up to the top of the
    /// writable region. Each becomes a mount point (bound onto itself), which the
    /// kernel refuses to rename or remove: otherwise `mv .git old; mkdir .git` would
    /// leave the protection behind with the old directory.
    fn pins(&self) -> Vec<PathBuf> {
        let mut pins = Vec::new();
        for rule in &self.rules {
            if !(rule.mandatory && rule.access == Access::Write && rule.effect == Effect::Deny)
                || self.fs.kind(&rule.path).is_none()
            {
                continue;
            }
            for ancestor in rule.path.ancestors().skip(1) {
                let Some(parent) = ancestor.parent() else {
                    break;
                };
                if self.fs.kind(ancestor) != Some(Kind::Dir)
                    || self.decide(ancestor, Access::Write).0 != Effect::Allow
                    || self.decide(parent, Access::Write).0 != Effect::Allow
                {
                    break;
                }
                pins.push(ancestor.to_path_buf());
            }
        }
        pins.sort();
        pins.dedup();
        pins
    }

    fn landlock(&self, mounts: &[Mount], deny_tcp: bool) -> LandlockPlan {
        // Missing denied paths under a writable directory: lock creation on the nearest
        // existing ancestor and every writable ancestor above it.
        let mut locks: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
        let mut writable_dirs: std::collections::HashMap<std::ffi::OsString, bool> =
            std::collections::HashMap::new();
        for rule in &self.rules {
            // A symlink at a denied path: the bind covers its target, but the link itself
            // could be removed and re-created, so its directory is locked as well.
            if rule.access != Access::Write
                || rule.effect != Effect::Deny
                || (self.fs.kind(&rule.path).is_some() && !self.fs.is_symlink(&rule.path))
            {
                continue;
            }
            for ancestor in rule.path.ancestors().skip(1) {
                if self.fs.kind(ancestor).is_none() {
                    continue;
                }
                // Many missing paths share their ancestors (the project, the home
                // directory): decide each once.
                let writable = *writable_dirs
                    .entry(ancestor.as_os_str().to_owned())
                    .or_insert_with(|| self.decide(ancestor, Access::Write).0 == Effect::Allow);
                if !writable {
                    break;
                }
                locks
                    .entry(ancestor.to_path_buf())
                    .or_default()
                    .push(rule.path.clone());
            }
        }
        let mut roots: Vec<PathBuf> = vec![PathBuf::from("/tmp"), PathBuf::from("/dev")];
        roots.extend(mounts.iter().filter_map(|mount| match mount {
            Mount::Bind {
                path,
                writable: true,
                ..
            } => Some(path.clone()),
            _ => None,
        }));
        let mut write = Vec::new();
        let mut no_create = Vec::new();
        let mut stack = roots;
        while let Some(dir) = stack.pop() {
            match locks.get(&dir) {
                Some(because) => {
                    no_create.push(CreationLock {
                        dir: dir.clone(),
                        because: because.clone(),
                    });
                    for name in self.fs.list(&dir) {
                        let child = dir.join(name);
                        if self.fs.kind(&child) == Some(Kind::Dir)
                            && self.decide(&child, Access::Write).0 == Effect::Allow
                        {
                            stack.push(child);
                        }
                    }
                }
                None => write.push(dir),
            }
        }
        write.sort();
        write.dedup();
        no_create.sort_by(|a, b| a.dir.cmp(&b.dir));
        no_create.dedup();
        LandlockPlan {
            read: vec![PathBuf::from("/")],
            write,
            no_create,
            devices: vec![PathBuf::from("/dev")],
            deny_tcp,
            scoped: true,
        }
    }
}

#[cfg(test)]
mod path_tests {
    use super::*;

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
