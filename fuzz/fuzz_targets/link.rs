#![no_main]
//! Fuzz target `link`: see `bootscope_fuzz::link`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::link(data));
