//! Create (KMIP 1.4 §4.1), Register (§4.3) and Re-key (§4.4).

use super::object::{self, aad, new_attributes, new_uid, Obj};
use super::{OpCtx, OpError};
use crate::store::ObjectRecord;
use kmip::messages::objects::{KeyBlock, KeyMaterial, KeyValue, ManagedObject, SymmetricKey};
use kmip::messages::payloads::{
    CreateRequest, CreateResponse, ReKeyRequest, ReKeyResponse, RegisterRequest, RegisterResponse,
};
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::{
    CryptographicAlgorithm, KeyFormatType, LinkType, ObjectType, ResultReason, State,
};
use zeroize::Zeroizing;

/// Create: a new symmetric key (AES 128/192/256, or an HMAC key) generated inside
/// the vault's backend.
pub fn create(ctx: &mut OpCtx<'_>, req: &CreateRequest) -> Result<CreateResponse, OpError> {
    if req.object_type != ObjectType::SymmetricKey {
        return Err(OpError::new(
            ResultReason::InvalidField,
            "Create makes symmetric keys; use Register or CreateKeyPair",
        ));
    }
    let (alg, bits) = symmetric_spec(&req.attributes)?;
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
    apply_export_policy(ctx, &mut attrs)?;
    let key_ref = ctx
        .backend
        .generate_secret(byte_len(bits), &aad(&ctx.vault.name, &uid))?;
    let template = ManagedObject::SymmetricKey(SymmetricKey {
        key_block: key_block(KeyFormatType::Raw, Some(alg), Some(bits), Vec::new()),
        extensions: Vec::new(),
    });
    let mut obj = new_obj(
        ctx,
        &uid,
        ObjectType::SymmetricKey,
        attrs,
        &template,
        key_ref.0,
    );
    object::insert(ctx, &mut obj)?;
    Ok(CreateResponse {
        object_type: ObjectType::SymmetricKey,
        unique_identifier: uid,
        extensions: Vec::new(),
    })
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
    let uid = new_uid();
    let mut client = req.attributes.clone();
    let mut derived = vec![(
        Tag::OBJECT_TYPE,
        Value::Enumeration(req.object_type.value()),
    )];
    if let ManagedObject::Certificate(c) = &req.object {
        // KMIP 1.4 §3.8, §3.9: set by the server from the certificate itself.
        derived.push((
            Tag::CERTIFICATE_TYPE,
            Value::Enumeration(c.certificate_type.value()),
        ));
        derived.push((
            Tag::CERTIFICATE_LENGTH,
            Value::Integer(i32::try_from(c.certificate_value.len()).unwrap_or(i32::MAX)),
        ));
    }
    drop_agreeing(&mut client, &derived);
    let (template, secret) = split_secret(req.object.clone())?;
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
    let mut attrs = new_attributes(ctx, &uid, req.object_type, &client)?;
    for (tag, value) in derived.into_iter().skip(1) {
        attrs.set(tag, value);
    }
    if object::is_secret_type(req.object_type) {
        apply_export_policy(ctx, &mut attrs)?;
    }
    let key_ref = ctx
        .backend
        .import_secret(&secret, &aad(&ctx.vault.name, &uid))?;
    let mut obj = new_obj(ctx, &uid, req.object_type, attrs, &template, key_ref.0);
    object::insert(ctx, &mut obj)?;
    Ok(RegisterResponse {
        unique_identifier: uid,
        extensions: Vec::new(),
    })
}

/// Re-key: a new symmetric key replacing an existing one. The new key takes the old
/// key's attributes (Name included, so the name resolves to the newest version),
/// dates are offset by the request's Offset, and the two are linked
/// Replacement/Replaced.
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
    let mut client = Attributes::default();
    for a in &old.attrs.items {
        let carried = match a {
            Attribute::Standard(t) => {
                !object::SERVER_ONLY.contains(&t.tag)
                    && !matches!(
                        t.tag,
                        Tag::LINK
                            | Tag::ACTIVATION_DATE
                            | Tag::DEACTIVATION_DATE
                            | Tag::PROCESS_START_DATE
                            | Tag::PROTECT_STOP_DATE
                            | Tag::COMPROMISE_OCCURRENCE_DATE
                    )
            }
            Attribute::Vendor { .. } => true,
        };
        if carried {
            client.push(a.clone());
        }
    }
    if let Some(extra) = &req.attributes {
        for a in &extra.items {
            if let Attribute::Standard(t) = a {
                if !object::MULTI_VALUED.contains(&t.tag) {
                    client.remove(t.tag);
                }
            }
            client.push(a.clone());
        }
    }
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
    let mut attrs = new_attributes(ctx, &uid, ObjectType::SymmetricKey, &client)?;
    attrs.push(Attribute::standard(
        Tag::LINK,
        object::link(LinkType::ReplacedObjectLink, &old.rec.uid),
    ));
    let key_ref = ctx
        .backend
        .generate_secret(byte_len(bits), &aad(&ctx.vault.name, &uid))?;
    let template = ManagedObject::SymmetricKey(SymmetricKey {
        key_block: key_block(KeyFormatType::Raw, Some(alg), Some(bits), Vec::new()),
        extensions: Vec::new(),
    });
    let mut obj = new_obj(
        ctx,
        &uid,
        ObjectType::SymmetricKey,
        attrs,
        &template,
        key_ref.0,
    );
    object::insert(ctx, &mut obj)?;
    old.attrs.push(Attribute::standard(
        Tag::LINK,
        object::link(LinkType::ReplacementObjectLink, &uid),
    ));
    object::save(ctx, &mut old)?;
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
    let bits = match alg {
        CryptographicAlgorithm::Aes => {
            let l = len.ok_or_else(|| {
                OpError::new(
                    ResultReason::InvalidField,
                    "Cryptographic Length is required for AES",
                )
            })?;
            if ![128, 192, 256].contains(&l) {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    format!("AES keys are 128, 192 or 256 bits, not {l}"),
                ));
            }
            l
        }
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

fn byte_len(bits: i32) -> usize {
    usize::try_from(bits / 8).unwrap_or(0)
}

/// Sets Extractable/Sensitive within the vault's policy: the vault's default when
/// the client says nothing, and never above the vault's ceiling.
fn apply_export_policy(ctx: &OpCtx<'_>, attrs: &mut Attributes) -> Result<(), OpError> {
    let asked = object::flag(attrs, Tag::EXTRACTABLE);
    let extractable =
        asked.unwrap_or(ctx.vault.extractable_by_default && ctx.vault.allow_extractable);
    if extractable && !ctx.vault.allow_extractable {
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

fn key_block(
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

fn new_obj(
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

/// Splits a managed object into its template (secret bytes emptied) and the secret.
pub fn split_secret(mut o: ManagedObject) -> Result<(ManagedObject, Zeroizing<Vec<u8>>), OpError> {
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
                    "registering wrapped key material is not supported yet",
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
                        let key = t.key.take().ok_or_else(|| {
                            OpError::new(
                                ResultReason::InvalidField,
                                "Transparent Symmetric Key without Key",
                            )
                        })?;
                        // The template keeps the registered format (an emptied
                        // Transparent structure): Get without a Key Format Type
                        // answers in it (OASIS BL-M-3-21).
                        key
                    }
                    KeyMaterial::Transparent(_) => {
                        return Err(OpError::new(
                            ResultReason::KeyFormatTypeNotSupported,
                            format!("key format {format:?} is not supported"),
                        ));
                    }
                },
                Some(KeyValue::Wrapped(_)) => {
                    return Err(OpError::new(
                        ResultReason::FeatureNotSupported,
                        "registering wrapped key material is not supported yet",
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
pub fn fill_secret(mut o: ManagedObject, secret: &[u8]) -> ManagedObject {
    match &mut o {
        ManagedObject::Certificate(c) => c.certificate_value = secret.to_vec(),
        ManagedObject::OpaqueObject(c) => c.opaque_data_value = secret.to_vec(),
        other => {
            if let Some(kb) = other.key_block_mut() {
                match &mut kb.key_value {
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
    o
}
