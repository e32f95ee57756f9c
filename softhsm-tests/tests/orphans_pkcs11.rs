//! Crash orphans (issue 4): "no reply before both the token and the store hold the
//! object; a crash between the two leaves an orphan that start-up finds and reports
//! or cleans".
//!
//! A resident daemon makes a key (token object + store row) and stops. Then token
//! objects with Keygate's label scheme are written straight into the token through
//! `cryptoki`, with no store row, as a crash after the token write and before the
//! store commit would leave them: one for a UID the store never saw, and one with the
//! label of the live key but another `CKA_ID` (a retried creation that had in fact
//! succeeded). At the next start the daemon reports both in `RunningDaemon::orphans`
//! and leaves them; with `KEYGATE_CLEAN_ORPHANS=1` it destroys them. The live key's
//! object is never touched and keeps working.

use std::net::SocketAddr;
use std::path::PathBuf;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use keygate::backend::pkcs11::Pkcs11Backend;
use keygate::config::{PinSource, Placement};
use keygate::daemon::{RunningDaemon, CLEAN_ORPHANS_ENV};
use keygate::setup::{InitOptions, InitReport, Pkcs11Init};
use kmip::messages::payloads::ResponsePayload;
use kmip::version::ProtocolVersion;
use softhsm_tests::kmip_client::{self as k, Kmip};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use softhsm_tests::TempDir;

const TOKENS: &[&str] = &["kg-orphans"];
const V: ProtocolVersion = ProtocolVersion::V2_1;
const VAULT: &str = "default";

fn aad(vault: &str, uid: &str) -> Vec<u8> {
    let mut v = vault.as_bytes().to_vec();
    v.push(0);
    v.extend_from_slice(uid.as_bytes());
    v
}

fn session(label: &str) -> Session {
    SoftHsm::shared(TOKENS);
    let ctx = Pkcs11::new(softhsm::module()).expect("loading SoftHSM");
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == label))
        .unwrap_or_else(|| panic!("no token {label}"));
    let session = ctx.open_rw_session(slot).expect("session");
    match session.login(UserType::User, Some(&AuthPin::from(USER_PIN))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    session
}

/// A token AES key as the backend makes one for (vault, uid), with `id`: what a crash
/// after `C_GenerateKey` and before the store commit leaves.
fn plant(session: &Session, label: Vec<u8>, id: [u8; 16]) {
    session
        .create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Value(vec![7; 32]),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label),
        ])
        .expect("C_CreateObject");
}

fn count(session: &Session, label: &[u8]) -> usize {
    session
        .find_objects(&[Attribute::Token(true), Attribute::Label(label.to_vec())])
        .expect("C_FindObjects")
        .len()
}

struct Deployment {
    rt: tokio::runtime::Runtime,
    report: InitReport,
    _dir: TempDir,
    _pin: TempDir,
}

impl Deployment {
    fn new(token: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        SoftHsm::shared(TOKENS);
        let pin = TempDir::new("orphan-pin");
        std::fs::create_dir_all(pin.path()).expect("pin dir");
        let pin_path: PathBuf = pin.path().join("hsm.pin");
        std::fs::write(&pin_path, format!("{USER_PIN}\n")).expect("pin");
        std::fs::set_permissions(&pin_path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let dir = TempDir::new("orphans");
        let opts = InitOptions {
            pkcs11: Some(Pkcs11Init {
                module: softhsm::module(),
                token_label: token.to_owned(),
                pin: PinSource::File(pin_path),
                placement: Placement::Resident,
            }),
            ..InitOptions::default()
        };
        let report = keygate::setup::init(dir.path(), &opts).expect("keygate init");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        Deployment {
            rt,
            report,
            _dir: dir,
            _pin: pin,
        }
    }

    fn start(&self) -> RunningDaemon {
        let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        self.rt
            .block_on(keygate::daemon::start(&self.report.config, Some(listen)))
            .expect("daemon starts")
    }

    fn stop(&self, d: RunningDaemon) {
        self.rt.block_on(d.stop()).expect("clean stop");
    }

    fn connect(&self, d: &RunningDaemon) -> Kmip {
        let c = self
            .report
            .clients
            .iter()
            .find(|c| c.name == "admin")
            .expect("admin");
        Kmip::connect(d.addr, &self.report.ca_cert, &c.cert, &c.key)
    }
}

/// Encrypts with `uid` (AES-GCM), proving its token object is there and usable.
fn encrypts(c: &mut Kmip, uid: &str) {
    let r = c.send(V, &k::encrypt_gcm(uid, b"still here", b""));
    assert!(
        matches!(r.ok(0), ResponsePayload::Encrypt(_)),
        "{:?}",
        r.ok(0)
    );
}

#[test]
fn start_up_reports_orphans_and_cleans_them_only_when_asked() {
    let token = TOKENS[0];
    let dep = Deployment::new(token);
    let inspect = session(token);

    // A live key: token object and store row.
    let d = dep.start();
    assert!(d.orphans.is_empty(), "fresh token: {:?}", d.orphans);
    let mut c = dep.connect(&d);
    let live = c.send(V, &k::create_aes(256, "")).uid(0);
    c.send(V, &k::by_uid("Activate", &live)).uid(0);
    encrypts(&mut c, &live);
    drop(c);
    dep.stop(d);
    let live_label = Pkcs11Backend::object_label(&aad(VAULT, &live));
    assert_eq!(count(&inspect, &live_label), 1);

    // The crash: token objects written, store commit never made.
    let lost_label = Pkcs11Backend::object_label(&aad(VAULT, "never-committed-uid"));
    plant(&inspect, lost_label.clone(), [0xA1; 16]);
    plant(&inspect, live_label.clone(), [0xB2; 16]);
    assert_eq!(count(&inspect, &lost_label), 1);
    assert_eq!(count(&inspect, &live_label), 2);

    // Report only.
    std::env::remove_var(CLEAN_ORPHANS_ENV);
    let d = dep.start();
    let mut found: Vec<(String, String, bool)> = d
        .orphans
        .iter()
        .map(|o| (o.label.clone(), o.id.clone(), o.destroyed))
        .collect();
    found.sort();
    let text = |l: &[u8]| String::from_utf8(l.to_vec()).expect("ASCII label");
    let mut expected = vec![
        (text(&lost_label), hex(&[0xA1; 16]), false),
        (text(&live_label), hex(&[0xB2; 16]), false),
    ];
    expected.sort();
    assert_eq!(found, expected, "{:?}", d.orphans);
    assert!(d.orphans.iter().all(|o| o.backend == "hsm"
        && o.class.contains("SECRET")
        && o.label.starts_with("keygate:")));
    assert_eq!(count(&inspect, &lost_label), 1, "report-only leaves it");
    assert_eq!(count(&inspect, &live_label), 2);
    let mut c = dep.connect(&d);
    encrypts(&mut c, &live);
    drop(c);
    dep.stop(d);

    // Opted in: destroyed, the live key untouched.
    std::env::set_var(CLEAN_ORPHANS_ENV, "1");
    let d = dep.start();
    std::env::remove_var(CLEAN_ORPHANS_ENV);
    assert_eq!(d.orphans.len(), 2, "{:?}", d.orphans);
    assert!(d.orphans.iter().all(|o| o.destroyed), "{:?}", d.orphans);
    assert_eq!(count(&inspect, &lost_label), 0);
    assert_eq!(count(&inspect, &live_label), 1);
    let mut c = dep.connect(&d);
    encrypts(&mut c, &live);
    drop(c);
    dep.stop(d);

    // Nothing left to report.
    let d = dep.start();
    assert!(d.orphans.is_empty(), "{:?}", d.orphans);
    dep.stop(d);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
