//! `keygate import` and `keygate export` (the real binary) against a real daemon on
//! the software backend: keys made with the `openssl` command in every accepted file
//! format (raw AES, PKCS#8 PEM and DER, PKCS#1 PEM, SEC1 PEM) are imported wrapped
//! under the vault's import key and come back out as the same keys; the import key
//! is created on demand and its private key never leaves; export writes a key
//! wrapped under a key the caller names, which opens outside with the `aes-kw` crate.

mod common;

use aes_kw::KekAes256;
use common::*;
use kmip::messages::objects::{KeyMaterial, KeyValue};
use kmip::types::ResultReason;
use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `keygate ARGS`; returns stdout, panicking with stderr on failure.
fn keygate(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keygate"))
        .args(args)
        .output()
        .expect("running keygate");
    assert!(
        out.status.success(),
        "keygate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn key_material(c: &mut Kmip, u: &str, format: Option<&str>) -> Vec<u8> {
    let req = match format {
        Some(f) => get_format(u, f),
        None => get(u),
    };
    match &c
        .send(V2_1, &req)
        .object(0)
        .key_block()
        .expect("key block")
        .key_value
    {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => b.clone(),
        other => panic!("no key bytes: {other:?}"),
    }
}

#[test]
fn import_every_key_format_and_export_wrapped() {
    let d = Daemon::start("byok-cli");
    let config = d.config.to_string_lossy().into_owned();
    let server = d.addr.to_string();
    let dir = d.path("keys");
    std::fs::create_dir_all(&dir).expect("keys dir");
    let base = [
        "--config", &config, "--vault", "default", "--server", &server,
    ];
    let import = |name: &str, file: &str| -> String {
        let path = dir.join(file);
        let path = path.to_string_lossy();
        let mut args = vec!["import"];
        args.extend(base);
        args.extend(["--name", name, &path]);
        keygate(&args).trim().to_owned()
    };

    openssl(&dir, &["rand", "-out", "aes.bin", "32"]);
    openssl(
        &dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa8.pem",
        ],
    );
    openssl(
        &dir,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "rsa8.pem", "-outform", "DER", "-out", "rsa8.der",
        ],
    );
    openssl(
        &dir,
        &["genrsa", "-traditional", "-out", "rsa1.pem", "2048"],
    );
    openssl(
        &dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.pem",
        ],
    );
    assert!(std::fs::read_to_string(dir.join("rsa1.pem"))
        .expect("pem")
        .contains("BEGIN RSA PRIVATE KEY"));
    assert!(std::fs::read_to_string(dir.join("ec.pem"))
        .expect("pem")
        .contains("BEGIN EC PRIVATE KEY"));

    let mut c = d.connect("admin");
    let aes = import("byok-aes", "aes.bin");
    assert_eq!(
        key_material(&mut c, &aes, None),
        std::fs::read(dir.join("aes.bin")).expect("aes")
    );
    // Each private key comes back as the same key: same public key as the file's.
    for (name, file) in [
        ("byok-rsa8", "rsa8.pem"),
        ("byok-rsa8der", "rsa8.der"),
        ("byok-rsa1", "rsa1.pem"),
        ("byok-ec", "ec.pem"),
    ] {
        let u = import(name, file);
        let got = key_material(&mut c, &u, Some("PKCS_8"));
        let got_file = dir.join(format!("{name}.got.der"));
        std::fs::write(&got_file, &got).expect("write");
        let inform = if file.ends_with(".der") { "DER" } else { "PEM" };
        let want = openssl(
            &dir,
            &[
                "pkey", "-inform", inform, "-in", file, "-pubout", "-outform", "DER",
            ],
        );
        let have = openssl(
            &dir,
            &[
                "pkey",
                "-inform",
                "DER",
                "-in",
                &got_file.to_string_lossy(),
                "-pubout",
                "-outform",
                "DER",
            ],
        );
        assert_eq!(have, want, "{name}");
    }

    // The import key: made on demand, one pair, its private key never leaves.
    let located = c.locate_name(V2_1, "keygate-import-key");
    assert_eq!(located.len(), 2, "{located:?}");
    let mut served = Vec::new();
    for u in &located {
        let r = c.send(V2_1, &get(u));
        if r.item(0).result_status == kmip::types::ResultStatus::Success {
            served.push(r.object(0).object_type());
        } else {
            assert_eq!(r.failed(0), ResultReason::NotExtractable);
        }
    }
    assert_eq!(served, vec![kmip::types::ObjectType::PublicKey]);

    // Export: the AES key wrapped under a key named by the caller (RFC 5649).
    let a = [
        attr(V2_1, "CryptographicAlgorithm", "Enumeration", "AES"),
        attr(V2_1, "CryptographicLength", "Integer", "256"),
        attr(V2_1, "CryptographicUsageMask", "Integer", "WrapKey"),
    ]
    .concat();
    let w = c
        .send(
            V2_1,
            &item(
                "Create",
                &format!(
                    "{}{}",
                    enumeration("ObjectType", "SymmetricKey"),
                    attrs(V2_1, &a)
                ),
            ),
        )
        .uid(0);
    c.send(V2_1, &activate(&w)).ok(0);
    let wkey = key_material(&mut c, &w, None);
    let out = dir.join("aes.wrapped");
    let out_s = out.to_string_lossy();
    let mut args = vec!["export"];
    args.extend(base);
    args.extend(["--uid", &aes, "--wrap-key", &w, "--out", &out_s]);
    keygate(&args);
    let blob = std::fs::read(&out).expect("wrapped");
    let kek = KekAes256::from(<[u8; 32]>::try_from(wkey.as_slice()).expect("AES-256"));
    assert_eq!(
        kek.unwrap_with_padding_vec(&blob).expect("KWP opens"),
        std::fs::read(dir.join("aes.bin")).expect("aes")
    );
}

#[test]
fn import_refuses_a_vault_the_identity_is_not_bound_to() {
    let d = Prepared::new("byok-vault").vault("other").start();
    let config = d.config.to_string_lossy().into_owned();
    let server = d.addr.to_string();
    let file = d.path("k.bin");
    std::fs::write(&file, [1u8; 16]).expect("key");
    let out = Command::new(env!("CARGO_BIN_EXE_keygate"))
        .args([
            "import", "--config", &config, "--vault", "other", "--server", &server,
        ])
        .args(["--name", "k", &file.to_string_lossy()])
        .output()
        .expect("running keygate");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bound to vault \"default\""), "{err}");
}
