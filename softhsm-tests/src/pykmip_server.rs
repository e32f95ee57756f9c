//! PyKMIP's own KMIP server (`pykmip-server`, from the project venv) as a peer for
//! interoperability and benchmark tests.
//!
//! [`PykmipServer::start`] makes a fresh temporary directory with a CA and a server
//! certificate (ECDSA P-256, from [`keygate::pki`]) and a client certificate
//! (ECDSA P-256, from the venv's `cryptography`, see below), a policy directory, an SQLite database path and a
//! `server.conf` (TLS 1.2 auth suite, client certificates required), picks a free
//! port on 127.0.0.1 and runs the server with the venv's interpreter until its log
//! says it accepts connections. The server is killed (and the directory removed)
//! when the value is dropped.
//!
//! The venv comes from `./test.sh`; [`crate::python`] panics if it is missing, so
//! a test using this fixture fails rather than skips.

use crate::{python, TempDir};
use kmip::client::{ClientConfig, PemSource};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest time the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server's log says once its socket is bound and it accepts connections.
const READY_LINE: &str = "Starting connection service";

/// How often a start is retried when the server exits early (another process may
/// take the free port between our probe and the server's bind).
const START_ATTEMPTS: usize = 3;

/// How long a stop may take before the server is killed outright.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs `pykmip-server`'s `main` and stops it gracefully (SIGTERM to itself, which
/// PyKMIP handles by stopping its accept loop, its policy-monitor process and its
/// multiprocessing manager) when its stdin reaches end of file: when the fixture
/// drops the pipe, or when the test process dies. A plain kill would leave those
/// child processes behind. (It reads fd 0 with `os.read`: a thread blocked in
/// `sys.stdin.read` holds the stdin buffer's lock, and the processes PyKMIP forks
/// then deadlock closing their copy of `sys.stdin`.)
const LAUNCHER: &str = "\
import os, signal, sys, threading
def _watch():
    while os.read(0, 4096):
        pass
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=_watch, daemon=True).start()
from kmip.services.server.server import main
sys.exit(main())
";

/// A running `pykmip-server`. Stopped (SIGTERM via its stdin, then killed if it
/// lingers) when dropped.
#[derive(Debug)]
pub struct PykmipServer {
    child: Child,
    addr: SocketAddr,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    log: PathBuf,
    // Last, so the directory goes only after the server was killed.
    _dir: TempDir,
}

impl PykmipServer {
    /// Makes the certificates and configuration in a fresh temp dir and starts the
    /// server on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// If the venv is missing, the certificates cannot be made, or the server does
    /// not come up within 30 s (with its output and log in the message).
    pub fn start(label: &str) -> Self {
        let dir = TempDir::new(label);
        std::fs::create_dir_all(dir.path())
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.path().display()));
        let p = |name: &str| dir.path().join(name);
        let ca = keygate::pki::Ca::generate().expect("generate CA");
        ca.write(&p("ca.pem"), &p("ca.key"))
            .expect("write the CA certificate and key");
        ca.issue_server(&[])
            .expect("issue server certificate")
            .write(&p("server.pem"), &p("server.key"))
            .expect("write the server certificate and key");
        issue_client_with_cryptography(dir.path());
        std::fs::create_dir_all(p("policies")).expect("create the policy directory");

        let mut last_failure = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            write_config(dir.path(), port);
            match spawn_and_wait(dir.path()) {
                Ok(child) => {
                    return Self {
                        child,
                        addr: SocketAddr::from(([127, 0, 0, 1], port)),
                        ca: p("ca.pem"),
                        cert: p("client.pem"),
                        key: p("client.key"),
                        log: p("server.log"),
                        _dir: dir,
                    };
                }
                Err(failure) => last_failure = failure,
            }
        }
        panic!("pykmip-server did not start after {START_ATTEMPTS} attempts:\n{last_failure}");
    }

    /// The listener address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) that signed the server and client certificates.
    pub fn ca_cert(&self) -> &Path {
        &self.ca
    }

    /// The client certificate (PEM, CN `bench`, clientAuth).
    pub fn client_cert(&self) -> &Path {
        &self.cert
    }

    /// The client private key (PEM, PKCS#8).
    pub fn client_key(&self) -> &Path {
        &self.key
    }

    /// The server's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The server's log so far (empty if unreadable), for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Client settings for [`kmip::client::Client`] or `keygate::bench`.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(
            self.addr.to_string(),
            PemSource::path(&self.ca),
            PemSource::path(&self.cert),
            PemSource::path(&self.key),
        )
    }
}

impl Drop for PykmipServer {
    fn drop(&mut self) {
        stop(&mut self.child, Some(self.addr));
    }
}

/// Closes the child's stdin (the launcher then stops the server), waits up to
/// [`STOP_TIMEOUT`], and kills it if it is still there. PyKMIP's accept loop looks
/// at its stop flag only when `accept` returns, so a bare TCP connection to
/// `addr` every 200 ms wakes it (instead of waiting for its accept timeout).
fn stop(child: &mut Child, addr: Option<SocketAddr>) {
    drop(child.stdin.take());
    let started = Instant::now();
    let mut poked = started;
    while started.elapsed() < STOP_TIMEOUT {
        match child.try_wait() {
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Ok(Some(_)) | Err(_) => return,
        }
        if let Some(addr) = addr {
            if poked.elapsed() >= Duration::from_millis(200) {
                poked = Instant::now();
                let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Issues `client.pem` / `client.key` (ECDSA P-256, CN `bench`, clientAuth) from
/// `ca.pem` / `ca.key` with the venv's `cryptography`.
///
/// Not with `keygate::pki`: its leaf certificates encode Basic Constraints
/// `cA FALSE` explicitly (rcgen's `IsCa::ExplicitNoCa`), which DER forbids (a
/// DEFAULT value must be omitted), and PyKMIP's server, parsing the client
/// certificate with `cryptography` (which rejects it: `EncodedDefault` at
/// `BasicConstraints::ca`), then fails every request.
fn issue_client_with_cryptography(dir: &Path) {
    const SCRIPT: &str = r#"
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

d = sys.argv[1]
ca_cert = x509.load_pem_x509_certificate(open(d + "/ca.pem", "rb").read())
ca_key = serialization.load_pem_private_key(open(d + "/ca.key", "rb").read(), None)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")]))
    .issuer_name(ca_cert.subject)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(minutes=5))
    .not_valid_after(now + datetime.timedelta(days=1))
    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    .sign(ca_key, hashes.SHA256())
)
open(d + "/client.key", "wb").write(key.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
))
open(d + "/client.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
"#;
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(SCRIPT).arg(dir);
    let done = crate::run_with_timeout(cmd, Duration::from_secs(60));
    assert!(
        done.status.success(),
        "issuing the client certificate with the venv's cryptography failed ({}):\n{}\n{}",
        done.status,
        done.stdout,
        done.stderr
    );
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

fn write_config(dir: &Path, port: u16) {
    let p = |name: &str| dir.join(name).display().to_string();
    let text = format!(
        "[server]\n\
         hostname=127.0.0.1\n\
         port={port}\n\
         certificate_path={}\n\
         key_path={}\n\
         ca_path={}\n\
         auth_suite=TLS1.2\n\
         enable_tls_client_auth=True\n\
         policy_path={}\n\
         database_path={}\n\
         logging_level=INFO\n",
        p("server.pem"),
        p("server.key"),
        p("ca.pem"),
        p("policies"),
        p("pykmip.sqlite"),
    );
    let path = dir.join("server.conf");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Starts the server and waits for its ready line; on failure, kills it and says
/// what it printed.
fn spawn_and_wait(dir: &Path) -> Result<Child, String> {
    let log = dir.join("server.log");
    let _ = std::fs::remove_file(&log);
    let file = |name: &str| {
        std::fs::File::create(dir.join(name))
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.join(name).display()))
    };
    let mut cmd = Command::new(python());
    cmd.arg("-c")
        .arg(LAUNCHER)
        .arg("-f")
        .arg(dir.join("server.conf"))
        .arg("-l")
        .arg(&log)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(file("stdout.txt"))
        .stderr(file("stderr.txt"));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let started = Instant::now();
    let output = || {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        format!(
            "stdout:\n{}\nstderr:\n{}\nlog:\n{}",
            read("stdout.txt"),
            read("stderr.txt"),
            read("server.log")
        )
    };
    loop {
        if std::fs::read_to_string(&log).is_ok_and(|t| t.contains(READY_LINE)) {
            return Ok(child);
        }
        match child.try_wait() {
            Ok(Some(status)) => return Err(format!("{cmd:?} exited with {status}\n{}", output())),
            Ok(None) if started.elapsed() < START_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(None) => {
                stop(&mut child, None);
                return Err(format!(
                    "{cmd:?} did not log {READY_LINE:?} within {START_TIMEOUT:?}; killed it\n{}",
                    output()
                ));
            }
            Err(e) => {
                stop(&mut child, None);
                return Err(format!("waiting for {cmd:?}: {e}"));
            }
        }
    }
}
