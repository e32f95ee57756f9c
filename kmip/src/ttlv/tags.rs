//! The standard tag table (generated from the KMIP 1.4 specification and the 2.x
//! tag list; see the module docs of [`super::tag`]).

use super::tag::{tags, Tag, TagInfo};
use crate::version::ProtocolVersion;

tags! {
    ACTIVATION_DATE = 0x420001, "ActivationDate", "Activation Date", (1, 0);
}
