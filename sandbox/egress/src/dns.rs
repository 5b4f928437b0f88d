//! The DNS wire format, the part the stub needs (RFC 1035): one question in, a response
//! with zero or more A/AAAA answers out. Hand-written (about 150 lines) instead of
//! `hickory-proto`, which would add a dozen crates for a parser this small; fuzzed.
//!
//! Only standard queries (opcode 0) with exactly one question of class IN are answered.
//! Names must be uncompressed in the question, labels may not contain `.` (a label
//! `evil.com` inside one label would read differently once joined), and the joined name
//! goes through [`crate::Host::parse`] like every other host.

use std::net::IpAddr;

/// The largest DNS message over UDP this stub reads or writes without EDNS.
pub const MAX_UDP: usize = 512;

/// Query type A.
pub const TYPE_A: u16 = 1;
/// Query type AAAA.
pub const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// Response codes the stub sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Rcode {
    /// No error (with or without answers).
    NoError = 0,
    /// Malformed query.
    FormErr = 1,
    /// Server failure (the fake address pool is full).
    ServFail = 2,
    /// The name does not exist (denied names).
    NxDomain = 3,
    /// Not implemented (opcodes other than QUERY).
    NotImp = 4,
    /// Refused (questions the stub does not answer: other classes, several questions).
    Refused = 5,
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The query ID.
    pub id: u16,
    /// The RD bit.
    pub recursion_desired: bool,
    /// The question name, labels joined by `.`, as sent (case kept).
    pub name: Vec<u8>,
    /// QTYPE.
    pub qtype: u16,
    /// The question section's bytes, echoed in the response.
    question: Vec<u8>,
}

/// Why a message is not an answerable query. `id` is present when the header could be
/// read, so that an error response can be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("DNS query refused ({rcode:?}): {reason}")]
pub struct DnsError {
    /// The ID to answer with, when the header was readable.
    pub id: Option<u16>,
    /// The response code to send.
    pub rcode: Rcode,
    /// What was wrong.
    pub reason: &'static str,
    /// The RD bit of the query.
    pub recursion_desired: bool,
}

/// Parses a query message. A message that is itself a response (QR set) gives an error
/// with `id: None`: it must never be answered (no loops).
pub fn parse_query(msg: &[u8]) -> Result<Query, DnsError> {
    let fail = |id, rcode, reason, rd| DnsError {
        id,
        rcode,
        reason,
        recursion_desired: rd,
    };
    if msg.len() < 12 {
        return Err(fail(None, Rcode::FormErr, "shorter than a header", false));
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let flags = u16::from_be_bytes([msg[2], msg[3]]);
    let rd = flags & 0x0100 != 0;
    if flags & 0x8000 != 0 {
        return Err(fail(None, Rcode::FormErr, "a response, not a query", rd));
    }
    let opcode = (flags >> 11) & 0xf;
    if opcode != 0 {
        return Err(fail(Some(id), Rcode::NotImp, "not a standard query", rd));
    }
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    if qdcount != 1 {
        return Err(fail(
            Some(id),
            Rcode::Refused,
            "not exactly one question",
            rd,
        ));
    }
    let mut at = 12;
    let mut name = Vec::new();
    loop {
        let Some(&len) = msg.get(at) else {
            return Err(fail(
                Some(id),
                Rcode::FormErr,
                "truncated question name",
                rd,
            ));
        };
        at += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return Err(fail(
                Some(id),
                Rcode::FormErr,
                "compressed or extended label in the question",
                rd,
            ));
        }
        let Some(label) = msg.get(at..at + usize::from(len)) else {
            return Err(fail(Some(id), Rcode::FormErr, "truncated label", rd));
        };
        if label.contains(&b'.') {
            return Err(fail(Some(id), Rcode::FormErr, "a label contains '.'", rd));
        }
        if !name.is_empty() {
            name.push(b'.');
        }
        name.extend_from_slice(label);
        if name.len() > 253 {
            return Err(fail(
                Some(id),
                Rcode::FormErr,
                "name longer than 253 bytes",
                rd,
            ));
        }
        at += usize::from(len);
    }
    let Some(tail) = msg.get(at..at + 4) else {
        return Err(fail(Some(id), Rcode::FormErr, "truncated question", rd));
    };
    let qtype = u16::from_be_bytes([tail[0], tail[1]]);
    let qclass = u16::from_be_bytes([tail[2], tail[3]]);
    if qclass != CLASS_IN {
        return Err(fail(Some(id), Rcode::Refused, "class is not IN", rd));
    }
    Ok(Query {
        id,
        recursion_desired: rd,
        name,
        qtype,
        question: msg[12..at + 4].to_vec(),
    })
}

/// A response to `query` with `rcode` and one answer per address (TTL 0). Addresses of
/// the wrong family for the question are skipped.
pub fn response(query: &Query, rcode: Rcode, answers: &[IpAddr]) -> Vec<u8> {
    let answers: Vec<&IpAddr> = answers
        .iter()
        .filter(|ip| match ip {
            IpAddr::V4(_) => query.qtype == TYPE_A,
            IpAddr::V6(_) => query.qtype == TYPE_AAAA,
        })
        .collect();
    let mut out = header(query.id, query.recursion_desired, rcode, 1, answers.len());
    out.extend_from_slice(&query.question);
    for ip in answers {
        // The name: a pointer to the question's name at offset 12.
        out.extend_from_slice(&[0xc0, 12]);
        let (qtype, rdata): (u16, Vec<u8>) = match ip {
            IpAddr::V4(v4) => (TYPE_A, v4.octets().to_vec()),
            IpAddr::V6(v6) => (TYPE_AAAA, v6.octets().to_vec()),
        };
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    out
}

/// A bare error response (no question echoed) for a query that could not be parsed.
pub fn error_response(err: &DnsError) -> Option<Vec<u8>> {
    err.id
        .map(|id| header(id, err.recursion_desired, err.rcode, 0, 0))
}

fn header(id: u16, rd: bool, rcode: Rcode, questions: u16, answers: usize) -> Vec<u8> {
    // QR=1, opcode 0, AA=1, RD copied, RA=1.
    let mut flags: u16 = 0x8000 | 0x0400 | 0x0080 | rcode as u16;
    if rd {
        flags |= 0x0100;
    }
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&questions.to_be_bytes());
    out.extend_from_slice(&u16::try_from(answers).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

/// A query message for `name` and `qtype` (tests and fuzz seeds).
pub fn build_query(id: u16, name: &[u8], qtype: u16) -> Vec<u8> {
    let mut out = vec![0; 12];
    out[0..2].copy_from_slice(&id.to_be_bytes());
    out[2] = 0x01;
    out[5] = 1;
    for label in name.split(|&b| b == b'.').filter(|l| !l.is_empty()) {
        out.push(u8::try_from(label.len()).unwrap_or(63));
        out.extend_from_slice(label);
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

/// The parts of a response tests look at: rcode and the answer addresses.
pub fn read_response(msg: &[u8]) -> Option<(u16, Rcode, Vec<IpAddr>)> {
    if msg.len() < 12 || msg[2] & 0x80 == 0 {
        return None;
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let rcode = match msg[3] & 0xf {
        0 => Rcode::NoError,
        1 => Rcode::FormErr,
        2 => Rcode::ServFail,
        3 => Rcode::NxDomain,
        4 => Rcode::NotImp,
        5 => Rcode::Refused,
        _ => return None,
    };
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    let ancount = u16::from_be_bytes([msg[6], msg[7]]);
    let mut at = 12;
    for _ in 0..qdcount {
        while *msg.get(at)? != 0 {
            at += 1 + usize::from(*msg.get(at)?);
        }
        at += 5;
    }
    let mut addrs = Vec::new();
    for _ in 0..ancount {
        let rr = msg.get(at..at + 12)?;
        let rdlen = usize::from(u16::from_be_bytes([rr[10], rr[11]]));
        let rdata = msg.get(at + 12..at + 12 + rdlen)?;
        match rdlen {
            4 => addrs.push(IpAddr::from(<[u8; 4]>::try_from(rdata).ok()?)),
            16 => addrs.push(IpAddr::from(<[u8; 16]>::try_from(rdata).ok()?)),
            _ => return None,
        }
        at += 12 + rdlen;
    }
    Some((id, rcode, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_a_and_aaaa() {
        let msg = build_query(0x1234, b"Allowed.Test", TYPE_A);
        let query = parse_query(&msg).expect("valid");
        assert_eq!(query.name, b"Allowed.Test");
        assert_eq!(query.qtype, TYPE_A);
        let v4: IpAddr = "198.18.0.1".parse().expect("address");
        let v6: IpAddr = "fd63:6f72:646f:6e00::1".parse().expect("address");
        let out = response(&query, Rcode::NoError, &[v4, v6]);
        assert_eq!(
            read_response(&out),
            Some((0x1234, Rcode::NoError, vec![v4]))
        );
        let query = parse_query(&build_query(7, b"allowed.test", TYPE_AAAA)).expect("valid");
        let out = response(&query, Rcode::NoError, &[v4, v6]);
        assert_eq!(read_response(&out), Some((7, Rcode::NoError, vec![v6])));
        // TTL 0.
        assert_eq!(&out[out.len() - 16 - 6..out.len() - 16 - 2], &[0, 0, 0, 0]);
        let query = parse_query(&build_query(8, b"allowed.test", 16)).expect("TXT parses");
        let out = response(&query, Rcode::NoError, &[v4, v6]);
        assert_eq!(read_response(&out), Some((8, Rcode::NoError, vec![])));
    }

    #[test]
    fn refusals() {
        assert_eq!(parse_query(&[0; 5]).expect_err("short").id, None);
        let mut response_msg = build_query(1, b"a.test", TYPE_A);
        response_msg[2] |= 0x80;
        assert_eq!(parse_query(&response_msg).expect_err("a response").id, None);
        let mut two = build_query(2, b"a.test", TYPE_A);
        two[5] = 2;
        assert_eq!(parse_query(&two).expect_err("two").rcode, Rcode::Refused);
        let mut notify = build_query(3, b"a.test", TYPE_A);
        notify[2] |= 4 << 3;
        assert_eq!(
            parse_query(&notify).expect_err("opcode").rcode,
            Rcode::NotImp
        );
        let mut chaos = build_query(4, b"a.test", TYPE_A);
        let len = chaos.len();
        chaos[len - 1] = 3;
        assert_eq!(
            parse_query(&chaos).expect_err("class").rcode,
            Rcode::Refused
        );
        let mut pointer = build_query(5, b"a.test", TYPE_A);
        pointer[12] = 0xc0;
        assert_eq!(
            parse_query(&pointer).expect_err("pointer").rcode,
            Rcode::FormErr
        );
        let dotted = [
            &[0, 6, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 8][..],
            b"evil.com",
            &[0, 0, 1, 0, 1],
        ]
        .concat();
        assert_eq!(parse_query(&dotted).expect_err("dot").rcode, Rcode::FormErr);
        let truncated = build_query(9, b"a.test", TYPE_A);
        for cut in 12..truncated.len() {
            let err = parse_query(&truncated[..cut]).expect_err("truncated");
            assert_eq!((err.id, err.rcode), (Some(9), Rcode::FormErr), "cut {cut}");
        }
        let err = parse_query(&two).expect_err("two");
        let out = error_response(&err).expect("has an id");
        assert_eq!(read_response(&out), Some((2, Rcode::Refused, vec![])));
    }
}
