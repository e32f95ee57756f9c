//! OpenSC's `pkcs11-tool` drives `libkeygate_pkcs11.so` against a real daemon whose
//! vault lives on a SoftHSM token (issue 5, "How it is checked"), and the same
//! commands run directly on a SoftHSM token of their own for comparison.
//!
//! What the comparison found (outcomes and the differences that matter are asserted
//! below; the flag differences of imported and EC keys are only listed here):
//! - `-M` lists the mechanisms used here with the same flags; key size ranges
//!   differ (the gateway takes RSA 2048-4096 and P-256/P-384 only).
//! - `--list-objects` shows the same objects (class, key type and size, label, ID,
//!   EC parameters) on both. It differs in flags the gateway does not keep: the
//!   library reports no `local` (CKA_LOCAL is false: the gateway does not record
//!   where a key was made), EC keys show only the usages KMIP gives them (SoftHSM
//!   echoes pkcs11-tool's encrypt/decrypt/wrap/unwrap on EC keys), AES keys show no
//!   `verify`, and imported keys show "always sensitive, never extractable" where
//!   SoftHSM shows none of that.
//! - Without a login both list the same public keys; SoftHSM also lists the AES key
//!   (pkcs11-tool --keygen sets no CKA_PRIVATE and SoftHSM defaults it to false),
//!   the library hides every secret and private key until C_Login.
//! - With the same imported AES and RSA keys, AES-CBC-PAD ciphertexts and
//!   SHA256-RSA-PKCS signatures are byte for byte the same.
//! - Raw `RSA-PKCS` signs a DigestInfo as SoftHSM does, but other data only on
//!   SoftHSM: the library answers CKR_DATA_INVALID (the gateway signs PKCS#1 v1.5
//!   from a digest and its hash). pkcs11-tool `--test` stops earlier on both, at
//!   RSA-OAEP with a label (rule 7 of PKCS11-CONSUMERS.md), so it is not run here.
//! - `ECDSA-SHA256` works through the library; SoftHSM 2.6.1 answers
//!   CKR_MECHANISM_INVALID (it only has raw CKM_ECDSA).
//! - `--test-fork` passes through the library; on SoftHSM directly the child's
//!   C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED and the test aborts.
//!   `--test-threads` passes through the library; on SoftHSM directly it races in
//!   concurrent C_Initialize (it crashed in a manual run), so it is not run there.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::symm::Cipher;
use softhsm_tests::shim::{self, KeyProtection};
use softhsm_tests::shim_clients::{
    read_file, run_ok, scratch, softhsm_tool, write_file, HsmShim, CLIENT_TIMEOUT,
};
use softhsm_tests::softhsm::{self, SoftHsm};
use softhsm_tests::{run_with_timeout, Finished};

/// One vault token and one direct token per test.
const TOKENS: &[&str] = &[
    "kg-tool-objects",
    "kg-tool-objects-direct",
    "kg-tool-import",
    "kg-tool-import-direct",
    "kg-tool-sign",
    "kg-tool-sign-direct",
    "kg-tool-threads",
    "kg-tool-threads-direct",
    "kg-tool-pin",
    "kg-tool-pin-direct",
    "kg-tool-spy",
];

/// OpenSC's logging module (package opensc-pkcs11, which opensc depends on): it
/// loads the module named by `PKCS11SPY` and logs every call to `PKCS11SPY_OUTPUT`.
const SPY_PATHS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11-spy.so",
    "/usr/lib64/pkcs11-spy.so",
    "/usr/lib/pkcs11-spy.so",
];

fn hsm() -> &'static SoftHsm {
    SoftHsm::shared(TOKENS)
}

fn start(label: &str) -> HsmShim {
    HsmShim::start(label, hsm(), label)
}

/// The direct SoftHSM token that goes with test `label`.
fn direct_token(label: &str) -> String {
    hsm();
    format!("{label}-direct")
}

/// `pkcs11-tool` through the library, required to succeed.
fn shim_ok(d: &HsmShim, what: &str, args: &[&str]) -> Finished {
    run_ok(&format!("{what} (library)"), d.pkcs11_tool(args))
}

/// `pkcs11-tool` directly on SoftHSM, required to succeed.
fn direct_ok(token: &str, what: &str, args: &[&str]) -> Finished {
    run_ok(&format!("{what} (SoftHSM)"), softhsm_tool(token, args))
}

/// One object of `--list-objects`: its header line and its indented fields.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Listed {
    header: String,
    fields: Vec<(String, String)>,
}

impl Listed {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// What both modules must agree on: header (class, type, size), label, ID and
    /// EC parameters (not the point: the keys are different keys).
    fn identity(&self) -> (String, Option<String>, Option<String>, Option<String>) {
        (
            self.header.clone(),
            self.field("label").map(str::to_owned),
            self.field("ID").map(str::to_owned),
            self.field("EC_PARAMS").map(str::to_owned),
        )
    }
}

/// The objects `pkcs11-tool --list-objects` printed.
fn parse_objects(stdout: &str) -> Vec<Listed> {
    let mut out: Vec<Listed> = Vec::new();
    for line in stdout.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("  ") {
            let (k, v) = rest.split_once(':').unwrap_or((rest, ""));
            out.last_mut()
                .unwrap_or_else(|| panic!("field before any object: {line:?}"))
                .fields
                .push((k.trim().to_owned(), v.trim().to_owned()));
        } else {
            out.push(Listed {
                header: line.trim_end().to_owned(),
                fields: Vec::new(),
            });
        }
    }
    out
}

/// `pkcs11-tool` without a login: on the library of `d`, or (None) on SoftHSM.
fn anonymous(d: Option<&HsmShim>, args: &[&str]) -> Command {
    let mut cmd = Command::new("pkcs11-tool");
    match d {
        Some(d) => cmd
            .arg("--module")
            .arg(shim::library())
            .envs(d.shim().env()),
        None => cmd.arg("--module").arg(softhsm::module()),
    };
    cmd.args(args);
    cmd
}

/// The mechanisms `pkcs11-tool -M` printed: name and flags, without the key sizes.
fn mechanisms(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(|l| {
            let mut parts = l.split(", ").filter(|p| !p.starts_with("keySize="));
            let name = parts.next().unwrap_or_default().to_owned();
            (name, parts.collect::<Vec<_>>().join(", "))
        })
        .collect()
}

/// Makes the same three keys with pkcs11-tool's generators.
fn generate_keys(run: &dyn Fn(&str, &[&str]) -> Finished) {
    for (action, key_type, id, label, done) in [
        (
            "--keypairgen",
            "rsa:2048",
            "a1",
            "tool-rsa",
            "Key pair generated",
        ),
        (
            "--keypairgen",
            "EC:prime256v1",
            "a2",
            "tool-ec",
            "Key pair generated",
        ),
        ("--keygen", "AES:32", "a3", "tool-aes", "Key generated"),
    ] {
        let out = run(
            &format!("{action} {key_type}"),
            &[action, "--key-type", key_type, "--id", id, "--label", label],
        );
        assert!(out.stdout.contains(done), "{}", out.stdout);
    }
}

#[test]
fn slots_and_generated_objects_list_as_on_softhsm() {
    let label = "kg-tool-objects";
    let d = start(label);
    let direct = direct_token(label);

    // --list-slots (no login): one slot, the token labelled with the identity's vault.
    let slots = run_ok(
        "--list-slots (library)",
        anonymous(Some(&d), &["--list-slots"]),
    );
    let flags = |out: &str, token: &str| -> String {
        let mut lines = out.lines().skip_while(|l| !l.contains(token));
        lines
            .find_map(|l| l.trim().strip_prefix("token flags        :"))
            .unwrap_or_else(|| panic!("no token flags for {token} in:\n{out}"))
            .trim()
            .to_owned()
    };
    assert!(
        slots.stdout.contains("token label        : default"),
        "{}",
        slots.stdout
    );
    assert_eq!(
        slots.stdout.matches("Slot ").count(),
        1,
        "one [[slot]] in the config: {}",
        slots.stdout
    );
    let direct_slots = run_ok("--list-slots (SoftHSM)", anonymous(None, &["--list-slots"]));
    // The library's token flags are those of an initialised SoftHSM token (SoftHSM
    // adds CKF_RESTORE_KEY_NOT_NEEDED, "other flags=0x20", which does not apply).
    let ours = flags(&slots.stdout, "token label        : default");
    let theirs = flags(&direct_slots.stdout, &direct);
    for flag in ours.split(", ") {
        assert!(
            theirs.split(", ").any(|f| f == flag),
            "library token flag {flag:?} not in SoftHSM's {theirs:?}"
        );
    }
    assert!(
        ours.contains("login required") && ours.contains("token initialized"),
        "{ours}"
    );

    // -M: the mechanisms these tests use carry the same flags on both (key sizes
    // differ: the gateway takes RSA 2048-4096 and P-256/P-384 only).
    let ours = mechanisms(&shim_ok(&d, "-M", &["-M"]).stdout);
    let theirs = mechanisms(&direct_ok(&direct, "-M", &["-M"]).stdout);
    for name in [
        "AES-KEY-GEN",
        "AES-CBC-PAD",
        "AES-GCM",
        "RSA-PKCS-KEY-PAIR-GEN",
        "SHA256-RSA-PKCS",
        "SHA256-RSA-PKCS-PSS",
        "ECDSA-KEY-PAIR-GEN",
        "ECDSA",
    ] {
        let flags = |m: &[(String, String)]| {
            m.iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f.clone())
                .unwrap_or_else(|| panic!("{name} not listed in {m:?}"))
        };
        assert_eq!(flags(&ours), flags(&theirs), "flags of {name}");
    }

    generate_keys(&|what, args| shim_ok(&d, what, args));
    generate_keys(&|what, args| direct_ok(&direct, what, args));

    let ours = parse_objects(&shim_ok(&d, "--list-objects", &["--list-objects"]).stdout);
    let theirs = parse_objects(&direct_ok(&direct, "--list-objects", &["--list-objects"]).stdout);
    assert_eq!(ours.len(), 5, "RSA pair, EC pair, AES key: {ours:#?}");
    let ids = |v: &[Listed]| v.iter().map(Listed::identity).collect::<BTreeSet<_>>();
    assert_eq!(
        ids(&ours),
        ids(&theirs),
        "the library lists other objects than SoftHSM"
    );

    // Without a login both show the same public keys. The library hides every
    // other key (CKA_PRIVATE true: the PKCS#11 default is the token's choice);
    // SoftHSM also shows the AES key, for pkcs11-tool --keygen sets no CKA_PRIVATE.
    let listed = |cmd: Command| parse_objects(&run_ok("--list-objects without login", cmd).stdout);
    let mut direct_cmd = anonymous(None, &["--list-objects"]);
    direct_cmd.args(["--token-label", &direct]);
    let (ours_public, theirs_public) = (
        listed(anonymous(Some(&d), &["--list-objects"])),
        listed(direct_cmd),
    );
    let public_ids = |v: &[Listed]| {
        v.iter()
            .filter(|o| o.header.starts_with("Public Key Object"))
            .map(Listed::identity)
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(ours_public.len(), 2, "public keys alone: {ours_public:#?}");
    assert_eq!(public_ids(&ours_public).len(), 2, "{ours_public:#?}");
    assert_eq!(
        public_ids(&ours_public),
        public_ids(&theirs_public),
        "public keys visible without login"
    );
    assert!(
        theirs_public
            .iter()
            .any(|o| o.header.starts_with("Secret Key Object")),
        "SoftHSM now hides the AES key without login; update the comparison: {theirs_public:#?}"
    );

    for o in &ours {
        if o.header.starts_with("Private Key Object") || o.header.starts_with("Secret Key") {
            let access = o.field("Access").unwrap_or_default();
            assert!(
                access.contains("never extractable"),
                "{o:?} is extractable through the library"
            );
        }
        // Known difference: CKA_LOCAL is not kept by the gateway.
        assert!(
            !o.field("Access").unwrap_or_default().contains("local"),
            "{o:?}"
        );
    }
    let rsa_priv = |v: &[Listed]| {
        v.iter()
            .find(|o| o.header.starts_with("Private Key Object; RSA"))
            .and_then(|o| o.field("Usage"))
            .map(str::to_owned)
    };
    assert_eq!(rsa_priv(&ours), rsa_priv(&theirs), "RSA private key usages");
}

/// `OP -m AES-CBC-PAD --id ID --iv IV -i INPUT` (OP: `--encrypt` or `--decrypt`).
fn aes_cbc_pad<'a>(op: &'a str, id: &'a str, iv: &'a str, input: &'a str) -> [&'a str; 9] {
    [op, "-m", "AES-CBC-PAD", "--id", id, "--iv", iv, "-i", input]
}

/// The SubjectPublicKeyInfo of the public key with CKA_ID `id`, read with
/// `--read-object`.
fn read_public_key(run: &dyn Fn(&str, &[&str]) -> Finished, dir: &Path, id: &str) -> PKey<Public> {
    let out = dir.join(format!("pub-{id}.der"));
    let out_s = out.to_str().expect("utf-8 temp path");
    run(
        "--read-object pubkey",
        &["--read-object", "--type", "pubkey", "--id", id, "-o", out_s],
    );
    PKey::public_key_from_der(&read_file(&out)).expect("SPKI DER from --read-object")
}

#[test]
fn imported_keys_encrypt_and_sign_byte_for_byte_as_softhsm() {
    let label = "kg-tool-import";
    let d = start(label);
    let direct = direct_token(label);
    let dir = scratch("tool-import");
    let p = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();

    let mut aes_key = [0u8; 32];
    openssl::rand::rand_bytes(&mut aes_key).expect("random key");
    write_file(dir.path(), "aes.key", &aes_key);
    let rsa = openssl::rsa::Rsa::generate(2048).expect("RSA key");
    write_file(
        dir.path(),
        "rsa.der",
        &rsa.private_key_to_der().expect("DER"),
    );
    let data = b"the same plaintext through the gateway and through SoftHSM (not block aligned)";
    write_file(dir.path(), "data", data);
    let iv = "000102030405060708090a0b0c0d0e0f";

    let run_both = |what: &str, args: &[&str], tag: &str| -> (Vec<u8>, Vec<u8>) {
        let ours = format!("{}.lib", p(tag));
        let theirs = format!("{}.direct", p(tag));
        let mut a = args.to_vec();
        a.extend(["-o", &ours]);
        shim_ok(&d, what, &a);
        let mut b = args.to_vec();
        b.extend(["-o", &theirs]);
        direct_ok(&direct, what, &b);
        (read_file(Path::new(&ours)), read_file(Path::new(&theirs)))
    };

    for (what, args) in [
        (
            "--write-object secrkey",
            vec![
                "--write-object",
                &p("aes.key"),
                "--type",
                "secrkey",
                "--key-type",
                "AES:32",
                "--id",
                "b1",
                "--label",
                "imp-aes",
                "--usage-decrypt",
            ],
        ),
        (
            "--write-object privkey",
            vec![
                "--write-object",
                &p("rsa.der"),
                "--type",
                "privkey",
                "--id",
                "b2",
                "--label",
                "imp-rsa",
                "--usage-sign",
            ],
        ),
    ] {
        let ours = shim_ok(&d, what, &args);
        let theirs = direct_ok(&direct, what, &args);
        assert!(ours.stdout.contains("Created"), "{}", ours.stdout);
        assert!(theirs.stdout.contains("Created"), "{}", theirs.stdout);
    }

    // AES-CBC-PAD: the same key, IV and data give the same ciphertext, which is
    // also what OpenSSL computes with the key in the clear.
    let data_path = p("data");
    let enc = aes_cbc_pad("--encrypt", "b1", iv, &data_path);
    let (ours, theirs) = run_both("--encrypt AES-CBC-PAD", &enc, "ct");
    assert_eq!(ours, theirs, "AES-CBC-PAD ciphertexts differ");
    let iv_bytes: Vec<u8> = (0u8..16).collect();
    let expected = openssl::symm::encrypt(Cipher::aes_256_cbc(), &aes_key, Some(&iv_bytes), data)
        .expect("openssl AES-256-CBC");
    assert_eq!(
        ours, expected,
        "ciphertext is not AES-256-CBC-PAD of the data"
    );
    let ct = format!("{}.lib", p("ct"));
    let dec = aes_cbc_pad("--decrypt", "b1", iv, &ct);
    let (ours, theirs) = run_both("--decrypt AES-CBC-PAD", &dec, "pt");
    assert_eq!(ours, data, "library decrypt");
    assert_eq!(theirs, data, "SoftHSM decrypt");

    // SHA256-RSA-PKCS is deterministic: one key, one message, one signature.
    let sign = [
        "--sign",
        "-m",
        "SHA256-RSA-PKCS",
        "--id",
        "b2",
        "-i",
        &p("data"),
    ];
    let (ours, theirs) = run_both("--sign SHA256-RSA-PKCS", &sign, "sig");
    assert_eq!(ours, theirs, "PKCS#1 v1.5 signatures differ");
    let public = PKey::from_rsa(
        openssl::rsa::Rsa::from_public_components(
            rsa.n().to_owned().expect("n"),
            rsa.e().to_owned().expect("e"),
        )
        .expect("public key"),
    )
    .expect("PKey");
    let mut v = Verifier::new(MessageDigest::sha256(), &public).expect("verifier");
    v.set_rsa_padding(Padding::PKCS1).expect("padding");
    assert!(
        v.verify_oneshot(&ours, data).expect("verify"),
        "signature does not verify"
    );

    // Raw CKM_RSA_PKCS over a SHA-256 DigestInfo (what TLS 1.2 through OpenSSL
    // signs) is the same signature on both.
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    digest_info.extend_from_slice(&openssl::sha::sha256(data));
    write_file(dir.path(), "digest-info", &digest_info);
    let info_path = p("digest-info");
    let raw = ["--sign", "-m", "RSA-PKCS", "--id", "b2", "-i", &info_path];
    let (raw_ours, raw_theirs) = run_both("--sign RSA-PKCS", &raw, "raw-sig");
    assert_eq!(raw_ours, raw_theirs, "RSA-PKCS signatures differ");
    assert_eq!(
        raw_ours, ours,
        "RSA-PKCS over the DigestInfo is SHA256-RSA-PKCS"
    );

    // Known difference: the gateway signs PKCS#1 v1.5 from a digest and its hash,
    // so the library takes only a DigestInfo (SHA-1/256/384/512) for raw
    // CKM_RSA_PKCS and answers CKR_DATA_INVALID for other data; SoftHSM signs it.
    let other = write_file(dir.path(), "not-digest-info", &[0x5a; 20]);
    let other = [
        "--sign",
        "-m",
        "RSA-PKCS",
        "--id",
        "b2",
        "-i",
        other.to_str().expect("utf-8"),
    ];
    direct_ok(&direct, "--sign RSA-PKCS arbitrary data", &other);
    let out = run_with_timeout(d.pkcs11_tool(&other), CLIENT_TIMEOUT);
    assert!(
        !out.status.success() && out.stderr.contains("CKR_DATA_INVALID"),
        "raw RSA-PKCS over arbitrary data: {}{}",
        out.stdout,
        out.stderr
    );
}

/// Signs `data` with `mech` and key `id`, verifies through pkcs11-tool, and
/// returns the signature (`--signature-format openssl` for ECDSA: DER).
fn sign_and_verify(
    run: &dyn Fn(&str, &[&str]) -> Finished,
    dir: &Path,
    mech: &str,
    id: &str,
    data: &Path,
) -> Vec<u8> {
    let sig = dir.join(format!("sig-{mech}-{id}"));
    let (data_s, sig_s) = (data.to_str().expect("utf-8"), sig.to_str().expect("utf-8"));
    let mut sign = vec!["--sign", "-m", mech, "--id", id, "-i", data_s, "-o", sig_s];
    let mut verify = vec![
        "--verify",
        "-m",
        mech,
        "--id",
        id,
        "-i",
        data_s,
        "--signature-file",
        sig_s,
    ];
    if mech.starts_with("ECDSA") {
        sign.extend(["--signature-format", "openssl"]);
        verify.extend(["--signature-format", "openssl"]);
    }
    run(&format!("--sign {mech}"), &sign);
    let out = run(&format!("--verify {mech}"), &verify);
    assert!(
        out.stdout.contains("Signature is valid"),
        "{mech}: {}",
        out.stdout
    );
    read_file(&sig)
}

#[test]
fn generated_keys_sign_verify_encrypt_decrypt() {
    let label = "kg-tool-sign";
    let d = start(label);
    let direct = direct_token(label);
    let dir = scratch("tool-sign");
    let data = write_file(
        dir.path(),
        "data",
        b"signed by a key that never leaves the vault",
    );
    let other = write_file(
        dir.path(),
        "other",
        b"signed by a key that never leaves the vault!",
    );
    let digest = openssl::sha::sha256(&read_file(&data));
    let hashed = write_file(dir.path(), "hashed", &digest);

    let ours = |what: &str, args: &[&str]| shim_ok(&d, what, args);
    let theirs = |what: &str, args: &[&str]| direct_ok(&direct, what, args);
    generate_keys(&ours);
    generate_keys(&theirs);

    for (name, run) in [
        ("library", &ours as &dyn Fn(&str, &[&str]) -> Finished),
        ("SoftHSM", &theirs),
    ] {
        let rsa_pub = read_public_key(run, dir.path(), "a1");
        let ec_pub = read_public_key(run, dir.path(), "a2");
        assert_eq!(rsa_pub.bits(), 2048, "{name}");
        assert_eq!(ec_pub.bits(), 256, "{name}");

        let sig = sign_and_verify(run, dir.path(), "SHA256-RSA-PKCS", "a1", &data);
        let mut v = Verifier::new(MessageDigest::sha256(), &rsa_pub).expect("verifier");
        assert!(
            v.verify_oneshot(&sig, &read_file(&data)).expect("verify"),
            "{name}: PKCS#1"
        );

        let sig = sign_and_verify(run, dir.path(), "SHA256-RSA-PKCS-PSS", "a1", &data);
        let mut v = Verifier::new(MessageDigest::sha256(), &rsa_pub).expect("verifier");
        v.set_rsa_padding(Padding::PKCS1_PSS).expect("pss");
        v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
            .expect("salt");
        v.set_rsa_mgf1_md(MessageDigest::sha256()).expect("mgf1");
        assert!(
            v.verify_oneshot(&sig, &read_file(&data)).expect("verify"),
            "{name}: PSS"
        );

        // Raw ECDSA over a SHA-256 hash (what both modules have).
        let sig = sign_and_verify(run, dir.path(), "ECDSA", "a2", &hashed);
        let mut v = Verifier::new(MessageDigest::sha256(), &ec_pub).expect("verifier");
        assert!(
            v.verify_oneshot(&sig, &read_file(&data)).expect("verify"),
            "{name}: ECDSA"
        );

        // --verify refuses the signature for another message.
        let sig_path = dir.path().join("sig-SHA256-RSA-PKCS-a1");
        let bad = [
            "--verify",
            "-m",
            "SHA256-RSA-PKCS",
            "--id",
            "a1",
            "-i",
            other.to_str().expect("utf-8"),
            "--signature-file",
            sig_path.to_str().expect("utf-8"),
        ];
        let cmd = if name == "library" {
            d.pkcs11_tool(&bad)
        } else {
            softhsm_tool(&direct, &bad)
        };
        let out = run_with_timeout(cmd, CLIENT_TIMEOUT);
        // (pkcs11-tool 0.23 exits 0 here with either module; the verdict is printed.)
        assert!(
            out.stdout.contains("Invalid signature") && !out.stdout.contains("is valid"),
            "{name}: a changed message verified: {}\n{}",
            out.stdout,
            out.stderr
        );

        // AES-CBC-PAD round trip with the generated (never extractable) key.
        let ct = dir.path().join(format!("ct-{name}"));
        let pt = dir.path().join(format!("pt-{name}"));
        let iv = "0f0e0d0c0b0a09080706050403020100";
        for (op, input, output) in [("--encrypt", &data, &ct), ("--decrypt", &ct, &pt)] {
            let (input, output) = (
                input.to_str().expect("utf-8"),
                output.to_str().expect("utf-8"),
            );
            let mut args = aes_cbc_pad(op, "a3", iv, input).to_vec();
            args.extend(["-o", output]);
            run(op, &args);
        }
        assert_ne!(read_file(&ct), read_file(&data), "{name}: not encrypted");
        assert_eq!(read_file(&pt), read_file(&data), "{name}: round trip");
    }

    // ECDSA-SHA256 (hashing in the module): the library has it, SoftHSM 2.6.1 not.
    let sig = sign_and_verify(&ours, dir.path(), "ECDSA-SHA256", "a2", &data);
    let ec_pub = read_public_key(&ours, dir.path(), "a2");
    let mut v = Verifier::new(MessageDigest::sha256(), &ec_pub).expect("verifier");
    assert!(
        v.verify_oneshot(&sig, &read_file(&data)).expect("verify"),
        "ECDSA-SHA256"
    );
    let out = run_with_timeout(
        softhsm_tool(
            &direct,
            &[
                "--sign",
                "-m",
                "ECDSA-SHA256",
                "--id",
                "a2",
                "-i",
                data.to_str().expect("utf-8"),
            ],
        ),
        CLIENT_TIMEOUT,
    );
    assert!(
        !out.status.success() && out.stderr.contains("CKR_MECHANISM_INVALID"),
        "SoftHSM gained ECDSA-SHA256; update the comparison: {}",
        out.stderr
    );
}

#[test]
fn threads_and_fork() {
    let label = "kg-tool-threads";
    let d = start(label);
    let direct = direct_token(label);

    // Four threads, each C_Initialize (OS locking), C_GetInfo, C_GetSlotList,
    // C_GetTokenInfo (a gateway round trip for the vault name), while the main
    // thread logs in and generates an RSA pair. pkcs11-tool sleeps a fixed 30 s in
    // its cleanup when a thread is still running as the main thread finishes, so
    // the main thread gets the longer job (with only --list-objects it finished
    // first in about a third of the runs here).
    let mut args: Vec<&str> = ["--test-threads", "ILGISLT0"].repeat(4);
    args.extend([
        "--keypairgen",
        "--key-type",
        "rsa:2048",
        "--label",
        "threads-rsa",
    ]);
    let out = shim_ok(&d, "--test-threads", &args);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("all threads have ended with CKR_OK"),
        "--test-threads: {all}"
    );
    for t in 0..4 {
        assert!(
            all.contains(&format!("Test thread {t} returning rv = 0")),
            "thread {t}: {all}"
        );
    }
    assert!(all.contains("Key pair generated"), "main thread: {all}");

    // The forked child initialises the library again and gets its own connection.
    let out = shim_ok(&d, "--test-fork", &["--test-fork"]);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("Calling C_Initialize in forked child process"),
        "--test-fork: {all}"
    );

    // SoftHSM 2.6.1 keeps its state across fork: the child's C_Initialize answers
    // CKR_CRYPTOKI_ALREADY_INITIALIZED, so the same command fails there.
    let out = run_with_timeout(softhsm_tool(&direct, &["--test-fork"]), CLIENT_TIMEOUT);
    assert!(
        !out.status.success() && out.stderr.contains("CKR_CRYPTOKI_ALREADY_INITIALIZED"),
        "SoftHSM now passes --test-fork; update the comparison: {}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn wrong_pin_is_refused_as_on_softhsm() {
    // The slot's client key is PKCS#8-encrypted under the PIN: C_Login decrypts it.
    let label = "kg-tool-pin";
    let d = HsmShim::start_with(label, hsm(), label, KeyProtection::EncryptedByPin);
    let direct = direct_token(label);

    let wrong = ["--login", "--pin", "not-the-pin", "--list-objects"];
    for (name, cmd) in [
        ("library", anonymous(Some(&d), &wrong)),
        ("SoftHSM", {
            let mut c = anonymous(None, &wrong);
            c.args(["--token-label", &direct]);
            c
        }),
    ] {
        let out = run_with_timeout(cmd, CLIENT_TIMEOUT);
        assert!(
            !out.status.success() && out.stderr.contains("CKR_PIN_INCORRECT"),
            "{name}: a wrong PIN was not refused with CKR_PIN_INCORRECT: {}{}",
            out.stdout,
            out.stderr
        );
    }
    // The right PIN opens the key and reaches the gateway.
    let out = shim_ok(
        &d,
        "--keygen with the PIN-encrypted key",
        &["--keygen", "--key-type", "AES:16", "--label", "pin-aes"],
    );
    assert!(out.stdout.contains("Key generated"), "{}", out.stdout);
}

#[test]
fn opensc_spy_wraps_the_library() {
    // pkcs11-spy takes the library's PKCS#11 3.0 interface (C_GetInterface) and
    // writes its own function list into the CK_INTERFACE it was handed, as OpenSC
    // modules allow; a library keeping that structure in read-only memory crashes it.
    let spy = SPY_PATHS
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("pkcs11-spy.so not found in {SPY_PATHS:?} (opensc-pkcs11)"));
    let d = start("kg-tool-spy");
    let dir = scratch("tool-spy");
    let log = dir.path().join("spy.log");
    let mut cmd = Command::new("pkcs11-tool");
    cmd.arg("--module")
        .arg(spy)
        .args([
            "--login",
            "--pin",
            shim::PIN,
            "--keygen",
            "--key-type",
            "AES:16",
        ])
        .args(["--label", "spied"])
        .envs(d.shim().env())
        .env("PKCS11SPY", shim::library())
        .env("PKCS11SPY_OUTPUT", &log);
    let out = run_ok("pkcs11-tool through pkcs11-spy", cmd);
    assert!(out.stdout.contains("Key generated"), "{}", out.stdout);
    let log = String::from_utf8_lossy(&read_file(&log)).into_owned();
    for call in ["C_GetInterface", "C_Login", "C_GenerateKey"] {
        assert!(
            log.contains(&format!(": {call}\n")),
            "{call} not in the spy's log:\n{log}"
        );
    }
}
