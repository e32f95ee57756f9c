//! Key backends (DESIGN.md "Backends"): where key material lives and is used.
//!
//! The request path never holds key material longer than one operation. A backend
//! returns an opaque [`KeyRef`] that the store keeps: for the software backend a blob
//! sealed under the master key, for a PKCS#11 backend a token object id (resident
//! placement) or a blob wrapped under an HSM-resident KEK (wrapped placement). `aad` binds a reference to its object (vault and UID), so a blob
//! copied onto another row does not open.

pub mod pkcs11;
pub mod software;

use crate::crypto::{
    Cipher, CryptoError, Encrypted, KeyKind, KeyPairSpec, MacAlg, SignInput, SignatureScheme,
    WrapMethod,
};
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
    /// The key was made non-extractable in the backend (a PKCS#11 key without
    /// `CKA_EXTRACTABLE`, or sensitive; a wrapped reference without its export flag):
    /// its material never leaves the backend, whatever the caller is allowed. KMIP:
    /// Not Extractable (2.x), Permission Denied (1.x).
    #[error("the key is not extractable: its material never leaves the backend")]
    NotExtractable,
}

/// What may become of a symmetric key's material outside the backend: the object's
/// Extractable attribute and its vault's `allow_wrapped_export`, as the backend
/// enforces them (PKCS#11: `CKA_EXTRACTABLE`, `CKA_SENSITIVE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Export {
    /// Readable in clear by an authorised Get, and wrappable.
    Clear,
    /// Never in clear; wrappable under another key of the backend.
    Wrapped,
    /// Never leaves the backend.
    Never,
}

impl Export {
    /// From the object's Extractable and the vault's `allow_wrapped_export`.
    pub fn of(extractable: bool, wrapped_export: bool) -> Self {
        match (extractable, wrapped_export) {
            (true, _) => Self::Clear,
            (false, true) => Self::Wrapped,
            (false, false) => Self::Never,
        }
    }

    /// From a plain extractable flag (no wrapped-only keys).
    pub fn from_extractable(extractable: bool) -> Self {
        Self::of(extractable, false)
    }
}

/// A key of the backend as an operation uses it: its reference, the binding it was
/// made with and its kind.
#[derive(Debug, Clone, Copy)]
pub struct KeyUse<'a> {
    /// The backend's reference.
    pub key: &'a KeyRef,
    /// The binding (vault and UID) the reference was made with.
    pub aad: &'a [u8],
    /// What the key is.
    pub kind: KeyKind,
}

/// What a key unwrapped into the backend becomes (Register of a wrapped key).
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    /// The symmetric key's kind.
    pub kind: KeyKind,
    /// Export policy, as [`KeyBackend::generate_key`].
    pub export: Export,
    /// The new object's binding.
    pub aad: &'a [u8],
}

/// Where key material lives.
pub trait KeyBackend: Send + Sync + fmt::Debug {
    /// The backend's configured name.
    fn name(&self) -> &str;
    /// Whether every operation runs in this process's memory, never waiting for a
    /// device or the network (the software keystore). The request path then runs
    /// short requests on the connection's own task instead of the blocking pool
    /// (`handler::quick`).
    fn in_memory(&self) -> bool {
        false
    }
    /// Generates `len` random secret bytes inside the backend (a symmetric key).
    fn generate_secret(&self, len: usize, aad: &[u8]) -> Result<KeyRef, BackendError>;
    /// Takes custody of caller-supplied secret bytes (Register, Import).
    fn import_secret(&self, secret: &[u8], aad: &[u8]) -> Result<KeyRef, BackendError>;

    /// Generates a symmetric key of `kind` inside the backend (Create). `export` is
    /// what the object's export policy decided: a backend that can enforce it
    /// (PKCS#11: `CKA_EXTRACTABLE`, `CKA_SENSITIVE`) makes the key so, and then
    /// [`KeyBackend::export_secret`] of a key not [`Export::Clear`] fails with
    /// [`BackendError::NotExtractable`]; the software keystore leaves the policy to
    /// the object's attributes.
    ///
    /// The default generates [`symmetric_key_len`] bytes with
    /// [`KeyBackend::generate_secret`] and ignores `export`.
    fn generate_key(
        &self,
        kind: KeyKind,
        export: Export,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        let _ = export;
        self.generate_secret(symmetric_key_len(kind)?, aad)
    }

    /// Takes custody of caller-supplied key bytes as a symmetric key of `kind`
    /// (Register), exportable as `export` says ([`KeyBackend::generate_key`]).
    ///
    /// The default is [`KeyBackend::import_secret`], ignoring `kind` and `export`.
    fn import_key(
        &self,
        kind: KeyKind,
        secret: &[u8],
        export: Export,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        let _ = (kind, export);
        self.import_secret(secret, aad)
    }

    /// Takes custody of a private key of `kind` given as PKCS#8 DER (Register),
    /// extractable or not as [`KeyBackend::generate_key`]. A backend with typed keys
    /// (PKCS#11) makes it a private key of its own.
    ///
    /// The default is [`KeyBackend::import_secret`], ignoring `kind` and
    /// `extractable`: the software keystore seals the bytes and its engine reads the
    /// PKCS#8 at each use.
    fn import_private_key(
        &self,
        kind: KeyKind,
        pkcs8_der: &[u8],
        extractable: bool,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        let _ = (kind, extractable);
        self.import_secret(pkcs8_der, aad)
    }

    /// Takes custody of a public key of `kind` given as SubjectPublicKeyInfo DER
    /// (Register). The default is [`KeyBackend::import_secret`], ignoring `kind`.
    fn import_public_key(
        &self,
        kind: KeyKind,
        spki_der: &[u8],
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        let _ = kind;
        self.import_secret(spki_der, aad)
    }

    /// The clear secret, for an export the caller has already authorised: the bytes
    /// given to [`KeyBackend::import_secret`], the key of a symmetric key, the PKCS#8
    /// of a private key, the SPKI of a public key. [`BackendError::NotExtractable`]
    /// when the backend made the key non-extractable.
    fn export_secret(&self, key: &KeyRef, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, BackendError>;
    /// Erases the material where the backend holds it (a token object); for sealed
    /// blobs the caller's dropping of the reference is the erasure.
    fn destroy(&self, key: &KeyRef) -> Result<(), BackendError>;
    /// Random bytes from the backend's generator.
    fn random(&self, len: usize) -> Result<Zeroizing<Vec<u8>>, BackendError>;

    /// Generates a key pair inside the backend. Returns the references of the
    /// private and public keys and the public key as SubjectPublicKeyInfo DER.
    fn generate_pair(
        &self,
        spec: KeyPairSpec,
        extractable: bool,
        aad_private: &[u8],
        aad_public: &[u8],
    ) -> Result<GeneratedRefs, CryptoError> {
        let _ = (spec, extractable, aad_private, aad_public);
        Err(CryptoError::Unsupported(format!(
            "backend {} does not generate key pairs",
            self.name()
        )))
    }

    /// Wraps the symmetric key `target` under `wrapping` with `method` (Get with a
    /// Key Wrapping Specification, Encoding Option No Encoding): the wrapped key value.
    /// The caller has checked the objects' policy (usage mask, state, vault's
    /// wrapped-export rule). A backend that can wrap without the clear key leaving it
    /// (PKCS#11 `C_WrapKey`) does so; the default exports the key
    /// ([`KeyBackend::export_secret`], so a key the backend made non-extractable
    /// fails with [`CryptoError::Unsupported`] naming it) and calls
    /// [`KeyBackend::wrap_bytes`].
    fn wrap_key(
        &self,
        wrapping: KeyUse<'_>,
        method: WrapMethod,
        target: KeyUse<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        export_and_wrap(self, wrapping, method, target)
    }

    /// Wraps caller-held bytes (a TTLV-encoded Key Value, a PKCS#8 key) under
    /// `wrapping`. The default uses [`KeyBackend::encrypt`] with the method's cipher;
    /// for RSA-AES key wrap, a fresh AES-256 key from [`KeyBackend::random`] wraps the
    /// bytes (RFC 5649, software engine) and is itself encrypted with RSA-OAEP.
    fn wrap_bytes(
        &self,
        wrapping: KeyUse<'_>,
        method: WrapMethod,
        clear: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if let Some(cipher) = method.cipher() {
            return Ok(self
                .encrypt(wrapping.key, wrapping.aad, wrapping.kind, &cipher, clear)?
                .data);
        }
        let WrapMethod::RsaAesKw(hash) = method else {
            return Err(CryptoError::Unsupported(format!("{method:?}")));
        };
        let ephemeral = self
            .random(32)
            .map_err(|e| CryptoError::Device(e.to_string()))?;
        let mut out = self
            .encrypt(
                wrapping.key,
                wrapping.aad,
                wrapping.kind,
                &Cipher::RsaOaep { hash },
                &ephemeral,
            )?
            .data;
        let inner = crate::crypto::software::encrypt(
            KeyKind::Aes(256),
            &ephemeral,
            &Cipher::AesKeyWrap { pad: true },
            clear,
        )?;
        out.extend_from_slice(&inner.data);
        Ok(out)
    }

    /// Unwraps `wrapped` under `unwrapping` (an AES key, or the RSA private key) and
    /// returns the clear bytes: the inverse of [`KeyBackend::wrap_bytes`], for a
    /// wrapped Key Value the gateway must read (TTLV encoding, asymmetric keys).
    fn unwrap_bytes(
        &self,
        unwrapping: KeyUse<'_>,
        method: WrapMethod,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if let Some(cipher) = method.cipher() {
            return self.decrypt(
                unwrapping.key,
                unwrapping.aad,
                unwrapping.kind,
                &cipher,
                wrapped,
            );
        }
        let (WrapMethod::RsaAesKw(hash), KeyKind::RsaPrivate(bits)) = (method, unwrapping.kind)
        else {
            return Err(CryptoError::BadParameters(format!(
                "{method:?} with a {:?} key",
                unwrapping.kind
            )));
        };
        let split = crate::crypto::rsa_part_len(bits);
        if wrapped.len() <= split {
            return Err(CryptoError::BadParameters(
                "RSA-AES wrapped data shorter than the RSA part".into(),
            ));
        }
        let (rsa_part, aes_part) = wrapped.split_at(split);
        let ephemeral = self.decrypt(
            unwrapping.key,
            unwrapping.aad,
            unwrapping.kind,
            &Cipher::RsaOaep { hash },
            rsa_part,
        )?;
        if ephemeral.len() != 16 && ephemeral.len() != 24 && ephemeral.len() != 32 {
            return Err(CryptoError::Failed(
                "RSA-AES key wrap: the RSA part is not an AES key".into(),
            ));
        }
        let bits = u32::try_from(ephemeral.len() * 8).unwrap_or(0);
        crate::crypto::software::decrypt(
            KeyKind::Aes(bits),
            &ephemeral,
            &Cipher::AesKeyWrap { pad: true },
            aes_part,
        )
    }

    /// Unwraps a wrapped symmetric key straight into the backend's custody (Register
    /// of a wrapped key, Encoding Option No Encoding). A backend that can
    /// (PKCS#11 `C_UnwrapKey`) never lets the clear key out; the default unwraps
    /// with [`KeyBackend::unwrap_bytes`] and imports at once with
    /// [`KeyBackend::import_key`], the clear key zeroized on return.
    fn unwrap_key(
        &self,
        unwrapping: KeyUse<'_>,
        method: WrapMethod,
        wrapped: &[u8],
        new: NewKey<'_>,
    ) -> Result<KeyRef, CryptoError> {
        let clear = self.unwrap_bytes(unwrapping, method, wrapped)?;
        if symmetric_key_len(new.kind).ok() != Some(clear.len()) {
            return Err(CryptoError::BadParameters(format!(
                "the unwrapped key is {} bytes, not a {:?} key",
                clear.len(),
                new.kind
            )));
        }
        self.import_key(new.kind, &clear, new.export, new.aad)
            .map_err(|e| CryptoError::Device(e.to_string()))
    }

    /// Encrypts with the referenced key.
    fn encrypt(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        cipher: &Cipher,
        data: &[u8],
    ) -> Result<Encrypted, CryptoError> {
        let _ = (key, aad, kind, cipher, data);
        Err(CryptoError::Unsupported(format!(
            "backend {} does not encrypt",
            self.name()
        )))
    }

    /// Decrypts with the referenced key.
    fn decrypt(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        cipher: &Cipher,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let _ = (key, aad, kind, cipher, data);
        Err(CryptoError::Unsupported(format!(
            "backend {} does not decrypt",
            self.name()
        )))
    }

    /// Signs with the referenced private key.
    fn sign(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        scheme: SignatureScheme,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        let _ = (key, aad, kind, scheme, input);
        Err(CryptoError::Unsupported(format!(
            "backend {} does not sign",
            self.name()
        )))
    }

    /// Verifies a signature with the referenced key (public, or the private key's
    /// public half).
    fn verify(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        scheme: SignatureScheme,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let _ = (key, aad, kind, scheme, input, signature);
        Err(CryptoError::Unsupported(format!(
            "backend {} does not verify",
            self.name()
        )))
    }

    /// Computes a MAC with the referenced key.
    fn mac(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        alg: MacAlg,
        data: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let _ = (key, aad, kind, alg, data);
        Err(CryptoError::Unsupported(format!(
            "backend {} does not compute MACs",
            self.name()
        )))
    }
}

/// [`KeyBackend::wrap_key`] for a backend that wraps what it can read: exports
/// `target` (the clear value only for this call, zeroized) and wraps it with
/// [`KeyBackend::wrap_bytes`]. A key the backend keeps to itself is
/// [`CryptoError::Unsupported`], naming why.
pub fn export_and_wrap<B: KeyBackend + ?Sized>(
    backend: &B,
    wrapping: KeyUse<'_>,
    method: WrapMethod,
    target: KeyUse<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let clear = backend
        .export_secret(target.key, target.aad)
        .map_err(|e| CryptoError::Unsupported(e.to_string()))?;
    backend.wrap_bytes(wrapping, method, &clear)
}

/// The length in bytes of a symmetric key of `kind`: AES 128/192/256 bits, an HMAC
/// key of a positive multiple of 8 bits, Triple-DES 112 (two keys, 16 bytes with
/// parity) or 168 bits (three keys, 24 bytes). Anything else is
/// [`BackendError::Unsupported`].
pub fn symmetric_key_len(kind: KeyKind) -> Result<usize, BackendError> {
    let bytes = match kind {
        KeyKind::Aes(bits @ (128 | 192 | 256)) => bits / 8,
        KeyKind::Hmac(bits) if bits > 0 && bits % 8 == 0 => bits / 8,
        KeyKind::Des3(112) => 16,
        KeyKind::Des3(168) => 24,
        other => {
            return Err(BackendError::Unsupported(format!(
                "{other:?} is not a symmetric key this backend makes (AES 128/192/256, HMAC of \
                 a positive multiple of 8 bits, 3DES 112/168)"
            )))
        }
    };
    usize::try_from(bytes).map_err(|_| BackendError::Unsupported(format!("{kind:?}: key too long")))
}

/// The references of a generated key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedRefs {
    /// The private key.
    pub private: KeyRef,
    /// The public key.
    pub public: KeyRef,
    /// The public key as SubjectPublicKeyInfo DER.
    pub public_spki: Vec<u8>,
}
