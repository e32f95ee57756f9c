//! C_Encrypt/C_Decrypt/C_Sign/C_Verify as KMIP Encrypt, Decrypt, Sign, Signature
//! Verify, MAC and MAC Verify (KMIP 2.1 §6.1.18, §6.1.13, §6.1.44, §6.1.45, §6.1.29,
//! §6.1.30): a PKCS#11 mechanism and its parameters become Cryptographic
//! Parameters; PKCS#11's output conventions (GCM tag appended to the ciphertext,
//! ECDSA signatures as r||s) are applied here.

use crate::error::{ck, Error, Result};
use crate::gateway::Gateway;
use crate::mechanism::{Mechanism, Oaep, Params};
use crate::object::ObjInfo;
use cryptoki_sys::*;
use kmip::messages::objects::CryptographicParameters;
use kmip::messages::payloads::{
    DecryptRequest, EncryptRequest, MacRequest, MacVerifyRequest, RequestPayload, ResponsePayload,
    SignRequest, SignatureVerifyRequest,
};
use kmip::types::{
    BlockCipherMode, CryptographicAlgorithm, HashingAlgorithm, Operation, PaddingMethod,
    ValidityIndicator,
};
use zeroize::Zeroizing;

/// C_Encrypt: the ciphertext as PKCS#11 returns it.
pub fn encrypt(
    g: &Gateway,
    uid: &str,
    key: &ObjInfo,
    m: &Mechanism,
    data: &[u8],
) -> Result<Vec<u8>> {
    let plan = cipher(key, m)?;
    let r = g.call(
        Operation::Encrypt,
        RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: Some(uid.to_owned()),
            cryptographic_parameters: Some(plan.params),
            data: Some(data.to_vec()),
            iv_counter_nonce: plan.iv,
            authenticated_encryption_additional_data: plan.aad,
            ..Default::default()
        }),
    )?;
    let ResponsePayload::Encrypt(r) = r else {
        return Err(Error::Protocol("Encrypt: unexpected payload".into()));
    };
    let mut out = r.data.unwrap_or_default();
    if plan.tag_len > 0 {
        let tag = r
            .authenticated_encryption_tag
            .ok_or_else(|| Error::Protocol("Encrypt: GCM answer without a tag".into()))?;
        out.extend_from_slice(&tag);
    }
    Ok(out)
}

/// C_Decrypt: the plaintext.
pub fn decrypt(
    g: &Gateway,
    uid: &str,
    key: &ObjInfo,
    m: &Mechanism,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let plan = cipher(key, m)?;
    let (body, tag) = if plan.tag_len > 0 {
        if data.len() < plan.tag_len {
            return ck(CKR_ENCRYPTED_DATA_LEN_RANGE);
        }
        let (b, t) = data.split_at(data.len() - plan.tag_len);
        (b, Some(t.to_vec()))
    } else {
        (data, None)
    };
    let r = g
        .call(
            Operation::Decrypt,
            RequestPayload::Decrypt(DecryptRequest {
                unique_identifier: Some(uid.to_owned()),
                cryptographic_parameters: Some(plan.params),
                data: Some(body.to_vec()),
                iv_counter_nonce: plan.iv,
                authenticated_encryption_additional_data: plan.aad,
                authenticated_encryption_tag: tag,
                ..Default::default()
            }),
        )
        .map_err(|e| match e.rv() {
            // A tag or padding that does not check is the data's fault.
            CKR_FUNCTION_FAILED => Error::Ck(CKR_ENCRYPTED_DATA_INVALID),
            _ => e,
        })?;
    let ResponsePayload::Decrypt(r) = r else {
        return Err(Error::Protocol("Decrypt: unexpected payload".into()));
    };
    Ok(Zeroizing::new(r.data.unwrap_or_default()))
}

/// C_Sign: the signature (or MAC) as PKCS#11 returns it.
pub fn sign(g: &Gateway, uid: &str, key: &ObjInfo, m: &Mechanism, data: &[u8]) -> Result<Vec<u8>> {
    if let Some(alg) = hmac(m.kind) {
        let r = g.call(
            Operation::Mac,
            RequestPayload::Mac(MacRequest {
                unique_identifier: Some(uid.to_owned()),
                cryptographic_parameters: Some(CryptographicParameters {
                    cryptographic_algorithm: Some(alg),
                    ..Default::default()
                }),
                data: Some(data.to_vec()),
                ..Default::default()
            }),
        )?;
        return match r {
            ResponsePayload::Mac(r) => r
                .mac_data
                .ok_or_else(|| Error::Protocol("MAC: no MAC Data".into())),
            _ => Err(Error::Protocol("MAC: unexpected payload".into())),
        };
    }
    let plan = signature(key, m, data)?;
    let r = g.call(
        Operation::Sign,
        RequestPayload::Sign(SignRequest {
            unique_identifier: Some(uid.to_owned()),
            cryptographic_parameters: Some(plan.params),
            data: plan.data,
            digested_data: plan.digest,
            ..Default::default()
        }),
    )?;
    let ResponsePayload::Sign(r) = r else {
        return Err(Error::Protocol("Sign: unexpected payload".into()));
    };
    let sig = r
        .signature_data
        .ok_or_else(|| Error::Protocol("Sign: no Signature Data".into()))?;
    match plan.ec_bits {
        Some(bits) => ecdsa_der_to_raw(&sig, bits),
        None => Ok(sig),
    }
}

/// C_Verify: Ok when the signature (or MAC) checks, CKR_SIGNATURE_INVALID or
/// CKR_SIGNATURE_LEN_RANGE when not.
pub fn verify(
    g: &Gateway,
    uid: &str,
    key: &ObjInfo,
    m: &Mechanism,
    data: &[u8],
    sig: &[u8],
) -> Result<()> {
    let valid = if let Some(alg) = hmac(m.kind) {
        let r = g.call(
            Operation::MacVerify,
            RequestPayload::MacVerify(MacVerifyRequest {
                unique_identifier: Some(uid.to_owned()),
                cryptographic_parameters: Some(CryptographicParameters {
                    cryptographic_algorithm: Some(alg),
                    ..Default::default()
                }),
                data: Some(data.to_vec()),
                mac_data: Some(sig.to_vec()),
                ..Default::default()
            }),
        )?;
        match r {
            ResponsePayload::MacVerify(r) => r.validity_indicator,
            _ => return Err(Error::Protocol("MAC Verify: unexpected payload".into())),
        }
    } else {
        let plan = signature(key, m, data)?;
        let sig = match plan.ec_bits {
            Some(bits) => ecdsa_raw_to_der(sig, bits)?,
            None => {
                let want = key.key_bits().map_or(0, |b| (b as usize).div_ceil(8));
                if want != 0 && sig.len() != want {
                    return ck(CKR_SIGNATURE_LEN_RANGE);
                }
                sig.to_vec()
            }
        };
        let r = g.call(
            Operation::SignatureVerify,
            RequestPayload::SignatureVerify(SignatureVerifyRequest {
                unique_identifier: Some(uid.to_owned()),
                cryptographic_parameters: Some(plan.params),
                data: plan.data,
                digested_data: plan.digest,
                signature_data: Some(sig),
                ..Default::default()
            }),
        )?;
        match r {
            ResponsePayload::SignatureVerify(r) => r.validity_indicator,
            _ => {
                return Err(Error::Protocol(
                    "Signature Verify: unexpected payload".into(),
                ))
            }
        }
    };
    match valid {
        ValidityIndicator::Valid => Ok(()),
        _ => ck(CKR_SIGNATURE_INVALID),
    }
}

/// The length of C_Sign's output for `key` and `m`, when it is fixed.
pub fn signature_len(key: &ObjInfo, m: &Mechanism) -> Option<usize> {
    if let Some(h) = hmac_hash_len(m.kind) {
        return Some(h);
    }
    let bits = key.key_bits()? as usize;
    Some(match m.kind {
        CKM_ECDSA | CKM_ECDSA_SHA256 | CKM_ECDSA_SHA384 => 2 * bits.div_ceil(8),
        _ => bits.div_ceil(8),
    })
}

struct CipherPlan {
    params: CryptographicParameters,
    iv: Option<Vec<u8>>,
    aad: Option<Vec<u8>>,
    tag_len: usize,
}

fn aes(mode: BlockCipherMode, padding: PaddingMethod) -> CryptographicParameters {
    CryptographicParameters {
        cryptographic_algorithm: Some(CryptographicAlgorithm::Aes),
        block_cipher_mode: Some(mode),
        padding_method: Some(padding),
        ..Default::default()
    }
}

fn cipher(key: &ObjInfo, m: &Mechanism) -> Result<CipherPlan> {
    let plain = |params| CipherPlan {
        params,
        iv: None,
        aad: None,
        tag_len: 0,
    };
    let want_key = |k: CK_KEY_TYPE| {
        if key.key_type == Some(k) {
            Ok(())
        } else {
            ck(CKR_KEY_TYPE_INCONSISTENT)
        }
    };
    match (m.kind, &m.params) {
        (CKM_AES_ECB, Params::None) => {
            want_key(CKK_AES)?;
            Ok(plain(aes(BlockCipherMode::Ecb, PaddingMethod::None)))
        }
        (CKM_AES_CBC | CKM_AES_CBC_PAD, Params::Iv(iv)) => {
            want_key(CKK_AES)?;
            if iv.len() != 16 {
                return ck(CKR_MECHANISM_PARAM_INVALID);
            }
            let pad = if m.kind == CKM_AES_CBC_PAD {
                PaddingMethod::Pkcs5
            } else {
                PaddingMethod::None
            };
            Ok(CipherPlan {
                iv: Some(iv.clone()),
                ..plain(aes(BlockCipherMode::Cbc, pad))
            })
        }
        (
            CKM_AES_CTR,
            Params::Ctr {
                counter_bits,
                block,
            },
        ) => {
            want_key(CKK_AES)?;
            if *counter_bits == 0 || *counter_bits > 128 {
                return ck(CKR_MECHANISM_PARAM_INVALID);
            }
            let mut p = aes(BlockCipherMode::Ctr, PaddingMethod::None);
            p.counter_length = i32::try_from(*counter_bits).ok();
            Ok(CipherPlan {
                iv: Some(block.to_vec()),
                ..plain(p)
            })
        }
        (CKM_AES_GCM, Params::Gcm { iv, aad, tag_bits }) => {
            want_key(CKK_AES)?;
            if iv.is_empty() || tag_bits % 8 != 0 || !(96..=128).contains(tag_bits) {
                return ck(CKR_MECHANISM_PARAM_INVALID);
            }
            let tag_len = (*tag_bits / 8) as usize;
            let mut p = aes(BlockCipherMode::Gcm, PaddingMethod::None);
            p.tag_length = i32::try_from(tag_len).ok();
            Ok(CipherPlan {
                params: p,
                iv: Some(iv.clone()),
                aad: Some(aad.clone()),
                tag_len,
            })
        }
        (CKM_RSA_PKCS, Params::None) => {
            want_key(CKK_RSA)?;
            Ok(plain(CryptographicParameters {
                cryptographic_algorithm: Some(CryptographicAlgorithm::Rsa),
                padding_method: Some(PaddingMethod::Pkcs1V1_5),
                ..Default::default()
            }))
        }
        (CKM_RSA_PKCS_OAEP, Params::Oaep(o)) => {
            want_key(CKK_RSA)?;
            Ok(plain(oaep(o)?))
        }
        (
            CKM_AES_ECB | CKM_AES_CBC | CKM_AES_CBC_PAD | CKM_AES_CTR | CKM_AES_GCM | CKM_RSA_PKCS
            | CKM_RSA_PKCS_OAEP,
            _,
        ) => ck(CKR_MECHANISM_PARAM_INVALID),
        _ => ck(CKR_MECHANISM_INVALID),
    }
}

/// Cryptographic Parameters for RSA-OAEP (MGF1 with the same hash; no label).
pub fn oaep(o: &Oaep) -> Result<CryptographicParameters> {
    let hash = hash_of(o.hash).ok_or(Error::Ck(CKR_MECHANISM_PARAM_INVALID))?;
    let mgf_ok = matches!(
        (o.hash, o.mgf),
        (CKM_SHA_1, CKG_MGF1_SHA1)
            | (CKM_SHA224, CKG_MGF1_SHA224)
            | (CKM_SHA256, CKG_MGF1_SHA256)
            | (CKM_SHA384, CKG_MGF1_SHA384)
            | (CKM_SHA512, CKG_MGF1_SHA512)
    );
    if !mgf_ok || !o.label.is_empty() {
        return ck(CKR_MECHANISM_PARAM_INVALID);
    }
    Ok(CryptographicParameters {
        cryptographic_algorithm: Some(CryptographicAlgorithm::Rsa),
        padding_method: Some(PaddingMethod::Oaep),
        hashing_algorithm: Some(hash),
        mask_generator_hashing_algorithm: Some(hash),
        ..Default::default()
    })
}

fn hash_of(m: CK_MECHANISM_TYPE) -> Option<HashingAlgorithm> {
    Some(match m {
        CKM_SHA_1 => HashingAlgorithm::Sha1,
        CKM_SHA224 => HashingAlgorithm::Sha224,
        CKM_SHA256 => HashingAlgorithm::Sha256,
        CKM_SHA384 => HashingAlgorithm::Sha384,
        CKM_SHA512 => HashingAlgorithm::Sha512,
        _ => return None,
    })
}

fn hash_len(h: HashingAlgorithm) -> usize {
    match h {
        HashingAlgorithm::Sha1 => 20,
        HashingAlgorithm::Sha224 => 28,
        HashingAlgorithm::Sha384 => 48,
        HashingAlgorithm::Sha512 => 64,
        _ => 32,
    }
}

fn hmac(m: CK_MECHANISM_TYPE) -> Option<CryptographicAlgorithm> {
    Some(match m {
        CKM_SHA256_HMAC => CryptographicAlgorithm::HmacSha256,
        CKM_SHA384_HMAC => CryptographicAlgorithm::HmacSha384,
        CKM_SHA512_HMAC => CryptographicAlgorithm::HmacSha512,
        _ => return None,
    })
}

fn hmac_hash_len(m: CK_MECHANISM_TYPE) -> Option<usize> {
    Some(match m {
        CKM_SHA256_HMAC => 32,
        CKM_SHA384_HMAC => 48,
        CKM_SHA512_HMAC => 64,
        _ => return None,
    })
}

struct SignPlan {
    params: CryptographicParameters,
    data: Option<Vec<u8>>,
    digest: Option<Vec<u8>>,
    /// ECDSA: field size, to convert between DER and r||s.
    ec_bits: Option<usize>,
}

/// DigestInfo prefixes (RFC 8017 §9.2, note 1): CKM_RSA_PKCS signs a DigestInfo
/// the caller built (TLS 1.2 through OpenSSL does); the gateway takes the digest
/// and its hash, and builds the same DigestInfo again.
const DIGEST_INFO: &[(HashingAlgorithm, &[u8])] = &[
    (
        HashingAlgorithm::Sha256,
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
    ),
    (
        HashingAlgorithm::Sha384,
        &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
    ),
    (
        HashingAlgorithm::Sha512,
        &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    ),
    (
        HashingAlgorithm::Sha1,
        &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
    ),
];

fn signature(key: &ObjInfo, m: &Mechanism, input: &[u8]) -> Result<SignPlan> {
    let rsa = |padding, hash| CryptographicParameters {
        cryptographic_algorithm: Some(CryptographicAlgorithm::Rsa),
        padding_method: Some(padding),
        hashing_algorithm: Some(hash),
        ..Default::default()
    };
    let message = |params| SignPlan {
        params,
        data: Some(input.to_vec()),
        digest: None,
        ec_bits: None,
    };
    let digested = |params| SignPlan {
        params,
        data: None,
        digest: Some(input.to_vec()),
        ec_bits: None,
    };
    let key_is = |k: CK_KEY_TYPE| {
        if key.key_type == Some(k) {
            Ok(())
        } else {
            ck(CKR_KEY_TYPE_INCONSISTENT)
        }
    };
    let pss = |hash: HashingAlgorithm| -> Result<CryptographicParameters> {
        let Params::Pss {
            hash: h,
            mgf,
            salt_len,
        } = &m.params
        else {
            return ck(CKR_MECHANISM_PARAM_INVALID);
        };
        let mgf_hash = match *mgf {
            CKG_MGF1_SHA1 => HashingAlgorithm::Sha1,
            CKG_MGF1_SHA256 => HashingAlgorithm::Sha256,
            CKG_MGF1_SHA384 => HashingAlgorithm::Sha384,
            CKG_MGF1_SHA512 => HashingAlgorithm::Sha512,
            _ => return ck(CKR_MECHANISM_PARAM_INVALID),
        };
        // The gateway signs PSS with MGF1 of the same hash and a salt as long as
        // the hash (the TLS 1.3 and common profile).
        if hash_of(*h) != Some(hash) || mgf_hash != hash || *salt_len as usize != hash_len(hash) {
            return ck(CKR_MECHANISM_PARAM_INVALID);
        }
        let mut p = rsa(PaddingMethod::Pss, hash);
        p.mask_generator_hashing_algorithm = Some(hash);
        p.salt_length = i32::try_from(*salt_len).ok();
        Ok(p)
    };
    match m.kind {
        CKM_RSA_PKCS => {
            key_is(CKK_RSA)?;
            let (hash, digest) = DIGEST_INFO
                .iter()
                .find_map(|(h, prefix)| {
                    input
                        .strip_prefix(*prefix)
                        .filter(|d| d.len() == hash_len(*h))
                        .map(|d| (*h, d))
                })
                .ok_or(Error::Ck(CKR_DATA_INVALID))?;
            Ok(SignPlan {
                digest: Some(digest.to_vec()),
                ..digested(rsa(PaddingMethod::Pkcs1V1_5, hash))
            })
        }
        CKM_SHA256_RSA_PKCS | CKM_SHA384_RSA_PKCS | CKM_SHA512_RSA_PKCS => {
            key_is(CKK_RSA)?;
            let hash = match m.kind {
                CKM_SHA256_RSA_PKCS => HashingAlgorithm::Sha256,
                CKM_SHA384_RSA_PKCS => HashingAlgorithm::Sha384,
                _ => HashingAlgorithm::Sha512,
            };
            Ok(message(rsa(PaddingMethod::Pkcs1V1_5, hash)))
        }
        CKM_RSA_PKCS_PSS => {
            key_is(CKK_RSA)?;
            let Params::Pss { hash, .. } = &m.params else {
                return ck(CKR_MECHANISM_PARAM_INVALID);
            };
            let hash = hash_of(*hash).ok_or(Error::Ck(CKR_MECHANISM_PARAM_INVALID))?;
            if input.len() != hash_len(hash) {
                return ck(CKR_DATA_LEN_RANGE);
            }
            Ok(digested(pss(hash)?))
        }
        CKM_SHA256_RSA_PKCS_PSS | CKM_SHA384_RSA_PKCS_PSS | CKM_SHA512_RSA_PKCS_PSS => {
            key_is(CKK_RSA)?;
            let hash = match m.kind {
                CKM_SHA256_RSA_PKCS_PSS => HashingAlgorithm::Sha256,
                CKM_SHA384_RSA_PKCS_PSS => HashingAlgorithm::Sha384,
                _ => HashingAlgorithm::Sha512,
            };
            Ok(message(pss(hash)?))
        }
        CKM_ECDSA | CKM_ECDSA_SHA256 | CKM_ECDSA_SHA384 => {
            key_is(CKK_EC)?;
            let bits = key.key_bits().ok_or(Error::Ck(CKR_KEY_TYPE_INCONSISTENT))? as usize;
            let ec = |hash| CryptographicParameters {
                cryptographic_algorithm: Some(CryptographicAlgorithm::Ecdsa),
                hashing_algorithm: Some(hash),
                ..Default::default()
            };
            let plan = match m.kind {
                CKM_ECDSA_SHA256 => message(ec(HashingAlgorithm::Sha256)),
                CKM_ECDSA_SHA384 => message(ec(HashingAlgorithm::Sha384)),
                _ => {
                    let hash = match input.len() {
                        32 => HashingAlgorithm::Sha256,
                        48 => HashingAlgorithm::Sha384,
                        64 => HashingAlgorithm::Sha512,
                        _ => return ck(CKR_DATA_LEN_RANGE),
                    };
                    digested(ec(hash))
                }
            };
            Ok(SignPlan {
                ec_bits: Some(bits),
                ..plan
            })
        }
        _ => ck(CKR_MECHANISM_INVALID),
    }
}

/// An ECDSA signature from DER (X9.62 `SEQUENCE { r, s }`, as KMIP carries it) to
/// PKCS#11's fixed-width `r || s`.
fn ecdsa_der_to_raw(sig: &[u8], bits: usize) -> Result<Vec<u8>> {
    use der::Decode;
    let n = bits.div_ceil(8);
    let bad = || Error::Protocol("ECDSA signature is not DER r,s".into());
    let pair = EcdsaSig::from_der(sig).map_err(|_| bad())?;
    let mut out = vec![0u8; 2 * n];
    for (i, v) in [pair.r.as_bytes(), pair.s.as_bytes()]
        .into_iter()
        .enumerate()
    {
        if v.len() > n {
            return Err(bad());
        }
        out[i * n + (n - v.len())..(i + 1) * n].copy_from_slice(v);
    }
    Ok(out)
}

/// PKCS#11's `r || s` to DER.
fn ecdsa_raw_to_der(sig: &[u8], bits: usize) -> Result<Vec<u8>> {
    use der::Encode;
    let n = bits.div_ceil(8);
    if sig.len() != 2 * n {
        return ck(CKR_SIGNATURE_LEN_RANGE);
    }
    let (r, s) = sig.split_at(n);
    let pair = EcdsaSig {
        r: der::asn1::UintRef::new(r).map_err(|_| Error::Ck(CKR_SIGNATURE_INVALID))?,
        s: der::asn1::UintRef::new(s).map_err(|_| Error::Ck(CKR_SIGNATURE_INVALID))?,
    };
    pair.to_der().map_err(|_| Error::Ck(CKR_SIGNATURE_INVALID))
}

#[derive(der::Sequence)]
struct EcdsaSig<'a> {
    r: der::asn1::UintRef<'a>,
    s: der::asn1::UintRef<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signatures_convert_both_ways() {
        // r has a high bit (DER adds a zero byte), s is short (raw pads it).
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[31] = 1;
        raw[63] = 7;
        let der = ecdsa_raw_to_der(&raw, 256).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 0x21, 0x00], "r is a positive INTEGER");
        assert_eq!(ecdsa_der_to_raw(&der, 256).unwrap(), raw);
        assert_eq!(
            ecdsa_raw_to_der(&raw[..63], 256).unwrap_err().rv(),
            CKR_SIGNATURE_LEN_RANGE
        );
    }

    #[test]
    fn digest_info_prefixes_are_the_rfc_ones() {
        // The SHA-256 prefix with a digest makes a 51-byte DigestInfo (RFC 8017).
        let sha256 = DIGEST_INFO[0].1;
        assert_eq!(sha256.len() + 32, 51);
        assert_eq!(usize::from(sha256[1]) + 2, 51);
        for (h, p) in DIGEST_INFO {
            assert_eq!(usize::from(p[1]) + 2, p.len() + hash_len(*h), "{h:?}");
        }
    }
}
