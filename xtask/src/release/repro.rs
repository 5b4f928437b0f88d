//! `cargo xtask repro-check`: build the shipped binaries twice under different conditions
//! and fail unless every shipped file is byte-identical.
//!
//! Build A is the release build itself: the workspace in place, the caller's `CARGO_HOME`,
//! `target/release-repro/` (so a later `cargo xtask release` reuses it). Build B runs on
//! a copy of the source (the files `git ls-files` lists, untracked ones included) at a
//! different, deeper path, with a fresh target directory, a different `CARGO_HOME` (the
//! registry index and crate cache reused, so it builds `--offline`), its own `TMPDIR`,
//! umask 077, another `TZ`, and a later clock (it starts after A has finished; libfaketime
//! could shift it further but hangs rustc 1.95, see `docs/release.md`). On a mismatch it
//! names the files, shows diffoscope's summary when diffoscope is installed, and keeps
//! both builds for inspection.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::build::{self, BuildPlan};
use super::pipeline::{ShippedFile, finish_binaries, reproducible_build};
use super::progress::{Progress, human_size};
use super::{source, workspace};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Check a worktree with uncommitted changes (its files as they are).
    #[arg(long)]
    pub(crate) allow_dirty: bool,
    /// No progress display; only errors and the final summary.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Keep the second build's directory even when the builds match.
    #[arg(long)]
    pub(crate) keep: bool,
}

pub(crate) fn run(root: &Path, args: &Args) -> Result<()> {
    let mut progress = Progress::new("repro-check", args.quiet);
    let (workspace, source) = progress.stage("check", "see the message above", |_| {
        let workspace = workspace(root)?;
        let source = source::source(root, workspace.repository.as_deref())?;
        source.require_clean(args.allow_dirty)?;
        source::toolchain(root)?;
        Ok((workspace, source))
    })?;
    let first = progress.stage(
        "build-a",
        "fix what cargo reports above, then run again",
        |stage| reproducible_build(root, &workspace, &source, Vec::new(), stage),
    )?;

    let scratch = tempfile::Builder::new()
        .prefix("cordon-repro-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let second_root = scratch
        .path()
        .join("a-different-and-deeper/checkout/of-the-source");
    let cargo_home = scratch.path().join("cargo-home");
    let tmp = scratch.path().join("tmp");
    progress.stage(
        "copy",
        "the second build needs a copy of the source and a second CARGO_HOME under $TMPDIR",
        |stage| {
            stage.message("copying the source");
            copy_source(root, &second_root)?;
            stage.message("preparing a second CARGO_HOME");
            second_cargo_home(&build::default_cargo_home()?, &cargo_home)?;
            fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))
        },
    )?;
    let second = progress.stage(
        "build-b",
        "the second build failed where the first did not: an input differs between them \
         (an untracked file, a crate missing from the registry cache?)",
        |stage| {
            let plan = BuildPlan {
                root: &second_root,
                target_dir: scratch.path().join("target-b"),
                cargo_home: cargo_home.clone(),
                shipped: &workspace.shipped,
                source_date_epoch: source.commit_time,
                offline: true,
                env: vec![
                    (OsString::from("TMPDIR"), tmp.clone().into_os_string()),
                    (OsString::from("TZ"), OsString::from("Pacific/Kiritimati")),
                ],
                umask: Some(0o077),
            };
            let built = build::build(&plan, stage)?;
            finish_binaries(&built, &scratch.path().join("shipped-b"))
        },
    )?;

    let mismatches = progress.stage("compare", "see the mismatches above", |stage| {
        let mismatches = compare(&first, &second);
        for name in &mismatches {
            stage.print(&format!(
                "repro-check: {name} differs between the two builds"
            ));
            if let (Some(a), Some(b)) = (find(&first, name), find(&second, name))
                && let Some(report) = diffoscope(&a.path, &b.path)
            {
                stage.print(&report);
            }
        }
        Ok(mismatches)
    })?;

    let mut summary = String::from(
        "\nfile                       size        build A           build B           same\n",
    );
    for file in &first {
        let other = find(&second, &file.name);
        let size = fs::metadata(&file.path).map(|meta| meta.len()).unwrap_or(0);
        summary.push_str(&format!(
            "{:<26} {:>10}  {}  {}  {}\n",
            file.name,
            human_size(size),
            &file.sha256[..16],
            other.map_or("(missing)       ", |other| &other.sha256[..16]),
            if other.is_some_and(|other| other.sha256 == file.sha256) {
                "yes"
            } else {
                "NO"
            }
        ));
    }
    summary.push_str(&format!(
        "\nbuild A: {} (CARGO_HOME {})\nbuild B: {} (CARGO_HOME {}, TMPDIR {}, umask 077, TZ Pacific/Kiritimati, offline)\n\n",
        root.display(),
        build::default_cargo_home()?.display(),
        second_root.display(),
        cargo_home.display(),
        tmp.display()
    ));
    summary.push_str(&progress.stage_table());
    println!("{summary}");

    if !mismatches.is_empty() {
        let kept = scratch.keep();
        bail!(
            "not reproducible: {} differ{} between the two builds; both are kept for \
             inspection ({} and {}); install diffoscope to see where",
            mismatches.join(", "),
            if mismatches.len() == 1 { "s" } else { "" },
            workspace.target_dir.join("release-repro/shipped").display(),
            kept.join("shipped-b").display()
        );
    }
    if args.keep {
        let kept = scratch.keep();
        eprintln!(
            "repro-check: the second build is kept in {}",
            kept.display()
        );
    }
    Ok(())
}

/// Names of shipped files that are missing from one build or differ.
fn compare(first: &[ShippedFile], second: &[ShippedFile]) -> Vec<String> {
    let mut names: Vec<&str> = first
        .iter()
        .chain(second)
        .map(|file| file.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter(|name| match (find(first, name), find(second, name)) {
            (Some(a), Some(b)) => a.sha256 != b.sha256,
            _ => true,
        })
        .map(str::to_owned)
        .collect()
}

fn find<'a>(files: &'a [ShippedFile], name: &str) -> Option<&'a ShippedFile> {
    files.iter().find(|file| file.name == name)
}

/// diffoscope's text report (first 80 lines), when diffoscope is installed.
fn diffoscope(a: &Path, b: &Path) -> Option<String> {
    let output = Command::new("timeout")
        .args(["600", "diffoscope", "--no-progress", "--text", "-"])
        .args(["--max-report-size", "200000"])
        .arg(a)
        .arg(b)
        .output()
        .ok()?;
    // diffoscope exits 1 when the files differ; 127 from timeout means not installed.
    if output.status.code() == Some(127) {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().take(80).collect();
    Some(format!("diffoscope summary:\n{}", lines.join("\n")))
}

/// Copies the files git knows of (tracked and untracked-but-not-ignored) from `root` to
/// `to`, keeping executable bits and symlinks.
fn copy_source(root: &Path, to: &Path) -> Result<()> {
    let listing = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .context("cannot run `git ls-files`")?;
    if !listing.status.success() {
        bail!(
            "`git ls-files` failed: {}",
            String::from_utf8_lossy(&listing.stderr).trim()
        );
    }
    for name in listing.stdout.split(|byte| *byte == 0) {
        if name.is_empty() {
            continue;
        }
        let relative = Path::new(std::str::from_utf8(name).context("a file name is not UTF-8")?);
        let from = root.join(relative);
        let destination = to.join(relative);
        let Ok(metadata) = fs::symlink_metadata(&from) else {
            // Deleted in the worktree but still in the index: the build sees it absent.
            continue;
        };
        if let Some(parent) = destination.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        if metadata.file_type().is_symlink() {
            let target = fs::read_link(&from)
                .with_context(|| format!("cannot read the link {}", from.display()))?;
            symlink(&target, &destination)
                .with_context(|| format!("cannot create the link {}", destination.display()))?;
        } else if metadata.is_file() {
            fs::copy(&from, &destination)
                .with_context(|| format!("cannot copy {}", from.display()))?;
            fs::set_permissions(
                &destination,
                fs::Permissions::from_mode(metadata.permissions().mode() & 0o755 | 0o600),
            )
            .with_context(|| format!("cannot set the mode of {}", destination.display()))?;
        }
    }
    Ok(())
}

/// A second `CARGO_HOME` that needs no network: a copy of the registry index (cargo may
/// write to it) and a link to the downloaded `.crate` files (read only when offline).
/// Source extraction (`registry/src`) happens afresh under the new home, so any path from
/// it that leaks into a binary shows up as a difference.
fn second_cargo_home(original: &Path, home: &Path) -> Result<PathBuf> {
    let registry = home.join("registry");
    fs::create_dir_all(&registry)
        .with_context(|| format!("cannot create {}", registry.display()))?;
    let index = original.join("registry/index");
    if index.is_dir() {
        copy_tree(&index, &registry.join("index"))?;
    }
    let cache = original.join("registry/cache");
    if cache.is_dir() {
        symlink(&cache, registry.join("cache"))
            .with_context(|| format!("cannot link {}", cache.display()))?;
    }
    let git_db = original.join("git/db");
    if git_db.is_dir() {
        fs::create_dir_all(home.join("git"))?;
        copy_tree(&git_db, &home.join("git/db"))?;
    }
    Ok(home.to_owned())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", from.display()))?;
        let file_type = entry.file_type()?;
        let destination = to.join(entry.file_name());
        if file_type.is_dir() {
            copy_tree(&entry.path(), &destination)?;
        } else if file_type.is_file() {
            fs::copy(entry.path(), &destination)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}
