//! The mechanisms the library offers (PKCS#11 3.0 §6 and "Current Mechanisms"),
//! their `CK_MECHANISM_INFO`, and mechanism parameters in safe form.
//!
//! The table is a constant: C_GetMechanismList / C_GetMechanismInfo answer from it
//! without a round trip (Java asks about seventy times at start).

use cryptoki_sys::*;

/// One supported mechanism: type, key size range, flags.
#[derive(Debug, Clone, Copy)]
pub struct MechInfo {
    /// Mechanism type.
    pub mechanism: CK_MECHANISM_TYPE,
    /// Smallest key size (bits for RSA/EC, bytes for AES/HMAC as PKCS#11 counts).
    pub min: CK_ULONG,
    /// Largest key size.
    pub max: CK_ULONG,
    /// CKF_ENCRYPT, CKF_SIGN, ... flags.
    pub flags: CK_FLAGS,
}

const ENC: CK_FLAGS = CKF_ENCRYPT | CKF_DECRYPT;
const SIG: CK_FLAGS = CKF_SIGN | CKF_VERIFY;
const WRAP: CK_FLAGS = CKF_WRAP | CKF_UNWRAP;
const EC_FLAGS: CK_FLAGS = CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;

const fn m(
    mechanism: CK_MECHANISM_TYPE,
    min: CK_ULONG,
    max: CK_ULONG,
    flags: CK_FLAGS,
) -> MechInfo {
    MechInfo {
        mechanism,
        min,
        max,
        flags,
    }
}

/// Every mechanism the library accepts.
pub const MECHANISMS: &[MechInfo] = &[
    m(CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE),
    m(CKM_AES_ECB, 16, 32, ENC),
    m(CKM_AES_CBC, 16, 32, ENC),
    m(CKM_AES_CBC_PAD, 16, 32, ENC),
    m(CKM_AES_CTR, 16, 32, ENC),
    m(CKM_AES_GCM, 16, 32, ENC),
    m(CKM_AES_KEY_WRAP, 16, 32, WRAP),
    m(CKM_AES_KEY_WRAP_PAD, 16, 32, WRAP),
    m(CKM_AES_KEY_WRAP_KWP, 16, 32, WRAP),
    m(CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096, CKF_GENERATE_KEY_PAIR),
    m(CKM_RSA_PKCS, 2048, 4096, ENC | SIG),
    m(CKM_RSA_PKCS_OAEP, 2048, 4096, ENC | WRAP),
    m(CKM_RSA_PKCS_PSS, 2048, 4096, SIG),
    m(CKM_SHA256_RSA_PKCS, 2048, 4096, SIG),
    m(CKM_SHA384_RSA_PKCS, 2048, 4096, SIG),
    m(CKM_SHA512_RSA_PKCS, 2048, 4096, SIG),
    m(CKM_SHA256_RSA_PKCS_PSS, 2048, 4096, SIG),
    m(CKM_SHA384_RSA_PKCS_PSS, 2048, 4096, SIG),
    m(CKM_SHA512_RSA_PKCS_PSS, 2048, 4096, SIG),
    m(CKM_RSA_AES_KEY_WRAP, 2048, 4096, WRAP),
    m(
        CKM_EC_KEY_PAIR_GEN,
        256,
        384,
        CKF_GENERATE_KEY_PAIR | EC_FLAGS,
    ),
    m(CKM_ECDSA, 256, 384, SIG | EC_FLAGS),
    m(CKM_ECDSA_SHA256, 256, 384, SIG | EC_FLAGS),
    m(CKM_ECDSA_SHA384, 256, 384, SIG | EC_FLAGS),
    m(CKM_SHA224, 0, 0, CKF_DIGEST),
    m(CKM_SHA256, 0, 0, CKF_DIGEST),
    m(CKM_SHA384, 0, 0, CKF_DIGEST),
    m(CKM_SHA512, 0, 0, CKF_DIGEST),
    m(CKM_GENERIC_SECRET_KEY_GEN, 16, 64, CKF_GENERATE),
    m(CKM_SHA256_HMAC, 16, 64, SIG),
    m(CKM_SHA384_HMAC, 16, 64, SIG),
    m(CKM_SHA512_HMAC, 16, 64, SIG),
];

/// The table entry of `mechanism`.
pub fn info(mechanism: CK_MECHANISM_TYPE) -> Option<&'static MechInfo> {
    MECHANISMS.iter().find(|i| i.mechanism == mechanism)
}

/// A mechanism with its parameters, read out of the caller's `CK_MECHANISM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mechanism {
    /// Mechanism type.
    pub kind: CK_MECHANISM_TYPE,
    /// Its parameters.
    pub params: Params,
}

/// Mechanism parameters, by shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Params {
    /// No parameter.
    None,
    /// An IV (AES-CBC, AES-CBC-PAD) or an optional initial value (key wrap).
    Iv(Vec<u8>),
    /// CK_GCM_PARAMS.
    Gcm {
        /// IV.
        iv: Vec<u8>,
        /// Additional authenticated data.
        aad: Vec<u8>,
        /// Tag length in bits.
        tag_bits: CK_ULONG,
    },
    /// CK_AES_CTR_PARAMS.
    Ctr {
        /// Counter width in bits.
        counter_bits: CK_ULONG,
        /// Initial counter block.
        block: [u8; 16],
    },
    /// CK_RSA_PKCS_OAEP_PARAMS.
    Oaep(Oaep),
    /// CK_RSA_PKCS_PSS_PARAMS.
    Pss {
        /// Hash mechanism (CKM_SHA256, ...).
        hash: CK_MECHANISM_TYPE,
        /// MGF (CKG_MGF1_SHA256, ...).
        mgf: CK_RSA_PKCS_MGF_TYPE,
        /// Salt length in bytes.
        salt_len: CK_ULONG,
    },
    /// CK_RSA_AES_KEY_WRAP_PARAMS.
    RsaAesWrap {
        /// Size of the ephemeral AES key in bits.
        aes_bits: CK_ULONG,
        /// OAEP parameters for the ephemeral key.
        oaep: Oaep,
    },
    /// A parameter whose shape this mechanism does not take.
    Other(Vec<u8>),
}

/// CK_RSA_PKCS_OAEP_PARAMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oaep {
    /// Hash mechanism.
    pub hash: CK_MECHANISM_TYPE,
    /// MGF.
    pub mgf: CK_RSA_PKCS_MGF_TYPE,
    /// Encoding parameter (label); the gateway takes none.
    pub label: Vec<u8>,
}

/// The parameter shape a mechanism takes, so the C face knows which structure to
/// read from `pParameter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No parameter is read.
    None,
    /// Bytes (IV).
    Bytes,
    /// CK_GCM_PARAMS.
    Gcm,
    /// CK_AES_CTR_PARAMS.
    Ctr,
    /// CK_RSA_PKCS_OAEP_PARAMS.
    Oaep,
    /// CK_RSA_PKCS_PSS_PARAMS.
    Pss,
    /// CK_RSA_AES_KEY_WRAP_PARAMS.
    RsaAesWrap,
}

/// The parameter shape of `mechanism`.
pub fn shape(mechanism: CK_MECHANISM_TYPE) -> Shape {
    match mechanism {
        CKM_AES_CBC | CKM_AES_CBC_PAD | CKM_AES_KEY_WRAP | CKM_AES_KEY_WRAP_PAD
        | CKM_AES_KEY_WRAP_KWP => Shape::Bytes,
        CKM_AES_GCM => Shape::Gcm,
        CKM_AES_CTR => Shape::Ctr,
        CKM_RSA_PKCS_OAEP => Shape::Oaep,
        CKM_RSA_PKCS_PSS
        | CKM_SHA256_RSA_PKCS_PSS
        | CKM_SHA384_RSA_PKCS_PSS
        | CKM_SHA512_RSA_PKCS_PSS => Shape::Pss,
        CKM_RSA_AES_KEY_WRAP => Shape::RsaAesWrap,
        _ => Shape::None,
    }
}
