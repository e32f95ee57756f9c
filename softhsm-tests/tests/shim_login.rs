//! The PKCS#11 library with a PIN-encrypted client key (`key` is an encrypted
//! PKCS#8 file, no `pin` line): nothing reaches the gateway before C_Login, a wrong
//! PIN is CKR_PIN_INCORRECT, the right one decrypts the key and opens the
//! connection; after C_Logout the library forgets the key and searches find nothing.
//! One deployment for the binary: the library reads its configuration once per
//! process.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use keygate::setup::InitOptions;
use softhsm_tests::shim::{self, KeyProtection, ShimDeployment};

#[test]
fn the_pin_decrypts_the_client_key_and_nothing_is_sent_before_it() {
    let d = ShimDeployment::start(
        "shim-login",
        &InitOptions::default(),
        KeyProtection::EncryptedByPin,
    );
    std::env::set_var("KEYGATE_PKCS11_CONF", d.conf());
    let ctx = Pkcs11::new(shim::library()).expect("loading the library");
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
    let slot = ctx.get_slots_with_token().expect("slots")[0];
    let before = d.daemon().audit_records().len();
    let s = ctx.open_rw_session(slot).expect("C_OpenSession");

    // Before login: a search answers empty and the gateway hears nothing.
    assert!(s.find_objects(&[]).expect("C_FindObjects").is_empty());
    match s.generate_key(
        &Mechanism::AesKeyGen,
        &[Attribute::ValueLen(16.into()), Attribute::Token(true)],
    ) {
        Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => {}
        other => panic!("C_GenerateKey before login: {other:?}"),
    }
    match s.login(UserType::User, Some(&AuthPin::from("not-the-pin"))) {
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {}
        other => panic!("wrong PIN: {other:?}"),
    }
    assert_eq!(
        d.daemon().audit_records().len(),
        before,
        "no request reached the gateway before a correct login"
    );

    s.login(UserType::User, Some(&AuthPin::from(shim::PIN)))
        .expect("C_Login with the PIN that encrypts the key");
    assert_eq!(ctx.get_token_info(slot).expect("token").label(), "default");
    let key = s
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::ValueLen(16.into()),
                Attribute::Token(true),
                Attribute::Label(b"login-test".to_vec()),
            ],
        )
        .expect("C_GenerateKey after login");
    assert_eq!(
        s.find_objects(&[Attribute::Label(b"login-test".to_vec())])
            .expect("find"),
        vec![key]
    );
    let records = d.daemon().audit_records();
    assert!(
        records[before..]
            .iter()
            .any(|r| r["operation"] == "Create" && r["identity"] == "app"),
        "the key was created by the app identity: {records:?}"
    );

    s.logout().expect("C_Logout");
    assert!(s.find_objects(&[]).expect("C_FindObjects").is_empty());
}
