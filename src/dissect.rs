//! `bootscope dissect`: the debugging view engineers use when they doubt a
//! verdict. One line per decoded message (frame number as tshark counts, time,
//! MACs, VLAN ids, addresses, protocol, a tshark-like summary), or one JSON
//! object per line with the decoded fields. A frame that came in a tunnel shows the
//! innermost frame's MACs, VLANs and addresses, after the outermost tunnel's kind
//! and addresses (`[ERSPAN II 10.1.1.1 → 10.9.9.9]`; JSON `tunnel`). Malformed messages are listed too,
//! marked, and each gives a warning naming its frame, as does each hole in a
//! followed TCP stream. TCP control and TLS payload are not messages: not listed.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::path::Path;

use parsers::DissectError;
use serde_json::{Map, Value};

use crate::capture::{self, CaptureError, CaptureStats, Frame};
use crate::describe;
use crate::dispatch::{DispatchStats, Dispatcher, Message, Observed};
use crate::link::{self, Net, Packet, Transport};
use crate::reassembly::{StreamLimits, StreamStats};

/// Output format of `dissect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One aligned text line per message.
    Text,
    /// One JSON object per line per message.
    Json,
}

/// Warnings printed to stderr at most; the rest are counted.
const MAX_WARNINGS: u64 = 100;

/// What a dissect run saw.
#[derive(Debug, Default)]
pub struct DissectSummary {
    /// The capture reader's counters and warnings.
    pub capture: CaptureStats,
    /// The dispatcher's counters.
    pub dispatch: DispatchStats,
    /// TCP stream counters: gaps (holes never captured), retransmissions, reordering.
    pub streams: StreamStats,
    /// Malformed-message and stream-gap warnings, as printed (the first
    /// [`MAX_WARNINGS`] of each).
    pub warnings: Vec<String>,
}

/// Failures of a dissect run.
#[derive(Debug, thiserror::Error)]
pub enum DissectRunError {
    /// The capture could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The output could not be written.
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
}

/// Dissect the capture at `path`, writing one line per message to `out`.
///
/// # Errors
/// The capture cannot be opened or read, or `out` fails (a closed pipe included:
/// the caller decides whether that is an error).
pub fn run(
    path: &Path,
    format: Format,
    out: &mut dyn Write,
) -> Result<DissectSummary, DissectRunError> {
    let file = capture::open(path)?;
    let mut dispatcher = Dispatcher::new(StreamLimits::default());
    let mut summary = DissectSummary::default();
    let mut first_ts: Option<i64> = None;
    let mut line = String::with_capacity(512);
    let mut io_error: Option<io::Error> = None;
    let mut malformed_seen = 0u64;
    let mut gaps_seen = 0u64;

    let stats = file.for_each_frame(|frame| {
        let t0 = *first_ts.get_or_insert(frame.ts_ns);
        let result = dispatcher.frame(frame, |packet, obs| {
            let msg = match obs {
                Observed::Message(m) => Ok(m),
                Observed::Malformed(e) => Err(e),
                Observed::StreamGap { flow, missing, .. } => {
                    gaps_seen += 1;
                    if gaps_seen <= MAX_WARNINGS {
                        summary.warnings.push(crate::dispatch::gap_warning(
                            path,
                            frame.number,
                            &flow,
                            missing,
                        ));
                    }
                    return;
                }
                Observed::Tcp(_) | Observed::Encrypted { .. } | Observed::HttpBody { .. } => return,
            };
            line.clear();
            let damage = match &msg {
                Err(e) => Some(format!("malformed {e}")),
                Ok(m) => m
                    .damage()
                    .map(|d| format!("{}: {d}", proto_upper(m.proto()))),
            };
            if let Some(d) = damage {
                malformed_seen += 1;
                if malformed_seen <= MAX_WARNINGS {
                    summary.warnings.push(format!(
                        "{}: frame {}: {d}",
                        path.display(),
                        frame.number
                    ));
                }
            }
            match format {
                Format::Text => text_line(&mut line, frame, t0, packet, &msg),
                Format::Json => json_line(&mut line, frame, packet, &msg),
            }
            line.push('\n');
            if io_error.is_none() {
                if let Err(e) = out.write_all(line.as_bytes()) {
                    io_error = Some(e);
                }
            }
        });
        // A frame the link layer cannot slice is counted by the dispatcher; it carries
        // no message of ours.
        let _ = result;
        if io_error.is_some() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    if let Some(e) = io_error {
        return Err(DissectRunError::Output(e));
    }
    out.flush()?;
    summary.capture = stats;
    summary.dispatch = dispatcher.stats;
    summary.streams = dispatcher.stream_stats();
    if malformed_seen > MAX_WARNINGS {
        summary.warnings.push(format!(
            "{}: {} more damaged messages not listed",
            path.display(),
            malformed_seen - MAX_WARNINGS
        ));
    }
    if gaps_seen > MAX_WARNINGS {
        summary.warnings.push(format!(
            "{}: {} more TCP stream gaps not listed",
            path.display(),
            gaps_seen - MAX_WARNINGS
        ));
    }
    Ok(summary)
}

fn proto_upper(p: parsers::Proto) -> &'static str {
    match p {
        parsers::Proto::Cdp => "CDP",
        parsers::Proto::Lldp => "LLDP",
        parsers::Proto::Dhcp => "DHCP",
        parsers::Proto::Tftp => "TFTP",
        parsers::Proto::Sccp => "SCCP",
        parsers::Proto::Sip => "SIP",
        parsers::Proto::Http => "HTTP",
        parsers::Proto::Gre => "GRE",
        parsers::Proto::Erspan => "ERSPAN",
        parsers::Proto::Vxlan => "VXLAN",
        parsers::Proto::Capwap => "CAPWAP",
        parsers::Proto::Ieee80211 => "802.11",
        parsers::Proto::Eapol => "EAPOL",
        parsers::Proto::Arp => "ARP",
        parsers::Proto::Dns => "DNS",
        parsers::Proto::Icmp => "ICMP",
        parsers::Proto::Tls => "TLS",
        parsers::Proto::CnfXml => "CNF.XML",
    }
}

/// The summary of a message as `dissect` prints it (also used by tests).
pub fn summary(msg: &Result<Message<'_>, DissectError>, out: &mut String) {
    match msg {
        Ok(Message::Cdp(m)) => describe::cdp::summary(m, out),
        Ok(Message::Lldp(m)) => describe::lldp::summary(m, out),
        Ok(Message::Dhcp(m)) => describe::dhcp::summary(m, out),
        Ok(Message::Tftp(m)) => describe::tftp::summary(m, out),
        Ok(Message::Sccp(m)) => describe::sccp::summary(m, out),
        Ok(Message::Sip(m)) => describe::sip::summary(m, out),
        Ok(Message::Http(m)) => describe::http::summary(m, out),
        Ok(Message::Eapol(m)) => describe::eapol::summary(m, out),
        Ok(Message::Arp(m)) => describe::arp::summary(m, out),
        Ok(Message::Dns(m)) => describe::dns::summary(m, out),
        Ok(Message::Icmp(m)) => describe::icmp::summary(m, out),
        Ok(Message::Tls(m)) => describe::tls::summary(m, out),
        Err(e) => {
            let _ = write!(
                out,
                "{} [malformed at byte {}: {}]",
                proto_upper(e.proto),
                e.offset,
                e.kind
            );
        }
    }
}

fn text_line(
    out: &mut String,
    frame: &Frame<'_>,
    t0: i64,
    packet: &Packet<'_>,
    msg: &Result<Message<'_>, DissectError>,
) {
    let rel = frame.ts_ns.saturating_sub(t0);
    let _ = write!(
        out,
        "{:>6} {:>4}.{:06} ",
        frame.number,
        rel / 1_000_000_000,
        (rel % 1_000_000_000) / 1000
    );
    if let Some(t) = &packet.tunnel {
        let _ = write!(out, "[{}", t.kind);
        if let Some((src, dst)) = link::tunnel_endpoints(frame) {
            let _ = write!(out, " {src} → {dst}");
        }
        if t.depth > 1 {
            let _ = write!(out, ", {} deep", t.depth);
        }
        out.push_str("] ");
    }
    match (packet.src_mac, packet.dst_mac) {
        (Some(s), Some(d)) => {
            let _ = write!(out, "{s} → {d} ");
        }
        (Some(s), None) => {
            let _ = write!(out, "{s} ");
        }
        _ => {}
    }
    let tags = packet.vlans.tags();
    if !tags.is_empty() {
        out.push_str("vlan ");
        for (i, id) in packet.vlans.ids().enumerate() {
            if i > 0 {
                out.push('/');
            }
            let _ = write!(out, "{id}");
        }
        out.push(' ');
    }
    if let Net::Ip(ip) = &packet.net {
        match ip.transport {
            Transport::Udp {
                src_port, dst_port, ..
            } => {
                let _ = write!(out, "{}:{src_port} → {}:{dst_port} ", ip.src, ip.dst);
            }
            Transport::Tcp(seg) => {
                let _ = write!(
                    out,
                    "{}:{} → {}:{} ",
                    ip.src, seg.src_port, ip.dst, seg.dst_port
                );
            }
            _ => {
                let _ = write!(out, "{} → {} ", ip.src, ip.dst);
            }
        }
    }
    summary(msg, out);
}

fn json_line(
    out: &mut String,
    frame: &Frame<'_>,
    packet: &Packet<'_>,
    msg: &Result<Message<'_>, DissectError>,
) {
    let mut obj = Map::new();
    obj.insert("frame".into(), frame.number.into());
    obj.insert(
        "time".into(),
        Value::String(format!(
            "{}.{:09}",
            frame.ts_ns.div_euclid(1_000_000_000),
            frame.ts_ns.rem_euclid(1_000_000_000)
        )),
    );
    let proto = match msg {
        Ok(m) => m.proto(),
        Err(e) => e.proto,
    };
    obj.insert("proto".into(), proto.name().into());
    if let Some(t) = &packet.tunnel {
        let mut tunnel = Map::new();
        tunnel.insert("kind".into(), t.kind.name().into());
        if let Some((src, dst)) = link::tunnel_endpoints(frame) {
            tunnel.insert("src".into(), src.to_string().into());
            tunnel.insert("dst".into(), dst.to_string().into());
        }
        tunnel.insert("depth".into(), t.depth.into());
        obj.insert("tunnel".into(), Value::Object(tunnel));
    }
    if let Some(m) = packet.src_mac {
        obj.insert("src_mac".into(), m.to_string().into());
    }
    if let Some(m) = packet.dst_mac {
        obj.insert("dst_mac".into(), m.to_string().into());
    }
    if !packet.vlans.tags().is_empty() {
        obj.insert(
            "vlans".into(),
            packet
                .vlans
                .ids()
                .map(Value::from)
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if let Net::Ip(ip) = &packet.net {
        obj.insert("src_ip".into(), ip.src.to_string().into());
        obj.insert("dst_ip".into(), ip.dst.to_string().into());
        let ports = match ip.transport {
            Transport::Udp {
                src_port, dst_port, ..
            } => Some(("udp", src_port, dst_port)),
            Transport::Tcp(seg) => Some(("tcp", seg.src_port, seg.dst_port)),
            _ => None,
        };
        if let Some((t, s, d)) = ports {
            obj.insert("transport".into(), t.into());
            obj.insert("src_port".into(), s.into());
            obj.insert("dst_port".into(), d.into());
        }
    }
    let mut s = String::new();
    summary(msg, &mut s);
    obj.insert("summary".into(), s.into());
    match msg {
        Ok(Message::Cdp(m)) => describe::cdp::fields(m, &mut obj),
        Ok(Message::Lldp(m)) => describe::lldp::fields(m, &mut obj),
        Ok(Message::Dhcp(m)) => describe::dhcp::fields(m, &mut obj),
        Ok(Message::Tftp(m)) => describe::tftp::fields(m, &mut obj),
        Ok(Message::Sccp(m)) => describe::sccp::fields(m, &mut obj),
        Ok(Message::Sip(m)) => describe::sip::fields(m, &mut obj),
        Ok(Message::Http(m)) => describe::http::fields(m, &mut obj),
        Ok(Message::Eapol(m)) => describe::eapol::fields(m, &mut obj),
        Ok(Message::Arp(m)) => describe::arp::fields(m, &mut obj),
        Ok(Message::Dns(m)) => describe::dns::fields(m, &mut obj),
        Ok(Message::Icmp(m)) => describe::icmp::fields(m, &mut obj),
        Ok(Message::Tls(m)) => describe::tls::fields(m, &mut obj),
        Err(e) => {
            let mut err = Map::new();
            err.insert("offset".into(), e.offset.into());
            err.insert("error".into(), e.kind.to_string().into());
            obj.insert("malformed".into(), Value::Object(err));
        }
    }
    // serde_json escapes every control character, so the line stays one line.
    out.push_str(&Value::Object(obj).to_string());
}
