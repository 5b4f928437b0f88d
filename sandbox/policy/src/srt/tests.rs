//! Unit tests of the srt settings import: what is honoured, refused and noted.

use super::*;

#[test]
fn accepted_settings_that_do_nothing_are_noted() {
    let notes = srt_settings_notes(
        r#"{"network": {"allowedDomains": [], "deniedDomains": ["x.com"], "httpProxyPort": 8080},
            "filesystem": {"denyRead": []}, "ripgrep": {"command": "rg"}, "allowPty": true}"#,
        Path::new("s.json"),
    )
    .unwrap();
    for key in [
        "network.deniedDomains",
        "network.httpProxyPort",
        "ripgrep",
        "allowPty",
    ] {
        assert!(
            notes.iter().any(|n| n.starts_with(&format!("`{key}`"))),
            "{key}: {notes:?}"
        );
    }
    assert_eq!(notes.len(), 4, "{notes:?}");
}

#[test]
fn srt_settings_map_to_a_layer() {
    let policy = parse_srt_settings(
        r#"{"network": {"allowedDomains": [], "deniedDomains": []},
            "filesystem": {"denyRead": ["~/.ssh"], "allowWrite": ["."], "denyWrite": ["secret"]},
            "ripgrep": {"command": "rg"}}"#,
        Path::new("s.json"),
    )
    .unwrap();
    assert_eq!(policy.filesystem.deny_read, ["~/.ssh"]);
    assert_eq!(policy.filesystem.allow_write, ["."]);
    assert_eq!(policy.network.unwrap().mode, Some(NetworkMode::None));
    assert_eq!(policy.sockets, None);
}

#[test]
fn only_all_unix_sockets_opens_them() {
    let listed = parse_srt_settings(
        r#"{"network": {"allowedDomains": [], "allowUnixSockets": ["/var/run/docker.sock"]}}"#,
        Path::new("s.json"),
    )
    .unwrap_err();
    assert!(
        listed.to_string().contains("allowAllUnixSockets"),
        "{listed}"
    );
    let local = parse_srt_settings(
        r#"{"network": {"allowedDomains": [], "allowLocalBinding": true}}"#,
        Path::new("s.json"),
    )
    .unwrap_err();
    assert!(local.to_string().contains("TCP bind"), "{local}");
    let all = parse_srt_settings(
        r#"{"network": {"allowedDomains": [], "allowAllUnixSockets": true}}"#,
        Path::new("s.json"),
    )
    .unwrap();
    assert_eq!(all.sockets, Some(Sockets::unplaced(true)));
}

#[test]
fn widening_or_unknown_settings_are_refused_with_a_place() {
    let error = parse_srt_settings(
        "{\"filesystem\": {\n  \"denyRaed\": []}}",
        Path::new("s.json"),
    )
    .unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("s.json:2:"), "{text}");
    assert!(text.contains("did you mean `denyRead`"), "{text}");
    assert!(
        !text.contains("at line"),
        "the place is given twice: {text}"
    );
    for refused in [
        r#"{"credentials": {"files": []}}"#,
        r#"{"enableWeakerNestedSandbox": true}"#,
        r#"{"sandboxEverything": true}"#,
    ] {
        assert!(
            parse_srt_settings(refused, Path::new("s.json")).is_err(),
            "{refused}"
        );
    }
    let error = parse_srt_settings(
        r#"{"filesystem": {"allowGitConfig": true}}"#,
        Path::new("s.json"),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("dangerously_unprotect"),
        "{error}"
    );
}

#[test]
fn domain_lists_map_onto_the_network_policy() {
    let policy = map_srt_settings(
        r#"{"network": {
            "allowedDomains": ["github.com", "*.npmjs.org", "github.com:22", "192.0.2.7", "[2001:db8::1]:8443"],
            "deniedDomains": ["evil.npmjs.org", "gist.github.com:443", "2001:db8::66"]}}"#,
        Path::new("s.json"),
    )
    .unwrap()
    .0;
    let network = policy.network.unwrap();
    assert_eq!(network.mode, Some(NetworkMode::Proxy));
    let texts = |list: &[NetworkEntry]| -> Vec<String> {
        list.iter().map(|entry| entry.text.clone()).collect()
    };
    assert_eq!(
        texts(&network.allow),
        [
            "github.com",
            "*.npmjs.org",
            "github.com:22",
            "192.0.2.7",
            "[2001:db8::1]:8443"
        ]
    );
    // srt denies on every port: so does the mapping, on every port an allowed entry names.
    assert_eq!(
        texts(&network.deny),
        [
            "evil.npmjs.org",
            "evil.npmjs.org:22",
            "evil.npmjs.org:8443",
            "gist.github.com:443",
            "2001:db8::66",
            "[2001:db8::66]:22",
            "[2001:db8::66]:8443",
        ]
    );
    assert!(network.allow.iter().all(|entry| entry.line == 0));
    // Through the layers: the --policy layer is trusted, so the address entries apply.
    let layer = policy_with(network);
    let ordered = [(crate::Layer::PolicyFile, "s.json".to_owned(), &layer)];
    let plan = crate::network::resolve_network(&ordered, &mut Vec::new()).unwrap();
    let decide = |name: &str, port: u16| {
        plan.decide(crate::Destination::Name(name), Some(port))
            .allowed
    };
    assert!(decide("github.com", 443));
    assert!(decide("github.com", 22));
    assert!(
        !decide("github.com", 8080),
        "srt's port-less entry is narrower here"
    );
    assert!(decide("registry.npmjs.org", 443));
    assert!(!decide("evil.npmjs.org", 443));
    assert!(!decide("evil.npmjs.org", 22));
    assert!(!decide("gist.github.com", 443));
    let ip = |text: &str| crate::Destination::Ip(text.parse().unwrap());
    assert!(plan.decide(ip("192.0.2.7"), Some(443)).allowed);
    assert!(plan.decide(ip("2001:db8::1"), Some(8443)).allowed);
}

fn policy_with(network: Network) -> PolicyFile {
    PolicyFile {
        version: SCHEMA_VERSION,
        network: Some(network),
        ..PolicyFile::default()
    }
}

#[test]
fn bad_domains_are_refused_and_the_proxy_gate_holds() {
    let error = map_srt_settings(
        r#"{"network": {"allowedDomains": ["github.com:0"]}}"#,
        Path::new("s.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("s.json: `network.allowedDomains`: `github.com:0`: port 0"),
        "{error}"
    );
    let error = map_srt_settings(
        r#"{"network": {"allowedDomains": ["a.com"], "deniedDomains": ["evil\u0000.a.com"]}}"#,
        Path::new("s.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("`network.deniedDomains`"), "{error}");
    let result = parse_srt_settings(
        r#"{"network": {"allowedDomains": ["github.com"], "deniedDomains": []}}"#,
        Path::new("s.json"),
    );
    if crate::network::PROXY_MODE_ENFORCED {
        result.unwrap();
    } else {
        let error = result.unwrap_err().to_string();
        assert!(error.contains("not implemented yet"), "{error}");
    }
}

#[test]
fn network_notes_follow_the_mode() {
    let settings = r#"{"network": {"allowedDomains": ["github.com"], "deniedDomains": ["gist.github.com"],
        "deniedDomainReasons": {"gist.github.com": "paste"}, "strictAllowlist": true,
        "httpProxyPort": 8080, "tlsTerminate": {}, "parentProxy": {}}}"#;
    let (policy, notes) = map_srt_settings(settings, Path::new("s.json")).unwrap();
    assert_eq!(policy.network.unwrap().mode, Some(NetworkMode::Proxy));
    assert!(
        !notes
            .iter()
            .any(|n| n.starts_with("`network.deniedDomains`")),
        "honoured, so not noted: {notes:?}"
    );
    assert!(
        !notes.iter().any(|n| n.contains("no network")),
        "there is network: {notes:?}"
    );
    for key in [
        "network.deniedDomainReasons",
        "network.strictAllowlist",
        "network.httpProxyPort",
        "network.tlsTerminate",
        "network.parentProxy",
    ] {
        assert!(
            notes.iter().any(|n| n.starts_with(&format!("`{key}`"))),
            "{key}: {notes:?}"
        );
    }
    assert_eq!(notes.len(), 5, "{notes:?}");
    let error = map_srt_settings(
        r#"{"network": {"allowedDomains": ["github.com"], "mitmProxy": {"socketPath": "/s", "domains": ["github.com"]}}}"#,
        Path::new("s.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("another proxy"), "{error}");
    let (_, notes) = map_srt_settings(
        r#"{"network": {"allowedDomains": [], "mitmProxy": {}}}"#,
        Path::new("s.json"),
    )
    .unwrap();
    assert!(notes[0].contains("no network at all"), "{notes:?}");
}

#[test]
fn an_allowed_entry_inside_a_denied_one_is_refused() {
    // The premise: as a cordon layer, the more specific allow wins.
    let layer = policy_with(Network {
        mode: Some(NetworkMode::Proxy),
        allow: vec![NetworkEntry::unplaced("api.example.com".to_owned())],
        deny: vec![NetworkEntry::unplaced("*.example.com".to_owned())],
        ..Network::default()
    });
    let ordered = [(crate::Layer::PolicyFile, "s.json".to_owned(), &layer)];
    let plan = crate::network::resolve_network(&ordered, &mut Vec::new()).unwrap();
    assert!(
        plan.decide(crate::Destination::Name("api.example.com"), Some(443))
            .allowed
    );
    // srt denies first; cordon's most specific entry would allow these.
    for (allowed, denied) in [
        ("api.example.com", "*.example.com"),
        ("*.a.example.com", "*.example.com"),
        ("api.example.com:8443", "*.example.com"),
        ("api.example.com", "*.example.com:443"),
        ("github.com", "*"),
        ("10.1.2.3", "10.0.0.0/8"),
        ("[2001:db8::1]:22", "2001:db8::/32"),
    ] {
        let settings = format!(
            r#"{{"network": {{"allowedDomains": ["{allowed}"], "deniedDomains": ["{denied}"]}}}}"#
        );
        let error = map_srt_settings(&settings, Path::new("s.json"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("`{allowed}` lies inside")),
            "{allowed} / {denied}: {error}"
        );
    }
    // Where cordon denies too (a tie, a more specific deny, other ports), no error.
    for (allowed, denied) in [
        ("api.example.com", "api.example.com"),
        ("api.example.com:22", "api.example.com"),
        ("*.example.com", "evil.example.com"),
        ("api.example.com", "*.example.com:22"),
        ("api.example.com:443", "*.example.com:22"),
        ("example.com", "*.example.com"),
        ("10.1.2.3", "10.1.2.3"),
    ] {
        let settings = format!(
            r#"{{"network": {{"allowedDomains": ["{allowed}"], "deniedDomains": ["{denied}"]}}}}"#
        );
        map_srt_settings(&settings, Path::new("s.json"))
            .unwrap_or_else(|error| panic!("{allowed} / {denied}: {error}"));
    }
}
