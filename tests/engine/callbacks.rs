//! Callbacks and their tokens (protocol.md §3.5): a prepared token resumes its invocation
//! with its id and data; forged, truncated, altered or foreign tokens are refused and change
//! nothing; callbacks that find no CALLBACK schedule are refused after the retry window; a
//! callback that arrives before its row is accepted within the window; a token resumes only
//! the wait of the run that prepared it, and posting it twice queues it once. Every case runs
//! against every store of `bk_plugin_tests::stores`.

use std::time::{Duration, Instant};

use bk_plugin_engine::testing::token_of;
use bk_plugin_engine::{
    CallbackError, CallbackKey, Clock, Engine, TokenError, new_callback_id, new_id,
};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::registry;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::rig::{CALLBACK_HOST, Rig, test_config};
use bk_plugin_tests::stores::each_store;

const WAITER: &str = "4.0.0";

#[derive(Inputs)]
pub struct Mode {
    /// `callback`: wait for the prepared callback; `poll`: prepare one but poll for an hour.
    pub mode: String,
}

/// Prepares a callback on the first run (`outputs.callback_url`, `storage.callback_id`), then
/// waits as `inputs.mode` says. A callback run records what it received in
/// `outputs.received`, prepares a new callback and waits again when the data says
/// `{"again": true}`, and fails when it says `{"fail": true}`.
#[plugin(version = "4.0.0")]
pub struct Waiter;

impl Plugin for Waiter {
    type Inputs = Mode;
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, inputs: Mode, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        match ctx.state() {
            State::Empty => {
                let prepared = ctx.prepare_callback()?;
                ctx.storage_mut()
                    .insert("callback_id".into(), prepared.id.into());
                ctx.outputs_mut()
                    .insert("callback_url".into(), prepared.url.into());
                if inputs.mode == "poll" {
                    ctx.wait_poll(Duration::from_secs(3600));
                } else {
                    ctx.wait_callback();
                }
            }
            State::Callback => {
                let cb = ctx
                    .callback()
                    .cloned()
                    .expect("a callback run has a callback");
                let again = cb.data.get("again") == Some(&Value::Bool(true));
                let fail = cb.data.get("fail") == Some(&Value::Bool(true));
                let received = json!({"id": cb.id, "data": cb.data});
                ctx.outputs_mut().insert("received".into(), received);
                if fail {
                    return Err(PluginError::new("told to fail"));
                }
                if again {
                    let prepared = ctx.prepare_callback()?;
                    ctx.outputs_mut()
                        .insert("callback_url".into(), prepared.url.into());
                    ctx.wait_callback();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

struct Waiting {
    trace_id: String,
    callback_id: String,
    token: String,
}

async fn waiting(rig: &Rig, mode: &str) -> Waiting {
    let first = rig
        .engine
        .invoke(WAITER, json!({ "mode": mode }), json!({}))
        .await
        .unwrap();
    let outputs = first.outputs.expect("waiting, not failed");
    let url = outputs["callback_url"].as_str().unwrap();
    Waiting {
        callback_id: first.storage["callback_id"].as_str().unwrap().to_owned(),
        token: token_of(url).to_owned(),
        trace_id: first.trace_id,
    }
}

/// Resumes `w` with `{"again": true}`: the run prepares a new callback and waits again (its
/// row, in CALLBACK after run 2, is returned).
async fn waiting_again(rig: &Rig, w: &Waiting) -> bk_plugin_engine::store::ScheduleRecord {
    rig.engine
        .callback(&w.token, json!({"again": true}))
        .await
        .unwrap();
    assert_eq!(rig.run_due().await, 1);
    let row = rig.record(&w.trace_id).await;
    assert_eq!((row.state, row.invoke_count), (State::Callback, 2));
    row
}

fn assert_invalid_token(result: Result<(), CallbackError>, token: &str) {
    match result {
        Err(CallbackError::Token(TokenError::Invalid(t))) => assert_eq!(t, token),
        other => panic!("token {token:?}: expected an invalid-token error, got {other:?}"),
    }
}

/// Checks that a refused callback changed nothing: same row, no push into the store, nothing
/// to run.
async fn assert_untouched(
    rig: &Rig,
    w: &Waiting,
    before: &bk_plugin_engine::store::ScheduleRecord,
) {
    assert_eq!(&rig.record(&w.trace_id).await, before);
    assert_eq!(
        rig.store.calls("push_callback"),
        0,
        "the store was not asked"
    );
    assert_eq!(rig.run_due().await, 0);
    assert_eq!(&rig.record(&w.trace_id).await, before);
}

#[test]
fn a_prepared_token_resumes_the_invocation_with_its_id_and_data() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let row = rig.record(&w.trace_id).await;
        let url = row.outputs["callback_url"].as_str().unwrap();
        assert_eq!(url, format!("{CALLBACK_HOST}/prod/callback/{}/", w.token));
        assert_eq!(w.callback_id.len(), 32);
        assert_eq!(
            rig.key.open(&w.token).unwrap(),
            (w.callback_id.clone(), w.trace_id.clone()),
            "the token seals callback_id:trace_id"
        );

        rig.engine
            .callback(&w.token, json!({"task_id": 42, "nested": {"ok": true}}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&w.trace_id).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(row.invoke_count, 2);
        assert_eq!(
            row.outputs["received"],
            json!({"id": w.callback_id, "data": {"task_id": 42, "nested": {"ok": true}}})
        );
    });
}

#[test]
fn each_wait_is_resumed_only_by_a_token_its_own_run_prepared() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let row = waiting_again(&rig, &w).await;
        let second = token_of(row.outputs["callback_url"].as_str().unwrap()).to_owned();
        assert_ne!(second, w.token);

        // The first wait's token no longer resumes anything.
        match rig.engine.callback(&w.token, json!({"replayed": 1})).await {
            Err(e @ CallbackError::OtherWait) => assert_eq!(
                e.to_string(),
                "callback fail,schedule plugin state[3]: the token is not for the current wait"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(rig.run_due().await, 0);
        assert_eq!(rig.record(&w.trace_id).await, row);

        rig.engine
            .callback(&second, json!({"last": 1}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&w.trace_id).await;
        assert_eq!((row.state, row.invoke_count), (State::Success, 3));
        assert_eq!(row.outputs["received"]["data"], json!({"last": 1}));
    });
}

#[test]
fn a_token_posted_again_while_its_callback_waits_is_accepted_and_queued_once() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        for n in 0..3 {
            rig.engine
                .callback(&w.token, json!({"n": n}))
                .await
                .expect("a repeat is answered as accepted");
        }
        assert_eq!(rig.run_due().await, 1, "one run for one callback");
        let row = rig.record(&w.trace_id).await;
        assert_eq!((row.state, row.invoke_count), (State::Success, 2));
        assert_eq!(
            row.outputs["received"]["data"],
            json!({"n": 0}),
            "the first one"
        );
        assert_eq!(rig.run_due().await, 0);
    });
}

#[test]
fn concurrent_repeats_of_one_token_queue_one_callback() {
    bk_plugin_tests::stores::each_store_multi_thread(2, |_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let posts: Vec<_> = (0..16)
            .map(|n| {
                let (engine, token) = (rig.engine.clone(), w.token.clone());
                tokio::spawn(async move { engine.callback(&token, json!({"n": n})).await })
            })
            .collect();
        for p in posts {
            p.await
                .unwrap()
                .expect("every repeat is answered as accepted");
        }
        assert_eq!(rig.run_due().await, 1);
        assert_eq!(rig.record(&w.trace_id).await.invoke_count, 2);
    });
}

#[test]
fn a_callback_of_an_earlier_wait_that_reached_the_inbox_is_discarded_unrun() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let waiting_again = waiting_again(&rig, &w).await;
        // As if the replay had passed the engine's check just before the wait moved on.
        let pushed = rig
            .dyn_store
            .push_callback(
                &w.trace_id,
                &w.callback_id,
                json!({"stale": true}),
                rig.clock.now(),
            )
            .await
            .unwrap();
        assert_eq!(pushed, bk_plugin_engine::store::PushOutcome::Queued);
        rig.run_due().await;
        assert_eq!(
            rig.record(&w.trace_id).await,
            waiting_again,
            "the plugin did not run and the row is as it was"
        );
        assert_eq!(rig.run_due().await, 0, "the stale entry is gone");
    });
}

#[test]
fn a_forged_token_is_refused_and_changes_nothing() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let before = rig.record(&w.trace_id).await;
        // Shaped like a Fernet token (version byte 0x80), but with no valid HMAC.
        let junk = format!("gAAAAA{}", "A".repeat(114));
        for forged in [
            "not-a-token".to_owned(),
            String::new(),
            new_id(),
            junk,
            format!("{}{}", w.token, w.token),
        ] {
            assert_invalid_token(rig.engine.callback(&forged, json!({})).await, &forged);
        }
        assert_untouched(&rig, &w, &before).await;
    });
}

#[test]
fn a_truncated_token_is_refused_and_changes_nothing() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let before = rig.record(&w.trace_id).await;
        let t = w.token.trim_end_matches('=');
        let n = t.len();
        for truncated in [&t[..n - 1], &t[..n - 4], &t[..n / 2], &t[1..], &t[..1]] {
            assert_invalid_token(rig.engine.callback(truncated, json!({})).await, truncated);
        }
        assert_untouched(&rig, &w, &before).await;
    });
}

#[test]
fn a_token_altered_by_one_character_is_refused_and_changes_nothing() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let before = rig.record(&w.trace_id).await;
        let bytes = w.token.as_bytes();
        let data_len = w.token.trim_end_matches('=').len();
        // Every position of the version, timestamp, IV, ciphertext and HMAC (the last data
        // character may hold padding bits only, so it is left out).
        let mut tried = 0;
        for pos in (0..data_len - 1).step_by(3) {
            let mut altered = bytes.to_vec();
            altered[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(altered).unwrap();
            assert_invalid_token(rig.engine.callback(&altered, json!({})).await, &altered);
            tried += 1;
        }
        assert!(tried > 30);
        assert_untouched(&rig, &w, &before).await;
    });
}

#[test]
fn a_token_sealed_with_another_key_is_refused_and_changes_nothing() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let before = rig.record(&w.trace_id).await;
        for other in [
            CallbackKey::from_app_secret("another app's secret"),
            CallbackKey::from_base64("YTUzMjM0YjBjM2NjYTBhMWNkYWZmNGQ5YzJhZjMwZWU=").unwrap(),
        ] {
            let token = other.seal(&w.callback_id, &w.trace_id);
            assert_invalid_token(rig.engine.callback(&token, json!({})).await, &token);
        }
        assert_untouched(&rig, &w, &before).await;
    });
}

#[test]
fn a_token_whose_ids_are_not_32_characters_is_refused() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        let before = rig.record(&w.trace_id).await;
        let token = rig.key.seal("short", &w.trace_id);
        match rig.engine.callback(&token, json!({})).await {
            // Unlike the Python framework's, the message does not echo the decrypted ids.
            Err(CallbackError::Token(e @ TokenError::BadIds { .. })) => {
                assert_eq!(e.to_string(), "trace_id[***] or callback_id[***] 不合法")
            }
            other => panic!("{other:?}"),
        }
        assert_untouched(&rig, &w, &before).await;
    });
}

#[test]
fn a_callback_for_a_polling_invocation_is_not_waiting_after_the_retry_window() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "poll").await;
        let before = rig.record(&w.trace_id).await;
        assert_eq!(before.state, State::Poll);

        let started = Instant::now();
        let refused = rig.engine.callback(&w.token, json!({"x": 1})).await;
        let took = started.elapsed();
        match &refused {
            Err(
                e @ CallbackError::NotWaiting {
                    state: Some(State::Poll),
                },
            ) => assert_eq!(
                e.to_string(),
                "callback fail,schedule plugin state[2]: is not callback"
            ),
            other => panic!("{other:?}"),
        }
        let config = test_config();
        assert_eq!(
            rig.store.calls("push_callback"),
            u64::from(config.callback_attempts),
            "one attempt per try"
        );
        assert!(
            took >= config.callback_retry_delay * (config.callback_attempts - 1),
            "refused after {took:?}, before the retry window ended"
        );
        assert_eq!(rig.record(&w.trace_id).await, before);
        assert_eq!(rig.run_due().await, 0);

        // The poll still runs normally, without the callback.
        rig.advance(Duration::from_secs(3600));
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&w.trace_id).await;
        assert_eq!((row.state, row.invoke_count), (State::Success, 2));
        assert_eq!(row.outputs.get("received"), None);
    });
}

#[test]
fn a_callback_replayed_after_the_finish_is_not_waiting_and_changes_nothing() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        rig.engine
            .callback(&w.token, json!({"n": 1}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        let finished = rig.record(&w.trace_id).await;
        assert_eq!(finished.state, State::Success);

        let replay = rig.engine.callback(&w.token, json!({"n": 2})).await;
        assert!(
            matches!(
                replay,
                Err(CallbackError::NotWaiting {
                    state: Some(State::Success)
                })
            ),
            "{replay:?}"
        );
        assert_eq!(rig.run_due().await, 0);
        let row = rig.record(&w.trace_id).await;
        assert_eq!(
            row, finished,
            "state, storage, outputs, invoke_count unchanged"
        );
    });
}

#[test]
fn a_callback_replayed_after_a_failure_is_not_waiting_and_changes_nothing() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let w = waiting(&rig, "callback").await;
        rig.engine
            .callback(&w.token, json!({"fail": true}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        let failed = rig.record(&w.trace_id).await;
        assert_eq!(failed.state, State::Fail);
        assert_eq!(failed.err, "plugin schedule failed: told to fail");

        let replay = rig.engine.callback(&w.token, json!({"fail": false})).await;
        assert!(
            matches!(
                replay,
                Err(CallbackError::NotWaiting {
                    state: Some(State::Fail)
                })
            ),
            "{replay:?}"
        );
        assert_eq!(rig.run_due().await, 0);
        assert_eq!(rig.record(&w.trace_id).await, failed);
    });
}

#[test]
fn a_token_of_one_invocation_never_affects_another() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let a = waiting(&rig, "callback").await;
        let b = waiting(&rig, "callback").await;
        assert_ne!(a.token, b.token);
        let b_before = rig.record(&b.trace_id).await;

        rig.engine
            .callback(&a.token, json!({"for": "a"}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        assert_eq!(rig.record(&a.trace_id).await.state, State::Success);
        assert_eq!(rig.record(&b.trace_id).await, b_before, "B untouched");

        // A's token replayed: refused, and B still untouched.
        assert!(rig.engine.callback(&a.token, json!({})).await.is_err());
        assert_eq!(rig.run_due().await, 0);
        assert_eq!(rig.record(&b.trace_id).await, b_before);

        // B's own token works on B only.
        rig.engine
            .callback(&b.token, json!({"for": "b"}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&b.trace_id).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(
            row.outputs["received"],
            json!({"id": b.callback_id, "data": {"for": "b"}})
        );
        assert_eq!(
            rig.record(&a.trace_id).await.outputs["received"]["data"],
            json!({"for": "a"})
        );
    });
}

#[test]
fn a_callback_that_arrives_before_the_row_is_accepted_within_the_retry_window() {
    each_store(|_, store| async move {
        let mut config = test_config();
        config.callback_attempts = 3;
        config.callback_retry_delay = Duration::from_millis(200);
        let rig = Rig::with_config(store, config);
        let trace = new_id();
        let callback_id = new_callback_id(1);
        let token = rig.key.seal(&callback_id, &trace);

        let started = Instant::now();
        let engine = rig.engine.clone();
        let early =
            tokio::spawn(async move { engine.callback(&token, json!({"early": true})).await });
        // Wait until the first attempt found no row.
        while rig.store.calls("push_callback") == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(!early.is_finished(), "still retrying");
        assert_eq!(rig.try_record(&trace).await, None);

        let first = rig
            .engine
            .invoke_with_id(
                trace.clone(),
                WAITER,
                json!({"mode": "callback"}),
                json!({}),
            )
            .await
            .unwrap();
        assert_eq!(first.state, State::Callback);
        early.await.unwrap().expect("accepted on a later attempt");
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(rig.store.calls("push_callback") >= 2);

        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&trace).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(
            row.outputs["received"],
            json!({"id": callback_id, "data": {"early": true}})
        );
    });
}

#[test]
fn a_callback_for_an_invocation_that_never_appears_is_not_waiting() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = new_id();
        let token = rig.key.seal(&new_callback_id(1), &trace);
        let refused = rig.engine.callback(&token, json!({})).await;
        match &refused {
            Err(e @ CallbackError::NotWaiting { state: None }) => assert_eq!(
                e.to_string(),
                "callback fail,schedule plugin state[None]: is not callback"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(rig.store.calls("push_callback"), 3);
        assert_eq!(rig.try_record(&trace).await, None);
    });
}

#[test]
fn without_a_callback_key_callbacks_are_not_configured_and_prepare_callback_fails() {
    each_store(|_, store| async move {
        let engine = Engine::builder(registry(), store)
            .config(test_config())
            .build();
        let key = CallbackKey::from_app_secret("x");
        let refused = engine
            .callback(&key.seal(&new_id(), &new_id()), json!({}))
            .await;
        assert!(
            matches!(refused, Err(CallbackError::NotConfigured)),
            "{refused:?}"
        );

        let done = engine
            .invoke(WAITER, json!({"mode": "callback"}), json!({}))
            .await
            .unwrap();
        assert_eq!(done.state, State::Fail);
        assert_eq!(
            done.err.as_deref(),
            Some(
                "plugin execute failed: prepare_callback: no callback issuer is configured in this runtime"
            )
        );
    });
}
