//! The audit log: append-only, one JSON line per KMIP batch item, each line chained
//! to the previous one by HMAC-SHA-256 (DESIGN.md "Security and operations").
//!
//! A line looks like
//!
//! ```text
//! {"seq":1,"time":"2026-11-28T22:40:00.123Z","identity":"app","vault":"default","operation":"Create","uids":["…"],"status":"Success","reason":null,"prev":"00…00","mac":"9f…"}
//! ```
//!
//! `mac` is HMAC-SHA-256 under the audit key of the line's canonical bytes without
//! the `mac` member (`{"seq":…,"prev":"…"}`, exactly as written), and `prev` is the
//! previous line's `mac` (64 zeros on the first line). Sequence numbers start at 1
//! and equal the line number. So an edit, insertion, deletion or reordering of any
//! line breaks a MAC, the `prev` chain or the sequence, and [`verify`] names the
//! first line where it does. Lines must be in the one canonical form this module
//! writes (compact JSON, fields in this order, lowercase hex), so even a change that
//! keeps the JSON's meaning (an escaped character, an upper-case hex digit) is found.
//!
//! What the chain cannot show on its own is the loss of the newest lines at a line
//! boundary; [`AuditLog::head`] gives the chain head for keeping elsewhere (the store
//! keeps it, DESIGN.md "Stores").
//!
//! Records carry who did what to which object and with what result — never key
//! material or request bodies: [`AuditRecord`] has no field that could hold them.

use hmac::{Hmac, Mac};
use kmip::types::{Operation, ResultReason, ResultStatus};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

/// Length of the audit key in bytes.
pub const KEY_LEN: usize = 32;

/// Longest line [`verify`] and [`AuditLog::open`] will read. A record is a few
/// hundred bytes plus its unique identifiers; a longer "line" is not a record, and
/// the cap keeps a damaged file without newlines from being read into memory whole.
pub const MAX_LINE_LEN: usize = 16 << 20;

/// `prev` of the first line.
const GENESIS: [u8; 32] = [0; 32];

type HmacSha256 = Hmac<Sha256>;

/// What is recorded about one batch item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When the item was processed (written in UTC).
    pub time: OffsetDateTime,
    /// The caller's identity name (empty if it could not be established).
    pub identity: String,
    /// The vault the item ran in (empty if none).
    pub vault: String,
    /// The KMIP operation.
    pub operation: Operation,
    /// Unique identifiers of the objects the item touched or returned.
    pub uids: Vec<String>,
    /// The item's result status.
    pub status: ResultStatus,
    /// The result reason, for a failed item.
    pub reason: Option<ResultReason>,
}

impl AuditRecord {
    /// A record stamped now, with no object identifiers yet.
    pub fn new(
        identity: impl Into<String>,
        vault: impl Into<String>,
        operation: Operation,
        status: ResultStatus,
        reason: Option<ResultReason>,
    ) -> Self {
        Self {
            time: OffsetDateTime::now_utc(),
            identity: identity.into(),
            vault: vault.into(),
            operation,
            uids: Vec::new(),
            status,
            reason,
        }
    }
}

/// The newest line of a log: its sequence number and MAC (all zeros and 0 for an
/// empty log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Sequence number of the last line.
    pub seq: u64,
    /// Its MAC.
    pub mac: [u8; 32],
}

/// Why the log could not be opened or appended to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The key file could not be read.
    #[error("cannot read audit key {}: {source}", path.display())]
    KeyRead {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The key file is readable or writable by group or others; whoever can read
    /// the key can forge the chain.
    #[error("audit key {} has mode {mode:04o}; it must not be accessible by group or others (chmod 600)", path.display())]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not hold a 32-byte key.
    #[error("audit key {} must hold 32 bytes (raw, or as 64 hex digits); it holds {len} bytes", path.display())]
    KeyLength {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// The log could not be opened, read, written or synced.
    #[error("audit log {}: {source}", path.display())]
    Io {
        /// The log.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The log's last line does not verify, so the chain cannot be continued;
    /// run `keygate audit verify` to find out where the log was damaged.
    #[error("audit log {}: its last line is bad ({reason}); refusing to continue the chain", path.display())]
    BadTail {
        /// The log.
        path: PathBuf,
        /// What is wrong with the last line.
        reason: VerifyFailure,
    },
    /// An earlier append failed half-way and the partial write could not be undone;
    /// the log takes no more records until it is reopened (which will refuse it).
    #[error("audit log {}: an earlier write failed and could not be rolled back", path.display())]
    Broken {
        /// The log.
        path: PathBuf,
    },
    /// The record's time cannot be written as RFC 3339.
    #[error("audit record time cannot be formatted: {0}")]
    Time(#[from] time::error::Format),
    /// The log reached the largest sequence number.
    #[error("audit log sequence number exhausted")]
    SequenceExhausted,
    /// The log was closed before the records were written.
    #[error("audit log closed before the records were written")]
    Closed,
}

/// The first bad line found by [`verify`].
#[derive(Debug, thiserror::Error)]
#[error("{}{reason}", if *line == 0 { String::new() } else { format!("line {line}: ") })]
pub struct VerifyError {
    /// 1-based number of the first bad line; 0 when the log or key could not be read
    /// at all.
    pub line: u64,
    /// What is wrong.
    pub reason: VerifyFailure,
}

/// What is wrong with a line (or with the inputs of [`verify`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyFailure {
    /// The log could not be read.
    #[error("cannot read the log: {0}")]
    Io(io::Error),
    /// The key file could not be read.
    #[error("cannot read the audit key: {0}")]
    KeyRead(io::Error),
    /// The key file does not hold a 32-byte key.
    #[error("the audit key must hold 32 bytes (raw, or as 64 hex digits); it holds {0} bytes")]
    KeyLength(usize),
    /// The line has no terminating newline: a partial write, or the file was cut.
    #[error("incomplete line (no newline): a partial write, or the file was truncated")]
    Truncated,
    /// The line is longer than [`MAX_LINE_LEN`].
    #[error("line longer than {MAX_LINE_LEN} bytes")]
    TooLong,
    /// The line is not an audit record.
    #[error("not an audit record: {0}")]
    Malformed(String),
    /// The line is a record but not in the canonical form this module writes.
    #[error("the line is not in canonical form (it was edited)")]
    NotCanonical,
    /// The sequence number is not the previous one plus 1.
    #[error(
        "sequence number {found}, expected {expected} (a line was removed, inserted or reordered)"
    )]
    Sequence {
        /// The number the line should carry.
        expected: u64,
        /// The number it carries.
        found: u64,
    },
    /// `prev` is not the previous line's MAC.
    #[error(
        "prev does not match the previous line's mac (a line was removed, inserted or edited)"
    )]
    Chain,
    /// The MAC does not match the line.
    #[error("MAC mismatch (the line was edited, or the key is not this log's key)")]
    BadMac,
}

/// When a request that changed nothing may be answered, relative to its audit
/// records (`[audit] sync` in keygate.toml). Records of a request that changed
/// something are always fsynced before its change is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditSync {
    /// Once its records are fsynced (the default): no answer survives its record,
    /// even a power failure.
    #[default]
    Always,
    /// Once its records are written to the log file (the kernel holds them, so a
    /// crash of the daemon loses nothing); the flusher fsyncs them right after,
    /// together with everything written meanwhile. A failure of the machine itself
    /// (power, kernel) can lose the records of the last moments' reads.
    Changes,
}

/// An open audit log; share it behind an `Arc`.
///
/// One process should have a log open for writing at a time; two writers would
/// fork the chain.
///
/// **Writing and syncing.** An append formats its records onto the chain and
/// writes them to the file at once, under the log's lock (a `write` of a few
/// hundred bytes). Making them durable is separate and grouped: one `fdatasync`
/// covers everything written before it started, so concurrent appends share it.
/// [`append_many`](Self::append_many) writes and then waits for such a sync (it
/// runs one itself when none is under way); [`write`](Self::write) only writes,
/// and [`durable`](Self::durable) gives a future that resolves when a sync covers
/// the records. A flusher thread owned by the log syncs whenever something written
/// is not yet synced, so records are never left unsynced for longer than a sync
/// takes.
///
/// A write that fails is cut off again (if even that fails, the log refuses every
/// further append: [`AuditError::Broken`]); a sync that fails leaves the log
/// broken too, since records others were answered on may not be on disk.
pub struct AuditLog {
    shared: Arc<Shared>,
    sync: AuditSync,
    flusher: Option<std::thread::JoinHandle<()>>,
}

/// What the appenders and the flusher thread share.
struct Shared {
    path: PathBuf,
    key: Zeroizing<[u8; KEY_LEN]>,
    file: File,
    state: Mutex<State>,
    /// Signalled when a sync ends.
    synced: Condvar,
    /// Signalled when something is written and the flusher is idle, or the log
    /// closes.
    work: Condvar,
}

struct State {
    /// Bytes in the file after the last complete append.
    len: u64,
    head: ChainHead,
    /// Bytes known durable.
    synced: u64,
    /// A sync is under way (outside the lock).
    syncing: bool,
    /// The flusher waits for work.
    flusher_idle: bool,
    /// A write could not be cut back, or a sync failed.
    broken: bool,
    /// Futures waiting for a sync to reach a length.
    waiters: Vec<(u64, oneshot::Sender<Result<(), AuditError>>)>,
    /// The log is being dropped: the flusher syncs what is written and ends.
    closing: bool,
}

/// Where an append's records end in the log: what [`AuditLog::durable`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the records are written but not known durable"]
pub struct Written(u64);

/// Records not yet known to be durable ([`AuditLog::durable`]).
#[derive(Debug)]
#[must_use = "the records count as durable only once wait() returns Ok"]
pub struct Pending(PendingState);

#[derive(Debug)]
enum PendingState {
    Ready(Result<(), AuditError>),
    Waiting(oneshot::Receiver<Result<(), AuditError>>),
}

impl Pending {
    /// Waits until the records are durable, or for the error that keeps them from
    /// being known so.
    pub async fn wait(self) -> Result<(), AuditError> {
        match self.0 {
            PendingState::Ready(outcome) => outcome,
            PendingState::Waiting(rx) => rx.await.unwrap_or(Err(AuditError::Closed)),
        }
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.shared.path)
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.work.notify_all();
        if let Some(flusher) = self.flusher.take() {
            if flusher.join().is_err() {
                tracing::error!(path = %self.shared.path.display(), "audit flusher thread panicked");
            }
        }
    }
}

impl AuditLog {
    /// Opens (or creates, mode 0600) the log at `path` for appending, with the key in
    /// `key_file` (32 raw bytes, or 64 hex digits; not accessible by group or others),
    /// and starts its flusher thread.
    ///
    /// The last line is read and its MAC checked, and the chain continues from it; a
    /// log whose last line is incomplete or does not verify (damage, or another key)
    /// is refused with [`AuditError::BadTail`]. Earlier lines are not read: that is
    /// [`verify`]'s job.
    pub fn open(
        path: impl AsRef<Path>,
        key_file: impl AsRef<Path>,
    ) -> Result<AuditLog, AuditError> {
        let path = path.as_ref().to_path_buf();
        let key_file = key_file.as_ref();
        let mode = fs::metadata(key_file)
            .map_err(|source| AuditError::KeyRead {
                path: key_file.to_path_buf(),
                source,
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(AuditError::KeyPermissions {
                path: key_file.to_path_buf(),
                mode: mode & 0o7777,
            });
        }
        let key = read_key(key_file).map_err(|e| match e {
            VerifyFailure::KeyLength(len) => AuditError::KeyLength {
                path: key_file.to_path_buf(),
                len,
            },
            VerifyFailure::KeyRead(source) => AuditError::KeyRead {
                path: key_file.to_path_buf(),
                source,
            },
            other => AuditError::KeyRead {
                path: key_file.to_path_buf(),
                source: io::Error::other(other.to_string()),
            },
        })?;
        let io_err = |source| AuditError::Io {
            path: path.clone(),
            source,
        };
        let mut file = fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        // What an earlier run wrote may not have reached the disk yet.
        file.sync_data().map_err(io_err)?;
        if len == 0 {
            // The file may be new: make its directory entry durable before the first
            // record is acknowledged.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
            }
        }
        let head = if len == 0 {
            ChainHead {
                seq: 0,
                mac: GENESIS,
            }
        } else {
            let bad_tail = |reason| AuditError::BadTail {
                path: path.clone(),
                reason,
            };
            let line = match last_line(&mut file, len) {
                Ok(line) => line,
                Err(VerifyFailure::Io(e)) => return Err(io_err(e)),
                Err(reason) => return Err(bad_tail(reason)),
            };
            let parsed = decode_line(&line).map_err(bad_tail)?;
            let mac = check_mac(&key, &parsed).map_err(bad_tail)?;
            ChainHead {
                seq: parsed.seq,
                mac,
            }
        };
        let shared = Arc::new(Shared {
            path: path.clone(),
            key,
            file,
            state: Mutex::new(State {
                len,
                head,
                synced: len,
                syncing: false,
                flusher_idle: false,
                broken: false,
                waiters: Vec::new(),
                closing: false,
            }),
            synced: Condvar::new(),
            work: Condvar::new(),
        });
        let flusher = std::thread::Builder::new()
            .name("keygate-audit".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || shared.flush()
            })
            .map_err(|source| AuditError::Io { path, source })?;
        Ok(AuditLog {
            shared,
            sync: AuditSync::Always,
            flusher: Some(flusher),
        })
    }

    /// The log with `sync` as its policy for requests that changed nothing
    /// ([`AuditLog::sync`]).
    pub fn with_sync(mut self, sync: AuditSync) -> AuditLog {
        self.sync = sync;
        self
    }

    /// When a request that changed nothing may be answered.
    pub fn sync(&self) -> AuditSync {
        self.sync
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The newest line's sequence number and MAC.
    pub fn head(&self) -> ChainHead {
        self.shared.lock().head
    }

    /// Appends one record and syncs it to disk.
    pub fn append(&self, rec: &AuditRecord) -> Result<(), AuditError> {
        self.append_many(std::slice::from_ref(rec))
    }

    /// Appends records (one per batch item of a message) with a single write and
    /// waits until they are durable (one fsync, shared with concurrent appends).
    /// On an error none of them is in the log, or the log is broken. The request
    /// path should fail the request rather than answer without its audit record.
    ///
    /// Blocks for the disk: call it where blocking is allowed.
    pub fn append_many(&self, recs: &[AuditRecord]) -> Result<(), AuditError> {
        if recs.is_empty() {
            return Ok(());
        }
        let shared = &*self.shared;
        let mut state = shared.lock();
        let Written(end) = shared.write_locked(&mut state, recs)?;
        loop {
            if state.synced >= end {
                return Ok(());
            }
            if state.broken {
                return Err(shared.broken());
            }
            state = if state.syncing {
                shared
                    .synced
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            } else {
                shared.sync_locked(state)
            };
        }
    }

    /// Writes records (one per batch item of a message) to the log file with a
    /// single write, without waiting for the disk: the flusher syncs them right
    /// after. Returns where they end, for [`durable`](Self::durable). On an error
    /// none of them is in the log, or the log is broken.
    pub fn write(&self, recs: &[AuditRecord]) -> Result<Written, AuditError> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        let written = shared.write_locked(&mut state, recs)?;
        let wake = state.flusher_idle && state.synced < state.len;
        drop(state);
        if wake {
            shared.work.notify_one();
        }
        Ok(written)
    }

    /// A future that resolves once everything up to `written` is durable (or with
    /// the error that keeps it from being known so). Does not block.
    pub fn durable(&self, written: Written) -> Pending {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.synced >= written.0 {
            return Pending(PendingState::Ready(Ok(())));
        }
        if state.broken {
            return Pending(PendingState::Ready(Err(shared.broken())));
        }
        let (tx, rx) = oneshot::channel();
        state.waiters.push((written.0, tx));
        let wake = state.flusher_idle;
        drop(state);
        if wake {
            shared.work.notify_one();
        }
        Pending(PendingState::Waiting(rx))
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn broken(&self) -> AuditError {
        AuditError::Broken {
            path: self.path.clone(),
        }
    }

    /// The flusher thread: syncs whenever something written is not yet synced and
    /// no sync is under way; when the log closes, syncs what is left and ends.
    fn flush(&self) {
        let mut state = self.lock();
        loop {
            if !state.syncing && !state.broken && state.synced < state.len {
                state = self.sync_locked(state);
            } else if state.closing && !state.syncing {
                // Nothing more will be synced: whoever still waits is told.
                let waiters = std::mem::take(&mut state.waiters);
                drop(state);
                for (_, tx) in waiters {
                    let _ = tx.send(Err(AuditError::Closed));
                }
                return;
            } else {
                state.flusher_idle = true;
                state = self
                    .work
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                state.flusher_idle = false;
            }
        }
    }

    /// Formats `recs` onto the chain and writes them with one `write`. On a write
    /// error the file is cut back (or the log marked broken when it cannot be).
    fn write_locked(&self, state: &mut State, recs: &[AuditRecord]) -> Result<Written, AuditError> {
        if state.broken {
            return Err(self.broken());
        }
        let mut head = state.head;
        let mut buf = Vec::with_capacity(320 * recs.len());
        self.format(&mut buf, &mut head, recs)?;
        let mut file = &self.file;
        if let Err(source) = file.write_all(&buf) {
            if self.file.set_len(state.len).is_err() {
                state.broken = true;
                tracing::error!(path = %self.path.display(), "audit log write failed and could not be cut back");
            }
            return Err(AuditError::Io {
                path: self.path.clone(),
                source,
            });
        }
        state.len += u64::try_from(buf.len()).unwrap_or(u64::MAX);
        state.head = head;
        Ok(Written(state.len))
    }

    /// Syncs everything written so far (the caller holds `state`, and no sync is
    /// under way), then tells the waiters it covers, and returns the lock.
    fn sync_locked<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        state.syncing = true;
        let target = state.len;
        drop(state);
        let outcome = self.file.sync_data();
        state = self.lock();
        state.syncing = false;
        let done: Vec<_> = match outcome {
            Ok(()) => {
                state.synced = state.synced.max(target);
                let synced = state.synced;
                let (done, waiting) = std::mem::take(&mut state.waiters)
                    .into_iter()
                    .partition(|(end, _)| *end <= synced);
                state.waiters = waiting;
                done.into_iter().map(|(_, tx)| (tx, Ok(()))).collect()
            }
            Err(e) => {
                // What was written may or may not be on disk, and some of it may
                // have been answered on: the log takes nothing more.
                state.broken = true;
                tracing::error!(path = %self.path.display(), error = %e, "audit log sync failed; the log refuses further appends");
                std::mem::take(&mut state.waiters)
                    .into_iter()
                    .map(|(_, tx)| {
                        let source = io::Error::new(e.kind(), e.to_string());
                        let err = AuditError::Io {
                            path: self.path.clone(),
                            source,
                        };
                        (tx, Err(err))
                    })
                    .collect()
            }
        };
        for (tx, outcome) in done {
            // A waiter that gave up (its connection closed) is no loss.
            let _ = tx.send(outcome);
        }
        self.synced.notify_all();
        // Whatever was written during this sync, or waits for a later one, is the
        // flusher's: it may have been woken while this sync ran and gone back to
        // sleep.
        if !state.broken && (state.synced < state.len || !state.waiters.is_empty()) {
            self.work.notify_one();
        }
        state
    }

    /// Appends `recs` as lines to `buf`, chained from `head` (advanced).
    fn format(
        &self,
        buf: &mut Vec<u8>,
        head: &mut ChainHead,
        recs: &[AuditRecord],
    ) -> Result<(), AuditError> {
        for rec in recs {
            let seq = head
                .seq
                .checked_add(1)
                .ok_or(AuditError::SequenceExhausted)?;
            let time = rec.time.to_offset(UtcOffset::UTC).format(&Rfc3339)?;
            let operation = enum_name(rec.operation.name(), rec.operation.value());
            let status = enum_name(rec.status.name(), rec.status.value());
            let reason = rec.reason.map(|r| enum_name(r.name(), r.value()));
            let prev = hex::encode(head.mac);
            let unsigned = Unsigned {
                seq,
                time: &time,
                identity: &rec.identity,
                vault: &rec.vault,
                operation: &operation,
                uids: &rec.uids,
                status: &status,
                reason: reason.as_deref(),
                prev: &prev,
            };
            let canonical = canonical_bytes(&unsigned);
            let mac = mac_of(&self.key, &canonical);
            push_line(buf, canonical, &mac);
            *head = ChainHead { seq, mac };
        }
        Ok(())
    }
}

/// Checks a whole log with its key: every line's form and MAC, the `prev` chain and
/// the sequence. Returns the number of lines, or the first bad line (1-based).
pub fn verify(path: impl AsRef<Path>, key_file: impl AsRef<Path>) -> Result<u64, VerifyError> {
    let fail = |line, reason| VerifyError { line, reason };
    let key = read_key(key_file.as_ref()).map_err(|r| fail(0, r))?;
    let file = File::open(path.as_ref()).map_err(|e| fail(0, VerifyFailure::Io(e)))?;
    let mut reader = BufReader::new(file);
    let mut head = ChainHead {
        seq: 0,
        mac: GENESIS,
    };
    let mut buf = Vec::new();
    let mut n: u64 = 0;
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(u64::try_from(MAX_LINE_LEN).unwrap_or(u64::MAX) + 1)
            .read_until(b'\n', &mut buf);
        match read {
            Ok(0) => return Ok(n),
            Ok(_) => {}
            Err(e) => return Err(fail(n + 1, VerifyFailure::Io(e))),
        }
        n += 1;
        let line = match buf.strip_suffix(b"\n") {
            Some(line) => line,
            None if buf.len() > MAX_LINE_LEN => return Err(fail(n, VerifyFailure::TooLong)),
            None => return Err(fail(n, VerifyFailure::Truncated)),
        };
        let parsed = decode_line(line).map_err(|r| fail(n, r))?;
        if parsed.seq != head.seq + 1 {
            return Err(fail(
                n,
                VerifyFailure::Sequence {
                    expected: head.seq + 1,
                    found: parsed.seq,
                },
            ));
        }
        if parsed.prev != hex::encode(head.mac) {
            return Err(fail(n, VerifyFailure::Chain));
        }
        let mac = check_mac(&key, &parsed).map_err(|r| fail(n, r))?;
        head = ChainHead {
            seq: parsed.seq,
            mac,
        };
    }
}

// ---------------------------------------------------------------------------------
// Line format.

/// The signed part of a line, in its canonical member order.
#[derive(Serialize)]
struct Unsigned<'a> {
    seq: u64,
    time: &'a str,
    identity: &'a str,
    vault: &'a str,
    operation: &'a str,
    uids: &'a [String],
    status: &'a str,
    reason: Option<&'a str>,
    prev: &'a str,
}

/// A line as read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    seq: u64,
    time: String,
    identity: String,
    vault: String,
    operation: String,
    uids: Vec<String>,
    status: String,
    reason: Option<String>,
    prev: String,
    mac: String,
}

impl Line {
    fn unsigned(&self) -> Unsigned<'_> {
        Unsigned {
            seq: self.seq,
            time: &self.time,
            identity: &self.identity,
            vault: &self.vault,
            operation: &self.operation,
            uids: &self.uids,
            status: &self.status,
            reason: self.reason.as_deref(),
            prev: &self.prev,
        }
    }
}

fn canonical_bytes(u: &Unsigned<'_>) -> Vec<u8> {
    // Serializing strings, integers and a list of strings to a Vec cannot fail.
    serde_json::to_vec(u).unwrap_or_default()
}

/// Appends `canonical` with the `mac` member spliced in before its closing brace,
/// and a newline.
fn push_line(out: &mut Vec<u8>, mut canonical: Vec<u8>, mac: &[u8; 32]) {
    canonical.pop();
    out.extend_from_slice(&canonical);
    out.extend_from_slice(b",\"mac\":\"");
    out.extend_from_slice(hex::encode(mac).as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// Parses a line (without its newline) and checks it is in canonical form.
fn decode_line(line: &[u8]) -> Result<Line, VerifyFailure> {
    let parsed: Line =
        serde_json::from_slice(line).map_err(|e| VerifyFailure::Malformed(e.to_string()))?;
    for (field, value) in [("prev", &parsed.prev), ("mac", &parsed.mac)] {
        if value.len() != 64
            || !value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(VerifyFailure::Malformed(format!(
                "{field} is not 64 lowercase hex digits"
            )));
        }
    }
    let mut expected = Vec::with_capacity(line.len() + 1);
    let mac = decode_hex32(&parsed.mac);
    push_line(&mut expected, canonical_bytes(&parsed.unsigned()), &mac);
    if expected.strip_suffix(b"\n") != Some(line) {
        return Err(VerifyFailure::NotCanonical);
    }
    Ok(parsed)
}

/// Checks a parsed line's MAC (in constant time); returns it.
fn check_mac(key: &[u8; KEY_LEN], line: &Line) -> Result<[u8; 32], VerifyFailure> {
    let claimed = decode_hex32(&line.mac);
    let mut m = hmac(key);
    m.update(&canonical_bytes(&line.unsigned()));
    m.verify_slice(&claimed)
        .map_err(|_| VerifyFailure::BadMac)?;
    Ok(claimed)
}

fn mac_of(key: &[u8; KEY_LEN], data: &[u8]) -> [u8; 32] {
    let mut m = hmac(key);
    m.update(data);
    m.finalize().into_bytes().into()
}

fn hmac(key: &[u8; KEY_LEN]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// Decodes a value [`decode_line`] has checked is 64 hex digits.
fn decode_hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    let _ = hex::decode_to_slice(s, &mut out);
    out
}

/// An enumeration's XML name, or its value in hex for a value without one.
fn enum_name(name: Option<&str>, value: u32) -> String {
    name.map(str::to_owned)
        .unwrap_or_else(|| format!("{value:#010X}"))
}

/// Reads an audit key: 32 raw bytes, or 64 hex digits (optionally with surrounding
/// whitespace).
fn read_key(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, VerifyFailure> {
    let bytes = Zeroizing::new(fs::read(path).map_err(VerifyFailure::KeyRead)?);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if bytes.len() == KEY_LEN {
        key.copy_from_slice(&bytes);
        return Ok(key);
    }
    let text = bytes.trim_ascii();
    if text.len() == 2 * KEY_LEN && hex::decode_to_slice(text, &mut key[..]).is_ok() {
        return Ok(key);
    }
    Err(VerifyFailure::KeyLength(bytes.len()))
}

/// The last line of a non-empty file, without its newline. A file not ending in a
/// newline is [`VerifyFailure::Truncated`].
fn last_line(file: &mut File, len: u64) -> Result<Vec<u8>, VerifyFailure> {
    const CHUNK: u64 = 8192;
    let max = u64::try_from(MAX_LINE_LEN).unwrap_or(u64::MAX);
    let mut end = len;
    // Bytes of the last line read so far, newline included, in file order.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let start = end.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))
            .map_err(VerifyFailure::Io)?;
        file.read_exact(&mut chunk).map_err(VerifyFailure::Io)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        if end == len && tail.last() != Some(&b'\n') {
            return Err(VerifyFailure::Truncated);
        }
        // A newline before the final one ends the previous line.
        let body = &tail[..tail.len() - 1];
        if let Some(i) = body.iter().rposition(|b| *b == b'\n') {
            return Ok(body[i + 1..].to_vec());
        }
        if start == 0 {
            return Ok(body.to_vec());
        }
        if u64::try_from(tail.len()).unwrap_or(u64::MAX) > max {
            return Err(VerifyFailure::TooLong);
        }
        end = start;
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {} mac {}", self.seq, hex::encode(self.mac))
    }
}
