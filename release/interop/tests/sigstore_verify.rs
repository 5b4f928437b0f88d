//! The sigstore-verify crate (0.15, default policy: SCTs checked, tlog checked) over the
//! interoperability matrix: every good bundle verifies, every bad one is rejected.
#![allow(clippy::unwrap_used)]

use cordon_interop as interop;
use sigstore_verify::VerificationPolicy;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::Bundle;

#[test]
fn sigstore_verify_accepts_good_and_rejects_bad_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let cases = interop::write_cases(dir.path()).unwrap();
    assert!(cases.len() >= 17);
    let mut failures = Vec::new();
    for case in &cases {
        let root = TrustedRoot::from_file(&case.trusted_root).unwrap();
        let bundle = Bundle::from_json(&std::fs::read_to_string(&case.bundle).unwrap()).unwrap();
        let artifact = std::fs::read(&case.artifact).unwrap();
        let policy = VerificationPolicy::new(case.identity.as_str(), case.issuer.as_str());
        let result = sigstore_verify::verify(artifact.as_slice(), &bundle, &policy, &root);
        if result.is_ok() != case.accept {
            failures.push(format!(
                "{}: expected accept={} got {:?}",
                case.name,
                case.accept,
                result.err()
            ));
        } else {
            eprintln!(
                "{}: {}",
                case.name,
                result
                    .err()
                    .map_or("accepted".to_owned(), |error| format!("rejected ({error})"))
            );
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
