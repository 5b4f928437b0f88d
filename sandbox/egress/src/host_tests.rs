//! Table tests of the wire canonicaliser: every spelling the research's bypass classes
//! name (§3 rows 3, 13, 14, 19), each with the one canonical result it must have.

use super::*;

fn v4(a: u8, b: u8, c: u8, d: u8) -> Result<Host, HostError> {
    Ok(Host::Ip(IpAddr::V4(Ipv4Addr::new(a, b, c, d))))
}

fn name(text: &str) -> Result<Host, HostError> {
    Ok(Host::Name(text.to_owned()))
}

fn v6(text: &str) -> Result<Host, HostError> {
    Ok(Host::Ip(IpAddr::V6(text.parse().expect("test address"))))
}

#[test]
fn canonical_forms() {
    let long_label = "a".repeat(64);
    let max_label = "a".repeat(63);
    let max_name = format!("{max_label}.{max_label}.{max_label}.{}", "b".repeat(61));
    let too_long = format!("{max_name}c");
    let cases: Vec<(&[u8], Result<Host, HostError>)> = vec![
        // Names: case, one trailing dot.
        (b"crates.io", name("crates.io")),
        (b"Crates.IO", name("crates.io")),
        (b"GitHub.COM.", name("github.com")),
        (b"static.crates.io.", name("static.crates.io")),
        (b"xn--bcher-kva.example", name("xn--bcher-kva.example")),
        (b"_dmarc.example.com", name("_dmarc.example.com")),
        (b"evilcrates.io", name("evilcrates.io")),
        (b"1e100.net", name("1e100.net")),
        (b"123.example", name("123.example")),
        (b"localhost", name("localhost")),
        (max_name.as_bytes(), name(&max_name)),
        (max_label.as_bytes(), name(&max_label)),
        // Every inet_aton spelling of 127.0.0.1.
        (b"127.0.0.1", v4(127, 0, 0, 1)),
        (b"127.0.0.1.", v4(127, 0, 0, 1)),
        (b"127.1", v4(127, 0, 0, 1)),
        (b"127.0.1", v4(127, 0, 0, 1)),
        (b"2130706433", v4(127, 0, 0, 1)),
        (b"0x7f000001", v4(127, 0, 0, 1)),
        (b"0X7F000001", v4(127, 0, 0, 1)),
        (b"0x7f.1", v4(127, 0, 0, 1)),
        (b"0x7f.0.0.1", v4(127, 0, 0, 1)),
        (b"0177.0.0.1", v4(127, 0, 0, 1)),
        (b"0177.1", v4(127, 0, 0, 1)),
        (b"017700000001", v4(127, 0, 0, 1)),
        (b"0000000177.0.0.1", v4(127, 0, 0, 1)),
        (b"0x00007f.0x0.0.0x1", v4(127, 0, 0, 1)),
        // Metadata and other classes in odd spellings.
        (b"169.254.169.254", v4(169, 254, 169, 254)),
        (b"0xa9fea9fe", v4(169, 254, 169, 254)),
        (b"2852039166", v4(169, 254, 169, 254)),
        (b"0251.0376.0251.0376", v4(169, 254, 169, 254)),
        (b"169.16689662", v4(169, 254, 169, 254)),
        (b"0", v4(0, 0, 0, 0)),
        (b"0x", v4(0, 0, 0, 0)),
        (b"0.0.0.0", v4(0, 0, 0, 0)),
        (b"4294967295", v4(255, 255, 255, 255)),
        // Numeric last label that is not an address: refused, never resolved as a name.
        (b"4294967296", Err(HostError::InvalidIpv4)),
        (b"256.0.0.1", Err(HostError::InvalidIpv4)),
        (b"1.2.3.4.5", Err(HostError::InvalidIpv4)),
        (b"1.2.3.256", Err(HostError::InvalidIpv4)),
        (b"1.2.65536", Err(HostError::InvalidIpv4)),
        (b"08.0.0.1", Err(HostError::InvalidIpv4)),
        (b"0x7g.0.0.1", Err(HostError::InvalidIpv4)),
        (b"example.123", Err(HostError::InvalidIpv4)),
        (b"99999999999999999999999", Err(HostError::InvalidIpv4)),
        (b"127.0.0.1.nip.io", name("127.0.0.1.nip.io")),
        // IPv6: brackets, case, compression, v4-mapped to IPv4.
        (b"[::1]", v6("::1")),
        (b"::1", v6("::1")),
        (b"[0:0:0:0:0:0:0:1]", v6("::1")),
        (b"[FD00:EC2::254]", v6("fd00:ec2::254")),
        (b"[::ffff:127.0.0.1]", v4(127, 0, 0, 1)),
        (b"[::ffff:7f00:1]", v4(127, 0, 0, 1)),
        (b"[0:0:0:0:0:FFFF:7F00:0001]", v4(127, 0, 0, 1)),
        (b"[::ffff:a9fe:a9fe]", v4(169, 254, 169, 254)),
        (b"[64:ff9b::a9fe:a9fe]", v6("64:ff9b::a9fe:a9fe")),
        (b"[::]", v6("::")),
        (b"[fe80::1%25eth0]", Err(HostError::Percent)),
        (b"fe80::1%lo", Err(HostError::Percent)),
        (b"[::ffff:1.2.3.4%x.allowed.com]", Err(HostError::Percent)),
        (b"[::1", Err(HostError::InvalidIpv6)),
        (b"::1]", Err(HostError::InvalidIpv6)),
        (b"[::1]:443", Err(HostError::InvalidIpv6)),
        (b"[allowed.com]", Err(HostError::InvalidIpv6)),
        (b"[127.0.0.1]", Err(HostError::InvalidIpv6)),
        (b"allowed.com:443", Err(HostError::InvalidIpv6)),
        // NUL, control bytes, spaces, non-ASCII.
        (
            b"evil.com\0.allowed.com",
            Err(HostError::ControlByte { byte: 0, offset: 8 }),
        ),
        (
            b"allowed.com\r\nX: y",
            Err(HostError::ControlByte {
                byte: b'\r',
                offset: 11,
            }),
        ),
        (
            b"allowed.com\t",
            Err(HostError::ControlByte {
                byte: b'\t',
                offset: 11,
            }),
        ),
        (
            b" allowed.com",
            Err(HostError::ControlByte {
                byte: b' ',
                offset: 0,
            }),
        ),
        (
            b"allowed.com\x7f",
            Err(HostError::ControlByte {
                byte: 0x7f,
                offset: 11,
            }),
        ),
        (
            "github\u{3002}com".as_bytes(),
            Err(HostError::NonAscii { offset: 6 }),
        ),
        (
            "b\u{fc}cher.example".as_bytes(),
            Err(HostError::NonAscii { offset: 1 }),
        ),
        // Userinfo, percent-escapes, other punctuation.
        (b"allowed.com@evil.com", Err(HostError::Userinfo)),
        (b"user:pass@allowed.com", Err(HostError::Userinfo)),
        (b"allowed%2ecom", Err(HostError::Percent)),
        (
            b"allowed.com\\evil.com",
            Err(HostError::InvalidCharacter { ch: '\\' }),
        ),
        (
            b"allowed.com/evil",
            Err(HostError::InvalidCharacter { ch: '/' }),
        ),
        (
            b"*.allowed.com",
            Err(HostError::InvalidCharacter { ch: '*' }),
        ),
        // Empty labels and lengths.
        (b"", Err(HostError::Empty)),
        (b".", Err(HostError::EmptyLabel)),
        (b"..", Err(HostError::EmptyLabel)),
        (b"github.com..", Err(HostError::EmptyLabel)),
        (b".github.com", Err(HostError::EmptyLabel)),
        (b"github..com", Err(HostError::EmptyLabel)),
        (
            long_label.as_bytes(),
            Err(HostError::LabelTooLong { len: 64 }),
        ),
        (too_long.as_bytes(), Err(HostError::TooLong { len: 254 })),
    ];
    for (raw, expected) in cases {
        assert_eq!(
            Host::parse(raw),
            expected,
            "Host::parse({:?})",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn canonical_form_is_a_fixed_point() {
    let inputs: [&[u8]; 8] = [
        b"GitHub.COM.",
        b"0x7f.1",
        b"[::ffff:7f00:1]",
        b"[FD00:EC2::254]",
        b"2130706433",
        b"static.crates.io",
        b"0177.0.0.1",
        b"[::]",
    ];
    for raw in inputs {
        let once = Host::parse(raw).expect("valid input");
        let text = match &once {
            Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            other => other.to_string(),
        };
        assert_eq!(Host::parse(text.as_bytes()), Ok(once), "{text}");
    }
}

type AuthorityCase = (&'static [u8], Option<u16>, Result<Target, AuthorityError>);

#[test]
fn authorities() {
    let target = |host: Result<Host, HostError>, port| {
        Ok::<Target, AuthorityError>(Target {
            host: host.expect("test host"),
            port,
        })
    };
    let cases: Vec<AuthorityCase> = vec![
        (b"crates.io:443", None, target(name("crates.io"), 443)),
        (b"Crates.IO.:443", None, target(name("crates.io"), 443)),
        (b"crates.io", Some(80), target(name("crates.io"), 80)),
        (b"[::1]:8080", None, target(v6("::1"), 8080)),
        (b"[::ffff:127.0.0.1]:80", None, target(v4(127, 0, 0, 1), 80)),
        (b"0x7f.1:22", None, target(v4(127, 0, 0, 1), 22)),
        (b"crates.io", None, Err(AuthorityError::MissingPort)),
        (b"::1:443", None, Err(AuthorityError::UnbracketedIpv6)),
        (
            b"crates.io:0443",
            None,
            Err(AuthorityError::InvalidPort("0443".into())),
        ),
        (
            b"crates.io:0",
            None,
            Err(AuthorityError::InvalidPort("0".into())),
        ),
        (
            b"crates.io:65536",
            None,
            Err(AuthorityError::InvalidPort("65536".into())),
        ),
        (
            b"crates.io:+443",
            None,
            Err(AuthorityError::InvalidPort("+443".into())),
        ),
        (
            b"crates.io:",
            None,
            Err(AuthorityError::InvalidPort(String::new())),
        ),
        (
            b"evil.com:443.allowed.com",
            None,
            Err(AuthorityError::InvalidPort("443.allowed.com".into())),
        ),
        (
            b"[::1]x",
            None,
            Err(AuthorityError::Host(HostError::InvalidIpv6)),
        ),
        (
            b"a@crates.io:443",
            None,
            Err(AuthorityError::Host(HostError::Userinfo)),
        ),
    ];
    for (raw, default_port, expected) in cases {
        assert_eq!(
            parse_authority(raw, default_port),
            expected,
            "parse_authority({:?})",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn targets_display_with_brackets_for_ipv6() {
    let t = Target {
        host: Host::from_ip("::1".parse().expect("address")),
        port: 443,
    };
    assert_eq!(t.to_string(), "[::1]:443");
    let t = Target {
        host: Host::from_ip("::ffff:10.0.0.1".parse().expect("address")),
        port: 80,
    };
    assert_eq!(t.to_string(), "10.0.0.1:80");
}
