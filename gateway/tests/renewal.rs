//! The daemon's renewal and deactivation sweep with a short clock, on a real
//! daemon: `renewal_interval_secs = 1`, the vault's `renew_before = "6s"`, and a
//! certificate issued for 8 seconds through a `[[cert_profiles]]` profile. The
//! daemon must re-certify it by itself (a new certificate linked Replacement /
//! Replaced, which OpenSSL verifies against the vault CA), audit that as its
//! maintenance identity, and move the old certificate and an AES key to
//! Deactivated in their stored state at their Deactivation Dates (Locate by State
//! finds them).

mod common;

use common::*;
use kmip::messages::objects::ManagedObject;
use kmip::messages::payloads::ResponsePayload;
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::LinkType;
use std::process::{Command, Stdio};
use std::time::Duration;

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

fn create_pair(c: &mut Kmip, name: &str) -> (String, String) {
    let r = c.send(
        V2_1,
        &item(
            "CreateKeyPair",
            &format!(
                "<CommonAttributes>{}{}{}</CommonAttributes>\
                 <PrivateKeyAttributes>{}{}</PrivateKeyAttributes>\
                 <PublicKeyAttributes>{}</PublicKeyAttributes>",
                enumeration("CryptographicAlgorithm", "EC"),
                "<CryptographicLength type=\"Integer\" value=\"256\"/>",
                format_args!(
                    "<ActivationDate type=\"DateTime\" value=\"0x{:x}\"/>",
                    now() - 60
                ),
                name_attr(V2_1, name),
                "<CryptographicUsageMask type=\"Integer\" value=\"Sign\"/>",
                "<CryptographicUsageMask type=\"Integer\" value=\"Verify\"/>",
            ),
        ),
    );
    match r.ok(0) {
        ResponsePayload::CreateKeyPair(p) => (
            p.private_key_unique_identifier.clone(),
            p.public_key_unique_identifier.clone(),
        ),
        other => panic!("{other:?}"),
    }
}

fn certify(c: &mut Kmip, key: &str, attributes: &str) -> String {
    let r = c.send(
        V2_1,
        &item(
            "Certify",
            &format!("{}<Attributes>{attributes}</Attributes>", uid(key)),
        ),
    );
    match r.ok(0) {
        ResponsePayload::Certify(p) => p.unique_identifier.clone(),
        other => panic!("{other:?}"),
    }
}

fn pem(c: &mut Kmip, id: &str, path: &std::path::Path) {
    let r = c.send(V2_1, &item("Get", &uid(id)));
    let ManagedObject::Certificate(cert) = r.object(0) else {
        panic!("not a certificate")
    };
    let x = openssl::x509::X509::from_der(&cert.certificate_value).expect("der");
    std::fs::write(path, x.to_pem().unwrap()).unwrap();
}

fn located_in_state(c: &mut Kmip, state: &str) -> Vec<String> {
    c.send(
        V2_1,
        &item(
            "Locate",
            &format!("<Attributes>{}</Attributes>", enumeration("State", state)),
        ),
    )
    .located(0)
}

#[test]
fn the_daemon_renews_certificates_and_deactivates_expired_objects() {
    let prepared = Prepared::new("renewal");
    let text = std::fs::read_to_string(&prepared.config).unwrap();
    let text = text
        .replacen("listen = ", "renewal_interval_secs = 1\nlisten = ", 1)
        .replacen(
            "allow_extractable = true\n",
            "allow_extractable = true\nrenew_before = \"6s\"\n",
            1,
        );
    let text = format!(
        "{text}\n[[cert_profiles]]\nname = \"short-lived\"\nvalidity = \"8s\"\n\
         key_usage = [\"digitalSignature\"]\next_key_usage = [\"clientAuth\", \"1.3.6.1.4.1.99999.1\"]\n"
    );
    std::fs::write(&prepared.config, text).unwrap();
    let d = prepared.start();
    let mut c = d.connect("admin");
    let dir = d.dir.path();

    let (_, ca_pub) = create_pair(&mut c, "keygate-ca");
    let ca = certify(
        &mut c,
        &ca_pub,
        &[
            vendor("subject", "TextString", "CN=Renewal CA"),
            vendor("profile", "TextString", "ca"),
            vendor("self-signed", "Boolean", "true"),
        ]
        .concat(),
    );
    let (_, leaf_pub) = create_pair(&mut c, "agent");
    let first = certify(
        &mut c,
        &leaf_pub,
        &[
            vendor("subject", "TextString", "CN=agent"),
            vendor("profile", "TextString", "short-lived"),
        ]
        .concat(),
    );
    // An AES key that expires in 2 seconds.
    let aes = c
        .send(
            V2_1,
            &item(
                "Create",
                &format!(
                    "{}<Attributes>{}{}{}{}{}</Attributes>",
                    enumeration("ObjectType", "SymmetricKey"),
                    enumeration("CryptographicAlgorithm", "AES"),
                    "<CryptographicLength type=\"Integer\" value=\"256\"/>",
                    "<CryptographicUsageMask type=\"Integer\" value=\"Encrypt\"/>",
                    format_args!(
                        "<ActivationDate type=\"DateTime\" value=\"0x{:x}\"/>",
                        now() - 1
                    ),
                    format_args!(
                        "<DeactivationDate type=\"DateTime\" value=\"0x{:x}\"/>",
                        now() + 2
                    ),
                ),
            ),
        )
        .uid(0);

    // The profile from the config shaped the certificate.
    let first_pem = dir.join("first.pem");
    pem(&mut c, &first, &first_pem);
    let out = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-text",
            "-in",
            first_pem.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.contains("TLS Web Client Authentication, 1.3.6.1.4.1.99999.1"),
        "{t}"
    );

    // Due 2 seconds after issue (8 s validity, renewed 6 s before the end).
    let mut renewed = None;
    assert!(
        wait_until(WAIT, || {
            let a = c.get_attributes(V2_1, &first, &[]);
            renewed = links(&a, LinkType::ReplacementObjectLink).pop();
            renewed.is_some()
        }),
        "the daemon did not renew the certificate"
    );
    let renewed = renewed.unwrap();
    let a = c.get_attributes(V2_1, &renewed, &[]);
    assert_eq!(links(&a, LinkType::ReplacedObjectLink), vec![first.clone()]);
    let renewed_pem = dir.join("renewed.pem");
    pem(&mut c, &renewed, &renewed_pem);
    let ca_pem = dir.join("ca-cert.pem");
    pem(&mut c, &ca, &ca_pem);
    let out = Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            ca_pem.to_str().unwrap(),
            renewed_pem.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // The AES key, and later the first certificate, are Deactivated in the store.
    assert!(
        wait_until(WAIT, || located_in_state(&mut c, "Deactivated")
            .contains(&aes)),
        "the AES key was not deactivated"
    );
    assert!(
        wait_until(WAIT + Duration::from_secs(2), || {
            located_in_state(&mut c, "Deactivated").contains(&first)
        }),
        "the expired certificate was not deactivated"
    );

    // The renewal is in the audit log, by the maintenance identity.
    let log = std::fs::read_to_string(d.path("audit.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("(keygate maintenance)") && l.contains("ReCertify")),
        "{log}"
    );
}
