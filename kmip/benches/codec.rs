//! Codec throughput over the OASIS KMIP test vectors, and the `kmip-ttlv` crate side by
//! side (see BENCHMARKS.md, "kmip codec", for what each line compares).
//!
//! Every message of every vector file (`$KEYGATE_OASIS_VECTORS`, by default the
//! shared copy beside the workspace) is converted to binary TTLV once; each benchmark
//! iteration then processes the whole set, so throughput is in bytes of binary TTLV
//! and in messages.
//!
//! ```text
//! cargo bench -p kmip --bench codec -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use kmip::messages::{RequestMessage, ResponseMessage};
use kmip::ttlv::xml::{self, PlaceholderPolicy, XmlOptions};
use kmip::ttlv::{binary, Tag, Ttlv, Value};
use kmip::Limits;
use std::hint::black_box;
use std::path::{Path, PathBuf};

const VECTORS_VAR: &str = "KEYGATE_OASIS_VECTORS";
const DEFAULT_VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/kmip/vectors");

/// The binary messages of one benchmark set.
struct Corpus {
    messages: Vec<Vec<u8>>,
    bytes: u64,
}

impl Corpus {
    fn new(messages: Vec<Vec<u8>>) -> Self {
        let bytes = messages.iter().map(|m| m.len() as u64).sum();
        Self { messages, bytes }
    }

    fn throughput(&self) -> Throughput {
        Throughput::ElementsAndBytes {
            elements: self.messages.len() as u64,
            bytes: self.bytes,
        }
    }
}

fn vectors_dir() -> PathBuf {
    let dir =
        std::env::var_os(VECTORS_VAR).map_or_else(|| PathBuf::from(DEFAULT_VECTORS), PathBuf::from);
    assert!(
        dir.is_dir(),
        "OASIS vectors not found at {}: set {VECTORS_VAR}",
        dir.display()
    );
    dir
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
}

/// Every message of every vector file, as TTLV trees.
fn vector_messages() -> Vec<Ttlv> {
    let mut opts = XmlOptions::default();
    opts.placeholders.policy = PlaceholderPolicy::Literal;
    let mut files = Vec::new();
    xml_files(&vectors_dir(), &mut files);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read vector");
        let msgs = xml::parse_conversation(&text, &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        out.extend(msgs);
    }
    out
}

/// Item counts of a set of trees: all items, and those that own a heap allocation
/// in the tree (structures, text, byte and big-integer strings).
#[derive(Default)]
struct ItemCounts {
    items: u64,
    structures: u64,
    strings: u64,
}

impl ItemCounts {
    fn add(&mut self, t: &Ttlv) {
        self.items += 1;
        match &t.value {
            Value::Structure(c) => {
                self.structures += 1;
                c.iter().for_each(|c| self.add(c));
            }
            Value::TextString(_) | Value::ByteString(_) | Value::BigInteger(_) => self.strings += 1,
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// kmip-ttlv, generic: a tree built with its low-level field readers

mod kmip_ttlv_generic {
    use super::{Tag, Ttlv, Value};
    use kmip_ttlv::types::{
        Result, SerializableTtlvType, TtlvBigInteger, TtlvBoolean, TtlvByteString, TtlvDateTime,
        TtlvEnumeration, TtlvInteger, TtlvLength, TtlvLongInteger, TtlvTag, TtlvTextString,
        TtlvType,
    };
    use std::io::Cursor;

    /// Decodes one whole message into the same tree type as Keygate's decoder, with
    /// kmip-ttlv reading every tag, type, length and value. kmip-ttlv 0.3 has no
    /// Interval or Date Time Extended type: a message with one fails here.
    pub fn decode(bytes: &[u8]) -> Result<Ttlv> {
        let mut cur = Cursor::new(bytes);
        item(&mut cur)
    }

    fn item(cur: &mut Cursor<&[u8]>) -> Result<Ttlv> {
        let tag = Tag(*TtlvTag::read(cur)?);
        let value = match TtlvType::read(cur)? {
            TtlvType::Structure => {
                let end = cur.position() + u64::from(*TtlvLength::read(cur)?);
                let mut children = Vec::new();
                while cur.position() < end {
                    children.push(item(cur)?);
                }
                Value::Structure(children)
            }
            TtlvType::Integer => Value::Integer(TtlvInteger::read(cur)?.0),
            TtlvType::LongInteger => Value::LongInteger(TtlvLongInteger::read(cur)?.0),
            TtlvType::BigInteger => Value::BigInteger(TtlvBigInteger::read(cur)?.0),
            TtlvType::Enumeration => Value::Enumeration(TtlvEnumeration::read(cur)?.0),
            TtlvType::Boolean => Value::Boolean(TtlvBoolean::read(cur)?.0),
            TtlvType::TextString => Value::TextString(TtlvTextString::read(cur)?.0),
            TtlvType::ByteString => Value::ByteString(TtlvByteString::read(cur)?.0),
            TtlvType::DateTime => Value::DateTime(TtlvDateTime::read(cur)?.0),
        };
        Ok(Ttlv::new(tag, value))
    }
}

// ---------------------------------------------------------------------------
// kmip-ttlv, typed: serde structures for the KMIP 1.x Create request of the vectors
// (header, one batch item, Object Type, TemplateAttribute of Attribute Name/Value),
// in the style of the kmip-protocol crate that kmip-ttlv was written for.

mod kmip_ttlv_typed {
    #![allow(dead_code)] // fields are read by the decoder, not by the benchmark

    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420078")]
    pub struct RequestMessage {
        pub header: RequestHeader,
        pub items: Vec<BatchItem>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420077")]
    pub struct RequestHeader {
        pub version: ProtocolVersion,
        #[serde(rename = "0x42000D")]
        pub batch_count: i32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420069")]
    pub struct ProtocolVersion {
        #[serde(rename = "0x42006A")]
        pub major: i32,
        #[serde(rename = "0x42006B")]
        pub minor: i32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x42000F")]
    pub struct BatchItem {
        pub operation: Operation,
        pub payload: CreatePayload,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x42005C")]
    pub enum Operation {
        #[serde(rename = "0x00000001")]
        Create,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420079")]
    pub struct CreatePayload {
        pub object_type: ObjectType,
        pub template: TemplateAttribute,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420057")]
    pub enum ObjectType {
        #[serde(rename = "0x00000002")]
        SymmetricKey,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420091")]
    pub struct TemplateAttribute {
        pub attributes: Vec<Attribute>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420008")]
    pub struct Attribute {
        #[serde(rename = "0x42000A")]
        pub name: String,
        pub value: AttributeValue,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x42000B")]
    pub enum AttributeValue {
        #[serde(rename = "if 0x42000A==Cryptographic Algorithm")]
        CryptographicAlgorithm(CryptographicAlgorithm),
        #[serde(rename = "if 0x42000A==Name")]
        Name(NameValue, NameType),
        #[serde(rename = "if 0x42000A==Cryptographic Parameters")]
        CryptographicParameters(CryptographicParameters),
        #[serde(rename = "if type==Integer")]
        Integer(i32),
        #[serde(rename = "if type==TextString")]
        TextString(String),
        #[serde(rename = "if type==DateTime")]
        DateTime(i64),
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420028")]
    pub enum CryptographicAlgorithm {
        #[serde(rename = "0x00000001")]
        Des,
        #[serde(rename = "0x00000002")]
        TripleDes,
        #[serde(rename = "0x00000003")]
        Aes,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420055")]
    pub struct NameValue(pub String);

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420054")]
    pub enum NameType {
        #[serde(rename = "0x00000001")]
        UninterpretedTextString,
        #[serde(rename = "0x00000002")]
        Uri,
    }

    /// As an Attribute Value the structure travels under the Attribute Value tag.
    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x42000B")]
    pub struct CryptographicParameters {
        #[serde(rename = "0x420011")]
        pub block_cipher_mode: Option<BlockCipherMode>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "0x420011")]
    pub enum BlockCipherMode {
        #[serde(rename = "0x00000001")]
        Cbc,
        #[serde(rename = "0x00000002")]
        Ecb,
        #[serde(rename = "0x00000003")]
        Pcbc,
        #[serde(rename = "0x00000004")]
        Cfb,
        #[serde(rename = "0x00000005")]
        Ofb,
        #[serde(rename = "0x00000006")]
        Ctr,
        #[serde(rename = "0x00000007")]
        Cmac,
        #[serde(rename = "0x00000008")]
        Ccm,
        #[serde(rename = "0x00000009")]
        Gcm,
    }

    pub fn decode(bytes: &[u8]) -> kmip_ttlv::error::Result<RequestMessage> {
        kmip_ttlv::from_slice(bytes)
    }
}

// ---------------------------------------------------------------------------

fn is_request(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x42, 0x00, 0x78])
}

fn bench_keygate_decode(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    c: &Corpus,
) {
    let limits = Limits::DEFAULT;
    g.throughput(c.throughput());
    g.bench_function(name, |b| {
        b.iter(|| {
            for m in &c.messages {
                black_box(binary::decode(black_box(m), &limits).expect("decodes"));
            }
        })
    });
}

fn bench_keygate_typed(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    c: &Corpus,
) {
    let limits = Limits::DEFAULT;
    g.throughput(c.throughput());
    g.bench_function(name, |b| {
        b.iter(|| {
            for m in &c.messages {
                if is_request(m) {
                    black_box(RequestMessage::decode(black_box(m), &limits).expect("request"));
                } else {
                    black_box(ResponseMessage::decode(black_box(m), &limits).expect("response"));
                }
            }
        })
    });
}

fn codec(crit: &mut Criterion) {
    let trees = vector_messages();
    let all = Corpus::new(trees.iter().map(binary::encode).collect());
    let mut counts = ItemCounts::default();
    trees.iter().for_each(|t| counts.add(t));
    eprintln!(
        "corpus: {} messages, {} bytes of binary TTLV, {} TTLV items \
         ({} structures, {} text/byte/big-integer strings)",
        all.messages.len(),
        all.bytes,
        counts.items,
        counts.structures,
        counts.strings,
    );

    // Keygate alone, over every vector message.
    let mut g = crit.benchmark_group("keygate");
    bench_keygate_decode(&mut g, "decode_ttlv", &all);
    // The checking pass alone: the first half of `decode_typed`.
    g.bench_function("validate_ttlv", |b| {
        let limits = Limits::DEFAULT;
        b.iter(|| {
            for m in &all.messages {
                black_box(binary::validate(black_box(m), &limits).expect("valid"));
            }
        })
    });
    bench_keygate_typed(&mut g, "decode_typed", &all);

    let requests: Vec<RequestMessage> = all
        .messages
        .iter()
        .filter(|m| is_request(m))
        .map(|m| RequestMessage::decode(m, &Limits::DEFAULT).expect("request"))
        .collect();
    let responses: Vec<ResponseMessage> = all
        .messages
        .iter()
        .filter(|m| !is_request(m))
        .map(|m| ResponseMessage::decode(m, &Limits::DEFAULT).expect("response"))
        .collect();
    let encoded: u64 = requests
        .iter()
        .map(|r| r.encode().len() as u64)
        .sum::<u64>()
        + responses
            .iter()
            .map(|r| r.encode().len() as u64)
            .sum::<u64>();
    g.throughput(Throughput::ElementsAndBytes {
        elements: (requests.len() + responses.len()) as u64,
        bytes: encoded,
    });
    g.bench_function("encode_typed", |b| {
        b.iter(|| {
            for r in &requests {
                black_box(black_box(r).encode());
            }
            for r in &responses {
                black_box(black_box(r).encode());
            }
        })
    });
    g.bench_function("encode_ttlv", |b| {
        b.iter(|| {
            for t in &trees {
                black_box(binary::encode(black_box(t)));
            }
        })
    });
    g.finish();

    // Generic tree decoding, on the messages kmip-ttlv can read (no Interval or
    // Date Time Extended); both decoders must give the same tree.
    let generic = Corpus::new(
        all.messages
            .iter()
            .filter(|m| match kmip_ttlv_generic::decode(m) {
                Ok(t) => {
                    assert_eq!(t, binary::decode(m, &Limits::DEFAULT).expect("decodes"));
                    true
                }
                Err(_) => false,
            })
            .cloned()
            .collect(),
    );
    eprintln!(
        "generic subset: {} messages, {} bytes",
        generic.messages.len(),
        generic.bytes
    );
    let mut g = crit.benchmark_group("generic_tree");
    bench_keygate_decode(&mut g, "keygate", &generic);
    g.bench_function("kmip_ttlv", |b| {
        b.iter(|| {
            for m in &generic.messages {
                black_box(kmip_ttlv_generic::decode(black_box(m)).expect("decodes"));
            }
        })
    });
    g.finish();

    // Typed decoding of the KMIP 1.x Create requests of the vectors.
    let creates = Corpus::new(
        all.messages
            .iter()
            .filter(|m| is_request(m))
            .filter(|m| {
                let t = binary::decode(m, &Limits::DEFAULT).expect("decodes");
                let create = t.children_with(Tag::BATCH_ITEM).count() == 1
                    && t.child(Tag::BATCH_ITEM)
                        .and_then(|b| b.child(Tag::OPERATION))
                        .is_some_and(|o| o.value == Value::Enumeration(0x01))
                    && t.child(Tag::REQUEST_HEADER)
                        .and_then(|h| h.child(Tag::PROTOCOL_VERSION))
                        .and_then(|v| v.child(Tag::PROTOCOL_VERSION_MAJOR))
                        .is_some_and(|v| v.value == Value::Integer(1));
                create
                    && kmip_ttlv_typed::decode(m)
                        .map_err(|e| eprintln!("kmip-ttlv cannot decode a Create request: {e}"))
                        .is_ok()
            })
            .cloned()
            .collect(),
    );
    eprintln!(
        "Create subset: {} messages, {} bytes",
        creates.messages.len(),
        creates.bytes
    );
    let mut g = crit.benchmark_group("create_request_typed");
    bench_keygate_typed(&mut g, "keygate", &creates);
    g.bench_function("kmip_ttlv", |b| {
        b.iter(|| {
            for m in &creates.messages {
                black_box(kmip_ttlv_typed::decode(black_box(m)).expect("decodes"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
