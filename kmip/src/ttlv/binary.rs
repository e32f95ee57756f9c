//! Binary TTLV (KMIP 1.4 §9.1): 3-byte tag, 1-byte type, 4-byte big-endian length,
//! value padded to a multiple of 8 bytes.
//!
//! Decoding works over a bounded cursor (rustls `Codec::read` style): every length is
//! checked against the bytes actually remaining and against [`Limits`] before anything
//! is allocated, nesting and item counts are capped, and trailing bytes are refused.
//! Non-zero padding is tolerated when decoding (some clients leave garbage there);
//! encoding always writes zeros.

use super::{ItemType, Limits, Tag, Ttlv, Value};
use crate::error::{DecodeError, DecodeErrorKind};

/// Size of a TTLV item header.
pub const HEADER_LEN: usize = 8;

/// Decodes exactly one top-level item from `input`; trailing bytes are an error.
pub fn decode(input: &[u8], limits: &Limits) -> Result<Ttlv, DecodeError> {
    run::<Tree>(input, limits)
}

/// Checks `input` exactly as [`decode`] does (the same limits, the same errors at the
/// same offsets) and returns a borrowed view of its one top-level item, without
/// building a tree. The typed layer reads messages through this view
/// ([`crate::messages::codec::Codec::decode_ref`]), so it allocates only what the
/// typed values keep.
pub fn validate<'a>(input: &'a [u8], limits: &Limits) -> Result<ItemRef<'a>, DecodeError> {
    run::<Check>(input, limits)?;
    // The checks passed, so the header parses.
    ItemRef::parse(input)
        .map(|(item, _)| item)
        .ok_or_else(|| DecodeError::at(DecodeErrorKind::Truncated { needed: HEADER_LEN }, 0))
}

/// One decoding pass over a whole message: size, the one top-level item, no
/// trailing bytes.
fn run<B: Build>(input: &[u8], limits: &Limits) -> Result<B::Item, DecodeError> {
    if input.len() > limits.max_message_size {
        return Err(DecodeError::at(
            DecodeErrorKind::TooLarge {
                length: input.len() as u64,
                limit: limits.max_message_size,
            },
            0,
        ));
    }
    let mut d = Decoder {
        input,
        pos: 0,
        items: 0,
        limits,
    };
    let top = d.item::<B>(0, input.len())?;
    if d.pos != input.len() {
        return Err(DecodeError::at(
            DecodeErrorKind::TrailingBytes(input.len() - d.pos),
            d.pos,
        ));
    }
    Ok(top)
}

/// A borrowed view of one binary TTLV item that [`validate`] has checked: its
/// children can be walked and its values read without further checks, and it can
/// be turned into an owned [`Ttlv`]. `Debug` shows the tag, type and length, never
/// the value (it may be key material).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ItemRef<'a> {
    tag: Tag,
    item_type: ItemType,
    /// The value bytes, padding excluded (a structure's: its children's encoding).
    value: &'a [u8],
}

impl<'a> ItemRef<'a> {
    /// The item's tag.
    pub const fn tag(&self) -> Tag {
        self.tag
    }

    /// The item's type.
    pub const fn item_type(&self) -> ItemType {
        self.item_type
    }

    /// The children of a structure, in wire order (none for a primitive).
    pub fn children(&self) -> Children<'a> {
        Children {
            rest: match self.item_type {
                ItemType::Structure => self.value,
                _ => &[],
            },
        }
    }

    /// The owned tree of this item.
    #[inline(always)]
    pub fn to_ttlv(&self) -> Ttlv {
        Ttlv::new(self.tag, self.to_value())
    }

    /// The owned value of this item.
    #[inline(always)]
    pub fn to_value(&self) -> Value {
        match self.item_type {
            ItemType::Structure => Value::Structure(self.children_trees()),
            ItemType::Integer => Value::Integer(i32::from_be_bytes(self.fixed())),
            ItemType::Enumeration => Value::Enumeration(u32::from_be_bytes(self.fixed())),
            ItemType::Interval => Value::Interval(u32::from_be_bytes(self.fixed())),
            ItemType::LongInteger => Value::LongInteger(i64::from_be_bytes(self.fixed())),
            ItemType::DateTime => Value::DateTime(i64::from_be_bytes(self.fixed())),
            ItemType::DateTimeExtended => Value::DateTimeExtended(i64::from_be_bytes(self.fixed())),
            ItemType::Boolean => Value::Boolean(u64::from_be_bytes(self.fixed()) == 1),
            ItemType::TextString => Value::TextString(match std::str::from_utf8(self.value) {
                Ok(s) => s.to_owned(),
                // Not reached: the input was validated as UTF-8.
                Err(_) => String::from_utf8_lossy(self.value).into_owned(),
            }),
            ItemType::ByteString => Value::ByteString(self.value.to_vec()),
            ItemType::BigInteger => Value::BigInteger(self.value.to_vec()),
        }
    }

    /// The trees of a structure's children.
    ///
    /// Collected from a counted range (an iterator of known length), so each tree is
    /// written straight into the vector (see [`Tree::children`]).
    fn children_trees(&self) -> Vec<Ttlv> {
        let mut children = self.children();
        (0..self.children().count())
            .map(|_| match children.next() {
                Some(c) => c.to_ttlv(),
                // Not reached: the count comes from the same walk.
                None => Ttlv::new(self.tag, Value::Structure(Vec::new())),
            })
            .collect()
    }

    /// The value bytes, padding excluded.
    pub(crate) const fn value_bytes(&self) -> &'a [u8] {
        self.value
    }

    /// A fixed-size value's bytes (the validator checked the length).
    fn fixed<const N: usize>(&self) -> [u8; N] {
        self.value.first_chunk::<N>().copied().unwrap_or([0; N])
    }

    /// Parses the item at the start of `bytes` (already validated); returns it and
    /// the bytes it spans, padding included.
    fn parse(bytes: &'a [u8]) -> Option<(Self, usize)> {
        let h = bytes.first_chunk::<HEADER_LEN>()?;
        let item_type = ItemType::from_byte(h[3]).ok()?;
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let size = HEADER_LEN.checked_add(len.checked_next_multiple_of(8)?)?;
        let value = bytes.get(HEADER_LEN..HEADER_LEN.checked_add(len)?)?;
        let item = Self {
            tag: Tag(u32::from_be_bytes([0, h[0], h[1], h[2]])),
            item_type,
            value,
        };
        Some((item, size.min(bytes.len())))
    }
}

impl std::fmt::Debug for ItemRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemRef")
            .field("tag", &self.tag)
            .field("item_type", &self.item_type)
            .field("len", &self.value.len())
            .finish()
    }
}

/// The children of an [`ItemRef`] structure, in wire order.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Children<'a> {
    type Item = ItemRef<'a>;

    fn next(&mut self) -> Option<ItemRef<'a>> {
        let (item, size) = ItemRef::parse(self.rest)?;
        self.rest = &self.rest[size..];
        Some(item)
    }
}

/// Reads the total frame length (header + body) announced by the first 8 bytes of a
/// message, so a reader knows how much to buffer. The announced length is checked
/// against `limits.max_message_size` here, before the caller reserves any memory,
/// and the top-level item must be a Structure.
pub fn frame_len(header: &[u8; HEADER_LEN], limits: &Limits) -> Result<usize, DecodeError> {
    let item_type = ItemType::from_byte(header[3]).map_err(|k| DecodeError::at(k, 3))?;
    if item_type != ItemType::Structure {
        return Err(DecodeError::at(
            DecodeErrorKind::WrongType {
                tag: Tag(u32::from_be_bytes([0, header[0], header[1], header[2]])),
                expected: ItemType::Structure,
                found: item_type,
            },
            3,
        ));
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let total = HEADER_LEN + len;
    if total > limits.max_message_size {
        return Err(DecodeError::at(
            DecodeErrorKind::TooLarge {
                length: total as u64,
                limit: limits.max_message_size,
            },
            4,
        ));
    }
    Ok(total)
}

/// Encodes `item` as binary TTLV.
pub fn encode(item: &Ttlv) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(item));
    encode_into(item, &mut out);
    out
}

/// Appends the binary TTLV encoding of `item` to `out`.
pub fn encode_into(item: &Ttlv, out: &mut Vec<u8>) {
    let tag = item.tag.0.to_be_bytes();
    out.extend_from_slice(&tag[1..]);
    out.push(item.item_type() as u8);
    match &item.value {
        Value::Structure(children) => {
            let len_at = out.len();
            out.extend_from_slice(&[0; 4]);
            let start = out.len();
            for c in children {
                encode_into(c, out);
            }
            let len = wire_u32(out.len() - start);
            out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        }
        Value::Integer(v) => fixed(out, &v.to_be_bytes()),
        Value::Enumeration(v) => fixed(out, &v.to_be_bytes()),
        Value::Interval(v) => fixed(out, &v.to_be_bytes()),
        Value::LongInteger(v) | Value::DateTime(v) | Value::DateTimeExtended(v) => {
            fixed(out, &v.to_be_bytes())
        }
        Value::Boolean(b) => fixed(out, &u64::from(*b).to_be_bytes()),
        Value::TextString(s) => padded(out, s.as_bytes()),
        Value::ByteString(b) => padded(out, b),
        Value::BigInteger(b) => {
            let ext = sign_extend_to_8(b);
            padded(out, &ext);
        }
    }
}

/// Length of the binary encoding of `item`, padding included.
pub fn encoded_len(item: &Ttlv) -> usize {
    HEADER_LEN
        + match &item.value {
            Value::Structure(children) => children.iter().map(encoded_len).sum(),
            Value::TextString(s) => pad8(s.len()),
            Value::ByteString(b) => pad8(b.len()),
            Value::BigInteger(b) => pad8(b.len().max(1)),
            _ => 8,
        }
}

/// A BigInteger's bytes sign-extended to a non-zero multiple of 8 (KMIP 1.4 §9.1.1.4).
fn sign_extend_to_8(b: &[u8]) -> Vec<u8> {
    let target = pad8(b.len().max(1));
    let fill = if b.first().is_some_and(|x| x & 0x80 != 0) {
        0xFF
    } else {
        0x00
    };
    let mut v = vec![fill; target - b.len()];
    v.extend_from_slice(b);
    v
}

const fn pad8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

fn wire_u32(n: usize) -> u32 {
    // Encoded messages are built from in-memory values far below 4 GiB; a larger one
    // is a programming error, not a wire condition.
    u32::try_from(n).expect("TTLV item longer than 4 GiB")
}

fn fixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&wire_u32(bytes.len()).to_be_bytes());
    out.extend_from_slice(bytes);
    out.resize(out.len() + (pad8(bytes.len()) - bytes.len()), 0);
}

fn padded(out: &mut Vec<u8>, bytes: &[u8]) {
    fixed(out, bytes);
}

/// What a decoding pass produces. The checks are the same code for both, so
/// [`decode`] and [`validate`] cannot disagree on what they accept.
trait Build {
    type Item;
    type List;
    /// How many children to decode through [`Build::children`]; the rest go
    /// through [`Build::push`].
    fn count(d: &Decoder<'_>, pos: usize, end: usize) -> usize;
    /// Decodes `count` children with `next`, stopping at the first error.
    fn children(
        count: usize,
        next: impl FnMut() -> Result<Self::Item, DecodeError>,
    ) -> Result<Self::List, DecodeError>;
    fn push(list: &mut Self::List, item: Self::Item);
    fn structure(tag: Tag, children: Self::List) -> Self::Item;
    fn value(tag: Tag, value: impl FnOnce() -> Value) -> Self::Item;
}

/// Builds the [`Ttlv`] tree.
struct Tree;

impl Build for Tree {
    type Item = Ttlv;
    type List = Vec<Ttlv>;

    /// All of them, counted ahead: the vector is allocated once, at its size.
    fn count(d: &Decoder<'_>, pos: usize, end: usize) -> usize {
        d.count_children(pos, end)
    }

    /// Collected from a counted range (an iterator of known length), so each item
    /// is written straight into the vector: pushing one built in a temporary costs
    /// a store-forwarding stall per item (the copy reads back the tag's padding),
    /// about a third of the time of building a tree.
    fn children(
        count: usize,
        mut next: impl FnMut() -> Result<Ttlv, DecodeError>,
    ) -> Result<Vec<Ttlv>, DecodeError> {
        let mut error = None;
        let children = (0..count)
            .map(|_| match error {
                // After an error the rest is not decoded; the vector is dropped.
                Some(_) => Ttlv::new(Tag(0), Value::Boolean(false)),
                None => next().unwrap_or_else(|e| {
                    error = Some(e);
                    Ttlv::new(Tag(0), Value::Boolean(false))
                }),
            })
            .collect();
        match error {
            Some(e) => Err(e),
            None => Ok(children),
        }
    }

    fn push(list: &mut Vec<Ttlv>, item: Ttlv) {
        list.push(item);
    }

    #[inline(always)]
    fn structure(tag: Tag, children: Vec<Ttlv>) -> Ttlv {
        Ttlv::new(tag, Value::Structure(children))
    }

    #[inline(always)]
    fn value(tag: Tag, value: impl FnOnce() -> Value) -> Ttlv {
        Ttlv::new(tag, value())
    }
}

/// Builds nothing: the checks alone.
struct Check;

impl Build for Check {
    type Item = ();
    type List = ();
    fn count(_: &Decoder<'_>, _: usize, _: usize) -> usize {
        0
    }
    fn children(_: usize, _: impl FnMut() -> Result<(), DecodeError>) -> Result<(), DecodeError> {
        Ok(())
    }
    fn push(_: &mut (), _: ()) {}
    fn structure(_: Tag, _: ()) {}
    fn value(_: Tag, _: impl FnOnce() -> Value) {}
}

/// The decoding pass behind [`decode`] and [`validate`]: every length checked
/// against the bytes remaining and the [`Limits`] before anything is allocated,
/// nesting and item counts capped.
struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    items: usize,
    limits: &'a Limits,
}

impl Decoder<'_> {
    /// Takes `n` bytes at the cursor; the bytes may not extend past `end` (the end of
    /// the enclosing structure, or of the input).
    #[inline(always)]
    fn take(&mut self, n: usize, end: usize) -> Result<&[u8], DecodeError> {
        let remaining = end - self.pos;
        if n > remaining {
            return Err(DecodeError::at(
                DecodeErrorKind::Truncated {
                    needed: n - remaining,
                },
                self.pos,
            ));
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// How many children a structure whose body is `input[pos..end]` holds, found by
    /// walking the children's headers (no allocation, no recursion), so the children
    /// vector is allocated once at its exact size instead of growing. Bounded by the
    /// items the limit still allows and by `(end - pos) / 8`; on malformed input the
    /// walk stops early and the decoding that follows reports the error.
    fn count_children(&self, mut pos: usize, end: usize) -> usize {
        let budget = self.limits.max_items.saturating_sub(self.items);
        let mut n = 0;
        while end.saturating_sub(pos) >= HEADER_LEN && n < budget {
            let h = &self.input[pos..pos + HEADER_LEN];
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            let body = match h[3] {
                0x01 => Some(len),
                0x04 | 0x07 | 0x08 => len.checked_next_multiple_of(8),
                0x02 | 0x03 | 0x05 | 0x06 | 0x09 | 0x0A | 0x0B => Some(8),
                _ => None,
            };
            let Some(next) = body.and_then(|b| pos.checked_add(HEADER_LEN + b)) else {
                break;
            };
            n += 1;
            pos = next;
        }
        n
    }

    /// Decodes the children of a structure whose body ends at `end` (a separate,
    /// not inlined, function: the recursion goes through it, so that
    /// [`Decoder::item`] inlines into the loop over the children).
    #[inline(never)]
    fn structure_body<B: Build>(
        &mut self,
        depth: usize,
        end: usize,
    ) -> Result<B::List, DecodeError> {
        let count = B::count(self, self.pos, end);
        let mut children = B::children(count, || self.child::<B>(depth, end))?;
        // Only reached by a `Check` pass, or by input whose count fell short because
        // it is malformed (the next child then fails).
        while self.pos < end {
            let c = self.child::<B>(depth, end)?;
            B::push(&mut children, c);
        }
        Ok(children)
    }

    /// Decodes a child of a structure whose body ends at `end`: a child may not read
    /// past its parent's end, and running out of bytes there is a length mismatch.
    #[inline(always)]
    fn child<B: Build>(&mut self, depth: usize, end: usize) -> Result<B::Item, DecodeError> {
        self.item::<B>(depth, end).map_err(|mut e| {
            if matches!(e.kind, DecodeErrorKind::Truncated { .. }) {
                e.kind = DecodeErrorKind::StructureLengthMismatch;
            }
            e
        })
    }

    /// Decodes the item at the cursor, which may not extend past `end`.
    #[inline(always)]
    fn item<B: Build>(&mut self, depth: usize, end: usize) -> Result<B::Item, DecodeError> {
        let start = self.pos;
        self.items += 1;
        if self.items > self.limits.max_items {
            return Err(DecodeError::at(
                DecodeErrorKind::TooManyItems {
                    limit: self.limits.max_items,
                },
                start,
            ));
        }
        let h = self.take(HEADER_LEN, end)?;
        let tag = Tag(u32::from_be_bytes([0, h[0], h[1], h[2]]));
        let type_byte = h[3];
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let item_type =
            ItemType::from_byte(type_byte).map_err(|k| DecodeError::at(k, start + 3))?;
        let len_us = len as usize;
        if len_us > self.limits.max_message_size {
            return Err(DecodeError::at(
                DecodeErrorKind::TooLarge {
                    length: u64::from(len),
                    limit: self.limits.max_message_size,
                },
                start + 4,
            ));
        }
        let bad_len = || {
            DecodeError::at(
                DecodeErrorKind::InvalidLength {
                    item_type,
                    length: len,
                },
                start + 4,
            )
        };
        Ok(match item_type {
            ItemType::Structure => {
                if depth + 1 > self.limits.max_depth {
                    return Err(DecodeError::at(
                        DecodeErrorKind::TooDeep {
                            limit: self.limits.max_depth,
                        },
                        start,
                    ));
                }
                if len % 8 != 0 {
                    return Err(bad_len());
                }
                let body_end = self
                    .pos
                    .checked_add(len_us)
                    .filter(|e| *e <= end)
                    .ok_or_else(|| {
                        DecodeError::at(
                            DecodeErrorKind::Truncated {
                                needed: len_us - (end - self.pos),
                            },
                            self.pos,
                        )
                    })?;
                let children = self.structure_body::<B>(depth + 1, body_end)?;
                B::structure(tag, children)
            }
            ItemType::Integer | ItemType::Enumeration | ItemType::Interval => {
                if len != 4 {
                    return Err(bad_len());
                }
                let b = self.take(8, end)?;
                let v = [b[0], b[1], b[2], b[3]];
                B::value(tag, || match item_type {
                    ItemType::Integer => Value::Integer(i32::from_be_bytes(v)),
                    ItemType::Enumeration => Value::Enumeration(u32::from_be_bytes(v)),
                    _ => Value::Interval(u32::from_be_bytes(v)),
                })
            }
            ItemType::LongInteger
            | ItemType::DateTime
            | ItemType::DateTimeExtended
            | ItemType::Boolean => {
                if len != 8 {
                    return Err(bad_len());
                }
                let b = self.take(8, end)?;
                let raw = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                let v = i64::from_be_bytes(raw);
                let value = match item_type {
                    ItemType::LongInteger => Value::LongInteger(v),
                    ItemType::DateTime => Value::DateTime(v),
                    ItemType::DateTimeExtended => Value::DateTimeExtended(v),
                    _ => match v {
                        0 => Value::Boolean(false),
                        1 => Value::Boolean(true),
                        _ => {
                            return Err(DecodeError::at(
                                DecodeErrorKind::InvalidBoolean(v as u64),
                                start + 8,
                            ))
                        }
                    },
                };
                B::value(tag, || value)
            }
            ItemType::TextString | ItemType::ByteString | ItemType::BigInteger => {
                if item_type == ItemType::BigInteger && (len == 0 || len % 8 != 0) {
                    return Err(bad_len());
                }
                let padded_len = pad8(len_us);
                let b = &self.take(padded_len, end)?[..len_us];
                match item_type {
                    ItemType::TextString => {
                        let s = std::str::from_utf8(b).map_err(|_| {
                            DecodeError::at(DecodeErrorKind::InvalidUtf8, start + 8)
                        })?;
                        B::value(tag, || Value::TextString(s.to_owned()))
                    }
                    ItemType::ByteString => B::value(tag, || Value::ByteString(b.to_vec())),
                    _ => B::value(tag, || Value::BigInteger(b.to_vec())),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::DEFAULT
    }

    #[test]
    fn spec_examples() {
        // KMIP 1.4 §9.1.2 examples.
        let int = Ttlv::new(Tag(0x420020), Value::Integer(8));
        assert_eq!(
            hex::encode(encode(&int)),
            "42002002000000040000000800000000"
        );
        let long = Ttlv::new(Tag(0x420020), Value::LongInteger(123456789000000000));
        assert_eq!(
            hex::encode(encode(&long)),
            "420020030000000801b69b4ba5749200"
        );
        // 1234567890000000000000000000, given in its minimal 12-byte form: encoding
        // sign-extends it to 16 bytes, as the spec's example shows.
        let big = Ttlv::new(
            Tag(0x420020),
            Value::BigInteger(hex::decode("03fd35eb6bc2df4618080000").unwrap_or_default()),
        );
        assert_eq!(
            hex::encode(encode(&big)),
            "42002004000000100000000003fd35eb6bc2df4618080000"
        );
        let text = Ttlv::new(Tag(0x420020), Value::TextString("Hello World".into()));
        assert_eq!(
            hex::encode(encode(&text)),
            "420020070000000b48656c6c6f20576f726c640000000000"
        );
        let bytes = Ttlv::new(Tag(0x420020), Value::ByteString(vec![1, 2, 3]));
        assert_eq!(
            hex::encode(encode(&bytes)),
            "42002008000000030102030000000000"
        );
        let dt = Ttlv::new(Tag(0x420020), Value::DateTime(0x47DA67F8));
        assert_eq!(hex::encode(encode(&dt)), "42002009000000080000000047da67f8");
        let iv = Ttlv::new(Tag(0x420020), Value::Interval(864000));
        assert_eq!(hex::encode(encode(&iv)), "4200200a00000004000d2f0000000000");
        let s = Ttlv::structure(
            Tag(0x420020),
            vec![
                Ttlv::new(Tag(0x420004), Value::Enumeration(254)),
                Ttlv::new(Tag(0x420005), Value::Integer(255)),
            ],
        );
        assert_eq!(
            hex::encode(encode(&s)),
            "42002001000000204200040500000004000000fe000000004200050200000004000000ff00000000"
        );
        let b = Ttlv::new(Tag(0x420020), Value::Boolean(true));
        assert_eq!(hex::encode(encode(&b)), "42002006000000080000000000000001");
        for t in [int, long, text, bytes, dt, iv, s, b] {
            assert_eq!(decode(&encode(&t), &lim()).unwrap(), t);
        }
    }

    #[test]
    fn big_integer_sign_extension() {
        let pos = Ttlv::new(Tag(0x420020), Value::BigInteger(vec![0x01, 0x00]));
        assert_eq!(
            hex::encode(encode(&pos)),
            "42002004000000080000000000000100"
        );
        let neg = Ttlv::new(Tag(0x420020), Value::BigInteger(vec![0x80]));
        assert_eq!(
            hex::encode(encode(&neg)),
            "420020040000000 8ffffffffffffff80".replace(' ', "")
        );
        let zero_len = hex::decode("4200200400000000").unwrap();
        assert!(matches!(
            decode(&zero_len, &lim()).unwrap_err().kind,
            DecodeErrorKind::InvalidLength { .. }
        ));
    }

    #[test]
    fn tolerates_nonzero_padding() {
        let mut b = encode(&Ttlv::new(Tag(0x420020), Value::Integer(8)));
        b[12..16].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(decode(&b, &lim()).unwrap().value, Value::Integer(8));
    }

    #[test]
    fn rejects_truncation_everywhere() {
        let s = Ttlv::structure(
            Tag(0x420078),
            vec![Ttlv::new(
                Tag(0x420020),
                Value::TextString("abcdefghij".into()),
            )],
        );
        let full = encode(&s);
        for n in 0..full.len() {
            let e = decode(&full[..n], &lim()).unwrap_err();
            assert!(
                matches!(
                    e.kind,
                    DecodeErrorKind::Truncated { .. } | DecodeErrorKind::StructureLengthMismatch
                ),
                "{n}: {e}"
            );
        }
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut b = encode(&Ttlv::new(Tag(0x420020), Value::Integer(8)));
        b.extend_from_slice(&[0; 8]);
        assert_eq!(
            decode(&b, &lim()).unwrap_err().kind,
            DecodeErrorKind::TrailingBytes(8)
        );
    }

    #[test]
    fn huge_length_is_refused_before_allocation() {
        // A ByteString announcing 4 GiB - 1 in a 16-byte input.
        let b = hex::decode("42002008ffffffff0000000000000000").unwrap();
        let e = decode(&b, &lim()).unwrap_err();
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::TooLarge {
                    length: 0xffff_ffff,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.result_reason(),
            crate::types::ResultReason::InvalidMessage
        );
        let h: [u8; 8] = hex::decode("42007801ffffff00").unwrap().try_into().unwrap();
        assert!(frame_len(&h, &lim()).is_err());
        let h: [u8; 8] = hex::decode("4200780100000100").unwrap().try_into().unwrap();
        assert_eq!(frame_len(&h, &lim()).unwrap(), 8 + 256);
        let h: [u8; 8] = hex::decode("4200780200000004").unwrap().try_into().unwrap();
        assert!(
            frame_len(&h, &lim()).is_err(),
            "top level must be a structure"
        );
    }

    #[test]
    fn depth_and_item_limits() {
        let mut t = Ttlv::new(Tag(0x420020), Value::Integer(1));
        for _ in 0..40 {
            t = Ttlv::structure(Tag(0x420020), vec![t]);
        }
        let b = encode(&t);
        assert!(matches!(
            decode(&b, &lim()).unwrap_err().kind,
            DecodeErrorKind::TooDeep { limit: 32 }
        ));
        let flat = Ttlv::structure(
            Tag(0x420020),
            vec![Ttlv::new(Tag(0x420021), Value::Integer(0)); 50],
        );
        let small = Limits {
            max_items: 10,
            ..Limits::DEFAULT
        };
        assert!(matches!(
            decode(&encode(&flat), &small).unwrap_err().kind,
            DecodeErrorKind::TooManyItems { limit: 10 }
        ));
        assert!(decode(&encode(&flat), &lim()).is_ok());
    }

    #[test]
    fn rejects_bad_fixed_lengths_types_and_values() {
        let b = hex::decode("42002002000000080000000000000008").unwrap();
        assert!(matches!(
            decode(&b, &lim()).unwrap_err().kind,
            DecodeErrorKind::InvalidLength { .. }
        ));
        let b = hex::decode("42002006000000080000000000000002").unwrap();
        assert_eq!(
            decode(&b, &lim()).unwrap_err().kind,
            DecodeErrorKind::InvalidBoolean(2)
        );
        let b = hex::decode("4200200c000000040000000000000000").unwrap();
        assert_eq!(
            decode(&b, &lim()).unwrap_err().kind,
            DecodeErrorKind::UnknownItemType(0x0c)
        );
        let b = hex::decode("4200200700000002fffe000000000000").unwrap();
        assert_eq!(
            decode(&b, &lim()).unwrap_err().kind,
            DecodeErrorKind::InvalidUtf8
        );
        // Structure whose child overruns it.
        let b =
            hex::decode("4200200100000008420021020000000400000001000000000").unwrap_or_default();
        assert!(decode(&b, &lim()).is_err());
    }

    /// The decoder as it was before children were counted ahead and [`validate`]
    /// shared its checks (a growing vector per structure, the parent's end enforced
    /// by re-slicing the input): the oracle for the differential tests below, which
    /// pin every error kind and offset.
    mod reference {
        use super::super::{pad8, HEADER_LEN};
        use crate::error::{DecodeError, DecodeErrorKind};
        use crate::ttlv::{ItemType, Limits, Tag, Ttlv, Value};

        pub fn decode(input: &[u8], limits: &Limits) -> Result<Ttlv, DecodeError> {
            if input.len() > limits.max_message_size {
                return Err(DecodeError::at(
                    DecodeErrorKind::TooLarge {
                        length: input.len() as u64,
                        limit: limits.max_message_size,
                    },
                    0,
                ));
            }
            let mut d = OldDecoder {
                input,
                pos: 0,
                items: 0,
                limits,
            };
            let item = d.item(0)?;
            if d.pos != input.len() {
                return Err(DecodeError::at(
                    DecodeErrorKind::TrailingBytes(input.len() - d.pos),
                    d.pos,
                ));
            }
            Ok(item)
        }

        struct OldDecoder<'a> {
            input: &'a [u8],
            pos: usize,
            items: usize,
            limits: &'a Limits,
        }

        impl OldDecoder<'_> {
            fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
                let remaining = self.input.len() - self.pos;
                if n > remaining {
                    return Err(DecodeError::at(
                        DecodeErrorKind::Truncated {
                            needed: n - remaining,
                        },
                        self.pos,
                    ));
                }
                let s = &self.input[self.pos..self.pos + n];
                self.pos += n;
                Ok(s)
            }

            fn item(&mut self, depth: usize) -> Result<Ttlv, DecodeError> {
                let start = self.pos;
                self.items += 1;
                if self.items > self.limits.max_items {
                    return Err(DecodeError::at(
                        DecodeErrorKind::TooManyItems {
                            limit: self.limits.max_items,
                        },
                        start,
                    ));
                }
                let h = self.take(HEADER_LEN)?;
                let tag = Tag(u32::from_be_bytes([0, h[0], h[1], h[2]]));
                let type_byte = h[3];
                let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                let item_type =
                    ItemType::from_byte(type_byte).map_err(|k| DecodeError::at(k, start + 3))?;
                let len_us = len as usize;
                if len_us > self.limits.max_message_size {
                    return Err(DecodeError::at(
                        DecodeErrorKind::TooLarge {
                            length: u64::from(len),
                            limit: self.limits.max_message_size,
                        },
                        start + 4,
                    ));
                }
                let bad_len = || {
                    DecodeError::at(
                        DecodeErrorKind::InvalidLength {
                            item_type,
                            length: len,
                        },
                        start + 4,
                    )
                };
                let value = match item_type {
                    ItemType::Structure => {
                        if depth + 1 > self.limits.max_depth {
                            return Err(DecodeError::at(
                                DecodeErrorKind::TooDeep {
                                    limit: self.limits.max_depth,
                                },
                                start,
                            ));
                        }
                        if len % 8 != 0 {
                            return Err(bad_len());
                        }
                        let end = self
                            .pos
                            .checked_add(len_us)
                            .filter(|e| *e <= self.input.len())
                            .ok_or_else(|| {
                                DecodeError::at(
                                    DecodeErrorKind::Truncated {
                                        needed: len_us - (self.input.len() - self.pos),
                                    },
                                    self.pos,
                                )
                            })?;
                        let mut children = Vec::new();
                        while self.pos < end {
                            // A child may not read past its parent's end: bound the view.
                            let saved = self.input;
                            self.input = &saved[..end];
                            let child = self.item(depth + 1);
                            self.input = saved;
                            match child {
                                Ok(c) => children.push(c),
                                Err(mut e) => {
                                    if matches!(e.kind, DecodeErrorKind::Truncated { .. }) {
                                        e.kind = DecodeErrorKind::StructureLengthMismatch;
                                    }
                                    return Err(e);
                                }
                            }
                        }
                        Value::Structure(children)
                    }
                    ItemType::Integer | ItemType::Enumeration | ItemType::Interval => {
                        if len != 4 {
                            return Err(bad_len());
                        }
                        let b = self.take(8)?;
                        let v = [b[0], b[1], b[2], b[3]];
                        match item_type {
                            ItemType::Integer => Value::Integer(i32::from_be_bytes(v)),
                            ItemType::Enumeration => Value::Enumeration(u32::from_be_bytes(v)),
                            _ => Value::Interval(u32::from_be_bytes(v)),
                        }
                    }
                    ItemType::LongInteger
                    | ItemType::DateTime
                    | ItemType::DateTimeExtended
                    | ItemType::Boolean => {
                        if len != 8 {
                            return Err(bad_len());
                        }
                        let b = self.take(8)?;
                        let raw = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                        match item_type {
                            ItemType::LongInteger => Value::LongInteger(i64::from_be_bytes(raw)),
                            ItemType::DateTime => Value::DateTime(i64::from_be_bytes(raw)),
                            ItemType::DateTimeExtended => {
                                Value::DateTimeExtended(i64::from_be_bytes(raw))
                            }
                            _ => match u64::from_be_bytes(raw) {
                                0 => Value::Boolean(false),
                                1 => Value::Boolean(true),
                                other => {
                                    return Err(DecodeError::at(
                                        DecodeErrorKind::InvalidBoolean(other),
                                        start + 8,
                                    ))
                                }
                            },
                        }
                    }
                    ItemType::TextString | ItemType::ByteString | ItemType::BigInteger => {
                        if item_type == ItemType::BigInteger && (len == 0 || len % 8 != 0) {
                            return Err(bad_len());
                        }
                        let padded_len = pad8(len_us);
                        let b = self.take(padded_len)?;
                        let bytes = b[..len_us].to_vec();
                        match item_type {
                            ItemType::TextString => {
                                Value::TextString(String::from_utf8(bytes).map_err(|_| {
                                    DecodeError::at(DecodeErrorKind::InvalidUtf8, start + 8)
                                })?)
                            }
                            ItemType::ByteString => Value::ByteString(bytes),
                            _ => Value::BigInteger(bytes),
                        }
                    }
                };
                Ok(Ttlv { tag, value })
            }
        }
    }

    fn sample_message() -> Vec<u8> {
        let t = |tag, v| Ttlv::new(Tag(tag), v);
        encode(&Ttlv::structure(
            Tag(0x420078),
            vec![
                Ttlv::structure(
                    Tag(0x420077),
                    vec![
                        Ttlv::structure(
                            Tag(0x420069),
                            vec![
                                t(0x42006A, Value::Integer(1)),
                                t(0x42006B, Value::Integer(4)),
                            ],
                        ),
                        t(0x42000D, Value::Integer(1)),
                        t(0x420092, Value::DateTime(0x47DA67F8)),
                    ],
                ),
                Ttlv::structure(
                    Tag(0x42000F),
                    vec![
                        t(0x42005C, Value::Enumeration(1)),
                        t(0x420093, Value::ByteString(vec![1, 2, 3])),
                        Ttlv::structure(
                            Tag(0x420079),
                            vec![
                                t(0x420057, Value::Enumeration(2)),
                                t(0x420094, Value::TextString("a-uid".into())),
                                t(0x4200AF, Value::BigInteger(vec![0x80; 16])),
                                t(0x420006, Value::Boolean(true)),
                                t(0x42000A, Value::LongInteger(-5)),
                                t(0x420102, Value::Interval(86400)),
                                t(0x540001, Value::DateTimeExtended(7)),
                                Ttlv::structure(Tag(0x420091), vec![]),
                            ],
                        ),
                    ],
                ),
            ],
        ))
    }

    #[test]
    fn decode_and_validate_match_the_reference() {
        let msg = sample_message();
        let small = Limits {
            max_message_size: 200,
            max_depth: 3,
            max_items: 9,
        };
        let limits = [lim(), small];
        let check = |bytes: &[u8]| {
            for l in &limits {
                let expected = reference::decode(bytes, l);
                assert_eq!(decode(bytes, l), expected, "{}", hex::encode(bytes));
                let viewed = validate(bytes, l).map(|v| v.to_ttlv());
                assert_eq!(viewed, expected, "{}", hex::encode(bytes));
            }
        };
        // Every prefix, every single-byte corruption of every header byte, and a
        // spread of values written over every length field.
        for n in 0..=msg.len() {
            check(&msg[..n]);
        }
        for i in 0..msg.len() {
            for v in [0x00, 0x01, 0x04, 0x07, 0x08, 0x0B, 0x0C, 0x80, 0xFF] {
                let mut m = msg.clone();
                m[i] = v;
                check(&m);
            }
        }
        for i in (4..msg.len().saturating_sub(4)).step_by(4) {
            for len in [
                0u32,
                4,
                7,
                8,
                9,
                16,
                24,
                0x100,
                0x7FFF_FFFF,
                0xFFFF_FFF8,
                0xFFFF_FFFF,
            ] {
                let mut m = msg.clone();
                m[i..i + 4].copy_from_slice(&len.to_be_bytes());
                check(&m);
            }
        }
        let mut trailing = msg.clone();
        trailing.extend_from_slice(&msg);
        check(&trailing);
    }

    proptest::proptest! {
        #[test]
        fn decode_and_validate_match_the_reference_on_noise(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..96),
            splice in 0usize..300,
        ) {
            let mut msg = sample_message();
            let at = splice.min(msg.len());
            let n = bytes.len().min(msg.len() - at);
            msg[at..at + n].copy_from_slice(&bytes[..n]);
            for l in [lim(), Limits { max_message_size: 1 << 20, max_depth: 2, max_items: 5 }] {
                for input in [&msg, &bytes] {
                    let expected = reference::decode(input, &l);
                    proptest::prop_assert_eq!(decode(input, &l), expected.clone());
                    proptest::prop_assert_eq!(validate(input, &l).map(|v| v.to_ttlv()), expected);
                }
            }
        }
    }
}
