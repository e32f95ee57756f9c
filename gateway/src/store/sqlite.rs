//! SQLite store (DESIGN.md "Stores"): the embedded default.
//!
//! **Durability.** The database runs in WAL mode. A transaction whose [`Txn::commit`]
//! returned `Ok` survives a crash or power loss: its frames in the write-ahead log
//! were fsynced before `commit` returned. The writer connection runs with
//! `synchronous = NORMAL` (SQLite writes the frames at `COMMIT` without syncing; it
//! still syncs the log before each checkpoint and the database after it), and
//! `commit` syncs the log itself, after releasing the writer lock, with group commit:
//! the first committer that finds no sync under way fdatasyncs the log for every
//! commit made so far, and those that committed meanwhile wait for that sync or the
//! next instead of each paying for their own. The log is opened by name for each
//! sync, so it is always the file SQLite writes.
//!
//! **Concurrency.** One writer connection behind a mutex, and a pool of reader
//! connections. A [`Txn`] reads from a snapshot (`BEGIN`, deferred) on a reader
//! connection and keeps its writes to itself until [`Txn::commit`]: it reads its own
//! writes (by uid, and in lists: its version of an object in place of the stored
//! one, its new objects last), nobody else sees them, and nothing reaches the
//! database before the commit. So transactions that only read (Get, Encrypt, Sign,
//! Locate, ... — and the backend work the request path does inside its transaction)
//! run side by side, and so do the writers until their commits: the request path
//! appends its audit records between the writes and the commit without holding the
//! writer. At commit a transaction takes the writer mutex and a `BEGIN IMMEDIATE`
//! transaction on the writer connection, re-reads there everything it had read from
//! snapshots — if any of it changed, it is a conflict: an error, nothing written —
//! makes its writes and commits; the writer is held only that long.
//!
//! Besides, a transaction locks each object it touches by uid until it ends (after
//! its commit is durable): shared to read it, exclusive to insert or update it.
//! Transactions that only read one object (concurrent Sign or Encrypt with one key)
//! run side by side; a writer of an object waits for its readers and they for it.
//! Each new lock renews a snapshot that has been read from, so an object is read
//! after the last change its lock waited for. A reader that comes to write the
//! object waits until it is the only reader; when two readers of one object both
//! come to write it, the second is refused at once (each would wait for the other):
//! a conflict. Transactions on different objects do not wait for each other. What
//! the commit's re-reading can still find changed is what was read without a lock:
//! a Locate's list. An object lock is waited for up to the busy timeout. The
//! `busy_timeout` also covers another process (the CLI) holding the write lock.
//!
//! **Erasure.** `secure_delete` is on, so the bytes of a cleared `key_ref` (a sealed
//! blob) are zeroed rather than left in free space: in the main file at the next
//! checkpoint, in older WAL frames when the log is reused. Filesystem and disk
//! remnants are beyond SQLite's reach; rotating the master key is the full answer.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{
    params, params_from_iter, Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior,
};

use super::{ObjectFilter, ObjectRecord, Store, StoreError, Txn};

/// The schema version this build writes and reads. Stored in `schema_version`; a
/// database with a newer version is refused rather than misread.
pub const SCHEMA_VERSION: i64 = 1;

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections kept open between transactions (more are opened when more
/// transactions run at once, and closed again when they end).
const MAX_IDLE_READERS: usize = 16;

/// The `Store` over one SQLite database file.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Commits made on the writer connection (numbered under the writer lock).
    commits: AtomicU64,
    /// Group commit of the write-ahead log.
    sync: Mutex<SyncState>,
    synced: Condvar,
    /// Object locks of running transactions, by uid.
    objects: Mutex<HashMap<String, ObjectLock>>,
    /// Signalled when a transaction releases its objects.
    released: Condvar,
}

/// One object's lock: shared by transactions that only read it, exclusive for the
/// one that writes it.
#[derive(Debug, Default)]
struct ObjectLock {
    /// Transactions holding it shared.
    readers: usize,
    /// A transaction holds it exclusive.
    writer: bool,
    /// A reader is waiting to become its writer: new readers wait, and a second
    /// reader asking the same is refused (the two would wait for each other).
    upgrading: bool,
}

/// How a transaction holds an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Read only.
    Shared,
    /// Written.
    Exclusive,
}

/// How far the write-ahead log is known durable.
#[derive(Default)]
struct SyncState {
    /// Every commit numbered up to this one is durable.
    durable: u64,
    /// A committer is syncing the log (outside the lock).
    syncing: bool,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file and the schema if missing.
    ///
    /// Sets WAL mode, `synchronous = NORMAL` plus the store's own log sync at commit
    /// (module documentation, "Durability"), foreign keys, `secure_delete` and a busy
    /// timeout; refuses a database whose schema version is newer than
    /// [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path).map_err(db_err("open"))?;
        configure(&conn)?;
        // The log syncs itself only before checkpoints; `commit` syncs it (below).
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err("set synchronous"))?;
        init_schema(&mut conn)?;
        // The log file exists now (WAL mode): make its directory entry durable, as the
        // per-commit syncs cover only its contents.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StoreError::Database(format!("sync database directory: {e}")))?;
        }
        Ok(Self {
            path: path.to_owned(),
            conn: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            commits: AtomicU64::new(0),
            sync: Mutex::new(SyncState::default()),
            synced: Condvar::new(),
            objects: Mutex::new(HashMap::new()),
            released: Condvar::new(),
        })
    }

    /// Waits until commit number `commit` is durable: syncs the write-ahead log
    /// unless another committer's sync covers it (group commit).
    fn make_durable(&self, commit: u64) -> Result<(), StoreError> {
        let mut state = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.durable >= commit {
                return Ok(());
            }
            if state.syncing {
                state = self
                    .synced
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.syncing = true;
            // Every commit numbered so far is in the log file: one sync covers them.
            let target = self.commits.load(Ordering::Acquire);
            drop(state);
            let result = self.sync_log();
            state = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
            state.syncing = false;
            if result.is_ok() {
                state.durable = state.durable.max(target);
            }
            self.synced.notify_all();
            // On failure the waiters try again themselves, and fail alike if it lasts.
            result?;
        }
    }

    /// fdatasync of the write-ahead log, opened by name.
    fn sync_log(&self) -> Result<(), StoreError> {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        std::fs::File::open(&wal)
            .and_then(|f| f.sync_data())
            .map_err(|e| StoreError::Database(format!("sync write-ahead log: {e}")))
    }

    /// A reader connection from the pool, or a new one.
    fn reader(&self) -> Result<Connection, StoreError> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => {
                let conn = Connection::open(&self.path).map_err(db_err("open reader"))?;
                configure(&conn)?;
                Ok(conn)
            }
        }
    }

    /// Returns a reader connection to the pool (closed if the pool is full or the
    /// connection is still inside a transaction it could not end).
    fn put_reader(&self, conn: Connection) {
        if !conn.is_autocommit() {
            return;
        }
        let mut pool = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, waiting for any running transaction to finish.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A poisoned mutex means a thread panicked while it held a `Txn`; that `Txn`'s
        // Drop has rolled back during unwinding, and `begin` re-checks, so the
        // connection is usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn begin(&self) -> Result<Box<dyn Txn + '_>, StoreError> {
        let conn = self.reader()?;
        if let Err(e) = conn.execute_batch("BEGIN") {
            return Err(db_err("begin")(e));
        }
        Ok(Box::new(SqliteTxn {
            store: self,
            snapshot: Some(conn),
            snapshot_taken: false,
            reads: Vec::new(),
            writes: Vec::new(),
            refuse_writes: false,
            refused: false,
            locked: Vec::new(),
        }))
    }
}

/// A read made from a snapshot, with its answer.
enum ReadLog {
    Get {
        vault: String,
        uid: String,
        found: Option<ObjectRecord>,
    },
    List {
        vault: String,
        filter: ObjectFilter,
        found: Vec<ObjectRecord>,
    },
}

impl ReadLog {
    /// Whether `conn` answers the same now.
    fn holds_on(&self, conn: &Connection) -> Result<bool, StoreError> {
        Ok(match self {
            ReadLog::Get { vault, uid, found } => get_on(conn, vault, uid)? == *found,
            ReadLog::List {
                vault,
                filter,
                found,
            } => list_on(conn, vault, filter)? == *found,
        })
    }
}

/// A write a transaction will make at its commit.
enum Write {
    Insert(ObjectRecord),
    Update(ObjectRecord),
}

impl Write {
    fn record(&self) -> &ObjectRecord {
        match self {
            Write::Insert(rec) | Write::Update(rec) => rec,
        }
    }
}

/// A transaction: a read snapshot, and writes kept until its commit
/// (module documentation, "Concurrency").
struct SqliteTxn<'a> {
    store: &'a SqliteStore,
    /// The snapshot's reader connection; `None` once the transaction has ended.
    snapshot: Option<Connection>,
    /// Whether the snapshot has been read from (so it is fixed).
    snapshot_taken: bool,
    /// What was read from the snapshot, re-checked at commit (not kept once writes
    /// are refused: such a transaction never commits a write).
    reads: Vec<ReadLog>,
    /// The writes, in order.
    writes: Vec<Write>,
    /// Writes are refused ([`Txn::refuse_writes`]), and whether one was.
    refuse_writes: bool,
    refused: bool,
    /// Objects this transaction locked, and how (released when it ends).
    locked: Vec<(String, Hold)>,
}

impl Txn for SqliteTxn<'_> {
    /// Refuses a uid this transaction has already written at once; a uid the
    /// database already has fails the commit with [`StoreError::Duplicate`] (the
    /// request path's uids are random UUIDs; not reading the database here spares
    /// every create a snapshot).
    fn insert(&mut self, rec: &ObjectRecord) -> Result<(), StoreError> {
        self.check_usable()?;
        self.check_writable()?;
        self.lock_object(&rec.uid, Hold::Exclusive)?;
        if self.pending(&rec.uid).is_some() {
            return Err(StoreError::Duplicate(rec.uid.clone()));
        }
        self.writes.push(Write::Insert(rec.clone()));
        Ok(())
    }

    fn get(&mut self, vault: &str, uid: &str) -> Result<Option<ObjectRecord>, StoreError> {
        self.get_locked(vault, uid, Hold::Exclusive)
    }

    fn read(&mut self, vault: &str, uid: &str) -> Result<Option<ObjectRecord>, StoreError> {
        self.get_locked(vault, uid, Hold::Shared)
    }

    /// Replaces the attributes, object, state, key reference, names and groups of the
    /// object (`rec.vault`, `rec.uid`). The uid, vault, object type, backend and
    /// creation time are fixed at insert and not changed.
    fn update(&mut self, rec: &ObjectRecord) -> Result<(), StoreError> {
        self.check_usable()?;
        self.check_writable()?;
        self.lock_object(&rec.uid, Hold::Exclusive)?;
        let exists = match self.pending(&rec.uid) {
            Some(p) => p.vault == rec.vault,
            None => object_exists(self.conn()?, &rec.vault, &rec.uid)?,
        };
        if !exists {
            return Err(StoreError::NotFound(rec.uid.clone()));
        }
        self.writes.push(Write::Update(rec.clone()));
        Ok(())
    }

    fn list(
        &mut self,
        vault: &str,
        filter: &ObjectFilter,
    ) -> Result<Vec<ObjectRecord>, StoreError> {
        self.check_usable()?;
        // An object this transaction changed may match now where the stored one
        // does not: then ask for every object of the type (which an update never
        // changes) and filter here, so that it shows in its place.
        let query = if self.writes.iter().any(|w| matches!(w, Write::Update(_))) {
            ObjectFilter {
                object_type: filter.object_type,
                ..ObjectFilter::default()
            }
        } else {
            filter.clone()
        };
        let found = list_on(self.conn()?, vault, &query)?;
        let own = (!self.writes.is_empty()).then(|| self.overlay(vault, filter, &found));
        if self.refuse_writes {
            // It will never commit: nothing to re-check, nothing to log.
            return Ok(own.unwrap_or(found));
        }
        let seen = own.unwrap_or_else(|| found.clone());
        self.reads.push(ReadLog::List {
            vault: vault.to_owned(),
            filter: query,
            found,
        });
        Ok(seen)
    }

    fn writes(&self) -> bool {
        !self.writes.is_empty() || self.refused
    }

    fn refuse_writes(&mut self) {
        self.refuse_writes = true;
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.check_usable()?;
        // The snapshot has served its reads; give its connection back first.
        self.end();
        if self.writes.is_empty() {
            return Ok(());
        }
        let store = self.store;
        let writer = store.lock();
        let commit = self.apply(&writer).inspect_err(|_| {
            if !writer.is_autocommit() {
                if let Err(e) = writer.execute_batch("ROLLBACK") {
                    // The next writer sees the open transaction and rolls it back.
                    tracing::error!(error = %describe(&e), "sqlite store: rollback failed");
                }
            }
        })?;
        drop(writer);
        // Object locks are released (on drop) only once the commit is durable, so
        // nobody reads a change before it is.
        store.make_durable(commit)
    }
}

impl SqliteTxn<'_> {
    /// On the writer connection: `BEGIN IMMEDIATE`, checks that everything read
    /// from the snapshot still reads the same (else a conflict, nothing written),
    /// makes the writes and commits without syncing. Returns the commit's number.
    fn apply(&self, writer: &Connection) -> Result<u64, StoreError> {
        if !writer.is_autocommit() {
            // Only reachable if an earlier rollback failed; never build on its leftovers.
            tracing::warn!(
                "sqlite store: transaction left open by an earlier failure; rolling back"
            );
            writer
                .execute_batch("ROLLBACK")
                .map_err(db_err("rollback leftover transaction"))?;
        }
        writer
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(db_err("begin"))?;
        for read in &self.reads {
            if !read.holds_on(writer)? {
                return Err(StoreError::Conflict(
                    "another transaction changed an object this one had read; \
                     nothing was written"
                        .into(),
                ));
            }
        }
        for write in &self.writes {
            match write {
                Write::Insert(rec) => insert_object(writer, rec)?,
                Write::Update(rec) => update_object(writer, rec)?,
            }
        }
        writer.execute_batch("COMMIT").map_err(db_err("commit"))?;
        // Numbered under the writer lock, so numbers follow the order of the commits.
        Ok(self.store.commits.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// Refuses a write after [`Txn::refuse_writes`], remembering that one was asked.
    fn check_writable(&mut self) -> Result<(), StoreError> {
        if self.refuse_writes {
            self.refused = true;
            return Err(StoreError::ReadOnly);
        }
        Ok(())
    }

    /// The newest state this transaction wrote for `uid`, if it wrote one.
    fn pending(&self, uid: &str) -> Option<&ObjectRecord> {
        self.writes
            .iter()
            .rev()
            .map(Write::record)
            .find(|r| r.uid == uid)
    }

    /// `found` (a snapshot's list, of `filter` or wider) as this transaction sees
    /// it under `filter`: its own writes in place of what they replace, its inserts
    /// at the end (they are the newest).
    fn overlay(
        &self,
        vault: &str,
        filter: &ObjectFilter,
        found: &[ObjectRecord],
    ) -> Vec<ObjectRecord> {
        let mut seen: Vec<ObjectRecord> = found
            .iter()
            .filter_map(|rec| {
                let now = self.pending(&rec.uid).unwrap_or(rec);
                matches_filter(now, vault, filter).then(|| now.clone())
            })
            .collect();
        for write in &self.writes {
            let Write::Insert(rec) = write else { continue };
            let Some(own) = self.pending(&rec.uid) else {
                continue;
            };
            if matches_filter(own, vault, filter) && !seen.iter().any(|s| s.uid == own.uid) {
                seen.push(own.clone());
            }
        }
        seen
    }

    /// [`Txn::get`] and [`Txn::read`]: the object, locked `how`.
    fn get_locked(
        &mut self,
        vault: &str,
        uid: &str,
        how: Hold,
    ) -> Result<Option<ObjectRecord>, StoreError> {
        self.check_usable()?;
        self.lock_object(uid, how)?;
        if let Some(own) = self.pending(uid) {
            return Ok((own.vault == vault).then(|| own.clone()));
        }
        let found = get_on(self.conn()?, vault, uid)?;
        if !self.refuse_writes {
            self.reads.push(ReadLog::Get {
                vault: vault.to_owned(),
                uid: uid.to_owned(),
                found: found.clone(),
            });
        }
        Ok(found)
    }

    /// Locks object `uid` for the rest of the transaction, shared to read it and
    /// exclusive to write it, waiting up to the busy timeout for transactions that
    /// hold it the other way. Readers of one object run side by side (concurrent
    /// Sign or Encrypt with one key); a writer waits for them, and they for it. A
    /// reader that comes to write waits until it is the object's only reader; if
    /// another reader of the object is already waiting so, this one is refused at
    /// once (a conflict, nothing written), since each would wait for the other.
    fn lock_object(&mut self, uid: &str, want: Hold) -> Result<(), StoreError> {
        let have = self.locked.iter().find(|(u, _)| u == uid).map(|(_, h)| *h);
        if have == Some(Hold::Exclusive) || have == Some(want) {
            return Ok(());
        }
        let upgrade = have == Some(Hold::Shared);
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let mut held = self
            .store
            .objects
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if upgrade {
            let l = held.entry(uid.to_owned()).or_default();
            if l.upgrading {
                return Err(StoreError::Conflict(
                    "another transaction that read this object is writing it".into(),
                ));
            }
            l.upgrading = true;
        }
        loop {
            let l = held.entry(uid.to_owned()).or_default();
            let free = match (want, upgrade) {
                (Hold::Shared, _) => !l.writer && !l.upgrading,
                (Hold::Exclusive, true) => l.readers == 1 && !l.writer,
                (Hold::Exclusive, false) => l.readers == 0 && !l.writer && !l.upgrading,
            };
            if free {
                match want {
                    Hold::Shared => l.readers += 1,
                    Hold::Exclusive => {
                        if upgrade {
                            l.readers -= 1;
                            l.upgrading = false;
                        }
                        l.writer = true;
                    }
                }
                break;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                if upgrade {
                    l.upgrading = false;
                    drop(held);
                    self.store.released.notify_all();
                }
                return Err(StoreError::Database(
                    "object busy: another transaction held it past the busy timeout".into(),
                ));
            }
            held = self
                .store
                .released
                .wait_timeout(held, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(held);
        match self.locked.iter_mut().find(|(u, _)| u == uid) {
            Some(entry) => entry.1 = want,
            None => {
                self.locked.push((uid.to_owned(), want));
                // A snapshot older than the lock may predate the last change to
                // the object: read it from a new one.
                self.fresh_snapshot()?;
            }
        }
        Ok(())
    }

    /// Ends the snapshot and begins a new one, if it has been read from (a
    /// deferred `BEGIN` takes its snapshot at the first read). The reads made so
    /// far stay in the log and are checked at commit as always.
    fn fresh_snapshot(&mut self) -> Result<(), StoreError> {
        if !self.snapshot_taken {
            return Ok(());
        }
        self.snapshot_taken = false;
        self.snapshot
            .as_ref()
            .ok_or_else(|| StoreError::Database("internal: the transaction has ended".into()))?
            .execute_batch("ROLLBACK; BEGIN")
            .map_err(db_err("renew snapshot"))
    }

    /// The snapshot's connection, for a read.
    fn conn(&mut self) -> Result<&Connection, StoreError> {
        self.snapshot_taken = true;
        self.snapshot
            .as_ref()
            .ok_or_else(|| StoreError::Database("internal: the transaction has ended".into()))
    }

    /// Fails if the snapshot can no longer be trusted: SQLite ended it on its own
    /// after an error (I/O), so reads would no longer come from one snapshot.
    fn check_usable(&self) -> Result<(), StoreError> {
        let conn = self
            .snapshot
            .as_ref()
            .ok_or_else(|| StoreError::Database("internal: the transaction has ended".into()))?;
        if conn.is_autocommit() {
            return Err(StoreError::Database(
                "transaction aborted: the database ended it after an error".into(),
            ));
        }
        Ok(())
    }
}

/// Whether `rec` is what [`list_on`] answers for `vault` and `filter`.
fn matches_filter(rec: &ObjectRecord, vault: &str, filter: &ObjectFilter) -> bool {
    rec.vault == vault
        && filter.object_type.is_none_or(|t| t == rec.object_type)
        && filter.state.is_none_or(|s| s == rec.state)
        && filter.name.as_ref().is_none_or(|n| rec.names.contains(n))
        && filter
            .object_group
            .as_ref()
            .is_none_or(|g| rec.object_groups.contains(g))
}

fn insert_object(conn: &Connection, rec: &ObjectRecord) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO objects (uid, vault, object_type, state, attributes, object, backend,
                                  key_ref, created_at, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                     (SELECT IFNULL(MAX(seq), 0) + 1 FROM objects))",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                rec.uid,
                rec.vault,
                rec.object_type,
                rec.state,
                rec.attributes,
                rec.object,
                rec.backend,
                rec.key_ref,
                rec.created_at,
            ])
        });
    match inserted {
        Ok(_) => {}
        // SQLite reports the uid's primary key as a UNIQUE or PRIMARYKEY violation
        // depending on the table layout; asking is exact either way, and the
        // IMMEDIATE transaction keeps the answer stable.
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == ErrorCode::ConstraintViolation && uid_exists(conn, &rec.uid)? =>
        {
            return Err(StoreError::Duplicate(rec.uid.clone()));
        }
        Err(e) => return Err(db_err("insert object")(e)),
    }
    write_values(conn, Table::Names, rec)?;
    write_values(conn, Table::Groups, rec)
}

fn update_object(conn: &Connection, rec: &ObjectRecord) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE objects SET state = ?3, attributes = ?4, object = ?5, key_ref = ?6
             WHERE vault = ?1 AND uid = ?2",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                rec.vault,
                rec.uid,
                rec.state,
                rec.attributes,
                rec.object,
                rec.key_ref
            ])
        })
        .map_err(db_err("update object"))?;
    if changed == 0 {
        return Err(StoreError::NotFound(rec.uid.clone()));
    }
    for table in [Table::Names, Table::Groups] {
        conn.prepare_cached(table.delete_sql())
            .and_then(|mut stmt| stmt.execute(params![rec.uid]))
            .map_err(db_err(table.context()))?;
        write_values(conn, table, rec)?;
    }
    Ok(())
}

/// Whether any vault has an object `uid`.
fn uid_exists(conn: &Connection, uid: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM objects WHERE uid = ?1")
        .and_then(|mut stmt| stmt.exists(params![uid]))
        .map_err(db_err("check object uid"))
}

/// Whether `vault` has an object `uid`.
fn object_exists(conn: &Connection, vault: &str, uid: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM objects WHERE vault = ?1 AND uid = ?2")
        .and_then(|mut stmt| stmt.exists(params![vault, uid]))
        .map_err(db_err("check object"))
}

/// Inserts `rec`'s names or groups, keeping their order.
fn write_values(conn: &Connection, table: Table, rec: &ObjectRecord) -> Result<(), StoreError> {
    let values = match table {
        Table::Names => &rec.names,
        Table::Groups => &rec.object_groups,
    };
    if values.is_empty() {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached(table.insert_sql())
        .map_err(db_err(table.context()))?;
    for (pos, value) in values.iter().enumerate() {
        let pos = i64::try_from(pos)
            .map_err(|_| StoreError::Database(format!("{}: too many values", table.context())))?;
        stmt.execute(params![rec.uid, rec.vault, pos, value])
            .map_err(db_err(table.context()))?;
    }
    Ok(())
}

/// The object `uid` of `vault`, with its names and groups.
fn get_on(conn: &Connection, vault: &str, uid: &str) -> Result<Option<ObjectRecord>, StoreError> {
    let rec = conn
        .prepare_cached(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE vault = ?1 AND uid = ?2"
        ))
        .and_then(|mut stmt| stmt.query_row(params![vault, uid], read_object).optional())
        .map_err(db_err("get object"))?;
    match rec {
        Some(mut rec) => {
            read_values(conn, &mut rec)?;
            Ok(Some(rec))
        }
        None => Ok(None),
    }
}

/// The objects of `vault` matching `filter`, in creation order.
fn list_on(
    conn: &Connection,
    vault: &str,
    filter: &ObjectFilter,
) -> Result<Vec<ObjectRecord>, StoreError> {
    let mut sql = format!("SELECT {OBJECT_COLUMNS} FROM objects o WHERE o.vault = ?");
    let mut args = vec![Value::Text(vault.to_owned())];
    if let Some(object_type) = filter.object_type {
        sql.push_str(" AND o.object_type = ?");
        args.push(Value::Integer(object_type.into()));
    }
    if let Some(state) = filter.state {
        sql.push_str(" AND o.state = ?");
        args.push(Value::Integer(state.into()));
    }
    if let Some(name) = &filter.name {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM object_names n
                          WHERE n.vault = o.vault AND n.value = ? AND n.uid = o.uid)",
        );
        args.push(Value::Text(name.clone()));
    }
    if let Some(group) = &filter.object_group {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM object_groups g
                          WHERE g.vault = o.vault AND g.value = ? AND g.uid = o.uid)",
        );
        args.push(Value::Text(group.clone()));
    }
    sql.push_str(" ORDER BY o.seq");

    let mut recs = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(args), read_object)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err("list objects"))?;
    for rec in &mut recs {
        read_values(conn, rec)?;
    }
    Ok(recs)
}

/// Fills `rec.names` and `rec.object_groups` from their tables.
fn read_values(conn: &Connection, rec: &mut ObjectRecord) -> Result<(), StoreError> {
    for table in [Table::Names, Table::Groups] {
        let values = conn
            .prepare_cached(table.select_sql())
            .and_then(|mut stmt| {
                stmt.query_map(params![rec.uid], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(db_err(table.context()))?;
        match table {
            Table::Names => rec.names = values,
            Table::Groups => rec.object_groups = values,
        }
    }
    Ok(())
}

impl Drop for SqliteTxn<'_> {
    fn drop(&mut self) {
        self.end();
        if !self.locked.is_empty() {
            let mut held = self
                .store
                .objects
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for (uid, how) in self.locked.drain(..) {
                if let Some(l) = held.get_mut(&uid) {
                    match how {
                        Hold::Shared => l.readers = l.readers.saturating_sub(1),
                        Hold::Exclusive => l.writer = false,
                    }
                    if l.readers == 0 && !l.writer && !l.upgrading {
                        held.remove(&uid);
                    }
                }
            }
            drop(held);
            self.store.released.notify_all();
        }
    }
}

impl SqliteTxn<'_> {
    /// Ends the snapshot if it is still open and gives its connection back to the
    /// pool. Writes not yet applied are simply dropped: nothing of them reached
    /// the database.
    fn end(&mut self) {
        let Some(conn) = self.snapshot.take() else {
            return;
        };
        if !conn.is_autocommit() {
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %describe(&e), "sqlite store: ending a snapshot failed");
            }
        }
        self.store.put_reader(conn);
    }
}

/// The two value tables indexed for Locate.
#[derive(Clone, Copy)]
enum Table {
    Names,
    Groups,
}

impl Table {
    fn insert_sql(self) -> &'static str {
        match self {
            Table::Names => {
                "INSERT INTO object_names (uid, vault, pos, value) VALUES (?1, ?2, ?3, ?4)"
            }
            Table::Groups => {
                "INSERT INTO object_groups (uid, vault, pos, value) VALUES (?1, ?2, ?3, ?4)"
            }
        }
    }

    fn delete_sql(self) -> &'static str {
        match self {
            Table::Names => "DELETE FROM object_names WHERE uid = ?1",
            Table::Groups => "DELETE FROM object_groups WHERE uid = ?1",
        }
    }

    fn select_sql(self) -> &'static str {
        match self {
            Table::Names => "SELECT value FROM object_names WHERE uid = ?1 ORDER BY pos",
            Table::Groups => "SELECT value FROM object_groups WHERE uid = ?1 ORDER BY pos",
        }
    }

    fn context(self) -> &'static str {
        match self {
            Table::Names => "object names",
            Table::Groups => "object groups",
        }
    }
}

/// Columns read by [`read_object`], in its order.
const OBJECT_COLUMNS: &str =
    "uid, vault, object_type, state, attributes, object, backend, key_ref, created_at";

/// An object row without its names and groups.
fn read_object(row: &Row<'_>) -> rusqlite::Result<ObjectRecord> {
    Ok(ObjectRecord {
        uid: row.get(0)?,
        vault: row.get(1)?,
        object_type: row.get(2)?,
        state: row.get(3)?,
        attributes: row.get(4)?,
        object: row.get(5)?,
        names: Vec::new(),
        object_groups: Vec::new(),
        backend: row.get(6)?,
        key_ref: row.get(7)?,
        created_at: row.get(8)?,
    })
}

/// Connection settings; none of them is persistent except the journal mode.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    // First, so that switching the journal mode waits for another process's lock.
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(db_err("set busy timeout"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(db_err("set journal mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database(format!(
            "set journal mode: the database stays in {mode} mode, WAL is required"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_err("set synchronous"))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(db_err("enable foreign keys"))?;
    conn.pragma_update(None, "secure_delete", true)
        .map_err(db_err("enable secure delete"))?;
    let foreign_keys: bool = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .map_err(db_err("enable foreign keys"))?;
    if !foreign_keys {
        return Err(StoreError::Database(
            "enable foreign keys: not supported by this SQLite".into(),
        ));
    }
    Ok(())
}

/// Version 1 of the schema.
///
/// `seq` records creation order (Locate answers oldest first). Names and groups keep
/// the vault beside the uid so Locate's pre-filter is one index probe on
/// (vault, value); the composite foreign key keeps that copy equal to the object's.
const SCHEMA_V1: &str = "
CREATE TABLE objects (
    uid         TEXT    NOT NULL PRIMARY KEY,
    vault       TEXT    NOT NULL,
    object_type INTEGER NOT NULL,
    state       INTEGER NOT NULL,
    attributes  BLOB    NOT NULL,
    object      BLOB    NOT NULL,
    backend     TEXT    NOT NULL,
    key_ref     BLOB,
    created_at  INTEGER NOT NULL,
    seq         INTEGER NOT NULL UNIQUE,
    UNIQUE (uid, vault)
);
CREATE INDEX objects_vault_type_state ON objects (vault, object_type, state);

CREATE TABLE object_names (
    uid   TEXT    NOT NULL,
    vault TEXT    NOT NULL,
    pos   INTEGER NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (uid, pos),
    FOREIGN KEY (uid, vault) REFERENCES objects (uid, vault) ON DELETE CASCADE
);
CREATE INDEX object_names_vault_value ON object_names (vault, value);

CREATE TABLE object_groups (
    uid   TEXT    NOT NULL,
    vault TEXT    NOT NULL,
    pos   INTEGER NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (uid, pos),
    FOREIGN KEY (uid, vault) REFERENCES objects (uid, vault) ON DELETE CASCADE
);
CREATE INDEX object_groups_vault_value ON object_groups (vault, value);
";

/// Creates the schema in a new database and checks the version of an existing one.
/// Migrations from older versions go here when there is a version 2.
fn init_schema(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("begin schema setup"))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
             version INTEGER NOT NULL
         )",
    )
    .map_err(db_err("create schema_version"))?;
    let version: Option<i64> = tx
        .query_row(
            "SELECT version FROM schema_version WHERE id = 1",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_err("read schema version"))?;
    match version {
        None => {
            tx.execute_batch(SCHEMA_V1)
                .map_err(db_err("create schema"))?;
            tx.execute(
                "INSERT INTO schema_version (id, version) VALUES (1, ?1)",
                [SCHEMA_VERSION],
            )
            .map_err(db_err("record schema version"))?;
        }
        Some(SCHEMA_VERSION) => {}
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::Database(format!(
                "database schema version {v} is newer than this build supports ({SCHEMA_VERSION}); \
                 upgrade keygate"
            )));
        }
        Some(v) => {
            return Err(StoreError::Database(format!(
                "database schema version {v} is not supported"
            )));
        }
    }
    tx.commit().map_err(db_err("commit schema setup"))
}

/// Maps a rusqlite error to `StoreError::Database`, naming what was being done.
fn db_err(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::Database(format!("{context}: {}", describe(&e)))
}

/// A description of `e` that never contains a stored or bound value.
///
/// SQLite's own messages name schema objects, not data; rusqlite's conversion errors
/// can carry values (an out-of-range integer, a conversion error's text), so those
/// are reduced to the column index.
fn describe(e: &rusqlite::Error) -> String {
    use rusqlite::Error as E;
    match e {
        E::SqliteFailure(err, Some(msg)) => format!("{msg} ({err})"),
        E::SqliteFailure(err, None) => err.to_string(),
        E::FromSqlConversionFailure(col, ty, _) => format!("column {col}: cannot convert {ty}"),
        E::IntegralValueOutOfRange(col, _) => format!("column {col}: integer out of range"),
        E::InvalidColumnType(col, name, ty) => {
            format!("column {col} ({name}): unexpected type {ty}")
        }
        E::Utf8Error(_) => "text is not valid UTF-8".to_owned(),
        E::QueryReturnedNoRows => "query returned no rows".to_owned(),
        E::QueryReturnedMoreThanOneRow => "query returned more than one row".to_owned(),
        _ => "unexpected rusqlite error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_connections_are_reused() {
        let dir = std::env::temp_dir().join(format!("keygate-sqlite-pool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("kg.db")).unwrap();
        for _ in 0..3 {
            let mut tx = store.begin().unwrap();
            assert_eq!(tx.get("v", "none").unwrap(), None);
            tx.commit().unwrap();
            // Back in the pool after a commit...
            assert_eq!(store.readers.lock().unwrap().len(), 1);
            drop(store.begin().unwrap());
            // ... and after a rollback.
            assert_eq!(store.readers.lock().unwrap().len(), 1);
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
