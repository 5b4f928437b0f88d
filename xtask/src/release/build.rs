//! The reproducible build: `cargo build --release --locked` of the shipped binaries with
//! everything that could make the bytes depend on the machine pinned or removed.
//!
//! - the toolchain is the one `rust-toolchain.toml` pins (checked in `source.rs`);
//! - `SOURCE_DATE_EPOCH` is the commit time, for any build script that embeds a date;
//! - `--remap-path-prefix` rewrites the workspace to `.`, `CARGO_HOME` to `/cargo` and the
//!   target directory to `/target`, so panic locations and DWARF hold no local paths;
//! - one codegen unit, no incremental compilation, `TZ=UTC`, `LC_ALL=C`;
//! - `RUSTFLAGS`-like settings and wrappers from the caller's environment are removed.
//!
//! The build uses its own target directory (`target/release-repro/`), so its flags never
//! invalidate the ordinary `target/release/`.

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::progress::Stage;

/// A binary the release ships.
#[derive(Debug, Clone)]
pub(crate) struct Shipped {
    pub(crate) package: String,
    pub(crate) bin: String,
}

/// Where and how one reproducible build runs.
#[derive(Debug)]
pub(crate) struct BuildPlan<'a> {
    /// The workspace to build (the real one, or a copy).
    pub(crate) root: &'a Path,
    /// The cargo target directory.
    pub(crate) target_dir: PathBuf,
    /// The `CARGO_HOME` (remapped in the output).
    pub(crate) cargo_home: PathBuf,
    /// The binaries.
    pub(crate) shipped: &'a [Shipped],
    /// The commit time.
    pub(crate) source_date_epoch: i64,
    /// Build without network (the second build of `repro-check`).
    pub(crate) offline: bool,
    /// More environment, overriding the defaults (`TMPDIR`, `TZ`...).
    pub(crate) env: Vec<(OsString, OsString)>,
    /// A umask to build under, when it should differ from the caller's.
    pub(crate) umask: Option<u32>,
}

/// The default `CARGO_HOME`: `$CARGO_HOME`, else `$HOME/.cargo`.
pub(crate) fn default_cargo_home() -> Result<PathBuf> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?)
            .join(".cargo"),
    };
    Ok(fs::canonicalize(&home).unwrap_or(home))
}

/// The rustc flags of a reproducible build. When several prefixes match a path rustc
/// applies the last one given, so the most specific (the target directory, which may lie
/// inside the workspace) comes last.
pub(crate) fn rustflags(root: &Path, cargo_home: &Path, target_dir: &Path) -> Vec<String> {
    vec![
        format!("--remap-path-prefix={}=.", root.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
        format!("--remap-path-prefix={}=/target", target_dir.display()),
    ]
}

/// The same flags with the machine's paths as placeholders, for the provenance.
pub(crate) fn rustflags_recorded() -> Vec<String> {
    vec![
        "--remap-path-prefix=${WORKSPACE}=.".to_owned(),
        "--remap-path-prefix=${CARGO_HOME}=/cargo".to_owned(),
        "--remap-path-prefix=${TARGET_DIR}=/target".to_owned(),
    ]
}

/// Runs the build and returns each shipped binary's path in the target directory.
pub(crate) fn build(plan: &BuildPlan<'_>, stage: &Stage) -> Result<Vec<(String, PathBuf)>> {
    let root = fs::canonicalize(plan.root)
        .with_context(|| format!("cannot resolve {}", plan.root.display()))?;
    fs::create_dir_all(&plan.target_dir)
        .with_context(|| format!("cannot create {}", plan.target_dir.display()))?;
    let target_dir = fs::canonicalize(&plan.target_dir)
        .with_context(|| format!("cannot resolve {}", plan.target_dir.display()))?;

    let mut cargo_args: Vec<OsString> = ["build", "--release", "--locked", "--quiet"]
        .into_iter()
        .map(OsString::from)
        .collect();
    cargo_args.push("--message-format=json-render-diagnostics".into());
    if plan.offline {
        cargo_args.push("--offline".into());
    }
    for binary in plan.shipped {
        cargo_args.extend(["--package", &binary.package, "--bin", &binary.bin].map(OsString::from));
    }
    let mut command = match plan.umask {
        // std cannot set a child's umask without unsafe code: let the shell do it.
        Some(mask) => {
            let mut shell = Command::new("sh");
            shell
                .arg("-c")
                .arg(format!("umask {mask:03o} && exec \"$@\""))
                .arg("sh")
                .arg("cargo");
            shell
        }
        None => Command::new("cargo"),
    };
    command.args(&cargo_args).current_dir(&root);
    for variable in [
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_PROFILE_RELEASE_DEBUG",
        "CARGO_PROFILE_RELEASE_STRIP",
        "CARGO_PROFILE_RELEASE_LTO",
    ] {
        command.env_remove(variable);
    }
    let flags = rustflags(&root, &plan.cargo_home, &target_dir);
    command
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_HOME", &plan.cargo_home)
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false")
        .env("SOURCE_DATE_EPOCH", plan.source_date_epoch.to_string())
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .envs(plan.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let mut child = command
        .spawn()
        .context("cannot start cargo (is rustup's cargo on PATH?)")?;
    // cargo's stderr holds rendered warnings and errors: collect it on a thread so
    // neither pipe can fill up and block cargo, and show it above the progress display.
    let stderr = child.stderr.take();
    let collector = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    let mut compiled = 0usize;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context("cannot read cargo's output")?;
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if message["reason"] == "compiler-artifact" {
                compiled += 1;
                let name = message["target"]["name"].as_str().unwrap_or("?");
                stage.message(format!("{compiled} crates compiled, last: {name}"));
            }
        }
    }
    let status = child.wait().context("cannot wait for cargo")?;
    let diagnostics = collector.join().unwrap_or_default();
    if !diagnostics.trim().is_empty() {
        stage.print(diagnostics.trim_end());
    }
    if !status.success() {
        bail!(
            "`cargo build --release --locked` failed ({status}) in {}; cargo's messages are \
             above",
            root.display()
        );
    }
    stage.message(format!("{compiled} crates compiled"));
    Ok(plan
        .shipped
        .iter()
        .map(|binary| {
            (
                binary.bin.clone(),
                target_dir.join("release").join(&binary.bin),
            )
        })
        .collect())
}
