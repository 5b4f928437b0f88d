//! cordon's egress proxy engine.
//!
//! It runs outside the sandbox, on listeners created inside the sandbox's network
//! namespace and handed over (see `Listeners`). Every way out of the sandbox reaches the
//! same two questions to the [`Policy`] (the DNS stub asks a third, `decide_name`): HTTP `CONNECT`, plain HTTP with absolute URIs,
//! SOCKS5 (`socks5h`), the DNS stub (which answers allowed names with fake addresses from
//! a [`FakeIpPool`]) and the transparent listeners (direct connections captured by a local
//! route, whose original destination is `getsockname()` of the accepted socket).
//!
//! The path of every connection: the host is canonicalised once ([`Host::parse`]), the
//! policy decides the target, the [`Resolver`] resolves a name once on the host side, the
//! policy decides every address (any denial refuses), and the engine dials exactly the
//! checked address. For TLS it reads the ClientHello's server name without terminating TLS
//! and refuses one that names another host; plain HTTP inside a tunnel or on a transparent
//! connection is checked and forwarded as the explicit proxy does it (a Host naming
//! another host: 421). Inside an allowed TLS tunnel nothing more is parsed: domain
//! fronting cannot be stopped without TLS interception.
//!
//! Threads and blocking sockets, no async runtime: a connection takes one thread per
//! direction from a cached pool (no spawn on the hot path once warm; the thread that
//! accepted it serves it), the bytes moved with `splice(2)` through a pipe, at most
//! [`MAX_CONNECTIONS`] at once; package-manager bursts are a few hundred connections.
//! Every read before a decision is bounded in size and time.

#![forbid(unsafe_code)]

pub mod chunked;
pub mod dns;
mod dnsstub;
mod engine;
mod fakeip;
mod host;
pub mod http;
mod inspect;
mod log;
mod policy;
mod pool;
mod proxy;
mod relay;
mod server;
pub mod socks;
mod splice;
pub mod tls;

use std::net::{TcpListener, UdpSocket};

pub use engine::MAX_CONNECTIONS;
pub use fakeip::{
    FAKE_V4_BASE, FAKE_V4_PREFIX, FAKE_V6_BASE, FakeAddrs, FakeIpPool, PoolExhausted,
};
pub use host::{
    AuthorityError, Host, HostError, MAX_LABEL_LEN, MAX_NAME_LEN, Target, canonical_ip,
    parse_authority, parse_port,
};
pub use log::{DecisionLog, EntryPoint, Outcome, Record, Summary};
pub use policy::{ENGINE_ORIGIN, Policy, Resolver, StaticResolver, SystemResolver, Verdict};
pub use server::{LISTEN_BACKLOG, Proxy, listen, start};

/// The sockets the engine serves. All are created by the caller (inside the sandbox's
/// network namespace) and owned by the engine from `start` on, which raises every TCP
/// listener's backlog to [`LISTEN_BACKLOG`] (see also [`listen`]).
#[derive(Debug, Default)]
pub struct Listeners {
    /// HTTP proxy and SOCKS5 on one port, told apart by the first byte (0x05 = SOCKS5).
    pub proxy: Vec<TcpListener>,
    /// The DNS stub over UDP.
    pub dns_udp: Vec<UdpSocket>,
    /// The DNS stub over TCP.
    pub dns_tcp: Vec<TcpListener>,
    /// One per captured port, bound to `0.0.0.0` / `[::]`; the original destination of an
    /// accepted connection is its `getsockname()`.
    pub transparent: Vec<TcpListener>,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EgressError {
    /// A listener could not be inspected or configured.
    #[error("egress proxy: cannot use a listener: {0}")]
    Listener(#[source] std::io::Error),
    /// A thread could not be started.
    #[error("egress proxy: cannot start a thread: {0}")]
    Thread(#[source] std::io::Error),
}
