//! The external validators `cargo xtask test` runs, installed on first use into a cache
//! under `target/tools/` from the pins in `xtask/tools/`: a Python venv
//! (`requirements.txt`), another for the MCP SDK the e2e tests use (`mcp-requirements.txt`),
//! and a Node tree (`package.json` + `package-lock.json`). A stamp
//! holding the pins decides whether the cache is current, so a second run installs
//! nothing and a change of pins reinstalls.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::run;

/// The venv's `bin/` directory, installing the pinned Python tools if needed.
pub(crate) fn python_bin(root: &Path) -> Result<PathBuf> {
    venv(root, "requirements.txt", "venv", "Python validators")
}

/// The Python of the venv holding the official MCP SDK (`tests/tests/sandbox_mcp.rs`
/// runs its client with it), installing it if needed.
pub(crate) fn mcp_python(root: &Path) -> Result<PathBuf> {
    Ok(venv(
        root,
        "mcp-requirements.txt",
        "mcp-venv",
        "the MCP Python SDK",
    )?
    .join("python"))
}

/// `target/tools/NAME/bin`, a venv with the pins of `xtask/tools/REQUIREMENTS`.
fn venv(root: &Path, requirements: &str, name: &str, what: &str) -> Result<PathBuf> {
    let pins_path = root.join("xtask/tools").join(requirements);
    let pins = read(&pins_path)?;
    let venv = root.join("target/tools").join(name);
    let stamp = venv.join(".cordon-pins");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(pins.as_str()) {
        return Ok(venv.join("bin"));
    }
    eprintln!("tools: installing {what} into {}", venv.display());
    if venv.exists() {
        fs::remove_dir_all(&venv).with_context(|| format!("cannot remove {}", venv.display()))?;
    }
    run::status(
        run::command("python3", root)
            .args(["-m", "venv"])
            .arg(&venv),
    )
    .context("cannot create the tools venv (on Debian: apt-get install python3-venv)")?;
    run::status(
        run::command(venv.join("bin/pip"), root)
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&pins_path),
    )
    .with_context(|| format!("cannot install {what} from PyPI"))?;
    write_stamp(&stamp, &pins)?;
    Ok(venv.join("bin"))
}

/// The Node tools directory (holding `node_modules/`), installing them if needed.
pub(crate) fn node_dir(root: &Path) -> Result<PathBuf> {
    let source = root.join("xtask/tools");
    let lock = read(&source.join("package-lock.json"))?;
    let dir = root.join("target/tools/node");
    let stamp = dir.join(".cordon-pins");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(lock.as_str()) {
        return Ok(dir);
    }
    eprintln!("tools: installing Node validators into {}", dir.display());
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for file in ["package.json", "package-lock.json"] {
        fs::copy(source.join(file), dir.join(file))
            .with_context(|| format!("cannot copy {file} into {}", dir.display()))?;
    }
    run::status(run::command("npm", &dir).args(["ci", "--no-audit", "--no-fund", "--quiet"]))
        .context("cannot install the Node validators from npm")?;
    write_stamp(&stamp, &lock)?;
    Ok(dir)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Written last, through a temporary file, so an interrupted install is redone.
fn write_stamp(stamp: &Path, pins: &str) -> Result<()> {
    let temporary = stamp.with_extension("partial");
    fs::write(&temporary, pins)
        .and_then(|()| fs::rename(&temporary, stamp))
        .with_context(|| format!("cannot write {}", stamp.display()))
}
