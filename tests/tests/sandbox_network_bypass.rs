//! The bypass corpus of issue 12 through every entry point of `network: {mode: proxy}`,
//! as root and as the unprivileged user, in the offline world of `cordon_e2e::network`:
//! denied names and their spellings, every IP-literal form, names that resolve to
//! loopback, metadata or the host's own address, deny-listed services, userinfo, NUL and
//! control bytes, Host and SNI mismatches, CONNECT to the proxy itself. Verdicts are read
//! from the world's servers' logs and DNS server, not from what the probes print.

use cordon_e2e::network::for_each_user_in_a_world;

/// Hosts that must be refused, as a client would write them in a URL, and whether the
/// name itself is refused (so that the DNS stub must not answer it either; names under
/// `*.allowed.test` resolve, and are refused by their address when connecting).
const CORPUS: &[(&str, bool)] = &[
    ("denied.test", true),
    ("www.denied.test", true),
    ("DENIED.TEST.", true),
    ("evilallowed.test", true),
    ("allowed.test.denied.test", true),
    ("webhook.site", true),
    ("x.webhook.site", true),
    ("metadata.google.internal", true),
    ("192.0.2.10", false),
    ("3221225994", false),
    ("0xc000020a", false),
    ("0300.0.2.012", false),
    ("192.0.522", false),
    ("[::ffff:192.0.2.10]", false),
    ("[2001:db8::10]", false),
    ("loopback.allowed.test", false),
    ("metadata.allowed.test", false),
    ("own.allowed.test", false),
    ("169.254.169.254", false),
    ("127.0.0.1:8080", false),
    ("localhost:8080", false),
    ("[::1]:8080", false),
];

#[test]
fn the_bypass_corpus_is_refused_at_every_entry_point() {
    for_each_user_in_a_world(|world| {
        let mut script = String::from("set +e\n");
        for (host, name_refused) in CORPUS {
            for (entry, flags) in [
                ("http", "--proxy \"$HTTP_PROXY\" http://"),
                ("connect", "--proxytunnel --proxy \"$HTTP_PROXY\" http://"),
                ("connect-tls", "--proxy \"$HTTP_PROXY\" -k https://"),
                ("socks5h", "--proxy \"$ALL_PROXY\" http://"),
                ("direct", "--noproxy '*' http://"),
                ("direct-tls", "--noproxy '*' -k https://"),
            ] {
                script.push_str(&format!(
                    "if curl -fsS -m 10 -o /dev/null -g {flags}{host}/hello 2>/dev/null; then echo 'REACHED {entry} {host}'; fi\n"
                ));
            }
            if *name_refused {
                script.push_str(&format!(
                    "if getent ahosts '{host}' >/dev/null; then echo 'RESOLVED {host}'; fi\n"
                ));
            }
        }
        // Userinfo, a NUL byte and control bytes in CONNECT; Host and SNI naming another
        // host than the target; an absolute URI to a denied host inside an allowed tunnel;
        // CONNECT to the proxy itself.
        script.push_str(r#"
if curl -fsS -m 10 -o /dev/null 'http://allowed.test@denied.test/hello'; then echo 'REACHED userinfo'; fi
echo "host-header transparent: $(curl -sS -m 10 -o /dev/null -w '%{http_code}' --noproxy '*' -H 'Host: denied.test' http://allowed.test/fronted)"
echo "host-header proxied: $(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H 'Host: denied.test' http://allowed.test/fronted)"
echo "host-header tunnel: $(curl -sS -m 10 -o /dev/null -w '%{http_code}' --proxytunnel -H 'Host: denied.test' http://allowed.test/fronted)"
if curl -fsS -m 10 -o /dev/null -k --connect-to denied.test:443:allowed.test:443 https://denied.test/hello; then echo 'REACHED sni-connect'; fi
if curl -fsS -m 10 -o /dev/null -k --noproxy '*' --connect-to denied.test:443:allowed.test:443 https://denied.test/hello; then echo 'REACHED sni-direct'; fi
/usr/bin/python3 - <<'EOF'
import os, socket
port = int(os.environ["HTTP_PROXY"].rsplit(":", 1)[1])
def ask(raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw)
    try:
        head = s.recv(200)
    except OSError:
        head = b""
    if head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200"):
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: denied.test\r\n\r\n")
        print("REACHED raw", raw[:60], s.recv(200))
for raw in [
    b"CONNECT allowed.test@denied.test:80 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"CONNECT allowed.test\x00.denied.test:80 HTTP/1.1\r\n\r\n",
    b"CONNECT denied.test\t:80 HTTP/1.1\r\n\r\n",
    b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port,
    b"CONNECT 0:%d HTTP/1.1\r\n\r\n" % port,
]:
    ask(raw)
# Inside an allowed tunnel to port 80: an absolute-URI request naming a denied host.
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"CONNECT allowed.test:80 HTTP/1.1\r\n\r\n")
print("tunnel:", s.recv(200)[:12])
s.sendall(b"GET http://denied.test/fronted HTTP/1.1\r\nHost: denied.test\r\n\r\n")
print("inside:", s.recv(200)[:40])
# The same on a direct (transparent) connection to allowed.test:80.
s = socket.create_connection(("allowed.test", 80), timeout=10)
s.sendall(b"GET http://denied.test/fronted HTTP/1.1\r\nHost: denied.test\r\n\r\n")
print("direct:", s.recv(200)[:40])
EOF
"#);
        let (_, text) = world.sh(&script);
        assert!(
            !text.contains("REACHED"),
            "as {}: {text}",
            world.user.who.name
        );
        assert!(
            !text.contains("RESOLVED"),
            "as {}: {text}",
            world.user.who.name
        );
        // A Host or absolute URI naming another host than the connection's target gets
        // the same verdict at every entry point: 421, and a logged denial.
        for probe in [
            "host-header transparent: 421",
            "host-header proxied: 421",
            "host-header tunnel: 421",
            "inside: b'HTTP/1.1 421 Misdirected Request",
            "direct: b'HTTP/1.1 421 Misdirected Request",
        ] {
            assert!(
                text.contains(probe),
                "as {}: no {probe:?} in {text}",
                world.user.who.name
            );
        }
        // From the world's side: only allowed.test's server ever saw a request, never one
        // with a denied name. (The SNI-mismatch probes may open a connection to
        // allowed.test:443 that the engine closes before any ClientHello byte is sent: a
        // TLS error, no request.)
        for record in world.connections() {
            if record["server"] == "web-tls" && record.get("tls_error").is_some() {
                continue;
            }
            assert_eq!(record["server"], "web", "{record}");
            assert_eq!(record["local"], "192.0.2.10:80", "{record}");
            let host = record["host"].as_str().unwrap_or_default();
            assert!(
                !host.contains("denied") && record["path"] != "/fronted",
                "a request for a denied name reached the world: {record}"
            );
        }
        // No name under a denied domain (nor a deny-listed one) was ever asked upstream.
        let asked = world.names_asked();
        assert!(
            asked
                .iter()
                .all(|n| !n.contains("denied") && !n.contains("webhook")),
            "{asked:?}"
        );
        // cordon's log says why, for every entry point.
        let decisions = world.decisions();
        for entry in ["http", "connect", "transparent"] {
            assert!(
                decisions.iter().any(|d| d["entry"] == entry
                    && d["decision"] == "deny"
                    && d["rule"]
                        .as_str()
                        .is_some_and(|r| r.contains("does not match"))),
                "no Host-mismatch denial from {entry} in the log"
            );
        }
        for entry in ["http", "connect", "socks5", "transparent", "dns"] {
            assert!(
                decisions
                    .iter()
                    .any(|d| d["entry"] == entry && d["decision"] == "deny"),
                "no denied {entry} decision in the log"
            );
        }
    });
}
