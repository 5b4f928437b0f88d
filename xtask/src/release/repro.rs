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

use anyhow::{Context, Result, anyhow, bail};
use cordon_dist::{BuildPlan, Config, Release, ShippedFile, default_cargo_home};

use super::{Display, human_size, word};

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
    let mut progress = Display::new("repro-check", args.quiet);
    let mut config = Config::new(root, root.join(crate::trust::DEV_TRUST_DIR));
    config.allow_dirty = args.allow_dirty;
    // repro-check publishes nothing: an existing dist/<version>/ does not matter.
    config.force = true;
    let release = Release::new(config);
    let checked = release
        .check(&mut progress)
        .map_err(|error| anyhow!(word(&error)))?;
    let (workspace, source) = (&checked.workspace, &checked.source);
    progress.label_next("build-a");
    let first = release
        .build(&checked, &mut progress)
        .map_err(|error| anyhow!(word(&error)))?
        .files;

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
            stage.status("copying the source");
            copy_source(root, &second_root)?;
            stage.status("preparing a second CARGO_HOME");
            second_cargo_home(&default_cargo_home()?, &cargo_home)?;
            fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))
        },
    )?;
    let plan = BuildPlan {
        root: &second_root,
        target_dir: scratch.path().join("target-b"),
        cargo_home: cargo_home.clone(),
        shipped: &workspace.product.binaries,
        features: &workspace.product.features,
        source_date_epoch: source.commit_time,
        offline: true,
        env: vec![
            (OsString::from("TMPDIR"), tmp.clone().into_os_string()),
            (OsString::from("TZ"), OsString::from("Pacific/Kiritimati")),
        ],
        umask: Some(0o077),
    };
    progress.label_next("build-b");
    let second = cordon_dist::reproducible_build(
        workspace,
        &plan,
        &scratch.path().join("shipped-b"),
        &mut progress,
    )
    .map_err(|error| {
        anyhow!(
            "{}\nthe second build failed where the first did not: an input differs between \
             them (an untracked file, a crate missing from the registry cache?)",
            word(&error)
        )
    })?;

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
        default_cargo_home()?.display(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, sha256: &str) -> ShippedFile {
        ShippedFile {
            name: name.into(),
            path: PathBuf::from(name),
            sha256: sha256.into(),
        }
    }

    #[test]
    fn differing_and_missing_files_are_named() {
        let first = [file("a", "11"), file("b", "22"), file("only-a", "33")];
        let second = [file("a", "11"), file("b", "99"), file("only-b", "44")];
        assert_eq!(compare(&first, &second), ["b", "only-a", "only-b"]);
        assert!(compare(&first, &first).is_empty());
    }

    #[test]
    fn the_source_copy_keeps_modes_and_skips_ignored_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("src");
        fs::create_dir_all(root.join("sub")).unwrap();
        let git = |args: &[&str]| {
            assert!(
                Command::new("git")
                    .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
                    .args(args)
                    .current_dir(&root)
                    .status()
                    .unwrap()
                    .success()
            );
        };
        git(&["init", "--quiet"]);
        fs::write(root.join(".gitignore"), "/target/\n").unwrap();
        fs::write(root.join("sub/script.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(
            root.join("sub/script.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        fs::create_dir_all(root.join("target")).unwrap();
        fs::write(root.join("target/ignored"), "x").unwrap();
        git(&["add", "-A"]);
        git(&["commit", "--quiet", "-m", "x"]);
        fs::write(root.join("untracked.txt"), "new").unwrap();

        let copy = dir.path().join("copy");
        copy_source(&root, &copy).unwrap();
        let mode = fs::metadata(copy.join("sub/script.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        assert!(copy.join("untracked.txt").is_file());
        assert!(copy.join(".gitignore").is_file());
        assert!(!copy.join("target").exists());
    }
}
