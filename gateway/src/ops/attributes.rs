//! Attribute operations: Get Attributes (KMIP 1.4 §4.12), Get Attribute List
//! (§4.13), Add (§4.14), Modify (§4.15), Delete (§4.16), Set (2.1 §6.1.49).

use super::object::{self, Obj, MULTI_VALUED, SERVER_ONLY, SET_ONCE};
use super::{OpCtx, OpError};
use kmip::messages::attributes::{AttributeReference, AttributeReferences, SingleAttribute};
use kmip::messages::codec::Codec;
use kmip::messages::payloads::{
    AddAttributeRequest, AttributeChangeResponse, DeleteAttributeRequest, GetAttributeListRequest,
    GetAttributeListResponse, GetAttributesRequest, GetAttributesResponse, ModifyAttributeRequest,
    SetAttributeRequest, SetAttributeResponse,
};
use kmip::messages::Name;
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::{ResultReason, State};
use kmip::version::ProtocolVersion;

/// Get Attributes: the named attributes, or all of them when none is named.
pub fn get_attributes(
    ctx: &mut OpCtx<'_>,
    req: &GetAttributesRequest,
) -> Result<GetAttributesResponse, OpError> {
    let obj = object::load(ctx, &req.unique_identifier)?;
    let items = obj
        .attrs
        .items
        .iter()
        .filter(|a| object::visible(ctx.version, a))
        .filter(|a| req.references.0.is_empty() || req.references.0.contains(&a.reference()))
        .cloned()
        .collect();
    Ok(GetAttributesResponse {
        unique_identifier: obj.rec.uid,
        attributes: Attributes::new(items),
        extensions: Vec::new(),
    })
}

/// Get Attribute List: the names of the object's attributes, each once.
pub fn get_attribute_list(
    ctx: &mut OpCtx<'_>,
    req: &GetAttributeListRequest,
) -> Result<GetAttributeListResponse, OpError> {
    let obj = object::load(ctx, &req.unique_identifier)?;
    let mut refs: Vec<AttributeReference> = Vec::new();
    for a in obj
        .attrs
        .items
        .iter()
        .filter(|a| object::visible(ctx.version, a))
    {
        let r = a.reference();
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    Ok(GetAttributeListResponse {
        unique_identifier: obj.rec.uid,
        references: AttributeReferences(refs),
        extensions: Vec::new(),
    })
}

/// Add Attribute: a new instance. Single-valued attributes that already exist and
/// server-set attributes are refused.
pub fn add_attribute(
    ctx: &mut OpCtx<'_>,
    req: &AddAttributeRequest,
) -> Result<AttributeChangeResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    let a = &req.attribute.0;
    check_writable(ctx.version, a, Change::Add)?;
    check_value(ctx, &obj, a, None)?;
    if let Attribute::Standard(t) = a {
        if !MULTI_VALUED.contains(&t.tag) && obj.attrs.get(t.tag).is_some() {
            return Err(OpError::new(
                reason(
                    ctx.version,
                    ResultReason::AttributeSingleValued,
                    ResultReason::IllegalOperation,
                ),
                format!("{} is single-valued and already set", t.tag),
            ));
        }
    }
    obj.attrs.push(a.clone());
    finish(ctx, obj, Some(a.clone()))
}

/// Modify Attribute: replaces an existing instance (the one equal to Current
/// Attribute in 2.x, else the first).
pub fn modify_attribute(
    ctx: &mut OpCtx<'_>,
    req: &ModifyAttributeRequest,
) -> Result<AttributeChangeResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    let new = &req.new_attribute.0;
    check_writable(ctx.version, new, Change::Modify)?;
    let target = new.reference();
    let pos = match &req.current_attribute {
        Some(SingleAttribute(cur)) => obj.attrs.items.iter().position(|a| a == cur),
        None => obj.attrs.items.iter().position(|a| a.reference() == target),
    };
    let Some(pos) = pos else {
        return Err(OpError::new(
            reason(
                ctx.version,
                ResultReason::AttributeNotFound,
                ResultReason::InvalidField,
            ),
            "no such attribute instance to modify",
        ));
    };
    let replaced = obj.attrs.items[pos].clone();
    check_value(ctx, &obj, new, Some(&replaced))?;
    obj.attrs.items[pos] = new.clone();
    finish(ctx, obj, Some(new.clone()))
}

/// Delete Attribute: removes one instance (by value in 2.x, by name and index in
/// 1.x). Server-set attributes cannot be deleted.
pub fn delete_attribute(
    ctx: &mut OpCtx<'_>,
    req: &DeleteAttributeRequest,
) -> Result<AttributeChangeResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    let pos = if let Some(SingleAttribute(cur)) = &req.current_attribute {
        check_writable(ctx.version, cur, Change::Delete)?;
        obj.attrs.items.iter().position(|a| a == cur)
    } else if let Some(r) = &req.reference {
        if let AttributeReference::Standard(tag) = r {
            if !deletable(*tag) {
                return Err(read_only(ctx.version, *tag));
            }
        }
        let index = usize::try_from(req.attribute_index.unwrap_or(0)).unwrap_or(usize::MAX);
        obj.attrs
            .items
            .iter()
            .enumerate()
            .filter(|(_, a)| &a.reference() == r)
            .nth(index)
            .map(|(i, _)| i)
    } else {
        return Err(OpError::new(
            ResultReason::InvalidField,
            "name the attribute to delete",
        ));
    };
    let Some(pos) = pos else {
        return Err(OpError::new(
            reason(
                ctx.version,
                ResultReason::AttributeNotFound,
                ResultReason::InvalidField,
            ),
            "no such attribute instance to delete",
        ));
    };
    let removed = obj.attrs.items.remove(pos);
    finish(ctx, obj, Some(removed))
}

/// Set Attribute (2.x): sets a single-valued attribute, replacing any value.
pub fn set_attribute(
    ctx: &mut OpCtx<'_>,
    req: &SetAttributeRequest,
) -> Result<SetAttributeResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    let new = &req.new_attribute.0;
    check_writable(ctx.version, new, Change::Set)?;
    check_value(ctx, &obj, new, None)?;
    match new {
        Attribute::Standard(t) if MULTI_VALUED.contains(&t.tag) => {
            return Err(OpError::new(
                ResultReason::MultiValuedAttribute,
                format!("{} is multi-valued: use Add/Modify", t.tag),
            ));
        }
        Attribute::Standard(t) => obj.attrs.set(t.tag, t.value.clone()),
        Attribute::Vendor { .. } => {
            let r = new.reference();
            obj.attrs.items.retain(|a| a.reference() != r);
            obj.attrs.push(new.clone());
        }
    }
    object::track_export_history(&mut obj.attrs);
    object::apply_dates(ctx.now, &mut obj.attrs);
    let uid = obj.rec.uid.clone();
    object::save(ctx, &mut obj)?;
    Ok(SetAttributeResponse {
        unique_identifier: uid,
        extensions: Vec::new(),
    })
}

fn finish(
    ctx: &mut OpCtx<'_>,
    mut obj: Obj,
    echoed: Option<Attribute>,
) -> Result<AttributeChangeResponse, OpError> {
    object::track_export_history(&mut obj.attrs);
    object::apply_dates(ctx.now, &mut obj.attrs);
    let uid = obj.rec.uid.clone();
    object::save(ctx, &mut obj)?;
    Ok(AttributeChangeResponse {
        unique_identifier: uid,
        attribute: echoed.map(SingleAttribute),
        extensions: Vec::new(),
    })
}

/// The kind of attribute change a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Add,
    Modify,
    Set,
    Delete,
}

/// Refuses changes to attributes the client may not make (1.4 §3, "Modifiable by
/// client" / "Deletable by client"): server-set attributes, the key's algorithm and
/// length, Fresh, and Random Number Generator except its first Add (1.4 §3.44: a
/// registering client may add it later when it was not given).
fn check_writable(version: ProtocolVersion, a: &Attribute, change: Change) -> Result<(), OpError> {
    if let Attribute::Standard(t) = a {
        let refused = SERVER_ONLY.contains(&t.tag)
            || matches!(
                t.tag,
                Tag::CRYPTOGRAPHIC_ALGORITHM | Tag::CRYPTOGRAPHIC_LENGTH
            )
            || (SET_ONCE.contains(&t.tag)
                && !(change == Change::Add && t.tag == Tag::RANDOM_NUMBER_GENERATOR))
            || (change == Change::Delete && !deletable(t.tag));
        if refused {
            return Err(read_only(version, t.tag));
        }
    }
    Ok(())
}

/// Attributes the client may delete: everything but what the server sets, the
/// set-once attributes, and those that SHALL always have a value.
fn deletable(tag: Tag) -> bool {
    !(SERVER_ONLY.contains(&tag)
        || SET_ONCE.contains(&tag)
        || matches!(
            tag,
            Tag::CRYPTOGRAPHIC_ALGORITHM
                | Tag::CRYPTOGRAPHIC_LENGTH
                | Tag::SENSITIVE
                | Tag::EXTRACTABLE
        ))
}

/// Checks a new attribute value against the rules that depend on the object and
/// the vault: a Name unique in the vault (`replaced` is the instance a Modify
/// overwrites, which may keep its own value), and Extractable true only where the
/// vault allows extractable keys (the vault's ceiling holds after creation too).
fn check_value(
    ctx: &mut OpCtx<'_>,
    obj: &Obj,
    new: &Attribute,
    replaced: Option<&Attribute>,
) -> Result<(), OpError> {
    let Attribute::Standard(t) = new else {
        return Ok(());
    };
    match t.tag {
        Tag::NAME => {
            let name = Name::decode(t, &object::storage_ctx())
                .map_err(|e| OpError::new(ResultReason::InvalidField, format!("bad Name: {e}")))?;
            if replaced == Some(new) {
                return Ok(());
            }
            object::check_name_unique(ctx, &name.value)
        }
        Tag::ACTIVATION_DATE if object::state(obj) != State::PreActive => Err(object::wrong_state(
            ctx.version,
            "the Activation Date can change only while the object is Pre-Active",
        )),
        Tag::DEACTIVATION_DATE | Tag::PROCESS_START_DATE | Tag::PROTECT_STOP_DATE
            if !matches!(object::state(obj), State::PreActive | State::Active)
                || obj
                    .attrs
                    .get(t.tag)
                    .filter(|_| t.tag != Tag::DEACTIVATION_DATE)
                    .and_then(|d| match d.value {
                        Value::DateTime(d) => Some(d <= ctx.now),
                        _ => None,
                    })
                    .unwrap_or(false) =>
        {
            // 1.4 §3.25-3.27: only while Pre-Active or Active, and the Process
            // Start / Protect Stop Date only until it is reached.
            Err(object::wrong_state(
                ctx.version,
                &format!("{} can no longer change", t.tag),
            ))
        }
        Tag::EXTRACTABLE
            if t.value == Value::Boolean(true)
                && object::is_secret_type(kmip::types::ObjectType::from_value(
                    obj.rec.object_type,
                ))
                && !ctx.vault.allow_extractable =>
        {
            Err(OpError::new(
                ResultReason::PermissionDenied,
                format!("vault {} does not allow extractable keys", ctx.vault.name),
            ))
        }
        _ => Ok(()),
    }
}

fn read_only(version: ProtocolVersion, tag: Tag) -> OpError {
    OpError::new(
        reason(
            version,
            ResultReason::AttributeReadOnly,
            ResultReason::PermissionDenied,
        ),
        format!("{tag} is set by the server"),
    )
}

/// `precise` when the client's version defines that result reason, else its
/// closest older equivalent `fallback` (a reason the version lacks must never reach
/// the client: the version gate would strip it and leave the item without one).
pub fn reason(
    version: ProtocolVersion,
    precise: ResultReason,
    fallback: ResultReason,
) -> ResultReason {
    if ResultReason::TABLE.defined_in(precise.value(), version) {
        precise
    } else {
        fallback
    }
}
