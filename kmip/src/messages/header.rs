//! Message headers (KMIP 1.4 §7.2, 2.1 §8): version, correlation values,
//! authentication, batch options.

use super::codec::{kmip_struct, Codec, Ctx, DateTime};
use crate::error::DecodeError;
use crate::ttlv::{Tag, Ttlv, Value};
use crate::types::{AttestationType, BatchErrorContinuationOption, CredentialType};
use crate::version::ProtocolVersion;

impl Codec for ProtocolVersion {
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        let c = super::codec::structure_children(item)?;
        Ok(Self::new(
            super::codec::field_one(c, Tag::PROTOCOL_VERSION_MAJOR, ctx)?,
            super::codec::field_one(c, Tag::PROTOCOL_VERSION_MINOR, ctx)?,
        ))
    }

    fn encode(&self, tag: Tag, _: &Ctx) -> Ttlv {
        Ttlv::structure(
            tag,
            vec![
                Ttlv::new(Tag::PROTOCOL_VERSION_MAJOR, Value::Integer(self.major)),
                Ttlv::new(Tag::PROTOCOL_VERSION_MINOR, Value::Integer(self.minor)),
            ],
        )
    }
}

kmip_struct! {
    /// Request Header.
    pub struct RequestHeader {
        /// Protocol Version: the version of the whole message.
        pub protocol_version: ProtocolVersion = one(PROTOCOL_VERSION),
        /// Maximum Response Size the client accepts, in bytes.
        pub maximum_response_size: Option<i32> = opt(MAXIMUM_RESPONSE_SIZE),
        /// Client Correlation Value (1.4).
        pub client_correlation_value: Option<String> = opt(CLIENT_CORRELATION_VALUE),
        /// Server Correlation Value (1.4).
        pub server_correlation_value: Option<String> = opt(SERVER_CORRELATION_VALUE),
        /// Asynchronous Indicator.
        pub asynchronous_indicator: Option<bool> = opt(ASYNCHRONOUS_INDICATOR),
        /// Attestation Capable Indicator.
        pub attestation_capable_indicator: Option<bool> = opt(ATTESTATION_CAPABLE_INDICATOR),
        /// Attestation Types.
        pub attestation_types: Vec<AttestationType> = many(ATTESTATION_TYPE),
        /// Authentication.
        pub authentication: Option<Authentication> = opt(AUTHENTICATION),
        /// Batch Error Continuation Option (Stop when absent).
        pub batch_error_continuation_option: Option<BatchErrorContinuationOption> = opt(BATCH_ERROR_CONTINUATION_OPTION),
        /// Batch Order Option.
        pub batch_order_option: Option<bool> = opt(BATCH_ORDER_OPTION),
        /// Time Stamp.
        pub time_stamp: Option<DateTime> = opt(TIME_STAMP),
        /// Batch Count.
        pub batch_count: i32 = one(BATCH_COUNT),
    }
}

kmip_struct! {
    /// Response Header.
    pub struct ResponseHeader {
        /// Protocol Version.
        pub protocol_version: ProtocolVersion = one(PROTOCOL_VERSION),
        /// Time Stamp.
        pub time_stamp: DateTime = one(TIME_STAMP),
        /// Nonce (attestation).
        pub nonce: Option<Ttlv> = opt(NONCE),
        /// Server Hashed Password (2.0).
        pub server_hashed_password: Option<Vec<u8>> = opt(SERVER_HASHED_PASSWORD),
        /// Attestation Types.
        pub attestation_types: Vec<AttestationType> = many(ATTESTATION_TYPE),
        /// Client Correlation Value.
        pub client_correlation_value: Option<String> = opt(CLIENT_CORRELATION_VALUE),
        /// Server Correlation Value.
        pub server_correlation_value: Option<String> = opt(SERVER_CORRELATION_VALUE),
        /// Batch Count.
        pub batch_count: i32 = one(BATCH_COUNT),
    }
}

kmip_struct! {
    /// Authentication (1.x: one Credential; 2.x: one or more).
    pub struct Authentication {
        /// Credentials.
        pub credentials: Vec<Credential> = many(CREDENTIAL),
    }
}

/// Credential (KMIP 1.4 §2.1.2). Its `Debug` never prints the value (passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Credential Type.
    pub credential_type: CredentialType,
    /// Credential Value; its shape depends on the type.
    pub credential_value: Ttlv,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("credential_type", &self.credential_type)
            .field("credential_value", &"<redacted>")
            .finish()
    }
}

impl Codec for Credential {
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        let c = super::codec::structure_children(item)?;
        Ok(Self {
            credential_type: super::codec::field_one(c, Tag::CREDENTIAL_TYPE, ctx)?,
            credential_value: super::codec::field_one(c, Tag::CREDENTIAL_VALUE, ctx)?,
        })
    }

    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        Ttlv::structure(
            tag,
            vec![
                self.credential_type.encode(Tag::CREDENTIAL_TYPE, ctx),
                self.credential_value.encode(Tag::CREDENTIAL_VALUE, ctx),
            ],
        )
    }
}

impl Credential {
    /// Username and password of a Username-and-Password credential.
    pub fn username_password(&self) -> Option<(&str, Option<&str>)> {
        if self.credential_type != CredentialType::UsernameAndPassword {
            return None;
        }
        let text = |t: Tag| match self.credential_value.child(t).map(|c| &c.value) {
            Some(Value::TextString(s)) => Some(s.as_str()),
            _ => None,
        };
        Some((text(Tag::USERNAME)?, text(Tag::PASSWORD)))
    }
}
