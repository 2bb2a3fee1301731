//! What each store operation writes, as data: the shared statements (`sql.rs`) with their
//! parameters, in the order a backend runs them. Backends only execute these, each in its own
//! transaction model, so what a transition, a push or a settle writes is decided here once.
//! Also the bookkeeping around batches and claims that is not SQL: partitioning a
//! `complete_many`, scattering its results, attaching callbacks to claims and ordering them.

use std::collections::{HashMap, HashSet};

use bk_plugin_core::{Cancellation, State};
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{
    Claim, Completion, Delivery, LeaseRequest, PushOutcome, QueuedCallback, ScheduleRecord,
    StoreError, StoreResult, Transition,
};
use serde_json::Value;

use crate::codec::{self, to_text};
use crate::sql::{self, MULTI_ROW_CHUNK, Param, Sql};

/// One statement to run, with its parameters and a name for errors.
#[derive(Debug)]
pub(crate) struct Step {
    /// The statement.
    pub(crate) sql: &'static Sql,
    /// Its parameters, in placeholder order.
    pub(crate) params: Vec<Param>,
    /// What it does, for error messages.
    pub(crate) what: &'static str,
}

fn step(sql: &'static Sql, params: Vec<Param>, what: &'static str) -> Step {
    Step { sql, params, what }
}

fn text(s: &str) -> Param {
    Param::Text(s.to_owned())
}

fn millis(t: Timestamp) -> Param {
    Param::Int(t.as_millis())
}

fn maybe_millis(t: Option<Timestamp>) -> Param {
    Param::MaybeInt(t.map(Timestamp::as_millis))
}

fn state_code(s: State) -> Param {
    Param::Int(i64::from(s.code()))
}

/// A count as written: the SQL columns are 32-bit signed, so clamped to `i32::MAX`.
fn count(n: u32) -> Param {
    Param::Int(i64::from(n.min(i32::MAX.unsigned_abs())))
}

/// The 14 values of a new schedule row, in `sql::INSERT_SCHEDULES` column order.
pub(crate) fn record_params(r: &ScheduleRecord) -> StoreResult<Vec<Param>> {
    Ok(vec![
        text(&r.trace_id),
        text(&r.plugin_version),
        state_code(r.state),
        Param::Text(to_text(&r.inputs)?),
        Param::Text(to_text(&r.context)?),
        Param::Text(to_text(&r.storage)?),
        Param::Text(to_text(&r.outputs)?),
        count(r.invoke_count),
        text(&r.err),
        millis(r.created_at),
        maybe_millis(r.finish_at),
        maybe_millis(r.next_run_at),
        Param::MaybeText(r.cancel.as_ref().map(codec::cancel_text)),
        text(r.traceparent.as_deref().unwrap_or_default()),
    ])
}

/// The values of one row of a multi-row transition write: trace id, lease id, state,
/// storage, outputs, invoke_count, err, finish_at, next_run_at.
pub(crate) fn transition_values(
    trace_id: &str,
    lease_id: i64,
    t: &Transition,
) -> StoreResult<Vec<Param>> {
    Ok(vec![
        text(trace_id),
        Param::Int(lease_id),
        state_code(t.state),
        Param::Text(to_text(&t.storage)?),
        Param::Text(to_text(&t.outputs)?),
        count(t.invoke_count),
        text(&t.err),
        maybe_millis(t.finish_at),
        maybe_millis(t.next_run_at),
    ])
}

/// The statements of [`Store::complete`](bk_plugin_engine::store::Store::complete). The first
/// is the write fenced by the lease: when it changes no row the lease is lost and nothing
/// else may run. A plain transition ([`Transition::is_plain`]) is that one statement.
pub(crate) fn complete(trace_id: &str, lease_id: i64, t: &Transition) -> StoreResult<Vec<Step>> {
    let mut steps = vec![step(
        &sql::COMPLETE,
        vec![
            state_code(t.state),
            Param::Text(to_text(&t.storage)?),
            Param::Text(to_text(&t.outputs)?),
            count(t.invoke_count),
            text(&t.err),
            maybe_millis(t.finish_at),
            maybe_millis(t.finish_at),
            maybe_millis(t.next_run_at),
            text(trace_id),
            Param::Int(lease_id),
        ],
        "complete",
    )];
    if let Some(seq) = t.consumed_callback {
        steps.push(step(
            &sql::CONSUME_CALLBACK,
            vec![Param::Int(seq)],
            "consume callback",
        ));
    }
    if t.drops_inbox() {
        steps.push(step(
            &sql::DROP_INBOX,
            vec![text(trace_id)],
            "drop callbacks",
        ));
    }
    if let Some(n) = &t.notification {
        steps.push(step(
            &sql::INSERT_NOTIFICATION,
            vec![
                text(trace_id),
                text(&n.url),
                Param::Text(to_text(&n.data)?),
                millis(n.due_at),
            ],
            "enqueue notification",
        ));
    }
    Ok(steps)
}

/// Extends the lease `lease_id` of `trace_id` until `until` (one row changed: still held).
pub(crate) fn renew(trace_id: &str, lease_id: i64, until: Timestamp) -> Step {
    step(
        &sql::RENEW,
        vec![millis(until), text(trace_id), Param::Int(lease_id)],
        "renew lease",
    )
}

/// The insert of `push_callback`, run once the row was found in CALLBACK: it changes one row,
/// or none when the callback is already queued ([`pushed`]).
pub(crate) fn queue_callback(
    trace_id: &str,
    callback_id: &str,
    data: &Value,
    now: Timestamp,
) -> StoreResult<Step> {
    Ok(step(
        &sql::INSERT_CALLBACK,
        vec![
            text(trace_id),
            text(callback_id),
            Param::Text(to_text(data)?),
            millis(now),
        ],
        "queue callback",
    ))
}

/// What `push_callback` answers after its insert changed `rows` rows, and whether to commit.
pub(crate) fn pushed(rows: u64) -> (PushOutcome, bool) {
    if rows == 0 {
        (PushOutcome::AlreadyQueued, false)
    } else {
        (PushOutcome::Queued, true)
    }
}

/// The state `push_callback` read, as a [`State`] (`None`: no row, or an unknown code).
pub(crate) fn read_state(code: Option<i64>) -> Option<State> {
    code.and_then(|c| u8::try_from(c).ok())
        .and_then(State::from_code)
}

/// Records a notification attempt.
pub(crate) fn settle(id: i64, delivery: Delivery) -> Step {
    match delivery {
        Delivery::Delivered | Delivery::GaveUp => step(
            &sql::DELETE_NOTIFICATION,
            vec![Param::Int(id)],
            "settle notification",
        ),
        Delivery::RetryAt(at) => step(
            &sql::RETRY_NOTIFICATION,
            vec![millis(at), Param::Int(id)],
            "settle notification",
        ),
    }
}

/// Records `cancel` on the waiting row of `trace_id` ([`Store::request_cancel`]).
///
/// [`Store::request_cancel`]: bk_plugin_engine::store::Store::request_cancel
pub(crate) fn request_cancel(trace_id: &str, cancel: &Cancellation) -> Step {
    step(
        &sql::REQUEST_CANCEL,
        vec![Param::Text(codec::cancel_text(cancel)), text(trace_id)],
        "request cancel",
    )
}

/// Leases the waiting row of `trace_id` if nobody else holds it (one row changed: leased).
pub(crate) fn lease_one(trace_id: &str, now: Timestamp, lease: LeaseRequest<'_>) -> Step {
    step(
        &sql::LEASE_ONE,
        vec![
            Param::Int(lease.id),
            text(lease.owner),
            millis(lease.until),
            text(trace_id),
            millis(now),
        ],
        "lease schedule",
    )
}

/// Deletes the rows finished before `before`.
pub(crate) fn purge(before: Timestamp) -> Step {
    step(&sql::PURGE, vec![millis(before)], "purge")
}

/// A claimed row that cannot be decoded (corrupt JSON, unknown state) can never run: the step
/// that FAILs it so it stops being claimed. Tells the operator.
pub(crate) fn fail_unreadable(
    trace_id: &str,
    lease_id: i64,
    now: Timestamp,
    error: &StoreError,
) -> Step {
    tracing::error!(trace_id, %error, "stored schedule cannot be read; failing it");
    step(
        &sql::FAIL_UNREADABLE,
        vec![
            Param::Text(format!(
                "plugin schedule failed: stored schedule cannot be read: {error}"
            )),
            millis(now),
            text(trace_id),
            Param::Int(lease_id),
        ],
        "fail unreadable schedule",
    )
}

/// The trace ids of the claimed rows in CALLBACK, whose oldest callback the claim reads.
pub(crate) fn waiting(records: &[ScheduleRecord]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.state == State::Callback)
        .map(|r| r.trace_id.clone())
        .collect()
}

/// The claims of `records` under `lease_id`, each row in CALLBACK with its oldest callback,
/// in the order the `Store` trait promises: rows in POLL, earliest `next_run_at` first, then
/// rows in CALLBACK, oldest queued callback first (ties by trace id).
pub(crate) fn claims(
    records: Vec<ScheduleRecord>,
    lease_id: i64,
    mut callbacks: HashMap<String, QueuedCallback>,
) -> Vec<Claim> {
    let mut claims: Vec<Claim> = records
        .into_iter()
        .map(|record| Claim {
            callback: if record.state == State::Callback {
                callbacks.remove(&record.trace_id)
            } else {
                None
            },
            record,
            lease_id,
        })
        .collect();
    claims.sort_by(|a, b| claim_order(a).cmp(&claim_order(b)));
    claims
}

fn claim_order(c: &Claim) -> (bool, Option<Timestamp>, Option<i64>, &str) {
    (
        c.record.state == State::Callback,
        c.record.next_run_at,
        c.callback.as_ref().map(|cb| cb.seq),
        &c.record.trace_id,
    )
}

/// One item of a `complete_many` with its position in the batch.
pub(crate) type Item = (usize, String, i64, Transition);

/// A `complete_many` batch split by how it is written.
#[derive(Debug)]
pub(crate) struct Batch {
    /// One result per item, filled by the writes.
    pub(crate) results: Vec<bool>,
    /// Written one by one with `complete`: steps that touch the inbox or outbox, and a plain
    /// step alone in its chunk.
    pub(crate) singles: Vec<Item>,
    /// Plain steps, at most [`MULTI_ROW_CHUNK`] per chunk, each written by one statement.
    pub(crate) chunks: Vec<Vec<Item>>,
}

/// Splits `items` into [`Batch`] parts.
pub(crate) fn partition(items: Vec<Completion>) -> Batch {
    let results = vec![false; items.len()];
    let (mut singles, mut plain) = (Vec::new(), Vec::new());
    for (i, c) in items.into_iter().enumerate() {
        let item = (i, c.trace_id, c.lease_id, c.transition);
        if item.3.is_plain() {
            plain.push(item);
        } else {
            singles.push(item);
        }
    }
    let mut chunks = Vec::new();
    let mut plain = plain.into_iter().peekable();
    while plain.peek().is_some() {
        let chunk: Vec<Item> = plain.by_ref().take(MULTI_ROW_CHUNK).collect();
        if chunk.len() == 1 {
            singles.extend(chunk);
        } else {
            chunks.push(chunk);
        }
    }
    Batch {
        results,
        singles,
        chunks,
    }
}

/// The rows of a chunk's multi-row write, in [`transition_values`] order.
pub(crate) fn chunk_values(chunk: &[Item]) -> StoreResult<Vec<Vec<Param>>> {
    chunk
        .iter()
        .map(|(_, trace_id, lease_id, t)| transition_values(trace_id, *lease_id, t))
        .collect()
}

/// Records which items of `chunk` were written (their trace id is in `written`).
pub(crate) fn scatter(results: &mut [bool], chunk: &[Item], written: &HashSet<String>) {
    for (i, trace_id, _, _) in chunk {
        results[*i] = written.contains(trace_id);
    }
}
