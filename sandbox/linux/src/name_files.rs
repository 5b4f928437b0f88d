//! The view's name files in proxy mode: `/etc/resolv.conf` names the DNS stub, and
//! `/etc/hosts` holds only `localhost` (and the sandbox's host name), so that every other
//! name goes through the stub and its decision. The host's own `/etc/hosts` still counts:
//! the egress engine resolves allowed names on the host side with `getaddrinfo`. Nothing
//! is written to the host: the two files live on a scratch tmpfs that is mounted over
//! `/tmp` for a moment, bound read-only onto the targets and detached again.

use std::path::Path;

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use crate::SandboxError;
use crate::sys::{self, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};

/// What `/etc/resolv.conf` says in a proxy-mode sandbox.
pub(crate) const RESOLV_CONF: &str =
    "# cordon: the sandbox's DNS stub (network mode proxy)\nnameserver 127.0.0.1\n";

/// What `/etc/hosts` says in a proxy-mode sandbox (`cordon` is its host name).
pub(crate) const HOSTS: &str = "# cordon: every other name is asked of the DNS stub (network mode proxy)\n127.0.0.1 localhost cordon\n::1 localhost ip6-localhost ip6-loopback\n";

fn fail(what: &str, error: &dyn std::fmt::Display) -> SandboxError {
    SandboxError::Mount(format!(
        "{what} (proxy mode's /etc/resolv.conf, /etc/hosts): {error}"
    ))
}

/// Binds both files. A target that does not exist (or is a dangling link) is left alone:
/// glibc then asks `127.0.0.1` (the stub) and has no hosts file, as wanted. Call in the
/// sandbox's mount namespace, after the view is built, before the command exists.
///
/// `private_tmp`: the view's private tmpfs, if it has one. The files are made there,
/// bound, and unlinked again (the binds keep them), which spares mounting and detaching a
/// scratch tmpfs (a detach waits for an RCU grace period).
pub(crate) fn point_names_at_stub(private_tmp: Option<&Path>) -> Result<(), SandboxError> {
    if let Some(dir) = private_tmp {
        let id = std::process::id();
        let (resolv, hosts) = (
            format!(".cordon-resolv.conf-{id}"),
            format!(".cordon-hosts-{id}"),
        );
        let bound = bind_file(dir, &resolv, RESOLV_CONF, c"/etc/resolv.conf")
            .and_then(|()| bind_file(dir, &hosts, HOSTS, c"/etc/hosts"));
        for name in [resolv, hosts] {
            let _ = std::fs::remove_file(dir.join(name));
        }
        return bound;
    }
    let scratch = Path::new("/tmp");
    mount(
        Some("tmpfs"),
        scratch,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("size=16k,mode=0755"),
    )
    .map_err(|e| fail("cannot mount a scratch tmpfs on /tmp", &e))?;
    let bound = bind_file(scratch, "resolv.conf", RESOLV_CONF, c"/etc/resolv.conf")
        .and_then(|()| bind_file(scratch, "hosts", HOSTS, c"/etc/hosts"));
    let detached = umount2(scratch, MntFlags::MNT_DETACH)
        .map_err(|e| fail("cannot detach the scratch tmpfs", &e));
    bound.and(detached)
}

fn bind_file(
    scratch: &Path,
    name: &str,
    text: &str,
    target: &std::ffi::CStr,
) -> Result<(), SandboxError> {
    let target_path = Path::new(target.to_str().unwrap_or_default());
    if std::fs::metadata(target_path).is_err() {
        return Ok(());
    }
    let file = scratch.join(name);
    std::fs::write(&file, text).map_err(|e| fail("cannot write the scratch file", &e))?;
    mount(
        Some(&file),
        target_path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| fail(&format!("cannot bind {}", target_path.display()), &e))?;
    sys::mount_setattr(
        target,
        false,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        0,
    )
    .map_err(|e| {
        fail(
            &format!("cannot make {} read-only", target_path.display()),
            &e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sched::{CloneFlags, unshare};

    fn in_new_namespaces(private_tmp: bool) -> Result<i32, String> {
        let uid = nix::unistd::geteuid();
        let gid = nix::unistd::getegid();
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS).map_err(|e| e.to_string())?;
        std::fs::write("/proc/self/setgroups", "deny").map_err(|e| e.to_string())?;
        std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))
            .map_err(|e| e.to_string())?;
        std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))
            .map_err(|e| e.to_string())?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| e.to_string())?;
        // A `/tmp` of this test's own stands for the host's: the host's real `/tmp`
        // changes under other processes (counting it made this test flaky).
        fresh_tmp()?;
        std::fs::write("/tmp/the-hosts-file", "x").map_err(|e| e.to_string())?;
        let tmp_before = listing("/tmp").map_err(|e| e.to_string())?;
        if private_tmp {
            fresh_tmp()?;
            point_names_at_stub(Some(Path::new("/tmp"))).map_err(|e| e.to_string())?;
            let left = listing("/tmp").ok();
            nix::mount::umount2("/tmp", MntFlags::MNT_DETACH).map_err(|e| e.to_string())?;
            if left != Some(Vec::new()) {
                return Ok(105);
            }
        } else {
            point_names_at_stub(None).map_err(|e| e.to_string())?;
        }
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        if read("/etc/resolv.conf") != RESOLV_CONF || read("/etc/hosts") != HOSTS {
            return Ok(102);
        }
        if std::fs::OpenOptions::new()
            .append(true)
            .open("/etc/hosts")
            .is_ok()
        {
            return Ok(103);
        }
        if listing("/tmp").ok() != Some(tmp_before) {
            return Ok(104);
        }
        Ok(0)
    }

    /// The names in `dir`, sorted.
    fn listing(dir: &str) -> std::io::Result<Vec<std::ffi::OsString>> {
        let mut names = std::fs::read_dir(dir)?
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect::<std::io::Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    }

    #[test]
    fn the_name_files_name_the_stub_read_only_and_tmp_is_left_as_it_was() {
        for private_tmp in [false, true] {
            check(private_tmp);
        }
    }

    fn check(private_tmp: bool) {
        let child = match crate::sys::fork().unwrap() {
            nix::unistd::ForkResult::Child => {
                let code = in_new_namespaces(private_tmp).unwrap_or_else(|error| {
                    eprintln!("{error}");
                    101
                });
                crate::sys::exit_now(code);
            }
            nix::unistd::ForkResult::Parent { child } => child,
        };
        assert_eq!(
            nix::sys::wait::waitpid(child, None).unwrap(),
            nix::sys::wait::WaitStatus::Exited(child, 0)
        );
        assert_ne!(
            std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
            HOSTS
        );
    }

    /// Mounts an empty tmpfs on `/tmp` (in the test's own mount namespace).
    fn fresh_tmp() -> Result<(), String> {
        mount(
            Some("tmpfs"),
            "/tmp",
            Some("tmpfs"),
            MsFlags::empty(),
            Some("mode=1777"),
        )
        .map_err(|e| e.to_string())
    }
}
