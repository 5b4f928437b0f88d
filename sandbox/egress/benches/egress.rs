//! `cargo bench -p cordon-egress --bench egress`: what the egress proxy costs, as ratios
//! against a direct loopback connection measured in the same run.
//!
//! 1. Connection set-up: connect + one 1-byte round trip, directly to an echo server vs
//!    through `CONNECT` (connect, CONNECT, `200`, the same round trip). Goal (issue 12):
//!    at most 2x direct.
//! 2. Throughput: `BENCH_MB` MiB (default 1024) written to a sink server, directly vs
//!    through one CONNECT tunnel. Goal: at least 50% of direct.
//!
//! 3. The peer, Anthropic's sandbox-runtime (srt, npm `@anthropic-ai/sandbox-runtime`),
//!    when `SRT` names its `srt` binary (it needs bubblewrap, socat and ripgrep): the same
//!    Python client does connect + CONNECT + one round trip directly, through cordon's
//!    engine and, inside `srt`, through srt's proxy (socat in the namespace, a Unix socket,
//!    srt's Node proxy on the host); medians and ratios against direct, in blocks.
//!
//! Medians over repeated runs, direct and proxied interleaved so that background load
//! hits both alike.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use cordon_egress::{DecisionLog, FakeIpPool, Listeners, Policy, StaticResolver, Target, Verdict};

/// Allows everything: the bench measures the engine, not a policy.
struct AllowAll;

impl Policy for AllowAll {
    fn decide_target(&self, _: &Target) -> Verdict {
        Verdict::allow("bench: allow all", "bench")
    }
    fn decide_address(&self, _: &Target, _: IpAddr) -> Verdict {
        Verdict::allow("bench: allow all", "bench")
    }
    fn decide_name(&self, _: &str) -> Verdict {
        Verdict::allow("bench: allow all", "bench")
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// An echo server for the round trips, a sink (counts bytes, answers the count) for the
/// throughput runs.
fn server(sink: bool) -> SocketAddr {
    let listener = cordon_egress::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut buf = vec![0u8; 256 * 1024];
                let mut total = 0u64;
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) if sink => total += n as u64,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                if sink {
                    let _ = stream.write_all(&total.to_be_bytes());
                }
            });
        }
    });
    addr
}

/// Reads the proxy's `200` head the way real clients do (whole segments, not bytes);
/// nothing follows it until the client speaks.
fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the proxy closed");
        head.extend_from_slice(&buf[..n]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

fn open(proxy: Option<SocketAddr>, target: SocketAddr) -> TcpStream {
    match proxy {
        None => {
            let stream = TcpStream::connect(target).unwrap();
            stream.set_nodelay(true).unwrap();
            stream
        }
        Some(proxy) => {
            let mut stream = TcpStream::connect(proxy).unwrap();
            stream.set_nodelay(true).unwrap();
            // One write, as real clients send a request head (`write!` straight to the
            // socket would send each formatted piece as its own segment).
            let head = format!("CONNECT {target} HTTP/1.1\r\n\r\n");
            stream.write_all(head.as_bytes()).unwrap();
            read_head(&mut stream);
            stream
        }
    }
}

/// Between two timed connections: lets the previous one's clean-up (the engine's log
/// record, its threads going idle, the echo thread's exit) finish, so that it is not
/// counted against the next measurement (of either kind).
const SETTLE: Duration = Duration::from_micros(500);

fn setup_and_round_trip(proxy: Option<SocketAddr>, echo: SocketAddr) -> Duration {
    thread::sleep(SETTLE);
    let started = Instant::now();
    let mut stream = open(proxy, echo);
    stream.write_all(b"x").unwrap();
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte).unwrap();
    started.elapsed()
}

fn transfer(proxy: Option<SocketAddr>, sink: SocketAddr, bytes: u64) -> Duration {
    let chunk = vec![0x5au8; 256 * 1024];
    let started = Instant::now();
    let mut stream = open(proxy, sink);
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut count = [0u8; 8];
    stream.read_exact(&mut count).unwrap();
    assert_eq!(u64::from_be_bytes(count), bytes);
    started.elapsed()
}

/// This process's user + system CPU time so far, all threads (`/proc/self/stat`).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // After the command name's closing parenthesis: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on every Linux ABI cordon supports.
    Duration::from_millis(ticks * 10)
}

fn main() {
    let megabytes: u64 = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let echo = server(false);
    let sink = server(true);
    let listener: TcpListener = cordon_egress::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    let proxy = cordon_egress::start(
        Listeners {
            proxy: vec![listener],
            ..Listeners::default()
        },
        Arc::new(AllowAll),
        Arc::new(StaticResolver::new()),
        FakeIpPool::default(),
        DecisionLog::new(Box::new(std::io::sink()), "bench"),
        Box::new(std::io::sink()),
    )
    .unwrap();

    // 1. Set-up + one round trip, interleaved.
    let rounds = 1000;
    for _ in 0..50 {
        setup_and_round_trip(None, echo);
        setup_and_round_trip(Some(proxy_addr), echo);
    }
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        direct.push(setup_and_round_trip(None, echo));
        proxied.push(setup_and_round_trip(Some(proxy_addr), echo));
    }
    let (direct, proxied) = (median(direct), median(proxied));
    println!(
        "set-up + 1 RTT ({rounds} each): direct {:.1} µs, via CONNECT {:.1} µs, ratio {:.2}x (goal ≤ 2x)",
        direct.as_secs_f64() * 1e6,
        proxied.as_secs_f64() * 1e6,
        proxied.as_secs_f64() / direct.as_secs_f64()
    );

    // 2. Throughput, interleaved.
    let bytes = megabytes * 1024 * 1024;
    let runs = 5;
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    let (mut direct_cpu, mut proxied_cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let before = process_cpu();
        direct.push(transfer(None, sink, bytes));
        let middle = process_cpu();
        proxied.push(transfer(Some(proxy_addr), sink, bytes));
        direct_cpu.push(middle - before);
        proxied_cpu.push(process_cpu() - middle);
    }
    let rate = |d: Duration| bytes as f64 * 8.0 / d.as_secs_f64() / 1e9;
    let (direct, proxied) = (median(direct), median(proxied));
    println!(
        "throughput ({megabytes} MiB, {runs} each): direct {:.2} Gbit/s, via CONNECT {:.2} Gbit/s, {:.0}% of direct (goal ≥ 50%)",
        rate(direct),
        rate(proxied),
        100.0 * direct.as_secs_f64() / proxied.as_secs_f64()
    );
    // CPU time depends less on what else the machine runs than wall time does.
    let (direct_cpu, proxied_cpu) = (median(direct_cpu), median(proxied_cpu));
    println!(
        "CPU time of the whole process per transfer (client, sink and relay): direct {:.0} ms, via CONNECT {:.0} ms ({:.2}x)",
        direct_cpu.as_secs_f64() * 1e3,
        proxied_cpu.as_secs_f64() * 1e3,
        proxied_cpu.as_secs_f64() / direct_cpu.as_secs_f64()
    );
    match std::env::var_os("SRT") {
        Some(srt) => peer_srt(Path::new(&srt), proxy_addr, echo),
        None => println!(
            "srt: not measured (set SRT to the path of npm @anthropic-ai/sandbox-runtime's `srt`; \
             it needs bubblewrap, socat and ripgrep)"
        ),
    }
    let summary = proxy.shutdown();
    println!("engine summary: {summary:?}");
}

/// Connect (+ CONNECT through a proxy, with `Proxy-Authorization` when the proxy URL has
/// userinfo, as srt's has) + a 1-byte round trip; prints one duration in ns per round.
const CLIENT: &str = r#"
import base64, os, socket, sys, time, urllib.parse
rounds, port, proxy = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
auth = b""
if proxy != "direct":
    url = urllib.parse.urlsplit(proxy)
    proxy = (url.hostname, url.port)
    if url.username:
        token = base64.b64encode(("%s:%s" % (urllib.parse.unquote(url.username), urllib.parse.unquote(url.password or ""))).encode())
        auth = b"Proxy-Authorization: Basic " + token + b"\r\n"
def once():
    start = time.perf_counter_ns()
    if proxy == "direct":
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        s = socket.create_connection(proxy)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n" % (port, port, auth))
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            more = s.recv(256)
            assert more, "the proxy closed"
            head += more
        assert head.startswith(b"HTTP/1.1 200"), head
    s.sendall(b"x")
    assert s.recv(1) == b"x"
    s.close()
    return time.perf_counter_ns() - start
for _ in range(20):
    once()
print("\n".join(str(once()) for _ in range(rounds)))
"#;

fn python_rounds(command: &mut std::process::Command) -> Vec<Duration> {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .map(Duration::from_nanos)
        .collect()
}

fn peer_srt(srt: &Path, proxy: SocketAddr, echo: SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let client = dir.path().join("client.py");
    std::fs::write(&client, CLIENT).unwrap();
    let settings = dir.path().join("srt.json");
    std::fs::write(
        &settings,
        r#"{"network": {"allowedDomains": ["127.0.0.1"], "deniedDomains": []},
            "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}"#,
    )
    .unwrap();
    let (rounds, blocks) = (200, 3);
    let port = echo.port().to_string();
    let client = client.display().to_string();
    let python = |target: &str| {
        let mut command = std::process::Command::new("python3");
        command.args([client.as_str(), &rounds.to_string(), &port, target]);
        command
    };
    let (mut direct, mut cordon, mut peer) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..blocks {
        direct.extend(python_rounds(&mut python("direct")));
        cordon.extend(python_rounds(&mut python(&format!("http://{proxy}"))));
        peer.extend(python_rounds(
            std::process::Command::new(srt)
                .arg("-s")
                .arg(&settings)
                .arg("-c")
                .arg(format!("python3 {client} {rounds} {port} \"$HTTP_PROXY\"")),
        ));
    }
    let (direct, cordon, peer) = (median(direct), median(cordon), median(peer));
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "peer, set-up + 1 RTT from Python ({} each): direct {:.1} µs, cordon {:.1} µs ({:.2}x), srt {:.1} µs ({:.2}x)",
        rounds * blocks,
        us(direct),
        us(cordon),
        cordon.as_secs_f64() / direct.as_secs_f64(),
        us(peer),
        peer.as_secs_f64() / direct.as_secs_f64()
    );
}
