//! A person's decision on a pending approval request, recorded in both places it must
//! be: the approvals store, then, durably, the transcript. `cordon approve` and
//! `cordon mcp` (the human's answer to its elicitation) both decide through here, so a
//! decision the transcript does not hold never takes effect.

use std::path::Path;

use cordon_approvals::{Decided, Decision, Store};
use cordon_transcript::{ApprovalEvent, ApprovalScope, ApprovalState, Event, Transcript};
use jiff::Timestamp;

/// Who decided, how, and where the transcript is.
pub(crate) struct Decider<'a> {
    /// The person (the user name of the unsandboxed caller).
    pub(crate) approver: &'a str,
    /// `cli` (`cordon approve`), `mcp-elicitation`, …
    pub(crate) channel: &'a str,
    /// The transcript and its head.
    pub(crate) transcript: (&'a Path, &'a Path),
}

/// Decides `request_id` in `store` (with an optional capability delta), then appends the
/// decision to the transcript with a sync. When the transcript cannot take it, the grant
/// is withdrawn from the store and the error says so.
pub(crate) fn record_decision(
    store: &Store,
    request_id: &str,
    decision: Decision,
    capability_delta: Option<Vec<String>>,
    decider: &Decider<'_>,
) -> Result<Decided, String> {
    let decided = store
        .decide_with_delta(
            request_id,
            decision,
            decider.approver,
            decider.channel,
            capability_delta,
            Timestamp::now(),
        )
        .map_err(|error| error.to_string())?;
    let request = &decided.request;
    let event = ApprovalEvent {
        request_id: request.request_id.clone(),
        state: match decision {
            Decision::Deny => ApprovalState::Denied,
            Decision::Once | Decision::Always => ApprovalState::Granted,
        },
        shape: request.shape.clone(),
        argv: request.argv.clone(),
        executable: request.executable.clone(),
        cwd: request.cwd.clone(),
        decision_hash: request.decision_hash.clone(),
        scope: match decision {
            Decision::Once => Some(ApprovalScope::Once),
            Decision::Always => Some(ApprovalScope::Always),
            Decision::Deny => None,
        },
        approver: Some(decider.approver.to_owned()),
        channel: Some(decider.channel.to_owned()),
        capability_delta: request.capability_delta.clone(),
        expires: Some(request.expires.clone()),
        reason: request.uncacheable.clone(),
    };
    let (path, head) = decider.transcript;
    let written = Transcript::open(path, head)
        .and_then(|mut transcript| transcript.append_durable(Event::Approval(event)));
    if let Err(error) = written {
        let withdrawn = match decision {
            Decision::Deny => Ok(()),
            Decision::Once => store.forget(request_id).map_err(|error| error.to_string()),
            Decision::Always => decided
                .stored
                .iter()
                .try_for_each(|approval| store.remove(&approval.id).map(drop))
                .map_err(|error| error.to_string()),
        };
        let withdrawn = match withdrawn {
            Ok(()) => "the grant was withdrawn".to_owned(),
            Err(also) => format!("withdrawing the grant failed too: {also}"),
        };
        return Err(format!(
            "the transcript {} cannot take it ({error}); {withdrawn}",
            path.display()
        ));
    }
    Ok(decided)
}
