//! The tag and enumeration tables against the OASIS KMIP test vectors: every element
//! name, every named Enumeration value and every named mask bit the vectors use must
//! resolve. The vectors live outside the repository; `KEYGATE_OASIS_VECTORS` points
//! at them (default: `shared/kmip/vectors` beside the workspace).

use kmip::types::{
    enum_table, mask_table, CryptographicAlgorithm, CryptographicUsageMask, ObjectType, Operation,
    ResultReason,
};
use kmip::version::ProtocolVersion;
use kmip::Tag;
use std::path::{Path, PathBuf};

/// The root element of a vector file; a wrapper, not a KMIP tag.
const FILE_ROOT: &str = "KMIP";

#[test]
fn vectors_resolve_in_the_tables() {
    let dir = vectors_dir();
    let mut files = Vec::new();
    collect_xml(&dir, &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.xml under {}; set KEYGATE_OASIS_VECTORS to the OASIS test vectors",
        dir.display()
    );

    let mut checked = 0usize;
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        checked += check_file(&text, &mut |msg| {
            failures.push(format!("{}: {msg}", file.display()));
        });
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} names in {} files did not resolve (listed above)",
        failures.len(),
        files.len()
    );
    assert!(checked > 1000, "only {checked} names checked");
}

#[test]
fn known_values() {
    assert_eq!(Tag::OBJECT_TYPE, Tag(0x42_0057));
    assert_eq!(Tag(0x42_0057).name(), Some("ObjectType"));
    assert_eq!(Tag::from_name("ObjectType"), Some(Tag(0x42_0057)));
    assert_eq!(Tag::from_spec_name("Object Type"), Some(Tag(0x42_0057)));
    assert_eq!(
        Tag::from_name("X_509CertificateIdentifier"),
        Some(Tag(0x42_00B5))
    );
    assert_eq!(Tag::from_name("PKCS_11Function"), Some(Tag(0x42_015A)));
    assert_eq!(
        Tag::from_spec_name("Cryptographic Usage Mask"),
        Some(Tag::CRYPTOGRAPHIC_USAGE_MASK)
    );
    assert!(Tag::TEMPLATE_ATTRIBUTE.defined_in(ProtocolVersion::V1_4));
    assert!(!Tag::TEMPLATE_ATTRIBUTE.defined_in(ProtocolVersion::V2_0));
    assert!(Tag::ATTRIBUTES.defined_in(ProtocolVersion::V2_0));
    assert!(!Tag::ATTRIBUTES.defined_in(ProtocolVersion::V1_4));
    assert!(Tag::ATTRIBUTE_NAME.defined_in(ProtocolVersion::V2_1));
    assert!(Tag::OBJECT_GROUPS.defined_in(ProtocolVersion::V2_1));
    assert!(!Tag::OBJECT_GROUPS.defined_in(ProtocolVersion::V2_0));

    assert_eq!(ObjectType::SymmetricKey.value(), 2);
    assert_eq!(CryptographicAlgorithm::Aes.value(), 3);
    assert_eq!(Operation::Create.value(), 1);
    assert_eq!(Operation::Interop.value(), 0x34);
    assert!(Operation::TABLE.defined_in(0x34, ProtocolVersion::V2_0));
    assert!(!Operation::TABLE.defined_in(0x34, ProtocolVersion::V1_4));
    assert_eq!(CryptographicUsageMask::Encrypt.value(), 4);

    for (reason, value) in [
        (ResultReason::ItemNotFound, 0x01),
        (ResultReason::ResponseTooLarge, 0x02),
        (ResultReason::AuthenticationNotSuccessful, 0x03),
        (ResultReason::InvalidMessage, 0x04),
        (ResultReason::OperationNotSupported, 0x05),
        (ResultReason::MissingData, 0x06),
        (ResultReason::InvalidField, 0x07),
        (ResultReason::FeatureNotSupported, 0x08),
        (ResultReason::OperationCanceledByRequester, 0x09),
        (ResultReason::CryptographicFailure, 0x0A),
        (ResultReason::IllegalOperation, 0x0B),
        (ResultReason::PermissionDenied, 0x0C),
        (ResultReason::ObjectArchived, 0x0D),
        (ResultReason::IndexOutOfBounds, 0x0E),
        (ResultReason::ApplicationNamespaceNotSupported, 0x0F),
        (ResultReason::KeyFormatTypeNotSupported, 0x10),
        (ResultReason::KeyCompressionTypeNotSupported, 0x11),
        (ResultReason::EncodingOptionError, 0x12),
        (ResultReason::KeyValueNotPresent, 0x13),
        (ResultReason::AttestationRequired, 0x14),
        (ResultReason::AttestationFailed, 0x15),
        (ResultReason::Sensitive, 0x16),
        (ResultReason::NotExtractable, 0x17),
        (ResultReason::ObjectAlreadyExists, 0x18),
        (ResultReason::GeneralFailure, 0x100),
    ] {
        assert_eq!(reason.value(), value, "{reason:?}");
    }

    let ot = enum_table(Tag::OBJECT_TYPE).expect("Object Type table");
    assert_eq!(ot.by_name("SymmetricKey").map(|e| e.value), Some(2));
    let cum = mask_table(Tag::CRYPTOGRAPHIC_USAGE_MASK).expect("usage mask table");
    assert_eq!(cum.by_name("Decrypt").map(|e| e.value), Some(8));
}

fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("KEYGATE_OASIS_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/kmip/vectors"
            ))
        });
    assert!(
        dir.is_dir(),
        "the OASIS KMIP test vectors are missing: {} is not a directory; set \
         KEYGATE_OASIS_VECTORS to the folder holding the vectors' *.xml files",
        dir.display()
    );
    dir
}

fn collect_xml(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_xml(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

/// One start tag of the XML text.
struct Element<'a> {
    name: &'a str,
    item_type: Option<String>,
    value: Option<String>,
    self_closing: bool,
}

/// What a structure's children so far say about a following Attribute Value.
#[derive(Default)]
struct Frame {
    /// The value of the last Attribute Name child.
    attribute_name: Option<String>,
    /// A Vendor Identification child was seen: the attribute is a 2.x vendor attribute.
    vendor: bool,
}

/// Checks every element of one file; returns how many names it checked.
fn check_file(text: &str, fail: &mut dyn FnMut(String)) -> usize {
    let mut checked = 0;
    let mut frames = vec![Frame::default()];
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(end) = rest.find('>') else {
            fail("unterminated tag".to_owned());
            break;
        };
        let tag_text = &rest[1..end];
        rest = &rest[end + 1..];
        if tag_text.starts_with('?') || tag_text.starts_with('!') {
            continue;
        }
        if tag_text.starts_with('/') {
            frames.pop();
            continue;
        }
        let el = parse_element(tag_text);
        let frame = frames
            .last_mut()
            .expect("the document frame is never popped");
        checked += check_element(&el, frame, fail);
        match el.name {
            "AttributeName" => frame.attribute_name = el.value.clone(),
            "VendorIdentification" => frame.vendor = true,
            _ => {}
        }
        if !el.self_closing {
            frames.push(Frame::default());
        }
    }
    checked
}

fn check_element(el: &Element<'_>, siblings: &Frame, fail: &mut dyn FnMut(String)) -> usize {
    if el.name == FILE_ROOT {
        return 0;
    }
    let Some(tag) = Tag::from_name(el.name) else {
        fail(format!("element <{}> is not a known tag", el.name));
        return 1;
    };
    let (Some(item_type), Some(value)) = (el.item_type.as_deref(), el.value.as_deref()) else {
        return 1;
    };
    // A KMIP 1.x Attribute Value is named by the Attribute Name before it.
    let table_tag = match (tag, siblings.attribute_name.as_deref()) {
        (Tag::ATTRIBUTE_VALUE, Some(name)) => {
            if siblings.vendor || is_custom_attribute(name) {
                return 1;
            }
            match Tag::from_spec_name(name) {
                Some(t) => t,
                None => {
                    fail(format!("Attribute Name {name:?} is not a known tag"));
                    return 1;
                }
            }
        }
        _ => tag,
    };
    match item_type {
        "Enumeration" if !is_literal(value) => {
            if enum_table(table_tag)
                .and_then(|t| t.by_name(value))
                .is_none()
            {
                fail(format!(
                    "<{}> Enumeration {value:?} not in the table of {table_tag:?}",
                    el.name
                ));
            }
            2
        }
        "Integer" if !is_literal(value) && !is_number(value) => {
            let Some(table) = mask_table(table_tag) else {
                fail(format!(
                    "<{}> Integer {value:?}: {table_tag:?} has no mask table",
                    el.name
                ));
                return 2;
            };
            for bit in value.split([' ', '|']).filter(|b| !b.is_empty()) {
                if table.by_name(bit).is_none() {
                    fail(format!(
                        "<{}> mask bit {bit:?} not in {}",
                        el.name, table.name
                    ));
                }
            }
            2
        }
        _ => 1,
    }
}

/// KMIP 1.x custom attributes: `x-` (client) and `y-` (server) names.
fn is_custom_attribute(name: &str) -> bool {
    name.starts_with("x-") || name.starts_with("y-")
}

/// Hex (`0x8000_0001`) and placeholder (`$NOW`) values need no table.
fn is_literal(value: &str) -> bool {
    value.starts_with("0x") || value.starts_with("0X") || value.starts_with('$')
}

fn is_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn parse_element(tag_text: &str) -> Element<'_> {
    let self_closing = tag_text.ends_with('/');
    let body = tag_text.trim_end_matches('/');
    let name_end = body
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(body.len());
    Element {
        name: &body[..name_end],
        item_type: attribute(body, "type"),
        value: attribute(body, "value"),
        self_closing,
    }
}

/// The unescaped value of attribute `key` in a start tag's text.
fn attribute(body: &str, key: &str) -> Option<String> {
    let mut rest = body;
    while let Some(pos) = rest.find(key) {
        let before_ok = pos > 0 && rest.as_bytes()[pos - 1].is_ascii_whitespace();
        let after = &rest[pos + key.len()..];
        if before_ok {
            if let Some(quoted) = after.trim_start().strip_prefix('=') {
                let quoted = quoted.trim_start();
                let quote = quoted.chars().next()?;
                if quote == '"' || quote == '\'' {
                    let inner = &quoted[1..];
                    let end = inner.find(quote)?;
                    return Some(unescape(&inner[..end]));
                }
            }
        }
        rest = after;
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
