//! The typed layer's plumbing: how a Rust field becomes a TTLV item and back.
//!
//! Structures are declared with [`kmip_struct!`]: fields are matched by tag, not by
//! position (a vendor tag in the middle never shifts the rest), fields the
//! declaration does not name are kept in `extensions` and re-emitted, and every
//! decode is version-aware through [`Ctx`].
//!
//! Every type decodes from two sources through the same code (the crate-private
//! `Node` trait): a [`Ttlv`] tree (from XML, JSON, or a caller) and a validated binary
//! item ([`ItemRef`]). Binary messages take the second path: nothing but the typed
//! values is allocated, and each string is copied once, from the input to its field.

use std::borrow::Cow;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::ttlv::binary::{self, ItemRef};
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

    /// Decodes from a validated binary item (whose tag the caller has already
    /// matched), with the same result as [`Codec::decode`] on the item's tree. The
    /// default builds that tree; structures declared with `kmip_struct!`, the
    /// string types and the message types read the bytes directly instead.
    fn decode_ref(item: ItemRef<'_>, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode(&item.to_ttlv(), ctx)
    }

    /// Encodes under `tag`.
    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv;
}

/// The error for an item of the wrong type.
pub fn wrong_type(item: &Ttlv, expected: ItemType) -> DecodeError {
    wrong_type_of(item.tag, expected, item.item_type())
}

/// The error for an item `tag` of type `found` where `expected` was wanted.
pub(crate) fn wrong_type_of(tag: Tag, expected: ItemType, found: ItemType) -> DecodeError {
    DecodeError::new(DecodeErrorKind::WrongType {
        tag,
        expected,
        found,
    })
}

/// An item the typed layer reads: a tree node (`&Ttlv`) or a validated binary item
/// ([`ItemRef`]). Decoders written once over `Node` behave identically on both.
pub(crate) trait Node<'a>: Copy {
    /// The children of a structure.
    type Children: Iterator<Item = Self> + Clone;
    /// The item's tag.
    fn tag(self) -> Tag;
    /// The item's type.
    fn item_type(self) -> ItemType;
    /// The children, or a `WrongType` error when the item is not a structure.
    fn structure(self) -> Result<Self::Children, DecodeError>;
    /// Decodes the item as `T`.
    fn decode<T: Codec>(self, ctx: &Ctx) -> Result<T, DecodeError>;
    /// The item as an owned tree.
    fn to_ttlv(self) -> Ttlv;
    /// The children of this structure whose tags `keep` accepts, as a slice of trees,
    /// for the decoders written over sibling slices (attribute sets). A tree lends
    /// all its children (those decoders look only at their own tags); a binary item
    /// builds the kept ones.
    fn children_slice(self, keep: impl Fn(Tag) -> bool) -> Cow<'a, [Ttlv]>;
}

impl<'a> Node<'a> for &'a Ttlv {
    type Children = std::slice::Iter<'a, Ttlv>;
    fn tag(self) -> Tag {
        self.tag
    }
    fn item_type(self) -> ItemType {
        self.value.item_type()
    }
    fn structure(self) -> Result<Self::Children, DecodeError> {
        structure_children(self).map(<[Ttlv]>::iter)
    }
    fn decode<T: Codec>(self, ctx: &Ctx) -> Result<T, DecodeError> {
        T::decode(self, ctx)
    }
    fn to_ttlv(self) -> Ttlv {
        self.clone()
    }
    fn children_slice(self, _: impl Fn(Tag) -> bool) -> Cow<'a, [Ttlv]> {
        Cow::Borrowed(self.children())
    }
}

impl<'a> Node<'a> for ItemRef<'a> {
    type Children = binary::Children<'a>;
    fn tag(self) -> Tag {
        ItemRef::tag(&self)
    }
    fn item_type(self) -> ItemType {
        ItemRef::item_type(&self)
    }
    fn structure(self) -> Result<Self::Children, DecodeError> {
        match ItemRef::item_type(&self) {
            ItemType::Structure => Ok(self.children()),
            found => Err(wrong_type_of(
                ItemRef::tag(&self),
                ItemType::Structure,
                found,
            )),
        }
    }
    fn decode<T: Codec>(self, ctx: &Ctx) -> Result<T, DecodeError> {
        T::decode_ref(self, ctx)
    }
    fn to_ttlv(self) -> Ttlv {
        ItemRef::to_ttlv(&self)
    }
    fn children_slice(self, keep: impl Fn(Tag) -> bool) -> Cow<'a, [Ttlv]> {
        Cow::Owned(
            self.children()
                .filter(|c| keep(ItemRef::tag(c)))
                .map(|c| c.to_ttlv())
                .collect(),
        )
    }
}

/// Where a structure's children with one field's tag were found, filled in by a
/// single pass over the children (see [`kmip_struct!`]); the field is decoded from
/// it afterwards, in declaration order, so errors come out in the same order as a
/// scan per field would give them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot<N> {
    first: Option<N>,
    count: usize,
}

impl<'a, N: Node<'a>> Slot<N> {
    /// No child seen.
    pub(crate) const EMPTY: Self = Self {
        first: None,
        count: 0,
    };

    /// Records a child with the field's tag.
    pub(crate) fn see(&mut self, child: N) {
        if self.first.is_none() {
            self.first = Some(child);
        }
        self.count += 1;
    }

    /// The first child seen, if any (for fields that ignore repeats).
    pub(crate) fn first(self) -> Option<N> {
        self.first
    }

    /// An optional field: absent is `None`, repeated is an error.
    pub(crate) fn opt<T: Codec>(self, tag: Tag, ctx: &Ctx) -> Result<Option<T>, DecodeError> {
        match self.first {
            None => Ok(None),
            Some(_) if self.count > 1 => Err(DecodeError::new(DecodeErrorKind::Repeated(tag))),
            Some(item) => item.decode(ctx).map(Some),
        }
    }

    /// A required field: absent is an error, repeated is an error.
    pub(crate) fn one<T: Codec>(self, tag: Tag, ctx: &Ctx) -> Result<T, DecodeError> {
        match self.first {
            None => Err(DecodeError::new(DecodeErrorKind::MissingField(tag))),
            Some(_) if self.count > 1 => Err(DecodeError::new(DecodeErrorKind::Repeated(tag))),
            Some(item) => item.decode(ctx),
        }
    }

    /// A repeated field: every child with `tag` among `siblings`, in order.
    pub(crate) fn many<T: Codec>(
        self,
        siblings: N::Children,
        tag: Tag,
        ctx: &Ctx,
    ) -> Result<Vec<T>, DecodeError> {
        if self.count == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(self.count);
        for c in siblings.filter(|c| c.tag() == tag) {
            out.push(c.decode(ctx)?);
        }
        Ok(out)
    }
}

/// True when no tag appears in two of `fields` (one field's own list may repeat a
/// tag). Checked at compile time for every `kmip_struct!`: the single pass hands each
/// child to one field only, which matches the declaration only if the fields' tags
/// are disjoint.
pub(crate) const fn disjoint(fields: &[&[Tag]]) -> bool {
    let mut i = 0;
    while i < fields.len() {
        let mut j = i + 1;
        while j < fields.len() {
            let (a, b) = (fields[i], fields[j]);
            let mut x = 0;
            while x < a.len() {
                let mut y = 0;
                while y < b.len() {
                    if a[x].0 == b[y].0 {
                        return false;
                    }
                    y += 1;
                }
                x += 1;
            }
            j += 1;
        }
        i += 1;
    }
    true
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
            /// Reads the value straight from the input: a string is copied once.
            fn decode_ref(item: ItemRef<'_>, _: &Ctx) -> Result<Self, DecodeError> {
                let wrong = || wrong_type_of(item.tag(), ItemType::$it, item.item_type());
                if item.item_type() != ItemType::$it {
                    return Err(wrong());
                }
                match item.to_value() {
                    Value::$variant(v) => Ok(v),
                    _ => Err(wrong()),
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
    fn decode_ref(item: ItemRef<'_>, _: &Ctx) -> Result<Self, DecodeError> {
        match item.item_type() {
            ItemType::BigInteger => Ok(Self(item.value_bytes().to_vec())),
            found => Err(wrong_type_of(item.tag(), ItemType::BigInteger, found)),
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
    fn decode_ref(item: ItemRef<'_>, _: &Ctx) -> Result<Self, DecodeError> {
        Ok(item.to_ttlv())
    }
    fn encode(&self, tag: Tag, _: &Ctx) -> Ttlv {
        Ttlv::new(tag, self.value.clone())
    }
}

/// A boxed field: large, rarely present structures are boxed so that the payloads
/// holding them stay small to move.
impl<T: Codec> Codec for Box<T> {
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        T::decode(item, ctx).map(Box::new)
    }
    fn decode_ref(item: ItemRef<'_>, ctx: &Ctx) -> Result<Self, DecodeError> {
        T::decode_ref(item, ctx).map(Box::new)
    }
    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        T::encode(self, tag, ctx)
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
///
/// Decoding makes one pass over the children, handing each to the field its tag
/// names (a `match` on the tag) or to `extensions`, then decodes the fields in
/// declaration order: a repeated single field is `Repeated`, a missing required one
/// `MissingField`, exactly as a scan per field would report them. The fields' tags
/// must be disjoint; a compile-time assertion checks it.
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

        const _: () = {
            let fields: &[&[$crate::ttlv::Tag]] = &[ $( $crate::messages::codec::kmip_struct!(@tags $kind $($tag),*) ),* ];
            assert!(
                $crate::messages::codec::disjoint(fields),
                concat!("two fields of ", stringify!($name), " share a tag"),
            );
        };

        impl $name {
            /// Decodes the structure from a tree or a binary item and hands it to
            /// `wrap`, so that a caller wrapping it (in a payload enum) gets it built
            /// in place rather than copied out of a `Result`.
            #[allow(unused_variables, unused_mut, clippy::redundant_clone)]
            pub(crate) fn decode_node_with<'a, N: $crate::messages::codec::Node<'a>, R>(
                item: N,
                ctx: &$crate::messages::codec::Ctx,
                wrap: impl FnOnce(Self) -> R,
            ) -> Result<R, $crate::error::DecodeError> {
                #[allow(unused_imports)]
                use $crate::messages::codec::*;
                let children = item.structure()?;
                $( let mut $field = Slot::<N>::EMPTY; )*
                let mut extensions = Vec::new();
                for c in children.clone() {
                    #[allow(unreachable_patterns)]
                    match c.tag() {
                        $( $crate::messages::codec::kmip_struct!(@pat $kind $($tag),*) => $crate::messages::codec::kmip_struct!(@see $kind $field c), )*
                        _ => extensions.push(c.to_ttlv()),
                    }
                }
                Ok(wrap(Self {
                    $( $field: $crate::messages::codec::kmip_struct!(@decode $kind item children $field ctx $($tag),*)?, )*
                    extensions,
                }))
            }
        }

        impl $crate::messages::codec::Codec for $name {
            fn decode(item: &$crate::ttlv::Ttlv, ctx: &$crate::messages::codec::Ctx)
                -> Result<Self, $crate::error::DecodeError>
            {
                Self::decode_node_with(item, ctx, |s| s)
            }

            fn decode_ref(item: $crate::ttlv::binary::ItemRef<'_>, ctx: &$crate::messages::codec::Ctx)
                -> Result<Self, $crate::error::DecodeError>
            {
                Self::decode_node_with(item, ctx, |s| s)
            }

            fn encode(&self, tag: $crate::ttlv::Tag, ctx: &$crate::messages::codec::Ctx) -> $crate::ttlv::Ttlv {
                #[allow(unused_imports)]
                use $crate::messages::codec::*;
                let _ = ctx;
                #[allow(unused_mut)]
                let mut out: Vec<$crate::ttlv::Ttlv> = Vec::new();
                $( $crate::messages::codec::kmip_struct!(@encode $kind self.$field, ctx, out, $($tag),*); )*
                out.extend(self.extensions.iter().cloned());
                $crate::ttlv::Ttlv::structure(tag, out)
            }
        }
    };
    (@tags object) => { $crate::messages::objects::ManagedObject::OBJECT_TAGS };
    (@tags object_opt) => { $crate::messages::objects::ManagedObject::OBJECT_TAGS };
    (@tags $kind:ident $($tag:ident),+) => { &[ $( $crate::ttlv::Tag::$tag ),+ ] };
    (@pat object) => { $crate::messages::codec::object_tag!() };
    (@pat object_opt) => { $crate::messages::codec::object_tag!() };
    (@pat $kind:ident $($tag:ident),+) => { $( $crate::ttlv::Tag::$tag )|+ };
    // Fields decoded from one child record where it is; the others (attribute sets,
    // objects) look among the siblings themselves when decoded.
    (@see one $f:ident $c:ident) => { $f.see($c) };
    (@see opt $f:ident $c:ident) => { $f.see($c) };
    (@see many $f:ident $c:ident) => { $f.see($c) };
    (@see $kind:ident $f:ident $c:ident) => { () };
    (@decode object $item:ident $c:ident $f:ident $ctx:ident) => {
        $crate::messages::objects::ManagedObject::decode_among($c.clone(), $ctx).and_then(|o| o.ok_or_else(|| {
            $crate::error::DecodeError::new($crate::error::DecodeErrorKind::MissingField($crate::ttlv::Tag::OBJECT_TYPE))
        }))
    };
    (@decode object_opt $item:ident $c:ident $f:ident $ctx:ident) => {
        $crate::messages::objects::ManagedObject::decode_among($c.clone(), $ctx)
    };
    (@decode single $item:ident $c:ident $f:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::SingleAttribute::decode_field(
            &$crate::messages::codec::kmip_struct!(@slice $item $v2, $v1), $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx,
        )
        .and_then(|o| o.ok_or_else(|| {
            $crate::error::DecodeError::new($crate::error::DecodeErrorKind::MissingField($crate::ttlv::Tag::$v2))
        }))
    };
    (@decode single_opt $item:ident $c:ident $f:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::SingleAttribute::decode_field(
            &$crate::messages::codec::kmip_struct!(@slice $item $v2, $v1), $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx,
        )
    };
    (@decode v1attr $item:ident $c:ident $f:ident $ctx:ident $v1:ident) => {
        $crate::messages::attributes::SingleAttribute::decode_v1_field(
            &$crate::messages::codec::kmip_struct!(@slice $item $v1, $v1), $crate::ttlv::Tag::$v1, $ctx,
        )
    };
    (@decode refs $item:ident $c:ident $f:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::AttributeReferences::decode_field(
            &$crate::messages::codec::kmip_struct!(@slice $item $v2, $v1), $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx,
        )
    };
    (@decode ref_opt $item:ident $c:ident $f:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::AttributeReferences::decode_field(
            &$crate::messages::codec::kmip_struct!(@slice $item $v2, $v1), $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx,
        )
        .and_then(|r| match r.0.len() {
            0 => Ok(None),
            1 => Ok(r.0.into_iter().next()),
            _ => Err($crate::error::DecodeError::new($crate::error::DecodeErrorKind::Repeated($crate::ttlv::Tag::$v2))),
        })
    };
    (@decode one $item:ident $c:ident $f:ident $ctx:ident $tag:ident) => { $f.one($crate::ttlv::Tag::$tag, $ctx) };
    (@decode opt $item:ident $c:ident $f:ident $ctx:ident $tag:ident) => { $f.opt($crate::ttlv::Tag::$tag, $ctx) };
    (@decode many $item:ident $c:ident $f:ident $ctx:ident $tag:ident) => {
        $f.many($c.clone(), $crate::ttlv::Tag::$tag, $ctx)
    };
    (@decode attrs $item:ident $c:ident $f:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::Attributes::decode_field(
            &$crate::messages::codec::kmip_struct!(@slice $item $v2, $v1), $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx,
        )
    };
    (@decode attrs_opt $item:ident $c:ident $f:ident $ctx:ident $v2:ident, $v1:ident) => {
        $crate::messages::attributes::Attributes::decode_field_opt(
            &$crate::messages::codec::kmip_struct!(@slice $item $v2, $v1), $crate::ttlv::Tag::$v2, $crate::ttlv::Tag::$v1, $ctx,
        )
    };
    // The siblings an attribute decoder looks at: those with its two tags.
    (@slice $item:ident $v2:ident, $v1:ident) => {
        $item.children_slice(|t| t == $crate::ttlv::Tag::$v2 || t == $crate::ttlv::Tag::$v1)
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

/// The tags a managed object travels under, as a pattern: the same list as
/// `ManagedObject::OBJECT_TAGS` (a unit test in `objects` checks they agree).
macro_rules! object_tag {
    () => {
        $crate::ttlv::Tag::CERTIFICATE
            | $crate::ttlv::Tag::SYMMETRIC_KEY
            | $crate::ttlv::Tag::PUBLIC_KEY
            | $crate::ttlv::Tag::PRIVATE_KEY
            | $crate::ttlv::Tag::SPLIT_KEY
            | $crate::ttlv::Tag::TEMPLATE
            | $crate::ttlv::Tag::SECRET_DATA
            | $crate::ttlv::Tag::OPAQUE_OBJECT
            | $crate::ttlv::Tag::PGP_KEY
            | $crate::ttlv::Tag::CERTIFICATE_REQUEST
    };
}
pub(crate) use object_tag;
