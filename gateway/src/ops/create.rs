//! Create (KMIP 1.4 §4.1), Register (§4.3) and Re-key (§4.4).

use super::certificate;
use super::keyformat;
use super::object::{self, aad, new_attributes, new_uid, Material, Obj};
use super::{version, wrap};
use super::{OpCtx, OpError};
use crate::backend::{BackendError, Export, KeyRef};
use crate::crypto::{Curve, KeyKind};
use crate::store::ObjectRecord;
use kmip::messages::codec::Codec;
use kmip::messages::objects::{KeyBlock, KeyMaterial, KeyValue, ManagedObject, SymmetricKey};
use kmip::messages::payloads::{
    CreateRequest, CreateResponse, ReKeyRequest, ReKeyResponse, RegisterRequest, RegisterResponse,
};
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{binary, Limits, Tag, Ttlv, Value};
use kmip::types::{
    CertificateType, CryptographicAlgorithm, KeyFormatType, ObjectType, ResultReason, State,
};
use zeroize::Zeroizing;

/// Create: a new symmetric key (AES 128/192/256, 3DES, or an HMAC key) generated
/// inside the vault's backend.
pub fn create(ctx: &mut OpCtx<'_>, req: &CreateRequest) -> Result<CreateResponse, OpError> {
    if req.object_type != ObjectType::SymmetricKey {
        return Err(OpError::new(
            ResultReason::InvalidField,
            "Create makes symmetric keys; use Register or CreateKeyPair",
        ));
    }
    let (alg, bits) = symmetric_spec(&req.attributes)?;
    check_rng_request(&req.attributes)?;
    check_quantum_safe(&req.attributes, Some(alg), Some(bits))?;
    let uid = new_uid();
    let mut client = req.attributes.clone();
    drop_agreeing(
        &mut client,
        &[(
            Tag::OBJECT_TYPE,
            Value::Enumeration(ObjectType::SymmetricKey.value()),
        )],
    );
    let mut attrs = new_attributes(ctx, &uid, ObjectType::SymmetricKey, &client)?;
    attrs.set(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(bits));
    apply_export_policy(ctx, &mut attrs, true)?;
    store_generated_key(ctx, &uid, alg, bits, attrs)?;
    Ok(CreateResponse {
        object_type: ObjectType::SymmetricKey,
        unique_identifier: uid,
        extensions: Vec::new(),
    })
}

/// Generates a symmetric key in the vault's backend (extractable as the
/// attributes say), completes the server-set attributes and stores the object
/// (Create and Re-key).
fn store_generated_key(
    ctx: &mut OpCtx<'_>,
    uid: &str,
    alg: CryptographicAlgorithm,
    bits: i32,
    mut attrs: Attributes,
) -> Result<(), OpError> {
    let extractable = object::flag(&attrs, Tag::EXTRACTABLE) == Some(true);
    let (key_ref, seen) = generate_key(ctx, alg, bits, uid, extractable)?;
    object::server_attributes(
        ctx,
        &mut attrs,
        uid,
        Material {
            digest_input: seen.as_deref().map(Vec::as_slice),
            format: Some(KeyFormatType::Raw),
            generated: true,
        },
    );
    let template = ManagedObject::SymmetricKey(SymmetricKey {
        key_block: key_block(KeyFormatType::Raw, Some(alg), Some(bits), Vec::new()),
        extensions: Vec::new(),
    });
    let mut obj = new_obj(
        ctx,
        uid,
        ObjectType::SymmetricKey,
        attrs,
        &template,
        key_ref.0,
    );
    object::insert(ctx, &mut obj)
}

/// Register: takes custody of a client-supplied object. The secret part (key
/// material, certificate or opaque value) goes to the backend; the rest is stored
/// as a template.
pub fn register(ctx: &mut OpCtx<'_>, req: &RegisterRequest) -> Result<RegisterResponse, OpError> {
    if req.object.object_type() != req.object_type {
        return Err(OpError::new(
            ResultReason::InvalidField,
            "Object Type does not match the object",
        ));
    }
    // A wrapped Key Block (ops::wrap) is unwrapped first, or left for the backend
    // to unwrap into its custody.
    let mut object = req.object.clone();
    let pending = wrap::prepare_register(ctx, &mut object)?;
    let uid = new_uid();
    let mut client = req.attributes.clone();
    let new_version = version::take_request(&mut client)?;
    let mut derived = vec![(
        Tag::OBJECT_TYPE,
        Value::Enumeration(req.object_type.value()),
    )];
    let mut from_certificate = Vec::new();
    if let ManagedObject::Certificate(c) = &object {
        // KMIP 1.4 §3.8, §3.9: set by the server from the certificate itself.
        derived.push((
            Tag::CERTIFICATE_TYPE,
            Value::Enumeration(c.certificate_type.value()),
        ));
        derived.push((
            Tag::CERTIFICATE_LENGTH,
            Value::Integer(i32::try_from(c.certificate_value.len()).unwrap_or(i32::MAX)),
        ));
        if c.certificate_type == CertificateType::X509 {
            // 1.4 §3.10-3.12, §3.16 and the 2.x certificate name attributes.
            from_certificate = certificate::attributes(&c.certificate_value)?;
        }
    }
    if let Some(kb) = object.key_block() {
        // 2.x: the Key Format Type attribute is the key block's.
        derived.push((
            Tag::KEY_FORMAT_TYPE,
            Value::Enumeration(kb.key_format_type.value()),
        ));
    }
    drop_agreeing(&mut client, &derived);
    // What the backend unwraps in place is never read here: no Digest of it.
    let digest_input = if pending.is_some() {
        None
    } else {
        digest_input(&object)
    };
    let (template, secret) = split_secret(object.clone())?;
    let format = template.key_block().map(|kb| kb.key_format_type);
    if let Some(kb) = template.key_block() {
        // Algorithm and length come with the key block when the attributes omit them.
        if client.get(Tag::CRYPTOGRAPHIC_ALGORITHM).is_none() {
            if let Some(a) = kb.cryptographic_algorithm {
                client.push(Attribute::standard(
                    Tag::CRYPTOGRAPHIC_ALGORITHM,
                    Value::Enumeration(a.value()),
                ));
            }
        }
        if client.get(Tag::CRYPTOGRAPHIC_LENGTH).is_none() {
            if let Some(l) = kb.cryptographic_length {
                client.push(Attribute::standard(
                    Tag::CRYPTOGRAPHIC_LENGTH,
                    Value::Integer(l),
                ));
            }
        }
    }
    check_quantum_safe(
        &client,
        client.cryptographic_algorithm(),
        client.cryptographic_length(),
    )?;
    // Asymmetric keys go to the backend in its encoding (PKCS#8 / SPKI); the
    // template keeps the registered format, which Get serves (ops::keyformat).
    let secret = match (req.object_type, format) {
        (ObjectType::PrivateKey | ObjectType::PublicKey, Some(f)) => keyformat::to_stored(
            req.object_type,
            f,
            client.cryptographic_algorithm(),
            client.cryptographic_length(),
            &secret,
        )?,
        _ => secret,
    };
    let mut attrs = new_attributes(ctx, &uid, req.object_type, &client)?;
    for (tag, value) in derived.into_iter().skip(1) {
        attrs.set(tag, value);
    }
    for a in from_certificate {
        attrs.push(a);
    }
    apply_export_policy(ctx, &mut attrs, object::is_secret_type(req.object_type))?;
    object::server_attributes(
        ctx,
        &mut attrs,
        &uid,
        Material {
            digest_input: digest_input.as_deref(),
            format,
            generated: false,
        },
    );
    // Symmetric keys in their raw form become keys of the backend (a PKCS#11 token
    // object of the right key type); everything else is custody of bytes.
    let key_aad = aad(&ctx.vault.name, &uid);
    let symmetric = match (
        &object,
        attrs.cryptographic_algorithm(),
        attrs.cryptographic_length(),
    ) {
        (ManagedObject::SymmetricKey(k), Some(alg), Some(bits))
            if matches!(
                k.key_block.key_format_type,
                KeyFormatType::Raw | KeyFormatType::TransparentSymmetricKey
            ) =>
        {
            symmetric_kind(alg, bits)
        }
        _ => None,
    };
    // Private and public keys in a canonical format (now PKCS#8 / SPKI) become typed
    // keys of the backend too; in any other format they are kept as registered.
    let asymmetric = match format {
        Some(f)
            if matches!(
                req.object_type,
                ObjectType::PrivateKey | ObjectType::PublicKey
            ) && keyformat::canonical_format(req.object_type, f) =>
        {
            asymmetric_kind(req.object_type, &secret)
        }
        _ => None,
    };
    let extractable = object::flag(&attrs, Tag::EXTRACTABLE) == Some(true);
    let export = Export::of(extractable, ctx.vault.allow_wrapped_export);
    let key_ref = match (symmetric, asymmetric, &pending) {
        (Some(kind), _, Some(p)) => p.finish(ctx, kind, export, &key_aad)?,
        (None, _, Some(_)) => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                "a wrapped symmetric key needs its Cryptographic Algorithm and Length (in the \
                 Key Block or the attributes)",
            ))
        }
        (Some(kind), _, None) => ctx.backend.import_key(kind, &secret, export, &key_aad)?,
        (None, Some(kind), None) if req.object_type == ObjectType::PrivateKey => ctx
            .backend
            .import_private_key(kind, &secret, extractable, &key_aad)?,
        (None, Some(kind), None) => ctx.backend.import_public_key(kind, &secret, &key_aad)?,
        (None, None, None) => ctx.backend.import_secret(&secret, &key_aad)?,
    };
    let replaced = if new_version {
        version::replaced_by_register(ctx, &attrs, req.object_type.value())?
    } else {
        None
    };
    let store = |ctx: &mut OpCtx<'_>, attrs| {
        let mut obj = new_obj(ctx, &uid, req.object_type, attrs, &template, key_ref.0);
        object::insert(ctx, &mut obj)
    };
    match replaced {
        Some(mut old) => version::next_version(ctx, &mut old, &uid, attrs, store)?,
        None => store(ctx, attrs)?,
    }
    // A certificate whose subject key is in the vault is linked to it both ways
    // (Public Key Link; Certificate Link on the public and private keys).
    if let ManagedObject::Certificate(c) = &req.object {
        if c.certificate_type == CertificateType::X509 {
            super::certify::link_registered(ctx, &uid, &c.certificate_value)?;
        }
    }
    Ok(RegisterResponse {
        unique_identifier: uid,
        extensions: Vec::new(),
    })
}

/// Re-key: a new symmetric key replacing an existing one. The new key takes the old
/// key's attributes (Name included, so the name resolves to the newest version),
/// dates are offset by the request's Offset, and the two are linked
/// Replacement/Replaced. What the server derives from the material (Digest, Random
/// Number Generator, …) is set anew, never copied (1.4 §4.4, Table 173).
pub fn rekey(ctx: &mut OpCtx<'_>, req: &ReKeyRequest) -> Result<ReKeyResponse, OpError> {
    let mut old = object::load(ctx, &req.unique_identifier)?;
    object::not_archived(&old)?;
    if old.rec.object_type != ObjectType::SymmetricKey.value() {
        return Err(OpError::new(
            ResultReason::IllegalOperation,
            "Re-key applies to symmetric keys",
        ));
    }
    if matches!(
        object::state(&old),
        State::Destroyed | State::DestroyedCompromised
    ) {
        return Err(OpError::new(
            ResultReason::IllegalOperation,
            "the key is destroyed",
        ));
    }
    let (alg, bits) = symmetric_spec(&old.attrs)?;
    let uid = new_uid();
    let mut client = object::carried(&old.attrs);
    if let Some(extra) = &req.attributes {
        check_rng_request(extra)?;
        for a in &extra.items {
            if let Attribute::Standard(t) = a {
                if !object::MULTI_VALUED.contains(&t.tag) {
                    client.remove(t.tag);
                }
            }
            client.push(a.clone());
        }
    }
    check_quantum_safe(&client, Some(alg), Some(bits))?;
    // Dates: with an Offset, the new key activates at now + offset and keeps the old
    // key's activation-to-deactivation span (KMIP 1.4 §4.4).
    if let Some(off) = req.offset {
        let activation = ctx.now + i64::from(off.0);
        client.set(Tag::ACTIVATION_DATE, Value::DateTime(activation));
        if let (Some(a), Some(d)) = (
            object::date(&old.attrs, Tag::ACTIVATION_DATE),
            object::date(&old.attrs, Tag::DEACTIVATION_DATE),
        ) {
            client.set(
                Tag::DEACTIVATION_DATE,
                Value::DateTime(activation + (d - a)),
            );
        }
    } else if object::date(&old.attrs, Tag::ACTIVATION_DATE).is_some() {
        client.set(Tag::ACTIVATION_DATE, Value::DateTime(ctx.now));
    }
    let attrs = new_attributes(ctx, &uid, ObjectType::SymmetricKey, &client)?;
    version::next_version(ctx, &mut old, &uid, attrs, |ctx, attrs| {
        store_generated_key(ctx, &uid, alg, bits, attrs)
    })?;
    ctx.id_placeholder = Some(uid.clone());
    Ok(ReKeyResponse {
        unique_identifier: uid,
        extensions: Vec::new(),
    })
}

/// Drops the server-set attributes a client sent with exactly the value the server
/// sets anyway (the OASIS vectors register certificates with their Certificate
/// Type; 2.x clients repeat the Object Type). One that disagrees is left for
/// [`object::check_client_attributes`] to refuse.
fn drop_agreeing(client: &mut Attributes, derived: &[(Tag, Value)]) {
    client.items.retain(|a| match a {
        Attribute::Standard(t) => !derived
            .iter()
            .any(|(tag, v)| t.tag == *tag && t.value == *v),
        Attribute::Vendor { .. } => true,
    });
}

/// Algorithm and length of a symmetric key from its attributes.
fn symmetric_spec(attrs: &Attributes) -> Result<(CryptographicAlgorithm, i32), OpError> {
    let alg = attrs.cryptographic_algorithm().ok_or_else(|| {
        OpError::new(
            ResultReason::InvalidField,
            "Cryptographic Algorithm is required",
        )
    })?;
    let len = attrs.cryptographic_length();
    let hmac_default = |bits: i32| len.unwrap_or(bits);
    let required = |name: &str, allowed: &[i32]| {
        let l = len.ok_or_else(|| {
            OpError::new(
                ResultReason::InvalidField,
                format!("Cryptographic Length is required for {name}"),
            )
        })?;
        if allowed.contains(&l) {
            Ok(l)
        } else {
            Err(OpError::new(
                ResultReason::InvalidField,
                format!("{name} keys are {allowed:?} bits, not {l}"),
            ))
        }
    };
    let bits = match alg {
        CryptographicAlgorithm::Aes => required("AES", &[128, 192, 256])?,
        // 1.4 §2.1.3: 3DES lengths count with or without the parity bits: two-key
        // 112/128, three-key 168/192.
        CryptographicAlgorithm::Des3 => required("3DES", &[112, 128, 168, 192])?,
        CryptographicAlgorithm::HmacSha1 => hmac_default(160),
        CryptographicAlgorithm::HmacSha256 => hmac_default(256),
        CryptographicAlgorithm::HmacSha384 => hmac_default(384),
        CryptographicAlgorithm::HmacSha512 => hmac_default(512),
        other => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                format!("cannot create symmetric keys for {other:?}"),
            ));
        }
    };
    if bits <= 0 || bits % 8 != 0 || bits > 4096 {
        return Err(OpError::new(
            ResultReason::InvalidField,
            format!("invalid key length {bits}"),
        ));
    }
    Ok((alg, bits))
}

/// Key material in the server's memory, wiped when dropped.
type Secret = Zeroizing<Vec<u8>>;

/// Generates the material of a new symmetric key. Returns the backend's reference
/// and, when the backend lets the server read it, the material (for the Digest).
fn generate_key(
    ctx: &OpCtx<'_>,
    alg: CryptographicAlgorithm,
    bits: i32,
    uid: &str,
    extractable: bool,
) -> Result<(KeyRef, Option<Secret>), OpError> {
    let aad = aad(&ctx.vault.name, uid);
    let kind = symmetric_kind(alg, bits).ok_or_else(|| {
        OpError::new(
            ResultReason::InvalidField,
            format!("cannot generate {alg:?} keys of {bits} bits"),
        )
    })?;
    // The backend generates the key where it lives (3DES parity included) and
    // marks it extractable only when the object's Extractable attribute says so.
    let export = Export::of(extractable, ctx.vault.allow_wrapped_export);
    let r = ctx.backend.generate_key(kind, export, &aad)?;
    let seen = match ctx.backend.export_secret(&r, &aad) {
        Ok(s) => Some(s),
        // A backend that keeps the key to itself: no Digest (1.4 §3.17 asks for
        // one only when the server has access to the material).
        Err(BackendError::Unsupported(_) | BackendError::NotExtractable) => None,
        Err(e) => return Err(e.into()),
    };
    Ok((r, seen))
}

/// The mechanism-level kind of a symmetric key (`None` for other algorithms).
/// The kind of a private key in PKCS#8 or a public key in SPKI (the stored
/// encodings of `ops::keyformat`, already checked there): RSA, EC P-256/P-384,
/// Ed25519. `None` for anything else, which is then kept as bytes.
fn asymmetric_kind(object_type: ObjectType, der: &[u8]) -> Option<KeyKind> {
    use openssl::nid::Nid;
    use openssl::pkey::{Id, PKey};
    let private = object_type == ObjectType::PrivateKey;
    let (id, bits, curve) = if private {
        let k = PKey::private_key_from_pkcs8(der).ok()?;
        let curve = k.ec_key().ok().and_then(|e| e.group().curve_name());
        (k.id(), k.bits(), curve)
    } else {
        let k = PKey::public_key_from_der(der).ok()?;
        let curve = k.ec_key().ok().and_then(|e| e.group().curve_name());
        (k.id(), k.bits(), curve)
    };
    let curve = match curve {
        Some(Nid::X9_62_PRIME256V1) => Some(Curve::P256),
        Some(Nid::SECP384R1) => Some(Curve::P384),
        _ => None,
    };
    Some(match (id, private) {
        (Id::RSA, true) => KeyKind::RsaPrivate(bits),
        (Id::RSA, false) => KeyKind::RsaPublic(bits),
        (Id::EC, true) => KeyKind::EcPrivate(curve?),
        (Id::EC, false) => KeyKind::EcPublic(curve?),
        (Id::ED25519, true) => KeyKind::Ed25519Private,
        (Id::ED25519, false) => KeyKind::Ed25519Public,
        _ => return None,
    })
}

fn symmetric_kind(alg: CryptographicAlgorithm, bits: i32) -> Option<KeyKind> {
    let bits = u32::try_from(bits).ok()?;
    Some(match alg {
        CryptographicAlgorithm::Aes => KeyKind::Aes(bits),
        CryptographicAlgorithm::Des3 => KeyKind::Des3(if bits <= 128 { 112 } else { 168 }),
        CryptographicAlgorithm::HmacSha1
        | CryptographicAlgorithm::HmacSha224
        | CryptographicAlgorithm::HmacSha256
        | CryptographicAlgorithm::HmacSha384
        | CryptographicAlgorithm::HmacSha512 => KeyKind::Hmac(bits),
        _ => return None,
    })
}

/// Create and Re-key use the server's generator; one the client names in the
/// template must be that one, or the request fails (1.4 §3.44).
fn check_rng_request(attrs: &Attributes) -> Result<(), OpError> {
    match attrs.get(Tag::RANDOM_NUMBER_GENERATOR) {
        Some(t) if t.value != object::server_rng() => Err(OpError::new(
            ResultReason::FeatureNotSupported,
            "keys are generated by the operating system's CSPRNG (RNG Algorithm \
             Unspecified); the requested Random Number Generator is not available",
        )),
        _ => Ok(()),
    }
}

/// Quantum Safe (2.0): a client asking for it gets a quantum-safe key or a failure.
/// Keygate counts as quantum safe what keeps at least 128-bit strength against
/// Grover's search: AES-256 and HMAC keys of 256 bits or more. Everything else
/// (AES-128/192, 3DES, every public-key algorithm, material of unknown kind) is
/// refused, as the OASIS QS-M-2-21 case expects of AES-128.
fn check_quantum_safe(
    attrs: &Attributes,
    alg: Option<CryptographicAlgorithm>,
    bits: Option<i32>,
) -> Result<(), OpError> {
    if object::flag(attrs, Tag::QUANTUM_SAFE) != Some(true) {
        return Ok(());
    }
    let bits = bits.unwrap_or(0);
    let safe = match alg {
        Some(CryptographicAlgorithm::Aes) => bits >= 256,
        Some(
            CryptographicAlgorithm::HmacSha256
            | CryptographicAlgorithm::HmacSha384
            | CryptographicAlgorithm::HmacSha512,
        ) => bits >= 256,
        _ => false,
    };
    if safe {
        Ok(())
    } else {
        Err(OpError::new(
            ResultReason::GeneralFailure,
            format!(
                "Quantum Safe was requested, but {alg:?} with {bits} bits is not quantum safe \
                 (AES-256 or an HMAC key of at least 256 bits is)"
            ),
        ))
    }
}

/// Sets Extractable and Sensitive (1.4 §3.48, §3.50). Secret material follows the
/// vault's policy: its default when the client says nothing, never above its
/// ceiling. Public material (public keys, certificates, opaque objects) defaults to
/// the specification's Extractable true. Sensitive defaults to false.
pub(crate) fn apply_export_policy(
    ctx: &OpCtx<'_>,
    attrs: &mut Attributes,
    secret: bool,
) -> Result<(), OpError> {
    let asked = object::flag(attrs, Tag::EXTRACTABLE);
    let extractable = if secret {
        asked.unwrap_or(ctx.vault.extractable_by_default && ctx.vault.allow_extractable)
    } else {
        asked.unwrap_or(true)
    };
    if secret && extractable && !ctx.vault.allow_extractable {
        return Err(OpError::new(
            ResultReason::PermissionDenied,
            format!("vault {} does not allow extractable keys", ctx.vault.name),
        ));
    }
    attrs.set(Tag::EXTRACTABLE, Value::Boolean(extractable));
    if object::flag(attrs, Tag::SENSITIVE).is_none() {
        attrs.set(Tag::SENSITIVE, Value::Boolean(false));
    }
    Ok(())
}

/// The bytes a registered object's Digest is computed on (1.4 §3.17): the Key
/// Material byte string, or the TTLV encoding of a structured Key Material; the
/// Certificate Value; the Opaque Data Value.
fn digest_input(o: &ManagedObject) -> Option<Vec<u8>> {
    match o {
        ManagedObject::Certificate(c) => Some(c.certificate_value.clone()),
        ManagedObject::OpaqueObject(c) => Some(c.opaque_data_value.clone()),
        other => match other.key_block()?.key_value.as_ref()? {
            KeyValue::Plain { key_material, .. } => Some(encode_material(key_material)),
            KeyValue::Wrapped(_) => None,
        },
    }
}

/// A Key Material's bytes: the byte string itself, or the TTLV encoding of the
/// structure.
fn encode_material(m: &KeyMaterial) -> Vec<u8> {
    match m {
        KeyMaterial::Bytes(b) => b.clone(),
        KeyMaterial::Transparent(_) => {
            binary::encode(&m.encode(Tag::KEY_MATERIAL, &object::storage_ctx()))
        }
    }
}

pub(crate) fn key_block(
    format: KeyFormatType,
    alg: Option<CryptographicAlgorithm>,
    bits: Option<i32>,
    material: Vec<u8>,
) -> KeyBlock {
    KeyBlock {
        key_format_type: format,
        key_compression_type: None,
        key_value: Some(KeyValue::plain(KeyMaterial::Bytes(material))),
        cryptographic_algorithm: alg,
        cryptographic_length: bits,
        key_wrapping_data: None,
        extensions: Vec::new(),
    }
}

pub(crate) fn new_obj(
    ctx: &OpCtx<'_>,
    uid: &str,
    object_type: ObjectType,
    attrs: Attributes,
    template: &ManagedObject,
    key_ref: Vec<u8>,
) -> Obj {
    Obj {
        rec: ObjectRecord {
            uid: uid.to_owned(),
            vault: ctx.vault.name.clone(),
            object_type: object_type.value(),
            state: State::PreActive.value(),
            attributes: Vec::new(),
            object: object::encode_template(template),
            names: Vec::new(),
            object_groups: Vec::new(),
            backend: ctx.backend.name().to_owned(),
            key_ref: Some(key_ref),
            created_at: ctx.now,
        },
        attrs,
    }
}

/// True for the Transparent key formats other than Transparent Symmetric Key: their
/// Key Material is a structure of several values (RSA, DSA, DH, EC, …).
fn structured_format(f: KeyFormatType) -> bool {
    f != KeyFormatType::TransparentSymmetricKey
        && f.name().is_some_and(|n| n.starts_with("Transparent"))
}

/// Splits a managed object into its template (secret bytes emptied) and the secret.
///
/// The secret of a Transparent asymmetric key (RSA, DSA, DH, EC) is the TTLV
/// encoding of its Key Material structure, so that Get returns exactly the
/// structure that was registered; its template keeps an empty Transparent
/// structure. A Transparent Symmetric Key keeps its key bytes as the secret.
pub fn split_secret(mut o: ManagedObject) -> Result<(ManagedObject, Secret), OpError> {
    let secret = match &mut o {
        ManagedObject::Certificate(c) => std::mem::take(&mut c.certificate_value),
        ManagedObject::OpaqueObject(c) => std::mem::take(&mut c.opaque_data_value),
        other => {
            let kb = other.key_block_mut().ok_or_else(|| {
                OpError::new(
                    ResultReason::FeatureNotSupported,
                    "object type not supported",
                )
            })?;
            if kb.key_wrapping_data.is_some() {
                return Err(OpError::new(
                    ResultReason::FeatureNotSupported,
                    "wrapped key material is unwrapped before it is stored (ops::wrap)",
                ));
            }
            let format = kb.key_format_type;
            match &mut kb.key_value {
                Some(KeyValue::Plain { key_material, .. }) => match key_material {
                    KeyMaterial::Bytes(b) => {
                        if !matches!(
                            format,
                            KeyFormatType::Raw
                                | KeyFormatType::Opaque
                                | KeyFormatType::Pkcs1
                                | KeyFormatType::Pkcs8
                                | KeyFormatType::X509
                                | KeyFormatType::EcPrivateKey
                        ) {
                            return Err(OpError::new(
                                ResultReason::KeyFormatTypeNotSupported,
                                format!("key format {format:?} is not supported"),
                            ));
                        }
                        std::mem::take(b)
                    }
                    KeyMaterial::Transparent(t)
                        if format == KeyFormatType::TransparentSymmetricKey =>
                    {
                        // The template keeps the registered format (an emptied
                        // Transparent structure): Get without a Key Format Type
                        // answers in it (OASIS BL-M-3-21).
                        t.key.take().ok_or_else(|| {
                            OpError::new(
                                ResultReason::InvalidField,
                                "Transparent Symmetric Key without Key",
                            )
                        })?
                    }
                    KeyMaterial::Transparent(_) if structured_format(format) => {
                        let encoded = encode_material(key_material);
                        *key_material = KeyMaterial::Transparent(Box::default());
                        encoded
                    }
                    KeyMaterial::Transparent(_) => {
                        return Err(OpError::new(
                            ResultReason::KeyFormatTypeNotSupported,
                            format!(
                                "key format {format:?} does not take a structured Key Material"
                            ),
                        ));
                    }
                },
                Some(KeyValue::Wrapped(_)) => {
                    return Err(OpError::new(
                        ResultReason::InvalidField,
                        "a wrapped Key Value without Key Wrapping Data",
                    ));
                }
                None => {
                    return Err(OpError::new(
                        ResultReason::InvalidField,
                        "Key Value missing",
                    ));
                }
            }
        }
    };
    Ok((o, Zeroizing::new(secret)))
}

/// The inverse of [`split_secret`]: puts the secret back into a template.
pub fn fill_secret(mut o: ManagedObject, secret: &[u8]) -> Result<ManagedObject, OpError> {
    match &mut o {
        ManagedObject::Certificate(c) => c.certificate_value = secret.to_vec(),
        ManagedObject::OpaqueObject(c) => c.opaque_data_value = secret.to_vec(),
        other => {
            if let Some(kb) = other.key_block_mut() {
                let structured = structured_format(kb.key_format_type);
                match &mut kb.key_value {
                    Some(KeyValue::Plain {
                        key_material: key_material @ KeyMaterial::Transparent(_),
                        ..
                    }) if structured => *key_material = decode_material(secret)?,
                    Some(KeyValue::Plain {
                        key_material: KeyMaterial::Transparent(t),
                        ..
                    }) => t.key = Some(secret.to_vec()),
                    Some(KeyValue::Plain { key_material, .. }) => {
                        *key_material = KeyMaterial::Bytes(secret.to_vec())
                    }
                    _ => kb.key_value = Some(KeyValue::plain(KeyMaterial::Bytes(secret.to_vec()))),
                }
            }
        }
    }
    Ok(o)
}

/// Decodes a structured Key Material stored by [`split_secret`].
fn decode_material(secret: &[u8]) -> Result<KeyMaterial, OpError> {
    let corrupt = |_| {
        tracing::error!("stored Transparent key material does not decode");
        OpError::new(ResultReason::GeneralFailure, "stored object is corrupt")
    };
    let t: Ttlv = binary::decode(secret, &Limits::DEFAULT).map_err(corrupt)?;
    KeyMaterial::decode(&t, &object::storage_ctx()).map_err(corrupt)
}
