//! Loading and saving managed objects, and the attribute rules every operation
//! shares (server-managed attributes, lifecycle state from dates).

use super::attributes::reason;
use super::{OpCtx, OpError};
use crate::store::ObjectRecord;
use kmip::messages::codec::{Codec, Ctx, DateTime};
use kmip::messages::objects::ManagedObject;
use kmip::messages::{Attribute, Attributes, Name};
use kmip::ttlv::{binary, Limits, Tag, Ttlv, Value};
use kmip::types::{ObjectType, ResultReason, State};
use kmip::version::ProtocolVersion;

/// A managed object as the operations see it.
#[derive(Debug, Clone)]
pub struct Obj {
    /// The stored row.
    pub rec: ObjectRecord,
    /// Decoded attributes.
    pub attrs: Attributes,
}

/// Attributes only the server sets (KMIP 1.4 §3, "Server" in the "Set by" rows).
/// A client naming one of them in Create/Register/Add/Modify gets an error.
pub const SERVER_ONLY: &[Tag] = &[
    Tag::UNIQUE_IDENTIFIER,
    Tag::OBJECT_TYPE,
    Tag::STATE,
    Tag::INITIAL_DATE,
    Tag::LAST_CHANGE_DATE,
    Tag::ORIGINAL_CREATION_DATE,
    Tag::DESTROY_DATE,
    Tag::COMPROMISE_DATE,
    Tag::ARCHIVE_DATE,
    Tag::REVOCATION_REASON,
    Tag::DIGEST,
    Tag::FRESH,
    Tag::KEY_VALUE_PRESENT,
    Tag::ALWAYS_SENSITIVE,
    Tag::NEVER_EXTRACTABLE,
    Tag::LEASE_TIME,
    Tag::CERTIFICATE_TYPE,
    Tag::CERTIFICATE_LENGTH,
];

/// Attributes that may have several instances (KMIP 1.4 §3, "Multiple instances
/// permitted"); every other standard attribute is single-valued. Vendor attributes
/// are multi-valued.
pub const MULTI_VALUED: &[Tag] = &[
    Tag::NAME,
    Tag::OBJECT_GROUP,
    Tag::LINK,
    Tag::APPLICATION_SPECIFIC_INFORMATION,
    Tag::ALTERNATIVE_NAME,
    Tag::KEY_VALUE_LOCATION,
    Tag::CRYPTOGRAPHIC_PARAMETERS,
    Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
    Tag::DIGEST,
];

/// The context used for the storage encoding (always the internal 2.x shape).
pub fn storage_ctx() -> Ctx {
    Ctx::new(ProtocolVersion::LATEST)
}

/// A fresh Unique Identifier: a random UUID (version 4).
pub fn new_uid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Associated data binding a backend reference to its object.
pub fn aad(vault: &str, uid: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(vault.len() + uid.len() + 1);
    v.extend_from_slice(vault.as_bytes());
    v.push(0);
    v.extend_from_slice(uid.as_bytes());
    v
}

/// Resolves the request's UID or the batch's ID placeholder.
pub fn resolve_uid(ctx: &OpCtx<'_>, uid: &Option<String>) -> Result<String, OpError> {
    uid.clone()
        .or_else(|| ctx.id_placeholder.clone())
        .ok_or_else(|| {
            OpError::new(
                ResultReason::InvalidField,
                "no Unique Identifier and no ID placeholder",
            )
        })
}

/// Loads an object of the caller's vault. An object of another vault is not found
/// exactly like a UID that does not exist (`ObjectNotFound` in 2.x, `ItemNotFound`
/// in 1.x, which has no such reason): existence never leaks.
pub fn load(ctx: &mut OpCtx<'_>, uid: &Option<String>) -> Result<Obj, OpError> {
    let uid = resolve_uid(ctx, uid)?;
    let rec = ctx.txn.get(&ctx.vault.name, &uid)?.ok_or_else(|| {
        OpError::new(
            reason(
                ctx.version,
                ResultReason::ObjectNotFound,
                ResultReason::ItemNotFound,
            ),
            "no such object",
        )
    })?;
    let attrs = decode_attributes(&rec.attributes)?;
    ctx.touched.push(uid);
    Ok(Obj { rec, attrs })
}

/// Decodes a stored row (used by Locate, which reads rows in bulk).
pub fn load_record(rec: ObjectRecord) -> Result<Obj, OpError> {
    let attrs = decode_attributes(&rec.attributes)?;
    Ok(Obj { rec, attrs })
}

fn decode_attributes(bytes: &[u8]) -> Result<Attributes, OpError> {
    let t = binary::decode(bytes, &Limits::DEFAULT).map_err(|_| corrupt())?;
    Attributes::from_ttlv(&t).map_err(|_| corrupt())
}

fn corrupt() -> OpError {
    tracing::error!("stored object does not decode");
    OpError::new(ResultReason::GeneralFailure, "stored object is corrupt")
}

/// The stored object template (the managed object without its secret bytes).
pub fn template(obj: &Obj) -> Result<Option<ManagedObject>, OpError> {
    if obj.rec.object.is_empty() {
        return Ok(None);
    }
    let t = binary::decode(&obj.rec.object, &Limits::DEFAULT).map_err(|_| corrupt())?;
    ManagedObject::from_ttlv(&t, &storage_ctx()).map_err(|_| corrupt())
}

/// Encodes a template for storage.
pub fn encode_template(o: &ManagedObject) -> Vec<u8> {
    binary::encode(&o.encode(&storage_ctx()))
}

/// Refreshes the record's indexed columns from the attributes and stamps Last
/// Change Date.
pub fn sync_record(ctx: &OpCtx<'_>, obj: &mut Obj) {
    obj.attrs
        .set(Tag::LAST_CHANGE_DATE, Value::DateTime(ctx.now));
    obj.rec.state = obj
        .attrs
        .state()
        .map_or(State::PreActive.value(), State::value);
    obj.rec.names = obj.attrs.names().into_iter().map(|n| n.value).collect();
    obj.rec.object_groups = obj
        .attrs
        .all(Tag::OBJECT_GROUP)
        .filter_map(|t| match &t.value {
            Value::TextString(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    obj.rec.attributes = binary::encode(&obj.attrs.to_ttlv());
}

/// Writes an existing object back.
pub fn save(ctx: &mut OpCtx<'_>, obj: &mut Obj) -> Result<(), OpError> {
    sync_record(ctx, obj);
    ctx.txn.update(&obj.rec)?;
    Ok(())
}

/// Inserts a new object.
pub fn insert(ctx: &mut OpCtx<'_>, obj: &mut Obj) -> Result<(), OpError> {
    sync_record(ctx, obj);
    ctx.txn.insert(&obj.rec)?;
    ctx.touched.push(obj.rec.uid.clone());
    ctx.id_placeholder = Some(obj.rec.uid.clone());
    Ok(())
}

/// Checks client-supplied attributes: no server-only attribute, every value of the
/// type its tag carries, single-valued attributes at most once.
pub fn check_client_attributes(attrs: &Attributes) -> Result<(), OpError> {
    let mut seen = Vec::new();
    for a in &attrs.items {
        let Attribute::Standard(t) = a else { continue };
        if SERVER_ONLY.contains(&t.tag) {
            return Err(OpError::new(
                ResultReason::InvalidField,
                format!("attribute {} is set by the server", t.tag),
            ));
        }
        if !MULTI_VALUED.contains(&t.tag) {
            if seen.contains(&t.tag) {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    format!("attribute {} given twice", t.tag),
                ));
            }
            seen.push(t.tag);
        }
        if t.tag == Tag::NAME {
            Name::decode(t, &storage_ctx())
                .map_err(|e| OpError::new(ResultReason::InvalidField, format!("bad Name: {e}")))?;
        }
    }
    Ok(())
}

/// The attribute set of a new object: the client's attributes plus the
/// server-managed ones. State follows the Activation Date.
pub fn new_attributes(
    ctx: &OpCtx<'_>,
    uid: &str,
    object_type: ObjectType,
    client: &Attributes,
) -> Result<Attributes, OpError> {
    check_client_attributes(client)?;
    let mut a = Attributes::new(Vec::new());
    a.push(Attribute::standard(
        Tag::UNIQUE_IDENTIFIER,
        Value::TextString(uid.to_owned()),
    ));
    a.push(Attribute::standard(
        Tag::OBJECT_TYPE,
        Value::Enumeration(object_type.value()),
    ));
    for item in &client.items {
        a.push(item.clone());
    }
    let activation = date(&a, Tag::ACTIVATION_DATE);
    let state = match activation {
        Some(d) if d <= ctx.now => State::Active,
        _ => State::PreActive,
    };
    a.set(Tag::STATE, Value::Enumeration(state.value()));
    a.set(Tag::INITIAL_DATE, Value::DateTime(ctx.now));
    a.set(Tag::ORIGINAL_CREATION_DATE, Value::DateTime(ctx.now));
    a.set(Tag::LAST_CHANGE_DATE, Value::DateTime(ctx.now));
    a.set(Tag::FRESH, Value::Boolean(true));
    Ok(a)
}

/// A DateTime attribute's value.
pub fn date(a: &Attributes, tag: Tag) -> Option<i64> {
    a.typed::<DateTime>(tag).and_then(Result::ok).map(|d| d.0)
}

/// A boolean attribute's value.
pub fn flag(a: &Attributes, tag: Tag) -> Option<bool> {
    match a.get(tag).map(|t| &t.value) {
        Some(Value::Boolean(b)) => Some(*b),
        _ => None,
    }
}

/// The object's state.
pub fn state(obj: &Obj) -> State {
    State::from_value(obj.rec.state)
}

/// A new Link attribute value.
pub fn link(kind: kmip::types::LinkType, target: &str) -> Value {
    Value::Structure(vec![
        Ttlv::new(Tag::LINK_TYPE, Value::Enumeration(kind.value())),
        Ttlv::new(
            Tag::LINKED_OBJECT_IDENTIFIER,
            Value::TextString(target.to_owned()),
        ),
    ])
}

/// True for the object types whose material is secret.
pub fn is_secret_type(t: ObjectType) -> bool {
    matches!(
        t,
        ObjectType::SymmetricKey
            | ObjectType::PrivateKey
            | ObjectType::SecretData
            | ObjectType::SplitKey
    )
}

/// Rejects use of an archived object (KMIP 1.4 §4.22: it must be recovered first).
pub fn not_archived(obj: &Obj) -> Result<(), OpError> {
    if obj.attrs.get(Tag::ARCHIVE_DATE).is_some() {
        return Err(OpError::new(
            ResultReason::ObjectArchived,
            "object is archived; Recover it first",
        ));
    }
    Ok(())
}
