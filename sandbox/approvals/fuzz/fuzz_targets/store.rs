//! The approvals store's strict parser on arbitrary bytes: an error or a list, never a
//! panic; what parses is evaluated without panicking.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let store = cordon_approvals::Store::new(dir.path());
    if std::fs::write(store.approvals_path(), data).is_err() {
        return;
    }
    if let Ok(approvals) = store.approvals() {
        let shape = cordon_approvals::shape(&["ls".into()], Path::new("/"), Some("/usr/bin:/bin".as_ref()));
        let _ = cordon_approvals::covering(&approvals, &shape, jiff::Timestamp::now());
    }
});
