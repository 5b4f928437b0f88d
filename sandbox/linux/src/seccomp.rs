//! The seccomp filter: a deny-list on top of what namespaces, dropped capabilities and
//! Landlock already stop, for the kernel interfaces they do not cover.
//!
//! Two filters are stacked. The first holds the calls denied whatever their arguments,
//! as a binary search on the call number ([`search`]): `EPERM` for the denied calls, and
//! `ENOSYS` for `clone3` (its flags live in memory a filter cannot read, and `ENOSYS`
//! makes libc fall back to `clone`, whose flags the second filter checks). The second,
//! compiled by seccompiler, holds the rules that look at arguments (`ioctl`, `socket`,
//! `clone`, `personality`). Both begin with an architecture check that kills a process
//! using another syscall ABI (e.g. 32-bit `int 0x80` on x86_64, which has `socketcall`).

mod search;

use std::collections::BTreeMap;

use nix::libc;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::SandboxError;

const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541C;
const AF_UNIX: u64 = 1;
const AF_PACKET: u64 = 17;
const AF_VSOCK: u64 = 40;
const SOCK_RAW: u64 = 3;
const SOCK_PACKET: u64 = 10;
const PER_LINUX: u64 = 0;
const PER_LINUX32: u64 = 8;
const PERSONALITY_QUERY: u64 = 0xffff_ffff;
/// x32 system calls on x86_64 carry this bit.
const X32_BIT: i64 = search::X32_BIT as i64;
/// x32's own numbers for the denied calls whose arguments differ from x86_64's
/// (ptrace 521, process_vm_readv 539, process_vm_writev 540).
const X32_DENIED: &[i64] = &[521, 539, 540];

/// System calls denied outright, with the reason shown by `--print-plan`.
const DENIED: &[(i64, &str, &str)] = &[
    (libc::SYS_ptrace, "ptrace", "inspecting other processes"),
    (
        libc::SYS_process_vm_readv,
        "process_vm_readv",
        "reading other processes' memory",
    ),
    (
        libc::SYS_process_vm_writev,
        "process_vm_writev",
        "writing other processes' memory",
    ),
    (
        libc::SYS_io_uring_setup,
        "io_uring_setup",
        "io_uring bypasses syscall filtering",
    ),
    (
        libc::SYS_io_uring_enter,
        "io_uring_enter",
        "io_uring bypasses syscall filtering",
    ),
    (
        libc::SYS_io_uring_register,
        "io_uring_register",
        "io_uring bypasses syscall filtering",
    ),
    (libc::SYS_mount, "mount", "changing the filesystem view"),
    (libc::SYS_umount2, "umount2", "changing the filesystem view"),
    (
        libc::SYS_pivot_root,
        "pivot_root",
        "changing the filesystem view",
    ),
    (libc::SYS_chroot, "chroot", "changing the filesystem view"),
    (
        libc::SYS_open_tree,
        "open_tree",
        "changing the filesystem view",
    ),
    (
        libc::SYS_move_mount,
        "move_mount",
        "changing the filesystem view",
    ),
    (libc::SYS_fsopen, "fsopen", "changing the filesystem view"),
    (
        libc::SYS_fsconfig,
        "fsconfig",
        "changing the filesystem view",
    ),
    (libc::SYS_fsmount, "fsmount", "changing the filesystem view"),
    (libc::SYS_fspick, "fspick", "changing the filesystem view"),
    (
        libc::SYS_mount_setattr,
        "mount_setattr",
        "changing the filesystem view",
    ),
    (libc::SYS_setns, "setns", "entering other namespaces"),
    (
        libc::SYS_unshare,
        "unshare",
        "new namespaces (nested user namespaces undo mount denials)",
    ),
    (libc::SYS_keyctl, "keyctl", "kernel keyrings hold secrets"),
    (libc::SYS_add_key, "add_key", "kernel keyrings hold secrets"),
    (
        libc::SYS_request_key,
        "request_key",
        "kernel keyrings hold secrets",
    ),
    (libc::SYS_bpf, "bpf", "kernel attack surface"),
    (
        libc::SYS_perf_event_open,
        "perf_event_open",
        "kernel attack surface",
    ),
    (
        libc::SYS_userfaultfd,
        "userfaultfd",
        "kernel attack surface",
    ),
    (libc::SYS_kexec_load, "kexec_load", "kernel replacement"),
    (libc::SYS_init_module, "init_module", "kernel modules"),
    (libc::SYS_finit_module, "finit_module", "kernel modules"),
    (libc::SYS_delete_module, "delete_module", "kernel modules"),
    (libc::SYS_acct, "acct", "process accounting"),
    (libc::SYS_quotactl, "quotactl", "quota control"),
    (
        libc::SYS_syslog,
        "syslog",
        "the kernel log (host details, addresses)",
    ),
];

/// Denied on x86_64 only (the calls exist nowhere else).
#[cfg(target_arch = "x86_64")]
const DENIED_X86_64: &[(i64, &str, &str)] = &[
    (
        libc::SYS_modify_ldt,
        "modify_ldt",
        "kernel attack surface (16-bit segments)",
    ),
    (libc::SYS_uselib, "uselib", "obsolete library loading"),
];
#[cfg(not(target_arch = "x86_64"))]
const DENIED_X86_64: &[(i64, &str, &str)] = &[];

/// Every call denied whatever its arguments, with the reason.
fn denied() -> impl Iterator<Item = &'static (i64, &'static str, &'static str)> {
    DENIED.iter().chain(DENIED_X86_64)
}

/// One line per rule, for `--print-plan`.
pub fn describe(allow_unix_sockets: bool) -> Vec<String> {
    let mut lines: Vec<String> = denied()
        .map(|(_, name, why)| format!("{name} -> EPERM ({why})"))
        .collect();
    lines.push("clone with CLONE_NEW* flags -> EPERM (no nested namespaces)".into());
    lines.push("clone3 -> ENOSYS (libc falls back to the checked clone)".into());
    lines.push("ioctl TIOCSTI, TIOCLINUX -> EPERM (terminal injection)".into());
    if !allow_unix_sockets {
        lines.push("socket(AF_UNIX) -> EPERM (host daemons)".into());
    }
    lines.push("socket(AF_PACKET | AF_VSOCK | SOCK_RAW | SOCK_PACKET) -> EPERM".into());
    lines.push("personality other than PER_LINUX/PER_LINUX32/query -> EPERM".into());
    lines.push("any other syscall ABI (x86 32-bit, ...) -> process killed".into());
    lines
}

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, SandboxError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(seccomp_error)
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SandboxError> {
    SeccompRule::new(conditions).map_err(seccomp_error)
}

fn seccomp_error(error: impl std::fmt::Display) -> SandboxError {
    SandboxError::Seccomp(error.to_string())
}

/// The `AUDIT_ARCH_*` value of a seccompiler target.
fn audit_arch(arch: TargetArch) -> u32 {
    match arch {
        TargetArch::x86_64 => 0xC000_003E,
        TargetArch::aarch64 => 0xC000_00B7,
        TargetArch::riscv64 => 0xC000_00F3,
    }
}

fn number(nr: i64) -> Result<u32, SandboxError> {
    u32::try_from(nr).map_err(|_| seccomp_error(format!("system call number {nr}")))
}

/// Compiles the two filters for this machine's architecture.
pub(crate) fn compile(allow_unix_sockets: bool) -> Result<Vec<BpfProgram>, SandboxError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(seccomp_error)?;
    let x86_64 = arch == TargetArch::x86_64;
    let mut unconditional = Vec::new();
    for (nr, _, _) in denied() {
        unconditional.push((number(*nr)?, search::errno(libc::EPERM)));
    }
    if x86_64 {
        for nr in X32_DENIED {
            unconditional.push((number(*nr)?, search::errno(libc::EPERM)));
        }
    }
    unconditional.push((number(libc::SYS_clone3)?, search::errno(libc::ENOSYS)));
    let by_number = search::compile(audit_arch(arch), &unconditional, x86_64)?;

    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut ioctl = Vec::new();
    for request in [TIOCSTI, TIOCLINUX] {
        ioctl.push(rule(vec![condition(1, SeccompCmpOp::Eq, request)?])?);
    }
    rules.insert(libc::SYS_ioctl, ioctl);
    let mut socket = Vec::new();
    let mut families = vec![AF_PACKET, AF_VSOCK];
    if !allow_unix_sockets {
        families.push(AF_UNIX);
    }
    for family in families {
        socket.push(rule(vec![condition(0, SeccompCmpOp::Eq, family)?])?);
    }
    for kind in [SOCK_RAW, SOCK_PACKET] {
        socket.push(rule(vec![condition(
            1,
            SeccompCmpOp::MaskedEq(0xf),
            kind,
        )?])?);
    }
    rules.insert(libc::SYS_socket, socket);
    let mut clone = Vec::new();
    for flag in [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWCGROUP,
    ] {
        let flag = u64::from(flag.unsigned_abs());
        clone.push(rule(vec![condition(
            0,
            SeccompCmpOp::MaskedEq(flag),
            flag,
        )?])?);
    }
    rules.insert(libc::SYS_clone, clone);
    rules.insert(
        libc::SYS_personality,
        vec![rule(vec![
            condition(0, SeccompCmpOp::Ne, PER_LINUX)?,
            condition(0, SeccompCmpOp::Ne, PER_LINUX32)?,
            condition(0, SeccompCmpOp::Ne, PERSONALITY_QUERY)?,
        ])?],
    );
    if arch == TargetArch::x86_64 && crate::sys::x32_enabled() {
        // The same calls through the x32 ABI, plus x32's own number for ioctl (514).
        // Only when this kernel runs x32 calls at all: otherwise they fail with ENOSYS.
        let native: Vec<(i64, Vec<SeccompRule>)> =
            rules.iter().map(|(nr, r)| (*nr, r.clone())).collect();
        for (nr, r) in native {
            rules.insert(nr | X32_BIT, r);
        }
        let ioctl = rules.get(&libc::SYS_ioctl).cloned().unwrap_or_default();
        rules.insert(514 | X32_BIT, ioctl);
    }
    let by_arguments = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM.unsigned_abs()),
        arch,
    )
    .map_err(seccomp_error)?;
    Ok(vec![
        by_number,
        by_arguments.try_into().map_err(seccomp_error)?,
    ])
}

/// Installs compiled filters on the calling thread.
pub(crate) fn apply(programs: &[BpfProgram]) -> Result<(), SandboxError> {
    for program in programs {
        seccompiler::apply_filter(program).map_err(seccomp_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_for_this_machine() {
        let programs = compile(false).unwrap();
        assert_eq!(programs.len(), 2);
        assert!(programs[0].len() > DENIED.len());
        // The search tree keeps the kernel's per-number walk short; the chain of
        // argument rules stays small.
        assert!(
            programs[0].len() < 4 * DENIED.len(),
            "{}",
            programs[0].len()
        );
        assert!(programs[1].len() < 160, "{}", programs[1].len());
        assert!(describe(false).iter().any(|line| line.contains("AF_UNIX")));
        assert!(!describe(true).iter().any(|line| line.contains("AF_UNIX")));
    }
}
