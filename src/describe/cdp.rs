//! placeholder: cdp rendering (being written).
