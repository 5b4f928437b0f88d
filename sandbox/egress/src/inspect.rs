//! What the engine reads from the client before the first byte of an allowed connection
//! goes to the world (a tunnel opened by `CONNECT` or SOCKS5, or a transparent connection).
//!
//! - TLS: a ClientHello's server name must name the target (required on port 443, checked
//!   whenever a ClientHello is seen).
//! - Plain HTTP/1 (required on a transparent port-80 connection, recognised by its request
//!   line anywhere else): the request is checked by [`http::classify_on_connection`] with
//!   the explicit proxy's rules — a Host header or absolute URI naming another host than
//!   the target is refused with `421` — and forwarded as the explicit proxy forwards it:
//!   one request per connection, its head rewritten (`Host` from the target,
//!   `Connection: close`), its body forwarded up to the end its framing gives and nothing
//!   after it. So every entry point gives the same verdict on the same request.
//! - Anything else (ssh, a database protocol) is relayed as it is.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

use crate::engine::{DECISION_TIMEOUT, shown_raw};
use crate::host::{Host, Target};
use crate::http::{self, Body, HttpError, MAX_HEAD, head_end, parse_head};
use crate::policy::Verdict;
use crate::tls::{MAX_CLIENT_HELLO, Scan, scan_client_hello};

/// What to look at before the first byte goes upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inspect {
    /// Check a ClientHello if one is seen; `required` refuses anything that is not TLS.
    /// Plain HTTP is recognised and checked as under `Http`.
    Tls { required: bool },
    /// The connection must carry an HTTP/1 request naming the target.
    Http,
}

/// What the inspection let through.
#[derive(Debug)]
pub(crate) struct Inspected {
    /// The bytes to send upstream first (as read, or a rewritten HTTP head).
    pub(crate) forward: Vec<u8>,
    /// `Some` for plain HTTP: the request's body framing and the body bytes already read
    /// (only those, up to the framing's end, are sent on).
    pub(crate) http: Option<(Body, Vec<u8>)>,
    pub(crate) sni: Option<String>,
    pub(crate) http_host: Option<String>,
}

/// Why the inspection refused the connection, and what to answer the client.
#[derive(Debug)]
pub(crate) struct Refused {
    /// Boxed: the refusal travels in `Err` through every read of the inspection.
    pub(crate) verdict: Box<Verdict>,
    /// An HTTP error response (for a refused HTTP request), else the connection is reset.
    pub(crate) answer: Option<Vec<u8>>,
    pub(crate) http_host: Option<String>,
}

impl From<Verdict> for Refused {
    fn from(verdict: Verdict) -> Refused {
        Refused {
            verdict: Box::new(verdict),
            answer: None,
            http_host: None,
        }
    }
}

/// Whether bytes start an HTTP/1 request line (`token SP target SP HTTP/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Looks {
    Http,
    NotHttp,
    /// A prefix of a request line: more bytes decide.
    Undecided,
}

/// The longest method token that still counts as one (longer = not HTTP).
const MAX_METHOD: usize = 32;

/// The methods (RFC 9110, WebDAV, CalDAV and common extensions) whose request line is
/// waited for when it arrives in pieces. A line that arrives whole is recognised whatever
/// its method; an unknown method split across reads is relayed as another protocol would
/// be (it still reaches only the allowed server).
const KNOWN_METHODS: [&[u8]; 22] = [
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
    b"QUERY",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"REPORT",
    b"SEARCH",
    b"MKCALENDAR",
    b"PURGE",
    b"LINK",
];

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Recognises an HTTP/1 request line from its first bytes. A line is HTTP once it reads
/// `token SP target SP HTTP/`; a prefix of that is undecided only when its method is (or
/// may still become) a known one, so that another protocol's partial line is not held.
fn request_line(buf: &[u8]) -> Looks {
    let method = buf.iter().take_while(|&&b| is_tchar(b)).count();
    if method > MAX_METHOD {
        return Looks::NotHttp;
    }
    let known = |complete: bool| {
        KNOWN_METHODS.iter().any(|m| {
            if complete {
                *m == &buf[..method]
            } else {
                m.starts_with(&buf[..method])
            }
        })
    };
    let pending = |complete: bool| {
        if known(complete) {
            Looks::Undecided
        } else {
            Looks::NotHttp
        }
    };
    if method == buf.len() {
        return pending(false);
    }
    if method == 0 || buf[method] != b' ' {
        return Looks::NotHttp;
    }
    let rest = &buf[method + 1..];
    let target = rest.iter().take_while(|&&b| b > b' ' && b != 0x7f).count();
    if target == rest.len() {
        return pending(true);
    }
    if target == 0 || rest[target] != b' ' {
        return Looks::NotHttp;
    }
    let version = &rest[target + 1..];
    let prefix = b"HTTP/";
    let n = version.len().min(prefix.len());
    if version[..n] != prefix[..n] {
        Looks::NotHttp
    } else if version.len() < prefix.len() {
        pending(true)
    } else {
        Looks::Http
    }
}

/// Reads what the inspection needs; `Err` = refuse the connection.
pub(crate) fn inspect_first(
    client: &TcpStream,
    mut buf: Vec<u8>,
    inspect: Inspect,
    target: &Target,
) -> Result<Inspected, Refused> {
    let mut inspected = Inspected {
        forward: Vec::new(),
        http: None,
        sni: None,
        http_host: None,
    };
    if buf.is_empty() {
        // The first read has no deadline unless the port's protocol speaks first: a
        // server-speaks-first protocol may leave the client silent for as long as it likes.
        if matches!(inspect, Inspect::Tls { required: true } | Inspect::Http) {
            let _ = client.set_read_timeout(Some(DECISION_TIMEOUT));
        }
        let mut chunk = vec![0; 4096];
        match (&*client).read(&mut chunk) {
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(err) => {
                return Err(Verdict::engine(format!(
                    "no data from the client: {}",
                    describe(&err)
                ))
                .into());
            }
        }
        if buf.is_empty() {
            inspected.forward = buf;
            return Ok(inspected);
        }
    }
    let deadline = Instant::now() + DECISION_TIMEOUT;
    let plain = match inspect {
        Inspect::Tls { required } => {
            let hello = loop {
                match scan_client_hello(&buf) {
                    Ok(Scan::Done(hello)) => break Some(hello),
                    Ok(Scan::NotTls) if required => {
                        return Err(Verdict::engine(format!(
                            "port {} carries TLS here and the client did not start TLS",
                            target.port
                        ))
                        .into());
                    }
                    Ok(Scan::NotTls) => break None,
                    Ok(Scan::Incomplete) => {}
                    Err(err) => return Err(Verdict::engine(err.to_string()).into()),
                }
                if buf.len() > MAX_CLIENT_HELLO + 1024 {
                    return Err(Verdict::engine("the TLS ClientHello is too large").into());
                }
                read_more(client, &mut buf, deadline).map_err(|err| {
                    Verdict::engine(format!("incomplete TLS ClientHello: {}", describe(&err)))
                })?;
            };
            match hello {
                Some(hello) => {
                    check_server_name(
                        hello.server_name.as_deref(),
                        hello.ech,
                        target,
                        &mut inspected,
                    )?;
                    false
                }
                None => looks_like_http(client, &mut buf, deadline)?,
            }
        }
        Inspect::Http => {
            if !looks_like_http(client, &mut buf, deadline)? {
                return Err(Verdict::engine(format!(
                    "port {} carries HTTP here and the client did not send an HTTP/1 request",
                    target.port
                ))
                .into());
            }
            true
        }
    };
    if plain {
        let (head, body) = check_http(client, &mut buf, deadline, target, &mut inspected)?;
        inspected.forward = head;
        inspected.http = Some((body, buf));
    } else {
        inspected.forward = buf;
    }
    let _ = client.set_read_timeout(None);
    Ok(inspected)
}

/// Reads until the request line is recognised or ruled out. A prefix that never
/// completes within the deadline is refused (fail closed: a request split slowly must
/// not pass unchecked).
fn looks_like_http(
    client: &TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<bool, Refused> {
    loop {
        match request_line(buf) {
            Looks::Http => return Ok(true),
            Looks::NotHttp => return Ok(false),
            Looks::Undecided if buf.len() >= MAX_HEAD => {
                return Err(refuse_http(&HttpError::TooLarge, None));
            }
            Looks::Undecided => {}
        }
        read_more(client, buf, deadline).map_err(|err| {
            Refused::from(Verdict::engine(format!(
                "an incomplete request line: {}",
                describe(&err)
            )))
        })?;
    }
}

/// Reads the whole head, checks it with the explicit proxy's rules and returns the head to
/// send upstream and the body framing; `buf` keeps the bytes after the head.
fn check_http(
    client: &TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
    target: &Target,
    inspected: &mut Inspected,
) -> Result<(Vec<u8>, Body), Refused> {
    let end = loop {
        match head_end(buf) {
            Ok(Some(end)) => break end,
            Ok(None) => {}
            Err(err) => return Err(refuse_http(&err, None)),
        }
        read_more(client, buf, deadline).map_err(|err| {
            let reason = format!("an incomplete HTTP request head: {}", describe(&err));
            Refused {
                answer: Some(http::error_response(
                    "408 Request Timeout",
                    "bad-request",
                    &reason,
                )),
                ..Refused::from(Verdict::engine(reason))
            }
        })?;
    };
    let head = parse_head(&buf[..end]).map_err(|err| refuse_http(&err, None))?;
    inspected.http_host = head.values("host").next().map(shown_raw);
    let (path, body) = http::classify_on_connection(&head, target)
        .map_err(|err| refuse_http(&err, inspected.http_host.clone()))?;
    buf.drain(..end);
    Ok((http::upstream_head(&head, target, &path), body))
}

/// An HTTP request refused as the explicit proxy refuses it: its status and reason.
fn refuse_http(err: &HttpError, http_host: Option<String>) -> Refused {
    Refused {
        verdict: Box::new(Verdict::engine(err.to_string())),
        answer: Some(http::error_response(
            err.status(),
            "bad-request",
            &err.to_string(),
        )),
        http_host,
    }
}

fn check_server_name(
    name: Option<&[u8]>,
    ech: bool,
    target: &Target,
    inspected: &mut Inspected,
) -> Result<(), Verdict> {
    let Some(raw) = name else {
        return match target.host {
            Host::Ip(_) if !ech => Ok(()),
            _ => Err(Verdict::engine(format!(
                "the TLS ClientHello names no server; it must name {}",
                target.host
            ))),
        };
    };
    inspected.sni = Some(shown_raw(raw));
    let parsed = Host::parse(raw)
        .map_err(|err| Verdict::engine(format!("invalid TLS server name: {err}")))?;
    if parsed != target.host {
        return Err(Verdict::engine(format!(
            "the TLS server name {parsed} is not the target {}",
            target.host
        )));
    }
    Ok(())
}

/// A read error as a reason: a read timeout (EAGAIN on Linux) says so.
fn describe(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            format!("nothing arrived within {} s", DECISION_TIMEOUT.as_secs())
        }
        _ => err.to_string(),
    }
}

fn read_more(client: &TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
    }
    client.set_read_timeout(Some(left))?;
    let mut chunk = vec![0; 4096];
    let n = (&*client).read(&mut chunk)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the client closed",
        ));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::build_client_hello;
    use std::io::Write;
    use std::net::TcpListener;

    /// A connected pair: (the proxy's side, the client's side).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        (accepted, client)
    }

    fn inspect(sent: &[u8], inspect: Inspect, target: &str) -> Result<Inspected, Refused> {
        let (proxy_side, mut client) = pair();
        client.write_all(sent).expect("write");
        let target = crate::host::parse_authority(target.as_bytes(), None).expect("target");
        inspect_first(&proxy_side, Vec::new(), inspect, &target)
    }

    #[test]
    fn port_443_requires_tls() {
        let err = inspect(
            b"GET / HTTP/1.1\r\n\r\n",
            Inspect::Tls { required: true },
            "a.test:443",
        )
        .expect_err("refused");
        assert_eq!(
            err.verdict.rule,
            "port 443 carries TLS here and the client did not start TLS"
        );
        let passed = inspect(
            b"SSH-2.0-x\r\n",
            Inspect::Tls { required: false },
            "a.test:22",
        )
        .expect("not TLS, not required");
        assert_eq!(passed.forward, b"SSH-2.0-x\r\n");
        assert!(passed.http.is_none());
    }

    #[test]
    fn server_names_are_compared_canonically() {
        let hello = build_client_hello(Some(b"A.Test."), 0);
        let passed =
            inspect(&hello, Inspect::Tls { required: true }, "a.test:443").expect("same host");
        assert_eq!(passed.sni.as_deref(), Some("A.Test."));
        assert_eq!(passed.forward, hello);
        // An IP target accepts a ClientHello without a name, a name target does not.
        let anonymous = build_client_hello(None, 0);
        assert!(inspect(&anonymous, Inspect::Tls { required: true }, "127.0.0.3:443").is_ok());
        assert!(inspect(&anonymous, Inspect::Tls { required: true }, "a.test:443").is_err());
        let other = build_client_hello(Some(b"b.test"), 0);
        assert!(inspect(&other, Inspect::Tls { required: false }, "a.test:8443").is_err());
    }

    #[test]
    fn a_host_header_naming_another_host_is_refused_with_421() {
        for (sent, kind, target) in [
            (
                &b"GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n"[..],
                Inspect::Http,
                "a.test:80",
            ),
            (
                b"GET http://evil.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
                Inspect::Http,
                "a.test:80",
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
                Inspect::Tls { required: false },
                "a.test:8080",
            ),
            (
                b"GET http://evil.test:8080/ HTTP/1.1\r\nHost: evil.test:8080\r\n\r\n",
                Inspect::Tls { required: false },
                "a.test:8080",
            ),
        ] {
            let refused = inspect(sent, kind, target).expect_err("refused");
            let answer = String::from_utf8(refused.answer.expect("an HTTP answer")).expect("text");
            assert!(answer.starts_with("HTTP/1.1 421 "), "{answer}");
            assert!(
                refused.verdict.rule.contains("does not match"),
                "{}",
                refused.verdict.rule
            );
        }
        let refused = inspect(
            b"CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n",
            Inspect::Tls { required: false },
            "a.test:3128",
        )
        .expect_err("a relayed CONNECT is refused");
        assert!(
            String::from_utf8_lossy(&refused.answer.expect("answer")).starts_with("HTTP/1.1 400 ")
        );
    }

    #[test]
    fn a_matching_request_is_rewritten_to_one_request_per_connection() {
        let passed = inspect(
            b"POST /p HTTP/1.1\r\nHost: A.test\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabcGET / HTTP/1.1\r\n",
            Inspect::Http,
            "a.test:80",
        )
        .expect("same host");
        let head = String::from_utf8(passed.forward).expect("text");
        assert!(
            head.starts_with("POST /p HTTP/1.1\r\nHost: a.test\r\n"),
            "{head}"
        );
        assert!(head.ends_with("Connection: close\r\n\r\n"), "{head}");
        assert!(!head.contains("keep-alive"), "{head}");
        let (body, rest) = passed.http.expect("plain HTTP");
        assert_eq!(body, Body::Length(3));
        assert!(rest.starts_with(b"abc"));
        assert_eq!(passed.http_host.as_deref(), Some("A.test"));
    }

    #[test]
    fn port_80_requires_http_and_other_protocols_pass_elsewhere() {
        let refused = inspect(b"SSH-2.0-x\r\n", Inspect::Http, "a.test:80").expect_err("not HTTP");
        assert!(
            refused.verdict.rule.contains("carries HTTP"),
            "{}",
            refused.verdict.rule
        );
        // A redis-style inline command: a line that is not a request line.
        let passed = inspect(
            b"SET a b\r\n",
            Inspect::Tls { required: false },
            "a.test:6379",
        )
        .expect("raw");
        assert!(passed.http.is_none());
        assert_eq!(passed.forward, b"SET a b\r\n");
    }

    #[test]
    fn request_lines_are_recognised_from_their_prefix() {
        assert_eq!(request_line(b"GE"), Looks::Undecided);
        assert_eq!(request_line(b"GET http://x"), Looks::Undecided);
        assert_eq!(request_line(b"GET / HT"), Looks::Undecided);
        assert_eq!(request_line(b"GET / HTTP/1.1\r\n"), Looks::Http);
        assert_eq!(request_line(b"G-T / HTTP/1.1\r\n"), Looks::Http);
        assert_eq!(request_line(b"SSH-2.0-x\r\n"), Looks::NotHttp);
        assert_eq!(request_line(b"SET a b\r\n"), Looks::NotHttp);
        assert_eq!(request_line(b"\x16\x03\x01"), Looks::NotHttp);
        assert_eq!(request_line(b"GET  / HTTP/1.1"), Looks::NotHttp);
        // Another protocol's partial line is not held back.
        assert_eq!(request_line(b"socks hello"), Looks::NotHttp);
        assert_eq!(request_line(b"G-T / HT"), Looks::NotHttp);
    }
}
