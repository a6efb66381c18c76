//! placeholder: dhcp rendering (being written).
