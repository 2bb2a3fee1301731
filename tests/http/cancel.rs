//! `POST /bk_plugin/cancel/{trace_id}` through a real socket, as a production server behind
//! the API gateway answers it (docs/protocol.md, "Additions"): gateway JWT required, `err`
//! names the app and user of the JWT and the reason, `on_cancel` ran, idempotent, 403 for a
//! version that does not allow it (unless `BK_PLUGIN_ALLOW_CANCEL`), 404 for an unknown
//! trace id, 400 for a body that is not `{"reason": ..}`.

use std::time::Duration;

use bk_plugin_kit::http::{Config, Server};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::jwt::{Keys, jwt, keys, now};
use bk_plugin_tests::server::{serve, temp_sqlite_url};

/// Waits for a callback; `on_cancel` marks its outputs. Cancellable.
#[plugin(version = "8.0.0", cancellable)]
pub struct Waits;

impl Plugin for Waits {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        ctx.wait_callback();
        Ok(())
    }

    async fn on_cancel(
        &self,
        _: (),
        cancel: &Cancellation,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        ctx.outputs_mut()
            .insert("revoked_by".into(), cancel.by.clone().into());
        Ok(())
    }
}

/// Polls forever; callers may not cancel it unless the server allows every version.
#[plugin(version = "8.1.0")]
pub struct Polls;

impl Plugin for Polls {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        ctx.wait_poll(Duration::from_secs(3600));
        Ok(())
    }
}

fn prod(keys: &Keys) -> Config {
    let mut c = Config::default();
    c.app_secret = Some("s".into());
    c.app_code = Some("my-plugin".into());
    c.apigw_public_key = Some(keys.public_pem.clone());
    c.database_url = temp_sqlite_url();
    c
}

struct Client {
    base: String,
    jwt: String,
}

impl Client {
    async fn post(&self, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .post(format!("{}/bk_plugin/{path}", self.base))
            .header("X-Bkapi-JWT", &self.jwt);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_owned());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body = bk_plugin_kit::serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn invoke(&self, version: &str) -> String {
        let body = json!({"inputs": {}, "context": {}}).to_string();
        let (status, answer) = self.post(&format!("invoke/{version}"), Some(&body)).await;
        assert_eq!(status, 200, "{answer}");
        assert!(
            matches!(answer["data"]["state"].as_u64(), Some(2 | 3)),
            "{answer}"
        );
        answer["trace_id"].as_str().unwrap().to_owned()
    }

    async fn schedule(&self, trace: &str) -> Value {
        let url = format!("{}/bk_plugin/schedule/{trace}", self.base);
        let r = reqwest::get(url).await.unwrap();
        r.json::<Value>().await.unwrap()["data"].clone()
    }
}

const SOPS_ERR: &str =
    "plugin schedule failed: cancelled by bk_sops (user admin): the task was revoked in SOPS";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_cancels_a_waiting_invocation_through_the_gateway() {
    let keys = keys();
    let base = serve(Server::new(prod(&keys))).await;
    let sops = Client {
        base: base.clone(),
        jwt: jwt(&keys, "bk_sops", "admin", now() + 300),
    };
    let trace = sops.invoke("8.0.0").await;

    // Without the gateway's JWT: refused, untouched.
    let r = reqwest::Client::new()
        .post(format!("{base}/bk_plugin/cancel/{trace}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(sops.schedule(&trace).await["state"], 3);

    let reason = r#"{"reason": "the task was revoked in SOPS"}"#;
    let (status, answer) = sops.post(&format!("cancel/{trace}/"), Some(reason)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"], true);
    assert_eq!(answer["data"]["trace_id"], trace.as_str());
    assert_eq!(answer["data"]["state"], 5);
    assert_eq!(answer["data"]["err"], SOPS_ERR);
    assert_eq!(
        answer["data"]["outputs"]["revoked_by"],
        "bk_sops (user admin)"
    );
    assert_ne!(answer["data"]["finish_at"], "");
    let stored = sops.schedule(&trace).await;
    assert_eq!(
        (stored["state"].clone(), stored["err"].clone()),
        (json!(5), json!(SOPS_ERR))
    );

    // Again, by someone else and without a body: answered as it ended.
    let itsm = Client {
        base: base.clone(),
        jwt: jwt(&keys, "bk_itsm", "bob", now() + 300),
    };
    let (status, again) = itsm.post(&format!("cancel/{trace}"), None).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["err"], SOPS_ERR);

    // Without a reason, err names who alone.
    let other = sops.invoke("8.0.0").await;
    let (status, answer) = itsm.post(&format!("cancel/{other}"), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"]["err"],
        "plugin schedule failed: cancelled by bk_itsm (user bob)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_clear_and_change_nothing() {
    let keys = keys();
    let base = serve(Server::new(prod(&keys))).await;
    let sops = Client {
        base: base.clone(),
        jwt: jwt(&keys, "bk_sops", "admin", now() + 300),
    };
    let polling = sops.invoke("8.1.0").await;
    let (status, answer) = sops.post(&format!("cancel/{polling}"), None).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["result"], false);
    assert_eq!(
        answer["message"],
        "plugin version 8.1.0 does not allow cancel; declare it `#[plugin(.., cancellable)]` or set BK_PLUGIN_ALLOW_CANCEL=true"
    );
    assert_eq!(sops.schedule(&polling).await["state"], 2);

    let (status, answer) = sops.post(&format!("cancel/{}", "f".repeat(32)), None).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(
        answer["message"],
        format!("can not find schedule for trace_id {}", "f".repeat(32))
    );

    let waiting = sops.invoke("8.0.0").await;
    for bad in [r#"{"reason": 5}"#, "[1]", "{not json", r#""stop""#] {
        let (status, answer) = sops.post(&format!("cancel/{waiting}"), Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {answer}");
        assert_eq!(answer["result"], false, "{bad}");
        assert_eq!(
            answer["message"], "the body must be empty or a JSON object {\"reason\": \"<text>\"}",
            "{bad}"
        );
    }
    assert_eq!(sops.schedule(&waiting).await["state"], 3, "untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_may_allow_cancel_for_every_version() {
    let keys = keys();
    let mut config = prod(&keys);
    config.engine.allow_cancel = Some(true);
    let base = serve(Server::new(config)).await;
    let sops = Client {
        base,
        jwt: jwt(&keys, "bk_sops", "admin", now() + 300),
    };
    let polling = sops.invoke("8.1.0").await;
    let (status, answer) = sops.post(&format!("cancel/{polling}"), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"]["err"],
        "plugin schedule failed: cancelled by bk_sops (user admin)"
    );
}
