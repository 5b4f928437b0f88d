//! The papercuts of issue 14 that make an agent or its user give up, on the real
//! binary: the project root found from a subdirectory, `allow_write` of a missing path,
//! `cordon run CMD` without `--`, a nested `cordon run`, closed pipes, and the small
//! messages (`policy check`'s exit code, missing and empty files, srt settings).

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::process::{Output, Stdio};

use cordon_e2e::sandbox::{CANARY, Who, World, chown_tree, for_each_user};

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn root_world() -> World {
    World::new(&Who {
        name: "root".into(),
        uid: 0,
        gid: 0,
    })
}

#[test]
fn the_project_is_the_repository_top_level_when_started_in_a_subdirectory() {
    for_each_user(|w| {
        let output = w
            .cordon(&["run", "/bin/sh", "-c", "pwd; touch ../from-src"])
            .current_dir(w.project.join("src"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let out = text(&output);
        assert!(output.status.success(), "{out}");
        assert!(w.project.join("from-src").exists(), "{out}");
        assert!(
            out.contains(&format!("{}/src", w.project.display())),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "cordon: project: {} (the enclosing git",
                w.project.display()
            )),
            "{out}"
        );
        // --project still decides, and no note when the project is the current directory.
        let output = w
            .cordon(&["run", "--project", "src", "--", "touch", "../outside-src"])
            .current_dir(w.project.join("src"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!w.project.join("outside-src").exists(), "{}", text(&output));
        assert!(
            !text(&output).contains("cordon: project:"),
            "{}",
            text(&output)
        );
    });
}

#[test]
fn a_missing_allowed_write_path_is_created_and_said() {
    for_each_user(|w| {
        fs::create_dir_all(w.home.join(".config/cordon")).unwrap();
        fs::write(
            w.home.join(".config/cordon/policy.yaml"),
            "version: 1\nproject_may_relax: [~/.cache]\n",
        )
        .unwrap();
        fs::create_dir_all(w.project.join(".cordon")).unwrap();
        fs::write(
            w.project.join(".cordon/policy.yaml"),
            "version: 1\nfilesystem:\n  allow_write: [~/.cache/myproj]\n",
        )
        .unwrap();
        chown_tree(&w.home, &w.who);
        chown_tree(&w.project, &w.who);
        let output = w.sh("echo built > ~/.cache/myproj/out");
        let out = text(&output);
        assert!(output.status.success(), "{out}");
        assert!(out.contains("cordon: created"), "{out}");
        assert_eq!(
            fs::read_to_string(w.home.join(".cache/myproj/out")).unwrap(),
            "built\n"
        );
    });
}

#[test]
fn a_command_without_the_double_dash_runs() {
    for_each_user(|w| {
        let output = w
            .cordon(&["run", "/bin/sh", "-c", "echo without dashes"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "without dashes\n");
        // An unknown option before the command is still an error, not a command.
        let output = w.cordon(&["run", "--bogus", "true"]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    });
}

#[test]
fn a_nested_cordon_says_it_is_already_inside() {
    for_each_user(|w| {
        let cordon = cordon_e2e::binary("cordon-cli", "cordon");
        let cordon = cordon.display();
        let (code, out) = w.sh_ok(&format!(
            "{cordon} run true; echo run=$?; {cordon} doctor; echo doctor=$?"
        ));
        assert_eq!(code, 0, "{out}");
        assert_eq!(
            out.matches("already inside a cordon sandbox").count(),
            2,
            "{out}"
        );
        assert!(out.contains("run=125") && out.contains("doctor=0"), "{out}");
        assert!(!out.contains("user namespaces: no"), "{out}");
    });
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let w = root_world();
    for args in [
        vec!["policy", "explain", "--json"],
        vec!["policy", "explain"],
        vec!["run", "--print-plan", "true"],
        vec!["doctor"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = w
            .cordon(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn small_messages_say_it_once_and_point_somewhere_real() {
    let w = root_world();
    let file = |name: &str, content: &str| {
        let path = w.outside.join(name);
        fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    // A missing --policy file: the OS error once, exit 125 (nothing ran).
    let output = w
        .cordon(&["run", "--policy", "/nonexistent.yaml", "true"])
        .output()
        .unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(125), "{out}");
    assert_eq!(out.matches("No such file or directory").count(), 1, "{out}");
    // An empty file: the version hint; `check` exits 1 for an invalid policy.
    let empty = file("empty.yaml", "");
    let output = w.cordon(&["policy", "check", &empty]).output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("`version: 1`"), "{out}");
    // An srt typo: the place once; the hint names the URL, not a file users lack.
    let typo = file("typo.json", "{\"filesystem\": {\n  \"denyRaed\": []}}");
    let output = w.cordon(&["policy", "check", &typo]).output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains(":2:"), "{out}");
    assert!(!out.contains("at line"), "{out}");
    assert!(
        out.contains("https://github.com/cordon-dev/cordon/blob/main/docs/sandbox.md"),
        "{out}"
    );
    // `check` fails what `run` refuses.
    for (name, content, why) in [
        (
            "proxy.yaml",
            "version: 1\nnetwork: {mode: proxy, allow: [localhost]}\n",
            "local_ports",
        ),
        (
            "sockets.json",
            r#"{"network": {"allowedDomains": [], "allowUnixSockets": ["/run/docker.sock"]}}"#,
            "allowUnixSockets",
        ),
        (
            "binding.json",
            r#"{"network": {"allowedDomains": [], "allowLocalBinding": true}}"#,
            "allowLocalBinding",
        ),
        (
            "tilde.yaml",
            "version: 1\nfilesystem:\n  deny_read: ['~bob/x']\n",
            "~bob",
        ),
    ] {
        let path = file(name, content);
        let check = w.cordon(&["policy", "check", &path]).output().unwrap();
        assert_eq!(check.status.code(), Some(1), "{name}: {}", text(&check));
        assert!(text(&check).contains(why), "{name}: {}", text(&check));
        let run = w
            .cordon(&["run", "--policy", &path, "true"])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(125), "{name}: {}", text(&run));
    }
    // A CA bundle's path is not a secret; the key next to it is.
    let output = w
        .cordon(&["policy", "explain"])
        .env("AWS_CA_BUNDLE", "/etc/ssl/ca.pem")
        .env("AWS_SECRET_ACCESS_KEY", CANARY)
        .output()
        .unwrap();
    let out = text(&output);
    assert!(!out.contains("removed AWS_CA_BUNDLE"), "{out}");
    assert!(out.contains("removed AWS_SECRET_ACCESS_KEY"), "{out}");
    assert!(!out.contains(CANARY), "{out}");
}

#[test]
fn why_names_the_rule_and_what_would_allow_it() {
    let w = root_world();
    let output = w
        .cordon(&["policy", "why", ".claude/settings.json", "src/hello.c"])
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let project = w.project.display();
    assert!(
        out.contains(&format!(
            "write {project}/.claude/settings.json: denied by `{project}/.claude`"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("dangerously_unprotect: [{project}/.claude]")),
        "{out}"
    );
    assert!(
        out.contains(&format!("write {project}/src/hello.c: allowed")),
        "{out}"
    );
}
