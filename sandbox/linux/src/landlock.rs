//! Applies a Plan's Landlock ruleset at the highest ABI the kernel offers (up to 7):
//! filesystem rights, TCP bind/connect, and scoping of abstract unix sockets and
//! signals to the sandbox.

use cordon_policy::LandlockPlan;
use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use crate::SandboxError;

/// The newest ABI cordon asks for.
pub const MAX_ABI: ABI = ABI::V7;

/// What was enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enforced {
    /// Every requested right is enforced.
    Fully,
    /// The kernel's older ABI enforces only part.
    Partially,
    /// Landlock is unavailable.
    Not,
}

fn rules(
    paths: &[std::path::PathBuf],
    access: BitFlags<AccessFs>,
) -> Vec<Result<PathBeneath<PathFd>, landlock::RulesetError>> {
    paths
        .iter()
        .filter_map(|path| {
            let fd = PathFd::new(path).ok()?;
            let is_dir = std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(true);
            let access = if is_dir {
                access
            } else {
                access & AccessFs::from_file(MAX_ABI)
            };
            Some(Ok(PathBeneath::new(fd, access)))
        })
        .collect()
}

/// Restricts the calling thread (and what it executes) to `plan`.
pub(crate) fn apply(plan: &LandlockPlan) -> Result<Enforced, SandboxError> {
    let error = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
    let abi = MAX_ABI;
    let all = AccessFs::from_all(abi);
    let create = AccessFs::MakeChar
        | AccessFs::MakeDir
        | AccessFs::MakeReg
        | AccessFs::MakeSock
        | AccessFs::MakeFifo
        | AccessFs::MakeBlock
        | AccessFs::MakeSym
        | AccessFs::Refer;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(error)?;
    if plan.deny_tcp {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(abi))
            .map_err(error)?;
    }
    if plan.scoped {
        ruleset = ruleset
            .scope(Scope::AbstractUnixSocket | Scope::Signal)
            .map_err(error)?;
    }
    let no_create: Vec<std::path::PathBuf> =
        plan.no_create.iter().map(|lock| lock.dir.clone()).collect();
    let status = ruleset
        .create()
        .map_err(error)?
        .add_rules(rules(&plan.read, AccessFs::from_read(abi)))
        .map_err(error)?
        .add_rules(rules(&plan.write, all))
        .map_err(error)?
        .add_rules(rules(&no_create, all & !create))
        .map_err(error)?
        .add_rules(rules(&plan.devices, all))
        .map_err(error)?
        .restrict_self()
        .map_err(error)?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Enforced::Fully,
        RulesetStatus::PartiallyEnforced => Enforced::Partially,
        RulesetStatus::NotEnforced => Enforced::Not,
    })
}
