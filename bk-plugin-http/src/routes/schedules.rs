//! `GET schedules/` (dev only): the invocations in the store, newest first, for the debug
//! page's list: `?state=waiting,fail&version=1.0.0&older_than=1h&limit=50`, the filters of
//! `schedules list`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bk_plugin_engine::new_id;
use bk_plugin_engine::store::ScheduleFilter;
use serde_json::{Value, json};

use crate::app_state::AppState;
use crate::reply;
use crate::schedules::render::summary;
use crate::schedules::{StateArg, parse_age};

/// The most rows one answer holds.
const MAX_LIMIT: usize = 500;

pub(crate) async fn schedules(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let trace_id = new_id();
    let filter = match filter(&q, state.engine.clock().now()) {
        Ok(f) => f,
        Err(message) => return reply::failure(StatusCode::BAD_REQUEST, &message, Some(&trace_id)),
    };
    match state.engine.list_schedules(&filter).await {
        Ok(rows) => {
            let rows: Vec<Value> = rows.iter().map(summary).collect();
            reply::json(
                StatusCode::OK,
                &json!({"result": true, "data": rows, "message": "", "trace_id": trace_id}),
            )
        }
        Err(e) => {
            tracing::error!(trace_id, error = %e, "listing schedules failed");
            reply::store_unavailable(&trace_id)
        }
    }
}

fn filter(
    q: &HashMap<String, String>,
    now: bk_plugin_engine::Timestamp,
) -> Result<ScheduleFilter, String> {
    // Given is given: an empty or malformed filter is a 400, as the OpenAPI patterns say.
    let get = |k: &str| q.get(k).map(String::as_str);
    let mut f = ScheduleFilter::new().limit(50);
    if let Some(states) = get("state") {
        let mut all = Vec::new();
        for name in states.split(',') {
            let arg = StateArg::parse(name).ok_or_else(|| {
                format!(
                    "unknown state {name:?}: use poll, callback, success, fail, waiting or finished"
                )
            })?;
            all.extend_from_slice(arg.states());
        }
        f = f.states(all);
    }
    if let Some(v) = get("version") {
        f = f.version(v);
    }
    if let Some(age) = get("older_than") {
        let d = parse_age(age).map_err(|e| format!("older_than: {e}"))?;
        f = f.created_before(now.saturating_sub(d));
    }
    if let Some(n) = get("limit") {
        let n: usize = n
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("limit {n:?} is not a number from 1 to {MAX_LIMIT}"))?;
        f = f.limit(n);
    }
    Ok(f)
}
