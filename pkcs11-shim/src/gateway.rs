//! The connection to the Keygate daemon: a pool of blocking mutual-TLS KMIP clients
//! per slot, and typed request/response exchanges.
//!
//! Nothing here runs at load time: the first call that needs the gateway connects.
//! A connection is taken from the pool for one exchange and put back after it, so
//! concurrent threads use concurrent connections and a process keeps them open
//! between calls (rule 4 of ../shared/PKCS11-CONSUMERS.md). A connection that
//! fails is dropped; the next call connects again (rule 5).

use crate::error::{Error, Result};
use kmip::client::{Client, ClientConfig, ClientError, Connector, PemSource};
use kmip::messages::payloads::{RequestPayload, ResponsePayload};
use kmip::messages::{RequestBatchItem, RequestMessage, ResponseBatchItem, ResponseMessage};
use kmip::ttlv::Limits;
use kmip::types::{BatchErrorContinuationOption, Operation, ResultStatus};
use kmip::version::ProtocolVersion;
use std::sync::Mutex;

/// The protocol version the library speaks: 2.1 has the attributes PKCS#11 needs
/// (Sensitive, Extractable, vendor attributes).
pub const VERSION: ProtocolVersion = ProtocolVersion::V2_1;

/// Idle connections kept per slot; more concurrent callers connect and close.
const MAX_IDLE: usize = 16;

/// One slot's gateway: a client identity and its idle connections.
#[derive(Debug)]
pub struct Gateway {
    connector: Connector,
    idle: Mutex<Vec<Client>>,
}

impl Gateway {
    /// A gateway reached with `cfg`. Reads the certificates and key once (every
    /// connection shares the TLS configuration and resumes its sessions); connects
    /// nothing yet.
    pub fn new(cfg: &ClientConfig) -> Result<Self> {
        Ok(Self {
            connector: Connector::new(cfg)?,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Builds the client configuration of a slot.
    pub fn config(cfg: &crate::config::Config, cert: &[u8], key_pem: &[u8]) -> ClientConfig {
        let mut c = ClientConfig::new(
            cfg.server.clone(),
            PemSource::bytes(cfg.ca.clone()),
            PemSource::bytes(cert.to_vec()),
            PemSource::bytes(key_pem.to_vec()),
        );
        c.server_name = cfg.server_name.clone();
        c.connect_timeout = cfg.connect_timeout;
        c.io_timeout = cfg.io_timeout;
        c
    }

    /// Checks that the gateway accepts this identity (a Query round trip).
    pub fn probe(&self) -> Result<()> {
        self.call(
            Operation::Query,
            RequestPayload::Query(kmip::messages::payloads::QueryRequest {
                query_functions: Vec::new(),
                extensions: Vec::new(),
            }),
        )
        .map(|_| ())
    }

    /// Sends one operation and returns its payload, or the gateway's failure.
    pub fn call(&self, operation: Operation, payload: RequestPayload) -> Result<ResponsePayload> {
        let mut items = self.batch(vec![(operation, payload)], false)?;
        let item = items
            .pop()
            .ok_or_else(|| Error::Protocol(format!("{operation:?}: no batch item")))?;
        success(operation, item)
    }

    /// Sends several operations in one message (ID Placeholder chaining, KMIP 1.4
    /// §4.0) and returns every batch item's answer. With `keep_going`, an item that
    /// fails does not stop the next (Batch Error Continuation Option Continue).
    pub fn batch(
        &self,
        items: Vec<(Operation, RequestPayload)>,
        keep_going: bool,
    ) -> Result<Vec<ResponseBatchItem>> {
        let first = items.first().map_or(Operation::Query, |i| i.0);
        let count = items.len();
        let mut msg = RequestMessage::single(
            VERSION,
            first,
            RequestPayload::Raw(kmip::ttlv::Ttlv::structure(
                kmip::ttlv::Tag::REQUEST_PAYLOAD,
                Vec::new(),
            )),
        );
        msg.batch_items = items
            .into_iter()
            .map(|(operation, payload)| RequestBatchItem {
                operation,
                ephemeral: None,
                unique_batch_item_id: None,
                payload,
                payload_error: None,
                message_extension: None,
                extensions: Vec::new(),
            })
            .collect();
        msg.header.batch_count = i32::try_from(count).unwrap_or(i32::MAX);
        if keep_going {
            msg.header.batch_error_continuation_option =
                Some(BatchErrorContinuationOption::Continue);
        }
        let bytes = zeroize::Zeroizing::new(msg.encode());
        let answer = zeroize::Zeroizing::new(self.exchange(&bytes)?);
        let resp = ResponseMessage::decode(&answer, &Limits::DEFAULT)
            .map_err(|e| Error::Protocol(format!("{first:?}: response does not decode: {e}")))?;
        if resp.batch_items.len() != count {
            return Err(Error::Protocol(format!(
                "{first:?}: {count} batch items sent, {} answered",
                resp.batch_items.len()
            )));
        }
        Ok(resp.batch_items)
    }

    /// Drops every idle connection (C_Logout, C_Finalize).
    pub fn close_all(&self) {
        let idle = std::mem::take(&mut *lock(&self.idle));
        for c in idle {
            let _ = c.close();
        }
    }

    /// One request/response on a pooled connection. A pooled connection the gateway
    /// closed while it sat idle fails before any answer: the request was not
    /// processed, so it is sent once more on a fresh connection.
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>> {
        let pooled = lock(&self.idle).pop();
        if let Some(mut c) = pooled {
            match c.roundtrip_bytes(request) {
                Ok(answer) => {
                    self.put_back(c);
                    return Ok(answer);
                }
                Err(e) if closed_while_idle(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut c = self.connector.connect()?;
        let answer = c.roundtrip_bytes(request)?;
        self.put_back(c);
        Ok(answer)
    }

    fn put_back(&self, c: Client) {
        let mut idle = lock(&self.idle);
        if idle.len() < MAX_IDLE {
            idle.push(c);
        }
    }
}

/// True for the ways a pooled connection the gateway closed while it sat idle fails
/// on its next use: end of stream, or a reset / broken pipe.
fn closed_while_idle(e: &ClientError) -> bool {
    use std::io::ErrorKind as K;
    match e {
        ClientError::Closed => true,
        ClientError::Io { source, .. } => matches!(
            source.kind(),
            K::ConnectionReset | K::BrokenPipe | K::ConnectionAborted | K::UnexpectedEof
        ),
        _ => false,
    }
}

/// The payload of a successful batch item, or the failure it reports.
pub fn success(operation: Operation, item: ResponseBatchItem) -> Result<ResponsePayload> {
    if item.result_status != ResultStatus::Success {
        return Err(Error::Kmip {
            operation,
            reason: item.result_reason,
            message: item.result_message,
        });
    }
    item.payload
        .ok_or_else(|| Error::Protocol(format!("{operation:?}: success without a payload")))
}

/// Locks `m`, recovering the data of a mutex a panicking thread poisoned (every
/// export catches panics, so a poisoned lock must not wedge the library).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
