//! Registered private and public keys, and private-key export (issue 4, Register
//! and Get of asymmetric keys on a PKCS#11 vault).
//!
//! A registered key reaches the backend as PKCS#8 (private) or SubjectPublicKeyInfo
//! (public), the gateway's canonical encodings (`ops/keyformat.rs`). It becomes a
//! typed key of the token with `C_CreateObject`: RSA (`CKK_RSA`, modulus, exponents,
//! primes, CRT values) or EC P-256/P-384 (`CKK_EC`, `CKA_EC_PARAMS`, `CKA_VALUE` /
//! `CKA_EC_POINT`). Resident: token objects; a private key also gets its public half
//! as a token object with the same `CKA_ID` and label, so a Signature Verify with the
//! private key works as for a generated pair. Wrapped: the private key is created as
//! a session object and wrapped under the KEK at once; the public key is kept as its
//! SPKI in a tagged reference, as for a generated pair.
//!
//! Export of a private key (Get as PKCS#8) reads its components from an extractable,
//! non-sensitive token object (resident), or from a one-call extractable copy
//! unwrapped from the blob (wrapped, only when the reference's export flag is set),
//! and rebuilds the PKCS#8 with OpenSSL. Ed25519 keys are not imported (SoftHSM 2.6.1
//! cannot wrap an EdDSA key, `CKR_KEY_NOT_WRAPPABLE`).

use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey};
use openssl::rsa::Rsa;
use zeroize::{Zeroize, Zeroizing};

use super::encoding::{self, PublicKey};
use super::error::Fault;
use super::keyref::{self, Class, Parsed, Type, FLAG_EXTRACTABLE};
use super::{
    binding_label, check_tag, kek, not_extractable, random_id, seal, usage, wrap_and_destroy,
    Pkcs11Backend, Placement,
};
use crate::backend::KeyRef;
use crate::crypto::{Curve, KeyKind};

/// A private key as `C_CreateObject` attributes, with its public half.
struct PrivateParts {
    ty: Type,
    /// Key-type attributes of the private object (secret values included).
    attrs: Vec<Attribute>,
    public: PublicKey,
}

impl Drop for PrivateParts {
    fn drop(&mut self) {
        scrub_parts(&mut self.attrs);
    }
}

fn ossl(what: &str) -> impl Fn(openssl::error::ErrorStack) -> Fault + '_ {
    move |e| Fault::BadParameters(format!("{what}: {e}"))
}

fn curve_of(nid: Option<Nid>) -> Result<Curve, Fault> {
    match nid {
        Some(Nid::X9_62_PRIME256V1) => Ok(Curve::P256),
        Some(Nid::SECP384R1) => Ok(Curve::P384),
        other => Err(Fault::Unsupported(format!(
            "EC keys on curve {other:?} are not taken into a PKCS#11 token (P-256 and P-384 are)"
        ))),
    }
}

fn curve_nid(curve: Curve) -> Nid {
    match curve {
        Curve::P256 => Nid::X9_62_PRIME256V1,
        Curve::P384 => Nid::SECP384R1,
    }
}

/// Parses a PKCS#8 private key into token attributes, checking it is the `kind`
/// the caller named.
fn private_parts(kind: KeyKind, pkcs8: &[u8]) -> Result<PrivateParts, Fault> {
    let pkey = PKey::private_key_from_pkcs8(pkcs8).map_err(ossl("not a PKCS#8 private key"))?;
    let parts = match pkey.id() {
        Id::RSA => {
            let rsa = pkey.rsa().map_err(ossl("RSA private key"))?;
            let need = |b: Option<&BigNumRef>, what: &str| {
                b.map(BigNumRef::to_vec).ok_or_else(|| {
                    Fault::Unsupported(format!(
                        "RSA private key without {what}: a token needs the CRT form"
                    ))
                })
            };
            let (n, e) = (rsa.n().to_vec(), rsa.e().to_vec());
            PrivateParts {
                ty: Type::Rsa,
                attrs: vec![
                    Attribute::Modulus(n.clone()),
                    Attribute::PublicExponent(e.clone()),
                    Attribute::PrivateExponent(rsa.d().to_vec()),
                    Attribute::Prime1(need(rsa.p(), "p")?),
                    Attribute::Prime2(need(rsa.q(), "q")?),
                    Attribute::Exponent1(need(rsa.dmp1(), "dP")?),
                    Attribute::Exponent2(need(rsa.dmq1(), "dQ")?),
                    Attribute::Coefficient(need(rsa.iqmp(), "qInv")?),
                ],
                public: PublicKey::Rsa {
                    modulus: n,
                    exponent: e,
                },
            }
        }
        Id::EC => {
            let ec = pkey.ec_key().map_err(ossl("EC private key"))?;
            let curve = curve_of(ec.group().curve_name())?;
            let field = i32::try_from(encoding::field_len(curve)).unwrap_or(i32::MAX);
            let mut bn = BigNumContext::new().map_err(ossl("OpenSSL"))?;
            let point = ec
                .public_key()
                .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut bn)
                .map_err(ossl("EC public point"))?;
            PrivateParts {
                ty: Type::Ec,
                attrs: vec![
                    Attribute::EcParams(encoding::ec_params(curve)),
                    Attribute::Value(
                        ec.private_key()
                            .to_vec_padded(field)
                            .map_err(ossl("EC private value"))?,
                    ),
                ],
                public: PublicKey::Ec { curve, point },
            }
        }
        other => {
            return Err(Fault::Unsupported(format!(
                "{other:?} private keys are not taken into a PKCS#11 token (RSA and EC \
                 P-256/P-384 are)"
            )))
        }
    };
    let agrees = match (kind, &parts.public) {
        (KeyKind::RsaPrivate(_), PublicKey::Rsa { .. }) => true,
        (KeyKind::EcPrivate(c), PublicKey::Ec { curve, .. }) => c == *curve,
        _ => false,
    };
    if !agrees {
        return Err(Fault::BadParameters(format!(
            "the private key given is not a {kind:?} key"
        )));
    }
    Ok(parts)
}

/// The key-type attributes of a public key object.
fn public_attrs(key: &PublicKey) -> Result<(Type, Vec<Attribute>), Fault> {
    Ok(match key {
        PublicKey::Rsa { modulus, exponent } => (
            Type::Rsa,
            vec![
                Attribute::Modulus(modulus.clone()),
                Attribute::PublicExponent(exponent.clone()),
            ],
        ),
        PublicKey::Ec { curve, point } => (
            Type::Ec,
            vec![
                Attribute::EcParams(encoding::ec_params(*curve)),
                Attribute::EcPoint(encoding::ec_point_attr(point)?),
            ],
        ),
        PublicKey::Ed25519 { point } => (
            Type::Edwards,
            vec![
                Attribute::EcParams(encoding::ed25519_params()),
                Attribute::EcPoint(encoding::ec_point_attr(point)?),
            ],
        ),
    })
}

fn scrub_parts(template: &mut [Attribute]) {
    for attr in template {
        match attr {
            Attribute::Value(v)
            | Attribute::PrivateExponent(v)
            | Attribute::Prime1(v)
            | Attribute::Prime2(v)
            | Attribute::Exponent1(v)
            | Attribute::Exponent2(v)
            | Attribute::Coefficient(v) => v.zeroize(),
            _ => {}
        }
    }
}

/// Reads a private key object's components and encodes them as PKCS#8.
fn read_private_pkcs8(
    session: &Session,
    handle: ObjectHandle,
    ty: Type,
) -> Result<Zeroizing<Vec<u8>>, Fault> {
    let lib = |what: &'static str| {
        move |e: openssl::error::ErrorStack| Fault::Library(format!("{what}: {e}"))
    };
    match ty {
        Type::Rsa => {
            let wanted = [
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::PrivateExponent,
                AttributeType::Prime1,
                AttributeType::Prime2,
                AttributeType::Exponent1,
                AttributeType::Exponent2,
                AttributeType::Coefficient,
            ];
            let mut attrs = session
                .get_attributes(handle, &wanted)
                .map_err(|e| Fault::ck(e, "reading an RSA private key's components"))?;
            let mut v: [Option<BigNum>; 8] = Default::default();
            for a in &attrs {
                let (i, bytes) = match a {
                    Attribute::Modulus(b) => (0, b),
                    Attribute::PublicExponent(b) => (1, b),
                    Attribute::PrivateExponent(b) => (2, b),
                    Attribute::Prime1(b) => (3, b),
                    Attribute::Prime2(b) => (4, b),
                    Attribute::Exponent1(b) => (5, b),
                    Attribute::Exponent2(b) => (6, b),
                    Attribute::Coefficient(b) => (7, b),
                    _ => continue,
                };
                v[i] = Some(BigNum::from_slice(bytes).map_err(lib("RSA component"))?);
            }
            scrub_parts(&mut attrs);
            let [Some(n), Some(e), Some(d), Some(p), Some(q), Some(dp), Some(dq), Some(qi)] = v
            else {
                return Err(Fault::Library(
                    "the token returned an incomplete RSA private key".into(),
                ));
            };
            let rsa = Rsa::from_private_components(n, e, d, p, q, dp, dq, qi)
                .map_err(lib("RSA private key"))?;
            let pkey = PKey::from_rsa(rsa).map_err(lib("RSA private key"))?;
            Ok(Zeroizing::new(
                pkey.private_key_to_pkcs8()
                    .map_err(lib("encoding PKCS#8"))?,
            ))
        }
        Type::Ec => {
            let mut attrs = session
                .get_attributes(handle, &[AttributeType::EcParams, AttributeType::Value])
                .map_err(|e| Fault::ck(e, "reading an EC private key"))?;
            let (mut params, mut value) = (None, None);
            for a in &attrs {
                match a {
                    Attribute::EcParams(p) => params = Some(p.clone()),
                    Attribute::Value(d) => {
                        value = Some(BigNum::from_slice(d).map_err(lib("EC private value"))?)
                    }
                    _ => {}
                }
            }
            scrub_parts(&mut attrs);
            let (Some(params), Some(d)) = (params, value) else {
                return Err(Fault::Library(
                    "the token returned an incomplete EC private key".into(),
                ));
            };
            let curve = [Curve::P256, Curve::P384]
                .into_iter()
                .find(|c| encoding::ec_params(*c) == params)
                .ok_or_else(|| {
                    Fault::Unsupported("EC key on a curve other than P-256/P-384".into())
                })?;
            let group = EcGroup::from_curve_name(curve_nid(curve)).map_err(lib("EC group"))?;
            let mut bn = BigNumContext::new().map_err(lib("OpenSSL"))?;
            let mut point = EcPoint::new(&group).map_err(lib("EC point"))?;
            point
                .mul_generator2(&group, &d, &mut bn)
                .map_err(lib("EC public point"))?;
            let ec = EcKey::from_private_components(&group, &d, &point)
                .map_err(lib("EC private key"))?;
            let pkey = PKey::from_ec_key(ec).map_err(lib("EC private key"))?;
            Ok(Zeroizing::new(
                pkey.private_key_to_pkcs8()
                    .map_err(lib("encoding PKCS#8"))?,
            ))
        }
        other => Err(Fault::Unsupported(format!(
            "export of a {other:?} private key from a PKCS#11 token"
        ))),
    }
}

impl Pkcs11Backend {
    /// Takes a PKCS#8 private key of `kind` (RSA, EC P-256/P-384) into the token;
    /// exportable later only if `extractable`.
    pub(super) fn import_private_inner(
        &self,
        kind: KeyKind,
        pkcs8: &[u8],
        extractable: bool,
        aad: &[u8],
    ) -> Result<KeyRef, Fault> {
        let parts = private_parts(kind, pkcs8)?;
        let ty = parts.ty;
        let (_, public_attrs) = public_attrs(&parts.public)?;
        let what = format!("importing a {kind:?} key");
        let private_template = |extra: &[Attribute]| {
            let mut t = usage(Class::Private, ty);
            t.extend([
                Attribute::Class(Class::Private.object_class()),
                Attribute::KeyType(ty.key_type()),
            ]);
            t.extend(parts.attrs.iter().cloned());
            t.extend(extra.iter().cloned());
            t
        };
        match self.placement {
            Placement::Resident => self.run(|conn, _, session| {
                let id = random_id()?;
                let label = binding_label(aad);
                let mut private = private_template(&[
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(!extractable),
                    Attribute::Extractable(extractable),
                    Attribute::Id(id.to_vec()),
                    Attribute::Label(label.clone()),
                ]);
                let created = session.create_object(&private);
                scrub_parts(&mut private);
                let priv_h = created.map_err(|e| Fault::ck(e, what.clone()))?;
                // The public half, for Signature Verify with the private key.
                let mut public = usage(Class::Public, ty);
                public.extend([
                    Attribute::Class(Class::Public.object_class()),
                    Attribute::KeyType(ty.key_type()),
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Id(id.to_vec()),
                    Attribute::Label(label.clone()),
                ]);
                public.extend(public_attrs.iter().cloned());
                let pub_h = match session.create_object(&public) {
                    Ok(h) => h,
                    Err(e) => {
                        if let Err(d) = session.destroy_object(priv_h) {
                            tracing::warn!(backend = %self.name, error = %d, "destroying a half-imported private key");
                        }
                        return Err(Fault::ck(e, format!("{what}: its public half")));
                    }
                };
                conn.remember(Class::Private, &id, priv_h, label.clone());
                conn.remember(Class::Public, &id, pub_h, label);
                Ok(KeyRef(keyref::resident(Class::Private, ty, &id)))
            }),
            Placement::Wrapped => self.run(|conn, _, session| {
                let kek = kek(conn)?;
                // Extractable in the token only so that C_WrapKey may wrap it.
                let mut private = private_template(&[
                    Attribute::Token(false),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(true),
                ]);
                let created = session.create_object(&private);
                scrub_parts(&mut private);
                let handle = created.map_err(|e| Fault::ck(e, what.clone()))?;
                let blob = wrap_and_destroy(session, &kek, handle)?;
                let flags = if extractable { FLAG_EXTRACTABLE } else { 0 };
                let body = keyref::wrapped_body(Class::Private, ty, flags, kek.mechanism, &blob);
                Ok(KeyRef(seal(session, &kek, body, aad)?))
            }),
        }
    }

    /// Takes an SPKI public key of `kind` (RSA, EC P-256/P-384, Ed25519) into the
    /// token (resident) or a tagged reference (wrapped).
    pub(super) fn import_public_inner(
        &self,
        kind: KeyKind,
        spki: &[u8],
        aad: &[u8],
    ) -> Result<KeyRef, Fault> {
        let key = PublicKey::from_spki(spki)?;
        let agrees = match (kind, &key) {
            (KeyKind::RsaPublic(_), PublicKey::Rsa { .. }) => true,
            (KeyKind::EcPublic(c), PublicKey::Ec { curve, .. }) => c == *curve,
            (KeyKind::Ed25519Public, PublicKey::Ed25519 { .. }) => true,
            _ => false,
        };
        if !agrees {
            return Err(Fault::BadParameters(format!(
                "the public key given is not a {kind:?} key"
            )));
        }
        let (ty, attrs) = public_attrs(&key)?;
        match self.placement {
            Placement::Resident => self.run(|conn, _, session| {
                let id = random_id()?;
                let label = binding_label(aad);
                let mut public = usage(Class::Public, ty);
                public.extend([
                    Attribute::Class(Class::Public.object_class()),
                    Attribute::KeyType(ty.key_type()),
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Id(id.to_vec()),
                    Attribute::Label(label.clone()),
                ]);
                public.extend(attrs.iter().cloned());
                let handle = session
                    .create_object(&public)
                    .map_err(|e| Fault::ck(e, format!("importing a {kind:?} key")))?;
                conn.remember(Class::Public, &id, handle, label);
                Ok(KeyRef(keyref::resident(Class::Public, ty, &id)))
            }),
            Placement::Wrapped => self.run(|conn, _, session| {
                let kek = kek(conn)?;
                // The SPKI as given (parsed above), like a generated pair's.
                Ok(KeyRef(seal(
                    session,
                    &kek,
                    keyref::public_body(ty, spki),
                    aad,
                )?))
            }),
        }
    }

    /// The PKCS#8 of an extractable private key, or the SPKI of a public key.
    pub(super) fn export_asymmetric(
        &self,
        key: &KeyRef,
        parsed: &Parsed<'_>,
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Fault> {
        match parsed {
            Parsed::Resident {
                class: Class::Private,
                ty,
                ..
            } => self.with_key(key, parsed, aad, |_, _, session, handle| {
                let attrs = session
                    .get_attributes(
                        handle,
                        &[AttributeType::Extractable, AttributeType::Sensitive],
                    )
                    .map_err(|e| Fault::ck(e, "reading the key's export attributes"))?;
                let (mut extractable, mut sensitive) = (false, true);
                for a in attrs {
                    match a {
                        Attribute::Extractable(v) => extractable = v,
                        Attribute::Sensitive(v) => sensitive = v,
                        _ => {}
                    }
                }
                if !extractable || sensitive {
                    return Err(not_extractable(&self.token_label));
                }
                read_private_pkcs8(session, handle, *ty)
            }),
            Parsed::Resident {
                class: Class::Public,
                ty,
                ..
            } => self.with_key(key, parsed, aad, |_, _, session, handle| {
                super::ops::read_public(session, handle, *ty)?
                    .to_spki()
                    .map(Zeroizing::new)
            }),
            Parsed::Public {
                spki, signed, tag, ..
            } => self.run(|conn, _, session| {
                check_tag(session, &kek(conn)?, signed, aad, tag)?;
                Ok(Zeroizing::new(spki.to_vec()))
            }),
            Parsed::Wrapped {
                class: Class::Private,
                ty,
                flags,
                mechanism,
                blob,
                signed,
                tag,
            } => self.run(|conn, _, session| {
                let kek = kek(conn)?;
                check_tag(session, &kek, signed, aad, tag)?;
                if flags & FLAG_EXTRACTABLE == 0 {
                    return Err(not_extractable(&self.token_label));
                }
                super::read_export_copy(
                    session,
                    &kek,
                    Class::Private,
                    *ty,
                    *mechanism,
                    blob,
                    |s, h| read_private_pkcs8(s, h, *ty),
                )
            }),
            _ => Err(Fault::Unsupported(
                "not a private or public key reference".into(),
            )),
        }
    }
}
