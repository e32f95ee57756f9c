//! Get (KMIP 1.4 §4.11) and Check (§4.10).

use super::attributes::reason;
use super::create::fill_secret;
use super::keyformat;
use super::object::{self, aad};
use super::wrap;
use super::{OpCtx, OpError};
use crate::backend::{BackendError, KeyRef};
use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject, TransparentKey};
use kmip::messages::payloads::{
    CheckRequest, CheckResponse, ExportRequest, ExportResponse, GetRequest, GetResponse,
};
use kmip::messages::Attributes;
use kmip::ttlv::{Tag, Value};
use kmip::types::{KeyFormatType, ObjectType, ResultReason, State};
use zeroize::Zeroizing;

/// Get: returns the object. Key material leaves in clear only when the role may read
/// it, the key is Extractable and not Sensitive; wrapped under another key of the
/// vault (a Key Wrapping Specification, ops::wrap) also when the vault allows
/// wrapped export of such keys. It can be converted between Raw and
/// Transparent Symmetric Key on request, and asymmetric keys between their encodings
/// (a public key also to Transparent RSA / EC Public Key; ops::keyformat).
pub fn get(ctx: &mut OpCtx<'_>, req: &GetRequest) -> Result<GetResponse, OpError> {
    // Shared: concurrent Gets of one key (every client of a TDE deployment fetching
    // its master key) run side by side; only clearing Fresh writes.
    let mut obj = object::load_shared(ctx, &req.unique_identifier)?;
    object::not_archived(&obj)?;
    if req.key_compression_type.is_some() {
        return Err(OpError::new(
            ResultReason::KeyCompressionTypeNotSupported,
            "key compression is not supported",
        ));
    }
    let object_type = ObjectType::from_value(obj.rec.object_type);
    let template = object::template(&obj)?;
    let (Some(template), Some(key_ref)) = (template, obj.rec.key_ref.clone().map(KeyRef)) else {
        return Err(OpError::new(
            reason(
                ctx.version,
                ResultReason::ObjectDestroyed,
                ResultReason::ItemNotFound,
            ),
            "the object's material was destroyed",
        ));
    };
    if object::is_secret_type(object_type) && !ctx.binding.role.may_read_key_material {
        return Err(OpError::new(
            ResultReason::PermissionDenied,
            "role may not read key material",
        ));
    }
    let out = match req.key_wrapping_specification.as_deref() {
        Some(spec) => {
            wrap::check_export(ctx, &obj)?;
            wrap::wrap_for_get(ctx, spec, &obj, &template, &key_ref, |ctx| {
                in_clear(ctx, req, &obj, object_type, template.clone(), &key_ref)
            })?
        }
        None => {
            check_clear_export(ctx, &obj)?;
            in_clear(ctx, req, &obj, object_type, template, &key_ref)?
        }
    };
    // Fresh (KMIP 1.4 §3.34) says whether the object was ever served to a client;
    // this Get serves it.
    if object::flag(&obj.attrs, Tag::FRESH) == Some(true) {
        obj.attrs.set(Tag::FRESH, Value::Boolean(false));
        // A conflict: another first Get of the object, which read it as this one
        // did, is clearing Fresh (it waits for this Get to end, then writes), so
        // the object ends up not Fresh either way.
        object::save_unless_conflict(ctx, &mut obj)?;
    }
    Ok(GetResponse {
        object_type,
        unique_identifier: obj.rec.uid,
        object: out,
        extensions: Vec::new(),
    })
}

/// Sensitive and Extractable apply to every object (1.4 §3.48, §3.50), a public
/// key marked Sensitive included (OASIS BL-M-12-21): such an object never leaves in
/// clear (wrapped, it may: ops::wrap).
fn check_clear_export(ctx: &OpCtx<'_>, obj: &object::Obj) -> Result<(), OpError> {
    if object::flag(&obj.attrs, Tag::SENSITIVE) == Some(true) {
        return Err(OpError::new(
            reason(
                ctx.version,
                ResultReason::Sensitive,
                ResultReason::PermissionDenied,
            ),
            "the object is sensitive and is never returned in clear",
        ));
    }
    if object::flag(&obj.attrs, Tag::EXTRACTABLE) == Some(false) {
        return Err(OpError::new(
            reason(
                ctx.version,
                ResultReason::NotExtractable,
                ResultReason::PermissionDenied,
            ),
            "the object is not extractable",
        ));
    }
    Ok(())
}

/// The object with its material in clear, in the format asked for: what Get
/// returns, and what a wrapped Get wraps when the gateway must read the material.
fn in_clear(
    ctx: &OpCtx<'_>,
    req: &GetRequest,
    obj: &object::Obj,
    object_type: ObjectType,
    template: ManagedObject,
    key_ref: &KeyRef,
) -> Result<ManagedObject, OpError> {
    // A generated public key keeps its SPKI in the object (ops::keypair): served
    // from there, not from the backend.
    let held_public = match template.key_block() {
        Some(kb)
            if object_type == ObjectType::PublicKey
                && kb.key_format_type == KeyFormatType::X509 =>
        {
            match &kb.key_value {
                Some(KeyValue::Plain {
                    key_material: KeyMaterial::Bytes(b),
                    ..
                }) if !b.is_empty() => Some(Zeroizing::new(b.clone())),
                _ => None,
            }
        }
        _ => None,
    };
    let secret = match held_public {
        Some(spki) => spki,
        None => export(ctx, obj, key_ref.clone())?,
    };
    let stored_format = template.key_block().map(|kb| kb.key_format_type);
    Ok(match stored_format {
        // Asymmetric keys are stored as PKCS#8 / SPKI and served in the registered
        // (or generated) format, or the one asked for (ops::keyformat).
        Some(f) if keyformat::canonical_format(object_type, f) => {
            let want = req.key_format_type.unwrap_or(f);
            let mut out =
                if object_type == ObjectType::PublicKey && keyformat::is_transparent_public(want) {
                    let t = keyformat::transparent_public(f, want, &secret)?;
                    let mut out = fill_secret(template, &[])?;
                    if let Some(KeyValue::Plain { key_material, .. }) =
                        out.key_block_mut().and_then(|kb| kb.key_value.as_mut())
                    {
                        *key_material = KeyMaterial::Transparent(Box::new(t));
                    }
                    out
                } else {
                    let bytes = keyformat::from_stored(object_type, f, want, &secret)?;
                    fill_secret(template, &bytes)?
                };
            if let Some(kb) = out.key_block_mut() {
                kb.key_format_type = want;
            }
            out
        }
        _ => {
            let mut out = fill_secret(template, &secret)?;
            if let Some(want) = req.key_format_type {
                convert_format(&mut out, want)?;
            }
            out
        }
    })
}

/// Export (KMIP 1.4 §4.42, 2.1 §6.1.21): Get's answer (Key Wrapping Specification
/// included) with the object's attributes.
pub fn export_object(ctx: &mut OpCtx<'_>, req: &ExportRequest) -> Result<ExportResponse, OpError> {
    let got = get(ctx, req)?;
    let obj = object::load(ctx, &Some(got.unique_identifier.clone()))?;
    let attributes = Attributes::new(
        obj.attrs
            .items
            .iter()
            .filter(|a| object::visible(ctx.version, a))
            .cloned()
            .collect(),
    );
    Ok(ExportResponse {
        object_type: got.object_type,
        unique_identifier: got.unique_identifier,
        attributes,
        object: got.object,
        extensions: Vec::new(),
    })
}

/// The object's material from its backend, for an export already authorised.
fn export(
    ctx: &OpCtx<'_>,
    obj: &object::Obj,
    key_ref: KeyRef,
) -> Result<Zeroizing<Vec<u8>>, OpError> {
    ctx.backend
        .export_secret(&key_ref, &aad(&ctx.vault.name, &obj.rec.uid))
        .map_err(|e| match e {
            BackendError::NotExtractable => OpError::new(
                reason(
                    ctx.version,
                    ResultReason::NotExtractable,
                    ResultReason::PermissionDenied,
                ),
                "the key is not extractable: its material never leaves the backend",
            ),
            other => other.into(),
        })
}

/// Converts a symmetric key between Raw and Transparent Symmetric Key; any other
/// change of format is refused rather than silently ignored.
fn convert_format(o: &mut ManagedObject, want: KeyFormatType) -> Result<(), OpError> {
    let is_symmetric = matches!(o, ManagedObject::SymmetricKey(_));
    let Some(kb) = o.key_block_mut() else {
        return Err(OpError::new(
            ResultReason::KeyFormatTypeNotSupported,
            "object has no key block",
        ));
    };
    if kb.key_format_type == want {
        return Ok(());
    }
    let raw_like = matches!(
        kb.key_format_type,
        KeyFormatType::Raw | KeyFormatType::TransparentSymmetricKey
    );
    if !(is_symmetric && raw_like) {
        return Err(OpError::new(
            ResultReason::KeyFormatTypeNotSupported,
            format!("cannot convert {:?} to {want:?}", kb.key_format_type),
        ));
    }
    let Some(KeyValue::Plain { key_material, .. }) = &mut kb.key_value else {
        return Err(OpError::new(
            ResultReason::KeyValueNotPresent,
            "no key value",
        ));
    };
    let bytes = key_material
        .symmetric_bytes()
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    *key_material = match want {
        KeyFormatType::Raw => KeyMaterial::Bytes(bytes),
        KeyFormatType::TransparentSymmetricKey => {
            KeyMaterial::Transparent(Box::new(TransparentKey {
                key: Some(bytes),
                ..TransparentKey::default()
            }))
        }
        other => {
            return Err(OpError::new(
                ResultReason::KeyFormatTypeNotSupported,
                format!("cannot convert a symmetric key to {other:?}"),
            ));
        }
    };
    kb.key_format_type = want;
    Ok(())
}

/// Check: would the object allow this use? Fails when the usage mask does not allow
/// what is asked (2.x Incompatible Cryptographic Usage Mask) or the object is not
/// usable (2.x Wrong Key Lifecycle State); 1.x has only Illegal Operation for both.
pub fn check(ctx: &mut OpCtx<'_>, req: &CheckRequest) -> Result<CheckResponse, OpError> {
    let obj = object::load(ctx, &req.unique_identifier)?;
    object::not_archived(&obj)?;
    if let Some(want) = req.cryptographic_usage_mask {
        let have = obj.attrs.cryptographic_usage_mask().unwrap_or_default();
        if !have.contains(want.0) {
            return Err(OpError::new(
                reason(
                    ctx.version,
                    ResultReason::IncompatibleCryptographicUsageMask,
                    ResultReason::IllegalOperation,
                ),
                "the usage mask does not allow this use",
            ));
        }
        if object::state(&obj) != State::Active {
            return Err(OpError::new(
                reason(
                    ctx.version,
                    ResultReason::WrongKeyLifecycleState,
                    ResultReason::IllegalOperation,
                ),
                "the object is not active",
            ));
        }
    }
    Ok(CheckResponse {
        unique_identifier: obj.rec.uid,
        usage_limits_count: None,
        cryptographic_usage_mask: None,
        lease_time: None,
        extensions: Vec::new(),
    })
}
