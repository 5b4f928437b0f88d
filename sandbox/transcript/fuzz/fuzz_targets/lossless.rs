//! The lossless argv encoding round-trips every byte string, and the display escaping
//! leaves no control, bidi or zero-width character behind.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use cordon_transcript::{display_lossless, for_display, lossless, lossless_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = lossless(OsStr::from_bytes(data));
    assert_eq!(lossless_bytes(&text).as_deref(), Some(data));
    for shown in [
        display_lossless(&text),
        for_display(&String::from_utf8_lossy(data)),
    ] {
        assert!(!shown.chars().any(|c| c.is_control()));
        assert!(!shown.contains(['\u{202e}', '\u{200b}', '\u{2066}', '\u{feff}']));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lossless_bytes(text);
    }
});
