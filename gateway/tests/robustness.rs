//! Bad input against a real daemon (DESIGN.md "Security and operations"): each
//! abuse gets a KMIP error response or a closed connection, never a hang or a
//! crash, and other clients are unaffected — after every bad client, a good one
//! already connected and a new one both still get answers.

mod common;

use common::*;
use kmip::messages::ResponseMessage;
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{ResultReason, ResultStatus};
use std::time::{Duration, Instant};

/// A good client on an existing connection and one on a new connection are served.
fn others_unaffected(d: &Daemon, existing: &mut Kmip) {
    let r = existing.send(V2_1, &query());
    assert_eq!(r.item(0).result_status, ResultStatus::Success);
    let mut fresh = d.connect("admin");
    let r = fresh.send(V1_4, &query());
    assert_eq!(r.item(0).result_status, ResultStatus::Success);
}

/// An error response decoded from a frame.
fn error_reason(frame: &[u8]) -> ResultReason {
    let r =
        ResponseMessage::decode(frame, &kmip::Limits::DEFAULT).expect("an error response decodes");
    assert_eq!(r.batch_items.len(), 1, "{r:?}");
    assert_eq!(
        r.batch_items[0].result_status,
        ResultStatus::OperationFailed
    );
    r.batch_items[0].result_reason.expect("a Result Reason")
}

#[test]
fn truncated_frame_then_close() {
    let d = Daemon::start("truncated");
    let mut good = d.connect("app");
    let request = encode(&parse(&req(
        V1_4,
        "",
        &create_aes(V1_4, "truncated-key", 256),
    )));

    // Half a frame, then the TCP connection goes away.
    let mut bad = d.raw("app");
    bad.write(&request[..request.len() / 2]).expect("write");
    bad.abort();
    // Half a header, then a clean TLS close.
    let mut bad = d.raw("app");
    bad.write(&request[..5]).expect("write");
    drop(bad);

    others_unaffected(&d, &mut good);
    assert!(
        good.locate_name(V1_4, "truncated-key").is_empty(),
        "a truncated request is not executed"
    );
}

#[test]
fn announced_length_over_the_limit() {
    let d = Daemon::start("oversized");
    let mut good = d.connect("app");
    for len in [(1u32 << 20) + 1, 0x7fff_fff0, 0xffff_fff0] {
        let mut bad = d.raw("app");
        let mut header = vec![0x42, 0x00, 0x78, 0x01];
        header.extend_from_slice(&len.to_be_bytes());
        bad.write(&header).expect("write");
        let started = Instant::now();
        match bad.read_frame(WAIT) {
            RawRead::Frame(f) => {
                assert_eq!(error_reason(&f), ResultReason::InvalidMessage);
                assert!(
                    wait_until(WAIT, || bad.is_closed()),
                    "the connection stays open after a refused frame"
                );
            }
            RawRead::Closed => {}
            RawRead::Timeout => panic!("no answer and no close for length {len:#x}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the refusal waited for the body"
        );
    }
    others_unaffected(&d, &mut good);
}

#[test]
fn deep_nesting_is_invalid_message() {
    let d = Daemon::start("nesting");
    let mut good = d.connect("app");
    let mut bad = d.connect("app");

    // A Query whose payload holds structures nested 100 deep (the limit is 32).
    let mut nested = Ttlv::structure(Tag::ATTRIBUTES, Vec::new());
    for _ in 0..100 {
        nested = Ttlv::structure(Tag::ATTRIBUTES, vec![nested]);
    }
    let mut request = parse(&req(V2_1, "", &query()));
    let Value::Structure(top) = &mut request.value else {
        panic!()
    };
    let Value::Structure(batch_item) = &mut top[1].value else {
        panic!()
    };
    let Value::Structure(payload) = &mut batch_item[1].value else {
        panic!()
    };
    payload.push(nested);

    let r = bad
        .send_ttlv(&request)
        .expect("an answer, not a closed connection");
    assert_eq!(r.len(), 1);
    assert_eq!(r.failed(0), ResultReason::InvalidMessage);
    assert_eq!(
        r.msg.header.protocol_version, V2_1,
        "the version is read from the header"
    );
    // The connection itself is still usable.
    assert_eq!(
        bad.send(V2_1, &query()).item(0).result_status,
        ResultStatus::Success
    );
    others_unaffected(&d, &mut good);
}

#[test]
fn wrong_item_types() {
    let d = Daemon::start("item-types");
    let mut good = d.connect("app");
    let mut c = d.connect("app");
    let id = c.create_aes(V2_1, "typed-key");
    let cont = enumeration("BatchErrorContinuationOption", "Continue");

    for v in [V1_0, V1_4, V2_1] {
        // An Integer where the Unique Identifier (Text String) belongs: that item
        // fails, the next one in the batch is still served.
        let bad_get = item(
            "GetAttributes",
            "<UniqueIdentifier type=\"Integer\" value=\"5\"/>",
        );
        let r = c.send_with(
            v,
            &cont,
            &[bad_get, get_attributes(v, &id, &["State"])].concat(),
        );
        assert_eq!(r.len(), 2);
        let reason = r.failed(0);
        assert!(
            matches!(
                reason,
                ResultReason::InvalidField | ResultReason::InvalidMessage
            ),
            "{v}: {reason:?}"
        );
        assert_eq!(r.uid(1), id);

        // A Text String where Cryptographic Length (Integer) belongs.
        let a = [
            attr(v, "CryptographicAlgorithm", "Enumeration", "AES"),
            attr(v, "CryptographicLength", "TextString", "256"),
        ]
        .concat();
        let create = item(
            "Create",
            &format!(
                "{}{}",
                enumeration("ObjectType", "SymmetricKey"),
                attrs(v, &a)
            ),
        );
        let reason = c.send(v, &create).failed(0);
        assert!(
            matches!(
                reason,
                ResultReason::InvalidField | ResultReason::InvalidMessage
            ),
            "{v}: {reason:?}"
        );
    }

    // A wrong type in the header makes the whole message invalid.
    let mut request = parse(&req(V1_4, "", &query()));
    let Value::Structure(top) = &mut request.value else {
        panic!()
    };
    let Value::Structure(header) = &mut top[0].value else {
        panic!()
    };
    let count = header
        .iter_mut()
        .find(|t| t.tag == Tag::BATCH_COUNT)
        .expect("Batch Count");
    count.value = Value::TextString("1".to_owned());
    let r = c.send_ttlv(&request).expect("an answer");
    assert_eq!(r.failed(0), ResultReason::InvalidMessage);
    assert_eq!(r.msg.header.protocol_version, V1_4);
    others_unaffected(&d, &mut good);
}

#[test]
fn slow_client_is_cut_off_while_others_are_served() {
    let d = Prepared::new("slowloris")
        .limit("frame_timeout_secs", 1)
        .start();
    let mut good = d.connect("app");
    let request = encode(&parse(&req(V1_4, "", &create_aes(V1_4, "slow-key", 256))));
    let mut slow = d.raw("app");

    let trickler = std::thread::spawn(move || {
        // One byte every 200 ms: the whole frame would take half a minute.
        let started = Instant::now();
        for b in &request {
            if slow.write(std::slice::from_ref(b)).is_err() || slow.is_closed() {
                return Some(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(6) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    });

    // Meanwhile other clients are served promptly.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    others_unaffected(&d, &mut good);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a slow client held others up"
    );

    let cut = trickler
        .join()
        .expect("trickler")
        .expect("the slow client was never cut off");
    assert!(
        cut >= Duration::from_millis(800),
        "cut off before the frame timeout: {cut:?}"
    );
    assert!(
        cut < Duration::from_secs(4),
        "cut off long after the 1 s frame timeout: {cut:?}"
    );
    others_unaffected(&d, &mut good);
    assert!(good.locate_name(V1_4, "slow-key").is_empty());
}

#[test]
fn connection_cap() {
    let d = Prepared::new("conncap").limit("max_connections", 2).start();
    let mut one = d.connect("app");
    let mut two = d.connect("admin");
    for c in [&mut one, &mut two] {
        assert_eq!(
            c.send(V2_1, &query()).item(0).result_status,
            ResultStatus::Success
        );
    }

    // A third concurrent connection is refused...
    match Kmip::connect(&d.client_config("app")) {
        Err(_) => {}
        Ok(mut third) => assert!(
            third.try_send(V2_1, "", &query()).is_err(),
            "a third connection was served"
        ),
    }
    // ...while the two keep working.
    for c in [&mut one, &mut two] {
        assert_eq!(
            c.send(V2_1, &query()).item(0).result_status,
            ResultStatus::Success
        );
    }

    // When one leaves, its slot is free again.
    drop(one);
    let mut served = None;
    assert!(
        wait_until(WAIT, || match Kmip::connect(&d.client_config("app")) {
            Ok(mut c) => match c.try_send(V2_1, "", &query()) {
                Ok(r) => {
                    served = Some(r.item(0).result_status);
                    true
                }
                Err(_) => false,
            },
            Err(_) => false,
        }),
        "the freed slot was never reused"
    );
    assert_eq!(served, Some(ResultStatus::Success));
    assert_eq!(
        two.send(V2_1, &query()).item(0).result_status,
        ResultStatus::Success
    );
}

#[test]
fn concurrent_clients_all_served() {
    let d = Daemon::start("concurrent");
    let cfg = d.client_config("app");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let mut c = Kmip::connect(&cfg).expect("connect");
                (0..10)
                    .map(|i| {
                        let v = [V1_0, V1_4, V2_1][(t + i) % 3];
                        let id = c.create_aes(v, &format!("concurrent-{t}-{i}"));
                        assert_eq!(c.send(v, &activate(&id)).uid(0), id);
                        id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut made: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    made.sort();
    made.dedup();
    assert_eq!(made.len(), 80, "every Create got its own object");
    let mut c = d.connect("admin");
    let mut found = c.send(V2_1, &locate_all(V2_1)).located(0);
    found.sort();
    assert_eq!(found, made);
}
