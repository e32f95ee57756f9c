//! Software engine (being written).
