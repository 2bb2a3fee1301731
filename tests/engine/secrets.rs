//! Secrets at rest (docs/engine.md, "Secrets"): a `Secret` input, wherever it sits in the
//! inputs or the context, is sealed in the stored row and opened for the resumed step; rows
//! sealed before an app-secret rotation open with the previous secret configured, and fail
//! with a clear `err` without it. Every store.

use std::sync::Arc;
use std::time::Duration;

use bk_plugin_engine::store::Store;
use bk_plugin_engine::{Engine, ManualClock, SEALED_PREFIX, SecretKey, Timestamp};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::registry;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::rig::test_config;
use bk_plugin_tests::stores::each_store;

#[derive(Inputs)]
pub struct Login {
    pub user: String,
    pub password: Secret,
}

#[derive(Inputs)]
pub struct Vault {
    pub token: Secret,
    pub login: Login,
    #[field(default)]
    pub keys: Vec<Secret>,
    pub note: Option<String>,
}

#[derive(ContextInputs)]
pub struct Ctx {
    pub api_key: Option<Secret>,
}

/// Polls once, then writes what it was given (lengths and the values, for the test to check).
#[plugin(version = "6.0.0")]
pub struct Holder;

impl Plugin for Holder {
    type Inputs = Vault;
    type ContextInputs = Ctx;
    type Outputs = ();

    async fn execute(&self, inputs: Vault, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.invoke_count() == 1 {
            ctx.wait_poll(Duration::from_secs(1));
            return Ok(());
        }
        let api_key = ctx
            .data()
            .api_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned());
        let seen = json!({
            "token": inputs.token.expose_secret(),
            "password": inputs.login.password.expose_secret(),
            "keys": inputs.keys.iter().map(|k| k.expose_secret()).collect::<Vec<_>>(),
            "api_key": api_key,
        });
        // Test-only: a real plugin never writes a secret out.
        ctx.outputs_mut().insert("seen".into(), seen);
        Ok(())
    }
}

fn inputs() -> Value {
    json!({
        "token": "tok-PLAIN-1",
        "login": {"user": "admin", "password": "pw-PLAIN-2"},
        "keys": ["key-PLAIN-3", "key-PLAIN-4"],
        "note": "not secret",
    })
}

fn context() -> Value {
    json!({"api_key": "api-PLAIN-5"})
}

const PLAIN: [&str; 5] = [
    "tok-PLAIN-1",
    "pw-PLAIN-2",
    "key-PLAIN-3",
    "key-PLAIN-4",
    "api-PLAIN-5",
];

fn engine(store: &Arc<dyn Store>, clock: &Arc<ManualClock>, key: SecretKey) -> Engine {
    Engine::builder(registry(), store.clone())
        .clock(clock.clone())
        .config(test_config())
        .secret_key(key)
        .build()
}

#[test]
fn secrets_are_sealed_in_the_row_and_opened_for_the_resume() {
    each_store(|name, store| async move {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
        let e = engine(&store, &clock, SecretKey::from_app_secret("app"));
        let invoked = e.invoke("6.0.0", inputs(), context()).await.unwrap();
        assert_eq!(invoked.state, State::Poll, "{name}");
        let row = e.schedule(&invoked.trace_id).await.unwrap().unwrap();
        let stored = format!("{row:?} {}", json!([row.inputs, row.context]));
        for p in PLAIN {
            assert!(
                !stored.contains(p),
                "{name}: {p} stored in plaintext: {stored}"
            );
        }
        for sealed in [
            &row.inputs["token"],
            &row.inputs["login"]["password"],
            &row.inputs["keys"][1],
            &row.context["api_key"],
        ] {
            assert!(
                sealed.as_str().unwrap().starts_with(SEALED_PREFIX),
                "{name}: {sealed}"
            );
        }
        assert_eq!(
            row.inputs["login"]["user"], "admin",
            "{name}: only secrets are sealed"
        );
        assert_eq!(row.inputs["note"], "not secret", "{name}");

        clock.advance(Duration::from_secs(2));
        assert_eq!(e.run_due().await.unwrap(), 1, "{name}");
        let row = e.schedule(&invoked.trace_id).await.unwrap().unwrap();
        assert_eq!(row.state, State::Success, "{name}: {:?}", row.err);
        assert_eq!(
            row.outputs["seen"],
            json!({"token": "tok-PLAIN-1", "password": "pw-PLAIN-2",
                   "keys": ["key-PLAIN-3", "key-PLAIN-4"], "api_key": "api-PLAIN-5"}),
            "{name}"
        );
    });
}

#[test]
fn a_rotated_app_secret_opens_old_rows_only_with_the_previous_one_given() {
    each_store(|name, store| async move {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
        let before = engine(&store, &clock, SecretKey::from_app_secret("old"));
        let kept = before.invoke("6.0.0", inputs(), context()).await.unwrap();
        let lost = before.invoke("6.0.0", inputs(), context()).await.unwrap();
        clock.advance(Duration::from_secs(2));

        // Rotated without the previous secret: the row cannot be opened; FAIL says why.
        let forgot = engine(&store, &clock, SecretKey::from_app_secret("new"));
        let ran = forgot.run_due().await.unwrap();
        assert_eq!(ran, 2, "{name}");
        for trace in [&kept.trace_id, &lost.trace_id] {
            let row = forgot.schedule(trace).await.unwrap().unwrap();
            assert_eq!(row.state, State::Fail, "{name}");
            let err = row.err;
            assert!(
                err.contains("BK_PLUGIN_PREVIOUS_APP_SECRETS"),
                "{name}: {err}"
            );
            for p in PLAIN {
                assert!(!err.contains(p), "{name}: {err}");
            }
        }

        // Rotated with it: opened and finished.
        let fresh = before.invoke("6.0.0", inputs(), context()).await.unwrap();
        clock.advance(Duration::from_secs(2));
        let rotated = engine(
            &store,
            &clock,
            SecretKey::from_app_secret("new").with_previous("old"),
        );
        assert_eq!(rotated.run_due().await.unwrap(), 1, "{name}");
        let row = rotated.schedule(&fresh.trace_id).await.unwrap().unwrap();
        assert_eq!(row.state, State::Success, "{name}: {:?}", row.err);
        assert_eq!(row.outputs["seen"]["token"], "tok-PLAIN-1", "{name}");
    });
}
