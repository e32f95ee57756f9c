//! The daemon's periodic maintenance (every `renewal_interval_secs`):
//!
//! - certificate renewal: in a vault with `renew_before`, each Active certificate
//!   the vault issued (it carries `x-keygate-issued-by`, ops::certify) that has no
//!   replacement yet and whose Deactivation Date (its notAfter) is within
//!   `renew_before` is re-certified: a Re-certify request (KMIP 1.4 §4.8) run as
//!   the maintenance identity, audited like a client's, which makes the next
//!   version linked Replacement / Replaced;
//! - deactivation: every Active object, of any type, whose Deactivation Date has
//!   passed is made Deactivated (KMIP 1.4 §3.22 transition 6), in its stored
//!   state, so Locate by state and every client see it.
//!
//! Renewal is planned before deactivation, so a certificate past its date is
//! still renewed when a sweep was missed.

use crate::handler::Gateway;
use crate::ops::certify::{last_link, ISSUED_BY, VENDOR};
use crate::ops::object;
use crate::ops::{OpCtx, OpError};
use crate::store::ObjectFilter;
use kmip::messages::payloads::{ReCertifyRequest, RequestPayload};
use kmip::messages::ResponseMessage;
use kmip::ttlv::Tag;
use kmip::types::{LinkType, ObjectType, Operation, State};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Sweeps every `interval` until `shutdown` turns true (or its sender goes).
pub async fn run(gateway: Arc<Gateway>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
                continue;
            }
        }
        let g = Arc::clone(&gateway);
        // Store and backends are blocking.
        match tokio::task::spawn_blocking(move || sweep(&g)).await {
            Ok(answers) => {
                for a in answers {
                    for item in a.batch_items {
                        tracing::info!(
                            operation = ?item.operation,
                            status = ?item.result_status,
                            reason = ?item.result_reason,
                            "certificate renewal"
                        );
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "maintenance sweep failed"),
        }
    }
}

/// One sweep over every vault; returns the answers of the renewals it ran.
pub fn sweep(gateway: &Gateway) -> Vec<ResponseMessage> {
    gateway.maintain(&plan)
}

/// The renewals due in the vault of `ctx`, after applying the deactivations due.
fn plan(ctx: &mut OpCtx<'_>) -> Result<Vec<(Operation, RequestPayload)>, OpError> {
    let mut renewals = Vec::new();
    if let Some(before) = ctx.vault.renew_before {
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        let filter = ObjectFilter {
            object_type: Some(ObjectType::Certificate.value()),
            state: Some(State::Active.value()),
            ..ObjectFilter::default()
        };
        for rec in ctx.txn.list(&ctx.vault.name, &filter)? {
            let obj = object::load_record(rec)?;
            let issued = obj.attrs.vendor(VENDOR, ISSUED_BY).is_some();
            let replaced = last_link(&obj.attrs, LinkType::ReplacementObjectLink).is_some();
            let due = object::date(&obj.attrs, Tag::DEACTIVATION_DATE)
                .is_some_and(|d| d.saturating_sub(ctx.now) <= before);
            if issued && !replaced && due {
                renewals.push((
                    Operation::ReCertify,
                    RequestPayload::ReCertify(ReCertifyRequest {
                        unique_identifier: Some(obj.rec.uid),
                        certificate_request_unique_identifier: None,
                        certificate_request_type: None,
                        certificate_request_value: None,
                        offset: None,
                        attributes: None,
                        protection_storage_masks: None,
                        extensions: Vec::new(),
                    }),
                ));
            }
        }
    }
    let active = ObjectFilter {
        state: Some(State::Active.value()),
        ..ObjectFilter::default()
    };
    for rec in ctx.txn.list(&ctx.vault.name, &active)? {
        let mut obj = object::load_record(rec)?;
        if object::date(&obj.attrs, Tag::DEACTIVATION_DATE).is_some_and(|d| d <= ctx.now) {
            object::apply_dates(ctx.now, &mut obj.attrs);
            object::save(ctx, &mut obj)?;
            tracing::info!(uid = %obj.rec.uid, vault = %ctx.vault.name, "deactivated at its Deactivation Date");
        }
    }
    Ok(renewals)
}
