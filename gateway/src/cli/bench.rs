//! `keygate bench`: load a KMIP server with one operation on N connections and
//! print throughput and latency percentiles (text, or one JSON object).

use super::CliError;
use keygate::bench::{self, BenchConfig, BenchOp, BenchReport, Limit, SignAlg};
use kmip::client::{ClientConfig, PemSource};
use kmip::version::ProtocolVersion;
use std::path::PathBuf;
use std::time::Duration;

/// `keygate bench` arguments.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Server address host:port.
    #[arg(long)]
    pub server: String,
    /// CA certificate (PEM) the server's certificate chains to.
    #[arg(long)]
    pub ca: PathBuf,
    /// Client certificate (PEM).
    #[arg(long)]
    pub cert: PathBuf,
    /// Client private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// Operation: get, create, register, locate, encrypt, sign, mac, connect.
    #[arg(long, value_parser = |s: &str| s.parse::<BenchOp>())]
    pub op: BenchOp,
    /// Number of connections (one thread each).
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Run for this long (10s, 500ms, 2m); the default when --requests is not given.
    #[arg(long, value_parser = bench::parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Run this many operations in total.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Data size in bytes for encrypt, sign and mac.
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// KMIP protocol version of the requests (1.2, 1.4, 2.1, ...).
    #[arg(long, default_value = "1.4", value_parser = bench::parse_version)]
    pub kmip_version: ProtocolVersion,
    /// Key type for sign: rsa (RSA-2048) or ec (ECDSA P-256).
    #[arg(long, default_value = "rsa", value_parser = |s: &str| s.parse::<SignAlg>())]
    pub alg: SignAlg,
    /// Print one JSON object (and no progress) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `keygate bench`.
pub fn run(a: &BenchArgs) -> Result<(), CliError> {
    let limit = match (a.requests, a.duration) {
        (Some(k), _) => Limit::Requests(k),
        (None, Some(d)) => Limit::Duration(d),
        (None, None) => Limit::Duration(Duration::from_secs(10)),
    };
    let cfg = BenchConfig {
        client: ClientConfig::new(
            a.server.clone(),
            PemSource::path(&a.ca),
            PemSource::path(&a.cert),
            PemSource::path(&a.key),
        ),
        op: a.op,
        connections: a.connections,
        limit,
        payload: a.payload,
        version: a.kmip_version,
        alg: a.alg,
        progress: !a.json,
    };
    let report = bench::run(&cfg).map_err(|e| CliError::Failed(e.to_string()))?;
    if a.json {
        println!("{}", json(a, &cfg, &report));
    } else {
        println!(
            "{} on {} connection(s) to {} (KMIP {}{})",
            a.op.name(),
            a.connections,
            a.server,
            a.kmip_version,
            if a.op == BenchOp::Sign {
                format!(", {}", a.alg.name())
            } else {
                String::new()
            }
        );
        println!("{report}");
    }
    if report.errors == 0 {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} of {} operations failed",
            report.errors, report.ops
        )))
    }
}

fn json(a: &BenchArgs, cfg: &BenchConfig, r: &BenchReport) -> serde_json::Value {
    let l = &r.latency;
    serde_json::json!({
        "server": a.server,
        "op": a.op.name(),
        "alg": if a.op == BenchOp::Sign { Some(a.alg.name()) } else { None },
        "kmip_version": a.kmip_version.to_string(),
        "connections": a.connections,
        "payload_bytes": a.payload,
        "requests": match cfg.limit { Limit::Requests(k) => Some(k), Limit::Duration(_) => None },
        "duration_secs": match cfg.limit { Limit::Duration(d) => Some(d.as_secs_f64()), Limit::Requests(_) => None },
        "elapsed_secs": r.elapsed.as_secs_f64(),
        "ops": r.ops,
        "ok": l.count,
        "errors": r.errors,
        "ops_per_sec": r.ops_per_sec,
        "latency_us": {
            "p50": l.p50,
            "p90": l.p90,
            "p99": l.p99,
            "max": l.max,
            "mean": l.mean,
        },
        "error_samples": r.error_samples.iter()
            .map(|(m, n)| serde_json::json!({"message": m, "count": n}))
            .collect::<Vec<_>>(),
    })
}
