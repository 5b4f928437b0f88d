//! Proxy mode's host side: the glue between the Plan's network rules
//! (`cordon_policy::NetworkPlan`) and the egress engine (`cordon_egress`). It builds the
//! engine's [`Policy`] from the plan plus this host's own addresses, opens the decision
//! log (a file the sandbox cannot write, see [`crate::netlog`]) and starts the engine on
//! the listeners that came back from the sandbox's network namespace. Everything here
//! runs in the calling `cordon` process, in the host's network namespace, so the
//! engine's outgoing sockets are the host's.

use std::collections::BTreeSet;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;

use cordon_egress::{
    DecisionLog, FakeIpPool, Host, Listeners, Policy, Proxy, SystemResolver, Target, Verdict,
};
use cordon_policy::{Decision, Destination, NetworkMode, NetworkPlan, Plan};

use crate::SandboxError;
use crate::netns::{NamespaceListeners, ProxyPorts};

/// How proxy mode records its decisions (the other modes ignore it).
#[derive(Debug, Clone, Default)]
pub struct NetworkOptions {
    /// The decision log (JSON lines); `None`: [`crate::default_log_path`] for the
    /// plan's project.
    pub log: Option<PathBuf>,
    /// The run id the log's records carry (`cordon run` passes its transcript's, so
    /// that the two can be joined); `None`: one made from the time and the process id.
    pub run_id: Option<String>,
}

/// What proxy mode saw in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkReport {
    /// The decision log the run's records went to.
    pub log: PathBuf,
    /// The run id they carry.
    pub run_id: String,
    /// The log's length before the run: the run's records are after it.
    pub log_offset: u64,
    /// The counts.
    pub summary: cordon_egress::Summary,
}

/// The engine's policy: the plan's decisions, with this host's own addresses treated
/// like loopback (reachable on `local_ports` only).
#[derive(Debug)]
struct PlanPolicy {
    plan: NetworkPlan,
    own_addresses: Vec<IpAddr>,
}

fn verdict(decision: Decision) -> Verdict {
    Verdict {
        allowed: decision.allowed,
        rule: decision.rule,
        origin: decision.origin,
        hint: decision.hint,
    }
}

fn destination(host: &Host) -> Destination<'_> {
    match host {
        Host::Name(name) => Destination::Name(name),
        Host::Ip(ip) => Destination::Ip(*ip),
    }
}

impl Policy for PlanPolicy {
    fn decide_target(&self, target: &Target) -> Verdict {
        verdict(
            self.plan
                .decide(destination(&target.host), Some(target.port)),
        )
    }

    fn decide_address(&self, target: &Target, addr: IpAddr) -> Verdict {
        verdict(
            self.plan
                .decide_address_on_host(addr, target.port, &self.own_addresses),
        )
    }

    fn decide_name(&self, name: &str) -> Verdict {
        verdict(self.plan.decide(Destination::Name(name), None))
    }
}

/// This host's addresses, loopback aside (the plan decides loopback with `local_ports`).
/// Fails closed: without them the sandbox could reach the host's services.
fn own_addresses() -> Result<Vec<IpAddr>, SandboxError> {
    let interfaces = nix::ifaddrs::getifaddrs().map_err(|e| {
        SandboxError::Setup(format!(
            "cannot list this host's addresses (getifaddrs): {e}"
        ))
    })?;
    Ok(interfaces
        .filter_map(|interface| {
            let address = interface.address?;
            let ip = match (address.as_sockaddr_in(), address.as_sockaddr_in6()) {
                (Some(v4), _) => IpAddr::V4(v4.ip()),
                (None, Some(v6)) => IpAddr::V6(v6.ip()),
                (None, None) => return None,
            };
            (!ip.is_loopback()).then_some(ip)
        })
        .collect::<BTreeSet<IpAddr>>()
        .into_iter()
        .collect())
}

/// The ports of the plan's proxy mode; `None` in the other modes.
pub(crate) fn ports(plan: &Plan) -> Option<ProxyPorts> {
    (plan.network.mode == NetworkMode::Proxy).then(|| ProxyPorts::new(&plan.network.ports()))
}

/// The view's private tmpfs when nothing mounted after it covers it (a bind of the host's
/// `/tmp` over it would make files written there the host's).
fn private_tmp(mounts: &[cordon_policy::Mount]) -> Option<PathBuf> {
    use cordon_policy::Mount;
    let (index, path) = mounts
        .iter()
        .enumerate()
        .find_map(|(index, mount)| match mount {
            Mount::PrivateTmp { path } => Some((index, path)),
            _ => None,
        })?;
    let covered = mounts.iter().skip(index + 1).any(|mount| match mount {
        Mount::ReadOnlyHost => true,
        Mount::MinimalDev => path.starts_with("/dev"),
        Mount::FreshProc => path.starts_with("/proc"),
        Mount::PrivateTmp { path: over }
        | Mount::Bind { path: over, .. }
        | Mount::HideDir { path: over, .. }
        | Mount::HideFile { path: over, .. } => path.starts_with(over),
    });
    (!covered).then(|| path.clone())
}

/// Proxy mode, prepared before anything forks: the ports, the checked log path, the
/// plan's rules.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) ports: ProxyPorts,
    /// The view's private tmpfs (where PID 1 makes the name files), if it has one.
    pub(crate) private_tmp: Option<PathBuf>,
    log: PathBuf,
    run_id: String,
    plan: NetworkPlan,
}

/// Proxy mode, ready to serve: the policy with this host's addresses, the open log. Made
/// while the sandbox's PID 1 builds the view (off the critical path).
#[derive(Debug)]
pub(crate) struct Ready {
    log: PathBuf,
    run_id: String,
    log_offset: u64,
    decisions: DecisionLog,
    policy: PlanPolicy,
}

impl Pending {
    /// `None` unless the plan asks for proxy mode.
    pub(crate) fn for_plan(
        plan: &Plan,
        options: &NetworkOptions,
    ) -> Result<Option<Pending>, SandboxError> {
        let Some(ports) = ports(plan) else {
            return Ok(None);
        };
        let log = match &options.log {
            Some(path) => path.clone(),
            None => crate::netlog::default_log_path(&plan.project, |name| std::env::var_os(name))
                .ok_or_else(|| {
                    SandboxError::Setup(
                        "no place for the network log: neither XDG_STATE_HOME nor HOME is set; pass --net-log FILE".into(),
                    )
                })?,
        };
        let log = crate::netlog::prepare(plan, &log)?;
        let private_tmp = private_tmp(&plan.mounts);
        Ok(Some(Pending {
            ports,
            private_tmp,
            log,
            run_id: options.run_id.clone().unwrap_or_else(run_id),
            plan: plan.network.clone(),
        }))
    }

    /// Reads this host's addresses and opens the log. Call in the host's network
    /// namespace.
    pub(crate) fn ready(self) -> Result<Ready, SandboxError> {
        let decisions = DecisionLog::append_to(&self.log, &self.run_id).map_err(|e| {
            SandboxError::Setup(format!(
                "egress proxy: cannot open the network log {}: {e}",
                self.log.display()
            ))
        })?;
        let log_offset = std::fs::metadata(&self.log).map_or(0, |meta| meta.len());
        Ok(Ready {
            log: self.log,
            run_id: self.run_id,
            log_offset,
            decisions,
            policy: PlanPolicy {
                plan: self.plan,
                own_addresses: own_addresses()?,
            },
        })
    }
}

impl Ready {
    /// Starts the engine on the listeners from the sandbox's network namespace. Call in
    /// the host's network namespace.
    pub(crate) fn start(self, listeners: NamespaceListeners) -> Result<Running, SandboxError> {
        let (log, run_id, log_offset) = (self.log, self.run_id, self.log_offset);
        let decisions = self.decisions;
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            SandboxError::Setup(format!("egress proxy: {what}: {e}"))
        };
        let listeners = Listeners {
            proxy: listeners.proxy.into_iter().map(TcpListener::from).collect(),
            dns_udp: listeners.dns_udp.into_iter().map(UdpSocket::from).collect(),
            dns_tcp: listeners
                .dns_tcp
                .into_iter()
                .map(TcpListener::from)
                .collect(),
            transparent: listeners
                .transparent
                .into_iter()
                .map(TcpListener::from)
                .collect(),
        };
        let proxy = cordon_egress::start(
            listeners,
            Arc::new(self.policy),
            Arc::new(SystemResolver),
            FakeIpPool::default(),
            decisions,
            Box::new(std::io::stderr()),
        )
        .map_err(|e| fail("cannot start", &e))?;
        Ok(Running {
            proxy,
            log,
            run_id,
            log_offset,
        })
    }
}

/// A running engine.
#[derive(Debug)]
pub(crate) struct Running {
    proxy: Proxy,
    log: PathBuf,
    run_id: String,
    log_offset: u64,
}

impl Running {
    /// Stops the engine (the command has exited) and says on stderr when something was
    /// denied, and where the details are.
    pub(crate) fn finish(self) -> NetworkReport {
        let summary = self.proxy.shutdown();
        let denied = summary.connections_denied + summary.dns_denied;
        if denied > 0 {
            eprintln!(
                "cordon: network: {denied} request(s) denied; every decision is in {}",
                self.log.display()
            );
        }
        NetworkReport {
            log: self.log,
            run_id: self.run_id,
            log_offset: self.log_offset,
            summary,
        }
    }
}

/// A run id: the start time and this process's id (unique on this host).
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use cordon_policy::{Layer, Mount, Provenance};

    use super::private_tmp;

    fn bind(path: &str) -> Mount {
        Mount::Bind {
            path: path.into(),
            writable: true,
            because: Provenance {
                layer: Layer::Flags,
                origin: "--allow-write".into(),
            },
        }
    }

    #[test]
    fn the_private_tmp_is_used_only_when_nothing_covers_it() {
        let tmp = Mount::PrivateTmp {
            path: "/tmp".into(),
        };
        let base = vec![Mount::ReadOnlyHost, tmp, Mount::MinimalDev];
        assert_eq!(private_tmp(&base), Some(PathBuf::from("/tmp")));
        let mut below = base.clone();
        below.push(bind("/tmp/project"));
        assert_eq!(private_tmp(&below), Some(PathBuf::from("/tmp")));
        let mut over = base;
        over.push(bind("/tmp"));
        assert_eq!(private_tmp(&over), None, "the host's /tmp bound over it");
        assert_eq!(private_tmp(&[Mount::ReadOnlyHost]), None);
    }
}
