//! First-use approvals end to end (issue 13), with the real `cordon` binary, as root and
//! as the unprivileged `cordontest` user: the built-in default asks and, with nobody to
//! ask, denies ("no approver"); the decision API (`--approval-request`, exit 126, the
//! `needs_approval` record); `cordon approve` once, always and deny; chained commands
//! after an approval; the transcript's approval records; a store that does not parse;
//! `cordon approvals check|ls|rm`; a project file that tries to turn approvals off; and
//! no way to approve, or to write the store, from inside a sandbox.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Output, Stdio};

use cordon_e2e::network::read_json_lines;
use cordon_e2e::sandbox::{World, for_each_user, state_dir};

/// `cordon ARGS` as the world's user, stdin from /dev/null (no terminal).
fn cordon(w: &World, args: &[&str]) -> (i32, String, String) {
    let output: Output = w.cordon(args).stdin(Stdio::null()).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `cordon run --approvals ask [--approval-request FILE] -- ARGV`.
fn ask(w: &World, request: Option<&Path>, argv: &[&str]) -> (i32, String, String) {
    let mut args = vec!["run", "--approvals", "ask"];
    let file;
    if let Some(path) = request {
        file = path.to_string_lossy().into_owned();
        args.extend(["--approval-request", file.as_str()]);
    }
    args.push("--");
    args.extend(argv);
    cordon(w, &args)
}

/// Runs `argv` with the decision API and returns the `needs_approval` record.
fn needs_approval(w: &World, argv: &[&str]) -> serde_json::Value {
    let file = w.outside.join("request.json");
    let _ = fs::remove_file(&file);
    let (code, out, err) = ask(w, Some(&file), argv);
    assert_eq!(code, 126, "{out}{err}");
    assert!(out.is_empty(), "the command ran: {out}");
    serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap()
}

fn approve(w: &World, id: &str, extra: &[&str]) -> String {
    let mut args = vec!["approve", id];
    args.extend(extra);
    let (code, out, err) = cordon(w, &args);
    assert_eq!(code, 0, "{out}{err}");
    out
}

fn approvals(w: &World) -> Vec<serde_json::Value> {
    read_json_lines(&state_dir(&w.home).join("transcript.jsonl"))
        .into_iter()
        .filter(|record| record["type"] == "approval")
        .collect()
}

#[test]
fn without_anyone_to_ask_the_default_denies_and_records_no_approver() {
    for_each_user(|w| {
        let marker = w.project.join("ran");
        let script = format!("touch {}", marker.display());
        // `--approvals ask` is the built-in default (the harness passes `allow` to every
        // other suite; `a_project_file_cannot_turn_approvals_off` shows the default).
        let (code, out, err) = ask(w, None, &["/bin/sh", "-c", &script]);
        assert_eq!(code, 126, "{out}{err}");
        assert!(!marker.exists(), "the command ran");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("denied (no approver)") && err.contains("cordon approve "),
            "{err}"
        );
        let records = approvals(w);
        let states: Vec<&str> = records
            .iter()
            .map(|r| r["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["requested", "denied"], "{records:#?}");
        assert_eq!(records[1]["approver"], "no approver");
        assert_eq!(records[1]["channel"], "none");
        assert!(
            records[0]["decision_hash"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
    });
}

#[test]
fn the_decision_api_then_approve_once_always_and_deny() {
    for_each_user(|w| {
        let record = needs_approval(w, &["/bin/echo", "hello"]);
        let keys: Vec<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "approve_with",
                "argv",
                "cacheable",
                "capability_delta",
                "cwd",
                "decision_hash",
                "executable",
                "expires",
                "request_id",
                "shape",
                "type"
            ]
        );
        assert_eq!(record["type"], "needs_approval");
        assert_eq!(record["argv"], serde_json::json!(["/bin/echo", "hello"]));
        assert_eq!(record["cacheable"], true);
        assert!(record["executable"].as_str().unwrap().ends_with("/echo"));
        let mode = fs::metadata(w.outside.join("request.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let id = record["request_id"].as_str().unwrap();

        // Once: the next identical run is covered, the one after is not.
        approve(w, id, &[]);
        let (code, out, err) = ask(w, None, &["/bin/echo", "hello"]);
        assert_eq!((code, out.as_str()), (0, "hello\n"), "{err}");
        let (code, _, err) = ask(w, None, &["/bin/echo", "hello"]);
        assert_eq!(code, 126, "a once-grant was used twice: {err}");
        // Answering the same request twice is refused.
        let (code, _, err) = cordon(w, &["approve", id]);
        assert_ne!(code, 0);
        assert!(err.contains(id), "{err}");

        // Always: stored with its shape, then every identical run is covered...
        let record = needs_approval(w, &["/bin/echo", "hello"]);
        let out = approve(w, record["request_id"].as_str().unwrap(), &["--always"]);
        assert!(out.contains("approved always"), "{out}");
        for _ in 0..2 {
            let (code, out, err) = ask(w, None, &["/bin/echo", "hello"]);
            assert_eq!((code, out.as_str()), (0, "hello\n"), "{err}");
        }
        // ... but not other arguments, nor anything chained to it.
        needs_approval(w, &["/bin/echo", "hello", "again"]);
        let chained = needs_approval(w, &["/bin/sh", "-c", "/bin/echo hello; /bin/echo pwned"]);
        assert_eq!(chained["cacheable"], true);
        let substituted = needs_approval(w, &["/bin/sh", "-c", "/bin/echo hello $(id)"]);
        assert_eq!(substituted["cacheable"], false);
        assert_eq!(
            substituted["approve_with"],
            format!(
                "cordon approve {}",
                substituted["request_id"].as_str().unwrap()
            )
        );
        // An uncacheable request cannot be approved always.
        let (code, _, err) = cordon(
            w,
            &[
                "approve",
                substituted["request_id"].as_str().unwrap(),
                "--always",
            ],
        );
        assert_ne!(code, 0);
        assert!(err.contains("once, not always"), "{err}");

        // Deny: the same run is denied (not asked again) until the request expires.
        let record = needs_approval(w, &["/bin/echo", "bye"]);
        approve(w, record["request_id"].as_str().unwrap(), &["--deny"]);
        let (code, out, err) = ask(w, None, &["/bin/echo", "bye"]);
        assert_eq!(code, 126, "{out}{err}");
        assert!(err.contains("was denied by"), "{err}");

        // The transcript has every step, with who and through which channel.
        let records = approvals(w);
        let granted: Vec<(&str, &str)> = records
            .iter()
            .filter(|r| r["state"] == "used")
            .map(|r| {
                (
                    r["scope"].as_str().unwrap(),
                    r["approver"].as_str().unwrap(),
                )
            })
            .collect();
        let me = w.who.name.as_str();
        // One once-grant used, then the stored approval used by both covered runs.
        assert_eq!(
            granted,
            [("once", me), ("always", me), ("always", me)],
            "{records:#?}"
        );
        assert!(
            records
                .iter()
                .all(|r| r["argv"].is_array() && r["decision_hash"].is_string())
        );
        // Each decision made with `cordon approve` is on the record, with its scope.
        let decided: Vec<(&str, Option<&str>)> = records
            .iter()
            .filter(|r| r["channel"] == "cli" && r["state"] != "used")
            .map(|r| (r["state"].as_str().unwrap(), r["scope"].as_str()))
            .collect();
        // (the last: the gate refusing the re-run that the denial covers.)
        assert_eq!(
            decided,
            [
                ("granted", Some("once")),
                ("granted", Some("always")),
                ("denied", None),
                ("denied", None)
            ],
            "{records:#?}"
        );

        // ls shows the stored approval with its origin; rm revokes it.
        let (code, out, _) = cordon(w, &["approvals", "ls", "--json"]);
        assert_eq!(code, 0);
        let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let stored = &listed["approvals"][0];
        assert_eq!(stored["approver"], w.who.name.as_str());
        assert_eq!(stored["channel"], "cli");
        let (code, out, err) = cordon(w, &["approvals", "rm", stored["id"].as_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        needs_approval(w, &["/bin/echo", "hello"]);
    });
}

#[test]
fn approvals_check_prints_the_decision_and_runs_nothing() {
    for_each_user(|w| {
        let marker = w.project.join("ran");
        let script = format!("touch {}", marker.display());
        let (code, out, err) = cordon(w, &["approvals", "check", "--", "/bin/sh", "-c", &script]);
        assert_eq!(code, 0, "{err}");
        let decision: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(decision["decision"], "ask");
        assert_eq!(decision["rule"], serde_json::Value::Null);
        assert_eq!(decision["cacheable"], true);
        assert!(!marker.exists());
        let (_, out, _) = cordon(
            w,
            &[
                "approvals",
                "check",
                "--approvals",
                "allow",
                "--",
                "git",
                "-c",
                "core.pager=x",
                "log",
            ],
        );
        let decision: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(decision["decision"], "allow");
        assert_eq!(decision["cacheable"], false);
        assert!(
            decision["reason"].as_str().unwrap().contains("git -c"),
            "{decision}"
        );
        assert!(
            decision["rule"]
                .as_str()
                .unwrap()
                .contains("approvals: shell allow <- flags")
        );
    });
}

#[test]
fn a_store_that_does_not_parse_fails_closed_and_says_where() {
    for_each_user(|w| {
        let record = needs_approval(w, &["/bin/echo", "hello"]);
        approve(w, record["request_id"].as_str().unwrap(), &["--always"]);
        let store = state_dir(&w.home).join("approvals.json");
        fs::write(&store, "{\"version\": 1,\n \"approvals\": [oops]}\n").unwrap();
        let (code, out, err) = ask(w, None, &["/bin/echo", "hello"]);
        assert_eq!(code, 125, "{out}{err}");
        assert!(out.is_empty(), "the command ran: {out}");
        assert!(
            err.contains("approvals.json:2:") && err.contains("does not parse"),
            "{err}"
        );
    });
}

#[test]
fn a_project_file_cannot_turn_approvals_off() {
    for_each_user(|w| {
        fs::create_dir_all(w.project.join(".cordon")).unwrap();
        fs::write(
            w.project.join(".cordon/policy.yaml"),
            "version: 1\napprovals: {shell: allow}\n",
        )
        .unwrap();
        let (code, out, err) = cordon(w, &["policy", "explain"]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("approvals: shell ask  <- default (built-in)"),
            "{out}"
        );
        let (_, out, _) = cordon(w, &["policy", "explain", "--json"]);
        let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
        let refused = plan["relaxations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["what"] == "approvals shell allow")
            .expect("recorded");
        assert_eq!(refused["granted"], false);
        let record = needs_approval(w, &["/bin/echo", "hello"]);
        assert_eq!(record["type"], "needs_approval");
    });
}

#[test]
fn nothing_inside_a_sandbox_can_approve() {
    for_each_user(|w| {
        let record = needs_approval(w, &["/bin/echo", "hello"]);
        let id = record["request_id"].as_str().unwrap();
        let cordon_bin = cordon_e2e::binary("cordon-cli", "cordon");
        let state = state_dir(&w.home);
        // Inside the sandbox: `cordon approve` refuses, and the store cannot be written
        // (nor a pending request changed) behind its back.
        let script = format!(
            "{bin} approve {id} --always; echo approve=$?; \
             echo '{{}}' > {state}/approvals.json; echo store=$?; \
             echo x > {state}/pending/{id}.json; echo pending=$?; \
             mkdir {state}/pending/x; echo mkdir=$?",
            bin = cordon_bin.display(),
            state = state.display()
        );
        let (code, out) = w.sh_ok(&script);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("refused inside a cordon sandbox"), "{out}");
        for step in ["approve", "store", "pending", "mkdir"] {
            assert!(
                !out.contains(&format!("{step}=0")),
                "{step} succeeded inside: {out}"
            );
        }
        assert!(!state.join("approvals.json").exists());
        // The request is still pending: the run is still not covered.
        let (code, _, err) = ask(w, None, &["/bin/echo", "hello"]);
        assert_eq!(code, 126, "{err}");
    });
}

/// `cordon ARGS` on a pseudo-terminal (`script`), typing `answer` once the prompt is up.
fn on_a_terminal(w: &World, args: &[&str], answer: &str) -> (i32, String) {
    on_a_terminal_with(w, args, &[], Some(answer))
}

/// `cordon ARGS` on a pseudo-terminal (`script`) with `envs` added, typing `answer` once
/// the prompt is up and then ending the input; with `None`, typing nothing and keeping
/// the terminal open until cordon is done.
fn on_a_terminal_with(
    w: &World,
    args: &[&str],
    envs: &[(&str, &str)],
    answer: Option<&str>,
) -> (i32, String) {
    use std::io::Write as _;
    let command = w.cordon(args);
    let quote =
        |word: &std::ffi::OsStr| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''"));
    let mut line = quote(command.get_program());
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .envs(envs.iter().copied())
        .current_dir(&w.project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = script.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(answer) = answer {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        stdin.write_all(answer.as_bytes()).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        return shown(&output);
    }
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    shown(&output)
}

/// (exit code, what the terminal showed).
fn shown(output: &Output) -> (i32, String) {
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
fn a_terminal_prompt_asks_before_the_command_starts() {
    for_each_user(|w| {
        let args = [
            "run",
            "--approvals",
            "ask",
            "--",
            "/bin/echo",
            "from-the-tty",
        ];
        let (code, out) = on_a_terminal(w, &args, "n\n");
        assert_eq!(code, 126, "{out}");
        assert!(out.contains("Run it? [o]nce / [a]lways / [N]o"), "{out}");
        let ran = |out: &str| out.lines().any(|line| line.trim_end() == "from-the-tty");
        assert!(!ran(&out), "ran after a no: {out}");
        // Denied: not asked again while the request lasts.
        let (code, out) = on_a_terminal(w, &args, "");
        assert_eq!(code, 126, "{out}");
        assert!(out.contains("was denied by"), "{out}");
        let args = [
            "run",
            "--approvals",
            "ask",
            "--",
            "/bin/echo",
            "from-the-tty",
            "2",
        ];
        let (code, out) = on_a_terminal(w, &args, "a\n");
        assert_eq!(code, 0, "{out}");
        assert!(
            out.lines().any(|line| line.trim_end() == "from-the-tty 2"),
            "{out}"
        );
        // Stored: the next run needs no terminal.
        let (code, out, err) = ask(w, None, &["/bin/echo", "from-the-tty", "2"]);
        assert_eq!((code, out.as_str()), (0, "from-the-tty 2\n"), "{err}");
        let records = approvals(w);
        let channels: Vec<(&str, &str)> = records
            .iter()
            .filter(|r| r["channel"] == "terminal")
            .map(|r| {
                (
                    r["state"].as_str().unwrap(),
                    r["approver"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            channels,
            [
                ("denied", w.who.name.as_str()),
                ("denied", w.who.name.as_str()),
                ("granted", w.who.name.as_str()),
                ("used", w.who.name.as_str())
            ],
            "{records:#?}"
        );
    });
}

#[test]
fn a_policy_file_edited_out_of_band_applies_only_its_tightenings_until_accepted() {
    for_each_user(|w| {
        let policy = w.project.join(".cordon/policy.yaml");
        fs::create_dir_all(policy.parent().unwrap()).unwrap();
        fs::write(
            &policy,
            "version: 1\nenvironment: {set: {MARK: accepted}}\n",
        )
        .unwrap();
        let (code, out, err) = cordon(w, &["policy", "accept"]);
        assert_eq!(code, 0, "{out}{err}");
        fs::write(w.project.join("secret.txt"), "top secret\n").unwrap();
        // A pull changes it: a relaxation (another value) and a tightening (a denial).
        fs::write(
            &policy,
            "version: 1\nenvironment: {set: {MARK: changed}}\nfilesystem: {deny_read: [secret.txt]}\n",
        )
        .unwrap();
        let (code, out) = w.sh_ok("echo mark=$MARK; cat secret.txt");
        assert_ne!(code, 125, "{out}");
        assert!(
            out.contains("mark=accepted") && !out.contains("top secret"),
            "{out}"
        );
        assert!(out.contains("changed since you accepted it"), "{out}");
        let changes: Vec<serde_json::Value> =
            read_json_lines(&state_dir(&w.home).join("transcript.jsonl"))
                .into_iter()
                .filter(|record| record["type"] == "policy_change")
                .collect();
        assert_eq!(changes.len(), 1, "{changes:#?}");
        let diff: Vec<&str> = changes[0]["diff"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| line.as_str().unwrap())
            .collect();
        assert!(
            diff.contains(&"+ filesystem: {deny_read: [secret.txt]}"),
            "{diff:?}"
        );
        assert!(
            diff.contains(&"- environment: {set: {MARK: accepted}}"),
            "{diff:?}"
        );
        // Accepted: all of it applies, and nothing more is recorded as a change.
        let (code, out, err) = cordon(w, &["policy", "accept"]);
        assert_eq!(code, 0, "{out}{err}");
        let (_, out) = w.sh_ok("echo mark=$MARK; cat secret.txt");
        assert!(
            out.contains("mark=changed") && !out.contains("top secret"),
            "{out}"
        );
        assert!(!out.contains("changed since you accepted it"), "{out}");
        // Accepting from inside a sandbox is refused.
        let bin = cordon_e2e::binary("cordon-cli", "cordon");
        let (_, out) = w.sh_ok(&format!("{} policy accept; echo accept=$?", bin.display()));
        assert!(
            out.contains("refused inside a cordon sandbox") && !out.contains("accept=0"),
            "{out}"
        );
    });
}

#[test]
fn an_approval_can_carry_a_capability_delta_and_the_command_stays_sandboxed() {
    for_each_user(|w| {
        let target = w.outside.join("cache");
        fs::create_dir_all(&target).unwrap();
        cordon_e2e::sandbox::chown_tree(&target, &w.who);
        let script = format!(
            "touch {}/written && echo wrote; cat {}/.ssh/id_rsa || echo no-key",
            target.display(),
            w.home.display()
        );
        let argv = ["/bin/sh", "-c", script.as_str()];
        let record = needs_approval(w, &argv);
        let target_text = target.to_string_lossy().into_owned();
        let out = approve(
            w,
            record["request_id"].as_str().unwrap(),
            &["--always", "--allow-write", &target_text],
        );
        assert!(out.contains("filesystem.allow_write"), "{out}");
        let (code, out, err) = ask(w, None, &argv);
        assert_eq!(code, 0, "{out}{err}");
        // The delta applies, recorded; the rest of the sandbox stays (the key is hidden).
        assert!(
            out.contains("wrote") && out.contains("no-key"),
            "{out}{err}"
        );
        assert!(target.join("written").exists());
        assert!(
            err.contains("relaxed by an approval: filesystem.allow_write"),
            "{err}"
        );
        let used: Vec<serde_json::Value> = approvals(w)
            .into_iter()
            .filter(|r| r["state"] == "used" && r["scope"] == "always")
            .collect();
        assert_eq!(used.len(), 1, "{used:#?}");
        assert_eq!(
            used[0]["capability_delta"],
            serde_json::json!([format!("filesystem.allow_write {target_text}")])
        );
    });
}

#[test]
fn a_terminal_prompt_gives_up_when_its_request_expires() {
    for_each_user(|w| {
        let marker = w.project.join("ran");
        let script = format!("touch {}", marker.display());
        let args = [
            "run",
            "--approvals",
            "ask",
            "--",
            "/bin/sh",
            "-c",
            script.as_str(),
        ];
        let ttl = |seconds| [("CORDON_APPROVAL_REQUEST_TTL", seconds)];
        // Nobody answers: the prompt ends with the request, and nothing runs.
        let (code, shown) = on_a_terminal_with(w, &args, &ttl("2"), None);
        assert_eq!(code, 126, "{shown}");
        assert!(shown.contains("Run it? [o]nce"), "{shown}");
        assert!(shown.contains("cordon: denied (expired)"), "{shown}");
        assert!(!marker.exists(), "the command ran");
        let records = approvals(w);
        let states: Vec<&str> = records
            .iter()
            .map(|r| r["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["requested", "expired"], "{records:#?}");
        assert_eq!(records[1]["channel"], "terminal");
        assert_eq!(records[0]["request_id"], records[1]["request_id"]);
        let pending = state_dir(&w.home).join("pending");
        let left = fs::read_dir(&pending).map_or(0, |dir| dir.count());
        assert_eq!(left, 0, "the expired request is withdrawn from {pending:?}");

        // Answered in time, the same poll reads the answer.
        let (code, shown) = on_a_terminal_with(w, &args, &ttl("60"), Some("o\n"));
        assert_eq!(code, 0, "{shown}");
        assert!(marker.exists(), "the command did not run: {shown}");

        // The variable only shortens the wait.
        let (code, shown) = on_a_terminal_with(w, &args, &ttl("3600"), None);
        assert_eq!(code, 125, "{shown}");
        assert!(
            shown.contains(
                "CORDON_APPROVAL_REQUEST_TTL=3600: expected a number of seconds from 1 to 600"
            ),
            "{shown}"
        );
    });
}
