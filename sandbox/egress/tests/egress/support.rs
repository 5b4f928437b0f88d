//! The test world: recording upstream servers on loopback addresses 127.0.0.x (all on one
//! port), a table policy, a table resolver that counts its lookups, and a running engine
//! with its decision log and notices captured.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use cordon_egress::{
    DecisionLog, FakeIpPool, Host, Listeners, Policy, Proxy, Resolver, StaticResolver, Summary,
    Target, Verdict,
};

pub const ALLOWED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
pub const LITERAL_ALLOWED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
pub const EVIL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);
pub const WILD: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);
/// Stands for a metadata address: the policy denies it at the address stage.
pub const METADATA: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 66);

/// Names allowed by the table policy (any port unless given), as patterns.
const ALLOW: [(&str, Option<u16>); 5] = [
    ("allowed.test", None),
    ("*.wild.test", None),
    ("rebind.test", None),
    ("meta.test", None),
    ("ports.test", Some(1)),
];

/// The policy of the tests: a table, with the same label-boundary suffix rule as
/// cordon-policy, IP literals allowed only when listed, and an address deny-list.
#[derive(Debug, Default)]
pub struct TablePolicy;

impl TablePolicy {
    fn name_rule(name: &str) -> Option<(&'static str, Option<u16>)> {
        ALLOW
            .iter()
            .copied()
            .find(|(pattern, _)| match pattern.strip_prefix("*.") {
                Some(suffix) => name
                    .strip_suffix(suffix)
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
                None => *pattern == name,
            })
    }
}

impl Policy for TablePolicy {
    fn decide_target(&self, target: &Target) -> Verdict {
        match &target.host {
            Host::Name(name) => match Self::name_rule(name) {
                Some((pattern, port)) if port.is_none_or(|p| p == target.port) => {
                    Verdict::allow(format!("allow {pattern}"), "test table")
                }
                _ => Verdict {
                    allowed: false,
                    rule: "no allow rule".into(),
                    origin: "test table".into(),
                    hint: Some(format!("--allow-domain {name}")),
                },
            },
            Host::Ip(ip) if *ip == IpAddr::V4(LITERAL_ALLOWED) => {
                Verdict::allow("allow 127.0.0.3", "test table")
            }
            Host::Ip(ip) => Verdict::deny(format!("IP literal {ip} not allowed"), "test table"),
        }
    }

    fn decide_address(&self, _target: &Target, addr: IpAddr) -> Verdict {
        let denied = addr == IpAddr::V4(METADATA)
            || addr.is_unspecified()
            || matches!(addr, IpAddr::V4(v4) if v4.is_link_local());
        if denied {
            Verdict::deny(format!("denied address {addr}"), "test table")
        } else {
            Verdict::allow("address allowed", "test table")
        }
    }

    fn decide_name(&self, name: &str) -> Verdict {
        match Self::name_rule(name) {
            Some((pattern, _)) => Verdict::allow(format!("allow {pattern}"), "test table"),
            None => Verdict::deny("no allow rule", "test table"),
        }
    }
}

/// A resolver table that counts lookups (to prove denied names are never resolved).
#[derive(Debug)]
pub struct CountingResolver {
    table: StaticResolver,
    pub lookups: Mutex<Vec<String>>,
}

impl Resolver for CountingResolver {
    fn resolve(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        self.lookups.lock().unwrap().push(name.to_owned());
        self.table.resolve(name)
    }
}

pub fn resolver() -> CountingResolver {
    let mut table = StaticResolver::new();
    let v4 = |ip: Ipv4Addr| IpAddr::V4(ip);
    table
        .insert("allowed.test", vec![v4(ALLOWED)])
        .insert("a.wild.test", vec![v4(WILD)])
        .insert("evil.test", vec![v4(EVIL)])
        .insert("evilwild.test", vec![v4(EVIL)])
        .insert("rebind.test", vec![v4(ALLOWED), v4(METADATA)])
        .insert("meta.test", vec![v4(METADATA)])
        .insert("ports.test", vec![v4(ALLOWED)]);
    CountingResolver {
        table,
        lookups: Mutex::new(Vec::new()),
    }
}

/// What one upstream server received, connection by connection.
#[derive(Debug, Default)]
pub struct Received {
    pub connections: Vec<Vec<u8>>,
}

/// A recording upstream server: answers an HTTP request with `200 upstream <ip>` (offering
/// keep-alive, which the proxy must turn into `Connection: close`), echoes
/// anything else until the client closes, and records every connection's bytes.
#[derive(Debug)]
pub struct Upstream {
    received: Arc<(Mutex<Received>, Condvar)>,
    open: Arc<AtomicUsize>,
}

impl Upstream {
    pub fn start(listener: TcpListener) -> Upstream {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new((Mutex::new(Received::default()), Condvar::new()));
        let open = Arc::new(AtomicUsize::new(0));
        let (rec, count) = (Arc::clone(&received), Arc::clone(&open));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let (rec, count) = (Arc::clone(&rec), Arc::clone(&count));
                thread::spawn(move || {
                    let bytes = serve_upstream(stream, addr.ip());
                    rec.0.lock().unwrap().connections.push(bytes);
                    count.fetch_sub(1, Ordering::SeqCst);
                    rec.1.notify_all();
                });
            }
        });
        Upstream { received, open }
    }

    /// Waits until no connection is open, then returns everything received.
    pub fn settled(&self) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        self.received.0.lock().unwrap().connections.clone()
    }

    /// Every byte received, over all connections.
    pub fn all_bytes(&self) -> Vec<u8> {
        self.settled().concat()
    }
}

fn serve_upstream(mut stream: TcpStream, ip: IpAddr) -> Vec<u8> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return got,
            Ok(n) => n,
        };
        got.extend_from_slice(&buf[..n]);
        if got.starts_with(b"GET ") || got.starts_with(b"POST ") {
            let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let chunked = head.contains("transfer-encoding: chunked");
            let body_done = |got: &[u8]| {
                if chunked {
                    got[end + 4..].ends_with(b"0\r\n\r\n")
                } else {
                    got.len() >= end + 4 + length
                }
            };
            while !body_done(&got) {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return got,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let body = format!("upstream {ip} got {} bytes\n", got.len());
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n{body}",
                body.len()
            );
            // Keep reading (and recording) until the proxy closes: anything smuggled
            // after the request would show up here.
            let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            return got;
        }
        if stream.write_all(&buf[..n]).is_err() {
            return got;
        }
    }
}

/// A `Write` that tests can read back.
#[derive(Clone, Debug, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The whole world: upstreams on one port, the engine with every explicit entry point.
pub struct World {
    pub port: u16,
    pub upstreams: HashMap<Ipv4Addr, Upstream>,
    pub proxy_addr: SocketAddr,
    pub dns_udp: SocketAddr,
    pub dns_tcp: SocketAddr,
    pub log: Captured,
    pub notices: Captured,
    pub resolver: Arc<CountingResolver>,
    pub fake_ips: FakeIpPool,
    proxy: Option<Proxy>,
}

impl World {
    pub fn start() -> World {
        World::start_with(|_| (Vec::new(), Vec::new()))
    }

    /// With extra transparent listeners and DNS sockets, made by `extra` for the world's
    /// port once the upstreams run (e.g. inside a network namespace).
    pub fn start_with(extra: impl FnOnce(u16) -> (Vec<TcpListener>, Vec<UdpSocket>)) -> World {
        let first = cordon_egress::listen(SocketAddr::new(IpAddr::V4(ALLOWED), 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        let mut upstreams = HashMap::new();
        upstreams.insert(ALLOWED, Upstream::start(first));
        for ip in [LITERAL_ALLOWED, EVIL, WILD, METADATA] {
            let listener = cordon_egress::listen(SocketAddr::new(IpAddr::V4(ip), port)).unwrap();
            upstreams.insert(ip, Upstream::start(listener));
        }
        let (transparent, extra_dns_udp) = extra(port);
        let proxy_listener = cordon_egress::listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let proxy_addr = proxy_listener.local_addr().unwrap();
        let dns_udp_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let dns_udp = dns_udp_socket.local_addr().unwrap();
        let dns_tcp_listener = cordon_egress::listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let dns_tcp = dns_tcp_listener.local_addr().unwrap();
        let log = Captured::default();
        let notices = Captured::default();
        let resolver = Arc::new(resolver());
        let fake_ips = FakeIpPool::default();
        let proxy = cordon_egress::start(
            Listeners {
                proxy: vec![proxy_listener],
                dns_udp: [dns_udp_socket].into_iter().chain(extra_dns_udp).collect(),
                dns_tcp: vec![dns_tcp_listener],
                transparent,
            },
            Arc::new(TablePolicy),
            Arc::clone(&resolver) as Arc<dyn Resolver>,
            fake_ips.clone(),
            DecisionLog::new(Box::new(log.clone()), "test-run"),
            Box::new(notices.clone()),
        )
        .unwrap();
        World {
            port,
            upstreams,
            proxy_addr,
            dns_udp,
            dns_tcp,
            log,
            notices,
            resolver,
            fake_ips,
            proxy: Some(proxy),
        }
    }

    pub fn upstream(&self, ip: Ipv4Addr) -> &Upstream {
        &self.upstreams[&ip]
    }

    /// The decision log's lines, parsed.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        self.log
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    pub fn shutdown(&mut self) -> Summary {
        self.proxy.take().unwrap().shutdown()
    }

    pub fn connect_proxy(&self) -> TcpStream {
        let stream = TcpStream::connect(self.proxy_addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        stream
    }
}

/// Reads an HTTP response head (up to the blank line).
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads until the peer closes.
pub fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

/// A SOCKS5 CONNECT with a raw DOMAINNAME; returns the reply code and the stream.
pub fn socks_connect(world: &World, addr: &[u8], atyp: u8, port: u16) -> (u8, TcpStream) {
    let mut stream = world.connect_proxy();
    stream.write_all(&[5, 1, 0]).unwrap();
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).unwrap();
    assert_eq!(choice, [5, 0]);
    let mut request = vec![5, 1, 0, atyp];
    if atyp == 3 {
        request.push(u8::try_from(addr.len()).unwrap());
    }
    request.extend_from_slice(addr);
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).unwrap();
    let mut reply = [0u8; 10];
    match stream.read_exact(&mut reply[..2]) {
        Ok(()) => {}
        Err(_) => return (0xff, stream),
    }
    let mut rest = [0u8; 8];
    let _ = stream.read_exact(&mut rest);
    (reply[1], stream)
}
