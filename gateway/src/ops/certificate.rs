//! The attributes a server derives from a registered X.509 certificate: X.509
//! Certificate Identifier, Subject and Issuer (KMIP 1.4 §3.10-3.12), Digital
//! Signature Algorithm (§3.16), and the 2.x per-field Certificate Subject/Issuer
//! attributes (CN, O, OU, Email, C, ST, L, UID, Serial Number, Title, DC, DN
//! Qualifier).

use super::OpError;
use kmip::messages::Attribute;
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{
    CertificateType, CryptographicAlgorithm, DigitalSignatureAlgorithm, ResultReason,
};
use x509_parser::der_parser::oid;
use x509_parser::der_parser::oid::Oid;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry as oids;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// The server-set attributes of the X.509 certificate `der`. A value that does not
/// parse as an X.509 certificate is refused: the server could not set the
/// attributes the specification requires of it.
pub fn attributes(der: &[u8]) -> Result<Vec<Attribute>, OpError> {
    let cert = match X509Certificate::from_der(der) {
        Ok(([], c)) => c,
        _ => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                "the Certificate Value is not a DER X.509 certificate",
            ));
        }
    };
    let mut out = vec![
        Attribute::standard(
            Tag::X_509_CERTIFICATE_IDENTIFIER,
            Value::Structure(vec![
                bytes(Tag::ISSUER_DISTINGUISHED_NAME, cert.issuer().as_raw()),
                bytes(Tag::CERTIFICATE_SERIAL_NUMBER, cert.raw_serial()),
            ]),
        ),
        Attribute::standard(
            Tag::X_509_CERTIFICATE_ISSUER,
            Value::Structure(vec![bytes(
                Tag::ISSUER_DISTINGUISHED_NAME,
                cert.issuer().as_raw(),
            )]),
        ),
    ];
    let mut subject = vec![bytes(
        Tag::SUBJECT_DISTINGUISHED_NAME,
        cert.subject().as_raw(),
    )];
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            let value: Option<Vec<u8>> = match name {
                GeneralName::DNSName(n) | GeneralName::RFC822Name(n) | GeneralName::URI(n) => {
                    Some(n.as_bytes().to_vec())
                }
                GeneralName::IPAddress(ip) => Some(ip.to_vec()),
                _ => None,
            };
            if let Some(v) = value {
                subject.push(bytes(Tag::SUBJECT_ALTERNATIVE_NAME, &v));
            }
        }
    }
    out.push(Attribute::standard(
        Tag::X_509_CERTIFICATE_SUBJECT,
        Value::Structure(subject),
    ));
    if let Some(alg) = signature_algorithm(&cert.signature_algorithm.algorithm) {
        out.push(Attribute::standard(
            Tag::DIGITAL_SIGNATURE_ALGORITHM,
            Value::Enumeration(alg.value()),
        ));
    }
    names(cert.subject(), &SUBJECT_FIELDS, &mut out);
    names(cert.issuer(), &ISSUER_FIELDS, &mut out);
    Ok(out)
}

/// Certificate Type and Certificate Length (KMIP 1.4 §3.8, §3.9): set by the
/// server from the certificate itself, for Register and Certify alike.
pub fn derived(kind: CertificateType, value: &[u8]) -> Vec<(Tag, Value)> {
    vec![
        (Tag::CERTIFICATE_TYPE, Value::Enumeration(kind.value())),
        (
            Tag::CERTIFICATE_LENGTH,
            Value::Integer(i32::try_from(value.len()).unwrap_or(i32::MAX)),
        ),
    ]
}

/// Cryptographic Algorithm and Length of a certificate (KMIP 1.4 §3.4, §3.5):
/// those of the public key it contains. Empty for a key type KMIP has no
/// algorithm for here, or a certificate that does not parse.
pub fn subject_key(der: &[u8]) -> Vec<(Tag, Value)> {
    use openssl::pkey::Id;
    let Ok(key) = openssl::x509::X509::from_der(der).and_then(|c| c.public_key()) else {
        return Vec::new();
    };
    let (alg, bits) = match key.id() {
        Id::RSA => (CryptographicAlgorithm::Rsa, key.bits()),
        Id::EC => (CryptographicAlgorithm::Ec, key.bits()),
        Id::DSA => (CryptographicAlgorithm::Dsa, key.bits()),
        Id::ED25519 => (CryptographicAlgorithm::Ed25519, 256),
        _ => return Vec::new(),
    };
    vec![
        (
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(alg.value()),
        ),
        (
            Tag::CRYPTOGRAPHIC_LENGTH,
            Value::Integer(i32::try_from(bits).unwrap_or(i32::MAX)),
        ),
    ]
}

fn bytes(tag: Tag, b: &[u8]) -> Ttlv {
    Ttlv::new(tag, Value::ByteString(b.to_vec()))
}

/// The name fields the 2.x attributes carry, in their tag order: CN, O, OU, Email,
/// C, ST, L, UID, Serial Number, Title, DC, DN Qualifier.
fn field_oids() -> [Oid<'static>; 12] {
    [
        oids::OID_X509_COMMON_NAME,
        oids::OID_X509_ORGANIZATION_NAME,
        oids::OID_X509_ORGANIZATIONAL_UNIT,
        oids::OID_PKCS9_EMAIL_ADDRESS,
        oids::OID_X509_COUNTRY_NAME,
        oids::OID_X509_STATE_OR_PROVINCE_NAME,
        oids::OID_X509_LOCALITY_NAME,
        oid!(0.9.2342 .19200300 .100 .1 .1),
        oids::OID_X509_SERIALNUMBER,
        oids::OID_X509_TITLE,
        oids::OID_DOMAIN_COMPONENT,
        oids::OID_X509_DN_QUALIFIER,
    ]
}

const SUBJECT_FIELDS: [Tag; 12] = [
    Tag::CERTIFICATE_SUBJECT_CN,
    Tag::CERTIFICATE_SUBJECT_O,
    Tag::CERTIFICATE_SUBJECT_OU,
    Tag::CERTIFICATE_SUBJECT_EMAIL,
    Tag::CERTIFICATE_SUBJECT_C,
    Tag::CERTIFICATE_SUBJECT_ST,
    Tag::CERTIFICATE_SUBJECT_L,
    Tag::CERTIFICATE_SUBJECT_UID,
    Tag::CERTIFICATE_SUBJECT_SERIAL_NUMBER,
    Tag::CERTIFICATE_SUBJECT_TITLE,
    Tag::CERTIFICATE_SUBJECT_DC,
    Tag::CERTIFICATE_SUBJECT_DN_QUALIFIER,
];

const ISSUER_FIELDS: [Tag; 12] = [
    Tag::CERTIFICATE_ISSUER_CN,
    Tag::CERTIFICATE_ISSUER_O,
    Tag::CERTIFICATE_ISSUER_OU,
    Tag::CERTIFICATE_ISSUER_EMAIL,
    Tag::CERTIFICATE_ISSUER_C,
    Tag::CERTIFICATE_ISSUER_ST,
    Tag::CERTIFICATE_ISSUER_L,
    Tag::CERTIFICATE_ISSUER_UID,
    Tag::CERTIFICATE_ISSUER_SERIAL_NUMBER,
    Tag::CERTIFICATE_ISSUER_TITLE,
    Tag::CERTIFICATE_ISSUER_DC,
    Tag::CERTIFICATE_ISSUER_DN_QUALIFIER,
];

/// One attribute per value of each field of `name` (a name may repeat a field,
/// e.g. several DC or OU). Values that are not character strings are skipped.
fn names(name: &X509Name<'_>, tags: &[Tag; 12], out: &mut Vec<Attribute>) {
    for (oid, tag) in field_oids().iter().zip(tags) {
        for v in name.iter_by_oid(oid) {
            if let Ok(s) = v.as_str() {
                out.push(Attribute::standard(*tag, Value::TextString(s.to_owned())));
            }
        }
    }
}

/// The KMIP Digital Signature Algorithm of a certificate's signature algorithm OID.
fn signature_algorithm(o: &Oid<'_>) -> Option<DigitalSignatureAlgorithm> {
    use DigitalSignatureAlgorithm as D;
    let table: [(Oid<'static>, D); 16] = [
        (oid!(1.2.840 .113549 .1 .1 .2), D::Md2WithRsaEncryption),
        (oid!(1.2.840 .113549 .1 .1 .4), D::Md5WithRsaEncryption),
        (oid!(1.2.840 .113549 .1 .1 .5), D::Sha1WithRsaEncryption),
        (oid!(1.2.840 .113549 .1 .1 .14), D::Sha224WithRsaEncryption),
        (oid!(1.2.840 .113549 .1 .1 .11), D::Sha256WithRsaEncryption),
        (oid!(1.2.840 .113549 .1 .1 .12), D::Sha384WithRsaEncryption),
        (oid!(1.2.840 .113549 .1 .1 .13), D::Sha512WithRsaEncryption),
        (oid!(1.2.840 .113549 .1 .1 .10), D::RsassaPss),
        (oid!(1.2.840 .10040 .4 .3), D::DsaWithSha1),
        (oid!(2.16.840 .1 .101 .3 .4 .3 .1), D::DsaWithSha224),
        (oid!(2.16.840 .1 .101 .3 .4 .3 .2), D::DsaWithSha256),
        (oid!(1.2.840 .10045 .4 .1), D::EcdsaWithSha1),
        (oid!(1.2.840 .10045 .4 .3 .1), D::EcdsaWithSha224),
        (oid!(1.2.840 .10045 .4 .3 .2), D::EcdsaWithSha256),
        (oid!(1.2.840 .10045 .4 .3 .3), D::EcdsaWithSha384),
        (oid!(1.2.840 .10045 .4 .3 .4), D::EcdsaWithSha512),
    ];
    table.into_iter().find(|(k, _)| k == o).map(|(_, d)| d)
}
