//! `keygate bench` end to end: the built binary against a real daemon (init in a
//! temporary directory, started on 127.0.0.1:0), every operation, JSON output.
//! No timing assertions: only that the run completes, counts right and reports
//! every field.

mod common;

use common::{Daemon, Prepared};
use serde_json::Value;
use std::process::{Command, Output};

fn bench(d: &Daemon, identity: &str, args: &[&str]) -> Output {
    let dir = d.path("clients").join(identity);
    Command::new(env!("CARGO_BIN_EXE_keygate"))
        .arg("bench")
        .arg("--server")
        .arg(d.addr.to_string())
        .arg("--ca")
        .arg(d.path("ca.pem"))
        .arg("--cert")
        .arg(dir.join("cert.pem"))
        .arg("--key")
        .arg(dir.join("key.pem"))
        .arg("--json")
        .args(args)
        .output()
        .expect("run keygate bench")
}

fn report(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing or not an integer in {v}"))
}

/// Runs `op` with `extra` arguments for `requests` operations on 2 connections and
/// checks the report.
fn check_op(d: &Daemon, op: &str, requests: u64, extra: &[&str]) -> Value {
    let n = requests.to_string();
    let mut args = vec!["--op", op, "--connections", "2", "--requests", &n];
    args.extend_from_slice(extra);
    let out = bench(d, "app", &args);
    let r = report(&out);
    assert!(
        out.status.success(),
        "{op}: exit {:?}, report {r}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(r["op"], op);
    assert_eq!(u(&r, "ops"), requests, "{op}: {r}");
    assert_eq!(u(&r, "ok"), requests, "{op}: {r}");
    assert_eq!(u(&r, "errors"), 0, "{op}: {r}");
    assert_eq!(u(&r, "connections"), 2);
    assert!(r["error_samples"].as_array().is_some_and(|a| a.is_empty()));
    assert!(r["kmip_version"].is_string());
    assert!(r["elapsed_secs"].as_f64().is_some_and(|x| x > 0.0), "{r}");
    assert!(r["ops_per_sec"].as_f64().is_some_and(|x| x > 0.0), "{r}");
    let l = &r["latency_us"];
    let (p50, p90, p99, max) = (u(l, "p50"), u(l, "p90"), u(l, "p99"), u(l, "max"));
    assert!(p50 <= p90 && p90 <= p99 && p99 <= max, "{op}: {l}");
    assert!(max > 0, "{op}: {l}");
    assert!(l["mean"].as_f64().is_some(), "{op}: {l}");
    r
}

#[test]
fn every_operation_completes_without_errors() {
    let d = Daemon::start("bench");
    check_op(&d, "get", 200, &[]);
    check_op(&d, "create", 40, &[]);
    check_op(&d, "register", 40, &[]);
    check_op(&d, "locate", 40, &[]);
    check_op(&d, "encrypt", 40, &["--payload", "64"]);
    let r = check_op(&d, "sign", 20, &["--alg", "ec"]);
    assert_eq!(r["alg"], "ec");
    check_op(&d, "sign", 10, &["--alg", "rsa", "--kmip-version", "2.1"]);
    check_op(&d, "mac", 40, &["--kmip-version", "1.2"]);
    // One client TLS configuration for the run: the daemon resumes the sessions
    // after the first full handshakes; --fresh-tls makes every one full.
    let r = check_op(&d, "connect", 10, &[]);
    assert!(u(&r, "resumed") > 0, "{r}");
    let r = check_op(&d, "connect", 10, &["--fresh-tls"]);
    assert_eq!(u(&r, "resumed"), 0, "{r}");
}

#[test]
fn idle_connections_are_held_and_server_memory_read() {
    let d = Daemon::start("bench-idle");
    let pid = std::process::id().to_string();
    let out = bench(
        &d,
        "app",
        &[
            "--op",
            "idle",
            "--connections",
            "40",
            "--duration",
            "200ms",
            "--server-pid",
            &pid,
        ],
    );
    let r = report(&out);
    assert!(out.status.success(), "{r}");
    assert_eq!(r["op"], "idle");
    assert_eq!(u(&r, "ops"), 40, "{r}");
    assert_eq!(u(&r, "ok"), 40, "{r}");
    assert_eq!(u(&r, "errors"), 0, "{r}");
    // The daemon of this fixture runs in this test process.
    assert!(u(&r, "server_rss_kib") > 0, "{r}");
    assert!(u(&r, "server_rss_before_kib") > 0, "{r}");
    let text = bench(
        &d,
        "app",
        &["--op", "idle", "--connections", "3", "--requests", "3"],
    );
    assert_eq!(text.status.code(), Some(1), "idle takes --duration only");
    assert!(String::from_utf8_lossy(&text.stderr).contains("--duration"));
}

#[test]
fn duration_mode_reports_fields() {
    let d = Daemon::start("bench-duration");
    let out = bench(
        &d,
        "app",
        &["--op", "get", "--connections", "2", "--duration", "300ms"],
    );
    let r = report(&out);
    assert!(out.status.success(), "{r}");
    assert_eq!(u(&r, "errors"), 0);
    assert!(u(&r, "ops") > 0);
    assert!(r["duration_secs"].as_f64().is_some());
}

#[test]
fn failing_operation_reports_errors_and_exit_status_1() {
    let d = Prepared::new("bench-ro")
        .client("ro", "default", "read-only")
        .start();
    let out = bench(
        &d,
        "ro",
        &["--op", "create", "--connections", "2", "--requests", "10"],
    );
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r}");
    assert_eq!(u(&r, "ops"), 10, "{r}");
    assert_eq!(u(&r, "errors"), 10, "{r}");
    assert_eq!(u(&r, "ok"), 0, "{r}");
    let samples = r["error_samples"].as_array().expect("error_samples");
    assert!(!samples.is_empty(), "{r}");
    assert!(
        samples[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Create:")),
        "{r}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("10 of 10 operations failed"), "{stderr}");
}

#[test]
fn refused_preparation_is_reported() {
    let d = Prepared::new("bench-ro-prep")
        .client("ro", "default", "read-only")
        .start();
    let out = bench(&d, "ro", &["--op", "encrypt", "--requests", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("preparation failed: Create"), "{stderr}");
}
