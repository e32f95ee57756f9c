//! Typed decoding errors. Each kind names the KMIP `ResultReason` a server should
//! answer with (KMIP 1.4 §11.2.2.3 / 2.1 §11.27), so the daemon never has to guess.

use crate::ttlv::{ItemType, Tag};
use crate::types::ResultReason;
use std::fmt;

/// A decoding failure and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What went wrong.
    pub kind: DecodeErrorKind,
    /// Byte offset in the input (binary), or line/byte position (XML/JSON) where known.
    pub offset: Option<usize>,
}

impl DecodeError {
    /// An error at a byte offset.
    pub fn at(kind: DecodeErrorKind, offset: usize) -> Self {
        Self {
            kind,
            offset: Some(offset),
        }
    }

    /// An error without a position (typed-layer errors).
    pub fn new(kind: DecodeErrorKind) -> Self {
        Self { kind, offset: None }
    }

    /// The KMIP result reason a server should reply with.
    pub fn result_reason(&self) -> ResultReason {
        self.kind.result_reason()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "at offset {o}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeErrorKind> for DecodeError {
    fn from(kind: DecodeErrorKind) -> Self {
        Self::new(kind)
    }
}

/// Why an input could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the item it announced (truncated frame).
    #[error("input truncated: needed {needed} more bytes")]
    Truncated {
        /// Bytes missing.
        needed: usize,
    },
    /// A length read off the wire exceeds the configured maximum message size
    /// (defends against allocation bombs).
    #[error("length {length} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Announced length.
        length: u64,
        /// Configured limit.
        limit: usize,
    },
    /// Structures nested deeper than the limit (defends against stack exhaustion).
    #[error("nesting deeper than {limit}")]
    TooDeep {
        /// Configured limit.
        limit: usize,
    },
    /// More items than the limit (defends against CPU/memory exhaustion with tiny items).
    #[error("more than {limit} items")]
    TooManyItems {
        /// Configured limit.
        limit: usize,
    },
    /// An item type byte outside 0x01..=0x0B.
    #[error("unknown item type 0x{0:02x}")]
    UnknownItemType(u8),
    /// A fixed-size item with the wrong length field.
    #[error("{item_type:?} with invalid length {length}")]
    InvalidLength {
        /// The item type.
        item_type: ItemType,
        /// The length read.
        length: u32,
    },
    /// A TextString that is not UTF-8.
    #[error("text string is not valid UTF-8")]
    InvalidUtf8,
    /// A Boolean other than 0 or 1.
    #[error("boolean value {0} is neither 0 nor 1")]
    InvalidBoolean(u64),
    /// Bytes left after the top-level item.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// A structure's children overrun its own length.
    #[error("structure length does not match its contents")]
    StructureLengthMismatch,
    /// A required field is absent.
    #[error("missing required field {0}")]
    MissingField(Tag),
    /// A field has an unexpected item type.
    #[error("field {tag} has type {found:?}, expected {expected:?}")]
    WrongType {
        /// The field.
        tag: Tag,
        /// Type expected by the typed layer.
        expected: ItemType,
        /// Type found.
        found: ItemType,
    },
    /// A field that may appear once appeared several times.
    #[error("field {0} repeated")]
    Repeated(Tag),
    /// An unexpected tag where a specific one is required (e.g. the message root).
    #[error("unexpected tag {found}, expected {expected}")]
    UnexpectedTag {
        /// Expected tag.
        expected: Tag,
        /// Found tag.
        found: Tag,
    },
    /// A value is out of its allowed range or not one the field accepts.
    #[error("invalid value for {tag}: {reason}")]
    InvalidValue {
        /// The field.
        tag: Tag,
        /// Why.
        reason: &'static str,
    },
    /// A protocol version this crate does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(crate::version::ProtocolVersion),
    /// A 1.x attribute name that is neither standard nor custom (`x-`/`y-`).
    #[error("unknown attribute name {0:?}")]
    UnknownAttributeName(String),
    /// Malformed text encoding (XML or JSON): the syntax itself is wrong.
    #[error("syntax: {0}")]
    Syntax(String),
    /// A tag name the text encodings cannot resolve.
    #[error("unknown tag name {0:?}")]
    UnknownTagName(String),
    /// A text-encoded value that does not parse for its declared type.
    #[error("bad {item_type:?} value {value:?}")]
    BadTextValue {
        /// The declared item type.
        item_type: ItemType,
        /// The offending text (truncated to 64 characters).
        value: String,
    },
    /// A test-vector placeholder (`$SIGNATURE_DATA`) that the decoding options do not
    /// resolve (see `ttlv::xml::Placeholders`).
    #[error("unresolved placeholder {0:?}")]
    UnresolvedPlaceholder(String),
}

impl DecodeErrorKind {
    /// The KMIP result reason a server should reply with for this error.
    pub fn result_reason(&self) -> ResultReason {
        match self {
            Self::TooLarge { .. } => ResultReason::InvalidMessage,
            Self::UnsupportedVersion(_) => ResultReason::InvalidMessage,
            Self::MissingField(_) | Self::InvalidValue { .. } | Self::Repeated(_) => {
                ResultReason::InvalidField
            }
            Self::UnknownAttributeName(_) => ResultReason::InvalidField,
            Self::WrongType { .. } => ResultReason::InvalidField,
            _ => ResultReason::InvalidMessage,
        }
    }
}
