//! The daemon's configuration file, `keygate.toml`, parsed and validated once at load.
//!
//! Everything that can be wrong with a configuration is reported by [`Config::load`]
//! with the file and line, so a typo fails at start rather than as a puzzling
//! authorization denial later: unknown keys are rejected (`deny_unknown_fields`),
//! names must be unique, identities must reference vaults and roles that exist, custom
//! roles may only name KMIP operations, every limit must be positive, and every
//! vault must name a configured key backend (`[[backends]]`, or the built-in
//! `software` keystore). What only the running system can tell (a PKCS#11 module
//! that exists, a PIN file readable by the daemon alone, a token that accepts the
//! PIN) is checked when the daemon starts ([`crate::daemon::start`]), not here.
//!
//! Relative paths are resolved against the directory holding the configuration file,
//! so a setup made by `keygate init` can be moved as a whole. The resolved paths are
//! absolute, so a later change of working directory does not change their meaning.
//!
//! The daemon re-reads this file on SIGHUP and when its modification time changes
//! (polled every 2 seconds), so identities and vaults added by `keygate client add` /
//! `keygate vault add` take effect without a restart. Writers therefore replace the
//! file atomically ([`write_atomic`]): a reader sees the old or the new file, never
//! half of one.

use crate::audit::AuditSync;
pub use crate::backend::pkcs11::Placement;
use kmip::types::Operation;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::Range;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// File name `keygate init` gives the configuration.
pub const CONFIG_FILE_NAME: &str = "keygate.toml";

/// Address the daemon listens on when `listen` is absent: loopback, IANA KMIP port.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5696));

/// Role names the authorization layer defines itself; a custom `[[roles]]` entry may
/// not reuse one of them.
pub const BUILTIN_ROLES: &[&str] = &["admin", "app", "tde", "crypto", "read-only"];

/// Longest vault name: a vault is shown to PKCS#11 applications as a token whose
/// label (`CK_TOKEN_INFO.label`) is 32 bytes.
pub const MAX_VAULT_NAME_LEN: usize = 32;

/// Longest identity name: the X.520 upper bound for a certificate's common name.
pub const MAX_IDENTITY_NAME_LEN: usize = 64;

/// A loaded and validated `keygate.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file this configuration was read from (absolute).
    pub path: PathBuf,
    /// Its directory, against which relative paths were resolved (absolute).
    pub dir: PathBuf,
    /// KMIP listener address (`listen`).
    pub listen: SocketAddr,
    /// Certificates and keys (`[tls]`).
    pub tls: TlsConfig,
    /// Where managed objects are persisted (`[store]`).
    pub store: StoreConfig,
    /// The software keystore's key-encryption key (`[keystore]`).
    pub keystore: KeystoreConfig,
    /// The audit log (`[audit]`).
    pub audit: AuditConfig,
    /// Resource limits (`[limits]`).
    pub limits: Limits,
    /// Key backends besides the built-in software keystore (`[[backends]]`).
    pub backends: Vec<BackendConfig>,
    /// Tenant namespaces (`[[vaults]]`).
    pub vaults: Vec<VaultConfig>,
    /// Who may connect, bound to which vault with which role (`[[identities]]`).
    pub identities: Vec<IdentityConfig>,
    /// Custom roles (`[[roles]]`), in addition to [`BUILTIN_ROLES`].
    pub roles: Vec<RoleConfig>,
    /// Named certificate profiles for Certify (`[[cert_profiles]]`), in addition to
    /// the built-in ones (`ops::certify::PROFILES`), which they may override.
    pub cert_profiles: Vec<CertProfileConfig>,
    /// How often the daemon looks for certificates to renew and objects past their
    /// Deactivation Date (`renewal_interval_secs`, default
    /// [`DEFAULT_RENEWAL_INTERVAL_SECS`]).
    pub renewal_interval_secs: u64,
}

/// `renewal_interval_secs` when absent: hourly.
pub const DEFAULT_RENEWAL_INTERVAL_SECS: u64 = 3600;

/// `[[cert_profiles]]`: what a certificate issued with this profile says about its
/// key's use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertProfileConfig {
    /// The name Certify's `x-keygate-profile` gives.
    pub name: String,
    /// Default validity in seconds (`validity = "90d"`).
    pub validity_secs: u64,
    /// A CA certificate (Basic Constraints cA).
    pub ca: bool,
    /// RFC 5280 key usage names: digitalSignature, nonRepudiation, keyEncipherment,
    /// dataEncipherment, keyAgreement, keyCertSign, cRLSign.
    pub key_usage: Vec<String>,
    /// Extended key usages: serverAuth, clientAuth, codeSigning, emailProtection,
    /// timeStamping, OCSPSigning, or a dotted OID.
    pub ext_key_usage: Vec<String>,
}

/// The key usage names a profile may give.
pub const KEY_USAGE_NAMES: &[&str] = &[
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
];

/// The extended key usage names a profile may give, and their OIDs.
pub const EXT_KEY_USAGES: &[(&str, &str)] = &[
    ("serverAuth", "1.3.6.1.5.5.7.3.1"),
    ("clientAuth", "1.3.6.1.5.5.7.3.2"),
    ("codeSigning", "1.3.6.1.5.5.7.3.3"),
    ("emailProtection", "1.3.6.1.5.5.7.3.4"),
    ("timeStamping", "1.3.6.1.5.5.7.3.8"),
    ("OCSPSigning", "1.3.6.1.5.5.7.3.9"),
];

/// Seconds in a duration written `90d`, `12h`, `30m`, `45s` or `45`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// `[tls]`: resolved paths of the PKI files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// CA certificate (PEM); client certificates must chain to it.
    pub ca_cert: PathBuf,
    /// CA private key (PEM, mode 0600). Only `keygate client add` reads it; the daemon
    /// never needs it, so it can be moved offline once clients are issued.
    pub ca_key: PathBuf,
    /// The daemon's certificate (PEM).
    pub server_cert: PathBuf,
    /// The daemon's private key (PEM, mode 0600).
    pub server_key: PathBuf,
}

/// `[store]`: where managed objects and their metadata live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreConfig {
    /// Embedded SQLite database (`kind = "sqlite"`).
    Sqlite {
        /// Database file (resolved).
        path: PathBuf,
    },
}

/// `[keystore]`: the software backend's key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreConfig {
    /// File holding the 32-byte master key (mode 0600).
    pub master_key_file: PathBuf,
}

/// `[audit]`: the hash-chained audit log (see [`crate::audit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The log file, one JSON line per batch item.
    pub path: PathBuf,
    /// File holding the 32-byte HMAC key chaining the lines (mode 0600).
    pub key_file: PathBuf,
    /// `sync`: when a request that changed nothing may be answered ("always", the
    /// default: once its records are fsynced; "changes": once they are written).
    pub sync: AuditSync,
}

/// `[limits]`: bounds on what one peer can make the daemon spend. Every value is
/// positive; absent keys take the defaults of [`Limits::DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest TTLV message in bytes; a larger announced length is refused before the
    /// body is read (allocation bomb).
    pub max_message_size: usize,
    /// Deepest structure nesting (stack exhaustion by nested empty structures).
    pub max_depth: usize,
    /// Most TTLV items in one message (per-item overhead amplification).
    pub max_items: usize,
    /// Most batch items in one request (one message fanning out into unbounded work).
    pub max_batch_items: usize,
    /// Most simultaneous connections (socket and memory exhaustion).
    pub max_connections: usize,
    /// Seconds a peer has to complete the TLS handshake (slowloris on accept).
    pub handshake_timeout_secs: u64,
    /// Seconds a connection may sit idle between requests (idle connection hoarding).
    pub idle_timeout_secs: u64,
    /// Seconds a peer has to deliver a whole message once its header arrived
    /// (slow-body slowloris).
    pub frame_timeout_secs: u64,
}

impl Limits {
    /// The defaults: 1 MiB messages, depth 32, 100 000 items, 64 batch items,
    /// 1024 connections, 10 s handshake, 300 s idle, 30 s per frame.
    pub const DEFAULT: Self = Self {
        max_message_size: 1 << 20,
        max_depth: 32,
        max_items: 100_000,
        max_batch_items: 64,
        max_connections: 1024,
        handshake_timeout_secs: 10,
        idle_timeout_secs: 300,
        frame_timeout_secs: 30,
    };

    /// The decoder limits for the `kmip` crate.
    pub fn ttlv(&self) -> kmip::Limits {
        kmip::Limits {
            max_message_size: self.max_message_size,
            max_depth: self.max_depth,
            max_items: self.max_items,
        }
    }

    /// [`Self::handshake_timeout_secs`] as a duration.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_secs)
    }

    /// [`Self::idle_timeout_secs`] as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// [`Self::frame_timeout_secs`] as a duration.
    pub fn frame_timeout(&self) -> Duration {
        Duration::from_secs(self.frame_timeout_secs)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// `[[vaults]]`: a tenant namespace and its export policy (DESIGN.md, "Export policy
/// per vault").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultConfig {
    /// Unique name; also the PKCS#11 token label.
    pub name: String,
    /// The name of the key backend holding the vault's key material:
    /// [`SOFTWARE_BACKEND`] (the default) or the name of a `[[backends]]` entry.
    pub backend: String,
    /// Whether objects created without an explicit Extractable attribute may be
    /// returned in clear by Get (KMIP 1.x TDE clients cannot say). Defaults to the
    /// backend's [`Config::extractable_by_default`], within the ceiling.
    pub extractable_by_default: bool,
    /// The ceiling: when false, no object of this vault is ever extractable.
    pub allow_extractable: bool,
    /// Whether a non-extractable key of this vault may leave it wrapped under
    /// another key of the vault (sensitive keys always may) (Get with a Key Wrapping
    /// Specification). Never in clear. Default false.
    pub allow_wrapped_export: bool,
    /// Certificates the vault issued are re-certified this many seconds before
    /// they expire (`renew_before = "30d"`); none: never.
    pub renew_before: Option<u64>,
}

/// Name of the built-in software keystore (`[keystore]`); reserved, so no
/// `[[backends]]` entry may take it. Vaults that name no backend use it.
pub const SOFTWARE_BACKEND: &str = "software";

/// Sessions a PKCS#11 backend keeps open when `sessions` is absent.
pub const DEFAULT_PKCS11_SESSIONS: usize = 4;

/// Most sessions a PKCS#11 backend may be configured with.
pub const MAX_PKCS11_SESSIONS: usize = 1024;

/// Longest PKCS#11 token label (`CK_TOKEN_INFO.label` is 32 bytes).
pub const MAX_TOKEN_LABEL_LEN: usize = 32;

/// `[[backends]]`: a named key backend besides the built-in software keystore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    /// Unique name, referenced by `[[vaults]] backend`; never [`SOFTWARE_BACKEND`].
    pub name: String,
    /// What kind of backend and how to reach it (`kind`).
    pub settings: BackendSettings,
}

/// The kind-specific part of a `[[backends]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendSettings {
    /// `kind = "pkcs11"`: a PKCS#11 token.
    Pkcs11(Pkcs11Settings),
}

impl BackendSettings {
    /// The configuration spelling of the kind (`kind = ...`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Pkcs11(_) => "pkcs11",
        }
    }

    /// Default for `extractable_by_default` of a vault on this backend: false for
    /// resident PKCS#11 placement (keys stay in the token), true for wrapped placement.
    pub fn extractable_by_default(&self) -> bool {
        match self {
            Self::Pkcs11(p) => p.placement == Placement::Wrapped,
        }
    }
}

/// A PKCS#11 backend's settings (`kind = "pkcs11"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Settings {
    /// The PKCS#11 module (`module`, resolved). Must exist when the daemon starts.
    pub module: PathBuf,
    /// The token's label (`token_label`, at most 32 bytes).
    pub token_label: String,
    /// Where the user PIN comes from (`pin_file` or `pin_env`, exactly one).
    pub pin: PinSource,
    /// Resident or wrapped keys (`placement`).
    pub placement: Placement,
    /// Most sessions open at once (`sessions`, default [`DEFAULT_PKCS11_SESSIONS`]).
    pub sessions: usize,
}

/// Where a backend's PIN is read from when the daemon starts. The configuration
/// never holds the PIN itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// `pin_file`: a file (resolved path) holding the PIN, readable by the daemon's
    /// user alone (mode 0600 or 0400); one trailing newline is ignored.
    File(PathBuf),
    /// `pin_env`: an environment variable of the daemon holding the PIN.
    Env(String),
}

/// `[[identities]]`: a client, bound to one vault with one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    /// Matched against the client certificate's subject common name, or one of its
    /// subject alternative names.
    pub name: String,
    /// The vault it works in.
    pub vault: String,
    /// A built-in role ([`BUILTIN_ROLES`]) or a custom one from `[[roles]]`.
    pub role: String,
}

/// `[[roles]]`: a custom role, the set of KMIP operations it allows (default deny).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    /// Unique name, distinct from the built-in ones.
    pub name: String,
    /// Allowed operations.
    pub operations: Vec<Operation>,
}

/// Why a configuration could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file is not valid TOML or does not have the expected shape (unknown key,
    /// wrong type, missing section).
    #[error("{}: {message}", Location(path, *line, *column))]
    Syntax {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line of the problem, when the parser located it.
        line: Option<usize>,
        /// 1-based column of the problem, when the parser located it.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// The file parses but says something inconsistent.
    #[error("{}: {problem}", Location(path, *line, None))]
    Invalid {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line of the offending value.
        line: Option<usize>,
        /// What is wrong.
        problem: Problem,
    },
    /// The file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The configuration file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl ConfigError {
    /// The semantic problem, for an [`ConfigError::Invalid`] error.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Invalid { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The 1-based line the error points at, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. } | Self::Invalid { line, .. } => *line,
            _ => None,
        }
    }
}

/// A semantic problem in a configuration that parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A duration is not a positive `90d`, `12h`, `30m` or `45s`.
    #[error("{field} = {value:?} is not a positive duration such as \"30d\", \"12h\", \"30m\" or \"45s\"")]
    BadDuration {
        /// The key.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// A `[[cert_profiles]]` entry is wrong.
    #[error("certificate profile {profile:?}: {reason}")]
    BadCertProfile {
        /// The profile's name.
        profile: String,
        /// What is wrong.
        reason: String,
    },
    /// `listen` is not `IP:port`.
    #[error("listen = {value:?} is not an IP:port socket address (e.g. \"127.0.0.1:5696\")")]
    BadListen {
        /// The value given.
        value: String,
    },
    /// A limit is zero.
    #[error("limits.{name} must be greater than 0")]
    ZeroLimit {
        /// The key, e.g. `max_depth`.
        name: &'static str,
    },
    /// A limit does not fit this platform's address space.
    #[error("limits.{name} = {value} is too large")]
    LimitTooLarge {
        /// The key.
        name: &'static str,
        /// The value given.
        value: u64,
    },
    /// A path is empty.
    #[error("{field} must not be empty")]
    EmptyPath {
        /// The key, e.g. `tls.ca_cert`.
        field: &'static str,
    },
    /// `store.kind` names a store this build does not have.
    #[error("store kind {kind:?} is not supported yet (supported: \"sqlite\")")]
    UnsupportedStore {
        /// The value given.
        kind: String,
    },
    /// A `[[backends]]` entry has a kind this build does not have.
    #[error("backend {backend:?}: kind {kind:?} is not supported (supported: \"pkcs11\")")]
    UnsupportedBackend {
        /// The backend.
        backend: String,
        /// The value given.
        kind: String,
    },
    /// A vault names a backend that is not configured.
    #[error("vault {vault:?} references unknown backend {backend:?} (backends: {known})")]
    UnknownBackend {
        /// The vault.
        vault: String,
        /// The backend it names.
        backend: String,
        /// `software` and the configured backend names, comma-separated.
        known: String,
    },
    /// A `[[backends]]` entry takes the built-in keystore's name.
    #[error("backend name {SOFTWARE_BACKEND:?} is reserved for the built-in software keystore ([keystore])")]
    ReservedBackendName,
    /// A `[[backends]]` entry lacks a setting its kind needs.
    #[error("backend {backend:?}: {field} is required for kind {kind:?}")]
    MissingBackendSetting {
        /// The backend.
        backend: String,
        /// Its kind.
        kind: &'static str,
        /// The missing key.
        field: &'static str,
    },
    /// A PKCS#11 backend gives both or neither of `pin_file` and `pin_env`.
    #[error("backend {backend:?}: give exactly one of pin_file and pin_env (found {found})")]
    BadPinSource {
        /// The backend.
        backend: String,
        /// What was found: "both" or "neither".
        found: &'static str,
    },
    /// `pin_env` is not a usable environment variable name.
    #[error("backend {backend:?}: pin_env = {value:?} is not an environment variable name (letters, digits and '_', not starting with a digit)")]
    BadPinEnv {
        /// The backend.
        backend: String,
        /// The value given.
        value: String,
    },
    /// `token_label` is empty or longer than a PKCS#11 token label.
    #[error("backend {backend:?}: token_label {value:?} is invalid: {reason}")]
    BadTokenLabel {
        /// The backend.
        backend: String,
        /// The value given.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// `audit.sync` is neither `always` nor `changes`.
    #[error("audit.sync = {value:?} is not \"always\" or \"changes\"")]
    BadAuditSync {
        /// The value given.
        value: String,
    },
    /// `placement` is neither `resident` nor `wrapped`.
    #[error("backend {backend:?}: placement = {value:?} is not \"resident\" or \"wrapped\"")]
    BadPlacement {
        /// The backend.
        backend: String,
        /// The value given.
        value: String,
    },
    /// `sessions` is out of range.
    #[error("backend {backend:?}: sessions = {value} must be between 1 and {MAX_PKCS11_SESSIONS}")]
    BadSessions {
        /// The backend.
        backend: String,
        /// The value given.
        value: u64,
    },
    /// `extractable_by_default = true` with `allow_extractable = false`.
    #[error("vault {vault:?}: extractable_by_default = true exceeds its ceiling allow_extractable = false")]
    ExtractableAboveCeiling {
        /// The vault.
        vault: String,
    },
    /// A name breaks the naming rules.
    #[error("{kind} name {name:?} is invalid: {reason}")]
    BadName {
        /// What was being named.
        kind: NameKind,
        /// The name given.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// Two entries share a name.
    #[error("duplicate {kind} name {name:?}")]
    Duplicate {
        /// What was being named.
        kind: NameKind,
        /// The name.
        name: String,
    },
    /// An identity references a vault that is not configured.
    #[error(
        "identity {identity:?} references unknown vault {vault:?} (configured vaults: {known})"
    )]
    UnknownVault {
        /// The identity.
        identity: String,
        /// The vault it names.
        vault: String,
        /// The configured vault names, comma-separated.
        known: String,
    },
    /// An identity references a role that is neither built in nor custom.
    #[error("identity {identity:?} references unknown role {role:?} (roles: {known})")]
    UnknownRole {
        /// The identity.
        identity: String,
        /// The role it names.
        role: String,
        /// The built-in and custom role names, comma-separated.
        known: String,
    },
    /// A custom role reuses a built-in role's name.
    #[error("role {role:?} is built in and cannot be redefined (built-in roles: {})", BUILTIN_ROLES.join(", "))]
    BuiltinRoleRedefined {
        /// The name.
        role: String,
    },
    /// A custom role lists something that is not a KMIP operation.
    #[error("role {role:?}: {operation:?} is not a KMIP operation name (e.g. \"Get\", \"GetAttributes\", \"Locate\")")]
    UnknownOperation {
        /// The role.
        role: String,
        /// The value given.
        operation: String,
    },
    /// A custom role allows nothing.
    #[error("role {role:?} lists no operations")]
    EmptyRole {
        /// The role.
        role: String,
    },
}

/// What a [`Problem::BadName`] or [`Problem::Duplicate`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A `[[vaults]]` name.
    Vault,
    /// An `[[identities]]` name.
    Identity,
    /// A `[[roles]]` name.
    Role,
    /// A `[[backends]]` name.
    Backend,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vault => "vault",
            Self::Identity => "identity",
            Self::Role => "role",
            Self::Backend => "backend",
        })
    }
}

impl Config {
    /// Reads, parses and validates a configuration file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, path)
    }

    /// Parses and validates configuration text as if read from `path` (which names the
    /// file in errors and anchors relative paths; it need not exist).
    pub fn from_toml_str(text: &str, path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = absolute(path.as_ref());
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            ConfigError::Syntax {
                path: path.clone(),
                line,
                column,
                message: e.message().trim_end().to_owned(),
            }
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("/"),
        };
        raw.validate(dir, &path)
            .map_err(|(span, problem)| ConfigError::Invalid {
                line: span.map(|s| line_col(text, s.start).0),
                path,
                problem,
            })
    }

    /// The configuration as TOML. Paths under [`Config::dir`] are written relative to
    /// it, others absolute. Comments of the file it was loaded from are not kept.
    pub fn to_toml(&self) -> String {
        let rel = |p: &Path| -> String {
            p.strip_prefix(&self.dir)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        };
        let (store_kind, store_path) = match &self.store {
            StoreConfig::Sqlite { path } => ("sqlite", rel(path)),
        };
        let out = OutConfig {
            listen: self.listen.to_string(),
            renewal_interval_secs: self.renewal_interval_secs,
            tls: OutTls {
                ca_cert: rel(&self.tls.ca_cert),
                ca_key: rel(&self.tls.ca_key),
                server_cert: rel(&self.tls.server_cert),
                server_key: rel(&self.tls.server_key),
            },
            store: OutStore {
                kind: store_kind,
                path: store_path,
            },
            keystore: OutKeystore {
                master_key_file: rel(&self.keystore.master_key_file),
            },
            audit: OutAudit {
                path: rel(&self.audit.path),
                key_file: rel(&self.audit.key_file),
                sync: match self.audit.sync {
                    AuditSync::Always => None,
                    AuditSync::Changes => Some("changes"),
                },
            },
            limits: OutLimits::from(&self.limits),
            backends: self
                .backends
                .iter()
                .map(|b| OutBackend::new(b, &rel))
                .collect(),
            vaults: self.vaults.iter().map(OutVault::from).collect(),
            identities: self
                .identities
                .iter()
                .map(|i| OutIdentity {
                    name: &i.name,
                    vault: &i.vault,
                    role: &i.role,
                })
                .collect(),
            roles: self
                .roles
                .iter()
                .map(|r| OutRole {
                    name: &r.name,
                    operations: r.operations.iter().map(|o| operation_name(*o)).collect(),
                })
                .collect(),
            cert_profiles: self
                .cert_profiles
                .iter()
                .map(|p| OutCertProfile {
                    name: &p.name,
                    validity: format!("{}s", p.validity_secs),
                    ca: p.ca,
                    key_usage: &p.key_usage,
                    ext_key_usage: &p.ext_key_usage,
                })
                .collect(),
        };
        // Serializing plain strings, integers and booleans cannot fail.
        toml::to_string(&out).unwrap_or_default()
    }

    /// Validates this configuration and replaces [`Config::path`] with it atomically
    /// ([`write_atomic`]). The file's permission bits are kept.
    pub fn save(&self) -> Result<(), ConfigError> {
        let text = self.to_toml();
        // Round trip through the loader: an in-memory edit that broke a rule is
        // refused here rather than by the daemon's next reload.
        Self::from_toml_str(&text, &self.path)?;
        write_atomic(&self.path, text.as_bytes()).map_err(|source| ConfigError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// The vault called `name`.
    pub fn vault(&self, name: &str) -> Option<&VaultConfig> {
        self.vaults.iter().find(|v| v.name == name)
    }

    /// The `[[backends]]` entry called `name` (the built-in [`SOFTWARE_BACKEND`] has
    /// none).
    pub fn backend(&self, name: &str) -> Option<&BackendConfig> {
        self.backends.iter().find(|b| b.name == name)
    }

    /// True when `name` is [`SOFTWARE_BACKEND`] or a configured backend.
    pub fn has_backend(&self, name: &str) -> bool {
        name == SOFTWARE_BACKEND || self.backend(name).is_some()
    }

    /// The default of `extractable_by_default` for a vault on backend `name` (before
    /// the vault's `allow_extractable` ceiling): true for the software keystore and
    /// wrapped PKCS#11 placement, false for resident placement (DESIGN.md, "Export
    /// policy per vault"). `None` for a backend that is not configured.
    pub fn extractable_by_default(&self, name: &str) -> Option<bool> {
        if name == SOFTWARE_BACKEND {
            return Some(true);
        }
        self.backend(name)
            .map(|b| b.settings.extractable_by_default())
    }

    /// The backend names a vault may use: [`SOFTWARE_BACKEND`], then the configured
    /// ones, comma-separated (for messages).
    pub fn backend_names(&self) -> String {
        backend_names(&self.backends)
    }

    /// The identity called `name`.
    pub fn identity(&self, name: &str) -> Option<&IdentityConfig> {
        self.identities.iter().find(|i| i.name == name)
    }

    /// The custom role called `name` (built-in roles are not listed here).
    pub fn custom_role(&self, name: &str) -> Option<&RoleConfig> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// True when `name` is a built-in or a configured custom role.
    pub fn has_role(&self, name: &str) -> bool {
        is_builtin_role(name) || self.custom_role(name).is_some()
    }
}

/// True for the names in [`BUILTIN_ROLES`].
pub fn is_builtin_role(name: &str) -> bool {
    BUILTIN_ROLES.contains(&name)
}

/// Checks a name that doubles as a file name or label: 1 to 64 characters of
/// `[A-Za-z0-9._-]`, not starting with `.` (no hidden files, no `..`).
pub fn check_safe_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 64 {
        return Err("it is longer than 64 characters");
    }
    if name.starts_with('.') {
        return Err("it starts with '.'");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("only letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

/// Replaces `path` with `contents` so that a concurrent reader sees either the old or
/// the new file: write a temporary file in the same directory, fsync it, rename it
/// over `path`, fsync the directory. An existing file's permission bits are kept
/// (0644 for a new file); a symbolic link is followed and its target replaced.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let target = match fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => absolute(path),
        Err(e) => return Err(e),
    };
    let mode = match fs::metadata(&target) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0o644,
        Err(e) => return Err(e),
    };
    let dir = target.parent().unwrap_or(Path::new("/"));
    let file_name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut suffix = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut suffix);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        hex::encode(suffix)
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have narrowed the mode at creation.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, &target)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

// ---------------------------------------------------------------------------------
// Parsing and validation.

/// Offsets of the offending value, when known.
type Span = Option<Range<usize>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<Spanned<String>>,
    tls: RawTls,
    store: RawStore,
    keystore: RawKeystore,
    audit: RawAudit,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    backends: Vec<RawBackend>,
    #[serde(default)]
    vaults: Vec<RawVault>,
    #[serde(default)]
    identities: Vec<RawIdentity>,
    #[serde(default)]
    roles: Vec<RawRole>,
    #[serde(default)]
    cert_profiles: Vec<RawCertProfile>,
    renewal_interval_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCertProfile {
    name: Spanned<String>,
    validity: Option<Spanned<String>>,
    #[serde(default)]
    ca: bool,
    #[serde(default)]
    key_usage: Vec<Spanned<String>>,
    #[serde(default)]
    ext_key_usage: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    ca_cert: Spanned<String>,
    ca_key: Spanned<String>,
    server_cert: Spanned<String>,
    server_key: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    kind: Spanned<String>,
    path: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeystore {
    master_key_file: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    path: Spanned<String>,
    key_file: Spanned<String>,
    sync: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_message_size: Option<Spanned<u64>>,
    max_depth: Option<Spanned<u64>>,
    max_items: Option<Spanned<u64>>,
    max_batch_items: Option<Spanned<u64>>,
    max_connections: Option<Spanned<u64>>,
    handshake_timeout_secs: Option<Spanned<u64>>,
    idle_timeout_secs: Option<Spanned<u64>>,
    frame_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackend {
    name: Spanned<String>,
    kind: Spanned<String>,
    module: Option<Spanned<String>>,
    token_label: Option<Spanned<String>>,
    pin_file: Option<Spanned<String>>,
    pin_env: Option<Spanned<String>>,
    placement: Option<Spanned<String>>,
    sessions: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVault {
    name: Spanned<String>,
    backend: Option<Spanned<String>>,
    extractable_by_default: Option<Spanned<bool>>,
    allow_extractable: Option<bool>,
    allow_wrapped_export: Option<bool>,
    renew_before: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    name: Spanned<String>,
    vault: Spanned<String>,
    role: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: Spanned<String>,
    operations: Spanned<Vec<Spanned<String>>>,
}

type Invalid = (Span, Problem);

/// Resolves a configured path against the configuration's directory (`field` names
/// the key in errors).
type Resolve<'a> = dyn Fn(&Spanned<String>, &'static str) -> Result<PathBuf, Invalid> + 'a;

impl RawConfig {
    fn validate(self, dir: PathBuf, path: &Path) -> Result<Config, Invalid> {
        let listen = match &self.listen {
            None => DEFAULT_LISTEN,
            Some(s) => s.get_ref().parse().map_err(|_| {
                (
                    Some(s.span()),
                    Problem::BadListen {
                        value: s.get_ref().clone(),
                    },
                )
            })?,
        };
        let resolve = |s: &Spanned<String>, field: &'static str| -> Result<PathBuf, Invalid> {
            if s.get_ref().is_empty() {
                return Err((Some(s.span()), Problem::EmptyPath { field }));
            }
            Ok(dir.join(s.get_ref()))
        };
        let tls = TlsConfig {
            ca_cert: resolve(&self.tls.ca_cert, "tls.ca_cert")?,
            ca_key: resolve(&self.tls.ca_key, "tls.ca_key")?,
            server_cert: resolve(&self.tls.server_cert, "tls.server_cert")?,
            server_key: resolve(&self.tls.server_key, "tls.server_key")?,
        };
        let store = match self.store.kind.get_ref().as_str() {
            "sqlite" => StoreConfig::Sqlite {
                path: resolve(&self.store.path, "store.path")?,
            },
            other => {
                return Err((
                    Some(self.store.kind.span()),
                    Problem::UnsupportedStore {
                        kind: other.to_owned(),
                    },
                ))
            }
        };
        let keystore = KeystoreConfig {
            master_key_file: resolve(&self.keystore.master_key_file, "keystore.master_key_file")?,
        };
        let sync = match &self.audit.sync {
            None => AuditSync::Always,
            Some(s) => match s.get_ref().as_str() {
                "always" => AuditSync::Always,
                "changes" => AuditSync::Changes,
                other => {
                    return Err((
                        Some(s.span()),
                        Problem::BadAuditSync {
                            value: other.to_owned(),
                        },
                    ))
                }
            },
        };
        let audit = AuditConfig {
            path: resolve(&self.audit.path, "audit.path")?,
            key_file: resolve(&self.audit.key_file, "audit.key_file")?,
            sync,
        };
        let limits = self.limits.validate()?;

        let mut seen = HashSet::new();
        let mut backends = Vec::with_capacity(self.backends.len());
        for b in self.backends {
            let backend = b.validate(&resolve)?;
            if !seen.insert(backend.name.clone()) {
                return Err((
                    Some(b.name.span()),
                    duplicate(NameKind::Backend, &backend.name),
                ));
            }
            backends.push(backend);
        }

        let mut seen = HashSet::new();
        let mut vaults = Vec::with_capacity(self.vaults.len());
        for v in self.vaults {
            let name = v.name.get_ref();
            let span = Some(v.name.span());
            let too_long = name.len() > MAX_VAULT_NAME_LEN;
            if let Err(reason) = check_safe_name(name).and(if too_long {
                Err("it is longer than 32 bytes (the PKCS#11 token label)")
            } else {
                Ok(())
            }) {
                return Err((span, bad_name(NameKind::Vault, name, reason)));
            }
            if !seen.insert(name.clone()) {
                return Err((span, duplicate(NameKind::Vault, name)));
            }
            let backend = match &v.backend {
                None => SOFTWARE_BACKEND.to_owned(),
                Some(b) => b.get_ref().clone(),
            };
            let backend_default = if backend == SOFTWARE_BACKEND {
                true
            } else {
                match backends.iter().find(|c| c.name == backend) {
                    Some(c) => c.settings.extractable_by_default(),
                    None => {
                        return Err((
                            v.backend.as_ref().map(Spanned::span),
                            Problem::UnknownBackend {
                                vault: name.clone(),
                                backend,
                                known: backend_names(&backends),
                            },
                        ))
                    }
                }
            };
            let allow_extractable = v.allow_extractable.unwrap_or(true);
            let extractable_by_default = match &v.extractable_by_default {
                None => allow_extractable && backend_default,
                Some(e) if *e.get_ref() && !allow_extractable => {
                    return Err((
                        Some(e.span()),
                        Problem::ExtractableAboveCeiling {
                            vault: name.clone(),
                        },
                    ))
                }
                Some(e) => *e.get_ref(),
            };
            let renew_before = match &v.renew_before {
                None => None,
                Some(d) => Some(duration(d, "renew_before")?),
            };
            vaults.push(VaultConfig {
                name: v.name.into_inner(),
                backend,
                extractable_by_default,
                allow_extractable,
                allow_wrapped_export: v.allow_wrapped_export.unwrap_or(false),
                renew_before,
            });
        }

        let mut seen = HashSet::new();
        let mut roles = Vec::with_capacity(self.roles.len());
        for r in self.roles {
            let name = r.name.get_ref();
            let span = Some(r.name.span());
            if is_builtin_role(name) {
                return Err((span, Problem::BuiltinRoleRedefined { role: name.clone() }));
            }
            check_safe_name(name)
                .map_err(|reason| (span.clone(), bad_name(NameKind::Role, name, reason)))?;
            if !seen.insert(name.clone()) {
                return Err((span, duplicate(NameKind::Role, name)));
            }
            if r.operations.get_ref().is_empty() {
                return Err((
                    Some(r.operations.span()),
                    Problem::EmptyRole { role: name.clone() },
                ));
            }
            let mut operations = Vec::with_capacity(r.operations.get_ref().len());
            for op in r.operations.get_ref() {
                match Operation::from_name(op.get_ref()) {
                    Some(o) if !operations.contains(&o) => operations.push(o),
                    Some(_) => {}
                    None => {
                        return Err((
                            Some(op.span()),
                            Problem::UnknownOperation {
                                role: name.clone(),
                                operation: op.get_ref().clone(),
                            },
                        ))
                    }
                }
            }
            roles.push(RoleConfig {
                name: r.name.into_inner(),
                operations,
            });
        }

        let mut seen = HashSet::new();
        let mut identities = Vec::with_capacity(self.identities.len());
        for i in self.identities {
            let name = i.name.get_ref();
            let span = Some(i.name.span());
            check_identity_name(name)
                .map_err(|reason| (span.clone(), bad_name(NameKind::Identity, name, reason)))?;
            if !seen.insert(name.clone()) {
                return Err((span, duplicate(NameKind::Identity, name)));
            }
            if !vaults.iter().any(|v| v.name == *i.vault.get_ref()) {
                return Err((
                    Some(i.vault.span()),
                    Problem::UnknownVault {
                        identity: name.clone(),
                        vault: i.vault.get_ref().clone(),
                        known: list_or_none(vaults.iter().map(|v| v.name.as_str())),
                    },
                ));
            }
            let role = i.role.get_ref();
            if !is_builtin_role(role) && !roles.iter().any(|r| r.name == *role) {
                return Err((
                    Some(i.role.span()),
                    Problem::UnknownRole {
                        identity: name.clone(),
                        role: role.clone(),
                        known: list_or_none(
                            BUILTIN_ROLES
                                .iter()
                                .copied()
                                .chain(roles.iter().map(|r| r.name.as_str())),
                        ),
                    },
                ));
            }
            identities.push(IdentityConfig {
                name: i.name.into_inner(),
                vault: i.vault.into_inner(),
                role: i.role.into_inner(),
            });
        }

        let mut cert_profiles: Vec<CertProfileConfig> = Vec::new();
        for p in &self.cert_profiles {
            let name = p.name.get_ref();
            if let Err(reason) = check_safe_name(name) {
                return Err((
                    Some(p.name.span()),
                    Problem::BadCertProfile {
                        profile: name.clone(),
                        reason: reason.to_owned(),
                    },
                ));
            }
            if cert_profiles.iter().any(|c| c.name == *name) {
                return Err((
                    Some(p.name.span()),
                    Problem::BadCertProfile {
                        profile: name.clone(),
                        reason: "it is defined twice".into(),
                    },
                ));
            }
            let bad = |span: Range<usize>, reason: String| {
                (
                    Some(span),
                    Problem::BadCertProfile {
                        profile: name.clone(),
                        reason,
                    },
                )
            };
            for k in &p.key_usage {
                if !KEY_USAGE_NAMES.contains(&k.get_ref().as_str()) {
                    return Err(bad(
                        k.span(),
                        format!(
                            "unknown key usage {:?} (known: {})",
                            k.get_ref(),
                            KEY_USAGE_NAMES.join(", ")
                        ),
                    ));
                }
            }
            for k in &p.ext_key_usage {
                let v = k.get_ref();
                let known = EXT_KEY_USAGES.iter().any(|(n, _)| n == v);
                let oid = !v.is_empty() && v.split('.').all(|a| a.parse::<u64>().is_ok());
                if !known && !oid {
                    return Err(bad(
                        k.span(),
                        format!("unknown extended key usage {v:?} (a name or a dotted OID)"),
                    ));
                }
            }
            let validity_secs = match &p.validity {
                None => 365 * 86_400,
                Some(d) => duration(d, "validity")?,
            };
            cert_profiles.push(CertProfileConfig {
                name: name.clone(),
                validity_secs,
                ca: p.ca,
                key_usage: p.key_usage.iter().map(|k| k.get_ref().clone()).collect(),
                ext_key_usage: p
                    .ext_key_usage
                    .iter()
                    .map(|k| k.get_ref().clone())
                    .collect(),
            });
        }
        let renewal_interval_secs = match &self.renewal_interval_secs {
            None => DEFAULT_RENEWAL_INTERVAL_SECS,
            Some(v) if *v.get_ref() == 0 => {
                return Err((
                    Some(v.span()),
                    Problem::BadDuration {
                        field: "renewal_interval_secs",
                        value: "0".into(),
                    },
                ))
            }
            Some(v) => *v.get_ref(),
        };

        Ok(Config {
            path: path.to_path_buf(),
            dir,
            listen,
            tls,
            store,
            keystore,
            audit,
            limits,
            backends,
            vaults,
            identities,
            roles,
            cert_profiles,
            renewal_interval_secs,
        })
    }
}

/// A positive duration (`90d`, `12h`, `30m`, `45s`) of the key `field`.
fn duration(d: &Spanned<String>, field: &'static str) -> Result<u64, Invalid> {
    match parse_duration(d.get_ref()) {
        Some(n) if n > 0 => Ok(n),
        _ => Err((
            Some(d.span()),
            Problem::BadDuration {
                field,
                value: d.get_ref().clone(),
            },
        )),
    }
}

impl RawBackend {
    fn validate(&self, resolve: &Resolve<'_>) -> Result<BackendConfig, Invalid> {
        let name = self.name.get_ref();
        let span = Some(self.name.span());
        if name == SOFTWARE_BACKEND {
            return Err((span, Problem::ReservedBackendName));
        }
        check_safe_name(name)
            .map_err(|reason| (span.clone(), bad_name(NameKind::Backend, name, reason)))?;
        let settings = match self.kind.get_ref().as_str() {
            "pkcs11" => BackendSettings::Pkcs11(self.pkcs11(resolve)?),
            other => {
                return Err((
                    Some(self.kind.span()),
                    Problem::UnsupportedBackend {
                        backend: name.clone(),
                        kind: other.to_owned(),
                    },
                ))
            }
        };
        Ok(BackendConfig {
            name: name.clone(),
            settings,
        })
    }

    fn pkcs11(&self, resolve: &Resolve<'_>) -> Result<Pkcs11Settings, Invalid> {
        let backend = self.name.get_ref();
        let required = |v: &Option<Spanned<String>>, field: &'static str| {
            v.clone().ok_or_else(|| {
                (
                    Some(self.name.span()),
                    Problem::MissingBackendSetting {
                        backend: backend.clone(),
                        kind: "pkcs11",
                        field,
                    },
                )
            })
        };
        let module = resolve(&required(&self.module, "module")?, "backends.module")?;
        let label = required(&self.token_label, "token_label")?;
        let bad_label = |reason| {
            (
                Some(label.span()),
                Problem::BadTokenLabel {
                    backend: backend.clone(),
                    value: label.get_ref().clone(),
                    reason,
                },
            )
        };
        if label.get_ref().is_empty() {
            return Err(bad_label("it is empty"));
        }
        if label.get_ref().len() > MAX_TOKEN_LABEL_LEN {
            return Err(bad_label(
                "it is longer than 32 bytes (CK_TOKEN_INFO.label)",
            ));
        }
        if label.get_ref().chars().any(char::is_control) {
            return Err(bad_label("it contains a control character"));
        }
        let pin = match (&self.pin_file, &self.pin_env) {
            (Some(f), None) => PinSource::File(resolve(f, "backends.pin_file")?),
            (None, Some(e)) => {
                let value = e.get_ref();
                let valid = value
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !valid {
                    return Err((
                        Some(e.span()),
                        Problem::BadPinEnv {
                            backend: backend.clone(),
                            value: value.clone(),
                        },
                    ));
                }
                PinSource::Env(value.clone())
            }
            (Some(f), Some(_)) => {
                return Err((
                    Some(f.span()),
                    Problem::BadPinSource {
                        backend: backend.clone(),
                        found: "both",
                    },
                ))
            }
            (None, None) => {
                return Err((
                    Some(self.name.span()),
                    Problem::BadPinSource {
                        backend: backend.clone(),
                        found: "neither",
                    },
                ))
            }
        };
        let placement = match &self.placement {
            None => Placement::Resident,
            Some(p) => Placement::from_name(p.get_ref()).ok_or_else(|| {
                (
                    Some(p.span()),
                    Problem::BadPlacement {
                        backend: backend.clone(),
                        value: p.get_ref().clone(),
                    },
                )
            })?,
        };
        let sessions = match &self.sessions {
            None => DEFAULT_PKCS11_SESSIONS,
            Some(n) => usize::try_from(*n.get_ref())
                .ok()
                .filter(|v| (1..=MAX_PKCS11_SESSIONS).contains(v))
                .ok_or_else(|| {
                    (
                        Some(n.span()),
                        Problem::BadSessions {
                            backend: backend.clone(),
                            value: *n.get_ref(),
                        },
                    )
                })?,
        };
        Ok(Pkcs11Settings {
            module,
            token_label: label.into_inner(),
            pin,
            placement,
            sessions,
        })
    }
}

/// `software` and the names of `backends`, comma-separated.
fn backend_names(backends: &[BackendConfig]) -> String {
    std::iter::once(SOFTWARE_BACKEND)
        .chain(backends.iter().map(|b| b.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RawLimits {
    fn validate(&self) -> Result<Limits, Invalid> {
        let d = Limits::DEFAULT;
        Ok(Limits {
            max_message_size: size(
                &self.max_message_size,
                "max_message_size",
                d.max_message_size,
            )?,
            max_depth: size(&self.max_depth, "max_depth", d.max_depth)?,
            max_items: size(&self.max_items, "max_items", d.max_items)?,
            max_batch_items: size(&self.max_batch_items, "max_batch_items", d.max_batch_items)?,
            max_connections: size(&self.max_connections, "max_connections", d.max_connections)?,
            handshake_timeout_secs: secs(
                &self.handshake_timeout_secs,
                "handshake_timeout_secs",
                d.handshake_timeout_secs,
            )?,
            idle_timeout_secs: secs(
                &self.idle_timeout_secs,
                "idle_timeout_secs",
                d.idle_timeout_secs,
            )?,
            frame_timeout_secs: secs(
                &self.frame_timeout_secs,
                "frame_timeout_secs",
                d.frame_timeout_secs,
            )?,
        })
    }
}

fn secs(v: &Option<Spanned<u64>>, name: &'static str, default: u64) -> Result<u64, Invalid> {
    match v {
        None => Ok(default),
        Some(s) if *s.get_ref() == 0 => Err((Some(s.span()), Problem::ZeroLimit { name })),
        Some(s) => Ok(*s.get_ref()),
    }
}

fn size(v: &Option<Spanned<u64>>, name: &'static str, default: usize) -> Result<usize, Invalid> {
    match v {
        None => Ok(default),
        Some(s) => {
            let value = *s.get_ref();
            if value == 0 {
                return Err((Some(s.span()), Problem::ZeroLimit { name }));
            }
            usize::try_from(value)
                .map_err(|_| (Some(s.span()), Problem::LimitTooLarge { name, value }))
        }
    }
}

fn check_identity_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.chars().count() > MAX_IDENTITY_NAME_LEN {
        return Err("it is longer than 64 characters (the certificate common name limit)");
    }
    if name.chars().any(char::is_control) {
        return Err("it contains a control character");
    }
    if name.trim() != name {
        return Err("it has leading or trailing spaces");
    }
    Ok(())
}

fn bad_name(kind: NameKind, name: &str, reason: &'static str) -> Problem {
    Problem::BadName {
        kind,
        name: name.to_owned(),
        reason,
    }
}

fn duplicate(kind: NameKind, name: &str) -> Problem {
    Problem::Duplicate {
        kind,
        name: name.to_owned(),
    }
}

fn list_or_none<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = names.collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

/// The XML/JSON spelling of an operation; vendor values as `0x8000000A`.
fn operation_name(op: Operation) -> String {
    op.name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:#010X}", op.value()))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `path:line:column` as far as known.
struct Location<'a>(&'a Path, Option<usize>, Option<usize>);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())?;
        if let Some(line) = self.1 {
            write!(f, ":{line}")?;
            if let Some(column) = self.2 {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Serialization.

#[derive(Serialize)]
struct OutConfig<'a> {
    listen: String,
    #[serde(skip_serializing_if = "is_default_renewal_interval")]
    renewal_interval_secs: u64,
    tls: OutTls,
    store: OutStore,
    keystore: OutKeystore,
    audit: OutAudit,
    limits: OutLimits,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    backends: Vec<OutBackend<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vaults: Vec<OutVault<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    identities: Vec<OutIdentity<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<OutRole<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cert_profiles: Vec<OutCertProfile<'a>>,
}

fn is_default_renewal_interval(v: &u64) -> bool {
    *v == DEFAULT_RENEWAL_INTERVAL_SECS
}

#[derive(Serialize)]
struct OutCertProfile<'a> {
    name: &'a str,
    validity: String,
    ca: bool,
    key_usage: &'a [String],
    ext_key_usage: &'a [String],
}

#[derive(Serialize)]
struct OutTls {
    ca_cert: String,
    ca_key: String,
    server_cert: String,
    server_key: String,
}

#[derive(Serialize)]
struct OutStore {
    kind: &'static str,
    path: String,
}

#[derive(Serialize)]
struct OutKeystore {
    master_key_file: String,
}

#[derive(Serialize)]
struct OutAudit {
    path: String,
    key_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<&'static str>,
}

#[derive(Serialize)]
struct OutLimits {
    max_message_size: u64,
    max_depth: u64,
    max_items: u64,
    max_batch_items: u64,
    max_connections: u64,
    handshake_timeout_secs: u64,
    idle_timeout_secs: u64,
    frame_timeout_secs: u64,
}

impl From<&Limits> for OutLimits {
    fn from(l: &Limits) -> Self {
        // usize -> u64 is lossless on every supported target.
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        Self {
            max_message_size: n(l.max_message_size),
            max_depth: n(l.max_depth),
            max_items: n(l.max_items),
            max_batch_items: n(l.max_batch_items),
            max_connections: n(l.max_connections),
            handshake_timeout_secs: l.handshake_timeout_secs,
            idle_timeout_secs: l.idle_timeout_secs,
            frame_timeout_secs: l.frame_timeout_secs,
        }
    }
}

#[derive(Serialize)]
struct OutBackend<'a> {
    name: &'a str,
    kind: &'static str,
    module: String,
    token_label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pin_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pin_env: Option<&'a str>,
    placement: &'static str,
    sessions: u64,
}

impl<'a> OutBackend<'a> {
    fn new(b: &'a BackendConfig, rel: &dyn Fn(&Path) -> String) -> Self {
        match &b.settings {
            BackendSettings::Pkcs11(p) => Self {
                name: &b.name,
                kind: b.settings.kind(),
                module: rel(&p.module),
                token_label: &p.token_label,
                pin_file: match &p.pin {
                    PinSource::File(f) => Some(rel(f)),
                    PinSource::Env(_) => None,
                },
                pin_env: match &p.pin {
                    PinSource::Env(v) => Some(v),
                    PinSource::File(_) => None,
                },
                placement: p.placement.as_str(),
                // usize -> u64 is lossless on every supported target.
                sessions: u64::try_from(p.sessions).unwrap_or(u64::MAX),
            },
        }
    }
}

#[derive(Serialize)]
struct OutVault<'a> {
    name: &'a str,
    backend: &'a str,
    extractable_by_default: bool,
    allow_extractable: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_wrapped_export: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    renew_before: Option<String>,
}

impl<'a> From<&'a VaultConfig> for OutVault<'a> {
    fn from(v: &'a VaultConfig) -> Self {
        Self {
            name: &v.name,
            backend: &v.backend,
            extractable_by_default: v.extractable_by_default,
            allow_extractable: v.allow_extractable,
            allow_wrapped_export: v.allow_wrapped_export,
            renew_before: v.renew_before.map(|s| format!("{s}s")),
        }
    }
}

#[derive(Serialize)]
struct OutIdentity<'a> {
    name: &'a str,
    vault: &'a str,
    role: &'a str,
}

#[derive(Serialize)]
struct OutRole<'a> {
    name: &'a str,
    operations: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d"), Some(90 * 86_400));
        assert_eq!(parse_duration("12h"), Some(43_200));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("45s"), Some(45));
        assert_eq!(parse_duration("45"), Some(45));
        for bad in ["", "d", "3w", "-1d", "1.5h", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    const BASE: &str = "[tls]\nca_cert = \"ca.pem\"\nca_key = \"k\"\nserver_cert = \"s\"\n\
        server_key = \"sk\"\n[store]\nkind = \"sqlite\"\npath = \"db\"\n[keystore]\n\
        master_key_file = \"m\"\n[audit]\npath = \"a\"\nkey_file = \"ak\"\n";

    #[test]
    fn certificate_settings_load_and_survive_a_save() {
        let text = format!(
            "renewal_interval_secs = 60\n{BASE}[[vaults]]\nname = \"v\"\nrenew_before = \"30d\"\n\
             [[cert_profiles]]\nname = \"web\"\nvalidity = \"90d\"\n\
             key_usage = [\"digitalSignature\"]\next_key_usage = [\"serverAuth\", \"1.2.3.4\"]\n"
        );
        let cfg = Config::from_toml_str(&text, "/etc/keygate/keygate.toml").expect("loads");
        assert_eq!(cfg.renewal_interval_secs, 60);
        assert_eq!(cfg.vault("v").unwrap().renew_before, Some(30 * 86_400));
        let p = &cfg.cert_profiles[0];
        assert_eq!((p.name.as_str(), p.validity_secs), ("web", 90 * 86_400));
        assert_eq!(p.ext_key_usage, ["serverAuth", "1.2.3.4"]);
        let again = Config::from_toml_str(&cfg.to_toml(), "/etc/keygate/keygate.toml")
            .expect("to_toml reloads");
        assert_eq!(again, cfg);
    }

    #[test]
    fn audit_sync_loads_survives_a_save_and_refuses_other_values() {
        let cfg = Config::from_toml_str(BASE, "/k.toml").expect("loads");
        assert_eq!(cfg.audit.sync, AuditSync::Always, "the default");
        assert!(
            !cfg.to_toml().contains("sync"),
            "the default is not written"
        );
        let changes = BASE.replace(
            "key_file = \"ak\"\n",
            "key_file = \"ak\"\nsync = \"changes\"\n",
        );
        let cfg = Config::from_toml_str(&changes, "/k.toml").expect("loads");
        assert_eq!(cfg.audit.sync, AuditSync::Changes);
        let again = Config::from_toml_str(&cfg.to_toml(), "/k.toml").expect("to_toml reloads");
        assert_eq!(again.audit.sync, AuditSync::Changes);
        let always = BASE.replace(
            "key_file = \"ak\"\n",
            "key_file = \"ak\"\nsync = \"always\"\n",
        );
        assert_eq!(
            Config::from_toml_str(&always, "/k.toml")
                .expect("loads")
                .audit
                .sync,
            AuditSync::Always
        );
        let bad = BASE.replace(
            "key_file = \"ak\"\n",
            "key_file = \"ak\"\nsync = \"never\"\n",
        );
        let err = Config::from_toml_str(&bad, "/k.toml")
            .expect_err("never")
            .to_string();
        assert!(err.contains("audit.sync") && err.contains("never"), "{err}");
    }

    #[test]
    fn bad_certificate_settings_are_refused() {
        for (extra, want) in [
            (
                "[[vaults]]\nname = \"v\"\nrenew_before = \"soon\"\n",
                "renew_before",
            ),
            (
                "[[cert_profiles]]\nname = \"p\"\nkey_usage = [\"signEverything\"]\n",
                "unknown key usage",
            ),
            (
                "[[cert_profiles]]\nname = \"p\"\next_key_usage = [\"web\"]\n",
                "unknown extended key usage",
            ),
            (
                "[[cert_profiles]]\nname = \"p\"\n[[cert_profiles]]\nname = \"p\"\n",
                "defined twice",
            ),
        ] {
            let err = Config::from_toml_str(&format!("{BASE}{extra}"), "/k.toml")
                .expect_err(extra)
                .to_string();
            assert!(err.contains(want), "{extra}: {err}");
        }
        let zero = format!("renewal_interval_secs = 0\n{BASE}");
        assert!(Config::from_toml_str(&zero, "/k.toml").is_err());
    }

    #[test]
    fn safe_names() {
        assert!(check_safe_name("app-1.prod_x").is_ok());
        for bad in ["", ".hidden", "..", "a/b", "a b", "é", &"x".repeat(65)] {
            assert!(check_safe_name(bad).is_err(), "{bad:?}");
        }
    }
}
