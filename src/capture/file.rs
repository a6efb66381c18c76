//! pcap and pcapng files (or stdin) in pure Rust: pcap-parser's block parsers over
//! a buffer that starts at 256 KiB and grows, only for an oversized record, up to
//! [`MAX_RECORD`]. Memory is bounded whatever a header claims; damage stops the
//! read with a warning after every frame before it was delivered.

use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use super::{CaptureError, CaptureStats, Frame, Linktype, Source, WarningKind};

/// The reader's starting buffer: a few hundred typical records.
const INITIAL_BUFFER: usize = 256 << 10;
/// The largest record or block bootscope buffers (pcapng allows more; no real capture of
/// these protocols comes near it).
pub const MAX_RECORD: usize = 16 << 20;
/// The Enhanced Packet Block option counting packets lost before this one.
const EPB_DROPCOUNT: u16 = 4;

/// Bytes read before pcap-parser's probe, which reads once: enough for any header.
const PROBE: usize = 64 * 1024;
/// Interfaces kept per pcapng section; a forged file could describe millions.
const MAX_INTERFACES: usize = 4096;

/// An open capture file, ready to deliver its frames once: a [`Source`] pulled a
/// frame at a time, or all of them to a callback ([`CaptureFile::for_each_frame`]).
/// The head frame's bytes stay in the reader's buffer; they are consumed when the
/// next frame is asked for.
pub struct CaptureFile {
    path: PathBuf,
    reader: Box<dyn PcapReaderIterator + Send>,
    state: ReadState,
}

/// What the read has learnt and met so far.
struct ReadState {
    stats: CaptureStats,
    interfaces: Vec<Interface>,
    /// Classic pcap: (link type, nanosecond timestamps).
    legacy: Option<(Linktype, bool)>,
    ng_big_endian: bool,
    warned_linktypes: Vec<Linktype>,
    warned_interfaces: Vec<u32>,
    capacity: usize,
    last_ts: i64,
    /// Bytes of the head's block, consumed when the next frame is asked for.
    pending: usize,
    head: Option<Head>,
    /// The end, or damage, was met: nothing more is read.
    done: bool,
}

/// The head frame: its bytes are `len` bytes at `at` in the reader's unconsumed data.
#[derive(Debug, Clone, Copy)]
struct Head {
    number: u64,
    ts_ns: i64,
    linktype: Linktype,
    at: usize,
    len: usize,
    orig_len: u32,
}

/// Every pcap and pcapng file under `dir`, its subdirectories included, sorted: the
/// bundled captures as the tests and benches go through them.
///
/// # Errors
/// A directory cannot be listed.
pub fn files_under(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if matches!(
                path.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Open `path` ("-" reads stdin) and recognise pcap or pcapng from its first bytes.
///
/// # Errors
/// The file cannot be opened or read, is empty, or is not a capture.
pub fn open(path: &Path) -> Result<CaptureFile, CaptureError> {
    let input: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).map_err(|source| CaptureError::Io {
            file: path.to_owned(),
            source,
        })?)
    };
    from_reader(path, input)
}

/// Read a capture from any byte source (a buffer, a pipe, a decompressor); `name` is
/// what warnings and errors call it. Bounded like [`open`]: nothing a header claims is
/// allocated beyond [`MAX_RECORD`].
///
/// # Errors
/// The source cannot be read, is empty, or is not a capture.
pub fn from_reader(
    name: &Path,
    input: impl Read + Send + 'static,
) -> Result<CaptureFile, CaptureError> {
    let io_err = |source| CaptureError::Io {
        file: name.to_owned(),
        source,
    };
    // Read the head ourselves (a pipe may deliver it in pieces; pcap-parser's probe
    // reads once), so the error can show the magic; pcap-parser then reads from a
    // reader that replays those bytes first.
    let mut input = input;
    let mut head = vec![0u8; PROBE];
    let got = read_full(&mut input, &mut head).map_err(io_err)?;
    head.truncate(got);
    let magic: String = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head).chain(input));
    let reader = match pcap_parser::create_reader(INITIAL_BUFFER, chained) {
        Ok(r) => r,
        Err(PcapError::Eof) => {
            return Err(CaptureError::Empty {
                file: name.to_owned(),
            })
        }
        Err(PcapError::ReadError) => {
            return Err(io_err(io::Error::other("read failed")));
        }
        Err(_) => {
            return Err(CaptureError::NotACapture {
                file: name.to_owned(),
                magic,
            })
        }
    };
    Ok(CaptureFile {
        path: name.to_owned(),
        reader,
        state: ReadState {
            stats: CaptureStats::default(),
            interfaces: Vec::new(),
            legacy: None,
            ng_big_endian: false,
            warned_linktypes: Vec::new(),
            warned_interfaces: Vec::new(),
            capacity: INITIAL_BUFFER,
            last_ts: 0,
            pending: 0,
            head: None,
            done: false,
        },
    })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A pcapng interface: what its packets need to become frames.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: Linktype,
    /// Timestamp units per second (`if_tsresol`).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
    /// Packets the interface and the OS dropped, as its last statistics block said
    /// (`isb_ifdrop` + `isb_osdrop`: counters since the capture began).
    dropped: u64,
}

impl CaptureFile {
    /// The file's path as given ("-" for stdin).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deliver every frame, in file order, to `on_frame` (which may stop early with
    /// `ControlFlow::Break`). Damage ends the read with a warning in the stats; it is
    /// never an error, because every frame before it has been delivered.
    ///
    /// # Errors
    /// Only an I/O error while reading.
    pub fn for_each_frame<F>(mut self, mut on_frame: F) -> Result<CaptureStats, CaptureError>
    where
        F: FnMut(&Frame<'_>) -> ControlFlow<()>,
    {
        while let Some(frame) = self.next_frame()? {
            if on_frame(&frame).is_break() {
                break;
            }
        }
        Ok(self.into_stats())
    }
}

impl Source for CaptureFile {
    fn advance(&mut self) -> Result<bool, CaptureError> {
        let CaptureFile {
            path,
            reader,
            state: st,
        } = self;
        reader.consume(std::mem::take(&mut st.pending));
        st.head = None;
        if st.done {
            return Ok(false);
        }
        let read_failed = |path: &Path| CaptureError::Io {
            file: path.to_owned(),
            source: io::Error::other("read failed"),
        };
        let warn = |stats: &mut CaptureStats, offset: usize, kind: WarningKind| {
            stats.warn(path, offset as u64, kind);
        };

        loop {
            let consumed = reader.consumed();
            let next = reader.next();
            let (len, block) = match next {
                Ok(ok) => ok,
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => {
                    reader.refill().map_err(|_| read_failed(path))?;
                    continue;
                }
                Err(PcapError::UnexpectedEof) => {
                    // pcap-parser says "more bytes needed" both when the file was cut
                    // and when a pcapng block's content lies about its own length; the
                    // block length tells them apart (the rest of the file is buffered).
                    let rest = reader.data();
                    let kind = match ng_block_len(rest, st.ng_big_endian) {
                        Some(len) if st.legacy.is_none() && len <= rest.len() => {
                            WarningKind::Corrupt(format!(
                                "a {len}-byte block whose content does not fit its length"
                            ))
                        }
                        _ => WarningKind::TruncatedRecord,
                    };
                    warn(&mut st.stats, consumed, kind);
                    break;
                }
                Err(PcapError::BufferTooSmall) => {
                    if st.capacity < MAX_RECORD {
                        st.capacity = (st.capacity * 2).min(MAX_RECORD);
                        reader.grow(st.capacity);
                        reader.refill().map_err(|_| read_failed(path))?;
                        continue;
                    }
                    let kind = WarningKind::RecordTooLarge { limit: MAX_RECORD };
                    warn(&mut st.stats, consumed, kind);
                    break;
                }
                Err(PcapError::ReadError) => return Err(read_failed(path)),
                Err(e) => {
                    let what = match e {
                        PcapError::HeaderNotRecognized => "unrecognised block header".to_owned(),
                        PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
                            format!("bad block ({k:?})")
                        }
                        _ => "bad block".to_owned(),
                    };
                    warn(&mut st.stats, consumed, WarningKind::Corrupt(what));
                    break;
                }
            };

            // Each arm works out the frame, if the block is a packet; bookkeeping blocks
            // update the interface table.
            let frame = match block {
                PcapBlockOwned::LegacyHeader(h) => {
                    // The upper bits of the field carry FCS flags (pcap spec, LINKTYPE_ field).
                    let lt = Linktype(h.network.0 as u32 & 0xffff);
                    check_linktype(lt, &mut st.warned_linktypes, &mut st.stats, &warn, consumed);
                    st.legacy = Some((lt, h.is_nanosecond_precision()));
                    st.stats.declare_snaplen(h.snaplen);
                    None
                }
                PcapBlockOwned::Legacy(b) => {
                    let (linktype, nanos) = st.legacy.unwrap_or((Linktype::ETHERNET, false));
                    let frac = i64::from(b.ts_usec) * if nanos { 1 } else { 1000 };
                    let ts_ns = i64::from(b.ts_sec) * 1_000_000_000 + frac;
                    Some((linktype, ts_ns, b.data, b.origlen))
                }
                PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                    // Interface ids are per section.
                    st.interfaces.clear();
                    st.ng_big_endian = shb.big_endian();
                    None
                }
                PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                    if st.interfaces.len() >= MAX_INTERFACES {
                        if !st.warned_interfaces.contains(&u32::MAX) {
                            st.warned_interfaces.push(u32::MAX);
                            let kind = WarningKind::TooManyInterfaces(MAX_INTERFACES);
                            warn(&mut st.stats, consumed, kind);
                        }
                    } else {
                        let lt = Linktype(idb.linktype.0 as u32);
                        let warned = &mut st.warned_linktypes;
                        check_linktype(lt, warned, &mut st.stats, &warn, consumed);
                        st.stats.declare_snaplen(idb.snaplen);
                        st.interfaces.push(Interface {
                            linktype: lt,
                            units_per_sec: units_per_sec(idb.if_tsresol),
                            offset_secs: idb.ts_offset(),
                            dropped: 0,
                        });
                    }
                    None
                }
                PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                    match st.interfaces.get(epb.if_id as usize) {
                        Some(ifc) => {
                            // `epb_dropcount`: packets lost between this one and the last.
                            let lost = epb
                                .options
                                .iter()
                                .find(|o| o.code.0 == EPB_DROPCOUNT)
                                .and_then(|o| o.as_u64_le().ok());
                            if let Some(n) = lost {
                                st.stats.dropped =
                                    Some(st.stats.dropped.unwrap_or(0).saturating_add(n));
                            }
                            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let ts_ns = units_to_ns(units, ifc.units_per_sec, ifc.offset_secs);
                            // The block pads data to 32 bits: keep the captured length only.
                            let data = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
                            Some((ifc.linktype, ts_ns, data, epb.origlen))
                        }
                        None => {
                            // Counted as a frame (tshark numbers it too) but not delivered.
                            st.stats.frames += 1;
                            if !st.warned_interfaces.contains(&epb.if_id) {
                                st.warned_interfaces.push(epb.if_id);
                                let kind = WarningKind::UnknownInterface(epb.if_id);
                                warn(&mut st.stats, consumed, kind);
                            }
                            None
                        }
                    }
                }
                PcapBlockOwned::NG(Block::SimplePacket(spb)) => match st.interfaces.first() {
                    // A simple packet has no timestamp: it keeps the previous one.
                    Some(ifc) => {
                        let data = spb.data.get(..spb.origlen as usize).unwrap_or(spb.data);
                        Some((ifc.linktype, st.last_ts, data, spb.origlen))
                    }
                    None => {
                        st.stats.frames += 1;
                        if !st.warned_interfaces.contains(&0) {
                            st.warned_interfaces.push(0);
                            warn(&mut st.stats, consumed, WarningKind::UnknownInterface(0));
                        }
                        None
                    }
                },
                PcapBlockOwned::NG(Block::InterfaceStatistics(isb)) => {
                    let count = |c: Option<Result<u64, _>>| c.and_then(Result::ok).unwrap_or(0);
                    let now = count(isb.isb_ifdrop()).saturating_add(count(isb.isb_osdrop()));
                    if let Some(ifc) = st.interfaces.get_mut(isb.if_id as usize) {
                        // Counters grow: only what is new since the last block counts.
                        let more = now.saturating_sub(ifc.dropped);
                        ifc.dropped = ifc.dropped.max(now);
                        st.stats.dropped = Some(st.stats.dropped.unwrap_or(0).saturating_add(more));
                    }
                    None
                }
                // Name resolution, secrets, custom and unknown blocks.
                PcapBlockOwned::NG(_) => None,
            };
            // Where the packet's bytes lie, kept as a place in the buffer: the block
            // borrows the reader, which must stay free until the next frame is asked for.
            let frame = frame.map(|(linktype, ts_ns, data, orig_len)| {
                (linktype, ts_ns, data.as_ptr().addr(), data.len(), orig_len)
            });

            if let Some((linktype, ts_ns, addr, data_len, orig_len)) = frame {
                // The block starts the reader's unconsumed data, and its packet lies within.
                let at = addr.wrapping_sub(reader.data().as_ptr().addr());
                let ts_ns = ts_ns.clamp(0, super::MAX_TS_NS);
                st.stats.frames += 1;
                st.stats.bytes += data_len as u64;
                st.last_ts = ts_ns;
                st.head = Some(Head {
                    number: st.stats.frames,
                    ts_ns,
                    linktype,
                    at,
                    len: data_len,
                    orig_len,
                });
                st.pending = len;
                return Ok(true);
            }
            reader.consume(len);
        }
        st.done = true;
        Ok(false)
    }

    fn head(&self) -> Option<Frame<'_>> {
        let h = self.state.head?;
        let data = self.reader.data();
        Some(Frame {
            number: h.number,
            ts_ns: h.ts_ns,
            linktype: h.linktype,
            data: data
                .get(h.at..h.at.saturating_add(h.len))
                .unwrap_or_default(),
            orig_len: h.orig_len,
        })
    }

    fn head_key(&self) -> Option<(i64, u64)> {
        self.state.head.map(|h| (h.ts_ns, h.number))
    }

    fn position(&self) -> u64 {
        self.reader.consumed() as u64
    }

    fn into_stats(self) -> CaptureStats {
        self.state.stats
    }
}

/// The total length a pcapng block header at the start of `data` declares.
fn ng_block_len(data: &[u8], big_endian: bool) -> Option<usize> {
    let bytes: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    let len = if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    };
    usize::try_from(len).ok()
}

fn check_linktype(
    lt: Linktype,
    warned: &mut Vec<Linktype>,
    stats: &mut CaptureStats,
    warn: &impl Fn(&mut CaptureStats, usize, WarningKind),
    offset: usize,
) {
    if lt.name().is_none() && !warned.contains(&lt) {
        warned.push(lt);
        warn(stats, offset, WarningKind::UnsupportedLinktype(lt));
    }
}

/// `if_tsresol`: bit 7 clear, a negative power of 10; set, a negative power of 2
/// (pcapng §4.2). Decoded here: pcap-parser 0.17 rejects every power-of-2 value.
/// An unrepresentable resolution falls back to the default, microseconds.
fn units_per_sec(tsresol: u8) -> u64 {
    let exp = u32::from(tsresol & 0x7f);
    let units = if tsresol & 0x80 == 0 {
        10u64.checked_pow(exp)
    } else {
        1u64.checked_shl(exp)
    };
    units.unwrap_or(1_000_000)
}

/// Timestamp units since the epoch to nanoseconds, without overflow for any input.
fn units_to_ns(units: u64, units_per_sec: u64, offset_secs: i64) -> i64 {
    let per_sec = u128::from(units_per_sec.max(1));
    let units = u128::from(units);
    let secs = units / per_sec;
    let frac_ns = (units % per_sec) * 1_000_000_000 / per_sec;
    let ns = secs.saturating_mul(1_000_000_000).saturating_add(frac_ns);
    let ns = i64::try_from(ns).unwrap_or(i64::MAX);
    ns.saturating_add(offset_secs.saturating_mul(1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_powers_of_ten_and_two() {
        assert_eq!(units_per_sec(6), 1_000_000);
        assert_eq!(units_per_sec(9), 1_000_000_000);
        assert_eq!(units_per_sec(0x80 | 10), 1024);
        assert_eq!(units_per_sec(0x80 | 63), 1 << 63);
        assert_eq!(units_per_sec(0x80 | 64), 1_000_000);
        assert_eq!(units_per_sec(20), 1_000_000);
    }

    #[test]
    fn timestamp_units_convert_exactly() {
        assert_eq!(units_to_ns(1_500_000, 1_000_000, 0), 1_500_000_000);
        assert_eq!(units_to_ns(3, 1_000_000_000, 2), 2_000_000_003);
        assert_eq!(units_to_ns(u64::MAX, 1, 0), i64::MAX);
    }
}
