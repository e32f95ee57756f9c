//! Version translation at the edge: KMIP 1.x `TemplateAttribute` / `Attribute(Name,
//! Index, Value)` and KMIP 2.x `Attributes` decode into one model and encode back into
//! the shape of the target version, which never carries what that version lacks; and
//! the 1.x client quirks of `shared/kmip/CLIENTS.md` decode.
//!
//! Expected values are written from the specifications, not from the crate's tables:
//! KMIP 1.4 §9.1.3.1 for tag values, §9.1.3.2 for enumeration values (Operation:
//! Create 0x01, Locate 0x08, Get 0x0A, Get Attributes 0x0B, Activate 0x12; Object
//! Type Symmetric Key 0x02; Cryptographic Algorithm AES 0x03; Name Type
//! Uninterpreted Text String 0x01; Result Reason Invalid Field 0x07), §9.1.3.3.1 for
//! the usage mask (Encrypt 0x04, Decrypt 0x08), and KMIP 2.0 for the tags it added
//! (Attributes 0x420125, Quantum Safe 0x420147).

use kmip::messages::payloads::{CreateRequest, GetAttributesResponse, LocateRequest};
use kmip::messages::{
    Attribute, Attributes, Mask, RequestMessage, RequestPayload, ResponseBatchItem, ResponseHeader,
    ResponseMessage, ResponsePayload,
};
use kmip::messages::{DateTime, RequestBatchItem};
use kmip::types::{ObjectType, Operation, ResultReason};
use kmip::version::ProtocolVersion;
use kmip::{DecodeErrorKind, Limits, Tag, Ttlv, Value};

// ---------------------------------------------------------------------------
// Tree builders. Tags by their KMIP 1.4 §9.1.3.1 value where the value is the point.

const REQUEST_MESSAGE: Tag = Tag(0x42_0078);
const REQUEST_HEADER: Tag = Tag(0x42_0077);
const PROTOCOL_VERSION: Tag = Tag(0x42_0069);
const PROTOCOL_VERSION_MAJOR: Tag = Tag(0x42_006A);
const PROTOCOL_VERSION_MINOR: Tag = Tag(0x42_006B);
const BATCH_COUNT: Tag = Tag(0x42_000D);
const BATCH_ITEM: Tag = Tag(0x42_000F);
const OPERATION: Tag = Tag(0x42_005C);
const REQUEST_PAYLOAD: Tag = Tag(0x42_0079);
const RESPONSE_PAYLOAD: Tag = Tag(0x42_007C);
const OBJECT_TYPE: Tag = Tag(0x42_0057);
const UNIQUE_IDENTIFIER: Tag = Tag(0x42_0094);
const TEMPLATE_ATTRIBUTE: Tag = Tag(0x42_0091);
const ATTRIBUTE: Tag = Tag(0x42_0008);
const ATTRIBUTE_NAME: Tag = Tag(0x42_000A);
const ATTRIBUTE_INDEX: Tag = Tag(0x42_0009);
const ATTRIBUTE_VALUE: Tag = Tag(0x42_000B);
const NAME: Tag = Tag(0x42_0053);
const NAME_VALUE: Tag = Tag(0x42_0055);
const NAME_TYPE: Tag = Tag(0x42_0054);
const CRYPTOGRAPHIC_ALGORITHM: Tag = Tag(0x42_0028);
const CRYPTOGRAPHIC_USAGE_MASK: Tag = Tag(0x42_002C);
const VENDOR_IDENTIFICATION: Tag = Tag(0x42_009D);
const MAXIMUM_ITEMS: Tag = Tag(0x42_004F);
const STORAGE_STATUS_MASK: Tag = Tag(0x42_008E);
const FRESH: Tag = Tag(0x42_00A8);
const ORIGINAL_CREATION_DATE: Tag = Tag(0x42_00BC);
const SENSITIVE: Tag = Tag(0x42_0120);
const ATTRIBUTES: Tag = Tag(0x42_0125);
const QUANTUM_SAFE: Tag = Tag(0x42_0147);

const OP_CREATE: u32 = 0x01;
const OP_LOCATE: u32 = 0x08;
const OP_GET: u32 = 0x0A;
const OP_ACTIVATE: u32 = 0x12;
const SYMMETRIC_KEY: u32 = 0x02;
const AES: u32 = 0x03;
const UNINTERPRETED_TEXT_STRING: u32 = 0x01;
const ENCRYPT_DECRYPT: i32 = 0x04 | 0x08;
const INVALID_FIELD: u32 = 0x07;

fn s(tag: Tag, children: Vec<Ttlv>) -> Ttlv {
    Ttlv::structure(tag, children)
}

fn text(tag: Tag, v: &str) -> Ttlv {
    Ttlv::new(tag, Value::TextString(v.to_owned()))
}

fn int(tag: Tag, v: i32) -> Ttlv {
    Ttlv::new(tag, Value::Integer(v))
}

fn enumeration(tag: Tag, v: u32) -> Ttlv {
    Ttlv::new(tag, Value::Enumeration(v))
}

/// A request message with a minimal header.
fn request(major: i32, minor: i32, items: Vec<Ttlv>) -> Ttlv {
    let count = i32::try_from(items.len()).expect("few items");
    let mut c = vec![s(
        REQUEST_HEADER,
        vec![
            s(
                PROTOCOL_VERSION,
                vec![
                    int(PROTOCOL_VERSION_MAJOR, major),
                    int(PROTOCOL_VERSION_MINOR, minor),
                ],
            ),
            int(BATCH_COUNT, count),
        ],
    )];
    c.extend(items);
    s(REQUEST_MESSAGE, c)
}

fn batch_item(op: u32, payload: Vec<Ttlv>) -> Ttlv {
    s(
        BATCH_ITEM,
        vec![enumeration(OPERATION, op), s(REQUEST_PAYLOAD, payload)],
    )
}

/// KMIP 1.x `Attribute(AttributeName, AttributeValue)`.
fn v1_attribute(name: &str, value: Value) -> Ttlv {
    s(
        ATTRIBUTE,
        vec![
            text(ATTRIBUTE_NAME, name),
            Ttlv::new(ATTRIBUTE_VALUE, value),
        ],
    )
}

fn name_value() -> Value {
    Value::Structure(vec![
        text(NAME_VALUE, "backup-key-7"),
        enumeration(NAME_TYPE, UNINTERPRETED_TEXT_STRING),
    ])
}

/// The payload of the one batch item of `m`.
fn only_request_payload(m: &RequestMessage) -> &RequestPayload {
    assert_eq!(m.batch_items.len(), 1);
    let item = &m.batch_items[0];
    assert_eq!(item.payload_error, None, "payload did not decode");
    &item.payload
}

fn decode_request(t: &Ttlv) -> RequestMessage {
    RequestMessage::from_ttlv(t).unwrap_or_else(|e| panic!("message does not decode: {e}"))
}

/// The `RequestPayload` of the first batch item of an encoded request.
fn encoded_request_payload(t: &Ttlv) -> &Ttlv {
    t.child(BATCH_ITEM)
        .and_then(|b| b.child(REQUEST_PAYLOAD))
        .expect("batch item with a payload")
}

// ---------------------------------------------------------------------------
// Create: TemplateAttribute (1.4) and Attributes (2.1) are the same request

/// The 1.4 Create payload: TemplateAttribute holding Name, Cryptographic Algorithm,
/// Cryptographic Usage Mask and the custom `x-ID` (KMIP 1.4 §4.1, §2.1.8).
fn create_payload_v14() -> Vec<Ttlv> {
    vec![
        enumeration(OBJECT_TYPE, SYMMETRIC_KEY),
        s(
            TEMPLATE_ATTRIBUTE,
            vec![
                v1_attribute("Name", name_value()),
                v1_attribute("Cryptographic Algorithm", Value::Enumeration(AES)),
                v1_attribute("Cryptographic Usage Mask", Value::Integer(ENCRYPT_DECRYPT)),
                v1_attribute("x-ID", Value::TextString("ticket-42".into())),
            ],
        ),
    ]
}

/// The same request in KMIP 2.1 (§6.1.9): an Attributes structure of tagged values,
/// and the custom attribute as a vendor Attribute (§2.1.2: Vendor Identification,
/// Attribute Name, Attribute Value), vendor "x" and name "ID" as the OASIS AX
/// vectors map `x-` names.
fn create_payload_v21() -> Vec<Ttlv> {
    vec![
        enumeration(OBJECT_TYPE, SYMMETRIC_KEY),
        s(
            ATTRIBUTES,
            vec![
                Ttlv::new(NAME, name_value()),
                enumeration(CRYPTOGRAPHIC_ALGORITHM, AES),
                int(CRYPTOGRAPHIC_USAGE_MASK, ENCRYPT_DECRYPT),
                s(
                    ATTRIBUTE,
                    vec![
                        text(VENDOR_IDENTIFICATION, "x"),
                        text(ATTRIBUTE_NAME, "ID"),
                        text(ATTRIBUTE_VALUE, "ticket-42"),
                    ],
                ),
            ],
        ),
    ]
}

fn expected_create() -> CreateRequest {
    CreateRequest {
        object_type: ObjectType::SymmetricKey,
        attributes: Attributes::new(vec![
            Attribute::standard(NAME, name_value()),
            Attribute::standard(CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(AES)),
            Attribute::standard(CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(ENCRYPT_DECRYPT)),
            Attribute::Vendor {
                vendor: "x".into(),
                name: "ID".into(),
                value: Value::TextString("ticket-42".into()),
            },
        ]),
        protection_storage_masks: None,
        extensions: Vec::new(),
    }
}

#[test]
fn create_v14_and_v21_decode_to_the_same_request() {
    let v14 = decode_request(&request(
        1,
        4,
        vec![batch_item(OP_CREATE, create_payload_v14())],
    ));
    let v21 = decode_request(&request(
        2,
        1,
        vec![batch_item(OP_CREATE, create_payload_v21())],
    ));
    let expected = RequestPayload::Create(expected_create());
    assert_eq!(only_request_payload(&v14), &expected);
    assert_eq!(only_request_payload(&v21), &expected);
    let attrs = &expected_create().attributes;
    assert_eq!(
        attrs.vendor("x", "ID"),
        Some(&Value::TextString("ticket-42".into()))
    );
}

#[test]
fn create_encodes_in_the_shape_of_each_version() {
    for (major, minor, payload) in [(1, 4, create_payload_v14()), (2, 1, create_payload_v21())] {
        // Whichever form it came in, the request encodes as `version` expects.
        for source in [create_payload_v14(), create_payload_v21()] {
            let mut m = decode_request(&request(1, 4, vec![batch_item(OP_CREATE, source)]));
            m.header.protocol_version = ProtocolVersion::new(major, minor);
            let encoded = m.to_ttlv();
            assert_eq!(
                encoded_request_payload(&encoded),
                &s(REQUEST_PAYLOAD, payload.clone()),
                "Create encoded for {major}.{minor}"
            );
        }
    }
}

#[test]
fn attribute_index_zero_is_accepted() {
    // MySQL's keyring sends Attribute Index 0 (KMIP 1.4 §2.1.1: the index of the
    // first instance is 0). 2.x has no index: the value decodes as without one.
    let mut payload = create_payload_v14();
    let Value::Structure(template) = &mut payload[1].value else {
        unreachable!()
    };
    template[1] = s(
        ATTRIBUTE,
        vec![
            text(ATTRIBUTE_NAME, "Cryptographic Algorithm"),
            int(ATTRIBUTE_INDEX, 0),
            enumeration(ATTRIBUTE_VALUE, AES),
        ],
    );
    let m = decode_request(&request(1, 1, vec![batch_item(OP_CREATE, payload)]));
    assert_eq!(
        only_request_payload(&m),
        &RequestPayload::Create(expected_create())
    );
}

#[test]
fn misspelled_attribute_name_is_a_typed_error() {
    // ScyllaDB misspells standard names; the batch item must fail with Invalid
    // Field rather than the name being taken for a custom attribute.
    let payload = vec![
        enumeration(OBJECT_TYPE, SYMMETRIC_KEY),
        s(
            TEMPLATE_ATTRIBUTE,
            vec![v1_attribute(
                "Cryptographic Algoritm",
                Value::Enumeration(AES),
            )],
        ),
    ];
    let m = decode_request(&request(1, 4, vec![batch_item(OP_CREATE, payload.clone())]));
    let item = &m.batch_items[0];
    let err = item.payload_error.as_ref().expect("payload error");
    assert_eq!(
        err.kind,
        DecodeErrorKind::UnknownAttributeName("Cryptographic Algoritm".into())
    );
    assert_eq!(err.result_reason(), ResultReason::InvalidField);
    assert_eq!(err.result_reason().value(), INVALID_FIELD);
    assert_eq!(
        item.payload,
        RequestPayload::Raw(s(REQUEST_PAYLOAD, payload))
    );
}

// ---------------------------------------------------------------------------
// Responses: attributes the peer's version lacks are dropped

fn get_attributes_response(version: ProtocolVersion) -> ResponseMessage {
    let attributes = Attributes::new(vec![
        Attribute::standard(CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(AES)),
        Attribute::standard(FRESH, Value::Boolean(true)),
        Attribute::standard(ORIGINAL_CREATION_DATE, Value::DateTime(1_600_000_000)),
        Attribute::standard(SENSITIVE, Value::Boolean(false)),
        Attribute::standard(QUANTUM_SAFE, Value::Boolean(true)),
    ]);
    ResponseMessage {
        header: ResponseHeader {
            protocol_version: version,
            time_stamp: DateTime(1_600_000_000),
            nonce: None,
            server_hashed_password: None,
            attestation_types: Vec::new(),
            client_correlation_value: None,
            server_correlation_value: None,
            batch_count: 1,
            extensions: Vec::new(),
        },
        batch_items: vec![ResponseBatchItem::success(
            Some(Operation::GetAttributes),
            None,
            ResponsePayload::GetAttributes(GetAttributesResponse {
                unique_identifier: "k1".into(),
                attributes,
                extensions: Vec::new(),
            }),
        )],
    }
}

/// The attribute names (1.x) a GetAttributes response payload carries.
fn v1_attribute_names(payload: &Ttlv) -> Vec<String> {
    payload
        .children_with(ATTRIBUTE)
        .map(|a| match a.child(ATTRIBUTE_NAME).map(|n| &n.value) {
            Some(Value::TextString(n)) => n.clone(),
            other => panic!("attribute without a name: {other:?}"),
        })
        .collect()
}

fn encoded_response_payload(m: &ResponseMessage) -> Ttlv {
    m.to_ttlv()
        .child(BATCH_ITEM)
        .and_then(|b| b.child(RESPONSE_PAYLOAD))
        .cloned()
        .expect("response payload")
}

#[test]
fn get_attributes_response_drops_what_the_version_lacks() {
    // Fresh is a KMIP 1.1 attribute, Original Creation Date 1.2 (KMIP 1.2 §3.43),
    // Sensitive 1.4 (KMIP 1.4 §3.48), Quantum Safe 2.0. (Sensitive and Original
    // Creation Date are in the 1.4 specification, so a 1.4 client gets them; only
    // 2.0 additions such as Quantum Safe are dropped for 1.4.)
    let cases: [(ProtocolVersion, &[&str]); 5] = [
        (ProtocolVersion::V1_0, &["Cryptographic Algorithm"]),
        (ProtocolVersion::V1_1, &["Cryptographic Algorithm", "Fresh"]),
        (
            ProtocolVersion::V1_2,
            &["Cryptographic Algorithm", "Fresh", "Original Creation Date"],
        ),
        (
            ProtocolVersion::V1_3,
            &["Cryptographic Algorithm", "Fresh", "Original Creation Date"],
        ),
        (
            ProtocolVersion::V1_4,
            &[
                "Cryptographic Algorithm",
                "Fresh",
                "Original Creation Date",
                "Sensitive",
            ],
        ),
    ];
    for (version, names) in cases {
        let payload = encoded_response_payload(&get_attributes_response(version));
        assert_eq!(v1_attribute_names(&payload), names, "for {version}");
        assert!(
            payload.child(ATTRIBUTES).is_none(),
            "Attributes in {version}"
        );
    }
    let payload = encoded_response_payload(&get_attributes_response(ProtocolVersion::V2_1));
    let tags: Vec<Tag> = payload
        .child(ATTRIBUTES)
        .expect("Attributes in 2.1")
        .children()
        .iter()
        .map(|a| a.tag)
        .collect();
    assert_eq!(
        tags,
        [
            CRYPTOGRAPHIC_ALGORITHM,
            FRESH,
            ORIGINAL_CREATION_DATE,
            SENSITIVE,
            QUANTUM_SAFE
        ]
    );
    assert!(payload.child(ATTRIBUTE).is_none());
}

#[test]
fn fresh_is_dropped_for_1_0_and_kept_for_1_1() {
    // Percona Server for MongoDB (1.0) broke on a Fresh attribute.
    let fresh = |v: ProtocolVersion| {
        let payload = encoded_response_payload(&get_attributes_response(v));
        v1_attribute_names(&payload).iter().any(|n| n == "Fresh")
    };
    assert!(!fresh(ProtocolVersion::V1_0));
    assert!(fresh(ProtocolVersion::V1_1));
    // And what a 1.0 client receives decodes back without it.
    let encoded = get_attributes_response(ProtocolVersion::V1_0).encode();
    let back = ResponseMessage::decode(&encoded, &Limits::DEFAULT).expect("decodes");
    let Some(ResponsePayload::GetAttributes(p)) = &back.batch_items[0].payload else {
        panic!("typed GetAttributes payload expected: {back:?}")
    };
    assert_eq!(
        p.attributes.items,
        [Attribute::standard(
            CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(AES)
        )]
    );
}

// ---------------------------------------------------------------------------
// Locate quirks

fn decode_locate(payload: Vec<Ttlv>) -> LocateRequest {
    let m = decode_request(&request(1, 1, vec![batch_item(OP_LOCATE, payload)]));
    match only_request_payload(&m) {
        RequestPayload::Locate(l) => l.clone(),
        other => panic!("typed Locate expected: {other:?}"),
    }
}

#[test]
fn storage_status_mask_in_any_integer_type_decodes() {
    // KMIP 1.4 §4.9 makes it an Integer; MySQL's keyring has been seen sending it
    // otherwise. On-line 0x01 | Archival 0x02 (§9.1.3.3.2).
    for value in [
        Value::Integer(3),
        Value::Enumeration(3),
        Value::LongInteger(3),
    ] {
        let l = decode_locate(vec![Ttlv::new(STORAGE_STATUS_MASK, value.clone())]);
        assert_eq!(l.storage_status_mask, Some(Mask(3)), "{value:?}");
    }
    // A LongInteger beyond 32 bits is not a mask.
    let payload = vec![Ttlv::new(STORAGE_STATUS_MASK, Value::LongInteger(1 << 40))];
    let m = decode_request(&request(1, 1, vec![batch_item(OP_LOCATE, payload)]));
    let err = m.batch_items[0]
        .payload_error
        .as_ref()
        .expect("out of range");
    assert_eq!(err.result_reason(), ResultReason::InvalidField);
}

#[test]
fn fortigate_locate_with_name_in_template_attribute() {
    // FortiGate sends Locate(MaximumItems 1, TemplateAttribute(Attribute Name)).
    // KMIP 1.x Locate carries bare Attribute structures (1.4 §4.9), and the typed
    // layer reads only those: the TemplateAttribute is not understood as a filter.
    // It is kept, unmodified, in `extensions` (and re-encoded for 1.x), so the
    // request still decodes; but `attributes` is empty, so a server that matches on
    // `attributes` alone would treat this as "any object". The server must look
    // at a TemplateAttribute in `extensions` (or the decoder accept it as the 1.x
    // attribute form of Locate) before answering.
    let template = s(TEMPLATE_ATTRIBUTE, vec![v1_attribute("Name", name_value())]);
    let l = decode_locate(vec![int(MAXIMUM_ITEMS, 1), template.clone()]);
    assert_eq!(l.maximum_items, Some(1));
    assert!(l.attributes.items.is_empty());
    assert!(l.attributes.template_names.is_empty());
    assert_eq!(l.extensions, std::slice::from_ref(&template));

    let m = decode_request(&request(
        1,
        4,
        vec![batch_item(
            OP_LOCATE,
            vec![int(MAXIMUM_ITEMS, 1), template.clone()],
        )],
    ));
    assert_eq!(
        encoded_request_payload(&m.to_ttlv()),
        &s(REQUEST_PAYLOAD, vec![int(MAXIMUM_ITEMS, 1), template])
    );
}

// ---------------------------------------------------------------------------
// Batch items that cannot be typed do not sink the message

#[test]
fn unknown_operation_stays_raw_and_the_others_are_typed() {
    let unknown_payload = vec![text(Tag(0x54_0001), "vendor"), int(Tag(0x54_0002), 7)];
    let t = request(
        1,
        4,
        vec![
            batch_item(OP_ACTIVATE, vec![text(UNIQUE_IDENTIFIER, "a")]),
            batch_item(0x0000_0099, unknown_payload.clone()),
            batch_item(OP_GET, vec![text(UNIQUE_IDENTIFIER, "b")]),
        ],
    );
    let m = decode_request(&t);
    let items: &[RequestBatchItem] = &m.batch_items;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].operation, Operation::Activate);
    match &items[0].payload {
        RequestPayload::Activate(p) => assert_eq!(p.unique_identifier.as_deref(), Some("a")),
        other => panic!("typed Activate expected: {other:?}"),
    }
    assert_eq!(items[1].operation, Operation::Unknown(0x99));
    assert_eq!(items[1].operation.value(), 0x99);
    assert_eq!(
        items[1].payload,
        RequestPayload::Raw(s(REQUEST_PAYLOAD, unknown_payload))
    );
    assert_eq!(items[1].payload_error, None);
    match &items[2].payload {
        RequestPayload::Get(p) => assert_eq!(p.unique_identifier.as_deref(), Some("b")),
        other => panic!("typed Get expected: {other:?}"),
    }
    // It re-encodes unchanged.
    assert_eq!(m.to_ttlv(), t);
}

#[test]
fn malformed_payload_of_a_known_operation_is_a_per_item_error() {
    let cases: Vec<(u32, Vec<Ttlv>, DecodeErrorKind)> = vec![
        // Create without its required Object Type (KMIP 1.4 §4.1).
        (
            OP_CREATE,
            vec![s(TEMPLATE_ATTRIBUTE, Vec::new())],
            DecodeErrorKind::MissingField(OBJECT_TYPE),
        ),
        // Get with a Unique Identifier that is not a Text String.
        (
            OP_GET,
            vec![int(UNIQUE_IDENTIFIER, 5)],
            DecodeErrorKind::WrongType {
                tag: UNIQUE_IDENTIFIER,
                expected: kmip::ItemType::TextString,
                found: kmip::ItemType::Integer,
            },
        ),
        // Activate names one object, not two.
        (
            OP_ACTIVATE,
            vec![text(UNIQUE_IDENTIFIER, "a"), text(UNIQUE_IDENTIFIER, "b")],
            DecodeErrorKind::Repeated(UNIQUE_IDENTIFIER),
        ),
    ];
    for (op, payload, kind) in cases {
        let t = request(
            1,
            2,
            vec![
                batch_item(op, payload.clone()),
                batch_item(OP_ACTIVATE, vec![text(UNIQUE_IDENTIFIER, "ok")]),
            ],
        );
        let m = RequestMessage::from_ttlv(&t)
            .unwrap_or_else(|e| panic!("op {op:#x}: the message must still decode: {e}"));
        let bad = &m.batch_items[0];
        let err = bad.payload_error.as_ref().expect("payload error");
        assert_eq!(err.kind, kind, "op {op:#x}");
        assert_eq!(err.result_reason().value(), INVALID_FIELD, "op {op:#x}");
        assert_eq!(
            bad.payload,
            RequestPayload::Raw(s(REQUEST_PAYLOAD, payload))
        );
        let good = &m.batch_items[1];
        assert_eq!(good.payload_error, None);
        assert!(matches!(good.payload, RequestPayload::Activate(_)));
    }
}

#[test]
fn a_batch_item_without_operation_fails_the_message() {
    // Without an Operation the item cannot even be answered per item (KMIP 1.4
    // §7.1: Operation is required in a request batch item).
    let t = request(
        1,
        4,
        vec![s(BATCH_ITEM, vec![s(REQUEST_PAYLOAD, Vec::new())])],
    );
    let err = RequestMessage::from_ttlv(&t).expect_err("no operation");
    assert_eq!(err.kind, DecodeErrorKind::MissingField(OPERATION));
    assert_eq!(err.result_reason().value(), INVALID_FIELD);
}
