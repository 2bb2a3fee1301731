//! How `schedules list` and `schedules show` print: a table or text for people, JSON for
//! tools. Values under secret-looking keys are redacted everywhere ([`redact::secrets`]).

use std::fmt::Write as _;

use bk_plugin_core::State;
use bk_plugin_engine::store::{Inspection, ScheduleRecord};
use bk_plugin_engine::{Timestamp, redact_url};
use serde_json::{Value, json};

use crate::redact;
use crate::time::shanghai;

/// The widest `err` in a table row.
const ERR_WIDTH: usize = 60;

/// `POLL (2)`.
pub(super) fn state_name(s: State) -> String {
    format!("{s} ({})", s.code())
}

fn time(t: Option<Timestamp>) -> String {
    t.map(shanghai).unwrap_or_else(|| "-".to_owned())
}

/// The fields of a row every view shows (`list`, `show`, the debug page's list).
pub(crate) fn summary(r: &ScheduleRecord) -> Value {
    json!({
        "trace_id": r.trace_id,
        "plugin_version": r.plugin_version,
        "state": r.state.code(),
        "state_name": r.state.to_string(),
        "invoke_count": r.invoke_count,
        "created_at": shanghai(r.created_at),
        "finish_at": r.finish_at.map(shanghai),
        "next_run_at": r.next_run_at.filter(|_| !r.state.is_finished()).map(shanghai),
        "err": r.err,
        "cancel": r.cancel.as_ref().map(|c| json!({"by": c.by, "reason": c.reason})),
    })
}

/// `list`: a JSON array, or a table.
pub(super) fn list(rows: &[ScheduleRecord], as_json: bool) -> String {
    if as_json {
        let rows: Vec<Value> = rows.iter().map(summary).collect();
        return format!("{}\n", Value::Array(rows));
    }
    let header = [
        "TRACE_ID",
        "VERSION",
        "STATE",
        "ROUNDS",
        "CREATED",
        "FINISHED / NEXT",
        "ERR",
    ];
    let mut table: Vec<[String; 7]> = vec![header.map(str::to_owned)];
    for r in rows {
        let when = if r.state.is_finished() {
            r.finish_at
        } else {
            r.next_run_at
        };
        let err: String = r.err.replace('\n', " ").chars().take(ERR_WIDTH).collect();
        table.push([
            r.trace_id.clone(),
            r.plugin_version.clone(),
            state_name(r.state),
            r.invoke_count.to_string(),
            shanghai(r.created_at),
            time(when),
            if r.state == State::Fail {
                err
            } else {
                String::new()
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            table
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(out, "{} invocation(s)", rows.len());
    out
}

/// `show`: JSON, or `key  value` lines.
pub(super) fn show(i: &Inspection, now: Timestamp, as_json: bool) -> String {
    let r = &i.record;
    let lease = i.lease.as_ref().map(|(owner, until)| {
        json!({"owner": owner, "until": shanghai(*until), "expired": *until < now})
    });
    let inbox: Vec<Value> = i
        .inbox
        .iter()
        .map(|c| json!({"callback_id": c.callback_id, "data": redact::secrets(&c.data)}))
        .collect();
    let notifications: Vec<Value> = i
        .notifications
        .iter()
        .map(|n| {
            json!({"url": redact_url(&n.url), "attempts": n.attempts, "due_at": shanghai(n.due_at)})
        })
        .collect();
    let mut all = summary(r);
    let data = [
        ("inputs", redact::secrets(&r.inputs)),
        ("context", redact::secrets(&r.context)),
        (
            "storage",
            redact::secrets(&Value::Object(r.storage.clone())),
        ),
        (
            "outputs",
            redact::secrets(&Value::Object(r.outputs.clone())),
        ),
    ];
    for (k, v) in data.iter().cloned() {
        all[k] = v;
    }
    all["traceparent"] = r.traceparent.clone().into();
    all["lease"] = lease.clone().unwrap_or(Value::Null);
    all["inbox"] = Value::Array(inbox.clone());
    all["notifications"] = Value::Array(notifications.clone());
    if as_json {
        return format!("{all:#}\n");
    }
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<14}{v}");
    };
    line("trace_id", r.trace_id.clone());
    line("version", r.plugin_version.clone());
    line("state", state_name(r.state));
    line("rounds", r.invoke_count.to_string());
    line("created_at", shanghai(r.created_at));
    line("finish_at", time(r.finish_at));
    if !r.state.is_finished() {
        let next = match r.next_run_at {
            Some(t) if t > now => format!("{} (in {} s)", shanghai(t), t.since(now).as_secs()),
            Some(t) => format!("{} (due)", shanghai(t)),
            None => "- (waits for a callback)".to_owned(),
        };
        line("next_run_at", next);
    }
    if let Some(c) = &r.cancel {
        line("cancel", c.to_string());
    }
    if let Some(t) = &r.traceparent {
        line("traceparent", t.clone());
    }
    if r.state == State::Fail {
        line("err", r.err.clone());
    }
    line(
        "lease",
        match &i.lease {
            Some((owner, until)) if *until >= now => {
                format!("held by {owner} until {}", shanghai(*until))
            }
            Some((owner, until)) => format!("expired {} (was {owner})", shanghai(*until)),
            None => "-".to_owned(),
        },
    );
    line("inbox", format!("{} queued callback(s)", inbox.len()));
    for c in &inbox {
        line("", c.to_string());
    }
    line("notifications", format!("{} pending", notifications.len()));
    for n in &notifications {
        line("", n.to_string());
    }
    for (k, v) in data {
        line(k, v.to_string());
    }
    out
}
