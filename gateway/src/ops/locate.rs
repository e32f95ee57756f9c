//! Locate (KMIP 1.4 §4.9, 2.1 §6.1.27): search the caller's vault.
//!
//! Every requested attribute must match: equal value for most attributes, the
//! Name Value for Names, all requested bits for Cryptographic Usage Mask, and a
//! range when a date attribute is given twice. Results are newest first; with a
//! Name, the Active objects come first (so a name resolves to its newest active
//! version, ops::version); paged by Offset Items / Maximum Items.

use super::object::{self, Obj};
use super::{importkey, version};
use super::{OpCtx, OpError};
use crate::store::ObjectFilter;
use kmip::messages::codec::{Codec, Ctx};
use kmip::messages::payloads::{LocateRequest, LocateResponse};
use kmip::messages::{Attribute, Attributes, Name};
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{ObjectGroupMember, ObjectType, State, StorageStatusMask};
use kmip::version::ProtocolVersion;

/// Locate.
pub fn locate(ctx: &mut OpCtx<'_>, req: &LocateRequest) -> Result<LocateResponse, OpError> {
    let wanted = requested_attributes(req)?;
    if let [n] = wanted.names().as_slice() {
        if n.value == importkey::IMPORT_KEY_NAME {
            importkey::ensure(ctx)?;
        }
    }
    let mut filter = ObjectFilter::default();
    if let Some(Ok(t)) = wanted.typed::<ObjectType>(Tag::OBJECT_TYPE) {
        filter.object_type = Some(t.value());
    }
    if wanted.all(Tag::STATE).count() == 1 {
        if let Some(Ok(s)) = wanted.typed::<State>(Tag::STATE) {
            filter.state = Some(s.value());
        }
    }
    if let [n] = wanted.names().as_slice() {
        filter.name = Some(n.value.clone());
    }
    let storage = req
        .storage_status_mask
        .map_or(StorageStatusMask::OnLineStorage.value(), |m| m.0);
    let mut found = Vec::new();
    for rec in ctx.txn.list(&ctx.vault.name, &filter)? {
        let obj = object::load_record(rec)?;
        if !in_storage(&obj, storage, ctx.version) {
            continue;
        }
        if req.object_group_member == Some(ObjectGroupMember::GroupMemberFresh)
            && object::flag(&obj.attrs, Tag::FRESH) != Some(true)
        {
            continue;
        }
        if matches_all(&obj, &wanted) {
            let mut attrs = obj.attrs.clone();
            object::apply_dates(ctx.now, &mut attrs);
            found.push((obj.rec.uid, attrs.state().unwrap_or(State::PreActive)));
        }
    }
    found.reverse();
    // A name's versions: the Active ones first (ops::version).
    let found = if wanted.names().is_empty() {
        found.into_iter().map(|(u, _)| u).collect()
    } else {
        version::order(found)
    };
    let located = found.len();
    let offset = usize::try_from(req.offset_items.unwrap_or(0).max(0)).unwrap_or(0);
    let max = req
        .maximum_items
        .and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<String> = found.into_iter().skip(offset).take(max).collect();
    if let Some(first) = page.first() {
        ctx.id_placeholder = Some(first.clone());
    }
    ctx.touched.extend(page.iter().cloned());
    let paged = req.maximum_items.is_some() || req.offset_items.is_some();
    Ok(LocateResponse {
        located_items: paged.then(|| i32::try_from(located).unwrap_or(i32::MAX)),
        unique_identifiers: page,
        extensions: Vec::new(),
    })
}

/// The attributes to match. A 1.x `TemplateAttribute` inside Locate (FortiGate sends
/// its Name that way) is accepted as if its attributes were given directly.
fn requested_attributes(req: &LocateRequest) -> Result<Attributes, OpError> {
    let mut a = req.attributes.clone();
    for ext in req
        .extensions
        .iter()
        .filter(|e| e.tag == Tag::TEMPLATE_ATTRIBUTE)
    {
        let t = Attributes::from_ttlv(ext)
            .map_err(|e| OpError::new(e.result_reason(), format!("bad Template-Attribute: {e}")))?;
        a.items.extend(t.items);
    }
    Ok(a)
}

fn in_storage(obj: &Obj, mask: u32, version: ProtocolVersion) -> bool {
    let archived = obj.attrs.get(Tag::ARCHIVE_DATE).is_some();
    let destroyed = matches!(
        object::state(obj),
        State::Destroyed | State::DestroyedCompromised
    );
    let bit = if archived {
        StorageStatusMask::ArchivalStorage.value()
    } else if destroyed && !version.is_v1() {
        StorageStatusMask::DestroyedStorage.value()
    } else {
        StorageStatusMask::OnLineStorage.value()
    };
    mask & bit != 0
}

fn matches_all(obj: &Obj, wanted: &Attributes) -> bool {
    let mut ranged: Vec<Tag> = Vec::new();
    for a in &wanted.items {
        if let Attribute::Standard(Ttlv {
            tag,
            value: Value::DateTime(_),
        }) = a
        {
            if ranged.contains(tag) {
                continue;
            }
            let dates: Vec<i64> = wanted
                .all(*tag)
                .filter_map(|t| match t.value {
                    Value::DateTime(d) => Some(d),
                    _ => None,
                })
                .collect();
            if let [lo, hi] = dates[..] {
                ranged.push(*tag);
                let ok = obj
                    .attrs
                    .all(*tag)
                    .any(|t| matches!(t.value, Value::DateTime(d) if d >= lo && d <= hi));
                if !ok {
                    return false;
                }
                continue;
            }
        }
        if !matches_one(obj, a) {
            return false;
        }
    }
    true
}

fn matches_one(obj: &Obj, a: &Attribute) -> bool {
    match a {
        Attribute::Vendor { .. } => obj.attrs.items.contains(a),
        Attribute::Standard(t) => match t.tag {
            Tag::NAME => {
                let ctx = Ctx::new(ProtocolVersion::LATEST);
                let want = Name::decode(t, &ctx).ok().map(|n| n.value).or_else(|| {
                    t.child(Tag::NAME_VALUE).and_then(|v| match &v.value {
                        Value::TextString(s) => Some(s.clone()),
                        _ => None,
                    })
                });
                match want {
                    Some(w) => obj.attrs.names().iter().any(|n| n.value == w),
                    None => false,
                }
            }
            Tag::CRYPTOGRAPHIC_USAGE_MASK => {
                let want = match t.value {
                    Value::Integer(v) => v as u32,
                    Value::Enumeration(v) => v,
                    _ => return false,
                };
                obj.attrs
                    .cryptographic_usage_mask()
                    .is_some_and(|m| m.contains(want))
            }
            _ => obj.attrs.all(t.tag).any(|have| have.value == t.value),
        },
    }
}
