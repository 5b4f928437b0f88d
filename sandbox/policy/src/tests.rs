//! Resolution tests against a fake tree: layering, provenance, relaxations, mounts,
//! creation locks.

use std::path::{Path, PathBuf};

use crate::*;

fn tree() -> FakeFs {
    FakeFs::default()
        .dir("/home/u/.ssh")
        .file("/home/u/.bashrc", "")
        .dir("/p/.git/hooks")
        .file("/p/.git/config", "")
        .dir("/p/.git/objects")
        .dir("/p/src")
        .dir("/p/build")
        .file("/p/.env", "")
        .file("/p/.env.local", "")
        .file("/p/.vscode", "")
        .dir("/data/shared/inner")
        .dir("/sys/kernel/debug")
}

fn context() -> Context {
    Context {
        project: PathBuf::from("/p"),
        cwd: PathBuf::from("/p/src"),
        env: vec![
            ("HOME".into(), "/home/u".into()),
            ("PATH".into(), "/usr/bin".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "s".into()),
            ("GITHUB_TOKEN".into(), "t".into()),
        ],
        global_policy: Some(PathBuf::from("/home/u/.config/cordon/policy.yaml")),
    }
}

fn policy(text: &str) -> PolicyFile {
    parse_policy(text, Path::new("test.yaml")).unwrap()
}

fn bind(plan: &Plan, path: &str) -> Option<bool> {
    plan.mounts.iter().find_map(|mount| match mount {
        Mount::Bind {
            path: at, writable, ..
        } if at == Path::new(path) => Some(*writable),
        _ => None,
    })
}

fn hidden(plan: &Plan, path: &str) -> bool {
    plan.mounts.iter().any(|mount| match mount {
        Mount::HideDir { path: at, .. } | Mount::HideFile { path: at, .. } => at == Path::new(path),
        _ => false,
    })
}

#[test]
fn defaults_hide_secrets_bind_the_project_and_protect_git() {
    let plan = resolve(&Layers::default(), &context(), &tree()).unwrap();
    assert_eq!(bind(&plan, "/p"), Some(true));
    assert_eq!(bind(&plan, "/p/.git/hooks"), Some(false));
    assert_eq!(bind(&plan, "/p/.git/config"), Some(false));
    assert_eq!(bind(&plan, "/p/.vscode"), Some(false));
    assert!(hidden(&plan, "/home/u/.ssh"));
    assert!(hidden(&plan, "/p/.env"));
    assert!(hidden(&plan, "/p/.env.local"));
    assert!(hidden(&plan, "/sys/kernel/debug"));
    // The home directory is read-only anyway: no bind for ~/.bashrc.
    assert_eq!(bind(&plan, "/home/u/.bashrc"), None);
    assert_eq!(plan.network.mode, NetworkMode::None);
    assert!(!plan.seccomp.allow_unix_sockets);
    let names: Vec<&str> = plan.env.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["HOME", "PATH"]);
    assert_eq!(plan.env_removed.len(), 2);
}

#[test]
fn missing_denied_paths_lock_creation_in_their_directory() {
    let plan = resolve(&Layers::default(), &context(), &tree()).unwrap();
    let root = plan
        .landlock
        .no_create
        .iter()
        .find(|lock| lock.dir == Path::new("/p"))
        .unwrap();
    assert!(root.because.contains(&PathBuf::from("/p/.mcp.json")));
    // Existing subdirectories keep every right; the project root itself does not.
    assert!(plan.landlock.write.contains(&PathBuf::from("/p/src")));
    assert!(plan.landlock.write.contains(&PathBuf::from("/p/.git")));
    assert!(!plan.landlock.write.contains(&PathBuf::from("/p")));
    assert!(plan.landlock.write.contains(&PathBuf::from("/tmp")));
}

#[test]
fn project_relaxations_need_the_global_policys_permission() {
    let layers = Layers {
        project: Some((
            PathBuf::from("/p/.cordon/policy.yaml"),
            policy(
                "version: 1\nfilesystem:\n  allow_read: ['~/.ssh']\n  allow_write: [/data/shared]\nnetwork: {mode: host}\nenvironment: {allow: [GITHUB_TOKEN]}\n",
            ),
        )),
        ..Layers::default()
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    assert!(hidden(&plan, "/home/u/.ssh"));
    assert_eq!(bind(&plan, "/data/shared"), None);
    assert_eq!(plan.network.mode, NetworkMode::None);
    assert!(plan.env.iter().all(|(n, _)| n != "GITHUB_TOKEN"));
    let refused: Vec<&str> = plan
        .relaxations
        .iter()
        .filter(|r| !r.granted)
        .map(|r| r.what.as_str())
        .collect();
    assert_eq!(
        refused,
        [
            "read /home/u/.ssh",
            "write /data/shared",
            "network host",
            "env GITHUB_TOKEN"
        ]
    );

    let layers = Layers {
        global: Some((
            PathBuf::from("/home/u/.config/cordon/policy.yaml"),
            policy("version: 1\nproject_may_relax: [/data]\n"),
        )),
        ..layers
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    assert_eq!(bind(&plan, "/data/shared"), Some(true));
    let granted = plan
        .relaxations
        .iter()
        .find(|r| r.what == "write /data/shared")
        .unwrap();
    assert!(granted.granted);
    assert_eq!(granted.by.layer, Layer::Project);
}

#[test]
fn relaxations_name_the_line_and_column_that_asked_for_them() {
    let project = "/p/.cordon/policy.yaml";
    let layers = Layers {
        global: Some((
            PathBuf::from("/g.yaml"),
            policy("version: 1\ndangerously_unprotect:\n  - /nowhere\n"),
        )),
        project: Some((
            PathBuf::from(project),
            policy(concat!(
                "version: 1\n",
                "filesystem:\n",
                "  allow_read:\n",
                "    - '~/.ssh'\n",
                "  allow_write: [build, /data/shared]\n",
                "environment:\n",
                "  allow: [GITHUB_TOKEN]\n",
                "approvals:\n",
                "  shell: allow\n",
                "network:\n",
                "  mode: host\n",
                "sockets: {unix: true}\n",
            )),
        )),
        ..Layers::default()
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    let origin = |what: &str| -> String {
        let relaxation = plan.relaxations.iter().find(|r| r.what == what);
        relaxation
            .unwrap_or_else(|| panic!("no relaxation {what} in {:#?}", plan.relaxations))
            .by
            .origin
            .clone()
    };
    assert_eq!(origin("read /home/u/.ssh"), format!("{project}:4:7"));
    assert_eq!(origin("write /data/shared"), format!("{project}:5:24"));
    assert_eq!(origin("env GITHUB_TOKEN"), format!("{project}:7:11"));
    assert_eq!(origin("approvals shell allow"), format!("{project}:9:3"));
    assert_eq!(origin("network host"), format!("{project}:11:9"));
    assert_eq!(origin("sockets unix"), format!("{project}:12:10"));
    assert_eq!(
        origin("mandatory write denial /nowhere"),
        "/g.yaml:3:5",
        "the escape hatch names its line too"
    );
    // The rules themselves keep naming the file (`cordon policy explain` groups by it).
    let rule = plan
        .rules
        .iter()
        .find(|rule| rule.path == Path::new("/p/build"))
        .unwrap();
    assert_eq!(rule.from.origin, project);
}

#[test]
fn most_specific_wins_and_deny_wins_ties() {
    let layers = Layers {
        flags: policy(
            "version: 1\nfilesystem:\n  allow_write: [/data/shared, /data/shared/inner]\n  deny_write: [/data/shared/inner]\n",
        ),
        ..Layers::default()
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    assert_eq!(bind(&plan, "/data/shared"), Some(true));
    assert_eq!(bind(&plan, "/data/shared/inner"), Some(false));
    let text = plan.to_string();
    assert!(
        text.contains("bind rw /data/shared  <- flags (command line)"),
        "{text}"
    );
}

#[test]
fn mandatory_denials_resist_every_layer_but_the_escape_hatch() {
    let layers = Layers {
        flags: policy("version: 1\nfilesystem:\n  allow_write: [.git/hooks]\n"),
        ..Layers::default()
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    assert_eq!(bind(&plan, "/p/.git/hooks"), Some(false));
    assert!(
        plan.relaxations
            .iter()
            .any(|r| !r.granted && r.reason.contains("mandatory"))
    );

    let layers = Layers {
        global: Some((
            PathBuf::from("/g.yaml"),
            policy("version: 1\ndangerously_unprotect: [/p/.git/hooks]\n"),
        )),
        ..layers
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    assert_eq!(bind(&plan, "/p/.git/hooks"), None);
    assert!(
        plan.relaxations
            .iter()
            .any(|r| r.granted && r.what.contains(".git/hooks"))
    );
}

#[test]
fn global_only_keys_and_proxy_are_rejected_elsewhere() {
    let layers = Layers {
        project: Some((
            PathBuf::from("/p/.cordon/policy.yaml"),
            policy("version: 1\nproject_may_relax: [/]\n"),
        )),
        ..Layers::default()
    };
    let error = resolve(&layers, &context(), &tree()).unwrap_err();
    assert!(
        error.to_string().contains("only allowed in the global"),
        "{error}"
    );
    let mut flags = policy("version: 1\nnetwork: {allow: [crates.io]}\n");
    flags.network.as_mut().unwrap().mode = Some(NetworkMode::Proxy);
    let layers = Layers {
        flags,
        ..Layers::default()
    };
    let resolved = resolve(&layers, &context(), &tree());
    if network::PROXY_MODE_ENFORCED {
        assert_eq!(resolved.unwrap().network.mode, NetworkMode::Proxy);
    } else {
        let error = resolved.unwrap_err();
        assert!(error.to_string().contains("not implemented yet"), "{error}");
        let error =
            parse_policy("version: 1\nnetwork: {mode: proxy}\n", Path::new("p.yaml")).unwrap_err();
        assert!(error.to_string().contains("not implemented yet"), "{error}");
    }
}

#[test]
fn plan_prints_and_serializes_without_secret_values() {
    let mut ctx = context();
    ctx.env.push(("SAFE".into(), "visible-value".into()));
    let plan = resolve(&Layers::default(), &ctx, &tree()).unwrap();
    let json = plan.to_json();
    assert!(!json.contains("visible-value"));
    assert!(json.contains("\"no_create\""));
    let text = plan.to_string();
    assert!(
        text.contains("deny  read  /home/u/.ssh  <- default (built-in)"),
        "{text}"
    );
    assert!(text.contains("[mandatory]"));
}

#[test]
fn home_root_and_their_ancestors_are_refused_as_projects_unless_allowed() {
    let fs = tree().dir("/home/u/.local/bin").dir("/home/u/.config");
    for project in ["/home/u", "/home", "/"] {
        let ctx = Context {
            project: PathBuf::from(project),
            cwd: PathBuf::from(project),
            ..context()
        };
        let error = resolve(&Layers::default(), &ctx, &fs).unwrap_err();
        assert!(
            error.to_string().contains("--allow-home-project"),
            "{project}: {error}"
        );
        // A project's own file cannot allow it.
        let layers = Layers {
            project: Some((
                PathBuf::from("/p/.cordon/policy.yaml"),
                policy("version: 1\nallow_home_project: true\n"),
            )),
            ..Layers::default()
        };
        assert!(resolve(&layers, &ctx, &fs).is_err(), "{project}");
    }
    let ctx = Context {
        project: PathBuf::from("/home/u"),
        cwd: PathBuf::from("/home/u"),
        ..context()
    };
    let layers = Layers {
        flags: policy("version: 1\nallow_home_project: true\n"),
        ..Layers::default()
    };
    let plan = resolve(&layers, &ctx, &fs).unwrap();
    assert_eq!(bind(&plan, "/home/u"), Some(true));
    // Persistence places stay read-only, the missing ones cannot be created.
    assert_eq!(bind(&plan, "/home/u/.local/bin"), Some(false));
    let locked: Vec<&Path> = plan
        .landlock
        .no_create
        .iter()
        .filter(|lock| {
            lock.because
                .contains(&PathBuf::from("/home/u/.config/systemd"))
        })
        .map(|lock| lock.dir.as_path())
        .collect();
    assert!(locked.contains(&Path::new("/home/u/.config")), "{locked:?}");
    // A directory below the home directory is an ordinary project.
    let ctx = Context {
        project: PathBuf::from("/home/u/src"),
        cwd: PathBuf::from("/home/u/src"),
        ..context()
    };
    assert!(resolve(&Layers::default(), &ctx, &fs.dir("/home/u/src")).is_ok());
}

#[test]
fn protect_entries_add_mandatory_denials_with_their_reason() {
    let layers = Layers {
        global: Some((
            PathBuf::from("/home/u/.config/cordon/policy.yaml"),
            policy(
                "version: 1\nprotect:\n  - path: .tool-versions\n    reason: asdf installs what it names\n",
            ),
        )),
        project: Some((
            PathBuf::from("/p/.cordon/policy.yaml"),
            policy("version: 1\nfilesystem:\n  allow_write: [.tool-versions]\n"),
        )),
        ..Layers::default()
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    let rule = plan
        .rules
        .iter()
        .find(|rule| rule.path == Path::new("/p/.tool-versions"))
        .unwrap();
    assert!(rule.mandatory && rule.effect == Effect::Deny);
    assert_eq!(rule.reason.as_deref(), Some("asdf installs what it names"));
    assert!(
        plan.relaxations
            .iter()
            .any(|r| !r.granted && r.what == "write /p/.tool-versions")
    );
    // Missing: the guard refuses to create it.
    assert!(
        plan.landlock
            .no_create
            .iter()
            .any(|lock| lock.because.contains(&PathBuf::from("/p/.tool-versions")))
    );
    // The built-in rules say why.
    let claude = plan
        .rules
        .iter()
        .find(|rule| rule.path == Path::new("/p/.claude"))
        .unwrap();
    assert!(claude.reason.as_deref().unwrap().contains("CVE-2026-25725"));
}

#[test]
fn a_missing_allowed_write_path_is_to_be_created_not_ignored() {
    let layers = Layers {
        global: Some((
            PathBuf::from("/home/u/.config/cordon/policy.yaml"),
            policy("version: 1\nproject_may_relax: [~/.cache]\n"),
        )),
        project: Some((
            PathBuf::from("/p/.cordon/policy.yaml"),
            policy(
                "version: 1\nfilesystem:\n  allow_write: [~/.cache/myproj, build/new, ~/.other]\n  allow_read: [~/.nothing]\n",
            ),
        )),
        ..Layers::default()
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    let created: Vec<&Path> = plan.create.iter().map(|c| c.path.as_path()).collect();
    // Granted below project_may_relax; inside the project the command creates it
    // itself; a refused relaxation creates nothing.
    assert_eq!(created, [Path::new("/home/u/.cache/myproj")]);
    assert_eq!(plan.create[0].by.layer, Layer::Project);
    assert!(plan.to_string().contains("`cordon run` creates it"));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("/home/u/.nothing does not exist"))
    );
}

#[test]
fn nested_repositories_are_protected_like_the_projects_own() {
    let fs = tree()
        .dir("/p/vendor/lib/.git/hooks")
        .file("/p/vendor/lib/.git/config", "[core]\n")
        .dir("/p/clone/.git");
    let plan = resolve(&Layers::default(), &context(), &fs).unwrap();
    assert_eq!(
        plan.nested_git.git_dirs,
        [
            PathBuf::from("/p/clone/.git"),
            PathBuf::from("/p/vendor/lib/.git")
        ]
    );
    assert!(plan.nested_git.complete);
    assert_eq!(bind(&plan, "/p/vendor/lib/.git/hooks"), Some(false));
    assert_eq!(bind(&plan, "/p/vendor/lib/.git/config"), Some(false));
    // Missing in the clone: their directory is locked, as for the project's own.
    let lock = plan
        .landlock
        .no_create
        .iter()
        .find(|lock| lock.dir == Path::new("/p/clone/.git"))
        .unwrap();
    assert!(lock.because.contains(&PathBuf::from("/p/clone/.git/hooks")));
    assert!(
        plan.to_string()
            .contains("nested git repositories: /p/clone/.git")
    );
}

#[test]
fn linked_worktrees_are_followed_to_their_git_directories() {
    // A worktree inside the project whose repository lives outside it, and the project
    // itself a linked worktree of another repository.
    let fs = tree()
        .file("/p/wt/.git", "gitdir: /repo/.git/worktrees/wt\n")
        .file("/repo/.git/worktrees/wt/commondir", "../..\n")
        .dir("/repo/.git/hooks")
        .file("/repo/.git/config", "[core]\n")
        .file("/p/.git", "gitdir: ../main/.git/worktrees/p\n")
        .file("/main/.git/worktrees/p/commondir", "../..\n")
        .dir("/main/.git/hooks");
    let plan = resolve(&Layers::default(), &context(), &fs).unwrap();
    let found: Vec<&Path> = plan
        .nested_git
        .git_dirs
        .iter()
        .map(PathBuf::as_path)
        .collect();
    for expected in [
        "/repo/.git/worktrees/wt",
        "/repo/.git",
        "/main/.git/worktrees/p",
        "/main/.git",
    ] {
        assert!(
            found.contains(&Path::new(expected)),
            "{expected} not in {found:?}"
        );
    }
    assert!(
        plan.rules
            .iter()
            .any(|rule| rule.mandatory && rule.path == Path::new("/repo/.git/hooks"))
    );
    assert!(
        plan.rules.iter().any(|rule| rule.mandatory
            && rule.path == Path::new("/main/.git/worktrees/p/config.worktree"))
    );
}

#[test]
fn why_names_the_rule_and_the_key_that_would_allow_it() {
    let layers = Layers {
        global: Some((
            PathBuf::from("/home/u/.config/cordon/policy.yaml"),
            policy("version: 1\nfilesystem:\n  deny_write: [vendor]\n"),
        )),
        ..Layers::default()
    };
    let plan = resolve(&layers, &context(), &tree()).unwrap();
    let why = plan.why(Path::new("/p/.claude/settings.json"), Access::Write);
    assert!(why.contains("denied by `/p/.claude`"), "{why}");
    assert!(why.contains("CVE-2026-25725"), "{why}");
    assert!(why.contains("dangerously_unprotect: [/p/.claude]"), "{why}");
    let why = plan.why(Path::new("/home/u/.ssh/id_rsa"), Access::Read);
    assert!(why.contains("allow_read: [/home/u/.ssh/id_rsa]"), "{why}");
    let why = plan.why(Path::new("/etc/passwd"), Access::Write);
    assert!(why.contains("--allow-write /etc/passwd"), "{why}");
    let why = plan.why(Path::new("/p/vendor/x"), Access::Write);
    assert!(why.contains("deny_write` of global"), "{why}");
    let why = plan.why(Path::new("/p/src/main.rs"), Access::Write);
    assert!(
        why.starts_with("write /p/src/main.rs: allowed by `/p`"),
        "{why}"
    );
}

#[test]
fn cordons_state_and_config_directories_are_never_writable_even_missing() {
    let mut context = context();
    context
        .env
        .push(("XDG_STATE_HOME".into(), "/p/build/state".into()));
    context
        .env
        .push(("XDG_CONFIG_HOME".into(), "/xdg/config".into()));
    let plan = resolve(&Layers::default(), &context, &tree()).unwrap();
    for path in [
        "/p/build/state/cordon",
        "/home/u/.local/state/cordon",
        "/xdg/config/cordon",
        "/home/u/.config/cordon",
    ] {
        let rule = plan
            .rules
            .iter()
            .find(|rule| rule.path == Path::new(path) && rule.access == Access::Write)
            .unwrap_or_else(|| panic!("no rule for {path}"));
        assert!(
            rule.mandatory && rule.effect == Effect::Deny,
            "{path}: {rule:?}"
        );
        assert!(
            rule.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("cordon: ")),
            "{path}: {rule:?}"
        );
    }
    // Missing below a writable directory: its creation is locked there.
    let lock = plan
        .landlock
        .no_create
        .iter()
        .find(|lock| lock.dir == Path::new("/p/build"))
        .expect("a creation lock in /p/build");
    assert!(
        lock.because
            .contains(&PathBuf::from("/p/build/state/cordon")),
        "{lock:?}"
    );
    let why = plan.why(
        Path::new("/p/build/state/cordon/app-1/transcript.jsonl"),
        Access::Write,
    );
    assert!(why.contains("denied"), "{why}");
}
