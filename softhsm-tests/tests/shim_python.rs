//! python-pkcs11 (PyPI `python-pkcs11`, in the project venv) drives
//! `libkeygate_pkcs11.so` against a real daemon on SoftHSM (issue 5): the driver
//! softhsm-tests/python/shim_pkcs11.py generates AES (session and token) and RSA /
//! EC (token) keys, encrypts and decrypts (AES-CBC-PAD, AES-GCM, RSA-OAEP), signs
//! and verifies through the library, and reports the public keys and signatures,
//! which this test verifies on its own with OpenSSL.
//!
//! Wrap/unwrap: an AES key wrap (RFC 3394) of the 256-bit token key under the
//! session key (40 bytes), which the driver unwraps again into a 32-byte key.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use serde_json::Value;
use softhsm_tests::shim::{self, PIN};
use softhsm_tests::shim_clients::{run_ok, HsmShim};
use softhsm_tests::softhsm::SoftHsm;
use softhsm_tests::{python, python_dir};

const TOKENS: &[&str] = &["kg-python"];

/// What the driver runs, in order.
const STEPS: &[&str] = &[
    "aes-session-key",
    "aes-cbc-pad",
    "aes-gcm",
    "aes-token-key",
    "rsa-keypair",
    "rsa-sign",
    "rsa-oaep",
    "ec-keypair",
    "wrap",
    "destroy",
];

fn hex(v: &Value, what: &str) -> Vec<u8> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
    assert!(s.len() % 2 == 0, "{what}: odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("{what}: {e}")))
        .collect()
}

#[test]
fn python_pkcs11_generates_encrypts_signs() {
    let d = HsmShim::start("kg-python", SoftHsm::shared(TOKENS), "kg-python");
    let mut cmd = std::process::Command::new(python());
    cmd.envs(d.shim().env())
        .arg(python_dir().join("shim_pkcs11.py"))
        .arg(shim::library())
        .arg("default")
        .arg(PIN);
    let out = run_ok("shim_pkcs11.py", cmd);
    let report: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("driver output is not JSON ({e}): {}", out.stdout));
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(steps, STEPS, "steps the driver completed");
    assert_eq!(report["token"], "default", "token label = vault name");
    assert_eq!(
        report["checks"][0], "gcm-bad-tag: EncryptedDataInvalid",
        "a changed GCM tag must be refused with CKR_ENCRYPTED_DATA_INVALID"
    );

    // RSA: the PKCS#1 v1.5 signature, checked with the public key the library gave.
    let rsa = &report["rsa"];
    let public =
        Rsa::public_key_from_der_pkcs1(&hex(&rsa["pkcs1"], "rsa.pkcs1")).expect("RSAPublicKey DER");
    assert_eq!(public.size(), 256, "RSA-2048");
    let public = PKey::from_rsa(public).expect("PKey");
    let message = hex(&rsa["message"], "rsa.message");
    let mut v = Verifier::new(MessageDigest::sha256(), &public).expect("verifier");
    assert!(
        v.verify_oneshot(&hex(&rsa["signature"], "rsa.signature"), &message)
            .expect("verify"),
        "the RSA signature made through python-pkcs11 does not verify"
    );

    // EC: raw r || s over SHA-256 of the message.
    let ec = &report["ec"];
    let key = PKey::public_key_from_der(&hex(&ec["spki"], "ec.spki"))
        .expect("EC SPKI")
        .ec_key()
        .expect("an EC key");
    let raw = hex(&ec["signature"], "ec.signature");
    assert_eq!(raw.len(), 64, "P-256 r || s");
    let sig = EcdsaSig::from_private_components(
        BigNum::from_slice(&raw[..32]).expect("r"),
        BigNum::from_slice(&raw[32..]).expect("s"),
    )
    .expect("ECDSA signature");
    let digest = openssl::sha::sha256(&hex(&ec["message"], "ec.message"));
    assert!(
        sig.verify(&digest, &key).expect("verify"),
        "the ECDSA signature made through python-pkcs11 does not verify"
    );

    // Wrap/unwrap: an RFC 3394 wrap of 32 bytes, unwrapped again by the driver.
    let wrap = report["wrap"].as_str().expect("wrap outcome");
    assert_eq!(wrap, "wrapped 40 bytes", "C_WrapKey / C_UnwrapKey");
}

/// A process that makes a session object and exits without closing its session or
/// finalising the library leaves nothing in the vault: the library's exit handler
/// destroys it on the gateway. (The child leaves through libc's `exit`, so Python's
/// own teardown, which would close the session, never runs.)
#[test]
fn session_objects_go_when_the_process_exits_without_finalising() {
    let d = HsmShim::start(
        "kg-python-exit",
        SoftHsm::shared(&["kg-python-exit"]),
        "kg-python-exit",
    );
    let label = format!("exit-{}", std::process::id());
    let script = format!(
        r#"
import ctypes, sys, pkcs11
from pkcs11 import KeyType
lib = pkcs11.lib(sys.argv[1])
token = lib.get_token(token_label="default")
KEEP = token.open(user_pin=sys.argv[2], rw=True)
KEEP.generate_key(KeyType.AES, 128, store=False, label="{label}")
print("made")
sys.stdout.flush()
# No session close, no C_Finalize, no Python teardown: libc's exit() runs the C exit
# handlers only (the library's among them) and ends the process.
ctypes.CDLL(None).exit(0)
"#
    );
    let mut cmd = std::process::Command::new(python());
    cmd.envs(d.shim().env())
        .arg("-c")
        .arg(&script)
        .arg(shim::library())
        .arg(PIN);
    let out = run_ok("session-object child", cmd);
    assert_eq!(out.stdout.trim(), "made");

    // The gateway holds the key Destroyed (metadata kept, material gone).
    assert_eq!(
        d.shim().state_of(&label),
        Some(kmip::types::State::Destroyed)
    );
}
