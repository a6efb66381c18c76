//! placeholder: tftp rendering (being written).
