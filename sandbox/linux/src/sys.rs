//! The raw system calls the sandbox needs and no safe wrapper offers: `fork`,
//! `mount_setattr`, `landlock_create_ruleset` (to read the ABI), dropping the capability
//! sets, `close_range`, `_exit` and taking ownership of descriptors received over
//! `SCM_RIGHTS`. This is the only module of cordon allowed to use
//! `unsafe`; every block says why it is sound.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::os::fd::OwnedFd;

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

/// Forks the calling process straight into new namespaces (`clone` with `flags` and no
/// new stack, which behaves like `fork`): with `CLONE_NEWPID` the child is PID 1 of the
/// new PID namespace, so no further fork is needed for it.
///
/// Only for single-threaded callers: unlike glibc's `fork`, the raw system call does not
/// reset the allocator's locks or glibc's cached thread id in the child.
pub(crate) fn clone_into(flags: nix::sched::CloneFlags) -> nix::Result<ForkResult> {
    let flags = libc::c_ulong::from(flags.bits().unsigned_abs()) | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a null stack pointer clone duplicates the caller like fork does, so
    // the child continues on its own copy of the stack; no pointer arguments are passed.
    // The caller is single-threaded (the contract of `spawn::run`), so no lock can be
    // held by another thread at the time of the copy.
    let result = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match result {
        -1 => Err(nix::errno::Errno::last()),
        0 => Ok(ForkResult::Child),
        pid => Ok(ForkResult::Parent {
            child: nix::unistd::Pid::from_raw(
                i32::try_from(pid).map_err(|_| nix::errno::Errno::EINVAL)?,
            ),
        }),
    }
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

/// Installs a classic BPF seccomp `program` that asks for user notifications and
/// returns the listener (`SECCOMP_FILTER_FLAG_NEW_LISTENER`, Linux 5.0+).
pub(crate) fn install_notify_filter(program: &[libc::sock_filter]) -> io::Result<OwnedFd> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `program`, which outlives the call; the kernel copies the
    // instructions and only reads them.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &raw const fprog,
        )
    };
    owned(fd)
}

fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    let fd = i32::try_from(fd).map_err(|_| io::Error::last_os_error())?;
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// A process descriptor for `pid` (`pidfd_open`, 5.3+; close-on-exec).
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes integers only.
    owned(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })
}

/// True while the process `pidfd` refers to has not been reaped (signal 0 through the
/// descriptor, `pidfd_send_signal`, 5.1+).
pub(crate) fn pidfd_alive(pidfd: &OwnedFd) -> bool {
    // SAFETY: pidfd_send_signal with signal 0 and a null info pointer only checks that
    // the process exists and may be signalled; it reads no memory.
    let result = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            std::os::fd::AsRawFd::as_raw_fd(pidfd),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    result == 0
}

/// A copy of descriptor `fd` of process `pid` (`pidfd_open` + `pidfd_getfd`, 5.6+).
pub(crate) fn steal_fd(pid: i32, fd: i32) -> io::Result<OwnedFd> {
    let pidfd = pidfd_open(pid)?;
    // SAFETY: pidfd_getfd takes integers only; `pidfd` is a live descriptor.
    owned(unsafe {
        libc::syscall(
            libc::SYS_pidfd_getfd,
            std::os::fd::AsRawFd::as_raw_fd(&pidfd),
            fd,
            0,
        )
    })
}

/// Receives the next seccomp notification on `listener` (blocks).
pub(crate) fn notif_recv(listener: &OwnedFd) -> io::Result<libc::seccomp_notif> {
    // SAFETY: seccomp_notif is plain old data; all-zero is a valid value (and the kernel
    // requires the buffer zeroed).
    let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: the ioctl writes one seccomp_notif into `notif`, which is live and sized.
    let result = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(listener),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &raw mut notif,
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(notif)
}

/// True while notification `id` still waits for an answer (its thread is alive).
pub(crate) fn notif_id_valid(listener: &OwnedFd, id: u64) -> bool {
    // SAFETY: the ioctl reads one u64 from `id`, which is live.
    let result = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(listener),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &raw const id,
        )
    };
    result == 0
}

/// Answers notification `id`: `Ok(value)` as the call's result, `Err(errno)` as its
/// error, or `None` to let the call continue in the kernel.
pub(crate) fn notif_send(listener: &OwnedFd, id: u64, answer: Option<Result<i64, i32>>) {
    let (val, error, flags) = match answer {
        None => (0, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
        Some(Ok(value)) => (value, 0, 0),
        Some(Err(errno)) => (0, -errno, 0),
    };
    let resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    // SAFETY: the ioctl reads one seccomp_notif_resp from `resp`, which is live. A
    // failure means the caller is gone; there is no one left to answer.
    let _ = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(listener),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &raw const resp,
        )
    };
}

/// Answers notification `id` by installing `fd` in the caller as the call's result
/// (`SECCOMP_ADDFD_FLAG_SEND`, Linux 5.14+). Returns the errno on failure.
pub(crate) fn notif_send_fd(
    listener: &OwnedFd,
    id: u64,
    fd: &OwnedFd,
    cloexec: bool,
) -> Result<(), i32> {
    let addfd = libc::seccomp_notif_addfd {
        id,
        flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
        srcfd: u32::try_from(std::os::fd::AsRawFd::as_raw_fd(fd)).unwrap_or(u32::MAX),
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: the ioctl reads one seccomp_notif_addfd from `addfd`, which is live.
    let result = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(listener),
            libc::SECCOMP_IOCTL_NOTIF_ADDFD,
            &raw const addfd,
        )
    };
    if result < 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(())
    }
}

/// Sets the process's umask (the creation supervisor applies each caller's own).
pub(crate) fn set_umask(mask: u32) {
    // SAFETY: umask takes an integer and cannot fail.
    unsafe { libc::umask(mask) };
}

/// Asks the kernel to wake the supervisor on the notifying thread's own CPU and switch to
/// it at once (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, Linux 6.6+): the caller waits for
/// the answer anyway, so this saves a cross-CPU wake-up per notification. Returns the
/// errno when the kernel does not know the flag.
pub(crate) fn notif_sync_wake_up(listener: &OwnedFd) -> Result<(), i32> {
    const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
    let flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    // SAFETY: the ioctl reads one u64 from `flags`, which is live.
    let result = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(listener),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            &raw const flags,
        )
    };
    if result < 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(())
    }
}

/// Copies process `pid`'s memory at `address` into `buffer` (`process_vm_readv`): one
/// system call instead of opening `/proc/PID/mem`. The remote range is split at page
/// boundaries, so that an unmapped page after the data ends the copy there instead of
/// failing it. Returns how many bytes were copied.
pub(crate) fn read_memory(pid: u32, address: u64, buffer: &mut [u8]) -> io::Result<usize> {
    const PAGE: u64 = 4096;
    let mut remote = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; 3];
    let mut pieces = 0;
    let mut at = address;
    let end = address.saturating_add(buffer.len() as u64);
    while at < end && pieces < remote.len() {
        let page_end = (at / PAGE + 1).saturating_mul(PAGE).min(end);
        remote[pieces] = libc::iovec {
            iov_base: at as usize as *mut libc::c_void,
            iov_len: (page_end - at) as usize,
        };
        pieces += 1;
        at = page_end;
    }
    let copied_len = (at - address) as usize;
    let local = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: copied_len,
    };
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: `local` describes `buffer`'s first `copied_len` bytes (at most its length),
    // which is live and writable for the call; the remote iovecs are addresses in another
    // process, which the kernel checks and never dereferences in ours.
    let read = unsafe {
        libc::process_vm_readv(
            pid,
            &raw const local,
            1,
            remote.as_ptr(),
            pieces as libc::c_ulong,
            0,
        )
    };
    usize::try_from(read).map_err(|_| io::Error::last_os_error())
}

/// Takes ownership of a descriptor that `recvmsg` just received in an `SCM_RIGHTS`
/// message (the proxy listeners, [`crate::fdpass`]).
pub(crate) fn adopt_received_fd(fd: std::os::fd::RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: the kernel installed `fd` in our descriptor table while delivering the
    // message; nix only returned its number, so nothing else owns or closes it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}
