//! The provenance file reader (bundles, JSON lines, npm attestations, bare DSSE
//! envelopes) over arbitrary text: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cordon_verify::parse_provenance_document(text, std::path::Path::new("fuzz"));
    }
});
