//! KMIP protocol for Keygate: the TTLV model, its binary, XML and JSON encodings,
//! typed request/response messages and version translation.
//!
//! The crate is sans-IO (rustls `msgs/codec.rs` style): it turns bytes into typed
//! messages and back and never touches a socket, except the optional blocking
//! client behind the `client` feature.
#![forbid(unsafe_code)]

#[cfg(feature = "client")]
pub mod client;
pub mod error;
pub mod messages;
pub mod ttlv;
pub mod types;
pub mod version;

pub use error::{DecodeError, DecodeErrorKind};
pub use ttlv::{ItemType, Limits, Tag, Ttlv, Value};
