//! The HTTP runtime through a real socket, compared with the Python peer's captured responses
//! (`fixtures/peer/`, see its INDEX.md) for the same three plugin versions (`support/peer.rs`).
//! Trace ids, timestamps, callback tokens and framework versions are normalised; everything
//! else must be equal.

use std::time::{Duration, Instant};

use bk_plugin_kit::http::{Config, Server};
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::support::fixture;

// The peer's plugins (1.0.0, 1.1.0, 2.0.0) are in the test library.
use bk_plugin_tests::server::{serve, temp_sqlite_url as temp_db};

/// The peer's app secret (../shared/peer/setup.sh): tokens it issued open with our key.
const PEER_SECRET: &str = "peer-local-secret-not-for-production";

struct Peerless {
    base: String,
    client: reqwest::Client,
}

fn dev_config() -> Config {
    let mut c = Config::dev();
    c.app_code = Some("bk-plugin-peer".into());
    c.description = Some("local peer plugin used to record reference responses".into());
    c.app_secret = Some(PEER_SECRET.into());
    c.database_url = temp_db();
    c
}

async fn start(config: Config) -> Peerless {
    Peerless {
        base: serve(Server::new(config)).await,
        client: reqwest::Client::new(),
    }
}

impl Peerless {
    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut req = self.client.post(format!("{}{path}", self.base)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, text) = self
            .post(
                path,
                body.to_string(),
                &[("content-type", "application/json")],
            )
            .await;
        (status, parse(&text))
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get(path).await;
        (status, parse(&text))
    }
}

fn parse(text: &str) -> Value {
    bk_plugin_kit::serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Replaces what legitimately differs between two runs (ids, times, tokens, versions).
fn normalise(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match (k.as_str(), &*x) {
                        ("trace_id", Value::String(_)) => *x = json!("TRACE"),
                        ("created_at" | "finish_at", Value::String(s)) if !s.is_empty() => {
                            *x = json!("TIME")
                        }
                        ("callback_url", Value::String(s)) => {
                            *x = json!(s.rsplitn(3, '/').nth(2).map(|p| format!("{p}/TOKEN/")))
                        }
                        ("framework_version" | "runtime_version" | "language", _) => {
                            *x = json!("VERSION")
                        }
                        _ => walk(x),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

fn expected(case: &str) -> Value {
    normalise(fixture(&format!("peer/{case}.json")))
}

fn request(case: &str) -> Value {
    fixture(&format!("peer/{case}_request.json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_and_detail_equal_the_peer() {
    let s = start(dev_config()).await;
    let (status, meta) = s.get_json("/bk_plugin/meta/").await;
    assert_eq!(status, 200);
    assert_eq!(normalise(meta.clone()), expected("meta"));
    // Without the slash: the same answer directly (the peer redirects with a 301).
    assert_eq!(s.get_json("/bk_plugin/meta").await, (200, meta));
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        let (status, detail) = s.get_json(&format!("/bk_plugin/detail/{v}")).await;
        assert_eq!(status, 200);
        assert_eq!(
            detail,
            fixture(&format!("peer/detail_{v}.json")),
            "detail {v}"
        );
    }
    assert_eq!(s.get("/bk_plugin/detail/9.9.9").await, (404, String::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_answers_equal_the_peer() {
    let s = start(dev_config()).await;
    for (case, version) in [
        ("invoke_ok", "1.0.0"),
        ("invoke_ok_defaults", "1.0.0"),
        ("invoke_ok_1.1.0", "1.1.0"),
        ("invoke_ok_1.1.0_coerced", "1.1.0"),
        ("invoke_bad_inputs", "1.1.0"),
        ("invoke_bad_inputs_missing", "1.1.0"),
        ("invoke_bad_inputs_type", "1.1.0"),
        ("invoke_bad_context", "1.1.0"),
        ("invoke_plugin_error", "1.1.0"),
        ("invoke_plugin_fail_2.0.0", "2.0.0"),
        ("invoke_missing_context", "1.0.0"),
        ("invoke_inputs_not_object", "1.0.0"),
    ] {
        let (status, body) = s
            .post_json(&format!("/bk_plugin/invoke/{version}"), &request(case))
            .await;
        let want = expected(case);
        let want_status = if want["result"] == json!(false) {
            400
        } else {
            200
        };
        assert_eq!(status, want_status, "{case}");
        assert_eq!(normalise(body), want, "{case}");
    }
    // English DRF messages with Accept-Language: en.
    let (status, text) = s
        .post(
            "/bk_plugin/invoke/1.0.0",
            request("invoke_missing_context_en").to_string(),
            &[
                ("accept-language", "en"),
                ("content-type", "application/json"),
            ],
        )
        .await;
    assert_eq!(
        (status, parse(&text)),
        (400, expected("invoke_missing_context_en"))
    );
    // Unknown version: 404, empty body.
    let (status, text) = s
        .post(
            "/bk_plugin/invoke/9.9.9",
            request("invoke_unknown_version").to_string(),
            &[],
        )
        .await;
    assert_eq!((status, text.as_str()), (404, ""));
    // Not JSON: 400 {"detail": "JSON parse error - ..."} (the parser's own wording differs).
    let (status, text) = s
        .post(
            "/bk_plugin/invoke/1.0.0",
            "{not json",
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        parse(&text)["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{text}"
    );
    // Wrong method: 405 with DRF's localised message.
    assert_eq!(
        s.get_json("/bk_plugin/invoke/1.0.0").await,
        (405, expected("invoke_get_not_allowed"))
    );
    // Trailing slash: answered (the peer's 404 is a routing accident, protocol.md §1.1).
    let (status, body) = s
        .post_json("/bk_plugin/invoke/1.0.0/", &request("invoke_ok"))
        .await;
    assert_eq!((status, normalise(body)), (200, expected("invoke_ok")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_mistakes_are_4xx_never_500() {
    let mut config = dev_config();
    config.body_limit = 4096;
    let s = start(config).await;
    let big = json!({"inputs": {"hello": "x".repeat(10_000)}, "context": {}});
    let (status, body) = s.post_json("/bk_plugin/invoke/1.0.0", &big).await;
    assert_eq!(status, 413);
    assert_eq!(body["result"], false);
    let (status, text) = s
        .post("/bk_plugin/callback/x/", "y".repeat(10_000), &[])
        .await;
    assert!(status == 400 || status == 413, "{status} {text}");
    // A fuzz of envelopes and tokens: every answer is a 4xx or 200, never 5xx.
    let bodies = [
        "",
        "null",
        "[]",
        "1",
        "\"s\"",
        "{}",
        "{\"inputs\": null, \"context\": {}}",
        "{\"inputs\": {}, \"context\": []}",
        "{\"inputs\": 1.5, \"context\": true}",
        "{\"inputs\": {}, \"context\": {}, \"extra\": 1}",
        "{\"inputs\"",
        "\u{0}\u{1}",
        "{\"inputs\": {\"a\": 1e999}, \"context\": {}}",
    ];
    for (i, b) in bodies.iter().enumerate() {
        for path in [
            "/bk_plugin/invoke/1.0.0",
            "/bk_plugin/invoke/1.1.0",
            "/bk_plugin/invoke/2.0.0",
            "/bk_plugin/plugin_api_dispatch/",
        ] {
            for ct in ["application/json", "text/plain"] {
                let (status, text) = s.post(path, b.to_string(), &[("content-type", ct)]).await;
                assert!(
                    status < 500,
                    "body #{i} {b:?} ({ct}) to {path}: {status} {text}"
                );
            }
        }
        for token in ["", "x", "gAAAAA", &"A".repeat(200), "%00", "..%2f.."] {
            let (status, text) = s
                .post(&format!("/bk_plugin/callback/{token}/"), b.to_string(), &[])
                .await;
            assert!(status < 500, "callback {token:?} {b:?}: {status} {text}");
        }
    }
    let (status, _) = s.get("/bk_plugin/schedule/%FF%FE").await;
    assert!(status < 500);
}

async fn wait_for_state(s: &Peerless, trace: &str, state: u8) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = s.get_json(&format!("/bk_plugin/schedule/{trace}")).await;
        if body["data"]["state"] == json!(state) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{trace} never reached {state}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_and_callback_flows_equal_the_peer() {
    let s = start(dev_config()).await;

    // POLL: running, then done after the 3 s interval.
    let (status, body) = s
        .post_json("/bk_plugin/invoke/2.0.0", &request("invoke_poll"))
        .await;
    assert_eq!(
        (status, normalise(body.clone())),
        (200, expected("invoke_poll"))
    );
    let trace = body["trace_id"].as_str().unwrap().to_owned();
    let (_, running) = s.get_json(&format!("/bk_plugin/schedule/{trace}")).await;
    assert_eq!(normalise(running), expected("schedule_poll_running"));
    let done = wait_for_state(&s, &trace, 4).await;
    assert_eq!(normalise(done), expected("schedule_poll_done"));

    // CALLBACK: waiting, callback accepted, done; a second callback is refused.
    let (status, body) = s
        .post_json("/bk_plugin/invoke/2.0.0", &request("invoke_callback"))
        .await;
    assert_eq!(
        (status, normalise(body.clone())),
        (200, expected("invoke_callback"))
    );
    let trace = body["trace_id"].as_str().unwrap().to_owned();
    let url = body["data"]["outputs"]["callback_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("/dev/callback/gAAAAA"), "{url}");
    let (_, waiting) = s.get_json(&format!("/bk_plugin/schedule/{trace}")).await;
    assert_eq!(normalise(waiting), expected("schedule_callback_waiting"));
    let path = format!("/bk_plugin{}", url.trim_start_matches("/dev"));
    // The peer parses the body whatever its Content-Type. Without the gateway's JWT (dev) we
    // take JSON only, so a web page cannot post here cross-site (protocol.md, differences).
    let (status, text) = s
        .post(&path, "not json", &[("content-type", "application/json")])
        .await;
    assert_eq!((status, parse(&text)), (400, expected("callback_bad_body")));
    let (status, text) = s
        .post(&path, "not json", &[("content-type", "text/plain")])
        .await;
    assert_eq!(
        (status, parse(&text)),
        (
            415,
            json!({"detail": "不支持请求中的媒体类型 “text/plain”。"})
        )
    );
    let (status, ok) = s.post_json(&path, &request("callback_ok")).await;
    assert_eq!((status, ok), (200, expected("callback_ok")));
    let done = wait_for_state(&s, &trace, 4).await;
    assert_eq!(normalise(done), expected("schedule_callback_done"));
    // The peer answers this after its retry window (about 1 s); the kit at once, since a
    // finished invocation never waits again (protocol.md, differences). Same answer.
    let (status, again) = s
        .post_json(&path, &request("callback_again_after_done"))
        .await;
    assert_eq!(
        (status, again),
        (400, expected("callback_again_after_done"))
    );

    let (status, text) = s
        .post(
            "/bk_plugin/callback/not-a-token/",
            request("callback_bad_token").to_string(),
            &[],
        )
        .await;
    assert_eq!(
        (status, parse(&text)),
        (400, expected("callback_bad_token"))
    );
    let (status, unknown) = s
        .get_json("/bk_plugin/schedule/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(
        (status, normalise(unknown)),
        (200, expected("schedule_unknown"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_token_issued_by_the_python_peer_opens_here() {
    // The peer's token in its invoke_callback fixture, made with the same app secret.
    let url = fixture("peer/invoke_callback.json")["data"]["outputs"]["callback_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = bk_plugin_kit::testing::token_of(&url);
    let key = bk_plugin_kit::engine::CallbackKey::from_app_secret(PEER_SECRET);
    let (callback_id, trace_id) = key.open(token).expect("the peer's token opens");
    assert_eq!(trace_id, fixture("peer/invoke_callback.json")["trace_id"]);
    assert_eq!(callback_id.len(), 32);
}
