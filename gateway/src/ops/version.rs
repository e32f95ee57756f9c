//! Versions of a named object (issue 6; KMIP 1.4 §3.35 Link, Replacement / Replaced
//! Object Link).
//!
//! A Name has versions. Re-key (1.4 §4.4), Re-key Key Pair (§4.5) and a Register
//! that asks for it with the custom attribute `x-keygate-new-version` (1.x
//! Attribute Name; 2.x Vendor Attribute, Vendor Identification `x`, Attribute Name
//! `keygate-new-version`; value Boolean true or the text `true`) make the next
//! version: the new object keeps the Name, gets a Replaced Object Link to the
//! current version, and the current version gets a Replacement Object Link to it.
//! The current version of a name is its newest object that is not destroyed. A plain
//! Register under a name already in use keeps the KMIP behaviour: a new object of the
//! same name, unlinked. Locate with a Name answers the Active objects first, newest
//! first, then the others newest first ([`order`]); every version stays reachable by
//! its UID and by following the links. ReCertify reuses [`next_version`].

use super::object::{self, Obj};
use super::{OpCtx, OpError};
use crate::store::ObjectFilter;
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::{LinkType, ResultReason, State};

/// Vendor Identification of the new-version request (1.x custom `x-` attribute).
pub const NEW_VERSION_VENDOR: &str = "x";
/// Attribute Name of the new-version request.
pub const NEW_VERSION_NAME: &str = "keygate-new-version";

/// Makes the object being created the next version of `old`: `store` stores it
/// (its material made, its attributes given, with a Replaced Object Link to `old`
/// added), and only once that has succeeded does `old` get its Replacement Object
/// Link (and is saved), so a failed creation leaves `old` as it was. The caller
/// gives the new object its Name (Re-key carries it over; a Register brings it).
/// ReCertify is meant to use this too.
pub(super) fn next_version<T>(
    ctx: &mut OpCtx<'_>,
    old: &mut Obj,
    new_uid: &str,
    mut new_attrs: Attributes,
    store: impl FnOnce(&mut OpCtx<'_>, Attributes) -> Result<T, OpError>,
) -> Result<T, OpError> {
    new_attrs.push(replaced_link(&old.rec.uid));
    let stored = store(ctx, new_attrs)?;
    link_replacement(ctx, old, new_uid)?;
    Ok(stored)
}

/// The Replaced Object Link a new version carries to the one it replaces (1.4
/// §3.35); Re-key Key Pair and Re-certify, which make their objects themselves,
/// add it with this.
pub(super) fn replaced_link(old_uid: &str) -> Attribute {
    Attribute::standard(
        Tag::LINK,
        object::link(LinkType::ReplacedObjectLink, old_uid),
    )
}

/// Records on `old` that `new_uid` is its next version (Replacement Object Link)
/// and saves it: the other half of [`replaced_link`].
pub(super) fn link_replacement(
    ctx: &mut OpCtx<'_>,
    old: &mut Obj,
    new_uid: &str,
) -> Result<(), OpError> {
    old.attrs.push(Attribute::standard(
        Tag::LINK,
        object::link(LinkType::ReplacementObjectLink, new_uid),
    ));
    object::save(ctx, old)
}

/// Takes the new-version request out of a Register's attributes: true when the
/// client asked for the next version of the name.
pub(super) fn take_request(attrs: &mut Attributes) -> Result<bool, OpError> {
    let asked = match attrs.vendor(NEW_VERSION_VENDOR, NEW_VERSION_NAME) {
        None => return Ok(false),
        Some(Value::Boolean(b)) => *b,
        Some(Value::TextString(s)) if s == "true" || s == "false" => s == "true",
        Some(_) => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                format!(
                    "{NEW_VERSION_VENDOR}-{NEW_VERSION_NAME} takes a Boolean (or the text \
                     true/false)"
                ),
            ))
        }
    };
    attrs.items.retain(|a| {
        !matches!(a, Attribute::Vendor { vendor, name, .. }
            if vendor == NEW_VERSION_VENDOR && name == NEW_VERSION_NAME)
    });
    Ok(asked)
}

/// The current version of `name`: its newest object that is not destroyed.
pub(super) fn current(ctx: &mut OpCtx<'_>, name: &str) -> Result<Option<Obj>, OpError> {
    let filter = ObjectFilter {
        name: Some(name.to_owned()),
        ..ObjectFilter::default()
    };
    let records = ctx.txn.list(&ctx.vault.name, &filter)?;
    for rec in records.into_iter().rev() {
        let obj = object::load_record(rec)?;
        if !matches!(
            object::state(&obj),
            State::Destroyed | State::DestroyedCompromised
        ) {
            return Ok(Some(obj));
        }
    }
    Ok(None)
}

/// Register with the new-version request: the current version of the Name the new
/// object's attributes give (none yet: it is the first version), which must be of
/// the same Object Type.
pub(super) fn replaced_by_register(
    ctx: &mut OpCtx<'_>,
    new_attrs: &Attributes,
    object_type: u32,
) -> Result<Option<Obj>, OpError> {
    let names = new_attrs.names();
    let [name] = names.as_slice() else {
        return Err(OpError::new(
            ResultReason::InvalidField,
            format!("{NEW_VERSION_VENDOR}-{NEW_VERSION_NAME} needs exactly one Name"),
        ));
    };
    let old = current(ctx, &name.value)?;
    if old
        .as_ref()
        .is_some_and(|o| o.rec.object_type != object_type)
    {
        return Err(OpError::new(
            ResultReason::InvalidField,
            format!(
                "the name {:?} belongs to an object of another type",
                name.value
            ),
        ));
    }
    Ok(old)
}

/// Locate order for a search by Name: Active objects first, then the others; newest
/// first within each (`found` comes newest first, with each object's state now).
pub(super) fn order(found: Vec<(String, State)>) -> Vec<String> {
    let (active, rest): (Vec<_>, Vec<_>) =
        found.into_iter().partition(|(_, s)| *s == State::Active);
    active.into_iter().chain(rest).map(|(u, _)| u).collect()
}
