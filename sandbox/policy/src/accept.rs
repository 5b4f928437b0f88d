//! A project's policy file that changed since the user last accepted it (`cordon policy
//! accept`) applies only its tightenings: its denials, protections and `approvals: ask`
//! come from the file as it is now, everything that can relax (allowed paths, the
//! network, sockets, allowed and set environment variables) from the accepted copy.
//! Entries taken from the accepted copy lose their line and column: those name a place in
//! the copy, not in the file a relaxation record names.

use crate::network::Network;
use crate::placed::Placed;
use crate::schema::{Environment, Filesystem, PolicyFile, Sockets};

/// `changed` with every key that can relax taken from `accepted` instead.
pub fn tightenings_only(changed: &PolicyFile, accepted: &PolicyFile) -> PolicyFile {
    let network = match (&changed.network, &accepted.network) {
        (None, None) => None,
        (changed_net, accepted_net) => {
            let accepted_net = accepted_net.clone().unwrap_or_default();
            Some(Network {
                deny: changed_net
                    .as_ref()
                    .map(|net| net.deny.clone())
                    .unwrap_or_default(),
                allow: unplaced(&accepted_net.allow),
                project_may_allow: unplaced(&accepted_net.project_may_allow),
                dangerously_unprotect: unplaced(&accepted_net.dangerously_unprotect),
                mode_line: 0,
                mode_column: 0,
                ..accepted_net
            })
        }
    };
    PolicyFile {
        version: changed.version,
        filesystem: Filesystem {
            allow_read: unplaced(&accepted.filesystem.allow_read),
            allow_write: unplaced(&accepted.filesystem.allow_write),
            deny_read: changed.filesystem.deny_read.clone(),
            deny_write: changed.filesystem.deny_write.clone(),
        },
        network,
        sockets: accepted
            .sockets
            .map(|sockets| Sockets::unplaced(sockets.unix)),
        environment: Environment {
            allow: unplaced(&accepted.environment.allow),
            deny: changed.environment.deny.clone(),
            set: accepted.environment.set.clone(),
        },
        project_may_relax: accepted.project_may_relax.clone(),
        dangerously_unprotect: unplaced(&accepted.dangerously_unprotect),
        accept_weaker: accepted.accept_weaker.clone(),
        protect: changed.protect.clone(),
        allow_home_project: accepted.allow_home_project,
        approvals: changed.approvals,
    }
}

/// `entries` without their places (see the module doc).
fn unplaced(entries: &[Placed]) -> Vec<Placed> {
    entries
        .iter()
        .map(|entry| Placed::unplaced(entry.text.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::parse_policy;

    #[test]
    fn only_the_tightenings_of_a_change_apply() {
        let accepted = parse_policy(
            "version: 1\nfilesystem: {allow_write: [build]}\nenvironment: {allow: [NPM_TOKEN]}\n",
            Path::new("old.yaml"),
        )
        .unwrap();
        let changed = parse_policy(
            "version: 1\nfilesystem: {allow_write: [build, ~/.ssh], deny_read: [secrets]}\nenvironment: {allow: [NPM_TOKEN, AWS_SECRET_ACCESS_KEY], deny: [FOO]}\nnetwork: {mode: host}\nprotect: [{path: tools}]\n",
            Path::new("new.yaml"),
        )
        .unwrap();
        let merged = tightenings_only(&changed, &accepted);
        assert_eq!(merged.filesystem.allow_write, ["build"]);
        assert_eq!(
            merged.filesystem.allow_write[0].line, 0,
            "a line of the accepted copy names no line of the file"
        );
        assert_eq!(changed.filesystem.deny_read[0].line, 2);
        assert_eq!(merged.filesystem.deny_read[0].line, 2);
        assert_eq!(merged.filesystem.deny_read, ["secrets"]);
        assert_eq!(merged.environment.allow, ["NPM_TOKEN"]);
        assert_eq!(merged.environment.deny, ["FOO"]);
        assert_eq!(merged.network.and_then(|net| net.mode), None);
        assert_eq!(merged.protect.len(), 1);
    }
}
