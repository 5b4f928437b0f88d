//! `verify_bytes` on any transcript bytes and head: never panics, and a transcript
//! that verifies is a chain of records that parse.
#![no_main]

use cordon_transcript::{Head, Record, verify_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line (when it parses) is the head, the rest the transcript.
    let (head, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (
            std::str::from_utf8(&data[..at])
                .ok()
                .and_then(|text| Head::parse(text).ok()),
            &data[at + 1..],
        ),
        None => (None, data),
    };
    let verification = verify_bytes(body, head.as_ref());
    if verification.problem.is_none() {
        for (seq, line) in body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let record: Record = serde_json::from_slice(line).expect("a verified record parses");
            assert_eq!(record.seq, seq as u64);
        }
    }
});
