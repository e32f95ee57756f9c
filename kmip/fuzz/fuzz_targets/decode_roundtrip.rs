//! Binary TTLV: whatever decodes must re-encode to bytes that decode to the same
//! tree, and encoding must be stable (a second encode gives the same bytes).
//! Typed messages: whatever decodes as a request or response must encode (in its
//! own version, through the version gate) to a tree that decodes again; from the
//! second encoding on, encode/decode is a fixed point. (The first encoding may still
//! change a raw payload: the gate drops what the version lacks, e.g. a 1.x
//! Template-Attribute in a 2.x message, and the remainder may then decode typed.)
#![no_main]

use kmip::messages::{RequestMessage, ResponseMessage};
use kmip::ttlv::{binary, Ttlv};
use kmip::version::ProtocolVersion;
use kmip::Limits;

/// True when the tree holds a standard tag that `version` does not define. Such a
/// message cannot be expressed in its own version: encoding it gates the tag away,
/// and when the tag was a required field the result no longer decodes. That is the
/// gate doing its job, not a codec bug, so the decode-again check is skipped.
fn has_undefined_tags(t: &Ttlv, version: ProtocolVersion) -> bool {
    (t.tag.is_known() && !t.tag.defined_in(version))
        || t.children().iter().any(|c| has_undefined_tags(c, version))
}
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::DEFAULT;
    if let Ok(first) = binary::decode(data, &limits) {
        let encoded = binary::encode(&first);
        let second = binary::decode(&encoded, &limits).expect("re-encoded message must decode");
        assert_eq!(first, second);
        assert_eq!(binary::encode(&second), encoded);

        if let Ok(m) = RequestMessage::from_ttlv(&first) {
            let m2 = match RequestMessage::from_ttlv(&m.to_ttlv()) {
                Ok(m2) => m2,
                Err(_) if has_undefined_tags(&first, m.version()) => return,
                Err(e) => panic!("encoded request must decode: {e:?}"),
            };
            let t2 = m2.to_ttlv();
            let m3 = RequestMessage::from_ttlv(&t2).expect("normal form must decode");
            assert_eq!(m3, m2, "request normal form must be stable");
            assert_eq!(m3.to_ttlv(), t2);
        }
        if let Ok(m) = ResponseMessage::from_ttlv(&first) {
            let m2 = match ResponseMessage::from_ttlv(&m.to_ttlv()) {
                Ok(m2) => m2,
                Err(_) if has_undefined_tags(&first, m.version()) => return,
                Err(e) => panic!("encoded response must decode: {e:?}"),
            };
            let t2 = m2.to_ttlv();
            let m3 = ResponseMessage::from_ttlv(&t2).expect("normal form must decode");
            assert_eq!(m3, m2, "response normal form must be stable");
            assert_eq!(m3.to_ttlv(), t2);
        }
    }
});
