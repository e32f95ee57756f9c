//! Conformance replay (`keygate replay`): plays OASIS-style XML conversations against
//! a KMIP server and compares each response with the expected one.
//!
//! Rules (the vectors' README, `../shared/kmip/README.md`):
//! - `$UNIQUE_IDENTIFIER_n` is bound to the n-th identifier the server returns (the
//!   first time an expected response holds it) and substituted into later requests.
//! - `$NOW±n` resolves to the time the file is loaded; DateTime values compare within
//!   [`CLOCK_TOLERANCE`] seconds.
//! - Server-chosen values are not compared: TimeStamp, correlation values, Nonce,
//!   Result Message text (the Result Reason is compared), the key material of objects
//!   the server generated (Create, Re-key, …) and the Digest computed from it (its
//!   value and the Key Format Type it was computed in, which 1.4 §3.17 leaves to the
//!   server for objects it did not receive), and identifiers. The Digest of a
//!   registered object is compared: it is determined by what the client registered.
//! - Byte strings written `$NAME` in an expected response (signatures, MACs, IVs,
//!   ciphertexts, correlation values, Short Unique Identifiers) are present but not
//!   compared; each is bound to the bytes the server returned and substituted where
//!   a later request carries `$NAME`.
//! - Outputs that depend on the server's randomness are bound, not compared: in the
//!   answer to RNG Retrieve (Data), and in the answer to Encrypt, Sign or MAC when
//!   the key is one the server generated, when the key is a public or private key
//!   (RSA encryption pads with random bytes), or (Encrypt) when the request carried
//!   no IV and the server chose one. Each such value (Data, IV/Counter/Nonce,
//!   Authenticated Encryption Tag, Signature Data, MAC Data) that differs from the
//!   expected one binds expected → actual, and a later request carrying the expected
//!   bytes in a field of the same tag carries the server's bytes instead: a later
//!   Decrypt, Signature Verify or MAC Verify then processes the server's own output
//!   and must give the expected plaintext or validity. A `$NAME` in a request that
//!   no expected response defined stands for the latest such output of the same tag
//!   (CS-BC-M-13-14 writes the ciphertext concretely in the Encrypt answer and as
//!   `$DATA_0` in the following Decrypts). The replay sends only the vector's
//!   requests: ciphertext that no earlier answer produced is sent as it is.
//! - Attribute lists (Get Attribute List names) are compared as sets: their order
//!   is the server's.
//! - Attribute sets (GetAttributes all attributes) and Locate results: every expected
//!   entry must be present; extra entries the server returns are allowed (the store
//!   may hold other objects, and servers set optional attributes differently).
//! - Random Number Generator (KMIP 1.4 §3.44) describes the generator the server
//!   used, so it must be present (with its RNG Algorithm) but its value is the
//!   server's: the vectors carry the reference server's own generator.
//! - Lease Time (1.4 §3.20) is the server's lease policy, an attribute that "SHALL
//!   always have a value: No"; expected Lease Time attributes and names are not
//!   required, and their values are not compared.
//! - A Query answer (1.4 §4.25) describes the server that gives it: the expected
//!   payload says which kinds of information are asked for (every expected child
//!   tag must appear at least once), the lists themselves are the server's.
//!
//! CONFORMANCE.md at the repository root explains each rule.

use kmip::client::{Client, ClientConfig};
use kmip::ttlv::xml::{self, PlaceholderPolicy, XmlOptions};
use kmip::ttlv::{Tag, Ttlv, Value};
use kmip::types::{ObjectType, Operation};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Seconds by which a DateTime may differ from the expected `$NOW`-based value.
pub const CLOCK_TOLERANCE: i64 = 300;

/// The outcome of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every response matched.
    Pass,
    /// The first difference.
    Fail(String),
}

/// What the replay has learnt from the answers so far.
#[derive(Debug, Default, Clone)]
struct Bindings {
    /// `$UNIQUE_IDENTIFIER_n` → the server's identifier.
    uids: HashMap<String, String>,
    /// Objects whose key material the server generated.
    generated: HashSet<String>,
    /// Public and private keys (RSA encryption and signatures are randomised).
    asymmetric: HashSet<String>,
    /// `$NAME` byte strings → the server's bytes.
    named: HashMap<String, Vec<u8>>,
    /// (tag, expected bytes) → the server's bytes, for server-chosen outputs that
    /// differ from the vector's.
    values: HashMap<(Tag, Vec<u8>), Vec<u8>>,
    /// The latest server-chosen output of each tag.
    last_output: HashMap<Tag, Vec<u8>>,
}

/// Replays one conversation file against the server `cfg` names.
pub fn replay_file(path: &Path, cfg: &ClientConfig) -> Outcome {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Outcome::Fail(format!("cannot read: {e}")),
    };
    let mut opts = XmlOptions::default();
    opts.placeholders.policy = PlaceholderPolicy::Literal;
    opts.placeholders.now = now();
    let msgs = match xml::parse_conversation(&text, &opts) {
        Ok(m) => m,
        Err(e) => return Outcome::Fail(format!("cannot parse: {e}")),
    };
    let mut client = match Client::connect(cfg) {
        Ok(c) => c,
        Err(e) => return Outcome::Fail(format!("cannot connect: {e}")),
    };
    let mut b = Bindings::default();
    let mut i = 0;
    while i < msgs.len() {
        let req = &msgs[i];
        if req.tag != Tag::REQUEST_MESSAGE {
            return Outcome::Fail(format!(
                "message {i}: expected a RequestMessage, found {}",
                req.tag
            ));
        }
        let Some(expected) = msgs.get(i + 1).filter(|m| m.tag == Tag::RESPONSE_MESSAGE) else {
            return Outcome::Fail(format!("message {i}: request without an expected response"));
        };
        let mut sent = req.clone();
        if let Err(missing) = substitute(&mut sent, &mut b) {
            return Outcome::Fail(format!(
                "request {}: {missing} not bound by an earlier response",
                i / 2
            ));
        }
        let actual = match client.roundtrip(&sent) {
            Ok(a) => a,
            Err(e) => return Outcome::Fail(format!("request {}: {e}", i / 2)),
        };
        note_objects(&sent, &actual, &mut b);
        let mut path = vec![expected.tag.to_string()];
        let request_items: Vec<&Ttlv> = sent.children_with(Tag::BATCH_ITEM).collect();
        let mut cx = Cmp {
            b: &mut b,
            request_items: &request_items,
            item: 0,
            op: None,
            in_generated: false,
            server_chosen: false,
            in_query: false,
            in_digest: false,
            parent: Tag::RESPONSE_MESSAGE,
        };
        if let Err(diff) = compare(expected, &actual, &mut cx, &mut path) {
            return Outcome::Fail(format!("response {}: {diff}", i / 2));
        }
        i += 2;
    }
    Outcome::Pass
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn placeholder_uid(s: &str) -> bool {
    s.starts_with("$UNIQUE_IDENTIFIER_")
}

/// A byte string the vectors write as `$NAME`: the XML reader keeps the text.
fn placeholder_bytes(b: &[u8]) -> Option<&str> {
    if b.first() == Some(&b'$') {
        std::str::from_utf8(b).ok()
    } else {
        None
    }
}

/// Replaces, in a request, bound `$UNIQUE_IDENTIFIER_n` placeholders, `$NAME` byte
/// strings, and expected outputs the server answered differently (see the module
/// rules). Fails with the name of a placeholder nothing bound.
fn substitute(t: &mut Ttlv, b: &mut Bindings) -> Result<(), String> {
    let tag = t.tag;
    match &mut t.value {
        Value::TextString(s) if placeholder_uid(s) => {
            *s = b.uids.get(s.as_str()).cloned().ok_or_else(|| s.clone())?;
        }
        Value::ByteString(v) => {
            if let Some(name) = placeholder_bytes(v).map(str::to_owned) {
                let bound = match b.named.get(&name) {
                    Some(x) => x.clone(),
                    None => {
                        let x = b
                            .last_output
                            .get(&tag)
                            .cloned()
                            .ok_or_else(|| name.clone())?;
                        b.named.insert(name, x.clone());
                        x
                    }
                };
                *v = bound;
            } else if let Some(x) = b.values.get(&(tag, v.clone())) {
                *v = x.clone();
            }
        }
        Value::Structure(c) => {
            for x in c {
                substitute(x, b)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Tags whose values are the server's to choose.
const SERVER_CHOSEN: &[Tag] = &[Tag::TIME_STAMP, Tag::NONCE, Tag::RESULT_MESSAGE];

/// Tags whose values the server chose when it generated the object's material.
const GENERATED: &[Tag] = &[Tag::KEY_MATERIAL, Tag::DIGEST_VALUE];

/// Outputs of cryptographic operations that may depend on the server's randomness.
const OUTPUTS: &[Tag] = &[
    Tag::DATA,
    Tag::IV_COUNTER_NONCE,
    Tag::AUTHENTICATED_ENCRYPTION_TAG,
    Tag::SIGNATURE_DATA,
    Tag::MAC_DATA,
];

/// Optional header fields a server may or may not send (correlation values are
/// echoed or generated at the server's discretion): skipped on both sides.
const OPTIONAL_HEADER: &[Tag] = &[Tag::CLIENT_CORRELATION_VALUE, Tag::SERVER_CORRELATION_VALUE];

/// Structures compared as sets (expected ⊆ actual).
fn set_like(parent: Tag, child: Tag) -> bool {
    matches!(parent, Tag::ATTRIBUTES)
        || (parent == Tag::RESPONSE_PAYLOAD
            && matches!(
                child,
                Tag::ATTRIBUTE | Tag::ATTRIBUTE_NAME | Tag::ATTRIBUTE_REFERENCE
            ))
}

fn is_op(op: u32, ops: &[Operation]) -> bool {
    ops.iter().any(|o| o.value() == op)
}

/// Operations whose answer names an object whose key material the server generated.
fn generating(op: u32) -> bool {
    use Operation as O;
    is_op(
        op,
        &[
            O::Create,
            O::CreateKeyPair,
            O::ReKey,
            O::DeriveKey,
            O::ReKeyKeyPair,
        ],
    )
}

fn operation(item: &Ttlv) -> Option<u32> {
    match item.child(Tag::OPERATION).map(|o| &o.value) {
        Some(Value::Enumeration(v)) => Some(*v),
        _ => None,
    }
}

fn text_of(t: Option<&Ttlv>) -> Option<&str> {
    match t.map(|t| &t.value) {
        Some(Value::TextString(s)) => Some(s),
        _ => None,
    }
}

/// Records what the answers say about objects: the UIDs of objects the server
/// generated (Create, Create Key Pair, Re-key, Derive Key, Re-key Key Pair), whose
/// key material is the server's choice, and of public and private keys (from the
/// Object Type a Register request named, and Create Key Pair).
fn note_objects(req: &Ttlv, resp: &Ttlv, b: &mut Bindings) {
    let requests: Vec<&Ttlv> = req.children_with(Tag::BATCH_ITEM).collect();
    for (k, item) in resp.children_with(Tag::BATCH_ITEM).enumerate() {
        let Some(op) = operation(item) else { continue };
        let Some(p) = item.child(Tag::RESPONSE_PAYLOAD) else {
            continue;
        };
        for c in p.children() {
            let Value::TextString(s) = &c.value else {
                continue;
            };
            match c.tag {
                Tag::UNIQUE_IDENTIFIER if generating(op) => {
                    b.generated.insert(s.clone());
                }
                Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER | Tag::PUBLIC_KEY_UNIQUE_IDENTIFIER => {
                    b.generated.insert(s.clone());
                    b.asymmetric.insert(s.clone());
                }
                _ => {}
            }
        }
        if op == Operation::Register.value() {
            let object_type = requests
                .get(k)
                .and_then(|r| r.child(Tag::REQUEST_PAYLOAD))
                .and_then(|r| r.child(Tag::OBJECT_TYPE))
                .map(|t| &t.value);
            let asymmetric = matches!(
                object_type,
                Some(Value::Enumeration(v))
                    if *v == ObjectType::PublicKey.value() || *v == ObjectType::PrivateKey.value()
            );
            if let (true, Some(u)) = (asymmetric, text_of(p.child(Tag::UNIQUE_IDENTIFIER))) {
                b.asymmetric.insert(u.to_owned());
            }
        }
    }
}

/// Comparison state.
struct Cmp<'a> {
    b: &'a mut Bindings,
    /// The batch items of the request, to pair with the answer's.
    request_items: &'a [&'a Ttlv],
    /// Index of the next answer batch item.
    item: usize,
    /// Operation of the batch item being compared.
    op: Option<u32>,
    /// Inside the payload of an answer about a server-generated object.
    in_generated: bool,
    /// Inside the payload of an answer whose outputs are server-chosen.
    server_chosen: bool,
    /// Inside the answer to a Query.
    in_query: bool,
    /// Inside a Digest attribute value.
    in_digest: bool,
    /// The structure holding the item being compared.
    parent: Tag,
}

impl Cmp<'_> {
    /// True inside the answer of an operation that produces outputs (Encrypt, Sign,
    /// MAC, RNG Retrieve): a `$NAME` in a later request may stand for them.
    fn producing(&self) -> bool {
        use Operation as O;
        self.op
            .is_some_and(|op| is_op(op, &[O::Encrypt, O::Sign, O::Mac, O::RngRetrieve]))
    }

    /// True when the outputs of this answer payload depend on the server's
    /// randomness (module rules).
    fn outputs_server_chosen(&self, payload: &Ttlv) -> bool {
        use Operation as O;
        let Some(op) = self.op else { return false };
        if op == O::RngRetrieve.value() {
            return true;
        }
        if !is_op(op, &[O::Encrypt, O::Sign, O::Mac]) {
            return false;
        }
        let key = text_of(payload.child(Tag::UNIQUE_IDENTIFIER));
        if key.is_some_and(|k| self.b.generated.contains(k)) {
            return true;
        }
        if op != O::Encrypt.value() {
            return false;
        }
        if key.is_some_and(|k| self.b.asymmetric.contains(k)) {
            return true;
        }
        let request_iv = self
            .item
            .checked_sub(1)
            .and_then(|k| self.request_items.get(k))
            .and_then(|r| r.child(Tag::REQUEST_PAYLOAD))
            .is_some_and(|p| p.child(Tag::IV_COUNTER_NONCE).is_some());
        !request_iv && payload.child(Tag::IV_COUNTER_NONCE).is_some()
    }
}

fn compare(e: &Ttlv, a: &Ttlv, cx: &mut Cmp<'_>, path: &mut Vec<String>) -> Result<(), String> {
    if e.tag != a.tag {
        return Err(format!(
            "{}: expected {}, got {}",
            path.join("/"),
            e.tag,
            a.tag
        ));
    }
    if SERVER_CHOSEN.contains(&e.tag) || (cx.in_generated && GENERATED.contains(&e.tag)) {
        return Ok(());
    }
    // For material the server generated, the format it keeps the key in is its
    // choice: the Key Format Type the Digest was computed in (1.4 §3.17: "the server
    // MAY use any Key Format Type ... provided it is able to serve the object to
    // clients in that same format") and the 2.x Key Format Type attribute.
    if cx.in_generated
        && e.tag == Tag::KEY_FORMAT_TYPE
        && (cx.in_digest || cx.parent == Tag::ATTRIBUTES)
    {
        return Ok(());
    }
    if e.tag == Tag::RANDOM_NUMBER_GENERATOR || is_v1_attribute(e, SERVER_DESCRIBED) {
        return server_described(e, a, path);
    }
    if cx.in_query && e.tag == Tag::RESPONSE_PAYLOAD {
        return same_kinds(e, a, path);
    }
    if let (Value::ByteString(eb), Value::ByteString(ab)) = (&e.value, &a.value) {
        if let Some(name) = placeholder_bytes(eb) {
            cx.b.named.insert(name.to_owned(), ab.clone());
            if cx.producing() && OUTPUTS.contains(&e.tag) {
                cx.b.last_output.insert(e.tag, ab.clone());
            }
            return Ok(());
        }
        if cx.server_chosen && OUTPUTS.contains(&e.tag) {
            if eb != ab {
                cx.b.values.insert((e.tag, eb.clone()), ab.clone());
            }
            cx.b.last_output.insert(e.tag, ab.clone());
            return Ok(());
        }
        if cx.producing() && OUTPUTS.contains(&e.tag) && eb == ab {
            cx.b.last_output.insert(e.tag, ab.clone());
        }
    }
    match (&e.value, &a.value) {
        (Value::Structure(ec), Value::Structure(ac)) => {
            let saved = (
                cx.in_generated,
                cx.in_query,
                cx.server_chosen,
                cx.in_digest,
                cx.op,
            );
            if e.tag == Tag::RESPONSE_PAYLOAD {
                cx.in_generated = a.children().iter().any(|c| {
                    c.tag == Tag::UNIQUE_IDENTIFIER
                        && matches!(&c.value, Value::TextString(s) if cx.b.generated.contains(s))
                });
                cx.server_chosen = cx.outputs_server_chosen(a);
            }
            if e.tag == Tag::BATCH_ITEM {
                cx.item += 1;
                cx.op = operation(e);
                cx.in_query = cx.op == Some(Operation::Query.value());
            }
            if e.tag == Tag::DIGEST || is_v1_attribute(e, &["Digest"]) {
                cx.in_digest = true;
            }
            let r = compare_children(e.tag, ec, ac, cx, path);
            (
                cx.in_generated,
                cx.in_query,
                cx.server_chosen,
                cx.in_digest,
                cx.op,
            ) = saved;
            r
        }
        (Value::TextString(es), Value::TextString(as_)) if placeholder_uid(es) => {
            match cx.b.uids.get(es) {
                Some(bound) if bound == as_ => Ok(()),
                Some(bound) => Err(format!(
                    "{}: expected {es} = {bound}, got {as_}",
                    path.join("/")
                )),
                None => {
                    cx.b.uids.insert(es.clone(), as_.clone());
                    Ok(())
                }
            }
        }
        (Value::DateTime(x), Value::DateTime(y)) if (x - y).abs() <= CLOCK_TOLERANCE => Ok(()),
        (x, y) if x == y => Ok(()),
        (x, y) => Err(format!(
            "{}: expected {}, got {}",
            path.join("/"),
            show(x),
            show(y)
        )),
    }
}

fn compare_children(
    parent: Tag,
    ec: &[Ttlv],
    ac: &[Ttlv],
    cx: &mut Cmp<'_>,
    path: &mut Vec<String>,
) -> Result<(), String> {
    let skip = |c: &&Ttlv| !(parent == Tag::RESPONSE_HEADER && OPTIONAL_HEADER.contains(&c.tag));
    let ec: Vec<Ttlv> = ec
        .iter()
        .filter(skip)
        .filter(|c| !server_policy(parent, c))
        .cloned()
        .collect();
    let ac: Vec<Ttlv> = ac.iter().filter(skip).cloned().collect();
    let (ec, ac) = (&ec[..], &ac[..]);
    // Set-like children: each expected one must match some unused actual one.
    let (sets, ordered): (Vec<&Ttlv>, Vec<&Ttlv>) =
        ec.iter().partition(|c| set_like(parent, c.tag));
    let mut used = vec![false; ac.len()];
    for want in sets {
        let mut hit = false;
        for (j, have) in ac.iter().enumerate() {
            if used[j] || have.tag != want.tag {
                continue;
            }
            let mut trial = cx.b.clone();
            path.push(want.tag.to_string());
            let mut tcx = Cmp {
                b: &mut trial,
                request_items: cx.request_items,
                item: cx.item,
                op: cx.op,
                in_generated: cx.in_generated,
                server_chosen: cx.server_chosen,
                in_query: cx.in_query,
                in_digest: cx.in_digest,
                parent,
            };
            let ok = compare(want, have, &mut tcx, path).is_ok();
            path.pop();
            if ok {
                *cx.b = trial;
                used[j] = true;
                hit = true;
                break;
            }
        }
        if !hit {
            return Err(format!("{}: missing {}", path.join("/"), brief(want)));
        }
    }
    // Ordered children: matched in order among the actual children of the same tag,
    // skipping extra actual Unique Identifiers in a Locate answer.
    let mut j = 0;
    for want in ordered {
        loop {
            let Some(have) = ac.get(j) else {
                return Err(format!("{}: missing {}", path.join("/"), brief(want)));
            };
            if used[j] || set_like(parent, have.tag) {
                j += 1;
                continue;
            }
            if have.tag != want.tag
                && parent == Tag::RESPONSE_PAYLOAD
                && have.tag == Tag::UNIQUE_IDENTIFIER
            {
                j += 1;
                continue;
            }
            path.push(want.tag.to_string());
            let saved_parent = std::mem::replace(&mut cx.parent, parent);
            let r = compare(want, have, cx, path);
            cx.parent = saved_parent;
            path.pop();
            match r {
                Ok(()) => {
                    used[j] = true;
                    j += 1;
                    break;
                }
                Err(_)
                    if parent == Tag::RESPONSE_PAYLOAD
                        && want.tag == Tag::UNIQUE_IDENTIFIER
                        && have.tag == want.tag =>
                {
                    j += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// 1.x names of the attributes whose value describes the server ([`SERVER_DESCRIBED`]
/// is compared for presence only) or its policy ([`SERVER_POLICY`] is not required).
const SERVER_DESCRIBED: &[&str] = &["Random Number Generator"];
const SERVER_POLICY: &[&str] = &["Lease Time"];

/// True for a 1.x `Attribute(AttributeName, AttributeValue)` named in `names`.
fn is_v1_attribute(t: &Ttlv, names: &[&str]) -> bool {
    t.tag == Tag::ATTRIBUTE
        && matches!(
            t.child(Tag::ATTRIBUTE_NAME).map(|n| &n.value),
            Some(Value::TextString(n)) if names.contains(&n.as_str())
        )
}

/// True for an expected entry that names a server-policy attribute (Lease Time) in an
/// attribute listing: the 2.x attribute or Attribute Reference, the 1.x Attribute
/// or Attribute Name.
fn server_policy(parent: Tag, c: &Ttlv) -> bool {
    let in_listing = matches!(parent, Tag::ATTRIBUTES | Tag::RESPONSE_PAYLOAD);
    in_listing
        && (c.tag == Tag::LEASE_TIME && parent == Tag::ATTRIBUTES
            || is_v1_attribute(c, SERVER_POLICY)
            || matches!(&c.value, Value::TextString(n) if c.tag == Tag::ATTRIBUTE_NAME && SERVER_POLICY.contains(&n.as_str()))
            || matches!(c.value, Value::Enumeration(v) if c.tag == Tag::ATTRIBUTE_REFERENCE && v == Tag::LEASE_TIME.0))
}

/// A server-described attribute: present, of the same shape, value not compared.
/// The 2.x Random Number Generator and the 1.x attribute's value are RNG Parameters,
/// which always hold an RNG Algorithm.
fn server_described(e: &Ttlv, a: &Ttlv, path: &[String]) -> Result<(), String> {
    let params = if e.tag == Tag::ATTRIBUTE {
        a.child(Tag::ATTRIBUTE_VALUE)
    } else {
        Some(a)
    };
    let same_name =
        e.tag != Tag::ATTRIBUTE || e.child(Tag::ATTRIBUTE_NAME) == a.child(Tag::ATTRIBUTE_NAME);
    if same_name && params.is_some_and(|p| p.child(Tag::RNG_ALGORITHM).is_some()) {
        Ok(())
    } else {
        Err(format!(
            "{}: expected {}, got {}",
            path.join("/"),
            brief(e),
            brief(a)
        ))
    }
}

/// A Query answer: every kind of child the expected payload has, the actual one has.
fn same_kinds(e: &Ttlv, a: &Ttlv, path: &[String]) -> Result<(), String> {
    for want in e.children() {
        if !a.children().iter().any(|c| c.tag == want.tag) {
            return Err(format!("{}: missing any {}", path.join("/"), want.tag));
        }
    }
    Ok(())
}

fn brief(t: &Ttlv) -> String {
    match &t.value {
        Value::Structure(c) => {
            let first = c
                .first()
                .map(|x| format!(" ({} {})", x.tag, show(&x.value)))
                .unwrap_or_default();
            format!("{}{first}", t.tag)
        }
        v => format!("{} = {}", t.tag, show(v)),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Structure(c) => format!("structure of {} items", c.len()),
        Value::TextString(s) => format!("{s:?}"),
        Value::ByteString(b) => format!("0x{}", hex::encode(&b[..b.len().min(32)])),
        Value::Enumeration(e) => format!("enum 0x{e:08x}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(tag: Tag, b: &[u8]) -> Ttlv {
        Ttlv::new(tag, Value::ByteString(b.to_vec()))
    }

    #[test]
    fn requests_carry_the_servers_outputs() {
        let mut b = Bindings::default();
        b.named.insert("$SIGNATURE_DATA".into(), vec![1, 2, 3]);
        b.last_output.insert(Tag::DATA, vec![9, 9]);
        b.values
            .insert((Tag::DATA, vec![0xfd, 0x91]), vec![0xaa, 0xbb]);
        b.uids.insert("$UNIQUE_IDENTIFIER_0".into(), "uid-0".into());
        let mut req = Ttlv::structure(
            Tag::REQUEST_PAYLOAD,
            vec![
                Ttlv::new(
                    Tag::UNIQUE_IDENTIFIER,
                    Value::TextString("$UNIQUE_IDENTIFIER_0".into()),
                ),
                bytes(Tag::SIGNATURE_DATA, b"$SIGNATURE_DATA"),
                bytes(Tag::DATA, &[0xfd, 0x91]),
                // Same bytes under another tag: not substituted.
                bytes(Tag::MAC_DATA, &[0xfd, 0x91]),
            ],
        );
        substitute(&mut req, &mut b).unwrap();
        let v: Vec<&Value> = req.children().iter().map(|c| &c.value).collect();
        assert_eq!(v[0], &Value::TextString("uid-0".into()));
        assert_eq!(v[1], &Value::ByteString(vec![1, 2, 3]));
        assert_eq!(v[2], &Value::ByteString(vec![0xaa, 0xbb]));
        assert_eq!(v[3], &Value::ByteString(vec![0xfd, 0x91]));

        // An unbound `$NAME` takes the latest output of its tag, and keeps it.
        let mut req = bytes(Tag::DATA, b"$DATA_0");
        substitute(&mut req, &mut b).unwrap();
        assert_eq!(req.value, Value::ByteString(vec![9, 9]));
        assert_eq!(b.named.get("$DATA_0"), Some(&vec![9, 9]));
        // Nothing to take: the placeholder is reported.
        let mut req = bytes(Tag::IV_COUNTER_NONCE, b"$IV_COUNTER_NONCE");
        assert_eq!(
            substitute(&mut req, &mut b),
            Err("$IV_COUNTER_NONCE".to_owned())
        );
    }
}
