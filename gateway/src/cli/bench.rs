//! `keygate bench`: load a KMIP server with one operation on N connections and
//! print throughput and latency percentiles (text, or one JSON object); or, with
//! `--raw-pkcs11`, the same operations straight on a PKCS#11 token (the baseline).

use super::CliError;
use keygate::bench::raw::RawConfig;
use keygate::bench::{self, BenchConfig, BenchOp, BenchReport, Limit, SignAlg};
use kmip::client::{ClientConfig, PemSource};
use kmip::version::ProtocolVersion;
use std::path::PathBuf;
use std::time::Duration;

/// `keygate bench` arguments.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Server address host:port.
    #[arg(long, required_unless_present = "raw_pkcs11")]
    pub server: Option<String>,
    /// CA certificate (PEM) the server's certificate chains to.
    #[arg(long, required_unless_present = "raw_pkcs11")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM).
    #[arg(long, required_unless_present = "raw_pkcs11")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, required_unless_present = "raw_pkcs11")]
    pub key: Option<PathBuf>,
    /// Operation: get, create, register, locate, encrypt, sign, mac, connect, idle
    /// (open the connections and hold them for --duration). With --raw-pkcs11:
    /// sign, encrypt or create.
    #[arg(long, value_parser = |s: &str| s.parse::<BenchOp>())]
    pub op: BenchOp,
    /// Every connection with a new TLS configuration: no session resumption.
    #[arg(long)]
    pub fresh_tls: bool,
    /// Process id of the server, when local: its resident memory is reported.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// No KMIP: run the operation through this PKCS#11 module directly (the
    /// baseline), one session per --connections thread.
    #[arg(long, value_name = "MODULE", conflicts_with_all = ["server", "ca", "cert", "key"])]
    pub raw_pkcs11: Option<PathBuf>,
    /// Token label (with --raw-pkcs11).
    #[arg(long, value_name = "LABEL", requires = "raw_pkcs11")]
    pub token_label: Option<String>,
    /// Environment variable holding the token's user PIN (with --raw-pkcs11).
    #[arg(long, value_name = "VARIABLE", requires = "raw_pkcs11")]
    pub pin_env: Option<String>,
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
    if let Some(module) = &a.raw_pkcs11 {
        return finish(a, limit, &run_raw(a, module, limit)?, "raw-pkcs11");
    }
    let need = |v: &Option<PathBuf>, what: &str| {
        v.clone()
            .ok_or_else(|| CliError::Failed(format!("--{what} is required")))
    };
    let server = a
        .server
        .clone()
        .ok_or_else(|| CliError::Failed("--server is required".into()))?;
    let mut cfg = BenchConfig::new(
        ClientConfig::new(
            server,
            PemSource::path(need(&a.ca, "ca")?),
            PemSource::path(need(&a.cert, "cert")?),
            PemSource::path(need(&a.key, "key")?),
        ),
        a.op,
        a.connections,
        limit,
    );
    cfg.payload = a.payload;
    cfg.version = a.kmip_version;
    cfg.alg = a.alg;
    cfg.progress = !a.json;
    cfg.fresh_tls = a.fresh_tls;
    cfg.server_pid = a.server_pid;
    let report = bench::run(&cfg).map_err(|e| CliError::Failed(e.to_string()))?;
    finish(a, limit, &report, "kmip")
}

fn run_raw(a: &BenchArgs, module: &std::path::Path, limit: Limit) -> Result<BenchReport, CliError> {
    let (Some(label), Some(var)) = (&a.token_label, &a.pin_env) else {
        return Err(CliError::Failed(
            "--raw-pkcs11 needs --token-label and --pin-env".into(),
        ));
    };
    let pin = std::env::var(var)
        .map_err(|_| CliError::Failed(format!("environment variable {var} is not set")))?;
    let cfg = RawConfig {
        module: module.to_owned(),
        token_label: label.clone(),
        pin: zeroize::Zeroizing::new(pin),
        op: a.op,
        threads: a.connections,
        limit,
        payload: a.payload,
        alg: a.alg,
        progress: !a.json,
    };
    bench::raw::run(&cfg).map_err(|e| CliError::Failed(e.to_string()))
}

fn finish(a: &BenchArgs, limit: Limit, report: &BenchReport, mode: &str) -> Result<(), CliError> {
    if a.json {
        println!("{}", json(a, limit, report, mode));
    } else {
        let target = match (&a.raw_pkcs11, &a.token_label) {
            (Some(m), Some(l)) => format!("token {l:?} of {} (raw PKCS#11)", m.display()),
            _ => format!(
                "{} (KMIP {})",
                a.server.as_deref().unwrap_or("?"),
                a.kmip_version
            ),
        };
        println!(
            "{} on {} connection(s) to {target}{}",
            a.op.name(),
            a.connections,
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

fn json(a: &BenchArgs, limit: Limit, r: &BenchReport, mode: &str) -> serde_json::Value {
    let l = &r.latency;
    serde_json::json!({
        "mode": mode,
        "server": a.server,
        "token_label": a.token_label,
        "op": a.op.name(),
        "alg": if a.op == BenchOp::Sign { Some(a.alg.name()) } else { None },
        "kmip_version": a.kmip_version.to_string(),
        "connections": a.connections,
        "payload_bytes": a.payload,
        "requests": match limit { Limit::Requests(k) => Some(k), Limit::Duration(_) => None },
        "duration_secs": match limit { Limit::Duration(d) => Some(d.as_secs_f64()), Limit::Requests(_) => None },
        "elapsed_secs": r.elapsed.as_secs_f64(),
        "ops": r.ops,
        "ok": l.count,
        "errors": r.errors,
        "ops_per_sec": r.ops_per_sec,
        "resumed": r.resumed,
        "server_rss_before_kib": r.server_rss_before_kib,
        "server_rss_kib": r.server_rss_kib,
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
