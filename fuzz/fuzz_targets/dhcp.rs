#![no_main]
//! Fuzz target `dhcp`: see `bootscope_fuzz::dhcp`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::dhcp(data));
