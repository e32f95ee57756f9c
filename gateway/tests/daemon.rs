//! End-to-end tests of the daemon: a real `keygate init` deployment started with
//! `keygate::daemon::start` on an ephemeral port, driven over mutual TLS by the
//! `kmip` client with the generated certificates.
//!
//! Expected values come from the KMIP specifications (1.0–1.4, 2.0, 2.1): object
//! lifecycle (1.4 §3.22 state diagram), attribute and operation semantics, batch
//! options (1.4 §6.5–6.7, §6.18 ID placeholder), and the version rules of DESIGN.md
//! (answer in the request's version, never send what that version lacks).

mod common;

use common::*;
use keygate::setup;
use kmip::client::PemSource;
use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject};
use kmip::messages::payloads::ResponsePayload;
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{binary, Tag, Ttlv, Value};
use kmip::types::{
    KeyFormatType, LinkType, ObjectType, ResultReason, ResultStatus, SecretDataType, State,
};
use kmip::version::ProtocolVersion;
use std::time::Duration;

// ---------------------------------------------------------------------------
// 1. Lifecycle

#[test]
fn lifecycle_kmip_1_0() {
    lifecycle(V1_0);
}

#[test]
fn lifecycle_kmip_1_2() {
    lifecycle(V1_2);
}

#[test]
fn lifecycle_kmip_1_4() {
    lifecycle(V1_4);
}

#[test]
fn lifecycle_kmip_2_0() {
    lifecycle(V2_0);
}

#[test]
fn lifecycle_kmip_2_1() {
    lifecycle(V2_1);
}

/// Create -> Get -> GetAttributes -> Activate -> Locate -> ModifyAttribute ->
/// AddAttribute (custom) -> Get (Transparent) -> ReKey -> Revoke -> Destroy -> Get,
/// then Register of Secret Data and of an Opaque Object, all at version `v`.
fn lifecycle(v: ProtocolVersion) {
    let d = Daemon::start(&format!("lifecycle-{}{}", v.major, v.minor));
    let mut c = d.connect("app");
    let name = format!("lifecycle-{v}");
    let bystander_name = format!("{name}-bystander");

    // Create AES-256.
    let r = c.send(v, &create_aes(v, &name, 256));
    assert_eq!(
        r.msg.header.protocol_version, v,
        "answered in the request's version"
    );
    let ResponsePayload::Create(created) = r.ok(0) else {
        panic!("not a Create payload")
    };
    assert_eq!(created.object_type, ObjectType::SymmetricKey);
    let id = r.uid(0);
    let bystander = c.create_aes(v, &bystander_name);
    assert_ne!(id, bystander, "every object gets its own Unique Identifier");

    // Fresh (1.1+): true until the object is first served to a client by Get.
    let fresh = |c: &mut Kmip| {
        c.get_attributes(v, &id, &["Fresh"])
            .get(Tag::FRESH)
            .map(|t| t.value.clone())
    };
    if v >= ProtocolVersion::V1_1 {
        assert_eq!(
            fresh(&mut c),
            Some(Value::Boolean(true)),
            "Fresh before the first Get"
        );
    }

    // Get: a 32-byte key, Raw, AES 256.
    let r = c.send(v, &get(&id));
    assert_eq!(r.uid(0), id);
    let key = raw_symmetric_key(r.object(0));
    assert_eq!(key.len(), 32, "AES-256 is 32 bytes");
    let other_key = raw_symmetric_key(c.send(v, &get(&bystander)).object(0));
    assert_ne!(key, other_key, "two keys from the CSPRNG differ");
    if v >= ProtocolVersion::V1_1 {
        assert_eq!(
            fresh(&mut c),
            Some(Value::Boolean(false)),
            "Fresh after the first Get"
        );
    }

    // Get Attributes: Pre-Active (no Activation Date given), the Name as given.
    let a = c.get_attributes(v, &id, &["State", "Name"]);
    assert_eq!(a.state(), Some(State::PreActive));
    assert_eq!(name_values(&a), vec![name.clone()]);
    let a = c.get_attributes(
        v,
        &id,
        &[
            "CryptographicAlgorithm",
            "CryptographicLength",
            "CryptographicUsageMask",
        ],
    );
    assert_eq!(
        a.cryptographic_algorithm(),
        Some(kmip::types::CryptographicAlgorithm::Aes)
    );
    assert_eq!(a.cryptographic_length(), Some(256));
    assert_eq!(
        a.cryptographic_usage_mask().map(|m| m.0),
        Some(0x4 | 0x8),
        "Encrypt|Decrypt"
    );

    // Activate -> Active.
    assert_eq!(c.send(v, &activate(&id)).uid(0), id);
    assert_eq!(
        c.get_attributes(v, &id, &["State"]).state(),
        Some(State::Active)
    );
    // A second Activate is a state error (only Pre-Active objects can be activated):
    // 1.x answers Permission Denied (1.4 §11.20, "Object is not in Pre-Active
    // state"), 2.x Wrong Key Lifecycle State.
    let reason = c.send(v, &activate(&id)).failed(0);
    let want = if v.is_v1() {
        ResultReason::PermissionDenied
    } else {
        ResultReason::WrongKeyLifecycleState
    };
    assert_eq!(reason, want);

    // Check: Encrypt is in the usage mask, Sign is not.
    let check = |mask: &str| {
        item(
            "Check",
            &format!(
                "{}<CryptographicUsageMask type=\"Integer\" value=\"{mask}\"/>",
                uid(&id)
            ),
        )
    };
    assert_eq!(c.send(v, &check("Encrypt")).uid_of_check(0), id);
    let want = if v.is_v1() {
        ResultReason::IllegalOperation
    } else {
        ResultReason::IncompatibleCryptographicUsageMask
    };
    assert_eq!(c.send(v, &check("Sign")).failed(0), want);

    // Locate by Name finds exactly this object.
    assert_eq!(c.locate_name(v, &name), vec![id.clone()]);
    assert_eq!(c.locate_name(v, &bystander_name), vec![bystander.clone()]);
    assert!(c.locate_name(v, "no-object-has-this-name").is_empty());
    if v.is_v1() {
        // FortiGate puts the Name inside a Template-Attribute and asks for one item.
        let forti = format!(
            "<MaximumItems type=\"Integer\" value=\"1\"/>{}",
            attrs(v, &name_attr(v, &name))
        );
        assert_eq!(
            c.send(v, &item("Locate", &forti)).located(0),
            vec![id.clone()]
        );
    }

    // Modify Attribute: rename.
    let renamed = format!("{name}-renamed");
    let modify = if v.is_v1() {
        format!("{}{}", uid(&id), name_attr(v, &renamed))
    } else {
        format!(
            "{}<NewAttribute>{}</NewAttribute>",
            uid(&id),
            name_attr(v, &renamed)
        )
    };
    assert_eq!(c.send(v, &item("ModifyAttribute", &modify)).uid(0), id);
    assert_eq!(
        name_values(&c.get_attributes(v, &id, &["Name"])),
        vec![renamed.clone()]
    );
    assert_eq!(c.locate_name(v, &renamed), vec![id.clone()]);
    assert!(
        c.locate_name(v, &name).is_empty(),
        "the old name no longer matches"
    );

    // Add Attribute: a custom (1.x `x-`) / vendor (2.x) attribute, returned as given.
    let (vendor, attr_name, value) = if v.is_v1() {
        ("x", "Vendor", "Acme Storage Systems")
    } else {
        ("acme", "Product", "Widget 9000")
    };
    let add = if v.is_v1() {
        format!("{}{}", uid(&id), vendor_attr(v, vendor, attr_name, value))
    } else {
        format!(
            "{}<NewAttribute>{}</NewAttribute>",
            uid(&id),
            vendor_attr(v, vendor, attr_name, value)
        )
    };
    assert_eq!(c.send(v, &item("AddAttribute", &add)).uid(0), id);
    let r = c.send(v, &get_vendor_attribute(v, &id, vendor, attr_name));
    let a = r.attributes(0);
    assert_eq!(
        a.items,
        vec![Attribute::Vendor {
            vendor: vendor.to_owned(),
            name: attr_name.to_owned(),
            value: Value::TextString(value.to_owned())
        }],
        "exactly the custom attribute, exactly as given"
    );
    if v.is_v1() {
        // On the wire it is named as the client named it.
        let mut all = Vec::new();
        walk(&r.raw, &mut all);
        assert!(all
            .iter()
            .any(|t| t.tag == Tag::ATTRIBUTE_NAME
                && t.value == Value::TextString("x-Vendor".to_owned())));
    }
    // And it is among all attributes too.
    let all = c.get_attributes(v, &id, &[]);
    assert_eq!(
        all.vendor(vendor, attr_name),
        Some(&Value::TextString(value.to_owned()))
    );

    // Get as Transparent Symmetric Key: the same bytes in the Transparent structure.
    let r = c.send(v, &get_format(&id, "TransparentSymmetricKey"));
    let ManagedObject::SymmetricKey(k) = r.object(0) else {
        panic!("not a symmetric key")
    };
    assert_eq!(
        k.key_block.key_format_type,
        KeyFormatType::TransparentSymmetricKey
    );
    match &k.key_block.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Transparent(t),
            ..
        }) => {
            assert_eq!(t.key.as_deref(), Some(key.as_slice()));
        }
        other => panic!("expected a Transparent Symmetric Key, got {other:?}"),
    }

    // Re-key: a new object, linked both ways, carrying the name.
    let r = c.send(v, &by_uid("ReKey", Some(&id)));
    let new_id = r.uid(0);
    assert_ne!(new_id, id);
    let new_attrs = c.get_attributes(v, &new_id, &["Link", "Name", "CryptographicLength"]);
    assert_eq!(
        links(&new_attrs),
        vec![(LinkType::ReplacedObjectLink, id.clone())]
    );
    assert_eq!(name_values(&new_attrs), vec![renamed.clone()]);
    assert_eq!(new_attrs.cryptographic_length(), Some(256));
    let old_attrs = c.get_attributes(v, &id, &["Link"]);
    assert_eq!(
        links(&old_attrs),
        vec![(LinkType::ReplacementObjectLink, new_id.clone())]
    );
    let new_key = raw_symmetric_key(c.send(v, &get(&new_id)).object(0));
    assert_eq!(new_key.len(), 32);
    assert_ne!(new_key, key, "re-keying makes new key material");
    let mut versions = c.locate_name(v, &renamed);
    assert_eq!(versions.first(), Some(&new_id), "the newest version first");
    versions.sort();
    let mut want = vec![id.clone(), new_id.clone()];
    want.sort();
    assert_eq!(versions, want);

    // Revoke (Cessation of Operation) -> Deactivated.
    assert_eq!(c.send(v, &revoke(&id, "CessationOfOperation")).uid(0), id);
    assert_eq!(
        c.get_attributes(v, &id, &["State"]).state(),
        Some(State::Deactivated)
    );

    // Destroy -> Destroyed; the metadata stays, the key does not.
    assert_eq!(c.send(v, &destroy(&id)).uid(0), id);
    assert_eq!(
        c.get_attributes(v, &id, &["State"]).state(),
        Some(State::Destroyed)
    );
    let reason = c.send(v, &get(&id)).failed(0);
    let want = if v.is_v1() {
        ResultReason::ItemNotFound
    } else {
        ResultReason::ObjectDestroyed
    };
    assert_eq!(reason, want, "Get of a destroyed object");
    // The bystander is untouched.
    assert_eq!(
        raw_symmetric_key(c.send(v, &get(&bystander)).object(0)),
        other_key
    );

    // Register Secret Data, MongoDB style: 96 bytes, Seed, Opaque format.
    let secret = bytes(7, 96);
    let r = c.send(v, &register_secret(v, &format!("{name}-secret"), &secret));
    let sid = r.uid(0);
    c.send(v, &activate(&sid)).uid(0);
    let r = c.send(v, &get(&sid));
    let ResponsePayload::Get(g) = r.ok(0) else {
        panic!("not a Get payload")
    };
    assert_eq!(g.object_type, ObjectType::SecretData);
    let ManagedObject::SecretData(s) = &g.object else {
        panic!("not Secret Data: {:?}", g.object)
    };
    assert_eq!(s.secret_data_type, SecretDataType::Seed);
    assert_eq!(s.key_block.key_format_type, KeyFormatType::Opaque);
    assert_eq!(key_bytes(&s.key_block.key_value), secret, "byte-identical");

    // Register an Opaque Object.
    let opaque = b"SecretPassword".to_vec();
    let r = c.send(v, &register_opaque(v, &format!("{name}-opaque"), &opaque));
    let oid = r.uid(0);
    let r = c.send(v, &get(&oid));
    let ManagedObject::OpaqueObject(o) = r.object(0) else {
        panic!("not an Opaque Object")
    };
    assert_eq!(o.opaque_data_type.value(), 0x8000_0001);
    assert_eq!(o.opaque_data_value, opaque);
    assert_eq!(
        c.get_attributes(v, &oid, &["ObjectType"]).object_type(),
        Some(ObjectType::OpaqueObject)
    );

    // Register a key as Transparent Symmetric Key: Get answers in that format by
    // default, and converts to Raw on request.
    let tkey = bytes(11, 16);
    let a = [
        name_attr(v, &format!("{name}-transparent")),
        attr(v, "CryptographicUsageMask", "Integer", "Encrypt Decrypt"),
    ]
    .concat();
    let reg = format!(
        "{}{}<SymmetricKey><KeyBlock>{}<KeyValue><KeyMaterial>{}</KeyMaterial></KeyValue>{}{}</KeyBlock></SymmetricKey>",
        enumeration("ObjectType", "SymmetricKey"),
        attrs(v, &a),
        enumeration("KeyFormatType", "TransparentSymmetricKey"),
        format_args!("<Key type=\"ByteString\" value=\"{}\"/>", hex(&tkey)),
        enumeration("CryptographicAlgorithm", "AES"),
        "<CryptographicLength type=\"Integer\" value=\"128\"/>"
    );
    let tid = c.send(v, &item("Register", &reg)).uid(0);
    let r = c.send(v, &get(&tid));
    let ManagedObject::SymmetricKey(k) = r.object(0) else {
        panic!("not a symmetric key")
    };
    assert_eq!(
        k.key_block.key_format_type,
        KeyFormatType::TransparentSymmetricKey
    );
    match &k.key_block.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Transparent(t),
            ..
        }) => {
            assert_eq!(t.key.as_deref(), Some(tkey.as_slice()));
        }
        other => panic!("expected a Transparent Symmetric Key, got {other:?}"),
    }
    let r = c.send(v, &get_format(&tid, "Raw"));
    let ManagedObject::SymmetricKey(k) = r.object(0) else {
        panic!("not a symmetric key")
    };
    assert_eq!(k.key_block.key_format_type, KeyFormatType::Raw);
    assert_eq!(key_bytes(&k.key_block.key_value), tkey);
    assert_eq!(
        c.get_attributes(v, &tid, &["CryptographicLength"])
            .cryptographic_length(),
        Some(128)
    );

    // Register a certificate, naming its Certificate Type as the OASIS vectors do.
    let der = std::fs::read(d.path("clients/app/cert.pem"))
        .map(|pem| pem_to_der(&pem))
        .expect("client certificate");
    let reg = format!(
        "{}{}<Certificate>{}<CertificateValue type=\"ByteString\" value=\"{}\"/></Certificate>",
        enumeration("ObjectType", "Certificate"),
        attrs(v, &attr(v, "CertificateType", "Enumeration", "X_509")),
        enumeration("CertificateType", "X_509"),
        hex(&der)
    );
    let cid = c.send(v, &item("Register", &reg)).uid(0);
    let ManagedObject::Certificate(cert) = c.send(v, &get(&cid)).object(0).clone() else {
        panic!("not a certificate")
    };
    assert_eq!(cert.certificate_value, der);
    let a = c.get_attributes(
        v,
        &cid,
        &["CertificateType", "CertificateLength", "ObjectType"],
    );
    assert_eq!(a.object_type(), Some(ObjectType::Certificate));
    assert_eq!(
        a.get(Tag::CERTIFICATE_TYPE).map(|t| &t.value),
        Some(&Value::Enumeration(
            kmip::types::CertificateType::X509.value()
        ))
    );
    if Tag::CERTIFICATE_LENGTH.defined_in(v) {
        assert_eq!(
            a.get(Tag::CERTIFICATE_LENGTH).map(|t| &t.value),
            Some(&Value::Integer(i32::try_from(der.len()).expect("length")))
        );
    }
    // A Certificate Type that contradicts the certificate is refused.
    // (Only the attribute, which comes first: in 2.x it reads like the object's field.)
    let wrong = reg.replacen(
        &attr(v, "CertificateType", "Enumeration", "X_509"),
        &attr(v, "CertificateType", "Enumeration", "PGP"),
        1,
    );
    let refused = c.send(v, &item("Register", &wrong)).failed(0);
    assert!(
        matches!(
            refused,
            ResultReason::InvalidField
                | ResultReason::ReadOnlyAttribute
                | ResultReason::AttributeReadOnly
        ),
        "{refused:?}"
    );
}

/// Register of Secret Data (Seed, Opaque key format) named `name`.
fn register_secret(v: ProtocolVersion, name: &str, secret: &[u8]) -> String {
    let a = [
        name_attr(v, name),
        attr(v, "CryptographicUsageMask", "Integer", "Encrypt Decrypt"),
    ]
    .concat();
    item(
        "Register",
        &format!(
            "{}{}<SecretData>{}<KeyBlock>{}<KeyValue><KeyMaterial type=\"ByteString\" value=\"{}\"/></KeyValue></KeyBlock></SecretData>",
            enumeration("ObjectType", "SecretData"),
            attrs(v, &a),
            enumeration("SecretDataType", "Seed"),
            enumeration("KeyFormatType", "Opaque"),
            hex(secret)
        ),
    )
}

fn register_opaque(v: ProtocolVersion, name: &str, value: &[u8]) -> String {
    item(
        "Register",
        &format!(
            "{}{}<OpaqueObject>{}<OpaqueDataValue type=\"ByteString\" value=\"{}\"/></OpaqueObject>",
            enumeration("ObjectType", "OpaqueObject"),
            attrs(v, &name_attr(v, name)),
            enumeration("OpaqueDataType", "0x80000001"),
            hex(value)
        ),
    )
}

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem)
        .expect("PEM certificate")
        .to_vec()
}

fn raw_symmetric_key(o: &ManagedObject) -> Vec<u8> {
    let ManagedObject::SymmetricKey(k) = o else {
        panic!("not a symmetric key: {o:?}")
    };
    assert_eq!(k.key_block.key_format_type, KeyFormatType::Raw);
    assert_eq!(
        k.key_block.cryptographic_algorithm,
        Some(kmip::types::CryptographicAlgorithm::Aes)
    );
    assert_eq!(k.key_block.cryptographic_length, Some(256));
    key_bytes(&k.key_block.key_value)
}

fn key_bytes(kv: &Option<KeyValue>) -> Vec<u8> {
    match kv {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => b.clone(),
        other => panic!("expected key bytes, got {other:?}"),
    }
}

fn name_values(a: &Attributes) -> Vec<String> {
    a.names().into_iter().map(|n| n.value).collect()
}

fn links(a: &Attributes) -> Vec<(LinkType, String)> {
    a.all(Tag::LINK)
        .map(|l| {
            let kind = match l.child(Tag::LINK_TYPE).map(|t| &t.value) {
                Some(Value::Enumeration(x)) => LinkType::from_value(*x),
                other => panic!("Link without a Link Type: {other:?}"),
            };
            let target = match l.child(Tag::LINKED_OBJECT_IDENTIFIER).map(|t| &t.value) {
                Some(Value::TextString(s)) => s.clone(),
                other => panic!("Link without a target: {other:?}"),
            };
            (kind, target)
        })
        .collect()
}

#[test]
fn keys_that_may_not_leave_are_never_returned_in_clear() {
    let d = Daemon::start("export");
    let mut c = d.connect("app");
    let v = V2_1;
    for (flag, reason) in [
        ("Extractable", ResultReason::NotExtractable),
        ("Sensitive", ResultReason::Sensitive),
    ] {
        let value = if flag == "Extractable" {
            "false"
        } else {
            "true"
        };
        let a = [
            name_attr(v, &format!("{flag}-key")),
            attr(v, "CryptographicAlgorithm", "Enumeration", "AES"),
            attr(v, "CryptographicLength", "Integer", "256"),
            attr(v, "CryptographicUsageMask", "Integer", "Encrypt Decrypt"),
            attr(v, flag, "Boolean", value),
        ]
        .concat();
        let id = c
            .send(
                v,
                &item(
                    "Create",
                    &format!(
                        "{}{}",
                        enumeration("ObjectType", "SymmetricKey"),
                        attrs(v, &a)
                    ),
                ),
            )
            .uid(0);
        assert_eq!(c.send(v, &get(&id)).failed(0), reason, "{flag}");
        assert_eq!(
            c.send(v, &get_format(&id, "TransparentSymmetricKey"))
                .failed(0),
            reason,
            "{flag}"
        );
        // Its metadata is still readable.
        let a = c.get_attributes(v, &id, &[flag]);
        assert_eq!(
            a.get(Tag::from_name(flag).unwrap()).map(|t| &t.value),
            Some(&Value::Boolean(flag == "Sensitive"))
        );
        // KMIP 1.4 has the same reasons; older versions have no such reasons and
        // get Permission Denied.
        assert_eq!(c.send(V1_4, &get(&id)).failed(0), reason, "{flag} at 1.4");
        let r = c.send(V1_2, &get(&id));
        assert_eq!(r.failed(0), ResultReason::PermissionDenied, "{flag} at 1.2");
        assert_gated(&r.raw, V1_2);
    }
}

/// What real 1.x clients send (shared/kmip/CLIENTS.md): MySQL's attribute index 0,
/// Storage Status Mask as an Integer and Maximum Response Size 280000; Synology's
/// Register with Operation Policy Name then Modify Attribute of the Name; VAST's
/// Add Attribute of Name/Object Group then Re-key carrying both.
#[test]
fn quirks_of_real_1x_clients() {
    let d = Daemon::start("quirks");
    let mut c = d.connect("app");

    // MySQL keyring (1.1).
    let v = ProtocolVersion::V1_1;
    let indexed = |n: &str, ty: &str, value: &str| {
        format!(
            "<Attribute>{}<AttributeIndex type=\"Integer\" value=\"0\"/><AttributeValue type=\"{ty}\" value=\"{value}\"/></Attribute>",
            text("AttributeName", n)
        )
    };
    let a = [
        indexed("Cryptographic Algorithm", "Enumeration", "AES"),
        indexed("Cryptographic Length", "Integer", "256"),
        indexed("Cryptographic Usage Mask", "Integer", "Encrypt Decrypt"),
        name_attr(v, "mysql-key"),
    ]
    .concat();
    let create = item(
        "Create",
        &format!(
            "{}{}",
            enumeration("ObjectType", "SymmetricKey"),
            attrs(v, &a)
        ),
    );
    let big = "<MaximumResponseSize type=\"Integer\" value=\"280000\"/>";
    let id = c.send_with(v, big, &create).uid(0);
    c.send_with(v, big, &activate(&id)).uid(0);
    let locate = format!(
        "<StorageStatusMask type=\"Integer\" value=\"1\"/>{}",
        name_attr(v, "mysql-key")
    );
    assert_eq!(
        c.send_with(v, big, &item("Locate", &locate)).located(0),
        vec![id.clone()]
    );
    assert_eq!(raw_len(c.send_with(v, big, &get(&id)).object(0)), 32);

    // Synology DSM (1.2).
    let v = V1_2;
    let secret = bytes(3, 32);
    let a = [
        name_attr(v, "dsm-tmp"),
        attr(v, "OperationPolicyName", "TextString", "default"),
    ]
    .concat();
    let reg = format!(
        "{}{}<SecretData>{}<KeyBlock>{}<KeyValue><KeyMaterial type=\"ByteString\" value=\"{}\"/></KeyValue></KeyBlock></SecretData>",
        enumeration("ObjectType", "SecretData"),
        attrs(v, &a),
        enumeration("SecretDataType", "Password"),
        enumeration("KeyFormatType", "Opaque"),
        hex(&secret)
    );
    let sid = c.send(v, &item("Register", &reg)).uid(0);
    c.send(
        v,
        &item(
            "ModifyAttribute",
            &format!("{}{}", uid(&sid), name_attr(v, "dsm-volume1")),
        ),
    )
    .uid(0);
    assert_eq!(c.locate_name(v, "dsm-volume1"), vec![sid.clone()]);
    let a = c.get_attributes(v, &sid, &["OperationPolicyName", "Name"]);
    assert_eq!(
        a.get(Tag::OPERATION_POLICY_NAME).map(|t| &t.value),
        Some(&Value::TextString("default".into()))
    );
    assert_eq!(name_values(&a), vec!["dsm-volume1".to_owned()]);

    // VAST Data (1.4).
    let v = V1_4;
    let id = c.send(v, &create_aes_unnamed(v)).uid(0);
    for a in [
        name_attr(v, "vast-key"),
        attr(v, "ObjectGroup", "TextString", "vast-cluster"),
    ] {
        c.send(v, &item("AddAttribute", &format!("{}{a}", uid(&id))))
            .uid(0);
    }
    c.send(v, &activate(&id)).uid(0);
    assert_eq!(c.locate_name(v, "vast-key"), vec![id.clone()]);
    let new_id = c.send(v, &by_uid("ReKey", Some(&id))).uid(0);
    let a = c.get_attributes(v, &new_id, &["Name", "ObjectGroup", "State"]);
    assert_eq!(name_values(&a), vec!["vast-key".to_owned()]);
    assert_eq!(
        a.get(Tag::OBJECT_GROUP).map(|t| &t.value),
        Some(&Value::TextString("vast-cluster".into()))
    );
    assert_eq!(
        a.state(),
        Some(State::Active),
        "the replacement of an active key is active"
    );
    let by_group = item(
        "Locate",
        &attr(v, "ObjectGroup", "TextString", "vast-cluster"),
    );
    let mut found = c.send(v, &by_group).located(0);
    found.sort();
    let mut want = vec![id, new_id];
    want.sort();
    assert_eq!(found, want);
}

// ---------------------------------------------------------------------------
// 2. Version gating

/// Checks that nothing in `raw` is foreign to version `v`: every tag is defined in
/// `v`, every 1.x Attribute Name names an attribute `v` defines (or a custom one),
/// every enumeration value (also inside a 1.x Attribute Value) exists in `v`.
fn assert_gated(raw: &Ttlv, v: ProtocolVersion) {
    let mut all = Vec::new();
    walk(raw, &mut all);
    for t in &all {
        assert!(
            t.tag.defined_in(v),
            "tag {:?} ({:?}) is not defined in {v}",
            t.tag,
            t.tag.name()
        );
        if let Value::Enumeration(x) = t.value {
            if let Some(table) = kmip::types::enum_table(t.tag) {
                assert!(
                    table.defined_in(x, v) || table.by_value(x).is_none(),
                    "{:?} value {x:#x} not in {v}",
                    t.tag.name()
                );
            }
        }
    }
    for attr in all.iter().filter(|t| t.tag == Tag::ATTRIBUTE) {
        let Some(Value::TextString(n)) = attr.child(Tag::ATTRIBUTE_NAME).map(|t| &t.value) else {
            continue;
        };
        for forbidden in [
            "Fresh",
            "Original Creation Date",
            "Sensitive",
            "Extractable",
        ] {
            if v < forbidden_since(forbidden) {
                assert_ne!(n, forbidden, "{forbidden} sent to a {v} client");
            }
        }
        match Tag::from_spec_name(n) {
            Some(tag) => {
                assert!(tag.defined_in(v), "attribute {n} is not defined in {v}");
                if let (Some(table), Some(Value::Enumeration(x))) = (
                    kmip::types::enum_table(tag),
                    attr.child(Tag::ATTRIBUTE_VALUE).map(|t| &t.value),
                ) {
                    assert!(table.defined_in(*x, v), "{n} value {x:#x} not in {v}");
                }
            }
            None => assert!(
                n.starts_with("x-") || n.starts_with("y-"),
                "unknown attribute name {n:?} sent"
            ),
        }
    }
}

fn forbidden_since(name: &str) -> ProtocolVersion {
    match name {
        "Fresh" => ProtocolVersion::V1_1,
        "Original Creation Date" => ProtocolVersion::V1_2,
        _ => ProtocolVersion::V1_4,
    }
}

#[test]
fn responses_are_gated_to_the_request_version() {
    let d = Daemon::start("gating");
    let mut c = d.connect("app");
    // An object made at 2.1 carries every attribute the server sets (Fresh,
    // Original Creation Date, Sensitive, Extractable, ...).
    let id = c.create_aes(V2_1, "gating-key");
    let all21 = c.get_attributes(V2_1, &id, &[]);
    for tag in [
        Tag::FRESH,
        Tag::ORIGINAL_CREATION_DATE,
        Tag::SENSITIVE,
        Tag::EXTRACTABLE,
    ] {
        assert!(
            all21.get(tag).is_some(),
            "{:?} expected in the 2.1 answer",
            tag.name()
        );
    }

    for v in ProtocolVersion::SUPPORTED {
        // All attributes, the key itself, and a Locate.
        for items in [
            get_attributes(v, &id, &[]),
            get(&id),
            locate_name(v, "gating-key"),
            by_uid("GetAttributeList", Some(&id)),
        ] {
            let r = c.send(v, &items);
            assert_eq!(r.msg.header.protocol_version, v, "answered in {v}");
            assert_eq!(
                r.item(0).result_status,
                ResultStatus::Success,
                "{v}: {:?}",
                r.item(0)
            );
            assert_gated(&r.raw, v);
        }
    }

    // Specifically, a 1.0 client gets none of the later attributes...
    let a = c.get_attributes(V1_0, &id, &[]);
    for tag in [
        Tag::FRESH,
        Tag::ORIGINAL_CREATION_DATE,
        Tag::SENSITIVE,
        Tag::EXTRACTABLE,
    ] {
        assert!(
            a.get(tag).is_none(),
            "{:?} sent to a 1.0 client",
            tag.name()
        );
    }
    // ...but does get the 1.0 ones.
    assert_eq!(a.state(), Some(State::PreActive));
    assert_eq!(a.cryptographic_length(), Some(256));
    assert!(a.get(Tag::LAST_CHANGE_DATE).is_some());
    // A 1.4 client gets the 1.4 ones.
    let a = c.get_attributes(V1_4, &id, &[]);
    assert!(a.get(Tag::SENSITIVE).is_some() && a.get(Tag::FRESH).is_some());

    // A failed item in 1.x carries a 1.x Result Reason (never dropped by the gate).
    for v in [V1_0, V1_4] {
        let r = c.send(v, &get("no-such-object"));
        assert_eq!(r.failed(0), ResultReason::ItemNotFound);
        assert_gated(&r.raw, v);
    }
}

// ---------------------------------------------------------------------------
// 3. Batches

#[test]
fn batch_id_placeholder() {
    let d = Daemon::start("placeholder");
    let mut c = d.connect("app");
    for v in [V1_2, V2_1] {
        let header = "<BatchOrderOption type=\"Boolean\" value=\"true\"/>";
        let items = [
            create_aes(v, &format!("placeholder-{v}"), 128),
            by_uid("Activate", None),
            get_attributes_placeholder(v, "State"),
        ]
        .concat();
        let r = c.send_with(v, header, &items);
        assert_eq!(r.len(), 3);
        let id = r.uid(0);
        assert_eq!(r.uid(1), id, "Activate used the ID placeholder");
        assert_eq!(r.uid(2), id);
        assert_eq!(r.attributes(2).state(), Some(State::Active));
        assert_eq!(
            c.get_attributes(v, &id, &["State"]).state(),
            Some(State::Active)
        );
    }
}

fn get_attributes_placeholder(v: ProtocolVersion, attr: &str) -> String {
    let r = if v.is_v1() {
        text("AttributeName", spec_name(attr))
    } else {
        enumeration("AttributeReference", attr)
    };
    item("GetAttributes", &r)
}

#[test]
fn batch_error_continuation() {
    let d = Daemon::start("continuation");
    let mut c = d.connect("app");
    let v = V1_4;
    let option = |o: &str| enumeration("BatchErrorContinuationOption", o);

    // Continue: the first item fails, the second is still executed.
    let r = c.send_with(
        v,
        &option("Continue"),
        &[get("missing-object"), create_aes(v, "continue-key", 256)].concat(),
    );
    assert_eq!(r.len(), 2);
    assert_eq!(r.failed(0), ResultReason::ItemNotFound);
    let id = r.uid(1);
    assert_eq!(c.locate_name(v, "continue-key"), vec![id]);

    // Stop: the second item is not executed.
    let r = c.send_with(
        v,
        &option("Stop"),
        &[get("missing-object"), create_aes(v, "stop-key", 256)].concat(),
    );
    assert_eq!(r.failed(0), ResultReason::ItemNotFound);
    assert!(
        r.msg
            .batch_items
            .iter()
            .skip(1)
            .all(|i| i.result_status != ResultStatus::Success),
        "nothing after the failure succeeded: {:?}",
        r.msg.batch_items
    );
    assert!(
        c.locate_name(v, "stop-key").is_empty(),
        "the second item was not executed"
    );

    // Undo: the first item's effect is rolled back and reported as undone.
    let r = c.send_with(
        v,
        &option("Undo"),
        &[create_aes(v, "undo-key", 256), get("missing-object")].concat(),
    );
    assert_eq!(r.len(), 2);
    assert_eq!(r.item(0).result_status, ResultStatus::OperationUndone);
    assert_eq!(r.failed(1), ResultReason::ItemNotFound);
    assert!(
        c.locate_name(v, "undo-key").is_empty(),
        "the undone Create left no object"
    );

    // Undo also rolls back a change to an existing object.
    let kept = c.create_aes(v, "undo-kept");
    let r = c.send_with(
        v,
        &option("Undo"),
        &[activate(&kept), get("missing-object")].concat(),
    );
    assert_eq!(r.item(0).result_status, ResultStatus::OperationUndone);
    // (The client decodes only successful payloads; an undone one stays raw.)
    let Some(ResponsePayload::Raw(p)) = &r.item(0).payload else {
        panic!("an undone item keeps its payload: {:?}", r.item(0))
    };
    assert_eq!(
        p.child(Tag::UNIQUE_IDENTIFIER).map(|t| &t.value),
        Some(&Value::TextString(kept.clone()))
    );
    assert_eq!(
        c.get_attributes(v, &kept, &["State"]).state(),
        Some(State::PreActive)
    );

    // Undo after a Destroy: the key is still there and still usable (its material
    // is erased only once a batch commits).
    let key = raw_symmetric_key(c.send(v, &get(&kept)).object(0));
    let r = c.send_with(
        v,
        &option("Undo"),
        &[destroy(&kept), get("missing-object")].concat(),
    );
    assert_eq!(r.item(0).result_status, ResultStatus::OperationUndone);
    assert_eq!(
        c.get_attributes(v, &kept, &["State"]).state(),
        Some(State::PreActive)
    );
    assert_eq!(raw_symmetric_key(c.send(v, &get(&kept)).object(0)), key);
}

#[test]
fn batch_unknown_operation() {
    let d = Daemon::start("unknown-op");
    let mut c = d.connect("app");
    let unknown = "<BatchItem><Operation type=\"Enumeration\" value=\"0x00000099\"/><RequestPayload/></BatchItem>";
    for v in [V1_0, V1_4, V2_1] {
        // Unknown operation second: the first item succeeds, the unknown one is
        // Operation Not Supported.
        let r = c.send(v, &[create_aes_unnamed(v), unknown.to_owned()].concat());
        assert_eq!(r.len(), 2, "{v}");
        let id = r.uid(0);
        assert_eq!(r.failed(1), ResultReason::OperationNotSupported, "{v}");
        assert_eq!(
            c.get_attributes(v, &id, &["State"]).state(),
            Some(State::PreActive)
        );
        // Unknown operation first, with Continue: the other item still runs.
        let r = c.send_with(
            v,
            &enumeration("BatchErrorContinuationOption", "Continue"),
            &[unknown.to_owned(), query()].concat(),
        );
        assert_eq!(r.failed(0), ResultReason::OperationNotSupported, "{v}");
        assert!(matches!(r.ok(1), ResponsePayload::Query(_)));
    }
    // The admin role too (a role cannot grant what the server does not implement).
    let mut admin = d.connect("admin");
    assert_eq!(
        admin.send(V2_1, unknown).failed(0),
        ResultReason::OperationNotSupported
    );
}

#[test]
fn maximum_response_size() {
    let d = Daemon::start("max-response");
    let mut c = d.connect("app");
    let id = c.create_aes(V1_4, "big-answer");
    for v in [V1_0, V1_4, V2_1] {
        let r = c.send_with(
            v,
            "<MaximumResponseSize type=\"Integer\" value=\"64\"/>",
            &get(&id),
        );
        assert_eq!(r.failed(0), ResultReason::ResponseTooLarge, "{v}");
        let r = c.send_with(
            v,
            "<MaximumResponseSize type=\"Integer\" value=\"64\"/>",
            &get_attributes(v, &id, &[]),
        );
        assert_eq!(r.failed(0), ResultReason::ResponseTooLarge, "{v}");
        // A size that fits is honoured too.
        let r = c.send_with(
            v,
            "<MaximumResponseSize type=\"Integer\" value=\"280000\"/>",
            &get(&id),
        );
        assert_eq!(raw_len(r.object(0)), 32);

        // An answer too large for the client is decided before anything is made
        // durable: the Create it reports as failed left no object behind, and the
        // Destroy left the key in place.
        let name = format!("too-large-{v}");
        let r = c.send_with(
            v,
            "<MaximumResponseSize type=\"Integer\" value=\"64\"/>",
            &[create_aes(v, &name, 256), get_attributes(v, &id, &[])].concat(),
        );
        assert_eq!(r.failed(0), ResultReason::ResponseTooLarge, "{v}");
        assert!(c.locate_name(v, &name).is_empty(), "{v}: no object left");
        let r = c.send_with(
            v,
            "<MaximumResponseSize type=\"Integer\" value=\"16\"/>",
            &destroy(&id),
        );
        assert_eq!(r.failed(0), ResultReason::ResponseTooLarge, "{v}");
        assert_eq!(
            c.get_attributes(v, &id, &["State"]).state(),
            Some(State::PreActive),
            "{v}"
        );
    }
}

fn raw_len(o: &ManagedObject) -> usize {
    raw_symmetric_key(o).len()
}

// ---------------------------------------------------------------------------
// 4. Vaults and roles

#[test]
fn vault_isolation_and_roles() {
    let d = Prepared::new("vaults")
        .vault("other")
        .client("other-app", "other", "app")
        .client("ro", "default", "read-only")
        .client("tde1", "default", "tde")
        .client("crypto1", "default", "crypto")
        .start();
    let v = V2_1;
    let mut app = d.connect("app");
    let mut other = d.connect("other-app");

    // An object of `default`...
    let id = app.create_aes(v, "isolated-key");
    app.send(v, &activate(&id)).uid(0);
    // ...does not exist for `other`: not found, exactly like a made-up UID.
    assert_eq!(other.send(v, &get("made-up-uid")).failed(0), not_found(v));
    for items in [
        get(&id),
        get_attributes(v, &id, &[]),
        activate(&id),
        revoke(&id, "CessationOfOperation"),
        destroy(&id),
        by_uid("ReKey", Some(&id)),
        by_uid("GetAttributeList", Some(&id)),
    ] {
        let r = other.send(v, &items);
        assert_eq!(r.failed(0), not_found(v), "{:?}", r.item(0).operation);
    }
    for v1 in [V1_0, V1_4] {
        assert_eq!(other.send(v1, &get(&id)).failed(0), not_found(v1));
    }
    assert!(!other.send(v, &locate_all(v)).located(0).contains(&id));
    assert!(other.locate_name(v, "isolated-key").is_empty());
    // Same name in both vaults: each sees its own.
    let theirs = other.create_aes(v, "isolated-key");
    assert_eq!(other.locate_name(v, "isolated-key"), vec![theirs.clone()]);
    assert_eq!(app.locate_name(v, "isolated-key"), vec![id.clone()]);
    assert_eq!(app.send(v, &get(&theirs)).failed(0), not_found(v));
    // Nothing was changed by `other`'s attempts.
    assert_eq!(
        app.get_attributes(v, &id, &["State"]).state(),
        Some(State::Active)
    );

    // read-only: Get yes, Create no.
    let mut ro = d.connect("ro");
    assert_eq!(raw_len(ro.send(v, &get(&id)).object(0)), 32);
    assert_eq!(ro.locate_name(v, "isolated-key"), vec![id.clone()]);
    assert_eq!(
        ro.send(v, &create_aes(v, "ro-key", 256)).failed(0),
        ResultReason::PermissionDenied
    );
    assert_eq!(
        ro.send(v, &revoke(&id, "CessationOfOperation")).failed(0),
        ResultReason::PermissionDenied
    );
    assert!(ro.locate_name(v, "ro-key").is_empty());

    // tde: Create, Get, Activate yes; Revoke and Destroy no.
    let mut tde = d.connect("tde1");
    let t = tde.create_aes(v, "tde-key");
    assert_eq!(raw_len(tde.send(v, &get(&t)).object(0)), 32);
    assert_eq!(tde.send(v, &activate(&t)).uid(0), t);
    assert_eq!(
        tde.send(v, &revoke(&t, "CessationOfOperation")).failed(0),
        ResultReason::PermissionDenied
    );
    assert_eq!(
        tde.send(v, &destroy(&t)).failed(0),
        ResultReason::PermissionDenied
    );
    assert_eq!(
        app.get_attributes(v, &t, &["State"]).state(),
        Some(State::Active)
    );

    // crypto: may see attributes, may not Get key material.
    let mut crypto = d.connect("crypto1");
    assert_eq!(
        crypto.send(v, &get(&id)).failed(0),
        ResultReason::PermissionDenied
    );
    assert_eq!(
        crypto.get_attributes(v, &id, &["State"]).state(),
        Some(State::Active)
    );
    assert_eq!(
        crypto.send(v, &create_aes(v, "crypto-key", 256)).failed(0),
        ResultReason::PermissionDenied
    );

    // app and admin: everything in their vault.
    for who in ["app", "admin"] {
        let mut c = d.connect(who);
        let k = c.create_aes(v, &format!("{who}-key"));
        assert_eq!(raw_len(c.send(v, &get(&k)).object(0)), 32);
        c.send(v, &activate(&k)).uid(0);
        c.send(v, &revoke(&k, "CessationOfOperation")).uid(0);
        c.send(v, &destroy(&k)).uid(0);
        assert_eq!(
            c.get_attributes(v, &k, &["State"]).state(),
            Some(State::Destroyed)
        );
    }

    // A certificate from the right CA for a name not in the configuration: every
    // item is refused.
    let ca = keygate::pki::Ca::load(&d.path("ca.pem"), &d.path("ca-key.pem")).expect("load CA");
    let nobody = ca.issue_client("nobody").expect("issue");
    let mut n = Kmip::connect(&d.config_with(
        PemSource::bytes(nobody.cert_pem.as_bytes().to_vec()),
        PemSource::bytes(nobody.key_pem.as_bytes().to_vec()),
    ))
    .expect("a certificate of the right CA completes the handshake");
    let r = n.send(v, &[query(), locate_all(v), get(&id)].concat());
    assert_eq!(r.len(), 3);
    for i in 0..3 {
        assert_eq!(r.failed(i), ResultReason::PermissionDenied);
    }
    assert_eq!(
        n.send(V1_0, &get(&id)).failed(0),
        ResultReason::PermissionDenied
    );

    // A client certificate from another CA, even with a configured name: refused.
    let stranger_ca = keygate::pki::Ca::generate().expect("CA");
    let stranger = stranger_ca.issue_client("app").expect("issue");
    let cfg = d.config_with(
        PemSource::bytes(stranger.cert_pem.as_bytes().to_vec()),
        PemSource::bytes(stranger.key_pem.as_bytes().to_vec()),
    );
    // With TLS 1.3 the client finishes its side of the handshake before the server
    // has checked the certificate, so the refusal may show on the first exchange.
    match Kmip::connect(&cfg) {
        Err(_) => {}
        Ok(mut c) => assert!(
            c.try_send(v, "", &query()).is_err(),
            "a foreign CA's client was served"
        ),
    }
    // Everyone else is unaffected.
    assert_eq!(app.locate_name(v, "isolated-key"), vec![id]);
}

#[test]
fn identities_added_while_running_are_picked_up() {
    let d = Prepared::new("reload")
        .vault("other")
        .client("other-app", "other", "app")
        .start();
    let v = V2_1;
    let mut app = d.connect("app");
    let id = app.create_aes(v, "reload-key");

    // Added after start: usable once the daemon notices the config changed
    // (mtime poll every 2 s), with the vault and role given.
    setup::client_add(&d.config, "late", "other", "read-only").expect("client add");
    let mut late = d.connect("late");
    let mut last = None;
    let served = wait_until(Duration::from_secs(6), || {
        let r = late.send(v, &locate_all(v));
        last = r.item(0).result_reason;
        r.item(0).result_status == ResultStatus::Success
    });
    assert!(
        served,
        "the new identity was not picked up within 6 s (last: {last:?})"
    );
    // In its own vault, with its own role.
    assert_eq!(late.send(v, &get(&id)).failed(0), not_found(v));
    assert_eq!(
        late.send(v, &create_aes(v, "late-key", 256)).failed(0),
        ResultReason::PermissionDenied
    );
    let mut other = d.connect("other-app");
    let o = other.create_aes(v, "other-key");
    assert_eq!(late.send(v, &locate_all(v)).located(0), vec![o.clone()]);
    assert_eq!(raw_len(late.send(v, &get(&o)).object(0)), 32);

    // A vault added while running, with an identity in it.
    setup::vault_add(&d.config, "third", &keygate::setup::VaultOptions::default())
        .expect("vault add");
    setup::client_add(&d.config, "third-app", "third", "app").expect("client add");
    let mut third = d.connect("third-app");
    let served = wait_until(Duration::from_secs(6), || {
        third.send(v, &locate_all(v)).item(0).result_status == ResultStatus::Success
    });
    assert!(served, "the new vault was not picked up within 6 s");
    assert!(
        third.send(v, &locate_all(v)).located(0).is_empty(),
        "a new vault is empty"
    );
    assert_eq!(third.send(v, &get(&o)).failed(0), not_found(v));
}

// ---------------------------------------------------------------------------
// 7. Graceful shutdown and durability

#[test]
fn graceful_shutdown_answers_in_flight_requests_and_data_survives_restart() {
    let mut d = Daemon::start("shutdown");
    let v = V1_4;
    let mut c = d.connect("app");
    let kept = c.create_aes(v, "durable-key");
    let kept_key = raw_symmetric_key(c.send(v, &get(&kept)).object(0));
    let secret = bytes(42, 96);
    let sid = c
        .send(v, &register_secret(v, "durable-secret", &secret))
        .uid(0);
    c.send(v, &activate(&kept)).uid(0);

    // One full request and half of a second, in one write: once the first answer
    // is back, the server holds the start of the second frame — a request in flight.
    let first = encode(&parse(&req(v, "", &query())));
    let second = encode(&parse(&req(v, "", &create_aes(v, "in-flight-key", 256))));
    let (head, tail) = second.split_at(second.len() / 2);
    let mut raw = d.raw("app");
    raw.write(&[first.as_slice(), head].concat())
        .expect("write");
    let RawRead::Frame(_) = raw.read_frame(WAIT) else {
        panic!("no answer to the first request")
    };

    let addr = d.addr;
    let stopping = d.stop_in_background();
    // The listener closes first: new connections are refused...
    let closed = wait_until(WAIT, || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
    });
    assert!(closed, "the listener kept accepting after shutdown began");
    // ...while the request in flight is completed and answered.
    raw.write(tail).expect("write the rest");
    let RawRead::Frame(answer) = raw.read_frame(WAIT) else {
        panic!("the in-flight request got no answer")
    };
    let r =
        kmip::messages::ResponseMessage::decode(&answer, &kmip::Limits::DEFAULT).expect("response");
    assert_eq!(r.batch_items.len(), 1);
    assert_eq!(
        r.batch_items[0].result_status,
        ResultStatus::Success,
        "{:?}",
        r.batch_items[0]
    );
    d.join_stop(stopping);

    // Restarted on the same data directory: everything acknowledged is there.
    d.restart();
    let mut c = d.connect("app");
    assert_eq!(
        raw_symmetric_key(c.send(v, &get(&kept)).object(0)),
        kept_key
    );
    assert_eq!(
        c.get_attributes(v, &kept, &["State"]).state(),
        Some(State::Active)
    );
    let r = c.send(v, &get(&sid));
    let ManagedObject::SecretData(s) = r.object(0) else {
        panic!("not Secret Data")
    };
    assert_eq!(key_bytes(&s.key_block.key_value), secret);
    assert_eq!(
        c.locate_name(v, "in-flight-key").len(),
        1,
        "the in-flight Create was committed"
    );
}

// ---------------------------------------------------------------------------
// 6. Attributes the server sets, key formats, Log and Query

/// SHA-256.
fn sha256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(b).to_vec()
}

/// The one Digest of `a`: (Hashing Algorithm, Digest Value, Key Format Type).
fn digest(a: &Attributes) -> (u32, Vec<u8>, Option<u32>) {
    let d: Vec<&Ttlv> = a.all(Tag::DIGEST).collect();
    assert_eq!(d.len(), 1, "one Digest: {a:?}");
    let field = |tag| d[0].child(tag).map(|t| t.value.clone());
    let (Some(Value::Enumeration(alg)), Some(Value::ByteString(value))) =
        (field(Tag::HASHING_ALGORITHM), field(Tag::DIGEST_VALUE))
    else {
        panic!("malformed Digest {:?}", d[0])
    };
    let format = match field(Tag::KEY_FORMAT_TYPE) {
        Some(Value::Enumeration(f)) => Some(f),
        None => None,
        other => panic!("Key Format Type {other:?}"),
    };
    (alg, value, format)
}

fn flag_of(a: &Attributes, tag: Tag) -> Option<bool> {
    match a.get(tag).map(|t| &t.value) {
        Some(Value::Boolean(b)) => Some(*b),
        None => None,
        other => panic!("{tag:?} is not a Boolean: {other:?}"),
    }
}

/// Create: Digest of the generated key (1.4 §3.17), Random Number Generator
/// (§3.44), Always Sensitive / Never Extractable (§3.49, §3.51), and in 2.x Short
/// Unique Identifier, Key Format Type and Protection Storage Mask, which a 1.x
/// client never sees.
#[test]
fn server_set_attributes_of_a_created_key() {
    let d = Daemon::start("server-set");
    let mut c = d.connect("app");
    for v in [V1_0, V1_4, V2_1] {
        let id = c.create_aes(v, &format!("server-set-{v}"));
        let key = raw_symmetric_key(c.send(v, &get(&id)).object(0));
        let r = c.send(v, &get_attributes(v, &id, &[]));
        assert_gated(&r.raw, v);
        let a = r.attributes(0);
        let (alg, value, format) = digest(a);
        assert_eq!(alg, kmip::types::HashingAlgorithm::Sha256.value(), "{v}");
        assert_eq!(value, sha256(&key), "{v}: the digest of the key material");
        assert_eq!(format, Some(KeyFormatType::Raw.value()), "{v}");
        if v >= V1_4 {
            let rng = a.get(Tag::RANDOM_NUMBER_GENERATOR).expect("RNG set");
            assert_eq!(
                rng.child(Tag::RNG_ALGORITHM).map(|t| &t.value),
                Some(&Value::Enumeration(
                    kmip::types::RNGAlgorithm::Unspecified.value()
                )),
                "{v}: the OS CSPRNG is none of the named RNG algorithms"
            );
            assert_eq!(flag_of(a, Tag::ALWAYS_SENSITIVE), Some(false), "{v}");
            assert_eq!(flag_of(a, Tag::NEVER_EXTRACTABLE), Some(false), "{v}");
        }
        if v >= V1_2 {
            assert_eq!(flag_of(a, Tag::FRESH), Some(false), "{v}: served by Get");
        }
        let v2_only = [
            Tag::SHORT_UNIQUE_IDENTIFIER,
            Tag::KEY_FORMAT_TYPE,
            Tag::PROTECTION_STORAGE_MASK,
        ];
        if v.is_v1() {
            for t in v2_only {
                assert!(a.get(t).is_none(), "{v}: {t:?} is not a 1.x attribute");
            }
            let names = c.send(v, &by_uid("GetAttributeList", Some(&id)));
            assert_gated(&names.raw, v);
            let mut listed = Vec::new();
            walk(&names.raw, &mut listed);
            assert!(
                !listed
                    .iter()
                    .any(|t| t.value == Value::TextString("Key Format Type".into())),
                "{v}: Key Format Type is listed"
            );
        } else {
            assert_eq!(
                a.get(Tag::SHORT_UNIQUE_IDENTIFIER).map(|t| &t.value),
                Some(&Value::ByteString(sha256(id.as_bytes())))
            );
            assert_eq!(
                a.get(Tag::KEY_FORMAT_TYPE).map(|t| &t.value),
                Some(&Value::Enumeration(KeyFormatType::Raw.value()))
            );
            assert_eq!(
                a.get(Tag::PROTECTION_STORAGE_MASK).map(|t| &t.value),
                Some(&Value::Integer(1)),
                "Software"
            );
        }
        // None of them can be set by a client.
        for (name, ty, value) in [
            ("Digest", "", ""),
            ("AlwaysSensitive", "Boolean", "true"),
            ("NeverExtractable", "Boolean", "true"),
            ("Fresh", "Boolean", "true"),
        ] {
            if v == V1_0 && name != "Digest" {
                continue;
            }
            let new = if ty.is_empty() {
                if v.is_v1() {
                    format!(
                        "<Attribute>{}<AttributeValue>{}</AttributeValue></Attribute>",
                        text("AttributeName", "Digest"),
                        enumeration("HashingAlgorithm", "SHA_256")
                    )
                } else {
                    format!(
                        "<NewAttribute><Digest>{}</Digest></NewAttribute>",
                        enumeration("HashingAlgorithm", "SHA_256")
                    )
                }
            } else if v.is_v1() {
                attr(v, name, ty, value)
            } else {
                format!("<NewAttribute>{}</NewAttribute>", attr(v, name, ty, value))
            };
            let r = c.send(v, &item("ModifyAttribute", &format!("{}{new}", uid(&id))));
            let want = if v.is_v1() {
                ResultReason::PermissionDenied
            } else {
                ResultReason::AttributeReadOnly
            };
            assert_eq!(r.failed(0), want, "{v}: Modify {name}");
        }
    }
}

/// 3DES (1.4 §2.1.3): 112/128-bit keys are 16 bytes, 168/192-bit keys 24, with odd
/// parity in every byte; the Cryptographic Length stays as asked.
#[test]
fn triple_des_keys() {
    let d = Daemon::start("des3");
    let mut c = d.connect("app");
    for v in [V1_4, V2_1] {
        for (bits, bytes) in [(168, 24), (192, 24), (112, 16), (128, 16)] {
            let a = [
                attr(v, "CryptographicAlgorithm", "Enumeration", "DES3"),
                attr(v, "CryptographicLength", "Integer", &bits.to_string()),
                attr(v, "CryptographicUsageMask", "Integer", "Encrypt Decrypt"),
            ]
            .concat();
            let create = item(
                "Create",
                &format!(
                    "{}{}",
                    enumeration("ObjectType", "SymmetricKey"),
                    attrs(v, &a)
                ),
            );
            let id = c.send(v, &create).uid(0);
            let ManagedObject::SymmetricKey(k) = c.send(v, &get(&id)).object(0).clone() else {
                panic!("not a symmetric key")
            };
            assert_eq!(
                k.key_block.cryptographic_algorithm,
                Some(kmip::types::CryptographicAlgorithm::Des3)
            );
            assert_eq!(k.key_block.cryptographic_length, Some(bits));
            let key = key_bytes(&k.key_block.key_value);
            assert_eq!(key.len(), bytes, "{v}: {bits} bits");
            assert!(
                key.iter().all(|b| b.count_ones() % 2 == 1),
                "{v}: odd parity in {key:02x?}"
            );
            let parts: Vec<&[u8]> = key.chunks(8).collect();
            assert!(parts.windows(2).all(|w| w[0] != w[1]), "distinct DES keys");
            let (_, value, _) = digest(&c.get_attributes(v, &id, &["Digest"]));
            assert_eq!(value, sha256(&key));
        }
        // Any other length is refused.
        let a = [
            attr(v, "CryptographicAlgorithm", "Enumeration", "DES3"),
            attr(v, "CryptographicLength", "Integer", "64"),
        ]
        .concat();
        let r = c.send(
            v,
            &item(
                "Create",
                &format!(
                    "{}{}",
                    enumeration("ObjectType", "SymmetricKey"),
                    attrs(v, &a)
                ),
            ),
        );
        assert_eq!(r.failed(0), ResultReason::InvalidField);
    }
}

/// An RSA public key (the small exponent of the OASIS BL vectors; the modulus
/// padded to a multiple of 8 bytes as Big Integers are).
fn transparent_rsa_public(v: ProtocolVersion, name: &str, extra: &str) -> String {
    let modulus = format!("000000000000{}", "c3".repeat(130));
    let a = [
        name_attr(v, name),
        attr(v, "CryptographicUsageMask", "Integer", "Verify"),
        extra.to_owned(),
    ]
    .concat();
    item(
        "Register",
        &format!(
            "{}{}<PublicKey><KeyBlock>{}<KeyValue><KeyMaterial>\
             <Modulus type=\"BigInteger\" value=\"{modulus}\"/>\
             <PublicExponent type=\"BigInteger\" value=\"0000000000010001\"/>\
             </KeyMaterial></KeyValue>{}{}</KeyBlock></PublicKey>",
            enumeration("ObjectType", "PublicKey"),
            attrs(v, &a),
            enumeration("KeyFormatType", "TransparentRSAPublicKey"),
            enumeration("CryptographicAlgorithm", "RSA"),
            "<CryptographicLength type=\"Integer\" value=\"1040\"/>",
        ),
    )
}

fn key_material(t: &Ttlv) -> Ttlv {
    let mut all = Vec::new();
    walk(t, &mut all);
    all.into_iter()
        .find(|x| x.tag == Tag::KEY_MATERIAL)
        .cloned()
        .expect("a Key Material")
}

/// Register of a Transparent RSA key: stored as given, returned byte-identical,
/// its Digest taken over the TTLV encoding of the Key Material structure (1.4
/// §3.17); another format is refused rather than converted. Sensitive applies to a
/// public key too.
#[test]
fn register_transparent_asymmetric_keys() {
    let d = Daemon::start("transparent");
    let mut c = d.connect("app");
    for v in [V1_4, V2_1] {
        let request = transparent_rsa_public(v, &format!("rsa-{v}"), "");
        let id = c.send(v, &request).uid(0);
        let sent = key_material(&parse(&req(v, "", &request)));
        let r = c.send(v, &get(&id));
        assert!(matches!(r.object(0), ManagedObject::PublicKey(_)));
        let got = key_material(&r.raw);
        assert_eq!(got, sent, "{v}: the registered structure comes back");
        assert_eq!(binary::encode(&got), binary::encode(&sent));
        let a = c.get_attributes(
            v,
            &id,
            &["Digest", "CryptographicAlgorithm", "CryptographicLength"],
        );
        let (_, value, format) = digest(&a);
        assert_eq!(value, sha256(&binary::encode(&sent)), "{v}");
        assert_eq!(format, Some(KeyFormatType::TransparentRsaPublicKey.value()));
        assert_eq!(a.cryptographic_length(), Some(1040));
        assert_eq!(
            c.send(v, &get_format(&id, "PKCS_1")).failed(0),
            ResultReason::KeyFormatTypeNotSupported,
            "{v}"
        );
        // A public key marked Sensitive is not returned either (OASIS BL-M-12-21).
        let sensitive = transparent_rsa_public(
            v,
            &format!("rsa-sensitive-{v}"),
            &attr(v, "Sensitive", "Boolean", "true"),
        );
        let id = c.send(v, &sensitive).uid(0);
        assert_eq!(c.send(v, &get(&id)).failed(0), ResultReason::Sensitive);
        let a = c.get_attributes(v, &id, &["AlwaysSensitive"]);
        assert_eq!(flag_of(&a, Tag::ALWAYS_SENSITIVE), Some(true));
    }
}

/// Register of an X.509 certificate: the server reads the certificate for X.509
/// Certificate Identifier/Subject/Issuer (1.4 §3.10-3.12), Digital Signature
/// Algorithm and, in 2.x, Certificate Subject/Issuer CN and friends; a value that is
/// not a certificate is refused.
#[test]
fn certificate_attributes() {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let d = Daemon::start("cert-attrs");
    let mut c = d.connect("app");
    let pem = std::fs::read(d.path("clients/app/cert.pem")).expect("app certificate");
    let der = pem_to_der(&pem);
    let (_, cert) = X509Certificate::from_der(&der).expect("parse");
    let issuer_cn = cert
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|n| n.as_str().ok())
        .expect("issuer CN")
        .to_owned();
    let register = |v: ProtocolVersion, value: &[u8]| {
        item(
            "Register",
            &format!(
                "{}{}<Certificate>{}<CertificateValue type=\"ByteString\" value=\"{}\"/></Certificate>",
                enumeration("ObjectType", "Certificate"),
                attrs(v, ""),
                enumeration("CertificateType", "X_509"),
                hex(value)
            ),
        )
    };
    for v in [V1_4, V2_1] {
        let id = c.send(v, &register(v, &der)).uid(0);
        let r = c.send(v, &get_attributes(v, &id, &[]));
        assert_gated(&r.raw, v);
        let a = r.attributes(0);
        let ident = a
            .get(Tag::X_509_CERTIFICATE_IDENTIFIER)
            .expect("identifier");
        assert_eq!(
            ident
                .child(Tag::CERTIFICATE_SERIAL_NUMBER)
                .map(|t| &t.value),
            Some(&Value::ByteString(cert.raw_serial().to_vec()))
        );
        assert_eq!(
            ident
                .child(Tag::ISSUER_DISTINGUISHED_NAME)
                .map(|t| &t.value),
            Some(&Value::ByteString(cert.issuer().as_raw().to_vec()))
        );
        let subject = a.get(Tag::X_509_CERTIFICATE_SUBJECT).expect("subject");
        assert_eq!(
            subject
                .child(Tag::SUBJECT_DISTINGUISHED_NAME)
                .map(|t| &t.value),
            Some(&Value::ByteString(cert.subject().as_raw().to_vec()))
        );
        assert!(a.get(Tag::DIGITAL_SIGNATURE_ALGORITHM).is_some());
        let (_, value, format) = digest(a);
        assert_eq!(value, sha256(&der), "{v}: digest of the DER");
        assert_eq!(format, None, "no Key Format Type for a certificate");
        if v.is_v1() {
            assert!(a.get(Tag::CERTIFICATE_SUBJECT_CN).is_none());
        } else {
            assert_eq!(
                a.get(Tag::CERTIFICATE_SUBJECT_CN).map(|t| &t.value),
                Some(&Value::TextString("app".into()))
            );
            assert_eq!(
                a.get(Tag::CERTIFICATE_ISSUER_CN).map(|t| &t.value),
                Some(&Value::TextString(issuer_cn.clone()))
            );
        }
        assert_eq!(
            c.send(v, &register(v, b"not a certificate")).failed(0),
            ResultReason::InvalidField
        );
    }
}

/// Log (2.0): the message is accepted and the item audited; 1.x has no Log.
#[test]
fn log_operation() {
    let d = Daemon::start("log");
    let mut c = d.connect("app");
    let log = item("Log", &text("LogMessage", "Registered a symmetric key."));
    for v in [V2_0, V2_1] {
        let r = c.send(v, &log);
        let ResponsePayload::Raw(p) = r.ok(0) else {
            panic!("Log answers an empty payload: {:?}", r.ok(0))
        };
        assert!(p.children().is_empty());
    }
    assert_eq!(
        c.send(V1_4, &log).failed(0),
        ResultReason::OperationNotSupported
    );
    // Every identity may log, whatever its role.
    let d = Prepared::new("log-ro")
        .client("reader", "default", "read-only")
        .start();
    assert!(matches!(
        d.connect("reader").send(V2_1, &log).ok(0),
        ResponsePayload::Raw(_)
    ));
    assert_eq!(
        d.connect("reader").send(V2_1, &item("Log", "")).failed(0),
        ResultReason::InvalidField,
        "a Log Message is required"
    );
}

/// Query Operations lists what the caller can run here: implemented, defined in
/// its version, granted by its role. Each operation listed is one the server runs.
#[test]
fn query_lists_what_the_caller_can_run() {
    use kmip::types::Operation as O;
    let d = Prepared::new("query-ops")
        .client("reader", "default", "read-only")
        .start();
    let ops = |c: &mut Kmip, v: ProtocolVersion| -> Vec<O> {
        match c.send(v, &query()).ok(0) {
            ResponsePayload::Query(q) => q.operations.clone(),
            other => panic!("not a Query answer: {other:?}"),
        }
    };
    let mut admin = d.connect("admin");
    let all = ops(&mut admin, V2_1);
    for o in [
        O::Create,
        O::Register,
        O::Get,
        O::Locate,
        O::Destroy,
        O::Log,
        O::Interop,
        O::SetAttribute,
        O::Encrypt,
        O::CreateKeyPair,
        O::Export,
    ] {
        assert!(all.contains(&o), "{o:?} in {all:?}");
    }
    for o in [O::AdjustAttribute, O::DeriveKey] {
        assert!(!all.contains(&o), "{o:?} is not implemented: {all:?}");
    }
    let v14 = ops(&mut admin, V1_4);
    for o in [O::Log, O::Interop, O::SetAttribute] {
        assert!(!v14.contains(&o), "{o:?} is not a 1.4 operation");
    }
    let mut reader = d.connect("reader");
    let mut got = ops(&mut reader, V2_1);
    got.sort_by_key(|o| o.value());
    let mut want = vec![
        O::DiscoverVersions,
        O::Query,
        O::Locate,
        O::Get,
        O::GetAttributes,
        O::GetAttributeList,
        O::Log,
    ];
    want.sort_by_key(|o| o.value());
    assert_eq!(got, want);
}

/// A Name may not be added to an object when an object of the vault that is not
/// destroyed already has it (1.4 §3.2, §11.15, §11.16; OASIS BL-M-8-21).
#[test]
fn names_are_unique_in_attribute_operations() {
    let d = Daemon::start("unique-names");
    let mut c = d.connect("app");
    for (v, want) in [
        (V1_4, ResultReason::IllegalOperation),
        (V2_1, ResultReason::NonUniqueNameAttribute),
    ] {
        let name = format!("unique-{v}");
        let a = c.create_aes(v, &name);
        let b = c.send(v, &create_aes_unnamed(v)).uid(0);
        let add = |u: &str| {
            let n = name_attr(v, &name);
            let n = if v.is_v1() {
                n
            } else {
                format!("<NewAttribute>{n}</NewAttribute>")
            };
            item("AddAttribute", &format!("{}{n}", uid(u)))
        };
        assert_eq!(c.send(v, &add(&a)).failed(0), want, "{v}: its own name");
        assert_eq!(c.send(v, &add(&b)).failed(0), want, "{v}: another's name");
        // Once the holder is destroyed, the name is free again.
        c.send(v, &destroy(&a)).uid(0);
        c.send(v, &add(&b)).uid(0);
        // (1.x has no Destroyed Storage: its Locate still lists the destroyed one.)
        let found = c.locate_name(v, &name);
        assert_eq!(found.first(), Some(&b), "{v}: the newest holder first");
    }
}

/// The vault's ceiling holds after creation: Extractable cannot be turned on where
/// the vault forbids extractable keys. Never Extractable and Always Sensitive
/// follow their definitions when a client changes Extractable or Sensitive.
#[test]
fn export_flags_after_creation() {
    let p = Prepared::new("export-flags");
    setup::vault_add(
        &p.config,
        "sealed",
        &setup::VaultOptions {
            allow_extractable: false,
            ..setup::VaultOptions::default()
        },
    )
    .expect("vault add");
    let d = p.client("sealed-app", "sealed", "app").start();
    let v = V2_1;
    let mut sealed = d.connect("sealed-app");
    let id = sealed.create_aes(v, "sealed-key");
    let a = sealed.get_attributes(v, &id, &["Extractable", "NeverExtractable"]);
    assert_eq!(flag_of(&a, Tag::EXTRACTABLE), Some(false));
    assert_eq!(flag_of(&a, Tag::NEVER_EXTRACTABLE), Some(true));
    let set_true = |op: &str, flag: &str| {
        let new = format!(
            "<NewAttribute>{}</NewAttribute>",
            attr(v, flag, "Boolean", "true")
        );
        item(op, &format!("{}{new}", uid(&id)))
    };
    for op in ["ModifyAttribute", "SetAttribute"] {
        assert_eq!(
            sealed.send(v, &set_true(op, "Extractable")).failed(0),
            ResultReason::PermissionDenied,
            "{op}"
        );
    }
    assert_eq!(
        sealed.send(v, &get(&id)).failed(0),
        ResultReason::NotExtractable
    );

    // In a vault that allows it: turning Extractable on ends Never Extractable;
    // turning Sensitive off ends Always Sensitive.
    let mut c = d.connect("app");
    let flags = [
        name_attr(v, "flags-key"),
        attr(v, "CryptographicAlgorithm", "Enumeration", "AES"),
        attr(v, "CryptographicLength", "Integer", "128"),
        attr(v, "Extractable", "Boolean", "false"),
        attr(v, "Sensitive", "Boolean", "true"),
    ]
    .concat();
    let id = c
        .send(
            v,
            &item(
                "Create",
                &format!(
                    "{}{}",
                    enumeration("ObjectType", "SymmetricKey"),
                    attrs(v, &flags)
                ),
            ),
        )
        .uid(0);
    let history = |c: &mut Kmip| {
        let a = c.get_attributes(v, &id, &["AlwaysSensitive", "NeverExtractable"]);
        (
            flag_of(&a, Tag::ALWAYS_SENSITIVE),
            flag_of(&a, Tag::NEVER_EXTRACTABLE),
        )
    };
    assert_eq!(history(&mut c), (Some(true), Some(true)));
    let set = |flag: &str, value: &str| {
        let new = format!(
            "<NewAttribute>{}</NewAttribute>",
            attr(v, flag, "Boolean", value)
        );
        item("SetAttribute", &format!("{}{new}", uid(&id)))
    };
    c.send(v, &set("Extractable", "true"));
    assert_eq!(history(&mut c), (Some(true), Some(false)));
    c.send(v, &set("Extractable", "false"));
    assert_eq!(history(&mut c), (Some(true), Some(false)), "for good");
    c.send(v, &set("Sensitive", "false"));
    assert_eq!(history(&mut c), (Some(false), Some(false)));
}

/// Activation Date changes only while Pre-Active (1.4 §3.24; OASIS SKLC-M-3), and
/// one set to now moves the object to Active (1.4 §3.22, transition 4).
#[test]
fn activation_date_rules() {
    let d = Daemon::start("activation-date");
    let mut c = d.connect("app");
    for (v, wrong) in [
        (V1_4, ResultReason::PermissionDenied),
        (V2_1, ResultReason::WrongKeyLifecycleState),
    ] {
        let id = c.create_aes(v, &format!("activation-{v}"));
        let now = "2020-01-01T00:00:00+00:00";
        let new = attr(v, "ActivationDate", "DateTime", now);
        let new = if v.is_v1() {
            new
        } else {
            format!("<NewAttribute>{new}</NewAttribute>")
        };
        let add = item("AddAttribute", &format!("{}{new}", uid(&id)));
        c.send(v, &add).uid(0);
        assert_eq!(
            c.get_attributes(v, &id, &["State"]).state(),
            Some(State::Active),
            "{v}"
        );
        let modify = item("ModifyAttribute", &format!("{}{new}", uid(&id)));
        assert_eq!(c.send(v, &modify).failed(0), wrong, "{v}");
        // Destroy of an Active object: the same state error (1.4 §11.22).
        assert_eq!(c.send(v, &destroy(&id)).failed(0), wrong, "{v}");
    }
}

// ---------------------------------------------------------------------------
// 7. Backend material and the batch transaction

/// A software backend that really erases on `destroy` (as a token object would):
/// an erased reference no longer opens.
#[derive(Debug)]
struct ErasingBackend {
    inner: keygate::backend::software::SoftwareBackend,
    erased: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl ErasingBackend {
    fn erased(&self) -> usize {
        self.erased.lock().expect("lock").len()
    }
}

impl keygate::backend::KeyBackend for ErasingBackend {
    fn name(&self) -> &str {
        "software"
    }
    fn generate_secret(
        &self,
        len: usize,
        aad: &[u8],
    ) -> Result<keygate::backend::KeyRef, keygate::backend::BackendError> {
        self.inner.generate_secret(len, aad)
    }
    fn import_secret(
        &self,
        secret: &[u8],
        aad: &[u8],
    ) -> Result<keygate::backend::KeyRef, keygate::backend::BackendError> {
        self.inner.import_secret(secret, aad)
    }
    fn export_secret(
        &self,
        key: &keygate::backend::KeyRef,
        aad: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, keygate::backend::BackendError> {
        if self.erased.lock().expect("lock").contains(&key.0) {
            return Err(keygate::backend::BackendError::Unavailable("erased".into()));
        }
        self.inner.export_secret(key, aad)
    }
    fn destroy(
        &self,
        key: &keygate::backend::KeyRef,
    ) -> Result<(), keygate::backend::BackendError> {
        self.erased.lock().expect("lock").push(key.0.clone());
        Ok(())
    }
    fn random(
        &self,
        len: usize,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, keygate::backend::BackendError> {
        self.inner.random(len)
    }
}

/// Destroy releases backend material only once its batch has committed: after an
/// Undo, or an answer too large to send, the key is intact and usable (a backend
/// that erased at once would leave metadata pointing at nothing).
#[test]
fn destroy_erases_backend_material_only_after_commit() {
    use keygate::handler::{Gateway, Policy};
    use kmip::messages::RequestMessage;
    use std::sync::Arc;

    let p = Prepared::new("erase-after-commit");
    let cfg = keygate::config::Config::load(&p.config).expect("config");
    let backend = Arc::new(ErasingBackend {
        inner: keygate::backend::software::SoftwareBackend::open(
            "software",
            &cfg.keystore.master_key_file,
        )
        .expect("keystore"),
        erased: std::sync::Mutex::default(),
    });
    let keygate::config::StoreConfig::Sqlite { path } = &cfg.store else {
        panic!("the init config stores in SQLite")
    };
    let store = Arc::new(keygate::store::sqlite::SqliteStore::open(path).expect("store"));
    let mut backends: std::collections::HashMap<String, Arc<dyn keygate::backend::KeyBackend>> =
        std::collections::HashMap::new();
    backends.insert("software".into(), backend.clone());
    let gateway = Gateway::new(
        Policy::from_config(&cfg).expect("policy"),
        store,
        backends,
        keygate::audit::AuditLog::open(&cfg.audit.path, &cfg.audit.key_file).expect("audit"),
        cfg.limits.ttlv(),
        cfg.limits.max_batch_items,
    );
    let peer = keygate::server::PeerIdentity {
        common_name: Some("app".into()),
        ..Default::default()
    };
    let v = V2_1;
    let run = |header: &str, items: &str| {
        let bytes = binary::encode(&parse(&req(v, header, items)));
        let msg = RequestMessage::decode(&bytes, &kmip::Limits::DEFAULT).expect("request");
        gateway.process(&peer, &msg)
    };
    let created = run("", &create_aes(v, "erase-me", 256));
    let Some(ResponsePayload::Create(c)) = &created.batch_items[0].payload else {
        panic!("Create failed: {:?}", created.batch_items[0])
    };
    let id = c.unique_identifier.clone();
    let usable = |what: &str| {
        let r = run("", &get(&id));
        assert_eq!(
            r.batch_items[0].result_status,
            ResultStatus::Success,
            "{what}: {:?}",
            r.batch_items[0]
        );
    };

    let undo = enumeration("BatchErrorContinuationOption", "Undo");
    let r = run(&undo, &[destroy(&id), get("missing")].concat());
    assert_eq!(
        r.batch_items[0].result_status,
        ResultStatus::OperationUndone
    );
    assert_eq!(backend.erased(), 0, "nothing erased for an undone Destroy");
    usable("after Undo");

    let small = "<MaximumResponseSize type=\"Integer\" value=\"16\"/>";
    let r = run(small, &destroy(&id));
    assert_eq!(
        r.batch_items[0].result_reason,
        Some(ResultReason::ResponseTooLarge)
    );
    assert_eq!(backend.erased(), 0, "nothing erased for an unsent Destroy");
    usable("after Response Too Large");

    let r = run("", &destroy(&id));
    assert_eq!(r.batch_items[0].result_status, ResultStatus::Success);
    assert_eq!(backend.erased(), 1, "erased once the Destroy committed");
    let r = run("", &get(&id));
    assert_eq!(
        r.batch_items[0].result_reason,
        Some(ResultReason::ObjectDestroyed)
    );
}

/// Clients fetching a new key all at once (every node of a TDE cluster after a key
/// rotation): each first Get answers the key, whichever of them clears Fresh, and
/// the key is not Fresh afterwards.
#[test]
fn concurrent_first_gets_all_answer_and_clear_fresh() {
    let d = Daemon::start("first-gets");
    let v = V1_4;
    let mut c = d.connect("app");
    for round in 0..5 {
        let id = c.create_aes(v, &format!("first-gets-{round}"));
        let start = std::sync::Arc::new(std::sync::Barrier::new(8));
        let getters: Vec<_> = (0..8)
            .map(|_| {
                let mut g = d.connect("app");
                let (id, start) = (id.clone(), std::sync::Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    let r = g.send(v, &get(&id));
                    assert_eq!(
                        r.item(0).result_status,
                        ResultStatus::Success,
                        "{:?}",
                        r.item(0).result_message
                    );
                    raw_symmetric_key(r.object(0))
                })
            })
            .collect();
        let keys: Vec<_> = getters
            .into_iter()
            .map(|g| g.join().expect("getter"))
            .collect();
        assert!(keys.iter().all(|k| *k == keys[0] && k.len() == 32));
        let fresh = c.get_attributes(v, &id, &["Fresh"]);
        assert_eq!(
            fresh.get(Tag::FRESH).map(|t| t.value.clone()),
            Some(Value::Boolean(false)),
            "round {round}"
        );
    }
}
