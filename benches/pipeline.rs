//! Whole-pipeline throughput: read a capture file, slice every frame and dissect it
//! through the library (`capture::open` -> `for_each_frame` -> `Dispatcher::frame`),
//! against the floor of reading and walking the frames alone.
//!
//! The input is built once per run under `CARGO_TARGET_TMPDIR`: every frame of every
//! Ethernet capture under tests/captures, repeated until the file reaches ~20 MB.
//! Each repetition gets later timestamps and its IP addresses remapped (the same
//! bijection for source and destination), so its TCP streams and TFTP transfers are
//! new flows and are dissected like the first copy instead of being dropped as
//! retransmissions.

use std::hint::black_box;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bootscope::capture::{self, Linktype};
use bootscope::dispatch::Dispatcher;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

/// Size the generated capture grows to, at least.
const TARGET_BYTES: usize = 20 * 1024 * 1024;
/// Gap between the end of one capture (or repetition) and the start of the next.
const GAP_NS: i64 = 1_000_000_000;

/// A frame read from a bundled capture, owned.
struct OwnedFrame {
    ts_ns: i64,
    data: Vec<u8>,
    orig_len: u32,
}

/// Every bundled capture, sorted.
fn all_captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures");
    bootscope::capture::files_under(&root).expect("read tests/captures")
}

/// The Ethernet frames of one capture, with their timestamps made non-decreasing.
fn ethernet_frames(path: &Path) -> Vec<OwnedFrame> {
    let file = capture::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut frames: Vec<OwnedFrame> = Vec::new();
    file.for_each_frame(|f| {
        if f.linktype == Linktype::ETHERNET {
            let prev = frames.last().map_or(i64::MIN, |p| p.ts_ns);
            frames.push(OwnedFrame {
                ts_ns: f.ts_ns.max(prev),
                data: f.data.to_vec(),
                orig_len: f.orig_len,
            });
        }
        ControlFlow::Continue(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    frames
}

/// Remap the IPv4 / IPv6 addresses of an Ethernet frame for repetition `rep`
/// (XOR of the second address byte, so both directions of a flow stay paired).
fn remap_addresses(frame: &mut [u8], rep: u8) {
    fn ethertype(f: &[u8], o: usize) -> Option<u16> {
        f.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    let mut off = 12;
    // Skip 802.1Q / 802.1ad tags.
    while matches!(ethertype(frame, off), Some(0x8100 | 0x88a8)) {
        off += 4;
    }
    let ip = off + 2;
    let addrs = match ethertype(frame, off) {
        Some(0x0800) if frame.get(ip).is_some_and(|b| b >> 4 == 4) => [ip + 12, ip + 16],
        Some(0x86dd) if frame.get(ip).is_some_and(|b| b >> 4 == 6) => [ip + 8, ip + 24],
        _ => return,
    };
    for a in addrs {
        if let Some(b) = frame.get_mut(a + 1) {
            *b ^= rep;
        }
    }
}

/// Write a little-endian, nanosecond-resolution pcap (Ethernet link type).
fn write_pcap(frames: &[OwnedFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&Linktype::ETHERNET.0.to_le_bytes());
    for f in frames {
        let secs = f.ts_ns.div_euclid(1_000_000_000) as u32;
        let frac = f.ts_ns.rem_euclid(1_000_000_000) as u32;
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&frac.to_le_bytes());
        out.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&f.orig_len.to_le_bytes());
        out.extend_from_slice(&f.data);
    }
    out
}

/// Build the ~20 MB capture; returns its path and size in bytes.
fn build_input() -> (PathBuf, u64) {
    let captures: Vec<Vec<OwnedFrame>> = all_captures()
        .iter()
        .map(|p| ethernet_frames(p))
        .filter(|f| !f.is_empty())
        .collect();
    let per_pass: usize = captures.iter().flatten().map(|f| 16 + f.data.len()).sum();
    assert!(per_pass > 0, "no Ethernet frames under tests/captures");
    let reps = TARGET_BYTES.div_ceil(per_pass);
    assert!(reps <= 256, "too many repetitions to remap addresses");

    let mut out = Vec::new();
    // Start of the generated timeline: 2020-01-01T00:00:00Z.
    let mut clock: i64 = 1_577_836_800 * 1_000_000_000;
    for rep in 0..reps {
        for frames in &captures {
            let shift = clock - frames[0].ts_ns;
            for f in frames {
                let mut data = f.data.clone();
                remap_addresses(&mut data, rep as u8);
                out.push(OwnedFrame {
                    ts_ns: f.ts_ns + shift,
                    data,
                    orig_len: f.orig_len,
                });
            }
            clock = out.last().map_or(clock, |f| f.ts_ns) + GAP_NS;
        }
    }
    let bytes = write_pcap(&out);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bootscope-bench-pipeline.pcap");
    std::fs::write(&path, &bytes).expect("write the bench capture");
    eprintln!(
        "pipeline input: {} ({} bytes, {} frames, {} captures x {reps})",
        path.display(),
        bytes.len(),
        out.len(),
        captures.len()
    );
    (path, bytes.len() as u64)
}

/// Read, slice and dissect the whole capture; returns the number of messages.
fn dissect_file(path: &Path) -> u64 {
    let mut dispatcher = Dispatcher::default();
    let mut messages = 0u64;
    capture::open(path)
        .expect("open the bench capture")
        .for_each_frame(|frame| {
            let _ = dispatcher.frame(frame, |_packet, obs| {
                if matches!(black_box(obs), bootscope::dispatch::Observed::Message(_)) {
                    messages += 1;
                }
            });
            ControlFlow::Continue(())
        })
        .expect("read the bench capture");
    messages
}

/// Read the capture and walk its frames, nothing more; returns the bytes seen.
fn walk_file(path: &Path) -> u64 {
    let mut bytes = 0u64;
    capture::open(path)
        .expect("open the bench capture")
        .for_each_frame(|frame| {
            bytes += black_box(frame.data).len() as u64;
            ControlFlow::Continue(())
        })
        .expect("read the bench capture");
    bytes
}

fn bench_pipeline(c: &mut Criterion) {
    let (path, size) = build_input();
    eprintln!(
        "pipeline messages per pass: {} (frames walked: {} bytes)",
        dissect_file(&path),
        walk_file(&path)
    );
    let mut g = c.benchmark_group("pipeline");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(size));
    g.bench_function("dissect", |b| b.iter(|| dissect_file(black_box(&path))));
    g.bench_function("bare_pass", |b| b.iter(|| walk_file(black_box(&path))));
    g.finish();
}

/// The whole analysis (map, merge, sort out the bulk, dissect, judge, report) of a
/// model fleet with background traffic, on one thread and on two.
fn bench_analyze(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bootscope-bench-fleet.pcap");
    let sc = bootscope::model::fleet::with_traffic(1000, 11, 120, 8.0);
    let out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create the fleet"));
    bootscope::model::simulate(&sc, out).expect("write the fleet");
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let rules = bootscope::analyze::load_rules(None).expect("builtin rules");
    let files = [path];
    let mut g = c.benchmark_group("analyze");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(size));
    for threads in [1, 2] {
        let opts = bootscope::analyze::Options {
            threads,
            ..Default::default()
        };
        g.bench_function(format!("fleet_threads_{threads}"), |b| {
            b.iter(|| {
                bootscope::analyze::run_files(black_box(&files), &rules, &opts, &mut |_, _| {})
                    .expect("analyze the fleet")
                    .phones
                    .len()
            })
        });
    }
    g.finish();
}

criterion_group!(pipeline, bench_pipeline, bench_analyze);
criterion_main!(pipeline);
