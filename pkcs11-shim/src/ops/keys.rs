//! Making objects: C_GenerateKey as KMIP Create, C_GenerateKeyPair as Create Key
//! Pair, C_CreateObject as Register (KMIP 2.1 §6.1.11, §6.1.12, §6.1.41).
//!
//! New keys are created Active: the request carries an Activation Date a minute in
//! the past, so a client clock slightly ahead of the gateway's does not leave the
//! key Pre-Active (unusable) for its first seconds.

use crate::error::{ck, Error, Result};
use crate::gateway::Gateway;
use crate::mechanism::Mechanism;
use crate::object::{self, Template, COMMON};
use cryptoki_sys::*;
use kmip::messages::objects::{
    Certificate, KeyBlock, KeyMaterial, KeyValue, ManagedObject, PrivateKey, PublicKey, SecretData,
    SymmetricKey,
};
use kmip::messages::payloads::{
    CreateKeyPairRequest, CreateRequest, RegisterRequest, RequestPayload, ResponsePayload,
};
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{
    CertificateType, CryptographicAlgorithm, CryptographicUsageMask as U, KeyFormatType,
    ObjectType, Operation, RecommendedCurve, SecretDataType,
};
use zeroize::Zeroizing;

/// Activation Date a minute back (see the module documentation).
pub(super) fn activation_now() -> Attribute {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Attribute::standard(Tag::ACTIVATION_DATE, Value::DateTime(now - 60))
}

fn mask(m: u32) -> Attribute {
    Attribute::standard(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        Value::Integer(i32::from_ne_bytes(m.to_ne_bytes())),
    )
}

fn enumeration(tag: Tag, v: u32) -> Attribute {
    Attribute::standard(tag, Value::Enumeration(v))
}

fn length(bits: u32) -> Result<Attribute> {
    let bits = i32::try_from(bits).map_err(|_| Error::Ck(CKR_KEY_SIZE_RANGE))?;
    Ok(Attribute::standard(
        Tag::CRYPTOGRAPHIC_LENGTH,
        Value::Integer(bits),
    ))
}

/// Attributes a secret-key template may carry.
const SECRET_KEY: &[CK_ATTRIBUTE_TYPE] = &[CKA_VALUE_LEN, CKA_VALUE, CKA_CHECK_VALUE];

/// C_GenerateKey (CKM_AES_KEY_GEN, CKM_GENERIC_SECRET_KEY_GEN). Returns the UID
/// and whether it is a token object.
pub fn generate_key(g: &Gateway, m: &Mechanism, t: &Template) -> Result<(String, bool)> {
    t.only(COMMON)
        .or_else(|_| t.only(&[COMMON, SECRET_KEY].concat()))?;
    if t.get(CKA_VALUE).is_some() {
        return ck(CKR_TEMPLATE_INCONSISTENT);
    }
    let len = t
        .ulong(CKA_VALUE_LEN)?
        .ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE))?;
    let (alg, hmac, key_type) = match m.kind {
        CKM_AES_KEY_GEN => {
            if !matches!(len, 16 | 24 | 32) {
                return ck(CKR_KEY_SIZE_RANGE);
            }
            (CryptographicAlgorithm::Aes, false, CKK_AES)
        }
        CKM_GENERIC_SECRET_KEY_GEN => {
            if !(16..=64).contains(&len) {
                return ck(CKR_KEY_SIZE_RANGE);
            }
            (CryptographicAlgorithm::HmacSha256, true, CKK_GENERIC_SECRET)
        }
        _ => return ck(CKR_MECHANISM_INVALID),
    };
    check_class(t, CKO_SECRET_KEY, Some(key_type))?;
    let default = if hmac {
        U::MacGenerate.value() | U::MacVerify.value()
    } else {
        U::Encrypt.value() | U::Decrypt.value() | U::WrapKey.value() | U::UnwrapKey.value()
    };
    let mut attrs = object::common_attributes(t, true)?;
    attrs.extend([
        enumeration(Tag::CRYPTOGRAPHIC_ALGORITHM, alg.value()),
        length(u32::try_from(len * 8).map_err(|_| Error::Ck(CKR_KEY_SIZE_RANGE))?)?,
        mask(object::usage_mask(t, hmac, default)?),
        activation_now(),
    ]);
    let r = g.call(
        Operation::Create,
        RequestPayload::Create(CreateRequest {
            object_type: ObjectType::SymmetricKey,
            attributes: Attributes::new(attrs),
            protection_storage_masks: None,
            extensions: Vec::new(),
        }),
    )?;
    match r {
        ResponsePayload::Create(c) => Ok((c.unique_identifier, token(t)?)),
        _ => Err(Error::Protocol("Create: unexpected payload".into())),
    }
}

/// Attributes a key-pair template may carry beyond [`COMMON`].
const PAIR: &[CK_ATTRIBUTE_TYPE] = &[CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS];

/// C_GenerateKeyPair (RSA, EC). Returns (public UID, public token?, private UID,
/// private token?).
pub fn generate_pair(
    g: &Gateway,
    m: &Mechanism,
    public: &Template,
    private: &Template,
) -> Result<(String, bool, String, bool)> {
    let allowed = [COMMON, PAIR].concat();
    public.only(&allowed)?;
    private.only(&allowed)?;
    let mut common = Vec::new();
    let (key_type, priv_default, pub_default) = match m.kind {
        CKM_RSA_PKCS_KEY_PAIR_GEN => {
            let bits = public
                .ulong(CKA_MODULUS_BITS)?
                .ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE))?;
            if !matches!(bits, 2048 | 3072 | 4096) {
                return ck(CKR_KEY_SIZE_RANGE);
            }
            if let Some(e) = public.get(CKA_PUBLIC_EXPONENT) {
                let e: Vec<u8> = e.iter().copied().skip_while(|b| *b == 0).collect();
                if e != [1, 0, 1] {
                    // The gateway generates with 65537, the only exponent in use.
                    return ck(CKR_ATTRIBUTE_VALUE_INVALID);
                }
            }
            common.push(enumeration(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                CryptographicAlgorithm::Rsa.value(),
            ));
            common.push(length(
                u32::try_from(bits).map_err(|_| Error::Ck(CKR_KEY_SIZE_RANGE))?,
            )?);
            (
                CKK_RSA,
                U::Sign.value() | U::Decrypt.value() | U::UnwrapKey.value(),
                U::Verify.value() | U::Encrypt.value() | U::WrapKey.value(),
            )
        }
        CKM_EC_KEY_PAIR_GEN => {
            let params = public
                .get(CKA_EC_PARAMS)
                .or_else(|| private.get(CKA_EC_PARAMS))
                .ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE))?;
            let (curve, bits) = curve(params)?;
            common.push(enumeration(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                CryptographicAlgorithm::Ecdsa.value(),
            ));
            common.push(length(bits)?);
            common.push(Attribute::standard(
                Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
                Value::Structure(vec![Ttlv::new(
                    Tag::RECOMMENDED_CURVE,
                    Value::Enumeration(curve.value()),
                )]),
            ));
            (CKK_EC, U::Sign.value(), U::Verify.value())
        }
        _ => return ck(CKR_MECHANISM_INVALID),
    };
    check_class(public, CKO_PUBLIC_KEY, Some(key_type))?;
    check_class(private, CKO_PRIVATE_KEY, Some(key_type))?;
    common.push(activation_now());
    let mut priv_attrs = object::common_attributes(private, true)?;
    priv_attrs.push(mask(object::usage_mask(private, false, priv_default)?));
    let mut pub_attrs = object::common_attributes(public, false)?;
    pub_attrs.push(mask(object::usage_mask(public, false, pub_default)?));
    let r = g.call(
        Operation::CreateKeyPair,
        RequestPayload::CreateKeyPair(CreateKeyPairRequest {
            common_attributes: Some(Attributes::new(common)),
            private_key_attributes: Some(Attributes::new(priv_attrs)),
            public_key_attributes: Some(Attributes::new(pub_attrs)),
            ..Default::default()
        }),
    )?;
    match r {
        ResponsePayload::CreateKeyPair(p) => Ok((
            p.public_key_unique_identifier,
            token(public)?,
            p.private_key_unique_identifier,
            token(private)?,
        )),
        _ => Err(Error::Protocol(
            "Create Key Pair: unexpected payload".into(),
        )),
    }
}

/// Attributes a C_CreateObject template may carry beyond [`COMMON`].
const CREATE: &[CK_ATTRIBUTE_TYPE] = &[
    CKA_VALUE,
    CKA_VALUE_LEN,
    CKA_CERTIFICATE_TYPE,
    CKA_CERTIFICATE_CATEGORY,
    CKA_ISSUER,
    CKA_SERIAL_NUMBER,
    CKA_CHECK_VALUE,
    CKA_APPLICATION,
    CKA_OBJECT_ID,
    CKA_MODULUS,
    CKA_MODULUS_BITS,
    CKA_PUBLIC_EXPONENT,
    CKA_PRIVATE_EXPONENT,
    CKA_PRIME_1,
    CKA_PRIME_2,
    CKA_EXPONENT_1,
    CKA_EXPONENT_2,
    CKA_COEFFICIENT,
    CKA_EC_PARAMS,
    CKA_EC_POINT,
];

/// C_CreateObject: secret keys, data objects, X.509 certificates, RSA and EC
/// public keys and RSA private keys, registered on the gateway. Returns the UID
/// and whether it is a token object.
pub fn create_object(g: &Gateway, t: &Template) -> Result<(String, bool)> {
    t.only(&[COMMON, CREATE].concat())?;
    let class = t
        .ulong(CKA_CLASS)?
        .ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE))?;
    let value = || t.get(CKA_VALUE).ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE));
    let block =
        |format, alg: Option<CryptographicAlgorithm>, bits: Option<i32>, bytes: Vec<u8>| KeyBlock {
            key_format_type: format,
            key_compression_type: None,
            key_value: Some(KeyValue::plain(KeyMaterial::Bytes(bytes))),
            cryptographic_algorithm: alg,
            cryptographic_length: bits,
            key_wrapping_data: None,
            extensions: Vec::new(),
        };
    let mut attrs =
        object::common_attributes(t, matches!(class, CKO_SECRET_KEY | CKO_PRIVATE_KEY))?;
    let (object_type, object) = match class {
        CKO_SECRET_KEY => {
            let v = value()?;
            let key_type = t
                .ulong(CKA_KEY_TYPE)?
                .ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE))?;
            let (alg, hmac) = match key_type {
                CKK_AES if matches!(v.len(), 16 | 24 | 32) => (CryptographicAlgorithm::Aes, false),
                CKK_AES => return ck(CKR_ATTRIBUTE_VALUE_INVALID),
                CKK_GENERIC_SECRET if !v.is_empty() => (CryptographicAlgorithm::HmacSha256, true),
                _ => return ck(CKR_ATTRIBUTE_VALUE_INVALID),
            };
            let default = if hmac {
                U::MacGenerate.value() | U::MacVerify.value()
            } else {
                U::Encrypt.value() | U::Decrypt.value() | U::WrapKey.value() | U::UnwrapKey.value()
            };
            attrs.push(mask(object::usage_mask(t, hmac, default)?));
            let bits =
                i32::try_from(v.len() * 8).map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID))?;
            (
                ObjectType::SymmetricKey,
                ManagedObject::SymmetricKey(SymmetricKey {
                    key_block: block(KeyFormatType::Raw, Some(alg), Some(bits), v.to_vec()),
                    extensions: Vec::new(),
                }),
            )
        }
        CKO_DATA => (
            ObjectType::SecretData,
            ManagedObject::SecretData(SecretData {
                secret_data_type: SecretDataType::Password,
                key_block: block(KeyFormatType::Opaque, None, None, value()?.to_vec()),
                extensions: Vec::new(),
            }),
        ),
        CKO_CERTIFICATE => {
            if t.ulong(CKA_CERTIFICATE_TYPE)?.unwrap_or(CKC_X_509) != CKC_X_509 {
                return ck(CKR_ATTRIBUTE_VALUE_INVALID);
            }
            let v = value()?;
            crate::ops::cert_parts(v.to_vec())
                .map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID))?;
            (
                ObjectType::Certificate,
                ManagedObject::Certificate(Certificate {
                    certificate_type: CertificateType::X509,
                    certificate_value: v.to_vec(),
                    extensions: Vec::new(),
                }),
            )
        }
        CKO_PUBLIC_KEY => {
            let (spki, alg, bits) = public_spki(t)?;
            attrs.push(mask(object::usage_mask(
                t,
                false,
                U::Verify.value() | U::Encrypt.value() | U::WrapKey.value(),
            )?));
            (
                ObjectType::PublicKey,
                ManagedObject::PublicKey(PublicKey {
                    key_block: block(KeyFormatType::X509, Some(alg), Some(bits), spki),
                    extensions: Vec::new(),
                }),
            )
        }
        CKO_PRIVATE_KEY => {
            let (der, bits) = rsa_private(t)?;
            attrs.push(mask(object::usage_mask(
                t,
                false,
                U::Sign.value() | U::Decrypt.value() | U::UnwrapKey.value(),
            )?));
            (
                ObjectType::PrivateKey,
                ManagedObject::PrivateKey(PrivateKey {
                    key_block: block(
                        KeyFormatType::Pkcs1,
                        Some(CryptographicAlgorithm::Rsa),
                        Some(bits),
                        der.to_vec(),
                    ),
                    extensions: Vec::new(),
                }),
            )
        }
        _ => return ck(CKR_ATTRIBUTE_VALUE_INVALID),
    };
    attrs.push(activation_now());
    Ok((register(g, object_type, attrs, object)?, token(t)?))
}

/// Registers `object` with `attrs` and returns its UID.
pub(super) fn register(
    g: &Gateway,
    object_type: ObjectType,
    attrs: Vec<Attribute>,
    object: ManagedObject,
) -> Result<String> {
    let r = g.call(
        Operation::Register,
        RequestPayload::Register(RegisterRequest {
            object_type,
            attributes: Attributes::new(attrs),
            object,
            protection_storage_masks: None,
            extensions: Vec::new(),
        }),
    )?;
    match r {
        ResponsePayload::Register(r) => Ok(r.unique_identifier),
        _ => Err(Error::Protocol("Register: unexpected payload".into())),
    }
}

/// CKA_TOKEN (default true for objects the gateway keeps).
pub fn token(t: &Template) -> Result<bool> {
    Ok(t.bool(CKA_TOKEN)?.unwrap_or(false))
}

/// Refuses a template whose CKA_CLASS or CKA_KEY_TYPE contradicts the mechanism.
fn check_class(t: &Template, class: CK_OBJECT_CLASS, key_type: Option<CK_KEY_TYPE>) -> Result<()> {
    if t.ulong(CKA_CLASS)?.is_some_and(|c| c != class) {
        return ck(CKR_TEMPLATE_INCONSISTENT);
    }
    if let (Some(want), Some(given)) = (key_type, t.ulong(CKA_KEY_TYPE)?) {
        if want != given {
            return ck(CKR_TEMPLATE_INCONSISTENT);
        }
    }
    Ok(())
}

/// The curve named by CKA_EC_PARAMS (DER OID).
fn curve(params: &[u8]) -> Result<(RecommendedCurve, u32)> {
    use der::Decode;
    let oid = spki::ObjectIdentifier::from_der(params)
        .map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID))?;
    if oid == super::P256 {
        Ok((RecommendedCurve::P256, 256))
    } else if oid == super::P384 {
        Ok((RecommendedCurve::P384, 384))
    } else {
        ck(CKR_CURVE_NOT_SUPPORTED)
    }
}

/// A SubjectPublicKeyInfo from an RSA (modulus, exponent) or EC (params, point)
/// public-key template.
fn public_spki(t: &Template) -> Result<(Vec<u8>, CryptographicAlgorithm, i32)> {
    use der::{Decode, Encode};
    let need = |a| t.get(a).ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE));
    let bad = |_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID);
    match t
        .ulong(CKA_KEY_TYPE)?
        .ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE))?
    {
        CKK_RSA => {
            let key = pkcs1::RsaPublicKey {
                modulus: der::asn1::UintRef::new(need(CKA_MODULUS)?).map_err(bad)?,
                public_exponent: der::asn1::UintRef::new(need(CKA_PUBLIC_EXPONENT)?)
                    .map_err(bad)?,
            };
            let bits = i32::try_from(key.modulus.as_bytes().len() * 8)
                .map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID))?;
            let pkcs1 = key.to_der().map_err(bad)?;
            let info = spki::SubjectPublicKeyInfoRef {
                algorithm: spki::AlgorithmIdentifierRef {
                    oid: spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1"),
                    parameters: Some(der::asn1::AnyRef::NULL),
                },
                subject_public_key: der::asn1::BitStringRef::from_bytes(&pkcs1).map_err(bad)?,
            };
            Ok((
                info.to_der().map_err(bad)?,
                CryptographicAlgorithm::Rsa,
                bits,
            ))
        }
        CKK_EC => {
            let params = need(CKA_EC_PARAMS)?;
            let (_, bits) = curve(params)?;
            let point = <&der::asn1::OctetStringRef>::from_der(need(CKA_EC_POINT)?).map_err(bad)?;
            let info = spki::SubjectPublicKeyInfoRef {
                algorithm: spki::AlgorithmIdentifierRef {
                    oid: spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
                    parameters: Some(der::asn1::AnyRef::from_der(params).map_err(bad)?),
                },
                subject_public_key: der::asn1::BitStringRef::from_bytes(point.as_bytes())
                    .map_err(bad)?,
            };
            let bits = i32::try_from(bits).map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID))?;
            Ok((
                info.to_der().map_err(bad)?,
                CryptographicAlgorithm::Ecdsa,
                bits,
            ))
        }
        _ => ck(CKR_ATTRIBUTE_VALUE_INVALID),
    }
}

/// A PKCS#1 RSAPrivateKey from the CRT components of an RSA private-key template.
fn rsa_private(t: &Template) -> Result<(Zeroizing<Vec<u8>>, i32)> {
    use der::Encode;
    if t.ulong(CKA_KEY_TYPE)? != Some(CKK_RSA) {
        // EC private keys are imported wrapped (C_UnwrapKey), not in parts.
        return ck(CKR_ATTRIBUTE_VALUE_INVALID);
    }
    let need = |a| t.get(a).ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE));
    let bad = |_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID);
    let uint = |a| der::asn1::UintRef::new(need(a)?).map_err(bad);
    let key = pkcs1::RsaPrivateKey {
        modulus: uint(CKA_MODULUS)?,
        public_exponent: uint(CKA_PUBLIC_EXPONENT)?,
        private_exponent: uint(CKA_PRIVATE_EXPONENT)?,
        prime1: uint(CKA_PRIME_1)?,
        prime2: uint(CKA_PRIME_2)?,
        exponent1: uint(CKA_EXPONENT_1)?,
        exponent2: uint(CKA_EXPONENT_2)?,
        coefficient: uint(CKA_COEFFICIENT)?,
        other_prime_infos: None,
    };
    let bits = i32::try_from(key.modulus.as_bytes().len() * 8)
        .map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID))?;
    Ok((Zeroizing::new(key.to_der().map_err(bad)?), bits))
}
