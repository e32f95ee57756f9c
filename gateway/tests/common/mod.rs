//! Shared fixture for the end-to-end tests: a real daemon made by
//! `keygate::setup::init` in a fresh temporary directory, started with
//! `keygate::daemon::start` on 127.0.0.1:0 inside a tokio runtime the fixture owns,
//! and driven over real mutual TLS by `kmip::client::Client` with the generated
//! client certificates.
//!
//! Requests are written as the XML of their batch items, the way the OASIS test
//! vectors write them; [`req`] adds the Request Header, and [`Kmip::send`] parses,
//! sends and decodes the answer as a typed [`ResponseMessage`] (keeping the raw
//! TTLV tree too, for the version-gating checks).
#![allow(dead_code)]

use keygate::daemon::RunningDaemon;
use keygate::setup::{self, InitOptions, VaultOptions};
use kmip::client::{Client, ClientConfig, ClientError, PemSource};
use kmip::messages::objects::ManagedObject;
use kmip::messages::payloads::ResponsePayload;
use kmip::messages::{Attributes, ResponseBatchItem, ResponseMessage};
use kmip::ttlv::xml::{from_xml, XmlOptions};
use kmip::ttlv::{binary, Tag, Ttlv, Value};
use kmip::types::{ResultReason, ResultStatus};
use kmip::version::ProtocolVersion;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest any single wait in these tests may take; reaching it is a failure.
pub const WAIT: Duration = Duration::from_secs(10);

/// The versions the lifecycle tests run at.
pub const V1_0: ProtocolVersion = ProtocolVersion::V1_0;
pub const V1_2: ProtocolVersion = ProtocolVersion::V1_2;
pub const V1_4: ProtocolVersion = ProtocolVersion::V1_4;
pub const V2_0: ProtocolVersion = ProtocolVersion::V2_0;
pub const V2_1: ProtocolVersion = ProtocolVersion::V2_1;

/// The reason for a Unique Identifier the caller's vault does not hold: 2.x has
/// Object Not Found; 1.x only Item Not Found.
pub fn not_found(v: ProtocolVersion) -> ResultReason {
    if v.is_v1() {
        ResultReason::ItemNotFound
    } else {
        ResultReason::ObjectNotFound
    }
}

// ---------------------------------------------------------------------------
// Temporary directory

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, not yet existing path (init creates it).
    pub fn new(label: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "keygate-e2e-{label}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        Self(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// Daemon fixture

/// A deployment made by `keygate init`, not started yet: edit its config, add
/// vaults and identities, then [`Prepared::start`].
#[derive(Debug)]
pub struct Prepared {
    pub dir: TempDir,
    pub config: PathBuf,
}

impl Prepared {
    pub fn new(label: &str) -> Self {
        let dir = TempDir::new(label);
        let report = setup::init(dir.path(), &InitOptions::default()).expect("keygate init");
        Self {
            config: report.config,
            dir,
        }
    }

    /// Sets `sync = value` in the `[audit]` table.
    pub fn audit_sync(self, value: &str) -> Self {
        let text = std::fs::read_to_string(&self.config).expect("read config");
        assert!(text.contains("\n[audit]\n"), "init config layout changed");
        let text = text.replacen(
            "\n[audit]\n",
            &format!("\n[audit]\nsync = \"{value}\"\n"),
            1,
        );
        std::fs::write(&self.config, text).expect("write config");
        self
    }

    /// Sets `key = value` in the `[limits]` table (the init config has it
    /// commented out; the first call uncomments the table header).
    pub fn limit(self, key: &str, value: u64) -> Self {
        let text = std::fs::read_to_string(&self.config).expect("read config");
        let text = if text.contains("\n[limits]\n") {
            text.replacen("\n[limits]\n", &format!("\n[limits]\n{key} = {value}\n"), 1)
        } else {
            assert!(
                text.contains("\n# [limits]\n"),
                "init config layout changed"
            );
            text.replacen(
                "\n# [limits]\n",
                &format!("\n[limits]\n{key} = {value}\n"),
                1,
            )
        };
        std::fs::write(&self.config, text).expect("write config");
        self
    }

    pub fn vault(self, name: &str) -> Self {
        setup::vault_add(&self.config, name, &VaultOptions::default()).expect("vault add");
        self
    }

    pub fn client(self, name: &str, vault: &str, role: &str) -> Self {
        setup::client_add(&self.config, name, vault, role).expect("client add");
        self
    }

    pub fn start(self) -> Daemon {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let running = rt
            .block_on(keygate::daemon::start(&self.config, Some(loopback())))
            .expect("daemon start");
        Daemon {
            addr: running.addr,
            running: Some(running),
            rt,
            dir: self.dir,
            config: self.config,
        }
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

/// A running daemon on 127.0.0.1 with its deployment directory.
#[derive(Debug)]
pub struct Daemon {
    pub addr: SocketAddr,
    pub config: PathBuf,
    running: Option<RunningDaemon>,
    rt: tokio::runtime::Runtime,
    // Dropped last: the daemon must be stopped before its files go.
    pub dir: TempDir,
}

impl Daemon {
    /// `keygate init` + start, with the default configuration.
    pub fn start(label: &str) -> Self {
        Prepared::new(label).start()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A client config for identity `name` (its files under `clients/NAME`).
    pub fn client_config(&self, name: &str) -> ClientConfig {
        let dir = self.path("clients").join(name);
        self.config_with(
            PemSource::path(dir.join("cert.pem")),
            PemSource::path(dir.join("key.pem")),
        )
    }

    /// A client config presenting the given certificate and key.
    pub fn config_with(&self, cert: PemSource, key: PemSource) -> ClientConfig {
        let mut cfg = ClientConfig::new(
            self.addr.to_string(),
            PemSource::path(self.path("ca.pem")),
            cert,
            key,
        );
        cfg.connect_timeout = Duration::from_secs(5);
        cfg.io_timeout = WAIT;
        cfg
    }

    /// A connected client for identity `name`.
    pub fn connect(&self, name: &str) -> Kmip {
        Kmip::connect(&self.client_config(name))
            .unwrap_or_else(|e| panic!("connect as {name}: {e}"))
    }

    /// A raw TLS connection as identity `name`, for sending malformed bytes.
    pub fn raw(&self, name: &str) -> RawConn {
        RawConn::connect(self, name)
    }

    /// Begins a graceful shutdown without waiting for it.
    pub fn stop_in_background(
        &mut self,
    ) -> tokio::task::JoinHandle<Result<(), keygate::daemon::DaemonError>> {
        let d = self.running.take().expect("daemon running");
        self.rt.spawn(d.stop())
    }

    /// Waits for a shutdown begun by [`Self::stop_in_background`].
    pub fn join_stop(&self, h: tokio::task::JoinHandle<Result<(), keygate::daemon::DaemonError>>) {
        self.rt
            .block_on(async { tokio::time::timeout(WAIT, h).await })
            .expect("shutdown finished in time")
            .expect("stop task")
            .expect("clean shutdown");
    }

    /// Stops the daemon gracefully and waits.
    pub fn stop(&mut self) {
        let h = self.stop_in_background();
        self.join_stop(h);
    }

    /// Starts the daemon again on the same deployment (new port).
    pub fn restart(&mut self) {
        assert!(self.running.is_none(), "stop the daemon first");
        let running = self
            .rt
            .block_on(keygate::daemon::start(&self.config, Some(loopback())))
            .expect("daemon restart");
        self.addr = running.addr;
        self.running = Some(running);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(d) = self.running.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(5), d.stop()).await });
        }
    }
}

/// Polls `f` every 50 ms until it returns true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// KMIP client

/// A KMIP client over one mutual-TLS connection.
#[derive(Debug)]
pub struct Kmip {
    client: Client,
}

impl Kmip {
    pub fn connect(cfg: &ClientConfig) -> Result<Self, ClientError> {
        Client::connect(cfg).map(|client| Self { client })
    }

    /// Sends the batch items `items` (XML) at version `v`.
    pub fn send(&mut self, v: ProtocolVersion, items: &str) -> Reply {
        self.send_with(v, "", items)
    }

    /// As [`Self::send`], with extra Request Header fields (XML, placed between
    /// Protocol Version and Batch Count).
    pub fn send_with(&mut self, v: ProtocolVersion, header: &str, items: &str) -> Reply {
        self.try_send(v, header, items)
            .unwrap_or_else(|e| panic!("request failed: {e}"))
    }

    pub fn try_send(
        &mut self,
        v: ProtocolVersion,
        header: &str,
        items: &str,
    ) -> Result<Reply, ClientError> {
        self.send_ttlv(&parse(&req(v, header, items)))
    }

    /// Sends a request tree and decodes the response.
    pub fn send_ttlv(&mut self, request: &Ttlv) -> Result<Reply, ClientError> {
        let raw = self.client.roundtrip(request)?;
        let msg = ResponseMessage::from_ttlv(&raw)
            .unwrap_or_else(|e| panic!("response does not decode: {e}"));
        Ok(Reply { raw, msg })
    }

    /// Sends raw bytes and returns the raw response frame.
    pub fn send_bytes(&mut self, request: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.client.roundtrip_bytes(request)
    }

    // Shorthands for the common single-item requests.

    /// Create AES-`bits` named `name`; returns its UID.
    pub fn create_aes(&mut self, v: ProtocolVersion, name: &str) -> String {
        self.send(v, &create_aes(v, name, 256)).uid(0)
    }

    pub fn get_attributes(&mut self, v: ProtocolVersion, uid: &str, names: &[&str]) -> Attributes {
        self.send(v, &get_attributes(v, uid, names))
            .attributes(0)
            .clone()
    }

    pub fn locate_name(&mut self, v: ProtocolVersion, name: &str) -> Vec<String> {
        self.send(v, &locate_name(v, name)).located(0)
    }
}

/// A decoded response: the typed message and the TTLV tree it came from.
#[derive(Debug)]
pub struct Reply {
    pub raw: Ttlv,
    pub msg: ResponseMessage,
}

impl Reply {
    pub fn item(&self, i: usize) -> &ResponseBatchItem {
        self.msg
            .batch_items
            .get(i)
            .unwrap_or_else(|| panic!("no batch item {i} in {:#?}", self.msg.batch_items))
    }

    pub fn len(&self) -> usize {
        self.msg.batch_items.len()
    }

    /// The payload of item `i`, which must have succeeded.
    pub fn ok(&self, i: usize) -> &ResponsePayload {
        let it = self.item(i);
        assert_eq!(
            it.result_status,
            ResultStatus::Success,
            "item {i} ({:?}) failed: {:?} {:?}",
            it.operation,
            it.result_reason,
            it.result_message
        );
        it.payload
            .as_ref()
            .unwrap_or_else(|| panic!("item {i} has no payload"))
    }

    /// The result reason of item `i`, which must have failed.
    pub fn failed(&self, i: usize) -> ResultReason {
        let it = self.item(i);
        assert_eq!(
            it.result_status,
            ResultStatus::OperationFailed,
            "item {i} ({:?}) did not fail",
            it.operation
        );
        it.result_reason
            .unwrap_or_else(|| panic!("item {i} failed without a Result Reason"))
    }

    /// The Unique Identifier a successful item returned.
    pub fn uid(&self, i: usize) -> String {
        use ResponsePayload as R;
        match self.ok(i) {
            R::Create(p) => p.unique_identifier.clone(),
            R::Register(p) => p.unique_identifier.clone(),
            R::ReKey(p) => p.unique_identifier.clone(),
            R::Get(p) => p.unique_identifier.clone(),
            R::GetAttributes(p) => p.unique_identifier.clone(),
            R::AddAttribute(p) | R::ModifyAttribute(p) | R::DeleteAttribute(p) => {
                p.unique_identifier.clone()
            }
            R::Activate(p) | R::Revoke(p) | R::Destroy(p) | R::Archive(p) | R::Recover(p) => {
                p.unique_identifier.clone()
            }
            other => panic!("item {i} carries no UID: {other:?}"),
        }
    }

    /// The Unique Identifier of a successful Check.
    pub fn uid_of_check(&self, i: usize) -> String {
        match self.ok(i) {
            ResponsePayload::Check(p) => p.unique_identifier.clone(),
            other => panic!("item {i} is not Check: {other:?}"),
        }
    }

    pub fn attributes(&self, i: usize) -> &Attributes {
        match self.ok(i) {
            ResponsePayload::GetAttributes(p) => &p.attributes,
            other => panic!("item {i} is not GetAttributes: {other:?}"),
        }
    }

    pub fn object(&self, i: usize) -> &ManagedObject {
        match self.ok(i) {
            ResponsePayload::Get(p) => &p.object,
            other => panic!("item {i} is not Get: {other:?}"),
        }
    }

    pub fn located(&self, i: usize) -> Vec<String> {
        match self.ok(i) {
            ResponsePayload::Locate(p) => p.unique_identifiers.clone(),
            other => panic!("item {i} is not Locate: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Request XML

/// A whole request message: header for version `v` with the extra header fields
/// `header`, Batch Count from the number of `<BatchItem>` in `items`.
pub fn req(v: ProtocolVersion, header: &str, items: &str) -> String {
    let count = items.matches("<BatchItem>").count();
    format!(
        "<RequestMessage><RequestHeader><ProtocolVersion>\
         <ProtocolVersionMajor type=\"Integer\" value=\"{}\"/>\
         <ProtocolVersionMinor type=\"Integer\" value=\"{}\"/>\
         </ProtocolVersion>{header}<BatchCount type=\"Integer\" value=\"{count}\"/>\
         </RequestHeader>{items}</RequestMessage>",
        v.major, v.minor
    )
}

/// Parses request XML (test input: a failure is a test bug).
pub fn parse(xml: &str) -> Ttlv {
    from_xml(xml, &XmlOptions::default()).unwrap_or_else(|e| panic!("bad test XML: {e}\n{xml}"))
}

/// One batch item.
pub fn item(op: &str, payload: &str) -> String {
    format!(
        "<BatchItem><Operation type=\"Enumeration\" value=\"{op}\"/>\
         <RequestPayload>{payload}</RequestPayload></BatchItem>"
    )
}

pub fn text(tag: &str, value: &str) -> String {
    format!("<{tag} type=\"TextString\" value=\"{value}\"/>")
}

pub fn enumeration(tag: &str, value: &str) -> String {
    format!("<{tag} type=\"Enumeration\" value=\"{value}\"/>")
}

pub fn uid(u: &str) -> String {
    text("UniqueIdentifier", u)
}

/// A standard attribute in the shape of version `v`: `xml_name` is the 2.x tag
/// name (`CryptographicLength`), whose 1.x Attribute Name comes from the tag table.
pub fn attr(v: ProtocolVersion, xml_name: &str, ty: &str, value: &str) -> String {
    if v.is_v1() {
        format!(
            "<Attribute>{}<AttributeValue type=\"{ty}\" value=\"{value}\"/></Attribute>",
            text("AttributeName", spec_name(xml_name))
        )
    } else {
        format!("<{xml_name} type=\"{ty}\" value=\"{value}\"/>")
    }
}

/// A Name attribute (Uninterpreted Text String).
pub fn name_attr(v: ProtocolVersion, name: &str) -> String {
    let inner = format!(
        "{}{}",
        text("NameValue", name),
        enumeration("NameType", "UninterpretedTextString")
    );
    if v.is_v1() {
        format!(
            "<Attribute>{}<AttributeValue>{inner}</AttributeValue></Attribute>",
            text("AttributeName", "Name")
        )
    } else {
        format!("<Name>{inner}</Name>")
    }
}

/// A vendor/custom attribute: 1.x `x-NAME` text, 2.x Vendor Identification `vendor`.
pub fn vendor_attr(v: ProtocolVersion, vendor: &str, name: &str, value: &str) -> String {
    if v.is_v1() {
        format!(
            "<Attribute>{}{}</Attribute>",
            text("AttributeName", &format!("{vendor}-{name}")),
            text("AttributeValue", value)
        )
    } else {
        format!(
            "<Attribute>{}{}{}</Attribute>",
            text("VendorIdentification", vendor),
            text("AttributeName", name),
            text("AttributeValue", value)
        )
    }
}

/// An attribute set: 1.x Template-Attribute, 2.x Attributes.
pub fn attrs(v: ProtocolVersion, inner: &str) -> String {
    if v.is_v1() {
        format!("<TemplateAttribute>{inner}</TemplateAttribute>")
    } else {
        format!("<Attributes>{inner}</Attributes>")
    }
}

pub fn spec_name(xml_name: &str) -> &'static str {
    Tag::from_name(xml_name)
        .and_then(|t| t.info())
        .map(|i| i.spec_name)
        .unwrap_or_else(|| panic!("unknown tag name {xml_name}"))
}

/// Create an AES key of `bits` named `name`, usage Encrypt|Decrypt.
pub fn create_aes(v: ProtocolVersion, name: &str, bits: u32) -> String {
    let a = [
        name_attr(v, name),
        attr(v, "CryptographicAlgorithm", "Enumeration", "AES"),
        attr(v, "CryptographicLength", "Integer", &bits.to_string()),
        attr(v, "CryptographicUsageMask", "Integer", "Encrypt Decrypt"),
    ]
    .concat();
    item(
        "Create",
        &format!(
            "{}{}",
            enumeration("ObjectType", "SymmetricKey"),
            attrs(v, &a)
        ),
    )
}

/// Create without a name.
pub fn create_aes_unnamed(v: ProtocolVersion) -> String {
    let a = [
        attr(v, "CryptographicAlgorithm", "Enumeration", "AES"),
        attr(v, "CryptographicLength", "Integer", "256"),
        attr(v, "CryptographicUsageMask", "Integer", "Encrypt Decrypt"),
    ]
    .concat();
    item(
        "Create",
        &format!(
            "{}{}",
            enumeration("ObjectType", "SymmetricKey"),
            attrs(v, &a)
        ),
    )
}

/// An item whose payload is only a Unique Identifier (Activate, Destroy, Get, ...);
/// `None` leaves it to the ID placeholder.
pub fn by_uid(op: &str, u: Option<&str>) -> String {
    item(op, &u.map(uid).unwrap_or_default())
}

pub fn get(u: &str) -> String {
    by_uid("Get", Some(u))
}

pub fn get_format(u: &str, format: &str) -> String {
    item(
        "Get",
        &format!("{}{}", uid(u), enumeration("KeyFormatType", format)),
    )
}

pub fn activate(u: &str) -> String {
    by_uid("Activate", Some(u))
}

pub fn destroy(u: &str) -> String {
    by_uid("Destroy", Some(u))
}

pub fn revoke(u: &str, code: &str) -> String {
    item(
        "Revoke",
        &format!(
            "{}<RevocationReason>{}</RevocationReason>",
            uid(u),
            enumeration("RevocationReasonCode", code)
        ),
    )
}

/// Get Attributes of `names` (2.x tag names; 1.x Attribute Names are derived).
/// Empty `names`: all attributes.
pub fn get_attributes(v: ProtocolVersion, u: &str, names: &[&str]) -> String {
    let refs: String = names
        .iter()
        .map(|n| {
            if v.is_v1() {
                text("AttributeName", spec_name(n))
            } else {
                enumeration("AttributeReference", n)
            }
        })
        .collect();
    item("GetAttributes", &format!("{}{refs}", uid(u)))
}

/// Get Attributes of one vendor attribute.
pub fn get_vendor_attribute(v: ProtocolVersion, u: &str, vendor: &str, name: &str) -> String {
    let r = if v.is_v1() {
        text("AttributeName", &format!("{vendor}-{name}"))
    } else {
        format!(
            "<AttributeReference>{}{}</AttributeReference>",
            text("VendorIdentification", vendor),
            text("AttributeName", name)
        )
    };
    item("GetAttributes", &format!("{}{r}", uid(u)))
}

/// Locate by Name.
pub fn locate_name(v: ProtocolVersion, name: &str) -> String {
    let n = name_attr(v, name);
    item(
        "Locate",
        &if v.is_v1() {
            n
        } else {
            format!("<Attributes>{n}</Attributes>")
        },
    )
}

/// Locate everything (of the caller's vault).
pub fn locate_all(v: ProtocolVersion) -> String {
    item("Locate", if v.is_v1() { "" } else { "<Attributes/>" })
}

pub fn query() -> String {
    item("Query", &enumeration("QueryFunction", "QueryOperations"))
}

// ---------------------------------------------------------------------------
// Raw TLS connection

/// A mutual-TLS connection that sends arbitrary bytes.
#[derive(Debug)]
pub struct RawConn {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

/// What a read on a [`RawConn`] found.
#[derive(Debug)]
pub enum RawRead {
    /// A whole TTLV frame.
    Frame(Vec<u8>),
    /// The server closed the connection (cleanly or by reset).
    Closed,
    /// Nothing within the time given.
    Timeout,
}

impl RawConn {
    pub fn connect(d: &Daemon, name: &str) -> Self {
        let dir = d.path("clients").join(name);
        Self::try_connect(
            d.addr,
            &d.path("ca.pem"),
            &std::fs::read(dir.join("cert.pem")).expect("cert"),
            &std::fs::read(dir.join("key.pem")).expect("key"),
        )
        .unwrap_or_else(|e| panic!("raw connect as {name}: {e}"))
    }

    pub fn try_connect(
        addr: SocketAddr,
        ca: &Path,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> io::Result<Self> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).expect("ca pem") {
            roots.add(c.expect("ca cert")).expect("ca cert");
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .expect("cert pem");
        let key = PrivateKeyDer::from_pem_slice(key_pem).expect("key pem");
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client cert");
        let name = ServerName::try_from("127.0.0.1").expect("server name");
        let conn = rustls::ClientConnection::new(Arc::new(cfg), name).map_err(io::Error::other)?;
        let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        sock.set_nodelay(true)?;
        sock.set_read_timeout(Some(Duration::from_secs(5)))?;
        sock.set_write_timeout(Some(Duration::from_secs(5)))?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(Self { tls })
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tls.write_all(bytes)?;
        self.tls.flush()
    }

    /// Reads one frame within `limit`.
    pub fn read_frame(&mut self, limit: Duration) -> RawRead {
        let end = Instant::now() + limit;
        let mut buf = Vec::new();
        loop {
            if buf.len() >= 8 {
                let len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
                if buf.len() >= 8 + len {
                    buf.truncate(8 + len);
                    return RawRead::Frame(buf);
                }
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return RawRead::Timeout;
            }
            let _ = self
                .tls
                .sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            let mut chunk = [0u8; 4096];
            match self.tls.read(&mut chunk) {
                Ok(0) => return RawRead::Closed,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return RawRead::Closed,
            }
        }
    }

    /// True when the server has closed the connection (checked without waiting
    /// more than a few milliseconds).
    pub fn is_closed(&mut self) -> bool {
        matches!(self.read_frame(Duration::from_millis(5)), RawRead::Closed)
    }

    /// Closes the TCP connection without a TLS close_notify.
    pub fn abort(self) {
        let _ = self.tls.sock.shutdown(std::net::Shutdown::Both);
    }
}

/// The binary encoding of a request.
pub fn encode(request: &Ttlv) -> Vec<u8> {
    binary::encode(request)
}

/// Every item of a tree, depth first.
pub fn walk<'a>(t: &'a Ttlv, out: &mut Vec<&'a Ttlv>) {
    out.push(t);
    if let Value::Structure(c) = &t.value {
        for x in c {
            walk(x, out);
        }
    }
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Standard base64 (with padding) of `b`.
pub fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `n` deterministic pseudo-random bytes (distinct per `seed`).
pub fn bytes(seed: u8, n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}
