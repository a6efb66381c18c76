//! One phone's boot cut out of a capture (`analyze --phone SEP… -w FILE`), and the
//! Wireshark display filter that selects the same frames.
//!
//! The selection is made from the phone's report alone, so the analysis pays nothing
//! for it: a second read of the capture copies the frames it selects, byte for byte,
//! in capture order, with their times, into a classic pcap (nanosecond stamps, the
//! capture's link type). A frame is the phone's when
//!
//! - its Ethernet source or destination is the phone's MAC (`eth.addr`: its own frames,
//!   802.1X, the CDP / LLDP it sends, answers sent to it);
//! - an IP header, or the one an ICMP error quotes, has the phone's address (`ip.addr`,
//!   `ipv6.addr`: its servers' answers, behind a router too, and errors quoting them);
//! - it is DHCP for the phone's hardware address (`dhcp.hw.mac_addr`: broadcast
//!   offers and acks, relayed ones);
//! - or it is a frame of the phone's timeline or findings, named by number
//!   (`frame.number`): most carry the phone's MAC or address, not all — the switch's
//!   CDP / LLDP answer to its announcement (to a multicast address, paired by time,
//!   which no packet field expresses), the switch port's 802.1X to the group address,
//!   a call manager's SIP naming the phone to another party.
//!
//! The capture's last frame is always kept: a wait is judged up to the end of the
//! capture, so the export ends when the capture did and the phone's verdict stays the
//! same. (Not its first: another phone's announcement there would wait for the
//! switch's answer, and take the phone's.)

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;

use crate::capture::merge::{self, Merge, Opened};
use crate::capture::{written, CaptureError, Frame, Linktype, Source};
use crate::link::{self, MacAddr, Net, Transport};
use crate::report::{PhoneReport, Report};

/// Which frames of a capture are one phone's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The phone's MAC.
    pub mac: MacAddr,
    /// Its addresses.
    pub ips: Vec<IpAddr>,
    /// Frames taken by number: those of its timeline and findings, and the capture's
    /// last.
    pub frames: BTreeSet<u64>,
}

/// Why a phone cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The device is keyed by name (no MAC seen).
    #[error("the device has no MAC address: nothing to select its frames by")]
    NoMac,
    /// The capture came on stdin, which cannot be read a second time.
    #[error("the capture is read a second time to export: it cannot come on stdin (`-`)")]
    Stdin,
    /// The capture could not be read again.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The capture mixes link types, which one pcap file cannot hold.
    #[error("frame {frame} has link type {linktype}, the first frame {first}: one pcap file holds one link type")]
    MixedLinktypes {
        /// The frame.
        frame: u64,
        /// Its link type.
        linktype: Linktype,
        /// The first frame's.
        first: Linktype,
    },
    /// Writing failed.
    #[error("writing: {0}")]
    Io(#[from] io::Error),
}

impl Selection {
    /// The selection for `phone` in `report`.
    ///
    /// # Errors
    /// The device has no MAC.
    pub fn of(report: &Report, phone: &PhoneReport) -> Result<Self, ExportError> {
        let mac = phone
            .mac
            .as_deref()
            .and_then(parse_mac)
            .ok_or(ExportError::NoMac)?;
        let ips = phone
            .ip
            .as_deref()
            .and_then(|s| s.parse::<IpAddr>().ok())
            .into_iter()
            .collect();
        // Every frame of its timeline and findings: the field clauses catch most of
        // them, not all (a call manager's SIP naming the phone to another party; a
        // capture without the phone's MAC or address on a frame).
        let mut frames: BTreeSet<u64> = phone
            .timeline
            .iter()
            .map(|e| e.frame)
            .chain(
                phone
                    .findings
                    .iter()
                    .flat_map(|f| f.evidence.iter().copied()),
            )
            .collect();
        if report.capture.frames > 0 {
            frames.insert(report.capture.frames);
        }
        Ok(Selection { mac, ips, frames })
    }

    /// Whether `frame` is the phone's.
    pub fn selects(&self, frame: &Frame<'_>) -> bool {
        if self.frames.contains(&frame.number) {
            return true;
        }
        if frame.linktype == Linktype::ETHERNET {
            let addr = |r: std::ops::Range<usize>| frame.data.get(r).and_then(MacAddr::from_slice);
            if addr(0..6) == Some(self.mac) || addr(6..12) == Some(self.mac) {
                return true;
            }
        }
        let Ok(packet) = link::decode(frame) else {
            return false;
        };
        if packet.tunnel.is_some()
            && (packet.src_mac == Some(self.mac) || packet.dst_mac == Some(self.mac))
        {
            return true;
        }
        let Net::Ip(ip) = packet.net else {
            return false;
        };
        if self.ips.contains(&ip.src) || self.ips.contains(&ip.dst) {
            return true;
        }
        match ip.transport {
            Transport::Udp {
                src_port,
                dst_port,
                payload,
            } if [src_port, dst_port].iter().any(|p| matches!(p, 67 | 68)) => {
                dhcp_chaddr(payload) == Some(self.mac)
            }
            Transport::Other { protocol, payload } => quoted_addresses(protocol, payload)
                .is_some_and(|(s, d)| self.ips.contains(&s) || self.ips.contains(&d)),
            _ => false,
        }
    }

    /// The Wireshark display filter that selects the same frames.
    pub fn display_filter(&self) -> String {
        let mut f = format!("eth.addr == {}", self.mac);
        for ip in &self.ips {
            let field = if ip.is_ipv4() { "ip.addr" } else { "ipv6.addr" };
            let _ = write!(f, " || {field} == {ip}");
        }
        let _ = write!(f, " || dhcp.hw.mac_addr == {}", self.mac);
        if !self.frames.is_empty() {
            let _ = write!(f, " || frame.number in {{{}}}", ranges(&self.frames));
        }
        f
    }
}

/// The lines the phone report ends with: the display filter for Wireshark.
pub fn filter_section(report: &Report, phone: &PhoneReport) -> String {
    match Selection::of(report, phone) {
        Ok(s) => format!(
            "\nWireshark display filter (the frames `-w` exports)\n  {}\n",
            s.display_filter()
        ),
        Err(_) => String::new(),
    }
}

/// Copy the frames of the capture `paths` (merged as the analysis merged them) that
/// `sel` selects into a pcap written to `out`; the number of frames written.
///
/// # Errors
/// The capture came on stdin, cannot be read, mixes link types, or writing fails.
pub fn write(
    paths: &[impl AsRef<Path>],
    sel: &Selection,
    out: impl Write,
) -> Result<u64, ExportError> {
    if paths.iter().any(|p| p.as_ref().as_os_str() == "-") {
        return Err(ExportError::Stdin);
    }
    let opened = Opened::open(paths)?;
    let mut merge = Merge::new(merge::inputs(&opened.maps, opened.streams))?;
    let mut writer: Option<PcapOut<_>> = None;
    let mut out = Some(out);
    let mut written = 0;
    while let Some(frame) = merge.next_frame()? {
        if !sel.selects(&frame) {
            continue;
        }
        let w = match &mut writer {
            Some(w) => w,
            None => writer.insert(PcapOut::new(
                out.take().ok_or_else(|| io::Error::other("writer gone"))?,
                frame.linktype,
            )?),
        };
        if frame.linktype != w.linktype {
            return Err(ExportError::MixedLinktypes {
                frame: frame.number,
                linktype: frame.linktype,
                first: w.linktype,
            });
        }
        w.record(&frame)?;
        written += 1;
    }
    match (writer, out) {
        (Some(w), _) => w.finish()?,
        // Nothing selected: a valid empty capture.
        (None, Some(o)) => PcapOut::new(o, Linktype::ETHERNET)?.finish()?,
        (None, None) => {}
    }
    Ok(written)
}

/// Export `phone` of `report` (read from `paths`) to the pcap file `path`.
///
/// # Errors
/// As [`write`], or the file cannot be created.
pub fn write_file(
    paths: &[impl AsRef<Path>],
    report: &Report,
    phone: &PhoneReport,
    path: &Path,
) -> Result<u64, ExportError> {
    let sel = Selection::of(report, phone)?;
    if paths.iter().any(|p| p.as_ref().as_os_str() == "-") {
        return Err(ExportError::Stdin);
    }
    let file = std::fs::File::create(path)?;
    write(paths, &sel, io::BufWriter::with_capacity(1 << 16, file))
}

/// A classic pcap with nanosecond times (magic `a1b23c4d`), one link type.
struct PcapOut<W: Write> {
    out: W,
    linktype: Linktype,
}

impl<W: Write> PcapOut<W> {
    fn new(mut out: W, linktype: Linktype) -> io::Result<Self> {
        out.write_all(&written::file_header(262_144, linktype))?;
        Ok(PcapOut { out, linktype })
    }

    fn record(&mut self, f: &Frame<'_>) -> io::Result<()> {
        let h = written::record_header(f.ts_ns, f.data.len(), f.orig_len);
        self.out.write_all(&h)?;
        self.out.write_all(f.data)
    }

    fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Frame numbers as a display filter set, runs as ranges: `1..3, 7, 10..11`.
fn ranges(numbers: &BTreeSet<u64>) -> String {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &n in numbers {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    let text: Vec<String> = runs
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..{b}")
            }
        })
        .collect();
    text.join(", ")
}

/// `00:1b:54:bb:00:05` (as the report writes MACs).
fn parse_mac(s: &str) -> Option<MacAddr> {
    let hex = crate::report::normalise_mac(s)?;
    let mut mac = [0u8; 6];
    for (b, i) in mac.iter_mut().zip((0..12).step_by(2)) {
        *b = u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?;
    }
    Some(MacAddr(mac))
}

/// The client hardware address of a BOOTP/DHCP message, when it is an Ethernet one
/// (htype 1, hlen 6: when Wireshark shows `dhcp.hw.mac_addr`).
fn dhcp_chaddr(payload: &[u8]) -> Option<MacAddr> {
    match payload.get(..34)? {
        [_, 1, 6, ..] => MacAddr::from_slice(payload.get(28..34)?),
        _ => None,
    }
}

/// The addresses of the IP header an ICMP (1) or ICMPv6 (58) error quotes: what
/// Wireshark dissects as a second `ip` / `ipv6` layer (ICMP 3, 4, 5, 11, 12; ICMPv6 1-4).
fn quoted_addresses(protocol: u8, icmp: &[u8]) -> Option<(IpAddr, IpAddr)> {
    let quoted = icmp.get(8..)?;
    let errors: &[u8] = match protocol {
        1 => &[3, 4, 5, 11, 12],
        58 => &[1, 2, 3, 4],
        _ => return None,
    };
    if !errors.contains(icmp.first()?) {
        return None;
    }
    let addr4 = |r: std::ops::Range<usize>| -> Option<IpAddr> {
        let b: [u8; 4] = quoted.get(r)?.try_into().ok()?;
        Some(IpAddr::from(b))
    };
    let addr6 = |r: std::ops::Range<usize>| -> Option<IpAddr> {
        let b: [u8; 16] = quoted.get(r)?.try_into().ok()?;
        Some(IpAddr::from(b))
    };
    match quoted.first()? >> 4 {
        4 => Some((addr4(12..16)?, addr4(16..20)?)),
        6 => Some((addr6(8..24)?, addr6(24..40)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_icmp_error_gives_the_addresses_it_quotes_and_other_icmp_none() {
        let mut icmp = vec![
            3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0,
        ];
        icmp.extend_from_slice(&[10, 1, 1, 5, 10, 1, 0, 10]);
        let (s, d) = quoted_addresses(1, &icmp).unwrap();
        assert_eq!(s.to_string(), "10.1.1.5");
        assert_eq!(d.to_string(), "10.1.0.10");
        icmp[0] = 8; // an echo request quotes nothing
        assert_eq!(quoted_addresses(1, &icmp), None);
        assert_eq!(quoted_addresses(1, &icmp[..12]), None);
    }

    #[test]
    fn dhcp_chaddr_is_read_only_for_ethernet_addresses() {
        let mut bootp = vec![0u8; 240];
        bootp[..3].copy_from_slice(&[2, 1, 6]);
        bootp[28..34].copy_from_slice(&[0, 0x1b, 0x54, 0xbb, 0, 5]);
        assert_eq!(
            dhcp_chaddr(&bootp),
            Some(MacAddr([0, 0x1b, 0x54, 0xbb, 0, 5]))
        );
        bootp[2] = 16;
        assert_eq!(dhcp_chaddr(&bootp), None);
        assert_eq!(dhcp_chaddr(&bootp[..30]), None);
    }

    #[test]
    fn frame_numbers_are_written_as_runs() {
        let set: BTreeSet<u64> = [1, 2, 3, 7, 10, 11].into_iter().collect();
        assert_eq!(ranges(&set), "1..3, 7, 10..11");
        assert_eq!(ranges(&BTreeSet::from([5])), "5");
    }

    #[test]
    fn a_mac_in_report_notation_is_read_back() {
        assert_eq!(
            parse_mac("00:1b:54:bb:00:05"),
            Some(MacAddr([0, 0x1b, 0x54, 0xbb, 0, 5]))
        );
        assert_eq!(parse_mac("00:1b:54"), None);
    }
}
