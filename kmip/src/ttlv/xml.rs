//! KMIP XML encoding, both directions (KMIP Additional Message Encodings v1.0, XML
//! Profile, "XML Encoding"); also the encoding of the OASIS KMIP test vectors.
//!
//! An item is one element named after its tag, with a `type` attribute (absent for a
//! Structure) and a `value` attribute (absent for a Structure, whose children are its
//! child elements):
//!
//! ```xml
//! <RequestHeader>
//!   <BatchCount type="Integer" value="1"/>
//! </RequestHeader>
//! ```
//!
//! A tag without a name (vendor extension, newer specification) cannot be an element
//! name, since XML names cannot start with a digit; the profile writes it as
//! `<TTLV tag="0x540001" type="TextString" value="x"/>`. Both forms are read.
//!
//! | Type | written | also read |
//! |---|---|---|
//! | Integer | decimal; for a mask tag, names separated by spaces (`Encrypt Decrypt`) when the table names every set bit, else `0x` and 8 hex digits | `0x` hex; names and hex separated by `\|` or white space |
//! | LongInteger | decimal | `0x` and up to 16 hex digits (two's complement) |
//! | BigInteger | hex of the stored bytes, no prefix | `0x` prefix |
//! | Enumeration | name from the tag's table, else `0x` and 8 hex digits | decimal |
//! | Boolean | `true` / `false` | `1` / `0`, `0x` hex |
//! | TextString | the text | |
//! | ByteString | hex, no prefix | `0x` prefix, either case |
//! | DateTime | ISO 8601 in UTC, `2009-03-31T12:34:56+00:00` (hex outside years 0–9999) | any offset or `Z`, `0x` hex, `$NOW±n` |
//! | Interval | decimal | `0x` hex |
//! | DateTimeExtended | ISO 8601 with 6 fractional digits | as DateTime |
//!
//! **KMIP 1.x attributes.** An `AttributeValue` has no table of its own: an Enumeration
//! or mask Integer in it is named from the table of the attribute that the preceding
//! `AttributeName` sibling names (`Cryptographic Algorithm` → `AES`), both when reading
//! and when writing.
//!
//! **Limits.** Parsing is iterative (no recursion on the input's nesting); depth and
//! item count are bounded by [`Limits`] exactly as the binary decoder bounds them.
//! Memory is proportional to the text, so the caller bounds the text's size (e.g. the
//! HTTP body limit). No DTD is accepted, so no entity can expand.

use super::{ItemType, Limits, Tag, Ttlv, Value};
use crate::error::{DecodeError, DecodeErrorKind};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::borrow::Cow;
use std::fmt::Write as _;

/// Options for decoding the text encodings (XML here, JSON in [`super::json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    /// Nesting depth and item count bounds, as for binary TTLV.
    pub limits: Limits,
    /// How test-vector placeholders are treated.
    pub placeholders: Placeholders,
}

/// Options for [`from_xml`] and [`parse_conversation`].
pub type XmlOptions = TextOptions;

impl Default for TextOptions {
    /// [`Limits::DEFAULT`], and [`Placeholders::default`] (fixed reference time,
    /// placeholders in byte strings rejected).
    fn default() -> Self {
        Self {
            limits: Limits::DEFAULT,
            placeholders: Placeholders::default(),
        }
    }
}

/// How the decoders treat the placeholders of the OASIS test vectors: values that
/// differ per run, written symbolically as `$NAME` (`$UNIQUE_IDENTIFIER_0`, `$NOW-3600`).
///
/// - TextString: always kept as text, unchanged; a replayer substitutes its own value.
/// - DateTime and DateTimeExtended: `$NOW`, `$NOW+n` and `$NOW-n` (n in seconds) are
///   resolved to [`now`](Self::now) `± n`. Another name is an error.
/// - ByteString: per [`policy`](Self::policy).
/// - Any other type: [`DecodeErrorKind::UnresolvedPlaceholder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholders {
    /// The time `$NOW` stands for, in seconds since the Unix epoch.
    pub now: i64,
    /// What a ByteString placeholder becomes.
    pub policy: PlaceholderPolicy,
}

impl Placeholders {
    /// 2020-12-14T00:00:00Z (publication of KMIP 2.1), the default `now`: fixed so that
    /// decoding the same vector twice gives equal trees.
    pub const REFERENCE_NOW: i64 = 1_607_904_000;
}

impl Default for Placeholders {
    /// `now` = [`Self::REFERENCE_NOW`], policy [`PlaceholderPolicy::Reject`].
    fn default() -> Self {
        Self {
            now: Self::REFERENCE_NOW,
            policy: PlaceholderPolicy::Reject,
        }
    }
}

/// What a placeholder in a ByteString (`$SIGNATURE_DATA`) decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaceholderPolicy {
    /// An error ([`DecodeErrorKind::UnresolvedPlaceholder`]): the safe choice for input
    /// from a peer, which has no business sending placeholders.
    #[default]
    Reject,
    /// The UTF-8 bytes of the placeholder text (`b"$SIGNATURE_DATA"`), so a replayer
    /// can find and replace it.
    Literal,
}

/// Writes `item` as indented XML (two spaces a level, as the test vectors), without a
/// trailing newline.
///
/// A TextString containing U+0000 cannot be written in XML 1.0: it comes out as
/// `&#0;`, which [`from_xml`] rejects. Other control characters are written as
/// character references and survive.
pub fn to_xml(item: &Ttlv) -> String {
    let mut out = String::new();
    write_element(&mut out, item, item.tag, 0);
    out.pop(); // the last newline
    out
}

/// Reads one item from `text`: a single element, optionally preceded by an XML
/// declaration and surrounded by comments and white space.
pub fn from_xml(text: &str, opts: &XmlOptions) -> Result<Ttlv, DecodeError> {
    reject_nul(text)?;
    let mut p = Parser::new(text, opts);
    let item = match p.next_markup()? {
        Markup::Start(e, pos) => p.item(e, pos, true)?,
        Markup::Empty(e, pos) => p.item(e, pos, false)?,
        Markup::End(pos) | Markup::Eof(pos) => return Err(syntax("expected an element", pos)),
    };
    match p.next_markup()? {
        Markup::Eof(_) => Ok(item),
        Markup::Start(_, pos) | Markup::Empty(_, pos) | Markup::End(pos) => {
            Err(syntax("content after the element", pos))
        }
    }
}

/// XML 1.0 has no way to carry U+0000, escaped (`&#0;`, refused) or raw; refusing the
/// raw form too keeps every accepted document printable (found by fuzzing).
fn reject_nul(text: &str) -> Result<(), DecodeError> {
    match text.find('\0') {
        Some(pos) => Err(syntax("U+0000 is not allowed in XML", pos)),
        None => Ok(()),
    }
}

/// Reads a whole test-vector file: a `<KMIP>` root holding comments and a sequence
/// of messages (`RequestMessage`, `ResponseMessage`), returned in order. Also accepts
/// a single bare message element, or several in a row.
pub fn parse_conversation(text: &str, opts: &XmlOptions) -> Result<Vec<Ttlv>, DecodeError> {
    reject_nul(text)?;
    let mut p = Parser::new(text, opts);
    let mut messages = Vec::new();
    let mut in_root = false;
    loop {
        match p.next_markup()? {
            Markup::Start(e, _) if !in_root && e.name().as_ref() == ROOT => in_root = true,
            Markup::Empty(e, _) if !in_root && e.name().as_ref() == ROOT => {}
            Markup::Start(e, pos) => messages.push(p.item(e, pos, true)?),
            Markup::Empty(e, pos) => messages.push(p.item(e, pos, false)?),
            // The reader has checked that this closes the root.
            Markup::End(_) => in_root = false,
            Markup::Eof(pos) if in_root => return Err(syntax("unclosed <KMIP> element", pos)),
            Markup::Eof(_) => return Ok(messages),
        }
    }
}

/// The root element of a test-vector file.
const ROOT: &str = "KMIP";
/// The element name of an item whose tag has no name.
const UNNAMED: &str = "TTLV";

// ---------------------------------------------------------------------------
// Writing

fn write_element(out: &mut String, item: &Ttlv, table_tag: Tag, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
    out.push('<');
    let name = match item.tag.name() {
        Some(n) => {
            out.push_str(n);
            n
        }
        None => {
            let _ = write!(out, "{UNNAMED} tag=\"0x{:06x}\"", item.tag.0);
            UNNAMED
        }
    };
    match &item.value {
        Value::Structure(children) if children.is_empty() => out.push_str("/>\n"),
        Value::Structure(children) => {
            out.push_str(">\n");
            for (i, child) in children.iter().enumerate() {
                let tt = text::table_tag(child.tag, &children[..i]);
                write_element(out, child, tt, level + 1);
            }
            for _ in 0..level {
                out.push_str("  ");
            }
            let _ = writeln!(out, "</{name}>");
        }
        value => {
            let _ = write!(out, " type=\"{}\" value=\"", value.item_type().name());
            escape_attr(out, &value_text(value, table_tag));
            out.push_str("\"/>\n");
        }
    }
}

/// The `value` attribute of a primitive.
fn value_text(value: &Value, table_tag: Tag) -> Cow<'_, str> {
    Cow::Owned(match value {
        Value::Structure(_) => String::new(),
        Value::Integer(v) => {
            text::integer_text(*v, table_tag, ' ').unwrap_or_else(|| v.to_string())
        }
        Value::LongInteger(v) => v.to_string(),
        Value::BigInteger(b) | Value::ByteString(b) => hex::encode(b),
        Value::Enumeration(v) => text::enum_text(*v, table_tag),
        Value::Boolean(b) => b.to_string(),
        Value::TextString(s) => return Cow::Borrowed(s),
        Value::DateTime(s) => text::datetime_text(*s),
        Value::Interval(v) => v.to_string(),
        Value::DateTimeExtended(us) => text::datetime_ext_text(*us),
    })
}

/// Escapes an attribute value for double quotes. White space and other control
/// characters become character references, which attribute-value normalization
/// leaves alone.
fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------
// Reading

/// Markup that matters between items; white space, comments, declarations and
/// processing instructions are skipped.
enum Markup<'a> {
    Start(BytesStart<'a>, usize),
    Empty(BytesStart<'a>, usize),
    End(usize),
    Eof(usize),
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    opts: &'a XmlOptions,
}

/// A structure being read.
struct Frame {
    tag: Tag,
    children: Vec<Ttlv>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, opts: &'a XmlOptions) -> Self {
        let mut reader = Reader::from_str(text);
        reader.config_mut().enable_all_checks(true);
        Self { reader, opts }
    }

    fn next_markup(&mut self) -> Result<Markup<'a>, DecodeError> {
        loop {
            let pos = offset(self.reader.buffer_position());
            let event = self.reader.read_event().map_err(|e| {
                DecodeError::at(
                    DecodeErrorKind::Syntax(e.to_string()),
                    offset(self.reader.error_position()),
                )
            })?;
            match event {
                Event::Start(e) => return Ok(Markup::Start(e, pos)),
                Event::Empty(e) => return Ok(Markup::Empty(e, pos)),
                Event::End(_) => return Ok(Markup::End(pos)),
                Event::Eof => return Ok(Markup::Eof(pos)),
                Event::Text(t) if t.bytes().all(|b| b.is_ascii_whitespace()) => {}
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(syntax("a DTD is not allowed", pos)),
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(syntax(
                        "text content is not allowed; values go in attributes",
                        pos,
                    ))
                }
            }
        }
    }

    /// Reads the item that `first` opens (and, when `has_body`, everything up to its
    /// end tag) with an explicit stack, so nesting costs heap, not stack.
    fn item(
        &mut self,
        first: BytesStart<'a>,
        first_pos: usize,
        has_body: bool,
    ) -> Result<Ttlv, DecodeError> {
        let limits = self.opts.limits;
        let mut stack: Vec<Frame> = Vec::new();
        let mut items = 0usize;
        let mut next = Some((first, first_pos, has_body));
        loop {
            let done = match next.take() {
                Some((start, pos, has_body)) => {
                    items += 1;
                    if items > limits.max_items {
                        return Err(DecodeError::at(
                            DecodeErrorKind::TooManyItems {
                                limit: limits.max_items,
                            },
                            pos,
                        ));
                    }
                    let head = head(&start, pos)?;
                    if head.item_type == ItemType::Structure {
                        if head.value.is_some() {
                            return Err(syntax("a Structure has no value attribute", pos));
                        }
                        if stack.len() + 1 > limits.max_depth {
                            return Err(DecodeError::at(
                                DecodeErrorKind::TooDeep {
                                    limit: limits.max_depth,
                                },
                                pos,
                            ));
                        }
                        if has_body {
                            stack.push(Frame {
                                tag: head.tag,
                                children: Vec::new(),
                            });
                            None
                        } else {
                            Some(Ttlv::structure(head.tag, Vec::new()))
                        }
                    } else {
                        let Some(value_text) = head.value else {
                            return Err(syntax("missing value attribute", pos));
                        };
                        let preceding = stack.last().map_or(&[][..], |f| &f.children[..]);
                        let table_tag = text::table_tag(head.tag, preceding);
                        let value = text::parse_value(
                            head.item_type,
                            &value_text,
                            table_tag,
                            &self.opts.placeholders,
                        )
                        .map_err(|k| DecodeError::at(k, pos))?;
                        if has_body {
                            match self.next_markup()? {
                                Markup::End(_) => {}
                                Markup::Start(_, p) | Markup::Empty(_, p) | Markup::Eof(p) => {
                                    return Err(syntax("a primitive item has no children", p))
                                }
                            }
                        }
                        Some(Ttlv::new(head.tag, value))
                    }
                }
                None => match self.next_markup()? {
                    Markup::Start(e, pos) => {
                        next = Some((e, pos, true));
                        None
                    }
                    Markup::Empty(e, pos) => {
                        next = Some((e, pos, false));
                        None
                    }
                    Markup::End(pos) => {
                        let Some(f) = stack.pop() else {
                            return Err(syntax("unexpected end tag", pos));
                        };
                        Some(Ttlv::structure(f.tag, f.children))
                    }
                    Markup::Eof(pos) => return Err(syntax("unclosed element", pos)),
                },
            };
            if let Some(item) = done {
                match stack.last_mut() {
                    Some(parent) => parent.children.push(item),
                    None => return Ok(item),
                }
            }
        }
    }
}

/// An element's tag, type and value text.
struct Head<'t> {
    tag: Tag,
    item_type: ItemType,
    value: Option<Cow<'t, str>>,
}

fn head<'t>(start: &'t BytesStart<'_>, pos: usize) -> Result<Head<'t>, DecodeError> {
    let mut type_attr = None;
    let mut value = None;
    let mut tag_attr = None;
    for attr in start.attributes() {
        let attr =
            attr.map_err(|e| DecodeError::at(DecodeErrorKind::Syntax(e.to_string()), pos))?;
        let v = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| DecodeError::at(DecodeErrorKind::Syntax(e.to_string()), pos))?;
        match attr.key.as_ref() {
            "type" => type_attr = Some(v),
            "value" => value = Some(v),
            "tag" => tag_attr = Some(v),
            other => {
                return Err(DecodeError::at(
                    DecodeErrorKind::Syntax(format!("unexpected attribute {other:?}")),
                    pos,
                ))
            }
        }
    }
    let name = start.name();
    let name = name.as_ref();
    let tag = match (name, tag_attr) {
        (UNNAMED, Some(t)) => Tag::from_name(&t)
            .ok_or_else(|| DecodeError::at(DecodeErrorKind::UnknownTagName(t.into_owned()), pos))?,
        (UNNAMED, None) => return Err(syntax("a TTLV element needs a tag attribute", pos)),
        (_, Some(_)) => return Err(syntax("only a TTLV element has a tag attribute", pos)),
        // Not `0x540001`: an XML name cannot start with a digit.
        (name, None) => Tag::from_name(name)
            .filter(|_| !name.starts_with(|c: char| c.is_ascii_digit()))
            .ok_or_else(|| {
                DecodeError::at(DecodeErrorKind::UnknownTagName(name.to_owned()), pos)
            })?,
    };
    let item_type = match type_attr {
        None => ItemType::Structure,
        Some(t) => ItemType::from_name(&t).ok_or_else(|| {
            DecodeError::at(
                DecodeErrorKind::Syntax(format!("unknown item type {:?}", text::clip(&t))),
                pos,
            )
        })?,
    };
    Ok(Head {
        tag,
        item_type,
        value,
    })
}

fn syntax(msg: &str, pos: usize) -> DecodeError {
    DecodeError::at(DecodeErrorKind::Syntax(msg.to_owned()), pos)
}

fn offset(pos: u64) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX)
}

// ---------------------------------------------------------------------------
// Value text shared by the XML and JSON encodings

/// Value text rules shared by the XML and JSON encodings: names from the enumeration
/// and mask tables, hex forms, dates and placeholders.
pub(super) mod text {
    use super::super::{ItemType, Tag, Ttlv, Value};
    use super::{PlaceholderPolicy, Placeholders};
    use crate::error::DecodeErrorKind;
    use crate::types::{enum_table, mask_table};
    use time::format_description::well_known::Rfc3339;
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;
    use time::OffsetDateTime;

    const DATE_TIME: &[BorrowedFormatItem<'_>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    const DATE_TIME_EXTENDED: &[BorrowedFormatItem<'_>] = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );

    /// The tag whose tables name the value of an item with `tag`: the tag itself,
    /// except for a KMIP 1.x `AttributeValue`, which takes the attribute named by the
    /// last `AttributeName` among the siblings before it.
    pub(crate) fn table_tag(tag: Tag, preceding: &[Ttlv]) -> Tag {
        if tag != Tag::ATTRIBUTE_VALUE {
            return tag;
        }
        match preceding
            .iter()
            .rev()
            .find(|c| c.tag == Tag::ATTRIBUTE_NAME)
        {
            Some(Ttlv {
                value: Value::TextString(name),
                ..
            }) => Tag::from_spec_name(name).unwrap_or(tag),
            _ => tag,
        }
    }

    /// A mask Integer as names joined by `sep` when the table names every set bit,
    /// else as `0x` hex; `None` when `table_tag` carries no mask (write a number).
    pub(crate) fn integer_text(v: i32, table_tag: Tag, sep: char) -> Option<String> {
        let table = mask_table(table_tag)?;
        let bits = v as u32;
        let mut covered = 0u32;
        let mut names = String::new();
        for e in table.entries {
            if e.value.is_power_of_two() && bits & e.value != 0 && covered & e.value == 0 {
                if !names.is_empty() {
                    names.push(sep);
                }
                names.push_str(e.name);
                covered |= e.value;
            }
        }
        Some(
            if bits != 0 && covered == bits && parse_integer(&names, table_tag) == Some(v) {
                names
            } else {
                format!("0x{bits:08x}")
            },
        )
    }

    /// An Enumeration as its name when the table knows it, else `0x` hex.
    pub(crate) fn enum_text(v: u32, table_tag: Tag) -> String {
        let name = enum_table(table_tag)
            .and_then(|t| t.by_value(v))
            .map(|e| e.name);
        match name {
            // Only a name that reads back as the same value (no duplicate names).
            Some(n) if parse_enum(n, table_tag) == Some(v) => n.to_owned(),
            _ => format!("0x{v:08x}"),
        }
    }

    /// A DateTime in ISO 8601 (UTC), or `0x` hex outside the years 0–9999.
    pub(crate) fn datetime_text(secs: i64) -> String {
        OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .filter(|d| d.year() >= 0)
            .and_then(|d| d.format(DATE_TIME).ok())
            .unwrap_or_else(|| format!("0x{:016x}", secs as u64))
    }

    /// A DateTimeExtended in ISO 8601 with microseconds, or `0x` hex outside the
    /// years 0–9999.
    pub(crate) fn datetime_ext_text(micros: i64) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
            .ok()
            .filter(|d| d.year() >= 0)
            .and_then(|d| d.format(DATE_TIME_EXTENDED).ok())
            .unwrap_or_else(|| format!("0x{:016x}", micros as u64))
    }

    /// Parses the text form of a primitive value of `item_type`, naming values from
    /// the tables of `table_tag`.
    pub(crate) fn parse_value(
        item_type: ItemType,
        text: &str,
        table_tag: Tag,
        placeholders: &Placeholders,
    ) -> Result<Value, DecodeErrorKind> {
        if text.starts_with('$') && item_type != ItemType::TextString {
            return placeholder(item_type, text, placeholders);
        }
        let value = match item_type {
            ItemType::Structure => None,
            ItemType::Integer => parse_integer(text, table_tag).map(Value::Integer),
            ItemType::LongInteger => text
                .parse()
                .ok()
                .or_else(|| hex_u64(text).map(|v| v as i64))
                .map(Value::LongInteger),
            ItemType::BigInteger => hex_bytes(text).map(Value::BigInteger),
            ItemType::Enumeration => parse_enum(text, table_tag).map(Value::Enumeration),
            ItemType::Boolean => match text {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => match hex_u64(text) {
                    Some(0) => Some(false),
                    Some(1) => Some(true),
                    _ => None,
                },
            }
            .map(Value::Boolean),
            ItemType::TextString => Some(Value::TextString(text.to_owned())),
            ItemType::ByteString => hex_bytes(text).map(Value::ByteString),
            ItemType::DateTime => parse_datetime(text, 1_000_000_000).map(Value::DateTime),
            ItemType::Interval => text
                .parse()
                .ok()
                .or_else(|| hex_u32(text))
                .map(Value::Interval),
            ItemType::DateTimeExtended => parse_datetime(text, 1000).map(Value::DateTimeExtended),
        };
        value.ok_or_else(|| bad(item_type, text))
    }

    /// A BadTextValue error for `text`.
    pub(crate) fn bad(item_type: ItemType, text: &str) -> DecodeErrorKind {
        DecodeErrorKind::BadTextValue {
            item_type,
            value: clip(text).to_owned(),
        }
    }

    /// `text` cut to 64 characters, for error messages.
    pub(crate) fn clip(text: &str) -> &str {
        match text.char_indices().nth(64) {
            Some((i, _)) => &text[..i],
            None => text,
        }
    }

    fn placeholder(
        item_type: ItemType,
        text: &str,
        placeholders: &Placeholders,
    ) -> Result<Value, DecodeErrorKind> {
        let Some((name, delta)) = split_placeholder(text) else {
            return Err(bad(item_type, text));
        };
        let now = |scale: i64| {
            placeholders
                .now
                .checked_add(delta)
                .and_then(|t| t.checked_mul(scale))
                .ok_or_else(|| bad(item_type, text))
        };
        match (item_type, name) {
            (ItemType::DateTime, "NOW") => now(1).map(Value::DateTime),
            (ItemType::DateTimeExtended, "NOW") => now(1_000_000).map(Value::DateTimeExtended),
            (ItemType::ByteString, _) if placeholders.policy == PlaceholderPolicy::Literal => {
                Ok(Value::ByteString(text.as_bytes().to_vec()))
            }
            _ => Err(DecodeErrorKind::UnresolvedPlaceholder(
                clip(text).to_owned(),
            )),
        }
    }

    /// `$NAME`, `$NAME+n` or `$NAME-n` → (NAME, ±n); NAME is letters, digits and `_`.
    fn split_placeholder(text: &str) -> Option<(&str, i64)> {
        let body = text.strip_prefix('$')?;
        let (name, delta) = match body.find(['+', '-']) {
            Some(i) => {
                let digits = &body[i + 1..];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let n: i64 = digits.parse().ok()?;
                (&body[..i], if body.as_bytes()[i] == b'-' { -n } else { n })
            }
            None => (body, 0),
        };
        let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        ok.then_some((name, delta))
    }

    /// Decimal, or mask names and `0x` hex separated by `|` or white space.
    fn parse_integer(text: &str, table_tag: Tag) -> Option<i32> {
        if let Ok(v) = text.parse() {
            return Some(v);
        }
        let table = mask_table(table_tag);
        let mut bits = 0u32;
        let mut any = false;
        for part in text
            .split(|c: char| c == '|' || c.is_ascii_whitespace())
            .filter(|p| !p.is_empty())
        {
            bits |= match hex_u32(part) {
                Some(v) => v,
                None => table?.by_name(part)?.value,
            };
            any = true;
        }
        any.then_some(bits as i32)
    }

    /// `0x` hex, decimal, or a name from the table.
    fn parse_enum(text: &str, table_tag: Tag) -> Option<u32> {
        if text.starts_with("0x") || text.starts_with("0X") {
            return hex_u32(text);
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().ok();
        }
        enum_table(table_tag)?.by_name(text).map(|e| e.value)
    }

    /// ISO 8601 (RFC 3339) or `0x` hex, in units of `nanos_per_unit` nanoseconds;
    /// a time finer than the unit is refused rather than rounded.
    fn parse_datetime(text: &str, nanos_per_unit: i128) -> Option<i64> {
        if text.starts_with("0x") || text.starts_with("0X") {
            return hex_u64(text).map(|v| v as i64);
        }
        let nanos = OffsetDateTime::parse(text, &Rfc3339)
            .ok()?
            .unix_timestamp_nanos();
        if nanos % nanos_per_unit != 0 {
            return None;
        }
        i64::try_from(nanos / nanos_per_unit).ok()
    }

    /// The digits after `0x` (1 to `max` of them), or `None`.
    fn hex_digits(text: &str, max: usize) -> Option<&str> {
        let d = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))?;
        let ok = !d.is_empty() && d.len() <= max && d.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then_some(d)
    }

    fn hex_u32(text: &str) -> Option<u32> {
        u32::from_str_radix(hex_digits(text, 8)?, 16).ok()
    }

    fn hex_u64(text: &str) -> Option<u64> {
        u64::from_str_radix(hex_digits(text, 16)?, 16).ok()
    }

    /// Hex bytes, with or without a `0x` prefix.
    fn hex_bytes(text: &str) -> Option<Vec<u8>> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        hex::decode(digits).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> XmlOptions {
        XmlOptions::default()
    }

    fn literal() -> XmlOptions {
        XmlOptions {
            placeholders: Placeholders {
                policy: PlaceholderPolicy::Literal,
                ..Placeholders::default()
            },
            ..XmlOptions::default()
        }
    }

    /// Unnamed tags, so these tests do not depend on the tag table.
    fn t(n: u32) -> Tag {
        Tag(0x54_0000 | n)
    }

    fn prim(n: u32, value: Value) -> Ttlv {
        Ttlv::new(t(n), value)
    }

    fn round_trip(item: &Ttlv) {
        let xml = to_xml(item);
        let back = from_xml(&xml, &opts()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(&back, item, "{xml}");
    }

    fn kind(text: &str) -> DecodeErrorKind {
        from_xml(text, &opts()).unwrap_err().kind
    }

    #[test]
    fn every_type_round_trips() {
        let item = Ttlv::structure(
            t(1),
            vec![
                prim(2, Value::Integer(-7)),
                prim(2, Value::Integer(i32::MIN)),
                prim(3, Value::LongInteger(i64::MIN)),
                prim(3, Value::LongInteger(1 << 60)),
                prim(4, Value::BigInteger(vec![0xff, 0, 1, 2, 3, 4, 5, 6])),
                prim(4, Value::BigInteger(vec![])),
                prim(5, Value::Enumeration(0x8000_0001)),
                prim(6, Value::Boolean(true)),
                prim(6, Value::Boolean(false)),
                prim(7, Value::TextString("a&b<c>\"d'\te\nf\r\u{1}g ü😀".into())),
                prim(7, Value::TextString(String::new())),
                prim(8, Value::ByteString(vec![0, 1, 0xfe, 0xff])),
                prim(8, Value::ByteString(vec![])),
                prim(9, Value::DateTime(1_238_502_896)),
                prim(9, Value::DateTime(-1)),
                prim(9, Value::DateTime(i64::MAX)),
                prim(9, Value::DateTime(i64::MIN)),
                prim(10, Value::Interval(u32::MAX)),
                prim(11, Value::DateTimeExtended(1_238_502_896_123_456)),
                prim(11, Value::DateTimeExtended(i64::MIN)),
                Ttlv::structure(t(12), vec![]),
                Ttlv::structure(
                    t(13),
                    vec![Ttlv::structure(t(14), vec![prim(2, Value::Integer(0))])],
                ),
            ],
        );
        round_trip(&item);
    }

    #[test]
    fn writes_like_the_vectors() {
        let item = Ttlv::structure(
            t(1),
            vec![
                prim(9, Value::DateTime(1_238_502_896)),
                prim(11, Value::DateTimeExtended(1_238_502_896_000_001)),
                prim(5, Value::Enumeration(10)),
                Ttlv::structure(t(2), vec![prim(8, Value::ByteString(vec![0xab, 0x01]))]),
                Ttlv::structure(t(3), vec![]),
            ],
        );
        assert_eq!(
            to_xml(&item),
            "<TTLV tag=\"0x540001\">\n\
             \x20 <TTLV tag=\"0x540009\" type=\"DateTime\" value=\"2009-03-31T12:34:56+00:00\"/>\n\
             \x20 <TTLV tag=\"0x54000b\" type=\"DateTimeExtended\" value=\"2009-03-31T12:34:56.000001+00:00\"/>\n\
             \x20 <TTLV tag=\"0x540005\" type=\"Enumeration\" value=\"0x0000000a\"/>\n\
             \x20 <TTLV tag=\"0x540002\">\n\
             \x20   <TTLV tag=\"0x540008\" type=\"ByteString\" value=\"ab01\"/>\n\
             \x20 </TTLV>\n\
             \x20 <TTLV tag=\"0x540003\"/>\n\
             </TTLV>"
        );
    }

    #[test]
    fn reads_alternative_forms() {
        let one = |ty: &str, v: &str| {
            from_xml(
                &format!(r#"<TTLV tag="0x540001" type="{ty}" value="{v}"/>"#),
                &opts(),
            )
            .map(|i| i.value)
        };
        assert_eq!(one("Integer", "0x0000000C").unwrap(), Value::Integer(12));
        assert_eq!(one("Integer", "0xFFFFFFFF").unwrap(), Value::Integer(-1));
        assert_eq!(one("Integer", "0x4|0x8").unwrap(), Value::Integer(12));
        assert_eq!(one("Integer", "+5").unwrap(), Value::Integer(5));
        assert_eq!(
            one("LongInteger", "0xffffffffffffffff").unwrap(),
            Value::LongInteger(-1)
        );
        assert_eq!(
            one("BigInteger", "0x00FF").unwrap(),
            Value::BigInteger(vec![0, 0xff])
        );
        assert_eq!(
            one("Enumeration", "0x80000001").unwrap(),
            Value::Enumeration(0x8000_0001)
        );
        assert_eq!(one("Enumeration", "10").unwrap(), Value::Enumeration(10));
        assert_eq!(one("Boolean", "1").unwrap(), Value::Boolean(true));
        assert_eq!(
            one("Boolean", "0x0000000000000000").unwrap(),
            Value::Boolean(false)
        );
        assert_eq!(
            one("ByteString", "0xABcd").unwrap(),
            Value::ByteString(vec![0xab, 0xcd])
        );
        assert_eq!(
            one("DateTime", "2009-03-31T22:34:56+10:00").unwrap(),
            Value::DateTime(1_238_502_896)
        );
        assert_eq!(
            one("DateTime", "2009-03-31T12:34:56Z").unwrap(),
            Value::DateTime(1_238_502_896)
        );
        assert_eq!(
            one("DateTime", "0x0000000000000006").unwrap(),
            Value::DateTime(6)
        );
        assert_eq!(
            one("DateTimeExtended", "1970-01-01T00:00:01.5Z").unwrap(),
            Value::DateTimeExtended(1_500_000)
        );
        assert_eq!(one("Interval", "0x10").unwrap(), Value::Interval(16));
        // Structure by default, explicit type too, with white space and comments inside.
        let s = from_xml(
            "<?xml version=\"1.0\"?>\n<!-- c --><TTLV tag=\"0x540001\" type=\"Structure\">\n <!-- x -->\n</TTLV>\n",
            &opts(),
        )
        .unwrap();
        assert_eq!(s, Ttlv::structure(t(1), vec![]));
        // A primitive written with an end tag.
        let p = from_xml(
            r#"<TTLV tag="0x540001" type="Integer" value="3"></TTLV>"#,
            &opts(),
        )
        .unwrap();
        assert_eq!(p.value, Value::Integer(3));
        // A named tag given through the TTLV element.
        let p = from_xml(
            r#"<TTLV tag="ActivationDate" type="DateTime" value="0x1"/>"#,
            &opts(),
        )
        .unwrap();
        assert_eq!(p.tag, Tag(0x42_0001));
    }

    #[test]
    fn named_tags() {
        let item = Ttlv::new(Tag(0x42_0001), Value::DateTime(0));
        assert_eq!(
            to_xml(&item),
            r#"<ActivationDate type="DateTime" value="1970-01-01T00:00:00+00:00"/>"#
        );
        round_trip(&item);
        assert_eq!(
            kind("<NoSuchTag/>"),
            DecodeErrorKind::UnknownTagName("NoSuchTag".into())
        );
        assert_eq!(
            kind(r#"<TTLV tag="Nope" type="Integer" value="1"/>"#),
            DecodeErrorKind::UnknownTagName("Nope".into())
        );
        assert!(matches!(kind("<TTLV/>"), DecodeErrorKind::Syntax(_)));
        assert!(matches!(
            kind(r#"<ActivationDate tag="0x540001"/>"#),
            DecodeErrorKind::Syntax(_)
        ));
    }

    #[test]
    fn placeholders_follow_the_policy() {
        let dt = |v: &str, o: &XmlOptions| {
            from_xml(
                &format!(r#"<TTLV tag="0x540001" type="DateTime" value="{v}"/>"#),
                o,
            )
            .map(|i| i.value)
        };
        let now = Placeholders::REFERENCE_NOW;
        assert_eq!(dt("$NOW", &opts()).unwrap(), Value::DateTime(now));
        assert_eq!(
            dt("$NOW-3600", &opts()).unwrap(),
            Value::DateTime(now - 3600)
        );
        assert_eq!(
            dt("$NOW+3600", &literal()).unwrap(),
            Value::DateTime(now + 3600)
        );
        let custom = XmlOptions {
            placeholders: Placeholders {
                now: 100,
                policy: PlaceholderPolicy::Reject,
            },
            ..opts()
        };
        assert_eq!(dt("$NOW-1", &custom).unwrap(), Value::DateTime(99));
        assert!(matches!(
            dt("$THEN", &literal()).unwrap_err().kind,
            DecodeErrorKind::UnresolvedPlaceholder(_)
        ));
        assert!(matches!(
            dt("$NOW+99999999999999999999", &opts()).unwrap_err().kind,
            DecodeErrorKind::BadTextValue { .. }
        ));
        assert!(matches!(
            dt("$NOW+9223372036854775807", &opts()).unwrap_err().kind,
            DecodeErrorKind::BadTextValue { .. }
        ));
        let ext = from_xml(
            r#"<TTLV tag="0x540001" type="DateTimeExtended" value="$NOW"/>"#,
            &opts(),
        );
        assert_eq!(ext.unwrap().value, Value::DateTimeExtended(now * 1_000_000));

        let bs = r#"<TTLV tag="0x540001" type="ByteString" value="$SIGNATURE_DATA"/>"#;
        assert_eq!(
            from_xml(bs, &opts()).unwrap_err().kind,
            DecodeErrorKind::UnresolvedPlaceholder("$SIGNATURE_DATA".into())
        );
        assert_eq!(
            from_xml(bs, &literal()).unwrap().value,
            Value::ByteString(b"$SIGNATURE_DATA".to_vec())
        );
        let ts = r#"<TTLV tag="0x540001" type="TextString" value="$UNIQUE_IDENTIFIER_0"/>"#;
        assert_eq!(
            from_xml(ts, &opts()).unwrap().value,
            Value::TextString("$UNIQUE_IDENTIFIER_0".into())
        );
        let int = r#"<TTLV tag="0x540001" type="Integer" value="$COUNT"/>"#;
        assert!(matches!(
            from_xml(int, &literal()).unwrap_err().kind,
            DecodeErrorKind::UnresolvedPlaceholder(_)
        ));
        let malformed = r#"<TTLV tag="0x540001" type="ByteString" value="$NO SPACE"/>"#;
        assert!(matches!(
            from_xml(malformed, &literal()).unwrap_err().kind,
            DecodeErrorKind::BadTextValue { .. }
        ));
    }

    #[test]
    fn errors_carry_offsets() {
        let text = "<TTLV tag=\"0x540001\">\n  <TTLV tag=\"0x540002\" type=\"Integer\" value=\"x\"/>\n</TTLV>";
        let e = from_xml(text, &opts()).unwrap_err();
        assert_eq!(e.offset, Some(text.find("<TTLV tag=\"0x540002\"").unwrap()));
        assert!(matches!(
            e.kind,
            DecodeErrorKind::BadTextValue {
                item_type: ItemType::Integer,
                ..
            }
        ));

        let text = "<TTLV tag=\"0x540001\">\n  <Bogus/>\n</TTLV>";
        let e = from_xml(text, &opts()).unwrap_err();
        assert_eq!(e.offset, Some(text.find("<Bogus").unwrap()));
        assert_eq!(e.kind, DecodeErrorKind::UnknownTagName("Bogus".into()));

        let e = from_xml("<TTLV tag=\"0x540001\">\n</Other>", &opts()).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Syntax(_)));
        assert!(e.offset.is_some());
    }

    #[test]
    fn rejects_malformed_input() {
        let bad = [
            "",
            "   ",
            "<",
            "<TTLV tag=\"0x540001\">",
            "<TTLV tag=\"0x540001\" type=\"Integer\"/>",
            "<TTLV tag=\"0x540001\" type=\"Integer\" value=\"1\" value=\"2\"/>",
            "<TTLV tag=\"0x540001\" type=\"Integer\" value=\"1\" extra=\"2\"/>",
            "<TTLV tag=\"0x540001\" type=\"Float\" value=\"1\"/>",
            "<TTLV tag=\"0x540001\" value=\"1\"/>",
            "<TTLV tag=\"0x540001\">text</TTLV>",
            "<TTLV tag=\"0x540001\"><![CDATA[x]]></TTLV>",
            "<TTLV tag=\"0x540001\">&amp;</TTLV>",
            "<TTLV tag=\"0x540001\" type=\"Integer\" value=\"1\"><TTLV tag=\"0x540002\"/></TTLV>",
            "<TTLV tag=\"0x540001\"/><TTLV tag=\"0x540001\"/>",
            "<!DOCTYPE x [<!ENTITY a \"b\">]><TTLV tag=\"0x540001\"/>",
            "<TTLV tag=\"0x540001\" type=\"TextString\" value=\"&bogus;\"/>",
            "<TTLV tag=\"0x540001\" type=\"TextString\" value=\"&#0;\"/>",
            "<TTLV tag=\"0x1234567\"/>",
            "<0x540001/>",
        ];
        for text in bad {
            assert!(from_xml(text, &opts()).is_err(), "accepted {text:?}");
        }
        let bad_values = [
            ("Integer", "2147483648"),
            ("Integer", "0x100000000"),
            ("Integer", "Encrypt"),
            ("Integer", ""),
            ("Integer", " | "),
            ("Integer", "0x"),
            ("Integer", "0x+1"),
            ("LongInteger", "9223372036854775808"),
            ("LongInteger", "0x1ffffffffffffffff"),
            ("BigInteger", "abc"),
            ("BigInteger", "zz"),
            ("Enumeration", "-1"),
            ("Enumeration", "4294967296"),
            ("Enumeration", "NoSuchName"),
            ("Boolean", "yes"),
            ("Boolean", "0x2"),
            ("ByteString", "0"),
            ("ByteString", "gg"),
            ("ByteString", "00 11"),
            ("DateTime", "2009-03-31"),
            ("DateTime", "2009-13-31T12:34:56Z"),
            ("DateTime", "2009-03-31T12:34:56"),
            ("DateTime", "2009-03-31T12:34:56.5Z"),
            ("DateTime", "10000-01-01T00:00:00Z"),
            ("DateTimeExtended", "2009-03-31T12:34:56.0000001Z"),
            ("Interval", "-1"),
            ("Interval", "4294967296"),
        ];
        for (ty, v) in bad_values {
            let text = format!(r#"<TTLV tag="0x540001" type="{ty}" value="{v}"/>"#);
            match from_xml(&text, &opts()) {
                Err(DecodeError {
                    kind: DecodeErrorKind::BadTextValue { item_type, .. },
                    offset: Some(0),
                }) => assert_eq!(item_type.name(), ty),
                other => panic!("{ty} {v:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let n = 100_000;
        let mut text = String::new();
        for _ in 0..n {
            text.push_str("<TTLV tag=\"0x540001\">");
        }
        for _ in 0..n {
            text.push_str("</TTLV>");
        }
        assert_eq!(kind(&text), DecodeErrorKind::TooDeep { limit: 32 });

        let flat = format!(
            "<TTLV tag=\"0x540001\">{}</TTLV>",
            "<TTLV tag=\"0x540002\"/>".repeat(200)
        );
        let small = XmlOptions {
            limits: Limits {
                max_items: 100,
                ..Limits::DEFAULT
            },
            ..opts()
        };
        assert_eq!(
            from_xml(&flat, &small).unwrap_err().kind,
            DecodeErrorKind::TooManyItems { limit: 100 }
        );
        assert!(from_xml(&flat, &opts()).is_ok());

        // Exactly max_depth nested structures are fine, one more is not.
        let nest = |d: usize| {
            format!(
                "{}{}",
                "<TTLV tag=\"0x540001\">".repeat(d - 1) + "<TTLV tag=\"0x540001\"/>",
                "</TTLV>".repeat(d - 1)
            )
        };
        assert!(from_xml(&nest(32), &opts()).is_ok());
        assert_eq!(kind(&nest(33)), DecodeErrorKind::TooDeep { limit: 32 });
    }

    #[test]
    fn conversations() {
        let text = "<KMIP>\n<!-- header -->\n<TTLV tag=\"0x540001\"/>\n\n<TTLV tag=\"0x540002\">\n  <TTLV tag=\"0x540003\" type=\"Integer\" value=\"1\"/>\n</TTLV>\n</KMIP>\n";
        let msgs = parse_conversation(text, &opts()).unwrap();
        assert_eq!(
            msgs,
            vec![
                Ttlv::structure(t(1), vec![]),
                Ttlv::structure(t(2), vec![prim(3, Value::Integer(1))]),
            ]
        );
        let bare = parse_conversation("<TTLV tag=\"0x540001\"/>", &opts()).unwrap();
        assert_eq!(bare, vec![Ttlv::structure(t(1), vec![])]);
        assert_eq!(parse_conversation("<KMIP/>", &opts()).unwrap(), vec![]);
        assert!(parse_conversation("<KMIP>", &opts()).is_err());
        assert!(parse_conversation("<KMIP><KMIP/></KMIP>", &opts()).is_err());
        assert!(parse_conversation("<KMIP>x</KMIP>", &opts()).is_err());
        let e = parse_conversation("<KMIP>\n<Nope/>\n</KMIP>", &opts()).unwrap_err();
        assert_eq!(e.offset, Some(7));
    }

    #[test]
    fn attribute_name_context_without_tables() {
        // With no table for the named attribute, values stay numeric and round-trip.
        let attr = Ttlv::structure(
            Tag(0x42_0008),
            vec![
                Ttlv::new(Tag(0x42_000A), Value::TextString("x-custom".into())),
                Ttlv::new(Tag(0x42_000B), Value::Enumeration(3)),
                Ttlv::new(Tag(0x42_000B), Value::Integer(12)),
            ],
        );
        let xml = to_xml(&attr);
        assert_eq!(from_xml(&xml, &opts()).unwrap(), attr, "{xml}");
    }

    #[test]
    fn names_from_the_tables() {
        let text = r#"<Attribute>
  <AttributeName type="TextString" value="Cryptographic Algorithm"/>
  <AttributeValue type="Enumeration" value="AES"/>
</Attribute>"#;
        let attr = from_xml(text, &opts()).unwrap();
        assert_eq!(attr.children()[1].value, Value::Enumeration(3));
        assert_eq!(to_xml(&attr), text);
        // Without the AttributeName the name means nothing.
        let lone = r#"<AttributeValue type="Enumeration" value="AES"/>"#;
        assert!(matches!(kind(lone), DecodeErrorKind::BadTextValue { .. }));

        let mask = |v: &str| {
            let text = format!(r#"<CryptographicUsageMask type="Integer" value="{v}"/>"#);
            from_xml(&text, &opts()).map(|i| i.value)
        };
        assert_eq!(mask("Decrypt Encrypt").unwrap(), Value::Integer(12));
        assert_eq!(mask("Sign|Verify").unwrap(), Value::Integer(3));
        assert_eq!(mask(" Sign | 0x00000002 ").unwrap(), Value::Integer(3));
        assert_eq!(mask("12").unwrap(), Value::Integer(12));
        assert!(matches!(
            mask("Sign Bogus").unwrap_err().kind,
            DecodeErrorKind::BadTextValue { .. }
        ));
        let write = |v: i32| to_xml(&Ttlv::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(v)));
        assert!(write(12).contains(r#"value="Encrypt Decrypt""#));
        // A bit no table names, or no bit at all: hex.
        assert!(write(i32::MIN | 4).contains(r#"value="0x80000004""#));
        assert!(write(0).contains(r#"value="0x00000000""#));
        for v in [12, i32::MIN | 4, 0, -1] {
            round_trip(&Ttlv::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(v)));
        }

        let attr_mask = Ttlv::structure(
            Tag::ATTRIBUTE,
            vec![
                Ttlv::new(
                    Tag::ATTRIBUTE_NAME,
                    Value::TextString("Cryptographic Usage Mask".into()),
                ),
                Ttlv::new(Tag::ATTRIBUTE_VALUE, Value::Integer(3)),
            ],
        );
        assert!(
            to_xml(&attr_mask).contains(r#"<AttributeValue type="Integer" value="Sign Verify"/>"#)
        );
        round_trip(&attr_mask);

        let ot = |v: u32| Ttlv::new(Tag::OBJECT_TYPE, Value::Enumeration(v));
        assert_eq!(
            to_xml(&ot(2)),
            r#"<ObjectType type="Enumeration" value="SymmetricKey"/>"#
        );
        assert_eq!(
            to_xml(&ot(0x8000_0001)),
            r#"<ObjectType type="Enumeration" value="0x80000001"/>"#
        );
        round_trip(&ot(0x8000_0001));
        // KMIP 2.x Attribute Reference is named by tag names.
        let r = from_xml(
            r#"<AttributeReference type="Enumeration" value="State"/>"#,
            &opts(),
        );
        assert_eq!(r.unwrap().value, Value::Enumeration(Tag::STATE.0));
    }

    #[test]
    fn never_panics_on_truncations() {
        let item = Ttlv::structure(
            t(1),
            vec![
                prim(7, Value::TextString("ü&<>".into())),
                prim(9, Value::DateTime(0)),
                Ttlv::structure(t(2), vec![prim(8, Value::ByteString(vec![1, 2]))]),
            ],
        );
        let xml = to_xml(&item);
        for (i, _) in xml.char_indices() {
            let _ = from_xml(&xml[..i], &opts());
            let _ = parse_conversation(&xml[i..], &opts());
        }
    }
}
