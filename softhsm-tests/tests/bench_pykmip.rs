//! `keygate bench` (its library runner, `keygate::bench::run`, which the CLI wraps)
//! against PyKMIP's own server: `pykmip-server` from the project venv, TLS 1.2 with
//! ECDSA P-256 certificates and client authentication, an SQLite database in a
//! temporary directory, on a free port of 127.0.0.1.
//!
//! Short runs at KMIP 1.2 on 2 connections for each operation PyKMIP's server
//! supports; each must complete with zero errors and report every field (ops,
//! errors, elapsed, ops/s, latency p50/p90/p99/max/mean), in the report and in its
//! text form. No timing assertions. The same checks against Keygate's daemon live
//! in `gateway/tests/bench_cli.rs`.
//!
//! The venv comes from `./test.sh`; if it is missing the test fails and says so.

use keygate::bench::{self, BenchConfig, BenchOp, BenchReport, Limit};
use kmip::version::ProtocolVersion;
use softhsm_tests::pykmip_server::PykmipServer;

const CONNECTIONS: usize = 2;

fn run(server: &PykmipServer, op: BenchOp, requests: u64, payload: usize) -> BenchReport {
    let mut cfg = BenchConfig::new(
        server.client_config(),
        op,
        CONNECTIONS,
        Limit::Requests(requests),
    );
    cfg.payload = payload;
    cfg.version = ProtocolVersion::new(1, 2);
    let report = bench::run(&cfg).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\npykmip-server log:\n{}",
            op.name(),
            server.log_text()
        )
    });
    let name = op.name();
    let context = || {
        format!(
            "{name}: {report:?}\npykmip-server log:\n{}",
            server.log_text()
        )
    };
    assert_eq!(report.errors, 0, "{}", context());
    assert!(report.error_samples.is_empty(), "{}", context());
    assert_eq!(report.ops, requests, "{}", context());
    let l = &report.latency;
    assert_eq!(u64::try_from(l.count).ok(), Some(requests), "{}", context());
    assert!(report.elapsed.as_secs_f64() > 0.0, "{}", context());
    assert!(report.ops_per_sec > 0.0, "{}", context());
    assert!(
        0 < l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max,
        "{}",
        context()
    );
    assert!(l.mean > 0.0, "{}", context());

    // The text the CLI prints (`keygate bench` without --json).
    let text = report.to_string();
    for field in [
        format!("ops: {requests}"),
        "errors: 0".to_owned(),
        "elapsed: ".to_owned(),
        "ops/s: ".to_owned(),
        format!("p50 {}", l.p50),
        format!("p90 {}", l.p90),
        format!("p99 {}", l.p99),
        format!("max {}", l.max),
        "mean ".to_owned(),
    ] {
        assert!(
            text.contains(&field),
            "{name}: {field:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains("error x"), "{name}: {text}");
    report
}

#[test]
fn bench_runs_against_pykmip_server_without_errors() {
    let server = PykmipServer::start("bench-pykmip");
    run(&server, BenchOp::Get, 50, 64);
    run(&server, BenchOp::Create, 20, 64);
    run(&server, BenchOp::Register, 20, 64);
    run(&server, BenchOp::Locate, 20, 64);
    run(&server, BenchOp::Encrypt, 20, 64);
}
