//! Every input the fuzzers found a crash, hang or wrong answer with, run
//! through the same code the fuzz target runs (`fuzz/src/lib.rs`, included here), so
//! CI checks them without the fuzzer. Inputs live in
//! `tests/fixtures/fuzz-regressions/<target>/`; a new crasher is added by copying
//! libFuzzer's `artifacts/<target>/crash-…` file there.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
pub(crate) mod fuzz_targets;

use crate::common::scratch;

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions")
}

/// The targets `fuzz/fuzz_targets/` builds, by name.
const TARGETS: [&str; 13] = [
    "cdp",
    "lldp",
    "dhcp",
    "tftp",
    "sccp",
    "sip",
    "http",
    "link",
    "capture",
    "reassembly",
    "pipeline",
    "tunnel",
    "tls",
];

fn run_target(target: &str, data: &[u8], rules: &rules::RuleSet) {
    match target {
        "cdp" => fuzz_targets::cdp(data),
        "lldp" => fuzz_targets::lldp(data),
        "dhcp" => fuzz_targets::dhcp(data),
        "tftp" => fuzz_targets::tftp(data),
        "sccp" => fuzz_targets::sccp(data),
        "sip" => fuzz_targets::sip(data),
        "http" => fuzz_targets::http(data),
        "link" => fuzz_targets::link(data),
        "capture" => fuzz_targets::capture(data),
        "reassembly" => fuzz_targets::reassembly(data),
        "tunnel" => fuzz_targets::tunnel(data),
        "tls" => fuzz_targets::tls(data),
        "pipeline" => {
            let dir = scratch("fuzz-pipeline");
            std::fs::create_dir_all(&dir).unwrap();
            fuzz_targets::pipeline(data, &dir, rules);
        }
        other => panic!("no fuzz target {other}"),
    }
}

#[test]
fn every_target_has_a_regression_directory_and_a_wrapper() {
    // A regression filed under a misspelt target would silently never run.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(regressions_dir()).unwrap() {
        let entry = entry.unwrap();
        if !entry.path().is_dir() {
            continue; // the README
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            TARGETS.contains(&name.as_str()),
            "unknown target dir {name}"
        );
    }
    for t in TARGETS {
        let wrapper = root.join("fuzz/fuzz_targets").join(format!("{t}.rs"));
        assert!(wrapper.is_file(), "{} missing", wrapper.display());
    }
}

#[test]
fn the_kept_fuzz_regressions_run_clean() {
    let rules = bootscope::analyze::load_rules(None).unwrap();
    let mut ran = 0;
    for target in TARGETS {
        let dir = regressions_dir().join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files.into_iter().filter(|f| f.is_file()) {
            let data = std::fs::read(&f).unwrap();
            let name = f.display().to_string();
            let result = std::panic::catch_unwind(|| run_target(target, &data, &rules));
            assert!(result.is_ok(), "{name} fails again");
            ran += 1;
        }
    }
    assert!(ran > 0, "no regression input found");
}

/// Not a check: writes the seed corpora the fuzzing used (see fuzz/README.md).
/// `BOOTSCOPE_SEEDS=fuzz/corpus cargo test --test main make_fuzz_seeds -- --ignored`
#[test]
#[ignore = "writes the fuzz seed corpora; run by hand"]
fn make_fuzz_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::var_os("BOOTSCOPE_SEEDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch("fuzz-seeds"));
    let out = root.join(out);
    let mut caps: Vec<PathBuf> = crate::common::all_captures()
        .iter()
        .map(|c| crate::common::capture_path(c))
        .collect();
    for e in std::fs::read_dir(root.join("samples")).unwrap() {
        let p = e.unwrap().path().join("capture.pcap");
        if p.is_file() {
            caps.push(p);
        }
    }
    caps.sort();
    let n = fuzz_targets::write_seeds(&caps, &out).unwrap();
    eprintln!("{n} seeds written under {}", out.display());
}
