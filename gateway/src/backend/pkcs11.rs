//! The PKCS#11 backend (DESIGN.md "Backends", issue 4): keys in an HSM, used there.
//!
//! Any PKCS#11 module through `cryptoki`, initialised with `CKF_OS_LOCKING_OK` and
//! shared by every backend of the process that names the same path (`pkcs11/module.rs`).
//! The token is found by label; the user logs in once; a bounded pool of read-write
//! sessions serves requests (SoftHSM serialises short operations, so a few are enough;
//! a network HSM wants more). Two placements:
//!
//! - [`Placement::Resident`]: every key is a token object (`CKA_TOKEN`), generated in
//!   the token, `CKA_SENSITIVE` and not `CKA_EXTRACTABLE` unless the caller asks for an
//!   extractable key (which is then also not sensitive, so the gateway can read it
//!   for an authorised Get). The [`KeyRef`] holds the object's `CKA_ID` (16 random
//!   bytes); handles are cached by `CKA_ID`, so `C_FindObjects` (~13 ms with 1,000
//!   objects on SoftHSM) runs only after a restart, a reconnect or an eviction.
//!   Destroy destroys the token object. A key pair is two token objects sharing a
//!   `CKA_ID`.
//! - [`Placement::Wrapped`]: keys are generated in the token as session objects,
//!   wrapped at once under the token's KEK (`keygate-kek`, AES-256, non-extractable,
//!   created at the first open) and destroyed; the [`KeyRef`] is the wrapped blob
//!   (`CKM_AES_KEY_WRAP_PAD`, else `CKM_AES_KEY_WRAP`). Each use unwraps the blob into
//!   a non-extractable session object, kept in a bounded LRU cache keyed by the
//!   reference's SHA-256. This scales past the token's object capacity and its token
//!   object creation rate (~100/s on SoftHSM). Formats: `pkcs11/keyref.rs`.
//!
//! Binding: the caller's `aad` (vault and UID) is the `CKA_LABEL` of a resident
//! object (a digest of it) and is covered by an HMAC tag, computed in the token, on a
//! wrapped reference; both are checked at every use and export, so a reference copied
//! onto another row, or a wrapped reference whose export flag was flipped, does not
//! open.
//!
//! Failures keep their `CK_RV` and function in the message and the log. When the
//! module reports that the device, token or session is gone, the backend drops its
//! connection; the next call re-initialises the module, finds the token, logs in and
//! retries (bounded, within half a second). While the token stays away, calls fail
//! at once with [`BackendError::Unavailable`] / [`CryptoError::Device`] and a
//! reconnect is tried at most every [`RETRY_INTERVAL`] (backing off to
//! [`MAX_RETRY_INTERVAL`]): no request hangs, and no
//! restart is needed when the token comes back. A `CKR_GENERAL_ERROR` after which the
//! token still answers `C_GetSessionInfo` and `C_GetTokenInfo` is the operation's
//! failure, not the device's.
//!
//! SoftHSM 2.6.1, as seen through this backend (softhsm-tests/tests/pkcs11_backend.rs):
//! - RSA-OAEP with any hash but SHA-1: `C_EncryptInit` returns `CKR_ARGUMENTS_BAD`
//!   (0x7); reported as unsupported, naming the mechanism.
//! - no `CKM_ECDSA_SHA*` (`CKR_MECHANISM_INVALID`): the message is hashed in software
//!   and signed with `CKM_ECDSA`, which every token has;
//! - `CKM_AES_KEY_WRAP` and `CKM_AES_KEY_WRAP_PAD` only wrap keys: as a data cipher
//!   `C_EncryptInit` returns `CKR_MECHANISM_INVALID` (0x70);
//! - `CKM_AES_KEY_WRAP_PAD` (0x210A) is RFC 5649 there; `CKM_AES_KEY_WRAP_KWP`
//!   (0x210B) is not offered (and cryptoki 0.12 cannot name it);
//! - an EdDSA private key cannot be wrapped (`C_WrapKey`: `CKR_KEY_NOT_WRAPPABLE`,
//!   0x69), so wrapped placement has no Ed25519;
//! - HMAC keys shorter than the hash are refused (`C_SignInit`: `CKR_KEY_SIZE_RANGE`);
//! - a failed AES-GCM tag check is `CKR_GENERAL_ERROR` from `C_Decrypt`;
//! - `C_GetTokenInfo` reports no session count;
//! - `CKM_AES_KEY_WRAP_PAD` unwraps a value whose length is not a multiple of 8 with
//!   its padding still on, so data objects carry their length (`encode_data`).
//!
//! Triple-DES keys are `CKK_DES3` (168 bits) or `CKK_DES2` (112 bits) objects, used
//! with `CKM_DES3_CBC[_PAD]` / `CKM_DES3_ECB`. RSA-PSS verification of a signature
//! whose salt length is not the hash length stays in the token: the salt length is
//! read from the signature with the raw public operation (`CKM_RSA_X_509`) and
//! `C_Verify` runs again with it (`pkcs11/ops.rs`); signing uses sLen = hLen.

mod asym;
mod conn;
mod encoding;
mod error;
mod keyref;
mod mech;
mod module;
mod ops;
mod resident;
mod wrap;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::types::AuthPin;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::{BackendError, Export, GeneratedRefs, KeyBackend, KeyRef, KeyUse, NewKey};
use crate::crypto::{
    Cipher, CryptoError, Encrypted, KeyKind, KeyPairSpec, MacAlg, SignInput, SignatureScheme,
    WrapMethod,
};
use conn::{CachedObject, Conn, Target};
use error::Fault;
use keyref::{Class, Parsed, Type, FLAG_EXTRACTABLE, ID_LEN};
use module::Module;

pub use conn::{KEK_LABEL, KEK_MAC_LABEL};
pub use resident::{ResidentObject, LABEL_PREFIX};

/// Least time between two reconnect attempts while the token is unavailable; it
/// doubles with each failed attempt up to [`MAX_RETRY_INTERVAL`]. A reconnect
/// re-initialises the module, which every backend on it feels (their sessions are
/// reopened), so a token that stays away is not retried in a tight loop.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(250);
/// Longest wait between two reconnect attempts.
pub const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// A failed call is retried (after a reconnect, or after evicting a stale handle)
/// only while it has run for less than this, and at most [`MAX_ATTEMPTS`] times.
const RETRY_BUDGET: Duration = Duration::from_millis(500);
const MAX_ATTEMPTS: u32 = 3;

/// Largest symmetric secret generated or imported (SoftHSM's HMAC keys stop at 512
/// bytes; a secret data object rarely needs more).
pub const MAX_SECRET_LEN: usize = 1 << 16;

/// Largest data object kept by [`KeyBackend::import_secret`] (a certificate chain
/// or an opaque object of 1 MiB is plenty).
pub const MAX_DATA_LEN: usize = 1 << 20;

/// First byte of a data object's value (see [`encode_data`]).
const DATA_MARK: u8 = 0x01;

/// A data object's `CKA_VALUE`: [`DATA_MARK`], the length of `bytes` (4 bytes,
/// big-endian), `bytes`, zeros up to a multiple of 8 bytes. The length makes empty
/// data a valid value, and the padding keeps `CKM_AES_KEY_WRAP_PAD` from padding:
/// SoftHSM 2.6.1 unwraps a padded value with its padding still on (a 33-byte value
/// comes back as 40 bytes).
fn encode_data(bytes: &[u8]) -> Result<Vec<u8>, Fault> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| Fault::Unsupported(format!("{} bytes of data", bytes.len())))?;
    let mut value = Vec::with_capacity(bytes.len() + 12);
    value.push(DATA_MARK);
    value.extend_from_slice(&len.to_be_bytes());
    value.extend_from_slice(bytes);
    value.resize(value.len().div_ceil(8) * 8, 0);
    Ok(value)
}

/// The bytes of a data object's value (see [`encode_data`]).
fn decode_data(value: &[u8]) -> Result<Zeroizing<Vec<u8>>, Fault> {
    let bad = || Fault::Integrity("a data object's value is not in Keygate's format".into());
    let (&mark, rest) = value.split_first().ok_or_else(bad)?;
    let (len, bytes) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| bad())?;
    if mark != DATA_MARK || len > bytes.len() {
        return Err(bad());
    }
    Ok(Zeroizing::new(bytes[..len].to_vec()))
}

/// Largest [`KeyBackend::random`] request.
pub const MAX_RANDOM_LEN: usize = 1 << 20;

/// Where a PKCS#11 backend keeps its keys (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Keys are token objects, used in place.
    Resident,
    /// Keys are blobs wrapped under a token-resident KEK, unwrapped into session
    /// objects for use.
    Wrapped,
}

impl Placement {
    /// The configuration spelling: `resident` or `wrapped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Wrapped => "wrapped",
        }
    }

    /// The spelling parsed back.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "resident" => Some(Self::Resident),
            "wrapped" => Some(Self::Wrapped),
            _ => None,
        }
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to reach the token.
pub struct Pkcs11Config {
    /// The backend's configured name.
    pub name: String,
    /// Path of the PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// `CKA_LABEL` of the token (`C_GetTokenInfo` label).
    pub token_label: String,
    /// The user PIN.
    pub pin: Zeroizing<String>,
    /// Resident or wrapped keys.
    pub placement: Placement,
    /// Most sessions open at once (at least 1).
    pub sessions: usize,
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("name", &self.name)
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("placement", &self.placement)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

/// A key backend over a PKCS#11 token.
pub struct Pkcs11Backend {
    name: String,
    token_label: String,
    placement: Placement,
    sessions: usize,
    pin: AuthPin,
    module: Arc<Module>,
    state: Mutex<State>,
    /// Held by the one caller that reconnects; others fail fast meanwhile.
    reconnecting: Mutex<()>,
}

enum State {
    Up(Arc<Conn>),
    Down(Down),
}

struct Down {
    since: Instant,
    /// When a reconnect was last tried (`None`: try at once).
    last_attempt: Option<Instant>,
    /// The failure that took the connection down.
    cause: String,
    /// Why the last reconnect failed.
    last_error: Option<String>,
    /// Reconnect attempts that failed.
    failures: u32,
    /// The module generation the failure was seen in: a reconnect re-initialises
    /// the module only if no one has since.
    generation: u64,
}

impl fmt::Debug for Pkcs11Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Backend")
            .field("name", &self.name)
            .field("module", &self.module.path())
            .field("token_label", &self.token_label)
            .field("placement", &self.placement)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Backend {
    /// Initialises the module (shared with other backends on the same path), finds
    /// the token by label, logs in, and for wrapped placement finds the KEK and its MAC
    /// key, creating them in the token if this is the first open.
    pub fn open(cfg: &Pkcs11Config) -> Result<Self, BackendError> {
        let module = module::get(&cfg.module);
        let pin = AuthPin::from(cfg.pin.as_str());
        let conn = Conn::connect(&Target {
            module: &module,
            token_label: &cfg.token_label,
            pin: &pin,
            sessions: cfg.sessions,
            kek: (cfg.placement == Placement::Wrapped).then_some(true),
        })
        .map_err(|e| BackendError::Unavailable(format!("PKCS#11 backend '{}': {e}", cfg.name)))?;
        tracing::info!(
            backend = %cfg.name,
            module = %cfg.module.display(),
            token = %cfg.token_label,
            placement = ?cfg.placement,
            wrap_mechanism = ?conn.kek.map(|k| k.mechanism.to_string()),
            "PKCS#11 backend open"
        );
        Ok(Self {
            name: cfg.name.clone(),
            token_label: cfg.token_label.clone(),
            placement: cfg.placement,
            sessions: cfg.sessions,
            pin,
            module,
            state: Mutex::new(State::Up(Arc::new(conn))),
            reconnecting: Mutex::new(()),
        })
    }

    /// The placement.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// Sessions the pool has open (0 while the token is unavailable); at most the
    /// configured `sessions`.
    pub fn open_sessions(&self) -> usize {
        match &*lock(&self.state) {
            State::Up(conn) => conn.open_sessions(),
            State::Down(_) => 0,
        }
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The `CKA_ID` of a resident key's token object (for operators and tests).
    pub fn object_id(key: &KeyRef) -> Option<[u8; ID_LEN]> {
        match keyref::parse(&key.0) {
            Ok(Parsed::Resident { id, .. }) => Some(id),
            _ => None,
        }
    }

    /// The `CKA_LABEL` of a resident key's token object made for `aad` (the caller's
    /// binding: vault and UID): `keygate:` and 24 hex digits of its SHA-256. Lets an
    /// operator (or a test) find the token object of a KMIP object.
    pub fn object_label(aad: &[u8]) -> Vec<u8> {
        binding_label(aad)
    }

    /// Generates an AES key of `bits` (128, 192, 256) in the token; exportable later
    /// only if `extractable`. `aad` binds the reference to its object.
    pub fn generate_aes(
        &self,
        bits: u32,
        extractable: bool,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        self.generate_symmetric(KeyKind::Aes(bits), extractable, aad)
    }

    /// Generates a symmetric key in the token: [`KeyKind::Aes`] (`CKM_AES_KEY_GEN`),
    /// [`KeyKind::Hmac`] (`CKM_GENERIC_SECRET_KEY_GEN`, a multiple of 8 bits) or
    /// [`KeyKind::Des3`] (168 bits: `CKM_DES3_KEY_GEN`, a `CKK_DES3` key; 112 bits:
    /// `CKM_DES2_KEY_GEN`, a `CKK_DES2` key).
    pub fn generate_symmetric(
        &self,
        kind: KeyKind,
        extractable: bool,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        self.generate_symmetric_as(kind, Export::from_extractable(extractable), aad)
    }

    /// [`Pkcs11Backend::generate_symmetric`] with a wrapped-only choice.
    fn generate_symmetric_as(
        &self,
        kind: KeyKind,
        export: Export,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        let ty = symmetric_type(kind)?;
        let len = symmetric_len(kind)?;
        let mechanism = match ty {
            Type::Aes => Mechanism::AesKeyGen,
            Type::Des2 => Mechanism::Des2KeyGen,
            Type::Des3 => Mechanism::Des3KeyGen,
            _ => Mechanism::GenericSecretKeyGen,
        };
        let value_len = u64::try_from(len).unwrap_or(u64::MAX);
        self.make_secret(ty, export, aad, |_, _, session, template| {
            // A DES key's length follows from its type (CKA_VALUE_LEN is not given).
            if !matches!(ty, Type::Des2 | Type::Des3) {
                template.push(Attribute::ValueLen(value_len.into()));
            }
            session
                .generate_key(&mechanism, template)
                .map_err(|e| Fault::ck(e, format!("generating a {kind:?} key")))
        })
        .map_err(BackendError::from)
    }

    /// Takes custody of caller-supplied key bytes as a [`KeyKind::Aes`],
    /// [`KeyKind::Hmac`] or [`KeyKind::Des3`] key (`C_CreateObject`; in wrapped
    /// placement a session object wrapped at once). A two-key Triple-DES key is 16
    /// bytes (`CKK_DES2`), a three-key one 24 (`CKK_DES3`); the bytes are kept as given
    /// (parity bits included).
    pub fn import_symmetric(
        &self,
        kind: KeyKind,
        secret: &[u8],
        extractable: bool,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        self.import_symmetric_as(kind, secret, Export::from_extractable(extractable), aad)
    }

    /// [`Pkcs11Backend::import_symmetric`] with a wrapped-only choice.
    fn import_symmetric_as(
        &self,
        kind: KeyKind,
        secret: &[u8],
        export: Export,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        let ty = symmetric_type(kind)?;
        if symmetric_len(kind)? != secret.len() {
            return Err(BackendError::Unsupported(format!(
                "{kind:?} key given {} bytes",
                secret.len()
            )));
        }
        self.make_secret(ty, export, aad, |_, _, session, template| {
            template.push(Attribute::Class(Class::Secret.object_class()));
            template.push(Attribute::KeyType(ty.key_type()));
            template.push(Attribute::Value(secret.to_vec()));
            let created = session.create_object(template);
            scrub(template);
            created.map_err(|e| Fault::ck(e, format!("importing a {kind:?} key")))
        })
        .map_err(BackendError::from)
    }

    /// Creates a secret key with `create` (which completes the template) as a token
    /// object (resident) or a session object wrapped at once (wrapped).
    fn make_secret(
        &self,
        ty: Type,
        export: Export,
        aad: &[u8],
        create: impl Fn(&Conn, &Pkcs11, &Session, &mut Vec<Attribute>) -> Result<ObjectHandle, Fault>,
    ) -> Result<KeyRef, Fault> {
        match self.placement {
            Placement::Resident => {
                self.run(|conn, ctx, session| {
                    // A fresh id per attempt: a retried creation that had in fact
                    // succeeded leaves an orphan, never two objects with one id.
                    let id = random_id()?;
                    let label = binding_label(aad);
                    let mut template = usage(Class::Secret, ty);
                    template.extend([
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(export != Export::Clear),
                        Attribute::Extractable(export != Export::Never),
                        Attribute::Id(id.to_vec()),
                        Attribute::Label(label.clone()),
                    ]);
                    let handle = create(conn, ctx, session, &mut template)?;
                    conn.remember(Class::Secret, &id, handle, label);
                    Ok(KeyRef(keyref::resident(Class::Secret, ty, &id)))
                })
            }
            Placement::Wrapped => self.run(|conn, ctx, session| {
                let kek = kek(conn)?;
                let mut template = usage(Class::Secret, ty);
                // Extractable in the token only so that C_WrapKey may wrap it; the
                // object lives for the next call alone. The export flag is the
                // reference's, bound by its tag.
                template.extend([
                    Attribute::Token(false),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(true),
                ]);
                let handle = create(conn, ctx, session, &mut template)?;
                let wrapped = wrap_and_destroy(session, &kek, handle);
                let flags = if export == Export::Clear {
                    FLAG_EXTRACTABLE
                } else {
                    0
                };
                let body = keyref::wrapped_body(Class::Secret, ty, flags, kek.mechanism, &wrapped?);
                Ok(KeyRef(seal(session, &kek, body, aad)?))
            }),
        }
    }

    /// Runs `op` on a pooled session of a live connection, reconnecting first if the
    /// backend is down. A device-class fault drops the connection and the call is
    /// retried on a new one; a stale handle (which `op` evicts) is retried too; both
    /// within [`RETRY_BUDGET`] and [`MAX_ATTEMPTS`].
    fn run<T>(
        &self,
        mut op: impl FnMut(&Conn, &Pkcs11, &Session) -> Result<T, Fault>,
    ) -> Result<T, Fault> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let conn = self.conn()?;
            match conn.with_session(|ctx, session| op(&conn, ctx, session)) {
                Err(e) if e.is_device() => {
                    self.mark_down(&conn, &e);
                    if attempt >= MAX_ATTEMPTS || started.elapsed() >= RETRY_BUDGET {
                        return Err(e);
                    }
                }
                Err(e) if e.is_stale_handle() && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(backend = %self.name, error = %e, "stale object handle; looking it up again");
                }
                other => return other,
            }
        }
    }

    /// The live connection, reconnecting if the backend is down and the last
    /// reconnect attempt is old enough (see [`RETRY_INTERVAL`]).
    fn conn(&self) -> Result<Arc<Conn>, Fault> {
        {
            let state = lock(&self.state);
            match &*state {
                State::Up(conn) => return Ok(Arc::clone(conn)),
                State::Down(down) => {
                    let wait = RETRY_INTERVAL
                        .saturating_mul(1 << down.failures.min(8))
                        .min(MAX_RETRY_INTERVAL);
                    if down.last_attempt.is_some_and(|t| t.elapsed() < wait) {
                        return Err(self.down_fault(down));
                    }
                }
            }
        }
        let Ok(_reconnecting) = self.reconnecting.try_lock() else {
            return Err(Fault::Unavailable(format!(
                "token '{}' of backend '{}' is reconnecting",
                self.token_label, self.name
            )));
        };
        let seen = {
            let mut state = lock(&self.state);
            match &mut *state {
                State::Up(conn) => return Ok(Arc::clone(conn)),
                State::Down(down) => {
                    down.last_attempt = Some(Instant::now());
                    down.generation
                }
            }
        };
        let result = self.reconnect(seen);
        let mut state = lock(&self.state);
        match result {
            Ok(conn) => {
                let conn = Arc::new(conn);
                if let State::Down(down) = &*state {
                    tracing::info!(
                        backend = %self.name,
                        token = %self.token_label,
                        down_for = ?down.since.elapsed(),
                        "PKCS#11 token reconnected"
                    );
                }
                *state = State::Up(Arc::clone(&conn));
                Ok(conn)
            }
            Err(e) => {
                let generation = self.module.read().generation();
                match &mut *state {
                    State::Down(down) => {
                        tracing::warn!(backend = %self.name, token = %self.token_label, error = %e, "PKCS#11 reconnect failed");
                        down.last_error = Some(e.to_string());
                        down.failures = down.failures.saturating_add(1);
                        down.generation = generation;
                        Err(self.down_fault(down))
                    }
                    State::Up(_) => Err(e),
                }
            }
        }
    }

    /// Re-initialises the module unless someone did since generation `seen`, then
    /// connects (never creating a KEK: a missing KEK on a reconnect is an outage).
    fn reconnect(&self, seen: u64) -> Result<Conn, Fault> {
        if self.module.read().generation() == seen {
            self.module.reinitialize(seen)?;
        }
        Conn::connect(&Target {
            module: &self.module,
            token_label: &self.token_label,
            pin: &self.pin,
            sessions: self.sessions,
            kek: (self.placement == Placement::Wrapped).then_some(false),
        })
    }

    /// Takes `conn` out of service after a device-class fault.
    fn mark_down(&self, conn: &Arc<Conn>, fault: &Fault) {
        let mut state = lock(&self.state);
        if let State::Up(current) = &*state {
            if Arc::ptr_eq(current, conn) {
                tracing::warn!(
                    backend = %self.name,
                    token = %self.token_label,
                    ck_rv = ?fault.rv(),
                    error = %fault,
                    "PKCS#11 token failed; dropping its sessions and reconnecting"
                );
                *state = State::Down(Down {
                    since: Instant::now(),
                    last_attempt: None,
                    cause: fault.to_string(),
                    last_error: None,
                    failures: 0,
                    generation: conn.generation,
                });
            }
        }
    }

    fn down_fault(&self, down: &Down) -> Fault {
        let mut message = format!(
            "token '{}' of backend '{}' is unavailable (for {} ms; cause: {})",
            self.token_label,
            self.name,
            down.since.elapsed().as_millis(),
            down.cause
        );
        if let Some(last) = &down.last_error {
            message.push_str("; reconnect failed: ");
            message.push_str(last);
        }
        Fault::Unavailable(message)
    }

    /// A usable handle for `parsed`, bound to `aad`: a token object whose label
    /// binds it to `aad`, or a session object unwrapped or imported from a reference
    /// whose tag verifies over `aad` (cached by reference, with the aad it was checked
    /// against). The returned guard keeps a cached object alive while in use.
    fn resolve(
        &self,
        conn: &Conn,
        ctx: &Pkcs11,
        session: &Session,
        parsed: &Parsed<'_>,
        raw: &[u8],
        aad: &[u8],
    ) -> Result<(ObjectHandle, Option<Arc<CachedObject>>), Fault> {
        match parsed {
            Parsed::Resident { class, id, .. } => {
                let (handle, label) = conn.resident_handle(ctx, session, *class, id)?;
                if label != binding_label(aad) {
                    return Err(Fault::Integrity(format!(
                        "token object {} is bound to another object",
                        hex::encode(id)
                    )));
                }
                Ok((handle, None))
            }
            Parsed::Wrapped {
                class,
                ty,
                mechanism,
                blob,
                signed,
                tag,
                ..
            } => {
                let key = cache_key(raw);
                let aad_digest: [u8; 32] = Sha256::digest(aad).into();
                if let Some(obj) = conn.cached(&key).filter(|o| o.aad == aad_digest) {
                    return Ok((obj.handle, Some(obj)));
                }
                let kek = kek(conn)?;
                check_tag(session, &kek, signed, aad, tag)?;
                let copy = SessionCopy {
                    usage: usage(*class, *ty),
                    sensitive: true,
                    extractable: false,
                };
                let handle = copy
                    .unwrap(session, &kek, *class, *ty, *mechanism, blob)
                    .map_err(|e| {
                        Fault::ck(e, format!("unwrapping a {class:?} key under '{KEK_LABEL}'"))
                    })?;
                let obj = conn.cache(key, handle, aad_digest);
                Ok((obj.handle, Some(obj)))
            }
            Parsed::Public {
                ty,
                spki,
                signed,
                tag,
            } => {
                let key = cache_key(raw);
                let aad_digest: [u8; 32] = Sha256::digest(aad).into();
                if let Some(obj) = conn.cached(&key).filter(|o| o.aad == aad_digest) {
                    return Ok((obj.handle, Some(obj)));
                }
                // Only public keys this backend made, for this object: a row pointed at
                // another public key would make forged signatures verify.
                check_tag(session, &kek(conn)?, signed, aad, tag)?;
                let handle = ops::import_public(session, *ty, spki)?;
                let obj = conn.cache(key, handle, aad_digest);
                Ok((obj.handle, Some(obj)))
            }
        }
    }

    /// Drops what `resolve` cached for `parsed` (after the token refused the handle).
    fn evict(&self, conn: &Conn, parsed: &Parsed<'_>, raw: &[u8]) {
        match parsed {
            Parsed::Resident { class, id, .. } => conn.forget(*class, id),
            Parsed::Wrapped { .. } | Parsed::Public { .. } => conn.uncache(&cache_key(raw)),
        }
    }

    /// Runs `f` with a usable handle for `key` bound to `aad`, evicting the handle if
    /// the token calls it stale.
    fn with_key<T>(
        &self,
        key: &KeyRef,
        parsed: &Parsed<'_>,
        aad: &[u8],
        mut f: impl FnMut(&Conn, &Pkcs11, &Session, ObjectHandle) -> Result<T, Fault>,
    ) -> Result<T, Fault> {
        self.run(|conn, ctx, session| {
            let (handle, _in_use) = self.resolve(conn, ctx, session, parsed, &key.0, aad)?;
            let result = f(conn, ctx, session, handle);
            if matches!(&result, Err(e) if e.is_stale_handle()) {
                self.evict(conn, parsed, &key.0);
            }
            result
        })
    }

    fn export(&self, key: &KeyRef, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, Fault> {
        let parsed = keyref::parse(&key.0)?;
        let value = self.export_value(key, &parsed, aad)?;
        if parsed.class_type() == (Class::Secret, Type::Data) {
            return decode_data(&value);
        }
        Ok(value)
    }

    fn export_value(
        &self,
        key: &KeyRef,
        parsed: &Parsed<'_>,
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Fault> {
        let parsed = parsed.clone();
        match &parsed {
            Parsed::Resident {
                class: Class::Secret,
                ..
            } => self.with_key(key, &parsed, aad, |_, _, session, handle| {
                let attrs = session
                    .get_attributes(
                        handle,
                        &[AttributeType::Extractable, AttributeType::Sensitive],
                    )
                    .map_err(|e| Fault::ck(e, "reading the key's export attributes"))?;
                let (mut extractable, mut sensitive) = (false, true);
                for a in attrs {
                    match a {
                        Attribute::Extractable(v) => extractable = v,
                        Attribute::Sensitive(v) => sensitive = v,
                        _ => {}
                    }
                }
                if !extractable || sensitive {
                    return Err(not_extractable(&self.token_label));
                }
                read_value(session, handle)
            }),
            Parsed::Wrapped {
                class: Class::Secret,
                ty,
                flags,
                mechanism,
                blob,
                signed,
                tag,
            } => self.run(|conn, _, session| {
                let kek = kek(conn)?;
                check_tag(session, &kek, signed, aad, tag)?;
                if flags & FLAG_EXTRACTABLE == 0 {
                    return Err(not_extractable(&self.token_label));
                }
                read_export_copy(
                    session,
                    &kek,
                    Class::Secret,
                    *ty,
                    *mechanism,
                    blob,
                    read_value,
                )
            }),
            _ => self.export_asymmetric(key, &parsed, aad),
        }
    }

    fn destroy_key(&self, key: &KeyRef) -> Result<(), Fault> {
        let parsed = keyref::parse(&key.0)?;
        match &parsed {
            Parsed::Resident { class, id, .. } => self.run(|conn, ctx, session| {
                let handle = match conn.resident_handle(ctx, session, *class, id) {
                    Ok((h, _)) => h,
                    Err(Fault::NotFound(m)) => {
                        tracing::info!(backend = %self.name, "destroy of a key already gone: {m}");
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                };
                let destroyed = session.destroy_object(handle);
                conn.forget(*class, id);
                destroyed.map_err(|e| Fault::ck(e, format!("destroying key {}", hex::encode(id))))
            }),
            Parsed::Wrapped { .. } | Parsed::Public { .. } => {
                // The blob is the key; the store dropping it is the erasure. A
                // session object unwrapped from it goes now.
                if let State::Up(conn) = &*lock(&self.state) {
                    conn.uncache(&cache_key(&key.0));
                }
                Ok(())
            }
        }
    }
}

impl KeyBackend for Pkcs11Backend {
    fn name(&self) -> &str {
        &self.name
    }

    /// A 16-, 24- or 32-byte secret becomes an AES key, any other length a generic
    /// secret (HMAC key); never extractable (the trait has no flag for it; see
    /// [`Pkcs11Backend::generate_symmetric`]).
    fn generate_secret(&self, len: usize, aad: &[u8]) -> Result<KeyRef, BackendError> {
        self.generate_symmetric(kind_for_len(len)?, false, aad)
    }

    /// Custody of bytes the gateway may return (Secret Data, Opaque Object,
    /// certificates, keys in a format the token cannot use): a `CKK_GENERIC_SECRET`
    /// object with every usage attribute false, extractable and not sensitive, whose
    /// value is the bytes with a small header (`encode_data`).
    /// Resident: a token object labelled with the binding; wrapped: wrapped under the
    /// KEK, the reference's export flag set. The gateway's Extractable and Sensitive
    /// attributes decide whether Get returns them; symmetric keys come in through
    /// [`KeyBackend::import_key`] and stay keys.
    fn import_secret(&self, secret: &[u8], aad: &[u8]) -> Result<KeyRef, BackendError> {
        if secret.len() > MAX_DATA_LEN {
            return Err(BackendError::Unsupported(format!(
                "{} bytes exceed the maximum of {MAX_DATA_LEN} a PKCS#11 backend keeps",
                secret.len()
            )));
        }
        self.make_secret(Type::Data, Export::Clear, aad, |_, _, session, template| {
            let value = encode_data(secret)?;
            template.push(Attribute::Class(Class::Secret.object_class()));
            template.push(Attribute::KeyType(Type::Data.key_type()));
            template.push(Attribute::Value(value));
            let created = session.create_object(template);
            scrub(template);
            created.map_err(|e| Fault::ck(e, "keeping data bytes"))
        })
        .map_err(BackendError::from)
    }

    /// A PKCS#8 RSA or EC (P-256/P-384) private key as a typed key of the token
    /// (`C_CreateObject`, `CKO_PRIVATE_KEY`): resident, a token object (with its
    /// public half under the same `CKA_ID`), `CKA_SENSITIVE` and not
    /// `CKA_EXTRACTABLE` unless `extractable`; wrapped, a session object wrapped at
    /// once, the reference's export flag set to `extractable`.
    fn import_private_key(
        &self,
        kind: KeyKind,
        pkcs8: &[u8],
        extractable: bool,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        self.import_private_inner(kind, pkcs8, extractable, aad)
            .map_err(BackendError::from)
    }

    /// An SPKI RSA, EC (P-256/P-384) or Ed25519 public key: resident, a token object
    /// (`CKO_PUBLIC_KEY`); wrapped, the SPKI in a tagged reference.
    fn import_public_key(
        &self,
        kind: KeyKind,
        spki: &[u8],
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        self.import_public_inner(kind, spki, aad)
            .map_err(BackendError::from)
    }

    /// [`Pkcs11Backend::generate_symmetric`]: an AES key (`CKK_AES`,
    /// `CKM_AES_KEY_GEN`), an HMAC key (`CKK_GENERIC_SECRET`,
    /// `CKM_GENERIC_SECRET_KEY_GEN`) or a Triple-DES key (`CKK_DES3`,
    /// `CKM_DES3_KEY_GEN`; two-key: `CKK_DES2`, `CKM_DES2_KEY_GEN`). Resident: a token
    /// object with `CKA_SENSITIVE` unless [`Export::Clear`] and `CKA_EXTRACTABLE`
    /// unless [`Export::Never`] (a wrapped-only key can be wrapped, never read);
    /// wrapped: a session object wrapped at once, the reference's export flag set for
    /// [`Export::Clear`].
    fn generate_key(
        &self,
        kind: KeyKind,
        export: Export,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        self.generate_symmetric_as(kind, export, aad)
    }

    /// [`Pkcs11Backend::import_symmetric`] (`C_CreateObject`) for AES, HMAC and
    /// Triple-DES keys, with the same attributes as [`KeyBackend::generate_key`] (but
    /// not `CKA_LOCAL`). Other kinds (private or public keys: see
    /// [`KeyBackend::import_private_key`]) are [`BackendError::Unsupported`] here.
    fn import_key(
        &self,
        kind: KeyKind,
        secret: &[u8],
        export: Export,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        self.import_symmetric_as(kind, secret, export, aad)
    }

    /// Resident: `CKA_VALUE` of an extractable, non-sensitive token object bound to
    /// `aad`. Wrapped: checks the reference's tag over `aad` and its export flag, then
    /// unwraps a one-call extractable copy, reads it and destroys it. A non-extractable
    /// key is refused with [`BackendError::NotExtractable`]. A private key comes back
    /// as PKCS#8 (RSA, EC: rebuilt from its `CKA_*` components), a public key as its
    /// SubjectPublicKeyInfo, data bytes (see [`KeyBackend::import_secret`]) as given.
    fn export_secret(&self, key: &KeyRef, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        self.export(key, aad).map_err(BackendError::from)
    }

    /// Resident: `C_DestroyObject` (a key already gone is not an error). Wrapped: a
    /// no-op but for dropping the cached unwrapped copy.
    fn destroy(&self, key: &KeyRef) -> Result<(), BackendError> {
        self.destroy_key(key).map_err(BackendError::from)
    }

    /// `C_GenerateRandom`; at most [`MAX_RANDOM_LEN`] bytes.
    fn random(&self, len: usize) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        if len > MAX_RANDOM_LEN {
            return Err(BackendError::Unsupported(format!(
                "random length {len} exceeds the maximum of {MAX_RANDOM_LEN} bytes"
            )));
        }
        if len == 0 {
            return Ok(Zeroizing::new(Vec::new()));
        }
        let n = u32::try_from(len).unwrap_or(u32::MAX);
        self.run(|_, _, session| {
            session
                .generate_random_vec(n)
                .map(Zeroizing::new)
                .map_err(|e| Fault::ck(e, "generating random bytes"))
        })
        .map_err(BackendError::from)
    }

    /// In the token: RSA 2048/3072/4096 with e = 65537 (`CKM_RSA_PKCS_KEY_PAIR_GEN`),
    /// EC P-256/P-384 (`CKM_EC_KEY_PAIR_GEN`), Ed25519 (`CKM_EC_EDWARDS_KEY_PAIR_GEN`).
    /// Resident: two token objects sharing one `CKA_ID`, each labelled with its own
    /// binding, the private one sensitive and non-extractable unless `extractable`.
    /// Wrapped: the private key wrapped under the KEK, the public key kept as its SPKI
    /// in a tagged reference.
    fn generate_pair(
        &self,
        spec: KeyPairSpec,
        extractable: bool,
        aad_private: &[u8],
        aad_public: &[u8],
    ) -> Result<GeneratedRefs, CryptoError> {
        let (private, public, public_spki) =
            crypto(self.generate_pair_inner(spec, extractable, aad_private, aad_public))?;
        Ok(GeneratedRefs {
            private,
            public,
            public_spki,
        })
    }

    /// `C_WrapKey` in the token for a secret key (`pkcs11/wrap.rs`); other
    /// objects are exported (when the token allows) and wrapped as bytes.
    fn wrap_key(
        &self,
        wrapping: KeyUse<'_>,
        method: WrapMethod,
        target: KeyUse<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        if Self::wraps_in_token(target.key) {
            return crypto(self.wrap_key_inner(wrapping, method, target));
        }
        super::export_and_wrap(self, wrapping, method, target)
    }

    /// Through a session generic secret holding the bytes (`pkcs11/wrap.rs`).
    fn wrap_bytes(
        &self,
        wrapping: KeyUse<'_>,
        method: WrapMethod,
        clear: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        crypto(self.wrap_bytes_inner(wrapping, method, clear))
    }

    /// `C_UnwrapKey` into a session generic secret, read and destroyed.
    fn unwrap_bytes(
        &self,
        unwrapping: KeyUse<'_>,
        method: WrapMethod,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        crypto(self.unwrap_bytes_inner(unwrapping, method, wrapped))
    }

    /// `C_UnwrapKey` straight into the token (resident) or into a session object
    /// wrapped under the KEK at once (wrapped): the clear key never leaves the token.
    fn unwrap_key(
        &self,
        unwrapping: KeyUse<'_>,
        method: WrapMethod,
        wrapped: &[u8],
        new: NewKey<'_>,
    ) -> Result<KeyRef, CryptoError> {
        crypto(self.unwrap_key_inner(unwrapping, method, wrapped, new))
    }

    /// In the token with an AES key, a Triple-DES key ([`Cipher::AesCbc`] /
    /// [`Cipher::AesEcb`] with a [`KeyKind::Des3`] key: `CKM_DES3_CBC[_PAD]` /
    /// `CKM_DES3_ECB`, 8-byte IV, as the software backend reads them), or an RSA
    /// public key for RSA-OAEP and PKCS#1 v1.5. An IV/nonce the caller left out is drawn from the token's generator and
    /// returned in [`Encrypted::iv`]; AES-GCM's tag is returned apart.
    fn encrypt(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        cipher: &Cipher,
        data: &[u8],
    ) -> Result<Encrypted, CryptoError> {
        crypto(self.encrypt_inner(key, aad, kind, cipher, data))
    }

    /// In the token. For AES-GCM, `cipher` carries the nonce and the tag; a tag that
    /// does not verify is [`CryptoError::Failed`].
    fn decrypt(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        cipher: &Cipher,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        crypto(self.decrypt_inner(key, aad, kind, cipher, data))
    }

    /// In the token with the private key; ECDSA signatures come back DER-encoded
    /// (X9.62), as KMIP carries them.
    fn sign(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        scheme: SignatureScheme,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        crypto(self.sign_inner(key, aad, kind, scheme, input))
    }

    /// In the token with the public key (for a resident private key, the public
    /// object of the pair). `Ok(false)` for a signature that does not verify,
    /// including a malformed one.
    fn verify(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        scheme: SignatureScheme,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        crypto(self.verify_inner(key, aad, kind, scheme, input, signature))
    }

    /// In the token: HMAC over a [`KeyKind::Hmac`] key, AES-CMAC over a
    /// [`KeyKind::Aes`] key.
    fn mac(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        alg: MacAlg,
        data: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        crypto(self.mac_inner(key, aad, kind, alg, data))
    }
}

/// The kind the trait's length-only calls mean.
fn kind_for_len(len: usize) -> Result<KeyKind, BackendError> {
    let bits = u32::try_from(len.saturating_mul(8))
        .map_err(|_| BackendError::Unsupported(format!("secret of {len} bytes")))?;
    Ok(match len {
        16 | 24 | 32 => KeyKind::Aes(bits),
        _ => KeyKind::Hmac(bits),
    })
}

fn symmetric_type(kind: KeyKind) -> Result<Type, BackendError> {
    match kind {
        KeyKind::Aes(_) => Ok(Type::Aes),
        KeyKind::Hmac(_) => Ok(Type::Generic),
        KeyKind::Des3(112) => Ok(Type::Des2),
        KeyKind::Des3(168) => Ok(Type::Des3),
        other => Err(BackendError::Unsupported(format!(
            "{other:?} keys are not generated or imported by a PKCS#11 backend (AES, HMAC \
             and Triple-DES (112 or 168 bits) keys are; key pairs come from generate_pair)"
        ))),
    }
}

/// Key length in bytes, checked.
fn symmetric_len(kind: KeyKind) -> Result<usize, BackendError> {
    let bits = match kind {
        KeyKind::Aes(bits @ (128 | 192 | 256)) => bits,
        KeyKind::Hmac(bits) if bits > 0 && bits % 8 == 0 => bits,
        // Two-key and three-key Triple-DES keys are 16 and 24 bytes (parity included).
        KeyKind::Des3(112) => 128,
        KeyKind::Des3(168) => 192,
        other => {
            return Err(BackendError::Unsupported(format!(
                "{other:?}: AES keys are 128, 192 or 256 bits, HMAC keys a positive multiple \
                 of 8 bits, Triple-DES keys 112 or 168 bits"
            )))
        }
    };
    let len = usize::try_from(bits / 8).unwrap_or(usize::MAX);
    if len > MAX_SECRET_LEN {
        return Err(BackendError::Unsupported(format!(
            "secret length {len} exceeds the maximum of {MAX_SECRET_LEN} bytes"
        )));
    }
    Ok(len)
}

/// Usage attributes of a key: what it may do in the token, nothing more.
fn usage(class: Class, ty: Type) -> Vec<Attribute> {
    let (encrypt, sign) = match (class, ty) {
        (Class::Secret, Type::Aes) => (true, true),
        (Class::Secret, Type::Des2 | Type::Des3) => (true, false),
        (Class::Secret, Type::Data) => (false, false),
        (Class::Secret, _) => (false, true),
        (_, Type::Rsa) => (true, true),
        _ => (false, true),
    };
    // AES and RSA keys may wrap and unwrap keys (ops::wrap checks the object's Wrap
    // Key / Unwrap Key usage before asking).
    let wraps = matches!(ty, Type::Aes | Type::Rsa);
    let mut attrs = match class {
        Class::Secret => vec![
            Attribute::Encrypt(encrypt),
            Attribute::Decrypt(encrypt),
            Attribute::Sign(sign),
            Attribute::Verify(sign),
            Attribute::Wrap(wraps),
            Attribute::Unwrap(wraps),
        ],
        Class::Private => vec![
            Attribute::Sign(sign),
            Attribute::Decrypt(encrypt),
            Attribute::Unwrap(wraps),
        ],
        Class::Public => vec![
            Attribute::Verify(sign),
            Attribute::Encrypt(encrypt),
            Attribute::Wrap(wraps),
        ],
    };
    if class != Class::Public {
        attrs.push(Attribute::Derive(false));
    }
    attrs
}

/// `CKA_LABEL` binding a resident key to its object (vault and UID): checked at every
/// use and export, so a reference copied onto another row does not open.
fn binding_label(aad: &[u8]) -> Vec<u8> {
    format!("keygate:{}", hex::encode(&Sha256::digest(aad)[..12])).into_bytes()
}

/// The `cryptoki` mechanism for a wrapping mechanism type a reference names.
fn wrap_mechanism(mechanism: cryptoki::mechanism::MechanismType) -> Mechanism<'static> {
    if mechanism == cryptoki::mechanism::MechanismType::AES_KEY_WRAP {
        Mechanism::AesKeyWrap
    } else {
        Mechanism::AesKeyWrapPad
    }
}

fn cache_key(raw: &[u8]) -> [u8; 32] {
    Sha256::digest(raw).into()
}

fn random_id() -> Result<[u8; ID_LEN], Fault> {
    use rand::TryRngCore;
    let mut id = [0u8; ID_LEN];
    rand::rngs::OsRng
        .try_fill_bytes(&mut id)
        .map_err(|e| Fault::Library(format!("operating system random generator failed: {e}")))?;
    Ok(id)
}

/// Unwraps a wrapped-placement key (`blob`, of `class` and `ty`) under the KEK into
/// a short-lived extractable session object, reads it with `read`, and destroys the
/// copy whatever the read gave (for export of an extractable key).
fn read_export_copy<T>(
    session: &Session,
    kek: &conn::Kek,
    class: Class,
    ty: Type,
    mechanism: cryptoki::mechanism::MechanismType,
    blob: &[u8],
    read: impl FnOnce(&Session, ObjectHandle) -> Result<T, Fault>,
) -> Result<T, Fault> {
    let copy = SessionCopy {
        usage: Vec::new(),
        sensitive: false,
        extractable: true,
    };
    let handle = copy
        .unwrap(session, kek, class, ty, mechanism, blob)
        .map_err(|e| {
            Fault::ck(
                e,
                format!("unwrapping a key under '{KEK_LABEL}' for export"),
            )
        })?;
    let value = read(session, handle);
    if let Err(e) = session.destroy_object(handle) {
        tracing::warn!(error = %e, "destroying an unwrapped export copy");
    }
    value
}

/// The session object a key kept wrapped under the KEK is unwrapped into: private
/// to the login, gone with the session, with these usage attributes and export
/// flags. The one template of every unwrap from a blob.
struct SessionCopy {
    usage: Vec<Attribute>,
    sensitive: bool,
    extractable: bool,
}

impl SessionCopy {
    /// `C_UnwrapKey` of `blob` (a `class`/`ty` key wrapped with `mechanism`) under
    /// the KEK.
    fn unwrap(
        self,
        session: &Session,
        kek: &conn::Kek,
        class: Class,
        ty: Type,
        mechanism: cryptoki::mechanism::MechanismType,
        blob: &[u8],
    ) -> Result<ObjectHandle, cryptoki::error::Error> {
        let mut template = self.usage;
        template.extend([
            Attribute::Class(class.object_class()),
            Attribute::KeyType(ty.key_type()),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(self.sensitive),
            Attribute::Extractable(self.extractable),
        ]);
        session.unwrap_key(&wrap_mechanism(mechanism), kek.wrap, blob, &template)
    }
}

fn kek(conn: &Conn) -> Result<conn::Kek, Fault> {
    conn.kek.ok_or_else(|| {
        Fault::Unsupported(
            "a wrapped key reference on a backend with resident placement (no KEK loaded)".into(),
        )
    })
}

/// Wraps `handle` under the KEK and destroys it, whatever the wrap's outcome.
fn wrap_and_destroy(
    session: &Session,
    kek: &conn::Kek,
    handle: ObjectHandle,
) -> Result<Vec<u8>, Fault> {
    let wrapped = session
        .wrap_key(&wrap_mechanism(kek.mechanism), kek.wrap, handle)
        .map_err(|e| Fault::ck(e, format!("wrapping a new key under '{KEK_LABEL}'")));
    if let Err(e) = session.destroy_object(handle) {
        tracing::warn!(error = %e, "destroying a wrapped key's session object");
    }
    wrapped
}

/// Appends the reference tag (HMAC-SHA-256 under the token's MAC key, over `body ||
/// aad`) to `body`.
fn seal(
    session: &Session,
    kek: &conn::Kek,
    mut body: Vec<u8>,
    aad: &[u8],
) -> Result<Vec<u8>, Fault> {
    let mut data = Vec::with_capacity(body.len() + aad.len());
    data.extend_from_slice(&body);
    data.extend_from_slice(aad);
    let tag = session
        .sign(&Mechanism::Sha256Hmac, kek.mac, &data)
        .map_err(|e| Fault::ck(e, format!("tagging a key reference with '{KEK_MAC_LABEL}'")))?;
    body.extend_from_slice(&tag);
    Ok(body)
}

fn check_tag(
    session: &Session,
    kek: &conn::Kek,
    signed: &[u8],
    aad: &[u8],
    tag: &[u8],
) -> Result<(), Fault> {
    let mut data = Vec::with_capacity(signed.len() + aad.len());
    data.extend_from_slice(signed);
    data.extend_from_slice(aad);
    match session.verify(&Mechanism::Sha256Hmac, kek.mac, &data, tag) {
        Ok(()) => Ok(()),
        Err(e) => {
            let fault = Fault::ck(
                e,
                format!("checking a key reference's tag with '{KEK_MAC_LABEL}'"),
            );
            match fault.rv() {
                Some(cryptoki::error::RvError::SignatureInvalid | cryptoki::error::RvError::SignatureLenRange) => {
                    Err(Fault::Integrity(
                        "the key reference's tag does not verify (altered, bound to another object, or made under another token's key)".into(),
                    ))
                }
                _ => Err(fault),
            }
        }
    }
}

/// `CKA_VALUE`, into zeroizing memory.
fn read_value(session: &Session, handle: ObjectHandle) -> Result<Zeroizing<Vec<u8>>, Fault> {
    let attrs = session
        .get_attributes(handle, &[AttributeType::Value])
        .map_err(|e| Fault::ck(e, "reading the key value (CKA_VALUE)"))?;
    for attr in attrs {
        if let Attribute::Value(v) = attr {
            return Ok(Zeroizing::new(v));
        }
    }
    Err(Fault::Library("the token returned no CKA_VALUE".into()))
}

fn not_extractable(token: &str) -> Fault {
    Fault::NotExtractable(format!(
        "the key is not extractable: it was made in token '{token}' without CKA_EXTRACTABLE \
         (or as sensitive) and never leaves it; it can only be used there"
    ))
}

/// Zeroizes secret values in a template after the call that used it.
fn scrub(template: &mut [Attribute]) {
    for attr in template {
        if let Attribute::Value(v) = attr {
            v.zeroize();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Maps faults of the crypto calls.
fn crypto<T>(r: Result<T, Fault>) -> Result<T, CryptoError> {
    r.map_err(CryptoError::from)
}
