//! KMIP operations, one module per group (STYLE rule 10). Each entry point takes
//! the request context and a typed request payload and returns a typed response
//! payload or an [`OpError`] carrying the KMIP result reason.

mod attributes;
mod certificate;
pub mod certify;
mod create;
pub(crate) mod crypto;
mod discover;
mod get;
pub mod importkey;
mod keyformat;
mod keypair;
mod lifecycle;
mod locate;
pub(crate) mod object;
mod validate;
mod version;
mod wrap;

use crate::backend::{BackendError, KeyBackend, KeyRef};
use crate::store::{StoreError, Txn};
use crate::vault::{Binding, Role};
use kmip::messages::payloads::RequestPayload;
use kmip::messages::ResponsePayload;
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{Operation, ResultReason};
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
    /// Whether a non-extractable or sensitive key may be exported wrapped
    /// (`allow_wrapped_export`).
    pub allow_wrapped_export: bool,
    /// The config's certificate profiles (`[[cert_profiles]]`), for Certify.
    pub cert_profiles: Vec<crate::config::CertProfileConfig>,
    /// Certificates the vault issued are re-certified this many seconds before they
    /// expire (crate::renewal); none: never.
    pub renew_before: Option<u64>,
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
    /// Backend material this item releases (Destroy). Erased by the request path
    /// only after the batch has committed: a rolled-back batch (Undo, a failed
    /// commit) must find the material of every object it leaves in place.
    pub pending_destroys: Vec<KeyRef>,
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
        if let StoreError::ReadOnly = e {
            // The request path runs the batch again where it may write; this
            // failure is never answered.
            return OpError::new(ResultReason::GeneralFailure, "write refused here");
        }
        if let StoreError::Conflict(_) = e {
            tracing::info!(error = %e, "store conflict");
            return OpError::new(
                ResultReason::GeneralFailure,
                "conflict with a concurrent request on the same object; nothing was changed, retry",
            );
        }
        tracing::error!(error = %e, "store failure");
        OpError::new(ResultReason::GeneralFailure, "storage failure")
    }
}

impl From<BackendError> for OpError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Unsupported(m) => OpError::new(ResultReason::FeatureNotSupported, m),
            // Permission Denied exists in every version; Get answers the precise
            // Not Extractable where the version has it.
            BackendError::NotExtractable => OpError::new(
                ResultReason::PermissionDenied,
                "the key is not extractable: its material never leaves the backend",
            ),
            other => {
                tracing::error!(error = %other, "backend failure");
                OpError::new(ResultReason::CryptographicFailure, "key backend failure")
            }
        }
    }
}

/// Result of one operation.
pub type OpResult = Result<ResponsePayload, OpError>;

/// Runs one request of operation `op`. Operations without an implementation answer
/// `OperationNotSupported`.
pub fn execute(ctx: &mut OpCtx<'_>, op: Operation, payload: &RequestPayload) -> OpResult {
    use RequestPayload as P;
    use ResponsePayload as R;
    if !implements(op, ctx.version) {
        return Err(OpError::new(
            ResultReason::OperationNotSupported,
            "operation not supported",
        ));
    }
    match payload {
        P::DiscoverVersions(r) => Ok(R::DiscoverVersions(discover::discover_versions(r))),
        P::Query(r) => Ok(R::Query(discover::query(ctx, r))),
        P::Interop(r) => Ok(R::Interop(discover::interop(r))),
        P::Create(r) => create::create(ctx, r).map(R::Create),
        P::Register(r) => create::register(ctx, r).map(R::Register),
        P::ReKey(r) => create::rekey(ctx, r).map(R::ReKey),
        P::Get(r) => get::get(ctx, r).map(R::Get),
        P::Export(r) => get::export_object(ctx, r).map(R::Export),
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
        P::CreateKeyPair(r) => keypair::create_key_pair(ctx, r).map(R::CreateKeyPair),
        P::ReKeyKeyPair(r) => keypair::rekey_key_pair(ctx, r).map(R::ReKeyKeyPair),
        P::Certify(r) => certify::certify(ctx, r).map(R::Certify),
        P::ReCertify(r) => certify::recertify(ctx, r).map(R::ReCertify),
        P::Validate(r) => validate::validate(ctx, r).map(R::Validate),
        P::Encrypt(r) => crypto::encrypt(ctx, r).map(R::Encrypt),
        P::Decrypt(r) => crypto::decrypt(ctx, r).map(R::Decrypt),
        P::Sign(r) => crypto::sign(ctx, r).map(R::Sign),
        P::SignatureVerify(r) => crypto::signature_verify(ctx, r).map(R::SignatureVerify),
        P::Mac(r) => crypto::mac(ctx, r).map(R::Mac),
        P::MacVerify(r) => crypto::mac_verify(ctx, r).map(R::MacVerify),
        P::RngRetrieve(r) => crypto::rng_retrieve(ctx, r).map(R::RngRetrieve),
        P::RngSeed(r) => crypto::rng_seed(ctx, r).map(R::RngSeed),
        P::Hash(r) => crypto::hash(ctx, r).map(R::Hash),
        P::Raw(t) if op == Operation::Log => log(ctx, t),
        _ => Err(OpError::new(
            ResultReason::OperationNotSupported,
            "operation not supported",
        )),
    }
}

/// Longest Log Message (in characters) copied into the server log; the rest is
/// cut. The message is the client's text, so it is logged escaped.
const LOG_MESSAGE_LIMIT: usize = 1024;

/// Log (KMIP 2.0 §6.1.28): the client's message goes to the server log, and the
/// request path writes the item's audit record like any other. The message is not
/// otherwise interpreted; the answer is an empty payload.
fn log(ctx: &mut OpCtx<'_>, payload: &Ttlv) -> OpResult {
    let message = match payload.child(Tag::LOG_MESSAGE).map(|m| &m.value) {
        Some(Value::TextString(m)) => m,
        Some(_) => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                "Log Message must be a Text String",
            ));
        }
        None => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                "Log requires a Log Message",
            ));
        }
    };
    let shown: String = message.chars().take(LOG_MESSAGE_LIMIT).collect();
    tracing::info!(
        identity = %ctx.binding.identity,
        vault = %ctx.vault.name,
        message = ?shown,
        truncated = shown.len() < message.len(),
        "client Log message"
    );
    Ok(ResponsePayload::Raw(Ttlv::structure(
        Tag::RESPONSE_PAYLOAD,
        Vec::new(),
    )))
}

/// True when [`execute`] implements `op` at `version` (an operation the version
/// does not define, such as Log in 1.x, is not supported there). The request path
/// answers any other operation `OperationNotSupported` before consulting the role:
/// a role cannot grant what the server does not do, and "denied" would misdirect
/// the client.
pub fn implements(op: Operation, version: ProtocolVersion) -> bool {
    SUPPORTED_OPERATIONS.contains(&op) && Operation::TABLE.defined_in(op.value(), version)
}

/// True when `role` may run `op`. Log is open to every identity bound to a vault:
/// it reads and changes no object, and what it adds to the audit trail is no more
/// than any request adds (every request, refused ones included, is audited).
pub fn permitted(role: &Role, op: Operation) -> bool {
    op == Operation::Log || role.allows(op)
}

/// The operations [`execute`] implements (what Query reports, filtered by the
/// caller's role and version).
pub const SUPPORTED_OPERATIONS: &[Operation] = {
    use kmip::types::Operation as O;
    &[
        O::DiscoverVersions,
        O::Query,
        O::Create,
        O::Register,
        O::ReKey,
        O::Get,
        O::Export,
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
        O::Log,
        O::Interop,
        O::CreateKeyPair,
        O::ReKeyKeyPair,
        O::Certify,
        O::ReCertify,
        O::Validate,
        O::Encrypt,
        O::Decrypt,
        O::Sign,
        O::SignatureVerify,
        O::Mac,
        O::MacVerify,
        O::RngRetrieve,
        O::RngSeed,
        O::Hash,
    ]
};
