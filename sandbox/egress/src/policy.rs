//! The two seams the engine is built around: [`Policy`] (who decides) and [`Resolver`]
//! (who turns a name into addresses). The engine depends on nothing else of cordon; the
//! glue in cordon-linux implements `Policy` over cordon-policy's `NetworkPlan`.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};

use crate::host::{Target, canonical_ip};

/// The answer to one question put to the policy. The same fields as cordon-policy's
/// `Decision`, so the glue is a field copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the connection (or name) is allowed.
    pub allowed: bool,
    /// The rule that decided, e.g. `allow *.crates.io` or `built-in deny-list: link-local`.
    pub rule: String,
    /// Where the rule comes from: `project .cordon/policy.yaml:4:5`, `built-in`, ...
    pub origin: String,
    /// The policy key or flag that would allow it, for the one-line notice.
    pub hint: Option<String>,
}

impl Verdict {
    /// An allowing verdict.
    pub fn allow(rule: impl Into<String>, origin: impl Into<String>) -> Verdict {
        Verdict {
            allowed: true,
            rule: rule.into(),
            origin: origin.into(),
            hint: None,
        }
    }

    /// A denying verdict.
    pub fn deny(rule: impl Into<String>, origin: impl Into<String>) -> Verdict {
        Verdict {
            allowed: false,
            rule: rule.into(),
            origin: origin.into(),
            hint: None,
        }
    }

    /// A denial the engine itself makes (malformed request, SNI or Host mismatch...), not
    /// the policy.
    pub fn engine(rule: impl Into<String>) -> Verdict {
        Verdict::deny(rule, ENGINE_ORIGIN)
    }
}

/// The origin of verdicts the engine makes itself.
pub const ENGINE_ORIGIN: &str = "cordon-egress";

/// Decides every connection and every DNS name. The engine calls only these methods, from
/// every entry point (CONNECT, absolute-URI HTTP, SOCKS5, the DNS stub, transparent
/// listeners), with canonical input (see [`crate::Host::parse`]).
pub trait Policy: Send + Sync {
    /// The name stage: may this host be reached on this port? For an IP literal this is
    /// the only chance to refuse it by rule; [`Policy::decide_address`] follows.
    fn decide_target(&self, target: &Target) -> Verdict;

    /// The address stage, after resolution (or for an IP literal, with the literal): may
    /// `addr` be dialled for `target`? Called for every resolved address; any denial
    /// refuses the connection.
    fn decide_address(&self, target: &Target, addr: IpAddr) -> Verdict;

    /// The DNS stub's question: is `name` (canonical, never an address) allowed on any
    /// port? Only then does the stub answer it, with a fake address.
    fn decide_name(&self, name: &str) -> Verdict;
}

/// Turns a canonical name into addresses, once per connection, on the host side.
pub trait Resolver: Send + Sync {
    /// All addresses of `name`. An empty list is treated like an error (nothing to dial).
    fn resolve(&self, name: &str) -> io::Result<Vec<IpAddr>>;
}

/// The host's resolver: `getaddrinfo` (honours the host's resolv.conf, nsswitch and
/// /etc/hosts). Called from the engine's threads, so in the host's network namespace.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        let mut addrs: Vec<IpAddr> = Vec::new();
        for socket_addr in (name, 0u16).to_socket_addrs()? {
            let ip = canonical_ip(socket_addr.ip());
            if !addrs.contains(&ip) {
                addrs.push(ip);
            }
        }
        Ok(addrs)
    }
}

/// A fixed table of names to addresses (tests, and hosts pinned by configuration). A name
/// not in the table fails to resolve.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    table: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// An empty table.
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// Adds (or replaces) the addresses of `name`.
    pub fn insert(&mut self, name: &str, addrs: Vec<IpAddr>) -> &mut StaticResolver {
        self.table.insert(name.to_owned(), addrs);
        self
    }
}

impl Resolver for StaticResolver {
    fn resolve(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        self.table.get(name).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{name} is not in the resolver table"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_resolver_reads_localhost() {
        let addrs = SystemResolver
            .resolve("localhost")
            .expect("localhost resolves");
        assert!(addrs.iter().all(IpAddr::is_loopback), "{addrs:?}");
        assert!(!addrs.is_empty());
    }

    #[test]
    fn static_resolver_answers_only_its_table() {
        let mut resolver = StaticResolver::new();
        resolver.insert("allowed.test", vec!["127.0.0.2".parse().expect("address")]);
        assert_eq!(
            resolver.resolve("allowed.test").expect("in table"),
            vec!["127.0.0.2".parse::<IpAddr>().expect("address")]
        );
        let err = resolver.resolve("other.test").expect_err("not in table");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
