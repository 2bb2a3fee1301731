//! Deadlines: a version's `timeout` (`#[plugin(timeout = "7d")]`, counted from the invoke) and
//! a wait's (`Context::wait_callback_for`).
//!
//! A waiting row carries its next deadline in `next_run_at`: the poll time of a POLL row
//! (never later than the version's deadline), the earlier of the two deadlines of a CALLBACK
//! row. The store claims a row when `next_run_at` passes whatever its state, and the engine
//! then FAILs it without running the plugin if a deadline has passed. For a CALLBACK row whose
//! wait deadline comes first, `err` holds the text it FAILs with until then (the engine hides
//! it from `schedule` answers, which show `err` only on FAIL).

use std::time::Duration;

use bk_plugin_core::{State, TimeLimit, human_duration};

use crate::clock::Timestamp;
use crate::store::ScheduleRecord;

/// The `err` prefix of a deadline that passed, as every failed resume's.
const PREFIX: &str = "plugin schedule failed: ";

/// When an invocation created at `created_at` must have finished, by its version's timeout.
pub(crate) fn version_deadline(
    created_at: Timestamp,
    timeout: Option<TimeLimit>,
) -> Option<Timestamp> {
    timeout.map(|t| created_at.saturating_add(t.duration()))
}

/// `next_run_at` and `err` of a row entering `state`: a POLL resumes after `poll_interval`,
/// but no later than `version`; a CALLBACK waits until `callback_timeout` from `now` or
/// `version`, whichever comes first (no deadline: `None`).
pub(crate) fn wait_fields(
    state: State,
    poll_interval: Option<Duration>,
    callback_timeout: Option<Duration>,
    now: Timestamp,
    version: Option<Timestamp>,
) -> (Option<Timestamp>, String) {
    let earliest = |t: Option<Timestamp>| match (t, version) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match state {
        State::Poll => (
            earliest(poll_interval.map(|d| now.saturating_add(d))),
            String::new(),
        ),
        State::Callback => {
            let wait = callback_timeout.map(|d| (now.saturating_add(d), d));
            match wait {
                Some((at, d)) if version.is_none_or(|v| at <= v) => (
                    Some(at),
                    format!("no callback within {}", human_duration(d)),
                ),
                _ => (version, String::new()),
            }
        }
        _ => (None, String::new()),
    }
}

/// Why `record` (claimed at `now`, `with_callback` whether a callback is queued for it) ends
/// here without running: the `err` it FAILs with.
pub(crate) fn passed(
    record: &ScheduleRecord,
    timeout: Option<TimeLimit>,
    with_callback: bool,
    now: Timestamp,
) -> Option<String> {
    if let (Some(at), Some(t)) = (version_deadline(record.created_at, timeout), timeout)
        && at <= now
    {
        return Some(format!(
            "{PREFIX}the invocation did not finish within {} (the version's timeout)",
            t.text()
        ));
    }
    let waited_out = record.state == State::Callback
        && !with_callback
        && record.next_run_at.is_some_and(|at| at <= now);
    waited_out.then(|| {
        let reason = if record.err.is_empty() {
            "no callback before the wait's deadline"
        } else {
            &record.err
        };
        format!("{PREFIX}{reason}")
    })
}

/// Whether a callback for `record` arriving at `now` comes too late (a deadline passed: it is
/// refused as for a finished invocation).
pub(crate) fn too_late(
    record: &ScheduleRecord,
    timeout: Option<TimeLimit>,
    now: Timestamp,
) -> bool {
    record.state == State::Callback && passed(record, timeout, false, now).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_000_000);
    const H: Duration = Duration::from_secs(3600);

    #[test]
    fn polls_are_clamped_to_the_version_deadline() {
        let v = Some(T0.saturating_add(H));
        let (at, err) = wait_fields(State::Poll, Some(2 * H), None, T0, v);
        assert_eq!((at, err.as_str()), (v, ""));
        let (at, _) = wait_fields(State::Poll, Some(H / 2), None, T0, v);
        assert_eq!(at, Some(T0.saturating_add(H / 2)));
    }

    #[test]
    fn a_callback_waits_for_the_earlier_deadline_and_names_its_own() {
        let (at, err) = wait_fields(State::Callback, None, Some(2 * H), T0, None);
        assert_eq!(
            (at, err.as_str()),
            (Some(T0.saturating_add(2 * H)), "no callback within 2h")
        );
        let v = Some(T0.saturating_add(H));
        let (at, err) = wait_fields(State::Callback, None, Some(2 * H), T0, v);
        assert_eq!((at, err.as_str()), (v, ""));
        assert_eq!(
            wait_fields(State::Callback, None, None, T0, None),
            (None, String::new())
        );
    }
}
