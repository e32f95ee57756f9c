//! `SqliteStore` against the `Store`/`Txn` contract.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use keygate::store::sqlite::{SqliteStore, SCHEMA_VERSION};
use keygate::store::{ObjectFilter, ObjectRecord, Store, StoreError, Txn};

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("keygate-store-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("keygate.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &TempDir) -> SqliteStore {
    SqliteStore::open(&dir.db()).unwrap()
}

fn record(vault: &str, uid: &str) -> ObjectRecord {
    ObjectRecord {
        uid: uid.to_owned(),
        vault: vault.to_owned(),
        object_type: 2,
        state: 1,
        attributes: [&[0x42, 0x00, 0x01][..], uid.as_bytes()].concat(),
        object: b"template".to_vec(),
        names: vec![format!("name-{uid}"), "shared".to_owned()],
        object_groups: vec!["group-a".to_owned()],
        backend: "soft".to_owned(),
        key_ref: Some(vec![1, 2, 3, 4]),
        created_at: 1_700_000_000,
    }
}

fn insert_committed(store: &dyn Store, rec: &ObjectRecord) {
    let mut tx = store.begin().unwrap();
    tx.insert(rec).unwrap();
    tx.commit().unwrap();
}

fn uids(recs: &[ObjectRecord]) -> Vec<&str> {
    recs.iter().map(|r| r.uid.as_str()).collect()
}

#[test]
fn insert_get_round_trip() {
    let dir = TempDir::new("roundtrip");
    let store = open(&dir);
    let rec = record("v1", "u1");
    let mut empty = record("v1", "u2");
    empty.names.clear();
    empty.object_groups.clear();
    empty.key_ref = None;
    empty.attributes.clear();
    empty.object.clear();
    empty.object_type = u32::MAX;
    empty.created_at = i64::MIN;

    let mut tx = store.begin().unwrap();
    tx.insert(&rec).unwrap();
    tx.insert(&empty).unwrap();
    // Visible inside the transaction before commit.
    assert_eq!(tx.get("v1", "u1").unwrap(), Some(rec.clone()));
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "u1").unwrap(), Some(rec));
    assert_eq!(tx.get("v1", "u2").unwrap(), Some(empty));
    assert_eq!(tx.get("v1", "absent").unwrap(), None);
}

#[test]
fn names_keep_order_and_duplicates() {
    let dir = TempDir::new("order");
    let store = open(&dir);
    let mut rec = record("v1", "u1");
    rec.names = vec!["z".into(), "a".into(), "z".into(), String::new()];
    rec.object_groups = vec!["g2".into(), "g1".into()];
    insert_committed(&store, &rec);
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "u1").unwrap(), Some(rec));
}

#[test]
fn update_replaces_mutable_fields() {
    let dir = TempDir::new("update");
    let store = open(&dir);
    let rec = record("v1", "u1");
    insert_committed(&store, &rec);

    let mut changed = rec.clone();
    changed.state = 4;
    changed.attributes = vec![9; 100];
    changed.object = Vec::new();
    changed.key_ref = None;
    changed.names = vec!["renamed".into()];
    changed.object_groups = Vec::new();
    let mut tx = store.begin().unwrap();
    tx.update(&changed).unwrap();
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "u1").unwrap(), Some(changed));
    let by_old_name = ObjectFilter {
        name: Some("name-u1".into()),
        ..Default::default()
    };
    assert!(tx.list("v1", &by_old_name).unwrap().is_empty());
    let by_new_name = ObjectFilter {
        name: Some("renamed".into()),
        ..Default::default()
    };
    assert_eq!(uids(&tx.list("v1", &by_new_name).unwrap()), ["u1"]);
    let by_group = ObjectFilter {
        object_group: Some("group-a".into()),
        ..Default::default()
    };
    assert!(tx.list("v1", &by_group).unwrap().is_empty());
}

#[test]
fn update_of_missing_object_is_not_found() {
    let dir = TempDir::new("notfound");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "u1"));
    let mut tx = store.begin().unwrap();
    assert!(matches!(
        tx.update(&record("v1", "absent")),
        Err(StoreError::NotFound(uid)) if uid == "absent"
    ));
    // Another vault's object cannot be updated either.
    let mut foreign = record("v2", "u1");
    foreign.state = 9;
    assert!(matches!(tx.update(&foreign), Err(StoreError::NotFound(_))));
    assert_eq!(tx.get("v1", "u1").unwrap().unwrap().state, 1);
}

#[test]
fn duplicate_uid_is_refused_in_any_vault() {
    let dir = TempDir::new("duplicate");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "u1"));
    // A uid the database has: the commit is refused, and nothing of it written.
    for vault in ["v1", "v2"] {
        let mut tx = store.begin().unwrap();
        tx.insert(&record(vault, "u1")).unwrap();
        tx.insert(&record("v1", "not-kept")).unwrap();
        assert!(
            matches!(tx.commit(), Err(StoreError::Duplicate(uid)) if uid == "u1"),
            "{vault}"
        );
    }
    // A uid the transaction has written: refused at once, and the transaction is
    // still usable.
    let mut tx = store.begin().unwrap();
    tx.insert(&record("v1", "u3")).unwrap();
    assert!(
        matches!(tx.insert(&record("v2", "u3")), Err(StoreError::Duplicate(uid)) if uid == "u3")
    );
    tx.insert(&record("v1", "u2")).unwrap();
    tx.commit().unwrap();
    let mut tx = store.begin().unwrap();
    assert_eq!(
        uids(&tx.list("v1", &ObjectFilter::default()).unwrap()),
        ["u1", "u3", "u2"]
    );
    assert!(tx.list("v2", &ObjectFilter::default()).unwrap().is_empty());
}

#[test]
fn vaults_are_isolated() {
    let dir = TempDir::new("isolation");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "u1"));
    insert_committed(&store, &record("v2", "u2"));
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v2", "u1").unwrap(), None);
    assert_eq!(tx.get("v1", "u2").unwrap(), None);
    assert!(tx.get("v1", "u1").unwrap().is_some());
    assert_eq!(
        uids(&tx.list("v1", &ObjectFilter::default()).unwrap()),
        ["u1"]
    );
    assert_eq!(
        uids(&tx.list("v2", &ObjectFilter::default()).unwrap()),
        ["u2"]
    );
    // Both objects carry the name "shared"; each vault sees only its own.
    let shared = ObjectFilter {
        name: Some("shared".into()),
        ..Default::default()
    };
    assert_eq!(uids(&tx.list("v1", &shared).unwrap()), ["u1"]);
    assert!(tx.list("v3", &shared).unwrap().is_empty());
}

#[test]
fn list_filters_in_creation_order() {
    let dir = TempDir::new("list");
    let store = open(&dir);
    // Uids out of lexical order, so creation order is what is tested.
    let specs = [
        ("c", 2, 1, "g1"),
        ("a", 2, 2, "g2"),
        ("d", 3, 1, "g1"),
        ("b", 2, 1, "g1"),
    ];
    let mut tx = store.begin().unwrap();
    for (uid, object_type, state, group) in specs {
        let mut rec = record("v1", uid);
        rec.object_type = object_type;
        rec.state = state;
        rec.object_groups = vec![group.into()];
        tx.insert(&rec).unwrap();
    }
    tx.insert(&record("v2", "other")).unwrap();
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    let list = |tx: &mut Box<dyn keygate::store::Txn + '_>, f: ObjectFilter| {
        uids(&tx.list("v1", &f).unwrap())
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&mut tx, ObjectFilter::default()), ["c", "a", "d", "b"]);
    let t2 = ObjectFilter {
        object_type: Some(2),
        ..Default::default()
    };
    assert_eq!(list(&mut tx, t2.clone()), ["c", "a", "b"]);
    let t2s1 = ObjectFilter {
        state: Some(1),
        ..t2.clone()
    };
    assert_eq!(list(&mut tx, t2s1.clone()), ["c", "b"]);
    let t2s1g1 = ObjectFilter {
        object_group: Some("g1".into()),
        ..t2s1
    };
    assert_eq!(list(&mut tx, t2s1g1.clone()), ["c", "b"]);
    let by_name = ObjectFilter {
        name: Some("name-b".into()),
        ..t2s1g1
    };
    assert_eq!(list(&mut tx, by_name), ["b"]);
    let g2 = ObjectFilter {
        object_group: Some("g2".into()),
        ..Default::default()
    };
    assert_eq!(list(&mut tx, g2), ["a"]);
    let none = ObjectFilter {
        name: Some("nope".into()),
        ..Default::default()
    };
    assert!(list(&mut tx, none).is_empty());
    // Full records come back, names and groups included.
    let all = tx.list("v1", &ObjectFilter::default()).unwrap();
    assert_eq!(all[0].names, ["name-c", "shared"]);
    assert_eq!(all[0].object_groups, ["g1"]);
}

#[test]
fn drop_without_commit_rolls_back() {
    let dir = TempDir::new("rollback");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "kept"));
    {
        let mut tx = store.begin().unwrap();
        tx.insert(&record("v1", "dropped")).unwrap();
        let mut changed = record("v1", "kept");
        changed.state = 7;
        changed.names = vec!["changed".into()];
        tx.update(&changed).unwrap();
    }
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "dropped").unwrap(), None);
    assert_eq!(tx.get("v1", "kept").unwrap(), Some(record("v1", "kept")));
}

#[test]
fn panic_inside_transaction_rolls_back_and_store_stays_usable() {
    let dir = TempDir::new("panic");
    let store = open(&dir);
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            let mut tx = store.begin().unwrap();
            tx.insert(&record("v1", "u1")).unwrap();
            panic!("request handler bug");
        })
        .join()
    });
    assert!(result.is_err());
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "u1").unwrap(), None);
    tx.insert(&record("v1", "u1")).unwrap();
    tx.commit().unwrap();
}

/// Adds triggers that fail an insert into `object_names`: "poison" aborts the
/// statement, "fatal" makes SQLite roll back the whole transaction.
fn add_failing_triggers(dir: &TempDir) {
    drop(open(dir));
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER poison BEFORE INSERT ON object_names WHEN NEW.value = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poisoned name'); END;
         CREATE TRIGGER fatal BEFORE INSERT ON object_names WHEN NEW.value = 'fatal'
         BEGIN SELECT RAISE(ROLLBACK, 'fatal name'); END;",
    )
    .unwrap();
}

/// Writes are made at commit (the transaction keeps them until then): a commit
/// the database refuses part-way writes nothing of the transaction, and the store
/// goes on.
#[test]
fn a_commit_the_database_refuses_writes_nothing() {
    let dir = TempDir::new("partial");
    add_failing_triggers(&dir);
    let store = open(&dir);
    insert_committed(&store, &record("v1", "kept"));

    let mut tx = store.begin().unwrap();
    tx.insert(&record("v1", "good")).unwrap();
    let mut changed = record("v1", "kept");
    changed.state = 5;
    tx.update(&changed).unwrap();
    let mut bad = record("v1", "bad");
    bad.names = vec!["fine".into(), "poison".into()];
    tx.insert(&bad).unwrap();
    assert!(tx.writes());
    assert!(matches!(tx.commit(), Err(StoreError::Database(_))));

    let mut tx = store.begin().unwrap();
    assert_eq!(
        uids(&tx.list("v1", &ObjectFilter::default()).unwrap()),
        ["kept"]
    );
    assert_eq!(tx.get("v1", "kept").unwrap(), Some(record("v1", "kept")));
    drop(tx);
    insert_committed(&store, &record("v1", "after"));
    let mut tx = store.begin().unwrap();
    assert_eq!(
        uids(&tx.list("v1", &ObjectFilter::default()).unwrap()),
        ["kept", "after"]
    );
}

/// A commit SQLite rolls back on its own (RAISE(ROLLBACK)) fails, writes nothing,
/// and leaves no transaction open on the writer connection.
#[test]
fn a_commit_the_database_rolls_back_leaves_the_store_usable() {
    let dir = TempDir::new("aborted");
    add_failing_triggers(&dir);
    let store = open(&dir);
    let mut tx = store.begin().unwrap();
    tx.insert(&record("v1", "before")).unwrap();
    let mut fatal = record("v1", "fatal");
    fatal.names = vec!["fatal".into()];
    tx.insert(&fatal).unwrap();
    tx.insert(&record("v1", "after")).unwrap();
    assert!(matches!(tx.commit(), Err(StoreError::Database(_))));

    let mut tx = store.begin().unwrap();
    assert!(tx.list("v1", &ObjectFilter::default()).unwrap().is_empty());
    drop(tx);
    insert_committed(&store, &record("v1", "next"));
    let mut tx = store.begin().unwrap();
    assert_eq!(
        uids(&tx.list("v1", &ObjectFilter::default()).unwrap()),
        ["next"]
    );
}

/// A transaction reads its own writes: by uid, and in lists (its version of an
/// object in place of the stored one, dropped when it no longer matches, its new
/// objects last), before anything is committed; another transaction sees none of
/// them until the commit.
#[test]
fn a_transaction_reads_its_own_writes() {
    let dir = TempDir::new("own-writes");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "x"));
    insert_committed(&store, &record("v1", "y"));
    let mut tx = store.begin().unwrap();
    assert!(!tx.writes());
    let mut x = tx.get("v1", "x").unwrap().unwrap();
    x.state = 3;
    x.names = vec!["renamed".into()];
    tx.update(&x).unwrap();
    let mut z = record("v1", "z");
    z.state = 3;
    tx.insert(&z).unwrap();
    assert!(tx.writes());
    assert_eq!(tx.get("v1", "x").unwrap(), Some(x.clone()));
    assert_eq!(tx.get("v1", "z").unwrap(), Some(z.clone()));
    assert_eq!(tx.get("v2", "z").unwrap(), None, "another vault's view");
    assert!(matches!(
        tx.insert(&record("v2", "z")),
        Err(StoreError::Duplicate(_))
    ));
    let list = |tx: &mut Box<dyn Txn + '_>, f: ObjectFilter| {
        uids(&tx.list("v1", &f).unwrap())
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&mut tx, ObjectFilter::default()), ["x", "y", "z"]);
    let active = ObjectFilter {
        state: Some(1),
        ..ObjectFilter::default()
    };
    assert_eq!(list(&mut tx, active), ["y"]);
    let three = ObjectFilter {
        state: Some(3),
        ..ObjectFilter::default()
    };
    assert_eq!(list(&mut tx, three.clone()), ["x", "z"]);
    let old_name = ObjectFilter {
        name: Some("name-x".into()),
        ..ObjectFilter::default()
    };
    assert!(list(&mut tx, old_name.clone()).is_empty());
    let new_name = ObjectFilter {
        name: Some("renamed".into()),
        ..ObjectFilter::default()
    };
    assert_eq!(list(&mut tx, new_name), ["x"]);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut other = store.begin().unwrap();
            assert_eq!(
                uids(&other.list("v1", &old_name).unwrap()),
                ["x"],
                "nothing is visible before the commit"
            );
            assert!(other.list("v1", &three).unwrap().is_empty());
        });
    });
    tx.commit().unwrap();
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "x").unwrap(), Some(x));
    assert_eq!(tx.get("v1", "z").unwrap(), Some(z));
}

#[test]
fn committed_data_survives_reopen() {
    let dir = TempDir::new("reopen");
    {
        let store = open(&dir);
        insert_committed(&store, &record("v1", "u1"));
        let mut tx = store.begin().unwrap();
        tx.insert(&record("v1", "uncommitted")).unwrap();
        // Store and transaction dropped without commit.
    }
    let store = open(&dir);
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "u1").unwrap(), Some(record("v1", "u1")));
    assert_eq!(tx.get("v1", "uncommitted").unwrap(), None);
    // Creation order continues after reopen.
    tx.insert(&record("v1", "a-later")).unwrap();
    assert_eq!(
        uids(&tx.list("v1", &ObjectFilter::default()).unwrap()),
        ["u1", "a-later"]
    );
}

#[test]
fn database_is_wal_with_recorded_schema_version() {
    let dir = TempDir::new("pragmas");
    let store = open(&dir);
    assert_eq!(store.path(), dir.db());
    drop(store);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn newer_schema_version_is_refused() {
    let dir = TempDir::new("newer");
    drop(open(&dir));
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    conn.execute(
        "UPDATE schema_version SET version = ?1",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&dir.db()).unwrap_err();
    assert!(
        matches!(err, StoreError::Database(ref m) if m.contains("newer")),
        "{err}"
    );
}

#[test]
fn not_a_database_is_a_database_error() {
    let dir = TempDir::new("garbage");
    std::fs::write(dir.db(), vec![0x5a; 8192]).unwrap();
    let err = SqliteStore::open(&dir.db()).unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err}");
}

#[test]
fn errors_do_not_carry_stored_values() {
    let dir = TempDir::new("errvalues");
    let store = open(&dir);
    let mut rec = record("v1", "u1");
    rec.key_ref = Some(b"SECRET-KEY-REF".to_vec());
    rec.attributes = b"SECRET-ATTRS".to_vec();
    insert_committed(&store, &rec);
    drop(store);
    // Corrupt a column's type behind the store's back, then read it.
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    conn.execute(
        "UPDATE objects SET state = 'SECRET-STATE', object_type = 99999999999",
        [],
    )
    .unwrap();
    drop(conn);
    let store = open(&dir);
    let mut tx = store.begin().unwrap();
    let err = tx.get("v1", "u1").unwrap_err().to_string();
    assert!(
        !err.contains("SECRET") && !err.contains("99999999999"),
        "{err}"
    );
}

#[test]
fn concurrent_transactions_neither_deadlock_nor_lose_writes() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 100;
    let dir = TempDir::new("concurrent");
    let store = Arc::new(open(&dir));
    insert_committed(&*store, &record("v1", "counter"));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store = Arc::clone(&store);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    let mut tx = store.begin().unwrap();
                    tx.insert(&record("v1", &format!("t{t}-{i}"))).unwrap();
                    // Read-modify-write of one shared row: lost updates would show in
                    // the final count.
                    let mut counter = tx.get("v1", "counter").unwrap().unwrap();
                    counter.state += 1;
                    tx.update(&counter).unwrap();
                    tx.commit().unwrap();
                }
            });
        }
    });
    let mut tx = store.begin().unwrap();
    let all = tx.list("v1", &ObjectFilter::default()).unwrap();
    assert_eq!(all.len(), THREADS * PER_THREAD + 1);
    let counter = tx.get("v1", "counter").unwrap().unwrap();
    assert_eq!(counter.state as usize, 1 + THREADS * PER_THREAD);
    // Each thread's rows are in its own insertion order.
    for t in 0..THREADS {
        let mine: Vec<_> = all
            .iter()
            .filter(|r| r.uid.starts_with(&format!("t{t}-")))
            .map(|r| r.uid.clone())
            .collect();
        let expected: Vec<_> = (0..PER_THREAD).map(|i| format!("t{t}-{i}")).collect();
        assert_eq!(mine, expected);
    }
}

#[test]
fn two_stores_on_one_file_share_data() {
    // Another process (the CLI) opening the same database: its writes wait on the
    // busy timeout instead of failing, and each sees the other's commits.
    let dir = TempDir::new("twostores");
    let a = open(&dir);
    let b = open(&dir);
    insert_committed(&a, &record("v1", "from-a"));
    insert_committed(&b, &record("v1", "from-b"));
    let mut tx = a.begin().unwrap();
    assert_eq!(
        uids(&tx.list("v1", &ObjectFilter::default()).unwrap()),
        ["from-a", "from-b"]
    );
}

#[test]
fn transactions_on_different_objects_do_not_wait_for_each_other() {
    let dir = TempDir::new("snapshots");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "x"));
    insert_committed(&store, &record("v1", "y"));
    // Open at once on one thread: with one lock for every transaction the second
    // `begin` would wait for ever.
    let mut a = store.begin().unwrap();
    let mut x = a.get("v1", "x").unwrap().unwrap();
    let mut b = store.begin().unwrap();
    let mut y = b.get("v1", "y").unwrap().unwrap();
    y.state = 7;
    b.update(&y).unwrap();
    b.commit().unwrap();
    // `a` read nothing `b` changed: it writes and commits.
    x.state = 8;
    a.update(&x).unwrap();
    a.commit().unwrap();
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "x").unwrap().unwrap().state, 8);
    assert_eq!(tx.get("v1", "y").unwrap().unwrap().state, 7);
}

#[test]
fn transactions_on_one_object_run_in_turn() {
    let dir = TempDir::new("same-object");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "x"));
    let mut a = store.begin().unwrap();
    let mut x = a.get("v1", "x").unwrap().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut b = store.begin().unwrap();
            tx.send(()).unwrap();
            // Waits for `a`, then reads what `a` committed.
            let seen = b.get("v1", "x").unwrap().unwrap();
            let mut next = seen.clone();
            next.state += 1;
            b.update(&next).unwrap();
            b.commit().unwrap();
            assert_eq!(seen.state, 8);
        });
        rx.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        x.state = 8;
        a.update(&x).unwrap();
        a.commit().unwrap();
    });
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "x").unwrap().unwrap().state, 9);
}

#[test]
fn read_then_write_without_interference_commits() {
    let dir = TempDir::new("upgrade");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "x"));
    insert_committed(&store, &record("v1", "other"));
    let mut a = store.begin().unwrap();
    let mut x = a.get("v1", "x").unwrap().unwrap();
    let listed = a.list("v1", &ObjectFilter::default()).unwrap();
    assert_eq!(uids(&listed), ["x", "other"]);
    // Another transaction changes an object `a` did not read by uid, but `a` listed
    // it: the list reads differently now, so `a` may not build on it.
    let mut w = store.begin().unwrap();
    let mut o = w.get("v1", "other").unwrap().unwrap();
    o.state = 3;
    w.update(&o).unwrap();
    w.commit().unwrap();
    x.state = 5;
    a.update(&x).unwrap();
    let e = a.commit().expect_err("the list changed since it was read");
    assert!(e.to_string().contains("conflict"), "{e}");
    assert_eq!(
        store
            .begin()
            .unwrap()
            .get("v1", "x")
            .unwrap()
            .unwrap()
            .state,
        1,
        "nothing of the conflicting transaction was written"
    );
    // Without interference the same read-modify-write commits.
    let mut a = store.begin().unwrap();
    let mut x = a.get("v1", "x").unwrap().unwrap();
    assert_eq!(a.list("v1", &ObjectFilter::default()).unwrap().len(), 2);
    x.state = 5;
    a.update(&x).unwrap();
    a.insert(&record("v1", "z")).unwrap();
    assert_eq!(a.get("v1", "z").unwrap(), Some(record("v1", "z")));
    a.commit().unwrap();
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get("v1", "x").unwrap().unwrap().state, 5);
    assert!(tx.get("v1", "z").unwrap().is_some());
}

#[test]
fn readers_of_one_object_run_side_by_side_and_a_second_upgrade_conflicts() {
    let dir = TempDir::new("shared-read");
    let store = open(&dir);
    insert_committed(&store, &record("v1", "k"));
    // Two transactions read the key at once: the second does not wait for the first
    // (a `get` would: transactions_on_one_object_run_in_turn).
    let mut a = store.begin().unwrap();
    let mut seen = a.read("v1", "k").unwrap().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut b = store.begin().unwrap();
            let r = b.read("v1", "k").unwrap().unwrap();
            tx.send(r.state).unwrap();
            b.commit().unwrap();
        });
        let state = rx
            .recv_timeout(std::time::Duration::from_secs(2))
            .expect("a second reader is not blocked by the first");
        assert_eq!(state, seen.state);
    });
    // A reader that writes waits for the other readers; when two readers both come to
    // write, the second is refused at once and writes nothing.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut c = store.begin().unwrap();
            let mut other = c.read("v1", "k").unwrap().unwrap();
            tx.send(()).unwrap();
            // Waits until `a`, the other reader, is gone.
            other.state = 11;
            c.update(&other).unwrap();
            c.commit().unwrap();
        });
        rx.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        seen.state = 12;
        let e = a.update(&seen).expect_err("the second writer conflicts");
        assert!(e.to_string().contains("conflict"), "{e}");
        drop(a);
        writer.join().unwrap();
    });
    let mut t = store.begin().unwrap();
    assert_eq!(t.get("v1", "k").unwrap().unwrap().state, 11);
}
