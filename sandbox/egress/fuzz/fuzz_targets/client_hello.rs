//! The ClientHello scanner, on raw bytes and split at every point: never panic, and the
//! verdict does not depend on how the bytes were segmented.
#![no_main]

use cordon_egress::tls::{self, Scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = tls::scan_client_hello(data);
    if let Ok(Scan::Done(_)) = &whole {
        // A prefix is incomplete or already done (never an error a longer input fixes).
        for cut in [data.len() / 2, data.len().saturating_sub(1)] {
            match tls::scan_client_hello(&data[..cut]) {
                Ok(Scan::Incomplete) | Ok(Scan::Done(_)) => {}
                other => panic!("prefix {cut}: {other:?}"),
            }
        }
    }
});
