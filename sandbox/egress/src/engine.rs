//! The one decision path every entry point goes through, and the engine's shared state.
//!
//! [`Engine::open`]: a fake address is mapped back to its name; the policy decides the
//! target; a name is resolved once; the policy decides every address (any denial
//! refuses); the engine dials exactly the checked addresses, in order. A refusal is
//! logged and announced here, so no entry point can forget to.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use socket2::{Domain, Protocol, Socket, Type};

use crate::fakeip::FakeIpPool;
use crate::host::{Host, Target};
use crate::log::{DecisionLog, EntryPoint, Outcome, Record};
use crate::policy::{Policy, Resolver, Verdict};
use crate::pool::Pool;

/// How long reads before the decision may take (request heads, SOCKS negotiation, the
/// ClientHello), and how long a connection to the world may take to establish.
pub(crate) const DECISION_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many distinct names denied by the DNS stub get a notice line.
const MAX_NOTICED_NAMES: usize = 1000;
/// The most connections served at once (each holds two threads and two 64 KiB buffers);
/// more are reset at once. Package-manager bursts are a few hundred.
pub const MAX_CONNECTIONS: usize = 2048;

/// Why an allowed connection could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The name did not resolve.
    Resolve,
    /// The connection was refused.
    Refused,
    /// Establishing it timed out.
    TimedOut,
    /// The network or host is unreachable, or another error.
    Unreachable,
}

/// The outcome of [`Engine::open`] when no connection was made.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The policy or the engine refused it (already logged and announced).
    Denied(Verdict),
    /// Allowed but failed (already logged).
    Failed(Failure, String),
}

/// An open connection to the world and its pending log record.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) upstream: TcpStream,
    pub(crate) target: Target,
    pub(crate) record: Record,
}

/// The engine's shared state.
pub(crate) struct Engine {
    pub(crate) policy: Arc<dyn Policy>,
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) fake_ips: FakeIpPool,
    pub(crate) log: DecisionLog,
    pub(crate) pool: Pool,
    notices: Mutex<Box<dyn Write + Send>>,
    noticed_names: Mutex<HashSet<String>>,
    pub(crate) stopping: AtomicBool,
    /// Held while a connection is accepted and counted or a DNS query answered, and
    /// while `stopping` is set: once [`crate::Proxy`]'s stop has set it, nothing more
    /// is admitted, whether or not the polling thread has woken up yet.
    pub(crate) admission: Mutex<()>,
    pub(crate) over_limit: AtomicBool,
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Arc<TcpStream>>>,
    active: Mutex<usize>,
    idle: Condvar,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(
        policy: Arc<dyn Policy>,
        resolver: Arc<dyn Resolver>,
        fake_ips: FakeIpPool,
        log: DecisionLog,
        notices: Box<dyn Write + Send>,
    ) -> Engine {
        Engine {
            policy,
            resolver,
            fake_ips,
            log,
            pool: Pool::default(),
            notices: Mutex::new(notices),
            noticed_names: Mutex::new(HashSet::new()),
            stopping: AtomicBool::new(false),
            admission: Mutex::new(()),
            over_limit: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
            active: Mutex::new(0),
            idle: Condvar::new(),
        }
    }

    /// Decides `target` for `entry` and, when allowed, connects to it.
    pub(crate) fn open(&self, entry: EntryPoint, target: &Target) -> Result<Opened, Refusal> {
        let target = match self.unfake(target) {
            Ok(target) => target,
            Err(verdict) => {
                return Err(self.deny(entry, &target.host.to_string(), Some(target.port), verdict));
            }
        };
        let verdict = self.policy.decide_target(&target);
        let shown = target.host.to_string();
        if !verdict.allowed {
            return Err(self.deny(entry, &shown, Some(target.port), verdict));
        }
        let mut record = Record::new(entry, shown.clone(), Some(target.port), &verdict);
        let addrs = match &target.host {
            Host::Ip(ip) => vec![*ip],
            Host::Name(name) => match self.resolver.resolve(name) {
                Ok(addrs) if !addrs.is_empty() => addrs,
                Ok(_) => {
                    return Err(self.fail(
                        record,
                        Failure::Resolve,
                        format!("{name} has no addresses"),
                    ));
                }
                Err(err) => {
                    return Err(self.fail(
                        record,
                        Failure::Resolve,
                        format!("cannot resolve {name}: {err}"),
                    ));
                }
            },
        };
        let addrs: Vec<IpAddr> = addrs.into_iter().map(crate::host::canonical_ip).collect();
        for &addr in &addrs {
            let verdict = self.policy.decide_address(&target, addr);
            if !verdict.allowed {
                let mut record = Record::new(entry, shown, Some(target.port), &verdict);
                record.address = vec![addr];
                return Err(self.refuse(record, &target.to_string(), verdict));
            }
        }
        record.address = addrs.clone();
        let mut last_error = None;
        for addr in addrs {
            match connect(SocketAddr::new(addr, target.port)) {
                Ok(upstream) => {
                    record.address = vec![addr];
                    return Ok(Opened {
                        upstream,
                        target,
                        record,
                    });
                }
                Err(err) => last_error = Some(err),
            }
        }
        let err = last_error.unwrap_or_else(|| io::Error::other("no address"));
        let failure = match err.kind() {
            io::ErrorKind::ConnectionRefused => Failure::Refused,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Failure::TimedOut,
            _ => Failure::Unreachable,
        };
        Err(self.fail(
            record,
            failure,
            format!("cannot connect to {target}: {err}"),
        ))
    }

    /// A fake address becomes the name it was handed out for; an unknown one is refused.
    fn unfake(&self, target: &Target) -> Result<Target, Verdict> {
        let Host::Ip(ip) = target.host else {
            return Ok(target.clone());
        };
        if !FakeIpPool::contains(ip) {
            return Ok(target.clone());
        }
        match self.fake_ips.lookup(ip) {
            Some(name) => Ok(Target {
                host: Host::Name(name),
                port: target.port,
            }),
            None => Err(Verdict::engine(format!(
                "{ip} is a fake DNS address that this run's DNS stub never handed out"
            ))),
        }
    }

    /// Logs and announces a denial the engine made about `shown` (a host that may not
    /// even have been parsed).
    pub(crate) fn deny(
        &self,
        entry: EntryPoint,
        shown: &str,
        port: Option<u16>,
        verdict: Verdict,
    ) -> Refusal {
        let record = Record::new(entry, shown.to_owned(), port, &verdict);
        let what = match port {
            Some(port) if !shown.contains(':') => format!("{shown}:{port}"),
            Some(port) => format!("[{shown}]:{port}"),
            None => shown.to_owned(),
        };
        self.refuse(record, &what, verdict)
    }

    fn refuse(&self, mut record: Record, what: &str, verdict: Verdict) -> Refusal {
        record.decision = Outcome::Deny;
        let entry = record.entry;
        self.write_record(record);
        self.notice(entry, what, &verdict);
        Refusal::Denied(verdict)
    }

    fn fail(&self, mut record: Record, failure: Failure, detail: String) -> Refusal {
        record.decision = Outcome::Error;
        record.detail = Some(detail.clone());
        self.write_record(record);
        Refusal::Failed(failure, detail)
    }

    /// Writes a record; a failing log is reported once on the notices stream.
    pub(crate) fn write_record(&self, record: Record) {
        if let Err(err) = self.log.write(record)
            && self.log.summary().log_write_errors == 1
        {
            self.notice_line(&format!(
                "cordon: network: cannot write the decision log: {err}"
            ));
        }
    }

    /// The one short line a denial prints on the sandbox's stderr.
    pub(crate) fn notice(&self, entry: EntryPoint, what: &str, verdict: &Verdict) {
        if entry == EntryPoint::Dns {
            // One notice per denied name (resolvers ask A and AAAA, and retry), and a
            // bounded memory of names: past the bound, DNS denials are only logged.
            let mut seen = self
                .noticed_names
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if seen.len() >= MAX_NOTICED_NAMES || !seen.insert(what.to_owned()) {
                return;
            }
            if seen.len() == MAX_NOTICED_NAMES {
                drop(seen);
                self.notice_line(&format!(
                    "cordon: network: {MAX_NOTICED_NAMES} names denied by the DNS stub; further ones are only in the decision log"
                ));
                return;
            }
        }
        let entry = serde_json::to_value(entry)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut line = format!(
            "cordon: network: denied {what} ({entry}): {} [{}]",
            verdict.rule, verdict.origin
        );
        if let Some(hint) = &verdict.hint {
            line.push_str(&format!("; to allow it: {hint}"));
        }
        self.notice_line(&line);
    }

    pub(crate) fn notice_line(&self, line: &str) {
        let mut notices = self.notices.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(notices, "{line}");
        let _ = notices.flush();
    }

    /// Registers a live socket so that shutdown can end its connection; the guard removes
    /// it again.
    pub(crate) fn track(self: &Arc<Engine>, stream: &Arc<TcpStream>) -> Tracked {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(stream));
        if self.stopping.load(Ordering::SeqCst) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Tracked {
            engine: Arc::clone(self),
            id,
        }
    }

    /// See [`Engine::admission`].
    pub(crate) fn admitting(&self) -> std::sync::MutexGuard<'_, ()> {
        self.admission
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a connection; the guard uncounts it. `None` when [`MAX_CONNECTIONS`] are
    /// already open.
    pub(crate) fn busy(self: &Arc<Engine>) -> Option<Busy> {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        if *active >= MAX_CONNECTIONS {
            return None;
        }
        *active += 1;
        Some(Busy {
            engine: Arc::clone(self),
        })
    }

    /// Ends every live connection and waits (at most `grace`) for their threads.
    pub(crate) fn end_connections(&self, grace: Duration) {
        for stream in self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + grace;
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        while *active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            active = self
                .idle
                .wait_timeout(active, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Keeps a socket in the engine's registry of live sockets.
#[derive(Debug)]
pub(crate) struct Tracked {
    engine: Arc<Engine>,
    id: u64,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.engine
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// Counts one running connection thread.
#[derive(Debug)]
pub(crate) struct Busy {
    engine: Arc<Engine>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut active = self
            .engine
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *active = active.saturating_sub(1);
        if *active == 0 {
            self.engine.idle.notify_all();
        }
    }
}

/// Shows raw, possibly hostile host bytes in a log line: escaped, bounded.
pub(crate) fn shown_raw(raw: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(&raw[..raw.len().min(300)])
        .escape_debug()
        .collect();
    text
}

/// A blocking `connect()` bounded by [`CONNECT_TIMEOUT`] (`SO_SNDTIMEO` bounds a blocking
/// connect on Linux: it then fails with `EINPROGRESS`), with `TCP_NODELAY` set. Fewer
/// system calls than a non-blocking connect and a `poll()` (`TcpStream::connect_timeout`).
fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    let _ = socket.set_tcp_nodelay(true);
    socket.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(Errno::INPROGRESS.raw_os_error()) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            ));
        }
        Err(err) => return Err(err),
    }
    // The relay's writes must not time out.
    socket.set_write_timeout(None)?;
    Ok(socket.into())
}
