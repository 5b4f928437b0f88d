//! `SHA256SUMS` parsing, artifact arguments and pinned-root fingerprints: never panic,
//! and whatever parses keeps the invariants the checker relies on.
#![no_main]

use cordon_verify::checksums::ChecksumList;
use cordon_verify::input::ArtifactInput;
use cordon_verify::pinned::parse_fingerprint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(list) = ChecksumList::parse(text) {
        assert!(!list.entries().is_empty());
        for entry in list.entries() {
            assert!(!entry.name.is_empty());
            assert!(!entry.name.starts_with('.'));
            assert!(!entry.name.contains(['/', '\\', '\0']));
        }
    }
    let _ = parse_fingerprint(text);
    if let ArtifactInput::Sha256(_) = ArtifactInput::parse(text) {
        assert!(text.starts_with("sha256:") && text.len() == 71);
    }
});
