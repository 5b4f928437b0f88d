//! The sandbox usability suite: ordinary tool calls work inside `cordon run` (git,
//! a C compiler, Python, /tmp, pipes), exit codes and signals pass through. Runs as
//! root and as the unprivileged `cordontest` user; effects are checked from outside.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use cordon_e2e::sandbox::{PYTHON, for_each_user};

#[test]
fn git_status_and_commit_work_in_the_project() {
    for_each_user(|w| {
        let (code, out) = w.sh_ok(
            "echo change >> README && git status --short && git add README && \
             git commit -q -m 'from the sandbox' && git log --oneline | wc -l",
        );
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("M README"), "{out}");
        let log = Command::new("git")
            .args(["log", "-1", "--format=%s"])
            .current_dir(&w.project)
            .env("HOME", &w.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .arg("--")
            .output()
            .unwrap();
        let subject = String::from_utf8_lossy(&log.stdout);
        // root's git may refuse another user's repository ("dubious ownership"); then ask
        // through the object store instead.
        if log.status.success() {
            assert_eq!(subject.trim(), "from the sandbox");
        } else {
            let heads = fs::read_to_string(w.project.join(".git/logs/HEAD")).unwrap();
            assert!(heads.contains("from the sandbox"), "{heads}");
        }
    });
}

#[test]
fn a_c_compiler_and_python_work_in_the_project() {
    for_each_user(|w| {
        let (code, out) = w.sh_ok(&format!(
            "cc -o build/hello src/hello.c && ./build/hello && \
             {PYTHON} -c 'import json,sys; open(\"src/out.json\",\"w\").write(json.dumps([1,2])); print(sys.version_info[0])'"
        ));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("hello from c"), "{out}");
        assert!(w.project.join("build/hello").exists());
        assert_eq!(
            fs::read_to_string(w.project.join("src/out.json")).unwrap(),
            "[1, 2]"
        );
    });
}

#[test]
fn tmp_is_private_and_writable() {
    for_each_user(|w| {
        let name = format!("cordon-private-{}-{}", w.who.name, std::process::id());
        let (code, out) = w.sh_ok(&format!(
            "echo x > /tmp/{name} && cat /tmp/{name} && mktemp -d && ls /tmp | wc -l"
        ));
        assert_eq!(code, 0, "{out}");
        assert!(
            !std::path::Path::new(&format!("/tmp/{name}")).exists(),
            "leaked into the host's /tmp"
        );
    });
}

#[test]
fn exit_codes_and_signal_deaths_pass_through() {
    for_each_user(|w| {
        assert_eq!(w.sh_ok("exit 42").0, 42);
        assert_eq!(w.sh_ok("true").0, 0);
        assert_eq!(w.sh_ok("kill -TERM $$").0, 128 + 15);
        assert_eq!(w.sh_ok("kill -KILL $$").0, 128 + 9);
        let output = w
            .cordon(&["run", "--", "no-such-program-here"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(125));
        assert!(String::from_utf8_lossy(&output.stderr).contains("not found"));
    });
}

#[test]
fn pipes_pass_through() {
    for_each_user(|w| {
        let mut child = w
            .cordon(&["run", "--", "tr", "a-z", "A-Z"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"hello pipes\n")
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "HELLO PIPES\n");
        assert!(output.status.success());
        // SIGPIPE has its default action inside (cordon, a Rust program, ignores it).
        let (code, out) = w.sh_ok("yes | head -n 1");
        assert_eq!((code, out.as_str()), (0, "y\n"));
    });
}

#[test]
fn signals_sent_to_cordon_reach_the_command() {
    for_each_user(|w| {
        for (signal, name) in [
            (libc_signal::TERM, "TERM"),
            (libc_signal::INT, "INT"),
            (libc_signal::HUP, "HUP"),
        ] {
            let mut child = w
                .cordon(&[
                    "run",
                    "--",
                    "/bin/sh",
                    "-c",
                    &format!("trap 'echo got {name}; exit 5' {name}; echo ready; while :; do sleep 0.05; done"),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            assert_eq!(lines.next().unwrap().unwrap(), "ready");
            let status = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status()
                .unwrap();
            assert!(status.success());
            assert_eq!(lines.next().unwrap().unwrap(), format!("got {name}"));
            assert_eq!(child.wait().unwrap().code(), Some(5), "{name}");
        }
    });
}

/// Signal numbers on Linux.
mod libc_signal {
    pub(crate) const HUP: i32 = 1;
    pub(crate) const INT: i32 = 2;
    pub(crate) const TERM: i32 = 15;
}

#[test]
fn the_creation_lock_is_explained_and_lifted_by_creating_the_protected_paths() {
    for_each_user(|w| {
        let (code, out) = w.sh_ok("touch new-top-level-file");
        assert_ne!(code, 0);
        assert!(
            out.contains("no new entries can be created directly in"),
            "{out}"
        );
        assert!(out.contains(".mcp.json"), "{out}");
        assert!(!w.project.join("new-top-level-file").exists());
        // The documented fix: create the protected paths once on the host.
        for dir in [".vscode", ".idea", ".cordon"] {
            fs::create_dir(w.project.join(dir)).unwrap();
        }
        fs::write(w.project.join(".gitmodules"), "").unwrap();
        fs::write(w.project.join(".mcp.json"), "{}").unwrap();
        cordon_e2e::sandbox::chown_tree(&w.project, &w.who);
        let (code, out) = w.sh_ok("touch new-top-level-file && mkdir target && echo ok > target/x && echo '{\"x\":1}' > .mcp.json");
        assert_ne!(code, 0, "{out}"); // the last step must still fail
        assert!(w.project.join("new-top-level-file").exists(), "{out}");
        assert!(w.project.join("target/x").exists(), "{out}");
        assert_eq!(
            fs::read_to_string(w.project.join(".mcp.json")).unwrap(),
            "{}"
        );
    });
}
