//! docs/ssdf.md's control map cannot drift: every command in its table runs, from the
//! repository root, against a fresh signed test release and must succeed. The telemetry
//! policy is checked on its own as well: the shipped binaries link no HTTP client.
#![allow(clippy::unwrap_used)]

#[path = "../../verify/tests/support/mod.rs"]
mod support;

use std::process::Command;

use cordon_e2e::{binary, workspace_root};

/// The verification commands of the "Control map" table: the last cell of each row,
/// between backticks, with markdown's `\|` turned back into `|`.
fn map_commands() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(workspace_root().join("docs/ssdf.md")).unwrap();
    let table = text
        .split("## Control map")
        .nth(1)
        .expect("docs/ssdf.md has a Control map section");
    let mut commands = Vec::new();
    for line in table.lines().skip_while(|line| !line.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let unescaped = line.replace("\\|", "\u{0}");
        let cells: Vec<&str> = unescaped.split('|').map(str::trim).collect();
        // ["", practice, what, verification, ""]
        if cells.len() != 5 || cells[1] == "practice" || cells[1].starts_with("---") {
            continue;
        }
        let command = cells[3]
            .strip_prefix('`')
            .and_then(|rest| rest.strip_suffix('`'))
            .unwrap_or_else(|| panic!("row {:?}: the verification is not one `command`", cells[1]));
        commands.push((cells[1].to_owned(), command.replace('\u{0}', "|")));
    }
    commands
}

#[test]
fn every_command_in_the_ssdf_map_passes_on_a_fresh_release() {
    let commands = map_commands();
    assert!(commands.len() >= 10, "{commands:#?}");
    for practice in [
        "PO.5",
        "PS.1",
        "PS.2",
        "PS.3",
        "PW.4",
        "PW.7",
        "RV.1",
        "Telemetry",
    ] {
        assert!(
            commands.iter().any(|(row, _)| row.starts_with(practice)),
            "docs/ssdf.md maps {practice}"
        );
    }
    let release = support::build(&support::Spec::new("0.9.0", support::usual_crates()));
    let out = tempfile::tempdir().unwrap();
    let verify = binary("cordon-verify", "cordon-verify");
    let cordon = binary("cordon-cli", "cordon");
    for (practice, command) in &commands {
        let output = Command::new("sh")
            .args(["-c", command])
            .current_dir(workspace_root())
            .env("RELEASE", &release.dir)
            .env("ROOT_SHA256", &release.fingerprint)
            .env("CORDON_VERIFY", &verify)
            .env("CORDON", &cordon)
            .env("OUT", out.path())
            .output()
            .unwrap();
        println!("{practice}: exit {:?}", output.status.code());
        assert!(
            output.status.success(),
            "docs/ssdf.md, {practice}: `{command}` failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The telemetry policy: neither shipped binary depends on an HTTP client (the signing
/// side, which keyless signing needs, is not shipped; docs/ssdf.md says so).
#[test]
fn the_shipped_binaries_link_no_http_client() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for package in ["cordon-cli", "cordon-verify"] {
        let output = Command::new(&cargo)
            .current_dir(workspace_root())
            .args([
                "tree",
                "-p",
                package,
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
        assert!(tree.lines().count() > 10, "{tree}");
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            assert!(
                ![
                    "reqwest",
                    "hyper",
                    "ureq",
                    "curl",
                    "isahc",
                    "attohttpc",
                    "surf",
                    "tokio",
                    "h2",
                    "sigstore-sign",
                    "sigstore-tuf",
                    "cordon-release",
                ]
                .contains(&name),
                "{package} links {line}: docs/ssdf.md promises no HTTP client and no telemetry"
            );
        }
    }
}
