//! Text from outside the signer: a Rekor v1 answer, a signing config, an identity token.
//! Errors name what is wrong in one line; nothing panics.
#![no_main]

use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(error) = cordon_keyless::rekor::v1_entry(data, "Rekor v1", "http://fuzz") {
        assert!(!error.to_string().contains('\n'));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = cordon_keyless::Services::parse(text, "fuzz", 1_800_000_000);
    let _ = cordon_keyless::IdentityToken::parse(text, "fuzz", SystemTime::now());
});
