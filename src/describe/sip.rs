//! placeholder: sip rendering (being written).
