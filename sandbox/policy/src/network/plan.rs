//! The network part of a Plan: the mode, the rules in force with their origin, and the
//! shape of a decision.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::denylist::built_in;
use super::entry::{HostPattern, ports_label};
use crate::plan::{Effect, Layer, Provenance};
use crate::schema::NetworkMode;

/// Everything the sandbox's network will allow, resolved from the layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkPlan {
    /// How the sandbox reaches the network.
    pub mode: NetworkMode,
    /// The layer that set the mode.
    pub mode_from: Provenance,
    /// Allow and deny rules on names, from every layer (refused project entries are
    /// not here: they are in the Plan's relaxations).
    pub rules: Vec<HostRule>,
    /// Ports of the host's loopback the sandbox may reach.
    pub local_ports: Vec<u16>,
    /// Where `local_ports` were set (`file:line:column` of each, joined).
    pub local_ports_from: String,
    /// Address ranges (and single addresses) the trusted layers allow: IP literals
    /// inside them are allowed, and private addresses inside them may be reached.
    pub allowed_cidrs: Vec<CidrRule>,
    /// Address ranges the layers deny.
    pub denied_cidrs: Vec<CidrRule>,
    /// True when the global file lifted part of the built-in deny-list.
    pub unprotected: bool,
    /// The lifted deny-list entries (names, and ranges as `net/len`).
    pub lifted: Vec<String>,
}

impl Default for NetworkPlan {
    fn default() -> Self {
        NetworkPlan {
            mode: NetworkMode::None,
            mode_from: Provenance {
                layer: Layer::Default,
                origin: "built-in".into(),
            },
            rules: Vec::new(),
            local_ports: Vec::new(),
            local_ports_from: String::new(),
            allowed_cidrs: Vec::new(),
            denied_cidrs: Vec::new(),
            unprotected: false,
            lifted: Vec::new(),
        }
    }
}

/// One rule on names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostRule {
    /// Allow or deny.
    pub effect: Effect,
    /// The names it matches.
    pub host: HostPattern,
    /// The one port, or `None` for 80 and 443.
    pub port: Option<u16>,
    /// The layer, and `file:line:column` (or the flag).
    pub from: Provenance,
}

/// One rule on an address range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CidrRule {
    /// The range (a single address is a /32 or /128).
    pub net: IpNet,
    /// The one port, or `None` for 80 and 443.
    pub port: Option<u16>,
    /// The layer, and `file:line:column` (or the flag).
    pub from: Provenance,
}

/// Where a connection wants to go, as the proxy engine canonicalised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// A host name: lower-case ASCII, no trailing dot (anything else is denied).
    Name(&'a str),
    /// An IP address literal.
    Ip(IpAddr),
}

/// The verdict on one destination, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Allowed or not.
    pub allowed: bool,
    /// The rule, e.g. `allow *.crates.io (ports 80, 443)` or `built-in deny-list:
    /// link-local 169.254.0.0/16`.
    pub rule: String,
    /// Where the rule comes from: `project .cordon/policy.yaml:4:5`, `built-in`,
    /// `flags (--allow-domain)`.
    pub origin: String,
    /// The policy key or flag that would allow it, for the one-line notice.
    pub hint: Option<String>,
}

impl Decision {
    pub(crate) fn allow(rule: impl Into<String>, origin: impl Into<String>) -> Self {
        Decision {
            allowed: true,
            rule: rule.into(),
            origin: origin.into(),
            hint: None,
        }
    }

    pub(crate) fn deny(
        rule: impl Into<String>,
        origin: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        Decision {
            allowed: false,
            rule: rule.into(),
            origin: origin.into(),
            hint,
        }
    }
}

fn effect_word(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{}",
            effect_word(self.effect),
            self.host,
            ports_label(self.port)
        )
    }
}

impl CidrRule {
    pub(crate) fn describe(&self, effect: Effect) -> String {
        format!(
            "{} {}{}",
            effect_word(effect),
            self.net,
            ports_label(self.port)
        )
    }
}

impl fmt::Display for NetworkPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            NetworkMode::None => "none (empty network namespace)",
            NetworkMode::Host => "host (unfiltered)",
            NetworkMode::Proxy => "proxy (allow-listed through cordon's egress proxy)",
        };
        writeln!(f, "network: {mode}")?;
        let idle = self.rules.is_empty()
            && self.allowed_cidrs.is_empty()
            && self.denied_cidrs.is_empty()
            && self.local_ports.is_empty();
        if self.mode != NetworkMode::Proxy {
            if !idle {
                writeln!(f, "  (the rules below take effect in mode `proxy` only)")?;
            } else {
                return Ok(());
            }
        }
        writeln!(
            f,
            "  rules (the most specific entry wins; on a tie deny wins; the built-in deny-list first):"
        )?;
        for rule in &self.rules {
            let shadowed = match (&rule.effect, &rule.host) {
                (Effect::Allow, HostPattern::Exact(name) | HostPattern::Suffix(name)) => {
                    built_in().name(name, &self.lifted).is_some()
                }
                _ => false,
            };
            let note = if shadowed {
                "  [no effect: on the built-in deny-list]"
            } else {
                ""
            };
            writeln!(f, "    {rule}  <- {}{note}", rule.from)?;
        }
        for rule in &self.allowed_cidrs {
            writeln!(f, "    {}  <- {}", rule.describe(Effect::Allow), rule.from)?;
        }
        for rule in &self.denied_cidrs {
            writeln!(f, "    {}  <- {}", rule.describe(Effect::Deny), rule.from)?;
        }
        if self.rules.is_empty() && self.allowed_cidrs.is_empty() {
            writeln!(f, "    (none: every destination is denied)")?;
        }
        if !self.local_ports.is_empty() {
            let ports: Vec<String> = self.local_ports.iter().map(u16::to_string).collect();
            writeln!(f, "  host loopback ports reachable: {}", ports.join(" "))?;
        }
        if self.mode == NetworkMode::Proxy {
            let ports: Vec<String> = self.ports().iter().map(u16::to_string).collect();
            writeln!(f, "  ports captured transparently: {}", ports.join(" "))?;
        }
        if self.unprotected {
            writeln!(
                f,
                "  DANGER: built-in deny-list entries lifted: {}",
                self.lifted.join(" ")
            )?;
        }
        Ok(())
    }
}
