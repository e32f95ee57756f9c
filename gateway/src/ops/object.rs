//! Loading and saving managed objects, and the attribute rules every operation
//! shares (server-managed attributes, lifecycle state from dates).

use super::attributes::reason;
use super::{OpCtx, OpError};
use crate::store::{ObjectFilter, ObjectRecord, StoreError};
use kmip::messages::codec::{Codec, Ctx, DateTime};
use kmip::messages::objects::ManagedObject;
use kmip::messages::{Attribute, Attributes, Name};
use kmip::ttlv::{binary, Limits, Tag, Ttlv, Value};
use kmip::types::{
    HashingAlgorithm, KeyFormatType, ObjectType, ProtectionStorageMask, RNGAlgorithm, ResultReason,
    State,
};
use kmip::version::ProtocolVersion;
use sha2::{Digest as _, Sha256};

/// A managed object as the operations see it.
#[derive(Debug, Clone)]
pub struct Obj {
    /// The stored row.
    pub rec: ObjectRecord,
    /// Decoded attributes.
    pub attrs: Attributes,
}

/// Attributes only the server sets (KMIP 1.4 §3 and 2.1 §4, "Initially set by:
/// Server" and not modifiable by the client). A client naming one of them in
/// Create/Register/Add/Modify/Set/Delete gets an error.
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
    Tag::KEY_VALUE_PRESENT,
    Tag::ALWAYS_SENSITIVE,
    Tag::NEVER_EXTRACTABLE,
    Tag::LEASE_TIME,
    Tag::CERTIFICATE_TYPE,
    Tag::CERTIFICATE_LENGTH,
    Tag::DIGITAL_SIGNATURE_ALGORITHM,
    Tag::X_509_CERTIFICATE_IDENTIFIER,
    Tag::X_509_CERTIFICATE_SUBJECT,
    Tag::X_509_CERTIFICATE_ISSUER,
    Tag::CERTIFICATE_SUBJECT_CN,
    Tag::CERTIFICATE_SUBJECT_O,
    Tag::CERTIFICATE_SUBJECT_OU,
    Tag::CERTIFICATE_SUBJECT_EMAIL,
    Tag::CERTIFICATE_SUBJECT_C,
    Tag::CERTIFICATE_SUBJECT_ST,
    Tag::CERTIFICATE_SUBJECT_L,
    Tag::CERTIFICATE_SUBJECT_UID,
    Tag::CERTIFICATE_SUBJECT_SERIAL_NUMBER,
    Tag::CERTIFICATE_SUBJECT_TITLE,
    Tag::CERTIFICATE_SUBJECT_DC,
    Tag::CERTIFICATE_SUBJECT_DN_QUALIFIER,
    Tag::CERTIFICATE_ISSUER_CN,
    Tag::CERTIFICATE_ISSUER_O,
    Tag::CERTIFICATE_ISSUER_OU,
    Tag::CERTIFICATE_ISSUER_EMAIL,
    Tag::CERTIFICATE_ISSUER_C,
    Tag::CERTIFICATE_ISSUER_ST,
    Tag::CERTIFICATE_ISSUER_L,
    Tag::CERTIFICATE_ISSUER_UID,
    Tag::CERTIFICATE_ISSUER_SERIAL_NUMBER,
    Tag::CERTIFICATE_ISSUER_TITLE,
    Tag::CERTIFICATE_ISSUER_DC,
    Tag::CERTIFICATE_ISSUER_DN_QUALIFIER,
    Tag::SHORT_UNIQUE_IDENTIFIER,
    Tag::KEY_FORMAT_TYPE,
    Tag::PROTECTION_STORAGE_MASK,
];

/// Attributes a client may give when the object is made (Create/Register) but
/// never change afterwards: Fresh (1.4 §3.34, "Client or Server", not modifiable by
/// the client) and Random Number Generator (1.4 §3.44: the client's RNG for a key it
/// generated and registers; may be added later when absent, never updated or
/// deleted).
pub const SET_ONCE: &[Tag] = &[Tag::FRESH, Tag::RANDOM_NUMBER_GENERATOR];

/// Attributes of the internal (2.x) model whose tags exist in 1.x but which are not
/// 1.x *attributes*: the 2.0 Key Format Type attribute and the 2.0 per-field
/// certificate name attributes (1.4 has their tags, not the attributes). A 1.x
/// client never sees them in Get Attributes / Get Attribute List.
const NOT_V1_ATTRIBUTES: &[Tag] = &[
    Tag::KEY_FORMAT_TYPE,
    Tag::CERTIFICATE_SUBJECT_CN,
    Tag::CERTIFICATE_SUBJECT_O,
    Tag::CERTIFICATE_SUBJECT_OU,
    Tag::CERTIFICATE_SUBJECT_EMAIL,
    Tag::CERTIFICATE_SUBJECT_C,
    Tag::CERTIFICATE_SUBJECT_ST,
    Tag::CERTIFICATE_SUBJECT_L,
    Tag::CERTIFICATE_SUBJECT_UID,
    Tag::CERTIFICATE_SUBJECT_SERIAL_NUMBER,
    Tag::CERTIFICATE_SUBJECT_TITLE,
    Tag::CERTIFICATE_SUBJECT_DC,
    Tag::CERTIFICATE_SUBJECT_DN_QUALIFIER,
    Tag::CERTIFICATE_ISSUER_CN,
    Tag::CERTIFICATE_ISSUER_O,
    Tag::CERTIFICATE_ISSUER_OU,
    Tag::CERTIFICATE_ISSUER_EMAIL,
    Tag::CERTIFICATE_ISSUER_C,
    Tag::CERTIFICATE_ISSUER_ST,
    Tag::CERTIFICATE_ISSUER_L,
    Tag::CERTIFICATE_ISSUER_UID,
    Tag::CERTIFICATE_ISSUER_SERIAL_NUMBER,
    Tag::CERTIFICATE_ISSUER_TITLE,
    Tag::CERTIFICATE_ISSUER_DC,
    Tag::CERTIFICATE_ISSUER_DN_QUALIFIER,
];

/// True when `a` is an attribute of `version` as far as attribute listings go (the
/// version gate removes tags a version lacks; this removes the 2.x-only attributes
/// whose tags 1.x has for other uses).
pub fn visible(version: ProtocolVersion, a: &Attribute) -> bool {
    match a {
        Attribute::Standard(t) => !(version.is_v1() && NOT_V1_ATTRIBUTES.contains(&t.tag)),
        Attribute::Vendor { .. } => true,
    }
}

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
    load_as(ctx, uid, false)
}

/// [`load`] for a request that only reads the object (a cryptographic operation
/// with a key): concurrent such requests on one key run side by side (`Txn::read`).
pub fn load_shared(ctx: &mut OpCtx<'_>, uid: &Option<String>) -> Result<Obj, OpError> {
    load_as(ctx, uid, true)
}

fn load_as(ctx: &mut OpCtx<'_>, uid: &Option<String>, shared: bool) -> Result<Obj, OpError> {
    let uid = resolve_uid(ctx, uid)?;
    let rec = if shared {
        ctx.txn.read(&ctx.vault.name, &uid)?
    } else {
        ctx.txn.get(&ctx.vault.name, &uid)?
    };
    let rec = rec.ok_or_else(|| {
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

/// [`save`], except that a conflict with another transaction that read the
/// object and is writing it is not an error: `Ok(false)`, nothing written.
pub fn save_unless_conflict(ctx: &mut OpCtx<'_>, obj: &mut Obj) -> Result<bool, OpError> {
    sync_record(ctx, obj);
    match ctx.txn.update(&obj.rec) {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
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
    // Usage Limits (1.4 §3.21): the count starts at the total; a count the client
    // sent is ignored.
    if let Some(limits) = a.get(Tag::USAGE_LIMITS).cloned() {
        let total = limits.child(Tag::USAGE_LIMITS_TOTAL).cloned();
        let mut children: Vec<Ttlv> = limits
            .children()
            .iter()
            .filter(|c| c.tag != Tag::USAGE_LIMITS_COUNT)
            .cloned()
            .collect();
        if let Some(total) = total {
            let at = children
                .iter()
                .position(|c| c.tag == Tag::USAGE_LIMITS_TOTAL)
                .map_or(0, |i| i + 1);
            children.insert(at, Ttlv::new(Tag::USAGE_LIMITS_COUNT, total.value));
        }
        a.set(Tag::USAGE_LIMITS, Value::Structure(children));
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
    // Fresh (1.4 §3.34): true for a new object unless the client registering it
    // says otherwise.
    if flag(&a, Tag::FRESH).is_none() {
        a.set(Tag::FRESH, Value::Boolean(true));
    }
    Ok(a)
}

/// What the server knows about a new object's material, for the attributes it
/// derives from it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Material<'a> {
    /// The bytes the Digest is computed on (1.4 §3.17): the Key Material when it is
    /// a byte string, the TTLV encoding of a structured (Transparent) Key Material,
    /// the Certificate Value, or the Opaque Data Value. `None` when the server has
    /// no access to the material (then there is no Digest).
    pub digest_input: Option<&'a [u8]>,
    /// The Key Format Type of a key or secret data as registered or generated:
    /// the Digest's Key Format Type and the 2.x Key Format Type attribute.
    pub format: Option<KeyFormatType>,
    /// The server generated the material (Create, Re-key): it sets Random Number
    /// Generator (1.4 §3.44).
    pub generated: bool,
}

/// The Random Number Generator the server generates keys with (1.4 §2.1.18,
/// §3.44). Keys come from the operating system's CSPRNG (`getrandom`, through the
/// key backend); that generator is none of the algorithms the RNG Algorithm
/// enumeration names (FIPS 186-2, SP 800-90A DRBG, NRBG, ANSI X9.31, X9.62), and
/// the specification's rule for that case is Unspecified with no further fields.
pub fn server_rng() -> Value {
    Value::Structure(vec![Ttlv::new(
        Tag::RNG_ALGORITHM,
        Value::Enumeration(RNGAlgorithm::Unspecified.value()),
    )])
}

/// Sets the attributes the server derives for a new object (after the client's
/// attributes and the export policy are in place): Short Unique Identifier (2.x),
/// Digest, Key Format Type (2.x), Protection Storage Mask (2.x), Always Sensitive,
/// Never Extractable and, for generated material, Random Number Generator.
pub fn server_attributes(ctx: &OpCtx<'_>, attrs: &mut Attributes, uid: &str, m: Material<'_>) {
    // 2.0 Short Unique Identifier: the SHA-256 of the Unique Identifier.
    attrs.set(
        Tag::SHORT_UNIQUE_IDENTIFIER,
        Value::ByteString(Sha256::digest(uid.as_bytes()).to_vec()),
    );
    attrs.remove(Tag::DIGEST);
    if let Some(input) = m.digest_input {
        let mut d = vec![
            Ttlv::new(
                Tag::HASHING_ALGORITHM,
                Value::Enumeration(HashingAlgorithm::Sha256.value()),
            ),
            Ttlv::new(
                Tag::DIGEST_VALUE,
                Value::ByteString(Sha256::digest(input).to_vec()),
            ),
        ];
        if let Some(f) = m.format {
            d.push(Ttlv::new(
                Tag::KEY_FORMAT_TYPE,
                Value::Enumeration(f.value()),
            ));
        }
        attrs.push(Attribute::standard(Tag::DIGEST, Value::Structure(d)));
    }
    if let Some(f) = m.format {
        attrs.set(Tag::KEY_FORMAT_TYPE, Value::Enumeration(f.value()));
    }
    // Where the material is protected: the built-in keystore is software; every
    // other backend is a PKCS#11 token, where the key is used (and, in wrapped
    // placement, its KEK lives): hardware.
    let protection = if ctx.backend.name() == crate::config::SOFTWARE_BACKEND {
        ProtectionStorageMask::Software
    } else {
        ProtectionStorageMask::Hardware
    };
    attrs.set(
        Tag::PROTECTION_STORAGE_MASK,
        Value::Integer(i32::try_from(protection.value()).unwrap_or(i32::MAX)),
    );
    if m.generated {
        attrs.set(Tag::RANDOM_NUMBER_GENERATOR, server_rng());
    }
    attrs.set(
        Tag::ALWAYS_SENSITIVE,
        Value::Boolean(flag(attrs, Tag::SENSITIVE) == Some(true)),
    );
    attrs.set(
        Tag::NEVER_EXTRACTABLE,
        Value::Boolean(flag(attrs, Tag::EXTRACTABLE) == Some(false)),
    );
}

/// Keeps Always Sensitive and Never Extractable true to their definition (1.4
/// §3.49, §3.51) after a client changed Sensitive or Extractable: once Sensitive
/// has been false, Always Sensitive is false for good; once Extractable has been
/// true, Never Extractable is false for good.
pub fn track_export_history(attrs: &mut Attributes) {
    if flag(attrs, Tag::SENSITIVE) == Some(false) {
        attrs.set(Tag::ALWAYS_SENSITIVE, Value::Boolean(false));
    }
    if flag(attrs, Tag::EXTRACTABLE) == Some(true) {
        attrs.set(Tag::NEVER_EXTRACTABLE, Value::Boolean(false));
    }
}

/// The state transitions that dates cause when a client changes them (1.4 §3.22,
/// transitions 4 and 6): a Pre-Active object whose Activation Date is now or past is
/// Active; an Active object whose Deactivation Date is now or past is Deactivated.
pub fn apply_dates(now: i64, attrs: &mut Attributes) {
    let due = |attrs: &Attributes, tag| date(attrs, tag).is_some_and(|d| d <= now);
    if attrs.state() == Some(State::PreActive) && due(attrs, Tag::ACTIVATION_DATE) {
        attrs.set(Tag::STATE, Value::Enumeration(State::Active.value()));
    }
    if attrs.state() == Some(State::Active) && due(attrs, Tag::DEACTIVATION_DATE) {
        attrs.set(Tag::STATE, Value::Enumeration(State::Deactivated.value()));
    }
}

/// Refuses a Name already in use in the vault, by this object or another object
/// that is not destroyed, for the attribute operations (1.4 §3.2 "Names SHALL be unique within a given key
/// management domain"; §11.15, §11.16: Illegal Operation, 2.x Non Unique Name
/// Attribute).
///
/// Create and Register do not call this: the versions Re-key makes share their
/// predecessor's name by design (Locate answers newest first), and clients that
/// register a key again under its name keep working (CONFORMANCE.md).
pub fn check_name_unique(ctx: &mut OpCtx<'_>, name: &str) -> Result<(), OpError> {
    let filter = ObjectFilter {
        name: Some(name.to_owned()),
        ..ObjectFilter::default()
    };
    // A destroyed object keeps its metadata, but its name no longer names a key
    // anyone can use: a client replacing it (Synology re-creating a volume key)
    // may take the name again.
    let destroyed = [
        State::Destroyed.value(),
        State::DestroyedCompromised.value(),
    ];
    let holders = ctx.txn.list(&ctx.vault.name, &filter)?;
    if holders.iter().all(|r| destroyed.contains(&r.state)) {
        return Ok(());
    }
    Err(OpError::new(
        reason(
            ctx.version,
            ResultReason::NonUniqueNameAttribute,
            ResultReason::IllegalOperation,
        ),
        format!("the name {name:?} is already in use"),
    ))
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

/// An operation the object's lifecycle state does not allow: 2.x Wrong Key
/// Lifecycle State; 1.x has no such reason and its error tables (1.4 §11.16,
/// §11.20, §11.22) answer Permission Denied.
pub fn wrong_state(version: ProtocolVersion, what: &str) -> OpError {
    OpError::new(
        reason(
            version,
            ResultReason::WrongKeyLifecycleState,
            ResultReason::PermissionDenied,
        ),
        what,
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

/// The attributes Re-key (Key Pair) carries from an existing key to its
/// replacement (KMIP 1.4 §4.4, §4.5): the client's, without the Links and the dates.
pub fn carried(old: &Attributes) -> Attributes {
    let mut out = Attributes::default();
    for a in &old.items {
        let keep = match a {
            Attribute::Standard(t) => {
                !SERVER_ONLY.contains(&t.tag)
                    && !SET_ONCE.contains(&t.tag)
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
        if keep {
            out.push(a.clone());
        }
    }
    out
}
