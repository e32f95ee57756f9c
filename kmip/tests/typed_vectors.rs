//! Every message of every OASIS vector file parses into typed messages and round-trips
//! XML -> typed -> binary -> typed -> XML -> typed, and typed -> JSON -> typed, equal
//! each time (issue: "How it is checked").

use kmip::messages::payloads::TYPED_OPERATIONS;
use kmip::messages::{RequestMessage, RequestPayload, ResponseMessage, ResponsePayload};
use kmip::ttlv::xml::{self, PlaceholderPolicy, XmlOptions};
use kmip::ttlv::{binary, json, Tag, Ttlv};
use kmip::types::ResultStatus;
use kmip::Limits;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("KEYGATE_OASIS_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/kmip/vectors"));
    assert!(
        dir.is_dir(),
        "OASIS vectors not found at {}: set KEYGATE_OASIS_VECTORS to the vectors folder",
        dir.display()
    );
    dir
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read vectors dir") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
    out.sort();
}

fn opts() -> XmlOptions {
    let mut o = XmlOptions::default();
    o.placeholders.policy = PlaceholderPolicy::Literal;
    o
}

#[derive(Debug, PartialEq)]
enum Typed {
    Req(Box<RequestMessage>),
    Resp(Box<ResponseMessage>),
}

fn typed(t: &Ttlv) -> Result<Typed, String> {
    if t.tag == Tag::REQUEST_MESSAGE {
        let m = RequestMessage::from_ttlv(t).map_err(|e| e.to_string())?;
        for (i, b) in m.batch_items.iter().enumerate() {
            if let Some(e) = &b.payload_error {
                return Err(format!("batch item {i} ({:?}): {e}", b.operation));
            }
            if TYPED_OPERATIONS.contains(&b.operation)
                && matches!(b.payload, RequestPayload::Raw(_))
            {
                return Err(format!("batch item {i} ({:?}) stayed raw", b.operation));
            }
        }
        Ok(Typed::Req(Box::new(m)))
    } else {
        let m = ResponseMessage::from_ttlv(t).map_err(|e| e.to_string())?;
        for (i, b) in m.batch_items.iter().enumerate() {
            let typed_op = b.operation.is_some_and(|o| TYPED_OPERATIONS.contains(&o));
            if typed_op
                && b.result_status == ResultStatus::Success
                && matches!(b.payload, Some(ResponsePayload::Raw(_)))
            {
                return Err(format!("response item {i} ({:?}) stayed raw", b.operation));
            }
        }
        Ok(Typed::Resp(Box::new(m)))
    }
}

fn encode(m: &Typed) -> Ttlv {
    match m {
        Typed::Req(r) => r.to_ttlv(),
        Typed::Resp(r) => r.to_ttlv(),
    }
}

#[test]
fn every_vector_message_round_trips_through_typed_messages() {
    let mut files = Vec::new();
    xml_files(&vectors_dir(), &mut files);
    assert!(
        files.len() > 100,
        "expected the OASIS vector set, found {} files",
        files.len()
    );
    let limits = Limits::DEFAULT;
    let mut failures = Vec::new();
    let mut messages = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read vector");
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let msgs = match xml::parse_conversation(&text, &opts()) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: xml: {e}"));
                continue;
            }
        };
        for (i, t) in msgs.iter().enumerate() {
            messages += 1;
            let step = |what: &str, e: String| format!("{name} message {i}: {what}: {e}");
            let a = match typed(t) {
                Ok(a) => a,
                Err(e) => {
                    failures.push(step("typed decode", e));
                    continue;
                }
            };
            let bin = binary::encode(&encode(&a));
            let b = binary::decode(&bin, &limits)
                .map_err(|e| e.to_string())
                .and_then(|t| typed(&t));
            match b {
                Ok(b) if b == a => {}
                Ok(b) => {
                    failures.push(step(
                        "binary round trip differs",
                        format!("{:#?}\n!=\n{:#?}", a, b),
                    ));
                    continue;
                }
                Err(e) => {
                    failures.push(step("binary re-decode", e));
                    continue;
                }
            }
            let x = xml::to_xml(&encode(&a));
            match xml::from_xml(&x, &opts())
                .map_err(|e| e.to_string())
                .and_then(|t| typed(&t))
            {
                Ok(c) if c == a => {}
                Ok(_) => failures.push(step("xml round trip differs", x.clone())),
                Err(e) => failures.push(step("xml re-decode", e)),
            }
            let j = json::to_json(&encode(&a));
            match json::from_json(&j, &Default::default())
                .map_err(|e| e.to_string())
                .and_then(|t| typed(&t))
            {
                Ok(c) if c == a => {}
                Ok(_) => failures.push(step("json round trip differs", j.clone())),
                Err(e) => failures.push(step("json re-decode", e)),
            }
        }
    }
    for f in failures.iter().take(40) {
        eprintln!("FAIL {f}\n");
    }
    assert!(
        failures.is_empty(),
        "{} of {messages} messages failed",
        failures.len()
    );
    eprintln!(
        "{messages} messages from {} files round-tripped",
        files.len()
    );
    assert!(messages > 1000);
}
