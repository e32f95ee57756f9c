//! Conformance replay (`keygate replay`): plays OASIS-style XML conversations against
//! a KMIP server and compares each response with the expected one.
//!
//! Rules (the vectors' README, `../shared/kmip/README.md`):
//! - `$UNIQUE_IDENTIFIER_n` is bound to the n-th identifier the server returns (the
//!   first time an expected response holds it) and substituted into later requests.
//! - `$NOW±n` resolves to the time the file is loaded; DateTime values compare within
//!   [`CLOCK_TOLERANCE`] seconds.
//! - Server-chosen values are not compared: TimeStamp, correlation values, Nonce,
//!   Result Message text (the Result Reason is compared), byte strings the vectors
//!   write as `$NAME` (IVs, signatures, Short Unique Identifiers), the key material
//!   of objects the server generated (Create, Re-key, …) and the Digest Value
//!   computed from it, and identifiers. The Digest of a registered object is
//!   compared: it is determined by what the client registered (1.4 §3.17).
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
    let mut uids: HashMap<String, String> = HashMap::new();
    let mut generated: HashSet<String> = HashSet::new();
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
        if let Err(missing) = substitute(&mut sent, &uids) {
            return Outcome::Fail(format!(
                "request {}: {missing} not bound by an earlier response",
                i / 2
            ));
        }
        let actual = match client.roundtrip(&sent) {
            Ok(a) => a,
            Err(e) => return Outcome::Fail(format!("request {}: {e}", i / 2)),
        };
        note_generated(&actual, &mut generated);
        let mut path = vec![expected.tag.to_string()];
        let mut cx = Cmp {
            uids: &mut uids,
            generated: &generated,
            in_generated: false,
            in_query: false,
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

/// Replaces bound `$UNIQUE_IDENTIFIER_n` placeholders in a request.
fn substitute(t: &mut Ttlv, uids: &HashMap<String, String>) -> Result<(), String> {
    match &mut t.value {
        Value::TextString(s) if placeholder_uid(s) => {
            *s = uids.get(s.as_str()).cloned().ok_or_else(|| s.clone())?;
        }
        Value::Structure(c) => {
            for x in c {
                substitute(x, uids)?;
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

/// Operations whose answer names an object whose key material the server generated.
fn generating(op: u32) -> bool {
    use kmip::types::Operation as O;
    [
        O::Create,
        O::CreateKeyPair,
        O::ReKey,
        O::DeriveKey,
        O::ReKeyKeyPair,
    ]
    .iter()
    .any(|o| o.value() == op)
}

/// Records the UIDs of objects the server generated (Create, Create Key Pair,
/// Re-key, Derive Key, Re-key Key Pair): their key material is the server's choice.
fn note_generated(resp: &Ttlv, generated: &mut HashSet<String>) {
    for item in resp.children_with(Tag::BATCH_ITEM) {
        let op = match item.child(Tag::OPERATION).map(|o| &o.value) {
            Some(Value::Enumeration(v)) => *v,
            _ => continue,
        };
        if !generating(op) {
            continue;
        }
        if let Some(p) = item.child(Tag::RESPONSE_PAYLOAD) {
            for c in p.children() {
                if let Value::TextString(s) = &c.value {
                    if matches!(
                        c.tag,
                        Tag::UNIQUE_IDENTIFIER
                            | Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER
                            | Tag::PUBLIC_KEY_UNIQUE_IDENTIFIER
                    ) {
                        generated.insert(s.clone());
                    }
                }
            }
        }
    }
}

/// Comparison state.
struct Cmp<'a> {
    uids: &'a mut HashMap<String, String>,
    generated: &'a HashSet<String>,
    /// Inside the payload of an answer about a server-generated object.
    in_generated: bool,
    /// Inside the answer to a Query.
    in_query: bool,
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
    if e.tag == Tag::RANDOM_NUMBER_GENERATOR || is_v1_attribute(e, SERVER_DESCRIBED) {
        return server_described(e, a, path);
    }
    if cx.in_query && e.tag == Tag::RESPONSE_PAYLOAD {
        return same_kinds(e, a, path);
    }
    match (&e.value, &a.value) {
        (Value::Structure(ec), Value::Structure(ac)) => {
            let (saved, saved_query) = (cx.in_generated, cx.in_query);
            if e.tag == Tag::RESPONSE_PAYLOAD {
                cx.in_generated = a.children().iter().any(|c| {
                    c.tag == Tag::UNIQUE_IDENTIFIER
                        && matches!(&c.value, Value::TextString(s) if cx.generated.contains(s))
                });
            }
            if e.tag == Tag::BATCH_ITEM {
                cx.in_query = matches!(
                    e.child(Tag::OPERATION).map(|o| &o.value),
                    Some(Value::Enumeration(op)) if *op == kmip::types::Operation::Query.value()
                );
            }
            let r = compare_children(e.tag, ec, ac, cx, path);
            cx.in_generated = saved;
            cx.in_query = saved_query;
            r
        }
        (Value::TextString(es), Value::TextString(as_)) if placeholder_uid(es) => {
            match cx.uids.get(es) {
                Some(bound) if bound == as_ => Ok(()),
                Some(bound) => Err(format!(
                    "{}: expected {es} = {bound}, got {as_}",
                    path.join("/")
                )),
                None => {
                    cx.uids.insert(es.clone(), as_.clone());
                    Ok(())
                }
            }
        }
        (Value::ByteString(eb), Value::ByteString(_)) if eb.first() == Some(&b'$') => Ok(()),
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
            let mut trial = cx.uids.clone();
            path.push(want.tag.to_string());
            let mut tcx = Cmp {
                uids: &mut trial,
                generated: cx.generated,
                in_generated: cx.in_generated,
                in_query: cx.in_query,
            };
            let ok = compare(want, have, &mut tcx, path).is_ok();
            path.pop();
            if ok {
                *cx.uids = trial;
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
            let r = compare(want, have, cx, path);
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
