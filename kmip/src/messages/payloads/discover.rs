//! Server and session operations: Discover Versions (1.4 §4.26), Query (§4.25),
//! Interop (2.1 §6.1.30, used by the OASIS test cases).

use crate::messages::codec::kmip_struct;
use crate::ttlv::Ttlv;
use crate::types::{
    AttestationType, ClientRegistrationMethod, InteropFunction, ObjectType, Operation,
    QueryFunction,
};
use crate::version::ProtocolVersion;

kmip_struct! {
    /// Discover Versions request.
    pub struct DiscoverVersionsRequest {
        /// Versions the client supports, preferred first (empty: ask for all).
        pub protocol_versions: Vec<ProtocolVersion> = many(PROTOCOL_VERSION),
    }
}

kmip_struct! {
    /// Discover Versions response.
    pub struct DiscoverVersionsResponse {
        /// Versions both sides support, server's preference first.
        pub protocol_versions: Vec<ProtocolVersion> = many(PROTOCOL_VERSION),
    }
}

kmip_struct! {
    /// Query request.
    pub struct QueryRequest {
        /// What to report.
        pub query_functions: Vec<QueryFunction> = many(QUERY_FUNCTION),
    }
}

kmip_struct! {
    /// Query response.
    pub struct QueryResponse {
        /// Operations supported.
        pub operations: Vec<Operation> = many(OPERATION),
        /// Object types supported.
        pub object_types: Vec<ObjectType> = many(OBJECT_TYPE),
        /// Vendor Identification.
        pub vendor_identification: Option<String> = opt(VENDOR_IDENTIFICATION),
        /// Server Information (vendor-defined structure).
        pub server_information: Option<Ttlv> = opt(SERVER_INFORMATION),
        /// Application Namespaces.
        pub application_namespaces: Vec<String> = many(APPLICATION_NAMESPACE),
        /// Extension Information.
        pub extension_information: Vec<Ttlv> = many(EXTENSION_INFORMATION),
        /// Attestation Types.
        pub attestation_types: Vec<AttestationType> = many(ATTESTATION_TYPE),
        /// RNG Parameters.
        pub rng_parameters: Vec<Ttlv> = many(RNG_PARAMETERS),
        /// Profile Information.
        pub profile_information: Vec<Ttlv> = many(PROFILE_INFORMATION),
        /// Validation Information.
        pub validation_information: Vec<Ttlv> = many(VALIDATION_INFORMATION),
        /// Capability Information.
        pub capability_information: Vec<Ttlv> = many(CAPABILITY_INFORMATION),
        /// Client Registration Methods.
        pub client_registration_methods: Vec<ClientRegistrationMethod> = many(CLIENT_REGISTRATION_METHOD),
        /// Defaults Information (2.0).
        pub defaults_information: Option<Ttlv> = opt(DEFAULTS_INFORMATION),
        /// Protection Storage Masks (2.0).
        pub protection_storage_masks: Vec<Ttlv> = many(PROTECTION_STORAGE_MASKS),
    }
}

kmip_struct! {
    /// Interop request (test-harness control: Begin, End, Reset).
    pub struct InteropRequest {
        /// Interop Function.
        pub function: InteropFunction = one(INTEROP_FUNCTION),
        /// Interop Identifier (the test case name).
        pub identifier: Option<String> = opt(INTEROP_IDENTIFIER),
    }
}

kmip_struct! {
    /// Interop response (empty).
    pub struct InteropResponse {}
}
