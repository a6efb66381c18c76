//! placeholder: sip dissector (being written).
