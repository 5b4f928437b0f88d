//! The negative corpus (issue 13, research §2.2 and §3.5) against the real parser,
//! matcher, hash and store: no row may be auto-approved.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use crate::{Decision, RequestState, Shape, Store, StoreError, Verdict, shape};

const PATH: &str = "/usr/bin:/bin";
const POLICY: &str = "sha256:policy-a";

fn argv(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn shape_of(words: &[&str]) -> Shape {
    shape(&argv(words), Path::new("/"), Some(OsStr::new(PATH)))
}

fn now() -> Timestamp {
    Timestamp::now()
}

/// A store with `words` approved "always" through a real request.
fn approve_always(store: &Store, words: &[&str]) {
    let shape = shape_of(words);
    assert!(shape.cacheable(), "{words:?}: {:?}", shape.uncacheable);
    let hash = shape.decision_hash(Path::new("/"), POLICY);
    let request = store
        .file_request(
            &shape,
            Path::new("/"),
            &hash,
            Vec::new(),
            now(),
            SignedDuration::from_mins(10),
        )
        .unwrap();
    store
        .decide(&request.request_id, Decision::Always, "ada", "cli")
        .unwrap();
}

fn verdict(store: &Store, words: &[&str]) -> Verdict {
    let shape = shape_of(words);
    let hash = shape.decision_hash(Path::new("/"), POLICY);
    store.evaluate(&shape, &hash, now()).unwrap()
}

#[test]
fn an_always_approval_covers_its_shape_and_nothing_chained_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    approve_always(&store, &["git", "status"]);
    assert!(matches!(
        verdict(&store, &["git", "status"]),
        Verdict::Always(_)
    ));
    for words in [
        &["sh", "-c", "git status; rm -rf ~"][..],
        &["sh", "-c", "git status && rm -rf x"],
        &["sh", "-c", "git status | sh"],
        &["git", "status", "--porcelain"],
        &["git", "-C", "/tmp", "status"],
        &["git", "-c", "core.pager=sh -c id", "status"],
        &["env", "-S", "git status"],
        &["PAGER=x", "git", "status"],
        &["timeout", "5", "git", "status"],
        &["/bin/sh", "-c", "git status\rrm -rf ~"],
        &["sh", "-c", "git${IFS}status"],
        &["sh", "-c", "git status `rm -rf ~`"],
        &["sh", "-c", "git status $(rm -rf ~)"],
        &["sh", "-c", "git status <<EOF\nx\nEOF"],
        &["sh", "-c", "git status \\\n; rm -rf ~"],
        &["git", "status\u{200b}"],
        &["git\u{202e}", "status"],
        &["git", "sta\u{0}tus"],
    ] {
        assert_eq!(
            verdict(&store, words),
            Verdict::Ask,
            "{words:?} was covered"
        );
    }
}

#[test]
fn the_corpus_is_never_cacheable() {
    let long = "x".repeat(5000);
    for words in [
        &["git", "-c", "core.pager=less", "log"][..],
        &["git", "--config-env=core.pager=P", "log"],
        &["git", "--exec-path=/tmp", "status"],
        &["git", "fetch", "--upload-pack=sh -c id"],
        &["env", "-S", "rm -rf ~"],
        &["env", "--split-string=rm -rf ~"],
        &["env", "-vS", "rm"],
        &["sh", "-c", "echo $(id)"],
        &["sh", "-c", "echo `id`"],
        &["bash", "-c", "cat <<EOF\nx\nEOF"],
        &["sh", "-c", "ls\r"],
        &["sh", "-c", "ls${IFS}-la"],
        &["sh", "-c", "IFS=, ; ls"],
        &["sh", "-c", "r\\m -rf x"],
        &["bash", "-c", "ls", "extra"],
        &["bash", "script.sh"],
        &["bash"],
        &["python3", "-c", "print(1)"],
        &["python3", "-Wd", "-c", "print(1)"],
        &["node", "-e", "1"],
        &["perl", "-ne", "print"],
        &["ruby", "-e", "1"],
        &["python3"],
        &["sudo", "ls"],
        &["su", "-c", "ls"],
        &["doas", "ls"],
        &["xargs", "rm"],
        &["timeout", "5", "sudo", "ls"],
        &["env", "bash", "-c", "echo $HOME"],
        &["find", ".", "-exec", "rm", "{}", ";"],
        &["find", ".", "-execdir", "sh", "-c", "x", ";"],
        &["find", ".", "-ok", "rm", "{}", ";"],
        &["find", ".", "-delete"],
        &["awk", "BEGIN{system(\"id\")}"],
        &["ls", "\u{2066}"],
        &["ls", "a\u{feff}"],
        &["echo", "$(id)"],
        &["definitely-not-a-program-cordon"],
        &["ls", &long],
    ] {
        let shape = shape_of(words);
        assert!(!shape.cacheable(), "{words:?} was cacheable: {shape:?}");
    }
    let non_utf8 = vec![
        OsString::from("ls"),
        std::os::unix::ffi::OsStringExt::from_vec(vec![0xff]),
    ];
    assert!(!shape(&non_utf8, Path::new("/"), Some(OsStr::new(PATH))).cacheable());
}

#[test]
fn plain_shapes_are_cacheable_and_resolved() {
    let shape = shape_of(&["LANG=C", "timeout", "5", "ls", "-l"]);
    assert!(shape.cacheable(), "{:?}", shape.uncacheable);
    let command = &shape.commands[0];
    assert_eq!(command.tokens, ["ls", "-l"]);
    assert_eq!(command.assignments, ["LANG=C"]);
    assert!(command.executable.as_deref().unwrap().ends_with("/ls"));
    let script = shape_of(&["bash", "-c", "cd src && ls -l | wc -l"]);
    assert!(script.cacheable(), "{:?}", script.uncacheable);
    assert_eq!(script.commands.len(), 3);
    assert_eq!(script.commands[0].executable.as_deref(), Some("builtin cd"));
    assert!(
        script
            .commands
            .iter()
            .all(|c| c.via.as_deref().is_some_and(|v| v.ends_with("bash")))
    );
    assert!(shape_of(&["python3", "tool.py", "--flag"]).cacheable());
}

#[test]
fn uncacheable_calls_can_be_granted_once_only_and_only_for_their_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let words = ["git", "-c", "core.pager=less", "log"];
    let shape = shape_of(&words);
    let hash = shape.decision_hash(Path::new("/"), POLICY);
    let request = store
        .file_request(
            &shape,
            Path::new("/"),
            &hash,
            Vec::new(),
            now(),
            SignedDuration::from_mins(10),
        )
        .unwrap();
    assert_eq!(store.evaluate(&shape, &hash, now()).unwrap(), Verdict::Ask);
    let refused = store.decide(&request.request_id, Decision::Always, "ada", "cli");
    assert!(
        matches!(refused, Err(StoreError::NotCacheable { .. })),
        "{refused:?}"
    );
    store
        .decide(&request.request_id, Decision::Once, "ada", "cli")
        .unwrap();
    assert!(matches!(
        store.evaluate(&shape, &hash, now()).unwrap(),
        Verdict::Once(_)
    ));
    // Another cwd, another policy digest: another hash, not covered.
    let elsewhere = shape.decision_hash(Path::new("/tmp"), POLICY);
    assert_eq!(
        store.evaluate(&shape, &elsewhere, now()).unwrap(),
        Verdict::Ask
    );
    let other_policy = shape.decision_hash(Path::new("/"), "sha256:policy-b");
    assert_eq!(
        store.evaluate(&shape, &other_policy, now()).unwrap(),
        Verdict::Ask
    );
    // Used: forgotten, so the next run asks again.
    store.forget(&request.request_id).unwrap();
    assert_eq!(store.evaluate(&shape, &hash, now()).unwrap(), Verdict::Ask);
    // Answered twice: refused.
    let again = store.decide(&request.request_id, Decision::Once, "ada", "cli");
    assert!(
        matches!(again, Err(StoreError::NoSuchRequest(_))),
        "{again:?}"
    );
}

#[test]
fn a_denied_request_denies_its_reruns_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let shape = shape_of(&["ls"]);
    let hash = shape.decision_hash(Path::new("/"), POLICY);
    let request = store
        .file_request(
            &shape,
            Path::new("/"),
            &hash,
            Vec::new(),
            now(),
            SignedDuration::from_mins(10),
        )
        .unwrap();
    let decided = store
        .decide(&request.request_id, Decision::Deny, "ada", "cli")
        .unwrap();
    assert_eq!(decided.request.state, RequestState::Denied);
    assert!(matches!(
        store.evaluate(&shape, &hash, now()).unwrap(),
        Verdict::Denied(_)
    ));
    let later = now() + SignedDuration::from_mins(11);
    assert_eq!(store.evaluate(&shape, &hash, later).unwrap(), Verdict::Ask);
}

#[test]
fn an_expired_request_cannot_be_approved() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let shape = shape_of(&["ls"]);
    let hash = shape.decision_hash(Path::new("/"), POLICY);
    let then = now() - SignedDuration::from_mins(11);
    let request = store
        .file_request(
            &shape,
            Path::new("/"),
            &hash,
            Vec::new(),
            then,
            crate::DEFAULT_REQUEST_TTL,
        )
        .unwrap();
    let result = store.decide(&request.request_id, Decision::Once, "ada", "cli");
    assert!(
        matches!(result, Err(StoreError::Expired { .. })),
        "{result:?}"
    );
    assert!(
        store.requests().unwrap().is_empty(),
        "the expired request stayed"
    );
    // A once-grant that expires unused stops covering.
    let request = store
        .file_request(
            &shape,
            Path::new("/"),
            &hash,
            Vec::new(),
            now(),
            SignedDuration::from_mins(10),
        )
        .unwrap();
    store
        .decide(&request.request_id, Decision::Once, "ada", "cli")
        .unwrap();
    let later = now() + SignedDuration::from_mins(11);
    assert_eq!(store.evaluate(&shape, &hash, later).unwrap(), Verdict::Ask);
    assert_eq!(store.sweep(later).unwrap().len(), 1);
}

#[test]
fn an_always_approval_expires_and_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    approve_always(&store, &["ls", "-l"]);
    let shape = shape_of(&["ls", "-l"]);
    let hash = shape.decision_hash(Path::new("/"), POLICY);
    let far = now() + crate::DEFAULT_APPROVAL_TTL + SignedDuration::from_mins(1);
    assert_eq!(store.evaluate(&shape, &hash, far).unwrap(), Verdict::Ask);
    let approvals = store.approvals().unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].approver, "ada");
    store.remove(&approvals[0].id).unwrap();
    assert_eq!(verdict(&store, &["ls", "-l"]), Verdict::Ask);
    assert!(matches!(
        store.remove("nope"),
        Err(StoreError::NoSuchApproval(_))
    ));
}

#[test]
fn the_store_is_owner_only_and_a_broken_store_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    approve_always(&store, &["ls"]);
    let mode = std::fs::metadata(store.approvals_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(store.approvals_path()).unwrap();
    // Truncated, an unknown field, a wrong version: each is refused with file and place.
    for (broken, line) in [
        (text[..text.len() / 2].to_owned(), None),
        (
            text.replacen("\"approvals\"", "\"approvals_x\"", 1),
            Some(3),
        ),
        (
            text.replacen("\"version\": 1", "\"version\": 2", 1),
            Some(1),
        ),
    ] {
        std::fs::write(store.approvals_path(), &broken).unwrap();
        let shape = shape_of(&["ls"]);
        let error = store
            .evaluate(&shape, &shape.decision_hash(Path::new("/"), POLICY), now())
            .unwrap_err();
        let StoreError::Parse { path, line: at, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(path, &store.approvals_path());
        if let Some(line) = line {
            assert_eq!(*at, line, "{error}");
        }
        assert!(error.to_string().contains("approvals.json:"), "{error}");
    }
}

#[test]
fn a_changed_executable_or_cwd_is_not_covered() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    approve_always(&store, &["ls"]);
    // A `ls` earlier in PATH: another executable, another shape.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("ls");
    std::fs::write(&fake, "#!/bin/sh\nexec rm -rf ~\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{PATH}", bin.path().display());
    let shadowed = shape(&argv(&["ls"]), Path::new("/"), Some(OsStr::new(&path)));
    assert!(
        shadowed
            .executable
            .as_deref()
            .unwrap()
            .starts_with(&*bin.path().canonicalize().unwrap().to_string_lossy())
    );
    let hash = shadowed.decision_hash(Path::new("/"), POLICY);
    assert_eq!(
        store.evaluate(&shadowed, &hash, now()).unwrap(),
        Verdict::Ask
    );
    // The decision hash moves with cwd, executable and policy.
    let plain = shape_of(&["ls"]);
    let base = plain.decision_hash(Path::new("/"), POLICY);
    assert_ne!(base, plain.decision_hash(Path::new("/tmp"), POLICY));
    assert_ne!(base, hash);
    assert_ne!(base, plain.decision_hash(Path::new("/"), "sha256:other"));
    assert!(base.starts_with("sha256:") && base.len() == 71);
}

#[test]
fn request_ids_cannot_name_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    for id in ["../approvals", "", "ABCDEF0123", "x"] {
        assert!(
            matches!(store.request(id), Err(StoreError::BadId(_))),
            "{id:?}"
        );
    }
}

/// The gate's one pass over the requests removes and returns the expired ones and
/// decides from the rest as `evaluate` would.
#[test]
fn sweeping_and_evaluating_in_one_pass_agrees_with_the_two_steps() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (ls, true_shape) = (shape_of(&["ls"]), shape_of(&["true"]));
    let (ls_hash, true_hash) = (
        ls.decision_hash(Path::new("/"), POLICY),
        true_shape.decision_hash(Path::new("/"), POLICY),
    );
    let file = |shape, hash: &str, created, minutes| {
        store
            .file_request(
                shape,
                Path::new("/"),
                hash,
                Vec::new(),
                created,
                SignedDuration::from_mins(minutes),
            )
            .unwrap()
    };
    let expired = file(&ls, &ls_hash, now() - SignedDuration::from_mins(20), 10);
    let granted = file(&true_shape, &true_hash, now(), 10);
    store
        .decide(&granted.request_id, Decision::Once, "ada", "cli")
        .unwrap();
    let (gone, verdict) = store
        .sweep_and_evaluate(&true_shape, &true_hash, now())
        .unwrap();
    assert_eq!(
        gone.iter().map(|r| &r.request_id).collect::<Vec<_>>(),
        [&expired.request_id]
    );
    assert!(matches!(verdict, Verdict::Once(ref r) if r.request_id == granted.request_id));
    assert_eq!(store.requests().unwrap().len(), 1, "the expired one stayed");
    let (gone, verdict) = store.sweep_and_evaluate(&ls, &ls_hash, now()).unwrap();
    assert!(gone.is_empty());
    assert_eq!(verdict, Verdict::Ask);
}
