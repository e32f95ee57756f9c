//! One live connection to a token: its slot, a bounded pool of logged-in read-write
//! sessions, the index of token objects by `CKA_ID`, the cache of session objects made
//! from wrapped blobs, and (wrapped placement) the KEK handles.
//!
//! Everything here belongs to one module generation ([`super::module`]); when the
//! module is re-initialised the connection is dropped whole and rebuilt.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cryptoki::context::{Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use super::error::Fault;
use super::keyref::{Class, ID_LEN};
use super::module::Module;

/// Longest a request waits for a free session before it is told the backend is busy.
pub(crate) const SESSION_WAIT: Duration = Duration::from_millis(800);

/// Session objects kept unwrapped (wrapped placement) or imported (public keys),
/// least recently used first out.
pub(crate) const CACHE_CAPACITY: usize = 512;

/// `CKA_LABEL` of the key-encryption key (wrapped placement).
pub const KEK_LABEL: &str = "keygate-kek";
/// `CKA_LABEL` of the HMAC key that authenticates wrapped references.
pub const KEK_MAC_LABEL: &str = "keygate-kek-mac";

/// The token keys of the wrapped placement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kek {
    /// AES-256 wrap/unwrap key.
    pub(crate) wrap: ObjectHandle,
    /// HMAC-SHA-256 key over references.
    pub(crate) mac: ObjectHandle,
    /// `CKM_AES_KEY_WRAP_PAD` where the token has it, else `CKM_AES_KEY_WRAP`.
    pub(crate) mechanism: MechanismType,
}

/// A session object held by the cache; destroyed once evicted and no longer in use.
#[derive(Debug)]
pub(crate) struct CachedObject {
    pub(crate) handle: ObjectHandle,
    /// SHA-256 of the aad the reference's tag was checked against.
    pub(crate) aad: [u8; 32],
}

/// What [`Conn::connect`] needs to know.
pub(crate) struct Target<'a> {
    pub(crate) module: &'a Arc<Module>,
    pub(crate) token_label: &'a str,
    pub(crate) pin: &'a AuthPin,
    pub(crate) sessions: usize,
    /// `None` for resident placement; `Some(create)` for wrapped, creating the KEK
    /// when missing only if `create` (first open, never a reconnect).
    pub(crate) kek: Option<bool>,
}

/// A live connection (see the module documentation).
pub(crate) struct Conn {
    module: Arc<Module>,
    pub(crate) generation: u64,
    pub(crate) slot: Slot,
    pub(crate) label: String,
    pin: AuthPin,
    max_sessions: usize,
    pool: Mutex<Pool>,
    freed: Condvar,
    pub(crate) kek: Option<Kek>,
    index: Mutex<Index>,
    cache: Mutex<HandleCache>,
}

/// Token objects by class and `CKA_ID`: handle and `CKA_LABEL` (the binding).
type Index = HashMap<(Class, [u8; ID_LEN]), (ObjectHandle, Vec<u8>)>;

#[derive(Debug, Default)]
struct Pool {
    idle: Vec<Session>,
    /// Sessions open, idle or in use.
    open: usize,
}

#[derive(Debug, Default)]
struct HandleCache {
    map: HashMap<[u8; 32], (Arc<CachedObject>, u64)>,
    tick: u64,
    /// Evicted objects still in use by a request; destroyed when it lets go.
    graveyard: Vec<Arc<CachedObject>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("generation", &self.generation)
            .field("slot", &self.slot)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Initialises the module if needed, finds the token by label, opens a session,
    /// logs the user in, and for wrapped placement finds (or creates) the KEK.
    pub(crate) fn connect(target: &Target<'_>) -> Result<Conn, Fault> {
        let module = target.module;
        let generation = module.ensure_initialized()?;
        let state = module.read();
        let ctx = state.context_in(generation)?;
        let slot = find_slot(ctx, module, target.token_label)?;
        let session = ctx.open_rw_session_no_drop(slot).map_err(|e| {
            Fault::ck(
                e,
                format!("opening a session on token '{}'", target.token_label),
            )
        })?;
        let setup = login(&session, target.pin, target.token_label).and_then(|()| {
            target
                .kek
                .map(|create| find_kek(ctx, slot, &session, target.token_label, create))
                .transpose()
        });
        let kek = match setup {
            Ok(kek) => kek,
            Err(e) => {
                let _ = session.close();
                return Err(e);
            }
        };
        drop(state);
        Ok(Conn {
            module: Arc::clone(module),
            generation,
            slot,
            label: target.token_label.to_owned(),
            pin: target.pin.clone(),
            max_sessions: target.sessions.max(1),
            pool: Mutex::new(Pool {
                idle: vec![session],
                open: 1,
            }),
            freed: Condvar::new(),
            kek,
            index: Mutex::default(),
            cache: Mutex::default(),
        })
    }

    /// Runs `f` with a pooled session, under the module's read gate.
    ///
    /// Waits at most [`SESSION_WAIT`] for a free session. A fault that kills the
    /// session closes it instead of returning it to the pool.
    pub(crate) fn with_session<T>(
        &self,
        f: impl FnOnce(&Pkcs11, &Session) -> Result<T, Fault>,
    ) -> Result<T, Fault> {
        let reserved = self.reserve()?;
        let state = self.module.read();
        let ctx = match state.context_in(self.generation) {
            Ok(ctx) => ctx,
            Err(e) => {
                // The session belongs to a finalised generation: forget it (its handle
                // number may already be someone else's).
                drop(reserved);
                self.release_slot();
                return Err(e);
            }
        };
        let session = match reserved {
            Some(session) => session,
            None => match self.open_session(ctx) {
                Ok(session) => session,
                Err(e) => {
                    self.release_slot();
                    return Err(e);
                }
            },
        };
        let result = f(ctx, &session).map_err(|e| {
            e.unless_healthy(|| {
                session.get_session_info().is_ok() && ctx.get_token_info(self.slot).is_ok()
            })
        });
        self.sweep(&session);
        match &result {
            Err(e) if e.kills_session() => {
                let _ = session.close();
                self.release_slot();
            }
            _ => {
                lock(&self.pool).idle.push(session);
                self.freed.notify_one();
            }
        }
        drop(state);
        result
    }

    /// Sessions open, idle or in use.
    pub(crate) fn open_sessions(&self) -> usize {
        lock(&self.pool).open
    }

    /// The handle and `CKA_LABEL` of the token object `(class, id)`: from the index,
    /// else one `C_FindObjects` (after a restart or an eviction).
    pub(crate) fn resident_handle(
        &self,
        ctx: &Pkcs11,
        session: &Session,
        class: Class,
        id: &[u8; ID_LEN],
    ) -> Result<(ObjectHandle, Vec<u8>), Fault> {
        if let Some(found) = lock(&self.index).get(&(class, *id)) {
            return Ok(found.clone());
        }
        let found = session
            .find_objects(&[
                Attribute::Class(class.object_class()),
                Attribute::Token(true),
                Attribute::Id(id.to_vec()),
            ])
            .map_err(|e| {
                Fault::ck(
                    e,
                    format!(
                        "looking up key {} in token '{}'",
                        hex::encode(id),
                        self.label
                    ),
                )
            })?;
        match found.as_slice() {
            [h] => {
                let label = session
                    .get_attributes(*h, &[AttributeType::Label])
                    .map_err(|e| {
                        Fault::ck(e, format!("reading the label of key {}", hex::encode(id)))
                    })?
                    .into_iter()
                    .find_map(|a| match a {
                        Attribute::Label(l) => Some(l),
                        _ => None,
                    })
                    .unwrap_or_default();
                lock(&self.index).insert((class, *id), (*h, label.clone()));
                Ok((*h, label))
            }
            [] => {
                // A vanished object or a vanished token? SoftHSM answers an object
                // search on a token whose files are gone with an empty list, and
                // C_GetTokenInfo with CKR_GENERAL_ERROR: that is an outage.
                ctx.get_token_info(self.slot).map_err(|e| {
                    Fault::ck(
                        e,
                        format!("checking token '{}' after a failed lookup", self.label),
                    )
                })?;
                Err(Fault::NotFound(format!(
                    "key {} ({class:?}) is not in token '{}'",
                    hex::encode(id),
                    self.label
                )))
            }
            _ => Err(Fault::Library(format!(
                "{} objects in token '{}' share CKA_ID {}",
                found.len(),
                self.label,
                hex::encode(id)
            ))),
        }
    }

    /// Records a token object just created.
    pub(crate) fn remember(
        &self,
        class: Class,
        id: &[u8; ID_LEN],
        handle: ObjectHandle,
        label: Vec<u8>,
    ) {
        lock(&self.index).insert((class, *id), (handle, label));
    }

    /// Forgets a token object's handle (destroyed, or refused as stale).
    pub(crate) fn forget(&self, class: Class, id: &[u8; ID_LEN]) {
        lock(&self.index).remove(&(class, *id));
    }

    /// A cached session object.
    pub(crate) fn cached(&self, key: &[u8; 32]) -> Option<Arc<CachedObject>> {
        let mut cache = lock(&self.cache);
        cache.tick += 1;
        let tick = cache.tick;
        cache.map.get_mut(key).map(|(obj, used)| {
            *used = tick;
            Arc::clone(obj)
        })
    }

    /// Caches a session object, evicting the least recently used beyond
    /// [`CACHE_CAPACITY`].
    pub(crate) fn cache(
        &self,
        key: [u8; 32],
        handle: ObjectHandle,
        aad: [u8; 32],
    ) -> Arc<CachedObject> {
        let obj = Arc::new(CachedObject { handle, aad });
        let mut cache = lock(&self.cache);
        cache.tick += 1;
        let tick = cache.tick;
        if let Some((old, _)) = cache.map.insert(key, (Arc::clone(&obj), tick)) {
            cache.graveyard.push(old);
        }
        if cache.map.len() > CACHE_CAPACITY {
            let oldest = cache
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k);
            if let Some((old, _)) = oldest.and_then(|k| cache.map.remove(&k)) {
                cache.graveyard.push(old);
            }
        }
        obj
    }

    /// Drops a cached session object (refused as stale, or its key destroyed).
    pub(crate) fn uncache(&self, key: &[u8; 32]) {
        let mut cache = lock(&self.cache);
        if let Some((old, _)) = cache.map.remove(key) {
            cache.graveyard.push(old);
        }
    }

    /// Destroys evicted session objects no request uses any more.
    fn sweep(&self, session: &Session) {
        let dead: Vec<ObjectHandle> = {
            let mut cache = lock(&self.cache);
            if cache.graveyard.is_empty() {
                return;
            }
            let (dead, alive): (Vec<_>, Vec<_>) = std::mem::take(&mut cache.graveyard)
                .into_iter()
                .partition(|o| Arc::strong_count(o) == 1);
            cache.graveyard = alive;
            dead.into_iter().map(|o| o.handle).collect()
        };
        for handle in dead {
            if let Err(e) = session.destroy_object(handle) {
                tracing::debug!(token = %self.label, error = %e, "destroying an evicted session object");
            }
        }
    }

    /// A session from the pool (`Some`), or leave to open one more (`None`, already
    /// counted in `open`).
    fn reserve(&self) -> Result<Option<Session>, Fault> {
        let deadline = Instant::now() + SESSION_WAIT;
        let mut pool = lock(&self.pool);
        loop {
            if let Some(session) = pool.idle.pop() {
                return Ok(Some(session));
            }
            if pool.open < self.max_sessions {
                pool.open += 1;
                return Ok(None);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Fault::Unavailable(format!(
                    "all {} sessions of token '{}' stayed busy for {SESSION_WAIT:?}",
                    self.max_sessions, self.label
                )));
            }
            pool = self
                .freed
                .wait_timeout(pool, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Gives back a reserved place whose session is gone.
    fn release_slot(&self) {
        let mut pool = lock(&self.pool);
        pool.open = pool.open.saturating_sub(1);
        drop(pool);
        self.freed.notify_one();
    }

    fn open_session(&self, ctx: &Pkcs11) -> Result<Session, Fault> {
        let session = ctx
            .open_rw_session_no_drop(self.slot)
            .map_err(|e| Fault::ck(e, format!("opening a session on token '{}'", self.label)))?;
        // The login is the application's, shared by its sessions; it is repeated only
        // in case every session had been closed in between.
        if let Err(e) = login(&session, &self.pin, &self.label) {
            let _ = session.close();
            return Err(e);
        }
        Ok(session)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.pool.get_mut().unwrap_or_else(|p| p.into_inner()).idle);
        let state = self.module.read();
        if state.context_in(self.generation).is_ok() {
            for session in idle {
                let _ = session.close();
            }
        }
        // Otherwise the sessions died with their generation; forgetting them is all
        // that is left (they do not close themselves on drop).
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn login(session: &Session, pin: &AuthPin, label: &str) -> Result<(), Fault> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, Function::Login)) => Ok(()),
        Err(e) => Err(Fault::ck(e, format!("logging in to token '{label}'"))),
    }
}

/// The slot whose token carries `label`.
fn find_slot(ctx: &Pkcs11, module: &Module, label: &str) -> Result<Slot, Fault> {
    let slots = ctx.get_slots_with_token().map_err(|e| {
        Fault::ck(
            e,
            format!("listing the slots of {}", module.path().display()),
        )
    })?;
    let mut found = Vec::new();
    for slot in &slots {
        match ctx.get_token_info(*slot) {
            Ok(info) if info.label() == label => found.push(*slot),
            Ok(_) => {}
            Err(e) => tracing::debug!(slot = slot.id(), error = %e, "C_GetTokenInfo"),
        }
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(Fault::Unavailable(format!(
            "no token labelled '{label}' in PKCS#11 module {} ({} slots with a token)",
            module.path().display(),
            slots.len()
        ))),
        _ => Err(Fault::Unavailable(format!(
            "{} tokens labelled '{label}' in PKCS#11 module {}; labels must be unique",
            found.len(),
            module.path().display()
        ))),
    }
}

/// Finds the KEK and its MAC key, creating both on the first open.
fn find_kek(
    ctx: &Pkcs11,
    slot: Slot,
    session: &Session,
    label: &str,
    create: bool,
) -> Result<Kek, Fault> {
    let mechanism = wrap_mechanism(ctx, slot, label)?;
    let wrap = find_or_create(session, label, KEK_LABEL, create, || {
        session.generate_key(
            &Mechanism::AesKeyGen,
            &kek_template(KEK_LABEL, KeyType::AES, true),
        )
    })?;
    let mac = find_or_create(session, label, KEK_MAC_LABEL, create, || {
        session.generate_key(
            &Mechanism::GenericSecretKeyGen,
            &kek_template(KEK_MAC_LABEL, KeyType::GENERIC_SECRET, false),
        )
    })?;
    Ok(Kek {
        wrap,
        mac,
        mechanism,
    })
}

/// The wrapping mechanism: RFC 5649 (`CKM_AES_KEY_WRAP_PAD`, which SoftHSM 2.6.1
/// implements as RFC 5649 and lists as 0x210A) where the token has it, else RFC 3394
/// (`CKM_AES_KEY_WRAP`). PKCS#11 3.0's `CKM_AES_KEY_WRAP_KWP` (0x210B) is not
/// offered by SoftHSM 2.6.1 and cryptoki 0.12 cannot name it.
fn wrap_mechanism(ctx: &Pkcs11, slot: Slot, label: &str) -> Result<MechanismType, Fault> {
    let list = ctx
        .get_mechanism_list(slot)
        .map_err(|e| Fault::ck(e, format!("listing the mechanisms of token '{label}'")))?;
    [MechanismType::AES_KEY_WRAP_PAD, MechanismType::AES_KEY_WRAP]
        .into_iter()
        .find(|m| list.contains(m))
        .ok_or_else(|| {
            Fault::Unsupported(format!(
                "token '{label}' offers neither CKM_AES_KEY_WRAP_PAD nor CKM_AES_KEY_WRAP; \
                 wrapped placement needs one of them"
            ))
        })
}

fn find_or_create(
    session: &Session,
    token: &str,
    label: &str,
    create: bool,
    make: impl FnOnce() -> cryptoki::error::Result<ObjectHandle>,
) -> Result<ObjectHandle, Fault> {
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| Fault::ck(e, format!("looking up '{label}' in token '{token}'")))?;
    match found.as_slice() {
        [h] => Ok(*h),
        [] if create => {
            let h = make()
                .map_err(|e| Fault::ck(e, format!("creating '{label}' in token '{token}'")))?;
            tracing::info!(
                token,
                label,
                "created the wrapped placement's key in the token"
            );
            Ok(h)
        }
        [] => Err(Fault::Unavailable(format!(
            "'{label}' is missing from token '{token}': wrapped keys cannot be opened \
             (it is created only when the backend is first opened, never on a reconnect)"
        ))),
        _ => Err(Fault::Unavailable(format!(
            "{} keys labelled '{label}' in token '{token}'; exactly one is expected",
            found.len()
        ))),
    }
}

/// An AES-256 wrapping key or a 256-bit HMAC key: a token object that never leaves
/// the token and does nothing but its one job.
fn kek_template(label: &str, key_type: KeyType, wraps: bool) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(key_type),
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Wrap(wraps),
        Attribute::Unwrap(wraps),
        Attribute::Sign(!wraps),
        Attribute::Verify(!wraps),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
    ]
}
