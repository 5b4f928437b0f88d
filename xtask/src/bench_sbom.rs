//! `cargo xtask bench-sbom`: the time cordon takes to write the SBOM of this workspace's
//! shipped binaries against cargo-cyclonedx writing CycloneDX JSON for the same
//! workspace, in interleaved rounds (every round runs each of the three once, so a change
//! of load on the shared machine touches them alike). The three:
//!
//! - `cargo-cyclonedx`: `cargo cyclonedx --format json --spec-version 1.5` over a copy of
//!   the workspace (it writes one `<package>.cdx.json` next to every member's manifest);
//!   installed pinned into `target/tools/cargo-cyclonedx/` on first use. It describes
//!   packages from `cargo metadata` and hashes no binary.
//! - `cordon, no binary hashing`: [`cordon_sbom::document`] (CycloneDX 1.5) for the
//!   release's one build of `cordon` and `cordon-verify`, the binaries given as empty
//!   files, so it hashes nothing and measures resolution and writing alone.
//! - `cordon, with binary hashing`: the same over the built binaries (SHA-256 and
//!   SHA-512 of each, as the release's SBOMs carry them).
//!
//! cordon runs in-process, in this (dev-profile) xtask, which is how `cargo xtask
//! release` runs it. Prints medians, quartiles and ratios to cargo-cyclonedx. Not part
//! of `cargo xtask test`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use cordon_sbom::{Binary, Build, Format, Options};

use crate::run;

/// The cargo-cyclonedx the bench compares against.
const CYCLONEDX_VERSION: &str = "0.5.7";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Timed rounds (after one untimed warm-up round).
    #[arg(long, default_value_t = 15)]
    rounds: u32,
    /// The directory holding the built `cordon` and `cordon-verify` to hash (build them
    /// with `cargo build --release --locked -p cordon-cli -p cordon-verify`).
    #[arg(long, value_name = "DIR", default_value = "target/release")]
    binaries: PathBuf,
}

/// The shipped binaries: (package, binary).
const SHIPPED: [(&str, &str); 2] = [("cordon-cli", "cordon"), ("cordon-verify", "cordon-verify")];

const CYCLONEDX: &str = "cargo-cyclonedx";
const CORDON_NO_HASH: &str = "cordon, no binary hashing";
const CORDON_HASH: &str = "cordon, with binary hashing";

pub(crate) fn run(root: &Path, args: &Args) -> Result<()> {
    let binaries_dir = root.join(&args.binaries);
    let built: Vec<PathBuf> = SHIPPED
        .iter()
        .map(|(_, bin)| binaries_dir.join(bin))
        .collect();
    if let Some(missing) = built.iter().find(|path| !path.is_file()) {
        bail!(
            "{} is missing: build the shipped binaries with `cargo build --release --locked -p cordon-cli -p cordon-verify`, or name another directory with --binaries",
            missing.display()
        );
    }
    let cyclonedx = install_cyclonedx(root)?;
    let scratch =
        PathBuf::from("/var/tmp").join(format!("cordon-bench-sbom-{}", std::process::id()));
    let result = bench(root, args, &cyclonedx, &scratch, &built);
    fs::remove_dir_all(&scratch).with_context(|| format!("cannot remove {}", scratch.display()))?;
    result
}

fn bench(
    root: &Path,
    args: &Args,
    cyclonedx: &Path,
    scratch: &Path,
    built: &[PathBuf],
) -> Result<()> {
    // A copy of the committed workspace: cargo-cyclonedx writes into the source tree.
    let workspace = scratch.join("workspace");
    fs::create_dir_all(&workspace)
        .with_context(|| format!("cannot create {}", workspace.display()))?;
    run::status(
        run::command("sh", root)
            .args([
                "-c",
                "git archive --format=tar HEAD | tar -x -C \"$1\"",
                "sh",
            ])
            .arg(&workspace),
    )?;
    let build = Build {
        manifest_path: workspace.join("Cargo.toml"),
        binaries: SHIPPED
            .iter()
            .map(|(package, bin)| Binary {
                package: (*package).to_owned(),
                bin: (*bin).to_owned(),
            })
            .collect(),
        target: None,
        features: Vec::new(),
        no_default_features: false,
    };
    let empty: Vec<PathBuf> = SHIPPED
        .iter()
        .map(|(_, bin)| scratch.join(format!("empty-{bin}")))
        .collect();
    for path in &empty {
        fs::write(path, b"").with_context(|| format!("cannot write {}", path.display()))?;
    }
    // The copy is no git checkout: the timestamp is the commit's, as a release's is.
    let commit_time = std::process::Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root)
        .output()
        .context("cannot run git log")?;
    let options = Options {
        timestamp: Some(
            String::from_utf8_lossy(&commit_time.stdout)
                .trim()
                .parse()
                .context("git log printed no commit time")?,
        ),
        ..Options::default()
    };
    let out = scratch.join("cordon.cdx.json");
    let cordon = |binaries: &[PathBuf]| -> Result<()> {
        let bytes = cordon_sbom::document(&build, binaries, Format::CycloneDx15, &options)?;
        crate::sbom::write_atomically(&out, &bytes)
    };
    let cargo_cyclonedx = || -> Result<()> {
        let status = run::command(cyclonedx, &workspace)
            .args([
                "cyclonedx",
                "--format",
                "json",
                "--spec-version",
                "1.5",
                "--manifest-path",
            ])
            .arg(workspace.join("Cargo.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("cannot start {}", cyclonedx.display()))?;
        if !status.success() {
            bail!(
                "cargo-cyclonedx failed ({status}) on {}",
                workspace.display()
            );
        }
        Ok(())
    };
    let names = [CYCLONEDX, CORDON_NO_HASH, CORDON_HASH];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for round in 0..=args.rounds {
        for (index, kept) in times.iter_mut().enumerate() {
            let start = Instant::now();
            match index {
                0 => cargo_cyclonedx()?,
                1 => cordon(&empty)?,
                _ => cordon(built)?,
            }
            let elapsed = start.elapsed().as_secs_f64();
            if round > 0 {
                kept.push(elapsed);
            }
        }
    }
    let written = workspace.join("sandbox/cli/cordon-cli.cdx.json");
    if !written.is_file() {
        bail!(
            "cargo-cyclonedx wrote no {}: the comparison would be void",
            written.display()
        );
    }
    let sizes: Vec<u64> = built
        .iter()
        .map(|path| fs::metadata(path).map(|meta| meta.len()))
        .collect::<Result<_, _>>()?;
    println!(
        "bench-sbom: {} rounds; cargo-cyclonedx {CYCLONEDX_VERSION} over the workspace, cordon over {} ({} MB hashed)",
        args.rounds,
        SHIPPED.map(|(_, bin)| bin).join(" + "),
        sizes.iter().sum::<u64>() / 1_000_000
    );
    let baseline = quartiles(&mut times[0]).1;
    for (name, kept) in names.iter().zip(times.iter_mut()) {
        let (first, median, third) = quartiles(kept);
        println!(
            "  {name:<30} median {:>7.1} ms  (quartiles {:.1}..{:.1})  {:.2}x cargo-cyclonedx",
            median * 1e3,
            first * 1e3,
            third * 1e3,
            median / baseline
        );
    }
    Ok(())
}

/// First quartile, median and third quartile of `values` (sorted in place).
fn quartiles(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |fraction: f64| {
        let index = ((values.len().saturating_sub(1)) as f64 * fraction).round() as usize;
        values.get(index).copied().unwrap_or(f64::NAN)
    };
    (at(0.25), at(0.5), at(0.75))
}

/// `target/tools/cargo-cyclonedx/bin/cargo-cyclonedx`, installed pinned with
/// `cargo install --locked` when absent or of another version.
fn install_cyclonedx(root: &Path) -> Result<PathBuf> {
    let tools = root.join("target/tools/cargo-cyclonedx");
    let binary = tools.join("bin/cargo-cyclonedx");
    let installed = std::process::Command::new(&binary)
        .args(["cyclonedx", "--version"])
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(CYCLONEDX_VERSION));
    if !installed {
        eprintln!(
            "bench-sbom: installing cargo-cyclonedx {CYCLONEDX_VERSION} into {}",
            tools.display()
        );
        run::status(
            run::command("cargo", root)
                .args([
                    "install",
                    "--locked",
                    "--force",
                    "--version",
                    CYCLONEDX_VERSION,
                    "--root",
                ])
                .arg(&tools)
                .arg("cargo-cyclonedx"),
        )
        .context("cannot install cargo-cyclonedx from crates.io")?;
    }
    Ok(binary)
}
