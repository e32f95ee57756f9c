//! Protocol versions (KMIP 1.4 §6.1 Protocol Version) and the version gate.
//!
//! Keygate keeps one internal model shaped like KMIP 2.1. Requests of 1.x are
//! translated at the edge (see [`crate::messages::attributes`]) and every encoding
//! takes a target version so that no tag or enumeration value the peer's version
//! lacks is ever emitted.

use std::fmt;

/// A KMIP protocol version, parsed from the message header, never sniffed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion {
    /// Protocol Version Major.
    pub major: i32,
    /// Protocol Version Minor.
    pub minor: i32,
}

impl ProtocolVersion {
    /// KMIP 1.0.
    pub const V1_0: Self = Self::new(1, 0);
    /// KMIP 1.1.
    pub const V1_1: Self = Self::new(1, 1);
    /// KMIP 1.2.
    pub const V1_2: Self = Self::new(1, 2);
    /// KMIP 1.3.
    pub const V1_3: Self = Self::new(1, 3);
    /// KMIP 1.4.
    pub const V1_4: Self = Self::new(1, 4);
    /// KMIP 2.0.
    pub const V2_0: Self = Self::new(2, 0);
    /// KMIP 2.1.
    pub const V2_1: Self = Self::new(2, 1);
    /// The newest version this crate speaks.
    pub const LATEST: Self = Self::V2_1;
    /// Every version this crate speaks, newest first (the order of a
    /// DiscoverVersions answer, KMIP 1.4 §4.26).
    pub const SUPPORTED: [Self; 7] = [
        Self::V2_1,
        Self::V2_0,
        Self::V1_4,
        Self::V1_3,
        Self::V1_2,
        Self::V1_1,
        Self::V1_0,
    ];

    /// A version from its two header integers.
    pub const fn new(major: i32, minor: i32) -> Self {
        Self { major, minor }
    }

    /// True for KMIP 1.x, whose attributes travel as `TemplateAttribute` /
    /// `Attribute(Name, Index, Value)` rather than 2.x `Attributes`.
    pub const fn is_v1(self) -> bool {
        self.major < 2
    }

    /// True when this crate can speak the version.
    pub fn is_supported(self) -> bool {
        Self::SUPPORTED.contains(&self)
    }

    /// True when an item introduced in `since` and (optionally) removed in `until`
    /// exists in this version.
    pub fn has(self, since: ProtocolVersion, until: Option<ProtocolVersion>) -> bool {
        self >= since && until.is_none_or(|u| self < u)
    }
}

impl Default for ProtocolVersion {
    fn default() -> Self {
        Self::LATEST
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The version gate: removes from `item` (recursively) every standard tag that
/// `version` does not define, and every enumeration value its table marks as
/// absent from `version`. Vendor extension tags (0x54xxxx) pass. Applied to every
/// encoded message, so no peer ever receives what its version lacks (Percona broke
/// on a `Fresh` attribute sent to a 1.0 client by another server).
pub fn gate(item: &mut crate::ttlv::Ttlv, version: ProtocolVersion) {
    use crate::ttlv::Value;
    let parent = item.tag;
    if let Value::Structure(children) = &mut item.value {
        children.retain(|c| allowed(c, parent, version));
        for c in children {
            gate(c, version);
        }
    }
}

fn allowed(item: &crate::ttlv::Ttlv, parent: crate::ttlv::Tag, version: ProtocolVersion) -> bool {
    use crate::ttlv::{Tag, Value};
    if item.tag.is_known() && !item.tag.defined_in(version) {
        return false;
    }
    // Enumeration values the version lacks: only an attribute of an `Attributes`
    // set is removed for one (an attribute is optional, and a 2.x client must not
    // see a value its version does not define). Anywhere else the element is a
    // field of its structure (a batch item's Operation, a Create answer's Object
    // Type, a failed item's Result Reason): removing it would make the message
    // malformed, so it is kept, and the typed layer is responsible for choosing
    // values the version defines (found by fuzzing: a 2.1 answer whose Object Type
    // was the 1.x-only Template lost its required field).
    if parent != Tag::ATTRIBUTES {
        return true;
    }
    if let Value::Enumeration(v) = item.value {
        if let Some(table) = crate::types::enum_table(item.tag) {
            return table.defined_in(v, version) || table.by_value(v).is_none();
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttlv::{Tag, Ttlv, Value};
    use crate::types::Operation;

    #[test]
    fn gate_keeps_a_batch_items_operation_whatever_its_value() {
        // An operation KMIP 1.0 lacks, as a 1.0 client may still send it.
        let newer = Operation::TABLE
            .entries
            .iter()
            .find(|e| e.since > ProtocolVersion::V1_0 && e.until.is_none())
            .expect("an operation newer than 1.0")
            .value;
        let op = Ttlv::new(Tag::OPERATION, Value::Enumeration(newer));
        let mut message = Ttlv::structure(
            Tag::RESPONSE_MESSAGE,
            vec![Ttlv::structure(
                Tag::BATCH_ITEM,
                vec![
                    op.clone(),
                    Ttlv::new(Tag::RESULT_STATUS, Value::Enumeration(1)),
                    // A Query response's list of operations is still gated.
                    Ttlv::structure(
                        Tag::RESPONSE_PAYLOAD,
                        vec![
                            op.clone(),
                            Ttlv::new(
                                Tag::OPERATION,
                                Value::Enumeration(Operation::Create.value()),
                            ),
                        ],
                    ),
                ],
            )],
        );
        gate(&mut message, ProtocolVersion::V1_0);
        let item = message.child(Tag::BATCH_ITEM).expect("batch item kept");
        assert_eq!(item.child(Tag::OPERATION), Some(&op), "operation kept");
        let listed: Vec<_> = item
            .child(Tag::RESPONSE_PAYLOAD)
            .expect("payload kept")
            .children_with(Tag::OPERATION)
            .collect();
        assert_eq!(
            listed.len(),
            2,
            "payload fields are kept whatever their value"
        );
    }

    #[test]
    fn gate_removes_an_attribute_whose_value_the_version_lacks() {
        use crate::types::ObjectType;
        // PGP Key (KMIP 1.2) as an attribute of a 1.0 answer: removed; a Symmetric
        // Key beside it stays.
        let pgp = Ttlv::new(
            Tag::OBJECT_TYPE,
            Value::Enumeration(ObjectType::PgpKey.value()),
        );
        let sym = Ttlv::new(
            Tag::OBJECT_TYPE,
            Value::Enumeration(ObjectType::SymmetricKey.value()),
        );
        let mut attrs = Ttlv::structure(Tag::ATTRIBUTES, vec![pgp.clone(), sym.clone()]);
        gate(&mut attrs, ProtocolVersion::V1_0);
        assert_eq!(attrs.children(), std::slice::from_ref(&sym));
        let mut attrs = Ttlv::structure(Tag::ATTRIBUTES, vec![pgp.clone(), sym.clone()]);
        gate(&mut attrs, ProtocolVersion::V1_2);
        assert_eq!(attrs.children(), [pgp, sym]);
    }
}
