//! KMIP XML encoding (placeholder; filled by the XML work).
