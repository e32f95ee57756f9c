//! Persistence of managed objects (DESIGN.md "Stores").
//!
//! The store keeps metadata and backend references, never clear key material. Every
//! write made through a [`Txn`] is durable when [`Txn::commit`] returns; the request
//! path commits before it replies. One transaction spans one KMIP batch, which is how
//! `BatchErrorContinuationOption = Undo` rolls back earlier items.
//!
//! The trait is synchronous: the request path runs on tokio's blocking pool (short
//! reads on a vault in memory run on the connection's task), and a PostgreSQL store
//! can implement it with the synchronous `postgres` client without changing callers.

pub mod sqlite;

use std::fmt;

/// One managed object as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Unique Identifier (KMIP), unique across vaults.
    pub uid: String,
    /// Owning vault.
    pub vault: String,
    /// KMIP Object Type value.
    pub object_type: u32,
    /// KMIP State value.
    pub state: u32,
    /// Binary TTLV of the object's attributes, KMIP 2.x `Attributes` structure.
    pub attributes: Vec<u8>,
    /// Binary TTLV of the managed object without its secret bytes (the template the
    /// request path fills back on Get). Empty for objects whose material is destroyed.
    pub object: Vec<u8>,
    /// Name values, indexed for Locate.
    pub names: Vec<String>,
    /// Object Group values, indexed for Locate.
    pub object_groups: Vec<String>,
    /// Backend that holds the material.
    pub backend: String,
    /// The backend's reference to the material (sealed blob or token object id);
    /// `None` once destroyed.
    pub key_ref: Option<Vec<u8>>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

impl fmt::Debug for ObjectRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectRecord")
            .field("uid", &self.uid)
            .field("vault", &self.vault)
            .field("object_type", &self.object_type)
            .field("state", &self.state)
            .field("names", &self.names)
            .field("backend", &self.backend)
            .field("key_ref", &self.key_ref.as_ref().map(|k| k.len()))
            .finish_non_exhaustive()
    }
}

/// A pre-filter for Locate; the request path applies the full KMIP match after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectFilter {
    /// Object Type value.
    pub object_type: Option<u32>,
    /// State value.
    pub state: Option<u32>,
    /// Exact Name value.
    pub name: Option<String>,
    /// Exact Object Group value.
    pub object_group: Option<String>,
}

/// Store failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An object with this UID exists already.
    #[error("object {0} already exists")]
    Duplicate(String),
    /// The object to update does not exist.
    #[error("object {0} not found")]
    NotFound(String),
    /// Another transaction changed, or is about to change, what this one read:
    /// nothing of this one was written. The request may succeed when retried.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The transaction takes no writes ([`Txn::refuse_writes`]).
    #[error("this transaction takes no writes")]
    ReadOnly,
    /// The database failed (I/O, corruption, lock timeout).
    #[error("database error: {0}")]
    Database(String),
}

/// A store of managed objects.
pub trait Store: Send + Sync + fmt::Debug {
    /// Starts a transaction. Dropping it without commit rolls back.
    fn begin(&self) -> Result<Box<dyn Txn + '_>, StoreError>;
}

/// A transaction over the store.
pub trait Txn {
    /// Inserts a new object. A uid that exists already (in any vault) is a
    /// [`StoreError::Duplicate`], from this call or, at the latest, from the commit.
    fn insert(&mut self, rec: &ObjectRecord) -> Result<(), StoreError>;
    /// The object `uid` if it belongs to `vault`, locked for this transaction as one
    /// it may write: transactions that `get` one object run one after the other.
    fn get(&mut self, vault: &str, uid: &str) -> Result<Option<ObjectRecord>, StoreError>;
    /// The object `uid` if it belongs to `vault`, locked shared: for a request that
    /// only reads it (a cryptographic operation), so that such requests on one key
    /// run side by side. Writing it afterwards waits for the other readers, and
    /// fails with a conflict if another of them is waiting to write it too.
    fn read(&mut self, vault: &str, uid: &str) -> Result<Option<ObjectRecord>, StoreError> {
        self.get(vault, uid)
    }
    /// Replaces an existing object (matched by vault and uid).
    fn update(&mut self, rec: &ObjectRecord) -> Result<(), StoreError>;
    /// Objects of `vault` matching the pre-filter, in creation order (oldest first).
    fn list(&mut self, vault: &str, filter: &ObjectFilter)
        -> Result<Vec<ObjectRecord>, StoreError>;
    /// Whether the transaction has written anything (so far), or tried to after
    /// [`refuse_writes`](Self::refuse_writes): a transaction that has not needs no
    /// commit, and its request no durability point before the answer but its audit
    /// records'.
    fn writes(&self) -> bool {
        true
    }
    /// Makes every later insert or update fail at once with
    /// [`StoreError::ReadOnly`], locking nothing, and [`writes`](Self::writes)
    /// report true: for a request run where it must not wait for a commit, to be
    /// run again elsewhere if it comes to write. A store that cannot refuse writes
    /// keeps this no-op and its `writes` true.
    fn refuse_writes(&mut self) {}
    /// Makes every change durable.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
