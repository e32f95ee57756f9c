//! A session's state: its slot, its kind, the operation in progress of each class
//! and the session objects it owns.
//!
//! Multi-part operations collect their input here and send it to the gateway in one
//! request at `*Final` (KMIP's streaming is optional and Keygate answers without
//! it); the collected data is bounded by [`MAX_PENDING`] and zeroized on drop.
//! An answer that did not fit the caller's buffer is kept until the retry, so
//! the size-query/retry protocol of PKCS#11 §5.2 never performs an operation twice.

use crate::mechanism::Mechanism;
use cryptoki_sys::*;
use zeroize::Zeroizing;

/// The most data a multi-part operation collects before `*Final`: the gateway's
/// message limit is 1 MiB, and the request carries the data once.
pub const MAX_PENDING: usize = 1 << 19;

/// One session.
#[derive(Debug)]
pub struct Session {
    /// Slot index.
    pub slot: usize,
    /// Read-write (CKF_RW_SESSION).
    pub rw: bool,
    /// C_FindObjects* in progress.
    pub find: Option<Find>,
    /// C_Encrypt* in progress.
    pub encrypt: Option<CryptOp>,
    /// C_Decrypt* in progress.
    pub decrypt: Option<CryptOp>,
    /// C_Sign* in progress.
    pub sign: Option<CryptOp>,
    /// C_Verify* in progress.
    pub verify: Option<CryptOp>,
    /// C_Digest* in progress.
    pub digest: Option<DigestOp>,
    /// Session objects (CKA_TOKEN false) this session created.
    pub objects: Vec<CK_OBJECT_HANDLE>,
    /// A wrap computed but not yet delivered: (key, wrapping key, mechanism, bytes).
    pub wrapped: Option<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE, Mechanism, Vec<u8>)>,
}

impl Session {
    /// A new session on `slot`.
    pub fn new(slot: usize, rw: bool) -> Self {
        Self {
            slot,
            rw,
            find: None,
            encrypt: None,
            decrypt: None,
            sign: None,
            verify: None,
            digest: None,
            objects: Vec::new(),
            wrapped: None,
        }
    }
}

/// A search: the handles found, handed out in pages.
#[derive(Debug, Default)]
pub struct Find {
    /// Matching handles not yet returned.
    pub pending: std::collections::VecDeque<CK_OBJECT_HANDLE>,
}

/// A cryptographic operation in progress.
#[derive(Debug)]
pub struct CryptOp {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The key.
    pub key: CK_OBJECT_HANDLE,
    /// Input collected by `*Update`.
    pub data: Zeroizing<Vec<u8>>,
    /// True once `*Update` was called (single-part calls are then refused).
    pub multi: bool,
    /// An answer computed but not yet delivered (buffer too small or size query).
    pub done: Option<Zeroizing<Vec<u8>>>,
}

impl CryptOp {
    /// A fresh operation.
    pub fn new(mechanism: Mechanism, key: CK_OBJECT_HANDLE) -> Self {
        Self {
            mechanism,
            key,
            data: Zeroizing::new(Vec::new()),
            multi: false,
            done: None,
        }
    }
}

/// A digest in progress (computed locally).
pub enum DigestOp {
    /// SHA-224.
    Sha224(sha2::Sha224),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-384.
    Sha384(sha2::Sha384),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl std::fmt::Debug for DigestOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sha224(_) => "DigestOp::Sha224",
            Self::Sha256(_) => "DigestOp::Sha256",
            Self::Sha384(_) => "DigestOp::Sha384",
            Self::Sha512(_) => "DigestOp::Sha512",
        })
    }
}

impl DigestOp {
    /// A digest for `mechanism`, if it is one this library computes.
    pub fn new(mechanism: CK_MECHANISM_TYPE) -> Option<Self> {
        use sha2::Digest;
        Some(match mechanism {
            CKM_SHA224 => Self::Sha224(sha2::Sha224::new()),
            CKM_SHA256 => Self::Sha256(sha2::Sha256::new()),
            CKM_SHA384 => Self::Sha384(sha2::Sha384::new()),
            CKM_SHA512 => Self::Sha512(sha2::Sha512::new()),
            _ => return None,
        })
    }

    /// Output length in bytes.
    pub fn output_len(&self) -> usize {
        match self {
            Self::Sha224(_) => 28,
            Self::Sha256(_) => 32,
            Self::Sha384(_) => 48,
            Self::Sha512(_) => 64,
        }
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Self::Sha224(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Self::Sha224(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha384(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        }
    }
}
