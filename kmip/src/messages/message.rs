//! Request and response messages (KMIP 1.4 §7.1, 2.1 §8): header plus batch items.

use super::codec::{Codec, Ctx, Node, Slot};
use super::header::{RequestHeader, ResponseHeader};
use super::payloads::{RequestPayload, ResponsePayload};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::ttlv::{binary, ItemType, Limits, Tag, Ttlv, Value};
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

/// Reads the protocol version from a message's header first: everything else is
/// decoded in its light.
fn message_version<'a, N: Node<'a>>(
    header: Option<N>,
    header_tag: Tag,
) -> Result<ProtocolVersion, DecodeError> {
    let header =
        header.ok_or_else(|| DecodeError::new(DecodeErrorKind::MissingField(header_tag)))?;
    // A header that is not a structure has no Protocol Version child.
    let header_children = match header.item_type() {
        ItemType::Structure => header.structure().ok(),
        _ => None,
    };
    let pv = header_children
        .and_then(|c| first_child(c, Tag::PROTOCOL_VERSION))
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::MissingField(Tag::PROTOCOL_VERSION)))?;
    let v = protocol_version(pv, &Ctx::new(ProtocolVersion::LATEST))?;
    // KMIP starts at 1.0: a 0.x or negative version defines no tag at all, so nothing
    // could be answered in it (found by fuzzing: the version gate emptied the reply).
    if v.major < 1 || v.minor < 0 {
        return Err(DecodeError::new(DecodeErrorKind::UnsupportedVersion(v)));
    }
    Ok(v)
}

/// Protocol Version (KMIP 1.4 §6.1): as its `Codec` decodes it, read without
/// building a tree (a test checks the two agree).
fn protocol_version<'a, N: Node<'a>>(item: N, ctx: &Ctx) -> Result<ProtocolVersion, DecodeError> {
    let (mut major, mut minor) = (Slot::EMPTY, Slot::EMPTY);
    for c in item.structure()? {
        match c.tag() {
            Tag::PROTOCOL_VERSION_MAJOR => major.see(c),
            Tag::PROTOCOL_VERSION_MINOR => minor.see(c),
            _ => {}
        }
    }
    Ok(ProtocolVersion::new(
        major.one(Tag::PROTOCOL_VERSION_MAJOR, ctx)?,
        minor.one(Tag::PROTOCOL_VERSION_MINOR, ctx)?,
    ))
}

fn first_child<'a, N: Node<'a>>(mut children: impl Iterator<Item = N>, tag: Tag) -> Option<N> {
    children.find(|c| c.tag() == tag)
}

fn expect_root<'a, N: Node<'a>>(root: N, tag: Tag) -> Result<N::Children, DecodeError> {
    if root.tag() != tag {
        return Err(DecodeError::new(DecodeErrorKind::UnexpectedTag {
            expected: tag,
            found: root.tag(),
        }));
    }
    root.structure()
}

/// The header (its first occurrence, and how many) and the number of batch items
/// of a message, found in one pass.
fn message_parts<'a, N: Node<'a>>(
    children: impl Iterator<Item = N>,
    header_tag: Tag,
) -> (Slot<N>, usize) {
    let mut header = Slot::EMPTY;
    let mut batch_items = 0;
    for c in children {
        match c.tag() {
            t if t == header_tag => header.see(c),
            Tag::BATCH_ITEM => batch_items += 1,
            _ => {}
        }
    }
    (header, batch_items)
}

impl RequestMessage {
    /// A request of one batch item: `payload` for `operation`, at version `version`,
    /// with a header carrying nothing else (what a client sends most of the time).
    pub fn single(version: ProtocolVersion, operation: Operation, payload: RequestPayload) -> Self {
        Self {
            header: RequestHeader {
                protocol_version: version,
                maximum_response_size: None,
                client_correlation_value: None,
                server_correlation_value: None,
                asynchronous_indicator: None,
                attestation_capable_indicator: None,
                attestation_types: Vec::new(),
                authentication: None,
                batch_error_continuation_option: None,
                batch_order_option: None,
                time_stamp: None,
                batch_count: 1,
                extensions: Vec::new(),
            },
            batch_items: vec![RequestBatchItem {
                operation,
                ephemeral: None,
                unique_batch_item_id: None,
                payload,
                payload_error: None,
                message_extension: None,
                extensions: Vec::new(),
            }],
        }
    }

    /// Decodes a binary TTLV request within `limits`. The input is checked as
    /// [`binary::decode`] checks it (same limits, same errors), then read into the
    /// typed message directly, without an intermediate tree.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        Self::from_node(binary::validate(bytes, limits)?)
    }

    /// Decodes from a TTLV tree.
    pub fn from_ttlv(root: &Ttlv) -> Result<Self, DecodeError> {
        Self::from_node(root)
    }

    fn from_node<'a, N: Node<'a>>(root: N) -> Result<Self, DecodeError> {
        let children = expect_root(root, Tag::REQUEST_MESSAGE)?;
        let (header, count) = message_parts(children.clone(), Tag::REQUEST_HEADER);
        let ctx = Ctx::new(message_version(header.first(), Tag::REQUEST_HEADER)?);
        let header = header.one(Tag::REQUEST_HEADER, &ctx)?;
        let mut batch_items = Vec::with_capacity(count);
        for c in children.filter(|c| c.tag() == Tag::BATCH_ITEM) {
            RequestBatchItem::decode_onto(c, &ctx, &mut batch_items)?;
        }
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
    /// Decodes a batch item and appends it to `out` (built in place: a batch item
    /// is hundreds of bytes, not worth moving through a `Result`).
    fn decode_onto<'a, N: Node<'a>>(
        item: N,
        ctx: &Ctx,
        out: &mut Vec<Self>,
    ) -> Result<(), DecodeError> {
        let mut operation = Slot::EMPTY;
        let mut ephemeral = Slot::EMPTY;
        let mut unique_batch_item_id = Slot::EMPTY;
        let mut payload = Slot::EMPTY;
        let mut message_extension = Slot::EMPTY;
        let mut extensions = Vec::new();
        for c in item.structure()? {
            match c.tag() {
                Tag::OPERATION => operation.see(c),
                Tag::EPHEMERAL => ephemeral.see(c),
                Tag::UNIQUE_BATCH_ITEM_ID => unique_batch_item_id.see(c),
                Tag::REQUEST_PAYLOAD => payload.see(c),
                Tag::MESSAGE_EXTENSION => message_extension.see(c),
                _ => extensions.push(c.to_ttlv()),
            }
        }
        let operation: Operation = operation.one(Tag::OPERATION, ctx)?;
        // The first Request Payload is the payload (a second one is ignored); an
        // absent one decodes as empty. One that does not decode is kept raw, and the
        // error answers this item alone.
        let mut payload_error = None;
        let payload = match payload.first() {
            Some(p) => RequestPayload::decode_node(operation, p, ctx).unwrap_or_else(|e| {
                payload_error = Some(e);
                RequestPayload::Raw(p.to_ttlv())
            }),
            None => {
                let empty = Ttlv::structure(Tag::REQUEST_PAYLOAD, Vec::new());
                RequestPayload::decode(operation, &empty, ctx).unwrap_or_else(|e| {
                    payload_error = Some(e);
                    RequestPayload::Raw(empty)
                })
            }
        };
        out.push(Self {
            operation,
            ephemeral: ephemeral.opt(Tag::EPHEMERAL, ctx)?,
            unique_batch_item_id: unique_batch_item_id.opt(Tag::UNIQUE_BATCH_ITEM_ID, ctx)?,
            payload,
            payload_error,
            message_extension: message_extension.opt(Tag::MESSAGE_EXTENSION, ctx)?,
            extensions,
        });
        Ok(())
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
    /// Decodes a binary TTLV response within `limits` (checked as
    /// [`binary::decode`] checks it, then read without an intermediate tree).
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        Self::from_node(binary::validate(bytes, limits)?)
    }

    /// Decodes from a TTLV tree.
    pub fn from_ttlv(root: &Ttlv) -> Result<Self, DecodeError> {
        Self::from_node(root)
    }

    fn from_node<'a, N: Node<'a>>(root: N) -> Result<Self, DecodeError> {
        let children = expect_root(root, Tag::RESPONSE_MESSAGE)?;
        let (header, count) = message_parts(children.clone(), Tag::RESPONSE_HEADER);
        let ctx = Ctx::new(message_version(header.first(), Tag::RESPONSE_HEADER)?);
        let header = header.one(Tag::RESPONSE_HEADER, &ctx)?;
        let mut batch_items = Vec::with_capacity(count);
        for c in children.filter(|c| c.tag() == Tag::BATCH_ITEM) {
            ResponseBatchItem::decode_onto(c, &ctx, &mut batch_items)?;
        }
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

    /// Decodes a batch item and appends it to `out` (built in place, as for
    /// requests).
    fn decode_onto<'a, N: Node<'a>>(
        item: N,
        ctx: &Ctx,
        out: &mut Vec<Self>,
    ) -> Result<(), DecodeError> {
        let mut operation = Slot::EMPTY;
        let mut unique_batch_item_id = Slot::EMPTY;
        let mut result_status = Slot::EMPTY;
        let mut result_reason = Slot::EMPTY;
        let mut result_message = Slot::EMPTY;
        let mut asynchronous_correlation_value = Slot::EMPTY;
        let mut payload = Slot::EMPTY;
        let mut message_extension = Slot::EMPTY;
        let mut extensions = Vec::new();
        for c in item.structure()? {
            match c.tag() {
                Tag::OPERATION => operation.see(c),
                Tag::UNIQUE_BATCH_ITEM_ID => unique_batch_item_id.see(c),
                Tag::RESULT_STATUS => result_status.see(c),
                Tag::RESULT_REASON => result_reason.see(c),
                Tag::RESULT_MESSAGE => result_message.see(c),
                Tag::ASYNCHRONOUS_CORRELATION_VALUE => asynchronous_correlation_value.see(c),
                Tag::RESPONSE_PAYLOAD => payload.see(c),
                Tag::MESSAGE_EXTENSION => message_extension.see(c),
                _ => extensions.push(c.to_ttlv()),
            }
        }
        let operation: Option<Operation> = operation.opt(Tag::OPERATION, ctx)?;
        let result_status: ResultStatus = result_status.one(Tag::RESULT_STATUS, ctx)?;
        // The first Response Payload is the payload (a second one is ignored).
        let payload = match payload.first() {
            None => None,
            Some(p) => Some(match operation {
                Some(op) if result_status == ResultStatus::Success => {
                    ResponsePayload::decode_node(op, p, ctx)?
                }
                _ => ResponsePayload::Raw(p.to_ttlv()),
            }),
        };
        out.push(Self {
            operation,
            unique_batch_item_id: unique_batch_item_id.opt(Tag::UNIQUE_BATCH_ITEM_ID, ctx)?,
            result_status,
            result_reason: result_reason.opt(Tag::RESULT_REASON, ctx)?,
            result_message: result_message.opt(Tag::RESULT_MESSAGE, ctx)?,
            asynchronous_correlation_value: asynchronous_correlation_value
                .opt(Tag::ASYNCHRONOUS_CORRELATION_VALUE, ctx)?,
            payload,
            message_extension: message_extension.opt(Tag::MESSAGE_EXTENSION, ctx)?,
            extensions,
        });
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttlv::xml::{self, PlaceholderPolicy, XmlOptions};
    use std::path::{Path, PathBuf};

    /// Every message of the OASIS vectors, as trees.
    fn vector_messages() -> Vec<Ttlv> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).expect("read vectors dir") {
                let p = e.expect("dir entry").path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "xml") {
                    out.push(p);
                }
            }
        }
        let dir = std::env::var_os("KEYGATE_OASIS_VECTORS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/kmip/vectors")
            });
        let mut files = Vec::new();
        walk(&dir, &mut files);
        files.sort();
        assert!(
            !files.is_empty(),
            "no OASIS vectors under {}",
            dir.display()
        );
        let mut opts = XmlOptions::default();
        opts.placeholders.policy = PlaceholderPolicy::Literal;
        files
            .iter()
            .flat_map(|f| {
                let text = std::fs::read_to_string(f).expect("read vector");
                xml::parse_conversation(&text, &opts).expect("vector parses")
            })
            .collect()
    }

    /// The binary path (validate, then read the bytes) against the tree path
    /// (decode to a tree, then `from_ttlv`): the same message or the same error.
    fn assert_paths_agree(tree: &Ttlv) {
        let bytes = binary::encode(tree);
        let limits = Limits::DEFAULT;
        let via_tree = binary::decode(&bytes, &limits);
        assert_eq!(
            RequestMessage::decode(&bytes, &limits),
            via_tree.clone().and_then(|t| RequestMessage::from_ttlv(&t)),
            "{tree:?}"
        );
        assert_eq!(
            ResponseMessage::decode(&bytes, &limits),
            via_tree.and_then(|t| ResponseMessage::from_ttlv(&t)),
            "{tree:?}"
        );
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % n.max(1) as u64).unwrap_or(0)
        }
    }

    /// Rewrites one item somewhere in `t` so that typed decoding meets repeats,
    /// absences, wrong types and unknown tags, while the TTLV stays valid.
    fn mutate(t: &mut Ttlv, rng: &mut Rng, tags: &[Tag]) {
        let Value::Structure(children) = &mut t.value else {
            t.value = match rng.below(4) {
                0 => Value::Integer(7),
                1 => Value::Enumeration(0x8000_0001),
                2 => Value::TextString("x".into()),
                _ => Value::Structure(Vec::new()),
            };
            return;
        };
        if children.is_empty() || rng.below(4) == 0 {
            match rng.below(3) {
                0 => children.push(Ttlv::new(Tag(0x54_0001), Value::Boolean(true))),
                1 if !children.is_empty() => {
                    let i = rng.below(children.len());
                    children.remove(i);
                }
                _ => t.value = Value::Integer(1),
            }
            return;
        }
        let i = rng.below(children.len());
        match rng.below(4) {
            0 => {
                let dup = children[i].clone();
                children.insert(i, dup);
            }
            1 => children[i].tag = tags[rng.below(tags.len())],
            _ => mutate(&mut children[i], rng, tags),
        }
    }

    #[test]
    fn binary_path_matches_tree_path_on_vectors_and_mutants() {
        let messages = vector_messages();
        let mut tags = Vec::new();
        fn collect(t: &Ttlv, tags: &mut Vec<Tag>) {
            tags.push(t.tag);
            t.children().iter().for_each(|c| collect(c, tags));
        }
        messages.iter().for_each(|m| collect(m, &mut tags));
        tags.sort();
        tags.dedup();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for m in &messages {
            assert_paths_agree(m);
            for _ in 0..6 {
                let mut mutant = m.clone();
                for _ in 0..=rng.below(2) {
                    mutate(&mut mutant, &mut rng, &tags);
                }
                assert_paths_agree(&mutant);
            }
        }
    }

    #[test]
    fn protocol_version_reads_as_its_codec_does() {
        let int = |tag, v| Ttlv::new(tag, Value::Integer(v));
        let major = int(Tag::PROTOCOL_VERSION_MAJOR, 1);
        let minor = int(Tag::PROTOCOL_VERSION_MINOR, 4);
        let cases = [
            vec![major.clone(), minor.clone()],
            vec![minor.clone(), major.clone(), int(Tag(0x54_0001), 0)],
            vec![major.clone()],
            vec![major.clone(), major.clone(), minor.clone()],
            vec![
                major,
                Ttlv::new(Tag::PROTOCOL_VERSION_MINOR, Value::Enumeration(4)),
            ],
            vec![],
        ];
        let ctx = Ctx::new(ProtocolVersion::LATEST);
        for c in cases {
            let t = Ttlv::structure(Tag::PROTOCOL_VERSION, c);
            let bytes = binary::encode(&t);
            let item = binary::validate(&bytes, &Limits::DEFAULT).expect("valid");
            assert_eq!(
                protocol_version(item, &ctx),
                ProtocolVersion::decode(&t, &ctx)
            );
            assert_eq!(
                protocol_version(&t, &ctx),
                ProtocolVersion::decode(&t, &ctx)
            );
        }
        let not_a_structure = Ttlv::new(Tag::PROTOCOL_VERSION, Value::Integer(1));
        assert_eq!(
            protocol_version(&not_a_structure, &ctx),
            ProtocolVersion::decode(&not_a_structure, &ctx)
        );
    }
}
