//! Resolution of the filesystem view: the mounts (read-only host, private `/tmp`, hidden
//! and writable paths, pins), the paths to create before the run, and the Landlock
//! ruleset that matches the view.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Resolver;
use crate::defaults::KERNEL_HIDDEN;
use crate::fsview::Kind;
use crate::plan::{Access, Creation, CreationLock, Effect, LandlockPlan, Layer, Mount, Provenance};
use crate::plan::{depth, under};

impl Resolver<'_> {
    /// The filesystem view, outermost first.
    pub(super) fn mounts(&mut self) -> Vec<Mount> {
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
    pub(super) fn missing_allowed(&mut self, path: &Path, view: &[(PathBuf, bool, bool)]) {
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
    pub(super) fn pins(&self) -> Vec<PathBuf> {
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

    pub(super) fn landlock(&self, mounts: &[Mount], deny_tcp: bool) -> LandlockPlan {
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
