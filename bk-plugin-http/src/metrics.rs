//! Prometheus metrics at `GET /metrics`: invocations by version and state, invoke latency,
//! pending schedules and notifications (read from the store at scrape time).

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::app_state::AppState;

// Labels are `&'static str`: the registry's versions and the state names. Counting an invoke
// allocates nothing.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionState {
    version: &'static str,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

/// The runtime's metrics.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    invocations: Family<VersionState, Counter>,
    latency: Family<VersionLabel, Histogram>,
    polling: Gauge,
    waiting_callback: Gauge,
    notifications: Gauge,
}

fn state_name(code: u8) -> &'static str {
    match code {
        1 => "EMPTY",
        2 => "POLL",
        3 => "CALLBACK",
        4 => "SUCCESS",
        _ => "FAIL",
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("bk_plugin");
        let invocations = Family::<VersionState, Counter>::default();
        let latency = Family::<VersionLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ])
        });
        let (polling, waiting_callback, notifications) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "invocations",
            "Invocations answered by invoke, by version and state after the first step",
            invocations.clone(),
        );
        registry.register(
            "invoke_duration_seconds",
            "Time to answer invoke (first step included), by version",
            latency.clone(),
        );
        registry.register(
            "schedules_polling",
            "Unfinished invocations in POLL",
            polling.clone(),
        );
        registry.register(
            "schedules_waiting_callback",
            "Unfinished invocations in CALLBACK",
            waiting_callback.clone(),
        );
        registry.register(
            "finish_notifications_pending",
            "Finish notifications not yet delivered",
            notifications.clone(),
        );
        Metrics {
            registry,
            invocations,
            latency,
            polling,
            waiting_callback,
            notifications,
        }
    }

    /// Counts an invoke of `version` (the registry's) that answered `state`.
    pub(crate) fn invoked(&self, version: &'static str, state: u8, elapsed: Duration) {
        self.invocations
            .get_or_create(&VersionState {
                version,
                state: state_name(state),
            })
            .inc();
        self.latency
            .get_or_create(&VersionLabel { version })
            .observe(elapsed.as_secs_f64());
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    match state.engine.store().counts().await {
        Ok(c) => {
            m.polling.set(i64::try_from(c.polling).unwrap_or(i64::MAX));
            m.waiting_callback
                .set(i64::try_from(c.waiting_callback).unwrap_or(i64::MAX));
            m.notifications
                .set(i64::try_from(c.notifications).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::warn!(error = %e, "reading schedule counts for /metrics failed"),
    }
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &m.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response_empty();
    }
    let mut r = Response::new(Body::from(text));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    r
}

trait EmptyResponse {
    fn into_response_empty(self) -> Response;
}

impl EmptyResponse for StatusCode {
    fn into_response_empty(self) -> Response {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = self;
        r
    }
}
