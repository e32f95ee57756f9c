//! SQLite store (placeholder; filled by the store work).
