//! Helpers shared by the integration tests: paths to the bundled captures and
//! samples, a frame collector, a seeded random stream, and small pcap / pcapng
//! writers for hand-built files.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use bootscope::analyze::{self, Options};
use bootscope::capture::{self, CaptureStats, Frame};
use bootscope::report::Report;

/// A bundled third-party capture (see tests/captures/CATALOG.md).
pub fn capture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures")
        .join(rel)
}

/// The catalogued crash-regression captures (tests/captures/CATALOG.md note 4) and
/// the frame whose damage tshark flags (or CATALOG.md names).
pub const CRASH_REGRESSIONS: [(&str, u64); 6] = [
    ("nDPI/dhcp-fuzz.pcapng", 1),
    ("tcpdump/bootp_asan.pcap", 1),
    ("tcpdump/lldp_asan.pcap", 1),
    ("tcpdump/lldp_mgmt_addr_tlv_asan.pcap", 1),
    ("tcpdump/tftp-heapoverflow.pcap", 1),
    ("zeek/invalid-content-length.pcap", 2),
];

/// A bundled sample's capture.
pub fn sample_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
        .join("capture.pcap")
}

/// The report of one capture with the default options.
pub fn analyze(path: &Path) -> Report {
    analyze::run(path, &Options::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The library's generator: a deterministic stream, so a failing case can be rebuilt
/// from its seed.
pub use bootscope::rng::Rng;

/// The JSON report of `paths` merged, analysed with `threads` threads.
pub fn json(paths: &[PathBuf], threads: usize) -> String {
    let rules = analyze::load_rules(None).unwrap();
    let opts = Options {
        threads,
        ..Options::default()
    };
    let report = analyze::run_files(paths, &rules, &opts, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{paths:?}: {e}"));
    let mut out = Vec::new();
    bootscope::report::write_json(&report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A phone's outcome in the model's truth's shape (`expected.json`): MAC, name,
/// status, stalled stage, and the codes of its errors and warnings, sorted.
pub fn outcome(p: &bootscope::report::PhoneReport) -> serde_json::Value {
    let mut codes: Vec<&str> = p
        .findings
        .iter()
        .filter(|f| f.severity != rules::Severity::Info)
        .map(|f| f.code.as_str())
        .collect();
    codes.sort_unstable();
    serde_json::json!({
        "mac": p.mac,
        "device_name": p.device_name,
        "status": p.status,
        "stalled_stage": p.stalled_stage,
        "findings": codes,
    })
}

/// A JSON report without its list of file names (which differs by construction
/// between a capture and its pieces).
pub fn strip_files(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["capture"].as_object_mut().unwrap().remove("files");
    v
}

/// Every bundled capture, relative to tests/captures, sorted.
pub fn all_captures() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures");
    let mut out: Vec<String> = bootscope::capture::files_under(&root)
        .unwrap()
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // Sorted as the names they are used as.
    out.sort();
    out
}

/// A frame as the reader delivered it, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    pub number: u64,
    pub ts_ns: i64,
    pub linktype: u32,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

impl OwnedFrame {
    /// A copy of a frame as a reader delivered it.
    pub fn of(f: &Frame<'_>) -> Self {
        OwnedFrame {
            number: f.number,
            ts_ns: f.ts_ns,
            linktype: f.linktype.0,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        }
    }
}

/// Read every frame of a file.
pub fn read_frames(path: &Path) -> (Vec<OwnedFrame>, CaptureStats) {
    let file = capture::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    let stats = file
        .for_each_frame(|f| {
            frames.push(OwnedFrame::of(f));
            ControlFlow::Continue(())
        })
        .unwrap();
    (frames, stats)
}

/// Write a classic pcap: `big_endian` and `nanos` pick the magic's variant.
pub fn write_pcap(frames: &[OwnedFrame], linktype: u32, big_endian: bool, nanos: bool) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(262_144));
    out.extend_from_slice(&u32b(linktype));
    for f in frames {
        let secs = f.ts_ns.div_euclid(1_000_000_000) as u32;
        let frac = f.ts_ns.rem_euclid(1_000_000_000) as u32;
        out.extend_from_slice(&u32b(secs));
        out.extend_from_slice(&u32b(if nanos { frac } else { frac / 1000 }));
        out.extend_from_slice(&u32b(f.data.len() as u32));
        out.extend_from_slice(&u32b(f.orig_len));
        out.extend_from_slice(&f.data);
    }
    out
}

/// Write a pcapng: one section, one interface of `linktype` with nanosecond
/// timestamps, an enhanced packet block per frame.
pub fn write_pcapng(frames: &[OwnedFrame], linktype: u16) -> Vec<u8> {
    let mut out = ng::shb();
    out.extend(ng::idb(linktype, Some(9)));
    for f in frames {
        out.extend(ng::epb_cut(0, f.ts_ns as u64, &f.data, f.orig_len));
    }
    out
}

/// pcapng pieces, little-endian.
pub mod ng {
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&vec![0; pad]);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    /// Section header block.
    pub fn shb() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        block(0x0a0d_0d0a, &body)
    }

    /// Interface description block; `tsresol` as the option byte (None: default µs).
    pub fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&262_144u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[r, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        }
        block(1, &body)
    }

    /// Enhanced packet block.
    pub fn epb(if_id: u32, ts_units: u64, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&if_id.to_le_bytes());
        body.extend_from_slice(&((ts_units >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts_units as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        block(6, &body)
    }

    /// Enhanced packet block of a packet `orig_len` bytes long on the wire.
    pub fn epb_cut(if_id: u32, ts_units: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
        let mut b = epb(if_id, ts_units, data);
        b[24..28].copy_from_slice(&orig_len.to_le_bytes());
        b
    }

    /// Simple packet block.
    pub fn spb(data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        block(3, &body)
    }

    /// A block of a type no reader knows.
    pub fn unknown(kind: u32, body: &[u8]) -> Vec<u8> {
        block(kind, body)
    }
}

/// A path for a scratch file under the target dir, unique per test name.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bootscope-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A CDP version 2 PDU of `tlvs` (TTL 180, checksum computed), as a phone, a switch or
/// a router sends it.
pub fn cdp_pdu(tlvs: Vec<parsers::cdp::CdpTlv<'_>>) -> Vec<u8> {
    bootscope::model::encode::cdp_pdu(tlvs).unwrap()
}
