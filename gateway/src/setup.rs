//! The operator commands that create and extend a deployment, as library functions:
//! `keygate init` ([`init`]), `keygate client add` ([`client_add`]) and
//! `keygate vault add` ([`vault_add`]). The CLI only parses arguments and prints.
//!
//! The daemon re-reads its configuration on SIGHUP and also polls the file's
//! modification time every 2 seconds, so a client or vault added here is usable
//! without restarting it. The configuration is replaced atomically
//! ([`crate::config::write_atomic`]), so the daemon never reads half a file.

use crate::config::{
    self, check_safe_name, Config, ConfigError, IdentityConfig, NameKind, PinSource, Placement,
    VaultConfig, BUILTIN_ROLES, CONFIG_FILE_NAME, SOFTWARE_BACKEND,
};
use crate::pki::{self, Ca, PkiError};
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Identities `init` creates, with their roles: an administrator and an application.
pub const INIT_IDENTITIES: &[(&str, &str)] = &[("admin", "admin"), ("app", "app")];

/// The vault `init` creates.
pub const DEFAULT_VAULT: &str = "default";

/// The name `init` gives the PKCS#11 backend it configures ([`InitOptions::pkcs11`]).
pub const INIT_HSM_BACKEND: &str = "hsm";

/// Options of [`init`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitOptions {
    /// Extra names for the server certificate (DNS names or IP addresses); the first
    /// one becomes its common name. localhost, 127.0.0.1 and ::1 are always included.
    pub hostnames: Vec<String>,
    /// Listener address; [`config::DEFAULT_LISTEN`] when `None`.
    pub listen: Option<SocketAddr>,
    /// A PKCS#11 token to keep the `default` vault's keys in: configured as backend
    /// [`INIT_HSM_BACKEND`]. `None`: the vault uses the built-in software keystore.
    pub pkcs11: Option<Pkcs11Init>,
}

/// The PKCS#11 backend `init` writes (`keygate init --pkcs11-module ...`).
///
/// Nothing is checked against the system here: the daemon checks at start that the
/// module exists, that the PIN file is readable by its user alone, and that the
/// token accepts the PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Init {
    /// The PKCS#11 module (a relative path is taken from the current directory).
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// Where the daemon reads the user PIN (a relative `pin_file` is taken from the
    /// current directory).
    pub pin: PinSource,
    /// Resident or wrapped keys.
    pub placement: Placement,
}

/// What [`init`] created, for printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// The deployment directory (absolute).
    pub dir: PathBuf,
    /// `keygate.toml`.
    pub config: PathBuf,
    /// The CA certificate.
    pub ca_cert: PathBuf,
    /// The CA private key (needed only by `client add`).
    pub ca_key: PathBuf,
    /// The server certificate.
    pub server_cert: PathBuf,
    /// The server private key.
    pub server_key: PathBuf,
    /// The software keystore's master key.
    pub master_key: PathBuf,
    /// The audit log's HMAC key.
    pub audit_key: PathBuf,
    /// The client certificates made.
    pub clients: Vec<ClientFiles>,
    /// The listener address written to the configuration.
    pub listen: SocketAddr,
    /// The backend of the `default` vault: [`SOFTWARE_BACKEND`], or
    /// [`INIT_HSM_BACKEND`] when a PKCS#11 token was given.
    pub backend: String,
}

/// One client's certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFiles {
    /// Identity name (the certificate's CN).
    pub name: String,
    /// Its role.
    pub role: String,
    /// `clients/NAME`.
    pub dir: PathBuf,
    /// `clients/NAME/cert.pem`.
    pub cert: PathBuf,
    /// `clients/NAME/key.pem`.
    pub key: PathBuf,
}

/// Options of [`vault_add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultOptions {
    /// Name of the key backend: [`SOFTWARE_BACKEND`] (the default) or a configured
    /// `[[backends]]` entry.
    pub backend: String,
    /// Whether new objects are extractable when the request does not say; `None`
    /// takes the backend's default (within the ceiling).
    pub extractable_by_default: Option<bool>,
    /// The ceiling: may any object of the vault be extractable at all.
    pub allow_extractable: bool,
}

impl Default for VaultOptions {
    fn default() -> Self {
        Self {
            backend: SOFTWARE_BACKEND.to_owned(),
            extractable_by_default: None,
            allow_extractable: true,
        }
    }
}

/// Why a setup command failed. When one fails, nothing it created is left behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A file or directory the command would create already exists.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    Exists {
        /// The existing path.
        path: PathBuf,
    },
    /// `init` was pointed at a directory holding other files.
    #[error("{} is not empty (it contains {}); init needs a new or empty directory", path.display(), entry.display())]
    DirectoryNotEmpty {
        /// The directory.
        path: PathBuf,
        /// One of its entries.
        entry: PathBuf,
    },
    /// `init` was pointed at something that is not a directory.
    #[error("{} exists and is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The configuration could not be read, is invalid, or could not be written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A certificate or key could not be made, read or written.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A name is unusable.
    #[error("{kind} name {name:?} is invalid: {reason}")]
    InvalidName {
        /// What was being named.
        kind: NameKind,
        /// The name given.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The identity is already configured.
    #[error("identity {name:?} already exists")]
    DuplicateIdentity {
        /// The name.
        name: String,
    },
    /// The vault is already configured.
    #[error("vault {name:?} already exists")]
    DuplicateVault {
        /// The name.
        name: String,
    },
    /// The backend named for a new vault is not configured.
    #[error("unknown backend {backend:?} (backends: {known})")]
    UnknownBackend {
        /// The name given.
        backend: String,
        /// `software` and the configured backend names, comma-separated.
        known: String,
    },
    /// The vault named for a new identity is not configured.
    #[error("unknown vault {vault:?} (configured vaults: {known})")]
    UnknownVault {
        /// The name given.
        vault: String,
        /// Configured vault names, comma-separated.
        known: String,
    },
    /// The role named for a new identity is neither built in nor configured.
    #[error("unknown role {role:?} (roles: {known})")]
    UnknownRole {
        /// The name given.
        role: String,
        /// Built-in and custom role names, comma-separated.
        known: String,
    },
    /// The configuration file changed while the command ran; nothing was written.
    #[error("{} changed while it was being updated; run the command again", path.display())]
    ConcurrentModification {
        /// The configuration file.
        path: PathBuf,
    },
    /// The system random number generator failed.
    #[error("random number generator failed: {0}")]
    Rng(String),
}

/// Creates a working development deployment in `dir` (created if missing; an
/// existing directory must be empty):
///
/// - `keygate.toml` (vault `default`, identities `admin` with role admin and `app`
///   with role app; with [`InitOptions::pkcs11`], a `[[backends]]` entry named
///   [`INIT_HSM_BACKEND`] that the `default` vault uses),
/// - `ca.pem`, `ca-key.pem` (CA, ten years),
/// - `server/cert.pem`, `server/key.pem` (two years, SANs localhost, 127.0.0.1, ::1
///   and `opts.hostnames`),
/// - `master.key` (software keystore master key) and `audit.key` (audit HMAC key),
///   32 random bytes each,
/// - `clients/admin/{cert,key}.pem` and `clients/app/{cert,key}.pem`.
///
/// Keys are mode 0600, certificates 0644, `dir` 0700 when created here. Nothing is
/// ever overwritten: if any of these exists the error names it and nothing is
/// written. Everything is generated in memory before the first write, and a failed
/// write removes what was already created; the configuration is written last, so a
/// `keygate.toml` is only ever next to a complete set of files.
pub fn init(dir: &Path, opts: &InitOptions) -> Result<InitReport, SetupError> {
    let dir = std::path::absolute(dir).map_err(|source| SetupError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let listen = opts.listen.unwrap_or(config::DEFAULT_LISTEN);
    let hsm = opts
        .pkcs11
        .as_ref()
        .map(|p| absolute_pkcs11(p, &dir))
        .transpose()?;
    let report = InitReport {
        config: dir.join(CONFIG_FILE_NAME),
        ca_cert: dir.join("ca.pem"),
        ca_key: dir.join("ca-key.pem"),
        server_cert: dir.join("server/cert.pem"),
        server_key: dir.join("server/key.pem"),
        master_key: dir.join("master.key"),
        audit_key: dir.join("audit.key"),
        clients: INIT_IDENTITIES
            .iter()
            .map(|(name, role)| client_files(&dir, name, role))
            .collect(),
        listen,
        backend: match hsm {
            Some(_) => INIT_HSM_BACKEND,
            None => SOFTWARE_BACKEND,
        }
        .to_owned(),
        dir: dir.clone(),
    };

    // Everything that can fail without touching the disk, first.
    let config_text = init_config_text(listen, hsm.as_ref());
    Config::from_toml_str(&config_text, &report.config)?;
    let ca = Ca::generate()?;
    let server = ca.issue_server(&opts.hostnames)?;
    let clients = report
        .clients
        .iter()
        .map(|c| ca.issue_client(&c.name))
        .collect::<Result<Vec<_>, _>>()?;
    let master_key = random_key()?;
    let audit_key = random_key()?;

    // Refuse to overwrite anything.
    let targets = [
        &report.config,
        &report.ca_cert,
        &report.ca_key,
        &report.server_cert,
        &report.server_key,
        &report.master_key,
        &report.audit_key,
    ]
    .into_iter()
    .cloned()
    .chain(
        report
            .clients
            .iter()
            .flat_map(|c| [c.cert.clone(), c.key.clone()]),
    );
    for path in targets {
        if path.symlink_metadata().is_ok() {
            return Err(SetupError::Exists { path });
        }
    }
    match dir.symlink_metadata() {
        Ok(m) if !m.is_dir() => return Err(SetupError::NotADirectory { path: dir }),
        Ok(_) => {
            let mut entries = fs::read_dir(&dir).map_err(|source| SetupError::Io {
                path: dir.clone(),
                source,
            })?;
            if let Some(entry) = entries.next() {
                let entry = entry.map_err(|source| SetupError::Io {
                    path: dir.clone(),
                    source,
                })?;
                return Err(SetupError::DirectoryNotEmpty {
                    path: dir.clone(),
                    entry: entry.file_name().into(),
                });
            }
        }
        Err(_) => {}
    }

    write_deployment(
        &report,
        &Material {
            config_text,
            ca,
            server,
            clients,
            master_key,
            audit_key,
        },
    )?;
    Ok(report)
}

/// Adds identity `name` bound to `vault` with `role`: issues its client certificate
/// from the CA (`tls.ca_cert` / `tls.ca_key`) into `clients/NAME/{cert,key}.pem` next
/// to the configuration, then appends the identity to the configuration atomically.
/// Returns the client directory.
///
/// `name` becomes a directory name, so it must be 1-64 of `[A-Za-z0-9._-]` and not
/// start with `.`. The vault and role must exist and the name must be new. The
/// running daemon picks the identity up on its next reload (SIGHUP, or within 2
/// seconds by its mtime poll).
pub fn client_add(
    config_path: &Path,
    name: &str,
    vault: &str,
    role: &str,
) -> Result<PathBuf, SetupError> {
    let (text, config) = read_config(config_path)?;
    check_safe_name(name).map_err(|reason| SetupError::InvalidName {
        kind: NameKind::Identity,
        name: name.to_owned(),
        reason,
    })?;
    if config.identity(name).is_some() {
        return Err(SetupError::DuplicateIdentity {
            name: name.to_owned(),
        });
    }
    if config.vault(vault).is_none() {
        return Err(SetupError::UnknownVault {
            vault: vault.to_owned(),
            known: config
                .vaults
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if !config.has_role(role) {
        return Err(SetupError::UnknownRole {
            role: role.to_owned(),
            known: BUILTIN_ROLES
                .iter()
                .copied()
                .chain(config.roles.iter().map(|r| r.name.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }

    let mut updated = config.clone();
    updated.identities.push(IdentityConfig {
        name: name.to_owned(),
        vault: vault.to_owned(),
        role: role.to_owned(),
    });
    let block = format!(
        "[[identities]]\nname = {}\nvault = {}\nrole = {}\n",
        toml_string(name),
        toml_string(vault),
        toml_string(role)
    );
    let new_text = appended(&text, &block, &updated)?;

    let ca = Ca::load(&config.tls.ca_cert, &config.tls.ca_key)?;
    let issued = ca.issue_client(name)?;
    let files = client_files(&config.dir, name, role);

    let mut created = Created::default();
    let clients = config.dir.join("clients");
    if clients.symlink_metadata().is_err() {
        created.dir(&clients, 0o700)?;
    }
    created.dir(&files.dir, 0o700)?;
    issued.write(&files.cert, &files.key)?;
    created.file(&files.key);
    created.file(&files.cert);
    replace_config(&config.path, &text, &new_text)?;
    created.commit();
    Ok(files.dir)
}

/// Adds a vault. The name must be new and 1-32 of `[A-Za-z0-9._-]` (it is also the
/// PKCS#11 token label), not starting with `.`; the backend must be
/// [`SOFTWARE_BACKEND`] or a configured one; `extractable_by_default` may not exceed
/// `allow_extractable` (when `None` it takes the backend's default: true for the
/// software keystore and wrapped PKCS#11 placement, false for resident placement). The configuration is replaced atomically and the
/// running daemon picks the vault up on its next reload (SIGHUP, or within 2
/// seconds by its mtime poll).
pub fn vault_add(config_path: &Path, name: &str, opts: &VaultOptions) -> Result<(), SetupError> {
    let (text, config) = read_config(config_path)?;
    check_safe_name(name)
        .and(if name.len() > config::MAX_VAULT_NAME_LEN {
            Err("it is longer than 32 bytes (the PKCS#11 token label)")
        } else {
            Ok(())
        })
        .map_err(|reason| SetupError::InvalidName {
            kind: NameKind::Vault,
            name: name.to_owned(),
            reason,
        })?;
    if config.vault(name).is_some() {
        return Err(SetupError::DuplicateVault {
            name: name.to_owned(),
        });
    }
    let Some(backend_default) = config.extractable_by_default(&opts.backend) else {
        return Err(SetupError::UnknownBackend {
            backend: opts.backend.clone(),
            known: config.backend_names(),
        });
    };
    let extractable_by_default = opts
        .extractable_by_default
        .unwrap_or(opts.allow_extractable && backend_default);
    let mut updated = config.clone();
    updated.vaults.push(VaultConfig {
        name: name.to_owned(),
        backend: opts.backend.clone(),
        extractable_by_default,
        allow_extractable: opts.allow_extractable,
        allow_wrapped_export: false,
        renew_before: None,
    });
    let block = format!(
        "[[vaults]]\nname = {}\nbackend = {}\nextractable_by_default = {}\nallow_extractable = {}\n",
        toml_string(name),
        toml_string(&opts.backend),
        extractable_by_default,
        opts.allow_extractable
    );
    let new_text = appended(&text, &block, &updated)?;
    replace_config(&config.path, &text, &new_text)
}

// ---------------------------------------------------------------------------------

/// Everything `init` writes, generated before the first write.
struct Material {
    config_text: String,
    ca: Ca,
    server: pki::Issued,
    clients: Vec<pki::Issued>,
    master_key: Zeroizing<[u8; 32]>,
    audit_key: Zeroizing<[u8; 32]>,
}

/// Writes a deployment, configuration last; on any failure removes what it wrote.
fn write_deployment(report: &InitReport, m: &Material) -> Result<(), SetupError> {
    let dir = &report.dir;
    let mut created = Created::default();
    created.dir_all(dir, 0o700)?;
    m.ca.write(&report.ca_cert, &report.ca_key)?;
    created.file(&report.ca_key);
    created.file(&report.ca_cert);
    created.dir(&dir.join("server"), 0o755)?;
    m.server.write(&report.server_cert, &report.server_key)?;
    created.file(&report.server_key);
    created.file(&report.server_cert);
    created.new_file(&report.master_key, &m.master_key[..], pki::KEY_FILE_MODE)?;
    created.new_file(&report.audit_key, &m.audit_key[..], pki::KEY_FILE_MODE)?;
    created.dir(&dir.join("clients"), 0o700)?;
    for (files, issued) in report.clients.iter().zip(&m.clients) {
        created.dir(&files.dir, 0o700)?;
        issued.write(&files.cert, &files.key)?;
        created.file(&files.key);
        created.file(&files.cert);
    }
    created.new_file(&report.config, m.config_text.as_bytes(), 0o644)?;
    created.commit();
    Ok(())
}

fn client_files(dir: &Path, name: &str, role: &str) -> ClientFiles {
    let client_dir = dir.join("clients").join(name);
    ClientFiles {
        name: name.to_owned(),
        role: role.to_owned(),
        cert: client_dir.join("cert.pem"),
        key: client_dir.join("key.pem"),
        dir: client_dir,
    }
}

fn read_config(path: &Path) -> Result<(String, Config), SetupError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let config = Config::from_toml_str(&text, path)?;
    Ok((text, config))
}

/// The configuration text with `block` appended as a new table, which keeps the
/// operator's comments and layout. The result must load as exactly `expected`;
/// if it does not (say the file spells the array inline), the whole file is written
/// from `expected` instead, and that must validate too.
fn appended(text: &str, block: &str, expected: &Config) -> Result<String, SetupError> {
    let mut new_text = text.to_owned();
    if !new_text.is_empty() && !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    new_text.push('\n');
    new_text.push_str(block);
    match Config::from_toml_str(&new_text, &expected.path) {
        Ok(c) if c == *expected => Ok(new_text),
        _ => {
            let text = expected.to_toml();
            Config::from_toml_str(&text, &expected.path)?;
            Ok(text)
        }
    }
}

/// Replaces the configuration with `new_text`, unless it no longer holds `old_text`
/// (another command or an editor changed it meanwhile). This narrows, but does not
/// close, the window in which two simultaneous commands could lose one's update.
fn replace_config(path: &Path, old_text: &str, new_text: &str) -> Result<(), SetupError> {
    let current = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if current != old_text {
        return Err(SetupError::ConcurrentModification {
            path: path.to_path_buf(),
        });
    }
    config::write_atomic(path, new_text.as_bytes()).map_err(|source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(())
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn random_key() -> Result<Zeroizing<[u8; 32]>, SetupError> {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut key[..])
        .map_err(|e| SetupError::Rng(e.to_string()))?;
    Ok(key)
}

/// [`Pkcs11Init`] with absolute paths, written relative to `dir` when inside it (as
/// the configuration resolves them).
fn absolute_pkcs11(p: &Pkcs11Init, dir: &Path) -> Result<Pkcs11Init, SetupError> {
    let abs = |path: &Path| -> Result<PathBuf, SetupError> {
        let a = std::path::absolute(path).map_err(|source| SetupError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(a.strip_prefix(dir).map(Path::to_path_buf).unwrap_or(a))
    };
    Ok(Pkcs11Init {
        module: abs(&p.module)?,
        token_label: p.token_label.clone(),
        pin: match &p.pin {
            PinSource::File(f) => PinSource::File(abs(f)?),
            PinSource::Env(v) => PinSource::Env(v.clone()),
        },
        placement: p.placement,
    })
}

/// The `[[backends]]` entry `init` writes for a PKCS#11 token, with comments.
fn pkcs11_block(p: &Pkcs11Init) -> String {
    let pin = match &p.pin {
        PinSource::File(f) => format!(
            "# The user PIN, read at start from a file readable by the daemon's user alone\n\
             # (chmod 600; one trailing newline is ignored); or pin_env = \"VARIABLE\".\n\
             pin_file = {}",
            toml_string(&f.to_string_lossy())
        ),
        PinSource::Env(v) => format!(
            "# The user PIN, read at start from this environment variable of the daemon.\n\
             pin_env = {}",
            toml_string(v)
        ),
    };
    format!(
        "# A PKCS#11 token. placement = \"resident\": every key is a token object, used in\n\
         # the token (not extractable unless asked); \"wrapped\": keys are stored wrapped under\n\
         # a key-encryption key that never leaves the token. Opened when the daemon starts.\n\
         [[backends]]\n\
         name = {name}\n\
         kind = \"pkcs11\"\n\
         module = {module}\n\
         token_label = {label}\n\
         {pin}\n\
         placement = {placement}\n\
         # Sessions kept open with the token (SoftHSM needs few; network HSMs want more).\n\
         sessions = {sessions}\n\n",
        name = toml_string(INIT_HSM_BACKEND),
        module = toml_string(&p.module.to_string_lossy()),
        label = toml_string(&p.token_label),
        placement = toml_string(p.placement.as_str()),
        sessions = config::DEFAULT_PKCS11_SESSIONS,
    )
}

/// The configuration `init` writes: the values plus comments for the operator.
fn init_config_text(listen: SocketAddr, hsm: Option<&Pkcs11Init>) -> String {
    let d = config::Limits::DEFAULT;
    let (backends, backend, extractable) = match hsm {
        Some(p) => (
            pkcs11_block(p),
            INIT_HSM_BACKEND,
            p.placement == Placement::Wrapped,
        ),
        None => (String::new(), SOFTWARE_BACKEND, true),
    };
    let mut identities = String::new();
    for (name, role) in INIT_IDENTITIES {
        identities.push_str(&format!(
            "[[identities]]\nname = {}\nvault = {}\nrole = {}\n\n",
            toml_string(name),
            toml_string(DEFAULT_VAULT),
            toml_string(role)
        ));
    }
    format!(
        r#"# Keygate configuration, written by `keygate init`.
#
# Relative paths are resolved against this file's directory. The daemon re-reads this
# file on SIGHUP and when it changes (checked every 2 seconds); `keygate client add`
# and `keygate vault add` edit it for you.

listen = {listen}

[tls]
ca_cert = "ca.pem"
# Used only by `keygate client add`; the daemon never reads it. Keep it offline if you can.
ca_key = "ca-key.pem"
server_cert = "server/cert.pem"
server_key = "server/key.pem"

[store]
kind = "sqlite"
path = "keygate.db"

[keystore]
# Back this file up: without it the stored keys cannot be opened.
master_key_file = "master.key"

[audit]
path = "audit.log"
key_file = "audit.key"
# When a request that changed nothing (Get, Encrypt, Sign...) may be answered:
# "always" once its audit records are fsynced; "changes" once they are written to
# the log file (fsynced right after; a power failure can lose the last moments'
# records of reads). Records of changes are always fsynced before the commit.
# sync = "always"

# Limits on what one peer can make the daemon spend (defaults shown).
# [limits]
# max_message_size = {max_message_size}
# max_depth = {max_depth}
# max_items = {max_items}
# max_batch_items = {max_batch_items}
# max_connections = {max_connections}
# handshake_timeout_secs = {handshake}
# idle_timeout_secs = {idle}
# frame_timeout_secs = {frame}

{backends}# A vault's keys live in its backend: "software" (the keystore above) or a
# [[backends]] entry. extractable_by_default: whether Get may return a key in clear
# when its creator did not say; allow_extractable: the ceiling for the whole vault.
[[vaults]]
name = {vault}
backend = {backend}
extractable_by_default = {extractable}
allow_extractable = true

# An identity is matched against the client certificate's CN (or a SAN).
# Built-in roles: {roles}.
{identities}# A custom role lists the KMIP operations it allows:
# [[roles]]
# name = "backup"
# operations = ["Locate", "Get", "GetAttributes"]
"#,
        listen = toml_string(&listen.to_string()),
        max_message_size = d.max_message_size,
        max_depth = d.max_depth,
        max_items = d.max_items,
        max_batch_items = d.max_batch_items,
        max_connections = d.max_connections,
        handshake = d.handshake_timeout_secs,
        idle = d.idle_timeout_secs,
        frame = d.frame_timeout_secs,
        vault = toml_string(DEFAULT_VAULT),
        backend = toml_string(backend),
        extractable = extractable,
        backends = backends,
        roles = BUILTIN_ROLES.join(", "),
        identities = identities,
    )
}

/// Paths a command created, removed again (newest first) unless it commits.
#[derive(Default)]
struct Created {
    paths: Vec<(PathBuf, bool)>,
    committed: bool,
}

impl Created {
    /// Records a file written by someone else.
    fn file(&mut self, path: &Path) {
        self.paths.push((path.to_path_buf(), false));
    }

    /// Creates a file that must not exist.
    fn new_file(&mut self, path: &Path, contents: &[u8], mode: u32) -> Result<(), SetupError> {
        pki::create_file(path, contents, mode).map_err(|source| io_error(path, source))?;
        self.file(path);
        Ok(())
    }

    /// Creates a directory that must not exist.
    fn dir(&mut self, path: &Path, mode: u32) -> Result<(), SetupError> {
        fs::DirBuilder::new()
            .mode(mode)
            .create(path)
            .map_err(|source| io_error(path, source))?;
        self.paths.push((path.to_path_buf(), true));
        Ok(())
    }

    /// Creates `path` and any missing parents (only `path` gets `mode`).
    fn dir_all(&mut self, path: &Path, mode: u32) -> Result<(), SetupError> {
        let mut missing = Vec::new();
        let mut p = path;
        while p.symlink_metadata().is_err() {
            missing.push(p.to_path_buf());
            match p.parent() {
                Some(parent) => p = parent,
                None => break,
            }
        }
        for (i, d) in missing.iter().rev().enumerate() {
            let leaf = i + 1 == missing.len();
            self.dir(d, if leaf { mode } else { 0o755 })?;
        }
        Ok(())
    }

    fn commit(&mut self) {
        self.committed = true;
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for (path, is_dir) in self.paths.iter().rev() {
            let removed = if *is_dir {
                fs::remove_dir(path)
            } else {
                fs::remove_file(path)
            };
            if let Err(e) = removed {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a file of an incomplete setup");
            }
        }
    }
}

fn io_error(path: &Path, source: io::Error) -> SetupError {
    match source.kind() {
        io::ErrorKind::AlreadyExists => SetupError::Exists {
            path: path.to_path_buf(),
        },
        _ => SetupError::Io {
            path: path.to_path_buf(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write failing at the very last step (the configuration) removes every file
    /// and directory written before it, and leaves the pre-existing file alone.
    #[test]
    fn failure_midway_removes_what_was_written() {
        let dir = std::env::temp_dir().join(format!("keygate-setup-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let config = dir.join(CONFIG_FILE_NAME);
        fs::write(&config, "mine").unwrap();

        let report = InitReport {
            config: config.clone(),
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server/cert.pem"),
            server_key: dir.join("server/key.pem"),
            master_key: dir.join("master.key"),
            audit_key: dir.join("audit.key"),
            clients: INIT_IDENTITIES
                .iter()
                .map(|(name, role)| client_files(&dir, name, role))
                .collect(),
            listen: config::DEFAULT_LISTEN,
            backend: SOFTWARE_BACKEND.to_owned(),
            dir: dir.clone(),
        };
        let ca = Ca::generate().unwrap();
        let material = Material {
            config_text: init_config_text(config::DEFAULT_LISTEN, None),
            server: ca.issue_server(&[]).unwrap(),
            clients: report
                .clients
                .iter()
                .map(|c| ca.issue_client(&c.name).unwrap())
                .collect(),
            ca,
            master_key: random_key().unwrap(),
            audit_key: random_key().unwrap(),
        };
        match write_deployment(&report, &material) {
            Err(SetupError::Exists { path }) => assert_eq!(path, config),
            other => panic!("{other:?}"),
        }
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(left, std::slice::from_ref(&config));
        assert_eq!(fs::read_to_string(&config).unwrap(), "mine");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn init_config_text_is_valid() {
        let addr: SocketAddr = "[::1]:7000".parse().unwrap();
        let c = Config::from_toml_str(&init_config_text(addr, None), "/x/keygate.toml").unwrap();
        assert_eq!(c.listen, addr);
        assert!(c.backends.is_empty());
        assert_eq!(c.vault(DEFAULT_VAULT).unwrap().backend, SOFTWARE_BACKEND);

        for (placement, pin) in [
            (
                Placement::Resident,
                PinSource::File(PathBuf::from("/etc/keygate/hsm \"pin\"")),
            ),
            (Placement::Wrapped, PinSource::Env("KEYGATE_HSM_PIN".into())),
        ] {
            let p = Pkcs11Init {
                module: PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"),
                token_label: "keygate token".into(),
                pin: pin.clone(),
                placement,
            };
            let c = Config::from_toml_str(&init_config_text(addr, Some(&p)), "/x/keygate.toml")
                .unwrap();
            let b = c.backend(INIT_HSM_BACKEND).unwrap();
            let config::BackendSettings::Pkcs11(s) = &b.settings;
            assert_eq!(s.module, p.module);
            assert_eq!(s.token_label, p.token_label);
            assert_eq!(s.pin, pin);
            assert_eq!(s.placement, placement);
            assert_eq!(s.sessions, config::DEFAULT_PKCS11_SESSIONS);
            let v = c.vault(DEFAULT_VAULT).unwrap();
            assert_eq!(v.backend, INIT_HSM_BACKEND);
            assert_eq!(v.extractable_by_default, placement == Placement::Wrapped);
        }
    }
}
