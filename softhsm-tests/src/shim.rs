//! The PKCS#11 library under test: where the built `libkeygate_pkcs11.so` is, and a
//! deployment for it — a real daemon (software keystore or a SoftHSM token) plus a
//! `pkcs11.toml` naming the daemon, its CA and one client identity.
//!
//! The library reads its configuration at `C_Initialize` from `KEYGATE_PKCS11_CONF`
//! (process-wide), so a test process loads it for one deployment: tests in one
//! binary share a [`ShimDeployment`], outside clients get the variable in their own
//! environment ([`ShimDeployment::env`]).

use crate::{Daemon, TempDir};
use keygate::setup::InitOptions;
use std::path::{Path, PathBuf};

/// The user PIN the deployments configure.
pub const PIN: &str = "kg-user-pin";

/// The built library: `$KEYGATE_PKCS11_LIB`, else `libkeygate_pkcs11.so` in the
/// target directory of this test binary.
///
/// # Panics
/// When it is not there (`./test.sh` builds it with `cargo build -p keygate-pkcs11`
/// before the tests run).
pub fn library() -> PathBuf {
    if let Some(p) = std::env::var_os("KEYGATE_PKCS11_LIB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/libkeygate_pkcs11.so
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary inside target/<profile>/deps");
    let lib = dir.join("libkeygate_pkcs11.so");
    assert!(
        lib.is_file(),
        "{} is missing: build it first with `cargo build -p keygate-pkcs11` (./test.sh does), \
         or set KEYGATE_PKCS11_LIB",
        lib.display()
    );
    lib
}

/// A daemon and a library configuration for it.
#[derive(Debug)]
pub struct ShimDeployment {
    daemon: Daemon,
    conf: PathBuf,
    _dir: TempDir,
}

/// How the slot's key is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProtection {
    /// The client key file as `keygate init` wrote it, and `pin = PIN` in the config.
    PlainWithPin,
    /// The client key re-encrypted as PKCS#8 under [`PIN`] (openssl), no `pin` line.
    EncryptedByPin,
}

impl ShimDeployment {
    /// Starts a daemon made with `opts` and writes a configuration giving the
    /// library one slot, the `app` identity.
    ///
    /// # Panics
    /// On any setup failure.
    pub fn start(label: &str, opts: &InitOptions, key: KeyProtection) -> Self {
        let daemon = Daemon::start_with(label, opts);
        let dir = TempDir::new(&format!("{label}-conf"));
        std::fs::create_dir_all(dir.path()).expect("config directory");
        let app = daemon.client("app");
        let key_line = match key {
            KeyProtection::PlainWithPin => {
                format!("key = {:?}\npin = {PIN:?}\n", app.key.display().to_string())
            }
            KeyProtection::EncryptedByPin => {
                let enc = dir.path().join("app-key.enc.pem");
                let out = std::process::Command::new("openssl")
                    .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout"])
                    .arg(format!("pass:{PIN}"))
                    .arg("-in")
                    .arg(&app.key)
                    .arg("-out")
                    .arg(&enc)
                    .output()
                    .expect("running openssl pkcs8");
                assert!(
                    out.status.success(),
                    "openssl pkcs8: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                format!("key = {:?}\n", enc.display().to_string())
            }
        };
        let conf = dir.path().join("pkcs11.toml");
        let text = format!(
            "server = {:?}\nca = {:?}\n\n[[slot]]\ncert = {:?}\n{key_line}",
            daemon.addr().to_string(),
            daemon.report().ca_cert.display().to_string(),
            app.cert.display().to_string(),
        );
        std::fs::write(&conf, text).expect("writing pkcs11.toml");
        Self {
            daemon,
            conf,
            _dir: dir,
        }
    }

    /// The daemon.
    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// The library's configuration file.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The State of the one object named `name` in the vault, destroyed ones
    /// included (what the library left behind), as identity `app` sees it.
    ///
    /// # Panics
    /// If not exactly one object has that name, or an exchange fails.
    pub fn state_of(&self, name: &str) -> Option<kmip::types::State> {
        use kmip::messages::ResponsePayload;
        let v = kmip::version::ProtocolVersion::V2_1;
        let mut k = self.daemon.connect("app");
        let found = k.send(
            v,
            &format!(
                r#"<BatchItem><Operation type="Enumeration" value="Locate"/><RequestPayload><StorageStatusMask type="Integer" value="5"/><Attributes><Name><NameValue type="TextString" value="{name}"/><NameType type="Enumeration" value="UninterpretedTextString"/></Name></Attributes></RequestPayload></BatchItem>"#
            ),
        );
        let ResponsePayload::Locate(l) = found.ok(0) else {
            panic!("not a Locate answer");
        };
        assert_eq!(l.unique_identifiers.len(), 1, "objects named {name}: {l:?}");
        let a = k.send(
            v,
            &format!(
                r#"<BatchItem><Operation type="Enumeration" value="GetAttributes"/><RequestPayload><UniqueIdentifier type="TextString" value="{}"/><AttributeReference type="Enumeration" value="State"/></RequestPayload></BatchItem>"#,
                l.unique_identifiers[0]
            ),
        );
        let ResponsePayload::GetAttributes(a) = a.ok(0) else {
            panic!("not a Get Attributes answer");
        };
        a.attributes.state()
    }

    /// Environment for a process that loads the library.
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![("KEYGATE_PKCS11_CONF", self.conf.clone())]
    }
}
