//! Attributes, one internal model for every version.
//!
//! KMIP 2.x carries attributes as an `Attributes` structure whose children are the
//! attributes under their own tags, with vendor attributes as
//! `Attribute(VendorIdentification, AttributeName, AttributeValue)` (2.1 §2.1.2).
//! KMIP 1.x carries them as `TemplateAttribute(Name*, Attribute*)` with each
//! `Attribute(AttributeName, AttributeIndex?, AttributeValue)` named by text
//! (1.4 §2.1.1, §2.1.8), and custom attributes named `x-…`/`y-…`.
//!
//! Internally every attribute is [`Attribute`]: a standard attribute keeps its 2.x
//! tag and value; a vendor attribute keeps (vendor, name, value). A 1.x custom name
//! `x-ID` is vendor `x`, name `ID`, exactly how the OASIS AX vectors map the same
//! attribute between the 1.4 and 2.1 test cases.

use super::codec::{structure_children, Codec, Ctx};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::ttlv::{Tag, Ttlv, Value};
use crate::types::{CryptographicAlgorithm, NameType, ObjectType, State};
use crate::version::ProtocolVersion;

/// One attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// A standard attribute under its own tag (2.x shape); `value` is what the
    /// attribute's tag carries (a primitive, or a structure such as Name or Link).
    Standard(Ttlv),
    /// A vendor or custom attribute.
    Vendor {
        /// Vendor Identification (`x` and `y` for 1.x custom `x-`/`y-` names).
        vendor: String,
        /// Attribute Name within the vendor's namespace.
        name: String,
        /// Attribute Value.
        value: Value,
    },
}

/// A reference to an attribute by name (2.x Attribute Reference, 1.x Attribute Name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeReference {
    /// A standard attribute, by tag.
    Standard(Tag),
    /// A vendor attribute.
    Vendor {
        /// Vendor Identification.
        vendor: String,
        /// Attribute Name.
        name: String,
    },
}

/// An ordered set of attributes (several instances of one attribute may appear).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attributes {
    /// The attributes, in the order received.
    pub items: Vec<Attribute>,
    /// KMIP 1.x template names inside a `TemplateAttribute` (Templates were removed
    /// in 2.0; kept so that a 1.x request survives a round trip and the server can
    /// refuse them explicitly).
    pub template_names: Vec<Ttlv>,
}

impl Attribute {
    /// A standard attribute.
    pub fn standard(tag: Tag, value: Value) -> Self {
        Self::Standard(Ttlv::new(tag, value))
    }

    /// A Name attribute: `value` as an Uninterpreted Text String.
    pub fn name(value: &str) -> Self {
        Self::Standard(Ttlv::structure(
            Tag::NAME,
            vec![
                Ttlv::new(Tag::NAME_VALUE, Value::TextString(value.to_owned())),
                Ttlv::new(
                    Tag::NAME_TYPE,
                    Value::Enumeration(NameType::UninterpretedTextString.value()),
                ),
            ],
        ))
    }

    /// The attribute's reference (its name).
    pub fn reference(&self) -> AttributeReference {
        match self {
            Self::Standard(t) => AttributeReference::Standard(t.tag),
            Self::Vendor { vendor, name, .. } => AttributeReference::Vendor {
                vendor: vendor.clone(),
                name: name.clone(),
            },
        }
    }

    /// The attribute's value.
    pub fn value(&self) -> &Value {
        match self {
            Self::Standard(t) => &t.value,
            Self::Vendor { value, .. } => value,
        }
    }

    /// Decodes a 2.x attribute: a child of `Attributes` (or the content of
    /// `NewAttribute`/`CurrentAttribute`).
    pub fn decode_v2(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        if item.tag == Tag::ATTRIBUTE {
            let c = structure_children(item)?;
            if c.iter().any(|x| x.tag == Tag::VENDOR_IDENTIFICATION) {
                let vendor: String = super::codec::field_one(c, Tag::VENDOR_IDENTIFICATION, ctx)?;
                let name: String = super::codec::field_one(c, Tag::ATTRIBUTE_NAME, ctx)?;
                let value = attribute_value(c)?;
                return Ok(Self::Vendor {
                    vendor,
                    name,
                    value,
                });
            }
            // A 1.x-shaped attribute inside a 2.x message: accept it.
            return Self::decode_v1(item, ctx);
        }
        Ok(Self::Standard(item.clone()))
    }

    /// Encodes the 2.x shape.
    pub fn encode_v2(&self) -> Ttlv {
        match self {
            Self::Standard(t) => t.clone(),
            Self::Vendor {
                vendor,
                name,
                value,
            } => Ttlv::structure(
                Tag::ATTRIBUTE,
                vec![
                    Ttlv::new(
                        Tag::VENDOR_IDENTIFICATION,
                        Value::TextString(vendor.clone()),
                    ),
                    Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(name.clone())),
                    Ttlv::new(Tag::ATTRIBUTE_VALUE, value.clone()),
                ],
            ),
        }
    }

    /// Decodes a 1.x `Attribute(AttributeName, AttributeIndex?, AttributeValue)`.
    /// The index is not kept: 2.x has none, and order carries it.
    pub fn decode_v1(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        let c = structure_children(item)?;
        let name: String = super::codec::field_one(c, Tag::ATTRIBUTE_NAME, ctx)?;
        let value = attribute_value(c)?;
        Ok(match AttributeReference::from_v1_name(&name)? {
            AttributeReference::Standard(tag) => Self::Standard(Ttlv::new(tag, value)),
            AttributeReference::Vendor { vendor, name } => Self::Vendor {
                vendor,
                name,
                value,
            },
        })
    }

    /// Encodes the 1.x shape, or `None` when `version` does not define the attribute
    /// (the version gate: a 1.0 client never sees a 1.1+ attribute).
    pub fn encode_v1(&self, version: ProtocolVersion) -> Option<Ttlv> {
        let name = self.reference().v1_name(version)?;
        Some(Ttlv::structure(
            Tag::ATTRIBUTE,
            vec![
                Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(name)),
                Ttlv::new(Tag::ATTRIBUTE_VALUE, self.value().clone()),
            ],
        ))
    }
}

fn attribute_value(c: &[Ttlv]) -> Result<Value, DecodeError> {
    c.iter()
        .find(|x| x.tag == Tag::ATTRIBUTE_VALUE)
        .map(|x| x.value.clone())
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::MissingField(Tag::ATTRIBUTE_VALUE)))
}

impl AttributeReference {
    /// Parses a 1.x Attribute Name: a standard name (`Cryptographic Algorithm`) or a
    /// custom one (`x-ID`, `y-Foo`, `Vendor-Name`). A name that is neither is an
    /// error, not an empty match: clients that misspell standard names (seen with
    /// ScyllaDB) must hear about it.
    pub fn from_v1_name(name: &str) -> Result<Self, DecodeError> {
        if let Some(tag) = Tag::from_spec_name(name) {
            return Ok(Self::Standard(tag));
        }
        match name.split_once('-') {
            Some((vendor, rest))
                if !vendor.is_empty() && !rest.is_empty() && !vendor.contains(' ') =>
            {
                Ok(Self::Vendor {
                    vendor: vendor.to_owned(),
                    name: rest.to_owned(),
                })
            }
            _ => Err(DecodeError::new(DecodeErrorKind::UnknownAttributeName(
                name.to_owned(),
            ))),
        }
    }

    /// The 1.x Attribute Name, or `None` when `version` lacks the attribute.
    pub fn v1_name(&self, version: ProtocolVersion) -> Option<String> {
        match self {
            Self::Standard(tag) => {
                let info = tag.info()?;
                version
                    .has(info.since, info.until)
                    .then(|| info.spec_name.to_owned())
            }
            Self::Vendor { vendor, name } => Some(format!("{vendor}-{name}")),
        }
    }
}

impl Codec for AttributeReference {
    /// 2.x: an Enumeration whose value is the attribute's tag, or a structure
    /// (VendorIdentification, AttributeName). 1.x: an `AttributeName` text.
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        match &item.value {
            Value::Enumeration(v) => Ok(Self::Standard(Tag(*v))),
            Value::TextString(s) => Self::from_v1_name(s),
            Value::Structure(c) => Ok(Self::Vendor {
                vendor: super::codec::field_one(c, Tag::VENDOR_IDENTIFICATION, ctx)?,
                name: super::codec::field_one(c, Tag::ATTRIBUTE_NAME, ctx)?,
            }),
            _ => Err(super::codec::wrong_type(
                item,
                crate::ttlv::ItemType::Enumeration,
            )),
        }
    }

    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        if tag == Tag::ATTRIBUTE_NAME {
            let name = self.v1_name(ctx.version).unwrap_or_default();
            return Ttlv::new(tag, Value::TextString(name));
        }
        match self {
            Self::Standard(t) => Ttlv::new(tag, Value::Enumeration(t.0)),
            Self::Vendor { vendor, name } => Ttlv::structure(
                tag,
                vec![
                    Ttlv::new(
                        Tag::VENDOR_IDENTIFICATION,
                        Value::TextString(vendor.clone()),
                    ),
                    Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(name.clone())),
                ],
            ),
        }
    }
}

/// A list of attribute references: 2.x `AttributeReference*`, 1.x `AttributeName*`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttributeReferences(pub Vec<AttributeReference>);

impl AttributeReferences {
    pub(crate) fn decode_field(
        children: &[Ttlv],
        v2: Tag,
        v1: Tag,
        ctx: &Ctx,
    ) -> Result<Self, DecodeError> {
        children
            .iter()
            .filter(|c| c.tag == v2 || c.tag == v1)
            .map(|c| AttributeReference::decode(c, ctx))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub(crate) fn encode_field_as(&self, v2: Tag, v1: Tag, ctx: &Ctx, out: &mut Vec<Ttlv>) {
        if ctx.version.is_v1() {
            out.extend(
                self.0
                    .iter()
                    .filter(|r| r.v1_name(ctx.version).is_some())
                    .map(|r| r.encode(v1, ctx)),
            );
        } else {
            out.extend(self.0.iter().map(|r| r.encode(v2, ctx)));
        }
    }
}

/// A single attribute field: 2.x `NewAttribute`/`CurrentAttribute` wrapping one
/// attribute, 1.x a bare `Attribute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleAttribute(pub Attribute);

impl SingleAttribute {
    pub(crate) fn decode_field(
        children: &[Ttlv],
        v2: Tag,
        v1: Tag,
        ctx: &Ctx,
    ) -> Result<Option<Self>, DecodeError> {
        if let Some(w) = children.iter().find(|c| c.tag == v2) {
            let inner = structure_children(w)?;
            let [one] = inner else {
                return Err(DecodeError::new(DecodeErrorKind::InvalidValue {
                    tag: v2,
                    reason: "must hold exactly one attribute",
                }));
            };
            return Attribute::decode_v2(one, ctx).map(|a| Some(Self(a)));
        }
        match children.iter().find(|c| c.tag == v1) {
            Some(a) => Attribute::decode_v1(a, ctx).map(|a| Some(Self(a))),
            None => Ok(None),
        }
    }

    /// Decodes a bare 1.x `Attribute` child, if present.
    pub(crate) fn decode_v1_field(
        children: &[Ttlv],
        v1: Tag,
        ctx: &Ctx,
    ) -> Result<Option<Self>, DecodeError> {
        match children.iter().find(|c| c.tag == v1) {
            Some(a) => Attribute::decode_v1(a, ctx).map(|a| Some(Self(a))),
            None => Ok(None),
        }
    }

    pub(crate) fn encode_field_as(&self, v2: Tag, _v1: Tag, ctx: &Ctx, out: &mut Vec<Ttlv>) {
        if ctx.version.is_v1() {
            out.extend(self.0.encode_v1(ctx.version));
        } else {
            out.push(Ttlv::structure(v2, vec![self.0.encode_v2()]));
        }
    }
}

impl Attributes {
    /// An attribute set from a list.
    pub fn new(items: Vec<Attribute>) -> Self {
        Self {
            items,
            template_names: Vec::new(),
        }
    }

    /// Decodes an attribute-set field: the 2.x structure `v2` (e.g. `Attributes`,
    /// `CommonAttributes`) or the 1.x form `v1` (`TemplateAttribute`-like structure,
    /// or repeated bare `Attribute` children when `v1` is `Attribute`). Both forms are
    /// accepted whatever the header version says; absent means empty.
    pub(crate) fn decode_field(
        children: &[Ttlv],
        v2: Tag,
        v1: Tag,
        ctx: &Ctx,
    ) -> Result<Self, DecodeError> {
        Ok(Self::decode_field_opt(children, v2, v1, ctx)?.unwrap_or_default())
    }

    /// As [`Self::decode_field`], distinguishing absent from empty.
    pub(crate) fn decode_field_opt(
        children: &[Ttlv],
        v2: Tag,
        v1: Tag,
        ctx: &Ctx,
    ) -> Result<Option<Self>, DecodeError> {
        if let Some(s) = children.iter().find(|c| c.tag == v2) {
            let items = structure_children(s)?
                .iter()
                .map(|a| Attribute::decode_v2(a, ctx))
                .collect::<Result<_, _>>()?;
            return Ok(Some(Self::new(items)));
        }
        if v1 == Tag::ATTRIBUTE {
            let found: Vec<_> = children
                .iter()
                .filter(|c| c.tag == Tag::ATTRIBUTE)
                .collect();
            if found.is_empty() {
                return Ok(None);
            }
            let items = found
                .into_iter()
                .map(|a| Attribute::decode_v1(a, ctx))
                .collect::<Result<_, _>>()?;
            return Ok(Some(Self::new(items)));
        }
        let Some(t) = children.iter().find(|c| c.tag == v1) else {
            return Ok(None);
        };
        let mut out = Self::default();
        for c in structure_children(t)? {
            match c.tag {
                Tag::ATTRIBUTE => out.items.push(Attribute::decode_v1(c, ctx)?),
                Tag::NAME => out.template_names.push(c.clone()),
                _ => out.items.push(Attribute::decode_v2(c, ctx)?),
            }
        }
        Ok(Some(out))
    }

    /// Encodes as `v2` for KMIP 2.x or `v1` for 1.x, dropping attributes the target
    /// version does not define.
    pub(crate) fn encode_field_as(&self, v2: Tag, v1: Tag, ctx: &Ctx, out: &mut Vec<Ttlv>) {
        if ctx.version.is_v1() {
            let attrs = self.items.iter().filter_map(|a| a.encode_v1(ctx.version));
            if v1 == Tag::ATTRIBUTE {
                out.extend(attrs);
            } else {
                let mut c = self.template_names.clone();
                c.extend(attrs);
                out.push(Ttlv::structure(v1, c));
            }
        } else {
            out.push(Ttlv::structure(
                v2,
                self.items.iter().map(Attribute::encode_v2).collect(),
            ));
        }
    }

    /// The 2.x `Attributes` structure (the storage form of an attribute set).
    pub fn to_ttlv(&self) -> Ttlv {
        Ttlv::structure(
            Tag::ATTRIBUTES,
            self.items.iter().map(Attribute::encode_v2).collect(),
        )
    }

    /// Decodes a 2.x `Attributes` structure (or a 1.x `TemplateAttribute`).
    pub fn from_ttlv(item: &Ttlv) -> Result<Self, DecodeError> {
        let ctx = Ctx::new(ProtocolVersion::LATEST);
        Self::decode_field(
            std::slice::from_ref(item),
            item.tag,
            Tag::TEMPLATE_ATTRIBUTE,
            &ctx,
        )
    }

    /// Replaces every instance of the standard attribute `tag` with one `value`.
    pub fn set(&mut self, tag: Tag, value: Value) {
        match self
            .items
            .iter()
            .position(|a| matches!(a, Attribute::Standard(t) if t.tag == tag))
        {
            Some(i) => {
                self.items[i] = Attribute::standard(tag, value);
                let mut n = 0;
                self.items.retain(|a| {
                    let same = matches!(a, Attribute::Standard(t) if t.tag == tag);
                    n += usize::from(same);
                    !same || n == 1
                });
            }
            None => self.items.push(Attribute::standard(tag, value)),
        }
    }

    /// Every standard attribute with `tag`.
    pub fn all(&self, tag: Tag) -> impl Iterator<Item = &Ttlv> {
        self.items.iter().filter_map(move |a| match a {
            Attribute::Standard(t) if t.tag == tag => Some(t),
            _ => None,
        })
    }

    /// The first standard attribute with `tag`.
    pub fn get(&self, tag: Tag) -> Option<&Ttlv> {
        self.all(tag).next()
    }

    /// The first vendor attribute `vendor`/`name`.
    pub fn vendor(&self, vendor: &str, name: &str) -> Option<&Value> {
        self.items.iter().find_map(|a| match a {
            Attribute::Vendor {
                vendor: v,
                name: n,
                value,
            } if v == vendor && n == name => Some(value),
            _ => None,
        })
    }

    /// Typed access to one attribute.
    pub fn typed<T: Codec>(&self, tag: Tag) -> Option<Result<T, DecodeError>> {
        self.get(tag)
            .map(|t| T::decode(t, &Ctx::new(ProtocolVersion::LATEST)))
    }

    /// Appends an attribute.
    pub fn push(&mut self, a: Attribute) {
        self.items.push(a);
    }

    /// Removes every instance of a standard attribute; returns how many.
    pub fn remove(&mut self, tag: Tag) -> usize {
        let before = self.items.len();
        self.items
            .retain(|a| !matches!(a, Attribute::Standard(t) if t.tag == tag));
        before - self.items.len()
    }

    /// Cryptographic Algorithm.
    pub fn cryptographic_algorithm(&self) -> Option<CryptographicAlgorithm> {
        self.typed(Tag::CRYPTOGRAPHIC_ALGORITHM)
            .and_then(Result::ok)
    }

    /// Cryptographic Length.
    pub fn cryptographic_length(&self) -> Option<i32> {
        self.typed(Tag::CRYPTOGRAPHIC_LENGTH).and_then(Result::ok)
    }

    /// Cryptographic Usage Mask.
    pub fn cryptographic_usage_mask(&self) -> Option<super::codec::Mask> {
        self.typed(Tag::CRYPTOGRAPHIC_USAGE_MASK)
            .and_then(Result::ok)
    }

    /// Object Type (2.x puts it among the attributes of some requests).
    pub fn object_type(&self) -> Option<ObjectType> {
        self.typed(Tag::OBJECT_TYPE).and_then(Result::ok)
    }

    /// State.
    pub fn state(&self) -> Option<State> {
        self.typed(Tag::STATE).and_then(Result::ok)
    }

    /// Every Name attribute.
    pub fn names(&self) -> Vec<Name> {
        self.all(Tag::NAME)
            .filter_map(|t| Name::decode(t, &Ctx::new(ProtocolVersion::LATEST)).ok())
            .collect()
    }
}

super::codec::kmip_struct! {
    /// Name attribute (KMIP 1.4 §3.2).
    pub struct Name {
        /// Name Value.
        pub value: String = one(NAME_VALUE),
        /// Name Type.
        pub name_type: NameType = one(NAME_TYPE),
    }
}
