//! A KMIP client for the tests: one mutual-TLS connection (`kmip::client`), requests
//! written as the XML of their batch items the way the OASIS test vectors write them
//! ([`req`] adds the Request Header), answers decoded as typed messages ([`Reply`]).
//!
//! The request builders write KMIP 2.x shapes (Attributes, Common Attributes);
//! send them at 2.0 or later.

use kmip::client::{Client, ClientConfig, PemSource};
use kmip::messages::payloads::ResponsePayload;
use kmip::messages::{ResponseBatchItem, ResponseMessage};
use kmip::ttlv::xml::{from_xml, XmlOptions};
use kmip::ttlv::Ttlv;
use kmip::types::{ResultReason, ResultStatus};
use kmip::version::ProtocolVersion;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A KMIP client over one mutual-TLS connection.
#[derive(Debug)]
pub struct Kmip {
    client: Client,
}

impl Kmip {
    /// Connects to `addr`, trusting `ca`, presenting `cert` and `key`.
    ///
    /// # Panics
    /// If the connection or the handshake fails.
    pub fn connect(addr: SocketAddr, ca: &Path, cert: &Path, key: &Path) -> Self {
        let mut cfg = ClientConfig::new(
            addr.to_string(),
            PemSource::path(ca),
            PemSource::path(cert),
            PemSource::path(key),
        );
        cfg.connect_timeout = Duration::from_secs(5);
        cfg.io_timeout = Duration::from_secs(30);
        let client = Client::connect(&cfg)
            .unwrap_or_else(|e| panic!("connecting to {addr} as {}: {e}", cert.display()));
        Self { client }
    }

    /// Sends the batch items `items` (XML) at version `v`.
    ///
    /// # Panics
    /// If the exchange fails or the answer does not decode.
    pub fn send(&mut self, v: ProtocolVersion, items: &str) -> Reply {
        let raw = self
            .client
            .roundtrip(&parse(&req(v, items)))
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let msg = ResponseMessage::from_ttlv(&raw)
            .unwrap_or_else(|e| panic!("response does not decode: {e}"));
        Reply { msg }
    }

    /// Sends an already encoded request message (binary TTLV) as it is.
    ///
    /// # Panics
    /// If the exchange fails or the answer does not decode.
    pub fn send_bytes(&mut self, request: &[u8]) -> Reply {
        let raw = self
            .client
            .roundtrip_bytes(request)
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let t = kmip::ttlv::binary::decode(&raw, &kmip::ttlv::Limits::DEFAULT)
            .unwrap_or_else(|e| panic!("response is not TTLV: {e}"));
        let msg = ResponseMessage::from_ttlv(&t)
            .unwrap_or_else(|e| panic!("response does not decode: {e}"));
        Reply { msg }
    }
}

/// A decoded response.
#[derive(Debug)]
pub struct Reply {
    /// The typed message.
    pub msg: ResponseMessage,
}

impl Reply {
    /// Batch item `i`.
    ///
    /// # Panics
    /// If there is none.
    pub fn item(&self, i: usize) -> &ResponseBatchItem {
        self.msg
            .batch_items
            .get(i)
            .unwrap_or_else(|| panic!("no batch item {i} in {:#?}", self.msg.batch_items))
    }

    /// The payload of item `i`, which must have succeeded.
    ///
    /// # Panics
    /// If it failed or has no payload.
    pub fn ok(&self, i: usize) -> &ResponsePayload {
        let it = self.item(i);
        assert_eq!(
            it.result_status,
            ResultStatus::Success,
            "item {i} ({:?}) failed: {:?} {:?}",
            it.operation,
            it.result_reason,
            it.result_message
        );
        it.payload
            .as_ref()
            .unwrap_or_else(|| panic!("item {i} has no payload"))
    }

    /// The result reason and message of item `i`, which must have failed.
    ///
    /// # Panics
    /// If it succeeded.
    pub fn failed(&self, i: usize) -> (ResultReason, String) {
        let it = self.item(i);
        assert_eq!(
            it.result_status,
            ResultStatus::OperationFailed,
            "item {i} ({:?}) did not fail",
            it.operation
        );
        (
            it.result_reason
                .unwrap_or_else(|| panic!("item {i} failed without a Result Reason")),
            it.result_message.clone().unwrap_or_default(),
        )
    }

    /// The Unique Identifier a successful Create, Register, Activate, Revoke or
    /// Destroy returned.
    ///
    /// # Panics
    /// If item `i` failed or carries no UID.
    pub fn uid(&self, i: usize) -> String {
        use ResponsePayload as R;
        match self.ok(i) {
            R::Create(p) => p.unique_identifier.clone(),
            R::Register(p) => p.unique_identifier.clone(),
            R::Get(p) => p.unique_identifier.clone(),
            R::Activate(p) | R::Revoke(p) | R::Destroy(p) => p.unique_identifier.clone(),
            other => panic!("item {i} carries no UID: {other:?}"),
        }
    }
}

/// A whole request message at version `v` around `items`.
pub fn req(v: ProtocolVersion, items: &str) -> String {
    let count = items.matches("<BatchItem>").count();
    format!(
        "<RequestMessage><RequestHeader><ProtocolVersion>\
         <ProtocolVersionMajor type=\"Integer\" value=\"{}\"/>\
         <ProtocolVersionMinor type=\"Integer\" value=\"{}\"/>\
         </ProtocolVersion><BatchCount type=\"Integer\" value=\"{count}\"/>\
         </RequestHeader>{items}</RequestMessage>",
        v.major, v.minor
    )
}

/// Parses request XML (test input: a failure is a test bug).
///
/// # Panics
/// On XML the codec does not accept.
pub fn parse(xml: &str) -> Ttlv {
    from_xml(xml, &XmlOptions::default()).unwrap_or_else(|e| panic!("bad test XML: {e}\n{xml}"))
}

/// One batch item.
pub fn item(op: &str, payload: &str) -> String {
    format!(
        "<BatchItem><Operation type=\"Enumeration\" value=\"{op}\"/>\
         <RequestPayload>{payload}</RequestPayload></BatchItem>"
    )
}

/// A Text String field.
pub fn text(tag: &str, value: &str) -> String {
    format!("<{tag} type=\"TextString\" value=\"{value}\"/>")
}

/// An Enumeration field by name.
pub fn enumeration(tag: &str, value: &str) -> String {
    format!("<{tag} type=\"Enumeration\" value=\"{value}\"/>")
}

/// An Integer field (masks as space-separated names).
pub fn integer(tag: &str, value: &str) -> String {
    format!("<{tag} type=\"Integer\" value=\"{value}\"/>")
}

/// A Byte String field.
pub fn bytes(tag: &str, value: &[u8]) -> String {
    format!("<{tag} type=\"ByteString\" value=\"{}\"/>", hex(value))
}

/// A Unique Identifier.
pub fn uid(u: &str) -> String {
    text("UniqueIdentifier", u)
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Create an AES key of `bits` with usage Encrypt|Decrypt; `extra` adds attributes
/// (e.g. `<Extractable type="Boolean" value="true"/>`).
pub fn create_aes(bits: u32, extra: &str) -> String {
    item(
        "Create",
        &format!(
            "{}<Attributes>{}{}{}{extra}</Attributes>",
            enumeration("ObjectType", "SymmetricKey"),
            enumeration("CryptographicAlgorithm", "AES"),
            integer("CryptographicLength", &bits.to_string()),
            integer("CryptographicUsageMask", "Encrypt Decrypt"),
        ),
    )
}

/// Create Key Pair RSA-`bits`: the private key signs, the public key verifies.
pub fn create_rsa_pair(bits: u32) -> String {
    item(
        "CreateKeyPair",
        &format!(
            "<CommonAttributes>{}{}</CommonAttributes>\
             <PrivateKeyAttributes>{}</PrivateKeyAttributes>\
             <PublicKeyAttributes>{}</PublicKeyAttributes>",
            enumeration("CryptographicAlgorithm", "RSA"),
            integer("CryptographicLength", &bits.to_string()),
            integer("CryptographicUsageMask", "Sign"),
            integer("CryptographicUsageMask", "Verify"),
        ),
    )
}

/// An item whose payload is only a Unique Identifier (Activate, Get, Destroy, ...).
pub fn by_uid(op: &str, u: &str) -> String {
    item(op, &uid(u))
}

/// Revoke with reason Cessation Of Operation.
pub fn revoke(u: &str) -> String {
    item(
        "Revoke",
        &format!(
            "{}<RevocationReason>{}</RevocationReason>",
            uid(u),
            enumeration("RevocationReasonCode", "CessationOfOperation")
        ),
    )
}

/// AES-GCM Cryptographic Parameters with a 16-byte tag; `random_iv` asks the
/// server for the nonce (Random IV).
fn gcm_params(random_iv: bool) -> String {
    let random = if random_iv {
        "<RandomIV type=\"Boolean\" value=\"true\"/>"
    } else {
        ""
    };
    format!(
        "<CryptographicParameters>{}{}{random}</CryptographicParameters>",
        enumeration("BlockCipherMode", "GCM"),
        integer("TagLength", "16")
    )
}

/// Encrypt `data` with AES-GCM under key `u`, additional data `aad`, the nonce left
/// to the server (Random IV).
pub fn encrypt_gcm(u: &str, data: &[u8], aad: &[u8]) -> String {
    item(
        "Encrypt",
        &format!(
            "{}{}{}{}",
            uid(u),
            gcm_params(true),
            bytes("Data", data),
            bytes("AuthenticatedEncryptionAdditionalData", aad)
        ),
    )
}

/// Decrypt AES-GCM.
pub fn decrypt_gcm(u: &str, data: &[u8], nonce: &[u8], aad: &[u8], tag: &[u8]) -> String {
    item(
        "Decrypt",
        &format!(
            "{}{}{}{}{}{}",
            uid(u),
            gcm_params(false),
            bytes("Data", data),
            bytes("IVCounterNonce", nonce),
            bytes("AuthenticatedEncryptionAdditionalData", aad),
            bytes("AuthenticatedEncryptionTag", tag)
        ),
    )
}

/// RSA PKCS#1 v1.5 with SHA-256 Cryptographic Parameters.
fn rsa_sha256_params() -> String {
    format!(
        "<CryptographicParameters>{}{}</CryptographicParameters>",
        enumeration("PaddingMethod", "PKCS1V1_5"),
        enumeration("HashingAlgorithm", "SHA_256")
    )
}

/// Sign `data` (RSA PKCS#1 v1.5, SHA-256).
pub fn sign_rsa(u: &str, data: &[u8]) -> String {
    item(
        "Sign",
        &format!("{}{}{}", uid(u), rsa_sha256_params(), bytes("Data", data)),
    )
}

/// Signature Verify (RSA PKCS#1 v1.5, SHA-256).
pub fn verify_rsa(u: &str, data: &[u8], signature: &[u8]) -> String {
    item(
        "SignatureVerify",
        &format!(
            "{}{}{}{}",
            uid(u),
            rsa_sha256_params(),
            bytes("Data", data),
            bytes("SignatureData", signature)
        ),
    )
}
