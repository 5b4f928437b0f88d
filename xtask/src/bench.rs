//! `cargo xtask bench-sandbox`: the start-up cost of `cordon run -- true` against
//! `bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent true`
//! and bare `true`, timed in interleaved rounds (every round runs each command once),
//! in a small project and in
//! a large one (to show that start-up does not grow with the project). Two references
//! in the same run: util-linux `unshare` creating the same namespaces (user, network,
//! mount, PID, IPC, UTS, cgroup) and a fresh `/proc` and nothing else (no view, Landlock
//! or seccomp), and the same `cordon` linked statically (`-C target-feature=+crt-static`),
//! which shows what dynamic loading, and the larger address space every fork copies,
//! cost. Two rows split cordon's own price: the same run with the approval gate on
//! (`approvals: ask`, the command covered by a stored approval, so the gate reads the
//! store and lets it run) and `cordon run --print-plan` (process start and policy
//! resolution only; the transcript's share is measured by `cargo bench -p
//! cordon-transcript --bench quiet_run`, since no run goes without one). Then the cost of
//! the creation guard: creating files in a project with missing protected paths (so
//! creations are checked by PID 1) against one where they all exist (no guard), in the
//! project and in `/tmp`. Then network mode proxy's start-up against mode none. Prints
//! medians and ratios.

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
    /// Only network mode proxy's start-up against mode none (no bwrap, guard or static
    /// builds).
    #[arg(long)]
    proxy_only: bool,
    /// Only the start-up table in the small project (no static build, large project,
    /// guard or proxy).
    #[arg(long, conflicts_with = "proxy_only")]
    startup_only: bool,
    /// The `cordon` binary to time instead of building `target/release/cordon`.
    #[arg(long)]
    cordon: Option<std::path::PathBuf>,
    /// With --startup-only: another `cordon` binary (e.g. the build before a change)
    /// timed in the same rounds, gate off and on (rows `other ...`).
    #[arg(long, value_name = "CORDON", requires = "startup_only")]
    compare: Option<std::path::PathBuf>,
}

/// The bench's name for cordon in the small project (gate off).
const CORDON_SMALL: &str = "cordon (10 files)";
/// The bench's name for cordon with the approval gate on.
const CORDON_GATE: &str = "cordon, gate ask";
/// The bench's name for cordon resolving the policy and nothing else.
const CORDON_RESOLVE: &str = "cordon --print-plan";

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
    for tool in ["bwrap", "unshare"] {
        if !run::succeeds(tool, &["--version"]) {
            bail!("{tool} is missing: apt-get install bubblewrap util-linux");
        }
    }
    let scratch = tempfile_dir()?;
    let given_or_built = || -> Result<std::path::PathBuf> {
        let binary = match &args.cordon {
            Some(cordon) => cordon.clone(),
            None => {
                run::status(run::command("cargo", root).args([
                    "build",
                    "--release",
                    "--locked",
                    "-p",
                    "cordon-cli",
                ]))?;
                root.join("target/release/cordon")
            }
        };
        timed_copy(&binary, &scratch.join("cordon"))
    };
    if args.proxy_only {
        return proxy_cost(&scratch, &given_or_built()?, args.runs);
    }
    if args.startup_only {
        let cordon = given_or_built()?;
        let small = scratch.join("small");
        project(&small, 10)?;
        let mut commands = cordon_rows(&cordon, &small)?;
        // A build from before the approval gate (no `--approvals`) runs without one.
        let other_gated = match &args.compare {
            Some(other) => knows_approvals(other)?,
            None => false,
        };
        let other = match &args.compare {
            Some(other) => Some(timed_copy(other, &scratch.join("cordon-other"))?),
            None => None,
        };
        if let Some(other) = &other {
            if other_gated {
                approve_true(other, &small)?;
                commands.push(("other", cordon_in(other, &small)));
                commands.push((
                    "other, gate ask",
                    cordon_with(other, &small, &["--approvals", "ask"]),
                ));
            } else {
                commands.push(("other", cordon_with(other, &small, &[])));
            }
        }
        commands.extend(reference_rows());
        let timed = startup_table(&commands, args.runs)?;
        if args.compare.is_some() {
            let median = |name: &str| median_of(&timed, name);
            let gate_off = median(CORDON_SMALL)? / median("other")?;
            if other_gated {
                println!(
                    "this/other: gate off {gate_off:.3}, gate ask {:.3}",
                    median(CORDON_GATE)? / median("other, gate ask")?
                );
            } else {
                println!(
                    "this/other: gate off {gate_off:.3} (the other build has no approval gate)"
                );
            }
        }
        fs::remove_dir_all(&scratch).ok();
        return Ok(());
    }
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
    let cordon = given_or_built()?;
    let small = scratch.join("small");
    let large = scratch.join("large");
    project(&small, 10)?;
    project(&large, args.large_files)?;
    let mut commands = cordon_rows(&cordon, &small)?;
    commands.push(("cordon (large)", cordon_in(&cordon, &large)));
    commands.push((STATIC, cordon_in(&static_cordon, &small)));
    commands.extend(reference_rows());
    // Let the large project's writes reach the disk before anything is timed.
    run::status(&mut run::command("sync", root))?;
    let timed = startup_table(&commands, args.runs)?;
    let median = |name: &str| median_of(&timed, name);
    let bwrap = median("bwrap")?;
    let small_ratio = median(CORDON_SMALL)? / bwrap;
    let growth = median("cordon (large)")? / median(CORDON_SMALL)?;
    println!(
        "\ncordon/bwrap = {small_ratio:.2} (goal <= 0.50); large/small project = {growth:.2} ({} files)",
        args.large_files
    );
    println!(
        "static-pie/bwrap = {:.2}; util-linux unshare (namespaces and /proc only)/bwrap = {:.2}",
        median(STATIC)? / bwrap,
        median(NAMESPACES_ONLY)? / bwrap
    );
    guard_cost(&scratch, &cordon, args)?;
    proxy_cost(&scratch, &cordon, args.runs)?;
    fs::remove_dir_all(&scratch).ok();
    Ok(())
}

/// Copies `binary` to `to` and returns `to`: every cordon binary is timed from a fresh
/// copy. A binary the linker has just written runs measurably slower than a copy of
/// it (about 9 % for `cordon run -- true` here, the same bytes; equal again once the page
/// cache is dropped): its pages sit in the page cache as the linker wrote them, a copy's
/// as one sequential write, which is also how an installed binary's arrive (`cargo
/// install`, a package manager). Copying both sides keeps a comparison of two builds,
/// one just linked and one not, fair.
fn timed_copy(binary: &Path, to: &Path) -> Result<std::path::PathBuf> {
    fs::copy(binary, to)
        .with_context(|| format!("cannot copy {} to {}", binary.display(), to.display()))?;
    Ok(to.to_path_buf())
}

/// True when `binary run` takes `--approvals` (builds before the approval gate do not).
fn knows_approvals(binary: &Path) -> Result<bool> {
    let help = std::process::Command::new(binary)
        .args(["run", "--help"])
        .output()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    Ok(String::from_utf8_lossy(&help.stdout).contains("--approvals"))
}

/// `cordon run ... -- true` in the project `dir`, with the approval gate off.
fn cordon_in(binary: &Path, dir: &Path) -> Vec<String> {
    cordon_with(binary, dir, &["--approvals", "allow"])
}

fn cordon_with(binary: &Path, dir: &Path, options: &[&str]) -> Vec<String> {
    let mut argv = vec![binary.display().to_string(), "run".into()];
    argv.extend(options.iter().map(|option| (*option).to_owned()));
    argv.extend([
        "--project".into(),
        dir.display().to_string(),
        "--".into(),
        "true".into(),
    ]);
    argv
}

/// cordon's rows in the small project `dir`: the gate off, the gate on (after `true`
/// was approved with `--always` there, so that each run reads the store, finds the
/// approval and runs), and policy resolution alone. A build from before the approval
/// gate runs without options in both of the first two rows.
fn cordon_rows(cordon: &Path, dir: &Path) -> Result<Vec<(&'static str, Vec<String>)>> {
    if !knows_approvals(cordon)? {
        println!(
            "{} has no approval gate: its gate row runs without one",
            cordon.display()
        );
        return Ok(vec![
            (CORDON_SMALL, cordon_with(cordon, dir, &[])),
            (CORDON_GATE, cordon_with(cordon, dir, &[])),
            (CORDON_RESOLVE, cordon_with(cordon, dir, &["--print-plan"])),
        ]);
    }
    approve_true(cordon, dir)?;
    Ok(vec![
        (CORDON_SMALL, cordon_in(cordon, dir)),
        (
            CORDON_GATE,
            cordon_with(cordon, dir, &["--approvals", "ask"]),
        ),
        (
            CORDON_RESOLVE,
            cordon_with(cordon, dir, &["--approvals", "allow", "--print-plan"]),
        ),
    ])
}

/// Approves `true` in project `dir` for good, as a person would: the run files a
/// request (`--approval-request`), `cordon approve ID --always` answers it (nothing to
/// do when the run is covered already). Run from
/// this process's directory and environment, like the timed runs (the decision is
/// bound to the cwd and the policy's digest).
fn approve_true(cordon: &Path, dir: &Path) -> Result<()> {
    let request = dir.with_extension("request.json");
    let mut ask = cordon_with(
        cordon,
        dir,
        &[
            "--approvals",
            "ask",
            "--approval-request",
            &request.display().to_string(),
        ],
    );
    let program = ask.remove(0);
    let status = std::process::Command::new(&program)
        .args(&ask)
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot start {program}"))?;
    if status.success() {
        // Covered already (another build with the same policy digest approved it).
        return Ok(());
    }
    if status.code() != Some(126) {
        bail!(
            "{program} {}: expected exit 126 (needs approval), got {status}",
            ask.join(" ")
        );
    }
    let record: serde_json::Value = serde_json::from_slice(
        &fs::read(&request)
            .with_context(|| format!("no approval request in {}", request.display()))?,
    )?;
    let id = record["request_id"]
        .as_str()
        .with_context(|| format!("{}: no request_id", request.display()))?;
    let project = dir.display().to_string();
    run::status(std::process::Command::new(cordon).args([
        "approve",
        id,
        "--always",
        "--project",
        &project,
    ]))
}

/// The references: bwrap, util-linux unshare (namespaces only) and bare `true`.
fn reference_rows() -> Vec<(&'static str, Vec<String>)> {
    let words = |line: &str| -> Vec<String> { line.split(' ').map(str::to_owned).collect() };
    vec![
        (
            "bwrap",
            words(
                "bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent true",
            ),
        ),
        (
            NAMESPACES_ONLY,
            words("unshare -rnmpiuC --fork --mount-proc true"),
        ),
        ("true", words("true")),
    ]
}

/// Times `commands` interleaved and prints each median and quartiles, its ratio to
/// bwrap and to bare `true`, and what the gate and the sandbox add to resolution.
fn startup_table<'a>(commands: &'a [(&'a str, Vec<String>)], runs: u32) -> Result<Vec<Timed<'a>>> {
    let timed = interleaved(commands, runs, 30, false)?;
    let median = |name: &str| median_of(&timed, name);
    let bwrap = median("bwrap")?;
    let bare = median("true")?;
    println!("\nmedians over {runs} interleaved rounds (each round runs every command once)");
    println!(
        "{:<20} {:>10} {:>14} {:>10} {:>10}",
        "command", "median ms", "quartiles ms", "vs bwrap", "vs true"
    );
    for t in &timed {
        println!(
            "{:<20} {:>10.2} {:>6.2}-{:<7.2} {:>9.2}x {:>9.2}x",
            t.name,
            t.median * 1e3,
            t.quartiles.0 * 1e3,
            t.quartiles.1 * 1e3,
            t.median / bwrap,
            t.median / bare
        );
    }
    let small = median(CORDON_SMALL)?;
    println!(
        "\ncordon/bwrap = {:.2}; the gate (ask, stored approval) adds {:+.2} ms; resolution alone is {:.2} ms, the run adds {:.2} ms to it (sandbox and transcript)",
        small / bwrap,
        (median(CORDON_GATE)? - small) * 1e3,
        median(CORDON_RESOLVE)? * 1e3,
        (small - median(CORDON_RESOLVE)?) * 1e3
    );
    Ok(timed)
}

/// The times of one command.
#[derive(Debug)]
struct Timed<'a> {
    name: &'a str,
    /// Seconds.
    median: f64,
    /// First and third quartiles, seconds.
    quartiles: (f64, f64),
}

/// The median of the command called `name`.
fn median_of(timed: &[Timed<'_>], name: &str) -> Result<f64> {
    timed
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.median)
        .with_context(|| format!("no times for {name}"))
}

/// Times `commands` (name, argv) interleaved: every round runs each command once, in
/// turn, so that a change of load on a shared machine touches all of them alike (one
/// command after another, as hyperfine does, lets drift decide the ratios). The first
/// `warmup` rounds are not kept; with `sync_first`, `sync` runs untimed before every
/// command. Every command must succeed.
fn interleaved<'a>(
    commands: &'a [(&'a str, Vec<String>)],
    runs: u32,
    warmup: u32,
    sync_first: bool,
) -> Result<Vec<Timed<'a>>> {
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); commands.len()];
    for round in 0..warmup + runs {
        for ((name, argv), kept) in commands.iter().zip(times.iter_mut()) {
            if sync_first {
                run::status(&mut run::command("sync", Path::new("/")))?;
            }
            let (program, arguments) = argv.split_first().context("an empty command")?;
            let mut command = std::process::Command::new(program);
            command
                .args(arguments)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let start = std::time::Instant::now();
            let status = command
                .status()
                .with_context(|| format!("cannot start {name}"))?;
            let elapsed = start.elapsed().as_secs_f64();
            if !status.success() {
                bail!("{name} failed ({status}): {}", argv.join(" "));
            }
            if round >= warmup {
                kept.push(elapsed);
            }
        }
    }
    Ok(commands
        .iter()
        .zip(times)
        .map(|((name, _), mut kept)| {
            kept.sort_by(f64::total_cmp);
            let at = |fraction: f64| {
                let index = ((kept.len() - 1) as f64 * fraction).round() as usize;
                kept[index]
            };
            Timed {
                name,
                median: at(0.5),
                quartiles: (at(0.25), at(0.75)),
            }
        })
        .collect())
}

/// The creation guard's price: the same loop of file creations in a project that has
/// missing protected paths (guarded) and in one where every protected path exists (no
/// guard), in the project (PID 1 creates the file) and in `/tmp` (PID 1 only checks).
fn guard_cost(scratch: &Path, cordon: &Path, args: &Args) -> Result<()> {
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
    let creating = |dir: &Path, target: &str| -> Vec<String> {
        let script = format!(
            "cd {dir} && mkdir -p {target} && i=0; while [ $i -lt {n} ]; do : > {target}/f$i; i=$((i+1)); done; rm -r {target}",
            dir = dir.display(),
            n = args.creations,
        );
        let project = dir.display().to_string();
        let binary = cordon.display().to_string();
        [
            binary.as_str(),
            "run",
            "--approvals",
            "allow",
            "--project",
            &project,
            "--",
            "sh",
            "-c",
            &script,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let commands = [
        ("guarded, project", creating(&guarded, "out")),
        ("no guard, project", creating(&unguarded, "out")),
        ("guarded, /tmp", creating(&guarded, "/tmp/out")),
        ("no guard, /tmp", creating(&unguarded, "/tmp/out")),
    ];
    // Each run's files are written back before the next one starts, so that one run's
    // disk work does not land in another's time.
    let timed = interleaved(&commands, args.guard_runs, 2, true)?;
    let median = |name: &str| median_of(&timed, name);
    println!(
        "\ncreation guard: {} creations per run, medians over {} interleaved rounds",
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

/// Network mode proxy's start-up price (issue 12, goal at most +1.5 ms): `cordon run --
/// true` with `mode: proxy` (PID 1 makes the network namespace, `lo` and its routes and
/// the listeners; the engine's threads start in `cordon`) against the default `mode:
/// none`, interleaved.
fn proxy_cost(scratch: &Path, cordon: &Path, runs: u32) -> Result<()> {
    let dir = scratch.join("proxy");
    project(&dir, 10)?;
    let policy = scratch.join("proxy.yaml");
    fs::write(
        &policy,
        "version: 1\nnetwork:\n  mode: proxy\n  allow: [crates.io, '*.crates.io', 'github.com:22']\n",
    )?;
    let log = scratch.join("net.jsonl");
    let command = |extra: &[&str]| -> Vec<String> {
        let mut argv = vec![
            cordon.display().to_string(),
            "run".into(),
            "--approvals".into(),
            "allow".into(),
            "--project".into(),
            dir.display().to_string(),
        ];
        argv.extend(extra.iter().map(|s| (*s).to_owned()));
        argv.extend(["--".into(), "true".into()]);
        argv
    };
    let policy = policy.display().to_string();
    let log = log.display().to_string();
    let mut commands = vec![
        ("mode none", command(&[])),
        (
            "mode proxy",
            command(&["--policy", &policy, "--net-log", &log]),
        ),
    ];
    // The peer: srt (npm @anthropic-ai/sandbox-runtime; needs bubblewrap, socat and
    // ripgrep) running `true` with the same allow-list, when SRT names its binary.
    if let Some(srt) = std::env::var_os("SRT") {
        let settings = scratch.join("srt.json");
        fs::write(
            &settings,
            r#"{"network": {"allowedDomains": ["crates.io", "*.crates.io", "github.com"], "deniedDomains": []},
                "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}"#,
        )?;
        commands.push((
            "srt",
            vec![
                srt.to_string_lossy().into_owned(),
                "-s".into(),
                settings.display().to_string(),
                "-c".into(),
                "true".into(),
            ],
        ));
    } else {
        println!("srt: not measured (set SRT to npm @anthropic-ai/sandbox-runtime's `srt`)");
    }
    let timed = interleaved(&commands, runs, 30, false)?;
    let none = median_of(&timed, "mode none")?;
    let proxy = median_of(&timed, "mode proxy")?;
    println!("\nnetwork mode proxy: medians over {runs} interleaved rounds");
    for t in &timed {
        println!(
            "{:<12} {:>8.2} ms (quartiles {:.2}-{:.2})",
            t.name,
            t.median * 1e3,
            t.quartiles.0 * 1e3,
            t.quartiles.1 * 1e3
        );
    }
    println!(
        "proxy - none = {:+.2} ms (goal <= +1.50), proxy/none = {:.2}",
        (proxy - none) * 1e3,
        proxy / none
    );
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
