//! `cargo xtask trust init|rotate|show|log` and `cargo xtask sign`: the command-line face of
//! `cordon_release::{trust, sign}`. See docs/trust.md.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use cordon_release::{
    BundleSigner, FileLog, InitOptions, LeafIdentity, SignOptions, Signer, TrustDir,
};

/// Where the development trust root lives when none is configured: at the workspace
/// root, git-ignored, where `cargo clean` cannot reach it (a new root would silently
/// change the fingerprint every earlier development release is pinned to).
pub(crate) const DEV_TRUST_DIR: &str = ".cordon-dev-trust";
/// Where it lived before, inside `target/`; moved to [`DEV_TRUST_DIR`] on first use.
const OLD_DEV_TRUST_DIR: &str = "target/cordon-dev-trust";
/// Identity and issuer used locally (outside GitHub Actions).
pub(crate) const LOCAL_IDENTITY: &str = "https://cordon.invalid/local-release";
pub(crate) const LOCAL_ISSUER: &str = "https://cordon.invalid/local-oidc";

#[derive(Debug, clap::Args)]
pub(crate) struct TrustArgs {
    #[command(subcommand)]
    command: TrustCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TrustCommand {
    /// Create a trust directory: root CA, release CA, CT-log and tlog keys, client files.
    Init {
        /// The directory to create.
        #[arg(long)]
        out: PathBuf,
        /// Label written into certificate names.
        #[arg(long, default_value = "cordon")]
        label: String,
        /// Host-like name of the transparency log (checkpoint signer, baseUrl host).
        #[arg(long, default_value = "tlog.cordon.invalid")]
        log_name: String,
        /// Validity of each release CA, in days.
        #[arg(long, default_value_t = cordon_release::DEFAULT_RELEASE_CA_DAYS)]
        release_ca_days: u64,
    },
    /// Issue the next release CA (valid from now; the previous one keeps its window).
    Rotate {
        /// The trust directory.
        #[arg(long)]
        trust: PathBuf,
        /// Validity of the new release CA, in days (default: the directory's).
        #[arg(long)]
        days: Option<u64>,
    },
    /// Re-sign trusted_root.dsse.json with the next version (same release CAs): turns a
    /// legacy envelope into a versioned one, or supersedes a signed trusted root.
    Resign {
        /// The trust directory.
        #[arg(long)]
        trust: PathBuf,
    },
    /// Print fingerprints, identities and windows.
    Show {
        /// The trust directory.
        #[arg(long)]
        trust: PathBuf,
    },
    /// Audit the embedded transparency log (every entry against its leaf hash, the tree
    /// against the signed checkpoint) and print its checkpoint; with --from, also the
    /// consistency proof from that earlier tree size.
    Log {
        /// The trust directory.
        #[arg(long)]
        trust: PathBuf,
        /// An earlier tree size to prove consistency from.
        #[arg(long)]
        from: Option<u64>,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct SignArgs {
    /// Files to sign; each gets FILE.sigstore.json beside it.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The trust directory (default: the development trust root under target/).
    #[arg(long)]
    trust: Option<PathBuf>,
    /// The files are in-toto statements: sign each as a DSSE envelope.
    #[arg(long)]
    in_toto: bool,
    /// The identity (certificate SAN) outside GitHub Actions.
    #[arg(long, default_value = LOCAL_IDENTITY)]
    identity: String,
    /// The OIDC issuer written into the certificate outside GitHub Actions.
    #[arg(long, default_value = LOCAL_ISSUER)]
    issuer: String,
    #[command(flatten)]
    keyless: KeylessArgs,
}

/// Keyless signing (Fulcio, Rekor v1/v2, RFC 3161 TSA): `sign` signs keyless instead of
/// with the trust directory; `release` signs keyless too (the `keyless` table of
/// [workspace.metadata.cordon] asks for it as well, these flags overriding its fields).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct KeylessArgs {
    /// Sign keyless: an OIDC identity token buys a short-lived certificate from the CA
    /// the signing config names; every signature is logged and timestamped there.
    #[arg(long)]
    pub(crate) keyless: bool,
    /// A Sigstore signing_config.json (v0.2) naming the CA, the Rekor log(s) and the TSA(s).
    #[arg(long, value_name = "FILE", requires = "keyless")]
    pub(crate) signing_config: Option<PathBuf>,
    /// The trusted_root.json consumers verify with; every bundle is verified against it
    /// before anything is written.
    #[arg(long, value_name = "FILE", requires = "keyless")]
    pub(crate) trusted_root: Option<PathBuf>,
    /// A file holding the OIDC identity token (default: GitHub Actions' ambient token,
    /// then SIGSTORE_ID_TOKEN).
    #[arg(long, value_name = "FILE", requires = "keyless")]
    pub(crate) identity_token: Option<PathBuf>,
}

impl KeylessArgs {
    /// `release`'s request: sign keyless, these flags overriding the table's fields.
    pub(crate) fn request(&self) -> Option<cordon_dist::KeylessRequest> {
        self.keyless.then(|| cordon_dist::KeylessRequest {
            signing_config: self.signing_config.clone(),
            trusted_root: self.trusted_root.clone(),
            identity_token: self.identity_token.clone(),
        })
    }

    /// `sign`'s options: both files are required with `--keyless`.
    fn options(&self) -> Result<Option<cordon_keyless::KeylessOptions>> {
        if !self.keyless {
            return Ok(None);
        }
        let (Some(config), Some(root)) = (&self.signing_config, &self.trusted_root) else {
            return Err(anyhow::anyhow!(
                "--keyless needs --signing-config FILE and --trusted-root FILE"
            ));
        };
        Ok(Some(cordon_keyless::KeylessOptions::new(
            config,
            root,
            self.identity_token.as_deref(),
        )))
    }

    /// The keyless signer these flags ask for (token and certificate fetched now), or
    /// `None` without `--keyless`.
    pub(crate) fn open(&self) -> Result<Option<cordon_keyless::KeylessSigner>> {
        let Some(options) = self.options()? else {
            return Ok(None);
        };
        let signer = cordon_keyless::KeylessSigner::open(&options)
            .context("cannot start keyless signing")?;
        Ok(Some(signer))
    }
}

pub(crate) fn trust(args: &TrustArgs) -> Result<()> {
    match &args.command {
        TrustCommand::Init {
            out,
            label,
            log_name,
            release_ca_days,
        } => {
            let options = InitOptions {
                label: label.clone(),
                log_name: log_name.clone(),
                release_ca_validity: Duration::from_secs(release_ca_days * 86_400),
                now: SystemTime::now(),
            };
            let dir = cordon_release::init_trust(out, &options)
                .with_context(|| format!("cannot create the trust directory {}", out.display()))?;
            show(&dir)
        }
        TrustCommand::Rotate { trust, days } => {
            let mut dir = TrustDir::open(trust)?;
            let validity = days.map_or(dir.manifest.release_ca_validity_secs, |days| days * 86_400);
            dir.issue_release_ca(SystemTime::now(), Duration::from_secs(validity))
                .with_context(|| format!("cannot rotate the release CA in {}", trust.display()))?;
            show(&dir)
        }
        TrustCommand::Resign { trust } => {
            let mut dir = TrustDir::open(trust)?;
            dir.resign_trusted_root().with_context(|| {
                format!("cannot re-sign the trusted root in {}", trust.display())
            })?;
            show(&dir)
        }
        TrustCommand::Show { trust } => show(&TrustDir::open(trust)?),
        TrustCommand::Log { trust, from } => log(trust, *from),
    }
}

fn log(trust_dir: &Path, from: Option<u64>) -> Result<()> {
    use base64::Engine as _;
    let dir = TrustDir::open(trust_dir)?;
    let key = cordon_release::SigningKey::load(&dir.key_path("tlog"))?;
    let log = FileLog::open(
        &dir.log_dir(),
        key,
        &dir.manifest.log_name,
        &dir.log_origin(),
    )?;
    let Some(checkpoint) = log
        .audit()
        .with_context(|| format!("the log in {} does not verify", dir.log_dir().display()))?
    else {
        println!("the log in {} is empty", dir.log_dir().display());
        return Ok(());
    };
    println!(
        "log {} verifies: {} entries",
        dir.log_dir().display(),
        checkpoint.tree_size
    );
    print!("{}", log.checkpoint_note()?.unwrap_or_default());
    if let Some(from) = from {
        let proof = log.consistency_proof(from, checkpoint.tree_size)?;
        println!("consistency proof {from} -> {}:", checkpoint.tree_size);
        for hash in proof {
            println!(
                "  {}",
                base64::engine::general_purpose::STANDARD.encode(hash)
            );
        }
    }
    Ok(())
}

fn show(dir: &TrustDir) -> Result<()> {
    println!("trust directory  {}", dir.dir.display());
    println!("label            {}", dir.manifest.label);
    println!("pinned root      sha256:{}", dir.root_fingerprint());
    let (start, end) = cordon_release::certificate_window(&dir.root_certificate)?;
    println!(
        "root CA          {}  {} .. {}",
        cordon_release::certificate_subject(&dir.root_certificate)?,
        cordon_format::rfc3339_system_time(start),
        cordon_format::rfc3339_system_time(end)
    );
    let now = SystemTime::now();
    let current = dir.current_release_ca(now).map(|ca| ca.number);
    for ca in &dir.release_cas {
        let state = if Some(ca.number) == current {
            "current"
        } else if ca.not_after <= now {
            "retired"
        } else if ca.not_before > now {
            "future"
        } else {
            "valid"
        };
        println!(
            "release CA {:<5} sha256:{}  {} .. {}  ({state})",
            ca.number,
            cordon_release::certificate_fingerprint(&ca.certificate),
            cordon_format::rfc3339_system_time(ca.not_before),
            cordon_format::rfc3339_system_time(ca.not_after)
        );
    }
    for (name, file) in [("ct log key", "ctlog"), ("tlog key", "tlog")] {
        let key = cordon_release::SigningKey::load(&dir.key_path(file))?;
        println!("{name:<16} log id sha256:{}", hex_id(&key.key_id()));
    }
    println!(
        "tlog             https://{}  (checkpoint origin {:?})",
        dir.manifest.log_name,
        dir.log_origin()
    );
    println!(
        "client files     trusted_root.json trusted_root.dsse.json signing_config.json client_trust_config.json"
    );
    match dir.signed_root_version()? {
        Some(version) => println!("signed root      version {version}"),
        None => println!(
            "signed root      legacy (no signed version): run `cargo xtask trust resign --trust {}`",
            dir.dir.display()
        ),
    }
    Ok(())
}

fn hex_id(id: &[u8; 32]) -> String {
    id.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The development trust root of the workspace at `root`: [`DEV_TRUST_DIR`], after
/// moving a root from its old place under `target/` there.
pub(crate) fn dev_trust_dir(root: &Path) -> Result<PathBuf> {
    let dir = root.join(DEV_TRUST_DIR);
    let old = root.join(OLD_DEV_TRUST_DIR);
    if !dir.exists() && old.join("trust.json").is_file() {
        std::fs::rename(&old, &dir).with_context(|| {
            format!(
                "cannot move the development trust root from {} to {}; move it by hand",
                old.display(),
                dir.display()
            )
        })?;
        eprintln!(
            "moved the development trust root from {} to {} (out of cargo clean's reach)",
            old.display(),
            dir.display()
        );
    }
    Ok(dir)
}

/// The trust directory to sign with: `configured`, or the development root (created on
/// first use, reused afterwards).
pub(crate) fn trust_dir_or_dev(root: &Path, configured: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = configured {
        warn_if_expiring(dir, SystemTime::now());
        return Ok(dir.to_owned());
    }
    let dir = dev_trust_dir(root)?;
    let (_, created) = cordon_release::open_or_init_dev_trust(&dir)
        .with_context(|| format!("cannot open or create {}", dir.display()))?;
    eprintln!(
        "no trust directory configured: {} the DEVELOPMENT trust root {}",
        if created { "created" } else { "signing with" },
        dir.display()
    );
    Ok(dir)
}

/// Warns when no release CA of the configured trust directory `dir` outlives the next
/// [`cordon_release::DEV_ROTATE_BEFORE`]: unlike the development root it is not
/// rotated automatically (its root key should be offline), and verifiers refuse the
/// trusted root once its newest release CA has expired. Signing itself fails later,
/// with its own error, if none is valid now.
fn warn_if_expiring(dir: &Path, now: SystemTime) {
    let Ok(trust) = TrustDir::open(dir) else {
        return;
    };
    let Some(newest_end) = trust.release_cas.iter().map(|ca| ca.not_after).max() else {
        return;
    };
    if now + cordon_release::DEV_ROTATE_BEFORE >= newest_end && now < newest_end {
        eprintln!(
            "warning: the newest release CA of {} ends at {}, and verifiers refuse its trusted root after that: run `cargo xtask trust rotate --trust {}` and ship the new trusted_root.dsse.json",
            dir.display(),
            cordon_format::rfc3339_system_time(newest_end),
            dir.display()
        );
    }
}

/// This command's fix for a trust or signing error in `error`'s chain, if any.
pub(crate) fn hint(error: &anyhow::Error) -> Option<String> {
    use cordon_release::{KeyError, SignError, TrustError};
    error.chain().find_map(|cause| {
        if let Some(SignError::NoCurrentCa { dir, .. }) = cause.downcast_ref::<SignError>() {
            Some(format!("run `cargo xtask trust rotate --trust {dir}`"))
        } else if let Some(TrustError::Invalid { .. }) = cause.downcast_ref::<TrustError>() {
            Some(
                "create a trust directory with `cargo xtask trust init --out DIR`, or issue a \
                 release CA with `cargo xtask trust rotate --trust DIR`"
                    .to_owned(),
            )
        } else if let Some(KeyError::Invalid { .. }) = cause.downcast_ref::<KeyError>() {
            Some("re-create the trust directory with `cargo xtask trust init --out DIR`".to_owned())
        } else {
            None
        }
    })
}

pub(crate) fn sign(root: &Path, args: &SignArgs) -> Result<()> {
    if args.keyless.keyless && args.trust.is_some() {
        anyhow::bail!("--keyless signs without a trust directory: drop --trust DIR");
    }
    let keyless = args.keyless.open()?;
    let embedded;
    let signer: &dyn BundleSigner = match &keyless {
        Some(keyless) => keyless,
        None => {
            let trust_dir = trust_dir_or_dev(root, args.trust.as_deref())?;
            let identity = LeafIdentity::from_env_or(&args.identity, &args.issuer);
            embedded = Signer::open(&trust_dir, &identity, &SignOptions::default())
                .with_context(|| format!("cannot start signing with {}", trust_dir.display()))?;
            &embedded
        }
    };
    // Every file is signed before any bundle is written: a failure half-way (a service
    // down, a token expired) leaves no partial set of bundles behind.
    let mut bundles = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let started = std::time::Instant::now();
        let bundle = if args.in_toto {
            signer.sign_in_toto(&bytes)
        } else {
            signer.sign_blob_bytes(&bytes)
        }
        .with_context(|| format!("cannot sign {}", file.display()))?;
        if keyless.is_some() {
            eprintln!("signed {} in {:.0?}", file.display(), started.elapsed());
        }
        let mut out = file.clone().into_os_string();
        out.push(".sigstore.json");
        bundles.push((PathBuf::from(out), bundle));
    }
    for (out, bundle) in &bundles {
        let temporary = out.with_extension("json.partial");
        std::fs::write(&temporary, bundle)
            .and_then(|()| std::fs::rename(&temporary, out))
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!("{}", out.display());
    }
    Ok(())
}
