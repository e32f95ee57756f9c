//! Key backends (DESIGN.md "Backends"): where key material lives and is used.
//!
//! The request path never holds key material longer than one operation. A backend
//! returns an opaque [`KeyRef`] that the store keeps: for the software backend a blob
//! sealed under the master key, for a PKCS#11 backend (next issue) a token object id
//! (resident placement) or a blob wrapped under an HSM-resident KEK (wrapped
//! placement). `aad` binds a reference to its object (vault and UID), so a blob
//! copied onto another row does not open.

pub mod software;

use std::fmt;
use zeroize::Zeroizing;

/// A backend's reference to key material. Opaque to everything but the backend.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRef(pub Vec<u8>);

impl fmt::Debug for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRef({} bytes)", self.0.len())
    }
}

/// Backend failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The reference does not open under this backend's key (tampered, wrong object,
    /// or another master key).
    #[error("key material does not authenticate")]
    Integrity,
    /// The backend cannot do this (unsupported length, algorithm or operation).
    #[error("not supported by this backend: {0}")]
    Unsupported(String),
    /// The backend is unavailable (device error, missing master key file).
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

/// Where key material lives.
pub trait KeyBackend: Send + Sync + fmt::Debug {
    /// The backend's configured name.
    fn name(&self) -> &str;
    /// Generates `len` random secret bytes inside the backend (a symmetric key).
    fn generate_secret(&self, len: usize, aad: &[u8]) -> Result<KeyRef, BackendError>;
    /// Takes custody of caller-supplied secret bytes (Register, Import).
    fn import_secret(&self, secret: &[u8], aad: &[u8]) -> Result<KeyRef, BackendError>;
    /// The clear secret, for an export the caller has already authorised.
    fn export_secret(&self, key: &KeyRef, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, BackendError>;
    /// Erases the material where the backend holds it (a token object); for sealed
    /// blobs the caller's dropping of the reference is the erasure.
    fn destroy(&self, key: &KeyRef) -> Result<(), BackendError>;
    /// Random bytes from the backend's generator.
    fn random(&self, len: usize) -> Result<Zeroizing<Vec<u8>>, BackendError>;
}
