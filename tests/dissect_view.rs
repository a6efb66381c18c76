//! The `dissect` view itself: VLAN ids on tagged frames, the text columns, and the
//! binary's exit codes.

use bootscope::dissect::{self, Format};

use crate::common::{capture_path, read_frames, scratch, write_pcap};

#[test]
fn tagged_frames_keep_every_vlan_id_in_both_formats() {
    // tcpdump/dhcp-rfc5859.pcap frame 2 (the OFFER with option 150), re-tagged with an
    // 802.1ad S-tag 100 and an 802.1Q C-tag 77 as on a SPAN of a trunk.
    let (frames, _) = read_frames(&capture_path("tcpdump/dhcp-rfc5859.pcap"));
    let mut offer = frames[1].clone();
    offer
        .data
        .splice(12..12, [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0xa0, 0x4d]);
    let path = scratch("tagged.pcap");
    std::fs::write(&path, write_pcap(&[offer], 1, false, false)).unwrap();

    let mut out = Vec::new();
    dissect::run(&path, Format::Json, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["vlans"], serde_json::json!([100, 77]));
    assert_eq!(v["proto"], "dhcp");
    assert_eq!(
        v["tftp_servers"],
        serde_json::json!(["192.168.1.10", "192.168.1.11"])
    );

    let mut out = Vec::new();
    dissect::run(&path, Format::Text, &mut out).unwrap();
    let line = String::from_utf8(out).unwrap();
    assert!(line.contains(" vlan 100/77 "), "{line}");
    assert!(
        line.contains("192.168.1.1:67 → 192.168.1.4:68 DHCP Offer"),
        "{line}"
    );
}

#[test]
fn a_text_line_has_frame_time_macs_addresses_and_summary() {
    let mut out = Vec::new();
    dissect::run(
        &capture_path("Wireshark-Captures/sccp_phone_register.pcapng"),
        Format::Text,
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let register = text.lines().find(|l| l.contains("RegisterReq")).unwrap();
    // tshark: frame 4, 10.10.224.5:51373 -> 10.10.223.10:2000, eth 00:21:55:86:f4:6a.
    assert!(register.trim_start().starts_with("4 "), "{register}");
    assert!(
        register.contains("00:21:55:86:f4:6a → 00:0b:45:9e:c9:4c"),
        "{register}"
    );
    assert!(
        register.contains("10.10.224.5:51373 → 10.10.223.10:2000"),
        "{register}"
    );
    assert!(register.contains("\"SEP002155D548AC\""), "{register}");
}

#[test]
fn exit_codes_follow_the_contract() {
    let bin = env!("CARGO_BIN_EXE_bootscope");
    let ok = std::process::Command::new(bin)
        .args([
            "dissect",
            capture_path("tcpdump/tftp.pcap").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let text = scratch("exit-code.txt");
    std::fs::write(&text, "not a capture").unwrap();
    let bad = std::process::Command::new(bin)
        .args(["dissect", text.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("exit-code.txt") && err.contains("not a pcap"),
        "{err}"
    );
}

#[test]
fn a_glance_agrees_with_the_full_slice_on_every_bundled_frame() {
    // The walker sorts the bulk out at a glance (`link::glance`); on every frame of
    // every bundled capture it must see what the link layer's full slice sees, and
    // sort out only what the full slice would have sorted out.
    use bootscope::capture::{Frame, Linktype};
    use bootscope::dispatch::{packet_worth_dissecting, transport_worth_dissecting};
    use bootscope::link::{self, Net};
    let (mut glanced, mut skipped) = (0, 0);
    for cap in crate::common::all_captures() {
        let (frames, _) = read_frames(&capture_path(&cap));
        for f in &frames {
            let frame = Frame {
                number: f.number,
                ts_ns: f.ts_ns,
                linktype: Linktype(f.linktype),
                data: &f.data,
                orig_len: f.orig_len,
            };
            let Some(t) = link::glance(&frame) else {
                continue;
            };
            glanced += 1;
            let packet =
                link::decode(&frame).unwrap_or_else(|e| panic!("{cap} #{}: {e}", f.number));
            let Net::Ip(ip) = packet.net else {
                panic!("{cap} #{}: not IP", f.number)
            };
            assert_eq!(ip.transport, t, "{cap} #{}", f.number);
            let worth = transport_worth_dissecting(&t);
            assert_eq!(
                worth,
                packet_worth_dissecting(&packet),
                "{cap} #{}",
                f.number
            );
            skipped += usize::from(!worth);
        }
    }
    assert!(
        glanced > 1_000 && skipped > 100,
        "{glanced} glanced, {skipped} sorted out"
    );
}
