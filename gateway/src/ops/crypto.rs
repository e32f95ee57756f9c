//! Cryptographic operations: Encrypt (KMIP 1.4 §4.29), Decrypt (§4.30), Sign
//! (§4.31), Signature Verify (§4.32), MAC (§4.33), MAC Verify (§4.34), RNG Retrieve
//! (§4.35), RNG Seed (§4.36), Hash (§4.37).
//!
//! The key never leaves its backend: the request is translated once into the
//! mechanism vocabulary of [`crate::crypto`] and the backend runs it (software engine
//! or PKCS#11 token). Every use checks the key's Cryptographic Usage Mask and state:
//! protecting operations (Encrypt, Sign, MAC) need an Active key; processing
//! operations (Decrypt, Signature Verify, MAC Verify) also accept a Deactivated or
//! Compromised one (1.4 §3.22, the "process" column). Streaming (Init/Final
//! Indicator, Correlation Value) is not offered and answers Operation Not Supported.

use super::object::{self, aad, Obj};
use super::{OpCtx, OpError};
use crate::backend::KeyRef;
use crate::crypto::{
    self, Cipher, CryptoError, Curve, HashAlg, KeyKind, MacAlg, SignInput, SignatureScheme,
};
use kmip::messages::objects::CryptographicParameters;
use kmip::messages::payloads::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, HashRequest, HashResponse,
    MacRequest, MacResponse, MacVerifyRequest, MacVerifyResponse, RngRetrieveRequest,
    RngRetrieveResponse, RngSeedRequest, RngSeedResponse, SignRequest, SignResponse,
    SignatureVerifyRequest, SignatureVerifyResponse,
};
use kmip::messages::Codec;
use kmip::ttlv::Tag;
use kmip::types::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, DigitalSignatureAlgorithm,
    HashingAlgorithm, ObjectType, PaddingMethod, RecommendedCurve, ResultReason, State,
    ValidityIndicator,
};
use zeroize::Zeroizing;

/// Most random bytes one RNG Retrieve may ask for.
pub const MAX_RNG_RETRIEVE: usize = 64 * 1024;

/// Encrypt.
pub fn encrypt(ctx: &mut OpCtx<'_>, req: &EncryptRequest) -> Result<EncryptResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let (obj, key) = usable(
        ctx,
        &req.unique_identifier,
        CryptographicUsageMask::Encrypt,
        true,
    )?;
    let kind = key_kind(&obj)?;
    let params = params(&obj, &req.cryptographic_parameters);
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    let cipher = cipher(
        kind,
        &params,
        req.iv_counter_nonce.clone(),
        aead(&req.authenticated_encryption_additional_data),
        None,
    )?;
    let out = ctx
        .backend
        .encrypt(
            &key,
            &aad(&ctx.vault.name, &obj.rec.uid),
            kind,
            &cipher,
            data,
        )
        .map_err(crypto_error)?;
    Ok(EncryptResponse {
        unique_identifier: obj.rec.uid,
        data: Some(out.data),
        iv_counter_nonce: out.iv,
        correlation_value: None,
        authenticated_encryption_tag: out.tag,
        extensions: Vec::new(),
    })
}

/// Decrypt.
pub fn decrypt(ctx: &mut OpCtx<'_>, req: &DecryptRequest) -> Result<DecryptResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let (obj, key) = usable(
        ctx,
        &req.unique_identifier,
        CryptographicUsageMask::Decrypt,
        false,
    )?;
    let kind = key_kind(&obj)?;
    let params = params(&obj, &req.cryptographic_parameters);
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    let cipher = cipher(
        kind,
        &params,
        req.iv_counter_nonce.clone(),
        aead(&req.authenticated_encryption_additional_data),
        req.authenticated_encryption_tag.clone(),
    )?;
    let out: Zeroizing<Vec<u8>> = ctx
        .backend
        .decrypt(
            &key,
            &aad(&ctx.vault.name, &obj.rec.uid),
            kind,
            &cipher,
            data,
        )
        .map_err(crypto_error)?;
    Ok(DecryptResponse {
        unique_identifier: obj.rec.uid,
        data: Some(out.to_vec()),
        correlation_value: None,
        extensions: Vec::new(),
    })
}

/// Sign.
pub fn sign(ctx: &mut OpCtx<'_>, req: &SignRequest) -> Result<SignResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let (obj, key) = usable(
        ctx,
        &req.unique_identifier,
        CryptographicUsageMask::Sign,
        true,
    )?;
    let kind = key_kind(&obj)?;
    let scheme = signature_scheme(kind, &params(&obj, &req.cryptographic_parameters))?;
    let input = sign_input(&req.data, &req.digested_data)?;
    let sig = ctx
        .backend
        .sign(
            &key,
            &aad(&ctx.vault.name, &obj.rec.uid),
            kind,
            scheme,
            input,
        )
        .map_err(crypto_error)?;
    Ok(SignResponse {
        unique_identifier: obj.rec.uid,
        signature_data: Some(sig),
        correlation_value: None,
        extensions: Vec::new(),
    })
}

/// Signature Verify.
pub fn signature_verify(
    ctx: &mut OpCtx<'_>,
    req: &SignatureVerifyRequest,
) -> Result<SignatureVerifyResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let (obj, key) = usable(
        ctx,
        &req.unique_identifier,
        CryptographicUsageMask::Verify,
        false,
    )?;
    let kind = key_kind(&obj)?;
    let scheme = signature_scheme(kind, &params(&obj, &req.cryptographic_parameters))?;
    let input = sign_input(&req.data, &req.digested_data)?;
    let sig = req
        .signature_data
        .as_deref()
        .ok_or_else(|| missing("Signature Data"))?;
    let ok = ctx
        .backend
        .verify(
            &key,
            &aad(&ctx.vault.name, &obj.rec.uid),
            kind,
            scheme,
            input,
            sig,
        )
        .map_err(crypto_error)?;
    Ok(SignatureVerifyResponse {
        unique_identifier: obj.rec.uid,
        validity_indicator: if ok {
            ValidityIndicator::Valid
        } else {
            ValidityIndicator::Invalid
        },
        data: None,
        correlation_value: None,
        extensions: Vec::new(),
    })
}

/// MAC.
pub fn mac(ctx: &mut OpCtx<'_>, req: &MacRequest) -> Result<MacResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let (obj, key) = usable(
        ctx,
        &req.unique_identifier,
        CryptographicUsageMask::MacGenerate,
        true,
    )?;
    let kind = key_kind(&obj)?;
    let alg = mac_alg(kind, &params(&obj, &req.cryptographic_parameters))?;
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    let m = ctx
        .backend
        .mac(&key, &aad(&ctx.vault.name, &obj.rec.uid), kind, alg, data)
        .map_err(crypto_error)?;
    Ok(MacResponse {
        unique_identifier: obj.rec.uid,
        mac_data: Some(m),
        correlation_value: None,
        extensions: Vec::new(),
    })
}

/// MAC Verify: recomputes the MAC in the backend and compares in constant time.
pub fn mac_verify(
    ctx: &mut OpCtx<'_>,
    req: &MacVerifyRequest,
) -> Result<MacVerifyResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let (obj, key) = usable(
        ctx,
        &req.unique_identifier,
        CryptographicUsageMask::MacVerify,
        false,
    )?;
    let kind = key_kind(&obj)?;
    let alg = mac_alg(kind, &params(&obj, &req.cryptographic_parameters))?;
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    let want = req.mac_data.as_deref().ok_or_else(|| missing("MAC Data"))?;
    let m = ctx
        .backend
        .mac(&key, &aad(&ctx.vault.name, &obj.rec.uid), kind, alg, data)
        .map_err(crypto_error)?;
    let ok = m.len() == want.len() && openssl::memcmp::eq(&m, want);
    Ok(MacVerifyResponse {
        unique_identifier: obj.rec.uid,
        validity_indicator: if ok {
            ValidityIndicator::Valid
        } else {
            ValidityIndicator::Invalid
        },
        correlation_value: None,
        extensions: Vec::new(),
    })
}

/// RNG Retrieve: bytes from the vault's backend generator.
pub fn rng_retrieve(
    ctx: &mut OpCtx<'_>,
    req: &RngRetrieveRequest,
) -> Result<RngRetrieveResponse, OpError> {
    let len = usize::try_from(req.data_length)
        .ok()
        .filter(|l| *l > 0 && *l <= MAX_RNG_RETRIEVE)
        .ok_or_else(|| {
            OpError::new(
                ResultReason::InvalidField,
                format!("Data Length must be 1..={MAX_RNG_RETRIEVE}"),
            )
        })?;
    let data = ctx.backend.random(len)?;
    Ok(RngRetrieveResponse {
        data: data.to_vec(),
        extensions: Vec::new(),
    })
}

/// RNG Seed: the generators Keygate uses (the operating system's CSPRNG, the HSM's
/// RNG) take no seed from clients, so no byte is accepted: Data Length 0, as the
/// specification allows ("the amount of seed data accepted").
pub fn rng_seed(_ctx: &mut OpCtx<'_>, req: &RngSeedRequest) -> Result<RngSeedResponse, OpError> {
    let _ = &req.data;
    Ok(RngSeedResponse {
        data_length: 0,
        extensions: Vec::new(),
    })
}

/// Hash: computed locally (no key involved).
pub fn hash(_ctx: &mut OpCtx<'_>, req: &HashRequest) -> Result<HashResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let alg = req
        .cryptographic_parameters
        .hashing_algorithm
        .ok_or_else(|| missing("Hashing Algorithm"))
        .and_then(hash_alg)?;
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    Ok(HashResponse {
        data: Some(crypto::software::hash(alg, data)),
        correlation_value: None,
        extensions: Vec::new(),
    })
}

fn missing(what: &str) -> OpError {
    OpError::new(ResultReason::InvalidField, format!("{what} is required"))
}

fn no_streaming(
    init: Option<bool>,
    fin: Option<bool>,
    corr: &Option<Vec<u8>>,
) -> Result<(), OpError> {
    if init == Some(true) || fin == Some(false) || corr.is_some() {
        return Err(OpError::new(
            ResultReason::OperationNotSupported,
            "streaming (Init/Final Indicator, Correlation Value) is not supported: send the data in one request",
        ));
    }
    Ok(())
}

/// Loads a key for a cryptographic use and checks mask and state.
fn usable(
    ctx: &mut OpCtx<'_>,
    uid: &Option<String>,
    usage: CryptographicUsageMask,
    protect: bool,
) -> Result<(Obj, KeyRef), OpError> {
    let obj = object::load(ctx, uid)?;
    object::not_archived(&obj)?;
    let mask = obj.attrs.cryptographic_usage_mask().unwrap_or_default();
    if !mask.contains(usage.value()) {
        return Err(OpError::new(
            super::attributes::reason(
                ctx.version,
                ResultReason::IncompatibleCryptographicUsageMask,
                ResultReason::IllegalOperation,
            ),
            format!("the key's Cryptographic Usage Mask does not allow {usage:?}"),
        ));
    }
    let state = object::state(&obj);
    let ok = match state {
        State::Active => true,
        State::Deactivated | State::Compromised => !protect,
        _ => false,
    };
    if !ok {
        return Err(OpError::new(
            super::attributes::reason(
                ctx.version,
                ResultReason::WrongKeyLifecycleState,
                ResultReason::IllegalOperation,
            ),
            format!("the key is {state:?}"),
        ));
    }
    let key = obj.rec.key_ref.clone().map(KeyRef).ok_or_else(|| {
        OpError::new(
            ResultReason::KeyValueNotPresent,
            "the key's material was destroyed",
        )
    })?;
    Ok((obj, key))
}

/// The mechanism-level kind of a stored key, from its attributes.
fn key_kind(obj: &Obj) -> Result<KeyKind, OpError> {
    let alg = obj.attrs.cryptographic_algorithm();
    let bits = obj
        .attrs
        .cryptographic_length()
        .and_then(|l| u32::try_from(l).ok())
        .unwrap_or(0);
    let t = ObjectType::from_value(obj.rec.object_type);
    let curve = || -> Result<Curve, OpError> {
        let c = obj
            .attrs
            .get(Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS)
            .and_then(|d| d.child(Tag::RECOMMENDED_CURVE))
            .and_then(|c| RecommendedCurve::decode(c, &object::storage_ctx()).ok());
        match (c, bits) {
            (Some(RecommendedCurve::P256), _) | (None, 256) => Ok(Curve::P256),
            (Some(RecommendedCurve::P384), _) | (None, 384) => Ok(Curve::P384),
            _ => Err(OpError::new(
                ResultReason::FeatureNotSupported,
                "only curves P-256 and P-384 are supported",
            )),
        }
    };
    Ok(match (t, alg) {
        (ObjectType::SymmetricKey, Some(CryptographicAlgorithm::Aes)) => KeyKind::Aes(bits),
        (ObjectType::SymmetricKey, Some(CryptographicAlgorithm::Des3)) => KeyKind::Des3(bits),
        (
            ObjectType::SymmetricKey,
            Some(
                CryptographicAlgorithm::HmacSha1
                | CryptographicAlgorithm::HmacSha224
                | CryptographicAlgorithm::HmacSha256
                | CryptographicAlgorithm::HmacSha384
                | CryptographicAlgorithm::HmacSha512,
            ),
        ) => KeyKind::Hmac(bits),
        (ObjectType::PrivateKey, Some(CryptographicAlgorithm::Rsa)) => KeyKind::RsaPrivate(bits),
        (ObjectType::PublicKey, Some(CryptographicAlgorithm::Rsa)) => KeyKind::RsaPublic(bits),
        (
            ObjectType::PrivateKey,
            Some(CryptographicAlgorithm::Ecdsa | CryptographicAlgorithm::Ec),
        ) => KeyKind::EcPrivate(curve()?),
        (
            ObjectType::PublicKey,
            Some(CryptographicAlgorithm::Ecdsa | CryptographicAlgorithm::Ec),
        ) => KeyKind::EcPublic(curve()?),
        (ObjectType::PrivateKey, Some(CryptographicAlgorithm::Ed25519)) => KeyKind::Ed25519Private,
        (ObjectType::PublicKey, Some(CryptographicAlgorithm::Ed25519)) => KeyKind::Ed25519Public,
        (t, a) => {
            return Err(OpError::new(
                ResultReason::FeatureNotSupported,
                format!("no cryptographic operations for {t:?} keys of algorithm {a:?}"),
            ))
        }
    })
}

/// The request's Cryptographic Parameters, or the key's own attribute.
fn params(obj: &Obj, given: &Option<CryptographicParameters>) -> CryptographicParameters {
    given.clone().unwrap_or_else(|| {
        obj.attrs
            .get(Tag::CRYPTOGRAPHIC_PARAMETERS)
            .and_then(|t| CryptographicParameters::decode(t, &object::storage_ctx()).ok())
            .unwrap_or_default()
    })
}

fn aead(a: &Option<Vec<u8>>) -> Vec<u8> {
    a.clone().unwrap_or_default()
}

fn cipher(
    kind: KeyKind,
    p: &CryptographicParameters,
    iv: Option<Vec<u8>>,
    aad: Vec<u8>,
    tag: Option<Vec<u8>>,
) -> Result<Cipher, OpError> {
    let bad = |m: &str| OpError::new(ResultReason::InvalidField, m.to_owned());
    match kind {
        KeyKind::RsaPrivate(_) | KeyKind::RsaPublic(_) => {
            match p.padding_method.unwrap_or(PaddingMethod::Oaep) {
                PaddingMethod::Oaep => Ok(Cipher::RsaOaep {
                    hash: hash_alg(p.hashing_algorithm.unwrap_or(HashingAlgorithm::Sha1))?,
                }),
                PaddingMethod::Pkcs1V1_5 => Ok(Cipher::RsaPkcs1v15),
                other => Err(bad(&format!(
                    "RSA encryption with padding {other:?} is not supported"
                ))),
            }
        }
        KeyKind::Aes(_) | KeyKind::Des3(_) => {
            let pad = match p.padding_method {
                None | Some(PaddingMethod::None) => false,
                Some(PaddingMethod::Pkcs5) => true,
                Some(other) => return Err(bad(&format!("padding {other:?} is not supported"))),
            };
            match p.block_cipher_mode {
                Some(BlockCipherMode::Gcm) => Ok(Cipher::AesGcm {
                    nonce: iv,
                    aad,
                    tag_len: p.tag_length.map_or(16, |t| usize::try_from(t).unwrap_or(0)),
                    tag,
                }),
                Some(BlockCipherMode::Cbc) => Ok(Cipher::AesCbc { iv, pad }),
                Some(BlockCipherMode::Ctr) => Ok(Cipher::AesCtr { iv }),
                Some(BlockCipherMode::Ecb) => Ok(Cipher::AesEcb),
                Some(BlockCipherMode::NistKeyWrap) => Ok(Cipher::AesKeyWrap { pad: false }),
                Some(BlockCipherMode::AesKeyWrapPadding) => Ok(Cipher::AesKeyWrap { pad: true }),
                Some(other) => Err(OpError::new(
                    ResultReason::FeatureNotSupported,
                    format!("block cipher mode {other:?} is not supported"),
                )),
                None => Err(bad("Block Cipher Mode is required")),
            }
        }
        other => Err(OpError::new(
            ResultReason::InvalidField,
            format!("{other:?} keys do not encrypt"),
        )),
    }
}

fn hash_alg(h: HashingAlgorithm) -> Result<HashAlg, OpError> {
    Ok(match h {
        HashingAlgorithm::Sha1 => HashAlg::Sha1,
        HashingAlgorithm::Sha224 => HashAlg::Sha224,
        HashingAlgorithm::Sha256 => HashAlg::Sha256,
        HashingAlgorithm::Sha384 => HashAlg::Sha384,
        HashingAlgorithm::Sha512 => HashAlg::Sha512,
        other => {
            return Err(OpError::new(
                ResultReason::FeatureNotSupported,
                format!("hashing algorithm {other:?} is not supported"),
            ))
        }
    })
}

fn signature_scheme(
    kind: KeyKind,
    p: &CryptographicParameters,
) -> Result<SignatureScheme, OpError> {
    use DigitalSignatureAlgorithm as D;
    if let Some(d) = p.digital_signature_algorithm {
        return Ok(match d {
            D::Sha256WithRsaEncryption => SignatureScheme::RsaPkcs1v15(HashAlg::Sha256),
            D::Sha384WithRsaEncryption => SignatureScheme::RsaPkcs1v15(HashAlg::Sha384),
            D::Sha512WithRsaEncryption => SignatureScheme::RsaPkcs1v15(HashAlg::Sha512),
            D::RsassaPss => SignatureScheme::RsaPss(hash_alg(
                p.hashing_algorithm.unwrap_or(HashingAlgorithm::Sha256),
            )?),
            D::EcdsaWithSha256 => SignatureScheme::Ecdsa(HashAlg::Sha256),
            D::EcdsaWithSha384 => SignatureScheme::Ecdsa(HashAlg::Sha384),
            D::EcdsaWithSha512 => SignatureScheme::Ecdsa(HashAlg::Sha512),
            other => {
                return Err(OpError::new(
                    ResultReason::FeatureNotSupported,
                    format!("signature algorithm {other:?} is not supported"),
                ))
            }
        });
    }
    let hash = || hash_alg(p.hashing_algorithm.unwrap_or(HashingAlgorithm::Sha256));
    Ok(match kind {
        KeyKind::RsaPrivate(_) | KeyKind::RsaPublic(_) => match p.padding_method {
            Some(PaddingMethod::Pss) => SignatureScheme::RsaPss(hash()?),
            None | Some(PaddingMethod::Pkcs1V1_5) => SignatureScheme::RsaPkcs1v15(hash()?),
            Some(other) => {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    format!("RSA signatures with padding {other:?} are not supported"),
                ))
            }
        },
        KeyKind::EcPrivate(_) | KeyKind::EcPublic(_) => SignatureScheme::Ecdsa(hash()?),
        KeyKind::Ed25519Private | KeyKind::Ed25519Public => SignatureScheme::Ed25519,
        other => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                format!("{other:?} keys do not sign"),
            ))
        }
    })
}

fn sign_input<'a>(
    data: &'a Option<Vec<u8>>,
    digested: &'a Option<Vec<u8>>,
) -> Result<SignInput<'a>, OpError> {
    match (data, digested) {
        (Some(d), None) => Ok(SignInput::Message(d)),
        (None, Some(d)) => Ok(SignInput::Digest(d)),
        (Some(_), Some(_)) => Err(OpError::new(
            ResultReason::InvalidField,
            "give Data or Digested Data, not both",
        )),
        (None, None) => Err(missing("Data")),
    }
}

fn mac_alg(kind: KeyKind, p: &CryptographicParameters) -> Result<MacAlg, OpError> {
    let from_alg = |a: CryptographicAlgorithm| -> Option<MacAlg> {
        Some(match a {
            CryptographicAlgorithm::HmacSha1 => MacAlg::Hmac(HashAlg::Sha1),
            CryptographicAlgorithm::HmacSha224 => MacAlg::Hmac(HashAlg::Sha224),
            CryptographicAlgorithm::HmacSha256 => MacAlg::Hmac(HashAlg::Sha256),
            CryptographicAlgorithm::HmacSha384 => MacAlg::Hmac(HashAlg::Sha384),
            CryptographicAlgorithm::HmacSha512 => MacAlg::Hmac(HashAlg::Sha512),
            CryptographicAlgorithm::Aes => MacAlg::AesCmac,
            _ => return None,
        })
    };
    if let Some(a) = p.cryptographic_algorithm.and_then(from_alg) {
        return Ok(a);
    }
    match kind {
        KeyKind::Aes(_) => Ok(MacAlg::AesCmac),
        KeyKind::Hmac(_) => match p.hashing_algorithm {
            Some(h) => Ok(MacAlg::Hmac(hash_alg(h)?)),
            None => Err(OpError::new(
                ResultReason::InvalidField,
                "name the MAC algorithm in Cryptographic Parameters",
            )),
        },
        other => Err(OpError::new(
            ResultReason::InvalidField,
            format!("{other:?} keys do not compute MACs"),
        )),
    }
}

/// A mechanism failure as a KMIP result.
pub fn crypto_error(e: CryptoError) -> OpError {
    match e {
        CryptoError::BadParameters(m) => OpError::new(ResultReason::InvalidField, m),
        CryptoError::Unsupported(m) => OpError::new(ResultReason::FeatureNotSupported, m),
        CryptoError::Failed(m) => OpError::new(ResultReason::CryptographicFailure, m),
        CryptoError::Device(m) => {
            tracing::error!(error = %m, "key backend device failure");
            OpError::new(
                ResultReason::CryptographicFailure,
                "key backend unavailable",
            )
        }
    }
}
