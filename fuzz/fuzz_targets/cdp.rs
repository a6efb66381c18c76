#![no_main]
//! Fuzz target `cdp`: see `bootscope_fuzz::cdp`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bootscope_fuzz::cdp(data));
