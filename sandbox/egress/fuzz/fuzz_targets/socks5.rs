//! SOCKS5 greeting and request parsing: never panic, never claim more bytes than given.
#![no_main]

use cordon_egress::socks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(used)) = socks::parse_greeting(data) {
        assert!(used <= data.len());
    }
    if let Ok(Some((request, used))) = socks::parse_request(data) {
        assert!(used <= data.len());
        assert_ne!(request.port, 0);
    }
});
