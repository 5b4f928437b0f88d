//! The raw system calls the sandbox needs and no safe wrapper offers: `fork`,
//! `mount_setattr`, `landlock_create_ruleset` (to read the ABI), dropping the capability
//! sets, `close_range` and `_exit`. This is the only module of cordon allowed to use
//! `unsafe`; every block says why it is sound.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;

use nix::libc;
use nix::unistd::ForkResult;

/// Forks the calling process.
///
/// The child only calls async-signal-safe functions and functions that glibc makes safe
/// after `fork` (its `fork` resets the allocator's locks), then `execve` or `_exit`.
pub(crate) fn fork() -> nix::Result<ForkResult> {
    // SAFETY: the child never returns into the caller's code paths that could hold
    // locks of other threads: it runs the sandbox set-up (which allocates, safe with
    // glibc's fork handlers) and ends in execve or _exit.
    unsafe { nix::unistd::fork() }
}

/// Ends the process at once, without running atexit handlers or flushing stdio (which
/// belong to the parent's copy).
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions and never returns.
    unsafe { libc::_exit(code) }
}

/// The Landlock ABI version the kernel offers, or `None` when Landlock is unavailable.
pub(crate) fn landlock_abi() -> Option<u32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag the syscall only
    // returns a number; it reads and writes no memory.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(version).ok().filter(|v| *v > 0)
}

/// `MOUNT_ATTR_RDONLY`.
pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x1;
/// `MOUNT_ATTR_NOSUID`.
pub(crate) const MOUNT_ATTR_NOSUID: u64 = 0x2;
/// `MOUNT_ATTR_NODEV`.
pub(crate) const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Sets and clears mount attributes on the mount at `path` (and below it when
/// `recursive`): Linux 5.12+.
pub(crate) fn mount_setattr(path: &CStr, recursive: bool, set: u64, clear: u64) -> io::Result<()> {
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: `path` is a valid NUL-terminated string; `attr` is a live, correctly laid
    // out struct mount_attr whose size is passed; the kernel only reads both.
    let result = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Empties the bounding, ambient, inheritable, permitted and effective capability sets.
pub(crate) fn drop_all_capabilities() -> io::Result<()> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|text| text.trim().parse::<libc::c_ulong>().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        // SAFETY: prctl(PR_CAPBSET_DROP, cap) takes integers only.
        let result = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if result != 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EINVAL) {
                return Err(error);
            }
        }
    }
    // SAFETY: prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL) takes integers only.
    let result = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset reads one header and, for version 3, two data structs; both are
    // live, correctly laid out and outlive the call.
    let result = unsafe { libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Marks every file descriptor from `first` up close-on-exec (`close_range` with
/// `CLOSE_RANGE_CLOEXEC`, Linux 5.11+), so that only 0, 1 and 2 reach the command.
pub(crate) fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range takes integers only; marking descriptors close-on-exec does
    // not invalidate any Rust object.
    let result = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Resets every catchable signal to its default action and unblocks all signals, as a
/// freshly started program expects (Rust ignores SIGPIPE, and the relays block the
/// forwarded signals; neither must reach the command).
pub(crate) fn reset_signals() -> io::Result<()> {
    // 1..=31: the real-time signals above are not touched by Rust or by the relays.
    for signal in 1..=31 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL runs no code of ours in signal context.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
    nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    )
    .map_err(io::Error::from)
}

/// True when the kernel runs x32 system calls (`CONFIG_X86_X32_ABI` on and enabled): a
/// harmless x32 `getpid` either answers or fails with `ENOSYS`.
#[cfg(target_arch = "x86_64")]
pub(crate) fn x32_enabled() -> bool {
    const X32_BIT: libc::c_long = 0x4000_0000;
    // SAFETY: getpid takes no arguments and touches no memory, whatever its ABI.
    let result = unsafe { libc::syscall(X32_BIT | libc::SYS_getpid) };
    result >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
}

/// No x32 ABI outside x86_64.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn x32_enabled() -> bool {
    false
}
