//! `cargo xtask release`: cordon's command line over `cordon_dist`. It parses the
//! arguments, chooses the development trust root, shows the progress, words the
//! pipeline's fixes as this command's flags and prints the summary. The pipeline itself
//! (stages, formats, what ships: `[workspace.metadata.cordon]` of `Cargo.toml`) is the
//! library; see `docs/release.md`. In the release workflow the build runs in one job
//! (`--build-only DIR`) and everything else in another that never sees the build's
//! environment (`--from-build DIR --expect-sha256sums FILE`).

pub(crate) mod check;
mod keyless;
mod progress;
pub(crate) mod repro;

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use cordon_dist::{Config, Fix, Prebuilt, Published, Release, TrustSource};

pub(crate) use progress::{Display, human_size};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where release directories go.
    #[arg(long, value_name = "DIR")]
    dist: Option<PathBuf>,
    /// Replace an existing dist/<version>/ instead of refusing.
    #[arg(long)]
    force: bool,
    /// Release from a worktree with uncommitted changes (recorded in the provenance).
    #[arg(long)]
    allow_dirty: bool,
    /// No progress display; only errors and the final summary.
    #[arg(long, short)]
    quiet: bool,
    /// A local clone of the RustSec advisory database
    /// (https://github.com/rustsec/advisory-db) to check the crate set against.
    #[arg(long, value_name = "DIR")]
    advisory_db: Option<PathBuf>,
    /// A VEX document (OpenVEX or CycloneDX VEX) to ship instead of the `vex` of
    /// [workspace.metadata.cordon]; checked against the crate set before the build.
    #[arg(long, value_name = "FILE")]
    vex: Option<PathBuf>,
    /// The trust directory to sign with (`cargo xtask trust init`); default: the
    /// `trust-dir` of [workspace.metadata.cordon], else the development trust root
    /// .cordon-dev-trust/, created on first use.
    #[arg(long, value_name = "DIR")]
    trust: Option<PathBuf>,
    /// Only build: write the shipped binaries, their SHA256SUMS and build.json to DIR
    /// (the release workflow's build job).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["from_build", "keyless"])]
    build_only: Option<PathBuf>,
    /// Do not build: take the binaries from DIR, written by --build-only (the release
    /// workflow's provenance-and-signing job). Requires --expect-sha256sums.
    #[arg(long, value_name = "DIR", requires = "expect_sha256sums")]
    from_build: Option<PathBuf>,
    /// The build's SHA256SUMS as handed over through a channel the build job cannot
    /// rewrite later (the job's outputs); every binary in --from-build must match it.
    #[arg(long, value_name = "FILE", requires = "from_build")]
    expect_sha256sums: Option<PathBuf>,
    /// Also sign every file keyless: `FILE.keyless.sigstore.json` beside every
    /// `FILE.sigstore.json` in the release directory (the public-good trust path; the
    /// trust directory still signs). The `keyless` table of [workspace.metadata.cordon]
    /// asks for this too; these flags override its fields.
    #[command(flatten)]
    keyless: crate::trust::KeylessArgs,
}

pub(crate) fn run(root: &Path, args: &Args) -> Result<()> {
    let mut command = vec!["cargo".to_owned(), "xtask".to_owned()];
    command.extend(std::env::args().skip(1));
    let mut config = Config::new(root, crate::trust::dev_trust_dir(root)?);
    config.dist = args.dist.clone().unwrap_or_else(|| root.join("dist"));
    config.force = args.force;
    config.allow_dirty = args.allow_dirty;
    config.advisory_db = args.advisory_db.clone();
    config.vex = args.vex.clone();
    config.command = command;
    config.keyless = args.keyless.request();
    config.keyless_signing = Some(std::sync::Arc::new(keyless::CordonKeyless));
    if let Some(dir) = &args.trust {
        config.trust = TrustSource::Dir(dir.clone());
    }
    if let (Some(dir), Some(sums)) = (&args.from_build, &args.expect_sha256sums) {
        config.prebuilt = Some(Prebuilt {
            dir: dir.clone(),
            expected_sha256sums: sums.clone(),
        });
    }
    let mut display = Display::new("release", args.quiet);
    match &args.build_only {
        Some(out) => {
            let sums = Release::new(config)
                .build_only(out, &mut display)
                .map_err(|error| anyhow!(word(&error)))?;
            print!("{sums}");
            Ok(())
        }
        None => {
            // The pipeline checks keyless settings before the build and fetches the
            // token and the 10-minute certificate only in its sign stage.
            let published = release(config, &mut display)?;
            println!("{}", summary(&published, &display));
            Ok(())
        }
    }
}

/// Runs the whole pipeline, saying which trust directory signed.
pub(crate) fn release(config: Config, display: &mut Display) -> Result<Published> {
    let published = Release::new(config)
        .run(display)
        .map_err(|error| anyhow!(word(&error)))?;
    if published.development_root {
        display.print(&format!(
            "signed with the DEVELOPMENT trust root {} (not for release; see docs/trust.md)",
            published.trust_dir.display()
        ));
    }
    Ok(published)
}

/// The pipeline's error with its fix worded as this command's flags.
pub(crate) fn word(error: &cordon_dist::Error) -> String {
    error.render(|fix| match fix {
        Fix::Force { path } => format!(
            "bump the version, or pass --force to replace {}",
            path.display()
        ),
        Fix::AllowDirty => "commit or stash the changes, or pass --allow-dirty (recorded in the \
                            provenance; such a release is not a build of the commit alone)"
            .to_owned(),
        Fix::HandOverUnchanged => "pass the build job's directory as --from-build and its \
                                   reported SHA256SUMS as --expect-sha256sums, unchanged and \
                                   from the same commit"
            .to_owned(),
        Fix::TrustDir => "pass --trust DIR with a directory made by `cargo xtask trust init \
                          --out DIR`, or remove .cordon-dev-trust/ to start a new development \
                          root"
            .to_owned(),
        Fix::EditConfig { key } if key.starts_with("keyless.") => format!(
            "pass --{} FILE with --keyless, or set `{key}` in [workspace.metadata.cordon] of \
             Cargo.toml (docs/release.md lists the keys)",
            key.trim_start_matches("keyless.")
        ),
        Fix::EditVex { file } => format!(
            "correct the statements named above in {} (each problem says what to write), or \
             pass --vex FILE with another document, or remove `vex` from \
             [workspace.metadata.cordon]",
            file.display()
        ),
        Fix::RotateReleaseCa { trust_dir } => format!(
            "run `cargo xtask trust rotate --trust {}`",
            trust_dir.display()
        ),
        other => other.to_string(),
    })
}

/// The files of the release and the stage times.
fn summary(published: &Published, display: &Display) -> String {
    let mut text = format!(
        "\nrelease {} published in {}\n\nfile                                          size        sha256\n",
        published.version,
        published.dir.display()
    );
    for (name, size, digest) in &published.files {
        text.push_str(&format!(
            "{name:<45} {:>10}  {}…\n",
            human_size(*size),
            digest.get(..16).unwrap_or_default()
        ));
    }
    text.push('\n');
    text.push_str(&display.stage_table());
    text
}
