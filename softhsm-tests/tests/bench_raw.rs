//! `keygate bench` on SoftHSM2, the way `bench/compare.sh` runs it: the raw PKCS#11
//! baseline (`keygate::bench::raw::run`, the same operations straight through cryptoki)
//! and the KMIP loads against a daemon whose vault lives on a token (resident
//! placement), both on the same token.
//!
//! Short runs on 2 threads/connections; each must complete with zero errors and
//! report every field. No timing assertions. The raw `create` leaves no key behind
//! and does not touch the daemon's keys on the same token (checked with cryptoki).

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use keygate::bench::raw::{self, RawConfig, RAW_LABEL};
use keygate::bench::{self, BenchConfig, BenchOp, BenchReport, Limit, SignAlg};
use keygate::config::{PinSource, Placement};
use keygate::setup::{InitOptions, Pkcs11Init};
use kmip::client::{ClientConfig, PemSource};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use softhsm_tests::Daemon;
use zeroize::Zeroizing;

const TOKEN: &str = "kg-bench-raw";
const PIN_ENV: &str = "KEYGATE_TEST_BENCH_RAW_PIN";

fn check(what: &str, r: &BenchReport, requests: u64) {
    assert_eq!(r.errors, 0, "{what}: {r:?}");
    assert!(r.error_samples.is_empty(), "{what}: {r:?}");
    assert_eq!(r.ops, requests, "{what}: {r:?}");
    assert_eq!(
        u64::try_from(r.latency.count).ok(),
        Some(requests),
        "{what}"
    );
    assert!(r.ops_per_sec > 0.0, "{what}: {r:?}");
    let l = &r.latency;
    assert!(
        0 < l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max,
        "{what}: {l:?}"
    );
    let text = r.to_string();
    for field in [
        format!("ops: {requests}"),
        "errors: 0".to_owned(),
        "ops/s: ".to_owned(),
        format!("p99 {}", l.p99),
    ] {
        assert!(text.contains(&field), "{what}: {field:?} not in {text}");
    }
}

fn raw_run(op: BenchOp, requests: u64) -> BenchReport {
    let cfg = RawConfig {
        module: softhsm::module(),
        token_label: TOKEN.to_owned(),
        pin: Zeroizing::new(USER_PIN.to_owned()),
        op,
        threads: 2,
        limit: Limit::Requests(requests),
        payload: 64,
        alg: SignAlg::Rsa,
        progress: false,
    };
    raw::run(&cfg).unwrap_or_else(|e| panic!("raw {}: {e}", op.name()))
}

/// Token objects with the raw baseline's label, and secret keys in all.
fn count_objects() -> (usize, usize) {
    let ctx = Pkcs11::new(softhsm::module()).expect("load SoftHSM2");
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .or_else(|e| match e {
            CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _) => Ok(()),
            e => Err(e),
        })
        .expect("C_Initialize");
    let slot = ctx
        .get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|i| i.label() == TOKEN))
        .expect("the token");
    let s = ctx.open_ro_session(slot).expect("session");
    match s.login(UserType::User, Some(&AuthPin::from(USER_PIN))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    let labelled = s
        .find_objects(&[Attribute::Label(RAW_LABEL.as_bytes().to_vec())])
        .expect("find")
        .len();
    let secret = s
        .find_objects(&[
            Attribute::Token(true),
            Attribute::Class(ObjectClass::SECRET_KEY),
        ])
        .expect("find")
        .len();
    (labelled, secret)
}

#[test]
fn raw_baseline_and_daemon_on_the_same_token() {
    SoftHsm::shared(&[TOKEN]);
    std::env::set_var(PIN_ENV, USER_PIN);
    let d = Daemon::start_with(
        "bench-raw",
        &InitOptions {
            pkcs11: Some(Pkcs11Init {
                module: softhsm::module(),
                token_label: TOKEN.to_owned(),
                pin: PinSource::Env(PIN_ENV.to_owned()),
                placement: Placement::Resident,
            }),
            ..InitOptions::default()
        },
    );
    let app = d.client("app");
    let client = ClientConfig::new(
        d.addr().to_string(),
        PemSource::path(&d.report().ca_cert),
        PemSource::path(&app.cert),
        PemSource::path(&app.key),
    );

    // KMIP through the daemon: sign (RSA-2048 key pair made in the token) and create.
    for (op, requests) in [(BenchOp::Sign, 20), (BenchOp::Create, 10)] {
        let cfg = BenchConfig::new(client.clone(), op, 2, Limit::Requests(requests));
        let r = bench::run(&cfg).unwrap_or_else(|e| panic!("{}: {e}", op.name()));
        check(op.name(), &r, requests);
    }
    let (_, daemon_keys) = count_objects();
    assert!(daemon_keys >= 10, "the daemon's Create made token keys");

    // The same operations straight on the token.
    check("raw sign", &raw_run(BenchOp::Sign, 20), 20);
    check("raw encrypt", &raw_run(BenchOp::Encrypt, 20), 20);
    check("raw create", &raw_run(BenchOp::Create, 12), 12);
    // Its token keys are gone again; the daemon's are untouched.
    assert_eq!(count_objects(), (0, daemon_keys));

    // A KMIP-only operation is refused before anything runs.
    let cfg = RawConfig {
        op: BenchOp::Get,
        ..RawConfig {
            module: softhsm::module(),
            token_label: TOKEN.to_owned(),
            pin: Zeroizing::new(USER_PIN.to_owned()),
            op: BenchOp::Sign,
            threads: 1,
            limit: Limit::Requests(1),
            payload: 64,
            alg: SignAlg::Rsa,
            progress: false,
        }
    };
    let err = raw::run(&cfg).expect_err("get is not a raw operation");
    assert!(err.to_string().contains("sign, encrypt or create"), "{err}");
}
