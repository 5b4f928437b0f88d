//! `cargo xtask release --keyless`: the public-good trust path beside the embedded one.
//! After the pipeline has published `dist/<version>/` (signed by the release CA and the
//! embedded log), every file of it is signed again keyless (Fulcio, Rekor, TSA, as the
//! signing config says) and the provenance statement is re-signed as DSSE. The bundles go
//! to `dist/<version>-keyless/`, staged and renamed into place only when every one is
//! signed and verified, so a failing service leaves nothing half-written. The release
//! directory itself is unchanged, so `cordon-verify release` checks it as before.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cordon_dist::Published;
use cordon_format::names;
use cordon_keyless::KeylessSigner;
use cordon_release::StagedDir;

/// Signs every file of `published` keyless into `<dist>/<version>-keyless/`; returns it
/// and the number of bundles.
pub(crate) fn sign_release(
    signer: &KeylessSigner,
    published: &Published,
    force: bool,
) -> Result<(PathBuf, usize)> {
    let dist = published
        .dir
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", published.dir.display()))?;
    let mut staged = StagedDir::create(dist, &format!("{}-keyless", published.version))
        .context("cannot start the keyless bundle directory")?;
    let mut count = 0;
    for (name, _, _) in &published.files {
        let path = published.dir.join(name);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let bundle = if name.ends_with(".intoto.jsonl") {
            let statement = statement_of(&bytes)
                .with_context(|| format!("{}: not a DSSE provenance bundle", path.display()))?;
            signer.sign_in_toto(&statement)
        } else if names::bundled_file(name).is_some() {
            continue;
        } else {
            signer.sign_blob_bytes(&bytes)
        }
        .with_context(|| format!("cannot sign {} keyless", path.display()))?;
        let bundle_name = names::bundle_name(name);
        staged
            .write_file(&bundle_name, bundle.as_bytes())
            .with_context(|| format!("cannot write {bundle_name}"))?;
        count += 1;
    }
    staged
        .write_checksums(names::SHA256SUMS_FILE)
        .context("cannot write the keyless SHA256SUMS")?;
    let dir = staged
        .publish(force)
        .context("cannot publish the keyless bundle directory (pass --force to replace it)")?;
    Ok((dir, count))
}

/// The in-toto statement a provenance bundle (one JSON line) signs.
fn statement_of(bytes: &[u8]) -> Result<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(bytes)?;
    let payload = value
        .pointer("/dsseEnvelope/payload")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| anyhow!("no dsseEnvelope.payload"))?;
    Ok(STANDARD.decode(payload)?)
}
