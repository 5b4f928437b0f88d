//! The sandbox's PID 1 and the command's last steps, and the relay on the other side.
//!
//! PID 1 finishes the set-up (see [`Deferred`]), mounts the fresh `/proc`, forks the
//! command's process and then serves: it passes the
//! forwarded signals on, reaps orphans, and when the command has exited it kills every
//! other process of the namespace, reaps them, and only then reports the command's exit
//! status on the *status pipe* and exits. Whoever waits reads the status from that pipe
//! instead of waiting for PID 1's exit, so that tearing the namespaces down (unmounting
//! the view, freeing the network namespace) happens after the answer, off the caller's
//! critical path; nothing of the sandbox runs any more by then.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use cordon_policy::{Plan, Weaker};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, setns};
use nix::sys::prctl;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, setsid};
use seccompiler::BpfProgram;

use crate::creation::Guard;
use crate::guard_report::GuardReport;
use crate::landlock::Enforced;
use crate::{SandboxError, creation, landlock, mounts, seccomp, sys};

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

/// The forwarded signals plus `SIGCHLD`, blocked and read from a signalfd by the relays.
pub fn relay_set() -> SigSet {
    let mut set = SigSet::empty();
    for signal in FORWARDED {
        set.add(*signal);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Everything the command's process needs, prepared before forking.
#[derive(Debug)]
pub(crate) struct Prepared<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) program: CString,
    pub(crate) argv: Vec<CString>,
    pub(crate) envp: Vec<CString>,
    pub(crate) cwd: PathBuf,
    pub(crate) filters: Vec<BpfProgram>,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// The exit code a wait status stands for: the code, or 128+N for signal N.
pub(crate) fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}

/// Sends `error` over the error pipe (the caller reads it as the reason).
pub(crate) fn report(writer: &OwnedFd, error: &SandboxError) {
    if let Ok(mut file) = writer.try_clone().map(std::fs::File::from) {
        let _ = file.write_all(error.to_string().as_bytes());
    }
}

/// Makes the calling process die with its parent. `lifeline` is the write end of a
/// pipe whose read end only the parent holds: when the parent is already gone (it died
/// before the death signal was armed) the pipe reports an error and we leave.
pub(crate) fn die_with_parent(lifeline: &OwnedFd) -> Result<(), SandboxError> {
    prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| SandboxError::Spawn(format!("PR_SET_PDEATHSIG: {e}")))?;
    let mut fds = [PollFd::new(lifeline.as_fd(), PollFlags::empty())];
    if poll(&mut fds, PollTimeout::ZERO).is_ok_and(|ready| ready > 0) {
        sys::exit_now(125);
    }
    Ok(())
}

fn signal_fd(flags: SfdFlags) -> Result<SignalFd, SandboxError> {
    SignalFd::with_flags(&relay_set(), SfdFlags::SFD_CLOEXEC | flags)
        .map_err(|e| SandboxError::Spawn(format!("signalfd: {e}")))
}

/// The signal a signalfd read reports.
fn signal_of(info: &nix::sys::signalfd::siginfo) -> Option<Signal> {
    i32::try_from(info.ssi_signo)
        .ok()
        .and_then(|n| Signal::try_from(n).ok())
}

/// What PID 1 reports on the status pipe.
#[derive(Debug)]
pub(crate) struct Status {
    /// The command's exit code (128+N for signal N).
    pub(crate) code: i32,
    /// The creation guard's refusals; `None` when it did not serve (no creation lock,
    /// no user notifications) or PID 1 did not say.
    pub(crate) guard: Option<GuardReport>,
}

/// The caller's side: passes forwarded signals to `child` until the status pipe gives
/// the command's exit code. When the pipe closes without one (the sandbox was killed),
/// waits for `child` and takes its status.
pub(crate) fn relay_until_status(child: Pid, status: OwnedFd) -> Result<Status, SandboxError> {
    let signals = signal_fd(SfdFlags::SFD_NONBLOCK)?;
    let mut status = std::fs::File::from(status);
    loop {
        let mut fds = [
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(status.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(SandboxError::Spawn(format!("poll: {e}"))),
        }
        let readable = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        if readable(&fds[0]) {
            while let Ok(Some(info)) = signals.read_signal() {
                if let Some(signal) = signal_of(&info).filter(|s| *s != Signal::SIGCHLD) {
                    let _ = kill(child, signal);
                }
            }
        }
        if readable(&fds[1]) {
            let mut code = [0u8; 4];
            if status.read_exact(&mut code).is_ok() {
                let mut served = [0u8; 1];
                let guard = match status.read_exact(&mut served) {
                    Ok(()) if served[0] == 1 => GuardReport::decode(&mut status),
                    _ => None,
                };
                return Ok(Status {
                    code: i32::from_le_bytes(code),
                    guard,
                });
            }
            return wait_for(child).map(|code| Status { code, guard: None });
        }
    }
}

/// Waits for `child` and returns its exit code.
pub(crate) fn wait_for(child: Pid) -> Result<i32, SandboxError> {
    loop {
        match waitpid(child, None) {
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

/// What PID 1 still has to set up when it starts. The `run` path leaves both to it:
/// PID 1 builds the filesystem view while the caller, on the other CPU, creates the
/// network namespace (the costliest namespace, ~0.5 ms); PID 1 then joins it.
#[derive(Debug)]
pub(crate) struct Deferred {
    /// The filesystem view is still to be built.
    pub(crate) view: bool,
    /// The network namespace to join, being created by the caller.
    pub(crate) network: Option<CallersNetwork>,
    /// Proxy mode: the network namespace PID 1 makes itself (see [`crate::netns`]).
    pub(crate) proxy: Option<crate::netns::Handoff>,
}

/// The network namespace the caller creates for the sandbox (see [`Deferred`]).
#[derive(Debug)]
pub(crate) struct CallersNetwork {
    /// A process descriptor of the caller: `setns` on it joins its network namespace.
    pub(crate) caller: OwnedFd,
    /// The caller's report: 0 once the namespace exists, else the errno.
    pub(crate) ready: OwnedFd,
}

impl CallersNetwork {
    /// Waits for the caller's report and moves PID 1 into the new network namespace.
    fn join(self) -> Result<(), SandboxError> {
        let mut errno = [0u8; 4];
        std::fs::File::from(self.ready)
            .read_exact(&mut errno)
            .map_err(|e| SandboxError::Spawn(format!("the caller ended early: {e}")))?;
        let errno = i32::from_le_bytes(errno);
        if errno != 0 {
            return Err(SandboxError::Namespaces(format!(
                "cannot create the network namespace ({}); run `cordon doctor`",
                nix::errno::Errno::from_raw(errno)
            )));
        }
        setns(self.caller, CloneFlags::CLONE_NEWNET).map_err(|e| {
            SandboxError::Namespaces(format!("cannot join the network namespace: {e}"))
        })
    }
}

/// PID 1 of the new PID namespace: builds what is [`Deferred`], mounts `/proc`, forks
/// the command's process, serves until it has exited, reports and exits. `lifeline` is
/// the status pipe's write end, or any pipe end whose reader is the parent. Returns only
/// with a set-up error.
pub(crate) fn pid1(
    prepared: &Prepared<'_>,
    errors: &OwnedFd,
    lifeline: &OwnedFd,
    deferred: Deferred,
) -> SandboxError {
    let setup = || -> Result<(Pid, SignalFd, Option<Serving>), SandboxError> {
        die_with_parent(lifeline)?;
        let _ = rename_as_init();
        if deferred.view {
            mounts::build_view(&prepared.plan.mounts)?;
        }
        // Joined before the fresh /proc (nothing of the sandbox stays in the host's
        // network, PID 1 included); the command's process inherits it.
        if let Some(network) = deferred.network {
            network.join()?;
        }
        if let Some(proxy) = deferred.proxy {
            proxy.complete()?;
        }
        mounts::fresh_proc()?;
        let _ = nix::unistd::sethostname("cordon");
        let signals = signal_fd(SfdFlags::empty())?;
        let guard = Guard::new(&prepared.plan.landlock);
        let handover = match guard {
            None => None,
            Some(_) => Some((pipe()?, pipe()?)),
        };
        match sys::fork().map_err(|e| SandboxError::Spawn(format!("cannot fork: {e}")))? {
            ForkResult::Child => {
                let handover =
                    handover.map(|((_, listener_tx), (ack_rx, _))| (listener_tx, ack_rx));
                let error = command(prepared, handover);
                report(errors, &error);
                sys::exit_now(127)
            }
            ForkResult::Parent { child } => {
                let guard = match (guard, handover) {
                    (Some(guard), Some(((listener_rx, listener_tx), (ack_rx, ack_tx)))) => {
                        drop((listener_tx, ack_rx));
                        receive_listener(child, listener_rx, ack_tx).map(|listener| {
                            sys::set_umask(0);
                            (guard, listener)
                        })
                    }
                    _ => None,
                };
                Ok((child, signals, guard))
            }
        }
    };
    let (child, signals, guard) = match setup() {
        Ok(started) => started,
        Err(error) => return error,
    };
    // PID 1 keeps no copy of the error pipe: the caller sees it close when the
    // command's execve closes the last one.
    let _ = nix::unistd::close(errors.as_raw_fd());
    // Nor of the terminal and pipes the command writes to: whoever reads them to their
    // end must not wait for this process's exit.
    if let Ok(null) = nix::fcntl::open(
        "/dev/null",
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
    let code = serve(child, &signals, guard.as_ref());
    // Everything else in the namespace goes before the status is told.
    let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
    while waitpid(Pid::from_raw(-1), None).is_ok() {}
    let mut status =
        std::fs::File::from(lifeline.try_clone().unwrap_or_else(|_| sys::exit_now(code)));
    // The status, then whether the creation guard served and what it refused.
    let mut message = code.to_le_bytes().to_vec();
    match &guard {
        Some((creation_guard, _)) => {
            message.push(1);
            message.extend_from_slice(&creation_guard.refusals().encode());
        }
        None => message.push(0),
    }
    let _ = status.write_all(&message);
    sys::exit_now(code)
}

/// What PID 1 calls itself in `ps`, `pgrep` and `/proc/PID/cmdline`.
pub(crate) const INIT_NAME: &str = "cordon-init";

/// Gives PID 1 its own name and command line. It is a copy of `cordon` that never
/// calls `execve`, so it would otherwise show `cordon`'s whole command line, the
/// sandboxed command included, and a search for that command (`pgrep -f`) would find
/// PID 1 in the instant between its status report and its exit. The argument area is
/// overwritten through `/proc/self/mem` (bounds from `/proc/self/stat`), as
/// `setproctitle` does; best effort, nothing depends on it.
fn rename_as_init() -> std::io::Result<()> {
    let _ = prctl::set_name(&CString::new(INIT_NAME).unwrap_or_default());
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name's closing parenthesis start at field 3; the
    // argument area is fields 48 and 49 (proc_pid_stat(5)).
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let mut fields = after_name.split_whitespace().skip(48 - 3);
    let mut next = || fields.next().and_then(|f| f.parse::<u64>().ok());
    let (Some(start), Some(end)) = (next(), next()) else {
        return Err(std::io::Error::other("no argument area in /proc/self/stat"));
    };
    let length = usize::try_from(end.saturating_sub(start)).unwrap_or(0);
    if length == 0 {
        return Ok(());
    }
    let mut title = vec![0u8; length];
    let name = INIT_NAME.as_bytes();
    let kept = name.len().min(length - 1);
    title[..kept].copy_from_slice(&name[..kept]);
    let mem = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/mem")?;
    std::os::unix::fs::FileExt::write_all_at(&mem, &title, start)
}

/// The creation guard and the listener it answers.
type Serving = (Guard, OwnedFd);

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| SandboxError::Spawn(format!("cannot make a pipe: {e}")))
}

/// Takes the creation guard's listener from the command: it says which descriptor
/// holds it (or -1 when the kernel has no user notifications), PID 1 copies it with
/// `pidfd_getfd`, then lets the command go on. `None`: the command runs with the plain
/// Landlock creation lock (stricter, never weaker).
fn receive_listener(child: Pid, listener_rx: OwnedFd, ack_tx: OwnedFd) -> Option<OwnedFd> {
    let mut number = [0u8; 4];
    let received = std::fs::File::from(listener_rx).read_exact(&mut number);
    let listener = received.ok().and_then(|()| {
        let fd = i32::from_le_bytes(number);
        (fd >= 0)
            .then(|| sys::steal_fd(child.as_raw(), fd).ok())
            .flatten()
    });
    let _ = std::fs::File::from(ack_tx).write_all(b"k");
    // Before Linux 6.6 the wake-up is asynchronous: slower, not less safe.
    if let Some(listener) = &listener {
        let _ = sys::notif_sync_wake_up(listener);
    }
    listener
}

/// The command's half of [`receive_listener`]: installs the notifying filter, says
/// where its listener is and waits until PID 1 has it.
fn hand_over_listener(listener_tx: OwnedFd, ack_rx: OwnedFd) {
    let listener = sys::install_notify_filter(&creation::filter()).ok();
    let number = listener.as_ref().map_or(-1, |fd| fd.as_raw_fd());
    let _ = std::fs::File::from(listener_tx).write_all(&number.to_le_bytes());
    let mut ack = [0u8; 1];
    let _ = std::fs::File::from(ack_rx).read_exact(&mut ack);
}

/// Passes signals to the command and reaps every child until the command has exited;
/// returns its exit code.
fn serve(child: Pid, signals: &SignalFd, mut guard: Option<&Serving>) -> i32 {
    loop {
        if let Some((creation_guard, listener)) = guard {
            let mut fds = [
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
                PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            ];
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            let listener_events = fds[1].revents().unwrap_or(PollFlags::empty());
            if listener_events.contains(PollFlags::POLLIN) {
                creation_guard.serve_one(listener);
            } else if listener_events.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                // No process uses the filter any more (the command has exited and its
                // descendants with it), so no notification can come: stop polling a
                // descriptor that would report this forever.
                guard = None;
            }
            if !fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLIN))
            {
                continue;
            }
        }
        let Some(signal) = signals
            .read_signal()
            .ok()
            .flatten()
            .and_then(|info| signal_of(&info))
        else {
            continue;
        };
        if signal != Signal::SIGCHLD {
            let _ = kill(child, signal);
            continue;
        }
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
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

/// The command's process: the last restrictions, then execve. Returns only with an error.
fn command(prepared: &Prepared<'_>, handover: Option<(OwnedFd, OwnedFd)>) -> SandboxError {
    let result = (|| -> Result<(), SandboxError> {
        sys::reset_signals()
            .map_err(|e| SandboxError::Spawn(format!("cannot reset signals: {e}")))?;
        setsid().map_err(|e| SandboxError::Spawn(format!("setsid: {e}")))?;
        // Its parent is PID 1 of this namespace, which outlives it.
        prctl::set_pdeathsig(Signal::SIGKILL)
            .map_err(|e| SandboxError::Spawn(format!("PR_SET_PDEATHSIG: {e}")))?;
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
        if let Some((listener_tx, ack_rx)) = handover {
            hand_over_listener(listener_tx, ack_rx);
        }
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
