//! placeholder: lldp rendering (being written).
