#![no_main]
//! Fuzz target `tftp`: see `bootscope_fuzz::tftp`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::tftp(data));
