//! What the library asks of the gateway, one function per need, in KMIP 2.1
//! terms (KMIP 2.1 §6.1): object lookup and search, attributes, destruction, and
//! (submodules) cryptography and key creation.

pub mod crypto;
pub mod keys;
pub mod wrap;

use crate::error::{ck, Error, Result};
use crate::gateway::Gateway;
use crate::object::{self, CertParts, ObjInfo, PublicParts, Template};
use crate::state::Library;
use cryptoki_sys::*;
use kmip::messages::attributes::SingleAttribute;
use kmip::messages::objects::{KeyMaterial, ManagedObject};
use kmip::messages::payloads::RevocationReason;
use kmip::messages::payloads::{
    AddAttributeRequest, GetAttributesRequest, GetRequest, LocateRequest, ModifyAttributeRequest,
    QueryRequest, RequestPayload, ResponsePayload, RevokeRequest, UniqueIdentifierRequest,
};
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::{
    KeyFormatType, LinkType, ObjectType, Operation, QueryFunction, RevocationReasonCode, State,
};
use std::sync::Arc;

/// Locate page size for C_FindObjects.
const PAGE: i32 = 256;

/// The caller's vault name, from Query Server Information (Keygate's extension).
pub fn vault_name(g: &Gateway) -> Result<Option<String>> {
    let r = g.call(
        Operation::Query,
        RequestPayload::Query(QueryRequest {
            query_functions: vec![QueryFunction::QueryServerInformation],
            extensions: Vec::new(),
        }),
    )?;
    let ResponsePayload::Query(q) = r else {
        return Err(Error::Protocol("Query: unexpected payload".into()));
    };
    Ok(q.server_information.and_then(|s| {
        match s
            .child(kmip::ttlv::Tag::KEYGATE_VAULT_NAME)
            .map(|t| &t.value)
        {
            Some(Value::TextString(v)) => Some(v.clone()),
            _ => None,
        }
    }))
}

/// The attributes of handle `h` on `slot`, read from the gateway once and cached.
pub fn info(lib: &Library, slot: usize, h: CK_OBJECT_HANDLE) -> Result<Arc<ObjInfo>> {
    let e = lib.objects.entry(slot, h)?;
    if let Some(i) = e.info {
        return Ok(i);
    }
    let g = lib.slots[slot].gateway()?;
    let info = Arc::new(fetch_info(&g, &e.uid)?);
    lib.objects.set_info(h, Arc::clone(&info));
    Ok(info)
}

/// True when `h` is a session object (CKA_TOKEN false).
pub fn is_session_object(lib: &Library, slot: usize, h: CK_OBJECT_HANDLE) -> bool {
    lib.objects
        .entry(slot, h)
        .is_ok_and(|e| e.session.is_some())
}

/// Reads an object's attributes, and its public parts or certificate.
pub fn fetch_info(g: &Gateway, uid: &str) -> Result<ObjInfo> {
    let r = g.call(
        Operation::GetAttributes,
        RequestPayload::GetAttributes(GetAttributesRequest {
            unique_identifier: Some(uid.to_owned()),
            ..Default::default()
        }),
    )?;
    let ResponsePayload::GetAttributes(a) = r else {
        return Err(Error::Protocol("Get Attributes: unexpected payload".into()));
    };
    let mut info = ObjInfo::from_attributes(&a.attributes)?;
    if info.destroyed() {
        return Ok(info);
    }
    match info.class {
        CKO_PUBLIC_KEY => info.public = public_parts(g, uid).ok(),
        CKO_PRIVATE_KEY => {
            if let Some(p) = info.link(LinkType::PublicKeyLink).map(str::to_owned) {
                info.public = public_parts(g, &p).ok();
            }
        }
        CKO_CERTIFICATE => {
            if let ManagedObject::Certificate(c) = get(g, uid, None)? {
                info.cert = Some(cert_parts(c.certificate_value)?);
            }
        }
        _ => {}
    }
    Ok(info)
}

/// Get of `uid`, in `format` when given.
pub fn get(g: &Gateway, uid: &str, format: Option<KeyFormatType>) -> Result<ManagedObject> {
    let r = g.call(
        Operation::Get,
        RequestPayload::Get(GetRequest {
            unique_identifier: Some(uid.to_owned()),
            key_format_type: format,
            ..Default::default()
        }),
    )?;
    match r {
        ResponsePayload::Get(g) => Ok(g.object),
        _ => Err(Error::Protocol("Get: unexpected payload".into())),
    }
}

/// The bytes of a key block's material (not wrapped, not transparent).
pub fn key_bytes(obj: &ManagedObject) -> Option<&[u8]> {
    let block = match obj {
        ManagedObject::SymmetricKey(k) => &k.key_block,
        ManagedObject::PublicKey(k) => &k.key_block,
        ManagedObject::PrivateKey(k) => &k.key_block,
        ManagedObject::SecretData(k) => &k.key_block,
        ManagedObject::OpaqueObject(o) => return Some(&o.opaque_data_value),
        _ => return None,
    };
    match block.key_value.as_ref()?.key_material()? {
        KeyMaterial::Bytes(b) => Some(b),
        KeyMaterial::Transparent(_) => None,
    }
}

fn public_parts(g: &Gateway, uid: &str) -> Result<PublicParts> {
    let obj = get(g, uid, Some(KeyFormatType::X509))?;
    let spki = key_bytes(&obj)
        .ok_or_else(|| Error::Protocol("public key without SubjectPublicKeyInfo".into()))?;
    parse_spki(spki)
}

const RSA_OID: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_OID: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// NIST P-256.
pub const P256: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// NIST P-384.
pub const P384: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// The public parts of a SubjectPublicKeyInfo.
pub fn parse_spki(der_bytes: &[u8]) -> Result<PublicParts> {
    use der::{Decode, Encode};
    let bad = |e: der::Error| Error::Protocol(format!("SubjectPublicKeyInfo: {e}"));
    let info = spki::SubjectPublicKeyInfoRef::from_der(der_bytes).map_err(bad)?;
    let key = info.subject_public_key.raw_bytes();
    if info.algorithm.oid == RSA_OID {
        let rsa = pkcs1::RsaPublicKeyRef::from_der(key).map_err(bad)?;
        Ok(PublicParts::Rsa {
            modulus: rsa.modulus.as_bytes().to_vec(),
            exponent: rsa.public_exponent.as_bytes().to_vec(),
            spki: der_bytes.to_vec(),
        })
    } else if info.algorithm.oid == EC_OID {
        let curve: spki::ObjectIdentifier = info
            .algorithm
            .parameters
            .ok_or_else(|| Error::Protocol("EC key without a named curve".into()))?
            .decode_as()
            .map_err(bad)?;
        let bits = match curve {
            c if c == P256 => 256,
            c if c == P384 => 384,
            c if c == P521 => 521,
            _ => return Err(Error::Protocol(format!("EC curve {curve} not supported"))),
        };
        Ok(PublicParts::Ec {
            params: curve.to_der().map_err(bad)?,
            point: der::asn1::OctetStringRef::new(key)
                .and_then(|o| o.to_der())
                .map_err(bad)?,
            bits,
            spki: der_bytes.to_vec(),
        })
    } else {
        Err(Error::Protocol(format!(
            "public key algorithm {} not supported",
            info.algorithm.oid
        )))
    }
}

/// What PKCS#11 shows of an X.509 certificate.
pub fn cert_parts(value: Vec<u8>) -> Result<CertParts> {
    use der::Encode;
    let (_, cert) = x509_parser::parse_x509_certificate(&value)
        .map_err(|e| Error::Protocol(format!("certificate does not parse: {e}")))?;
    let tbs = &cert.tbs_certificate;
    let serial = der::asn1::IntRef::new(tbs.raw_serial())
        .and_then(|i| i.to_der())
        .map_err(|e| Error::Protocol(format!("certificate serial: {e}")))?;
    let public = parse_spki(tbs.subject_pki.raw).ok();
    Ok(CertParts {
        subject: tbs.subject.as_raw().to_vec(),
        issuer: tbs.issuer.as_raw().to_vec(),
        serial,
        public,
        value,
    })
}

/// C_FindObjects*: the handles of the objects matching `template` that the caller
/// may see. CKA_CLASS, CKA_LABEL and CKA_ID go into the Locate request (so a vault
/// of many objects is searched on the gateway, page by page); every attribute is
/// then checked on each candidate.
pub fn find(lib: &Library, slot: usize, template: &Template) -> Result<Vec<CK_OBJECT_HANDLE>> {
    let s = &lib.slots[slot];
    if s.needs_login_to_connect() && !s.logged_in() {
        // Nothing reaches the gateway before the PIN decrypts the key.
        return Ok(Vec::new());
    }
    let logged_in = s.logged_in();
    let g = s.gateway()?;
    let mut wanted = Vec::new();
    if let Some(class) = template.ulong(CKA_CLASS)? {
        let t = match class {
            CKO_SECRET_KEY => ObjectType::SymmetricKey,
            CKO_PRIVATE_KEY => ObjectType::PrivateKey,
            CKO_PUBLIC_KEY => ObjectType::PublicKey,
            CKO_CERTIFICATE => ObjectType::Certificate,
            // Data objects are Secret Data or Opaque Objects: checked per object.
            CKO_DATA => ObjectType::SecretData,
            _ => return Ok(Vec::new()),
        };
        if class != CKO_DATA {
            wanted.push(Attribute::standard(
                Tag::OBJECT_TYPE,
                Value::Enumeration(t.value()),
            ));
        }
    }
    if let Some(label) = template.text(CKA_LABEL)? {
        wanted.push(Attribute::name(&label));
    }
    if let Some(id) = template.get(CKA_ID) {
        wanted.push(object::id_attribute(id));
    }
    let mut found = Vec::new();
    let mut offset = 0;
    loop {
        let r = g.call(
            Operation::Locate,
            RequestPayload::Locate(LocateRequest {
                maximum_items: Some(PAGE),
                offset_items: Some(offset),
                attributes: Attributes::new(wanted.clone()),
                ..Default::default()
            }),
        )?;
        let ResponsePayload::Locate(page) = r else {
            return Err(Error::Protocol("Locate: unexpected payload".into()));
        };
        let n = page.unique_identifiers.len();
        for uid in page.unique_identifiers {
            let h = lib.objects.handle(slot, &uid);
            let Ok(info) = info(lib, slot, h) else {
                continue;
            };
            let entry = lib.objects.entry(slot, h)?;
            if info.destroyed() || (info.private() && !logged_in) {
                continue;
            }
            if info.matches(template, entry.session.is_none()) {
                found.push(h);
            }
        }
        if n < PAGE as usize {
            break;
        }
        offset += PAGE;
    }
    Ok(found)
}

/// C_DestroyObject: Revoke (when Active) and Destroy on the gateway.
pub fn destroy_object(lib: &Library, slot: usize, h: CK_OBJECT_HANDLE) -> Result<()> {
    let e = lib.objects.entry(slot, h)?;
    let g = lib.slots[slot].gateway()?;
    let info = info(lib, slot, h)?;
    let uid = Some(e.uid.clone());
    if info.state == State::Active {
        g.call(
            Operation::Revoke,
            RequestPayload::Revoke(RevokeRequest {
                unique_identifier: uid.clone(),
                revocation_reason: RevocationReason {
                    code: RevocationReasonCode::CessationOfOperation,
                    message: None,
                    extensions: Vec::new(),
                },
                compromise_occurrence_date: None,
                extensions: Vec::new(),
            }),
        )?;
    }
    g.call(
        Operation::Destroy,
        RequestPayload::Destroy(UniqueIdentifierRequest {
            unique_identifier: uid,
            extensions: Vec::new(),
        }),
    )?;
    lib.objects.remove(h);
    Ok(())
}

/// CKA_VALUE of an extractable secret key or a data object.
pub fn value(
    lib: &Library,
    slot: usize,
    h: CK_OBJECT_HANDLE,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let e = lib.objects.entry(slot, h)?;
    let g = lib.slots[slot].gateway()?;
    let obj = get(&g, &e.uid, Some(KeyFormatType::Raw)).or_else(|_| get(&g, &e.uid, None))?;
    key_bytes(&obj)
        .map(|b| zeroize::Zeroizing::new(b.to_vec()))
        .ok_or_else(|| Error::Ck(CKR_ATTRIBUTE_SENSITIVE))
}

/// C_SetAttributeValue: CKA_LABEL and CKA_ID only.
pub fn set_attributes(lib: &Library, slot: usize, h: CK_OBJECT_HANDLE, t: &Template) -> Result<()> {
    t.only(&[CKA_LABEL, CKA_ID])?;
    let e = lib.objects.entry(slot, h)?;
    let current = info(lib, slot, h)?;
    let g = lib.slots[slot].gateway()?;
    let uid = Some(e.uid.clone());
    let change = |old: Option<Attribute>, new: Attribute| -> Result<()> {
        match old {
            Some(old) => g.call(
                Operation::ModifyAttribute,
                RequestPayload::ModifyAttribute(ModifyAttributeRequest {
                    unique_identifier: uid.clone(),
                    current_attribute: Some(SingleAttribute(old)),
                    new_attribute: SingleAttribute(new),
                    extensions: Vec::new(),
                }),
            ),
            None => g.call(
                Operation::AddAttribute,
                RequestPayload::AddAttribute(AddAttributeRequest {
                    unique_identifier: uid.clone(),
                    attribute: SingleAttribute(new),
                    extensions: Vec::new(),
                }),
            ),
        }
        .map(|_| ())
    };
    if let Some(label) = t.text(CKA_LABEL)? {
        change(
            current.label.as_deref().map(Attribute::name),
            Attribute::name(&label),
        )?;
    }
    if let Some(id) = t.get(CKA_ID) {
        change(
            current.id.as_deref().map(object::id_attribute),
            object::id_attribute(id),
        )?;
    }
    lib.objects.invalidate(h);
    Ok(())
}

/// Refuses a key that is not usable (destroyed), or one of another class.
pub fn key_for(
    lib: &Library,
    slot: usize,
    h: CK_OBJECT_HANDLE,
    classes: &[CK_OBJECT_CLASS],
) -> Result<(String, Arc<ObjInfo>)> {
    let e = lib.objects.entry(slot, h).map_err(Error::for_key)?;
    let i = info(lib, slot, h).map_err(Error::for_key)?;
    if i.destroyed() {
        return ck(CKR_KEY_HANDLE_INVALID);
    }
    if !classes.contains(&i.class) {
        return ck(CKR_KEY_TYPE_INCONSISTENT);
    }
    Ok((e.uid, i))
}
