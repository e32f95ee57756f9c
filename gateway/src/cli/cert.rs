//! `keygate cert ca` and `keygate cert issue`: the vault's certificate authority
//! for operators. Both talk KMIP 2.1 to the running daemon (so every rule,
//! backend and audit record applies as for any client), as an identity of the
//! config bound to the vault: `--identity`, or the vault's first identity whose
//! certificate and key are under `clients/NAME/` beside the config (the layout
//! `keygate init` and `keygate client add` write).
//!
//! - `cert ca` creates the vault CA: a key pair whose private key is named
//!   `keygate-ca` (Sign), and its self-signed CA certificate (Certify with
//!   `x-keygate-self-signed`, profile `ca`). Certify uses it by default.
//! - `cert issue` certifies a vault public key (`--key-uid`), a PKCS#10 request
//!   (`--csr`, PEM or DER), or else a new EC P-256 key pair made for the purpose,
//!   named `--name`; the certificate gets the same Name. The certificate is printed
//!   as PEM (or written to `--out`); the UIDs go to stderr.

use super::CliError;
use clap::{Args, Subcommand};
use keygate::config::Config;
use keygate::ops::certify::{CA_NAME, VENDOR};
use kmip::client::{Client, ClientConfig, PemSource};
use kmip::messages::objects::ManagedObject;
use kmip::messages::payloads::{
    CertifyRequest, CreateKeyPairRequest, GetRequest, RequestPayload, ResponsePayload,
};
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{
    CertificateRequestType, CryptographicAlgorithm, CryptographicUsageMask, Operation,
    RecommendedCurve,
};
use kmip::version::ProtocolVersion;
use std::path::{Path, PathBuf};

/// `keygate cert ...`.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create the vault's CA: a key pair named keygate-ca and its self-signed certificate.
    Ca(CaArgs),
    /// Issue a certificate signed by the vault CA.
    Issue(IssueArgs),
}

/// Where the daemon is and who talks to it.
#[derive(Debug, Args)]
pub struct Target {
    /// The daemon's keygate.toml.
    #[arg(long)]
    pub config: PathBuf,
    /// The vault.
    #[arg(long)]
    pub vault: String,
    /// The identity to connect as (default: the vault's first identity with files).
    #[arg(long)]
    pub identity: Option<String>,
    /// The daemon's address, host:port (default: the config's listen address).
    #[arg(long)]
    pub server: Option<String>,
}

/// `keygate cert ca`.
#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(flatten)]
    target: Target,
    /// The CA's subject, RFC 4514 (e.g. "CN=Example Vault CA,O=Example").
    #[arg(long)]
    subject: String,
    /// Key: p256, p384, rsa2048, rsa3072.
    #[arg(long, default_value = "p256")]
    algorithm: String,
    /// Validity in seconds (default: the ca profile's 10 years).
    #[arg(long)]
    validity: Option<i64>,
    /// Write the CA certificate (PEM) here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `keygate cert issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    #[command(flatten)]
    target: Target,
    /// Name of the certificate (and of the key pair made for it).
    #[arg(long)]
    name: String,
    /// Subject, RFC 4514 (default with --csr: the request's).
    #[arg(long)]
    subject: Option<String>,
    /// Subject alternative name: DNS:host, IP:addr, email:x, URI:x (repeatable).
    #[arg(long)]
    san: Vec<String>,
    /// Certificate profile: default, tls-server, tls-client, ca.
    #[arg(long)]
    profile: Option<String>,
    /// Validity in seconds (default: the profile's).
    #[arg(long)]
    validity: Option<i64>,
    /// Certify this vault public key.
    #[arg(long, conflicts_with = "csr")]
    key_uid: Option<String>,
    /// Certify this PKCS#10 request (PEM or DER).
    #[arg(long)]
    csr: Option<PathBuf>,
    /// Key of the pair made when neither --key-uid nor --csr is given: p256, p384,
    /// rsa2048, rsa3072.
    #[arg(long, default_value = "p256")]
    algorithm: String,
    /// Write the certificate (PEM) here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs a `keygate cert` command.
pub fn run(cmd: &CertCommand) -> Result<(), CliError> {
    match cmd {
        CertCommand::Ca(a) => ca(a),
        CertCommand::Issue(a) => issue(a),
    }
}

fn ca(a: &CaArgs) -> Result<(), CliError> {
    let mut c = connect(&a.target)?;
    let (private, public) = create_pair(&mut c, CA_NAME, &a.algorithm)?;
    let mut attrs = vec![
        vendor("keygate-subject", Value::TextString(a.subject.clone())),
        vendor("keygate-profile", Value::TextString("ca".into())),
        vendor("keygate-self-signed", Value::Boolean(true)),
        Attribute::name(CA_NAME),
    ];
    if let Some(v) = a.validity {
        attrs.push(vendor("keygate-validity", Value::LongInteger(v)));
    }
    let cert = certify(&mut c, Some(public.clone()), None, attrs)?;
    eprintln!("CA private key {private}, public key {public}, certificate {cert}");
    write_certificate(&mut c, &cert, a.out.as_deref())
}

fn issue(a: &IssueArgs) -> Result<(), CliError> {
    let mut c = connect(&a.target)?;
    let mut attrs = vec![Attribute::name(&a.name)];
    if let Some(s) = &a.subject {
        attrs.push(vendor("keygate-subject", Value::TextString(s.clone())));
    }
    for s in &a.san {
        attrs.push(vendor("keygate-san", Value::TextString(s.clone())));
    }
    if let Some(p) = &a.profile {
        attrs.push(vendor("keygate-profile", Value::TextString(p.clone())));
    }
    if let Some(v) = a.validity {
        attrs.push(vendor("keygate-validity", Value::LongInteger(v)));
    }
    let csr = match &a.csr {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|source| CliError::Read {
                what: p.display().to_string(),
                source,
            })?;
            let kind = if bytes.starts_with(b"-----BEGIN") {
                CertificateRequestType::Pem
            } else {
                CertificateRequestType::Pkcs10
            };
            Some((kind, bytes))
        }
        None => None,
    };
    let key = match (&a.key_uid, &csr) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(_)) => None,
        (None, None) => {
            let (private, public) = create_pair(&mut c, &a.name, &a.algorithm)?;
            eprintln!("key pair: private key {private}, public key {public}");
            Some(public)
        }
    };
    let cert = certify(&mut c, key, csr, attrs)?;
    eprintln!("certificate {cert}");
    write_certificate(&mut c, &cert, a.out.as_deref())
}

/// A client for `t`: the daemon's address and CA from the config, the identity's
/// certificate and key from `clients/NAME/`.
fn connect(t: &Target) -> Result<Client, CliError> {
    let failed = |m: String| CliError::Failed(m);
    let cfg = Config::load(&t.config).map_err(|e| failed(e.to_string()))?;
    if cfg.vault(&t.vault).is_none() {
        return Err(failed(format!(
            "no vault {} in {}",
            t.vault,
            t.config.display()
        )));
    }
    let files = |n: &str| {
        let d = cfg.dir.join("clients").join(n);
        (d.join("cert.pem"), d.join("key.pem"))
    };
    let identity = match &t.identity {
        Some(i) => cfg
            .identity(i)
            .filter(|id| id.vault == t.vault)
            .map(|id| id.name.clone())
            .ok_or_else(|| failed(format!("identity {i} is not bound to vault {}", t.vault)))?,
        None => cfg
            .identities
            .iter()
            .filter(|id| id.vault == t.vault)
            .map(|id| id.name.clone())
            .find(|n| files(n).0.exists() && files(n).1.exists())
            .ok_or_else(|| {
                failed(format!(
                    "no identity of vault {} has its files under {}; use --identity",
                    t.vault,
                    cfg.dir.join("clients").display()
                ))
            })?,
    };
    let (cert, key) = files(&identity);
    let addr = match &t.server {
        Some(s) => s.clone(),
        None => {
            let mut a = cfg.listen;
            if a.ip().is_unspecified() {
                a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            a.to_string()
        }
    };
    let cc = ClientConfig::new(
        addr.clone(),
        PemSource::path(&cfg.tls.ca_cert),
        PemSource::path(cert),
        PemSource::path(key),
    );
    Client::connect(&cc).map_err(|e| failed(format!("connect to {addr}: {e}")))
}

/// Sends one request and returns its payload; a failed item is an error naming
/// the reason and message.
fn call(
    c: &mut Client,
    op: Operation,
    payload: RequestPayload,
) -> Result<ResponsePayload, CliError> {
    c.call(ProtocolVersion::V2_1, op, payload)
        .map_err(|e| CliError::Failed(e.to_string()))
}

/// Create Key Pair: private key `name` (Sign), public key (Verify), active now.
fn create_pair(
    c: &mut Client,
    key_name: &str,
    algorithm: &str,
) -> Result<(String, String), CliError> {
    let (alg, bits, curve) = match algorithm {
        "p256" => (
            CryptographicAlgorithm::Ec,
            256,
            Some(RecommendedCurve::P256),
        ),
        "p384" => (
            CryptographicAlgorithm::Ec,
            384,
            Some(RecommendedCurve::P384),
        ),
        "rsa2048" => (CryptographicAlgorithm::Rsa, 2048, None),
        "rsa3072" => (CryptographicAlgorithm::Rsa, 3072, None),
        other => {
            return Err(CliError::Failed(format!(
                "unknown algorithm {other}: p256, p384, rsa2048 or rsa3072"
            )))
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let mut common = vec![
        Attribute::standard(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(alg.value()),
        ),
        Attribute::standard(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(bits)),
        Attribute::standard(Tag::ACTIVATION_DATE, Value::DateTime(now)),
    ];
    if let Some(c) = curve {
        common.push(Attribute::standard(
            Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
            Value::Structure(vec![Ttlv::new(
                Tag::RECOMMENDED_CURVE,
                Value::Enumeration(c.value()),
            )]),
        ));
    }
    let usage = |m: CryptographicUsageMask| {
        Attribute::standard(
            Tag::CRYPTOGRAPHIC_USAGE_MASK,
            Value::Integer(i32::try_from(m.value()).unwrap_or(0)),
        )
    };
    let req = CreateKeyPairRequest {
        common_attributes: Some(Attributes::new(common)),
        private_key_attributes: Some(Attributes::new(vec![
            Attribute::name(key_name),
            usage(CryptographicUsageMask::Sign),
        ])),
        public_key_attributes: Some(Attributes::new(vec![usage(CryptographicUsageMask::Verify)])),
        common_protection_storage_masks: None,
        private_protection_storage_masks: None,
        public_protection_storage_masks: None,
        extensions: Vec::new(),
    };
    match call(
        c,
        Operation::CreateKeyPair,
        RequestPayload::CreateKeyPair(req),
    )? {
        ResponsePayload::CreateKeyPair(r) => Ok((
            r.private_key_unique_identifier,
            r.public_key_unique_identifier,
        )),
        other => Err(CliError::Failed(format!("unexpected answer {other:?}"))),
    }
}

fn certify(
    c: &mut Client,
    key: Option<String>,
    csr: Option<(CertificateRequestType, Vec<u8>)>,
    attrs: Vec<Attribute>,
) -> Result<String, CliError> {
    let (kind, value) = match csr {
        Some((k, v)) => (Some(k), Some(v)),
        None => (None, None),
    };
    let req = CertifyRequest {
        unique_identifier: key,
        certificate_request_unique_identifier: None,
        certificate_request_type: kind,
        certificate_request_value: value,
        attributes: Some(Attributes::new(attrs)),
        protection_storage_masks: None,
        extensions: Vec::new(),
    };
    match call(c, Operation::Certify, RequestPayload::Certify(req))? {
        ResponsePayload::Certify(r) => Ok(r.unique_identifier),
        other => Err(CliError::Failed(format!("unexpected answer {other:?}"))),
    }
}

/// Gets certificate `uid` and prints it as PEM (or writes it to `out`).
fn write_certificate(c: &mut Client, uid: &str, out: Option<&Path>) -> Result<(), CliError> {
    let req = GetRequest {
        unique_identifier: Some(uid.to_owned()),
        key_format_type: None,
        key_wrap_type: None,
        key_compression_type: None,
        key_wrapping_specification: None,
        extensions: Vec::new(),
    };
    let der = match call(c, Operation::Get, RequestPayload::Get(req))? {
        ResponsePayload::Get(r) => match r.object {
            ManagedObject::Certificate(cert) => cert.certificate_value,
            other => return Err(CliError::Failed(format!("not a certificate: {other:?}"))),
        },
        other => return Err(CliError::Failed(format!("unexpected answer {other:?}"))),
    };
    let pem = openssl::x509::X509::from_der(&der)
        .and_then(|x| x.to_pem())
        .map_err(|e| CliError::Failed(format!("the certificate does not parse: {e}")))?;
    match out {
        Some(p) => std::fs::write(p, pem)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", p.display()))),
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&pem).map_err(CliError::Write)
        }
    }
}

fn vendor(attr: &str, value: Value) -> Attribute {
    Attribute::Vendor {
        vendor: VENDOR.into(),
        name: attr.into(),
        value,
    }
}
