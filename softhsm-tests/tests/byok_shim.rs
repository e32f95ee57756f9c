//! Bring your own key, end to end (issues 5 and 6): an AES key made outside with
//! `openssl rand` is wrapped locally under the vault's import key and registered
//! by `keygate::byok::import` (what `keygate import` runs) into a vault on a SoftHSM
//! token, without the clear key in the request; then it is used through the
//! PKCS#11 library (`C_Encrypt`, AES-CBC-PAD) and through KMIP Encrypt, and both
//! ciphertexts decrypt outside, with OpenSSL and the original key.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use keygate::config::{PinSource, Placement};
use keygate::setup::{InitOptions, Pkcs11Init};
use kmip::messages::ResponsePayload;
use kmip::version::ProtocolVersion;
use openssl::symm::{decrypt, Cipher};
use softhsm_tests::shim::{self, KeyProtection, ShimDeployment};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};

#[test]
fn a_key_imported_with_keygate_import_works_through_the_library_and_kmip() {
    SoftHsm::shared(&["kg-byok-shim"]);
    std::env::set_var("KG_BYOK_SHIM_HSM_PIN", USER_PIN);
    let opts = InitOptions {
        pkcs11: Some(Pkcs11Init {
            module: softhsm::module(),
            token_label: "kg-byok-shim".to_owned(),
            pin: PinSource::Env("KG_BYOK_SHIM_HSM_PIN".into()),
            placement: Placement::Resident,
        }),
        ..InitOptions::default()
    };
    let d = ShimDeployment::start("byok-shim", &opts, KeyProtection::PlainWithPin);
    let daemon = d.daemon();
    let v = ProtocolVersion::V2_1;

    // Outside: the key, and its import (wrapped under the vault's import key).
    let key: [u8; 32] = {
        let mut k = [0u8; 32];
        openssl::rand::rand_bytes(&mut k).expect("random key");
        k
    };
    let admin = daemon.client("admin");
    let cfg = keygate::byok::client_config(
        daemon.addr().to_string(),
        &daemon.report().ca_cert,
        &admin.cert,
        &admin.key,
    );
    let file = keygate::byok::parse_key_file(&key).expect("raw AES key file");
    let done = keygate::byok::import(
        &cfg,
        v,
        "byok-through-the-library",
        &file,
        keygate::crypto::HashAlg::Sha1,
    )
    .expect("keygate import");
    assert!(
        !keygate::byok::contains(&done.request, &key),
        "the clear key is in the Register request"
    );
    let mut c = daemon.connect("admin");
    c.send(
        v,
        &format!(
            r#"<BatchItem><Operation type="Enumeration" value="Activate"/><RequestPayload><UniqueIdentifier type="TextString" value="{}"/></RequestPayload></BatchItem>"#,
            done.uid
        ),
    )
    .ok(0);

    // Through the PKCS#11 library, as identity app of the same vault.
    std::env::set_var("KEYGATE_PKCS11_CONF", d.conf());
    let ctx = Pkcs11::new(shim::library()).expect("loading the library");
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
    let slot = ctx.get_slots_with_token().expect("slots")[0];
    let s = ctx.open_ro_session(slot).expect("session");
    s.login(UserType::User, Some(&AuthPin::from(shim::PIN)))
        .expect("C_Login");
    let found = s
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"byok-through-the-library".to_vec()),
        ])
        .expect("C_FindObjects");
    assert_eq!(found.len(), 1, "the imported key, by its name");
    let iv = [3u8; 16];
    let plaintext = b"imported outside, used through PKCS#11, opened outside";
    let ct = s
        .encrypt(&Mechanism::AesCbcPad(iv), found[0], plaintext)
        .expect("C_Encrypt with the imported key");
    let opened = decrypt(Cipher::aes_256_cbc(), &key, Some(&iv), &ct).expect("OpenSSL opens it");
    assert_eq!(opened, plaintext);

    // And through KMIP Encrypt.
    let r = c.send(
        v,
        &format!(
            r#"<BatchItem><Operation type="Enumeration" value="Encrypt"/><RequestPayload><UniqueIdentifier type="TextString" value="{}"/><CryptographicParameters><BlockCipherMode type="Enumeration" value="CBC"/><PaddingMethod type="Enumeration" value="PKCS5"/></CryptographicParameters><Data type="ByteString" value="{}"/><IVCounterNonce type="ByteString" value="{}"/></RequestPayload></BatchItem>"#,
            done.uid,
            hex::encode(plaintext),
            hex::encode(iv)
        ),
    );
    let ResponsePayload::Encrypt(e) = r.ok(0) else {
        panic!("not an Encrypt answer");
    };
    let kmip_ct = e.data.clone().expect("ciphertext");
    assert_eq!(kmip_ct, ct, "KMIP and PKCS#11 give the same CBC ciphertext");
    let opened =
        decrypt(Cipher::aes_256_cbc(), &key, Some(&iv), &kmip_ct).expect("OpenSSL opens it");
    assert_eq!(opened, plaintext);
}
