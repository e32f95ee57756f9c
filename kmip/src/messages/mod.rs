//! Typed KMIP messages: headers, batch items, per-operation payloads, managed
//! objects and attributes, in one internal model shaped like KMIP 2.1.

pub mod attributes;
pub mod codec;
pub mod header;
pub mod message;
pub mod objects;
pub mod payloads;

pub use attributes::{Attribute, AttributeReference, Attributes, Name};
pub use codec::{Codec, Ctx, DateTime, Interval, Mask};
pub use header::{Authentication, Credential, RequestHeader, ResponseHeader};
pub use message::{RequestBatchItem, RequestMessage, ResponseBatchItem, ResponseMessage};
pub use payloads::{RequestPayload, ResponsePayload};
