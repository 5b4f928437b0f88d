//! Transparent capture in the production topology: a helper in a new user and network
//! namespace (`unshare -Urn`, root or not) puts `lo` up, adds `local` routes for 0.0.0.0/0
//! and ::/0, creates a wildcard listener on the world's port and a DNS socket on
//! 127.0.0.1:53, and hands them to this process over SCM_RIGHTS. The engine serves them
//! from the test's own network namespace, where the world's servers are. The helper then
//! plays a program that ignores proxy variables: it asks the DNS stub, connects directly to
//! the answer (or to an IP literal), and sends the row's marker. The corpus of `bypass.rs`
//! must give the same verdicts, read from the servers' side.

use std::io::IoSliceMut;
use std::io::Write;
use std::mem::MaybeUninit;
use std::net::{TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use cordon_egress::Host;
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, recvmsg};

use crate::bypass::{CORPUS, check_servers};
use crate::support::{ALLOWED, World};

/// The helper: namespace plumbing, the fd hand-over, then the direct connections.
const HELPER: &str = r#"
import json, os, socket, struct, subprocess, sys
for cmd in (["ip", "link", "set", "lo", "up"],
            ["ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo"],
            ["ip", "-6", "route", "add", "local", "::/0", "dev", "lo"]):
    subprocess.run(cmd, check=True)
port = int(sys.argv[1])
chan = socket.socket(fileno=0)
listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
listener.bind(("::", port))
listener.listen(1024)
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(("127.0.0.1", 53))
socket.send_fds(chan, [b"L"], [listener.fileno(), dns.fileno()])
listener.close(); dns.close()
cases = json.loads(chan.makefile().readline())

def ask(labels, qtype):
    q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0)
    for label in labels:
        q += bytes([len(label)]) + label
    q += b"\0" + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(q, ("127.0.0.1", 53))
    r = s.recv(600)
    if r[3] & 0xf != 0 or struct.unpack(">H", r[6:8])[0] == 0:
        return None
    if qtype == 28:
        return socket.inet_ntop(socket.AF_INET6, r[-16:])
    return socket.inet_ntoa(r[-4:])

def direct(ip, marker):
    try:
        c = socket.create_connection((ip, port), timeout=10)
        c.sendall(marker.encode())
        got = b""
        while len(got) < len(marker):
            chunk = c.recv(100)
            if not chunk:
                break
            got += chunk
        c.close()
        return got == marker.encode()
    except OSError:
        return False

results = []
for case in cases:
    ip = case.get("ip")
    if ip is None:
        ip = ask([bytes.fromhex(l) for l in case["labels"]], case.get("qtype", 1))
    results.append({"dns": ip is not None, "allowed": ip is not None and direct(ip, case["marker"])})
print(json.dumps(results))
"#;

fn receive_fds(chan: &UnixStream) -> Vec<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    recvmsg(
        chan,
        &mut [IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::empty(),
    )
    .unwrap();
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    fds
}

#[test]
fn transparent_capture_gives_the_corpus_verdicts() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let mut helper = None;
    let mut world = World::start_with(|port| {
        let child = Command::new("unshare")
            .args(["-Urn", "/usr/bin/python3", "-c", HELPER])
            .arg(port.to_string())
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux) and python3 must be installed");
        helper = Some(child);
        let fds = receive_fds(&ours);
        assert_eq!(fds.len(), 2, "the helper did not hand over its sockets");
        let mut fds = fds.into_iter();
        let listener = TcpListener::from(fds.next().unwrap());
        let dns = UdpSocket::from(fds.next().unwrap());
        (vec![listener], vec![dns])
    });
    let mut cases = Vec::new();
    let mut rows = Vec::new();
    for (index, row) in CORPUS.iter().enumerate() {
        let marker = format!("MARK-{index:02}-transparent");
        let case = match Host::parse(row.host) {
            // A direct connection carries a binary address: any spelling of an IP
            // literal becomes that address.
            Ok(Host::Ip(ip)) => serde_json::json!({"ip": ip.to_string(), "marker": marker}),
            // A name goes through the DNS stub as the program sends it.
            _ => {
                let raw = row.host.strip_suffix(b".").unwrap_or(row.host);
                let labels: Vec<&[u8]> = raw.split(|&b| b == b'.').collect();
                if labels.iter().any(|l| l.is_empty() || l.len() > 63) || row.dns.is_none() {
                    continue;
                }
                let hex: Vec<String> = labels
                    .iter()
                    .map(|l| l.iter().map(|b| format!("{b:02x}")).collect())
                    .collect();
                serde_json::json!({"labels": hex, "marker": marker})
            }
        };
        cases.push(case);
        rows.push(index);
    }
    // IPv6: the AAAA answer (a fake ULA address) captured by the same [::] listener.
    cases.push(serde_json::json!({
        "labels": ["616c6c6f776564", "74657374"],
        "qtype": 28,
        "marker": "MARK-v6-transparent",
    }));
    let mut chan = ours;
    writeln!(chan, "{}", serde_json::Value::Array(cases)).unwrap();
    let output = helper.take().unwrap().wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "helper failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(results.len(), rows.len() + 1);
    assert_eq!(results[rows.len()]["allowed"], true, "IPv6 fake address");
    let v6_marker_at_allowed = String::from_utf8_lossy(&world.upstream(ALLOWED).all_bytes())
        .contains("MARK-v6-transparent");
    assert!(v6_marker_at_allowed);
    for (index, result) in rows.iter().zip(&results) {
        let row = &CORPUS[*index];
        assert_eq!(
            result["allowed"].as_bool(),
            Some(row.reaches.is_some()),
            "row {index} {:?} via transparent",
            String::from_utf8_lossy(row.host)
        );
        if let Some(answered) = row.dns {
            assert_eq!(
                result["dns"].as_bool(),
                Some(answered),
                "row {index} via dns"
            );
        }
    }
    // From the servers' side: each allowed row's marker reached exactly its server, no
    // denied row's marker reached any (rows not expressible as a direct connection sent
    // none).
    check_servers(&world, &["transparent"]);
    let summary = world.shutdown();
    assert!(summary.connections_allowed >= 7, "{summary:?}");
}
