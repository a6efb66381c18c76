#![no_main]
//! Fuzz target `sccp`: see `bootscope_fuzz::sccp`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::sccp(data));
