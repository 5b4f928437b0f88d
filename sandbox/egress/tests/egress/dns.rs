//! The DNS stub over UDP and TCP: fake addresses for allowed names, NODATA for other types
//! of an allowed name, NXDOMAIN for denied and invalid names, and no lookup at all.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream, UdpSocket};
use std::time::Duration;

use cordon_egress::dns::{Rcode, TYPE_A, TYPE_AAAA, build_query, read_response};

use crate::support::World;

const TYPE_TXT: u16 = 16;

fn ask_udp(world: &World, name: &[u8], qtype: u16) -> (Rcode, Vec<IpAddr>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
        .send_to(&build_query(0x4242, name, qtype), world.dns_udp)
        .unwrap();
    let mut buf = [0u8; 600];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    let (id, rcode, addrs) = read_response(&buf[..n]).unwrap();
    assert_eq!(id, 0x4242);
    (rcode, addrs)
}

fn ask_tcp(stream: &mut TcpStream, name: &[u8], qtype: u16) -> (Rcode, Vec<IpAddr>) {
    let query = build_query(7, name, qtype);
    let mut framed = u16::try_from(query.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut msg).unwrap();
    let (_, rcode, addrs) = read_response(&msg).unwrap();
    (rcode, addrs)
}

#[test]
fn allowed_names_get_fake_addresses_and_nothing_is_resolved() {
    let mut world = World::start();
    let (rcode, v4) = ask_udp(&world, b"Allowed.Test", TYPE_A);
    assert_eq!(rcode, Rcode::NoError);
    assert_eq!(v4, vec!["198.18.0.1".parse::<IpAddr>().unwrap()]);
    let (rcode, v6) = ask_udp(&world, b"allowed.test", TYPE_AAAA);
    assert_eq!(rcode, Rcode::NoError);
    assert_eq!(
        v6,
        vec!["fd63:6f72:646f:6e00::1".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        world.fake_ips.lookup(v4[0]).as_deref(),
        Some("allowed.test")
    );
    // Another type of an allowed name: NODATA, never REFUSED.
    assert_eq!(
        ask_udp(&world, b"allowed.test", TYPE_TXT),
        (Rcode::NoError, vec![])
    );
    assert_eq!(ask_udp(&world, b"x.a.wild.test", TYPE_A).0, Rcode::NoError);
    // Denied: exfiltration under a denied domain, suffix confusion, apex of a wildcard.
    for name in [
        b"c2VjcmV0.evil.test".as_slice(),
        b"evilwild.test",
        b"wild.test",
        b"allowed.test.evil.test",
    ] {
        for qtype in [TYPE_A, TYPE_AAAA, TYPE_TXT] {
            assert_eq!(
                ask_udp(&world, name, qtype),
                (Rcode::NxDomain, vec![]),
                "{name:?}"
            );
        }
    }
    // Invalid names and address literals are not names.
    assert_eq!(ask_udp(&world, b"127.0.0.1", TYPE_A).0, Rcode::NxDomain);
    assert_eq!(
        ask_udp(&world, b"evil\0.allowed.test", TYPE_A).0,
        Rcode::NxDomain
    );
    let mut stream = TcpStream::connect(world.dns_tcp).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(ask_tcp(&mut stream, b"allowed.test", TYPE_A).1, v4);
    assert_eq!(
        ask_tcp(&mut stream, b"evil.test", TYPE_TXT).0,
        Rcode::NxDomain
    );
    drop(stream);
    assert!(
        world.resolver.lookups.lock().unwrap().is_empty(),
        "the stub resolved something"
    );
    let summary = world.shutdown();
    assert_eq!(summary.dns_allowed, 5);
    assert_eq!(summary.dns_denied, 15);
    let notices = world.notices.text();
    // One notice per denied name, not per query.
    assert_eq!(
        notices.matches("denied c2vjcmv0.evil.test (dns)").count(),
        1,
        "{notices}"
    );
}

#[test]
fn malformed_queries_get_error_codes_and_responses_are_ignored() {
    let world = World::start();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut query = build_query(9, b"allowed.test", TYPE_A);
    query[5] = 2;
    socket.send_to(&query, world.dns_udp).unwrap();
    let mut buf = [0u8; 600];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(read_response(&buf[..n]).unwrap().1, Rcode::Refused);
    // A response sent to the stub is never answered (no loops).
    let mut response = build_query(10, b"allowed.test", TYPE_A);
    response[2] |= 0x80;
    socket.send_to(&response, world.dns_udp).unwrap();
    assert!(socket.recv_from(&mut buf).is_err());
    // The stub still works afterwards.
    assert_eq!(ask_udp(&world, b"allowed.test", TYPE_A).0, Rcode::NoError);
}
