//! One client connection: TLS handshake, framing, the request/response loop and
//! its timeouts.
//!
//! Framing follows mini-redis's `Connection::read_frame`: keep a buffer, check
//! whether it holds a whole frame, else read more. The 8-byte TTLV header is
//! checked by [`frame_len`] (length within [`Limits::max_message_size`], top item a
//! Structure) before any memory is reserved for the body.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use kmip::ttlv::binary::{frame_len, HEADER_LEN};
use kmip::{DecodeError, Limits};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, trace, warn};

use super::identity::PeerIdentity;
use super::shutdown::Shutdown;
use super::stats::ServerStats;
use super::{Answer, RequestHandler};

/// Smallest read asked of the stream. Small requests and several pipelined
/// frames then arrive in one read; the buffer never holds more than the frame
/// being assembled plus this much.
const READ_CHUNK: usize = 4096;

/// Everything a connection task needs, shared by all of them.
pub(crate) struct ConnContext {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) handler: Arc<dyn RequestHandler>,
    pub(crate) stats: Arc<ServerStats>,
    pub(crate) limits: Limits,
    pub(crate) timeouts: Timeouts,
}

/// The per-connection deadlines, from [`ServerSettings`](super::ServerSettings).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) handshake: Duration,
    pub(crate) idle: Duration,
    /// Also bounds writing one response and the TLS close.
    pub(crate) frame: Duration,
}

/// Serves one accepted TCP connection until the client leaves, a limit or
/// timeout ends it, or the server shuts down. Never panics on client input;
/// failures are logged (at debug, or info for an untrusted certificate) and
/// end the connection.
pub(crate) async fn serve(tcp: TcpStream, ctx: Arc<ConnContext>, mut shutdown: Shutdown) {
    // Responses are written whole; do not let Nagle hold the last segment back.
    let _ = tcp.set_nodelay(true);

    let handshake = timeout(ctx.timeouts.handshake, ctx.acceptor.accept(tcp));
    let tls = tokio::select! {
        biased;
        () = shutdown.wait() => {
            debug!("shutdown during TLS handshake");
            return;
        }
        res = handshake => match res {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                ctx.stats.count_handshake_failure();
                if presented_untrusted_certificate(&e) {
                    info!(error = %e, "TLS handshake failed: client certificate refused");
                } else {
                    debug!(error = %e, "TLS handshake failed");
                }
                return;
            }
            Err(_) => {
                ctx.stats.count_handshake_failure();
                debug!(timeout = ?ctx.timeouts.handshake, "TLS handshake timed out");
                return;
            }
        },
    };

    let leaf = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
    let identity = match leaf.map(|der| PeerIdentity::from_verified_leaf(der)) {
        Some(Ok(identity)) => Arc::new(identity),
        Some(Err(e)) => {
            info!(error = %e, "verified client certificate unreadable; closing");
            return;
        }
        None => {
            // Cannot happen with a verifier that requires a certificate.
            warn!("TLS session without a client certificate; closing");
            return;
        }
    };
    tracing::Span::current().record("cn", identity.common_name.as_deref());
    debug!(
        protocol = ?tls.get_ref().1.protocol_version(),
        resumed = ?tls.get_ref().1.handshake_kind(),
        "client authenticated"
    );

    let mut conn = Connection::new(tls, ctx.limits);
    let frame_timeout = ctx.timeouts.frame;
    loop {
        match conn.read_frame(&ctx.timeouts, &mut shutdown).await {
            Ok(Read::Frame(frame)) => {
                trace!(len = frame.len(), "request");
                let Some(response) = answer(&ctx.handler, &identity, frame).await else {
                    warn!("request handler panicked; closing the connection");
                    return;
                };
                if let Err(e) = conn.write_all(&response, frame_timeout).await {
                    debug!(error = %e, "writing the response failed");
                    return;
                }
            }
            Ok(Read::Closed) => {
                debug!("client closed the connection");
                break;
            }
            Ok(Read::Idle) => {
                debug!(timeout = ?ctx.timeouts.idle, "idle timeout");
                break;
            }
            Ok(Read::Shutdown) => {
                debug!("closing for shutdown");
                break;
            }
            Err(FrameError::Header(error)) => {
                debug!(%error, "frame refused");
                let handler = Arc::clone(&ctx.handler);
                let peer = Arc::clone(&identity);
                let reply = tokio::task::spawn_blocking(move || handler.reject(&peer, &error));
                match reply.await {
                    Ok(Some(bytes)) => {
                        if let Err(e) = conn.write_all(&bytes, frame_timeout).await {
                            debug!(error = %e, "writing the error response failed");
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(_) => {
                        warn!("request handler panicked in reject; closing the connection");
                        return;
                    }
                }
                break;
            }
            Err(e) => {
                debug!(error = %e, "connection ended");
                return;
            }
        }
    }
    conn.close(frame_timeout).await;
}

/// The response to `frame`: the handler's answer, its blocking work run on the
/// blocking pool, its deferred bytes awaited. `None` when the handler panicked.
async fn answer(
    handler: &Arc<dyn RequestHandler>,
    peer: &Arc<PeerIdentity>,
    frame: Vec<u8>,
) -> Option<Vec<u8>> {
    let handler = Arc::clone(handler);
    let mut answer =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.handle(peer, frame)))
            .ok()?;
    loop {
        answer = match answer {
            Answer::Now(bytes) => return Some(bytes),
            Answer::Later(bytes) => return Some(bytes.await),
            Answer::Blocking(work) => tokio::task::spawn_blocking(work).await.ok()?,
        };
    }
}

/// Whether a handshake failed because the client presented a certificate that
/// did not verify (as opposed to none at all, a scanner, or a network error):
/// worth an operator's attention.
fn presented_untrusted_certificate(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)))
}

/// What [`Connection::read_frame`] found, other than an error.
#[derive(Debug)]
pub(crate) enum Read {
    /// One complete frame: header and body, length within the limits.
    Frame(Vec<u8>),
    /// The client closed the connection between frames.
    Closed,
    /// No byte arrived within the idle timeout between frames.
    Idle,
    /// Shutdown began while the connection was between frames.
    Shutdown,
}

/// Why a frame could not be read; the connection cannot continue.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    /// The header announces a frame that is refused (too long, not a
    /// Structure). Nothing was reserved for its body.
    #[error("bad frame header: {0}")]
    Header(DecodeError),
    /// The peer closed the connection part-way through a frame.
    #[error("connection closed after {received} bytes of a frame")]
    Truncated {
        /// Bytes of the unfinished frame received.
        received: usize,
    },
    /// A frame started but was not complete within the frame timeout, or a
    /// write did not complete in time.
    #[error("timed out")]
    Timeout,
    /// The transport failed (reset, TLS error).
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A byte stream with a frame buffer.
#[derive(Debug)]
pub(crate) struct Connection<S> {
    stream: S,
    limits: Limits,
    /// Bytes received and not yet handed out; starts at a frame boundary.
    buf: Vec<u8>,
    /// The checked total length of the frame at the head of `buf`, once its
    /// header is buffered.
    pending: Option<usize>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub(crate) fn new(stream: S, limits: Limits) -> Self {
        Connection {
            stream,
            limits,
            buf: Vec::new(),
            pending: None,
        }
    }

    /// Reads the next frame.
    ///
    /// Between frames (empty buffer) the wait is bounded by `timeouts.idle` and
    /// ends early at shutdown. Once a frame's first byte is here, the whole frame
    /// must arrive within `timeouts.frame`, however the bytes trickle in (a
    /// slow-loris client is cut off); shutdown does not interrupt it, since the
    /// request is in flight.
    pub(crate) async fn read_frame(
        &mut self,
        timeouts: &Timeouts,
        shutdown: &mut Shutdown,
    ) -> Result<Read, FrameError> {
        let mut deadline = None;
        loop {
            if let Some(frame) = self.parse_frame()? {
                return Ok(Read::Frame(frame));
            }
            let n = if self.buf.is_empty() {
                tokio::select! {
                    biased;
                    () = shutdown.wait() => return Ok(Read::Shutdown),
                    res = timeout(timeouts.idle, self.read_more()) => match res {
                        Ok(n) => n?,
                        Err(_) => return Ok(Read::Idle),
                    },
                }
            } else {
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + timeouts.frame);
                timeout_at(deadline, self.read_more())
                    .await
                    .map_err(|_| FrameError::Timeout)??
            };
            if n == 0 {
                return match self.buf.len() {
                    0 => Ok(Read::Closed),
                    received => Err(FrameError::Truncated { received }),
                };
            }
        }
    }

    /// Writes `bytes` and flushes them, within `limit`.
    pub(crate) async fn write_all(
        &mut self,
        bytes: &[u8],
        limit: Duration,
    ) -> Result<(), FrameError> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        Ok(timeout(limit, write)
            .await
            .map_err(|_| FrameError::Timeout)??)
    }

    /// Ends the stream (TLS close_notify, then TCP FIN), best effort within `limit`.
    pub(crate) async fn close(mut self, limit: Duration) {
        let _ = timeout(limit, self.stream.shutdown()).await;
    }

    /// Takes one complete frame off the head of the buffer, if there is one.
    fn parse_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let total = frame_len(header, &self.limits).map_err(FrameError::Header)?;
        if self.buf.len() < total {
            self.pending = Some(total);
            return Ok(None);
        }
        self.pending = None;
        let frame = if self.buf.len() == total {
            std::mem::take(&mut self.buf)
        } else {
            // Pipelined: the next frame's bytes stay buffered.
            let rest = self.buf.split_off(total);
            std::mem::replace(&mut self.buf, rest)
        };
        Ok(Some(frame))
    }

    /// One read into the buffer; 0 at end of stream.
    ///
    /// With no buffer (idle), reads at most a frame header's worth first.
    /// Reserves what the current frame still needs (its length was checked by
    /// `parse_frame`), or [`READ_CHUNK`] if that is more, so the buffer's capacity
    /// stays within `max_message_size + READ_CHUNK`.
    async fn read_more(&mut self) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            // Between frames (the last frame took the buffer): nothing is reserved
            // until the next frame's first bytes arrive, so an idle connection holds
            // no read buffer. Its header comes first, into a few bytes of the task.
            let mut head = [0u8; HEADER_LEN];
            let n = self.stream.read(&mut head).await?;
            self.buf.extend_from_slice(&head[..n]);
            return Ok(n);
        }
        let missing = match self.pending {
            Some(total) => total - self.buf.len(),
            None => HEADER_LEN - self.buf.len(),
        };
        let want = missing.max(READ_CHUNK);
        if self.buf.capacity() - self.buf.len() < want {
            self.buf.reserve_exact(want);
        }
        // Reads at most the spare capacity reserved above.
        self.stream.read_buf(&mut self.buf).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, DuplexStream};
    use tokio::sync::watch;

    const TIMEOUTS: Timeouts = Timeouts {
        handshake: Duration::from_secs(5),
        idle: Duration::from_secs(5),
        frame: Duration::from_secs(5),
    };

    fn frame(fill: u8, body: usize) -> Vec<u8> {
        let mut f = vec![0x42, 0x00, 0x78, 0x01];
        f.extend_from_slice(&u32::try_from(body).unwrap().to_be_bytes());
        f.resize(HEADER_LEN + body, fill);
        f
    }

    /// A connection, its peer, and a shutdown flag that is never raised (the
    /// sender is returned so the flag does not read as dropped).
    fn pair(
        limits: Limits,
    ) -> (
        Connection<DuplexStream>,
        DuplexStream,
        Shutdown,
        watch::Sender<bool>,
    ) {
        let (server, client) = duplex(1 << 16);
        let (tx, shutdown) = Shutdown::channel();
        (Connection::new(server, limits), client, shutdown, tx)
    }

    #[tokio::test]
    async fn pipelined_and_split_frames() {
        let (mut conn, mut client, mut sd, _tx) = pair(Limits::DEFAULT);
        let (a, b, c) = (frame(1, 16), frame(2, 0), frame(3, 10_000));
        let mut all = [a.clone(), b.clone(), c.clone()].concat();
        let tail = all.split_off(a.len() + b.len() + 5);
        client.write_all(&all).await.unwrap();
        let writer = tokio::spawn(async move {
            for chunk in tail.chunks(777) {
                client.write_all(chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        for want in [a, b, c] {
            match conn.read_frame(&TIMEOUTS, &mut sd).await.unwrap() {
                Read::Frame(f) => assert_eq!(f, want),
                other => panic!("{other:?}"),
            }
        }
        drop(writer.await.unwrap());
        assert!(matches!(
            conn.read_frame(&TIMEOUTS, &mut sd).await.unwrap(),
            Read::Closed
        ));
    }

    #[tokio::test]
    async fn oversized_header_reserves_nothing_for_the_body() {
        let limits = Limits {
            max_message_size: 1024,
            ..Limits::DEFAULT
        };
        let (mut conn, mut client, mut sd, _tx) = pair(limits);
        client
            .write_all(&[0x42, 0x00, 0x78, 0x01, 0xFF, 0xFF, 0xFF, 0xF0])
            .await
            .unwrap();
        let err = conn.read_frame(&TIMEOUTS, &mut sd).await.unwrap_err();
        assert!(matches!(err, FrameError::Header(_)), "{err}");
        assert!(conn.buf.capacity() <= HEADER_LEN + READ_CHUNK);
    }

    #[tokio::test]
    async fn buffer_capacity_stays_bounded() {
        let limits = Limits {
            max_message_size: 64 * 1024,
            ..Limits::DEFAULT
        };
        let (mut conn, mut client, mut sd, _tx) = pair(limits);
        let big = frame(7, 64 * 1024 - HEADER_LEN);
        let writer = tokio::spawn(async move {
            for _ in 0..3 {
                for chunk in big.chunks(1000) {
                    client.write_all(chunk).await.unwrap();
                }
            }
            client
        });
        for _ in 0..3 {
            assert!(matches!(
                conn.read_frame(&TIMEOUTS, &mut sd).await.unwrap(),
                Read::Frame(f) if f.len() == 64 * 1024
            ));
            assert!(conn.buf.capacity() <= 64 * 1024 + READ_CHUNK);
        }
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn idle_connection_holds_no_read_buffer() {
        let (mut conn, mut client, mut sd, _tx) = pair(Limits::DEFAULT);
        for (fill, body) in [(1, 100), (2, 6000), (3, 0)] {
            let f = frame(fill, body);
            client.write_all(&f).await.unwrap();
            match conn.read_frame(&TIMEOUTS, &mut sd).await.unwrap() {
                Read::Frame(got) => assert_eq!(got, f),
                other => panic!("{other:?}"),
            }
            // The frame took the buffer; nothing is reserved while waiting for the next.
            let waiting = timeout(
                Duration::from_millis(20),
                conn.read_frame(&TIMEOUTS, &mut sd),
            );
            assert!(waiting.await.is_err(), "no frame was sent");
            assert_eq!(conn.buf.capacity(), 0);
        }
    }

    #[tokio::test]
    async fn not_a_structure_is_refused() {
        let (mut conn, mut client, mut sd, _tx) = pair(Limits::DEFAULT);
        let mut f = frame(0, 8);
        f[3] = 0x02; // Integer
        client.write_all(&f).await.unwrap();
        let err = conn.read_frame(&TIMEOUTS, &mut sd).await.unwrap_err();
        assert!(matches!(err, FrameError::Header(_)), "{err}");
    }

    #[tokio::test]
    async fn eof_mid_frame_is_truncation() {
        let (mut conn, mut client, mut sd, _tx) = pair(Limits::DEFAULT);
        client.write_all(&frame(0, 100)[..50]).await.unwrap();
        drop(client);
        let err = conn.read_frame(&TIMEOUTS, &mut sd).await.unwrap_err();
        assert!(
            matches!(err, FrameError::Truncated { received: 50 }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn frame_deadline_covers_the_whole_frame() {
        let (mut conn, mut client, mut sd, _tx) = pair(Limits::DEFAULT);
        let timeouts = Timeouts {
            frame: Duration::from_millis(200),
            ..TIMEOUTS
        };
        let f = frame(0, 100);
        let writer = tokio::spawn(async move {
            // Every read is quick; the frame as a whole is not.
            for b in f {
                if client.write_all(&[b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let start = Instant::now();
        let err = conn.read_frame(&timeouts, &mut sd).await.unwrap_err();
        assert!(matches!(err, FrameError::Timeout), "{err}");
        assert!(start.elapsed() < Duration::from_millis(1000));
        writer.abort();
    }

    #[tokio::test]
    async fn idle_then_shutdown() {
        let (server, _client) = duplex(64);
        let mut conn = Connection::new(server, Limits::DEFAULT);
        let (tx, mut sd) = Shutdown::channel();
        let timeouts = Timeouts {
            idle: Duration::from_millis(100),
            ..TIMEOUTS
        };
        assert!(matches!(
            conn.read_frame(&timeouts, &mut sd).await.unwrap(),
            Read::Idle
        ));
        tx.send_replace(true);
        assert!(matches!(
            conn.read_frame(&timeouts, &mut sd).await.unwrap(),
            Read::Shutdown
        ));
    }
}
