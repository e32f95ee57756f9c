//! The X.509 v3 certificate itself: the RustCrypto `x509-cert` builder with a
//! profile of the vault's own (subject, issuer and extensions) and a signer that
//! hands the TBSCertificate to the key backend, so the CA key never leaves it.

use crate::backend::{KeyBackend, KeyRef};
use crate::crypto::{CryptoError, Curve, HashAlg, KeyKind, SignInput, SignatureScheme};
use sha2::{Digest as _, Sha256};
use signature::{Keypair, Signer};
use std::cell::RefCell;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::der::asn1::{BitString, ObjectIdentifier, OctetString};
use x509_cert::der::{Any, Document, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureBitStringEncoding, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

/// What a certificate says about its key's use (RFC 5280 §4.2.1.3, §4.2.1.9,
/// §4.2.1.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// A CA certificate (Basic Constraints cA, key usage keyCertSign and cRLSign).
    pub ca: bool,
    /// Key usage bits.
    pub key_usage: Vec<KeyUsages>,
    /// Extended key usage OIDs (none: no extension).
    pub ext_key_usage: Vec<ObjectIdentifier>,
}

/// Everything the certificate carries but its signature.
#[derive(Debug, Clone)]
pub struct Tbs {
    /// Subject name.
    pub subject: Name,
    /// Issuer name (the subject for a self-signed certificate).
    pub issuer: Name,
    /// The certified key.
    pub spki: SubjectPublicKeyInfoOwned,
    /// The issuer's key (the subject's own for a self-signed certificate).
    pub issuer_spki: SubjectPublicKeyInfoOwned,
    /// The issuer's Subject Key Identifier, when its certificate has one: the
    /// Authority Key Identifier must repeat it for path building to match.
    pub issuer_key_id: Option<Vec<u8>>,
    /// Subject alternative names.
    pub sans: Vec<GeneralName>,
    /// Key usage.
    pub usage: Usage,
    /// Validity, seconds since the epoch.
    pub not_before: i64,
    /// Validity end, seconds since the epoch.
    pub not_after: i64,
    /// Positive serial number bytes.
    pub serial: Vec<u8>,
}

/// The CA key as the signer needs it.
#[derive(Debug)]
pub struct CaKey<'a> {
    /// The vault's backend.
    pub backend: &'a dyn KeyBackend,
    /// The private key's reference.
    pub key: KeyRef,
    /// The reference's associated data.
    pub aad: Vec<u8>,
    /// The private key's kind.
    pub kind: KeyKind,
}

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The request asks for something the builder refuses (bad name, time, key).
    #[error("{0}")]
    Invalid(String),
    /// The CA key cannot sign certificates (kind or backend).
    #[error(transparent)]
    Crypto(CryptoError),
}

/// Builds and signs the certificate; returns its DER.
pub fn build(tbs: &Tbs, ca: &CaKey<'_>) -> Result<Vec<u8>, BuildError> {
    let invalid = |e: &dyn std::fmt::Display| BuildError::Invalid(e.to_string());
    let (scheme, alg) = signature_algorithm(ca.kind)?;
    let signer = BackendSigner {
        ca,
        scheme,
        alg,
        verifying: IssuerKey(tbs.issuer_spki.clone()),
        failure: RefCell::new(None),
    };
    let profile = VaultProfile { tbs: tbs.clone() };
    let validity = Validity::new(time(tbs.not_before)?, time(tbs.not_after)?);
    let serial = SerialNumber::new(&tbs.serial).map_err(|e| invalid(&e))?;
    let builder = CertificateBuilder::new(profile, serial, validity, tbs.spki.clone())
        .map_err(|e| invalid(&e))?;
    let cert: Certificate = match builder.build::<_, RawSignature>(&signer) {
        Ok(c) => c,
        Err(e) => {
            return Err(match signer.failure.into_inner() {
                Some(c) => BuildError::Crypto(c),
                None => invalid(&e),
            })
        }
    };
    cert.to_der().map_err(|e| invalid(&e))
}

/// The Key Identifier of a key (RFC 7093 §2 method 1): the leftmost 160 bits of the
/// SHA-256 of the subjectPublicKey bits.
pub fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    Sha256::digest(spki.subject_public_key.raw_bytes())[..20].to_vec()
}

/// The signature scheme and its AlgorithmIdentifier for a CA key of `kind`: SHA-256
/// with RSA PKCS#1 v1.5, ECDSA with the curve's hash, or Ed25519.
fn signature_algorithm(
    kind: KeyKind,
) -> Result<(SignatureScheme, AlgorithmIdentifierOwned), BuildError> {
    let (scheme, oid, null) = match kind {
        KeyKind::RsaPrivate(_) => (
            SignatureScheme::RsaPkcs1v15(HashAlg::Sha256),
            "1.2.840.113549.1.1.11",
            true,
        ),
        KeyKind::EcPrivate(Curve::P256) => (
            SignatureScheme::Ecdsa(HashAlg::Sha256),
            "1.2.840.10045.4.3.2",
            false,
        ),
        KeyKind::EcPrivate(Curve::P384) => (
            SignatureScheme::Ecdsa(HashAlg::Sha384),
            "1.2.840.10045.4.3.3",
            false,
        ),
        KeyKind::Ed25519Private => (SignatureScheme::Ed25519, "1.3.101.112", false),
        other => {
            return Err(BuildError::Crypto(CryptoError::Unsupported(format!(
                "a {other:?} key does not sign certificates"
            ))))
        }
    };
    Ok((
        scheme,
        AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(oid),
            // RFC 4055 §5: the RSA algorithms carry NULL parameters; RFC 5758 §3.2
            // and RFC 8410 §3: ECDSA and Ed25519 omit them.
            parameters: null.then(Any::null),
        },
    ))
}

fn time(secs: i64) -> Result<Time, BuildError> {
    let secs = u64::try_from(secs)
        .map_err(|_| BuildError::Invalid("certificate dates start in 1970".into()))?;
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    Time::try_from(t).map_err(|e| BuildError::Invalid(format!("certificate date: {e}")))
}

/// The vault's certificate profile: the names and extensions of [`Tbs`].
struct VaultProfile {
    tbs: Tbs,
}

impl BuilderProfile for VaultProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.tbs.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.tbs.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let t = &self.tbs;
        let subject = &tbs.subject();
        let mut out = Vec::new();
        let ski = SubjectKeyIdentifier(OctetString::new(key_id(&t.spki))?);
        out.push((false, &ski).to_extension(subject, &out)?);
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(
                t.issuer_key_id
                    .clone()
                    .unwrap_or_else(|| key_id(&t.issuer_spki)),
            )?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        };
        out.push((false, &aki).to_extension(subject, &out)?);
        // RFC 5280 §4.2.1.9: critical in CA certificates; end-entity certificates
        // carry it too (cA false) so no verifier takes them for a CA.
        let bc = BasicConstraints {
            ca: t.usage.ca,
            path_len_constraint: None,
        };
        out.push((true, &bc).to_extension(subject, &out)?);
        if !t.usage.key_usage.is_empty() {
            let mut flags = flagset_none();
            for u in &t.usage.key_usage {
                flags |= *u;
            }
            out.push((true, &KeyUsage(flags)).to_extension(subject, &out)?);
        }
        if !t.usage.ext_key_usage.is_empty() {
            let eku = ExtendedKeyUsage(t.usage.ext_key_usage.clone());
            out.push((false, &eku).to_extension(subject, &out)?);
        }
        if !t.sans.is_empty() {
            // RFC 5280 §4.2.1.6: critical when the subject name is empty.
            let san = SubjectAltName(t.sans.clone());
            out.push((t.subject.is_empty(), &san).to_extension(subject, &out)?);
        }
        Ok(out)
    }
}

fn flagset_none() -> x509_cert::der::flagset::FlagSet<KeyUsages> {
    x509_cert::der::flagset::FlagSet::default()
}

/// The issuer's public key, as the builder's [`Keypair`] wants it.
#[derive(Debug, Clone)]
struct IssuerKey(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for IssuerKey {
    fn to_public_key_der(&self) -> x509_cert::spki::Result<Document> {
        Ok(Document::encode_msg(&self.0)?)
    }
}

/// A signature as the backend returns it (PKCS#1 v1.5 bytes, DER ECDSA, Ed25519),
/// which is exactly the certificate's signature BIT STRING content.
#[derive(Debug)]
struct RawSignature(Vec<u8>);

impl SignatureBitStringEncoding for RawSignature {
    fn to_bitstring(&self) -> x509_cert::der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

/// Signs through the key backend (software keystore or PKCS#11 token). The
/// backend's failure is kept for the caller: the builder only sees that signing
/// failed.
struct BackendSigner<'a> {
    ca: &'a CaKey<'a>,
    scheme: SignatureScheme,
    alg: AlgorithmIdentifierOwned,
    verifying: IssuerKey,
    failure: RefCell<Option<CryptoError>>,
}

impl Keypair for BackendSigner<'_> {
    type VerifyingKey = IssuerKey;

    fn verifying_key(&self) -> IssuerKey {
        self.verifying.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for BackendSigner<'_> {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.alg.clone())
    }
}

impl Signer<RawSignature> for BackendSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<RawSignature, signature::Error> {
        self.ca
            .backend
            .sign(
                &self.ca.key,
                &self.ca.aad,
                self.ca.kind,
                self.scheme,
                SignInput::Message(msg),
            )
            .map(RawSignature)
            .map_err(|e| {
                *self.failure.borrow_mut() = Some(e);
                signature::Error::new()
            })
    }
}
