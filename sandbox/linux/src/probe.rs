//! Reads what the running kernel offers a sandbox: user namespaces, Landlock (and its
//! ABI), seccomp. Only reads `/proc` and `/sys` and asks `landlock_create_ruleset` for
//! its version; never changes anything.

use std::fmt;
use std::fs;
use std::path::Path;

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
    /// Unprivileged user namespaces.
    pub user_namespaces: Support,
    /// Landlock listed among the active Linux security modules.
    pub landlock: Support,
    /// seccomp filter mode.
    pub seccomp: Support,
    /// The Landlock ABI version the kernel offers (asked with `landlock_create_ruleset`),
    /// `None` when Landlock is unavailable or the host was not probed live.
    pub landlock_abi: Option<u32>,
}

impl HostSupport {
    /// Probes the running kernel through `/proc` and `/sys`.
    pub fn probe() -> Self {
        let mut host = Self::probe_root(Path::new("/"));
        host.landlock_abi = crate::sys::landlock_abi();
        if let Some(abi) = host.landlock_abi {
            host.landlock = Support::Yes(format!("ABI {abi}"));
        }
        host
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
    fn the_real_host_probes_without_panicking() {
        let host = HostSupport::probe();
        assert_eq!(host.report().len(), 5);
    }
}
