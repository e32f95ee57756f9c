//! Discover Versions (KMIP 1.4 §4.26), Query (§4.25) and Interop (2.1 §6.1.30).

use super::{implements, permitted, OpCtx, SUPPORTED_OPERATIONS};
use kmip::messages::payloads::{
    DiscoverVersionsRequest, DiscoverVersionsResponse, InteropRequest, InteropResponse,
    QueryRequest, QueryResponse,
};
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{ObjectType, QueryFunction};
use kmip::version::ProtocolVersion;

/// The object types the server stores.
pub const SUPPORTED_OBJECT_TYPES: &[ObjectType] = &[
    ObjectType::SymmetricKey,
    ObjectType::SecretData,
    ObjectType::OpaqueObject,
    ObjectType::Certificate,
    ObjectType::PrivateKey,
    ObjectType::PublicKey,
];

/// Discover Versions: the versions both sides speak, newest first. An empty client
/// list asks for every version the server speaks.
pub fn discover_versions(req: &DiscoverVersionsRequest) -> DiscoverVersionsResponse {
    let versions = ProtocolVersion::SUPPORTED
        .iter()
        .copied()
        .filter(|v| req.protocol_versions.is_empty() || req.protocol_versions.contains(v))
        .collect();
    DiscoverVersionsResponse {
        protocol_versions: versions,
        extensions: Vec::new(),
    }
}

/// Query: operations, object types, server information and capabilities.
pub fn query(ctx: &OpCtx<'_>, req: &QueryRequest) -> QueryResponse {
    let mut r = QueryResponse {
        operations: Vec::new(),
        object_types: Vec::new(),
        vendor_identification: None,
        server_information: None,
        application_namespaces: Vec::new(),
        extension_information: Vec::new(),
        attestation_types: Vec::new(),
        rng_parameters: Vec::new(),
        profile_information: Vec::new(),
        validation_information: Vec::new(),
        capability_information: Vec::new(),
        client_registration_methods: Vec::new(),
        defaults_information: None,
        protection_storage_masks: Vec::new(),
        extensions: Vec::new(),
    };
    for f in &req.query_functions {
        match f {
            QueryFunction::QueryOperations => {
                // What this caller can actually run here: implemented, defined in
                // its version, and granted by its role.
                r.operations = SUPPORTED_OPERATIONS
                    .iter()
                    .copied()
                    .filter(|o| implements(*o, ctx.version) && permitted(&ctx.binding.role, *o))
                    .collect();
            }
            QueryFunction::QueryObjects => r.object_types = SUPPORTED_OBJECT_TYPES.to_vec(),
            QueryFunction::QueryServerInformation => {
                r.vendor_identification = Some("Keygate".to_owned());
                r.server_information = Some(Ttlv::structure(
                    Tag::SERVER_INFORMATION,
                    vec![
                        Ttlv::new(
                            Tag::SERVER_NAME,
                            Value::TextString(format!("keygate {}", env!("CARGO_PKG_VERSION"))),
                        ),
                        // The caller's own vault: the PKCS#11 library's token label.
                        Ttlv::new(
                            Tag::KEYGATE_VAULT_NAME,
                            Value::TextString(ctx.vault.name.clone()),
                        ),
                    ],
                ));
            }
            QueryFunction::QueryCapabilities => {
                r.capability_information.push(Ttlv::structure(
                    Tag::CAPABILITY_INFORMATION,
                    vec![
                        Ttlv::new(Tag::STREAMING_CAPABILITY, Value::Boolean(false)),
                        Ttlv::new(Tag::ASYNCHRONOUS_CAPABILITY, Value::Boolean(false)),
                        Ttlv::new(Tag::ATTESTATION_CAPABILITY, Value::Boolean(false)),
                        Ttlv::new(Tag::BATCH_UNDO_CAPABILITY, Value::Boolean(true)),
                        Ttlv::new(Tag::BATCH_CONTINUE_CAPABILITY, Value::Boolean(true)),
                    ],
                ));
            }
            // Other query functions have nothing to report (no namespaces, extensions,
            // attestation, RNG or validation details); the response says so by omission.
            _ => {}
        }
    }
    r
}

/// Interop: test-harness control (Begin/End/Reset). Keygate keeps no per-test state.
pub fn interop(_req: &InteropRequest) -> InteropResponse {
    InteropResponse {
        extensions: Vec::new(),
    }
}
