//! Object-creating and object-reading operations: Create (1.4 §4.1), Create Key
//! Pair (§4.2), Register (§4.3), Re-key (§4.4), Re-key Key Pair (§4.5), Derive
//! Key (§4.6), Certify (§4.7), Re-certify (§4.8), Get (§4.11), Import/Export (2.1
//! §6.1.24, §6.1.17).

use crate::messages::attributes::Attributes;
use crate::messages::codec::{kmip_struct, Interval};
use crate::messages::objects::{KeyWrappingSpecification, ManagedObject};
use crate::ttlv::Ttlv;
use crate::types::{
    CertificateRequestType, DerivationMethod, KeyCompressionType, KeyFormatType, KeyWrapType,
    ObjectType,
};

kmip_struct! {
    /// Create request.
    pub struct CreateRequest {
        /// Object Type (SymmetricKey, SecretData…).
        pub object_type: ObjectType = one(OBJECT_TYPE),
        /// Attributes (1.x: TemplateAttribute).
        pub attributes: Attributes = attrs(ATTRIBUTES, TEMPLATE_ATTRIBUTE),
        /// Protection Storage Masks (2.0).
        pub protection_storage_masks: Option<Ttlv> = opt(PROTECTION_STORAGE_MASKS),
    }
}

kmip_struct! {
    /// Create response.
    pub struct CreateResponse {
        /// Object Type.
        pub object_type: ObjectType = one(OBJECT_TYPE),
        /// Unique Identifier of the new object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Create Key Pair request.
    #[derive(Default)]
    pub struct CreateKeyPairRequest {
        /// Attributes for both keys (1.x: CommonTemplateAttribute).
        pub common_attributes: Option<Attributes> = attrs_opt(COMMON_ATTRIBUTES, COMMON_TEMPLATE_ATTRIBUTE),
        /// Private key attributes.
        pub private_key_attributes: Option<Attributes> = attrs_opt(PRIVATE_KEY_ATTRIBUTES, PRIVATE_KEY_TEMPLATE_ATTRIBUTE),
        /// Public key attributes.
        pub public_key_attributes: Option<Attributes> = attrs_opt(PUBLIC_KEY_ATTRIBUTES, PUBLIC_KEY_TEMPLATE_ATTRIBUTE),
        /// Common Protection Storage Masks (2.0).
        pub common_protection_storage_masks: Option<Ttlv> = opt(COMMON_PROTECTION_STORAGE_MASKS),
        /// Private Protection Storage Masks (2.0).
        pub private_protection_storage_masks: Option<Ttlv> = opt(PRIVATE_PROTECTION_STORAGE_MASKS),
        /// Public Protection Storage Masks (2.0).
        pub public_protection_storage_masks: Option<Ttlv> = opt(PUBLIC_PROTECTION_STORAGE_MASKS),
    }
}

kmip_struct! {
    /// Create Key Pair response.
    pub struct CreateKeyPairResponse {
        /// Private Key Unique Identifier.
        pub private_key_unique_identifier: String = one(PRIVATE_KEY_UNIQUE_IDENTIFIER),
        /// Public Key Unique Identifier.
        pub public_key_unique_identifier: String = one(PUBLIC_KEY_UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Register request.
    pub struct RegisterRequest {
        /// Object Type.
        pub object_type: ObjectType = one(OBJECT_TYPE),
        /// Attributes (1.x: TemplateAttribute).
        pub attributes: Attributes = attrs(ATTRIBUTES, TEMPLATE_ATTRIBUTE),
        /// The object.
        pub object: ManagedObject = object(),
        /// Protection Storage Masks (2.0).
        pub protection_storage_masks: Option<Ttlv> = opt(PROTECTION_STORAGE_MASKS),
    }
}

kmip_struct! {
    /// Register response.
    pub struct RegisterResponse {
        /// Unique Identifier of the new object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Re-key request.
    pub struct ReKeyRequest {
        /// The key to replace (ID placeholder when absent).
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Offset applied to the dates of the new key.
        pub offset: Option<Interval> = opt(OFFSET),
        /// Attributes for the new key.
        pub attributes: Option<Attributes> = attrs_opt(ATTRIBUTES, TEMPLATE_ATTRIBUTE),
        /// Protection Storage Masks (2.0).
        pub protection_storage_masks: Option<Ttlv> = opt(PROTECTION_STORAGE_MASKS),
    }
}

kmip_struct! {
    /// Re-key response.
    pub struct ReKeyResponse {
        /// Unique Identifier of the new key.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Re-key Key Pair request.
    pub struct ReKeyKeyPairRequest {
        /// The private key to replace.
        pub private_key_unique_identifier: Option<String> = opt(PRIVATE_KEY_UNIQUE_IDENTIFIER),
        /// Offset.
        pub offset: Option<Interval> = opt(OFFSET),
        /// Common attributes.
        pub common_attributes: Option<Attributes> = attrs_opt(COMMON_ATTRIBUTES, COMMON_TEMPLATE_ATTRIBUTE),
        /// Private key attributes.
        pub private_key_attributes: Option<Attributes> = attrs_opt(PRIVATE_KEY_ATTRIBUTES, PRIVATE_KEY_TEMPLATE_ATTRIBUTE),
        /// Public key attributes.
        pub public_key_attributes: Option<Attributes> = attrs_opt(PUBLIC_KEY_ATTRIBUTES, PUBLIC_KEY_TEMPLATE_ATTRIBUTE),
        /// Common Protection Storage Masks (2.0).
        pub common_protection_storage_masks: Option<Ttlv> = opt(COMMON_PROTECTION_STORAGE_MASKS),
        /// Private Protection Storage Masks (2.0).
        pub private_protection_storage_masks: Option<Ttlv> = opt(PRIVATE_PROTECTION_STORAGE_MASKS),
        /// Public Protection Storage Masks (2.0).
        pub public_protection_storage_masks: Option<Ttlv> = opt(PUBLIC_PROTECTION_STORAGE_MASKS),
    }
}

/// Re-key Key Pair response: the same shape as Create Key Pair's.
pub type ReKeyKeyPairResponse = CreateKeyPairResponse;

kmip_struct! {
    /// Derive Key request.
    pub struct DeriveKeyRequest {
        /// Object Type of the derived object.
        pub object_type: ObjectType = one(OBJECT_TYPE),
        /// Source objects.
        pub unique_identifiers: Vec<String> = many(UNIQUE_IDENTIFIER),
        /// Derivation Method.
        pub derivation_method: DerivationMethod = one(DERIVATION_METHOD),
        /// Derivation Parameters.
        pub derivation_parameters: Ttlv = one(DERIVATION_PARAMETERS),
        /// Attributes of the new object.
        pub attributes: Attributes = attrs(ATTRIBUTES, TEMPLATE_ATTRIBUTE),
    }
}

kmip_struct! {
    /// Derive Key response.
    pub struct DeriveKeyResponse {
        /// Unique Identifier of the derived object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Certify request.
    pub struct CertifyRequest {
        /// Public key to certify.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Certificate Request Unique Identifier (2.0).
        pub certificate_request_unique_identifier: Option<String> = opt(CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER),
        /// Certificate Request Type.
        pub certificate_request_type: Option<CertificateRequestType> = opt(CERTIFICATE_REQUEST_TYPE),
        /// Certificate Request Value (e.g. a PKCS#10 CSR).
        pub certificate_request_value: Option<Vec<u8>> = opt(CERTIFICATE_REQUEST_VALUE),
        /// Attributes of the certificate.
        pub attributes: Option<Attributes> = attrs_opt(ATTRIBUTES, TEMPLATE_ATTRIBUTE),
        /// Protection Storage Masks (2.0).
        pub protection_storage_masks: Option<Ttlv> = opt(PROTECTION_STORAGE_MASKS),
    }
}

kmip_struct! {
    /// Certify response.
    pub struct CertifyResponse {
        /// Unique Identifier of the certificate.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Re-certify request.
    pub struct ReCertifyRequest {
        /// Certificate to renew.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Certificate Request Unique Identifier (2.0).
        pub certificate_request_unique_identifier: Option<String> = opt(CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER),
        /// Certificate Request Type.
        pub certificate_request_type: Option<CertificateRequestType> = opt(CERTIFICATE_REQUEST_TYPE),
        /// Certificate Request Value.
        pub certificate_request_value: Option<Vec<u8>> = opt(CERTIFICATE_REQUEST_VALUE),
        /// Offset.
        pub offset: Option<Interval> = opt(OFFSET),
        /// Attributes.
        pub attributes: Option<Attributes> = attrs_opt(ATTRIBUTES, TEMPLATE_ATTRIBUTE),
        /// Protection Storage Masks (2.0).
        pub protection_storage_masks: Option<Ttlv> = opt(PROTECTION_STORAGE_MASKS),
    }
}

/// Re-certify response: the same shape as Certify's.
pub type ReCertifyResponse = CertifyResponse;

kmip_struct! {
    /// Get request.
    #[derive(Default)]
    pub struct GetRequest {
        /// Object to get (ID placeholder when absent).
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Key Format Type wanted.
        pub key_format_type: Option<KeyFormatType> = opt(KEY_FORMAT_TYPE),
        /// Key Wrap Type (1.4).
        pub key_wrap_type: Option<KeyWrapType> = opt(KEY_WRAP_TYPE),
        /// Key Compression Type.
        pub key_compression_type: Option<KeyCompressionType> = opt(KEY_COMPRESSION_TYPE),
        /// Key Wrapping Specification (boxed: larger than the rest of the request,
        /// and rare).
        pub key_wrapping_specification: Option<Box<KeyWrappingSpecification>> = opt(KEY_WRAPPING_SPECIFICATION),
    }
}

kmip_struct! {
    /// Get response.
    pub struct GetResponse {
        /// Object Type.
        pub object_type: ObjectType = one(OBJECT_TYPE),
        /// Unique Identifier.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// The object.
        pub object: ManagedObject = object(),
    }
}

kmip_struct! {
    /// Import request (2.0).
    pub struct ImportRequest {
        /// Unique Identifier to give the object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Object Type.
        pub object_type: ObjectType = one(OBJECT_TYPE),
        /// Replace Existing.
        pub replace_existing: Option<bool> = opt(REPLACE_EXISTING),
        /// Key Wrap Type.
        pub key_wrap_type: Option<KeyWrapType> = opt(KEY_WRAP_TYPE),
        /// Attributes.
        pub attributes: Attributes = attrs(ATTRIBUTES, TEMPLATE_ATTRIBUTE),
        /// The object.
        pub object: ManagedObject = object(),
    }
}

kmip_struct! {
    /// Import response.
    pub struct ImportResponse {
        /// Unique Identifier.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
    }
}

/// Export request (2.0): the same fields as Get.
pub type ExportRequest = GetRequest;

kmip_struct! {
    /// Export response.
    pub struct ExportResponse {
        /// Object Type.
        pub object_type: ObjectType = one(OBJECT_TYPE),
        /// Unique Identifier.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Attributes.
        pub attributes: Attributes = attrs(ATTRIBUTES, TEMPLATE_ATTRIBUTE),
        /// The object.
        pub object: ManagedObject = object(),
    }
}
