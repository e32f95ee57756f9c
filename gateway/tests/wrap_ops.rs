//! Key wrapping end to end on the software backend (issue 6): Get with a Key
//! Wrapping Specification for each method (AES-KW, AES-KWP, RSA-OAEP, RSA-AES-KW),
//! unwrapped outside the daemon with the `aes-kw` crate and OpenSSL and compared with
//! the key; Register of keys wrapped outside; the Extractable / Sensitive rules and
//! the vault's `allow_wrapped_export`.

mod common;

use aes_kw::KekAes256;
use common::*;
use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject};
use kmip::messages::payloads::ResponsePayload;
use kmip::messages::Codec;
use kmip::ttlv::{binary, Limits, Tag};
use kmip::types::{EncodingOption, KeyFormatType, ResultReason, WrappingMethod};
use kmip::version::ProtocolVersion;
use openssl::pkey::Private;
use openssl::rsa::{Padding, Rsa};

const VERSIONS: [ProtocolVersion; 2] = [V1_4, V2_1];

fn bytes_xml(tag: &str, b: &[u8]) -> String {
    format!("<{tag} type=\"ByteString\" value=\"{}\"/>", hex(b))
}

/// Create of an AES-256 key with usage `mask` and extra attribute XML.
fn create_aes_key(v: ProtocolVersion, mask: &str, extra: &str) -> String {
    let a = [
        attr(v, "CryptographicAlgorithm", "Enumeration", "AES"),
        attr(v, "CryptographicLength", "Integer", "256"),
        attr(v, "CryptographicUsageMask", "Integer", mask),
        extra.to_owned(),
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

/// An Encryption Key Information naming `wrapping` with Cryptographic Parameters
/// from (tag, enumeration) pairs.
fn key_info(wrapping: &str, params: &[(&str, &str)]) -> String {
    let p: String = params.iter().map(|(t, v)| enumeration(t, v)).collect();
    let p = if p.is_empty() {
        String::new()
    } else {
        format!("<CryptographicParameters>{p}</CryptographicParameters>")
    };
    format!(
        "<EncryptionKeyInformation>{}{p}</EncryptionKeyInformation>",
        uid(wrapping)
    )
}

/// Get of `target` wrapped under `wrapping`.
fn get_wrapped(
    target: &str,
    wrapping: &str,
    params: &[(&str, &str)],
    encoding: Option<&str>,
) -> String {
    item(
        "Get",
        &format!(
            "{}<KeyWrappingSpecification>{}{}{}</KeyWrappingSpecification>",
            uid(target),
            enumeration("WrappingMethod", "Encrypt"),
            key_info(wrapping, params),
            encoding
                .map(|e| enumeration("EncodingOption", e))
                .unwrap_or_default()
        ),
    )
}

/// Register of an AES-256 key wrapped under `wrapping` (No Encoding).
fn register_wrapped(
    v: ProtocolVersion,
    wrapped: &[u8],
    wrapping: &str,
    params: &[(&str, &str)],
) -> String {
    register_wrapped_as(v, wrapped, wrapping, params, Some("NoEncoding"))
}

/// Register of an AES-256 key wrapped under `wrapping` with `encoding` (none: the
/// KMIP default, TTLV Encoding).
fn register_wrapped_as(
    v: ProtocolVersion,
    wrapped: &[u8],
    wrapping: &str,
    params: &[(&str, &str)],
    encoding: Option<&str>,
) -> String {
    let a = attr(v, "CryptographicUsageMask", "Integer", "Encrypt Decrypt");
    item(
        "Register",
        &format!(
            "{}{}<SymmetricKey><KeyBlock>{}{}{}{}<KeyWrappingData>{}{}{}</KeyWrappingData>\
             </KeyBlock></SymmetricKey>",
            enumeration("ObjectType", "SymmetricKey"),
            attrs(v, &a),
            enumeration("KeyFormatType", "Raw"),
            bytes_xml("KeyValue", wrapped),
            enumeration("CryptographicAlgorithm", "AES"),
            "<CryptographicLength type=\"Integer\" value=\"256\"/>",
            enumeration("WrappingMethod", "Encrypt"),
            key_info(wrapping, params),
            encoding
                .map(|e| enumeration("EncodingOption", e))
                .unwrap_or_default(),
        ),
    )
}

/// Register of an RSA public key (SPKI) with usage Wrap Key.
fn register_rsa_public(v: ProtocolVersion, spki: &[u8], bits: u32) -> String {
    let a = attr(v, "CryptographicUsageMask", "Integer", "WrapKey");
    item(
        "Register",
        &format!(
            "{}{}<PublicKey><KeyBlock>{}<KeyValue>{}</KeyValue>{}\
             <CryptographicLength type=\"Integer\" value=\"{bits}\"/></KeyBlock></PublicKey>",
            enumeration("ObjectType", "PublicKey"),
            attrs(v, &a),
            enumeration("KeyFormatType", "X_509"),
            bytes_xml("KeyMaterial", spki),
            enumeration("CryptographicAlgorithm", "RSA"),
        ),
    )
}

/// Creates and activates an AES-256 key.
fn active_aes(c: &mut Kmip, v: ProtocolVersion, mask: &str, extra: &str) -> String {
    let u = c.send(v, &create_aes_key(v, mask, extra)).uid(0);
    c.send(v, &activate(&u)).ok(0);
    u
}

/// The clear bytes of a symmetric key, by Get.
fn clear_key(c: &mut Kmip, v: ProtocolVersion, u: &str) -> Vec<u8> {
    match &c
        .send(v, &get(u))
        .object(0)
        .key_block()
        .expect("key block")
        .key_value
    {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => b.clone(),
        other => panic!("no clear key bytes: {other:?}"),
    }
}

/// The wrapped Key Value of a wrapped Get answer, after checking its Key Wrapping
/// Data names `wrapping` and the encoding asked for.
fn wrapped_value(o: &ManagedObject, wrapping: &str, encoding: Option<EncodingOption>) -> Vec<u8> {
    let kb = o.key_block().expect("key block");
    let data = kb.key_wrapping_data.as_ref().expect("Key Wrapping Data");
    assert_eq!(data.wrapping_method, WrappingMethod::Encrypt);
    assert_eq!(
        data.encryption_key_information
            .as_ref()
            .map(|i| i.unique_identifier.as_str()),
        Some(wrapping)
    );
    assert_eq!(data.encoding_option, encoding);
    match &kb.key_value {
        Some(KeyValue::Wrapped(b)) => b.clone(),
        other => panic!("Key Value not wrapped: {other:?}"),
    }
}

fn kek(key: &[u8]) -> KekAes256 {
    let k: [u8; 32] = key.try_into().expect("AES-256 wrapping key");
    KekAes256::from(k)
}

/// RSA-AES key unwrap outside: OAEP-SHA-1 of the AES key, then RFC 5649.
fn rsa_aes_unwrap(rsa: &Rsa<Private>, wrapped: &[u8]) -> Vec<u8> {
    let n = rsa.size() as usize;
    let (head, tail) = wrapped.split_at(n);
    let mut eph = vec![0u8; n];
    let len = rsa
        .private_decrypt(head, &mut eph, Padding::PKCS1_OAEP)
        .expect("OAEP part opens");
    kek(&eph[..len])
        .unwrap_with_padding_vec(tail)
        .expect("KWP part opens")
}

#[test]
fn get_wrapped_under_aes_keys_unwraps_outside() {
    let d = Daemon::start("wrap-aes");
    let mut c = d.connect("admin");
    for v in VERSIONS {
        let wrapping = active_aes(&mut c, v, "WrapKey UnwrapKey", "");
        let w = clear_key(&mut c, v, &wrapping);
        let target = active_aes(&mut c, v, "Encrypt Decrypt", "");
        let key = clear_key(&mut c, v, &target);

        let r = c.send(
            v,
            &get_wrapped(
                &target,
                &wrapping,
                &[("BlockCipherMode", "NISTKeyWrap")],
                Some("NoEncoding"),
            ),
        );
        let blob = wrapped_value(r.object(0), &wrapping, Some(EncodingOption::NoEncoding));
        assert_eq!(blob.len(), 40, "{v}: RFC 3394 of 32 bytes");
        assert_eq!(kek(&w).unwrap_vec(&blob).expect("KW opens"), key, "{v}");

        let r = c.send(
            v,
            &get_wrapped(
                &target,
                &wrapping,
                &[("BlockCipherMode", "AESKeyWrapPadding")],
                Some("NoEncoding"),
            ),
        );
        let blob = wrapped_value(r.object(0), &wrapping, Some(EncodingOption::NoEncoding));
        assert_eq!(
            kek(&w).unwrap_with_padding_vec(&blob).expect("KWP opens"),
            key,
            "{v}"
        );

        // No Encoding Option: the TTLV encoding of the Key Value is wrapped.
        let r = c.send(v, &get_wrapped(&target, &wrapping, &[], None));
        let blob = wrapped_value(r.object(0), &wrapping, None);
        let ttlv = kek(&w).unwrap_vec(&blob).expect("KW opens");
        let t = binary::decode(&ttlv, &Limits::DEFAULT).expect("TTLV");
        assert_eq!(t.tag, Tag::KEY_VALUE);
        let value = KeyValue::decode(&t, &kmip::messages::codec::Ctx::new(v)).expect("Key Value");
        assert_eq!(
            value.key_material(),
            Some(&KeyMaterial::Bytes(key.clone())),
            "{v}"
        );

        // Export (2.x): the same wrapped object, with the key's attributes.
        if !v.is_v1() {
            let export = get_wrapped(&target, &wrapping, &[], Some("NoEncoding"))
                .replace("value=\"Get\"", "value=\"Export\"");
            match c.send(v, &export).ok(0) {
                ResponsePayload::Export(e) => {
                    let blob =
                        wrapped_value(&e.object, &wrapping, Some(EncodingOption::NoEncoding));
                    assert_eq!(kek(&w).unwrap_vec(&blob).expect("KW opens"), key);
                    assert!(e.attributes.cryptographic_algorithm().is_some());
                }
                other => panic!("{other:?}"),
            }
        }

        // A key without Wrap Key in its mask does not wrap.
        let r = c.send(v, &get_wrapped(&wrapping, &target, &[], Some("NoEncoding")));
        let want = if v.is_v1() {
            ResultReason::PermissionDenied
        } else {
            ResultReason::IncompatibleCryptographicUsageMask
        };
        assert_eq!(r.failed(0), want, "{v}");
    }
}

#[test]
fn get_wrapped_under_rsa_public_keys_unwraps_outside() {
    let d = Daemon::start("wrap-rsa");
    let mut c = d.connect("admin");
    let rsa = Rsa::generate(2048).expect("RSA key");
    let spki = rsa.public_key_to_der().expect("SPKI");
    for v in VERSIONS {
        let public = c.send(v, &register_rsa_public(v, &spki, 2048)).uid(0);
        c.send(v, &activate(&public)).ok(0);
        let target = active_aes(&mut c, v, "Encrypt Decrypt", "");
        let key = clear_key(&mut c, v, &target);

        let r = c.send(
            v,
            &get_wrapped(
                &target,
                &public,
                &[("PaddingMethod", "OAEP"), ("HashingAlgorithm", "SHA_1")],
                Some("NoEncoding"),
            ),
        );
        let blob = wrapped_value(r.object(0), &public, Some(EncodingOption::NoEncoding));
        assert_eq!(blob.len(), 256);
        let mut out = vec![0u8; 256];
        let n = rsa
            .private_decrypt(&blob, &mut out, Padding::PKCS1_OAEP)
            .expect("OAEP opens");
        assert_eq!(&out[..n], &key[..], "{v}");

        let r = c.send(
            v,
            &get_wrapped(
                &target,
                &public,
                &[
                    ("BlockCipherMode", "AESKeyWrapPadding"),
                    ("PaddingMethod", "OAEP"),
                    ("HashingAlgorithm", "SHA_1"),
                ],
                Some("NoEncoding"),
            ),
        );
        let blob = wrapped_value(r.object(0), &public, Some(EncodingOption::NoEncoding));
        assert_eq!(rsa_aes_unwrap(&rsa, &blob), key, "{v}");
    }
}

#[test]
fn non_extractable_keys_leave_only_wrapped_and_only_when_the_vault_allows() {
    for allow in [false, true] {
        let p = Prepared::new(if allow { "wrap-allow" } else { "wrap-deny" });
        if allow {
            let text = std::fs::read_to_string(&p.config).expect("config");
            assert!(
                text.contains("allow_extractable = true\n"),
                "init config layout"
            );
            std::fs::write(
                &p.config,
                text.replacen(
                    "allow_extractable = true\n",
                    "allow_extractable = true\nallow_wrapped_export = true\n",
                    1,
                ),
            )
            .expect("config");
        }
        let d = p.start();
        let mut c = d.connect("admin");
        for v in VERSIONS {
            let wrapping = active_aes(&mut c, v, "WrapKey UnwrapKey", "");
            let w = clear_key(&mut c, v, &wrapping);
            let locked = active_aes(
                &mut c,
                v,
                "Encrypt Decrypt",
                &attr(v, "Extractable", "Boolean", "false"),
            );
            // Not Extractable exists from 1.4 on.
            let denied = ResultReason::NotExtractable;
            assert_eq!(c.send(v, &get(&locked)).failed(0), denied, "{v}: clear");
            let r = c.send(v, &get_wrapped(&locked, &wrapping, &[], Some("NoEncoding")));
            if !allow {
                assert_eq!(r.failed(0), denied, "{v}: wrapped, vault denies");
                continue;
            }
            let blob = wrapped_value(r.object(0), &wrapping, Some(EncodingOption::NoEncoding));
            let key = kek(&w).unwrap_vec(&blob).expect("KW opens");
            // The key that came out wrapped is the key the vault uses.
            let data = b"sixteen byte blk";
            let enc = item(
                "Encrypt",
                &format!(
                    "{}<CryptographicParameters>{}{}</CryptographicParameters>{}",
                    uid(&locked),
                    enumeration("BlockCipherMode", "ECB"),
                    enumeration("PaddingMethod", "None"),
                    bytes_xml("Data", data)
                ),
            );
            let ct = match c.send(v, &enc).ok(0) {
                ResponsePayload::Encrypt(e) => e.data.clone().expect("data"),
                other => panic!("{other:?}"),
            };
            let mut crypter = openssl::symm::Crypter::new(
                openssl::symm::Cipher::aes_256_ecb(),
                openssl::symm::Mode::Decrypt,
                &key,
                None,
            )
            .expect("crypter");
            crypter.pad(false);
            let mut out = vec![0u8; 32];
            let n = crypter.update(&ct, &mut out).expect("decrypt");
            assert_eq!(&out[..n], data, "{v}");
        }
    }
}

#[test]
fn register_keys_wrapped_outside() {
    let d = Daemon::start("wrap-register");
    let mut c = d.connect("admin");
    for v in VERSIONS {
        let wrapping = active_aes(&mut c, v, "WrapKey UnwrapKey", "");
        let w = clear_key(&mut c, v, &wrapping);
        let key = bytes(0x5a, 32);
        for (params, wrapped) in [
            (
                vec![("BlockCipherMode", "NISTKeyWrap")],
                kek(&w).wrap_vec(&key).expect("wrap"),
            ),
            (
                vec![("BlockCipherMode", "AESKeyWrapPadding")],
                kek(&w).wrap_with_padding_vec(&key).expect("wrap"),
            ),
        ] {
            let u = c
                .send(v, &register_wrapped(v, &wrapped, &wrapping, &params))
                .uid(0);
            assert_eq!(clear_key(&mut c, v, &u), key, "{v} {params:?}");
        }
        // TTLV Encoding (the default): the wrapped value is the Key Value structure.
        let ttlv = binary::encode(
            &KeyValue::plain(KeyMaterial::Bytes(key.clone()))
                .encode(Tag::KEY_VALUE, &kmip::messages::codec::Ctx::new(v)),
        );
        let u = c
            .send(
                v,
                &register_wrapped_as(
                    v,
                    &kek(&w).wrap_vec(&ttlv).expect("wrap"),
                    &wrapping,
                    &[],
                    None,
                ),
            )
            .uid(0);
        assert_eq!(clear_key(&mut c, v, &u), key, "{v} TTLV");
        // A blob that does not open under the key is refused.
        let mut bad = kek(&w).wrap_vec(&key).expect("wrap");
        bad[3] ^= 1;
        let r = c.send(v, &register_wrapped(v, &bad, &wrapping, &[]));
        assert_eq!(r.failed(0), ResultReason::CryptographicFailure, "{v}");
    }
}

#[test]
fn register_rsa_aes_wrapped_key_under_a_vault_key_pair() {
    let d = Daemon::start("wrap-rsa-aes");
    let mut c = d.connect("admin");
    for v in VERSIONS {
        let (common, p, q) = if v.is_v1() {
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
        let r = c.send(
            v,
            &item(
                "CreateKeyPair",
                &format!(
                    "<{common}>{}{}</{common}><{p}>{}</{p}><{q}>{}</{q}>",
                    attr(v, "CryptographicAlgorithm", "Enumeration", "RSA"),
                    attr(v, "CryptographicLength", "Integer", "2048"),
                    attr(v, "CryptographicUsageMask", "Integer", "UnwrapKey"),
                    attr(v, "CryptographicUsageMask", "Integer", "WrapKey"),
                ),
            ),
        );
        let (private, public) = match r.ok(0) {
            ResponsePayload::CreateKeyPair(p) => (
                p.private_key_unique_identifier.clone(),
                p.public_key_unique_identifier.clone(),
            ),
            other => panic!("{other:?}"),
        };
        c.send(v, &activate(&private)).ok(0);
        let spki = match &c
            .send(v, &get_format(&public, "X_509"))
            .object(0)
            .key_block()
            .expect("key block")
            .key_value
        {
            Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(b),
                ..
            }) => b.clone(),
            other => panic!("{other:?}"),
        };
        let rsa = Rsa::public_key_from_der(&spki).expect("SPKI");
        let key = bytes(0x33, 32);
        let eph = bytes(0x77, 32);
        let mut wrapped = vec![0u8; rsa.size() as usize];
        rsa.public_encrypt(&eph, &mut wrapped, Padding::PKCS1_OAEP)
            .expect("OAEP");
        wrapped.extend(kek(&eph).wrap_with_padding_vec(&key).expect("KWP"));
        let u = c
            .send(
                v,
                &register_wrapped(
                    v,
                    &wrapped,
                    &private,
                    &[
                        ("BlockCipherMode", "AESKeyWrapPadding"),
                        ("PaddingMethod", "OAEP"),
                    ],
                ),
            )
            .uid(0);
        assert_eq!(clear_key(&mut c, v, &u), key, "{v}");
        assert_eq!(
            c.send(v, &get_format(&u, "Raw"))
                .object(0)
                .key_block()
                .map(|k| k.key_format_type),
            Some(KeyFormatType::Raw)
        );
    }
}
