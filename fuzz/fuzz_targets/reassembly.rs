#![no_main]
//! Fuzz target `reassembly`: see `bootscope_fuzz::reassembly`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::reassembly(data));
