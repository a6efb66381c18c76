//! placeholder: dhcp dissector (being written).
