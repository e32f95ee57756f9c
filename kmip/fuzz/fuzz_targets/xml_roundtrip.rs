//! KMIP XML: whatever parses must print to XML that parses to the same tree.
#![no_main]

use kmip::ttlv::xml::{from_xml, to_xml, XmlOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let options = XmlOptions::default();
    if let Ok(first) = from_xml(text, &options) {
        let printed = to_xml(&first);
        let second = from_xml(&printed, &options).expect("printed XML must parse");
        assert_eq!(first, second, "printed as:\n{printed}");
    }
});
