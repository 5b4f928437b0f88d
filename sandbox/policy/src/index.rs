//! The rules indexed by path, so that deciding a path looks up its ancestors instead of
//! scanning every rule: the built-in lists make a few hundred rules, and the view, the
//! Landlock ruleset and the pins are decided path by path.

use std::collections::HashMap;
use std::path::Path;

use crate::plan::{Access, Effect, Rule};

/// Rule positions by their path's bytes.
#[derive(Debug)]
pub(crate) struct RuleIndex(HashMap<Vec<u8>, Vec<usize>>);

impl RuleIndex {
    /// The index of `rules` (which must not change afterwards).
    pub(crate) fn new(rules: &[Rule]) -> RuleIndex {
        let mut index: HashMap<Vec<u8>, Vec<usize>> = HashMap::with_capacity(rules.len());
        for (at, rule) in rules.iter().enumerate() {
            index
                .entry(rule.path.as_os_str().as_encoded_bytes().to_vec())
                .or_default()
                .push(at);
        }
        RuleIndex(index)
    }

    /// [`crate::plan::decide_in`] through the index: the deepest ancestor (or the path)
    /// with rules decides, as the scan's "mandatory write denials first; most specific
    /// wins; on a tie deny wins; the last rule of a kind is the one named".
    pub(crate) fn decide<'r>(
        &self,
        rules: &'r [Rule],
        path: &Path,
        access: Access,
    ) -> (Effect, Option<&'r Rule>) {
        let bytes = path.as_os_str().as_encoded_bytes();
        let ancestors = std::iter::successors(Some(bytes), |current| {
            if *current == b"/" {
                return None;
            }
            let cut = current.iter().rposition(|b| *b == b'/')?;
            Some(if cut == 0 { &b"/"[..] } else { &current[..cut] })
        });
        let mut best: Option<&Rule> = None;
        for ancestor in ancestors {
            let Some(at) = self.0.get(ancestor) else {
                continue;
            };
            let here = at.iter().map(|i| &rules[*i]);
            if access == Access::Write
                && let Some(rule) = here.clone().rfind(|rule| rule.mandatory)
            {
                return (Effect::Deny, Some(rule));
            }
            if best.is_none() {
                let matching = here.filter(|rule| rule.access == access);
                best = matching
                    .clone()
                    .rfind(|rule| rule.effect == Effect::Deny)
                    .or_else(|| matching.clone().next_back());
            }
            // A read has no mandatory rule above to find.
            if best.is_some() && access == Access::Read {
                break;
            }
        }
        match best {
            Some(rule) => (rule.effect, Some(rule)),
            None => (Effect::Allow, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::plan::{Layer, Provenance, decide_in};
    use crate::{Context, FakeFs, Layers, parse_policy, resolve};

    #[test]
    fn the_index_decides_as_the_scan_does() {
        let fs = FakeFs::default()
            .dir("/p/.git/hooks")
            .dir("/p/src/deep")
            .dir("/home/u/.ssh")
            .dir("/home/u/.cache");
        let flags = parse_policy(
            "version: 1\nfilesystem:\n  allow_write: [~/.cache, src/deep/x, .vscode/y]\n  deny_write: [src, ~/.cache/z]\n  deny_read: [src/deep, ~/.cache]\n  allow_read: [src/deep/x, ~/.ssh/pub]\n",
            Path::new("f.yaml"),
        )
        .unwrap();
        let context = Context {
            project: PathBuf::from("/p"),
            cwd: PathBuf::from("/p"),
            env: vec![("HOME".into(), "/home/u".into())],
            global_policy: None,
        };
        let layers = Layers {
            flags,
            ..Layers::default()
        };
        let mut rules = resolve(&layers, &context, &fs).unwrap().rules;
        // Ties: the same path twice with both effects, and a second mandatory rule.
        let from = Provenance {
            layer: Layer::Flags,
            origin: "test".into(),
        };
        for (path, effect, mandatory) in [
            ("/p/src", Effect::Allow, false),
            ("/p/.claude", Effect::Deny, true),
        ] {
            rules.push(Rule {
                path: PathBuf::from(path),
                access: Access::Write,
                effect,
                mandatory,
                from: from.clone(),
                reason: None,
            });
        }
        let index = RuleIndex::new(&rules);
        let mut paths: Vec<PathBuf> = rules.iter().map(|r| r.path.clone()).collect();
        for extra in [
            "/",
            "/p",
            "/p/src/deep/x/y",
            "/p/.git/hooks/pre-commit",
            "/p/.claude/settings.json",
            "/home/u/.cache/z/q",
            "/etc/passwd",
            "/pp",
        ] {
            paths.push(PathBuf::from(extra));
        }
        for path in &paths {
            for access in [Access::Read, Access::Write] {
                assert_eq!(
                    index.decide(&rules, path, access),
                    decide_in(&rules, path, access),
                    "{} {access:?}",
                    path.display()
                );
            }
        }
    }
}
