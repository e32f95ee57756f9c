//! The library's state: slots, sessions and object handles, behind the one global
//! the PKCS#11 ABI forces (`C_Initialize` has nowhere else to put it).
//!
//! Fork safety (rule 1 of ../shared/PKCS11-CONSUMERS.md): the state remembers the
//! pid that initialised it. In a forked child every call but `C_Initialize` answers
//! CKR_CRYPTOKI_NOT_INITIALIZED; `C_Initialize` there abandons the inherited state
//! without touching its sockets (they belong to the parent's TLS sessions: writing
//! a close_notify from the child would end the parent's connection) and starts anew.

use crate::config::{Config, SlotKey};
use crate::error::{ck, Error, Result};
use crate::gateway::{lock, Gateway};
use crate::object::Objects;
use crate::session::Session;
use cryptoki_sys::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The initialised library.
#[derive(Debug)]
pub struct Library {
    pid: u32,
    /// Slots, by index (slot ID = index).
    pub slots: Vec<Slot>,
    sessions: Mutex<Sessions>,
    /// Object handles.
    pub objects: Objects,
}

#[derive(Debug, Default)]
struct Sessions {
    next: CK_SESSION_HANDLE,
    open: HashMap<CK_SESSION_HANDLE, OpenSession>,
}

/// What the session table knows without locking the session itself (a session
/// may be busy in a long gateway call on another thread).
#[derive(Debug)]
struct OpenSession {
    slot: usize,
    rw: bool,
    session: Arc<Mutex<Session>>,
}

/// One slot: a client identity, its token, its login state and its connections.
#[derive(Debug)]
pub struct Slot {
    key: SlotKey,
    cert: Vec<u8>,
    cfg: Arc<Config>,
    /// Label from the configuration, if any.
    pub configured_label: Option<String>,
    login: Mutex<Login>,
    vault: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
struct Login {
    user: bool,
    gateway: Option<Arc<Gateway>>,
}

static LIBRARY: Mutex<Option<Arc<Library>>> = Mutex::new(None);

/// C_Initialize: loads the configuration and sets up the state. Connects nothing.
pub fn initialize() -> Result<()> {
    let mut global = lock(&LIBRARY);
    if let Some(lib) = global.as_ref() {
        if lib.pid == std::process::id() {
            return ck(CKR_CRYPTOKI_ALREADY_INITIALIZED);
        }
        // A forked child: abandon the parent's state without closing its sockets.
        if let Some(old) = global.take() {
            std::mem::forget(old);
        }
    }
    let cfg = Arc::new(Config::load()?);
    let slots = cfg
        .slots
        .iter()
        .map(|s| Slot {
            key: match &s.key {
                SlotKey::Encrypted(k) => SlotKey::Encrypted(k.clone()),
                SlotKey::Plain { pem, pin } => SlotKey::Plain {
                    pem: pem.clone(),
                    pin: pin.clone(),
                },
            },
            cert: s.cert.clone(),
            cfg: Arc::clone(&cfg),
            configured_label: s.label.clone(),
            login: Mutex::new(Login::default()),
            vault: Mutex::new(None),
        })
        .collect();
    *global = Some(Arc::new(Library {
        pid: std::process::id(),
        slots,
        sessions: Mutex::new(Sessions {
            next: 1,
            open: HashMap::new(),
        }),
        objects: Objects::default(),
    }));
    Ok(())
}

/// C_Finalize: closes every session (destroying their session objects on the
/// gateway) and every connection.
pub fn finalize() -> Result<()> {
    let lib = {
        let mut global = lock(&LIBRARY);
        match global.as_ref() {
            Some(lib) if lib.pid == std::process::id() => global.take(),
            Some(_) => {
                // A forked child finalising what it inherited: forget it quietly.
                if let Some(old) = global.take() {
                    std::mem::forget(old);
                }
                return ck(CKR_CRYPTOKI_NOT_INITIALIZED);
            }
            None => return ck(CKR_CRYPTOKI_NOT_INITIALIZED),
        }
    };
    if let Some(lib) = lib {
        for slot in 0..lib.slots.len() {
            lib.close_all_sessions(slot);
            if let Some(g) = lock(&lib.slots[slot].login).gateway.take() {
                g.close_all();
            }
        }
    }
    Ok(())
}

/// The initialised library of this process.
pub fn library() -> Result<Arc<Library>> {
    match lock(&LIBRARY).as_ref() {
        Some(lib) if lib.pid == std::process::id() => Ok(Arc::clone(lib)),
        _ => ck(CKR_CRYPTOKI_NOT_INITIALIZED),
    }
}

impl Library {
    /// Slot `id`.
    pub fn slot(&self, id: CK_SLOT_ID) -> Result<&Slot> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.slots.get(i))
            .map_or_else(|| ck(CKR_SLOT_ID_INVALID), Ok)
    }

    /// Opens a session on `slot`.
    pub fn open_session(&self, slot: CK_SLOT_ID, rw: bool) -> Result<CK_SESSION_HANDLE> {
        self.slot(slot)?;
        let mut s = lock(&self.sessions);
        let h = s.next;
        s.next += 1;
        let slot = usize::try_from(slot).map_err(|_| Error::Ck(CKR_SLOT_ID_INVALID))?;
        s.open.insert(
            h,
            OpenSession {
                slot,
                rw,
                session: Arc::new(Mutex::new(Session::new(slot, rw))),
            },
        );
        Ok(h)
    }

    /// Session `h`.
    pub fn session(&self, h: CK_SESSION_HANDLE) -> Result<Arc<Mutex<Session>>> {
        lock(&self.sessions)
            .open
            .get(&h)
            .map(|o| Arc::clone(&o.session))
            .map_or_else(|| ck(CKR_SESSION_HANDLE_INVALID), Ok)
    }

    /// Closes session `h`, destroying its session objects on the gateway.
    pub fn close_session(&self, h: CK_SESSION_HANDLE) -> Result<()> {
        let s = lock(&self.sessions)
            .open
            .remove(&h)
            .map_or_else(|| ck(CKR_SESSION_HANDLE_INVALID), Ok)?;
        let slot = s.slot;
        let objects = std::mem::take(&mut lock(&s.session).objects);
        let empty = self.sessions_on(slot) == 0;
        for o in objects {
            // Best effort: a session object that cannot be destroyed now (gateway
            // down) stays behind as a Deactivated key, visible to the vault admin.
            let _ = crate::ops::destroy_object(self, slot, o);
        }
        if empty {
            // The last session closed: the application is logged out (§5.6).
            self.slots[slot].logout();
        }
        Ok(())
    }

    /// Closes every session of `slot`.
    pub fn close_all_sessions(&self, slot: usize) {
        let handles: Vec<CK_SESSION_HANDLE> = lock(&self.sessions)
            .open
            .iter()
            .filter(|(_, s)| s.slot == slot)
            .map(|(h, _)| *h)
            .collect();
        for h in handles {
            let _ = self.close_session(h);
        }
        self.slots[slot].logout();
    }

    /// Open sessions on `slot`: (all, read-write).
    pub fn session_counts(&self, slot: usize) -> (usize, usize) {
        let s = lock(&self.sessions);
        let on = s.open.values().filter(|o| o.slot == slot);
        let rw = on.clone().filter(|o| o.rw).count();
        (on.count(), rw)
    }

    fn sessions_on(&self, slot: usize) -> usize {
        self.session_counts(slot).0
    }
}

impl Slot {
    /// True when the user is logged in.
    pub fn logged_in(&self) -> bool {
        lock(&self.login).user
    }

    /// True when the client key is encrypted (nothing reaches the gateway before
    /// C_Login).
    pub fn needs_login_to_connect(&self) -> bool {
        matches!(self.key, SlotKey::Encrypted(_))
    }

    /// C_Login: checks the PIN (decrypting the key, or against the configured PIN),
    /// then checks that the gateway accepts the identity.
    pub fn login(&self, pin: &[u8]) -> Result<()> {
        let mut login = lock(&self.login);
        if login.user {
            return ck(CKR_USER_ALREADY_LOGGED_IN);
        }
        let gateway = match &self.key {
            SlotKey::Plain { pin: want, .. } => {
                if !bool::from(want.as_bytes().ct_eq(pin)) {
                    return ck(CKR_PIN_INCORRECT);
                }
                match &login.gateway {
                    Some(g) => Arc::clone(g),
                    None => Arc::new(self.new_gateway(None)?),
                }
            }
            SlotKey::Encrypted(pem) => {
                let key = decrypt_key(pem, pin)?;
                Arc::new(self.new_gateway(Some(&key))?)
            }
        };
        gateway.probe()?;
        login.gateway = Some(gateway);
        login.user = true;
        Ok(())
    }

    /// C_Logout (and the last session closing).
    pub fn logout(&self) {
        let mut login = lock(&self.login);
        login.user = false;
        if self.needs_login_to_connect() {
            if let Some(g) = login.gateway.take() {
                g.close_all();
            }
        }
    }

    /// The gateway, for a call that needs it. With an encrypted key there is none
    /// before C_Login.
    pub fn gateway(&self) -> Result<Arc<Gateway>> {
        let mut login = lock(&self.login);
        if let Some(g) = &login.gateway {
            return Ok(Arc::clone(g));
        }
        if self.needs_login_to_connect() {
            return ck(CKR_USER_NOT_LOGGED_IN);
        }
        let g = Arc::new(self.new_gateway(None)?);
        login.gateway = Some(Arc::clone(&g));
        Ok(g)
    }

    /// The token label: the vault's name as the gateway reports it, else the
    /// configured label, else "keygate".
    pub fn label(&self) -> String {
        if let Some(v) = lock(&self.vault).clone() {
            return v;
        }
        if let Some(l) = &self.configured_label {
            return l.clone();
        }
        if let Ok(g) = self.gateway() {
            if let Ok(Some(v)) = crate::ops::vault_name(&g) {
                *lock(&self.vault) = Some(v.clone());
                return v;
            }
        }
        "keygate".to_owned()
    }

    fn new_gateway(&self, decrypted: Option<&[u8]>) -> Result<Gateway> {
        let key: &[u8] = match (&self.key, decrypted) {
            (_, Some(k)) => k,
            (SlotKey::Plain { pem, .. }, None) => pem,
            (SlotKey::Encrypted(_), None) => return ck(CKR_USER_NOT_LOGGED_IN),
        };
        Gateway::new(&Gateway::config(&self.cfg, &self.cert, key))
    }
}

/// Decrypts an encrypted PKCS#8 PEM key with the PIN; a wrong PIN is
/// CKR_PIN_INCORRECT. Returns the key as unencrypted PKCS#8 PEM.
fn decrypt_key(pem: &[u8], pin: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use pkcs8::der::{Decode, SecretDocument};
    let text = std::str::from_utf8(pem)
        .map_err(|_| Error::Config("the slot key is not PEM text".into()))?;
    let (label, doc) = SecretDocument::from_pem(text)
        .map_err(|e| Error::Config(format!("the slot key does not parse as PEM: {e}")))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(Error::Config(format!(
            "the slot key is a {label}, not an encrypted PKCS#8 key"
        )));
    }
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(doc.as_bytes())
        .map_err(|e| Error::Config(format!("the slot key is not EncryptedPrivateKeyInfo: {e}")))?;
    let plain = info
        .decrypt(pin)
        .map_err(|_| Error::Ck(CKR_PIN_INCORRECT))?;
    let pem = plain
        .to_pem("PRIVATE KEY", pkcs8::LineEnding::LF)
        .map_err(|e| Error::Config(format!("re-encoding the slot key: {e}")))?;
    Ok(Zeroizing::new(pem.as_bytes().to_vec()))
}
