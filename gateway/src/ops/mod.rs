//! KMIP operations, one module per group (STYLE rule 10). Each entry point takes
//! the request context and a typed request payload and returns a typed response
//! payload or an [`OpError`] carrying the KMIP result reason.

mod attributes;
mod create;
mod discover;
mod get;
mod lifecycle;
mod locate;
pub(crate) mod object;

use crate::backend::{BackendError, KeyBackend};
use crate::store::{StoreError, Txn};
use crate::vault::Binding;
use kmip::messages::payloads::RequestPayload;
use kmip::messages::ResponsePayload;
use kmip::types::ResultReason;
use kmip::version::ProtocolVersion;

/// A vault's policy, as the request path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultPolicy {
    /// Vault name.
    pub name: String,
    /// Whether keys created without an explicit Extractable attribute may be exported.
    pub extractable_by_default: bool,
    /// The ceiling: whether any key of this vault may be exported in clear.
    pub allow_extractable: bool,
}

/// Everything an operation may touch.
pub struct OpCtx<'a> {
    /// Who is calling, in which vault, with which role.
    pub binding: &'a Binding,
    /// The vault's policy.
    pub vault: &'a VaultPolicy,
    /// The batch's store transaction.
    pub txn: &'a mut dyn Txn,
    /// The vault's key backend.
    pub backend: &'a dyn KeyBackend,
    /// The request's protocol version.
    pub version: ProtocolVersion,
    /// Request time (seconds since the epoch).
    pub now: i64,
    /// The ID Placeholder (KMIP 1.4 §3.1 "ID Placeholder"): the last UID an earlier
    /// item of the batch returned.
    pub id_placeholder: Option<String>,
    /// UIDs this item touched, for the audit record.
    pub touched: Vec<String>,
}

impl std::fmt::Debug for OpCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpCtx")
            .field("identity", &self.binding.identity)
            .field("vault", &self.vault.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// An operation's failure: the KMIP result reason and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// Result Reason.
    pub reason: ResultReason,
    /// Result Message (never contains key material).
    pub message: String,
}

impl OpError {
    /// A failure with `reason`.
    pub fn new(reason: ResultReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        OpError::new(ResultReason::GeneralFailure, "storage failure")
    }
}

impl From<BackendError> for OpError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Unsupported(m) => OpError::new(ResultReason::FeatureNotSupported, m),
            other => {
                tracing::error!(error = %other, "backend failure");
                OpError::new(ResultReason::CryptographicFailure, "key backend failure")
            }
        }
    }
}

/// Result of one operation.
pub type OpResult = Result<ResponsePayload, OpError>;

/// Runs one typed request. Operations without an implementation answer
/// `OperationNotSupported`.
pub fn execute(ctx: &mut OpCtx<'_>, payload: &RequestPayload) -> OpResult {
    use RequestPayload as P;
    use ResponsePayload as R;
    match payload {
        P::DiscoverVersions(r) => Ok(R::DiscoverVersions(discover::discover_versions(r))),
        P::Query(r) => Ok(R::Query(discover::query(ctx, r))),
        P::Interop(r) => Ok(R::Interop(discover::interop(r))),
        P::Create(r) => create::create(ctx, r).map(R::Create),
        P::Register(r) => create::register(ctx, r).map(R::Register),
        P::ReKey(r) => create::rekey(ctx, r).map(R::ReKey),
        P::Get(r) => get::get(ctx, r).map(R::Get),
        P::Check(r) => get::check(ctx, r).map(R::Check),
        P::GetAttributes(r) => attributes::get_attributes(ctx, r).map(R::GetAttributes),
        P::GetAttributeList(r) => attributes::get_attribute_list(ctx, r).map(R::GetAttributeList),
        P::AddAttribute(r) => attributes::add_attribute(ctx, r).map(R::AddAttribute),
        P::ModifyAttribute(r) => attributes::modify_attribute(ctx, r).map(R::ModifyAttribute),
        P::DeleteAttribute(r) => attributes::delete_attribute(ctx, r).map(R::DeleteAttribute),
        P::SetAttribute(r) => attributes::set_attribute(ctx, r).map(R::SetAttribute),
        P::Locate(r) => locate::locate(ctx, r).map(R::Locate),
        P::Activate(r) => lifecycle::activate(ctx, r).map(R::Activate),
        P::Revoke(r) => lifecycle::revoke(ctx, r).map(R::Revoke),
        P::Destroy(r) => lifecycle::destroy(ctx, r).map(R::Destroy),
        P::Archive(r) => lifecycle::archive(ctx, r).map(R::Archive),
        P::Recover(r) => lifecycle::recover(ctx, r).map(R::Recover),
        _ => Err(OpError::new(
            ResultReason::OperationNotSupported,
            "operation not supported",
        )),
    }
}

/// True when [`execute`] implements `op`. The request path answers any other
/// operation `OperationNotSupported` before consulting the role: a role cannot
/// grant what the server does not do, and "denied" would misdirect the client.
pub fn implements(op: kmip::types::Operation) -> bool {
    op == kmip::types::Operation::Interop || SUPPORTED_OPERATIONS.contains(&op)
}

/// The operations [`execute`] implements (what Query reports).
pub const SUPPORTED_OPERATIONS: &[kmip::types::Operation] = {
    use kmip::types::Operation as O;
    &[
        O::DiscoverVersions,
        O::Query,
        O::Create,
        O::Register,
        O::ReKey,
        O::Get,
        O::Check,
        O::GetAttributes,
        O::GetAttributeList,
        O::AddAttribute,
        O::ModifyAttribute,
        O::DeleteAttribute,
        O::SetAttribute,
        O::Locate,
        O::Activate,
        O::Revoke,
        O::Destroy,
        O::Archive,
        O::Recover,
    ]
};
