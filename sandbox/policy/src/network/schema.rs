//! The `network:` section of a policy file, as written, with the place of every entry so
//! that errors found later (a CIDR in the project's file) still name file:line:column.

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::schema::NetworkMode;

/// Network access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    /// `none` (the default), `proxy` (allow-listed through cordon's egress proxy) or
    /// `host` (the host's network, unfiltered); absent: the less specific layer's.
    pub mode: Option<NetworkMode>,
    /// 1-based line of `mode`'s value, 0 when unknown (a flag, srt settings).
    pub mode_line: usize,
    /// 1-based column of `mode`'s value, 0 when unknown.
    pub mode_column: usize,
    /// Destinations to allow (names, `*.suffix`, `*`; addresses and CIDR ranges in
    /// trusted layers only), each optionally with `:port` (else 80 and 443).
    pub allow: Vec<NetworkEntry>,
    /// Destinations to deny.
    pub deny: Vec<NetworkEntry>,
    /// Ports of the host's loopback the sandbox may reach (trusted layers only).
    pub local_ports: Vec<Spanned<u16>>,
    /// Global file only: name patterns inside which the project's `allow` entries apply.
    pub project_may_allow: Vec<NetworkEntry>,
    /// Global file only: entries of the built-in deny-list to lift (a name, or a range
    /// as `cordon policy explain` prints it). Recorded in the Plan.
    pub dangerously_unprotect: Vec<NetworkEntry>,
}

impl Network {
    /// Where `mode` was written: `origin:line:column`, or `origin` when unknown.
    pub fn mode_place(&self, origin: &str) -> String {
        crate::placed::place(origin, self.mode_line, self.mode_column)
    }
}

/// The section as written (the keys of [`Network`], `mode` with its place).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkSection {
    #[serde(default)]
    mode: Option<Spanned<NetworkMode>>,
    #[serde(default)]
    allow: Vec<NetworkEntry>,
    #[serde(default)]
    deny: Vec<NetworkEntry>,
    #[serde(default)]
    local_ports: Vec<Spanned<u16>>,
    #[serde(default)]
    project_may_allow: Vec<NetworkEntry>,
    #[serde(default)]
    dangerously_unprotect: Vec<NetworkEntry>,
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let section = NetworkSection::deserialize(deserializer)?;
        let (mode, mode_line, mode_column) = match section.mode {
            Some(mode) => (
                Some(mode.value),
                mode.referenced.line() as usize,
                mode.referenced.column() as usize,
            ),
            None => (None, 0, 0),
        };
        Ok(Network {
            mode,
            mode_line,
            mode_column,
            allow: section.allow,
            deny: section.deny,
            local_ports: section.local_ports,
            project_may_allow: section.project_may_allow,
            dangerously_unprotect: section.dangerously_unprotect,
        })
    }
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
