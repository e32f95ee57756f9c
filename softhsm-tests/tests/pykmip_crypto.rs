//! PyKMIP's client does cryptography through the gateway on SoftHSM (issue 4):
//! `python/pykmip_crypto.py` (PyKMIP 0.11 `ProxyKmipClient`) creates RSA-2048 and
//! EC P-256 key pairs, signs and verifies, encrypts and decrypts with AES-CBC
//! (and encrypts with AES-GCM) and MACs with HMAC-SHA256, against a real daemon
//! whose `default` vault lives on a SoftHSM token, at KMIP 1.2, 1.4 and 2.0, in
//! both placements. The results are checked independently with Python's
//! `cryptography`:
//!
//! - resident: keys never leave the token, so every Get of a private or secret key
//!   must fail; signatures are verified with the public key (Get as X.509);
//! - wrapped: keys are extractable by the vault's default, so the driver also gets
//!   the secret keys and decrypts and re-MACs outside, gets the private keys and
//!   signs outside, and the gateway verifies and decrypts what `cryptography` made.
//!   Any export the gateway refuses is reported by the driver under "gaps", which
//!   must stay empty for the wrapped placement.
//!
//! Each test starts its own daemon on its own token; the audit chain must verify
//! and hold one record per request the driver sent. The venv comes from
//! `./test.sh`; without it the tests fail and say so.

use keygate::config::{PinSource, Placement};
use keygate::setup::{InitOptions, Pkcs11Init};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use softhsm_tests::{python, python_dir, run_with_timeout, Daemon, TempDir};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Longest one driver run may take (RSA key generation in SoftHSM included).
const DRIVER_TIMEOUT: Duration = Duration::from_secs(120);

/// One token per test.
const TOKENS: &[&str] = &[
    "kg-pyc-res-12",
    "kg-pyc-res-14",
    "kg-pyc-res-20",
    "kg-pyc-wrap-12",
    "kg-pyc-wrap-14",
    "kg-pyc-wrap-20",
];

/// The driver's steps, in order.
const STEPS: &[&str] = &[
    "connect",
    "create_key_pair_rsa",
    "sign_verify_rsa",
    "private_key_rsa",
    "create_key_pair_ec",
    "sign_verify_ec",
    "private_key_ec",
    "create_aes",
    "aes_cbc",
    "aes_cbc_outside",
    "aes_gcm",
    "create_hmac",
    "hmac",
    "cleanup",
];

fn pin_file() -> (TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("pyc-pin");
    std::fs::create_dir_all(dir.path()).expect("pin directory");
    let path = dir.path().join("hsm.pin");
    std::fs::write(&path, format!("{USER_PIN}\n")).expect("pin file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    (dir, path)
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or("?").to_owned())
        .collect()
}

fn run(token: &str, placement: Placement, version: &str) {
    let py = python();
    SoftHsm::shared(TOKENS);
    let (_pin_dir, pin) = pin_file();
    let opts = InitOptions {
        pkcs11: Some(Pkcs11Init {
            module: softhsm::module(),
            token_label: token.to_owned(),
            pin: PinSource::File(pin),
            placement,
        }),
        ..InitOptions::default()
    };
    let daemon = Daemon::start_with(token, &opts);
    let app = daemon.client("app");
    let before = daemon.audit_records().len();
    let placement_arg = match placement {
        Placement::Resident => "resident",
        Placement::Wrapped => "wrapped",
    };

    let mut cmd = Command::new(&py);
    cmd.arg(python_dir().join("pykmip_crypto.py"))
        .arg("--host")
        .arg("127.0.0.1")
        .arg("--port")
        .arg(daemon.addr().port().to_string())
        .arg("--ca")
        .arg(&daemon.report().ca_cert)
        .arg("--cert")
        .arg(&app.cert)
        .arg("--key")
        .arg(&app.key)
        .arg("--version")
        .arg(version)
        .arg("--placement")
        .arg(placement_arg)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run_with_timeout(cmd, DRIVER_TIMEOUT);
    assert!(
        out.status.success(),
        "PyKMIP crypto driver at KMIP {version}, {placement_arg} placement, failed ({}).\n\
         If the error is an ImportError, the venv at {} lacks PyKMIP: run ./test.sh.\n\
         stderr:\n{}\nstdout:\n{}",
        out.status,
        py.display(),
        out.stderr,
        out.stdout
    );
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "want one summary line, got:\n{}",
        out.stdout
    );
    let s: serde_json::Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", lines[0]));
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["kmip_version"], version, "{s}");
    assert_eq!(s["placement"], placement_arg, "{s}");
    assert_eq!(strings(&s["steps"]), STEPS, "steps run");
    assert_eq!(s["objects"], 6, "{s}");

    // What was checked outside the gateway.
    let independent = strings(&s["independent"]);
    let not_done = strings(&s["not_done"]);
    let refused = s["refused"].as_object().expect("refused map");
    for must in [
        "rsa signature verified with the public key",
        "ec signature verified with the public key",
    ] {
        assert!(independent.iter().any(|i| i == must), "{must}: {s}");
    }
    match placement {
        Placement::Resident => {
            // Nothing secret comes out: all four Gets refused, for the reason the
            // version has.
            for what in ["rsa private key", "ec private key", "AES key", "HMAC key"] {
                let reason = refused
                    .get(what)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_else(|| panic!("Get of the {what} not refused: {s}"));
                let want = if version == "1.2" {
                    "PERMISSION_DENIED"
                } else {
                    "NOT_EXTRACTABLE"
                };
                assert_eq!(reason, want, "{what} at {version}");
            }
            assert_eq!(independent.len(), 2, "{s}");
            assert!(
                not_done
                    .iter()
                    .any(|n| n.contains("AES-CBC ciphertext not decrypted")),
                "{s}"
            );
        }
        Placement::Wrapped => {
            assert!(refused.is_empty(), "{s}");
            for must in [
                "AES-CBC ciphertext decrypted by cryptography",
                "AES-CBC ciphertext by cryptography decrypted by the gateway",
                "AES-GCM ciphertext checked by cryptography (AES-CTR; tag not available)",
                "HMAC-SHA256 recomputed by cryptography",
            ] {
                assert!(independent.iter().any(|i| i == must), "{must}: {s}");
            }
            // The extractable private keys are exported as PKCS#8 (unwrapped from
            // their blob into a one-call extractable copy) and used outside.
            let gaps = s["gaps"].as_object().expect("gaps map");
            assert!(
                gaps.is_empty(),
                "every extractable private key exports: {s}"
            );
            for kind in ["rsa", "ec"] {
                let outside =
                    format!("{kind} signature made by cryptography verified by the gateway");
                assert!(independent.contains(&outside), "{outside}: {s}");
            }
        }
    }
    // PyKMIP cannot carry the GCM tag: recorded as not done, in both placements.
    assert!(
        not_done.iter().any(|n| n.starts_with("AES-GCM decrypt")),
        "{s}"
    );

    // The audit chain verifies, one record per request, all by `app`.
    let records = daemon.audit_records();
    let new = &records[before..];
    assert_eq!(
        Some(new.len()),
        s["requests"].as_u64().and_then(|n| usize::try_from(n).ok()),
        "audit records vs requests: {s}"
    );
    for r in new {
        assert_eq!(r["identity"], "app", "{r}");
        assert_eq!(r["vault"], "default", "{r}");
    }
    let failed: Vec<&serde_json::Value> = new.iter().filter(|r| r["status"] != "Success").collect();
    let want_failed = match placement {
        Placement::Resident => 4,
        Placement::Wrapped => 0,
    };
    assert_eq!(failed.len(), want_failed, "failed requests: {failed:?}");
    for r in failed {
        assert_eq!(r["operation"], "Get", "{r}");
    }
    daemon.stop();
    eprintln!(
        "PyKMIP crypto at KMIP {version} on SoftHSM ({placement_arg}): {} requests in {:.2?}; \
         independent checks: {independent:?}; not done: {not_done:?}",
        s["requests"], out.elapsed
    );
}

#[test]
fn pykmip_crypto_resident_kmip_1_2() {
    run("kg-pyc-res-12", Placement::Resident, "1.2");
}

#[test]
fn pykmip_crypto_resident_kmip_1_4() {
    run("kg-pyc-res-14", Placement::Resident, "1.4");
}

#[test]
fn pykmip_crypto_resident_kmip_2_0() {
    run("kg-pyc-res-20", Placement::Resident, "2.0");
}

#[test]
fn pykmip_crypto_wrapped_kmip_1_2() {
    run("kg-pyc-wrap-12", Placement::Wrapped, "1.2");
}

#[test]
fn pykmip_crypto_wrapped_kmip_1_4() {
    run("kg-pyc-wrap-14", Placement::Wrapped, "1.4");
}

#[test]
fn pykmip_crypto_wrapped_kmip_2_0() {
    run("kg-pyc-wrap-20", Placement::Wrapped, "2.0");
}
