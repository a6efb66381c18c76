//! placeholder: http rendering (being written).
