//! Integration tests against SoftHSM2 and outside clients.
//!
//! Shared fixtures:
//! - [`Daemon`]: a real Keygate daemon made by `keygate::setup::init` in a fresh
//!   temporary directory and started with `keygate::daemon::start` on 127.0.0.1:0,
//!   inside a multi-thread tokio runtime the fixture owns (so tests stay plain
//!   `#[test]` functions and can block on subprocesses);
//! - [`python`] and [`run_with_timeout`]: find the project's Python venv (made by
//!   `./test.sh`) and run an outside client under a deadline, capturing its output;
//! - [`kmip_client`]: a KMIP client over mutual TLS and request builders, for tests
//!   that talk to the daemon themselves.
#![forbid(unsafe_code)]

pub mod kmip_client;
pub mod pykmip_server;
pub mod shim;
pub mod shim_clients;
pub mod softhsm;

use keygate::daemon::RunningDaemon;
use keygate::setup::{ClientFiles, InitOptions, InitReport};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The workspace root (where `test.sh` and `.venv` live).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("softhsm-tests sits inside the workspace")
        .to_path_buf()
}

/// The directory holding this crate's Python drivers.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The Python interpreter of the project venv: `$KEYGATE_PYTHON`, else
/// `<workspace>/.venv/bin/python`.
///
/// # Panics
/// When it does not exist: the tests that need it must fail, not skip, so a missing
/// venv is never mistaken for a pass. `./test.sh` creates the venv.
pub fn python() -> PathBuf {
    let (path, origin) = match std::env::var_os("KEYGATE_PYTHON") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), "$KEYGATE_PYTHON"),
        _ => (
            workspace_root().join(".venv/bin/python"),
            "the default venv path",
        ),
    };
    assert!(
        path.is_file(),
        "Python interpreter {} ({origin}) does not exist. These tests drive the daemon with \
         PyKMIP from the project venv: run ./test.sh from the workspace root (it creates \
         .venv with `python3 -m venv .venv && .venv/bin/pip install PyKMIP`), or set \
         KEYGATE_PYTHON to a python that has PyKMIP 0.11 installed.",
        path.display()
    );
    path
}

/// What a finished subprocess left behind.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it wrote on stdout.
    pub stdout: String,
    /// Everything it wrote on stderr.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs `cmd` with piped stdout/stderr, killing it if it has not exited after
/// `timeout`.
///
/// # Panics
/// If it cannot be started, or on the timeout (with whatever it printed so far).
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Finished {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let stdout = out.join().unwrap_or_default();
                let stderr = err.join().unwrap_or_default();
                panic!("{cmd:?} did not finish within {timeout:?}; killed it.\nstdout:\n{stdout}\nstderr:\n{stderr}");
            }
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, not yet existing path (`keygate init` creates it).
    pub fn new(label: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Self(std::env::temp_dir().join(format!(
            "keygate-outside-{label}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running daemon with the material `keygate init` made for it. Stopped (and its
/// directory removed) when dropped.
#[derive(Debug)]
pub struct Daemon {
    running: Option<RunningDaemon>,
    rt: tokio::runtime::Runtime,
    report: InitReport,
    audit_log: PathBuf,
    audit_key: PathBuf,
    addr: SocketAddr,
    // Last, so the directory goes only after the daemon stopped.
    _dir: TempDir,
}

impl Daemon {
    /// Inits a deployment in a fresh temp dir and starts it on 127.0.0.1:0.
    ///
    /// # Panics
    /// On any setup or start failure.
    pub fn start(label: &str) -> Self {
        Self::start_with(label, &InitOptions::default())
    }

    /// As [`Daemon::start`], with `keygate init` given `opts` (e.g. a PKCS#11 token
    /// for the `default` vault).
    ///
    /// # Panics
    /// On any setup or start failure.
    pub fn start_with(label: &str, opts: &InitOptions) -> Self {
        Self::start_edited(label, opts, |_| {})
    }

    /// As [`Daemon::start_with`], with `edit` given the config file's path between
    /// `keygate init` and the start (e.g. to add a vault setting).
    ///
    /// # Panics
    /// On any setup or start failure.
    pub fn start_edited(label: &str, opts: &InitOptions, edit: impl FnOnce(&Path)) -> Self {
        let dir = TempDir::new(label);
        let report = keygate::setup::init(dir.path(), opts)
            .unwrap_or_else(|e| panic!("keygate init {}: {e}", dir.path().display()));
        edit(&report.config);
        let cfg = keygate::config::Config::load(&report.config)
            .unwrap_or_else(|e| panic!("loading {}: {e}", report.config.display()));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let listen: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let running = rt
            .block_on(keygate::daemon::start(&report.config, Some(listen)))
            .unwrap_or_else(|e| panic!("starting the daemon ({}): {e}", report.config.display()));
        Self {
            addr: running.addr,
            running: Some(running),
            rt,
            audit_log: cfg.audit.path.clone(),
            audit_key: cfg.audit.key_file.clone(),
            report,
            _dir: dir,
        }
    }

    /// The listener address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A connected KMIP client for identity `name` (`admin` or `app`).
    ///
    /// # Panics
    /// If the connection or the TLS handshake fails.
    pub fn connect(&self, name: &str) -> kmip_client::Kmip {
        let c = self.client(name);
        kmip_client::Kmip::connect(self.addr, &self.report.ca_cert, &c.cert, &c.key)
    }

    /// What `keygate init` created (CA, config, client identities).
    pub fn report(&self) -> &InitReport {
        &self.report
    }

    /// The certificate and key of the client identity `name` (`admin` or `app`).
    ///
    /// # Panics
    /// If init made no such identity.
    pub fn client(&self, name: &str) -> &ClientFiles {
        self.report
            .clients
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("keygate init made no client {name:?}"))
    }

    /// The audit log's records, after checking its HMAC chain with
    /// `keygate::audit::verify` (an absent log is an empty one).
    ///
    /// # Panics
    /// If the chain does not verify or a line is not JSON.
    pub fn audit_records(&self) -> Vec<serde_json::Value> {
        if !self.audit_log.exists() {
            return Vec::new();
        }
        let n = keygate::audit::verify(&self.audit_log, &self.audit_key).unwrap_or_else(|e| {
            panic!(
                "audit log {} does not verify: {e}",
                self.audit_log.display()
            )
        });
        let text = std::fs::read_to_string(&self.audit_log)
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.audit_log.display()));
        let records: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
            .collect();
        assert_eq!(
            u64::try_from(records.len()).ok(),
            Some(n),
            "verify counted {n} lines, the file has {}",
            records.len()
        );
        records
    }

    /// Stops the daemon gracefully.
    ///
    /// # Panics
    /// If the listener reports an error on the way down.
    pub fn stop(mut self) {
        if let Some(d) = self.running.take() {
            self.rt.block_on(d.stop()).expect("daemon stop");
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(d) = self.running.take() {
            let _ = self.rt.block_on(d.stop());
        }
    }
}
