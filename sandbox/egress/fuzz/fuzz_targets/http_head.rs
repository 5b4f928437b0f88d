//! Request heads as the proxy reads them (explicit, and on an already opened connection):
//! finding the end, parsing, classifying, and the
//! chunked-body scanner, and upstream response heads; never panic, and what is forwarded
//! always ends the connection after one exchange.
#![no_main]

use cordon_egress::chunked::ChunkedScanner;
use cordon_egress::http::{self, ProxyRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(end)) = http::head_end(data) {
        assert!(end <= data.len() && end <= http::MAX_HEAD);
        if let Ok(head) = http::parse_head(&data[..end]) {
            if let Ok(ProxyRequest::Forward { target, path, .. }) = http::classify(&head) {
                assert!(path.starts_with(b"/"));
                let out = http::upstream_head(&head, &target, &path);
                assert!(out.ends_with(b"Connection: close\r\n\r\n"));
            }
            // The same head on a connection already opened to a target (a transparent
            // port-80 connection, inside a tunnel): a passed request names that target.
            let opened = cordon_egress::parse_authority(b"a.test:80", None).expect("target");
            if let Ok((path, _)) = http::classify_on_connection(&head, &opened) {
                assert!(path.starts_with(b"/") || path == b"*");
                let out = http::upstream_head(&head, &opened, &path);
                assert!(out.starts_with(head.method.as_bytes()));
                assert!(out.ends_with(b"Connection: close\r\n\r\n"));
            }
        }
    }
    if let Ok(Some(end)) = http::head_end(data) {
        if let Some(http::ResponseHead::Final(head)) = http::rewrite_response_head(&data[..end]) {
            assert!(head.ends_with(b"Connection: close\r\n\r\n"));
        }
    }
    let mut scanner = ChunkedScanner::default();
    if let Ok(Some(end)) = scanner.feed(data) {
        assert!(end <= data.len());
    }
});
