//! A real daemon whose `default` vault lives on a SoftHSM token (issue 4), driven over
//! KMIP with mutual TLS: `keygate init --pkcs11-module ... --token-label ...
//! --pin-file ...` (here through `keygate::setup::init`), `keygate::daemon::start`,
//! then Create / Activate / Encrypt / Decrypt / Create Key Pair / Sign / Signature
//! Verify / Get / Destroy, with the token looked at directly through `cryptoki`:
//!
//! - resident placement: each key is a token object, `CKA_EXTRACTABLE` false unless
//!   asked; Get of such a key is refused; Destroy destroys the object;
//! - wrapped placement: the token holds its KEK and MAC key and nothing per key;
//! - a backend that cannot open (wrong PIN, missing token) stops the start with an
//!   error naming it.
//!
//! One SoftHSM configuration serves the binary, one token per test
//! ([`SoftHsm::shared`]).

use std::path::PathBuf;
use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use keygate::backend::pkcs11::Pkcs11Backend;
use keygate::config::{Config, PinSource, Placement};
use keygate::setup::{InitOptions, Pkcs11Init, VaultOptions, INIT_HSM_BACKEND};
use kmip::messages::payloads::ResponsePayload;
use kmip::types::{ResultReason, ValidityIndicator};
use kmip::version::ProtocolVersion;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use softhsm_tests::kmip_client::{self as k, Kmip};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use softhsm_tests::{Daemon, TempDir};

/// One token per test.
const TOKENS: &[&str] = &[
    "kg-daemon-resident",
    "kg-daemon-wrapped",
    "kg-daemon-badpin",
];

const V: ProtocolVersion = ProtocolVersion::V2_1;

/// The vault `keygate init` makes.
const VAULT: &str = "default";

fn hsm() -> &'static SoftHsm {
    SoftHsm::shared(TOKENS)
}

/// Prints how long a test took (run with `--nocapture` to see it).
struct Timer(&'static str, Instant);

impl Drop for Timer {
    fn drop(&mut self) {
        eprintln!("[timing] {}: {:?}", self.0, self.1.elapsed());
    }
}

/// A PIN file readable by its owner alone, in a directory of its own.
fn pin_file(pin: &str) -> (TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("pin");
    std::fs::create_dir_all(dir.path()).expect("pin directory");
    let path = dir.path().join("hsm.pin");
    std::fs::write(&path, format!("{pin}\n")).expect("pin file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    (dir, path)
}

/// `keygate init` options putting the `default` vault on token `label`.
fn init_options(label: &str, pin: PinSource, placement: Placement) -> InitOptions {
    hsm();
    InitOptions {
        pkcs11: Some(Pkcs11Init {
            module: softhsm::module(),
            token_label: label.to_owned(),
            pin,
            placement,
        }),
        ..InitOptions::default()
    }
}

/// The binding the request path gives an object's backend reference (vault, NUL,
/// UID; ARCHITECTURE.md "Objects at rest").
fn aad(vault: &str, uid: &str) -> Vec<u8> {
    let mut v = vault.as_bytes().to_vec();
    v.push(0);
    v.extend_from_slice(uid.as_bytes());
    v
}

/// A cryptoki session of its own on a token, to look at what the daemon made.
struct Inspector {
    session: Session,
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
        Inspector { session }
    }

    fn find(&self, template: &[Attribute]) -> Vec<ObjectHandle> {
        self.session.find_objects(template).expect("C_FindObjects")
    }

    fn token_objects(&self) -> usize {
        self.find(&[Attribute::Token(true)]).len()
    }

    /// The token objects of class `class` made for the KMIP object `uid` of the
    /// `default` vault.
    fn of(&self, class: ObjectClass, uid: &str) -> Vec<ObjectHandle> {
        self.of_in(class, VAULT, uid)
    }

    /// The token objects of class `class` made for the KMIP object `uid` of `vault`.
    fn of_in(&self, class: ObjectClass, vault: &str, uid: &str) -> Vec<ObjectHandle> {
        self.find(&[
            Attribute::Class(class),
            Attribute::Label(Pkcs11Backend::object_label(&aad(vault, uid))),
        ])
    }

    fn one(&self, class: ObjectClass, uid: &str) -> ObjectHandle {
        match self.of(class, uid)[..] {
            [h] => h,
            ref other => panic!("{} {class} objects for {uid}, not one", other.len()),
        }
    }

    fn attrs(&self, handle: ObjectHandle, types: &[AttributeType]) -> Vec<Attribute> {
        self.session
            .get_attributes(handle, types)
            .expect("C_GetAttributeValue")
    }

    fn bool(&self, handle: ObjectHandle, ty: AttributeType) -> bool {
        match self.attrs(handle, &[ty]).as_slice() {
            [Attribute::Token(v)
            | Attribute::Extractable(v)
            | Attribute::Sensitive(v)
            | Attribute::NeverExtractable(v)
            | Attribute::Local(v)] => *v,
            other => panic!("{ty:?}: {other:?}"),
        }
    }

    /// The RSA public key of a public key object, as OpenSSL's.
    fn rsa_public(&self, handle: ObjectHandle) -> PKey<openssl::pkey::Public> {
        let (mut n, mut e) = (None, None);
        for a in self.attrs(
            handle,
            &[AttributeType::Modulus, AttributeType::PublicExponent],
        ) {
            match a {
                Attribute::Modulus(v) => n = Some(v),
                Attribute::PublicExponent(v) => e = Some(v),
                _ => {}
            }
        }
        let n = BigNum::from_slice(&n.expect("CKA_MODULUS")).expect("modulus");
        let e = BigNum::from_slice(&e.expect("CKA_PUBLIC_EXPONENT")).expect("exponent");
        PKey::from_rsa(Rsa::from_public_components(n, e).expect("RSA key")).expect("PKey")
    }
}

/// The `default` vault is on backend `hsm` with the extractable default of the
/// placement.
fn check_config(d: &Daemon, placement: Placement) {
    assert_eq!(d.report().backend, INIT_HSM_BACKEND);
    let cfg = Config::load(&d.report().config).expect("config");
    let v = cfg.vault(VAULT).expect("default vault");
    assert_eq!(v.backend, INIT_HSM_BACKEND);
    assert_eq!(v.extractable_by_default, placement == Placement::Wrapped);
}

/// Create AES-256, Activate, and an AES-GCM round trip; returns the key's UID.
fn aes_round_trip(c: &mut Kmip) -> String {
    let id = c.send(V, &k::create_aes(256, "")).uid(0);
    c.send(V, &k::by_uid("Activate", &id)).uid(0);
    let plain = b"card 4111 1111 1111 1111, exp 12/29";
    let header = b"record 42";
    let r = c.send(V, &k::encrypt_gcm(&id, plain, header));
    let ResponsePayload::Encrypt(e) = r.ok(0) else {
        panic!("not an Encrypt answer: {:?}", r.ok(0))
    };
    let data = e.data.clone().expect("ciphertext");
    let nonce = e
        .iv_counter_nonce
        .clone()
        .expect("the nonce the token drew");
    let tag = e.authenticated_encryption_tag.clone().expect("GCM tag");
    assert_eq!((data.len(), nonce.len(), tag.len()), (plain.len(), 12, 16));
    assert_ne!(&data[..], &plain[..]);
    let r = c.send(V, &k::decrypt_gcm(&id, &data, &nonce, header, &tag));
    let ResponsePayload::Decrypt(p) = r.ok(0) else {
        panic!("not a Decrypt answer: {:?}", r.ok(0))
    };
    assert_eq!(p.data.as_deref(), Some(&plain[..]));
    // A tag that does not verify is a failure, not data.
    let mut bad = tag.clone();
    bad[0] ^= 1;
    let (reason, msg) = c
        .send(V, &k::decrypt_gcm(&id, &data, &nonce, header, &bad))
        .failed(0);
    assert_eq!(reason, ResultReason::CryptographicFailure, "{msg}");
    id
}

/// Create Key Pair RSA-2048, Activate both, Sign, Signature Verify (valid and
/// invalid); returns the private and public UIDs and the signature.
fn rsa_sign_verify(c: &mut Kmip, message: &[u8]) -> (String, String, Vec<u8>) {
    let r = c.send(V, &k::create_rsa_pair(2048));
    let ResponsePayload::CreateKeyPair(p) = r.ok(0) else {
        panic!("not a Create Key Pair answer: {:?}", r.ok(0))
    };
    let (private, public) = (
        p.private_key_unique_identifier.clone(),
        p.public_key_unique_identifier.clone(),
    );
    c.send(V, &k::by_uid("Activate", &private)).uid(0);
    c.send(V, &k::by_uid("Activate", &public)).uid(0);
    let r = c.send(V, &k::sign_rsa(&private, message));
    let ResponsePayload::Sign(s) = r.ok(0) else {
        panic!("not a Sign answer: {:?}", r.ok(0))
    };
    let signature = s.signature_data.clone().expect("signature");
    assert_eq!(signature.len(), 256);
    let verdict = |c: &mut Kmip, data: &[u8]| {
        let r = c.send(V, &k::verify_rsa(&public, data, &signature));
        match r.ok(0) {
            ResponsePayload::SignatureVerify(v) => v.validity_indicator,
            other => panic!("not a Signature Verify answer: {other:?}"),
        }
    };
    assert_eq!(verdict(c, message), ValidityIndicator::Valid);
    assert_eq!(verdict(c, b"another message"), ValidityIndicator::Invalid);
    (private, public, signature)
}

/// OpenSSL's verdict on an RSA PKCS#1 v1.5 SHA-256 signature.
fn openssl_verifies(key: &PKey<openssl::pkey::Public>, msg: &[u8], sig: &[u8]) -> bool {
    let mut v = Verifier::new(MessageDigest::sha256(), key).expect("verifier");
    v.update(msg).expect("update");
    v.verify(sig).unwrap_or(false)
}

/// Revoke then Destroy (an Active object cannot be destroyed).
fn destroy(c: &mut Kmip, uid: &str) {
    c.send(V, &k::revoke(uid)).uid(0);
    c.send(V, &k::by_uid("Destroy", uid)).uid(0);
}

#[test]
fn resident_vault_keys_live_and_die_in_the_token() {
    let _t = Timer(
        "resident_vault_keys_live_and_die_in_the_token",
        Instant::now(),
    );
    let label = "kg-daemon-resident";
    let (_pins, pin) = pin_file(USER_PIN);
    let d = Daemon::start_with(
        "hsm-resident",
        &init_options(label, PinSource::File(pin), Placement::Resident),
    );
    check_config(&d, Placement::Resident);
    let insp = Inspector::new(label);
    let mut c = d.connect("app");

    // A symmetric key: a token object, sensitive, never extractable, used in place.
    let id = aes_round_trip(&mut c);
    let h = insp.one(ObjectClass::SECRET_KEY, &id);
    assert!(insp.bool(h, AttributeType::Token), "CKA_TOKEN");
    assert!(!insp.bool(h, AttributeType::Extractable), "CKA_EXTRACTABLE");
    assert!(insp.bool(h, AttributeType::Sensitive), "CKA_SENSITIVE");
    assert!(insp.bool(h, AttributeType::NeverExtractable));
    assert!(insp.bool(h, AttributeType::Local), "generated in the token");
    assert!(insp
        .attrs(h, &[AttributeType::KeyType])
        .contains(&Attribute::KeyType(KeyType::AES)));
    assert!(insp
        .attrs(h, &[AttributeType::ValueLen])
        .contains(&Attribute::ValueLen(32.into())));

    // Get of it is refused: the vault's default keeps resident keys in the token.
    let (reason, msg) = c.send(V, &k::by_uid("Get", &id)).failed(0);
    assert_eq!(reason, ResultReason::NotExtractable, "{msg}");
    assert!(
        !insp.bool(h, AttributeType::Extractable),
        "still in the token"
    );

    // A key pair: two token objects, the private one never extractable; the
    // signature verifies in the token and, independently, with OpenSSL.
    let message = b"pay 100 EUR to account 42";
    let (private, public, signature) = rsa_sign_verify(&mut c, message);
    let hp = insp.one(ObjectClass::PRIVATE_KEY, &private);
    assert!(insp.bool(hp, AttributeType::Token));
    assert!(!insp.bool(hp, AttributeType::Extractable));
    assert!(insp.bool(hp, AttributeType::Sensitive));
    let hq = insp.one(ObjectClass::PUBLIC_KEY, &public);
    assert!(openssl_verifies(&insp.rsa_public(hq), message, &signature));
    let (reason, msg) = c.send(V, &k::by_uid("Get", &private)).failed(0);
    assert_eq!(reason, ResultReason::NotExtractable, "{msg}");

    // Destroy removes the token objects.
    destroy(&mut c, &id);
    assert!(insp.of(ObjectClass::SECRET_KEY, &id).is_empty());
    destroy(&mut c, &private);
    assert!(insp.of(ObjectClass::PRIVATE_KEY, &private).is_empty());
    let (reason, _) = c.send(V, &k::encrypt_gcm(&id, b"x", b"")).failed(0);
    assert_ne!(reason, ResultReason::GeneralFailure);

    // Several vaults, each on the backend it names, added while the daemon runs
    // (`keygate vault add [--backend hsm]`, `keygate client add`; picked up by the
    // reload).
    let config = &d.report().config;
    for (vault, backend) in [("soft", "software"), ("signing", "hsm")] {
        let opts = VaultOptions {
            backend: backend.into(),
            ..VaultOptions::default()
        };
        keygate::setup::vault_add(config, vault, &opts).expect("vault add");
        keygate::setup::client_add(config, &format!("{vault}-app"), vault, "app")
            .expect("client add");
    }
    let mut soft = connect_new(&d, "soft-app");
    let id = created_after_reload(&mut soft);
    assert!(insp.of_in(ObjectClass::SECRET_KEY, "soft", &id).is_empty());
    let r = soft.send(V, &k::by_uid("Get", &id));
    assert!(
        matches!(r.ok(0), ResponsePayload::Get(_)),
        "software keys export"
    );
    let mut signing = connect_new(&d, "signing-app");
    let id = created_after_reload(&mut signing);
    let h = insp.of_in(ObjectClass::SECRET_KEY, "signing", &id);
    assert_eq!(h.len(), 1, "a token object in the HSM vault");
    assert!(!insp.bool(h[0], AttributeType::Extractable));
    d.stop();
}

/// A client for an identity `keygate client add` made (`clients/NAME`).
fn connect_new(d: &Daemon, name: &str) -> Kmip {
    let dir = d.report().dir.join("clients").join(name);
    Kmip::connect(
        d.addr(),
        &d.report().ca_cert,
        &dir.join("cert.pem"),
        &dir.join("key.pem"),
    )
}

/// Creates an AES key once the daemon has reloaded the identity (the config is
/// polled every 2 seconds); returns its UID.
fn created_after_reload(c: &mut Kmip) -> String {
    let deadline = Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let r = c.send(V, &k::create_aes(256, ""));
        if r.item(0).result_status == kmip::types::ResultStatus::Success {
            return r.uid(0);
        }
        let (reason, msg) = r.failed(0);
        assert_eq!(reason, ResultReason::PermissionDenied, "{msg}");
        assert!(Instant::now() < deadline, "the identity was never reloaded");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn wrapped_vault_keeps_no_token_object_per_key() {
    let _t = Timer(
        "wrapped_vault_keeps_no_token_object_per_key",
        Instant::now(),
    );
    let label = "kg-daemon-wrapped";
    // The PIN from the daemon's environment this time.
    let var = "KEYGATE_TEST_DAEMON_WRAPPED_PIN";
    std::env::set_var(var, USER_PIN);
    let d = Daemon::start_with(
        "hsm-wrapped",
        &init_options(label, PinSource::Env(var.into()), Placement::Wrapped),
    );
    check_config(&d, Placement::Wrapped);
    let insp = Inspector::new(label);
    // The KEK and its MAC key, made at the first open; nothing else, ever.
    let before = insp.token_objects();
    assert_eq!(before, 2, "KEK and MAC key only");
    let mut c = d.connect("app");

    let id = aes_round_trip(&mut c);
    assert!(insp.of(ObjectClass::SECRET_KEY, &id).is_empty());
    let message = b"wrapped keys sign too";
    let (private, public, _) = rsa_sign_verify(&mut c, message);
    assert!(insp.of(ObjectClass::PRIVATE_KEY, &private).is_empty());
    assert!(insp.of(ObjectClass::PUBLIC_KEY, &public).is_empty());
    assert_eq!(insp.token_objects(), before, "no token object per key");

    destroy(&mut c, &id);
    destroy(&mut c, &private);
    assert_eq!(insp.token_objects(), before);
    d.stop();
}

/// What an init'ed deployment on token `label` answers at start.
fn start_error(label: &str, pin: PinSource) -> String {
    let dir = TempDir::new("hsm-start");
    let report = keygate::setup::init(dir.path(), &init_options(label, pin, Placement::Resident))
        .expect("init");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(keygate::daemon::start(
        &report.config,
        Some("127.0.0.1:0".parse().expect("address")),
    )) {
        Ok(d) => {
            let _ = rt.block_on(d.stop());
            panic!("the daemon started on token {label}")
        }
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_backend_that_cannot_open_stops_the_start_naming_it() {
    let (_pins, wrong) = pin_file("0000");
    let msg = start_error("kg-daemon-badpin", PinSource::File(wrong));
    assert!(msg.contains("backend \"hsm\""), "{msg}");
    assert!(msg.contains("CKR_PIN_INCORRECT"), "{msg}");
    assert!(!msg.contains("0000"), "the PIN leaked into {msg}");

    let (_pins, right) = pin_file(USER_PIN);
    let msg = start_error("kg-no-such-token", PinSource::File(right.clone()));
    assert!(
        msg.contains("backend \"hsm\"") && msg.contains("kg-no-such-token"),
        "{msg}"
    );

    // And the right PIN opens it: the failures above were the PIN and the label.
    let d = Daemon::start_with(
        "hsm-badpin-ok",
        &init_options(
            "kg-daemon-badpin",
            PinSource::File(right),
            Placement::Resident,
        ),
    );
    let mut c = d.connect("app");
    let id = c.send(V, &k::create_aes(128, "")).uid(0);
    assert_eq!(
        Inspector::new("kg-daemon-badpin")
            .of(ObjectClass::SECRET_KEY, &id)
            .len(),
        1
    );
    d.stop();
}
