//! The sandbox usability suite: ordinary tool calls work inside `cordon run` (git,
//! a C compiler, Python, /tmp, pipes), exit codes and signals pass through. Runs as
//! root and as the unprivileged `cordontest` user; effects are checked from outside.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use cordon_e2e::sandbox::{PYTHON, entries, for_each_user};

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
                .sh_command(&format!(
                    "trap 'echo got {name}; exit 5' {name}; echo ready; while :; do sleep 0.05; done"
                ))
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
fn new_files_can_be_created_next_to_missing_protected_paths() {
    for_each_user(|w| {
        let top_before = entries(&w.project);
        // Everyday creation at the project's top level and in new directories below it.
        let (code, out) = w.sh_ok(
            "touch new-file && echo hi > f && mkdir -p target/debug && echo x > target/debug/y \
             && mv f g && ln g hard && ln -s g soft && mkfifo fifo && umask 077 && touch private \
             && cat soft && echo CREATED",
        );
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("CREATED"), "{out}");
        for name in [
            "new-file",
            "g",
            "hard",
            "soft",
            "fifo",
            "private",
            "target/debug/y",
        ] {
            assert!(
                w.project.join(name).symlink_metadata().is_ok(),
                "{name}: {out}"
            );
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(w.project.join("private"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the caller's umask applies");
        // The missing protected paths stay impossible to create, by every route.
        let (_, out) = w.sh_ok(&format!(
            "touch .mcp.json; mkdir .vscode; echo x > .gitmodules; mkdir -p .cordon/x; \
             mv g .idea; ln hard .mcp.json; ln -s /tmp .vscode; \
             ln -s .mcp.json dangling; echo '{{}}' > dangling; \
             mkdir sub && ln -s ../.mcp.json sub/up && echo x > sub/up; \
             {PYTHON} -c \"import os; os.open('.mcp.json', os.O_CREAT | os.O_WRONLY)\"; \
             {PYTHON} -c \"import os; os.rename('hard', '.vscode')\"; true",
        ));
        for name in [".mcp.json", ".vscode", ".gitmodules", ".cordon", ".idea"] {
            assert!(
                w.project.join(name).symlink_metadata().is_err(),
                "{name} was created: {out}"
            );
        }
        assert!(out.contains("Permission denied"), "{out}");
        // Nothing else appeared (no ghost mount points).
        let mut expected = top_before;
        expected.extend(
            [
                "dangling", "fifo", "g", "hard", "new-file", "private", "soft", "sub", "target",
            ]
            .map(String::from),
        );
        expected.sort();
        assert_eq!(entries(&w.project), expected, "{out}");
    });
}

#[test]
fn the_directories_above_protected_paths_cannot_be_moved_away() {
    for_each_user(|w| {
        let (_, out) = w.sh_ok(
            "mv .git old-git; rmdir .git; mkdir -p .git/hooks; \
             echo '[core] fsmonitor = evil' > .git/config; ls .git/hooks >/dev/null; true",
        );
        assert!(out.contains("busy"), "{out}");
        assert!(!w.project.join("old-git").exists(), "{out}");
        assert!(
            !fs::read_to_string(w.project.join(".git/config"))
                .unwrap()
                .contains("evil"),
            "{out}"
        );
    });
}

#[test]
fn the_host_network_mode_runs_in_the_hosts_network() {
    let interfaces = |text: &str| -> Vec<String> {
        text.lines()
            .skip(2)
            .filter_map(|line| line.split(':').next())
            .map(|name| name.trim().to_owned())
            .collect()
    };
    let host = interfaces(&fs::read_to_string("/proc/net/dev").unwrap());
    for_each_user(|w| {
        // A weaker mode that only a trusted layer (global policy or --policy) may set.
        let policy = w.outside.join("net.yaml");
        fs::write(&policy, "version: 1\nnetwork: {mode: host}\n").unwrap();
        let output = w
            .cordon(&[
                "run",
                "--policy",
                policy.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                "cat /proc/self/net/dev; echo ---; cat /proc/1/net/dev",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (command, init) = text.split_once("---\n").unwrap();
        assert_eq!(interfaces(command), host, "as {}", w.who.name);
        assert_eq!(interfaces(init), host, "PID 1 as {}", w.who.name);
    });
}
