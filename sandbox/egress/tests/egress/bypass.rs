//! The bypass corpus (research §3): every row is sent through every explicit entry point
//! (CONNECT, absolute-URI HTTP, SOCKS5 with a DOMAINNAME) and, for names, the DNS stub. All
//! entry points must agree, and the verdict is read from the upstream servers: an allowed
//! row's marker reaches exactly the expected server, a denied row's marker reaches none.
//! The transparent listeners run the same corpus in `transparent.rs`.

use std::io::{Read, Write};
use std::net::Ipv4Addr;

use cordon_egress::dns::{Rcode, TYPE_A, build_query, read_response};

use crate::support::{
    ALLOWED, LITERAL_ALLOWED, WILD, World, read_head, read_to_end, socks_connect,
};

/// One row: the host bytes as a client would send them, the server that must receive an
/// allowed request (`None` = denied), and whether the DNS stub answers the name (`None`:
/// not a name, the stub is not asked).
pub struct Row {
    pub host: &'static [u8],
    pub reaches: Option<Ipv4Addr>,
    pub dns: Option<bool>,
}

const fn row(host: &'static [u8], reaches: Option<Ipv4Addr>, dns: Option<bool>) -> Row {
    Row { host, reaches, dns }
}

pub const CORPUS: &[Row] = &[
    // Allowed names, in canonical and odd spellings.
    row(b"allowed.test", Some(ALLOWED), Some(true)),
    row(b"ALLOWED.Test.", Some(ALLOWED), Some(true)),
    row(b"a.wild.test", Some(WILD), Some(true)),
    // Allowed IP literal in every spelling.
    row(b"127.0.0.3", Some(LITERAL_ALLOWED), None),
    row(b"2130706435", Some(LITERAL_ALLOWED), None),
    row(b"0x7f.0.0.3", Some(LITERAL_ALLOWED), None),
    row(b"[::ffff:127.0.0.3]", Some(LITERAL_ALLOWED), None),
    // Denied names, suffix confusion, apex of a wildcard, an allowed name as a prefix.
    row(b"evil.test", None, Some(false)),
    row(b"EVIL.test.", None, Some(false)),
    row(b"evilwild.test", None, Some(false)),
    row(b"wild.test", None, Some(false)),
    row(b"allowed.test.evil.test", None, Some(false)),
    row(b"c2VjcmV0.evil.test", None, Some(false)),
    // Denied IP literals (127.0.0.4 has a server that must stay silent).
    row(b"127.0.0.4", None, None),
    row(b"2130706436", None, None),
    row(b"0x7f.4", None, None),
    row(b"0177.0.0.4", None, None),
    row(b"127.4", None, None),
    row(b"[::ffff:7f00:4]", None, None),
    row(b"127.0.0.66", None, None),
    row(b"0x7f000042", None, None),
    // Allowed names whose address is denied (rebinding, metadata): the DNS stub answers
    // them (it resolves nothing), the connection is refused at the address stage.
    row(b"rebind.test", None, Some(true)),
    row(b"meta.test", None, Some(true)),
    // Allowed name, but only on another port.
    row(b"ports.test", None, Some(true)),
    // Parser differentials: NUL and control bytes, userinfo, empty labels, escapes, zones,
    // non-ASCII lookalikes.
    row(b"evil.test\0.allowed.test", None, Some(false)),
    row(b"allowed.test\0", None, Some(false)),
    row(b"allowed.test\t", None, Some(false)),
    row(b"a@allowed.test", None, Some(false)),
    // (A DNS message cannot carry an empty label: a zero length ends the name.)
    row(b"allowed..test", None, None),
    row(b"allowed.test..", None, None),
    row(b"allowed%2etest", None, Some(false)),
    row(b"[fe80::1%25lo]", None, None),
    row("allowed\u{3002}test".as_bytes(), None, Some(false)),
    row(b"1.2.3.999", None, None),
];

fn marker(index: usize, entry: &str) -> String {
    format!("MARK-{index:02}-{entry}")
}

fn authority(host: &[u8], port: u16) -> Vec<u8> {
    [host, format!(":{port}").as_bytes()].concat()
}

fn via_connect(world: &World, index: usize, host: &[u8]) -> bool {
    let mut stream = world.connect_proxy();
    let line = [
        b"CONNECT ".as_slice(),
        &authority(host, world.port),
        b" HTTP/1.1\r\n\r\n",
    ]
    .concat();
    stream.write_all(&line).unwrap();
    if !read_head(&mut stream).contains(" 200 ") {
        return false;
    }
    tunnel_echo(&mut stream, &marker(index, "connect"))
}

fn via_http(world: &World, index: usize, host: &[u8]) -> bool {
    let mut stream = world.connect_proxy();
    let authority = authority(host, world.port);
    let request = [
        b"GET http://".as_slice(),
        &authority,
        format!("/{} HTTP/1.1\r\nHost: ", marker(index, "http")).as_bytes(),
        &authority,
        b"\r\n\r\n",
    ]
    .concat();
    stream.write_all(&request).unwrap();
    String::from_utf8_lossy(&read_to_end(&mut stream)).starts_with("HTTP/1.1 200 OK")
}

fn via_socks(world: &World, index: usize, host: &[u8]) -> bool {
    if host.len() > 255 {
        return false;
    }
    let (code, mut stream) = socks_connect(world, host, 3, world.port);
    code == 0 && tunnel_echo(&mut stream, &marker(index, "socks"))
}

fn tunnel_echo(stream: &mut std::net::TcpStream, marker: &str) -> bool {
    stream.write_all(marker.as_bytes()).unwrap();
    let mut echo = vec![0u8; marker.len()];
    stream.read_exact(&mut echo).is_ok() && echo == marker.as_bytes()
}

fn via_dns(world: &World, host: &[u8]) -> bool {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let name = host.strip_suffix(b".").unwrap_or(host);
    // build_query splits on dots; a NUL or other byte stays inside its label.
    socket
        .send_to(&build_query(1, name, TYPE_A), world.dns_udp)
        .unwrap();
    let mut buf = [0u8; 600];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    let (_, rcode, addrs) = read_response(&buf[..n]).unwrap();
    rcode == Rcode::NoError && !addrs.is_empty()
}

/// Checks, from the servers' side, that each row's markers reached exactly its expected
/// server (and nothing of a denied row reached any server).
pub fn check_servers(world: &World, entries: &[&str]) {
    let received: Vec<(Ipv4Addr, String)> = world
        .upstreams
        .iter()
        .map(|(ip, upstream)| {
            (
                *ip,
                String::from_utf8_lossy(&upstream.all_bytes()).into_owned(),
            )
        })
        .collect();
    for (index, row) in CORPUS.iter().enumerate() {
        for entry in entries {
            let marker = marker(index, entry);
            let reached: Vec<Ipv4Addr> = received
                .iter()
                .filter(|(_, text)| text.contains(&marker))
                .map(|(ip, _)| *ip)
                .collect();
            let expected: Vec<Ipv4Addr> = row.reaches.into_iter().collect();
            assert_eq!(
                reached,
                expected,
                "row {index} {:?} via {entry}",
                String::from_utf8_lossy(row.host)
            );
        }
    }
}

#[test]
fn every_entry_point_gives_the_same_verdict() {
    let mut world = World::start();
    for (index, row) in CORPUS.iter().enumerate() {
        let verdicts = [
            ("connect", via_connect(&world, index, row.host)),
            ("http", via_http(&world, index, row.host)),
            ("socks", via_socks(&world, index, row.host)),
        ];
        let expected = row.reaches.is_some();
        for (entry, allowed) in verdicts {
            assert_eq!(
                allowed,
                expected,
                "row {index} {:?} via {entry}",
                String::from_utf8_lossy(row.host)
            );
        }
        if let Some(answered) = row.dns {
            assert_eq!(via_dns(&world, row.host), answered, "row {index} via dns");
        }
    }
    check_servers(&world, &["connect", "http", "socks"]);
    // Names denied by the policy were never resolved.
    let lookups = world.resolver.lookups.lock().unwrap().clone();
    for name in &lookups {
        assert!(
            ["allowed.test", "a.wild.test", "rebind.test", "meta.test"].contains(&name.as_str()),
            "{name} was resolved"
        );
    }
    let allowed_rows = CORPUS.iter().filter(|r| r.reaches.is_some()).count() as u64;
    let summary = world.shutdown();
    assert_eq!(summary.connections_allowed, 3 * allowed_rows);
    assert_eq!(
        summary.connections_denied,
        3 * (CORPUS.len() as u64 - allowed_rows)
    );
    // Every decision is one log line, and every denial names its host and rule.
    let lines = world.log_lines();
    let connection_lines = lines.iter().filter(|l| l["entry"] != "dns").count();
    assert_eq!(connection_lines, 3 * CORPUS.len());
    assert!(
        lines
            .iter()
            .all(|l| l["rule"].as_str().is_some_and(|r| !r.is_empty()))
    );
}

#[test]
fn plain_http_inside_an_allowed_tunnel_is_checked_as_the_explicit_proxy_checks_it() {
    // Inside a tunnel to an allowed host, a request whose absolute URI or Host names
    // another host is refused exactly as the explicit proxy refuses it: 421 and a denial
    // in the log; nothing reaches either server.
    let mut world = World::start();
    for request in [
        format!(
            "GET http://evil.test:{0}/inner HTTP/1.1\r\nHost: evil.test:{0}\r\n\r\n",
            world.port
        ),
        format!(
            "GET /inner HTTP/1.1\r\nHost: evil.test:{}\r\n\r\n",
            world.port
        ),
    ] {
        let mut stream = world.connect_proxy();
        write!(
            stream,
            "CONNECT allowed.test:{} HTTP/1.1\r\n\r\n",
            world.port
        )
        .unwrap();
        assert!(read_head(&mut stream).contains(" 200 "));
        stream.write_all(request.as_bytes()).unwrap();
        let response = String::from_utf8_lossy(&read_to_end(&mut stream)).into_owned();
        assert!(response.starts_with("HTTP/1.1 421 "), "{response}");
        assert!(response.contains("does not match"), "{response}");
    }
    // A request naming the target passes, as one request per connection: the pipelined
    // second request never reaches the server.
    let mut stream = world.connect_proxy();
    write!(
        stream,
        "CONNECT allowed.test:{} HTTP/1.1\r\n\r\n",
        world.port
    )
    .unwrap();
    assert!(read_head(&mut stream).contains(" 200 "));
    write!(
        stream,
        "GET /ok HTTP/1.1\r\nHost: allowed.test:{0}\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: evil.test\r\n\r\n",
        world.port
    )
    .unwrap();
    let response = String::from_utf8_lossy(&read_to_end(&mut stream)).into_owned();
    assert!(response.contains("upstream 127.0.0.2"), "{response}");
    let seen =
        String::from_utf8_lossy(&world.upstream(crate::support::ALLOWED).all_bytes()).into_owned();
    assert!(
        seen.contains("GET /ok HTTP/1.1\r\nHost: allowed.test:"),
        "{seen}"
    );
    assert!(seen.contains("Connection: close"), "{seen}");
    assert!(
        !seen.contains("inner") && !seen.contains("smuggled"),
        "{seen}"
    );
    assert!(world.upstream(crate::support::EVIL).settled().is_empty());
    world.shutdown();
    let denials: Vec<_> = world
        .log_lines()
        .into_iter()
        .filter(|l| l["decision"] == "deny")
        .collect();
    assert_eq!(denials.len(), 2, "{denials:?}");
    for denial in &denials {
        assert_eq!(denial["entry"], "connect", "{denial}");
        assert!(
            denial["rule"]
                .as_str()
                .is_some_and(|r| r.contains("does not match")),
            "{denial}"
        );
    }
}
