//! The approvals store of one project, in its state directory (outside every sandbox):
//! `approvals.json` holds the "always" approvals, `pending/<id>.json` the requests a
//! human has not answered yet (they expire) and the answers not yet used. Parsing is
//! strict: a file that does not parse fails closed with its name and position.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::files;
use crate::pattern::CommandPattern;
use crate::shape::Shape;

/// How long a pending request waits for an answer by default.
pub const DEFAULT_REQUEST_TTL: SignedDuration = SignedDuration::from_mins(10);
/// How long an "always" approval lasts by default.
pub const DEFAULT_APPROVAL_TTL: SignedDuration = SignedDuration::from_hours(24 * 30);
/// The store's schema version.
const VERSION: u32 = 1;

/// A human's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// This exact invocation (same decision hash), one run.
    Once,
    /// This shape from now on (until the approval expires or is removed).
    Always,
    /// No.
    Deny,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for a human.
    Pending,
    /// Granted for one run, not used yet.
    GrantedOnce,
    /// Granted always (a rule was stored).
    GrantedAlways,
    /// Denied.
    Denied,
}

/// One approval request (`pending/<id>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Schema version (1).
    pub version: u32,
    /// The request id (hex).
    pub request_id: String,
    /// Where it stands.
    pub state: RequestState,
    /// The command as shown.
    pub shape: String,
    /// The argv, lossless.
    pub argv: Vec<String>,
    /// `argv[0]` resolved.
    pub executable: Option<String>,
    /// Where it runs.
    pub cwd: String,
    /// The simple commands (what an "always" approval stores).
    pub commands: Vec<crate::shape::Command>,
    /// Why it may not be cached (`None`: it may).
    pub uncacheable: Option<String>,
    /// The decision hash it is bound to.
    pub decision_hash: String,
    /// Capabilities asked beyond the policy (`network.allow HOST`, `filesystem.allow_write PATH`).
    pub capability_delta: Vec<String>,
    /// When it was made (RFC 3339).
    pub created: String,
    /// When it expires (RFC 3339).
    pub expires: String,
    /// Who answered.
    #[serde(default)]
    pub approver: Option<String>,
    /// Through which channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// When (RFC 3339).
    #[serde(default)]
    pub decided: Option<String>,
}

impl Request {
    /// True when past its expiry (a request whose expiry does not parse counts as expired).
    pub fn expired(&self, now: Timestamp) -> bool {
        self.expires
            .parse::<Timestamp>()
            .map_or(true, |expires| now >= expires)
    }
}

/// A stored "always" approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Its id (for `cordon approvals rm`).
    pub id: String,
    /// The commands it covers (all must match for a call to be covered).
    pub command: CommandPattern,
    /// The command as it was shown when approved.
    pub shown: String,
    /// Who approved it.
    pub approver: String,
    /// Through which channel (terminal, cli, mcp-elicitation, decision-api).
    pub channel: String,
    /// When (RFC 3339).
    pub approved: String,
    /// Until when (RFC 3339).
    pub expires: String,
    /// The request it came from and its decision hash.
    pub request_id: String,
    /// The decision hash of the approved request.
    pub decision_hash: String,
    /// Capabilities it adds when it covers a call.
    #[serde(default)]
    pub capability_delta: Vec<String>,
}

impl Approval {
    /// True when past its expiry (an unparsable expiry counts as expired).
    pub fn expired(&self, now: Timestamp) -> bool {
        self.expires
            .parse::<Timestamp>()
            .map_or(true, |expires| now >= expires)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    version: u32,
    approvals: Vec<Approval>,
}

/// What the store says about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Covered: by these "always" approvals (one per command) ...
    Always(Vec<Approval>),
    /// ... or by a once-grant of this exact invocation.
    Once(Request),
    /// A human denied this exact invocation (until the request expires).
    Denied(Request),
    /// Nothing covers it: a human must be asked.
    Ask,
}

/// One project's approvals (its state directory).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store in `state_dir` (nothing is read or created yet).
    pub fn new(state_dir: &Path) -> Self {
        Store {
            dir: state_dir.to_path_buf(),
        }
    }

    /// `approvals.json`.
    pub fn approvals_path(&self) -> PathBuf {
        self.dir.join("approvals.json")
    }

    fn pending_dir(&self) -> PathBuf {
        self.dir.join("pending")
    }

    fn request_path(&self, request_id: &str) -> Result<PathBuf, StoreError> {
        let valid = (8..=64).contains(&request_id.len())
            && request_id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
        if !valid {
            return Err(StoreError::BadId(request_id.to_owned()));
        }
        Ok(self.pending_dir().join(format!("{request_id}.json")))
    }

    /// Every "always" approval (expired ones included; see [`Approval::expired`]).
    pub fn approvals(&self) -> Result<Vec<Approval>, StoreError> {
        let path = self.approvals_path();
        let Some(text) = files::read_optional(&path)? else {
            return Ok(Vec::new());
        };
        let file: StoreFile = serde_json::from_str(&text).map_err(|error| StoreError::Parse {
            path: path.clone(),
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        })?;
        if file.version != VERSION {
            return Err(StoreError::Parse {
                path,
                line: 1,
                column: 1,
                message: format!(
                    "version {} (this cordon reads version {VERSION})",
                    file.version
                ),
            });
        }
        Ok(file.approvals)
    }

    fn save_approvals(&self, approvals: Vec<Approval>) -> Result<(), StoreError> {
        let file = StoreFile {
            version: VERSION,
            approvals,
        };
        let mut text = serde_json::to_string_pretty(&file).map_err(StoreError::Encode)?;
        text.push('\n');
        files::write_atomic(&self.approvals_path(), text.as_bytes())
    }

    /// One request.
    pub fn request(&self, request_id: &str) -> Result<Request, StoreError> {
        let path = self.request_path(request_id)?;
        let text = files::read_optional(&path)?
            .ok_or_else(|| StoreError::NoSuchRequest(request_id.to_owned()))?;
        parse_request(&text, &path)
    }

    /// Every request on file (pending or answered and not used yet).
    pub fn requests(&self) -> Result<Vec<Request>, StoreError> {
        let dir = self.pending_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StoreError::Io {
                    path: dir,
                    action: "list",
                    source,
                });
            }
        };
        let mut requests = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Io {
                path: dir.clone(),
                action: "list",
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "json")
                && !entry.file_name().to_string_lossy().starts_with('.')
                && let Some(text) = files::read_optional(&path)?
            {
                requests.push(parse_request(&text, &path)?);
            }
        }
        requests.sort_by(|a, b| a.created.cmp(&b.created));
        Ok(requests)
    }

    /// What covers `shape` run with `decision_hash`, at `now`.
    pub fn evaluate(
        &self,
        shape: &Shape,
        decision_hash: &str,
        now: Timestamp,
    ) -> Result<Verdict, StoreError> {
        self.verdict(self.requests()?, shape, decision_hash, now)
    }

    /// [`Store::sweep`] and then [`Store::evaluate`], reading the requests once (the
    /// gate of every `cordon run` does both): the expired requests removed, and the
    /// verdict.
    pub fn sweep_and_evaluate(
        &self,
        shape: &Shape,
        decision_hash: &str,
        now: Timestamp,
    ) -> Result<(Vec<Request>, Verdict), StoreError> {
        let (mut expired, mut live) = (Vec::new(), Vec::new());
        for request in self.requests()? {
            if request.expired(now) {
                self.forget(&request.request_id)?;
                expired.push(request);
            } else {
                live.push(request);
            }
        }
        Ok((expired, self.verdict(live, shape, decision_hash, now)?))
    }

    /// The verdict from `requests` (oldest first) and, when none decides, the stored
    /// approvals.
    fn verdict(
        &self,
        requests: Vec<Request>,
        shape: &Shape,
        decision_hash: &str,
        now: Timestamp,
    ) -> Result<Verdict, StoreError> {
        for request in requests {
            if request.decision_hash != decision_hash || request.expired(now) {
                continue;
            }
            match request.state {
                RequestState::Denied => return Ok(Verdict::Denied(request)),
                RequestState::GrantedOnce => return Ok(Verdict::Once(request)),
                RequestState::Pending | RequestState::GrantedAlways => {}
            }
        }
        let approvals = self.approvals()?;
        Ok(covering(&approvals, shape, now).map_or(Verdict::Ask, Verdict::Always))
    }

    /// Files a pending request for `shape` (expiring after `ttl`).
    pub fn file_request(
        &self,
        shape: &Shape,
        cwd: &Path,
        decision_hash: &str,
        capability_delta: Vec<String>,
        now: Timestamp,
        ttl: SignedDuration,
    ) -> Result<Request, StoreError> {
        let request = Request {
            version: VERSION,
            request_id: crate::random_hex(8),
            state: RequestState::Pending,
            shape: shape.display.clone(),
            argv: shape.argv.clone(),
            executable: shape.executable.clone(),
            cwd: crate::escape::lossless(cwd.as_os_str()),
            commands: shape.commands.clone(),
            uncacheable: shape.uncacheable.clone(),
            decision_hash: decision_hash.to_owned(),
            capability_delta,
            created: now.to_string(),
            expires: now
                .saturating_add(ttl)
                .map_or_else(|_| now.to_string(), |t| t.to_string()),
            approver: None,
            channel: None,
            decided: None,
        };
        self.save_request(&request)?;
        Ok(request)
    }

    fn save_request(&self, request: &Request) -> Result<(), StoreError> {
        let path = self.request_path(&request.request_id)?;
        let mut text = serde_json::to_string_pretty(request).map_err(StoreError::Encode)?;
        text.push('\n');
        files::write_atomic(&path, text.as_bytes())
    }

    /// Answers request `request_id`: `Once` grants one run of the same decision hash,
    /// `Always` stores an approval per command (refused for an uncacheable request),
    /// `Deny` makes re-runs of it denied until it expires.
    pub fn decide(
        &self,
        request_id: &str,
        decision: Decision,
        approver: &str,
        channel: &str,
    ) -> Result<Decided, StoreError> {
        self.decide_at(request_id, decision, approver, channel, Timestamp::now())
    }

    /// [`Store::decide`] at a given time.
    pub fn decide_at(
        &self,
        request_id: &str,
        decision: Decision,
        approver: &str,
        channel: &str,
        now: Timestamp,
    ) -> Result<Decided, StoreError> {
        self.decide_with_delta(request_id, decision, approver, channel, None, now)
    }

    /// [`Store::decide`], granting `capability_delta` (when given) instead of what the
    /// request asked: `network.allow HOST[:PORT]`, `filesystem.allow_write PATH`.
    pub fn decide_with_delta(
        &self,
        request_id: &str,
        decision: Decision,
        approver: &str,
        channel: &str,
        capability_delta: Option<Vec<String>>,
        now: Timestamp,
    ) -> Result<Decided, StoreError> {
        let mut request = self.request(request_id)?;
        if let Some(delta) = capability_delta {
            for entry in &delta {
                check_delta(entry)?;
            }
            request.capability_delta = delta;
        }
        if request.expired(now) {
            self.forget(request_id)?;
            return Err(StoreError::Expired {
                request_id: request_id.to_owned(),
                expires: request.expires,
            });
        }
        if request.state != RequestState::Pending {
            return Err(StoreError::AlreadyDecided {
                request_id: request_id.to_owned(),
                state: request.state,
            });
        }
        let mut stored = Vec::new();
        request.state = match decision {
            Decision::Once => RequestState::GrantedOnce,
            Decision::Deny => RequestState::Denied,
            Decision::Always => {
                if let Some(reason) = &request.uncacheable {
                    return Err(StoreError::NotCacheable {
                        request_id: request_id.to_owned(),
                        reason: reason.clone(),
                    });
                }
                let mut approvals = self.approvals()?;
                let expires = now
                    .saturating_add(DEFAULT_APPROVAL_TTL)
                    .map_or_else(|_| now.to_string(), |t| t.to_string());
                for command in &request.commands {
                    let approval = Approval {
                        id: crate::random_hex(6),
                        command: CommandPattern::exact(command),
                        shown: command.display(),
                        approver: approver.to_owned(),
                        channel: channel.to_owned(),
                        approved: now.to_string(),
                        expires: expires.clone(),
                        request_id: request.request_id.clone(),
                        decision_hash: request.decision_hash.clone(),
                        capability_delta: request.capability_delta.clone(),
                    };
                    approvals.retain(|old| old.command != approval.command);
                    approvals.push(approval.clone());
                    stored.push(approval);
                }
                self.save_approvals(approvals)?;
                RequestState::GrantedAlways
            }
        };
        request.approver = Some(approver.to_owned());
        request.channel = Some(channel.to_owned());
        request.decided = Some(now.to_string());
        if request.state == RequestState::GrantedAlways {
            // Nothing left to use: the approvals cover the re-run.
            self.forget(request_id)?;
        } else {
            self.save_request(&request)?;
        }
        Ok(Decided { request, stored })
    }

    /// Removes a request (a once-grant used, a request expired).
    pub fn forget(&self, request_id: &str) -> Result<(), StoreError> {
        let path = self.request_path(request_id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io {
                path,
                action: "remove",
                source,
            }),
        }
    }

    /// Removes the expired requests and returns them (for the transcript).
    pub fn sweep(&self, now: Timestamp) -> Result<Vec<Request>, StoreError> {
        let mut gone = Vec::new();
        for request in self.requests()? {
            if request.expired(now) {
                self.forget(&request.request_id)?;
                gone.push(request);
            }
        }
        Ok(gone)
    }

    /// Revokes the "always" approval `id`.
    pub fn remove(&self, id: &str) -> Result<Approval, StoreError> {
        let mut approvals = self.approvals()?;
        let index = approvals
            .iter()
            .position(|approval| approval.id == id)
            .ok_or_else(|| StoreError::NoSuchApproval(id.to_owned()))?;
        let removed = approvals.remove(index);
        self.save_approvals(approvals)?;
        Ok(removed)
    }
}

/// A capability delta entry: `network.allow DESTINATION` or `filesystem.allow_write PATH`.
pub fn check_delta(entry: &str) -> Result<(), StoreError> {
    match entry.split_once(' ') {
        Some(("network.allow" | "filesystem.allow_write", value))
            if !value.is_empty() && !value.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(StoreError::BadDelta(entry.to_owned())),
    }
}

/// The result of [`Store::decide`].
#[derive(Debug, Clone)]
pub struct Decided {
    /// The request, answered.
    pub request: Request,
    /// The approvals stored (for `Always`).
    pub stored: Vec<Approval>,
}

/// The unexpired approvals that cover every command of `shape` (one per command), or
/// `None` when some command is not covered or the shape may not be cached.
pub fn covering(approvals: &[Approval], shape: &Shape, now: Timestamp) -> Option<Vec<Approval>> {
    if !shape.cacheable() || shape.commands.is_empty() {
        return None;
    }
    shape
        .commands
        .iter()
        .map(|command| {
            approvals
                .iter()
                .find(|approval| !approval.expired(now) && approval.command.matches(command))
                .cloned()
        })
        .collect()
}

fn parse_request(text: &str, path: &Path) -> Result<Request, StoreError> {
    let request: Request = serde_json::from_str(text).map_err(|error| StoreError::Parse {
        path: path.to_path_buf(),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    if request.version != VERSION {
        return Err(StoreError::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!(
                "version {} (this cordon reads version {VERSION})",
                request.version
            ),
        });
    }
    Ok(request)
}
