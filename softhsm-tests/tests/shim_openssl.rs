//! OpenSSL serves TLS with private keys that stay in the vault (issue 5): the key
//! pair is generated through `libkeygate_pkcs11.so` (pkcs11-tool), `openssl req
//! -x509` self-signs a certificate with the vault key through the libp11 engine
//! (Debian `libengine-pkcs11-openssl`, engine id `pkcs11`, module named by
//! `PKCS11_MODULE_PATH`, PIN in the URI), and `openssl s_server` uses the same key
//! while `openssl s_client` completes TLS 1.2 and 1.3 handshakes against it and
//! exchanges data (`s_server -rev` answers each line reversed).
//!
//! OpenSSL here is 3.0; the engine API still works there, so the engine is used
//! rather than pkcs11-provider. Per handshake the library signs with: TLS 1.3 and
//! default TLS 1.2 RSA, CKM_RSA_PKCS_PSS on a hash; TLS 1.2 with
//! `-sigalgs RSA+SHA256`, CKM_RSA_PKCS over a DigestInfo; EC, CKM_ECDSA on a hash.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use softhsm_tests::shim::{self, PIN};
use softhsm_tests::shim_clients::{read_file, run_ok, scratch, write_file, HsmShim};
use softhsm_tests::softhsm::SoftHsm;
use softhsm_tests::TempDir;

/// One vault token per test.
const TOKENS: &[&str] = &["kg-tls-rsa", "kg-tls-ec"];

/// The `pkcs11:` URI of the private key labelled `label`, PIN included.
fn key_uri(label: &str) -> String {
    format!("pkcs11:token=default;object={label};type=private;pin-value={PIN}")
}

/// An `openssl` command loading the library through the engine.
fn openssl(d: &HsmShim) -> Command {
    let mut cmd = Command::new("openssl");
    cmd.envs(d.shim().env())
        .env("PKCS11_MODULE_PATH", shim::library());
    cmd
}

/// The key pair `label` generated in the vault, with a certificate self-signed by
/// its private key through the engine. Returns the certificate's path.
fn vault_key_with_certificate(d: &HsmShim, dir: &Path, key_type: &str, label: &str) -> PathBuf {
    let vault_pub: PKey<Public> =
        PKey::public_key_from_der(&d.generate_pair(dir, key_type, "c1", label))
            .expect("public key DER");

    let cert = dir.join(format!("{label}.cert.pem"));
    let mut req = openssl(d);
    req.args([
        "req", "-new", "-x509", "-engine", "pkcs11", "-keyform", "engine", "-key",
    ])
    .arg(key_uri(label))
    .args(["-sha256", "-days", "2", "-subj"])
    .arg(format!("/CN={label}"))
    .arg("-out")
    .arg(&cert);
    run_ok("openssl req -x509 with the engine key", req);
    let x509 = X509::from_pem(&read_file(&cert)).expect("certificate PEM");
    assert!(
        x509.public_key()
            .expect("certificate key")
            .public_eq(&vault_pub),
        "the certificate is not for the vault's key"
    );
    assert!(
        x509.verify(&vault_pub).expect("verify"),
        "the self-signature made through the library does not verify"
    );
    cert
}

/// `openssl s_server` on a free local port with the vault key, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    log: mpsc::Receiver<String>,
}

impl Server {
    fn start(d: &HsmShim, label: &str, cert: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut cmd = openssl(d);
        cmd.args([
            "s_server", "-engine", "pkcs11", "-keyform", "engine", "-key",
        ])
        .arg(key_uri(label))
        .arg("-cert")
        .arg(cert)
        .arg("-accept")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-rev")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("starting openssl s_server");
        let (tx, log) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let server = Server { child, port, log };
        server.wait_for("ACCEPT");
        server
    }

    /// Waits for a line of the server's output containing `what`.
    fn wait_for(&self, what: &str) {
        let mut seen = Vec::new();
        loop {
            match self.log.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.contains(what) => return,
                Ok(line) => seen.push(line),
                Err(e) => panic!("s_server never printed {what:?} ({e}); it printed:\n{seen:#?}"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openssl s_client` to `server` with `args`, sending `line` then `CLOSE` (which
/// makes `-rev` close the connection); returns its output.
fn client(dir: &Path, server: &Server, cert: &Path, args: &[&str], line: &str) -> String {
    let input = write_file(dir, "client-input", format!("{line}\nCLOSE\n").as_bytes());
    // s_client reads what it sends from stdin, and run_with_timeout gives children
    // none: a shell redirects the file.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("exec openssl s_client \"$@\" < \"$0\"")
        .arg(&input)
        .arg("-connect")
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("-CAfile")
        .arg(cert)
        .args(["-verify_return_error", "-ign_eof"])
        .args(args);
    let out = run_ok(&format!("openssl s_client {args:?}"), cmd);
    out.stdout
}

fn serve_and_connect(token: &str, key_type: &str, peer_sig: &str, extra: &[(&[&str], &str)]) {
    let d = HsmShim::start(token, SoftHsm::shared(TOKENS), token);
    let dir: TempDir = scratch(token);
    let label = format!("{token}-key");
    let cert = vault_key_with_certificate(&d, dir.path(), key_type, &label);
    let server = Server::start(&d, &label, &cert);

    let mut runs: Vec<(&[&str], &str, &str)> = vec![
        (&["-tls1_2"], "TLSv1.2", peer_sig),
        (&["-tls1_3"], "TLSv1.3", peer_sig),
    ];
    runs.extend(extra.iter().map(|(a, sig)| (*a, "TLSv1.2", *sig)));
    for (i, (args, protocol, sig)) in runs.into_iter().enumerate() {
        let line = format!("hello vault key {i} over {protocol}");
        let out = client(dir.path(), &server, &cert, args, &line);
        assert!(
            out.contains("Verify return code: 0 (ok)"),
            "{args:?}: certificate not verified:\n{out}"
        );
        assert!(
            out.contains(&format!("Protocol  : {protocol}")),
            "{args:?}: not {protocol}:\n{out}"
        );
        assert!(
            out.lines()
                .any(|l| l.trim() == format!("Peer signature type: {sig}")),
            "{args:?}: the server did not sign with {sig}:\n{out}"
        );
        let reversed: String = line.chars().rev().collect();
        assert!(
            out.lines().any(|l| l == reversed),
            "{args:?}: no data came back through the TLS session:\n{out}"
        );
        server.wait_for("CONNECTION CLOSED");
    }
}

#[test]
fn tls_server_with_rsa_key_in_vault() {
    // The default TLS 1.2 handshake signs with RSA-PSS; `-sigalgs RSA+SHA256`
    // forces PKCS#1 v1.5 (CKM_RSA_PKCS over a DigestInfo).
    serve_and_connect(
        "kg-tls-rsa",
        "rsa:2048",
        "RSA-PSS",
        &[(&["-tls1_2", "-sigalgs", "RSA+SHA256"], "RSA")],
    );
}

#[test]
fn tls_server_with_ecdsa_key_in_vault() {
    serve_and_connect("kg-tls-ec", "EC:prime256v1", "ECDSA", &[]);
}
