//! What the tests of outside PKCS#11 clients (pkcs11-tool, OpenSSL, Java, Python)
//! share: a [`ShimDeployment`] whose `default` vault lives on a SoftHSM token, and
//! the commands that drive a PKCS#11 module as a subprocess.
//!
//! Each client test binary names its tokens once ([`SoftHsm::shared`]): one per test
//! for the daemon's vault, plus, where a test compares with SoftHSM run directly, one
//! that the client opens itself. `SOFTHSM2_CONF` is then set in the test process, so
//! every child (the daemon's token and a client's direct SoftHSM) sees the same
//! configuration.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use keygate::config::{PinSource, Placement};
use keygate::setup::{InitOptions, Pkcs11Init};

use crate::shim::{self, KeyProtection, ShimDeployment};
use crate::softhsm::{self, SoftHsm, USER_PIN};
use crate::{run_with_timeout, Finished, TempDir};

/// How long one client command may run (they take well under a second or two).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// A daemon whose `default` vault keeps its keys resident on a SoftHSM token, and a
/// library configuration for it (user PIN [`shim::PIN`]).
#[derive(Debug)]
pub struct HsmShim {
    shim: ShimDeployment,
    // The daemon read the PIN at start; kept until the daemon stops all the same.
    _pin: TempDir,
}

impl HsmShim {
    /// Starts the daemon with its vault on token `token` of `hsm`.
    ///
    /// # Panics
    /// On any setup failure.
    pub fn start(label: &str, hsm: &SoftHsm, token: &str) -> Self {
        Self::start_with(label, hsm, token, KeyProtection::PlainWithPin)
    }

    /// As [`HsmShim::start`], with the slot's client key protected as `key`.
    ///
    /// # Panics
    /// On any setup failure.
    pub fn start_with(label: &str, hsm: &SoftHsm, token: &str, key: KeyProtection) -> Self {
        assert!(hsm.conf().is_file(), "SoftHSM configuration missing");
        let pin = TempDir::new(&format!("{label}-pin"));
        std::fs::create_dir_all(pin.path()).expect("pin directory");
        let pin_file = pin.path().join("hsm.pin");
        std::fs::write(&pin_file, format!("{USER_PIN}\n")).expect("pin file");
        std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600))
            .expect("chmod pin file");
        let opts = InitOptions {
            pkcs11: Some(Pkcs11Init {
                module: softhsm::module(),
                token_label: token.to_owned(),
                pin: PinSource::File(pin_file),
                placement: Placement::Resident,
            }),
            ..InitOptions::default()
        };
        Self {
            shim: ShimDeployment::start(label, &opts, key),
            _pin: pin,
        }
    }

    /// The deployment.
    pub fn shim(&self) -> &ShimDeployment {
        &self.shim
    }

    /// `pkcs11-tool` on the library, logged in with [`shim::PIN`], followed by `args`.
    pub fn pkcs11_tool(&self, args: &[&str]) -> Command {
        let mut cmd = pkcs11_tool(&shim::library(), shim::PIN, args);
        cmd.envs(self.shim.env());
        cmd
    }

    /// A key pair generated in the vault through the library (`pkcs11-tool
    /// --keypairgen --key-type KEY_TYPE`, e.g. `rsa:2048` or `EC:prime256v1`) with
    /// CKA_ID `id` (hex) and CKA_LABEL `label`; returns the public key's
    /// SubjectPublicKeyInfo DER as `--read-object` gives it.
    ///
    /// # Panics
    /// When a command fails, or the private key is shown as extractable.
    pub fn generate_pair(&self, dir: &Path, key_type: &str, id: &str, label: &str) -> Vec<u8> {
        let gen = run_ok(
            "pkcs11-tool --keypairgen",
            self.pkcs11_tool(&[
                "--keypairgen",
                "--key-type",
                key_type,
                "--id",
                id,
                "--label",
                label,
            ]),
        );
        let private = gen
            .stdout
            .split("Public Key Object")
            .next()
            .unwrap_or_default();
        assert!(
            private.contains("Private Key Object") && private.contains("never extractable"),
            "the private key must stay in the vault: {}",
            gen.stdout
        );
        let spki = dir.join(format!("{label}.pub.der"));
        let mut read = self.pkcs11_tool(&["--read-object", "--type", "pubkey", "--id", id, "-o"]);
        read.arg(&spki);
        run_ok("pkcs11-tool --read-object pubkey", read);
        read_file(&spki)
    }
}

/// `pkcs11-tool --module MODULE --login --pin PIN ARGS..`.
pub fn pkcs11_tool(module: &Path, pin: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("pkcs11-tool");
    cmd.arg("--module")
        .arg(module)
        .args(["--login", "--pin", pin])
        .args(args);
    cmd
}

/// `pkcs11-tool` directly on SoftHSM token `token` (its user PIN), followed by `args`.
pub fn softhsm_tool(token: &str, args: &[&str]) -> Command {
    let mut cmd = pkcs11_tool(&softhsm::module(), USER_PIN, &["--token-label", token]);
    cmd.args(args);
    cmd
}

/// Runs `cmd` under [`CLIENT_TIMEOUT`] and requires success.
///
/// # Panics
/// When it fails, with its output.
pub fn run_ok(what: &str, cmd: Command) -> Finished {
    let out = run_with_timeout(cmd, CLIENT_TIMEOUT);
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    out
}

/// A fresh, existing scratch directory.
pub fn scratch(label: &str) -> TempDir {
    let dir = TempDir::new(label);
    std::fs::create_dir_all(dir.path())
        .unwrap_or_else(|e| panic!("creating {}: {e}", dir.path().display()));
    dir
}

/// `dir/name`, written with `data`.
pub fn write_file(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    p
}

/// The bytes of `path`.
pub fn read_file(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
