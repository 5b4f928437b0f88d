//! `cordon-verify`: checks a downloaded release offline before it is packaged or served.
//!
//! Argument parsing and printing only: each subcommand's `Args` runs one library
//! function that returns a [`Report`], and [`emit`] prints it — passed rows on standard
//! output, every failure as one line on standard error — and turns its verdict into the
//! exit code (see docs/verify.md).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod report_command;

use clap::{Args, Parser, Subcommand};
use cordon_verify::{
    ArtifactInput, ExpectedSigner, Failure, FailureClass, ProvenanceExpectations,
    ReleaseExpectations, Report, TrustSource,
};
use report_command::ReportArgs;

/// The exit codes, shown at the end of every subcommand's help.
const EXIT_CODES: &str = "\
Exit codes:
  0  every check passed
  2  bad input: a file is missing, unreadable or malformed, or an argument is wrong
  3  signature: a signature, certificate chain, SCT, log proof, timestamp or the
     trusted root does not verify (or the files were signed under another root)
  4  identity: validly signed, but not by the expected signer or builder
  5  provenance policy: authentic provenance that does not say what you require
  6  SBOM mismatch: an SBOM does not describe its binary
  7  integrity: a file's bytes are not the ones listed or signed, or a listed file
     is absent
When several checks fail, the most serious class wins, in the order 3, 4, 7, 5, 6, 2.";

/// Verify releases offline: checksums, Sigstore bundles against a trusted root, and
/// SLSA provenance.
#[derive(Debug, Parser)]
#[command(name = "cordon-verify", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Checksums(ChecksumsArgs),
    #[command(name = "verify-bundle")]
    VerifyBundle(VerifyBundleArgs),
    Artifact(ArtifactArgs),
    Release(ReleaseArgs),
    Report(ReportArgs),
    Provenance(ProvenanceArgs),
}

/// Check every file listed in a SHA256SUMS file against the files beside it.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
struct ChecksumsArgs {
    /// The SHA256SUMS file; the files it lists are looked up in its directory.
    sums: PathBuf,
    /// Fail (exit 7) when the directory holds entries the list does not name (the list
    /// itself and its `.sigstore.json` bundle aside); without it they are reported and
    /// the verdict is unaffected.
    #[arg(long)]
    deny_extra: bool,
}

impl ChecksumsArgs {
    fn run(self) -> ExitCode {
        emit(
            &cordon_verify::verify_checksums(&self.sums, self.deny_extra),
            Style::Rows,
        )
    }
}

/// Verify one Sigstore bundle (the sigstore-conformance client protocol).
///
/// Either `--certificate-identity` and `--certificate-oidc-issuer` (keyless), or
/// `--key` (managed key). Without `--trusted-root`, the Sigstore public-good
/// production root embedded in this binary is used (`--staging`: the staging root).
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
struct VerifyBundleArgs {
    /// Use the embedded Sigstore staging root instead of production.
    #[arg(long)]
    staging: bool,
    /// The Sigstore bundle (JSON).
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    /// The SAN identity the signing certificate must carry.
    #[arg(
        long,
        value_name = "IDENTITY",
        required_unless_present = "key",
        requires = "certificate_oidc_issuer"
    )]
    certificate_identity: Option<String>,
    /// The OIDC issuer the signing certificate must carry.
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "key",
        requires = "certificate_identity"
    )]
    certificate_oidc_issuer: Option<String>,
    /// A PEM public key: verify a managed-key bundle with it.
    #[arg(long, value_name = "PATH_TO_KEY", conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer"])]
    key: Option<PathBuf>,
    /// A trusted_root.json to verify against instead of the embedded root.
    #[arg(long, value_name = "FILE", conflicts_with = "staging")]
    trusted_root: Option<PathBuf>,
    /// The artifact, or its digest as `sha256:<64 hex digits>`.
    file_or_digest: String,
}

impl VerifyBundleArgs {
    fn run(self) -> ExitCode {
        let trust = match (self.trusted_root, self.staging) {
            (Some(path), _) => TrustSource::File(path),
            (None, true) => TrustSource::Staging,
            (None, false) => TrustSource::Production,
        };
        let signer = match (
            self.key,
            self.certificate_identity,
            self.certificate_oidc_issuer,
        ) {
            (Some(key), _, _) => ExpectedSigner::Key(key),
            (None, Some(identity), Some(issuer)) => ExpectedSigner::Identity { identity, issuer },
            // clap's `required_unless_present`/`requires` make this unreachable.
            _ => {
                return usage(
                    "pass --key, or both --certificate-identity and --certificate-oidc-issuer",
                );
            }
        };
        emit(
            &cordon_verify::verify_artifact(
                &trust,
                &self.bundle,
                &ArtifactInput::parse(&self.file_or_digest),
                &signer,
            ),
            Style::OneLine,
        )
    }
}

/// Verify one file's Sigstore bundle and its signer, like `cosign verify-blob`.
///
/// One of `--pinned-root` or `--trusted-root` is required.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
struct ArtifactArgs {
    /// The file that was signed.
    file: PathBuf,
    /// Its Sigstore bundle.
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    #[command(flatten)]
    root: RootArgs,
    /// The root-signed trusted root (default: trusted_root.dsse.json beside the bundle).
    #[arg(long, value_name = "FILE", requires = "pinned_root")]
    signed_root: Option<PathBuf>,
    /// The SAN identity the signing certificate must carry.
    #[arg(long, value_name = "IDENTITY")]
    cert_identity: String,
    /// The OIDC issuer the signing certificate must carry.
    #[arg(long, value_name = "URL")]
    cert_oidc_issuer: String,
}

impl ArtifactArgs {
    fn run(self) -> ExitCode {
        let beside_bundle = self
            .bundle
            .parent()
            .unwrap_or(Path::new("."))
            .join(cordon_format::names::SIGNED_TRUSTED_ROOT_FILE);
        let trust = match self.root.source(self.signed_root.unwrap_or(beside_bundle)) {
            Ok(trust) => trust,
            Err(failure) => return fail(&failure),
        };
        emit(
            &cordon_verify::verify_artifact(
                &trust,
                &self.bundle,
                &ArtifactInput::File(self.file),
                &ExpectedSigner::Identity {
                    identity: self.cert_identity,
                    issuer: self.cert_oidc_issuer,
                },
            ),
            Style::OneLine,
        )
    }
}

/// The trusted root of `artifact` and `release`: exactly one of the two is required.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct RootArgs {
    /// The pinned root certificate's SHA-256 (64 hex digits, `sha256:` or colons
    /// allowed): the root-signed trusted root (trusted_root.dsse.json) must be provable
    /// from it. Required unless --trusted-root is given.
    #[arg(long, value_name = "SHA256")]
    pinned_root: Option<String>,
    /// A trusted_root.json trusted as is, instead of --pinned-root.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
}

impl RootArgs {
    /// The trust source; a pinned root is read from `signed_root`.
    fn source(self, signed_root: PathBuf) -> Result<TrustSource, Failure> {
        match (self.pinned_root, self.trusted_root) {
            (_, Some(path)) => Ok(TrustSource::File(path)),
            (Some(fingerprint), None) => Ok(TrustSource::Pinned {
                fingerprint: cordon_verify::parse_fingerprint(&fingerprint)?,
                signed_root,
            }),
            (None, None) => Err(Failure::new(
                FailureClass::BadInput,
                "pass --pinned-root SHA256 or --trusted-root FILE",
            )),
        }
    }

    /// The trust source for the release directory `dir`: a pinned root is read from
    /// `signed_root`, by default the release's own `trusted_root.dsse.json`.
    fn for_release(self, dir: &Path, signed_root: Option<PathBuf>) -> Result<TrustSource, Failure> {
        self.source(
            signed_root.unwrap_or_else(|| dir.join(cordon_format::names::SIGNED_TRUSTED_ROOT_FILE)),
        )
    }
}

/// What `release` and `report` require of a release: its source, builder and signers
/// (the keyless bundles, `FILE.keyless.sigstore.json`, included), the root state, and
/// whether unlisted files fail it.
#[derive(Debug, Args)]
struct ExpectationArgs {
    /// The source repository the release must come from, `github.com/OWNER/REPO`.
    #[arg(long, value_name = "URI")]
    source_uri: Option<String>,
    /// The tag the release must be built from (without `refs/tags/`).
    #[arg(long, value_name = "TAG")]
    source_tag: Option<String>,
    /// The provenance's builder id: `URI` for any ref, `URI@REF` for one.
    #[arg(long, value_name = "ID")]
    builder_id: Option<String>,
    /// The identity every file must be signed by (the certificate's SAN): exact, or
    /// with `*` standing for any characters but `@` (`.../release.yml@refs/tags/v*`).
    #[arg(long, value_name = "IDENTITY")]
    signer_workflow: Option<String>,
    /// A state file keeping, per pinned root, the highest trusted-root version accepted:
    /// an older or expired root-signed trusted root is refused (exit 3), a newer one
    /// recorded. Needs --pinned-root. See docs/trust.md.
    #[arg(long, value_name = "FILE")]
    root_state: Option<PathBuf>,
    /// Fail on files in DIR that SHA256SUMS does not list (they are reported either way).
    #[arg(long)]
    deny_extra: bool,
    /// A CA URI of the trusted root that is a Fulcio besides the public-good ones (a
    /// private Fulcio); repeat for several. Keyless bundles must be certified by a
    /// Fulcio, the release's own bundles by anything else.
    #[arg(long = "fulcio-uri", value_name = "URI")]
    fulcio_uris: Vec<String>,
    /// The identity (certificate SAN) every keyless bundle must be signed by: exact, or
    /// with `*` standing for any characters but `@`.
    #[arg(long, value_name = "IDENTITY")]
    keyless_signer: Option<String>,
}

impl ExpectationArgs {
    fn into_expectations(self) -> ReleaseExpectations {
        ReleaseExpectations {
            source_uri: self.source_uri,
            source_tag: self.source_tag,
            builder_id: self.builder_id,
            signer_workflow: self.signer_workflow,
            deny_extra: self.deny_extra,
            root_state: self.root_state,
            fulcio_uris: self.fulcio_uris,
            keyless_signer: self.keyless_signer,
        }
    }
}

/// Verify a whole release directory: trusted root from the pinned root, SHA256SUMS,
/// manifest.json, every file's Sigstore bundle, the provenance and the SBOMs. One row
/// per file and check, then a verdict; failures on standard error.
///
/// One of `--pinned-root` or `--trusted-root` is required.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
struct ReleaseArgs {
    /// The release directory.
    dir: PathBuf,
    #[command(flatten)]
    root: RootArgs,
    /// A newer root-signed trusted root to verify with instead of the release's own
    /// DIR/trusted_root.dsse.json (an old release, after --root-state has seen a newer
    /// root).
    #[arg(long, value_name = "FILE", requires = "pinned_root")]
    signed_root: Option<PathBuf>,
    #[command(flatten)]
    expect: ExpectationArgs,
    /// Print the report as JSON on standard output (failures still on standard error).
    #[arg(long)]
    json: bool,
}

impl ReleaseArgs {
    fn run(self) -> ExitCode {
        let trust = match self.root.for_release(&self.dir, self.signed_root) {
            Ok(trust) => trust,
            Err(failure) => return fail(&failure),
        };
        let report =
            cordon_verify::verify_release(&self.dir, &trust, &self.expect.into_expectations());
        emit(&report, if self.json { Style::Json } else { Style::Rows })
    }
}

/// Verify third-party SLSA provenance for a file, with the checks of slsa-verifier's
/// `verify-artifact` and `verify-npm-package`: signature, subject digest, signer
/// workflow, builder, source repository, ref and commit; prints the SLSA Build level
/// the provenance proves.
///
/// Reads Sigstore bundles v0.1 to v0.3 (slsa-github-generator's `.build.slsa` and
/// `.intoto.jsonl`, GitHub artifact attestations), JSON lines of bundles, and npm's
/// attestations document. Without --signer-workflow the signer must be one of
/// slsa-github-generator's builders at a release tag, a workflow of the source
/// repository, or the reusable workflow --builder-id names.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
struct ProvenanceArgs {
    /// The artifact the provenance describes, or its digest as `sha256:<64 hex digits>`
    /// (npm packages, whose subjects are SHA-512, need the file).
    file_or_digest: String,
    /// The provenance file (alias: --attestations-path, for npm's attestations).
    #[arg(
        long,
        value_name = "FILE",
        alias = "provenance-path",
        alias = "attestations-path"
    )]
    provenance: PathBuf,
    /// The source repository, `github.com/OWNER/REPO`.
    #[arg(long, value_name = "URI")]
    source_uri: String,
    /// The tag the artifact must have been built from (without `refs/tags/`).
    #[arg(long, value_name = "TAG", conflicts_with = "source_branch")]
    source_tag: Option<String>,
    /// The branch the artifact must have been built from (without `refs/heads/`).
    #[arg(long, value_name = "BRANCH")]
    source_branch: Option<String>,
    /// A semantic version the build's tag must be compatible with, as slsa-verifier
    /// matches it: `v1` accepts any `v1.x.y`, `v1.2` any `v1.2.y`, `v1.2.3` only itself.
    #[arg(long, value_name = "VERSION", conflicts_with_all = ["source_tag", "source_branch"])]
    source_versioned_tag: Option<String>,
    /// A `workflow_dispatch` input the build must have run with, `KEY=VALUE`; repeat for
    /// several.
    #[arg(long = "build-workflow-input", value_name = "KEY=VALUE", value_parser = cordon_verify::parse_workflow_input)]
    workflow_inputs: Vec<(String, String)>,
    /// The commit the artifact must have been built from.
    #[arg(long, value_name = "SHA")]
    source_commit: Option<String>,
    /// The predicate's builder id (`URI` for any ref, `URI@REF` for one): for
    /// slsa-github-generator's delegators the trusted reusable workflow, for npm
    /// `https://github.com/actions/runner/github-hosted`.
    #[arg(long, value_name = "ID")]
    builder_id: Option<String>,
    /// The workflow that must have signed (the certificate's SAN, `URI@REF`), exactly,
    /// or with `*` standing for any characters up to the `@` and after it
    /// (`.../release.yml@refs/tags/v*`).
    #[arg(long, value_name = "WORKFLOW")]
    signer_workflow: Option<String>,
    /// An event the build may have been triggered by (`push`, `release`,
    /// `workflow_dispatch`...); repeat for several. Default: any.
    #[arg(long = "trigger", value_name = "EVENT")]
    triggers: Vec<String>,
    /// The npm package name the provenance must be about (with --package-version).
    #[arg(long, value_name = "NAME", requires = "package_version")]
    package_name: Option<String>,
    /// The npm package version the provenance must be about (with --package-name).
    #[arg(long, value_name = "VERSION", requires = "package_name")]
    package_version: Option<String>,
    /// A CA URI of the trusted root that may certify GitHub workflow identities, besides
    /// the public-good Fulcio (a private Fulcio); repeat for several.
    #[arg(long = "fulcio-uri", value_name = "URI")]
    fulcio_uris: Vec<String>,
    /// Fail unless the provenance proves at least this SLSA Build level.
    #[arg(long, value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(1..=3))]
    min_level: Option<u8>,
    /// A trusted_root.json; default: the embedded Sigstore production root.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
}

impl ProvenanceArgs {
    fn run(self) -> ExitCode {
        emit(
            &cordon_verify::verify_provenance(
                &ArtifactInput::parse(&self.file_or_digest),
                &self.provenance,
                &ProvenanceExpectations {
                    source_uri: self.source_uri,
                    source_tag: self.source_tag,
                    source_branch: self.source_branch,
                    source_versioned_tag: self.source_versioned_tag,
                    workflow_inputs: self.workflow_inputs,
                    source_commit: self.source_commit,
                    builder_id: self.builder_id,
                    signer_workflow: self.signer_workflow,
                    triggers: self.triggers,
                    min_level: self.min_level,
                    fulcio_uris: self.fulcio_uris,
                    npm_package: self.package_name.zip(self.package_version),
                },
                &self
                    .trusted_root
                    .map_or(TrustSource::Production, TrustSource::File),
            ),
            Style::OneLine,
        )
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Checksums(args) => args.run(),
        Command::VerifyBundle(args) => args.run(),
        Command::Artifact(args) => args.run(),
        Command::Release(args) => args.run(),
        Command::Report(args) => args.run(),
        Command::Provenance(args) => args.run(),
    }
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// One row per line and a verdict line.
    Rows,
    /// One-check subcommands: the row alone (one line on success or failure).
    OneLine,
    /// JSON on standard output; failures still one line each on standard error.
    Json,
}

/// Prints `report` and returns its exit code. A closed standard output (`| head`) ends
/// the output quietly; the exit code is still the verdict's.
fn emit(report: &Report, style: Style) -> ExitCode {
    let lines = report.lines(style == Style::Rows);
    let mut stdout = io::stdout().lock();
    let mut stderr = io::stderr().lock();
    let mut stdout_open = true;
    if style == Style::Json {
        stdout_open = writeln!(stdout, "{:#}", report.to_json()).is_ok();
    }
    for line in lines {
        if line.to_stderr {
            // Nothing sensible is left to do when standard error is gone.
            let _ = writeln!(stderr, "{}", line.text);
        } else if style != Style::Json && stdout_open {
            // A closed pipe: stop writing to it, keep the verdict.
            stdout_open = writeln!(stdout, "{}", line.text).is_ok();
        }
    }
    if stdout_open {
        let _ = stdout.flush();
    }
    ExitCode::from(report.exit_code())
}

/// A failure found before any check ran (an argument): one line, its exit code.
fn fail(failure: &Failure) -> ExitCode {
    eprintln!(
        "cordon-verify: FAILED ({}): {}",
        failure.class, failure.reason
    );
    ExitCode::from(failure.class.exit_code())
}

fn usage(message: &str) -> ExitCode {
    fail(&Failure::new(FailureClass::BadInput, message))
}
