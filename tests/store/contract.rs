//! The ordering and atomicity promises of the `Store` trait's docs, asserted directly against
//! every store of `bk_plugin_tests::stores` (memory, SQLite, and PostgreSQL / MySQL when
//! configured). The engine tests cover the same methods through the engine; these pin down
//! what the engine may rely on.

use std::time::Duration;

use bk_plugin_engine::store::{
    Claim, Completion, LeaseRequest, NewNotification, PushOutcome, ScheduleRecord, Store,
    Transition,
};
use bk_plugin_engine::{Timestamp, new_id};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::json;
use bk_plugin_tests::rig::EPOCH;
use bk_plugin_tests::stores::each_store;

fn at(secs: u64) -> Timestamp {
    EPOCH.saturating_add(Duration::from_secs(secs))
}

fn row(trace_id: &str, state: State, due: Option<Timestamp>) -> ScheduleRecord {
    let mut r = ScheduleRecord::new(
        trace_id.to_owned(),
        "1.0.0".to_owned(),
        state,
        json!({}),
        json!({}),
        EPOCH,
    );
    r.next_run_at = due;
    r
}

async fn create(store: &dyn Store, state: State, due: Option<Timestamp>) -> String {
    let trace = new_id();
    store.create(row(&trace, state, due)).await.unwrap();
    trace
}

fn lease(id: i64, now: Timestamp) -> LeaseRequest<'static> {
    LeaseRequest {
        owner: "contract",
        id,
        until: now.saturating_add(Duration::from_secs(60)),
    }
}

async fn claim(store: &dyn Store, now: Timestamp, id: i64, limit: usize) -> Vec<Claim> {
    store.claim_due(now, lease(id, now), limit).await.unwrap()
}

fn ids(claims: &[Claim]) -> Vec<&str> {
    claims.iter().map(|c| c.record.trace_id.as_str()).collect()
}

/// The transition of a claimed row to `state`, consuming its callback if it had one.
fn transition(claim: &Claim, state: State, notify_at: Option<Timestamp>) -> Transition {
    let t = Transition::after(claim, state, EPOCH);
    match notify_at {
        Some(due_at) => t.notify(NewNotification {
            url: format!("https://caller.invalid/{}", claim.record.trace_id),
            data: json!({"trace_id": claim.record.trace_id}),
            due_at,
        }),
        None => t,
    }
}

#[test]
fn claim_due_returns_polls_by_next_run_at_then_callbacks_by_oldest_callback() {
    each_store(|_, store| async move {
        let store = &*store;
        // Created out of order, so neither insertion order nor trace id gives the answer.
        let p3 = create(store, State::Poll, Some(at(3))).await;
        let p1 = create(store, State::Poll, Some(at(1))).await;
        let p2 = create(store, State::Poll, Some(at(2))).await;
        let later = create(store, State::Poll, Some(at(100))).await;
        let (c1, c2) = (
            create(store, State::Callback, None).await,
            create(store, State::Callback, None).await,
        );
        // c2's callback arrives first, then c1's, then a second one for c2.
        for (trace, data) in [(&c2, "c2-a"), (&c1, "c1-a"), (&c2, "c2-b")] {
            let pushed = store
                .push_callback(trace, &new_id(), json!(data), at(0))
                .await
                .unwrap();
            assert_eq!(pushed, PushOutcome::Queued);
        }

        let claims = claim(store, at(10), 1, 10).await;
        assert_eq!(ids(&claims), [&p1, &p2, &p3, &c2, &c1], "claim order");
        assert!(claims.iter().all(|c| c.lease_id == 1));
        assert_eq!(claims[3].callback.as_ref().unwrap().data, json!("c2-a"));
        assert_eq!(claims[4].callback.as_ref().unwrap().data, json!("c1-a"));
        assert!(claims[..3].iter().all(|c| c.callback.is_none()));
        assert!(!ids(&claims).contains(&later.as_str()), "not due");
        assert!(claim(store, at(10), 2, 10).await.is_empty(), "all held");
    });
}

#[test]
fn claim_due_takes_polls_before_callbacks_up_to_the_limit() {
    each_store(|_, store| async move {
        let store = &*store;
        let waiting = create(store, State::Callback, None).await;
        store
            .push_callback(&waiting, &new_id(), json!(1), at(0))
            .await
            .unwrap();
        let p2 = create(store, State::Poll, Some(at(2))).await;
        let p1 = create(store, State::Poll, Some(at(1))).await;

        assert_eq!(ids(&claim(store, at(10), 1, 1).await), [&p1]);
        assert_eq!(ids(&claim(store, at(10), 2, 2).await), [&p2, &waiting]);
        assert!(claim(store, at(10), 3, 2).await.is_empty());
    });
}

#[test]
fn claim_notifications_returns_the_oldest_due_first() {
    each_store(|_, store| async move {
        let store = &*store;
        for _ in 0..4 {
            create(store, State::Poll, Some(at(0))).await;
        }
        let claims = claim(store, at(0), 1, 10).await;
        // Enqueued in the order 3 s, 1 s, 2 s, 1 s (a tie, enqueued after the first 1 s one).
        let due = [at(3), at(1), at(2), at(1)];
        for (c, due_at) in claims.iter().zip(due) {
            let t = transition(c, State::Success, Some(due_at));
            assert!(store.complete(&c.record.trace_id, 1, t).await.unwrap());
        }
        let url = |i: usize| format!("https://caller.invalid/{}", claims[i].record.trace_id);

        let until = at(100);
        let first = store.claim_notifications(at(5), until, 3).await.unwrap();
        let urls: Vec<&str> = first.iter().map(|n| n.url.as_str()).collect();
        assert_eq!(
            urls,
            [url(1), url(3), url(2)],
            "oldest due first, ties in order"
        );
        let rest = store.claim_notifications(at(5), until, 3).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].url, url(0));
        assert_eq!(rest[0].attempts, 0);
    });
}

#[test]
fn complete_many_answers_each_item_in_order_fenced_by_its_own_lease() {
    each_store(|_, store| async move {
        let store = &*store;
        for _ in 0..3 {
            create(store, State::Poll, Some(at(0))).await;
        }
        let waiting = create(store, State::Callback, None).await;
        store
            .push_callback(&waiting, &new_id(), json!("x"), at(0))
            .await
            .unwrap();
        let claims = claim(store, at(0), 7, 10).await;
        assert_eq!(claims.len(), 4);
        let next = at(30);
        let items: Vec<Completion> = claims
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let t = if c.record.state == State::Callback {
                    transition(c, State::Success, None)
                } else {
                    transition(c, State::Poll, None).poll_at(next)
                };
                // The second item presents a lease it does not hold.
                let lease_id = if i == 1 { 8 } else { c.lease_id };
                Completion::new(c.record.trace_id.clone(), lease_id, t)
            })
            .collect();
        let done = store.complete_many(items).await.unwrap();
        assert_eq!(done, [true, false, true, true]);

        let lost = store
            .get(&claims[1].record.trace_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (lost.state, lost.invoke_count),
            (State::Poll, 1),
            "not written"
        );
        for i in [0, 2] {
            let r = store
                .get(&claims[i].record.trace_id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (r.state, r.invoke_count, r.next_run_at),
                (State::Poll, 2, Some(next))
            );
        }
        let finished = store.get(&waiting).await.unwrap().unwrap();
        assert_eq!(finished.state, State::Success);
        // The written rows' leases are released; the lost one's is still held.
        assert_eq!(claim(store, at(31), 9, 10).await.len(), 2);
    });
}

#[test]
fn create_many_answers_each_record_in_order() {
    each_store(|_, store| async move {
        let store = &*store;
        let existing = create(store, State::Poll, Some(at(5))).await;
        let (a, b) = (new_id(), new_id());
        let records = vec![
            row(&a, State::Poll, Some(at(1))),
            row(&existing, State::Poll, Some(at(1))),
            row(&b, State::Callback, None),
        ];
        assert_eq!(
            store.create_many(records).await.unwrap(),
            [true, false, true]
        );
        let kept = store.get(&existing).await.unwrap().unwrap();
        assert_eq!(
            kept.next_run_at,
            Some(at(5)),
            "the existing row is unchanged"
        );
        assert_eq!(store.get(&b).await.unwrap().unwrap().state, State::Callback);
    });
}

#[test]
fn an_inbox_is_consumed_in_arrival_order_and_dropped_when_the_row_leaves_callback() {
    each_store(|_, store| async move {
        let store = &*store;
        let trace = create(store, State::Callback, None).await;
        for data in ["first", "second", "third"] {
            store
                .push_callback(&trace, &new_id(), json!(data), at(0))
                .await
                .unwrap();
        }
        // Round 1 consumes "first" and stays in CALLBACK.
        let c = claim(store, at(1), 1, 10).await.remove(0);
        assert_eq!(c.callback.as_ref().unwrap().data, json!("first"));
        let t = transition(&c, State::Callback, None);
        assert!(store.complete(&trace, 1, t).await.unwrap());
        // Round 2 gets "second", and leaves CALLBACK: "third" is dropped with the inbox.
        let c = claim(store, at(2), 2, 10).await.remove(0);
        assert_eq!(c.callback.as_ref().unwrap().data, json!("second"));
        let t = transition(&c, State::Success, None);
        assert!(store.complete(&trace, 2, t).await.unwrap());
        assert!(claim(store, at(3), 3, 10).await.is_empty());
        assert_eq!(store.next_due().await.unwrap(), None);
        let pushed = store
            .push_callback(&trace, &new_id(), json!("late"), at(4))
            .await
            .unwrap();
        assert_eq!(pushed, PushOutcome::NotWaiting(Some(State::Success)));
    });
}
