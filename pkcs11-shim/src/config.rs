//! The library's configuration file (`KEYGATE_PKCS11_CONF`, then
//! `~/.config/keygate/pkcs11.toml`, then `/etc/keygate/pkcs11.toml`).
//!
//! ```toml
//! server = "localhost:5696"
//! ca = "/path/ca.pem"
//! [[slot]]
//! cert = "/path/clients/app/cert.pem"
//! key = "/path/clients/app/key.pem"   # an encrypted PKCS#8 key: the user PIN decrypts it
//! # pin = "..."                        # for an unencrypted key: the PIN C_Login must match
//! ```
//!
//! Relative paths are relative to the file's directory. Everything is read and
//! checked at `C_Initialize`, so a mistake shows there with a message, not later.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// The environment variable naming the configuration file.
pub const CONF_ENV: &str = "KEYGATE_PKCS11_CONF";

/// The loaded configuration.
#[derive(Debug)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    /// Gateway address, `host:port`.
    pub server: String,
    /// Name the gateway's certificate must carry (default: the host of `server`).
    pub server_name: Option<String>,
    /// PEM of the CA that signs the gateway's certificate.
    pub ca: Vec<u8>,
    /// Connect (and handshake) timeout.
    pub connect_timeout: Duration,
    /// Per-request timeout.
    pub io_timeout: Duration,
    /// One slot per `[[slot]]`.
    pub slots: Vec<SlotConfig>,
}

/// One slot: a client identity of the gateway.
#[derive(Debug)]
pub struct SlotConfig {
    /// PEM client certificate (chain).
    pub cert: Vec<u8>,
    /// The client key, and how C_Login checks the PIN.
    pub key: SlotKey,
    /// Token label to show before the gateway has told the vault's name.
    pub label: Option<String>,
}

/// The slot's private key.
pub enum SlotKey {
    /// An encrypted PKCS#8 key (PEM `ENCRYPTED PRIVATE KEY`): the PIN decrypts it,
    /// so nothing reaches the gateway before C_Login.
    Encrypted(Zeroizing<Vec<u8>>),
    /// An unencrypted key (PEM) and the PIN C_Login must match.
    Plain {
        /// PEM key.
        pem: Zeroizing<Vec<u8>>,
        /// The user PIN.
        pin: Zeroizing<String>,
    },
}

impl std::fmt::Debug for SlotKey {
    // Never print key bytes or the PIN.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Encrypted(_) => f.write_str("SlotKey::Encrypted"),
            Self::Plain { .. } => f.write_str("SlotKey::Plain"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    server: String,
    ca: PathBuf,
    server_name: Option<String>,
    connect_timeout_secs: Option<u64>,
    io_timeout_secs: Option<u64>,
    #[serde(default, rename = "slot")]
    slots: Vec<SlotFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotFile {
    cert: PathBuf,
    key: PathBuf,
    pin: Option<String>,
    label: Option<String>,
}

/// Default connect timeout: a gateway that is down must fail calls quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default request timeout.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

impl Config {
    /// Finds and loads the configuration.
    pub fn load() -> Result<Self> {
        let path = locate()?;
        Self::from_file(&path)
    }

    /// Loads the configuration at `path`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let file: File =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let read = |what: &str, p: &Path| -> Result<Vec<u8>> {
            let full = base.join(p);
            std::fs::read(&full).map_err(|e| {
                Error::Config(format!(
                    "{}: cannot read {what} {}: {e}",
                    path.display(),
                    full.display()
                ))
            })
        };
        if file.server.trim().is_empty() {
            return Err(Error::Config(format!(
                "{}: `server` is empty",
                path.display()
            )));
        }
        if file.slots.is_empty() {
            return Err(Error::Config(format!(
                "{}: no [[slot]]: the library needs at least one client identity",
                path.display()
            )));
        }
        let ca = read("ca", &file.ca)?;
        let mut slots = Vec::with_capacity(file.slots.len());
        for (i, s) in file.slots.into_iter().enumerate() {
            let cert = read("cert", &s.cert)?;
            let pem = Zeroizing::new(read("key", &s.key)?);
            let encrypted = contains(&pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----");
            let key = match (encrypted, s.pin) {
                (true, None) => SlotKey::Encrypted(pem),
                (true, Some(_)) => {
                    return Err(Error::Config(format!(
                        "{}: slot {i}: `pin` is set but the key is encrypted (the PIN decrypts \
                         it); remove `pin`",
                        path.display()
                    )))
                }
                (false, Some(pin)) if !pin.is_empty() => SlotKey::Plain {
                    pem,
                    pin: Zeroizing::new(pin),
                },
                (false, _) => {
                    return Err(Error::Config(format!(
                        "{}: slot {i}: the key is not encrypted and no `pin` is set; give the \
                         PIN C_Login must match, or use an encrypted PKCS#8 key",
                        path.display()
                    )))
                }
            };
            slots.push(SlotConfig {
                cert,
                key,
                label: s.label,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            server: file.server,
            server_name: file.server_name,
            ca,
            connect_timeout: file
                .connect_timeout_secs
                .map_or(CONNECT_TIMEOUT, Duration::from_secs),
            io_timeout: file.io_timeout_secs.map_or(IO_TIMEOUT, Duration::from_secs),
            slots,
        })
    }
}

/// The first configuration file that exists, in the documented order.
fn locate() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(CONF_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let mut tried = Vec::new();
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        tried.push(PathBuf::from(home).join(".config/keygate/pkcs11.toml"));
    }
    tried.push(PathBuf::from("/etc/keygate/pkcs11.toml"));
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        Error::Config(format!(
            "no configuration: set {CONF_ENV}, or create one of {}",
            tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
