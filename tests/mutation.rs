//! Mutation test: every sample and bundled capture, damaged thousands of
//! ways by a seeded generator (bit flips, byte overwrites with boundary values,
//! truncations, insertions, deleted and repeated chunks), each mutant run through
//! the whole pipeline: bytes → report → every renderer (table, each device's
//! report, JSON), checked for terminal controls (`fuzz_targets::analyze_and_render`;
//! `hostile.rs` damages captures for the dissect view). Zero panics, and zero hangs: the cases run on a worker
//! thread, and a case that does not finish within a generous deadline fails the test.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{all_captures, capture_path, scratch, Rng};
use crate::fuzz_regressions::fuzz_targets;

/// Mutants per sample (28 samples) and per third-party capture (54 captures).
const PER_SAMPLE: usize = 64;
const PER_CAPTURE: usize = 24;
/// Far beyond any case's time in a debug build (a few milliseconds): only a hang
/// reaches it.
const DEADLINE: Duration = Duration::from_secs(60);

/// Values that break length and count fields.
const BOUNDARY: [u32; 8] = [
    0,
    1,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x0001_0000,
];

/// One mutant of `original`, decided by `seed` alone.
fn mutate(original: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut b = original.to_vec();
    // Most mutations spare the 24-byte file header (else nearly every case is just
    // "not a capture"); one in eight may hit it.
    let floor = if rng.index(8) == 0 {
        0
    } else {
        24.min(b.len())
    };
    let at = |rng: &mut Rng, len: usize| floor + rng.index(len.saturating_sub(floor).max(1));
    for _ in 0..1 + rng.index(3) {
        match rng.index(6) {
            0 => {
                for _ in 0..1 + rng.index(16) {
                    let i = at(&mut rng, b.len());
                    if let Some(x) = b.get_mut(i) {
                        *x ^= 1 << rng.index(8);
                    }
                }
            }
            1 => {
                // A length-like field set to a boundary value, in either byte order.
                let i = at(&mut rng, b.len());
                let v = BOUNDARY[rng.index(BOUNDARY.len())];
                let bytes = if rng.index(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                let w = [1, 2, 4][rng.index(3)];
                for (k, byte) in bytes.iter().take(w).enumerate() {
                    if let Some(x) = b.get_mut(i + k) {
                        *x = *byte;
                    }
                }
            }
            2 => {
                let cut = at(&mut rng, b.len());
                b.truncate(cut);
            }
            3 => {
                let i = at(&mut rng, b.len()).min(b.len());
                let junk: Vec<u8> = (0..1 + rng.index(64))
                    .map(|_| rng.next_u64() as u8)
                    .collect();
                b.splice(i..i, junk);
            }
            4 => {
                let i = at(&mut rng, b.len()).min(b.len());
                let n = rng.index(256).min(b.len() - i);
                b.drain(i..i + n);
            }
            _ => {
                // A chunk repeated: duplicated records, a replayed stream segment.
                let i = at(&mut rng, b.len()).min(b.len());
                let n = rng.index(512).min(b.len() - i);
                let chunk = b[i..i + n].to_vec();
                let j = at(&mut rng, b.len()).min(b.len());
                b.splice(j..j, chunk);
            }
        }
    }
    b
}

fn inputs() -> Vec<(PathBuf, usize)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut samples: Vec<PathBuf> = std::fs::read_dir(root.join("samples"))
        .unwrap()
        .map(|e| e.unwrap().path().join("capture.pcap"))
        .filter(|p| p.is_file())
        .collect();
    samples.sort();
    out.extend(samples.into_iter().map(|p| (p, PER_SAMPLE)));
    out.extend(
        all_captures()
            .iter()
            .map(|c| (capture_path(c), PER_CAPTURE)),
    );
    out
}

#[test]
fn thousands_of_mutants_analyze_without_panic_or_hang() {
    let inputs = inputs();
    let total: usize = inputs.iter().map(|(_, n)| n).sum();
    assert!(total >= 2000, "{total} cases");
    let dir = scratch("mutation");
    std::fs::create_dir_all(&dir).unwrap();
    let (tx, rx) = mpsc::channel::<(String, Result<(), String>)>();
    let worker_dir = dir.clone();
    let worker = std::thread::spawn(move || {
        let rules = bootscope::analyze::load_rules(None).unwrap();
        // Each case's seed drawn from one generator: seeds a step apart would give
        // the same stream shifted (see `Rng`).
        let mut seeds = Rng::new(0x6d75_7461_6e74);
        for (path, n) in inputs {
            let original = std::fs::read(&path).unwrap();
            for k in 0..n {
                let seed = seeds.next_u64();
                let mutant = mutate(&original, seed);
                let name = format!("{} mutant {k} (seed {seed:#x})", path.display());
                let file = worker_dir.join("mutant.pcap");
                std::fs::write(&file, &mutant).unwrap();
                let outcome =
                    std::panic::catch_unwind(|| fuzz_targets::analyze_and_render(&file, &rules))
                        .map_err(|e| {
                            // Keep the mutant to reproduce it.
                            let keep = worker_dir.join(format!("failed-{seed:x}.pcap"));
                            let _ = std::fs::write(&keep, &mutant);
                            let msg = e
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            format!("{msg} (kept as {})", keep.display())
                        });
                if tx.send((name, outcome)).is_err() {
                    return;
                }
            }
        }
    });
    let mut done = 0;
    let mut failures = Vec::new();
    let mut last = String::from("(before the first case)");
    while done < total {
        match rx.recv_timeout(DEADLINE) {
            Ok((name, outcome)) => {
                done += 1;
                if let Err(e) = outcome {
                    failures.push(format!("{name}: {e}"));
                }
                last = name;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("a case after {last} has not finished in {DEADLINE:?}: a hang")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    worker.join().unwrap();
    assert_eq!(done, total);
    assert!(
        failures.is_empty(),
        "{} of {total} mutants failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn mutants_are_deterministic_and_actually_damaged() {
    let original = std::fs::read(capture_path("tcpdump/tftp.pcap")).unwrap();
    let mut changed = 0;
    for seed in 1..200u64 {
        let a = mutate(&original, seed);
        assert_eq!(a, mutate(&original, seed), "seed {seed}");
        changed += usize::from(a != original);
    }
    // A flip of an already-flipped bit can restore a byte; nearly all differ.
    assert!(changed >= 190, "{changed}");
}
