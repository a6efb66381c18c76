//! placeholder: cdp dissector (being written).
