//! Lifecycle: Activate (KMIP 1.4 §4.19), Revoke (§4.20), Destroy (§4.21), Archive
//! (§4.22), Recover (§4.23). States follow the state diagram of 1.4 §3.22.

use super::object;
use super::{OpCtx, OpError};
use crate::backend::KeyRef;
use kmip::messages::payloads::{RevokeRequest, UniqueIdentifierRequest, UniqueIdentifierResponse};
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{ResultReason, RevocationReasonCode, State};

fn done(uid: String) -> UniqueIdentifierResponse {
    UniqueIdentifierResponse {
        unique_identifier: uid,
        extensions: Vec::new(),
    }
}

fn wrong_state(ctx: &OpCtx<'_>, what: &str) -> OpError {
    object::wrong_state(ctx.version, what)
}

/// Activate: Pre-Active -> Active, Activation Date = now.
pub fn activate(
    ctx: &mut OpCtx<'_>,
    req: &UniqueIdentifierRequest,
) -> Result<UniqueIdentifierResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    object::not_archived(&obj)?;
    if object::state(&obj) != State::PreActive {
        return Err(wrong_state(
            ctx,
            "only a Pre-Active object can be activated",
        ));
    }
    obj.attrs
        .set(Tag::STATE, Value::Enumeration(State::Active.value()));
    obj.attrs
        .set(Tag::ACTIVATION_DATE, Value::DateTime(ctx.now));
    let uid = obj.rec.uid.clone();
    object::save(ctx, &mut obj)?;
    Ok(done(uid))
}

/// Revoke: compromise reasons move the object to Compromised (Compromise Date now,
/// Compromise Occurrence Date as given); other reasons to Deactivated.
pub fn revoke(
    ctx: &mut OpCtx<'_>,
    req: &RevokeRequest,
) -> Result<UniqueIdentifierResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    object::not_archived(&obj)?;
    let state = object::state(&obj);
    if matches!(state, State::Destroyed | State::DestroyedCompromised) {
        return Err(wrong_state(ctx, "the object is destroyed"));
    }
    let code = req.revocation_reason.code;
    let compromise = matches!(
        code,
        RevocationReasonCode::KeyCompromise | RevocationReasonCode::CaCompromise
    );
    if compromise {
        let occurred = req.compromise_occurrence_date.map_or(ctx.now, |d| d.0);
        obj.attrs
            .set(Tag::STATE, Value::Enumeration(State::Compromised.value()));
        obj.attrs
            .set(Tag::COMPROMISE_DATE, Value::DateTime(ctx.now));
        obj.attrs
            .set(Tag::COMPROMISE_OCCURRENCE_DATE, Value::DateTime(occurred));
    } else {
        if state == State::Compromised {
            return Err(wrong_state(ctx, "a compromised object stays compromised"));
        }
        obj.attrs
            .set(Tag::STATE, Value::Enumeration(State::Deactivated.value()));
        obj.attrs
            .set(Tag::DEACTIVATION_DATE, Value::DateTime(ctx.now));
    }
    let mut rr = vec![Ttlv::new(
        Tag::REVOCATION_REASON_CODE,
        Value::Enumeration(code.value()),
    )];
    if let Some(m) = &req.revocation_reason.message {
        rr.push(Ttlv::new(
            Tag::REVOCATION_MESSAGE,
            Value::TextString(m.clone()),
        ));
    }
    obj.attrs.set(Tag::REVOCATION_REASON, Value::Structure(rr));
    let uid = obj.rec.uid.clone();
    object::save(ctx, &mut obj)?;
    Ok(done(uid))
}

/// Destroy: erases the key material and keeps the metadata. An Active object must be
/// revoked first. Compromised -> Destroyed Compromised.
pub fn destroy(
    ctx: &mut OpCtx<'_>,
    req: &UniqueIdentifierRequest,
) -> Result<UniqueIdentifierResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    object::not_archived(&obj)?;
    let next = match object::state(&obj) {
        State::Active => {
            return Err(wrong_state(
                ctx,
                "an Active object must be revoked before it is destroyed",
            ));
        }
        State::Compromised => State::DestroyedCompromised,
        State::Destroyed | State::DestroyedCompromised => {
            return Err(wrong_state(ctx, "the object is already destroyed"));
        }
        _ => State::Destroyed,
    };
    // The row stops referencing the material now; the backend erases it once the
    // batch has committed (see `OpCtx::pending_destroys`), so an Undo or a failed
    // commit finds the key intact.
    if let Some(k) = obj.rec.key_ref.take() {
        ctx.pending_destroys.push(KeyRef(k));
    }
    obj.attrs.set(Tag::STATE, Value::Enumeration(next.value()));
    obj.attrs.set(Tag::DESTROY_DATE, Value::DateTime(ctx.now));
    let uid = obj.rec.uid.clone();
    object::save(ctx, &mut obj)?;
    Ok(done(uid))
}

/// Archive: moves the object to archival storage (Archive Date set); it must be
/// recovered before use.
pub fn archive(
    ctx: &mut OpCtx<'_>,
    req: &UniqueIdentifierRequest,
) -> Result<UniqueIdentifierResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    object::not_archived(&obj)?;
    obj.attrs.set(Tag::ARCHIVE_DATE, Value::DateTime(ctx.now));
    let uid = obj.rec.uid.clone();
    object::save(ctx, &mut obj)?;
    Ok(done(uid))
}

/// Recover: back from archival storage.
pub fn recover(
    ctx: &mut OpCtx<'_>,
    req: &UniqueIdentifierRequest,
) -> Result<UniqueIdentifierResponse, OpError> {
    let mut obj = object::load(ctx, &req.unique_identifier)?;
    if obj.attrs.remove(Tag::ARCHIVE_DATE) == 0 {
        return Err(OpError::new(
            ResultReason::IllegalOperation,
            "the object is not archived",
        ));
    }
    let uid = obj.rec.uid.clone();
    object::save(ctx, &mut obj)?;
    ctx.id_placeholder = Some(uid.clone());
    Ok(done(uid))
}
