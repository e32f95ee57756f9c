//! Binary TTLV: whatever decodes must re-encode to bytes that decode to the same
//! tree, and encoding must be stable (a second encode gives the same bytes).
#![no_main]

use kmip::ttlv::binary;
use kmip::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::DEFAULT;
    if let Ok(first) = binary::decode(data, &limits) {
        let encoded = binary::encode(&first);
        let second = binary::decode(&encoded, &limits).expect("re-encoded message must decode");
        assert_eq!(first, second);
        assert_eq!(binary::encode(&second), encoded);
    }
});
