//! placeholder: http dissector (being written).
