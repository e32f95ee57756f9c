//! PKCS#10 certificate requests (RFC 2986) as Certify and Re-certify take them:
//! DER (Certificate Request Type PKCS#10) or PEM. The request's self-signature is
//! verified before anything in it is believed.

use super::super::OpError;
use kmip::types::{CertificateRequestType, ResultReason};
use x509_cert::der::oid::AssociatedOid;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

/// Longest certificate request accepted (bytes): a CSR is a public key, a name and
/// a few extensions; anything larger is not one.
pub const MAX_CSR_LEN: usize = 64 * 1024;

/// What a verified certificate request contributes.
#[derive(Debug, Clone)]
pub struct Csr {
    /// Requested subject.
    pub subject: Name,
    /// The key to certify.
    pub spki: SubjectPublicKeyInfoOwned,
    /// Requested subject alternative names (extensionRequest).
    pub sans: Vec<GeneralName>,
}

/// Parses and verifies a certificate request of `kind`.
pub fn parse(kind: Option<CertificateRequestType>, value: &[u8]) -> Result<Csr, OpError> {
    let bad = |m: String| OpError::new(ResultReason::InvalidField, m);
    if value.len() > MAX_CSR_LEN {
        return Err(bad(format!(
            "certificate request of {} bytes exceeds {MAX_CSR_LEN}",
            value.len()
        )));
    }
    let req = match kind.unwrap_or(CertificateRequestType::Pkcs10) {
        CertificateRequestType::Pkcs10 => openssl::x509::X509Req::from_der(value),
        CertificateRequestType::Pem => openssl::x509::X509Req::from_pem(value),
        other => {
            return Err(OpError::new(
                ResultReason::FeatureNotSupported,
                format!("certificate requests of type {other:?} are not supported"),
            ))
        }
    }
    .map_err(|_| bad("the certificate request does not parse as PKCS#10".into()))?;
    // RFC 2986 §3: the signature proves possession of the private key.
    let key = req
        .public_key()
        .map_err(|_| bad("the certificate request's public key does not parse".into()))?;
    if !req.verify(&key).unwrap_or(false) {
        return Err(bad(
            "the certificate request's signature does not verify".into()
        ));
    }
    let der = req
        .to_der()
        .map_err(|_| bad("the certificate request does not encode".into()))?;
    let csr = CertReq::from_der(&der)
        .map_err(|e| bad(format!("the certificate request does not parse: {e}")))?;
    let mut sans = Vec::new();
    for attr in csr.info.attributes.iter() {
        if attr.oid != ExtensionReq::OID {
            continue;
        }
        for v in attr.values.iter() {
            let ext = ExtensionReq::from_der(&v.to_der().map_err(|e| bad(e.to_string()))?)
                .map_err(|e| bad(format!("bad extensionRequest: {e}")))?;
            for e in ext.0 {
                if e.extn_id == SubjectAltName::OID {
                    let san = SubjectAltName::from_der(e.extn_value.as_bytes())
                        .map_err(|e| bad(format!("bad requested subjectAltName: {e}")))?;
                    sans.extend(san.0);
                }
            }
        }
    }
    Ok(Csr {
        subject: csr.info.subject,
        spki: csr.info.public_key,
        sans,
    })
}
