//! `network: {mode: proxy}` end to end (issue 12), as root and as the unprivileged user,
//! in an offline world the test builds (see `cordon_e2e::network`). Every verdict is
//! checked from the world's side: its servers log what reaches them, and its DNS server
//! logs every name it is asked.

use cordon_e2e::network::{NetWorld, for_each_user_in_a_world, read_json_lines};

#[test]
fn the_world_works_without_cordon() {
    let world = NetWorld::new(&cordon_e2e::sandbox::users()[0]);
    let (code, text) = world.outside(
        "curl -sS http://allowed.test/hello && curl -sS --cacert \"$CA\" https://allowed.test/hello \
         && curl -sS http://[2001:db8::10]/hello && curl -sS -o /dev/null http://metadata.allowed.test/x \
         && curl -sS -o /dev/null http://127.0.0.1:8080/x && getent hosts dns-only.allowed.test",
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("hello from web host=allowed.test"), "{text}");
    assert!(
        text.contains("hello from web-tls host=allowed.test"),
        "{text}"
    );
    assert!(
        text.contains("192.0.2.10"),
        "the world's DNS answers: {text}"
    );
    assert_eq!(world.seen_by("metadata").len(), 1);
    assert_eq!(world.seen_by("host-loopback").len(), 1);
    assert!(
        world
            .names_asked()
            .contains(&"dns-only.allowed.test".to_owned())
    );
}

/// Runs `script` in the sandbox, expects success and `expected` in the output.
fn works(world: &NetWorld, what: &str, script: &str, expected: &str) {
    let (code, text) = world.sh(script);
    assert_eq!(code, 0, "{what} as {}: {text}", world.user.who.name);
    assert!(
        text.contains(expected),
        "{what} as {}: expected {expected:?} in {text}",
        world.user.who.name
    );
}

#[test]
fn tools_reach_allowed_names_through_every_entry_point() {
    for_each_user_in_a_world(|world| {
        let hello = "hello from web host=allowed.test";
        let tls_hello = "hello from web-tls host=allowed.test";
        works(
            world,
            "curl http (absolute URI)",
            "curl -sS http://allowed.test/hello",
            hello,
        );
        works(
            world,
            "curl https (CONNECT)",
            "curl -sS --cacert \"$CA\" https://allowed.test/hello",
            tls_hello,
        );
        works(
            world,
            "curl socks5h",
            "curl -sS --proxy \"$ALL_PROXY\" --cacert \"$CA\" https://allowed.test/hello",
            tls_hello,
        );
        works(
            world,
            "curl direct http (transparent)",
            "curl -sS --noproxy '*' http://allowed.test/hello",
            hello,
        );
        works(
            world,
            "curl direct https (transparent)",
            "curl -sS --noproxy '*' --cacert \"$CA\" https://allowed.test/hello",
            tls_hello,
        );
        works(
            world,
            "python socket ignoring the proxy variables",
            "/usr/bin/python3 -c \"import socket; s = socket.create_connection(('allowed.test', 80)); \
             s.sendall(b'GET /hello HTTP/1.0\\r\\nHost: allowed.test\\r\\n\\r\\n'); print(b''.join(iter(lambda: s.recv(4096), b'')).decode())\"",
            hello,
        );
        works(
            world,
            "node https.get (transparent TLS)",
            "NODE_EXTRA_CA_CERTS=\"$CA\" node -e \"require('https').get('https://allowed.test/hello', r => r.pipe(process.stdout)).on('error', e => { console.error(e); process.exit(1); })\"",
            tls_hello,
        );
        works(
            world,
            "git clone over https",
            "git -c http.sslCAInfo=\"$CA\" clone -q https://git.allowed.test/repo.git /tmp/repo && cat /tmp/repo/README",
            "cloned through cordon",
        );
        works(
            world,
            "pip download from a static index",
            "/usr/bin/python3 -m pip download -q --no-deps --disable-pip-version-check --no-cache-dir \
             --cert \"$CA\" --index-url https://pypi.allowed.test/simple/ -d /tmp/pip demo && ls /tmp/pip",
            "demo-1.0-py3-none-any.whl",
        );
        works(
            world,
            "an IPv6-only name",
            "curl -sS http://v6.allowed.test/hello",
            "hello from web host=v6.allowed.test",
        );
        works(
            world,
            "a name only the world's DNS server knows",
            "curl -sS --noproxy '*' http://dns-only.allowed.test/hello",
            "hello from web host=dns-only.allowed.test",
        );
        // From the world's side: the requests arrived with the names asked, at the
        // addresses the names have, SNI intact.
        let web = world.seen_by("web");
        assert!(
            web.iter()
                .any(|r| r["host"] == "allowed.test" && r["local"] == "192.0.2.10:80"),
            "{web:?}"
        );
        assert!(
            web.iter()
                .any(|r| r["host"] == "v6.allowed.test" && r["local"] == "2001:db8::10:80"),
            "{web:?}"
        );
        let tls = world.seen_by("web-tls");
        assert!(
            tls.iter().any(
                |r| r["path"] == "/repo.git/info/refs?service=git-upload-pack"
                    && r["sni"] == "git.allowed.test"
            ),
            "{tls:?}"
        );
        assert!(
            tls.iter().all(|r| r["sni"] == "allowed.test"
                || r["sni"] == "git.allowed.test"
                || r["sni"] == "pypi.allowed.test"),
            "{tls:?}"
        );
        assert!(
            tls.iter()
                .any(|r| r["path"] == "/files/demo-1.0-py3-none-any.whl"),
            "{tls:?}"
        );
        // And cordon's log has an allowing line from each entry point.
        let decisions = world.decisions();
        for entry in ["http", "connect", "socks5", "transparent", "dns"] {
            assert!(
                decisions
                    .iter()
                    .any(|d| d["entry"] == entry && d["decision"] == "allow"),
                "no allowed {entry} decision in {decisions:?}"
            );
        }
    });
}

#[test]
fn many_connections_at_once_and_a_long_lived_tunnel() {
    for_each_user_in_a_world(|world| {
        let script = r#"/usr/bin/python3 - <<'EOF'
import socket, threading, time, urllib.request
N = 256
barrier = threading.Barrier(N)
ok = []
def fetch(i):
    barrier.wait()
    try:
        with urllib.request.urlopen("http://allowed.test/hello?%d" % i, timeout=60) as r:
            if b"hello from web" in r.read():
                ok.append(i)
    except Exception as e:
        print("failed", i, e)
threads = [threading.Thread(target=fetch, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
print("concurrent ok", len(ok))
direct = []
def direct_fetch(i):
    s = socket.create_connection(("allowed.test", 80), timeout=60)
    s.sendall(b"GET /hello HTTP/1.0\r\nHost: allowed.test\r\n\r\n")
    reply = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    if b"hello from web" in reply:
        direct.append(i)
    else:
        print("short reply", i, reply)
threads = [threading.Thread(target=direct_fetch, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
print("transparent ok", len(direct))
s = socket.create_connection(("allowed.test", 7000), timeout=10)
for i in range(12):
    s.sendall(b"ping %d\n" % i)
    assert s.recv(100) == b"ping %d\n" % i
    time.sleep(0.5)
print("tunnel ok")
EOF"#;
        let (code, text) = world.sh(script);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("concurrent ok 256"), "{text}");
        assert!(text.contains("transparent ok 256"), "{text}");
        assert!(text.contains("tunnel ok"), "{text}");
        assert_eq!(world.seen_by("echo").len(), 1);
        let decisions = world.decisions();
        let tunnel = decisions
            .iter()
            .find(|d| d["port"] == 7000)
            .expect("the tunnel is logged");
        assert!(
            tunnel["duration_ms"].as_u64().unwrap_or(0) >= 5000,
            "{tunnel}"
        );
        assert!(
            tunnel["bytes_up"].as_u64().unwrap_or(0) >= 12 * 7,
            "{tunnel}"
        );
    });
}

#[test]
fn dns_answers_only_allowed_names_and_never_forwards_a_denied_one() {
    for_each_user_in_a_world(|world| {
        let script = r#"/usr/bin/python3 - <<'EOF'
import random, socket, struct
def query(server, name, qtype):
    ident = random.randrange(65536)
    packet = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    packet += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    packet += struct.pack("!HH", qtype, 1)
    s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(packet, (server, 53))
        reply = s.recv(4096)
    except OSError as e:
        return "no answer (%s)" % type(e).__name__
    flags, qd, an = struct.unpack("!HHH", reply[2:8])
    rcode = flags & 0xF
    data = []
    if an:
        tail = reply[-16:] if qtype == 28 else reply[-4:]
        data.append(socket.inet_ntop(socket.AF_INET6 if qtype == 28 else socket.AF_INET, tail))
    return "rcode=%d answers=%d %s" % (rcode, an, " ".join(data))
for name, qtype in [("allowed.test", 1), ("allowed.test", 28), ("allowed.test", 16),
                    ("secret-c2VjcmV0.denied.test", 1), ("secret-c2VjcmV0.denied.test", 28),
                    ("secret-c2VjcmV0.denied.test", 16), ("x.webhook.site", 1), ("metadata.google.internal", 1)]:
    print("stub", name, qtype, query("127.0.0.1", name, qtype))
print("stub6", query("::1", "allowed.test", 1))
print("direct", query("192.0.2.53", "direct-c2VjcmV0.denied.test", 16))
EOF"#;
        let (code, text) = world.sh(script);
        assert_eq!(code, 0, "{text}");
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix}: {text}"))
                .to_owned()
        };
        assert!(
            line("stub allowed.test 1 ").contains("rcode=0 answers=1 198.1"),
            "{text}"
        );
        assert!(
            line("stub allowed.test 28 ").contains("rcode=0 answers=1 fd63:6f72:646f:6e00:"),
            "{text}"
        );
        assert!(
            line("stub allowed.test 16 ").contains("rcode=0 answers=0"),
            "{text}"
        );
        assert!(line("stub6").contains("rcode=0 answers=1 198.1"), "{text}");
        for denied in [
            "secret-c2VjcmV0.denied.test",
            "x.webhook.site",
            "metadata.google.internal",
        ] {
            for l in text
                .lines()
                .filter(|l| l.starts_with("stub ") && l.contains(denied))
            {
                assert!(l.contains("rcode=3") || l.contains("rcode=5"), "{l}");
            }
        }
        assert!(line("direct").contains("no answer"), "{text}");
        let asked = world.names_asked();
        assert!(
            asked
                .iter()
                .all(|n| !n.contains("denied") && !n.contains("webhook") && !n.contains("google")),
            "{asked:?}"
        );
    });
}

#[test]
fn udp_quic_raw_sockets_and_unlisted_host_loopback_services_fail() {
    for_each_user_in_a_world(|world| {
        let script = r#"/usr/bin/python3 - <<'EOF'
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
try:
    u.connect(("192.0.2.10", 443)); u.send(b"quic"); u.recv(10); print("UDP ANSWERED")
except OSError as e:
    print("udp failed", type(e).__name__)
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print("RAW OPENED")
except OSError as e:
    print("raw failed", e.errno)
for port in (8080, 5432):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /hello HTTP/1.0\r\nHost: localhost:%d\r\n\r\n" % port)
        print("loopback", port, s.recv(200).split(b"\r\n")[0].decode())
    except OSError as e:
        print("loopback", port, "failed", type(e).__name__)
EOF"#;
        let (code, text) = world.sh(script);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("udp failed"), "{text}");
        assert!(text.contains("raw failed"), "{text}");
        assert!(text.contains("loopback 8080 failed"), "{text}");
        // `local_ports: [5432]` reaches the host's loopback service on that port.
        assert!(text.contains("loopback 5432 HTTP/1."), "{text}");
        assert!(world.seen_by("udp").is_empty());
        assert!(world.seen_by("host-loopback").is_empty());
        assert_eq!(world.seen_by("host-loopback-listed").len(), 1);
    });
}

#[test]
fn the_view_environment_and_log_of_proxy_mode() {
    for_each_user_in_a_world(|world| {
        let (code, text) = world.sh("cat /etc/resolv.conf; env | sort");
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("nameserver 127.0.0.1"), "{text}");
        for line in [
            "HTTP_PROXY=http://127.0.0.1:3128",
            "https_proxy=http://127.0.0.1:3128",
            "ALL_PROXY=socks5h://127.0.0.1:3128",
            "NO_PROXY=localhost,127.0.0.1,::1",
            "GIT_CONFIG_KEY_0=http.proxy",
            "npm_config_https_proxy=http://127.0.0.1:3128",
            "PIP_PROXY=http://127.0.0.1:3128",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in {text}");
        }
        let policy = world.dir().join("policy.yaml");
        let output = world
            .cordon(&[
                "run",
                "--policy",
                &policy.to_string_lossy(),
                "--print-plan",
                "--",
                "true",
            ])
            .output()
            .expect("cordon");
        let plan = String::from_utf8_lossy(&output.stdout);
        assert!(plan.contains("proxy environment"), "{plan}");
        assert!(
            plan.contains("  CARGO_HTTP_PROXY=http://127.0.0.1:3128"),
            "{plan}"
        );
        // The default log is outside the project, and the sandbox cannot write it.
        world.sh("curl -sS -o /dev/null http://allowed.test/hello");
        let state = world.user.home.join(".local/state/cordon");
        let log = std::fs::read_dir(&state)
            .expect("the state directory")
            .next()
            .expect("a project directory")
            .expect("entry")
            .path()
            .join("net.jsonl");
        let before = read_json_lines(&log).len();
        assert!(before > 0);
        let (_, text) = world.sh(&format!(
            "echo '{{\"forged\": true}}' >> '{0}' && echo WROTE; ls -la '{0}' && echo SAW",
            log.display()
        ));
        assert!(!text.contains("WROTE"), "{text}");
        assert!(
            read_json_lines(&log)
                .iter()
                .all(|r| r.get("forged").is_none())
        );
        // A log the sandbox could write is refused.
        let inside = world.project().join("net.jsonl");
        let output = world
            .cordon(&[
                "run",
                "--policy",
                &policy.to_string_lossy(),
                "--net-log",
                &inside.to_string_lossy(),
                "--",
                "true",
            ])
            .output()
            .expect("cordon");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{stderr}");
        assert!(stderr.contains("--net-log"), "{stderr}");
        // Without network namespaces, proxy mode refuses to run (fail closed).
        let output = world
            .user
            .cordon_nested(
                Some("max_net_namespaces"),
                &[
                    "run",
                    "--network",
                    "proxy",
                    "--allow-domain",
                    "allowed.test",
                    "--",
                    "true",
                ],
            )
            .output()
            .expect("cordon");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{stderr}");
        assert!(stderr.contains("network namespace"), "{stderr}");
        // Mode none in the same world: nothing reaches it.
        let output = world
            .cordon(&[
                "run",
                "--",
                "curl",
                "-sS",
                "-m",
                "5",
                "http://192.0.2.10/hello",
            ])
            .output()
            .expect("cordon");
        assert_ne!(output.status.code(), Some(0));
        assert!(
            world
                .connections()
                .iter()
                .all(|r| r["path"] != "/hello" || r["host"] == "allowed.test")
        );
    });
}

#[test]
fn flags_and_the_untrusted_project_file() {
    for_each_user_in_a_world(|world| {
        let hello = "hello from web host=allowed.test";
        let run = |args: &[&str]| {
            let output = world.cordon(args).output().expect("cordon");
            (
                output.status.code(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            )
        };
        let curl = [
            "--",
            "curl",
            "-fsS",
            "-m",
            "10",
            "http://allowed.test/hello",
        ];
        // The flags alone.
        let mut args = vec![
            "run",
            "--network",
            "proxy",
            "--allow-domain",
            "allowed.test",
        ];
        args.extend(curl);
        let (code, text) = run(&args);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains(hello), "{text}");
        // A project file may switch to proxy mode, but its allow entries count only inside
        // the global file's project_may_allow: refused (and warned about) without it.
        let project_policy = world.project().join(".cordon/policy.yaml");
        std::fs::create_dir_all(project_policy.parent().expect("parent")).expect("mkdir");
        std::fs::write(
            &project_policy,
            "version: 1\nnetwork:\n  mode: proxy\n  allow: [allowed.test]\n",
        )
        .expect("write");
        cordon_e2e::sandbox::chown_tree(&world.project().join(".cordon"), &world.user.who);
        let before = world.seen_by("web").len();
        let mut args = vec!["run"];
        args.extend(curl);
        let (code, text) = run(&args);
        assert_ne!(code, Some(0), "{text}");
        assert!(text.contains("refused"), "{text}");
        assert_eq!(
            world.seen_by("web").len(),
            before,
            "nothing reached the world"
        );
        // With the global file's consent, the same project entry counts.
        let global = world.user.home.join(".config/cordon/policy.yaml");
        std::fs::create_dir_all(global.parent().expect("parent")).expect("mkdir");
        std::fs::write(
            &global,
            "version: 1\nnetwork:\n  project_may_allow: ['*.test', allowed.test]\n",
        )
        .expect("write");
        cordon_e2e::sandbox::chown_tree(&world.user.home.join(".config"), &world.user.who);
        let (code, text) = run(&args);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains(hello), "{text}");
        assert_eq!(world.seen_by("web").len(), before + 1);
    });
}
