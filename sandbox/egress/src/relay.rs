//! Relaying an allowed connection: one thread per direction (from the engine's pool),
//! blocking (no busy loops), zero-copy `splice(2)` through a pipe once inspection is done
//! (see [`crate::splice`]; 64 KiB copy buffers where the kernel refuses), half-close
//! passed on (`shutdown(Write)` when one side ends its stream), and an error on either
//! side ending both.
//!
//! Before the first byte goes to the world, a tunnel's client side is inspected (see
//! [`crate::inspect`]: TLS server names, plain-HTTP requests checked as the explicit proxy
//! checks them). A plain-HTTP request's body is forwarded up to the end its framing gives,
//! and nothing after it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::chunked::ChunkedScanner;
use crate::engine::{Engine, Opened};
use crate::http::{Body, ResponseHead, head_end, rewrite_response_head};
use crate::inspect::{Inspect, Inspected, Refused, inspect_first};
use crate::log::Outcome;
use crate::splice::{self, Spliced};

const BUFFER: usize = 64 * 1024;
/// How long a closed plain-HTTP connection keeps reading (and discarding) what the client
/// still sends, so that closing does not reset the response away.
const LINGER: Duration = Duration::from_secs(1);

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
    let mut one_request = matches!(up, Up::HttpBody(_));
    match up {
        Up::Tunnel(inspect) => match inspect_first(client, initial, inspect, &target) {
            Ok(Inspected {
                forward,
                http,
                sni,
                http_host,
            }) => {
                record.sni = sni;
                record.http_host = http_host;
                match http {
                    None => up_bytes = forward_then_pump(client, &upstream, &forward),
                    Some((body, rest)) => {
                        one_request = true;
                        up_bytes = if (&*upstream).write_all(&forward).is_ok() {
                            forward.len() as u64 + forward_body(client, &upstream, rest, body)
                        } else {
                            end_both(client, &upstream);
                            0
                        };
                    }
                }
            }
            Err(Refused {
                verdict,
                answer,
                http_host,
            }) => {
                // The answer goes out before the upstream side ends: ending it ends the
                // other direction's pump, which half-closes the client.
                match answer {
                    Some(answer) => {
                        let _ = (&**client).write_all(&answer);
                        let _ = upstream.shutdown(Shutdown::Both);
                        linger_close(client);
                    }
                    None => {
                        let _ = client.shutdown(Shutdown::Both);
                        let _ = upstream.shutdown(Shutdown::Both);
                    }
                }
                record.http_host = http_host;
                denial = Some(*verdict);
            }
        },
        Up::HttpBody(body) => {
            up_bytes = forward_body(client, &upstream, initial, body);
        }
    }
    let down_bytes = down.recv().unwrap_or(0);
    if one_request && denial.is_none() {
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

/// Sends `first`, then copies the client's stream until it ends.
fn forward_then_pump(client: &TcpStream, upstream: &TcpStream, first: &[u8]) -> u64 {
    if !first.is_empty() && (&*upstream).write_all(first).is_err() {
        end_both(client, upstream);
        return 0;
    }
    first.len() as u64 + pump(client, upstream)
}

/// Relays `from` to `to` until end of stream (then half-closes `to`) or an error (then
/// ends both): zero-copy through a pipe ([`crate::splice`]), or by copying where the
/// kernel cannot splice these sockets. Returns the bytes delivered.
fn pump(from: &TcpStream, to: &TcpStream) -> u64 {
    match splice::pump(from, to) {
        Spliced::Ended(total) => {
            let _ = to.shutdown(Shutdown::Write);
            total
        }
        Spliced::Failed(total) => {
            end_both(from, to);
            total
        }
        Spliced::Unsupported(total) => total + copy(from, to),
    }
}

/// [`pump`] by copying through a buffer.
fn copy(from: &TcpStream, to: &TcpStream) -> u64 {
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
