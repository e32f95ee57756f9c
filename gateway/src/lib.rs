//! Keygate: the gateway daemon and its command-line tools.
#![forbid(unsafe_code)]
