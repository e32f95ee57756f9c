//! The connection to the Keygate daemon: a pool of blocking mutual-TLS KMIP clients
//! per slot, and typed request/response exchanges.
//!
//! Nothing here runs at load time: the first call that needs the gateway connects.
//! A connection is taken from the pool for one exchange and put back after it, so
//! concurrent threads use concurrent connections and a process keeps them open
//! between calls (rule 4 of ../shared/PKCS11-CONSUMERS.md). A connection that
//! fails is dropped; the next call connects again (rule 5).

use crate::error::{Error, Result};
use kmip::client::{CallError, Client, ClientConfig, ClientError, Connector, PemSource};
use kmip::messages::payloads::{RequestPayload, ResponsePayload};
use kmip::messages::RequestMessage;
use kmip::types::Operation;
use kmip::version::ProtocolVersion;
use std::sync::Mutex;
use zeroize::Zeroizing;

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

    /// Sends one operation and returns its payload, or the gateway's failure. The
    /// request is sent on a pooled connection; one the gateway closed while it sat
    /// idle fails before any answer (the request was not processed), so the request
    /// goes once more on a fresh connection. Any other transport failure drops the
    /// connection and is CKR_DEVICE_ERROR.
    pub fn call(&self, operation: Operation, payload: RequestPayload) -> Result<ResponsePayload> {
        let request = Zeroizing::new(RequestMessage::single(VERSION, operation, payload).encode());
        // Taken in its own statement: the pool's lock must be released before
        // `finish` puts the connection back.
        let pooled = lock(&self.idle).pop();
        if let Some(mut c) = pooled {
            match c.call_bytes(operation, &request) {
                Err(CallError::Client(e)) if closed_while_idle(&e) => {}
                other => return self.finish(c, operation, other),
            }
        }
        let mut c = self.connector.connect()?;
        let answer = c.call_bytes(operation, &request);
        self.finish(c, operation, answer)
    }

    /// Keeps `c` for the next call unless its exchange broke it, and turns the
    /// answer into the library's result.
    fn finish(
        &self,
        c: Client,
        operation: Operation,
        answer: std::result::Result<ResponsePayload, CallError>,
    ) -> Result<ResponsePayload> {
        match answer {
            Ok(p) => {
                self.put_back(c);
                Ok(p)
            }
            Err(CallError::Failed {
                reason, message, ..
            }) => {
                self.put_back(c);
                Err(Error::Kmip {
                    operation,
                    reason,
                    message,
                })
            }
            Err(CallError::Client(e)) => Err(e.into()),
            Err(e) => Err(Error::Protocol(e.to_string())),
        }
    }

    /// Drops every idle connection (C_Logout, C_Finalize).
    pub fn close_all(&self) {
        let idle = std::mem::take(&mut *lock(&self.idle));
        for c in idle {
            let _ = c.close();
        }
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

/// Locks `m`, recovering the data of a mutex a panicking thread poisoned (every
/// export catches panics, so a poisoned lock must not wedge the library).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
