//! Create Key Pair (KMIP 1.4 §4.2): RSA 2048/3072/4096, EC P-256/P-384 and Ed25519
//! pairs generated inside the vault's backend, stored as two linked objects.
//!
//! The private key is stored as PKCS#8 and the public key as SubjectPublicKeyInfo
//! (KMIP Key Format Type "X.509"); Get converts RSA public keys to PKCS#1 on
//! request. Attributes: the common ones apply to both keys, the private/public ones
//! to their key; each key gets a Link to the other (Private Key Link / Public Key
//! Link).
//!
//! Re-key Key Pair (KMIP 1.4 §4.5) makes a new pair the same way, carrying the
//! existing keys' attributes (see [`rekey_key_pair`]).

use super::create::{apply_export_policy, key_block, new_obj};
use super::object::{self, aad, new_attributes, new_uid, Material};
use super::{OpCtx, OpError};
use crate::backend::BackendError;
use crate::crypto::{Curve, KeyPairSpec};
use kmip::messages::objects::{ManagedObject, PrivateKey, PublicKey};
use kmip::messages::payloads::{
    CreateKeyPairRequest, CreateKeyPairResponse, ReKeyKeyPairRequest, ReKeyKeyPairResponse,
};
use kmip::messages::{Attribute, Attributes, Codec};
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{
    CryptographicAlgorithm, KeyFormatType, LinkType, ObjectType, RecommendedCurve, ResultReason,
    State,
};

/// Create Key Pair.
pub fn create_key_pair(
    ctx: &mut OpCtx<'_>,
    req: &CreateKeyPairRequest,
) -> Result<CreateKeyPairResponse, OpError> {
    let common = req.common_attributes.clone().unwrap_or_default();
    let private = merged(&common, req.private_key_attributes.as_ref());
    let public = merged(&common, req.public_key_attributes.as_ref());
    let (priv_uid, pub_uid) = make_pair(ctx, private, public, None)?;
    Ok(CreateKeyPairResponse {
        private_key_unique_identifier: priv_uid,
        public_key_unique_identifier: pub_uid,
        extensions: Vec::new(),
    })
}

/// Re-key Key Pair (KMIP 1.4 §4.5): a new pair of the existing private key's
/// algorithm, length and curve, with the existing keys' attributes carried over as
/// Re-key carries them (§4.4: not the server-set ones, the Links or the dates), the
/// request's attributes on top. The new keys link to the old ones (Replaced Object
/// Link) and the old ones to the new (Replacement Object Link). With an Offset, the
/// new keys activate at now + Offset and keep the old activation-to-deactivation
/// span; without one, they are active now if the old private key had an Activation
/// Date.
pub fn rekey_key_pair(
    ctx: &mut OpCtx<'_>,
    req: &ReKeyKeyPairRequest,
) -> Result<ReKeyKeyPairResponse, OpError> {
    let mut old_priv = object::load(ctx, &req.private_key_unique_identifier)?;
    object::not_archived(&old_priv)?;
    if old_priv.rec.object_type != ObjectType::PrivateKey.value() {
        return Err(OpError::new(
            ResultReason::IllegalOperation,
            "Re-key Key Pair applies to private keys",
        ));
    }
    if matches!(
        object::state(&old_priv),
        State::Destroyed | State::DestroyedCompromised
    ) {
        return Err(OpError::new(
            ResultReason::IllegalOperation,
            "the private key is destroyed",
        ));
    }
    // The old public key: the one the private key links to, when it still exists.
    let pub_link = linked(&old_priv.attrs, LinkType::PublicKeyLink);
    let mut old_pub = match pub_link {
        Some(uid) => match object::load(ctx, &Some(uid)) {
            Ok(o) if o.rec.object_type == ObjectType::PublicKey.value() => Some(o),
            Ok(_) => None,
            Err(e) if e.reason == ResultReason::ItemNotFound => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let mut private = object::carried(&old_priv.attrs);
    let mut public = match &old_pub {
        Some(o) => object::carried(&o.attrs),
        None => {
            // No public key to copy from: the private key's attributes, without
            // the usage mask that is the private key's own.
            let mut a = private.clone();
            a.remove(Tag::CRYPTOGRAPHIC_USAGE_MASK);
            a
        }
    };
    let common = req.common_attributes.clone().unwrap_or_default();
    private = merged(
        &merged(&private, Some(&common)),
        req.private_key_attributes.as_ref(),
    );
    public = merged(
        &merged(&public, Some(&common)),
        req.public_key_attributes.as_ref(),
    );
    // The algorithm, length and curve are the old key's; a request may not change
    // them.
    for tag in [
        Tag::CRYPTOGRAPHIC_ALGORITHM,
        Tag::CRYPTOGRAPHIC_LENGTH,
        Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
    ] {
        let was = old_priv.attrs.get(tag).map(|t| &t.value);
        for a in [&private, &public] {
            let now = a.get(tag).map(|t| &t.value);
            if now.is_some() && now != was {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    format!(
                        "Re-key Key Pair keeps the existing key's {}",
                        tag.name().unwrap_or("domain")
                    ),
                ));
            }
        }
    }
    let activation = object::date(&old_priv.attrs, Tag::ACTIVATION_DATE);
    let deactivation = object::date(&old_priv.attrs, Tag::DEACTIVATION_DATE);
    for a in [&mut private, &mut public] {
        if let Some(off) = req.offset {
            let at = ctx.now + i64::from(off.0);
            a.set(Tag::ACTIVATION_DATE, Value::DateTime(at));
            if let (Some(act), Some(deact)) = (activation, deactivation) {
                a.set(Tag::DEACTIVATION_DATE, Value::DateTime(at + (deact - act)));
            }
        } else if activation.is_some() {
            a.set(Tag::ACTIVATION_DATE, Value::DateTime(ctx.now));
        }
    }
    let replaced = Replaced {
        private: old_priv.rec.uid.clone(),
        public: old_pub.as_ref().map(|o| o.rec.uid.clone()),
    };
    let (priv_uid, pub_uid) = make_pair(ctx, private, public, Some(&replaced))?;
    super::version::link_replacement(ctx, &mut old_priv, &priv_uid)?;
    if let Some(o) = old_pub.as_mut() {
        super::version::link_replacement(ctx, o, &pub_uid)?;
    }
    Ok(ReKeyKeyPairResponse {
        private_key_unique_identifier: priv_uid,
        public_key_unique_identifier: pub_uid,
        extensions: Vec::new(),
    })
}

/// The keys a re-keyed pair replaces.
struct Replaced {
    private: String,
    public: Option<String>,
}

/// The target of the first Link of `kind`.
fn linked(attrs: &Attributes, kind: LinkType) -> Option<String> {
    attrs.items.iter().find_map(|a| match a {
        Attribute::Standard(t) if t.tag == Tag::LINK => {
            let ty = t.child(Tag::LINK_TYPE)?;
            if ty.value != Value::Enumeration(kind.value()) {
                return None;
            }
            match &t.child(Tag::LINKED_OBJECT_IDENTIFIER)?.value {
                Value::TextString(s) => Some(s.clone()),
                _ => None,
            }
        }
        _ => None,
    })
}

/// Generates a pair from the private and public keys' client attributes and stores
/// the two linked objects; `replaced` names the keys a Re-key Key Pair replaces.
/// Returns the private and public keys' UIDs; the ID placeholder becomes the
/// private key (1.4 §4.2, §4.5).
fn make_pair(
    ctx: &mut OpCtx<'_>,
    mut private: Attributes,
    mut public: Attributes,
    replaced: Option<&Replaced>,
) -> Result<(String, String), OpError> {
    let (spec, alg, bits) = pair_spec(&private, &public)?;
    for a in [&mut private, &mut public] {
        a.set(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(alg.value()),
        );
        a.set(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(bits));
        if let KeyPairSpec::Ec(c) = spec {
            let curve = match c {
                Curve::P256 => RecommendedCurve::P256,
                Curve::P384 => RecommendedCurve::P384,
            };
            a.set(
                Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
                Value::Structure(vec![Ttlv::new(
                    Tag::RECOMMENDED_CURVE,
                    Value::Enumeration(curve.value()),
                )]),
            );
        }
    }
    let (priv_uid, pub_uid) = (new_uid(), new_uid());
    let mut priv_attrs = new_attributes(ctx, &priv_uid, ObjectType::PrivateKey, &private)?;
    let mut pub_attrs = new_attributes(ctx, &pub_uid, ObjectType::PublicKey, &public)?;
    apply_export_policy(ctx, &mut priv_attrs, true)?;
    apply_export_policy(ctx, &mut pub_attrs, false)?;
    let extractable = object::flag(&priv_attrs, Tag::EXTRACTABLE).unwrap_or(false);
    let refs = ctx
        .backend
        .generate_pair(
            spec,
            extractable,
            &aad(&ctx.vault.name, &priv_uid),
            &aad(&ctx.vault.name, &pub_uid),
        )
        .map_err(super::crypto::crypto_error)?;
    priv_attrs.push(Attribute::standard(
        Tag::LINK,
        object::link(LinkType::PublicKeyLink, &pub_uid),
    ));
    pub_attrs.push(Attribute::standard(
        Tag::LINK,
        object::link(LinkType::PrivateKeyLink, &priv_uid),
    ));
    if let Some(r) = replaced {
        priv_attrs.push(super::version::replaced_link(&r.private));
        if let Some(p) = &r.public {
            pub_attrs.push(super::version::replaced_link(p));
        }
    }
    // Digest (1.4 §3.17): SHA-256 of the private key's PKCS#8 when the backend
    // lets the server read it (a key that stays in an HSM has none), of the public
    // key's SubjectPublicKeyInfo always.
    let private_pkcs8 = match ctx
        .backend
        .export_secret(&refs.private, &aad(&ctx.vault.name, &priv_uid))
    {
        Ok(k) => Some(k),
        Err(BackendError::Unsupported(_) | BackendError::NotExtractable) => None,
        Err(e) => {
            tracing::warn!(error = %e, "generated private key not readable: no Digest");
            None
        }
    };
    object::server_attributes(
        ctx,
        &mut priv_attrs,
        &priv_uid,
        Material {
            digest_input: private_pkcs8.as_deref().map(Vec::as_slice),
            format: Some(KeyFormatType::Pkcs8),
            generated: true,
        },
    );
    object::server_attributes(
        ctx,
        &mut pub_attrs,
        &pub_uid,
        Material {
            digest_input: Some(&refs.public_spki),
            format: Some(KeyFormatType::X509),
            generated: true,
        },
    );
    let priv_template = ManagedObject::PrivateKey(PrivateKey {
        key_block: key_block(KeyFormatType::Pkcs8, Some(alg), Some(bits), Vec::new()),
        extensions: Vec::new(),
    });
    let pub_template = ManagedObject::PublicKey(PublicKey {
        // The public key's SPKI is public: kept in the object itself, so Get serves
        // it whatever the backend (a PKCS#11 backend exports no public key through
        // `export_secret`).
        key_block: key_block(
            KeyFormatType::X509,
            Some(alg),
            Some(bits),
            refs.public_spki.clone(),
        ),
        extensions: Vec::new(),
    });
    let mut priv_obj = new_obj(
        ctx,
        &priv_uid,
        ObjectType::PrivateKey,
        priv_attrs,
        &priv_template,
        refs.private.0,
    );
    let mut pub_obj = new_obj(
        ctx,
        &pub_uid,
        ObjectType::PublicKey,
        pub_attrs,
        &pub_template,
        refs.public.0,
    );
    object::insert(ctx, &mut pub_obj)?;
    object::insert(ctx, &mut priv_obj)?;
    // The ID placeholder after Create Key Pair is the private key (1.4 §4.2).
    ctx.id_placeholder = Some(priv_uid.clone());
    Ok((priv_uid, pub_uid))
}

fn merged(common: &Attributes, specific: Option<&Attributes>) -> Attributes {
    let mut a = common.clone();
    if let Some(s) = specific {
        for item in &s.items {
            if let Attribute::Standard(t) = item {
                if !object::MULTI_VALUED.contains(&t.tag) {
                    a.remove(t.tag);
                }
            }
            a.push(item.clone());
        }
    }
    a
}

/// The pair to generate, from Cryptographic Algorithm and Length (or the curve in
/// Cryptographic Domain Parameters).
fn pair_spec(
    private: &Attributes,
    public: &Attributes,
) -> Result<(KeyPairSpec, CryptographicAlgorithm, i32), OpError> {
    let alg = private
        .cryptographic_algorithm()
        .or_else(|| public.cryptographic_algorithm())
        .ok_or_else(|| {
            OpError::new(
                ResultReason::InvalidField,
                "Cryptographic Algorithm is required",
            )
        })?;
    let len = private
        .cryptographic_length()
        .or_else(|| public.cryptographic_length());
    let curve = private
        .get(Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS)
        .or_else(|| public.get(Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS))
        .and_then(|d| d.child(Tag::RECOMMENDED_CURVE))
        .and_then(|c| RecommendedCurve::decode(c, &object::storage_ctx()).ok());
    let bad = |m: String| OpError::new(ResultReason::InvalidField, m);
    Ok(match alg {
        CryptographicAlgorithm::Rsa => {
            let bits = len.ok_or_else(|| bad("Cryptographic Length is required for RSA".into()))?;
            if ![2048, 3072, 4096].contains(&bits) {
                return Err(bad(format!(
                    "RSA keys are 2048, 3072 or 4096 bits, not {bits}"
                )));
            }
            (KeyPairSpec::Rsa(bits.unsigned_abs()), alg, bits)
        }
        CryptographicAlgorithm::Ec | CryptographicAlgorithm::Ecdsa => match (curve, len) {
            (Some(RecommendedCurve::P256), _) | (None, Some(256)) => {
                (KeyPairSpec::Ec(Curve::P256), alg, 256)
            }
            (Some(RecommendedCurve::P384), _) | (None, Some(384)) => {
                (KeyPairSpec::Ec(Curve::P384), alg, 384)
            }
            (c, l) => {
                return Err(bad(format!(
                    "EC keys use curve P-256 or P-384 (got curve {c:?}, length {l:?})"
                )))
            }
        },
        CryptographicAlgorithm::Ed25519 => (KeyPairSpec::Ed25519, alg, 256),
        other => {
            return Err(OpError::new(
                ResultReason::FeatureNotSupported,
                format!("cannot create key pairs for {other:?}"),
            ))
        }
    })
}
