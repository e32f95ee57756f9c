//! Managed objects against the OASIS KMIP test vectors: every object that any
//! vector message carries is decoded into the typed model and re-encoded, and must
//! come back identical to the original subtree (field order included), under a
//! KMIP 1.4 and a KMIP 2.1 context alike.
//!
//! The vectors folder is `$KEYGATE_OASIS_VECTORS`, by default
//! `shared/kmip/vectors` beside the workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject};
use kmip::messages::Ctx;
use kmip::ttlv::xml::{parse_conversation, PlaceholderPolicy, Placeholders, XmlOptions};
use kmip::version::ProtocolVersion;
use kmip::{Tag, Ttlv, Value};

const CONTEXTS: [Ctx; 2] = [
    Ctx::new(ProtocolVersion::V1_4),
    Ctx::new(ProtocolVersion::V2_1),
];

fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("KEYGATE_OASIS_VECTORS").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/kmip/vectors"
            ))
        },
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "OASIS KMIP test vectors not found at {}: set KEYGATE_OASIS_VECTORS to the folder \
         holding v1.4/ and v2.1/",
        dir.display()
    );
    dir
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            xml_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "xml") {
            out.push(path);
        }
    }
}

/// Every message of every vector file, with the file it came from.
fn vector_messages() -> Vec<(PathBuf, Ttlv)> {
    let mut files = Vec::new();
    xml_files(&vectors_dir(), &mut files);
    assert!(!files.is_empty(), "no *.xml test vectors found");
    let opts = XmlOptions {
        // `$KEY_VALUE_0` stands for a wrapped key: keep it as bytes.
        placeholders: Placeholders {
            policy: PlaceholderPolicy::Literal,
            ..Placeholders::default()
        },
        ..XmlOptions::default()
    };
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable vector");
        let messages =
            parse_conversation(&text, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out.extend(messages.into_iter().map(|m| (path.clone(), m)));
    }
    out
}

fn is_object(item: &Ttlv) -> bool {
    ManagedObject::OBJECT_TAGS.contains(&item.tag)
        && (item.tag != Tag::CERTIFICATE_REQUEST || matches!(item.value, Value::Structure(_)))
}

/// Calls `f(parent_children, object)` for every managed object in `item`'s tree.
fn for_each_object<'a>(item: &'a Ttlv, f: &mut impl FnMut(&'a [Ttlv], &'a Ttlv)) {
    let children = item.children();
    for c in children {
        if is_object(c) {
            f(children, c);
        } else {
            for_each_object(c, f);
        }
    }
}

#[test]
fn every_vector_object_round_trips_exactly() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrapped = 0;
    let mut failures = Vec::new();
    for (path, message) in vector_messages() {
        for_each_object(&message, &mut |siblings, original| {
            for ctx in CONTEXTS {
                let decoded = match ManagedObject::decode_from(siblings, &ctx) {
                    Ok(Some(o)) => o,
                    Ok(None) => unreachable!("an object child is present"),
                    Err(e) => {
                        failures.push(format!(
                            "{}: {} under {}: {e}",
                            path.display(),
                            original.tag,
                            ctx.version
                        ));
                        continue;
                    }
                };
                let encoded = decoded.encode(&ctx);
                if &encoded != original {
                    failures.push(format!(
                        "{}: {} under {} re-encodes differently:\n  original {original:?}\n  \
                         encoded  {encoded:?}",
                        path.display(),
                        original.tag,
                        ctx.version
                    ));
                }
                assert_eq!(decoded.tag(), original.tag);
                if ctx.version == ProtocolVersion::V1_4 {
                    *seen.entry(original.tag.to_string()).or_default() += 1;
                    if decoded
                        .key_block()
                        .and_then(|kb| kb.key_value.as_ref())
                        .is_some_and(KeyValue::is_wrapped)
                    {
                        wrapped += 1;
                    }
                }
            }
        });
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for kind in [
        "SymmetricKey",
        "PrivateKey",
        "PublicKey",
        "SecretData",
        "OpaqueObject",
        "Certificate",
    ] {
        assert!(
            seen.contains_key(kind),
            "no {kind} in the vectors: {seen:?}"
        );
    }
    assert!(wrapped > 0, "no wrapped Key Value in the vectors");
}

#[test]
fn vector_objects_have_consistent_types_and_blocks() {
    for (path, message) in vector_messages() {
        for_each_object(&message, &mut |siblings, original| {
            let ctx = CONTEXTS[0];
            let o = ManagedObject::decode_from(siblings, &ctx)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .expect("object");
            let type_name = o.object_type().name().expect("named object type");
            assert_eq!(Some(type_name), original.tag.name(), "{}", path.display());
            let has_block = original.child(Tag::KEY_BLOCK).is_some();
            assert_eq!(o.key_block().is_some(), has_block, "{}", path.display());
        });
    }
}

#[test]
fn debug_of_vector_objects_hides_key_material() {
    let mut checked = 0;
    for (path, message) in vector_messages() {
        for_each_object(&message, &mut |siblings, _| {
            let o = ManagedObject::decode_from(siblings, &CONTEXTS[1])
                .unwrap()
                .expect("object");
            let Some(KeyValue::Plain { key_material, .. }) =
                o.key_block().and_then(|kb| kb.key_value.as_ref())
            else {
                return;
            };
            let secrets: Vec<&[u8]> = match key_material {
                KeyMaterial::Bytes(b) => vec![b],
                KeyMaterial::Transparent(t) => [&t.private_exponent, &t.x, &t.d, &t.p]
                    .into_iter()
                    .flatten()
                    .map(|b| b.0.as_slice())
                    .chain(t.key.as_deref())
                    .collect(),
            };
            let debug = format!("{o:?} {o:#?}");
            for secret in secrets.into_iter().filter(|s| s.len() >= 8) {
                let list = format!("{:?}", &secret[..8]);
                let list = list.trim_end_matches(']');
                let hex: String = secret[..8].iter().map(|b| format!("{b:02x}")).collect();
                assert!(
                    !debug.contains(list) && !debug.to_lowercase().contains(&hex),
                    "{}: Debug shows key material",
                    path.display()
                );
                checked += 1;
            }
        });
    }
    assert!(checked > 0, "no key material checked");
}
