//! IPv4 addresses carried inside IPv6 ones. An IPv6 destination such as
//! `::ffff:169.254.169.254` or `64:ff9b::a9fe:a9fe` reaches (or, through a translator,
//! may reach) the IPv4 address inside it, so every rule about IPv4 ranges is applied to
//! that address as well.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The IPv4 address embedded in `address`, for every form that carries one:
/// - IPv4-mapped `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2);
/// - IPv4-compatible `::a.b.c.d` (deprecated, RFC 4291 §2.5.5.1; not `::` or `::1`);
/// - SIIT IPv4-translated `::ffff:0:a.b.c.d` (RFC 2765);
/// - NAT64 well-known prefix `64:ff9b::/96` (RFC 6052) and local-use `64:ff9b:1::/48`
///   (RFC 8215, RFC 6052 /48 layout);
/// - 6to4 `2002:AABB:CCDD::/48` (RFC 3056);
/// - Teredo `2001:0::/32`, the client's address stored inverted (RFC 4380).
pub fn embedded_ipv4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = address.octets();
    let v4 = |a: u8, b: u8, c: u8, d: u8| Some(Ipv4Addr::new(a, b, c, d));
    let segments = address.segments();
    if segments[..5] == [0; 5] && segments[5] == 0xffff {
        return v4(o[12], o[13], o[14], o[15]);
    }
    if segments[..6] == [0; 6] {
        let low = u32::from_be_bytes([o[12], o[13], o[14], o[15]]);
        return if low <= 1 {
            None
        } else {
            v4(o[12], o[13], o[14], o[15])
        };
    }
    if segments[..4] == [0; 4] && segments[4] == 0xffff && segments[5] == 0 {
        return v4(o[12], o[13], o[14], o[15]);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4(o[12], o[13], o[14], o[15]);
    }
    if segments[..3] == [0x64, 0xff9b, 1] {
        // /48 prefix: v4 bits 0-15 in octets 6-7, octet 8 is the zero "u" octet,
        // bits 16-31 in octets 9-10.
        return v4(o[6], o[7], o[9], o[10]);
    }
    if segments[0] == 0x2002 {
        return v4(o[2], o[3], o[4], o[5]);
    }
    if segments[0] == 0x2001 && segments[1] == 0 {
        return v4(!o[12], !o[13], !o[14], !o[15]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedding_decodes() {
        let metadata = Some(Ipv4Addr::new(169, 254, 169, 254));
        let loopback = Some(Ipv4Addr::new(127, 0, 0, 1));
        let cases: &[(&str, Option<Ipv4Addr>)] = &[
            ("::ffff:169.254.169.254", metadata),
            ("::ffff:a9fe:a9fe", metadata),
            ("0:0:0:0:0:FFFF:7F00:0001", loopback),
            ("::169.254.169.254", metadata),
            ("::ffff:0:a9fe:a9fe", metadata),
            ("64:ff9b::a9fe:a9fe", metadata),
            ("64:ff9b::127.0.0.1", loopback),
            ("64:ff9b:1:a9fe:a9:fe00::", metadata),
            ("2002:a9fe:a9fe::1", metadata),
            ("2002:7f00:1::1", loopback),
            (
                "2001:0:4136:e378:8000:63bf:5601:5601",
                Some(Ipv4Addr::new(169, 254, 169, 254)),
            ),
            ("::", None),
            ("::1", None),
            ("2001:db8::1", None),
            ("fd00:ec2::254", None),
            ("fe80::1", None),
        ];
        for (text, expected) in cases {
            let address: Ipv6Addr = text.parse().unwrap();
            assert_eq!(embedded_ipv4(address), *expected, "{text}");
        }
    }
}
