//! placeholder: lldp dissector (being written).
