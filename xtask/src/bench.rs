//! `cargo xtask bench-sandbox`: the start-up cost of `cordon run -- true` against
//! `bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent true`
//! and bare `true`, measured in the same run with hyperfine, in a small project and in
//! a large one (to show that start-up does not grow with the project). Two references
//! in the same run: util-linux `unshare` creating the same namespaces (user, network,
//! mount, PID, IPC, UTS, cgroup) and a fresh `/proc` and nothing else (no view, Landlock
//! or seccomp), and the same `cordon` linked statically (`-C target-feature=+crt-static`),
//! which shows what dynamic loading, and the larger address space every fork copies,
//! cost. Then the cost of
//! the creation guard: creating files in a project with missing protected paths (so
//! creations are checked by PID 1) against one where they all exist (no guard), in the
//! project and in `/tmp`. Prints medians and ratios.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::run;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Runs per command.
    #[arg(long, default_value_t = 300)]
    runs: u32,
    /// Files in the large project.
    #[arg(long, default_value_t = 50_000)]
    large_files: u32,
    /// Files each creation-guard run creates.
    #[arg(long, default_value_t = 2_000)]
    creations: u32,
    /// Runs per creation-guard command.
    #[arg(long, default_value_t = 20)]
    guard_runs: u32,
}

/// The bench's name for the namespaces-only reference.
const NAMESPACES_ONLY: &str = "namespaces only";
/// The bench's name for the statically linked build.
const STATIC: &str = "cordon static-pie";

fn project(dir: &Path, files: u32) -> Result<()> {
    fs::create_dir_all(dir)?;
    run::status(run::command("git", dir).args(["init", "-q"]))?;
    for index in 0..files {
        let sub = dir.join(format!("src/d{}", index / 500));
        if index % 500 == 0 {
            fs::create_dir_all(&sub)?;
        }
        fs::write(sub.join(format!("f{index}.txt")), b"x")?;
    }
    Ok(())
}

pub(crate) fn run(root: &Path, args: &Args) -> Result<()> {
    for tool in ["hyperfine", "bwrap", "unshare"] {
        if !run::succeeds(tool, &["--version"]) {
            bail!("{tool} is missing: apt-get install hyperfine bubblewrap util-linux");
        }
    }
    let scratch = tempfile_dir()?;
    // The same binary linked statically (glibc's static-pie), for comparison: only the
    // final crate takes the flag (a workspace-wide crt-static breaks proc-macros).
    run::status(run::command("cargo", root).args([
        "rustc",
        "--release",
        "--locked",
        "-p",
        "cordon-cli",
        "--bin",
        "cordon",
        "--",
        "-C",
        "target-feature=+crt-static",
    ]))?;
    let static_cordon = scratch.join("cordon-static");
    fs::copy(root.join("target/release/cordon"), &static_cordon)
        .context("cannot copy the static build")?;
    run::status(run::command("cargo", root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "cordon-cli",
    ]))?;
    let cordon = root.join("target/release/cordon");
    let small = scratch.join("small");
    let large = scratch.join("large");
    project(&small, 10)?;
    project(&large, args.large_files)?;
    let cordon_in = |binary: &Path, dir: &Path| {
        format!(
            "{} run --project {} -- true",
            binary.display(),
            dir.display()
        )
    };
    let commands = [
        ("cordon (10 files)", cordon_in(&cordon, &small)),
        ("cordon (large)", cordon_in(&cordon, &large)),
        (STATIC, cordon_in(&static_cordon, &small)),
        (
            "bwrap",
            "bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent true"
                .to_owned(),
        ),
        (
            NAMESPACES_ONLY,
            "unshare -rnmpiuC --fork --mount-proc true".to_owned(),
        ),
        ("true", "true".to_owned()),
    ];
    let median = hyperfine(root, &scratch, &commands, args.runs, 30, None)?;
    let bwrap = median("bwrap")?;
    let bare = median("true")?;
    println!("\nmedians over {} runs each (same run)", args.runs);
    println!(
        "{:<20} {:>10} {:>10} {:>10}",
        "command", "median ms", "vs bwrap", "vs true"
    );
    for (name, _) in &commands {
        let value = median(name)?;
        println!(
            "{name:<20} {:>10.2} {:>9.2}x {:>9.2}x",
            value * 1e3,
            value / bwrap,
            value / bare
        );
    }
    let small_ratio = median("cordon (10 files)")? / bwrap;
    let growth = median("cordon (large)")? / median("cordon (10 files)")?;
    println!(
        "\ncordon/bwrap = {small_ratio:.2} (goal <= 0.50); large/small project = {growth:.2} ({} files)",
        args.large_files
    );
    println!(
        "static-pie/bwrap = {:.2}; util-linux unshare (namespaces and /proc only)/bwrap = {:.2}",
        median(STATIC)? / bwrap,
        median(NAMESPACES_ONLY)? / bwrap
    );
    guard_cost(root, &scratch, &cordon, args)?;
    fs::remove_dir_all(&scratch).ok();
    Ok(())
}

/// Runs `commands` (name, command line) in one hyperfine run and returns a lookup of
/// each one's median in seconds.
fn hyperfine(
    root: &Path,
    scratch: &Path,
    commands: &[(&str, String)],
    runs: u32,
    warmup: u32,
    prepare: Option<&str>,
) -> Result<impl Fn(&str) -> Result<f64>> {
    let json = scratch.join("hyperfine.json");
    let mut hyperfine = run::command("hyperfine", root);
    if let Some(prepare) = prepare {
        hyperfine.arg("--prepare").arg(prepare);
    }
    hyperfine
        .args(["-N", "--style", "basic", "--warmup"])
        .arg(warmup.to_string())
        .arg("--runs")
        .arg(runs.to_string())
        .arg("--export-json")
        .arg(&json);
    for (name, command) in commands {
        hyperfine.arg("-n").arg(name).arg(command);
    }
    run::status(&mut hyperfine)?;
    let text = fs::read_to_string(&json).context("hyperfine wrote no JSON")?;
    let report: serde_json::Value = serde_json::from_str(&text)?;
    Ok(move |name: &str| -> Result<f64> {
        report["results"]
            .as_array()
            .and_then(|results| results.iter().find(|r| r["command"] == name))
            .and_then(|r| r["median"].as_f64())
            .with_context(|| format!("no median for {name}"))
    })
}

/// The creation guard's price: the same loop of file creations in a project that has
/// missing protected paths (guarded) and in one where every protected path exists (no
/// guard), in the project (PID 1 creates the file) and in `/tmp` (PID 1 only checks).
fn guard_cost(root: &Path, scratch: &Path, cordon: &Path, args: &Args) -> Result<()> {
    let guarded = scratch.join("guarded");
    let unguarded = scratch.join("unguarded");
    project(&guarded, 0)?;
    project(&unguarded, 0)?;
    for dir in [".cordon", ".idea", ".vscode"] {
        fs::create_dir_all(unguarded.join(dir))?;
    }
    for file in [".gitmodules", ".mcp.json"] {
        fs::write(unguarded.join(file), b"")?;
    }
    let creating = |dir: &Path, target: &str| {
        format!(
            "{} run --project {dir} -- sh -c 'cd {dir} && mkdir -p {target} && i=0; while [ $i -lt {n} ]; do : > {target}/f$i; i=$((i+1)); done; rm -r {target}'",
            cordon.display(),
            dir = dir.display(),
            n = args.creations,
        )
    };
    let commands = [
        ("guarded, project", creating(&guarded, "out")),
        ("no guard, project", creating(&unguarded, "out")),
        ("guarded, /tmp", creating(&guarded, "/tmp/out")),
        ("no guard, /tmp", creating(&unguarded, "/tmp/out")),
    ];
    // Each run's files are written back before the next one starts, so that one run's
    // disk work does not land in another's time.
    let median = hyperfine(root, scratch, &commands, args.guard_runs, 3, Some("sync"))?;
    println!(
        "\ncreation guard: {} creations per run, medians over {} runs (same run)",
        args.creations, args.guard_runs
    );
    println!(
        "{:<10} {:>11} {:>11} {:>8} {:>12}",
        "where", "guarded ms", "no guard ms", "ratio", "extra us/file"
    );
    for place in ["project", "/tmp"] {
        let with = median(&format!("guarded, {place}"))?;
        let without = median(&format!("no guard, {place}"))?;
        println!(
            "{place:<10} {:>11.1} {:>11.1} {:>7.2}x {:>12.1}",
            with * 1e3,
            without * 1e3,
            with / without,
            (with - without) * 1e6 / f64::from(args.creations)
        );
    }
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    // Not below /tmp: the sandbox gets a private /tmp, so a project there would be a
    // bind inside it and creation in /tmp itself would be locked (see docs/sandbox.md).
    let dir =
        std::path::PathBuf::from("/var/tmp").join(format!("cordon-bench-{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}
