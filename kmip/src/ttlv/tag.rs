//! Tags (KMIP 1.4 §9.1.3.1, 2.1 §9.1.3.1): a `u32` newtype with named constants and
//! name tables. Tags outside the tables (vendor extensions 0x54xxxx, newer
//! specifications) are kept as they are and survive every round trip.

use crate::version::ProtocolVersion;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// A TTLV tag. Only the low 24 bits travel on the wire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub u32);

/// What the tables know of a standard tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagInfo {
    /// Wire value.
    pub value: u32,
    /// Name in the XML/JSON encodings (`ActivationDate`).
    pub name: &'static str,
    /// Name in the specification, which is also the KMIP 1.x Attribute Name for
    /// tags that are attributes (`Activation Date`).
    pub spec_name: &'static str,
    /// First version that defines the tag.
    pub since: ProtocolVersion,
    /// First version that no longer defines it (e.g. `TemplateAttribute` in 2.0).
    pub until: Option<ProtocolVersion>,
}

/// Declares the tag table: one line per tag,
/// `CONST = 0x42xxxx, "XmlName", "Spec Name", (since_major, since_minor) [.. (until)]`.
macro_rules! tags {
    ($( $konst:ident = $val:literal, $xml:literal, $spec:literal, ($maj:literal, $min:literal) $(.. ($umaj:literal, $umin:literal))? ; )*) => {
        impl Tag {
            $(
                #[doc = $spec]
                pub const $konst: Tag = Tag($val);
            )*
        }

        /// Every standard tag, sorted by value.
        pub(crate) static TAG_TABLE: &[TagInfo] = &[
            $( TagInfo {
                value: $val,
                name: $xml,
                spec_name: $spec,
                since: ProtocolVersion::new($maj, $min),
                until: tags!(@until $(($umaj, $umin))?),
            }, )*
        ];
    };
    (@until) => { None };
    (@until ($maj:literal, $min:literal)) => { Some(ProtocolVersion::new($maj, $min)) };
}
pub(crate) use tags;

impl Tag {
    /// The tag's table entry, if it is a standard tag.
    pub fn info(self) -> Option<&'static TagInfo> {
        super::tags::TAG_TABLE
            .binary_search_by_key(&self.0, |i| i.value)
            .ok()
            .map(|i| &super::tags::TAG_TABLE[i])
    }

    /// The XML/JSON name of a standard tag.
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|i| i.name)
    }

    /// A standard tag from its XML/JSON name, or a hex name `0x540001`.
    pub fn from_name(name: &str) -> Option<Tag> {
        if let Some(hex) = name.strip_prefix("0x").or_else(|| name.strip_prefix("0X")) {
            return parse_hex_tag(hex);
        }
        by_name().get(name).copied()
    }

    /// A standard tag from its specification name (the KMIP 1.x Attribute Name,
    /// e.g. `Cryptographic Algorithm`).
    pub fn from_spec_name(name: &str) -> Option<Tag> {
        by_spec_name().get(name).copied()
    }

    /// True when the tag is in the standard tables.
    pub fn is_known(self) -> bool {
        self.info().is_some()
    }

    /// Keygate's extension tag: the caller's vault name (Text String), inside the
    /// Server Information a Query answers. The PKCS#11 library labels its token with it.
    pub const KEYGATE_VAULT_NAME: Tag = Tag(0x54_4B01);

    /// True for the extension range 0x54xxxx (vendor tags).
    pub const fn is_extension(self) -> bool {
        self.0 & 0xFF_0000 == 0x54_0000
    }

    /// True when `version` defines this tag. Extension tags are defined in every
    /// version; unknown tags in none.
    pub fn defined_in(self, version: ProtocolVersion) -> bool {
        if self.is_extension() {
            return true;
        }
        self.info().is_some_and(|i| version.has(i.since, i.until))
    }
}

fn parse_hex_tag(hex: &str) -> Option<Tag> {
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().map(Tag)
}

fn by_name() -> &'static HashMap<&'static str, Tag> {
    static M: OnceLock<HashMap<&'static str, Tag>> = OnceLock::new();
    M.get_or_init(|| {
        super::tags::TAG_TABLE
            .iter()
            .map(|i| (i.name, Tag(i.value)))
            .collect()
    })
}

fn by_spec_name() -> &'static HashMap<&'static str, Tag> {
    static M: OnceLock<HashMap<&'static str, Tag>> = OnceLock::new();
    M.get_or_init(|| {
        super::tags::TAG_TABLE
            .iter()
            .map(|i| (i.spec_name, Tag(i.value)))
            .collect()
    })
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "Tag(0x{:06x})", self.0),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "0x{:06x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        let t = super::super::tags::TAG_TABLE;
        for w in t.windows(2) {
            assert!(
                w[0].value < w[1].value,
                "{:x} !< {:x}",
                w[0].value,
                w[1].value
            );
        }
        assert_eq!(by_name().len(), t.len(), "duplicate XML names");
    }

    #[test]
    fn lookups() {
        assert_eq!(Tag::from_name("ActivationDate"), Some(Tag(0x420001)));
        assert_eq!(Tag::from_spec_name("Activation Date"), Some(Tag(0x420001)));
        assert_eq!(Tag(0x420001).name(), Some("ActivationDate"));
        assert_eq!(Tag::from_name("0x540001"), Some(Tag(0x540001)));
        assert!(Tag(0x540001).is_extension());
        assert!(!Tag(0x540001).is_known());
        assert!(Tag(0x540001).defined_in(ProtocolVersion::V1_0));
        assert_eq!(Tag::from_name("NoSuchTag"), None);
        assert_eq!(Tag::from_name("0x1234567"), None);
    }
}
