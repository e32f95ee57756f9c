//! Key pairs end to end on a real daemon (software backend, real mTLS), at KMIP
//! 1.4 and 2.1: Re-key Key Pair (KMIP 1.4 §4.5) and Get of public keys as PKCS#1,
//! X.509 (SPKI) and the Transparent RSA / EC public key structures, of private keys
//! as PKCS#8 only when they are extractable. Every key served is checked against
//! the SPKI with OpenSSL, and the re-keyed pair is used (Sign) and verified with
//! OpenSSL.

mod common;

use common::*;
use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject, TransparentKey};
use kmip::messages::payloads::{CreateKeyPairResponse, ResponsePayload, SignResponse};
use kmip::messages::{Attributes, Codec, Ctx};
use kmip::ttlv::{Tag, Value};
use kmip::types::{KeyFormatType, LinkType, Operation, RecommendedCurve, ResultReason, State};
use kmip::version::ProtocolVersion;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::PointConversionForm;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;

const VERSIONS: [ProtocolVersion; 2] = [V1_4, V2_1];

// ---------------------------------------------------------------------------
// Requests

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn datetime(secs: i64) -> String {
    format!("0x{secs:x}")
}

fn templates(v: ProtocolVersion) -> (&'static str, &'static str, &'static str) {
    if v.is_v1() {
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
    }
}

/// Create Key Pair of `alg`/`bits` with the extra common attributes `extra`
/// (attribute XML of version `v`), usage Sign / Verify.
fn create_pair(v: ProtocolVersion, alg: &str, bits: u32, extra: &str) -> String {
    let common = [
        attr(v, "CryptographicAlgorithm", "Enumeration", alg),
        attr(v, "CryptographicLength", "Integer", &bits.to_string()),
        extra.to_owned(),
    ]
    .concat();
    let pr = attr(v, "CryptographicUsageMask", "Integer", "Sign");
    let pu = attr(v, "CryptographicUsageMask", "Integer", "Verify");
    let (c, p, q) = templates(v);
    item(
        "CreateKeyPair",
        &format!("<{c}>{common}</{c}><{p}>{pr}</{p}><{q}>{pu}</{q}>"),
    )
}

/// Re-key Key Pair of `private` (the ID placeholder when `None`), with an Offset
/// in seconds and extra common attributes.
fn rekey_pair(
    v: ProtocolVersion,
    private: Option<&str>,
    offset: Option<i64>,
    common: &str,
) -> String {
    let (c, _, _) = templates(v);
    let mut p = String::new();
    if let Some(u) = private {
        p += &text("PrivateKeyUniqueIdentifier", u);
    }
    if let Some(o) = offset {
        p += &format!("<Offset type=\"Interval\" value=\"{o}\"/>");
    }
    if !common.is_empty() {
        p += &format!("<{c}>{common}</{c}>");
    }
    item("ReKeyKeyPair", &p)
}

fn sign_xml(u: &str, data: &[u8]) -> String {
    item(
        "Sign",
        &format!(
            "{}<CryptographicParameters>{}{}</CryptographicParameters>\
             <Data type=\"ByteString\" value=\"{}\"/>",
            uid(u),
            enumeration("PaddingMethod", "PKCS1V1_5"),
            enumeration("HashingAlgorithm", "SHA_256"),
            hex(data)
        ),
    )
}

// ---------------------------------------------------------------------------
// Answers

fn pair_at(r: &Reply, i: usize) -> (String, String) {
    match r.ok(i) {
        ResponsePayload::CreateKeyPair(CreateKeyPairResponse {
            private_key_unique_identifier,
            public_key_unique_identifier,
            ..
        })
        | ResponsePayload::ReKeyKeyPair(CreateKeyPairResponse {
            private_key_unique_identifier,
            public_key_unique_identifier,
            ..
        }) => (
            private_key_unique_identifier.clone(),
            public_key_unique_identifier.clone(),
        ),
        other => panic!("not Create/ReKey Key Pair: {other:?}"),
    }
}

fn pair(r: &Reply) -> (String, String) {
    pair_at(r, 0)
}

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

fn transparent(o: &ManagedObject) -> (KeyFormatType, TransparentKey) {
    let kb = o.key_block().expect("key block");
    match &kb.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Transparent(t),
            ..
        }) => (kb.key_format_type, (**t).clone()),
        other => panic!("no Transparent key material: {other:?}"),
    }
}

/// The Links of an object, as (type, target).
fn links(a: &Attributes, v: ProtocolVersion) -> Vec<(LinkType, String)> {
    let ctx = Ctx::new(v);
    a.all(Tag::LINK)
        .map(|l| {
            let ty = LinkType::decode(l.child(Tag::LINK_TYPE).expect("Link Type"), &ctx)
                .expect("Link Type value");
            let target = match &l
                .child(Tag::LINKED_OBJECT_IDENTIFIER)
                .expect("target")
                .value
            {
                Value::TextString(s) => s.clone(),
                other => panic!("Linked Object Identifier {other:?}"),
            };
            (ty, target)
        })
        .collect()
}

fn date(a: &Attributes, tag: Tag) -> Option<i64> {
    match a.get(tag).map(|t| &t.value) {
        Some(Value::DateTime(d)) => Some(*d),
        _ => None,
    }
}

fn value_of(a: &Attributes, tag: Tag) -> Option<Value> {
    a.get(tag).map(|t| t.value.clone())
}

fn spki(c: &mut Kmip, v: ProtocolVersion, u: &str) -> PKey<Public> {
    let (f, der) = material(c.send(v, &get_format(u, "X_509")).object(0));
    assert_eq!(f, KeyFormatType::X509);
    PKey::public_key_from_der(&der).expect("SPKI")
}

/// Attributes a test compares between an old key and its replacement.
const COMPARED: &[&str] = &[
    "CryptographicAlgorithm",
    "CryptographicLength",
    "CryptographicUsageMask",
    "Name",
    "Link",
    "State",
    "ActivationDate",
    "DeactivationDate",
    "Extractable",
];

// ---------------------------------------------------------------------------
// Re-key Key Pair

#[test]
fn rekey_key_pair_links_carries_attributes_and_offsets_dates() {
    let d = Daemon::start("rekey-pair");
    let mut c = d.connect("app");
    for v in VERSIONS {
        for (alg, bits) in [("RSA", 2048u32), ("ECDSA", 256), ("EC", 384)] {
            let name = format!("rekey-pair-{alg}-{bits}-{}{}", v.major, v.minor);
            let t0 = now();
            let extra = [
                name_attr(v, &name),
                attr(v, "ActivationDate", "DateTime", &datetime(t0 - 60)),
                attr(v, "DeactivationDate", "DateTime", &datetime(t0 + 86_400)),
            ]
            .concat();
            let (old_pr, old_pu) = pair(&c.send(v, &create_pair(v, alg, bits, &extra)));
            let old_pr_a = c.get_attributes(v, &old_pr, COMPARED);
            let old_pu_a = c.get_attributes(v, &old_pu, COMPARED);
            assert_eq!(old_pr_a.state(), Some(State::Active));

            let offset = 3600;
            let before = now();
            let (pr, pu) = pair(&c.send(v, &rekey_pair(v, Some(&old_pr), Some(offset), "")));
            let after = now();
            assert!(![&old_pr, &old_pu].contains(&&pr) && ![&old_pr, &old_pu].contains(&&pu));
            assert_ne!(pr, pu);

            let pr_a = c.get_attributes(v, &pr, COMPARED);
            let pu_a = c.get_attributes(v, &pu, COMPARED);
            // Algorithm, length, usage mask and name carried over.
            for tag in [
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Tag::CRYPTOGRAPHIC_LENGTH,
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                Tag::NAME,
                Tag::EXTRACTABLE,
            ] {
                assert_eq!(
                    value_of(&pr_a, tag),
                    value_of(&old_pr_a, tag),
                    "{alg} private {tag:?}"
                );
                assert_eq!(
                    value_of(&pu_a, tag),
                    value_of(&old_pu_a, tag),
                    "{alg} public {tag:?}"
                );
            }
            // Dates: activation at now + Offset, the old span kept; so Pre-Active.
            for a in [&pr_a, &pu_a] {
                let act = date(a, Tag::ACTIVATION_DATE).expect("Activation Date");
                assert!(
                    (before + offset..=after + offset).contains(&act),
                    "activation {act} not now + {offset}"
                );
                let span = date(&old_pr_a, Tag::DEACTIVATION_DATE).unwrap()
                    - date(&old_pr_a, Tag::ACTIVATION_DATE).unwrap();
                assert_eq!(date(a, Tag::DEACTIVATION_DATE), Some(act + span));
                assert_eq!(a.state(), Some(State::PreActive));
            }
            // Links: the new pair to each other and to the keys it replaces; the old
            // keys to their replacements.
            let mut l = links(&pr_a, v);
            l.sort_by_key(|(t, _)| t.value());
            let mut want = vec![
                (LinkType::PublicKeyLink, pu.clone()),
                (LinkType::ReplacedObjectLink, old_pr.clone()),
            ];
            want.sort_by_key(|(t, _)| t.value());
            assert_eq!(l, want, "new private key links");
            let mut l = links(&pu_a, v);
            l.sort_by_key(|(t, _)| t.value());
            let mut want = vec![
                (LinkType::PrivateKeyLink, pr.clone()),
                (LinkType::ReplacedObjectLink, old_pu.clone()),
            ];
            want.sort_by_key(|(t, _)| t.value());
            assert_eq!(l, want, "new public key links");
            let old = c.get_attributes(v, &old_pr, &["Link"]);
            assert!(links(&old, v).contains(&(LinkType::ReplacementObjectLink, pr.clone())));
            assert!(links(&old, v).contains(&(LinkType::PublicKeyLink, old_pu.clone())));
            let old = c.get_attributes(v, &old_pu, &["Link"]);
            assert!(links(&old, v).contains(&(LinkType::ReplacementObjectLink, pu.clone())));
            // The old keys are untouched otherwise.
            assert_eq!(
                c.get_attributes(v, &old_pr, &["State"]).state(),
                Some(State::Active)
            );

            // A new key pair: same algorithm and size, different key.
            let old_key = spki(&mut c, v, &old_pu);
            let new_key = spki(&mut c, v, &pu);
            assert_eq!(new_key.id(), old_key.id());
            assert_eq!(new_key.bits(), old_key.bits());
            assert_ne!(
                new_key.public_key_to_der().unwrap(),
                old_key.public_key_to_der().unwrap()
            );
            if new_key.id() == Id::EC {
                let (a, b) = (new_key.ec_key().unwrap(), old_key.ec_key().unwrap());
                assert_eq!(a.group().curve_name(), b.group().curve_name());
            }
            // The Name now also finds the new keys (newest first).
            let found = c.locate_name(v, &name);
            assert!(found.contains(&pr) && found.contains(&pu), "{found:?}");
        }
    }
}

#[test]
fn rekeyed_pair_without_offset_is_active_and_signs() {
    let d = Daemon::start("rekey-pair-sign");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let (old_pr, old_pu) = pair(&c.send(v, &create_pair(v, "RSA", 2048, "")));
        c.send(v, &activate(&old_pr)).ok(0);
        c.send(v, &activate(&old_pu)).ok(0);
        let (pr, pu) = pair(&c.send(v, &rekey_pair(v, Some(&old_pr), None, "")));
        // The old private key had an Activation Date: the new keys are active now.
        for u in [&pr, &pu] {
            let a = c.get_attributes(v, u, &["State", "ActivationDate"]);
            assert_eq!(a.state(), Some(State::Active), "{u}");
            assert!(date(&a, Tag::ACTIVATION_DATE).is_some_and(|d| d <= now()));
        }
        let msg = b"re-keyed pair signs";
        let r = c.send(v, &sign_xml(&pr, msg));
        let sig = match r.ok(0) {
            ResponsePayload::Sign(SignResponse {
                signature_data: Some(s),
                ..
            }) => s.clone(),
            other => panic!("not Sign: {other:?}"),
        };
        let key = spki(&mut c, v, &pu);
        let mut ver = Verifier::new(MessageDigest::sha256(), &key).unwrap();
        ver.update(msg).unwrap();
        assert!(ver.verify(&sig).unwrap(), "OpenSSL verifies the new pair");
        let old = spki(&mut c, v, &old_pu);
        let mut ver = Verifier::new(MessageDigest::sha256(), &old).unwrap();
        ver.update(msg).unwrap();
        assert!(!ver.verify(&sig).unwrap(), "not the old key");

        // A pair never activated: the new one has no Activation Date either.
        let (p2, _) = pair(&c.send(v, &create_pair(v, "ECDSA", 256, "")));
        let (n2, m2) = pair(&c.send(v, &rekey_pair(v, Some(&p2), None, "")));
        for u in [&n2, &m2] {
            let a = c.get_attributes(v, u, &["State", "ActivationDate"]);
            assert_eq!(a.state(), Some(State::PreActive));
            assert!(date(&a, Tag::ACTIVATION_DATE).is_none());
        }
    }
}

#[test]
fn rekey_key_pair_uses_the_id_placeholder_and_takes_request_attributes() {
    let d = Daemon::start("rekey-pair-batch");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let name = format!("rekey-pair-batch-{}{}", v.major, v.minor);
        let items = [
            create_pair(v, "ECDSA", 256, ""),
            rekey_pair(v, None, None, &name_attr(v, &name)),
            get_attributes(v, "", &[]),
        ];
        // The third item asks for the ID placeholder: the new private key.
        let third = items[2].replace(&uid(""), "");
        let r = c.send(v, &format!("{}{}{third}", items[0], items[1]));
        let (old_pr, _) = pair_at(&r, 0);
        let (pr, pu) = pair_at(&r, 1);
        assert_ne!(old_pr, pr);
        assert_eq!(r.uid(2), pr, "the placeholder is the new private key");
        let names: Vec<_> = r.attributes(2).all(Tag::NAME).cloned().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert_eq!(
            c.locate_name(v, &name).len(),
            2,
            "both new keys carry the name"
        );
        assert!(c.get_attributes(v, &pu, &["Name"]).get(Tag::NAME).is_some());
    }
}

#[test]
fn rekey_key_pair_refusals() {
    let d = Daemon::start("rekey-pair-refusals");
    let mut c = d.connect("app");
    for v in VERSIONS {
        let (pr, pu) = pair(&c.send(v, &create_pair(v, "RSA", 2048, "")));
        // Not a private key.
        let r = c.send(v, &rekey_pair(v, Some(&pu), None, ""));
        assert_eq!(r.failed(0), ResultReason::IllegalOperation);
        let aes = c.create_aes(v, &format!("rekey-pair-aes-{}{}", v.major, v.minor));
        let r = c.send(v, &rekey_pair(v, Some(&aes), None, ""));
        assert_eq!(r.failed(0), ResultReason::IllegalOperation);
        // The algorithm and length are the old key's.
        let r = c.send(
            v,
            &rekey_pair(
                v,
                Some(&pr),
                None,
                &attr(v, "CryptographicLength", "Integer", "3072"),
            ),
        );
        assert_eq!(r.failed(0), ResultReason::InvalidField);
        // Unknown key.
        let r = c.send(v, &rekey_pair(v, Some("no-such-key"), None, ""));
        assert_eq!(r.failed(0), not_found(v));
        // A destroyed private key.
        c.send(v, &destroy(&pr)).ok(0);
        let r = c.send(v, &rekey_pair(v, Some(&pr), None, ""));
        assert!(
            matches!(
                r.failed(0),
                ResultReason::IllegalOperation
                    | ResultReason::ItemNotFound
                    | ResultReason::ObjectDestroyed
            ),
            "{:?}",
            r.failed(0)
        );
    }
    // Query lists it.
    let r = c.send(V2_1, &query());
    match r.ok(0) {
        ResponsePayload::Query(q) => assert!(
            q.operations.contains(&Operation::ReKeyKeyPair),
            "{:?}",
            q.operations
        ),
        other => panic!("not Query: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Get formats

#[test]
fn public_keys_as_pkcs1_spki_and_transparent() {
    let d = Daemon::start("pub-formats");
    let mut c = d.connect("app");
    for v in VERSIONS {
        // RSA: X.509 (default), PKCS#1, Transparent RSA Public Key.
        let (pr, pu) = pair(&c.send(v, &create_pair(v, "RSA", 2048, "")));
        let (f, der) = material(c.send(v, &get(&pu)).object(0));
        assert_eq!(f, KeyFormatType::X509);
        let key = PKey::public_key_from_der(&der).unwrap();
        let rsa = key.rsa().unwrap();
        let (f, p1) = material(c.send(v, &get_format(&pu, "PKCS_1")).object(0));
        assert_eq!(f, KeyFormatType::Pkcs1);
        assert_eq!(
            openssl::rsa::Rsa::public_key_from_der_pkcs1(&p1)
                .unwrap()
                .n(),
            rsa.n()
        );
        let r = c.send(v, &get_format(&pu, "TransparentRSAPublicKey"));
        let (f, t) = transparent(r.object(0));
        assert_eq!(f, KeyFormatType::TransparentRsaPublicKey);
        let n = BigNum::from_slice(&t.modulus.expect("Modulus").0).unwrap();
        let e = BigNum::from_slice(&t.public_exponent.expect("Public Exponent").0).unwrap();
        assert_eq!(n, *rsa.n());
        assert_eq!(e, *rsa.e());
        assert!(t.private_exponent.is_none() && t.p.is_none());
        // The wire item is a Big Integer (decoded as such by the client).
        let tree = &r.raw;
        let mut all = Vec::new();
        walk(tree, &mut all);
        let m = all.iter().find(|t| t.tag == Tag::MODULUS).expect("Modulus");
        assert!(matches!(m.value, Value::BigInteger(_)), "{:?}", m.value);
        // Not an EC key.
        let r = c.send(v, &get_format(&pu, "TransparentECPublicKey"));
        assert_eq!(r.failed(0), ResultReason::KeyFormatTypeNotSupported);
        // A private key is not served in a public format.
        let r = c.send(v, &get_format(&pr, "TransparentRSAPublicKey"));
        assert_eq!(r.failed(0), ResultReason::KeyFormatTypeNotSupported);

        // EC: X.509, Transparent EC Public Key; never PKCS#1.
        for (bits, curve) in [
            (256u32, RecommendedCurve::P256),
            (384, RecommendedCurve::P384),
        ] {
            let (_, pu) = pair(&c.send(v, &create_pair(v, "ECDSA", bits, "")));
            let key = spki(&mut c, v, &pu);
            let ec = key.ec_key().unwrap();
            let mut bn = BigNumContext::new().unwrap();
            let point = ec
                .public_key()
                .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut bn)
                .unwrap();
            let (f, t) = transparent(
                c.send(v, &get_format(&pu, "TransparentECPublicKey"))
                    .object(0),
            );
            assert_eq!(f, KeyFormatType::TransparentEcPublicKey);
            assert_eq!(t.recommended_curve, Some(curve));
            assert_eq!(t.q_string.as_deref(), Some(&point[..]));
            assert!(t.d.is_none());
            for bad in ["PKCS_1", "TransparentRSAPublicKey", "Raw"] {
                let r = c.send(v, &get_format(&pu, bad));
                assert_eq!(
                    r.failed(0),
                    ResultReason::KeyFormatTypeNotSupported,
                    "{bad}"
                );
            }
        }
    }
}

#[test]
fn private_keys_as_pkcs8_only_when_extractable() {
    let p = Prepared::new("priv-formats");
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
        // Extractable (the default vault's default): PKCS#8, matching the public key.
        for (alg, bits) in [("RSA", 2048u32), ("ECDSA", 256)] {
            let (pr, pu) = pair(&c.send(v, &create_pair(v, alg, bits, "")));
            let (f, p8) = material(c.send(v, &get(&pr)).object(0));
            assert_eq!(f, KeyFormatType::Pkcs8);
            let private = PKey::private_key_from_pkcs8(&p8).unwrap();
            assert_eq!(
                private.public_key_to_der().unwrap(),
                spki(&mut c, v, &pu).public_key_to_der().unwrap()
            );
            let (f, again) = material(c.send(v, &get_format(&pr, "PKCS_8")).object(0));
            assert_eq!((f, &again), (KeyFormatType::Pkcs8, &p8));
        }
        // Asked not extractable in an extractable vault: refused in every format,
        // the public key still served.
        let ne = attr(v, "Extractable", "Boolean", "false");
        let (c_, p_, q_) = templates(v);
        let common = [
            attr(v, "CryptographicAlgorithm", "Enumeration", "RSA"),
            attr(v, "CryptographicLength", "Integer", "2048"),
        ]
        .concat();
        let r = c.send(
            v,
            &item(
                "CreateKeyPair",
                &format!("<{c_}>{common}</{c_}><{p_}>{ne}</{p_}><{q_}></{q_}>"),
            ),
        );
        let (pr, pu) = pair(&r);
        for format in ["PKCS_8", "PKCS_1"] {
            let r = c.send(v, &get_format(&pr, format));
            assert_eq!(r.failed(0), ResultReason::NotExtractable, "{format}");
        }
        let r = c.send(v, &get(&pr));
        assert_eq!(r.failed(0), ResultReason::NotExtractable);
        material(c.send(v, &get(&pu)).object(0));
        // A vault that allows no extractable key.
        let (lpr, lpu) = pair(&locked.send(v, &create_pair(v, "RSA", 2048, "")));
        let r = locked.send(v, &get_format(&lpr, "PKCS_8"));
        assert_eq!(r.failed(0), ResultReason::NotExtractable);
        let (f, t) = transparent(
            locked
                .send(v, &get_format(&lpu, "TransparentRSAPublicKey"))
                .object(0),
        );
        assert_eq!(f, KeyFormatType::TransparentRsaPublicKey);
        assert!(t.modulus.is_some());
    }
}
