//! Workspaces the `sbom` stage describes besides cordon's own: one with every awkward
//! piece of metadata crates.io lets through, and a third-party one made of real registry
//! crates from cargo's local cache (resolved offline).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::run;

/// Writes (afresh) a workspace whose metadata is everything crates.io lets through.
pub(crate) fn awkward_workspace(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    let file = |path: &str, text: &str| -> Result<()> {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    // A git dependency from a local repository (no network).
    file(
        "gitdep/Cargo.toml",
        "[package]\nname = \"git_dep\"\nversion = \"0.0.1-alpha.1\"\nedition = \"2021\"\n",
    )?;
    file("gitdep/src/lib.rs", "")?;
    let git = |args: &[&str]| {
        run::status(
            run::command("git", &dir.join("gitdep"))
                .args(["-c", "user.name=x", "-c", "user.email=x@example.com"])
                .args(["-c", "commit.gpgsign=false"])
                .args(args),
        )
    };
    git(&["init", "-q"])?;
    git(&["add", "."])?;
    git(&["commit", "-q", "-m", "x"])?;
    let url = format!("file://{}", dir.join("gitdep").display());
    file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"awk_app\", \"weird_lib\", \"ref_lib\"]\n",
    )?;
    file(
        "awk_app/Cargo.toml",
        &format!(
            "[package]\nname = \"awk_app\"\nversion = \"1.0.0+build.7\"\nedition = \"2021\"\nlicense = \"MIT/Apache-2.0\"\nauthors = [\"rhysd <https://rhysd.github.io>\", \"Jane Doe <jane@example.com>\", \"<only@example.org>\"]\ndescription = \"\"\"Line one,\n  \\\"quoted\\\" line two\"\"\"\nrepository = \"github.com/not a url\"\nhomepage = \"https://example.com/a b\"\n\n[dependencies]\nweird_lib = {{ path = \"../weird_lib\" }}\nref_lib = {{ path = \"../ref_lib\" }}\ngit_dep = {{ git = \"{url}\" }}\n"
        ),
    )?;
    file("awk_app/src/main.rs", "fn main() {}\n")?;
    file(
        "weird_lib/Cargo.toml",
        "[package]\nname = \"weird_lib\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"Apache 2\"\nauthors = [\"\"]\ndocumentation = \"docs.rs/weird_lib\"\n",
    )?;
    file("weird_lib/src/lib.rs", "")?;
    file(
        "ref_lib/Cargo.toml",
        "[package]\nname = \"ref_lib\"\nversion = \"0.2.0\"\nedition = \"2021\"\nlicense = \"LicenseRef-Vendor-1 OR MIT\"\n",
    )?;
    file("ref_lib/src/lib.rs", "")?;
    run::status(run::command("cargo", dir).args(["generate-lockfile", "--quiet"]))?;
    Ok(dir.to_path_buf())
}

/// Writes (afresh) a binary crate depending on third-party crates (serde_json, sha2,
/// clap with derive) and locks it offline against cargo's local registry cache, as every
/// machine that built cordon has them.
pub(crate) fn third_party_workspace(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    fs::write(
        dir.join("Cargo.toml"),
        // Its own workspace: it is written below this one's target/.
        "[workspace]\n\n[package]\nname = \"thirdparty-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\nrepository = \"https://example.org/thirdparty/app\"\n\n[dependencies]\nserde_json = \"1\"\nsha2 = \"0.10\"\nclap = { version = \"4\", features = [\"derive\"] }\n",
    )
    .with_context(|| format!("cannot write {}", dir.display()))?;
    fs::write(dir.join("src/main.rs"), "fn main() {}\n")
        .with_context(|| format!("cannot write {}", dir.display()))?;
    // The project's own licence file, with its notice, as a real project has.
    let mit = spdx_mit_text().replace("<year> <copyright holders>", "2026 Third Party Developers");
    fs::write(dir.join("LICENSE"), mit)
        .with_context(|| format!("cannot write {}", dir.display()))?;
    run::status(run::command("cargo", dir).args(["generate-lockfile", "--offline", "--quiet"]))
        .context("cannot lock the third-party workspace offline (are serde_json, sha2 and clap in cargo's cache? `cargo fetch` in this workspace puts them there)")?;
    Ok(dir.to_path_buf())
}

/// The MIT licence as the SPDX list has it (`Copyright (c) <year> <copyright holders>`).
fn spdx_mit_text() -> String {
    "MIT License\n\nCopyright (c) <year> <copyright holders>\n\n\
     Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\n\
     The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.\n\n\
     THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n"
        .to_owned()
}
