//! The KMIP listener (placeholder; filled by the server work).
