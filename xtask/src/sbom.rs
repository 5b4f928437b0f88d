//! `cargo xtask sbom`: builds a binary (or takes a built one) and writes its SBOM with
//! `cordon-sbom`, atomically.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use cargo_metadata::Message;
use cordon_sbom::{Binary, Build, Format, Options};

use crate::run;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The workspace package whose binary to describe.
    #[arg(long, short = 'p')]
    package: String,
    /// The binary (default: the package's only one).
    #[arg(long)]
    bin: Option<String>,
    /// Target triple (default: the host).
    #[arg(long)]
    target: Option<String>,
    /// Features, as for cargo (comma-separated or repeated).
    #[arg(long, short = 'F')]
    features: Vec<String>,
    /// Do not enable the default features.
    #[arg(long)]
    no_default_features: bool,
    /// `cyclonedx-1.5`, `cyclonedx-1.6`, `spdx-2.3` or `spdx-3.0.1`.
    #[arg(long)]
    format: Format,
    /// Where to write the document.
    #[arg(long)]
    out: PathBuf,
    /// The built binary to describe; without it, it is built with `cargo build --release`.
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
    /// The workspace manifest (default: this workspace's).
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
}

pub(crate) fn run(root: &Path, args: &Args) -> Result<()> {
    let manifest_path = args
        .manifest_path
        .clone()
        .unwrap_or_else(|| root.join("Cargo.toml"));
    let build = Build {
        manifest_path,
        binaries: vec![Binary {
            package: args.package.clone(),
            bin: args.bin.clone().unwrap_or_default(),
        }],
        target: args.target.clone(),
        features: args.features.clone(),
        no_default_features: args.no_default_features,
    };
    let binary = match &args.binary {
        Some(path) => path.clone(),
        None => {
            // Check the package, binary and target before spending a release build.
            cordon_sbom::resolve(&build)
                .with_context(|| format!("sbom: cannot describe package {}", args.package))?;
            build_binary(&build, &["--release"])?.executable
        }
    };
    let bytes = cordon_sbom::document(&build, &[binary], args.format, &Options::default())
        .with_context(|| format!("sbom: cannot describe package {}", args.package))?;
    write_atomically(&args.out, &bytes)?;
    eprintln!(
        "sbom: wrote {} ({})",
        args.out.display(),
        args.format.name()
    );
    Ok(())
}

/// One compiler artifact: package id, target kinds, files written.
pub(crate) type Artifact = (String, Vec<String>, Vec<PathBuf>);

/// The parts of a compiler-artifact message the accuracy check needs: package id, target
/// kinds, output files.
pub(crate) fn artifact_row(artifact: &cargo_metadata::Artifact) -> Artifact {
    (
        artifact.package_id.repr.clone(),
        artifact
            .target
            .kind
            .iter()
            .map(ToString::to_string)
            .collect(),
        artifact
            .filenames
            .iter()
            .map(|file| file.clone().into_std_path_buf())
            .collect(),
    )
}

/// What one `cargo build` of one binary produced.
#[derive(Debug)]
pub(crate) struct Built {
    /// The executable.
    pub(crate) executable: PathBuf,
    /// `(package id, target kinds, file names)` of every compiler artifact.
    pub(crate) artifacts: Vec<Artifact>,
}

/// Builds the build's (single) binary with `--message-format=json` and returns the
/// executable and every artifact cargo reports.
pub(crate) fn build_binary(build: &Build, extra: &[&str]) -> Result<Built> {
    let (executable, artifacts) = cargo_units(build, "build", extra)?;
    let executable = executable.context("cargo build reported no executable")?;
    Ok(Built {
        executable,
        artifacts,
    })
}

/// Every artifact of `cargo check` of the build's (single) binary: the same units, for the
/// same target and features, as `cargo build` compiles, without generating code (about half
/// the build's time), so it is the cheaper truth for the SBOM accuracy checks.
pub(crate) fn checked_units(build: &Build, extra: &[&str]) -> Result<Vec<Artifact>> {
    Ok(cargo_units(build, "check", extra)?.1)
}

/// Runs `cargo SUBCOMMAND --message-format=json` on the build's (single) binary and returns
/// the executable it reported (if any) and every compiler artifact.
fn cargo_units(
    build: &Build,
    subcommand: &str,
    extra: &[&str],
) -> Result<(Option<PathBuf>, Vec<Artifact>)> {
    let [binary] = build.binaries.as_slice() else {
        bail!("cargo {subcommand} here takes exactly one binary");
    };
    let mut command = run::command(
        "cargo",
        build.manifest_path.parent().unwrap_or(Path::new(".")),
    );
    command
        .args([
            subcommand,
            "--locked",
            "--message-format=json-render-diagnostics",
        ])
        .args(extra)
        .arg("--manifest-path")
        .arg(&build.manifest_path)
        .args(["--package", &binary.package]);
    if !binary.bin.is_empty() {
        command.args(["--bin", &binary.bin]);
    }
    if let Some(target) = &build.target {
        command.args(["--target", target]);
    }
    command.args(build.cargo_feature_args());
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start cargo {subcommand}"))?;
    let stdout = child
        .stdout
        .take()
        .with_context(|| format!("cargo {subcommand} has no stdout"))?;
    let mut executable = None;
    let mut artifacts = Vec::new();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        if let Message::CompilerArtifact(artifact) =
            message.context("cannot read cargo's output")?
        {
            if let Some(path) = &artifact.executable {
                executable = Some(path.clone().into_std_path_buf());
            }
            artifacts.push(artifact_row(&artifact));
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("cargo {subcommand} did not finish"))?;
    if !status.success() {
        let hint = build.target.as_ref().map_or_else(String::new, |target| {
            format!(" (if the target's standard library is missing: `rustup target add {target}`)")
        });
        bail!(
            "cargo {subcommand} of package {} failed{hint}",
            binary.package
        );
    }
    Ok((executable, artifacts))
}

/// Writes `bytes` to `path` with [`cordon_release::write_atomic`] (fsync of the file and
/// the directory), creating the directory first.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(cordon_release::write_atomic(path, bytes, 0o644)?)
}
