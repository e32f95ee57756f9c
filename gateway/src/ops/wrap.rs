//! Key wrapping: Get with a Key Wrapping Specification (KMIP 1.4 §2.1.6, §4.11;
//! 2.1 §2.1.6, §6.1.23) and Register of a wrapped Key Block (1.4 §2.1.5 Key
//! Wrapping Data, §4.3).
//!
//! Only the Wrapping Method Encrypt is offered. The wrapping key is a key of the
//! same vault named by UID in the Encryption Key Information; it must be Active
//! (its dates allowing protection, for wrapping) and carry Wrap Key (export) or
//! Unwrap Key (import) in its Cryptographic Usage Mask. The method follows from the
//! wrapping key and the Cryptographic Parameters given (else the key's own):
//!
//! | wrapping key | Cryptographic Parameters | method |
//! |---|---|---|
//! | AES | Block Cipher Mode NIST Key Wrap, or none | AES key wrap, RFC 3394 |
//! | AES | Block Cipher Mode AES Key Wrap Padding | AES key wrap with padding, RFC 5649 |
//! | RSA public (private to unwrap) | Padding Method OAEP or none, no Block Cipher Mode | RSA-OAEP |
//! | RSA public (private to unwrap) | Block Cipher Mode AES Key Wrap Padding (or NIST Key Wrap) | RSA-AES key wrap (`CKM_RSA_AES_KEY_WRAP`) |
//!
//! RSA-OAEP uses the Hashing Algorithm given (SHA-1 when none) for both the label
//! hash and MGF1. Encoding Option No Encoding wraps the Key Material bytes alone;
//! TTLV Encoding (the default, 1.4 §2.1.5) wraps the TTLV encoding of the Key Value
//! structure. A symmetric key wrapped with No Encoding never exists in clear in the
//! gateway on a PKCS#11 vault: the backend wraps it with `C_WrapKey` (export) or
//! unwraps it with `C_UnwrapKey` (import).

use super::attributes::reason;
use super::crypto::{crypto_error, hash_alg, key_kind, params, unsupported, usable, Use};
use super::object::{self, aad, Obj};
use super::{OpCtx, OpError};
use crate::backend::{Export, KeyRef, KeyUse};
use crate::crypto::{HashAlg, KeyKind, WrapMethod};
use kmip::messages::codec::{Codec, Ctx};
use kmip::messages::objects::{
    KeyInformation, KeyMaterial, KeyValue, KeyWrappingData, KeyWrappingSpecification, ManagedObject,
};
use kmip::ttlv::{binary, Limits, Tag};
use kmip::types::{
    BlockCipherMode, EncodingOption, KeyFormatType, ObjectType, PaddingMethod, ResultReason,
    WrappingMethod,
};
use zeroize::Zeroizing;

/// Largest wrapped Key Value accepted by Register (an RSA-AES wrapped 4096-bit
/// private key is under 3 KiB).
pub const MAX_WRAPPED_LEN: usize = 64 * 1024;

/// A wrapping (or unwrapping) key of the vault, checked for its use.
pub(super) struct Wrapping {
    uid: String,
    key: KeyRef,
    aad: Vec<u8>,
    kind: KeyKind,
    method: WrapMethod,
}

impl Wrapping {
    fn key_use(&self) -> KeyUse<'_> {
        KeyUse {
            key: &self.key,
            aad: &self.aad,
            kind: self.kind,
        }
    }
}

/// A wrapped symmetric key that the backend unwraps into its own custody during
/// Register (see [`prepare_register`]).
pub(super) struct PendingUnwrap {
    wrapping: Wrapping,
    wrapped: Vec<u8>,
}

impl PendingUnwrap {
    /// Unwraps into the backend as a new key of `kind` bound to `key_aad`.
    pub(super) fn finish(
        &self,
        ctx: &OpCtx<'_>,
        kind: KeyKind,
        export: Export,
        key_aad: &[u8],
    ) -> Result<KeyRef, OpError> {
        ctx.backend
            .unwrap_key(
                self.wrapping.key_use(),
                self.wrapping.method,
                &self.wrapped,
                crate::backend::NewKey {
                    kind,
                    export,
                    aad: key_aad,
                },
            )
            .map_err(crypto_error)
    }
}

/// Loads the key an Encryption Key Information names and picks the method.
fn wrapping_key(
    ctx: &mut OpCtx<'_>,
    info: &KeyInformation,
    usage: Use,
) -> Result<Wrapping, OpError> {
    let (obj, key) = usable(ctx, &Some(info.unique_identifier.clone()), usage)?;
    let kind = key_kind(&obj)?;
    let given = info.cryptographic_parameters.as_deref().cloned();
    let p = params(&obj, &given);
    let rsa = match (kind, usage) {
        (KeyKind::Aes(_), _) => false,
        (KeyKind::RsaPublic(_), Use::WrapKey) | (KeyKind::RsaPrivate(_), Use::UnwrapKey) => true,
        (other, _) => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                format!(
                    "a {other:?} key cannot be used to {} (AES keys and RSA {} keys can)",
                    if usage == Use::WrapKey {
                        "wrap"
                    } else {
                        "unwrap"
                    },
                    if usage == Use::WrapKey {
                        "public"
                    } else {
                        "private"
                    }
                ),
            ))
        }
    };
    let method = if rsa {
        let hash = p
            .hashing_algorithm
            .map(hash_alg)
            .transpose()?
            .unwrap_or(HashAlg::Sha1);
        if p.padding_method.is_some_and(|m| m != PaddingMethod::Oaep) {
            return Err(unsupported(
                "RSA key wrapping is offered with OAEP padding only",
            ));
        }
        match p.block_cipher_mode {
            None => WrapMethod::RsaOaep(hash),
            Some(BlockCipherMode::AesKeyWrapPadding | BlockCipherMode::NistKeyWrap) => {
                WrapMethod::RsaAesKw(hash)
            }
            Some(m) => {
                return Err(unsupported(format!(
                    "block cipher mode {m:?} with an RSA wrapping key"
                )))
            }
        }
    } else {
        match p.block_cipher_mode {
            None | Some(BlockCipherMode::NistKeyWrap) => WrapMethod::AesKw,
            Some(BlockCipherMode::AesKeyWrapPadding) => WrapMethod::AesKwp,
            Some(m) => {
                return Err(unsupported(format!(
                    "block cipher mode {m:?} does not wrap keys (NIST Key Wrap and AES Key \
                     Wrap Padding do)"
                )))
            }
        }
    };
    Ok(Wrapping {
        aad: aad(&ctx.vault.name, &obj.rec.uid),
        uid: obj.rec.uid,
        key,
        kind,
        method,
    })
}

/// Only Encrypt is offered: MAC/sign wrapping and TR-31 are refused by name.
fn check_method(
    method: WrappingMethod,
    mac: &Option<KeyInformation>,
    enc: &Option<KeyInformation>,
) -> Result<KeyInformation, OpError> {
    if method != WrappingMethod::Encrypt || mac.is_some() {
        return Err(unsupported(format!(
            "wrapping method {method:?} is not offered (Encrypt is)"
        )));
    }
    enc.clone().ok_or_else(|| {
        OpError::new(
            ResultReason::InvalidField,
            "Wrapping Method Encrypt without Encryption Key Information",
        )
    })
}

/// Whether `obj` may leave wrapped (the caller has checked the role): a key that is
/// not Extractable only when the vault allows wrapped export (`allow_wrapped_export`);
/// a Sensitive one may (KMIP 1.4 §3.48: Sensitive keeps a value from Get "unless it
/// is wrapped by another key").
pub(super) fn check_export(ctx: &OpCtx<'_>, obj: &Obj) -> Result<(), OpError> {
    let locked = object::flag(&obj.attrs, Tag::EXTRACTABLE) == Some(false);
    if locked && !ctx.vault.allow_wrapped_export {
        return Err(OpError::new(
            reason(
                ctx.version,
                ResultReason::NotExtractable,
                ResultReason::PermissionDenied,
            ),
            format!(
                "the object is not extractable, and vault {} does not allow wrapped export \
                 (allow_wrapped_export)",
                ctx.vault.name
            ),
        ));
    }
    Ok(())
}

/// Get with a Key Wrapping Specification: the object with its Key Value wrapped and
/// Key Wrapping Data set. `plain` builds the object as a Get without wrapping would
/// (format conversions included); it is called only when the gateway must read the
/// material (TTLV encoding, asymmetric keys).
pub(super) fn wrap_for_get(
    ctx: &mut OpCtx<'_>,
    spec: &KeyWrappingSpecification,
    obj: &Obj,
    template: &ManagedObject,
    key_ref: &KeyRef,
    plain: impl FnOnce(&mut OpCtx<'_>) -> Result<ManagedObject, OpError>,
) -> Result<ManagedObject, OpError> {
    let info = check_method(
        spec.wrapping_method,
        &spec.mac_signature_key_information,
        &spec.encryption_key_information,
    )?;
    if !spec.attribute_names.0.is_empty() {
        return Err(unsupported(
            "wrapping attributes with the key (Attribute Name) is not offered",
        ));
    }
    let w = wrapping_key(ctx, &info, Use::WrapKey)?;
    if w.uid == obj.rec.uid {
        return Err(OpError::new(
            ResultReason::InvalidField,
            "a key cannot wrap itself",
        ));
    }
    let encoding = spec.encoding_option.unwrap_or(EncodingOption::TtlvEncoding);
    let object_type = ObjectType::from_value(obj.rec.object_type);
    let (mut out, wrapped) =
        if encoding == EncodingOption::NoEncoding && object_type == ObjectType::SymmetricKey {
            // The backend wraps the key where it lives (PKCS#11: C_WrapKey).
            let target_aad = aad(&ctx.vault.name, &obj.rec.uid);
            let target = KeyUse {
                key: key_ref,
                aad: &target_aad,
                kind: key_kind(obj)?,
            };
            let wrapped = ctx
                .backend
                .wrap_key(w.key_use(), w.method, target)
                .map_err(crypto_error)?;
            let mut out = template.clone();
            if let Some(kb) = out.key_block_mut() {
                kb.key_format_type = KeyFormatType::Raw;
            }
            (out, wrapped)
        } else {
            let out = plain(ctx)?;
            let kb = out.key_block().ok_or_else(|| {
                unsupported(format!("a {object_type:?} has no Key Block to wrap"))
            })?;
            let clear: Zeroizing<Vec<u8>> = match (&kb.key_value, encoding) {
                (Some(v @ KeyValue::Plain { .. }), EncodingOption::TtlvEncoding) => Zeroizing::new(
                    binary::encode(&v.encode(Tag::KEY_VALUE, &Ctx::new(ctx.version))),
                ),
                (
                    Some(KeyValue::Plain {
                        key_material: KeyMaterial::Bytes(b),
                        ..
                    }),
                    _,
                ) => Zeroizing::new(b.clone()),
                _ => {
                    return Err(OpError::new(
                        ResultReason::EncodingOptionError,
                        "No Encoding wraps a byte-string Key Material only; ask for a byte \
                         format (Raw, PKCS#1, PKCS#8) or TTLV Encoding",
                    ))
                }
            };
            let wrapped = ctx
                .backend
                .wrap_bytes(w.key_use(), w.method, &clear)
                .map_err(crypto_error)?;
            (out, wrapped)
        };
    let kb = out
        .key_block_mut()
        .ok_or_else(|| unsupported("the object has no Key Block"))?;
    kb.key_value = Some(KeyValue::Wrapped(wrapped));
    kb.key_wrapping_data = Some(Box::new(KeyWrappingData::encrypted(
        info,
        spec.encoding_option,
    )));
    Ok(out)
}

/// Register of a wrapped Key Block: checks the Key Wrapping Data and the unwrapping
/// key, then either unwraps the Key Value in `object` into its clear form (TTLV
/// encoding, asymmetric keys) or, for a Raw symmetric key wrapped with No Encoding,
/// empties it and returns what the backend will unwrap into its own custody once the
/// new object's policy is known ([`PendingUnwrap::finish`]). An object without Key
/// Wrapping Data is left alone.
pub(super) fn prepare_register(
    ctx: &mut OpCtx<'_>,
    object: &mut ManagedObject,
) -> Result<Option<PendingUnwrap>, OpError> {
    let symmetric = matches!(object, ManagedObject::SymmetricKey(_));
    let Some(kb) = object.key_block_mut() else {
        return Ok(None);
    };
    let Some(data) = kb.key_wrapping_data.take() else {
        return Ok(None);
    };
    let info = check_method(
        data.wrapping_method,
        &data.mac_signature_key_information,
        &data.encryption_key_information,
    )?;
    if data.mac_signature.is_some() || data.iv_counter_nonce.is_some() {
        return Err(unsupported(
            "Key Wrapping Data with a MAC/Signature or an IV is not offered",
        ));
    }
    let Some(KeyValue::Wrapped(wrapped)) = kb.key_value.take() else {
        return Err(OpError::new(
            ResultReason::InvalidField,
            "Key Wrapping Data with a Key Value that is not wrapped (a Byte String)",
        ));
    };
    if wrapped.is_empty() || wrapped.len() > MAX_WRAPPED_LEN {
        return Err(OpError::new(
            ResultReason::InvalidField,
            format!(
                "a wrapped Key Value of {} bytes (1..={MAX_WRAPPED_LEN})",
                wrapped.len()
            ),
        ));
    }
    let w = wrapping_key(ctx, &info, Use::UnwrapKey)?;
    let encoding = data.encoding_option.unwrap_or(EncodingOption::TtlvEncoding);
    if encoding == EncodingOption::NoEncoding
        && symmetric
        && kb.key_format_type == KeyFormatType::Raw
    {
        kb.key_value = Some(KeyValue::plain(KeyMaterial::Bytes(Vec::new())));
        return Ok(Some(PendingUnwrap {
            wrapping: w,
            wrapped,
        }));
    }
    let clear = ctx
        .backend
        .unwrap_bytes(w.key_use(), w.method, &wrapped)
        .map_err(crypto_error)?;
    kb.key_value = Some(match encoding {
        EncodingOption::NoEncoding => KeyValue::plain(KeyMaterial::Bytes(
            trim_der(kb.key_format_type, &clear).to_vec(),
        )),
        _ => {
            let bad = |what: &str| {
                OpError::new(
                    ResultReason::EncodingOptionError,
                    format!("the unwrapped Key Value {what}"),
                )
            };
            let t = binary::decode(&clear, &Limits::DEFAULT)
                .map_err(|_| bad("is not TTLV (was it wrapped with No Encoding?)"))?;
            if t.tag != Tag::KEY_VALUE {
                return Err(bad("is not a Key Value structure"));
            }
            match KeyValue::decode(&t, &Ctx::new(ctx.version)) {
                Ok(v @ KeyValue::Plain { .. }) => v,
                _ => return Err(bad("does not decode")),
            }
        }
    });
    Ok(None)
}

/// A DER value (PKCS#1, PKCS#8, X.509, SEC1) unwrapped with RFC 5649 by a token that
/// leaves the padding on (SoftHSM 2.6.1, `CKM_AES_KEY_WRAP_PAD`, for a length that is
/// not a multiple of 8): the value ends where its own length says, and at most 7
/// zero bytes after it are padding. Anything else is returned as it is.
fn trim_der(format: KeyFormatType, clear: &[u8]) -> &[u8] {
    use der::Reader;
    if !matches!(
        format,
        KeyFormatType::Pkcs1
            | KeyFormatType::Pkcs8
            | KeyFormatType::X509
            | KeyFormatType::EcPrivateKey
    ) {
        return clear;
    }
    let Ok(mut reader) = der::SliceReader::new(clear) else {
        return clear;
    };
    match reader.tlv_bytes() {
        Ok(tlv) if clear.len() - tlv.len() < 8 && clear[tlv.len()..].iter().all(|b| *b == 0) => tlv,
        _ => clear,
    }
}
