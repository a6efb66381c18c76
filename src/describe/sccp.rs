//! placeholder: sccp rendering (being written).
