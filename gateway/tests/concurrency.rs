//! A mixed load from many connections at once against one daemon: creates, first
//! and later Gets (on the connection's task and, for the first Get of a key, again
//! on the blocking pool), lifecycle changes, Locate and destruction, with readers
//! hammering one shared key meanwhile. Nothing fails, nothing waits for ever, and
//! the audit log holds exactly one verified line per request: none lost, none
//! written twice by a request that was run again.

mod common;

use common::*;
use kmip::ttlv::{Tag, Value};
use kmip::types::{ResultStatus, State};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const WORKERS: usize = 6;
const ROUNDS: usize = 12;
const READERS: usize = 2;
const READS: usize = 60;

#[test]
fn a_mixed_concurrent_load_audits_every_request_exactly_once() {
    let d = Daemon::start("mixed-load");
    let v = V1_4;
    let mut c = d.connect("app");
    let sent = Arc::new(AtomicUsize::new(0));
    let shared = c.create_aes(v, "mixed-shared");
    assert_eq!(c.send(v, &activate(&shared)).uid(0), shared);
    sent.fetch_add(2, Ordering::SeqCst);

    let ok = |r: &Reply, what: &str| {
        assert_eq!(
            r.item(0).result_status,
            ResultStatus::Success,
            "{what}: {:?}",
            r.item(0).result_message
        );
    };
    let workers: Vec<_> = (0..WORKERS)
        .map(|t| {
            let mut c = d.connect("app");
            let (sent, shared) = (Arc::clone(&sent), shared.clone());
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    let name = format!("mixed-{t}-{i}");
                    let id = c.create_aes(v, &name);
                    ok(&c.send(v, &get(&id)), "first Get");
                    ok(&c.send(v, &get(&shared)), "Get of the shared key");
                    ok(&c.send(v, &activate(&id)), "Activate");
                    let state = c.get_attributes(v, &id, &["State"]);
                    assert_eq!(
                        state.get(Tag::STATE).map(|a| a.value.clone()),
                        Some(Value::Enumeration(State::Active.value()))
                    );
                    assert_eq!(c.locate_name(v, &name), std::slice::from_ref(&id));
                    sent.fetch_add(6, Ordering::SeqCst);
                    if i % 3 == 0 {
                        ok(&c.send(v, &revoke(&id, "CessationOfOperation")), "Revoke");
                        ok(&c.send(v, &destroy(&id)), "Destroy");
                        sent.fetch_add(2, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let mut c = d.connect("app");
            let (sent, shared) = (Arc::clone(&sent), shared.clone());
            std::thread::spawn(move || {
                for _ in 0..READS {
                    ok(&c.send(v, &get(&shared)), "reader's Get");
                    let fresh = c.get_attributes(v, &shared, &["Fresh"]);
                    assert_eq!(
                        fresh.get(Tag::FRESH).map(|a| a.value.clone()),
                        Some(Value::Boolean(false))
                    );
                    sent.fetch_add(2, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in workers.into_iter().chain(readers) {
        t.join().expect("a client thread failed");
    }
    let lines = keygate::audit::verify(d.path("audit.log"), d.path("audit.key"))
        .expect("the audit log verifies");
    let expected = sent.load(Ordering::SeqCst);
    assert_eq!(
        lines,
        u64::try_from(expected).unwrap(),
        "one audit line per request"
    );
    assert_eq!(
        expected,
        2 + WORKERS * (ROUNDS * 6 + ROUNDS.div_ceil(3) * 2) + READERS * READS * 2
    );
}
