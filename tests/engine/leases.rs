//! Leases (protocol.md §8 "lock both poll and callback rounds", "use a lease or timeout"): a
//! claimed schedule runs in one place at a time, a worker that lost its lease cannot write,
//! and an expired lease lets another worker take the schedule over. Every case runs against
//! every store of `bk_plugin_tests::stores`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use bk_plugin_engine::store::{Claim, LeaseRequest, PushOutcome, ScheduleRecord, Store};
use bk_plugin_engine::{EngineConfig, Timestamp, new_callback_id, new_id};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::rig::{EPOCH, Rig, test_config};
use bk_plugin_tests::stores::each_store;
use tokio::sync::Notify;

const GATED: &str = "6.0.0";
const REPORTER: &str = "6.1.0";

/// Lets a test hold a run inside `execute`.
#[derive(Default)]
struct Gate {
    entered: Notify,
    release: Notify,
}

/// Gates installed by tests, by trace id; a run takes (removes) its trace's gate.
static GATES: LazyLock<Mutex<HashMap<String, Arc<Gate>>>> = LazyLock::new(Default::default);

fn gate(trace_id: &str) -> Arc<Gate> {
    let gate = Arc::new(Gate::default());
    GATES
        .lock()
        .unwrap()
        .insert(trace_id.to_owned(), gate.clone());
    gate
}

#[derive(Inputs)]
pub struct Script {
    pub steps: Vec<String>,
}

/// Follows `steps` (`poll:N`, `callback`, `success`). A run that finds a gate for its trace
/// announces itself and waits to be released, and reports `outputs.gated = true`.
#[plugin(version = "6.0.0")]
pub struct Gated;

impl Plugin for Gated {
    type Inputs = Script;
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, inputs: Script, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let n = ctx.invoke_count();
        let gate = if n > 1 {
            GATES.lock().unwrap().remove(ctx.trace_id())
        } else {
            None
        };
        let gated = gate.is_some();
        if let Some(gate) = gate {
            gate.entered.notify_one();
            gate.release.notified().await;
        }
        ctx.outputs_mut().insert("gated".into(), gated.into());
        ctx.outputs_mut().insert("last_run".into(), n.into());
        if let Some(cb) = ctx.callback().cloned() {
            let seen = ctx
                .outputs_mut()
                .entry("callbacks")
                .or_insert_with(|| json!([]));
            seen.as_array_mut().unwrap().push(cb.data);
        }
        match inputs.steps.get(n as usize - 1).map(String::as_str) {
            Some("callback") => ctx.wait_callback(),
            Some(poll) if poll.starts_with("poll:") => {
                ctx.wait_poll(Duration::from_secs(poll[5..].parse().unwrap()));
            }
            _ => {}
        }
        Ok(())
    }
}

#[derive(ContextInputs)]
pub struct CallerContext {
    pub plugin_callback_info: PluginCallbackInfo,
}

/// Polls once, then succeeds and reports its end.
#[plugin(version = "6.1.0", enable_plugin_callback = true)]
pub struct Reporter;

impl Plugin for Reporter {
    type Inputs = ();
    type ContextInputs = CallerContext;
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.invoke_count() == 1 {
            ctx.wait_poll(Duration::ZERO);
        }
        Ok(())
    }
}

/// A POLL row due at `due`, created directly in the store.
async fn poll_row(store: &dyn Store, due: Timestamp) -> String {
    let trace = new_id();
    let record = ScheduleRecord::new(
        trace.clone(),
        GATED.to_owned(),
        State::Poll,
        json!({"steps": []}),
        json!({}),
        EPOCH,
    )
    .poll_at(due);
    store.create(record).await.unwrap();
    trace
}

/// A CALLBACK row, created directly in the store.
async fn callback_row(store: &dyn Store) -> String {
    let trace = new_id();
    let record = ScheduleRecord::new(
        trace.clone(),
        GATED.to_owned(),
        State::Callback,
        json!({"steps": []}),
        json!({}),
        EPOCH,
    );
    store.create(record).await.unwrap();
    trace
}

async fn claim(store: &dyn Store, now: Timestamp, id: i64, lease: Duration) -> Vec<Claim> {
    let lease = LeaseRequest {
        owner: "test-worker",
        id,
        until: now.saturating_add(lease),
    };
    store.claim_due(now, lease, 10).await.unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn a_claimed_row_cannot_be_claimed_again_until_its_lease_expires() {
    each_store(|_, store| async move {
        let store = &*store;
        let trace = poll_row(store, EPOCH).await;

        let first = claim(store, EPOCH, 1, secs(10)).await;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].lease_id, 1);
        assert_eq!(first[0].record.trace_id, trace);
        assert_eq!(first[0].record.state, State::Poll);
        assert_eq!(first[0].callback, None);

        assert!(claim(store, EPOCH, 2, secs(10)).await.is_empty(), "held");
        let t = EPOCH.saturating_add(secs(5));
        assert!(claim(store, t, 3, secs(10)).await.is_empty(), "held");
        let t = EPOCH.saturating_add(Duration::from_millis(9_999));
        assert!(claim(store, t, 4, secs(10)).await.is_empty(), "held");

        let expired = EPOCH.saturating_add(secs(11));
        let again = claim(store, expired, 5, secs(10)).await;
        assert_eq!(again.len(), 1, "claimable once the lease expired");
        assert_eq!(again[0].lease_id, 5);
        assert_eq!(again[0].record.trace_id, trace);
        assert!(
            claim(store, expired, 6, secs(10)).await.is_empty(),
            "held again"
        );

        // The row itself is unchanged by claims.
        let row = store.get(&trace).await.unwrap().unwrap();
        assert_eq!((row.state, row.invoke_count), (State::Poll, 1));
    });
}

#[test]
fn rows_not_due_are_not_claimed() {
    each_store(|_, store| async move {
        let store = &*store;
        let later = poll_row(store, EPOCH.saturating_add(secs(30))).await;
        callback_row(store).await;
        assert!(claim(store, EPOCH, 1, secs(10)).await.is_empty());
        assert!(
            claim(store, EPOCH.saturating_add(secs(29)), 2, secs(10))
                .await
                .is_empty()
        );
        let due = claim(store, EPOCH.saturating_add(secs(30)), 3, secs(10)).await;
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].record.trace_id, later);
    });
}

#[test]
fn renew_extends_only_the_current_lease() {
    each_store(|_, store| async move {
        let store = &*store;
        let trace = poll_row(store, EPOCH).await;
        assert_eq!(claim(store, EPOCH, 7, secs(10)).await.len(), 1);

        assert!(
            !store
                .renew(&trace, 8, EPOCH.saturating_add(secs(100)))
                .await
                .unwrap(),
            "not held by 8"
        );
        assert!(
            !store
                .renew(&new_id(), 7, EPOCH.saturating_add(secs(100)))
                .await
                .unwrap(),
            "no such row"
        );
        assert!(
            store
                .renew(&trace, 7, EPOCH.saturating_add(secs(30)))
                .await
                .unwrap()
        );

        assert!(
            claim(store, EPOCH.saturating_add(secs(20)), 9, secs(10))
                .await
                .is_empty(),
            "the renewal holds it past the original expiry"
        );
        let taken = claim(store, EPOCH.saturating_add(secs(31)), 10, secs(10)).await;
        assert_eq!(taken.len(), 1);
        assert!(
            !store
                .renew(&trace, 7, EPOCH.saturating_add(secs(100)))
                .await
                .unwrap(),
            "lease 7 was taken over"
        );
        assert!(
            store
                .renew(&trace, 10, EPOCH.saturating_add(secs(100)))
                .await
                .unwrap()
        );
    });
}

#[test]
fn next_due_counts_a_leased_row_at_its_lease_expiry() {
    each_store(|_, store| async move {
        let store = &*store;
        assert_eq!(store.next_due().await.unwrap(), None);
        let due = EPOCH.saturating_add(secs(3));
        poll_row(store, due).await;
        assert_eq!(store.next_due().await.unwrap(), Some(due));
        let until = due.saturating_add(secs(60));
        assert_eq!(claim(store, due, 1, secs(60)).await.len(), 1);
        let next = store.next_due().await.unwrap().expect("still pending");
        assert!(
            next >= until && next <= until.saturating_add(secs(1)),
            "next_due {next} while leased until {until}"
        );
    });
}

#[test]
fn a_callback_row_is_claimed_only_with_a_queued_callback_oldest_first() {
    each_store(|_, store| async move {
        let store = &*store;
        let trace = callback_row(store).await;
        assert!(
            claim(store, EPOCH, 1, secs(10)).await.is_empty(),
            "nothing queued"
        );

        let (a, b) = (new_id(), new_id());
        let pushed = store
            .push_callback(&trace, &a, json!({"n": "a"}), EPOCH)
            .await;
        assert_eq!(pushed.unwrap(), PushOutcome::Queued);
        let pushed = store
            .push_callback(&trace, &b, json!({"n": "b"}), EPOCH)
            .await;
        assert_eq!(pushed.unwrap(), PushOutcome::Queued);

        let claims = claim(store, EPOCH, 2, secs(10)).await;
        assert_eq!(
            claims.len(),
            1,
            "one claim per row, whatever the inbox holds"
        );
        let cb = claims[0]
            .callback
            .as_ref()
            .expect("the claim carries a callback");
        assert_eq!(
            (cb.callback_id.as_str(), &cb.data),
            (a.as_str(), &json!({"n": "a"}))
        );

        // A callback pushed while the row is leased is still queued (the row is in CALLBACK).
        let pushed = store
            .push_callback(&trace, &new_id(), json!({"n": "c"}), EPOCH)
            .await;
        assert_eq!(pushed.unwrap(), PushOutcome::Queued);
        assert!(claim(store, EPOCH, 3, secs(10)).await.is_empty(), "held");

        // Unknown traces and POLL rows do not take callbacks.
        let none = store.push_callback(&new_id(), &a, json!({}), EPOCH).await;
        assert_eq!(none.unwrap(), PushOutcome::NotWaiting(None));
        let polling = poll_row(store, EPOCH.saturating_add(secs(3600))).await;
        let poll = store.push_callback(&polling, &a, json!({}), EPOCH).await;
        assert_eq!(poll.unwrap(), PushOutcome::NotWaiting(Some(State::Poll)));
    });
}

fn lease_config() -> EngineConfig {
    let mut config = test_config();
    config.lease = secs(60);
    config
}

#[test]
fn the_engine_does_not_run_a_row_leased_elsewhere_and_takes_it_over_after_expiry() {
    each_store(|_, store| async move {
        let rig = Rig::with_config(store, lease_config());
        let first = rig
            .engine
            .invoke(GATED, json!({"steps": ["poll:0"]}), json!({}))
            .await
            .unwrap();
        let trace = first.trace_id;
        // A worker claims it and dies.
        let dead = claim(&*rig.dyn_store, rig.now(), 42, secs(30)).await;
        assert_eq!(dead.len(), 1);

        assert_eq!(rig.run_due().await, 0, "leased by the dead worker");
        rig.advance(secs(29));
        assert_eq!(rig.run_due().await, 0, "leased by the dead worker");
        assert_eq!(rig.record(&trace).await.invoke_count, 1);

        rig.advance(secs(2));
        assert_eq!(rig.run_due().await, 1, "taken over after the lease expired");
        let row = rig.record(&trace).await;
        assert_eq!((row.state, row.invoke_count), (State::Success, 2));

        // The dead worker's lease is gone.
        assert!(
            !rig.dyn_store
                .renew(&trace, 42, rig.now().saturating_add(secs(60)))
                .await
                .unwrap()
        );
    });
}

#[test]
fn a_worker_whose_lease_was_taken_over_cannot_write_its_result() {
    each_store(|_, store| async move {
        let rig = Rig::with_config(store, lease_config());
        let first = rig
            .engine
            .invoke(GATED, json!({"steps": ["poll:0"]}), json!({}))
            .await
            .unwrap();
        let trace = first.trace_id;
        let gate = gate(&trace);

        // Worker A runs the step and gets stuck inside `execute`, holding the lease.
        let slow = rig.engine.clone();
        let a = tokio::spawn(async move { slow.run_due().await });
        gate.entered.notified().await;

        // Worker B (another process on the same store) cannot take it while the lease holds.
        let b = rig.another_engine();
        assert_eq!(b.run_due().await.unwrap(), 0);
        rig.advance(secs(59));
        assert_eq!(b.run_due().await.unwrap(), 0);

        // The lease expires (A did not renew in time): B takes over and finishes the step.
        rig.advance(secs(2));
        assert_eq!(b.run_due().await.unwrap(), 1);
        let by_b = rig.record(&trace).await;
        assert_eq!((by_b.state, by_b.invoke_count), (State::Success, 2));
        assert_eq!(by_b.outputs["gated"], false);

        // A wakes up and tries to store its result with its stale lease: refused.
        let completes = rig.store.calls("complete");
        gate.release.notify_one();
        assert_eq!(a.await.unwrap().unwrap(), 1, "A ran one step");
        assert_eq!(
            rig.store.calls("complete"),
            completes + 1,
            "A tried to store it"
        );
        assert_eq!(rig.record(&trace).await, by_b, "A's result was discarded");
        assert_eq!(rig.run_due().await, 0);
    });
}

#[test]
fn a_callback_delivered_during_a_callback_round_waits_for_the_next_round() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = rig
            .engine
            .invoke(
                GATED,
                json!({"steps": ["callback", "callback", "success"]}),
                json!({}),
            )
            .await
            .unwrap();
        let trace = first.trace_id;
        let gate = gate(&trace);
        rig.engine
            .deliver_callback(&trace, &new_callback_id(1), json!("first"))
            .await
            .unwrap();
        let worker = rig.engine.clone();
        let running = tokio::spawn(async move { worker.run_due().await });
        gate.entered.notified().await;

        // The round is running (leased); a callback for the wait it enters (its id issued by
        // this run, round 2) is accepted and queued.
        rig.engine
            .deliver_callback(&trace, &new_callback_id(2), json!("second"))
            .await
            .unwrap();
        assert_eq!(
            rig.another_engine().run_due().await.unwrap(),
            0,
            "no second round while the first runs"
        );
        gate.release.notify_one();
        assert_eq!(
            running.await.unwrap().unwrap(),
            2,
            "then the next round ran"
        );
        let row = rig.record(&trace).await;
        assert_eq!((row.state, row.invoke_count), (State::Success, 3));
        assert_eq!(row.outputs["callbacks"], json!(["first", "second"]));
    });
}

#[test]
fn a_claimed_notification_is_not_claimed_again_until_its_lease_expires() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let context =
            json!({"plugin_callback_info": {"url": "https://caller.invalid/", "data": {}}});
        rig.engine
            .invoke(REPORTER, json!({}), context)
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);

        let store = &*rig.dyn_store;
        let now = rig.now();
        let first = store
            .claim_notifications(now, now.saturating_add(secs(20)), 10)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].url, "https://caller.invalid/");
        assert_eq!(first[0].attempts, 0);
        assert!(
            store
                .claim_notifications(now, now.saturating_add(secs(20)), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            rig.deliver_notifications().await,
            0,
            "the engine skips it too"
        );
        let later = now.saturating_add(secs(10));
        assert!(
            store
                .claim_notifications(later, later.saturating_add(secs(20)), 10)
                .await
                .unwrap()
                .is_empty()
        );

        // The claimer died: after the lease the engine sends it.
        rig.advance(secs(21));
        assert_eq!(rig.deliver_notifications().await, 1);
        assert_eq!(rig.notifier.delivered().len(), 1);
        let value: &Value = &rig.notifier.delivered()[0].data;
        assert_eq!(value, &json!({}));
    });
}
