//! `program_keys`, which reads git config files the sandboxed command wrote: never
//! panics, and every key it reports is one line of `section[.sub].key = value`.
#![no_main]

use cordon_policy::program_keys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for key in program_keys(&text) {
        assert!(key.contains(" = "), "{key}");
        assert!(!key.contains('\n'), "{key}");
    }
});
