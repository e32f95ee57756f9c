//! The PKCS#11 backend on SoftHSM2 (issue 4): both placements, every operation checked
//! independently with OpenSSL, what SoftHSM 2.6.1 lacks, and an outage the backend
//! recovers from without being reopened.
//!
//! One SoftHSM configuration serves the binary, one token per test
//! ([`SoftHsm::shared`]). The outage test re-initialises the module, which every
//! backend of the process shares, so it runs alone: the others hold [`EXCLUSIVE`]
//! for reading, it holds it for writing.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use keygate::backend::pkcs11::{Pkcs11Backend, Pkcs11Config, Placement, KEK_LABEL, KEK_MAC_LABEL};
use keygate::backend::{BackendError, Export, KeyBackend, KeyRef};
use keygate::crypto::{
    Cipher, CryptoError, Curve, HashAlg, KeyKind, KeyPairSpec, MacAlg, SignInput, SignatureScheme,
};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use openssl::symm::{self, Crypter, Mode};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use zeroize::Zeroizing;

/// One token per test.
const TOKENS: &[&str] = &[
    "kg-resident",
    "kg-wrapped",
    "kg-modes-r",
    "kg-modes-w",
    "kg-pairs-r",
    "kg-pairs-w",
    "kg-mac",
    "kg-missing",
    "kg-errors",
    "kg-pool",
    "kg-outage",
    "kg-reg-r",
    "kg-reg-w",
    "kg-des-r",
    "kg-des-w",
];

/// The binding of test keys (vault and UID, as the request path makes it).
const AAD: &[u8] = b"payments/5f0c7d2e";
const PRIV_AAD: &[u8] = b"payments/priv-1";
const PUB_AAD: &[u8] = b"payments/pub-1";

static EXCLUSIVE: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    EXCLUSIVE.read().unwrap_or_else(|p| p.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    EXCLUSIVE.write().unwrap_or_else(|p| p.into_inner())
}

fn hsm() -> &'static SoftHsm {
    SoftHsm::shared(TOKENS)
}

fn config(label: &str, placement: Placement) -> Pkcs11Config {
    hsm();
    Pkcs11Config {
        name: format!("hsm-{label}"),
        module: softhsm::module(),
        token_label: label.to_owned(),
        pin: Zeroizing::new(USER_PIN.to_owned()),
        placement,
        sessions: 4,
    }
}

fn open(label: &str, placement: Placement) -> Pkcs11Backend {
    Pkcs11Backend::open(&config(label, placement))
        .unwrap_or_else(|e| panic!("opening the backend on token {label}: {e}"))
}

/// Prints how long a test took (run with `--nocapture` to see it).
struct Timer(&'static str, Instant);

impl Timer {
    fn start(name: &'static str) -> Self {
        Timer(name, Instant::now())
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        eprintln!("[timing] {}: {:?}", self.0, self.1.elapsed());
    }
}

/// A cryptoki session of its own on a token, to look at what the backend made.
struct Inspector {
    session: Session,
    ctx: Pkcs11,
    slot: cryptoki::slot::Slot,
}

impl Inspector {
    fn new(label: &str) -> Self {
        hsm();
        let ctx = Pkcs11::new(softhsm::module()).expect("loading SoftHSM");
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => panic!("C_Initialize: {e}"),
        }
        let slot = ctx
            .get_slots_with_token()
            .expect("slots")
            .into_iter()
            .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == label))
            .unwrap_or_else(|| panic!("no token {label}"));
        let session = ctx.open_ro_session(slot).expect("session");
        match session.login(UserType::User, Some(&AuthPin::from(USER_PIN))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("C_Login: {e}"),
        }
        Inspector { session, ctx, slot }
    }

    fn find(&self, template: &[Attribute]) -> Vec<ObjectHandle> {
        self.session.find_objects(template).expect("C_FindObjects")
    }

    fn token_objects(&self) -> usize {
        self.find(&[Attribute::Token(true)]).len()
    }

    fn by_id(&self, class: ObjectClass, id: &[u8]) -> Vec<ObjectHandle> {
        self.find(&[Attribute::Class(class), Attribute::Id(id.to_vec())])
    }

    fn attrs(&self, handle: ObjectHandle, types: &[AttributeType]) -> Vec<Attribute> {
        self.session
            .get_attributes(handle, types)
            .expect("C_GetAttributeValue")
    }

    fn bool(&self, handle: ObjectHandle, ty: AttributeType) -> bool {
        let attrs = self.attrs(handle, &[ty]);
        match attrs.as_slice() {
            [Attribute::Token(v)
            | Attribute::Extractable(v)
            | Attribute::Sensitive(v)
            | Attribute::NeverExtractable(v)
            | Attribute::AlwaysSensitive(v)
            | Attribute::Private(v)
            | Attribute::Wrap(v)
            | Attribute::Unwrap(v)
            | Attribute::Encrypt(v)
            | Attribute::Sign(v)
            | Attribute::Local(v)] => *v,
            other => panic!("{ty:?}: {other:?}"),
        }
    }

    /// Sessions the token reports open (the backend's pool plus this one).
    fn session_count(&self) -> Option<u64> {
        self.ctx
            .get_token_info(self.slot)
            .ok()
            .and_then(|t| t.session_count())
    }
}

fn gcm(nonce: Option<Vec<u8>>, tag_len: usize, tag: Option<Vec<u8>>) -> Cipher {
    Cipher::AesGcm {
        nonce,
        aad: b"header".to_vec(),
        tag_len,
        tag,
    }
}

/// OpenSSL's answer for an AES mode, padding as asked.
fn openssl_aes(
    cipher: symm::Cipher,
    key: &[u8],
    iv: Option<&[u8]>,
    data: &[u8],
    pad: bool,
) -> Vec<u8> {
    let mut c = Crypter::new(cipher, Mode::Encrypt, key, iv).expect("crypter");
    c.pad(pad);
    let mut out = vec![0; data.len() + 32];
    let mut n = c.update(data, &mut out).expect("update");
    n += c.finalize(&mut out[n..]).expect("finalize");
    out.truncate(n);
    out
}

fn md(hash: HashAlg) -> MessageDigest {
    match hash {
        HashAlg::Sha1 => MessageDigest::sha1(),
        HashAlg::Sha224 => MessageDigest::sha224(),
        HashAlg::Sha256 => MessageDigest::sha256(),
        HashAlg::Sha384 => MessageDigest::sha384(),
        HashAlg::Sha512 => MessageDigest::sha512(),
    }
}

fn digest(hash: HashAlg, msg: &[u8]) -> Vec<u8> {
    openssl::hash::hash(md(hash), msg).expect("hash").to_vec()
}

/// Checks a signature with OpenSSL, from the SPKI the backend returned.
fn openssl_verify(key: &PKey<Public>, scheme: SignatureScheme, msg: &[u8], sig: &[u8]) -> bool {
    match scheme {
        SignatureScheme::Ed25519 => Verifier::new_without_digest(key)
            .expect("verifier")
            .verify_oneshot(sig, msg)
            .unwrap_or(false),
        SignatureScheme::RsaPkcs1v15(h) | SignatureScheme::Ecdsa(h) => {
            let mut v = Verifier::new(md(h), key).expect("verifier");
            v.update(msg).expect("update");
            v.verify(sig).unwrap_or(false)
        }
        SignatureScheme::RsaPss(h) => {
            let mut v = Verifier::new(md(h), key).expect("verifier");
            v.set_rsa_padding(Padding::PKCS1_PSS).expect("pss");
            v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                .expect("salt");
            v.set_rsa_mgf1_md(md(h)).expect("mgf1");
            v.update(msg).expect("update");
            v.verify(sig).unwrap_or(false)
        }
    }
}

#[test]
fn resident_key_never_leaves_the_token() {
    let _g = shared();
    let _t = Timer::start("resident_key_never_leaves_the_token");
    let b = open("kg-resident", Placement::Resident);
    let insp = Inspector::new("kg-resident");

    let key = b.generate_aes(256, false, AAD).expect("generate");
    let id = Pkcs11Backend::object_id(&key).expect("a resident reference names its CKA_ID");
    let [h] = insp.by_id(ObjectClass::SECRET_KEY, &id)[..] else {
        panic!("one token object with the key's CKA_ID")
    };
    assert!(insp.bool(h, AttributeType::Token), "CKA_TOKEN");
    assert!(!insp.bool(h, AttributeType::Extractable), "CKA_EXTRACTABLE");
    assert!(insp.bool(h, AttributeType::Sensitive), "CKA_SENSITIVE");
    assert!(
        insp.bool(h, AttributeType::NeverExtractable),
        "CKA_NEVER_EXTRACTABLE"
    );
    assert!(
        insp.bool(h, AttributeType::Local),
        "generated in the token (CKA_LOCAL)"
    );
    // An AES token key may wrap other keys (CKA_WRAP): whether it does is the KMIP
    // object's Wrap Key usage, checked by the gateway before any C_WrapKey (issue 6).
    assert!(
        insp.bool(h, AttributeType::Wrap),
        "an AES key can wrap when its object's usage allows"
    );
    // Not even another session of the token's user reads its value.
    assert!(
        !insp
            .attrs(h, &[AttributeType::Value])
            .iter()
            .any(|a| matches!(a, Attribute::Value(_))),
        "CKA_VALUE of a sensitive key is unavailable"
    );
    assert!(
        matches!(
            b.export_secret(&key, AAD),
            Err(BackendError::NotExtractable)
        ),
        "export of a non-extractable key"
    );

    // The trait's own calls make non-extractable keys too, and they work.
    let k2 = b.generate_secret(32, AAD).expect("generate_secret");
    let [h2] = insp.by_id(
        ObjectClass::SECRET_KEY,
        &Pkcs11Backend::object_id(&k2).unwrap(),
    )[..] else {
        panic!("token object of generate_secret")
    };
    assert!(!insp.bool(h2, AttributeType::Extractable));
    let e = b
        .encrypt(
            &k2,
            AAD,
            KeyKind::Aes(256),
            &gcm(None, 16, None),
            b"used in the token",
        )
        .expect("encrypt");
    let back = b
        .decrypt(
            &k2,
            AAD,
            KeyKind::Aes(256),
            &gcm(e.iv.clone(), 16, e.tag.clone()),
            &e.data,
        )
        .expect("decrypt");
    assert_eq!(&back[..], b"used in the token");

    // Extractable when asked: then readable by an authorised export.
    let k3 = b.generate_aes(128, true, AAD).expect("extractable key");
    let [h3] = insp.by_id(
        ObjectClass::SECRET_KEY,
        &Pkcs11Backend::object_id(&k3).unwrap(),
    )[..] else {
        panic!("token object of the extractable key")
    };
    assert!(insp.bool(h3, AttributeType::Extractable));
    let v3 = b.export_secret(&k3, AAD).expect("export");
    assert_eq!(v3.len(), 16);
    // Custody of bytes (Secret Data, Opaque Object, certificates): a token object
    // that may do nothing in the token, and whose bytes the gateway may return.
    let imported = b.import_secret(&[0x5a; 24], AAD).expect("import");
    assert_eq!(
        &b.export_secret(&imported, AAD).expect("data")[..],
        &[0x5a; 24]
    );
    let [hd] = insp.by_id(
        ObjectClass::SECRET_KEY,
        &Pkcs11Backend::object_id(&imported).unwrap(),
    )[..] else {
        panic!("token object of the data")
    };
    for usage in [AttributeType::Encrypt, AttributeType::Sign] {
        assert!(!insp.bool(hd, usage), "{usage:?} on a data object");
    }
    assert!(b
        .mac(
            &imported,
            AAD,
            KeyKind::Hmac(192),
            MacAlg::Hmac(HashAlg::Sha256),
            b"x"
        )
        .is_err());
    let empty = b.import_secret(b"", AAD).expect("empty data");
    assert!(b.export_secret(&empty, AAD).expect("empty").is_empty());
    assert!(matches!(
        b.export_secret(&imported, b"payments/other-uid"),
        Err(BackendError::Integrity)
    ));

    // The trait's kind-aware calls: the key type and the export flags asked for.
    for (kind, key_type, extractable) in [
        (KeyKind::Aes(256), KeyType::AES, false),
        (KeyKind::Aes(128), KeyType::AES, true),
        (KeyKind::Hmac(256), KeyType::GENERIC_SECRET, false),
    ] {
        let k = b
            .generate_key(kind, Export::from_extractable(extractable), AAD)
            .expect("generate_key");
        let [h] = insp.by_id(
            ObjectClass::SECRET_KEY,
            &Pkcs11Backend::object_id(&k).unwrap(),
        )[..] else {
            panic!("token object of generate_key({kind:?})")
        };
        assert!(insp
            .attrs(h, &[AttributeType::KeyType])
            .contains(&Attribute::KeyType(key_type)));
        assert_eq!(insp.bool(h, AttributeType::Extractable), extractable);
        assert_eq!(insp.bool(h, AttributeType::Sensitive), !extractable);
        assert!(insp.bool(h, AttributeType::Local), "generated in the token");
        assert_eq!(b.export_secret(&k, AAD).is_ok(), extractable, "{kind:?}");
        b.destroy(&k).expect("destroy");
    }
    let k = b
        .import_key(KeyKind::Aes(192), &[0x33; 24], Export::Clear, AAD)
        .expect("import_key");
    assert_eq!(&b.export_secret(&k, AAD).expect("export")[..], &[0x33; 24]);
    let k = b
        .import_key(KeyKind::Hmac(256), &[0x44; 32], Export::Never, AAD)
        .expect("import_key");
    assert!(matches!(
        b.export_secret(&k, AAD),
        Err(BackendError::NotExtractable)
    ));
    for (kind, len) in [
        (KeyKind::Aes(256), 16),
        (KeyKind::Des3(168), 16),
        (KeyKind::Des3(112), 24),
        (KeyKind::RsaPrivate(2048), 1200),
    ] {
        assert!(
            matches!(
                b.import_key(kind, &vec![1; len], Export::Clear, AAD),
                Err(BackendError::Unsupported(_))
            ),
            "{kind:?}"
        );
    }
    assert!(matches!(
        b.generate_key(KeyKind::Des3(128), Export::Never, AAD),
        Err(BackendError::Unsupported(_))
    ));

    // A reference is bound to its object.
    assert!(matches!(
        b.export_secret(&k3, b"payments/other-uid"),
        Err(BackendError::Integrity)
    ));
    assert!(matches!(
        b.encrypt(
            &k2,
            b"payments/other-uid",
            KeyKind::Aes(256),
            &gcm(None, 16, None),
            b"x"
        ),
        Err(CryptoError::Failed(_))
    ));

    // Destroy removes the token object; again is not an error; use fails.
    b.destroy(&key).expect("destroy");
    assert!(insp.by_id(ObjectClass::SECRET_KEY, &id).is_empty());
    b.destroy(&key).expect("destroying twice");
    assert!(b
        .encrypt(&key, AAD, KeyKind::Aes(256), &gcm(None, 16, None), b"x")
        .is_err());

    // The token's generator.
    let r1 = b.random(64).expect("random");
    assert_eq!(r1.len(), 64);
    assert_ne!(r1, b.random(64).unwrap());
    assert!(b.random(0).unwrap().is_empty());
    assert!(matches!(
        b.random(1 << 21),
        Err(BackendError::Unsupported(_))
    ));
    b.seed_random(b"extra entropy").expect("C_SeedRandom");
}

#[test]
fn wrapped_keys_live_outside_the_token() {
    let _g = shared();
    let _t = Timer::start("wrapped_keys_live_outside_the_token");
    let cfg = config("kg-wrapped", Placement::Wrapped);
    let b = Pkcs11Backend::open(&cfg).expect("open");
    let insp = Inspector::new("kg-wrapped");

    // The KEK: one AES-256 token key that only wraps and never leaves; its MAC key.
    let [kek] = insp.find(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Label(KEK_LABEL.as_bytes().to_vec()),
    ])[..] else {
        panic!("exactly one {KEK_LABEL}")
    };
    assert!(insp.bool(kek, AttributeType::Token));
    assert!(!insp.bool(kek, AttributeType::Extractable));
    assert!(insp.bool(kek, AttributeType::Sensitive));
    assert!(insp.bool(kek, AttributeType::Wrap) && insp.bool(kek, AttributeType::Unwrap));
    assert!(!insp.bool(kek, AttributeType::Encrypt));
    assert_eq!(
        insp.find(&[Attribute::Label(KEK_MAC_LABEL.as_bytes().to_vec())])
            .len(),
        1
    );
    let before = insp.token_objects();
    assert_eq!(before, 2, "KEK and MAC key only");

    let closed = b.generate_aes(256, false, AAD).expect("generate");
    let open_key = b
        .generate_aes(256, true, AAD)
        .expect("generate extractable");
    let imported = b.import_secret(&[0x42; 32], AAD).expect("import");
    let hmac = b
        .generate_symmetric(KeyKind::Hmac(512), true, AAD)
        .expect("HMAC key");
    assert_eq!(
        insp.token_objects(),
        before,
        "wrapped placement creates no token object"
    );
    // version 1, wrapped, secret, AES, flags, then CKM_AES_KEY_WRAP_PAD (0x210A).
    assert_eq!(&closed.0[..4], &[1, b'W', 1, 1]);
    assert_eq!(&closed.0[5..9], &0x210Au32.to_be_bytes());
    assert_eq!(Pkcs11Backend::object_id(&closed), None);

    assert!(
        matches!(
            b.export_secret(&closed, AAD),
            Err(BackendError::NotExtractable)
        ),
        "export of a non-extractable wrapped key"
    );
    assert_eq!(
        &b.export_secret(&imported, AAD).expect("data")[..],
        &[0x42; 32]
    );
    assert!(b
        .encrypt(
            &imported,
            AAD,
            KeyKind::Aes(256),
            &gcm(None, 16, None),
            b"data is no key"
        )
        .is_err());
    // The trait's kind-aware calls set the reference's export flag as asked, and
    // make no token object either.
    let asked = b
        .generate_key(KeyKind::Aes(256), Export::Clear, AAD)
        .expect("generate_key");
    assert_eq!(b.export_secret(&asked, AAD).expect("export").len(), 32);
    let kept = b
        .generate_key(KeyKind::Hmac(384), Export::Never, AAD)
        .expect("generate_key");
    assert!(matches!(
        b.export_secret(&kept, AAD),
        Err(BackendError::NotExtractable)
    ));
    let given = b
        .import_key(KeyKind::Aes(128), &[0x21; 16], Export::Clear, AAD)
        .expect("import_key");
    assert_eq!(
        &b.export_secret(&given, AAD).expect("export")[..],
        &[0x21; 16]
    );
    assert_eq!(insp.token_objects(), before);
    let value = b.export_secret(&open_key, AAD).expect("export");
    assert_eq!(value.len(), 32);
    assert_eq!(
        b.export_secret(&hmac, AAD).expect("export HMAC key").len(),
        64
    );

    // Tampering: the export flag, the blob, the binding.
    let mut flipped = closed.clone();
    flipped.0[4] |= 1;
    assert!(matches!(
        b.export_secret(&flipped, AAD),
        Err(BackendError::Integrity)
    ));
    let mut bent = open_key.clone();
    bent.0[12] ^= 0x40;
    assert!(matches!(
        b.export_secret(&bent, AAD),
        Err(BackendError::Integrity)
    ));
    assert!(matches!(
        b.export_secret(&open_key, b"payments/other-uid"),
        Err(BackendError::Integrity)
    ));
    assert!(matches!(
        b.encrypt(
            &closed,
            b"payments/other-uid",
            KeyKind::Aes(256),
            &gcm(None, 16, None),
            b"x"
        ),
        Err(CryptoError::Failed(_))
    ));

    // Used through its unwrapped session copy; the same result as OpenSSL.
    let nonce = vec![7u8; 12];
    let e = b
        .encrypt(
            &open_key,
            AAD,
            KeyKind::Aes(256),
            &gcm(Some(nonce.clone()), 16, None),
            b"wrapped",
        )
        .expect("encrypt");
    let mut tag = [0u8; 16];
    let expect = symm::encrypt_aead(
        symm::Cipher::aes_256_gcm(),
        &value,
        Some(&nonce),
        b"header",
        b"wrapped",
        &mut tag,
    )
    .expect("openssl");
    assert_eq!(
        (e.data.clone(), e.tag.clone()),
        (expect, Some(tag.to_vec()))
    );

    // Reopened, the blobs still open (same KEK, none created), and use works.
    drop(b);
    let b = Pkcs11Backend::open(&cfg).expect("reopen");
    assert_eq!(
        b.export_secret(&open_key, AAD)
            .expect("export after reopen"),
        value
    );
    assert_eq!(insp.token_objects(), before, "no second KEK on reopen");
    let back = b
        .decrypt(
            &open_key,
            AAD,
            KeyKind::Aes(256),
            &gcm(Some(nonce), 16, e.tag.clone()),
            &e.data,
        )
        .expect("decrypt after reopen");
    assert_eq!(&back[..], b"wrapped");
    b.destroy(&closed).expect("destroy is a no-op");
}

fn aes_modes(label: &str, placement: Placement) {
    let b = open(label, placement);
    let key = b.generate_aes(256, true, AAD).expect("generate");
    let k = b.export_secret(&key, AAD).expect("export");
    let kind = KeyKind::Aes(256);
    let msg = b"the quick brown fox jumps over the lazy dog";

    // AES-GCM, nonce from the token.
    let e = b
        .encrypt(&key, AAD, kind, &gcm(None, 16, None), msg)
        .expect("GCM");
    let nonce = e.iv.clone().expect("a generated nonce is returned");
    assert_eq!(nonce.len(), 12);
    let mut tag = [0u8; 16];
    let expect = symm::encrypt_aead(
        symm::Cipher::aes_256_gcm(),
        &k,
        Some(&nonce),
        b"header",
        msg,
        &mut tag,
    )
    .expect("openssl");
    assert_eq!(e.data, expect);
    assert_eq!(e.tag.as_deref(), Some(&tag[..]));
    let d = b
        .decrypt(
            &key,
            AAD,
            kind,
            &gcm(Some(nonce.clone()), 16, e.tag.clone()),
            &e.data,
        )
        .expect("GCM decrypt");
    assert_eq!(&d[..], msg);
    let mut bad_tag = tag.to_vec();
    bad_tag[0] ^= 1;
    match b.decrypt(
        &key,
        AAD,
        kind,
        &gcm(Some(nonce.clone()), 16, Some(bad_tag)),
        &e.data,
    ) {
        Err(CryptoError::Failed(m)) => assert!(m.contains("CKR_"), "{m}"),
        other => panic!("GCM with a bad tag: {other:?}"),
    }
    // 12-byte tag, caller's nonce.
    let e12 = b
        .encrypt(&key, AAD, kind, &gcm(Some(nonce.clone()), 12, None), msg)
        .expect("GCM 96-bit tag");
    assert_eq!(e12.iv, None, "no nonce returned when the caller gave one");
    assert_eq!(e12.tag.as_deref(), Some(&tag[..12]));
    assert_eq!(e12.data, e.data);

    // AES-CBC with PKCS#5 padding; without padding on whole blocks.
    let iv = [3u8; 16];
    let cbc = b
        .encrypt(
            &key,
            AAD,
            kind,
            &Cipher::AesCbc {
                iv: Some(iv.to_vec()),
                pad: true,
            },
            msg,
        )
        .expect("CBC pad");
    assert_eq!(
        cbc.data,
        openssl_aes(symm::Cipher::aes_256_cbc(), &k, Some(&iv), msg, true)
    );
    let back = b
        .decrypt(
            &key,
            AAD,
            kind,
            &Cipher::AesCbc {
                iv: Some(iv.to_vec()),
                pad: true,
            },
            &cbc.data,
        )
        .expect("CBC pad decrypt");
    assert_eq!(&back[..], msg);
    let blocks = &msg[..32];
    let raw = b
        .encrypt(
            &key,
            AAD,
            kind,
            &Cipher::AesCbc {
                iv: None,
                pad: false,
            },
            blocks,
        )
        .expect("CBC");
    let riv = raw.iv.clone().expect("generated IV");
    assert_eq!(
        raw.data,
        openssl_aes(symm::Cipher::aes_256_cbc(), &k, Some(&riv), blocks, false)
    );

    // AES-CTR.
    let ctr = b
        .encrypt(
            &key,
            AAD,
            kind,
            &Cipher::AesCtr {
                iv: Some(iv.to_vec()),
            },
            msg,
        )
        .expect("CTR");
    assert_eq!(
        ctr.data,
        openssl_aes(symm::Cipher::aes_256_ctr(), &k, Some(&iv), msg, false)
    );
    let back = b
        .decrypt(
            &key,
            AAD,
            kind,
            &Cipher::AesCtr {
                iv: Some(iv.to_vec()),
            },
            &ctr.data,
        )
        .expect("CTR decrypt");
    assert_eq!(&back[..], msg);

    // AES-ECB.
    let ecb = b
        .encrypt(&key, AAD, kind, &Cipher::AesEcb, blocks)
        .expect("ECB");
    assert_eq!(
        ecb.data,
        openssl_aes(symm::Cipher::aes_256_ecb(), &k, None, blocks, false)
    );
    let back = b
        .decrypt(&key, AAD, kind, &Cipher::AesEcb, &ecb.data)
        .expect("ECB decrypt");
    assert_eq!(&back[..], blocks);

    // Parameters refused before the token sees them.
    for (cipher, data) in [
        (
            Cipher::AesCbc {
                iv: None,
                pad: false,
            },
            &msg[..],
        ),
        (Cipher::AesEcb, &msg[..]),
        (gcm(None, 8, None), &msg[..]),
        (
            Cipher::AesCbc {
                iv: Some(vec![0; 8]),
                pad: true,
            },
            &msg[..],
        ),
    ] {
        assert!(
            matches!(
                b.encrypt(&key, AAD, kind, &cipher, data),
                Err(CryptoError::BadParameters(_))
            ),
            "{cipher:?}"
        );
    }
    assert!(matches!(
        b.decrypt(&key, AAD, kind, &gcm(None, 16, Some(tag.to_vec())), &e.data),
        Err(CryptoError::BadParameters(_))
    ));
    assert!(matches!(
        b.encrypt(&key, AAD, KeyKind::Hmac(256), &Cipher::AesEcb, blocks),
        Err(CryptoError::BadParameters(_))
    ));
}

#[test]
fn aes_modes_resident() {
    let _g = shared();
    let _t = Timer::start("aes_modes_resident");
    aes_modes("kg-modes-r", Placement::Resident);
}

#[test]
fn aes_modes_wrapped() {
    let _g = shared();
    let _t = Timer::start("aes_modes_wrapped");
    aes_modes("kg-modes-w", Placement::Wrapped);
}

fn key_pairs(label: &str, placement: Placement) {
    let b = open(label, placement);
    let msg = b"a message to sign, twice over".repeat(2);

    // RSA-2048.
    let rsa = b
        .generate_pair(KeyPairSpec::Rsa(2048), false, PRIV_AAD, PUB_AAD)
        .expect("RSA-2048 pair");
    let pkey = PKey::public_key_from_der(&rsa.public_spki).expect("SPKI parses");
    assert_eq!(pkey.bits(), 2048);
    assert_eq!(
        pkey.rsa().unwrap().e().to_vec(),
        vec![1, 0, 1],
        "public exponent 65537"
    );
    assert_eq!(b.public_key_spki(&rsa.public).unwrap(), rsa.public_spki);
    let (private, public) = (KeyKind::RsaPrivate(2048), KeyKind::RsaPublic(2048));
    for (scheme, prehash) in [
        (SignatureScheme::RsaPkcs1v15(HashAlg::Sha256), false),
        (SignatureScheme::RsaPkcs1v15(HashAlg::Sha384), true),
        (SignatureScheme::RsaPss(HashAlg::Sha256), false),
        (SignatureScheme::RsaPss(HashAlg::Sha512), true),
        (SignatureScheme::RsaPss(HashAlg::Sha224), false),
    ] {
        let h = match scheme {
            SignatureScheme::RsaPkcs1v15(h) | SignatureScheme::RsaPss(h) => h,
            _ => unreachable!(),
        };
        let d = digest(h, &msg);
        let input = if prehash {
            SignInput::Digest(&d)
        } else {
            SignInput::Message(&msg)
        };
        let sig = b
            .sign(&rsa.private, PRIV_AAD, private, scheme, input)
            .expect("sign");
        assert!(
            openssl_verify(&pkey, scheme, &msg, &sig),
            "OpenSSL verifies {scheme:?}"
        );
        assert!(b
            .verify(
                &rsa.public,
                PUB_AAD,
                public,
                scheme,
                SignInput::Message(&msg),
                &sig
            )
            .expect("verify"));
        assert!(!b
            .verify(
                &rsa.public,
                PUB_AAD,
                public,
                scheme,
                SignInput::Message(b"other"),
                &sig
            )
            .expect("verify"));
    }
    let sig = b
        .sign(
            &rsa.private,
            PRIV_AAD,
            private,
            SignatureScheme::RsaPkcs1v15(HashAlg::Sha256),
            SignInput::Message(&msg),
        )
        .unwrap();
    let verify_with_private = b.verify(
        &rsa.private,
        PRIV_AAD,
        private,
        SignatureScheme::RsaPkcs1v15(HashAlg::Sha256),
        SignInput::Message(&msg),
        &sig,
    );
    match placement {
        Placement::Resident => {
            assert!(verify_with_private.expect("the pair's public object verifies"))
        }
        Placement::Wrapped => assert!(matches!(
            verify_with_private,
            Err(CryptoError::BadParameters(_))
        )),
    }
    assert!(matches!(
        b.sign(
            &rsa.private,
            PRIV_AAD,
            private,
            SignatureScheme::RsaPkcs1v15(HashAlg::Sha1),
            SignInput::Message(&msg)
        ),
        Err(CryptoError::BadParameters(_))
    ));
    assert!(
        matches!(
            b.sign(
                &rsa.private,
                PUB_AAD,
                private,
                SignatureScheme::RsaPss(HashAlg::Sha256),
                SignInput::Message(&msg)
            ),
            Err(CryptoError::Failed(_))
        ),
        "the private key is bound to its own object"
    );

    // RSA encryption: OpenSSL encrypts with the SPKI, the token decrypts.
    let openssl_rsa = pkey.rsa().unwrap();
    for (padding, cipher) in [
        (Padding::PKCS1, Cipher::RsaPkcs1v15),
        (
            Padding::PKCS1_OAEP,
            Cipher::RsaOaep {
                hash: HashAlg::Sha1,
            },
        ),
    ] {
        let mut ct = vec![0; 256];
        let n = openssl_rsa
            .public_encrypt(b"session key", &mut ct, padding)
            .unwrap();
        let pt = b
            .decrypt(&rsa.private, PRIV_AAD, private, &cipher, &ct[..n])
            .expect("RSA decrypt");
        assert_eq!(&pt[..], b"session key");
        let e = b
            .encrypt(&rsa.public, PUB_AAD, public, &cipher, b"round trip")
            .expect("RSA encrypt");
        let pt = b
            .decrypt(&rsa.private, PRIV_AAD, private, &cipher, &e.data)
            .expect("RSA decrypt");
        assert_eq!(&pt[..], b"round trip");
    }

    // EC P-256 and P-384: DER signatures OpenSSL accepts.
    for curve in [Curve::P256, Curve::P384] {
        let ec = b
            .generate_pair(KeyPairSpec::Ec(curve), false, PRIV_AAD, PUB_AAD)
            .expect("EC pair");
        let pkey = PKey::public_key_from_der(&ec.public_spki).expect("SPKI parses");
        let group = pkey.ec_key().unwrap().group().curve_name().unwrap();
        assert_eq!(
            group,
            match curve {
                Curve::P256 => openssl::nid::Nid::X9_62_PRIME256V1,
                Curve::P384 => openssl::nid::Nid::SECP384R1,
            }
        );
        let h = match curve {
            Curve::P256 => HashAlg::Sha256,
            Curve::P384 => HashAlg::Sha384,
        };
        let scheme = SignatureScheme::Ecdsa(h);
        let d = digest(h, &msg);
        for input in [SignInput::Message(&msg), SignInput::Digest(&d)] {
            let sig = b
                .sign(
                    &ec.private,
                    PRIV_AAD,
                    KeyKind::EcPrivate(curve),
                    scheme,
                    input,
                )
                .expect("ECDSA sign");
            assert!(
                openssl_verify(&pkey, scheme, &msg, &sig),
                "OpenSSL verifies {curve:?}"
            );
            assert!(b
                .verify(
                    &ec.public,
                    PUB_AAD,
                    KeyKind::EcPublic(curve),
                    scheme,
                    SignInput::Digest(&d),
                    &sig
                )
                .expect("verify"));
            assert!(!b
                .verify(
                    &ec.public,
                    PUB_AAD,
                    KeyKind::EcPublic(curve),
                    scheme,
                    SignInput::Digest(&d),
                    b"\x30\x02junk"
                )
                .expect("a malformed signature does not verify"));
        }
        assert!(matches!(
            b.sign(
                &ec.private,
                PRIV_AAD,
                KeyKind::EcPrivate(curve),
                scheme,
                SignInput::Digest(&d[..20])
            ),
            Err(CryptoError::BadParameters(_))
        ));
        if placement == Placement::Resident {
            let insp = Inspector::new(label);
            let id = Pkcs11Backend::object_id(&ec.private).expect("resident");
            assert_eq!(
                Pkcs11Backend::object_id(&ec.public),
                Some(id),
                "the pair shares CKA_ID"
            );
            let [priv_h] = insp.by_id(ObjectClass::PRIVATE_KEY, &id)[..] else {
                panic!("one private object")
            };
            assert!(insp.bool(priv_h, AttributeType::Token));
            assert!(insp.bool(priv_h, AttributeType::Sensitive));
            assert!(!insp.bool(priv_h, AttributeType::Extractable));
            assert_eq!(insp.by_id(ObjectClass::PUBLIC_KEY, &id).len(), 1);
        }
    }

    // Ed25519. SoftHSM 2.6.1 cannot wrap an EdDSA private key (C_WrapKey returns
    // CKR_KEY_NOT_WRAPPABLE), so wrapped placement has no Ed25519.
    let ed = b.generate_pair(KeyPairSpec::Ed25519, false, PRIV_AAD, PUB_AAD);
    if placement == Placement::Wrapped {
        match ed {
            Err(CryptoError::Unsupported(m)) => {
                eprintln!("[softhsm] wrapped Ed25519: {m}");
                assert!(m.contains("CKR_KEY_NOT_WRAPPABLE (0x69)"), "{m}");
            }
            other => panic!("wrapped Ed25519 on SoftHSM 2.6.1: {other:?}"),
        }
    } else {
        ed25519(&b, ed.expect("Ed25519 pair"), &msg);
    }

    // Sizes not offered.
    assert!(matches!(
        b.generate_pair(KeyPairSpec::Rsa(1024), false, PRIV_AAD, PUB_AAD),
        Err(CryptoError::BadParameters(_))
    ));
}

fn ed25519(b: &Pkcs11Backend, ed: keygate::backend::GeneratedRefs, msg: &[u8]) {
    let pkey = PKey::public_key_from_der(&ed.public_spki).expect("SPKI parses");
    let sig = b
        .sign(
            &ed.private,
            PRIV_AAD,
            KeyKind::Ed25519Private,
            SignatureScheme::Ed25519,
            SignInput::Message(msg),
        )
        .expect("Ed25519 sign");
    assert!(openssl_verify(&pkey, SignatureScheme::Ed25519, msg, &sig));
    assert!(b
        .verify(
            &ed.public,
            PUB_AAD,
            KeyKind::Ed25519Public,
            SignatureScheme::Ed25519,
            SignInput::Message(msg),
            &sig
        )
        .expect("verify"));
    assert!(matches!(
        b.sign(
            &ed.private,
            PRIV_AAD,
            KeyKind::Ed25519Private,
            SignatureScheme::Ed25519,
            SignInput::Digest(&[0; 64])
        ),
        Err(CryptoError::BadParameters(_))
    ));
}

#[test]
fn key_pairs_resident() {
    let _g = shared();
    let _t = Timer::start("key_pairs_resident");
    key_pairs("kg-pairs-r", Placement::Resident);
}

#[test]
fn key_pairs_wrapped() {
    let _g = shared();
    let _t = Timer::start("key_pairs_wrapped");
    key_pairs("kg-pairs-w", Placement::Wrapped);
    let insp = Inspector::new("kg-pairs-w");
    assert_eq!(
        insp.token_objects(),
        2,
        "wrapped pairs leave no token object"
    );
}

#[test]
fn hmac_and_cmac() {
    let _g = shared();
    let _t = Timer::start("hmac_and_cmac");
    let b = open("kg-mac", Placement::Resident);
    let data = b"authenticate me";

    // SoftHSM wants an HMAC key at least as long as the hash: 512 bits serves all.
    let hk = b
        .generate_symmetric(KeyKind::Hmac(512), true, AAD)
        .expect("HMAC key");
    let hv = b.export_secret(&hk, AAD).expect("export");
    for h in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
        let mac = b
            .mac(&hk, AAD, KeyKind::Hmac(512), MacAlg::Hmac(h), data)
            .expect("HMAC");
        let key = PKey::hmac(&hv).unwrap();
        let mut s = Signer::new(md(h), &key).unwrap();
        s.update(data).unwrap();
        assert_eq!(
            mac,
            s.sign_to_vec().unwrap(),
            "HMAC-{h:?} as OpenSSL computes it"
        );
        assert!(b
            .mac_verify(&hk, AAD, KeyKind::Hmac(512), MacAlg::Hmac(h), data, &mac)
            .unwrap());
        assert!(!b
            .mac_verify(
                &hk,
                AAD,
                KeyKind::Hmac(512),
                MacAlg::Hmac(h),
                b"other",
                &mac
            )
            .unwrap());
    }

    let ak = b.generate_aes(256, true, AAD).expect("AES key");
    let av = b.export_secret(&ak, AAD).expect("export");
    let mac = b
        .mac(&ak, AAD, KeyKind::Aes(256), MacAlg::AesCmac, data)
        .expect("CMAC");
    let key = PKey::cmac(&symm::Cipher::aes_256_cbc(), &av).unwrap();
    let mut s = Signer::new_without_digest(&key).unwrap();
    s.update(data).unwrap();
    assert_eq!(
        mac,
        s.sign_to_vec().unwrap(),
        "AES-CMAC as OpenSSL computes it"
    );
    assert!(b
        .mac_verify(&ak, AAD, KeyKind::Aes(256), MacAlg::AesCmac, data, &mac)
        .unwrap());

    assert!(matches!(
        b.mac(
            &ak,
            AAD,
            KeyKind::Aes(256),
            MacAlg::Hmac(HashAlg::Sha256),
            data
        ),
        Err(CryptoError::BadParameters(_))
    ));
}

/// What SoftHSM 2.6.1 lacks answers `Unsupported`, naming the mechanism and the
/// `CK_RV` — never a silent software fallback.
#[test]
fn softhsm_gaps_are_reported_as_unsupported() {
    let _g = shared();
    let _t = Timer::start("softhsm_gaps_are_reported_as_unsupported");
    let b = open("kg-missing", Placement::Resident);
    let rsa = b
        .generate_pair(KeyPairSpec::Rsa(2048), false, PRIV_AAD, PUB_AAD)
        .expect("RSA pair");

    for hash in [HashAlg::Sha256, HashAlg::Sha384] {
        match b.encrypt(
            &rsa.public,
            PUB_AAD,
            KeyKind::RsaPublic(2048),
            &Cipher::RsaOaep { hash },
            b"k",
        ) {
            Err(CryptoError::Unsupported(m)) => {
                eprintln!("[softhsm] RSA-OAEP {hash:?}: {m}");
                assert!(m.contains("RSA-OAEP with SHA-"), "{m}");
                assert!(
                    m.contains("C_EncryptInit returned CKR_ARGUMENTS_BAD (0x7)"),
                    "{m}"
                );
            }
            other => panic!("RSA-OAEP with {hash:?} on SoftHSM: {other:?}"),
        }
    }
    let ok = b
        .encrypt(
            &rsa.public,
            PUB_AAD,
            KeyKind::RsaPublic(2048),
            &Cipher::RsaOaep {
                hash: HashAlg::Sha1,
            },
            b"k",
        )
        .expect("RSA-OAEP with SHA-1 is there");
    assert_eq!(ok.data.len(), 256);

    let aes = b.generate_aes(256, false, AAD).expect("AES key");
    for pad in [false, true] {
        match b.encrypt(
            &aes,
            AAD,
            KeyKind::Aes(256),
            &Cipher::AesKeyWrap { pad },
            &[1u8; 32],
        ) {
            Err(CryptoError::Unsupported(m)) => {
                eprintln!("[softhsm] AES key wrap as a cipher (pad {pad}): {m}");
                assert!(m.contains("CKR_MECHANISM_INVALID (0x70)"), "{m}");
            }
            other => panic!("AES key wrap (pad {pad}) on SoftHSM: {other:?}"),
        }
    }

    let short = b
        .generate_symmetric(KeyKind::Hmac(128), false, AAD)
        .expect("128-bit HMAC key");
    match b.mac(
        &short,
        AAD,
        KeyKind::Hmac(128),
        MacAlg::Hmac(HashAlg::Sha256),
        b"x",
    ) {
        Err(CryptoError::Unsupported(m)) => {
            eprintln!("[softhsm] HMAC-SHA-256 with a 16-byte key: {m}");
            assert!(m.contains("CKR_KEY_SIZE_RANGE"), "{m}");
        }
        other => panic!("HMAC-SHA-256 with a 16-byte key: {other:?}"),
    }
}

#[test]
fn configuration_errors_name_their_cause() {
    let _g = shared();
    let _t = Timer::start("configuration_errors_name_their_cause");
    let mut cfg = config("kg-errors", Placement::Resident);
    cfg.pin = Zeroizing::new("0000".into());
    match Pkcs11Backend::open(&cfg) {
        Err(BackendError::Unavailable(m)) => assert!(
            m.contains("C_Login returned CKR_PIN_INCORRECT (0xa0)"),
            "{m}"
        ),
        other => panic!("wrong PIN: {other:?}"),
    }
    let mut cfg = config("kg-no-such-token", Placement::Resident);
    cfg.sessions = 1;
    match Pkcs11Backend::open(&cfg) {
        Err(BackendError::Unavailable(m)) => {
            assert!(m.contains("no token labelled 'kg-no-such-token'"), "{m}")
        }
        other => panic!("unknown token: {other:?}"),
    }
    let mut cfg = config("kg-errors", Placement::Resident);
    cfg.module = "/nonexistent/libpkcs11.so".into();
    match Pkcs11Backend::open(&cfg) {
        Err(BackendError::Unavailable(m)) => {
            assert!(m.contains("cannot load PKCS#11 module"), "{m}")
        }
        other => panic!("missing module: {other:?}"),
    }

    let b = open("kg-errors", Placement::Resident);
    assert!(format!("{b:?}").contains("kg-errors"));
    assert!(!format!("{:?}", config("kg-errors", Placement::Resident)).contains(USER_PIN));
    for junk in [vec![], vec![1, b'R', 1, 1], vec![9; 20]] {
        assert!(matches!(
            b.export_secret(&KeyRef(junk.clone()), AAD),
            Err(BackendError::Integrity)
        ));
        assert!(matches!(
            b.encrypt(
                &KeyRef(junk),
                AAD,
                KeyKind::Aes(256),
                &Cipher::AesEcb,
                &[0; 16]
            ),
            Err(CryptoError::Failed(_))
        ));
    }
    // A wrapped reference on a resident backend, and a kind that does not match.
    let key = b.generate_aes(256, false, AAD).unwrap();
    assert!(matches!(
        b.sign(
            &key,
            AAD,
            KeyKind::RsaPrivate(2048),
            SignatureScheme::RsaPss(HashAlg::Sha256),
            SignInput::Message(b"x")
        ),
        Err(CryptoError::BadParameters(_))
    ));
}

/// A pool of two sessions serves eight threads; the token never sees more sessions.
#[test]
fn session_pool_is_bounded_and_shared() {
    let _g = shared();
    let _t = Timer::start("session_pool_is_bounded_and_shared");
    let mut cfg = config("kg-pool", Placement::Resident);
    cfg.sessions = 2;
    let b = Pkcs11Backend::open(&cfg).expect("open");
    let key = b.generate_aes(256, false, AAD).unwrap();
    let insp = Inspector::new("kg-pool");
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let (b, key) = (&b, &key);
            s.spawn(move || {
                for i in 0..150u32 {
                    let msg = [t, (i % 251) as u8];
                    let e = b
                        .encrypt(key, AAD, KeyKind::Aes(256), &gcm(None, 16, None), &msg)
                        .expect("encrypt");
                    let d = b
                        .decrypt(key, AAD, KeyKind::Aes(256), &gcm(e.iv, 16, e.tag), &e.data)
                        .expect("decrypt");
                    assert_eq!(&d[..], &msg);
                }
            });
        }
    });
    // SoftHSM does not count sessions in C_GetTokenInfo; the pool does.
    assert_eq!(insp.session_count(), None);
    assert_eq!(b.open_sessions(), 2, "eight threads, two sessions");
}

/// The token goes away (the token directory disappears) and
/// comes back: every call in between fails within a second with the `CK_RV` in the
/// message, and the same backend works again afterwards without being reopened.
#[test]
fn outage_fails_fast_and_recovers_without_reopen() {
    let _g = exclusive();
    let _t = Timer::start("outage_fails_fast_and_recovers_without_reopen");
    let hsm = hsm();
    let b = open("kg-outage", Placement::Resident);
    let key = b.generate_aes(256, false, AAD).expect("generate");
    let kind = KeyKind::Aes(256);
    let before = b
        .encrypt(&key, AAD, kind, &gcm(None, 16, None), b"before")
        .expect("encrypt");
    // A second backend on the same module and token, wrapped placement: it shares
    // the module's fate and its recovery.
    let w = open("kg-outage", Placement::Wrapped);
    let wkey = w.generate_aes(256, false, AAD).expect("wrapped key");
    let wbefore = w
        .encrypt(&wkey, AAD, kind, &gcm(None, 16, None), b"wrapped before")
        .expect("encrypt");

    // The whole token directory goes, as a disk or an HSM's storage would: SoftHSM
    // 2.6.1 keeps serving objects it has loaded when only one token's own directory
    // is renamed, but with the token directory gone its C_GetTokenInfo and
    // C_Initialize fail (CKR_GENERAL_ERROR) until it is back.
    let dir = hsm
        .token_dir("kg-outage")
        .parent()
        .expect("the token directory")
        .to_path_buf();
    let away = dir.with_extension("away");
    std::fs::rename(&dir, &away).expect("taking the token away");
    let outage = Instant::now();
    let mut worst = Duration::ZERO;
    let mut messages = Vec::new();
    for i in 0..12 {
        let t = Instant::now();
        let r = b.encrypt(&key, AAD, kind, &gcm(None, 16, None), b"during");
        let took = t.elapsed();
        worst = worst.max(took);
        assert!(took < Duration::from_secs(1), "call {i} took {took:?}");
        match r {
            Err(CryptoError::Device(m)) => messages.push(m),
            other => panic!("call {i} during the outage: {other:?}"),
        }
        let t = Instant::now();
        assert!(matches!(
            b.generate_secret(32, AAD),
            Err(BackendError::Unavailable(_))
        ));
        assert!(t.elapsed() < Duration::from_secs(1));
        let t = Instant::now();
        let r = w.encrypt(&wkey, AAD, kind, &gcm(None, 16, None), b"during");
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(
            matches!(r, Err(CryptoError::Device(_))),
            "wrapped backend during the outage: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(60));
    }
    eprintln!("[outage] first error: {}", messages[0]);
    eprintln!("[outage] last error: {}", messages[messages.len() - 1]);
    eprintln!("[outage] slowest failing call: {worst:?}");
    assert!(
        messages[0].contains("CKR_"),
        "the CK_RV is kept: {}",
        messages[0]
    );

    std::fs::rename(&away, &dir).expect("bringing the token back");
    let back = Instant::now();
    let recovered = loop {
        match b.decrypt(
            &key,
            AAD,
            kind,
            &gcm(before.iv.clone(), 16, before.tag.clone()),
            &before.data,
        ) {
            Ok(pt) => break pt,
            Err(e) if back.elapsed() < Duration::from_secs(5) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("not recovered 5 s after the token came back: {e}"),
        }
    };
    eprintln!(
        "[outage] down for {:?}, recovered {:?} after the token came back",
        back - outage,
        back.elapsed()
    );
    assert_eq!(&recovered[..], b"before");
    b.encrypt(&key, AAD, kind, &gcm(None, 16, None), b"after")
        .expect("encrypt after recovery");
    assert_eq!(b.random(16).expect("random after recovery").len(), 16);
    let back = Instant::now();
    let wrecovered = loop {
        match w.decrypt(
            &wkey,
            AAD,
            kind,
            &gcm(wbefore.iv.clone(), 16, wbefore.tag.clone()),
            &wbefore.data,
        ) {
            Ok(pt) => break pt,
            Err(_) if back.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("the wrapped backend did not recover: {e}"),
        }
    };
    assert_eq!(&wrecovered[..], b"wrapped before");
}

/// Registered private and public keys (PKCS#8, SPKI) become typed keys of the
/// token: they encrypt, decrypt, sign and verify there, and an extractable private
/// key comes back as the same key.
fn registered_keys(label: &str, placement: Placement) {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::rsa::Rsa;
    let b = open(label, placement);
    let msg = b"registered, then used in the token";

    let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let ec = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    for (key, private_kind, public_kind, scheme) in [
        (
            &rsa,
            KeyKind::RsaPrivate(2048),
            KeyKind::RsaPublic(2048),
            SignatureScheme::RsaPkcs1v15(HashAlg::Sha256),
        ),
        (
            &ec,
            KeyKind::EcPrivate(Curve::P256),
            KeyKind::EcPublic(Curve::P256),
            SignatureScheme::Ecdsa(HashAlg::Sha256),
        ),
    ] {
        let pkcs8 = key.private_key_to_pkcs8().unwrap();
        let spki = key.public_key_to_der().unwrap();
        let public = PKey::public_key_from_der(&spki).unwrap();
        let open_private = b
            .import_private_key(private_kind, &pkcs8, true, PRIV_AAD)
            .expect("import private key");
        let closed_private = b
            .import_private_key(private_kind, &pkcs8, false, PRIV_AAD)
            .expect("import non-extractable private key");
        let pubkey = b
            .import_public_key(public_kind, &spki, PUB_AAD)
            .expect("import public key");
        assert_eq!(
            &b.export_secret(&pubkey, PUB_AAD).expect("public key")[..],
            &spki[..],
            "{public_kind:?}"
        );
        let exported = b.export_secret(&open_private, PRIV_AAD).expect("export");
        let back = PKey::private_key_from_pkcs8(&exported).unwrap();
        assert!(
            back.public_eq(key),
            "{private_kind:?} exported is the key registered"
        );
        assert!(matches!(
            b.export_secret(&closed_private, PRIV_AAD),
            Err(BackendError::NotExtractable)
        ));
        let sig = b
            .sign(
                &closed_private,
                PRIV_AAD,
                private_kind,
                scheme,
                SignInput::Message(msg),
            )
            .expect("sign");
        assert!(openssl_verify(&public, scheme, msg, &sig), "{scheme:?}");
        assert!(b
            .verify(
                &pubkey,
                PUB_AAD,
                public_kind,
                scheme,
                SignInput::Message(msg),
                &sig
            )
            .expect("verify"));
        assert!(!b
            .verify(
                &pubkey,
                PUB_AAD,
                public_kind,
                scheme,
                SignInput::Message(b"other"),
                &sig
            )
            .expect("verify"));
        if matches!(private_kind, KeyKind::RsaPrivate(_)) {
            // RSA-PSS signatures with a salt length other than the hash length (20
            // bytes, none, the most that fits) verify, in the token, with the salt
            // length read from the signature; an altered one does not.
            let pss = SignatureScheme::RsaPss(HashAlg::Sha256);
            for salt in [
                RsaPssSaltlen::custom(20),
                RsaPssSaltlen::custom(0),
                RsaPssSaltlen::MAXIMUM_LENGTH,
            ] {
                let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
                signer.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
                signer.set_rsa_pss_saltlen(salt).unwrap();
                signer.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
                signer.update(msg).unwrap();
                let sig = signer.sign_to_vec().unwrap();
                let verify = |input: SignInput<'_>, sig: &[u8]| {
                    b.verify(&pubkey, PUB_AAD, public_kind, pss, input, sig)
                        .expect("PSS verify")
                };
                assert!(verify(SignInput::Message(msg), &sig));
                let d = digest(HashAlg::Sha256, msg);
                assert!(verify(SignInput::Digest(&d), &sig));
                assert!(!verify(SignInput::Message(b"other"), &sig));
                let mut bad = sig.clone();
                bad[0] = 0xff; // above the modulus
                assert!(!verify(SignInput::Message(msg), &bad));
                let mut bad = sig.clone();
                *bad.last_mut().unwrap() ^= 1;
                assert!(!verify(SignInput::Message(msg), &bad));
                if placement == Placement::Resident {
                    assert!(b
                        .verify(
                            &closed_private,
                            PRIV_AAD,
                            private_kind,
                            pss,
                            SignInput::Message(msg),
                            &sig
                        )
                        .expect("PSS verify with the private key"));
                }
            }
            // Signing keeps sLen = hLen.
            let sig = b
                .sign(
                    &closed_private,
                    PRIV_AAD,
                    private_kind,
                    pss,
                    SignInput::Message(msg),
                )
                .expect("PSS sign");
            assert!(openssl_verify(&public, pss, msg, &sig));
        }
        if placement == Placement::Resident {
            // The private key's public half is in the token with it.
            assert!(b
                .verify(
                    &closed_private,
                    PRIV_AAD,
                    private_kind,
                    scheme,
                    SignInput::Message(msg),
                    &sig
                )
                .expect("verify with the private key"));
        }
        if matches!(private_kind, KeyKind::RsaPrivate(_)) {
            for cipher in [
                Cipher::RsaPkcs1v15,
                Cipher::RsaOaep {
                    hash: HashAlg::Sha1,
                },
            ] {
                let e = b
                    .encrypt(&pubkey, PUB_AAD, public_kind, &cipher, msg)
                    .expect("encrypt");
                let d = b
                    .decrypt(&closed_private, PRIV_AAD, private_kind, &cipher, &e.data)
                    .expect("decrypt");
                assert_eq!(&d[..], msg, "{cipher:?}");
            }
        }
        // A key of another kind than named is refused.
        assert!(b
            .import_private_key(KeyKind::EcPrivate(Curve::P384), &pkcs8, false, PRIV_AAD)
            .is_err());
    }
}

#[test]
fn registered_keys_resident() {
    let _g = shared();
    let _t = Timer::start("registered_keys_resident");
    registered_keys("kg-reg-r", Placement::Resident);
}

#[test]
fn registered_keys_wrapped() {
    let _g = shared();
    let _t = Timer::start("registered_keys_wrapped");
    registered_keys("kg-reg-w", Placement::Wrapped);
    assert_eq!(
        Inspector::new("kg-reg-w").token_objects(),
        2,
        "wrapped placement keeps registered keys outside the token"
    );
}

/// Triple-DES keys in the token (`CKK_DES3`, `CKK_DES2`): generated and imported,
/// CBC (with and without padding) and ECB checked against OpenSSL, exported only
/// when extractable.
fn triple_des(label: &str, placement: Placement) {
    let b = open(label, placement);
    let data = b"sixteen bytes!!!twenty-four bytes long....";
    let block_data = &data[..32];
    let iv = vec![0x24; 8];

    // Three-key, generated in the token (CKM_DES3_KEY_GEN).
    let k3 = b
        .generate_key(KeyKind::Des3(168), Export::Clear, AAD)
        .expect("generate 3DES");
    let v3 = b.export_secret(&k3, AAD).expect("export 3DES");
    assert_eq!(v3.len(), 24);
    // Two-key, imported (16 bytes; OpenSSL uses K1 K2 K1).
    let two: Vec<u8> = (0u8..16).map(|i| i.wrapping_mul(37) | 1).collect();
    let k2 = b
        .import_key(KeyKind::Des3(112), &two, Export::Clear, AAD)
        .expect("import 2-key 3DES");
    assert_eq!(&b.export_secret(&k2, AAD).expect("export")[..], &two[..]);
    let mut two_full = two.clone();
    two_full.extend_from_slice(&two[..8]);

    for (key, kind, raw) in [
        (&k3, KeyKind::Des3(168), &v3[..]),
        (&k2, KeyKind::Des3(112), &two_full[..]),
    ] {
        for (cipher, ossl, input, pad) in [
            (
                Cipher::AesCbc {
                    iv: Some(iv.clone()),
                    pad: false,
                },
                symm::Cipher::des_ede3_cbc(),
                block_data,
                false,
            ),
            (
                Cipher::AesCbc {
                    iv: Some(iv.clone()),
                    pad: true,
                },
                symm::Cipher::des_ede3_cbc(),
                &data[..],
                true,
            ),
            (
                Cipher::AesEcb,
                symm::Cipher::des_ede3_ecb(),
                block_data,
                false,
            ),
        ] {
            let e = b
                .encrypt(key, AAD, kind, &cipher, input)
                .unwrap_or_else(|e| panic!("{kind:?} {cipher:?}: {e}"));
            let iv_used = matches!(cipher, Cipher::AesCbc { .. }).then_some(&iv[..]);
            assert_eq!(
                e.data,
                openssl_aes(ossl, raw, iv_used, input, pad),
                "{kind:?} {cipher:?}"
            );
            let d = b
                .decrypt(key, AAD, kind, &cipher, &e.data)
                .expect("3DES decrypt");
            assert_eq!(&d[..], input, "{kind:?} {cipher:?}");
        }
        // An IV the caller left out is drawn and returned (8 bytes).
        let cbc = Cipher::AesCbc {
            iv: None,
            pad: true,
        };
        let e = b.encrypt(key, AAD, kind, &cbc, data).expect("3DES encrypt");
        let drawn = e.iv.clone().expect("generated IV");
        assert_eq!(drawn.len(), 8);
        let d = b
            .decrypt(
                key,
                AAD,
                kind,
                &Cipher::AesCbc {
                    iv: Some(drawn),
                    pad: true,
                },
                &e.data,
            )
            .expect("3DES decrypt");
        assert_eq!(&d[..], &data[..]);
        // A 16-byte IV, unpadded data off the 8-byte block, another mode: refused.
        for (cipher, input) in [
            (
                Cipher::AesCbc {
                    iv: Some(vec![0; 16]),
                    pad: false,
                },
                block_data,
            ),
            (Cipher::AesEcb, &data[..]),
            (Cipher::AesCtr { iv: None }, block_data),
        ] {
            assert!(
                b.encrypt(key, AAD, kind, &cipher, input).is_err(),
                "{kind:?} {cipher:?}"
            );
        }
        // The key is not an AES key.
        assert!(b
            .encrypt(key, AAD, KeyKind::Aes(128), &Cipher::AesEcb, block_data)
            .is_err());
    }
    // The other kind's key is refused.
    assert!(b
        .encrypt(&k2, AAD, KeyKind::Des3(168), &Cipher::AesEcb, block_data)
        .is_err());

    // Two-key, generated (CKM_DES2_KEY_GEN) and not extractable.
    let k = b
        .generate_key(KeyKind::Des3(112), Export::Never, AAD)
        .expect("generate 2-key 3DES");
    assert!(matches!(
        b.export_secret(&k, AAD),
        Err(BackendError::NotExtractable)
    ));
    let e = b
        .encrypt(&k, AAD, KeyKind::Des3(112), &Cipher::AesEcb, block_data)
        .expect("encrypt");
    let d = b
        .decrypt(&k, AAD, KeyKind::Des3(112), &Cipher::AesEcb, &e.data)
        .expect("decrypt");
    assert_eq!(&d[..], block_data);

    if placement == Placement::Resident {
        let id = Pkcs11Backend::object_id(&k).expect("resident reference");
        let ins = Inspector::new(label);
        let h = ins.by_id(ObjectClass::SECRET_KEY, &id);
        assert_eq!(h.len(), 1);
        assert!(ins
            .attrs(h[0], &[AttributeType::KeyType])
            .contains(&Attribute::KeyType(KeyType::DES2)));
        assert!(ins.bool(h[0], AttributeType::Sensitive));
        assert!(!ins.bool(h[0], AttributeType::Extractable));
    }
    for key in [&k3, &k2, &k] {
        b.destroy(key).expect("destroy");
    }
}

#[test]
fn triple_des_resident() {
    let _g = shared();
    let _t = Timer::start("triple_des_resident");
    triple_des("kg-des-r", Placement::Resident);
}

#[test]
fn triple_des_wrapped() {
    let _g = shared();
    let _t = Timer::start("triple_des_wrapped");
    triple_des("kg-des-w", Placement::Wrapped);
    assert_eq!(
        Inspector::new("kg-des-w").token_objects(),
        2,
        "wrapped placement keeps Triple-DES keys outside the token"
    );
}
