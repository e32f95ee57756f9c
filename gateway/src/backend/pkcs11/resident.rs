//! Listing and destroying the token key objects Keygate made (resident placement),
//! for the start-up orphan scan (`daemon.rs`, issue 4 "a crash between the two
//! leaves an orphan that start-up finds and reports or cleans").
//!
//! A resident key is created in the token before its row is committed to the store;
//! a crash (or a failed commit) between the two leaves a token object that no row
//! references. Such objects are recognised by their `CKA_LABEL`: `keygate:` and 24 hex
//! digits (see [`Pkcs11Backend::object_label`]); the KEK of the wrapped placement is
//! labelled `keygate-kek` and is never listed.

use cryptoki::object::{Attribute, AttributeType, ObjectClass};

use super::{lock, Fault, Pkcs11Backend, State};
use crate::backend::BackendError;

/// The prefix of every per-key `CKA_LABEL` Keygate gives a token object.
pub const LABEL_PREFIX: &[u8] = b"keygate:";

/// A token key object Keygate made (its label has the [`LABEL_PREFIX`] scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentObject {
    /// `CKO_SECRET_KEY`, `CKO_PRIVATE_KEY` or `CKO_PUBLIC_KEY`.
    pub class: ObjectClass,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `CKA_LABEL` (`keygate:` and 24 hex digits).
    pub label: Vec<u8>,
}

impl ResidentObject {
    /// The label as text (it is ASCII by construction).
    pub fn label_text(&self) -> String {
        String::from_utf8_lossy(&self.label).into_owned()
    }
}

fn is_key_class(class: ObjectClass) -> bool {
    class == ObjectClass::SECRET_KEY
        || class == ObjectClass::PRIVATE_KEY
        || class == ObjectClass::PUBLIC_KEY
}

fn is_keygate_label(label: &[u8]) -> bool {
    label.len() == LABEL_PREFIX.len() + 24
        && label.starts_with(LABEL_PREFIX)
        && label[LABEL_PREFIX.len()..]
            .iter()
            .all(|b| b.is_ascii_hexdigit())
}

impl Pkcs11Backend {
    /// Every token key object of the token whose `CKA_LABEL` follows Keygate's
    /// per-key scheme, whatever the placement (a wrapped backend makes none, but a
    /// token may have served a resident one before). One `C_FindObjects` over the
    /// token objects and one `C_GetAttributeValue` per object: for start-up, never
    /// the request path.
    pub fn resident_objects(&self) -> Result<Vec<ResidentObject>, BackendError> {
        self.run(|_, _, session| {
            let handles = session
                .find_objects(&[Attribute::Token(true)])
                .map_err(|e| {
                    Fault::ck(
                        e,
                        format!("listing the objects of token '{}'", self.token_label),
                    )
                })?;
            let mut out = Vec::new();
            for h in handles {
                let attrs = session
                    .get_attributes(
                        h,
                        &[
                            AttributeType::Class,
                            AttributeType::Id,
                            AttributeType::Label,
                        ],
                    )
                    .map_err(|e| Fault::ck(e, "reading a token object's class, id and label"))?;
                let (mut class, mut id, mut label) = (None, None, None);
                for a in attrs {
                    match a {
                        Attribute::Class(c) => class = Some(c),
                        Attribute::Id(v) => id = Some(v),
                        Attribute::Label(v) => label = Some(v),
                        _ => {}
                    }
                }
                if let (Some(class), Some(label)) = (class, label) {
                    if is_key_class(class) && is_keygate_label(&label) {
                        out.push(ResidentObject {
                            class,
                            id: id.unwrap_or_default(),
                            label,
                        });
                    }
                }
            }
            Ok(out)
        })
        .map_err(BackendError::from)
    }

    /// Destroys the token objects matching `obj` (class, `CKA_ID` and `CKA_LABEL`);
    /// returns how many there were (0: already gone). Only objects with Keygate's
    /// label scheme are touched.
    pub fn destroy_resident_object(&self, obj: &ResidentObject) -> Result<usize, BackendError> {
        if !is_keygate_label(&obj.label) || !is_key_class(obj.class) {
            return Err(BackendError::Unsupported(format!(
                "not a Keygate key object: class {}, label {:?}",
                obj.class,
                obj.label_text()
            )));
        }
        let destroyed = self
            .run(|_, _, session| {
                let handles = session
                    .find_objects(&[
                        Attribute::Token(true),
                        Attribute::Class(obj.class),
                        Attribute::Id(obj.id.clone()),
                        Attribute::Label(obj.label.clone()),
                    ])
                    .map_err(|e| Fault::ck(e, format!("looking up {}", obj.label_text())))?;
                for h in &handles {
                    session
                        .destroy_object(*h)
                        .map_err(|e| Fault::ck(e, format!("destroying {}", obj.label_text())))?;
                }
                Ok(handles.len())
            })
            .map_err(BackendError::from)?;
        // Drop any cached handle of it (none is expected: no row references it).
        if let (State::Up(conn), Ok(id)) = (
            &*lock(&self.state),
            <[u8; super::ID_LEN]>::try_from(obj.id.as_slice()),
        ) {
            for class in [
                super::Class::Secret,
                super::Class::Private,
                super::Class::Public,
            ] {
                if class.object_class() == obj.class {
                    conn.forget(class, &id);
                }
            }
        }
        Ok(destroyed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_per_key_label_scheme_is_recognised() {
        let label = Pkcs11Backend::object_label(b"default\0uid-1");
        assert!(is_keygate_label(&label));
        assert!(!is_keygate_label(b"keygate-kek"));
        assert!(!is_keygate_label(b"keygate-kek-mac"));
        assert!(!is_keygate_label(b"keygate:short"));
        assert!(!is_keygate_label(b"someone else's key"));
    }
}
