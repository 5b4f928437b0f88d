//! The `interop` stage of `cargo xtask test`: writes the interoperability matrix
//! (`cordon-interop`, an unpublished crate) and runs the independent Sigstore clients over it —
//! sigstore-python's CLI (`sigstore --trust-config … verify identity --offline`) and
//! sigstore-js (`@sigstore/verify`, through `xtask/tools/sigstore-js-verify.mjs`). The
//! sigstore-verify crate runs over the same matrix in the tests stage
//! (release/tests/interop_sigstore_verify.rs). A client accepting a bad bundle, or
//! rejecting a good one, fails the stage.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::tools;

pub(crate) fn run(root: &Path) -> Result<()> {
    let dir = root.join("target/xtask/interop");
    let cases = cordon_interop::write_cases(&dir).context("cannot write the interop matrix")?;
    let python = tools::python_bin(root)?;
    let mut failures = Vec::new();
    for case in &cases {
        let output = Command::new(python.join("sigstore"))
            .env("COLUMNS", "1000")
            .arg("--trust-config")
            .arg(&case.trust_config)
            .args([
                "verify",
                "identity",
                "--offline",
                "--cert-identity",
                &case.identity,
                "--cert-oidc-issuer",
                &case.issuer,
                "--bundle",
            ])
            .arg(&case.bundle)
            .arg(&case.artifact)
            .output()
            .context("cannot run sigstore-python")?;
        let accepted = output.status.success();
        let detail = python_reason(&String::from_utf8_lossy(&output.stderr));
        eprintln!(
            "sigstore-python {:<36} {}",
            case.name,
            if accepted {
                "accepted".to_owned()
            } else {
                format!("rejected: {detail}")
            }
        );
        if accepted != case.accept {
            failures.push(format!(
                "sigstore-python {}: expected {}",
                case.name,
                verdict(case.accept)
            ));
        }
    }

    let node = tools::node_dir(root)?;
    let output = Command::new("node")
        .arg(root.join("xtask/tools/sigstore-js-verify.mjs"))
        .arg(dir.join("cases.json"))
        .env("NODE_PATH", node.join("node_modules"))
        .current_dir(&node)
        .output()
        .context("cannot run node")?;
    let report = String::from_utf8_lossy(&output.stdout);
    eprint!("{report}{}", String::from_utf8_lossy(&output.stderr));
    for case in &cases {
        let line = report
            .lines()
            .find(|line| line.split_whitespace().nth(1) == Some(case.name.as_str()));
        let accepted = line.is_some_and(|line| line.contains(" accepted"));
        if line.is_none() || accepted != case.accept {
            failures.push(format!(
                "sigstore-js {}: expected {}",
                case.name,
                verdict(case.accept)
            ));
        }
    }
    if !failures.is_empty() {
        bail!("interop failures:\n  {}", failures.join("\n  "));
    }
    eprintln!(
        "interop: {} cases, each as expected by sigstore-python and sigstore-js",
        cases.len()
    );
    Ok(())
}

fn verdict(accept: bool) -> &'static str {
    if accept { "accept" } else { "reject" }
}

/// The reason in sigstore-python's rich log output: the ERROR text after `FAIL: <file>`,
/// whitespace collapsed, source locations and the `--verbose` hint dropped.
fn python_reason(stderr: &str) -> String {
    let words: Vec<&str> = stderr
        .split_whitespace()
        .filter(|word| !(word.contains(".py:") || word.starts_with('[') && word.ends_with(']')))
        .collect();
    let text = words.join(" ");
    let text = text
        .split_once("FAIL: ")
        .map_or(text.as_str(), |(_, rest)| rest);
    let text = text.split_once(" ERROR ").map_or(text, |(_, rest)| rest);
    text.split(" For detailed error information")
        .next()
        .unwrap_or(text)
        .chars()
        .take(200)
        .collect()
}
