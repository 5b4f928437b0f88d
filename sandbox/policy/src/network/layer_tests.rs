//! Layering tests: where each key may appear, errors with file:line:column, the
//! project's allow entries against `project_may_allow`, modes, and the global escape
//! hatch for the deny-list.

use std::path::Path;

use super::tests::{GLOBAL, PROJECT, ip, layer, plan_of, standard};
use super::*;
use crate::plan::Layer;
use crate::schema::{NetworkMode, PolicyFile, parse_policy};

fn error_of(text: &str) -> String {
    parse_policy(text, Path::new("/p/.cordon/policy.yaml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_entries_name_file_line_column_and_a_hint() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "version: 1\nnetwork:\n  allow: [crates.io, \"github.com:99999\"]\n",
            "/p/.cordon/policy.yaml:3:22: network.allow: `github.com:99999`: port 99999 is out of range (1-65535)",
            "hint: a port is a number from 1 to 65535",
        ),
        (
            "version: 1\nnetwork:\n  deny:\n    - \"a.*.example\"\n",
            "/p/.cordon/policy.yaml:4:7: network.deny:",
            "hint: write `*.example.com`",
        ),
        (
            "version: 1\nnetwork:\n  allow: [bücher.de]\n",
            "/p/.cordon/policy.yaml:3:11: network.allow: `bücher.de`: only ASCII",
            "xn--",
        ),
        (
            "version: 1\nnetwork:\n  allow: [\"10.0.0.1/8\"]\n",
            ":3:11: network.allow: `10.0.0.1/8`",
            "did you mean `10.0.0.0/8`?",
        ),
        (
            "version: 1\nnetwork:\n  local_ports: [0]\n",
            ":3:17: network.local_ports: port 0",
            "hint: name the host loopback port",
        ),
        (
            "version: 1\nnetwork:\n  local_ports: [70000]\n",
            ":3:",
            "hint:",
        ),
        (
            "version: 1\nnetwork:\n  alow: [crates.io]\n",
            ":3:3:",
            "did you mean `allow`",
        ),
        ("version: 1\nnetwork:\n  mode: internet\n", ":3:", "proxy"),
        (
            "version: 1\nnetwork:\n  project_may_allow: [\"10.0.0.0/8\"]\n",
            ":3:23: network.project_may_allow: `10.0.0.0/8` is an address",
            "hint: allow addresses directly",
        ),
    ];
    for (text, start, hint) in cases {
        let error = error_of(text);
        assert!(error.contains(start), "{text}\n{error}");
        assert!(error.contains(hint), "{text}\n{error}");
    }
}

fn check(layer: Layer, text: &str) -> Result<(), String> {
    let file = layer_file(text);
    let origin = if layer == Layer::Project {
        PROJECT
    } else {
        GLOBAL
    };
    layers::check_layer_rules(layer, origin, &file).map_err(|e| e.to_string())
}

fn layer_file(text: &str) -> PolicyFile {
    parse_policy(text, Path::new("test.yaml")).unwrap()
}

#[test]
fn what_only_trusted_layers_or_the_global_file_may_say() {
    let addresses = "version: 1\nnetwork:\n  allow: [crates.io, \"192.0.2.7\"]\n";
    let error = check(Layer::Project, addresses).unwrap_err();
    assert!(
        error.starts_with(&format!(
            "{PROJECT}:3:22: network.allow: `192.0.2.7` is an IP address or CIDR range"
        )),
        "{error}"
    );
    assert!(error.contains("hint: name hosts"), "{error}");
    check(Layer::Global, addresses).unwrap();
    check(Layer::PolicyFile, addresses).unwrap();
    check(Layer::Flags, addresses).unwrap();
    let error = check(
        Layer::Project,
        "version: 1\nnetwork:\n  deny: [\"[2001:db8::/32]:443\"]\n",
    )
    .unwrap_err();
    assert!(error.contains(":3:10: network.deny:"), "{error}");
    let error = check(
        Layer::Project,
        "version: 1\nnetwork:\n  local_ports: [5432]\n",
    )
    .unwrap_err();
    assert!(
        error.contains(":3:17: `network.local_ports` is not allowed in a project's policy"),
        "{error}"
    );
    check(
        Layer::PolicyFile,
        "version: 1\nnetwork:\n  local_ports: [5432]\n",
    )
    .unwrap();
    for key in ["project_may_allow", "dangerously_unprotect"] {
        let text = format!("version: 1\nnetwork:\n  {key}: [webhook.site]\n");
        check(Layer::Global, &text).unwrap();
        for layer in [Layer::Project, Layer::PolicyFile, Layer::Flags] {
            let error = check(layer, &text).unwrap_err();
            assert!(
                error.contains(&format!(
                    "`network.{key}` is only allowed in the global policy file"
                )),
                "{error}"
            );
        }
    }
    // Entries built from flags have no place: the error names the layer instead.
    let mut flags = PolicyFile {
        version: 1,
        ..PolicyFile::default()
    };
    flags.network = Some(Network {
        allow: vec![NetworkEntry::unplaced("github.com:0")],
        ..Network::default()
    });
    let error = layers::check_layer_rules(Layer::Flags, "command line", &flags)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("command line: network.allow: `github.com:0`"),
        "{error}"
    );
}

#[test]
fn the_project_allows_only_inside_project_may_allow() {
    let global = layer(
        "version: 1\nnetwork:\n  allow: [github.com]\n  project_may_allow: [\"*.npmjs.org\", \"pypi.org\", \"files.example:8080\"]\n",
        false,
    );
    let project = layer(
        "version: 1\nnetwork:\n  allow: [registry.npmjs.org, pypi.org, \"pypi.org:22\", evil.example, \"*.npmjs.org\", npmjs.org, github.com, \"files.example:8080\"]\n  deny: [\"github.com\"]\n",
        true,
    );
    let (plan, relaxations) = plan_of(&global, Some(&project), None);
    assert_eq!(plan.mode, NetworkMode::Proxy);
    assert_eq!(plan.mode_from.layer, Layer::Project);
    let verdicts: Vec<(String, bool)> = relaxations
        .iter()
        .map(|r| (r.what.clone(), r.granted))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("network proxy".to_owned(), true),
            (
                "network allow registry.npmjs.org (ports 80, 443)".to_owned(),
                true
            ),
            ("network allow pypi.org (ports 80, 443)".to_owned(), true),
            ("network allow pypi.org:22".to_owned(), false),
            (
                "network allow evil.example (ports 80, 443)".to_owned(),
                false
            ),
            ("network allow *.npmjs.org (ports 80, 443)".to_owned(), true),
            ("network allow npmjs.org (ports 80, 443)".to_owned(), false),
            ("network allow files.example:8080".to_owned(), true),
        ]
    );
    let refused = relaxations.iter().find(|r| !r.granted).unwrap();
    assert_eq!(refused.by.layer, Layer::Project);
    assert_eq!(refused.by.origin, format!("{PROJECT}:3:41"));
    assert!(
        refused.reason.contains("project_may_allow"),
        "{}",
        refused.reason
    );
    let granted = &relaxations[1];
    assert!(
        granted.reason.contains(&format!("{GLOBAL}:4:23")),
        "{}",
        granted.reason
    );
    let allowed = |name: &str, port: u16| plan.decide(Destination::Name(name), Some(port)).allowed;
    assert!(allowed("registry.npmjs.org", 443));
    assert!(allowed("pypi.org", 443));
    assert!(!allowed("pypi.org", 22));
    assert!(!allowed("evil.example", 443));
    assert!(!allowed("npmjs.org", 443));
    assert!(allowed("files.example", 8080));
    // The project's deny applies, and at the same specificity deny wins over the
    // global allow (the project's own duplicate allow is not a relaxation).
    let decision = plan.decide(Destination::Name("github.com"), Some(443));
    assert!(!decision.allowed);
    assert_eq!(decision.origin, format!("project ({PROJECT}:4:10)"));
}

#[test]
fn without_project_may_allow_every_project_allow_is_refused_and_host_mode_too() {
    let global = layer("version: 1\n", false);
    let project = layer(
        "version: 1\nnetwork:\n  mode: host\n  allow: [crates.io]\n",
        false,
    );
    let (plan, relaxations) = plan_of(&global, Some(&project), None);
    assert_eq!(plan.mode, NetworkMode::None);
    assert_eq!(relaxations.len(), 2);
    assert!(relaxations.iter().all(|r| !r.granted));
    assert_eq!(relaxations[0].what, "network host");
    // Flags are trusted: their allow entries and mode apply.
    let flags = layer(
        "version: 1\nnetwork:\n  allow: [crates.io, \"192.0.2.9:8080\"]\n  local_ports: [3000]\n",
        true,
    );
    let (plan, relaxations) = plan_of(&global, Some(&project), Some(&flags));
    assert_eq!(plan.mode, NetworkMode::Proxy);
    assert_eq!(plan.mode_from.layer, Layer::Flags);
    assert_eq!(relaxations.len(), 2, "{relaxations:?}");
    assert!(
        plan.decide(Destination::Name("crates.io"), Some(443))
            .allowed
    );
    assert!(
        plan.decide(Destination::Ip(ip("192.0.2.9")), Some(8080))
            .allowed
    );
    assert!(plan.decide_address(ip("127.0.0.1"), 3000).allowed);
    assert_eq!(plan.local_ports, [3000]);
}

#[test]
fn a_project_can_tighten_the_mode() {
    let global = layer("version: 1\nnetwork: {allow: [crates.io]}\n", true);
    let project = layer("version: 1\nnetwork: {mode: none}\n", false);
    let (plan, relaxations) = plan_of(&global, Some(&project), None);
    assert_eq!(plan.mode, NetworkMode::None);
    assert!(relaxations.is_empty());
}

#[test]
fn only_the_global_dangerously_unprotect_lifts_deny_list_entries() {
    let global = layer(
        "version: 1\nnetwork:\n  allow: [pastebin.com, \"10.0.0.0/8\"]\n  dangerously_unprotect: [pastebin.com, \"169.254.169.254\", \"fd00:ec2::/32\", not-listed.example]\n",
        true,
    );
    let (plan, relaxations) = plan_of(&global, None, None);
    assert!(plan.unprotected);
    assert_eq!(
        plan.lifted,
        ["pastebin.com", "169.254.169.254/32", "fd00:ec2::/32"]
    );
    let granted: Vec<bool> = relaxations.iter().map(|r| r.granted).collect();
    assert_eq!(granted, [true, true, true, false]);
    assert!(
        relaxations[3].reason.contains("names no entry"),
        "{relaxations:?}"
    );
    assert!(
        plan.decide(Destination::Name("pastebin.com"), Some(443))
            .allowed
    );
    assert!(
        !plan
            .decide(Destination::Name("hastebin.com"), Some(443))
            .allowed
    );
    // The metadata address is lifted, but it is still link-local.
    let decision = plan.decide_address(ip("169.254.169.254"), 80);
    assert!(!decision.allowed);
    assert!(decision.rule.contains("link-local"), "{decision:?}");
    // fd00:ec2:: lifted: what is left is the private class, which 10/8 does not cover.
    let decision = plan.decide_address(ip("fd00:ec2::254"), 80);
    assert!(decision.rule.contains("private fc00::/7"), "{decision:?}");
    assert!(plan.to_string().contains("DANGER"));
}

#[test]
fn the_plan_prints_every_rule_with_its_layer() {
    let text = standard().to_string();
    for line in [
        "network: proxy (allow-listed through cordon's egress proxy)",
        &format!("allow *.crates.io (ports 80, 443)  <- global ({GLOBAL}:3:22)"),
        "allow github.com:22  <- global",
        "deny secret.corp.example (ports 80, 443)  <- global",
        "allow 10.20.0.0/16 (ports 80, 443)  <- global",
        "allow 2001:db8::/32:443  <- global",
        "deny 10.20.99.0/24 (ports 80, 443)  <- global",
        "host loopback ports reachable: 5432",
        "ports captured transparently: 22 80 443 5432 8443",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let list = built_in().to_string();
    assert!(list.contains("webhook.site"), "{list}");
    assert!(list.contains("fd00:ec2::/32"), "{list}");
    assert!(list.contains("DataDog/guarddog"), "{list}");
}

#[test]
fn the_command_line_layer() {
    assert_eq!(flags_layer(None, &[]), None);
    let network = flags_layer(
        Some("proxy".parse().unwrap()),
        &["crates.io".to_owned(), "github.com:22".to_owned()],
    )
    .unwrap();
    assert_eq!(network.mode, Some(NetworkMode::Proxy));
    assert_eq!(network.allow[1], NetworkEntry::unplaced("github.com:22"));
    assert!(
        "internet"
            .parse::<NetworkMode>()
            .unwrap_err()
            .contains("none, proxy or host")
    );
    let flags = PolicyFile {
        version: 1,
        network: flags_layer(None, &["crates.io".to_owned()]),
        ..PolicyFile::default()
    };
    let global = layer("version: 1\n", false);
    let (plan, _) = plan_of(&global, None, Some(&flags));
    assert_eq!(plan.mode, NetworkMode::None);
    let text = plan.to_string();
    assert!(text.contains("take effect in mode `proxy` only"), "{text}");
    assert!(
        text.contains("allow crates.io (ports 80, 443)  <- flags (command line)"),
        "{text}"
    );
}

#[test]
fn a_deny_decision_says_where_the_entry_is() {
    let plan = standard();
    let exact = plan.decide(Destination::Name("secret.corp.example"), Some(443));
    assert_eq!(
        exact.hint.unwrap(),
        format!("remove the deny entry at {GLOBAL}:4:10")
    );
    let wildcard = plan.decide(Destination::Name("a.internal.corp.example"), Some(443));
    assert!(
        wildcard
            .hint
            .unwrap()
            .contains("or allow `a.internal.corp.example` in a trusted layer"),
    );
}

#[test]
fn resolve_puts_the_network_plan_and_its_refusals_in_the_plan() {
    use std::path::PathBuf;

    use crate::{Context, FakeFs, Layers, resolve};

    let layers = Layers {
        global: Some((
            PathBuf::from(GLOBAL),
            layer_file(
                "version: 1\nnetwork:\n  allow: [crates.io, \"10.0.0.0/8\"]\n  project_may_allow: [\"*.npmjs.org\"]\n",
            ),
        )),
        project: Some((
            PathBuf::from(PROJECT),
            layer_file("version: 1\nnetwork:\n  allow: [registry.npmjs.org, evil.example]\n"),
        )),
        ..Layers::default()
    };
    let context = Context {
        project: PathBuf::from("/p"),
        cwd: PathBuf::from("/p"),
        env: vec![("HOME".into(), "/home/u".into())],
        global_policy: Some(PathBuf::from(GLOBAL)),
    };
    let plan = resolve(&layers, &context, &FakeFs::default().dir("/p")).unwrap();
    assert_eq!(plan.network.mode, NetworkMode::None);
    assert!(plan.landlock.deny_tcp);
    let rules: Vec<String> = plan.network.rules.iter().map(ToString::to_string).collect();
    assert_eq!(
        rules,
        [
            "allow crates.io (ports 80, 443)",
            "allow registry.npmjs.org (ports 80, 443)"
        ]
    );
    let refused: Vec<&str> = plan
        .relaxations
        .iter()
        .filter(|r| !r.granted)
        .map(|r| r.what.as_str())
        .collect();
    assert_eq!(refused, ["network allow evil.example (ports 80, 443)"]);
    let text = plan.to_string();
    assert!(
        text.contains(&format!(
            "REFUSED network allow evil.example (ports 80, 443)  <- project ({PROJECT}:3:31)"
        )),
        "{text}"
    );
    let json = plan.to_json();
    assert!(json.contains("\"kind\": \"exact\""), "{json}");
    assert!(json.contains("\"net\": \"10.0.0.0/8\""), "{json}");
    // A project file naming a range is refused by resolve with its place.
    let layers = Layers {
        project: Some((
            PathBuf::from(PROJECT),
            layer_file("version: 1\nnetwork:\n  deny: [\"192.0.2.0/24\"]\n"),
        )),
        ..Layers::default()
    };
    let error = resolve(&layers, &context, &FakeFs::default().dir("/p"))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!("{PROJECT}:3:10: network.deny:")),
        "{error}"
    );
}

#[test]
fn allow_entries_that_cannot_take_effect() {
    let error = error_of("version: 1\nnetwork:\n  allow: [\"localhost:5432\"]\n");
    assert!(
        error.contains(":3:11: network.allow: `localhost:5432` names the host's loopback"),
        "{error}"
    );
    assert!(error.contains("local_ports"), "{error}");
    let error = error_of("version: 1\nnetwork:\n  project_may_allow: [\"*.localhost\"]\n");
    assert!(error.contains("names the host's loopback"), "{error}");
    check(
        Layer::Project,
        "version: 1\nnetwork:\n  deny: [localhost]\n",
    )
    .unwrap();
    let global = layer(
        "version: 1\nnetwork:\n  allow: [webhook.site, \"*.ngrok.io\", pastebin.com, crates.io]\n  dangerously_unprotect: [pastebin.com]\n",
        true,
    );
    let text = plan_of(&global, None, None).0.to_string();
    for (entry, shadowed) in [
        ("allow webhook.site", true),
        ("allow *.ngrok.io", true),
        ("allow pastebin.com", false),
        ("allow crates.io", false),
    ] {
        let line = text.lines().find(|line| line.contains(entry)).unwrap();
        assert_eq!(
            line.contains("[no effect: on the built-in deny-list]"),
            shadowed,
            "{line}"
        );
    }
}

#[test]
fn the_dns_answer_agrees_with_the_ports_a_name_is_reachable_on() {
    let plan = standard();
    let names = [
        "crates.io",
        "static.crates.io",
        "github.com",
        "api.github.com",
        "git.corp.example",
        "secret.corp.example",
        "x.internal.corp.example",
        "example.org",
        "localhost",
        "webhook.site",
        "evil-crates.io",
    ];
    for name in names {
        let any = plan.decide(Destination::Name(name), None).allowed;
        let some = plan
            .ports()
            .into_iter()
            .any(|port| plan.decide(Destination::Name(name), Some(port)).allowed);
        assert_eq!(any, some, "{name}");
    }
}
