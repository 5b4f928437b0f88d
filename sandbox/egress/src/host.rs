//! The one wire canonicaliser: every host name or address the engine receives (a CONNECT
//! authority, an absolute URI, a Host header, a SOCKS5 DOMAINNAME, a DNS question, a TLS
//! SNI) goes through [`Host::parse`] before anything compares or resolves it.
//!
//! The rules are strict on purpose (research §3 rows 3, 13, 14, 19): anything a resolver or
//! a URL parser elsewhere could read as an address *is* an address here (every `inet_aton`
//! spelling, bracketed and v4-mapped IPv6), and anything that different parsers could read
//! differently (NUL and control bytes, `%` zones and escapes, userinfo, empty labels,
//! non-ASCII) is refused instead of being "cleaned up".

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest name accepted, in bytes, without the trailing dot (RFC 1035: 255 octets on
/// the wire, 253 characters in text form).
pub const MAX_NAME_LEN: usize = 253;
/// The longest label (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;

/// A canonical host: a lower-case ASCII name without a trailing dot, or an IP address
/// (IPv4-mapped IPv6 addresses are returned as IPv4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// Lower-case ASCII letters, digits, `-` and `_`, labels of 1..=63 bytes, at most 253
    /// bytes, no trailing dot, and not readable as an IPv4 address.
    Name(String),
    /// An address literal, in any spelling `inet_aton` or a URL parser accepts.
    Ip(IpAddr),
}

/// Why a host was refused. Every variant names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// Nothing was given.
    #[error("the host is empty")]
    Empty,
    /// The name is longer than 253 bytes.
    #[error("the host name is {len} bytes long; at most {MAX_NAME_LEN} are allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A NUL, control byte, space or DEL (parsers disagree on where such a name ends).
    #[error("the host contains the control byte 0x{byte:02x} at offset {offset}")]
    ControlByte {
        /// The byte.
        byte: u8,
        /// Its offset in the host.
        offset: usize,
    },
    /// A byte outside ASCII: internationalised names must be sent in their `xn--` form.
    #[error(
        "the host contains a non-ASCII byte at offset {offset}; send internationalised names in their ASCII (xn--) form"
    )]
    NonAscii {
        /// Its offset in the host.
        offset: usize,
    },
    /// `user@host`: userinfo is never part of a host.
    #[error("the host contains '@' (userinfo is not accepted)")]
    Userinfo,
    /// `%`: an IPv6 zone (`fe80::1%eth0`) or a percent-escape.
    #[error("the host contains '%' (IPv6 zones and percent-escapes are not accepted)")]
    Percent,
    /// `a..b`, a leading dot, or more than one trailing dot.
    #[error("the host has an empty label")]
    EmptyLabel,
    /// A label of more than 63 bytes.
    #[error("a label of the host is {len} bytes long; at most {MAX_LABEL_LEN} are allowed")]
    LabelTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A character that is neither a letter, a digit, `-`, `_` nor `.`.
    #[error("the host contains {ch:?}, which is not allowed in a host name")]
    InvalidCharacter {
        /// The character.
        ch: char,
    },
    /// The last label is numeric, so the host must be an IPv4 address, and it is not one.
    #[error("the host ends in a number but is not a valid IPv4 address")]
    InvalidIpv4,
    /// A bracketed or colon-containing host that is not a valid IPv6 address.
    #[error("the host is not a valid IPv6 address")]
    InvalidIpv6,
}

impl Host {
    /// Parses and canonicalises a host as received on the wire (no port, no brackets
    /// required for IPv6, but accepted).
    pub fn parse(raw: &[u8]) -> Result<Host, HostError> {
        if raw.is_empty() {
            return Err(HostError::Empty);
        }
        for (offset, &byte) in raw.iter().enumerate() {
            if byte >= 0x80 {
                return Err(HostError::NonAscii { offset });
            }
            if byte <= 0x20 || byte == 0x7f {
                return Err(HostError::ControlByte { byte, offset });
            }
        }
        if raw.contains(&b'@') {
            return Err(HostError::Userinfo);
        }
        if raw.contains(&b'%') {
            return Err(HostError::Percent);
        }
        let text = String::from_utf8_lossy(raw).to_ascii_lowercase();
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(HostError::InvalidIpv6)?;
            return parse_ipv6(inner);
        }
        if text.contains(':') || text.contains(']') {
            return parse_ipv6(&text);
        }
        let trimmed = text.strip_suffix('.').unwrap_or(&text);
        if trimmed.is_empty() {
            return Err(HostError::EmptyLabel);
        }
        let labels: Vec<&str> = trimmed.split('.').collect();
        if labels.iter().any(|label| label.is_empty()) {
            return Err(HostError::EmptyLabel);
        }
        // WHATWG URL's "ends in a number": such a host is an IPv4 address or nothing.
        let last = labels[labels.len() - 1];
        if is_numeric_part(last) {
            return parse_ipv4_parts(&labels).map(|v4| Host::Ip(IpAddr::V4(v4)));
        }
        if trimmed.len() > MAX_NAME_LEN {
            return Err(HostError::TooLong { len: trimmed.len() });
        }
        for label in &labels {
            if label.len() > MAX_LABEL_LEN {
                return Err(HostError::LabelTooLong { len: label.len() });
            }
            if let Some(ch) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(HostError::InvalidCharacter { ch });
            }
        }
        Ok(Host::Name(trimmed.to_owned()))
    }

    /// Canonicalises an address: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4.
    pub fn from_ip(ip: IpAddr) -> Host {
        Host::Ip(canonical_ip(ip))
    }

    /// The name, if this host is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Host::Name(name) => Some(name),
            Host::Ip(_) => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// IPv4-mapped IPv6 addresses become IPv4; everything else is returned unchanged (the
/// policy decodes the other embedded forms: compatible, NAT64, 6to4).
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        IpAddr::V4(_) => ip,
    }
}

fn parse_ipv6(text: &str) -> Result<Host, HostError> {
    let v6: Ipv6Addr = text.parse().map_err(|_| HostError::InvalidIpv6)?;
    Ok(Host::from_ip(IpAddr::V6(v6)))
}

/// A part that `inet_aton` would read as a number: decimal digits, or `0x` followed by hex
/// digits (possibly none, which WHATWG reads as 0).
fn is_numeric_part(part: &str) -> bool {
    if let Some(hex) = part.strip_prefix("0x") {
        return hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
}

/// One `inet_aton` part: `0x` hex, leading-zero octal, or decimal. `None` when it is not a
/// number or does not fit in 32 bits.
fn parse_number(part: &str) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x") {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if digits.is_empty() {
        return (radix == 16).then_some(0);
    }
    // Leading zeros cannot overflow the value; strip them so that u64 parsing only fails on
    // values that really are too large.
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Some(0);
    }
    if significant.len() > 16 {
        return None;
    }
    u64::from_str_radix(significant, radix).ok()
}

/// `inet_aton`: 1 to 4 parts; all but the last are one byte each, the last fills the rest.
fn parse_ipv4_parts(labels: &[&str]) -> Result<Ipv4Addr, HostError> {
    if labels.len() > 4 {
        return Err(HostError::InvalidIpv4);
    }
    let mut numbers = Vec::with_capacity(labels.len());
    for label in labels {
        numbers.push(parse_number(label).ok_or(HostError::InvalidIpv4)?);
    }
    let (last, leading) = numbers.split_last().ok_or(HostError::InvalidIpv4)?;
    if leading.iter().any(|&n| n > 255) {
        return Err(HostError::InvalidIpv4);
    }
    let last_bits = 8 * (5 - numbers.len() as u32);
    if *last >= 1u64 << last_bits {
        return Err(HostError::InvalidIpv4);
    }
    let mut value: u64 = 0;
    for (index, n) in leading.iter().enumerate() {
        value |= n << (24 - 8 * index as u32);
    }
    value |= last;
    let value = u32::try_from(value).map_err(|_| HostError::InvalidIpv4)?;
    Ok(Ipv4Addr::from(value))
}

/// Splits an authority `host:port` or `[v6]:port` and canonicalises both parts. Without a
/// port, `default_port` is used (an error when there is none). Ports are decimal without
/// leading zeros, 1..=65535.
pub fn parse_authority(raw: &[u8], default_port: Option<u16>) -> Result<Target, AuthorityError> {
    if raw.contains(&b'@') {
        return Err(AuthorityError::Host(HostError::Userinfo));
    }
    let (host, port) = if raw.first() == Some(&b'[') {
        let close = raw
            .iter()
            .position(|&b| b == b']')
            .ok_or(AuthorityError::Host(HostError::InvalidIpv6))?;
        let rest = &raw[close + 1..];
        let port = match rest {
            [] => None,
            [b':', port @ ..] => Some(port),
            _ => return Err(AuthorityError::Host(HostError::InvalidIpv6)),
        };
        (&raw[..=close], port)
    } else {
        let colons = raw.iter().filter(|&&b| b == b':').count();
        match colons {
            0 => (raw, None),
            1 => {
                let at = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
                (&raw[..at], Some(&raw[at + 1..]))
            }
            _ => return Err(AuthorityError::UnbracketedIpv6),
        }
    };
    let host = Host::parse(host).map_err(AuthorityError::Host)?;
    let port = match port {
        Some(port) => parse_port(port)?,
        None => default_port.ok_or(AuthorityError::MissingPort)?,
    };
    Ok(Target { host, port })
}

/// A decimal port 1..=65535 without sign or leading zeros.
pub fn parse_port(raw: &[u8]) -> Result<u16, AuthorityError> {
    let invalid = || AuthorityError::InvalidPort(String::from_utf8_lossy(raw).into_owned());
    if raw.is_empty() || raw.len() > 5 || raw[0] == b'0' || !raw.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let text = std::str::from_utf8(raw).map_err(|_| invalid())?;
    match text.parse::<u32>() {
        Ok(port @ 1..=65535) => u16::try_from(port).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// Why an authority (`host:port`) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// The host part is invalid.
    #[error(transparent)]
    Host(HostError),
    /// An IPv6 address without brackets (its colons make the port ambiguous).
    #[error("an IPv6 address in an authority must be in brackets: [addr]:port")]
    UnbracketedIpv6,
    /// No port and no default for this entry point.
    #[error("the authority has no port")]
    MissingPort,
    /// Not a decimal 1..=65535 without leading zeros.
    #[error("the port {0:?} is not a number from 1 to 65535 without leading zeros")]
    InvalidPort(String),
}

/// Where a connection wants to go: a canonical host and a port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The canonical host.
    pub host: Host,
    /// The TCP port.
    pub port: u16,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]:{}", self.port),
            host => write!(f, "{host}:{}", self.port),
        }
    }
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
