//! The external validators `cargo xtask test` runs, installed on first use into a cache
//! under `target/tools/` from the pins in `xtask/tools/`: a Python venv
//! (`requirements.txt`), another for the MCP SDK the e2e tests use (`mcp-requirements.txt`),
//! and a Node tree (`package.json` + `package-lock.json`). A stamp
//! holding the pins decides whether the cache is current, so a second run installs
//! nothing and a change of pins reinstalls.
//!
//! Installing is network-bound (minutes on a fresh machine) while the first stages are
//! CPU-bound, so `cargo xtask test` starts every install in the background
//! ([`install_in_background`]); a stage that needs a tool waits for its install (each tool
//! has a lock), and one whose background install failed tries again and reports the error.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};

use anyhow::{Context, Result};

use crate::run;

/// One lock per tool tree: a stage asking for a tool waits while the background install
/// of the same tree runs.
static PYTHON_VALIDATORS: Mutex<()> = Mutex::new(());
static MCP_SDK: Mutex<()> = Mutex::new(());
static NODE_TOOLS: Mutex<()> = Mutex::new(());

/// Starts installing every tool tree on its own thread (the installs wait on the network,
/// not the CPU). A failure is only announced here: the stage that needs the tool installs
/// it again and fails with the error. Join the handles before exiting, so no install is cut
/// short.
pub(crate) fn install_in_background(root: &Path) -> Vec<JoinHandle<()>> {
    type Install = fn(&Path) -> Result<PathBuf>;
    let installs: [(&str, Install); 3] = [
        ("Node validators", node_dir),
        ("Python validators", python_bin),
        ("the MCP Python SDK", mcp_python),
    ];
    installs
        .into_iter()
        .map(|(what, install)| {
            let root = root.to_path_buf();
            thread::spawn(move || {
                if let Err(error) = install(&root) {
                    eprintln!(
                        "tools: installing {what} in the background failed (the stage that \
                         needs it will try again): {error:#}"
                    );
                }
            })
        })
        .collect()
}

/// The venv's `bin/` directory, installing the pinned Python tools if needed.
pub(crate) fn python_bin(root: &Path) -> Result<PathBuf> {
    let _installing = PYTHON_VALIDATORS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    venv(root, "requirements.txt", "venv", "Python validators")
}

/// The Python of the venv holding the official MCP SDK (`tests/tests/sandbox_mcp.rs`
/// runs its client with it), installing it if needed.
pub(crate) fn mcp_python(root: &Path) -> Result<PathBuf> {
    let _installing = MCP_SDK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
    let _installing = NODE_TOOLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
