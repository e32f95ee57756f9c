//! The [`KeyRef`] formats of the PKCS#11 backend.
//!
//! ```text
//! resident:   01 'R' class type  id[16]
//! wrapped:    01 'W' class type  flags  mechanism[4, BE]  blob  tag[32]
//! public key: 01 'P' class type  flags  spki                     tag[32]
//! ```
//!
//! - `class`: 1 secret key, 2 private key, 3 public key; `type`: 1 AES,
//!   2 generic secret (HMAC), 3 RSA, 4 EC, 5 Edwards (Ed25519), 6 data (bytes the
//!   gateway keeps and returns: Secret Data, Opaque Object, certificates, material in
//!   a format the token cannot use; a `CKK_GENERIC_SECRET` object that may do
//!   nothing in the token, always extractable, its value prefixed with one byte),
//!   7 two-key Triple-DES (`CKK_DES2`), 8 three-key Triple-DES (`CKK_DES3`).
//! - resident: `id` is the token object's `CKA_ID` (16 random bytes); the object
//!   itself says whether it is extractable.
//! - wrapped: `blob` is `C_WrapKey` of the key under the token's KEK with
//!   `mechanism` (`CKM_AES_KEY_WRAP_PAD` 0x210A, else `CKM_AES_KEY_WRAP` 0x2109);
//!   `flags` bit 0 says the key may be exported.
//! - public key (wrapped placement; a public key cannot be wrapped): the
//!   SubjectPublicKeyInfo, imported into a session object for each use.
//! - `tag` is HMAC-SHA-256, computed in the token under its `keygate-kek-mac` key,
//!   over everything before the tag followed by the caller's `aad`. It binds the
//!   flags, the mechanism and the blob to the object (vault and UID), so neither a
//!   flipped export flag nor a blob copied onto another row passes an export.

use cryptoki::mechanism::MechanismType;
use cryptoki::object::{KeyType, ObjectClass};

use super::error::Fault;

const VERSION: u8 = 1;
const RESIDENT: u8 = b'R';
const WRAPPED: u8 = b'W';
const PUBLIC: u8 = b'P';

/// Length of a resident object's `CKA_ID`.
pub(crate) const ID_LEN: usize = 16;
/// Length of the HMAC-SHA-256 tag.
pub(crate) const TAG_LEN: usize = 32;
/// Export allowed (wrapped and public references).
pub(crate) const FLAG_EXTRACTABLE: u8 = 0x01;

/// Object class of a referenced key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    /// `CKO_SECRET_KEY`.
    Secret,
    /// `CKO_PRIVATE_KEY`.
    Private,
    /// `CKO_PUBLIC_KEY`.
    Public,
}

/// Key type of a referenced key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Type {
    /// `CKK_AES`.
    Aes,
    /// `CKK_GENERIC_SECRET` (HMAC keys).
    Generic,
    /// `CKK_RSA`.
    Rsa,
    /// `CKK_EC`.
    Ec,
    /// `CKK_EC_EDWARDS`.
    Edwards,
    /// Custody of bytes (a `CKK_GENERIC_SECRET` object with no usage).
    Data,
    /// `CKK_DES2`: two-key Triple-DES (112 bits, 16 bytes).
    Des2,
    /// `CKK_DES3`: three-key Triple-DES (168 bits, 24 bytes).
    Des3,
}

/// A decoded reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    /// A token object.
    Resident {
        class: Class,
        ty: Type,
        id: [u8; ID_LEN],
    },
    /// A key wrapped under the KEK.
    Wrapped {
        class: Class,
        ty: Type,
        flags: u8,
        mechanism: MechanismType,
        blob: &'a [u8],
        /// Everything the tag covers (before the aad).
        signed: &'a [u8],
        tag: &'a [u8],
    },
    /// A public key held as its SubjectPublicKeyInfo.
    Public {
        ty: Type,
        spki: &'a [u8],
        signed: &'a [u8],
        tag: &'a [u8],
    },
}

impl Parsed<'_> {
    /// Class and type, whatever the placement.
    pub(crate) fn class_type(&self) -> (Class, Type) {
        match *self {
            Parsed::Resident { class, ty, .. } | Parsed::Wrapped { class, ty, .. } => (class, ty),
            Parsed::Public { ty, .. } => (Class::Public, ty),
        }
    }
}

/// A resident reference.
pub(crate) fn resident(class: Class, ty: Type, id: &[u8; ID_LEN]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + ID_LEN);
    out.extend_from_slice(&[VERSION, RESIDENT, class.code(), ty.code()]);
    out.extend_from_slice(id);
    out
}

/// The part of a wrapped reference the tag covers; append the tag to finish it.
pub(crate) fn wrapped_body(
    class: Class,
    ty: Type,
    flags: u8,
    mechanism: MechanismType,
    blob: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + blob.len() + TAG_LEN);
    out.extend_from_slice(&[VERSION, WRAPPED, class.code(), ty.code(), flags]);
    // Mechanism numbers below CKM_VENDOR_DEFINED fit in 32 bits.
    let mech = u32::try_from(u64::from(mechanism)).unwrap_or(u32::MAX);
    out.extend_from_slice(&mech.to_be_bytes());
    out.extend_from_slice(blob);
    out
}

/// The part of a public-key reference the tag covers.
pub(crate) fn public_body(ty: Type, spki: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + spki.len() + TAG_LEN);
    out.extend_from_slice(&[VERSION, PUBLIC, Class::Public.code(), ty.code(), 0]);
    out.extend_from_slice(spki);
    out
}

/// Decodes a reference. Anything malformed is an integrity failure: the store only
/// ever holds what this module produced.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>, Fault> {
    let bad = |why: &str| Fault::Integrity(format!("malformed PKCS#11 key reference: {why}"));
    if bytes.len() < 4 || bytes[0] != VERSION {
        return Err(bad("unknown format version"));
    }
    let class = Class::from_code(bytes[2]).ok_or_else(|| bad("unknown object class"))?;
    let ty = Type::from_code(bytes[3]).ok_or_else(|| bad("unknown key type"))?;
    match bytes[1] {
        RESIDENT => {
            let id: [u8; ID_LEN] = bytes[4..]
                .try_into()
                .map_err(|_| bad("resident reference of the wrong length"))?;
            Ok(Parsed::Resident { class, ty, id })
        }
        WRAPPED => {
            if bytes.len() < 9 + 1 + TAG_LEN {
                return Err(bad("wrapped reference too short"));
            }
            let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
            let mech = u32::from_be_bytes([signed[5], signed[6], signed[7], signed[8]]);
            let mechanism =
                wrap_mechanism(u64::from(mech)).ok_or_else(|| bad("unknown wrapping mechanism"))?;
            Ok(Parsed::Wrapped {
                class,
                ty,
                flags: signed[4],
                mechanism,
                blob: &signed[9..],
                signed,
                tag,
            })
        }
        PUBLIC if class == Class::Public => {
            if bytes.len() < 5 + 1 + TAG_LEN {
                return Err(bad("public-key reference too short"));
            }
            let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
            Ok(Parsed::Public {
                ty,
                spki: &signed[5..],
                signed,
                tag,
            })
        }
        _ => Err(bad("unknown placement")),
    }
}

/// The wrapping mechanisms a reference may name.
fn wrap_mechanism(value: u64) -> Option<MechanismType> {
    [MechanismType::AES_KEY_WRAP_PAD, MechanismType::AES_KEY_WRAP]
        .into_iter()
        .find(|m| u64::from(*m) == value)
}

impl Class {
    fn code(self) -> u8 {
        match self {
            Class::Secret => 1,
            Class::Private => 2,
            Class::Public => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Class::Secret,
            2 => Class::Private,
            3 => Class::Public,
            _ => return None,
        })
    }

    /// The PKCS#11 object class.
    pub(crate) fn object_class(self) -> ObjectClass {
        match self {
            Class::Secret => ObjectClass::SECRET_KEY,
            Class::Private => ObjectClass::PRIVATE_KEY,
            Class::Public => ObjectClass::PUBLIC_KEY,
        }
    }
}

impl Type {
    fn code(self) -> u8 {
        match self {
            Type::Aes => 1,
            Type::Generic => 2,
            Type::Rsa => 3,
            Type::Ec => 4,
            Type::Edwards => 5,
            Type::Data => 6,
            Type::Des2 => 7,
            Type::Des3 => 8,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Type::Aes,
            2 => Type::Generic,
            3 => Type::Rsa,
            4 => Type::Ec,
            5 => Type::Edwards,
            6 => Type::Data,
            7 => Type::Des2,
            8 => Type::Des3,
            _ => return None,
        })
    }

    /// The PKCS#11 key type.
    pub(crate) fn key_type(self) -> KeyType {
        match self {
            Type::Aes => KeyType::AES,
            Type::Generic | Type::Data => KeyType::GENERIC_SECRET,
            Type::Rsa => KeyType::RSA,
            Type::Ec => KeyType::EC,
            Type::Edwards => KeyType::EC_EDWARDS,
            Type::Des2 => KeyType::DES2,
            Type::Des3 => KeyType::DES3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let id = [7u8; ID_LEN];
        let r = resident(Class::Secret, Type::Aes, &id);
        assert_eq!(
            parse(&r).unwrap(),
            Parsed::Resident {
                class: Class::Secret,
                ty: Type::Aes,
                id
            }
        );

        let mut w = wrapped_body(
            Class::Private,
            Type::Rsa,
            FLAG_EXTRACTABLE,
            MechanismType::AES_KEY_WRAP_PAD,
            b"blob",
        );
        let body_len = w.len();
        w.extend_from_slice(&[9; TAG_LEN]);
        let Parsed::Wrapped {
            class,
            ty,
            flags,
            mechanism,
            blob,
            signed,
            tag,
        } = parse(&w).unwrap()
        else {
            panic!("not wrapped")
        };
        assert_eq!(
            (class, ty, flags),
            (Class::Private, Type::Rsa, FLAG_EXTRACTABLE)
        );
        assert_eq!(mechanism, MechanismType::AES_KEY_WRAP_PAD);
        assert_eq!(
            (blob, signed.len(), tag),
            (&b"blob"[..], body_len, &[9; TAG_LEN][..])
        );

        let mut p = public_body(Type::Ec, b"spki");
        p.extend_from_slice(&[1; TAG_LEN]);
        assert!(
            matches!(parse(&p).unwrap(), Parsed::Public { ty: Type::Ec, spki, .. } if spki == b"spki")
        );
    }

    #[test]
    fn malformed_references_are_integrity_failures() {
        let id = [7u8; ID_LEN];
        let good = resident(Class::Secret, Type::Aes, &id);
        for bad in [
            &[][..],
            &good[..good.len() - 1],
            &[2, b'R', 1, 1],
            &[1, b'X', 1, 1],
            &[1, b'R', 9, 1],
            &[1, b'R', 1, 9],
        ] {
            assert!(matches!(parse(bad), Err(Fault::Integrity(_))), "{bad:?}");
        }
        let mut w = wrapped_body(Class::Secret, Type::Aes, 0, MechanismType::AES_CBC, b"x");
        w.extend_from_slice(&[0; TAG_LEN]);
        assert!(matches!(parse(&w), Err(Fault::Integrity(_))));
    }
}
