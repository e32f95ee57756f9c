//! The library's functions in safe Rust: one per PKCS#11 entry point, called by the
//! C face (`ffi`) once it has checked and copied the caller's arguments. Each names
//! the section of PKCS#11 3.0 (§5.x) it implements.

use crate::error::{ck, Error, Result};
use crate::gateway::lock;
use crate::mechanism::{self, MechInfo, Mechanism};
use crate::object::{Answer, Template};
use crate::ops;
use crate::session::{CryptOp, DigestOp, Find, Session, MAX_PENDING};
use crate::state::{self, Library};
use cryptoki_sys::*;
use std::sync::{Arc, MutexGuard};
use zeroize::Zeroizing;

/// Where an entry point writes a variable-length answer (PKCS#11 §5.2): a NULL
/// buffer asks for the length only; a short buffer gets CKR_BUFFER_TOO_SMALL and
/// the length it needs.
pub trait Output {
    /// Checks that `n` bytes fit. `Ok(false)`: a length query (the length is
    /// recorded); `Ok(true)`: they fit; Err(CKR_BUFFER_TOO_SMALL): they do not
    /// (the length is recorded).
    fn fits(&mut self, n: usize) -> Result<bool>;
    /// Writes `data` after [`fits`](Self::fits) said yes, and records its length.
    fn write(&mut self, data: &[u8]);

    /// [`fits`](Self::fits) then [`write`](Self::write): `Ok(true)` when written.
    fn put(&mut self, data: &[u8]) -> Result<bool> {
        if self.fits(data.len())? {
            self.write(data);
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

/// What C_GetTokenInfo reports.
#[derive(Debug)]
pub struct TokenInfo {
    /// Label (the vault name).
    pub label: String,
    /// Open sessions.
    pub sessions: usize,
    /// Open read-write sessions.
    pub rw_sessions: usize,
}

/// What C_GetSessionInfo reports.
#[derive(Debug)]
pub struct SessionInfo {
    /// Slot.
    pub slot: CK_SLOT_ID,
    /// CKS_* state.
    pub state: CK_STATE,
    /// CKF_RW_SESSION | CKF_SERIAL_SESSION.
    pub flags: CK_FLAGS,
}

/// C_Initialize (§5.4).
pub fn initialize() -> Result<()> {
    state::initialize()
}

/// C_Finalize (§5.4).
pub fn finalize() -> Result<()> {
    state::finalize()
}

/// C_GetInfo (§5.4): only checks the library is initialised.
pub fn check_initialized() -> Result<()> {
    state::library().map(|_| ())
}

/// C_GetSlotList (§5.5): every configured slot has its token present.
pub fn slot_list() -> Result<Vec<CK_SLOT_ID>> {
    let lib = state::library()?;
    Ok((0..lib.slots.len() as CK_SLOT_ID).collect())
}

/// C_GetSlotInfo (§5.5): the slot exists.
pub fn slot_info(slot: CK_SLOT_ID) -> Result<()> {
    state::library()?.slot(slot).map(|_| ())
}

/// C_GetTokenInfo (§5.5).
pub fn token_info(slot: CK_SLOT_ID) -> Result<TokenInfo> {
    let lib = state::library()?;
    let s = lib.slot(slot)?;
    let (sessions, rw_sessions) = lib.session_counts(slot as usize);
    Ok(TokenInfo {
        label: s.label(),
        sessions,
        rw_sessions,
    })
}

/// C_GetMechanismList (§5.5).
pub fn mechanism_list(slot: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>> {
    state::library()?.slot(slot)?;
    Ok(mechanism::MECHANISMS.iter().map(|m| m.mechanism).collect())
}

/// C_GetMechanismInfo (§5.5), from the constant table.
pub fn mechanism_info(slot: CK_SLOT_ID, m: CK_MECHANISM_TYPE) -> Result<MechInfo> {
    state::library()?.slot(slot)?;
    mechanism::info(m)
        .copied()
        .ok_or(Error::Ck(CKR_MECHANISM_INVALID))
}

/// C_OpenSession (§5.6).
pub fn open_session(slot: CK_SLOT_ID, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE> {
    if flags & CKF_SERIAL_SESSION == 0 {
        return ck(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    }
    state::library()?.open_session(slot, flags & CKF_RW_SESSION != 0)
}

/// C_CloseSession (§5.6).
pub fn close_session(h: CK_SESSION_HANDLE) -> Result<()> {
    state::library()?.close_session(h)
}

/// C_CloseAllSessions (§5.6).
pub fn close_all_sessions(slot: CK_SLOT_ID) -> Result<()> {
    let lib = state::library()?;
    lib.slot(slot)?;
    lib.close_all_sessions(slot as usize);
    Ok(())
}

/// C_GetSessionInfo (§5.6).
pub fn session_info(h: CK_SESSION_HANDLE) -> Result<SessionInfo> {
    let lib = state::library()?;
    let s = lib.session(h)?;
    let s = lock(&s);
    let user = lib.slots[s.slot].logged_in();
    let state = match (s.rw, user) {
        (false, false) => CKS_RO_PUBLIC_SESSION,
        (false, true) => CKS_RO_USER_FUNCTIONS,
        (true, false) => CKS_RW_PUBLIC_SESSION,
        (true, true) => CKS_RW_USER_FUNCTIONS,
    };
    Ok(SessionInfo {
        slot: s.slot as CK_SLOT_ID,
        state,
        flags: CKF_SERIAL_SESSION | if s.rw { CKF_RW_SESSION } else { 0 },
    })
}

/// C_Login (§5.6): CKU_USER only; the PIN decrypts the slot's key or must match
/// the configured PIN, and the gateway must accept the identity.
pub fn login(h: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: &[u8]) -> Result<()> {
    let lib = state::library()?;
    let slot = lock(&*lib.session(h)?).slot;
    match user {
        CKU_USER => lib.slots[slot].login(pin),
        CKU_SO => ck(CKR_USER_TYPE_INVALID),
        CKU_CONTEXT_SPECIFIC => ck(CKR_OPERATION_NOT_INITIALIZED),
        _ => ck(CKR_USER_TYPE_INVALID),
    }
}

/// C_Logout (§5.6).
pub fn logout(h: CK_SESSION_HANDLE) -> Result<()> {
    let lib = state::library()?;
    let slot = lock(&*lib.session(h)?).slot;
    if !lib.slots[slot].logged_in() {
        return ck(CKR_USER_NOT_LOGGED_IN);
    }
    lib.slots[slot].logout();
    Ok(())
}

/// A session, locked, with its library.
struct Held {
    lib: Arc<Library>,
    session: Arc<std::sync::Mutex<Session>>,
    handle: CK_SESSION_HANDLE,
}

impl Held {
    fn get(h: CK_SESSION_HANDLE) -> Result<Self> {
        let lib = state::library()?;
        let session = lib.session(h)?;
        Ok(Self {
            lib,
            session,
            handle: h,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Session> {
        lock(&self.session)
    }

    fn require_login(&self, slot: usize) -> Result<()> {
        if self.lib.slots[slot].logged_in() {
            Ok(())
        } else {
            ck(CKR_USER_NOT_LOGGED_IN)
        }
    }

    /// Records a newly made object: its handle, and for a session object its owner.
    fn adopt(&self, s: &mut Session, uid: &str, token: bool) -> CK_OBJECT_HANDLE {
        let oh = self.lib.objects.handle(s.slot, uid);
        if !token {
            self.lib.objects.set_session(oh, self.handle);
            s.objects.push(oh);
        }
        oh
    }
}

/// Checks that a session may create or change objects (§5.7): logged in, and
/// read-write for token objects.
fn may_write(held: &Held, s: &Session, token: bool) -> Result<()> {
    held.require_login(s.slot)?;
    if token && !s.rw {
        return ck(CKR_SESSION_READ_ONLY);
    }
    Ok(())
}

/// C_CreateObject (§5.7).
pub fn create_object(h: CK_SESSION_HANDLE, t: &Template) -> Result<CK_OBJECT_HANDLE> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    may_write(&held, &s, ops::keys::token(t)?)?;
    let g = held.lib.slots[s.slot].gateway()?;
    let (uid, token) = ops::keys::create_object(&g, t)?;
    Ok(held.adopt(&mut s, &uid, token))
}

/// C_DestroyObject (§5.7): Revoke and Destroy on the gateway (metadata stays, in
/// the Destroyed state, as the vault keeps it).
pub fn destroy_object(h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    let token = !ops::is_session_object(&held.lib, s.slot, o);
    visible(&held, &s, o)?;
    may_write(&held, &s, token)?;
    ops::destroy_object(&held.lib, s.slot, o)?;
    s.objects.retain(|x| *x != o);
    Ok(())
}

/// Refuses a handle the session cannot see: another slot's, a destroyed object, a
/// private object before login. (Session objects are visible to every session of
/// the application, §4.4; they end with the session that made them.)
fn visible(held: &Held, s: &Session, o: CK_OBJECT_HANDLE) -> Result<Arc<crate::object::ObjInfo>> {
    held.lib.objects.entry(s.slot, o)?;
    let info = ops::info(&held.lib, s.slot, o)?;
    if info.destroyed() || (info.private() && !held.lib.slots[s.slot].logged_in()) {
        return ck(CKR_OBJECT_HANDLE_INVALID);
    }
    Ok(info)
}

/// C_GetAttributeValue (§5.7): one answer per requested type.
pub fn get_attribute_values(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    types: &[CK_ATTRIBUTE_TYPE],
) -> Result<Vec<Answer>> {
    let held = Held::get(h)?;
    let s = held.lock();
    let info = visible(&held, &s, o)?;
    let token = !ops::is_session_object(&held.lib, s.slot, o);
    types
        .iter()
        .map(|t| match info.attribute(*t, token) {
            Answer::Fetch => ops::value(&held.lib, s.slot, o).map(|v| Answer::Value(v.to_vec())),
            a => Ok(a),
        })
        .collect()
}

/// C_SetAttributeValue (§5.7): CKA_LABEL and CKA_ID.
pub fn set_attribute_values(h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE, t: &Template) -> Result<()> {
    let held = Held::get(h)?;
    let s = held.lock();
    visible(&held, &s, o)?;
    let token = !ops::is_session_object(&held.lib, s.slot, o);
    may_write(&held, &s, token)?;
    ops::set_attributes(&held.lib, s.slot, o, t)
}

/// C_FindObjectsInit (§5.7): the search runs on the gateway now; C_FindObjects
/// hands out the result.
pub fn find_init(h: CK_SESSION_HANDLE, t: &Template) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    if s.find.is_some() {
        return ck(CKR_OPERATION_ACTIVE);
    }
    let found = ops::find(&held.lib, s.slot, t)?;
    s.find = Some(Find {
        pending: found.into(),
    });
    Ok(())
}

/// C_FindObjects (§5.7).
pub fn find(h: CK_SESSION_HANDLE, max: usize) -> Result<Vec<CK_OBJECT_HANDLE>> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    let f = s
        .find
        .as_mut()
        .ok_or(Error::Ck(CKR_OPERATION_NOT_INITIALIZED))?;
    let n = max.min(f.pending.len());
    Ok(f.pending.drain(..n).collect())
}

/// C_FindObjectsFinal (§5.7).
pub fn find_final(h: CK_SESSION_HANDLE) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    s.find
        .take()
        .map(|_| ())
        .ok_or(Error::Ck(CKR_OPERATION_NOT_INITIALIZED))
}

/// The operation classes that go to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// C_Encrypt*.
    Encrypt,
    /// C_Decrypt*.
    Decrypt,
    /// C_Sign*.
    Sign,
    /// C_Verify*.
    Verify,
}

impl Class {
    fn slot(self, s: &mut Session) -> &mut Option<CryptOp> {
        match self {
            Self::Encrypt => &mut s.encrypt,
            Self::Decrypt => &mut s.decrypt,
            Self::Sign => &mut s.sign,
            Self::Verify => &mut s.verify,
        }
    }

    fn flag(self) -> CK_FLAGS {
        match self {
            Self::Encrypt => CKF_ENCRYPT,
            Self::Decrypt => CKF_DECRYPT,
            Self::Sign => CKF_SIGN,
            Self::Verify => CKF_VERIFY,
        }
    }

    fn key_classes(self) -> &'static [CK_OBJECT_CLASS] {
        match self {
            Self::Encrypt | Self::Verify => &[CKO_SECRET_KEY, CKO_PUBLIC_KEY],
            Self::Decrypt | Self::Sign => &[CKO_SECRET_KEY, CKO_PRIVATE_KEY],
        }
    }
}

/// C_EncryptInit, C_DecryptInit, C_SignInit, C_VerifyInit (§5.8, §5.9, §5.11,
/// §5.13).
pub fn crypt_init(
    h: CK_SESSION_HANDLE,
    class: Class,
    m: Mechanism,
    key: CK_OBJECT_HANDLE,
) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    if class.slot(&mut s).is_some() {
        return ck(CKR_OPERATION_ACTIVE);
    }
    let info = mechanism::info(m.kind).ok_or(Error::Ck(CKR_MECHANISM_INVALID))?;
    if info.flags & class.flag() == 0 {
        return ck(CKR_MECHANISM_INVALID);
    }
    visible(&held, &s, key).map_err(Error::for_key)?;
    let (_, k) = ops::key_for(&held.lib, s.slot, key, class.key_classes())?;
    if k.private() {
        held.require_login(s.slot)?;
    }
    *class.slot(&mut s) = Some(CryptOp::new(m, key));
    Ok(())
}

/// Runs the gateway operation of `class` on `data` (and `signature` for Verify).
fn run(
    held: &Held,
    slot: usize,
    class: Class,
    op: &CryptOp,
    data: &[u8],
    signature: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let (uid, key) = ops::key_for(&held.lib, slot, op.key, class.key_classes())?;
    let g = held.lib.slots[slot].gateway()?;
    let m = &op.mechanism;
    match class {
        Class::Encrypt => ops::crypto::encrypt(&g, &uid, &key, m, data).map(Zeroizing::new),
        Class::Decrypt => ops::crypto::decrypt(&g, &uid, &key, m, data),
        Class::Sign => ops::crypto::sign(&g, &uid, &key, m, data).map(Zeroizing::new),
        Class::Verify => ops::crypto::verify(&g, &uid, &key, m, data, signature)
            .map(|()| Zeroizing::new(Vec::new())),
    }
}

/// C_Encrypt, C_Decrypt, C_Sign (single part): computes once, delivers by the
/// length protocol, ends the operation unless the caller only asked the length
/// or gave too small a buffer.
pub fn crypt(h: CK_SESSION_HANDLE, class: Class, data: &[u8], out: &mut dyn Output) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    let slot = s.slot;
    let op = class
        .slot(&mut s)
        .as_mut()
        .ok_or(Error::Ck(CKR_OPERATION_NOT_INITIALIZED))?;
    if op.done.is_none() {
        if op.multi {
            // C_Encrypt after C_EncryptUpdate.
            *class.slot(&mut s) = None;
            return ck(CKR_OPERATION_ACTIVE);
        }
        // A signature's length is known before signing: answer a length query
        // without a round trip.
        if class == Class::Sign {
            let (_, key) = ops::key_for(&held.lib, slot, op.key, class.key_classes())?;
            if let Some(n) = ops::crypto::signature_len(&key, &op.mechanism) {
                if !out.fits(n)? {
                    return Ok(());
                }
            }
        }
    }
    compute(&held, &mut s, class, Some(data))?;
    deliver(class.slot(&mut s), out)
}

/// Runs the operation once on `data` (single part) or on what the updates
/// collected, unless an answer is already kept. A failure ends the operation.
fn compute(held: &Held, s: &mut Session, class: Class, data: Option<&[u8]>) -> Result<()> {
    let slot = s.slot;
    let op = class
        .slot(s)
        .as_mut()
        .ok_or(Error::Ck(CKR_OPERATION_NOT_INITIALIZED))?;
    if op.done.is_some() {
        return Ok(());
    }
    let collected;
    let input = match data {
        Some(d) => d,
        None => {
            collected = Zeroizing::new(op.data.to_vec());
            collected.as_slice()
        }
    };
    match run(held, slot, class, op, input, &[]) {
        Ok(v) => {
            op.done = Some(v);
            Ok(())
        }
        Err(e) => {
            *class.slot(s) = None;
            Err(e)
        }
    }
}

/// Delivers a computed answer and ends the operation once written.
fn deliver(slot: &mut Option<CryptOp>, out: &mut dyn Output) -> Result<()> {
    let Some(op) = slot.as_mut() else {
        return ck(CKR_OPERATION_NOT_INITIALIZED);
    };
    let done = op.done.as_ref().map(|d| d.as_slice()).unwrap_or_default();
    match out.put(done) {
        Ok(true) => {
            *slot = None;
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) if e.rv() == CKR_BUFFER_TOO_SMALL => Err(e),
        Err(e) => {
            *slot = None;
            Err(e)
        }
    }
}

/// C_EncryptUpdate, C_DecryptUpdate, C_SignUpdate, C_VerifyUpdate: collects the
/// part. Encrypt/Decrypt write no output here; everything comes at `*Final`.
pub fn crypt_update(
    h: CK_SESSION_HANDLE,
    class: Class,
    part: &[u8],
    out: Option<&mut dyn Output>,
) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    let op = class
        .slot(&mut s)
        .as_mut()
        .ok_or(Error::Ck(CKR_OPERATION_NOT_INITIALIZED))?;
    if op.done.is_some() || op.data.len() + part.len() > MAX_PENDING {
        *class.slot(&mut s) = None;
        return ck(CKR_DATA_LEN_RANGE);
    }
    if let Some(out) = out {
        // A length query must not consume the part: the caller sends it again.
        if !out.fits(0)? {
            return Ok(());
        }
        out.write(&[]);
    }
    op.multi = true;
    op.data.extend_from_slice(part);
    Ok(())
}

/// C_EncryptFinal, C_DecryptFinal, C_SignFinal: runs the operation on what the
/// updates collected.
pub fn crypt_final(h: CK_SESSION_HANDLE, class: Class, out: &mut dyn Output) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    compute(&held, &mut s, class, None)?;
    deliver(class.slot(&mut s), out)
}

/// C_Verify (single part) and C_VerifyFinal (`data` None: what the updates
/// collected). The operation ends either way.
pub fn verify(h: CK_SESSION_HANDLE, data: Option<&[u8]>, signature: &[u8]) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    let slot = s.slot;
    let op = s
        .verify
        .take()
        .ok_or(Error::Ck(CKR_OPERATION_NOT_INITIALIZED))?;
    let data = match data {
        // C_Verify after C_VerifyUpdate.
        Some(_) if op.multi => return ck(CKR_OPERATION_ACTIVE),
        Some(d) => Zeroizing::new(d.to_vec()),
        None => Zeroizing::new(op.data.to_vec()),
    };
    run(&held, slot, Class::Verify, &op, &data, signature).map(|_| ())
}

/// C_DigestInit (§5.10): digests are computed in the library.
pub fn digest_init(h: CK_SESSION_HANDLE, m: &Mechanism) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    if s.digest.is_some() {
        return ck(CKR_OPERATION_ACTIVE);
    }
    s.digest = Some(DigestOp::new(m.kind).ok_or(Error::Ck(CKR_MECHANISM_INVALID))?);
    Ok(())
}

/// C_Digest (single part).
pub fn digest(h: CK_SESSION_HANDLE, data: &[u8], out: &mut dyn Output) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    let d = s
        .digest
        .as_ref()
        .ok_or(Error::Ck(CKR_OPERATION_NOT_INITIALIZED))?;
    if !out.fits(d.output_len())? {
        return Ok(());
    }
    let Some(mut d) = s.digest.take() else {
        return ck(CKR_OPERATION_NOT_INITIALIZED);
    };
    d.update(data);
    out.write(&d.finish());
    Ok(())
}

/// C_DigestUpdate.
pub fn digest_update(h: CK_SESSION_HANDLE, part: &[u8]) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    s.digest
        .as_mut()
        .ok_or(Error::Ck(CKR_OPERATION_NOT_INITIALIZED))?
        .update(part);
    Ok(())
}

/// C_DigestFinal.
pub fn digest_final(h: CK_SESSION_HANDLE, out: &mut dyn Output) -> Result<()> {
    digest(h, &[], out)
}

/// C_GenerateKey (§5.14).
pub fn generate_key(h: CK_SESSION_HANDLE, m: &Mechanism, t: &Template) -> Result<CK_OBJECT_HANDLE> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    may_write(&held, &s, ops::keys::token(t)?)?;
    let g = held.lib.slots[s.slot].gateway()?;
    let (uid, token) = ops::keys::generate_key(&g, m, t)?;
    Ok(held.adopt(&mut s, &uid, token))
}

/// C_GenerateKeyPair (§5.14): (public, private) handles.
pub fn generate_key_pair(
    h: CK_SESSION_HANDLE,
    m: &Mechanism,
    public: &Template,
    private: &Template,
) -> Result<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    may_write(
        &held,
        &s,
        ops::keys::token(public)? || ops::keys::token(private)?,
    )?;
    let g = held.lib.slots[s.slot].gateway()?;
    let (pub_uid, pub_token, priv_uid, priv_token) =
        ops::keys::generate_pair(&g, m, public, private)?;
    let p = held.adopt(&mut s, &pub_uid, pub_token);
    let k = held.adopt(&mut s, &priv_uid, priv_token);
    Ok((p, k))
}

/// C_WrapKey (§5.14): the wrapped bytes, by the length protocol. The wrap is
/// computed once; a length query or a short buffer keeps it for the retry.
pub fn wrap_key(
    h: CK_SESSION_HANDLE,
    m: &Mechanism,
    wrapping: CK_OBJECT_HANDLE,
    key: CK_OBJECT_HANDLE,
    out: &mut dyn Output,
) -> Result<()> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    held.require_login(s.slot)?;
    let slot = s.slot;
    let cached = s
        .wrapped
        .as_ref()
        .filter(|(k, w, mech, _)| *k == key && *w == wrapping && mech == m)
        .map(|(_, _, _, bytes)| bytes.clone());
    let bytes = match cached {
        Some(b) => b,
        None => {
            visible(&held, &s, wrapping).map_err(|_| Error::Ck(CKR_WRAPPING_KEY_HANDLE_INVALID))?;
            visible(&held, &s, key).map_err(Error::for_key)?;
            let (wuid, winfo) =
                ops::key_for(&held.lib, slot, wrapping, &[CKO_SECRET_KEY, CKO_PUBLIC_KEY])
                    .map_err(|e| match e.rv() {
                        CKR_KEY_HANDLE_INVALID => Error::Ck(CKR_WRAPPING_KEY_HANDLE_INVALID),
                        CKR_KEY_TYPE_INCONSISTENT => Error::Ck(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
                        _ => e,
                    })?;
            let (kuid, kinfo) =
                ops::key_for(&held.lib, slot, key, &[CKO_SECRET_KEY, CKO_PRIVATE_KEY])?;
            let g = held.lib.slots[slot].gateway()?;
            ops::wrap::wrap(&g, m, &wuid, &winfo, &kuid, &kinfo)?
        }
    };
    match out.put(&bytes) {
        Ok(true) => {
            s.wrapped = None;
            Ok(())
        }
        Ok(false) => {
            s.wrapped = Some((key, wrapping, m.clone(), bytes));
            Ok(())
        }
        Err(e) => {
            s.wrapped = Some((key, wrapping, m.clone(), bytes));
            Err(e)
        }
    }
}

/// C_UnwrapKey (§5.14).
pub fn unwrap_key(
    h: CK_SESSION_HANDLE,
    m: &Mechanism,
    unwrapping: CK_OBJECT_HANDLE,
    wrapped: &[u8],
    t: &Template,
) -> Result<CK_OBJECT_HANDLE> {
    let held = Held::get(h)?;
    let mut s = held.lock();
    may_write(&held, &s, ops::keys::token(t)?)?;
    let slot = s.slot;
    visible(&held, &s, unwrapping).map_err(|_| Error::Ck(CKR_UNWRAPPING_KEY_HANDLE_INVALID))?;
    let (uid, info) = ops::key_for(
        &held.lib,
        slot,
        unwrapping,
        &[CKO_SECRET_KEY, CKO_PRIVATE_KEY],
    )
    .map_err(|e| match e.rv() {
        CKR_KEY_HANDLE_INVALID => Error::Ck(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
        CKR_KEY_TYPE_INCONSISTENT => Error::Ck(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
        _ => e,
    })?;
    let g = held.lib.slots[slot].gateway()?;
    let (new, token) = ops::wrap::unwrap(&g, m, &uid, &info, wrapped, t)?;
    Ok(held.adopt(&mut s, &new, token))
}

/// C_GenerateRandom (§5.15): from the operating system's CSPRNG, locally.
pub fn generate_random(h: CK_SESSION_HANDLE, out: &mut [u8]) -> Result<()> {
    use rand::TryRngCore;
    Held::get(h)?;
    rand::rngs::OsRng
        .try_fill_bytes(out)
        .map_err(|_| Error::Ck(CKR_FUNCTION_FAILED))
}

/// C_SeedRandom (§5.15): the operating system's CSPRNG takes no seed from an
/// application, which §5.15 answers with CKR_RANDOM_SEED_NOT_SUPPORTED.
pub fn seed_random(h: CK_SESSION_HANDLE, _seed: &[u8]) -> Result<()> {
    Held::get(h)?;
    ck(CKR_RANDOM_SEED_NOT_SUPPORTED)
}

/// Every entry point the library does not implement.
pub fn not_supported() -> Result<()> {
    ck(CKR_FUNCTION_NOT_SUPPORTED)
}
