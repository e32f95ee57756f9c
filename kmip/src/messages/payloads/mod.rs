//! Per-operation request and response payloads, and the dispatch from an
//! Operation to its typed payload. An operation without a typed payload decodes as
//! [`RequestPayload::Raw`], so the server can answer that batch item
//! `OperationNotSupported` and still serve the others.

pub mod attributes;
pub mod crypto;
pub mod discover;
pub mod lifecycle;
pub mod objects;

pub use attributes::*;
pub use crypto::*;
pub use discover::*;
pub use lifecycle::*;
pub use objects::*;

use crate::error::DecodeError;
use crate::messages::codec::{Codec, Ctx, Node};
use crate::ttlv::{Tag, Ttlv};
use crate::types::Operation;

macro_rules! operations {
    ($( $op:ident => $req:ty, $resp:ty; )*) => {
        /// A typed request payload.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum RequestPayload {
            $( #[doc = stringify!($op)] $op($req), )*
            /// An operation without a typed payload, kept as received.
            Raw(Ttlv),
        }

        /// A typed response payload.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum ResponsePayload {
            $( #[doc = stringify!($op)] $op($resp), )*
            /// A payload without a typed form, kept as received.
            Raw(Ttlv),
        }

        impl RequestPayload {
            /// Decodes the payload of `operation`.
            pub fn decode(operation: Operation, item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
                Self::decode_node(operation, item, ctx)
            }

            /// [`Self::decode`] from a tree or a binary item.
            pub(crate) fn decode_node<'a, N: Node<'a>>(operation: Operation, item: N, ctx: &Ctx) -> Result<Self, DecodeError> {
                // An operation the message's version does not define has no typed
                // payload in that version (its fields may not exist there either):
                // it stays raw, and a server answers it Operation Not Supported.
                if !Operation::TABLE.defined_in(operation.value(), ctx.version) {
                    return Ok(Self::Raw(item.to_ttlv()));
                }
                match operation {
                    $( Operation::$op => <$req>::decode_node_with(item, ctx, Self::$op), )*
                    _ => Ok(Self::Raw(item.to_ttlv())),
                }
            }

            /// Encodes as a `RequestPayload` structure.
            pub fn encode(&self, ctx: &Ctx) -> Ttlv {
                match self {
                    $( Self::$op(p) => p.encode(Tag::REQUEST_PAYLOAD, ctx), )*
                    Self::Raw(t) => Ttlv::new(Tag::REQUEST_PAYLOAD, t.value.clone()),
                }
            }

            /// The operation this payload belongs to (`None` for raw payloads).
            pub fn operation(&self) -> Option<Operation> {
                match self {
                    $( Self::$op(_) => Some(Operation::$op), )*
                    Self::Raw(_) => None,
                }
            }
        }

        impl ResponsePayload {
            /// Decodes the payload of `operation`.
            pub fn decode(operation: Operation, item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
                Self::decode_node(operation, item, ctx)
            }

            /// [`Self::decode`] from a tree or a binary item.
            pub(crate) fn decode_node<'a, N: Node<'a>>(operation: Operation, item: N, ctx: &Ctx) -> Result<Self, DecodeError> {
                // An operation the message's version does not define has no typed
                // payload in that version (its fields may not exist there either):
                // it stays raw, and a server answers it Operation Not Supported.
                if !Operation::TABLE.defined_in(operation.value(), ctx.version) {
                    return Ok(Self::Raw(item.to_ttlv()));
                }
                match operation {
                    $( Operation::$op => <$resp>::decode_node_with(item, ctx, Self::$op), )*
                    _ => Ok(Self::Raw(item.to_ttlv())),
                }
            }

            /// Encodes as a `ResponsePayload` structure.
            pub fn encode(&self, ctx: &Ctx) -> Ttlv {
                match self {
                    $( Self::$op(p) => p.encode(Tag::RESPONSE_PAYLOAD, ctx), )*
                    Self::Raw(t) => Ttlv::new(Tag::RESPONSE_PAYLOAD, t.value.clone()),
                }
            }
        }

        /// Operations with typed payloads.
        pub const TYPED_OPERATIONS: &[Operation] = &[ $( Operation::$op, )* ];
    };
}

operations! {
    DiscoverVersions => DiscoverVersionsRequest, DiscoverVersionsResponse;
    Query => QueryRequest, QueryResponse;
    Interop => InteropRequest, InteropResponse;
    Create => CreateRequest, CreateResponse;
    CreateKeyPair => CreateKeyPairRequest, CreateKeyPairResponse;
    Register => RegisterRequest, RegisterResponse;
    ReKey => ReKeyRequest, ReKeyResponse;
    ReKeyKeyPair => ReKeyKeyPairRequest, ReKeyKeyPairResponse;
    DeriveKey => DeriveKeyRequest, DeriveKeyResponse;
    Certify => CertifyRequest, CertifyResponse;
    ReCertify => ReCertifyRequest, ReCertifyResponse;
    Locate => LocateRequest, LocateResponse;
    Check => CheckRequest, CheckResponse;
    Get => GetRequest, GetResponse;
    GetAttributes => GetAttributesRequest, GetAttributesResponse;
    GetAttributeList => GetAttributeListRequest, GetAttributeListResponse;
    AddAttribute => AddAttributeRequest, AddAttributeResponse;
    ModifyAttribute => ModifyAttributeRequest, ModifyAttributeResponse;
    DeleteAttribute => DeleteAttributeRequest, DeleteAttributeResponse;
    SetAttribute => SetAttributeRequest, SetAttributeResponse;
    Activate => UniqueIdentifierRequest, UniqueIdentifierResponse;
    Revoke => RevokeRequest, UniqueIdentifierResponse;
    Destroy => UniqueIdentifierRequest, UniqueIdentifierResponse;
    Archive => UniqueIdentifierRequest, UniqueIdentifierResponse;
    Recover => UniqueIdentifierRequest, UniqueIdentifierResponse;
    Validate => ValidateRequest, ValidateResponse;
    Encrypt => EncryptRequest, EncryptResponse;
    Decrypt => DecryptRequest, DecryptResponse;
    Sign => SignRequest, SignResponse;
    SignatureVerify => SignatureVerifyRequest, SignatureVerifyResponse;
    Mac => MacRequest, MacResponse;
    MacVerify => MacVerifyRequest, MacVerifyResponse;
    RngRetrieve => RngRetrieveRequest, RngRetrieveResponse;
    RngSeed => RngSeedRequest, RngSeedResponse;
    Hash => HashRequest, HashResponse;
    Import => ImportRequest, ImportResponse;
    Export => ExportRequest, ExportResponse;
}
