//! The built-in software keystore (DESIGN.md "Backends").
//!
//! Key material is sealed with AES-256-GCM under a 32-byte master key read from a file,
//! and the sealed blob is the [`KeyRef`] the store keeps:
//!
//! ```text
//! KeyRef = version (0x01) || nonce (12 random bytes) || ciphertext || tag (16 bytes)
//! ```
//!
//! The caller's `aad` (vault and UID) is the GCM associated data, so a blob copied onto
//! another object's row fails to open. Nonces are random: under one master key the
//! collision risk stays below 2^-32 for up to 2^32 seals (NIST SP 800-38D, 8.3), far
//! more keys than one keystore holds; rotate the master key well before that.
//!
//! The master key file holds exactly 32 raw bytes (no hex, no newline) and, on Unix,
//! must not be accessible by group or others. [`create_master_key`] makes one.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};
use rand::rngs::OsRng;
use rand::TryRngCore;
use zeroize::{Zeroize, Zeroizing};

use super::{symmetric_key_len, BackendError, Export, GeneratedRefs, KeyBackend, KeyRef};
use crate::crypto::software as engine;
use crate::crypto::{
    Cipher, CryptoError, Encrypted, KeyKind, KeyPairSpec, MacAlg, SignInput, SignatureScheme,
};

/// Length of the master key and of its file.
pub const MASTER_KEY_LEN: usize = 32;

/// Largest secret [`SoftwareBackend`] generates or imports. Bounds the allocation a
/// caller-chosen length (a Create's Cryptographic Length) can cause.
pub const MAX_SECRET_LEN: usize = 1 << 20;

/// Largest [`KeyBackend::random`] request. Bounds the allocation an RNG Retrieve's
/// Data Length can cause.
pub const MAX_RANDOM_LEN: usize = 1 << 20;

/// Format version, the first byte of every sealed blob.
const BLOB_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Version byte and nonce.
const HEADER_LEN: usize = 1 + NONCE_LEN;

/// The software keystore: secrets sealed under a master key held in memory.
pub struct SoftwareBackend {
    name: String,
    master_key: Zeroizing<[u8; MASTER_KEY_LEN]>,
}

impl SoftwareBackend {
    /// Loads the master key from `master_key_file` (exactly 32 raw bytes).
    ///
    /// On Unix the file must not be readable, writable or executable by group or
    /// others; otherwise, and when the file is missing or has the wrong length,
    /// returns [`BackendError::Unavailable`] naming the file and the fix.
    pub fn open(name: &str, master_key_file: &Path) -> Result<Self, BackendError> {
        Ok(Self {
            name: name.to_owned(),
            master_key: read_master_key(master_key_file)?,
        })
    }

    /// Seals `len` bytes that `fill` writes into the plaintext buffer.
    fn seal(
        &self,
        len: usize,
        aad: &[u8],
        fill: impl FnOnce(&mut [u8]) -> Result<(), BackendError>,
    ) -> Result<KeyRef, BackendError> {
        check_secret_len(len)?;
        // The plaintext is written into the blob itself and encrypted in place; the
        // capacity covers the tag, so the buffer never reallocates and leaves no
        // clear copy behind. Zeroizing covers the early returns.
        let mut blob = Zeroizing::new(Vec::with_capacity(HEADER_LEN + len + TAG_LEN));
        blob.push(BLOB_VERSION);
        blob.resize(HEADER_LEN + len, 0);
        os_random(&mut blob[1..HEADER_LEN])?;
        let (header, body) = blob.split_at_mut(HEADER_LEN);
        fill(body)?;
        let tag = self
            .cipher()
            .encrypt_in_place_detached(Nonce::from_slice(&header[1..]), aad, body)
            .map_err(|_| {
                BackendError::Unsupported("secret or associated data too long for AES-GCM".into())
            })?;
        blob.extend_from_slice(&tag);
        Ok(KeyRef(std::mem::take(&mut *blob)))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.master_key[..]))
    }
}

impl fmt::Debug for SoftwareBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareBackend")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl KeyBackend for SoftwareBackend {
    fn in_memory(&self) -> bool {
        true
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// `len` bytes from the operating system's CSPRNG, sealed.
    fn generate_secret(&self, len: usize, aad: &[u8]) -> Result<KeyRef, BackendError> {
        if len == 0 {
            return Err(BackendError::Unsupported("zero-length secret".into()));
        }
        self.seal(len, aad, os_random)
    }

    fn import_secret(&self, secret: &[u8], aad: &[u8]) -> Result<KeyRef, BackendError> {
        self.seal(secret.len(), aad, |buf| {
            buf.copy_from_slice(secret);
            Ok(())
        })
    }

    /// [`symmetric_key_len`] bytes from the operating system's CSPRNG, sealed; a
    /// Triple-DES key gets odd parity in every byte and distinct DES keys.
    /// `export` is not recorded: the software keystore can always read its keys, so
    /// the export policy is the object's Extractable attribute, enforced by the
    /// request path.
    fn generate_key(
        &self,
        kind: KeyKind,
        export: Export,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        let _ = export;
        let len = symmetric_key_len(kind)?;
        match kind {
            KeyKind::Des3(_) => self.seal(len, aad, des3_key),
            _ => self.generate_secret(len, aad),
        }
    }

    /// Seals the bytes; an AES or HMAC key must have its kind's length, a
    /// Triple-DES key 16 or 24 bytes; any other kind's bytes (an encoded private or
    /// public key) are sealed as given. `export` is not recorded (see
    /// [`KeyBackend::generate_key`]).
    fn import_key(
        &self,
        kind: KeyKind,
        secret: &[u8],
        export: Export,
        aad: &[u8],
    ) -> Result<KeyRef, BackendError> {
        let _ = export;
        let fits = match kind {
            KeyKind::Aes(_) | KeyKind::Hmac(_) => symmetric_key_len(kind)? == secret.len(),
            KeyKind::Des3(_) => matches!(secret.len(), 16 | 24),
            _ => true,
        };
        if !fits {
            return Err(BackendError::Unsupported(format!(
                "{kind:?} key given {} bytes",
                secret.len()
            )));
        }
        self.import_secret(secret, aad)
    }

    /// Fails with [`BackendError::Integrity`] for a blob that is short, of another
    /// format version, tampered with, bound to other `aad`, or sealed under another
    /// master key.
    fn export_secret(&self, key: &KeyRef, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let blob = &key.0;
        if blob.len() < HEADER_LEN + TAG_LEN || blob[0] != BLOB_VERSION {
            return Err(BackendError::Integrity);
        }
        let (ciphertext, tag) = blob[HEADER_LEN..].split_at(blob.len() - HEADER_LEN - TAG_LEN);
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        // aes-gcm checks the tag before decrypting, so on failure the buffer still
        // holds ciphertext.
        self.cipher()
            .decrypt_in_place_detached(
                Nonce::from_slice(&blob[1..HEADER_LEN]),
                aad,
                &mut plaintext,
                Tag::from_slice(tag),
            )
            .map_err(|_| BackendError::Integrity)?;
        Ok(plaintext)
    }

    /// A no-op: the sealed blob is the only copy of the material, and the caller
    /// erases it by dropping the reference (the store clears the row's `key_ref`; the
    /// SQLite store overwrites freed pages). Nothing is held here to erase.
    fn destroy(&self, _key: &KeyRef) -> Result<(), BackendError> {
        Ok(())
    }

    /// Bytes from the operating system's CSPRNG; at most [`MAX_RANDOM_LEN`].
    fn random(&self, len: usize) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        if len > MAX_RANDOM_LEN {
            return Err(BackendError::Unsupported(format!(
                "random length {len} exceeds the maximum of {MAX_RANDOM_LEN} bytes"
            )));
        }
        let mut out = Zeroizing::new(vec![0u8; len]);
        os_random(&mut out)?;
        Ok(out)
    }

    /// Generated with OpenSSL; the private key (PKCS#8) and the public key (SPKI)
    /// are sealed like any other secret.
    fn generate_pair(
        &self,
        spec: KeyPairSpec,
        _extractable: bool,
        aad_private: &[u8],
        aad_public: &[u8],
    ) -> Result<GeneratedRefs, CryptoError> {
        let pair = engine::generate_pair(spec)?;
        let private = self
            .import_secret(&pair.private_pkcs8, aad_private)
            .map_err(device)?;
        let public = self
            .import_secret(&pair.public_spki, aad_public)
            .map_err(device)?;
        Ok(GeneratedRefs {
            private,
            public,
            public_spki: pair.public_spki,
        })
    }

    fn encrypt(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        cipher: &Cipher,
        data: &[u8],
    ) -> Result<Encrypted, CryptoError> {
        let k = self.export_secret(key, aad).map_err(device)?;
        engine::encrypt(kind, &k, cipher, data)
    }

    fn decrypt(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        cipher: &Cipher,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let k = self.export_secret(key, aad).map_err(device)?;
        engine::decrypt(kind, &k, cipher, data)
    }

    fn sign(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        scheme: SignatureScheme,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        let k = self.export_secret(key, aad).map_err(device)?;
        engine::sign(kind, &k, scheme, input)
    }

    fn verify(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        scheme: SignatureScheme,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let k = self.export_secret(key, aad).map_err(device)?;
        engine::verify(kind, &k, scheme, input, signature)
    }

    fn mac(
        &self,
        key: &KeyRef,
        aad: &[u8],
        kind: KeyKind,
        alg: MacAlg,
        data: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let k = self.export_secret(key, aad).map_err(device)?;
        engine::mac(kind, &k, alg, data)
    }
}

fn device(e: BackendError) -> CryptoError {
    match e {
        BackendError::Integrity => CryptoError::Failed("stored key does not authenticate".into()),
        other => CryptoError::Device(other.to_string()),
    }
}

/// Creates a new master key file at `path`: 32 random bytes, mode 0600 on Unix,
/// synced to disk.
///
/// Refuses to replace an existing file (`ErrorKind::AlreadyExists`): overwriting a
/// master key makes every sealed key unreadable. If writing fails the partial file
/// is removed.
pub fn create_master_key(path: &Path) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;

    let mut key = Zeroizing::new([0u8; MASTER_KEY_LEN]);
    let written = restrict_permissions(&file)
        .and_then(|()| os_random(&mut key[..]).map_err(io::Error::other))
        .and_then(|()| file.write_all(&key[..]))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        if let Err(remove) = std::fs::remove_file(path) {
            tracing::warn!(path = %path.display(), error = %remove, "cannot remove partial master key file");
        }
        return Err(e);
    }
    sync_parent_dir(path);
    Ok(())
}

/// Sets mode 0600 exactly, whatever the umask left.
#[cfg(unix)]
fn restrict_permissions(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_permissions(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Makes the new directory entry durable; best effort, the key file itself is synced.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Err(e) = File::open(parent).and_then(|dir| dir.sync_all()) {
            tracing::warn!(path = %parent.display(), error = %e, "cannot sync directory of new master key file");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads and checks the master key file.
fn read_master_key(path: &Path) -> Result<Zeroizing<[u8; MASTER_KEY_LEN]>, BackendError> {
    let unavailable = |what: String| {
        BackendError::Unavailable(format!("master key file {}: {what}", path.display()))
    };
    let mut file = File::open(path).map_err(|e| unavailable(format!("cannot open: {e}")))?;
    // Checked on the open file, so the file checked is the file read.
    let meta = file
        .metadata()
        .map_err(|e| unavailable(format!("cannot stat: {e}")))?;
    if !meta.is_file() {
        return Err(unavailable("not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(unavailable(format!(
                "accessible by group or others (mode {:04o}); restrict it with `chmod 600 {}`",
                mode & 0o7777,
                path.display()
            )));
        }
    }
    let wrong_length = || {
        unavailable(format!(
            "must hold exactly {MASTER_KEY_LEN} raw bytes (create one with `keygate init`)"
        ))
    };
    let mut key = Zeroizing::new([0u8; MASTER_KEY_LEN]);
    file.read_exact(&mut key[..]).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => wrong_length(),
        _ => unavailable(format!("cannot read: {e}")),
    })?;
    let mut extra = [0u8; 1];
    let more = file
        .read(&mut extra)
        .map_err(|e| unavailable(format!("cannot read: {e}")))?;
    extra.zeroize();
    if more != 0 {
        return Err(wrong_length());
    }
    Ok(key)
}

/// Fills `buf` (16 or 24 bytes) with a Triple-DES key: random, odd parity in every
/// byte, and no two adjacent DES keys equal (K1 = K2 or K2 = K3 would reduce it to
/// single DES).
fn des3_key(buf: &mut [u8]) -> Result<(), BackendError> {
    for _ in 0..4 {
        os_random(buf)?;
        for b in buf.iter_mut() {
            let high = *b & 0xFE;
            *b = if high.count_ones() % 2 == 0 {
                high | 1
            } else {
                high
            };
        }
        let distinct = buf
            .chunks(8)
            .zip(buf.chunks(8).skip(1))
            .all(|(a, b)| a != b);
        if distinct {
            return Ok(());
        }
    }
    Err(BackendError::Unavailable(
        "the operating system random generator repeats itself".into(),
    ))
}

fn check_secret_len(len: usize) -> Result<(), BackendError> {
    if len > MAX_SECRET_LEN {
        return Err(BackendError::Unsupported(format!(
            "secret length {len} exceeds the maximum of {MAX_SECRET_LEN} bytes"
        )));
    }
    Ok(())
}

fn os_random(buf: &mut [u8]) -> Result<(), BackendError> {
    OsRng.try_fill_bytes(buf).map_err(|e| {
        BackendError::Unavailable(format!("operating system random generator failed: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("keygate-software-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Writes `bytes` to a new file with `mode` (Unix).
    fn write_key_file(path: &Path, bytes: &[u8], mode: u32) {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = options.open(path).unwrap();
        f.write_all(bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(mode))
                .unwrap();
        }
    }

    fn backend(dir: &TempDir, file: &str) -> SoftwareBackend {
        let path = dir.join(file);
        create_master_key(&path).unwrap();
        SoftwareBackend::open("soft", &path).unwrap()
    }

    const AAD: &[u8] = b"vault-a/uid-1";

    #[test]
    fn generate_and_export_round_trip() {
        let dir = TempDir::new("roundtrip");
        let b = backend(&dir, "mk");
        for len in [1, 16, 32, 64, 1000] {
            let r = b.generate_secret(len, AAD).unwrap();
            assert_eq!(r.0.len(), HEADER_LEN + len + TAG_LEN);
            assert_eq!(r.0[0], BLOB_VERSION);
            assert_eq!(b.export_secret(&r, AAD).unwrap().len(), len);
        }
    }

    #[test]
    fn generate_key_makes_keys_of_their_kind() {
        let dir = TempDir::new("generate-key");
        let b = backend(&dir, "mk");
        for (kind, len) in [
            (KeyKind::Aes(128), 16),
            (KeyKind::Aes(256), 32),
            (KeyKind::Hmac(512), 64),
            (KeyKind::Des3(112), 16),
            (KeyKind::Des3(168), 24),
        ] {
            // The export policy is the object's: the keystore can read either way.
            for extractable in [false, true] {
                let r = b
                    .generate_key(kind, Export::from_extractable(extractable), AAD)
                    .unwrap();
                let k = b.export_secret(&r, AAD).unwrap();
                assert_eq!(k.len(), len, "{kind:?}");
                if let KeyKind::Des3(_) = kind {
                    assert!(k.iter().all(|b| b.count_ones() % 2 == 1), "odd parity");
                    assert!(k.chunks(8).zip(k.chunks(8).skip(1)).all(|(x, y)| x != y));
                }
            }
        }
        for bad in [
            KeyKind::Aes(100),
            KeyKind::Hmac(0),
            KeyKind::Hmac(12),
            KeyKind::Des3(56),
            KeyKind::RsaPrivate(2048),
        ] {
            assert!(
                matches!(
                    b.generate_key(bad, Export::Clear, AAD),
                    Err(BackendError::Unsupported(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn import_key_checks_symmetric_lengths() {
        let dir = TempDir::new("import-key");
        let b = backend(&dir, "mk");
        let r = b
            .import_key(KeyKind::Aes(256), &[9; 32], Export::Never, AAD)
            .unwrap();
        assert_eq!(&b.export_secret(&r, AAD).unwrap()[..], &[9; 32]);
        let r = b
            .import_key(
                KeyKind::RsaPrivate(2048),
                b"pkcs8 bytes",
                Export::Never,
                AAD,
            )
            .unwrap();
        assert_eq!(&b.export_secret(&r, AAD).unwrap()[..], b"pkcs8 bytes");
        assert!(b
            .import_key(KeyKind::Des3(168), &[1; 24], Export::Clear, AAD)
            .is_ok());
        for (kind, len) in [
            (KeyKind::Aes(256), 16),
            (KeyKind::Hmac(256), 31),
            (KeyKind::Des3(168), 8),
        ] {
            assert!(
                matches!(
                    b.import_key(kind, &vec![1; len], Export::Clear, AAD),
                    Err(BackendError::Unsupported(_))
                ),
                "{kind:?} of {len} bytes"
            );
        }
    }

    #[test]
    fn import_and_export_round_trip() {
        let dir = TempDir::new("import");
        let b = backend(&dir, "mk");
        for secret in [&b""[..], b"k", &[0x5a; 32], &[7; 4096]] {
            let r = b.import_secret(secret, AAD).unwrap();
            assert_eq!(&b.export_secret(&r, AAD).unwrap()[..], secret);
            // The clear secret is not in the blob.
            if secret.len() >= 8 {
                assert!(!r.0.windows(secret.len()).any(|w| w == secret));
            }
        }
    }

    #[test]
    fn tampered_blob_is_integrity_error() {
        let dir = TempDir::new("tamper");
        let b = backend(&dir, "mk");
        let r = b.import_secret(&[1; 32], AAD).unwrap();
        for i in 0..r.0.len() {
            let mut t = r.clone();
            t.0[i] ^= 0x01;
            assert!(
                matches!(b.export_secret(&t, AAD), Err(BackendError::Integrity)),
                "byte {i}"
            );
        }
        let mut longer = r.clone();
        longer.0.push(0);
        assert!(matches!(
            b.export_secret(&longer, AAD),
            Err(BackendError::Integrity)
        ));
        for len in [0, 1, HEADER_LEN, HEADER_LEN + TAG_LEN - 1] {
            let short = KeyRef(r.0[..len].to_vec());
            assert!(
                matches!(b.export_secret(&short, AAD), Err(BackendError::Integrity)),
                "len {len}"
            );
        }
    }

    #[test]
    fn empty_secret_blob_still_authenticates() {
        let dir = TempDir::new("empty");
        let b = backend(&dir, "mk");
        let r = b.import_secret(b"", AAD).unwrap();
        assert_eq!(r.0.len(), HEADER_LEN + TAG_LEN);
        assert!(matches!(
            b.export_secret(&r, b"other"),
            Err(BackendError::Integrity)
        ));
    }

    #[test]
    fn wrong_aad_is_integrity_error() {
        let dir = TempDir::new("aad");
        let b = backend(&dir, "mk");
        let r = b.generate_secret(32, AAD).unwrap();
        assert!(matches!(
            b.export_secret(&r, b"vault-a/uid-2"),
            Err(BackendError::Integrity)
        ));
        assert!(matches!(
            b.export_secret(&r, b""),
            Err(BackendError::Integrity)
        ));
    }

    #[test]
    fn other_master_key_is_integrity_error() {
        let dir = TempDir::new("otherkey");
        let a = backend(&dir, "mk1");
        let b = backend(&dir, "mk2");
        let r = a.generate_secret(32, AAD).unwrap();
        assert!(matches!(
            b.export_secret(&r, AAD),
            Err(BackendError::Integrity)
        ));
        assert!(a.export_secret(&r, AAD).is_ok());
    }

    #[test]
    fn same_key_file_opens_same_blobs() {
        let dir = TempDir::new("reopen");
        let path = dir.join("mk");
        create_master_key(&path).unwrap();
        let r = SoftwareBackend::open("a", &path)
            .unwrap()
            .import_secret(b"0123456789abcdef", AAD)
            .unwrap();
        let again = SoftwareBackend::open("b", &path).unwrap();
        assert_eq!(
            &again.export_secret(&r, AAD).unwrap()[..],
            b"0123456789abcdef"
        );
    }

    #[test]
    fn generated_secrets_and_nonces_differ() {
        let dir = TempDir::new("differ");
        let b = backend(&dir, "mk");
        let x = b
            .export_secret(&b.generate_secret(32, AAD).unwrap(), AAD)
            .unwrap();
        let y = b
            .export_secret(&b.generate_secret(32, AAD).unwrap(), AAD)
            .unwrap();
        assert_ne!(x, y);
        // Sealing the same secret twice gives different blobs (fresh nonce).
        let r1 = b.import_secret(&x, AAD).unwrap();
        let r2 = b.import_secret(&x, AAD).unwrap();
        assert_ne!(r1.0[1..HEADER_LEN], r2.0[1..HEADER_LEN]);
        assert_ne!(r1, r2);
    }

    #[test]
    fn lengths_are_bounded() {
        let dir = TempDir::new("bounds");
        let b = backend(&dir, "mk");
        assert!(matches!(
            b.generate_secret(0, AAD),
            Err(BackendError::Unsupported(_))
        ));
        assert!(matches!(
            b.generate_secret(MAX_SECRET_LEN + 1, AAD),
            Err(BackendError::Unsupported(_))
        ));
        assert!(b.generate_secret(MAX_SECRET_LEN, AAD).is_ok());
        assert!(matches!(
            b.random(MAX_RANDOM_LEN + 1),
            Err(BackendError::Unsupported(_))
        ));
        assert_eq!(b.random(MAX_RANDOM_LEN).unwrap().len(), MAX_RANDOM_LEN);
        assert!(b.random(0).unwrap().is_empty());
        let r1 = b.random(32).unwrap();
        let r2 = b.random(32).unwrap();
        assert_eq!(r1.len(), 32);
        assert_ne!(r1, r2);
    }

    #[test]
    fn destroy_is_a_no_op() {
        let dir = TempDir::new("destroy");
        let b = backend(&dir, "mk");
        let r = b.generate_secret(16, AAD).unwrap();
        b.destroy(&r).unwrap();
        assert_eq!(b.name(), "soft");
    }

    #[cfg(unix)]
    #[test]
    fn create_master_key_sets_0600_and_refuses_to_overwrite() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("create");
        let path = dir.join("mk");
        create_master_key(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), MASTER_KEY_LEN as u64);
        let before = std::fs::read(&path).unwrap();
        let err = create_master_key(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // Two new keys differ.
        let other = dir.join("mk2");
        create_master_key(&other).unwrap();
        assert_ne!(std::fs::read(&other).unwrap(), before);
    }

    #[cfg(unix)]
    #[test]
    fn key_file_readable_by_others_is_refused() {
        let dir = TempDir::new("mode");
        for mode in [0o644, 0o640, 0o604, 0o620, 0o601] {
            let path = dir.join(&format!("mk-{mode:o}"));
            write_key_file(&path, &[9; 32], mode);
            let err = SoftwareBackend::open("soft", &path).unwrap_err();
            let BackendError::Unavailable(msg) = err else {
                panic!("mode {mode:o}: {err:?}")
            };
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains("chmod 600"), "{msg}");
        }
        let ok = dir.join("mk-400");
        write_key_file(&ok, &[9; 32], 0o400);
        SoftwareBackend::open("soft", &ok).unwrap();
    }

    #[test]
    fn key_file_of_wrong_length_or_missing_is_refused() {
        let dir = TempDir::new("length");
        for len in [0, 31, 33, 64, 65] {
            let path = dir.join(&format!("mk-{len}"));
            write_key_file(&path, &vec![b'a'; len], 0o600);
            let err = SoftwareBackend::open("soft", &path).unwrap_err();
            let BackendError::Unavailable(msg) = err else {
                panic!("len {len}: {err:?}")
            };
            assert!(msg.contains("32 raw bytes"), "{msg}");
        }
        let missing = SoftwareBackend::open("soft", &dir.join("absent")).unwrap_err();
        assert!(matches!(missing, BackendError::Unavailable(ref m) if m.contains("absent")));
        let not_file = SoftwareBackend::open("soft", &dir.0).unwrap_err();
        assert!(matches!(not_file, BackendError::Unavailable(_)));
    }

    #[test]
    fn debug_does_not_print_the_master_key() {
        let dir = TempDir::new("debug");
        let path = dir.join("mk");
        write_key_file(&path, &[0xab; 32], 0o600);
        let b = SoftwareBackend::open("soft", &path).unwrap();
        let shown = format!("{b:?} {b:#?}");
        assert_eq!(format!("{b:?}"), r#"SoftwareBackend { name: "soft", .. }"#);
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("ab"),
            "{shown}"
        );
    }
}
