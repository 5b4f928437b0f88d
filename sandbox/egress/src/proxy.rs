//! The explicit proxy listener: HTTP (`CONNECT` and absolute-URI requests) and SOCKS5 on
//! one port, told apart by the first byte (0x05 = SOCKS5, 0x04 = SOCKS4, refused; anything
//! else is read as HTTP). Every read before the decision is bounded in size and time.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use crate::engine::{DECISION_TIMEOUT, Engine, Failure, Opened, Refusal, shown_raw};
use crate::host::{Host, Target};
use crate::http::{self, HttpError, ProxyRequest};
use crate::inspect::Inspect;
use crate::log::{EntryPoint, Outcome};
use crate::policy::Verdict;
use crate::relay::{Up, linger_close, relay};
use crate::socks::{self, Reply, SocksAddr, SocksError};

/// The most a connection's first read takes (a request head usually arrives whole).
const FIRST_READ: usize = 4096;

/// Serves one accepted connection of the proxy listener. Its first bytes are read (not
/// peeked: one system call less on every connection's path) and passed on to the
/// protocol they announce.
pub(crate) fn serve(engine: &Arc<Engine>, shared: &Arc<TcpStream>) {
    let client: &TcpStream = shared;
    let started = Instant::now();
    let _ = client.set_nodelay(true);
    let deadline = started + DECISION_TIMEOUT;
    let _ = client.set_read_timeout(Some(DECISION_TIMEOUT));
    let mut buf = vec![0u8; FIRST_READ];
    match (&*client).read(&mut buf) {
        Ok(n) if n > 0 => buf.truncate(n),
        _ => return,
    }
    match buf[0] {
        socks::VERSION => serve_socks(engine, shared, buf, deadline, started),
        4 => {
            // SOCKS4/4a: a "request rejected" reply in its own format, then close.
            let _ = (&*client).write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]);
            let verdict = Verdict::engine("SOCKS4 is not supported; use socks5h:// or http://");
            let _ = engine.deny(EntryPoint::Socks5, "<socks4 request>", None, verdict);
        }
        _ => serve_http(engine, shared, buf, deadline, started),
    }
}

/// Reads into `buf` until `complete` says the message is whole; bounded by `max` bytes
/// and the deadline.
fn read_until<T, E>(
    client: &TcpStream,
    buf: &mut Vec<u8>,
    max: usize,
    deadline: Instant,
    mut complete: impl FnMut(&[u8]) -> Result<Option<T>, E>,
) -> Result<Result<T, E>, io::Error> {
    let mut chunk = [0u8; 4096];
    loop {
        match complete(buf) {
            Ok(Some(done)) => return Ok(Ok(done)),
            Err(err) => return Ok(Err(err)),
            Ok(None) => {}
        }
        if buf.len() >= max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "message too large",
            ));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        }
        client.set_read_timeout(Some(left))?;
        let want = chunk.len().min(max - buf.len());
        // A read timeout surfaces as EAGAIN (WouldBlock) on Linux.
        let n = (&*client)
            .read(&mut chunk[..want])
            .map_err(|err| match err.kind() {
                io::ErrorKind::WouldBlock => io::Error::new(io::ErrorKind::TimedOut, "timed out"),
                _ => err,
            })?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn serve_http(
    engine: &Arc<Engine>,
    shared: &Arc<TcpStream>,
    mut buf: Vec<u8>,
    deadline: Instant,
    started: Instant,
) {
    let client: &TcpStream = shared;
    let end = match read_until(client, &mut buf, http::MAX_HEAD, deadline, http::head_end) {
        Ok(Ok(end)) => end,
        Ok(Err(err)) => return refuse_http(engine, client, &buf, &err),
        Err(err) if err.kind() == io::ErrorKind::TimedOut => {
            let _ = (&*client).write_all(&http::error_response(
                "408 Request Timeout",
                "bad-request",
                "the request head did not arrive in time",
            ));
            return;
        }
        Err(err) if err.kind() == io::ErrorKind::InvalidData => {
            return refuse_http(engine, client, &buf, &HttpError::TooLarge);
        }
        Err(_) => return,
    };
    let head = match http::parse_head(&buf[..end]) {
        Ok(head) => head,
        Err(err) => return refuse_http(engine, client, &buf, &err),
    };
    let request = match http::classify(&head) {
        Ok(request) => request,
        Err(err) => return refuse_http(engine, client, &buf, &err),
    };
    let rest = buf[end..].to_vec();
    let _ = client.set_read_timeout(None);
    match request {
        ProxyRequest::Connect(target) => {
            let opened = match engine.open(EntryPoint::Connect, &target) {
                Ok(opened) => opened,
                Err(refusal) => return reply_refusal_http(client, &refusal),
            };
            if let Err(err) = (&*client).write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n") {
                return abandoned(engine, opened, &err);
            }
            let inspect = Inspect::Tls {
                required: opened.target.port == 443,
            };
            relay(engine, shared, opened, rest, Up::Tunnel(inspect), started);
        }
        ProxyRequest::Forward { target, path, body } => {
            let mut opened = match engine.open(EntryPoint::Http, &target) {
                Ok(opened) => opened,
                Err(refusal) => return reply_refusal_http(client, &refusal),
            };
            let head_out = http::upstream_head(&head, &opened.target, &path);
            opened.record.bytes_up = head_out.len() as u64;
            if let Err(err) = (&opened.upstream).write_all(&head_out) {
                let _ = (&*client).write_all(&http::error_response(
                    "502 Bad Gateway",
                    "upstream-failed",
                    "the upstream server closed the connection",
                ));
                return abandoned(engine, opened, &err);
            }
            relay(engine, shared, opened, rest, Up::HttpBody(body), started);
        }
    }
}

/// An allowed connection that ended before the relay started: logged as an error.
fn abandoned(engine: &Engine, opened: Opened, err: &io::Error) {
    let mut record = opened.record;
    record.decision = Outcome::Error;
    record.detail = Some(format!(
        "the connection ended before the relay started: {err}"
    ));
    engine.write_record(record);
}

/// A malformed request: logged as a denial with what could be read of its target.
fn refuse_http(engine: &Engine, client: &TcpStream, buf: &[u8], err: &HttpError) {
    let line_end = buf
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(buf.len());
    let line = &buf[..line_end.min(200)];
    let shown = line
        .split(|&b| b == b' ')
        .nth(1)
        .map(shown_raw)
        .unwrap_or_else(|| "<malformed request>".into());
    let entry = if line.starts_with(b"CONNECT ") {
        EntryPoint::Connect
    } else {
        EntryPoint::Http
    };
    let verdict = Verdict::engine(err.to_string());
    let _ = engine.deny(entry, &shown, None, verdict);
    let _ = (&*client).write_all(&http::error_response(
        err.status(),
        "bad-request",
        &err.to_string(),
    ));
    // The client may still be sending (an oversized head): closing with unread bytes
    // would reset the connection and could destroy the answer before it is read.
    linger_close(client);
}

fn reply_refusal_http(client: &TcpStream, refusal: &Refusal) {
    let response = match refusal {
        Refusal::Denied(verdict) => {
            let mut reason = format!("denied by {} [{}]", verdict.rule, verdict.origin);
            if let Some(hint) = &verdict.hint {
                reason.push_str(&format!("; to allow it: {hint}"));
            }
            http::error_response("403 Forbidden", "blocked-by-policy", &reason)
        }
        Refusal::Failed(Failure::TimedOut, detail) => {
            http::error_response("504 Gateway Timeout", "upstream-failed", detail)
        }
        Refusal::Failed(_, detail) => {
            http::error_response("502 Bad Gateway", "upstream-failed", detail)
        }
    };
    let _ = (&*client).write_all(&response);
    // A refused request may still have a body on its way.
    linger_close(client);
}

fn serve_socks(
    engine: &Arc<Engine>,
    shared: &Arc<TcpStream>,
    mut buf: Vec<u8>,
    deadline: Instant,
    started: Instant,
) {
    let client: &TcpStream = shared;
    let used = match read_until(client, &mut buf, 2 + 255, deadline, socks::parse_greeting) {
        Ok(Ok(used)) => used,
        Ok(Err(err)) => {
            let _ = (&*client).write_all(&[socks::VERSION, socks::METHOD_NONE_ACCEPTABLE]);
            let _ = engine.deny(
                EntryPoint::Socks5,
                "<socks5 greeting>",
                None,
                Verdict::engine(err.to_string()),
            );
            return;
        }
        Err(_) => return,
    };
    buf.drain(..used);
    if (&*client)
        .write_all(&[socks::VERSION, socks::METHOD_NO_AUTH])
        .is_err()
    {
        return;
    }
    let (request, used) = match read_until(
        client,
        &mut buf,
        4 + 1 + 255 + 2,
        deadline,
        socks::parse_request,
    ) {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(err)) => return refuse_socks(engine, client, &err),
        Err(_) => return,
    };
    buf.drain(..used);
    let host = match &request.addr {
        SocksAddr::Ip(ip) => Host::from_ip(*ip),
        SocksAddr::Domain(raw) => match Host::parse(raw) {
            Ok(host) => host,
            Err(err) => {
                let verdict = Verdict::engine(format!("invalid host name: {err}"));
                let _ = engine.deny(
                    EntryPoint::Socks5,
                    &shown_raw(raw),
                    Some(request.port),
                    verdict,
                );
                let _ = (&*client).write_all(&socks::reply(Reply::NotAllowed, None));
                return;
            }
        },
    };
    let target = Target {
        host,
        port: request.port,
    };
    let _ = client.set_read_timeout(None);
    let opened = match engine.open(EntryPoint::Socks5, &target) {
        Ok(opened) => opened,
        Err(refusal) => {
            let code = match refusal {
                Refusal::Denied(_) => Reply::NotAllowed,
                Refusal::Failed(Failure::Resolve, _) => Reply::HostUnreachable,
                Refusal::Failed(Failure::Refused, _) => Reply::ConnectionRefused,
                Refusal::Failed(Failure::TimedOut, _) => Reply::TtlExpired,
                Refusal::Failed(Failure::Unreachable, _) => Reply::NetworkUnreachable,
            };
            let _ = (&*client).write_all(&socks::reply(code, None));
            return;
        }
    };
    let bound = client.local_addr().ok();
    if let Err(err) = (&*client).write_all(&socks::reply(Reply::Succeeded, bound)) {
        return abandoned(engine, opened, &err);
    }
    let inspect = Inspect::Tls {
        required: opened.target.port == 443,
    };
    relay(engine, shared, opened, buf, Up::Tunnel(inspect), started);
}

fn refuse_socks(engine: &Engine, client: &TcpStream, err: &SocksError) {
    let _ = (&*client).write_all(&socks::reply(err.reply(), None));
    let _ = engine.deny(
        EntryPoint::Socks5,
        "<socks5 request>",
        None,
        Verdict::engine(err.to_string()),
    );
}
