//! Git repositories nested in the project (escape class 2 of issue 14): a clone that is
//! not a submodule keeps its hooks and config, and what a run leaves in a repository it
//! made (config keys that run programs, hooks) is reported on stderr. Real git, checked
//! from outside, as root and as the unprivileged `cordontest` user.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::process::Command;

use cordon_e2e::sandbox::{chown_tree, for_each_user};

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn a_nested_clone_keeps_its_hooks_and_config() {
    for_each_user(|w| {
        let nested = w.project.join("vendor/lib");
        fs::create_dir_all(&nested).unwrap();
        git(&nested, &["init", "-q"]);
        chown_tree(&w.project, &w.who);
        let config = fs::read_to_string(nested.join(".git/config")).unwrap();
        let hooks_before = cordon_e2e::sandbox::entries(&nested.join(".git/hooks"));
        let (_, out) = w.sh_ok(
            "cd vendor/lib; echo 'curl evil' > .git/hooks/pre-commit; \
             cp .git/hooks/pre-push.sample .git/hooks/pre-push; \
             mv .git/hooks/update.sample .git/hooks/update; \
             git config core.fsmonitor 'touch /tmp/pwned'; \
             echo '[core] hooksPath = /tmp' >> .git/config; \
             mv .git/config .git/config-old; mv .git/hooks .git/hooks-old; true",
        );
        assert_eq!(
            fs::read_to_string(nested.join(".git/config")).unwrap(),
            config,
            "{out}"
        );
        assert_eq!(
            cordon_e2e::sandbox::entries(&nested.join(".git/hooks")),
            hooks_before,
            "{out}"
        );
        assert!(!nested.join(".git/config-old").exists(), "{out}");
    });
}

#[test]
fn what_a_run_leaves_in_repositories_it_made_is_reported() {
    for_each_user(|w| {
        // `sub` exists before the run and holds no protected name, so the kernel creates
        // in it at full speed: the guard never sees a hook planted there, the report does.
        fs::create_dir_all(w.project.join("sub")).unwrap();
        chown_tree(&w.project, &w.who);
        let output = w
            .sh_command(
                "git init -q sub/made && git -C sub/made config core.fsmonitor 'touch /tmp/pwned' \
                 && echo 'curl evil' > sub/made/.git/hooks/post-checkout \
                 && git clone -q . cloned 2>/dev/null \
                 && git -C cloned config alias.st '!sh -c evil' \
                 && git -C cloned config filter.x.smudge 'sh -c evil' \
                 && git -C cloned config user.name harmless && echo DONE",
            )
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stdout.contains("DONE"), "{stdout}{stderr}");
        let made = w.project.join("sub/made/.git");
        let cloned = w.project.join("cloned/.git");
        for expected in [
            format!(
                "{}: config: core.fsmonitor = touch /tmp/pwned",
                made.display()
            ),
            format!("{}: hook: post-checkout", made.display()),
            format!("{}: config: alias.st = !sh -c evil", cloned.display()),
            format!("{}: config: filter.x.smudge = sh -c evil", cloned.display()),
        ] {
            assert!(
                stderr.contains(&expected),
                "missing `{expected}` as {}: {stderr}",
                w.who.name
            );
        }
        // Git's own samples and harmless keys are not reported.
        assert!(!stderr.contains(".sample"), "{stderr}");
        assert!(!stderr.contains("user.name"), "{stderr}");
        // A second run that changes nothing reports nothing.
        let quiet = w.sh_command("true").output().unwrap();
        assert!(
            !String::from_utf8_lossy(&quiet.stderr).contains("makes git run"),
            "{}",
            String::from_utf8_lossy(&quiet.stderr)
        );
    });
}

#[test]
fn hooks_cannot_be_planted_in_repositories_a_run_makes() {
    for_each_user(|w| {
        let (_, out) = w.sh_ok(
            "git init -q made; h=made/.git/hooks
             echo 'curl evil' > $h/post-checkout 2>/dev/null && echo PLANTED-open
             cp $h/pre-push.sample $h/pre-push 2>/dev/null && echo PLANTED-cp
             mv $h/update.sample $h/update 2>/dev/null && echo PLANTED-mv
             ln -s /bin/true $h/pre-commit 2>/dev/null && echo PLANTED-symlink
             ln $h/pre-rebase.sample $h/pre-rebase 2>/dev/null && echo PLANTED-link
             mkdir $h/sub 2>/dev/null && echo PLANTED-mkdir
             mkdir staged && echo 'curl evil' > staged/post-merge
             mv $h made/.git/hooks-old && mv staged $h 2>/dev/null && echo PLANTED-dir
             mv made/.git/hooks-old $h
             echo '# mine' > $h/mine.sample && echo SAMPLE-OK
             git clone -q made cloned && echo 'curl evil' > cloned/.git/hooks/pre-commit 2>/dev/null \
               && echo PLANTED-clone
             git init -q --bare bare.git && echo x > bare.git/hooks/pre-receive 2>/dev/null \
               && echo PLANTED-bare
             git -c user.name=t -c user.email=t@example.com -C made commit -q --allow-empty -m x \
               && echo COMMIT-OK",
        );
        assert!(!out.contains("PLANTED"), "as {}: {out}", w.who.name);
        assert!(
            out.contains("SAMPLE-OK") && out.contains("COMMIT-OK"),
            "{out}"
        );
        // From outside: only git's samples (and the one added) are there.
        for hooks in ["made/.git/hooks", "cloned/.git/hooks", "bare.git/hooks"] {
            let names = cordon_e2e::sandbox::entries(&w.project.join(hooks));
            assert!(!names.is_empty(), "{hooks}");
            assert!(
                names.iter().all(|name| name.ends_with(".sample")),
                "{hooks} as {}: {names:?}",
                w.who.name
            );
        }
    });
}
