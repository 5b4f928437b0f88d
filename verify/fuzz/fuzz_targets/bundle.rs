//! Bundle and trusted-root JSON through cordon-verify's loading and the whole offline
//! verification against the embedded production root: errors, never panics; every
//! failure is one line.
#![no_main]

use std::sync::OnceLock;

use cordon_verify::{ArtifactInput, ExpectedSigner, TrustSource, TrustedRoot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static ROOT: OnceLock<TrustedRoot> = OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = cordon_verify::parse_trusted_root(text, "fuzz");
    let root = ROOT.get_or_init(|| {
        cordon_verify::load_trusted_root(&TrustSource::Production)
            .expect("embedded root")
            .root
    });
    match cordon_verify::parse_bundle(text, "fuzz") {
        Ok(bundle) => {
            for signer in [
                ExpectedSigner::Identity {
                    identity: "a@example.com".to_owned(),
                    issuer: "https://issuer.example.com".to_owned(),
                },
                ExpectedSigner::AnyIdentityFrom {
                    issuer: "https://token.actions.githubusercontent.com".to_owned(),
                },
            ] {
                if let Err(failure) =
                    cordon_verify::verify_signature(root, &bundle, &ArtifactInput::Sha256([0; 32]), &signer)
                {
                    assert!(!failure.reason.contains('\n'));
                }
            }
            let _ = cordon_verify::dsse_payload(&bundle);
            let _ = cordon_verify::in_toto_payload(&bundle);
        }
        Err(failure) => assert!(!failure.reason.contains('\n')),
    }
});
