//! Builds the sandbox's filesystem view from a Plan's mount list, inside the private
//! mount namespace: the host read-only and nosuid, a private `/tmp`, a minimal `/dev`,
//! hidden secrets and kernel interfaces, and the binds the policy asks for. Nothing here
//! can create a file on the host: the host tree is read-only before any mountpoint is
//! made, and mountpoints are only created inside tmpfs mounts of our own.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use cordon_policy::Mount;
use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::Mode;

use crate::SandboxError;
use crate::sys::{self, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};

const NONE: Option<&str> = None;
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

fn failed(what: &str, path: &Path, error: impl std::fmt::Display) -> SandboxError {
    SandboxError::Mount(format!("{what} {}: {error}", path.display()))
}

fn cstring(path: &Path) -> Result<CString, SandboxError> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| failed("path with a NUL byte", path, "invalid"))
}

fn open_path(path: &Path) -> Result<OwnedFd, SandboxError> {
    open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| failed("cannot open", path, e))
}

fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn tmpfs(path: &Path, options: &str, flags: MsFlags) -> Result<(), SandboxError> {
    mount(
        Some("tmpfs"),
        path,
        Some("tmpfs"),
        flags | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options),
    )
    .map_err(|e| failed("cannot mount a tmpfs on", path, e))
}

/// Makes `path` exist as a directory or file when it is missing (only possible on our
/// own tmpfs mounts: the host tree is read-only by then).
fn ensure_target(path: &Path, dir: bool) -> Result<(), SandboxError> {
    if path.symlink_metadata().is_ok() {
        return Ok(());
    }
    let made = if dir {
        std::fs::create_dir_all(path)
    } else {
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::File::create(path).map(drop))
    };
    made.map_err(|e| failed("cannot make the mountpoint", path, e))
}

fn bind(source: &OwnedFd, target: &Path, writable: bool) -> Result<(), SandboxError> {
    let is_dir = nix::sys::stat::fstat(source)
        .map(|st| (st.st_mode & nix::libc::S_IFMT) == nix::libc::S_IFDIR)
        .unwrap_or(false);
    ensure_target(target, is_dir)?;
    mount(Some(&fd_path(source)), target, NONE, MsFlags::MS_BIND, NONE)
        .map_err(|e| failed("cannot bind", target, e))?;
    let (set, clear) = if writable {
        (MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY)
    } else {
        (MOUNT_ATTR_NOSUID | MOUNT_ATTR_RDONLY, 0)
    };
    sys::mount_setattr(&cstring(target)?, false, set, clear)
        .map_err(|e| failed("cannot set read-only/writable on", target, e))
}

/// Builds the view. Call in the new mount namespace, before forking the PID 1.
pub(crate) fn build_view(mounts: &[Mount]) -> Result<(), SandboxError> {
    let root = Path::new("/");
    mount(
        NONE,
        root,
        NONE,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        NONE,
    )
    .map_err(|e| failed("cannot make private", root, e))?;
    // Every source is opened before anything is covered.
    let mut sources: Vec<Option<OwnedFd>> = Vec::with_capacity(mounts.len());
    for entry in mounts {
        sources.push(match entry {
            Mount::Bind { path, .. } => Some(open_path(path)?),
            _ => None,
        });
    }
    let dev_null = open_path(Path::new("/dev/null"))?;
    let devices: Vec<(&str, OwnedFd)> = DEVICES
        .iter()
        .filter_map(|name| {
            open_path(&Path::new("/dev").join(name))
                .ok()
                .map(|fd| (*name, fd))
        })
        .collect();
    let mut hidden_dirs = Vec::new();
    for (entry, source) in mounts.iter().zip(&sources) {
        match (entry, source) {
            (Mount::ReadOnlyHost, _) => {
                sys::mount_setattr(c"/", true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0)
                    .map_err(|e| failed("cannot make read-only (needs Linux 5.12+)", root, e))?;
            }
            (Mount::PrivateTmp { path }, _) => tmpfs(path, "mode=1777", MsFlags::empty())?,
            (Mount::MinimalDev, _) => minimal_dev(&devices)?,
            (Mount::FreshProc, _) => {} // by the PID 1, inside the new PID namespace
            (Mount::Bind { path, writable, .. }, Some(fd)) => bind(fd, path, *writable)?,
            (Mount::Bind { path, .. }, None) => return Err(failed("no source for", path, "bind")),
            (Mount::HideDir { path, .. }, _) => {
                tmpfs(path, "mode=0755,size=64k", MsFlags::empty())?;
                hidden_dirs.push(path.clone());
            }
            (Mount::HideFile { path, .. }, _) => bind(&dev_null, path, false)?,
        }
    }
    // Hidden directories were writable only so that mountpoints could be made in them.
    for path in hidden_dirs {
        remount_read_only(&path)?;
    }
    Ok(())
}

fn remount_read_only(path: &Path) -> Result<(), SandboxError> {
    sys::mount_setattr(
        &cstring(path)?,
        false,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        0,
    )
    .map_err(|e| failed("cannot make read-only", path, e))
}

fn minimal_dev(devices: &[(&str, OwnedFd)]) -> Result<(), SandboxError> {
    let dev = Path::new("/dev");
    mount(
        Some("tmpfs"),
        dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID,
        Some("mode=0755"),
    )
    .map_err(|e| failed("cannot mount a tmpfs on", dev, e))?;
    for (name, fd) in devices {
        let target = dev.join(name);
        ensure_target(&target, false)?;
        mount(Some(&fd_path(fd)), &target, NONE, MsFlags::MS_BIND, NONE)
            .map_err(|e| failed("cannot bind", &target, e))?;
        sys::mount_setattr(
            &cstring(&target)?,
            false,
            MOUNT_ATTR_NOSUID,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
        )
        .map_err(|e| failed("cannot make writable", &target, e))?;
    }
    let pts = dev.join("pts");
    ensure_target(&pts, true)?;
    mount(
        Some("devpts"),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )
    .map_err(|e| failed("cannot mount devpts on", &pts, e))?;
    let shm = dev.join("shm");
    ensure_target(&shm, true)?;
    tmpfs(&shm, "mode=1777", MsFlags::MS_NOEXEC)?;
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))
            .map_err(|e| failed("cannot link", &dev.join(link), e))?;
    }
    remount_read_only(dev)
}

/// Mounts a fresh `/proc` for the new PID namespace (call as its PID 1).
pub(crate) fn fresh_proc() -> Result<(), SandboxError> {
    let proc = Path::new("/proc");
    mount(
        Some("proc"),
        proc,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        NONE,
    )
    .map_err(|e| failed("cannot mount a fresh proc on", proc, e))
}
