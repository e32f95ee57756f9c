//! Request and response messages (KMIP 1.4 §7.1, 2.1 §8): header plus batch items.

use super::codec::{field_one, field_opt, structure_children, Codec, Ctx};
use super::header::{RequestHeader, ResponseHeader};
use super::payloads::{RequestPayload, ResponsePayload};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::ttlv::{binary, Limits, Tag, Ttlv, Value};
use crate::types::{Operation, ResultReason, ResultStatus};
use crate::version::{gate, ProtocolVersion};

/// A request message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMessage {
    /// Request Header.
    pub header: RequestHeader,
    /// Batch items, in order.
    pub batch_items: Vec<RequestBatchItem>,
}

/// One request batch item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBatchItem {
    /// Operation.
    pub operation: Operation,
    /// Ephemeral (2.0): do not persist the object.
    pub ephemeral: Option<bool>,
    /// Unique Batch Item ID.
    pub unique_batch_item_id: Option<Vec<u8>>,
    /// The payload (typed, or raw for operations without a typed form).
    pub payload: RequestPayload,
    /// Why the typed payload could not be decoded, if it could not; the payload is
    /// then [`RequestPayload::Raw`] and the server answers this item alone with
    /// the error's result reason.
    pub payload_error: Option<DecodeError>,
    /// Message Extension.
    pub message_extension: Option<Ttlv>,
    /// Other children, kept in order.
    pub extensions: Vec<Ttlv>,
}

/// A response message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMessage {
    /// Response Header.
    pub header: ResponseHeader,
    /// Batch items, in order.
    pub batch_items: Vec<ResponseBatchItem>,
}

/// One response batch item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseBatchItem {
    /// Operation (echoed when the request had it).
    pub operation: Option<Operation>,
    /// Unique Batch Item ID (echoed).
    pub unique_batch_item_id: Option<Vec<u8>>,
    /// Result Status.
    pub result_status: ResultStatus,
    /// Result Reason (required when the status is not Success).
    pub result_reason: Option<ResultReason>,
    /// Result Message.
    pub result_message: Option<String>,
    /// Asynchronous Correlation Value.
    pub asynchronous_correlation_value: Option<Vec<u8>>,
    /// The payload.
    pub payload: Option<ResponsePayload>,
    /// Message Extension.
    pub message_extension: Option<Ttlv>,
    /// Other children, kept in order.
    pub extensions: Vec<Ttlv>,
}

const REQUEST_ITEM_TAGS: &[Tag] = &[
    Tag::OPERATION,
    Tag::EPHEMERAL,
    Tag::UNIQUE_BATCH_ITEM_ID,
    Tag::REQUEST_PAYLOAD,
    Tag::MESSAGE_EXTENSION,
];

const RESPONSE_ITEM_TAGS: &[Tag] = &[
    Tag::OPERATION,
    Tag::UNIQUE_BATCH_ITEM_ID,
    Tag::RESULT_STATUS,
    Tag::RESULT_REASON,
    Tag::RESULT_MESSAGE,
    Tag::ASYNCHRONOUS_CORRELATION_VALUE,
    Tag::RESPONSE_PAYLOAD,
    Tag::MESSAGE_EXTENSION,
];

/// Reads the protocol version from a message's header first: everything else is
/// decoded in its light.
fn message_version(root: &Ttlv, header_tag: Tag) -> Result<ProtocolVersion, DecodeError> {
    let header = root
        .child(header_tag)
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::MissingField(header_tag)))?;
    let pv = header
        .child(Tag::PROTOCOL_VERSION)
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::MissingField(Tag::PROTOCOL_VERSION)))?;
    let v = ProtocolVersion::decode(pv, &Ctx::new(ProtocolVersion::LATEST))?;
    // KMIP starts at 1.0: a 0.x or negative version defines no tag at all, so nothing
    // could be answered in it (found by fuzzing: the version gate emptied the reply).
    if v.major < 1 || v.minor < 0 {
        return Err(DecodeError::new(DecodeErrorKind::UnsupportedVersion(v)));
    }
    Ok(v)
}

fn expect_root(root: &Ttlv, tag: Tag) -> Result<&[Ttlv], DecodeError> {
    if root.tag != tag {
        return Err(DecodeError::new(DecodeErrorKind::UnexpectedTag {
            expected: tag,
            found: root.tag,
        }));
    }
    structure_children(root)
}

impl RequestMessage {
    /// Decodes a binary TTLV request within `limits`.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        Self::from_ttlv(&binary::decode(bytes, limits)?)
    }

    /// Decodes from a TTLV tree.
    pub fn from_ttlv(root: &Ttlv) -> Result<Self, DecodeError> {
        let children = expect_root(root, Tag::REQUEST_MESSAGE)?;
        let ctx = Ctx::new(message_version(root, Tag::REQUEST_HEADER)?);
        let header = field_one(children, Tag::REQUEST_HEADER, &ctx)?;
        let batch_items = children
            .iter()
            .filter(|c| c.tag == Tag::BATCH_ITEM)
            .map(|c| RequestBatchItem::decode(c, &ctx))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            header,
            batch_items,
        })
    }

    /// The protocol version of the message.
    pub fn version(&self) -> ProtocolVersion {
        self.header.protocol_version
    }

    /// Encodes to a TTLV tree in the header's version, gated to that version.
    pub fn to_ttlv(&self) -> Ttlv {
        let ctx = Ctx::new(self.version());
        let mut children = vec![self.header.encode(Tag::REQUEST_HEADER, &ctx)];
        children.extend(
            self.batch_items
                .iter()
                .map(|b| b.encode(Tag::BATCH_ITEM, &ctx)),
        );
        let mut t = Ttlv::structure(Tag::REQUEST_MESSAGE, children);
        gate(&mut t, ctx.version);
        t
    }

    /// Encodes to binary TTLV.
    pub fn encode(&self) -> Vec<u8> {
        binary::encode(&self.to_ttlv())
    }
}

impl RequestBatchItem {
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        let c = structure_children(item)?;
        let operation: Operation = field_one(c, Tag::OPERATION, ctx)?;
        let raw_payload = c.iter().find(|x| x.tag == Tag::REQUEST_PAYLOAD);
        let empty = Ttlv::structure(Tag::REQUEST_PAYLOAD, Vec::new());
        let raw_payload = raw_payload.unwrap_or(&empty);
        let (payload, payload_error) = match RequestPayload::decode(operation, raw_payload, ctx) {
            Ok(p) => (p, None),
            Err(e) => (RequestPayload::Raw(raw_payload.clone()), Some(e)),
        };
        Ok(Self {
            operation,
            ephemeral: field_opt(c, Tag::EPHEMERAL, ctx)?,
            unique_batch_item_id: field_opt(c, Tag::UNIQUE_BATCH_ITEM_ID, ctx)?,
            payload,
            payload_error,
            message_extension: field_opt(c, Tag::MESSAGE_EXTENSION, ctx)?,
            extensions: c
                .iter()
                .filter(|x| !REQUEST_ITEM_TAGS.contains(&x.tag))
                .cloned()
                .collect(),
        })
    }

    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        let mut c = vec![self.operation.encode(Tag::OPERATION, ctx)];
        if let Some(e) = self.ephemeral {
            c.push(e.encode(Tag::EPHEMERAL, ctx));
        }
        if let Some(id) = &self.unique_batch_item_id {
            c.push(id.encode(Tag::UNIQUE_BATCH_ITEM_ID, ctx));
        }
        c.push(self.payload.encode(ctx));
        if let Some(m) = &self.message_extension {
            c.push(m.encode(Tag::MESSAGE_EXTENSION, ctx));
        }
        c.extend(self.extensions.iter().cloned());
        Ttlv::structure(tag, c)
    }
}

impl ResponseMessage {
    /// Decodes a binary TTLV response within `limits`.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        Self::from_ttlv(&binary::decode(bytes, limits)?)
    }

    /// Decodes from a TTLV tree.
    pub fn from_ttlv(root: &Ttlv) -> Result<Self, DecodeError> {
        let children = expect_root(root, Tag::RESPONSE_MESSAGE)?;
        let ctx = Ctx::new(message_version(root, Tag::RESPONSE_HEADER)?);
        let header = field_one(children, Tag::RESPONSE_HEADER, &ctx)?;
        let batch_items = children
            .iter()
            .filter(|c| c.tag == Tag::BATCH_ITEM)
            .map(|c| ResponseBatchItem::decode(c, &ctx))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            header,
            batch_items,
        })
    }

    /// The protocol version of the message.
    pub fn version(&self) -> ProtocolVersion {
        self.header.protocol_version
    }

    /// Encodes to a TTLV tree in the header's version. The version gate removes any
    /// tag or enumeration value that version does not define.
    pub fn to_ttlv(&self) -> Ttlv {
        let ctx = Ctx::new(self.version());
        let mut children = vec![self.header.encode(Tag::RESPONSE_HEADER, &ctx)];
        children.extend(
            self.batch_items
                .iter()
                .map(|b| b.encode(Tag::BATCH_ITEM, &ctx)),
        );
        let mut t = Ttlv::structure(Tag::RESPONSE_MESSAGE, children);
        gate(&mut t, ctx.version);
        t
    }

    /// Encodes to binary TTLV.
    pub fn encode(&self) -> Vec<u8> {
        binary::encode(&self.to_ttlv())
    }
}

impl ResponseBatchItem {
    /// A failed item.
    pub fn failure(
        operation: Option<Operation>,
        unique_batch_item_id: Option<Vec<u8>>,
        reason: ResultReason,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            unique_batch_item_id,
            result_status: ResultStatus::OperationFailed,
            result_reason: Some(reason),
            result_message: Some(message.into()),
            asynchronous_correlation_value: None,
            payload: None,
            message_extension: None,
            extensions: Vec::new(),
        }
    }

    /// A successful item.
    pub fn success(
        operation: Option<Operation>,
        unique_batch_item_id: Option<Vec<u8>>,
        payload: ResponsePayload,
    ) -> Self {
        Self {
            operation,
            unique_batch_item_id,
            result_status: ResultStatus::Success,
            result_reason: None,
            result_message: None,
            asynchronous_correlation_value: None,
            payload: Some(payload),
            message_extension: None,
            extensions: Vec::new(),
        }
    }

    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        let c = structure_children(item)?;
        let operation: Option<Operation> = field_opt(c, Tag::OPERATION, ctx)?;
        let result_status: ResultStatus = field_one(c, Tag::RESULT_STATUS, ctx)?;
        let payload = match c.iter().find(|x| x.tag == Tag::RESPONSE_PAYLOAD) {
            None => None,
            Some(p) => Some(match operation {
                Some(op) if result_status == ResultStatus::Success => {
                    ResponsePayload::decode(op, p, ctx)?
                }
                _ => ResponsePayload::Raw(p.clone()),
            }),
        };
        Ok(Self {
            operation,
            unique_batch_item_id: field_opt(c, Tag::UNIQUE_BATCH_ITEM_ID, ctx)?,
            result_status,
            result_reason: field_opt(c, Tag::RESULT_REASON, ctx)?,
            result_message: field_opt(c, Tag::RESULT_MESSAGE, ctx)?,
            asynchronous_correlation_value: field_opt(c, Tag::ASYNCHRONOUS_CORRELATION_VALUE, ctx)?,
            payload,
            message_extension: field_opt(c, Tag::MESSAGE_EXTENSION, ctx)?,
            extensions: c
                .iter()
                .filter(|x| !RESPONSE_ITEM_TAGS.contains(&x.tag))
                .cloned()
                .collect(),
        })
    }

    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        let mut c = Vec::new();
        if let Some(op) = self.operation {
            c.push(op.encode(Tag::OPERATION, ctx));
        }
        if let Some(id) = &self.unique_batch_item_id {
            c.push(id.encode(Tag::UNIQUE_BATCH_ITEM_ID, ctx));
        }
        c.push(self.result_status.encode(Tag::RESULT_STATUS, ctx));
        if let Some(r) = self.result_reason {
            c.push(r.encode(Tag::RESULT_REASON, ctx));
        }
        if let Some(m) = &self.result_message {
            c.push(Ttlv::new(Tag::RESULT_MESSAGE, Value::TextString(m.clone())));
        }
        if let Some(a) = &self.asynchronous_correlation_value {
            c.push(a.encode(Tag::ASYNCHRONOUS_CORRELATION_VALUE, ctx));
        }
        if let Some(p) = &self.payload {
            c.push(p.encode(ctx));
        }
        if let Some(m) = &self.message_extension {
            c.push(m.encode(Tag::MESSAGE_EXTENSION, ctx));
        }
        c.extend(self.extensions.iter().cloned());
        Ttlv::structure(tag, c)
    }
}
