//! `SHA256SUMS` parsing, artifact arguments and pinned-root fingerprints: never panic,
//! and whatever parses keeps the invariants the checker relies on.
#![no_main]

use cordon_verify::{ArtifactInput, Sha256Sums, parse_fingerprint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(list) = Sha256Sums::parse(text) {
        assert!(!list.is_empty());
        for (name, _) in list.iter() {
            assert!(!name.is_empty());
            assert!(!name.starts_with('.'));
            assert!(!name.contains(['/', '\\', '\0']));
        }
        // What parses renders to a list that parses to the same entries.
        assert_eq!(Sha256Sums::parse(&list.render()).as_ref(), Ok(&list));
    }
    let _ = parse_fingerprint(text);
    if let ArtifactInput::Sha256(_) = ArtifactInput::parse(text) {
        assert!(text.starts_with("sha256:") && text.len() == 71);
    }
});
