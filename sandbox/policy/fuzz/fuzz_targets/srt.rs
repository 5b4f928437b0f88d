//! sandbox-runtime settings JSON through the import and its notes: errors, never panics.
#![no_main]

use std::path::Path;

use cordon_policy::{parse_srt_settings, srt_settings_notes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_srt_settings(text, Path::new("s.json"));
    let _ = srt_settings_notes(text, Path::new("s.json"));
});
