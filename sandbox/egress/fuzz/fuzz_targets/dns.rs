//! DNS query parsing and answering: never panic, answers echo the ID, a response message
//! is never answered.
#![no_main]

use cordon_egress::dns::{self, Rcode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match dns::parse_query(data) {
        Ok(query) => {
            assert!(data[2] & 0x80 == 0);
            let out = dns::response(&query, Rcode::NoError, &["198.18.0.1".parse().unwrap()]);
            let (id, rcode, _) = dns::read_response(&out).unwrap();
            assert_eq!((id, rcode), (query.id, Rcode::NoError));
            assert!(out.len() <= dns::MAX_UDP);
        }
        Err(err) => {
            if let Some(out) = dns::error_response(&err) {
                assert_eq!(dns::read_response(&out).unwrap().1, err.rcode);
            }
        }
    }
});
