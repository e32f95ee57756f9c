//! SoftHSM2 tokens for tests, in a temporary directory of their own.
//!
//! SoftHSM reads `SOFTHSM2_CONF` once, at `C_Initialize`, and sees only the tokens that
//! exist then; the variable is process-wide and cargo runs a binary's tests in
//! threads. So a test binary makes one configuration and token directory, with one
//! token per test label, the first time any test asks ([`SoftHsm::shared`]) — before
//! anything loads the module — and each test uses its own token.
//!
//! `./test.sh` installs SoftHSM2 (Debian package `softhsm2`). The module path is
//! `$KEYGATE_PKCS11_MODULE`, else the first of the usual install paths that exists.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{run_with_timeout, TempDir};

/// The user PIN of every test token.
pub const USER_PIN: &str = "1234";
/// The security officer PIN of every test token.
pub const SO_PIN: &str = "123456";

/// Where Debian, Ubuntu and Fedora put the SoftHSM2 module.
const MODULE_PATHS: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The SoftHSM2 PKCS#11 module.
///
/// # Panics
/// When none is installed: these tests must fail, not skip, when SoftHSM is missing.
pub fn module() -> PathBuf {
    if let Some(p) = std::env::var_os("KEYGATE_PKCS11_MODULE").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "$KEYGATE_PKCS11_MODULE={} does not exist",
            p.display()
        );
        return p;
    }
    MODULE_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "SoftHSM2 is not installed (looked for {MODULE_PATHS:?}). Run ./test.sh, which \
                 installs the Debian packages softhsm2 and opensc, or `apt-get install softhsm2`; \
                 or set KEYGATE_PKCS11_MODULE."
            )
        })
}

/// A SoftHSM configuration with its token directory, shared by a test binary.
#[derive(Debug)]
pub struct SoftHsm {
    dir: TempDir,
    conf: PathBuf,
    tokens: PathBuf,
    labels: Vec<String>,
}

impl SoftHsm {
    /// The binary's SoftHSM, with an initialised token for each of `labels` (user PIN
    /// [`USER_PIN`]), made at the first call, which also points `SOFTHSM2_CONF` at it.
    /// Every call must pass the same labels (a constant of the test file).
    ///
    /// # Panics
    /// If `softhsm2-util` fails, or a later call names a label the first did not.
    pub fn shared(labels: &[&str]) -> &'static SoftHsm {
        static SHARED: OnceLock<SoftHsm> = OnceLock::new();
        let hsm = SHARED.get_or_init(|| SoftHsm::create(labels));
        for label in labels {
            assert!(
                hsm.labels.iter().any(|l| l == label),
                "token {label:?} was not created: SoftHsm::shared must get the same labels \
                 from every test of a binary (tokens made after C_Initialize stay invisible)"
            );
        }
        hsm
    }

    fn create(labels: &[&str]) -> SoftHsm {
        remove_leftovers();
        let dir = TempDir::new("softhsm");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir_all(&tokens)
            .unwrap_or_else(|e| panic!("creating {}: {e}", tokens.display()));
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
                 slots.removable = false\n",
                tokens.display()
            ),
        )
        .unwrap_or_else(|e| panic!("writing {}: {e}", conf.display()));
        // Before any C_Initialize in this process: the first test to get here holds
        // the OnceLock while the others wait on it.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        for label in labels {
            let mut cmd = Command::new("softhsm2-util");
            cmd.env("SOFTHSM2_CONF", &conf).args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                SO_PIN,
                "--pin",
                USER_PIN,
            ]);
            let out = run_with_timeout(cmd, Duration::from_secs(30));
            assert!(
                out.status.success(),
                "softhsm2-util --init-token {label}: {}\n{}{}",
                out.status,
                out.stdout,
                out.stderr
            );
        }
        SoftHsm {
            dir,
            conf,
            tokens,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    /// The configuration file (`SOFTHSM2_CONF`).
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The temporary directory holding the configuration and the tokens.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The directory of the token labelled `label` (SoftHSM names it by a UUID; the
    /// label is inside `token.object`, blank-padded to 32 bytes).
    ///
    /// # Panics
    /// If no token directory carries the label.
    pub fn token_dir(&self, label: &str) -> PathBuf {
        let mut padded = label.as_bytes().to_vec();
        padded.resize(32, b' ');
        let entries = std::fs::read_dir(&self.tokens)
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.tokens.display()));
        for entry in entries.flatten() {
            let object = entry.path().join("token.object");
            if let Ok(bytes) = std::fs::read(&object) {
                if bytes.windows(padded.len()).any(|w| w == padded) {
                    return entry.path();
                }
            }
        }
        panic!(
            "no token directory under {} is labelled {label:?}",
            self.tokens.display()
        )
    }
}

/// The shared directory outlives its test binary (a static is never dropped): remove
/// those of earlier runs whose process is gone.
fn remove_leftovers() {
    let prefix = "keygate-outside-softhsm-";
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if pid != std::process::id() && !alive && Path::new("/proc/self").exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
