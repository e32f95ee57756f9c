//! The KMIP listener: mutual-TLS accept, per-connection limits and timeouts,
//! TTLV framing, graceful shutdown. No business logic: each complete request
//! frame goes to a [`RequestHandler`], whose answer is written back.
//!
//! DESIGN.md "Request path" (the part before `kmip::decode`) and "Security and
//! operations"; STYLE.md rules 1, 2 and 9.
//!
//! - At most [`ServerSettings::max_connections`] connections are open (a
//!   semaphore); any further TCP connection is closed at once.
//! - A TLS handshake must finish within `handshake_timeout`; the client must
//!   present a certificate that chains to the configured CA ([`server_tls_config`]).
//! - Frames are read header first; an announced length over
//!   [`kmip::Limits::max_message_size`] is refused before anything is reserved for
//!   the body. Requests on one connection are answered in order; pipelined
//!   frames are fine.
//! - Between frames a connection may idle for `idle_timeout`; once a frame has
//!   started, all of it must arrive within `frame_timeout` (slow-loris clients
//!   are cut off), and each response must be written within `frame_timeout`.
//! - Request bodies and key material are never logged; the peer address and the
//!   certificate's CN are, at debug level.

mod conn;
mod error;
mod identity;
mod shutdown;
mod stats;
mod tls;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn, Instrument};

pub use error::ServerError;
pub use identity::PeerIdentity;
pub use stats::ServerStats;
pub use tls::server_tls_config;

use conn::{ConnContext, Timeouts};
use shutdown::Shutdown;

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying
/// again, so the loop does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the daemon does with a request; the server only moves bytes.
pub trait RequestHandler: Send + Sync + 'static {
    /// One complete request frame (binary TTLV, length already checked).
    ///
    /// Called on the connection's async task, so it must return promptly: with the
    /// answer when the request's work is short and waits for no device and no
    /// fsync ([`Answer::Now`], [`Answer::Later`]), or with the work to run on
    /// tokio's blocking pool ([`Answer::Blocking`]) when it may block (store
    /// writes, HSM calls, long computations). A panic closes that connection only.
    fn handle(self: Arc<Self>, peer: &Arc<PeerIdentity>, frame: Vec<u8>) -> Answer;
    /// A frame that cannot be accepted (e.g. announced length over the limit, or not a
    /// Structure): optionally a KMIP error response to send before closing. Runs on
    /// the blocking pool.
    fn reject(&self, peer: &PeerIdentity, error: &kmip::DecodeError) -> Option<Vec<u8>>;
}

/// The answer to a request frame, or how to get it.
pub enum Answer {
    /// The response bytes, to send now.
    Now(Vec<u8>),
    /// The response bytes once the future resolves (the request's audit records
    /// durable); the connection waits for it without holding a thread.
    Later(Pin<Box<dyn Future<Output = Vec<u8>> + Send>>),
    /// Work that may block: the server runs it on the blocking pool and then
    /// follows the answer it gives.
    Blocking(Box<dyn FnOnce() -> Answer + Send>),
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Answer::Now(_) => "Answer::Now",
            Answer::Later(_) => "Answer::Later",
            Answer::Blocking(_) => "Answer::Blocking",
        })
    }
}

/// How the listener behaves; validated by [`Server::bind`].
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address to listen on (KMIP's registered port is 5696).
    pub listen: SocketAddr,
    /// TLS configuration, normally from [`server_tls_config`].
    pub tls: Arc<rustls::ServerConfig>,
    /// Message size, nesting and item limits. The server enforces
    /// `max_message_size` on each frame header; the handler applies the rest
    /// when it decodes.
    pub limits: kmip::Limits,
    /// Most connections open at once, handshakes included. Bounds the memory
    /// and tasks a flood of connections can claim; beyond it new TCP
    /// connections are closed immediately.
    pub max_connections: usize,
    /// Longest a TLS handshake may take. Stops clients that connect and say
    /// nothing from holding a connection slot.
    pub handshake_timeout: Duration,
    /// Longest a connection may wait between requests before it is closed.
    pub idle_timeout: Duration,
    /// Longest one request frame may take to arrive once its first byte has,
    /// and one response to be written. Stops slow-loris clients that trickle a
    /// frame (or read a response) a byte at a time.
    pub frame_timeout: Duration,
    /// After shutdown begins, longest [`Server::run`] waits for in-flight
    /// requests before closing their connections.
    pub shutdown_grace: Duration,
}

/// A bound KMIP listener, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    acceptor: TlsAcceptor,
    limits: kmip::Limits,
    max_connections: usize,
    timeouts: Timeouts,
    shutdown_grace: Duration,
    stats: Arc<ServerStats>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("max_connections", &self.max_connections)
            .field("timeouts", &self.timeouts)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Checks the settings and binds the listening socket (port 0 picks a free
    /// port; see [`local_addr`](Server::local_addr)).
    pub async fn bind(settings: ServerSettings) -> Result<Server, ServerError> {
        validate(&settings)?;
        let addr = settings.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Io { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServerError::Io { addr, source })?;
        Ok(Server {
            listener,
            local_addr,
            acceptor: TlsAcceptor::from(settings.tls),
            limits: settings.limits,
            max_connections: settings.max_connections,
            timeouts: Timeouts {
                handshake: settings.handshake_timeout,
                idle: settings.idle_timeout,
                frame: settings.frame_timeout,
            },
            shutdown_grace: settings.shutdown_grace,
            stats: Arc::new(ServerStats::default()),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Live connection counters; they stay readable after `run` returns.
    pub fn stats(&self) -> Arc<ServerStats> {
        Arc::clone(&self.stats)
    }

    /// Accepts and serves connections until `shutdown` resolves.
    ///
    /// Then it stops accepting (the listening socket is closed), closes
    /// connections waiting between requests, lets requests already started
    /// finish and their responses be written, and returns once all connections
    /// are closed or `shutdown_grace` has passed, whichever is first; remaining
    /// connections are then dropped. A handler call still running on the
    /// blocking pool at that point runs to completion, but its answer is
    /// discarded.
    ///
    /// Failures of single connections are logged and counted in
    /// [`stats`](Server::stats), never returned.
    pub async fn run(
        self,
        handler: Arc<dyn RequestHandler>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let Server {
            listener,
            local_addr,
            acceptor,
            limits,
            max_connections,
            timeouts,
            shutdown_grace,
            stats,
        } = self;
        let ctx = Arc::new(ConnContext {
            acceptor,
            handler,
            stats: Arc::clone(&stats),
            limits,
            timeouts,
        });
        let slots = Arc::new(Semaphore::new(max_connections));
        let (stop, stop_rx) = Shutdown::channel();
        let mut tasks = JoinSet::new();
        info!(%local_addr, max_connections, "KMIP listener started");

        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(joined) = tasks.join_next() => log_join(joined),
                accepted = listener.accept() => {
                    let (tcp, peer) = match accepted {
                        Ok(conn) => conn,
                        Err(e) => {
                            warn!(error = %e, "accept failed");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                            continue;
                        }
                    };
                    stats.count_accepted();
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        stats.count_rejected_over_cap();
                        debug!(%peer, max_connections, "connection limit reached; closing");
                        drop(tcp);
                        continue;
                    };
                    let open = stats.open_guard();
                    let span = tracing::debug_span!("conn", %peer, cn = tracing::field::Empty);
                    let conn = conn::serve(tcp, Arc::clone(&ctx), stop_rx.clone());
                    tasks.spawn(
                        async move {
                            conn.await;
                            drop((slot, open));
                        }
                        .instrument(span),
                    );
                }
            }
        }

        drop(listener);
        stop.send_replace(true);
        info!(
            connections = tasks.len(),
            grace = ?shutdown_grace,
            "KMIP listener stopped; finishing in-flight requests"
        );
        let drain = async {
            while let Some(joined) = tasks.join_next().await {
                log_join(joined);
            }
        };
        if tokio::time::timeout(shutdown_grace, drain).await.is_err() {
            warn!(
                connections = tasks.len(),
                "shutdown grace period over; dropping remaining connections"
            );
            tasks.shutdown().await;
        }
        info!("KMIP listener shut down");
        Ok(())
    }
}

fn validate(s: &ServerSettings) -> Result<(), ServerError> {
    let setting = |name, reason| Err(ServerError::Setting { name, reason });
    if s.max_connections == 0 || s.max_connections > Semaphore::MAX_PERMITS {
        return setting(
            "max_connections",
            "must be at least 1 and at most usize::MAX >> 3",
        );
    }
    for (name, value) in [
        ("handshake_timeout", s.handshake_timeout),
        ("idle_timeout", s.idle_timeout),
        ("frame_timeout", s.frame_timeout),
    ] {
        if value.is_zero() {
            return setting(name, "must be more than zero");
        }
    }
    if s.limits.max_message_size < kmip::ttlv::binary::HEADER_LEN {
        return setting("limits.max_message_size", "smaller than a TTLV header");
    }
    Ok(())
}

fn log_join(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        if e.is_panic() {
            warn!("connection task panicked");
        }
    }
}
