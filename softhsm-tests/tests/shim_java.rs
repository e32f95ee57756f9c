//! JDK 17's SunPKCS11 provider loads `libkeygate_pkcs11.so` (issue 5): a small
//! program (softhsm-tests/java/ShimKeyStore.java, compiled here with `javac`) opens
//! the token as a KeyStore with the user PIN, lists it, signs with a vault key and
//! verifies the signature with the entry's certificate.
//!
//! SunPKCS11 shows a private key only when a certificate with the same CKA_ID is on
//! the token, so the test first generates RSA and EC pairs in the vault through the
//! library (pkcs11-tool), has a throwaway CA (the `openssl` crate) certify their
//! public keys, and stores the certificates with `pkcs11-tool --write-object
//! --type cert --id` (C_CreateObject). A pair without a certificate must stay out
//! of the listing; a secret key shows as a key entry without one.
//!
//! The configuration JDK 17 takes (it has `slot=`, not `tokenLabel=`):
//! `name=Keygate`, `library=/path/libkeygate_pkcs11.so`, `slot=0`.

use std::path::Path;
use std::process::Command;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::sign::Verifier;
use openssl::x509::{X509Name, X509};
use softhsm_tests::shim::{self, PIN};
use softhsm_tests::shim_clients::{read_file, run_ok, scratch, write_file, HsmShim};
use softhsm_tests::softhsm::SoftHsm;

const TOKENS: &[&str] = &["kg-java"];

/// The Java sources of this crate.
fn java_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/java"))
}

/// A certificate for `subject_key` named `cn`, issued by `ca`.
fn certify(ca: &PKey<Private>, subject_key: &PKey<Public>, cn: &str) -> Vec<u8> {
    let mut name = X509Name::builder().expect("name");
    name.append_entry_by_text("CN", cn).expect("CN");
    let subject = name.build();
    let mut issuer = X509Name::builder().expect("name");
    issuer
        .append_entry_by_text("CN", "keygate test CA")
        .expect("CN");
    let issuer = issuer.build();
    let mut serial = BigNum::new().expect("bn");
    serial
        .rand(64, MsbOption::MAYBE_ZERO, false)
        .expect("serial");
    let mut b = X509::builder().expect("builder");
    b.set_version(2).expect("version");
    b.set_serial_number(&serial.to_asn1_integer().expect("serial"))
        .expect("serial");
    b.set_subject_name(&subject).expect("subject");
    b.set_issuer_name(&issuer).expect("issuer");
    b.set_pubkey(subject_key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("time"))
        .expect("not before");
    b.set_not_after(&Asn1Time::days_from_now(2).expect("time"))
        .expect("not after");
    b.sign(ca, MessageDigest::sha256()).expect("sign");
    b.build().to_der().expect("DER")
}

#[test]
fn sunpkcs11_lists_the_keystore_and_signs() {
    let d = HsmShim::start("kg-java", SoftHsm::shared(TOKENS), "kg-java");
    let dir = scratch("java");
    let ca = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256"))
            .expect("CA key"),
    )
    .expect("CA PKey");

    // Two certified pairs, one pair without a certificate, one AES key.
    let mut pairs = Vec::new();
    for (key_type, id, label) in [
        ("rsa:2048", "01", "java-rsa"),
        ("EC:prime256v1", "02", "java-ec"),
    ] {
        let public = PKey::public_key_from_der(&d.generate_pair(dir.path(), key_type, id, label))
            .expect("public key");
        let cert = write_file(
            dir.path(),
            &format!("{label}.cert.der"),
            &certify(&ca, &public, label),
        );
        let write = d.pkcs11_tool(&[
            "--write-object",
            cert.to_str().expect("utf-8"),
            "--type",
            "cert",
            "--id",
            id,
            "--label",
            label,
        ]);
        let out = run_ok("pkcs11-tool --write-object cert", write);
        assert!(out.stdout.contains("Certificate Object"), "{}", out.stdout);
        pairs.push((label, public));
    }
    d.generate_pair(dir.path(), "rsa:2048", "03", "java-nocert");
    run_ok(
        "pkcs11-tool --keygen",
        d.pkcs11_tool(&[
            "--keygen",
            "--key-type",
            "AES:32",
            "--id",
            "04",
            "--label",
            "java-aes",
        ]),
    );

    // javac into a temp dir, then run the class from there.
    let classes = dir.path().join("classes");
    let mut javac = Command::new("javac");
    javac
        .arg("-d")
        .arg(&classes)
        .arg(java_dir().join("ShimKeyStore.java"));
    run_ok("javac ShimKeyStore.java", javac);
    let config = write_file(
        dir.path(),
        "sunpkcs11.cfg",
        format!(
            "name=Keygate\nlibrary={}\nslot=0\n",
            shim::library().display()
        )
        .as_bytes(),
    );
    let message = write_file(
        dir.path(),
        "message",
        b"signed in the vault for a Java program",
    );

    for ((label, public), algorithm) in pairs.iter().zip(["SHA256withRSA", "SHA256withECDSA"]) {
        let sig_path = dir.path().join(format!("{label}.sig"));
        let mut java = Command::new("java");
        java.envs(d.shim().env())
            .arg("-cp")
            .arg(&classes)
            .arg("ShimKeyStore")
            .arg(&config)
            .arg(PIN)
            .arg(label)
            .arg(algorithm)
            .arg(&message)
            .arg(&sig_path);
        let out = run_ok(&format!("java ShimKeyStore {label}"), java);
        let lines: Vec<&str> = out.stdout.lines().collect();
        for expected in [
            "entry java-rsa key=true cert=true",
            "entry java-ec key=true cert=true",
            "entry java-aes key=true cert=false",
            "verified true with ",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(expected)),
                "{label}: no line {expected:?} in:\n{}",
                out.stdout
            );
        }
        assert!(
            !out.stdout.contains("java-nocert"),
            "a private key without a certificate was listed:\n{}",
            out.stdout
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("signed ") && l.ends_with("with SunPKCS11-Keygate")),
            "{label}: not signed by the token's provider:\n{}",
            out.stdout
        );

        // Checked again here, with the vault's public key as the library gave it.
        let sig = read_file(&sig_path);
        let mut v = Verifier::new(MessageDigest::sha256(), public).expect("verifier");
        assert!(
            v.verify_oneshot(&sig, &read_file(&message))
                .expect("verify"),
            "{label}: the Java signature does not verify"
        );
    }
}
