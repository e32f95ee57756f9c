//! Key wrapping in the token (issue 6, BYOK): `C_WrapKey` for Get with a Key
//! Wrapping Specification, `C_UnwrapKey` for Register of a wrapped key.
//!
//! The wrapping key is an AES key (`CKM_AES_KEY_WRAP`, `CKM_AES_KEY_WRAP_PAD`) or an
//! RSA key (`CKM_RSA_PKCS_OAEP`); RSA-AES key wrap (`CKM_RSA_AES_KEY_WRAP`, which
//! SoftHSM 2.6.1 does not offer) is composed in the token from the two: a session
//! AES-256 key generated there wraps the target with `CKM_AES_KEY_WRAP_PAD` and is
//! itself wrapped with RSA-OAEP, then destroyed. So a symmetric key never exists in
//! the gateway's memory on the way out or in:
//!
//! - export: a resident key is wrapped where it is (it must be `CKA_EXTRACTABLE`:
//!   the token refuses the others, whatever the vault allows); a key of the wrapped
//!   placement is unwrapped from its blob into a session object that is sensitive
//!   but extractable, wrapped under the requested key and destroyed at once;
//! - import: the key is unwrapped into a token object (resident), or into a
//!   session object wrapped under the KEK at once and destroyed (wrapped placement).
//!
//! Bytes the gateway already holds (a TTLV-encoded Key Value, a PKCS#8 private key)
//! are wrapped through a short-lived `CKK_GENERIC_SECRET` session object holding
//! them, and unwrapped the same way. SoftHSM 2.6.1 leaves RFC 5649 padding on a value
//! unwrapped with `CKM_AES_KEY_WRAP_PAD` whose length is not a multiple of 8 bytes
//! (TTLV encodings and AES keys always are).

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use zeroize::Zeroizing;

use super::conn::Conn;
use super::error::Fault;
use super::keyref::{self, Class, Parsed, Type};
use super::mech::Spec;
use super::{kek, read_value, scrub, symmetric_len, symmetric_type, Pkcs11Backend};
use crate::backend::{KeyRef, KeyUse, NewKey};
use crate::crypto::{rsa_part_len, KeyKind, WrapMethod};

/// Destroys a session object, logging (never failing on) a refusal.
fn discard(session: &Session, handle: ObjectHandle, what: &str) {
    if let Err(e) = session.destroy_object(handle) {
        tracing::warn!(error = %e, "destroying {what}");
    }
}

/// The one-step mechanism of `method` (not RSA-AES key wrap).
fn spec(method: WrapMethod) -> Option<Spec<'static>> {
    match method {
        WrapMethod::AesKw => Some(Spec::AesKeyWrap { pad: false }),
        WrapMethod::AesKwp => Some(Spec::AesKeyWrap { pad: true }),
        WrapMethod::RsaOaep(hash) => Some(Spec::RsaOaep(hash)),
        WrapMethod::RsaAesKw(_) => None,
    }
}

/// `C_WrapKey` of `target` under `wrapping` with `method`.
fn wrap_handle(
    session: &Session,
    wrapping: ObjectHandle,
    method: WrapMethod,
    target: ObjectHandle,
) -> Result<Vec<u8>, Fault> {
    if let Some(spec) = spec(method) {
        return spec
            .with(|m| session.wrap_key(m, wrapping, target))?
            .map_err(|e| Fault::ck(e, format!("wrapping a key with {}", spec.describe())));
    }
    let WrapMethod::RsaAesKw(hash) = method else {
        return Err(Fault::Unsupported(format!("{method:?}")));
    };
    let ephemeral = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(true),
                Attribute::Wrap(true),
                Attribute::Encrypt(false),
                Attribute::Decrypt(false),
                Attribute::ValueLen(32.into()),
            ],
        )
        .map_err(|e| Fault::ck(e, "generating the ephemeral AES key of an RSA-AES key wrap"))?;
    let result = (|| {
        let inner = session
            .wrap_key(&Mechanism::AesKeyWrapPad, ephemeral, target)
            .map_err(|e| Fault::ck(e, "RSA-AES key wrap: CKM_AES_KEY_WRAP_PAD of the key"))?;
        let oaep = Spec::RsaOaep(hash);
        let mut out = oaep
            .with(|m| session.wrap_key(m, wrapping, ephemeral))?
            .map_err(|e| Fault::ck(e, format!("RSA-AES key wrap: {}", oaep.describe())))?;
        out.extend_from_slice(&inner);
        Ok(out)
    })();
    discard(
        session,
        ephemeral,
        "the ephemeral AES key of an RSA-AES key wrap",
    );
    result
}

/// `C_UnwrapKey` of `wrapped` under `unwrapping` (of `kind`) with `method` into a new
/// object made from `template`.
fn unwrap_handle(
    session: &Session,
    unwrapping: ObjectHandle,
    kind: KeyKind,
    method: WrapMethod,
    wrapped: &[u8],
    template: &[Attribute],
) -> Result<ObjectHandle, Fault> {
    if let Some(spec) = spec(method) {
        return spec
            .with(|m| session.unwrap_key(m, unwrapping, wrapped, template))?
            .map_err(|e| Fault::ck(e, format!("unwrapping a key with {}", spec.describe())));
    }
    let (WrapMethod::RsaAesKw(hash), KeyKind::RsaPrivate(bits)) = (method, kind) else {
        return Err(Fault::BadParameters(format!(
            "{method:?} with a {kind:?} key"
        )));
    };
    let split = rsa_part_len(bits);
    if wrapped.len() <= split {
        return Err(Fault::BadParameters(
            "RSA-AES wrapped data shorter than the RSA part".into(),
        ));
    }
    let (rsa_part, aes_part) = wrapped.split_at(split);
    let oaep = Spec::RsaOaep(hash);
    let ephemeral = oaep
        .with(|m| {
            session.unwrap_key(
                m,
                unwrapping,
                rsa_part,
                &[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::Token(false),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Unwrap(true),
                    Attribute::Encrypt(false),
                    Attribute::Decrypt(false),
                ],
            )
        })?
        .map_err(|e| Fault::ck(e, format!("RSA-AES key unwrap: {}", oaep.describe())))?;
    let result = session
        .unwrap_key(&Mechanism::AesKeyWrapPad, ephemeral, aes_part, template)
        .map_err(|e| Fault::ck(e, "RSA-AES key unwrap: CKM_AES_KEY_WRAP_PAD of the key"));
    discard(
        session,
        ephemeral,
        "the ephemeral AES key of an RSA-AES key unwrap",
    );
    result
}

/// A session generic secret holding `bytes`, sensitive and extractable: what
/// [`Pkcs11Backend::wrap_bytes_inner`] wraps.
fn hold_bytes(session: &Session, bytes: &[u8]) -> Result<ObjectHandle, Fault> {
    let mut template = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Value(bytes.to_vec()),
    ];
    let created = session.create_object(&template);
    scrub(&mut template);
    created.map_err(|e| Fault::ck(e, "holding bytes to wrap in a session object"))
}

impl Pkcs11Backend {
    /// A handle of `parsed` that `C_WrapKey` may wrap, and whether it is a temporary
    /// session object the caller destroys: a resident key as it is; a key of the
    /// wrapped placement unwrapped from its blob, sensitive but extractable.
    fn wrappable(
        &self,
        conn: &Conn,
        ctx: &Pkcs11,
        session: &Session,
        parsed: &Parsed<'_>,
        raw: &[u8],
        aad: &[u8],
    ) -> Result<(ObjectHandle, bool), Fault> {
        match parsed {
            Parsed::Resident { .. } => {
                let (h, _) = self.resolve(conn, ctx, session, parsed, raw, aad)?;
                Ok((h, false))
            }
            Parsed::Wrapped {
                class,
                ty,
                mechanism,
                blob,
                signed,
                tag,
                ..
            } => {
                let kek = kek(conn)?;
                super::check_tag(session, &kek, signed, aad, tag)?;
                let copy = super::SessionCopy {
                    usage: Vec::new(),
                    sensitive: true,
                    extractable: true,
                };
                let h = copy
                    .unwrap(session, &kek, *class, *ty, *mechanism, blob)
                    .map_err(|e| Fault::ck(e, "unwrapping a key from its blob to wrap it"))?;
                Ok((h, true))
            }
            Parsed::Public { .. } => Err(Fault::Unsupported(
                "a public key is exported as it is, not wrapped in the token".into(),
            )),
        }
    }

    /// Whether [`Self::wrap_key_inner`] applies to `target`: a secret key of the token.
    pub(super) fn wraps_in_token(target: &KeyRef) -> bool {
        keyref::parse(&target.0).is_ok_and(|p| {
            let (class, ty) = p.class_type();
            class == Class::Secret && ty != Type::Data
        })
    }

    /// `C_WrapKey` of a secret key of the token under another key of the token.
    pub(super) fn wrap_key_inner(
        &self,
        wrapping: KeyUse<'_>,
        method: WrapMethod,
        target: KeyUse<'_>,
    ) -> Result<Vec<u8>, Fault> {
        let wparsed = keyref::parse(&wrapping.key.0)?;
        let tparsed = keyref::parse(&target.key.0)?;
        self.run(|conn, ctx, session| {
            let (wh, _in_use) =
                self.resolve(conn, ctx, session, &wparsed, &wrapping.key.0, wrapping.aad)?;
            let (th, temporary) =
                self.wrappable(conn, ctx, session, &tparsed, &target.key.0, target.aad)?;
            let out = wrap_handle(session, wh, method, th);
            if temporary {
                discard(session, th, "a key unwrapped to be wrapped");
            }
            out
        })
    }

    /// Wraps bytes the gateway holds, through a session generic secret.
    pub(super) fn wrap_bytes_inner(
        &self,
        wrapping: KeyUse<'_>,
        method: WrapMethod,
        clear: &[u8],
    ) -> Result<Vec<u8>, Fault> {
        let wparsed = keyref::parse(&wrapping.key.0)?;
        self.run(|conn, ctx, session| {
            let (wh, _in_use) =
                self.resolve(conn, ctx, session, &wparsed, &wrapping.key.0, wrapping.aad)?;
            let held = hold_bytes(session, clear)?;
            let out = wrap_handle(session, wh, method, held);
            discard(session, held, "bytes held to be wrapped");
            out
        })
    }

    /// `C_UnwrapKey` of a wrapped symmetric key into the backend's custody.
    pub(super) fn unwrap_key_inner(
        &self,
        unwrapping: KeyUse<'_>,
        method: WrapMethod,
        wrapped: &[u8],
        new: NewKey<'_>,
    ) -> Result<KeyRef, Fault> {
        let bad = |e: crate::backend::BackendError| Fault::Unsupported(e.to_string());
        let ty = symmetric_type(new.kind).map_err(bad)?;
        let len = symmetric_len(new.kind).map_err(bad)?;
        // SoftHSM 2.6.1 reports CKA_VALUE_LEN 0 for an unwrapped key, so the length
        // is checked on the wrapped value: RFC 3394 and RFC 5649 of a key whose length
        // is a multiple of 8 bytes add 8 bytes (RSA-OAEP hides it: the token keeps
        // what the OAEP block held).
        let aes_part = match (method, unwrapping.kind) {
            (WrapMethod::AesKw | WrapMethod::AesKwp, _) => Some(wrapped.len()),
            (WrapMethod::RsaAesKw(_), KeyKind::RsaPrivate(bits)) => {
                Some(wrapped.len().saturating_sub(rsa_part_len(bits)))
            }
            _ => None,
        };
        if let Some(l) = aes_part.filter(|l| *l != len + 8) {
            return Err(Fault::BadParameters(format!(
                "the wrapped value does not hold a {:?} key ({l} bytes of key wrap, {} \
                 expected)",
                new.kind,
                len + 8
            )));
        }
        let uparsed = keyref::parse(&unwrapping.key.0)?;
        self.make_secret(ty, new.export, new.aad, |conn, ctx, session, template| {
            let (uh, _in_use) = self.resolve(
                conn,
                ctx,
                session,
                &uparsed,
                &unwrapping.key.0,
                unwrapping.aad,
            )?;
            template.push(Attribute::Class(Class::Secret.object_class()));
            template.push(Attribute::KeyType(ty.key_type()));
            unwrap_handle(session, uh, unwrapping.kind, method, wrapped, template)
        })
    }

    /// Unwraps into a session generic secret, reads it and destroys it: bytes the
    /// gateway must parse (a TTLV-encoded Key Value, a PKCS#8 key).
    pub(super) fn unwrap_bytes_inner(
        &self,
        unwrapping: KeyUse<'_>,
        method: WrapMethod,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Fault> {
        let uparsed = keyref::parse(&unwrapping.key.0)?;
        self.run(|conn, ctx, session| {
            let (uh, _in_use) = self.resolve(
                conn,
                ctx,
                session,
                &uparsed,
                &unwrapping.key.0,
                unwrapping.aad,
            )?;
            let h = unwrap_handle(
                session,
                uh,
                unwrapping.kind,
                method,
                wrapped,
                &[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::GENERIC_SECRET),
                    Attribute::Token(false),
                    Attribute::Private(true),
                    Attribute::Sensitive(false),
                    Attribute::Extractable(true),
                    Attribute::Sign(false),
                    Attribute::Verify(false),
                ],
            )?;
            let value = read_value(session, h);
            discard(session, h, "an unwrapped value read by the gateway");
            value
        })
    }
}
