//! Objects: handles for gateway UIDs, what PKCS#11 attributes each object shows
//! (read from its KMIP attributes and, for keys and certificates, its public
//! parts), and templates turned into KMIP attributes.
//!
//! The mapping (DESIGN.md, PKCS#11 library): CKO_SECRET_KEY <-> Symmetric Key,
//! CKO_PRIVATE_KEY / CKO_PUBLIC_KEY <-> Private/Public Key, CKO_CERTIFICATE <->
//! Certificate, CKO_DATA <-> Secret Data / Opaque Object; CKA_LABEL <-> Name;
//! CKA_ID <-> the custom attribute `x-CKA_ID` (vendor `x`, name `CKA_ID` in 2.x), so
//! applications that pair a key with its certificate by CKA_ID (Java, OpenSSL) work.

use crate::error::{ck, Error, Result};
use crate::gateway::lock;
use cryptoki_sys::*;
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::{
    CryptographicAlgorithm, CryptographicUsageMask as U, LinkType, ObjectType, State,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Vendor Identification of the CKA_ID attribute (`x-` custom attribute in 1.x).
pub const ID_VENDOR: &str = "x";
/// Attribute Name of the CKA_ID attribute.
pub const ID_NAME: &str = "CKA_ID";

/// The handle table.
#[derive(Debug, Default)]
pub struct Objects {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next: CK_OBJECT_HANDLE,
    by_handle: HashMap<CK_OBJECT_HANDLE, Entry>,
    by_uid: HashMap<(usize, String), CK_OBJECT_HANDLE>,
}

/// What a handle stands for.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Slot index.
    pub slot: usize,
    /// Gateway Unique Identifier.
    pub uid: String,
    /// The session owning it, for a session object.
    pub session: Option<CK_SESSION_HANDLE>,
    /// Its attributes, once read.
    pub info: Option<Arc<ObjInfo>>,
}

impl Objects {
    /// The handle of `uid` on `slot`, made on first sight. Handles stay stable for
    /// the life of the library.
    pub fn handle(&self, slot: usize, uid: &str) -> CK_OBJECT_HANDLE {
        let mut t = lock(&self.table);
        if let Some(h) = t.by_uid.get(&(slot, uid.to_owned())) {
            return *h;
        }
        t.next += 1;
        let h = t.next;
        t.by_uid.insert((slot, uid.to_owned()), h);
        t.by_handle.insert(
            h,
            Entry {
                slot,
                uid: uid.to_owned(),
                session: None,
                info: None,
            },
        );
        h
    }

    /// The entry of `h` on `slot`.
    pub fn entry(&self, slot: usize, h: CK_OBJECT_HANDLE) -> Result<Entry> {
        match lock(&self.table).by_handle.get(&h) {
            Some(e) if e.slot == slot => Ok(e.clone()),
            _ => ck(CKR_OBJECT_HANDLE_INVALID),
        }
    }

    /// Records `info` for `h`.
    pub fn set_info(&self, h: CK_OBJECT_HANDLE, info: Arc<ObjInfo>) {
        if let Some(e) = lock(&self.table).by_handle.get_mut(&h) {
            e.info = Some(info);
        }
    }

    /// Forgets the attributes read for `h` (they changed).
    pub fn invalidate(&self, h: CK_OBJECT_HANDLE) {
        if let Some(e) = lock(&self.table).by_handle.get_mut(&h) {
            e.info = None;
        }
    }

    /// Marks `h` as a session object of `session`.
    pub fn set_session(&self, h: CK_OBJECT_HANDLE, session: CK_SESSION_HANDLE) {
        if let Some(e) = lock(&self.table).by_handle.get_mut(&h) {
            e.session = Some(session);
        }
    }

    /// Removes `h` (destroyed).
    pub fn remove(&self, h: CK_OBJECT_HANDLE) {
        let mut t = lock(&self.table);
        if let Some(e) = t.by_handle.remove(&h) {
            t.by_uid.remove(&(e.slot, e.uid));
        }
    }
}

/// An object's attributes as PKCS#11 shows them.
#[derive(Debug, Clone)]
pub struct ObjInfo {
    /// CKA_CLASS.
    pub class: CK_OBJECT_CLASS,
    /// KMIP Object Type.
    pub object_type: ObjectType,
    /// CKA_KEY_TYPE (keys only).
    pub key_type: Option<CK_KEY_TYPE>,
    /// KMIP Cryptographic Algorithm.
    pub algorithm: Option<CryptographicAlgorithm>,
    /// KMIP Cryptographic Length (bits).
    pub bits: Option<u32>,
    /// CKA_LABEL: the first Name.
    pub label: Option<String>,
    /// CKA_ID.
    pub id: Option<Vec<u8>>,
    /// KMIP State.
    pub state: State,
    /// KMIP Cryptographic Usage Mask.
    pub usage: u32,
    /// CKA_SENSITIVE.
    pub sensitive: bool,
    /// CKA_EXTRACTABLE.
    pub extractable: bool,
    /// CKA_ALWAYS_SENSITIVE.
    pub always_sensitive: bool,
    /// CKA_NEVER_EXTRACTABLE.
    pub never_extractable: bool,
    /// Links to other objects.
    pub links: Vec<(LinkType, String)>,
    /// Public parts (public keys, and private keys with a linked public key).
    pub public: Option<PublicParts>,
    /// Certificate parts.
    pub cert: Option<CertParts>,
}

/// The public half of an asymmetric key.
#[derive(Debug, Clone)]
pub enum PublicParts {
    /// RSA.
    Rsa {
        /// CKA_MODULUS (big-endian, no leading zero).
        modulus: Vec<u8>,
        /// CKA_PUBLIC_EXPONENT.
        exponent: Vec<u8>,
        /// SubjectPublicKeyInfo DER (CKA_PUBLIC_KEY_INFO).
        spki: Vec<u8>,
    },
    /// EC.
    Ec {
        /// CKA_EC_PARAMS: DER of the named curve's OID.
        params: Vec<u8>,
        /// CKA_EC_POINT: DER OCTET STRING holding the uncompressed point.
        point: Vec<u8>,
        /// Field size in bits.
        bits: u32,
        /// SubjectPublicKeyInfo DER.
        spki: Vec<u8>,
    },
}

/// What a certificate shows.
#[derive(Debug, Clone)]
pub struct CertParts {
    /// CKA_VALUE: the DER certificate.
    pub value: Vec<u8>,
    /// CKA_SUBJECT: DER Name.
    pub subject: Vec<u8>,
    /// CKA_ISSUER: DER Name.
    pub issuer: Vec<u8>,
    /// CKA_SERIAL_NUMBER: DER INTEGER.
    pub serial: Vec<u8>,
    /// The subject public key, parsed.
    pub public: Option<PublicParts>,
}

/// One attribute's answer to C_GetAttributeValue.
#[derive(Debug)]
pub enum Answer {
    /// The value.
    Value(Vec<u8>),
    /// CKR_ATTRIBUTE_SENSITIVE.
    Sensitive,
    /// CKR_ATTRIBUTE_TYPE_INVALID.
    Invalid,
    /// The value must be fetched from the gateway (CKA_VALUE of an extractable key
    /// or a data object).
    Fetch,
}

fn ulong(v: CK_ULONG) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn bbool(v: bool) -> Vec<u8> {
    vec![if v { CK_TRUE } else { CK_FALSE }]
}

impl ObjInfo {
    /// Reads an object's view from its KMIP attributes. Public parts and
    /// certificates are added by the caller.
    pub fn from_attributes(a: &Attributes) -> Result<Self> {
        let object_type = a
            .object_type()
            .ok_or_else(|| Error::Protocol("object without an Object Type".into()))?;
        let algorithm = a.cryptographic_algorithm();
        let class = match object_type {
            ObjectType::SymmetricKey => CKO_SECRET_KEY,
            ObjectType::PrivateKey => CKO_PRIVATE_KEY,
            ObjectType::PublicKey => CKO_PUBLIC_KEY,
            ObjectType::Certificate => CKO_CERTIFICATE,
            ObjectType::SecretData | ObjectType::OpaqueObject => CKO_DATA,
            _ => CKO_VENDOR_DEFINED,
        };
        let key_type = match (class, algorithm) {
            (CKO_SECRET_KEY, Some(CryptographicAlgorithm::Aes)) => Some(CKK_AES),
            (CKO_SECRET_KEY, Some(CryptographicAlgorithm::Des3)) => Some(CKK_DES3),
            (CKO_SECRET_KEY, _) => Some(CKK_GENERIC_SECRET),
            (CKO_PRIVATE_KEY | CKO_PUBLIC_KEY, Some(CryptographicAlgorithm::Rsa)) => Some(CKK_RSA),
            (
                CKO_PRIVATE_KEY | CKO_PUBLIC_KEY,
                Some(CryptographicAlgorithm::Ec | CryptographicAlgorithm::Ecdsa),
            ) => Some(CKK_EC),
            (CKO_PRIVATE_KEY | CKO_PUBLIC_KEY, _) => Some(CKK_VENDOR_DEFINED),
            _ => None,
        };
        let flag = |t: Tag| match a.get(t).map(|x| &x.value) {
            Some(Value::Boolean(b)) => Some(*b),
            _ => None,
        };
        let links = a
            .all(Tag::LINK)
            .filter_map(|l| {
                let kind = match l.child(Tag::LINK_TYPE).map(|t| &t.value) {
                    Some(Value::Enumeration(v)) => LinkType::from_value(*v),
                    _ => return None,
                };
                match l.child(Tag::LINKED_OBJECT_IDENTIFIER).map(|t| &t.value) {
                    Some(Value::TextString(u)) => Some((kind, u.clone())),
                    _ => None,
                }
            })
            .collect();
        let id = match a.vendor(ID_VENDOR, ID_NAME) {
            Some(Value::ByteString(b)) => Some(b.clone()),
            Some(Value::TextString(s)) => Some(s.as_bytes().to_vec()),
            _ => None,
        };
        let sensitive = flag(Tag::SENSITIVE).unwrap_or(false);
        let extractable = flag(Tag::EXTRACTABLE).unwrap_or(true);
        Ok(Self {
            class,
            object_type,
            key_type,
            algorithm,
            bits: a.cryptographic_length().and_then(|b| u32::try_from(b).ok()),
            label: a.names().into_iter().next().map(|n| n.value),
            id,
            state: a.state().unwrap_or(State::PreActive),
            usage: a.cryptographic_usage_mask().map_or(0, |m| m.0),
            sensitive,
            extractable,
            always_sensitive: flag(Tag::ALWAYS_SENSITIVE).unwrap_or(sensitive),
            never_extractable: flag(Tag::NEVER_EXTRACTABLE).unwrap_or(!extractable),
            links,
            public: None,
            cert: None,
        })
    }

    /// True for objects hidden until C_Login (CKA_PRIVATE): keys other than public
    /// keys, and data objects.
    pub fn private(&self) -> bool {
        !matches!(self.class, CKO_PUBLIC_KEY | CKO_CERTIFICATE)
    }

    /// True when the object is gone (destroyed) and must not be shown.
    pub fn destroyed(&self) -> bool {
        matches!(self.state, State::Destroyed | State::DestroyedCompromised)
    }

    /// The UID of the object linked as `kind`.
    pub fn link(&self, kind: LinkType) -> Option<&str> {
        self.links
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, u)| u.as_str())
    }

    fn uses(&self, bits: &[U]) -> bool {
        bits.iter().any(|b| self.usage & b.value() != 0)
    }

    fn public_parts(&self) -> Option<&PublicParts> {
        self.public
            .as_ref()
            .or_else(|| self.cert.as_ref().and_then(|c| c.public.as_ref()))
    }

    /// Key size in bits, as the mechanism needs it (RSA modulus, EC field, AES).
    pub fn key_bits(&self) -> Option<u32> {
        match self.public_parts() {
            Some(PublicParts::Rsa { modulus, .. }) => u32::try_from(modulus.len() * 8).ok(),
            Some(PublicParts::Ec { bits, .. }) => Some(*bits),
            None => self.bits,
        }
    }

    /// The answer for attribute `t`. `token` is false for session objects.
    pub fn attribute(&self, t: CK_ATTRIBUTE_TYPE, token: bool) -> Answer {
        let key = matches!(
            self.class,
            CKO_SECRET_KEY | CKO_PRIVATE_KEY | CKO_PUBLIC_KEY
        );
        let secret = matches!(self.class, CKO_SECRET_KEY | CKO_PRIVATE_KEY);
        let hmac = self.key_type == Some(CKK_GENERIC_SECRET);
        let v = match t {
            CKA_CLASS => ulong(self.class),
            CKA_TOKEN => bbool(token),
            CKA_PRIVATE => bbool(self.private()),
            CKA_MODIFIABLE => bbool(true),
            CKA_COPYABLE => bbool(false),
            CKA_DESTROYABLE => bbool(true),
            CKA_LABEL => self.label.clone().unwrap_or_default().into_bytes(),
            CKA_ID if key || self.class == CKO_CERTIFICATE => self.id.clone().unwrap_or_default(),
            CKA_KEY_TYPE if key => match self.key_type {
                Some(k) => ulong(k),
                None => return Answer::Invalid,
            },
            CKA_LOCAL if key => bbool(false),
            CKA_KEY_GEN_MECHANISM if key => ulong(CK_UNAVAILABLE_INFORMATION),
            CKA_DERIVE if key => bbool(self.uses(&[U::DeriveKey])),
            CKA_START_DATE | CKA_END_DATE if key => Vec::new(),
            CKA_SENSITIVE if secret => bbool(self.sensitive),
            CKA_EXTRACTABLE if secret => bbool(self.extractable),
            CKA_ALWAYS_SENSITIVE if secret => bbool(self.always_sensitive),
            CKA_NEVER_EXTRACTABLE if secret => bbool(self.never_extractable),
            CKA_ALWAYS_AUTHENTICATE if self.class == CKO_PRIVATE_KEY => bbool(false),
            CKA_WRAP_WITH_TRUSTED if secret => bbool(false),
            CKA_TRUSTED
                if matches!(
                    self.class,
                    CKO_PUBLIC_KEY | CKO_SECRET_KEY | CKO_CERTIFICATE
                ) =>
            {
                bbool(false)
            }
            CKA_ENCRYPT if matches!(self.class, CKO_SECRET_KEY | CKO_PUBLIC_KEY) => {
                bbool(self.uses(&[U::Encrypt]))
            }
            CKA_DECRYPT if secret => bbool(self.uses(&[U::Decrypt])),
            CKA_SIGN if secret => bbool(if hmac {
                self.uses(&[U::MacGenerate, U::Sign])
            } else {
                self.uses(&[U::Sign])
            }),
            CKA_VERIFY if matches!(self.class, CKO_SECRET_KEY | CKO_PUBLIC_KEY) => bbool(if hmac {
                self.uses(&[U::MacVerify, U::Verify])
            } else {
                self.uses(&[U::Verify])
            }),
            CKA_SIGN_RECOVER if self.class == CKO_PRIVATE_KEY => bbool(false),
            CKA_VERIFY_RECOVER if self.class == CKO_PUBLIC_KEY => bbool(false),
            CKA_WRAP if matches!(self.class, CKO_SECRET_KEY | CKO_PUBLIC_KEY) => {
                bbool(self.uses(&[U::WrapKey]))
            }
            CKA_UNWRAP if secret => bbool(self.uses(&[U::UnwrapKey])),
            CKA_VALUE_LEN if self.class == CKO_SECRET_KEY => {
                ulong(CK_ULONG::from(self.bits.unwrap_or(0) / 8))
            }
            CKA_VALUE if self.class == CKO_SECRET_KEY => {
                if self.sensitive || !self.extractable {
                    return Answer::Sensitive;
                }
                return Answer::Fetch;
            }
            CKA_VALUE if self.class == CKO_DATA => return Answer::Fetch,
            CKA_APPLICATION if self.class == CKO_DATA => Vec::new(),
            CKA_OBJECT_ID if self.class == CKO_DATA => Vec::new(),
            CKA_SUBJECT if matches!(self.class, CKO_PRIVATE_KEY | CKO_PUBLIC_KEY) => Vec::new(),
            CKA_PRIVATE_EXPONENT | CKA_PRIME_1 | CKA_PRIME_2 | CKA_EXPONENT_1 | CKA_EXPONENT_2
            | CKA_COEFFICIENT
                if self.class == CKO_PRIVATE_KEY =>
            {
                return Answer::Sensitive
            }
            CKA_MODULUS | CKA_PUBLIC_EXPONENT | CKA_MODULUS_BITS | CKA_EC_PARAMS | CKA_EC_POINT
            | CKA_PUBLIC_KEY_INFO
                if matches!(self.class, CKO_PRIVATE_KEY | CKO_PUBLIC_KEY) =>
            {
                match (self.public_parts(), t) {
                    (Some(PublicParts::Rsa { modulus, .. }), CKA_MODULUS) => modulus.clone(),
                    (Some(PublicParts::Rsa { exponent, .. }), CKA_PUBLIC_EXPONENT) => {
                        exponent.clone()
                    }
                    (Some(PublicParts::Rsa { modulus, .. }), CKA_MODULUS_BITS) => {
                        ulong((modulus.len() * 8) as CK_ULONG)
                    }
                    (Some(PublicParts::Ec { params, .. }), CKA_EC_PARAMS) => params.clone(),
                    (Some(PublicParts::Ec { point, .. }), CKA_EC_POINT) => point.clone(),
                    (
                        Some(PublicParts::Rsa { spki, .. } | PublicParts::Ec { spki, .. }),
                        CKA_PUBLIC_KEY_INFO,
                    ) => spki.clone(),
                    _ => return Answer::Invalid,
                }
            }
            CKA_CERTIFICATE_TYPE if self.class == CKO_CERTIFICATE => ulong(CKC_X_509),
            CKA_CERTIFICATE_CATEGORY if self.class == CKO_CERTIFICATE => ulong(0),
            CKA_VALUE | CKA_SUBJECT | CKA_ISSUER | CKA_SERIAL_NUMBER
                if self.class == CKO_CERTIFICATE =>
            {
                match (&self.cert, t) {
                    (Some(c), CKA_VALUE) => c.value.clone(),
                    (Some(c), CKA_SUBJECT) => c.subject.clone(),
                    (Some(c), CKA_ISSUER) => c.issuer.clone(),
                    (Some(c), CKA_SERIAL_NUMBER) => c.serial.clone(),
                    _ => return Answer::Invalid,
                }
            }
            _ => return Answer::Invalid,
        };
        Answer::Value(v)
    }

    /// True when every attribute of `template` has this object's value (C_FindObjects).
    pub fn matches(&self, template: &Template, token: bool) -> bool {
        template
            .0
            .iter()
            .all(|(t, want)| match self.attribute(*t, token) {
                Answer::Value(v) => &v == want,
                _ => false,
            })
    }
}

/// A caller's template, read out of its `CK_ATTRIBUTE` array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template(pub Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>);

impl Template {
    /// The raw value of `t`.
    pub fn get(&self, t: CK_ATTRIBUTE_TYPE) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(k, _)| *k == t)
            .map(|(_, v)| v.as_slice())
    }

    /// A CK_BBOOL attribute.
    pub fn bool(&self, t: CK_ATTRIBUTE_TYPE) -> Result<Option<bool>> {
        match self.get(t) {
            None => Ok(None),
            Some([b]) => Ok(Some(*b != CK_FALSE)),
            Some(_) => ck(CKR_ATTRIBUTE_VALUE_INVALID),
        }
    }

    /// A CK_ULONG attribute.
    pub fn ulong(&self, t: CK_ATTRIBUTE_TYPE) -> Result<Option<CK_ULONG>> {
        match self.get(t) {
            None => Ok(None),
            Some(v) => <[u8; std::mem::size_of::<CK_ULONG>()]>::try_from(v)
                .map(|b| Some(CK_ULONG::from_ne_bytes(b)))
                .map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID)),
        }
    }

    /// A UTF-8 attribute (CKA_LABEL).
    pub fn text(&self, t: CK_ATTRIBUTE_TYPE) -> Result<Option<String>> {
        match self.get(t) {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID)),
        }
    }

    /// Checks that every attribute is one of `allowed` (else
    /// CKR_ATTRIBUTE_TYPE_INVALID: silently dropping an attribute the caller set
    /// would create an object other than the one asked for).
    pub fn only(&self, allowed: &[CK_ATTRIBUTE_TYPE]) -> Result<()> {
        if self.0.iter().all(|(t, _)| allowed.contains(t)) {
            Ok(())
        } else {
            ck(CKR_ATTRIBUTE_TYPE_INVALID)
        }
    }
}

/// Attributes every object template may carry, whatever its class.
pub const COMMON: &[CK_ATTRIBUTE_TYPE] = &[
    CKA_CLASS,
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_MODIFIABLE,
    CKA_COPYABLE,
    CKA_DESTROYABLE,
    CKA_LABEL,
    CKA_ID,
    CKA_KEY_TYPE,
    CKA_START_DATE,
    CKA_END_DATE,
    CKA_DERIVE,
    CKA_LOCAL,
    CKA_SENSITIVE,
    CKA_EXTRACTABLE,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_SIGN_RECOVER,
    CKA_VERIFY_RECOVER,
    CKA_TRUSTED,
    CKA_WRAP_WITH_TRUSTED,
    CKA_ALWAYS_AUTHENTICATE,
    CKA_SUBJECT,
];

/// The usage flags of a template as a KMIP usage mask, starting from `default`.
pub fn usage_mask(t: &Template, hmac: bool, default: u32) -> Result<u32> {
    let mut mask = default;
    let sign = if hmac { U::MacGenerate } else { U::Sign };
    let verify = if hmac { U::MacVerify } else { U::Verify };
    let pairs: &[(CK_ATTRIBUTE_TYPE, U)] = &[
        (CKA_ENCRYPT, U::Encrypt),
        (CKA_DECRYPT, U::Decrypt),
        (CKA_SIGN, sign),
        (CKA_VERIFY, verify),
        (CKA_WRAP, U::WrapKey),
        (CKA_UNWRAP, U::UnwrapKey),
        (CKA_DERIVE, U::DeriveKey),
    ];
    for (attr, bit) in pairs {
        match t.bool(*attr)? {
            Some(true) => mask |= bit.value(),
            Some(false) => mask &= !bit.value(),
            None => {}
        }
    }
    Ok(mask)
}

/// KMIP attributes for a new object from the parts of its template every class
/// shares: Name (CKA_LABEL), CKA_ID, Sensitive, Extractable.
pub fn common_attributes(t: &Template, secret: bool) -> Result<Vec<Attribute>> {
    let mut out = Vec::new();
    if let Some(label) = t.text(CKA_LABEL)? {
        if !label.is_empty() {
            out.push(Attribute::name(&label));
        }
    }
    if let Some(id) = t.get(CKA_ID) {
        if !id.is_empty() {
            out.push(id_attribute(id));
        }
    }
    if secret {
        if let Some(s) = t.bool(CKA_SENSITIVE)? {
            out.push(Attribute::standard(Tag::SENSITIVE, Value::Boolean(s)));
        }
        if let Some(x) = t.bool(CKA_EXTRACTABLE)? {
            out.push(Attribute::standard(Tag::EXTRACTABLE, Value::Boolean(x)));
        }
    }
    Ok(out)
}

/// The CKA_ID attribute.
pub fn id_attribute(id: &[u8]) -> Attribute {
    Attribute::Vendor {
        vendor: ID_VENDOR.to_owned(),
        name: ID_NAME.to_owned(),
        value: Value::ByteString(id.to_vec()),
    }
}
