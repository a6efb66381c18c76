#![no_main]
//! Fuzz target `tls`: see `bootscope_fuzz::tls`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::tls(data));
