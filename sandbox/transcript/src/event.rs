//! What the transcript records: one [`Event`] per line, wrapped in a [`Record`] that
//! places it in the hash chain. Field names are the transcript's format (documented in
//! docs/sandbox.md, "Transcript reference"); never put an environment value or file
//! contents in one.

use serde::{Deserialize, Serialize};

/// The format version every record carries (`v`).
pub const FORMAT_VERSION: u32 = 1;

/// One line of the transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The format version ([`FORMAT_VERSION`]).
    pub v: u32,
    /// The record's position in the file's chain: 0, 1, 2... across runs.
    pub seq: u64,
    /// When it was appended (RFC 3339, UTC).
    pub time: String,
    /// The run it belongs to.
    pub run: String,
    /// The event (`type` and its fields).
    #[serde(flatten)]
    pub event: Event,
    /// `sha256:` of the previous line's bytes (without its newline); [`GENESIS`] for
    /// the first record of a file.
    pub prev: String,
}

/// The `prev` of a file's first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// One event of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A run starts (before anything runs).
    RunStart(RunStart),
    /// A layer relaxed (or tried to relax) what a more trusted layer denied.
    Relaxation(RelaxationEvent),
    /// An approval was requested, granted, denied, expired or used.
    Approval(ApprovalEvent),
    /// The sandbox refused something during the run, as an observation source saw it.
    Denial(DenialEvent),
    /// The project's policy file changed since the user accepted it.
    PolicyChange(PolicyChangeEvent),
    /// The run ended.
    RunEnd(RunEnd),
}

impl Event {
    /// The `type` the record carries.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStart(_) => "run_start",
            Event::Relaxation(_) => "relaxation",
            Event::Approval(_) => "approval",
            Event::Denial(_) => "denial",
            Event::PolicyChange(_) => "policy_change",
            Event::RunEnd(_) => "run_end",
        }
    }
}

/// Where the transcript's denial records come from. A source not listed as observing in
/// a run's `run_start` saw nothing: its count at `run_end` is `null` ("not observed"),
/// never 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The creation guard (seccomp user notification supervisor): refusals to create a
    /// protected name that did not exist (a `.git/hooks/x`, `.envrc`...).
    CreationGuard,
    /// The egress proxy's decisions (network mode proxy).
    Proxy,
    /// seccomp `errno` denials (blocked socket families, namespaces, ptrace...): the
    /// kernel answers them without telling anyone, so cordon cannot see them yet.
    Seccomp,
    /// Landlock denials (the kernel's audit log, root with the audit switch on).
    Landlock,
}

impl Source {
    /// Every source, in the order the transcript lists them.
    pub const ALL: [Source; 4] = [
        Source::CreationGuard,
        Source::Proxy,
        Source::Seccomp,
        Source::Landlock,
    ];

    /// The name in the transcript.
    pub fn name(self) -> &'static str {
        match self {
            Source::CreationGuard => "creation_guard",
            Source::Proxy => "proxy",
            Source::Seccomp => "seccomp",
            Source::Landlock => "landlock",
        }
    }
}

/// `run_start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStart {
    /// The command, each word encoded by [`crate::lossless`].
    pub argv: Vec<String>,
    /// Where it starts ([`crate::lossless`]).
    pub cwd: String,
    /// The project directory ([`crate::lossless`]).
    pub project: String,
    /// `sha256:` of the effective policy ([`crate::policy_digest`]).
    pub policy_digest: String,
    /// The layers the policy came from, most general first.
    pub layers: Vec<LayerRef>,
    /// The sandbox tiers in force (`namespaces`, `landlock`, `seccomp`,
    /// `creation_guard`, `network:none|proxy|host`).
    pub tiers: Vec<String>,
    /// The sources that observe denials in this run.
    pub observing: Vec<Source>,
    /// cordon's version.
    pub cordon_version: String,
    /// The user id cordon runs as.
    pub uid: u32,
    /// Whether the approval gate asked or was off for this run, and who said so (absent
    /// in records written before cordon recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<GateSetting>,
}

/// The approval gate's setting for a run (`approvals: {shell: ...}` or `--approvals`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateSetting {
    /// `ask` (the gate asks before a command without an approval) or `allow` (the gate
    /// was off: the command ran without asking).
    pub shell: String,
    /// The layer that set it (`default`, `global`, `policy-file`, `flags`...).
    pub layer: String,
    /// Its file (`file:line:column` when known) or `command line`.
    pub origin: String,
}

/// A policy layer: which one and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// `built-in`, `global`, `policy-file`, `project`, `flags`.
    pub layer: String,
    /// The file path or the flag.
    pub origin: String,
}

/// `relaxation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaxationEvent {
    /// What was relaxed (`write /path`, `network host`, `env NAME`...).
    pub what: String,
    /// The layer that asked.
    pub layer: String,
    /// Its file, as `file:line:column` of the entry when the entry has a place, or flag.
    pub origin: String,
    /// Applied or refused.
    pub granted: bool,
    /// Why.
    pub reason: String,
}

/// `approval`: the approvals helper fills these (see the issue 13 contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalEvent {
    /// The request's id.
    pub request_id: String,
    /// Where the request stands.
    pub state: ApprovalState,
    /// The shape as shown to the human (escaped).
    pub shape: String,
    /// The command ([`crate::lossless`] words).
    pub argv: Vec<String>,
    /// argv[0] resolved through PATH.
    pub executable: Option<String>,
    /// Where it runs.
    pub cwd: String,
    /// `sha256:` of (canonical argv, executable, cwd, policy digest).
    pub decision_hash: String,
    /// Once or always.
    pub scope: Option<ApprovalScope>,
    /// The human (user name), or `no approver`.
    pub approver: Option<String>,
    /// `terminal`, `cli`, `mcp-elicitation`, `decision-api`, `none`.
    pub channel: Option<String>,
    /// The capabilities the approval adds (`network.allow registry.npmjs.org:443`).
    pub capability_delta: Vec<String>,
    /// When the request or the approval expires (RFC 3339).
    pub expires: Option<String>,
    /// Why (a refusal's reason, what made the shape uncacheable...).
    pub reason: Option<String>,
}

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Asked, no answer yet.
    Requested,
    /// A human allowed it.
    Granted,
    /// A human (or the absence of one) refused it.
    Denied,
    /// Nobody answered in time.
    Expired,
    /// A grant was used by this run.
    Used,
}

impl ApprovalState {
    /// The name in the transcript.
    pub fn name(self) -> &'static str {
        match self {
            ApprovalState::Requested => "requested",
            ApprovalState::Granted => "granted",
            ApprovalState::Denied => "denied",
            ApprovalState::Expired => "expired",
            ApprovalState::Used => "used",
        }
    }
}

/// How long an approval holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalScope {
    /// This one run.
    Once,
    /// Every later run with the same shape (until it expires or is revoked).
    Always,
}

/// `denial`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenialEvent {
    /// Who saw it.
    pub source: Source,
    /// What was attempted (`create`, `connect`...).
    pub op: String,
    /// On what: a path ([`crate::lossless`]) or `host:port`.
    pub object: String,
    /// Why it was refused (the rule), when the source says.
    pub reason: Option<String>,
    /// The policy key or flag that would allow it, when there is one.
    pub allow_with: Option<String>,
    /// How many identical denials this record stands for.
    pub count: u64,
}

/// `policy_change`: the project's policy differs from the one the user accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChangeEvent {
    /// The policy file.
    pub path: String,
    /// `sha256:` of the accepted version (`None`: never accepted).
    pub accepted_digest: Option<String>,
    /// `sha256:` of the file now.
    pub digest: String,
    /// What cordon did (`applied tightenings only`, `accepted`...).
    pub action: String,
    /// The change, line by line (`+ ...`, `- ...`).
    pub diff: Vec<String>,
}

/// `run_end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnd {
    /// The command's exit status, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
    /// Why nothing (or not all) ran, when cordon itself failed.
    pub error: Option<String>,
    /// From `run_start` to `run_end`.
    pub duration_ms: u64,
    /// Denials per source; `null`: the source was not observing.
    pub denials: DenialCounts,
    /// Relaxations granted.
    pub relaxations_granted: u64,
    /// Relaxations refused.
    pub relaxations_refused: u64,
}

/// Denials seen per source in one run; `None` ("not observed") when the source was off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenialCounts {
    /// The creation guard's refusals.
    pub creation_guard: Option<u64>,
    /// The proxy's refused connections.
    pub proxy: Option<u64>,
    /// seccomp denials.
    pub seccomp: Option<u64>,
    /// Landlock denials.
    pub landlock: Option<u64>,
}

impl DenialCounts {
    /// Zero for every source in `observing`, `None` for the others.
    pub fn observing(observing: &[Source]) -> Self {
        let count = |source| observing.contains(&source).then_some(0);
        DenialCounts {
            creation_guard: count(Source::CreationGuard),
            proxy: count(Source::Proxy),
            seccomp: count(Source::Seccomp),
            landlock: count(Source::Landlock),
        }
    }

    /// Adds `count` denials seen by `source` (a source that was not observing starts
    /// observing: a record is proof it was on).
    pub fn add(&mut self, source: Source, count: u64) {
        let slot = match source {
            Source::CreationGuard => &mut self.creation_guard,
            Source::Proxy => &mut self.proxy,
            Source::Seccomp => &mut self.seccomp,
            Source::Landlock => &mut self.landlock,
        };
        *slot = Some(slot.unwrap_or(0) + count);
    }
}
