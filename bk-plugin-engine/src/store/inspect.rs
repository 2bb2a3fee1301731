//! What operators read from a store: [`ScheduleFilter`] for [`Store::list`](super::Store::list)
//! and [`Inspection`] from [`Store::inspect`](super::Store::inspect).

use bk_plugin_core::State;

use super::{QueuedCallback, ScheduleRecord};
use crate::clock::Timestamp;

/// Which rows [`Store::list`](super::Store::list) answers: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScheduleFilter {
    /// Rows in one of these states (empty: any).
    pub states: Vec<State>,
    /// Rows of this plugin version.
    pub version: Option<String>,
    /// Rows created before this time.
    pub created_before: Option<Timestamp>,
    /// At most this many rows, newest first (default 100).
    pub limit: usize,
}

impl Default for ScheduleFilter {
    fn default() -> Self {
        ScheduleFilter {
            states: Vec::new(),
            version: None,
            created_before: None,
            limit: 100,
        }
    }
}

impl ScheduleFilter {
    /// Every row (newest 100).
    pub fn new() -> Self {
        Self::default()
    }

    /// Only rows in `states`.
    pub fn states(mut self, states: impl IntoIterator<Item = State>) -> Self {
        self.states = states.into_iter().collect();
        self
    }

    /// Only rows of `version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Only rows created before `at`.
    pub fn created_before(mut self, at: Timestamp) -> Self {
        self.created_before = Some(at);
        self
    }

    /// At most `limit` rows.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Whether `r` matches (the rule every store follows).
    pub fn matches(&self, r: &ScheduleRecord) -> bool {
        (self.states.is_empty() || self.states.contains(&r.state))
            && self.version.as_ref().is_none_or(|v| *v == r.plugin_version)
            && self.created_before.is_none_or(|t| r.created_at < t)
    }
}

/// A row with what surrounds it, for an operator ([`Store::inspect`](super::Store::inspect)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Inspection {
    /// The row.
    pub record: ScheduleRecord,
    /// Who holds its lease and until when, if anyone holds one (a step or a cancellation is
    /// running, or a worker died holding it).
    pub lease: Option<(String, Timestamp)>,
    /// Callbacks queued for it, oldest first.
    pub inbox: Vec<QueuedCallback>,
    /// Its finish notifications not yet delivered (delivered ones are deleted).
    pub notifications: Vec<PendingNotification>,
}

/// A finish notification waiting to be sent, or sent again.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PendingNotification {
    /// Its id.
    pub id: i64,
    /// Where it goes.
    pub url: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it is next attempted.
    pub due_at: Timestamp,
}

impl PendingNotification {
    /// A notification to `url`, next attempted at `due_at` after `attempts` attempts.
    pub fn new(id: i64, url: String, attempts: u32, due_at: Timestamp) -> Self {
        PendingNotification {
            id,
            url,
            attempts,
            due_at,
        }
    }
}

impl Inspection {
    /// The inspection of `record`: no lease, inbox or notification
    /// ([`with`](Self::with) adds them).
    pub fn new(record: ScheduleRecord) -> Self {
        Inspection {
            record,
            lease: None,
            inbox: Vec::new(),
            notifications: Vec::new(),
        }
    }

    /// The same with its lease, inbox and pending notifications.
    pub fn with(
        mut self,
        lease: Option<(String, Timestamp)>,
        inbox: Vec<QueuedCallback>,
        notifications: Vec<PendingNotification>,
    ) -> Self {
        self.lease = lease;
        self.inbox = inbox;
        self.notifications = notifications;
        self
    }
}
