//! The run transcript end to end (issue 13), with the real `cordon` binary, as root and
//! as the unprivileged `cordontest` user: the records of a run (start, denials the
//! creation guard and the proxy observed, end), `cordon log verify` on every kind of
//! tampering, `cordon log show` with hostile argv, and the sandbox's inability to write
//! or create the transcript, its head, the state directory or the global policy.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use cordon_e2e::network::{for_each_user_in_a_world, read_json_lines};
use cordon_e2e::sandbox::{World, chown_tree, for_each_user, state_dir};

fn records(w: &World) -> Vec<serde_json::Value> {
    read_json_lines(&state_dir(&w.home).join("transcript.jsonl"))
}

/// `cordon log verify FILE` as the world's user: (exit code, output).
fn verify(w: &World, file: &Path) -> (i32, String) {
    let output = w
        .cordon(&["log", "verify", &file.to_string_lossy()])
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn a_run_is_recorded_with_what_was_denied_and_verifies() {
    for_each_user(|w| {
        let (code, out) = w.sh_ok("echo hello; touch .envrc; exit 3");
        assert_eq!(code, 3, "{out}");
        // The hint names the path and what would allow it, for this run's denial only.
        assert!(
            out.contains("cordon: denied in this run (creation guard): write ")
                && out.contains(".envrc")
                && out.contains("dangerously_unprotect"),
            "{out}"
        );
        let (code, out) = w.sh_ok("echo quiet");
        assert_eq!(code, 0);
        assert!(!out.contains("denied in this run"), "{out}");

        let dir = state_dir(&w.home);
        for (file, mode) in [("transcript.jsonl", 0o600), ("transcript.head", 0o600)] {
            let meta = fs::metadata(dir.join(file)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
            assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), w.who.uid);
        }
        let records = records(w);
        let types: Vec<&str> = records
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            ["run_start", "denial", "run_end", "run_start", "run_end"],
            "{records:#?}"
        );
        let start = &records[0];
        assert_eq!(
            start["argv"],
            serde_json::json!(["/bin/sh", "-c", "echo hello; touch .envrc; exit 3"])
        );
        assert_eq!(start["project"], w.project.to_string_lossy().as_ref());
        assert_eq!(start["uid"], w.who.uid);
        assert!(
            start["policy_digest"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        assert_eq!(start["observing"], serde_json::json!(["creation_guard"]));
        // The harness passes `--approvals allow`: the record says the gate was off.
        assert_eq!(
            start["approvals"],
            serde_json::json!({"shell": "allow", "layer": "flags", "origin": "command line"})
        );
        let denial = &records[1];
        assert_eq!(denial["source"], "creation_guard");
        assert_eq!(
            denial["object"],
            w.project.join(".envrc").to_string_lossy().as_ref()
        );
        assert!(
            denial["allow_with"]
                .as_str()
                .unwrap()
                .contains("dangerously_unprotect")
        );
        let end = &records[2];
        assert_eq!(end["exit_code"], 3);
        assert_eq!(end["denials"]["creation_guard"], 1);
        assert!(end["denials"]["proxy"].is_null(), "not observed, not 0");
        assert!(end["denials"]["seccomp"].is_null());
        assert_eq!(records[4]["denials"]["creation_guard"], 0);
        // Each record chains to the one before it.
        assert!(
            records
                .iter()
                .all(|r| r["run"] == records[0]["run"] || r["run"] == records[3]["run"])
        );
        let (code, out) = verify(w, &dir.join("transcript.jsonl"));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("ok: 5 records"), "{out}");
        // Without FILE: the project's transcript, found from the current directory.
        let output = w.cordon(&["log", "verify"]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let output = w.cordon(&["log", "show"]).output().unwrap();
        let shown = String::from_utf8_lossy(&output.stdout);
        assert!(
            shown.contains("approvals off (flags command line)"),
            "{shown}"
        );
        // Two runs of about 2 KB at most each without denials.
        let text = fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
        let quiet: usize = text.lines().skip(3).map(|l| l.len() + 1).sum();
        eprintln!("transcript bytes for one tool call without denials: {quiet}");
        assert!(quiet <= 2048, "{quiet} bytes");
    });
}

#[test]
fn a_relaxation_record_names_the_line_that_asked_for_it() {
    for_each_user(|w| {
        let policy = w.project.join(".cordon/policy.yaml");
        fs::create_dir_all(policy.parent().unwrap()).unwrap();
        fs::write(
            &policy,
            format!(
                "version: 1\nfilesystem:\n  allow_write:\n    - {}\n",
                w.outside.display()
            ),
        )
        .unwrap();
        chown_tree(policy.parent().unwrap(), &w.who);
        let output = w.cordon(&["policy", "accept"]).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let (code, out) = w.sh_ok("true");
        assert_eq!(code, 0, "{out}");
        let records = records(w);
        let relaxation = records
            .iter()
            .find(|r| r["type"] == "relaxation")
            .unwrap_or_else(|| panic!("no relaxation record: {records:#?}"));
        assert_eq!(
            relaxation["what"],
            format!("write {}", w.outside.display()),
            "{relaxation:#}"
        );
        assert_eq!(relaxation["layer"], "project");
        assert_eq!(relaxation["granted"], false);
        // The file, line 4, column 7: where the entry is written.
        assert_eq!(
            relaxation["origin"],
            format!("{}:4:7", policy.display()),
            "{relaxation:#}"
        );
        let (code, out) = verify(w, &state_dir(&w.home).join("transcript.jsonl"));
        assert_eq!(code, 0, "{out}");
    });
}

/// An edit of a transcript's lines.
type Change = dyn Fn(&mut Vec<String>);

/// Copies the project's transcript and head to `name.jsonl`/`name.head` in the world's
/// outside directory, `change`s the copy's lines, and verifies it.
fn tampered(w: &World, name: &str, change: impl Fn(&mut Vec<String>)) -> (i32, String) {
    let dir = state_dir(&w.home);
    let file = w.outside.join(format!("{name}.jsonl"));
    let head = w.outside.join(format!("{name}.head"));
    let mut lines: Vec<String> = fs::read_to_string(dir.join("transcript.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    change(&mut lines);
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    fs::write(&file, text).unwrap();
    fs::copy(dir.join("transcript.head"), &head).unwrap();
    chown_tree(&file, &w.who);
    chown_tree(&head, &w.who);
    verify(w, &file)
}

#[test]
fn log_verify_names_the_first_bad_record() {
    for_each_user(|w| {
        for n in 0..3 {
            let (code, out) = w.sh_ok(&format!("exit {n}"));
            assert_eq!(code, n, "{out}");
        }
        let (code, out) = tampered(w, "intact", |_| {});
        assert_eq!(code, 0, "{out}");
        let cases: [(&str, &Change, &str); 6] = [
            (
                "edited",
                &|lines| lines[1] = lines[1].replace("\"exit_code\":0", "\"exit_code\":9"),
                "line 2: edited",
            ),
            (
                "reordered",
                &|lines| lines.swap(2, 3),
                "line 3: records out of order",
            ),
            (
                "deleted",
                &|lines| drop(lines.remove(2)),
                "line 3: the record with seq 2 was deleted",
            ),
            (
                "truncated",
                &|lines| lines.truncate(4),
                "truncated: the head says 6 records",
            ),
            (
                "edited-last",
                &|lines| lines[5] = lines[5].replace("\"exit_code\":2", "\"exit_code\":0"),
                "line 6: edited: the last record's hash does not match the head",
            ),
            ("emptied", &|lines| lines.clear(), "truncated"),
        ];
        for (name, change, expected) in cases {
            let (code, out) = tampered(w, name, change);
            assert_eq!(code, 1, "{name}: {out}");
            assert!(
                out.contains("TAMPERED") && out.contains(expected),
                "{name}: {out}"
            );
        }
        // A head that does not match (rolled back to an older one).
        let dir = state_dir(&w.home);
        let old_head = fs::read_to_string(dir.join("transcript.head")).unwrap();
        w.sh_ok("true");
        let file = w.outside.join("rolled.jsonl");
        fs::copy(dir.join("transcript.jsonl"), &file).unwrap();
        fs::write(w.outside.join("rolled.head"), old_head).unwrap();
        chown_tree(&w.outside, &w.who);
        let (code, out) = verify(w, &file);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("line 7: records after the head's last (6)"),
            "{out}"
        );
        // A deleted head.
        fs::remove_file(w.outside.join("rolled.head")).unwrap();
        let (code, out) = verify(w, &file);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("the head is missing"), "{out}");
    });
}

#[test]
fn the_sandbox_cannot_write_or_create_the_transcript_head_state_or_policy() {
    for_each_user(|w| {
        w.sh_ok("true");
        let dir = state_dir(&w.home);
        let transcript = dir.join("transcript.jsonl");
        let head = dir.join("transcript.head");
        let before = (fs::read(&transcript).unwrap(), fs::read(&head).unwrap());
        let state_home = w.home.join(".local/state");
        let config = w.home.join(".config");
        fs::create_dir_all(&config).unwrap();
        chown_tree(&config, &w.who);
        let attempts = format!(
            "echo forged >> '{t}' && echo WROTE-T; echo '{{}}' > '{h}' && echo WROTE-H; \
             rm -f '{t}' && echo REMOVED; mv '{h}' '{h}.x' && echo MOVED; \
             touch '{d}/approvals.json' && echo CREATED-A; mkdir '{d}/pending' && echo CREATED-P; \
             mkdir '{s}/cordon/other-0' && echo CREATED-S; mkdir '{c}/cordon' && echo CREATED-C; \
             echo 'version: 1' > '{c}/cordon/policy.yaml' && echo CREATED-G; true",
            t = transcript.display(),
            h = head.display(),
            d = dir.display(),
            s = state_home.display(),
            c = config.display(),
        );
        // The user's own relaxation of its state and config directories does not lift
        // cordon's (mandatory denials, also for what does not exist yet).
        let output = w
            .cordon(&[
                "run",
                "--allow-write",
                &state_home.to_string_lossy(),
                "--allow-write",
                &config.to_string_lossy(),
                "--",
                "/bin/sh",
                "-c",
                &attempts,
            ])
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(0), "{out}");
        for word in [
            "WROTE-T",
            "WROTE-H",
            "REMOVED",
            "MOVED",
            "CREATED-A",
            "CREATED-P",
            "CREATED-S",
            "CREATED-C",
            "CREATED-G",
        ] {
            assert!(!out.contains(word), "{word} as {}: {out}", w.who.name);
        }
        assert!(!dir.join("approvals.json").exists() && !dir.join("pending").exists());
        assert!(!state_home.join("cordon/other-0").exists());
        assert!(!config.join("cordon").exists(), "{out}");
        // The transcript grew by this run's records only, and still verifies.
        let after = fs::read(&transcript).unwrap();
        assert!(after.starts_with(&before.0));
        // (The run's own argv, in its run_start record, does contain the word.)
        assert!(
            !String::from_utf8_lossy(&after)
                .lines()
                .any(|l| l == "forged")
        );
        let (code, text) = verify(w, &transcript);
        assert_eq!(code, 0, "{text}");
        // XDG_STATE_HOME and XDG_CONFIG_HOME in a writable place, where cordon's
        // directories do not exist yet: the sandbox cannot create them either.
        let xdg_state = w.outside.join("xdg-state");
        let xdg_config = w.outside.join("xdg-config");
        // (They exist: a missing ancestor of a protected path is refused as well.)
        fs::create_dir_all(&xdg_state).unwrap();
        fs::create_dir_all(&xdg_config).unwrap();
        chown_tree(&w.outside, &w.who);
        let elsewhere = w.home.join("t-xdg.jsonl");
        let output = w
            .cordon(&[
                "run",
                "--allow-write",
                &w.outside.to_string_lossy(),
                "--transcript",
                &elsewhere.to_string_lossy(),
                "--",
                "/bin/sh",
                "-c",
                "mkdir -p \"$XDG_STATE_HOME/cordon/x\" && echo MADE-S; \
                 mkdir -p \"$XDG_CONFIG_HOME/cordon\" && echo MADE-C; \
                 mkdir -p \"$XDG_STATE_HOME/other\" && echo MADE-OTHER",
            ])
            .env("XDG_STATE_HOME", &xdg_state)
            .env("XDG_CONFIG_HOME", &xdg_config)
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!out.contains("MADE-S") && !out.contains("MADE-C"), "{out}");
        assert!(out.contains("MADE-OTHER"), "the rest stays writable: {out}");
        assert!(!xdg_state.join("cordon").exists() && !xdg_config.join("cordon").exists());
        // A transcript the sandbox could write is refused before anything runs.
        let inside = w.project.join("transcript.jsonl");
        let output = w
            .cordon(&[
                "run",
                "--transcript",
                &inside.to_string_lossy(),
                "--",
                "true",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{stderr}");
        assert!(stderr.contains("--transcript"), "{stderr}");
        assert!(!inside.exists());
        // --transcript FILE elsewhere: used, with FILE.head next to it.
        let elsewhere = w.outside.join("t.jsonl");
        let output = w
            .cordon(&[
                "run",
                "--transcript",
                &elsewhere.to_string_lossy(),
                "--",
                "true",
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_eq!(read_json_lines(&elsewhere).len(), 2);
        assert!(w.outside.join("t.head").exists());
    });
}

#[test]
fn log_show_escapes_hostile_argv() {
    for_each_user(|w| {
        let hostile = "a\u{1b}[2J\u{202e}txt.exe\u{200b}\nforged line";
        let output = w
            .cordon(&["run", "--", "/bin/echo", hostile])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let output = w.cordon(&["log", "show"]).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert_eq!(text.lines().count(), 1, "one line per run: {text}");
        for bad in ['\u{1b}', '\u{202e}', '\u{200b}'] {
            assert!(!text.contains(bad), "{bad:?} unescaped: {text}");
        }
        assert!(
            text.contains("\\u{001b}[2J\\u{202e}txt.exe\\u{200b}\\nforged line"),
            "{text}"
        );
        assert!(text.contains("exit 0"), "{text}");
        let output = w
            .cordon(&["log", "show", "--json", "--since", "1h"])
            .output()
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(output.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!(json["run_start"]["argv"][1], hostile);
        let run = json["run"].as_str().unwrap();
        let output = w.cordon(&["log", "show", "--run", run]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
        let output = w
            .cordon(&["log", "show", "--run", "nope"])
            .output()
            .unwrap();
        assert!(output.stdout.is_empty());
        let output = w
            .cordon(&["log", "show", "--since", "yesterday"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("--since yesterday"));
    });
}

#[test]
fn a_proxy_refusal_is_a_denial_record() {
    for_each_user_in_a_world(|world| {
        let (_, text) = world.sh("curl -sS -m 5 -o /dev/null http://denied.test/x; true");
        assert!(
            text.contains("denied in this run (proxy)") && text.contains("denied.test:80"),
            "{text}"
        );
        let records = read_json_lines(&state_dir(&world.user.home).join("transcript.jsonl"));
        let start = &records[0];
        assert!(
            start["observing"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!("proxy")),
            "{start}"
        );
        let denial = records
            .iter()
            .find(|r| r["type"] == "denial" && r["source"] == "proxy")
            .unwrap_or_else(|| panic!("no proxy denial in {records:#?}"));
        assert_eq!(denial["object"], "denied.test:80");
        let end = records.iter().find(|r| r["type"] == "run_end").unwrap();
        assert!(end["denials"]["proxy"].as_u64().unwrap() >= 1, "{end}");
        // The proxy's own log carries the same run id.
        let net = read_json_lines(&state_dir(&world.user.home).join("net.jsonl"));
        assert!(net.iter().any(|r| r["run_id"] == start["run"]), "{net:#?}");
    });
}

#[test]
fn a_home_directory_project_gets_its_new_state_directory_bound_read_only() {
    for_each_user(|w| {
        // The project is the home directory: the state directory below it does not
        // exist yet; cordon creates it and resolves again, so that it is read-only.
        let home = w.home.to_string_lossy();
        let output = w
            .cordon(&[
                "run",
                "--allow-home-project",
                "--project",
                &home,
                "--",
                "/bin/sh",
                "-c",
                "echo forged >> \"$HOME\"/.local/state/cordon/*/transcript.jsonl && echo WROTE; \
                 mkdir \"$HOME\"/.local/state/cordon/new && echo MADE; touch \"$HOME\"/ok && echo FINE",
            ])
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(0), "{out}");
        assert!(!out.contains("WROTE") && !out.contains("MADE"), "{out}");
        assert!(
            out.contains("FINE"),
            "the home directory is the (writable) project: {out}"
        );
        let transcript = state_dir(&w.home).join("transcript.jsonl");
        let (code, text) = verify(w, &transcript);
        assert_eq!(code, 0, "{text}");
    });
}

#[test]
fn concurrent_runs_of_one_project_keep_one_intact_chain() {
    for_each_user(|w| {
        let mut children = Vec::new();
        for n in 0..12 {
            let mut command = w.sh_command(&format!("exit {}", n % 3));
            command.stdout(std::process::Stdio::null());
            children.push(command.spawn().unwrap());
        }
        for mut child in children {
            let status = child.wait().unwrap();
            assert_ne!(status.code(), Some(125));
        }
        let records = records(w);
        assert_eq!(records.len(), 24, "{records:#?}");
        for (seq, record) in records.iter().enumerate() {
            assert_eq!(record["seq"], seq as u64);
        }
        let (code, out) = verify(w, &state_dir(&w.home).join("transcript.jsonl"));
        assert_eq!(code, 0, "{out}");
    });
}
