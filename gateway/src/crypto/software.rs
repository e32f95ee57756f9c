//! Software engine: the mechanisms of [`crate::crypto`] executed in process.
//!
//! # Library choice
//!
//! All primitives go through OpenSSL (3.x, the system library) via the maintained
//! `openssl` crate. The software keystore needs RSA key generation and RSA
//! private-key operations (decryption, signing). The pure-Rust `rsa` crate carries an
//! unpatched timing side-channel advisory on decryption (Marvin attack,
//! RUSTSEC-2023-0071), so it is not used for private-key work; OpenSSL's RSA uses
//! constant-time, blinded private-key operations and is the widely reviewed
//! implementation. The same library serves AES (GCM, CBC, CTR, ECB, key wrap),
//! 3DES, ECDSA, Ed25519, HMAC, CMAC, SHA-2 and the random generator, so the engine
//! has a single audited provider.
//!
//! # Shape
//!
//! The engine is stateless: each function receives the clear key material (unsealed by
//! the backend, which keeps it in a `Zeroizing` buffer and drops it afterwards), does
//! one operation and returns. Secret outputs (decrypted data, generated private keys,
//! random bytes) come back in `Zeroizing` buffers whose capacity is reserved up front
//! so that no reallocation leaves a stray copy behind.
//!
//! Key encodings: private asymmetric keys are PKCS#8 DER, public keys
//! SubjectPublicKeyInfo DER; symmetric keys are raw bytes. The [`KeyKind`] passed
//! with a key must match it (algorithm, size, curve), otherwise the call fails with
//! [`CryptoError::BadParameters`].
//!
//! # Errors
//!
//! Parameters (IV, nonce and tag lengths, key sizes, digest lengths, data lengths for
//! block modes and RSA) are validated before OpenSSL is called and refused with
//! [`CryptoError::BadParameters`]. Failures of authentication (GCM tag, CBC padding,
//! key-unwrap integrity, RSA decryption) are [`CryptoError::Failed`]. Error messages
//! carry OpenSSL's reason strings only, never key or data bytes. A signature or MAC
//! that does not verify is `Ok(false)`, not an error.
//!
//! Note that RSA PKCS#1 v1.5 decryption is, by the nature of the scheme, a padding
//! oracle if its outcome is observable; KMIP requires the mechanism, and RSA-OAEP
//! should be preferred.

use std::sync::OnceLock;

use openssl::bn::BigNum;
use openssl::cipher::{Cipher as OsslCipher, CipherRef};
use openssl::cipher_ctx::{CipherCtx, CipherCtxFlags};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::md::{Md, MdRef};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use zeroize::Zeroizing;

use super::{
    Cipher, CryptoError, Curve, Encrypted, GeneratedPair, HashAlg, KeyKind, KeyPairSpec, SignInput,
    SignatureScheme,
};

/// Largest input (plaintext, ciphertext, message, MAC data) the engine accepts.
/// Far above any KMIP message size; it keeps lengths within OpenSSL's `int`.
pub const MAX_DATA_LEN: usize = 256 << 20;

/// Largest output of [`random`] in one call.
pub const MAX_RANDOM_LEN: usize = 1 << 16;

/// Smallest and largest RSA modulus (bits) accepted for use. Generation is limited
/// to 2048, 3072 and 4096.
const RSA_USE_BITS: std::ops::RangeInclusive<u32> = 1024..=16384;

/// GCM nonce length generated when the caller gives none.
const GCM_NONCE_LEN: usize = 12;

/// GCM tag lengths accepted (bytes).
const GCM_TAG_LENS: std::ops::RangeInclusive<usize> = 12..=16;

/// GCM nonce lengths accepted (bytes); SP 800-38D allows any, 12 is recommended.
const GCM_NONCE_LENS: std::ops::RangeInclusive<usize> = 1..=128;

pub use super::MacAlg;

// ---------------------------------------------------------------------------
// Errors

fn bad(msg: impl Into<String>) -> CryptoError {
    CryptoError::BadParameters(msg.into())
}

/// OpenSSL's reason strings, without file names, data or key material.
fn reasons(e: &ErrorStack) -> String {
    let list: Vec<&str> = e.errors().iter().filter_map(|e| e.reason()).collect();
    if list.is_empty() {
        "unspecified OpenSSL error".to_owned()
    } else {
        list.join("; ")
    }
}

/// Maps an OpenSSL error to [`CryptoError::Failed`], naming the step.
fn failed(what: &'static str) -> impl FnOnce(ErrorStack) -> CryptoError {
    move |e| CryptoError::Failed(format!("{what}: {}", reasons(&e)))
}

/// Maps an OpenSSL error to [`CryptoError::BadParameters`], naming the step.
fn rejected(what: &'static str) -> impl FnOnce(ErrorStack) -> CryptoError {
    move |e| CryptoError::BadParameters(format!("{what}: {}", reasons(&e)))
}

fn check_data_len(data: &[u8]) -> Result<(), CryptoError> {
    if data.len() > MAX_DATA_LEN {
        return Err(bad(format!("input longer than {MAX_DATA_LEN} bytes")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Hashes

fn message_digest(alg: HashAlg) -> MessageDigest {
    match alg {
        HashAlg::Sha1 => MessageDigest::sha1(),
        HashAlg::Sha224 => MessageDigest::sha224(),
        HashAlg::Sha256 => MessageDigest::sha256(),
        HashAlg::Sha384 => MessageDigest::sha384(),
        HashAlg::Sha512 => MessageDigest::sha512(),
    }
}

fn md(alg: HashAlg) -> &'static MdRef {
    match alg {
        HashAlg::Sha1 => Md::sha1(),
        HashAlg::Sha224 => Md::sha224(),
        HashAlg::Sha256 => Md::sha256(),
        HashAlg::Sha384 => Md::sha384(),
        HashAlg::Sha512 => Md::sha512(),
    }
}

/// Output length of a hash, in bytes.
#[must_use]
pub fn hash_len(alg: HashAlg) -> usize {
    match alg {
        HashAlg::Sha1 => 20,
        HashAlg::Sha224 => 28,
        HashAlg::Sha256 => 32,
        HashAlg::Sha384 => 48,
        HashAlg::Sha512 => 64,
    }
}

/// Digest of `data`.
#[must_use]
pub fn hash(alg: HashAlg, data: &[u8]) -> Vec<u8> {
    use openssl::sha;
    match alg {
        HashAlg::Sha1 => sha::sha1(data).to_vec(),
        HashAlg::Sha224 => sha::sha224(data).to_vec(),
        HashAlg::Sha256 => sha::sha256(data).to_vec(),
        HashAlg::Sha384 => sha::sha384(data).to_vec(),
        HashAlg::Sha512 => sha::sha512(data).to_vec(),
    }
}

// ---------------------------------------------------------------------------
// Random

/// `len` bytes from OpenSSL's CSPRNG (`len` at most [`MAX_RANDOM_LEN`]).
pub fn random(len: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if len > MAX_RANDOM_LEN {
        return Err(bad(format!("random length {len} exceeds {MAX_RANDOM_LEN}")));
    }
    let mut out = Zeroizing::new(vec![0u8; len]);
    openssl::rand::rand_bytes(&mut out).map_err(failed("random generation"))?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Key pairs and encodings

/// Generates a key pair: RSA (2048/3072/4096, e = 65537), EC P-256/P-384 or Ed25519.
/// The private key is PKCS#8 DER, the public key SPKI DER.
pub fn generate_pair(spec: KeyPairSpec) -> Result<GeneratedPair, CryptoError> {
    let pkey: PKey<Private> = match spec {
        KeyPairSpec::Rsa(bits) => {
            if !matches!(bits, 2048 | 3072 | 4096) {
                return Err(bad(format!(
                    "RSA modulus of {bits} bits (2048, 3072 or 4096)"
                )));
            }
            let e = BigNum::from_u32(65537).map_err(failed("RSA exponent"))?;
            let rsa = Rsa::generate_with_e(bits, &e).map_err(failed("RSA key generation"))?;
            PKey::from_rsa(rsa).map_err(failed("RSA key generation"))?
        }
        KeyPairSpec::Ec(curve) => {
            let group = EcGroup::from_curve_name(curve_nid(curve)).map_err(failed("EC group"))?;
            let ec = EcKey::generate(&group).map_err(failed("EC key generation"))?;
            PKey::from_ec_key(ec).map_err(failed("EC key generation"))?
        }
        KeyPairSpec::Ed25519 => {
            PKey::generate_ed25519().map_err(failed("Ed25519 key generation"))?
        }
    };
    let private_pkcs8 = Zeroizing::new(
        pkey.private_key_to_pkcs8()
            .map_err(failed("PKCS#8 encoding"))?,
    );
    let public_spki = pkey.public_key_to_der().map_err(failed("SPKI encoding"))?;
    Ok(GeneratedPair {
        private_pkcs8,
        public_spki,
    })
}

/// The SPKI DER of the public half of a PKCS#8 private key of kind `kind`.
pub fn public_from_private(kind: KeyKind, pkcs8: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if !is_private(kind) {
        return Err(bad(format!("{kind:?} is not a private key kind")));
    }
    let pkey = parse_private(kind, pkcs8)?;
    pkey.public_key_to_der().map_err(failed("SPKI encoding"))
}

/// RSA public key: SPKI DER to PKCS#1 `RSAPublicKey` DER.
pub fn spki_to_pkcs1_rsa(spki: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let pkey = PKey::public_key_from_der(spki).map_err(rejected("not an SPKI public key"))?;
    if pkey.id() != Id::RSA {
        return Err(bad("SPKI does not hold an RSA key"));
    }
    let rsa = pkey.rsa().map_err(rejected("RSA public key"))?;
    rsa.public_key_to_der_pkcs1()
        .map_err(failed("PKCS#1 encoding"))
}

/// RSA public key: PKCS#1 `RSAPublicKey` DER to SPKI DER.
pub fn pkcs1_rsa_to_spki(pkcs1: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let rsa =
        Rsa::public_key_from_der_pkcs1(pkcs1).map_err(rejected("not a PKCS#1 RSA public key"))?;
    let pkey = PKey::from_rsa(rsa).map_err(failed("RSA public key"))?;
    pkey.public_key_to_der().map_err(failed("SPKI encoding"))
}

/// RSA private key: PKCS#8 DER to PKCS#1 `RSAPrivateKey` DER.
pub fn pkcs8_to_pkcs1_rsa(pkcs8: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let pkey = PKey::private_key_from_pkcs8(pkcs8).map_err(rejected("not a PKCS#8 private key"))?;
    if pkey.id() != Id::RSA {
        return Err(bad("PKCS#8 does not hold an RSA key"));
    }
    let rsa = pkey.rsa().map_err(rejected("RSA private key"))?;
    Ok(Zeroizing::new(
        rsa.private_key_to_der()
            .map_err(failed("PKCS#1 encoding"))?,
    ))
}

/// RSA private key: PKCS#1 `RSAPrivateKey` DER to PKCS#8 DER.
pub fn pkcs1_rsa_to_pkcs8(pkcs1: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let rsa = Rsa::private_key_from_der(pkcs1).map_err(rejected("not a PKCS#1 RSA private key"))?;
    let pkey = PKey::from_rsa(rsa).map_err(failed("RSA private key"))?;
    Ok(Zeroizing::new(
        pkey.private_key_to_pkcs8()
            .map_err(failed("PKCS#8 encoding"))?,
    ))
}

fn curve_nid(curve: Curve) -> Nid {
    match curve {
        Curve::P256 => Nid::X9_62_PRIME256V1,
        Curve::P384 => Nid::SECP384R1,
    }
}

fn is_private(kind: KeyKind) -> bool {
    matches!(
        kind,
        KeyKind::RsaPrivate(_) | KeyKind::EcPrivate(_) | KeyKind::Ed25519Private
    )
}

/// Checks that a parsed asymmetric key is what `kind` says (algorithm, size, curve).
fn check_asym_kind<T: HasPublic>(pkey: &PKeyRef<T>, kind: KeyKind) -> Result<(), CryptoError> {
    match kind {
        KeyKind::RsaPrivate(bits) | KeyKind::RsaPublic(bits) => {
            if pkey.id() != Id::RSA {
                return Err(bad(format!("key is not RSA but {kind:?} was given")));
            }
            if pkey.bits() != bits {
                return Err(bad(format!(
                    "RSA key has {} bits but {kind:?} was given",
                    pkey.bits()
                )));
            }
            if !RSA_USE_BITS.contains(&bits) {
                return Err(bad(format!("RSA modulus of {bits} bits is not accepted")));
            }
        }
        KeyKind::EcPrivate(curve) | KeyKind::EcPublic(curve) => {
            if pkey.id() != Id::EC {
                return Err(bad(format!("key is not EC but {kind:?} was given")));
            }
            let ec = pkey.ec_key().map_err(rejected("EC key"))?;
            if ec.group().curve_name() != Some(curve_nid(curve)) {
                return Err(bad(format!("EC key is not on the curve of {kind:?}")));
            }
        }
        KeyKind::Ed25519Private | KeyKind::Ed25519Public => {
            if pkey.id() != Id::ED25519 {
                return Err(bad(format!("key is not Ed25519 but {kind:?} was given")));
            }
        }
        KeyKind::Aes(_) | KeyKind::Hmac(_) | KeyKind::Des3(_) => {
            return Err(bad(format!("{kind:?} is not an asymmetric key kind")));
        }
    }
    Ok(())
}

/// Parses a PKCS#8 private key and checks it against `kind` (which must be private).
fn parse_private(kind: KeyKind, pkcs8: &[u8]) -> Result<PKey<Private>, CryptoError> {
    if !is_private(kind) {
        return Err(bad(format!("{kind:?} is not a private key kind")));
    }
    let pkey =
        PKey::private_key_from_pkcs8(pkcs8).map_err(rejected("key is not a PKCS#8 private key"))?;
    check_asym_kind(&pkey, kind)?;
    Ok(pkey)
}

/// The public key for `kind`: parsed from SPKI for a public kind, derived from the
/// PKCS#8 for a private kind.
fn parse_public(kind: KeyKind, key: &[u8]) -> Result<PKey<Public>, CryptoError> {
    let spki_owned;
    let spki = if is_private(kind) {
        let private = parse_private(kind, key)?;
        spki_owned = private
            .public_key_to_der()
            .map_err(failed("SPKI encoding"))?;
        &spki_owned[..]
    } else {
        key
    };
    let pkey =
        PKey::public_key_from_der(spki).map_err(rejected("key is not an SPKI public key"))?;
    check_asym_kind(&pkey, kind)?;
    Ok(pkey)
}

// ---------------------------------------------------------------------------
// Symmetric ciphers

/// Block cipher family of a symmetric key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Aes(u32),
    Des3,
}

impl Block {
    fn block_len(self) -> usize {
        match self {
            Block::Aes(_) => 16,
            Block::Des3 => 8,
        }
    }
}

/// Validates a symmetric key against its kind; returns the key OpenSSL takes
/// (two-key 3DES is expanded to K1‖K2‖K1).
fn sym_key(kind: KeyKind, key: &[u8]) -> Result<(Block, Zeroizing<Vec<u8>>), CryptoError> {
    match kind {
        KeyKind::Aes(bits) => {
            if !matches!(bits, 128 | 192 | 256) {
                return Err(bad(format!("AES key of {bits} bits (128, 192 or 256)")));
            }
            if key.len() * 8 != bits as usize {
                return Err(bad(format!(
                    "AES key is {} bytes but {kind:?} was given",
                    key.len()
                )));
            }
            Ok((Block::Aes(bits), Zeroizing::new(key.to_vec())))
        }
        KeyKind::Des3(bits) => {
            let expected = match bits {
                112 | 128 => 16,
                168 | 192 => 24,
                _ => return Err(bad(format!("3DES key of {bits} bits (112 or 168)"))),
            };
            if key.len() != expected {
                return Err(bad(format!(
                    "3DES key is {} bytes but {kind:?} was given",
                    key.len()
                )));
            }
            let mut full = Zeroizing::new(Vec::with_capacity(24));
            full.extend_from_slice(key);
            if expected == 16 {
                full.extend_from_slice(&key[..8]);
            }
            Ok((Block::Des3, full))
        }
        _ => Err(bad(format!("{kind:?} is not a symmetric cipher key"))),
    }
}

/// Output of a symmetric operation: data, the IV or nonce the engine generated, the
/// GCM tag (encryption).
type SymOut = (Zeroizing<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Gcm,
    Cbc,
    Ctr,
    Ecb,
    Wrap,
    WrapPad,
}

/// The OpenSSL cipher of `block` in `mode`, fetched from the default provider
/// once per process. Handing OpenSSL 3 a built-in (legacy) cipher instead makes
/// every context initialisation fetch it again: on a 64-byte AES-GCM encryption
/// that fetch was most of the cost.
fn ossl_cipher(block: Block, mode: Mode) -> Result<&'static CipherRef, CryptoError> {
    const MODES: [Mode; 6] = [
        Mode::Gcm,
        Mode::Cbc,
        Mode::Ctr,
        Mode::Ecb,
        Mode::Wrap,
        Mode::WrapPad,
    ];
    static FETCHED: [OnceLock<Option<OsslCipher>>; 20] = [const { OnceLock::new() }; 20];
    let (slot, name) = match (block, mode) {
        (Block::Aes(bits @ (128 | 192 | 256)), mode) => {
            let size = match bits {
                128 => 0,
                192 => 1,
                _ => 2,
            };
            let m = MODES.iter().position(|x| *x == mode).unwrap_or(0);
            let suffix = match mode {
                Mode::Gcm => "GCM",
                Mode::Cbc => "CBC",
                Mode::Ctr => "CTR",
                Mode::Ecb => "ECB",
                Mode::Wrap => "WRAP",
                Mode::WrapPad => "WRAP-PAD",
            };
            (m * 3 + size, format!("AES-{bits}-{suffix}"))
        }
        (Block::Des3, Mode::Cbc) => (18, "DES-EDE3-CBC".to_owned()),
        (Block::Des3, Mode::Ecb) => (19, "DES-EDE3-ECB".to_owned()),
        (Block::Des3, _) => return Err(bad("3DES supports only CBC and ECB")),
        (Block::Aes(_), _) => return Err(bad("unsupported AES key size")),
    };
    FETCHED
        .get(slot)
        .and_then(|cell| {
            cell.get_or_init(|| OsslCipher::fetch(None, &name, None).ok())
                .as_deref()
        })
        .ok_or_else(|| bad(format!("{name} is not available from OpenSSL")))
}

/// Runs a non-AEAD cipher over `data` in one pass. `iv` must already have the
/// cipher's IV length (or be `None` for ECB and key wrap).
fn run_cipher(
    cipher: &CipherRef,
    key: &[u8],
    iv: Option<&[u8]>,
    encrypt: bool,
    pad: bool,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ErrorStack> {
    let mut ctx = CipherCtx::new()?;
    ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
    if encrypt {
        ctx.encrypt_init(Some(cipher), Some(key), iv)?;
    } else {
        ctx.decrypt_init(Some(cipher), Some(key), iv)?;
    }
    ctx.set_padding(pad);
    // Room for the input, one block of padding, the final block and the 8 bytes of
    // a key wrap: the buffer is never reallocated.
    let mut out = Zeroizing::new(Vec::with_capacity(data.len() + 3 * 16));
    ctx.cipher_update_vec(data, &mut out)?;
    ctx.cipher_final_vec(&mut out)?;
    Ok(out)
}

fn take_iv(
    iv: &Option<Vec<u8>>,
    len: usize,
    encrypt: bool,
    what: &str,
) -> Result<(Vec<u8>, bool), CryptoError> {
    match iv {
        Some(iv) if iv.len() == len => Ok((iv.clone(), false)),
        Some(iv) => Err(bad(format!(
            "{what} IV is {} bytes, {len} required",
            iv.len()
        ))),
        None if encrypt => {
            let mut fresh = vec![0u8; len];
            openssl::rand::rand_bytes(&mut fresh).map_err(failed("IV generation"))?;
            Ok((fresh, true))
        }
        None => Err(bad(format!("{what} decryption needs the IV"))),
    }
}

/// Symmetric encryption or decryption (everything except RSA).
fn symmetric(
    kind: KeyKind,
    key: &[u8],
    cipher: &Cipher,
    data: &[u8],
    encrypt: bool,
) -> Result<SymOut, CryptoError> {
    let (block, key) = sym_key(kind, key)?;
    let bl = block.block_len();
    match cipher {
        Cipher::AesGcm {
            nonce,
            aad,
            tag_len,
            tag,
        } => {
            let c = ossl_cipher(block, Mode::Gcm)?;
            check_data_len(aad)?;
            gcm(c, &key, nonce, aad, *tag_len, tag.as_deref(), data, encrypt)
        }
        Cipher::AesCbc { iv, pad } => {
            let c = ossl_cipher(block, Mode::Cbc)?;
            if (!pad || !encrypt) && data.len() % bl != 0 {
                return Err(bad(format!("CBC data must be a multiple of {bl} bytes")));
            }
            if *pad && !encrypt && data.is_empty() {
                return Err(bad("padded CBC ciphertext cannot be empty"));
            }
            let (iv, generated) = take_iv(iv, bl, encrypt, "CBC")?;
            let out = run_cipher(c, &key, Some(&iv), encrypt, *pad, data).map_err(if encrypt {
                failed("CBC encryption")
            } else {
                failed("CBC decryption (bad padding?)")
            })?;
            Ok((out, generated.then_some(iv), None))
        }
        Cipher::AesCtr { iv } => {
            let c = ossl_cipher(block, Mode::Ctr)?;
            let (iv, generated) = take_iv(iv, 16, encrypt, "CTR")?;
            let out =
                run_cipher(c, &key, Some(&iv), encrypt, false, data).map_err(failed("CTR"))?;
            Ok((out, generated.then_some(iv), None))
        }
        Cipher::AesEcb => {
            let c = ossl_cipher(block, Mode::Ecb)?;
            if data.len() % bl != 0 {
                return Err(bad(format!("ECB data must be a multiple of {bl} bytes")));
            }
            let out = run_cipher(c, &key, None, encrypt, false, data).map_err(failed("ECB"))?;
            Ok((out, None, None))
        }
        Cipher::AesKeyWrap { pad } => {
            let c = ossl_cipher(block, if *pad { Mode::WrapPad } else { Mode::Wrap })?;
            match (*pad, encrypt) {
                (false, true) if data.len() < 16 || data.len() % 8 != 0 => {
                    return Err(bad("RFC 3394 wraps a multiple of 8 bytes, at least 16"));
                }
                (false, false) if data.len() < 24 || data.len() % 8 != 0 => {
                    return Err(bad(
                        "RFC 3394 wrapped data is a multiple of 8 bytes, at least 24",
                    ));
                }
                (true, true) if data.is_empty() => {
                    return Err(bad("RFC 5649 wraps at least 1 byte"));
                }
                (true, false) if data.len() < 16 || data.len() % 8 != 0 => {
                    return Err(bad(
                        "RFC 5649 wrapped data is a multiple of 8 bytes, at least 16",
                    ));
                }
                _ => {}
            }
            let out = run_cipher(c, &key, None, encrypt, false, data).map_err(if encrypt {
                failed("key wrap")
            } else {
                failed("key unwrap (integrity check failed)")
            })?;
            Ok((out, None, None))
        }
        Cipher::RsaOaep { .. } | Cipher::RsaPkcs1v15 => Err(bad(format!(
            "RSA encryption needs an RSA key, not {kind:?}"
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
fn gcm(
    c: &CipherRef,
    key: &[u8],
    nonce: &Option<Vec<u8>>,
    aad: &[u8],
    tag_len: usize,
    tag: Option<&[u8]>,
    data: &[u8],
    encrypt: bool,
) -> Result<SymOut, CryptoError> {
    if let Some(n) = nonce {
        if !GCM_NONCE_LENS.contains(&n.len()) {
            return Err(bad(format!("GCM nonce of {} bytes (1..=128)", n.len())));
        }
    }
    let tag_in = if encrypt {
        if !GCM_TAG_LENS.contains(&tag_len) {
            return Err(bad(format!("GCM tag length {tag_len} (12..=16)")));
        }
        None
    } else {
        // On decryption the tag's own length is authoritative.
        let t = tag.ok_or_else(|| bad("GCM decryption needs the tag"))?;
        if !GCM_TAG_LENS.contains(&t.len()) {
            return Err(bad(format!("GCM tag of {} bytes (12..=16)", t.len())));
        }
        Some(t)
    };
    let (nonce, generated) = match nonce {
        Some(n) => (n.clone(), false),
        None if encrypt => {
            let mut n = vec![0u8; GCM_NONCE_LEN];
            openssl::rand::rand_bytes(&mut n).map_err(failed("nonce generation"))?;
            (n, true)
        }
        None => return Err(bad("GCM decryption needs the nonce")),
    };

    let what = if encrypt {
        "GCM encryption"
    } else {
        "GCM decryption"
    };
    let mut ctx = CipherCtx::new().map_err(failed(what))?;
    let mut out = Zeroizing::new(Vec::with_capacity(data.len() + 16));
    let r: Result<(), ErrorStack> = (|| {
        if encrypt {
            ctx.encrypt_init(Some(c), None, None)?;
            ctx.set_iv_length(nonce.len())?;
            ctx.encrypt_init(None, Some(key), Some(&nonce))?;
        } else {
            ctx.decrypt_init(Some(c), None, None)?;
            ctx.set_iv_length(nonce.len())?;
            ctx.decrypt_init(None, Some(key), Some(&nonce))?;
        }
        if !aad.is_empty() {
            ctx.cipher_update(aad, None)?;
        }
        ctx.cipher_update_vec(data, &mut out)?;
        if let Some(t) = tag_in {
            ctx.set_tag(t)?;
        }
        Ok(())
    })();
    r.map_err(failed(what))?;
    ctx.cipher_final_vec(&mut out).map_err(|e| {
        if encrypt {
            failed("GCM encryption")(e)
        } else {
            CryptoError::Failed("GCM authentication tag does not match".to_owned())
        }
    })?;
    if encrypt {
        let mut tag_out = vec![0u8; tag_len];
        ctx.tag(&mut tag_out).map_err(failed(what))?;
        Ok((out, generated.then_some(nonce), Some(tag_out)))
    } else {
        Ok((out, None, None))
    }
}

// ---------------------------------------------------------------------------
// RSA encryption

fn rsa_ctx_padding<T>(ctx: &mut PkeyCtx<T>, cipher: &Cipher) -> Result<(), ErrorStack> {
    match cipher {
        Cipher::RsaOaep { hash } => {
            ctx.set_rsa_padding(Padding::PKCS1_OAEP)?;
            ctx.set_rsa_oaep_md(md(*hash))?;
            ctx.set_rsa_mgf1_md(md(*hash))?;
        }
        _ => ctx.set_rsa_padding(Padding::PKCS1)?,
    }
    Ok(())
}

/// Largest plaintext for the scheme and a modulus of `k` bytes.
fn rsa_max_plain(cipher: &Cipher, k: usize) -> usize {
    match cipher {
        Cipher::RsaOaep { hash } => k.saturating_sub(2 * hash_len(*hash) + 2),
        _ => k.saturating_sub(11),
    }
}

fn rsa_encrypt(
    kind: KeyKind,
    key: &[u8],
    cipher: &Cipher,
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if !matches!(kind, KeyKind::RsaPublic(_) | KeyKind::RsaPrivate(_)) {
        return Err(bad(format!(
            "RSA encryption needs an RSA key, not {kind:?}"
        )));
    }
    let pkey = parse_public(kind, key)?;
    let k = pkey.size();
    let max = rsa_max_plain(cipher, k);
    if data.len() > max {
        return Err(bad(format!(
            "RSA plaintext of {} bytes exceeds {max}",
            data.len()
        )));
    }
    let mut ctx = PkeyCtx::new(&pkey).map_err(failed("RSA encryption"))?;
    let mut out = Vec::with_capacity(k);
    ctx.encrypt_init()
        .and_then(|()| rsa_ctx_padding(&mut ctx, cipher))
        .and_then(|()| ctx.encrypt_to_vec(data, &mut out))
        .map_err(failed("RSA encryption"))?;
    Ok(out)
}

fn rsa_decrypt(
    kind: KeyKind,
    key: &[u8],
    cipher: &Cipher,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if !matches!(kind, KeyKind::RsaPrivate(_)) {
        return Err(bad(format!(
            "RSA decryption needs an RSA private key, not {kind:?}"
        )));
    }
    let pkey = parse_private(kind, key)?;
    let k = pkey.size();
    if data.len() != k {
        return Err(bad(format!(
            "RSA ciphertext of {} bytes, {k} expected",
            data.len()
        )));
    }
    let mut ctx = PkeyCtx::new(&pkey).map_err(failed("RSA decryption"))?;
    ctx.decrypt_init()
        .and_then(|()| rsa_ctx_padding(&mut ctx, cipher))
        .map_err(failed("RSA decryption"))?;
    let mut out = Zeroizing::new(Vec::with_capacity(k));
    // One message for every decryption failure: no detail on padding.
    ctx.decrypt_to_vec(data, &mut out)
        .map_err(|_| CryptoError::Failed("RSA decryption failed".to_owned()))?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Public encryption API

/// Encrypts `data` under `key` (raw symmetric key; SPKI for an RSA public key, PKCS#8
/// for an RSA private key whose public half is used).
///
/// GCM: the nonce is generated (12 bytes) when absent and returned in
/// [`Encrypted::iv`]; the tag of `tag_len` bytes is in [`Encrypted::tag`]. CBC and
/// CTR: the IV is generated when absent and returned. With a [`KeyKind::Des3`] key,
/// [`Cipher::AesCbc`] and [`Cipher::AesEcb`] select 3DES-CBC/ECB (8-byte IV).
pub fn encrypt(
    kind: KeyKind,
    key: &[u8],
    cipher: &Cipher,
    data: &[u8],
) -> Result<Encrypted, CryptoError> {
    check_data_len(data)?;
    match cipher {
        Cipher::RsaOaep { .. } | Cipher::RsaPkcs1v15 => {
            let data = rsa_encrypt(kind, key, cipher, data)?;
            Ok(Encrypted {
                data,
                iv: None,
                tag: None,
            })
        }
        _ => {
            let (mut out, iv, tag) = symmetric(kind, key, cipher, data, true)?;
            // Ciphertext is not secret: move it out of the zeroizing wrapper.
            let data = std::mem::take(&mut *out);
            Ok(Encrypted { data, iv, tag })
        }
    }
}

/// Decrypts `data` under `key` (raw symmetric key; PKCS#8 for RSA). GCM needs the
/// nonce and the tag (whose length is used as given, 12..=16); CBC and CTR need the
/// IV. Authentication or padding failures are [`CryptoError::Failed`].
pub fn decrypt(
    kind: KeyKind,
    key: &[u8],
    cipher: &Cipher,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    check_data_len(data)?;
    match cipher {
        Cipher::RsaOaep { .. } | Cipher::RsaPkcs1v15 => rsa_decrypt(kind, key, cipher, data),
        _ => symmetric(kind, key, cipher, data, false).map(|(out, _, _)| out),
    }
}

// ---------------------------------------------------------------------------
// Signatures

/// Checks the scheme against the key kind and returns its hash (None for Ed25519).
/// SHA-1 is refused for signing and accepted for verification (NIST SP 800-131A
/// rev. 2: "legacy use" of signatures made before SHA-1 was retired).
fn scheme_hash(
    kind: KeyKind,
    scheme: SignatureScheme,
    verifying: bool,
) -> Result<Option<HashAlg>, CryptoError> {
    let ok = match scheme {
        SignatureScheme::RsaPkcs1v15(_) | SignatureScheme::RsaPss(_) => {
            matches!(kind, KeyKind::RsaPrivate(_) | KeyKind::RsaPublic(_))
        }
        SignatureScheme::Ecdsa(_) => matches!(kind, KeyKind::EcPrivate(_) | KeyKind::EcPublic(_)),
        SignatureScheme::Ed25519 => {
            matches!(kind, KeyKind::Ed25519Private | KeyKind::Ed25519Public)
        }
    };
    if !ok {
        return Err(bad(format!("{scheme:?} cannot be used with {kind:?}")));
    }
    match scheme {
        SignatureScheme::RsaPkcs1v15(h)
        | SignatureScheme::RsaPss(h)
        | SignatureScheme::Ecdsa(h) => {
            if h == HashAlg::Sha1 && !verifying {
                return Err(bad("SHA-1 is not accepted for signatures"));
            }
            Ok(Some(h))
        }
        SignatureScheme::Ed25519 => Ok(None),
    }
}

fn check_input(input: &SignInput<'_>, hash: Option<HashAlg>) -> Result<(), CryptoError> {
    match (input, hash) {
        (SignInput::Message(m), _) => check_data_len(m),
        (SignInput::Digest(_), None) => Err(bad("Ed25519 signs the message, not a digest")),
        (SignInput::Digest(d), Some(h)) => {
            if d.len() == hash_len(h) {
                Ok(())
            } else {
                Err(bad(format!(
                    "digest of {} bytes, {} expected for {h:?}",
                    d.len(),
                    hash_len(h)
                )))
            }
        }
    }
}

/// PSS salt length: signatures use a salt as long as the hash; verification
/// recovers the salt length from the signature (OpenSSL's `RSA_PSS_SALTLEN_AUTO`,
/// -2, which the crate names `MAXIMUM_LENGTH` after its meaning when signing), so
/// PSS signatures made with another salt length (e.g. the maximum) verify too.
fn pss_saltlen(verifying: bool) -> RsaPssSaltlen {
    if verifying {
        RsaPssSaltlen::MAXIMUM_LENGTH
    } else {
        RsaPssSaltlen::DIGEST_LENGTH
    }
}

/// RSA padding settings on a digest-signing context.
fn pkey_ctx_scheme<T>(
    ctx: &mut PkeyCtx<T>,
    scheme: SignatureScheme,
    verifying: bool,
) -> Result<(), ErrorStack> {
    match scheme {
        SignatureScheme::RsaPkcs1v15(h) => {
            ctx.set_signature_md(md(h))?;
            ctx.set_rsa_padding(Padding::PKCS1)?;
        }
        SignatureScheme::RsaPss(h) => {
            ctx.set_signature_md(md(h))?;
            ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
            ctx.set_rsa_pss_saltlen(pss_saltlen(verifying))?;
            ctx.set_rsa_mgf1_md(md(h))?;
        }
        SignatureScheme::Ecdsa(h) => ctx.set_signature_md(md(h))?,
        SignatureScheme::Ed25519 => {}
    }
    Ok(())
}

/// Signs with a PKCS#8 private key. RSA PKCS#1 v1.5 and PSS (MGF1 with the same
/// hash, salt length = hash length), ECDSA (DER signature), Ed25519 (message only).
/// A [`SignInput::Digest`] must have the hash's length and is not hashed again.
pub fn sign(
    kind: KeyKind,
    key: &[u8],
    scheme: SignatureScheme,
    input: SignInput<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let hash = scheme_hash(kind, scheme, false)?;
    check_input(&input, hash)?;
    if !is_private(kind) {
        return Err(bad(format!("signing needs a private key, not {kind:?}")));
    }
    let pkey = parse_private(kind, key)?;
    match (input, hash) {
        (SignInput::Message(m), None) => {
            let mut signer = Signer::new_without_digest(&pkey).map_err(failed("signing"))?;
            signer.sign_oneshot_to_vec(m).map_err(failed("signing"))
        }
        (SignInput::Message(m), Some(h)) => {
            let mut signer = Signer::new(message_digest(h), &pkey).map_err(failed("signing"))?;
            if let SignatureScheme::RsaPss(_) = scheme {
                signer
                    .set_rsa_padding(Padding::PKCS1_PSS)
                    .and_then(|()| signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH))
                    .and_then(|()| signer.set_rsa_mgf1_md(message_digest(h)))
                    .map_err(failed("signing"))?;
            } else if let SignatureScheme::RsaPkcs1v15(_) = scheme {
                signer
                    .set_rsa_padding(Padding::PKCS1)
                    .map_err(failed("signing"))?;
            }
            signer.sign_oneshot_to_vec(m).map_err(failed("signing"))
        }
        (SignInput::Digest(d), _) => {
            let mut ctx = PkeyCtx::new(&pkey).map_err(failed("signing"))?;
            let mut sig = Vec::with_capacity(pkey.size());
            ctx.sign_init()
                .and_then(|()| pkey_ctx_scheme(&mut ctx, scheme, false))
                .and_then(|()| ctx.sign_to_vec(d, &mut sig))
                .map_err(failed("signing"))?;
            Ok(sig)
        }
    }
}

/// Verifies a signature with an SPKI public key (or the public half of a PKCS#8
/// private key, when `kind` is a private kind). A signature that does not verify,
/// including a malformed one, is `Ok(false)`.
pub fn verify(
    kind: KeyKind,
    key: &[u8],
    scheme: SignatureScheme,
    input: SignInput<'_>,
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let hash = scheme_hash(kind, scheme, true)?;
    check_input(&input, hash)?;
    check_data_len(signature)?;
    let pkey = parse_public(kind, key)?;
    match (input, hash) {
        (SignInput::Message(m), None) => {
            let mut v = Verifier::new_without_digest(&pkey).map_err(failed("verification"))?;
            Ok(verify_outcome(v.verify_oneshot(signature, m)))
        }
        (SignInput::Message(m), Some(h)) => {
            let mut v = Verifier::new(message_digest(h), &pkey).map_err(failed("verification"))?;
            if let SignatureScheme::RsaPss(_) = scheme {
                v.set_rsa_padding(Padding::PKCS1_PSS)
                    .and_then(|()| v.set_rsa_pss_saltlen(pss_saltlen(true)))
                    .and_then(|()| v.set_rsa_mgf1_md(message_digest(h)))
                    .map_err(failed("verification"))?;
            } else if let SignatureScheme::RsaPkcs1v15(_) = scheme {
                v.set_rsa_padding(Padding::PKCS1)
                    .map_err(failed("verification"))?;
            }
            Ok(verify_outcome(v.verify_oneshot(signature, m)))
        }
        (SignInput::Digest(d), _) => verify_digest(&pkey, scheme, d, signature),
    }
}

fn verify_digest<T: HasPublic>(
    pkey: &PKeyRef<T>,
    scheme: SignatureScheme,
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let mut ctx = PkeyCtx::new(pkey).map_err(failed("verification"))?;
    ctx.verify_init()
        .and_then(|()| pkey_ctx_scheme(&mut ctx, scheme, true))
        .map_err(failed("verification"))?;
    Ok(verify_outcome(ctx.verify(digest, signature)))
}

/// Errors from the final verification step (malformed DER, wrong length) mean the
/// signature is not valid.
fn verify_outcome(r: Result<bool, ErrorStack>) -> bool {
    r.unwrap_or(false)
}

// ---------------------------------------------------------------------------
// MACs

/// Computes a MAC: HMAC with a [`KeyKind::Hmac`] key, AES-CMAC with a
/// [`KeyKind::Aes`] key.
pub fn mac(kind: KeyKind, key: &[u8], alg: MacAlg, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_data_len(data)?;
    match alg {
        MacAlg::Hmac(h) => {
            let KeyKind::Hmac(bits) = kind else {
                return Err(bad(format!("HMAC needs an HMAC key, not {kind:?}")));
            };
            if key.is_empty() || key.len() * 8 != bits as usize {
                return Err(bad(format!(
                    "HMAC key is {} bytes but {kind:?} was given",
                    key.len()
                )));
            }
            check_data_len(key)?;
            let pkey = PKey::hmac(key).map_err(failed("HMAC key"))?;
            let mut signer = Signer::new(message_digest(h), &pkey).map_err(failed("HMAC"))?;
            signer.sign_oneshot_to_vec(data).map_err(failed("HMAC"))
        }
        MacAlg::AesCmac => {
            let (block, key) = sym_key(kind, key)?;
            let cipher = match block {
                Block::Aes(128) => openssl::symm::Cipher::aes_128_cbc(),
                Block::Aes(192) => openssl::symm::Cipher::aes_192_cbc(),
                Block::Aes(256) => openssl::symm::Cipher::aes_256_cbc(),
                _ => return Err(bad(format!("AES-CMAC needs an AES key, not {kind:?}"))),
            };
            let pkey = PKey::cmac(&cipher, &key).map_err(failed("CMAC key"))?;
            let mut signer = Signer::new_without_digest(&pkey).map_err(failed("CMAC"))?;
            signer.update(data).map_err(failed("CMAC"))?;
            signer.sign_to_vec().map_err(failed("CMAC"))
        }
    }
}

/// Checks a MAC in constant time (for equal lengths). A MAC of the wrong length, or
/// that does not match, is `Ok(false)`.
pub fn mac_verify(
    kind: KeyKind,
    key: &[u8],
    alg: MacAlg,
    data: &[u8],
    expected: &[u8],
) -> Result<bool, CryptoError> {
    let computed = mac(kind, key, alg, data)?;
    if computed.len() != expected.len() {
        return Ok(false);
    }
    Ok(openssl::memcmp::eq(&computed, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_key_des3_is_expanded_k1_k2_k1() {
        let key: Vec<u8> = (0u8..16).collect();
        let (block, full) = sym_key(KeyKind::Des3(112), &key).unwrap();
        assert!(block == Block::Des3);
        assert_eq!(&full[..16], &key[..]);
        assert_eq!(&full[16..], &key[..8]);
    }

    #[test]
    fn sym_key_checks_length_against_kind() {
        assert!(matches!(
            sym_key(KeyKind::Aes(128), &[0; 32]),
            Err(CryptoError::BadParameters(_))
        ));
        assert!(matches!(
            sym_key(KeyKind::Aes(64), &[0; 8]),
            Err(CryptoError::BadParameters(_))
        ));
        assert!(matches!(
            sym_key(KeyKind::Des3(168), &[0; 16]),
            Err(CryptoError::BadParameters(_))
        ));
        assert!(matches!(
            sym_key(KeyKind::Hmac(128), &[0; 16]),
            Err(CryptoError::BadParameters(_))
        ));
        assert!(sym_key(KeyKind::Aes(256), &[0; 32]).is_ok());
    }

    #[test]
    fn rsa_plaintext_bounds() {
        assert_eq!(rsa_max_plain(&Cipher::RsaPkcs1v15, 256), 245);
        assert_eq!(
            rsa_max_plain(
                &Cipher::RsaOaep {
                    hash: HashAlg::Sha1
                },
                256
            ),
            214
        );
        assert_eq!(
            rsa_max_plain(
                &Cipher::RsaOaep {
                    hash: HashAlg::Sha256
                },
                256
            ),
            190
        );
        assert_eq!(
            rsa_max_plain(
                &Cipher::RsaOaep {
                    hash: HashAlg::Sha512
                },
                64
            ),
            0
        );
    }

    #[test]
    fn hash_len_matches_hash_output() {
        for h in [
            HashAlg::Sha1,
            HashAlg::Sha224,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            assert_eq!(hash(h, b"x").len(), hash_len(h));
            assert_eq!(message_digest(h).size(), hash_len(h));
            assert_eq!(md(h).size(), hash_len(h));
        }
    }

    #[test]
    fn error_messages_name_reasons_only() {
        // A bogus DER key: the message says why, and carries no input bytes.
        let junk = [0x30u8, 0x03, 0xde, 0xad, 0xbe];
        let err = parse_private(KeyKind::RsaPrivate(2048), &junk).unwrap_err();
        let CryptoError::BadParameters(msg) = err else {
            panic!("{err:?}")
        };
        assert!(msg.starts_with("key is not a PKCS#8 private key"), "{msg}");
        assert!(!msg.to_lowercase().contains("deadbe"), "{msg}");
    }

    #[test]
    fn scheme_kind_mismatch_is_rejected() {
        assert!(scheme_hash(
            KeyKind::EcPrivate(Curve::P256),
            SignatureScheme::RsaPss(HashAlg::Sha256),
            false
        )
        .is_err());
        assert!(scheme_hash(
            KeyKind::RsaPrivate(2048),
            SignatureScheme::RsaPss(HashAlg::Sha1),
            false
        )
        .is_err());
        // SHA-1 signatures verify (legacy use), never sign.
        assert_eq!(
            scheme_hash(
                KeyKind::RsaPublic(2048),
                SignatureScheme::RsaPss(HashAlg::Sha1),
                true
            )
            .unwrap(),
            Some(HashAlg::Sha1)
        );
        assert_eq!(
            scheme_hash(KeyKind::Ed25519Public, SignatureScheme::Ed25519, true).unwrap(),
            None
        );
    }
}
