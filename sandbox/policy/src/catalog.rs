//! The built-in protection lists as data: which paths no layer may write (files that
//! programs outside the sandbox run or load later), which are hidden (credentials), and
//! which names were considered and left out, each with a reason and a source. The lists
//! live in `catalog.yaml`, which the build script turns into statics; `docs/sandbox.md`
//! shows them (a unit test keeps the two equal).

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where an entry's path is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Where {
    /// Relative to the project directory.
    Project,
    /// Relative to the home directory.
    Home,
    /// Both.
    Both,
}

/// One built-in entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The path, relative to the project or the home directory (a last `*` globs one
    /// level, only in `hide`).
    pub path: &'static str,
    /// Project, home, or both.
    pub scope: Where,
    /// A short group name (`agent host`, `shell`, `package registry`...).
    pub group: &'static str,
    /// Why, in one line.
    pub reason: &'static str,
    /// Where the behaviour is documented (a URL, often a CVE).
    pub source: &'static str,
}

impl Entry {
    /// The absolute paths this entry names for `project` and `home`.
    pub fn paths(&self, project: &Path, home: Option<&Path>) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if matches!(self.scope, Where::Project | Where::Both) {
            out.push(project.join(self.path));
        }
        if let (Where::Home | Where::Both, Some(home)) = (self.scope, home) {
            out.push(home.join(self.path));
        }
        out
    }

    /// `group: reason (source)`, as `explain` shows it.
    pub fn because(&self) -> String {
        format!("{}: {} ({})", self.group, self.reason, self.source)
    }
}

/// A name considered for the lists and left out on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Considered {
    /// The names.
    pub path: &'static str,
    /// Why they are not protected.
    pub reason: &'static str,
}

/// The built-in lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// Mandatory write denials (existing or not).
    pub protect: &'static [Entry],
    /// Unreadable by default.
    pub hide: &'static [Entry],
    /// Considered and left out.
    pub not_protected: &'static [Considered],
}

mod data {
    use super::{Considered, Entry, Where};
    include!(concat!(env!("OUT_DIR"), "/catalog.rs"));
}

/// The built-in lists (`catalog.yaml`, turned into statics by the build script).
pub fn builtin() -> &'static Catalog {
    static CATALOG: Catalog = Catalog {
        protect: data::PROTECT,
        hide: data::HIDE,
        not_protected: data::NOT_PROTECTED,
    };
    &CATALOG
}

#[cfg(test)]
fn markdown() -> String {
    let catalog = builtin();
    let mut out = String::new();
    let table = |out: &mut String, title: &str, entries: &[Entry]| {
        out.push_str(&format!(
            "\n{title}\n\n| path | where | group | why | source |\n| --- | --- | --- | --- | --- |\n"
        ));
        for entry in entries {
            let scope = match entry.scope {
                Where::Project => "project",
                Where::Home => "home",
                Where::Both => "both",
            };
            out.push_str(&format!(
                "| `{}` | {scope} | {} | {} | <{}> |\n",
                entry.path,
                entry.group,
                entry.reason.replace('|', "\\|"),
                entry.source
            ));
        }
    };
    table(
        &mut out,
        "**Never writable** (mandatory write denials; existing and missing paths):",
        catalog.protect,
    );
    table(
        &mut out,
        "**Hidden** (unreadable unless a trusted layer's `allow_read` re-opens them):",
        catalog.hide,
    );
    out.push_str("\n**Considered and not protected:**\n\n| names | why not |\n| --- | --- |\n");
    for considered in catalog.not_protected {
        out.push_str(&format!(
            "| `{}` | {} |\n",
            considered.path,
            considered.reason.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_parses_and_every_entry_is_sound() {
        let catalog = builtin();
        assert!(catalog.protect.len() > 40 && catalog.hide.len() > 40);
        for entry in catalog.protect.iter().chain(catalog.hide) {
            assert!(
                !entry.path.is_empty() && !entry.path.starts_with('/'),
                "{entry:?}"
            );
            assert!(!entry.path.contains(".."), "{entry:?}");
            assert!(entry.source.starts_with("https://"), "{entry:?}");
            assert!(
                !entry.reason.is_empty() && !entry.reason.contains('\n'),
                "{entry:?}"
            );
        }
        // The creation guard compares whole paths: no globs among the write denials.
        for entry in catalog.protect {
            assert!(!entry.path.contains('*'), "{entry:?}");
        }
        let mut names: Vec<(&str, Where)> =
            catalog.protect.iter().map(|e| (e.path, e.scope)).collect();
        names.sort_by_key(|(path, _)| *path);
        let before = names.len();
        names.dedup_by_key(|(path, _)| *path);
        assert_eq!(before, names.len(), "a path is listed twice in `protect`");
    }

    #[test]
    fn docs_show_the_catalog() {
        let docs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sandbox.md");
        let docs = std::fs::read_to_string(&docs_path).unwrap();
        let (begin, end) = ("<!-- catalog:begin -->\n", "<!-- catalog:end -->");
        let start = docs.find(begin).map(|at| at + begin.len());
        let stop = docs.find(end);
        let expected = markdown();
        let current = match (start, stop) {
            (Some(start), Some(stop)) if start <= stop => &docs[start..stop],
            _ => "",
        };
        if current != expected && std::env::var_os("CORDON_BLESS").is_some() {
            let (Some(start), Some(stop)) = (start, stop) else {
                panic!("docs/sandbox.md lacks the catalog markers");
            };
            let updated = format!("{}{expected}{}", &docs[..start], &docs[stop..]);
            std::fs::write(&docs_path, updated).unwrap();
            return;
        }
        assert!(
            current == expected,
            "docs/sandbox.md's built-in lists differ from catalog.yaml; rerun with CORDON_BLESS=1 to rewrite them"
        );
    }
}
