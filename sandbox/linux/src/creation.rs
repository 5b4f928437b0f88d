//! The creation guard: lets the command create files in creation-locked directories,
//! except at the protected paths that do not exist yet.
//!
//! A bind mount cannot cover a path that does not exist, so the Plan puts a Landlock
//! *creation lock* on every writable directory above a missing protected path (for
//! example the project root, when `.mcp.json` is missing). On its own that lock makes
//! `touch new-file` fail there. With the guard, the command's seccomp filter sends every
//! call that may create a name (`open` with `O_CREAT`, `mkdir`, `mknod`, `symlink`,
//! `link`, `rename`) to PID 1 as a user notification. PID 1 reads the path from the
//! caller's memory once (`process_vm_readv`), finds the parent directory and:
//!
//! - when the parent is not below a lock, lets the call continue in the kernel, where
//!   Landlock still applies (so a caller that changes the path after the check gains
//!   nothing: the lock still refuses). This is the common case, decided from one
//!   `stat` of the parent and a verdict remembered per directory inode
//!   ([`Guard::verdicts`]); directories are the exception: PID 1 moves them itself, so
//!   that it can forget every verdict right after the move;
//! - when the name is a missing protected path or one of its missing ancestors, answers
//!   `EACCES`;
//! - otherwise performs the call itself on its own copy of the path, relative to a
//!   descriptor of the parent it opened, never following a symbolic link at the last
//!   component, with the caller's umask ([`Guard::umasks`]), and hands back the result
//!   (for `open`, the new descriptor, `SECCOMP_ADDFD_FLAG_SEND`).
//!
//! The listener asks for `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6+): the caller
//! waits for the answer anyway, so the kernel switches to PID 1 on the caller's CPU.
//!
//! PID 1 sees the same mounts as the command (read-only host, writable binds only where
//! the Plan allows), so it can only create where the command could write anyway.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use cordon_policy::LandlockPlan;
use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, RenameFlags, openat, readlinkat, renameat2};
use nix::libc;
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat, mkdirat, mknodat};
use nix::unistd::{linkat, symlinkat};

use crate::guard_report::GuardReport;
use crate::sys;

/// The classic BPF program: `USER_NOTIF` for the calls that may create a name (and
/// `umask`, see [`Guard::umasks`]), `ALLOW` for everything else (other ABIs are killed by the main filter).
pub(crate) fn filter() -> Vec<libc::sock_filter> {
    #[cfg(target_arch = "x86_64")]
    const NATIVE: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const NATIVE: u32 = 0xC000_00B7;
    #[cfg(target_arch = "x86_64")]
    let always: &[i64] = &[
        libc::SYS_umask,
        libc::SYS_creat,
        libc::SYS_openat2,
        libc::SYS_mkdir,
        libc::SYS_mkdirat,
        libc::SYS_mknod,
        libc::SYS_mknodat,
        libc::SYS_symlink,
        libc::SYS_symlinkat,
        libc::SYS_link,
        libc::SYS_linkat,
        libc::SYS_rename,
        libc::SYS_renameat,
        libc::SYS_renameat2,
    ];
    #[cfg(not(target_arch = "x86_64"))]
    let always: &[i64] = &[
        libc::SYS_umask,
        libc::SYS_openat2,
        libc::SYS_mkdirat,
        libc::SYS_mknodat,
        libc::SYS_symlinkat,
        libc::SYS_linkat,
        libc::SYS_renameat,
        libc::SYS_renameat2,
    ];
    // (system call, index of its flags argument): notified only with O_CREAT.
    #[cfg(target_arch = "x86_64")]
    let with_create: &[(i64, u32)] = &[(libc::SYS_openat, 2), (libc::SYS_open, 1)];
    #[cfg(not(target_arch = "x86_64"))]
    let with_create: &[(i64, u32)] = &[(libc::SYS_openat, 2)];

    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code: u16, k: u32| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let number = |nr: i64| u32::try_from(nr).unwrap_or(u32::MAX);
    // Jumps are filled in once the two returns' places are known.
    enum To {
        Next,
        Allow,
        Notify,
        Skip(u8),
    }
    let mut program: Vec<(libc::sock_filter, To, To)> = Vec::new();
    program.push((op(LD_W_ABS, 4), To::Next, To::Next)); // seccomp_data.arch
    program.push((op(JEQ, NATIVE), To::Next, To::Allow));
    program.push((op(LD_W_ABS, 0), To::Next, To::Next)); // seccomp_data.nr
    for nr in always {
        program.push((op(JEQ, number(*nr)), To::Notify, To::Next));
    }
    for (nr, arg) in with_create {
        program.push((op(JEQ, number(*nr)), To::Next, To::Skip(2)));
        // The low 32 bits of args[arg] (little-endian).
        program.push((op(LD_W_ABS, 16 + 8 * arg), To::Next, To::Next));
        program.push((
            op(JSET, u32::try_from(libc::O_CREAT).unwrap_or(0o100)),
            To::Notify,
            To::Allow,
        ));
    }
    let allow_at = program.len();
    let notify_at = allow_at + 1;
    let mut out: Vec<libc::sock_filter> = program
        .into_iter()
        .enumerate()
        .map(|(at, (mut instruction, jt, jf))| {
            let offset = |to: To| -> u8 {
                let target = match to {
                    To::Next => at + 1,
                    To::Allow => allow_at,
                    To::Notify => notify_at,
                    To::Skip(n) => at + 1 + usize::from(n),
                };
                u8::try_from(target - at - 1).unwrap_or(u8::MAX)
            };
            instruction.jt = offset(jt);
            instruction.jf = offset(jf);
            instruction
        })
        .collect();
    out.push(op(RET, libc::SECCOMP_RET_ALLOW));
    out.push(op(RET, libc::SECCOMP_RET_USER_NOTIF));
    out
}

/// What PID 1 answers.
enum Answer {
    /// Let the kernel run the call (Landlock still applies).
    Continue,
    /// The call's result.
    Value(i64),
    /// The call fails with this errno.
    Fail(Errno),
    /// The call returns this descriptor, installed in the caller.
    Fd(OwnedFd, bool),
}

type Inode = (u64, u64);

fn inode(stat: &FileStat) -> Inode {
    (stat.st_dev, stat.st_ino)
}

/// Directories whose verdict is remembered at most; past that the memory starts over.
const MAX_VERDICTS: usize = 1 << 16;

/// PID 1's view of the Plan's creation locks.
#[derive(Debug)]
pub(crate) struct Guard {
    locked: Vec<Inode>,
    writable: Vec<Inode>,
    protected: Vec<PathBuf>,
    /// Every component of a protected path: a name outside this set is never protected,
    /// so most creations below a lock need no look at where their directory is.
    names: HashSet<OsString>,
    /// Whether a new entry in a directory is refused by a creation lock, by inode.
    ///
    /// A directory's verdict changes only when it, or a directory above it, is renamed:
    /// PID 1 performs every directory rename itself and forgets every verdict after it.
    /// A directory made where the lock applies can only be made by PID 1 (Landlock
    /// refuses the command), which records it. A wrong "not locked" can only make a
    /// call fail in the kernel (Landlock still applies to it), never let a protected
    /// name be created.
    verdicts: RefCell<HashMap<Inode, bool>>,
    /// The umask of single-threaded callers, with a process descriptor that tells
    /// whether the process is still the one read (a pid can be reused once it is
    /// reaped). Reading `/proc/PID/status` is the costliest step of an emulated
    /// creation. A process changes its umask only with `umask`, which is notified too
    /// and makes PID 1 forget every entry; a process with more threads is never
    /// remembered, so a thread changing the umask while another creates cannot leave a
    /// stale entry behind.
    umasks: RefCell<HashMap<u32, (OwnedFd, u32)>>,
    /// What was refused, for the caller's report (see [`crate::guard_report`]).
    refusals: RefCell<GuardReport>,
}

/// Processes whose umask is remembered at most.
const MAX_UMASKS: usize = 256;

impl Guard {
    /// The guard for `plan`, or `None` when it has no creation lock. Call in the
    /// sandbox's mount namespace, once the view is built.
    pub(crate) fn new(plan: &LandlockPlan) -> Option<Guard> {
        if plan.no_create.is_empty() {
            return None;
        }
        let inodes = |paths: &mut dyn Iterator<Item = &PathBuf>| -> Vec<Inode> {
            paths
                .filter_map(|path| nix::sys::stat::stat(path.as_path()).ok())
                .map(|stat| inode(&stat))
                .collect()
        };
        let mut protected: Vec<PathBuf> = plan
            .no_create
            .iter()
            .flat_map(|lock| lock.because.iter().cloned())
            .collect();
        protected.sort();
        protected.dedup();
        let names = protected
            .iter()
            .flat_map(|path| path.iter().map(OsStr::to_os_string))
            .collect();
        Some(Guard {
            locked: inodes(&mut plan.no_create.iter().map(|lock| &lock.dir)),
            writable: inodes(&mut plan.write.iter()),
            protected,
            names,
            verdicts: RefCell::new(HashMap::new()),
            umasks: RefCell::new(HashMap::new()),
            refusals: RefCell::new(GuardReport::default()),
        })
    }

    /// What the guard refused so far.
    pub(crate) fn refusals(&self) -> GuardReport {
        self.refusals.borrow().clone()
    }

    /// Answers one notification from `listener`.
    pub(crate) fn serve_one(&self, listener: &OwnedFd) {
        let Ok(notification) = sys::notif_recv(listener) else {
            return;
        };
        let call = Call {
            pid: notification.pid,
            nr: i64::from(notification.data.nr),
            args: notification.data.args,
        };
        let request = call.request();
        // Whatever was read belongs to the caller only while it still waits: a thread
        // that died (and a pid reused since) gets no answer.
        if !sys::notif_id_valid(listener, notification.id) {
            return;
        }
        let answer = match request {
            Ok(request) => self.answer(&call, request).unwrap_or_else(Answer::Fail),
            Err(errno) => Answer::Fail(errno),
        };
        let id = notification.id;
        match answer {
            Answer::Continue => sys::notif_send(listener, id, None),
            Answer::Value(value) => sys::notif_send(listener, id, Some(Ok(value))),
            Answer::Fail(errno) => sys::notif_send(listener, id, Some(Err(errno as i32))),
            Answer::Fd(fd, cloexec) => {
                if let Err(errno) = sys::notif_send_fd(listener, id, &fd, cloexec) {
                    sys::notif_send(listener, id, Some(Err(errno)));
                }
            }
        }
    }

    fn answer(&self, call: &Call, request: Request) -> Result<Answer, Errno> {
        match request {
            Request::Open {
                dirfd,
                path,
                flags,
                mode,
            } => self.open(call, dirfd, &path, flags, mode),
            Request::Mkdir { dirfd, path, mode } => self.mkdir(call, dirfd, &path, mode),
            Request::Mknod { dirfd, path, mode } => self.mknod(call, dirfd, &path, mode),
            Request::Symlink {
                target,
                dirfd,
                path,
            } => self.symlink(call, &target, dirfd, &path),
            Request::Link { old, new, flags } => self.link(call, &old, &new, flags),
            Request::Rename { old, new, flags } => self.rename(call, &old, &new, flags),
            Request::Umask => {
                self.umasks.borrow_mut().clear();
                Ok(Answer::Continue)
            }
            Request::Other => Ok(Answer::Continue),
        }
    }

    /// The caller's umask, remembered for single-threaded processes (see
    /// [`Guard::umasks`]).
    fn umask_of(&self, call: &Call) -> u32 {
        if let Some((process, umask)) = self.umasks.borrow().get(&call.pid)
            && sys::pidfd_alive(process)
        {
            return *umask;
        }
        let (umask, threads) = call.umask_and_threads();
        if threads == 1
            && let Ok(process) = i32::try_from(call.pid)
                .map_err(|_| std::io::Error::from_raw_os_error(libc::ESRCH))
                .and_then(sys::pidfd_open)
        {
            let mut umasks = self.umasks.borrow_mut();
            if umasks.len() >= MAX_UMASKS {
                umasks.clear();
            }
            umasks.insert(call.pid, (process, umask));
        }
        umask
    }
}

/// A notified call with its strings read from the caller's memory.
enum Request {
    Open {
        dirfd: i32,
        path: Vec<u8>,
        flags: u32,
        mode: u32,
    },
    Mkdir {
        dirfd: i32,
        path: Vec<u8>,
        mode: u32,
    },
    Mknod {
        dirfd: i32,
        path: Vec<u8>,
        mode: u32,
    },
    Symlink {
        target: Vec<u8>,
        dirfd: i32,
        path: Vec<u8>,
    },
    Link {
        old: (i32, Vec<u8>),
        new: (i32, Vec<u8>),
        flags: u32,
    },
    Rename {
        old: (i32, Vec<u8>),
        new: (i32, Vec<u8>),
        flags: u32,
    },
    /// `umask`: left to the kernel, remembered umasks forgotten.
    Umask,
    /// Left to the kernel.
    Other,
}

impl Call {
    /// Reads the call's arguments (strings from the caller's memory).
    fn request(&self) -> Result<Request, Errno> {
        let a = self.args;
        // A descriptor argument is a C int: the low 32 bits, sign included.
        let fd = |index: usize| a[index] as u32 as i32;
        let string = |index: usize| read_string(self.pid, a[index]);
        let int = |index: usize| a[index] as u32;
        let pair = |dirfd: usize, path: usize| -> Result<(i32, Vec<u8>), Errno> {
            Ok((fd(dirfd), string(path)?))
        };
        let cwd_pair =
            |path: usize| -> Result<(i32, Vec<u8>), Errno> { Ok((AT_FDCWD_RAW, string(path)?)) };
        let open = |dirfd: i32, path: usize, flags: u32, mode: u32| -> Result<Request, Errno> {
            Ok(Request::Open {
                dirfd,
                path: string(path)?,
                flags,
                mode,
            })
        };
        Ok(match self.nr {
            #[cfg(target_arch = "x86_64")]
            libc::SYS_open => open(AT_FDCWD_RAW, 0, int(1), int(2))?,
            #[cfg(target_arch = "x86_64")]
            libc::SYS_creat => {
                let flags = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u32;
                open(AT_FDCWD_RAW, 0, flags, int(1))?
            }
            libc::SYS_openat => open(fd(0), 1, int(2), int(3))?,
            libc::SYS_openat2 => {
                let mut how = [0u8; 24];
                let read = sys::read_memory(self.pid, a[2], &mut how).map_err(|_| Errno::EFAULT)?;
                if read != how.len() {
                    return Err(Errno::EFAULT);
                }
                let field =
                    |at: usize| u64::from_le_bytes(how[at..at + 8].try_into().unwrap_or([0; 8]));
                if field(16) != 0 {
                    // RESOLVE_* restrictions: left to the kernel and Landlock.
                    return Ok(Request::Other);
                }
                open(fd(0), 1, field(0) as u32, field(8) as u32)?
            }
            #[cfg(target_arch = "x86_64")]
            libc::SYS_mkdir => Request::Mkdir {
                dirfd: AT_FDCWD_RAW,
                path: string(0)?,
                mode: int(1),
            },
            libc::SYS_mkdirat => Request::Mkdir {
                dirfd: fd(0),
                path: string(1)?,
                mode: int(2),
            },
            #[cfg(target_arch = "x86_64")]
            libc::SYS_mknod => Request::Mknod {
                dirfd: AT_FDCWD_RAW,
                path: string(0)?,
                mode: int(1),
            },
            libc::SYS_mknodat => Request::Mknod {
                dirfd: fd(0),
                path: string(1)?,
                mode: int(2),
            },
            #[cfg(target_arch = "x86_64")]
            libc::SYS_symlink => Request::Symlink {
                target: string(0)?,
                dirfd: AT_FDCWD_RAW,
                path: string(1)?,
            },
            libc::SYS_symlinkat => Request::Symlink {
                target: string(0)?,
                dirfd: fd(1),
                path: string(2)?,
            },
            #[cfg(target_arch = "x86_64")]
            libc::SYS_link => Request::Link {
                old: cwd_pair(0)?,
                new: cwd_pair(1)?,
                flags: 0,
            },
            libc::SYS_linkat => Request::Link {
                old: pair(0, 1)?,
                new: pair(2, 3)?,
                flags: int(4),
            },
            #[cfg(target_arch = "x86_64")]
            libc::SYS_rename => Request::Rename {
                old: cwd_pair(0)?,
                new: cwd_pair(1)?,
                flags: 0,
            },
            libc::SYS_renameat => Request::Rename {
                old: pair(0, 1)?,
                new: pair(2, 3)?,
                flags: 0,
            },
            libc::SYS_renameat2 => Request::Rename {
                old: pair(0, 1)?,
                new: pair(2, 3)?,
                flags: int(4),
            },
            libc::SYS_umask => Request::Umask,
            _ => Request::Other,
        })
    }
}

const AT_FDCWD_RAW: i32 = libc::AT_FDCWD;

/// The notified call.
struct Call {
    pid: u32,
    nr: i64,
    args: [u64; 6],
}

impl Call {
    /// The path under which PID 1 finds `dir` (the directory part of a path the caller
    /// passed relative to its `dirfd`): through `/proc/PID/cwd` or `/proc/PID/fd/N` for
    /// a relative path, as it is for an absolute one.
    fn seen_from_pid1(&self, dirfd: i32, path: &[u8], dir: &[u8]) -> PathBuf {
        if path.first() == Some(&b'/') {
            return PathBuf::from(OsStr::from_bytes(dir));
        }
        let mut out = if dirfd == libc::AT_FDCWD {
            format!("/proc/{}/cwd/", self.pid).into_bytes()
        } else {
            format!("/proc/{}/fd/{dirfd}/", self.pid).into_bytes()
        };
        out.extend_from_slice(dir);
        PathBuf::from(OsString::from_vec(out))
    }

    /// The caller's umask and the number of threads of its process (from
    /// `/proc/PID/status`).
    fn umask_and_threads(&self) -> (u32, u32) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str, radix: u32| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| u32::from_str_radix(value.trim(), radix).ok())
        };
        (
            field("Umask:", 8).unwrap_or(0o022),
            field("Threads:", 10).unwrap_or(u32::MAX),
        )
    }
}

/// Reads a NUL-terminated path from the memory of process `pid`.
fn read_string(pid: u32, address: u64) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 512];
    while out.len() < libc::PATH_MAX as usize {
        let at = address + out.len() as u64;
        // The read stops at an unmapped page (the string ends before it).
        let read = sys::read_memory(pid, at, &mut chunk).map_err(|_| Errno::EFAULT)?;
        if read == 0 {
            return Err(Errno::EFAULT);
        }
        if let Some(end) = chunk[..read].iter().position(|b| *b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..read]);
    }
    Err(Errno::ENAMETOOLONG)
}

fn open_dir<Fd: std::os::fd::AsFd>(at: Fd, path: &Path) -> Result<OwnedFd, Errno> {
    openat(
        at,
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// A path split into the directory that holds its last component and that component.
struct Place {
    dir: OwnedFd,
    name: PathBuf,
}

mod ops;
