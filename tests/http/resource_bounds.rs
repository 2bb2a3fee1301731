//! Resource bounds (docs/deployment.md, "Limits and failure behaviour"), through a real socket:
//! a plugin that writes 50 MB of storage or outputs, input JSON nested 100,000 levels deep,
//! 10,000 callbacks racing on one invocation, a plugin whose `execute` never returns. Each
//! time the server survives, answers other requests meanwhile, and the invocation ends with a
//! clear `err`.

use std::time::{Duration, Instant};

use bk_plugin_kit::engine::EngineConfig;
use bk_plugin_kit::engine::testing::token_of;
use bk_plugin_kit::http::Server;
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::server::{dev_config, serve};
use bk_plugin_tests::support::two_worker_runtime;

#[derive(Inputs)]
pub struct BigInputs {
    /// Megabytes to write.
    pub mb: usize,
    /// The run that writes them (1: inside invoke).
    pub at: u32,
    /// Into `outputs` instead of `storage`.
    #[field(default)]
    pub outputs: bool,
}

/// Writes `mb` MB into storage or outputs in run `at`, polling until then.
#[plugin(version = "7.0.0")]
pub struct Big;

impl Plugin for Big {
    type Inputs = BigInputs;
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, i: BigInputs, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.invoke_count() < i.at {
            ctx.wait_poll(Duration::from_millis(50));
            return Ok(());
        }
        let blob = Value::from("x".repeat(i.mb * 1024 * 1024));
        let target = if i.outputs {
            ctx.outputs_mut()
        } else {
            ctx.storage_mut()
        };
        target.insert("blob".into(), blob);
        Ok(())
    }
}

#[derive(Inputs)]
pub struct ForeverInputs {
    /// The run that never returns (1: inside invoke).
    pub at: u32,
}

/// Never returns from run `at`.
#[plugin(version = "7.1.0")]
pub struct Forever;

impl Plugin for Forever {
    type Inputs = ForeverInputs;
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, i: ForeverInputs, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.invoke_count() < i.at {
            ctx.wait_poll(Duration::from_millis(50));
            return Ok(());
        }
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// Waits for one callback, then succeeds with the data it got.
#[plugin(version = "7.2.0")]
pub struct Waiter;

impl Plugin for Waiter {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        match ctx.callback().cloned() {
            None => {
                let cb = ctx.prepare_callback()?;
                ctx.outputs_mut().insert("url".into(), cb.url.into());
                ctx.wait_callback();
            }
            Some(c) => {
                ctx.outputs_mut().insert("got".into(), c.data);
            }
        }
        Ok(())
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

async fn invoke(base: &str, version: &str, inputs: Value) -> Value {
    let r = client()
        .post(format!("{base}/bk_plugin/invoke/{version}"))
        .json(&json!({"inputs": inputs, "context": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn schedule(base: &str, trace: &str) -> Value {
    let r = client()
        .get(format!("{base}/bk_plugin/schedule/{trace}"))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["data"].clone()
}

/// Waits until `trace` is finished and returns its schedule data.
async fn finished(base: &str, trace: &str) -> Value {
    let started = Instant::now();
    loop {
        let data = schedule(base, trace).await;
        if matches!(data["state"].as_u64(), Some(4 | 5)) {
            return data;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{trace}: {data}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn meta_answers(base: &str) {
    let t = Instant::now();
    let r = client()
        .get(format!("{base}/bk_plugin/meta/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "meta took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_plugin_writing_50_mb_fails_with_a_clear_err_and_the_server_keeps_answering() {
    two_worker_runtime().block_on(async {
        let base = serve(Server::new(dev_config())).await;
        let limit = EngineConfig::default().max_state_bytes;
        let expected = format!("storage and outputs are more than {limit} bytes of JSON");
        // In invoke, into outputs: FAIL, outputs null.
        let first = invoke(&base, "7.0.0", json!({"mb": 50, "at": 1, "outputs": true})).await;
        assert_eq!(first["data"]["state"], 5, "{}", first["data"]["err"]);
        assert_eq!(first["data"]["outputs"], Value::Null);
        let err = first["data"]["err"].as_str().unwrap();
        assert_eq!(
            err,
            format!("plugin execute raise unexpected error: {expected}")
        );
        meta_answers(&base).await;
        // In a resume, into storage: the stored FAIL keeps what the run started with.
        let polled = invoke(&base, "7.0.0", json!({"mb": 50, "at": 2})).await;
        assert_eq!(polled["data"]["state"], 2);
        let trace = polled["trace_id"].as_str().unwrap();
        let done = finished(&base, trace).await;
        assert_eq!(done["state"], 5);
        assert_eq!(
            done["err"].as_str().unwrap(),
            format!("plugin schedule failed: {expected}")
        );
        // Just under the limit is fine.
        let small = invoke(&base, "7.0.0", json!({"mb": 3, "at": 1, "outputs": true})).await;
        assert_eq!(small["data"]["state"], 4);
        meta_answers(&base).await;
    });
}

/// `[[[...]]]` nested `depth` levels.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn input_json_nested_100_000_levels_is_a_400() {
    two_worker_runtime().block_on(async {
        let base = serve(Server::new(dev_config())).await;
        let deep = nested(100_000);
        let body = format!(r#"{{"inputs": {{"mb": {deep}}}, "context": {{}}}}"#);
        let t = Instant::now();
        let r = client()
            .post(format!("{base}/bk_plugin/invoke/7.0.0"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let answer: Value = r.json().await.unwrap();
        let detail = answer["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("JSON parse error - recursion limit exceeded"),
            "{detail}"
        );
        assert!(t.elapsed() < Duration::from_secs(5));
        // plugin_api_dispatch parses its body the same way.
        let r = client()
            .post(format!("{base}/bk_plugin/plugin_api_dispatch/"))
            .header("Content-Type", "application/json")
            .body(format!(
                r#"{{"url": "/x", "method": "GET", "username": "u", "data": {deep}}}"#
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{:?}", r.text().await);
        meta_answers(&base).await;
    });
}

#[test]
fn ten_thousand_callbacks_racing_on_one_invocation_resume_it_once() {
    two_worker_runtime().block_on(async {
        // A short retry window: the refused callbacks (after the resume) answer quickly.
        let mut engine = EngineConfig::default();
        engine.callback_retry_delay = Duration::from_millis(10);
        let base = serve(Server::new(dev_config()).engine_config(engine)).await;
        let first = invoke(&base, "7.2.0", json!({})).await;
        assert_eq!(first["data"]["state"], 3);
        let trace = first["trace_id"].as_str().unwrap().to_owned();
        let url = first["data"]["outputs"]["url"].as_str().unwrap();
        let target = format!("{base}/bk_plugin/callback/{}/", token_of(url));
        let http = client();
        let mut tasks = tokio::task::JoinSet::new();
        let mut answers = std::collections::BTreeMap::<(u16, String), usize>::new();
        for i in 0..10_000 {
            let (http, target) = (http.clone(), target.clone());
            tasks.spawn(async move {
                let r = http
                    .post(&target)
                    .json(&json!({"n": i}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                (
                    status,
                    body["message"].as_str().unwrap_or_default().to_owned(),
                )
            });
            while tasks.len() >= 256 {
                let (status, message) = tasks.join_next().await.unwrap().unwrap();
                *answers.entry((status, message)).or_default() += 1;
            }
        }
        while let Some(done) = tasks.join_next().await {
            let (status, message) = done.unwrap();
            *answers.entry((status, message)).or_default() += 1;
        }
        eprintln!("answers: {answers:?}");
        // Accepted, refused as not waiting (any more), or, when the store cannot serve the
        // flood within BK_PLUGIN_STORE_TIMEOUT, 503 (safe to retry): never anything else.
        for ((status, message), n) in &answers {
            let refused = message.starts_with("callback fail,schedule plugin state[");
            let shed = message.starts_with("the schedule store is unavailable");
            assert!(
                (*status == 200 && message == "callback success")
                    || (*status == 400 && refused)
                    || (*status == 503 && shed),
                "{n} answered {status} {message}"
            );
        }
        let accepted = answers.get(&(200, "callback success".to_owned()));
        assert!(accepted.is_some(), "{answers:?}");
        let done = finished(&base, &trace).await;
        assert_eq!(done["state"], 4, "{done}");
        assert!(done["outputs"]["got"]["n"].is_u64(), "{done}");
        meta_answers(&base).await;
    });
}

#[test]
fn a_plugin_that_never_returns_fails_at_its_time_limit() {
    two_worker_runtime().block_on(async {
        let mut config = dev_config();
        config.engine.invoke_timeout = Some(Duration::from_millis(500));
        config.engine.step_timeout = Some(Duration::from_millis(500));
        let base = serve(Server::new(config)).await;
        let t = Instant::now();
        let first = invoke(&base, "7.1.0", json!({"at": 1})).await;
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(first["data"]["state"], 5);
        assert_eq!(
            first["data"]["err"],
            "plugin execute raise unexpected error: execute did not return within 0.5 s"
        );
        meta_answers(&base).await;
        let polled = invoke(&base, "7.1.0", json!({"at": 2})).await;
        assert_eq!(polled["data"]["state"], 2);
        let done = finished(&base, polled["trace_id"].as_str().unwrap()).await;
        assert_eq!(done["state"], 5);
        assert_eq!(
            done["err"],
            "plugin schedule failed: execute did not return within 0.5 s"
        );
    });
}
