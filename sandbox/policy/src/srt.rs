//! Import of Anthropic sandbox-runtime ("srt") settings JSON (`~/.srt-settings.json`),
//! so that its users can switch: `cordon run --policy ~/.srt-settings.json -- CMD`.
//!
//! Mapped: `filesystem.{denyRead,allowRead,allowWrite,denyWrite}` one to one (srt's
//! "allowRead beats denyRead" holds because an allow below a deny is more specific);
//! `network.allowedDomains` empty means no network (an allow-list needs cordon's egress
//! proxy, which does not exist yet, so a non-empty one is refused rather than widened);
//! `network.allowAllUnixSockets` enables AF_UNIX sockets; `network.allowUnixSockets` (a
//! list of socket paths, which srt only enforces on macOS and ignores on Linux because
//! seccomp cannot filter by path) leaves them blocked, as srt does on Linux. srt options
//! that only concern its own machinery (proxy ports, ripgrep, macOS) are ignored;
//! options that would weaken a cordon guarantee (`filesystem.allowGitConfig`) are
//! refused with a hint.

use std::path::Path;

use serde::Deserialize;

use crate::error::PolicyError;
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
    #[allow(dead_code)]
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
        if !network.allowed_domains.is_empty() {
            return Err(invalid(
                "`network.allowedDomains` needs cordon's egress proxy, which is not implemented yet",
                "empty the list to run without network, or use a cordon policy with `network: {mode: host}` knowingly",
            ));
        }
        policy.network = Some(Network {
            mode: NetworkMode::None,
        });
        // A list of paths cannot be honoured here: allowing every socket would open
        // docker.sock, D-Bus and the ssh-agent too, so the list grants nothing (srt on
        // Linux ignores it as well).
        if network.allow_all_unix_sockets {
            policy.sockets = Some(Sockets { unix: true });
        }
    }
    Ok(policy)
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
        assert_eq!(policy.network.unwrap().mode, NetworkMode::None);
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
            r#"{"network": {"allowedDomains": ["github.com"], "deniedDomains": []}}"#,
            Path::new("s.json"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("egress proxy"), "{error}");
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
}
