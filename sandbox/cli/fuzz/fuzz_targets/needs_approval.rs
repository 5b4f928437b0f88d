//! The `needs_approval` record `cordon mcp` reads back from `cordon run`, and the
//! question it builds from it: never panic, and what the human is shown has no control,
//! bidi or zero-width character left unescaped.
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../src/mcp/approval.rs"]
mod approval;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = approval::parse(data) {
        let question = approval::question(&record, true);
        let message = question["message"].as_str().unwrap_or_default();
        // The template's own newlines are the only control characters.
        for line in message.lines() {
            assert!(!line.chars().any(|c| c.is_control()
                || matches!(u32::from(c), 0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069)));
        }
    }
    let escaped = approval::escape(&String::from_utf8_lossy(data));
    assert!(!escaped.chars().any(char::is_control));
});
