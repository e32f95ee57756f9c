//! Attribute operations: Get Attributes (1.4 §4.12), Get Attribute List (§4.13),
//! Add Attribute (§4.14), Modify Attribute (§4.15), Delete Attribute (§4.16), Set
//! Attribute (2.1 §6.1.49). KMIP 1.x names attributes by text and carries bare
//! `Attribute` structures; 2.x uses Attribute References and `NewAttribute` /
//! `CurrentAttribute` wrappers. Both decode into the same types.

use crate::messages::attributes::{
    AttributeReference, AttributeReferences, Attributes, SingleAttribute,
};
use crate::messages::codec::kmip_struct;

kmip_struct! {
    /// Get Attributes request.
    #[derive(Default)]
    pub struct GetAttributesRequest {
        /// Object (ID placeholder when absent).
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Attributes wanted (empty: all).
        pub references: AttributeReferences = refs(ATTRIBUTE_REFERENCE, ATTRIBUTE_NAME),
    }
}

kmip_struct! {
    /// Get Attributes response.
    pub struct GetAttributesResponse {
        /// Object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// The attributes (1.x: bare Attribute structures).
        pub attributes: Attributes = attrs(ATTRIBUTES, ATTRIBUTE),
    }
}

kmip_struct! {
    /// Get Attribute List request.
    pub struct GetAttributeListRequest {
        /// Object.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
    }
}

kmip_struct! {
    /// Get Attribute List response.
    pub struct GetAttributeListResponse {
        /// Object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Names of the object's attributes.
        pub references: AttributeReferences = refs(ATTRIBUTE_REFERENCE, ATTRIBUTE_NAME),
    }
}

kmip_struct! {
    /// Add Attribute request.
    pub struct AddAttributeRequest {
        /// Object.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// The attribute to add (1.x: Attribute; 2.x: NewAttribute).
        pub attribute: SingleAttribute = single(NEW_ATTRIBUTE, ATTRIBUTE),
    }
}

kmip_struct! {
    /// Add/Modify/Delete Attribute response. 1.x echoes the attribute; 2.x does not.
    pub struct AttributeChangeResponse {
        /// Object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// The attribute as stored (1.x only).
        pub attribute: Option<SingleAttribute> = v1attr(ATTRIBUTE),
    }
}

/// Add Attribute response.
pub type AddAttributeResponse = AttributeChangeResponse;
/// Modify Attribute response.
pub type ModifyAttributeResponse = AttributeChangeResponse;
/// Delete Attribute response.
pub type DeleteAttributeResponse = AttributeChangeResponse;

kmip_struct! {
    /// Modify Attribute request.
    pub struct ModifyAttributeRequest {
        /// Object.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Which instance to change (2.x; 1.x uses the attribute index).
        pub current_attribute: Option<SingleAttribute> = single_opt(CURRENT_ATTRIBUTE, CURRENT_ATTRIBUTE),
        /// The new value.
        pub new_attribute: SingleAttribute = single(NEW_ATTRIBUTE, ATTRIBUTE),
    }
}

kmip_struct! {
    /// Delete Attribute request.
    pub struct DeleteAttributeRequest {
        /// Object.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// The instance to delete, by value (2.x).
        pub current_attribute: Option<SingleAttribute> = single_opt(CURRENT_ATTRIBUTE, CURRENT_ATTRIBUTE),
        /// The attribute to delete, by name (2.x reference / 1.x name).
        pub reference: Option<AttributeReference> = ref_opt(ATTRIBUTE_REFERENCE, ATTRIBUTE_NAME),
        /// Attribute Index (1.x).
        pub attribute_index: Option<i32> = opt(ATTRIBUTE_INDEX),
    }
}

kmip_struct! {
    /// Set Attribute request (2.0).
    pub struct SetAttributeRequest {
        /// Object.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// The attribute's new value.
        pub new_attribute: SingleAttribute = single(NEW_ATTRIBUTE, NEW_ATTRIBUTE),
    }
}

kmip_struct! {
    /// Set Attribute response.
    pub struct SetAttributeResponse {
        /// Object.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
    }
}
