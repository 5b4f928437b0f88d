//! SOCKS5 (RFC 1928), the part a proxy needs: the method negotiation (only "no
//! authentication" is accepted; the listener lives inside the sandbox's own network
//! namespace, so nothing else can reach it) and the CONNECT request with a DOMAINNAME
//! (`socks5h`), IPv4 or IPv6 address. BIND and UDP ASSOCIATE are refused with "command
//! not supported". The parsers take the bytes received so far and say how many they used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The protocol version byte.
pub const VERSION: u8 = 5;
/// "No authentication required".
pub const METHOD_NO_AUTH: u8 = 0;
/// "No acceptable methods".
pub const METHOD_NONE_ACCEPTABLE: u8 = 0xff;

/// The REP field of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reply {
    /// Succeeded.
    Succeeded = 0,
    /// General SOCKS server failure.
    GeneralFailure = 1,
    /// Connection not allowed by ruleset.
    NotAllowed = 2,
    /// Network unreachable.
    NetworkUnreachable = 3,
    /// Host unreachable.
    HostUnreachable = 4,
    /// Connection refused.
    ConnectionRefused = 5,
    /// TTL expired (used for time-outs).
    TtlExpired = 6,
    /// Command not supported.
    CommandNotSupported = 7,
    /// Address type not supported.
    AddressTypeNotSupported = 8,
}

/// The destination of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocksAddr {
    /// ATYP 1 or 4.
    Ip(IpAddr),
    /// ATYP 3: the raw DOMAINNAME bytes (canonicalise before use: they may hold NUL).
    Domain(Vec<u8>),
}

/// A parsed CONNECT request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Where to.
    pub addr: SocksAddr,
    /// The port.
    pub port: u16,
}

/// Why a SOCKS exchange was refused; `reply()` is the code to answer with, if any.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocksError {
    /// Not SOCKS version 5 (SOCKS4 and 4a are not served).
    #[error("SOCKS version {0} is not supported (only SOCKS5)")]
    Version(u8),
    /// The client offers no method without authentication.
    #[error("the SOCKS5 client offers no method without authentication")]
    NoAcceptableMethod,
    /// A malformed field.
    #[error("malformed SOCKS5 request: {0}")]
    Malformed(&'static str),
    /// BIND, UDP ASSOCIATE or an unknown command.
    #[error("SOCKS5 command {0} is not supported (only CONNECT)")]
    Command(u8),
    /// An unknown address type.
    #[error("SOCKS5 address type {0} is not supported")]
    AddressType(u8),
}

impl SocksError {
    /// The reply code to send before closing, when the exchange got as far as a request.
    pub fn reply(&self) -> Reply {
        match self {
            SocksError::Command(_) => Reply::CommandNotSupported,
            SocksError::AddressType(_) => Reply::AddressTypeNotSupported,
            _ => Reply::GeneralFailure,
        }
    }
}

/// Parses the greeting `VER NMETHODS METHODS...`. `Ok(None)` = more bytes needed;
/// `Ok(Some(used))` = no-auth is offered and the greeting took `used` bytes.
pub fn parse_greeting(buf: &[u8]) -> Result<Option<usize>, SocksError> {
    let Some(&version) = buf.first() else {
        return Ok(None);
    };
    if version != VERSION {
        return Err(SocksError::Version(version));
    }
    let Some(&count) = buf.get(1) else {
        return Ok(None);
    };
    if count == 0 {
        return Err(SocksError::Malformed("no authentication methods offered"));
    }
    let end = 2 + usize::from(count);
    let Some(methods) = buf.get(2..end) else {
        return Ok(None);
    };
    if methods.contains(&METHOD_NO_AUTH) {
        Ok(Some(end))
    } else {
        Err(SocksError::NoAcceptableMethod)
    }
}

/// Parses `VER CMD RSV ATYP DST.ADDR DST.PORT`. `Ok(None)` = more bytes needed.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request, usize)>, SocksError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    if buf[0] != VERSION {
        return Err(SocksError::Version(buf[0]));
    }
    if buf[2] != 0 {
        return Err(SocksError::Malformed("reserved byte is not zero"));
    }
    let (addr, addr_end) = match buf[3] {
        1 => {
            let Some(octets) = buf.get(4..8) else {
                return Ok(None);
            };
            let octets: [u8; 4] = octets
                .try_into()
                .map_err(|_| SocksError::Malformed("IPv4"))?;
            (SocksAddr::Ip(IpAddr::V4(Ipv4Addr::from(octets))), 8)
        }
        3 => {
            let Some(&len) = buf.get(4) else {
                return Ok(None);
            };
            if len == 0 {
                return Err(SocksError::Malformed("empty DOMAINNAME"));
            }
            let end = 5 + usize::from(len);
            let Some(name) = buf.get(5..end) else {
                return Ok(None);
            };
            (SocksAddr::Domain(name.to_vec()), end)
        }
        4 => {
            let Some(octets) = buf.get(4..20) else {
                return Ok(None);
            };
            let octets: [u8; 16] = octets
                .try_into()
                .map_err(|_| SocksError::Malformed("IPv6"))?;
            (SocksAddr::Ip(IpAddr::V6(Ipv6Addr::from(octets))), 20)
        }
        other => return Err(SocksError::AddressType(other)),
    };
    let Some(port) = buf.get(addr_end..addr_end + 2) else {
        return Ok(None);
    };
    // The command is checked once the request is complete, so that the reply is sent at
    // the right point of the exchange.
    if buf[1] != 1 {
        return Err(SocksError::Command(buf[1]));
    }
    let port = u16::from_be_bytes([port[0], port[1]]);
    if port == 0 {
        return Err(SocksError::Malformed("port 0"));
    }
    Ok(Some((Request { addr, port }, addr_end + 2)))
}

/// The reply `VER REP RSV ATYP BND.ADDR BND.PORT`; `bound` is the proxy's local address
/// for a success, zeros otherwise.
pub fn reply(code: Reply, bound: Option<SocketAddr>) -> Vec<u8> {
    let mut out = vec![VERSION, code as u8, 0];
    match bound {
        Some(SocketAddr::V6(v6)) => {
            out.push(4);
            out.extend_from_slice(&v6.ip().octets());
            out.extend_from_slice(&v6.port().to_be_bytes());
        }
        Some(SocketAddr::V4(v4)) => {
            out.push(1);
            out.extend_from_slice(&v4.ip().octets());
            out.extend_from_slice(&v4.port().to_be_bytes());
        }
        None => out.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0]),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings() {
        assert_eq!(parse_greeting(b""), Ok(None));
        assert_eq!(parse_greeting(&[5]), Ok(None));
        assert_eq!(parse_greeting(&[5, 2, 0]), Ok(None));
        assert_eq!(parse_greeting(&[5, 1, 0]), Ok(Some(3)));
        assert_eq!(parse_greeting(&[5, 2, 2, 0, 9]), Ok(Some(4)));
        assert_eq!(
            parse_greeting(&[5, 1, 2]),
            Err(SocksError::NoAcceptableMethod)
        );
        assert_eq!(parse_greeting(&[4, 1, 0, 80]), Err(SocksError::Version(4)));
        assert!(parse_greeting(&[5, 0]).is_err());
    }

    #[test]
    fn requests() {
        let domain = [&[5, 1, 0, 3, 9][..], b"crates.io", &[1, 187]].concat();
        assert_eq!(
            parse_request(&domain),
            Ok(Some((
                Request {
                    addr: SocksAddr::Domain(b"crates.io".to_vec()),
                    port: 443
                },
                16
            )))
        );
        for cut in 0..domain.len() {
            assert_eq!(parse_request(&domain[..cut]), Ok(None), "cut {cut}");
        }
        let nul = [&[5, 1, 0, 3, 21][..], b"evil.com\0.allowed.com", &[1, 187]].concat();
        let Ok(Some((request, _))) = parse_request(&nul) else {
            panic!("a NUL name parses here; Host::parse refuses it");
        };
        assert_eq!(
            request.addr,
            SocksAddr::Domain(b"evil.com\0.allowed.com".to_vec())
        );
        let v4 = [5, 1, 0, 1, 127, 0, 0, 1, 0, 80];
        assert_eq!(
            parse_request(&v4).expect("valid").expect("complete").0.addr,
            SocksAddr::Ip("127.0.0.1".parse().expect("address"))
        );
        let mut v6 = vec![5, 1, 0, 4];
        v6.extend_from_slice(&"::ffff:127.0.0.1".parse::<Ipv6Addr>().expect("v6").octets());
        v6.extend_from_slice(&[0, 80]);
        assert_eq!(parse_request(&v6).expect("valid").expect("complete").1, 22);
        assert_eq!(
            parse_request(&[5, 2, 0, 1, 1, 2, 3, 4, 0, 80]),
            Err(SocksError::Command(2))
        );
        assert_eq!(
            parse_request(&[5, 3, 0, 1, 1, 2, 3, 4, 0, 80]),
            Err(SocksError::Command(3))
        );
        assert_eq!(
            parse_request(&[5, 1, 0, 9, 1]),
            Err(SocksError::AddressType(9))
        );
        assert!(parse_request(&[5, 1, 0, 3, 0, 0, 80]).is_err());
        assert!(parse_request(&[5, 1, 1, 1, 1, 2, 3, 4, 0, 80]).is_err());
        assert!(parse_request(&[5, 1, 0, 1, 1, 2, 3, 4, 0, 0]).is_err());
        assert_eq!(SocksError::Command(2).reply(), Reply::CommandNotSupported);
    }

    #[test]
    fn replies() {
        assert_eq!(
            reply(Reply::NotAllowed, None),
            vec![5, 2, 0, 1, 0, 0, 0, 0, 0, 0]
        );
        let bound: SocketAddr = "127.0.0.1:1080".parse().expect("address");
        assert_eq!(
            reply(Reply::Succeeded, Some(bound)),
            vec![5, 0, 0, 1, 127, 0, 0, 1, 4, 56]
        );
    }
}
