//! Traces over OTLP (feature `otel`): the real plugin binary, with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an OTLP/HTTP receiver on 127.0.0.1, is invoked
//! with a `traceparent`; its invoke, resume and notification spans reach the receiver in the
//! caller's trace, each under the right parent, and the finish notification carries the
//! notification span as its `traceparent`. The spans are flushed by the graceful SIGTERM
//! shutdown (the batch delay is set far beyond the test).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bk_plugin_kit::engine::TraceParent;
use bk_plugin_kit::http::axum::Router;
use bk_plugin_kit::http::axum::body::Bytes;
use bk_plugin_kit::http::axum::routing::post;
use bk_plugin_kit::serde_json::{Value, json};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

use bk_plugin_tests::receiver::Receiver;
use bk_plugin_tests::support::temp_dir;

const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const LIMIT: Duration = Duration::from_secs(30);

/// A span as received, with the `service.name` of its resource.
#[derive(Debug, Clone)]
struct Received {
    span: Span,
    service: Option<String>,
}

/// An OTLP/HTTP receiver: `POST /v1/traces` with an `ExportTraceServiceRequest`.
async fn otlp_receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let s = spans.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let s = s.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut s = s.lock().unwrap();
                for rs in req.resource_spans {
                    let service = rs
                        .resource
                        .as_ref()
                        .and_then(|r| string_attr(&r.attributes, "service.name"));
                    for ss in rs.scope_spans {
                        for span in ss.spans {
                            s.push(Received {
                                span,
                                service: service.clone(),
                            });
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { bk_plugin_kit::http::axum::serve(listener, app).await });
    (url, spans)
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string_attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key)? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn int_attr(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attrs, key)? {
        any_value::Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

/// Starts the binary; returns it and its address once it serves (from its startup line).
fn start(otlp: &str) -> (Child, String) {
    let dir = temp_dir("otel");
    let mut child = Command::new(env!("CARGO_BIN_EXE_traced-server"))
        .env_clear()
        .env("BKPAAS_ENVIRONMENT", "dev")
        .env("BKPAAS_APP_ID", "traced-plugin")
        .env("BK_PLUGIN_LISTEN", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("s.db").display()),
        )
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        // Exported only by the shutdown's flush.
        .env("OTEL_BSP_SCHEDULE_DELAY", "3600000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(" on http://") => {
                let addr = l.split(" on http://").nth(1).unwrap();
                let addr = addr.split('/').next().unwrap().to_owned();
                std::thread::spawn(move || lines.for_each(drop));
                return (child, addr);
            }
            Some(Ok(_)) => {}
            other => panic!("the server did not start: {other:?}, {:?}", child.wait()),
        }
    }
}

/// SIGTERM, then waits (bounded) for a clean exit.
async fn terminate(mut child: Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        if tokio::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server did not stop within {LIMIT:?} of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The spans received by name once all of `wanted` are there. The flush has reached the
/// receiver by the time the process exited; it is read within a bound all the same.
async fn spans_named(spans: &Mutex<Vec<Received>>, wanted: &[&str]) -> HashMap<String, Received> {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let got: HashMap<String, Received> = spans
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.span.name.clone(), r.clone()))
            .collect();
        if wanted.iter().all(|n| got.contains_key(*n)) {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "spans received: {:?}",
            got.keys().collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_resume_and_notification_spans_reach_the_otlp_receiver_in_the_callers_trace() {
    let (otlp, spans) = otlp_receiver().await;
    let notified = Receiver::start().await;
    let (server, addr) = start(&otlp);

    let r = reqwest::Client::new()
        .post(format!("http://{addr}/bk_plugin/invoke/1.0.0/"))
        .header("traceparent", CALLER)
        .json(&json!({
            "inputs": {},
            "context": {"plugin_callback_info": {"url": notified.url, "data": {"node": 7}}},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"]["state"], 2, "{v}");
    let trace_id = v["trace_id"].as_str().unwrap().to_owned();

    let got = notified.first(LIMIT).await;
    assert_eq!(got.body, json!({"node": 7}));
    let sent = TraceParent::parse(got.headers["traceparent"].to_str().unwrap()).unwrap();

    terminate(server).await;

    let wanted = ["invoke", "resume", "notification"];
    let by_name = spans_named(&spans, &wanted).await;
    let caller = TraceParent::parse(CALLER).unwrap();
    let [invoke, resume, notification] = wanted.map(|n| &by_name[n]);
    for r in [invoke, resume, notification] {
        assert_eq!(
            r.span.trace_id,
            caller.trace_id(),
            "{} in the caller's trace",
            r.span.name
        );
        assert_eq!(r.service.as_deref(), Some("traced-plugin"));
        let a = &r.span.attributes;
        assert_eq!(
            string_attr(a, "bk_plugin.trace_id").as_deref(),
            Some(&*trace_id)
        );
    }
    assert_eq!(
        invoke.span.parent_span_id,
        caller.span_id(),
        "invoke under the caller's span"
    );
    assert_eq!(
        resume.span.parent_span_id, invoke.span.span_id,
        "resume under invoke"
    );
    assert_eq!(
        notification.span.parent_span_id, invoke.span.span_id,
        "notification under invoke"
    );
    assert_eq!(sent.trace_id(), caller.trace_id());
    assert_eq!(
        sent.span_id()[..],
        notification.span.span_id[..],
        "the request's parent is the notification span"
    );

    assert_eq!(
        string_attr(&invoke.span.attributes, "version").as_deref(),
        Some("1.0.0")
    );
    assert_eq!(
        string_attr(&invoke.span.attributes, "state").as_deref(),
        Some("POLL")
    );
    assert_eq!(
        string_attr(&resume.span.attributes, "state").as_deref(),
        Some("SUCCESS")
    );
    assert_eq!(int_attr(&resume.span.attributes, "invoke_count"), Some(2));
    assert_eq!(int_attr(&notification.span.attributes, "attempt"), Some(1));
    assert_eq!(
        string_attr(&notification.span.attributes, "status").as_deref(),
        Some("delivered")
    );
    // The plugin's own run is a child of invoke (the `execute` span of the logs).
    let execute = by_name.get("execute").expect("the execute span");
    assert_eq!(execute.span.parent_span_id, invoke.span.span_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_from_another_trace_is_delivered_in_the_invocations_trace() {
    let (otlp, spans) = otlp_receiver().await;
    let (server, addr) = start(&otlp);
    let client = reqwest::Client::new();
    let v: Value = client
        .post(format!("http://{addr}/bk_plugin/invoke/2.0.0/"))
        .header("traceparent", CALLER)
        .json(&json!({"inputs": {}, "context": {}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"]["state"], 3, "{v}");
    // In dev the URL is relative, `/dev/callback/<token>/`: the route is `callback/<token>/`.
    let url = v["data"]["outputs"]["callback_url"].as_str().unwrap();
    let token = url.trim_end_matches('/').rsplit('/').next().unwrap();
    // The third party calls back in a trace of its own.
    let theirs = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let r = client
        .post(format!("http://{addr}/bk_plugin/callback/{token}/"))
        .header("traceparent", theirs)
        .json(&json!({"done": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let schedule = format!(
        "http://{addr}/bk_plugin/schedule/{}/",
        v["trace_id"].as_str().unwrap()
    );
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let s: Value = client
            .get(&schedule)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["data"]["state"] == 4 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not resumed: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    terminate(server).await;

    let by_name = spans_named(&spans, &["invoke", "callback", "resume"]).await;
    let caller = TraceParent::parse(CALLER).unwrap();
    let [invoke, callback, resume] = ["invoke", "callback", "resume"].map(|n| &by_name[n]);
    for r in [invoke, callback, resume] {
        assert_eq!(
            r.span.trace_id,
            caller.trace_id(),
            "{} in the invoker's trace",
            r.span.name
        );
    }
    assert_eq!(
        callback.span.parent_span_id, invoke.span.span_id,
        "callback under invoke"
    );
    assert_eq!(
        resume.span.parent_span_id, invoke.span.span_id,
        "resume under invoke"
    );
    assert_eq!(
        string_attr(&callback.span.attributes, "outcome").as_deref(),
        Some("queued")
    );
    assert_eq!(
        string_attr(&invoke.span.attributes, "state").as_deref(),
        Some("CALLBACK")
    );
    assert_eq!(
        string_attr(&resume.span.attributes, "from_state").as_deref(),
        Some("CALLBACK")
    );
    assert_eq!(
        string_attr(&resume.span.attributes, "state").as_deref(),
        Some("SUCCESS")
    );
}
