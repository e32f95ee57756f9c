//! Certify with the CA key in a SoftHSM2 token (resident placement): the vault CA
//! key pair is generated in the token, its self-signed certificate and a TLS server
//! certificate are signed by the token (the TBSCertificate goes to the backend's
//! sign operation; the CA key is not extractable and Get of it is refused), and
//! OpenSSL verifies both certificates. Re-certify and Validate run on the same
//! vault.

use std::process::{Command, Stdio};

use keygate::config::{PinSource, Placement};
use keygate::setup::{InitOptions, Pkcs11Init};
use kmip::messages::objects::ManagedObject;
use kmip::messages::payloads::{CreateKeyPairResponse, ResponsePayload};
use kmip::types::{ResultReason, ValidityIndicator};
use kmip::version::ProtocolVersion;
use softhsm_tests::kmip_client::{enumeration, integer, item, text, uid, Kmip};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use softhsm_tests::{Daemon, TempDir};

const V: ProtocolVersion = ProtocolVersion::V2_1;
const TOKEN: &str = "kg-certify";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn vendor(name: &str, ty: &str, value: &str) -> String {
    format!(
        "<Attribute>{}{}<AttributeValue type=\"{ty}\" value=\"{value}\"/></Attribute>",
        text("VendorIdentification", "x"),
        text("AttributeName", &format!("keygate-{name}"))
    )
}

fn create_pair(c: &mut Kmip, name: &str, alg: &str, bits: &str) -> (String, String) {
    let r = c.send(
        V,
        &item(
            "CreateKeyPair",
            &format!(
                "<CommonAttributes>{}{}<ActivationDate type=\"DateTime\" value=\"0x{:x}\"/>\
                 </CommonAttributes><PrivateKeyAttributes><Name>{}{}</Name>{}\
                 </PrivateKeyAttributes><PublicKeyAttributes>{}</PublicKeyAttributes>",
                enumeration("CryptographicAlgorithm", alg),
                integer("CryptographicLength", bits),
                now() - 60,
                text("NameValue", name),
                enumeration("NameType", "UninterpretedTextString"),
                integer("CryptographicUsageMask", "Sign"),
                integer("CryptographicUsageMask", "Verify"),
            ),
        ),
    );
    match r.ok(0) {
        ResponsePayload::CreateKeyPair(CreateKeyPairResponse {
            private_key_unique_identifier: p,
            public_key_unique_identifier: q,
            ..
        }) => (p.clone(), q.clone()),
        other => panic!("{other:?}"),
    }
}

fn certify(c: &mut Kmip, op: &str, key: &str, attributes: &str) -> String {
    let r = c.send(
        V,
        &item(
            op,
            &format!("{}<Attributes>{attributes}</Attributes>", uid(key)),
        ),
    );
    match r.ok(0) {
        ResponsePayload::Certify(p) | ResponsePayload::ReCertify(p) => p.unique_identifier.clone(),
        other => panic!("{other:?}"),
    }
}

fn pem(c: &mut Kmip, id: &str, dir: &std::path::Path, file: &str) -> String {
    let r = c.send(V, &item("Get", &uid(id)));
    let der = match r.ok(0) {
        ResponsePayload::Get(g) => match &g.object {
            ManagedObject::Certificate(cert) => cert.certificate_value.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let p = dir.join(file);
    let x = openssl::x509::X509::from_der(&der).expect("certificate");
    std::fs::write(&p, x.to_pem().unwrap()).unwrap();
    p.to_string_lossy().into_owned()
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

#[test]
fn certify_signs_with_a_ca_key_in_the_token() {
    SoftHsm::shared(&[TOKEN]);
    let pins = TempDir::new("certify-pin");
    std::fs::create_dir_all(pins.path()).unwrap();
    let pin = pins.path().join("pin");
    std::fs::write(&pin, USER_PIN).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let d = Daemon::start_with(
        "certify-hsm",
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
    let work = TempDir::new("certify-hsm-out");
    std::fs::create_dir_all(work.path()).unwrap();
    let dir = work.path();

    let (ca_priv, ca_pub) = create_pair(&mut c, "keygate-ca", "RSA", "2048");
    let ca_cert = certify(
        &mut c,
        "Certify",
        &ca_pub,
        &[
            vendor("subject", "TextString", "CN=HSM Vault CA"),
            vendor("profile", "TextString", "ca"),
            vendor("self-signed", "Boolean", "true"),
        ]
        .concat(),
    );
    // The CA key stays in the token.
    let r = c.send(V, &item("Get", &uid(&ca_priv)));
    assert_eq!(r.failed(0).0, ResultReason::NotExtractable);

    let (_, srv_pub) = create_pair(&mut c, "db", "RSA", "2048");
    let cert = certify(
        &mut c,
        "Certify",
        &srv_pub,
        &[
            vendor("subject", "TextString", "CN=db.example.test"),
            vendor("san", "TextString", "DNS:db.example.test"),
            vendor("profile", "TextString", "tls-server"),
        ]
        .concat(),
    );
    let ca = pem(&mut c, &ca_cert, dir, "ca.pem");
    let leaf = pem(&mut c, &cert, dir, "db.pem");
    let (ok, out) = openssl(&["verify", "-CAfile", &ca, &leaf]);
    assert!(ok && out.contains(": OK"), "{out}");
    let (_, t) = openssl(&["x509", "-noout", "-text", "-in", &leaf]);
    assert!(t.contains("sha256WithRSAEncryption"), "{t}");
    assert!(t.contains("DNS:db.example.test"), "{t}");

    let renewed = certify(&mut c, "ReCertify", &cert, "");
    let again = pem(&mut c, &renewed, dir, "db2.pem");
    let (ok, out) = openssl(&["verify", "-CAfile", &ca, &again]);
    assert!(ok, "{out}");

    let r = c.send(V, &item("Validate", &uid(&renewed)));
    match r.ok(0) {
        ResponsePayload::Validate(p) => assert_eq!(p.validity_indicator, ValidityIndicator::Valid),
        other => panic!("{other:?}"),
    }

    // An EC CA key in the token (ECDSA P-256; the token's raw signature becomes the
    // DER the certificate carries), named by x-keygate-issuer.
    let (ec_priv, ec_pub) = create_pair(&mut c, "ec-ca", "EC", "256");
    let ec_ca = certify(
        &mut c,
        "Certify",
        &ec_pub,
        &[
            vendor("subject", "TextString", "CN=HSM EC CA"),
            vendor("profile", "TextString", "ca"),
            vendor("self-signed", "Boolean", "true"),
        ]
        .concat(),
    );
    let (_, leaf_pub) = create_pair(&mut c, "ec-leaf", "EC", "256");
    let leaf = certify(
        &mut c,
        "Certify",
        &leaf_pub,
        &[
            vendor("subject", "TextString", "CN=ec-leaf"),
            vendor("issuer", "TextString", &ec_priv),
        ]
        .concat(),
    );
    let ec_ca_pem = pem(&mut c, &ec_ca, dir, "ec-ca.pem");
    let ec_leaf_pem = pem(&mut c, &leaf, dir, "ec-leaf.pem");
    let (ok, out) = openssl(&["verify", "-CAfile", &ec_ca_pem, &ec_leaf_pem]);
    assert!(ok && out.contains(": OK"), "{out}");
    let (_, t) = openssl(&["x509", "-noout", "-text", "-in", &ec_leaf_pem]);
    assert!(t.contains("ecdsa-with-SHA256"), "{t}");
    // The RSA CA does not vouch for it.
    let (ok, _) = openssl(&["verify", "-CAfile", &ca, &ec_leaf_pem]);
    assert!(!ok);
}
