//! The invariant "verify/ has no HTTP client": the shipped build of cordon-verify must
//! not depend on an HTTP client, an async runtime or a second TLS/crypto stack.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn the_default_build_has_no_http_client() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "-p",
            "cordon-verify",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--locked",
            "--offline",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(tree.contains("sigstore-verify"), "{tree}");
    let forbidden = [
        "reqwest",
        "hyper",
        "tokio",
        "ureq",
        "curl",
        "openssl",
        "ring",
        "sigstore-tuf",
        "sigstore-sign",
        "cordon-release",
        "cordon-keyless",
        "rustls",
    ];
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        assert!(
            !forbidden.contains(&name),
            "cordon-verify depends on {line}"
        );
    }
}
