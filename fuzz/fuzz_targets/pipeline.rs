#![no_main]
//! Fuzz target `pipeline`: the bytes of a capture through analyze and dissect; see
//! `bootscope_fuzz::pipeline`. The scratch capture goes to /dev/shm when it exists.
use std::path::Path;
use std::sync::OnceLock;

static RULES: OnceLock<rules::RuleSet> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let rules = RULES.get_or_init(|| bootscope::analyze::load_rules(None).expect("builtin rules"));
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    bootscope_fuzz::pipeline(data, &dir, rules);
});
