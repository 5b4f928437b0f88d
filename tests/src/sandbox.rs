//! Helpers for the sandbox's escape and usability suites: a throw-away world (a fake
//! home with canary secrets and start-up files, a git project, a directory outside the
//! project) owned by the user the test runs cordon as (root, or the unprivileged
//! `cordontest`), and a way to run `cordon run` in it.
//!
//! Every check is made from outside: the test (root) reads the host's files after the
//! sandboxed command ended.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::binary;

/// The unprivileged account the suites also run as.
pub const TEST_USER: &str = "cordontest";
/// Canary content planted in secrets; it must never appear in a sandbox's output.
pub const CANARY: &str = "CANARY-7f3a9c";
/// A Python every user can run.
pub const PYTHON: &str = "/usr/bin/python3";

/// Who runs cordon.
#[derive(Debug, Clone)]
pub struct Who {
    /// Account name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

fn id_of(name: &str) -> Option<(u32, u32)> {
    let read = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, name]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((read("-u")?, read("-g")?))
}

/// Root, and the unprivileged test user (created with `useradd` when missing). When
/// the user cannot exist here, says so on stderr and returns root only.
pub fn users() -> Vec<Who> {
    let mut out = vec![Who {
        name: "root".into(),
        uid: 0,
        gid: 0,
    }];
    if id_of(TEST_USER).is_none() {
        let _ = Command::new("useradd").args(["-m", TEST_USER]).status();
    }
    match id_of(TEST_USER) {
        Some((uid, gid)) => out.push(Who {
            name: TEST_USER.into(),
            uid,
            gid,
        }),
        None => eprintln!(
            "SKIP unprivileged half: user {TEST_USER} does not exist and `useradd -m {TEST_USER}` failed (not root?)"
        ),
    }
    out
}

/// A world for one test and one user.
#[derive(Debug)]
pub struct World {
    _dir: tempfile::TempDir,
    /// The fake home (with `.ssh/id_rsa`, `.aws/credentials`, `.bashrc`, `.gitconfig`).
    pub home: PathBuf,
    /// The project: a git repository with one commit, `src/hello.c`, `build/`, `.env`.
    pub project: PathBuf,
    /// A directory outside the project, writable by the user on the host.
    pub outside: PathBuf,
    /// Who runs cordon.
    pub who: Who,
    cordon: PathBuf,
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

/// The names in `dir`, sorted (to show that nothing appeared on the host).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|entry| {
            entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// cordon's state directory for the one project a test ran below `home`
/// (`$HOME/.local/state/cordon/<project>-<hash>`: transcript, approvals, network log).
pub fn state_dir(home: &Path) -> PathBuf {
    let state = home.join(".local/state/cordon");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&state)
        .unwrap_or_else(|e| panic!("{}: {e}", state.display()))
        .map(|entry| entry.expect("dir entry").path())
        .collect();
    assert_eq!(dirs.len(), 1, "one project's state directory: {dirs:?}");
    dirs.pop().expect("one")
}

/// Gives `path` and everything below it to `who`.
pub fn chown_tree(path: &Path, who: &Who) {
    std::os::unix::fs::lchown(path, Some(who.uid), Some(who.gid)).expect("chown");
    if path.is_dir() && !path.is_symlink() {
        for entry in fs::read_dir(path).expect("readdir") {
            chown_tree(&entry.expect("entry").path(), who);
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("git");
    assert!(status.success(), "git {args:?}");
}

impl World {
    /// Plants everything for `who`.
    pub fn new(who: &Who) -> World {
        let dir = tempfile::Builder::new()
            .prefix("cordon-e2e-")
            .tempdir_in("/var/tmp")
            .expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let home = dir.path().join("home");
        let project = dir.path().join("project");
        let outside = dir.path().join("outside");
        write(&home.join(".ssh/id_rsa"), CANARY);
        write(&home.join(".aws/credentials"), CANARY);
        write(&home.join(".netrc"), CANARY);
        write(&home.join(".bashrc"), "# original bashrc\n");
        write(
            &home.join(".gitconfig"),
            "[user]\n\tname = t\n\temail = t@example.com\n",
        );
        write(
            &project.join("src/hello.c"),
            "#include <stdio.h>\nint main(void){puts(\"hello from c\");return 0;}\n",
        );
        write(&project.join("README"), "readme\n");
        write(&project.join(".env"), CANARY);
        fs::create_dir_all(project.join("build")).expect("mkdir");
        fs::create_dir_all(&outside).expect("mkdir");
        git(&project, &["init", "-q"]);
        git(&project, &["add", "src", "README"]);
        git(&project, &["commit", "-q", "-m", "initial"]);
        chown_tree(dir.path(), who);
        World {
            _dir: dir,
            home,
            project,
            outside,
            who: who.clone(),
            cordon: binary("cordon-cli", "cordon"),
        }
    }

    /// `cordon ARGS...` as the world's user, in the project, with a small environment.
    pub fn cordon(&self, args: &[&str]) -> Command {
        let mut command = self.as_user(&self.cordon);
        command.args(scripted(args));
        command
    }

    /// `cordon ARGS...` in an outer user namespace (`unshare -Ur`), where the sysctl
    /// `user.LIMIT` is set to 0 first when given, so that cordon cannot create that kind
    /// of namespace.
    pub fn cordon_nested(&self, limit: Option<&str>, args: &[&str]) -> Command {
        let lower = limit.map_or_else(String::new, |limit| {
            format!("echo 0 > /proc/sys/user/{limit} && ")
        });
        let mut command = self.as_user(Path::new("unshare"));
        command
            .args(["-Ur", "sh", "-c"])
            .arg(format!("{lower}exec \"$@\""))
            .arg("sh")
            .arg(&self.cordon)
            .args(scripted(args));
        command
    }

    /// `PROGRAM` as the world's user, in the project, with a small environment.
    fn as_user(&self, program: &Path) -> Command {
        let mut command = if self.who.uid == 0 {
            Command::new(program)
        } else {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={}", self.who.uid))
                .arg(format!("--regid={}", self.who.gid))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            command
        };
        command
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C")
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .current_dir(&self.project);
        command
    }

    /// `cordon run -- /bin/sh -c SCRIPT`, waited for.
    pub fn sh(&self, script: &str) -> Output {
        self.sh_command(script).output().expect("cordon starts")
    }

    /// `cordon run -- /bin/sh -c SCRIPT` with stdin from /dev/null, not started yet.
    pub fn sh_command(&self, script: &str) -> Command {
        let mut command = self.cordon(&["run", "--", "/bin/sh", "-c", script]);
        command.stdin(Stdio::null());
        command
    }

    /// Like [`World::sh`], and fails the test when cordon itself failed (125).
    pub fn sh_ok(&self, script: &str) -> (i32, String) {
        let output = self.sh(script);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let code = output.status.code().unwrap_or(-1);
        assert_ne!(
            code, 125,
            "cordon failed to set up the sandbox as {}: {text}",
            self.who.name
        );
        (code, text)
    }
}

/// Runs `check` once for root and once for the unprivileged user.
pub fn for_each_user(check: impl Fn(&World)) {
    for who in users() {
        eprintln!("--- as {}", who.name);
        let world = World::new(&who);
        check(&world);
    }
}

/// A test suite is scripted use: `cordon run` gets `--approvals allow` (the built-in
/// default asks a person first), unless the test chose `--approvals` itself.
pub(crate) fn scripted<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut out = args.to_vec();
    if args.first() == Some(&"run") && !args.contains(&"--approvals") {
        out.splice(1..1, ["--approvals", "allow"]);
    }
    out
}
