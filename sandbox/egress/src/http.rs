//! HTTP/1 request heads as a proxy receives them: `CONNECT host:port` and absolute-form
//! `GET http://host[:port]/path`. Strict on purpose (research §3 rows 9, 10): bare LF line
//! ends, obsolete line folding, both `Content-Length` and `Transfer-Encoding`, conflicting
//! lengths, fragments, and a `Host` header naming another host are all refused. Forwarded
//! requests are rewritten with `Connection: close`, so there is exactly one request per
//! connection and nothing after its body is sent on.

use crate::host::{AuthorityError, Host, Target, parse_authority};

/// The largest request head accepted (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// The most header fields accepted.
pub const MAX_HEADERS: usize = 100;

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, as sent.
    pub method: String,
    /// The request target, as sent.
    pub target: Vec<u8>,
    /// The minor version: 0 or 1.
    pub minor_version: u8,
    /// The header fields in order, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl RequestHead {
    /// Every value of the header `name` (case-insensitive).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the proxy is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyRequest {
    /// Open a tunnel.
    Connect(Target),
    /// Forward one plain-HTTP request.
    Forward {
        /// Where to.
        target: Target,
        /// The origin-form path and query to send upstream (`/` at least).
        path: Vec<u8>,
        /// How the body is delimited.
        body: Body,
    },
}

/// Why a request was refused; each maps to an HTTP status in `status()`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The head is larger than [`MAX_HEAD`].
    #[error("the request head is larger than {MAX_HEAD} bytes")]
    TooLarge,
    /// A line ends in a bare LF.
    #[error("the request has a line ending in a bare LF (CRLF is required)")]
    BareLf,
    /// httparse refused it.
    #[error("malformed request head: {0}")]
    Malformed(String),
    /// An origin-form request sent to the proxy.
    #[error("the proxy needs an absolute URI (http://host/path) or CONNECT host:port")]
    NotAbsolute,
    /// `https://` or another scheme in an absolute URI.
    #[error("only http:// URIs can be forwarded; use CONNECT for https")]
    Scheme,
    /// A fragment in the request target.
    #[error("the request target contains a fragment ('#')")]
    Fragment,
    /// The host or port of the target is invalid.
    #[error("invalid request target: {0}")]
    Authority(#[from] AuthorityError),
    /// The Host header names another host than the target.
    #[error("the Host header {host:?} does not match the request target {target}")]
    HostMismatch {
        /// The header, as sent.
        host: String,
        /// The canonical target.
        target: String,
    },
    /// A `CONNECT` request sent on a connection that is already open to a target.
    #[error("a CONNECT request inside a connection already opened to a host (a relayed tunnel)")]
    ConnectInside,
    /// More than one Host header.
    #[error("more than one Host header")]
    DuplicateHost,
    /// Body framing that two parsers could read differently.
    #[error("ambiguous request body framing: {0}")]
    Framing(&'static str),
}

impl HttpError {
    /// The status line to answer with.
    pub fn status(&self) -> &'static str {
        match self {
            HttpError::TooLarge => "431 Request Header Fields Too Large",
            HttpError::Framing(_) => "400 Bad Request",
            HttpError::HostMismatch { .. } => "421 Misdirected Request",
            _ => "400 Bad Request",
        }
    }
}

/// Finds the end of the head in `buf`: `Ok(Some(len))` with `len` the bytes up to and
/// including the blank line, `Ok(None)` if more bytes are needed.
pub fn head_end(buf: &[u8]) -> Result<Option<usize>, HttpError> {
    let window = &buf[..buf.len().min(MAX_HEAD)];
    for (i, &b) in window.iter().enumerate() {
        if b == b'\n' {
            if i == 0 || window[i - 1] != b'\r' {
                return Err(HttpError::BareLf);
            }
            if i >= 3 && &window[i - 3..=i] == b"\r\n\r\n" {
                return Ok(Some(i + 1));
            }
        }
    }
    if buf.len() >= MAX_HEAD {
        return Err(HttpError::TooLarge);
    }
    Ok(None)
}

/// Parses a complete head (the bytes `head_end` delimited).
pub fn parse_head(head: &[u8]) -> Result<RequestHead, HttpError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    match request.parse(head) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        Ok(_) => return Err(HttpError::Malformed("incomplete head".into())),
        Err(err) => return Err(HttpError::Malformed(err.to_string())),
    }
    let method = request.method.unwrap_or_default().to_owned();
    let target = request.path.unwrap_or_default().as_bytes().to_vec();
    let minor_version = request.version.unwrap_or_default();
    let headers = request
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect();
    Ok(RequestHead {
        method,
        target,
        minor_version,
        headers,
    })
}

/// Classifies a head: a CONNECT or a forwardable absolute-form request, with its Host
/// header checked against the target and its body framing decided.
pub fn classify(head: &RequestHead) -> Result<ProxyRequest, HttpError> {
    let mut hosts = head.values("host");
    let host_header = hosts.next();
    if hosts.next().is_some() {
        return Err(HttpError::DuplicateHost);
    }
    if head.method == "CONNECT" {
        let target = parse_authority(&head.target, None)?;
        check_host_header(host_header, &target, Some(target.port))?;
        return Ok(ProxyRequest::Connect(target));
    }
    let (target, path) = parse_absolute_uri(&head.target)?;
    check_host_header(host_header, &target, None)?;
    let body = body_framing(head)?;
    Ok(ProxyRequest::Forward { target, path, body })
}

/// Classifies a plain-HTTP request head sent on a connection already opened to `target`
/// (a transparent port-80 connection, or inside an allowed `CONNECT` tunnel): the same
/// rules as [`classify`], so that every entry point gives the same verdict. An
/// absolute-URI target and the Host header must both name `target`; `CONNECT` (a tunnel
/// relayed through the allowed server) is refused. Returns the origin-form path to send
/// upstream and the body framing.
pub fn classify_on_connection(
    head: &RequestHead,
    target: &Target,
) -> Result<(Vec<u8>, Body), HttpError> {
    let mut hosts = head.values("host");
    let host_header = hosts.next();
    if hosts.next().is_some() {
        return Err(HttpError::DuplicateHost);
    }
    if head.method == "CONNECT" {
        return Err(HttpError::ConnectInside);
    }
    let path = if head.target.first() == Some(&b'/') || head.target == b"*" {
        if head.target.contains(&b'#') {
            return Err(HttpError::Fragment);
        }
        head.target.clone()
    } else {
        let (named, path) = parse_absolute_uri(&head.target)?;
        if named != *target {
            return Err(HttpError::HostMismatch {
                host: named.to_string(),
                target: target.to_string(),
            });
        }
        path
    };
    check_host_header(host_header, target, None)?;
    let body = body_framing(head)?;
    Ok((path, body))
}

/// `http://authority[/path][?query]` → target (default port 80) and origin-form path.
pub fn parse_absolute_uri(uri: &[u8]) -> Result<(Target, Vec<u8>), HttpError> {
    if uri.first() == Some(&b'/') || uri == b"*" {
        return Err(HttpError::NotAbsolute);
    }
    let scheme_end = uri
        .windows(3)
        .position(|w| w == b"://")
        .ok_or(HttpError::NotAbsolute)?;
    if !uri[..scheme_end].eq_ignore_ascii_case(b"http") {
        return Err(HttpError::Scheme);
    }
    if uri.contains(&b'#') {
        return Err(HttpError::Fragment);
    }
    let rest = &uri[scheme_end + 3..];
    let authority_end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    let target = parse_authority(&rest[..authority_end], Some(80))?;
    let mut path = rest[authority_end..].to_vec();
    if path.first() != Some(&b'/') {
        path.insert(0, b'/');
    }
    Ok((target, path))
}

/// The Host header, when present, must name the same canonical host (and port, when it
/// gives one; `default_port` is what a port-less header means, `None` = the scheme's).
fn check_host_header(
    header: Option<&[u8]>,
    target: &Target,
    default_port: Option<u16>,
) -> Result<(), HttpError> {
    let Some(header) = header else {
        return Ok(());
    };
    let mismatch = || HttpError::HostMismatch {
        host: String::from_utf8_lossy(header).into_owned(),
        target: target.to_string(),
    };
    let port = default_port.unwrap_or(80);
    let parsed = parse_authority(header, Some(port)).map_err(|_| mismatch())?;
    if !same_host(&parsed.host, &target.host) || parsed.port != target.port {
        return Err(mismatch());
    }
    Ok(())
}

/// Hosts are the same when canonically equal, or when one is `localhost` and the other a
/// loopback address (a program that asked for `localhost:PORT` reaches a host loopback
/// service through its address, and names it `localhost` in its Host header).
fn same_host(a: &Host, b: &Host) -> bool {
    let localhost_and_loopback = |name: &Host, ip: &Host| {
        matches!(name, Host::Name(n) if n == "localhost")
            && matches!(ip, Host::Ip(ip) if ip.is_loopback())
    };
    a == b || localhost_and_loopback(a, b) || localhost_and_loopback(b, a)
}

fn body_framing(head: &RequestHead) -> Result<Body, HttpError> {
    let encodings: Vec<&[u8]> = head.values("transfer-encoding").collect();
    let lengths: Vec<&[u8]> = head.values("content-length").collect();
    if !encodings.is_empty() && !lengths.is_empty() {
        return Err(HttpError::Framing(
            "both Transfer-Encoding and Content-Length",
        ));
    }
    if !encodings.is_empty() {
        if head.minor_version == 0 {
            return Err(HttpError::Framing(
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        return match encodings.as_slice() {
            [only] if only.eq_ignore_ascii_case(b"chunked") => Ok(Body::Chunked),
            _ => Err(HttpError::Framing(
                "Transfer-Encoding other than a single 'chunked'",
            )),
        };
    }
    let mut length = None;
    for value in lengths {
        if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
            return Err(HttpError::Framing("Content-Length is not a decimal number"));
        }
        let n: u64 = std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or(HttpError::Framing("Content-Length is not a decimal number"))?;
        if length.is_some_and(|previous| previous != n) {
            return Err(HttpError::Framing("conflicting Content-Length values"));
        }
        length = Some(n);
    }
    Ok(match length {
        Some(0) | None => Body::None,
        Some(n) => Body::Length(n),
    })
}

/// Headers never forwarded: hop-by-hop ones (RFC 9110 §7.6.1), the proxy's own, and the
/// Host header (rewritten from the target).
const DROPPED: [&str; 9] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "upgrade",
    "host",
    "trailer",
];

/// The head to send upstream: origin-form request line, the client's end-to-end headers,
/// `Host` from the canonical target, and `Connection: close`.
pub fn upstream_head(head: &RequestHead, target: &Target, path: &[u8]) -> Vec<u8> {
    let listed: Vec<String> = head
        .values("connection")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|token| String::from_utf8_lossy(token).trim().to_ascii_lowercase())
        .collect();
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(head.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path);
    out.extend_from_slice(format!(" HTTP/1.{}\r\n", head.minor_version).as_bytes());
    out.extend_from_slice(b"Host: ");
    if target.port == 80 {
        let host = target.to_string();
        out.extend_from_slice(host.trim_end_matches(":80").as_bytes());
    } else {
        out.extend_from_slice(target.to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    for (name, value) in &head.headers {
        let lower = name.to_ascii_lowercase();
        if DROPPED.contains(&lower.as_str()) || listed.contains(&lower) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// What to do with a response head from upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseHead {
    /// A 1xx interim response: forward unchanged, another head follows.
    Interim,
    /// The final response's head, rewritten to end the connection after it (`Connection:
    /// close`, hop-by-hop headers removed), so that clients never send a second request
    /// on a connection the proxy will not read again.
    Final(Vec<u8>),
}

/// Parses a complete response head (as delimited by [`head_end`]); `None` when it does
/// not parse (the caller then relays it unchanged: responses are not a trust boundary).
pub fn rewrite_response_head(head: &[u8]) -> Option<ResponseHead> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    match response.parse(head) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        _ => return None,
    }
    let code = response.code?;
    if (100..200).contains(&code) && code != 101 {
        return Some(ResponseHead::Interim);
    }
    let status_line_end = head.windows(2).position(|w| w == b"\r\n")?;
    let listed: Vec<String> = response
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .map(|token| String::from_utf8_lossy(token).trim().to_ascii_lowercase())
        .collect();
    let mut out = head[..status_line_end + 2].to_vec();
    for field in response.headers.iter() {
        let lower = field.name.to_ascii_lowercase();
        if ["connection", "keep-alive", "proxy-connection"].contains(&lower.as_str())
            || listed.contains(&lower)
        {
            continue;
        }
        out.extend_from_slice(field.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(field.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    Some(ResponseHead::Final(out))
}

/// A short error response with a one-line reason, closing the connection. `kind` goes
/// into `X-Proxy-Error` (`blocked-by-policy`, `bad-request`, `upstream-failed`).
pub fn error_response(status: &str, kind: &str, reason: &str) -> Vec<u8> {
    let body = format!("cordon: {reason}\n");
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nX-Proxy-Error: {kind}\r\nConnection: close\r\n\r\n{body}",
        body.len(),
    )
    .into_bytes()
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
