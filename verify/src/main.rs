//! `cordon-verify`: checks a downloaded release offline before it is packaged or served.
//!
//! Thin glue over the `cordon_verify` library; exit codes are documented in
//! [`cordon_verify::exit`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cordon_verify::checksums::{self as checksum_list, Outcome, Sha256Sums};
use cordon_verify::exit::{Failure, FailureClass};
use cordon_verify::input::{ArtifactInput, MAX_JSON_BYTES};
use cordon_verify::inventory::{self, Unlisted};
use cordon_verify::provenance::{self, Expectations, SignerClaims};
use cordon_verify::signature::{self, Signer, TrustSource};
use cordon_verify::{pinned, release_dir};

/// Verify releases offline: checksums, Sigstore bundles against a trusted root, and
/// SLSA provenance. Exit codes: 0 ok, 2 bad input, 3 signature, 4 identity,
/// 5 provenance policy, 6 SBOM mismatch, 7 integrity.
#[derive(Debug, Parser)]
#[command(name = "cordon-verify", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check every file listed in a SHA256SUMS file against the files beside it.
    ///
    /// Exit 0 when all match, 7 when a file differs or is absent, 2 when the list
    /// cannot be read or parsed.
    Checksums {
        /// The SHA256SUMS file; the files it lists are looked up in its directory.
        sums: PathBuf,
        /// Fail (exit 7) when the directory holds entries the list does not name;
        /// without it they are reported and the verdict is unaffected.
        #[arg(long)]
        deny_extra: bool,
    },
    /// Verify one Sigstore bundle (the sigstore-conformance client protocol).
    ///
    /// Either `--certificate-identity` and `--certificate-oidc-issuer` (keyless), or
    /// `--key` (managed key). Without `--trusted-root`, the Sigstore public-good
    /// production root embedded in this binary is used (`--staging`: the staging root).
    #[command(name = "verify-bundle")]
    VerifyBundle {
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
    },
    /// Verify one file's Sigstore bundle and its signer, like `cosign verify-blob`.
    Artifact {
        /// The file that was signed.
        file: PathBuf,
        /// Its Sigstore bundle.
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// The trusted_root.json holding the CA, log and timestamp keys (trusted as is).
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "pinned_root",
            conflicts_with = "pinned_root"
        )]
        trusted_root: Option<PathBuf>,
        /// The pinned root certificate's SHA-256: the trusted root is read from the
        /// root-signed `--signed-root` file and must be provable from it.
        #[arg(long, value_name = "SHA256")]
        pinned_root: Option<String>,
        /// The root-signed trusted root (default: trusted_root.dsse.json beside the bundle).
        #[arg(long, value_name = "FILE", requires = "pinned_root")]
        signed_root: Option<PathBuf>,
        /// The SAN identity the signing certificate must carry.
        #[arg(long, value_name = "IDENTITY")]
        cert_identity: String,
        /// The OIDC issuer the signing certificate must carry.
        #[arg(long, value_name = "URL")]
        cert_oidc_issuer: String,
    },
    /// Verify a whole release directory: trusted root from the pinned root, SHA256SUMS,
    /// manifest.json, every file's Sigstore bundle, the provenance and the SBOMs. One
    /// row per file and check, then a verdict.
    Release {
        /// The release directory.
        dir: PathBuf,
        /// The pinned root certificate's SHA-256; trusted_root.dsse.json in DIR must be
        /// provable from it.
        #[arg(
            long,
            value_name = "SHA256",
            required_unless_present = "trusted_root",
            conflicts_with = "trusted_root"
        )]
        pinned_root: Option<String>,
        /// A trusted_root.json trusted as is, instead of --pinned-root.
        #[arg(long, value_name = "FILE")]
        trusted_root: Option<PathBuf>,
        /// The source repository the release must come from, `github.com/OWNER/REPO`.
        #[arg(long, value_name = "URI")]
        source_uri: Option<String>,
        /// The tag the release must be built from (without `refs/tags/`).
        #[arg(long, value_name = "TAG")]
        source_tag: Option<String>,
        /// The builder (and signing identity): `URI` for any ref, `URI@REF` for one.
        #[arg(long, value_name = "ID")]
        builder_id: Option<String>,
        /// Fail on files in DIR that SHA256SUMS does not list (they are reported either way).
        #[arg(long)]
        deny_extra: bool,
        /// Print the report as JSON on standard output.
        #[arg(long)]
        json: bool,
    },
    /// Verify third-party SLSA v1 provenance for a file (GitHub artifact attestations,
    /// slsa-github-generator bundles), with the checks of slsa-verifier's
    /// `verify-artifact`: signature, subject digest, predicate type, builder, source
    /// repository and tag.
    Provenance {
        /// The artifact the provenance describes.
        file: PathBuf,
        /// The provenance: a Sigstore bundle holding a DSSE-signed in-toto statement.
        #[arg(long, value_name = "FILE")]
        provenance: PathBuf,
        /// The source repository, `github.com/OWNER/REPO`.
        #[arg(long, value_name = "URI")]
        source_uri: String,
        /// The tag the artifact must have been built from (without `refs/tags/`).
        #[arg(long, value_name = "TAG")]
        source_tag: Option<String>,
        /// The builder workflow to trust (`URI` for any ref, `URI@REF` for one);
        /// without it, only slsa-github-generator's builders at a release tag.
        #[arg(long, value_name = "ID")]
        builder_id: Option<String>,
        /// A trusted_root.json; default: the embedded Sigstore production root.
        #[arg(long, value_name = "FILE")]
        trusted_root: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Checksums { sums, deny_extra } => checksums(&sums, deny_extra),
        Command::VerifyBundle {
            staging,
            bundle,
            certificate_identity,
            certificate_oidc_issuer,
            key,
            trusted_root,
            file_or_digest,
        } => {
            let trust = match (trusted_root, staging) {
                (Some(path), _) => TrustSource::File(path),
                (None, true) => TrustSource::Staging,
                (None, false) => TrustSource::Production,
            };
            let signer = match (key, certificate_identity, certificate_oidc_issuer) {
                (Some(key), _, _) => Signer::Key(key),
                (None, Some(identity), Some(issuer)) => Signer::Identity { identity, issuer },
                // clap's `required_unless_present`/`requires` make this unreachable.
                _ => {
                    report(&Failure::new(
                        FailureClass::BadInput,
                        "pass --key, or both --certificate-identity and --certificate-oidc-issuer",
                    ));
                    return ExitCode::from(FailureClass::BadInput.exit_code());
                }
            };
            verify_bundle(
                &Trust::Source(trust),
                &bundle,
                &ArtifactInput::parse(&file_or_digest),
                &signer,
            )
        }
        Command::Artifact {
            file,
            bundle,
            trusted_root,
            pinned_root,
            signed_root,
            cert_identity,
            cert_oidc_issuer,
        } => verify_bundle(
            &match (trusted_root, pinned_root) {
                (Some(path), _) => Trust::Source(TrustSource::File(path)),
                (None, pinned) => Trust::Pinned {
                    fingerprint: pinned.unwrap_or_default(),
                    signed_root: signed_root.unwrap_or_else(|| {
                        bundle
                            .parent()
                            .unwrap_or(Path::new("."))
                            .join(pinned::SIGNED_TRUSTED_ROOT_FILE)
                    }),
                },
            },
            &bundle,
            &ArtifactInput::File(file),
            &Signer::Identity {
                identity: cert_identity,
                issuer: cert_oidc_issuer,
            },
        ),
        Command::Release {
            dir,
            pinned_root,
            trusted_root,
            source_uri,
            source_tag,
            builder_id,
            deny_extra,
            json,
        } => verify_release(
            &dir,
            pinned_root,
            trusted_root,
            &release_dir::Expectations {
                source_uri,
                source_tag,
                builder_id,
                deny_extra,
            },
            json,
        ),
        Command::Provenance {
            file,
            provenance,
            source_uri,
            source_tag,
            builder_id,
            trusted_root,
        } => verify_provenance(
            &file,
            &provenance,
            &Expectations {
                source_uri,
                source_tag,
                builder_id,
            },
            &trusted_root.map_or(TrustSource::Production, TrustSource::File),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(class) => ExitCode::from(class.exit_code()),
    }
}

/// Prints a failure on one line of standard error.
fn report(failure: &Failure) {
    eprintln!(
        "cordon-verify: FAILED ({}): {}",
        failure.class, failure.reason
    );
}

/// Where a subcommand's trusted root comes from.
#[derive(Debug)]
enum Trust {
    /// Embedded, or a file trusted as is.
    Source(TrustSource),
    /// A root-signed file, proven from a pinned root fingerprint.
    Pinned {
        fingerprint: String,
        signed_root: PathBuf,
    },
}

fn load_trust(trust: &Trust) -> Result<sigstore_verify::trust_root::TrustedRoot, Failure> {
    match trust {
        Trust::Source(source) => signature::load_trusted_root(source),
        Trust::Pinned {
            fingerprint,
            signed_root,
        } => {
            let pinned = pinned::parse_fingerprint(fingerprint)?;
            pinned::load_signed_trusted_root(signed_root, &pinned).map(|(root, _)| root)
        }
    }
}

fn verify_bundle(
    trust: &Trust,
    bundle_path: &Path,
    artifact: &ArtifactInput,
    signer: &Signer,
) -> Result<(), FailureClass> {
    let outcome = load_trust(trust).and_then(|root| {
        let bundle = signature::load_bundle(bundle_path)?;
        signature::verify(&root, &bundle, artifact, signer)
    });
    match outcome {
        Ok(result) => {
            let signer = match (result.identity(), result.issuer()) {
                (Some(identity), Some(issuer)) => format!("{identity} ({issuer})"),
                _ => "the managed key".to_owned(),
            };
            println!("ok: {} is signed by {signer}", bundle_path.display());
            Ok(())
        }
        Err(failure) => {
            report(&Failure::new(
                failure.class,
                format!("{}: {}", bundle_path.display(), failure.reason),
            ));
            Err(failure.class)
        }
    }
}

fn verify_release(
    dir: &Path,
    pinned_root: Option<String>,
    trusted_root: Option<PathBuf>,
    expected: &release_dir::Expectations,
    json: bool,
) -> Result<(), FailureClass> {
    let root = match (pinned_root, trusted_root) {
        (_, Some(path)) => release_dir::RootSource::File(path),
        (Some(fingerprint), None) => match pinned::parse_fingerprint(&fingerprint) {
            Ok(fingerprint) => release_dir::RootSource::Pinned(fingerprint),
            Err(failure) => {
                report(&failure);
                return Err(failure.class);
            }
        },
        (None, None) => {
            report(&Failure::new(
                FailureClass::BadInput,
                "pass --pinned-root SHA256 or --trusted-root FILE",
            ));
            return Err(FailureClass::BadInput);
        }
    };
    if !dir.is_dir() {
        let failure = Failure::new(
            FailureClass::BadInput,
            format!("{}: not a directory", dir.display()),
        );
        report(&failure);
        return Err(failure.class);
    }
    let result = release_dir::verify(dir, &root, expected);
    if json {
        println!("{:#}", result.to_json());
    } else {
        print!("{}", result.to_text());
    }
    match result.verdict() {
        None => Ok(()),
        Some(class) => Err(class),
    }
}

fn verify_provenance(
    file: &Path,
    provenance_path: &Path,
    expected: &Expectations,
    trust: &TrustSource,
) -> Result<(), FailureClass> {
    let outcome = signature::load_trusted_root(trust).and_then(|root| {
        let bundle = signature::load_bundle(provenance_path)?;
        let Some((payload_type, payload)) = signature::dsse_payload(&bundle) else {
            return Err(Failure::new(
                FailureClass::BadInput,
                "the bundle signs a plain message, not a DSSE in-toto statement: it is not provenance",
            ));
        };
        if payload_type != signature::IN_TOTO_PAYLOAD_TYPE {
            return Err(Failure::new(
                FailureClass::BadInput,
                format!(
                    "DSSE payload type {payload_type:?} is not an in-toto statement ({})",
                    signature::IN_TOTO_PAYLOAD_TYPE
                ),
            ));
        }
        let result = signature::verify(
            &root,
            &bundle,
            &ArtifactInput::File(file.to_owned()),
            &Signer::AnyIdentityFrom {
                issuer: provenance::GITHUB_ACTIONS_ISSUER.to_owned(),
            },
        )?;
        let claims = result.certificate().map(SignerClaims::from);
        provenance::check(payload, claims.as_ref(), expected)
    });
    match outcome {
        Ok(verified) => {
            println!(
                "ok: {} is described by {}",
                file.display(),
                provenance_path.display()
            );
            println!("  builder: {}", verified.builder_id);
            println!("  source:  {}", verified.source_repository);
            if let Some(reference) = &verified.source_ref {
                println!("  ref:     {reference}");
            }
            if let Some(commit) = &verified.source_commit {
                println!("  commit:  {commit}");
            }
            Ok(())
        }
        Err(failure) => {
            report(&Failure::new(
                failure.class,
                format!("{}: {}", provenance_path.display(), failure.reason),
            ));
            Err(failure.class)
        }
    }
}

fn checksums(sums: &Path, deny_extra: bool) -> Result<(), FailureClass> {
    let bad_input = |failure: Failure| {
        report(&failure);
        failure.class
    };
    let text = cordon_verify::input::read_json_text(sums, "checksum list", MAX_JSON_BYTES)
        .map_err(bad_input)?;
    let list = Sha256Sums::parse(&text).map_err(|error| {
        bad_input(Failure::new(
            FailureClass::BadInput,
            format!("checksum list {}: {error}", sums.display()),
        ))
    })?;
    let dir = match sums.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let results = checksum_list::check(&list, &dir);
    let failed = results
        .iter()
        .filter(|checked| !matches!(checked.outcome, Outcome::Ok))
        .count();
    for checked in &results {
        println!("{checked}");
    }
    let mut listed: BTreeSet<String> = list.iter().map(|(name, _)| name.to_owned()).collect();
    if let Some(name) = sums.file_name() {
        listed.insert(name.to_string_lossy().into_owned());
    }
    let extras = inventory::unlisted(&dir, &listed).map_err(|error| {
        bad_input(Failure::new(
            FailureClass::BadInput,
            format!("cannot list {}: {error}", dir.display()),
        ))
    })?;
    let mut failed_extras = 0;
    for extra in &extras {
        // An escaping symlink fails even when extra files are allowed.
        let fails = deny_extra || matches!(extra, Unlisted::Symlink { outside: true, .. });
        println!("{}  {extra}", if fails { "FAILED " } else { "extra  " });
        failed_extras += usize::from(fails);
    }
    let files = results.len();
    match (failed, failed_extras) {
        (0, 0) if extras.is_empty() => println!("verdict: ok ({files} files)"),
        (0, 0) => println!(
            "verdict: ok ({files} files; {} unlisted entries allowed, --deny-extra refuses them)",
            extras.len()
        ),
        (_, 0) => println!("verdict: FAILED ({failed} of {files} files)"),
        _ => println!(
            "verdict: FAILED ({failed} of {files} files, {failed_extras} unlisted entries)"
        ),
    }
    if failed + failed_extras == 0 {
        Ok(())
    } else {
        Err(FailureClass::Integrity)
    }
}
