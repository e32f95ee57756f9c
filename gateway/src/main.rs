//! The `keygate` command.
#![forbid(unsafe_code)]

fn main() {}
