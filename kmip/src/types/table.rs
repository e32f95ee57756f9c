//! The `kmip_enum!` declaration macro and the name tables it produces.

use crate::ttlv::Tag;
use crate::version::ProtocolVersion;

/// One named value of an enumeration or one bit of a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumEntry {
    /// Wire value (for masks: the bit).
    pub value: u32,
    /// Name in the XML/JSON encodings (`SymmetricKey`).
    pub name: &'static str,
    /// First version that defines the value.
    pub since: ProtocolVersion,
    /// First version that no longer defines it.
    pub until: Option<ProtocolVersion>,
}

/// The named values of one enumeration or mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumTable {
    /// The enumeration's Rust name.
    pub name: &'static str,
    /// Its values.
    pub entries: &'static [EnumEntry],
}

impl EnumTable {
    /// The entry for a wire value.
    pub fn by_value(&self, value: u32) -> Option<&'static EnumEntry> {
        self.entries.iter().find(|e| e.value == value)
    }

    /// The entry for a name. Accepts the XML spelling and, for convenience, the
    /// specification's spelling with spaces or hyphens (`Symmetric Key`).
    pub fn by_name(&self, name: &str) -> Option<&'static EnumEntry> {
        self.entries.iter().find(|e| e.name == name).or_else(|| {
            let squashed: String = name
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '_'))
                .collect();
            self.entries
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(&squashed))
        })
    }

    /// True when `version` defines `value`. Values outside the table (vendor
    /// extensions, encoded 0x8xxxxxxx) are let through.
    pub fn defined_in(&self, value: u32, version: ProtocolVersion) -> bool {
        match self.by_value(value) {
            Some(e) => version.has(e.since, e.until),
            None => value & 0x8000_0000 != 0,
        }
    }
}

/// Declares a typed KMIP enumeration:
/// `Name { Variant = 0x01, "XmlName", (since_major, since_minor) [.. (until)]; ... }`.
/// Generates the enum (with `Unknown(u32)` so no value fails a message), `value`,
/// `from_value`, `name`, `from_name` and a `TABLE` for the text encodings.
macro_rules! kmip_enum {
    ($(#[$meta:meta])* $name:ident { $( $var:ident = $val:literal, $xml:literal, ($maj:literal, $min:literal) $(.. ($umaj:literal, $umin:literal))? ; )* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( #[doc = $xml] $var, )*
            /// A value this crate does not name (vendor extension or newer specification).
            Unknown(u32),
        }

        impl $name {
            /// The name table for the text encodings.
            pub const TABLE: $crate::types::EnumTable = $crate::types::EnumTable {
                name: stringify!($name),
                entries: &[ $( $crate::types::EnumEntry {
                    value: $val,
                    name: $xml,
                    since: $crate::version::ProtocolVersion::new($maj, $min),
                    until: kmip_enum!(@until $(($umaj, $umin))?),
                }, )* ],
            };

            /// The wire value.
            pub const fn value(self) -> u32 {
                match self { $( Self::$var => $val, )* Self::Unknown(v) => v }
            }

            /// The variant for a wire value (`Unknown` when unnamed).
            pub const fn from_value(v: u32) -> Self {
                match v { $( $val => Self::$var, )* other => Self::Unknown(other) }
            }

            /// The XML/JSON name, if the value is named.
            pub fn name(self) -> Option<&'static str> {
                match self { $( Self::$var => Some($xml), )* Self::Unknown(_) => None }
            }

            /// The variant for an XML/JSON name.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::TABLE.by_name(name).map(|e| Self::from_value(e.value))
            }
        }

        impl From<u32> for $name {
            fn from(v: u32) -> Self { Self::from_value(v) }
        }

        impl From<$name> for u32 {
            fn from(v: $name) -> u32 { v.value() }
        }

        impl $crate::messages::codec::Codec for $name {
            fn decode(item: &$crate::ttlv::Ttlv, _: &$crate::messages::codec::Ctx)
                -> Result<Self, $crate::error::DecodeError>
            {
                match item.value {
                    $crate::ttlv::Value::Enumeration(v) => Ok(Self::from_value(v)),
                    _ => Err($crate::messages::codec::wrong_type(item, $crate::ttlv::ItemType::Enumeration)),
                }
            }
            fn encode(&self, tag: $crate::ttlv::Tag, _: &$crate::messages::codec::Ctx) -> $crate::ttlv::Ttlv {
                $crate::ttlv::Ttlv::new(tag, $crate::ttlv::Value::Enumeration(self.value()))
            }
        }
    };
    (@until) => { None };
    (@until ($maj:literal, $min:literal)) => { Some($crate::version::ProtocolVersion::new($maj, $min)) };
}
pub(crate) use kmip_enum;

/// The enumeration carried by `tag`, for the text encodings and the version gate.
pub fn enum_table(tag: Tag) -> Option<&'static EnumTable> {
    super::enums::enum_table_for(tag)
}

/// The mask (bit set carried as an Integer) carried by `tag`.
pub fn mask_table(tag: Tag) -> Option<&'static EnumTable> {
    super::enums::mask_table_for(tag)
}
