//! Reads what the running kernel offers a sandbox: user and network namespaces,
//! Landlock (and its ABI), seccomp. Reads `/proc` and `/sys`, asks
//! `landlock_create_ruleset` for its version, and tries the namespaces for real in a
//! throw-away child process (a sysctl cannot tell about AppArmor's or a container
//! runtime's restrictions); changes nothing on the host.

use std::fmt;
use std::fs;
use std::path::Path;

/// True when this process runs inside a cordon sandbox: PID 1 of its PID namespace is
/// cordon's init (`/proc/1/comm`), and the process itself is under a seccomp filter.
/// Neither can be changed from inside (a process names only itself, and cannot leave a
/// filter or make a new PID namespace there); outside, PID 1 is the host's init. Nested
/// sandboxes are impossible (user namespaces and mounts are denied inside), so `cordon
/// run` and `cordon doctor` say this instead of blaming the kernel.
pub fn inside_cordon_sandbox() -> bool {
    inside_cordon_sandbox_at(Path::new("/proc"))
}

fn inside_cordon_sandbox_at(proc: &Path) -> bool {
    let init_is_cordon = fs::read_to_string(proc.join("1/comm"))
        .is_ok_and(|comm| comm.trim_end() == crate::init::INIT_NAME);
    let filtered = fs::read_to_string(proc.join("self/status")).is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.split_whitespace().eq(["Seccomp:", "2"]))
    });
    init_is_cordon && filtered
}

/// Whether one kernel feature can be used, with the evidence for the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// The feature is available; the string says how that was established.
    Yes(String),
    /// The feature is not available; the string says why.
    No(String),
    /// It could not be established either way; the string says what was missing.
    Unknown(String),
}

impl Support {
    /// True only when the feature is known to be available.
    pub fn is_available(&self) -> bool {
        matches!(self, Support::Yes(_))
    }
}

impl fmt::Display for Support {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Support::Yes(why) => write!(f, "yes ({why})"),
            Support::No(why) => write!(f, "no ({why})"),
            Support::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// What this host supports, as read from the kernel's own interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSupport {
    /// `uname -r`, from `/proc/sys/kernel/osrelease`.
    pub kernel_release: Option<String>,
    /// Unprivileged user namespaces, and mounting inside them.
    pub user_namespaces: Support,
    /// Network namespaces (created inside a user namespace).
    pub network_namespaces: Support,
    /// Landlock listed among the active Linux security modules.
    pub landlock: Support,
    /// seccomp filter mode.
    pub seccomp: Support,
    /// The Landlock ABI version the kernel offers (asked with `landlock_create_ruleset`),
    /// `None` when Landlock is unavailable or the host was not probed live.
    pub landlock_abi: Option<u32>,
}

impl HostSupport {
    /// Probes the running kernel through `/proc` and `/sys`, and by creating the
    /// namespaces a sandbox needs in a child process.
    pub fn probe() -> Self {
        let mut host = Self::probe_root(Path::new("/"));
        host.landlock_abi = crate::sys::landlock_abi();
        if let Some(abi) = host.landlock_abi {
            host.landlock = Support::Yes(format!("ABI {abi}"));
        }
        let apparmor = fs::read_to_string("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
            .is_ok_and(|value| value.trim() == "1");
        if let Some(tried) = try_namespaces() {
            host.apply(&tried, apparmor);
        }
        host
    }

    /// Replaces the sysctl-based answers with what creating the namespaces did.
    fn apply(&mut self, tried: &Tried, apparmor: bool) {
        let hint = if apparmor {
            " (kernel.apparmor_restrict_unprivileged_userns = 1: AppArmor gives unconfined programs no capabilities in new user namespaces; a profile for cordon with `userns,` lifts that, as distributions ship for bwrap)"
        } else {
            ""
        };
        let errno = |code: i32| nix::errno::Errno::from_raw(code);
        let sysctl = match &self.user_namespaces {
            Support::Yes(why) | Support::No(why) | Support::Unknown(why) => why.clone(),
        };
        self.user_namespaces = match tried.user {
            Step::Done => Support::Yes(format!(
                "{sysctl}; created one, mapped our ids and mounted in it"
            )),
            Step::Failed(stage, code) => {
                Support::No(format!("{stage} failed: {}{hint}", errno(code)))
            }
        };
        self.network_namespaces = match tried.network {
            None => Support::Unknown("not tried: no user namespace".into()),
            Some(0) => Support::Yes("created one".into()),
            Some(code) => Support::No(format!("creating one failed: {}", errno(code))),
        };
    }

    /// Probes a kernel whose `/proc` and `/sys` are mounted under `root` (tests use a
    /// directory of fixture files).
    pub fn probe_root(root: &Path) -> Self {
        let read = |relative: &str| {
            fs::read_to_string(root.join(relative))
                .ok()
                .map(|text| text.trim().to_owned())
        };
        HostSupport {
            kernel_release: read("proc/sys/kernel/osrelease"),
            user_namespaces: user_namespaces(
                read("proc/sys/user/max_user_namespaces"),
                read("proc/sys/kernel/unprivileged_userns_clone").as_deref(),
            ),
            network_namespaces: network_namespaces(read("proc/sys/user/max_net_namespaces")),
            landlock: landlock(read("sys/kernel/security/lsm")),
            seccomp: seccomp(read("proc/self/status")),
            landlock_abi: None,
        }
    }

    /// One human-readable line per feature, for `cordon doctor`.
    pub fn report(&self) -> Vec<String> {
        vec![
            format!(
                "kernel: {}",
                self.kernel_release.as_deref().unwrap_or("unknown")
            ),
            format!("user namespaces: {}", self.user_namespaces),
            format!("network namespaces: {}", self.network_namespaces),
            format!("landlock: {}", self.landlock),
            format!("seccomp: {}", self.seccomp),
            format!("cordon run: {}", self.verdict()),
        ]
    }

    /// Whether `cordon run` can apply every layer here, and what it uses.
    pub fn verdict(&self) -> String {
        let mut missing = Vec::new();
        if matches!(self.user_namespaces, Support::No(_)) {
            missing.push("user namespaces (cordon refuses to run; no weaker mode exists for them)");
        }
        if matches!(self.network_namespaces, Support::No(_)) {
            missing.push("network namespaces (cordon refuses unless the policy sets `network: {mode: host}`)");
        }
        if matches!(self.landlock, Support::No(_)) {
            missing.push("Landlock (cordon refuses unless the global policy says `accept_weaker: [no-landlock]`)");
        }
        if matches!(self.seccomp, Support::No(_)) {
            missing.push("seccomp (cordon refuses to run)");
        }
        if missing.is_empty() {
            let abi = self.landlock_abi.map_or_else(
                || "unknown".to_owned(),
                |abi| {
                    let used = abi.min(crate::landlock::MAX_ABI as u32);
                    let scopes = if used >= 6 {
                        ", abstract-unix and signal scoping"
                    } else {
                        ""
                    };
                    let tcp = if used >= 4 { ", TCP" } else { "" };
                    format!("{used} (filesystem{tcp}{scopes})")
                },
            );
            format!("every layer available; Landlock ABI used: {abi}")
        } else {
            format!("missing: {}", missing.join("; "))
        }
    }
}

fn user_namespaces(max: Option<String>, debian_switch: Option<&str>) -> Support {
    if debian_switch == Some("0") {
        return Support::No("kernel.unprivileged_userns_clone = 0".into());
    }
    match max.map(|value| value.parse::<u64>()) {
        Some(Ok(0)) => Support::No("user.max_user_namespaces = 0".into()),
        Some(Ok(limit)) => Support::Yes(format!("user.max_user_namespaces = {limit}")),
        Some(Err(_)) => Support::Unknown("user.max_user_namespaces is not a number".into()),
        None => Support::Unknown("no /proc/sys/user/max_user_namespaces".into()),
    }
}

fn network_namespaces(max: Option<String>) -> Support {
    match max.map(|value| value.parse::<u64>()) {
        Some(Ok(0)) => Support::No("user.max_net_namespaces = 0".into()),
        Some(Ok(limit)) => Support::Yes(format!("user.max_net_namespaces = {limit}")),
        Some(Err(_)) => Support::Unknown("user.max_net_namespaces is not a number".into()),
        None => Support::Unknown("no /proc/sys/user/max_net_namespaces".into()),
    }
}

/// How far creating a sandbox's user and mount namespaces got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Done,
    /// Which step failed, with its errno.
    Failed(&'static str, i32),
}

/// What [`try_namespaces`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tried {
    user: Step,
    /// The errno of creating a network namespace (0: created), when it was tried.
    network: Option<i32>,
}

const STAGES: [&str; 3] = [
    "creating a user namespace",
    "mapping our ids in a new user namespace",
    "mounting in a new user namespace",
];

/// Creates a user namespace, maps our ids, mounts a tmpfs in a new mount namespace and
/// creates a network namespace, in a child process that exits at once. `None` when the
/// child could not be started or said nothing.
fn try_namespaces() -> Option<Tried> {
    use nix::sched::{CloneFlags, unshare};
    use nix::unistd::{ForkResult, getegid, geteuid};
    use std::io::{Read, Write};

    let (uid, gid) = (geteuid(), getegid());
    let (reader, writer) = crate::init::pipe().ok()?;
    match crate::sys::fork().ok()? {
        ForkResult::Child => {
            drop(reader);
            let errno = |e: nix::errno::Errno| e as i32;
            let io_errno = |e: std::io::Error| e.raw_os_error().unwrap_or(0);
            let user = (|| -> Result<(), (usize, i32)> {
                unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| (0, errno(e)))?;
                let write =
                    |file: &str, text: String| fs::write(file, text).map_err(|e| (1, io_errno(e)));
                write("/proc/self/setgroups", "deny".into())?;
                write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
                write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
                unshare(CloneFlags::CLONE_NEWNS).map_err(|e| (2, errno(e)))?;
                let none: Option<&str> = None;
                nix::mount::mount(
                    none,
                    "/",
                    none,
                    nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
                    none,
                )
                .and_then(|()| {
                    nix::mount::mount(
                        Some("tmpfs"),
                        "/",
                        Some("tmpfs"),
                        nix::mount::MsFlags::empty(),
                        none,
                    )
                })
                .map_err(|e| (2, errno(e)))
            })();
            let (stage, code, network) = match user {
                Ok(()) => {
                    let network = unshare(CloneFlags::CLONE_NEWNET).err().map_or(0, errno);
                    (-1i32, 0, network)
                }
                Err((stage, code)) => (i32::try_from(stage).unwrap_or(0), code, -1),
            };
            let mut report = Vec::with_capacity(12);
            for value in [stage, code, network] {
                report.extend_from_slice(&value.to_le_bytes());
            }
            let _ = std::fs::File::from(writer).write_all(&report);
            crate::sys::exit_now(0)
        }
        ForkResult::Parent { child } => {
            drop(writer);
            let mut report = [0u8; 12];
            let read = std::fs::File::from(reader).read_exact(&mut report);
            let _ = nix::sys::wait::waitpid(child, None);
            read.ok()?;
            let value = |at: usize| {
                i32::from_le_bytes([report[at], report[at + 1], report[at + 2], report[at + 3]])
            };
            let (stage, code, network) = (value(0), value(4), value(8));
            Some(match usize::try_from(stage) {
                Ok(stage) => Tried {
                    user: Step::Failed(STAGES.get(stage).copied().unwrap_or(STAGES[0]), code),
                    network: None,
                },
                Err(_) => Tried {
                    user: Step::Done,
                    network: Some(network),
                },
            })
        }
    }
}

fn landlock(lsm: Option<String>) -> Support {
    match lsm {
        Some(list) if list.split(',').any(|name| name == "landlock") => {
            Support::Yes(format!("active security modules: {list}"))
        }
        Some(list) => Support::No(format!("not among the active security modules: {list}")),
        None => Support::Unknown("no /sys/kernel/security/lsm (securityfs not mounted?)".into()),
    }
}

fn seccomp(status: Option<String>) -> Support {
    let Some(status) = status else {
        return Support::Unknown("no /proc/self/status".into());
    };
    match status
        .lines()
        .find_map(|line| line.strip_prefix("Seccomp:"))
        .map(str::trim)
    {
        Some(mode) => Support::Yes(format!("this process's seccomp mode is {mode}")),
        None => Support::No("the kernel reports no Seccomp field (CONFIG_SECCOMP off)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn inside_means_cordon_init_and_a_seccomp_filter() {
        let status = |mode: &str| format!("Name:\tsh\nSeccomp:\t{mode}\nSeccomp_filters:\t3\n");
        for (comm, mode, inside) in [
            ("cordon-init\n", "2", true),
            ("systemd\n", "2", false),
            ("cordon-init\n", "0", false),
        ] {
            let proc = fixture(&[("1/comm", comm), ("self/status", &status(mode))]);
            assert_eq!(
                inside_cordon_sandbox_at(proc.path()),
                inside,
                "{comm} {mode}"
            );
        }
    }

    #[test]
    fn a_capable_host() {
        let root = fixture(&[
            ("proc/sys/kernel/osrelease", "6.18.0\n"),
            ("proc/sys/user/max_user_namespaces", "96365\n"),
            (
                "sys/kernel/security/lsm",
                "lockdown,capability,landlock,bpf",
            ),
            (
                "proc/self/status",
                "Name:\tx\nSeccomp:\t0\nSeccomp_filters:\t0\n",
            ),
        ]);
        let host = HostSupport::probe_root(root.path());
        assert_eq!(host.kernel_release.as_deref(), Some("6.18.0"));
        assert!(host.user_namespaces.is_available());
        assert!(host.landlock.is_available());
        assert!(host.seccomp.is_available());
    }

    #[test]
    fn disabled_features_are_reported_as_such() {
        let root = fixture(&[
            ("proc/sys/user/max_user_namespaces", "0"),
            ("sys/kernel/security/lsm", "capability,apparmor"),
            ("proc/self/status", "Name:\tx\n"),
        ]);
        let host = HostSupport::probe_root(root.path());
        assert!(matches!(host.user_namespaces, Support::No(_)));
        assert!(matches!(host.landlock, Support::No(_)));
        assert!(matches!(host.seccomp, Support::No(_)));
        assert_eq!(host.kernel_release, None);
    }

    #[test]
    fn debian_switch_off_wins() {
        let root = fixture(&[
            ("proc/sys/user/max_user_namespaces", "100"),
            ("proc/sys/kernel/unprivileged_userns_clone", "0"),
        ]);
        let host = HostSupport::probe_root(root.path());
        assert!(matches!(host.user_namespaces, Support::No(_)));
        assert!(matches!(host.landlock, Support::Unknown(_)));
    }

    #[test]
    fn what_creating_the_namespaces_did_replaces_the_sysctls() {
        let root = fixture(&[
            ("proc/sys/user/max_user_namespaces", "100"),
            ("proc/sys/user/max_net_namespaces", "100"),
        ]);
        let mut host = HostSupport::probe_root(root.path());
        assert!(host.network_namespaces.is_available());
        let refused = Tried {
            user: Step::Failed(STAGES[2], 13),
            network: None,
        };
        host.apply(&refused, true);
        let Support::No(why) = &host.user_namespaces else {
            panic!("{:?}", host.user_namespaces);
        };
        assert!(
            why.starts_with("mounting in a new user namespace failed: EACCES"),
            "{why}"
        );
        assert!(
            why.contains("apparmor_restrict_unprivileged_userns"),
            "{why}"
        );
        assert!(matches!(host.network_namespaces, Support::Unknown(_)));
        assert!(host.verdict().starts_with("missing: user namespaces"));

        let mut host = HostSupport::probe_root(root.path());
        let no_network = Tried {
            user: Step::Done,
            network: Some(28),
        };
        host.apply(&no_network, false);
        assert!(host.user_namespaces.is_available());
        assert_eq!(
            host.network_namespaces,
            Support::No("creating one failed: ENOSPC: No space left on device".into())
        );
        assert!(
            host.verdict().contains("network: {mode: host}"),
            "{}",
            host.verdict()
        );
    }

    #[test]
    fn the_real_host_probes_without_panicking() {
        let host = HostSupport::probe();
        assert_eq!(host.report().len(), 6);
    }
}
