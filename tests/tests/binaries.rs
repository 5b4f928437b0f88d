//! The shipped binaries start, answer `--version`, and reject unknown input clearly.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use cordon_e2e::binary;

fn run(bin: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .args(args)
        .output()
        .expect("binary starts")
}

#[test]
fn cordon_reports_its_version() {
    let output = run(&binary("cordon-cli", "cordon"), &["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("cordon {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn cordon_verify_reports_its_version() {
    let output = run(&binary("cordon-verify", "cordon-verify"), &["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("cordon-verify {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_subcommands_are_usage_errors() {
    for (package, bin) in [("cordon-cli", "cordon"), ("cordon-verify", "cordon-verify")] {
        let output = run(&binary(package, bin), &["no-such-command"]);
        assert_eq!(output.status.code(), Some(2), "{bin}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand"));
    }
}

#[test]
fn cordon_doctor_reports_every_feature() {
    let output = run(&binary("cordon-cli", "cordon"), &["doctor"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for feature in ["kernel:", "user namespaces:", "landlock:", "seccomp:"] {
        assert!(text.contains(feature), "missing {feature} in {text}");
    }
}
