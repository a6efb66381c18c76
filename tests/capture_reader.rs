//! The capture reader: pcap in both byte orders and both resolutions, pcapng with
//! several interfaces, SPB and unknown blocks, stdin, and damaged files that must
//! give a clear warning after delivering every frame before the damage.

use std::ops::ControlFlow;

use bootscope::capture::{self, CaptureError, WarningKind};

use crate::common::{capture_path, ng, read_frames, scratch, write_pcap, OwnedFrame};

fn sample() -> Vec<OwnedFrame> {
    // 12 frames of CDP and LLDP on Ethernet, read with tshark as frames 1-12.
    let (frames, stats) = read_frames(&capture_path("tcpdump/LLDP_and_CDP.pcap"));
    assert_eq!(stats.frames, 12);
    assert!(stats.warnings.is_empty());
    frames
}

#[test]
fn frames_are_numbered_from_one_with_tshark_timestamps() {
    let frames = sample();
    assert_eq!(frames.first().unwrap().number, 1);
    assert_eq!(frames.last().unwrap().number, 12);
    // tshark -T fields -e frame.time_epoch -e frame.len (frame 1).
    assert_eq!(frames[0].ts_ns, 1_285_988_434_141_848_000);
    assert_eq!(frames[0].orig_len, 388);
}

#[test]
fn pcap_byte_orders_and_resolutions_read_alike() {
    let frames = sample();
    for (be, ns) in [(false, false), (true, false), (false, true), (true, true)] {
        let path = scratch(&format!("variant-{be}-{ns}.pcap"));
        std::fs::write(&path, write_pcap(&frames, 1, be, ns)).unwrap();
        let (again, stats) = read_frames(&path);
        assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
        assert_eq!(again, frames, "big-endian {be} nanos {ns}");
    }
}

#[test]
fn pcapng_with_interfaces_of_different_link_types_spb_and_unknown_blocks() {
    let frames = sample();
    let raw_ip: &[u8] = &[
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 68, 0, 67, 0, 8, 0,
        0,
    ];
    let mut file = ng::shb();
    file.extend(ng::idb(1, None)); // interface 0: Ethernet, microseconds
    file.extend(ng::idb(101, Some(9))); // interface 1: raw IP, nanoseconds
    file.extend(ng::epb(0, 1_000_000, &frames[0].data));
    file.extend(ng::unknown(0x0bad_beef, b"junk that no reader knows"));
    file.extend(ng::epb(1, 2_000_000_123, raw_ip));
    file.extend(ng::spb(&frames[1].data));
    let path = scratch("multi.pcapng");
    std::fs::write(&path, &file).unwrap();
    let (got, stats) = read_frames(&path);
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].linktype, got[0].ts_ns), (1, 1_000_000_000));
    assert_eq!(got[0].data, frames[0].data);
    assert_eq!((got[1].linktype, got[1].ts_ns), (101, 2_000_000_123));
    assert_eq!(got[1].data, raw_ip);
    // A simple packet has no timestamp of its own: it keeps the previous one.
    assert_eq!(
        (got[2].number, got[2].linktype, got[2].ts_ns),
        (3, 1, 2_000_000_123)
    );
    assert_eq!(got[2].data, frames[1].data);
}

#[test]
fn stdin_reads_like_a_file() {
    let path = capture_path("tcpdump/LLDP_and_CDP.pcap");
    let bin = env!("CARGO_BIN_EXE_bootscope");
    let by_path = std::process::Command::new(bin)
        .args(["dissect", path.to_str().unwrap()])
        .output()
        .unwrap();
    let by_stdin = std::process::Command::new(bin)
        .args(["dissect", "-"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert!(by_path.status.success());
    assert!(by_stdin.status.success());
    assert_eq!(by_path.stdout, by_stdin.stdout);
    assert_eq!(String::from_utf8_lossy(&by_path.stdout).lines().count(), 12);
}

#[test]
fn a_truncated_last_record_keeps_every_frame_before_it() {
    let frames = sample();
    let whole = write_pcap(&frames, 1, false, false);
    // Cut 10 bytes into the last record's data.
    let last = frames.last().unwrap().data.len();
    let cut = &whole[..whole.len() - last + 10];
    let path = scratch("truncated.pcap");
    std::fs::write(&path, cut).unwrap();
    let (got, stats) = read_frames(&path);
    assert_eq!(got, frames[..11]);
    let [w] = &stats.warnings[..] else {
        panic!("{:?}", stats.warnings)
    };
    assert_eq!(w.kind, WarningKind::TruncatedRecord);
    assert_eq!(w.after_frame, 11);
    let text = w.to_string();
    assert!(
        text.contains("truncated.pcap") && text.contains("frame 11"),
        "{text}"
    );
    assert!(stats.damaged());
}

#[test]
fn a_record_claiming_gigabytes_is_refused_without_allocating_it() {
    let frames = sample();
    let mut file = write_pcap(&frames[..2], 1, false, false);
    // A third record header claiming 3 GB of captured data, then a few bytes.
    file.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    file.extend_from_slice(&3_000_000_000u32.to_le_bytes());
    file.extend_from_slice(&3_000_000_000u32.to_le_bytes());
    file.extend_from_slice(&[0xab; 64]);
    let path = scratch("huge-record.pcap");
    std::fs::write(&path, &file).unwrap();
    let (got, stats) = read_frames(&path);
    assert_eq!(got, frames[..2]);
    let w = stats.warnings.last().unwrap();
    assert_eq!(w.after_frame, 2);
    assert!(
        matches!(
            w.kind,
            WarningKind::TruncatedRecord | WarningKind::RecordTooLarge { .. }
        ),
        "{w:?}"
    );
}

#[test]
fn a_pcapng_block_with_a_lying_length_stops_with_a_warning() {
    let frames = sample();
    let mut file = ng::shb();
    file.extend(ng::idb(1, None));
    file.extend(ng::epb(0, 1, &frames[0].data));
    let mut bad = ng::epb(0, 2, &frames[1].data);
    bad[4..8].copy_from_slice(&7u32.to_le_bytes()); // a block length below the minimum
    file.extend(bad);
    let path = scratch("lying.pcapng");
    std::fs::write(&path, &file).unwrap();
    let (got, stats) = read_frames(&path);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, frames[0].data);
    assert!(stats.damaged(), "{:?}", stats.warnings);
    assert_eq!(stats.warnings.last().unwrap().after_frame, 1);
}

#[test]
fn not_a_capture_and_empty_files_are_clear_errors() {
    let path = scratch("not-a-capture.txt");
    std::fs::write(&path, b"hello, this is text").unwrap();
    let e = capture::open(&path).err().unwrap();
    assert!(matches!(e, CaptureError::NotACapture { .. }));
    let text = e.to_string();
    assert!(
        text.contains("not-a-capture.txt") && text.contains("68656c6c"),
        "{text}"
    );

    let path = scratch("empty.pcap");
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(
        capture::open(&path),
        Err(CaptureError::Empty { .. })
    ));

    let missing = scratch("does-not-exist.pcap");
    let e = capture::open(&missing).err().unwrap();
    assert!(e.to_string().contains("does-not-exist.pcap"));
}

#[test]
fn an_unsupported_link_type_is_one_warning_not_a_failure() {
    let frames = sample();
    let path = scratch("usb.pcap");
    // LINKTYPE_USB_LINUX (189): not decoded.
    std::fs::write(&path, write_pcap(&frames, 189, false, false)).unwrap();
    let (got, stats) = read_frames(&path);
    assert_eq!(got.len(), 12);
    let [w] = &stats.warnings[..] else {
        panic!("{:?}", stats.warnings)
    };
    assert!(matches!(w.kind, WarningKind::UnsupportedLinktype(lt) if lt.0 == 189));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootscope"))
        .args(["dissect", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("link type").count(), 1, "{err}");
}

#[test]
fn a_consumer_can_stop_early() {
    let file = capture::open(&capture_path("zeek/wireshark.pcap")).unwrap();
    let mut n = 0;
    let stats = file
        .for_each_frame(|_| {
            n += 1;
            if n == 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!((n, stats.frames), (5, 5));
}
