//! OASIS conformance replay on the PKCS#11 backend (issue 4): the vectors that
//! `gateway/tests/conformance.rs` replays against the software backend (profiles BL,
//! SKLC, SKFF, OMOS, QS, AX, AKLC, CS-BC, CS-AC and CS-RNG, every v1.4 and v2.1
//! file), replayed against a real daemon whose `default` vault is on a SoftHSM
//! token, once with placement `resident` and once `wrapped`.
//!
//! Every file gets a fresh deployment (data directory, store, mTLS material) *and a
//! fresh token*: SoftHSM sees only the tokens that exist at `C_Initialize`, so the
//! binary makes one token per file and placement up front ([`SoftHsm::shared`],
//! ~12 ms each), before anything loads the module. Files run on a few threads.
//!
//! A file fails on pkcs11 either for the reason it fails on the software backend
//! ([`SOFTWARE_EXCLUDED`], reasons in `gateway/tests/conformance.rs` and
//! CONFORMANCE.md) or for one of its own, listed per placement in
//! [`RESIDENT_EXCLUDED`] / [`WRAPPED_EXCLUDED`] with the `CK_RV` seen (mirrored in
//! CONFORMANCE.md, section "PKCS#11 backend (SoftHSM 2.6.1)"). The test fails when an
//! excluded file starts passing, so the lists cannot drift.
//!
//! `KEYGATE_CONFORMANCE_ONLY=SKFF-M-9 cargo test -p softhsm-tests --test
//! conformance_pkcs11 -- --nocapture` narrows the run and prints each failure.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use keygate::config::{PinSource, Placement};
use keygate::replay::{replay_file, Outcome};
use keygate::setup::{InitOptions, Pkcs11Init};
use kmip::client::{ClientConfig, PemSource};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use softhsm_tests::{Daemon, TempDir};

/// Profiles the gateway and HSM issues cover.
const PROFILES: &[&str] = &[
    "BL", "SKLC", "SKFF", "OMOS", "QS", "AX", "AKLC", "CS-BC", "CS-AC", "CS-RNG",
];

/// Files that fail on the software backend too, for a reason that is not the
/// backend's (the reasons: `gateway/tests/conformance.rs`, CONFORMANCE.md).
const SOFTWARE_EXCLUDED: &[&str] = &[
    "OMOS-O-1-14",
    "CS-BC-M-2-14",
    "CS-BC-M-2-21",
    "CS-BC-M-GCM-3-14",
    "CS-BC-M-GCM-3-21",
    "CS-BC-M-CHACHA20-1-21",
    "CS-BC-M-CHACHA20-2-21",
    "CS-BC-M-CHACHA20-3-21",
    "CS-BC-M-CHACHA20POLY1305-1-21",
    "CS-AC-M-1-14",
    "CS-AC-M-1-21",
    "CS-AC-M-OAEP-7-14",
    "CS-AC-M-OAEP-7-21",
    "CS-AC-M-OAEP-8-14",
    "CS-AC-M-OAEP-8-21",
    "CS-AC-M-OAEP-9-14",
    "CS-AC-M-OAEP-9-21",
    "CS-AC-M-OAEP-10-14",
    "CS-AC-M-OAEP-10-21",
    "CS-RNG-O-1-14",
    "CS-RNG-O-1-21",
    "CS-RNG-O-2-14",
    "CS-RNG-O-2-21",
    "CS-RNG-O-4-14",
    "CS-RNG-O-4-21",
];

/// Get of a resident key (Not Extractable): by design.
const NOT_EXTRACTABLE: &str = "Get of key material: in resident placement a key is a token \
     object with CKA_EXTRACTABLE false and CKA_SENSITIVE true unless the request asks for an \
     extractable key (the vault's extractable default is false), so Get answers Not \
     Extractable ('the object is not extractable') - by design; refused by Keygate from the \
     object's attributes, no PKCS#11 call (no CK_RV)";

/// RSA-OAEP with a hash other than SHA-1.
const OAEP_SHA2: &str = "RSA-OAEP with SHA-256/384/512 (registered RSA keys): SoftHSM 2.6.1 \
     does OAEP with SHA-1 only; C_EncryptInit / C_DecryptInit answer CKR_ARGUMENTS_BAD (0x7) for \
     CKM_RSA_PKCS_OAEP with another hash, so the Encrypt or Decrypt fails with an error \
     naming the mechanism and the CK_RV (SoftHSM limit)";

/// HMAC with a registered AES key.
const HMAC_WITH_AES_KEY: &str = "HMAC-SHA256 with a registered AES-128 key: the software \
     backend uses an AES key's bytes as the HMAC key, the PKCS#11 backend keeps the key as a \
     CKK_AES token object and refuses to MAC with it (Invalid Field, 'the request names \
     Hmac(128), the key reference holds a Secret Aes key') before any token call (no CK_RV; \
     SoftHSM 2.6.1 would answer C_SignInit with CKR_KEY_TYPE_INCONSISTENT for CKM_SHA256_HMAC \
     on a CKK_AES key)";

/// Digest of a key the server cannot read.
const NO_DIGEST: &str = "GetAttributes expects a Digest (SHA-256 of the key material) of a \
     key generated in the token; the server cannot read that material (a resident key is \
     CKA_SENSITIVE and not CKA_EXTRACTABLE unless asked, and these keys are not asked \
     extractable), so the key has no Digest, as KMIP 1.4 section 3.17 allows; no CK_RV";

/// Protection Storage Mask on an HSM vault.
const NO_PROTECTION_STORAGE_MASK: &str = "GetAttributes expects Protection Storage Mask = \
     Software (the reference server's keystore); a key of a PKCS#11 vault is protected by \
     the token and truthfully answers Hardware; no CK_RV";

/// Files that pass on the software backend and fail with resident placement, and
/// why (keep in sync with CONFORMANCE.md).
const RESIDENT_EXCLUDED: &[(&str, &str)] = &[
    ("AKLC-M-1-14", NO_DIGEST),
    ("AKLC-M-1-21", NO_DIGEST),
    ("AKLC-M-2-14", NO_DIGEST),
    ("AKLC-M-2-21", NO_DIGEST),
    ("AKLC-M-3-14", NO_DIGEST),
    ("AKLC-M-3-21", NO_DIGEST),
    ("AKLC-O-1-14", NO_DIGEST),
    ("AKLC-O-1-21", NO_DIGEST),
    ("AX-M-1-14", NOT_EXTRACTABLE),
    ("AX-M-1-21", NOT_EXTRACTABLE),
    ("AX-M-2-14", NOT_EXTRACTABLE),
    ("AX-M-2-21", NOT_EXTRACTABLE),
    ("BL-M-1-21", NOT_EXTRACTABLE),
    ("BL-M-3-21", NOT_EXTRACTABLE),
    ("BL-M-4-21", NOT_EXTRACTABLE),
    ("BL-M-13-21", NOT_EXTRACTABLE),
    ("CS-AC-M-4-14", HMAC_WITH_AES_KEY),
    ("CS-AC-M-4-21", HMAC_WITH_AES_KEY),
    ("CS-AC-M-5-14", HMAC_WITH_AES_KEY),
    ("CS-AC-M-5-21", HMAC_WITH_AES_KEY),
    ("CS-AC-M-6-14", HMAC_WITH_AES_KEY),
    ("CS-AC-M-6-21", HMAC_WITH_AES_KEY),
    ("CS-AC-M-OAEP-1-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-1-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-2-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-2-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-3-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-3-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-4-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-4-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-5-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-5-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-6-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-6-21", OAEP_SHA2),
    ("SKFF-M-5-14", NOT_EXTRACTABLE),
    ("SKFF-M-5-21", NOT_EXTRACTABLE),
    ("SKFF-M-6-14", NOT_EXTRACTABLE),
    ("SKFF-M-6-21", NOT_EXTRACTABLE),
    ("SKFF-M-7-14", NOT_EXTRACTABLE),
    ("SKFF-M-7-21", NOT_EXTRACTABLE),
    ("SKFF-M-8-14", NOT_EXTRACTABLE),
    ("SKFF-M-8-21", NOT_EXTRACTABLE),
    ("SKFF-M-9-14", NOT_EXTRACTABLE),
    ("SKFF-M-9-21", NOT_EXTRACTABLE),
    ("SKFF-M-10-14", NOT_EXTRACTABLE),
    ("SKFF-M-10-21", NOT_EXTRACTABLE),
    ("SKFF-M-11-14", NOT_EXTRACTABLE),
    ("SKFF-M-11-21", NOT_EXTRACTABLE),
    ("SKFF-M-12-14", NOT_EXTRACTABLE),
    ("SKFF-M-12-21", NOT_EXTRACTABLE),
    ("SKLC-M-1-14", NO_DIGEST),
    ("SKLC-M-1-21", NO_DIGEST),
    ("SKLC-M-2-14", NO_DIGEST),
    ("SKLC-M-2-21", NO_DIGEST),
    ("SKLC-M-3-14", NO_DIGEST),
    ("SKLC-M-3-21", NO_DIGEST),
    ("SKLC-O-1-14", NO_DIGEST),
    ("SKLC-O-1-21", NO_DIGEST),
];

/// Files that pass on the software backend and fail with wrapped placement, and why
/// (keep in sync with CONFORMANCE.md).
const WRAPPED_EXCLUDED: &[(&str, &str)] = &[
    ("AKLC-O-1-21", NO_PROTECTION_STORAGE_MASK),
    ("CS-AC-M-4-14", HMAC_WITH_AES_KEY),
    ("CS-AC-M-4-21", HMAC_WITH_AES_KEY),
    ("CS-AC-M-5-14", HMAC_WITH_AES_KEY),
    ("CS-AC-M-5-21", HMAC_WITH_AES_KEY),
    ("CS-AC-M-6-14", HMAC_WITH_AES_KEY),
    ("CS-AC-M-6-21", HMAC_WITH_AES_KEY),
    ("CS-AC-M-OAEP-1-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-1-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-2-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-2-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-3-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-3-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-4-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-4-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-5-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-5-21", OAEP_SHA2),
    ("CS-AC-M-OAEP-6-14", OAEP_SHA2),
    ("CS-AC-M-OAEP-6-21", OAEP_SHA2),
    ("SKLC-O-1-21", NO_PROTECTION_STORAGE_MASK),
];

fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("KEYGATE_OASIS_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/kmip/vectors"));
    assert!(
        dir.is_dir(),
        "OASIS vectors not found at {}: set KEYGATE_OASIS_VECTORS to the vectors folder",
        dir.display()
    );
    dir
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Every vector file of [`PROFILES`], sorted (all of them, whatever
/// `KEYGATE_CONFORMANCE_ONLY` says: the token list must not depend on the test).
fn all_files() -> &'static [PathBuf] {
    static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut out = Vec::new();
        for version in ["v1.4", "v2.1"] {
            for kind in ["mandatory", "optional"] {
                let dir = vectors_dir().join(version).join(kind);
                let Ok(rd) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in rd.flatten() {
                    let p = e.path();
                    let name = stem(&p);
                    let in_profile = PROFILES
                        .iter()
                        .any(|pr| name.strip_prefix(pr).is_some_and(|r| r.starts_with('-')));
                    if p.extension().is_some_and(|x| x == "xml") && in_profile {
                        out.push(p);
                    }
                }
            }
        }
        out.sort();
        out
    })
}

fn tag(placement: Placement) -> &'static str {
    match placement {
        Placement::Resident => "r",
        Placement::Wrapped => "w",
    }
}

/// The token of file number `i` in `placement`.
fn token_label(placement: Placement, i: usize) -> String {
    format!("kgc-{}-{i:03}", tag(placement))
}

/// The binary's SoftHSM: one token per file and placement.
fn hsm() -> &'static SoftHsm {
    static LABELS: OnceLock<Vec<String>> = OnceLock::new();
    let labels = LABELS.get_or_init(|| {
        let n = all_files().len();
        [Placement::Resident, Placement::Wrapped]
            .into_iter()
            .flat_map(|p| (0..n).map(move |i| token_label(p, i)))
            .collect()
    });
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    SoftHsm::shared(&refs)
}

/// A PIN file readable by its owner alone, shared by every deployment of the binary.
fn pin_file() -> &'static Path {
    static PIN: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &PIN.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("conf-pin");
        std::fs::create_dir_all(dir.path()).expect("pin directory");
        let path = dir.path().join("hsm.pin");
        std::fs::write(&path, format!("{USER_PIN}\n")).expect("pin file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        (dir, path)
    })
    .1
}

/// Replays `file` (number `i`) against a fresh daemon on its own token.
fn run_one(placement: Placement, i: usize, file: &Path) -> Outcome {
    let opts = InitOptions {
        pkcs11: Some(Pkcs11Init {
            module: softhsm::module(),
            token_label: token_label(placement, i),
            pin: PinSource::File(pin_file().to_path_buf()),
            placement,
        }),
        ..InitOptions::default()
    };
    let daemon = Daemon::start_with(&format!("conf-{}-{i}", tag(placement)), &opts);
    let admin = daemon.client("admin");
    let cfg = ClientConfig::new(
        daemon.addr().to_string(),
        PemSource::path(&daemon.report().ca_cert),
        PemSource::path(&admin.cert),
        PemSource::path(&admin.key),
    );
    let out = replay_file(file, &cfg);
    daemon.stop();
    out
}

/// Replays every selected file in `placement` and returns the problems found.
fn replay_all(placement: Placement, excluded: &[(&str, &str)]) -> Vec<String> {
    let started = Instant::now();
    hsm();
    let only = std::env::var("KEYGATE_CONFORMANCE_ONLY").ok();
    let files: Vec<(usize, &PathBuf)> = all_files()
        .iter()
        .enumerate()
        .filter(|(_, f)| only.as_ref().is_none_or(|o| stem(f).contains(o.as_str())))
        .collect();
    assert!(
        files.len() >= 140 || only.is_some(),
        "expected the BL/SKLC/SKFF/OMOS/QS/AX/AKLC/CS-BC/CS-AC/CS-RNG vectors, found {}",
        files.len()
    );
    let mut problems = Vec::new();
    if only.is_none() {
        for name in SOFTWARE_EXCLUDED
            .iter()
            .chain(excluded.iter().map(|(n, _)| n))
        {
            if !files.iter().any(|(_, f)| stem(f) == *name) {
                problems.push(format!(
                    "{name} is excluded but is not a vector of these profiles"
                ));
            }
            if excluded.iter().any(|(n, _)| n == name) && SOFTWARE_EXCLUDED.contains(name) {
                problems.push(format!(
                    "{name} is in SOFTWARE_EXCLUDED and in the {placement} list"
                ));
            }
        }
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(String, Outcome)>> = Mutex::new(Vec::new());
    let threads = std::env::var("KEYGATE_CONFORMANCE_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(4usize);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some((i, f)) = files.get(k) else { break };
                let out = run_one(placement, *i, f);
                results.lock().expect("results").push((stem(f), out));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut passed, mut excluded_failed) = (0, 0);
    for (name, out) in results {
        let own = excluded.iter().find(|(n, _)| *n == name);
        let software = SOFTWARE_EXCLUDED.contains(&name.as_str());
        match (out, own, software) {
            (Outcome::Pass, None, false) => passed += 1,
            (Outcome::Pass, _, _) => problems.push(format!(
                "{placement}: {name} passes now: remove it from its excluded list"
            )),
            (Outcome::Fail(why), None, false) => {
                problems.push(format!("{placement}: FAIL {name}: {why}"))
            }
            (Outcome::Fail(got), Some((_, why)), _) => {
                excluded_failed += 1;
                eprintln!("{placement}: EXCLUDED {name}: {why}\n    (seen: {got})");
            }
            (Outcome::Fail(got), None, true) => {
                excluded_failed += 1;
                eprintln!("{placement}: EXCLUDED {name} (as on software)\n    (seen: {got})");
            }
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!(
        "{placement}: {passed} passed, {excluded_failed} excluded, {} problems, in {:?}",
        problems.len(),
        started.elapsed()
    );
    problems
}

#[test]
fn oasis_profiles_replay_resident() {
    let problems = replay_all(Placement::Resident, RESIDENT_EXCLUDED);
    assert!(
        problems.is_empty(),
        "{} conformance problems (resident)",
        problems.len()
    );
}

#[test]
fn oasis_profiles_replay_wrapped() {
    let problems = replay_all(Placement::Wrapped, WRAPPED_EXCLUDED);
    assert!(
        problems.is_empty(),
        "{} conformance problems (wrapped)",
        problems.len()
    );
}
