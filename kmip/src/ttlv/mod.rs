//! The TTLV model (KMIP 1.4 §9.1): a tree of tagged, typed values, and its three
//! encodings: binary ([`binary`]), XML ([`xml`]) and JSON ([`json`]).

pub mod binary;
pub mod json;
mod limits;
mod tag;
mod tags;
pub mod xml;

pub use limits::Limits;
pub use tag::{Tag, TagInfo};

use crate::error::DecodeErrorKind;

/// The eleven TTLV item types (KMIP 1.4 §9.1.1.2, plus 2.0's DateTimeExtended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ItemType {
    /// A sequence of TTLV items.
    Structure = 0x01,
    /// 32-bit signed integer.
    Integer = 0x02,
    /// 64-bit signed integer.
    LongInteger = 0x03,
    /// Arbitrary-precision two's-complement integer, big-endian, padded to 8 bytes.
    BigInteger = 0x04,
    /// 32-bit unsigned enumeration value.
    Enumeration = 0x05,
    /// 64-bit 0 or 1.
    Boolean = 0x06,
    /// UTF-8 text.
    TextString = 0x07,
    /// Opaque bytes.
    ByteString = 0x08,
    /// Seconds since the Unix epoch, 64-bit signed.
    DateTime = 0x09,
    /// Seconds, 32-bit unsigned.
    Interval = 0x0A,
    /// Microseconds since the Unix epoch, 64-bit signed (KMIP 2.0).
    DateTimeExtended = 0x0B,
}

impl ItemType {
    /// The item type for a wire byte.
    pub fn from_byte(b: u8) -> Result<Self, DecodeErrorKind> {
        Ok(match b {
            0x01 => Self::Structure,
            0x02 => Self::Integer,
            0x03 => Self::LongInteger,
            0x04 => Self::BigInteger,
            0x05 => Self::Enumeration,
            0x06 => Self::Boolean,
            0x07 => Self::TextString,
            0x08 => Self::ByteString,
            0x09 => Self::DateTime,
            0x0A => Self::Interval,
            0x0B => Self::DateTimeExtended,
            other => return Err(DecodeErrorKind::UnknownItemType(other)),
        })
    }

    /// The name used by the XML and JSON encodings (`type="..."`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Structure => "Structure",
            Self::Integer => "Integer",
            Self::LongInteger => "LongInteger",
            Self::BigInteger => "BigInteger",
            Self::Enumeration => "Enumeration",
            Self::Boolean => "Boolean",
            Self::TextString => "TextString",
            Self::ByteString => "ByteString",
            Self::DateTime => "DateTime",
            Self::Interval => "Interval",
            Self::DateTimeExtended => "DateTimeExtended",
        }
    }

    /// The item type for an XML/JSON type name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Structure" => Self::Structure,
            "Integer" => Self::Integer,
            "LongInteger" => Self::LongInteger,
            "BigInteger" => Self::BigInteger,
            "Enumeration" => Self::Enumeration,
            "Boolean" => Self::Boolean,
            "TextString" => Self::TextString,
            "ByteString" => Self::ByteString,
            "DateTime" => Self::DateTime,
            "Interval" => Self::Interval,
            "DateTimeExtended" => Self::DateTimeExtended,
            _ => return None,
        })
    }
}

/// One TTLV item: a tag and its typed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ttlv {
    /// The item's tag.
    pub tag: Tag,
    /// The item's value; its variant is the item type.
    pub value: Value,
}

/// A TTLV value. The variant is the item type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Child items, in wire order.
    Structure(Vec<Ttlv>),
    /// 32-bit signed integer (also masks such as Cryptographic Usage Mask).
    Integer(i32),
    /// 64-bit signed integer.
    LongInteger(i64),
    /// Big-endian two's-complement bytes, exactly as on the wire (a multiple of 8 long
    /// when decoded from binary; encoding sign-extends to a multiple of 8).
    BigInteger(Vec<u8>),
    /// Enumeration value.
    Enumeration(u32),
    /// Boolean.
    Boolean(bool),
    /// UTF-8 text.
    TextString(String),
    /// Opaque bytes.
    ByteString(Vec<u8>),
    /// Seconds since the Unix epoch.
    DateTime(i64),
    /// Seconds.
    Interval(u32),
    /// Microseconds since the Unix epoch.
    DateTimeExtended(i64),
}

impl Value {
    /// The item type of this value.
    pub const fn item_type(&self) -> ItemType {
        match self {
            Self::Structure(_) => ItemType::Structure,
            Self::Integer(_) => ItemType::Integer,
            Self::LongInteger(_) => ItemType::LongInteger,
            Self::BigInteger(_) => ItemType::BigInteger,
            Self::Enumeration(_) => ItemType::Enumeration,
            Self::Boolean(_) => ItemType::Boolean,
            Self::TextString(_) => ItemType::TextString,
            Self::ByteString(_) => ItemType::ByteString,
            Self::DateTime(_) => ItemType::DateTime,
            Self::Interval(_) => ItemType::Interval,
            Self::DateTimeExtended(_) => ItemType::DateTimeExtended,
        }
    }
}

impl Ttlv {
    /// A new item.
    pub fn new(tag: Tag, value: Value) -> Self {
        Self { tag, value }
    }

    /// A structure item.
    pub fn structure(tag: Tag, children: Vec<Ttlv>) -> Self {
        Self::new(tag, Value::Structure(children))
    }

    /// The children of a structure, or an empty slice for a primitive.
    pub fn children(&self) -> &[Ttlv] {
        match &self.value {
            Value::Structure(c) => c,
            _ => &[],
        }
    }

    /// The first child with `tag`.
    pub fn child(&self, tag: Tag) -> Option<&Ttlv> {
        self.children().iter().find(|c| c.tag == tag)
    }

    /// Every child with `tag`, in order.
    pub fn children_with(&self, tag: Tag) -> impl Iterator<Item = &Ttlv> {
        self.children().iter().filter(move |c| c.tag == tag)
    }

    /// The item type of the value.
    pub fn item_type(&self) -> ItemType {
        self.value.item_type()
    }
}
