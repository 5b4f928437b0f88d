//! A command's shape, decided on argv: the lossless argv, the simple commands it runs
//! (wrappers and assignments peeled off, `sh -c PLAIN` decomposed), each command's
//! executable resolved through `PATH`, and whether an approval of it may be cached.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::escape;
use crate::script;
use crate::wrappers::{self, basename};

/// Longer argv (in bytes, all arguments together) is not parsed: it may be approved
/// once, never cached ("too long to show").
pub const MAX_SHOWN_BYTES: usize = 4096;
/// More simple commands in one script than this: not cacheable.
pub const MAX_COMMANDS: usize = 32;
/// `PATH` when the environment has none (the value `execvp` uses).
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// One simple command of a shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The shell that runs it, for a command out of `sh -c SCRIPT` (resolved path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Leading `NAME=value` assignments, exactly as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignments: Vec<String>,
    /// The wrappers peeled off, each with its options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrappers: Vec<Vec<String>>,
    /// The command that runs: its argv, quotes removed.
    pub tokens: Vec<String>,
    /// `tokens[0]` resolved through `PATH` (canonical), or `builtin NAME` for a shell
    /// builtin inside a script.
    pub executable: Option<String>,
}

impl Command {
    /// The command as shown: assignments, wrappers, argv.
    pub fn display(&self) -> String {
        let mut tokens: Vec<String> = self.assignments.clone();
        tokens.extend(self.wrappers.iter().flatten().cloned());
        tokens.extend(self.tokens.iter().cloned());
        escape::join(&tokens)
    }
}

/// What cordon decides an approval on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shape {
    /// Every argument, lossless (see [`escape::lossless`]).
    pub argv: Vec<String>,
    /// The command as shown to a human (escaped, quoted).
    pub display: String,
    /// `argv[0]` resolved through `PATH` (canonical).
    pub executable: Option<String>,
    /// The simple commands that run (empty when the argv could not be analysed).
    pub commands: Vec<Command>,
    /// Why an approval of this call may not be cached (`None`: it may).
    pub uncacheable: Option<String>,
}

impl Shape {
    /// True when an "always" approval may be stored for it.
    pub fn cacheable(&self) -> bool {
        self.uncacheable.is_none()
    }

    /// The decision hash of running this shape in `cwd` under a policy with this digest.
    pub fn decision_hash(&self, cwd: &Path, policy_digest: &str) -> String {
        decision_hash(&self.argv, self.executable.as_deref(), cwd, policy_digest)
    }
}

/// `sha256:` of (canonical argv, resolved executable, cwd, effective policy digest),
/// as one JSON array so that no two different inputs serialise alike.
pub fn decision_hash(
    argv: &[String],
    executable: Option<&str>,
    cwd: &Path,
    policy_digest: &str,
) -> String {
    let cwd = escape::lossless(cwd.as_os_str());
    let encoded = serde_json::json!(["cordon-decision-v1", argv, executable, cwd, policy_digest]);
    let digest = Sha256::digest(encoded.to_string().as_bytes());
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Shells whose `-c SCRIPT` is decomposed when the script is plain.
const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash"];
/// Other shells: their scripts are never decomposed.
const OTHER_SHELLS: &[&str] = &[
    "ksh", "mksh", "pdksh", "ash", "yash", "posh", "fish", "csh", "tcsh", "busybox", "rbash",
];
/// Programs that run another command given as arguments, as another user or in another
/// context, that cordon does not unwrap: never cached.
const RUNS_OTHERS: &[&str] = &[
    "sudo",
    "su",
    "doas",
    "pkexec",
    "runuser",
    "xargs",
    "watch",
    "chroot",
    "nsenter",
    "unshare",
    "setpriv",
    "parallel",
    "flock",
    "script",
    "sg",
    "newgrp",
    "capsh",
    "fakeroot",
    "strace",
    "ltrace",
    "gdb",
    "eval",
    "exec",
    "source",
    ".",
    "trap",
    "alias",
    "builtin",
    "enable",
    "hash",
    "export",
    "unset",
    "set",
    "shopt",
    "declare",
    "typeset",
    "local",
    "readonly",
    "let",
    "read",
    "mapfile",
    "readarray",
    "fc",
    "printf",
];
/// Shell builtins allowed in a plain script (they run no other program).
const SAFE_BUILTINS: &[&str] = &["cd", "echo", "true", "false", "pwd", "test", "[", ":"];

/// Analyses `argv` run in `cwd` with `PATH` = `path`.
pub fn shape(argv: &[OsString], cwd: &Path, path: Option<&OsStr>) -> Shape {
    let lossless: Vec<String> = argv.iter().map(|arg| escape::lossless(arg)).collect();
    let display = escape::join(&lossless);
    let mut resolver = Resolver {
        cwd,
        path,
        seen: Vec::new(),
    };
    let executable = argv
        .first()
        .and_then(|first| first.to_str())
        .and_then(|first| resolver.resolve(first));
    let mut shape = Shape {
        argv: lossless,
        display,
        executable,
        commands: Vec::new(),
        uncacheable: None,
    };
    match analyse(argv, &mut resolver) {
        Ok(commands) => shape.commands = commands,
        Err(reason) => shape.uncacheable = Some(reason),
    }
    shape
}

/// `resolve_executable` once per program name within one shape.
struct Resolver<'a> {
    cwd: &'a Path,
    path: Option<&'a OsStr>,
    seen: Vec<(String, Option<String>)>,
}

impl Resolver<'_> {
    fn resolve(&mut self, program: &str) -> Option<String> {
        if let Some((_, found)) = self.seen.iter().find(|(name, _)| name == program) {
            return found.clone();
        }
        let found = resolve_executable(program, self.cwd, self.path)
            .map(|exe| exe.to_string_lossy().into_owned());
        self.seen.push((program.to_owned(), found.clone()));
        found
    }
}

fn analyse(argv: &[OsString], resolver: &mut Resolver<'_>) -> Result<Vec<Command>, String> {
    if argv.is_empty() {
        return Err("no command".to_owned());
    }
    let bytes: usize = argv.iter().map(|arg| arg.len() + 1).sum();
    if bytes > MAX_SHOWN_BYTES {
        return Err(format!(
            "too long to show ({bytes} bytes; at most {MAX_SHOWN_BYTES} are analysed)"
        ));
    }
    if !argv.iter().all(|arg| escape::is_clean(arg)) {
        return Err(
            "an argument holds control or invisible characters, or bytes that are not UTF-8"
                .to_owned(),
        );
    }
    let tokens: Vec<String> = argv
        .iter()
        .filter_map(|arg| arg.to_str().map(str::to_owned))
        .collect();
    let outer = wrappers::unwrap(&tokens)?;
    let inner = &outer.inner;
    let shell = basename(&inner[0]);
    if SHELLS.contains(&shell) && inner.len() == 3 && matches!(inner[1].as_str(), "-c" | "-lc") {
        let via = resolver
            .resolve(&inner[0])
            .ok_or_else(|| format!("`{}` is not found in PATH", inner[0]))?;
        let script = script::decompose(&inner[2])
            .map_err(|why| format!("`{shell} -c` with a script that is not plain: {why}"))?;
        if script.len() > MAX_COMMANDS {
            return Err(format!("more than {MAX_COMMANDS} commands in one script"));
        }
        let mut commands = Vec::new();
        for part in script {
            let unwrapped = wrappers::unwrap(&part.words)?;
            let mut command = command_of(&outer, unwrapped, resolver, Some(&via))?;
            command.via = Some(via.clone());
            commands.push(command);
        }
        return Ok(commands);
    }
    Ok(vec![command_of(
        &wrappers::Unwrapped::default(),
        outer.clone(),
        resolver,
        None,
    )?])
}

/// One command: the outer wrappers and assignments (for a script) followed by its own;
/// checks what may never be cached and resolves the executable.
fn command_of(
    outer: &wrappers::Unwrapped,
    own: wrappers::Unwrapped,
    resolver: &mut Resolver<'_>,
    via: Option<&str>,
) -> Result<Command, String> {
    never_cacheable(&own.inner)?;
    for token in own.inner.iter().chain(own.assignments.iter()) {
        for marker in ["$(", "`", "${", "<(", ">(", "$'"] {
            if token.contains(marker) {
                return Err(format!("`{marker}` (a substitution) in an argument"));
            }
        }
    }
    let program = own.inner[0].as_str();
    let executable = if via.is_some() && SAFE_BUILTINS.contains(&program) {
        format!("builtin {program}")
    } else {
        resolver
            .resolve(program)
            .ok_or_else(|| format!("`{program}` is not found in PATH"))?
    };
    let mut assignments = outer.assignments.clone();
    assignments.extend(own.assignments);
    let mut wrappers = outer.wrappers.clone();
    wrappers.extend(own.wrappers);
    Ok(Command {
        via: None,
        assignments,
        wrappers,
        tokens: own.inner,
        executable: Some(executable),
    })
}

/// Commands whose shape says nothing about what runs.
fn never_cacheable(tokens: &[String]) -> Result<(), String> {
    let name = basename(&tokens[0]);
    if RUNS_OTHERS.contains(&name) {
        return Err(format!("`{name}` runs a command cordon cannot see"));
    }
    if SHELLS.contains(&name) || OTHER_SHELLS.contains(&name) {
        return Err(format!(
            "`{name}` other than `-c` with a plain script: its input is code"
        ));
    }
    if is_interpreter(name) {
        let code_flag = tokens[1..].iter().find(|token| is_code_flag(token));
        if let Some(flag) = code_flag {
            return Err(format!("`{name} {flag}`: an interpreter given code"));
        }
        if tokens[1..].iter().all(|token| token.starts_with('-')) {
            return Err(format!(
                "`{name}` without a script reads code from its input"
            ));
        }
    }
    if matches!(name, "awk" | "gawk" | "mawk" | "nawk" | "busybox") {
        return Err(format!("`{name}`: its program text is code"));
    }
    if name == "find" {
        let actions = [
            "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf",
            "-fls",
        ];
        if let Some(action) = tokens
            .iter()
            .find(|token| actions.contains(&token.as_str()))
        {
            return Err(format!("`find {action}`"));
        }
    }
    if name == "git" {
        for token in &tokens[1..] {
            if !token.starts_with('-') {
                break;
            }
            if token.starts_with("-c")
                || token.starts_with("--config-env")
                || token.starts_with("--exec-path")
            {
                return Err(format!("`git {token}` can make git run any program"));
            }
        }
        for token in &tokens[1..] {
            if ["--upload-pack", "--receive-pack", "--exec"]
                .iter()
                .any(|option| token.starts_with(option))
            {
                return Err(format!("`git … {token}` runs a program"));
            }
        }
    }
    Ok(())
}

fn is_interpreter(name: &str) -> bool {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    matches!(
        stem,
        "python"
            | "pypy"
            | "node"
            | "nodejs"
            | "deno"
            | "bun"
            | "perl"
            | "ruby"
            | "php"
            | "lua"
            | "luajit"
            | "Rscript"
            | "osascript"
            | "pwsh"
            | "powershell"
            | "tclsh"
            | "wish"
            | "julia"
            | "guile"
            | "racket"
            | "sbcl"
            | "groovy"
            | "jshell"
            | "irb"
    )
}

/// `-c`, `-e`, `-E`, `-r`, `-p` (alone or in a cluster of short options), or a long
/// option that evaluates text.
fn is_code_flag(token: &str) -> bool {
    if let Some(long) = token.strip_prefix("--") {
        let long = long.split('=').next().unwrap_or(long);
        return matches!(
            long,
            "eval" | "print" | "command" | "exec" | "execute" | "run"
        ) || long.is_empty();
    }
    token.strip_prefix('-').is_some_and(|short| {
        short
            .chars()
            .any(|c| matches!(c, 'c' | 'e' | 'E' | 'r' | 'p' | 'C'))
    }) || token.eq_ignore_ascii_case("-command")
}

/// `program` resolved as `execvp` would: a name with a `/` relative to `cwd`, else the
/// first executable regular file in `PATH` (an empty entry is `cwd`). Canonical.
pub fn resolve_executable(program: &str, cwd: &Path, path: Option<&OsStr>) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    let executable = |candidate: &Path| {
        std::fs::metadata(candidate)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let candidate = cwd.join(program);
        return executable(&candidate)
            .then(|| candidate.canonicalize().ok())
            .flatten();
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    std::env::split_paths(path).find_map(|dir| {
        let candidate = cwd.join(dir).join(program);
        executable(&candidate)
            .then(|| candidate.canonicalize().ok())
            .flatten()
    })
}
