//! Network entries as written in a policy (`crates.io`, `*.crates.io`, `github.com:22`,
//! `*`, `192.0.2.7`, `10.0.0.0/8:5432`, `[2001:db8::/32]:443`): parsing, matching and
//! specificity.
//!
//! Rules of the notation (docs/sandbox.md, "Network policy"):
//! - a name is lower-case ASCII letters, digits, `-` and `_` in dot-separated labels;
//!   upper case is folded to lower case and one trailing dot is dropped (DNS compares
//!   names that way); anything else outside ASCII is refused (write the `xn--` form);
//! - `*.suffix` matches every name below `suffix`, never `suffix` itself and never a
//!   name that merely ends with the same letters (`evil-suffix`); `*` alone matches
//!   every name (never an IP address);
//! - `:port` (1-65535, no leading zero) names one port; without it the entry means
//!   ports 80 and 443;
//! - an IPv4 address, an IPv6 address (bracketed when a port follows) or a CIDR range
//!   matches addresses only; names that spell an address in another form (`127.1`,
//!   `0x7f000001`) are refused.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::Serialize;

/// The ports an entry without `:port` covers.
pub const DEFAULT_PORTS: [u16; 2] = [80, 443];

/// Which names an entry matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum HostPattern {
    /// `*`: every name.
    Any,
    /// `*.suffix`: every name below `suffix` (the string holds `suffix`).
    Suffix(String),
    /// One name.
    Exact(String),
}

impl HostPattern {
    /// True when `name` (canonical: lower-case, no trailing dot) matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(exact) => name == exact,
            HostPattern::Suffix(suffix) => name
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }

    /// How specific the pattern is: more fixed labels first, an exact name before a
    /// wildcard with as many labels. Two patterns that match one name compare the way
    /// "the most specific entry wins" needs.
    pub fn specificity(&self) -> (usize, bool) {
        match self {
            HostPattern::Any => (0, false),
            HostPattern::Suffix(suffix) => (suffix.split('.').count(), false),
            HostPattern::Exact(exact) => (exact.split('.').count(), true),
        }
    }

    /// True when every name `other` matches is matched by `self` too.
    pub fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Any, _) => true,
            (_, HostPattern::Any) => false,
            (HostPattern::Exact(a), HostPattern::Exact(b)) => a == b,
            (HostPattern::Exact(_), HostPattern::Suffix(_)) => false,
            (HostPattern::Suffix(_), HostPattern::Exact(name)) => self.matches(name),
            (HostPattern::Suffix(a), HostPattern::Suffix(b)) => {
                a == b || HostPattern::Suffix(a.clone()).matches(b)
            }
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Any => f.write_str("*"),
            HostPattern::Suffix(suffix) => write!(f, "*.{suffix}"),
            HostPattern::Exact(name) => f.write_str(name),
        }
    }
}

/// What an entry matches: names or addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Names.
    Host(HostPattern),
    /// Addresses (an address alone is a /32 or /128 range).
    Net(IpNet),
}

/// One parsed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Names or addresses.
    pub target: Target,
    /// The one port named, or `None` for ports 80 and 443.
    pub port: Option<u16>,
}

/// Why an entry cannot be used, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

fn error(message: String, hint: &str) -> EntryError {
    EntryError {
        message,
        hint: hint.to_owned(),
    }
}

/// True when `port` is covered by an entry's `port` (`None` = 80 and 443).
pub(crate) fn port_matches(entry_port: Option<u16>, port: u16) -> bool {
    match entry_port {
        Some(one) => one == port,
        None => DEFAULT_PORTS.contains(&port),
    }
}

/// Shows an entry's ports: `:22`, or `(80, 443)`.
pub(crate) fn ports_label(port: Option<u16>) -> String {
    match port {
        Some(port) => format!(":{port}"),
        None => " (ports 80, 443)".to_owned(),
    }
}

/// Parses one entry.
pub fn parse_entry(text: &str) -> Result<Entry, EntryError> {
    if text.is_empty() {
        return Err(error(
            "empty network entry".into(),
            "write a name (`crates.io`), `*.suffix`, or `*`, optionally with `:port`",
        ));
    }
    if !text.is_ascii() {
        return Err(error(
            format!("`{text}`: only ASCII names are accepted"),
            "write an internationalized name in its IDNA form (`xn--...`)",
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(error(
            format!("`{}`: contains {bad:?}", text.escape_debug()),
            "remove spaces and control characters",
        ));
    }
    if text.contains("://") || text.contains('@') {
        return Err(error(
            format!("`{text}`: a URL or user name where a host is expected"),
            "write the host name only, e.g. `github.com` or `github.com:22`",
        ));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return Err(error(
                format!("`{text}`: `[` without `]`"),
                "write an IPv6 address with a port as `[2001:db8::1]:443`",
            ));
        };
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(parse_port(port, text)?),
                None => {
                    return Err(error(
                        format!("`{text}`: unexpected `{after}` after `]`"),
                        "write `[ADDRESS]:PORT`",
                    ));
                }
            },
        };
        let net = parse_net(inside, text)?;
        if !matches!(net, IpNet::V6(_)) {
            return Err(error(
                format!("`{text}`: brackets are for IPv6 addresses"),
                "write an IPv4 address without brackets: `192.0.2.1:443`",
            ));
        }
        return Ok(Entry {
            target: Target::Net(net),
            port,
        });
    }
    if text.matches(':').count() >= 2 {
        // A bare IPv6 address or range: no port possible without brackets.
        let net = parse_net(text, text).map_err(|_| {
            error(
                format!("`{text}`: not an IPv6 address or range"),
                "write an IPv6 address as `2001:db8::1`, or with a port as `[2001:db8::1]:443`",
            )
        })?;
        return Ok(Entry {
            target: Target::Net(net),
            port: None,
        });
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(parse_port(port, text)?)),
        None => (text, None),
    };
    if host.contains('/') {
        let net = parse_net(host, text).map_err(|mut e| {
            if host.parse::<Ipv4Addr>().is_err()
                && host
                    .split('/')
                    .next()
                    .is_some_and(|h| h.parse::<Ipv4Addr>().is_err())
            {
                e = error(
                    format!("`{text}`: a path cannot be matched (HTTPS tunnels are opaque)"),
                    "name the host only, e.g. `discord.com`",
                );
            }
            e
        })?;
        return Ok(Entry {
            target: Target::Net(net),
            port,
        });
    }
    if let Ok(address) = host.parse::<Ipv4Addr>() {
        return Ok(Entry {
            target: Target::Net(IpNet::from(IpAddr::V4(address))),
            port,
        });
    }
    let pattern = parse_host_pattern(host, text)?;
    Ok(Entry {
        target: Target::Host(pattern),
        port,
    })
}

fn parse_port(port: &str, text: &str) -> Result<u16, EntryError> {
    let hint = "a port is a number from 1 to 65535 without leading zeros, e.g. `github.com:22`";
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(error(format!("`{text}`: `{port}` is not a port"), hint));
    }
    if port.len() > 1 && port.starts_with('0') {
        return Err(error(
            format!("`{text}`: port `{port}` has a leading zero"),
            hint,
        ));
    }
    match port.parse::<u32>() {
        Ok(number @ 1..=65535) => Ok(u16::try_from(number).unwrap_or(u16::MAX)),
        _ => Err(error(
            format!("`{text}`: port {port} is out of range (1-65535)"),
            hint,
        )),
    }
}

fn parse_net(text: &str, whole: &str) -> Result<IpNet, EntryError> {
    let hint =
        "write an address (`192.0.2.1`, `2001:db8::1`) or a range (`10.0.0.0/8`, `fd00::/8`)";
    let net = match text.split_once('/') {
        None => match text.parse::<IpAddr>() {
            Ok(address) => IpNet::from(address),
            Err(_) => {
                return Err(error(
                    format!("`{whole}`: `{text}` is not an IP address"),
                    hint,
                ));
            }
        },
        Some((address, _)) => {
            if address.parse::<Ipv4Addr>().is_err() && address.parse::<Ipv6Addr>().is_err() {
                return Err(error(
                    format!("`{whole}`: `{text}` is not a CIDR range"),
                    hint,
                ));
            }
            let net = text.parse::<IpNet>().map_err(|_| {
                error(
                    format!("`{whole}`: `{text}` is not a CIDR range (bad prefix length)"),
                    hint,
                )
            })?;
            if net.trunc() != net {
                return Err(error(
                    format!("`{whole}`: `{text}` has bits set after the prefix"),
                    &format!("did you mean `{}`?", net.trunc()),
                ));
            }
            net
        }
    };
    Ok(net)
}

fn parse_host_pattern(host: &str, text: &str) -> Result<HostPattern, EntryError> {
    if host == "*" {
        return Ok(HostPattern::Any);
    }
    let (wildcard, name) = match host.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, host),
    };
    if name.contains('*') {
        return Err(error(
            format!("`{text}`: `*` may only stand alone or as the first label (`*.example.com`)"),
            "write `*.example.com` for every name below example.com, or `*` for every name",
        ));
    }
    let name = canonical_name(name).map_err(|message| {
        error(
            format!("`{text}`: {message}"),
            "a name is dot-separated labels of letters, digits, `-` and `_`",
        )
    })?;
    let last = name.rsplit('.').next().unwrap_or("");
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        return Err(error(
            format!("`{text}`: looks like an IP address in a non-standard form"),
            "write an address in dotted-quad form (`127.0.0.1`); addresses are accepted in the global file, --policy files and flags only",
        ));
    }
    Ok(if wildcard {
        HostPattern::Suffix(name)
    } else {
        HostPattern::Exact(name)
    })
}

/// Folds a policy-written name to its canonical form (lower case, no trailing dot),
/// refusing what is not a host name.
pub(crate) fn canonical_name(name: &str) -> Result<String, String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.len() > 253 {
        return Err("a name is at most 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label (`..`)".into());
        }
        if label.len() > 63 {
            return Err(format!("label `{label}` is longer than 63 characters"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("{bad:?} is not allowed in a name"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    Ok(name.to_ascii_lowercase())
}

/// True when `name` is already canonical (what the proxy engine hands over).
pub(crate) fn is_canonical_name(name: &str) -> bool {
    canonical_name(name).is_ok_and(|canonical| canonical == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> HostPattern {
        match parse_entry(text).unwrap().target {
            Target::Host(pattern) => pattern,
            Target::Net(net) => panic!("{text} parsed as {net}"),
        }
    }

    #[test]
    fn entries_parse() {
        let cases: &[(&str, Target, Option<u16>)] = &[
            (
                "crates.io",
                Target::Host(HostPattern::Exact("crates.io".into())),
                None,
            ),
            (
                "*.crates.io",
                Target::Host(HostPattern::Suffix("crates.io".into())),
                None,
            ),
            (
                "github.com:22",
                Target::Host(HostPattern::Exact("github.com".into())),
                Some(22),
            ),
            (
                "GitHub.COM.",
                Target::Host(HostPattern::Exact("github.com".into())),
                None,
            ),
            ("*", Target::Host(HostPattern::Any), None),
            ("*:8080", Target::Host(HostPattern::Any), Some(8080)),
            (
                "_dmarc.example.com",
                Target::Host(HostPattern::Exact("_dmarc.example.com".into())),
                None,
            ),
            (
                "192.0.2.7",
                Target::Net("192.0.2.7/32".parse().unwrap()),
                None,
            ),
            (
                "192.0.2.7:8443",
                Target::Net("192.0.2.7/32".parse().unwrap()),
                Some(8443),
            ),
            (
                "10.0.0.0/8",
                Target::Net("10.0.0.0/8".parse().unwrap()),
                None,
            ),
            (
                "10.0.0.0/8:5432",
                Target::Net("10.0.0.0/8".parse().unwrap()),
                Some(5432),
            ),
            (
                "2001:db8::1",
                Target::Net("2001:db8::1/128".parse().unwrap()),
                None,
            ),
            ("fd00::/8", Target::Net("fd00::/8".parse().unwrap()), None),
            (
                "[2001:db8::1]:443",
                Target::Net("2001:db8::1/128".parse().unwrap()),
                Some(443),
            ),
            (
                "[2001:db8::/32]:22",
                Target::Net("2001:db8::/32".parse().unwrap()),
                Some(22),
            ),
            (
                "example.com:65535",
                Target::Host(HostPattern::Exact("example.com".into())),
                Some(65535),
            ),
        ];
        for (text, target, port) in cases {
            let entry = parse_entry(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(&entry.target, target, "{text}");
            assert_eq!(entry.port, *port, "{text}");
        }
    }

    #[test]
    fn bad_entries_are_refused_with_a_hint() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("github.com:0", "out of range"),
            ("github.com:65536", "out of range"),
            ("github.com:022", "leading zero"),
            ("github.com:ssh", "not a port"),
            ("github.com:", "not a port"),
            ("a:b:c", "not an IPv6"),
            ("bücher.de", "ASCII"),
            ("git hub.com", "contains"),
            ("evil\0.allowed.com", "contains"),
            ("https://github.com", "URL"),
            ("user@github.com", "URL"),
            ("discord.com/api/webhooks", "path"),
            ("*github.com", "first label"),
            ("a.*.com", "first label"),
            ("**.github.com", "first label"),
            ("*.", "empty"),
            ("github..com", "empty label"),
            (".github.com", "empty label"),
            ("-github.com", "starts or ends"),
            ("git%hub.com", "not allowed"),
            ("127.1", "non-standard"),
            ("2130706433", "non-standard"),
            ("0x7f000001", "non-standard"),
            ("0x7f.0.0.1", "non-standard"),
            ("10.0.0.1/8", "did you mean `10.0.0.0/8`"),
            ("10.0.0.0/33", "prefix length"),
            ("[192.0.2.1]:443", "brackets are for IPv6"),
            ("[2001:db8::1", "without `]`"),
            ("[2001:db8::1]x", "unexpected"),
            ("[2001:db8::1%eth0]:443", "not an IP address"),
        ];
        for (text, expected) in cases {
            let error = parse_entry(text).expect_err(text);
            let shown = format!("{} / {}", error.message, error.hint);
            assert!(shown.contains(expected), "{text}: {shown}");
            assert!(!error.hint.is_empty(), "{text}");
        }
    }

    #[test]
    fn suffix_matching_is_on_a_label_boundary_and_excludes_the_apex() {
        let pattern = host("*.github.com");
        for (name, matches) in [
            ("api.github.com", true),
            ("a.b.github.com", true),
            ("github.com", false),
            ("evil-github.com", false),
            ("notgithub.com", false),
            ("github.com.evil.com", false),
            (".github.com", false),
            ("xgithub.com", false),
            ("api.github.co", false),
        ] {
            assert_eq!(pattern.matches(name), matches, "{name}");
        }
        let exact = host("github.com");
        assert!(exact.matches("github.com"));
        assert!(!exact.matches("api.github.com"));
        assert!(!exact.matches("github.com.evil.com"));
        assert!(host("*").matches("anything.example"));
    }

    #[test]
    fn specificity_and_cover() {
        assert!(host("api.github.com").specificity() > host("*.github.com").specificity());
        assert!(host("*.api.github.com").specificity() > host("*.github.com").specificity());
        assert!(host("*.github.com").specificity() > host("*").specificity());
        assert!(host("*.github.com").covers(&host("api.github.com")));
        assert!(host("*.github.com").covers(&host("*.api.github.com")));
        assert!(host("*.github.com").covers(&host("*.github.com")));
        assert!(!host("*.github.com").covers(&host("github.com")));
        assert!(!host("*.github.com").covers(&host("*")));
        assert!(!host("github.com").covers(&host("*.github.com")));
        assert!(host("*").covers(&host("*")));
    }

    #[test]
    fn ports() {
        assert!(port_matches(None, 443));
        assert!(port_matches(None, 80));
        assert!(!port_matches(None, 22));
        assert!(port_matches(Some(22), 22));
        assert!(!port_matches(Some(22), 443));
    }

    #[test]
    fn canonical_names() {
        assert!(is_canonical_name("api.github.com"));
        assert!(!is_canonical_name("API.github.com"));
        assert!(!is_canonical_name("github.com."));
        assert!(!is_canonical_name("evil\0.github.com"));
        assert!(!is_canonical_name(""));
    }
}
