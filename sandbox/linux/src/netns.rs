//! Proxy mode's network namespace, made by the sandbox's PID 1 (which holds every
//! capability in the sandbox's user namespace, so this works for root and for a normal
//! user alike): a new, empty network namespace; `lo` up; a `local` route for all of
//! `0.0.0.0/0` and `::/0` on `lo`, so that a connection to *any* address lands on this
//! namespace's own sockets (and a port nobody listens on is refused at once); and the
//! listeners the host-side egress engine serves: the proxy port on `127.0.0.1` and `::1`,
//! the DNS stub (UDP and TCP port 53) on the same addresses, and one wildcard listener per
//! transparently captured port. The listeners travel to the host-side `cordon` over
//! `SCM_RIGHTS` ([`crate::fdpass`]); a listening socket keeps the namespace it was made in,
//! while the engine's outgoing sockets are made in the host's.
//!
//! The routes are plain rtnetlink messages on a `NETLINK_ROUTE` socket (spawning `ip`
//! would cost ~10 ms per call).

use std::collections::BTreeSet;
use std::os::fd::{AsFd, OwnedFd};

use nix::libc;
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::socket::{
    AddressFamily, Backlog, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, SockaddrIn,
    SockaddrIn6, bind, listen, recv, sendto, setsockopt, socket, sockopt,
};

use crate::SandboxError;

/// The DNS stub's port (on `127.0.0.1` and `::1`); never captured transparently.
pub(crate) const DNS_PORT: u16 = 53;
/// The first port tried for the proxy (HTTP and SOCKS5 on one port).
const FIRST_PROXY_PORT: u16 = 3128;
/// Listen backlog: an `npm install` opens a few hundred connections at once.
const BACKLOG: i32 = 4096;
/// `lo` is always interface 1 (`LOOPBACK_IFINDEX`).
const LOOPBACK_INDEX: i32 = 1;

/// The ports of a proxy-mode sandbox, chosen before anything forks so that the
/// environment can name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyPorts {
    /// The proxy's port on `127.0.0.1` and `::1`.
    pub(crate) proxy: u16,
    /// The ports captured on every address (`0.0.0.0` and `[::]`), port 53 excluded.
    pub(crate) transparent: Vec<u16>,
}

impl ProxyPorts {
    /// The proxy takes the first port from 3128 up that is not captured.
    pub(crate) fn new(captured: &BTreeSet<u16>) -> ProxyPorts {
        let proxy = (FIRST_PROXY_PORT..=u16::MAX)
            .find(|port| !captured.contains(port))
            .unwrap_or(FIRST_PROXY_PORT);
        ProxyPorts {
            proxy,
            transparent: captured
                .iter()
                .copied()
                .filter(|port| *port != DNS_PORT && *port != 0)
                .collect(),
        }
    }
}

/// The listening sockets made in the sandbox's network namespace, by role.
#[derive(Debug, Default)]
pub(crate) struct NamespaceListeners {
    /// TCP, the proxy port on `127.0.0.1` and `::1`.
    pub(crate) proxy: Vec<OwnedFd>,
    /// UDP port 53 on `127.0.0.1` and `::1`.
    pub(crate) dns_udp: Vec<OwnedFd>,
    /// TCP port 53 on `127.0.0.1` and `::1`.
    pub(crate) dns_tcp: Vec<OwnedFd>,
    /// TCP, one per captured port and address family (`0.0.0.0`, `[::]`).
    pub(crate) transparent: Vec<OwnedFd>,
}

/// What PID 1 needs to finish proxy mode's network namespace, and where the listeners go.
#[derive(Debug)]
pub(crate) struct Handoff {
    /// The ports to listen on.
    pub(crate) ports: ProxyPorts,
    /// The sending end of [`crate::fdpass::channel`] for the listeners.
    pub(crate) channel: OwnedFd,
    /// Where the namespace arrives from [`make_for`] (the `run` path); `None` when PID 1
    /// is already in it (the `spawn` path, whose supervisor unshared it).
    pub(crate) namespace: Option<OwnedFd>,
    /// The view's private tmpfs, where the name files can be made.
    pub(crate) private_tmp: Option<std::path::PathBuf>,
}

impl Handoff {
    /// In PID 1, with the view built: `/etc/resolv.conf` and `/etc/hosts`, joining the
    /// namespace, `lo` and its routes, the listeners sent to the host side (PID 1 keeps
    /// no copy).
    pub(crate) fn complete(self) -> Result<(), SandboxError> {
        crate::name_files::point_names_at_stub(self.private_tmp.as_deref())?;
        if let Some(namespace) = self.namespace {
            let namespace = crate::fdpass::receive_namespace(&namespace)?;
            setns(namespace, CloneFlags::CLONE_NEWNET)
                .map_err(|e| net_error("cannot join the network namespace", e))?;
        }
        let ipv6 = configure_loopback()?;
        let listeners = listen_all(&self.ports, ipv6)?;
        crate::fdpass::send(&self.channel, listeners)
    }
}

/// The `run` path's namespace maker, a short-lived child of `cordon` (forked after PID 1,
/// so it works on the other CPU while PID 1 builds the view, as `cordon` itself does in
/// mode none): it enters PID 1's user namespace, creates the network namespace there
/// (so that it belongs to the sandbox) and sends it to PID 1, or the errno. It leaves
/// `cordon` in the host's namespaces, where the egress engine must run.
pub(crate) fn make_for(pid1: i32, channel: &OwnedFd) -> ! {
    let made = std::fs::File::open(format!("/proc/{pid1}/ns/user"))
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        .and_then(|user| setns(user, CloneFlags::CLONE_NEWUSER))
        .and_then(|()| unshare(CloneFlags::CLONE_NEWNET))
        .and_then(|()| {
            nix::fcntl::open(
                "/proc/self/ns/net",
                nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
        });
    let code = i32::from(crate::fdpass::send_namespace(channel, &made).is_err());
    crate::sys::exit_now(code)
}

fn net_error(what: &str, error: impl std::fmt::Display) -> SandboxError {
    SandboxError::Namespaces(format!("proxy network: {what}: {error}"))
}

/// Creates the network namespace, configures `lo` and its routes and binds the
/// listeners, all in the calling process (the tests' short cut of [`Handoff::complete`]).
#[cfg(test)]
fn create(ports: &ProxyPorts) -> Result<NamespaceListeners, SandboxError> {
    unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| net_error("cannot create the network namespace", e))?;
    let ipv6 = configure_loopback()?;
    listen_all(ports, ipv6)
}

/// Brings `lo` up and routes every address to it. Returns whether IPv6 is available
/// (a kernel booted with `ipv6.disable=1` has no IPv6 sockets).
fn configure_loopback() -> Result<bool, SandboxError> {
    let netlink = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .map_err(|e| net_error("cannot open a NETLINK_ROUTE socket", e))?;
    let mut link = Vec::with_capacity(32);
    let up = u32::try_from(libc::IFF_UP).unwrap_or(1);
    link.extend_from_slice(&[0, 0, 0, 0]); // family AF_UNSPEC, pad, type ARPHRD_NETROM (ignored)
    link.extend_from_slice(&LOOPBACK_INDEX.to_ne_bytes());
    link.extend_from_slice(&up.to_ne_bytes()); // flags
    link.extend_from_slice(&up.to_ne_bytes()); // change mask
    let ipv6 = ipv6_available();
    let mut batch = vec![
        (libc::RTM_NEWLINK, link, "cannot bring lo up"),
        (
            libc::RTM_NEWROUTE,
            local_route(libc::AF_INET),
            "cannot add the route `local 0.0.0.0/0 dev lo`",
        ),
    ];
    if ipv6 {
        batch.push((
            libc::RTM_NEWROUTE,
            local_route(libc::AF_INET6),
            "cannot add the route `local ::/0 dev lo`",
        ));
    }
    let bodies: Vec<(u16, &[u8])> = batch.iter().map(|(k, b, _)| (*k, b.as_slice())).collect();
    let answers = requests(&netlink, &bodies).map_err(|e| net_error("rtnetlink", e))?;
    for ((_, _, what), answer) in batch.iter().zip(answers) {
        if answer != 0 {
            return Err(net_error(what, nix::errno::Errno::from_raw(answer)));
        }
    }
    Ok(ipv6)
}

/// The body of an `RTM_NEWROUTE` for `local <any>/0 dev lo` (a `struct rtmsg` and an
/// `RTA_OIF` attribute), as `ip route add local 0.0.0.0/0 dev lo` sends it.
fn local_route(family: i32) -> Vec<u8> {
    let mut body = Vec::with_capacity(20);
    body.push(u8::try_from(family).unwrap_or(0));
    body.extend_from_slice(&[
        0, // dst_len: /0
        0, // src_len
        0, // tos
        libc::RT_TABLE_LOCAL,
        libc::RTPROT_BOOT,
        libc::RT_SCOPE_HOST,
        libc::RTN_LOCAL,
    ]);
    body.extend_from_slice(&0u32.to_ne_bytes()); // rtm_flags
    let attribute_length: u16 = 8;
    body.extend_from_slice(&attribute_length.to_ne_bytes());
    body.extend_from_slice(&libc::RTA_OIF.to_ne_bytes());
    body.extend_from_slice(&LOOPBACK_INDEX.to_ne_bytes());
    body
}

/// Sends the rtnetlink requests `(type, body)` in one datagram (the kernel handles them
/// in order, each with its own acknowledgement) and returns each one's errno (0: done).
/// A new route must not exist yet (`NLM_F_CREATE | NLM_F_EXCL`); a link is changed.
fn requests(netlink: &OwnedFd, batch: &[(u16, &[u8])]) -> Result<Vec<i32>, String> {
    let mut datagram = Vec::new();
    for (index, (kind, body)) in batch.iter().enumerate() {
        let mut flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK;
        if *kind == libc::RTM_NEWROUTE {
            flags |= libc::NLM_F_CREATE | libc::NLM_F_EXCL;
        }
        let sequence = u32::try_from(index + 1).unwrap_or(u32::MAX);
        datagram.extend(netlink_message(
            *kind,
            u16::try_from(flags).unwrap_or(0),
            sequence,
            body,
        ));
    }
    sendto(
        std::os::fd::AsRawFd::as_raw_fd(netlink),
        &datagram,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .map_err(|e| e.to_string())?;
    let mut answers: Vec<Option<i32>> = vec![None; batch.len()];
    let mut buffer = [0u8; 4096];
    while answers.iter().any(Option::is_none) {
        let length = recv(
            std::os::fd::AsRawFd::as_raw_fd(netlink),
            &mut buffer,
            MsgFlags::empty(),
        )
        .map_err(|e| e.to_string())?;
        for (sequence, errno) in acknowledgements(&buffer[..length]) {
            let slot = usize::try_from(sequence)
                .ok()
                .and_then(|s| s.checked_sub(1))
                .and_then(|index| answers.get_mut(index));
            if let Some(slot) = slot {
                *slot = Some(errno);
            }
        }
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or(libc::EIO))
        .collect())
}

/// A netlink message: `struct nlmsghdr` then `body` (port id 0: the kernel fills it in).
fn netlink_message(kind: u16, flags: u16, sequence: u32, body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(16 + body.len()).unwrap_or(u32::MAX);
    let mut message = Vec::with_capacity(16 + body.len());
    message.extend_from_slice(&length.to_ne_bytes());
    message.extend_from_slice(&kind.to_ne_bytes());
    message.extend_from_slice(&flags.to_ne_bytes());
    message.extend_from_slice(&sequence.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(body);
    message
}

/// The `NLMSG_ERROR` messages of a datagram: (sequence, errno), errno 0 for success. A
/// malformed message ends the walk.
fn acknowledgements(mut datagram: &[u8]) -> Vec<(u32, i32)> {
    let word =
        |bytes: &[u8], at: usize| -> Option<[u8; 4]> { bytes.get(at..at + 4)?.try_into().ok() };
    let mut found = Vec::new();
    while datagram.len() >= 16 {
        let (Some(length), Some(kind), Some(sequence)) = (
            word(datagram, 0)
                .map(u32::from_ne_bytes)
                .and_then(|l| usize::try_from(l).ok()),
            datagram
                .get(4..6)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_ne_bytes),
            word(datagram, 8).map(u32::from_ne_bytes),
        ) else {
            break;
        };
        if length < 16 || length > datagram.len() {
            break;
        }
        if i32::from(kind) == libc::NLMSG_ERROR {
            let Some(error) = word(datagram, 16).map(i32::from_ne_bytes) else {
                break;
            };
            found.push((sequence, error.checked_neg().unwrap_or(libc::EIO)));
        }
        datagram = datagram.get(length.next_multiple_of(4)..).unwrap_or(&[]);
    }
    found
}

fn ipv6_available() -> bool {
    socket(
        AddressFamily::Inet6,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .is_ok()
}

/// Where a listener is bound.
#[derive(Debug, Clone, Copy)]
enum Address {
    /// `127.0.0.1`, or `::1` for IPv6.
    Loopback,
    /// `0.0.0.0`, or `[::]` (IPv6 only) for IPv6.
    Any,
}

fn listen_all(ports: &ProxyPorts, ipv6: bool) -> Result<NamespaceListeners, SandboxError> {
    let families: &[AddressFamily] = if ipv6 {
        &[AddressFamily::Inet, AddressFamily::Inet6]
    } else {
        &[AddressFamily::Inet]
    };
    let mut listeners = NamespaceListeners::default();
    for family in families {
        let family = *family;
        listeners.proxy.push(bound(
            family,
            SockType::Stream,
            Address::Loopback,
            ports.proxy,
        )?);
        listeners.dns_udp.push(bound(
            family,
            SockType::Datagram,
            Address::Loopback,
            DNS_PORT,
        )?);
        listeners.dns_tcp.push(bound(
            family,
            SockType::Stream,
            Address::Loopback,
            DNS_PORT,
        )?);
        for port in &ports.transparent {
            listeners
                .transparent
                .push(bound(family, SockType::Stream, Address::Any, *port)?);
        }
    }
    Ok(listeners)
}

/// A socket bound to `address`:`port` (and listening, for TCP). No `SO_REUSEPORT`: the
/// command cannot bind a second socket to share the port.
fn bound(
    family: AddressFamily,
    kind: SockType,
    address: Address,
    port: u16,
) -> Result<OwnedFd, SandboxError> {
    let describe = || {
        let host = match (family, address) {
            (AddressFamily::Inet6, Address::Loopback) => "[::1]",
            (AddressFamily::Inet6, Address::Any) => "[::]",
            (_, Address::Loopback) => "127.0.0.1",
            (_, Address::Any) => "0.0.0.0",
        };
        let protocol = if kind == SockType::Datagram {
            "udp"
        } else {
            "tcp"
        };
        format!("{protocol} {host}:{port}")
    };
    let fail = |e: nix::errno::Errno| net_error(&format!("cannot listen on {}", describe()), e);
    let fd = socket(family, kind, SockFlag::SOCK_CLOEXEC, None).map_err(fail)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(fail)?;
    if family == AddressFamily::Inet6 {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true).map_err(fail)?;
        let ip = match address {
            Address::Loopback => std::net::Ipv6Addr::LOCALHOST,
            Address::Any => std::net::Ipv6Addr::UNSPECIFIED,
        };
        let at = SockaddrIn6::from(std::net::SocketAddrV6::new(ip, port, 0, 0));
        bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &at).map_err(fail)?;
    } else {
        let ip = match address {
            Address::Loopback => std::net::Ipv4Addr::LOCALHOST,
            Address::Any => std::net::Ipv4Addr::UNSPECIFIED,
        };
        let at = SockaddrIn::from(std::net::SocketAddrV4::new(ip, port));
        bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &at).map_err(fail)?;
    }
    if kind == SockType::Stream {
        let backlog = Backlog::new(BACKLOG).map_err(fail)?;
        listen(&fd.as_fd(), backlog).map_err(fail)?;
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_port_avoids_captured_ports_and_dns_is_never_captured() {
        let captured: BTreeSet<u16> = [53, 80, 443, 3128, 3129].into_iter().collect();
        let ports = ProxyPorts::new(&captured);
        assert_eq!(ports.proxy, 3130);
        assert_eq!(ports.transparent, vec![80, 443, 3128, 3129]);
    }

    #[test]
    fn a_route_message_is_what_ip_route_sends() {
        let message = netlink_message(libc::RTM_NEWROUTE, 0x605, 7, &local_route(libc::AF_INET));
        assert_eq!(message.len(), 16 + 12 + 8);
        assert_eq!(u32::from_ne_bytes(message[0..4].try_into().unwrap()), 36);
        // family, /0, /0, tos, table local, proto boot, scope host, type local
        assert_eq!(&message[16..24], &[2, 0, 0, 0, 255, 3, 254, 2]);
        assert_eq!(&message[28..30], &8u16.to_ne_bytes());
        assert_eq!(&message[30..32], &libc::RTA_OIF.to_ne_bytes());
        assert_eq!(&message[32..36], &1i32.to_ne_bytes());
    }

    #[test]
    fn acknowledgements_are_found_by_sequence_and_errors_decoded() {
        let mut error = netlink_message(2, 0, 9, &(-libc::EPERM).to_ne_bytes());
        error.extend_from_slice(&[0; 16]);
        assert_eq!(acknowledgements(&error), vec![(9, libc::EPERM)]);
        let ack = netlink_message(2, 0, 3, &0i32.to_ne_bytes());
        let mut two = netlink_message(16, 0, 3, &[0; 16]);
        two.extend_from_slice(&ack);
        two.extend_from_slice(&netlink_message(2, 0, 4, &(-libc::EEXIST).to_ne_bytes()));
        assert_eq!(acknowledgements(&two), vec![(3, 0), (4, libc::EEXIST)]);
        assert_eq!(acknowledgements(&[1, 2, 3]), vec![]);
        let mut truncated = netlink_message(2, 0, 3, &[]);
        truncated[0] = 200;
        assert_eq!(acknowledgements(&truncated), vec![]);
        assert_eq!(acknowledgements(&netlink_message(2, 0, 3, &[])), vec![]);
    }

    /// What a process in the namespace sees, as a bit set (the child's exit code).
    const REFUSED_AT_ONCE: i32 = 1;
    const V4_CAPTURED: i32 = 2;
    const V6_CAPTURED: i32 = 4;
    const DNS_REACHED: i32 = 8;

    /// The child's side: a new user namespace (as PID 1 has), the network namespace,
    /// the listeners sent to the parent; then connections from inside.
    fn inside(channel: &OwnedFd, ports: &ProxyPorts) -> i32 {
        use std::net::{TcpStream, UdpSocket};
        let uid = nix::unistd::geteuid();
        let gid = nix::unistd::getegid();
        if unshare(CloneFlags::CLONE_NEWUSER).is_err()
            || std::fs::write("/proc/self/setgroups", "deny").is_err()
            || std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1")).is_err()
            || std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1")).is_err()
        {
            return 100;
        }
        let listeners = match create(ports) {
            Ok(listeners) => listeners,
            Err(error) => {
                eprintln!("{error}");
                return 101;
            }
        };
        if crate::fdpass::send(channel, listeners).is_err() {
            return 102;
        }
        let mut seen = 0;
        let started = std::time::Instant::now();
        if matches!(TcpStream::connect("192.0.2.9:9"), Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
            && started.elapsed() < std::time::Duration::from_secs(1)
        {
            seen |= REFUSED_AT_ONCE;
        }
        if TcpStream::connect("192.0.2.7:8443")
            .and_then(|mut s| std::io::Write::write_all(&mut s, b"4"))
            .is_ok()
        {
            seen |= V4_CAPTURED;
        }
        if TcpStream::connect("[2001:db8::7]:8443")
            .and_then(|mut s| std::io::Write::write_all(&mut s, b"6"))
            .is_ok()
        {
            seen |= V6_CAPTURED;
        }
        if UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.send_to(b"q", "127.0.0.1:53"))
            .is_ok()
        {
            seen |= DNS_REACHED;
        }
        seen
    }

    #[test]
    fn listeners_made_in_the_namespace_capture_every_address_and_serve_the_host_side() {
        let ports = ProxyPorts {
            proxy: 3128,
            transparent: vec![8443],
        };
        let (sender, receiver) = crate::fdpass::channel().unwrap();
        let child = match crate::sys::fork().unwrap() {
            nix::unistd::ForkResult::Child => {
                drop(receiver);
                crate::sys::exit_now(inside(&sender, &ports));
            }
            nix::unistd::ForkResult::Parent { child } => child,
        };
        drop(sender);
        let Some(listeners) = crate::fdpass::receive(&receiver).unwrap() else {
            panic!(
                "the child failed: {:?}",
                nix::sys::wait::waitpid(child, None)
            );
        };
        assert_eq!(listeners.proxy.len(), 2);
        assert_eq!((listeners.dns_udp.len(), listeners.dns_tcp.len()), (2, 2));
        let mut originals = Vec::new();
        for listener in listeners.transparent {
            let listener = std::net::TcpListener::from(listener);
            let (mut stream, _) = listener.accept().unwrap();
            let mut byte = [0u8; 1];
            std::io::Read::read_exact(&mut stream, &mut byte).unwrap();
            originals.push((byte[0], stream.local_addr().unwrap().to_string()));
        }
        let dns = std::net::UdpSocket::from(listeners.dns_udp.into_iter().next().unwrap());
        let mut query = [0u8; 8];
        let (length, _) = dns.recv_from(&mut query).unwrap();
        assert_eq!(&query[..length], b"q");
        let status = nix::sys::wait::waitpid(child, None).unwrap();
        let nix::sys::wait::WaitStatus::Exited(_, seen) = status else {
            panic!("child: {status:?}");
        };
        assert_eq!(
            seen,
            REFUSED_AT_ONCE | V4_CAPTURED | V6_CAPTURED | DNS_REACHED,
            "child saw {seen}"
        );
        assert_eq!(
            originals,
            vec![
                (b'4', "192.0.2.7:8443".to_string()),
                (b'6', "[2001:db8::7]:8443".to_string())
            ]
        );
        // Nothing listens on the host's side.
        assert!(
            std::net::TcpStream::connect("127.0.0.1:3128").is_err()
                || std::net::TcpListener::bind("127.0.0.1:3128").is_err()
        );
    }
}
