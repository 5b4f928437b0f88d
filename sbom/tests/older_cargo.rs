//! The fallback for a cargo older than `--filter-platform host-tuple` (cargo 1.84): such a
//! cargo hands `host-tuple` to rustc as a target, fails "to learn about target-specific
//! information", and cordon-sbom asks it again with the host triple from `rustc -vV`.
//!
//! The older cargo is the real one behind a wrapper (`$CARGO`, which cordon-sbom runs)
//! that fails on `host-tuple` with that message and otherwise runs the real cargo,
//! logging each call. `CARGO` is set for a child run of this same test (changing the
//! environment of a running test process is not possible without `unsafe`).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cordon_sbom::{Binary, Build};

/// Set in the child run: the workspace to resolve.
const CHILD_WORKSPACE: &str = "CORDON_SBOM_TEST_OLDER_CARGO_WORKSPACE";

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A workspace whose binary `app` depends on `used` everywhere and on `winonly` on
/// Windows only, so the platform filter decides the crate set.
fn workspace(root: &Path) {
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"app\", \"used\", \"winonly\"]\n",
    );
    write(
        &root.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nused = { path = \"../used\" }\n\n[target.'cfg(windows)'.dependencies]\nwinonly = { path = \"../winonly\" }\n",
    );
    write(&root.join("app/src/main.rs"), "fn main() {}\n");
    for name in ["used", "winonly"] {
        write(
            &root.join(name).join("Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
        write(&root.join(name).join("src/lib.rs"), "");
    }
    let status = Command::new(real_cargo())
        .args(["generate-lockfile", "--offline", "--quiet"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success());
}

fn real_cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from(env!("CARGO")), PathBuf::from)
}

fn host_triple() -> String {
    let output = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("-vV")
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .unwrap()
        .to_owned()
}

/// A `cargo` that logs its arguments to `log`, fails on `host-tuple` as cargo before
/// 1.84 does, and runs `real` otherwise.
fn older_cargo(dir: &Path, real: &Path, log: &Path) -> PathBuf {
    let script = dir.join("cargo");
    write(
        &script,
        &format!(
            r#"#!/bin/sh
echo "$*" >> '{log}'
for arg in "$@"; do
  if [ "$arg" = host-tuple ]; then
    cat >&2 <<'EOF'
error: failed to run `rustc` to learn about target-specific information

Caused by:
  process didn't exit successfully: `rustc - --crate-name ___ --print=file-names --target host-tuple --crate-type bin --print=sysroot --print=split-debuginfo --print=crate-name --print=cfg` (exit status: 1)
  --- stderr
  error: Error loading target specification: Could not find specification for target "host-tuple". Run `rustc --print target-list` for a list of built-in targets
EOF
    exit 101
  fi
done
exec '{real}' "$@"
"#,
            log = log.display(),
            real = real.display(),
        ),
    );
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success());
    script
}

#[test]
fn an_older_cargo_is_asked_again_with_the_host_triple() {
    if let Some(root) = std::env::var_os(CHILD_WORKSPACE) {
        // The child: `$CARGO` is the older cargo.
        let resolution = cordon_sbom::resolve(&Build {
            manifest_path: PathBuf::from(root).join("Cargo.toml"),
            binaries: vec![Binary {
                package: "app".into(),
                bin: "app".into(),
            }],
            target: None,
            features: vec![],
            no_default_features: false,
        })
        .unwrap();
        assert_eq!(resolution.target, host_triple());
        let names: Vec<&str> = resolution.binaries[0]
            .crates
            .iter()
            .map(|&index| resolution.crates[index].name.as_str())
            .collect();
        assert_eq!(names, ["app", "used"]);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("workspace");
    workspace(&root);
    let log = dir.path().join("cargo.log");
    let cargo = older_cargo(dir.path(), &real_cargo(), &log);
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_older_cargo_is_asked_again_with_the_host_triple",
            "--nocapture",
        ])
        .env(CHILD_WORKSPACE, &root)
        .env("CARGO", &cargo)
        .output()
        .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(child.status.success(), "the child run failed:\n{output}");
    assert!(
        output.contains("1 passed"),
        "the child ran no test:\n{output}"
    );
    // The older cargo was asked twice: `host-tuple`, then the triple.
    let calls: Vec<String> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls[0].contains("--filter-platform host-tuple"),
        "{calls:?}"
    );
    assert!(
        calls[1].contains(&format!("--filter-platform {}", host_triple())),
        "{calls:?}"
    );
}
