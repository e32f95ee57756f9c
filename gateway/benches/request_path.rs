//! The request path without TLS or sockets: request bytes -> `Gateway::handle`
//! (decode, identify, authorise, store, backend, audit) -> response bytes, on the
//! software backend with a SQLite store in a temporary directory made by
//! `keygate init`. A regression in the codec, the handler, the store or the audit
//! log shows here without the network (BENCHMARKS.md, "Request path").
//!
//! ```text
//! cargo bench -p keygate --bench request_path -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! For instruction counts (callgrind), `KEYGATE_PROFILE=OP:N` runs OP (`get`,
//! `encrypt`, `create`) N times and exits, without criterion:
//!
//! ```text
//! KEYGATE_PROFILE=get:2000 valgrind --tool=callgrind target/release/deps/request_path-*
//! ```

use criterion::{criterion_group, Criterion, Throughput};
use keygate::audit::AuditLog;
use keygate::bench::requests;
use keygate::config::{Config, StoreConfig};
use keygate::handler::{Gateway, Policy};
use keygate::server::PeerIdentity;
use keygate::setup::InitOptions;
use keygate::store::sqlite::SqliteStore;
use keygate::store::Store;
use kmip::messages::{ResponseMessage, ResponsePayload};
use kmip::types::ResultStatus;
use kmip::version::ProtocolVersion;
use kmip::Limits;
use std::path::PathBuf;
use std::sync::Arc;

const V: ProtocolVersion = ProtocolVersion::V1_4;

/// A gateway over a fresh `keygate init` directory (removed on drop), the `app`
/// identity, and an active AES-256 key.
struct Fixture {
    gateway: Gateway,
    peer: PeerIdentity,
    uid: String,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Fixture {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("keygate-request-path-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let report = keygate::setup::init(&dir, &InitOptions::default()).expect("keygate init");
        let cfg = Config::load(&report.config).expect("config");
        let policy = Policy::from_config(&cfg).expect("policy");
        let store: Arc<dyn Store> = match &cfg.store {
            StoreConfig::Sqlite { path } => Arc::new(SqliteStore::open(path).expect("store")),
            other => panic!("keygate init made a {other:?} store"),
        };
        let backends = keygate::daemon::open_backends(&cfg).expect("backends");
        let audit = AuditLog::open(&cfg.audit.path, &cfg.audit.key_file).expect("audit log");
        let gateway = Gateway::new(
            policy,
            store,
            backends,
            audit,
            cfg.limits.ttlv(),
            cfg.limits.max_batch_items,
        );
        let peer = PeerIdentity {
            common_name: Some("app".to_owned()),
            ..PeerIdentity::default()
        };
        let mut f = Fixture {
            gateway,
            peer,
            uid: String::new(),
            dir,
        };
        f.uid = match f.call(requests::create_aes(V)) {
            ResponsePayload::Create(p) => p.unique_identifier,
            other => panic!("Create answered {other:?}"),
        };
        f.call(requests::activate(V, &f.uid));
        f
    }

    /// One request through the handler; panics unless it succeeded.
    fn call(&self, request: Vec<u8>) -> ResponsePayload {
        let bytes = self.gateway.handle_blocking(&self.peer, &request);
        let msg = ResponseMessage::decode(&bytes, &Limits::DEFAULT).expect("response decodes");
        let item = msg.batch_items.into_iter().next().expect("one batch item");
        assert_eq!(
            item.result_status,
            ResultStatus::Success,
            "{:?}",
            item.result_message
        );
        item.payload.expect("payload")
    }

    fn request(&self, op: &str) -> Vec<u8> {
        match op {
            "get" => requests::get(V, &self.uid),
            "encrypt" => requests::encrypt(V, &self.uid, &[0x5a; 64]),
            "create" => requests::create_aes(V),
            _ => panic!("unknown operation {op:?} (get, encrypt, create)"),
        }
    }
}

fn request_path(c: &mut Criterion) {
    let f = Fixture::new();
    let mut g = c.benchmark_group("request_path");
    g.throughput(Throughput::Elements(1));
    for op in ["get", "encrypt", "create"] {
        let request = f.request(op);
        g.bench_function(op, |b| {
            b.iter(|| f.gateway.handle_blocking(&f.peer, &request))
        });
    }
    g.finish();
}

criterion_group!(benches, request_path);

fn main() {
    if let Ok(spec) = std::env::var("KEYGATE_PROFILE") {
        let (op, n) = spec.split_once(':').unwrap_or((spec.as_str(), "1000"));
        let n: usize = n.parse().expect("KEYGATE_PROFILE=OP:N");
        let f = Fixture::new();
        let request = f.request(op);
        for _ in 0..n {
            std::hint::black_box(f.gateway.handle_blocking(&f.peer, &request));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
