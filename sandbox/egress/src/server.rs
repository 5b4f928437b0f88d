//! Starting and stopping the engine: one accept thread per listener, one thread per
//! accepted connection, the transparent listeners' entry point, and [`Proxy::shutdown`].
//!
//! Stopping wakes the blocked `accept()`/`recv()` calls by shutting the listening sockets
//! down for reading (Linux returns from a blocked accept with EINVAL), then ends the live
//! connections and waits briefly for their threads so that their log lines are written.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::engine::{Engine, MAX_CONNECTIONS};
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

/// A running engine. [`Proxy::shutdown`] (or drop) stops it.
#[derive(Debug)]
pub struct Proxy {
    engine: Arc<Engine>,
    wake_tcp: Vec<TcpListener>,
    wake_udp: Vec<UdpSocket>,
    threads: Vec<JoinHandle<()>>,
    stopped: bool,
}

impl Proxy {
    /// Stops accepting, ends the live connections, waits for the engine's threads (live
    /// connections at most two seconds) and returns the run's counts.
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
        self.engine.stopping.store(true, Ordering::SeqCst);
        for listener in &self.wake_tcp {
            let _ = SockRef::from(listener).shutdown(Shutdown::Read);
        }
        for socket in &self.wake_udp {
            // ENOTCONN on an unconnected socket, but Linux still wakes a blocked recv.
            let _ = SockRef::from(socket).shutdown(Shutdown::Read);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.engine.end_connections(SHUTDOWN_GRACE);
        self.engine.pool.close();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the engine's threads on `listeners`. The sockets used to reach the world are
/// created by these threads, so they belong to the caller's network namespace. Every TCP
/// listener's backlog is raised to [`LISTEN_BACKLOG`].
pub fn start(
    listeners: Listeners,
    policy: Arc<dyn Policy>,
    resolver: Arc<dyn Resolver>,
    fake_ips: FakeIpPool,
    log: DecisionLog,
    notices: Box<dyn Write + Send>,
) -> Result<Proxy, EgressError> {
    let engine = Arc::new(Engine::new(policy, resolver, fake_ips, log, notices));
    let mut proxy = Proxy {
        engine: Arc::clone(&engine),
        wake_tcp: Vec::new(),
        wake_udp: Vec::new(),
        threads: Vec::new(),
        stopped: false,
    };
    let Listeners {
        proxy: proxy_listeners,
        dns_udp,
        dns_tcp,
        transparent,
    } = listeners;
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
            .set_nonblocking(false)
            .map_err(EgressError::Listener)?;
        proxy
            .wake_tcp
            .push(listener.try_clone().map_err(EgressError::Listener)?);
        let engine = Arc::clone(&engine);
        let handle = thread::Builder::new()
            .name(format!("egress-accept-{kind:?}").to_lowercase())
            .spawn(move || accept_loop(&engine, &listener, kind))
            .map_err(EgressError::Thread)?;
        proxy.threads.push(handle);
    }
    for socket in dns_udp {
        socket
            .set_nonblocking(false)
            .map_err(EgressError::Listener)?;
        proxy
            .wake_udp
            .push(socket.try_clone().map_err(EgressError::Listener)?);
        let engine = Arc::clone(&engine);
        let handle = thread::Builder::new()
            .name("egress-dns-udp".into())
            .spawn(move || dnsstub::serve_udp(&engine, &socket))
            .map_err(EgressError::Thread)?;
        proxy.threads.push(handle);
    }
    Ok(proxy)
}

fn accept_loop(engine: &Arc<Engine>, listener: &TcpListener, kind: Kind) {
    loop {
        let accepted = listener.accept();
        if engine.stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => Arc::new(stream),
            Err(err) => match err.kind() {
                io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
                // Out of file descriptors or memory: wait instead of spinning.
                _ if matches!(err.raw_os_error(), Some(23 | 24 | 12 | 105)) => {
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
                _ => return,
            },
        };
        let Some(busy) = engine.busy() else {
            refuse_over_limit(engine, &stream);
            continue;
        };
        let worker = Arc::clone(engine);
        let spawned = engine.pool.execute(move || {
            let _busy = busy;
            let _tracked = worker.track(&stream);
            match kind {
                Kind::Proxy => proxy::serve(&worker, &stream),
                Kind::DnsTcp => dnsstub::serve_tcp(&worker, &stream),
                Kind::Transparent => serve_transparent(&worker, &stream),
            }
        });
        if spawned.is_err() {
            // The connection is dropped (closed); the next accept may succeed.
            thread::sleep(Duration::from_millis(10));
        }
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
