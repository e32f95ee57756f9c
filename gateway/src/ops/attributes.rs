//! Attribute operations: Get Attributes (KMIP 1.4 §4.12), Get Attribute List
//! (§4.13), Add (§4.14), Modify (§4.15), Delete (§4.16), Set (2.1 §6.1.49).

use super::object::{self, Obj, MULTI_VALUED, SERVER_ONLY};
use super::{OpCtx, OpError};
use kmip::messages::attributes::{AttributeReference, AttributeReferences, SingleAttribute};
use kmip::messages::payloads::{
    AddAttributeRequest, AttributeChangeResponse, DeleteAttributeRequest, GetAttributeListRequest,
    GetAttributeListResponse, GetAttributesRequest, GetAttributesResponse, ModifyAttributeRequest,
    SetAttributeRequest, SetAttributeResponse,
};
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::Tag;
use kmip::types::ResultReason;
use kmip::version::ProtocolVersion;

/// Get Attributes: the named attributes, or all of them when none is named.
pub fn get_attributes(
    ctx: &mut OpCtx<'_>,
    req: &GetAttributesRequest,
) -> Result<GetAttributesResponse, OpError> {
    let obj = object::load(ctx, &req.unique_identifier)?;
    let items = if req.references.0.is_empty() {
        obj.attrs.items.clone()
    } else {
        obj.attrs
            .items
            .iter()
            .filter(|a| req.references.0.contains(&a.reference()))
            .cloned()
            .collect()
    };
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
    for a in &obj.attrs.items {
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
    check_writable(ctx.version, a)?;
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
    check_writable(ctx.version, new)?;
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
        check_writable(ctx.version, cur)?;
        obj.attrs.items.iter().position(|a| a == cur)
    } else if let Some(r) = &req.reference {
        if let AttributeReference::Standard(tag) = r {
            if SERVER_ONLY.contains(tag) {
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
    check_writable(ctx.version, new)?;
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
    let uid = obj.rec.uid.clone();
    object::save(ctx, &mut obj)?;
    Ok(AttributeChangeResponse {
        unique_identifier: uid,
        attribute: echoed.map(SingleAttribute),
        extensions: Vec::new(),
    })
}

fn check_writable(version: ProtocolVersion, a: &Attribute) -> Result<(), OpError> {
    if let Attribute::Standard(t) = a {
        if SERVER_ONLY.contains(&t.tag)
            || matches!(
                t.tag,
                Tag::CRYPTOGRAPHIC_ALGORITHM | Tag::CRYPTOGRAPHIC_LENGTH
            )
        {
            return Err(read_only(version, t.tag));
        }
    }
    Ok(())
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
