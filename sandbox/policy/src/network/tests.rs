//! Decision tables: the layers of a realistic setup, then every destination class, the
//! suffix confusions and the embedded-IPv4 forms, through `decide` and `decide_address`.

use std::net::IpAddr;
use std::path::Path;

use super::*;
use crate::plan::{Layer, Relaxation};
use crate::schema::{NetworkMode, PolicyFile, parse_policy};

pub(super) const GLOBAL: &str = "/home/u/.config/cordon/policy.yaml";
pub(super) const PROJECT: &str = "/p/.cordon/policy.yaml";

/// Parses a layer and switches it to proxy mode (the gate refuses `mode: proxy` in files
/// until the engine lands; the layering under test does not depend on it).
pub(super) fn layer(text: &str, proxy: bool) -> PolicyFile {
    let mut file = parse_policy(text, Path::new("test.yaml")).unwrap();
    if proxy {
        file.network.get_or_insert_with(Network::default).mode = Some(NetworkMode::Proxy);
    }
    file
}

pub(super) fn plan_of(
    global: &PolicyFile,
    project: Option<&PolicyFile>,
    flags: Option<&PolicyFile>,
) -> (NetworkPlan, Vec<Relaxation>) {
    let mut ordered = vec![(Layer::Global, GLOBAL.to_owned(), global)];
    if let Some(project) = project {
        ordered.push((Layer::Project, PROJECT.to_owned(), project));
    }
    if let Some(flags) = flags {
        ordered.push((Layer::Flags, "command line".to_owned(), flags));
    }
    for (layer, origin, file) in &ordered {
        layers::check_layer_rules(*layer, origin, file).unwrap();
    }
    let mut relaxations = Vec::new();
    let plan = resolve_network(&ordered, &mut relaxations).unwrap();
    (plan, relaxations)
}

pub(super) fn standard() -> NetworkPlan {
    let global = layer(
        "version: 1\nnetwork:\n  allow: [crates.io, \"*.crates.io\", github.com, \"github.com:22\", \"*.corp.example\", \"10.20.0.0/16\", \"192.0.2.7:8443\", \"[2001:db8::/32]:443\"]\n  deny: [\"secret.corp.example\", \"*.internal.corp.example\", \"10.20.99.0/24\"]\n  local_ports: [5432]\n",
        true,
    );
    plan_of(&global, None, None).0
}

pub(super) fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn names_follow_the_most_specific_entry() {
    let plan = standard();
    let cases: &[(&str, Option<u16>, bool, &str)] = &[
        ("crates.io", Some(443), true, "allow crates.io"),
        ("crates.io", Some(80), true, "allow crates.io"),
        ("crates.io", Some(22), false, "no allow entry"),
        ("static.crates.io", Some(443), true, "allow *.crates.io"),
        ("a.b.crates.io", Some(443), true, "allow *.crates.io"),
        ("github.com", Some(22), true, "allow github.com:22"),
        ("github.com", Some(443), true, "allow github.com"),
        ("api.github.com", Some(443), false, "no allow entry"),
        ("git.corp.example", Some(443), true, "allow *.corp.example"),
        (
            "secret.corp.example",
            Some(443),
            false,
            "deny secret.corp.example",
        ),
        (
            "x.internal.corp.example",
            Some(443),
            false,
            "deny *.internal.corp.example",
        ),
        (
            "internal.corp.example",
            Some(443),
            true,
            "allow *.corp.example",
        ),
        ("example.org", Some(443), false, "no allow entry"),
        // Suffix confusions.
        ("evil-crates.io", Some(443), false, "no allow entry"),
        ("notcrates.io", Some(443), false, "no allow entry"),
        ("crates.io.evil.com", Some(443), false, "no allow entry"),
        ("corp.example", Some(443), false, "no allow entry"),
        // The DNS stub's question: on some port.
        ("github.com", None, true, "allow github.com"),
        ("static.crates.io", None, true, "allow *.crates.io"),
        (
            "secret.corp.example",
            None,
            false,
            "deny secret.corp.example",
        ),
        ("example.org", None, false, "no allow entry"),
        // Not canonical: the engine must hand over canonical names; anything else fails closed.
        ("GitHub.com", Some(443), false, "malformed"),
        ("github.com.", Some(443), false, "malformed"),
        ("evil\0.github.com", Some(443), false, "malformed"),
        ("", Some(443), false, "malformed"),
        ("127.1", Some(443), false, "numeric host name"),
        ("2130706433", Some(443), false, "numeric host name"),
        ("0x7f.1", Some(443), false, "numeric host name"),
    ];
    for (name, port, allowed, rule) in cases {
        let decision = plan.decide(Destination::Name(name), *port);
        assert_eq!(decision.allowed, *allowed, "{name:?}:{port:?} {decision:?}");
        assert!(
            decision.rule.contains(rule),
            "{name:?}:{port:?} {decision:?}"
        );
        if !decision.allowed && decision.rule.contains("no allow entry") {
            assert!(
                decision
                    .hint
                    .as_deref()
                    .unwrap_or("")
                    .contains("--allow-domain")
            );
        }
    }
}

#[test]
fn decisions_name_the_rule_and_its_place() {
    let plan = standard();
    let decision = plan.decide(Destination::Name("static.crates.io"), Some(443));
    assert_eq!(decision.rule, "allow *.crates.io (ports 80, 443)");
    assert_eq!(decision.origin, format!("global ({GLOBAL}:3:22)"));
    let decision = plan.decide(Destination::Name("crates.io"), Some(22));
    assert_eq!(
        decision.hint.as_deref(),
        Some(
            "add `crates.io:22` to `network.allow` in the global policy, or pass --allow-domain crates.io:22"
        )
    );
}

#[test]
fn the_built_in_deny_list_beats_every_allow() {
    let global = layer(
        "version: 1\nnetwork:\n  allow: [\"*\", webhook.site, \"*.ngrok.io\", \"169.254.169.254\", \"0.0.0.0/0\", \"::/0\"]\n",
        true,
    );
    let (plan, _) = plan_of(&global, None, None);
    for name in [
        "webhook.site",
        "x.webhook.site",
        "abc.ngrok.io",
        "metadata.google.internal",
        "metadata",
        "pastebin.com",
        "api.telegram.org",
        "169.254.169.254.nip.io",
    ] {
        let decision = plan.decide(Destination::Name(name), Some(443));
        assert!(!decision.allowed, "{name}");
        assert!(
            decision.rule.starts_with("built-in deny-list: "),
            "{name} {decision:?}"
        );
        assert_eq!(decision.origin, "built-in");
        assert!(decision.hint.unwrap().contains("dangerously_unprotect"));
    }
    assert!(
        plan.decide(Destination::Name("example.org"), Some(443))
            .allowed
    );
    assert!(
        plan.decide(Destination::Ip(ip("93.184.216.34")), Some(443))
            .allowed
    );
    for address in [
        "169.254.169.254",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "127.0.0.1",
    ] {
        let decision = plan.decide(Destination::Ip(ip(address)), Some(443));
        assert!(!decision.allowed, "{address} {decision:?}");
    }
}

#[test]
fn every_address_class_is_judged_after_decoding_embedded_ipv4() {
    let plan = standard();
    let cases: &[(&str, u16, bool, &str)] = &[
        ("93.184.216.34", 443, true, "outside the deny-list"),
        (
            "2606:2800:220:1:248:1893:25c8:1946",
            443,
            true,
            "outside the deny-list",
        ),
        ("192.0.2.10", 443, true, "outside the deny-list"),
        // Loopback: only the listed local port.
        ("127.0.0.1", 5432, true, "local_ports"),
        ("127.0.0.1", 6379, false, "loopback 127.0.0.0/8"),
        ("127.255.255.254", 80, false, "loopback"),
        ("::1", 5432, true, "local_ports"),
        ("::1", 22, false, "loopback ::1/128"),
        ("::ffff:127.0.0.1", 6379, false, "loopback"),
        ("::ffff:127.0.0.1", 5432, true, "local_ports"),
        // Unspecified.
        ("0.0.0.0", 443, false, "unspecified"),
        ("0.1.2.3", 443, false, "unspecified"),
        ("::", 443, false, "unspecified"),
        // Link-local and metadata.
        ("169.254.1.1", 443, false, "link-local 169.254.0.0/16"),
        ("169.254.169.254", 80, false, "metadata 169.254.169.254/32"),
        ("169.254.170.2", 80, false, "metadata"),
        ("fe80::1", 443, false, "link-local fe80::/10"),
        ("100.100.100.200", 80, false, "metadata"),
        ("168.63.129.16", 80, false, "metadata"),
        ("192.0.0.192", 80, false, "metadata"),
        ("fd00:ec2::254", 80, false, "metadata fd00:ec2::/32"),
        ("fd00:ec2::23", 80, false, "metadata"),
        ("fd20:ce::254", 80, false, "metadata"),
        ("fd00:c1::a9fe:a9fe", 80, false, "metadata"),
        ("fd00:42::42", 80, false, "metadata"),
        ("fd00:a9fe:a9fe::1", 80, false, "metadata"),
        ("fd00:100::100:200", 80, false, "metadata"),
        // Embedded forms of the metadata address.
        ("::ffff:169.254.169.254", 80, false, "metadata"),
        ("::ffff:a9fe:a9fe", 80, false, "metadata"),
        ("::169.254.169.254", 80, false, "metadata"),
        ("::ffff:0:a9fe:a9fe", 80, false, "metadata"),
        ("64:ff9b::a9fe:a9fe", 80, false, "metadata"),
        ("64:ff9b:1:a9fe:a9:fe00::", 80, false, "metadata"),
        ("2002:a9fe:a9fe::1", 80, false, "metadata"),
        (
            "2001:0:4136:e378:8000:63bf:5601:5601",
            80,
            false,
            "metadata",
        ),
        ("2002:7f00:1::1", 80, false, "loopback"),
        // Multicast, broadcast, reserved.
        ("224.0.0.1", 443, false, "multicast"),
        ("239.255.255.250", 443, false, "multicast"),
        ("ff02::1", 443, false, "multicast"),
        ("255.255.255.255", 443, false, "broadcast"),
        ("240.0.0.1", 443, false, "reserved"),
        // Private: only inside an allowed CIDR, on its ports, unless a narrower deny.
        ("10.20.1.1", 443, true, "allow 10.20.0.0/16"),
        ("10.20.1.1", 22, false, "private 10.0.0.0/8"),
        ("10.20.99.1", 443, false, "deny 10.20.99.0/24"),
        ("10.21.0.1", 443, false, "private 10.0.0.0/8"),
        ("172.16.0.1", 443, false, "private 172.16.0.0/12"),
        ("192.168.1.1", 443, false, "private 192.168.0.0/16"),
        ("100.64.0.1", 443, false, "private 100.64.0.0/10"),
        ("fd12:3456::1", 443, false, "private fc00::/7"),
        ("::ffff:10.20.1.1", 443, true, "allow 10.20.0.0/16"),
        ("::ffff:192.168.1.1", 443, false, "private"),
    ];
    for (address, port, allowed, rule) in cases {
        let decision = plan.decide_address(ip(address), *port);
        assert_eq!(decision.allowed, *allowed, "{address}:{port} {decision:?}");
        assert!(
            decision.rule.contains(rule),
            "{address}:{port} {decision:?}"
        );
        if !decision.allowed && decision.origin == "built-in" {
            assert!(decision.hint.is_some(), "{address}:{port} {decision:?}");
        }
    }
}

#[test]
fn ip_literals_need_an_address_entry() {
    let plan = standard();
    let cases: &[(Destination<'_>, Option<u16>, bool, &str)] = &[
        (
            Destination::Ip(ip("192.0.2.7")),
            Some(8443),
            true,
            "allow 192.0.2.7/32:8443",
        ),
        (
            Destination::Ip(ip("192.0.2.7")),
            Some(443),
            false,
            "IP literal not on the allow-list",
        ),
        (
            Destination::Ip(ip("192.0.2.8")),
            Some(8443),
            false,
            "IP literal",
        ),
        (
            Destination::Ip(ip("2001:db8::5")),
            Some(443),
            true,
            "allow 2001:db8::/32:443",
        ),
        (
            Destination::Ip(ip("2001:db8::5")),
            Some(80),
            false,
            "IP literal",
        ),
        (
            Destination::Ip(ip("10.20.3.4")),
            Some(443),
            true,
            "allow 10.20.0.0/16",
        ),
        (
            Destination::Ip(ip("127.0.0.1")),
            Some(5432),
            true,
            "local_ports",
        ),
        (
            Destination::Ip(ip("127.0.0.1")),
            Some(443),
            false,
            "loopback",
        ),
        (
            Destination::Ip(ip("169.254.169.254")),
            Some(80),
            false,
            "metadata",
        ),
        // A name that is an address is judged as the address.
        (
            Destination::Name("192.0.2.7"),
            Some(8443),
            true,
            "allow 192.0.2.7/32:8443",
        ),
        (
            Destination::Name("::ffff:169.254.169.254"),
            Some(80),
            false,
            "metadata",
        ),
    ];
    for (destination, port, allowed, rule) in cases {
        let decision = plan.decide(*destination, *port);
        assert_eq!(
            decision.allowed, *allowed,
            "{destination:?}:{port:?} {decision:?}"
        );
        assert!(
            decision.rule.contains(rule),
            "{destination:?}:{port:?} {decision:?}"
        );
    }
    let hint = plan
        .decide(Destination::Ip(ip("2001:db8::5")), Some(8080))
        .hint
        .unwrap();
    assert!(hint.contains("--allow-domain [2001:db8::5]:8080"), "{hint}");
}

#[test]
fn localhost_and_this_hosts_addresses_are_loopback() {
    let plan = standard();
    assert!(
        plan.decide(Destination::Name("localhost"), Some(5432))
            .allowed
    );
    assert!(
        !plan
            .decide(Destination::Name("localhost"), Some(6379))
            .allowed
    );
    assert!(
        !plan
            .decide(Destination::Name("db.localhost"), Some(6379))
            .allowed
    );
    assert!(plan.decide(Destination::Name("localhost"), None).allowed);
    let own = [ip("198.51.100.20")];
    let decision = plan.decide_address_on_host(ip("198.51.100.20"), 22, &own);
    assert!(!decision.allowed);
    assert!(
        decision.rule.contains("this host's own address"),
        "{decision:?}"
    );
    assert!(
        plan.decide_address_on_host(ip("198.51.100.20"), 5432, &own)
            .allowed
    );
    assert!(
        plan.decide_address_on_host(ip("198.51.100.21"), 22, &own)
            .allowed
    );
    assert!(
        !plan
            .decide_address_on_host(ip("::ffff:198.51.100.20"), 22, &own)
            .allowed
    );
    // The host's address inside an allowed private range: still only on local ports.
    let own = [ip("10.20.0.5")];
    let decision = plan.decide_address_on_host(ip("10.20.0.5"), 443, &own);
    assert!(!decision.allowed, "{decision:?}");
    assert!(
        decision.rule.contains("this host's own address"),
        "{decision:?}"
    );
    assert!(
        plan.decide_address_on_host(ip("10.20.0.6"), 443, &own)
            .allowed
    );
    // Link-local host addresses are denied as link-local, even on a local port.
    let own = [ip("fe80::1")];
    assert!(
        !plan
            .decide_address_on_host(ip("fe80::1"), 5432, &own)
            .allowed
    );
}

#[test]
fn modes_none_and_host_decide_everything() {
    let none = NetworkPlan::default();
    let decision = none.decide(Destination::Name("crates.io"), Some(443));
    assert!(!decision.allowed);
    assert_eq!(decision.rule, "network mode none");
    assert!(decision.hint.unwrap().contains("--network proxy"));
    assert!(!none.decide_address(ip("93.184.216.34"), 443).allowed);
    assert!(none.ports().is_empty());
    let host = layer("version: 1\nnetwork: {mode: host}\n", false);
    let (plan, _) = plan_of(&host, None, None);
    assert!(
        plan.decide(Destination::Name("anything.example"), Some(1))
            .allowed
    );
    assert!(plan.decide_address(ip("169.254.169.254"), 80).allowed);
    assert!(plan.ports().is_empty());
}

#[test]
fn ports_to_capture() {
    let plan = standard();
    let ports: Vec<u16> = plan.ports().into_iter().collect();
    assert_eq!(ports, [22, 80, 443, 5432, 8443]);
}
