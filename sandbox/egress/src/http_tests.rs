//! Tests of the proxy's HTTP head handling: what is accepted, what each refusal is.

use super::*;
use crate::host::{AuthorityError, Host, HostError};

fn classify_raw(raw: &[u8]) -> Result<ProxyRequest, HttpError> {
    let end = head_end(raw)?.ok_or(HttpError::Malformed("incomplete".into()))?;
    classify(&parse_head(&raw[..end])?)
}

fn target(host: &str, port: u16) -> Target {
    Target {
        host: Host::parse(host.as_bytes()).expect("test host"),
        port,
    }
}

#[test]
fn head_end_needs_crlf_and_is_bounded() {
    assert_eq!(head_end(b"GET http://a/ HTTP/1.1\r\n"), Ok(None));
    assert_eq!(
        head_end(b"GET http://a/ HTTP/1.1\r\n\r\nBODY"),
        Ok(Some(26))
    );
    assert_eq!(
        head_end(b"GET http://a/ HTTP/1.1\n\n"),
        Err(HttpError::BareLf)
    );
    assert_eq!(
        head_end(b"GET http://a/ HTTP/1.1\r\nX: y\n\r\n"),
        Err(HttpError::BareLf)
    );
    let huge = [
        b"GET http://a/ HTTP/1.1\r\nX: ".as_slice(),
        &vec![b'a'; MAX_HEAD],
    ]
    .concat();
    assert_eq!(head_end(&huge), Err(HttpError::TooLarge));
}

#[test]
fn connect_requests() {
    assert_eq!(
        classify_raw(b"CONNECT crates.io:443 HTTP/1.1\r\nHost: crates.io:443\r\n\r\n"),
        Ok(ProxyRequest::Connect(target("crates.io", 443)))
    );
    assert_eq!(
        classify_raw(b"CONNECT Crates.IO.:443 HTTP/1.1\r\n\r\n"),
        Ok(ProxyRequest::Connect(target("crates.io", 443)))
    );
    assert_eq!(
        classify_raw(b"CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n\r\n"),
        Ok(ProxyRequest::Connect(target("::1", 22)))
    );
    assert_eq!(
        classify_raw(b"CONNECT 0x7f.1:443 HTTP/1.1\r\n\r\n"),
        Ok(ProxyRequest::Connect(target("127.0.0.1", 443)))
    );
    // A Host header without a port means the CONNECT port.
    assert_eq!(
        classify_raw(b"CONNECT crates.io:443 HTTP/1.1\r\nHost: crates.io\r\n\r\n"),
        Ok(ProxyRequest::Connect(target("crates.io", 443)))
    );
    assert!(matches!(
        classify_raw(b"CONNECT crates.io:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n"),
        Err(HttpError::HostMismatch { .. })
    ));
    assert_eq!(
        classify_raw(b"CONNECT crates.io HTTP/1.1\r\n\r\n"),
        Err(HttpError::Authority(AuthorityError::MissingPort))
    );
    assert_eq!(
        classify_raw(b"CONNECT a@crates.io:443 HTTP/1.1\r\n\r\n"),
        Err(HttpError::Authority(AuthorityError::Host(
            HostError::Userinfo
        )))
    );
    assert!(classify_raw(b"CONNECT evil.com%00.crates.io:443 HTTP/1.1\r\n\r\n").is_err());
}

#[test]
fn absolute_form_requests() {
    assert_eq!(
        classify_raw(b"GET http://crates.io/api?q=1 HTTP/1.1\r\nHost: crates.io\r\n\r\n"),
        Ok(ProxyRequest::Forward {
            target: target("crates.io", 80),
            path: b"/api?q=1".to_vec(),
            body: Body::None
        })
    );
    assert_eq!(
        classify_raw(b"GET HTTP://Crates.IO:8080 HTTP/1.1\r\nHost: crates.io:8080\r\n\r\n"),
        Ok(ProxyRequest::Forward {
            target: target("crates.io", 8080),
            path: b"/".to_vec(),
            body: Body::None
        })
    );
    assert_eq!(
        classify_raw(b"GET http://a.test?x HTTP/1.0\r\n\r\n"),
        Ok(ProxyRequest::Forward {
            target: target("a.test", 80),
            path: b"/?x".to_vec(),
            body: Body::None
        })
    );
    let refusals: Vec<(&[u8], HttpError)> = vec![
        (b"GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", HttpError::NotAbsolute),
        (b"GET https://a.test/ HTTP/1.1\r\n\r\n", HttpError::Scheme),
        (b"GET http://a.test/#x HTTP/1.1\r\n\r\n", HttpError::Fragment),
        (
            b"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
            HttpError::DuplicateHost,
        ),
        (
            b"POST http://a.test/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            HttpError::Framing("both Transfer-Encoding and Content-Length"),
        ),
        (
            b"POST http://a.test/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            HttpError::Framing("conflicting Content-Length values"),
        ),
        (
            b"POST http://a.test/ HTTP/1.1\r\nContent-Length: +3\r\n\r\n",
            HttpError::Framing("Content-Length is not a decimal number"),
        ),
        (
            b"POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            HttpError::Framing("Transfer-Encoding other than a single 'chunked'"),
        ),
    ];
    for (raw, expected) in refusals {
        assert_eq!(
            classify_raw(raw),
            Err(expected),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    for raw in [
        b"GET http://allowed.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n".as_slice(),
        b"GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test:81\r\n\r\n",
        b"GET http://allowed.test@evil.test/ HTTP/1.1\r\n\r\n",
        b"GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\x00.evil\r\n\r\n",
    ] {
        assert!(
            classify_raw(raw).is_err(),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    // Obsolete line folding is refused by httparse.
    assert!(classify_raw(b"GET http://a.test/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n").is_err());
}

#[test]
fn body_framings() {
    let body = |raw: &[u8]| match classify_raw(raw) {
        Ok(ProxyRequest::Forward { body, .. }) => body,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        body(b"POST http://a.test/ HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
        Body::Length(12)
    );
    assert_eq!(
        body(b"POST http://a.test/ HTTP/1.1\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\n"),
        Body::Length(12)
    );
    assert_eq!(
        body(b"POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"),
        Body::Chunked
    );
    assert_eq!(body(b"GET http://a.test/ HTTP/1.1\r\n\r\n"), Body::None);
}

#[test]
fn upstream_heads_are_origin_form_with_connection_close() {
    let raw = b"GET http://A.test/x?y HTTP/1.1\r\nHost: a.test\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nProxy-Authorization: Basic x\r\nAccept: */*\r\n\r\n";
    let head = parse_head(raw).expect("valid");
    let out = upstream_head(&head, &target("a.test", 80), b"/x?y");
    assert_eq!(
        String::from_utf8(out).expect("ascii"),
        "GET /x?y HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    let out = upstream_head(&head, &target("::1", 8080), b"/");
    assert!(
        String::from_utf8(out)
            .expect("ascii")
            .contains("Host: [::1]:8080\r\n")
    );
}

#[test]
fn error_responses_are_complete_http() {
    let response = error_response(
        "403 Forbidden",
        "blocked-by-policy",
        "evil.test:443 is not allowed",
    );
    let text = String::from_utf8(response).expect("ascii");
    assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\ncordon: evil.test:443 is not allowed\n"),
        "{text}"
    );
    assert!(text.contains("Content-Length: 37\r\n"), "{text}");
}

#[test]
fn response_heads_end_the_connection() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nX-End: 2\r\n\r\n";
    assert_eq!(
        rewrite_response_head(head),
        Some(ResponseHead::Final(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-End: 2\r\nConnection: close\r\n\r\n"
                .to_vec()
        ))
    );
    assert_eq!(
        rewrite_response_head(b"HTTP/1.1 100 Continue\r\n\r\n"),
        Some(ResponseHead::Interim)
    );
    assert_eq!(rewrite_response_head(b"garbage\r\n\r\n"), None);
}

#[test]
fn localhost_names_a_loopback_target() {
    let head = parse_head(b"GET / HTTP/1.1\r\nHost: localhost:5432\r\n\r\n").expect("head");
    let loopback = parse_authority(b"127.0.0.1:5432", None).expect("target");
    assert!(classify_on_connection(&head, &loopback).is_ok());
    let other = parse_authority(b"192.0.2.1:5432", None).expect("target");
    assert!(matches!(
        classify_on_connection(&head, &other),
        Err(HttpError::HostMismatch { .. })
    ));
}
