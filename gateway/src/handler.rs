//! The request path (DESIGN.md "Request path"): decode, identify, authorise each
//! batch item, execute it, audit it, answer in the caller's protocol version.

use crate::audit::{AuditLog, AuditRecord, AuditSync};
use crate::backend::KeyBackend;
use crate::config::Config;
use crate::ops::{self, OpCtx, OpError, VaultPolicy};
use crate::server::{Answer, PeerIdentity, RequestHandler};
use crate::store::Store;
use crate::vault::{Binding, Role};
use kmip::messages::codec::{Codec, Ctx, DateTime};
use kmip::messages::payloads::RequestPayload;
use kmip::messages::{
    RequestMessage, ResponseBatchItem, ResponseHeader, ResponseMessage, ResponsePayload,
};
use kmip::ttlv::binary::{self, HEADER_LEN};
use kmip::ttlv::Tag;
use kmip::types::{BatchErrorContinuationOption, Operation, ResultReason, ResultStatus};
use kmip::version::ProtocolVersion;
use kmip::{DecodeError, Limits};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The identity the daemon's own maintenance runs and is audited as
/// ([`Gateway::maintain`]). No configured identity can have this name (the
/// config allows letters, digits, '.', '_' and '-' only), so audit records of
/// the daemon's own changes are never confused with a client's.
pub const MAINTENANCE_IDENTITY: &str = "(keygate maintenance)";

/// What [`Gateway::maintain`] runs in each vault: changes made in the vault's
/// transaction, and the requests to run afterwards.
pub type MaintenancePlan<'a> =
    dyn Fn(&mut OpCtx<'_>) -> Result<Vec<(Operation, RequestPayload)>, OpError> + 'a;

/// Who may do what: identities bound to vaults and roles. Rebuilt from the config
/// on reload and swapped atomically.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    identities: HashMap<String, Binding>,
    vaults: HashMap<String, VaultPolicy>,
    vault_backends: HashMap<String, String>,
}

impl Policy {
    /// Builds the policy from a validated config.
    pub fn from_config(cfg: &Config) -> Result<Policy, String> {
        let mut roles: HashMap<String, Role> = HashMap::new();
        for r in &cfg.roles {
            roles.insert(r.name.clone(), Role::custom(&r.name, &r.operations));
        }
        let mut p = Policy::default();
        for v in &cfg.vaults {
            p.vaults.insert(
                v.name.clone(),
                VaultPolicy {
                    name: v.name.clone(),
                    extractable_by_default: v.extractable_by_default,
                    allow_extractable: v.allow_extractable,
                    allow_wrapped_export: v.allow_wrapped_export,
                    cert_profiles: cfg.cert_profiles.clone(),
                    renew_before: v.renew_before,
                },
            );
            p.vault_backends.insert(v.name.clone(), v.backend.clone());
        }
        for i in &cfg.identities {
            let role = Role::builtin(&i.role)
                .or_else(|| roles.get(&i.role).cloned())
                .ok_or_else(|| format!("identity {}: unknown role {}", i.name, i.role))?;
            if !p.vaults.contains_key(&i.vault) {
                return Err(format!("identity {}: unknown vault {}", i.name, i.vault));
            }
            p.identities.insert(
                i.name.clone(),
                Binding {
                    identity: i.name.clone(),
                    vault: i.vault.clone(),
                    role,
                },
            );
        }
        Ok(p)
    }

    /// The backend name of each vault: vault name and backend name.
    pub fn vault_backends(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vault_backends
            .iter()
            .map(|(v, b)| (v.as_str(), b.as_str()))
    }

    /// The binding of a verified peer: by subject CN first, then by SAN.
    pub fn bind(&self, peer: &PeerIdentity) -> Option<&Binding> {
        let names = peer
            .common_name
            .iter()
            .chain(&peer.dns_names)
            .chain(&peer.emails)
            .chain(&peer.uris);
        for n in names {
            if let Some(b) = self.identities.get(n) {
                return Some(b);
            }
        }
        None
    }
}

/// The daemon's request handler.
pub struct Gateway {
    policy: RwLock<Arc<Policy>>,
    store: Arc<dyn Store>,
    backends: HashMap<String, Arc<dyn KeyBackend>>,
    audit: AuditLog,
    limits: Limits,
    max_batch_items: usize,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("backends", &self.backends.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A handler over `store`, `backends` (by configured backend name: `software`
    /// and each `[[backends]]` entry), `audit`. Each vault uses the backend its
    /// configuration names ([`Policy::from_config`]).
    pub fn new(
        policy: Policy,
        store: Arc<dyn Store>,
        backends: HashMap<String, Arc<dyn KeyBackend>>,
        audit: AuditLog,
        limits: Limits,
        max_batch_items: usize,
    ) -> Self {
        Self {
            policy: RwLock::new(Arc::new(policy)),
            store,
            backends,
            audit,
            limits,
            max_batch_items,
        }
    }

    /// Whether a backend called `name` is open.
    pub fn has_backend(&self, name: &str) -> bool {
        self.backends.contains_key(name)
    }

    /// Swaps in a new policy (config reload). In-flight requests finish with the old.
    pub fn set_policy(&self, p: Policy) {
        let mut g = self
            .policy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *g = Arc::new(p);
    }

    fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Handles one request message and returns the response message (before
    /// encoding), its audit records durable. Blocking (store, backend, audit log).
    ///
    /// A request with a Maximum Response Size is answered within it: when the answer
    /// would be larger, every item that would have succeeded answers Response Too
    /// Large instead, and the batch's changes are rolled back, so the client is never
    /// told "too large" about an object that was nevertheless created or changed.
    pub fn process(&self, peer: &PeerIdentity, req: &RequestMessage) -> ResponseMessage {
        let Ok((resp, unwritten)) = self.run(&self.policy(), peer, req, Place::MayBlock) else {
            return internal_failure(req);
        };
        match self.audit.append_many(&unwritten) {
            Ok(()) => resp,
            Err(e) => audit_failed(resp, &e),
        }
    }

    /// [`RequestHandler::handle`] for a blocking caller: the response bytes to
    /// `frame`, its audit records durable.
    pub fn handle_blocking(&self, peer: &PeerIdentity, frame: &[u8]) -> Vec<u8> {
        match RequestMessage::decode(frame, &self.limits) {
            Ok(req) => encode_answer(self.process(peer, &req), &req),
            Err(e) => self.undecodable(frame, &e),
        }
    }

    /// Runs `req` and gives its answer: ready now when its audit records were
    /// made durable before its changes were committed, else once its records are
    /// durable (the connection awaits them without holding a thread, and
    /// concurrent requests share one fsync) or, with `[audit] sync = "changes"`,
    /// written.
    ///
    /// On the connection's task (`Place::Task`) a batch that comes to write is
    /// abandoned before anything is written or audited: `Err(MustBlock)`, to be run
    /// again on the blocking pool (its commit waits for fsyncs).
    fn answer(
        &self,
        policy: &Policy,
        peer: &PeerIdentity,
        req: &RequestMessage,
        place: Place,
    ) -> Result<Answer, MustBlock> {
        let (resp, unwritten) = self.run(policy, peer, req, place)?;
        Ok(self.answer_after_audit(resp, unwritten, req))
    }

    /// The answer to `req`, `resp`, once `unwritten` (its audit records) are
    /// written, and durable unless `[audit] sync = "changes"`.
    fn answer_after_audit(
        &self,
        resp: ResponseMessage,
        unwritten: Vec<AuditRecord>,
        req: &RequestMessage,
    ) -> Answer {
        if unwritten.is_empty() {
            return Answer::Now(encode_answer(resp, req));
        }
        let written = match self.audit.write(&unwritten) {
            Ok(w) => w,
            Err(e) => return Answer::Now(encode_answer(audit_failed(resp, &e), req)),
        };
        if self.audit.sync() == AuditSync::Changes {
            return Answer::Now(encode_answer(resp, req));
        }
        let durable = self.audit.durable(written);
        let max = req.header.maximum_response_size;
        Answer::Later(Box::pin(async move {
            let resp = match durable.wait().await {
                Ok(()) => resp,
                Err(e) => audit_failed(resp, &e),
            };
            encode_with_limit(resp, max)
        }))
    }

    /// Whether `req` may run on the connection's task: every item is one of the
    /// [`quick`] operations and the caller's vault keeps its keys in memory (or the
    /// request will be refused without touching a vault).
    fn runs_inline(&self, policy: &Policy, peer: &PeerIdentity, req: &RequestMessage) -> bool {
        let Some(binding) = policy.bind(peer) else {
            return true;
        };
        let in_memory = policy
            .vault_backends
            .get(&binding.vault)
            .and_then(|b| self.backends.get(b))
            .is_none_or(|b| b.in_memory());
        in_memory && req.batch_items.iter().all(|b| quick(b.operation))
    }

    /// Runs a request message under `policy`: the response, and the audit records
    /// still to be written before it may be sent (none when the batch committed
    /// changes: those records were made durable before the commit).
    fn run(
        &self,
        policy: &Policy,
        peer: &PeerIdentity,
        req: &RequestMessage,
        place: Place,
    ) -> Result<(ResponseMessage, Vec<AuditRecord>), MustBlock> {
        let now = now();
        let version = answer_version(req.version());
        let binding = policy.bind(peer).cloned();
        let header = response_header(version, now, req.header.client_correlation_value.clone());
        let ident_name = binding.as_ref().map_or_else(
            || peer.common_name.clone().unwrap_or_default(),
            |b| b.identity.clone(),
        );
        let vault_name = binding
            .as_ref()
            .map(|b| b.vault.clone())
            .unwrap_or_default();
        let mut items = Vec::with_capacity(req.batch_items.len());
        let mut audit = Vec::new();
        let fail_all = |reason: ResultReason,
                        msg: &str,
                        items: &mut Vec<ResponseBatchItem>,
                        audit: &mut Vec<AuditRecord>| {
            for b in &req.batch_items {
                items.push(ResponseBatchItem::failure(
                    Some(b.operation),
                    b.unique_batch_item_id.clone(),
                    reason,
                    msg,
                ));
                audit.push(AuditRecord::new(
                    &ident_name,
                    &vault_name,
                    b.operation,
                    ResultStatus::OperationFailed,
                    Some(reason),
                ));
            }
        };
        if req.batch_items.len() > self.max_batch_items {
            items.push(ResponseBatchItem::failure(
                None,
                None,
                ResultReason::InvalidMessage,
                format!("more than {} batch items", self.max_batch_items),
            ));
        } else if let Some(binding) = binding.as_ref() {
            let vault = policy.vaults.get(&binding.vault);
            let backend = policy
                .vault_backends
                .get(&binding.vault)
                .and_then(|b| self.backends.get(b));
            match (vault, backend) {
                (Some(vault), Some(backend)) => {
                    let end = self.run_batch(
                        &Batch {
                            req,
                            binding,
                            vault,
                            backend: backend.as_ref(),
                            version,
                            now,
                            header: &header,
                            place,
                        },
                        &mut items,
                        &mut audit,
                    );
                    match end {
                        BatchEnd::Audited => audit.clear(),
                        BatchEnd::ToAudit => {}
                        BatchEnd::MustBlock => return Err(MustBlock),
                    }
                }
                _ => fail_all(
                    ResultReason::GeneralFailure,
                    "vault unavailable",
                    &mut items,
                    &mut audit,
                ),
            }
        } else {
            tracing::info!(cn = ?peer.common_name, "request from an unknown identity refused");
            fail_all(
                ResultReason::PermissionDenied,
                "unknown identity",
                &mut items,
                &mut audit,
            );
            // Refused attempts are audited too (by the caller, with the other
            // records): they are what an auditor looks for.
        }
        Ok((response(&header, items), audit))
    }

    /// Runs the daemon's own maintenance in every vault (crate::renewal). `plan`
    /// gets an [`OpCtx`] of the vault in a store transaction of its own, committed
    /// when it succeeds (it applies what the server does by itself, such as the
    /// transitions dates cause), and returns the requests to run; each runs as a
    /// batch of its own, as [`MAINTENANCE_IDENTITY`] with the admin role, through
    /// the path a client's batch takes (role check, audit, commit). Returns the
    /// answers. Blocking (store and backends).
    pub fn maintain(&self, plan: &MaintenancePlan<'_>) -> Vec<ResponseMessage> {
        let policy = self.policy();
        let mut answers = Vec::new();
        let Some(role) = Role::builtin("admin") else {
            return answers;
        };
        for (name, vault) in &policy.vaults {
            let Some(backend) = policy
                .vault_backends
                .get(name)
                .and_then(|b| self.backends.get(b))
            else {
                continue;
            };
            let binding = Binding {
                identity: MAINTENANCE_IDENTITY.to_owned(),
                vault: name.clone(),
                role: role.clone(),
            };
            let version = ProtocolVersion::V2_1;
            let now = now();
            let requests = {
                let mut txn = match self.store.begin() {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::error!(error = %e, vault = %name, "maintenance: store unavailable");
                        continue;
                    }
                };
                let mut ctx = OpCtx {
                    binding: &binding,
                    vault,
                    txn: txn.as_mut(),
                    backend: backend.as_ref(),
                    version,
                    now,
                    id_placeholder: None,
                    touched: Vec::new(),
                    pending_destroys: Vec::new(),
                };
                let planned = plan(&mut ctx);
                match planned.map(|r| (r, txn.commit())) {
                    Ok((r, Ok(()))) => r,
                    Ok((_, Err(e))) => {
                        tracing::error!(error = %e, vault = %name, "maintenance: commit failed");
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e.message, vault = %name, "maintenance failed");
                        continue;
                    }
                }
            };
            for (operation, payload) in requests {
                let req = RequestMessage::single(version, operation, payload);
                let header = response_header(version, now, None);
                let (mut items, mut audit) = (Vec::new(), Vec::new());
                let end = self.run_batch(
                    &Batch {
                        req: &req,
                        binding: &binding,
                        vault,
                        backend: backend.as_ref(),
                        version,
                        now,
                        header: &header,
                        place: Place::MayBlock,
                    },
                    &mut items,
                    &mut audit,
                );
                let answer = response(&header, items);
                answers.push(if matches!(end, BatchEnd::Audited) {
                    answer
                } else {
                    match self.audit.append_many(&audit) {
                        Ok(()) => answer,
                        Err(e) => audit_failed(answer, &e),
                    }
                });
            }
        }
        answers
    }

    /// Runs a batch in one store transaction, filling `items` and `audit`.
    /// Returns whether the audit records are written already (a batch that changed
    /// something writes them before its commit: a change that cannot be audited is
    /// not made), are the caller's to write before answering, or were not made
    /// because a batch running on the connection's task came to write.
    fn run_batch(
        &self,
        batch: &Batch<'_>,
        items: &mut Vec<ResponseBatchItem>,
        audit: &mut Vec<AuditRecord>,
    ) -> BatchEnd {
        let Batch {
            req,
            binding,
            vault,
            backend,
            version,
            now,
            header,
            place,
        } = *batch;
        let option = req
            .header
            .batch_error_continuation_option
            .unwrap_or(BatchErrorContinuationOption::Stop);
        let mut txn = match self.store.begin() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "store unavailable");
                for b in &req.batch_items {
                    items.push(ResponseBatchItem::failure(
                        Some(b.operation),
                        b.unique_batch_item_id.clone(),
                        ResultReason::GeneralFailure,
                        "storage unavailable",
                    ));
                }
                return BatchEnd::Audited;
            }
        };
        if place == Place::Task {
            // Nothing may wait here for a commit, nor for a writer's lock.
            txn.refuse_writes();
        }
        let mut id_placeholder = None;
        let mut undo = false;
        // Backend material released by successful items, erased after the commit.
        let mut destroys = Vec::new();
        for b in &req.batch_items {
            let mut ctx = OpCtx {
                binding,
                vault,
                txn: txn.as_mut(),
                backend,
                version,
                now,
                id_placeholder: id_placeholder.clone(),
                touched: Vec::new(),
                pending_destroys: Vec::new(),
            };
            let result: Result<ResponsePayload, OpError> = if !ops::implements(b.operation, version)
            {
                Err(OpError::new(
                    ResultReason::OperationNotSupported,
                    "operation not supported",
                ))
            } else if !ops::permitted(&binding.role, b.operation) {
                Err(OpError::new(
                    ResultReason::PermissionDenied,
                    "the role does not allow this operation",
                ))
            } else if let Some(e) = &b.payload_error {
                Err(OpError::new(
                    e.result_reason(),
                    format!("bad request payload: {e}"),
                ))
            } else {
                ops::execute(&mut ctx, b.operation, &b.payload)
            };
            let touched = std::mem::take(&mut ctx.touched);
            let released = std::mem::take(&mut ctx.pending_destroys);
            id_placeholder = ctx.id_placeholder.take();
            let mut rec = AuditRecord::new(
                &binding.identity,
                &vault.name,
                b.operation,
                ResultStatus::Success,
                None,
            );
            rec.uids = touched;
            match result {
                Ok(p) => {
                    items.push(ResponseBatchItem::success(
                        Some(b.operation),
                        b.unique_batch_item_id.clone(),
                        p,
                    ));
                    audit.push(rec);
                    destroys.extend(released);
                }
                Err(e) => {
                    rec.status = ResultStatus::OperationFailed;
                    rec.reason = Some(e.reason);
                    audit.push(rec);
                    items.push(ResponseBatchItem::failure(
                        Some(b.operation),
                        b.unique_batch_item_id.clone(),
                        e.reason,
                        e.message,
                    ));
                    match option {
                        BatchErrorContinuationOption::Continue => continue,
                        BatchErrorContinuationOption::Undo => {
                            undo = true;
                            break;
                        }
                        _ => break,
                    }
                }
            }
        }
        if place == Place::Task && txn.writes() {
            // The batch came to write: nothing is written or audited yet, and the
            // quick operations change nothing in the backend, so it simply runs
            // again on the blocking pool.
            drop(txn);
            items.clear();
            audit.clear();
            return BatchEnd::MustBlock;
        }
        if undo {
            drop(txn);
            for (it, rec) in items.iter_mut().zip(audit.iter_mut()) {
                if it.result_status == ResultStatus::Success {
                    // The payload stays: the client learns what was undone (the
                    // OASIS BL-M-2-21 vector answers undone items with it).
                    it.result_status = ResultStatus::OperationUndone;
                    rec.status = ResultStatus::OperationUndone;
                }
            }
            return BatchEnd::ToAudit;
        }
        // Maximum Response Size, before anything is made durable: an answer that
        // cannot be sent must not leave its changes behind.
        if let Some(max) = req.header.maximum_response_size {
            if !fits(header, items, max) {
                drop(txn);
                too_large(items, audit);
                return BatchEnd::ToAudit;
            }
        }
        if !txn.writes() && destroys.is_empty() {
            // Nothing to commit: the records only have to be durable before the
            // answer is sent, which the caller sees to.
            drop(txn);
            return BatchEnd::ToAudit;
        }
        // Audit first, then commit: a change that cannot be audited is not made.
        if !self.write_audit(audit) {
            drop(txn);
            fail_items(
                items,
                audit,
                ResultReason::GeneralFailure,
                "audit log unavailable",
            );
            return BatchEnd::Audited;
        }
        if let Err(e) = txn.commit() {
            tracing::error!(error = %e, "commit failed");
            fail_items(
                items,
                audit,
                ResultReason::GeneralFailure,
                "storage failure",
            );
            // The failure's records are written like any refusal's.
            return BatchEnd::ToAudit;
        }
        // Committed: the objects are Destroyed for good, so their material goes.
        // A failure here leaves material the metadata no longer references; the
        // client's answer stands (the object is destroyed as far as KMIP goes) and
        // the operator is told.
        for k in &destroys {
            if let Err(e) = backend.destroy(k) {
                tracing::error!(error = %e, backend = backend.name(), "erasing destroyed key material failed");
            }
        }
        BatchEnd::Audited
    }

    fn write_audit(&self, recs: &[AuditRecord]) -> bool {
        match self.audit.append_many(recs) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "audit append failed");
                false
            }
        }
    }

    /// The answer to a frame that is not a request message.
    fn undecodable(&self, frame: &[u8], e: &DecodeError) -> Vec<u8> {
        let version =
            header_version(frame, &self.limits).map_or(ProtocolVersion::V1_0, answer_version);
        tracing::debug!(error = %e, "undecodable request");
        // KMIP 1.4 §11.1: a message that cannot be parsed is Invalid Message,
        // whichever field broke it (payload errors are answered per item).
        self.error_response(
            version,
            ResultReason::InvalidMessage,
            format!("cannot decode request: {e}"),
        )
    }

    fn error_response(
        &self,
        version: ProtocolVersion,
        reason: ResultReason,
        msg: String,
    ) -> Vec<u8> {
        let resp = ResponseMessage {
            header: ResponseHeader {
                batch_count: 1,
                ..response_header(version, now(), None)
            },
            batch_items: vec![ResponseBatchItem::failure(None, None, reason, msg)],
        };
        resp.encode()
    }
}

/// Where a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// On the connection's async task: it must not wait for the disk.
    Task,
    /// Where blocking is allowed (the blocking pool, maintenance, tests).
    MayBlock,
}

/// A batch run on the connection's task came to write: run it again where
/// blocking is allowed.
#[derive(Debug)]
struct MustBlock;

/// How [`Gateway::run_batch`] left the batch's audit records.
enum BatchEnd {
    /// Written and durable (before the commit).
    Audited,
    /// The caller's to write before answering (nothing was committed).
    ToAudit,
    /// Not made: the batch (on the connection's task) came to write, and nothing
    /// of it was written.
    MustBlock,
}

/// One batch being run: the request and everything it runs with.
struct Batch<'a> {
    req: &'a RequestMessage,
    binding: &'a Binding,
    vault: &'a VaultPolicy,
    backend: &'a dyn KeyBackend,
    version: ProtocolVersion,
    now: i64,
    header: &'a ResponseHeader,
    place: Place,
}

/// A response header in `version`, stamped `now`, echoing the client's correlation
/// value; `response` sets the batch count.
fn response_header(
    version: ProtocolVersion,
    now: i64,
    client_correlation_value: Option<String>,
) -> ResponseHeader {
    ResponseHeader {
        protocol_version: version,
        time_stamp: DateTime(now),
        nonce: None,
        server_hashed_password: None,
        attestation_types: Vec::new(),
        client_correlation_value,
        server_correlation_value: None,
        batch_count: 0,
        extensions: Vec::new(),
    }
}

/// The response message of `items` under `header`.
fn response(header: &ResponseHeader, items: Vec<ResponseBatchItem>) -> ResponseMessage {
    let mut header = header.clone();
    header.batch_count = i32::try_from(items.len()).unwrap_or(i32::MAX);
    ResponseMessage {
        header,
        batch_items: items,
    }
}

/// True when the encoded answer of `items` is at most `max` bytes (KMIP 1.4 §6.3
/// Maximum Response Size). The size is that of the message exactly as it will be
/// sent (same header, same version gate).
fn fits(header: &ResponseHeader, items: &[ResponseBatchItem], max: i32) -> bool {
    let Ok(max) = usize::try_from(max) else {
        return true;
    };
    response(header, items.to_vec()).encode().len() <= max
}

/// The operations a vault that keeps its keys in memory answers on the
/// connection's task ([`KeyBackend::in_memory`]): reads of one object and
/// cryptography in memory, tens of microseconds each for the usual sizes (an
/// AES operation on a message near the 1 MiB limit, or an RSA decryption with a
/// software key, takes about a millisecond there). Creation and every other
/// change, Locate (a scan of the vault) and signatures go to the blocking pool.
/// Such a request does wait on the connection's task for the object locks of
/// another request on the same object (held at most as long as that request's
/// commit takes); one of these that turns out to write (the first Get of a key,
/// which clears Fresh; a key's usage limit counting down) is abandoned before
/// anything is written and run again on the blocking pool.
fn quick(op: Operation) -> bool {
    matches!(
        op,
        Operation::Get
            | Operation::GetAttributes
            | Operation::GetAttributeList
            | Operation::Query
            | Operation::DiscoverVersions
            | Operation::Encrypt
            | Operation::Decrypt
            | Operation::Mac
            | Operation::MacVerify
            | Operation::Hash
            | Operation::RngRetrieve
    )
}

/// The answer when the request path contradicts itself (a batch allowed to block
/// asked to be run where it may block): every item fails, nothing was done.
fn internal_failure(req: &RequestMessage) -> ResponseMessage {
    tracing::error!("internal: a batch allowed to block asked to run elsewhere");
    let version = answer_version(req.version());
    let header = response_header(version, now(), req.header.client_correlation_value.clone());
    let items = req
        .batch_items
        .iter()
        .map(|b| {
            ResponseBatchItem::failure(
                Some(b.operation),
                b.unique_batch_item_id.clone(),
                ResultReason::GeneralFailure,
                "internal error",
            )
        })
        .collect();
    response(&header, items)
}

/// The answer to a request whose audit records could not be written: nothing
/// is answered without its record, so every item fails.
fn audit_failed(mut resp: ResponseMessage, e: &crate::audit::AuditError) -> ResponseMessage {
    tracing::error!(error = %e, "audit append failed");
    fail_items(
        &mut resp.batch_items,
        &mut [],
        ResultReason::GeneralFailure,
        "audit log unavailable",
    );
    resp
}

/// The bytes of `resp`, answering `req`.
fn encode_answer(resp: ResponseMessage, req: &RequestMessage) -> Vec<u8> {
    encode_with_limit(resp, req.header.maximum_response_size)
}

/// The bytes of `resp` within the request's Maximum Response Size. `run_batch`
/// checked a batch that commits before committing it (and rolled it back when too
/// large); what is left here committed nothing: an undone batch, or refusals.
fn encode_with_limit(resp: ResponseMessage, max: Option<i32>) -> Vec<u8> {
    let bytes = resp.encode();
    match max {
        Some(max) if usize::try_from(max).is_ok_and(|m| bytes.len() > m) => {
            let mut small = resp;
            too_large(&mut small.batch_items, &mut []);
            small.encode()
        }
        _ => bytes,
    }
}

/// Turns every successful (or undone) item into Response Too Large; the caller
/// makes sure its effect is not kept.
fn too_large(items: &mut [ResponseBatchItem], audit: &mut [AuditRecord]) {
    for (i, it) in items.iter_mut().enumerate() {
        if matches!(
            it.result_status,
            ResultStatus::Success | ResultStatus::OperationUndone
        ) {
            *it = ResponseBatchItem::failure(
                it.operation,
                it.unique_batch_item_id.clone(),
                ResultReason::ResponseTooLarge,
                "response exceeds Maximum Response Size",
            );
            if let Some(r) = audit.get_mut(i) {
                r.status = ResultStatus::OperationFailed;
                r.reason = Some(ResultReason::ResponseTooLarge);
            }
        }
    }
}

fn fail_items(
    items: &mut [ResponseBatchItem],
    audit: &mut [AuditRecord],
    reason: ResultReason,
    msg: &str,
) {
    for it in items.iter_mut() {
        it.result_status = ResultStatus::OperationFailed;
        it.result_reason = Some(reason);
        it.result_message = Some(msg.to_owned());
        it.payload = None;
    }
    for r in audit.iter_mut() {
        r.status = ResultStatus::OperationFailed;
        r.reason = Some(reason);
    }
}

impl RequestHandler for Gateway {
    fn handle(self: Arc<Self>, peer: &Arc<PeerIdentity>, frame: Vec<u8>) -> Answer {
        let req = match RequestMessage::decode(&frame, &self.limits) {
            Ok(r) => r,
            Err(e) => return Answer::Now(self.undecodable(&frame, &e)),
        };
        drop(frame);
        // One policy for the decision and the run: a reload in between must not
        // run an HSM vault's request here.
        let policy = self.policy();
        if self.runs_inline(&policy, peer, &req) {
            if let Ok(answer) = self.answer(&policy, peer, &req, Place::Task) {
                return answer;
            }
        }
        let peer = Arc::clone(peer);
        Answer::Blocking(Box::new(move || {
            self.answer(&policy, &peer, &req, Place::MayBlock)
                .unwrap_or_else(|MustBlock| Answer::Now(internal_failure(&req).encode()))
        }))
    }

    fn reject(&self, _peer: &PeerIdentity, error: &DecodeError) -> Option<Vec<u8>> {
        Some(self.error_response(
            ProtocolVersion::V1_0,
            ResultReason::InvalidMessage,
            format!("frame refused: {error}"),
        ))
    }
}

/// The version to answer in: the request's own when supported, else the nearest
/// lower one this server speaks (a 1.5 client gets 1.4, a 3.0 client 2.1).
pub fn answer_version(v: ProtocolVersion) -> ProtocolVersion {
    ProtocolVersion::SUPPORTED
        .iter()
        .copied()
        .find(|s| *s <= v)
        .unwrap_or(ProtocolVersion::V1_0)
}

/// The protocol version of a request that failed decoding, if its header is
/// readable. Only the Request Header (the message's first child) is decoded, within
/// `limits`: the rest of the message may be what broke them (too deep, too many
/// items), and the client still deserves an answer in its own version.
fn header_version(frame: &[u8], limits: &Limits) -> Option<ProtocolVersion> {
    let first = frame.get(HEADER_LEN..)?;
    let len = usize::try_from(u32::from_be_bytes(
        *first.get(4..HEADER_LEN)?.first_chunk::<4>()?,
    ))
    .ok()?;
    let header = first.get(..HEADER_LEN.checked_add(len)?)?;
    let t = binary::decode(header, limits).ok()?;
    if t.tag != Tag::REQUEST_HEADER {
        return None;
    }
    let pv = t.child(Tag::PROTOCOL_VERSION)?;
    ProtocolVersion::decode(pv, &Ctx::new(ProtocolVersion::LATEST)).ok()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
