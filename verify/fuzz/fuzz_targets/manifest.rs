//! `manifest.json` and `trusted_root.dsse.json` as cordon-format parses them: errors,
//! never panics, and whatever parses renders to bytes that parse to the same value.
#![no_main]

use std::path::Path;

use cordon_format::{Manifest, SignedTrustedRoot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = Manifest::parse(data, Path::new("fuzz/manifest.json")) {
        let again = Manifest::parse(&manifest.to_json(), Path::new("fuzz/manifest.json"));
        assert_eq!(again.ok().as_ref(), Some(&manifest));
    }
    if let Ok(envelope) = SignedTrustedRoot::parse(data) {
        assert!(!envelope.signatures.is_empty());
        assert_eq!(SignedTrustedRoot::parse(&envelope.to_json()).as_ref(), Ok(&envelope));
        let _ = envelope.chain_roots();
    }
});
