//! The unconditional rules of the seccomp filter, laid out as a binary search on the
//! system call number.
//!
//! seccompiler lays a filter out as a chain that compares the number with every rule in
//! turn. When a filter is installed, the kernel runs it once for every system call
//! number to find the calls it always allows (the filter's allow cache), so a chain of a
//! few hundred instructions costs ~0.2 ms at every start, about a tenth of the sandbox's
//! own set-up. A search tree answers any number in about six comparisons. Rules that
//! look at arguments stay with seccompiler, in a second, short filter.

use nix::libc;
use seccompiler::{BpfProgram, sock_filter};

use crate::SandboxError;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
/// Offsets of `seccomp_data`'s fields.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;
/// x32 system calls on x86_64 carry this bit in their number.
pub(crate) const X32_BIT: u32 = 0x4000_0000;
/// Ranges this short are searched linearly (two instructions per number).
const LINEAR: usize = 3;

/// `SECCOMP_RET_ERRNO` with `errno`.
pub(crate) fn errno(errno: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (errno.unsigned_abs() & libc::SECCOMP_RET_DATA)
}

fn op(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

fn offset(distance: usize) -> Result<u8, SandboxError> {
    u8::try_from(distance).map_err(|_| {
        SandboxError::Seccomp(format!(
            "the search filter needs a jump of {distance} instructions (at most 255)"
        ))
    })
}

/// A filter for `arch` (an `AUDIT_ARCH_*` value) that kills a process calling through
/// another ABI, returns `rules`' action for their numbers and allows every other call.
/// `fold_x32`: x32 calls (x86_64 only) are looked up without their x32 bit, so that one
/// table serves both ABIs (x32's own numbers, 512 to 547, are unused natively).
pub(crate) fn compile(
    arch: u32,
    rules: &[(u32, u32)],
    fold_x32: bool,
) -> Result<BpfProgram, SandboxError> {
    let mut sorted = rules.to_vec();
    sorted.sort_unstable();
    sorted.dedup_by_key(|(nr, _)| *nr);
    if sorted.len() != rules.len() {
        return Err(SandboxError::Seccomp(
            "a system call number is listed twice".into(),
        ));
    }
    let mut program = vec![
        op(LD_W_ABS, 0, 0, ARCH_OFFSET),
        op(JEQ, 1, 0, arch),
        op(RET, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        op(LD_W_ABS, 0, 0, NR_OFFSET),
    ];
    if fold_x32 {
        program.push(op(JSET, 0, 1, X32_BIT));
        program.push(op(AND, 0, 0, !X32_BIT));
    }
    program.extend(search(&sorted)?);
    Ok(program)
}

/// The search over `rules` (sorted by number, the number in the accumulator).
fn search(rules: &[(u32, u32)]) -> Result<Vec<sock_filter>, SandboxError> {
    if rules.len() <= LINEAR {
        // jeq n0; jeq n1; ...; ret ALLOW; ret action0; ret action1; ...
        let count = rules.len();
        let mut block: Vec<sock_filter> = rules.iter().map(|(nr, _)| op(JEQ, 0, 0, *nr)).collect();
        for (at, instruction) in block.iter_mut().enumerate() {
            // From the comparison after `at` to its return: the remaining comparisons,
            // the ALLOW, and the returns before it.
            instruction.jt = offset((count - at - 1) + 1 + at)?;
        }
        block.push(op(RET, 0, 0, libc::SECCOMP_RET_ALLOW));
        block.extend(rules.iter().map(|(_, action)| op(RET, 0, 0, *action)));
        return Ok(block);
    }
    let (below, from) = rules.split_at(rules.len() / 2);
    let below = search(below)?;
    let from_first = from[0].0;
    let from = search(from)?;
    let mut block = vec![op(JGE, offset(below.len())?, 0, from_first)];
    block.extend(below);
    block.extend(from);
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `program` the way the kernel does on a `seccomp_data` with this number and
    /// architecture (only the instructions `compile` emits).
    fn run(program: &[sock_filter], arch: u32, nr: u32) -> u32 {
        run_counted(program, arch, nr).0
    }

    /// The action and how many instructions ran.
    fn run_counted(program: &[sock_filter], arch: u32, nr: u32) -> (u32, usize) {
        let mut accumulator = 0u32;
        let mut at = 0usize;
        for steps in 1.. {
            let instruction = &program[at];
            let jump = |taken: bool| {
                1 + usize::from(if taken {
                    instruction.jt
                } else {
                    instruction.jf
                })
            };
            at += match instruction.code {
                LD_W_ABS if instruction.k == ARCH_OFFSET => {
                    accumulator = arch;
                    1
                }
                LD_W_ABS if instruction.k == NR_OFFSET => {
                    accumulator = nr;
                    1
                }
                JEQ => jump(accumulator == instruction.k),
                JGE => jump(accumulator >= instruction.k),
                JSET => jump(accumulator & instruction.k != 0),
                AND => {
                    accumulator &= instruction.k;
                    1
                }
                RET => return (instruction.k, steps),
                other => panic!("unexpected instruction {other:#x}"),
            };
        }
        unreachable!()
    }

    const ARCH: u32 = 0xC000_003E;

    fn rules(count: u32) -> Vec<(u32, u32)> {
        // Irregular gaps, both actions, in no particular order.
        (0..count)
            .rev()
            .map(|i| (i * 7 + i % 3, errno(if i % 5 == 0 { 38 } else { 1 })))
            .collect()
    }

    #[test]
    fn every_number_gets_its_rule_or_allow() {
        for count in [0, 1, 2, 3, 4, 5, 8, 31, 64, 100] {
            let rules = rules(count);
            let program = compile(ARCH, &rules, true).unwrap();
            for nr in 0..(count * 7 + 20) {
                let expected = rules
                    .iter()
                    .find(|(n, _)| *n == nr)
                    .map_or(libc::SECCOMP_RET_ALLOW, |(_, action)| *action);
                assert_eq!(run(&program, ARCH, nr), expected, "{count} rules, nr {nr}");
                assert_eq!(run(&program, ARCH, nr | X32_BIT), expected, "x32 {nr}");
            }
        }
    }

    #[test]
    fn another_abi_is_killed_and_x32_is_only_folded_when_asked() {
        let program = compile(ARCH, &[(101, errno(1))], false).unwrap();
        assert_eq!(
            run(&program, 0x4000_0003, 101),
            libc::SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(run(&program, ARCH, 101), errno(1));
        assert_eq!(run(&program, ARCH, 101 | X32_BIT), libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn searches_are_short_and_conflicts_are_refused() {
        let rules = rules(64);
        let program = compile(ARCH, &rules, true).unwrap();
        // 5 of prologue (x32 bit cleared), 5 branches (64 -> 2), at most 2 comparisons
        // and a return.
        let longest = (0..500)
            .map(|nr| run_counted(&program, ARCH, nr | X32_BIT).1)
            .max();
        assert_eq!(longest, Some(5 + 5 + 2 + 1));
        assert!(compile(ARCH, &[(1, errno(1)), (1, errno(38))], true).is_err());
    }
}
