//! The built-in secrets-endpoint deny-list: the data in `denylist.yaml` (embedded in the
//! binary, one source per entry), and lookups of names and addresses in it.

use std::fmt;
use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::address::embedded_ipv4;

/// The file's text, as shipped.
pub const DENYLIST_YAML: &str = include_str!("denylist.yaml");

/// What a deny-list name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameClass {
    /// Cloud metadata, container-host and cluster names.
    Metadata,
    /// Webhook and request-capture services.
    Webhook,
    /// Out-of-band security testing callbacks.
    Oast,
    /// Services exposing a tunnel to the internet.
    Tunnel,
    /// Paste and anonymous file-drop services.
    Paste,
    /// Messaging APIs used to exfiltrate.
    Messaging,
    /// Wildcard DNS that maps names to any address.
    Rebinding,
}

/// What a deny-list address range is; decides who may relax it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressClass {
    /// The host's loopback: reachable on `local_ports` only.
    Loopback,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// Link-local.
    LinkLocal,
    /// A cloud metadata address.
    Metadata,
    /// Multicast.
    Multicast,
    /// Limited broadcast.
    Broadcast,
    /// Reserved for future use.
    Reserved,
    /// Private ranges: reachable inside a CIDR the trusted layers allow.
    Private,
}

impl fmt::Display for NameClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            NameClass::Metadata => "metadata",
            NameClass::Webhook => "webhook",
            NameClass::Oast => "oast",
            NameClass::Tunnel => "tunnel",
            NameClass::Paste => "paste",
            NameClass::Messaging => "messaging",
            NameClass::Rebinding => "rebinding",
        })
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            AddressClass::Loopback => "loopback",
            AddressClass::Unspecified => "unspecified",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Metadata => "metadata",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Reserved => "reserved",
            AddressClass::Private => "private",
        })
    }
}

/// A denied name: the name itself and every name below it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeniedName {
    /// The name.
    pub name: String,
    /// What it is.
    pub class: NameClass,
    /// Where the entry comes from.
    pub source: String,
}

impl DeniedName {
    /// True for the name and every name below it.
    pub fn matches(&self, name: &str) -> bool {
        name == self.name
            || name
                .strip_suffix(self.name.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
    }
}

/// A denied address range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedRange {
    /// The range.
    pub net: IpNet,
    /// What it is.
    pub class: AddressClass,
    /// Where the entry comes from.
    pub source: String,
}

/// The whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyList {
    /// Names.
    pub names: Vec<DeniedName>,
    /// Address ranges.
    pub addresses: Vec<DeniedRange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    names: Vec<DeniedName>,
    addresses: Vec<RawRange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    net: String,
    class: AddressClass,
    source: String,
}

/// Parses the deny-list's text (the embedded file; tests check it parses).
pub fn parse_denylist(text: &str) -> Result<DenyList, String> {
    let raw: RawList = serde_saphyr::from_str(text).map_err(|error| error.to_string())?;
    let mut addresses = Vec::with_capacity(raw.addresses.len());
    for range in raw.addresses {
        let net: IpNet = range
            .net
            .parse()
            .map_err(|_| format!("`{}` is not a CIDR range", range.net))?;
        if net.trunc() != net {
            return Err(format!("`{}` has bits set after the prefix", range.net));
        }
        addresses.push(DeniedRange {
            net,
            class: range.class,
            source: range.source,
        });
    }
    for name in &raw.names {
        if !super::entry::is_canonical_name(&name.name) {
            return Err(format!("`{}` is not a canonical name", name.name));
        }
    }
    Ok(DenyList {
        names: raw.names,
        addresses,
    })
}

static BUILT_IN: LazyLock<DenyList> = LazyLock::new(|| {
    // The file is part of the source; `the_shipped_list_parses` keeps it valid.
    parse_denylist(DENYLIST_YAML)
        .unwrap_or_else(|error| panic!("the built-in network deny-list is invalid: {error}"))
});

/// The built-in list.
pub fn built_in() -> &'static DenyList {
    &BUILT_IN
}

impl DenyList {
    /// The name entry that covers `name` (canonical), skipping the `lifted` ones.
    pub fn name(&self, name: &str, lifted: &[String]) -> Option<&DeniedName> {
        self.names
            .iter()
            .filter(|entry| !lifted.contains(&entry.name))
            .find(|entry| entry.matches(name))
    }

    /// The most specific range entry that covers `address` or the IPv4 address embedded
    /// in it, skipping the `lifted` ones. A hit on the address itself is reported before
    /// one on its embedded IPv4 form; of two hits, the one that is not `private` wins
    /// (a private range may be allowed, the rest may not).
    pub fn address(&self, address: IpAddr, lifted: &[String]) -> Option<&DeniedRange> {
        let lookup = |address: IpAddr| {
            self.addresses
                .iter()
                .filter(|entry| !lifted.contains(&entry.net.to_string()))
                .filter(|entry| entry.net.contains(&address))
                .max_by_key(|entry| entry.net.prefix_len())
        };
        let own = lookup(address);
        let embedded = match address {
            IpAddr::V6(v6) => embedded_ipv4(v6).and_then(|v4| lookup(IpAddr::V4(v4))),
            IpAddr::V4(_) => None,
        };
        match (own, embedded) {
            (Some(own), Some(embedded)) if own.class == AddressClass::Private => Some(embedded),
            (Some(own), _) => Some(own),
            (None, embedded) => embedded,
        }
    }

    /// True when `text` names an entry (a name, or a range as written in the list).
    pub fn has_entry(&self, text: &str) -> bool {
        self.names.iter().any(|entry| entry.name == text)
            || self
                .addresses
                .iter()
                .any(|entry| entry.net.to_string() == text)
    }
}

impl fmt::Display for DenyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "built-in secrets-endpoint deny-list (no layer relaxes it; only the global `network.dangerously_unprotect` lifts an entry):"
        )?;
        writeln!(f, "  names (the name and every name below it):")?;
        for entry in &self.names {
            writeln!(
                f,
                "    {:<26} {:<10} {}",
                entry.name, entry.class, entry.source
            )?;
        }
        writeln!(
            f,
            "  addresses (IP literals and every resolved address, IPv4 embedded in IPv6 decoded first):"
        )?;
        for entry in &self.addresses {
            let class = match entry.class {
                AddressClass::Loopback => "loopback (reachable on `local_ports`)".to_owned(),
                AddressClass::Private => "private (reachable inside an allowed CIDR)".to_owned(),
                other => other.to_string(),
            };
            let net = entry.net.to_string();
            writeln!(f, "    {net:<22} {class:<42} {}", entry.source)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_parses_and_every_entry_has_a_source() {
        let list = parse_denylist(DENYLIST_YAML).unwrap();
        assert!(list.names.len() > 50, "{}", list.names.len());
        assert!(list.addresses.len() > 25, "{}", list.addresses.len());
        for name in &list.names {
            assert!(name.source.len() > 5, "{}", name.name);
        }
        for range in &list.addresses {
            assert!(range.source.len() > 5, "{}", range.net);
        }
        let mut names: Vec<&str> = list.names.iter().map(|n| n.name.as_str()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "duplicate names");
    }

    #[test]
    fn the_research_lists_are_in_it() {
        let list = built_in();
        for name in [
            "metadata.google.internal",
            "metadata",
            "instance-data",
            "webhook.site",
            "oastify.com",
            "burpcollaborator.net",
            "pipedream.net",
            "ngrok.io",
            "ngrok-free.app",
            "trycloudflare.com",
            "serveo.net",
            "pastebin.com",
            "transfer.sh",
            "interact.sh",
            "oast.fun",
            "canarytokens.com",
            "api.telegram.org",
            "hooks.slack.com",
            "nip.io",
        ] {
            assert!(list.name(name, &[]).is_some(), "{name}");
        }
        for address in [
            "169.254.169.254",
            "169.254.170.2",
            "100.100.100.200",
            "168.63.129.16",
            "192.0.0.192",
            "fd00:ec2::254",
            "fd00:ec2::23",
            "fd20:ce::254",
            "fd00:c1::a9fe:a9fe",
            "fd00:42::42",
            "fd00:a9fe:a9fe::1",
            "fd00:100::100:200",
        ] {
            let hit = list.address(address.parse().unwrap(), &[]).unwrap();
            assert_eq!(hit.class, AddressClass::Metadata, "{address}");
        }
    }

    #[test]
    fn names_match_apex_and_below_only() {
        let list = built_in();
        for (name, denied) in [
            ("webhook.site", true),
            ("abc.webhook.site", true),
            ("a.b.webhook.site", true),
            ("notwebhook.site", false),
            ("webhook.site.example.com", false),
            ("xngrok.io", false),
            ("tunnel.ngrok-free.app", true),
            ("metadata", true),
            ("metadata.example.com", false),
            ("crates.io", false),
            ("github.com", false),
        ] {
            assert_eq!(list.name(name, &[]).is_some(), denied, "{name}");
        }
        assert!(
            list.name("webhook.site", &["webhook.site".to_owned()])
                .is_none()
        );
    }

    #[test]
    fn broken_lists_are_reported() {
        assert!(
            parse_denylist(
                "names: []\naddresses: [{net: 10.0.0.1/8, class: private, source: x}]\n"
            )
            .is_err()
        );
        assert!(
            parse_denylist("names: []\naddresses: [{net: nope, class: private, source: x}]\n")
                .is_err()
        );
        assert!(
            parse_denylist("names: [{name: Bad.Name, class: paste, source: x}]\naddresses: []\n")
                .is_err()
        );
        assert!(
            parse_denylist("names: [{name: a.b, class: nope, source: x}]\naddresses: []\n")
                .is_err()
        );
    }
}
