//! DER encodings between PKCS#11 attributes and what KMIP carries: SubjectPublicKeyInfo
//! (RFC 5280 §4.1.2.7; RSA per RFC 8017 A.1.1, EC per RFC 5480, Ed25519 per RFC 8410),
//! X9.62 ECDSA signatures, and PKCS#1 v1.5 DigestInfo prefixes (RFC 8017 §9.2).

use spki::der::asn1::{Any, BitString, Null, ObjectIdentifier, OctetStringRef, UintRef};
use spki::der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};

use crate::crypto::{Curve, HashAlg};

use super::error::Fault;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A public key as PKCS#11 attributes describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// `CKA_MODULUS`, `CKA_PUBLIC_EXPONENT` (big-endian).
    Rsa { modulus: Vec<u8>, exponent: Vec<u8> },
    /// The uncompressed point (`04 || x || y`).
    Ec { curve: Curve, point: Vec<u8> },
    /// The 32-byte encoded point.
    Ed25519 { point: Vec<u8> },
}

/// `CKA_EC_PARAMS` for a curve: the DER of its named-curve OID.
pub(crate) fn ec_params(curve: Curve) -> Vec<u8> {
    // Encoding an OID constant into a Vec cannot fail.
    curve_oid(curve).to_der().unwrap_or_default()
}

/// `CKA_EC_PARAMS` for Ed25519: the DER of id-Ed25519 (SoftHSM 2.6.1 also takes the
/// printable string "edwards25519"; the OID is what PKCS#11 3.0 prefers).
pub(crate) fn ed25519_params() -> Vec<u8> {
    ED25519.to_der().unwrap_or_default()
}

/// The field size of a curve in bytes (the length of r and s in a raw ECDSA signature).
pub(crate) fn field_len(curve: Curve) -> usize {
    match curve {
        Curve::P256 => 32,
        Curve::P384 => 48,
    }
}

fn curve_oid(curve: Curve) -> ObjectIdentifier {
    match curve {
        Curve::P256 => SECP256R1,
        Curve::P384 => SECP384R1,
    }
}

/// The point inside `CKA_EC_POINT`. PKCS#11 specifies a DER OCTET STRING (SoftHSM
/// returns that); some modules return the raw point, accepted when its length is the
/// raw length `raw_len`.
pub(crate) fn ec_point(attr: &[u8], raw_len: usize) -> Result<Vec<u8>, Fault> {
    if attr.len() == raw_len {
        return Ok(attr.to_vec());
    }
    let octets = <&OctetStringRef>::from_der(attr)
        .map_err(|e| Fault::Library(format!("CKA_EC_POINT is not a DER OCTET STRING: {e}")))?;
    if octets.as_bytes().len() != raw_len {
        return Err(Fault::Library(format!(
            "CKA_EC_POINT holds {} bytes, expected {raw_len}",
            octets.as_bytes().len()
        )));
    }
    Ok(octets.as_bytes().to_vec())
}

/// `CKA_EC_POINT` for importing a public key: the point as a DER OCTET STRING.
pub(crate) fn ec_point_attr(point: &[u8]) -> Result<Vec<u8>, Fault> {
    OctetStringRef::new(point)
        .and_then(|o| o.to_der())
        .map_err(|e| Fault::BadParameters(format!("EC point cannot be encoded: {e}")))
}

/// The raw length of an uncompressed point on `curve`.
pub(crate) fn point_len(curve: Curve) -> usize {
    1 + 2 * field_len(curve)
}

impl PublicKey {
    /// The SubjectPublicKeyInfo DER.
    pub(crate) fn to_spki(&self) -> Result<Vec<u8>, Fault> {
        let der_err = |e: spki::der::Error| Fault::Library(format!("encoding a public key: {e}"));
        let (algorithm, key) = match self {
            PublicKey::Rsa { modulus, exponent } => {
                let key = pkcs1::RsaPublicKey {
                    modulus: UintRef::new(modulus).map_err(der_err)?,
                    public_exponent: UintRef::new(exponent).map_err(der_err)?,
                }
                .to_der()
                .map_err(der_err)?;
                (
                    AlgorithmIdentifierOwned {
                        oid: RSA_ENCRYPTION,
                        parameters: Some(Any::from(Null)),
                    },
                    key,
                )
            }
            PublicKey::Ec { curve, point } => (
                AlgorithmIdentifierOwned {
                    oid: ID_EC_PUBLIC_KEY,
                    parameters: Some(Any::from(curve_oid(*curve))),
                },
                point.clone(),
            ),
            PublicKey::Ed25519 { point } => (
                AlgorithmIdentifierOwned {
                    oid: ED25519,
                    parameters: None,
                },
                point.clone(),
            ),
        };
        SubjectPublicKeyInfoOwned {
            algorithm,
            subject_public_key: BitString::from_bytes(&key).map_err(der_err)?,
        }
        .to_der()
        .map_err(der_err)
    }

    /// Parses a SubjectPublicKeyInfo of an RSA, P-256/P-384 or Ed25519 key.
    pub(crate) fn from_spki(der: &[u8]) -> Result<Self, Fault> {
        let bad = |why: String| Fault::BadParameters(format!("public key: {why}"));
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| bad(e.to_string()))?;
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("BIT STRING with unused bits".into()))?;
        let oid = spki.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            let rsa = pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(key)
                .map_err(|e| bad(e.to_string()))?;
            Ok(PublicKey::Rsa {
                modulus: rsa.modulus.as_bytes().to_vec(),
                exponent: rsa.public_exponent.as_bytes().to_vec(),
            })
        } else if oid == ID_EC_PUBLIC_KEY {
            let curve_oid = spki
                .algorithm
                .parameters_oid()
                .map_err(|e| bad(format!("EC parameters: {e}")))?;
            let curve = if curve_oid == SECP256R1 {
                Curve::P256
            } else if curve_oid == SECP384R1 {
                Curve::P384
            } else {
                return Err(Fault::Unsupported(format!(
                    "EC curve {curve_oid} is not supported"
                )));
            };
            if key.len() != point_len(curve) || key[0] != 0x04 {
                return Err(bad(
                    "EC point is not uncompressed or of the wrong size".into()
                ));
            }
            Ok(PublicKey::Ec {
                curve,
                point: key.to_vec(),
            })
        } else if oid == ED25519 {
            if key.len() != 32 {
                return Err(bad("Ed25519 key is not 32 bytes".into()));
            }
            Ok(PublicKey::Ed25519 {
                point: key.to_vec(),
            })
        } else {
            Err(Fault::Unsupported(format!(
                "public key algorithm {oid} is not supported"
            )))
        }
    }
}

/// A raw `r || s` ECDSA signature (what `CKM_ECDSA` produces) as the DER
/// `ECDSA-Sig-Value` KMIP carries (X9.62, RFC 3279 §2.2.3).
pub(crate) fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, Fault> {
    if raw.is_empty() || raw.len() % 2 != 0 {
        return Err(Fault::Library(format!(
            "CKM_ECDSA returned a signature of odd length {}",
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let encode =
        || -> Result<Vec<u8>, spki::der::Error> { [UintRef::new(r)?, UintRef::new(s)?].to_der() };
    encode().map_err(|e| Fault::Library(format!("encoding an ECDSA signature: {e}")))
}

/// A DER `ECDSA-Sig-Value` as raw `r || s`, each left-padded to the field size.
/// `None` for anything that is not a well-formed signature on this curve (a verify
/// then simply fails).
pub(crate) fn ecdsa_der_to_raw(der: &[u8], field_len: usize) -> Option<Vec<u8>> {
    let ints = Vec::<UintRef<'_>>::from_der(der).ok()?;
    let [r, s] = <[UintRef<'_>; 2]>::try_from(ints).ok()?;
    let mut raw = vec![0u8; 2 * field_len];
    for (int, out) in [r, s].iter().zip(raw.chunks_mut(field_len)) {
        let bytes = int.as_bytes();
        if bytes.len() > field_len {
            return None;
        }
        out[field_len - bytes.len()..].copy_from_slice(bytes);
    }
    Some(raw)
}

/// The DER prefix of a PKCS#1 v1.5 DigestInfo for `hash` (RFC 8017 §9.2 note 1):
/// `CKM_RSA_PKCS` signs `prefix || digest` when the caller hashed the message.
pub(crate) fn digest_info_prefix(hash: HashAlg) -> &'static [u8] {
    match hash {
        HashAlg::Sha1 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
        HashAlg::Sha224 => &[
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1c,
        ],
        HashAlg::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        HashAlg::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlg::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signature_round_trip() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero in DER
        raw[63] = 1; // s is a single byte
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(ecdsa_der_to_raw(&der, 32).unwrap(), raw);
        assert!(ecdsa_der_to_raw(&der[..der.len() - 1], 32).is_none());
        assert!(ecdsa_der_to_raw(b"junk", 32).is_none());
    }

    #[test]
    fn spki_round_trip() {
        let rsa = PublicKey::Rsa {
            modulus: vec![0xc5; 256],
            exponent: vec![1, 0, 1],
        };
        assert_eq!(PublicKey::from_spki(&rsa.to_spki().unwrap()).unwrap(), rsa);
        let mut point = vec![4u8];
        point.extend_from_slice(&[0x11; 64]);
        let ec = PublicKey::Ec {
            curve: Curve::P256,
            point,
        };
        assert_eq!(PublicKey::from_spki(&ec.to_spki().unwrap()).unwrap(), ec);
        let ed = PublicKey::Ed25519 {
            point: vec![0x22; 32],
        };
        let spki = ed.to_spki().unwrap();
        // RFC 8410 §10.1 example prefix.
        assert_eq!(
            &spki[..12],
            &[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
        );
        assert_eq!(PublicKey::from_spki(&spki).unwrap(), ed);
    }

    #[test]
    fn ec_params_and_points() {
        assert_eq!(
            ec_params(Curve::P256),
            [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
        );
        assert_eq!(
            ec_params(Curve::P384),
            [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]
        );
        let point = vec![4u8; 65];
        let attr = ec_point_attr(&point).unwrap();
        assert_eq!(&attr[..2], &[0x04, 65]);
        assert_eq!(ec_point(&attr, 65).unwrap(), point);
        assert_eq!(ec_point(&point, 65).unwrap(), point);
        assert!(ec_point(&attr, 97).is_err());
    }
}
