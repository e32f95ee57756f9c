//! Versions of a name (issue 6, README "Versions"): Re-key three times, the
//! Replacement / Replaced Object Links form a chain, Locate by Name answers the
//! newest Active version first and still lists every version; a Register with
//! `x-keygate-new-version` becomes the next version, a plain Register under the
//! same name stays unlinked.

mod common;

use common::*;
use kmip::messages::Attributes;
use kmip::ttlv::{Tag, Value};
use kmip::types::LinkType;
use kmip::version::ProtocolVersion;

fn links(a: &Attributes) -> Vec<(LinkType, String)> {
    a.all(Tag::LINK)
        .map(|l| {
            let kind = match l.child(Tag::LINK_TYPE).map(|t| &t.value) {
                Some(Value::Enumeration(x)) => LinkType::from_value(*x),
                other => panic!("Link without a Link Type: {other:?}"),
            };
            let target = match l.child(Tag::LINKED_OBJECT_IDENTIFIER).map(|t| &t.value) {
                Some(Value::TextString(s)) => s.clone(),
                other => panic!("Link without a target: {other:?}"),
            };
            (kind, target)
        })
        .collect()
}

fn link_of(c: &mut Kmip, v: ProtocolVersion, u: &str) -> Vec<(LinkType, String)> {
    links(&c.get_attributes(v, u, &["Link"]))
}

fn register_named(v: ProtocolVersion, name: &str, key: &[u8], new_version: bool) -> String {
    let a = [
        name_attr(v, name),
        attr(v, "CryptographicUsageMask", "Integer", "Encrypt Decrypt"),
        if new_version {
            vendor_attr(v, "x", "keygate-new-version", "true")
        } else {
            String::new()
        },
    ]
    .concat();
    item(
        "Register",
        &format!(
            "{}{}<SymmetricKey><KeyBlock>{}<KeyValue><KeyMaterial type=\"ByteString\" \
             value=\"{}\"/></KeyValue>{}<CryptographicLength type=\"Integer\" value=\"{}\"/>\
             </KeyBlock></SymmetricKey>",
            enumeration("ObjectType", "SymmetricKey"),
            attrs(v, &a),
            enumeration("KeyFormatType", "Raw"),
            hex(key),
            enumeration("CryptographicAlgorithm", "AES"),
            key.len() * 8
        ),
    )
}

#[test]
fn rekey_three_times_links_and_locate_order() {
    let d = Daemon::start("versions");
    let mut c = d.connect("admin");
    for v in [V1_4, V2_1] {
        let name = format!("payroll-{}{}", v.major, v.minor);
        let k0 = c.create_aes(v, &name);
        c.send(v, &activate(&k0)).ok(0);
        let mut chain = vec![k0];
        for _ in 0..3 {
            let last = chain.last().expect("a version").clone();
            chain.push(c.send(v, &by_uid("ReKey", Some(&last))).uid(0));
        }
        let [k0, k1, k2, k3] = <[String; 4]>::try_from(chain.clone()).expect("four versions");
        assert_eq!(
            link_of(&mut c, v, &k0),
            vec![(LinkType::ReplacementObjectLink, k1.clone())]
        );
        for (prev, this, next) in [
            (&k0, &k1, Some(&k2)),
            (&k1, &k2, Some(&k3)),
            (&k2, &k3, None),
        ] {
            let mut want = vec![(LinkType::ReplacedObjectLink, prev.clone())];
            if let Some(n) = next {
                want.push((LinkType::ReplacementObjectLink, n.clone()));
            }
            let mut got = link_of(&mut c, v, this);
            got.sort_by_key(|(t, _)| t.value());
            want.sort_by_key(|(t, _)| t.value());
            assert_eq!(got, want, "{v}: links of {this}");
        }
        // Every version is Active and keeps the name: newest first.
        assert_eq!(
            c.locate_name(v, &name),
            vec![k3.clone(), k2.clone(), k1.clone(), k0.clone()],
            "{v}"
        );
        // The newest is revoked: the newest Active version comes first, the revoked
        // one is still found (last), and reachable by its UID.
        c.send(v, &revoke(&k3, "CessationOfOperation")).ok(0);
        assert_eq!(
            c.locate_name(v, &name),
            vec![k2.clone(), k1.clone(), k0.clone(), k3.clone()],
            "{v}"
        );
        c.send(v, &get(&k3)).ok(0);

        // Register as the next version: linked to the current (newest live) one.
        let k4 = c
            .send(v, &register_named(v, &name, &bytes(9, 32), true))
            .uid(0);
        assert_eq!(
            link_of(&mut c, v, &k4),
            vec![(LinkType::ReplacedObjectLink, k3.clone())],
            "{v}"
        );
        assert!(link_of(&mut c, v, &k3).contains(&(LinkType::ReplacementObjectLink, k4.clone())));
        // The request marker is not kept as an attribute.
        let all = c.send(v, &get_attributes(v, &k4, &[]));
        assert!(
            all.attributes(0)
                .vendor("x", "keygate-new-version")
                .is_none(),
            "{v}"
        );
        // A plain Register under the name: a new object, unlinked (KMIP behaviour).
        let plain = c
            .send(v, &register_named(v, &name, &bytes(10, 32), false))
            .uid(0);
        assert!(link_of(&mut c, v, &plain).is_empty(), "{v}");
        assert_eq!(c.locate_name(v, &name).len(), 6, "{v}");
    }
}
