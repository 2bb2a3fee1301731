//! W3C Trace Context without the `otel` feature: the caller's `traceparent` is accepted on
//! every endpoint (an invalid one is ignored), continued by the finish notification of the
//! invocation (stored with its row across the resume), and passed to `plugin_api` handlers
//! through `plugin_api_dispatch`. Real sockets on 127.0.0.1.

use std::time::Duration;

use bk_plugin_kit::engine::TraceParent;
use bk_plugin_kit::http::axum::extract::Extension;
use bk_plugin_kit::http::axum::http::HeaderMap;
use bk_plugin_kit::http::axum::routing::get;
use bk_plugin_kit::http::axum::{Json, Router};
use bk_plugin_kit::http::{Server, TraceContext};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_kit::{PluginCallbackInfo, Registry};

use bk_plugin_tests::receiver::Receiver;
use bk_plugin_tests::server::{dev_config, serve};

const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const LIMIT: Duration = Duration::from_secs(20);

/// Polls once, then succeeds and reports it (finish notification).
#[plugin(version = "41.0.0", enable_plugin_callback = true)]
pub struct Reporting;

#[derive(ContextInputs)]
pub struct Reported {
    pub plugin_callback_info: PluginCallbackInfo,
}

impl Plugin for Reporting {
    type Inputs = ();
    type ContextInputs = Reported;
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.state() == State::Empty {
            ctx.wait_poll(Duration::ZERO);
        }
        Ok(())
    }
}

/// What a `plugin_api` handler sees of the caller's trace.
async fn trace(headers: HeaderMap, Extension(cx): Extension<TraceContext>) -> Json<Value> {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Json(json!({
        "header": h("traceparent"),
        "state_header": h("tracestate"),
        "extension": cx.traceparent().map(|t| t.to_string()),
        "state": cx.tracestate(),
    }))
}

async fn start() -> String {
    let registry: &'static Registry = Box::leak(Box::new(Registry::of::<Reporting>().unwrap()));
    serve(
        Server::new(dev_config())
            .registry(registry)
            .plugin_api(Router::new().route("/trace", get(trace))),
    )
    .await
}

/// Invokes with `traceparent` (when given) and waits for the finish notification.
async fn invoke_and_notify(base: &str, traceparent: Option<&str>) -> HeaderMap {
    let receiver = Receiver::start().await;
    let mut req = reqwest::Client::new()
        .post(format!("{base}/bk_plugin/invoke/41.0.0/"))
        .json(&json!({
            "inputs": {},
            "context": {"plugin_callback_info": {"url": receiver.url, "data": {"node": 1}}},
        }));
    if let Some(t) = traceparent {
        req = req.header("traceparent", t);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"]["state"], 2, "{v}");
    let got = receiver.first(LIMIT).await;
    assert_eq!(got.body, json!({"node": 1}));
    got.headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_finish_notification_continues_the_invokers_trace() {
    let base = start().await;
    let headers = invoke_and_notify(&base, Some(CALLER)).await;
    let sent = headers["traceparent"].to_str().unwrap();
    let sent = TraceParent::parse(sent).expect("a valid traceparent");
    let caller = TraceParent::parse(CALLER).unwrap();
    assert_eq!(sent.trace_id(), caller.trace_id(), "the caller's trace");
    assert_ne!(
        sent.span_id(),
        caller.span_id(),
        "a span of ours as the parent"
    );
    assert_eq!(sent.flags(), caller.flags());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_traceparent_is_ignored() {
    let base = start().await;
    let client = reqwest::Client::new();
    for bad in [
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    ] {
        for url in [
            format!("{base}/bk_plugin/meta/"),
            format!("{base}/bk_plugin/detail/41.0.0/"),
            format!("{base}/bk_plugin/schedule/{}/", "a".repeat(32)),
        ] {
            let r = client
                .get(&url)
                .header("traceparent", bad)
                .header("tracestate", "k=v")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{url}");
        }
    }
    // Nothing to continue: the notification carries no trace context.
    let headers = invoke_and_notify(&base, Some("00-zz-zz-01")).await;
    assert!(headers.get("traceparent").is_none(), "{headers:?}");
    let headers = invoke_and_notify(&base, None).await;
    assert!(headers.get("traceparent").is_none(), "{headers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_api_handlers_get_the_callers_trace_context() {
    let base = start().await;
    let client = reqwest::Client::new();
    let dispatch = |traceparent: &'static str| {
        client
            .post(format!("{base}/bk_plugin/plugin_api_dispatch/"))
            .header("traceparent", traceparent)
            .header("tracestate", "sops=1")
            .json(&json!({"url": "/bk_plugin/plugin_api/trace", "method": "GET", "username": "u"}))
            .send()
    };
    let v: Value = dispatch(CALLER).await.unwrap().json().await.unwrap();
    assert_eq!(
        v["data"],
        json!({"header": CALLER, "state_header": "sops=1", "extension": CALLER, "state": "sops=1"}),
        "{v}"
    );
    let v: Value = dispatch("nope").await.unwrap().json().await.unwrap();
    assert_eq!(
        v["data"],
        json!({"header": null, "state_header": null, "extension": null, "state": null}),
        "{v}"
    );
    // Called directly, the same.
    let v: Value = client
        .get(format!("{base}/bk_plugin/plugin_api/trace"))
        .header("traceparent", CALLER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["extension"], CALLER, "{v}");
    assert_eq!(v["header"], CALLER, "{v}");
}
