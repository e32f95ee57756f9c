//! The transport layer (`keygate::server`) against real TLS clients on 127.0.0.1:
//! mutual TLS, framing, limits, timeouts, connection cap and graceful shutdown.
//! Certificates come from rcgen; timeouts are a few hundred milliseconds so the
//! file runs in a couple of seconds.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use keygate::server::{
    server_tls_config, Answer, PeerIdentity, RequestHandler, Server, ServerError, ServerSettings,
    ServerStats,
};
use kmip::{DecodeError, DecodeErrorKind, Limits};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::version::{TLS12, TLS13};
use rustls::{
    ClientConfig, HandshakeKind, ProtocolVersion, RootCertStore, SupportedProtocolVersion,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Upper bound for any single wait in these tests; reaching it is a failure.
const WAIT: Duration = Duration::from_secs(5);
/// What the test handler answers to a refused frame.
const REJECTED: &[u8] = b"REJECTED";
/// A frame whose body starts with this byte makes the test handler panic.
const PANIC: u8 = 0xEE;

// ---------------------------------------------------------------------------
// Certificates

struct Pki {
    ca: String,
    server: Pair,
    client: Pair,
    /// A client certificate issued by a CA the server does not trust.
    stranger: Pair,
}

struct Pair {
    cert: String,
    key: String,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let (ca, ca_key) = make_ca("Keygate Test CA");
        let (other_ca, other_key) = make_ca("Some Other CA");
        let server = leaf(
            &ca,
            &ca_key,
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let client = leaf(&ca, &ca_key, "app-one", ExtendedKeyUsagePurpose::ClientAuth);
        let stranger = leaf(
            &other_ca,
            &other_key,
            "app-one",
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Pki {
            ca: ca.pem(),
            server,
            client,
            stranger,
        }
    })
}

fn make_ca(cn: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params.self_signed(&key).unwrap(), key)
}

fn leaf(ca: &rcgen::Certificate, ca_key: &KeyPair, cn: &str, eku: ExtendedKeyUsagePurpose) -> Pair {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec![format!("{cn}.test"), "localhost".into()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names.push(SanType::Rfc822Name(
        format!("{cn}@example.com").try_into().unwrap(),
    ));
    params.extended_key_usages = vec![eku];
    let cert = params.signed_by(&key, ca, ca_key).unwrap();
    Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

fn client_config(
    identity: Option<&Pair>,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki().ca.as_bytes()).unwrap())
        .unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots);
    let config = match identity {
        Some(p) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(p.cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(p.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

fn good_client() -> Arc<ClientConfig> {
    client_config(Some(&pki().client), &[&TLS13, &TLS12])
}

// ---------------------------------------------------------------------------
// Server harness

#[derive(Default)]
struct TestHandler {
    /// Sleep in `handle` before answering.
    delay: Duration,
    started: AtomicUsize,
    handled: AtomicUsize,
    rejected: Mutex<Vec<DecodeError>>,
    peers: Mutex<Vec<PeerIdentity>>,
}

impl TestHandler {
    fn slow(delay: Duration) -> Arc<Self> {
        Arc::new(TestHandler {
            delay,
            ..TestHandler::default()
        })
    }
}

impl TestHandler {
    fn echo(&self, peer: &PeerIdentity, frame: Vec<u8>) -> Vec<u8> {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.peers.lock().unwrap().push(peer.clone());
        if frame.get(8) == Some(&PANIC) {
            panic!("test handler asked to panic");
        }
        std::thread::sleep(self.delay);
        self.handled.fetch_add(1, Ordering::SeqCst);
        frame
    }
}

impl RequestHandler for TestHandler {
    /// Echoes the frame from the blocking pool (after `delay`), or panics there.
    fn handle(self: Arc<Self>, peer: &Arc<PeerIdentity>, frame: Vec<u8>) -> Answer {
        let peer = Arc::clone(peer);
        Answer::Blocking(Box::new(move || Answer::Now(self.echo(&peer, frame))))
    }

    fn reject(&self, _peer: &PeerIdentity, error: &DecodeError) -> Option<Vec<u8>> {
        self.rejected.lock().unwrap().push(error.clone());
        Some(REJECTED.to_vec())
    }
}

fn settings() -> ServerSettings {
    let p = pki();
    let tls = server_tls_config(
        p.ca.as_bytes(),
        p.server.cert.as_bytes(),
        p.server.key.as_bytes(),
    )
    .unwrap();
    ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Arc::new(tls),
        limits: Limits {
            max_message_size: 64 * 1024,
            ..Limits::DEFAULT
        },
        max_connections: 16,
        handshake_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(5),
        frame_timeout: Duration::from_secs(2),
        shutdown_grace: Duration::from_secs(3),
    }
}

struct Running {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl Running {
    /// Begins shutdown without waiting for it.
    fn begin_shutdown(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }

    async fn finished(self) -> Result<(), ServerError> {
        tokio::time::timeout(WAIT, self.task)
            .await
            .unwrap()
            .unwrap()
    }
}

async fn start(settings: ServerSettings, handler: Arc<TestHandler>) -> Running {
    let server = Server::bind(settings).await.unwrap();
    let addr = server.local_addr();
    let stats = server.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(handler, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stats,
        stop: Some(stop),
        task,
    }
}

// ---------------------------------------------------------------------------
// Client helpers

async fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(WAIT, TlsConnector::from(config).connect(name, tcp))
        .await
        .expect("handshake hung")
}

/// A RequestMessage-tagged Structure with `body` bytes of `fill`.
fn frame(fill: u8, body: usize) -> Vec<u8> {
    let mut f = vec![0x42, 0x00, 0x78, 0x01];
    f.extend_from_slice(&u32::try_from(body).unwrap().to_be_bytes());
    f.resize(8 + body, fill);
    f
}

async fn read_n(stream: &mut TlsStream<TcpStream>, n: usize) -> Vec<u8> {
    let mut got = vec![0; n];
    tokio::time::timeout(WAIT, stream.read_exact(&mut got))
        .await
        .expect("response hung")
        .expect("response");
    got
}

async fn echo(stream: &mut TlsStream<TcpStream>, request: &[u8]) {
    stream.write_all(request).await.unwrap();
    assert_eq!(read_n(stream, request.len()).await, request);
}

/// Reads until the server closes the connection (EOF, TLS alert or reset);
/// returns what arrived before that.
async fn until_closed<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0; 1024];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut chunk))
            .await
            .expect("connection not closed")
        {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The server refuses this client: the handshake fails, or the first exchange
/// finds the connection closed (TLS 1.3 finishes the client's side of the
/// handshake before the server has checked the client's certificate).
async fn assert_refused(attempt: io::Result<TlsStream<TcpStream>>) {
    let Ok(mut stream) = attempt else { return };
    let _ = stream.write_all(&frame(1, 8)).await;
    assert!(until_closed(&mut stream).await.is_empty());
}

async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn echo_round_trip_with_client_certificate() {
    let handler = Arc::new(TestHandler::default());
    let server = start(settings(), handler.clone()).await;
    let mut c = connect(server.addr, good_client()).await.unwrap();
    assert_eq!(
        c.get_ref().1.protocol_version(),
        Some(ProtocolVersion::TLSv1_3)
    );
    echo(&mut c, &frame(1, 40)).await;
    echo(&mut c, &frame(2, 0)).await;
    echo(&mut c, &frame(3, 60_000)).await;
    assert_eq!(handler.handled.load(Ordering::SeqCst), 3);
    let peer = handler.peers.lock().unwrap()[0].clone();
    assert_eq!(
        peer,
        PeerIdentity {
            common_name: Some("app-one".into()),
            dns_names: vec!["app-one.test".into(), "localhost".into()],
            emails: vec!["app-one@example.com".into()],
            uris: vec![],
        }
    );
    assert_eq!(server.stats.open_connections(), 1);
    assert_eq!(server.stats.accepted(), 1);
}

#[tokio::test]
async fn tls12_client_is_served() {
    let server = start(settings(), Arc::default()).await;
    let config = client_config(Some(&pki().client), &[&TLS12]);
    let mut c = connect(server.addr, config).await.unwrap();
    assert_eq!(
        c.get_ref().1.protocol_version(),
        Some(ProtocolVersion::TLSv1_2)
    );
    echo(&mut c, &frame(1, 16)).await;
}

#[tokio::test]
async fn resumed_session_keeps_the_verified_identity() {
    for versions in [&[&TLS13][..], &[&TLS12][..]] {
        let handler = Arc::new(TestHandler::default());
        let server = start(settings(), handler.clone()).await;
        let config = client_config(Some(&pki().client), versions);
        let mut first = connect(server.addr, config.clone()).await.unwrap();
        echo(&mut first, &frame(1, 8)).await; // also reads the TLS 1.3 tickets
        assert_eq!(
            first.get_ref().1.handshake_kind(),
            Some(HandshakeKind::Full)
        );
        first.shutdown().await.unwrap();

        let mut second = connect(server.addr, config).await.unwrap();
        echo(&mut second, &frame(2, 8)).await;
        assert_eq!(
            second.get_ref().1.handshake_kind(),
            Some(HandshakeKind::Resumed)
        );
        let peers = handler.peers.lock().unwrap().clone();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[1], peers[0]);
        assert_eq!(peers[1].common_name.as_deref(), Some("app-one"));
    }
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let handler = Arc::new(TestHandler::default());
    let server = start(settings(), handler.clone()).await;
    for versions in [&[&TLS13][..], &[&TLS12][..]] {
        assert_refused(connect(server.addr, client_config(None, versions)).await).await;
    }
    eventually("two handshake failures", || {
        server.stats.handshake_failures() == 2
    })
    .await;
    assert_eq!(handler.started.load(Ordering::SeqCst), 0);
    eventually("connections closed", || {
        server.stats.open_connections() == 0
    })
    .await;
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_refused() {
    let handler = Arc::new(TestHandler::default());
    let server = start(settings(), handler.clone()).await;
    for versions in [&[&TLS13][..], &[&TLS12][..]] {
        let config = client_config(Some(&pki().stranger), versions);
        assert_refused(connect(server.addr, config).await).await;
    }
    eventually("two handshake failures", || {
        server.stats.handshake_failures() == 2
    })
    .await;
    assert_eq!(handler.started.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn frame_split_into_one_byte_writes_is_answered() {
    let server = start(settings(), Arc::default()).await;
    let mut c = connect(server.addr, good_client()).await.unwrap();
    let request = frame(5, 56);
    for b in &request {
        c.write_all(&[*b]).await.unwrap();
        c.flush().await.unwrap(); // one TLS record per byte
    }
    assert_eq!(read_n(&mut c, request.len()).await, request);
}

#[tokio::test]
async fn pipelined_frames_are_answered_in_order() {
    let handler = Arc::new(TestHandler::default());
    let server = start(settings(), handler.clone()).await;
    let mut c = connect(server.addr, good_client()).await.unwrap();
    let (a, b) = (frame(0xA, 24), frame(0xB, 1000));
    c.write_all(&[a.clone(), b.clone()].concat()).await.unwrap();
    assert_eq!(read_n(&mut c, a.len() + b.len()).await, [a, b].concat());
    assert_eq!(handler.handled.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn oversized_announced_length_is_rejected_without_reading_the_body() {
    let handler = Arc::new(TestHandler::default());
    let mut s = settings();
    s.frame_timeout = Duration::from_secs(10); // an answer before this proves no wait
    let server = start(s, handler.clone()).await;
    let mut c = connect(server.addr, good_client()).await.unwrap();

    let started = Instant::now();
    // Announces ~4 GiB; sends only the header.
    c.write_all(&[0x42, 0x00, 0x78, 0x01, 0xFF, 0xFF, 0xFF, 0xF0])
        .await
        .unwrap();
    c.flush().await.unwrap();
    assert_eq!(until_closed(&mut c).await, REJECTED);
    assert!(started.elapsed() < Duration::from_secs(2));

    let rejected = handler.rejected.lock().unwrap().clone();
    assert_eq!(rejected.len(), 1);
    assert!(
        matches!(
            rejected[0].kind,
            DecodeErrorKind::TooLarge { limit: 65536, .. }
        ),
        "{:?}",
        rejected[0]
    );
    assert_eq!(handler.started.load(Ordering::SeqCst), 0);
    eventually("connection closed", || server.stats.open_connections() == 0).await;
}

#[tokio::test]
async fn top_level_item_not_a_structure_is_rejected() {
    let handler = Arc::new(TestHandler::default());
    let server = start(settings(), handler.clone()).await;
    let mut c = connect(server.addr, good_client()).await.unwrap();
    let mut f = frame(0, 8);
    f[3] = 0x02; // Integer
    c.write_all(&f).await.unwrap();
    assert_eq!(until_closed(&mut c).await, REJECTED);
    let rejected = handler.rejected.lock().unwrap().clone();
    assert!(matches!(
        rejected[..],
        [DecodeError {
            kind: DecodeErrorKind::WrongType { .. },
            ..
        }]
    ));
}

#[tokio::test]
async fn slow_loris_is_cut_off_while_others_are_served() {
    let frame_timeout = Duration::from_millis(400);
    let mut s = settings();
    s.frame_timeout = frame_timeout;
    let server = start(s, Arc::default()).await;

    let loris = connect(server.addr, good_client()).await.unwrap();
    let (mut loris_rx, mut loris_tx) = tokio::io::split(loris);
    let request = frame(7, 200);
    let sent = Arc::new(AtomicUsize::new(0));
    let trickle = {
        let sent = sent.clone();
        tokio::spawn(async move {
            // One byte every 100 ms: each read is quick, the frame never completes.
            for b in request {
                if loris_tx.write_all(&[b]).await.is_err() || loris_tx.flush().await.is_err() {
                    break;
                }
                sent.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let first_byte = Instant::now();

    // A well-behaved client is served meanwhile.
    let mut good = connect(server.addr, good_client()).await.unwrap();
    let serve_others = async {
        for i in 0..10 {
            echo(&mut good, &frame(i, 32)).await;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    };
    let (cut_off, ()) = tokio::join!(until_closed(&mut loris_rx), serve_others);

    let lasted = first_byte.elapsed();
    assert!(cut_off.is_empty());
    assert!(
        lasted >= frame_timeout - Duration::from_millis(50),
        "{lasted:?}"
    );
    assert!(
        lasted < frame_timeout + Duration::from_millis(600),
        "{lasted:?}"
    );
    assert!(sent.load(Ordering::SeqCst) < 208);
    trickle.abort();
    echo(&mut good, &frame(99, 8)).await;
}

#[tokio::test]
async fn idle_connection_is_closed() {
    let idle = Duration::from_millis(300);
    let mut s = settings();
    s.idle_timeout = idle;
    let server = start(s, Arc::default()).await;
    let mut c = connect(server.addr, good_client()).await.unwrap();
    // Activity resets the clock.
    for i in 0..3 {
        echo(&mut c, &frame(i, 8)).await;
        tokio::time::sleep(idle / 2).await;
    }
    let last = Instant::now();
    assert!(until_closed(&mut c).await.is_empty());
    let waited = last.elapsed();
    assert!(waited >= idle / 2 - Duration::from_millis(50), "{waited:?}");
    assert!(waited < idle + Duration::from_millis(500), "{waited:?}");
    eventually("connection closed", || server.stats.open_connections() == 0).await;
}

#[tokio::test]
async fn connections_over_the_cap_are_closed() {
    let mut s = settings();
    s.max_connections = 2;
    let server = start(s, Arc::default()).await;
    let mut first = connect(server.addr, good_client()).await.unwrap();
    let mut second = connect(server.addr, good_client()).await.unwrap();
    echo(&mut first, &frame(1, 8)).await;
    echo(&mut second, &frame(2, 8)).await;

    assert_refused(connect(server.addr, good_client()).await).await;
    assert_eq!(server.stats.rejected_over_cap(), 1);
    assert_eq!(server.stats.accepted(), 3);

    echo(&mut first, &frame(3, 8)).await;
    echo(&mut second, &frame(4, 8)).await;

    // A slot frees up when a client leaves.
    first.shutdown().await.unwrap();
    drop(first);
    eventually("slot released", || server.stats.open_connections() == 1).await;
    let mut third = connect(server.addr, good_client()).await.unwrap();
    echo(&mut third, &frame(5, 8)).await;
    assert_eq!(server.stats.rejected_over_cap(), 1);
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let handler = TestHandler::slow(Duration::from_millis(300));
    let mut server = start(settings(), handler.clone()).await;
    let mut idle = connect(server.addr, good_client()).await.unwrap();
    echo(&mut idle, &frame(1, 8)).await;
    let mut busy = connect(server.addr, good_client()).await.unwrap();
    let request = frame(2, 100);
    busy.write_all(&request).await.unwrap();
    eventually("request in the handler", || {
        handler.started.load(Ordering::SeqCst) == 2
    })
    .await;

    let stop = Instant::now();
    server.begin_shutdown();
    // The idle connection closes at once.
    assert!(until_closed(&mut idle).await.is_empty());
    assert!(
        stop.elapsed() < Duration::from_millis(250),
        "{:?}",
        stop.elapsed()
    );
    // The in-flight request is answered, then the connection closes.
    assert_eq!(until_closed(&mut busy).await, request);
    assert_eq!(handler.handled.load(Ordering::SeqCst), 2);

    let addr = server.addr;
    let stats = server.stats.clone();
    server.finished().await.unwrap();
    assert!(stop.elapsed() < Duration::from_secs(1));
    assert_eq!(stats.open_connections(), 0);
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[tokio::test]
async fn shutdown_grace_bounds_the_wait() {
    let handler = TestHandler::slow(Duration::from_millis(1000));
    let mut s = settings();
    s.shutdown_grace = Duration::from_millis(200);
    let mut server = start(s, handler.clone()).await;
    let mut busy = connect(server.addr, good_client()).await.unwrap();
    busy.write_all(&frame(1, 8)).await.unwrap();
    eventually("request in the handler", || {
        handler.started.load(Ordering::SeqCst) == 1
    })
    .await;

    let stop = Instant::now();
    server.begin_shutdown();
    let stats = server.stats.clone();
    server.finished().await.unwrap();
    let took = stop.elapsed();
    assert!(took >= Duration::from_millis(150), "{took:?}");
    assert!(took < Duration::from_millis(800), "{took:?}");
    assert_eq!(stats.open_connections(), 0);
    assert!(until_closed(&mut busy).await.is_empty());
}

#[tokio::test]
async fn silent_tcp_client_is_closed_after_handshake_timeout() {
    let timeout = Duration::from_millis(300);
    let mut s = settings();
    s.handshake_timeout = timeout;
    let server = start(s, Arc::default()).await;
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    let connected = Instant::now();
    assert!(until_closed(&mut raw).await.is_empty());
    let waited = connected.elapsed();
    assert!(waited >= timeout - Duration::from_millis(50), "{waited:?}");
    assert!(waited < timeout + Duration::from_millis(500), "{waited:?}");
    eventually("failure counted", || server.stats.handshake_failures() == 1).await;
    eventually("slot released", || server.stats.open_connections() == 0).await;
}

#[tokio::test]
async fn eof_mid_frame_closes_without_calling_the_handler() {
    let handler = Arc::new(TestHandler::default());
    let server = start(settings(), handler.clone()).await;
    let mut c = connect(server.addr, good_client()).await.unwrap();
    c.write_all(&frame(1, 100)[..60]).await.unwrap();
    c.shutdown().await.unwrap();
    assert!(until_closed(&mut c).await.is_empty());
    eventually("connection closed", || server.stats.open_connections() == 0).await;
    assert_eq!(handler.started.load(Ordering::SeqCst), 0);
    assert!(handler.rejected.lock().unwrap().is_empty());
}

#[tokio::test]
async fn handler_panic_closes_only_that_connection() {
    let handler = Arc::new(TestHandler::default());
    let server = start(settings(), handler.clone()).await;
    let mut other = connect(server.addr, good_client()).await.unwrap();
    let mut c = connect(server.addr, good_client()).await.unwrap();
    c.write_all(&frame(PANIC, 8)).await.unwrap();
    assert!(until_closed(&mut c).await.is_empty());
    echo(&mut other, &frame(1, 8)).await;
    let mut again = connect(server.addr, good_client()).await.unwrap();
    echo(&mut again, &frame(2, 8)).await;
}

#[tokio::test]
async fn settings_are_validated() {
    let mut s = settings();
    s.max_connections = 0;
    assert!(matches!(
        Server::bind(s).await,
        Err(ServerError::Setting {
            name: "max_connections",
            ..
        })
    ));
    let mut s = settings();
    s.idle_timeout = Duration::ZERO;
    assert!(matches!(
        Server::bind(s).await,
        Err(ServerError::Setting {
            name: "idle_timeout",
            ..
        })
    ));
}
