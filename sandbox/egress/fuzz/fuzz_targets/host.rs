//! The wire canonicaliser: never panics, its output is a fixed point, and a canonical
//! name never holds a byte another parser could read differently.
#![no_main]

use cordon_egress::{Host, parse_authority};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(host) = Host::parse(data) {
        match &host {
            Host::Name(name) => {
                assert!(!name.is_empty() && name.len() <= 253);
                assert!(name.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || b == b'_'
                    || b == b'.'));
                assert!(!name.ends_with('.') && !name.contains(".."));
                assert_eq!(Host::parse(name.as_bytes()), Ok(host.clone()));
            }
            Host::Ip(ip) => {
                let text = match ip {
                    std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                    v4 => v4.to_string(),
                };
                assert_eq!(Host::parse(text.as_bytes()), Ok(host.clone()));
            }
        }
    }
    if let Ok(target) = parse_authority(data, Some(443)) {
        assert_ne!(target.port, 0);
        assert!(!data.contains(&b'@') && !data.contains(&0));
    }
});
