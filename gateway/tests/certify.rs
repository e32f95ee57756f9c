//! Certificates issued by the vault, end to end on a real daemon (software backend,
//! real mTLS) at KMIP 1.4 and 2.1: a vault CA bootstrapped with a self-signed
//! Certify, a TLS server certificate certified from a vault public key and one
//! from a PKCS#10 request made by OpenSSL, Re-certify, and Validate. Every
//! certificate is checked by the OpenSSL command line (`openssl verify`,
//! `openssl x509 -text`), and a TLS server using a vault-issued certificate and
//! its vault private key is accepted by `openssl s_client -verify_return_error`
//! with the vault CA.

mod common;

use common::*;
use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject};
use kmip::messages::payloads::{CreateKeyPairResponse, ResponsePayload};
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::{LinkType, ResultReason, ValidityIndicator};
use kmip::version::ProtocolVersion;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A vendor attribute `x-keygate-NAME` of XML type `ty`.
fn kg(v: ProtocolVersion, name: &str, ty: &str, value: &str) -> String {
    let value = format!("<AttributeValue type=\"{ty}\" value=\"{value}\"/>");
    if v.is_v1() {
        format!(
            "<Attribute>{}{value}</Attribute>",
            text("AttributeName", &format!("x-keygate-{name}"))
        )
    } else {
        format!(
            "<Attribute>{}{}{value}</Attribute>",
            text("VendorIdentification", "x"),
            text("AttributeName", &format!("keygate-{name}"))
        )
    }
}

fn kg_text(v: ProtocolVersion, name: &str, value: &str) -> String {
    kg(v, name, "TextString", value)
}

/// Create Key Pair with a Name on the private key, active now, the private key
/// extractable (so the test can run a TLS server with it).
fn create_pair(
    c: &mut Kmip,
    v: ProtocolVersion,
    name: &str,
    alg: &str,
    bits: u32,
) -> (String, String) {
    let (cm, pr, pu) = if v.is_v1() {
        (
            "CommonTemplateAttribute",
            "PrivateKeyTemplateAttribute",
            "PublicKeyTemplateAttribute",
        )
    } else {
        (
            "CommonAttributes",
            "PrivateKeyAttributes",
            "PublicKeyAttributes",
        )
    };
    let common = [
        attr(v, "CryptographicAlgorithm", "Enumeration", alg),
        attr(v, "CryptographicLength", "Integer", &bits.to_string()),
        attr(
            v,
            "ActivationDate",
            "DateTime",
            &format!("0x{:x}", now() - 60),
        ),
    ]
    .concat();
    let private = [
        name_attr(v, name),
        attr(v, "CryptographicUsageMask", "Integer", "Sign"),
        attr(v, "Extractable", "Boolean", "true"),
    ]
    .concat();
    let public = attr(v, "CryptographicUsageMask", "Integer", "Verify");
    let r = c.send(
        v,
        &item(
            "CreateKeyPair",
            &format!("<{cm}>{common}</{cm}><{pr}>{private}</{pr}><{pu}>{public}</{pu}>"),
        ),
    );
    match r.ok(0) {
        ResponsePayload::CreateKeyPair(CreateKeyPairResponse {
            private_key_unique_identifier,
            public_key_unique_identifier,
            ..
        }) => (
            private_key_unique_identifier.clone(),
            public_key_unique_identifier.clone(),
        ),
        other => panic!("not a Create Key Pair answer: {other:?}"),
    }
}

fn certify_item(v: ProtocolVersion, public: Option<&str>, extra: &str, attributes: &str) -> String {
    item(
        "Certify",
        &format!(
            "{}{extra}{}",
            public.map(uid).unwrap_or_default(),
            attrs(v, attributes)
        ),
    )
}

fn certified(r: &Reply, i: usize) -> String {
    match r.ok(i) {
        ResponsePayload::Certify(p) | ResponsePayload::ReCertify(p) => p.unique_identifier.clone(),
        other => panic!("not a Certify answer: {other:?}"),
    }
}

/// The vault CA: an EC P-256 pair named keygate-ca and its self-signed certificate.
fn bootstrap_ca(c: &mut Kmip, v: ProtocolVersion) -> (String, String) {
    let (ca_priv, ca_pub) = create_pair(c, v, "keygate-ca", "EC", 256);
    let r = c.send(
        v,
        &certify_item(
            v,
            Some(&ca_pub),
            "",
            &[
                kg_text(v, "subject", "CN=Keygate Test CA,O=Keygate"),
                kg_text(v, "profile", "ca"),
                kg(v, "self-signed", "Boolean", "true"),
            ]
            .concat(),
        ),
    );
    let _ = ca_priv;
    (ca_pub, certified(&r, 0))
}

fn get_der(c: &mut Kmip, v: ProtocolVersion, id: &str) -> Vec<u8> {
    let r = c.send(v, &item("Get", &uid(id)));
    match r.object(0) {
        ManagedObject::Certificate(cert) => cert.certificate_value.clone(),
        other => panic!("not a certificate: {other:?}"),
    }
}

fn get_private_pkcs8(c: &mut Kmip, v: ProtocolVersion, id: &str) -> Vec<u8> {
    let r = c.send(
        v,
        &item(
            "Get",
            &format!("{}{}", uid(id), enumeration("KeyFormatType", "PKCS_8")),
        ),
    );
    match r.object(0) {
        ManagedObject::PrivateKey(k) => match &k.key_block.key_value {
            Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(b),
                ..
            }) => b.clone(),
            other => panic!("no key bytes: {other:?}"),
        },
        other => panic!("not a private key: {other:?}"),
    }
}

fn write_pem(dir: &Path, name: &str, der: &[u8]) -> PathBuf {
    let pem = openssl::x509::X509::from_der(der)
        .expect("vault certificate parses")
        .to_pem()
        .expect("pem");
    let p = dir.join(name);
    std::fs::write(&p, pem).expect("write pem");
    p
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

/// `openssl verify -CAfile ca cert`: (success, output).
fn verify(ca: &Path, cert: &Path) -> (bool, String) {
    openssl(&[
        "verify",
        "-CAfile",
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
    ])
}

/// `openssl x509 -noout -text` of `cert`, names in RFC 2253 form.
fn x509_text(cert: &Path) -> (bool, String) {
    openssl(&[
        "x509",
        "-noout",
        "-text",
        "-nameopt",
        "RFC2253",
        "-in",
        cert.to_str().unwrap(),
    ])
}

fn links(a: &Attributes, kind: LinkType) -> Vec<String> {
    a.items
        .iter()
        .filter_map(|x| match x {
            Attribute::Standard(t) if t.tag == Tag::LINK => {
                if t.child(Tag::LINK_TYPE)?.value != Value::Enumeration(kind.value()) {
                    return None;
                }
                match &t.child(Tag::LINKED_OBJECT_IDENTIFIER)?.value {
                    Value::TextString(s) => Some(s.clone()),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

fn validate(c: &mut Kmip, v: ProtocolVersion, inner: &str) -> ValidityIndicator {
    let r = c.send(v, &item("Validate", inner));
    match r.ok(0) {
        ResponsePayload::Validate(p) => p.validity_indicator,
        other => panic!("not a Validate answer: {other:?}"),
    }
}

#[test]
fn vault_issued_tls_certificates_verify_with_openssl() {
    for v in [V1_4, V2_1] {
        let d = Daemon::start("certify");
        let mut c = d.connect("admin");
        let dir = d.dir.path();
        let (_, ca_cert) = bootstrap_ca(&mut c, v);
        let ca_pem = write_pem(dir, "vault-ca.pem", &get_der(&mut c, v, &ca_cert));
        let (ca_ok, ca_text) = x509_text(&ca_pem);
        assert!(ca_ok, "{ca_text}");
        assert!(ca_text.contains("CA:TRUE"), "{ca_text}");
        assert!(ca_text.contains("Certificate Sign"), "{ca_text}");

        // A TLS server certificate for a vault RSA key.
        let (srv_priv, srv_pub) = create_pair(&mut c, v, "web", "RSA", 2048);
        let r = c.send(
            v,
            &certify_item(
                v,
                Some(&srv_pub),
                "",
                &[
                    kg_text(v, "subject", "CN=localhost,O=Keygate Tests,C=DE"),
                    kg_text(v, "san", "DNS:localhost"),
                    kg_text(v, "san", "IP:127.0.0.1"),
                    kg_text(v, "profile", "tls-server"),
                    kg(v, "validity", "Integer", "86400"),
                ]
                .concat(),
            ),
        );
        let cert = certified(&r, 0);
        let cert_pem = write_pem(dir, "server.pem", &get_der(&mut c, v, &cert));
        let (ok, out) = verify(&ca_pem, &cert_pem);
        assert!(ok && out.contains(": OK"), "openssl verify: {out}");
        let (ok, t) = x509_text(&cert_pem);
        assert!(ok, "{t}");
        for want in [
            "Subject: CN=localhost,O=Keygate Tests,C=DE",
            "Issuer: CN=Keygate Test CA,O=Keygate",
            "DNS:localhost, IP Address:127.0.0.1",
            "TLS Web Server Authentication",
            "Digital Signature, Key Encipherment",
            "CA:FALSE",
            "Version: 3 (0x2)",
            "ecdsa-with-SHA256",
        ] {
            assert!(t.contains(want), "{want:?} missing from\n{t}");
        }

        // Attributes and links of the certificate and its keys.
        let a = c.get_attributes(v, &cert, &[]);
        assert_eq!(links(&a, LinkType::PublicKeyLink), vec![srv_pub.clone()]);
        assert_eq!(links(&a, LinkType::CertificateLink), vec![ca_cert.clone()]);
        assert!(a.get(Tag::X_509_CERTIFICATE_SUBJECT).is_some(), "{a:?}");
        assert!(a.get(Tag::CERTIFICATE_LENGTH).is_some(), "{a:?}");
        // Cryptographic Algorithm / Length are the subject key's (1.4 §3.4, §3.5).
        assert_eq!(
            a.cryptographic_algorithm(),
            Some(kmip::types::CryptographicAlgorithm::Rsa)
        );
        assert_eq!(a.cryptographic_length(), Some(2048));
        for key in [&srv_pub, &srv_priv] {
            let k = c.get_attributes(v, key, &[]);
            assert_eq!(links(&k, LinkType::CertificateLink), vec![cert.clone()]);
        }

        // Validate: the chain is valid against the vault CA; not at a date past
        // its end; a certificate the vault does not know the issuer of is Unknown.
        assert_eq!(validate(&mut c, v, &uid(&cert)), ValidityIndicator::Valid);
        let later = format!(
            "{}{}",
            uid(&cert),
            format_args!(
                "<ValidityDate type=\"DateTime\" value=\"0x{:x}\"/>",
                now() + 2 * 86_400
            )
        );
        assert_eq!(validate(&mut c, v, &later), ValidityIndicator::Invalid);
        let foreign = foreign_certificate(dir);
        let given = format!(
            "<Certificate>{}<CertificateValue type=\"ByteString\" value=\"{}\"/></Certificate>",
            enumeration("CertificateType", "X_509"),
            hex::encode(&foreign)
        );
        assert_eq!(
            validate(&mut c, v, &given),
            ValidityIndicator::ValidityUnknown
        );

        // Re-certify: a new certificate for the same key, linked to the old one.
        let r = c.send(v, &item("ReCertify", &uid(&cert)));
        let renewed = certified(&r, 0);
        assert_ne!(renewed, cert);
        let old = c.get_attributes(v, &cert, &[]);
        assert_eq!(
            links(&old, LinkType::ReplacementObjectLink),
            vec![renewed.clone()]
        );
        let new = c.get_attributes(v, &renewed, &[]);
        assert_eq!(
            links(&new, LinkType::ReplacedObjectLink),
            vec![cert.clone()]
        );
        let renewed_pem = write_pem(dir, "renewed.pem", &get_der(&mut c, v, &renewed));
        let (ok, out) = verify(&ca_pem, &renewed_pem);
        assert!(ok, "openssl verify of the re-certified certificate: {out}");
        let (_, t) = x509_text(&renewed_pem);
        assert!(t.contains("DNS:localhost, IP Address:127.0.0.1"), "{t}");
        let k = c.get_attributes(v, &srv_priv, &[]);
        assert_eq!(
            links(&k, LinkType::CertificateLink),
            vec![cert.clone(), renewed.clone()]
        );

        if v == V2_1 {
            // The TLS server: vault certificate + vault private key, checked by
            // s_client against the vault CA only.
            let key_der = get_private_pkcs8(&mut c, v, &srv_priv);
            let key = openssl::pkey::PKey::private_key_from_der(&key_der).expect("pkcs8");
            let key_pem = dir.join("server.key");
            std::fs::write(&key_pem, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
            tls_round_trip(&cert_pem, &key_pem, &ca_pem);
        }
    }
}

#[test]
fn certify_from_a_pkcs10_request() {
    let v = V2_1;
    let d = Daemon::start("certify-csr");
    let mut c = d.connect("admin");
    let dir = d.dir.path();
    let (_, ca_cert) = bootstrap_ca(&mut c, v);
    let ca_pem = write_pem(dir, "vault-ca.pem", &get_der(&mut c, v, &ca_cert));
    let key = dir.join("client.key");
    let csr = dir.join("client.csr");
    let (ok, out) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-subj",
        "/CN=db-client/O=Keygate Tests",
        "-addext",
        "subjectAltName=DNS:db.example.test",
        "-outform",
        "DER",
        "-out",
        csr.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let der = std::fs::read(&csr).unwrap();
    let request = |bytes: &[u8]| {
        format!(
            "{}<CertificateRequestValue type=\"ByteString\" value=\"{}\"/>",
            enumeration("CertificateRequestType", "PKCS_10"),
            hex::encode(bytes)
        )
    };
    let r = c.send(
        v,
        &certify_item(
            v,
            None,
            &request(&der),
            &kg_text(v, "profile", "tls-client"),
        ),
    );
    let cert = certified(&r, 0);
    let pem = write_pem(dir, "client.pem", &get_der(&mut c, v, &cert));
    let (ok, out) = verify(&ca_pem, &pem);
    assert!(ok && out.contains(": OK"), "{out}");
    let (_, t) = x509_text(&pem);
    for want in [
        // RFC 2253 prints the last RDN first: the CSR had CN first.
        "Subject: O=Keygate Tests,CN=db-client",
        "DNS:db.example.test",
        "TLS Web Client Authentication",
    ] {
        assert!(t.contains(want), "{want:?} missing from\n{t}");
    }
    // The certificate is for the CSR's key: its public key matches the key file.
    let (_, from_cert) = openssl(&["x509", "-noout", "-pubkey", "-in", pem.to_str().unwrap()]);
    let (_, from_key) = openssl(&["pkey", "-pubout", "-in", key.to_str().unwrap()]);
    assert_eq!(from_cert, from_key);

    // A request whose signature does not verify is refused.
    let mut bad = der.clone();
    let n = bad.len();
    bad[n - 5] ^= 0x01;
    let r = c.send(v, &certify_item(v, None, &request(&bad), ""));
    assert_eq!(r.failed(0), ResultReason::InvalidField);
}

#[test]
fn certify_without_a_ca_is_refused() {
    let v = V2_1;
    let d = Daemon::start("certify-no-ca");
    let mut c = d.connect("admin");
    let (_, public) = create_pair(&mut c, v, "lonely", "EC", 256);
    let r = c.send(
        v,
        &certify_item(v, Some(&public), "", &kg_text(v, "subject", "CN=lonely")),
    );
    assert_eq!(r.failed(0), ResultReason::InvalidField);
}

/// A self-signed CA certificate made by OpenSSL, unknown to the vault.
fn foreign_certificate(dir: &Path) -> Vec<u8> {
    let out = dir.join("foreign.der");
    let key = dir.join("foreign.key");
    let (ok, text) = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-subj",
        "/CN=Elsewhere CA",
        "-days",
        "2",
        "-outform",
        "DER",
        "-out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    std::fs::read(out).unwrap()
}

/// `openssl s_server` with the vault-issued certificate and key; `openssl
/// s_client -verify_return_error` with the vault CA must complete the handshake
/// and see the server's answer.
fn tls_round_trip(cert: &Path, key: &Path, ca: &Path) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &port.to_string(),
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
            "-naccept",
            "1",
            "-www",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("s_server");
    // s_server says ACCEPT once it listens (a probe connection would use up its
    // single accept); it exits, ending the read, if it cannot start.
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let listening = lines.any(|l| l.is_ok_and(|l| l.contains("ACCEPT")));
    assert!(listening, "s_server did not start");
    // -www answers an HTTP request with a status page and closes: proof the data
    // path works, and the end of the session for s_client (-quiet ignores EOF).
    // `timeout` bounds the client: a handshake that stalls fails the test.
    let mut client = Command::new("timeout")
        .args([
            "20",
            "openssl",
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            "-verify_hostname",
            "localhost",
            "-verify_return_error",
            "-CAfile",
            ca.to_str().unwrap(),
            "-quiet",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("s_client");
    client
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    client
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    client
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = client.wait().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(status.success(), "s_client failed: {err}");
    assert!(
        out.contains("HTTP/1.0 200 ok"),
        "no answer over TLS: {out} / {err}"
    );
    assert!(err.contains("verify return:1"), "{err}");
}

#[test]
fn a_csr_for_a_vault_key_links_the_certificate_to_it() {
    let v = V2_1;
    let d = Daemon::start("certify-csr-link");
    let mut c = d.connect("admin");
    let dir = d.dir.path();
    bootstrap_ca(&mut c, v);
    // A CSR signed outside with the vault key's own material (the key is
    // extractable): the certificate is matched to the vault key by its
    // SubjectPublicKeyInfo.
    let (private, public) = create_pair(&mut c, v, "matched", "EC", 256);
    let key = openssl::pkey::PKey::private_key_from_der(&get_private_pkcs8(&mut c, v, &private))
        .expect("pkcs8");
    let key_pem = dir.join("matched.key");
    std::fs::write(&key_pem, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let csr = dir.join("matched.csr");
    let (ok, out) = openssl(&[
        "req",
        "-new",
        "-key",
        key_pem.to_str().unwrap(),
        "-subj",
        "/CN=matched",
        "-outform",
        "DER",
        "-out",
        csr.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let request = format!(
        "{}<CertificateRequestValue type=\"ByteString\" value=\"{}\"/>",
        enumeration("CertificateRequestType", "PKCS_10"),
        hex::encode(std::fs::read(&csr).unwrap())
    );
    let r = c.send(v, &certify_item(v, None, &request, ""));
    let cert = certified(&r, 0);
    let a = c.get_attributes(v, &cert, &[]);
    assert_eq!(links(&a, LinkType::PublicKeyLink), vec![public.clone()]);
    for k in [&public, &private] {
        let ka = c.get_attributes(v, k, &[]);
        assert_eq!(links(&ka, LinkType::CertificateLink), vec![cert.clone()]);
    }
}

#[test]
fn validate_refuses_a_chain_through_a_certificate_that_is_not_a_ca() {
    let v = V2_1;
    let d = Daemon::start("validate-not-ca");
    let mut c = d.connect("admin");
    let dir = d.dir.path();
    bootstrap_ca(&mut c, v);
    // A vault-issued end-entity certificate whose (extractable) key then signs a
    // certificate outside the vault, as a CA would.
    let (inter_priv, inter_pub) = create_pair(&mut c, v, "not-a-ca", "EC", 256);
    let r = c.send(
        v,
        &certify_item(
            v,
            Some(&inter_pub),
            "",
            &kg_text(v, "subject", "CN=not a CA"),
        ),
    );
    let inter = certified(&r, 0);
    let inter_pem = write_pem(dir, "inter.pem", &get_der(&mut c, v, &inter));
    let key = openssl::pkey::PKey::private_key_from_der(&get_private_pkcs8(&mut c, v, &inter_priv))
        .expect("pkcs8");
    let inter_key = dir.join("inter.key");
    std::fs::write(&inter_key, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let (leaf_key, leaf_csr, leaf) = (dir.join("l.key"), dir.join("l.csr"), dir.join("l.der"));
    let (ok, out) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        leaf_key.to_str().unwrap(),
        "-subj",
        "/CN=leaf",
        "-out",
        leaf_csr.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = openssl(&[
        "x509",
        "-req",
        "-in",
        leaf_csr.to_str().unwrap(),
        "-CA",
        inter_pem.to_str().unwrap(),
        "-CAkey",
        inter_key.to_str().unwrap(),
        "-days",
        "1",
        "-outform",
        "DER",
        "-out",
        leaf.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let leaf_der = std::fs::read(&leaf).unwrap();
    let given = |der: &[u8]| {
        format!(
            "<Certificate>{}<CertificateValue type=\"ByteString\" value=\"{}\"/></Certificate>",
            enumeration("CertificateType", "X_509"),
            hex::encode(der)
        )
    };
    // The path leaf -> not-a-ca -> vault CA has good signatures but a non-CA issuer.
    let chain = format!("{}{}", given(&leaf_der), uid(&inter));
    assert_eq!(validate(&mut c, v, &chain), ValidityIndicator::Invalid);
    // The vault-issued certificate alone is valid; with its signature altered, not.
    assert_eq!(validate(&mut c, v, &uid(&inter)), ValidityIndicator::Valid);
    let mut bad = get_der(&mut c, v, &inter);
    let n = bad.len();
    bad[n - 3] ^= 0x01;
    assert_eq!(
        validate(&mut c, v, &given(&bad)),
        ValidityIndicator::Invalid
    );
    // Revoked, it is no longer valid.
    let r = c.send(
        v,
        &item(
            "Revoke",
            &format!(
                "{}<RevocationReason>{}</RevocationReason>",
                uid(&inter),
                enumeration("RevocationReasonCode", "CessationOfOperation")
            ),
        ),
    );
    r.ok(0);
    assert_eq!(
        validate(&mut c, v, &uid(&inter)),
        ValidityIndicator::Invalid
    );
}

#[test]
fn recertify_with_a_new_request_certifies_the_rekeyed_key() {
    let v = V1_4;
    let d = Daemon::start("recertify-csr");
    let mut c = d.connect("admin");
    let dir = d.dir.path();
    let (_, ca_cert) = bootstrap_ca(&mut c, v);
    let ca_pem = write_pem(dir, "ca.pem", &get_der(&mut c, v, &ca_cert));
    let (_, public) = create_pair(&mut c, v, "svc", "EC", 256);
    let r = c.send(
        v,
        &certify_item(
            v,
            Some(&public),
            "",
            &[
                kg_text(v, "subject", "CN=svc"),
                kg_text(v, "san", "svc.test"),
            ]
            .concat(),
        ),
    );
    let old = certified(&r, 0);
    // The service made itself a new key outside: Re-certify with its request.
    let (key, csr) = (dir.join("new.key"), dir.join("new.csr"));
    let (ok, out) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-subj",
        "/CN=ignored-by-carry",
        "-outform",
        "DER",
        "-out",
        csr.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let r = c.send(
        v,
        &item(
            "ReCertify",
            &format!(
                "{}{}<CertificateRequestValue type=\"ByteString\" value=\"{}\"/>",
                uid(&old),
                enumeration("CertificateRequestType", "PKCS_10"),
                hex::encode(std::fs::read(&csr).unwrap())
            ),
        ),
    );
    let new = certified(&r, 0);
    let pem = write_pem(dir, "new.pem", &get_der(&mut c, v, &new));
    let (ok, out) = verify(&ca_pem, &pem);
    assert!(ok, "{out}");
    let (_, from_cert) = openssl(&["x509", "-noout", "-pubkey", "-in", pem.to_str().unwrap()]);
    let (_, from_key) = openssl(&["pkey", "-pubout", "-in", key.to_str().unwrap()]);
    assert_eq!(
        from_cert, from_key,
        "the new certificate is for the new key"
    );
    // The carried request attributes (subject, SAN) win over the CSR's subject.
    let (_, t) = x509_text(&pem);
    assert!(
        t.contains("Subject: CN=svc") && t.contains("DNS:svc.test"),
        "{t}"
    );
    let a = c.get_attributes(v, &new, &[]);
    assert_eq!(links(&a, LinkType::ReplacedObjectLink), vec![old.clone()]);
    let o = c.get_attributes(v, &old, &[]);
    assert_eq!(
        links(&o, LinkType::ReplacementObjectLink),
        vec![new.clone()]
    );
}

/// Register of a certificate whose key pair is in the vault links them both ways,
/// as Certify does (issue 6: Register/Get of certificates fill the links).
#[test]
fn a_registered_certificate_links_to_its_vault_key_pair() {
    let d = Daemon::start("certify-register-link");
    let mut c = d.connect("admin");
    let dir = d.dir.path();
    for v in [V1_4, V2_1] {
        let (private, public) = create_pair(&mut c, v, &format!("reg-{v}"), "EC", 256);
        let key =
            openssl::pkey::PKey::private_key_from_der(&get_private_pkcs8(&mut c, v, &private))
                .expect("pkcs8");
        let key_pem = dir.join(format!("reg-{v}.key"));
        std::fs::write(&key_pem, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let cert = dir.join(format!("reg-{v}.der"));
        let (ok, out) = openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            key_pem.to_str().unwrap(),
            "-subj",
            "/CN=registered",
            "-days",
            "2",
            "-outform",
            "DER",
            "-out",
            cert.to_str().unwrap(),
        ]);
        assert!(ok, "{out}");
        let r = c.send(
            v,
            &item(
                "Register",
                &format!(
                    "{}{}<Certificate>{}<CertificateValue type=\"ByteString\" value=\"{}\"/></Certificate>",
                    enumeration("ObjectType", "Certificate"),
                    attrs(v, ""),
                    enumeration("CertificateType", "X_509"),
                    hex::encode(std::fs::read(&cert).unwrap())
                ),
            ),
        );
        let uid = r.uid(0);
        let a = c.get_attributes(v, &uid, &[]);
        assert_eq!(
            links(&a, LinkType::PublicKeyLink),
            vec![public.clone()],
            "{v}"
        );
        for k in [&public, &private] {
            let ka = c.get_attributes(v, k, &[]);
            assert_eq!(
                links(&ka, LinkType::CertificateLink),
                vec![uid.clone()],
                "{v}"
            );
        }
        // A certificate of a key the vault does not hold stays unlinked.
        let foreign = foreign_certificate(dir);
        let r = c.send(
            v,
            &item(
                "Register",
                &format!(
                    "{}{}<Certificate>{}<CertificateValue type=\"ByteString\" value=\"{}\"/></Certificate>",
                    enumeration("ObjectType", "Certificate"),
                    attrs(v, ""),
                    enumeration("CertificateType", "X_509"),
                    hex::encode(foreign)
                ),
            ),
        );
        let a = c.get_attributes(v, &r.uid(0), &[]);
        assert!(links(&a, LinkType::PublicKeyLink).is_empty(), "{v}");
    }
}
