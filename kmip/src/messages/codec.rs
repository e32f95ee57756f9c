//! The typed layer's plumbing: how a Rust field becomes a TTLV item and back.
//!
//! Structures are declared with [`kmip_struct!`]: fields are matched by tag, not by
//! position (a vendor tag in the middle never shifts the rest), fields the
//! declaration does not name are kept in `extensions` and re-emitted, and every
//! decode is version-aware through [`Ctx`].

use crate::error::{DecodeError, DecodeErrorKind};
use crate::ttlv::{ItemType, Tag, Ttlv, Value};
use crate::version::ProtocolVersion;

/// Decoding/encoding context: the protocol version of the message being handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    /// The message's protocol version (parsed from its header).
    pub version: ProtocolVersion,
}

impl Ctx {
    /// A context for `version`.
    pub const fn new(version: ProtocolVersion) -> Self {
        Self { version }
    }
}

/// A type that is one TTLV item.
pub trait Codec: Sized {
    /// Decodes from `item` (whose tag the caller has already matched).
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError>;
    /// Encodes under `tag`.
    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv;
}

pub fn wrong_type(item: &Ttlv, expected: ItemType) -> DecodeError {
    DecodeError::new(DecodeErrorKind::WrongType {
        tag: item.tag,
        expected,
        found: item.item_type(),
    })
}

macro_rules! primitive {
    ($t:ty, $variant:ident, $it:ident) => {
        impl Codec for $t {
            fn decode(item: &Ttlv, _: &Ctx) -> Result<Self, DecodeError> {
                match &item.value {
                    Value::$variant(v) => Ok(v.clone()),
                    _ => Err(wrong_type(item, ItemType::$it)),
                }
            }
            fn encode(&self, tag: Tag, _: &Ctx) -> Ttlv {
                Ttlv::new(tag, Value::$variant(self.clone()))
            }
        }
    };
}
primitive!(i32, Integer, Integer);
primitive!(i64, LongInteger, LongInteger);
primitive!(bool, Boolean, Boolean);
primitive!(String, TextString, TextString);
primitive!(Vec<u8>, ByteString, ByteString);

/// A DateTime value: seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub i64);

/// An Interval value: seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval(pub u32);

/// A BigInteger value: big-endian two's-complement bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BigInt(pub Vec<u8>);

/// A bit mask carried as an Integer (Cryptographic Usage Mask, Storage Status Mask…).
/// KMIP 1.x clients also send masks as other integer-like items; see [`Mask::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mask(pub u32);

impl Mask {
    /// True when every bit of `bits` is set.
    pub const fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

impl Codec for DateTime {
    fn decode(item: &Ttlv, _: &Ctx) -> Result<Self, DecodeError> {
        match item.value {
            Value::DateTime(v) => Ok(Self(v)),
            Value::DateTimeExtended(us) => Ok(Self(us.div_euclid(1_000_000))),
            _ => Err(wrong_type(item, ItemType::DateTime)),
        }
    }
    fn encode(&self, tag: Tag, _: &Ctx) -> Ttlv {
        Ttlv::new(tag, Value::DateTime(self.0))
    }
}

impl Codec for Interval {
    fn decode(item: &Ttlv, _: &Ctx) -> Result<Self, DecodeError> {
        match item.value {
            Value::Interval(v) => Ok(Self(v)),
            _ => Err(wrong_type(item, ItemType::Interval)),
        }
    }
    fn encode(&self, tag: Tag, _: &Ctx) -> Ttlv {
        Ttlv::new(tag, Value::Interval(self.0))
    }
}

impl Codec for BigInt {
    fn decode(item: &Ttlv, _: &Ctx) -> Result<Self, DecodeError> {
        match &item.value {
            Value::BigInteger(v) => Ok(Self(v.clone())),
            _ => Err(wrong_type(item, ItemType::BigInteger)),
        }
    }
    fn encode(&self, tag: Tag, _: &Ctx) -> Ttlv {
        Ttlv::new(tag, Value::BigInteger(self.0.clone()))
    }
}

impl Codec for Mask {
    /// Accepts Integer (the standard), and the Enumeration/LongInteger some 1.x
    /// clients send (MySQL's keyring sends Storage Status Mask oddly).
    fn decode(item: &Ttlv, _: &Ctx) -> Result<Self, DecodeError> {
        match item.value {
            Value::Integer(v) => Ok(Self(v as u32)),
            Value::Enumeration(v) | Value::Interval(v) => Ok(Self(v)),
            Value::LongInteger(v) => u32::try_from(v).map(Self).map_err(|_| {
                DecodeError::new(DecodeErrorKind::InvalidValue {
                    tag: item.tag,
                    reason: "mask out of range",
                })
            }),
            _ => Err(wrong_type(item, ItemType::Integer)),
        }
    }
    fn encode(&self, tag: Tag, _: &Ctx) -> Ttlv {
        Ttlv::new(tag, Value::Integer(self.0 as i32))
    }
}

/// A raw item: kept exactly as received (its tag is replaced on encode).
impl Codec for Ttlv {
    fn decode(item: &Ttlv, _: &Ctx) -> Result<Self, DecodeError> {
        Ok(item.clone())
    }
    fn encode(&self, tag: Tag, _: &Ctx) -> Ttlv {
        Ttlv::new(tag, self.value.clone())
    }
}

/// Collects a structure's children for field-by-tag decoding.
pub(crate) fn structure_children(item: &Ttlv) -> Result<&[Ttlv], DecodeError> {
    match &item.value {
        Value::Structure(c) => Ok(c),
        _ => Err(wrong_type(item, ItemType::Structure)),
    }
}

/// Decodes the single child with `tag`; absent is an error.
pub(crate) fn field_one<T: Codec>(
    children: &[Ttlv],
    tag: Tag,
    ctx: &Ctx,
) -> Result<T, DecodeError> {
    field_opt(children, tag, ctx)?
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::MissingField(tag)))
}

/// Decodes the child with `tag` if present; repeated is an error.
pub(crate) fn field_opt<T: Codec>(
    children: &[Ttlv],
    tag: Tag,
    ctx: &Ctx,
) -> Result<Option<T>, DecodeError> {
    let mut it = children.iter().filter(|c| c.tag == tag);
    let Some(first) = it.next() else {
        return Ok(None);
    };
    if it.next().is_some() {
        return Err(DecodeError::new(DecodeErrorKind::Repeated(tag)));
    }
    T::decode(first, ctx).map(Some)
}

/// Decodes every child with `tag`, in order.
pub(crate) fn field_many<T: Codec>(
    children: &[Ttlv],
    tag: Tag,
    ctx: &Ctx,
) -> Result<Vec<T>, DecodeError> {
    children
        .iter()
        .filter(|c| c.tag == tag)
        .map(|c| T::decode(c, ctx))
        .collect()
}

/// Encoding side of the field kinds.
pub(crate) trait EncodeField {
    fn encode_field(&self, tag: Tag, ctx: &Ctx, out: &mut Vec<Ttlv>);
}

impl<T: Codec> EncodeField for T {
    fn encode_field(&self, tag: Tag, ctx: &Ctx, out: &mut Vec<Ttlv>) {
        out.push(self.encode(tag, ctx));
    }
}

pub(crate) fn encode_opt<T: Codec>(v: &Option<T>, tag: Tag, ctx: &Ctx, out: &mut Vec<Ttlv>) {
    if let Some(v) = v {
        out.push(v.encode(tag, ctx));
    }
}

pub(crate) fn encode_many<T: Codec>(v: &[T], tag: Tag, ctx: &Ctx, out: &mut Vec<Ttlv>) {
    out.extend(v.iter().map(|x| x.encode(tag, ctx)));
}

/// Declares a typed KMIP structure. Each field is
/// `name: Type = kind(TAG)` with kind `one` (required), `opt` (`Option<T>`) or
/// `many` (`Vec<T>`); or `name: Attributes = attrs(V2_TAG, V1_TAG)` for an attribute
/// set that KMIP 2.x carries as `Attributes`-like structures and 1.x as a
/// `TemplateAttribute`-like one. Children with other tags land in `extensions`.
macro_rules! kmip_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty = $kind:ident ( $($tag:ident),* ) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Children this declaration does not name (vendor tags, newer fields),
            /// kept in order and re-emitted after the named fields.
            pub extensions: Vec<$crate::ttlv::Ttlv>,
        }

        impl $crate::messages::codec::Codec for $name {
            fn decode(item: &$crate::ttlv::Ttlv, ctx: &$crate::messages::codec::Ctx)
                -> Result<Self, $crate::error::DecodeError>
            {
                #[allow(unused_imports)]
                use $crate::messages::codec::*;
                let _ = ctx;
                let children = structure_children(item)?;
                let known = |_t: $crate::ttlv::Tag| -> bool {
                    false $( || kmip_struct!(@is $kind _t $($tag),*) )*
                };
                Ok(Self {
                    $( $field: kmip_struct!(@decode $kind children ctx $($tag),*)?, )*
                    extensions: children.iter().filter(|c| !known(c.tag)).cloned().collect(),
                })
            }

            fn encode(&self, tag: $crate::ttlv::Tag, ctx: &$crate::messages::codec::Ctx) -> $crate::ttlv::Ttlv {
                #[allow(unused_imports)]
                use $crate::messages::codec::*;
                let _ = ctx;
                #[allow(unused_mut)]
                let mut out: Vec<$crate::ttlv::Ttlv> = Vec::new();
                $( kmip_struct!(@encode $kind self.$field, ctx, out, $($tag),*); )*
                out.extend(self.extensions.iter().cloned());
                $crate::ttlv::Ttlv::structure(tag, out)
            }
        }
    };
    (@is object $t:ident) => { $crate::messages::objects::ManagedObject::OBJECT_TAGS.contains(&$t) };
    (@is object_opt $t:ident) => { $crate::messages::objects::ManagedObject::OBJECT_TAGS.contains(&$t) };
    (@is $kind:ident $t:ident $($tag:ident),+) => { false $( || $t == $crate::ttlv::Tag::$tag )+ };
    (@decode object $c:ident $ctx:ident) => {
        $crate::messages::objects::ManagedObject::decode_from($c, $ctx).and_then(|o| o.ok_or_else(|| {
            $crate::error::DecodeError::new($crate::error::DecodeErrorKind::MissingField($crate::ttlv::Tag::OBJECT_TYPE))
        }))
    };
    (@decode object_opt $c:ident $ctx:ident) => { $crate::messages::objects::ManagedObject::decode_from($c, $ctx) };
    (@decode single $c:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::SingleAttribute::decode_field($c, $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx)
            .and_then(|o| o.ok_or_else(|| {
                $crate::error::DecodeError::new($crate::error::DecodeErrorKind::MissingField($crate::ttlv::Tag::$v2))
            }))
    };
    (@decode single_opt $c:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::SingleAttribute::decode_field($c, $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx)
    };
    (@decode v1attr $c:ident $ctx:ident $v1:ident) => {
        $crate::messages::attributes::SingleAttribute::decode_v1_field($c, $crate::ttlv::Tag::$v1, $ctx)
    };
    (@decode refs $c:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::AttributeReferences::decode_field($c, $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx)
    };
    (@decode ref_opt $c:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::AttributeReferences::decode_field($c, $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx)
            .and_then(|r| match r.0.len() {
                0 => Ok(None),
                1 => Ok(r.0.into_iter().next()),
                _ => Err($crate::error::DecodeError::new($crate::error::DecodeErrorKind::Repeated($crate::ttlv::Tag::$v2))),
            })
    };
    (@decode one $c:ident $ctx:ident $tag:ident) => { field_one($c, $crate::ttlv::Tag::$tag, $ctx) };
    (@decode opt $c:ident $ctx:ident $tag:ident) => { field_opt($c, $crate::ttlv::Tag::$tag, $ctx) };
    (@decode many $c:ident $ctx:ident $tag:ident) => { field_many($c, $crate::ttlv::Tag::$tag, $ctx) };
    (@decode attrs $c:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::Attributes::decode_field($c, $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx)
    };
    (@decode attrs_opt $c:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::Attributes::decode_field_opt($c, $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx)
    };
    (@encode object $v:expr, $ctx:ident, $out:ident,) => { $out.push($v.encode($ctx)) };
    (@encode object_opt $v:expr, $ctx:ident, $out:ident,) => { if let Some(o) = &$v { $out.push(o.encode($ctx)) } };
    (@encode single $v:expr, $ctx:ident, $out:ident, $v2:ident, $v1:ident) => {
        $v.encode_field_as($crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx, &mut $out)
    };
    (@encode single_opt $v:expr, $ctx:ident, $out:ident, $v2:ident, $v1:ident) => {
        if let Some(a) = &$v { a.encode_field_as($crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx, &mut $out) }
    };
    (@encode v1attr $v:expr, $ctx:ident, $out:ident, $v1:ident) => {
        if let Some(a) = &$v { if $ctx.version.is_v1() { $out.extend(a.0.encode_v1($ctx.version)) } }
    };
    (@encode refs $v:expr, $ctx:ident, $out:ident, $v2:ident, $v1:ident) => {
        $v.encode_field_as($crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx, &mut $out)
    };
    (@encode ref_opt $v:expr, $ctx:ident, $out:ident, $v2:ident, $v1:ident) => {
        if let Some(r) = &$v {
            let tag = if $ctx.version.is_v1() { $crate::ttlv::Tag::$v1 } else { $crate::ttlv::Tag::$v2 };
            $out.push(r.encode(tag, $ctx))
        }
    };
    (@encode one $v:expr, $ctx:ident, $out:ident, $tag:ident) => { $v.encode_field($crate::ttlv::Tag::$tag, $ctx, &mut $out) };
    (@encode opt $v:expr, $ctx:ident, $out:ident, $tag:ident) => { encode_opt(&$v, $crate::ttlv::Tag::$tag, $ctx, &mut $out) };
    (@encode many $v:expr, $ctx:ident, $out:ident, $tag:ident) => { encode_many(&$v, $crate::ttlv::Tag::$tag, $ctx, &mut $out) };
    (@encode attrs $v:expr, $ctx:ident, $out:ident, $v2:ident, $v1:ident) => {
        $v.encode_field_as($crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx, &mut $out)
    };
    (@encode attrs_opt $v:expr, $ctx:ident, $out:ident, $v2:ident, $v1:ident) => {
        if let Some(a) = &$v { a.encode_field_as($crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx, &mut $out) }
    };
}
pub(crate) use kmip_struct;
