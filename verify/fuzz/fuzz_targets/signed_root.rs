//! Root-signed trusted-root envelopes: errors, never panics. An input may start with a
//! line of 64 hex digits, the pinned fingerprint, so that seeds made from a real
//! envelope also reach the signature check after the anchor is found.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut pinned_root = [0u8; 32];
    let envelope = match text.split_once('\n') {
        Some((first, rest)) if hex_decode(first, &mut pinned_root).is_some() => rest,
        _ => text,
    };
    let _ = cordon_verify::open_signed_trusted_root(envelope, "fuzz", &pinned_root);
});

fn hex_decode(text: &str, out: &mut [u8; 32]) -> Option<()> {
    if text.len() != 64 {
        return None;
    }
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(())
}
