//! Validate (KMIP 1.4 §4.9): is a certificate chain valid against the vault's CA
//! certificates?
//!
//! The chain is the request's Certificates, then the certificates its Unique
//! Identifiers name, leaf first. From the leaf, each certificate's issuer is looked
//! for among the rest of the chain and the vault's trust anchors: the vault's
//! certificates that are CA certificates (Basic Constraints cA) and neither
//! revoked, compromised nor destroyed. Every certificate on the path must be within its
//! validity at the Validity Date (default: now), and every issuer must be a CA
//! allowed to sign certificates (cA, and keyCertSign when it has a Key Usage) whose
//! key verifies the signature.
//!
//! The answer: Valid when the path reaches a trust anchor with every check passed;
//! Invalid when a check fails (expired, bad signature, issuer not a CA) or a
//! certificate named by UID was revoked or compromised (a revoked CA certificate
//! is no trust anchor either); Unknown
//! when no issuer is found for some certificate (the chain does not end at a CA of
//! this vault).

use super::certify::{certificate_der, parse, secs};
use super::object::{self, Obj};
use super::{OpCtx, OpError};
use crate::store::ObjectFilter;
use kmip::messages::payloads::{ValidateRequest, ValidateResponse};
use kmip::ttlv::{Tag, Value};
use kmip::types::{ObjectType, ResultReason, State, ValidityIndicator};
use x509_cert::der::Encode;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::Certificate;

/// Most certificates a chain (and a path) may have.
pub const MAX_CHAIN: usize = 16;

/// Validate.
pub fn validate(ctx: &mut OpCtx<'_>, req: &ValidateRequest) -> Result<ValidateResponse, OpError> {
    let at = req.validity_date.map_or(ctx.now, |d| d.0);
    let mut chain = Vec::new();
    for c in &req.certificates {
        match c.child(Tag::CERTIFICATE_VALUE).map(|v| &v.value) {
            Some(Value::ByteString(b)) => chain.push(b.clone()),
            _ => {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    "a Certificate without a Certificate Value",
                ))
            }
        }
    }
    let mut revoked = false;
    for uid in &req.unique_identifiers {
        let obj = object::load(ctx, &Some(uid.clone()))?;
        revoked |= withdrawn(&obj);
        chain.push(certificate_der(ctx, &obj)?);
    }
    if chain.is_empty() {
        return Err(OpError::new(
            ResultReason::InvalidField,
            "Validate needs at least one certificate",
        ));
    }
    if chain.len() > MAX_CHAIN {
        return Err(OpError::new(
            ResultReason::InvalidField,
            format!("a chain has at most {MAX_CHAIN} certificates"),
        ));
    }
    let chain: Vec<Certificate> = chain.iter().map(|d| parse(d)).collect::<Result<_, _>>()?;
    let anchors = anchors(ctx)?;
    Ok(ValidateResponse {
        // A certificate of the vault that was revoked or compromised is not valid,
        // whatever its signatures say.
        validity_indicator: if revoked {
            ValidityIndicator::Invalid
        } else {
            walk(&chain, &anchors, at)
        },
        extensions: Vec::new(),
    })
}

/// Follows the path from the leaf (see the module documentation).
fn walk(chain: &[Certificate], anchors: &[Certificate], at: i64) -> ValidityIndicator {
    let mut cur = &chain[0];
    for _ in 0..MAX_CHAIN {
        if !within(cur, at) {
            return ValidityIndicator::Invalid;
        }
        if anchors.iter().any(|a| same(a, cur)) {
            return ValidityIndicator::Valid;
        }
        let named: Vec<&Certificate> = chain[1..]
            .iter()
            .chain(anchors)
            .filter(|c| c.tbs_certificate().subject() == cur.tbs_certificate().issuer())
            .filter(|c| !same(c, cur))
            .collect();
        if named.is_empty() {
            return ValidityIndicator::ValidityUnknown;
        }
        let Some(issuer) = named.into_iter().find(|c| signed_by(cur, c)) else {
            return ValidityIndicator::Invalid;
        };
        if !may_sign_certificates(issuer) {
            return ValidityIndicator::Invalid;
        }
        cur = issuer;
    }
    ValidityIndicator::ValidityUnknown
}

/// The vault's CA certificates that may anchor a path.
fn anchors(ctx: &mut OpCtx<'_>) -> Result<Vec<Certificate>, OpError> {
    let filter = ObjectFilter {
        object_type: Some(ObjectType::Certificate.value()),
        ..ObjectFilter::default()
    };
    let mut out = Vec::new();
    for rec in ctx.txn.list(&ctx.vault.name, &filter)? {
        let obj: Obj = object::load_record(rec)?;
        if withdrawn(&obj) {
            continue;
        }
        let Ok(der) = certificate_der(ctx, &obj) else {
            continue;
        };
        if let Ok(c) = parse(&der) {
            if is_ca(&c) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// A vault certificate that may no longer vouch for anything: revoked (it has a
/// Revocation Reason, KMIP 1.4 §4.20), compromised or destroyed.
fn withdrawn(obj: &Obj) -> bool {
    obj.attrs.get(Tag::REVOCATION_REASON).is_some()
        || matches!(
            object::state(obj),
            State::Compromised | State::Destroyed | State::DestroyedCompromised
        )
}

fn same(a: &Certificate, b: &Certificate) -> bool {
    a.to_der().ok() == b.to_der().ok()
}

fn within(c: &Certificate, at: i64) -> bool {
    let v = c.tbs_certificate().validity();
    secs(&v.not_before) <= at && at <= secs(&v.not_after)
}

fn is_ca(c: &Certificate) -> bool {
    c.tbs_certificate()
        .get_extension::<BasicConstraints>()
        .ok()
        .flatten()
        .is_some_and(|(_, bc)| bc.ca)
}

/// RFC 5280 §4.2.1.3, §4.2.1.9: a CA, with keyCertSign if it states a Key Usage.
fn may_sign_certificates(c: &Certificate) -> bool {
    let ku = c
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .ok()
        .flatten();
    is_ca(c) && ku.is_none_or(|(_, k)| k.key_cert_sign())
}

/// True when `issuer`'s key verifies `cert`'s signature.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let verify = || -> Option<bool> {
        let spki = issuer
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .ok()?;
        let key = openssl::pkey::PKey::public_key_from_der(&spki).ok()?;
        let x = openssl::x509::X509::from_der(&cert.to_der().ok()?).ok()?;
        x.verify(&key).ok()
    };
    verify().unwrap_or(false)
}
