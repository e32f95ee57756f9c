//! The development PKI `keygate init` and `keygate client add` create: a CA, the
//! daemon's server certificate and one client certificate per identity.
//!
//! Keys are ECDSA P-256, signatures ECDSA with SHA-256, serial numbers 128 random
//! bits. Private keys are written as PKCS#8 PEM with mode 0600, certificates as PEM
//! with mode 0644; neither ever overwrites an existing file.
//!
//! rcgen 0.13 can only issue from an rcgen `Certificate`, and reading one back from
//! PEM needs its optional `x509-parser` feature. [`Ca::from_pem`] instead rebuilds the
//! issuer from the parsed CA certificate (subject and subject key identifier) and
//! then checks that every certificate it issues names exactly the CA's subject bytes,
//! so a CA whose name rcgen cannot reproduce is refused rather than producing
//! certificates that do not chain.

use rcgen::{
    BasicConstraints, BmpString, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
    UniversalString, PKCS_ECDSA_P256_SHA256,
};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};
use zeroize::Zeroizing;

/// Subject common name of a CA made by [`Ca::generate`].
pub const CA_COMMON_NAME: &str = "Keygate CA";

/// Lifetime of a CA made by [`Ca::generate`]: ten years.
pub const CA_VALIDITY: Duration = Duration::days(3653);

/// Lifetime of server and client certificates: two years (never past the CA's end).
pub const LEAF_VALIDITY: Duration = Duration::days(730);

/// Certificates start this long before they are made, so a peer whose clock is a
/// little behind does not reject a fresh certificate as not yet valid.
const BACKDATE: Duration = Duration::hours(1);

/// Mode of private key files.
pub const KEY_FILE_MODE: u32 = 0o600;

/// Mode of certificate files.
pub const CERT_FILE_MODE: u32 = 0o644;

/// Subject alternative names every server certificate carries, so a local client
/// can connect by name or loopback address.
pub const DEFAULT_SERVER_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Why a certificate could not be made, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// rcgen refused the parameters or failed to sign.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file could not be written (including: it already exists).
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The CA certificate is not a PEM X.509 certificate.
    #[error("CA certificate is not a valid PEM certificate: {reason}")]
    BadCertificate {
        /// What is wrong.
        reason: String,
    },
    /// The CA key is not a PEM private key rcgen can sign with.
    #[error("CA key is not a usable PEM private key: {0}")]
    BadKey(rcgen::Error),
    /// The CA key does not belong to the CA certificate.
    #[error("CA key does not match the CA certificate's public key")]
    KeyMismatch,
    /// The certificate is not a CA (no basicConstraints CA:TRUE).
    #[error("the CA certificate is not a CA certificate (basicConstraints CA:TRUE missing)")]
    NotACa,
    /// The CA's subject cannot be reproduced byte for byte, so issued certificates
    /// would not chain to it.
    #[error("the CA certificate's subject name cannot be reproduced by the issuer (multi-valued or unusual name encoding)")]
    UnreproducibleIssuer,
    /// A server host name is neither a DNS name nor an IP address.
    #[error("{name:?} is not a valid DNS name or IP address")]
    BadHostname {
        /// The value given.
        name: String,
    },
    /// The system random number generator failed.
    #[error("random number generator failed: {0}")]
    Rng(String),
}

/// A certificate authority able to issue server and client certificates.
pub struct Ca {
    /// The issuer as rcgen needs it: subject, key identifier and key usages of the
    /// real CA certificate. Its own DER is not the CA certificate (see module docs).
    issuer: rcgen::Certificate,
    key: KeyPair,
    cert_der: Vec<u8>,
    cert_pem: String,
    subject_der: Vec<u8>,
    not_after: OffsetDateTime,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.issuer.params().distinguished_name)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// A freshly issued certificate and its private key.
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 PEM; wiped from memory when dropped.
    pub key_pem: Zeroizing<String>,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

impl Issued {
    /// Writes the certificate (0644) and the key (0600); neither file may exist.
    /// If the second write fails the first file is removed.
    pub fn write(&self, cert_path: &Path, key_path: &Path) -> Result<(), PkiError> {
        write_private_key(key_path, &self.key_pem)?;
        if let Err(e) = write_certificate(cert_path, &self.cert_pem) {
            let _ = fs::remove_file(key_path);
            return Err(e);
        }
        Ok(())
    }
}

impl Ca {
    /// Makes a new self-signed CA: CN "Keygate CA", ten years, basicConstraints CA
    /// with path length 0 (it signs end-entity certificates only), key usages
    /// keyCertSign and cRLSign.
    pub fn generate() -> Result<Ca, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, CA_COMMON_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now - BACKDATE;
        params.not_after = now + CA_VALIDITY;
        params.serial_number = Some(random_serial()?);
        let cert = params.self_signed(&key)?;
        let cert_der = cert.der().to_vec();
        let cert_pem = cert.pem();
        let (subject_der, not_after) = {
            let parsed = parse_cert(&cert_der)?;
            (
                parsed.tbs_certificate.subject.as_raw().to_vec(),
                parsed.validity().not_after.to_datetime(),
            )
        };
        Ok(Ca {
            issuer: cert,
            key,
            cert_der,
            cert_pem,
            subject_der,
            not_after,
        })
    }

    /// Reads a CA back from its certificate and key files (PEM).
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Ca, PkiError> {
        let read = |p: &Path| {
            fs::read_to_string(p).map_err(|source| PkiError::Read {
                path: p.to_path_buf(),
                source,
            })
        };
        let cert_pem = read(cert_path)?;
        let key_pem = Zeroizing::new(read(key_path)?);
        Self::from_pem(&cert_pem, &key_pem)
    }

    /// A CA from its certificate and key (PEM). Checks the certificate is a CA and
    /// the key is its key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        let cert_der = pem_certificate(cert_pem)?;
        let key = KeyPair::from_pem(key_pem).map_err(PkiError::BadKey)?;
        let parsed = parse_cert(&cert_der)?;

        if parsed.tbs_certificate.subject_pki.raw != key.public_key_der().as_slice() {
            return Err(PkiError::KeyMismatch);
        }
        match parsed.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => {}
            _ => return Err(PkiError::NotACa),
        }

        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(&parsed)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.key_identifier_method = parsed
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => {
                    Some(KeyIdMethod::PreSpecified(id.0.to_vec()))
                }
                _ => None,
            })
            .unwrap_or(KeyIdMethod::Sha256);
        let subject_der = parsed.tbs_certificate.subject.as_raw().to_vec();
        let not_after = parsed.validity().not_after.to_datetime();
        let issuer = params.self_signed(&key)?;
        Ok(Ca {
            issuer,
            key,
            cert_der,
            cert_pem: cert_pem.to_owned(),
            subject_der,
            not_after,
        })
    }

    /// The CA certificate, PEM (as read, for a loaded CA).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.key.serialize_pem())
    }

    /// Writes the CA certificate (0644) and key (0600); neither file may exist.
    pub fn write(&self, cert_path: &Path, key_path: &Path) -> Result<(), PkiError> {
        write_private_key(key_path, &self.key_pem())?;
        if let Err(e) = write_certificate(cert_path, &self.cert_pem) {
            let _ = fs::remove_file(key_path);
            return Err(e);
        }
        Ok(())
    }

    /// Issues the daemon's certificate: CN = the first of `hostnames` (or
    /// "localhost"); subject alternative names localhost, 127.0.0.1, ::1 and each of
    /// `hostnames` (DNS names or IP addresses); extended key usage serverAuth.
    pub fn issue_server(&self, hostnames: &[String]) -> Result<Issued, PkiError> {
        for h in hostnames {
            check_hostname(h)?;
        }
        let mut names: Vec<String> = Vec::new();
        for n in DEFAULT_SERVER_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(hostnames.iter().cloned())
        {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let cn = hostnames.first().map(String::as_str).unwrap_or("localhost");
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// Issues a client certificate for identity `name` (the subject CN the daemon
    /// matches against `[[identities]]`); extended key usage clientAuth.
    pub fn issue_client(&self, name: &str) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    fn issue(&self, mut params: CertificateParams) -> Result<Issued, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = (now + LEAF_VALIDITY).min(self.not_after);
        params.serial_number = Some(random_serial()?);
        // No Basic Constraints extension on leaves: an explicit `cA FALSE` is the
        // DEFAULT value, which strict DER forbids encoding (Python's `cryptography`,
        // used by PyKMIP's server, refuses such certificates).
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer, &self.key)?;
        let cert_der = cert.der().to_vec();
        if parse_cert(&cert_der)?.tbs_certificate.issuer.as_raw() != self.subject_der.as_slice() {
            return Err(PkiError::UnreproducibleIssuer);
        }
        Ok(Issued {
            cert_pem: cert.pem(),
            cert_der,
            key_pem: Zeroizing::new(key.serialize_pem()),
        })
    }
}

/// Writes a private key: created with mode 0600 (never readable by others, not even
/// briefly), refusing to replace an existing file, synced to disk.
pub fn write_private_key(path: &Path, pem: &str) -> Result<(), PkiError> {
    create_file(path, pem.as_bytes(), KEY_FILE_MODE).map_err(|source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a certificate: mode 0644, refusing to replace an existing file.
pub fn write_certificate(path: &Path, pem: &str) -> Result<(), PkiError> {
    create_file(path, pem.as_bytes(), CERT_FILE_MODE).map_err(|source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates `path` (which must not exist) with exactly `mode` and `contents`, synced
/// to disk. On a failed write the partial file is removed.
pub(crate) fn create_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    let result = (|| {
        // The umask only narrows the creation mode; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result
}

fn check_hostname(name: &str) -> Result<(), PkiError> {
    match rustls::pki_types::ServerName::try_from(name) {
        Ok(_) => Ok(()),
        Err(_) => Err(PkiError::BadHostname {
            name: name.to_owned(),
        }),
    }
}

/// 16 random bytes, positive and without a leading zero byte (RFC 5280 §4.1.2.2:
/// at most 20 octets, positive).
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut bytes)
        .map_err(|e| PkiError::Rng(e.to_string()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(PkiError::BadCertificate {
            reason: "trailing bytes after the certificate".to_owned(),
        }),
        Err(e) => Err(PkiError::BadCertificate {
            reason: e.to_string(),
        }),
    }
}

/// The DER of the first CERTIFICATE block in `pem`.
fn pem_certificate(pem: &str) -> Result<Vec<u8>, PkiError> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.to_vec())
        .map_err(|e| PkiError::BadCertificate {
            reason: e.to_string(),
        })
}

/// The CA's subject as rcgen values, keeping each attribute's string type so the
/// issuer name of issued certificates encodes to the same bytes.
fn distinguished_name(cert: &X509Certificate<'_>) -> Result<DistinguishedName, PkiError> {
    let unreproducible = || PkiError::UnreproducibleIssuer;
    let mut dn = DistinguishedName::new();
    for rdn in cert.tbs_certificate.subject.iter() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else {
            return Err(unreproducible());
        };
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .ok_or_else(unreproducible)?
            .collect();
        let data = attr.attr_value().data;
        let text = || std::str::from_utf8(data).map_err(|_| unreproducible());
        let value = match attr.attr_value().header.tag() {
            Tag::Utf8String => DnValue::Utf8String(text()?.to_owned()),
            Tag::PrintableString => DnValue::PrintableString(text()?.try_into()?),
            Tag::Ia5String => DnValue::Ia5String(text()?.try_into()?),
            Tag::T61String => DnValue::TeletexString(text()?.try_into()?),
            Tag::BmpString => DnValue::BmpString(BmpString::from_utf16be(data.to_vec())?),
            Tag::UniversalString => {
                DnValue::UniversalString(UniversalString::from_utf32be(data.to_vec())?)
            }
            _ => return Err(unreproducible()),
        };
        dn.push(DnType::from_oid(&oid), value);
    }
    Ok(dn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_ca_issues_certificates_naming_it() {
        let ca = Ca::generate().unwrap();
        let loaded = Ca::from_pem(ca.cert_pem(), &ca.key_pem()).unwrap();
        let issued = loaded.issue_client("app").unwrap();
        let parsed = parse_cert(&issued.cert_der).unwrap();
        assert_eq!(
            parsed.tbs_certificate.issuer.as_raw(),
            ca.subject_der.as_slice()
        );
    }

    #[test]
    fn mismatched_key_is_refused() {
        let a = Ca::generate().unwrap();
        let b = Ca::generate().unwrap();
        assert!(matches!(
            Ca::from_pem(a.cert_pem(), &b.key_pem()),
            Err(PkiError::KeyMismatch)
        ));
    }

    #[test]
    fn leaf_is_not_a_ca() {
        let ca = Ca::generate().unwrap();
        let leaf = ca.issue_client("x").unwrap();
        assert!(matches!(
            Ca::from_pem(&leaf.cert_pem, &leaf.key_pem),
            Err(PkiError::NotACa)
        ));
    }
}
