//! `cargo xtask bench-workloads`: what the sandbox costs on file-heavy work, and what
//! the creation guard adds to it.
//!
//! Every workload runs three ways in the same directory layout: bare (no sandbox),
//! `cordon run` in a project where protected paths are missing (so the creation guard is
//! active, as in almost every project), and `cordon run` in a copy of the project where
//! every protected path exists (no guard). Workloads: 10 000 small files written into a
//! new directory of the project root and into a directory that existed before the run;
//! `cargo build --offline` of a generated crate without dependencies, from clean (its
//! `target/` is a new directory of the project root); unpacking an npm-style tarball of
//! 5 000 files into a new directory; `git add` + `git commit` of 2 000 files; `python3 -m
//! venv`; and `true` (start-up). Rounds are interleaved (each round runs every workload
//! every way once, after an untimed set-up and `sync`), so that a change of load on a
//! shared machine touches all of them alike. Prints medians and the ratios to bare, of
//! the wall time and of the CPU time of the whole process tree (this process is a child
//! subreaper, so the sandbox's PID 1, which outlives `cordon` by a moment, is reaped and
//! counted here too): on a machine shared with other work the CPU time is the steadier
//! measure of what the sandbox adds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::run;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Timed rounds (each runs every workload every way once).
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Untimed rounds first.
    #[arg(long, default_value_t = 1)]
    warmup: u32,
    /// Only the workloads whose names contain one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Use this `cordon` binary instead of building `target/release/cordon`.
    #[arg(long)]
    cordon: Option<PathBuf>,
    /// Where the projects are made (not below /tmp, which is private in the sandbox). A
    /// tmpfs here takes the disk out of the measure: on a machine whose disk other work
    /// shares, file creation times swing by 10x between runs.
    #[arg(long, default_value = "/var/tmp")]
    scratch: PathBuf,
}

/// The three ways a workload runs.
const WAYS: [&str; 3] = ["bare", "guarded", "complete"];

/// One workload: its fixture, the untimed set-up before each run and the timed script
/// (both `sh -c`, run from the project directory).
struct Workload {
    name: &'static str,
    /// Run once in each project directory when it is made.
    fixture: String,
    /// Run before every timed run (untimed).
    setup: String,
    /// The timed script.
    script: String,
}

fn workloads(scratch: &Path, python: &str) -> Vec<Workload> {
    let tarball = scratch.join("package.tgz");
    let files_loop = |dir: &str, n: u32| {
        format!(
            "{python} -c 'import os\nfor i in range({n}):\n    with open(\"{dir}/f%d.txt\" % i, \"w\") as f: f.write(\"x\")'"
        )
    };
    vec![
        Workload {
            name: "start-up (true)",
            fixture: String::new(),
            setup: String::new(),
            script: "true".into(),
        },
        Workload {
            name: "10000 files, new dir",
            fixture: String::new(),
            setup: "rm -rf out".into(),
            script: format!("mkdir out && {}", files_loop("out", 10_000)),
        },
        Workload {
            name: "10000 files, existing dir",
            fixture: String::new(),
            setup: "rm -rf data && mkdir data".into(),
            script: files_loop("data", 10_000),
        },
        Workload {
            name: "cargo build (no deps)",
            fixture: generated_crate(),
            setup: "rm -rf target".into(),
            script: "cargo build --offline --quiet".into(),
        },
        Workload {
            name: "untar 5000 files",
            fixture: String::new(),
            setup: "rm -rf unpacked".into(),
            script: format!(
                "mkdir unpacked && tar -xzf {} -C unpacked",
                tarball.display()
            ),
        },
        Workload {
            name: "git add+commit 2000",
            fixture: format!("mkdir -p tree && {}", files_loop("tree", 2_000)),
            setup: "rm -rf .git && git init -q".into(),
            script: "git add tree && git -c user.name=bench -c user.email=bench@invalid \
                     -c commit.gpgsign=false commit -q -m bench"
                .into(),
        },
        Workload {
            name: "python3 -m venv",
            fixture: String::new(),
            setup: "rm -rf .venv".into(),
            script: format!("{python} -m venv .venv"),
        },
    ]
}

/// A crate without dependencies that takes a few seconds to build: 24 modules of
/// generated functions, written by a shell script.
fn generated_crate() -> String {
    let mut script = String::from(
        "cat > Cargo.toml <<'EOF'\n[package]\nname = \"bench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[profile.dev]\nincremental = true\nEOF\nmkdir -p src\n: > src/main.rs\n",
    );
    script.push_str(
        "for m in $(seq 0 23); do echo \"mod m$m;\" >> src/main.rs; \
         { for f in $(seq 0 40); do echo \"pub fn f$f(x: u64) -> u64 { let v: Vec<u64> = (0..x).map(|i| i * $f + $m).collect(); v.iter().sum::<u64>() + format!(\\\"{x}\\\").len() as u64 }\"; done; } > src/m$m.rs; done\n",
    );
    script.push_str(
        "echo 'fn main() { let mut s = 0; ' >> src/main.rs; \
         for m in $(seq 0 23); do echo \"s += m$m::f1(3);\" >> src/main.rs; done; \
         echo 'println!(\"{s}\"); }' >> src/main.rs\n",
    );
    script
}

/// An npm-style tarball (`package/...`, gzip) of `files` small files in nested
/// directories.
fn make_tarball(scratch: &Path, files: u32) -> Result<()> {
    let source = scratch.join("tarball-source");
    for index in 0..files {
        let dir = source.join(format!(
            "package/lib/group{}/sub{}",
            index / 500,
            (index / 50) % 10
        ));
        if index % 50 == 0 {
            fs::create_dir_all(&dir)?;
        }
        fs::write(
            dir.join(format!("module{index}.js")),
            format!("module.exports = function f{index}(x) {{ return x + {index}; }};\n"),
        )?;
    }
    run::status(run::command("tar", &source).args([
        "-czf",
        &scratch.join("package.tgz").display().to_string(),
        "package",
    ]))?;
    fs::remove_dir_all(&source)?;
    Ok(())
}

/// Runs `script` with `sh -c` in `dir`, output discarded; fails unless it exits 0.
fn sh(dir: &Path, script: &str) -> Result<()> {
    if script.is_empty() {
        return Ok(());
    }
    let status = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run sh in {}", dir.display()))?;
    if !status.success() {
        bail!("`{script}` failed in {} ({status})", dir.display());
    }
    Ok(())
}

/// The protected paths `cordon` reports missing for `project` (its creation locks).
fn missing_protected(cordon: &Path, project: &Path) -> Result<Vec<PathBuf>> {
    let output = Command::new(cordon)
        .args(["policy", "explain", "--json", "--project"])
        .arg(project)
        .current_dir(project)
        .output()
        .context("cannot run `cordon policy explain`")?;
    if !output.status.success() {
        bail!(
            "`cordon policy explain` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let plan: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("`cordon policy explain --json`")?;
    let mut missing: Vec<PathBuf> = plan["landlock"]["no_create"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|lock| lock["because"].as_array().cloned().unwrap_or_default())
        .filter_map(|path| path.as_str().map(PathBuf::from))
        .collect();
    missing.sort();
    missing.dedup();
    Ok(missing)
}

/// Makes every protected path of `project` exist, so that `cordon run` has no creation
/// lock there: a directory when another protected path lies below it or its name has no
/// extension-like dot, else an empty file.
fn complete(cordon: &Path, project: &Path) -> Result<()> {
    for _ in 0..4 {
        let missing = missing_protected(cordon, project)?;
        if missing.is_empty() {
            return Ok(());
        }
        for path in &missing {
            if path.exists() {
                continue;
            }
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let ancestor_of_another = missing
                .iter()
                .any(|other| other != path && other.starts_with(path));
            let file_like = name.as_deref().is_some_and(|name| {
                name.trim_start_matches('.').contains('.') || name == ".gitmodules"
            });
            if ancestor_of_another || !file_like {
                fs::create_dir_all(path)?;
            } else {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write(path, b"")?;
            }
        }
    }
    let left = missing_protected(cordon, project)?;
    if !left.is_empty() {
        bail!(
            "protected paths still missing in {}: {left:?}",
            project.display()
        );
    }
    Ok(())
}

/// The times of one workload run one way, in seconds.
struct Times {
    workload: &'static str,
    way: &'static str,
    /// Wall time.
    wall: Vec<f64>,
    /// User + system time of every process of the run.
    cpu: Vec<f64>,
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// User + system time of the reaped descendants so far, in seconds.
fn children_cpu() -> Result<f64> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .context("getrusage")?;
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
    Ok(seconds(usage.user_time()) + seconds(usage.system_time()))
}

/// Reaps every orphan that was handed to this subreaper (the sandbox's PID 1).
fn reap_orphans() {
    while nix::sys::wait::waitpid(None, None).is_ok() {}
}

pub(crate) fn run(root: &Path, args: &Args) -> Result<()> {
    for tool in ["tar", "git", "cargo"] {
        if !run::succeeds(tool, &["--version"]) {
            bail!("{tool} is missing");
        }
    }
    let python = which_python()?;
    let cordon = match &args.cordon {
        Some(path) => path.clone(),
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
    nix::sys::prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
    let scratch = scratch_dir(&args.scratch)?;
    make_tarball(&scratch, 5_000)?;
    let chosen: Vec<Workload> = workloads(&scratch, &python)
        .into_iter()
        .filter(|w| args.only.is_empty() || args.only.iter().any(|o| w.name.contains(o.as_str())))
        .collect();
    // Per workload: the guarded project (also used bare) and its complete copy.
    let mut dirs = Vec::new();
    for (index, workload) in chosen.iter().enumerate() {
        let guarded = scratch.join(format!("w{index}/project"));
        let whole = scratch.join(format!("w{index}/complete"));
        for dir in [&guarded, &whole] {
            fs::create_dir_all(dir)?;
            run::status(run::command("git", dir).args(["init", "-q"]))?;
            sh(dir, &workload.fixture)?;
        }
        complete(&cordon, &whole)?;
        if missing_protected(&cordon, &guarded)?.is_empty() {
            bail!("{} has no missing protected path", guarded.display());
        }
        dirs.push((guarded, whole));
    }
    let mut times: Vec<Times> = Vec::new();
    for workload in &chosen {
        for way in WAYS {
            times.push(Times {
                workload: workload.name,
                way,
                wall: Vec::new(),
                cpu: Vec::new(),
            });
        }
    }
    let total = args.warmup + args.rounds;
    for round in 0..total {
        eprintln!("round {}/{total}", round + 1);
        for (index, (workload, (guarded, whole))) in chosen.iter().zip(&dirs).enumerate() {
            for (offset, way) in WAYS.iter().enumerate() {
                let dir = if *way == "complete" { whole } else { guarded };
                // After a guarded run in the shared directory, set up again for the next.
                sh(dir, &workload.setup)?;
                run::status(&mut run::command("sync", dir))?;
                let mut command = if *way == "bare" {
                    let mut command = Command::new("sh");
                    command.args(["-c", &workload.script]);
                    command
                } else {
                    let mut command = Command::new(&cordon);
                    command
                        .arg("run")
                        .args(["--approvals", "allow"])
                        .arg("--project")
                        .arg(dir)
                        .args(["--", "sh", "-c", &workload.script]);
                    command
                };
                command
                    .current_dir(dir)
                    .env_remove("CARGO_TARGET_DIR")
                    .env_remove("CARGO_BUILD_TARGET_DIR")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                reap_orphans();
                let cpu_before = children_cpu()?;
                let start = Instant::now();
                let output = command
                    .output()
                    .with_context(|| format!("cannot start {}", workload.name))?;
                let elapsed = start.elapsed().as_secs_f64();
                reap_orphans();
                let cpu = children_cpu()? - cpu_before;
                if !output.status.success() {
                    bail!(
                        "{} ({way}) failed ({}): {}",
                        workload.name,
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
                if round >= args.warmup {
                    let kept = &mut times[index * WAYS.len() + offset];
                    kept.wall.push(elapsed);
                    kept.cpu.push(cpu);
                }
            }
        }
    }
    print_table(&times, args.rounds);
    fs::remove_dir_all(&scratch).ok();
    Ok(())
}

fn print_table(times: &[Times], rounds: u32) {
    for (title, pick) in [
        (
            "wall time",
            (|t: &Times| median(&t.wall)) as fn(&Times) -> f64,
        ),
        ("CPU time (user + system, every process)", |t: &Times| {
            median(&t.cpu)
        }),
    ] {
        println!(
            "\n{title}: medians over {rounds} interleaved rounds, seconds (ratio = way / bare)"
        );
        println!(
            "{:<28} {:>9} {:>9} {:>8} {:>9} {:>8}",
            "workload", "bare", "guarded", "ratio", "complete", "ratio"
        );
        for chunk in times.chunks(WAYS.len()) {
            let [bare, guarded, whole] = chunk else {
                continue;
            };
            debug_assert_eq!((guarded.way, whole.way), ("guarded", "complete"));
            let base = pick(bare);
            println!(
                "{:<28} {:>9.3} {:>9.3} {:>7.2}x {:>9.3} {:>7.2}x",
                bare.workload,
                base,
                pick(guarded),
                pick(guarded) / base,
                pick(whole),
                pick(whole) / base
            );
        }
    }
}

/// The real `python3` (not a version manager's shim, whose wrapper scripts would be
/// timed too).
fn which_python() -> Result<String> {
    let output = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .context("python3 is missing")?;
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || path.is_empty() {
        bail!("python3 does not say where it is");
    }
    Ok(path)
}

fn scratch_dir(under: &Path) -> Result<PathBuf> {
    if under.starts_with("/tmp") {
        bail!(
            "--scratch {}: /tmp is private in the sandbox; choose another place",
            under.display()
        );
    }
    let dir = under.join(format!("cordon-workloads-{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}
