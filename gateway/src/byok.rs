//! Bring your own key (issue 6): what `keygate import` and `keygate export` do, as
//! a KMIP client of a running daemon.
//!
//! Import: the key file (PEM or DER PKCS#8, SEC1 or PKCS#1 private key, or the raw
//! bytes of an AES key) is parsed with the RustCrypto `der`/`pkcs8`/`sec1`/`pkcs1`
//! crates; private keys become PKCS#8. The vault's import key (ops::importkey) is
//! located by its Name and its public key fetched (Get, X.509); the key is wrapped
//! locally with RSA-AES key wrap (RSA-OAEP of a fresh AES-256 key, then RFC 5649,
//! `CKM_RSA_AES_KEY_WRAP`'s format) and registered with Key Wrapping Data naming
//! the import key's private key. The encoded request is checked not to hold the
//! key's bytes before it is sent, and exactly those bytes are sent.
//!
//! Export: Get with a Key Wrapping Specification under a key the caller names
//! (No Encoding): an AES wrapping key gives RFC 5649 (AES-KWP), an RSA public key
//! RSA-AES key wrap. The wrapped bytes are written to a file.

use crate::crypto::software as engine;
use crate::crypto::{Cipher, HashAlg, KeyKind};
use crate::ops::importkey::IMPORT_KEY_NAME;
use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode};
use kmip::client::{Client, ClientConfig};
use kmip::messages::objects::{
    CryptographicParameters, KeyBlock, KeyInformation, KeyValue, KeyWrappingData,
    KeyWrappingSpecification, ManagedObject, PrivateKey, SymmetricKey,
};
use kmip::messages::payloads::{GetRequest, LocateRequest, RegisterRequest};
use kmip::messages::{Attribute, Attributes, RequestMessage, RequestPayload, ResponsePayload};
use kmip::types::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, EncodingOption,
    HashingAlgorithm, KeyFormatType, ObjectType, Operation, PaddingMethod, WrappingMethod,
};
use kmip::version::ProtocolVersion;
use kmip::{Tag, Value};
use pkcs1::RsaPrivateKey;
use pkcs8::PrivateKeyInfoRef;
use zeroize::Zeroizing;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Largest key file read (a PEM RSA-8192 private key is under 7 KiB).
pub const MAX_KEY_FILE: usize = 64 * 1024;

/// Why an import or export failed (one line).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ByokError(pub String);

fn fail(msg: impl Into<String>) -> ByokError {
    ByokError(msg.into())
}

/// A key read from a file.
pub enum KeyFile {
    /// The raw bytes of an AES key (16, 24 or 32 bytes).
    Aes(Zeroizing<Vec<u8>>),
    /// A private key as PKCS#8 DER.
    Private {
        /// PKCS#8 DER.
        pkcs8: Zeroizing<Vec<u8>>,
        /// RSA or EC.
        algorithm: CryptographicAlgorithm,
        /// Modulus bits (RSA) or curve size (EC).
        bits: i32,
    },
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Aes(k) => write!(f, "Aes({} bits)", k.len() * 8),
            Self::Private {
                algorithm, bits, ..
            } => write!(f, "Private({algorithm:?}, {bits})"),
        }
    }
}

impl KeyFile {
    /// The secret bytes that will be wrapped.
    pub fn secret(&self) -> &[u8] {
        match self {
            Self::Aes(k) => k,
            Self::Private { pkcs8, .. } => pkcs8,
        }
    }
}

/// Parses a key file: PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`), DER
/// (PKCS#8, PKCS#1, SEC1), or else the raw bytes of an AES-128/192/256 key.
pub fn parse_key_file(bytes: &[u8]) -> Result<KeyFile, ByokError> {
    if bytes.len() > MAX_KEY_FILE {
        return Err(fail(format!("key file over {MAX_KEY_FILE} bytes")));
    }
    if bytes.starts_with(b"-----BEGIN") {
        let (label, der) =
            der::pem::decode_vec(bytes).map_err(|e| fail(format!("PEM does not decode: {e}")))?;
        let der = Zeroizing::new(der);
        return match label {
            "PRIVATE KEY" => from_pkcs8(&der),
            "RSA PRIVATE KEY" => from_pkcs1(&der),
            "EC PRIVATE KEY" => from_sec1(&der),
            other => Err(fail(format!(
                "PEM label {other:?} is not a private key (PRIVATE KEY, RSA PRIVATE KEY, EC \
                 PRIVATE KEY)"
            ))),
        };
    }
    if let Ok(k) = from_pkcs8(bytes) {
        return Ok(k);
    }
    if let Ok(k) = from_pkcs1(bytes) {
        return Ok(k);
    }
    if let Ok(k) = from_sec1(bytes) {
        return Ok(k);
    }
    match bytes.len() {
        16 | 24 | 32 => Ok(KeyFile::Aes(Zeroizing::new(bytes.to_vec()))),
        n => Err(fail(format!(
            "not a PKCS#8, PKCS#1 or SEC1 private key, nor an AES key (16, 24 or 32 raw \
             bytes): {n} bytes"
        ))),
    }
}

fn der_err(what: &str) -> impl FnOnce(der::Error) -> ByokError + '_ {
    move |e| fail(format!("{what}: {e}"))
}

fn rsa_bits(pkcs1_der: &[u8]) -> Result<i32, ByokError> {
    let k = RsaPrivateKey::<der::asn1::UintRef<'_>>::try_from(pkcs1_der)
        .map_err(|e| fail(format!("PKCS#1 RSA private key: {e}")))?;
    let n = k.modulus.as_bytes();
    let lead = n.first().map_or(8, |b| b.leading_zeros() as usize);
    i32::try_from(n.len() * 8 - lead).map_err(|_| fail("RSA modulus too large"))
}

fn curve_bits(oid: ObjectIdentifier) -> Result<i32, ByokError> {
    match oid {
        P256 => Ok(256),
        P384 => Ok(384),
        other => Err(fail(format!("curve {other} is not P-256 or P-384"))),
    }
}

fn from_pkcs8(der: &[u8]) -> Result<KeyFile, ByokError> {
    let info = PrivateKeyInfoRef::try_from(der).map_err(|e| fail(format!("PKCS#8: {e}")))?;
    let (algorithm, bits) = match info.algorithm.oid {
        RSA_ENCRYPTION => (
            CryptographicAlgorithm::Rsa,
            rsa_bits(info.private_key.as_bytes())?,
        ),
        EC_PUBLIC_KEY => {
            let curve = info
                .algorithm
                .parameters
                .ok_or_else(|| fail("PKCS#8 EC key without its curve"))?
                .decode_as::<ObjectIdentifier>()
                .map_err(der_err("PKCS#8 EC curve"))?;
            (CryptographicAlgorithm::Ec, curve_bits(curve)?)
        }
        other => {
            return Err(fail(format!(
                "PKCS#8 key of algorithm {other} (RSA and EC are imported)"
            )))
        }
    };
    Ok(KeyFile::Private {
        pkcs8: Zeroizing::new(der.to_vec()),
        algorithm,
        bits,
    })
}

fn from_pkcs1(der: &[u8]) -> Result<KeyFile, ByokError> {
    let bits = rsa_bits(der)?;
    let info = PrivateKeyInfoRef::new(
        spki::AlgorithmIdentifier {
            oid: RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        OctetStringRef::new(der).map_err(der_err("PKCS#1"))?,
    );
    Ok(KeyFile::Private {
        pkcs8: Zeroizing::new(info.to_der().map_err(der_err("PKCS#8"))?),
        algorithm: CryptographicAlgorithm::Rsa,
        bits,
    })
}

fn from_sec1(der: &[u8]) -> Result<KeyFile, ByokError> {
    let key = sec1::EcPrivateKey::from_der(der).map_err(der_err("SEC1 EC private key"))?;
    let curve = key
        .parameters
        .and_then(|p| p.named_curve())
        .ok_or_else(|| fail("SEC1 EC private key without its curve"))?;
    let bits = curve_bits(curve)?;
    let curve_der = curve.to_der().map_err(der_err("curve"))?;
    let info = PrivateKeyInfoRef::new(
        spki::AlgorithmIdentifier {
            oid: EC_PUBLIC_KEY,
            parameters: Some(AnyRef::try_from(curve_der.as_slice()).map_err(der_err("curve"))?),
        },
        OctetStringRef::new(der).map_err(der_err("SEC1"))?,
    );
    Ok(KeyFile::Private {
        pkcs8: Zeroizing::new(info.to_der().map_err(der_err("PKCS#8"))?),
        algorithm: CryptographicAlgorithm::Ec,
        bits,
    })
}

/// RSA-AES key wrap of `clear` under an RSA public key (SubjectPublicKeyInfo DER):
/// RSA-OAEP (`hash`, MGF1 with it) of a fresh AES-256 key, then RFC 5649 of `clear`
/// under that key.
pub fn rsa_aes_wrap(spki_der: &[u8], hash: HashAlg, clear: &[u8]) -> Result<Vec<u8>, ByokError> {
    let info = spki::SubjectPublicKeyInfoRef::try_from(spki_der)
        .map_err(|e| fail(format!("import key SPKI: {e}")))?;
    let public = pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(
        info.subject_public_key.raw_bytes(),
    )
    .map_err(der_err("import key (not RSA)"))?;
    let n = public.modulus.as_bytes();
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    let bits = u32::try_from(bits).map_err(|_| fail("RSA modulus too large"))?;
    let ephemeral = engine::random(32).map_err(|e| fail(e.to_string()))?;
    let mut out = engine::encrypt(
        KeyKind::RsaPublic(bits),
        spki_der,
        &Cipher::RsaOaep { hash },
        &ephemeral,
    )
    .map_err(|e| fail(format!("RSA-OAEP: {e}")))?
    .data;
    let inner = engine::encrypt(
        KeyKind::Aes(256),
        &ephemeral,
        &Cipher::AesKeyWrap { pad: true },
        clear,
    )
    .map_err(|e| fail(format!("AES key wrap: {e}")))?;
    out.extend_from_slice(&inner.data);
    Ok(out)
}

fn hashing(hash: HashAlg) -> HashingAlgorithm {
    match hash {
        HashAlg::Sha1 => HashingAlgorithm::Sha1,
        HashAlg::Sha224 => HashingAlgorithm::Sha224,
        HashAlg::Sha256 => HashingAlgorithm::Sha256,
        HashAlg::Sha384 => HashingAlgorithm::Sha384,
        HashAlg::Sha512 => HashingAlgorithm::Sha512,
    }
}

/// Cryptographic Parameters naming RSA-AES key wrap (ops::wrap).
pub fn rsa_aes_params(hash: HashAlg) -> CryptographicParameters {
    CryptographicParameters {
        block_cipher_mode: Some(BlockCipherMode::AesKeyWrapPadding),
        padding_method: Some(PaddingMethod::Oaep),
        hashing_algorithm: Some(hashing(hash)),
        ..CryptographicParameters::default()
    }
}

/// The binary encoding of a one-item request.
pub fn request(v: ProtocolVersion, operation: Operation, payload: RequestPayload) -> Vec<u8> {
    RequestMessage::single(v, operation, payload).encode()
}

/// Sends `req` and returns its only item's payload, or the server's reason.
pub fn exchange(c: &mut Client, what: Operation, req: &[u8]) -> Result<ResponsePayload, ByokError> {
    c.call_bytes(what, req).map_err(|e| fail(e.to_string()))
}

/// The first object of `object_type` named `name` (Locate answers the newest Active
/// version first).
pub fn locate(
    c: &mut Client,
    v: ProtocolVersion,
    name: &str,
    object_type: ObjectType,
) -> Result<String, ByokError> {
    let req = request(
        v,
        Operation::Locate,
        RequestPayload::Locate(LocateRequest {
            maximum_items: None,
            offset_items: None,
            storage_status_mask: None,
            object_group_member: None,
            attributes: Attributes::new(vec![
                Attribute::name(name),
                Attribute::standard(Tag::OBJECT_TYPE, Value::Enumeration(object_type.value())),
            ]),
            extensions: Vec::new(),
        }),
    );
    match exchange(c, Operation::Locate, &req)? {
        ResponsePayload::Locate(l) => l
            .unique_identifiers
            .into_iter()
            .next()
            .ok_or_else(|| fail(format!("no {object_type:?} named {name:?} in the vault"))),
        other => Err(fail(format!("Locate answered {other:?}"))),
    }
}

fn get(c: &mut Client, v: ProtocolVersion, req: GetRequest) -> Result<ManagedObject, ByokError> {
    match exchange(
        c,
        Operation::Get,
        &request(v, Operation::Get, RequestPayload::Get(req)),
    )? {
        ResponsePayload::Get(g) => Ok(g.object),
        other => Err(fail(format!("Get answered {other:?}"))),
    }
}

fn plain_get(uid: &str, format: Option<KeyFormatType>) -> GetRequest {
    GetRequest {
        unique_identifier: Some(uid.to_owned()),
        key_format_type: format,
        key_wrap_type: None,
        key_compression_type: None,
        key_wrapping_specification: None,
        extensions: Vec::new(),
    }
}

/// The vault's import key: (private key UID, public key SPKI DER).
pub fn import_key(c: &mut Client, v: ProtocolVersion) -> Result<(String, Vec<u8>), ByokError> {
    let public = locate(c, v, IMPORT_KEY_NAME, ObjectType::PublicKey)?;
    let private = locate(c, v, IMPORT_KEY_NAME, ObjectType::PrivateKey)?;
    let o = get(c, v, plain_get(&public, Some(KeyFormatType::X509)))?;
    match o.key_block().and_then(|kb| kb.key_value.as_ref()) {
        Some(KeyValue::Plain {
            key_material: kmip::messages::objects::KeyMaterial::Bytes(b),
            ..
        }) => Ok((private, b.clone())),
        _ => Err(fail("the import public key has no X.509 key material")),
    }
}

/// The Register request (encoded) of `key` wrapped (`wrapped`) under the import
/// key's private key `unwrapping_uid`, named `name`.
pub fn register_request(
    v: ProtocolVersion,
    name: &str,
    key: &KeyFile,
    wrapped: Vec<u8>,
    unwrapping_uid: &str,
    hash: HashAlg,
) -> Vec<u8> {
    let (object_type, format, algorithm, bits, usage) = match key {
        KeyFile::Aes(k) => (
            ObjectType::SymmetricKey,
            KeyFormatType::Raw,
            CryptographicAlgorithm::Aes,
            i32::try_from(k.len() * 8).unwrap_or(0),
            CryptographicUsageMask::Encrypt.value() | CryptographicUsageMask::Decrypt.value(),
        ),
        KeyFile::Private {
            algorithm, bits, ..
        } => (
            ObjectType::PrivateKey,
            KeyFormatType::Pkcs8,
            *algorithm,
            *bits,
            if *algorithm == CryptographicAlgorithm::Rsa {
                CryptographicUsageMask::Sign.value() | CryptographicUsageMask::Decrypt.value()
            } else {
                CryptographicUsageMask::Sign.value()
            },
        ),
    };
    let key_block = KeyBlock {
        key_format_type: format,
        key_compression_type: None,
        key_value: Some(KeyValue::Wrapped(wrapped)),
        cryptographic_algorithm: Some(algorithm),
        cryptographic_length: Some(bits),
        key_wrapping_data: Some(Box::new(KeyWrappingData::encrypted(
            KeyInformation {
                unique_identifier: unwrapping_uid.to_owned(),
                cryptographic_parameters: Some(Box::new(rsa_aes_params(hash))),
                extensions: Vec::new(),
            },
            Some(EncodingOption::NoEncoding),
        ))),
        extensions: Vec::new(),
    };
    let object = match object_type {
        ObjectType::SymmetricKey => ManagedObject::SymmetricKey(SymmetricKey {
            key_block,
            extensions: Vec::new(),
        }),
        _ => ManagedObject::PrivateKey(PrivateKey {
            key_block,
            extensions: Vec::new(),
        }),
    };
    request(
        v,
        Operation::Register,
        RequestPayload::Register(RegisterRequest {
            object_type,
            attributes: Attributes::new(vec![
                Attribute::name(name),
                Attribute::standard(
                    Tag::CRYPTOGRAPHIC_USAGE_MASK,
                    Value::Integer(i32::try_from(usage).unwrap_or(0)),
                ),
            ]),
            object,
            protection_storage_masks: None,
            extensions: Vec::new(),
        }),
    )
}

/// The outcome of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The new object's UID.
    pub uid: String,
    /// The Register request exactly as sent (binary TTLV).
    pub request: Vec<u8>,
}

/// True when `haystack` holds `needle` anywhere.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Imports `key` into the caller's vault under `name` (see the module
/// documentation).
pub fn import(
    cfg: &ClientConfig,
    v: ProtocolVersion,
    name: &str,
    key: &KeyFile,
    hash: HashAlg,
) -> Result<Imported, ByokError> {
    let mut c = Client::connect(cfg).map_err(|e| fail(format!("connect: {e}")))?;
    let (unwrapping, spki) = import_key(&mut c, v)?;
    let wrapped = rsa_aes_wrap(&spki, hash, key.secret())?;
    let req = register_request(v, name, key, wrapped, &unwrapping, hash);
    if contains(&req, key.secret()) {
        return Err(fail("refusing to send: the request holds the clear key"));
    }
    match exchange(&mut c, Operation::Register, &req)? {
        ResponsePayload::Register(r) => Ok(Imported {
            uid: r.unique_identifier,
            request: req,
        }),
        other => Err(fail(format!("Register answered {other:?}"))),
    }
}

/// Exports `uid` wrapped under `wrap_uid` (No Encoding): AES-KWP under an AES key,
/// RSA-AES key wrap (`hash`) under an RSA public key. Returns the wrapped bytes.
pub fn export(
    cfg: &ClientConfig,
    v: ProtocolVersion,
    uid: &str,
    wrap_uid: &str,
    hash: HashAlg,
) -> Result<Vec<u8>, ByokError> {
    let mut c = Client::connect(cfg).map_err(|e| fail(format!("connect: {e}")))?;
    let rsa = matches!(
        get_type(&mut c, v, wrap_uid)?,
        ObjectType::PublicKey | ObjectType::PrivateKey
    );
    let params = if rsa {
        rsa_aes_params(hash)
    } else {
        CryptographicParameters {
            block_cipher_mode: Some(BlockCipherMode::AesKeyWrapPadding),
            ..CryptographicParameters::default()
        }
    };
    let mut req = plain_get(uid, None);
    req.key_wrapping_specification = Some(Box::new(KeyWrappingSpecification {
        wrapping_method: WrappingMethod::Encrypt,
        encryption_key_information: Some(KeyInformation {
            unique_identifier: wrap_uid.to_owned(),
            cryptographic_parameters: Some(Box::new(params)),
            extensions: Vec::new(),
        }),
        mac_signature_key_information: None,
        attribute_names: Default::default(),
        encoding_option: Some(EncodingOption::NoEncoding),
        extensions: Vec::new(),
    }));
    match get(&mut c, v, req)?
        .key_block()
        .and_then(|kb| kb.key_value.as_ref())
    {
        Some(KeyValue::Wrapped(b)) => Ok(b.clone()),
        _ => Err(fail("the server did not answer with a wrapped key")),
    }
}

fn get_type(c: &mut Client, v: ProtocolVersion, uid: &str) -> Result<ObjectType, ByokError> {
    let req = request(
        v,
        Operation::GetAttributes,
        RequestPayload::GetAttributes(kmip::messages::payloads::GetAttributesRequest {
            unique_identifier: Some(uid.to_owned()),
            references: kmip::messages::attributes::AttributeReferences(vec![
                kmip::messages::AttributeReference::Standard(Tag::OBJECT_TYPE),
            ]),
            extensions: Vec::new(),
        }),
    );
    match exchange(c, Operation::GetAttributes, &req)? {
        ResponsePayload::GetAttributes(a) => a
            .attributes
            .typed::<ObjectType>(Tag::OBJECT_TYPE)
            .and_then(Result::ok)
            .ok_or_else(|| fail(format!("{uid}: no Object Type"))),
        other => Err(fail(format!("Get Attributes answered {other:?}"))),
    }
}

/// The key the caller's identity file pair and the config name: a client
/// configuration for `keygate import` / `export`.
pub fn client_config(
    server: String,
    ca: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> ClientConfig {
    use kmip::client::PemSource;
    ClientConfig::new(
        server,
        PemSource::path(ca),
        PemSource::path(cert),
        PemSource::path(key),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_are_an_aes_key_and_other_lengths_are_refused() {
        assert!(matches!(parse_key_file(&[7u8; 32]), Ok(KeyFile::Aes(_))));
        assert!(parse_key_file(&[7u8; 20]).is_err());
    }

    #[test]
    fn contains_finds_a_key_anywhere() {
        assert!(contains(b"xxkeyxx", b"key"));
        assert!(!contains(b"xxkexx", b"key"));
        assert!(!contains(b"xx", b""));
    }
}
