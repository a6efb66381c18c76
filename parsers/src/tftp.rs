//! placeholder: tftp dissector (being written).
