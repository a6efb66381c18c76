#![no_main]
//! Fuzz target `lldp`: see `bootscope_fuzz::lldp`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::lldp(data));
