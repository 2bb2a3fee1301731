//! W3C Trace Context on every request: `traceparent` and `tracestate` are read (an invalid
//! header is no context, never an error), put in the request's extensions as a
//! [`TraceContext`], and the request is handled inside a `request` span carrying the W3C
//! trace id, so every log line of the request has it (`w3c_trace_id`).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use bk_plugin_engine::TraceParent;
use tracing::Instrument;

/// The `tracing` target of the per-request span (not exported: the engine's spans are).
pub(crate) const REQUEST_TARGET: &str = "bk_plugin::request";

/// The longest `tracestate` passed on (W3C: at least 512 characters should be kept).
const MAX_TRACESTATE: usize = 512;

/// The caller's W3C trace context, in the extensions of every request (and of the requests
/// `plugin_api_dispatch` makes to your `plugin_api` routes): read it with
/// `Extension<TraceContext>` and [`apply`](TraceContext::apply) it to the requests your
/// handler makes, so they join the caller's trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext {
    parent: Option<TraceParent>,
    state: Option<String>,
}

impl TraceContext {
    /// The context of `headers`: an absent, repeated or invalid `traceparent` is none (and
    /// then `tracestate` is ignored, as W3C says).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all("traceparent").iter();
        let parent = match (values.next(), values.next()) {
            (Some(v), None) => v.to_str().ok().and_then(TraceParent::parse),
            _ => None,
        };
        let state = parent.and_then(|_| {
            let joined = headers
                .get_all("tracestate")
                .iter()
                .map(|v| v.to_str().ok().map(str::trim))
                .collect::<Option<Vec<_>>>()?
                .join(",");
            let ok = !joined.is_empty()
                && joined.len() <= MAX_TRACESTATE
                && joined.bytes().all(|b| (0x20..0x7f).contains(&b));
            ok.then_some(joined)
        });
        TraceContext { parent, state }
    }

    /// The caller's `traceparent`, when it sent a valid one.
    pub fn traceparent(&self) -> Option<TraceParent> {
        self.parent
    }

    /// The caller's `tracestate` (only with a valid `traceparent`).
    pub fn tracestate(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// Sets `traceparent` and `tracestate` in `headers` (nothing without a context).
    pub fn apply(&self, headers: &mut HeaderMap) {
        let Some(parent) = self.parent else { return };
        if let Ok(v) = HeaderValue::from_str(&parent.to_string()) {
            headers.insert("traceparent", v);
        }
        if let Some(v) = self
            .state
            .as_deref()
            .and_then(|s| HeaderValue::from_str(s).ok())
        {
            headers.insert("tracestate", v);
        }
    }
}

/// Reads the trace context of every request and runs it in a `request` span of that trace.
pub(crate) async fn layer(mut req: Request, next: Next) -> Response {
    let cx = TraceContext::from_headers(req.headers());
    let parent = cx.parent;
    req.extensions_mut().insert(cx);
    match parent {
        Some(p) => {
            let span = tracing::info_span!(
                target: REQUEST_TARGET,
                "request",
                w3c_trace_id = %p.trace_id_hex(),
                traceparent = %p,
            );
            next.run(req).instrument(span).await
        }
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::TraceContext;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_a_valid_context() {
        let cx = TraceContext::from_headers(&headers(&[
            ("traceparent", VALID),
            ("tracestate", "a=1"),
            ("tracestate", "b=2"),
        ]));
        assert_eq!(cx.traceparent().unwrap().to_string(), VALID);
        assert_eq!(cx.tracestate(), Some("a=1,b=2"));
        let mut out = HeaderMap::new();
        cx.apply(&mut out);
        assert_eq!(out["traceparent"], VALID);
        assert_eq!(out["tracestate"], "a=1,b=2");
    }

    #[test]
    fn an_invalid_or_repeated_traceparent_is_no_context() {
        for h in [
            headers(&[("traceparent", "nope"), ("tracestate", "a=1")]),
            headers(&[("traceparent", VALID), ("traceparent", VALID)]),
            headers(&[("tracestate", "a=1")]),
        ] {
            let cx = TraceContext::from_headers(&h);
            assert_eq!(cx, TraceContext::default());
            let mut out = HeaderMap::new();
            cx.apply(&mut out);
            assert!(out.is_empty());
        }
    }
}
