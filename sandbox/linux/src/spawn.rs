//! Starting a command under a Plan.
//!
//! Process tree: the caller → *supervisor* (new user, mount, IPC, UTS, cgroup and
//! network namespaces; builds the filesystem view) → *init* (PID 1 of the new PID
//! namespace: fresh `/proc`, reaps, forwards signals) → the *command* (new session,
//! Landlock, no_new_privs, no capabilities, fds above 2 closed, seccomp, execve). Each
//! process dies with its parent (`PR_SET_PDEATHSIG`), and when init exits the kernel
//! kills whatever the command left in the namespace. Set-up errors travel back over a
//! close-on-exec pipe, so `spawn` fails with the reason instead of running a weaker
//! sandbox.

use std::ffi::{CString, OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cordon_policy::{NetworkMode, Plan, Weaker};
use nix::sched::{CloneFlags, unshare};
use nix::sys::prctl;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, getegid, geteuid, getpid, getppid, pipe2, setsid};
use seccompiler::BpfProgram;

use crate::landlock::Enforced;
use crate::{SandboxError, landlock, mounts, seccomp, sys};

/// Signals that are passed on to the command.
pub const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// The forwarded signals plus `SIGCHLD`, blocked and waited for by the relays.
pub fn relay_set() -> SigSet {
    let mut set = SigSet::empty();
    for signal in FORWARDED {
        set.add(*signal);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// A command running in a sandbox.
#[derive(Debug)]
pub struct Sandboxed {
    pid: Pid,
}

impl Sandboxed {
    /// The supervisor's process id (signals sent to it reach the command).
    pub fn pid(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// Sends `signal` to the command (through the supervisor and init).
    pub fn signal(&self, signal: Signal) -> Result<(), SandboxError> {
        kill(self.pid, signal).map_err(|e| SandboxError::Spawn(format!("cannot signal: {e}")))
    }

    /// Waits for the command: its exit code, or 128+N when signal N killed it.
    pub fn wait(self) -> Result<i32, SandboxError> {
        loop {
            match waitpid(self.pid, None) {
                Ok(status) => {
                    if let Some(code) = exit_code(status) {
                        return Ok(code);
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(SandboxError::Spawn(format!("cannot wait: {e}"))),
            }
        }
    }

    /// The exit code if the command has finished, without blocking.
    pub fn try_wait(&self) -> Result<Option<i32>, SandboxError> {
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(status) => Ok(exit_code(status)),
            Err(nix::errno::Errno::EINTR) => Ok(None),
            Err(e) => Err(SandboxError::Spawn(format!("cannot wait: {e}"))),
        }
    }
}

fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}

/// Everything the children need, prepared before forking.
struct Prepared<'a> {
    plan: &'a Plan,
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: PathBuf,
    filters: Vec<BpfProgram>,
    uid: u32,
    gid: u32,
}

fn cstring(bytes: &[u8]) -> Result<CString, SandboxError> {
    CString::new(bytes)
        .map_err(|_| SandboxError::Spawn("an argument or variable contains a NUL byte".into()))
}

/// Finds `program` on the plan's `PATH` (a name with a `/` is taken as it is).
fn find_program(
    program: &OsStr,
    env: &[(OsString, OsString)],
    cwd: &Path,
) -> Result<PathBuf, SandboxError> {
    if program.as_bytes().contains(&b'/') {
        return Ok(cwd.join(program));
    }
    let path = env.iter().find(|(name, _)| name == "PATH").map_or_else(
        || OsString::from("/usr/local/bin:/usr/bin:/bin"),
        |(_, value)| value.clone(),
    );
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| {
            SandboxError::Program(format!(
                "{}: command not found on PATH",
                program.to_string_lossy()
            ))
        })
}

/// Everything the children need, built before forking.
fn prepare<'a>(
    plan: &'a Plan,
    command: &std::process::Command,
) -> Result<Prepared<'a>, SandboxError> {
    let mut env: Vec<(OsString, OsString)> = plan
        .env
        .iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect();
    for (name, value) in command.get_envs() {
        env.retain(|(existing, _)| existing != name);
        if let Some(value) = value {
            env.push((name.to_os_string(), value.to_os_string()));
        }
    }
    let cwd = command
        .get_current_dir()
        .map_or_else(|| plan.cwd.clone(), Path::to_path_buf);
    let program = find_program(command.get_program(), &env, &cwd)?;
    let mut argv = vec![cstring(command.get_program().as_bytes())?];
    for arg in command.get_args() {
        argv.push(cstring(arg.as_bytes())?);
    }
    let mut envp = Vec::new();
    for (name, value) in &env {
        let mut pair = name.as_bytes().to_vec();
        pair.push(b'=');
        pair.extend_from_slice(value.as_bytes());
        envp.push(cstring(&pair)?);
    }
    Ok(Prepared {
        plan,
        program: cstring(program.as_os_str().as_bytes())?,
        argv,
        envp,
        cwd,
        filters: seccomp::compile(plan.seccomp.allow_unix_sockets)?,
        uid: geteuid().as_raw(),
        gid: getegid().as_raw(),
    })
}

/// Starts `command`'s program and arguments under `plan`. Variables set on `command`
/// are added to the plan's environment, and its current directory (when set) replaces
/// the plan's. Standard input, output and error are the caller's.
///
/// Forks: call it from a single-threaded process, or from a multi-threaded one linked
/// against glibc (whose `fork` leaves the allocator usable in the child).
/// The sandbox dies with the *thread* that called `spawn` (`PR_SET_PDEATHSIG` follows
/// the thread), so call it from a thread that outlives the command.
pub fn spawn(plan: &Plan, command: &std::process::Command) -> Result<Sandboxed, SandboxError> {
    let prepared = prepare(plan, command)?;
    let (reader, writer) = pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| SandboxError::Spawn(format!("cannot make a pipe: {e}")))?;
    let parent = getpid();
    match sys::fork().map_err(|e| SandboxError::Spawn(format!("cannot fork: {e}")))? {
        ForkResult::Child => {
            drop(reader);
            let error = supervisor(&prepared, parent, &writer);
            report(&writer, &error);
            sys::exit_now(125)
        }
        ForkResult::Parent { child } => {
            drop(writer);
            let mut message = String::new();
            let _ = std::fs::File::from(reader).read_to_string(&mut message);
            let sandboxed = Sandboxed { pid: child };
            if message.is_empty() {
                Ok(sandboxed)
            } else {
                let _ = sandboxed.wait();
                Err(SandboxError::Setup(message))
            }
        }
    }
}

fn report(writer: &OwnedFd, error: &SandboxError) {
    if let Ok(mut file) = writer.try_clone().map(std::fs::File::from) {
        let _ = file.write_all(error.to_string().as_bytes());
    }
}

fn die_with_parent(parent: Pid) -> Result<(), SandboxError> {
    prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| SandboxError::Spawn(format!("PR_SET_PDEATHSIG: {e}")))?;
    // The PID 1's parent lives outside its PID namespace, where getppid() says 0.
    let seen = getppid();
    if seen != parent && seen.as_raw() != 0 {
        sys::exit_now(125);
    }
    Ok(())
}

/// Creates the namespaces, maps the ids, builds the view and forks init; returns
/// init's pid. Runs in the supervisor (or, for [`run`], in the caller itself).
fn enter(prepared: &Prepared<'_>, writer: &OwnedFd) -> Result<Pid, SandboxError> {
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWCGROUP;
    if prepared.plan.network == NetworkMode::None {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(|e| {
        SandboxError::Namespaces(format!(
            "cannot create the namespaces ({e}); are unprivileged user namespaces enabled? run `cordon doctor`"
        ))
    })?;
    map_ids(prepared.uid, prepared.gid)?;
    mounts::build_view(&prepared.plan.mounts)?;
    let supervisor = getpid();
    match sys::fork().map_err(|e| SandboxError::Spawn(format!("cannot fork: {e}")))? {
        ForkResult::Child => {
            let error = init(prepared, supervisor, writer);
            report(writer, &error);
            sys::exit_now(125)
        }
        ForkResult::Parent { child } => Ok(child),
    }
}

/// The supervisor: [`enter`], then relays signals to init. Returns only with an error.
fn supervisor(prepared: &Prepared<'_>, parent: Pid, writer: &OwnedFd) -> SandboxError {
    let setup = || -> Result<Pid, SandboxError> {
        die_with_parent(parent)?;
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&relay_set()), None)
            .map_err(|e| SandboxError::Spawn(format!("sigprocmask: {e}")))?;
        enter(prepared, writer)
    };
    let init_pid = match setup() {
        Ok(pid) => pid,
        Err(error) => return error,
    };
    // The supervisor keeps no copy of the error pipe: the caller sees its end close
    // when the command's execve closes the last one.
    let _ = nix::unistd::close(std::os::fd::AsRawFd::as_raw_fd(writer));
    sys::exit_now(wait_relaying(init_pid, false))
}

fn map_ids(uid: u32, gid: u32) -> Result<(), SandboxError> {
    let write = |file: &str, text: String| {
        std::fs::write(file, text)
            .map_err(|e| SandboxError::Namespaces(format!("cannot write {file}: {e}")))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))
}

/// Waits for blocked signals: passes them to `child`, and when `child` ends returns its
/// status (128+N for signal N). As PID 1 (`reap_all`), also reaps orphans.
fn wait_relaying(child: Pid, reap_all: bool) -> i32 {
    let set = relay_set();
    loop {
        let Ok(signal) = set.wait() else { continue };
        if signal != Signal::SIGCHLD {
            let _ = kill(child, signal);
            continue;
        }
        loop {
            let target = if reap_all { Pid::from_raw(-1) } else { child };
            match waitpid(target, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(status) => {
                    if status.pid() == Some(child)
                        && let Some(code) = exit_code(status)
                    {
                        return code;
                    }
                }
            }
        }
    }
}

/// PID 1 of the new PID namespace. Returns only with an error.
fn init(prepared: &Prepared<'_>, supervisor: Pid, writer: &OwnedFd) -> SandboxError {
    let setup = || -> Result<Pid, SandboxError> {
        die_with_parent(supervisor)?;
        mounts::fresh_proc()?;
        let _ = nix::unistd::sethostname("cordon");
        let init = getpid();
        match sys::fork().map_err(|e| SandboxError::Spawn(format!("cannot fork: {e}")))? {
            ForkResult::Child => {
                let error = command(prepared, init);
                report(writer, &error);
                sys::exit_now(127)
            }
            ForkResult::Parent { child } => Ok(child),
        }
    };
    match setup() {
        Ok(child) => {
            let _ = nix::unistd::close(std::os::fd::AsRawFd::as_raw_fd(writer));
            sys::exit_now(wait_relaying(child, true))
        }
        Err(error) => error,
    }
}

/// The command's process: the last restrictions, then execve. Returns only with an error.
fn command(prepared: &Prepared<'_>, init: Pid) -> SandboxError {
    let result = (|| -> Result<(), SandboxError> {
        sys::reset_signals()
            .map_err(|e| SandboxError::Spawn(format!("cannot reset signals: {e}")))?;
        setsid().map_err(|e| SandboxError::Spawn(format!("setsid: {e}")))?;
        die_with_parent(init)?;
        std::env::set_current_dir(&prepared.cwd).map_err(|e| {
            SandboxError::Spawn(format!("cannot enter {}: {e}", prepared.cwd.display()))
        })?;
        prctl::set_no_new_privs()
            .map_err(|e| SandboxError::Spawn(format!("PR_SET_NO_NEW_PRIVS: {e}")))?;
        let enforced = landlock::apply(&prepared.plan.landlock)?;
        if enforced == Enforced::Not && !prepared.plan.accept_weaker.contains(&Weaker::NoLandlock) {
            return Err(SandboxError::Landlock(
                "this kernel does not enforce Landlock; refusing to run (accept it knowingly with `accept_weaker: [no-landlock]` in the global policy)".into(),
            ));
        }
        sys::drop_all_capabilities()
            .map_err(|e| SandboxError::Spawn(format!("cannot drop capabilities: {e}")))?;
        sys::cloexec_from(3).map_err(|e| SandboxError::Spawn(format!("close_range: {e}")))?;
        seccomp::apply(&prepared.filters)?;
        Ok(())
    })();
    if let Err(error) = result {
        return error;
    }
    let error = nix::unistd::execve(&prepared.program, &prepared.argv, &prepared.envp);
    SandboxError::Program(format!(
        "cannot execute {}: {}",
        prepared.program.to_string_lossy(),
        error.map_or_else(|e| e.to_string(), |_| String::new())
    ))
}

/// Runs `command` under `plan` and returns its exit status (128+N for signal N),
/// forwarding the [`FORWARDED`] signals this process receives. For single-threaded
/// callers such as the `cordon` binary: it blocks those signals, makes the calling
/// process die with its parent, and turns the calling process itself into the
/// supervisor (it enters the new namespaces), which saves a process.
pub fn run(plan: &Plan, command: &std::process::Command) -> Result<i32, SandboxError> {
    let prepared = prepare(plan, command)?;
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&relay_set()), None)
        .map_err(|e| SandboxError::Spawn(format!("sigprocmask: {e}")))?;
    prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| SandboxError::Spawn(format!("PR_SET_PDEATHSIG: {e}")))?;
    let (reader, writer) = pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| SandboxError::Spawn(format!("cannot make a pipe: {e}")))?;
    let init = enter(&prepared, &writer)?;
    drop(writer);
    let mut message = String::new();
    let _ = std::fs::File::from(reader).read_to_string(&mut message);
    if !message.is_empty() {
        let _ = waitpid(init, None);
        return Err(SandboxError::Setup(message));
    }
    Ok(wait_relaying(init, false))
}
