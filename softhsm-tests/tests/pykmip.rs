//! Drives a real Keygate daemon with an outside client: PyKMIP 0.11's
//! `kmip.pie.client.ProxyKmipClient`, over mutual TLS with the `app` certificate
//! that `keygate init` issued, at KMIP 1.0, 1.1, 1.2, 1.4 and 2.0.
//!
//! Each test starts its own daemon on an ephemeral port in a fresh directory and
//! runs `python/pykmip_driver.py` once. The driver performs and checks one object
//! lifecycle (create AES-256 with a Name, activate, get twice, locate by name,
//! register 96 bytes of SecretData and get them back, get_attributes, modify the
//! Name, revoke, destroy, get fails) and prints a JSON summary; the test checks the
//! exit status and the summary, then that the audit log verifies and grew by
//! exactly one record per request, with the expected operations and results.
//!
//! The venv comes from `./test.sh`; if it is missing the tests fail and say so.

use softhsm_tests::{python, python_dir, run_with_timeout, Daemon};
use std::process::Command;
use std::time::Duration;

/// Longest one driver run may take (it normally takes well under a second).
const DRIVER_TIMEOUT: Duration = Duration::from_secs(60);

/// The requests the driver sends, in order, as the audit log names them, and
/// whether each one succeeds. One request = one batch item = one audit record.
const EXPECTED: &[(&str, bool)] = &[
    ("Create", true),
    ("Activate", true),
    ("Get", true),
    ("Get", true),
    ("Locate", true),
    ("Register", true),
    ("Get", true),
    ("GetAttributes", true),
    ("ModifyAttribute", true),
    ("GetAttributes", true),
    ("Locate", true),
    ("Locate", true),
    ("Revoke", true),
    ("GetAttributes", true),
    ("Destroy", true),
    ("Get", false), // the destroyed key
    ("Destroy", true),
    ("Get", false), // the destroyed SecretData
];

/// The driver's steps, in order (the summary lists those that passed).
const STEPS: &[&str] = &[
    "connect",
    "create",
    "activate",
    "get",
    "get_again",
    "locate_by_name",
    "register_secret_data",
    "get_secret_data",
    "get_attributes",
    "modify_attribute_name",
    "get_attributes_after_modify",
    "locate_by_new_name",
    "locate_by_old_name",
    "revoke",
    "get_attributes_after_revoke",
    "destroy",
    "get_after_destroy",
    "destroy_secret_data",
    "get_secret_after_destroy",
];

fn str_field<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("summary field {key:?} missing or not a string in {v}"))
}

/// How the driver's TLS is set up: PyKMIP takes the name of an `ssl` module
/// constant (see the driver's docstring for why these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    /// `PROTOCOL_TLS`: negotiates the highest version, TLS 1.3 with rustls.
    Negotiated,
    /// `PROTOCOL_TLSv1_2`: TLS 1.2 only, as older clients do.
    Pinned12,
}

fn run_version(version: &str) {
    run(version, Tls::Negotiated);
}

fn run(version: &str, tls_mode: Tls) {
    let py = python();
    let daemon = Daemon::start(&format!("pykmip-{}", version.replace('.', "_")));
    let app = daemon.client("app");
    let before = daemon.audit_records().len();

    let mut cmd = Command::new(&py);
    cmd.arg(python_dir().join("pykmip_driver.py"))
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
        .arg("--ssl-version")
        .arg(match tls_mode {
            Tls::Negotiated => "PROTOCOL_TLS",
            Tls::Pinned12 => "PROTOCOL_TLSv1_2",
        })
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run = run_with_timeout(cmd, DRIVER_TIMEOUT);
    assert!(
        run.status.success(),
        "PyKMIP driver at KMIP {version} failed ({}).\nIf the error is an ImportError, the venv \
         at {} lacks PyKMIP: run ./test.sh.\nstderr:\n{}\nstdout:\n{}",
        run.status,
        py.display(),
        run.stderr,
        run.stdout
    );

    // Exactly one JSON line on stdout.
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "want one summary line, got stdout:\n{}",
        run.stdout
    );
    let summary: serde_json::Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", lines[0]));
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(str_field(&summary, "kmip_version"), version);
    let tls = str_field(&summary, "tls_version");
    match tls_mode {
        Tls::Negotiated => assert_eq!(tls, "TLSv1.3", "negotiated TLS version"),
        Tls::Pinned12 => assert_eq!(tls, "TLSv1.2", "pinned TLS version"),
    }
    let steps: Vec<&str> = summary["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("steps missing: {summary}"))
        .iter()
        .map(|s| s.as_str().unwrap_or("?"))
        .collect();
    assert_eq!(steps, STEPS, "steps run");
    assert_eq!(summary["key_length"], 32, "{summary}");
    assert_eq!(summary["secret_length"], 96, "{summary}");
    assert_eq!(summary["requests"], EXPECTED.len(), "{summary}");
    let key_uid = str_field(&summary, "key_uid").to_owned();
    let secret_uid = str_field(&summary, "secret_uid").to_owned();
    assert_ne!(key_uid, secret_uid);
    // A Get of a destroyed object fails. "Object Destroyed" exists only from KMIP 2.0
    // on; a 1.x client must get a reason its version has.
    for field in ["get_after_destroy", "get_secret_after_destroy"] {
        let f = &summary[field];
        assert_eq!(f["status"], "OPERATION_FAILED", "{field}: {summary}");
        let reason = str_field(f, "reason");
        if version.starts_with("1.") {
            assert_eq!(reason, "ITEM_NOT_FOUND", "{field} at {version}");
        } else {
            assert!(
                reason == "OBJECT_DESTROYED" || reason == "ITEM_NOT_FOUND",
                "{field} at {version}: {reason}"
            );
        }
    }

    // The audit chain verifies and holds one record per request, in order.
    let records = daemon.audit_records();
    let new = &records[before..];
    let ops: Vec<(&str, bool)> = new
        .iter()
        .map(|r| {
            (
                str_field(r, "operation"),
                str_field(r, "status") == "Success",
            )
        })
        .collect();
    assert_eq!(
        ops, EXPECTED,
        "audit records added by the KMIP {version} run"
    );
    for r in new {
        assert_eq!(r["identity"], "app", "{r}");
        assert_eq!(r["vault"], "default", "{r}");
        let uids: Vec<&str> = r["uids"]
            .as_array()
            .unwrap_or_else(|| panic!("uids missing: {r}"))
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        assert!(
            uids.iter().all(|u| *u == key_uid || *u == secret_uid),
            "audit record names an object this run did not make: {r}"
        );
        if str_field(r, "status") == "Success" {
            assert!(r["reason"].is_null(), "{r}");
        } else {
            assert!(r["reason"].is_string(), "failure without reason: {r}");
        }
    }
    daemon.stop();
    eprintln!(
        "PyKMIP at KMIP {version} ({tls_mode:?}): {} requests in {:.2?} over {tls} ({})",
        EXPECTED.len(),
        run.elapsed,
        str_field(&summary, "cipher")
    );
}

#[test]
fn pykmip_kmip_1_0() {
    run_version("1.0");
}

#[test]
fn pykmip_kmip_1_1() {
    run_version("1.1");
}

#[test]
fn pykmip_kmip_1_2() {
    run_version("1.2");
}

#[test]
fn pykmip_kmip_1_4() {
    run_version("1.4");
}

#[test]
fn pykmip_kmip_2_0() {
    run_version("2.0");
}

/// The same lifecycle with the client pinned to TLS 1.2 (the daemon offers 1.2 and 1.3).
#[test]
fn pykmip_kmip_1_2_over_tls_1_2() {
    run("1.2", Tls::Pinned12);
}
