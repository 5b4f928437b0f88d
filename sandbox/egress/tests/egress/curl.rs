//! Real curl through the proxy: plain HTTP (absolute URI), CONNECT (`-p`), SOCKS5 with
//! remote names, and HTTPS to an `openssl s_server` with a self-signed certificate made for
//! this run; refusals must reach curl as readable errors.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{ALLOWED, EVIL, World};

fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "20", "--noproxy", ""])
        .args(args)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .output()
        .expect("curl must be installed for these tests (apt-get install curl)")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn curl_over_http_connect_and_socks5h() {
    let world = World::start();
    let proxy = format!("http://{}", world.proxy_addr);
    let socks = format!("socks5h://{}", world.proxy_addr);
    let url = |path: &str| format!("http://allowed.test:{}/{path}", world.port);
    for (args, path) in [
        (vec!["--proxy", proxy.as_str()], "via-absolute-uri"),
        (vec!["-p", "--proxy", proxy.as_str()], "via-connect"),
        (vec!["--proxy", socks.as_str()], "via-socks5h"),
    ] {
        let target = url(path);
        let out = curl(&[args.as_slice(), &[target.as_str()]].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).starts_with("upstream 127.0.0.2 got"),
            "{}",
            text(&out.stdout)
        );
    }
    let received = text(&world.upstream(ALLOWED).all_bytes());
    for path in ["via-absolute-uri", "via-connect", "via-socks5h"] {
        assert!(
            received.contains(&format!("GET /{path} HTTP/1.1")),
            "{received}"
        );
    }

    // Refusals, each with a readable reason.
    let denied = format!("http://evil.test:{}/", world.port);
    let out = curl(&["--fail-with-body", "--proxy", &proxy, &denied]);
    assert_eq!(out.status.code(), Some(22));
    assert!(text(&out.stdout).contains(
        "cordon: denied by no allow rule [test table]; to allow it: --allow-domain evil.test"
    ));
    let out = curl(&["-p", "--proxy", &proxy, &denied]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("403"), "{}", text(&out.stderr));
    let out = curl(&["--proxy", &socks, &denied]);
    assert!(!out.status.success());
    // Older curl prints the reply code, newer the text ("not allowed by ruleset").
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("(2)") || stderr.contains("not allowed"),
        "{stderr}"
    );
    assert!(world.upstream(EVIL).settled().is_empty());
}

/// An `openssl s_server` for `allowed.test` on 127.0.0.2, killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_server(dir: &Path) -> TlsServer {
    let generated = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args([
            "-days",
            "1",
            "-subj",
            "/CN=allowed.test",
            "-addext",
            "subjectAltName=DNS:allowed.test",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed for these tests (apt-get install openssl)");
    assert!(generated.success());
    let port = TcpListener::bind(SocketAddr::new(ALLOWED.into(), 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("{ALLOWED}:{port}"))
        .arg("-cert")
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = TlsServer { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((ALLOWED, port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        thread::sleep(Duration::from_millis(20));
    }
    server
}

#[test]
fn curl_https_through_connect_and_socks5h_and_an_sni_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let server = tls_server(dir.path());
    let mut world = World::start();
    let cacert = dir.path().join("cert.pem");
    let cacert = cacert.to_str().unwrap();
    let proxy = format!("http://{}", world.proxy_addr);
    let socks = format!("socks5h://{}", world.proxy_addr);
    let url = format!("https://allowed.test:{}/", server.port);
    for via in [&proxy, &socks] {
        let out = curl(&["--cacert", cacert, "--proxy", via, &url]);
        assert!(out.status.success(), "{via}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("s_server"),
            "{}",
            text(&out.stdout)
        );
    }
    // CONNECT allowed.test, but the ClientHello names evil.test.
    let evil_url = format!("https://evil.test:{}/", server.port);
    let connect_to = format!("evil.test:{0}:allowed.test:{0}", server.port);
    let out = curl(&[
        "--cacert",
        cacert,
        "--proxy",
        &proxy,
        "--connect-to",
        &connect_to,
        &evil_url,
    ]);
    assert!(!out.status.success(), "an SNI mismatch went through");
    world.shutdown();
    let lines = world.log_lines();
    let tls_lines: Vec<_> = lines.iter().filter(|l| l["port"] == server.port).collect();
    assert_eq!(tls_lines.len(), 3, "{lines:?}");
    let allowed: Vec<_> = tls_lines
        .iter()
        .filter(|l| l["decision"] == "allow")
        .collect();
    assert_eq!(allowed.len(), 2, "{lines:?}");
    for line in allowed {
        assert_eq!(line["sni"], "allowed.test");
        assert!(line["bytes_down"].as_u64().unwrap() > 500, "{line}");
    }
    let denied: Vec<_> = tls_lines
        .iter()
        .filter(|l| l["decision"] == "deny")
        .collect();
    assert_eq!(denied.len(), 1, "{lines:?}");
    assert_eq!(
        denied[0]["rule"],
        "the TLS server name evil.test is not the target allowed.test"
    );
}
