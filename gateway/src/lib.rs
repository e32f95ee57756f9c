//! Keygate: the gateway daemon and its command-line tools.
//!
//! Request path (DESIGN.md): [`server`] accepts mutual-TLS connections and frames
//! TTLV; [`handler`] decodes each request, authorises every batch item against the
//! caller's vault and role ([`vault`]), runs it ([`ops`]) over the [`store`] and the
//! vault's [`backend`], records it in the [`audit`] chain and encodes the answer in
//! the caller's protocol version.
#![forbid(unsafe_code)]

pub mod audit;
pub mod backend;
pub mod bench;
pub mod byok;
pub mod config;
pub mod crypto;
pub mod daemon;
pub mod handler;
pub mod ops;
pub mod pki;
pub mod renewal;
pub mod replay;
pub mod server;
pub mod setup;
pub mod store;
pub mod vault;
