//! Live interfaces through libpcap (the pcap crate): the only code that links it,
//! built with `--features live`. A [`LiveSource`] captures promiscuously with a
//! kernel filter and hands each packet on as a [`Frame`] borrowed from libpcap's
//! ring, and writes the `-w` file in whole records; an [`Injector`] sends frames (the
//! replayer's half).

use std::path::{Path, PathBuf};

use pcap::{Active, Capture, Precision};

use super::{Frame, Linktype};

/// A failure of live capture, in words an engineer can act on.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The interface does not exist.
    #[error("no interface '{name}' (interfaces here: {})", list_or_none(.available))]
    NoSuchInterface {
        /// The name asked for.
        name: String,
        /// The interfaces libpcap can open.
        available: Vec<String>,
    },
    /// The process may not capture.
    #[error(
        "no permission to capture on '{name}' ({detail}): run as root, or give the binary \
         the capabilities with `sudo setcap cap_net_raw,cap_net_admin=eip <path to bootscope>`"
    )]
    Permission {
        /// The interface.
        name: String,
        /// libpcap's words.
        detail: String,
    },
    /// The capture filter does not compile.
    #[error("the capture filter does not compile ({detail}): {filter}")]
    Filter {
        /// The filter.
        filter: String,
        /// libpcap's words.
        detail: String,
    },
    /// The interface could not be opened for another reason.
    #[error("cannot capture on '{name}': {detail}")]
    Open {
        /// The interface.
        name: String,
        /// libpcap's words.
        detail: String,
    },
    /// The `-w` file could not be created or written (a full disk).
    #[error("cannot write the capture to {}: {detail}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The system's words, and what the file holds.
        detail: String,
    },
    /// Capture stopped: the interface went down or vanished.
    #[error(
        "capture on '{name}' ended after frame {frames} ({detail}); bootscope cannot reopen \
         it without the privileges it gave up: start it again"
    )]
    Lost {
        /// The interface.
        name: String,
        /// Frames captured before.
        frames: u64,
        /// libpcap's words.
        detail: String,
    },
    /// An output of the session (`--metrics`, `--events`) could not be opened.
    #[error("cannot {what}: {detail}")]
    Output {
        /// What it was for.
        what: String,
        /// The system's words.
        detail: String,
    },
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none that libpcap can open".to_owned()
    } else {
        v.join(", ")
    }
}

/// How to open an interface.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The interface.
    pub interface: String,
    /// The BPF filter (`""`: everything).
    pub filter: String,
    /// Bytes kept per packet.
    pub snaplen: u32,
    /// The kernel's capture buffer, in bytes.
    pub buffer_bytes: u32,
    /// How long libpcap may hold packets before delivering them, in milliseconds:
    /// on Linux, the time a block of the kernel's ring may wait for more packets.
    pub read_timeout_ms: u32,
    /// Also write every captured packet to this pcap file.
    pub write: Option<PathBuf>,
}

/// libpcap's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveCounters {
    /// Packets that passed the filter.
    pub received: u64,
    /// Dropped by the kernel: no room in the buffer.
    pub dropped_by_kernel: u64,
    /// Dropped by the interface or its driver.
    pub dropped_by_interface: u64,
}

/// An open interface, delivering frames.
pub struct LiveSource {
    interface: String,
    cap: Capture<Active>,
    linktype: Linktype,
    savefile: Option<WholeRecords>,
    frames: u64,
    bytes: u64,
}

/// The interfaces libpcap can open, by name.
pub fn interfaces() -> Vec<String> {
    pcap::Device::list()
        .map(|l| l.into_iter().map(|d| d.name).collect())
        .unwrap_or_default()
}

/// libpcap lists what it can open; a name missing from a non-empty list is a typo
/// (an empty list may mean no permission to look: the open will tell).
fn require_interface(name: &str) -> Result<(), LiveError> {
    let available = interfaces();
    if available.is_empty() || available.iter().any(|a| a == name) {
        return Ok(());
    }
    Err(LiveError::NoSuchInterface {
        name: name.to_owned(),
        available,
    })
}

/// Classify libpcap's words about an interface it could not open.
fn open_error(name: &str, e: &pcap::Error) -> LiveError {
    let detail = e.to_string();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        LiveError::Permission {
            name: name.to_owned(),
            detail,
        }
    } else if lower.contains("no such device") {
        LiveError::NoSuchInterface {
            name: name.to_owned(),
            available: interfaces(),
        }
    } else {
        LiveError::Open {
            name: name.to_owned(),
            detail,
        }
    }
}

impl LiveSource {
    /// Open the interface: promiscuous, nanosecond time stamps, the filter compiled
    /// into the kernel. Not libpcap's immediate mode: on Linux that gives each packet a
    /// ring slot of the snap length's size (a 32 MiB buffer holds 512 packets then, a
    /// few milliseconds of a busy port), where the default packs packets into blocks
    /// handed over when full or after the read timeout: measured on a veth fed a fleet
    /// flat out (`benches/busy-port.sh`), no drop at a million frames a second, where
    /// immediate mode dropped some at a hundred thousand.
    ///
    /// # Errors
    /// No such interface (the existing ones are listed), no permission (the
    /// capabilities are named), a filter that does not compile, an unwritable `-w`.
    pub fn open(cfg: &LiveConfig) -> Result<Self, LiveError> {
        let name = cfg.interface.as_str();
        require_interface(name)?;
        let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        let cap = Capture::from_device(name)
            .map_err(|e| open_error(name, &e))?
            .promisc(true)
            .snaplen(clamp(cfg.snaplen))
            .buffer_size(clamp(cfg.buffer_bytes))
            .timeout(clamp(cfg.read_timeout_ms.max(1)))
            .precision(Precision::Nano)
            .open()
            .and_then(Capture::setnonblock)
            .map_err(|e| open_error(name, &e))?;
        let mut cap = cap;
        if !cfg.filter.is_empty() {
            cap.filter(&cfg.filter, true)
                .map_err(|e| LiveError::Filter {
                    filter: cfg.filter.clone(),
                    detail: e.to_string(),
                })?;
        }
        let linktype = Linktype(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));
        let savefile =
            match &cfg.write {
                Some(path) => Some(WholeRecords::create(path, cfg.snaplen, linktype).map_err(
                    |e| LiveError::Write {
                        path: path.clone(),
                        detail: e.to_string(),
                    },
                )?),
                None => None,
            };
        Ok(LiveSource {
            interface: name.to_owned(),
            cap,
            linktype,
            savefile,
            frames: 0,
            bytes: 0,
        })
    }

    /// The interface's link type.
    pub fn linktype(&self) -> Linktype {
        self.linktype
    }

    /// Whether the interface is up with a link (`None`: it is gone). libpcap on Linux
    /// does not report an interface taken down while it waits, so the session asks.
    pub fn link_up(&self) -> Option<bool> {
        let dev = pcap::Device::list()
            .ok()?
            .into_iter()
            .find(|d| d.name == self.interface)?;
        let f = dev.flags;
        Some(
            f.if_flags
                .contains(pcap::IfFlags::UP | pcap::IfFlags::RUNNING)
                && f.connection_status != pcap::ConnectionStatus::Disconnected,
        )
    }

    /// Wait until a packet is ready to read, at most `timeout`. (The capture is
    /// non-blocking and waited on with poll(2), which wakes when the kernel hands over a
    /// block of packets: waking a blocked read with pcap_breakloop can lose the packet
    /// being read.)
    pub fn wait(&self, timeout: std::time::Duration) {
        use std::os::unix::io::AsRawFd as _;
        let mut fds = libc::pollfd {
            fd: self.cap.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, for the duration of the call. An error (EINTR from
        // a signal) just ends the wait early; the caller reads and looks at its flags.
        unsafe {
            libc::poll(&mut fds, 1, ms);
        }
    }

    /// Frames and bytes delivered so far.
    pub fn delivered(&self) -> (u64, u64) {
        (self.frames, self.bytes)
    }

    /// Hand the next packet, if one is ready, to `on_frame`. `Ok(false)`: none is
    /// ready (see [`Self::wait`]).
    ///
    /// # Errors
    /// The capture failed: the interface went down or vanished.
    pub fn next(&mut self, on_frame: impl FnOnce(&Frame<'_>)) -> Result<bool, LiveError> {
        match self.cap.next_packet() {
            Ok(p) => {
                self.frames += 1;
                self.bytes += p.data.len() as u64;
                // Nanosecond precision was asked for: tv_usec carries nanoseconds.
                // (time_t and suseconds_t are narrower than i64 on some platforms.)
                #[allow(clippy::useless_conversion)]
                let ts_ns = i64::from(p.header.ts.tv_sec)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(p.header.ts.tv_usec));
                if let Some(sf) = &mut self.savefile {
                    sf.record(ts_ns, p.data, p.header.len);
                }
                on_frame(&Frame {
                    number: self.frames,
                    ts_ns,
                    linktype: self.linktype,
                    data: p.data,
                    orig_len: p.header.len,
                });
                Ok(true)
            }
            Err(pcap::Error::TimeoutExpired) => Ok(false),
            Err(e) => Err(LiveError::Lost {
                name: self.interface.clone(),
                frames: self.frames,
                detail: e.to_string(),
            }),
        }
    }

    /// libpcap's counters (kernel drops included).
    pub fn counters(&mut self) -> LiveCounters {
        self.cap
            .stats()
            .map(|s| LiveCounters {
                received: u64::from(s.received),
                dropped_by_kernel: u64::from(s.dropped),
                dropped_by_interface: u64::from(s.if_dropped),
            })
            .unwrap_or_default()
    }

    /// Flush the `-w` file. Once a write has failed nothing more is written, and this
    /// says so each time (the file holds the whole records written before).
    ///
    /// # Errors
    /// The file could not be written (a full disk).
    pub fn flush(&mut self, path: &Path) -> Result<(), LiveError> {
        match &mut self.savefile {
            Some(sf) => sf.flush().map_err(|e| LiveError::Write {
                path: path.to_owned(),
                detail: format!(
                    "{e}; it holds the {} whole frame(s) written before, and no more is \
                     written to it",
                    sf.records
                ),
            }),
            None => Ok(()),
        }
    }
}

/// The `-w` file: a classic pcap with nanosecond times (as libpcap writes it), written
/// in whole records. libpcap's own dump writes through stdio and says nothing when a
/// write fails, so a full disk would leave a record cut anywhere; here a failed write
/// is seen, the file is cut back to its last whole record, and nothing more is written.
struct WholeRecords {
    file: std::fs::File,
    /// Records not yet written.
    pending: Vec<u8>,
    /// Where each pending record ends in `pending`.
    ends: Vec<usize>,
    /// Bytes in the file, all whole records.
    on_disk: u64,
    /// Records in the file.
    records: u64,
    /// The write that failed; nothing is written after it.
    failed: Option<std::io::ErrorKind>,
    failed_text: String,
}

/// Pending bytes past which records are written before the next flush.
const PENDING_BYTES: usize = 1 << 16;

impl WholeRecords {
    fn create(path: &Path, snaplen: u32, linktype: Linktype) -> std::io::Result<Self> {
        let file = std::fs::File::create(path)?;
        let mut w = WholeRecords {
            file,
            pending: Vec::with_capacity(PENDING_BYTES + 2048),
            ends: Vec::new(),
            on_disk: 0,
            records: 0,
            failed: None,
            failed_text: String::new(),
        };
        w.pending
            .extend_from_slice(&super::written::file_header(snaplen, linktype));
        // The header must be there even if nothing is captured.
        w.ends.push(w.pending.len());
        w.flush()?;
        w.records = 0;
        Ok(w)
    }

    fn record(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) {
        if self.failed.is_some() {
            return;
        }
        let h = super::written::record_header(ts_ns, data.len(), orig_len);
        self.pending.extend_from_slice(&h);
        self.pending.extend_from_slice(data);
        self.ends.push(self.pending.len());
        if self.pending.len() >= PENDING_BYTES {
            // Seen (and reported) at the next flush.
            let _ = self.flush();
        }
    }

    /// Write what is pending; on a failure cut the file back to its last whole record.
    fn flush(&mut self) -> std::io::Result<()> {
        use std::io::Write as _;
        if let Some(kind) = self.failed {
            return Err(std::io::Error::new(kind, self.failed_text.clone()));
        }
        let mut done = 0;
        let result = loop {
            if done == self.pending.len() {
                break Ok(());
            }
            let Some(rest) = self.pending.get(done..) else {
                break Ok(());
            };
            match self.file.write(rest) {
                Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let whole = self.ends.iter().take_while(|&&end| end <= done).count();
        let kept = whole
            .checked_sub(1)
            .and_then(|i| self.ends.get(i))
            .copied()
            .unwrap_or(0);
        self.records += whole as u64;
        self.on_disk += kept as u64;
        self.pending.clear();
        self.ends.clear();
        if let Err(e) = result {
            if done > kept {
                let _ = self.file.set_len(self.on_disk);
            }
            self.failed = Some(e.kind());
            self.failed_text = e.to_string();
            return Err(e);
        }
        Ok(())
    }
}

/// Sends frames out of an interface (the replayer).
pub struct Injector {
    interface: String,
    cap: Capture<Active>,
}

impl Injector {
    /// Open the interface for sending.
    ///
    /// # Errors
    /// As [`LiveSource::open`].
    pub fn open(name: &str) -> Result<Self, LiveError> {
        require_interface(name)?;
        // Nothing is read from it: a small snap length and buffer.
        let cap = Capture::from_device(name)
            .map_err(|e| open_error(name, &e))?
            .snaplen(64)
            .buffer_size(1 << 16)
            .open()
            .map_err(|e| open_error(name, &e))?;
        Ok(Injector {
            interface: name.to_owned(),
            cap,
        })
    }

    /// Send one frame as is.
    ///
    /// # Errors
    /// The interface refused it (too long for its MTU, or down).
    pub fn send(&mut self, frame: &[u8]) -> Result<(), LiveError> {
        self.cap.sendpacket(frame).map_err(|e| LiveError::Open {
            name: self.interface.clone(),
            detail: format!("sending a frame of {} bytes: {e}", frame.len()),
        })
    }
}
