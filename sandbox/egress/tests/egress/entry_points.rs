//! Each entry point on its own: what an allowed request does end to end, how refusals are
//! answered, bodies, pipelining, SNI, the log and the summary, 256 concurrent tunnels.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use cordon_egress::tls::build_client_hello;

use crate::support::{
    ALLOWED, EVIL, LITERAL_ALLOWED, World, read_head, read_to_end, socks_connect,
};

#[test]
fn connect_tunnel_relays_both_ways_and_is_logged() {
    let mut world = World::start();
    let mut client = world.connect_proxy();
    write!(
        client,
        "CONNECT allowed.test:{0} HTTP/1.1\r\nHost: allowed.test:{0}\r\n\r\n",
        world.port
    )
    .unwrap();
    assert_eq!(
        read_head(&mut client),
        "HTTP/1.1 200 Connection Established\r\n\r\n"
    );
    client.write_all(b"ping through the tunnel").unwrap();
    let mut echo = [0u8; 23];
    client.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"ping through the tunnel");
    // Half-close: the upstream sees EOF, the echo server closes, we see EOF.
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(read_to_end(&mut client).is_empty());
    assert_eq!(
        world.upstream(ALLOWED).all_bytes(),
        b"ping through the tunnel"
    );
    let summary = world.shutdown();
    assert_eq!(summary.connections_allowed, 1);
    assert_eq!(summary.bytes_up, 23);
    assert_eq!(summary.bytes_down, 23);
    let lines = world.log_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["entry"], "connect");
    assert_eq!(line["host"], "allowed.test");
    assert_eq!(line["port"], world.port);
    assert_eq!(line["address"][0], "127.0.0.2");
    assert_eq!(line["decision"], "allow");
    assert_eq!(line["rule"], "allow allowed.test");
    assert_eq!(line["run_id"], "test-run");
    assert_eq!(line["bytes_up"], 23);
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn a_denied_connect_gets_403_a_notice_and_no_connection() {
    let mut world = World::start();
    let mut client = world.connect_proxy();
    write!(client, "CONNECT evil.test:{} HTTP/1.1\r\n\r\n", world.port).unwrap();
    let response = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 403 Forbidden\r\n"),
        "{response}"
    );
    assert!(
        response.contains("X-Proxy-Error: blocked-by-policy"),
        "{response}"
    );
    assert!(
        response.ends_with("to allow it: --allow-domain evil.test\n"),
        "{response}"
    );
    assert!(world.upstream(EVIL).settled().is_empty());
    assert!(
        world.resolver.lookups.lock().unwrap().is_empty(),
        "a denied name was resolved"
    );
    let notices = world.notices.text();
    assert_eq!(notices.lines().count(), 1, "{notices}");
    assert!(
        notices.contains(&format!("denied evil.test:{} (connect)", world.port)),
        "{notices}"
    );
    let summary = world.shutdown();
    assert_eq!(
        (summary.connections_allowed, summary.connections_denied),
        (0, 1)
    );
    assert_eq!(world.log_lines()[0]["decision"], "deny");
}

#[test]
fn absolute_uri_http_is_forwarded_once_with_connection_close() {
    let mut world = World::start();
    let mut client = world.connect_proxy();
    // A second request pipelined after the first must never reach anyone.
    write!(
        client,
        "GET http://allowed.test:{0}/first?x=1 HTTP/1.1\r\nHost: allowed.test:{0}\r\nProxy-Connection: keep-alive\r\n\r\n\
         GET http://evil.test:{0}/second HTTP/1.1\r\nHost: evil.test:{0}\r\n\r\n",
        world.port
    )
    .unwrap();
    let response = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    // The upstream offered keep-alive; the client is told the connection ends.
    assert!(
        response.contains("\r\nConnection: close\r\n\r\nupstream 127.0.0.2"),
        "{response}"
    );
    assert!(
        !response.to_lowercase().contains("keep-alive"),
        "{response}"
    );
    let got = String::from_utf8(world.upstream(ALLOWED).all_bytes()).unwrap();
    assert_eq!(
        got,
        format!(
            "GET /first?x=1 HTTP/1.1\r\nHost: allowed.test:{}\r\nConnection: close\r\n\r\n",
            world.port
        )
    );
    assert!(world.upstream(EVIL).settled().is_empty());
    world.shutdown();
    let line = &world.log_lines()[0];
    assert_eq!(line["entry"], "http");
    assert_eq!(line["bytes_up"], got.len());
    assert_eq!(line["bytes_down"], response.len());
}

#[test]
fn request_bodies_stream_and_stop_at_their_end() {
    let world = World::start();
    let body = vec![b'x'; 300_000];
    let mut client = world.connect_proxy();
    write!(
        client,
        "POST http://allowed.test:{0}/upload HTTP/1.1\r\nHost: allowed.test:{0}\r\nContent-Length: {1}\r\n\r\n",
        world.port,
        body.len()
    )
    .unwrap();
    client.write_all(&body).unwrap();
    client.write_all(b"SMUGGLED").unwrap();
    let response = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(response.contains("200 OK"), "{response}");
    let got = world.upstream(ALLOWED).all_bytes();
    assert!(got.ends_with(&body));
    assert!(!got.windows(8).any(|w| w == b"SMUGGLED"));

    let mut client = world.connect_proxy();
    write!(
        client,
        "POST http://allowed.test:{0}/chunked HTTP/1.1\r\nHost: allowed.test:{0}\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n0\r\n\r\nGET http://evil.test/ HTTP/1.1\r\n\r\n",
        world.port
    )
    .unwrap();
    let response = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(response.contains("200 OK"), "{response}");
    let all = world.upstream(ALLOWED).settled();
    let last = String::from_utf8_lossy(all.last().unwrap()).into_owned();
    assert!(last.ends_with("\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), "{last}");
    assert!(!last.contains("evil"), "{last}");
}

#[test]
fn host_header_must_match_the_uri() {
    let world = World::start();
    for host in ["evil.test", "allowed.test:1", "allowed.test\u{0}.evil.test"] {
        let mut client = world.connect_proxy();
        write!(
            client,
            "GET http://allowed.test:{0}/ HTTP/1.1\r\nHost: {host}\r\n\r\n",
            world.port
        )
        .unwrap();
        let response = String::from_utf8_lossy(&read_to_end(&mut client)).into_owned();
        assert!(
            response.starts_with("HTTP/1.1 421") || response.starts_with("HTTP/1.1 400"),
            "{host:?}: {response}"
        );
    }
    assert!(world.upstream(ALLOWED).settled().is_empty());
    let mut client = world.connect_proxy();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
        .unwrap();
    let response = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("absolute URI"), "{response}");
}

#[test]
fn socks5_domain_ipv4_and_refusals() {
    let world = World::start();
    let (code, mut stream) = socks_connect(&world, b"allowed.test", 3, world.port);
    assert_eq!(code, 0);
    stream.write_all(b"socks hello").unwrap();
    let mut echo = [0u8; 11];
    stream.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"socks hello");
    drop(stream);
    let (code, _) = socks_connect(&world, &LITERAL_ALLOWED.octets(), 1, world.port);
    assert_eq!(code, 0);
    // ATYP 4: a v4-mapped address is the IPv4 literal; ::1 is an IP literal not allowed.
    let mapped: std::net::Ipv6Addr = "::ffff:127.0.0.3".parse().unwrap();
    let (code, _) = socks_connect(&world, &mapped.octets(), 4, world.port);
    assert_eq!(code, 0);
    let (code, _) = socks_connect(
        &world,
        &std::net::Ipv6Addr::LOCALHOST.octets(),
        4,
        world.port,
    );
    assert_eq!(code, 2);
    let (code, _) = socks_connect(&world, b"evil.test", 3, world.port);
    assert_eq!(code, 2, "connection not allowed by ruleset");
    let (code, _) = socks_connect(&world, b"evil.test\0.allowed.test", 3, world.port);
    assert_eq!(code, 2);
    let (code, _) = socks_connect(&world, b"nowhere.wild.test", 3, world.port);
    assert_eq!(code, 4, "host unreachable when the name does not resolve");
    // BIND is refused with "command not supported".
    let mut stream = world.connect_proxy();
    stream
        .write_all(&[5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 2, 0, 80])
        .unwrap();
    let mut reply = [0u8; 12];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply[..2], &[5, 0]);
    assert_eq!(&reply[2..4], &[5, 7]);
    // SOCKS4 gets its own rejection format.
    let mut stream = world.connect_proxy();
    stream.write_all(&[4, 1, 0, 80, 127, 0, 0, 2, 0]).unwrap();
    let mut reply = [0u8; 8];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(reply[1], 0x5b);
    // Username/password only: no acceptable method.
    let mut stream = world.connect_proxy();
    stream.write_all(&[5, 1, 2]).unwrap();
    let mut reply = [0u8; 2];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(reply, [5, 0xff]);
    assert!(world.upstream(EVIL).settled().is_empty());
}

/// (CONNECT or SOCKS target, ClientHello server name, whether the hello may pass).
type SniCase = (&'static [u8], Option<&'static [u8]>, bool);

#[test]
fn tls_server_name_must_name_the_target() {
    let world = World::start();
    let cases: [SniCase; 6] = [
        (b"allowed.test", Some(b"allowed.test"), true),
        (b"allowed.test", Some(b"ALLOWED.Test."), true),
        (b"allowed.test", Some(b"evil.test"), false),
        (b"allowed.test", None, false),
        (b"allowed.test", Some(b"evil.test\0allowed.test"), false),
        (b"127.0.0.3", Some(b"allowed.test"), false),
    ];
    for (index, (target, sni, allowed)) in cases.into_iter().enumerate() {
        for via_socks in [false, true] {
            let hello = build_client_hello(sni, index * 700 + usize::from(via_socks) * 3);
            let mut stream = if via_socks {
                let (code, stream) = socks_connect(&world, target, 3, world.port);
                assert_eq!(code, 0);
                stream
            } else {
                let mut stream = world.connect_proxy();
                stream.write_all(b"CONNECT ").unwrap();
                stream.write_all(target).unwrap();
                write!(stream, ":{} HTTP/1.1\r\n\r\n", world.port).unwrap();
                assert!(read_head(&mut stream).contains(" 200 "));
                stream
            };
            // Sent in two segments: the engine must reassemble.
            let (a, b) = hello.split_at(hello.len() / 2);
            stream.write_all(a).unwrap();
            thread::sleep(Duration::from_millis(20));
            stream.write_all(b).unwrap();
            let echoed = read_exact_or_eof(&mut stream, hello.len());
            assert_eq!(echoed == hello, allowed, "case {index} socks={via_socks}");
        }
    }
    let to_allowed = world.upstream(ALLOWED).settled();
    // Only the two allowed cases (each via CONNECT and SOCKS) sent bytes; the refused
    // ones reached the server as empty connections at most.
    assert_eq!(to_allowed.iter().filter(|c| !c.is_empty()).count(), 4);
    assert!(
        world
            .upstream(LITERAL_ALLOWED)
            .settled()
            .iter()
            .all(Vec::is_empty)
    );
    let notices = world.notices.text();
    assert!(
        notices.contains("the TLS server name evil.test is not the target allowed.test"),
        "{notices}"
    );
}

fn read_exact_or_eof(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match stream.read(&mut out[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    out.truncate(got);
    out
}

#[test]
fn two_hundred_fifty_six_concurrent_tunnels_all_succeed() {
    // Both ends of 256 tunnels live in this process (client, proxy's two sockets, server):
    // more than the usual soft limit of 1024 descriptors.
    raise_fd_limit();
    let mut world = World::start();
    let port = world.port;
    let proxy = world.proxy_addr;
    // Open all 256 first (so they are concurrent), then use them.
    let mut streams: Vec<TcpStream> = (0..256)
        .map(|_| {
            let mut s = TcpStream::connect(proxy).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            write!(s, "CONNECT allowed.test:{port} HTTP/1.1\r\n\r\n").unwrap();
            s
        })
        .collect();
    for (i, s) in streams.iter_mut().enumerate() {
        assert!(read_head(s).contains(" 200 "), "tunnel {i}");
        write!(s, "tunnel {i:03}").unwrap();
    }
    for (i, s) in streams.iter_mut().enumerate() {
        let mut echo = [0u8; 10];
        s.read_exact(&mut echo).unwrap();
        assert_eq!(echo, format!("tunnel {i:03}").as_bytes());
    }
    drop(streams);
    assert_eq!(world.upstream(ALLOWED).settled().len(), 256);
    let summary = world.shutdown();
    assert_eq!(summary.connections_allowed, 256);
    assert_eq!(world.log_lines().len(), 256);
}

#[test]
fn shutdown_ends_a_long_lived_tunnel_and_logs_it() {
    let mut world = World::start();
    let mut client = world.connect_proxy();
    write!(
        client,
        "CONNECT allowed.test:{} HTTP/1.1\r\n\r\n",
        world.port
    )
    .unwrap();
    assert!(read_head(&mut client).contains(" 200 "));
    client.write_all(b"x").unwrap();
    let mut one = [0u8; 1];
    client.read_exact(&mut one).unwrap();
    thread::sleep(Duration::from_millis(1100));
    let summary = world.shutdown();
    assert_eq!(summary.connections_allowed, 1);
    assert!(read_to_end(&mut client).is_empty());
    let line = &world.log_lines()[0];
    assert!(line["duration_ms"].as_u64().unwrap() >= 1000, "{line}");
}

/// Raises this process's soft descriptor limit to the hard one.
fn raise_fd_limit() {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    )
    .unwrap();
}

#[test]
fn connections_beyond_the_limit_are_reset_and_the_rest_still_work() {
    raise_fd_limit();
    let mut world = World::start();
    // Silent clients hold a thread each in the pre-decision read.
    let idle: Vec<TcpStream> = (0..cordon_egress::MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(world.proxy_addr).unwrap())
        .collect();
    // Wait until the engine has accepted them all, then one more is reset.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut extra = world.connect_proxy();
        let _ = write!(
            extra,
            "CONNECT allowed.test:{} HTTP/1.1\r\n\r\n",
            world.port
        );
        let mut buf = [0u8; 64];
        match extra.read(&mut buf) {
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
            Ok(0) => break,
            _ => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no connection was refused"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let notices = world.notices.text();
    assert_eq!(
        notices.matches("connections at once").count(),
        1,
        "{notices}"
    );
    // Once the silent clients leave, connections are served again.
    drop(idle);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut client = world.connect_proxy();
        write!(
            client,
            "CONNECT allowed.test:{} HTTP/1.1\r\n\r\n",
            world.port
        )
        .unwrap();
        if read_head(&mut client).contains(" 200 ") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the engine did not recover"
        );
        thread::sleep(Duration::from_millis(50));
    }
    world.shutdown();
    assert!(
        world
            .log_lines()
            .iter()
            .any(|l| l["host"] == "<connection limit>")
    );
}

#[test]
fn fake_addresses_map_back_to_their_names_on_every_entry_point() {
    let mut world = World::start();
    let fake = world.fake_ips.assign("allowed.test").unwrap().v4;
    let mut client = world.connect_proxy();
    write!(client, "CONNECT {fake}:{} HTTP/1.1\r\n\r\n", world.port).unwrap();
    assert!(read_head(&mut client).contains(" 200 "));
    client.write_all(b"via fake").unwrap();
    let mut echo = [0u8; 8];
    client.read_exact(&mut echo).unwrap();
    drop(client);
    // A fake address this run never handed out is refused.
    let mut client = world.connect_proxy();
    write!(
        client,
        "CONNECT 198.18.0.77:{} HTTP/1.1\r\n\r\n",
        world.port
    )
    .unwrap();
    let response = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(response.contains("never handed out"), "{response}");
    assert_eq!(world.upstream(ALLOWED).all_bytes(), b"via fake");
    world.shutdown();
    let lines = world.log_lines();
    assert!(
        lines
            .iter()
            .any(|l| l["host"] == "allowed.test" && l["decision"] == "allow")
    );
    assert!(
        lines
            .iter()
            .any(|l| l["host"] == "198.18.0.77" && l["decision"] == "deny")
    );
    let notices = world.notices.text();
    assert!(
        notices.contains(&format!("denied 198.18.0.77:{} (connect)", world.port)),
        "{notices}"
    );
}

#[test]
fn an_oversized_head_is_refused_before_any_decision() {
    let mut world = World::start();
    let mut client = world.connect_proxy();
    let padding = "a".repeat(20 * 1024);
    // The proxy answers as soon as the bound is reached; the rest may meet a closed socket.
    let _ = write!(
        client,
        "GET http://allowed.test:{}/ HTTP/1.1\r\nX-Pad: {padding}\r\n\r\n",
        world.port
    );
    let response = String::from_utf8_lossy(&read_to_end(&mut client)).into_owned();
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
    assert!(world.upstream(ALLOWED).settled().is_empty());
    assert!(world.resolver.lookups.lock().unwrap().is_empty());
    let summary = world.shutdown();
    assert_eq!(summary.connections_denied, 1);
}

#[test]
fn a_head_that_never_ends_times_out_with_408() {
    let world = World::start();
    let mut client = world.connect_proxy();
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        client,
        "CONNECT allowed.test:{} HTTP/1.1\r\nX-Slow: ",
        world.port
    )
    .unwrap();
    let started = std::time::Instant::now();
    let response = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
    assert!(world.upstream(ALLOWED).settled().is_empty());
}
