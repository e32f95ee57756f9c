//! Cryptographic operations in the token (issue 4): Encrypt/Decrypt, Sign/
//! SignatureVerify, MAC/MACVerify, CreateKeyPair, RNG Seed. Parameters are checked
//! here, before the token sees them; what the token then refuses keeps its `CK_RV`.
//!
//! Hashing a message before `CKM_ECDSA` (and before `CKM_RSA_PKCS_PSS` for SHA-224)
//! happens in software: the digest is public, the key never leaves the token, and
//! SoftHSM 2.6.1 has no `CKM_ECDSA_SHA*`.
//!
//! Triple-DES: [`Cipher::AesCbc`] and [`Cipher::AesEcb`] with a [`KeyKind::Des3`] key
//! are `CKM_DES3_CBC[_PAD]` and `CKM_DES3_ECB` (8-byte block and IV), the convention
//! of the software backend (`crypto/software.rs`).
//!
//! RSA-PSS salt length: signing uses sLen = hLen. `CK_RSA_PKCS_PSS_PARAMS` fixes
//! sLen for `C_Verify`, so a PSS signature that does not verify with sLen = hLen is
//! opened with the public key in the token (`CKM_RSA_X_509`, the raw public
//! operation; public data only), its EMSA-PSS encoding (RFC 8017 §9.1.2) is unmasked
//! to read the salt length, and the signature is verified again in the token with that
//! sLen. The encoding's hash is not trusted here: the second `C_Verify` checks it.
//! A signature whose encoding is malformed does not verify (`Ok(false)`).

use std::borrow::Cow;

use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use sha2::Digest;
use zeroize::Zeroizing;

use super::encoding::{self, PublicKey};
use super::error::Fault;
use super::keyref::{self, Class, Parsed, Type, FLAG_EXTRACTABLE};
use super::mech::{hash_len, hash_name, Spec};
use super::{
    binding_label, crypto, kek, random_id, seal, usage, wrap_and_destroy, Pkcs11Backend, Placement,
};
use crate::backend::KeyRef;
use crate::crypto::{
    Cipher, CryptoError, Curve, Encrypted, HashAlg, KeyKind, KeyPairSpec, MacAlg, SignInput,
    SignatureScheme,
};

/// AES-GCM nonce length generated when the caller gives none (NIST SP 800-38D §8.2).
const GCM_NONCE_LEN: usize = 12;

impl Pkcs11Backend {
    /// Checks a MAC in the token (`C_Verify`, MAC Verify): `Ok(false)` when it does
    /// not match.
    pub fn mac_verify(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        alg: MacAlg,
        data: &[u8],
        mac: &[u8],
    ) -> Result<bool, CryptoError> {
        crypto((|| {
            let parsed = keyref::parse(&key.0)?;
            let spec = mac_spec(&parsed, kind, alg)?;
            self.with_key(key, &parsed, aad, |_, _, session, handle| {
                verified(spec.with(|m| session.verify(m, handle, data, mac))?, &spec)
            })
        })())
    }

    /// The SubjectPublicKeyInfo DER of a public key, or of a resident private key's
    /// public half (public information: no binding is checked).
    pub fn public_key_spki(&self, key: &KeyRef) -> Result<Vec<u8>, CryptoError> {
        crypto((|| match keyref::parse(&key.0)? {
            Parsed::Public { spki, .. } => Ok(spki.to_vec()),
            Parsed::Resident {
                class: Class::Public | Class::Private,
                ty,
                id,
            } => self.run(|conn, ctx, session| {
                let (handle, _) = conn.resident_handle(ctx, session, Class::Public, &id)?;
                let read = read_public(session, handle, ty);
                if matches!(&read, Err(e) if e.is_stale_handle()) {
                    conn.forget(Class::Public, &id);
                }
                read?.to_spki()
            }),
            _ => Err(Fault::BadParameters(
                "not a public key, and no public key is held with this private key (wrapped \
                 placement keeps it in its own reference)"
                    .into(),
            )),
        })())
    }

    /// Mixes `seed` into the token's generator (`C_SeedRandom`; RNG Seed).
    pub fn seed_random(&self, seed: &[u8]) -> Result<(), CryptoError> {
        crypto(self.run(|_, _, session| {
            session
                .seed_random(seed)
                .map_err(|e| Fault::ck(e, "seeding the token's random generator"))
        }))
    }

    pub(super) fn mac_inner(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        alg: MacAlg,
        data: &[u8],
    ) -> Result<Vec<u8>, Fault> {
        let parsed = keyref::parse(&key.0)?;
        let spec = mac_spec(&parsed, kind, alg)?;
        self.with_key(key, &parsed, aad, |_, _, session, handle| {
            spec.with(|m| session.sign(m, handle, data))?
                .map_err(|e| Fault::ck(e, spec.describe()))
        })
    }

    pub(super) fn encrypt_inner(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        cipher: &Cipher,
        data: &[u8],
    ) -> Result<Encrypted, Fault> {
        let parsed = keyref::parse(&key.0)?;
        let (class, ty) = cipher_key(cipher, kind, true);
        check_kind(&parsed, kind, class, ty)?;
        let des = is_des(ty);
        check_cipher_input(cipher, des, data.len(), true)?;
        let iv = iv_param(cipher, des, true)?;
        let (out, used_iv) = self.with_key(key, &parsed, aad, |_, _, session, handle| {
            let iv = match &iv {
                Iv::Given(v) => v.clone(),
                Iv::Generate(n) => token_random(session, *n)?,
                Iv::None => Vec::new(),
            };
            let spec = cipher_spec(cipher, des, &iv)?;
            let out = spec
                .with(|m| session.encrypt(m, handle, data))?
                .map_err(|e| Fault::ck(e, spec.describe()))?;
            Ok((out, iv))
        })?;
        let generated = matches!(iv, Iv::Generate(_)).then_some(used_iv);
        match cipher {
            Cipher::AesGcm { tag_len, .. } => {
                let Some(split) = out.len().checked_sub(*tag_len) else {
                    return Err(Fault::Library("AES-GCM output shorter than its tag".into()));
                };
                let (ct, tag) = out.split_at(split);
                Ok(Encrypted {
                    data: ct.to_vec(),
                    iv: generated,
                    tag: Some(tag.to_vec()),
                })
            }
            _ => Ok(Encrypted {
                data: out,
                iv: generated,
                tag: None,
            }),
        }
    }

    pub(super) fn decrypt_inner(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        cipher: &Cipher,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Fault> {
        let parsed = keyref::parse(&key.0)?;
        let (class, ty) = cipher_key(cipher, kind, false);
        check_kind(&parsed, kind, class, ty)?;
        let des = is_des(ty);
        check_cipher_input(cipher, des, data.len(), false)?;
        let Iv::Given(iv) = iv_param(cipher, des, false)? else {
            return Err(Fault::Library("decrypt without an IV".into()));
        };
        let input: Cow<'_, [u8]> = match cipher {
            Cipher::AesGcm { tag: Some(tag), .. } => {
                let mut joined = Vec::with_capacity(data.len() + tag.len());
                joined.extend_from_slice(data);
                joined.extend_from_slice(tag);
                Cow::Owned(joined)
            }
            _ => Cow::Borrowed(data),
        };
        let spec = cipher_spec(cipher, des, &iv)?;
        self.with_key(key, &parsed, aad, |_, _, session, handle| {
            spec.with(|m| session.decrypt(m, handle, &input))?
                .map(Zeroizing::new)
                .map_err(|e| Fault::ck(e, spec.describe()))
        })
    }

    pub(super) fn sign_inner(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        scheme: SignatureScheme,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, Fault> {
        let parsed = keyref::parse(&key.0)?;
        let plan = signature_plan(kind, scheme, &input, false)?;
        check_kind(&parsed, kind, Class::Private, plan.ty)?;
        let raw = self.with_key(key, &parsed, aad, |_, _, session, handle| {
            plan.spec
                .with(|m| session.sign(m, handle, &plan.data))?
                .map_err(|e| Fault::ck(e, plan.spec.describe()))
        })?;
        match plan.curve {
            Some(_) => encoding::ecdsa_raw_to_der(&raw),
            None => Ok(raw),
        }
    }

    pub(super) fn verify_inner(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        scheme: SignatureScheme,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<bool, Fault> {
        let parsed = keyref::parse(&key.0)?;
        let plan = signature_plan(kind, scheme, &input, true)?;
        let (class, _) = kind_class_type(kind)?;
        if class == Class::Secret {
            return Err(Fault::BadParameters(format!(
                "a signature is verified with a public key, not {kind:?}"
            )));
        }
        check_kind(&parsed, kind, class, plan.ty)?;
        let signature: Cow<'_, [u8]> = match plan.curve {
            Some(curve) => {
                match encoding::ecdsa_der_to_raw(signature, encoding::field_len(curve)) {
                    Some(raw) => Cow::Owned(raw),
                    None => return Ok(false),
                }
            }
            None => Cow::Borrowed(signature),
        };
        let check = |session: &Session, handle: ObjectHandle| {
            let ok = verified(
                plan.spec
                    .with(|m| session.verify(m, handle, &plan.data, &signature))?,
                &plan.spec,
            )?;
            if ok {
                return Ok(true);
            }
            // RSA-PSS with another salt length: read it from the signature's
            // encoding (raw public operation) and verify again with it.
            let (hash, salted): (HashAlg, fn(HashAlg, usize) -> Spec<'static>) = match plan.spec {
                Spec::RsaPss(h) => (h, Spec::RsaPssSalt),
                Spec::HashRsaPss(h) => (h, Spec::HashRsaPssSalt),
                _ => return Ok(false),
            };
            match pss_salt_len(session, handle, hash, &signature)? {
                Some(s_len) if s_len != hash_len(hash) => {
                    let spec = salted(hash, s_len);
                    verified(
                        spec.with(|m| session.verify(m, handle, &plan.data, &signature))?,
                        &spec,
                    )
                }
                _ => Ok(false),
            }
        };
        match (&parsed, class) {
            (_, Class::Public) => self.with_key(key, &parsed, aad, |_, _, session, handle| {
                check(session, handle)
            }),
            // The private key's binding is checked, then its pair's public object
            // (same CKA_ID) verifies: private key objects do not.
            (Parsed::Resident { id, .. }, _) => {
                self.with_key(key, &parsed, aad, |conn, ctx, session, _| {
                    let (public, _) = conn.resident_handle(ctx, session, Class::Public, id)?;
                    let result = check(session, public);
                    if matches!(&result, Err(e) if e.is_stale_handle()) {
                        conn.forget(Class::Public, id);
                    }
                    result
                })
            }
            _ => Err(Fault::BadParameters(
                "verify with the public key: a wrapped private key has no public half in the \
                 token"
                    .into(),
            )),
        }
    }

    pub(super) fn generate_pair_inner(
        &self,
        spec: KeyPairSpec,
        extractable: bool,
        aad_private: &[u8],
        aad_public: &[u8],
    ) -> Result<(KeyRef, KeyRef, Vec<u8>), Fault> {
        let (mechanism, ty, params) = match spec {
            KeyPairSpec::Rsa(bits @ (2048 | 3072 | 4096)) => (
                Mechanism::RsaPkcsKeyPairGen,
                Type::Rsa,
                vec![
                    Attribute::ModulusBits(u64::from(bits).into()),
                    Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                ],
            ),
            KeyPairSpec::Rsa(bits) => {
                return Err(Fault::BadParameters(format!(
                    "RSA modulus of {bits} bits: 2048, 3072 or 4096 are offered"
                )))
            }
            KeyPairSpec::Ec(curve) => (
                Mechanism::EccKeyPairGen,
                Type::Ec,
                vec![Attribute::EcParams(encoding::ec_params(curve))],
            ),
            KeyPairSpec::Ed25519 => (
                Mechanism::EccEdwardsKeyPairGen,
                Type::Edwards,
                vec![Attribute::EcParams(encoding::ed25519_params())],
            ),
        };
        let what = format!("generating a {spec:?} key pair");
        match self.placement {
            Placement::Resident => self.run(|conn, _, session| {
                let id = random_id()?;
                let (pub_label, priv_label) = (binding_label(aad_public), binding_label(aad_private));
                let mut public = usage(Class::Public, ty);
                public.extend(params.iter().cloned());
                public.extend([
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Id(id.to_vec()),
                    Attribute::Label(pub_label.clone()),
                ]);
                let mut private = usage(Class::Private, ty);
                private.extend([
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(!extractable),
                    Attribute::Extractable(extractable),
                    Attribute::Id(id.to_vec()),
                    Attribute::Label(priv_label.clone()),
                ]);
                let (pub_h, priv_h) = session
                    .generate_key_pair(&mechanism, &public, &private)
                    .map_err(|e| Fault::ck(e, what.clone()))?;
                conn.remember(Class::Public, &id, pub_h, pub_label);
                conn.remember(Class::Private, &id, priv_h, priv_label);
                let spki = read_public(session, pub_h, ty)?.to_spki()?;
                Ok((
                    KeyRef(keyref::resident(Class::Private, ty, &id)),
                    KeyRef(keyref::resident(Class::Public, ty, &id)),
                    spki,
                ))
            }),
            Placement::Wrapped => self.run(|conn, _, session| {
                let kek = kek(conn)?;
                let mut public = usage(Class::Public, ty);
                public.extend(params.iter().cloned());
                public.extend([Attribute::Token(false), Attribute::Private(false)]);
                let mut private = usage(Class::Private, ty);
                // Extractable in the token only so that C_WrapKey may wrap it.
                private.extend([
                    Attribute::Token(false),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(true),
                ]);
                let (pub_h, priv_h) = session
                    .generate_key_pair(&mechanism, &public, &private)
                    .map_err(|e| Fault::ck(e, what.clone()))?;
                let spki = read_public(session, pub_h, ty).and_then(|p| p.to_spki());
                if let Err(e) = session.destroy_object(pub_h) {
                    tracing::warn!(error = %e, "destroying a generated public key's session object");
                }
                let blob = wrap_and_destroy(session, &kek, priv_h);
                let (spki, blob) = (spki?, blob?);
                let flags = if extractable { FLAG_EXTRACTABLE } else { 0 };
                let private = keyref::wrapped_body(Class::Private, ty, flags, kek.mechanism, &blob);
                let private = seal(session, &kek, private, aad_private)?;
                let public = seal(session, &kek, keyref::public_body(ty, &spki), aad_public)?;
                Ok((KeyRef(private), KeyRef(public), spki))
            }),
        }
    }
}

/// Imports a public key from its SPKI as a session object (wrapped placement).
pub(super) fn import_public(
    session: &Session,
    ty: Type,
    spki: &[u8],
) -> Result<ObjectHandle, Fault> {
    let key = PublicKey::from_spki(spki)?;
    let mut template = usage(Class::Public, ty);
    template.extend([
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(ty.key_type()),
        Attribute::Token(false),
        Attribute::Private(false),
    ]);
    match (&key, ty) {
        (PublicKey::Rsa { modulus, exponent }, Type::Rsa) => template.extend([
            Attribute::Modulus(modulus.clone()),
            Attribute::PublicExponent(exponent.clone()),
        ]),
        (PublicKey::Ec { curve, point }, Type::Ec) => template.extend([
            Attribute::EcParams(encoding::ec_params(*curve)),
            Attribute::EcPoint(encoding::ec_point_attr(point)?),
        ]),
        (PublicKey::Ed25519 { point }, Type::Edwards) => template.extend([
            Attribute::EcParams(encoding::ed25519_params()),
            Attribute::EcPoint(encoding::ec_point_attr(point)?),
        ]),
        _ => {
            return Err(Fault::Integrity(
                "the public-key reference's type does not match its key".into(),
            ))
        }
    }
    session
        .create_object(&template)
        .map_err(|e| Fault::ck(e, "importing a public key"))
}

/// Reads a public key object's attributes.
pub(super) fn read_public(
    session: &Session,
    handle: ObjectHandle,
    ty: Type,
) -> Result<PublicKey, Fault> {
    let wanted: &[AttributeType] = match ty {
        Type::Rsa => &[AttributeType::Modulus, AttributeType::PublicExponent],
        _ => &[AttributeType::EcParams, AttributeType::EcPoint],
    };
    let attrs = session
        .get_attributes(handle, wanted)
        .map_err(|e| Fault::ck(e, "reading a public key"))?;
    let (mut modulus, mut exponent, mut params, mut point) = (None, None, None, None);
    for attr in attrs {
        match attr {
            Attribute::Modulus(v) => modulus = Some(v),
            Attribute::PublicExponent(v) => exponent = Some(v),
            Attribute::EcParams(v) => params = Some(v),
            Attribute::EcPoint(v) => point = Some(v),
            _ => {}
        }
    }
    let missing = || Fault::Library("the token did not return the public key's attributes".into());
    match ty {
        Type::Rsa => Ok(PublicKey::Rsa {
            modulus: modulus.ok_or_else(missing)?,
            exponent: exponent.ok_or_else(missing)?,
        }),
        Type::Ec => {
            let params = params.ok_or_else(missing)?;
            let curve = [Curve::P256, Curve::P384]
                .into_iter()
                .find(|c| encoding::ec_params(*c) == params)
                .ok_or_else(|| {
                    Fault::Unsupported("EC key on a curve other than P-256/P-384".into())
                })?;
            Ok(PublicKey::Ec {
                curve,
                point: encoding::ec_point(&point.ok_or_else(missing)?, encoding::point_len(curve))?,
            })
        }
        Type::Edwards => Ok(PublicKey::Ed25519 {
            point: encoding::ec_point(&point.ok_or_else(missing)?, 32)?,
        }),
        Type::Aes | Type::Generic | Type::Data | Type::Des2 | Type::Des3 => {
            Err(Fault::BadParameters("not a public key".into()))
        }
    }
}

/// The class and type a key kind names.
fn kind_class_type(kind: KeyKind) -> Result<(Class, Type), Fault> {
    Ok(match kind {
        KeyKind::Aes(_) => (Class::Secret, Type::Aes),
        KeyKind::Hmac(_) => (Class::Secret, Type::Generic),
        KeyKind::RsaPrivate(_) => (Class::Private, Type::Rsa),
        KeyKind::RsaPublic(_) => (Class::Public, Type::Rsa),
        KeyKind::EcPrivate(_) => (Class::Private, Type::Ec),
        KeyKind::EcPublic(_) => (Class::Public, Type::Ec),
        KeyKind::Ed25519Private => (Class::Private, Type::Edwards),
        KeyKind::Ed25519Public => (Class::Public, Type::Edwards),
        KeyKind::Des3(112) => (Class::Secret, Type::Des2),
        KeyKind::Des3(168) => (Class::Secret, Type::Des3),
        KeyKind::Des3(bits) => {
            return Err(Fault::BadParameters(format!(
                "a Triple-DES key of {bits} bits (112 or 168)"
            )))
        }
    })
}

/// Checks that the operation's key (`class`, `ty`), the caller's `kind` and the
/// reference agree.
fn check_kind(parsed: &Parsed<'_>, kind: KeyKind, class: Class, ty: Type) -> Result<(), Fault> {
    let named = kind_class_type(kind)?;
    if named != (class, ty) {
        return Err(Fault::BadParameters(format!(
            "this operation needs a {class:?} {ty:?} key; the request names {kind:?}"
        )));
    }
    let held = parsed.class_type();
    if held != named {
        return Err(Fault::BadParameters(format!(
            "the request names {kind:?}, the key reference holds a {:?} {:?} key",
            held.0, held.1
        )));
    }
    Ok(())
}

/// The key a cipher takes. CBC and ECB with a Triple-DES `kind` are Triple-DES (see
/// the module documentation).
fn cipher_key(cipher: &Cipher, kind: KeyKind, encrypting: bool) -> (Class, Type) {
    match (cipher, kind) {
        (Cipher::RsaOaep { .. } | Cipher::RsaPkcs1v15, _) if encrypting => {
            (Class::Public, Type::Rsa)
        }
        (Cipher::RsaOaep { .. } | Cipher::RsaPkcs1v15, _) => (Class::Private, Type::Rsa),
        (Cipher::AesCbc { .. } | Cipher::AesEcb, KeyKind::Des3(112)) => (Class::Secret, Type::Des2),
        (Cipher::AesCbc { .. } | Cipher::AesEcb, KeyKind::Des3(_)) => (Class::Secret, Type::Des3),
        _ => (Class::Secret, Type::Aes),
    }
}

fn is_des(ty: Type) -> bool {
    matches!(ty, Type::Des2 | Type::Des3)
}

/// Block length of the symmetric cipher (Triple-DES or AES).
fn block_len(des: bool) -> usize {
    if des {
        8
    } else {
        16
    }
}

enum Iv {
    Given(Vec<u8>),
    Generate(usize),
    None,
}

/// The IV/nonce of a cipher: given (checked), to generate (encrypt), or none.
fn iv_param(cipher: &Cipher, des: bool, encrypting: bool) -> Result<Iv, Fault> {
    let (given, len, name) = match cipher {
        Cipher::AesGcm { nonce, .. } => (nonce, None, "AES-GCM nonce"),
        Cipher::AesCbc { iv, .. } if des => (iv, Some(8), "Triple-DES-CBC IV"),
        Cipher::AesCbc { iv, .. } => (iv, Some(16), "AES-CBC IV"),
        Cipher::AesCtr { iv } => (iv, Some(16), "AES-CTR initial counter block"),
        _ => {
            return Ok(if encrypting {
                Iv::None
            } else {
                Iv::Given(Vec::new())
            })
        }
    };
    match (given, len) {
        (Some(v), Some(n)) if v.len() != n => Err(Fault::BadParameters(format!(
            "{name} of {} bytes; {n} are required",
            v.len()
        ))),
        // PKCS#11 v2.40 bounds the GCM IV at 256 bytes.
        (Some(v), None) if v.is_empty() || v.len() > 256 => Err(Fault::BadParameters(format!(
            "{name} of {} bytes; 1 to 256 are accepted (12 recommended)",
            v.len()
        ))),
        (Some(v), _) => Ok(Iv::Given(v.clone())),
        (None, _) if !encrypting => Err(Fault::BadParameters(format!(
            "{name} is required to decrypt"
        ))),
        (None, n) => Ok(Iv::Generate(n.unwrap_or(GCM_NONCE_LEN))),
    }
}

/// Length and tag checks a token would answer with a less helpful `CK_RV`.
fn check_cipher_input(
    cipher: &Cipher,
    des: bool,
    len: usize,
    encrypting: bool,
) -> Result<(), Fault> {
    let bad = |m: String| Err(Fault::BadParameters(m));
    let (block, name) = if des { (8, "Triple-DES") } else { (16, "AES") };
    match cipher {
        Cipher::AesGcm { tag_len, tag, .. } => {
            if !(12..=16).contains(tag_len) {
                return bad(format!(
                    "AES-GCM tag length {tag_len}; 12 to 16 bytes are accepted"
                ));
            }
            if !encrypting {
                match tag {
                    Some(t) if t.len() == *tag_len => {}
                    Some(t) => {
                        return bad(format!(
                            "AES-GCM tag of {} bytes, but the tag length is {tag_len}",
                            t.len()
                        ))
                    }
                    None => return bad("AES-GCM tag is required to decrypt".into()),
                }
            }
            Ok(())
        }
        Cipher::AesCbc { pad: false, .. } | Cipher::AesEcb if len % block != 0 => bad(format!(
            "{len} bytes is not a multiple of the {block}-byte {name} block (no padding \
             requested)"
        )),
        Cipher::AesCbc { pad: true, .. } if !encrypting && (len == 0 || len % block != 0) => {
            bad(format!("{len} bytes is not a padded {name}-CBC ciphertext"))
        }
        Cipher::AesKeyWrap { pad: false }
            if len % 8 != 0 || len < if encrypting { 16 } else { 24 } =>
        {
            bad(format!(
                "{len} bytes: RFC 3394 key wrap takes a multiple of 8 bytes, at least {}",
                if encrypting { 16 } else { 24 }
            ))
        }
        _ => Ok(()),
    }
}

fn cipher_spec<'a>(cipher: &'a Cipher, des: bool, iv: &[u8]) -> Result<Spec<'a>, Fault> {
    let bad_iv = || {
        Fault::BadParameters(format!(
            "IV of {} bytes; {} are required",
            iv.len(),
            block_len(des)
        ))
    };
    let block = || -> Result<[u8; 16], Fault> { iv.try_into().map_err(|_| bad_iv()) };
    Ok(match cipher {
        Cipher::AesCbc { pad, .. } if des => Spec::Des3Cbc {
            iv: iv.try_into().map_err(|_| bad_iv())?,
            pad: *pad,
        },
        Cipher::AesEcb if des => Spec::Des3Ecb,
        Cipher::AesGcm { aad, tag_len, .. } => Spec::AesGcm {
            iv: iv.to_vec(),
            aad,
            tag_len: *tag_len,
        },
        Cipher::AesCbc { pad, .. } => Spec::AesCbc {
            iv: block()?,
            pad: *pad,
        },
        Cipher::AesCtr { .. } => Spec::AesCtr { iv: block()? },
        Cipher::AesEcb => Spec::AesEcb,
        Cipher::AesKeyWrap { pad } => Spec::AesKeyWrap { pad: *pad },
        Cipher::RsaOaep { hash } => Spec::RsaOaep(*hash),
        Cipher::RsaPkcs1v15 => Spec::RsaPkcs,
    })
}

fn mac_spec(parsed: &Parsed<'_>, kind: KeyKind, alg: MacAlg) -> Result<Spec<'static>, Fault> {
    let (ty, spec) = match alg {
        MacAlg::Hmac(hash) => (Type::Generic, Spec::Hmac(hash)),
        MacAlg::AesCmac => (Type::Aes, Spec::AesCmac),
    };
    check_kind(parsed, kind, Class::Secret, ty)?;
    Ok(spec)
}

/// How a signature scheme runs in the token.
struct SignaturePlan<'a> {
    ty: Type,
    spec: Spec<'static>,
    /// What the mechanism signs: the message, a digest, or a DigestInfo.
    data: Cow<'a, [u8]>,
    /// ECDSA: the curve, for the DER/raw signature conversion.
    curve: Option<Curve>,
}

fn signature_plan<'a>(
    kind: KeyKind,
    scheme: SignatureScheme,
    input: &SignInput<'a>,
    verifying: bool,
) -> Result<SignaturePlan<'a>, Fault> {
    let hash = match scheme {
        SignatureScheme::RsaPkcs1v15(h)
        | SignatureScheme::RsaPss(h)
        | SignatureScheme::Ecdsa(h) => Some(h),
        SignatureScheme::Ed25519 => None,
    };
    // SHA-1 makes no new signatures; an old one may still be checked (as the
    // software backend does; OASIS CS-AC-M-3 expects Invalid, not an error).
    if hash == Some(HashAlg::Sha1) && !verifying {
        return Err(Fault::BadParameters(
            "SHA-1 is not used for signatures".into(),
        ));
    }
    let digest_of = |h: HashAlg| -> Result<Cow<'a, [u8]>, Fault> {
        match *input {
            SignInput::Message(m) => Ok(Cow::Owned(software_digest(h, m)?)),
            SignInput::Digest(d) if d.len() == hash_len(h) => Ok(Cow::Borrowed(d)),
            SignInput::Digest(d) => Err(Fault::BadParameters(format!(
                "a {} digest is {} bytes, not {}",
                hash_name(h),
                hash_len(h),
                d.len()
            ))),
        }
    };
    let plan = match scheme {
        SignatureScheme::RsaPkcs1v15(h) => match *input {
            SignInput::Message(m) => SignaturePlan {
                ty: Type::Rsa,
                spec: Spec::HashRsaPkcs(h),
                data: Cow::Borrowed(m),
                curve: None,
            },
            SignInput::Digest(_) => {
                let digest = digest_of(h)?;
                let mut info = encoding::digest_info_prefix(h).to_vec();
                info.extend_from_slice(&digest);
                SignaturePlan {
                    ty: Type::Rsa,
                    spec: Spec::RsaPkcs,
                    data: Cow::Owned(info),
                    curve: None,
                }
            }
        },
        SignatureScheme::RsaPss(h) => match *input {
            SignInput::Message(m) if h != HashAlg::Sha224 => SignaturePlan {
                ty: Type::Rsa,
                spec: Spec::HashRsaPss(h),
                data: Cow::Borrowed(m),
                curve: None,
            },
            _ => SignaturePlan {
                ty: Type::Rsa,
                spec: Spec::RsaPss(h),
                data: digest_of(h)?,
                curve: None,
            },
        },
        SignatureScheme::Ecdsa(h) => {
            let curve = match kind {
                KeyKind::EcPrivate(c) | KeyKind::EcPublic(c) => c,
                other => {
                    return Err(Fault::BadParameters(format!(
                        "ECDSA needs an EC key; the request names {other:?}"
                    )))
                }
            };
            SignaturePlan {
                ty: Type::Ec,
                spec: Spec::Ecdsa,
                data: digest_of(h)?,
                curve: Some(curve),
            }
        }
        SignatureScheme::Ed25519 => match *input {
            SignInput::Message(m) => SignaturePlan {
                ty: Type::Edwards,
                spec: Spec::Eddsa,
                data: Cow::Borrowed(m),
                curve: None,
            },
            SignInput::Digest(_) => {
                return Err(Fault::BadParameters(
                    "Ed25519 signs the message itself (pure EdDSA); a pre-hashed input is not \
                     accepted"
                        .into(),
                ))
            }
        },
    };
    Ok(plan)
}

fn software_digest(hash: HashAlg, message: &[u8]) -> Result<Vec<u8>, Fault> {
    Ok(match hash {
        HashAlg::Sha224 => sha2::Sha224::digest(message).to_vec(),
        HashAlg::Sha256 => sha2::Sha256::digest(message).to_vec(),
        HashAlg::Sha384 => sha2::Sha384::digest(message).to_vec(),
        HashAlg::Sha512 => sha2::Sha512::digest(message).to_vec(),
        HashAlg::Sha1 => {
            return Err(Fault::BadParameters(
                "SHA-1 is not used for signatures".into(),
            ))
        }
    })
}

/// `C_Verify`'s answer as a boolean: a signature or MAC that does not match is
/// `false`, any other failure an error.
fn verified(result: cryptoki::error::Result<()>, spec: &Spec<'_>) -> Result<bool, Fault> {
    match result {
        Ok(()) => Ok(true),
        Err(cryptoki::error::Error::Pkcs11(
            RvError::SignatureInvalid | RvError::SignatureLenRange,
            _,
        )) => Ok(false),
        Err(e) => Err(Fault::ck(e, spec.describe())),
    }
}

/// The salt length of an RSA-PSS signature, read from its EMSA-PSS encoding (RFC 8017
/// §9.1.2 steps 1-10) after the raw public operation in the token (`CKM_RSA_X_509`
/// with the public key `handle`). `None` when the signature or its encoding is
/// malformed (it does not verify). The encoding's hash is not checked here: the
/// caller verifies the signature in the token with the salt length found.
fn pss_salt_len(
    session: &Session,
    handle: ObjectHandle,
    hash: HashAlg,
    signature: &[u8],
) -> Result<Option<usize>, Fault> {
    let PublicKey::Rsa { modulus, .. } = read_public(session, handle, Type::Rsa)? else {
        return Ok(None);
    };
    let modulus = match modulus.iter().position(|&b| b != 0) {
        Some(i) => &modulus[i..],
        None => return Ok(None),
    };
    let k = modulus.len();
    let mod_bits = k * 8 - usize::try_from(modulus[0].leading_zeros()).unwrap_or(0);
    // A signature is an integer below the modulus (RFC 8017 §5.2.2; SoftHSM's raw
    // operation answers CKR_GENERAL_ERROR for one that is not).
    if signature.len() != k || mod_bits < 2 || signature >= modulus {
        return Ok(None);
    }
    let spec = Spec::RsaX509;
    let raw = match spec.with(|m| session.encrypt(m, handle, signature))? {
        Ok(raw) => raw,
        // A signature not below the modulus.
        Err(cryptoki::error::Error::Pkcs11(
            RvError::DataInvalid | RvError::DataLenRange | RvError::EncryptedDataInvalid,
            _,
        )) => return Ok(None),
        Err(e) => return Err(Fault::ck(e, spec.describe())),
    };
    if raw.len() > k {
        return Ok(None);
    }
    let mut em = vec![0u8; k - raw.len()];
    em.extend_from_slice(&raw);
    Ok(emsa_pss_salt_len(&em, mod_bits - 1, hash))
}

/// The salt length of the EMSA-PSS encoding `em` (the `k`-byte output of the raw
/// public operation) of `em_bits` bits, or `None` if it is not a well-formed encoding.
fn emsa_pss_salt_len(em: &[u8], em_bits: usize, hash: HashAlg) -> Option<usize> {
    let em_len = em_bits.div_ceil(8);
    // The raw output has k bytes; when emBits is a multiple of 8, the first is 0.
    let em = match em.len().checked_sub(em_len)? {
        0 => em,
        1 if em[0] == 0 => &em[1..],
        _ => return None,
    };
    let h_len = hash_len(hash);
    if em_len < h_len + 2 || em.last() != Some(&0xbc) {
        return None;
    }
    let (masked_db, rest) = em.split_at(em_len - h_len - 1);
    let h = &rest[..h_len];
    let top = 8 * em_len - em_bits;
    let top_mask = u8::try_from(0xffu16 >> top).ok()?;
    if masked_db[0] & !top_mask != 0 {
        return None;
    }
    let mask = mgf1(hash, h, masked_db.len())?;
    let mut db: Vec<u8> = masked_db.iter().zip(&mask).map(|(a, b)| a ^ b).collect();
    db[0] &= top_mask;
    let one = db.iter().position(|&b| b != 0)?;
    (db[one] == 0x01).then(|| db.len() - one - 1)
}

/// MGF1 (RFC 8017 B.2.1) with `hash`: `len` bytes from `seed`.
fn mgf1(hash: HashAlg, seed: &[u8], len: usize) -> Option<Vec<u8>> {
    use openssl::hash::MessageDigest;
    let md = match hash {
        HashAlg::Sha1 => MessageDigest::sha1(),
        HashAlg::Sha224 => MessageDigest::sha224(),
        HashAlg::Sha256 => MessageDigest::sha256(),
        HashAlg::Sha384 => MessageDigest::sha384(),
        HashAlg::Sha512 => MessageDigest::sha512(),
    };
    let mut out = Vec::with_capacity(len + hash_len(hash));
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut input = seed.to_vec();
        input.extend_from_slice(&counter.to_be_bytes());
        out.extend_from_slice(&openssl::hash::hash(md, &input).ok()?);
        counter = counter.checked_add(1)?;
    }
    out.truncate(len);
    Some(out)
}

fn token_random(session: &Session, len: usize) -> Result<Vec<u8>, Fault> {
    session
        .generate_random_vec(u32::try_from(len).unwrap_or(u32::MAX))
        .map_err(|e| Fault::ck(e, "generating an IV"))
}
