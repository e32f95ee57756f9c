//! Integration tests against SoftHSM2 and outside clients (later issues).
#![forbid(unsafe_code)]
