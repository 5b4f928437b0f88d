//! Import of Anthropic sandbox-runtime ("srt") settings JSON (`~/.srt-settings.json`),
//! so that its users can switch: `cordon run --policy ~/.srt-settings.json -- CMD`.
//!
//! Every setting srt documents is either honoured, refused with the reason and the fix,
//! or accepted with a note saying why it changes nothing here
//! ([`srt_settings_notes`], printed by `cordon policy check`); an unknown key is an
//! error. Honoured: `filesystem.{denyRead,allowRead,allowWrite,denyWrite}` one to one
//! (srt's "allowRead beats denyRead" holds because an allow below a deny is more
//! specific); `network.allowedDomains`: empty means no network, a non-empty one means
//! `network: {mode: proxy}` with those entries allowed and `network.deniedDomains`
//! denied (srt's entries without a port cover every port, cordon's cover 80 and 443: an
//! allowed entry is therefore narrower here, and a denied one is also denied on every
//! port an allowed entry names, and an allowed entry inside a denied one, which srt
//! denies first and cordon's most specific entry would allow, is refused, so that
//! nothing srt denies becomes reachable);
//! `allowAllUnixSockets`. Refused: a non-empty `allowUnixSockets` (seccomp cannot allow
//! one socket path and not the others, and srt ignores the list on Linux too),
//! `allowLocalBinding` (cordon denies TCP bind), `mitmProxy` with a non-empty
//! `allowedDomains` (cordon's egress proxy hands no connection to another proxy),
//! `allowGitConfig` (a mandatory denial), `filesystem.disabled`,
//! `enableWeakerNestedSandbox` and `credentials` (no masking proxy here). Noted: srt's
//! own machinery (proxy ports, ripgrep, seccomp and bwrap paths, violation filters),
//! the network settings that change nothing (all of them without network; with the
//! proxy, those cordon's egress proxy does its own way) and macOS-only switches.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::PolicyError;
use crate::network::{DEFAULT_PORTS, Entry, NetworkEntry, Target, parse_entry};
use crate::placed::Placed;
use crate::schema::{Filesystem, Network, NetworkMode, PolicyFile, SCHEMA_VERSION, Sockets};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Settings {
    network: Option<SrtNetwork>,
    filesystem: Option<SrtFilesystem>,
    credentials: Option<Value>,
    ignore_violations: Option<Value>,
    enable_weaker_nested_sandbox: Option<bool>,
    enable_weaker_network_isolation: Option<Value>,
    allow_apple_events: Option<Value>,
    allow_pty: Option<Value>,
    ripgrep: Option<Value>,
    mandatory_deny_search_depth: Option<Value>,
    seccomp: Option<Value>,
    bwrap_path: Option<Value>,
    socat_path: Option<Value>,
    java_agent_jar_path: Option<Value>,
    windows: Option<Value>,
    git: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SrtNetwork {
    #[serde(default)]
    allowed_domains: Vec<String>,
    denied_domains: Option<Vec<String>>,
    denied_domain_reasons: Option<Value>,
    strict_allowlist: Option<Value>,
    #[serde(default)]
    allow_unix_sockets: Vec<String>,
    #[serde(default)]
    allow_all_unix_sockets: bool,
    #[serde(default)]
    allow_local_binding: bool,
    allow_mach_lookup: Option<Value>,
    http_proxy_dual_stack: Option<Value>,
    http_proxy_port: Option<Value>,
    socks_proxy_port: Option<Value>,
    mitm_proxy: Option<Value>,
    tls_terminate: Option<Value>,
    parent_proxy: Option<Value>,
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
    import(text, origin).map(|(policy, _)| policy)
}

/// What the settings in `text` do under cordon that is not visible in the layer: srt
/// options accepted although they change nothing here, one line each with the reason.
pub fn srt_settings_notes(text: &str, origin: &Path) -> Result<Vec<String>, PolicyError> {
    import(text, origin).map(|(_, notes)| notes)
}

/// "... at line 2 column 11" → "...".
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The mapped layer and its notes, after the network checks every policy file gets
/// (entries parse; `mode: proxy` only once it is enforced).
fn import(text: &str, origin: &Path) -> Result<(PolicyFile, Vec<String>), PolicyError> {
    let (policy, notes) = map_srt_settings(text, origin)?;
    crate::network::check_network(&policy, &origin.display().to_string())?;
    Ok((policy, notes))
}

fn map_srt_settings(text: &str, origin: &Path) -> Result<(PolicyFile, Vec<String>), PolicyError> {
    let settings: Settings = serde_json::from_str(text).map_err(|error| PolicyError::Syntax {
        file: origin.to_path_buf(),
        line: error.line(),
        column: error.column(),
        hint: crate::schema::hint_for(&error.to_string()),
        // serde_json ends its messages with " at line L column C", which the error
        // already shows in front.
        message: strip_position(&error.to_string()),
    })?;
    let invalid = |message: &str, hint: &str| PolicyError::Invalid {
        origin: origin.display().to_string(),
        message: message.to_owned(),
        hint: hint.to_owned(),
    };
    let mut notes = Vec::new();
    let mut note = |present: bool, key: &str, why: &str| {
        if present {
            notes.push(format!("`{key}` changes nothing under cordon: {why}"));
        }
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
            allow_read: fs.allow_read.into_iter().map(Placed::unplaced).collect(),
            deny_read: fs.deny_read.into_iter().map(Placed::unplaced).collect(),
            allow_write: fs.allow_write.into_iter().map(Placed::unplaced).collect(),
            deny_write: fs.deny_write.into_iter().map(Placed::unplaced).collect(),
        };
    }
    if settings.credentials.is_some() {
        return Err(invalid(
            "`credentials` (deny or mask through srt's TLS-terminating proxy) has no cordon equivalent",
            "hide the files with `filesystem.denyRead` and remove the variables with `environment.deny` in a cordon policy",
        ));
    }
    if settings.enable_weaker_nested_sandbox == Some(true) {
        return Err(invalid(
            "`enableWeakerNestedSandbox` asks for a weaker sandbox inside containers",
            "cordon has no weaker nested mode (it refuses to run without user namespaces); remove it",
        ));
    }
    if let Some(network) = settings.network {
        if !network.allow_unix_sockets.is_empty() {
            return Err(invalid(
                "`network.allowUnixSockets` lists socket paths, which cordon cannot allow one by one (seccomp does not see paths; srt ignores the list on Linux too)",
                "remove it (sockets stay blocked), or allow every unix socket knowingly with `allowAllUnixSockets: true`",
            ));
        }
        if network.allow_local_binding {
            return Err(invalid(
                "`network.allowLocalBinding` would let the command listen on loopback; cordon denies TCP bind",
                "remove it; no network mode of cordon lets the command listen",
            ));
        }
        let proxy = !network.allowed_domains.is_empty();
        if proxy && network.mitm_proxy.is_some() {
            return Err(invalid(
                "`network.mitmProxy` hands the listed domains to another proxy, which cordon's egress proxy does not do",
                "remove it: the domains are then reached directly, if `allowedDomains` allows them",
            ));
        }
        let denied = network.denied_domains.as_deref().unwrap_or_default();
        policy.network = Some(srt_network(&network.allowed_domains, denied, origin)?);
        if network.allow_all_unix_sockets {
            policy.sockets = Some(Sockets::unplaced(true));
        }
        if proxy {
            // `deniedDomains` is honoured: its entries are the layer's `deny`.
            note(
                network.denied_domain_reasons.is_some(),
                "network.deniedDomainReasons",
                "a refusal names the deny entry and where it comes from, not srt's reason",
            );
            note(
                network.strict_allowlist.is_some(),
                "network.strictAllowlist",
                "cordon's allow list is always strict (no per-command list, no asking)",
            );
            let own_proxy = "cordon runs its own egress proxy, a proxy on that port is not used";
            note(
                network.http_proxy_port.is_some(),
                "network.httpProxyPort",
                own_proxy,
            );
            note(
                network.socks_proxy_port.is_some(),
                "network.socksProxyPort",
                own_proxy,
            );
            note(
                network.http_proxy_dual_stack.is_some(),
                "network.httpProxyDualStack",
                "it concerns how srt's proxy listens; cordon's egress proxy sets up its own listeners",
            );
            note(
                network.tls_terminate.is_some(),
                "network.tlsTerminate",
                "cordon's egress proxy does not terminate TLS: it checks the server name and passes the connection through encrypted",
            );
            note(
                network.parent_proxy.is_some(),
                "network.parentProxy",
                "cordon's egress proxy connects directly, so what only a parent proxy reaches stays unreachable",
            );
        } else {
            let no_network = "there is no network at all, which is stricter";
            note(
                network.denied_domains.is_some(),
                "network.deniedDomains",
                no_network,
            );
            note(
                network.denied_domain_reasons.is_some(),
                "network.deniedDomainReasons",
                no_network,
            );
            note(
                network.strict_allowlist.is_some(),
                "network.strictAllowlist",
                no_network,
            );
            note(
                network.http_proxy_port.is_some(),
                "network.httpProxyPort",
                no_network,
            );
            note(
                network.socks_proxy_port.is_some(),
                "network.socksProxyPort",
                no_network,
            );
            note(
                network.http_proxy_dual_stack.is_some(),
                "network.httpProxyDualStack",
                no_network,
            );
            note(
                network.mitm_proxy.is_some(),
                "network.mitmProxy",
                no_network,
            );
            note(
                network.tls_terminate.is_some(),
                "network.tlsTerminate",
                no_network,
            );
            note(
                network.parent_proxy.is_some(),
                "network.parentProxy",
                no_network,
            );
        }
        note(
            network.allow_mach_lookup.is_some(),
            "network.allowMachLookup",
            "macOS only",
        );
    }
    let machinery = "it configures srt's own helpers, which cordon does not use";
    note(settings.ripgrep.is_some(), "ripgrep", machinery);
    note(settings.seccomp.is_some(), "seccomp", machinery);
    note(settings.bwrap_path.is_some(), "bwrapPath", machinery);
    note(settings.socat_path.is_some(), "socatPath", machinery);
    note(
        settings.java_agent_jar_path.is_some(),
        "javaAgentJarPath",
        machinery,
    );
    note(
        settings.mandatory_deny_search_depth.is_some(),
        "mandatoryDenySearchDepth",
        "cordon protects the project root, the home directory and the git directories it finds, without a search",
    );
    note(
        settings.ignore_violations.is_some(),
        "ignoreViolations",
        "it silences srt's violation reports; cordon's denials are not reported that way",
    );
    note(
        settings.git.is_some(),
        "git",
        "cordon does not configure git",
    );
    note(
        settings.enable_weaker_nested_sandbox == Some(false),
        "enableWeakerNestedSandbox",
        "false is the only mode cordon has",
    );
    for (present, key) in [
        (
            settings.enable_weaker_network_isolation.is_some(),
            "enableWeakerNetworkIsolation",
        ),
        (settings.allow_apple_events.is_some(), "allowAppleEvents"),
        (settings.allow_pty.is_some(), "allowPty"),
        (settings.windows.is_some(), "windows"),
    ] {
        note(present, key, "it concerns macOS or Windows only");
    }
    Ok((policy, notes))
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
    let mut allowed_entries = Vec::new();
    for text in allowed {
        let entry = check("allowedDomains", text)?;
        if let Some(port) = entry.port
            && !explicit_ports.contains(&port)
        {
            explicit_ports.push(port);
        }
        allowed_entries.push((text, entry));
    }
    let mut deny = Vec::new();
    for text in denied {
        deny.push(NetworkEntry::unplaced(text.clone()));
        let entry = check("deniedDomains", text)?;
        if let Some((inside, _)) = allowed_entries
            .iter()
            .find(|(_, allow)| shadowed_by_deny(allow, &entry))
        {
            return Err(PolicyError::Invalid {
                origin: origin.display().to_string(),
                message: format!(
                    "`network.allowedDomains` entry `{inside}` lies inside `network.deniedDomains` entry `{text}`: srt checks denied domains first and refuses it, cordon lets the more specific entry win and would allow it"
                ),
                hint: format!(
                    "remove `{inside}` from allowedDomains, or replace `{text}` with denied entries that do not cover it"
                ),
            });
        }
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

/// True when srt denies what `allow` names (srt checks `deniedDomains` first) but
/// cordon, where the most specific entry wins and deny wins only a tie, would let it
/// through: `deny` strictly covers the allowed names or addresses on a port they share
/// (a denied entry without a port covers every port here, see [`srt_network`]).
fn shadowed_by_deny(allow: &Entry, deny: &Entry) -> bool {
    let ports_meet = match (deny.port, allow.port) {
        (None, _) => true,
        (Some(denied), Some(allowed)) => denied == allowed,
        (Some(denied), None) => DEFAULT_PORTS.contains(&denied),
    };
    let strictly_covered = match (&deny.target, &allow.target) {
        (Target::Host(deny), Target::Host(allow)) => deny != allow && deny.covers(allow),
        (Target::Net(deny), Target::Net(allow)) => deny != allow && deny.contains(allow),
        _ => false,
    };
    ports_meet && strictly_covered
}

#[cfg(test)]
mod tests;
