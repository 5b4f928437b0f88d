//! The Rust toolchain that built the binaries, as two components of every document:
//! `rustc` (the compiler, a build tool not linked into the binaries) and `std` (the
//! standard library with `core`, `alloc` and the crates the toolchain builds them from,
//! precompiled for the target and linked into every binary). Their identities and the
//! marker that tells readers they are not crates are [`cordon_format::toolchain`]'s.
//!
//! - Version, commit, commit date, host and LLVM version: `rustc -vV` (the same `rustc`
//!   cargo uses: `$RUSTC`, else `rustc` on the path).
//! - Supplier: "The Rust Project Developers", <https://www.rust-lang.org> (the documented
//!   rule for the toolchain, `docs/sbom.md`).
//! - Declared licence `MIT OR Apache-2.0`. Concluded licence and copyright from the
//!   toolchain's own files under `rustc --print sysroot`: the root entry (`File/Directory:
//!   .`) of `share/doc/rust/COPYRIGHT.html` (rustc) or `COPYRIGHT-library.html` (std),
//!   with the licence texts `share/doc/rust/licenses/MIT.txt` and `Apache-2.0.txt`. The
//!   licence is concluded only when the root entry names exactly MIT and Apache-2.0 as
//!   alternatives and both texts are there; without those files both are NOASSERTION.
//!   The files list exceptions for vendored parts (LLVM, compiler-builtins); they are not
//!   itemised.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use cordon_format::toolchain::ToolchainPart;

use crate::Error;
use crate::license;
use crate::model::{BinaryItem, Item};
use crate::notices::CopyrightOrigin;
use crate::purl::CrateSource;
use crate::supplier::{Supplier, SupplierRule};

/// The licence the Rust project states for the compiler and the standard library.
const DECLARED: &str = "MIT OR Apache-2.0";
/// Where the toolchain's copyright files are, relative to the sysroot.
const DOC_DIR: &str = "share/doc/rust";
/// The root entry is near the top of each file (`COPYRIGHT.html` is 14 MB).
const READ_AT_MOST: u64 = 256 * 1024;

/// What `rustc -vV` says, and what the sysroot's files say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Toolchain {
    /// `release:` (`1.95.0`).
    pub(crate) version: String,
    pub(crate) commit_hash: Option<String>,
    pub(crate) commit_date: Option<String>,
    pub(crate) host: String,
    pub(crate) llvm: Option<String>,
    /// The sysroot, when `rustc --print sysroot` answered.
    pub(crate) sysroot: Option<PathBuf>,
}

impl Toolchain {
    /// Asks `$RUSTC` (else `rustc`) for its version and host (`rustc -vV`), then, run in
    /// `dir`, for its sysroot and the cfg values of `target` (the host when `None`) in one
    /// start-up (`rustc --print sysroot --print cfg --target T`). Returns the toolchain,
    /// the target triple and the cfg lines (`None` when rustc cannot say: an unknown
    /// target; the sysroot is then asked alone).
    pub(crate) fn query(
        dir: &Path,
        target: Option<&str>,
    ) -> Result<(Self, String, Option<String>), Error> {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let output = Command::new(&rustc)
            .arg("-vV")
            .output()
            .map_err(|source| Error::Spawn {
                command: "rustc -vV".into(),
                source,
            })?;
        let text = String::from_utf8_lossy(&output.stdout);
        let mut toolchain = Self::parse(&text)?;
        let target = target.map_or_else(|| toolchain.host.clone(), str::to_owned);
        let answer = |args: &[&str], dir: Option<&Path>| {
            let mut command = Command::new(&rustc);
            command.args(args);
            if let Some(dir) = dir {
                command.current_dir(dir);
            }
            command
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        };
        let sysroot_path =
            |line: &str| Some(PathBuf::from(line.trim())).filter(|path| path.is_absolute());
        let cfg = match answer(
            &["--print", "sysroot", "--print", "cfg", "--target", &target],
            Some(dir),
        ) {
            Some(both) => {
                let (sysroot, cfg) = both.split_once('\n').unwrap_or((both.as_str(), ""));
                toolchain.sysroot = sysroot_path(sysroot);
                Some(cfg.to_owned())
            }
            None => {
                toolchain.sysroot =
                    answer(&["--print", "sysroot"], None).and_then(|text| sysroot_path(&text));
                None
            }
        };
        Ok((toolchain, target, cfg))
    }

    /// The toolchain from `rustc -vV`'s output (the sysroot is asked separately).
    pub(crate) fn parse(text: &str) -> Result<Self, Error> {
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
                .map(str::trim)
                .filter(|value| !value.is_empty() && *value != "unknown")
                .map(str::to_owned)
        };
        let missing = |what: &str| Error::Tree {
            message: format!("`rustc -vV` did not print the {what} (it printed: {text:?})"),
        };
        let version = field("release").ok_or_else(|| missing("release"))?;
        if !cordon_format::toolchain::is_rust_version(&version) {
            return Err(Error::Tree {
                message: format!(
                    "`rustc -vV` printed release `{version}`, which is not a Rust version (x.y.z[-pre]); check $RUSTC"
                ),
            });
        }
        Ok(Self {
            version,
            commit_hash: field("commit-hash"),
            commit_date: field("commit-date"),
            host: field("host").ok_or_else(|| missing("host triple"))?,
            llvm: field("LLVM version"),
            sysroot: None,
        })
    }

    /// The two components, ready to render: `rustc`, then `std` (built for `target`).
    pub(crate) fn items(&self, target: &str) -> Vec<Item> {
        ToolchainPart::ALL
            .into_iter()
            .map(|part| self.item(part, target))
            .collect()
    }

    fn item(&self, part: ToolchainPart, target: &str) -> Item {
        let purl = part.purl(&self.version);
        let found = evidence(self.sysroot.as_deref(), part);
        let description = match part {
            ToolchainPart::Rustc => format!(
                "The Rust compiler that built the binaries (host {}); a build tool, not linked into them",
                self.host
            ),
            ToolchainPart::Std => format!(
                "The Rust standard library (std, core, alloc and the crates the toolchain builds them from), precompiled for {target} and linked into every binary"
            ),
        };
        Item {
            bom_ref: purl.clone(),
            spdx_id: format!(
                "SPDXRef-Toolchain-{}-{}",
                part.name(),
                crate::model::spdx_safe(&self.version)
            ),
            name: part.name().to_owned(),
            version: self.version.clone(),
            purl,
            source: CrateSource::Path,
            sha256: None,
            licence: license::normalise(DECLARED),
            authors: Vec::new(),
            description: Some(description),
            homepage: Some("https://www.rust-lang.org".to_owned()),
            repository: Some("https://github.com/rust-lang/rust".to_owned()),
            documentation: None,
            download: None,
            supplier: Some(Supplier {
                name: "The Rust Project Developers".to_owned(),
                url: Some("https://www.rust-lang.org".to_owned()),
                emails: Vec::new(),
                rule: SupplierRule::Toolchain,
            }),
            copyright: found.copyright,
            copyright_origin: found.origin,
            concluded: found.concluded,
            licence_files: found.files,
            // The toolchain's licence is concluded from its COPYRIGHT files or not at all.
            licence_statements: Vec::new(),
            crate_file: None,
            links: None,
            toolchain: Some(part),
        }
    }

    /// `(name, value)` facts about a part for the documents' properties and comments.
    pub(crate) fn facts(&self, part: ToolchainPart, target: &str) -> Vec<(&'static str, String)> {
        let mut facts = vec![("cordon:toolchain", part.name().to_owned())];
        facts.extend(
            self.commit_hash
                .iter()
                .map(|hash| ("cordon:toolchain:commit", hash.clone())),
        );
        facts.extend(
            self.commit_date
                .iter()
                .map(|date| ("cordon:toolchain:commit-date", date.clone())),
        );
        match part {
            ToolchainPart::Rustc => {
                facts.push(("cordon:toolchain:host", self.host.clone()));
                facts.extend(
                    self.llvm
                        .iter()
                        .map(|llvm| ("cordon:toolchain:llvm", llvm.clone())),
                );
            }
            ToolchainPart::Std => facts.push(("cordon:toolchain:target", target.to_owned())),
        }
        facts
    }

    /// The SPDX documents' comment on a part: its role, its facts as `name=value`, then
    /// `rest` (the comment the part's item already carries).
    pub(crate) fn spdx_comment(&self, part: ToolchainPart, target: &str, rest: &str) -> String {
        let facts: Vec<String> = self
            .facts(part, target)
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        format!("{}; {}; {rest}", part.role(), facts.join(", "))
    }
}

/// Adds the toolchain's components to the dependency graph: std is linked into every
/// binary; neither depends on anything the document describes.
pub(crate) fn link(
    toolchain: &[Item],
    binaries: &[BinaryItem],
    dependencies: &mut BTreeMap<String, Vec<String>>,
) {
    for item in toolchain {
        if item.toolchain == Some(ToolchainPart::Std) {
            for binary in binaries {
                if let Some(targets) = dependencies.get_mut(&binary.item.bom_ref) {
                    targets.push(item.bom_ref.clone());
                    targets.sort();
                }
            }
        }
        dependencies.insert(item.bom_ref.clone(), Vec::new());
    }
}

/// What the toolchain's own files say about a part.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    concluded: Option<String>,
    copyright: Option<String>,
    origin: CopyrightOrigin,
    /// The files read, relative to the sysroot.
    files: Vec<String>,
}

fn evidence(sysroot: Option<&Path>, part: ToolchainPart) -> Found {
    let copyright_file = match part {
        ToolchainPart::Rustc => "COPYRIGHT.html",
        ToolchainPart::Std => "COPYRIGHT-library.html",
    };
    let relative = format!("{DOC_DIR}/{copyright_file}");
    let not_found = |reason: String| Found {
        concluded: None,
        copyright: None,
        origin: CopyrightOrigin::NotExamined { reason },
        files: Vec::new(),
    };
    let Some(sysroot) = sysroot else {
        return not_found("`rustc --print sysroot` gave no sysroot to read".to_owned());
    };
    let Some(text) = read_head(&sysroot.join(&relative)) else {
        return not_found(format!("the toolchain has no {relative}"));
    };
    let Some((licence, copyright)) = root_entry(&text) else {
        return not_found(format!("{relative} has no root (`.`) entry"));
    };
    let mut files = vec![relative];
    let texts: Vec<String> = ["MIT.txt", "Apache-2.0.txt"]
        .into_iter()
        .map(|name| format!("{DOC_DIR}/licenses/{name}"))
        .filter(|path| sysroot.join(path).is_file())
        .collect();
    let both_texts = texts.len() == 2;
    files.extend(texts);
    let mut alternatives: Vec<&str> = licence.split(" OR ").map(str::trim).collect();
    alternatives.sort_unstable();
    let concluded =
        (both_texts && alternatives == ["Apache-2.0", "MIT"]).then(|| DECLARED.to_owned());
    Found {
        concluded,
        copyright: Some(copyright),
        origin: CopyrightOrigin::LicenceFiles,
        files,
    }
}

fn read_head(path: &Path) -> Option<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(READ_AT_MOST)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The licence and copyright of the `File/Directory: .` entry of a toolchain COPYRIGHT
/// file (HTML as rustc's `generate-copyright` writes it).
fn root_entry(html: &str) -> Option<(String, String)> {
    let start = html.find("<code>.</code>")?;
    let entry = html.get(start..)?;
    let entry = entry.get(..entry.find("File/Directory:").unwrap_or(entry.len()))?;
    let value = |label: &str| {
        let after = entry.get(entry.find(label)? + label.len()..)?;
        let text = after.get(..after.find('<')?)?;
        let text = unescape(text.trim());
        (!text.is_empty()).then_some(text)
    };
    Some((value("<b>License:</b>")?, value("<b>Copyright:</b>")?))
}

fn unescape(text: &str) -> String {
    text.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const VV: &str = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860\ncommit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";

    #[test]
    fn parses_rustc_vv() {
        let toolchain = Toolchain::parse(VV).unwrap();
        assert_eq!(toolchain.version, "1.95.0");
        assert_eq!(toolchain.host, "x86_64-unknown-linux-gnu");
        assert_eq!(toolchain.llvm.as_deref(), Some("22.1.2"));
        assert_eq!(toolchain.commit_date.as_deref(), Some("2026-04-14"));
        let built_locally = VV.replace(
            "commit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860",
            "commit-hash: unknown",
        );
        assert_eq!(Toolchain::parse(&built_locally).unwrap().commit_hash, None);
        let error = Toolchain::parse("release: 1.95\nhost: x\n").unwrap_err();
        assert!(error.to_string().contains("not a Rust version"), "{error}");
    }

    fn sysroot_with(copyright: Option<&str>, texts: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join(DOC_DIR);
        std::fs::create_dir_all(doc.join("licenses")).unwrap();
        if let Some(copyright) = copyright {
            std::fs::write(doc.join("COPYRIGHT-library.html"), copyright).unwrap();
        }
        for name in texts {
            std::fs::write(doc.join("licenses").join(name), "text").unwrap();
        }
        dir
    }

    const ROOT: &str = "<p><b>File/Directory:</b> <code>.</code></p>\n<p><b>License:</b> Apache-2.0 OR MIT</p>\n<p><b>Copyright:</b> The Rust Project Developers (see https://thanks.rust-lang.org)</p>\n<p><b>File/Directory:</b> <code>library/backtrace</code></p><p><b>License:</b> X</p>";

    #[test]
    fn concludes_only_from_the_toolchain_s_files() {
        let full = sysroot_with(Some(ROOT), &["MIT.txt", "Apache-2.0.txt"]);
        let found = evidence(Some(full.path()), ToolchainPart::Std);
        assert_eq!(found.concluded.as_deref(), Some(DECLARED));
        assert_eq!(
            found.copyright.as_deref(),
            Some("The Rust Project Developers (see https://thanks.rust-lang.org)")
        );
        assert_eq!(found.files.len(), 3);
        // A licence text missing: the copyright stands, the licence is not concluded.
        let one_text = sysroot_with(Some(ROOT), &["MIT.txt"]);
        let found = evidence(Some(one_text.path()), ToolchainPart::Std);
        assert_eq!(found.concluded, None);
        assert!(found.copyright.is_some());
        // Another licence at the root: not concluded.
        let other = sysroot_with(
            Some(&ROOT.replace("Apache-2.0 OR MIT", "MIT")),
            &["MIT.txt", "Apache-2.0.txt"],
        );
        assert_eq!(
            evidence(Some(other.path()), ToolchainPart::Std).concluded,
            None
        );
        // No COPYRIGHT file (a minimal install): NOASSERTION for both, and why.
        let bare = sysroot_with(None, &[]);
        let found = evidence(Some(bare.path()), ToolchainPart::Std);
        assert_eq!((found.concluded, found.copyright), (None, None));
        assert!(matches!(
            found.origin,
            CopyrightOrigin::NotExamined { ref reason } if reason.contains("COPYRIGHT-library.html")
        ));
        assert!(matches!(
            evidence(None, ToolchainPart::Rustc).origin,
            CopyrightOrigin::NotExamined { .. }
        ));
    }

    #[test]
    fn items_are_what_readers_recognise() {
        let toolchain = Toolchain::parse(VV).unwrap();
        let items = toolchain.items("x86_64-unknown-linux-gnu");
        for item in &items {
            let part = item.toolchain.unwrap();
            assert_eq!(
                cordon_format::toolchain::recognise(
                    &item.name,
                    &item.version,
                    Some(&item.purl),
                    Some(part.name())
                ),
                Some(part)
            );
        }
        assert_eq!(items[0].purl, "pkg:generic/rustc@1.95.0");
        assert_eq!(items[1].purl, "pkg:generic/std@1.95.0");
    }
}
