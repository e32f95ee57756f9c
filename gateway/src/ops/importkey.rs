//! The vault's import key (issue 6, BYOK): an RSA-3072 key pair per vault, both
//! halves named [`IMPORT_KEY_NAME`], whose public key a client fetches to wrap a key
//! it brings (RSA-AES key wrap, ops::wrap) and whose private key unwraps it in the
//! vault's backend and never leaves it.
//!
//! Created on demand: a Locate whose only Name is [`IMPORT_KEY_NAME`], by a role
//! that may Register, in a vault that has no live import key yet, creates the pair
//! first (Active at once; private key Unwrap Key and not Extractable, public key
//! Wrap Key). Then Locate (Object Type Public Key) and Get (X.509) give the public
//! key to any role that may read public keys.

use super::keypair;
use super::version;
use super::{OpCtx, OpError};
use kmip::messages::payloads::CreateKeyPairRequest;
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::{CryptographicAlgorithm, CryptographicUsageMask, Operation};

/// The Name of every vault's import key pair.
pub const IMPORT_KEY_NAME: &str = "keygate-import-key";

/// Modulus size of the import key.
pub const IMPORT_KEY_BITS: i32 = 3072;

/// Creates the vault's import key pair when a Locate asks for it and there is none.
pub(super) fn ensure(ctx: &mut OpCtx<'_>) -> Result<(), OpError> {
    if !ctx.binding.role.allows(Operation::Register)
        || version::current(ctx, IMPORT_KEY_NAME)?.is_some()
    {
        return Ok(());
    }
    let common = Attributes::new(vec![
        Attribute::name(IMPORT_KEY_NAME),
        Attribute::standard(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(CryptographicAlgorithm::Rsa.value()),
        ),
        Attribute::standard(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(IMPORT_KEY_BITS)),
        Attribute::standard(Tag::ACTIVATION_DATE, Value::DateTime(ctx.now)),
    ]);
    let mask = |m: CryptographicUsageMask| {
        Attribute::standard(
            Tag::CRYPTOGRAPHIC_USAGE_MASK,
            Value::Integer(m.value() as i32),
        )
    };
    let private = Attributes::new(vec![
        mask(CryptographicUsageMask::UnwrapKey),
        Attribute::standard(Tag::EXTRACTABLE, Value::Boolean(false)),
    ]);
    let public = Attributes::new(vec![mask(CryptographicUsageMask::WrapKey)]);
    let made = keypair::create_key_pair(
        ctx,
        &CreateKeyPairRequest {
            common_attributes: Some(common),
            private_key_attributes: Some(private),
            public_key_attributes: Some(public),
            common_protection_storage_masks: None,
            private_protection_storage_masks: None,
            public_protection_storage_masks: None,
            extensions: Vec::new(),
        },
    )?;
    tracing::info!(
        vault = %ctx.vault.name,
        private = %made.private_key_unique_identifier,
        public = %made.public_key_unique_identifier,
        "created the vault's import key"
    );
    Ok(())
}
