//! Connection counters, for the metrics endpoint and for tests.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Live counters of one [`Server`](super::Server). Cheap to read at any time from
/// any thread; obtained from [`Server::stats`](super::Server::stats).
#[derive(Debug, Default)]
pub struct ServerStats {
    open: AtomicUsize,
    accepted: AtomicU64,
    rejected_over_cap: AtomicU64,
    handshake_failures: AtomicU64,
}

impl ServerStats {
    /// Connections currently holding a slot (in handshake or established).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// TCP connections accepted since start, including those refused over the cap.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// TCP connections closed at once because `max_connections` were open.
    pub fn rejected_over_cap(&self) -> u64 {
        self.rejected_over_cap.load(Ordering::Relaxed)
    }

    /// TLS handshakes that failed or timed out (no or untrusted client
    /// certificate, protocol error, silent peer).
    pub fn handshake_failures(&self) -> u64 {
        self.handshake_failures.load(Ordering::Relaxed)
    }

    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_rejected_over_cap(&self) {
        self.rejected_over_cap.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_handshake_failure(&self) {
        self.handshake_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection as open until the guard is dropped (also when its
    /// task is aborted at the end of the shutdown grace period).
    pub(crate) fn open_guard(self: &Arc<Self>) -> OpenGuard {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(Arc::clone(self))
    }
}

/// See [`ServerStats::open_guard`].
#[derive(Debug)]
pub(crate) struct OpenGuard(Arc<ServerStats>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
