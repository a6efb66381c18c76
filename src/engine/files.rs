//! Files: TFTP transfers and HTTP requests on TCP 6970, followed from the phone's
//! request to their outcome (received, not found, another error) or the server's
//! first answer. A file named after a MAC (`SEP<MAC>.cnf.xml`, `CTLSEP<MAC>.tlv`)
//! names the phone asking for it and binds its address to it.

use std::net::IpAddr;

use parsers::{http, tftp};

use super::config::{self, ConfigBuffers, ConfigForm};
use super::device::{Clue, DeviceKey, DeviceKind, FileOutcome, NameSource};
use super::shared::{Ctx, Shared};
use super::text::{lossy, MAX_TEXT_BYTES};
use crate::attribution::mac_in_name;
use crate::dispatch;
use crate::timeline::{EventKind, FileClass, FileTransport};
use crate::FastMap;

/// HTTP configuration port of Cisco call managers.
const HTTP_CONFIG: u16 = dispatch::HTTP_TFTP;
/// TFTP's block size unless an OACK accepts another (RFC 1350, RFC 2348).
const TFTP_BLOCK: usize = 512;

/// A TFTP transfer, keyed by the client's endpoint.
#[derive(Debug)]
struct Transfer {
    owner: DeviceKey,
    file: Box<str>,
    class: FileClass,
    server: IpAddr,
    blksize: usize,
    bytes: u64,
    last_block: u16,
    answered: bool,
    done: bool,
    last_ns: i64,
}

/// An HTTP request waiting for its response, keyed by the client's endpoint.
#[derive(Debug)]
struct HttpRequest {
    owner: DeviceKey,
    file: Box<str>,
    class: FileClass,
    last_ns: i64,
}

/// The open transfers and requests.
#[derive(Debug)]
pub struct Files {
    transfers: FastMap<(IpAddr, u16), Transfer>,
    http: FastMap<(IpAddr, u16), HttpRequest>,
    /// The bytes of the configurations being received (TFTP, HTTP), to read them.
    configs: ConfigBuffers,
    /// The file names of the configurations whose HTTP body is being received, with the
    /// time of their last bytes (at most one per buffer of `configs`).
    http_configs: FastMap<(IpAddr, u16), (Box<str>, i64)>,
    /// Bytes kept of one configuration.
    max_config_bytes: usize,
}

impl Default for Files {
    fn default() -> Self {
        Files::new(config::DEFAULT_MAX_CONFIG_BYTES)
    }
}

impl Files {
    /// No transfer yet; `max_config_bytes` of each configuration are kept to read it.
    pub fn new(max_config_bytes: usize) -> Self {
        Files {
            transfers: FastMap::default(),
            http: FastMap::default(),
            configs: ConfigBuffers::default(),
            http_configs: FastMap::default(),
            max_config_bytes,
        }
    }

    /// The most heap `n` transfers and `n` requests take, their strings included.
    pub fn max_heap_bytes(n: usize) -> usize {
        use std::mem::size_of;
        let table = |entry: usize| (n * 8 / 7).next_power_of_two() * (entry + 1);
        table(size_of::<((IpAddr, u16), Transfer)>())
            + table(size_of::<((IpAddr, u16), HttpRequest)>())
            // An owner named by a SIP or SCCP name and a file name, each.
            + n * 2 * (2 * MAX_TEXT_BYTES + 64)
            // The names of the configurations whose HTTP body is being received.
            + (config::max_buffers(n) * 8 / 7).next_power_of_two()
                * (size_of::<((IpAddr, u16), (Box<str>, i64))>() + 1)
            + config::max_buffers(n) * MAX_TEXT_BYTES
    }

    /// Open transactions.
    pub fn len(&self) -> usize {
        self.transfers.len() + self.http.len()
    }

    /// Forget what `keep` says is idle too long, and finished transfers idle for
    /// `done_ns` (kept that long for late copies of their last packets). Returns how
    /// many unfinished ones were lost.
    pub fn sweep(&mut self, now: i64, done_ns: i64, keep: impl Fn(i64) -> bool) -> u64 {
        let done_keep = |last: i64| now.saturating_sub(last) <= done_ns;
        let mut lost = 0u64;
        self.transfers.retain(|_, t| {
            if t.done {
                return done_keep(t.last_ns);
            }
            let k = keep(t.last_ns);
            lost += u64::from(!k);
            k
        });
        // An HTTP body idle as long as a transaction is forgotten with its buffer; a TFTP
        // buffer lives as long as its transfer.
        self.http_configs.retain(|_, (_, last)| keep(*last));
        let (transfers, http_configs) = (&self.transfers, &self.http_configs);
        self.configs
            .retain(|k| transfers.get(k).is_some_and(|t| !t.done) || http_configs.contains_key(k));
        let configs = &self.configs;
        self.http_configs.retain(|k, _| configs.owner(*k).is_some());
        let before = self.http.len();
        self.http.retain(|_, t| keep(t.last_ns));
        lost + (before - self.http.len()) as u64
    }

    /// One TFTP packet.
    pub fn tftp(&mut self, sh: &mut Shared<'_>, ctx: Ctx, t: &tftp::TftpPacket<'_>) {
        let Some(f) = ctx.flow else { return };
        sh.note_source(ctx);
        match t {
            tftp::TftpPacket::ReadRequest(r) => {
                let file = lossy(r.filename);
                let class = sh.rules.files.classify(&file);
                let client = (f.src, f.sport);
                let Some(owner) = file_owner(sh, ctx, client, &file, "TFTP file named SEP<MAC>")
                else {
                    return;
                };
                if self.transfers.len() >= sh.max_transactions
                    && !self.transfers.contains_key(&client)
                {
                    sh.transactions_evicted += 1;
                    return;
                }
                self.transfers.insert(
                    client,
                    Transfer {
                        owner: owner.clone(),
                        file: file.clone().into(),
                        class,
                        server: f.dst,
                        // A blksize asked for applies only once the server's OACK
                        // accepts it (RFC 2348).
                        blksize: TFTP_BLOCK,
                        bytes: 0,
                        last_block: 0,
                        answered: false,
                        done: false,
                        last_ns: ctx.ts_ns,
                    },
                );
                if is_config(class) && ConfigForm::of(&file).is_some() {
                    self.configs.start(client, &owner, sh.max_transactions);
                }
                let ev = EventKind::FileRequest {
                    file: file.into(),
                    class,
                    server: f.dst,
                    via: FileTransport::Tftp,
                };
                sh.emit(&owner, ctx, ev, false);
            }
            tftp::TftpPacket::OptionAck(opts) => {
                if let Some(t) = self.transfers.get_mut(&(f.dst, f.dport)) {
                    t.answered = true;
                    t.last_ns = ctx.ts_ns;
                    if let Some(b) = opts.blksize().and_then(|b| usize::try_from(b).ok()) {
                        t.blksize = b.clamp(8, 65464);
                    }
                    file_answered(sh, &t.owner, &t.file);
                }
            }
            tftp::TftpPacket::Data { block, data } => {
                let Some(t) = self.transfers.get_mut(&(f.dst, f.dport)) else {
                    return;
                };
                if t.done || f.src != t.server {
                    return;
                }
                t.last_ns = ctx.ts_ns;
                let first = !t.answered;
                t.answered = true;
                let client = (f.dst, f.dport);
                if *block == t.last_block.wrapping_add(1) {
                    t.last_block = *block;
                    t.bytes += data.len() as u64;
                    self.configs
                        .append(client, data, self.max_config_bytes, ctx.cut);
                    if data.len() < t.blksize {
                        t.done = true;
                    }
                }
                if first {
                    file_answered(sh, &t.owner, &t.file);
                }
                if t.done {
                    let ev = EventKind::FileReceived {
                        file: t.file.clone(),
                        class: t.class,
                        bytes: t.bytes,
                        via: FileTransport::Tftp,
                    };
                    let (owner, file, total) = (t.owner.clone(), t.file.clone(), t.bytes);
                    sh.emit(&owner, ctx, ev, false);
                    if let Some((body, cut)) = self.configs.take(client) {
                        read_config(sh, ctx, &owner, &file, &body, total, cut);
                    }
                }
            }
            tftp::TftpPacket::Error { code, message } => {
                // From the server: the request failed. From the client: it gave up
                // (e.g. after a tsize probe), which is its own choice, not a failure.
                if let Some(t) = self.transfers.get_mut(&(f.dst, f.dport)) {
                    if t.done {
                        return;
                    }
                    t.done = true;
                    self.configs.take((f.dst, f.dport));
                    let (file, class) = (t.file.clone(), t.class);
                    let ev = if *code == tftp::TftpErrorCode::FILE_NOT_FOUND {
                        EventKind::FileNotFound {
                            file,
                            class,
                            via: FileTransport::Tftp,
                        }
                    } else {
                        EventKind::FileError {
                            file,
                            class,
                            code: code.0,
                            text: lossy(message).into(),
                        }
                    };
                    sh.emit(&t.owner, ctx, ev, false);
                } else if let Some(t) = self.transfers.get_mut(&(f.src, f.sport)) {
                    t.done = true;
                    file_answered(sh, &t.owner, &t.file);
                }
            }
            tftp::TftpPacket::Ack { .. } | tftp::TftpPacket::WriteRequest(_) => {}
        }
    }

    /// One HTTP message on the configuration port: a phone's GET, or the answer.
    pub fn http(&mut self, sh: &mut Shared<'_>, ctx: Ctx, m: &http::HttpMessage<'_>) {
        let Some(f) = ctx.flow else { return };
        if f.dport == HTTP_CONFIG && m.is_request() {
            sh.note_source(ctx);
            let Some(target) = m.target() else { return };
            let target = lossy(target);
            let path = target.split(['?', '#']).next().unwrap_or_default();
            let file = path.rsplit('/').next().unwrap_or(path).to_owned();
            if file.is_empty() {
                return;
            }
            let class = sh.rules.files.classify(&file);
            let client = (f.src, f.sport);
            let Some(owner) = file_owner(sh, ctx, client, &file, "HTTP file named SEP<MAC>") else {
                return;
            };
            if self.http.len() < sh.max_transactions || self.http.contains_key(&client) {
                self.http.insert(
                    client,
                    HttpRequest {
                        owner: owner.clone(),
                        file: file.clone().into(),
                        class,
                        last_ns: ctx.ts_ns,
                    },
                );
            } else {
                sh.transactions_evicted += 1;
            }
            let ev = EventKind::FileRequest {
                file: file.into(),
                class,
                server: f.dst,
                via: FileTransport::Http,
            };
            sh.emit(&owner, ctx, ev, false);
        } else if f.sport == HTTP_CONFIG {
            let Some(status) = m.status() else { return };
            let Some(req) = self.http.remove(&(f.dst, f.dport)) else {
                return;
            };
            // The body, when the stream framed it whole, is the configuration's.
            let body = (200..=299)
                .contains(&status)
                .then_some(m.body)
                .flatten()
                .filter(|_| is_config(req.class));
            let ev = match status {
                200..=299 => EventKind::FileReceived {
                    file: req.file.clone(),
                    class: req.class,
                    bytes: m.content_length().unwrap_or(0),
                    via: FileTransport::Http,
                },
                404 => EventKind::FileNotFound {
                    file: req.file.clone(),
                    class: req.class,
                    via: FileTransport::Http,
                },
                _ => EventKind::FileError {
                    file: req.file.clone(),
                    class: req.class,
                    code: status,
                    text: m.reason().map(lossy).unwrap_or_default().into(),
                },
            };
            sh.emit(&req.owner, ctx, ev, false);
            let client = (f.dst, f.dport);
            if let Some(body) = body {
                let kept = body.get(..self.max_config_bytes).unwrap_or(body);
                let total = body.len() as u64;
                read_config(sh, ctx, &req.owner, &req.file, kept, total, ctx.cut);
            } else if (200..=299).contains(&status)
                && is_config(req.class)
                && ConfigForm::of(&req.file).is_some()
                && m.content_length().is_some_and(|n| n > 0)
            {
                // The body follows in later segments: kept as it comes.
                if self.configs.start(client, &req.owner, sh.max_transactions) {
                    let configs = &self.configs;
                    self.http_configs.retain(|k, _| configs.owner(*k).is_some());
                    self.http_configs.insert(client, (req.file, ctx.ts_ns));
                }
            }
        }
    }

    /// Bytes of an HTTP body on the configuration port, `left` more to come: a
    /// configuration's are kept and read once whole.
    pub fn http_body(&mut self, sh: &mut Shared<'_>, ctx: Ctx, bytes: &[u8], left: u64) {
        let Some(f) = ctx.flow.filter(|f| f.sport == HTTP_CONFIG) else {
            return;
        };
        let client = (f.dst, f.dport);
        let Some(receiving) = self.http_configs.get_mut(&client) else {
            return;
        };
        receiving.1 = ctx.ts_ns;
        self.configs
            .append(client, bytes, self.max_config_bytes, ctx.cut);
        if left > 0 {
            return;
        }
        let owner = self.configs.owner(client).cloned();
        let file = self.http_configs.remove(&client).map(|(f, _)| f);
        if let (Some(owner), Some(file), Some((body, cut))) =
            (owner, file, self.configs.take(client))
        {
            let total = body.len() as u64;
            read_config(sh, ctx, &owner, &file, &body, total, cut);
        }
    }
}

/// A configuration class: the phone's own, or the default.
fn is_config(class: FileClass) -> bool {
    matches!(class, FileClass::DeviceConfig | FileClass::DefaultConfig)
}

/// Read a configuration received (`total` bytes, of which `kept` were kept; `cut`: the
/// capture's snap length cut a block) and put what it says on the phone's timeline; bytes
/// that hold no configuration say nothing.
fn read_config(
    sh: &mut Shared<'_>,
    ctx: Ctx,
    owner: &DeviceKey,
    file: &str,
    kept: &[u8],
    total: u64,
    cut: bool,
) {
    let Some(form) = ConfigForm::of(file) else {
        return;
    };
    let cut = cut || (kept.len() as u64) < total;
    if let Some(summary) = config::read(file, form, kept, cut) {
        let ev = EventKind::ConfigRead {
            config: Box::new(summary),
        };
        sh.emit(owner, ctx, ev, false);
    }
}

/// The device asking `client` for `file`: the MAC in a SEP-named file (which also
/// binds the client's address to it), else the endpoint's owner.
fn file_owner(
    sh: &mut Shared<'_>,
    ctx: Ctx,
    client: (IpAddr, u16),
    file: &str,
    why: &'static str,
) -> Option<DeviceKey> {
    let owner = match mac_in_name(file) {
        Some(mac) => {
            let key = DeviceKey::Mac(mac);
            let dev = sh.device(&key, Clue::sure(DeviceKind::Phone, why), ctx)?;
            if let Some(name) = device_name_in(file) {
                dev.set_name(name.to_owned(), NameSource::ConfigFile);
            }
            sh.attribution.bind_ip(client.0, mac);
            Some(key)
        }
        None => sh.owner_of(client, ctx.src_mac),
    };
    if owner.is_none() {
        sh.unattributed += 1;
    }
    owner
}

/// The device name a file named after it carries: `SEP001B54AA0001` of
/// `SEP001B54AA0001.cnf.xml` or `CTLSEP001B54AA0001.tlv`, as written (a name
/// [`mac_in_name`] reads).
fn device_name_in(file: &str) -> Option<&str> {
    let base = file.rsplit('/').next().unwrap_or(file);
    let at = base
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("SEP"))
        .map_or(3, |_| 0);
    base.get(at..at + 15)
}

/// The server answered a file request (data or options): not silent.
fn file_answered(sh: &mut Shared<'_>, owner: &DeviceKey, file: &str) {
    if let Some(fs) = sh
        .devices
        .get_mut(owner)
        .and_then(|dev| dev.boot.file_mut(file))
    {
        fs.unanswered = 0;
        if fs.outcome.is_none() {
            fs.outcome = Some(FileOutcome::Answered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::shared::harness::*;
    use super::*;
    use crate::model::encode;
    use crate::timeline::EventType;

    const FILE: &str = "SEP001B54AA0001.cnf.xml";

    fn phone() -> (MacAddrEp, MacAddrEp) {
        ((PHONE, ip(20), 50000), (SERVER, ip(5), 69))
    }
    type MacAddrEp = (crate::link::MacAddr, IpAddr, u16);

    /// One TFTP packet as the model encodes it, from the phone or from the server.
    fn tftp(
        files: &mut Files,
        sh: &mut Shared<'_>,
        frame: u64,
        from_phone: bool,
        bytes: Result<Vec<u8>, parsers::EmitError>,
    ) {
        let (p, s) = phone();
        let c = if from_phone {
            ctx(frame, p, s)
        } else {
            ctx(frame, (s.0, s.1, 50001), p)
        };
        files.tftp(sh, c, &tftp::parse(&bytes.unwrap()).unwrap());
    }

    #[test]
    fn a_sep_file_names_its_phone_and_a_short_block_ends_it() {
        let (mut sh, mut files) = (shared(), Files::default());
        tftp(&mut files, &mut sh, 1, true, encode::tftp_rrq(FILE));
        tftp(
            &mut files,
            &mut sh,
            2,
            false,
            encode::tftp_data(1, &[b'x'; 512]),
        );
        tftp(&mut files, &mut sh, 3, false, encode::tftp_data(2, b"tail"));
        let key = DeviceKey::Mac(PHONE);
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.kind, DeviceKind::Phone);
        // Its name, as the file gives it.
        assert_eq!(
            (dev.name.as_deref(), dev.name_source),
            (Some("SEP001B54AA0001"), Some(NameSource::ConfigFile))
        );
        assert_eq!(
            types(&sh, &key),
            [EventType::FileRequest, EventType::FileReceived]
        );
        match &dev.timeline.events[1].kind {
            EventKind::FileReceived { bytes, .. } => assert_eq!(*bytes, 516),
            other => panic!("{other:?}"),
        }
        // The phone's address is bound to it for the later protocols.
        assert_eq!(sh.owner_of((ip(20), 1), None), Some(key));
    }

    #[test]
    fn the_device_name_in_a_file_name_is_taken_as_written() {
        for (file, name) in [
            ("SEP001B54AA0001.cnf.xml", Some("SEP001B54AA0001")),
            ("/cfg/sep001b54aa0001.cnf.xml.sgn", Some("sep001b54aa0001")),
            ("CTLSEP001B54AA0001.tlv", Some("SEP001B54AA0001")),
            ("ITLSEP001B54AA0001.tlv", Some("SEP001B54AA0001")),
        ] {
            assert_eq!(device_name_in(file), name, "{file}");
            assert!(mac_in_name(file).is_some(), "{file}");
        }
    }

    #[test]
    fn a_server_error_is_the_outcome_and_a_client_error_is_only_an_answer() {
        let (mut sh, mut files) = (shared(), Files::default());
        tftp(&mut files, &mut sh, 1, true, encode::tftp_rrq(FILE));
        tftp(
            &mut files,
            &mut sh,
            2,
            false,
            encode::tftp_error(1, "File not found"),
        );
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(
            types(&sh, &key),
            [EventType::FileRequest, EventType::FileNotFound]
        );
        tftp(
            &mut files,
            &mut sh,
            3,
            true,
            encode::tftp_rrq("CTLSEP001B54AA0001.tlv"),
        );
        tftp(
            &mut files,
            &mut sh,
            4,
            true,
            encode::tftp_error(0, "tsize probe"),
        );
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(types(&sh, &key).len(), 3);
        let ctl = dev
            .boot
            .files
            .iter()
            .find(|f| f.name.starts_with("CTL"))
            .unwrap();
        assert_eq!(ctl.outcome, Some(FileOutcome::Answered));
    }

    #[test]
    fn the_table_is_bounded_and_the_sweep_lets_idle_transfers_go() {
        let (mut sh, mut files) = (shared(), Files::default());
        for port in 0..10u16 {
            let c = ctx(1, (PHONE, ip(20), 1000 + port), (SERVER, ip(5), 69));
            files.tftp(
                &mut sh,
                c,
                &tftp::parse(&encode::tftp_rrq(FILE).unwrap()).unwrap(),
            );
        }
        assert_eq!(files.len(), sh.max_transactions);
        assert_eq!(sh.transactions_evicted, 2);
        let idle = 300 * 1_000_000_000;
        let now = 1_000_000_000 + idle + 1;
        let lost = files.sweep(now, 0, |last| now - last <= idle);
        assert_eq!((lost, files.len()), (8, 0));
    }

    #[test]
    fn an_http_request_meets_its_answer() {
        let (mut sh, mut files) = (shared(), Files::default());
        let p = (PHONE, ip(20), 40000);
        let s = (SERVER, ip(5), HTTP_CONFIG);
        let get = encode::http_get(FILE, "10.1.1.5").unwrap();
        files.http(&mut sh, ctx(1, p, s), &http::parse(&get).unwrap().0);
        let answer = encode::http_response(None).unwrap();
        files.http(&mut sh, ctx(2, s, p), &http::parse(&answer).unwrap().0);
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(
            types(&sh, &key),
            [EventType::FileRequest, EventType::FileNotFound]
        );
        assert_eq!(files.len(), 0);
    }

    #[test]
    fn a_configuration_s_http_body_is_read_whole_or_as_it_comes() {
        let cms = [crate::model::scenario::CallManager {
            name: "cucm1".into(),
            ip: [10, 1, 1, 10].into(),
            fault: None,
        }];
        let xml = encode::config_xml(&cms, "SCCP70.9-4-2SR3-1S");
        let read = |sh: &Shared<'_>| -> Vec<String> {
            sh.devices
                .get(&DeviceKey::Mac(PHONE))
                .unwrap()
                .timeline
                .events
                .iter()
                .filter(|e| e.kind.event_type() == EventType::ConfigRead)
                .map(|e| e.kind.text())
                .collect()
        };
        let want = "config read from SEP001B54AA0001.cnf.xml: 1 call manager 10.1.1.10";
        let p = (PHONE, ip(20), 40000);
        let s = (SERVER, ip(5), HTTP_CONFIG);
        let get = encode::http_get(FILE, "10.1.1.5").unwrap();
        let answer = encode::http_response(Some(xml.as_bytes())).unwrap();
        // The body whole behind its head.
        let (mut sh, mut files) = (shared(), Files::default());
        files.http(&mut sh, ctx(1, p, s), &http::parse(&get).unwrap().0);
        files.http(&mut sh, ctx(2, s, p), &http::parse(&answer).unwrap().0);
        assert_eq!(read(&sh), [want]);
        // The head alone, the body in three segments after it.
        let (mut sh, mut files) = (shared(), Files::default());
        files.http(&mut sh, ctx(1, p, s), &http::parse(&get).unwrap().0);
        let (head, _) = http::parse_head(&answer).unwrap();
        files.http(&mut sh, ctx(2, s, p), &head);
        let body = xml.as_bytes();
        let (a, rest) = body.split_at(100);
        let (b, c) = rest.split_at(200);
        let mut left = body.len() as u64;
        for (k, chunk) in [a, b, c].into_iter().enumerate() {
            left -= chunk.len() as u64;
            assert!(read(&sh).is_empty(), "read before the body is whole");
            files.http_body(&mut sh, ctx(3 + k as u64, s, p), chunk, left);
        }
        assert_eq!(read(&sh), [want]);
        // Another client's body bytes are none of its business.
        files.http_body(&mut sh, ctx(9, s, (PHONE, ip(20), 40001)), body, 0);
        assert_eq!(read(&sh).len(), 1);
    }
}
