//! Starting and stopping the engine: one thread at a time (the leader) polls every
//! listener (and answers the DNS stub's UDP queries itself); the transparent listeners'
//! entry point, and [`Proxy::shutdown`].
//!
//! Leader/follower: the leader that accepts a connection hands the polling to a pooled
//! thread and serves the connection itself, so the connection starts on the thread the
//! kernel already woke (handing it over instead costs a second wake-up on the connection's
//! path: measured ~10-20 us of a CONNECT's set-up). Only one thread polls at a time, so
//! start-up and stop stay cheap (research: proxy start-up is on every `cordon run`'s path).
//!
//! Stopping closes the admission (see [`Engine::admission`]: no connection is accepted
//! and no DNS query answered after it), wakes the leader's `poll()` by closing one end of
//! a socket pair it polls too (level-triggered: a leader that starts polling later sees
//! it at once) without waiting for it (it closes the listeners as it leaves; waiting
//! cost a wake-up and a thread exit at the end of every run), then ends the live
//! connections and waits briefly for their threads so that their log lines are written.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::engine::{Busy, Engine, MAX_CONNECTIONS};
use crate::fakeip::FakeIpPool;
use crate::host::{Host, Target};
use crate::inspect::Inspect;
use crate::log::{DecisionLog, EntryPoint, Record, Summary};
use crate::policy::{Policy, Resolver, Verdict};
use crate::relay::{Up, relay};
use crate::{EgressError, Listeners, dnsstub, proxy};

/// The listen backlog the engine sets on every TCP listener (package-manager bursts open
/// hundreds of connections at once; srt's backlog of 5 stalled installs for a minute).
pub const LISTEN_BACKLOG: i32 = 4096;
/// How long shutdown waits for live connections to write their log lines.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A TCP listener on `addr` with [`LISTEN_BACKLOG`], `SO_REUSEADDR`, and (for `[::]`)
/// accepting IPv4 too. For callers that create the listeners (inside the sandbox's
/// network namespace) and for tests.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Proxy,
    DnsTcp,
    Transparent,
}

/// One socket the accept thread polls.
#[derive(Debug)]
enum Served {
    Tcp(TcpListener, Kind),
    DnsUdp(UdpSocket),
}

impl AsFd for Served {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Served::Tcp(listener, _) => listener.as_fd(),
            Served::DnsUdp(socket) => socket.as_fd(),
        }
    }
}

/// A running engine. [`Proxy::shutdown`] (or drop) stops it.
#[derive(Debug)]
pub struct Proxy {
    engine: Arc<Engine>,
    /// Dropping it wakes the leader's poll (its peer reads end of stream).
    wake: Option<UnixStream>,
    stopped: bool,
}

impl Proxy {
    /// Stops accepting, ends the live connections, waits for their threads (at most two
    /// seconds) and returns the run's counts. The polling thread closes the listeners
    /// as it leaves, shortly after.
    pub fn shutdown(mut self) -> Summary {
        self.stop();
        self.engine.log.summary()
    }

    /// The counts so far, while running.
    pub fn summary(&self) -> Summary {
        self.engine.log.summary()
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        {
            let _admission = self.engine.admitting();
            self.engine.stopping.store(true, Ordering::SeqCst);
        }
        drop(self.wake.take());
        self.engine.end_connections(SHUTDOWN_GRACE);
        self.engine.pool.close();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the leader polls, shared by whichever thread leads.
struct Acceptor {
    engine: Arc<Engine>,
    served: Vec<Served>,
    /// Readable (end of stream) once the [`Proxy`] stops.
    woken: UnixStream,
}

/// Starts the engine on `listeners`: one leader thread polls them all (TCP listeners and
/// the DNS stub's UDP sockets, which it answers itself) and serves each connection it
/// accepts after handing the polling to a pooled thread. The sockets used to reach the
/// world are created by those threads, so they belong to the caller's network namespace.
/// Every TCP listener's backlog is raised to [`LISTEN_BACKLOG`].
pub fn start(
    listeners: Listeners,
    policy: Arc<dyn Policy>,
    resolver: Arc<dyn Resolver>,
    fake_ips: FakeIpPool,
    log: DecisionLog,
    notices: Box<dyn Write + Send>,
) -> Result<Proxy, EgressError> {
    let engine = Arc::new(Engine::new(policy, resolver, fake_ips, log, notices));
    let Listeners {
        proxy: proxy_listeners,
        dns_udp,
        dns_tcp,
        transparent,
    } = listeners;
    let mut served = Vec::new();
    let tcp = proxy_listeners
        .into_iter()
        .map(|l| (l, Kind::Proxy))
        .chain(dns_tcp.into_iter().map(|l| (l, Kind::DnsTcp)))
        .chain(transparent.into_iter().map(|l| (l, Kind::Transparent)));
    for (listener, kind) in tcp {
        SockRef::from(&listener)
            .listen(LISTEN_BACKLOG)
            .map_err(EgressError::Listener)?;
        listener
            .set_nonblocking(true)
            .map_err(EgressError::Listener)?;
        served.push(Served::Tcp(listener, kind));
    }
    for socket in dns_udp {
        socket
            .set_nonblocking(true)
            .map_err(EgressError::Listener)?;
        served.push(Served::DnsUdp(socket));
    }
    let (wake, woken) = UnixStream::pair().map_err(EgressError::Listener)?;
    let acceptor = Arc::new(Acceptor {
        engine: Arc::clone(&engine),
        served,
        woken,
    });
    thread::Builder::new()
        .name("egress-accept".into())
        .spawn(move || lead(acceptor))
        .map_err(EgressError::Thread)?;
    Ok(Proxy {
        engine,
        wake: Some(wake),
        stopped: false,
    })
}

/// Leads until a connection is accepted, then serves it, holding no reference to the
/// acceptor meanwhile (so that the listeners close when the last leader leaves).
fn lead(acceptor: Arc<Acceptor>) {
    let accepted = poll_until_accepted(&acceptor);
    drop(acceptor);
    if let Some(connection) = accepted {
        connection.serve();
    }
}

/// Polls every served socket and `woken` until a connection is accepted (then hands the
/// lead on and returns it) or the [`Proxy`] stops (then returns `None`).
fn poll_until_accepted(acceptor: &Arc<Acceptor>) -> Option<Accepted> {
    let Acceptor {
        engine,
        served,
        woken,
        ..
    } = &**acceptor;
    let mut udp_buffer = Vec::new();
    let mut ready = Vec::with_capacity(served.len());
    loop {
        let mut fds: Vec<PollFd<'_>> = served
            .iter()
            .map(|s| PollFd::new(s, PollFlags::IN))
            .collect();
        fds.push(PollFd::new(woken, PollFlags::IN));
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(_) => {
                // Out of memory for the poll set: wait instead of spinning.
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        }
        if engine.stopping.load(Ordering::SeqCst)
            || fds.last().is_some_and(|fd| !fd.revents().is_empty())
        {
            return None;
        }
        ready.clear();
        ready.extend(
            fds.iter()
                .enumerate()
                .filter(|(_, fd)| !fd.revents().is_empty())
                .map(|(i, _)| i),
        );
        drop(fds);
        for &i in &ready {
            let accepted = {
                let _admission = engine.admitting();
                if engine.stopping.load(Ordering::SeqCst) {
                    return None;
                }
                match &served[i] {
                    Served::Tcp(listener, kind) => accept_waiting(engine, listener, *kind),
                    Served::DnsUdp(socket) => {
                        if udp_buffer.is_empty() {
                            udp_buffer = dnsstub::udp_buffer();
                        }
                        dnsstub::answer_waiting(engine, socket, &mut udp_buffer);
                        None
                    }
                }
            };
            if let Some(connection) = accepted {
                let next = Arc::clone(acceptor);
                if engine.pool.execute(move || lead(next)).is_ok() {
                    return Some(connection);
                }
                // No thread to lead on: the connection is dropped (closed) and this
                // thread keeps leading; the next accept may succeed.
                drop(connection);
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// An accepted connection, counted, not yet served.
struct Accepted {
    engine: Arc<Engine>,
    stream: Arc<TcpStream>,
    kind: Kind,
    _busy: Busy,
}

impl Accepted {
    fn serve(self) {
        let engine = &self.engine;
        let _tracked = engine.track(&self.stream);
        match self.kind {
            Kind::Proxy => proxy::serve(engine, &self.stream),
            Kind::DnsTcp => dnsstub::serve_tcp(engine, &self.stream),
            Kind::Transparent => serve_transparent(engine, &self.stream),
        }
    }
}

/// Accepts one connection waiting on a non-blocking listener (accepted sockets are
/// blocking: `accept4` does not pass `O_NONBLOCK` on). One per turn: `poll` is
/// level-triggered, so more waiting connections wake the next leader at once, and the
/// common single connection costs no extra `accept` that would only answer `EAGAIN`
/// (measured: ~4 us of a ~245 us CONNECT set-up). `None` when nothing is to be served
/// (nothing waiting, or over [`MAX_CONNECTIONS`]: that one was refused).
fn accept_waiting(engine: &Arc<Engine>, listener: &TcpListener, kind: Kind) -> Option<Accepted> {
    // Loops only past an interrupted call or a connection the client already aborted.
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => Arc::new(stream),
            Err(err) => match err.kind() {
                io::ErrorKind::WouldBlock => return None,
                io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
                // Out of file descriptors or memory (or anything unexpected): wait a
                // little instead of spinning on a listener that stays readable.
                _ => {
                    thread::sleep(Duration::from_millis(50));
                    return None;
                }
            },
        };
        let Some(busy) = engine.busy() else {
            refuse_over_limit(engine, &stream);
            return None;
        };
        return Some(Accepted {
            engine: Arc::clone(engine),
            stream,
            kind,
            _busy: busy,
        });
    }
}

/// Resets a connection beyond [`MAX_CONNECTIONS`], logs it, and says so once.
fn refuse_over_limit(engine: &Engine, stream: &TcpStream) {
    let _ = SockRef::from(stream).set_linger(Some(Duration::ZERO));
    let verdict = Verdict::engine(format!("more than {MAX_CONNECTIONS} connections at once"));
    engine.write_record(Record::new(
        EntryPoint::Connect,
        "<connection limit>".into(),
        None,
        &verdict,
    ));
    if !engine.over_limit.swap(true, Ordering::SeqCst) {
        engine.notice_line(&format!(
            "cordon: network: more than {MAX_CONNECTIONS} connections at once; further ones are reset"
        ));
    }
}

/// A direct connection captured by the local route: its original destination is the
/// accepted socket's own address. A fake address maps back to its name; a real one is an
/// IP-literal request. Port 443 must carry TLS naming the target; port 80 an HTTP/1
/// request whose Host names it (checked as the explicit proxy checks it).
fn serve_transparent(engine: &Arc<Engine>, client: &Arc<TcpStream>) {
    let started = Instant::now();
    let _ = client.set_nodelay(true);
    let Ok(destination) = client.local_addr() else {
        return;
    };
    let target = Target {
        host: Host::from_ip(destination.ip()),
        port: destination.port(),
    };
    match engine.open(EntryPoint::Transparent, &target) {
        Ok(opened) => {
            let inspect = match destination.port() {
                443 => Inspect::Tls { required: true },
                80 => Inspect::Http,
                _ => Inspect::Tls { required: false },
            };
            relay(
                engine,
                client,
                opened,
                Vec::new(),
                Up::Tunnel(inspect),
                started,
            );
        }
        Err(_) => {
            // A reset, so that the program fails at once with "connection reset".
            let _ = SockRef::from(&**client).set_linger(Some(Duration::ZERO));
        }
    }
}
