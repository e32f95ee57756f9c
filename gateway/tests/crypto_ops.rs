//! Cryptographic operations end to end: a real daemon (software backend, real
//! mTLS), driven at KMIP 1.4 and 2.1, and every result checked independently with
//! OpenSSL (the `openssl` crate) using key material obtained by Get, or against
//! published test vectors (FIPS 180, RFC 3394, SP 800-38B, SP 800-38D).

mod common;

use common::*;
use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject};
use kmip::messages::payloads::{
    CreateKeyPairResponse, DecryptResponse, EncryptResponse, MacResponse, MacVerifyResponse,
    ResponsePayload, SignResponse, SignatureVerifyResponse,
};
use kmip::messages::Codec;
use kmip::ttlv::Tag;
use kmip::types::{KeyFormatType, ResultReason, ValidityIndicator};
use kmip::version::ProtocolVersion;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::symm::{self, Cipher};

const VERSIONS: [ProtocolVersion; 2] = [V1_4, V2_1];

// ---------------------------------------------------------------------------
// Request XML

fn bytes_xml(tag: &str, b: &[u8]) -> String {
    format!("<{tag} type=\"ByteString\" value=\"{}\"/>", hex(b))
}

fn int_xml(tag: &str, v: i64) -> String {
    format!("<{tag} type=\"Integer\" value=\"{v}\"/>")
}

fn bool_xml(tag: &str, v: bool) -> String {
    format!("<{tag} type=\"Boolean\" value=\"{v}\"/>")
}

/// Cryptographic Parameters from (tag, enumeration value) pairs and extra XML.
fn params(enums: &[(&str, &str)], extra: &str) -> String {
    let inner: String = enums.iter().map(|(t, v)| enumeration(t, v)).collect();
    format!("<CryptographicParameters>{inner}{extra}</CryptographicParameters>")
}

/// A Create of a symmetric key (`alg`, `bits`) with usage `mask`.
fn create_key(v: ProtocolVersion, alg: &str, bits: u32, mask: &str) -> String {
    let a = [
        attr(v, "CryptographicAlgorithm", "Enumeration", alg),
        attr(v, "CryptographicLength", "Integer", &bits.to_string()),
        attr(v, "CryptographicUsageMask", "Integer", mask),
    ]
    .concat();
    item(
        "Create",
        &format!(
            "{}{}",
            enumeration("ObjectType", "SymmetricKey"),
            attrs(v, &a)
        ),
    )
}

/// A Register of raw symmetric key material with usage `mask` and extra attributes.
fn register_key(v: ProtocolVersion, alg: &str, key: &[u8], mask: &str, extra: &str) -> String {
    let a = [
        attr(v, "CryptographicUsageMask", "Integer", mask),
        extra.to_owned(),
    ]
    .concat();
    item(
        "Register",
        &format!(
            "{}{}<SymmetricKey><KeyBlock>{}<KeyValue>{}</KeyValue>{}{}</KeyBlock></SymmetricKey>",
            enumeration("ObjectType", "SymmetricKey"),
            attrs(v, &a),
            enumeration("KeyFormatType", "Raw"),
            bytes_xml("KeyMaterial", key),
            enumeration("CryptographicAlgorithm", alg),
            int_xml("CryptographicLength", (key.len() * 8) as i64),
        ),
    )
}

/// A Register of an asymmetric key (`object` PrivateKey or PublicKey) in `format`.
fn register_asym(
    v: ProtocolVersion,
    object: &str,
    format: &str,
    alg: &str,
    bits: u32,
    der: &[u8],
    mask: &str,
) -> String {
    let a = attr(v, "CryptographicUsageMask", "Integer", mask);
    item(
        "Register",
        &format!(
            "{}{}<{object}><KeyBlock>{}<KeyValue>{}</KeyValue>{}{}</KeyBlock></{object}>",
            enumeration("ObjectType", object),
            attrs(v, &a),
            enumeration("KeyFormatType", format),
            bytes_xml("KeyMaterial", der),
            enumeration("CryptographicAlgorithm", alg),
            int_xml("CryptographicLength", i64::from(bits)),
        ),
    )
}

/// A Create Key Pair; `common` and the masks as attribute XML of version `v`.
fn create_pair(
    v: ProtocolVersion,
    alg: &str,
    bits: u32,
    priv_mask: &str,
    pub_mask: &str,
) -> String {
    let common = [
        attr(v, "CryptographicAlgorithm", "Enumeration", alg),
        attr(v, "CryptographicLength", "Integer", &bits.to_string()),
    ]
    .concat();
    let pr = attr(v, "CryptographicUsageMask", "Integer", priv_mask);
    let pu = attr(v, "CryptographicUsageMask", "Integer", pub_mask);
    let (c, p, q) = if v.is_v1() {
        (
            "CommonTemplateAttribute",
            "PrivateKeyTemplateAttribute",
            "PublicKeyTemplateAttribute",
        )
    } else {
        (
            "CommonAttributes",
            "PrivateKeyAttributes",
            "PublicKeyAttributes",
        )
    };
    item(
        "CreateKeyPair",
        &format!("<{c}>{common}</{c}><{p}>{pr}</{p}><{q}>{pu}</{q}>"),
    )
}

fn encrypt_xml(
    u: &str,
    params: &str,
    data: &[u8],
    iv: Option<&[u8]>,
    aad: Option<&[u8]>,
) -> String {
    cipher_xml("Encrypt", u, params, data, iv, aad, None)
}

fn decrypt_xml(
    u: &str,
    params: &str,
    data: &[u8],
    iv: Option<&[u8]>,
    aad: Option<&[u8]>,
    tag: Option<&[u8]>,
) -> String {
    cipher_xml("Decrypt", u, params, data, iv, aad, tag)
}

/// An Encrypt or Decrypt batch item.
fn cipher_xml(
    op: &str,
    u: &str,
    params: &str,
    data: &[u8],
    iv: Option<&[u8]>,
    aad: Option<&[u8]>,
    tag: Option<&[u8]>,
) -> String {
    item(
        op,
        &format!(
            "{}{params}{}{}{}{}",
            uid(u),
            bytes_xml("Data", data),
            iv.map(|x| bytes_xml("IVCounterNonce", x))
                .unwrap_or_default(),
            aad.map(|x| bytes_xml("AuthenticatedEncryptionAdditionalData", x))
                .unwrap_or_default(),
            tag.map(|x| bytes_xml("AuthenticatedEncryptionTag", x))
                .unwrap_or_default(),
        ),
    )
}

/// Sign or verify input: the message as Data, or its digest as Digested Data.
#[derive(Clone, Copy)]
enum Input<'a> {
    Data(&'a [u8]),
    Digested(&'a [u8]),
}

impl Input<'_> {
    fn xml(self) -> String {
        match self {
            Input::Data(d) => bytes_xml("Data", d),
            Input::Digested(d) => bytes_xml("DigestedData", d),
        }
    }
}

fn sign_xml(u: &str, params: &str, input: Input<'_>) -> String {
    item("Sign", &format!("{}{params}{}", uid(u), input.xml()))
}

fn verify_xml(u: &str, params: &str, input: Input<'_>, sig: &[u8]) -> String {
    item(
        "SignatureVerify",
        &format!(
            "{}{params}{}{}",
            uid(u),
            input.xml(),
            bytes_xml("SignatureData", sig)
        ),
    )
}

fn mac_xml(u: &str, params: &str, data: &[u8]) -> String {
    item(
        "MAC",
        &format!("{}{params}{}", uid(u), bytes_xml("Data", data)),
    )
}

fn mac_verify_xml(u: &str, params: &str, data: &[u8], mac: &[u8]) -> String {
    item(
        "MACVerify",
        &format!(
            "{}{params}{}{}",
            uid(u),
            bytes_xml("Data", data),
            bytes_xml("MACData", mac)
        ),
    )
}

// ---------------------------------------------------------------------------
// Response accessors

fn enc(r: &Reply) -> &EncryptResponse {
    match r.ok(0) {
        ResponsePayload::Encrypt(p) => p,
        other => panic!("not Encrypt: {other:?}"),
    }
}

fn dec(r: &Reply) -> &DecryptResponse {
    match r.ok(0) {
        ResponsePayload::Decrypt(p) => p,
        other => panic!("not Decrypt: {other:?}"),
    }
}

fn signed(r: &Reply) -> Vec<u8> {
    match r.ok(0) {
        ResponsePayload::Sign(SignResponse {
            signature_data: Some(s),
            ..
        }) => s.clone(),
        other => panic!("not Sign: {other:?}"),
    }
}

fn verified(r: &Reply) -> ValidityIndicator {
    match r.ok(0) {
        ResponsePayload::SignatureVerify(SignatureVerifyResponse {
            validity_indicator, ..
        }) => *validity_indicator,
        other => panic!("not SignatureVerify: {other:?}"),
    }
}

fn maced(r: &Reply) -> Vec<u8> {
    match r.ok(0) {
        ResponsePayload::Mac(MacResponse {
            mac_data: Some(m), ..
        }) => m.clone(),
        other => panic!("not MAC: {other:?}"),
    }
}

fn mac_verified(r: &Reply) -> ValidityIndicator {
    match r.ok(0) {
        ResponsePayload::MacVerify(MacVerifyResponse {
            validity_indicator, ..
        }) => *validity_indicator,
        other => panic!("not MACVerify: {other:?}"),
    }
}

fn pair(r: &Reply) -> (String, String) {
    match r.ok(0) {
        ResponsePayload::CreateKeyPair(CreateKeyPairResponse {
            private_key_unique_identifier,
            public_key_unique_identifier,
            ..
        }) => (
            private_key_unique_identifier.clone(),
            public_key_unique_identifier.clone(),
        ),
        other => panic!("not CreateKeyPair: {other:?}"),
    }
}

/// The Key Format Type and the key bytes of a Get answer.
fn material(o: &ManagedObject) -> (KeyFormatType, Vec<u8>) {
    let kb = o.key_block().expect("key block");
    match &kb.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => (kb.key_format_type, b.clone()),
        other => panic!("no plain key bytes: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Fixtures

/// Creates a symmetric key and activates it; returns its UID.
fn active_key(c: &mut Kmip, v: ProtocolVersion, alg: &str, bits: u32, mask: &str) -> String {
    let u = c.send(v, &create_key(v, alg, bits, mask)).uid(0);
    c.send(v, &activate(&u)).ok(0);
    u
}

/// Registers raw key material and activates it.
fn active_registered(
    c: &mut Kmip,
    v: ProtocolVersion,
    alg: &str,
    key: &[u8],
    mask: &str,
) -> String {
    let u = c.send(v, &register_key(v, alg, key, mask, "")).uid(0);
    c.send(v, &activate(&u)).ok(0);
    u
}

/// Creates a key pair and activates both halves; returns (private, public).
fn active_pair(
    c: &mut Kmip,
    v: ProtocolVersion,
    alg: &str,
    bits: u32,
    priv_mask: &str,
    pub_mask: &str,
) -> (String, String) {
    let (pr, pu) = pair(&c.send(v, &create_pair(v, alg, bits, priv_mask, pub_mask)));
    c.send(v, &activate(&pr)).ok(0);
    c.send(v, &activate(&pu)).ok(0);
    (pr, pu)
}

/// The raw bytes of a symmetric key, by Get.
fn key_bytes(c: &mut Kmip, v: ProtocolVersion, u: &str) -> Vec<u8> {
    let r = c.send(v, &get(u));
    let (f, b) = material(r.object(0));
    assert_eq!(f, KeyFormatType::Raw);
    b
}

/// The public key of a pair as an OpenSSL key, from Get as X.509 (SPKI).
fn public_key(c: &mut Kmip, v: ProtocolVersion, u: &str) -> PKey<Public> {
    let r = c.send(v, &get_format(u, "X_509"));
    let (f, der) = material(r.object(0));
    assert_eq!(f, KeyFormatType::X509);
    PKey::public_key_from_der(&der).expect("SPKI parses")
}

fn sha256(b: &[u8]) -> Vec<u8> {
    openssl::sha::sha256(b).to_vec()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn datetime(secs: i64) -> String {
    format!("0x{secs:x}")
}

// ---------------------------------------------------------------------------
// Symmetric encryption

#[test]
fn aes_gcm_with_aad_tag_lengths_and_server_generated_iv() {
    let d = Daemon::start("gcm");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let k = active_key(&mut c, v, "AES", 256, "Encrypt Decrypt");
        let raw = key_bytes(&mut c, v, &k);
        assert_eq!(raw.len(), 32);
        let aad = b"header bytes";
        let msg = b"attack at dawn, with AES-256-GCM";
        for tag_len in [12, 16] {
            let p = params(
                &[("BlockCipherMode", "GCM")],
                &format!(
                    "{}{}",
                    bool_xml("RandomIV", true),
                    int_xml("TagLength", tag_len)
                ),
            );
            let r = c.send(v, &encrypt_xml(&k, &p, msg, None, Some(aad)));
            let e = enc(&r);
            let iv = e
                .iv_counter_nonce
                .clone()
                .expect("server-generated IV returned");
            assert_eq!(iv.len(), 12, "{v:?}: 96-bit nonce");
            let tag = e.authenticated_encryption_tag.clone().expect("tag");
            assert_eq!(Ok(tag.len()), usize::try_from(tag_len));
            let ct = e.data.clone().expect("ciphertext");
            // Independent check: OpenSSL decrypts with the key from Get.
            let plain = symm::decrypt_aead(Cipher::aes_256_gcm(), &raw, Some(&iv), aad, &ct, &tag)
                .expect("OpenSSL authenticates the server's GCM output");
            assert_eq!(plain, msg);
            // The server decrypts its own output.
            let dp = params(
                &[("BlockCipherMode", "GCM")],
                &int_xml("TagLength", tag_len),
            );
            let r = c.send(
                v,
                &decrypt_xml(&k, &dp, &ct, Some(&iv), Some(aad), Some(&tag)),
            );
            assert_eq!(dec(&r).data.as_deref(), Some(&msg[..]));
            // A changed tag, AAD or ciphertext does not authenticate.
            let mut bad_tag = tag.clone();
            bad_tag[0] ^= 1;
            let r = c.send(
                v,
                &decrypt_xml(&k, &dp, &ct, Some(&iv), Some(aad), Some(&bad_tag)),
            );
            assert_eq!(r.failed(0), ResultReason::CryptographicFailure);
            let r = c.send(
                v,
                &decrypt_xml(&k, &dp, &ct, Some(&iv), Some(b"other"), Some(&tag)),
            );
            assert_eq!(r.failed(0), ResultReason::CryptographicFailure);
            // Without the tag the request is incomplete.
            let r = c.send(v, &decrypt_xml(&k, &dp, &ct, Some(&iv), Some(aad), None));
            assert_eq!(r.failed(0), ResultReason::InvalidMessage);
        }
        // Two encryptions with Random IV use different nonces.
        let p = params(&[("BlockCipherMode", "GCM")], &bool_xml("RandomIV", true));
        let a = enc(&c.send(v, &encrypt_xml(&k, &p, msg, None, None)))
            .iv_counter_nonce
            .clone();
        let b = enc(&c.send(v, &encrypt_xml(&k, &p, msg, None, None)))
            .iv_counter_nonce
            .clone();
        assert_ne!(a, b);
        // A client IV is used as given (no IV returned); SP 800-38D test case 3
        // checks the arithmetic on a registered key.
        let kat_key = hex_bytes("feffe9928665731c6d6a8f9467308308");
        let kk = active_registered(&mut c, v, "AES", &kat_key, "Encrypt Decrypt");
        let pt = hex_bytes(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        );
        let iv = hex_bytes("cafebabefacedbaddecaf888");
        let p = params(&[("BlockCipherMode", "GCM")], &int_xml("TagLength", 16));
        let r = c.send(v, &encrypt_xml(&kk, &p, &pt, Some(&iv), None));
        let e = enc(&r);
        assert_eq!(e.iv_counter_nonce, None);
        assert_eq!(
            e.data.as_deref(),
            Some(
                &hex_bytes(
                    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                     21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
                )[..]
            )
        );
        assert_eq!(
            e.authenticated_encryption_tag.as_deref(),
            Some(&hex_bytes("4d5c2af327cd64a62cf35abd2ba6fab4")[..])
        );
        // Tag lengths outside 12..=16 are refused (General Failure, OASIS
        // CS-BC-M-GCM-1).
        for bad in [1, 8, 17, 32] {
            let p = params(&[("BlockCipherMode", "GCM")], &int_xml("TagLength", bad));
            let r = c.send(v, &encrypt_xml(&kk, &p, &pt, Some(&iv), None));
            assert_eq!(
                r.failed(0),
                ResultReason::GeneralFailure,
                "tag length {bad}"
            );
        }
        // No IV and no Random IV: the server makes one and returns it; a
        // decryption without the IV is incomplete.
        let p = params(&[("BlockCipherMode", "GCM")], "");
        let r = c.send(v, &encrypt_xml(&kk, &p, &pt, None, None));
        let e = enc(&r).clone();
        let iv = e.iv_counter_nonce.clone().expect("IV returned");
        assert_eq!(iv.len(), 12);
        let r = c.send(
            v,
            &decrypt_xml(
                &kk,
                &p,
                e.data.as_deref().unwrap(),
                Some(&iv),
                None,
                e.authenticated_encryption_tag.as_deref(),
            ),
        );
        assert_eq!(dec(&r).data.as_deref(), Some(&pt[..]));
        let r = c.send(
            v,
            &decrypt_xml(
                &kk,
                &p,
                e.data.as_deref().unwrap(),
                None,
                None,
                e.authenticated_encryption_tag.as_deref(),
            ),
        );
        assert_eq!(r.failed(0), ResultReason::InvalidMessage);
        // Random IV with IV Length: a 128-bit nonce.
        let p = params(
            &[("BlockCipherMode", "GCM")],
            &format!("{}{}", bool_xml("RandomIV", true), int_xml("IVLength", 128)),
        );
        let r = c.send(v, &encrypt_xml(&kk, &p, &pt, None, None));
        assert_eq!(enc(&r).iv_counter_nonce.as_ref().map(Vec::len), Some(16));
    }
}

#[test]
fn aes_cbc_pkcs5_ctr_ecb_and_key_wrap() {
    let d = Daemon::start("modes");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let k = active_key(&mut c, v, "AES", 256, "Encrypt Decrypt");
        let raw = key_bytes(&mut c, v, &k);
        let msg = b"thirty-three bytes of plaintext!!";
        assert_eq!(msg.len(), 33);

        // CBC with PKCS#5 padding and a server-generated IV.
        let p = params(
            &[("BlockCipherMode", "CBC"), ("PaddingMethod", "PKCS5")],
            &bool_xml("RandomIV", true),
        );
        let r = c.send(v, &encrypt_xml(&k, &p, msg, None, None));
        let e = enc(&r);
        let iv = e.iv_counter_nonce.clone().expect("IV returned");
        assert_eq!(iv.len(), 16);
        let ct = e.data.clone().unwrap();
        assert_eq!(ct.len(), 48);
        let plain = symm::decrypt(Cipher::aes_256_cbc(), &raw, Some(&iv), &ct).unwrap();
        assert_eq!(plain, msg);
        let dp = params(
            &[("BlockCipherMode", "CBC"), ("PaddingMethod", "PKCS5")],
            "",
        );
        let r = c.send(v, &decrypt_xml(&k, &dp, &ct, Some(&iv), None, None));
        assert_eq!(dec(&r).data.as_deref(), Some(&msg[..]));
        // Decrypt without the IV: Invalid Message (OASIS CS-BC-M-11 "missing-iv").
        let r = c.send(v, &decrypt_xml(&k, &dp, &ct, None, None, None));
        assert_eq!(r.failed(0), ResultReason::InvalidMessage);
        // A client IV is used as given.
        let civ = bytes(7, 16);
        let r = c.send(v, &encrypt_xml(&k, &dp, msg, Some(&civ), None));
        assert_eq!(enc(&r).iv_counter_nonce, None);
        assert_eq!(
            enc(&r).data.clone().unwrap(),
            symm::encrypt(Cipher::aes_256_cbc(), &raw, Some(&civ), msg).unwrap()
        );

        // CTR with a client counter block.
        let ctr_iv = bytes(9, 16);
        let p = params(&[("BlockCipherMode", "CTR")], "");
        let r = c.send(v, &encrypt_xml(&k, &p, msg, Some(&ctr_iv), None));
        let ct = enc(&r).data.clone().unwrap();
        assert_eq!(
            ct,
            symm::encrypt(Cipher::aes_256_ctr(), &raw, Some(&ctr_iv), msg).unwrap()
        );
        let r = c.send(v, &decrypt_xml(&k, &p, &ct, Some(&ctr_iv), None, None));
        assert_eq!(dec(&r).data.as_deref(), Some(&msg[..]));

        // ECB without padding (whole blocks), and with PKCS#5 padding.
        let blocks = bytes(3, 32);
        let p = params(&[("BlockCipherMode", "ECB")], "");
        let r = c.send(v, &encrypt_xml(&k, &p, &blocks, None, None));
        let mut expect =
            symm::Crypter::new(Cipher::aes_256_ecb(), symm::Mode::Encrypt, &raw, None).unwrap();
        expect.pad(false);
        let mut out = vec![0; 64];
        let n = expect.update(&blocks, &mut out).unwrap();
        let n = n + expect.finalize(&mut out[n..]).unwrap();
        assert_eq!(enc(&r).data.as_deref(), Some(&out[..n]));
        assert_eq!(enc(&r).iv_counter_nonce, None);
        let r = c.send(v, &encrypt_xml(&k, &p, msg, None, None));
        assert_eq!(
            r.failed(0),
            ResultReason::InvalidField,
            "ECB needs whole blocks"
        );
        let p = params(
            &[("BlockCipherMode", "ECB"), ("PaddingMethod", "PKCS5")],
            "",
        );
        let r = c.send(v, &encrypt_xml(&k, &p, msg, None, None));
        let ct = enc(&r).data.clone().unwrap();
        assert_eq!(
            ct,
            symm::encrypt(Cipher::aes_256_ecb(), &raw, None, msg).unwrap()
        );
        let r = c.send(v, &decrypt_xml(&k, &p, &ct, None, None, None));
        assert_eq!(dec(&r).data.as_deref(), Some(&msg[..]));

        // Key wrap (RFC 3394 §4.6: 256-bit data under a 256-bit KEK).
        let kek = hex_bytes("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        let kw = active_registered(&mut c, v, "AES", &kek, "Encrypt Decrypt WrapKey UnwrapKey");
        let data = hex_bytes("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
        let wrapped = hex_bytes(
            "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
        );
        let p = params(&[("BlockCipherMode", "NISTKeyWrap")], "");
        let r = c.send(v, &encrypt_xml(&kw, &p, &data, None, None));
        assert_eq!(enc(&r).data.as_deref(), Some(&wrapped[..]));
        let r = c.send(v, &decrypt_xml(&kw, &p, &wrapped, None, None, None));
        assert_eq!(dec(&r).data.as_deref(), Some(&data[..]));
        let mut bad = wrapped.clone();
        bad[5] ^= 1;
        let r = c.send(v, &decrypt_xml(&kw, &p, &bad, None, None, None));
        assert_eq!(r.failed(0), ResultReason::CryptographicFailure);
    }
}

// ---------------------------------------------------------------------------
// Key pairs and signatures

/// Signs `msg` (as Data and as Digested Data) with `scheme` and checks: the server
/// verifies its signature, OpenSSL verifies it with the public key from Get, and a
/// changed signature or message is Invalid.
#[allow(clippy::too_many_arguments)]
fn check_signatures(
    c: &mut Kmip,
    v: ProtocolVersion,
    pr: &str,
    pu: &str,
    p: &str,
    digest: bool,
    independent: impl Fn(&PKey<Public>, &[u8], &[u8]) -> bool,
) {
    let msg = b"a message worth signing";
    let key = public_key(c, v, pu);
    let d = sha256(msg);
    let inputs: Vec<Input<'_>> = if digest {
        vec![Input::Data(msg), Input::Digested(&d)]
    } else {
        vec![Input::Data(msg)]
    };
    for input in inputs {
        let sig = signed(&c.send(v, &sign_xml(pr, p, input)));
        assert!(independent(&key, msg, &sig), "{v:?} {p}: OpenSSL verifies");
        for who in [pu, pr] {
            let r = c.send(v, &verify_xml(who, p, input, &sig));
            if who == pr {
                // The private key's mask is Sign only: Verify is not allowed.
                assert!(matches!(
                    r.failed(0),
                    ResultReason::PermissionDenied
                        | ResultReason::IncompatibleCryptographicUsageMask
                ));
                continue;
            }
            assert_eq!(verified(&r), ValidityIndicator::Valid);
        }
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let r = c.send(v, &verify_xml(pu, p, input, &bad));
        assert_eq!(verified(&r), ValidityIndicator::Invalid);
        let other = sha256(b"another message");
        let changed = match input {
            Input::Data(_) => Input::Data(b"another message"),
            Input::Digested(_) => Input::Digested(&other),
        };
        let r = c.send(v, &verify_xml(pu, p, changed, &sig));
        assert_eq!(verified(&r), ValidityIndicator::Invalid);
    }
}

fn openssl_verify(
    key: &PKey<Public>,
    md: Option<MessageDigest>,
    pss: bool,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    let mut v = match md {
        Some(md) => Verifier::new(md, key).unwrap(),
        None => Verifier::new_without_digest(key).unwrap(),
    };
    if pss {
        v.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
        v.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
    }
    v.verify_oneshot(sig, msg).unwrap_or(false)
}

#[test]
fn rsa_pkcs1_and_pss_signatures_verify_independently() {
    let d = Daemon::start("rsa-sign");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let (pr, pu) = active_pair(&mut c, v, "RSA", 2048, "Sign", "Verify");
        let pkcs1 = params(
            &[
                ("PaddingMethod", "PKCS1V1_5"),
                ("HashingAlgorithm", "SHA_256"),
            ],
            "",
        );
        check_signatures(&mut c, v, &pr, &pu, &pkcs1, true, |k, m, s| {
            openssl_verify(k, Some(MessageDigest::sha256()), false, m, s)
        });
        let dsa = params(
            &[("DigitalSignatureAlgorithm", "SHA_256WithRSAEncryption")],
            "",
        );
        check_signatures(&mut c, v, &pr, &pu, &dsa, false, |k, m, s| {
            openssl_verify(k, Some(MessageDigest::sha256()), false, m, s)
        });
        let pss = params(
            &[("PaddingMethod", "PSS"), ("HashingAlgorithm", "SHA_256")],
            "",
        );
        check_signatures(&mut c, v, &pr, &pu, &pss, true, |k, m, s| {
            openssl_verify(k, Some(MessageDigest::sha256()), true, m, s)
        });
        // PSS with a salt other than the hash length is refused, not ignored.
        let salted = params(
            &[("PaddingMethod", "PSS"), ("HashingAlgorithm", "SHA_256")],
            &int_xml("SaltLength", 222),
        );
        let r = c.send(v, &sign_xml(&pr, &salted, Input::Data(b"x")));
        assert_eq!(r.failed(0), ResultReason::FeatureNotSupported);
        // SHA-1 signatures are not made.
        let sha1 = params(
            &[
                ("PaddingMethod", "PKCS1V1_5"),
                ("HashingAlgorithm", "SHA_1"),
            ],
            "",
        );
        let r = c.send(v, &sign_xml(&pr, &sha1, Input::Data(b"x")));
        assert_eq!(r.failed(0), ResultReason::InvalidField);
        // A digest of the wrong length for the hash is refused.
        let r = c.send(v, &sign_xml(&pr, &pkcs1, Input::Digested(&[0; 20])));
        assert_eq!(r.failed(0), ResultReason::InvalidField);
    }
}

#[test]
fn ecdsa_p256_signatures_verify_independently() {
    let d = Daemon::start("ecdsa");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let (pr, pu) = active_pair(&mut c, v, "ECDSA", 256, "Sign", "Verify");
        let key = public_key(&mut c, v, &pu);
        let ec = key.ec_key().expect("EC key");
        assert_eq!(
            ec.group().curve_name(),
            Some(openssl::nid::Nid::X9_62_PRIME256V1)
        );
        let p = params(&[("DigitalSignatureAlgorithm", "ECDSAWithSHA256")], "");
        check_signatures(&mut c, v, &pr, &pu, &p, true, |k, m, s| {
            openssl_verify(k, Some(MessageDigest::sha256()), false, m, s)
        });
        // No parameters: ECDSA with SHA-256 for a P-256 key.
        check_signatures(&mut c, v, &pr, &pu, "", true, |k, m, s| {
            openssl_verify(k, Some(MessageDigest::sha256()), false, m, s)
        });
    }
}

#[test]
fn ed25519_signatures_verify_independently() {
    let d = Daemon::start("ed25519");
    let mut c = d.connect("app");
    // Ed25519 is a KMIP 2.0 algorithm.
    let v = V2_1;
    let (pr, pu) = active_pair(&mut c, v, "Ed25519", 256, "Sign", "Verify");
    let key = public_key(&mut c, v, &pu);
    assert_eq!(key.id(), openssl::pkey::Id::ED25519);
    check_signatures(&mut c, v, &pr, &pu, "", false, |k, m, s| {
        openssl_verify(k, None, false, m, s)
    });
    // Ed25519 signs messages, not digests.
    let r = c.send(v, &sign_xml(&pr, "", Input::Digested(&[0; 32])));
    assert_eq!(r.failed(0), ResultReason::InvalidField);
}

#[test]
fn rsa_oaep_encrypts_with_the_public_key_and_decrypts_with_the_private() {
    let d = Daemon::start("oaep");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let (pr, pu) = active_pair(&mut c, v, "RSA", 2048, "Decrypt", "Encrypt");
        let key = public_key(&mut c, v, &pu);
        let rsa = key.rsa().unwrap();
        let msg = b"a data key, 32 bytes long......";
        for (hash, md) in [
            ("SHA_1", MessageDigest::sha1()),
            ("SHA_256", MessageDigest::sha256()),
        ] {
            let p = params(
                &[
                    ("PaddingMethod", "OAEP"),
                    ("HashingAlgorithm", hash),
                    ("MaskGenerator", "MGF1"),
                    ("MaskGeneratorHashingAlgorithm", hash),
                ],
                "",
            );
            let r = c.send(v, &encrypt_xml(&pu, &p, msg, None, None));
            let ct = enc(&r).data.clone().unwrap();
            assert_eq!(ct.len(), 256);
            let r = c.send(v, &decrypt_xml(&pr, &p, &ct, None, None, None));
            assert_eq!(dec(&r).data.as_deref(), Some(&msg[..]), "{v:?} {hash}");
            // OpenSSL encrypts with the public key from Get; the server decrypts.
            let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&key).unwrap();
            ctx.encrypt_init().unwrap();
            ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
            let m = openssl::md::Md::from_nid(md.type_()).unwrap();
            ctx.set_rsa_oaep_md(m).unwrap();
            ctx.set_rsa_mgf1_md(m).unwrap();
            let mut theirs = Vec::new();
            ctx.encrypt_to_vec(msg, &mut theirs).unwrap();
            let r = c.send(v, &decrypt_xml(&pr, &p, &theirs, None, None, None));
            assert_eq!(dec(&r).data.as_deref(), Some(&msg[..]));
            // Ciphertext is randomised.
            let again = enc(&c.send(v, &encrypt_xml(&pu, &p, msg, None, None)))
                .data
                .clone()
                .unwrap();
            assert_ne!(again, ct);
        }
        // A plaintext too long for OAEP-SHA-256 with a 2048-bit key.
        let p = params(
            &[("PaddingMethod", "OAEP"), ("HashingAlgorithm", "SHA_256")],
            "",
        );
        let r = c.send(v, &encrypt_xml(&pu, &p, &[0; 191], None, None));
        assert_eq!(r.failed(0), ResultReason::InvalidField);
        // MGF1 over another hash, and a label, are not offered.
        let mixed = params(
            &[
                ("PaddingMethod", "OAEP"),
                ("HashingAlgorithm", "SHA_256"),
                ("MaskGeneratorHashingAlgorithm", "SHA_1"),
            ],
            "",
        );
        let r = c.send(v, &encrypt_xml(&pu, &mixed, msg, None, None));
        assert_eq!(r.failed(0), ResultReason::FeatureNotSupported);
        let labelled = params(
            &[("PaddingMethod", "OAEP"), ("HashingAlgorithm", "SHA_256")],
            &bytes_xml("PSource", b"label"),
        );
        let r = c.send(v, &encrypt_xml(&pu, &labelled, msg, None, None));
        assert_eq!(r.failed(0), ResultReason::FeatureNotSupported);
        // The public key does not decrypt; PKCS#1 v1.5 encryption round trips.
        let r = c.send(v, &decrypt_xml(&pu, &p, &[0; 256], None, None, None));
        assert!(matches!(
            r.failed(0),
            ResultReason::PermissionDenied | ResultReason::IncompatibleCryptographicUsageMask
        ));
        let v15 = params(&[("PaddingMethod", "PKCS1V1_5")], "");
        let ct = enc(&c.send(v, &encrypt_xml(&pu, &v15, msg, None, None)))
            .data
            .clone()
            .unwrap();
        let mut out = vec![0; 256];
        let n = rsa.public_encrypt(msg, &mut out, Padding::PKCS1).unwrap();
        let r = c.send(v, &decrypt_xml(&pr, &v15, &out[..n], None, None, None));
        assert_eq!(dec(&r).data.as_deref(), Some(&msg[..]));
        let r = c.send(v, &decrypt_xml(&pr, &v15, &ct, None, None, None));
        assert_eq!(dec(&r).data.as_deref(), Some(&msg[..]));
    }
}

// ---------------------------------------------------------------------------
// MACs, hashes, random numbers

#[test]
fn hmac_sha256_and_aes_cmac() {
    let d = Daemon::start("mac");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let k = active_key(&mut c, v, "HMAC_SHA256", 256, "MACGenerate MACVerify");
        let raw = key_bytes(&mut c, v, &k);
        let msg = b"authenticate me";
        let m = maced(&c.send(v, &mac_xml(&k, "", msg)));
        let pkey = PKey::hmac(&raw).unwrap();
        let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &pkey).unwrap();
        assert_eq!(m, s.sign_oneshot_to_vec(msg).unwrap(), "OpenSSL agrees");
        let r = c.send(v, &mac_verify_xml(&k, "", msg, &m));
        assert_eq!(mac_verified(&r), ValidityIndicator::Valid);
        let mut bad = m.clone();
        bad[0] ^= 0x80;
        let r = c.send(v, &mac_verify_xml(&k, "", msg, &bad));
        assert_eq!(mac_verified(&r), ValidityIndicator::Invalid);
        let r = c.send(v, &mac_verify_xml(&k, "", msg, &m[..16]));
        assert_eq!(mac_verified(&r), ValidityIndicator::Invalid, "truncated");
        let r = c.send(v, &mac_verify_xml(&k, "", b"authenticate me!", &m));
        assert_eq!(mac_verified(&r), ValidityIndicator::Invalid);

        // AES-CMAC, SP 800-38B example 2 (AES-128, one block).
        let key = hex_bytes("2b7e151628aed2a6abf7158809cf4f3c");
        let ck = active_registered(&mut c, v, "AES", &key, "MACGenerate MACVerify");
        let p = params(&[("CryptographicAlgorithm", "AES")], "");
        let data = hex_bytes("6bc1bee22e409f96e93d7e117393172a");
        let m = maced(&c.send(v, &mac_xml(&ck, &p, &data)));
        assert_eq!(m, hex_bytes("070a16b46b4d4144f79bdd9dd04a287c"));
        let r = c.send(v, &mac_verify_xml(&ck, "", &data, &m));
        assert_eq!(mac_verified(&r), ValidityIndicator::Valid);
        let mut bad = m.clone();
        bad[15] ^= 1;
        let r = c.send(v, &mac_verify_xml(&ck, "", &data, &bad));
        assert_eq!(mac_verified(&r), ValidityIndicator::Invalid);
        // The AES key's mask does not allow Encrypt.
        let p = params(&[("BlockCipherMode", "ECB")], "");
        let r = c.send(v, &encrypt_xml(&ck, &p, &data, None, None));
        let want = if v.is_v1() {
            ResultReason::PermissionDenied
        } else {
            ResultReason::IncompatibleCryptographicUsageMask
        };
        assert_eq!(r.failed(0), want);
    }
}

#[test]
fn hash_and_rng() {
    let d = Daemon::start("hash-rng");
    let mut c = d.connect("app");
    for v in VERSIONS {
        // FIPS 180-4 example: SHA-256("abc").
        let p = params(&[("HashingAlgorithm", "SHA_256")], "");
        let r = c.send(
            v,
            &item("Hash", &format!("{p}{}", bytes_xml("Data", b"abc"))),
        );
        match r.ok(0) {
            ResponsePayload::Hash(h) => assert_eq!(
                h.data.clone().unwrap(),
                hex_bytes("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            ),
            other => panic!("not Hash: {other:?}"),
        }
        let p = params(&[("HashingAlgorithm", "SHA_512")], "");
        let r = c.send(
            v,
            &item("Hash", &format!("{p}{}", bytes_xml("Data", b"abc"))),
        );
        match r.ok(0) {
            ResponsePayload::Hash(h) => {
                assert_eq!(
                    h.data.clone().unwrap(),
                    openssl::sha::sha512(b"abc").to_vec()
                )
            }
            other => panic!("not Hash: {other:?}"),
        }

        let mut seen = Vec::new();
        for len in [1, 16, 32, 1000, 65536] {
            let r = c.send(v, &item("RNGRetrieve", &int_xml("DataLength", len)));
            match r.ok(0) {
                ResponsePayload::RngRetrieve(p) => {
                    assert_eq!(Ok(p.data.len()), usize::try_from(len));
                    seen.push(p.data.clone());
                }
                other => panic!("not RNGRetrieve: {other:?}"),
            }
        }
        let again = c.send(v, &item("RNGRetrieve", &int_xml("DataLength", 32)));
        match again.ok(0) {
            ResponsePayload::RngRetrieve(p) => assert_ne!(p.data, seen[2]),
            other => panic!("not RNGRetrieve: {other:?}"),
        }
        for bad in [0, -1, 65537] {
            let r = c.send(v, &item("RNGRetrieve", &int_xml("DataLength", bad)));
            assert_eq!(r.failed(0), ResultReason::InvalidField, "length {bad}");
        }
        // RNG Seed: no seed material is accepted.
        let r = c.send(v, &item("RNGSeed", &bytes_xml("Data", &[7; 32])));
        match r.ok(0) {
            ResponsePayload::RngSeed(p) => assert_eq!(p.data_length, 0),
            other => panic!("not RNGSeed: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Policy: masks, states, dates, limits, streaming, roles, export

#[test]
fn usage_mask_and_state_are_enforced() {
    let d = Daemon::start("enforce");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let (mask_reason, state_reason) = if v.is_v1() {
            (
                ResultReason::PermissionDenied,
                ResultReason::PermissionDenied,
            )
        } else {
            (
                ResultReason::IncompatibleCryptographicUsageMask,
                ResultReason::WrongKeyLifecycleState,
            )
        };
        let gcm = params(&[("BlockCipherMode", "GCM")], &bool_xml("RandomIV", true));
        // A Sign-only key does not encrypt.
        let (pr, _) = active_pair(&mut c, v, "RSA", 2048, "Sign", "Verify");
        let r = c.send(v, &encrypt_xml(&pr, "", b"x", None, None));
        assert_eq!(r.failed(0), mask_reason);
        let sign_only = active_key(&mut c, v, "AES", 256, "Sign");
        let r = c.send(v, &encrypt_xml(&sign_only, &gcm, b"x", None, None));
        assert_eq!(r.failed(0), mask_reason);

        // A Pre-Active key neither encrypts nor decrypts.
        let pre = c
            .send(v, &create_key(v, "AES", 256, "Encrypt Decrypt"))
            .uid(0);
        let r = c.send(v, &encrypt_xml(&pre, &gcm, b"x", None, None));
        assert_eq!(r.failed(0), state_reason);

        // A Deactivated key decrypts what it encrypted while Active, but no longer
        // encrypts.
        let k = active_key(&mut c, v, "AES", 256, "Encrypt Decrypt");
        let e = c.send(v, &encrypt_xml(&k, &gcm, b"secret", None, None));
        let e = enc(&e).clone();
        c.send(v, &revoke(&k, "CessationOfOperation")).ok(0);
        let dp = params(&[("BlockCipherMode", "GCM")], "");
        let r = c.send(
            v,
            &decrypt_xml(
                &k,
                &dp,
                e.data.as_deref().unwrap(),
                e.iv_counter_nonce.as_deref(),
                None,
                e.authenticated_encryption_tag.as_deref(),
            ),
        );
        assert_eq!(dec(&r).data.as_deref(), Some(&b"secret"[..]));
        let r = c.send(v, &encrypt_xml(&k, &gcm, b"x", None, None));
        assert_eq!(r.failed(0), state_reason);

        // A destroyed key does nothing.
        c.send(v, &destroy(&k)).ok(0);
        let r = c.send(
            v,
            &decrypt_xml(
                &k,
                &dp,
                e.data.as_deref().unwrap(),
                e.iv_counter_nonce.as_deref(),
                None,
                e.authenticated_encryption_tag.as_deref(),
            ),
        );
        assert_eq!(r.failed(0), state_reason);
    }
}

#[test]
fn protect_stop_and_process_start_dates_are_enforced() {
    let d = Daemon::start("dates");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let state_reason = if v.is_v1() {
            ResultReason::PermissionDenied
        } else {
            ResultReason::WrongKeyLifecycleState
        };
        let ecb = params(&[("BlockCipherMode", "ECB")], "");
        let key = bytes(1, 16);
        let block = bytes(2, 16);
        // Protect Stop Date passed: decrypts, does not encrypt.
        let extra = [
            attr(v, "ActivationDate", "DateTime", &datetime(now() - 3600)),
            attr(v, "ProtectStopDate", "DateTime", &datetime(now() - 60)),
        ]
        .concat();
        let u = c
            .send(v, &register_key(v, "AES", &key, "Encrypt Decrypt", &extra))
            .uid(0);
        let r = c.send(v, &encrypt_xml(&u, &ecb, &block, None, None));
        assert_eq!(r.failed(0), state_reason);
        let r = c.send(v, &decrypt_xml(&u, &ecb, &block, None, None, None));
        assert_eq!(dec(&r).data.as_deref().map(<[u8]>::len), Some(16));
        // Process Start Date ahead: encrypts, does not decrypt yet.
        let extra = [
            attr(v, "ActivationDate", "DateTime", &datetime(now() - 3600)),
            attr(v, "ProcessStartDate", "DateTime", &datetime(now() + 3600)),
        ]
        .concat();
        let u = c
            .send(v, &register_key(v, "AES", &key, "Encrypt Decrypt", &extra))
            .uid(0);
        let r = c.send(v, &encrypt_xml(&u, &ecb, &block, None, None));
        let ct = enc(&r).data.clone().unwrap();
        let r = c.send(v, &decrypt_xml(&u, &ecb, &ct, None, None, None));
        assert_eq!(r.failed(0), state_reason);
    }
}

#[test]
fn usage_limits_are_enforced_on_protection_only() {
    let d = Daemon::start("limits");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let limits = |unit: &str, total: i64| {
            let inner = format!(
                "<UsageLimitsTotal type=\"LongInteger\" value=\"{total}\"/>{}",
                enumeration("UsageLimitsUnit", unit)
            );
            if v.is_v1() {
                format!(
                    "<Attribute>{}<AttributeValue>{inner}</AttributeValue></Attribute>",
                    text("AttributeName", "Usage Limits")
                )
            } else {
                format!("<UsageLimits>{inner}</UsageLimits>")
            }
        };
        let ecb = params(&[("BlockCipherMode", "ECB")], "");
        let key = bytes(4, 16);
        // Two objects: two encryptions, then Permission Denied; decryption goes on.
        let u = c
            .send(
                v,
                &register_key(v, "AES", &key, "Encrypt Decrypt", &limits("Object", 2)),
            )
            .uid(0);
        c.send(v, &activate(&u)).ok(0);
        let block = bytes(5, 16);
        let mut ct = Vec::new();
        for _ in 0..2 {
            ct = enc(&c.send(v, &encrypt_xml(&u, &ecb, &block, None, None)))
                .data
                .clone()
                .unwrap();
        }
        let r = c.send(v, &encrypt_xml(&u, &ecb, &block, None, None));
        assert_eq!(r.failed(0), ResultReason::PermissionDenied);
        let r = c.send(v, &decrypt_xml(&u, &ecb, &ct, None, None, None));
        assert_eq!(dec(&r).data.as_deref(), Some(&block[..]));
        // The count is kept: Usage Limits Count 0 of 2.
        let a = c.get_attributes(v, &u, &["UsageLimits"]);
        let t = a.get(Tag::USAGE_LIMITS).expect("Usage Limits").clone();
        assert_eq!(
            t.child(Tag::USAGE_LIMITS_COUNT).map(|c| c.value.clone()),
            Some(kmip::ttlv::Value::LongInteger(0))
        );
        // Bytes: 32 bytes allow two blocks, not a third.
        let u = c
            .send(
                v,
                &register_key(v, "AES", &key, "Encrypt Decrypt", &limits("Byte", 32)),
            )
            .uid(0);
        c.send(v, &activate(&u)).ok(0);
        let two = bytes(6, 32);
        enc(&c.send(v, &encrypt_xml(&u, &ecb, &two, None, None)));
        let r = c.send(v, &encrypt_xml(&u, &ecb, &block, None, None));
        assert_eq!(r.failed(0), ResultReason::PermissionDenied);
    }
}

#[test]
fn streaming_is_not_supported() {
    let d = Daemon::start("stream");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let k = active_key(&mut c, v, "AES", 256, "Encrypt Decrypt");
        let p = params(&[("BlockCipherMode", "GCM")], &bool_xml("RandomIV", true));
        let r = c.send(
            v,
            &item(
                "Encrypt",
                &format!(
                    "{}{p}{}{}",
                    uid(&k),
                    bytes_xml("Data", b"part one"),
                    bool_xml("InitIndicator", true)
                ),
            ),
        );
        assert_eq!(r.failed(0), ResultReason::OperationNotSupported);
        let r = c.send(
            v,
            &item(
                "Encrypt",
                &format!(
                    "{}{p}{}{}",
                    uid(&k),
                    bytes_xml("Data", b"part two"),
                    bytes_xml("CorrelationValue", b"c1")
                ),
            ),
        );
        assert_eq!(r.failed(0), ResultReason::OperationNotSupported);
        let hp = params(&[("HashingAlgorithm", "SHA_256")], "");
        let r = c.send(
            v,
            &item(
                "Hash",
                &format!(
                    "{hp}{}{}",
                    bytes_xml("Data", b"abc"),
                    bool_xml("InitIndicator", true)
                ),
            ),
        );
        assert_eq!(r.failed(0), ResultReason::OperationNotSupported);
    }
}

#[test]
fn crypto_role_uses_keys_but_does_not_read_them() {
    let d = Prepared::new("crypto-role")
        .client("cr", "default", "crypto")
        .start();
    let mut app = d.connect("app");
    let mut cr = d.connect("cr");
    for v in VERSIONS {
        let k = active_key(&mut app, v, "AES", 256, "Encrypt Decrypt");
        let p = params(&[("BlockCipherMode", "GCM")], &bool_xml("RandomIV", true));
        let r = cr.send(v, &encrypt_xml(&k, &p, b"by the crypto role", None, None));
        let e = enc(&r).clone();
        let dp = params(&[("BlockCipherMode", "GCM")], "");
        let r = cr.send(
            v,
            &decrypt_xml(
                &k,
                &dp,
                e.data.as_deref().unwrap(),
                e.iv_counter_nonce.as_deref(),
                None,
                e.authenticated_encryption_tag.as_deref(),
            ),
        );
        assert_eq!(dec(&r).data.as_deref(), Some(&b"by the crypto role"[..]));
        let r = cr.send(v, &get(&k));
        assert_eq!(r.failed(0), ResultReason::PermissionDenied);
        // Hash and RNG Retrieve need no key.
        let r = cr.send(v, &item("RNGRetrieve", &int_xml("DataLength", 8)));
        r.ok(0);
    }
}

#[test]
fn key_pair_export_formats_and_digest() {
    let p = Prepared::new("export");
    keygate::setup::vault_add(
        &p.config,
        "locked",
        &keygate::setup::VaultOptions {
            extractable_by_default: Some(false),
            allow_extractable: false,
            ..keygate::setup::VaultOptions::default()
        },
    )
    .expect("vault add");
    let d = p.client("locked-app", "locked", "app").start();
    let mut c = d.connect("app");
    let mut locked = d.connect("locked-app");
    for v in VERSIONS {
        let (pr, pu) = active_pair(&mut c, v, "RSA", 2048, "Sign", "Verify");
        // Public key: X.509 (SPKI) by default and on request, PKCS#1 on request.
        let (f, spki) = material(c.send(v, &get(&pu)).object(0));
        assert_eq!(f, KeyFormatType::X509);
        let key = PKey::public_key_from_der(&spki).unwrap();
        let (f, pkcs1) = material(c.send(v, &get_format(&pu, "PKCS_1")).object(0));
        assert_eq!(f, KeyFormatType::Pkcs1);
        let rsa: Rsa<Public> = Rsa::public_key_from_der_pkcs1(&pkcs1).unwrap();
        assert_eq!(rsa.n(), key.rsa().unwrap().n());
        // Private key (extractable in the default vault): PKCS#8, and PKCS#1.
        let (f, p8) = material(c.send(v, &get(&pr)).object(0));
        assert_eq!(f, KeyFormatType::Pkcs8);
        let private = PKey::private_key_from_pkcs8(&p8).unwrap();
        assert_eq!(
            private.public_key_to_der().unwrap(),
            spki,
            "the pair matches"
        );
        let (f, p1) = material(c.send(v, &get_format(&pr, "PKCS_1")).object(0));
        assert_eq!(f, KeyFormatType::Pkcs1);
        Rsa::private_key_from_der(&p1).unwrap();
        // No other format.
        let r = c.send(v, &get_format(&pr, "Raw"));
        assert_eq!(r.failed(0), ResultReason::KeyFormatTypeNotSupported);
        // Digest: SHA-256 of the PKCS#8 and of the SPKI.
        for (u, der, format) in [
            (&pr, &p8, KeyFormatType::Pkcs8),
            (&pu, &spki, KeyFormatType::X509),
        ] {
            let a = c.get_attributes(v, u, &["Digest"]);
            let digest = a.get(Tag::DIGEST).expect("Digest").clone();
            let value = digest.child(Tag::DIGEST_VALUE).map(|t| t.value.clone());
            assert_eq!(value, Some(kmip::ttlv::Value::ByteString(sha256(der))));
            let f = digest
                .child(Tag::KEY_FORMAT_TYPE)
                .map(|t| KeyFormatType::decode(t, &kmip::messages::codec::Ctx::new(v)).unwrap());
            assert_eq!(f, Some(format));
        }

        // In a vault that allows no extractable key: the private key is not
        // returned, the public key is.
        let (lpr, lpu) = pair(&locked.send(v, &create_pair(v, "ECDSA", 256, "Sign", "Verify")));
        let r = locked.send(v, &get(&lpr));
        assert_eq!(r.failed(0), ResultReason::NotExtractable);
        let (f, _) = material(locked.send(v, &get(&lpu)).object(0));
        assert_eq!(f, KeyFormatType::X509);
        // An EC private key converts to ECPrivateKey, not to PKCS#1.
        let (epr, _) = pair(&c.send(v, &create_pair(v, "ECDSA", 256, "Sign", "Verify")));
        let (f, sec1) = material(c.send(v, &get_format(&epr, "ECPrivateKey")).object(0));
        assert_eq!(f, KeyFormatType::EcPrivateKey);
        openssl::ec::EcKey::private_key_from_der(&sec1).unwrap();
        let r = c.send(v, &get_format(&epr, "PKCS_1"));
        assert_eq!(r.failed(0), ResultReason::KeyFormatTypeNotSupported);
    }
}

#[test]
fn registered_pkcs1_keys_are_used_and_returned_as_registered() {
    let d = Daemon::start("register-asym");
    let mut c = d.connect("app");
    let rsa = Rsa::generate(2048).unwrap();
    let priv_pkcs1 = rsa.private_key_to_der().unwrap();
    let pub_pkcs1 = rsa.public_key_to_der_pkcs1().unwrap();
    let pkey = PKey::from_rsa(rsa).unwrap();
    let pub_spki = pkey.public_key_to_der().unwrap();
    for v in VERSIONS {
        let pr = c
            .send(
                v,
                &register_asym(v, "PrivateKey", "PKCS_1", "RSA", 2048, &priv_pkcs1, "Sign"),
            )
            .uid(0);
        let pu = c
            .send(
                v,
                &register_asym(v, "PublicKey", "PKCS_1", "RSA", 2048, &pub_pkcs1, "Verify"),
            )
            .uid(0);
        c.send(v, &activate(&pr)).ok(0);
        c.send(v, &activate(&pu)).ok(0);
        // Returned byte for byte in the registered format, and convertible.
        let (f, b) = material(c.send(v, &get(&pr)).object(0));
        assert_eq!((f, &b), (KeyFormatType::Pkcs1, &priv_pkcs1));
        let (f, b) = material(c.send(v, &get(&pu)).object(0));
        assert_eq!((f, &b), (KeyFormatType::Pkcs1, &pub_pkcs1));
        let (f, b) = material(c.send(v, &get_format(&pu, "X_509")).object(0));
        assert_eq!((f, &b), (KeyFormatType::X509, &pub_spki));
        let (f, b) = material(c.send(v, &get_format(&pr, "PKCS_8")).object(0));
        assert_eq!(f, KeyFormatType::Pkcs8);
        assert_eq!(
            PKey::private_key_from_pkcs8(&b)
                .unwrap()
                .public_key_to_der()
                .unwrap(),
            pub_spki
        );
        // Used for signatures.
        let p = params(
            &[("PaddingMethod", "PSS"), ("HashingAlgorithm", "SHA_256")],
            "",
        );
        let sig = signed(&c.send(v, &sign_xml(&pr, &p, Input::Data(b"registered"))));
        let r = c.send(v, &verify_xml(&pu, &p, Input::Data(b"registered"), &sig));
        assert_eq!(verified(&r), ValidityIndicator::Valid);
        // Material that is not what the key block says is refused at Register.
        let r = c.send(
            v,
            &register_asym(v, "PrivateKey", "PKCS_1", "RSA", 2048, &pub_pkcs1, "Sign"),
        );
        assert_eq!(r.failed(0), ResultReason::InvalidField);
        let r = c.send(
            v,
            &register_asym(v, "PublicKey", "X_509", "RSA", 3072, &pub_spki, "Verify"),
        );
        assert_eq!(r.failed(0), ResultReason::InvalidField);
    }
}

fn hex_bytes(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
