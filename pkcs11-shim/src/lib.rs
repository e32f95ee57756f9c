//! `libkeygate_pkcs11.so`: a PKCS#11 3.0 module (with the 2.40 function table) that
//! forwards to the Keygate daemon over KMIP, so key material never enters the
//! application's process.
//!
//! Layout: [`ffi`] is the C face (the only module allowed `unsafe`): it checks and
//! copies the caller's arguments and calls [`api`], one safe function per entry
//! point, which keeps sessions and handles ([`state`], [`session`], [`object`]) and
//! asks the gateway through [`ops`] over [`gateway`] connections. [`config`] reads
//! `KEYGATE_PKCS11_CONF`. Nothing runs at load time: no thread, socket or runtime
//! exists before `C_Initialize`, and connections open on first use.

pub mod api;
pub mod config;
pub mod error;
pub mod ffi;
pub mod gateway;
pub mod mechanism;
pub mod object;
pub mod ops;
pub mod session;
pub mod state;
