//! Bundle and trusted-root JSON through cordon-verify's loading and the whole offline
//! verification against the embedded production root: errors, never panics; every
//! failure is one line.
#![no_main]

use std::sync::OnceLock;

use cordon_verify::input::ArtifactInput;
use cordon_verify::signature::{self, Signer, TrustSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static ROOT: OnceLock<cordon_verify::signature::TrustedRoot> = OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = signature::parse_trusted_root(text, "fuzz");
    let root = ROOT.get_or_init(|| {
        signature::load_trusted_root(&TrustSource::Production).expect("embedded root")
    });
    match signature::parse_bundle(text, "fuzz") {
        Ok(bundle) => {
            for signer in [
                Signer::Identity {
                    identity: "a@example.com".to_owned(),
                    issuer: "https://issuer.example.com".to_owned(),
                },
                Signer::AnyIdentityFrom {
                    issuer: "https://token.actions.githubusercontent.com".to_owned(),
                },
            ] {
                if let Err(failure) =
                    signature::verify(root, &bundle, &ArtifactInput::Sha256([0; 32]), &signer)
                {
                    assert!(!failure.reason.contains('\n'));
                }
            }
            let _ = signature::dsse_payload(&bundle);
        }
        Err(failure) => assert!(!failure.reason.contains('\n')),
    }
});
