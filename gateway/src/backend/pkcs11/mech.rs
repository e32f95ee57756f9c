//! PKCS#11 mechanisms for Keygate's cipher, signature and MAC vocabulary
//! ([`crate::crypto`]), each with a description that names it in error messages.

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};

use crate::crypto::HashAlg;

use super::error::Fault;

/// A mechanism with owned parameters, turned into a `cryptoki` [`Mechanism`] per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spec<'a> {
    /// `CKM_AES_GCM`.
    AesGcm {
        iv: Vec<u8>,
        aad: &'a [u8],
        tag_len: usize,
    },
    /// `CKM_AES_CBC` / `CKM_AES_CBC_PAD` (PKCS#7).
    AesCbc { iv: [u8; 16], pad: bool },
    /// `CKM_AES_CTR` with a 128-bit counter.
    AesCtr { iv: [u8; 16] },
    /// `CKM_AES_ECB`.
    AesEcb,
    /// `CKM_DES3_CBC` / `CKM_DES3_CBC_PAD` (PKCS#7), with a `CKK_DES2` or `CKK_DES3`
    /// key.
    Des3Cbc { iv: [u8; 8], pad: bool },
    /// `CKM_DES3_ECB`.
    Des3Ecb,
    /// `CKM_AES_KEY_WRAP` (RFC 3394) / `CKM_AES_KEY_WRAP_PAD` (RFC 5649 on SoftHSM).
    AesKeyWrap { pad: bool },
    /// `CKM_RSA_PKCS_OAEP`, MGF1 with the same hash, no label.
    RsaOaep(HashAlg),
    /// `CKM_RSA_PKCS` (encryption, or a signature over a DigestInfo).
    RsaPkcs,
    /// `CKM_SHA*_RSA_PKCS`.
    HashRsaPkcs(HashAlg),
    /// `CKM_RSA_PKCS_PSS` over a digest; salt length = hash length.
    RsaPss(HashAlg),
    /// `CKM_SHA*_RSA_PKCS_PSS`; salt length = hash length.
    HashRsaPss(HashAlg),
    /// `CKM_RSA_PKCS_PSS` over a digest with this salt length (verification of a
    /// signature whose salt length was read from its encoding).
    RsaPssSalt(HashAlg, usize),
    /// `CKM_SHA*_RSA_PKCS_PSS` with this salt length (verification, as above).
    HashRsaPssSalt(HashAlg, usize),
    /// `CKM_RSA_X_509`: raw RSA (the public operation that opens a PSS signature's
    /// encoding to read its salt length).
    RsaX509,
    /// `CKM_ECDSA` over a digest.
    Ecdsa,
    /// `CKM_EDDSA`, pure Ed25519.
    Eddsa,
    /// `CKM_SHA*_HMAC`.
    Hmac(HashAlg),
    /// `CKM_AES_CMAC`.
    AesCmac,
}

/// `CK_AES_CTR_PARAMS` (PKCS#11 v2.40 §2.10.4); cryptoki 0.12 has no typed
/// AES-CTR mechanism, so it travels as a parameter block.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct AesCtrParams {
    counter_bits: std::os::raw::c_ulong,
    cb: [u8; 16],
}

impl Spec<'_> {
    /// Runs `f` with the mechanism built from these parameters.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&Mechanism<'_>) -> R) -> Result<R, Fault> {
        let bad = |e: cryptoki::error::Error| {
            Fault::BadParameters(format!(
                "{}: parameters do not fit PKCS#11: {e}",
                self.describe()
            ))
        };
        Ok(match self {
            Spec::AesGcm { iv, aad, tag_len } => {
                let mut iv = iv.clone();
                let bits = u64::try_from(tag_len * 8).unwrap_or(u64::MAX);
                let params = GcmParams::new(&mut iv, aad, bits.into()).map_err(bad)?;
                f(&Mechanism::AesGcm(params))
            }
            Spec::AesCbc { iv, pad: false } => f(&Mechanism::AesCbc(*iv)),
            Spec::AesCbc { iv, pad: true } => f(&Mechanism::AesCbcPad(*iv)),
            Spec::AesCtr { iv } => {
                let params = AesCtrParams {
                    counter_bits: 128,
                    cb: *iv,
                };
                f(&Mechanism::VendorDefined(VendorDefinedMechanism::new(
                    MechanismType::AES_CTR,
                    Some(&params),
                )))
            }
            Spec::AesEcb => f(&Mechanism::AesEcb),
            Spec::Des3Cbc { iv, pad: false } => f(&Mechanism::Des3Cbc(*iv)),
            Spec::Des3Cbc { iv, pad: true } => f(&Mechanism::Des3CbcPad(*iv)),
            Spec::Des3Ecb => f(&Mechanism::Des3Ecb),
            Spec::AesKeyWrap { pad: false } => f(&Mechanism::AesKeyWrap),
            Spec::AesKeyWrap { pad: true } => f(&Mechanism::AesKeyWrapPad),
            Spec::RsaOaep(hash) => f(&Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
                hash_mechanism(*hash),
                mgf1(*hash),
                PkcsOaepSource::empty(),
            ))),
            Spec::RsaPkcs => f(&Mechanism::RsaPkcs),
            Spec::HashRsaPkcs(hash) => f(&match hash {
                HashAlg::Sha1 => Mechanism::Sha1RsaPkcs,
                HashAlg::Sha224 => Mechanism::Sha224RsaPkcs,
                HashAlg::Sha256 => Mechanism::Sha256RsaPkcs,
                HashAlg::Sha384 => Mechanism::Sha384RsaPkcs,
                HashAlg::Sha512 => Mechanism::Sha512RsaPkcs,
            }),
            Spec::RsaPss(hash) => f(&Mechanism::RsaPkcsPss(pss(*hash, hash_len(*hash)))),
            Spec::RsaPssSalt(hash, s_len) => f(&Mechanism::RsaPkcsPss(pss(*hash, *s_len))),
            Spec::RsaX509 => f(&Mechanism::RsaX509),
            Spec::HashRsaPss(hash) | Spec::HashRsaPssSalt(hash, _) => {
                let s_len = match self {
                    Spec::HashRsaPssSalt(_, s_len) => *s_len,
                    _ => hash_len(*hash),
                };
                let params = pss(*hash, s_len);
                f(&match hash {
                    HashAlg::Sha1 => Mechanism::Sha1RsaPkcsPss(params),
                    HashAlg::Sha256 => Mechanism::Sha256RsaPkcsPss(params),
                    HashAlg::Sha384 => Mechanism::Sha384RsaPkcsPss(params),
                    HashAlg::Sha512 => Mechanism::Sha512RsaPkcsPss(params),
                    // cryptoki 0.12 has no CKM_SHA224_RSA_PKCS_PSS; the caller hashes
                    // and uses CKM_RSA_PKCS_PSS instead.
                    HashAlg::Sha224 => Mechanism::RsaPkcsPss(params),
                })
            }
            Spec::Ecdsa => f(&Mechanism::Ecdsa),
            Spec::Eddsa => f(&Mechanism::Eddsa(EddsaParams::new(
                EddsaSignatureScheme::Pure,
            ))),
            Spec::Hmac(hash) => f(&match hash {
                HashAlg::Sha1 => Mechanism::Sha1Hmac,
                HashAlg::Sha224 => Mechanism::Sha224Hmac,
                HashAlg::Sha256 => Mechanism::Sha256Hmac,
                HashAlg::Sha384 => Mechanism::Sha384Hmac,
                HashAlg::Sha512 => Mechanism::Sha512Hmac,
            }),
            Spec::AesCmac => f(&Mechanism::AesCMac),
        })
    }

    /// What the mechanism is, for messages: the algorithm, the PKCS#11 name and the
    /// parameters that matter.
    pub(crate) fn describe(&self) -> String {
        match self {
            Spec::AesGcm { iv, tag_len, .. } => format!(
                "AES-GCM (CKM_AES_GCM, {}-byte IV, {}-bit tag)",
                iv.len(),
                tag_len * 8
            ),
            Spec::AesCbc { pad: false, .. } => "AES-CBC (CKM_AES_CBC)".into(),
            Spec::AesCbc { pad: true, .. } => {
                "AES-CBC with PKCS#5 padding (CKM_AES_CBC_PAD)".into()
            }
            Spec::AesCtr { .. } => "AES-CTR (CKM_AES_CTR, 128-bit counter)".into(),
            Spec::AesEcb => "AES-ECB (CKM_AES_ECB)".into(),
            Spec::Des3Cbc { pad: false, .. } => "Triple-DES-CBC (CKM_DES3_CBC)".into(),
            Spec::Des3Cbc { pad: true, .. } => {
                "Triple-DES-CBC with PKCS#5 padding (CKM_DES3_CBC_PAD)".into()
            }
            Spec::Des3Ecb => "Triple-DES-ECB (CKM_DES3_ECB)".into(),
            Spec::AesKeyWrap { pad: false } => "AES key wrap, RFC 3394 (CKM_AES_KEY_WRAP)".into(),
            Spec::AesKeyWrap { pad: true } => {
                "AES key wrap with padding, RFC 5649 (CKM_AES_KEY_WRAP_PAD)".into()
            }
            Spec::RsaOaep(h) => format!(
                "RSA-OAEP with {} (CKM_RSA_PKCS_OAEP, hashAlg {}, MGF1 with {})",
                hash_name(*h),
                hash_mechanism(*h),
                hash_name(*h)
            ),
            Spec::RsaPkcs => "RSA PKCS#1 v1.5 (CKM_RSA_PKCS)".into(),
            Spec::HashRsaPkcs(h) => format!(
                "RSA PKCS#1 v1.5 with {} (CKM_{}_RSA_PKCS)",
                hash_name(*h),
                hash_ck(*h)
            ),
            Spec::RsaPss(h) => format!(
                "RSA-PSS with {} over a digest (CKM_RSA_PKCS_PSS)",
                hash_name(*h)
            ),
            Spec::HashRsaPss(h) => format!(
                "RSA-PSS with {} (CKM_{}_RSA_PKCS_PSS)",
                hash_name(*h),
                hash_ck(*h)
            ),
            Spec::RsaPssSalt(h, s) => format!(
                "RSA-PSS with {} over a digest (CKM_RSA_PKCS_PSS, sLen {s})",
                hash_name(*h)
            ),
            Spec::HashRsaPssSalt(h, s) => format!(
                "RSA-PSS with {} (CKM_{}_RSA_PKCS_PSS, sLen {s})",
                hash_name(*h),
                hash_ck(*h)
            ),
            Spec::RsaX509 => "raw RSA (CKM_RSA_X_509)".into(),
            Spec::Ecdsa => "ECDSA over a digest (CKM_ECDSA)".into(),
            Spec::Eddsa => "Ed25519 (CKM_EDDSA)".into(),
            Spec::Hmac(h) => format!("HMAC-{} (CKM_{}_HMAC)", hash_name(*h), hash_ck(*h)),
            Spec::AesCmac => "AES-CMAC (CKM_AES_CMAC)".into(),
        }
    }
}

/// The digest mechanism for a hash.
pub(crate) fn hash_mechanism(hash: HashAlg) -> MechanismType {
    match hash {
        HashAlg::Sha1 => MechanismType::SHA1,
        HashAlg::Sha224 => MechanismType::SHA224,
        HashAlg::Sha256 => MechanismType::SHA256,
        HashAlg::Sha384 => MechanismType::SHA384,
        HashAlg::Sha512 => MechanismType::SHA512,
    }
}

/// Output length of a hash in bytes.
pub(crate) fn hash_len(hash: HashAlg) -> usize {
    match hash {
        HashAlg::Sha1 => 20,
        HashAlg::Sha224 => 28,
        HashAlg::Sha256 => 32,
        HashAlg::Sha384 => 48,
        HashAlg::Sha512 => 64,
    }
}

/// Human name of a hash.
pub(crate) fn hash_name(hash: HashAlg) -> &'static str {
    match hash {
        HashAlg::Sha1 => "SHA-1",
        HashAlg::Sha224 => "SHA-224",
        HashAlg::Sha256 => "SHA-256",
        HashAlg::Sha384 => "SHA-384",
        HashAlg::Sha512 => "SHA-512",
    }
}

fn hash_ck(hash: HashAlg) -> &'static str {
    match hash {
        HashAlg::Sha1 => "SHA1",
        HashAlg::Sha224 => "SHA224",
        HashAlg::Sha256 => "SHA256",
        HashAlg::Sha384 => "SHA384",
        HashAlg::Sha512 => "SHA512",
    }
}

fn mgf1(hash: HashAlg) -> PkcsMgfType {
    match hash {
        HashAlg::Sha1 => PkcsMgfType::MGF1_SHA1,
        HashAlg::Sha224 => PkcsMgfType::MGF1_SHA224,
        HashAlg::Sha256 => PkcsMgfType::MGF1_SHA256,
        HashAlg::Sha384 => PkcsMgfType::MGF1_SHA384,
        HashAlg::Sha512 => PkcsMgfType::MGF1_SHA512,
    }
}

fn pss(hash: HashAlg, s_len: usize) -> PkcsPssParams {
    PkcsPssParams {
        hash_alg: hash_mechanism(hash),
        mgf: mgf1(hash),
        s_len: u64::try_from(s_len).unwrap_or(0).into(),
    }
}
