//! The audit trail of a real daemon (DESIGN.md "Security and operations", issue 3
//! "Audit"): one chained JSON line per batch item, refused attempts included, never
//! key material; `keygate::audit::verify` accepts the log and names the line of a
//! one-byte change.

mod common;

use common::*;
use kmip::client::PemSource;
use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject};
use kmip::types::{ResultReason, ResultStatus};

#[test]
fn audit_log_chain_content_and_tampering() {
    let d = Daemon::start("audit");
    let v = V1_4;
    let mut c = d.connect("app");
    let secret = bytes(99, 96);

    // 1: Create.
    let id = c.create_aes(v, "audit-key");
    // 2: Register of Secret Data.
    let sid = c.send(v, &register_secret(v, &secret)).uid(0);
    // 3, 4: a batch of two Gets.
    let r = c.send(v, &[get(&id), get(&sid)].concat());
    let key = material(r.object(0));
    assert_eq!(material(r.object(1)), secret);
    // 5: a failed item.
    assert_eq!(
        c.send(v, &get("no-such-object")).failed(0),
        ResultReason::ItemNotFound
    );
    // 6: Stop after the first failure: only the executed item is recorded.
    let stop = enumeration("BatchErrorContinuationOption", "Stop");
    let r = c.send_with(v, &stop, &[get("no-such-object"), get(&id)].concat());
    assert_eq!(r.failed(0), ResultReason::ItemNotFound);
    // 7, 8: Undo: the undone item and the failed one.
    let undo = enumeration("BatchErrorContinuationOption", "Undo");
    let r = c.send_with(
        v,
        &undo,
        &[create_aes(v, "audit-undone", 128), get("no-such-object")].concat(),
    );
    assert_eq!(r.item(0).result_status, ResultStatus::OperationUndone);
    // 9, 10: an identity the configuration does not know, two items, both refused.
    let ca = keygate::pki::Ca::load(&d.path("ca.pem"), &d.path("ca-key.pem")).expect("CA");
    let nobody = ca.issue_client("nobody").expect("issue");
    let mut n = Kmip::connect(&d.config_with(
        PemSource::bytes(nobody.cert_pem.as_bytes().to_vec()),
        PemSource::bytes(nobody.key_pem.as_bytes().to_vec()),
    ))
    .expect("connect");
    let r = n.send(v, &[get(&id), destroy(&id)].concat());
    assert_eq!(
        (r.failed(0), r.failed(1)),
        (
            ResultReason::PermissionDenied,
            ResultReason::PermissionDenied
        )
    );

    let log = d.path("audit.log");
    let key_file = d.path("audit.key");
    let lines = keygate::audit::verify(&log, &key_file).expect("an intact log verifies");
    assert_eq!(lines, 10, "one line per executed batch item");

    // What each line says.
    let text = std::fs::read_to_string(&log).expect("read log");
    let recs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let field = |i: usize, f: &str| recs[i][f].clone();
    let expect = [
        ("app", "default", "Create", "Success", None, Some(&id)),
        ("app", "default", "Register", "Success", None, Some(&sid)),
        ("app", "default", "Get", "Success", None, Some(&id)),
        ("app", "default", "Get", "Success", None, Some(&sid)),
        (
            "app",
            "default",
            "Get",
            "OperationFailed",
            Some("ItemNotFound"),
            None,
        ),
        (
            "app",
            "default",
            "Get",
            "OperationFailed",
            Some("ItemNotFound"),
            None,
        ),
        ("app", "default", "Create", "OperationUndone", None, None),
        (
            "app",
            "default",
            "Get",
            "OperationFailed",
            Some("ItemNotFound"),
            None,
        ),
        (
            "nobody",
            "",
            "Get",
            "OperationFailed",
            Some("PermissionDenied"),
            None,
        ),
        (
            "nobody",
            "",
            "Destroy",
            "OperationFailed",
            Some("PermissionDenied"),
            None,
        ),
    ];
    for (i, (who, vault, op, status, reason, uid)) in expect.iter().enumerate() {
        assert_eq!(field(i, "seq"), serde_json::json!(i + 1), "line {}", i + 1);
        assert_eq!(
            field(i, "identity"),
            serde_json::json!(who),
            "line {}",
            i + 1
        );
        assert_eq!(
            field(i, "vault"),
            serde_json::json!(vault),
            "line {}",
            i + 1
        );
        assert_eq!(
            field(i, "operation"),
            serde_json::json!(op),
            "line {}",
            i + 1
        );
        assert_eq!(
            field(i, "status"),
            serde_json::json!(status),
            "line {}",
            i + 1
        );
        assert_eq!(
            field(i, "reason"),
            serde_json::json!(reason),
            "line {}",
            i + 1
        );
        if let Some(u) = uid {
            assert_eq!(field(i, "uids"), serde_json::json!([u]), "line {}", i + 1);
        }
    }

    // Never key material, in any usual spelling.
    let raw = std::fs::read(&log).expect("read log");
    for m in [&key, &secret] {
        for s in [hex(m), hex(m).to_uppercase(), base64(m)] {
            assert!(!text.contains(&s), "key material found in the audit log");
        }
        assert!(
            !raw.windows(m.len()).any(|w| w == m.as_slice()),
            "raw key bytes found in the audit log"
        );
    }

    // One byte flipped in the middle of the file: verify names its line.
    let mut tampered = raw.clone();
    let mid = tampered.len() / 2;
    if tampered[mid] == b'\n' {
        tampered[mid - 1] ^= 0x01;
    } else {
        tampered[mid] ^= 0x01;
    }
    let line_of_mid =
        u64::try_from(raw[..mid].iter().filter(|b| **b == b'\n').count() + 1).expect("line");
    std::fs::write(&log, &tampered).expect("write log");
    let err = keygate::audit::verify(&log, &key_file).expect_err("a changed byte is detected");
    assert_eq!(err.line, line_of_mid, "{err}");
    assert!((4..=7).contains(&err.line), "the middle of the file: {err}");
}

fn register_secret(v: kmip::version::ProtocolVersion, secret: &[u8]) -> String {
    item(
        "Register",
        &format!(
            "{}{}<SecretData>{}<KeyBlock>{}<KeyValue><KeyMaterial type=\"ByteString\" value=\"{}\"/></KeyValue></KeyBlock></SecretData>",
            enumeration("ObjectType", "SecretData"),
            attrs(v, &name_attr(v, "audit-secret")),
            enumeration("SecretDataType", "Seed"),
            enumeration("KeyFormatType", "Opaque"),
            hex(secret)
        ),
    )
}

fn material(o: &ManagedObject) -> Vec<u8> {
    let kb = match o {
        ManagedObject::SymmetricKey(k) => &k.key_block,
        ManagedObject::SecretData(s) => &s.key_block,
        other => panic!("unexpected object {other:?}"),
    };
    match &kb.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => b.clone(),
        other => panic!("no key bytes: {other:?}"),
    }
}

/// Log (KMIP 2.0): the client's message is recorded as an audit line of its own,
/// with the caller's identity, and the chain still verifies.
#[test]
fn log_operation_is_audited() {
    let d = Daemon::start("audit-log-op");
    let mut c = d.connect("app");
    let r = c.send(
        V2_1,
        &item("Log", &text("LogMessage", "Registered a symmetric key.")),
    );
    assert_eq!(r.item(0).result_status, ResultStatus::Success);
    let log = d.path("audit.log");
    let lines = keygate::audit::verify(&log, d.path("audit.key")).expect("verifies");
    assert_eq!(lines, 1);
    let text = std::fs::read_to_string(&log).expect("read log");
    let rec: serde_json::Value = serde_json::from_str(text.trim_end()).expect("JSON");
    assert_eq!(rec["operation"], serde_json::json!("Log"));
    assert_eq!(rec["identity"], serde_json::json!("app"));
    assert_eq!(rec["status"], serde_json::json!("Success"));
}

/// Requests answered on the connection's task (Get, Encrypt on the software
/// keystore) wait for their audit records: whatever a client has been answered is
/// in the log, with 8 connections at once sharing the writes.
#[test]
fn every_answer_follows_its_audit_record() {
    answers_follow_their_records(Daemon::start("audit-before-answer"));
}

/// The same with `[audit] sync = "changes"`: the answer no longer waits for the
/// fsync, but still for the write.
#[test]
fn every_answer_follows_its_audit_record_with_sync_changes() {
    answers_follow_their_records(
        Prepared::new("audit-sync-changes")
            .audit_sync("changes")
            .start(),
    );
}

fn answers_follow_their_records(d: Daemon) {
    let v = V1_4;
    let log = d.path("audit.log");
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let mut c = d.connect("app");
            let log = log.clone();
            std::thread::spawn(move || {
                let id = c.create_aes(v, &format!("answer-{t}"));
                c.send(v, &activate(&id));
                for answered in 1..=20 {
                    let r = c.send(v, &get(&id));
                    assert_eq!(r.item(0).result_status, ResultStatus::Success);
                    let text = std::fs::read_to_string(&log).expect("read log");
                    let gets = text
                        .lines()
                        .filter(|l| l.contains(&id) && l.contains("\"operation\":\"Get\""))
                        .count();
                    assert_eq!(
                        gets, answered,
                        "Get {answered} of {id} answered before its record"
                    );
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let lines = keygate::audit::verify(&log, d.path("audit.key")).expect("verifies");
    assert_eq!(lines, 8 * (2 + 20));
}
