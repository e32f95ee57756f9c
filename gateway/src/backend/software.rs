//! Software keystore (placeholder; filled by the backend work).
