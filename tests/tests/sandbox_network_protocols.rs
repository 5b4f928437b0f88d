//! `network: {mode: proxy}` with protocols other than HTTP, as root and as the
//! unprivileged user, in the offline world of `cordon_e2e::network`: `git` over ssh to an
//! allowed `:22` (a real sshd of Debian's `openssh-server`, started by the world in its
//! namespace) and to a denied host, and DNS over TCP to the stub (a hand-built query and
//! glibc's resolver with `RES_OPTIONS=use-vc`). Verdicts are read from outside: sshd's own
//! log, the world's DNS server log and cordon's decision log.

use cordon_e2e::network::{NetWorld, for_each_user_in_a_world};

#[test]
fn git_over_ssh_reaches_an_allowed_port_22_and_nothing_else() {
    for_each_user_in_a_world(|world| {
        let Some(ssh) = world.ssh_command() else {
            panic!(
                "this suite needs a real ssh server: install Debian's openssh-server \
                 (.ci/run does) so that /usr/sbin/sshd exists"
            );
        };
        let user = &world.user.who.name;
        let repo = world.ssh_repository();
        let repo = repo.display();
        let script = format!(
            "set +e
export GIT_SSH_COMMAND='{ssh}'
git clone -q ssh://{user}@allowed.test{repo} over-ssh && cat over-ssh/README
git clone -q ssh://{user}@denied.test{repo} denied-name; echo \"denied name: $?\"
git clone -q ssh://{user}@192.0.2.20{repo} denied-address; echo \"denied address: $?\"
test -e denied-name/README || test -e denied-address/README && echo 'DENIED CLONED'
"
        );
        let (_, text) = world.sh(&script);
        assert!(text.contains("cloned through cordon"), "as {user}: {text}");
        assert!(!text.contains("denied name: 0"), "as {user}: {text}");
        assert!(!text.contains("denied address: 0"), "as {user}: {text}");
        assert!(!text.contains("DENIED CLONED"), "as {user}: {text}");
        // sshd saw exactly the allowed server's connection, and the login worked there.
        let log = world.sshd_log();
        assert!(
            log.contains(&format!("Accepted publickey for {user}")),
            "{log}"
        );
        let connections: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with("Connection from "))
            .collect();
        assert!(!connections.is_empty(), "{log}");
        assert!(
            connections
                .iter()
                .all(|l| l.contains(" on 192.0.2.10 port 22")),
            "{log}"
        );
        // cordon's log: the transparent :22 connection allowed, the denied address and
        // the denied name refused (the name at the DNS stub: ssh never got an address).
        let decisions = world.decisions();
        let find = |entry: &str, host: &str, decision: &str| {
            decisions.iter().any(|d| {
                d["entry"] == entry
                    && d["decision"] == decision
                    && d["host"].as_str().is_some_and(|h| h.contains(host))
                    && (entry == "dns" || d["port"] == 22)
            })
        };
        assert!(
            find("transparent", "allowed.test", "allow"),
            "{decisions:?}"
        );
        assert!(find("transparent", "192.0.2.20", "deny"), "{decisions:?}");
        assert!(find("dns", "denied.test", "deny"), "{decisions:?}");
        assert!(
            world.names_asked().iter().all(|n| !n.contains("denied")),
            "{:?}",
            world.names_asked()
        );
    });
}

/// A Python probe that sends one DNS query over TCP to the stub and prints
/// `tcp NAME TYPE RCODE ANSWERS ADDRESS`.
const DNS_OVER_TCP: &str = r#"/usr/bin/python3 - <<'EOF'
import socket, struct
def exact(s, n):
    data = b""
    while len(data) < n:
        more = s.recv(n - len(data))
        if not more:
            raise EOFError("short answer")
        data += more
    return data
def ask(name, qtype):
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split("."))
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)
    s = socket.create_connection(("127.0.0.1", 53), timeout=5)
    s.sendall(struct.pack("!H", len(query)) + query)
    answer = exact(s, struct.unpack("!H", exact(s, 2))[0])
    rcode, count = answer[3] & 15, struct.unpack("!H", answer[6:8])[0]
    address = socket.inet_ntoa(answer[-4:]) if qtype == 1 and count else "-"
    print("tcp", name, qtype, rcode, count, address)
for name, qtype in [("allowed.test", 1), ("allowed.test", 16), ("denied.test", 1),
                    ("c2VjcmV0.denied.test", 16), ("x.webhook.site", 1)]:
    ask(name, qtype)
EOF
echo "use-vc allowed: $(RES_OPTIONS=use-vc getent ahostsv4 allowed.test | head -1)"
RES_OPTIONS=use-vc getent ahosts denied.test; echo "use-vc denied: $?"
"#;

fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in {text}"))
}

fn check_dns_over_tcp(world: &NetWorld) {
    let (code, text) = world.sh(&format!(
        "{DNS_OVER_TCP}
addr=$(RES_OPTIONS=use-vc getent ahostsv4 allowed.test | head -1 | cut -d' ' -f1)
curl -fsS -m 10 --noproxy '*' --resolve allowed.test:80:$addr http://allowed.test/hello"
    ));
    assert_eq!(code, 0, "{text}");
    // A: a pool address (198.18.0.0/15); TXT of an allowed name: empty NOERROR.
    let a: Vec<&str> = line(&text, "tcp allowed.test 1 ").split(' ').collect();
    assert_eq!(a[3..5], ["0", "1"], "{text}");
    assert!(
        a[5].starts_with("198.18.") || a[5].starts_with("198.19."),
        "{text}"
    );
    assert!(
        line(&text, "tcp allowed.test 16 ").ends_with(" 0 0 -"),
        "{text}"
    );
    // Denied names (and deny-listed services): an error code, no answer.
    for name in [
        "denied.test 1",
        "c2VjcmV0.denied.test 16",
        "x.webhook.site 1",
    ] {
        let fields: Vec<&str> = line(&text, &format!("tcp {name} ")).split(' ').collect();
        assert_ne!(fields[3], "0", "{text}");
        assert_eq!(fields[4], "0", "{text}");
    }
    // glibc's resolver over TCP gets the same answers, and the address works.
    assert!(
        line(&text, "use-vc allowed: 198.1").contains("allowed.test"),
        "{text}"
    );
    assert!(!text.contains("use-vc denied: 0"), "{text}");
    assert!(text.contains("hello from web host=allowed.test"), "{text}");
    // Nothing under a denied domain reached the world's DNS server.
    let asked = world.names_asked();
    assert!(
        asked
            .iter()
            .all(|n| !n.contains("denied") && !n.contains("webhook")),
        "{asked:?}"
    );
    let decisions = world.decisions();
    assert!(
        decisions.iter().any(|d| d["entry"] == "dns"
            && d["decision"] == "deny"
            && d["host"] == "c2vjcmv0.denied.test"),
        "{decisions:?}"
    );
}

#[test]
fn dns_over_tcp_answers_only_allowed_names() {
    for_each_user_in_a_world(check_dns_over_tcp);
}
