//! The decision functions the proxy engine calls: [`NetworkPlan::decide`] on the name
//! (or IP literal) a connection asks for, [`NetworkPlan::decide_address`] on every
//! address a name resolved to, and [`NetworkPlan::ports`], the ports to capture.
//!
//! Order, for a name: the mode; a malformed or numeric name is denied; the built-in
//! deny-list; `localhost` is loopback (reachable on `local_ports` only); then the most
//! specific allow or deny entry (more fixed labels, then an explicit port, then deny on
//! a tie); nothing matching is denied. For an address (a literal, or after resolution):
//! the deny-list's address classes, on the address and on the IPv4 address embedded in
//! it; loopback only on `local_ports`; private ranges only inside an allowed CIDR; then
//! the CIDR rules (a literal needs an allowing one, a resolved address only must not be
//! denied by one).

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::address::embedded_ipv4;
use super::denylist::{AddressClass, built_in};
use super::entry::{DEFAULT_PORTS, HostPattern, is_canonical_name, port_matches};
use super::plan::{CidrRule, Decision, Destination, NetworkPlan};
use crate::plan::Effect;
use crate::schema::NetworkMode;

const BUILT_IN: &str = "built-in";

impl NetworkPlan {
    /// The NAME stage: may the sandbox connect to `destination` on `port` (`None`: on
    /// some port, which is what the DNS stub asks)?
    pub fn decide(&self, destination: Destination<'_>, port: Option<u16>) -> Decision {
        if let Some(decision) = self.mode_decision() {
            return decision;
        }
        match destination {
            Destination::Ip(address) => self.judge_address(address, port, true, &[]),
            Destination::Name(name) => match name.parse::<IpAddr>() {
                Ok(address) => self.judge_address(address, port, true, &[]),
                Err(_) => match port {
                    Some(port) => self.decide_name(name, port),
                    None => self.decide_name_on_any_port(name),
                },
            },
        }
    }

    /// The ADDRESS stage, after resolution: may a connection to `address:port` go out?
    /// (This host's own addresses need the OS: see [`Self::decide_address_on_host`].)
    pub fn decide_address(&self, address: IpAddr, port: u16) -> Decision {
        self.decide_address_on_host(address, port, &[])
    }

    /// [`Self::decide_address`], treating `host_addresses` (this host's own addresses,
    /// read by the caller) like loopback.
    pub fn decide_address_on_host(
        &self,
        address: IpAddr,
        port: u16,
        host_addresses: &[IpAddr],
    ) -> Decision {
        if let Some(decision) = self.mode_decision() {
            return decision;
        }
        self.judge_address(address, Some(port), false, host_addresses)
    }

    /// The ports to capture transparently: every port an allow entry names (80 and 443
    /// for entries without one) and `local_ports`. Empty unless the mode is `proxy`.
    pub fn ports(&self) -> BTreeSet<u16> {
        let mut ports = BTreeSet::new();
        if self.mode != NetworkMode::Proxy {
            return ports;
        }
        let allowed = self
            .rules
            .iter()
            .filter(|rule| rule.effect == Effect::Allow)
            .map(|rule| rule.port)
            .chain(self.allowed_cidrs.iter().map(|rule| rule.port));
        for port in allowed {
            match port {
                Some(port) => {
                    ports.insert(port);
                }
                None => ports.extend(DEFAULT_PORTS),
            }
        }
        ports.extend(self.local_ports.iter().copied());
        ports
    }

    fn mode_decision(&self) -> Option<Decision> {
        match self.mode {
            NetworkMode::Proxy => None,
            NetworkMode::Host => Some(Decision::allow(
                "network mode host (unfiltered)",
                self.mode_from.to_string(),
            )),
            NetworkMode::None => Some(Decision::deny(
                "network mode none",
                self.mode_from.to_string(),
                Some("set `network: {mode: proxy}` with an allow-list, or pass --network proxy --allow-domain NAME".into()),
            )),
        }
    }

    fn decide_name_on_any_port(&self, name: &str) -> Decision {
        let mut ports: BTreeSet<u16> = DEFAULT_PORTS.into_iter().collect();
        for rule in self.rules.iter().filter(|rule| rule.host.matches(name)) {
            if let Some(port) = rule.port {
                ports.insert(port);
            }
        }
        ports.extend(self.local_ports.iter().copied());
        let mut first_denial = None;
        for port in ports {
            let decision = self.decide_name(name, port);
            if decision.allowed {
                return decision;
            }
            first_denial.get_or_insert(decision);
        }
        first_denial.unwrap_or_else(|| self.decide_name(name, 443))
    }

    fn decide_name(&self, name: &str, port: u16) -> Decision {
        if !is_canonical_name(name) {
            return Decision::deny(
                format!("malformed host name `{}`", name.escape_debug()),
                BUILT_IN,
                None,
            );
        }
        let last = name.rsplit('.').next().unwrap_or(name);
        if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
            return Decision::deny(
                format!("numeric host name `{name}` (an IP address in another form)"),
                BUILT_IN,
                None,
            );
        }
        if let Some(entry) = built_in().name(name, &self.lifted) {
            return Decision::deny(
                format!("built-in deny-list: {} {}", entry.class, entry.name),
                BUILT_IN,
                Some(lift_hint(&entry.name)),
            );
        }
        if name == "localhost" || name.ends_with(".localhost") {
            return self.loopback(Some(port), "loopback name localhost");
        }
        let best = self
            .rules
            .iter()
            .filter(|rule| rule.host.matches(name) && port_matches(rule.port, port))
            .max_by_key(|rule| {
                (
                    rule.host.specificity(),
                    rule.port.is_some(),
                    rule.effect == Effect::Deny,
                )
            });
        match best {
            Some(rule) if rule.effect == Effect::Allow => {
                Decision::allow(rule.to_string(), rule.from.to_string())
            }
            Some(rule) => {
                let hint = if matches!(rule.host, HostPattern::Exact(_)) {
                    format!("remove the deny entry at {}", rule.from.origin)
                } else {
                    format!(
                        "remove the deny entry at {}, or allow `{}` in a trusted layer (a more specific entry wins)",
                        rule.from.origin,
                        entry_text(name, port)
                    )
                };
                Decision::deny(rule.to_string(), rule.from.to_string(), Some(hint))
            }
            None => Decision::deny(
                "no allow entry matches",
                BUILT_IN,
                Some(format!(
                    "add `{0}` to `network.allow` in the global policy, or pass --allow-domain {0}",
                    entry_text(name, port)
                )),
            ),
        }
    }

    fn loopback(&self, port: Option<u16>, what: &str) -> Decision {
        let reachable = match port {
            Some(port) => self.local_ports.contains(&port),
            None => !self.local_ports.is_empty(),
        };
        if reachable {
            Decision::allow(
                format!("{what}, port in `network.local_ports`"),
                self.local_ports_from.clone(),
            )
        } else {
            let port = port.map_or("PORT".to_owned(), |p| p.to_string());
            Decision::deny(
                format!("built-in deny-list: {what}"),
                BUILT_IN,
                Some(format!(
                    "to reach a host service, add {port} to `network.local_ports` in the global policy or a --policy file"
                )),
            )
        }
    }

    fn judge_address(
        &self,
        address: IpAddr,
        port: Option<u16>,
        literal: bool,
        host_addresses: &[IpAddr],
    ) -> Decision {
        let forms: Vec<IpAddr> = match address {
            IpAddr::V6(v6) => std::iter::once(address)
                .chain(embedded_ipv4(v6).map(IpAddr::V4))
                .collect(),
            IpAddr::V4(_) => vec![address],
        };
        let listed = built_in().address(address, &self.lifted);
        if let Some(entry) = listed {
            let what = format!("{} {}", entry.class, entry.net);
            match entry.class {
                AddressClass::Loopback => return self.loopback(port, &what),
                AddressClass::Private => {}
                _ => {
                    return Decision::deny(
                        format!("built-in deny-list: {what}"),
                        BUILT_IN,
                        Some(lift_hint(&entry.net.to_string())),
                    );
                }
            }
        }
        // Before any allowed range: this host's services are reached through
        // `local_ports` only, whatever range they sit in.
        if forms.iter().any(|form| host_addresses.contains(form)) {
            return self.loopback(port, &format!("this host's own address {address}"));
        }
        if let Some(entry) = listed {
            return match self.best_cidr(&forms, port) {
                Some((Effect::Allow, rule)) => {
                    Decision::allow(rule.describe(Effect::Allow), rule.from.to_string())
                }
                Some((Effect::Deny, rule)) => {
                    Decision::deny(rule.describe(Effect::Deny), rule.from.to_string(), None)
                }
                None => Decision::deny(
                    format!("built-in deny-list: {} {}", entry.class, entry.net),
                    BUILT_IN,
                    Some(format!(
                        "to reach an intranet, allow the range in the global policy: `network: {{allow: [\"{}\"]}}`",
                        entry.net
                    )),
                ),
            };
        }
        match self.best_cidr(&forms, port) {
            Some((Effect::Allow, rule)) => {
                Decision::allow(rule.describe(Effect::Allow), rule.from.to_string())
            }
            Some((Effect::Deny, rule)) => {
                Decision::deny(rule.describe(Effect::Deny), rule.from.to_string(), None)
            }
            None if literal => Decision::deny(
                "IP literal not on the allow-list (name patterns never match addresses)",
                BUILT_IN,
                Some(format!(
                    "use the host name, or allow the address in the global policy or with --allow-domain {}",
                    address_entry(address, port)
                )),
            ),
            None => Decision::allow(
                "resolved address outside the deny-list's address classes",
                BUILT_IN,
            ),
        }
    }

    /// The most specific CIDR rule covering one of `forms` on `port`; deny on a tie.
    fn best_cidr(&self, forms: &[IpAddr], port: Option<u16>) -> Option<(Effect, &CidrRule)> {
        let covers = |rule: &&CidrRule| {
            forms.iter().any(|form| rule.net.contains(form))
                && port.is_none_or(|port| port_matches(rule.port, port))
        };
        let allowed = self
            .allowed_cidrs
            .iter()
            .filter(covers)
            .map(|rule| (Effect::Allow, rule));
        let denied = self
            .denied_cidrs
            .iter()
            .filter(covers)
            .map(|rule| (Effect::Deny, rule));
        allowed.chain(denied).max_by_key(|(effect, rule)| {
            (
                rule.net.prefix_len(),
                rule.port.is_some(),
                *effect == Effect::Deny,
            )
        })
    }
}

fn lift_hint(entry: &str) -> String {
    format!(
        "a secrets endpoint; only `network: {{dangerously_unprotect: [\"{entry}\"]}}` in the global policy lifts it"
    )
}

fn entry_text(name: &str, port: u16) -> String {
    if DEFAULT_PORTS.contains(&port) {
        name.to_owned()
    } else {
        format!("{name}:{port}")
    }
}

fn address_entry(address: IpAddr, port: Option<u16>) -> String {
    match (address, port) {
        (_, None) => address.to_string(),
        (_, Some(port)) if DEFAULT_PORTS.contains(&port) => address.to_string(),
        (IpAddr::V4(v4), Some(port)) => format!("{v4}:{port}"),
        (IpAddr::V6(v6), Some(port)) => format!("[{v6}]:{port}"),
    }
}
