//! Vaults, identities and roles: who may do what, where (DESIGN.md "The vault model").
//!
//! An identity (the client certificate's CN, or one of its SANs) is bound to exactly
//! one vault and one role. A role is a set of KMIP operations. Everything not granted
//! is denied. Vault isolation is enforced below this module, in the store's queries,
//! so an object of another vault is never even loaded.

use kmip::types::Operation;
use std::collections::BTreeSet;

pub use crate::config::BUILTIN_ROLES;

/// A role: the operations it grants in its vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Role name.
    pub name: String,
    /// Operations granted.
    pub operations: BTreeSet<u32>,
    /// Whether the role may receive key material in clear (Get/Export of a key's value).
    /// `crypto` may use keys but never read them.
    pub may_read_key_material: bool,
}

impl Role {
    /// True when the role grants `op`.
    pub fn allows(&self, op: Operation) -> bool {
        self.operations.contains(&op.value())
    }

    /// A built-in role by name.
    pub fn builtin(name: &str) -> Option<Role> {
        use Operation as O;
        let object_ops: &[Operation] = &[
            O::DiscoverVersions,
            O::Query,
            O::Create,
            O::CreateKeyPair,
            O::Register,
            O::ReKey,
            O::ReKeyKeyPair,
            O::DeriveKey,
            O::Certify,
            O::ReCertify,
            O::Locate,
            O::Check,
            O::Get,
            O::GetAttributes,
            O::GetAttributeList,
            O::AddAttribute,
            O::ModifyAttribute,
            O::DeleteAttribute,
            O::SetAttribute,
            O::Activate,
            O::Revoke,
            O::Destroy,
            O::Archive,
            O::Recover,
            O::Validate,
            O::Encrypt,
            O::Decrypt,
            O::Sign,
            O::SignatureVerify,
            O::Mac,
            O::MacVerify,
            O::RngRetrieve,
            O::RngSeed,
            O::Hash,
            O::Import,
            O::Export,
        ];
        let (ops, read): (Vec<Operation>, bool) = match name {
            // Everything in its vault, including the test-harness control Interop.
            "admin" => (
                object_ops.iter().copied().chain([O::Interop]).collect(),
                true,
            ),
            "app" => (object_ops.to_vec(), true),
            "tde" => (
                vec![
                    O::DiscoverVersions,
                    O::Query,
                    O::Create,
                    O::Register,
                    O::Get,
                    O::GetAttributes,
                    O::GetAttributeList,
                    O::AddAttribute,
                    O::ModifyAttribute,
                    O::Locate,
                    O::Activate,
                    O::Check,
                ],
                true,
            ),
            "crypto" => (
                vec![
                    O::DiscoverVersions,
                    O::Query,
                    O::GetAttributes,
                    O::GetAttributeList,
                    O::Locate,
                    O::Encrypt,
                    O::Decrypt,
                    O::Sign,
                    O::SignatureVerify,
                    O::Mac,
                    O::MacVerify,
                    O::RngRetrieve,
                    O::Hash,
                ],
                false,
            ),
            "read-only" => (
                vec![
                    O::DiscoverVersions,
                    O::Query,
                    O::Locate,
                    O::Get,
                    O::GetAttributes,
                    O::GetAttributeList,
                ],
                true,
            ),
            _ => return None,
        };
        Some(Role {
            name: name.to_owned(),
            operations: ops.into_iter().map(Operation::value).collect(),
            may_read_key_material: read,
        })
    }

    /// A custom role (validated by the config loader).
    pub fn custom(name: &str, operations: &[Operation]) -> Role {
        Role {
            name: name.to_owned(),
            operations: operations.iter().map(|o| o.value()).collect(),
            may_read_key_material: true,
        }
    }
}

/// Who is calling: the identity's binding to its vault and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Identity name (matched against the certificate).
    pub identity: String,
    /// The one vault the identity may use.
    pub vault: String,
    /// The identity's role.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_grant_what_the_issue_says() {
        for n in BUILTIN_ROLES {
            assert!(Role::builtin(n).is_some(), "{n}");
        }
        assert!(Role::builtin("root").is_none());
        let tde = Role::builtin("tde").unwrap();
        assert!(tde.allows(Operation::Create) && tde.allows(Operation::Check));
        assert!(!tde.allows(Operation::Destroy) && !tde.allows(Operation::Revoke));
        let ro = Role::builtin("read-only").unwrap();
        assert!(ro.allows(Operation::Get) && !ro.allows(Operation::Create));
        let crypto = Role::builtin("crypto").unwrap();
        assert!(crypto.allows(Operation::Encrypt) && !crypto.allows(Operation::Get));
        assert!(!crypto.may_read_key_material);
        let app = Role::builtin("app").unwrap();
        assert!(app.allows(Operation::Destroy) && !app.allows(Operation::Interop));
        assert!(Role::builtin("admin").unwrap().allows(Operation::Interop));
        let custom = Role::custom("x", &[Operation::Get]);
        assert!(custom.allows(Operation::Get) && !custom.allows(Operation::Destroy));
    }
}
