//! `keygate serve`: builds the request path from a config file and runs it until
//! SIGINT/SIGTERM.
//!
//! Reload: the daemon re-reads its config on SIGHUP and also polls the file's
//! modification time every [`RELOAD_POLL`], so identities and vaults added with
//! `keygate client add` / `keygate vault add` work without a restart. A config that
//! fails validation is logged and ignored (the running policy stays). Listener,
//! TLS material, store and limits are read once at start; changing them needs a
//! restart.

use crate::audit::AuditLog;
use crate::backend::software::SoftwareBackend;
use crate::backend::KeyBackend;
use crate::config::{Config, StoreConfig};
use crate::handler::{Gateway, Policy};
use crate::server::{server_tls_config, Server, ServerSettings, ServerStats};
use crate::store::sqlite::SqliteStore;
use crate::store::Store;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

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

/// A started daemon: its address, and the handles to stop it.
#[derive(Debug)]
pub struct RunningDaemon {
    /// The bound listener address.
    pub addr: SocketAddr,
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
    let software: Arc<dyn KeyBackend> = Arc::new(SoftwareBackend::open(
        "software",
        &cfg.keystore.master_key_file,
    )?);
    let mut backends = HashMap::new();
    backends.insert("software".to_owned(), software);
    let audit = AuditLog::open(&cfg.audit.path, &cfg.audit.key_file)?;
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
    let reload_task = tokio::spawn(reload_loop(cfg.path.clone(), gateway.clone()));
    tracing::info!(%addr, config = %cfg.path.display(), "keygate listening");
    Ok(RunningDaemon {
        addr,
        stats,
        gateway,
        shutdown: tx,
        task,
        reload_task,
    })
}

/// Re-reads the config on SIGHUP or when its modification time changes.
async fn reload_loop(path: PathBuf, gateway: Arc<Gateway>) {
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
        match Config::load(&path)
            .map_err(|e| e.to_string())
            .and_then(|c| Policy::from_config(&c))
        {
            Ok(p) => {
                gateway.set_policy(p);
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
