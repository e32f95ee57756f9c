//! Managed objects (stub; replaced by the typed objects work).
use super::codec::Ctx;
use crate::error::DecodeError;
use crate::ttlv::{Tag, Ttlv};

/// Cryptographic Parameters (stub).
pub type CryptographicParameters = Ttlv;
/// Key Wrapping Specification (stub).
pub type KeyWrappingSpecification = Ttlv;

/// A managed object (stub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedObject(pub Ttlv);

impl ManagedObject {
    /// Object tags.
    pub const OBJECT_TAGS: &'static [Tag] = &[];
    /// Finds the object among `children`.
    pub fn decode_from(children: &[Ttlv], ctx: &Ctx) -> Result<Option<Self>, DecodeError> {
        let _ = (children, ctx);
        Ok(None)
    }
    /// Encodes the object.
    pub fn encode(&self, ctx: &Ctx) -> Ttlv {
        let _ = ctx;
        self.0.clone()
    }
}
