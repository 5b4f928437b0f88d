//! The creation guard: lets the command create files in creation-locked directories,
//! except at the protected paths that do not exist yet.
//!
//! A bind mount cannot cover a path that does not exist, so the Plan puts a Landlock
//! *creation lock* on every writable directory above a missing protected path (for
//! example the project root, when `.mcp.json` is missing). On its own that lock makes
//! `touch new-file` fail there. With the guard, the command's seccomp filter sends every
//! call that may create a name (`open` with `O_CREAT`, `mkdir`, `mknod`, `symlink`,
//! `link`, `rename`) to PID 1 as a user notification. PID 1 reads the path from the
//! caller's memory once, resolves the parent directory itself to a descriptor, and:
//!
//! - when the parent is not below a lock, lets the call continue in the kernel, where
//!   Landlock still applies (so a caller that changes the path after the check gains
//!   nothing: the lock still refuses);
//! - when the name is a missing protected path or one of its missing ancestors, answers
//!   `EACCES`;
//! - otherwise performs the call itself on its own copy of the path, relative to the
//!   parent descriptor, never following a symbolic link at the last component, with the
//!   caller's umask, and hands back the result (for `open`, the new descriptor).
//!
//! PID 1 sees the same mounts as the command (read-only host, writable binds only where
//! the Plan allows), so it can only create where the command could write anyway.

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use cordon_policy::LandlockPlan;
use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, RenameFlags, openat, readlinkat, renameat2};
use nix::libc;
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat, mkdirat, mknodat};
use nix::unistd::{linkat, symlinkat};

use crate::sys;

/// The classic BPF program: `USER_NOTIF` for the calls that may create a name, `ALLOW`
/// for everything else (other ABIs are killed by the main filter).
pub(crate) fn filter() -> Vec<libc::sock_filter> {
    #[cfg(target_arch = "x86_64")]
    const NATIVE: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const NATIVE: u32 = 0xC000_00B7;
    #[cfg(target_arch = "x86_64")]
    let always: &[i64] = &[
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

/// PID 1's view of the Plan's creation locks.
#[derive(Debug)]
pub(crate) struct Guard {
    locked: Vec<Inode>,
    writable: Vec<Inode>,
    protected: Vec<PathBuf>,
}

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
        Some(Guard {
            locked: inodes(&mut plan.no_create.iter().map(|lock| &lock.dir)),
            writable: inodes(&mut plan.write.iter()),
            protected,
        })
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
        let answer = match call.memory() {
            // The caller died or the pid was reused: nothing may be done for it.
            Ok(memory) if sys::notif_id_valid(listener, notification.id) => {
                self.answer(&call, &memory).unwrap_or_else(Answer::Fail)
            }
            Ok(_) => return,
            Err(_) => Answer::Fail(Errno::EACCES),
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

    fn answer(&self, call: &Call, memory: &std::fs::File) -> Result<Answer, Errno> {
        let a = call.args;
        // A descriptor argument is a C int: the low 32 bits, sign included.
        let fd = |index: usize| a[index] as u32 as i32;
        let string = |index: usize| read_string(memory, a[index]);
        let int = |index: usize| a[index] as u32;
        match call.nr {
            #[cfg(target_arch = "x86_64")]
            libc::SYS_open => self.open(call, AT_FDCWD_RAW, &string(0)?, int(1), int(2)),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_creat => {
                let flags = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u32;
                self.open(call, AT_FDCWD_RAW, &string(0)?, flags, int(1))
            }
            libc::SYS_openat => self.open(call, fd(0), &string(1)?, int(2), int(3)),
            libc::SYS_openat2 => {
                let mut how = [0u8; 24];
                memory
                    .read_exact_at(&mut how, a[2])
                    .map_err(|_| Errno::EFAULT)?;
                let field =
                    |at: usize| u64::from_le_bytes(how[at..at + 8].try_into().unwrap_or([0; 8]));
                if field(16) != 0 {
                    // RESOLVE_* restrictions: left to the kernel and Landlock.
                    return Ok(Answer::Continue);
                }
                self.open(call, fd(0), &string(1)?, field(0) as u32, field(8) as u32)
            }
            #[cfg(target_arch = "x86_64")]
            libc::SYS_mkdir => self.mkdir(call, AT_FDCWD_RAW, &string(0)?, int(1)),
            libc::SYS_mkdirat => self.mkdir(call, fd(0), &string(1)?, int(2)),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_mknod => self.mknod(call, AT_FDCWD_RAW, &string(0)?, int(1)),
            libc::SYS_mknodat => self.mknod(call, fd(0), &string(1)?, int(2)),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_symlink => self.symlink(call, &string(0)?, AT_FDCWD_RAW, &string(1)?),
            libc::SYS_symlinkat => self.symlink(call, &string(0)?, fd(1), &string(2)?),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_link => {
                let old = (AT_FDCWD_RAW, string(0)?);
                self.link(call, &old, &(AT_FDCWD_RAW, string(1)?), 0)
            }
            libc::SYS_linkat => self.link(call, &(fd(0), string(1)?), &(fd(2), string(3)?), int(4)),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_rename => {
                let old = (AT_FDCWD_RAW, string(0)?);
                self.rename(call, &old, &(AT_FDCWD_RAW, string(1)?), 0)
            }
            libc::SYS_renameat => self.rename(call, &(fd(0), string(1)?), &(fd(2), string(3)?), 0),
            libc::SYS_renameat2 => {
                self.rename(call, &(fd(0), string(1)?), &(fd(2), string(3)?), int(4))
            }
            _ => Ok(Answer::Continue),
        }
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
    fn memory(&self) -> std::io::Result<std::fs::File> {
        std::fs::File::open(format!("/proc/{}/mem", self.pid))
    }

    /// The directory a `*at` call's `dirfd` names, for `path` (which may be absolute).
    fn base(&self, dirfd: i32, path: &[u8]) -> Result<OwnedFd, Errno> {
        let at = if path.first() == Some(&b'/') {
            "/".to_owned()
        } else if dirfd == libc::AT_FDCWD {
            format!("/proc/{}/cwd", self.pid)
        } else {
            format!("/proc/{}/fd/{dirfd}", self.pid)
        };
        open_dir(AT_FDCWD, Path::new(&at))
    }

    /// The caller's umask (from `/proc/PID/status`).
    fn umask(&self) -> u32 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("Umask:"))
                    .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    }
}

/// Reads a NUL-terminated path from the caller's memory.
fn read_string(memory: &std::fs::File, address: u64) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    while out.len() < libc::PATH_MAX as usize {
        let at = address + out.len() as u64;
        // Never read across a page end in one go: the next page may be unmapped.
        let room = (4096 - (at % 4096)) as usize;
        let want = room.min(chunk.len());
        let read = memory
            .read_at(&mut chunk[..want], at)
            .map_err(|_| Errno::EFAULT)?;
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
