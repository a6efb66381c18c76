#![no_main]
//! Fuzz target `sip`: see `bootscope_fuzz::sip`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::sip(data));
