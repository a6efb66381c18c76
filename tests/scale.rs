//! The guarantees of scale that are not speed: the report does not depend on the number
//! of threads; a capture split into files (rotated, or cut in interleaved pieces) is
//! analyzed as the whole; the mapped reader delivers what the streaming one does; the
//! work done ahead on the walking thread (slicing, sorting out, dissection)
//! changes nothing.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use bootscope::analyze::{self, Options};
use bootscope::capture::{self, mapped};
use bootscope::pipeline::Pipeline;

use crate::common::{
    all_captures, capture_path, json, read_frames, scratch, strip_files, write_pcap, OwnedFrame,
};

fn samples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path().join("capture.pcap"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn the_report_is_byte_identical_whatever_the_threads() {
    let mut files = samples();
    files.extend(all_captures().iter().map(|c| capture_path(c)));
    // A fleet big enough for many batches to cross between the threads.
    let fleet = scratch("scale-fleet.pcap");
    let sc = bootscope::model::fleet::with_traffic(300, 5, 300, 2.0);
    let out = std::io::BufWriter::new(std::fs::File::create(&fleet).unwrap());
    bootscope::model::simulate(&sc, out).unwrap();
    files.push(fleet);
    for f in &files {
        let one = json(std::slice::from_ref(f), 1);
        for threads in [2, 3] {
            assert!(
                one == json(std::slice::from_ref(f), threads),
                "{}: --threads {threads} differs from --threads 1",
                f.display()
            );
        }
    }
}

/// Write `frames` as a classic pcap at `path`.
fn write(path: &Path, frames: &[OwnedFrame]) {
    std::fs::write(path, write_pcap(frames, 1, false, true)).unwrap();
}

#[test]
fn a_split_capture_is_analyzed_as_the_whole() {
    let rules = analyze::load_rules(None).unwrap();
    let _ = rules;
    for sample in ["mixed-site", "boot-loop", "firmware-upgrade-one-reboot"] {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("samples/{sample}/capture.pcap"));
        let (frames, _) = read_frames(&path);
        // The whole, rewritten by the same writer (nanosecond pcap), as the reference.
        let whole = scratch(&format!("split-{sample}-whole.pcap"));
        write(&whole, &frames);
        let want = json(&[whole], 1);

        // Rotated: consecutive pieces, as `tcpdump -C` writes them, in a directory
        // whose names sort as the rotation does; given out of order on purpose too.
        let dir = scratch(&format!("split-{sample}-rotated"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let thirds = frames.len().div_ceil(3);
        let mut pieces = Vec::new();
        for (i, chunk) in frames.chunks(thirds).enumerate() {
            let p = dir.join(format!("cap.pcap{i}"));
            write(&p, chunk);
            pieces.push(p);
        }
        let from_dir = analyze::expand(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(from_dir, pieces);
        for threads in [1, 2] {
            let got = json(&from_dir, threads);
            assert_eq!(
                strip_files(&got),
                strip_files(&want),
                "{sample}: rotated, {threads} thread(s)"
            );
        }
        pieces.reverse();
        assert_eq!(
            strip_files(&json(&pieces, 2)),
            strip_files(&want),
            "{sample}: pieces given in reverse"
        );

        // Interleaved: odd and even frames in two files (two taps on one segment).
        let (odd, even): (Vec<_>, Vec<_>) = frames.iter().cloned().partition(|f| f.number % 2 == 1);
        let (a, b) = (
            scratch(&format!("split-{sample}-odd.pcap")),
            scratch(&format!("split-{sample}-even.pcap")),
        );
        write(&a, &odd);
        write(&b, &even);
        for threads in [1, 2] {
            assert_eq!(
                strip_files(&json(&[b.clone(), a.clone()], threads)),
                strip_files(&want),
                "{sample}: interleaved"
            );
        }
    }
}

#[test]
fn the_mapped_reader_delivers_what_the_streaming_reader_does() {
    let mut files = samples();
    files.extend(all_captures().iter().map(|c| capture_path(c)));
    // Damaged classic pcaps: cut inside a record header, inside a record's data, and
    // a record claiming more than any buffer holds.
    let sample = &samples()[0];
    let bytes = std::fs::read(sample).unwrap();
    for (name, cut) in [("hdr", 24 + 16 + 60 + 7), ("data", bytes.len() - 5)] {
        let p = scratch(&format!("mapped-cut-{name}.pcap"));
        std::fs::write(&p, &bytes[..cut.min(bytes.len())]).unwrap();
        files.push(p);
    }
    let mut huge = bytes[..24].to_vec();
    huge.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f,
    ]);
    huge.extend_from_slice(&[0; 64]);
    let p = scratch("mapped-huge.pcap");
    std::fs::write(&p, huge).unwrap();
    files.push(p);

    let mut compared = 0;
    for f in &files {
        let Some(m) = mapped::map(f) else {
            continue; // pcapng: streaming only
        };
        compared += 1;
        let mut got = Vec::new();
        let got_stats = m.for_each_frame(|fr| {
            got.push(OwnedFrame::of(fr));
            ControlFlow::Continue(())
        });
        let mut want = Vec::new();
        let want_stats = capture::open(f)
            .unwrap()
            .for_each_frame(|fr| {
                want.push(OwnedFrame::of(fr));
                ControlFlow::Continue(())
            })
            .unwrap();
        assert!(got == want, "{}: frames differ", f.display());
        assert_eq!(got_stats.frames, want_stats.frames, "{}", f.display());
        assert_eq!(got_stats.bytes, want_stats.bytes, "{}", f.display());
        let kinds = |s: &capture::CaptureStats| {
            s.warnings
                .iter()
                .map(|w| (w.kind.clone(), w.after_frame))
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(&got_stats), kinds(&want_stats), "{}", f.display());
    }
    assert!(compared >= 30, "{compared}");
}

/// The report of `path` with every frame given to [`Pipeline::frame`] as it is read:
/// no pre-sort, no slicing or dissection ahead.
fn json_frame_by_frame(path: &Path) -> String {
    let rules = analyze::load_rules(None).unwrap();
    let opts = Options::default();
    let mut pipeline = Pipeline::new(
        path.display().to_string(),
        &rules,
        opts.limits,
        opts.streams,
    );
    let stats = capture::open(path)
        .unwrap()
        .for_each_frame(|f| {
            pipeline.frame(f);
            ControlFlow::Continue(())
        })
        .unwrap();
    let report = pipeline.finish(None, &stats, vec![path.display().to_string()]);
    let mut out = Vec::new();
    bootscope::report::write_json(&report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A TFTP transfer whose client port is SIP's: the server's DATA comes to port 5060,
/// so the walker parses it as SIP ahead; the transfer must decide it is TFTP.
fn tftp_on_the_sip_port() -> PathBuf {
    let phone = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
    let server = [0x00, 0x0c, 0x29, 0x00, 0x00, 0x01];
    let udp = |src_mac, dst_mac, src: [u8; 4], dst: [u8; 4], sport, dport, payload: &[u8]| {
        let b = etherparse::PacketBuilder::ethernet2(src_mac, dst_mac)
            .ipv4(src, dst, 64)
            .udp(sport, dport);
        let mut v = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut v, payload).unwrap();
        v
    };
    let (p_ip, s_ip) = ([10, 0, 0, 5], [10, 0, 0, 1]);
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(b"SEP001122334455.cnf.xml\0octet\0");
    let mut data = vec![0, 3, 0, 1];
    data.extend_from_slice(b"<device><devicePool/></device>");
    let frames = [
        udp(phone, server, p_ip, s_ip, 5060, 69, &rrq),
        udp(server, phone, s_ip, p_ip, 40000, 5060, &data),
        udp(phone, server, p_ip, s_ip, 5060, 40000, &[0, 4, 0, 1]),
    ];
    let frames: Vec<OwnedFrame> = frames
        .into_iter()
        .enumerate()
        .map(|(i, data)| OwnedFrame {
            number: i as u64 + 1,
            ts_ns: 1_700_000_000_000_000_000 + i as i64 * 1_000_000,
            linktype: 1,
            orig_len: data.len() as u32,
            data,
        })
        .collect();
    let path = scratch("tftp-on-the-sip-port.pcap");
    write(&path, &frames);
    path
}

#[test]
fn work_done_ahead_on_the_walker_changes_nothing() {
    let crafted = tftp_on_the_sip_port();
    let mut files = samples();
    files.extend(all_captures().iter().map(|c| capture_path(c)));
    files.push(crafted.clone());
    for f in &files {
        for threads in [1, 2] {
            assert!(
                json(std::slice::from_ref(f), threads) == json_frame_by_frame(f),
                "{}: --threads {threads} differs from frame-by-frame dissection",
                f.display()
            );
        }
    }
    // And the crafted transfer was read as TFTP, not as broken SIP.
    let report: serde_json::Value = serde_json::from_str(&json(&[crafted], 2)).unwrap();
    assert_eq!(report["capture"]["malformed"], 0, "{report}");
    let timeline = report["phones"][0]["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|e| e["type"] == "file_received"),
        "{timeline:?}"
    );
}
