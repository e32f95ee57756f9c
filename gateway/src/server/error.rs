//! Why the listener cannot start.
//!
//! Only start-up can fail: once [`Server::run`](super::Server::run) is accepting,
//! a failing connection (bad certificate, bad frame, timeout, peer gone) is closed
//! and counted in [`ServerStats`](super::ServerStats), never returned.

use std::io;
use std::net::SocketAddr;

/// Why the TLS configuration could not be built or the listener could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The listening socket could not be bound or inspected (address in use,
    /// permission denied for a privileged port, address not local).
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// The configured listen address.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A PEM input is malformed or holds no item of the expected kind.
    #[error("invalid {what} PEM: {source}")]
    Pem {
        /// Which input (`CA certificate`, `server certificate`, `server key`).
        what: &'static str,
        /// The parser's error.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused part of the configuration: a CA certificate that does not
    /// parse, a key type the provider does not support, a key that does not match
    /// the certificate, no usable protocol version.
    #[error("TLS configuration, {what}: {source}")]
    Tls {
        /// Which part of the configuration.
        what: &'static str,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// The client-certificate verifier could not be built (e.g. no usable CA).
    #[error("TLS configuration, client certificate verifier: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
    /// A [`ServerSettings`](super::ServerSettings) value is out of range.
    #[error("invalid server setting {name}: {reason}")]
    Setting {
        /// The field of `ServerSettings`.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}
