//! The transcript's unit tests: the chain, the head, durability counts, concurrent
//! writers, and every kind of tampering `verify` must name.

use std::path::{Path, PathBuf};

use super::*;

fn start() -> Event {
    Event::RunStart(RunStart {
        argv: vec!["sh".into(), "-c".into(), "echo hi".into()],
        cwd: "/src/app".into(),
        project: "/src/app".into(),
        policy_digest: line_hash(b"plan"),
        layers: vec![LayerRef {
            layer: "built-in".into(),
            origin: "built-in".into(),
        }],
        tiers: vec!["namespaces".into(), "landlock".into()],
        observing: vec![Source::CreationGuard],
        cordon_version: "0.1.0".into(),
        uid: 1000,
        approvals: None,
    })
}

fn end(code: i32) -> Event {
    Event::RunEnd(RunEnd {
        exit_code: Some(code),
        signal: None,
        error: None,
        duration_ms: 12,
        denials: DenialCounts::observing(&[Source::CreationGuard]),
        relaxations_granted: 0,
        relaxations_refused: 0,
    })
}

fn files() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state/transcript.jsonl");
    let head = Transcript::head_path_for(&path);
    (dir, path, head)
}

/// Writes `runs` runs of two records each.
fn write_runs(path: &Path, head: &Path, runs: usize) {
    for code in 0..runs {
        let mut transcript = Transcript::open(path, head).expect("open");
        transcript.append(start()).expect("append");
        transcript.append(end(code as i32)).expect("append");
        transcript.flush().expect("flush");
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).expect("write");
}

fn problem(path: &Path, head: &Path) -> Option<Problem> {
    verify(path, head).expect("verify").problem
}

#[test]
fn records_chain_across_runs_and_the_head_follows() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 3);
    let records = read_records(&path).expect("records");
    assert_eq!(records.len(), 6);
    assert_eq!(records[0].1.prev, GENESIS);
    let text = lines(&path);
    for (index, (line, record)) in records.iter().enumerate() {
        assert_eq!(*line, index + 1);
        assert_eq!(record.seq, index as u64);
        assert_eq!(record.v, FORMAT_VERSION);
        if index > 0 {
            assert_eq!(record.prev, line_hash(text[index - 1].as_bytes()));
        }
    }
    assert_ne!(records[0].1.run, records[2].1.run, "each open is a new run");
    assert_eq!(records[0].1.run, records[1].1.run);
    let head_now = Head::parse(&std::fs::read_to_string(&head).expect("head")).expect("parse");
    assert_eq!(head_now.count, 6);
    assert_eq!(head_now.last, line_hash(text[5].as_bytes()));
    assert_eq!(problem(&path, &head), None);
    assert!(
        text[0].starts_with(r#"{"v":1,"seq":0,"time":""#),
        "{}",
        text[0]
    );
    assert!(text[0].contains(r#""type":"run_start""#));
}

#[test]
fn the_gate_setting_of_run_start_is_optional_both_ways() {
    let (_dir, path, head) = files();
    // A record without it (as written before cordon recorded it) keeps its old shape.
    write_runs(&path, &head, 1);
    assert!(
        !lines(&path)[0].contains("approvals"),
        "{}",
        lines(&path)[0]
    );
    let Event::RunStart(mut with_gate) = start() else {
        unreachable!("start() is a run_start")
    };
    with_gate.approvals = Some(GateSetting {
        shell: "allow".into(),
        layer: "flags".into(),
        origin: "command line".into(),
    });
    let mut transcript = Transcript::open(&path, &head).expect("open");
    transcript
        .append(Event::RunStart(with_gate.clone()))
        .expect("append");
    drop(transcript);
    let records = read_records(&path).expect("records");
    assert!(matches!(&records[0].1.event, Event::RunStart(old) if old.approvals.is_none()));
    assert_eq!(records[2].1.event, Event::RunStart(with_gate));
    assert!(lines(&path)[2].contains(r#""approvals":{"shell":"allow","layer":"flags""#));
    assert_eq!(problem(&path, &head), None);
}

#[test]
fn files_are_private_and_the_directory_too() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path, head) = files();
    write_runs(&path, &head, 1);
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&head), 0o600);
    assert_eq!(mode(path.parent().expect("dir")), 0o700);
}

#[test]
fn a_symbolic_link_in_place_of_the_transcript_is_refused() {
    let (dir, path, head) = files();
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &path).expect("symlink");
    let error = Transcript::open(&path, &head).expect_err("symlink accepted");
    assert!(matches!(error, TranscriptError::NotAFile(_)), "{error}");
}

#[test]
fn buffered_records_wait_durable_ones_sync_at_most_twice_per_run() {
    let (_dir, path, head) = files();
    let mut transcript = Transcript::open(&path, &head).expect("open");
    let first = transcript.append(start()).expect("append");
    assert_eq!(first.index, 0);
    assert_eq!(std::fs::metadata(&path).expect("meta").len(), 0, "buffered");
    let relaxation = Event::Relaxation(RelaxationEvent {
        what: "write /x".into(),
        layer: "project".into(),
        origin: "/src/app/.cordon/policy.yaml".into(),
        granted: false,
        reason: "the global policy does not allow it".into(),
    });
    let second = transcript.append_durable(relaxation).expect("durable");
    assert_eq!(second.index, 1);
    assert_eq!(
        lines(&path).len(),
        2,
        "the durable append wrote what was buffered"
    );
    assert_eq!(transcript.syncs(), 1);
    transcript.append(end(0)).expect("append");
    transcript.flush().expect("flush");
    transcript.flush().expect("an empty flush");
    assert_eq!(transcript.syncs(), 2);
    transcript.append(end(1)).expect("append");
    transcript.flush_unsynced().expect("write");
    assert_eq!(transcript.syncs(), 2);
    assert_eq!(lines(&path).len(), 4);
    assert_eq!(problem(&path, &head), None);
}

#[test]
fn dropping_a_transcript_writes_what_it_buffered() {
    let (_dir, path, head) = files();
    {
        let mut transcript = Transcript::open(&path, &head).expect("open");
        transcript.append(start()).expect("append");
    }
    assert_eq!(lines(&path).len(), 1);
    assert_eq!(problem(&path, &head), None);
}

#[test]
fn concurrent_runs_append_whole_records_in_one_chain() {
    let (_dir, path, head) = files();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for code in 0..25 {
                    let mut transcript = Transcript::open(&path, &head).expect("open");
                    transcript.append(start()).expect("append");
                    transcript.append_durable(end(code)).expect("durable");
                }
            });
        }
    });
    let records = read_records(&path).expect("records");
    assert_eq!(records.len(), 200);
    assert_eq!(problem(&path, &head), None);
    // Each run's two records are adjacent: a run writes them in one locked write.
    for pair in records.chunks(2) {
        assert_eq!(pair[0].1.run, pair[1].1.run);
    }
}

#[test]
fn an_edited_record_is_named() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 2);
    let mut text = lines(&path);
    text[1] = text[1].replace(r#""exit_code":0"#, r#""exit_code":1"#);
    write_lines(&path, &text);
    let found = problem(&path, &head).expect("edit not found");
    assert_eq!(found.line, 2, "{found}");
    assert!(found.what.contains("edited"), "{found}");
}

#[test]
fn an_edited_last_record_is_caught_by_the_head() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 2);
    let mut text = lines(&path);
    text[3] = text[3].replace(r#""exit_code":1"#, r#""exit_code":0"#);
    write_lines(&path, &text);
    let found = problem(&path, &head).expect("edit not found");
    assert_eq!(found.line, 4, "{found}");
    assert!(found.what.contains("does not match the head"), "{found}");
}

#[test]
fn reordered_records_are_named() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 2);
    let mut text = lines(&path);
    text.swap(1, 2);
    write_lines(&path, &text);
    let found = problem(&path, &head).expect("reorder not found");
    assert_eq!(found.line, 2, "{found}");
    assert!(found.what.contains("out of order"), "{found}");
}

#[test]
fn a_deleted_record_is_named() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 3);
    let mut text = lines(&path);
    text.remove(2);
    write_lines(&path, &text);
    let found = problem(&path, &head).expect("deletion not found");
    assert_eq!(found.line, 3, "{found}");
    assert!(found.what.contains("seq 2 was deleted"), "{found}");
    // Deleting the first record.
    let mut text = lines(&path);
    text.remove(0);
    write_lines(&path, &text);
    let found = problem(&path, &head).expect("deletion not found");
    assert_eq!(found.line, 1, "{found}");
}

#[test]
fn truncation_is_named_whole_records_or_inside_one() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 2);
    let text = lines(&path);
    write_lines(&path, &text[..3]);
    let found = problem(&path, &head).expect("truncation not found");
    assert!(found.what.starts_with("truncated"), "{found}");
    assert_eq!(found.line, 3);
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 10]).expect("write");
    let found = problem(&path, &head).expect("cut not found");
    assert_eq!(found.line, 3, "{found}");
    assert!(found.what.contains("incomplete"), "{found}");
    std::fs::write(&path, b"").expect("empty");
    let found = problem(&path, &head).expect("emptied file not found");
    assert!(found.what.starts_with("truncated"), "{found}");
}

#[test]
fn a_head_that_does_not_match_is_reported() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 2);
    let saved = std::fs::read(&head).expect("head");
    // A head rolled back one record: the file holds more than it says.
    let mut old = Head::parse(&String::from_utf8_lossy(&saved)).expect("parse");
    old.count -= 1;
    std::fs::write(&head, old.to_line()).expect("write");
    let found = problem(&path, &head).expect("head mismatch not found");
    assert_eq!(found.line, 4, "{found}");
    assert!(found.what.contains("head"), "{found}");
    // A deleted head.
    std::fs::remove_file(&head).expect("rm");
    let found = problem(&path, &head).expect("missing head not found");
    assert!(found.what.contains("head is missing"), "{found}");
    // A garbage head is an error naming the file.
    std::fs::write(&head, "nonsense").expect("write");
    let error = verify(&path, &head).expect_err("garbage head accepted");
    assert!(
        error.to_string().contains("not a transcript head"),
        "{error}"
    );
}

#[test]
fn appending_after_tampering_keeps_the_evidence() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 2);
    let text = lines(&path);
    write_lines(&path, &text[..2]);
    write_runs(&path, &head, 1);
    let found = problem(&path, &head).expect("evidence lost");
    assert_eq!(found.line, 3, "{found}");
    assert!(found.what.contains("deleted"), "{found}");
    // The head deleted: the next run restarts the chain, which verify names.
    let (_dir, path, head) = files();
    write_runs(&path, &head, 1);
    std::fs::remove_file(&head).expect("rm");
    write_runs(&path, &head, 1);
    let found = problem(&path, &head).expect("restart not found");
    assert_eq!(found.line, 3, "{found}");
    assert!(found.what.contains("restarted"), "{found}");
}

#[test]
fn state_dir_and_digest() {
    let dir = cordon_policy::state_dir(Path::new("/src/app"), |name| {
        (name == "XDG_STATE_HOME").then(|| "/st".into())
    })
    .expect("state dir");
    assert!(dir.starts_with("/st/cordon"));
    assert!(
        dir.file_name()
            .expect("name")
            .to_string_lossy()
            .starts_with("app-")
    );
    assert!(line_hash(b"x").starts_with("sha256:"));
}

#[test]
fn approval_records_keep_the_contract_shape() {
    let event = Event::Approval(ApprovalEvent {
        request_id: "r1".into(),
        state: ApprovalState::Granted,
        shape: "npm install".into(),
        argv: vec!["npm".into(), "install".into()],
        executable: Some("/usr/bin/npm".into()),
        cwd: "/src/app".into(),
        decision_hash: line_hash(b"d"),
        scope: Some(ApprovalScope::Always),
        approver: Some("ada".into()),
        channel: Some("terminal".into()),
        capability_delta: vec!["network.allow registry.npmjs.org:443".into()],
        expires: None,
        reason: None,
    });
    let json = serde_json::to_value(&event).expect("json");
    assert_eq!(json["type"], "approval");
    assert_eq!(json["state"], "granted");
    assert_eq!(ApprovalState::Granted.name(), "granted");
    assert_eq!(json["scope"], "always");
    let back: Event = serde_json::from_value(json).expect("back");
    assert_eq!(back, event);
}

#[test]
fn records_written_before_an_interrupted_head_update_are_adopted() {
    let (_dir, path, head) = files();
    write_runs(&path, &head, 1);
    let saved = std::fs::read(&head).expect("head");
    write_runs(&path, &head, 1);
    // As if the second run died between its write and its head update.
    std::fs::write(&head, &saved).expect("roll back");
    assert!(problem(&path, &head).is_some());
    write_runs(&path, &head, 1);
    assert_eq!(problem(&path, &head), None);
    assert_eq!(read_records(&path).expect("records").len(), 6);
    // Lines that do not continue the chain are not adopted: the evidence stays.
    let (_dir, path, head) = files();
    write_runs(&path, &head, 1);
    let mut text = std::fs::read_to_string(&path).expect("read");
    let forged = text
        .lines()
        .last()
        .expect("a line")
        .replace("\"seq\":1", "\"seq\":2");
    text.push_str(&forged);
    text.push('\n');
    std::fs::write(&path, text).expect("write");
    write_runs(&path, &head, 1);
    let found = problem(&path, &head).expect("forged line adopted");
    assert_eq!(found.line, 3, "{found}");
}

/// The digest hashed while serializing is the hash of the policy's JSON text
/// ([`cordon_policy::Plan::write_policy_json`]).
#[test]
fn the_streamed_policy_digest_is_the_hash_of_the_policy_json() {
    let plan = digest_plan("/home/u/p", &[], "");
    let mut text = Vec::new();
    plan.write_policy_json(&mut text).unwrap();
    assert_eq!(crate::policy_digest(&plan), line_hash(&text));
}

/// A plan for project `/home/u/p` started in `cwd` with `extra` variables, under a
/// project policy file `policy` (empty: none).
fn digest_plan(cwd: &str, extra: &[(&str, &str)], policy: &str) -> cordon_policy::Plan {
    let mut env: Vec<(String, String)> = vec![
        ("HOME".into(), "/home/u".into()),
        ("PATH".into(), "/usr/bin:/bin".into()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    let context = cordon_policy::Context {
        project: "/home/u/p".into(),
        cwd: cwd.into(),
        env,
        global_policy: None,
    };
    let fs = cordon_policy::FakeFs::default()
        .dir("/home/u/p/.git")
        .dir("/home/u/p/src")
        .dir("/home/u/.ssh");
    let mut layers = cordon_policy::Layers::default();
    if !policy.is_empty() {
        layers.project = Some((
            "/home/u/p/.cordon/policy.yaml".into(),
            cordon_policy::parse_policy(
                &format!("version: 1\n{policy}"),
                std::path::Path::new("/home/u/p/.cordon/policy.yaml"),
            )
            .unwrap(),
        ));
    }
    cordon_policy::resolve(&layers, &context, &fs).unwrap()
}

/// The digest covers what the policy decides, not what the caller brought: the same
/// policy started from another directory, by another path, with other variables (a
/// token the rules remove among them) keeps its digest; a changed rule changes it.
#[test]
fn the_policy_digest_ignores_the_callers_directory_and_variables() {
    let base = crate::policy_digest(&digest_plan("/home/u/p", &[], ""));
    let elsewhere = digest_plan(
        "/home/u/p/src",
        &[
            ("_", "/usr/local/bin/cordon"),
            ("OLDPWD", "/home/u/some/where/else"),
            ("PWD", "/home/u/p/src"),
            ("SHLVL", "3"),
            ("GITHUB_TOKEN", "ghp_secret"),
        ],
        "",
    );
    assert!(elsewhere.env.iter().any(|(name, _)| name == "OLDPWD"));
    assert_eq!(elsewhere.env_removed.len(), 1);
    assert_eq!(crate::policy_digest(&elsewhere), base);
    for policy in [
        "environment:\n  deny: [\"MY_*\"]\n",
        "environment:\n  set:\n    LANG: C.UTF-8\n",
        "filesystem:\n  deny_read: [\"~/p/secrets\"]\n",
    ] {
        let changed = crate::policy_digest(&digest_plan("/home/u/p", &[], policy));
        assert_ne!(changed, base, "{policy}");
    }
}
