//! From the layers' `network:` sections to a [`NetworkPlan`].
//!
//! Every layer's entries become rules with their origin (layer, file:line:column). The
//! project's file is untrusted: addresses, CIDR ranges and `local_ports` are errors
//! there, its `allow` entries apply only inside a pattern of the global file's
//! `network.project_may_allow` (otherwise they are refused relaxations, recorded and
//! warned about), its `deny` entries always apply, and it cannot pick `host`. Only the
//! global file may lift a built-in deny-list entry (`network.dangerously_unprotect`).

use std::path::PathBuf;

use super::denylist::built_in;
use super::entry::{DEFAULT_PORTS, Entry, HostPattern, Target, canonical_name, parse_entry};
use super::plan::{CidrRule, HostRule, NetworkPlan};
use super::schema::{Network, NetworkEntry};
use crate::error::PolicyError;
use crate::plan::{Effect, Layer, Provenance, Relaxation};
use crate::schema::{NetworkMode, PolicyFile};

/// Whether cordon can enforce `network: {mode: proxy}`. THE single switch: while it is
/// false, `cordon policy check`, `cordon policy explain` and `cordon run` all refuse the
/// mode with the same message (the egress proxy lands in `cordon-linux`/`cordon-cli`).
pub const PROXY_MODE_ENFORCED: bool = true;

fn entry_error(origin: &str, entry: &NetworkEntry, message: String, hint: String) -> PolicyError {
    if entry.line == 0 {
        PolicyError::Invalid {
            origin: origin.to_owned(),
            message,
            hint,
        }
    } else {
        PolicyError::Syntax {
            file: PathBuf::from(origin),
            line: entry.line,
            column: entry.column,
            message,
            hint,
        }
    }
}

fn parse(origin: &str, key: &str, entry: &NetworkEntry) -> Result<Entry, PolicyError> {
    parse_entry(&entry.text).map_err(|error| {
        entry_error(
            origin,
            entry,
            format!("network.{key}: {}", error.message),
            error.hint,
        )
    })
}

/// Refuses `mode: proxy` while [`PROXY_MODE_ENFORCED`] is false.
fn proxy_gate(file: &PolicyFile, origin: &str) -> Result<(), PolicyError> {
    let proxy = file
        .network
        .as_ref()
        .is_some_and(|network| network.mode == Some(NetworkMode::Proxy));
    if proxy && !PROXY_MODE_ENFORCED {
        return Err(PolicyError::Invalid {
            origin: origin.to_owned(),
            message: "network mode `proxy` is reserved for cordon's egress proxy, which is not implemented yet".into(),
            hint: "use `none` (the default) or, knowingly, `host`".into(),
        });
    }
    Ok(())
}

/// The checks that need no layer: every entry parses, ports are not 0, and the
/// proxy mode is refused while it cannot be enforced. Run on every file read.
pub fn check_network(file: &PolicyFile, origin: &str) -> Result<(), PolicyError> {
    proxy_gate(file, origin)?;
    check_entries(file, origin)
}

fn check_entries(file: &PolicyFile, origin: &str) -> Result<(), PolicyError> {
    let Some(network) = &file.network else {
        return Ok(());
    };
    let lists = [
        ("allow", &network.allow),
        ("deny", &network.deny),
        ("project_may_allow", &network.project_may_allow),
    ];
    for (key, list) in lists {
        for entry in list {
            let parsed = parse(origin, key, entry)?;
            if key == "project_may_allow" && matches!(parsed.target, Target::Net(_)) {
                return Err(entry_error(
                    origin,
                    entry,
                    format!(
                        "network.project_may_allow: `{}` is an address; it lists name patterns",
                        entry.text
                    ),
                    "allow addresses directly in `network.allow` of the global file".into(),
                ));
            }
            let loopback_name = |name: &str| name == "localhost" || name.ends_with(".localhost");
            if key != "deny"
                && let Target::Host(HostPattern::Exact(name) | HostPattern::Suffix(name)) =
                    &parsed.target
                && loopback_name(name)
            {
                return Err(entry_error(
                    origin,
                    entry,
                    format!(
                        "network.{key}: `{}` names the host's loopback, which allow entries do not open",
                        entry.text
                    ),
                    "list the port in `network.local_ports` (global file or --policy), e.g. `local_ports: [5432]`".into(),
                ));
            }
        }
    }
    for port in &network.local_ports {
        if port.value == 0 {
            let place = NetworkEntry {
                text: "0".into(),
                line: port.referenced.line() as usize,
                column: port.referenced.column() as usize,
            };
            return Err(entry_error(
                origin,
                &place,
                "network.local_ports: port 0 is out of range (1-65535)".into(),
                "name the host loopback port the sandbox may reach, e.g. `local_ports: [5432]`"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Every check, including those that depend on the layer: what only the global file,
/// or only trusted layers, may say.
pub fn check_network_layer(
    layer: Layer,
    origin: &str,
    file: &PolicyFile,
) -> Result<(), PolicyError> {
    proxy_gate(file, origin)?;
    check_layer_rules(layer, origin, file)
}

/// [`check_network_layer`] without the proxy gate.
pub(crate) fn check_layer_rules(
    layer: Layer,
    origin: &str,
    file: &PolicyFile,
) -> Result<(), PolicyError> {
    check_entries(file, origin)?;
    let Some(network) = &file.network else {
        return Ok(());
    };
    let global_only = [
        ("project_may_allow", &network.project_may_allow),
        ("dangerously_unprotect", &network.dangerously_unprotect),
    ];
    for (key, list) in global_only {
        if let (Some(entry), false) = (list.first(), layer == Layer::Global) {
            return Err(entry_error(
                origin,
                entry,
                format!("`network.{key}` is only allowed in the global policy file"),
                "move it to ~/.config/cordon/policy.yaml".into(),
            ));
        }
    }
    if layer != Layer::Project {
        return Ok(());
    }
    if let Some(port) = network.local_ports.first() {
        let place = NetworkEntry {
            text: port.value.to_string(),
            line: port.referenced.line() as usize,
            column: port.referenced.column() as usize,
        };
        return Err(entry_error(
            origin,
            &place,
            "`network.local_ports` is not allowed in a project's policy".into(),
            "reaching the host's own services is the user's decision: set it in the global file or a --policy file".into(),
        ));
    }
    for (key, list) in [("allow", &network.allow), ("deny", &network.deny)] {
        for entry in list {
            if let Target::Net(_) = parse(origin, key, entry)?.target {
                return Err(entry_error(
                    origin,
                    entry,
                    format!(
                        "network.{key}: `{}` is an IP address or CIDR range, which a project's policy may not name",
                        entry.text
                    ),
                    "name hosts in the project's file; addresses and ranges belong in the global file, a --policy file or a flag".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The project's allow entries the global file lets it add.
struct MayAllow {
    patterns: Vec<(HostPattern, Option<u16>, String)>,
}

impl MayAllow {
    fn covering(&self, host: &HostPattern, port: Option<u16>) -> Option<&str> {
        self.patterns
            .iter()
            .find(|(pattern, may_port, _)| {
                pattern.covers(host)
                    && (*may_port == port
                        || (may_port.is_none() && port.is_some_and(|p| DEFAULT_PORTS.contains(&p))))
            })
            .map(|(_, _, place)| place.as_str())
    }
}

/// Resolves the layers' network sections (`ordered`: least specific first) into a plan,
/// recording every relaxation the project asked for.
pub fn resolve_network(
    ordered: &[(Layer, String, &PolicyFile)],
    relaxations: &mut Vec<Relaxation>,
) -> Result<NetworkPlan, PolicyError> {
    let mut plan = NetworkPlan::default();
    let mut may_allow = MayAllow {
        patterns: Vec::new(),
    };
    let mut local_ports_from = Vec::new();
    for (layer, origin, file) in ordered {
        let Some(network) = &file.network else {
            continue;
        };
        let from = |entry: &NetworkEntry| Provenance {
            layer: *layer,
            origin: entry.place(origin),
        };
        if *layer == Layer::Global {
            for entry in &network.project_may_allow {
                if let Target::Host(host) = parse(origin, "project_may_allow", entry)?.target {
                    let port = parse_entry(&entry.text).ok().and_then(|e| e.port);
                    may_allow.patterns.push((host, port, entry.place(origin)));
                }
            }
            lift(&mut plan, network, origin, relaxations);
        }
        if let Some(wanted) = network.mode {
            let mode_from = Provenance {
                layer: *layer,
                origin: network.mode_place(origin),
            };
            choose_mode(&mut plan, wanted, &mode_from, relaxations);
        }
        if layer.trusted() {
            for port in &network.local_ports {
                if !plan.local_ports.contains(&port.value) {
                    plan.local_ports.push(port.value);
                }
                local_ports_from.push(format!(
                    "{} ({origin}:{}:{})",
                    layer,
                    port.referenced.line(),
                    port.referenced.column()
                ));
            }
        }
        for (effect, key, list) in [
            (Effect::Deny, "deny", &network.deny),
            (Effect::Allow, "allow", &network.allow),
        ] {
            for entry in list {
                let parsed = parse(origin, key, entry)?;
                match parsed.target {
                    Target::Net(net) => {
                        let rule = CidrRule {
                            net,
                            port: parsed.port,
                            from: from(entry),
                        };
                        match effect {
                            Effect::Allow => plan.allowed_cidrs.push(rule),
                            Effect::Deny => plan.denied_cidrs.push(rule),
                        }
                    }
                    Target::Host(host) => {
                        let rule = HostRule {
                            effect,
                            host,
                            port: parsed.port,
                            from: from(entry),
                        };
                        if effect == Effect::Allow
                            && !layer.trusted()
                            && !admit(&plan, &may_allow, &rule, relaxations)
                        {
                            continue;
                        }
                        plan.rules.push(rule);
                    }
                }
            }
        }
    }
    plan.local_ports.sort_unstable();
    plan.local_ports_from = local_ports_from.join(", ");
    Ok(plan)
}

/// Decides whether the project's allow `rule` applies, recording the relaxation.
fn admit(
    plan: &NetworkPlan,
    may_allow: &MayAllow,
    rule: &HostRule,
    relaxations: &mut Vec<Relaxation>,
) -> bool {
    let already = plan.rules.iter().any(|trusted| {
        trusted.effect == Effect::Allow
            && trusted.from.layer.trusted()
            && trusted.host == rule.host
            && trusted.port == rule.port
    });
    if already {
        return true;
    }
    let covering = may_allow.covering(&rule.host, rule.port);
    relaxations.push(Relaxation {
        what: format!("network {rule}"),
        by: rule.from.clone(),
        granted: covering.is_some(),
        reason: match covering {
            Some(place) => format!("inside `network.project_may_allow` ({place})"),
            None => "the global policy's `network.project_may_allow` does not cover it".into(),
        },
    });
    covering.is_some()
}

fn choose_mode(
    plan: &mut NetworkPlan,
    wanted: NetworkMode,
    from: &Provenance,
    relaxations: &mut Vec<Relaxation>,
) {
    let opens = match (plan.mode, wanted) {
        (NetworkMode::Host, _) | (_, NetworkMode::None) => false,
        (NetworkMode::None, NetworkMode::Proxy) | (_, NetworkMode::Host) => true,
        (NetworkMode::Proxy, NetworkMode::Proxy) => false,
    };
    if !opens || from.layer.trusted() {
        if opens && wanted == NetworkMode::Host {
            relaxations.push(Relaxation {
                what: "network host".into(),
                by: from.clone(),
                granted: true,
                reason: "set by a trusted layer".into(),
            });
        }
        plan.mode = wanted;
        plan.mode_from = from.clone();
        return;
    }
    // The project asks for more network than the trusted layers gave.
    let granted = wanted == NetworkMode::Proxy;
    relaxations.push(Relaxation {
        what: format!(
            "network {}",
            if granted { "proxy" } else { "host" }
        ),
        by: from.clone(),
        granted,
        reason: if granted {
            "every destination still passes the allow-list, where the project's own entries count only inside `network.project_may_allow`".into()
        } else {
            "a project cannot open the network; pass --policy or set it globally".into()
        },
    });
    if granted {
        plan.mode = wanted;
        plan.mode_from = from.clone();
    }
}

/// Applies the global file's `network.dangerously_unprotect`, recording each entry.
fn lift(
    plan: &mut NetworkPlan,
    network: &Network,
    origin: &str,
    relaxations: &mut Vec<Relaxation>,
) {
    for entry in &network.dangerously_unprotect {
        let key = normalize_lift(&entry.text);
        let found = built_in().has_entry(&key);
        if found && !plan.lifted.contains(&key) {
            plan.lifted.push(key.clone());
        }
        relaxations.push(Relaxation {
            what: format!("built-in network deny-list entry {key}"),
            by: Provenance {
                layer: Layer::Global,
                origin: entry.place(origin),
            },
            granted: found,
            reason: if found {
                "lifted by `network.dangerously_unprotect`".into()
            } else {
                "`network.dangerously_unprotect` names no entry of the built-in deny-list (see `cordon policy explain`)".into()
            },
        });
    }
    plan.unprotected = !plan.lifted.is_empty();
}

/// A deny-list entry as the list spells it: a canonical name, or `net/len`.
fn normalize_lift(text: &str) -> String {
    if let Ok(net) = text.parse::<ipnet::IpNet>() {
        return net.to_string();
    }
    if let Ok(address) = text.parse::<std::net::IpAddr>() {
        return ipnet::IpNet::from(address).to_string();
    }
    canonical_name(text).unwrap_or_else(|_| text.to_owned())
}
