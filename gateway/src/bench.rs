//! Load generator (`keygate bench`): a closed loop of one KMIP operation on N
//! mutual-TLS connections against any KMIP server, with latency percentiles.
//!
//! Requests are plain, standard KMIP built from the typed messages (one batch item,
//! no vendor extensions), so the tool runs against other servers too. The keys an
//! operation needs are prepared first over KMIP (Create / Register / Create Key
//! Pair, then Activate); a server that refuses a preparation step or the operation
//! itself is reported with the server's Result Reason and message.
//!
//! Each connection is one std thread with one blocking [`Client`]; it records the
//! latency of every successful operation in microseconds (`Vec<u32>`), and the
//! vectors are merged and sorted at the end for exact (nearest-rank) percentiles.
//! All connections of a run come from one [`Connector`], so a server that offers
//! TLS session resumption resumes them (`connect` reports how many did);
//! [`BenchConfig::fresh_tls`] makes every connection run a full handshake instead.
//!
//! `idle` opens N connections, makes one Discover Versions on each, and holds them
//! all open for the run's duration: with [`BenchConfig::server_pid`] the report
//! carries the server's resident memory then ([`BenchReport::server_rss_kib`]).
//!
//! [`raw`] is the baseline without KMIP: the same operations through `cryptoki`
//! straight on a PKCS#11 token, same thread count, same report.

pub mod raw;

use kmip::client::{CallError, Client, ClientConfig, Connector};
use kmip::messages::objects::CryptographicParameters;
use kmip::messages::objects::{KeyBlock, KeyMaterial, KeyValue, ManagedObject, SymmetricKey};
use kmip::messages::payloads::{
    CreateKeyPairRequest, CreateRequest, DiscoverVersionsRequest, EncryptRequest, GetRequest,
    LocateRequest, MacRequest, RegisterRequest, SignRequest, UniqueIdentifierRequest,
};
use kmip::messages::{Attribute, Attributes, RequestMessage, RequestPayload, ResponsePayload};
use kmip::types::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm,
    KeyFormatType, ObjectType, Operation, PaddingMethod,
};
use kmip::version::ProtocolVersion;
use kmip::{Tag, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The operation under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchOp {
    /// Get of a prepared AES-256 key.
    Get,
    /// Create of an AES-256 key.
    Create,
    /// Register of an AES-256 key.
    Register,
    /// Locate by the Name of a prepared key.
    Locate,
    /// Encrypt (AES-256-GCM, server-chosen IV) of `payload` bytes.
    Encrypt,
    /// Sign of `payload` bytes with a prepared RSA-2048 or ECDSA P-256 key.
    Sign,
    /// MAC (HMAC-SHA256) of `payload` bytes.
    Mac,
    /// New mTLS connection + Discover Versions + Get + close.
    Connect,
    /// Open the connections (Discover Versions once on each) and hold them, idle,
    /// for the duration.
    Idle,
}

impl BenchOp {
    /// Every operation, by its command-line name.
    pub const ALL: [(&'static str, Self); 9] = [
        ("get", Self::Get),
        ("create", Self::Create),
        ("register", Self::Register),
        ("locate", Self::Locate),
        ("encrypt", Self::Encrypt),
        ("sign", Self::Sign),
        ("mac", Self::Mac),
        ("connect", Self::Connect),
        ("idle", Self::Idle),
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

impl FromStr for BenchOp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, o)| *o)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown operation {s:?} (one of {})", names.join(", "))
            })
    }
}

/// Signature algorithm for `sign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignAlg {
    /// RSA-2048, PKCS#1 v1.5 with SHA-256.
    Rsa,
    /// ECDSA P-256 with SHA-256.
    Ec,
}

impl SignAlg {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::Ec => "ec",
        }
    }
}

impl FromStr for SignAlg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rsa" => Ok(Self::Rsa),
            "ec" => Ok(Self::Ec),
            _ => Err(format!("unknown algorithm {s:?} (rsa or ec)")),
        }
    }
}

/// When the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After this long.
    Duration(Duration),
    /// After this many operations in total (over all connections).
    Requests(u64),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Connection settings (server, CA, client certificate and key).
    pub client: ClientConfig,
    /// The operation.
    pub op: BenchOp,
    /// Number of connections (one thread each).
    pub connections: usize,
    /// When to stop.
    pub limit: Limit,
    /// Data size for encrypt, sign and mac.
    pub payload: usize,
    /// Protocol version of every request.
    pub version: ProtocolVersion,
    /// Key type for sign.
    pub alg: SignAlg,
    /// Print progress to stderr once a second.
    pub progress: bool,
    /// A new TLS configuration for every connection, so none resumes a session
    /// (every `connect` iteration then runs a full handshake).
    pub fresh_tls: bool,
    /// The server's process id, when it runs on this machine: its resident memory
    /// is read from `/proc/PID/status` before and during the run.
    pub server_pid: Option<u32>,
}

impl BenchConfig {
    /// A run of `op` on `connections` connections until `limit`, with the defaults
    /// of the command line otherwise (64-byte payload, KMIP 1.4, RSA, no progress).
    pub fn new(client: ClientConfig, op: BenchOp, connections: usize, limit: Limit) -> Self {
        Self {
            client,
            op,
            connections,
            limit,
            payload: 64,
            version: ProtocolVersion::V1_4,
            alg: SignAlg::Rsa,
            progress: false,
            fresh_tls: false,
            server_pid: None,
        }
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// Preparing the keys failed (the server lacks an operation, refuses the
    /// caller, ...).
    #[error("preparation failed: {0}")]
    Prepare(String),
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Operations attempted (successes + errors).
    pub ops: u64,
    /// Operations that failed.
    pub errors: u64,
    /// Wall time of the loop.
    pub elapsed: Duration,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Latency percentiles of the successful operations, in microseconds.
    pub latency: LatencyStats,
    /// Distinct error messages with their counts (most frequent first).
    pub error_samples: Vec<(String, u64)>,
    /// Connections whose TLS handshake resumed an earlier session.
    pub resumed: u64,
    /// The server's resident memory (VmRSS, KiB) before the connections opened.
    pub server_rss_before_kib: Option<u64>,
    /// The server's resident memory (VmRSS, KiB) at the end of the run: for
    /// `idle` while all the connections are held open, otherwise just after the
    /// loop.
    pub server_rss_kib: Option<u64>,
}

/// Latency summary in microseconds (all zero when nothing succeeded).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyStats {
    /// Number of samples.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u32,
    /// 90th percentile.
    pub p90: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Largest.
    pub max: u32,
}

impl LatencyStats {
    /// Summarises `samples` (sorted in place).
    pub fn from_samples(samples: &mut [u32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let sum: u64 = samples.iter().map(|&x| u64::from(x)).sum();
        Self {
            count: samples.len(),
            mean: sum as f64 / samples.len() as f64,
            p50: percentile(samples, 50),
            p90: percentile(samples, 90),
            p99: percentile(samples, 99),
            max: samples[samples.len() - 1],
        }
    }
}

/// Nearest-rank percentile `p` (1..=100, percent) of sorted, non-empty `sorted`: the
/// smallest sample such that at least p % of the samples are at or below it.
pub fn percentile(sorted: &[u32], p: u32) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len();
    // rank = ceil(p/100 * n), in integers.
    let rank = (u64::from(p.min(100)) * n as u64).div_ceil(100);
    let rank = usize::try_from(rank).unwrap_or(n);
    sorted[rank.clamp(1, n) - 1]
}

/// Parses `10s`, `500ms`, `2m` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (e.g. 10s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("invalid duration unit in {s:?} (ms, s or m)")),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("duration must be positive: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `1.2`, `1.4`, `2.1` (any version the codec supports).
pub fn parse_version(s: &str) -> Result<ProtocolVersion, String> {
    let bad = || format!("invalid KMIP version {s:?} (e.g. 1.2, 1.4, 2.1)");
    let (a, b) = s.split_once('.').ok_or_else(bad)?;
    let v = ProtocolVersion::new(a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if v.is_supported() {
        Ok(v)
    } else {
        Err(bad())
    }
}

// ---------------------------------------------------------------------------
// Requests

/// The binary encoding of a one-item request.
fn request(v: ProtocolVersion, operation: Operation, payload: RequestPayload) -> Vec<u8> {
    RequestMessage::single(v, operation, payload).encode()
}

fn enumeration(tag: Tag, v: u32) -> Attribute {
    Attribute::standard(tag, Value::Enumeration(v))
}

fn integer(tag: Tag, v: i32) -> Attribute {
    Attribute::standard(tag, Value::Integer(v))
}

fn mask(bits: &[CryptographicUsageMask]) -> Attribute {
    let m = bits.iter().fold(0u32, |m, b| m | b.value());
    integer(Tag::CRYPTOGRAPHIC_USAGE_MASK, m as i32)
}

fn attributes(items: Vec<Attribute>) -> Attributes {
    Attributes {
        items,
        template_names: Vec::new(),
    }
}

fn sym_attrs(alg: CryptographicAlgorithm, usage: &[CryptographicUsageMask]) -> Vec<Attribute> {
    vec![
        enumeration(Tag::CRYPTOGRAPHIC_ALGORITHM, alg.value()),
        integer(Tag::CRYPTOGRAPHIC_LENGTH, 256),
        mask(usage),
    ]
}

fn create_req(v: ProtocolVersion, attrs: Vec<Attribute>) -> Vec<u8> {
    request(
        v,
        Operation::Create,
        RequestPayload::Create(CreateRequest {
            object_type: ObjectType::SymmetricKey,
            attributes: attributes(attrs),
            protection_storage_masks: None,
            extensions: Vec::new(),
        }),
    )
}

fn register_req(v: ProtocolVersion) -> Vec<u8> {
    use CryptographicUsageMask as U;
    let key: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    request(
        v,
        Operation::Register,
        RequestPayload::Register(RegisterRequest {
            object_type: ObjectType::SymmetricKey,
            attributes: attributes(vec![mask(&[U::Encrypt, U::Decrypt])]),
            object: ManagedObject::SymmetricKey(SymmetricKey {
                key_block: KeyBlock {
                    key_format_type: KeyFormatType::Raw,
                    key_compression_type: None,
                    key_value: Some(KeyValue::plain(KeyMaterial::Bytes(key))),
                    cryptographic_algorithm: Some(CryptographicAlgorithm::Aes),
                    cryptographic_length: Some(256),
                    key_wrapping_data: None,
                    extensions: Vec::new(),
                },
                extensions: Vec::new(),
            }),
            protection_storage_masks: None,
            extensions: Vec::new(),
        }),
    )
}

fn uid_req(v: ProtocolVersion, op: Operation, uid: &str) -> Vec<u8> {
    let p = UniqueIdentifierRequest {
        unique_identifier: Some(uid.to_owned()),
        extensions: Vec::new(),
    };
    let payload = match op {
        Operation::Activate => RequestPayload::Activate(p),
        _ => RequestPayload::Destroy(p),
    };
    request(v, op, payload)
}

fn get_req(v: ProtocolVersion, uid: &str) -> Vec<u8> {
    request(
        v,
        Operation::Get,
        RequestPayload::Get(GetRequest {
            unique_identifier: Some(uid.to_owned()),
            key_format_type: None,
            key_wrap_type: None,
            key_compression_type: None,
            key_wrapping_specification: None,
            extensions: Vec::new(),
        }),
    )
}

fn discover_req(v: ProtocolVersion) -> Vec<u8> {
    request(
        v,
        Operation::DiscoverVersions,
        RequestPayload::DiscoverVersions(DiscoverVersionsRequest {
            protocol_versions: Vec::new(),
            extensions: Vec::new(),
        }),
    )
}

fn locate_req(v: ProtocolVersion, n: &str) -> Vec<u8> {
    request(
        v,
        Operation::Locate,
        RequestPayload::Locate(LocateRequest {
            maximum_items: None,
            offset_items: None,
            storage_status_mask: None,
            object_group_member: None,
            attributes: attributes(vec![Attribute::name(n)]),
            extensions: Vec::new(),
        }),
    )
}

fn params() -> CryptographicParameters {
    CryptographicParameters {
        block_cipher_mode: None,
        padding_method: None,
        hashing_algorithm: None,
        key_role_type: None,
        digital_signature_algorithm: None,
        cryptographic_algorithm: None,
        random_iv: None,
        iv_length: None,
        tag_length: None,
        fixed_field_length: None,
        invocation_field_length: None,
        counter_length: None,
        initial_counter_value: None,
        salt_length: None,
        mask_generator: None,
        mask_generator_hashing_algorithm: None,
        p_source: None,
        trailer_field: None,
        extensions: Vec::new(),
    }
}

fn encrypt_req(v: ProtocolVersion, uid: &str, data: &[u8]) -> Vec<u8> {
    let mut p = params();
    p.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
    p.block_cipher_mode = Some(BlockCipherMode::Gcm);
    p.random_iv = Some(true);
    p.tag_length = Some(16);
    request(
        v,
        Operation::Encrypt,
        RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: Some(uid.to_owned()),
            cryptographic_parameters: Some(p),
            data: Some(data.to_vec()),
            iv_counter_nonce: None,
            correlation_value: None,
            init_indicator: None,
            final_indicator: None,
            authenticated_encryption_additional_data: None,
            extensions: Vec::new(),
        }),
    )
}

fn sign_req(v: ProtocolVersion, alg: SignAlg, uid: &str, data: &[u8]) -> Vec<u8> {
    let mut p = params();
    p.hashing_algorithm = Some(HashingAlgorithm::Sha256);
    match alg {
        SignAlg::Rsa => {
            p.cryptographic_algorithm = Some(CryptographicAlgorithm::Rsa);
            p.padding_method = Some(PaddingMethod::Pkcs1V1_5);
        }
        SignAlg::Ec => p.cryptographic_algorithm = Some(CryptographicAlgorithm::Ecdsa),
    }
    request(
        v,
        Operation::Sign,
        RequestPayload::Sign(SignRequest {
            unique_identifier: Some(uid.to_owned()),
            cryptographic_parameters: Some(p),
            data: Some(data.to_vec()),
            digested_data: None,
            correlation_value: None,
            init_indicator: None,
            final_indicator: None,
            extensions: Vec::new(),
        }),
    )
}

fn mac_req(v: ProtocolVersion, uid: &str, data: &[u8]) -> Vec<u8> {
    let mut p = params();
    p.cryptographic_algorithm = Some(CryptographicAlgorithm::HmacSha256);
    request(
        v,
        Operation::Mac,
        RequestPayload::Mac(MacRequest {
            unique_identifier: Some(uid.to_owned()),
            cryptographic_parameters: Some(p),
            data: Some(data.to_vec()),
            correlation_value: None,
            init_indicator: None,
            final_indicator: None,
            extensions: Vec::new(),
        }),
    )
}

fn keypair_req(v: ProtocolVersion, alg: SignAlg) -> Vec<u8> {
    use CryptographicUsageMask as U;
    let (a, bits) = match alg {
        SignAlg::Rsa => (CryptographicAlgorithm::Rsa, 2048),
        SignAlg::Ec => (CryptographicAlgorithm::Ecdsa, 256),
    };
    request(
        v,
        Operation::CreateKeyPair,
        RequestPayload::CreateKeyPair(CreateKeyPairRequest {
            common_attributes: Some(attributes(vec![
                enumeration(Tag::CRYPTOGRAPHIC_ALGORITHM, a.value()),
                integer(Tag::CRYPTOGRAPHIC_LENGTH, bits),
            ])),
            private_key_attributes: Some(attributes(vec![mask(&[U::Sign])])),
            public_key_attributes: Some(attributes(vec![mask(&[U::Verify])])),
            common_protection_storage_masks: None,
            private_protection_storage_masks: None,
            public_protection_storage_masks: None,
            extensions: Vec::new(),
        }),
    )
}

/// The requests a run sends, for benchmarks that skip the network
/// (`gateway/benches/request_path.rs`): binary TTLV of one-item KMIP requests.
pub mod requests {
    use super::{CryptographicAlgorithm, CryptographicUsageMask as U, Operation};
    use kmip::version::ProtocolVersion;

    /// Create of an AES-256 key for Encrypt and Decrypt.
    pub fn create_aes(v: ProtocolVersion) -> Vec<u8> {
        super::create_req(
            v,
            super::sym_attrs(CryptographicAlgorithm::Aes, &[U::Encrypt, U::Decrypt]),
        )
    }

    /// Activate of `uid`.
    pub fn activate(v: ProtocolVersion, uid: &str) -> Vec<u8> {
        super::uid_req(v, Operation::Activate, uid)
    }

    /// Get of `uid`.
    pub fn get(v: ProtocolVersion, uid: &str) -> Vec<u8> {
        super::get_req(v, uid)
    }

    /// Encrypt of `data` with `uid`, AES-GCM with a server-chosen IV.
    pub fn encrypt(v: ProtocolVersion, uid: &str, data: &[u8]) -> Vec<u8> {
        super::encrypt_req(v, uid, data)
    }
}

// ---------------------------------------------------------------------------
// Exchange

/// A failed exchange: what went wrong, and whether the connection is still usable
/// (the server answered with a failure status) or must be dropped.
struct Failure {
    message: String,
    connection_ok: bool,
}

impl From<Failure> for String {
    fn from(f: Failure) -> String {
        f.message
    }
}

/// Sends `req` and returns the payload of its (only) batch item.
fn send(c: &mut Client, what: Operation, req: &[u8]) -> Result<ResponsePayload, Failure> {
    c.call_bytes(what, req).map_err(|e| match e {
        CallError::Client(e) => Failure {
            message: format!("{what:?}: {e}"),
            connection_ok: false,
        },
        other => Failure {
            message: other.to_string(),
            connection_ok: true,
        },
    })
}

/// [`send`], with the failure as its message.
fn exchange(c: &mut Client, what: Operation, req: &[u8]) -> Result<ResponsePayload, String> {
    send(c, what, req).map_err(String::from)
}

/// Opens the run's connections: from one shared [`Connector`] (sessions resume), or
/// each from a fresh configuration (`fresh_tls`).
struct Dialer<'a> {
    cfg: &'a ClientConfig,
    shared: Option<Connector>,
    resumed: AtomicU64,
}

impl<'a> Dialer<'a> {
    fn new(cfg: &'a BenchConfig) -> Result<Self, String> {
        let shared = if cfg.fresh_tls {
            None
        } else {
            Some(Connector::new(&cfg.client).map_err(|e| format!("connect: {e}"))?)
        };
        Ok(Self {
            cfg: &cfg.client,
            shared,
            resumed: AtomicU64::new(0),
        })
    }

    fn connect(&self) -> Result<Client, String> {
        let c = match &self.shared {
            Some(connector) => connector.connect(),
            None => Client::connect(self.cfg),
        }
        .map_err(|e| format!("connect: {e}"))?;
        if c.resumed() {
            self.resumed.fetch_add(1, Ordering::Relaxed);
        }
        Ok(c)
    }
}

/// Keys made for the run, and the requests that use them.
struct Prepared {
    /// The request each iteration sends (for `connect`: the Get).
    request: Vec<u8>,
    /// `connect` only: the Discover Versions request.
    discover: Vec<u8>,
    /// Objects to destroy afterwards (best effort).
    cleanup: Vec<String>,
}

fn create_key(
    c: &mut Client,
    v: ProtocolVersion,
    attrs: Vec<Attribute>,
    activate: bool,
) -> Result<String, String> {
    let uid = match exchange(c, Operation::Create, &create_req(v, attrs))? {
        ResponsePayload::Create(p) => p.unique_identifier,
        other => return Err(format!("Create: unexpected payload {other:?}")),
    };
    if activate {
        exchange(
            c,
            Operation::Activate,
            &uid_req(v, Operation::Activate, &uid),
        )?;
    }
    Ok(uid)
}

fn prepare(cfg: &BenchConfig, c: &mut Client) -> Result<Prepared, String> {
    use CryptographicUsageMask as U;
    let v = cfg.version;
    let data: Vec<u8> = (0..=250u8).cycle().take(cfg.payload).collect();
    let mut cleanup = Vec::new();
    let request = match cfg.op {
        BenchOp::Create => create_req(
            v,
            sym_attrs(CryptographicAlgorithm::Aes, &[U::Encrypt, U::Decrypt]),
        ),
        BenchOp::Register => register_req(v),
        BenchOp::Get | BenchOp::Connect | BenchOp::Idle => {
            let uid = create_key(
                c,
                v,
                sym_attrs(CryptographicAlgorithm::Aes, &[U::Encrypt, U::Decrypt]),
                false,
            )?;
            cleanup.push(uid.clone());
            get_req(v, &uid)
        }
        BenchOp::Locate => {
            let n = format!(
                "keygate-bench-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            );
            let mut a = sym_attrs(CryptographicAlgorithm::Aes, &[U::Encrypt, U::Decrypt]);
            a.push(Attribute::name(&n));
            cleanup.push(create_key(c, v, a, false)?);
            locate_req(v, &n)
        }
        BenchOp::Encrypt => {
            let uid = create_key(
                c,
                v,
                sym_attrs(CryptographicAlgorithm::Aes, &[U::Encrypt, U::Decrypt]),
                true,
            )?;
            cleanup.push(uid.clone());
            encrypt_req(v, &uid, &data)
        }
        BenchOp::Mac => {
            let uid = create_key(
                c,
                v,
                sym_attrs(
                    CryptographicAlgorithm::HmacSha256,
                    &[U::MacGenerate, U::MacVerify],
                ),
                true,
            )?;
            cleanup.push(uid.clone());
            mac_req(v, &uid, &data)
        }
        BenchOp::Sign => {
            let (private, public) =
                match exchange(c, Operation::CreateKeyPair, &keypair_req(v, cfg.alg))? {
                    ResponsePayload::CreateKeyPair(p) => (
                        p.private_key_unique_identifier,
                        p.public_key_unique_identifier,
                    ),
                    other => return Err(format!("CreateKeyPair: unexpected payload {other:?}")),
                };
            exchange(
                c,
                Operation::Activate,
                &uid_req(v, Operation::Activate, &private),
            )?;
            cleanup.push(private.clone());
            cleanup.push(public);
            sign_req(v, cfg.alg, &private, &data)
        }
    };
    Ok(Prepared {
        request,
        discover: discover_req(v),
        cleanup,
    })
}

// ---------------------------------------------------------------------------
// Run

/// Counters shared by the workers and the progress reporter.
struct Shared {
    /// Operations started (for `Limit::Requests`).
    claimed: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
    messages: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    fn error(&self, msg: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.messages.lock() {
            // Bounded: a server that answers with ever-new text must not grow this.
            if m.len() < 32 || m.contains_key(&msg) {
                *m.entry(msg).or_insert(0) += 1;
            }
        }
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// One iteration; `client` is `None` when the connection was lost.
fn iteration(
    cfg: &BenchConfig,
    dialer: &Dialer<'_>,
    p: &Prepared,
    client: &mut Option<Client>,
) -> Result<(), String> {
    if cfg.op == BenchOp::Connect {
        let mut c = dialer.connect()?;
        exchange(&mut c, Operation::DiscoverVersions, &p.discover)?;
        exchange(&mut c, Operation::Get, &p.request)?;
        return c.close().map_err(|e| format!("close: {e}"));
    }
    if client.is_none() {
        *client = Some(dialer.connect()?);
    }
    let c = client.as_mut().ok_or("no connection")?;
    let op = match cfg.op {
        BenchOp::Get | BenchOp::Connect | BenchOp::Idle => Operation::Get,
        BenchOp::Create => Operation::Create,
        BenchOp::Register => Operation::Register,
        BenchOp::Locate => Operation::Locate,
        BenchOp::Encrypt => Operation::Encrypt,
        BenchOp::Sign => Operation::Sign,
        BenchOp::Mac => Operation::Mac,
    };
    match send(c, op, &p.request) {
        Ok(_) => Ok(()),
        Err(f) => {
            if !f.connection_ok {
                // Reconnect on the next iteration.
                *client = None;
            }
            Err(f.message)
        }
    }
}

/// What [`drive`] measured.
struct Driven {
    ops: u64,
    errors: u64,
    elapsed: Duration,
    samples: Vec<u32>,
    error_samples: Vec<(String, u64)>,
}

impl Driven {
    fn report(mut self) -> BenchReport {
        let latency = LatencyStats::from_samples(&mut self.samples);
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        BenchReport {
            ops: self.ops,
            errors: self.errors,
            elapsed: self.elapsed,
            ops_per_sec: latency.count as f64 / secs,
            latency,
            error_samples: self.error_samples,
            resumed: 0,
            server_rss_before_kib: None,
            server_rss_kib: None,
        }
    }
}

/// The closed loop shared by KMIP runs and [`raw`] runs: `threads` threads, each
/// calling `make(thread index)` once for its state and then its iteration function
/// until `limit`; every successful iteration's latency is recorded.
fn drive<M, F>(threads: usize, limit: Limit, show_progress: bool, make: M) -> Driven
where
    M: Fn(usize) -> F + Sync,
    F: FnMut() -> Result<(), String>,
{
    let shared = Shared {
        claimed: AtomicU64::new(0),
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        messages: Mutex::new(BTreeMap::new()),
    };
    let start = Instant::now();
    let deadline = match limit {
        Limit::Duration(d) => Some(start + d),
        Limit::Requests(_) => None,
    };
    let finished = AtomicBool::new(false);
    let mut samples: Vec<u32> = Vec::new();
    let (shared_ref, make) = (&shared, &make);
    let elapsed = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                s.spawn(move || {
                    let mut step = make(i);
                    let mut lat = Vec::with_capacity(4096);
                    loop {
                        if shared_ref.stop.load(Ordering::Relaxed) {
                            break;
                        }
                        match limit {
                            Limit::Requests(k) => {
                                if shared_ref.claimed.fetch_add(1, Ordering::Relaxed) >= k {
                                    break;
                                }
                            }
                            Limit::Duration(_) => {
                                if deadline.is_some_and(|d| Instant::now() >= d) {
                                    break;
                                }
                            }
                        }
                        let t = Instant::now();
                        match step() {
                            Ok(()) => lat.push(micros(t.elapsed())),
                            Err(e) => shared_ref.error(e),
                        }
                        shared_ref.done.fetch_add(1, Ordering::Relaxed);
                    }
                    lat
                })
            })
            .collect();
        if show_progress {
            let finished = &finished;
            s.spawn(move || progress(shared_ref, finished, start));
        }
        for h in handles {
            match h.join() {
                Ok(mut v) => samples.append(&mut v),
                Err(_) => shared_ref.error("worker thread panicked".into()),
            }
        }
        let elapsed = start.elapsed();
        finished.store(true, Ordering::Relaxed);
        elapsed
    });
    let mut error_samples: Vec<(String, u64)> = shared
        .messages
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .collect();
    error_samples.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Driven {
        ops: shared.done.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
        elapsed,
        samples,
        error_samples,
    }
}

/// Resident memory (`VmRSS`) of process `pid` in KiB, from `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Prepares the keys, runs the loop and summarises it.
pub fn run(cfg: &BenchConfig) -> Result<BenchReport, BenchError> {
    if cfg.connections == 0 {
        return Err(BenchError::Config(
            "--connections must be at least 1".into(),
        ));
    }
    if cfg.limit == Limit::Requests(0) {
        return Err(BenchError::Config("--requests must be at least 1".into()));
    }
    if cfg.op == BenchOp::Idle && !matches!(cfg.limit, Limit::Duration(_)) {
        return Err(BenchError::Config(
            "idle holds the connections for --duration (not --requests)".into(),
        ));
    }
    let dialer = Dialer::new(cfg).map_err(BenchError::Prepare)?;
    let mut setup = dialer.connect().map_err(BenchError::Prepare)?;
    let prepared = prepare(cfg, &mut setup).map_err(BenchError::Prepare)?;
    let rss_before = cfg.server_pid.and_then(rss_kib);
    let (driven, rss) = if cfg.op == BenchOp::Idle {
        hold_idle(cfg, &dialer, &prepared)
    } else {
        let driven = drive(cfg.connections, cfg.limit, cfg.progress, |_| {
            let mut client = if cfg.op == BenchOp::Connect {
                None
            } else {
                dialer.connect().ok()
            };
            let (dialer, prepared) = (&dialer, &prepared);
            move || iteration(cfg, dialer, prepared, &mut client)
        });
        let rss = cfg.server_pid.and_then(rss_kib);
        (driven, rss)
    };
    // Best-effort cleanup of what preparation made (not part of the measure).
    for uid in &prepared.cleanup {
        let _ = exchange(
            &mut setup,
            Operation::Destroy,
            &uid_req(cfg.version, Operation::Destroy, uid),
        );
    }
    let _ = setup.close();
    let mut report = driven.report();
    report.resumed = dialer.resumed.load(Ordering::Relaxed);
    report.server_rss_before_kib = rss_before;
    report.server_rss_kib = rss;
    Ok(report)
}

/// `idle`: open the connections from a few threads (each: connect + Discover
/// Versions, its latency recorded), hold them all for the duration, read the
/// server's memory, close them.
fn hold_idle(cfg: &BenchConfig, dialer: &Dialer<'_>, p: &Prepared) -> (Driven, Option<u64>) {
    const OPENERS: usize = 4;
    let held = Mutex::new(Vec::with_capacity(cfg.connections));
    let driven = drive(
        OPENERS.min(cfg.connections),
        Limit::Requests(cfg.connections as u64),
        cfg.progress,
        |_| {
            let held = &held;
            move || {
                let mut c = dialer.connect()?;
                exchange(&mut c, Operation::DiscoverVersions, &p.discover)?;
                held.lock().map_err(|_| "poisoned")?.push(c);
                Ok(())
            }
        },
    );
    let hold = match cfg.limit {
        Limit::Duration(d) => d,
        Limit::Requests(_) => Duration::ZERO,
    };
    std::thread::sleep(hold);
    let rss = cfg.server_pid.and_then(rss_kib);
    let held = held.into_inner().unwrap_or_default();
    for c in held {
        let _ = c.close();
    }
    (driven, rss)
}

fn progress(shared: &Shared, finished: &AtomicBool, start: Instant) {
    let mut last = (start, 0u64);
    loop {
        // Sleep in small steps so the reporter ends promptly with the run.
        let tick = last.0 + Duration::from_secs(1);
        while Instant::now() < tick {
            if finished.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let now = Instant::now();
        let done = shared.done.load(Ordering::Relaxed);
        let errors = shared.errors.load(Ordering::Relaxed);
        let rate = (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
        eprintln!(
            "[{:>5.1}s] {done} ops, {rate:.0} ops/s, {errors} errors",
            now.duration_since(start).as_secs_f64()
        );
        last = (now, done);
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.latency;
        writeln!(
            f,
            "ops: {}  errors: {}  elapsed: {:.3}s  ops/s: {:.1}",
            self.ops,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.ops_per_sec
        )?;
        write!(
            f,
            "latency (us): p50 {}  p90 {}  p99 {}  max {}  mean {:.1}",
            l.p50, l.p90, l.p99, l.max, l.mean
        )?;
        if self.resumed > 0 {
            write!(f, "\nresumed TLS sessions: {}", self.resumed)?;
        }
        if let Some(kib) = self.server_rss_kib {
            write!(f, "\nserver RSS (KiB): {kib}")?;
            if let Some(before) = self.server_rss_before_kib {
                write!(f, " (before: {before})")?;
            }
        }
        for (m, n) in &self.error_samples {
            write!(f, "\nerror x{n}: {m}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<u32> = (1..=100).rev().collect();
        let s = LatencyStats::from_samples(&mut v);
        assert_eq!((s.p50, s.p90, s.p99, s.max), (50, 90, 99, 100));
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[1, 2], 50), 1);
        assert_eq!(percentile(&[1, 2], 90), 2);
        assert_eq!(LatencyStats::from_samples(&mut []), LatencyStats::default());
    }

    #[test]
    fn durations_and_versions() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
        assert_eq!(parse_version("1.4"), Ok(ProtocolVersion::V1_4));
        assert!(parse_version("9.9").is_err());
    }
}
