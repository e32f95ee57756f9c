//! Encodings of asymmetric keys: what the backend keeps and what Get serves.
//!
//! A backend holds every private key as PKCS#8 and every public key as
//! SubjectPublicKeyInfo (KMIP Key Format Type "X.509") — the encodings the
//! software engine takes and a PKCS#11 token imports — whatever format the client
//! registered. The object's template keeps the registered (or generated) Key Format
//! Type, and Get converts the stored encoding to it, or to the format the request
//! asks for: RSA keys to and from PKCS#1, EC private keys to and from
//! `ECPrivateKey` (RFC 5915). DER produced by OpenSSL round-trips byte for byte, so
//! a key registered in canonical DER comes back exactly as registered.
//!
//! Public keys are also served as Transparent RSA Public Key (Modulus and Public
//! Exponent as Big Integers) and Transparent EC Public Key (Recommended Curve and
//! the uncompressed point as Q String), built from the stored SPKI
//! ([`transparent_public`]).
//!
//! Keys registered in other formats (Raw, Opaque, the Transparent structures) are
//! stored as registered and served only in their own format; they cannot be used
//! for cryptographic operations.

use super::OpError;
use crate::crypto::software::{
    pkcs1_rsa_to_pkcs8, pkcs1_rsa_to_spki, pkcs8_to_pkcs1_rsa, spki_to_pkcs1_rsa,
};
use crate::crypto::CryptoError;
use kmip::messages::codec::BigInt;
use kmip::messages::objects::TransparentKey;
use kmip::types::{
    CryptographicAlgorithm, KeyFormatType, ObjectType, RecommendedCurve, ResultReason,
};
use openssl::bn::{BigNumContext, BigNumRef};
use openssl::ec::{EcKey, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey};
use zeroize::Zeroizing;

/// True when a key of `object_type` registered in `format` is stored in the
/// canonical encoding (PKCS#8 / SPKI) and can be used and converted.
pub fn canonical_format(object_type: ObjectType, format: KeyFormatType) -> bool {
    match object_type {
        ObjectType::PrivateKey => matches!(
            format,
            KeyFormatType::Pkcs8 | KeyFormatType::Pkcs1 | KeyFormatType::EcPrivateKey
        ),
        ObjectType::PublicKey => matches!(format, KeyFormatType::X509 | KeyFormatType::Pkcs1),
        _ => false,
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> OpError {
    OpError::new(ResultReason::InvalidField, format!("{what}: {e}"))
}

fn reasons(e: &openssl::error::ErrorStack) -> String {
    let list: Vec<&str> = e.errors().iter().filter_map(|e| e.reason()).collect();
    if list.is_empty() {
        "unspecified OpenSSL error".to_owned()
    } else {
        list.join("; ")
    }
}

fn crypto_msg(e: CryptoError) -> String {
    match e {
        CryptoError::BadParameters(m)
        | CryptoError::Unsupported(m)
        | CryptoError::Failed(m)
        | CryptoError::Device(m) => m,
    }
}

/// The algorithm family an OpenSSL key belongs to.
fn family(id: Id) -> Option<CryptographicAlgorithm> {
    match id {
        Id::RSA => Some(CryptographicAlgorithm::Rsa),
        Id::EC => Some(CryptographicAlgorithm::Ec),
        Id::ED25519 => Some(CryptographicAlgorithm::Ed25519),
        _ => None,
    }
}

/// Checks that the key's algorithm is the one the object's attributes state (EC and
/// ECDSA name the same keys) and, for RSA, that the modulus has the stated length.
fn check_claims(
    id: Id,
    bits: u32,
    alg: Option<CryptographicAlgorithm>,
    length: Option<i32>,
) -> Result<(), OpError> {
    let Some(alg) = alg else { return Ok(()) };
    let claimed = match alg {
        CryptographicAlgorithm::Ecdsa => CryptographicAlgorithm::Ec,
        other => other,
    };
    if family(id) != Some(claimed) {
        return Err(OpError::new(
            ResultReason::InvalidField,
            format!("the key material is not an {alg:?} key"),
        ));
    }
    if claimed == CryptographicAlgorithm::Rsa {
        if let Some(l) = length {
            if i64::from(l) != i64::from(bits) {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    format!("Cryptographic Length {l} but the RSA modulus has {bits} bits"),
                ));
            }
        }
    }
    Ok(())
}

/// The encoding the backend stores for a key registered as `bytes` in `format`:
/// PKCS#8 for a private key, SPKI for a public key. Checks that the material parses
/// and agrees with the stated algorithm and length. Keys in non-canonical formats
/// are returned unchanged.
pub fn to_stored(
    object_type: ObjectType,
    format: KeyFormatType,
    alg: Option<CryptographicAlgorithm>,
    length: Option<i32>,
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpError> {
    if !canonical_format(object_type, format) {
        return Ok(Zeroizing::new(bytes.to_vec()));
    }
    let stored = match (object_type, format) {
        (ObjectType::PrivateKey, KeyFormatType::Pkcs8) => Zeroizing::new(bytes.to_vec()),
        (ObjectType::PrivateKey, KeyFormatType::Pkcs1) => pkcs1_rsa_to_pkcs8(bytes)
            .map_err(|e| invalid("not a PKCS#1 RSA private key", crypto_msg(e)))?,
        (ObjectType::PrivateKey, _) => {
            let ec = EcKey::private_key_from_der(bytes)
                .map_err(|e| invalid("not an EC private key (RFC 5915)", reasons(&e)))?;
            let pkey = PKey::from_ec_key(ec).map_err(|e| invalid("EC key", reasons(&e)))?;
            Zeroizing::new(
                pkey.private_key_to_pkcs8()
                    .map_err(|e| invalid("EC key", reasons(&e)))?,
            )
        }
        (_, KeyFormatType::X509) => bytes.to_vec().into(),
        _ => pkcs1_rsa_to_spki(bytes)
            .map_err(|e| invalid("not a PKCS#1 RSA public key", crypto_msg(e)))?
            .into(),
    };
    if object_type == ObjectType::PrivateKey {
        let pkey = PKey::private_key_from_pkcs8(&stored)
            .map_err(|e| invalid("not a PKCS#8 private key", reasons(&e)))?;
        check_claims(pkey.id(), pkey.bits(), alg, length)?;
    } else {
        let pkey = PKey::public_key_from_der(&stored)
            .map_err(|e| invalid("not an X.509 SubjectPublicKeyInfo", reasons(&e)))?;
        check_claims(pkey.id(), pkey.bits(), alg, length)?;
    }
    Ok(stored)
}

/// Converts the stored encoding of a key (see [`to_stored`]) to `want`. A key in a
/// non-canonical format (`stored_format`) is served only in that format.
pub fn from_stored(
    object_type: ObjectType,
    stored_format: KeyFormatType,
    want: KeyFormatType,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpError> {
    let unsupported = || {
        OpError::new(
            ResultReason::KeyFormatTypeNotSupported,
            format!("cannot convert a {object_type:?} in {stored_format:?} to {want:?}"),
        )
    };
    if !canonical_format(object_type, stored_format) {
        return if want == stored_format {
            Ok(Zeroizing::new(stored.to_vec()))
        } else {
            Err(unsupported())
        };
    }
    let corrupt = |_| {
        tracing::error!("stored key material does not decode");
        OpError::new(ResultReason::GeneralFailure, "stored object is corrupt")
    };
    match (object_type, want) {
        (ObjectType::PrivateKey, KeyFormatType::Pkcs8)
        | (ObjectType::PublicKey, KeyFormatType::X509) => Ok(Zeroizing::new(stored.to_vec())),
        (ObjectType::PrivateKey, KeyFormatType::Pkcs1) => {
            let pkey = PKey::private_key_from_pkcs8(stored).map_err(corrupt)?;
            if pkey.id() != Id::RSA {
                return Err(unsupported());
            }
            pkcs8_to_pkcs1_rsa(stored).map_err(|_| unsupported())
        }
        (ObjectType::PrivateKey, KeyFormatType::EcPrivateKey) => {
            let pkey = PKey::private_key_from_pkcs8(stored).map_err(corrupt)?;
            let ec = pkey.ec_key().map_err(|_| unsupported())?;
            Ok(Zeroizing::new(ec.private_key_to_der().map_err(corrupt)?))
        }
        (ObjectType::PublicKey, KeyFormatType::Pkcs1) => {
            let pkey = PKey::public_key_from_der(stored).map_err(corrupt)?;
            if pkey.id() != Id::RSA {
                return Err(unsupported());
            }
            spki_to_pkcs1_rsa(stored)
                .map(Zeroizing::new)
                .map_err(|_| unsupported())
        }
        _ => Err(unsupported()),
    }
}

/// True for the Transparent formats [`transparent_public`] serves.
pub fn is_transparent_public(format: KeyFormatType) -> bool {
    matches!(
        format,
        KeyFormatType::TransparentRsaPublicKey | KeyFormatType::TransparentEcPublicKey
    )
}

/// A non-negative Big Integer (KMIP 1.4 §9.1.1.4: two's complement, so a leading
/// zero byte when the top bit is set).
fn positive(n: &BigNumRef) -> BigInt {
    let mut v = n.to_vec();
    if v.is_empty() || v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    BigInt(v)
}

/// The Transparent form `want` (RSA or EC public key, KMIP 1.4 §2.1.7.7 and
/// §2.1.7.15) of a public key stored as SPKI in `stored_format`.
pub fn transparent_public(
    stored_format: KeyFormatType,
    want: KeyFormatType,
    stored: &[u8],
) -> Result<TransparentKey, OpError> {
    let unsupported = |why: &str| {
        OpError::new(
            ResultReason::KeyFormatTypeNotSupported,
            format!("cannot convert a PublicKey in {stored_format:?} to {want:?}: {why}"),
        )
    };
    if !canonical_format(ObjectType::PublicKey, stored_format) {
        return Err(unsupported("it is kept as registered"));
    }
    let corrupt = |_| {
        tracing::error!("stored key material does not decode");
        OpError::new(ResultReason::GeneralFailure, "stored object is corrupt")
    };
    let pkey = PKey::public_key_from_der(stored).map_err(corrupt)?;
    match want {
        KeyFormatType::TransparentRsaPublicKey => {
            let rsa = pkey.rsa().map_err(|_| unsupported("not an RSA key"))?;
            Ok(TransparentKey {
                modulus: Some(positive(rsa.n())),
                public_exponent: Some(positive(rsa.e())),
                ..TransparentKey::default()
            })
        }
        KeyFormatType::TransparentEcPublicKey => {
            let ec = pkey.ec_key().map_err(|_| unsupported("not an EC key"))?;
            let curve = match ec.group().curve_name() {
                Some(Nid::X9_62_PRIME256V1) => RecommendedCurve::P256,
                Some(Nid::SECP384R1) => RecommendedCurve::P384,
                Some(Nid::SECP521R1) => RecommendedCurve::P521,
                _ => return Err(unsupported("curve without a KMIP Recommended Curve")),
            };
            let mut bn = BigNumContext::new().map_err(corrupt)?;
            let q = ec
                .public_key()
                .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut bn)
                .map_err(corrupt)?;
            Ok(TransparentKey {
                recommended_curve: Some(curve),
                q_string: Some(q),
                ..TransparentKey::default()
            })
        }
        _ => Err(unsupported("not a Transparent public key format")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::EcGroup;
    use openssl::nid::Nid;
    use openssl::rsa::Rsa;

    #[test]
    fn rsa_keys_round_trip_through_the_stored_encoding() {
        let rsa = Rsa::generate(2048).unwrap();
        let pkcs1 = rsa.private_key_to_der().unwrap();
        let pub1 = rsa.public_key_to_der_pkcs1().unwrap();
        let rsa_alg = Some(CryptographicAlgorithm::Rsa);
        let stored = to_stored(
            ObjectType::PrivateKey,
            KeyFormatType::Pkcs1,
            rsa_alg,
            Some(2048),
            &pkcs1,
        )
        .unwrap();
        PKey::private_key_from_pkcs8(&stored).unwrap();
        let back = from_stored(
            ObjectType::PrivateKey,
            KeyFormatType::Pkcs1,
            KeyFormatType::Pkcs1,
            &stored,
        )
        .unwrap();
        assert_eq!(&back[..], &pkcs1[..]);
        let stored = to_stored(
            ObjectType::PublicKey,
            KeyFormatType::Pkcs1,
            rsa_alg,
            None,
            &pub1,
        )
        .unwrap();
        PKey::public_key_from_der(&stored).unwrap();
        let back = from_stored(
            ObjectType::PublicKey,
            KeyFormatType::Pkcs1,
            KeyFormatType::Pkcs1,
            &stored,
        )
        .unwrap();
        assert_eq!(&back[..], &pub1[..]);
        // Wrong length, wrong algorithm, wrong material.
        for (alg, len, bytes) in [
            (rsa_alg, Some(3072), &pkcs1),
            (Some(CryptographicAlgorithm::Ec), None, &pkcs1),
            (rsa_alg, None, &pub1),
        ] {
            let e = to_stored(
                ObjectType::PrivateKey,
                KeyFormatType::Pkcs1,
                alg,
                len,
                bytes,
            )
            .unwrap_err();
            assert_eq!(e.reason, ResultReason::InvalidField);
        }
    }

    #[test]
    fn ec_private_keys_convert_between_sec1_and_pkcs8() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = EcKey::generate(&group).unwrap();
        let sec1 = ec.private_key_to_der().unwrap();
        let stored = to_stored(
            ObjectType::PrivateKey,
            KeyFormatType::EcPrivateKey,
            Some(CryptographicAlgorithm::Ecdsa),
            Some(256),
            &sec1,
        )
        .unwrap();
        let back = from_stored(
            ObjectType::PrivateKey,
            KeyFormatType::EcPrivateKey,
            KeyFormatType::EcPrivateKey,
            &stored,
        )
        .unwrap();
        assert_eq!(&back[..], &sec1[..]);
        let pkcs8 = from_stored(
            ObjectType::PrivateKey,
            KeyFormatType::EcPrivateKey,
            KeyFormatType::Pkcs8,
            &stored,
        )
        .unwrap();
        assert_eq!(&pkcs8[..], &stored[..]);
        let e = from_stored(
            ObjectType::PrivateKey,
            KeyFormatType::EcPrivateKey,
            KeyFormatType::Pkcs1,
            &stored,
        )
        .unwrap_err();
        assert_eq!(e.reason, ResultReason::KeyFormatTypeNotSupported);
    }

    #[test]
    fn public_keys_convert_to_transparent_structures() {
        let rsa = Rsa::generate(2048).unwrap();
        let spki = PKey::from_rsa(rsa.clone())
            .unwrap()
            .public_key_to_der()
            .unwrap();
        let t = transparent_public(
            KeyFormatType::X509,
            KeyFormatType::TransparentRsaPublicKey,
            &spki,
        )
        .unwrap();
        let m = t.modulus.unwrap().0;
        assert_eq!(m[0], 0, "a positive Big Integer");
        assert_eq!(&m[1..], &rsa.n().to_vec()[..]);
        assert_eq!(t.public_exponent.unwrap().0, vec![1, 0, 1]);
        assert!(t.private_exponent.is_none() && t.q_string.is_none());
        let e = transparent_public(
            KeyFormatType::X509,
            KeyFormatType::TransparentEcPublicKey,
            &spki,
        )
        .unwrap_err();
        assert_eq!(e.reason, ResultReason::KeyFormatTypeNotSupported);

        for (nid, curve, len) in [
            (Nid::X9_62_PRIME256V1, RecommendedCurve::P256, 65),
            (Nid::SECP384R1, RecommendedCurve::P384, 97),
        ] {
            let group = EcGroup::from_curve_name(nid).unwrap();
            let ec = EcKey::generate(&group).unwrap();
            let spki = PKey::from_ec_key(ec).unwrap().public_key_to_der().unwrap();
            let t = transparent_public(
                KeyFormatType::X509,
                KeyFormatType::TransparentEcPublicKey,
                &spki,
            )
            .unwrap();
            assert_eq!(t.recommended_curve, Some(curve));
            let q = t.q_string.unwrap();
            assert_eq!((q.len(), q[0]), (len, 4), "uncompressed point");
            assert!(transparent_public(
                KeyFormatType::X509,
                KeyFormatType::TransparentRsaPublicKey,
                &spki
            )
            .is_err());
        }
    }

    #[test]
    fn other_formats_are_kept_and_served_as_registered() {
        let raw = b"opaque key bytes";
        let stored = to_stored(
            ObjectType::PrivateKey,
            KeyFormatType::Opaque,
            None,
            None,
            raw,
        )
        .unwrap();
        assert_eq!(&stored[..], raw);
        assert!(from_stored(
            ObjectType::PrivateKey,
            KeyFormatType::Opaque,
            KeyFormatType::Opaque,
            raw
        )
        .is_ok());
        assert!(from_stored(
            ObjectType::PrivateKey,
            KeyFormatType::Opaque,
            KeyFormatType::Pkcs8,
            raw
        )
        .is_err());
    }
}
