//! A TSA's `TimeStampResp` DER through the keyless signer's status, imprint and nonce
//! checks: an error with a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cordon_keyless::tsa::check_response(data, &[0; 32], &[1, 2, 3, 4, 5, 6, 7, 8]);
});
