//! Typed enumerations and masks (KMIP 1.4 §9.1.3.2, 2.1 §11), their name tables
//! for the text encodings, and the registry that says which tag carries which.

mod enums;
mod table;

pub use enums::*;
pub use table::{enum_table, mask_table, EnumEntry, EnumTable};
