//! Starting a command under a Plan.
//!
//! Two process trees. [`spawn`] (the library, any thread): the caller → *supervisor*
//! (forked with glibc's `fork`; new user, mount, IPC, UTS, cgroup and network
//! namespaces; builds the filesystem view) → *PID 1* → the *command*. [`run`] (the CLI,
//! single-threaded): the caller → *PID 1*, cloned straight into every namespace but the
//! network one → the *command*; PID 1 builds the view while the caller creates the
//! network namespace inside PID 1's user namespace, and joins it before it forks the
//! command's process. In network mode proxy the namespace is made by a short-lived child
//! of the caller instead, so that the caller stays in the host's namespaces and runs the
//! egress engine on the listeners PID 1 sends back ([`crate::netns`],
//! [`crate::egress_glue`]); the library's supervisor unshares it as in mode none. PID 1
//! and the command are described in [`crate::init`]. Every
//! process dies with its parent (`PR_SET_PDEATHSIG`). Set-up errors travel back over a
//! close-on-exec pipe, so both fail with the reason instead of running a weaker sandbox.

use std::ffi::{CString, OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cordon_policy::{NetworkMode, Plan};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::prctl;
use nix::sys::signal::{SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{ForkResult, Pid, getegid, geteuid};

use crate::egress_glue::{NetworkOptions, Pending, Ready, Running};
use crate::init::{Prepared, exit_code, pipe, relay_set, relay_until_status, report, wait_for};
use crate::netns::{self, Handoff};
use crate::{SandboxError, egress_glue, fdpass, init, mounts, proxy_env, seccomp, sys};

/// A command running in a sandbox.
#[derive(Debug)]
pub struct Sandboxed {
    pid: Pid,
    /// Proxy mode's engine, stopped when the command has been waited for (or dropped).
    egress: Option<Running>,
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
        let code = wait_for(self.pid);
        if let Some(running) = self.egress {
            let _ = running.finish();
        }
        code
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

/// The command's environment under `plan`: the plan's, and in proxy mode the variables
/// that point tools at the proxy (`cordon run --print-plan` shows the same).
pub fn environment(plan: &Plan) -> Vec<(String, String)> {
    let mut env = plan.env.clone();
    if let Some(ports) = egress_glue::ports(plan) {
        proxy_env::apply(&mut env, proxy_env::variables(&ports, &plan.env));
    }
    env
}

/// Everything the children need, built before forking.
fn prepare<'a>(
    plan: &'a Plan,
    command: &std::process::Command,
) -> Result<Prepared<'a>, SandboxError> {
    let mut env: Vec<(OsString, OsString)> = environment(plan)
        .into_iter()
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
    spawn_with(plan, command, &NetworkOptions::default())
}

/// [`spawn`], with proxy mode's options. In proxy mode the egress proxy's threads run in
/// the calling process (in its network namespace) until [`Sandboxed::wait`].
pub fn spawn_with(
    plan: &Plan,
    command: &std::process::Command,
    options: &NetworkOptions,
) -> Result<Sandboxed, SandboxError> {
    let prepared = prepare(plan, command)?;
    let egress = Pending::for_plan(plan, options)?;
    let (egress, handoff) = split_egress(egress, false)?;
    let (reader, writer) = pipe()?;
    match sys::fork().map_err(|e| SandboxError::Spawn(format!("cannot fork: {e}")))? {
        ForkResult::Child => {
            drop((reader, egress));
            let error = supervisor(&prepared, &writer, handoff.map(|halves| halves.handoff));
            report(&writer, &error);
            sys::exit_now(125)
        }
        ForkResult::Parent { child } => {
            drop(writer);
            let mut sandboxed = Sandboxed {
                pid: child,
                egress: None,
            };
            match start_egress(egress, handoff) {
                Ok(running) => sandboxed.egress = running,
                Err(error) => {
                    let _ = sandboxed.signal(Signal::SIGKILL);
                    // The sandbox's own reason, when it failed first, says more.
                    let reason = read_error(reader).map(SandboxError::Setup);
                    let _ = sandboxed.wait();
                    return Err(reason.unwrap_or(error));
                }
            }
            match read_error(reader) {
                None => Ok(sandboxed),
                Some(message) => {
                    let _ = sandboxed.wait();
                    Err(SandboxError::Setup(message))
                }
            }
        }
    }
}

/// Reads the error pipe to its end: `None` when the command was executed.
fn read_error(reader: OwnedFd) -> Option<String> {
    let mut message = String::new();
    let _ = std::fs::File::from(reader).read_to_string(&mut message);
    (!message.is_empty()).then_some(message)
}

/// The namespaces every sandbox gets (`CLONE_NEWPID` aside).
fn namespace_flags(plan: &Plan) -> CloneFlags {
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWCGROUP;
    if plan.network.mode != NetworkMode::Host {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    flags
}

fn namespace_error(error: nix::errno::Errno) -> SandboxError {
    SandboxError::Namespaces(format!(
        "cannot create the namespaces ({error}); are unprivileged user namespaces enabled? run `cordon doctor`"
    ))
}

/// Maps our ids and builds the filesystem view (in the new user and mount namespaces).
fn enter_view(prepared: &Prepared<'_>) -> Result<(), SandboxError> {
    map_ids(prepared.uid, prepared.gid)?;
    mounts::build_view(&prepared.plan.mounts)
}

/// The supervisor of [`spawn`]: new namespaces, the view, PID 1; then relays signals
/// until the command's status arrives and exits with it. Returns only with an error.
fn supervisor(prepared: &Prepared<'_>, errors: &OwnedFd, proxy: Option<Handoff>) -> SandboxError {
    let setup = || -> Result<(Pid, OwnedFd), SandboxError> {
        init::die_with_parent(errors)?;
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&relay_set()), None)
            .map_err(|e| SandboxError::Spawn(format!("sigprocmask: {e}")))?;
        unshare(namespace_flags(prepared.plan) | CloneFlags::CLONE_NEWPID)
            .map_err(namespace_error)?;
        enter_view(prepared)?;
        let (status, lifeline) = pipe()?;
        match sys::fork().map_err(|e| SandboxError::Spawn(format!("cannot fork: {e}")))? {
            ForkResult::Child => {
                drop(status);
                let deferred = init::Deferred {
                    view: false,
                    network: None,
                    proxy,
                };
                let error = init::pid1(prepared, errors, &lifeline, deferred);
                report(errors, &error);
                sys::exit_now(125)
            }
            ForkResult::Parent { child } => Ok((child, status)),
        }
    };
    let (pid1, status) = match setup() {
        Ok(started) => started,
        Err(error) => return error,
    };
    // The supervisor keeps no copy of the error pipe: the caller sees its end close
    // when the command's execve closes the last one.
    let _ = nix::unistd::close(std::os::fd::AsRawFd::as_raw_fd(errors));
    sys::exit_now(relay_until_status(pid1, status).map_or(125, |status| status.code))
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

/// Runs `command` under `plan` and returns its exit status (128+N for signal N),
/// forwarding the [`init::FORWARDED`] signals this process receives. Proxy mode logs to
/// the default place; see [`run_with`].
///
/// For single-threaded callers such as the `cordon` binary only, which exit soon after:
/// it blocks those signals, makes the calling process die with its parent, clones PID 1
/// straight into the new namespaces (a raw `clone`, which is only safe without other
/// threads) and creates the network namespace itself, which leaves the calling process
/// in the sandbox's user and network namespaces (without its capabilities on the host).
/// In proxy mode PID 1 makes the network namespace instead and the calling process stays
/// in the host's, where it runs the egress proxy's threads until the command has exited.
/// It returns as soon as PID 1 reports the status, before the namespaces are torn down;
/// PID 1 may still be finishing its exit then, so the caller should exit soon.
pub fn run(plan: &Plan, command: &std::process::Command) -> Result<i32, SandboxError> {
    run_with(plan, command, &NetworkOptions::default())
}

/// [`run`], with proxy mode's options.
pub fn run_with(
    plan: &Plan,
    command: &std::process::Command,
    options: &NetworkOptions,
) -> Result<i32, SandboxError> {
    run_observed(plan, command, options).map(|observed| observed.code)
}

/// What [`run_observed`] saw of a run besides its exit code.
#[derive(Debug)]
pub(crate) struct Observed {
    pub(crate) code: i32,
    pub(crate) guard: Option<crate::GuardReport>,
    pub(crate) network: Option<crate::NetworkReport>,
}

/// [`run_with`], with the creation guard's refusals and proxy mode's counts.
pub(crate) fn run_observed(
    plan: &Plan,
    command: &std::process::Command,
    options: &NetworkOptions,
) -> Result<Observed, SandboxError> {
    let prepared = prepare(plan, command)?;
    let egress = Pending::for_plan(plan, options)?;
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&relay_set()), None)
        .map_err(|e| SandboxError::Spawn(format!("sigprocmask: {e}")))?;
    prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| SandboxError::Spawn(format!("PR_SET_PDEATHSIG: {e}")))?;
    let (reader, writer) = pipe()?;
    let (status, lifeline) = pipe()?;
    let flags = namespace_flags(plan) | CloneFlags::CLONE_NEWPID;
    // In proxy mode a helper process makes it instead: we must stay in the host's.
    let network = flags.contains(CloneFlags::CLONE_NEWNET) && egress.is_none();
    // PID 1 joins our network namespace through this descriptor once we have made it.
    let caller = match network {
        true => Some(
            sys::pidfd_open(nix::unistd::getpid().as_raw())
                .map_err(|e| SandboxError::Spawn(format!("pidfd_open (needs Linux 5.3+): {e}")))?,
        ),
        false => None,
    };
    let (ready_rx, ready_tx) = pipe()?;
    let (egress, handoff) = split_egress(egress, true)?;
    match sys::clone_into(flags - CloneFlags::CLONE_NEWNET).map_err(namespace_error)? {
        ForkResult::Child => {
            drop((reader, status, ready_tx, egress));
            let deferred = init::Deferred {
                view: true,
                network: caller.map(|caller| init::CallersNetwork {
                    caller,
                    ready: ready_rx,
                }),
                proxy: handoff.map(|halves| halves.handoff),
            };
            let error = match map_ids(prepared.uid, prepared.gid) {
                Ok(()) => init::pid1(&prepared, &writer, &lifeline, deferred),
                Err(error) => error,
            };
            report(&writer, &error);
            sys::exit_now(125)
        }
        ForkResult::Parent { child } => {
            drop((writer, lifeline, ready_rx, caller));
            if network {
                let created = create_network_for(child);
                let _ = std::fs::File::from(ready_tx).write_all(&created.to_le_bytes());
            }
            let maker = match handoff
                .as_ref()
                .and_then(|halves| halves.namespace.as_ref())
            {
                Some(channel) => {
                    match sys::fork().map_err(|e| SandboxError::Spawn(format!("cannot fork: {e}")))
                    {
                        Ok(ForkResult::Child) => netns::make_for(child.as_raw(), channel),
                        Ok(ForkResult::Parent { child: maker }) => Some(maker),
                        Err(error) => {
                            let _ = kill(child, Signal::SIGKILL);
                            let _ = wait_for(child);
                            return Err(error);
                        }
                    }
                }
                None => None,
            };
            // Our side of proxy mode is readied while PID 1 builds the view, and started
            // as soon as PID 1 sends the listeners, before it forks the command: the
            // engine's thread then starts while the command's process is made (~3 ms),
            // instead of after the command runs, when a short command's end would wait
            // for it (measured: the thread took 0.7 ms to first run, competing with the
            // command, and stopping waited for it).
            let egress = prepare_egress(egress, handoff);
            if let Some(maker) = maker {
                let _ = wait_for(maker);
            }
            let fail = |error: SandboxError| {
                let _ = kill(child, Signal::SIGKILL);
                let _ = wait_for(child);
                Err(error)
            };
            let egress = match egress {
                Ok(egress) => egress,
                Err(error) => return fail(error),
            };
            // Receiving the listeners ends when PID 1 sends them or ends; its reason, if
            // it failed, comes first.
            let running = egress.map(Egress::start).transpose();
            if let Some(message) = read_error(reader) {
                drop(running);
                let _ = wait_for(child);
                return Err(SandboxError::Setup(message));
            }
            let running = match running {
                Ok(running) => running,
                Err(error) => return fail(error),
            };
            let status = relay_until_status(child, status);
            let network = running.map(Running::finish);
            status.map(|status| Observed {
                code: status.code,
                guard: status.guard,
                network,
            })
        }
    }
}

/// Proxy mode's halves: what PID 1 gets, and the host side's ends of the channels.
#[derive(Debug)]
struct Halves {
    /// PID 1's: the ports, the listeners' sending end, the namespace's receiving end.
    handoff: Handoff,
    /// Ours: where the listeners arrive.
    listeners: std::os::fd::OwnedFd,
    /// The namespace maker's: where it sends the namespace (the `run` path only).
    namespace: Option<std::os::fd::OwnedFd>,
}

/// `maker`: a helper process makes the network namespace (the `run` path); otherwise
/// PID 1 is already in it.
fn split_egress(
    egress: Option<Pending>,
    maker: bool,
) -> Result<(Option<Pending>, Option<Halves>), SandboxError> {
    let Some(pending) = egress else {
        return Ok((None, None));
    };
    let (sender, receiver) = fdpass::channel()?;
    let (namespace_in, namespace_out) = match maker {
        true => {
            let (out, into) = fdpass::channel()?;
            (Some(into), Some(out))
        }
        false => (None, None),
    };
    let handoff = Handoff {
        ports: pending.ports.clone(),
        channel: sender,
        namespace: namespace_in,
        private_tmp: pending.private_tmp.clone(),
    };
    Ok((
        Some(pending),
        Some(Halves {
            handoff,
            listeners: receiver,
            namespace: namespace_out,
        }),
    ))
}

/// The host side of proxy mode: drops our copy of the sending end, receives the
/// listeners from PID 1 and starts the engine. `Ok(None)` in the other modes, and when
/// PID 1 failed before sending (its reason arrives on the error pipe).
fn start_egress(
    egress: Option<Pending>,
    halves: Option<Halves>,
) -> Result<Option<Running>, SandboxError> {
    prepare_egress(egress, halves)?
        .map(Egress::start)
        .transpose()
}

/// Proxy mode's host side, ready to start.
#[derive(Debug)]
struct Egress {
    ready: Ready,
    listeners: std::os::fd::OwnedFd,
}

/// Drops our copies of the ends PID 1 and the namespace maker use (so that either one's
/// death ends the other's wait), reads this host's addresses and opens the log.
fn prepare_egress(
    egress: Option<Pending>,
    halves: Option<Halves>,
) -> Result<Option<Egress>, SandboxError> {
    let (Some(pending), Some(halves)) = (egress, halves) else {
        return Ok(None);
    };
    let Halves {
        handoff,
        listeners,
        namespace,
    } = halves;
    drop((handoff, namespace));
    Ok(Some(Egress {
        ready: pending.ready()?,
        listeners,
    }))
}

impl Egress {
    /// Receives the listeners from PID 1 and starts the engine. PID 1 sends them before
    /// it forks the command, so their absence means it failed.
    fn start(self) -> Result<Running, SandboxError> {
        match fdpass::receive(&self.listeners)? {
            Some(listeners) => self.ready.start(listeners),
            None => Err(SandboxError::Setup(
                "the sandbox's PID 1 ended before it sent the proxy's listeners".into(),
            )),
        }
    }
}

/// Creates the sandbox's empty network namespace while its PID 1 builds the view: we
/// enter PID 1's user namespace (its owner, our effective uid, holds every capability
/// in it) and unshare the network there, so that the namespace belongs to the sandbox's
/// user namespace and PID 1 may join it. Returns 0, or the errno that PID 1 reports.
fn create_network_for(pid1: Pid) -> i32 {
    let entered = std::fs::File::open(format!("/proc/{pid1}/ns/user"))
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(nix::libc::EIO)))
        .and_then(|user| setns(user, CloneFlags::CLONE_NEWUSER));
    entered
        .and_then(|()| unshare(CloneFlags::CLONE_NEWNET))
        .err()
        .map_or(0, |e| e as i32)
}
