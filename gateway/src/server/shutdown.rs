//! The shutdown signal every connection task listens to (mini-redis `shutdown.rs`).

use tokio::sync::watch;

/// A connection's view of the server-wide shutdown flag.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A flag and the sender that raises it.
    pub(crate) fn channel() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    /// Resolves once shutdown has begun (at once if it already has). A dropped
    /// sender counts as shutdown: the server is gone.
    pub(crate) async fn wait(&mut self) {
        let _ = self.0.wait_for(|&stop| stop).await;
    }
}
