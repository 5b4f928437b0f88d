//! Relaying an allowed connection: one thread per direction (from the engine's pool),
//! blocking reads (no busy loops), 64 KiB buffers, half-close passed on (`shutdown(Write)`
//! when one side ends its stream), and an error on either side ending both.
//!
//! Before the first byte goes to the world, the client's side may be inspected: a TLS
//! ClientHello's server name must name the target (required on port 443, checked whenever
//! a ClientHello is seen), and on a transparent port-80 connection the Host header is read
//! for the log only. A plain-HTTP request's body is forwarded up to the end its framing
//! gives, and nothing after it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::chunked::ChunkedScanner;
use crate::engine::{DECISION_TIMEOUT, Engine, Opened};
use crate::host::{Host, Target};
use crate::http::{Body, ResponseHead, head_end, parse_head, rewrite_response_head};
use crate::log::Outcome;
use crate::policy::Verdict;
use crate::tls::{MAX_CLIENT_HELLO, Scan, scan_client_hello};

const BUFFER: usize = 64 * 1024;
/// How long a closed plain-HTTP connection keeps reading (and discarding) what the client
/// still sends, so that closing does not reset the response away.
const LINGER: Duration = Duration::from_secs(1);

/// What to look at before the first byte goes upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inspect {
    /// Check a ClientHello if one is seen; `required` refuses anything that is not TLS.
    Tls { required: bool },
    /// Read the Host header of plain HTTP for the log.
    LogHttpHost,
}

/// What the client-to-world direction carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Up {
    /// An opaque tunnel, inspected first.
    Tunnel(Inspect),
    /// One HTTP request's body (the head was already sent).
    HttpBody(Body),
}

/// Relays `client` ⇄ `opened.upstream` until both directions end, then writes the log
/// record. `initial` holds client bytes already read (after a CONNECT head, a body start).
pub(crate) fn relay(
    engine: &Arc<Engine>,
    client: &Arc<TcpStream>,
    opened: Opened,
    initial: Vec<u8>,
    up: Up,
    started: Instant,
) {
    let Opened {
        upstream,
        target,
        mut record,
    } = opened;
    let upstream = Arc::new(upstream);
    let _tracked = engine.track(&upstream);
    let (down_from, down_to) = (Arc::clone(&upstream), Arc::clone(client));
    let (down_done, down) = mpsc::sync_channel(1);
    let http_response = matches!(up, Up::HttpBody(_));
    let spawned = engine.pool.execute(move || {
        let bytes = if http_response {
            forward_response(&down_from, &down_to)
        } else {
            pump(&down_from, &down_to)
        };
        let _ = down_done.send(bytes);
    });
    if let Err(err) = spawned {
        record.decision = Outcome::Error;
        record.detail = Some(format!("cannot start a relay thread: {err}"));
        engine.write_record(record);
        return;
    }
    let mut up_bytes = 0;
    let mut denial = None;
    match up {
        Up::Tunnel(inspect) => match inspect_first(client, initial, inspect, &target) {
            Ok(Inspected {
                forward,
                sni,
                http_host,
            }) => {
                record.sni = sni;
                record.http_host = http_host;
                up_bytes = forward_then_pump(client, &upstream, &forward);
            }
            Err(verdict) => {
                let _ = client.shutdown(Shutdown::Both);
                let _ = upstream.shutdown(Shutdown::Both);
                denial = Some(verdict);
            }
        },
        Up::HttpBody(body) => {
            up_bytes = forward_body(client, &upstream, initial, body);
        }
    }
    let down_bytes = down.recv().unwrap_or(0);
    if matches!(up, Up::HttpBody(_)) {
        linger_close(client);
    }
    record.bytes_up += up_bytes;
    record.bytes_down = down_bytes;
    record.set_duration(started.elapsed());
    match denial {
        None => engine.write_record(record),
        Some(verdict) => {
            record.decision = Outcome::Deny;
            record.rule = verdict.rule.clone();
            record.origin = verdict.origin.clone();
            let entry = record.entry;
            engine.write_record(record);
            engine.notice(entry, &target.to_string(), &verdict);
        }
    }
}

#[derive(Debug)]
struct Inspected {
    forward: Vec<u8>,
    sni: Option<String>,
    http_host: Option<String>,
}

/// Reads what the inspection needs; `Err` = refuse the connection.
fn inspect_first(
    client: &TcpStream,
    mut buf: Vec<u8>,
    inspect: Inspect,
    target: &Target,
) -> Result<Inspected, Verdict> {
    let mut inspected = Inspected {
        forward: Vec::new(),
        sni: None,
        http_host: None,
    };
    let mut reader = client;
    if buf.is_empty() {
        // The first read has no deadline: a server-speaks-first protocol may leave the
        // client silent for as long as it likes.
        if inspect == (Inspect::Tls { required: true }) {
            let _ = client.set_read_timeout(Some(DECISION_TIMEOUT));
        }
        let mut chunk = vec![0; 4096];
        match reader.read(&mut chunk) {
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(err) => {
                return Err(Verdict::engine(format!(
                    "no data from the client: {}",
                    describe(&err)
                )));
            }
        }
        if buf.is_empty() {
            inspected.forward = buf;
            return Ok(inspected);
        }
    }
    let deadline = Instant::now() + DECISION_TIMEOUT;
    match inspect {
        Inspect::Tls { required } => {
            let hello = loop {
                match scan_client_hello(&buf) {
                    Ok(Scan::Done(hello)) => break Some(hello),
                    Ok(Scan::NotTls) if required => {
                        return Err(Verdict::engine(format!(
                            "port {} carries TLS here and the client did not start TLS",
                            target.port
                        )));
                    }
                    Ok(Scan::NotTls) => break None,
                    Ok(Scan::Incomplete) => {}
                    Err(err) => return Err(Verdict::engine(err.to_string())),
                }
                if buf.len() > MAX_CLIENT_HELLO + 1024 {
                    return Err(Verdict::engine("the TLS ClientHello is too large"));
                }
                read_more(client, &mut buf, deadline).map_err(|err| {
                    Verdict::engine(format!("incomplete TLS ClientHello: {}", describe(&err)))
                })?;
            };
            if let Some(hello) = hello {
                check_server_name(
                    hello.server_name.as_deref(),
                    hello.ech,
                    target,
                    &mut inspected,
                )?;
            }
        }
        Inspect::LogHttpHost => {
            // Best effort, for the log only: never delays or refuses the connection beyond
            // the head's own bound.
            if let Ok(Some(end)) = head_end(&buf)
                && let Ok(head) = parse_head(&buf[..end])
            {
                inspected.http_host = head.values("host").next().map(crate::engine::shown_raw);
            }
        }
    }
    let _ = client.set_read_timeout(None);
    inspected.forward = buf;
    Ok(inspected)
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
    inspected.sni = Some(crate::engine::shown_raw(raw));
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

/// Sends `first`, then copies the client's stream until it ends.
fn forward_then_pump(client: &TcpStream, upstream: &TcpStream, first: &[u8]) -> u64 {
    if !first.is_empty() && (&*upstream).write_all(first).is_err() {
        end_both(client, upstream);
        return 0;
    }
    first.len() as u64 + pump(client, upstream)
}

/// Copies `from` to `to` until end of stream (then half-closes `to`) or an error (then
/// ends both). Returns the bytes copied.
fn pump(from: &TcpStream, to: &TcpStream) -> u64 {
    let mut buf = vec![0u8; BUFFER];
    let mut total = 0u64;
    loop {
        match (&*from).read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return total;
            }
            Ok(n) => {
                if (&*to).write_all(&buf[..n]).is_err() {
                    end_both(from, to);
                    return total;
                }
                total += n as u64;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                end_both(from, to);
                return total;
            }
        }
    }
}

fn end_both(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

/// Relays a plain-HTTP response, its final head rewritten to `Connection: close` (see
/// [`rewrite_response_head`]); a head that does not parse is relayed unchanged.
fn forward_response(upstream: &TcpStream, client: &TcpStream) -> u64 {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut sent = 0u64;
    loop {
        let end = match head_end(&buf) {
            Ok(Some(end)) => end,
            Ok(None) => match (&*upstream).read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    continue;
                }
            },
            Err(_) => break,
        };
        let (out, interim) = match rewrite_response_head(&buf[..end]) {
            Some(ResponseHead::Interim) => (buf[..end].to_vec(), true),
            Some(ResponseHead::Final(head)) => (head, false),
            None => break,
        };
        if (&*client).write_all(&out).is_err() {
            end_both(upstream, client);
            return sent;
        }
        sent += out.len() as u64;
        buf.drain(..end);
        if !interim {
            break;
        }
    }
    if !buf.is_empty() {
        if (&*client).write_all(&buf).is_err() {
            end_both(upstream, client);
            return sent;
        }
        sent += buf.len() as u64;
    }
    sent + pump(upstream, client)
}

/// Forwards exactly one request body; what the client sends after it is dropped.
fn forward_body(client: &TcpStream, upstream: &TcpStream, initial: Vec<u8>, body: Body) -> u64 {
    let mut sent = 0u64;
    let mut scanner = ChunkedScanner::default();
    let mut remaining = match body {
        Body::None => return 0,
        Body::Length(n) => n,
        Body::Chunked => u64::MAX,
    };
    let mut pending = initial;
    let mut buf = vec![0u8; BUFFER];
    loop {
        if !pending.is_empty() {
            let take = match body {
                Body::Chunked => match scanner.feed(&pending) {
                    Ok(Some(end)) => {
                        remaining = 0;
                        end
                    }
                    Ok(None) => pending.len(),
                    Err(_) => {
                        end_both(client, upstream);
                        return sent;
                    }
                },
                _ => usize::try_from(remaining.min(pending.len() as u64)).unwrap_or(pending.len()),
            };
            if (&*upstream).write_all(&pending[..take]).is_err() {
                end_both(client, upstream);
                return sent;
            }
            sent += take as u64;
            if body != Body::Chunked {
                remaining -= take as u64;
            }
            pending.clear();
        }
        if remaining == 0 {
            return sent;
        }
        match (&*client).read(&mut buf) {
            Ok(0) => {
                // The client ended its stream before the body did.
                end_both(client, upstream);
                return sent;
            }
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                end_both(client, upstream);
                return sent;
            }
        }
    }
}

/// Half-closes the client and reads (and discards) what it still sends, briefly, so that
/// unread bytes do not turn the close into a reset that destroys the response.
pub(crate) fn linger_close(client: &TcpStream) {
    let _ = client.shutdown(Shutdown::Write);
    let _ = client.set_read_timeout(Some(LINGER));
    let deadline = Instant::now() + LINGER;
    let mut buf = [0u8; 4096];
    let mut discarded = 0usize;
    while Instant::now() < deadline && discarded < BUFFER {
        match (&*client).read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => discarded += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::build_client_hello;
    use std::net::TcpListener;

    /// A connected pair: (the proxy's side, the client's side).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        (accepted, client)
    }

    fn inspect(sent: &[u8], inspect: Inspect, target: &str) -> Result<Inspected, Verdict> {
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
            err.rule,
            "port 443 carries TLS here and the client did not start TLS"
        );
        let passed = inspect(
            b"SSH-2.0-x\r\n",
            Inspect::Tls { required: false },
            "a.test:22",
        )
        .expect("not TLS, not required");
        assert_eq!(passed.forward, b"SSH-2.0-x\r\n");
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
    fn the_http_host_header_is_only_logged() {
        let passed = inspect(
            b"GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n",
            Inspect::LogHttpHost,
            "a.test:80",
        )
        .expect("logged, not refused");
        assert_eq!(passed.http_host.as_deref(), Some("evil.test"));
    }
}
