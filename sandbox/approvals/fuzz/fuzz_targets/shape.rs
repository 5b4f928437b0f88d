//! argv (NUL-separated words) to a shape: never panics; the display has no control
//! characters; a cacheable shape has commands, each with a resolved executable.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let argv: Vec<OsString> = data
        .split(|byte| *byte == 0)
        .map(|word| OsString::from_vec(word.to_vec()))
        .collect();
    let shape = cordon_approvals::shape(&argv, Path::new("/"), Some("/usr/bin:/bin".as_ref()));
    assert!(!shape.display.chars().any(cordon_approvals::is_invisible));
    if shape.cacheable() {
        assert!(!shape.commands.is_empty());
        assert!(shape.commands.iter().all(|command| command.executable.is_some()));
    }
    let _ = shape.decision_hash(Path::new("/"), "sha256:fuzz");
});
