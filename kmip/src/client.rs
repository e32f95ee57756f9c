//! A blocking KMIP client over mutual TLS (KMIP 1.4 §10 / 2.1 §15: TTLV over TLS,
//! client authentication by certificate), used by the PKCS#11 shim, the CLI and tests.
//!
//! One [`Client`] is one TLS connection. [`Client::roundtrip`] writes one request and
//! reads exactly one response frame: the 8-byte header first, its length checked
//! against [`Limits`] before the body buffer is allocated (STYLE rule 2), then the
//! body. Every socket operation runs under a deadline: connecting and the handshake
//! under [`ClientConfig::connect_timeout`], writing a request and reading its whole
//! response under [`ClientConfig::io_timeout`] each, so a silent or trickling server
//! yields [`ClientError::Timeout`], never a hang.
//!
//! TLS is rustls with the `ring` provider; TLS 1.2 and 1.3 are both offered.
//!
//! ```no_run
//! use kmip::client::{Client, ClientConfig, PemSource};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = ClientConfig::new(
//!     "kmip.example:5696",
//!     PemSource::path("ca.pem"),
//!     PemSource::path("client.pem"),
//!     PemSource::path("client.key"),
//! );
//! let mut client = Client::connect(&cfg)?;
//! # let request = kmip::Ttlv::structure(kmip::Tag(0x420078), vec![]);
//! let response = client.roundtrip(&request)?;
//! # let _ = response;
//! client.close()?;
//! # Ok(())
//! # }
//! ```

use crate::error::DecodeError;
use crate::messages::{RequestMessage, RequestPayload, ResponseMessage, ResponsePayload};
use crate::ttlv::binary::{self, HEADER_LEN};
use crate::ttlv::{Limits, Ttlv};
use crate::types::{Operation, ResultReason, ResultStatus};
use crate::version::ProtocolVersion;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Where the client connects and how it authenticates.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Server address as `host:port` (`[::1]:5696` for IPv6 literals).
    pub server: String,
    /// Name the server certificate must carry (DNS name or IP address). Defaults to
    /// the host part of [`server`](Self::server).
    pub server_name: Option<String>,
    /// PEM certificates of the CAs trusted to sign the server certificate.
    pub ca: PemSource,
    /// PEM client certificate chain, leaf first.
    pub cert: PemSource,
    /// PEM private key of the client certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PemSource,
    /// Longest time for the TCP connect, and again for the TLS handshake.
    pub connect_timeout: Duration,
    /// Longest time for writing one request, and again for reading its whole response.
    pub io_timeout: Duration,
    /// Bounds on the responses accepted (size checked before allocating).
    pub limits: Limits,
}

impl ClientConfig {
    /// Default connect and handshake timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default request/response timeout.
    pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(30);

    /// A configuration with default timeouts and [`Limits::DEFAULT`].
    pub fn new(server: impl Into<String>, ca: PemSource, cert: PemSource, key: PemSource) -> Self {
        Self {
            server: server.into(),
            server_name: None,
            ca,
            cert,
            key,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            io_timeout: Self::DEFAULT_IO_TIMEOUT,
            limits: Limits::DEFAULT,
        }
    }
}

/// PEM data, from a file or already in memory. In-memory bytes are zeroized when
/// dropped, since they may hold a private key.
#[derive(Clone)]
pub enum PemSource {
    /// Read the file when connecting.
    Path(PathBuf),
    /// These bytes.
    Bytes(Zeroizing<Vec<u8>>),
}

impl PemSource {
    /// PEM read from `path` at connect time.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        Self::Path(path.into())
    }

    /// PEM given in memory.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self::Bytes(Zeroizing::new(bytes.into()))
    }

    fn load(&self, what: &'static str) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
        match self {
            Self::Path(p) => {
                std::fs::read(p)
                    .map(Zeroizing::new)
                    .map_err(|source| ConfigError::Read {
                        what,
                        path: p.clone(),
                        source,
                    })
            }
            Self::Bytes(b) => Ok(b.clone()),
        }
    }
}

impl fmt::Debug for PemSource {
    // Never print the bytes: they may be a private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(p) => f.debug_tuple("Path").field(p).finish(),
            Self::Bytes(b) => write!(f, "Bytes(<{} bytes>)", b.len()),
        }
    }
}

/// Which part of the exchange a timeout or failure hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// The TCP connect.
    Connect,
    /// The TLS handshake.
    Handshake,
    /// Writing a request.
    Write,
    /// Reading a response.
    Read,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Handshake => "TLS handshake",
            Self::Write => "write",
            Self::Read => "read",
        })
    }
}

/// Why a [`Client::call`] failed: the exchange, or the server's answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The connection or the decoding of the answer failed: the connection is not
    /// to be used again.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server answered the item with a failure; the connection is fine.
    #[error("{operation:?}: {status:?} {}{}", reason.map(|r| format!("{r:?}")).unwrap_or_else(|| "(no reason)".into()), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Failed {
        /// The operation.
        operation: Operation,
        /// Result Status.
        status: ResultStatus,
        /// Result Reason, when given.
        reason: Option<ResultReason>,
        /// Result Message, when given.
        message: Option<String>,
    },
    /// The answer had no batch item, or a success without a payload.
    #[error("{0:?}: the answer has no batch item or no payload")]
    Empty(Operation),
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A socket error (connection refused, unreachable, reset during connect, ...).
    #[error("{stage}: {source}")]
    Io {
        /// Where it happened.
        stage: Stage,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// TLS failed: certificate not trusted, name mismatch, peer alert, protocol error.
    #[error("{stage}: TLS: {source}")]
    Tls {
        /// Where it happened.
        stage: Stage,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// The configuration cannot be used (unreadable or malformed PEM, bad name).
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The response is not valid TTLV or breaks [`ClientConfig::limits`]. When the
    /// announced length is over the limit, nothing was allocated for the body.
    #[error("response: {0}")]
    Decode(#[from] DecodeError),
    /// The server did not answer within the configured timeout.
    #[error("{stage}: timed out")]
    Timeout {
        /// Where it happened.
        stage: Stage,
    },
    /// The server closed the connection, or an earlier failure left it unusable
    /// (a half-read frame cannot be resynchronised): connect again.
    #[error("connection closed")]
    Closed,
}

/// Why a [`ClientConfig`] cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A PEM file could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// Which input (`CA certificate`, `client certificate`, `client key`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A PEM input is malformed or holds no item of the expected kind.
    #[error("invalid {what} PEM: {source}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused a certificate or key (e.g. a CA certificate that does not
    /// parse, a key type the provider does not support, a key not matching the cert).
    #[error("{what}: {source}")]
    Rejected {
        /// Which input.
        what: &'static str,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// The server name is neither a DNS name nor an IP address.
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// The server address resolves to no socket address.
    #[error("server address {0:?} resolves to nothing")]
    NoAddress(String),
}

/// A connected, authenticated KMIP client: one TLS connection.
pub struct Client {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    io_timeout: Duration,
    limits: Limits,
    /// Set after a failure that may have left a partial frame on the wire.
    broken: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("peer", &self.tls.sock.peer_addr().ok())
            .field("protocol", &self.tls.conn.protocol_version())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// A [`ClientConfig`] made ready once (certificates and key read and parsed, one
/// rustls configuration), for a caller that opens many connections to one server.
///
/// Connections made by one `Connector` share rustls's in-memory session store, so a
/// server offering resumption (TLS 1.3 tickets, TLS 1.2 tickets or session ids)
/// resumes them instead of running a full handshake each time; the client
/// certificate still authenticates every connection (the server binds it to the
/// resumed session).
#[derive(Clone)]
pub struct Connector {
    tls: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    server: String,
    connect_timeout: Duration,
    io_timeout: Duration,
    limits: Limits,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("server", &self.server)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Reads and checks `cfg`'s certificates and key and the server name.
    pub fn new(cfg: &ClientConfig) -> Result<Self, ClientError> {
        Ok(Self {
            tls: Arc::new(tls_config(cfg)?),
            name: server_name(cfg)?,
            server: cfg.server.clone(),
            connect_timeout: cfg.connect_timeout,
            io_timeout: cfg.io_timeout,
            limits: cfg.limits,
        })
    }

    /// A new connection, as [`Client::connect`].
    pub fn connect(&self) -> Result<Client, ClientError> {
        Client::connect_with(self)
    }
}

impl Client {
    /// Connects to `cfg.server`, completes the TLS handshake (presenting the client
    /// certificate) and returns the ready client. Configuration errors are reported
    /// before any network traffic. Each call reads the configuration afresh and
    /// runs a full handshake; see [`Connector`] for many connections.
    pub fn connect(cfg: &ClientConfig) -> Result<Self, ClientError> {
        Self::connect_with(&Connector::new(cfg)?)
    }

    fn connect_with(cfg: &Connector) -> Result<Self, ClientError> {
        let tls_config = Arc::clone(&cfg.tls);
        let name = cfg.name.clone();
        let sock = connect_tcp(&cfg.server, cfg.connect_timeout)?;
        sock.set_nodelay(true).map_err(|source| ClientError::Io {
            stage: Stage::Connect,
            source,
        })?;
        let conn =
            rustls::ClientConnection::new(tls_config, name).map_err(|source| ClientError::Tls {
                stage: Stage::Handshake,
                source,
            })?;
        let mut client = Self {
            tls: rustls::StreamOwned::new(conn, sock),
            io_timeout: cfg.io_timeout,
            limits: cfg.limits,
            broken: false,
        };
        let deadline = Instant::now() + cfg.connect_timeout;
        while client.tls.conn.is_handshaking() {
            client.arm(deadline, Stage::Handshake)?;
            let (s, c) = (&mut client.tls.sock, &mut client.tls.conn);
            match c.complete_io(s) {
                Ok((0, 0)) if c.is_handshaking() => return Err(ClientError::Closed),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e, Stage::Handshake)),
            }
        }
        Ok(client)
    }

    /// Sends `request` as binary TTLV and decodes the one response message.
    pub fn roundtrip(&mut self, request: &Ttlv) -> Result<Ttlv, ClientError> {
        let response = self.roundtrip_bytes(&binary::encode(request))?;
        // The frame was read whole, so the connection stays usable after this error.
        Ok(binary::decode(&response, &self.limits)?)
    }

    /// Sends `request` as is and returns the raw bytes of one response frame
    /// (header included), not decoded beyond its length.
    pub fn roundtrip_bytes(&mut self, request: &[u8]) -> Result<Vec<u8>, ClientError> {
        if self.broken {
            return Err(ClientError::Closed);
        }
        let result = self.write_request(request).and_then(|()| self.read_frame());
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// Sends `payload` for `operation` as a one-item request at `version` and returns
    /// the item's payload, or the failure the server reported for it.
    pub fn call(
        &mut self,
        version: ProtocolVersion,
        operation: Operation,
        payload: RequestPayload,
    ) -> Result<ResponsePayload, CallError> {
        let request = RequestMessage::single(version, operation, payload).encode();
        self.call_bytes(operation, &request)
    }

    /// [`call`](Self::call) for a one-item request already encoded (a load
    /// generator sends the same bytes many times).
    pub fn call_bytes(
        &mut self,
        operation: Operation,
        request: &[u8],
    ) -> Result<ResponsePayload, CallError> {
        // The answer may carry key material (a Get): wiped once decoded.
        let raw = Zeroizing::new(self.roundtrip_bytes(request)?);
        let msg = ResponseMessage::decode(&raw, &self.limits).map_err(ClientError::from)?;
        let item = msg
            .batch_items
            .into_iter()
            .next()
            .ok_or(CallError::Empty(operation))?;
        if item.result_status != ResultStatus::Success {
            return Err(CallError::Failed {
                operation,
                status: item.result_status,
                reason: item.result_reason,
                message: item.result_message,
            });
        }
        item.payload.ok_or(CallError::Empty(operation))
    }

    /// The negotiated TLS version.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.tls.conn.protocol_version()
    }

    /// Whether the TLS handshake resumed an earlier session (see [`Connector`]).
    pub fn resumed(&self) -> bool {
        self.tls.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// Sends a TLS close_notify and shuts the connection down.
    pub fn close(mut self) -> Result<(), ClientError> {
        self.tls.conn.send_close_notify();
        let deadline = Instant::now() + self.io_timeout;
        while self.tls.conn.wants_write() {
            self.arm(deadline, Stage::Write)?;
            self.tls
                .conn
                .write_tls(&mut self.tls.sock)
                .map_err(|e| io_error(e, Stage::Write))?;
        }
        // The peer may already be gone; the close_notify was the point.
        let _ = self.tls.sock.shutdown(std::net::Shutdown::Both);
        Ok(())
    }

    fn write_request(&mut self, request: &[u8]) -> Result<(), ClientError> {
        let deadline = Instant::now() + self.io_timeout;
        let mut written = 0;
        while written < request.len() {
            self.arm(deadline, Stage::Write)?;
            match self.tls.write(&request[written..]) {
                Ok(0) => return Err(ClientError::Closed),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e, Stage::Write)),
            }
        }
        while self.tls.conn.wants_write() {
            self.arm(deadline, Stage::Write)?;
            match self.tls.conn.write_tls(&mut self.tls.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e, Stage::Write)),
            }
        }
        Ok(())
    }

    fn read_frame(&mut self) -> Result<Vec<u8>, ClientError> {
        let deadline = Instant::now() + self.io_timeout;
        let mut header = [0u8; HEADER_LEN];
        self.read_exact(&mut header, deadline)?;
        // The announced length is checked before the body buffer exists.
        let total = binary::frame_len(&header, &self.limits)?;
        let mut frame = vec![0u8; total];
        frame[..HEADER_LEN].copy_from_slice(&header);
        self.read_exact(&mut frame[HEADER_LEN..], deadline)?;
        Ok(frame)
    }

    fn read_exact(&mut self, mut buf: &mut [u8], deadline: Instant) -> Result<(), ClientError> {
        while !buf.is_empty() {
            self.arm(deadline, Stage::Read)?;
            match self.tls.read(buf) {
                Ok(0) => return Err(ClientError::Closed),
                Ok(n) => buf = &mut buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e, Stage::Read)),
            }
        }
        Ok(())
    }

    /// Sets the socket timeouts to what is left before `deadline`, so one slow
    /// operation spanning many reads or writes still ends on time.
    fn arm(&mut self, deadline: Instant, stage: Stage) -> Result<(), ClientError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ClientError::Timeout { stage });
        }
        let sock = &self.tls.sock;
        sock.set_read_timeout(Some(left))
            .and_then(|()| sock.set_write_timeout(Some(left)))
            .map_err(|source| ClientError::Io { stage, source })
    }
}

fn tls_config(cfg: &ClientConfig) -> Result<rustls::ClientConfig, ClientError> {
    const CA: &str = "CA certificate";
    const CERT: &str = "client certificate";
    const KEY: &str = "client key";

    let mut roots = rustls::RootCertStore::empty();
    for cert in certs(&cfg.ca, CA)? {
        roots
            .add(cert)
            .map_err(|source| ConfigError::Rejected { what: CA, source })?;
    }
    let chain = certs(&cfg.cert, CERT)?;
    let key_pem = cfg.key.load(KEY)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|source| ConfigError::Pem { what: KEY, source })?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|source| ConfigError::Rejected {
            what: "TLS versions",
            source,
        })?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|source| ConfigError::Rejected { what: KEY, source })?;
    Ok(config)
}

fn certs(src: &PemSource, what: &'static str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = src.load(what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ConfigError::Pem { what, source })?;
    if certs.is_empty() {
        return Err(ConfigError::Pem {
            what,
            source: rustls::pki_types::pem::Error::NoItemsFound,
        });
    }
    Ok(certs)
}

fn server_name(cfg: &ClientConfig) -> Result<ServerName<'static>, ConfigError> {
    let name = match &cfg.server_name {
        Some(n) => n.clone(),
        None => host_part(&cfg.server).to_owned(),
    };
    ServerName::try_from(name.clone()).map_err(|_| ConfigError::ServerName(name))
}

/// `host` of `host:port` or `[v6]:port`; the whole string when there is no port.
fn host_part(server: &str) -> &str {
    if let Some(rest) = server.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match server.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.parse::<u16>().is_ok() => h,
        _ => server,
    }
}

/// Tries each resolved address in turn, each under `timeout`.
fn connect_tcp(server: &str, timeout: Duration) -> Result<TcpStream, ClientError> {
    let addrs: Vec<SocketAddr> = server
        .to_socket_addrs()
        .map_err(|source| ClientError::Io {
            stage: Stage::Connect,
            source,
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(io_error(e, Stage::Connect)),
        }
    }
    Err(last.unwrap_or_else(|| ConfigError::NoAddress(server.to_owned()).into()))
}

/// Sorts an I/O error from the socket or from rustls (which wraps its own errors in
/// `io::Error`) into the variant a caller branches on.
fn io_error(e: io::Error, stage: Stage) -> ClientError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            return ClientError::Timeout { stage };
        }
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
            if stage != Stage::Connect =>
        {
            return ClientError::Closed;
        }
        _ => {}
    }
    if !e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return ClientError::Io { stage, source: e };
    }
    let kind = e.kind();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<rustls::Error>())
    {
        Some(Ok(source)) => ClientError::Tls {
            stage,
            source: *source,
        },
        Some(Err(other)) => ClientError::Io {
            stage,
            source: io::Error::new(kind, other),
        },
        None => ClientError::Io {
            stage,
            source: kind.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeErrorKind;
    use crate::ttlv::{Tag, Value};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    use rustls::version::{TLS12, TLS13};
    use rustls::SupportedProtocolVersion;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread::{self, JoinHandle};

    /// A throwaway CA with a server certificate (localhost, 127.0.0.1) and a client
    /// certificate, plus a client certificate from an unrelated CA.
    struct Pki {
        ca_pem: String,
        ca_der: CertificateDer<'static>,
        server_chain: Vec<CertificateDer<'static>>,
        server_key_der: Vec<u8>,
        client_pem: String,
        client_key_pem: String,
        rogue_client_pem: String,
        rogue_client_key_pem: String,
    }

    fn pki() -> Pki {
        let (ca, ca_key) = new_ca("Keygate test CA");
        let (server, server_key) = leaf(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
            &ca_key,
        );
        let (client, client_key) = leaf(&[], ExtendedKeyUsagePurpose::ClientAuth, &ca, &ca_key);
        let (rogue_ca, rogue_ca_key) = new_ca("Rogue CA");
        let (rogue, rogue_key) = leaf(
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            &rogue_ca,
            &rogue_ca_key,
        );
        Pki {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key_der: server_key.serialize_der(),
            client_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
            rogue_client_pem: rogue.pem(),
            rogue_client_key_pem: rogue_key.serialize_pem(),
        }
    }

    fn new_ca(cn: &str) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, cn);
        (params.self_signed(&key).expect("CA cert"), key)
    }

    fn leaf(
        names: &[&str],
        eku: ExtendedKeyUsagePurpose,
        ca: &rcgen::Certificate,
        ca_key: &KeyPair,
    ) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, "leaf");
        params.extended_key_usages = vec![eku];
        (params.signed_by(&key, ca, ca_key).expect("leaf cert"), key)
    }

    fn client_config(pki: &Pki, addr: SocketAddr) -> ClientConfig {
        let mut cfg = ClientConfig::new(
            addr.to_string(),
            PemSource::bytes(pki.ca_pem.clone()),
            PemSource::bytes(pki.client_pem.clone()),
            PemSource::bytes(pki.client_key_pem.clone()),
        );
        cfg.connect_timeout = Duration::from_secs(5);
        cfg.io_timeout = Duration::from_secs(5);
        cfg
    }

    /// What the in-test server does with each request frame.
    enum Behaviour {
        /// Send every frame back.
        Echo,
        /// Read the request, then hold the connection open without answering until
        /// the sender side is dropped or signals.
        Silent(mpsc::Receiver<()>),
        /// Answer the first request with these bytes, then drop the connection
        /// without a close_notify.
        Reply(Vec<u8>),
    }

    /// What the server saw.
    #[derive(Debug)]
    struct Seen {
        client_cert: bool,
        frames: usize,
    }

    fn server(
        pki: &Pki,
        versions: &[&'static SupportedProtocolVersion],
        behaviour: Behaviour,
    ) -> (SocketAddr, JoinHandle<Result<Seen, String>>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone()).expect("CA into roots");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .expect("client verifier");
        let key = PrivateKeyDer::try_from(pki.server_key_der.clone()).expect("server key");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.server_chain.clone(), key)
            .expect("server config");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handle = thread::spawn(move || {
            let (sock, _) = listener.accept().map_err(|e| e.to_string())?;
            sock.set_read_timeout(Some(Duration::from_secs(10)))
                .map_err(|e| e.to_string())?;
            let conn =
                rustls::ServerConnection::new(Arc::new(config)).map_err(|e| e.to_string())?;
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut seen = Seen {
                client_cert: false,
                frames: 0,
            };
            loop {
                let mut header = [0u8; HEADER_LEN];
                if let Err(e) = tls.read_exact(&mut header) {
                    // Client gone (close_notify or EOF): the session is over.
                    return if seen.frames > 0 || e.kind() == io::ErrorKind::UnexpectedEof {
                        Ok(seen)
                    } else {
                        Err(e.to_string())
                    };
                }
                seen.client_cert = tls.conn.peer_certificates().is_some_and(|c| !c.is_empty());
                let total =
                    binary::frame_len(&header, &Limits::DEFAULT).map_err(|e| e.to_string())?;
                let mut frame = vec![0u8; total];
                frame[..HEADER_LEN].copy_from_slice(&header);
                tls.read_exact(&mut frame[HEADER_LEN..])
                    .map_err(|e| e.to_string())?;
                seen.frames += 1;
                match &behaviour {
                    Behaviour::Echo => {
                        tls.write_all(&frame).map_err(|e| e.to_string())?;
                        tls.flush().map_err(|e| e.to_string())?;
                    }
                    Behaviour::Silent(rx) => {
                        let _ = rx.recv_timeout(Duration::from_secs(10));
                        return Ok(seen);
                    }
                    Behaviour::Reply(bytes) => {
                        tls.write_all(bytes).map_err(|e| e.to_string())?;
                        tls.flush().map_err(|e| e.to_string())?;
                        return Ok(seen);
                    }
                }
            }
        });
        (addr, handle)
    }

    fn request() -> Ttlv {
        Ttlv::structure(
            Tag(0x420078),
            vec![
                Ttlv::structure(
                    Tag(0x420077),
                    vec![Ttlv::new(Tag(0x42000D), Value::Integer(1))],
                ),
                Ttlv::new(Tag(0x420094), Value::TextString("hello, gateway".into())),
                Ttlv::new(Tag(0x420042), Value::ByteString(vec![0xAB; 300])),
            ],
        )
    }

    #[test]
    fn closed_port_fails_fast_with_io() {
        let pki = pki();
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        let start = Instant::now();
        let err = Client::connect(&client_config(&pki, addr)).unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::Io {
                    stage: Stage::Connect,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
    }

    #[test]
    fn echo_roundtrip_with_client_cert_tls13_and_tls12() {
        let pki = pki();
        for (version, expect) in [
            (&TLS13, rustls::ProtocolVersion::TLSv1_3),
            (&TLS12, rustls::ProtocolVersion::TLSv1_2),
        ] {
            let (addr, server) = server(&pki, &[version], Behaviour::Echo);
            let mut client = Client::connect(&client_config(&pki, addr)).expect("connect");
            assert_eq!(client.protocol_version(), Some(expect));
            let req = request();
            assert_eq!(client.roundtrip(&req).expect("roundtrip"), req);
            // Same connection, raw bytes this time.
            let bytes = binary::encode(&req);
            assert_eq!(client.roundtrip_bytes(&bytes).expect("raw"), bytes);
            client.close().expect("close");
            let seen = server.join().expect("server thread").expect("server");
            assert!(seen.client_cert, "server saw no client certificate");
            assert_eq!(seen.frames, 2);
        }
    }

    #[test]
    fn silent_server_times_out_then_connection_is_closed() {
        let pki = pki();
        let (tx, rx) = mpsc::channel();
        let (addr, server) = server(&pki, &[&TLS13], Behaviour::Silent(rx));
        let mut cfg = client_config(&pki, addr);
        cfg.io_timeout = Duration::from_millis(300);
        let mut client = Client::connect(&cfg).expect("connect");
        let start = Instant::now();
        let err = client.roundtrip(&request()).unwrap_err();
        let took = start.elapsed();
        assert!(
            matches!(err, ClientError::Timeout { stage: Stage::Read }),
            "{err:?}"
        );
        assert!(
            took >= Duration::from_millis(250),
            "gave up early: {took:?}"
        );
        assert!(took < Duration::from_secs(2), "took {took:?}");
        // A half-read exchange leaves the stream unusable.
        assert!(matches!(
            client.roundtrip(&request()).unwrap_err(),
            ClientError::Closed
        ));
        tx.send(()).expect("release server");
        server.join().expect("server thread").expect("server");
    }

    #[test]
    fn oversized_response_is_refused_from_its_header() {
        let pki = pki();
        // A ResponseMessage header announcing 2 GiB: must fail without allocating.
        let reply = vec![0x42, 0x00, 0x7B, 0x01, 0x7F, 0xFF, 0xFF, 0xF8];
        let (addr, server) = server(&pki, &[&TLS13], Behaviour::Reply(reply));
        let mut client = Client::connect(&client_config(&pki, addr)).expect("connect");
        let err = client.roundtrip(&request()).unwrap_err();
        match err {
            ClientError::Decode(e) => {
                assert!(matches!(e.kind, DecodeErrorKind::TooLarge { .. }), "{e}")
            }
            other => panic!("expected Decode(TooLarge), got {other:?}"),
        }
        drop(client);
        server.join().expect("server thread").expect("server");
    }

    #[test]
    fn server_hanging_up_mid_response_is_closed() {
        let pki = pki();
        // Header promises 16 bytes of body; the server sends 8 and hangs up.
        let mut reply = vec![0x42, 0x00, 0x7B, 0x01, 0x00, 0x00, 0x00, 0x10];
        reply.extend_from_slice(&[0; 8]);
        let (addr, server) = server(&pki, &[&TLS13], Behaviour::Reply(reply));
        let mut client = Client::connect(&client_config(&pki, addr)).expect("connect");
        let start = Instant::now();
        let err = client.roundtrip(&request()).unwrap_err();
        assert!(matches!(err, ClientError::Closed), "{err:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
        server.join().expect("server thread").expect("server");
    }

    #[test]
    fn wrong_server_name_is_a_tls_error() {
        let pki = pki();
        let (addr, server) = server(&pki, &[&TLS13], Behaviour::Echo);
        let mut cfg = client_config(&pki, addr);
        cfg.server_name = Some("other.example".into());
        let err = Client::connect(&cfg).unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::Tls {
                    stage: Stage::Handshake,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(server.join().expect("server thread").is_err());
    }

    #[test]
    fn client_cert_from_another_ca_is_refused() {
        let pki = pki();
        // TLS 1.2: the server judges the client certificate before its Finished, so
        // the refusal reaches the client during the handshake.
        let (addr, server) = server(&pki, &[&TLS12], Behaviour::Echo);
        let mut cfg = client_config(&pki, addr);
        cfg.cert = PemSource::bytes(pki.rogue_client_pem.clone());
        cfg.key = PemSource::bytes(pki.rogue_client_key_pem.clone());
        let err = Client::connect(&cfg).unwrap_err();
        assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
        assert!(server.join().expect("server thread").is_err());
    }

    #[test]
    fn config_errors_come_before_any_connection() {
        let pki = pki();
        // Nothing listens here; a config error must win over the connect error.
        let addr: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let mut cfg = client_config(&pki, addr);
        cfg.ca = PemSource::path("/nonexistent/keygate-ca.pem");
        assert!(matches!(
            Client::connect(&cfg).unwrap_err(),
            ClientError::Config(ConfigError::Read { .. })
        ));
        let mut cfg = client_config(&pki, addr);
        cfg.key = PemSource::bytes("not a key");
        assert!(matches!(
            Client::connect(&cfg).unwrap_err(),
            ClientError::Config(ConfigError::Pem { .. })
        ));
        let mut cfg = client_config(&pki, addr);
        cfg.cert = PemSource::bytes(Vec::new());
        assert!(matches!(
            Client::connect(&cfg).unwrap_err(),
            ClientError::Config(ConfigError::Pem { .. })
        ));
        assert_eq!(
            format!("{:?}", PemSource::bytes("secret")),
            "Bytes(<6 bytes>)"
        );
    }

    #[test]
    fn host_part_of_addresses() {
        assert_eq!(host_part("kmip.example:5696"), "kmip.example");
        assert_eq!(host_part("127.0.0.1:5696"), "127.0.0.1");
        assert_eq!(host_part("[::1]:5696"), "::1");
        assert_eq!(host_part("kmip.example"), "kmip.example");
        assert_eq!(host_part("::1"), "::1");
    }
}
