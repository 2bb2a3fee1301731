//! [`MemoryStore`]: the store in a mutex, for tests and the testing harness.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use bk_plugin_core::{BoxFuture, Cancellation, State};
use serde_json::Value;

use super::{
    Claim, Counts, Delivery, Inspection, LeaseRequest, NewNotification, Notification,
    PendingNotification, PushOutcome, QueuedCallback, ScheduleFilter, ScheduleRecord, Store,
    StoreResult, Transition,
};
use crate::clock::Timestamp;

#[derive(Debug)]
struct Row {
    record: ScheduleRecord,
    lease: Option<(i64, Timestamp)>,
    /// Who took the lease (kept after it ends; read only with `lease`).
    lease_owner: String,
    inbox: VecDeque<QueuedCallback>,
}

impl Row {
    fn is_free(&self, now: Timestamp) -> bool {
        self.lease.is_none_or(|(_, until)| until < now)
    }

    fn is_due(&self, now: Timestamp) -> bool {
        if self.record.finish_at.is_some() || !self.is_free(now) {
            return false;
        }
        match self.record.state {
            State::Poll => self.record.next_run_at.is_some_and(|t| t <= now),
            // A queued callback, or the wait's deadline passed.
            State::Callback => {
                !self.inbox.is_empty() || self.record.next_run_at.is_some_and(|t| t <= now)
            }
            _ => false,
        }
    }

    fn take_lease(&mut self, lease: LeaseRequest<'_>) {
        self.lease = Some((lease.id, lease.until));
        self.lease_owner = lease.owner.to_owned();
    }

    fn new(record: ScheduleRecord) -> Row {
        Row {
            record,
            lease: None,
            lease_owner: String::new(),
            inbox: VecDeque::new(),
        }
    }

    fn claim(&mut self, lease: LeaseRequest<'_>) -> Claim {
        self.take_lease(lease);
        Claim {
            record: self.record.clone(),
            lease_id: lease.id,
            callback: if self.record.state == State::Callback {
                self.inbox.front().cloned()
            } else {
                None
            },
        }
    }
}

#[derive(Debug)]
struct Queued {
    n: Notification,
    due_at: Timestamp,
    lease_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct Inner {
    rows: HashMap<String, Row>,
    notifications: BTreeMap<i64, Queued>,
    seq: i64,
    settings: HashMap<String, String>,
}

impl Inner {
    fn enqueue(&mut self, trace_id: &str, n: NewNotification) {
        self.seq += 1;
        let id = self.seq;
        let due_at = n.due_at;
        let n = Notification {
            id,
            trace_id: trace_id.to_owned(),
            url: n.url,
            data: n.data,
            attempts: 0,
        };
        let queued = Queued {
            n,
            due_at,
            lease_until: None,
        };
        self.notifications.insert(id, queued);
    }
}

/// A [`Store`] in memory: nothing survives the process. For tests and the testing harness.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Claims the row of `trace_id` alone, if it is due: the testing harness runs the steps
    /// of one invocation at a time.
    pub(crate) fn claim_trace(
        &self,
        trace_id: &str,
        now: Timestamp,
        lease: LeaseRequest<'_>,
    ) -> Option<Claim> {
        self.with(|inner| {
            let row = inner.rows.get_mut(trace_id).filter(|r| r.is_due(now))?;
            Some(row.claim(lease))
        })
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

impl Store for MemoryStore {
    fn create(&self, record: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>> {
        ready(self.with(|inner| {
            if inner.rows.contains_key(&record.trace_id) {
                return Err(super::StoreError::new(format!(
                    "schedule {} already exists",
                    record.trace_id
                )));
            }
            inner.rows.insert(record.trace_id.clone(), Row::new(record));
            Ok(())
        }))
    }

    fn create_many(&self, records: Vec<ScheduleRecord>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        ready(Ok(self.with(|inner| {
            records
                .into_iter()
                .map(|record| {
                    if inner.rows.contains_key(&record.trace_id) {
                        return false;
                    }
                    inner.rows.insert(record.trace_id.clone(), Row::new(record));
                    true
                })
                .collect()
        })))
    }

    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        ready(Ok(self.with(|inner| {
            inner.rows.get(trace_id).map(|r| r.record.clone())
        })))
    }

    fn claim_due<'a>(
        &'a self,
        now: Timestamp,
        lease: LeaseRequest<'a>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Claim>>> {
        ready(Ok(self.with(|inner| {
            // The trait's order: due polls by next_run_at, then waiting callbacks by their
            // oldest entry; `limit` in all.
            let mut polls: Vec<(Option<Timestamp>, &String)> = Vec::new();
            let mut waiting: Vec<(i64, &String)> = Vec::new();
            for r in inner.rows.values().filter(|r| r.is_due(now)) {
                match r.inbox.front() {
                    Some(c) if r.record.state == State::Callback => {
                        waiting.push((c.seq, &r.record.trace_id));
                    }
                    _ => polls.push((r.record.next_run_at, &r.record.trace_id)),
                }
            }
            polls.sort();
            waiting.sort();
            let due: Vec<String> = polls
                .into_iter()
                .map(|(_, id)| id)
                .chain(waiting.into_iter().map(|(_, id)| id))
                .take(limit)
                .cloned()
                .collect();
            due.into_iter()
                .map(|trace_id| {
                    let row = inner.rows.get_mut(&trace_id).expect("row listed above");
                    row.claim(lease)
                })
                .collect()
        })))
    }

    fn renew<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        until: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        ready(Ok(self.with(|inner| match inner.rows.get_mut(trace_id) {
            Some(row) if row.lease.is_some_and(|(id, _)| id == lease_id) => {
                row.lease = Some((lease_id, until));
                true
            }
            _ => false,
        })))
    }

    fn complete<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        t: Transition,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        ready(Ok(self.with(|inner| {
            let Some(row) = inner.rows.get_mut(trace_id) else {
                return false;
            };
            if row.lease.is_none_or(|(id, _)| id != lease_id) {
                return false;
            }
            row.lease = None;
            let drops_inbox = t.drops_inbox();
            let r = &mut row.record;
            r.state = t.state;
            r.storage = t.storage;
            r.outputs = t.outputs;
            r.invoke_count = t.invoke_count;
            r.err = t.err;
            r.finish_at = t.finish_at;
            // A cancelled row that stays waiting is due at once.
            r.next_run_at = match (&r.cancel, t.finish_at) {
                (Some(_), None) => Some(r.created_at),
                _ => t.next_run_at,
            };
            if let Some(seq) = t.consumed_callback {
                row.inbox.retain(|c| c.seq != seq);
            }
            if drops_inbox {
                row.inbox.clear();
            }
            if let Some(n) = t.notification {
                inner.enqueue(trace_id, n);
            }
            true
        })))
    }

    fn request_cancel<'a>(
        &'a self,
        trace_id: &'a str,
        cancel: &'a Cancellation,
    ) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        ready(Ok(self.with(|inner| {
            let row = inner.rows.get_mut(trace_id)?;
            let r = &mut row.record;
            if r.finish_at.is_none() && matches!(r.state, State::Poll | State::Callback) {
                r.cancel.get_or_insert_with(|| cancel.clone());
                r.next_run_at = Some(r.created_at);
            }
            Some(r.clone())
        })))
    }

    fn lease_one<'a>(
        &'a self,
        trace_id: &'a str,
        now: Timestamp,
        lease: LeaseRequest<'a>,
    ) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        ready(Ok(self.with(|inner| {
            let row = inner.rows.get_mut(trace_id)?;
            let waiting = matches!(row.record.state, State::Poll | State::Callback);
            if row.record.finish_at.is_some() || !waiting || !row.is_free(now) {
                return None;
            }
            row.take_lease(lease);
            Some(row.record.clone())
        })))
    }

    fn push_callback<'a>(
        &'a self,
        trace_id: &'a str,
        callback_id: &'a str,
        data: Value,
        _now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<PushOutcome>> {
        ready(Ok(self.with(|inner| {
            inner.seq += 1;
            let seq = inner.seq;
            match inner.rows.get_mut(trace_id) {
                None => PushOutcome::NotWaiting(None),
                Some(row) if row.record.state != State::Callback => {
                    PushOutcome::NotWaiting(Some(row.record.state))
                }
                Some(row) if row.inbox.iter().any(|c| c.callback_id == callback_id) => {
                    PushOutcome::AlreadyQueued
                }
                Some(row) => {
                    row.inbox.push_back(QueuedCallback {
                        seq,
                        callback_id: callback_id.to_owned(),
                        data,
                    });
                    PushOutcome::Queued
                }
            }
        })))
    }

    fn list<'a>(
        &'a self,
        filter: &'a ScheduleFilter,
    ) -> BoxFuture<'a, StoreResult<Vec<ScheduleRecord>>> {
        ready(Ok(self.with(|inner| {
            let mut rows: Vec<ScheduleRecord> = inner
                .rows
                .values()
                .map(|r| &r.record)
                .filter(|r| filter.matches(r))
                .cloned()
                .collect();
            rows.sort_by(|a, b| (b.created_at, &a.trace_id).cmp(&(a.created_at, &b.trace_id)));
            rows.truncate(filter.limit);
            rows
        })))
    }

    fn inspect<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<Inspection>>> {
        ready(Ok(self.with(|inner| {
            let row = inner.rows.get(trace_id)?;
            let notifications = inner
                .notifications
                .values()
                .filter(|q| q.n.trace_id == trace_id)
                .map(|q| PendingNotification::new(q.n.id, q.n.url.clone(), q.n.attempts, q.due_at))
                .collect();
            let lease = row.lease.map(|(_, until)| (row.lease_owner.clone(), until));
            let inbox = row.inbox.iter().cloned().collect();
            Some(Inspection::new(row.record.clone()).with(lease, inbox, notifications))
        })))
    }

    fn renotify<'a>(
        &'a self,
        trace_id: &'a str,
        notification: NewNotification,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        ready(Ok(self.with(|inner| {
            let mut pending = false;
            for q in inner
                .notifications
                .values_mut()
                .filter(|q| q.n.trace_id == trace_id)
            {
                q.n.attempts = 0;
                q.due_at = notification.due_at;
                q.lease_until = None;
                pending = true;
            }
            if !pending {
                inner.enqueue(trace_id, notification);
            }
            !pending
        })))
    }

    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        ready(Ok(self.with(|inner| {
            inner
                .rows
                .values()
                .filter(|r| r.record.finish_at.is_none())
                .filter_map(|r| {
                    let due = match r.record.state {
                        State::Poll => r.record.next_run_at,
                        State::Callback if !r.inbox.is_empty() => Some(Timestamp::from_millis(0)),
                        State::Callback => r.record.next_run_at,
                        _ => None,
                    }?;
                    Some(match r.lease {
                        Some((_, until)) => {
                            due.max(until.saturating_add(std::time::Duration::from_millis(1)))
                        }
                        None => due,
                    })
                })
                .min()
        })))
    }

    fn claim_notifications(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Notification>>> {
        ready(Ok(self.with(|inner| {
            let mut due: Vec<(Timestamp, i64)> = inner
                .notifications
                .values()
                .filter(|p| p.due_at <= now && p.lease_until.is_none_or(|u| u < now))
                .map(|p| (p.due_at, p.n.id))
                .collect();
            due.sort();
            due.truncate(limit);
            let mut claimed = Vec::with_capacity(due.len());
            for (_, id) in due {
                if let Some(p) = inner.notifications.get_mut(&id) {
                    p.lease_until = Some(until);
                    claimed.push(p.n.clone());
                }
            }
            claimed
        })))
    }

    fn settle_notification(&self, id: i64, delivery: Delivery) -> BoxFuture<'_, StoreResult<()>> {
        self.with(|inner| match delivery {
            Delivery::Delivered | Delivery::GaveUp => {
                inner.notifications.remove(&id);
            }
            Delivery::RetryAt(at) => {
                if let Some(p) = inner.notifications.get_mut(&id) {
                    p.n.attempts += 1;
                    p.due_at = at;
                    p.lease_until = None;
                }
            }
        });
        ready(Ok(()))
    }

    fn next_notification(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        ready(Ok(self.with(|inner| {
            inner
                .notifications
                .values()
                .map(|p| match p.lease_until {
                    Some(u) => p
                        .due_at
                        .max(u.saturating_add(std::time::Duration::from_millis(1))),
                    None => p.due_at,
                })
                .min()
        })))
    }

    fn purge_finished(&self, before: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        ready(Ok(self.with(|inner| {
            let n = inner.rows.len();
            inner
                .rows
                .retain(|_, r| r.record.finish_at.is_none_or(|f| f >= before));
            (n - inner.rows.len()) as u64
        })))
    }

    fn counts(&self) -> BoxFuture<'_, StoreResult<Counts>> {
        ready(Ok(self.with(|inner| {
            let mut c = Counts {
                notifications: inner.notifications.len() as u64,
                ..Counts::default()
            };
            for r in inner.rows.values().filter(|r| r.record.finish_at.is_none()) {
                match r.record.state {
                    State::Poll => c.polling += 1,
                    State::Callback => c.waiting_callback += 1,
                    _ => {}
                }
            }
            c
        })))
    }

    fn waiting_versions(&self) -> BoxFuture<'_, StoreResult<Vec<(String, u64)>>> {
        ready(Ok(self.with(|inner| {
            let mut versions = std::collections::BTreeMap::<String, u64>::new();
            for r in inner.rows.values().map(|r| &r.record).filter(|r| {
                r.finish_at.is_none() && matches!(r.state, State::Poll | State::Callback)
            }) {
                *versions.entry(r.plugin_version.clone()).or_default() += 1;
            }
            versions.into_iter().collect()
        })))
    }

    fn get_setting<'a>(&'a self, name: &'a str) -> BoxFuture<'a, StoreResult<Option<String>>> {
        ready(Ok(self.with(|inner| inner.settings.get(name).cloned())))
    }

    fn put_setting<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        self.with(|inner| inner.settings.insert(name.to_owned(), value.to_owned()));
        ready(Ok(()))
    }
}
