#![no_main]
//! Fuzz target `capture`: see `bootscope_fuzz::capture`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::capture(data));
