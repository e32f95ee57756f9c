//! The audit log's chain: what verifies, and that every kind of tampering is found
//! at the right line.

use keygate::audit::{verify, AuditError, AuditLog, AuditRecord, VerifyFailure};
use kmip::types::{Operation, ResultReason, ResultStatus};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "keygate-audit-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

struct Fixture {
    dir: TempDir,
    log: PathBuf,
    key: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = TempDir::new();
        let log = dir.path().join("audit.log");
        let key = dir.path().join("audit.key");
        write_key(&key, 7);
        Fixture { dir, log, key }
    }

    fn open(&self) -> AuditLog {
        AuditLog::open(&self.log, &self.key).unwrap()
    }

    /// A log of `n` records, appended one by one and in batches.
    fn with_records(n: usize) -> Self {
        let f = Self::new();
        let log = f.open();
        let mut i = 0;
        while i < n {
            let batch = (i % 3 + 1).min(n - i);
            let recs: Vec<AuditRecord> = (i..i + batch).map(record).collect();
            if batch == 1 {
                log.append(&recs[0]).unwrap();
            } else {
                log.append_many(&recs).unwrap();
            }
            i += batch;
        }
        f
    }

    fn lines(&self) -> Vec<Vec<u8>> {
        let bytes = fs::read(&self.log).unwrap();
        bytes
            .split_inclusive(|b| *b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn write_lines(&self, lines: &[Vec<u8>]) {
        fs::write(&self.log, lines.concat()).unwrap();
    }

    /// The first uid of every line, in order.
    fn first_uids(&self) -> Vec<String> {
        self.lines()
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                v["uids"][0].as_str().unwrap().to_owned()
            })
            .collect()
    }

    fn verify(&self) -> Result<u64, keygate::audit::VerifyError> {
        verify(&self.log, &self.key)
    }
}

fn write_key(path: &Path, fill: u8) {
    let _ = fs::remove_file(path);
    fs::write(path, [fill; 32]).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

fn record(i: usize) -> AuditRecord {
    let failed = i % 7 == 3;
    let mut r = AuditRecord::new(
        format!("app-{}", i % 4),
        "default",
        if i % 2 == 0 {
            Operation::Create
        } else {
            Operation::Get
        },
        if failed {
            ResultStatus::OperationFailed
        } else {
            ResultStatus::Success
        },
        failed.then_some(ResultReason::ItemNotFound),
    );
    r.uids = vec![format!("uid-{i:04}")];
    r
}

/// Byte offset of the value of `"field":` within `line`.
fn offset_of(line: &[u8], field: &str) -> usize {
    let needle = format!("\"{field}\":");
    let text = std::str::from_utf8(line).unwrap();
    text.find(&needle).unwrap() + needle.len()
}

fn assert_bad_line(f: &Fixture, line: u64) -> VerifyFailure {
    match f.verify() {
        Ok(n) => panic!("tampering not detected ({n} lines verified), expected line {line}"),
        Err(e) => {
            assert_eq!(e.line, line, "wrong line: {e}");
            e.reason
        }
    }
}

#[test]
fn chain_of_100_records_verifies() {
    let f = Fixture::with_records(100);
    assert_eq!(f.verify().unwrap(), 100);
    assert_eq!(f.open().head().seq, 100);

    let lines = f.lines();
    assert_eq!(lines.len(), 100);
    let first: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
    assert_eq!(first["seq"], 1);
    assert_eq!(first["prev"], "0".repeat(64));
    assert_eq!(first["identity"], "app-0");
    assert_eq!(first["vault"], "default");
    assert_eq!(first["operation"], "Create");
    assert_eq!(first["uids"], serde_json::json!(["uid-0000"]));
    assert_eq!(first["status"], "Success");
    assert_eq!(first["reason"], serde_json::Value::Null);
    assert!(time::OffsetDateTime::parse(
        first["time"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    let fourth: serde_json::Value = serde_json::from_slice(&lines[3]).unwrap();
    assert_eq!(fourth["status"], "OperationFailed");
    assert_eq!(fourth["reason"], "ItemNotFound");
    assert_eq!(fourth["prev"], {
        let third: serde_json::Value = serde_json::from_slice(&lines[2]).unwrap();
        third["mac"].clone()
    });
    // Exactly these members, in this order.
    let text = String::from_utf8(lines[0].clone()).unwrap();
    let keys = [
        "seq",
        "time",
        "identity",
        "vault",
        "operation",
        "uids",
        "status",
        "reason",
        "prev",
        "mac",
    ];
    let mut at = 0;
    for k in keys {
        let pos = text[at..].find(&format!("\"{k}\":")).unwrap();
        at += pos;
    }
    assert_eq!(first.as_object().unwrap().len(), keys.len());
}

#[test]
fn empty_log_verifies_with_zero_lines() {
    let f = Fixture::new();
    drop(f.open());
    assert_eq!(f.verify().unwrap(), 0);
}

#[test]
fn flipping_any_byte_of_a_line_is_detected_at_that_line() {
    // Every byte of the first, a middle and the last line: a neighbouring character;
    // in the middle line also a case change (or control character) and invalid UTF-8.
    let f = Fixture::with_records(60);
    let original = f.lines();
    for (target, masks) in [
        (0usize, &[0x01u8][..]),
        (29, &[0x01, 0x20, 0x80][..]),
        (59, &[0x01][..]),
    ] {
        for pos in 0..original[target].len() {
            for &mask in masks {
                let mut lines = original.clone();
                lines[target][pos] ^= mask;
                f.write_lines(&lines);
                let line = u64::try_from(target).unwrap() + 1;
                match f.verify() {
                    Ok(_) => panic!("flip {mask:#x} at byte {pos} of line {line} not detected"),
                    Err(e) => assert_eq!(e.line, line, "flip {mask:#x} at byte {pos}: {e}"),
                }
            }
        }
    }
    f.write_lines(&original);
    assert_eq!(f.verify().unwrap(), 60);
}

#[test]
fn flips_in_identity_mac_and_prev_are_detected() {
    let f = Fixture::with_records(100);
    let original = f.lines();
    for (field, expect_mac_failure) in [("identity", true), ("mac", true), ("prev", false)] {
        let mut lines = original.clone();
        // Second character of the value: inside the string, past the quote.
        let pos = offset_of(&lines[41], field) + 2;
        lines[41][pos] = if lines[41][pos] == b'1' { b'2' } else { b'1' };
        f.write_lines(&lines);
        let reason = assert_bad_line(&f, 42);
        if expect_mac_failure {
            assert!(matches!(reason, VerifyFailure::BadMac), "{field}: {reason}");
        } else {
            assert!(matches!(reason, VerifyFailure::Chain), "{field}: {reason}");
        }
    }
}

#[test]
fn deleting_a_middle_line_is_detected() {
    let f = Fixture::with_records(100);
    let mut lines = f.lines();
    lines.remove(49);
    f.write_lines(&lines);
    let reason = assert_bad_line(&f, 50);
    assert!(
        matches!(
            reason,
            VerifyFailure::Sequence {
                expected: 50,
                found: 51
            }
        ),
        "{reason}"
    );
}

#[test]
fn reordering_or_duplicating_lines_is_detected() {
    let f = Fixture::with_records(20);
    let original = f.lines();
    let mut swapped = original.clone();
    swapped.swap(9, 10);
    f.write_lines(&swapped);
    assert_bad_line(&f, 10);

    let mut duplicated = original.clone();
    duplicated.insert(5, original[4].clone());
    f.write_lines(&duplicated);
    assert_bad_line(&f, 6);
}

#[test]
fn deleting_the_first_line_is_detected() {
    let f = Fixture::with_records(10);
    let mut lines = f.lines();
    lines.remove(0);
    f.write_lines(&lines);
    assert_bad_line(&f, 1);
}

#[test]
fn truncated_last_line_is_detected() {
    let f = Fixture::with_records(100);
    let full = fs::read(&f.log).unwrap();
    let last_len = f.lines()[99].len();
    for cut in [1, 2, last_len / 2, last_len - 1] {
        fs::write(&f.log, &full[..full.len() - cut]).unwrap();
        let reason = assert_bad_line(&f, 100);
        assert!(
            matches!(reason, VerifyFailure::Truncated),
            "cut {cut}: {reason}"
        );
    }
}

#[test]
fn reopening_continues_the_chain() {
    let f = Fixture::with_records(10);
    let log = f.open();
    assert_eq!(log.head().seq, 10);
    for i in 10..20 {
        log.append(&record(i)).unwrap();
    }
    drop(log);
    let log = f.open();
    log.append_many(&[record(20), record(21)]).unwrap();
    assert_eq!(log.head().seq, 22);
    assert_eq!(f.verify().unwrap(), 22);
}

#[test]
fn wrong_key_is_detected_at_line_1() {
    let f = Fixture::with_records(10);
    let other = f.dir.path().join("other.key");
    write_key(&other, 8);
    let err = verify(&f.log, &other).unwrap_err();
    assert_eq!(err.line, 1);
    assert!(matches!(err.reason, VerifyFailure::BadMac), "{err}");

    // Continuing the log under another key is refused too.
    match AuditLog::open(&f.log, &other) {
        Err(AuditError::BadTail {
            reason: VerifyFailure::BadMac,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn open_refuses_a_damaged_tail() {
    let f = Fixture::with_records(5);
    let full = fs::read(&f.log).unwrap();

    fs::write(&f.log, &full[..full.len() - 3]).unwrap();
    match AuditLog::open(&f.log, &f.key) {
        Err(AuditError::BadTail {
            reason: VerifyFailure::Truncated,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }

    fs::write(&f.log, &full).unwrap();
    let mut lines = f.lines();
    lines.pop();
    let mut last = f.lines().pop().unwrap();
    let pos = offset_of(&last, "identity") + 1;
    last[pos] ^= 0x01;
    lines.push(last);
    f.write_lines(&lines);
    match AuditLog::open(&f.log, &f.key) {
        Err(AuditError::BadTail {
            reason: VerifyFailure::BadMac,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Refusing wrote nothing.
    assert_eq!(fs::read(&f.log).unwrap(), lines.concat());
}

#[test]
fn open_refuses_a_key_readable_by_others() {
    let f = Fixture::new();
    fs::set_permissions(&f.key, fs::Permissions::from_mode(0o644)).unwrap();
    match AuditLog::open(&f.log, &f.key) {
        Err(AuditError::KeyPermissions { mode: 0o644, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn open_refuses_a_short_key() {
    let f = Fixture::new();
    fs::write(&f.key, [1u8; 16]).unwrap();
    match AuditLog::open(&f.log, &f.key) {
        Err(AuditError::KeyLength { len: 16, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn log_file_is_private() {
    let f = Fixture::with_records(1);
    let mode = fs::metadata(&f.log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn hostile_names_stay_on_one_line() {
    let f = Fixture::new();
    let log = f.open();
    let mut r = record(0);
    r.identity = "evil\n{\"seq\":2}\r\u{2028}\"".to_owned();
    r.vault = "é\u{0}".to_owned();
    log.append(&r).unwrap();
    log.append(&record(1)).unwrap();
    assert_eq!(f.lines().len(), 2);
    assert_eq!(f.verify().unwrap(), 2);
    let first: serde_json::Value = serde_json::from_slice(&f.lines()[0]).unwrap();
    assert_eq!(first["identity"], r.identity.as_str());
}

#[test]
fn concurrent_appends_form_one_chain() {
    let f = Fixture::new();
    let log = Arc::new(f.open());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..25 {
                    if i % 5 == 0 {
                        log.append_many(&[record(t * 100 + i), record(t * 100 + i + 50)])
                            .unwrap();
                    } else {
                        log.append(&record(t * 100 + i)).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(f.verify().unwrap(), 8 * 30);
    assert_eq!(log.head().seq, 8 * 30);
    // Appends written in one group keep their records together and in order.
    let uids = f.first_uids();
    for t in 0..8 {
        for i in (0..25).step_by(5) {
            let first = format!("uid-{:04}", t * 100 + i);
            let at = uids.iter().position(|u| *u == first).unwrap();
            assert_eq!(uids[at + 1], format!("uid-{:04}", t * 100 + i + 50));
        }
    }
}

/// Records given to `write` (the request path's non-blocking append) are in the
/// file when it returns and durable when their `durable` wait ends, and they chain
/// with blocking appends made at the same time: one log, one sequence, every
/// record once.
#[test]
fn written_and_blocking_appends_form_one_chain() {
    let f = Fixture::new();
    let log = Arc::new(f.open());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            let file = f.log.clone();
            rt.spawn(async move {
                for i in 0..25 {
                    let r = record(1000 + t * 100 + i);
                    let uid = r.uids[0].clone();
                    let written = log.write(&[r]).unwrap();
                    let text = fs::read_to_string(&file).unwrap();
                    assert!(
                        text.contains(&format!("\"{uid}\"")),
                        "{uid} not in the file when write returned"
                    );
                    log.durable(written).wait().await.unwrap();
                }
            })
        })
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.append(&record(t * 100 + i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(f.verify().unwrap(), 8 * 25 + 4 * 25);
    assert_eq!(log.head().seq, 8 * 25 + 4 * 25);
    let mut uids = f.first_uids();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 8 * 25 + 4 * 25, "every record exactly once");
}

/// Closing the log syncs what was written and tells the waiters so.
#[test]
fn closing_syncs_what_was_written() {
    let f = Fixture::new();
    let log = f.open();
    let pending: Vec<_> = (0..20)
        .map(|i| log.durable(log.write(&[record(i)]).unwrap()))
        .collect();
    drop(log);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for p in pending {
        rt.block_on(p.wait()).unwrap();
    }
    assert_eq!(f.verify().unwrap(), 20);
    assert_eq!(f.open().head().seq, 20);
}

/// Records written while a blocking append's own sync runs (which does not cover
/// them) are synced by the flusher with nothing else happening: their waiter is not
/// left until the next append comes along.
#[test]
fn a_write_during_a_blocking_sync_is_synced_without_further_appends() {
    let f = Fixture::new();
    let log = Arc::new(f.open());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    for i in 0..200 {
        let blocking = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || log.append(&record(2 * i)).unwrap())
        };
        // The blocking append has written its record (and, in the same hold of
        // the log's lock, started its sync); write while that sync runs.
        while log.head().seq < 2 * i as u64 + 1 {
            std::thread::yield_now();
        }
        let pending = log.durable(log.write(&[record(2 * i + 1)]).unwrap());
        blocking.join().unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), pending.wait()).await
        })
        .unwrap_or_else(|_| panic!("round {i}: the write was never synced"))
        .unwrap();
    }
    assert_eq!(f.verify().unwrap(), 400);
}

#[test]
fn appending_nothing_writes_nothing() {
    let f = Fixture::new();
    f.open().append_many(&[]).unwrap();
    assert_eq!(fs::metadata(&f.log).unwrap().len(), 0);
}

#[test]
fn hex_key_file_is_accepted_by_verify_and_open() {
    let f = Fixture::with_records(3);
    fs::write(&f.key, format!("{}\n", hex::encode([7u8; 32]))).unwrap();
    assert_eq!(f.verify().unwrap(), 3);
    assert_eq!(f.open().head().seq, 3);
}
