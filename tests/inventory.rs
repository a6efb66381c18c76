//! `bootscope inventory`: each phone's row holds what tshark reads from the same
//! capture (the phone's CDP platform and software version, its LLDP-MED model and
//! software revision, its DHCP vendor class, its SCCP alarm's load, the switch's device
//! id or system name, port id and data VLAN in the answer paired with the phone), on
//! samples and real captures; and hostile strings from the wire reach neither the
//! terminal nor a spreadsheet as commands.

use std::path::{Path, PathBuf};
use std::process::Command;

use bootscope::inventory::{self, Format, Row};
use bootscope::link::MacAddr;
use bootscope::model::{encode, wire};

use crate::common::{analyze, capture_path, sample_path, scratch};

/// tshark's fields of the frames `filter` selects, one Vec per frame; `None` when
/// tshark is not installed.
fn tshark(capture: &Path, filter: &str, fields: &[&str]) -> Option<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"])
        .arg(capture)
        .args(["-Y", filter, "-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().ok()?;
    assert!(out.status.success(), "tshark -Y {filter}");
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect(),
    )
}

fn captures() -> Vec<PathBuf> {
    vec![
        sample_path("mixed-site"),
        sample_path("healthy-sccp"),
        sample_path("healthy-lldp-sip-udp"),
        sample_path("no-voice-vlan"),
        sample_path("wireless-8821"),
        capture_path("ladvd/49.good.phone.pcap"),
        capture_path("Wireshark-Captures/sip_mcast_paging.pcapng"),
        capture_path("mercury/capture2-phones.pcap"),
    ]
}

/// The first non-empty value of column `i` over `rows` (`last`: the last one).
fn pick(rows: &[Vec<String>], i: usize, last: bool) -> Option<String> {
    let mut vals = rows
        .iter()
        .filter_map(|r| r.get(i))
        .filter(|v| !v.is_empty())
        .cloned();
    if last {
        vals.next_back()
    } else {
        vals.next()
    }
}

/// tshark's rows of `filter` keyed by their first field (a MAC, a frame number).
fn by_key(capture: &Path, filter: &str, fields: &[&str]) -> Option<Vec<(String, Vec<String>)>> {
    Some(
        tshark(capture, filter, fields)?
            .into_iter()
            .map(|mut r| {
                let key = r.remove(0);
                (key, r)
            })
            .collect(),
    )
}

/// The rows of `table` under `key`.
fn under(table: &[(String, Vec<String>)], key: &str) -> Vec<Vec<String>> {
    table
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, r)| r.clone())
        .collect()
}

#[test]
fn each_row_holds_what_tshark_reads() {
    let mut compared = 0;
    for capture in captures() {
        let name = capture.display().to_string();
        let report = analyze(&capture);
        let rows = inventory::rows(&report);
        assert_eq!(rows.len(), report.phones.len(), "{name}");
        assert!(!rows.is_empty(), "{name}");
        let Some(cdp) = by_key(
            &capture,
            "cdp",
            &["eth.src", "cdp.platform", "cdp.software_version"],
        ) else {
            eprintln!("tshark is not installed: the inventory is not checked against it");
            return;
        };
        let lldp = by_key(
            &capture,
            "lldp",
            &["eth.src", "lldp.media.model", "lldp.media.software"],
        )
        .unwrap();
        let dhcp = by_key(
            &capture,
            "dhcp.option.vendor_class_id",
            &["dhcp.hw.mac_addr", "dhcp.option.vendor_class_id"],
        )
        .unwrap();
        let alarms = by_key(
            &capture,
            "skinny.messageId == 0x20",
            &["eth.src", "skinny.text"],
        )
        .unwrap();
        let switch = by_key(
            &capture,
            "cdp || lldp",
            &[
                "frame.number",
                "cdp.deviceid",
                "lldp.tlv.system.name",
                "cdp.portid",
                "lldp.port.id",
                "cdp.native_vlan",
                "lldp.ieee.802_1.port_vlan.id",
            ],
        )
        .unwrap();
        for (row, phone) in rows.iter().zip(&report.phones) {
            let mac = row.mac.clone().unwrap();
            let who = format!("{name} {mac}");
            // The phone's CDP: platform (first), software version (last); else LLDP-MED.
            let (cdp, lldp) = (under(&cdp, &mac), under(&lldp, &mac));
            let platform = pick(&cdp, 0, false).or_else(|| pick(&lldp, 0, false));
            let software = pick(&cdp, 1, true).or_else(|| pick(&lldp, 1, true));
            if let Some(p) = &platform {
                assert_eq!(row.model.as_ref(), Some(p), "{who}: model");
                compared += 1;
            }
            let vendor = pick(&under(&dhcp, &mac), 0, false);
            assert_eq!(row.vendor_class, vendor, "{who}: vendor class");
            if platform.is_none() && vendor.is_some() {
                assert!(row.model.is_some(), "{who}: a model");
            }
            // The SCCP alarm's load, when the phone announced none.
            let alarm_load = pick(&under(&alarms, &mac), 0, true).and_then(|t| {
                t.split_once("Load=")
                    .and_then(|(_, r)| r.split(' ').next().map(str::to_owned))
            });
            assert_eq!(
                row.firmware_active,
                software.or(alarm_load),
                "{who}: firmware"
            );
            // The switch's answers paired with the phone (its timeline's frames).
            let sw: Vec<Vec<String>> = phone
                .timeline
                .iter()
                .filter(|e| matches!(e.kind, "switch_voice_vlan" | "switch_no_voice_vlan"))
                .flat_map(|e| under(&switch, &e.frame.to_string()))
                .collect();
            if sw.is_empty() {
                assert_eq!(row.switch, None, "{who}");
                continue;
            }
            let first_of = |r: &Vec<String>, cols: [usize; 2]| {
                cols.iter()
                    .find_map(|&i| r.get(i).filter(|v| !v.is_empty()).cloned())
            };
            assert_eq!(
                row.switch,
                sw.iter().find_map(|r| first_of(r, [0, 1])),
                "{who}: switch"
            );
            assert_eq!(
                row.port,
                sw.iter().filter_map(|r| first_of(r, [2, 3])).next_back(),
                "{who}: port"
            );
            let vlan = sw
                .iter()
                .find_map(|r| first_of(r, [4, 5]).and_then(|v| v.parse::<u16>().ok()));
            assert_eq!(row.data_vlan, vlan, "{who}: data VLAN");
            compared += 1;
        }
    }
    assert!(compared > 10, "only {compared} rows compared");
}

/// A phone whose CDP names it with a formula, an escape sequence, quotes, a comma and
/// a line break: the table shows no control character, the CSV defuses the formula and
/// quotes as RFC 4180 says, and reads back cell for cell.
#[test]
fn hostile_wire_strings_are_defused_in_the_table_and_the_csv() {
    let mac = MacAddr([0x00, 0x1b, 0x54, 0xee, 0x00, 0x01]);
    let cdp = encode::cdp_phone_as(
        "SEP001B54EE0001",
        "=HYPERLINK(\"http://x\",\"a,b\")\x1b[2J\r\nrow",
        "+cmd|' /C calc'!A0\x07",
    )
    .unwrap();
    let path = scratch("inventory-hostile.pcap");
    let file = std::fs::File::create(&path).unwrap();
    let mut w = wire::PcapWriter::new(std::io::BufWriter::new(file)).unwrap();
    w.record(1_000_000_000, &wire::cdp_frame(mac, None, &cdp))
        .unwrap();
    w.finish().unwrap();

    let report = analyze(&path);
    let rows = inventory::rows(&report);
    let row = rows
        .iter()
        .find(|r| r.mac.as_deref() == Some("00:1b:54:ee:00:01"))
        .expect("the phone's row");
    assert!(row.model.as_deref().unwrap().starts_with("=HYPERLINK"));

    for format in [Format::Table, Format::Csv, Format::Json] {
        let mut out = Vec::new();
        inventory::write(&rows, format, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let controls: Vec<char> = text
            .chars()
            .filter(|&c| c.is_control() && c != '\n' && !(format == Format::Csv && c == '\r'))
            .collect();
        assert!(controls.is_empty(), "{format:?}: {controls:?}");
    }

    let mut out = Vec::new();
    inventory::write(&rows, Format::Csv, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let records = parse_csv(&text);
    let header = &records[0];
    assert_eq!(header, &inventory::COLUMNS.map(str::to_owned).to_vec());
    let model_col = header.iter().position(|h| h == "model").unwrap();
    let fw_col = header.iter().position(|h| h == "firmware_active").unwrap();
    let ours = records
        .iter()
        .find(|r| r[1] == "00:1b:54:ee:00:01")
        .unwrap();
    assert_eq!(ours.len(), header.len());
    assert_eq!(
        ours[model_col],
        format!("'{}", row.model.as_deref().unwrap())
    );
    assert_eq!(
        ours[fw_col],
        format!("'{}", row.firmware_active.as_deref().unwrap())
    );
}

#[test]
fn csv_fields_are_quoted_and_formulas_defused() {
    for (cell, want) in [
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""),
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "\"'\rx\""),
        ("=a,b", "\"'=a,b\""),
        ("", ""),
    ] {
        assert_eq!(inventory::csv_field(cell), want, "{cell:?}");
    }
    // A row of nothing but empty values is a line of commas.
    let mut out = Vec::new();
    inventory::write(&[Row::default()], Format::Csv, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text.split("\r\n").collect::<Vec<_>>(),
        [
            inventory::COLUMNS.join(",").as_str(),
            ",,,,,,,,,,,,,,,false,,",
            ""
        ]
    );
}

/// An RFC 4180 reader: fields split at commas, quoted fields with doubled quotes,
/// records at CRLF or LF outside quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

/// `live --inventory FILE` writes JSON for a `.json` name and CSV otherwise, the rows of
/// the report it is given.
#[test]
fn the_inventory_file_is_json_or_csv_by_its_name() {
    let report = analyze(&sample_path("mixed-site"));
    let rows = inventory::rows(&report);
    let json = scratch("inventory.json");
    inventory::write_file(&report, &json).unwrap();
    let read: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(read, serde_json::to_value(&rows).unwrap());
    let csv = scratch("inventory.csv");
    inventory::write_file(&report, &csv).unwrap();
    let records = parse_csv(&std::fs::read_to_string(&csv).unwrap());
    assert_eq!(records.len(), rows.len() + 1);
    let mac = records[0].iter().position(|h| h == "mac").unwrap();
    for (r, row) in records[1..].iter().zip(&rows) {
        assert_eq!(Some(&r[mac]), row.mac.as_ref());
    }
}
