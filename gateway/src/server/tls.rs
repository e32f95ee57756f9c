//! The listener's TLS configuration: rustls with the `ring` provider, TLS 1.2 and
//! 1.3 only, a client certificate required and verified against the configured CA.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::version::{TLS12, TLS13};
use rustls::{RootCertStore, ServerConfig};

use super::ServerError;

/// TLS 1.2 sessions remembered for resumption by session id. Each entry is a few
/// hundred bytes; TLS 1.3 and ticket-capable TLS 1.2 clients resume statelessly.
const SESSION_CACHE_SIZE: usize = 4096;

const CA: &str = "CA certificate";
const CERT: &str = "server certificate";
const KEY: &str = "server key";

/// Builds the listener's TLS configuration.
///
/// - `ca_pem`: one or more CA certificates; a client must present a certificate
///   chaining to one of them (mutual TLS; there is no anonymous access).
/// - `cert_pem`: the server certificate, followed by any intermediates.
/// - `key_pem`: the server's private key (PKCS#8, SEC1 or PKCS#1 PEM).
///
/// TLS 1.3 and 1.2 only, `ring` provider. Session resumption is on (stateless
/// tickets with rotating keys, plus a session-id cache for TLS 1.2 clients without
/// ticket support) because database clients reconnect often; a resumed session
/// carries the client certificate verified in the full handshake. 0-RTT early data
/// stays off (it is replayable).
pub fn server_tls_config(
    ca_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<ServerConfig, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let mut roots = RootCertStore::empty();
    for ca in certs(ca_pem, CA)? {
        roots
            .add(ca)
            .map_err(|source| ServerError::Tls { what: CA, source })?;
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;

    let chain = certs(cert_pem, CERT)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|source| ServerError::Pem { what: KEY, source })?;

    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(|source| ServerError::Tls {
            what: "protocol versions",
            source,
        })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|source| ServerError::Tls { what: KEY, source })?;
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_SIZE);
    config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(|source| ServerError::Tls {
        what: "session ticketer",
        source,
    })?;
    Ok(config)
}

/// All certificates in `pem`; at least one.
fn certs(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ServerError::Pem { what, source })?;
    if certs.is_empty() {
        return Err(ServerError::Pem {
            what,
            source: rustls::pki_types::pem::Error::NoItemsFound,
        });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_and_leaf() -> (String, String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca_cert, &ca_key)
            .unwrap();
        (ca_cert.pem(), leaf.pem(), key.serialize_pem())
    }

    #[test]
    fn builds_with_resumption() {
        let (ca, cert, key) = ca_and_leaf();
        let config = server_tls_config(ca.as_bytes(), cert.as_bytes(), key.as_bytes()).unwrap();
        assert!(config.ticketer.enabled());
        assert_eq!(config.max_early_data_size, 0);
    }

    #[test]
    fn empty_or_garbage_pem_is_refused() {
        let (ca, cert, key) = ca_and_leaf();
        let err = server_tls_config(b"", cert.as_bytes(), key.as_bytes()).unwrap_err();
        assert!(matches!(err, ServerError::Pem { what: CA, .. }), "{err}");
        let err = server_tls_config(ca.as_bytes(), b"junk", key.as_bytes()).unwrap_err();
        assert!(matches!(err, ServerError::Pem { what: CERT, .. }), "{err}");
        let err = server_tls_config(ca.as_bytes(), cert.as_bytes(), cert.as_bytes()).unwrap_err();
        assert!(matches!(err, ServerError::Pem { what: KEY, .. }), "{err}");
    }

    #[test]
    fn key_not_matching_certificate_is_refused() {
        let (ca, cert, _) = ca_and_leaf();
        let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let err = server_tls_config(ca.as_bytes(), cert.as_bytes(), other.as_bytes()).unwrap_err();
        assert!(matches!(err, ServerError::Tls { what: KEY, .. }), "{err}");
    }
}
