//! `cordon-verify release`'s SBOM readers (CycloneDX, SPDX 2.3 and SPDX 3 JSON-LD) over
//! arbitrary text: the described components, the dependency walk from each, and the whole
//! SBOM check against the hashes and names the document itself claims. Errors, never
//! panics (deep nesting, cycles in the dependency graph, wrong types, huge ids).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cordon_verify::fuzz_sbom_readers(text);
    }
});
