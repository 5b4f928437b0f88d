//! `cargo bench -p cordon-egress --bench egress`: what the egress proxy costs, as ratios
//! against a direct loopback connection measured in the same run.
//!
//! 1. Connection set-up: connect + one 1-byte round trip, directly to an echo server vs
//!    through `CONNECT` (connect, CONNECT, `200`, the same round trip). Goal (issue 12):
//!    at most 2x direct.
//! 2. Throughput: `BENCH_MB` MiB (default 1024) written to a sink server, directly vs
//!    through one CONNECT tunnel. Goal: at least 50% of direct.
//!
//! Medians over repeated runs, direct and proxied interleaved so that background load
//! hits both alike.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
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
            write!(stream, "CONNECT {target} HTTP/1.1\r\n\r\n").unwrap();
            read_head(&mut stream);
            stream
        }
    }
}

fn setup_and_round_trip(proxy: Option<SocketAddr>, echo: SocketAddr) -> Duration {
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
    for _ in 0..runs {
        direct.push(transfer(None, sink, bytes));
        proxied.push(transfer(Some(proxy_addr), sink, bytes));
    }
    let rate = |d: Duration| bytes as f64 * 8.0 / d.as_secs_f64() / 1e9;
    let (direct, proxied) = (median(direct), median(proxied));
    println!(
        "throughput ({megabytes} MiB, {runs} each): direct {:.2} Gbit/s, via CONNECT {:.2} Gbit/s, {:.0}% of direct (goal ≥ 50%)",
        rate(direct),
        rate(proxied),
        100.0 * direct.as_secs_f64() / proxied.as_secs_f64()
    );
    let summary = proxy.shutdown();
    println!("engine summary: {summary:?}");
}
