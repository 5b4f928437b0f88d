//! The network policy: the `network:` section of policy files, its layering into a
//! [`NetworkPlan`], the built-in secrets-endpoint deny-list, and the decisions the egress
//! proxy asks for ([`NetworkPlan::decide`], [`NetworkPlan::decide_address`],
//! [`NetworkPlan::ports`]).
//!
//! Pure data like the rest of the crate: names are never resolved here and no socket
//! is opened; the proxy engine (`cordon-egress`) canonicalises what the sandbox asks for,
//! resolves names on the host side, and asks these functions at each step.
//!
//! ```
//! use cordon_policy::network::{Destination, NetworkPlan, resolve_network};
//! use cordon_policy::{Layer, NetworkMode, parse_policy};
//! use std::path::Path;
//!
//! let mut global = parse_policy(
//!     "version: 1\nnetwork:\n  allow: [crates.io, \"*.crates.io\", \"github.com:22\"]\n",
//!     Path::new("/home/ada/.config/cordon/policy.yaml"),
//! )
//! .unwrap();
//! global.network.as_mut().unwrap().mode = Some(NetworkMode::Proxy);
//! let layers = [(Layer::Global, "global.yaml".to_owned(), &global)];
//! let plan: NetworkPlan = resolve_network(&layers, &mut Vec::new()).unwrap();
//! assert!(plan.decide(Destination::Name("static.crates.io"), Some(443)).allowed);
//! assert!(!plan.decide(Destination::Name("github.com"), Some(443)).allowed);
//! assert!(plan.decide(Destination::Name("github.com"), Some(22)).allowed);
//! let metadata = "169.254.169.254".parse().unwrap();
//! let decision = plan.decide_address(metadata, 80);
//! assert!(!decision.allowed);
//! assert_eq!(decision.rule, "built-in deny-list: metadata 169.254.169.254/32");
//! ```

mod address;
mod decide;
mod denylist;
mod entry;
mod layers;
mod plan;
mod schema;

pub use address::embedded_ipv4;
pub use denylist::{
    AddressClass, DENYLIST_YAML, DeniedName, DeniedRange, DenyList, NameClass, built_in,
    parse_denylist,
};
pub use entry::{DEFAULT_PORTS, Entry, EntryError, HostPattern, Target, parse_entry};
pub use layers::{PROXY_MODE_ENFORCED, check_network, check_network_layer, resolve_network};
pub use plan::{CidrRule, Decision, Destination, HostRule, NetworkPlan};
pub use schema::{Network, NetworkEntry, flags_layer};

#[cfg(test)]
mod layer_tests;
#[cfg(test)]
mod tests;
