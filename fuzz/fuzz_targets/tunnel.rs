#![no_main]
//! Fuzz target `tunnel`: see `bootscope_fuzz::tunnel`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::tunnel(data));
