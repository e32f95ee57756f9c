//! Decoding limits. Every number read off the wire is checked against these before
//! anything is allocated (STYLE rule 2).

/// Bounds applied while decoding untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole message accepted, in bytes. A peer announcing more is refused
    /// before a single byte of body is buffered: the classic TTLV allocation bomb
    /// (a 4-byte length of 0xFFFFFFFF) cannot reserve memory.
    pub max_message_size: usize,
    /// Deepest structure nesting accepted. Bounds recursion, so a message of nested
    /// empty structures cannot exhaust the stack.
    pub max_depth: usize,
    /// Most TTLV items (of any kind) in one message. Bounds the per-item overhead
    /// of the tree, so a message of 8-byte empty structures cannot cost 10x its size.
    pub max_items: usize,
}

impl Limits {
    /// 1 MiB messages, depth 32, 100 000 items.
    pub const DEFAULT: Self = Self {
        max_message_size: 1 << 20,
        max_depth: 32,
        max_items: 100_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
