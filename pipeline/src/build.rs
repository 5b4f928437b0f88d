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

use cordon_release::sha256_file;

use crate::Features;
use crate::auditable;
use crate::error::{ErrorKind, Fix, io};
use crate::model::{Shipped, ShippedFile, Workspace};
use crate::progress::Reporter;
use crate::publish::{described_build, sbom_build};
use crate::source::hex;

/// Where and how one reproducible build runs.
#[derive(Debug)]
pub struct BuildPlan<'a> {
    /// The workspace to build (the real one, or a copy).
    pub root: &'a Path,
    /// The cargo target directory.
    pub target_dir: PathBuf,
    /// The `CARGO_HOME` (remapped in the output).
    pub cargo_home: PathBuf,
    /// The binaries.
    pub shipped: &'a [Shipped],
    /// The cargo features they are built with.
    pub features: &'a Features,
    /// The commit time.
    pub source_date_epoch: i64,
    /// Build without network (a second build that must not fetch anything).
    pub offline: bool,
    /// More environment, overriding the defaults (`TMPDIR`, `TZ`...).
    pub env: Vec<(OsString, OsString)>,
    /// A umask to build under, when it should differ from the caller's.
    pub umask: Option<u32>,
}

/// The default `CARGO_HOME`: `$CARGO_HOME`, else `$HOME/.cargo`.
pub fn default_cargo_home() -> Result<PathBuf, ErrorKind> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").ok_or_else(|| ErrorKind::Command {
            command: "cargo".to_owned(),
            problem: "neither CARGO_HOME nor HOME is set: cannot find cargo's home".to_owned(),
            fix: None,
        })?)
        .join(".cargo"),
    };
    Ok(fs::canonicalize(&home).unwrap_or(home))
}

/// The rustc flags of a reproducible build. When several prefixes match a path rustc
/// applies the last one given, so the most specific (the target directory, which may lie
/// inside the workspace) comes last.
fn rustflags(root: &Path, cargo_home: &Path, target_dir: &Path) -> Vec<String> {
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
pub(crate) fn build(
    plan: &BuildPlan<'_>,
    stage: &mut Reporter<'_>,
) -> Result<Vec<(String, PathBuf)>, ErrorKind> {
    let root = fs::canonicalize(plan.root).map_err(io("resolve", plan.root))?;
    fs::create_dir_all(&plan.target_dir).map_err(io("create", &plan.target_dir))?;
    let target_dir = fs::canonicalize(&plan.target_dir).map_err(io("resolve", &plan.target_dir))?;

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
    let described = described_build(&root, plan.shipped, plan.features);
    cargo_args.extend(
        described
            .cargo_feature_args()
            .into_iter()
            .map(OsString::from),
    );
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

    let cargo_failed = |problem: String, fix: Option<Fix>| ErrorKind::Command {
        command: format!(
            "cargo {}",
            cargo_args
                .join(OsString::from(" ").as_os_str())
                .to_string_lossy()
        ),
        problem,
        fix,
    };
    let mut child = command.spawn().map_err(|error| {
        cargo_failed(
            format!("cannot start cargo (is rustup's cargo on PATH?): {error}"),
            None,
        )
    })?;
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
            let line = line
                .map_err(|error| cargo_failed(format!("cannot read its output: {error}"), None))?;
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if message["reason"] == "compiler-artifact" {
                compiled += 1;
                let name = message["target"]["name"].as_str().unwrap_or("?");
                stage.message(&format!("{compiled} crates compiled, last: {name}"));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|error| cargo_failed(format!("cannot wait for it: {error}"), None))?;
    let diagnostics = collector.join().unwrap_or_default();
    if !diagnostics.trim().is_empty() {
        stage.output(diagnostics.trim_end());
    }
    if !status.success() {
        return Err(cargo_failed(
            format!(
                "failed ({status}) in {}; cargo's messages are above",
                root.display()
            ),
            Some(Fix::FixBuild),
        ));
    }
    stage.message(&format!("{compiled} crates compiled"));
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

/// Copies the built binaries into `out`, adds each one's `.dep-v0` section (the exact
/// crate set of `workspace`), and hashes the final bytes: what ships.
pub(crate) fn finish_binaries(
    workspace: &Workspace,
    built: &[(String, PathBuf)],
    out: &Path,
    stage: &mut Reporter<'_>,
) -> Result<Vec<ShippedFile>, ErrorKind> {
    stage.message("resolving the crate set for .dep-v0");
    let resolution = cordon_sbom::resolve(&sbom_build(workspace))?;
    if out.exists() {
        fs::remove_dir_all(out).map_err(io("clear", out))?;
    }
    fs::create_dir_all(out).map_err(io("create", out))?;
    built
        .iter()
        .map(|(name, path)| {
            let destination = out.join(name);
            fs::copy(path, &destination).map_err(io("copy into", &destination))?;
            stage.message(&format!("embedding .dep-v0 in {name}"));
            let section = auditable::section_bytes(&auditable::version_info(&resolution, name)?);
            auditable::embed(&destination, &section, out)?;
            let sha256 = hex(&sha256_file(&destination).map_err(io("read", &destination))?);
            Ok(ShippedFile {
                name: name.clone(),
                path: destination,
                sha256,
            })
        })
        .collect()
}
