//! A token outage seen from a KMIP client (issue 4): "when the module fails (device
//! error, session closed, token removed) the request gets a KMIP error within a
//! second, and the backend recovers by itself when the token is back — no restart."
//!
//! A real daemon keeps its `default` vault on a SoftHSM token (resident placement).
//! The token is taken away the way `pkcs11_backend.rs`'s outage test does it: the
//! whole SoftHSM token directory is renamed (SoftHSM 2.6.1 keeps serving objects it
//! has loaded when only one token's own directory goes; with the token directory
//! gone its C_GetTokenInfo and C_Initialize fail with CKR_GENERAL_ERROR until it is
//! back). During the outage Encrypt and Create must fail — a KMIP Operation Failed,
//! not a hang and not a dropped connection — within a second, while operations the
//! store serves (Discover Versions, Get Attributes) keep working. Once the directory
//! is back, Encrypt works again on the same connection and on a new one, and the
//! ciphertext made before the outage still decrypts: same daemon, same key.
//!
//! This is a binary of its own: SoftHSM reads the process-wide `SOFTHSM2_CONF` once,
//! and the outage re-initialises the module for the whole process, so nothing else
//! may share it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keygate::config::{PinSource, Placement};
use keygate::setup::{InitOptions, Pkcs11Init};
use kmip::messages::payloads::ResponsePayload;
use kmip::types::{ResultReason, ResultStatus};
use kmip::version::ProtocolVersion;
use softhsm_tests::kmip_client::{self as k, Kmip, Reply};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use softhsm_tests::{Daemon, TempDir};

/// The binary's only token.
const TOKEN: &str = "kg-outage-kmip";

const V: ProtocolVersion = ProtocolVersion::V2_1;

/// The answer time the issue allows a request during an outage.
const FAIL_FAST: Duration = Duration::from_secs(1);

/// How long the daemon may take to notice the token is back.
const RECOVERY: Duration = Duration::from_secs(10);

/// How often the recovery is polled.
const POLL: Duration = Duration::from_millis(100);

const PLAIN: &[u8] = b"card 4111 1111 1111 1111, exp 12/29";
const HEADER: &[u8] = b"record 42";

fn hsm() -> &'static SoftHsm {
    SoftHsm::shared(&[TOKEN])
}

/// Prints how long the test took (run with `--nocapture` to see it).
struct Timer(&'static str, Instant);

impl Drop for Timer {
    fn drop(&mut self) {
        eprintln!("[timing] {}: {:?}", self.0, self.1.elapsed());
    }
}

/// A PIN file readable by its owner alone, in a directory of its own.
fn pin_file(pin: &str) -> (TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("pin");
    std::fs::create_dir_all(dir.path()).expect("pin directory");
    let path = dir.path().join("hsm.pin");
    std::fs::write(&path, format!("{pin}\n")).expect("pin file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    (dir, path)
}

/// The SoftHSM token directory, which [`Outage`] renames.
fn tokens_dir() -> PathBuf {
    hsm()
        .token_dir(TOKEN)
        .parent()
        .expect("the token directory")
        .to_path_buf()
}

/// The token directory renamed away; renamed back by [`Outage::end`], or on drop
/// when an assertion fails on the way (so the temp dir cleanup finds it).
struct Outage {
    dir: PathBuf,
    away: PathBuf,
    started: Instant,
    ended: bool,
}

impl Outage {
    fn begin() -> Self {
        let dir = tokens_dir();
        let away = dir.with_extension("away");
        std::fs::rename(&dir, &away).expect("taking the token away");
        Outage {
            dir,
            away,
            started: Instant::now(),
            ended: false,
        }
    }

    /// Brings the token back; returns how long it was gone.
    fn end(mut self) -> Duration {
        std::fs::rename(&self.away, &self.dir).expect("bringing the token back");
        self.ended = true;
        self.started.elapsed()
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        if !self.ended {
            let _ = std::fs::rename(&self.away, &self.dir);
        }
    }
}

/// Sends `items` and returns the answer with its round-trip time.
fn timed(c: &mut Kmip, items: &str) -> (Reply, Duration) {
    let t = Instant::now();
    let r = c.send(V, items);
    (r, t.elapsed())
}

/// A ciphertext, its nonce and its tag.
struct Sealed {
    data: Vec<u8>,
    nonce: Vec<u8>,
    tag: Vec<u8>,
}

/// The Encrypt answer of item 0, which must have succeeded.
fn sealed(r: &Reply) -> Sealed {
    let ResponsePayload::Encrypt(e) = r.ok(0) else {
        panic!("not an Encrypt answer: {:?}", r.ok(0))
    };
    Sealed {
        data: e.data.clone().expect("ciphertext"),
        nonce: e
            .iv_counter_nonce
            .clone()
            .expect("the nonce the token drew"),
        tag: e.authenticated_encryption_tag.clone().expect("GCM tag"),
    }
}

/// Item 0 failed as an HSM outage should: Operation Failed with a reason that
/// says the device failed (not, say, Item Not Found or Permission Denied).
fn outage_failure(what: &str, r: &Reply) -> (ResultReason, String) {
    let it = r.item(0);
    assert_ne!(
        it.result_status,
        ResultStatus::Success,
        "{what} succeeded with the token gone"
    );
    let (reason, msg) = r.failed(0);
    assert!(
        matches!(
            reason,
            ResultReason::CryptographicFailure | ResultReason::GeneralFailure
        ),
        "{what} during the outage failed with {reason:?}: {msg}"
    );
    (reason, msg)
}

/// Discover Versions and Get Attributes do not need the token: they work during
/// the outage.
fn store_ops_work(c: &mut Kmip, id: &str) -> Duration {
    let (r, dv) = timed(c, &k::item("DiscoverVersions", ""));
    let ResponsePayload::DiscoverVersions(v) = r.ok(0) else {
        panic!("not a Discover Versions answer: {:?}", r.ok(0))
    };
    assert!(
        v.protocol_versions.contains(&V),
        "{:?}",
        v.protocol_versions
    );
    let (r, ga) = timed(c, &k::by_uid("GetAttributes", id));
    let ResponsePayload::GetAttributes(a) = r.ok(0) else {
        panic!("not a Get Attributes answer: {:?}", r.ok(0))
    };
    assert_eq!(a.unique_identifier, id);
    assert_eq!(a.attributes.cryptographic_length(), Some(256));
    assert_eq!(a.attributes.state(), Some(kmip::types::State::Active));
    dv.max(ga)
}

#[test]
fn token_outage_fails_fast_over_kmip_and_recovers_without_restart() {
    let _t = Timer(
        "token_outage_fails_fast_over_kmip_and_recovers_without_restart",
        Instant::now(),
    );
    hsm();
    let (_pin_dir, pin) = pin_file(USER_PIN);
    let d = Daemon::start_with(
        "outage-kmip",
        &InitOptions {
            pkcs11: Some(Pkcs11Init {
                module: softhsm::module(),
                token_label: TOKEN.to_owned(),
                pin: PinSource::File(pin),
                placement: Placement::Resident,
            }),
            ..InitOptions::default()
        },
    );
    let mut c = d.connect("admin");

    // Before: a key on the token, a ciphertext made with it.
    let id = c.send(V, &k::create_aes(256, "")).uid(0);
    c.send(V, &k::by_uid("Activate", &id)).uid(0);
    let (r, before_took) = timed(&mut c, &k::encrypt_gcm(&id, PLAIN, HEADER));
    let before = sealed(&r);
    assert_eq!(before.data.len(), PLAIN.len());
    eprintln!("[outage-kmip] Encrypt before the outage: {before_took:?}");
    store_ops_work(&mut c, &id);

    // During: Encrypt and Create fail fast; the store still answers.
    let outage = Outage::begin();
    let mut worst = Duration::ZERO;
    let mut worst_store = Duration::ZERO;
    let mut first = None;
    let mut first_create = None;
    for i in 0..10 {
        let (r, took) = timed(&mut c, &k::encrypt_gcm(&id, b"during", HEADER));
        assert!(
            took < FAIL_FAST,
            "Encrypt {i} during the outage took {took:?}"
        );
        let (reason, msg) = outage_failure("Encrypt", &r);
        worst = worst.max(took);
        first.get_or_insert((reason, msg, took));

        let (r, took) = timed(&mut c, &k::create_aes(256, ""));
        assert!(
            took < FAIL_FAST,
            "Create {i} during the outage took {took:?}"
        );
        let (reason, msg) = outage_failure("Create", &r);
        worst = worst.max(took);
        first_create.get_or_insert((reason, msg, took));

        worst_store = worst_store.max(store_ops_work(&mut c, &id));
        std::thread::sleep(Duration::from_millis(50));
    }
    // A connection made during the outage is served too, and fails the same way.
    let mut during = d.connect("admin");
    let (r, took) = timed(&mut during, &k::encrypt_gcm(&id, b"during", HEADER));
    assert!(
        took < FAIL_FAST,
        "Encrypt on a new connection took {took:?}"
    );
    outage_failure("Encrypt on a new connection", &r);
    worst = worst.max(took);
    worst_store = worst_store.max(store_ops_work(&mut during, &id));
    drop(during);
    let (reason, msg, took) = first.expect("at least one failure");
    eprintln!("[outage-kmip] first Encrypt failure: {reason:?} {msg:?} in {took:?}");
    let (reason, msg, took) = first_create.expect("at least one failure");
    eprintln!("[outage-kmip] first Create failure: {reason:?} {msg:?} in {took:?}");
    eprintln!("[outage-kmip] slowest failing Encrypt/Create: {worst:?}");
    eprintln!("[outage-kmip] slowest Discover Versions/Get Attributes: {worst_store:?}");

    // After: the same daemon, without a restart, serves the key again.
    let down = outage.end();
    let back = Instant::now();
    let mut polls = 0u32;
    let after = loop {
        polls += 1;
        let (r, took) = timed(&mut c, &k::encrypt_gcm(&id, b"after", HEADER));
        assert!(took < FAIL_FAST, "Encrypt while recovering took {took:?}");
        if r.item(0).result_status == ResultStatus::Success {
            break sealed(&r);
        }
        assert!(
            back.elapsed() < RECOVERY,
            "Encrypt still fails {:?} after the token came back ({polls} polls): {:?}",
            back.elapsed(),
            r.failed(0)
        );
        std::thread::sleep(POLL);
    };
    let recovered = back.elapsed();
    eprintln!(
        "[outage-kmip] token down for {down:?}; Encrypt works again {recovered:?} after it \
         came back ({polls} polls)"
    );
    assert_eq!(after.data.len(), 5);

    // The pre-outage ciphertext decrypts, on the old connection and on a new one.
    let mut fresh = d.connect("admin");
    for conn in [&mut c, &mut fresh] {
        let r = conn.send(
            V,
            &k::decrypt_gcm(&id, &before.data, &before.nonce, HEADER, &before.tag),
        );
        let ResponsePayload::Decrypt(p) = r.ok(0) else {
            panic!("not a Decrypt answer: {:?}", r.ok(0))
        };
        assert_eq!(p.data.as_deref(), Some(PLAIN));
    }
    let r = fresh.send(
        V,
        &k::decrypt_gcm(&id, &after.data, &after.nonce, HEADER, &after.tag),
    );
    let ResponsePayload::Decrypt(p) = r.ok(0) else {
        panic!("not a Decrypt answer: {:?}", r.ok(0))
    };
    assert_eq!(p.data.as_deref(), Some(&b"after"[..]));
    // And new keys can be made on the token again.
    let id2 = fresh.send(V, &k::create_aes(256, "")).uid(0);
    assert_ne!(id2, id);
    d.stop();
}
