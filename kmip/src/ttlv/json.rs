//! KMIP JSON encoding, both directions (KMIP Additional Message Encodings v1.0, JSON
//! Profile, "JSON Encoding").
//!
//! An item is an object `{"tag": .., "type": .., "value": ..}`. `tag` is the tag name,
//! or `0x` and 6 hex digits for a tag without one; `type` is omitted for a Structure,
//! whose `value` is an array of items:
//!
//! ```json
//! {"tag": "RequestHeader", "value": [
//!   {"tag": "BatchCount", "type": "Integer", "value": 1}
//! ]}
//! ```
//!
//! | Type | written | also read |
//! |---|---|---|
//! | Integer | number; for a mask tag, a string of names joined by `\|` (`"Encrypt\|Decrypt"`) when the table names every set bit, else `"0x"` and 8 hex digits | every string form of the XML encoding |
//! | LongInteger | number when its magnitude is below 2^52, else a `"0x"` hex string | any number in range |
//! | BigInteger | `"0x"` and the hex of the stored bytes | hex without `0x`; a number (as 8 bytes) |
//! | Enumeration | name string, else `"0x"` and 8 hex digits | number |
//! | Boolean | `true` / `false` | the XML strings |
//! | TextString | string | |
//! | ByteString | hex string, no prefix | `0x` prefix |
//! | DateTime, DateTimeExtended | ISO 8601 string, as XML | as XML, placeholders included |
//! | Interval | number | hex string |
//!
//! Strings are read by the rules of the XML encoding ([`super::xml`]), including the
//! KMIP 1.x `AttributeName` context for an `AttributeValue` and the placeholders.
//!
//! **Limits.** Before `serde_json` builds anything, one pass over the bytes refuses
//! nesting deeper than [`Limits::max_depth`] structures and more objects than
//! [`Limits::max_items`], so a hostile document cannot cost more than its size;
//! `serde_json`'s own recursion limit (128) stays as a backstop. Duplicate members
//! in an object are not detected: the last one wins, as in `serde_json`.
//!
//! [`Limits::max_depth`]: super::Limits::max_depth
//! [`Limits::max_items`]: super::Limits::max_items

use super::xml::text;
use super::{ItemType, Tag, Ttlv, Value};
use crate::error::{DecodeError, DecodeErrorKind};
use serde_json::Value as Json;
use std::fmt::Write as _;

pub use super::xml::{PlaceholderPolicy, Placeholders};

/// Options for [`from_json`]: the same as the XML encoding's.
pub type JsonOptions = super::xml::TextOptions;

/// Writes `item` as indented JSON: a structure's children one per line, two spaces a
/// level; a primitive item on one line. No trailing newline.
pub fn to_json(item: &Ttlv) -> String {
    let mut out = String::new();
    write_item(&mut out, item, item.tag, 0);
    out
}

/// Reads one item from `text`.
pub fn from_json(text: &str, opts: &JsonOptions) -> Result<Ttlv, DecodeError> {
    prescan(text, opts)?;
    let json: Json = serde_json::from_str(text).map_err(|e| {
        DecodeError::at(
            DecodeErrorKind::Syntax(e.to_string()),
            line_column_offset(text, e.line(), e.column()),
        )
    })?;
    let mut reader = Reader {
        text,
        opts,
        items: 0,
        path: Vec::new(),
    };
    reader.item(&json, &[], 0)
}

/// Safe-integer bound for JSON numbers (the profile's 52 bits).
const MAX_JSON_INT: u64 = 1 << 52;

// ---------------------------------------------------------------------------
// Writing

fn write_item(out: &mut String, item: &Ttlv, table_tag: Tag, level: usize) {
    out.push_str("{\"tag\": ");
    match item.tag.name() {
        Some(n) => write_string(out, n),
        None => {
            let _ = write!(out, "\"0x{:06x}\"", item.tag.0);
        }
    }
    match &item.value {
        Value::Structure(children) if children.is_empty() => out.push_str(", \"value\": []}"),
        Value::Structure(children) => {
            out.push_str(", \"value\": [\n");
            for (i, child) in children.iter().enumerate() {
                indent(out, level + 1);
                let tt = text::table_tag(child.tag, &children[..i]);
                write_item(out, child, tt, level + 1);
                out.push_str(if i + 1 < children.len() { ",\n" } else { "\n" });
            }
            indent(out, level);
            out.push_str("]}");
        }
        value => {
            out.push_str(", \"type\": ");
            write_string(out, value.item_type().name());
            out.push_str(", \"value\": ");
            write_value(out, value, table_tag);
            out.push('}');
        }
    }
}

fn write_value(out: &mut String, value: &Value, table_tag: Tag) {
    let s = match value {
        Value::Structure(_) => return,
        Value::Integer(v) => match text::integer_text(*v, table_tag, '|') {
            Some(s) => s,
            None => return push_display(out, v),
        },
        Value::LongInteger(v) if v.unsigned_abs() < MAX_JSON_INT => return push_display(out, v),
        Value::LongInteger(v) => format!("0x{:016x}", *v as u64),
        Value::BigInteger(b) => format!("0x{}", hex::encode(b)),
        Value::Enumeration(v) => text::enum_text(*v, table_tag),
        Value::Boolean(b) => return push_display(out, b),
        Value::TextString(s) => return write_string(out, s),
        Value::ByteString(b) => hex::encode(b),
        Value::DateTime(s) => text::datetime_text(*s),
        Value::Interval(v) => return push_display(out, v),
        Value::DateTimeExtended(us) => text::datetime_ext_text(*us),
    };
    write_string(out, &s);
}

fn push_display(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// A JSON string literal (RFC 8259 §7).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------
// Reading

struct Reader<'a> {
    text: &'a str,
    opts: &'a JsonOptions,
    items: usize,
    /// Indices into the `value` arrays leading to the item being read, to place errors.
    path: Vec<usize>,
}

impl Reader<'_> {
    /// Reads one item object at structure depth `depth`, after the siblings
    /// `preceding`. Recursion is bounded by `max_depth`, checked before descending
    /// (and by the prescan).
    fn item(&mut self, json: &Json, preceding: &[Ttlv], depth: usize) -> Result<Ttlv, DecodeError> {
        let limits = self.opts.limits;
        self.items += 1;
        if self.items > limits.max_items {
            return Err(self.err(
                DecodeErrorKind::TooManyItems {
                    limit: limits.max_items,
                },
                None,
            ));
        }
        let Json::Object(obj) = json else {
            return Err(self.syntax("an item is an object", None));
        };
        if let Some(k) = obj
            .keys()
            .find(|k| !matches!(k.as_str(), "tag" | "type" | "value"))
        {
            return Err(self.syntax(&format!("unexpected member {:?}", text::clip(k)), None));
        }
        let tag = match obj.get("tag") {
            Some(Json::String(name)) => Tag::from_name(name).ok_or_else(|| {
                self.err(
                    DecodeErrorKind::UnknownTagName(text::clip(name).to_owned()),
                    Some("tag"),
                )
            })?,
            Some(_) => return Err(self.syntax("tag is a string", Some("tag"))),
            None => return Err(self.syntax("missing member \"tag\"", None)),
        };
        let item_type = match obj.get("type") {
            None => ItemType::Structure,
            Some(Json::String(t)) => ItemType::from_name(t).ok_or_else(|| {
                let msg = format!("unknown item type {:?}", text::clip(t));
                self.syntax(&msg, Some("type"))
            })?,
            Some(_) => return Err(self.syntax("type is a string", Some("type"))),
        };
        let Some(value) = obj.get("value") else {
            return Err(self.syntax("missing member \"value\"", None));
        };
        if item_type != ItemType::Structure {
            let table_tag = text::table_tag(tag, preceding);
            return self
                .primitive(item_type, value, table_tag)
                .map(|v| Ttlv::new(tag, v))
                .map_err(|k| self.err(k, Some("value")));
        }
        let Json::Array(elems) = value else {
            return Err(self.syntax("a Structure's value is an array", Some("value")));
        };
        if depth + 1 > limits.max_depth {
            return Err(self.err(
                DecodeErrorKind::TooDeep {
                    limit: limits.max_depth,
                },
                None,
            ));
        }
        let mut children: Vec<Ttlv> = Vec::with_capacity(elems.len());
        for (i, elem) in elems.iter().enumerate() {
            self.path.push(i);
            let child = self.item(elem, &children, depth + 1)?;
            children.push(child);
            self.path.pop();
        }
        Ok(Ttlv::structure(tag, children))
    }

    fn primitive(
        &self,
        item_type: ItemType,
        json: &Json,
        table_tag: Tag,
    ) -> Result<Value, DecodeErrorKind> {
        let bad = || text::bad(item_type, &json.to_string());
        match json {
            Json::String(s) => text::parse_value(item_type, s, table_tag, &self.opts.placeholders),
            Json::Bool(b) if item_type == ItemType::Boolean => Ok(Value::Boolean(*b)),
            Json::Number(n) => {
                let u32_value = || n.as_u64().and_then(|v| u32::try_from(v).ok());
                match item_type {
                    ItemType::Integer => n
                        .as_i64()
                        .and_then(|v| i32::try_from(v).ok())
                        .map(Value::Integer),
                    ItemType::LongInteger => n.as_i64().map(Value::LongInteger),
                    ItemType::BigInteger => n
                        .as_i64()
                        .map(|v| Value::BigInteger(v.to_be_bytes().to_vec())),
                    ItemType::Enumeration => u32_value().map(Value::Enumeration),
                    ItemType::Interval => u32_value().map(Value::Interval),
                    _ => None,
                }
                .ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }

    fn syntax(&self, msg: &str, key: Option<&str>) -> DecodeError {
        self.err(DecodeErrorKind::Syntax(msg.to_owned()), key)
    }

    /// An error placed at the current item (or its member `key`).
    fn err(&self, kind: DecodeErrorKind, key: Option<&str>) -> DecodeError {
        match locate(self.text, &self.path, key) {
            Some(pos) => DecodeError::at(kind, pos),
            None => DecodeError::new(kind),
        }
    }
}

/// One pass over the raw bytes, before any allocation: refuses nesting that could
/// only hold structures deeper than `max_depth` (an item is an object, a structure's
/// children an array inside it: two brackets a level) and more objects than
/// `max_items`.
fn prescan(text: &str, opts: &JsonOptions) -> Result<(), DecodeError> {
    let limits = opts.limits;
    let max_brackets = limits.max_depth.saturating_mul(2).saturating_add(1);
    let (mut depth, mut objects) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_brackets {
                    let kind = DecodeErrorKind::TooDeep {
                        limit: limits.max_depth,
                    };
                    return Err(DecodeError::at(kind, i));
                }
                if b == b'{' {
                    objects += 1;
                    if objects > limits.max_items {
                        let kind = DecodeErrorKind::TooManyItems {
                            limit: limits.max_items,
                        };
                        return Err(DecodeError::at(kind, i));
                    }
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The byte offset of serde_json's one-based line and column.
fn line_column_offset(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            return (start + column.saturating_sub(1)).min(text.len());
        }
        start += l.len();
    }
    text.len()
}

// Locating an item in text that serde_json has already accepted as JSON: the parsed
// tree has no positions, so an error's position is found again by walking the path.

/// The offset of the item at `path` (indices into successive `value` arrays) or of
/// its member `key`'s value.
fn locate(text: &str, path: &[usize], key: Option<&str>) -> Option<usize> {
    let b = text.as_bytes();
    let mut pos = skip_ws(b, 0);
    for &i in path {
        pos = member(b, pos, "value")?;
        pos = element(b, pos, i)?;
    }
    match key {
        Some(k) => member(b, pos, k).or(Some(pos)),
        None => Some(pos),
    }
}

fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && matches!(b[p], b' ' | b'\t' | b'\n' | b'\r') {
        p += 1;
    }
    p
}

/// The offset of the value of the last member named `key` of the object at `p`.
fn member(b: &[u8], p: usize, key: &str) -> Option<usize> {
    if b.get(p) != Some(&b'{') {
        return None;
    }
    let mut p = skip_ws(b, p + 1);
    let mut found = None;
    while b.get(p) == Some(&b'"') {
        let end = skip_string(b, p)?;
        let name = b.get(p + 1..end - 1)?;
        p = skip_ws(b, end);
        if b.get(p) != Some(&b':') {
            return None;
        }
        p = skip_ws(b, p + 1);
        if name == key.as_bytes() {
            found = Some(p);
        }
        p = skip_ws(b, skip_value(b, p)?);
        if b.get(p) != Some(&b',') {
            break;
        }
        p = skip_ws(b, p + 1);
    }
    found
}

/// The offset of element `index` of the array at `p`.
fn element(b: &[u8], p: usize, index: usize) -> Option<usize> {
    if b.get(p) != Some(&b'[') {
        return None;
    }
    let mut p = skip_ws(b, p + 1);
    for _ in 0..index {
        p = skip_ws(b, skip_value(b, p)?);
        if b.get(p) != Some(&b',') {
            return None;
        }
        p = skip_ws(b, p + 1);
    }
    Some(p)
}

/// The offset just past the string starting at `p`.
fn skip_string(b: &[u8], p: usize) -> Option<usize> {
    let mut i = p + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The offset just past the value starting at `p` (iterative: no recursion).
fn skip_value(b: &[u8], p: usize) -> Option<usize> {
    match b.get(p)? {
        b'"' => skip_string(b, p),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = p;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let mut i = p;
            while i < b.len() && !matches!(b[i], b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
            {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttlv::Limits;

    fn opts() -> JsonOptions {
        JsonOptions::default()
    }

    fn t(n: u32) -> Tag {
        Tag(0x54_0000 | n)
    }

    fn prim(n: u32, value: Value) -> Ttlv {
        Ttlv::new(t(n), value)
    }

    fn round_trip(item: &Ttlv) {
        let json = to_json(item);
        let back = from_json(&json, &opts()).unwrap_or_else(|e| panic!("{e}\n{json}"));
        assert_eq!(&back, item, "{json}");
        // The output is valid JSON for any other reader too.
        assert!(serde_json::from_str::<Json>(&json).is_ok(), "{json}");
    }

    fn one(ty: &str, v: &str) -> Result<Value, DecodeError> {
        from_json(
            &format!(r#"{{"tag": "0x540001", "type": "{ty}", "value": {v}}}"#),
            &opts(),
        )
        .map(|i| i.value)
    }

    #[test]
    fn every_type_round_trips() {
        let item = Ttlv::structure(
            t(1),
            vec![
                prim(2, Value::Integer(-7)),
                prim(2, Value::Integer(i32::MAX)),
                prim(3, Value::LongInteger(i64::MIN)),
                prim(3, Value::LongInteger(i64::MAX)),
                prim(3, Value::LongInteger((1 << 52) - 1)),
                prim(3, Value::LongInteger(-(1 << 52))),
                prim(4, Value::BigInteger(vec![0x80, 0, 0, 0, 0, 0, 0, 1])),
                prim(4, Value::BigInteger(vec![])),
                prim(5, Value::Enumeration(u32::MAX)),
                prim(6, Value::Boolean(true)),
                prim(7, Value::TextString("q\"b\\s/\u{0}\u{1f}\n\tü😀".into())),
                prim(8, Value::ByteString(vec![0, 0xff])),
                prim(9, Value::DateTime(1_238_502_896)),
                prim(9, Value::DateTime(i64::MIN)),
                prim(10, Value::Interval(0)),
                prim(11, Value::DateTimeExtended(-1)),
                Ttlv::structure(t(12), vec![]),
                Ttlv::structure(
                    t(13),
                    vec![Ttlv::structure(t(14), vec![prim(6, Value::Boolean(false))])],
                ),
                Ttlv::new(Tag(0x42_0001), Value::DateTime(0)),
            ],
        );
        round_trip(&item);
    }

    #[test]
    fn writes_the_profile_shape() {
        let item = Ttlv::structure(
            t(1),
            vec![
                prim(2, Value::Integer(5)),
                prim(3, Value::LongInteger(1 << 53)),
                prim(5, Value::Enumeration(10)),
                Ttlv::structure(t(12), vec![Ttlv::new(Tag(0x42_0001), Value::DateTime(6))]),
                Ttlv::structure(t(13), vec![]),
            ],
        );
        assert_eq!(
            to_json(&item),
            r#"{"tag": "0x540001", "value": [
  {"tag": "0x540002", "type": "Integer", "value": 5},
  {"tag": "0x540003", "type": "LongInteger", "value": "0x0020000000000000"},
  {"tag": "0x540005", "type": "Enumeration", "value": "0x0000000a"},
  {"tag": "0x54000c", "value": [
    {"tag": "ActivationDate", "type": "DateTime", "value": "1970-01-01T00:00:06+00:00"}
  ]},
  {"tag": "0x54000d", "value": []}
]}"#
        );
    }

    #[test]
    fn reads_alternative_forms() {
        assert_eq!(
            one("Integer", "\"0x0000000C\"").unwrap(),
            Value::Integer(12)
        );
        assert_eq!(one("Integer", "\"0x4|0x8\"").unwrap(), Value::Integer(12));
        assert_eq!(one("Integer", "\"12\"").unwrap(), Value::Integer(12));
        assert_eq!(one("LongInteger", "-5").unwrap(), Value::LongInteger(-5));
        assert_eq!(
            one("LongInteger", "\"0x10\"").unwrap(),
            Value::LongInteger(16)
        );
        assert_eq!(
            one("BigInteger", "\"00ff\"").unwrap(),
            Value::BigInteger(vec![0, 0xff])
        );
        assert_eq!(
            one("BigInteger", "-1").unwrap(),
            Value::BigInteger(vec![0xff; 8])
        );
        assert_eq!(one("Enumeration", "10").unwrap(), Value::Enumeration(10));
        assert_eq!(one("Boolean", "\"true\"").unwrap(), Value::Boolean(true));
        assert_eq!(
            one("ByteString", "\"0xAB\"").unwrap(),
            Value::ByteString(vec![0xab])
        );
        assert_eq!(one("Interval", "\"0x10\"").unwrap(), Value::Interval(16));
        assert_eq!(
            one("DateTime", "\"$NOW-1\"").unwrap(),
            Value::DateTime(Placeholders::REFERENCE_NOW - 1)
        );
        let s = from_json(
            r#"{"tag": "0x540001", "type": "Structure", "value": []}"#,
            &opts(),
        );
        assert_eq!(s.unwrap(), Ttlv::structure(t(1), vec![]));
        let named = from_json(
            r#"{"tag": "ActivationDate", "type": "DateTime", "value": "0x1"}"#,
            &opts(),
        );
        assert_eq!(
            named.unwrap(),
            Ttlv::new(Tag(0x42_0001), Value::DateTime(1))
        );
        let hex_known = from_json(
            r#"{"tag": "0x420001", "type": "DateTime", "value": "0x1"}"#,
            &opts(),
        );
        assert_eq!(hex_known.unwrap().tag, Tag(0x42_0001));
    }

    #[test]
    fn placeholders_follow_the_policy() {
        let bs = r#"{"tag": "0x540001", "type": "ByteString", "value": "$KEY_MATERIAL_0"}"#;
        assert_eq!(
            from_json(bs, &opts()).unwrap_err().kind,
            DecodeErrorKind::UnresolvedPlaceholder("$KEY_MATERIAL_0".into())
        );
        let literal = JsonOptions {
            placeholders: Placeholders {
                policy: PlaceholderPolicy::Literal,
                now: 0,
            },
            ..opts()
        };
        assert_eq!(
            from_json(bs, &literal).unwrap().value,
            Value::ByteString(b"$KEY_MATERIAL_0".to_vec())
        );
        let dt = r#"{"tag": "0x540001", "type": "DateTime", "value": "$NOW+5"}"#;
        assert_eq!(from_json(dt, &literal).unwrap().value, Value::DateTime(5));
    }

    #[test]
    fn rejects_bad_values() {
        let cases = [
            ("Integer", "2147483648"),
            ("Integer", "1.5"),
            ("Integer", "true"),
            ("Integer", "\"Encrypt\""),
            ("LongInteger", "1e3"),
            ("LongInteger", "18446744073709551616"),
            ("LongInteger", "123456789012345678901234567890"),
            ("BigInteger", "\"0x1\""),
            ("Enumeration", "-1"),
            ("Enumeration", "4294967296"),
            ("Boolean", "1"),
            ("Boolean", "null"),
            ("TextString", "5"),
            ("ByteString", "\"abc\""),
            ("ByteString", "[]"),
            ("DateTime", "0"),
            ("DateTime", "\"yesterday\""),
            ("Interval", "-1"),
            ("DateTimeExtended", "{}"),
        ];
        for (ty, v) in cases {
            match one(ty, v) {
                Err(DecodeError {
                    kind: DecodeErrorKind::BadTextValue { item_type, .. },
                    offset: Some(_),
                }) => assert_eq!(item_type.name(), ty),
                other => panic!("{ty} {v}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_malformed_items() {
        let cases = [
            "",
            "[]",
            "{}",
            "null",
            r#"{"tag": "0x540001"}"#,
            r#"{"tag": 5, "value": []}"#,
            r#"{"tag": "0x540001", "type": 1, "value": 1}"#,
            r#"{"tag": "0x540001", "type": "Float", "value": 1}"#,
            r#"{"tag": "0x540001", "value": {}}"#,
            r#"{"tag": "0x540001", "value": [1]}"#,
            r#"{"tag": "0x540001", "value": [], "extra": 1}"#,
            r#"{"tag": "0x540001", "value": []} trailing"#,
            r#"{"tag": "0x540001", "value": [}"#,
            r#"{"tag": "0x1234567", "value": []}"#,
            "{\"tag\": \"0x540001\", \"type\": \"TextString\", \"value\": \"\\ud800\"}",
        ];
        for text in cases {
            assert!(from_json(text, &opts()).is_err(), "accepted {text}");
        }
        let e = from_json(r#"{"tag": "NoSuchTag", "value": []}"#, &opts()).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::UnknownTagName("NoSuchTag".into()));
        assert_eq!(e.offset, Some(8));
    }

    #[test]
    fn errors_carry_offsets() {
        let text = "{\"tag\": \"0x540001\", \"value\": [\n  {\"tag\": \"0x540002\", \"type\": \"Integer\", \"value\": 1},\n  {\"tag\": \"0x540003\", \"value\": [\n    {\"tag\": \"0x540004\", \"type\": \"Integer\", \"value\": \"x\"}\n  ]}\n]}";
        let e = from_json(text, &opts()).unwrap_err();
        assert_eq!(e.offset, Some(text.find("\"x\"").unwrap()));
        let text = "{\"tag\": \"0x540001\", \"value\": [\n  {\"tag\": \"Bogus\", \"value\": []}]}";
        let e = from_json(text, &opts()).unwrap_err();
        assert_eq!(e.offset, Some(text.find("\"Bogus\"").unwrap()));
        let text = "{\"tag\": \"0x540001\",\n \"value\": [,]}";
        let e = from_json(text, &opts()).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Syntax(_)));
        assert_eq!(e.offset, Some(text.rfind(',').unwrap()));
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let n = 100_000;
        let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(matches!(
            from_json(&deep, &opts()).unwrap_err().kind,
            DecodeErrorKind::TooDeep { limit: 32 }
        ));
        let nest = |d: usize| {
            format!(
                "{}{}",
                r#"{"tag": "0x540001", "value": ["#.repeat(d),
                "]}".repeat(d)
            )
        };
        assert!(from_json(&nest(32), &opts()).is_ok());
        assert_eq!(
            from_json(&nest(33), &opts()).unwrap_err().kind,
            DecodeErrorKind::TooDeep { limit: 32 }
        );
        // A generous depth limit still cannot push serde_json past its own.
        let lax = JsonOptions {
            limits: Limits {
                max_depth: 1_000_000,
                ..Limits::DEFAULT
            },
            ..opts()
        };
        assert!(from_json(&nest(200), &lax).is_err());

        let flat = format!(
            r#"{{"tag": "0x540001", "value": [{}{{"tag": "0x540002", "value": []}}]}}"#,
            r#"{"tag": "0x540002", "value": []},"#.repeat(199)
        );
        let small = JsonOptions {
            limits: Limits {
                max_items: 100,
                ..Limits::DEFAULT
            },
            ..opts()
        };
        assert_eq!(
            from_json(&flat, &small).unwrap_err().kind,
            DecodeErrorKind::TooManyItems { limit: 100 }
        );
        assert!(from_json(&flat, &opts()).is_ok());
        // Brackets inside strings do not count.
        let text = format!(
            r#"{{"tag": "0x540001", "type": "TextString", "value": "{}"}}"#,
            "[{".repeat(1000)
        );
        assert!(from_json(&text, &opts()).is_ok());
    }

    #[test]
    fn names_from_the_tables() {
        let text = r#"{"tag": "Attribute", "value": [
  {"tag": "AttributeName", "type": "TextString", "value": "Cryptographic Usage Mask"},
  {"tag": "AttributeValue", "type": "Integer", "value": "Encrypt|Decrypt"}
]}"#;
        let attr = from_json(text, &opts()).unwrap();
        assert_eq!(attr.children()[1].value, Value::Integer(12));
        assert_eq!(to_json(&attr), text);
        let alg = r#"{"tag": "CryptographicAlgorithm", "type": "Enumeration", "value": "AES"}"#;
        let item = from_json(alg, &opts()).unwrap();
        assert_eq!(item.value, Value::Enumeration(3));
        assert_eq!(to_json(&item), alg);
        let spaced =
            r#"{"tag": "CryptographicUsageMask", "type": "Integer", "value": "Sign Verify"}"#;
        assert_eq!(from_json(spaced, &opts()).unwrap().value, Value::Integer(3));
        let unnamed = Ttlv::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(i32::MIN));
        assert!(to_json(&unnamed).contains(r#""value": "0x80000000""#));
        round_trip(&unnamed);
    }

    #[test]
    fn never_panics_on_truncations() {
        let item = Ttlv::structure(
            t(1),
            vec![
                prim(7, Value::TextString("ü\"\\".into())),
                Ttlv::structure(t(2), vec![prim(8, Value::ByteString(vec![1, 2]))]),
            ],
        );
        let json = to_json(&item);
        for (i, _) in json.char_indices() {
            let _ = from_json(&json[..i], &opts());
            let _ = from_json(&json[i..], &opts());
        }
    }
}
