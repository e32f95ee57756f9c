//! `keygate serve`: builds the request path from a config file and runs it until
//! SIGINT/SIGTERM.
//!
//! Reload: the daemon re-reads its config on SIGHUP and also polls the file's
//! modification time every [`RELOAD_POLL`], so identities and vaults added with
//! `keygate client add` / `keygate vault add` work without a restart. A config that
//! fails validation is logged and ignored (the running policy stays). Listener,
//! TLS material, store, limits and key backends are read once at start; changing
//! them needs a restart (a reload that would put a vault on a backend that is not
//! open, or move an existing vault to another backend, is refused).
//!
//! Key backends: the built-in software keystore (`software`, `[keystore]`) and every
//! `[[backends]]` entry are opened at start, before the listener binds; one that
//! does not open stops the start with an error naming it. A PKCS#11 backend's PIN is
//! read from its `pin_file` (which must be a regular file that group and others
//! cannot access) or its `pin_env` variable, held in zeroizing memory, and never
//! logged.
//!
//! Orphans (issue 4): a resident PKCS#11 key is made in the token before its row is
//! committed, so a crash between the two leaves a token object no row references.
//! At start, before the listener binds, every resident PKCS#11 backend's token is
//! listed ([`Pkcs11Backend::resident_objects`]: key objects labelled with Keygate's
//! per-key scheme `keygate:` + 24 hex digits) and each is matched against the store:
//! it is live when a row of a configured vault, on that backend, has a key reference
//! naming its `CKA_ID` and the row's (vault, UID) gives its label. Every other one is
//! an orphan: logged as a warning naming backend, label, class and `CKA_ID`, and
//! returned in [`RunningDaemon::orphans`]. It is destroyed only when the daemon runs
//! with [`CLEAN_ORPHANS_ENV`]`=1` (an explicit opt-in: a token shared with another
//! deployment, or holding the keys of a vault removed from the configuration, would
//! show that deployment's keys as orphans). A scan that fails is logged and does not
//! stop the start.

use crate::audit::AuditLog;
use crate::backend::pkcs11::{Pkcs11Backend, Pkcs11Config, Placement, ResidentObject};
use crate::backend::software::SoftwareBackend;
use crate::backend::{BackendError, KeyBackend, KeyRef};
use crate::config::{
    BackendSettings, Config, PinSource, Pkcs11Settings, StoreConfig, SOFTWARE_BACKEND,
};
use crate::handler::{Gateway, Policy};
use crate::server::{server_tls_config, Server, ServerSettings, ServerStats};
use crate::store::sqlite::SqliteStore;
use crate::store::{ObjectFilter, Store};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use zeroize::Zeroizing;

/// How often the config file's modification time is checked.
pub const RELOAD_POLL: Duration = Duration::from_secs(2);

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The key backend could not be opened.
    #[error("backend: {0}")]
    Backend(#[from] crate::backend::BackendError),
    /// A configured key backend could not be opened (its module, its PIN, its token).
    #[error("cannot open backend {name:?} ({kind}): {source}")]
    BackendOpen {
        /// The backend's configured name.
        name: String,
        /// Its kind (`software`, `pkcs11`).
        kind: &'static str,
        /// Why.
        #[source]
        source: BackendError,
    },
    /// The audit log could not be opened.
    #[error("audit log: {0}")]
    Audit(#[from] crate::audit::AuditError),
    /// The listener could not start.
    #[error("listener: {0}")]
    Server(#[from] crate::server::ServerError),
    /// The identity/role policy is inconsistent.
    #[error("policy: {0}")]
    Policy(String),
}

/// The environment variable that lets start-up destroy the orphaned token objects it
/// finds (`1`); without it they are only reported.
pub const CLEAN_ORPHANS_ENV: &str = "KEYGATE_CLEAN_ORPHANS";

/// A token key object that Keygate made and no store row references, found at start
/// (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// The backend whose token holds it.
    pub backend: String,
    /// Its `CKA_LABEL` (`keygate:` and 24 hex digits of SHA-256(vault, NUL, UID)).
    pub label: String,
    /// Its `CKA_ID`, in hex.
    pub id: String,
    /// `CKO_SECRET_KEY`, `CKO_PRIVATE_KEY` or `CKO_PUBLIC_KEY`.
    pub class: String,
    /// Whether start-up destroyed it ([`CLEAN_ORPHANS_ENV`]).
    pub destroyed: bool,
}

/// A started daemon: its address, and the handles to stop it.
#[derive(Debug)]
pub struct RunningDaemon {
    /// The bound listener address.
    pub addr: SocketAddr,
    /// Token objects found at start that no store row references (reported, and
    /// destroyed when [`CLEAN_ORPHANS_ENV`] is `1`).
    pub orphans: Vec<Orphan>,
    /// Listener statistics.
    pub stats: Arc<ServerStats>,
    /// The request handler (for tests: policy reload).
    pub gateway: Arc<Gateway>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), crate::server::ServerError>>,
    reload_task: tokio::task::JoinHandle<()>,
}

impl RunningDaemon {
    /// Begins a graceful shutdown and waits for it to finish.
    pub async fn stop(self) -> Result<(), DaemonError> {
        let _ = self.shutdown.send(true);
        self.reload_task.abort();
        match self.task.await {
            Ok(r) => r.map_err(DaemonError::from),
            Err(e) => Err(DaemonError::Policy(format!("listener task failed: {e}"))),
        }
    }

    /// Waits until the listener stops (after a shutdown signal).
    pub async fn wait(self) -> Result<(), DaemonError> {
        self.reload_task.abort();
        match self.task.await {
            Ok(r) => r.map_err(DaemonError::from),
            Err(e) => Err(DaemonError::Policy(format!("listener task failed: {e}"))),
        }
    }

    /// A sender that triggers shutdown when `true` is sent.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, DaemonError> {
    std::fs::read(path).map_err(|source| DaemonError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Starts the daemon described by `config_path` (listening on `listen` when given).
pub async fn start(
    config_path: &Path,
    listen: Option<SocketAddr>,
) -> Result<RunningDaemon, DaemonError> {
    let cfg = Config::load(config_path)?;
    let policy = Policy::from_config(&cfg).map_err(DaemonError::Policy)?;
    let store: Arc<dyn Store> = match &cfg.store {
        StoreConfig::Sqlite { path } => Arc::new(SqliteStore::open(path)?),
    };
    // Opening a token can block (module load, login): off the async workers.
    let clean = std::env::var_os(CLEAN_ORPHANS_ENV).is_some_and(|v| v == "1");
    let (backends, orphans) = {
        let cfg = cfg.clone();
        let store = Arc::clone(&store);
        tokio::task::spawn_blocking(move || {
            let (backends, pkcs11) = open_all_backends(&cfg)?;
            let orphans = scan_orphans(&cfg, store.as_ref(), &pkcs11, clean);
            Ok::<_, DaemonError>((backends, orphans))
        })
        .await
        .map_err(|e| DaemonError::Policy(format!("opening the backends failed: {e}")))??
    };
    let audit = AuditLog::open(&cfg.audit.path, &cfg.audit.key_file)?.with_sync(cfg.audit.sync);
    let limits = cfg.limits.ttlv();
    let gateway = Arc::new(Gateway::new(
        policy,
        store,
        backends,
        audit,
        limits,
        cfg.limits.max_batch_items,
    ));
    let tls = server_tls_config(
        &read(&cfg.tls.ca_cert)?,
        &read(&cfg.tls.server_cert)?,
        &read(&cfg.tls.server_key)?,
    )?;
    let settings = ServerSettings {
        listen: listen.unwrap_or(cfg.listen),
        tls: Arc::new(tls),
        limits,
        max_connections: cfg.limits.max_connections,
        handshake_timeout: cfg.limits.handshake_timeout(),
        idle_timeout: cfg.limits.idle_timeout(),
        frame_timeout: cfg.limits.frame_timeout(),
        shutdown_grace: Duration::from_secs(10),
    };
    let server = Server::bind(settings).await?;
    let addr = server.local_addr();
    let stats = server.stats();
    let (tx, mut rx) = watch::channel(false);
    let handler: Arc<dyn crate::server::RequestHandler> = gateway.clone();
    let task = tokio::spawn(async move {
        server
            .run(handler, async move {
                while !*rx.borrow_and_update() {
                    if rx.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await
    });
    let reload_task = tokio::spawn(reload_loop(cfg.clone(), gateway.clone()));
    // Certificate renewal and deactivation at Deactivation Dates; ends at shutdown.
    tokio::spawn(crate::renewal::run(
        gateway.clone(),
        Duration::from_secs(cfg.renewal_interval_secs),
        tx.subscribe(),
    ));
    tracing::info!(%addr, config = %cfg.path.display(), "keygate listening");
    Ok(RunningDaemon {
        addr,
        orphans,
        stats,
        gateway,
        shutdown: tx,
        task,
        reload_task,
    })
}

/// Opens the key backends `cfg` configures, by name: the built-in software keystore
/// ([`SOFTWARE_BACKEND`]) and each `[[backends]]` entry. Blocking (a PKCS#11 module
/// is loaded and logged in to).
///
/// # Errors
/// [`DaemonError::BackendOpen`] naming the first backend that does not open: its
/// module is missing, its PIN cannot be read (a PIN file that group or others may
/// access is refused), or the token refuses it.
pub fn open_backends(cfg: &Config) -> Result<HashMap<String, Arc<dyn KeyBackend>>, DaemonError> {
    open_all_backends(cfg).map(|(backends, _)| backends)
}

/// Every backend opened, by name.
type Backends = HashMap<String, Arc<dyn KeyBackend>>;
/// The PKCS#11 backends opened, by name, beside the map of every backend.
type Pkcs11Backends = Vec<(String, Arc<Pkcs11Backend>)>;
/// (`CKA_LABEL`, `CKA_ID`) of token objects.
type TokenKeys = HashSet<(Vec<u8>, Vec<u8>)>;

/// [`open_backends`], also returning the PKCS#11 backends (for the orphan scan).
fn open_all_backends(cfg: &Config) -> Result<(Backends, Pkcs11Backends), DaemonError> {
    let mut pkcs11 = Vec::new();
    let mut backends: Backends = HashMap::new();
    let software = SoftwareBackend::open(SOFTWARE_BACKEND, &cfg.keystore.master_key_file).map_err(
        |source| DaemonError::BackendOpen {
            name: SOFTWARE_BACKEND.to_owned(),
            kind: "software",
            source,
        },
    )?;
    backends.insert(SOFTWARE_BACKEND.to_owned(), Arc::new(software));
    for b in &cfg.backends {
        let opened = match &b.settings {
            BackendSettings::Pkcs11(p) => open_pkcs11(&b.name, p).map(Arc::new),
        }
        .map_err(|source| DaemonError::BackendOpen {
            name: b.name.clone(),
            kind: b.settings.kind(),
            source,
        })?;
        if !cfg.vaults.iter().any(|v| v.backend == b.name) {
            tracing::info!(backend = %b.name, "backend is open but no vault uses it yet");
        }
        pkcs11.push((b.name.clone(), Arc::clone(&opened)));
        backends.insert(b.name.clone(), opened);
    }
    Ok((backends, pkcs11))
}

/// Finds (and, when `clean`, destroys) the token objects of `pkcs11` backends that no
/// row of the store references (see the module documentation). Blocking. Failures
/// are logged and end that backend's scan; they never stop the start.
fn scan_orphans(
    cfg: &Config,
    store: &dyn Store,
    pkcs11: &[(String, Arc<Pkcs11Backend>)],
    clean: bool,
) -> Vec<Orphan> {
    let mut orphans = Vec::new();
    for (name, backend) in pkcs11 {
        if backend.placement() != Placement::Resident {
            continue;
        }
        let objects = match backend.resident_objects() {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(backend = %name, error = %e, "orphan scan: cannot list the token's objects");
                continue;
            }
        };
        if objects.is_empty() {
            continue;
        }
        let live = match live_objects(cfg, store, name) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(backend = %name, error = %e, "orphan scan: cannot read the store");
                continue;
            }
        };
        for obj in objects {
            if live.contains(&(obj.label.clone(), obj.id.clone())) {
                continue;
            }
            let destroyed = clean && destroy_orphan(name, backend, &obj);
            let orphan = Orphan {
                backend: name.clone(),
                label: obj.label_text(),
                id: hex::encode(&obj.id),
                class: obj.class.to_string(),
                destroyed,
            };
            if destroyed {
                tracing::warn!(backend = %orphan.backend, label = %orphan.label, id = %orphan.id, class = %orphan.class,
                    "orphaned token object (no store row references it) destroyed");
            } else {
                tracing::warn!(backend = %orphan.backend, label = %orphan.label, id = %orphan.id, class = %orphan.class,
                    "orphaned token object: no store row references it (left in place; set {CLEAN_ORPHANS_ENV}=1 to destroy such objects at start)");
            }
            orphans.push(orphan);
        }
    }
    orphans
}

fn destroy_orphan(name: &str, backend: &Pkcs11Backend, obj: &ResidentObject) -> bool {
    match backend.destroy_resident_object(obj) {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(backend = %name, label = %obj.label_text(), error = %e, "cannot destroy an orphaned token object");
            false
        }
    }
}

/// (label, `CKA_ID`) of every token object a row of a configured vault references
/// on backend `name`.
fn live_objects(
    cfg: &Config,
    store: &dyn Store,
    name: &str,
) -> Result<TokenKeys, crate::store::StoreError> {
    let mut live = HashSet::new();
    let mut txn = store.begin()?;
    for vault in &cfg.vaults {
        for rec in txn.list(&vault.name, &ObjectFilter::default())? {
            if rec.backend != name {
                continue;
            }
            let Some(id) = rec
                .key_ref
                .and_then(|k| Pkcs11Backend::object_id(&KeyRef(k)))
            else {
                continue;
            };
            let mut aad = rec.vault.into_bytes();
            aad.push(0);
            aad.extend_from_slice(rec.uid.as_bytes());
            live.insert((Pkcs11Backend::object_label(&aad), id.to_vec()));
        }
    }
    Ok(live)
}

fn open_pkcs11(name: &str, p: &Pkcs11Settings) -> Result<Pkcs11Backend, BackendError> {
    if !p.module.is_file() {
        return Err(BackendError::Unavailable(format!(
            "PKCS#11 module {} does not exist (is the HSM's library installed? e.g. the \
             Debian package softhsm2 for /usr/lib/softhsm/libsofthsm2.so)",
            p.module.display()
        )));
    }
    let pin = read_pin(&p.pin)?;
    Pkcs11Backend::open(&Pkcs11Config {
        name: name.to_owned(),
        module: p.module.clone(),
        token_label: p.token_label.clone(),
        pin,
        placement: p.placement,
        sessions: p.sessions,
    })
}

/// The PIN `source` names. A PIN file must be a regular file that group and others
/// cannot access (mode 0600 or 0400), checked on the open file; one trailing
/// newline (`\n` or `\r\n`) is dropped. An empty PIN is refused. Messages never
/// contain the PIN.
pub fn read_pin(source: &PinSource) -> Result<Zeroizing<String>, BackendError> {
    let pin = match source {
        PinSource::File(path) => {
            use std::io::Read;
            let fail = |what: String| {
                BackendError::Unavailable(format!("PIN file {}: {what}", path.display()))
            };
            let mut file =
                std::fs::File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
            let meta = file
                .metadata()
                .map_err(|e| fail(format!("cannot stat: {e}")))?;
            if !meta.is_file() {
                return Err(fail("not a regular file".into()));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(fail(format!(
                        "accessible by group or others (mode {:04o}); restrict it with `chmod 600 {}`",
                        mode & 0o7777,
                        path.display()
                    )));
                }
            }
            let mut bytes = Zeroizing::new(Vec::new());
            file.read_to_end(&mut bytes)
                .map_err(|e| fail(format!("cannot read: {e}")))?;
            let mut end = bytes.len();
            if bytes[..end].ends_with(b"\n") {
                end -= 1;
                if bytes[..end].ends_with(b"\r") {
                    end -= 1;
                }
            }
            let text = std::str::from_utf8(&bytes[..end])
                .map_err(|_| fail("the PIN is not UTF-8 text".into()))?;
            if text.is_empty() {
                return Err(fail("empty".into()));
            }
            Zeroizing::new(text.to_owned())
        }
        PinSource::Env(var) => {
            let fail = |what: &str| {
                BackendError::Unavailable(format!("PIN environment variable {var}: {what}"))
            };
            let value = std::env::var_os(var).ok_or_else(|| fail("not set"))?;
            let text = Zeroizing::new(
                value
                    .into_string()
                    .map_err(|_| fail("the PIN is not UTF-8 text"))?,
            );
            if text.is_empty() {
                return Err(fail("empty"));
            }
            text
        }
    };
    Ok(pin)
}

/// Why a reloaded `new` configuration cannot replace the running `old` one: a vault
/// on a backend that is not open, or an existing vault moved to another backend
/// (its keys' references belong to the old one).
fn reload_refusal(old: &Config, new: &Config, is_open: impl Fn(&str) -> bool) -> Option<String> {
    for v in &new.vaults {
        if !is_open(&v.backend) {
            return Some(format!(
                "vault {:?} uses backend {:?}, which is not open: backends are opened at start; \
                 restart the daemon to add one",
                v.name, v.backend
            ));
        }
        if let Some(before) = old.vault(&v.name) {
            if before.backend != v.backend {
                return Some(format!(
                    "vault {:?} moved from backend {:?} to {:?}: a vault's keys stay in the \
                     backend that made them",
                    v.name, before.backend, v.backend
                ));
            }
        }
    }
    None
}

/// Re-reads the config on SIGHUP or when its modification time changes.
async fn reload_loop(mut running: Config, gateway: Arc<Gateway>) {
    let path = running.path.clone();
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut last: Option<SystemTime> = mtime(&path);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hup_fired = async {
            match hup.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hup_fired = std::future::pending::<()>();
        let forced = tokio::select! {
            () = hup_fired => true,
            () = tokio::time::sleep(RELOAD_POLL) => false,
        };
        let now = mtime(&path);
        if !forced && now == last {
            continue;
        }
        last = now;
        let loaded = Config::load(&path)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                if let Some(why) = reload_refusal(&running, &c, |b| gateway.has_backend(b)) {
                    return Err(why);
                }
                Policy::from_config(&c).map(|p| (c, p))
            });
        match loaded {
            Ok((c, p)) => {
                if c.backends != running.backends {
                    tracing::warn!(
                        config = %path.display(),
                        "[[backends]] changed: backends are opened at start, so the change takes effect at the next restart"
                    );
                }
                gateway.set_policy(p);
                running = c;
                tracing::info!(config = %path.display(), "configuration reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "configuration reload failed; keeping the running policy")
            }
        }
    }
}

/// Runs the daemon until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config_path: &Path, listen: Option<SocketAddr>) -> Result<(), DaemonError> {
    let d = start(config_path, listen).await?;
    let tx = d.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = tx.send(true);
    });
    d.wait().await
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "[tls]\nca_cert = \"ca.pem\"\nca_key = \"ca-key.pem\"\n\
             server_cert = \"s.pem\"\nserver_key = \"s-key.pem\"\n\
             [store]\nkind = \"sqlite\"\npath = \"kg.db\"\n\
             [keystore]\nmaster_key_file = \"master.key\"\n\
             [audit]\npath = \"audit.log\"\nkey_file = \"audit.key\"\n\
             [[backends]]\nname = \"hsm\"\nkind = \"pkcs11\"\nmodule = \"/m.so\"\n\
             token_label = \"t\"\npin_env = \"PIN\"\n{extra}"
        );
        Config::from_toml_str(&text, "/kg/keygate.toml").unwrap()
    }

    #[test]
    fn reload_keeps_vaults_on_the_backends_that_hold_their_keys() {
        let open = |b: &str| b == "software" || b == "hsm";
        let old = config("[[vaults]]\nname = \"a\"\nbackend = \"hsm\"\n");
        // A new vault on an open backend, and the same vaults again: fine.
        let new = config("[[vaults]]\nname = \"a\"\nbackend = \"hsm\"\n[[vaults]]\nname = \"b\"\n");
        assert_eq!(reload_refusal(&old, &new, open), None);
        assert_eq!(reload_refusal(&old, &old, open), None);
        // An existing vault moved to another backend.
        let moved = config("[[vaults]]\nname = \"a\"\nbackend = \"software\"\n");
        let why = reload_refusal(&old, &moved, open).unwrap();
        assert!(why.contains("\"a\"") && why.contains("moved"), "{why}");
        // A vault on a backend configured since the start, so not open.
        let added = config(
            "[[backends]]\nname = \"hsm2\"\nkind = \"pkcs11\"\nmodule = \"/m.so\"\n\
             token_label = \"t2\"\npin_env = \"PIN\"\n\
             [[vaults]]\nname = \"a\"\nbackend = \"hsm\"\n\
             [[vaults]]\nname = \"c\"\nbackend = \"hsm2\"\n",
        );
        let why = reload_refusal(&old, &added, open).unwrap();
        assert!(why.contains("\"hsm2\"") && why.contains("restart"), "{why}");
    }
}
