//! Resolution of the network mode and sockets, and of the command's environment: what
//! each layer allows, denies and sets, and the relaxations a project asked for.

use std::collections::BTreeMap;

use super::Resolver;
use crate::env::{self, Pattern};
use crate::error::PolicyError;
use crate::network::NetworkPlan;
use crate::plan::{EnvPattern, EnvRemoval, EnvRules, Layer, Provenance, Relaxation};
use crate::schema::PolicyFile;

impl Resolver<'_> {
    pub(super) fn network_and_sockets(
        &mut self,
        ordered: &[(Layer, String, &PolicyFile)],
    ) -> Result<(NetworkPlan, bool), PolicyError> {
        let network = crate::network::resolve_network(ordered, &mut self.relaxations)?;
        let mut unix = false;
        for (layer, origin, file) in ordered {
            let from = Provenance {
                layer: *layer,
                origin: origin.clone(),
            };
            if let Some(sockets) = file.sockets {
                let wanted = sockets.unix;
                if wanted && !unix {
                    let granted = layer.trusted();
                    self.relaxations.push(Relaxation {
                        what: "sockets unix".into(),
                        by: Provenance {
                            origin: crate::placed::place(origin, sockets.line, sockets.column),
                            ..from
                        },
                        granted,
                        reason: if granted {
                            "set by a trusted layer".into()
                        } else {
                            "a project cannot allow unix sockets; set it globally or with --policy"
                                .into()
                        },
                    });
                    unix |= granted;
                } else if !wanted {
                    unix = false;
                }
            }
        }
        Ok((network, unix))
    }

    pub(super) fn environment(
        &mut self,
        ordered: &[(Layer, String, &PolicyFile)],
        host_env: &[(String, String)],
    ) -> (Vec<(String, String)>, Vec<EnvRemoval>, EnvRules) {
        let mut deny: Vec<Pattern> = env::DEFAULT_DENY
            .iter()
            .map(|p| Pattern {
                pattern: (*p).to_owned(),
                origin: "default (built-in)".into(),
                builtin: true,
            })
            .collect();
        let mut allow = Vec::new();
        let mut set = BTreeMap::new();
        for (layer, origin, file) in ordered {
            let from = Provenance {
                layer: *layer,
                origin: origin.clone(),
            };
            deny.extend(file.environment.deny.iter().map(|p| Pattern {
                pattern: p.clone(),
                origin: from.to_string(),
                builtin: false,
            }));
            for pattern in &file.environment.allow {
                if layer.trusted() {
                    allow.push(Pattern {
                        pattern: pattern.text.clone(),
                        origin: from.to_string(),
                        builtin: false,
                    });
                } else {
                    self.relaxations.push(Relaxation {
                        what: format!("env {pattern}"),
                        by: Provenance {
                            layer: *layer,
                            origin: pattern.place(origin),
                        },
                        granted: false,
                        reason: "a project cannot pass credentials through; allow it globally"
                            .into(),
                    });
                }
            }
            for (name, value) in &file.environment.set {
                set.insert(name.clone(), value.clone());
            }
        }
        let (mut kept, removed) = env::scrub(host_env, &deny, &allow);
        let rules = EnvRules {
            deny: deny.iter().map(EnvPattern::from).collect(),
            allow: allow.iter().map(EnvPattern::from).collect(),
            set: set
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        };
        kept.retain(|(name, _)| !set.contains_key(name));
        kept.extend(set);
        let removed = removed
            .into_iter()
            .map(|(name, because)| EnvRemoval { name, because })
            .collect();
        (kept, removed, rules)
    }
}

impl From<&Pattern> for EnvPattern {
    fn from(pattern: &Pattern) -> Self {
        EnvPattern {
            pattern: pattern.pattern.clone(),
            origin: pattern.origin.clone(),
        }
    }
}
