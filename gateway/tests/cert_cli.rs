//! `keygate cert ca` and `keygate cert issue` against a running daemon: the
//! binary bootstraps the vault CA over KMIP, issues a TLS server certificate for a
//! new vault key and one for an OpenSSL-made PKCS#10 request, and OpenSSL verifies
//! both against the CA the command wrote.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};

const KEYGATE: &str = env!("CARGO_BIN_EXE_keygate");

fn keygate(d: &Daemon, args: &[&str]) -> (bool, String) {
    let out = Command::new(KEYGATE)
        .args(args)
        .args([
            "--config",
            d.config.to_str().unwrap(),
            "--vault",
            "default",
            "--server",
            &d.addr.to_string(),
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run keygate");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn cert_ca_and_issue_from_the_command_line() {
    let d = Daemon::start("cert-cli");
    let dir = d.dir.path();
    let ca = p(dir, "vault-ca.pem");
    let (ok, out) = keygate(
        &d,
        &[
            "cert",
            "ca",
            "--subject",
            "CN=CLI Vault CA,O=Keygate",
            "--out",
            &ca,
        ],
    );
    assert!(ok, "cert ca: {out}");

    // A key pair is made in the vault and certified.
    let web = p(dir, "web.pem");
    let (ok, out) = keygate(
        &d,
        &[
            "cert",
            "issue",
            "--name",
            "web",
            "--subject",
            "CN=web.example.test",
            "--san",
            "DNS:web.example.test",
            "--san",
            "IP:10.1.2.3",
            "--profile",
            "tls-server",
            "--algorithm",
            "rsa2048",
            "--out",
            &web,
        ],
    );
    assert!(ok, "cert issue: {out}");
    let (ok, out) = openssl(&["verify", "-CAfile", &ca, &web]);
    assert!(ok && out.contains(": OK"), "{out}");
    let (_, text) = openssl(&[
        "x509", "-noout", "-text", "-nameopt", "RFC2253", "-in", &web,
    ]);
    for want in [
        "Subject: CN=web.example.test",
        "Issuer: CN=CLI Vault CA,O=Keygate",
        "DNS:web.example.test, IP Address:10.1.2.3",
        "TLS Web Server Authentication",
        // An RSA subject key, signed by the EC CA key.
        "rsaEncryption",
        "ecdsa-with-SHA256",
    ] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }

    // A PKCS#10 request (PEM) from OpenSSL.
    let key = p(dir, "svc.key");
    let csr = p(dir, "svc.csr");
    let (ok, out) = openssl(&[
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-subj", "/CN=svc",
        "-out", &csr,
    ]);
    assert!(ok, "{out}");
    let svc = p(dir, "svc.pem");
    let (ok, out) = keygate(
        &d,
        &[
            "cert",
            "issue",
            "--name",
            "svc",
            "--csr",
            &csr,
            "--profile",
            "tls-client",
            "--out",
            &svc,
        ],
    );
    assert!(ok, "cert issue --csr: {out}");
    let (ok, out) = openssl(&["verify", "-CAfile", &ca, &svc]);
    assert!(ok && out.contains(": OK"), "{out}");
    let (_, text) = openssl(&[
        "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", &svc,
    ]);
    assert!(text.contains("subject=CN=svc"), "{text}");

    // An unknown profile is refused with the daemon's reason.
    let (ok, out) = keygate(
        &d,
        &[
            "cert",
            "issue",
            "--name",
            "x",
            "--subject",
            "CN=x",
            "--profile",
            "nope",
        ],
    );
    assert!(!ok && out.contains("unknown certificate profile"), "{out}");
}
