//! The result event: what the notification services are told about each decision, the engine's and
//! then a reviewer's, in one form.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ApplicantReason, Decision};

/// One decision, as published to the results exchange under [`ResultEvent::routing_key`].
///
/// Delivery is at least once (a worker that dies between publishing and acknowledging publishes
/// again), so `event_id` names the decision, not the sending: a submission has one engine decision
/// and at most one reviewer decision, and a consumer drops an `event_id` it has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultEvent {
    /// `SUBMISSION/engine` or `SUBMISSION/reviewer`.
    pub event_id: String,
    pub event: EventKind,
    pub submission_id: Uuid,
    pub applicant_id: String,
    pub licence_no: Option<String>,
    pub decision: Decision,
    pub reasons: Vec<ApplicantReason>,
    /// When a review is due; only for `review`.
    pub due: Option<DateTime<Utc>>,
    pub decided_at: DateTime<Utc>,
    /// `engine`, or the reviewer's account.
    pub decided_by: String,
    /// Whether the licence photo is the upload or a crop of it, and where (engine decisions).
    pub framing: Option<Framing>,
    /// For an approval, the looks nobody checked (codes): what an audit may still find.
    pub not_checked: Option<Vec<String>>,
}

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedBy<'a> {
    Engine,
    Reviewer(&'a str),
}

/// What the event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Approved,
    Rejected,
    Review,
}

impl ResultEvent {
    /// The event of a decision. `due` is kept for a review only; `not_checked` for an approval only.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        submission_id: Uuid,
        applicant_id: &str,
        licence_no: Option<&str>,
        decision: Decision,
        reasons: Vec<ApplicantReason>,
        due: Option<DateTime<Utc>>,
        decided_by: DecidedBy<'_>,
        decided_at: DateTime<Utc>,
        framing: Option<Framing>,
        not_checked: Vec<String>,
    ) -> ResultEvent {
        let (by, who) = match decided_by {
            DecidedBy::Engine => ("engine", "engine"),
            DecidedBy::Reviewer(name) => ("reviewer", name),
        };
        ResultEvent {
            event_id: format!("{submission_id}/{by}"),
            event: match decision {
                Decision::Approve => EventKind::Approved,
                Decision::Reject => EventKind::Rejected,
                Decision::Review => EventKind::Review,
            },
            submission_id,
            applicant_id: applicant_id.to_owned(),
            licence_no: licence_no.map(str::to_owned),
            decision,
            reasons,
            due: due.filter(|_| decision == Decision::Review),
            decided_at,
            decided_by: who.to_owned(),
            framing,
            not_checked: (decision == Decision::Approve).then_some(not_checked),
        }
    }

    /// The routing key on the results exchange: `submission.approved`, `.rejected` or `.review`.
    pub fn routing_key(&self) -> &'static str {
        match self.event {
            EventKind::Approved => "submission.approved",
            EventKind::Rejected => "submission.rejected",
            EventKind::Review => "submission.review",
        }
    }
}

/// How the judged photo relates to the upload, as the event tells it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Framing {
    pub mode: FramingMode,
    /// The judged photo within the upright upload, px (the whole upload when as submitted).
    pub crop: Crop,
    /// Archive px per upload px.
    pub scale: f64,
}

/// Whether the judged photo is the upload as sent or a crop of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FramingMode {
    AsSubmitted,
    Framed,
}

/// A rectangle of the upright upload, px. Rows and columns are continuous: 0 is the top (left) edge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crop {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Crop {
    /// The whole upload.
    pub fn whole(width: u32, height: u32) -> Crop {
        Crop {
            x: 0.0,
            y: 0.0,
            w: f64::from(width),
            h: f64::from(height),
        }
    }

    /// Whole px, inside `(width, height)`, at least 1 x 1.
    pub fn pixels(&self, width: u32, height: u32) -> (u32, u32, u32, u32) {
        let x = (self.x.round().max(0.0) as u32).min(width.saturating_sub(1));
        let y = (self.y.round().max(0.0) as u32).min(height.saturating_sub(1));
        let w = (self.w.round() as u32).clamp(1, width - x);
        let h = (self.h.round() as u32).clamp(1, height - y);
        (x, y, w, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_names_its_decision_and_keeps_only_what_belongs_to_it() {
        let id = Uuid::nil();
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let review = ResultEvent::new(
            id,
            "A-1",
            None,
            Decision::Review,
            Vec::new(),
            Some(at),
            DecidedBy::Engine,
            at,
            None,
            vec!["jewellery".into()],
        );
        assert_eq!(review.routing_key(), "submission.review");
        assert_eq!(review.event_id, format!("{id}/engine"));
        assert_eq!(review.due, Some(at));
        assert_eq!(review.not_checked, None, "listed for approvals only");
        let approve = ResultEvent::new(
            id,
            "A-1",
            Some("L-1"),
            Decision::Approve,
            Vec::new(),
            Some(at),
            DecidedBy::Reviewer("wang.fang"),
            at,
            None,
            vec!["jewellery".into()],
        );
        assert_eq!(approve.event_id, format!("{id}/reviewer"));
        assert_eq!(approve.decided_by, "wang.fang");
        assert_eq!(approve.due, None, "due only while in review");
        let json = serde_json::to_value(&approve).unwrap();
        assert_eq!(json["event"], "approved");
        assert_eq!(json["decision"], "approve");
        assert_eq!(json["not_checked"][0], "jewellery");
    }
}
