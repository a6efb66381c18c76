//! placeholder: sccp dissector (being written).
