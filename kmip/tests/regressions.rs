//! Inputs the fuzzers found, kept as regression tests (kmip/tests/regressions/*.bin).

use kmip::error::DecodeErrorKind;
use kmip::messages::{RequestMessage, ResponseMessage};
use kmip::ttlv::binary;
use kmip::Limits;

/// True when the tree holds a standard tag its version does not define (such a
/// message cannot be re-expressed in its own version; see the fuzz target).
fn has_undefined_tags(t: &kmip::ttlv::Ttlv, version: kmip::version::ProtocolVersion) -> bool {
    (t.tag.is_known() && !t.tag.defined_in(version))
        || t.children().iter().any(|c| has_undefined_tags(c, version))
}

/// A Template (removed in KMIP 2.0) as the object of a 2.1 Get answer: encoding for
/// 2.1 gates it away, and the answer then lacks its required object. The decode
/// error is the expected outcome for a message its own version cannot express.
#[test]
fn template_in_a_2_1_answer_cannot_be_re_expressed() {
    let tree = binary::decode(&load("template-object-in-2-1-get.bin"), &Limits::DEFAULT)
        .expect("valid TTLV");
    let m = ResponseMessage::from_ttlv(&tree).expect("decodes as received");
    assert!(has_undefined_tags(&tree, m.version()));
    let e =
        ResponseMessage::from_ttlv(&m.to_ttlv()).expect_err("the gated answer lacks its object");
    assert!(matches!(e.kind, DecodeErrorKind::MissingField(_)), "{e}");
}

fn load(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every regression input: binary round trip stable; typed normal form stable.
#[test]
fn regressions_keep_their_properties() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("regressions dir") {
        let data = std::fs::read(e.expect("entry").path()).expect("read");
        n += 1;
        let Ok(tree) = binary::decode(&data, &Limits::DEFAULT) else {
            continue;
        };
        assert_eq!(
            binary::decode(&binary::encode(&tree), &Limits::DEFAULT).expect("re-decode"),
            tree
        );
        if let Ok(m) = RequestMessage::from_ttlv(&tree) {
            match RequestMessage::from_ttlv(&m.to_ttlv()) {
                Ok(m2) => {
                    let m3 = RequestMessage::from_ttlv(&m2.to_ttlv()).expect("normal form decodes");
                    assert_eq!(m3, m2);
                }
                Err(e) => assert!(has_undefined_tags(&tree, m.version()), "request: {e}"),
            }
        }
        if let Ok(m) = ResponseMessage::from_ttlv(&tree) {
            match ResponseMessage::from_ttlv(&m.to_ttlv()) {
                Ok(m2) => {
                    let m3 =
                        ResponseMessage::from_ttlv(&m2.to_ttlv()).expect("normal form decodes");
                    assert_eq!(m3, m2);
                }
                Err(e) => assert!(has_undefined_tags(&tree, m.version()), "response: {e}"),
            }
        }
    }
    assert!(n >= 1);
}

/// A message claiming protocol version 0.1 is refused as unsupported (the version
/// gate would otherwise strip every tag from the answer).
#[test]
fn version_zero_is_unsupported() {
    let tree =
        binary::decode(&load("version-0-1-response.bin"), &Limits::DEFAULT).expect("valid TTLV");
    let e = ResponseMessage::from_ttlv(&tree).expect_err("0.1 must be refused");
    assert!(
        matches!(e.kind, DecodeErrorKind::UnsupportedVersion(v) if v.major == 0 && v.minor == 1),
        "{e}"
    );
}

/// XML inputs the fuzzer found: each either is refused or round-trips.
#[test]
fn xml_regressions_round_trip_or_fail_cleanly() {
    use kmip::ttlv::xml::{from_xml, to_xml, XmlOptions};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("regressions dir") {
        let p = e.expect("entry").path();
        if p.extension().is_none_or(|x| x != "xml") {
            continue;
        }
        n += 1;
        let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
        if let Ok(t) = from_xml(&text, &XmlOptions::default()) {
            let again = from_xml(&to_xml(&t), &XmlOptions::default()).expect("printed XML parses");
            assert_eq!(again, t, "{}", p.display());
        }
    }
    assert!(n >= 2, "expected the XML regression inputs");
}

/// A raw NUL in XML text is refused with a syntax error at its offset (XML 1.0
/// cannot carry it, so accepting it would produce an unprintable tree).
#[test]
fn raw_nul_in_xml_is_refused() {
    use kmip::ttlv::xml::{from_xml, XmlOptions};
    let e = from_xml(
        "<UniqueIdentifier type=\"TextString\" value=\"a\0b\"/>",
        &XmlOptions::default(),
    )
    .expect_err("NUL must be refused");
    assert!(matches!(e.kind, DecodeErrorKind::Syntax(_)), "{e}");
    // 17 (<UniqueIdentifier) + 1 + 17 (type="TextString") + 1 + 7 (value=") + 1 (a)
    assert_eq!(e.offset, Some(44));
}
