//! A project's `.git/config` (read for `core.hooksPath` and its includes), `.envrc` and
//! `mise.toml` (read for the files they load on cd) through resolution: never panics,
//! whatever the files say.
#![no_main]

use std::path::PathBuf;

use cordon_policy::{Context, FakeFs, Layers, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let fs = FakeFs::default()
        .file("/p/.git/config", &text)
        .file("/p/.git/included", &text)
        .file("/p/.envrc", &text)
        .file("/p/mise.toml", &text)
        .dir("/p/src");
    let context = Context {
        project: PathBuf::from("/p"),
        cwd: PathBuf::from("/p"),
        env: vec![("HOME".into(), "/home/u".into())],
        global_policy: None,
    };
    let _ = resolve(&Layers::default(), &context, &fs);
});
