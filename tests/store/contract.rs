//! The ordering and atomicity promises of the `Store` trait's docs, asserted directly against
//! every store of `bk_plugin_tests::stores` (memory, SQLite, and PostgreSQL / MySQL when
//! configured). The engine tests cover the same methods through the engine; these pin down
//! what the engine may rely on.

use std::time::Duration;

use bk_plugin_engine::store::{
    Claim, Completion, Delivery, LeaseRequest, NewNotification, PushOutcome, ScheduleFilter,
    ScheduleRecord, Store, Transition,
};
use bk_plugin_engine::{Timestamp, new_id};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::json;
use bk_plugin_tests::rig::EPOCH;
use bk_plugin_tests::stores::{each_store, each_store_multi_thread};

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

/// Every version with unfinished POLL or CALLBACK rows, with its count, by version text;
/// finished rows do not count.
#[test]
fn waiting_versions_count_the_unfinished_rows_per_version() {
    each_store(|_, store| async move {
        let store = &*store;
        assert_eq!(store.waiting_versions().await.unwrap(), []);
        for (version, state) in [
            ("2.0.0", State::Poll),
            ("0.9.0", State::Callback),
            ("2.0.0", State::Callback),
            ("0.9.0", State::Poll),
            ("0.9.0", State::Poll),
            ("1.0.0", State::Poll),
        ] {
            let mut r = row(&new_id(), state, Some(at(0)));
            r.plugin_version = version.to_owned();
            store.create(r).await.unwrap();
        }
        // 1.0.0's only row finishes.
        let claims = claim(store, at(0), 7, 10).await;
        let done = claims
            .iter()
            .find(|c| c.record.plugin_version == "1.0.0")
            .unwrap();
        let t = transition(done, State::Success, None);
        assert!(
            store
                .complete(&done.record.trace_id, done.lease_id, t)
                .await
                .unwrap()
        );
        assert_eq!(
            store.waiting_versions().await.unwrap(),
            [("0.9.0".to_owned(), 3), ("2.0.0".to_owned(), 2)]
        );
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
fn the_traceparent_is_kept_through_claims_and_steps() {
    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    each_store(|_, store| async move {
        let store = &*store;
        let (traced, plain) = (new_id(), new_id());
        let mut r = row(&traced, State::Poll, Some(at(1)));
        r.traceparent = Some(PARENT.to_owned());
        let records = vec![r, row(&plain, State::Poll, Some(at(1)))];
        assert_eq!(store.create_many(records).await.unwrap(), [true, true]);
        let claims = claim(store, at(2), 1, 10).await;
        let traceparent = |id: &str| {
            claims
                .iter()
                .find(|c| c.record.trace_id == id)
                .and_then(|c| c.record.traceparent.clone())
        };
        assert_eq!(traceparent(&traced).as_deref(), Some(PARENT));
        assert_eq!(traceparent(&plain), None);
        for c in &claims {
            let t = transition(c, State::Success, None);
            let done = store
                .complete(&c.record.trace_id, c.lease_id, t)
                .await
                .unwrap();
            assert!(done);
        }
        let after = store.get(&traced).await.unwrap().unwrap();
        assert_eq!(after.traceparent.as_deref(), Some(PARENT), "steps keep it");
        assert_eq!(store.get(&plain).await.unwrap().unwrap().traceparent, None);
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

/// A write whose future is dropped part-way (a request's deadline passed, its client hung
/// up) leaves the store usable: later writes commit and are seen by readers. On SQLite this
/// used to return the writer connection to the pool inside the abandoned transaction.
#[test]
fn writes_cancelled_mid_flight_leave_the_store_usable() {
    each_store_multi_thread(2, |_, store| async move {
        let waiting = create(&*store, State::Callback, None).await;
        for i in 0..300u64 {
            // Cut off after a few microseconds: sometimes before the transaction begins,
            // sometimes inside it, sometimes after the commit.
            let id = new_id();
            let push = store.push_callback(&waiting, &id, json!({"i": i}), at(i));
            let _ = tokio::time::timeout(Duration::from_micros(i % 50), push).await;
        }
        let trace = create(&*store, State::Poll, Some(at(1))).await;
        let row = store.get(&trace).await.unwrap();
        assert!(
            row.is_some(),
            "a write after the cancelled ones is committed and visible"
        );
        assert!(matches!(
            store
                .push_callback(&waiting, &new_id(), json!({}), at(400))
                .await
                .unwrap(),
            PushOutcome::Queued
        ));
    });
}

#[test]
fn list_filters_by_state_version_and_age_newest_first() {
    each_store(|_, store| async move {
        let mut made = Vec::new();
        for (i, (state, version)) in [
            (State::Poll, "1.0.0"),
            (State::Callback, "1.0.0"),
            (State::Success, "1.0.0"),
            (State::Fail, "2.0.0"),
            (State::Poll, "2.0.0"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut r = row(&new_id(), state, None);
            r.plugin_version = version.to_owned();
            r.created_at = at(i as u64 * 60);
            if state.is_finished() {
                r.finish_at = Some(r.created_at);
            }
            made.push(r.trace_id.clone());
            store.create(r).await.unwrap();
        }
        let list = |filter: ScheduleFilter| {
            let store = store.clone();
            async move {
                let rows = store.list(&filter).await.unwrap();
                rows.into_iter().map(|r| r.trace_id).collect::<Vec<_>>()
            }
        };
        let newest_first: Vec<String> = made.iter().rev().cloned().collect();
        assert_eq!(list(ScheduleFilter::new()).await, newest_first);
        assert_eq!(
            list(ScheduleFilter::new().limit(2)).await,
            newest_first[..2]
        );
        let waiting = ScheduleFilter::new().states([State::Poll, State::Callback]);
        assert_eq!(
            list(waiting.clone()).await,
            [made[4].clone(), made[1].clone(), made[0].clone()]
        );
        assert_eq!(
            list(waiting.version("1.0.0")).await,
            [made[1].clone(), made[0].clone()]
        );
        let old = ScheduleFilter::new().created_before(at(120));
        assert_eq!(list(old).await, [made[1].clone(), made[0].clone()]);
        assert!(
            list(ScheduleFilter::new().version("9.9.9"))
                .await
                .is_empty()
        );
    });
}

#[test]
fn inspect_shows_the_lease_the_inbox_and_pending_notifications() {
    each_store(|_, store| async move {
        let trace = create(&*store, State::Callback, None).await;
        let i = store.inspect(&trace).await.unwrap().unwrap();
        assert_eq!(i.record.trace_id, trace);
        assert_eq!(
            (i.lease.clone(), i.inbox.len(), i.notifications.len()),
            (None, 0, 0)
        );
        for id in ["a", "b"] {
            let pushed = store.push_callback(&trace, id, json!({"id": id}), EPOCH);
            assert_eq!(pushed.await.unwrap(), PushOutcome::Queued);
        }
        let claims = claim(&*store, EPOCH, 7, 10).await;
        let i = store.inspect(&trace).await.unwrap().unwrap();
        let (owner, until) = i.lease.clone().expect("leased");
        assert_eq!((owner.as_str(), until), ("contract", at(60)));
        let ids: Vec<&str> = i.inbox.iter().map(|c| c.callback_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(i.inbox[0].data, json!({"id": "a"}));
        let done = transition(&claims[0], State::Fail, Some(at(5)));
        assert!(store.complete(&trace, 7, done).await.unwrap());
        let i = store.inspect(&trace).await.unwrap().unwrap();
        assert_eq!((i.lease.clone(), i.inbox.len()), (None, 0));
        assert_eq!(i.notifications.len(), 1);
        assert_eq!(
            (i.notifications[0].attempts, i.notifications[0].due_at),
            (0, at(5))
        );
        assert!(store.inspect("nope").await.unwrap().is_none());
    });
}

#[test]
fn renotify_starts_a_pending_notification_over_or_enqueues_one() {
    each_store(|_, store| async move {
        let trace = create(&*store, State::Poll, Some(EPOCH)).await;
        let claims = claim(&*store, EPOCH, 3, 10).await;
        let done = transition(&claims[0], State::Success, Some(EPOCH));
        assert!(store.complete(&trace, 3, done).await.unwrap());
        let n = &store.claim_notifications(EPOCH, at(10), 10).await.unwrap()[0];
        store
            .settle_notification(n.id, Delivery::RetryAt(at(100)))
            .await
            .unwrap();
        let again = NewNotification {
            url: "https://caller.example.invalid/done".into(),
            data: json!({"again": true}),
            due_at: at(20),
        };
        // Pending: started over, not doubled.
        assert!(!store.renotify(&trace, again.clone()).await.unwrap());
        let i = store.inspect(&trace).await.unwrap().unwrap();
        assert_eq!(i.notifications.len(), 1);
        assert_eq!(
            (i.notifications[0].attempts, i.notifications[0].due_at),
            (0, at(20))
        );
        // Delivered (deleted): enqueued anew.
        let n = &store.claim_notifications(at(20), at(30), 10).await.unwrap()[0];
        store
            .settle_notification(n.id, Delivery::Delivered)
            .await
            .unwrap();
        assert!(store.renotify(&trace, again).await.unwrap());
        let sent = store.claim_notifications(at(20), at(30), 10).await.unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].url, "https://caller.example.invalid/done");
        assert_eq!(sent[0].data, json!({"again": true}));
    });
}
