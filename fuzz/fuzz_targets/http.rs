#![no_main]
//! Fuzz target `http`: see `bootscope_fuzz::http`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::http(data));
