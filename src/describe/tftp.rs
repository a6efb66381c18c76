//! TFTP rendering for `bootscope dissect`: tshark's wording ("Read Request File: ...
//! Mode: ...", "Error Code 1 (File not found)") and the decoded fields.

use std::fmt::Write;

use parsers::tftp::{TftpOptions, TftpPacket};
use serde_json::{Map, Value};

use super::{push_str, push_text, text, text_str};

fn push_options(out: &mut String, options: &TftpOptions<'_>) {
    for o in options.iter() {
        out.push(' ');
        push_str(out, o.name);
        out.push('=');
        push_str(out, o.value);
    }
}

/// One-line tshark-like summary, starting with the upper-case protocol name, e.g.
/// `TFTP Read Request File: SEP001122334455.cnf.xml Mode: octet blksize=1428 tsize=0`.
pub fn summary(msg: &TftpPacket<'_>, out: &mut String) {
    out.push_str("TFTP ");
    // tshark's opcode names, except "Data Packet", shortened as in its Info column.
    out.push_str(match msg {
        TftpPacket::Data { .. } => "Data",
        _ => msg.opcode().name().unwrap_or("Unknown"),
    });
    match msg {
        TftpPacket::ReadRequest(r) | TftpPacket::WriteRequest(r) => {
            out.push_str(" File: ");
            push_text(out, r.filename);
            out.push_str(" Mode: ");
            push_text(out, r.mode);
            push_options(out, &r.options);
        }
        TftpPacket::Data { block, data } => {
            let _ = write!(out, " Block {block} ({} bytes)", data.len());
        }
        TftpPacket::Ack { block } => {
            let _ = write!(out, " Block {block}");
        }
        TftpPacket::Error { code, message } => {
            let name = code.name().unwrap_or("Unknown");
            let _ = write!(out, " {} ({name}) \"", code.0);
            push_text(out, message);
            out.push('"');
        }
        TftpPacket::OptionAck(o) => push_options(out, o),
    }
}

/// Decoded fields for `dissect --format json`: `opcode` (tshark's name), `opcode_code`;
/// requests: `file`, `mode`, `options` {name: value}; DATA: `block`, `data_len`;
/// ACK: `block`; ERROR: `error_code`, `error_name` ("Unknown" for codes above 8),
/// `error_message`; OACK: `options`. Known options also appear as numbers:
/// `blksize`, `tsize`, `timeout`, `windowsize`.
pub fn fields(msg: &TftpPacket<'_>, out: &mut Map<String, Value>) {
    let op = msg.opcode();
    out.insert("opcode".into(), Value::from(op.name().unwrap_or("Unknown")));
    out.insert("opcode_code".into(), Value::from(op.0));
    if let Some(r) = msg.request() {
        out.insert("file".into(), text(r.filename));
        out.insert("mode".into(), text(r.mode));
    }
    if let Some(options) = msg.options() {
        let mut o = Map::new();
        for opt in options.iter() {
            // First one wins, as in `TftpOptions::get`.
            let key = text_str(opt.name).as_str().unwrap_or_default().to_owned();
            o.entry(key).or_insert_with(|| text_str(opt.value));
        }
        out.insert("options".into(), Value::Object(o));
        let known = [
            ("blksize", options.blksize()),
            ("tsize", options.tsize()),
            ("timeout", options.timeout()),
            ("windowsize", options.windowsize()),
        ];
        for (k, v) in known {
            if let Some(v) = v {
                out.insert(k.into(), Value::from(v));
            }
        }
    }
    match msg {
        TftpPacket::Data { block, data } => {
            out.insert("block".into(), Value::from(*block));
            out.insert("data_len".into(), Value::from(data.len()));
        }
        TftpPacket::Ack { block } => {
            out.insert("block".into(), Value::from(*block));
        }
        TftpPacket::Error { code, message } => {
            out.insert("error_code".into(), Value::from(code.0));
            out.insert(
                "error_name".into(),
                Value::from(code.name().unwrap_or("Unknown")),
            );
            out.insert("error_message".into(), text(message));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_request_and_data_summaries() {
        let rrq = include_bytes!("../../parsers/testdata/tftp/rrq-file1.bin");
        let msg = parsers::tftp::parse(rrq).unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        assert_eq!(s, "TFTP Read Request File: file1 Mode: octet");
        let mut m = Map::new();
        fields(&msg, &mut m);
        assert_eq!(m["opcode"], "Read Request");
        assert_eq!(m["opcode_code"], 1);
        assert_eq!(m["file"], "file1");
        assert_eq!(m["options"], serde_json::json!({}));

        let data = include_bytes!("../../parsers/testdata/tftp/data-block3.bin");
        let msg = parsers::tftp::parse(data).unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        assert_eq!(s, "TFTP Data Block 3 (105 bytes)");
    }

    #[test]
    fn error_and_oack_summaries() {
        let msg = parsers::tftp::parse(b"\x00\x05\x00\x01File not found\x00").unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        assert_eq!(s, "TFTP Error Code 1 (File not found) \"File not found\"");
        let mut m = Map::new();
        fields(&msg, &mut m);
        assert_eq!(m["error_name"], "File not found");

        let msg = parsers::tftp::parse(b"\x00\x06tsize\x001234\x00").unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        assert_eq!(s, "TFTP Option Acknowledgement tsize=1234");
        let mut m = Map::new();
        fields(&msg, &mut m);
        assert_eq!(m["tsize"], 1234);
        assert_eq!(m["options"]["tsize"], "1234");
    }
}
