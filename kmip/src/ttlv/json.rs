//! KMIP JSON encoding (placeholder; filled by the JSON work).
