//! Cryptographic operations: Encrypt (KMIP 1.4 §4.29), Decrypt (§4.30), Sign
//! (§4.31), Signature Verify (§4.32), MAC (§4.33), MAC Verify (§4.34), RNG Retrieve
//! (§4.35), RNG Seed (§4.36), Hash (§4.37).
//!
//! The key never leaves its backend: the request is translated once into the
//! mechanism vocabulary of [`crate::crypto`] and the backend runs it (software engine
//! or PKCS#11 token). What the vocabulary does not carry is refused with Feature Not
//! Supported rather than approximated (RSA-OAEP with an MGF1 hash other than the
//! OAEP hash or with a label, RSA-PSS signing with a salt other than the hash
//! length).
//!
//! Every use checks, in this order, the key's Cryptographic Usage Mask, its state
//! and dates, and its Usage Limits:
//! - protecting operations (Encrypt, Sign, MAC) need an Active key whose Protect
//!   Stop Date has not passed; processing operations (Decrypt, Signature Verify,
//!   MAC Verify) also accept a Deactivated or Compromised key, but not before its
//!   Process Start Date (1.4 §3.22, §3.25, §3.26). The state is the one the dates
//!   give now (an Active key past its Deactivation Date is Deactivated).
//! - a key the use does not fit: 1.x Permission Denied (1.4 Tables 353-358, "not
//!   able to be used for ..."); 2.x Incompatible Cryptographic Usage Mask for the
//!   mask and Wrong Key Lifecycle State for state and dates (OASIS CS-BC-M-14-21,
//!   CS-AC-M-8-21).
//! - Usage Limits (1.4 §3.21, §4.29): a protecting operation takes its allocation
//!   (bytes of input, or one object) from Usage Limits Count and is refused with
//!   Permission Denied when the count does not cover it (OASIS CS-BC-M-7).
//!
//! Request errors: a required field that is missing (Data, the IV of a mode that
//! needs one, the tag of GCM decryption) is Invalid Message (OASIS CS-BC-M-11/12/13
//! "missing-iv"); a GCM tag length outside 12..=16 bytes is General Failure (OASIS
//! CS-BC-M-GCM-1). An encryption whose request carries no IV gets one from the
//! backend's generator, of IV Length bits when given, returned in the answer: what
//! Random IV asks for (1.4 §3.6, §4.29), and done without it too, since a fresh
//! random IV is what GCM, CBC and CTR need anyway.
//!
//! Streaming (Init/Final Indicator, Correlation Value) is not offered and answers
//! Operation Not Supported.

use super::object::{self, aad, Obj};
use super::{keyformat, OpCtx, OpError};
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
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, DigitalSignatureAlgorithm,
    HashingAlgorithm, KeyFormatType, MaskGenerator, ObjectType, PaddingMethod, RecommendedCurve,
    ResultReason, State, UsageLimitsUnit, ValidityIndicator,
};
use zeroize::Zeroizing;

/// Most random bytes one RNG Retrieve may ask for.
pub const MAX_RNG_RETRIEVE: usize = 64 * 1024;

/// GCM tag lengths offered, in bytes.
const GCM_TAG_LENS: std::ops::RangeInclusive<usize> = 12..=16;

/// GCM nonce length generated for Random IV without an IV Length (SP 800-38D
/// recommends 96 bits).
const GCM_NONCE_LEN: usize = 12;

/// Encrypt.
pub fn encrypt(ctx: &mut OpCtx<'_>, req: &EncryptRequest) -> Result<EncryptResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    let (mut obj, key) = usable(ctx, &req.unique_identifier, Use::Encrypt)?;
    let kind = key_kind(&obj)?;
    let p = params(&obj, &req.cryptographic_parameters);
    let plan = plan_cipher(
        ctx,
        kind,
        &p,
        Direction::Encrypt,
        req.iv_counter_nonce.clone(),
        aead(&req.authenticated_encryption_additional_data),
        None,
    )?;
    let remaining = allocate(&obj, data.len())?;
    let padded;
    let input = if let Some(bl) = plan.ecb_pad {
        padded = pkcs7_pad(data, bl);
        &padded[..]
    } else {
        data
    };
    let out = ctx
        .backend
        .encrypt(
            &key,
            &aad(&ctx.vault.name, &obj.rec.uid),
            kind,
            &plan.cipher,
            input,
        )
        .map_err(crypto_error)?;
    commit_allocation(ctx, &mut obj, remaining)?;
    Ok(EncryptResponse {
        unique_identifier: obj.rec.uid,
        data: Some(out.data),
        iv_counter_nonce: plan.generated_iv.or(out.iv),
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
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    let (obj, key) = usable(ctx, &req.unique_identifier, Use::Decrypt)?;
    let kind = key_kind(&obj)?;
    let p = params(&obj, &req.cryptographic_parameters);
    let plan = plan_cipher(
        ctx,
        kind,
        &p,
        Direction::Decrypt,
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
            &plan.cipher,
            data,
        )
        .map_err(crypto_error)?;
    let plain = match plan.ecb_pad {
        Some(bl) => pkcs7_unpad(&out, bl)?,
        None => &out[..],
    };
    Ok(DecryptResponse {
        unique_identifier: obj.rec.uid,
        data: Some(plain.to_vec()),
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
    let input = sign_input(&req.data, &req.digested_data)?;
    let (mut obj, key) = usable(ctx, &req.unique_identifier, Use::Sign)?;
    let kind = key_kind(&obj)?;
    let scheme = signature_scheme(
        kind,
        &params(&obj, &req.cryptographic_parameters),
        Direction::Encrypt,
    )?;
    let remaining = allocate(&obj, input_len(&input))?;
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
    commit_allocation(ctx, &mut obj, remaining)?;
    Ok(SignResponse {
        unique_identifier: obj.rec.uid,
        signature_data: Some(sig),
        correlation_value: None,
        extensions: Vec::new(),
    })
}

/// Signature Verify. A signature that does not verify (including a malformed one)
/// is Validity Indicator Invalid, not an error.
pub fn signature_verify(
    ctx: &mut OpCtx<'_>,
    req: &SignatureVerifyRequest,
) -> Result<SignatureVerifyResponse, OpError> {
    no_streaming(
        req.init_indicator,
        req.final_indicator,
        &req.correlation_value,
    )?;
    let input = sign_input(&req.data, &req.digested_data)?;
    let sig = req
        .signature_data
        .as_deref()
        .ok_or_else(|| missing("Signature Data"))?;
    let (obj, key) = usable(ctx, &req.unique_identifier, Use::Verify)?;
    let kind = key_kind(&obj)?;
    let scheme = signature_scheme(
        kind,
        &params(&obj, &req.cryptographic_parameters),
        Direction::Decrypt,
    )?;
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
        validity_indicator: validity(ok),
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
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    let (mut obj, key) = usable(ctx, &req.unique_identifier, Use::Mac)?;
    let (kind, alg) = mac_alg(&obj, &params(&obj, &req.cryptographic_parameters))?;
    let remaining = allocate(&obj, data.len())?;
    let m = ctx
        .backend
        .mac(&key, &aad(&ctx.vault.name, &obj.rec.uid), kind, alg, data)
        .map_err(crypto_error)?;
    commit_allocation(ctx, &mut obj, remaining)?;
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
    let data = req.data.as_deref().ok_or_else(|| missing("Data"))?;
    let want = req.mac_data.as_deref().ok_or_else(|| missing("MAC Data"))?;
    let (obj, key) = usable(ctx, &req.unique_identifier, Use::MacVerify)?;
    let (kind, alg) = mac_alg(&obj, &params(&obj, &req.cryptographic_parameters))?;
    let m = ctx
        .backend
        .mac(&key, &aad(&ctx.vault.name, &obj.rec.uid), kind, alg, data)
        .map_err(crypto_error)?;
    let ok = m.len() == want.len() && openssl::memcmp::eq(&m, want);
    Ok(MacVerifyResponse {
        unique_identifier: obj.rec.uid,
        validity_indicator: validity(ok),
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

/// RNG Seed: no seed material is accepted, and the answer says so with Data Length
/// 0 ("the amount of seed data accepted", 1.4 §4.36). The generators Keygate uses
/// take no seed from clients: the software backend draws from the operating
/// system's CSPRNG (which the `openssl` and `rand` crates expose no way to mix
/// into), a PKCS#11 backend from the token's generator.
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

/// A required field the request lacks: Invalid Message (1.4 §11.1, "error parsing
/// batch item or payload"; the OASIS vectors answer a missing IV so).
fn missing(what: &str) -> OpError {
    OpError::new(ResultReason::InvalidMessage, format!("{what} is required"))
}

pub(super) fn unsupported(what: impl Into<String>) -> OpError {
    OpError::new(ResultReason::FeatureNotSupported, what)
}

fn validity(ok: bool) -> ValidityIndicator {
    if ok {
        ValidityIndicator::Valid
    } else {
        ValidityIndicator::Invalid
    }
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

/// The use a request makes of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
    Mac,
    MacVerify,
    /// Wrapping another key for export (ops::wrap).
    WrapKey,
    /// Unwrapping a registered wrapped key (ops::wrap).
    UnwrapKey,
}

impl Use {
    fn mask(self) -> CryptographicUsageMask {
        match self {
            Use::Encrypt => CryptographicUsageMask::Encrypt,
            Use::Decrypt => CryptographicUsageMask::Decrypt,
            Use::Sign => CryptographicUsageMask::Sign,
            Use::Verify => CryptographicUsageMask::Verify,
            Use::Mac => CryptographicUsageMask::MacGenerate,
            Use::MacVerify => CryptographicUsageMask::MacVerify,
            Use::WrapKey => CryptographicUsageMask::WrapKey,
            Use::UnwrapKey => CryptographicUsageMask::UnwrapKey,
        }
    }

    /// Applies cryptographic protection (1.4 §3.22 "protect"), as opposed to
    /// processing protected data.
    fn protects(self) -> bool {
        matches!(self, Use::Encrypt | Use::Sign | Use::Mac | Use::WrapKey)
    }
}

/// A private key ready to sign (mask, state and dates checked as for Sign) with its
/// mechanism-level kind: what Certify signs a certificate with.
pub(crate) fn signing_key(
    ctx: &mut OpCtx<'_>,
    uid: &Option<String>,
) -> Result<(Obj, KeyRef, KeyKind), OpError> {
    let (obj, key) = usable(ctx, uid, Use::Sign)?;
    let kind = key_kind(&obj)?;
    Ok((obj, key, kind))
}

/// Loads a key for a cryptographic use and checks mask, state and dates.
pub(super) fn usable(
    ctx: &mut OpCtx<'_>,
    uid: &Option<String>,
    usage: Use,
) -> Result<(Obj, KeyRef), OpError> {
    // Read-only unless the key has usage limits to count down (the write then waits
    // for the key's other readers).
    let obj = object::load_shared(ctx, uid)?;
    object::not_archived(&obj)?;
    let mask = obj.attrs.cryptographic_usage_mask().unwrap_or_default();
    if !mask.contains(usage.mask().value()) {
        return Err(OpError::new(
            super::attributes::reason(
                ctx.version,
                ResultReason::IncompatibleCryptographicUsageMask,
                ResultReason::PermissionDenied,
            ),
            format!(
                "the key's Cryptographic Usage Mask does not allow {:?}",
                usage.mask()
            ),
        ));
    }
    // The state the dates give now (a key past its Deactivation Date is
    // Deactivated even before anything stored that).
    let mut attrs = obj.attrs.clone();
    object::apply_dates(ctx.now, &mut attrs);
    let state = attrs.state().unwrap_or(State::PreActive);
    let allowed = match state {
        State::Active => true,
        State::Deactivated | State::Compromised => !usage.protects(),
        _ => false,
    };
    if !allowed {
        let what = if usage.protects() {
            "protect"
        } else {
            "process"
        };
        return Err(object::wrong_state(
            ctx.version,
            &format!("a {state:?} key cannot be used to {what}"),
        ));
    }
    if usage.protects() {
        if let Some(d) = object::date(&obj.attrs, Tag::PROTECT_STOP_DATE) {
            if ctx.now > d {
                return Err(object::wrong_state(
                    ctx.version,
                    "the key's Protect Stop Date has passed",
                ));
            }
        }
    } else if let Some(d) = object::date(&obj.attrs, Tag::PROCESS_START_DATE) {
        if ctx.now < d {
            return Err(object::wrong_state(
                ctx.version,
                "the key's Process Start Date has not come",
            ));
        }
    }
    let key = obj.rec.key_ref.clone().map(KeyRef).ok_or_else(|| {
        OpError::new(
            ResultReason::KeyValueNotPresent,
            "the key's material was destroyed",
        )
    })?;
    Ok((obj, key))
}

/// The key's Usage Limits: unit, remaining count.
fn usage_limits(obj: &Obj) -> Option<(UsageLimitsUnit, i64)> {
    let t = obj.attrs.get(Tag::USAGE_LIMITS)?;
    let long = |tag| match t.child(tag).map(|c| &c.value) {
        Some(Value::LongInteger(v)) => Some(*v),
        Some(Value::Integer(v)) => Some(i64::from(*v)),
        _ => None,
    };
    let unit = match t.child(Tag::USAGE_LIMITS_UNIT).map(|c| &c.value) {
        Some(Value::Enumeration(u)) => UsageLimitsUnit::from_value(*u),
        _ => return None,
    };
    let count = long(Tag::USAGE_LIMITS_COUNT).or_else(|| long(Tag::USAGE_LIMITS_TOTAL))?;
    Some((unit, count))
}

/// Obtains the allocation a protecting use of `len` input bytes needs from the
/// key's Usage Limits (1.4 §4.29: Permission Denied when it cannot be obtained).
/// Returns the count left after the use, to store once the operation succeeded.
fn allocate(obj: &Obj, len: usize) -> Result<Option<i64>, OpError> {
    let Some((unit, count)) = usage_limits(obj) else {
        return Ok(None);
    };
    let need = match unit {
        UsageLimitsUnit::Byte => i64::try_from(len).unwrap_or(i64::MAX),
        UsageLimitsUnit::Object => 1,
        other => {
            return Err(OpError::new(
                ResultReason::PermissionDenied,
                format!("the key's Usage Limits Unit {other:?} is not known"),
            ))
        }
    };
    if need > count {
        return Err(OpError::new(
            ResultReason::PermissionDenied,
            format!("the key's Usage Limits allow {count} more {unit:?} units, {need} needed"),
        ));
    }
    Ok(Some(count - need))
}

/// Stores the Usage Limits Count left after a successful protecting use.
fn commit_allocation(
    ctx: &mut OpCtx<'_>,
    obj: &mut Obj,
    remaining: Option<i64>,
) -> Result<(), OpError> {
    let Some(left) = remaining else { return Ok(()) };
    let Some(t) = obj.attrs.get(Tag::USAGE_LIMITS).cloned() else {
        return Ok(());
    };
    let mut children: Vec<Ttlv> = t
        .children()
        .iter()
        .filter(|c| c.tag != Tag::USAGE_LIMITS_COUNT)
        .cloned()
        .collect();
    let at = children
        .iter()
        .position(|c| c.tag == Tag::USAGE_LIMITS_TOTAL)
        .map_or(0, |i| i + 1);
    children.insert(
        at,
        Ttlv::new(Tag::USAGE_LIMITS_COUNT, Value::LongInteger(left)),
    );
    obj.attrs.set(Tag::USAGE_LIMITS, Value::Structure(children));
    object::save(ctx, obj)
}

fn input_len(input: &SignInput<'_>) -> usize {
    match input {
        SignInput::Message(m) | SignInput::Digest(m) => m.len(),
    }
}

/// The mechanism-level kind of a stored key, from its attributes.
pub(super) fn key_kind(obj: &Obj) -> Result<KeyKind, OpError> {
    let alg = obj.attrs.cryptographic_algorithm();
    let bits = obj
        .attrs
        .cryptographic_length()
        .and_then(|l| u32::try_from(l).ok())
        .unwrap_or(0);
    let t = ObjectType::from_value(obj.rec.object_type);
    if matches!(t, ObjectType::PrivateKey | ObjectType::PublicKey) {
        let format = obj
            .attrs
            .get(Tag::KEY_FORMAT_TYPE)
            .and_then(|f| KeyFormatType::decode(f, &object::storage_ctx()).ok());
        if let Some(f) = format.filter(|f| !keyformat::canonical_format(t, *f)) {
            return Err(unsupported(format!(
                "a {t:?} registered in {f:?} is kept as registered and cannot be used for \
                 cryptographic operations; register it as PKCS#1, PKCS#8 or X.509"
            )));
        }
    }
    let curve = || -> Result<Curve, OpError> {
        let c = obj
            .attrs
            .get(Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS)
            .and_then(|d| d.child(Tag::RECOMMENDED_CURVE))
            .and_then(|c| RecommendedCurve::decode(c, &object::storage_ctx()).ok());
        match (c, bits) {
            (Some(RecommendedCurve::P256), _) | (None, 256) => Ok(Curve::P256),
            (Some(RecommendedCurve::P384), _) | (None, 384) => Ok(Curve::P384),
            _ => Err(unsupported("only curves P-256 and P-384 are supported")),
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
            return Err(unsupported(format!(
                "no cryptographic operations for {t:?} keys of algorithm {a:?}"
            )))
        }
    })
}

/// The request's Cryptographic Parameters, or else the key's own attribute (1.4
/// §4.29: "If omitted then the Cryptographic Parameters associated with the Managed
/// Cryptographic Object with the lowest Attribute Index SHALL be used").
pub(super) fn params(
    obj: &Obj,
    given: &Option<CryptographicParameters>,
) -> CryptographicParameters {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Encrypt,
    Decrypt,
}

/// A cipher ready for the backend, with what the request path adds around it.
struct Plan {
    cipher: Cipher,
    /// The IV the server generated for Random IV, to return.
    generated_iv: Option<Vec<u8>>,
    /// ECB with PKCS#5 padding: the block length (the padding is applied here, the
    /// backend runs plain ECB).
    ecb_pad: Option<usize>,
}

#[allow(clippy::too_many_arguments)]
fn plan_cipher(
    ctx: &OpCtx<'_>,
    kind: KeyKind,
    p: &CryptographicParameters,
    dir: Direction,
    iv: Option<Vec<u8>>,
    aad: Vec<u8>,
    tag: Option<Vec<u8>>,
) -> Result<Plan, OpError> {
    let bad = |m: String| OpError::new(ResultReason::InvalidField, m);
    let plain = |cipher| Plan {
        cipher,
        generated_iv: None,
        ecb_pad: None,
    };
    match kind {
        KeyKind::RsaPrivate(_) | KeyKind::RsaPublic(_) => {
            if dir == Direction::Decrypt && matches!(kind, KeyKind::RsaPublic(_)) {
                return Err(bad("RSA decryption needs the private key".into()));
            }
            match p.padding_method.unwrap_or(PaddingMethod::Oaep) {
                PaddingMethod::Oaep => {
                    let hash = p.hashing_algorithm.unwrap_or(HashingAlgorithm::Sha1);
                    check_mgf(p, hash)?;
                    if p.p_source.as_ref().is_some_and(|s| !s.is_empty()) {
                        return Err(unsupported(
                            "RSA-OAEP with a label (P Source) is not offered",
                        ));
                    }
                    Ok(plain(Cipher::RsaOaep {
                        hash: hash_alg(hash)?,
                    }))
                }
                PaddingMethod::Pkcs1V1_5 => Ok(plain(Cipher::RsaPkcs1v15)),
                other => Err(bad(format!(
                    "RSA encryption with padding {other:?} is not supported"
                ))),
            }
        }
        KeyKind::Aes(_) | KeyKind::Des3(_) => {
            let block = if matches!(kind, KeyKind::Des3(_)) {
                8
            } else {
                16
            };
            let pad = match p.padding_method {
                None | Some(PaddingMethod::None) => false,
                Some(PaddingMethod::Pkcs5) => true,
                Some(other) => return Err(bad(format!("padding {other:?} is not supported"))),
            };
            let mode = p
                .block_cipher_mode
                .ok_or_else(|| bad("Block Cipher Mode is required".into()))?;
            // The IV: the request's; else, for encryption, one the backend's
            // generator makes (Random IV asks for it; without Random IV a fresh IV
            // is still what the mode needs) and the answer returns; a decryption
            // without it is incomplete.
            let needs_iv = matches!(
                mode,
                BlockCipherMode::Gcm | BlockCipherMode::Cbc | BlockCipherMode::Ctr
            );
            let (iv, generated_iv) = match (needs_iv, iv) {
                (false, _) => (None, None),
                (true, Some(iv)) => (Some(iv), None),
                (true, None) if dir == Direction::Encrypt => {
                    let len = random_iv_len(mode, block, p.iv_length)?;
                    let fresh = ctx.backend.random(len)?.to_vec();
                    (Some(fresh.clone()), Some(fresh))
                }
                (true, None) => return Err(missing("the IV/Counter/Nonce")),
            };
            let cipher = match mode {
                BlockCipherMode::Gcm => {
                    let tag_len = match dir {
                        Direction::Encrypt => {
                            let t = p.tag_length.unwrap_or(16);
                            usize::try_from(t)
                                .ok()
                                .filter(|t| GCM_TAG_LENS.contains(t))
                                .ok_or_else(|| {
                                    OpError::new(
                                        ResultReason::GeneralFailure,
                                        format!("invalid GCM tag length {t} (12 to 16 bytes)"),
                                    )
                                })?
                        }
                        Direction::Decrypt => {
                            let t = tag
                                .as_ref()
                                .ok_or_else(|| missing("the Authenticated Encryption Tag"))?;
                            t.len()
                        }
                    };
                    Cipher::AesGcm {
                        nonce: iv,
                        aad,
                        tag_len,
                        tag,
                    }
                }
                BlockCipherMode::Cbc => Cipher::AesCbc { iv, pad },
                BlockCipherMode::Ctr => Cipher::AesCtr { iv },
                BlockCipherMode::Ecb => {
                    return Ok(Plan {
                        cipher: Cipher::AesEcb,
                        generated_iv: None,
                        ecb_pad: pad.then_some(block),
                    })
                }
                BlockCipherMode::NistKeyWrap => Cipher::AesKeyWrap { pad: false },
                BlockCipherMode::AesKeyWrapPadding => Cipher::AesKeyWrap { pad: true },
                other => {
                    return Err(unsupported(format!(
                        "block cipher mode {other:?} is not supported"
                    )))
                }
            };
            Ok(Plan {
                cipher,
                generated_iv,
                ecb_pad: None,
            })
        }
        other => Err(bad(format!("{other:?} keys do not encrypt"))),
    }
}

/// The length in bytes of a generated IV: IV Length (bits) when given, else the
/// mode's usual length (GCM 96 bits, CBC the block, CTR a 16-byte counter block).
fn random_iv_len(
    mode: BlockCipherMode,
    block: usize,
    iv_length: Option<i32>,
) -> Result<usize, OpError> {
    let default = match mode {
        BlockCipherMode::Gcm => GCM_NONCE_LEN,
        BlockCipherMode::Ctr => 16,
        _ => block,
    };
    let Some(bits) = iv_length else {
        return Ok(default);
    };
    let bytes = usize::try_from(bits)
        .ok()
        .filter(|b| *b > 0 && b % 8 == 0)
        .map(|b| b / 8)
        .ok_or_else(|| {
            OpError::new(
                ResultReason::InvalidField,
                format!("IV Length {bits} is not a positive number of bytes (in bits)"),
            )
        })?;
    let fits = match mode {
        BlockCipherMode::Gcm => (1..=128).contains(&bytes),
        _ => bytes == default,
    };
    if !fits {
        return Err(OpError::new(
            ResultReason::InvalidField,
            format!("IV Length {bits} does not fit block cipher mode {mode:?}"),
        ));
    }
    Ok(bytes)
}

/// The mask generation function must be MGF1 with the scheme's own hash. An
/// omitted Mask Generator Hashing Algorithm means that hash, as the OASIS profile
/// vectors use it (CS-AC-M-2 verifies RSA-PSS over SHA-256 with MGF1-SHA-256 and
/// names no MGF hash); the 1.4 table's SHA-1 default is not applied.
fn check_mgf(p: &CryptographicParameters, hash: HashingAlgorithm) -> Result<(), OpError> {
    if let Some(g) = p.mask_generator {
        if g != MaskGenerator::Mgf1 {
            return Err(unsupported(format!("mask generator {g:?} is not offered")));
        }
    }
    match p.mask_generator_hashing_algorithm {
        Some(h) if h != hash => Err(unsupported(format!(
            "MGF1 with {h:?} under a {hash:?} scheme is not offered: Keygate uses MGF1 with \
             the scheme's hash"
        ))),
        _ => Ok(()),
    }
}

pub(super) fn hash_alg(h: HashingAlgorithm) -> Result<HashAlg, OpError> {
    Ok(match h {
        HashingAlgorithm::Sha1 => HashAlg::Sha1,
        HashingAlgorithm::Sha224 => HashAlg::Sha224,
        HashingAlgorithm::Sha256 => HashAlg::Sha256,
        HashingAlgorithm::Sha384 => HashAlg::Sha384,
        HashingAlgorithm::Sha512 => HashAlg::Sha512,
        other => {
            return Err(unsupported(format!(
                "hashing algorithm {other:?} is not supported"
            )))
        }
    })
}

/// The signature scheme: from Digital Signature Algorithm when given, else from the
/// key's kind with Padding Method and Hashing Algorithm (1.4 §3.6). `dir` is
/// `Encrypt` for signing: RSA-PSS signs with a salt as long as the hash, and a
/// different Salt Length is refused; verification accepts any salt length.
fn signature_scheme(
    kind: KeyKind,
    p: &CryptographicParameters,
    dir: Direction,
) -> Result<SignatureScheme, OpError> {
    use DigitalSignatureAlgorithm as D;
    let hashed = |default: HashingAlgorithm| p.hashing_algorithm.unwrap_or(default);
    let default_hash = match kind {
        KeyKind::EcPrivate(Curve::P384) | KeyKind::EcPublic(Curve::P384) => {
            HashingAlgorithm::Sha384
        }
        _ => HashingAlgorithm::Sha256,
    };
    let scheme = if let Some(d) = p.digital_signature_algorithm {
        match d {
            D::Sha1WithRsaEncryption => SignatureScheme::RsaPkcs1v15(HashAlg::Sha1),
            D::Sha224WithRsaEncryption => SignatureScheme::RsaPkcs1v15(HashAlg::Sha224),
            D::Sha256WithRsaEncryption => SignatureScheme::RsaPkcs1v15(HashAlg::Sha256),
            D::Sha384WithRsaEncryption => SignatureScheme::RsaPkcs1v15(HashAlg::Sha384),
            D::Sha512WithRsaEncryption => SignatureScheme::RsaPkcs1v15(HashAlg::Sha512),
            D::RsassaPss => SignatureScheme::RsaPss(hash_alg(hashed(HashingAlgorithm::Sha256))?),
            D::EcdsaWithSha1 => SignatureScheme::Ecdsa(HashAlg::Sha1),
            D::EcdsaWithSha224 => SignatureScheme::Ecdsa(HashAlg::Sha224),
            D::EcdsaWithSha256 => SignatureScheme::Ecdsa(HashAlg::Sha256),
            D::EcdsaWithSha384 => SignatureScheme::Ecdsa(HashAlg::Sha384),
            D::EcdsaWithSha512 => SignatureScheme::Ecdsa(HashAlg::Sha512),
            other => {
                return Err(unsupported(format!(
                    "signature algorithm {other:?} is not supported"
                )))
            }
        }
    } else {
        match kind {
            KeyKind::RsaPrivate(_) | KeyKind::RsaPublic(_) => match p.padding_method {
                Some(PaddingMethod::Pss) => {
                    SignatureScheme::RsaPss(hash_alg(hashed(default_hash))?)
                }
                None | Some(PaddingMethod::Pkcs1V1_5) => {
                    SignatureScheme::RsaPkcs1v15(hash_alg(hashed(default_hash))?)
                }
                Some(other) => {
                    return Err(OpError::new(
                        ResultReason::InvalidField,
                        format!("RSA signatures with padding {other:?} are not supported"),
                    ))
                }
            },
            KeyKind::EcPrivate(_) | KeyKind::EcPublic(_) => {
                SignatureScheme::Ecdsa(hash_alg(hashed(default_hash))?)
            }
            KeyKind::Ed25519Private | KeyKind::Ed25519Public => SignatureScheme::Ed25519,
            other => {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    format!("{other:?} keys do not sign"),
                ))
            }
        }
    };
    if let SignatureScheme::RsaPss(h) = scheme {
        let kmip_hash = match h {
            HashAlg::Sha1 => HashingAlgorithm::Sha1,
            HashAlg::Sha224 => HashingAlgorithm::Sha224,
            HashAlg::Sha256 => HashingAlgorithm::Sha256,
            HashAlg::Sha384 => HashingAlgorithm::Sha384,
            HashAlg::Sha512 => HashingAlgorithm::Sha512,
        };
        check_mgf(p, kmip_hash)?;
        let hlen = crypto::software::hash_len(h);
        if let Some(salt) = p.salt_length {
            if dir == Direction::Encrypt && usize::try_from(salt).ok() != Some(hlen) {
                return Err(unsupported(format!(
                    "RSA-PSS with a salt of {salt} bytes is not offered: Keygate signs with a \
                     salt as long as the hash ({hlen} bytes)"
                )));
            }
        }
    }
    Ok(scheme)
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
        (None, None) => Err(missing("Data or Digested Data")),
    }
}

/// The MAC algorithm, and the key kind the backend is told. Cryptographic
/// Parameters name it (an HMAC algorithm, or AES for CMAC); otherwise an HMAC key's
/// own algorithm, or CMAC for an AES key. HMAC with an AES key uses the key's bytes
/// as the HMAC key, as the OASIS vectors do (CS-AC-M-4: HMAC-SHA256 with an AES-128
/// key whose mask allows MAC Generate).
fn mac_alg(obj: &Obj, p: &CryptographicParameters) -> Result<(KeyKind, MacAlg), OpError> {
    let kind = key_kind(obj)?;
    let hmac = |a: CryptographicAlgorithm| -> Option<HashAlg> {
        Some(match a {
            CryptographicAlgorithm::HmacSha1 => HashAlg::Sha1,
            CryptographicAlgorithm::HmacSha224 => HashAlg::Sha224,
            CryptographicAlgorithm::HmacSha256 => HashAlg::Sha256,
            CryptographicAlgorithm::HmacSha384 => HashAlg::Sha384,
            CryptographicAlgorithm::HmacSha512 => HashAlg::Sha512,
            _ => return None,
        })
    };
    let alg = match p.cryptographic_algorithm {
        Some(CryptographicAlgorithm::Aes) => MacAlg::AesCmac,
        Some(a) => match hmac(a) {
            Some(h) => MacAlg::Hmac(h),
            None => {
                return Err(unsupported(format!("MAC algorithm {a:?} is not offered")));
            }
        },
        None => match kind {
            KeyKind::Aes(_) => MacAlg::AesCmac,
            KeyKind::Hmac(_) => match obj.attrs.cryptographic_algorithm().and_then(hmac) {
                Some(h) => MacAlg::Hmac(h),
                None => match p.hashing_algorithm {
                    Some(h) => MacAlg::Hmac(hash_alg(h)?),
                    None => {
                        return Err(OpError::new(
                            ResultReason::InvalidField,
                            "name the MAC algorithm in Cryptographic Parameters",
                        ))
                    }
                },
            },
            other => {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    format!("{other:?} keys do not compute MACs"),
                ))
            }
        },
    };
    let kind = match (alg, kind) {
        (MacAlg::Hmac(_), KeyKind::Aes(bits)) => KeyKind::Hmac(bits),
        (MacAlg::Hmac(_), KeyKind::Hmac(_)) | (MacAlg::AesCmac, KeyKind::Aes(_)) => kind,
        (alg, kind) => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                format!("{alg:?} cannot be computed with {kind:?} keys"),
            ))
        }
    };
    Ok((kind, alg))
}

/// PKCS#5/#7 padding to a multiple of `block`.
fn pkcs7_pad(data: &[u8], block: usize) -> Zeroizing<Vec<u8>> {
    let n = block - data.len() % block;
    let mut out = Zeroizing::new(Vec::with_capacity(data.len() + n));
    out.extend_from_slice(data);
    out.resize(data.len() + n, u8::try_from(n).unwrap_or(0));
    out
}

/// Removes PKCS#5/#7 padding; a bad padding is a Cryptographic Failure (without
/// saying what was wrong with it).
fn pkcs7_unpad(data: &[u8], block: usize) -> Result<&[u8], OpError> {
    let fail = || {
        OpError::new(
            ResultReason::CryptographicFailure,
            "decryption failed (bad padding)",
        )
    };
    let n = usize::from(*data.last().ok_or_else(fail)?);
    if n == 0 || n > block || n > data.len() {
        return Err(fail());
    }
    let (body, pad) = data.split_at(data.len() - n);
    let mut diff = 0u8;
    for b in pad {
        diff |= *b ^ u8::try_from(n).unwrap_or(0);
    }
    if diff != 0 {
        return Err(fail());
    }
    Ok(body)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs7_round_trip() {
        for len in 0u8..40 {
            let data: Vec<u8> = (0..len).collect();
            let p = pkcs7_pad(&data, 16);
            assert_eq!(p.len() % 16, 0);
            assert!(p.len() > data.len());
            assert_eq!(pkcs7_unpad(&p, 16).unwrap(), &data[..]);
        }
        assert!(pkcs7_unpad(&[0; 16], 16).is_err());
        assert!(pkcs7_unpad(&[17; 16], 16).is_err());
        let mut bad = pkcs7_pad(b"abc", 16).to_vec();
        bad[10] ^= 1;
        assert!(pkcs7_unpad(&bad, 16).is_err());
        assert!(pkcs7_unpad(&[], 16).is_err());
    }

    #[test]
    fn random_iv_lengths() {
        assert_eq!(random_iv_len(BlockCipherMode::Gcm, 16, None).unwrap(), 12);
        assert_eq!(
            random_iv_len(BlockCipherMode::Gcm, 16, Some(128)).unwrap(),
            16
        );
        assert_eq!(random_iv_len(BlockCipherMode::Cbc, 16, None).unwrap(), 16);
        assert_eq!(random_iv_len(BlockCipherMode::Cbc, 8, Some(64)).unwrap(), 8);
        assert!(random_iv_len(BlockCipherMode::Cbc, 16, Some(96)).is_err());
        assert!(random_iv_len(BlockCipherMode::Gcm, 16, Some(7)).is_err());
        assert!(random_iv_len(BlockCipherMode::Gcm, 16, Some(0)).is_err());
    }
}
