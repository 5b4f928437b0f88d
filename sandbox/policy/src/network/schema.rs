//! The `network:` section of a policy file, as written, with the place of every entry so
//! that errors found later (a CIDR in the project's file) still name file:line:column.

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::schema::NetworkMode;

/// Network access.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// `none` (the default), `proxy` (allow-listed through cordon's egress proxy) or
    /// `host` (the host's network, unfiltered); absent: the less specific layer's.
    #[serde(default)]
    pub mode: Option<NetworkMode>,
    /// Destinations to allow (names, `*.suffix`, `*`; addresses and CIDR ranges in
    /// trusted layers only), each optionally with `:port` (else 80 and 443).
    #[serde(default)]
    pub allow: Vec<NetworkEntry>,
    /// Destinations to deny.
    #[serde(default)]
    pub deny: Vec<NetworkEntry>,
    /// Ports of the host's loopback the sandbox may reach (trusted layers only).
    #[serde(default)]
    pub local_ports: Vec<Spanned<u16>>,
    /// Global file only: name patterns inside which the project's `allow` entries apply.
    #[serde(default)]
    pub project_may_allow: Vec<NetworkEntry>,
    /// Global file only: entries of the built-in deny-list to lift (a name, or a range
    /// as `cordon policy explain` prints it). Recorded in the Plan.
    #[serde(default)]
    pub dangerously_unprotect: Vec<NetworkEntry>,
}

/// One entry as written, with its place in the file (see [`Placed`]).
pub use crate::placed::Placed as NetworkEntry;

impl std::str::FromStr for NetworkMode {
    type Err = String;

    /// `none`, `proxy` or `host`, as in a policy file (for `--network`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(NetworkMode::None),
            "proxy" => Ok(NetworkMode::Proxy),
            "host" => Ok(NetworkMode::Host),
            _ => Err(format!("`{text}`: expected none, proxy or host")),
        }
    }
}

/// The network section of the command-line layer: `--network MODE` and each
/// `--allow-domain ENTRY` (no section when neither is given).
pub fn flags_layer(mode: Option<NetworkMode>, allow: &[String]) -> Option<Network> {
    if mode.is_none() && allow.is_empty() {
        return None;
    }
    Some(Network {
        mode,
        allow: allow.iter().cloned().map(NetworkEntry::unplaced).collect(),
        ..Network::default()
    })
}
