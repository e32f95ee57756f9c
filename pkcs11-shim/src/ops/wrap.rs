//! C_WrapKey as a KMIP Get with a Key Wrapping Specification, and C_UnwrapKey as a
//! Register of a wrapped Key Block (KMIP 2.1 §6.1.23, §6.1.41; Key Wrapping
//! Specification and Key Wrapping Data, §2.1.6/§2.1.5). Both use the Wrapping
//! Method Encrypt with Encoding Option No Encoding, so the wrapped bytes are those
//! PKCS#11 defines: the key value (secret keys) or the PKCS#8 PrivateKeyInfo
//! (private keys), wrapped. The gateway wraps and unwraps inside its backend; on an
//! HSM vault the clear key never exists outside the token.
//!
//! | mechanism | Cryptographic Parameters sent |
//! |---|---|
//! | CKM_AES_KEY_WRAP | Block Cipher Mode NIST Key Wrap (RFC 3394) |
//! | CKM_AES_KEY_WRAP_PAD (0x210A) and CKM_AES_KEY_WRAP_KWP (0x210B) | AES Key Wrap Padding (RFC 5649) |
//! | CKM_RSA_PKCS_OAEP | Padding Method OAEP, its hash for label and MGF1 |
//! | CKM_RSA_AES_KEY_WRAP | AES Key Wrap Padding + OAEP: RSA-OAEP of an ephemeral AES-256 key, then RFC 5649 |

use super::crypto::oaep;
use crate::error::{ck, Error, Result};
use crate::gateway::Gateway;
use crate::mechanism::{Mechanism, Params};
use crate::object::{self, ObjInfo, Template, COMMON};
use cryptoki_sys::*;
use kmip::messages::objects::{
    CryptographicParameters, KeyBlock, KeyInformation, KeyValue, KeyWrappingData,
    KeyWrappingSpecification, ManagedObject, PrivateKey, SymmetricKey,
};
use kmip::messages::payloads::{GetRequest, RequestPayload, ResponsePayload};
use kmip::messages::Attribute;
use kmip::ttlv::{Tag, Value};
use kmip::types::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask as U, EncodingOption,
    KeyFormatType, ObjectType, Operation, WrappingMethod,
};

/// The Cryptographic Parameters for a wrapping mechanism, checked against the
/// wrapping key's type. `wrapping` is true for C_WrapKey.
fn params(m: &Mechanism, key: &ObjInfo, wrapping: bool) -> Result<CryptographicParameters> {
    let key_is = |k: CK_KEY_TYPE| {
        if key.key_type == Some(k) {
            Ok(())
        } else {
            ck(CKR_WRAPPING_KEY_TYPE_INCONSISTENT)
        }
    };
    let aes = |mode| CryptographicParameters {
        block_cipher_mode: Some(mode),
        ..Default::default()
    };
    match (m.kind, &m.params) {
        (CKM_AES_KEY_WRAP, Params::None) => {
            key_is(CKK_AES)?;
            Ok(aes(BlockCipherMode::NistKeyWrap))
        }
        (CKM_AES_KEY_WRAP_PAD | CKM_AES_KEY_WRAP_KWP, Params::None) => {
            key_is(CKK_AES)?;
            Ok(aes(BlockCipherMode::AesKeyWrapPadding))
        }
        // An explicit IV other than the RFC default is not offered.
        (CKM_AES_KEY_WRAP | CKM_AES_KEY_WRAP_PAD | CKM_AES_KEY_WRAP_KWP, Params::Iv(iv))
            if iv.is_empty() =>
        {
            key_is(CKK_AES)?;
            Ok(aes(if m.kind == CKM_AES_KEY_WRAP {
                BlockCipherMode::NistKeyWrap
            } else {
                BlockCipherMode::AesKeyWrapPadding
            }))
        }
        (CKM_RSA_PKCS_OAEP, Params::Oaep(o)) => {
            key_is(CKK_RSA)?;
            oaep(o)
        }
        (CKM_RSA_AES_KEY_WRAP, Params::RsaAesWrap { aes_bits, oaep: o }) => {
            key_is(CKK_RSA)?;
            // The gateway wraps with an ephemeral AES-256 key; unwrapping reads the
            // ephemeral key's length from the data.
            if wrapping && *aes_bits != 256 {
                return ck(CKR_MECHANISM_PARAM_INVALID);
            }
            let mut p = oaep(o)?;
            p.block_cipher_mode = Some(BlockCipherMode::AesKeyWrapPadding);
            Ok(p)
        }
        (
            CKM_AES_KEY_WRAP | CKM_AES_KEY_WRAP_PAD | CKM_AES_KEY_WRAP_KWP | CKM_RSA_PKCS_OAEP
            | CKM_RSA_AES_KEY_WRAP,
            _,
        ) => ck(CKR_MECHANISM_PARAM_INVALID),
        _ => ck(CKR_MECHANISM_INVALID),
    }
}

/// C_WrapKey: `target` wrapped under `wrapping` (§5.14).
pub fn wrap(
    g: &Gateway,
    m: &Mechanism,
    wrapping_uid: &str,
    wrapping: &ObjInfo,
    target_uid: &str,
    target: &ObjInfo,
) -> Result<Vec<u8>> {
    let p = params(m, wrapping, true)?;
    let format = match target.class {
        CKO_SECRET_KEY => KeyFormatType::Raw,
        CKO_PRIVATE_KEY => KeyFormatType::Pkcs8,
        _ => return ck(CKR_KEY_NOT_WRAPPABLE),
    };
    let r = g
        .call(
            Operation::Get,
            RequestPayload::Get(GetRequest {
                unique_identifier: Some(target_uid.to_owned()),
                key_format_type: Some(format),
                key_wrapping_specification: Some(Box::new(KeyWrappingSpecification {
                    wrapping_method: WrappingMethod::Encrypt,
                    encryption_key_information: Some(KeyInformation {
                        unique_identifier: wrapping_uid.to_owned(),
                        cryptographic_parameters: Some(Box::new(p)),
                        extensions: Vec::new(),
                    }),
                    mac_signature_key_information: None,
                    attribute_names: Default::default(),
                    encoding_option: Some(EncodingOption::NoEncoding),
                    extensions: Vec::new(),
                })),
                ..Default::default()
            }),
        )
        .map_err(|e| match e.rv() {
            CKR_KEY_UNEXTRACTABLE => Error::Ck(CKR_KEY_UNEXTRACTABLE),
            CKR_OBJECT_HANDLE_INVALID => Error::Ck(CKR_KEY_HANDLE_INVALID),
            _ => e,
        })?;
    let ResponsePayload::Get(r) = r else {
        return Err(Error::Protocol("Get: unexpected payload".into()));
    };
    let block = match &r.object {
        ManagedObject::SymmetricKey(k) => &k.key_block,
        ManagedObject::PrivateKey(k) => &k.key_block,
        _ => return Err(Error::Protocol("wrapped Get: not a key".into())),
    };
    match &block.key_value {
        Some(KeyValue::Wrapped(bytes)) => Ok(bytes.clone()),
        _ => Err(Error::Protocol(
            "wrapped Get answered an unwrapped key".into(),
        )),
    }
}

/// The length of a secret key that the template does not give, from the wrapped
/// bytes where the method fixes it: RFC 3394 adds 8 bytes; RFC 5649 adds 8 to a
/// key whose length is a multiple of 8 (every AES key); RSA-AES key wrap is the
/// modulus-long RSA part followed by RFC 5649. RSA-OAEP hides the length, so
/// CKA_VALUE_LEN is then required (the gateway must know the key it creates).
fn implied_bits(
    m: &Mechanism,
    unwrapping: &ObjInfo,
    wrapped: &[u8],
    key_type: CK_KEY_TYPE,
) -> Result<i32> {
    let body = match m.kind {
        CKM_AES_KEY_WRAP => Some(wrapped.len()),
        CKM_AES_KEY_WRAP_PAD | CKM_AES_KEY_WRAP_KWP if key_type == CKK_AES => Some(wrapped.len()),
        CKM_RSA_AES_KEY_WRAP if key_type == CKK_AES => unwrapping
            .key_bits()
            .map(|b| (b as usize).div_ceil(8))
            .and_then(|n| wrapped.len().checked_sub(n)),
        _ => None,
    };
    match body.and_then(|b| b.checked_sub(8)) {
        Some(n) if n > 0 => i32::try_from(n * 8).map_err(|_| Error::Ck(CKR_WRAPPED_KEY_LEN_RANGE)),
        Some(_) => ck(CKR_WRAPPED_KEY_LEN_RANGE),
        None => ck(CKR_TEMPLATE_INCOMPLETE),
    }
}

/// Attributes an unwrap template may carry beyond [`COMMON`].
const UNWRAP: &[CK_ATTRIBUTE_TYPE] = &[CKA_VALUE_LEN];

/// C_UnwrapKey: registers `wrapped` as a new key, unwrapped by the gateway under
/// `unwrapping` (§5.14). Returns the UID and whether it is a token object.
pub fn unwrap(
    g: &Gateway,
    m: &Mechanism,
    unwrapping_uid: &str,
    unwrapping: &ObjInfo,
    wrapped: &[u8],
    t: &Template,
) -> Result<(String, bool)> {
    t.only(&[COMMON, UNWRAP].concat())?;
    let p = params(m, unwrapping, false)?;
    let class = t.ulong(CKA_CLASS)?.unwrap_or(CKO_SECRET_KEY);
    let key_type = t
        .ulong(CKA_KEY_TYPE)?
        .ok_or(Error::Ck(CKR_TEMPLATE_INCOMPLETE))?;
    let bits = match t.ulong(CKA_VALUE_LEN)? {
        Some(l) => Some(i32::try_from(l * 8).map_err(|_| Error::Ck(CKR_ATTRIBUTE_VALUE_INVALID))?),
        None if class == CKO_SECRET_KEY => Some(implied_bits(m, unwrapping, wrapped, key_type)?),
        None => None,
    };
    let (object_type, format, alg, hmac, default) = match (class, key_type) {
        (CKO_SECRET_KEY, CKK_AES) => (
            ObjectType::SymmetricKey,
            KeyFormatType::Raw,
            CryptographicAlgorithm::Aes,
            false,
            U::Encrypt.value() | U::Decrypt.value() | U::WrapKey.value() | U::UnwrapKey.value(),
        ),
        (CKO_SECRET_KEY, CKK_GENERIC_SECRET) => (
            ObjectType::SymmetricKey,
            KeyFormatType::Raw,
            CryptographicAlgorithm::HmacSha256,
            true,
            U::MacGenerate.value() | U::MacVerify.value(),
        ),
        (CKO_PRIVATE_KEY, CKK_RSA) => (
            ObjectType::PrivateKey,
            KeyFormatType::Pkcs8,
            CryptographicAlgorithm::Rsa,
            false,
            U::Sign.value() | U::Decrypt.value() | U::UnwrapKey.value(),
        ),
        (CKO_PRIVATE_KEY, CKK_EC) => (
            ObjectType::PrivateKey,
            KeyFormatType::Pkcs8,
            CryptographicAlgorithm::Ecdsa,
            false,
            U::Sign.value(),
        ),
        _ => return ck(CKR_TEMPLATE_INCONSISTENT),
    };
    let mut attrs = object::common_attributes(t, true)?;
    attrs.push(Attribute::standard(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        Value::Integer(i32::from_ne_bytes(
            object::usage_mask(t, hmac, default)?.to_ne_bytes(),
        )),
    ));
    attrs.push(super::keys::activation_now());
    let block = KeyBlock {
        key_format_type: format,
        key_compression_type: None,
        key_value: Some(KeyValue::Wrapped(wrapped.to_vec())),
        cryptographic_algorithm: Some(alg),
        cryptographic_length: if object_type == ObjectType::SymmetricKey {
            bits
        } else {
            None
        },
        key_wrapping_data: Some(Box::new(KeyWrappingData::encrypted(
            KeyInformation {
                unique_identifier: unwrapping_uid.to_owned(),
                cryptographic_parameters: Some(Box::new(p)),
                extensions: Vec::new(),
            },
            Some(EncodingOption::NoEncoding),
        ))),
        extensions: Vec::new(),
    };
    let object = match object_type {
        ObjectType::SymmetricKey => ManagedObject::SymmetricKey(SymmetricKey {
            key_block: block,
            extensions: Vec::new(),
        }),
        _ => ManagedObject::PrivateKey(PrivateKey {
            key_block: block,
            extensions: Vec::new(),
        }),
    };
    let uid = super::keys::register(g, object_type, attrs, object).map_err(|e| match e.rv() {
        // The wrapped bytes did not open under the key.
        CKR_FUNCTION_FAILED => Error::Ck(CKR_WRAPPED_KEY_INVALID),
        _ => e,
    })?;
    Ok((uid, super::keys::token(t)?))
}
