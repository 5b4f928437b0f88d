//! `cordon-keyless` as the release pipeline's keyless signer: with `--keyless` (or the
//! `keyless` table of `[workspace.metadata.cordon]`), `cordon-dist` checks the settings
//! before the build and, in its sign stage, opens this signer (OIDC token, Fulcio
//! certificate) and writes `<file>.keyless.sigstore.json` beside every
//! `<file>.sigstore.json` of the release directory, all or nothing.

use cordon_dist::{KeylessSettings, KeylessSigning};
use cordon_keyless::{KeylessOptions, KeylessSigner};
use cordon_release::{BundleSigner, SignError};

/// Signs keyless with `cordon-keyless` (Fulcio, Rekor v1/v2 and a TSA named by the
/// signing config; every bundle verified against the trusted root before it is kept).
#[derive(Debug)]
pub(crate) struct CordonKeyless;

fn options(settings: &KeylessSettings) -> KeylessOptions {
    KeylessOptions::new(
        &settings.signing_config,
        &settings.trusted_root,
        settings.identity_token.as_deref(),
    )
}

impl KeylessSigning for CordonKeyless {
    fn preflight(&self, settings: &KeylessSettings) -> Result<(), SignError> {
        options(settings)
            .preflight()
            .map_err(|error| SignError::Other(Box::new(error)))
    }

    fn open(&self, settings: &KeylessSettings) -> Result<Box<dyn BundleSigner>, SignError> {
        let signer = KeylessSigner::open(&options(settings))
            .map_err(|error| SignError::Other(Box::new(error)))?;
        Ok(Box::new(signer))
    }
}
