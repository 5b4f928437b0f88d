//! Import of Anthropic sandbox-runtime ("srt") settings JSON (`~/.srt-settings.json`),
//! so that its users can switch: `cordon run --policy ~/.srt-settings.json -- CMD`.
//!
//! Mapped: `filesystem.{denyRead,allowRead,allowWrite,denyWrite}` one to one (srt's
//! "allowRead beats denyRead" holds because an allow below a deny is more specific);
//! `network.allowedDomains` empty means no network, a non-empty one means `network:
//! {mode: proxy}` with those entries allowed and `network.deniedDomains` denied (srt's
//! entries without a port cover every port, cordon's cover 80 and 443: an allowed entry
//! is therefore narrower here, and a denied one is also denied on every port an allowed
//! entry names, so that nothing srt denies becomes reachable);
//! `network.allowAllUnixSockets` enables AF_UNIX sockets; `network.allowUnixSockets` (a
//! list of socket paths, which srt only enforces on macOS and ignores on Linux because
//! seccomp cannot filter by path) leaves them blocked, as srt does on Linux. srt options
//! that only concern its own machinery (proxy ports, ripgrep, macOS) are ignored;
//! options that would weaken a cordon guarantee (`filesystem.allowGitConfig`) are
//! refused with a hint.

use std::path::Path;

use serde::Deserialize;

use crate::error::PolicyError;
use crate::network::{NetworkEntry, parse_entry};
use crate::schema::{Filesystem, Network, NetworkMode, PolicyFile, SCHEMA_VERSION, Sockets};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    network: Option<SrtNetwork>,
    filesystem: Option<SrtFilesystem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SrtNetwork {
    #[serde(default)]
    allowed_domains: Vec<String>,
    #[serde(default)]
    denied_domains: Vec<String>,
    /// Accepted and not honoured (see the module documentation).
    #[serde(default)]
    #[allow(dead_code)]
    allow_unix_sockets: Vec<String>,
    #[serde(default)]
    allow_all_unix_sockets: bool,
    #[serde(default)]
    #[allow(dead_code)]
    allow_local_binding: bool,
    #[allow(dead_code)]
    http_proxy_port: Option<u16>,
    #[allow(dead_code)]
    socks_proxy_port: Option<u16>,
    #[allow(dead_code)]
    denied_domain_reasons: Option<serde_json::Value>,
    #[allow(dead_code)]
    strict_allowlist: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SrtFilesystem {
    #[serde(default)]
    deny_read: Vec<String>,
    #[serde(default)]
    allow_read: Vec<String>,
    #[serde(default)]
    allow_write: Vec<String>,
    #[serde(default)]
    deny_write: Vec<String>,
    #[serde(default)]
    allow_git_config: bool,
    #[serde(default)]
    disabled: bool,
}

/// Reads srt settings JSON as a cordon policy layer.
pub fn parse_srt_settings(text: &str, origin: &Path) -> Result<PolicyFile, PolicyError> {
    let policy = map_srt_settings(text, origin)?;
    crate::network::check_network(&policy, &origin.display().to_string())?;
    Ok(policy)
}

fn map_srt_settings(text: &str, origin: &Path) -> Result<PolicyFile, PolicyError> {
    let settings: Settings = serde_json::from_str(text).map_err(|error| PolicyError::Syntax {
        file: origin.to_path_buf(),
        line: error.line(),
        column: error.column(),
        hint: crate::schema::hint_for(&error.to_string()),
        message: error.to_string(),
    })?;
    let invalid = |message: &str, hint: &str| PolicyError::Invalid {
        origin: origin.display().to_string(),
        message: message.to_owned(),
        hint: hint.to_owned(),
    };
    let mut policy = PolicyFile {
        version: SCHEMA_VERSION,
        ..PolicyFile::default()
    };
    if let Some(fs) = settings.filesystem {
        if fs.disabled {
            return Err(invalid(
                "`filesystem.disabled` turns the sandbox's filesystem rules off",
                "cordon has no such switch; remove it",
            ));
        }
        if fs.allow_git_config {
            return Err(invalid(
                "`filesystem.allowGitConfig` would make .git/config writable, a mandatory denial in cordon",
                "lift it knowingly with `dangerously_unprotect: [.git/config]` in the global policy",
            ));
        }
        policy.filesystem = Filesystem {
            allow_read: fs.allow_read,
            deny_read: fs.deny_read,
            allow_write: fs.allow_write,
            deny_write: fs.deny_write,
        };
    }
    if let Some(network) = settings.network {
        policy.network = Some(srt_network(
            &network.allowed_domains,
            &network.denied_domains,
            origin,
        )?);
        // A list of paths cannot be honoured here: allowing every socket would open
        // docker.sock, D-Bus and the ssh-agent too, so the list grants nothing (srt on
        // Linux ignores it as well).
        if network.allow_all_unix_sockets {
            policy.sockets = Some(Sockets { unix: true });
        }
    }
    Ok(policy)
}

/// srt's domain lists as a cordon `network:` section.
fn srt_network(
    allowed: &[String],
    denied: &[String],
    origin: &Path,
) -> Result<Network, PolicyError> {
    let check = |key: &str, text: &str| {
        parse_entry(text).map_err(|error| PolicyError::Invalid {
            origin: origin.display().to_string(),
            message: format!("`network.{key}`: {}", error.message),
            hint: error.hint,
        })
    };
    let mut explicit_ports = Vec::new();
    for text in allowed {
        if let Some(port) = check("allowedDomains", text)?.port
            && !explicit_ports.contains(&port)
        {
            explicit_ports.push(port);
        }
    }
    let mut deny = Vec::new();
    for text in denied {
        deny.push(NetworkEntry::unplaced(text.clone()));
        let entry = check("deniedDomains", text)?;
        if entry.port.is_none() {
            for port in &explicit_ports {
                let host = match text.parse::<std::net::Ipv6Addr>() {
                    Ok(_) => format!("[{text}]"),
                    Err(_) => text.clone(),
                };
                deny.push(NetworkEntry::unplaced(format!("{host}:{port}")));
            }
        }
    }
    Ok(Network {
        mode: Some(if allowed.is_empty() {
            NetworkMode::None
        } else {
            NetworkMode::Proxy
        }),
        allow: allowed
            .iter()
            .cloned()
            .map(NetworkEntry::unplaced)
            .collect(),
        deny,
        ..Network::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        .unwrap();
        assert_eq!(
            listed.sockets, None,
            "a path list must not open every socket"
        );
        let all = parse_srt_settings(
            r#"{"network": {"allowedDomains": [], "allowAllUnixSockets": true}}"#,
            Path::new("s.json"),
        )
        .unwrap();
        assert_eq!(all.sockets, Some(Sockets { unix: true }));
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
        .unwrap();
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
}
