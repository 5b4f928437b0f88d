//! Policy files (a project's file is untrusted): parsing never panics, and a file that
//! parses either passes the project layer's checks and resolves its network section, or
//! is refused with an error that names the file.
#![no_main]

use std::path::Path;

use cordon_policy::network::{check_network_layer, resolve_network};
use cordon_policy::{Layer, parse_policy, parse_srt_settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = Path::new("/p/.cordon/policy.yaml");
    if let Ok(file) = parse_policy(text, origin) {
        match check_network_layer(Layer::Project, "/p/.cordon/policy.yaml", &file) {
            Ok(()) => {
                let layers = [(Layer::Project, "/p/.cordon/policy.yaml".to_owned(), &file)];
                resolve_network(&layers, &mut Vec::new()).expect("checked layers resolve");
            }
            Err(error) => assert!(error.to_string().starts_with("/p/.cordon/policy.yaml")),
        }
    }
    let _ = parse_srt_settings(text, Path::new("s.json"));
});
