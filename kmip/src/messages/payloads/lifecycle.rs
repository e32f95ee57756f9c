//! Search and lifecycle operations: Locate (1.4 §4.9), Check (§4.10), Activate
//! (§4.19), Revoke (§4.20), Destroy (§4.21), Archive (§4.22), Recover (§4.23),
//! Validate (§4.24).

use crate::messages::attributes::Attributes;
use crate::messages::codec::{kmip_struct, DateTime, Interval, Mask};
use crate::ttlv::Ttlv;
use crate::types::{ObjectGroupMember, RevocationReasonCode, ValidityIndicator};

kmip_struct! {
    /// Locate request.
    #[derive(Default)]
    pub struct LocateRequest {
        /// Maximum Items to return.
        pub maximum_items: Option<i32> = opt(MAXIMUM_ITEMS),
        /// Offset Items: how many matches to skip (paging).
        pub offset_items: Option<i32> = opt(OFFSET_ITEMS),
        /// Storage Status Mask (on-line, archival, destroyed).
        pub storage_status_mask: Option<Mask> = opt(STORAGE_STATUS_MASK),
        /// Object Group Member.
        pub object_group_member: Option<ObjectGroupMember> = opt(OBJECT_GROUP_MEMBER),
        /// Attributes to match (1.x: bare Attribute structures).
        pub attributes: Attributes = attrs(ATTRIBUTES, ATTRIBUTE),
    }
}

kmip_struct! {
    /// Locate response.
    pub struct LocateResponse {
        /// Located Items: the number of matches before paging.
        pub located_items: Option<i32> = opt(LOCATED_ITEMS),
        /// Matching objects.
        pub unique_identifiers: Vec<String> = many(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Check request.
    pub struct CheckRequest {
        /// Object.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Usage Limits Count.
        pub usage_limits_count: Option<i64> = opt(USAGE_LIMITS_COUNT),
        /// Cryptographic Usage Mask.
        pub cryptographic_usage_mask: Option<Mask> = opt(CRYPTOGRAPHIC_USAGE_MASK),
        /// Lease Time.
        pub lease_time: Option<Interval> = opt(LEASE_TIME),
    }
}

kmip_struct! {
    /// Check response.
    pub struct CheckResponse {
        /// Object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Usage Limits Count.
        pub usage_limits_count: Option<i64> = opt(USAGE_LIMITS_COUNT),
        /// Cryptographic Usage Mask.
        pub cryptographic_usage_mask: Option<Mask> = opt(CRYPTOGRAPHIC_USAGE_MASK),
        /// Lease Time.
        pub lease_time: Option<Interval> = opt(LEASE_TIME),
    }
}

kmip_struct! {
    /// A request naming just one object (Activate, Destroy, Archive, Recover…).
    #[derive(Default)]
    pub struct UniqueIdentifierRequest {
        /// Object (ID placeholder when absent).
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// A response naming just one object.
    pub struct UniqueIdentifierResponse {
        /// Object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Revocation Reason.
    pub struct RevocationReason {
        /// Revocation Reason Code.
        pub code: RevocationReasonCode = one(REVOCATION_REASON_CODE),
        /// Revocation Message.
        pub message: Option<String> = opt(REVOCATION_MESSAGE),
    }
}

kmip_struct! {
    /// Revoke request.
    pub struct RevokeRequest {
        /// Object.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Why.
        pub revocation_reason: RevocationReason = one(REVOCATION_REASON),
        /// Compromise Occurrence Date (for key/CA compromise).
        pub compromise_occurrence_date: Option<DateTime> = opt(COMPROMISE_OCCURRENCE_DATE),
    }
}

kmip_struct! {
    /// Validate request.
    pub struct ValidateRequest {
        /// Certificates of the chain (objects).
        pub certificates: Vec<Ttlv> = many(CERTIFICATE),
        /// Certificates of the chain (by identifier).
        pub unique_identifiers: Vec<String> = many(UNIQUE_IDENTIFIER),
        /// Validity Date.
        pub validity_date: Option<DateTime> = opt(VALIDITY_DATE),
    }
}

kmip_struct! {
    /// Validate response.
    pub struct ValidateResponse {
        /// Validity Indicator.
        pub validity_indicator: ValidityIndicator = one(VALIDITY_INDICATOR),
    }
}
