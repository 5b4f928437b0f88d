//! A project's policy file through parsing and resolution as the project layer:
//! errors, never panics.
#![no_main]

use std::path::{Path, PathBuf};

use cordon_policy::{Context, FakeFs, Layers, parse_policy, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = parse_policy(text, Path::new("/p/.cordon/policy.yaml")) else {
        return;
    };
    let layers = Layers {
        project: Some((PathBuf::from("/p/.cordon/policy.yaml"), file)),
        ..Layers::default()
    };
    let fs = FakeFs::default().dir("/p/.git/hooks").dir("/home/u/.ssh");
    let context = Context {
        project: PathBuf::from("/p"),
        cwd: PathBuf::from("/p"),
        env: vec![("HOME".into(), "/home/u".into())],
        global_policy: None,
    };
    let _ = resolve(&layers, &context, &fs);
});
