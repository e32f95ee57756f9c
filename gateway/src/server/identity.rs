//! Who is on the other end of a connection, from its verified client certificate.

use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::nom;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The names in a client's certificate, as the authorisation layer sees them.
///
/// Built only from the leaf certificate that rustls verified against the
/// configured CA during the handshake (or that a resumed session carries from its
/// full handshake), never from anything the client sends afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The first Common Name of the subject, when it is a string type
    /// (UTF8String, PrintableString, IA5String, ...).
    pub common_name: Option<String>,
    /// `dNSName` entries of the Subject Alternative Name extension.
    pub dns_names: Vec<String>,
    /// `rfc822Name` (e-mail) entries of the Subject Alternative Name extension.
    pub emails: Vec<String>,
    /// `uniformResourceIdentifier` entries (e.g. SPIFFE IDs) of the Subject
    /// Alternative Name extension.
    pub uris: Vec<String>,
}

/// The verified leaf certificate could not be read by x509-parser, though the
/// TLS layer accepted it (x509-parser is stricter about some encodings, e.g. a
/// duplicated extension).
#[derive(Debug, thiserror::Error)]
#[error("client certificate: {0}")]
pub(crate) struct IdentityError(#[from] X509Error);

impl PeerIdentity {
    /// Reads the names from a DER certificate. Callers pass only the leaf of a
    /// chain the TLS layer has verified.
    pub(crate) fn from_verified_leaf(der: &[u8]) -> Result<Self, IdentityError> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| match e {
            nom::Err::Error(e) | nom::Err::Failure(e) => e,
            nom::Err::Incomplete(_) => X509Error::InvalidCertificate,
        })?;
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned);
        let mut identity = PeerIdentity {
            common_name,
            ..PeerIdentity::default()
        };
        let san = cert.subject_alternative_name()?;
        for name in san.iter().flat_map(|ext| &ext.value.general_names) {
            match name {
                GeneralName::DNSName(n) => identity.dns_names.push((*n).to_owned()),
                GeneralName::RFC822Name(n) => identity.emails.push((*n).to_owned()),
                GeneralName::URI(n) => identity.uris.push((*n).to_owned()),
                _ => {}
            }
        }
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    #[test]
    fn reads_cn_and_sans() {
        let mut params = CertificateParams::new(vec!["db1.example".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "mongodb-prod");
        params
            .subject_alt_names
            .push(SanType::Rfc822Name("dba@example.com".try_into().unwrap()));
        params
            .subject_alt_names
            .push(SanType::URI("spiffe://example/db".try_into().unwrap()));
        let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
        let id = PeerIdentity::from_verified_leaf(cert.der()).unwrap();
        assert_eq!(
            id,
            PeerIdentity {
                common_name: Some("mongodb-prod".to_owned()),
                dns_names: vec!["db1.example".to_owned()],
                emails: vec!["dba@example.com".to_owned()],
                uris: vec!["spiffe://example/db".to_owned()],
            }
        );
    }

    #[test]
    fn no_cn_no_san() {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
        let id = PeerIdentity::from_verified_leaf(cert.der()).unwrap();
        assert_eq!(id, PeerIdentity::default());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(PeerIdentity::from_verified_leaf(b"\x30\x03\x02\x01").is_err());
    }
}
