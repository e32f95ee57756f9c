//! Property tests: round trips are the oracle (STYLE rule 7).
//!
//! - Arbitrary TTLV trees (all eleven item types, standard, vendor 0x54xxxx and
//!   unassigned tags, bounded depth and size) survive binary, XML and JSON.
//! - Arbitrary bytes never make the binary decoder panic; whatever it accepts
//!   re-encodes to the same bytes up to padding, and that canonical form is a fixed
//!   point.
//! - Typed request and response messages of every supported version (1.0 to 2.1)
//!   survive typed -> TTLV -> binary -> typed unchanged when they only use what their
//!   version defines.
//! - The version gate is idempotent, and no encoding for version V carries a
//!   standard tag that V does not define, whatever the typed message holds.
//!
//! The case counts are modest so that the file runs in a few seconds in debug
//! builds; set `PROPTEST_CASES` for a longer run.

use kmip::messages::attributes::AttributeReferences;
use kmip::messages::objects::CryptographicParameters;
use kmip::messages::objects::{KeyBlock, KeyMaterial, KeyValue, ManagedObject, SymmetricKey};
use kmip::messages::payloads::{
    CreateRequest, CreateResponse, DiscoverVersionsRequest, DiscoverVersionsResponse,
    EncryptRequest, EncryptResponse, GetAttributesRequest, GetAttributesResponse, GetRequest,
    GetResponse, LocateRequest, LocateResponse, UniqueIdentifierRequest, UniqueIdentifierResponse,
    TYPED_OPERATIONS,
};
use kmip::messages::{
    Attribute, AttributeReference, Attributes, Authentication, Credential, DateTime, Mask,
    RequestBatchItem, RequestHeader, RequestMessage, RequestPayload, ResponseBatchItem,
    ResponseHeader, ResponseMessage, ResponsePayload,
};
use kmip::ttlv::{binary, json, xml};
use kmip::types::{
    AttestationType, BatchErrorContinuationOption, BlockCipherMode, CredentialType,
    CryptographicAlgorithm, EnumTable, KeyCompressionType, KeyFormatType, KeyWrapType, NameType,
    ObjectGroupMember, ObjectType, Operation, PaddingMethod, ResultReason, ResultStatus, State,
};
use kmip::version::{gate, ProtocolVersion};
use kmip::{Limits, Tag, Ttlv, Value};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::fmt::Debug;

/// `cases` unless `PROPTEST_CASES` asks for another count.
fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c
}

// ---------------------------------------------------------------------------
// Generic TTLV trees

fn any_tag() -> impl Strategy<Value = Tag> {
    prop_oneof![
        // The standard range (a few values in it are unassigned: unknown tags).
        4 => (0x42_0001u32..=0x42_0176).prop_map(Tag),
        2 => (0x54_0000u32..=0x54_FFFF).prop_map(Tag),
        1 => (0u32..=0xFF_FFFF).prop_map(Tag),
    ]
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        vec(any::<char>(), 0..12).prop_map(String::from_iter),
    ]
}

fn any_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::Integer),
        any::<i64>().prop_map(Value::LongInteger),
        vec(any::<u8>(), 0..24).prop_map(Value::BigInteger),
        any::<u32>().prop_map(Value::Enumeration),
        any::<bool>().prop_map(Value::Boolean),
        any_text().prop_map(Value::TextString),
        vec(any::<u8>(), 0..40).prop_map(Value::ByteString),
        any::<i64>().prop_map(Value::DateTime),
        any::<u32>().prop_map(Value::Interval),
        any::<i64>().prop_map(Value::DateTimeExtended),
    ]
}

/// Trees at most 4 structures deep, about 64 items, 8 children a structure.
fn any_ttlv() -> impl Strategy<Value = Ttlv> {
    let leaf = (any_tag(), any_leaf()).prop_map(|(t, v)| Ttlv::new(t, v));
    leaf.prop_recursive(4, 64, 8, |inner| {
        (any_tag(), vec(inner, 0..8)).prop_map(|(t, c)| Ttlv::structure(t, c))
    })
}

/// What binary decoding gives back for `t`: a BigInteger is sign-extended to a
/// non-zero multiple of 8 bytes (KMIP 1.4 §9.1.1.4); everything else is unchanged.
fn binary_canonical(t: &Ttlv) -> Ttlv {
    let value = match &t.value {
        Value::Structure(c) => Value::Structure(c.iter().map(binary_canonical).collect()),
        Value::BigInteger(b) => Value::BigInteger(sign_extend_to_8(b)),
        v => v.clone(),
    };
    Ttlv::new(t.tag, value)
}

fn sign_extend_to_8(b: &[u8]) -> Vec<u8> {
    let target = b.len().max(1).div_ceil(8) * 8;
    let fill = if b.first().is_some_and(|x| x & 0x80 != 0) {
        0xFF
    } else {
        0
    };
    let mut v = vec![fill; target - b.len()];
    v.extend_from_slice(b);
    v
}

/// True when the XML encoding can carry every value of `t`. XML 1.0 has no way to
/// write U+0000 (not even as `&#0;`), nor the non-characters U+FFFE and U+FFFF, so
/// a TextString holding one cannot survive the XML encoding; the binary and JSON
/// encodings carry them.
fn xml_representable(t: &Ttlv) -> bool {
    match &t.value {
        Value::Structure(c) => c.iter().all(xml_representable),
        Value::TextString(s) => !s
            .chars()
            .any(|c| matches!(c, '\0' | '\u{FFFE}' | '\u{FFFF}')),
        _ => true,
    }
}

/// Every descendant of `t` (not `t` itself) with its tag.
fn descendants(t: &Ttlv, out: &mut Vec<Tag>) {
    for c in t.children() {
        out.push(c.tag);
        descendants(c, out);
    }
}

/// The standard tags of `t` that `version` does not define.
fn undefined_tags(t: &Ttlv, version: ProtocolVersion) -> Vec<Tag> {
    let mut tags = vec![t.tag];
    descendants(t, &mut tags);
    tags.retain(|tag| tag.is_known() && !tag.defined_in(version));
    tags
}

fn any_version() -> impl Strategy<Value = ProtocolVersion> {
    prop::sample::select(ProtocolVersion::SUPPORTED.to_vec())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn binary_round_trip(t in any_ttlv()) {
        let bytes = binary::encode(&t);
        prop_assert_eq!(bytes.len(), binary::encoded_len(&t));
        prop_assert_eq!(bytes.len() % 8, 0);
        let back = binary::decode(&bytes, &Limits::DEFAULT).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, binary_canonical(&t));
    }

    #[test]
    fn xml_round_trip(t in any_ttlv().prop_filter("XML cannot carry NUL, U+FFFE, U+FFFF", xml_representable)) {
        let text = xml::to_xml(&t);
        let back = xml::from_xml(&text, &Default::default())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, t, "{}", text);
    }

    #[test]
    fn json_round_trip(t in any_ttlv()) {
        let text = json::to_json(&t);
        let back = json::from_json(&text, &Default::default())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, t, "{}", text);
    }

    #[test]
    fn gate_is_idempotent_and_complete(t in any_ttlv(), version in any_version()) {
        let mut once = t.clone();
        gate(&mut once, version);
        let mut twice = once.clone();
        gate(&mut twice, version);
        prop_assert_eq!(&twice, &once);
        let mut below = Vec::new();
        descendants(&once, &mut below);
        below.retain(|tag| tag.is_known() && !tag.defined_in(version));
        prop_assert!(below.is_empty(), "gated tree for {} still has {:?}", version, below);
    }
}

// ---------------------------------------------------------------------------
// Arbitrary bytes

/// Random bytes, and valid encodings with a few bytes overwritten and possibly cut
/// short (random bytes alone almost never get past the first header).
fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        any_ttlv(),
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(t, edits, cut)| {
            let mut b = binary::encode(&t);
            for (at, byte) in edits {
                let i = at.index(b.len());
                b[i] = byte;
            }
            if let Some(cut) = cut {
                b.truncate(cut.index(b.len() + 1));
            }
            b
        });
    prop_oneof![1 => vec(any::<u8>(), 0..256), 3 => mutated]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_decode_or_fail_cleanly(bytes in any_bytes()) {
        let limits = Limits { max_message_size: 1 << 16, max_depth: 8, max_items: 1000 };
        if let Ok(t) = binary::decode(&bytes, &limits) {
            let canonical = binary::encode(&t);
            // Decoding refuses trailing bytes and every length is exact, so the
            // canonical form has the input's length and differs from it only
            // where the input had non-zero padding (which encoding writes as zero).
            prop_assert_eq!(canonical.len(), bytes.len());
            for (i, (c, b)) in canonical.iter().zip(&bytes).enumerate() {
                prop_assert!(c == b || *c == 0, "byte {} differs: {:02x} vs {:02x}", i, c, b);
            }
            let again = binary::decode(&canonical, &limits).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&again, &t);
            prop_assert_eq!(binary::encode(&again), canonical);
        }
    }
}

// ---------------------------------------------------------------------------
// Typed messages

/// The version a message is generated for; `strict` keeps to what that version
/// defines (so the message must round-trip unchanged), otherwise fields and values of
/// every version appear (so the gate has something to remove).
#[derive(Debug, Clone, Copy)]
struct Gen {
    version: ProtocolVersion,
    strict: bool,
}

impl Gen {
    fn has(self, tag: Tag) -> bool {
        !self.strict || tag.defined_in(self.version)
    }

    /// `Some` of `s` sometimes, when the field's tag exists in the version.
    fn opt<T: Debug + Clone + 'static>(
        self,
        tag: Tag,
        s: impl Strategy<Value = T> + 'static,
    ) -> BoxedStrategy<Option<T>> {
        if self.has(tag) {
            option::of(s).boxed()
        } else {
            Just(None).boxed()
        }
    }

    /// Zero to `max` of `s`, when the field's tag exists in the version.
    fn many<T: Debug + Clone + 'static>(
        self,
        tag: Tag,
        s: impl Strategy<Value = T> + 'static,
        max: usize,
    ) -> BoxedStrategy<Vec<T>> {
        if self.has(tag) {
            vec(s, 0..=max).boxed()
        } else {
            Just(Vec::new()).boxed()
        }
    }

    /// A value of an enumeration, among those the version defines.
    fn enumeration<E: From<u32> + Debug + Clone + 'static>(
        self,
        table: EnumTable,
    ) -> BoxedStrategy<E> {
        let values: Vec<u32> = table
            .entries
            .iter()
            .filter(|e| !self.strict || self.version.has(e.since, e.until))
            .map(|e| e.value)
            .collect();
        if values.is_empty() {
            // Only an error when a value is actually drawn: a field whose tag the
            // version lacks builds its strategy without ever using it.
            let (name, version) = (table.name, self.version);
            return Just(())
                .prop_map(move |()| -> E { panic!("{name} has no value in {version}") })
                .boxed();
        }
        prop::sample::select(values).prop_map(E::from).boxed()
    }

    fn operation(self, op: Operation) -> bool {
        let e = Operation::TABLE.by_value(op.value());
        !self.strict || e.is_none_or(|e| self.version.has(e.since, e.until))
    }
}

fn uid() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[ -~]{1,16}",
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

/// Vendor extension items (0x54xxxx): they land in `extensions` and come back last.
/// Their values are in binary canonical form (a BigInteger a multiple of 8 bytes
/// long), as a decoded message holds them.
fn vendor_items() -> impl Strategy<Value = Vec<Ttlv>> {
    vec(
        ((0x54_0000u32..=0x54_FFFF).prop_map(Tag), any_leaf())
            .prop_map(|(t, v)| binary_canonical(&Ttlv::new(t, v))),
        0..3,
    )
}

fn name_value(g: Gen) -> impl Strategy<Value = Value> {
    ("[ -~]{1,16}", g.enumeration::<NameType>(NameType::TABLE)).prop_map(|(n, t)| {
        Value::Structure(vec![
            Ttlv::new(Tag::NAME_VALUE, Value::TextString(n)),
            Ttlv::new(Tag::NAME_TYPE, Value::Enumeration(t.value())),
        ])
    })
}

fn date() -> impl Strategy<Value = i64> {
    0i64..4_102_444_800
}

/// A standard attribute (introduced in 1.0, 1.1, 1.2, 1.4 and 2.0) under its own tag.
fn standard_attribute(g: Gen) -> BoxedStrategy<Attribute> {
    let candidates: Vec<(Tag, BoxedStrategy<Value>)> = vec![
        (
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            g.enumeration::<CryptographicAlgorithm>(CryptographicAlgorithm::TABLE)
                .prop_map(|a| Value::Enumeration(a.value()))
                .boxed(),
        ),
        (
            Tag::CRYPTOGRAPHIC_LENGTH,
            any::<i32>().prop_map(Value::Integer).boxed(),
        ),
        (
            Tag::CRYPTOGRAPHIC_USAGE_MASK,
            any::<i32>().prop_map(Value::Integer).boxed(),
        ),
        (Tag::NAME, name_value(g).boxed()),
        (
            Tag::ACTIVATION_DATE,
            date().prop_map(Value::DateTime).boxed(),
        ),
        (
            Tag::OBJECT_GROUP,
            "[ -~]{0,12}".prop_map(Value::TextString).boxed(),
        ),
        (
            Tag::CONTACT_INFORMATION,
            any_text().prop_map(Value::TextString).boxed(),
        ),
        (
            Tag::STATE,
            g.enumeration::<State>(State::TABLE)
                .prop_map(|s| Value::Enumeration(s.value()))
                .boxed(),
        ),
        (Tag::FRESH, any::<bool>().prop_map(Value::Boolean).boxed()),
        (
            Tag::ORIGINAL_CREATION_DATE,
            date().prop_map(Value::DateTime).boxed(),
        ),
        (
            Tag::SENSITIVE,
            any::<bool>().prop_map(Value::Boolean).boxed(),
        ),
        (
            Tag::DESCRIPTION,
            any_text().prop_map(Value::TextString).boxed(),
        ),
        (
            Tag::QUANTUM_SAFE,
            any::<bool>().prop_map(Value::Boolean).boxed(),
        ),
        (
            Tag::SHORT_UNIQUE_IDENTIFIER,
            bytes(32).prop_map(Value::ByteString).boxed(),
        ),
    ];
    let usable: Vec<BoxedStrategy<Attribute>> = candidates
        .into_iter()
        .filter(|(tag, _)| g.has(*tag))
        .map(|(tag, v)| v.prop_map(move |v| Attribute::standard(tag, v)).boxed())
        .collect();
    prop::strategy::Union::new(usable).boxed()
}

/// A vendor attribute. The vendor is lower case without `-` or space, so its 1.x
/// name `vendor-name` splits back at the first `-` and never collides with a
/// standard name (all of which start upper case).
fn vendor_attribute() -> impl Strategy<Value = Attribute> {
    let value = prop_oneof![
        any_text().prop_map(Value::TextString),
        any::<i32>().prop_map(Value::Integer),
        any::<bool>().prop_map(Value::Boolean),
        bytes(16).prop_map(Value::ByteString),
        any::<u32>().prop_map(Value::Enumeration),
    ];
    ("[a-z][a-z0-9]{0,5}", "[A-Za-z][A-Za-z0-9_ -]{0,10}", value).prop_map(
        |(vendor, name, value)| Attribute::Vendor {
            vendor,
            name,
            value,
        },
    )
}

fn attribute(g: Gen) -> impl Strategy<Value = Attribute> {
    prop_oneof![3 => standard_attribute(g), 1 => vendor_attribute()]
}

/// An attribute set; `template_names` only where the shape carries them (1.x
/// TemplateAttribute) or when not strict.
fn attributes(g: Gen, with_template_names: bool) -> BoxedStrategy<Attributes> {
    let names = if with_template_names && (!g.strict || g.version.is_v1()) {
        vec(name_value(g).prop_map(|v| Ttlv::new(Tag::NAME, v)), 0..2).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (vec(attribute(g), 0..5), names)
        .prop_map(|(items, template_names)| Attributes {
            items,
            template_names,
        })
        .boxed()
}

fn reference(g: Gen) -> impl Strategy<Value = AttributeReference> {
    prop_oneof![
        standard_attribute(g).prop_map(|a| a.reference()),
        vendor_attribute().prop_map(|a| a.reference()),
    ]
}

fn cryptographic_parameters(g: Gen) -> impl Strategy<Value = CryptographicParameters> {
    (
        g.opt(
            Tag::BLOCK_CIPHER_MODE,
            g.enumeration::<BlockCipherMode>(BlockCipherMode::TABLE),
        ),
        g.opt(
            Tag::PADDING_METHOD,
            g.enumeration::<PaddingMethod>(PaddingMethod::TABLE),
        ),
        g.opt(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            g.enumeration::<CryptographicAlgorithm>(CryptographicAlgorithm::TABLE),
        ),
        g.opt(Tag::RANDOM_IV, any::<bool>()),
        g.opt(Tag::IV_LENGTH, any::<i32>()),
        g.opt(Tag::TAG_LENGTH, any::<i32>()),
    )
        .prop_map(
            |(mode, padding, algorithm, random_iv, iv_length, tag_length)| {
                CryptographicParameters {
                    block_cipher_mode: mode,
                    padding_method: padding,
                    cryptographic_algorithm: algorithm,
                    random_iv,
                    iv_length,
                    tag_length,
                    ..Default::default()
                }
            },
        )
}

/// Payload operations: the typed ones under test and, for `Raw`, operations without
/// a typed payload (including an unassigned value).
const RAW_OPERATIONS: [Operation; 4] = [
    Operation::ObtainLease,
    Operation::Cancel,
    Operation::Poll,
    Operation::Unknown(0x0000_0099),
];

fn raw_payload(tag: Tag) -> impl Strategy<Value = Ttlv> {
    vendor_items().prop_map(move |c| Ttlv::structure(tag, c))
}

fn request_payload(g: Gen) -> BoxedStrategy<(Operation, RequestPayload)> {
    let create = (
        g.enumeration::<ObjectType>(ObjectType::TABLE),
        attributes(g, true),
        g.opt(
            Tag::PROTECTION_STORAGE_MASKS,
            any::<i32>().prop_map(|m| {
                Ttlv::structure(
                    Tag::PROTECTION_STORAGE_MASKS,
                    vec![Ttlv::new(Tag::PROTECTION_STORAGE_MASK, Value::Integer(m))],
                )
            }),
        ),
        vendor_items(),
    )
        .prop_map(
            |(object_type, attributes, protection_storage_masks, extensions)| {
                (
                    Operation::Create,
                    RequestPayload::Create(CreateRequest {
                        object_type,
                        attributes,
                        protection_storage_masks,
                        extensions,
                    }),
                )
            },
        );
    let get = (
        option::of(uid()),
        g.opt(
            Tag::KEY_FORMAT_TYPE,
            g.enumeration::<KeyFormatType>(KeyFormatType::TABLE),
        ),
        g.opt(
            Tag::KEY_WRAP_TYPE,
            g.enumeration::<KeyWrapType>(KeyWrapType::TABLE),
        ),
        g.opt(
            Tag::KEY_COMPRESSION_TYPE,
            g.enumeration::<KeyCompressionType>(KeyCompressionType::TABLE),
        ),
        vendor_items(),
    )
        .prop_map(
            |(
                unique_identifier,
                key_format_type,
                key_wrap_type,
                key_compression_type,
                extensions,
            )| {
                (
                    Operation::Get,
                    RequestPayload::Get(GetRequest {
                        unique_identifier,
                        key_format_type,
                        key_wrap_type,
                        key_compression_type,
                        key_wrapping_specification: None,
                        extensions,
                    }),
                )
            },
        );
    let locate = (
        g.opt(Tag::MAXIMUM_ITEMS, any::<i32>()),
        g.opt(Tag::OFFSET_ITEMS, any::<i32>()),
        g.opt(Tag::STORAGE_STATUS_MASK, any::<u32>().prop_map(Mask)),
        g.opt(
            Tag::OBJECT_GROUP_MEMBER,
            g.enumeration::<ObjectGroupMember>(ObjectGroupMember::TABLE),
        ),
        attributes(g, false),
        vendor_items(),
    )
        .prop_map(
            |(
                maximum_items,
                offset_items,
                storage_status_mask,
                object_group_member,
                attributes,
                extensions,
            )| {
                (
                    Operation::Locate,
                    RequestPayload::Locate(LocateRequest {
                        maximum_items,
                        offset_items,
                        storage_status_mask,
                        object_group_member,
                        attributes,
                        extensions,
                    }),
                )
            },
        );
    let encrypt = (
        option::of(uid()),
        g.opt(Tag::CRYPTOGRAPHIC_PARAMETERS, cryptographic_parameters(g)),
        g.opt(Tag::DATA, bytes(64)),
        g.opt(Tag::IV_COUNTER_NONCE, bytes(16)),
        g.opt(Tag::CORRELATION_VALUE, bytes(8)),
        g.opt(Tag::INIT_INDICATOR, any::<bool>()),
        g.opt(Tag::FINAL_INDICATOR, any::<bool>()),
        g.opt(Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA, bytes(16)),
    )
        .prop_map(|(uid, params, data, iv, corr, init, fin, aad)| {
            (
                Operation::Encrypt,
                RequestPayload::Encrypt(EncryptRequest {
                    unique_identifier: uid,
                    cryptographic_parameters: params,
                    data,
                    iv_counter_nonce: iv,
                    correlation_value: corr,
                    init_indicator: init,
                    final_indicator: fin,
                    authenticated_encryption_additional_data: aad,
                    extensions: Vec::new(),
                }),
            )
        });
    let get_attributes =
        (option::of(uid()), vec(reference(g), 0..4)).prop_map(move |(uid, refs)| {
            // 1.x names an attribute by text: one the version lacks has no name and is
            // left out on encoding, so a strict message does not ask for it.
            (
                Operation::GetAttributes,
                RequestPayload::GetAttributes(GetAttributesRequest {
                    unique_identifier: uid,
                    references: AttributeReferences(refs),
                    extensions: Vec::new(),
                }),
            )
        });
    let activate = option::of(uid()).prop_map(|uid| {
        (
            Operation::Activate,
            RequestPayload::Activate(UniqueIdentifierRequest {
                unique_identifier: uid,
                extensions: Vec::new(),
            }),
        )
    });
    let discover = vec(any_version(), 0..4).prop_map(|protocol_versions| {
        (
            Operation::DiscoverVersions,
            RequestPayload::DiscoverVersions(DiscoverVersionsRequest {
                protocol_versions,
                extensions: Vec::new(),
            }),
        )
    });
    let raw_ops: Vec<Operation> = RAW_OPERATIONS
        .into_iter()
        .filter(|o| g.operation(*o))
        .collect();
    let raw = (
        prop::sample::select(raw_ops),
        raw_payload(Tag::REQUEST_PAYLOAD),
    )
        .prop_map(|(op, t)| (op, RequestPayload::Raw(t)));

    let mut arms: Vec<BoxedStrategy<(Operation, RequestPayload)>> = vec![
        create.boxed(),
        get.boxed(),
        locate.boxed(),
        get_attributes.boxed(),
        activate.boxed(),
        raw.boxed(),
    ];
    if g.operation(Operation::Encrypt) {
        arms.push(encrypt.boxed());
    }
    if g.operation(Operation::DiscoverVersions) {
        arms.push(discover.boxed());
    }
    prop::strategy::Union::new(arms).boxed()
}

fn message_extension() -> impl Strategy<Value = Ttlv> {
    ("[a-z]{1,8}", any::<bool>(), vendor_items()).prop_map(|(vendor, critical, ext)| {
        Ttlv::structure(
            Tag::MESSAGE_EXTENSION,
            vec![
                Ttlv::new(Tag::VENDOR_IDENTIFICATION, Value::TextString(vendor)),
                Ttlv::new(Tag::CRITICALITY_INDICATOR, Value::Boolean(critical)),
                Ttlv::structure(Tag::VENDOR_EXTENSION, ext),
            ],
        )
    })
}

fn request_batch_item(g: Gen) -> impl Strategy<Value = RequestBatchItem> {
    (
        request_payload(g),
        g.opt(Tag::EPHEMERAL, any::<bool>()),
        option::of(bytes(8)),
        option::of(message_extension()),
        vendor_items(),
    )
        .prop_map(
            |((operation, payload), ephemeral, id, message_extension, extensions)| {
                RequestBatchItem {
                    operation,
                    ephemeral,
                    unique_batch_item_id: id,
                    payload,
                    payload_error: None,
                    message_extension,
                    extensions,
                }
            },
        )
}

fn authentication() -> impl Strategy<Value = Authentication> {
    ("[a-z]{1,8}", option::of("[ -~]{0,12}")).prop_map(|(user, password)| {
        let mut value = vec![Ttlv::new(Tag::USERNAME, Value::TextString(user))];
        if let Some(p) = password {
            value.push(Ttlv::new(Tag::PASSWORD, Value::TextString(p)));
        }
        Authentication {
            credentials: vec![Credential {
                credential_type: CredentialType::UsernameAndPassword,
                credential_value: Ttlv::structure(Tag::CREDENTIAL_VALUE, value),
            }],
            extensions: Vec::new(),
        }
    })
}

fn request_header(g: Gen) -> impl Strategy<Value = RequestHeader> {
    (
        (
            g.opt(Tag::MAXIMUM_RESPONSE_SIZE, any::<i32>()),
            g.opt(Tag::CLIENT_CORRELATION_VALUE, "[ -~]{0,12}"),
            g.opt(Tag::SERVER_CORRELATION_VALUE, "[ -~]{0,12}"),
            g.opt(Tag::ASYNCHRONOUS_INDICATOR, any::<bool>()),
            g.opt(Tag::ATTESTATION_CAPABLE_INDICATOR, any::<bool>()),
        ),
        (
            g.many(
                Tag::ATTESTATION_TYPE,
                g.enumeration::<AttestationType>(AttestationType::TABLE),
                2,
            ),
            option::of(authentication()),
            g.opt(
                Tag::BATCH_ERROR_CONTINUATION_OPTION,
                g.enumeration::<BatchErrorContinuationOption>(BatchErrorContinuationOption::TABLE),
            ),
            g.opt(Tag::BATCH_ORDER_OPTION, any::<bool>()),
            option::of(date().prop_map(DateTime)),
            0i32..8,
        ),
    )
        .prop_map(
            move |((max, ccv, scv, asy, att), (types, auth, beco, order, ts, count))| {
                RequestHeader {
                    protocol_version: g.version,
                    maximum_response_size: max,
                    client_correlation_value: ccv,
                    server_correlation_value: scv,
                    asynchronous_indicator: asy,
                    attestation_capable_indicator: att,
                    attestation_types: types,
                    authentication: auth,
                    batch_error_continuation_option: beco,
                    batch_order_option: order,
                    time_stamp: ts,
                    batch_count: count,
                    extensions: Vec::new(),
                }
            },
        )
}

fn request_message(g: Gen) -> impl Strategy<Value = RequestMessage> {
    (request_header(g), vec(request_batch_item(g), 1..4)).prop_map(|(header, batch_items)| {
        RequestMessage {
            header,
            batch_items,
        }
    })
}

fn symmetric_key(g: Gen) -> impl Strategy<Value = ManagedObject> {
    (
        g.enumeration::<CryptographicAlgorithm>(CryptographicAlgorithm::TABLE),
        bytes(32),
        any::<i32>(),
    )
        .prop_map(|(algorithm, key, length)| {
            ManagedObject::SymmetricKey(SymmetricKey {
                key_block: KeyBlock {
                    key_format_type: KeyFormatType::Raw,
                    key_compression_type: None,
                    key_value: Some(KeyValue::plain(KeyMaterial::Bytes(key))),
                    cryptographic_algorithm: Some(algorithm),
                    cryptographic_length: Some(length),
                    key_wrapping_data: None,
                    extensions: Vec::new(),
                },
                extensions: Vec::new(),
            })
        })
}

/// A typed response payload for `op` (`Raw` for an operation without one).
fn response_payload(g: Gen, op: Operation) -> BoxedStrategy<ResponsePayload> {
    match op {
        Operation::Create => (g.enumeration::<ObjectType>(ObjectType::TABLE), uid())
            .prop_map(|(object_type, unique_identifier)| {
                ResponsePayload::Create(CreateResponse {
                    object_type,
                    unique_identifier,
                    extensions: Vec::new(),
                })
            })
            .boxed(),
        Operation::Get => (uid(), symmetric_key(g), vendor_items())
            .prop_map(|(unique_identifier, object, extensions)| {
                ResponsePayload::Get(GetResponse {
                    object_type: ObjectType::SymmetricKey,
                    unique_identifier,
                    object,
                    extensions,
                })
            })
            .boxed(),
        Operation::Locate => (g.opt(Tag::LOCATED_ITEMS, any::<i32>()), vec(uid(), 0..4))
            .prop_map(|(located_items, unique_identifiers)| {
                ResponsePayload::Locate(LocateResponse {
                    located_items,
                    unique_identifiers,
                    extensions: Vec::new(),
                })
            })
            .boxed(),
        Operation::Encrypt => (
            uid(),
            g.opt(Tag::DATA, bytes(64)),
            g.opt(Tag::IV_COUNTER_NONCE, bytes(16)),
            g.opt(Tag::CORRELATION_VALUE, bytes(8)),
            g.opt(Tag::AUTHENTICATED_ENCRYPTION_TAG, bytes(16)),
        )
            .prop_map(
                |(unique_identifier, data, iv_counter_nonce, correlation_value, tag)| {
                    ResponsePayload::Encrypt(EncryptResponse {
                        unique_identifier,
                        data,
                        iv_counter_nonce,
                        correlation_value,
                        authenticated_encryption_tag: tag,
                        extensions: Vec::new(),
                    })
                },
            )
            .boxed(),
        Operation::GetAttributes => (uid(), attributes(g, false))
            .prop_map(|(unique_identifier, attributes)| {
                ResponsePayload::GetAttributes(GetAttributesResponse {
                    unique_identifier,
                    attributes,
                    extensions: Vec::new(),
                })
            })
            .boxed(),
        Operation::Activate => uid()
            .prop_map(|unique_identifier| {
                ResponsePayload::Activate(UniqueIdentifierResponse {
                    unique_identifier,
                    extensions: Vec::new(),
                })
            })
            .boxed(),
        Operation::DiscoverVersions => vec(any_version(), 0..4)
            .prop_map(|protocol_versions| {
                ResponsePayload::DiscoverVersions(DiscoverVersionsResponse {
                    protocol_versions,
                    extensions: Vec::new(),
                })
            })
            .boxed(),
        _ => raw_payload(Tag::RESPONSE_PAYLOAD)
            .prop_map(ResponsePayload::Raw)
            .boxed(),
    }
}

const RESPONSE_OPERATIONS: [Operation; 11] = [
    Operation::Create,
    Operation::Get,
    Operation::Locate,
    Operation::Encrypt,
    Operation::GetAttributes,
    Operation::Activate,
    Operation::DiscoverVersions,
    Operation::ObtainLease,
    Operation::Cancel,
    Operation::Poll,
    Operation::Unknown(0x0000_0099),
];

fn response_batch_item(g: Gen) -> BoxedStrategy<ResponseBatchItem> {
    let ops: Vec<Operation> = RESPONSE_OPERATIONS
        .into_iter()
        .filter(|o| g.operation(*o))
        .collect();
    let common = move || {
        (
            option::of(bytes(8)),
            option::of("[ -~]{0,24}"),
            g.opt(Tag::ASYNCHRONOUS_CORRELATION_VALUE, bytes(8)),
            option::of(message_extension()),
            vendor_items(),
        )
    };
    let success = (prop::sample::select(ops.clone()), common())
        .prop_flat_map(move |(op, common)| (Just(op), Just(common), response_payload(g, op)))
        .prop_map(
            |(op, (id, message, acv, ext, extensions), payload)| ResponseBatchItem {
                operation: Some(op),
                unique_batch_item_id: id,
                result_status: ResultStatus::Success,
                result_reason: None,
                result_message: message,
                asynchronous_correlation_value: acv,
                payload: Some(payload),
                message_extension: ext,
                extensions,
            },
        );
    // A failed item's payload, if any, stays raw: only a successful one is typed.
    let failure = (
        option::of(prop::sample::select(ops)),
        prop::sample::select(vec![
            ResultStatus::OperationFailed,
            ResultStatus::OperationPending,
            ResultStatus::OperationUndone,
        ]),
        g.enumeration::<ResultReason>(ResultReason::TABLE),
        option::of(raw_payload(Tag::RESPONSE_PAYLOAD).prop_map(ResponsePayload::Raw)),
        common(),
    )
        .prop_map(
            |(op, status, reason, payload, (id, message, acv, ext, extensions))| {
                ResponseBatchItem {
                    operation: op,
                    unique_batch_item_id: id,
                    result_status: status,
                    result_reason: Some(reason),
                    result_message: message,
                    asynchronous_correlation_value: acv,
                    payload,
                    message_extension: ext,
                    extensions,
                }
            },
        );
    prop_oneof![3 => success, 1 => failure].boxed()
}

fn response_header(g: Gen) -> impl Strategy<Value = ResponseHeader> {
    (
        date(),
        g.opt(
            Tag::NONCE,
            (bytes(8), bytes(16)).prop_map(|(id, value)| {
                Ttlv::structure(
                    Tag::NONCE,
                    vec![
                        Ttlv::new(Tag::NONCE_ID, Value::ByteString(id)),
                        Ttlv::new(Tag::NONCE_VALUE, Value::ByteString(value)),
                    ],
                )
            }),
        ),
        g.opt(Tag::SERVER_HASHED_PASSWORD, bytes(32)),
        g.many(
            Tag::ATTESTATION_TYPE,
            g.enumeration::<AttestationType>(AttestationType::TABLE),
            2,
        ),
        g.opt(Tag::CLIENT_CORRELATION_VALUE, "[ -~]{0,12}"),
        g.opt(Tag::SERVER_CORRELATION_VALUE, "[ -~]{0,12}"),
        0i32..8,
    )
        .prop_map(
            move |(ts, nonce, shp, types, ccv, scv, count)| ResponseHeader {
                protocol_version: g.version,
                time_stamp: DateTime(ts),
                nonce,
                server_hashed_password: shp,
                attestation_types: types,
                client_correlation_value: ccv,
                server_correlation_value: scv,
                batch_count: count,
                extensions: Vec::new(),
            },
        )
}

fn response_message(g: Gen) -> impl Strategy<Value = ResponseMessage> {
    (response_header(g), vec(response_batch_item(g), 1..4)).prop_map(|(header, batch_items)| {
        ResponseMessage {
            header,
            batch_items,
        }
    })
}

fn strict_request() -> impl Strategy<Value = RequestMessage> {
    any_version().prop_flat_map(|version| {
        request_message(Gen {
            version,
            strict: true,
        })
    })
}

fn strict_response() -> impl Strategy<Value = ResponseMessage> {
    any_version().prop_flat_map(|version| {
        response_message(Gen {
            version,
            strict: true,
        })
    })
}

fn loose_request() -> impl Strategy<Value = RequestMessage> {
    any_version().prop_flat_map(|version| {
        request_message(Gen {
            version,
            strict: false,
        })
    })
}

fn loose_response() -> impl Strategy<Value = ResponseMessage> {
    any_version().prop_flat_map(|version| {
        response_message(Gen {
            version,
            strict: false,
        })
    })
}

/// Encoding for version V removes exactly the tags V lacks: nothing undefined
/// remains, and gating the result again changes nothing.
fn check_gated(t: &Ttlv, version: ProtocolVersion) -> Result<(), TestCaseError> {
    let undefined = undefined_tags(t, version);
    prop_assert!(
        undefined.is_empty(),
        "encoding for {} carries {:?}",
        version,
        undefined
    );
    let mut again = t.clone();
    gate(&mut again, version);
    prop_assert_eq!(&again, t);
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn typed_request_round_trip(m in strict_request()) {
        let tree = m.to_ttlv();
        check_gated(&tree, m.version())?;
        let bytes = m.encode();
        prop_assert_eq!(&bytes, &binary::encode(&tree));
        let back = RequestMessage::decode(&bytes, &Limits::DEFAULT)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, m);
    }

    #[test]
    fn typed_response_round_trip(m in strict_response()) {
        let tree = m.to_ttlv();
        check_gated(&tree, m.version())?;
        let back = ResponseMessage::decode(&m.encode(), &Limits::DEFAULT)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, m);
    }

    #[test]
    fn request_encoding_never_carries_undefined_tags(m in loose_request()) {
        check_gated(&m.to_ttlv(), m.version())?;
    }

    #[test]
    fn response_encoding_never_carries_undefined_tags(m in loose_response()) {
        check_gated(&m.to_ttlv(), m.version())?;
    }
}

/// The operations the typed strategies use as `Raw` really have no typed payload
/// (otherwise they would decode typed and the round trip could not hold).
#[test]
fn raw_operations_are_untyped() {
    for op in RAW_OPERATIONS {
        assert!(!TYPED_OPERATIONS.contains(&op), "{op:?} is typed");
    }
}
