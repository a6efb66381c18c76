//! The phone's device configuration, read for what it says: the bytes of
//! `SEP<MAC>.cnf.xml` / `XMLDefault.cnf.xml` (and their signed forms) kept as they
//! arrive (TFTP blocks in order, the HTTP 6970 body), bounded per file and in number
//! ([`ConfigBuffers`]), then read by `parsers::cnfxml` into an owned, escaped
//! [`ConfigSummary`] for the timeline (`config_read`). `files` owns the transfers and
//! hands the bytes here.

use std::net::IpAddr;

use parsers::cnfxml;

use super::device::DeviceKey;
use super::text::lossy;
use crate::timeline::{ConfigEnvelope, ConfigSummary, ConfiguredCm};
use crate::FastMap;

/// Bytes kept of one configuration file by default (a Unified CM phone's
/// configuration is a few KiB; the first 64 KiB hold everything read here).
pub const DEFAULT_MAX_CONFIG_BYTES: usize = 64 << 10;

/// How a configuration file is to be read, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigForm {
    /// `.cnf.xml`.
    Plain,
    /// `.cnf.xml.sgn`.
    Signed,
    /// `.cnf.xml.enc.sgn`: not readable.
    Encrypted,
}

impl ConfigForm {
    /// The form of an XML configuration file, by its name; `None` for any other file
    /// (a SIP load's `SIP<MAC>.cnf`, a trust list, a load).
    pub fn of(file: &str) -> Option<Self> {
        let lower = file.to_ascii_lowercase();
        if lower.ends_with(".cnf.xml.enc.sgn") {
            Some(ConfigForm::Encrypted)
        } else if lower.ends_with(".cnf.xml.sgn") {
            Some(ConfigForm::Signed)
        } else if lower.ends_with(".cnf.xml") {
            Some(ConfigForm::Plain)
        } else {
            None
        }
    }
}

/// Configurations being received, keyed by the client's endpoint of their transfer:
/// at most one per phone, at most [`max_buffers`] at once, each at most
/// `max_bytes`.
#[derive(Debug, Default)]
pub struct ConfigBuffers {
    open: FastMap<(IpAddr, u16), Receiving>,
}

/// A configuration being received.
#[derive(Debug)]
struct Receiving {
    owner: DeviceKey,
    /// The bytes so far (the first `max_bytes`).
    bytes: Vec<u8>,
    /// A block was cut by the snap length: the bytes after it are not the file's.
    cut: bool,
    /// Bytes received in all, those not kept included.
    seen: u64,
}

/// Configurations received at once: a boot storm's phones each fetch theirs within
/// seconds, and a buffer lives only for its transfer.
pub fn max_buffers(max_transactions: usize) -> usize {
    (max_transactions / 256).max(4)
}

impl ConfigBuffers {
    /// The most heap the buffers take.
    pub fn max_heap_bytes(max_transactions: usize, max_bytes: usize) -> usize {
        let n = max_buffers(max_transactions);
        let entry = std::mem::size_of::<((IpAddr, u16), Receiving)>() + 1;
        (n * 8 / 7).next_power_of_two() * entry + n * (max_bytes + super::MAX_TEXT_BYTES)
    }

    /// Start keeping the bytes of a configuration `owner` receives on `client`,
    /// replacing one it was receiving (a phone fetches one file at a time). Returns
    /// false when the table is full.
    pub fn start(
        &mut self,
        client: (IpAddr, u16),
        owner: &DeviceKey,
        max_transactions: usize,
    ) -> bool {
        self.open.retain(|_, r| r.owner != *owner);
        if self.open.len() >= max_buffers(max_transactions) {
            return false;
        }
        let r = Receiving {
            owner: owner.clone(),
            // A configuration is a few KiB: room for the usual one at once.
            bytes: Vec::with_capacity(4096),
            cut: false,
            seen: 0,
        };
        self.open.insert(client, r);
        true
    }

    /// Append bytes that arrived in order, up to `max_bytes` in all; `cut`: the frame
    /// was cut by the snap length, so the bytes after these are not the file's.
    pub fn append(&mut self, client: (IpAddr, u16), data: &[u8], max_bytes: usize, cut: bool) {
        // Most blocks are a load's: no lookup while no configuration is being received.
        if self.open.is_empty() {
            return;
        }
        if let Some(r) = self.open.get_mut(&client) {
            r.seen = r.seen.saturating_add(data.len() as u64);
            if r.cut {
                return;
            }
            let room = max_bytes.saturating_sub(r.bytes.len());
            r.bytes.extend_from_slice(data.get(..room).unwrap_or(data));
            r.cut = cut;
        }
    }

    /// The bytes of a finished transfer (and forget them), and whether they were cut:
    /// by the snap length, or past the bytes kept.
    pub fn take(&mut self, client: (IpAddr, u16)) -> Option<(Vec<u8>, bool)> {
        self.open.remove(&client).map(|r| {
            let cut = r.cut || r.seen > r.bytes.len() as u64;
            (r.bytes, cut)
        })
    }

    /// The owner of the configuration being received on `client`.
    pub fn owner(&self, client: (IpAddr, u16)) -> Option<&DeviceKey> {
        self.open.get(&client).map(|r| &r.owner)
    }

    /// Forget the buffers whose transfer is gone.
    pub fn retain(&mut self, mut alive: impl FnMut(&(IpAddr, u16)) -> bool) {
        self.open.retain(|k, _| alive(k));
    }

    /// Buffers open.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.open.len()
    }
}

/// What a configuration file says. `bytes` are those kept (the first of the file);
/// `cut` says the file was longer. `None` when the bytes hold no device configuration
/// (an HTML error page, a file of another format).
pub fn read(file: &str, form: ConfigForm, bytes: &[u8], cut: bool) -> Option<ConfigSummary> {
    let parsed = match form {
        ConfigForm::Encrypted => {
            return Some(ConfigSummary {
                file: file.into(),
                envelope: ConfigEnvelope::Encrypted,
                complete: !cut,
                ..ConfigSummary::default()
            })
        }
        ConfigForm::Plain => cnfxml::parse(bytes).ok()?,
        ConfigForm::Signed => cnfxml::parse_signed(bytes).ok()?,
    };
    let text = |b: &[u8]| (!b.is_empty()).then(|| Box::<str>::from(lossy(b)));
    let servers = |list: &[cnfxml::Server<'_>], port: u16| {
        list.iter()
            .filter(|s| !s.address.is_empty())
            .map(|s| (Box::<str>::from(lossy(s.address)), s.port.unwrap_or(port)))
            .collect()
    };
    let srst = parsed.srst.filter(|s| !s.disabled());
    Some(ConfigSummary {
        file: file.into(),
        envelope: match parsed.envelope {
            cnfxml::Envelope::Signed => ConfigEnvelope::Signed,
            _ => ConfigEnvelope::Plain,
        },
        call_managers: parsed
            .by_priority()
            .iter()
            .filter(|c| !c.host().is_empty())
            .map(|c| ConfiguredCm {
                host: lossy(c.host()).into(),
                sccp_port: c.sccp_port,
                sip_port: c.sip_port,
                secured_sip_port: c.secured_sip_port,
            })
            .collect(),
        security_mode: parsed.device_security_mode,
        srst: srst
            .iter()
            .flat_map(|s| s.addresses())
            .map(|a| lossy(a).into())
            .collect(),
        srst_option: parsed.srst.and_then(|s| text(s.option)),
        tvs: servers(&parsed.tvs, 2445),
        capf_auth_mode: parsed.capf_auth_mode,
        capf: servers(&parsed.capf, 3804),
        load: text(parsed.load_information),
        transport: parsed.transport_layer_protocol,
        load_server: text(parsed.load_server),
        complete: parsed.complete && !cut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::encode;
    use crate::model::scenario::CallManager;

    fn cms() -> Vec<CallManager> {
        ["10.1.1.10", "10.1.1.11"]
            .iter()
            .enumerate()
            .map(|(i, ip)| CallManager {
                name: format!("cucm{i}"),
                ip: ip.parse().unwrap(),
                fault: None,
            })
            .collect()
    }

    #[test]
    fn the_model_s_configuration_reads_back() {
        let xml = encode::config_xml(&cms(), "SCCP70.9-4-2SR3-1S");
        let c = read(
            "SEP001B54AA0001.cnf.xml",
            ConfigForm::Plain,
            xml.as_bytes(),
            false,
        )
        .unwrap();
        let hosts: Vec<&str> = c.call_managers.iter().map(|c| &*c.host).collect();
        assert_eq!(hosts, ["10.1.1.10", "10.1.1.11"]);
        assert_eq!(c.call_managers[0].sccp_port, Some(2000));
        assert_eq!(c.load.as_deref(), Some("SCCP70.9-4-2SR3-1S"));
        assert!(c.complete);
        let ev = crate::timeline::EventKind::ConfigRead {
            config: Box::new(c.clone()),
        };
        assert_eq!(
            ev.text(),
            "config read from SEP001B54AA0001.cnf.xml: 2 call managers 10.1.1.10, 10.1.1.11"
        );
        // Signed by the model's stand-in header: read behind it.
        let sgn = encode::signed(xml.as_bytes(), "cucm0");
        let c = read(
            "SEP001B54AA0001.cnf.xml.sgn",
            ConfigForm::Signed,
            &sgn,
            false,
        )
        .unwrap();
        assert_eq!(c.envelope, ConfigEnvelope::Signed);
        assert_eq!(c.call_managers.len(), 2);
        // Cut by the bound: read in part.
        let c = read("x.cnf.xml", ConfigForm::Plain, &xml.as_bytes()[..200], true).unwrap();
        assert!(!c.complete);
        assert!(read("x.cnf.xml", ConfigForm::Plain, b"<html/>", false).is_none());
    }

    #[test]
    fn names_of_the_forms() {
        assert_eq!(
            ConfigForm::of("SEP001B54AA0001.cnf.xml"),
            Some(ConfigForm::Plain)
        );
        assert_eq!(
            ConfigForm::of("XMLDefault.CNF.XML.sgn"),
            Some(ConfigForm::Signed)
        );
        assert_eq!(
            ConfigForm::of("SEP001B54AA0001.cnf.xml.enc.sgn"),
            Some(ConfigForm::Encrypted)
        );
        assert_eq!(ConfigForm::of("SIP001B54AA0001.cnf"), None);
        assert_eq!(ConfigForm::of("ITLSEP001B54AA0001.tlv"), None);
    }

    #[test]
    fn the_buffers_are_bounded_and_one_per_phone() {
        let mut b = ConfigBuffers::default();
        let ip = |k: u8| IpAddr::from([10, 100, 0, k]);
        let phone = DeviceKey::Mac(crate::link::MacAddr([0, 0x1b, 0x54, 0, 0, 1]));
        assert!(b.start((ip(1), 1000), &phone, 64));
        assert!(b.start((ip(1), 1001), &phone, 64));
        assert_eq!(b.len(), 1);
        b.append((ip(1), 1001), &[b'x'; 100], 64, false);
        b.append((ip(1), 1001), &[b'y'; 100], 64, false);
        // Past the bytes kept: read in part.
        assert_eq!(b.take((ip(1), 1001)).unwrap(), (vec![b'x'; 64], true));
        // A block cut by the snap length ends what is kept.
        assert!(b.start((ip(1), 1002), &phone, 64));
        b.append((ip(1), 1002), b"<dev", 64, true);
        b.append((ip(1), 1002), b"ice>", 64, false);
        assert_eq!(b.take((ip(1), 1002)).unwrap(), (b"<dev".to_vec(), true));
        for k in 0..10u8 {
            let owner = DeviceKey::Mac(crate::link::MacAddr([0, 0x1b, 0x54, 0, 1, k]));
            let started = b.start((ip(k), 2000), &owner, 64);
            assert_eq!(started, usize::from(k) < max_buffers(64));
        }
    }

    /// A DNS answer to a lookup: its rcode and address; `None`: none came.
    type Answer = Option<(u8, Option<IpAddr>)>;

    thread_local! {
        /// The `deviceSecurityMode` of the configuration [`judged`] plays.
        static SECURITY: std::cell::Cell<Option<u8>> = const { std::cell::Cell::new(None) };
    }

    /// A phone's boot played as events: the ACK (`dns`: its option 6), the configuration
    /// read, the lookups (`answers`: each name's rcode and address), then what `after`
    /// adds; the verdict's findings (code, severity).
    fn judged(
        dns: &[std::net::Ipv4Addr],
        cms: &[&str],
        answers: &[(&str, Answer)],
        after: Vec<crate::timeline::EventKind>,
    ) -> Vec<(String, rules::Severity)> {
        use crate::timeline::{ConfiguredCm, EventKind, FileTransport, TftpOffer};
        use std::net::Ipv4Addr;

        let rules = crate::analyze::load_rules(None).unwrap();
        let server = Ipv4Addr::new(10, 1, 1, 5);
        let file = "SEP001B54AA0001.cnf.xml";
        let mut events = vec![
            EventKind::DhcpDiscover {
                xid: 1,
                vlan: Some(100),
            },
            EventKind::DhcpAck {
                xid: 1,
                yiaddr: Ipv4Addr::new(10, 100, 0, 20),
                server: Some(Ipv4Addr::new(10, 1, 1, 2)),
                tftp: Box::new(TftpOffer {
                    servers: vec![server],
                    dns_servers: dns.to_vec(),
                    routers: vec![Ipv4Addr::new(10, 100, 0, 1)],
                    ..TftpOffer::default()
                }),
            },
            EventKind::FileRequest {
                file: file.into(),
                class: rules.files.classify(file),
                server: server.into(),
                via: FileTransport::Tftp,
            },
            EventKind::FileReceived {
                file: file.into(),
                class: rules.files.classify(file),
                bytes: 900,
                via: FileTransport::Tftp,
            },
            EventKind::ConfigRead {
                config: Box::new(ConfigSummary {
                    file: file.into(),
                    call_managers: cms
                        .iter()
                        .map(|h| ConfiguredCm {
                            host: (*h).into(),
                            sccp_port: Some(2000),
                            ..ConfiguredCm::default()
                        })
                        .collect(),
                    complete: true,
                    security_mode: SECURITY.with(std::cell::Cell::get),
                    ..ConfigSummary::default()
                }),
            },
        ];
        for (name, answer) in answers {
            events.extend(lookup(name, *answer));
        }
        events.extend(after);
        judge_events(events)
    }

    /// A phone's boot played as `events`, a second apart from 1 s; the verdict's findings
    /// (code and message, severity) at 60 s.
    /// A lookup of `name` at the DNS server 10.1.1.53 and its answer, if one came.
    fn lookup(name: &str, answer: Answer) -> Vec<crate::timeline::EventKind> {
        use crate::timeline::EventKind;
        let server = IpAddr::from([10, 1, 1, 53]);
        let query = EventKind::DnsQuery {
            name: name.into(),
            qtype: 1,
            server,
        };
        let answer = answer.map(|(rcode, addr)| EventKind::DnsAnswer {
            name: name.into(),
            rcode,
            addrs: addr.into_iter().collect(),
            server,
        });
        std::iter::once(query).chain(answer).collect()
    }

    fn judge_events(events: Vec<crate::timeline::EventKind>) -> Vec<(String, rules::Severity)> {
        super::super::verdict::played(events)
            .findings
            .iter()
            .map(|f| (format!("{}: {}", f.code, f.message), f.severity))
            .collect()
    }

    fn codes(found: &[(String, rules::Severity)]) -> Vec<(&str, rules::Severity)> {
        found
            .iter()
            .map(|(m, s)| (m.split(':').next().unwrap(), *s))
            .collect()
    }

    #[test]
    fn an_option_66_name_that_does_not_resolve_holds_the_phone_at_config() {
        use crate::timeline::{EventKind, TftpOffer};
        use rules::Severity::Error;
        let name = "tftp.example.com";
        let played = |option66: &str, dns: Vec<std::net::Ipv4Addr>, rcode: Option<u8>| {
            let mut events = vec![
                EventKind::DhcpDiscover {
                    xid: 1,
                    vlan: Some(100),
                },
                EventKind::DhcpAck {
                    xid: 1,
                    yiaddr: std::net::Ipv4Addr::new(10, 100, 0, 20),
                    server: Some(std::net::Ipv4Addr::new(10, 1, 1, 2)),
                    tftp: Box::new(TftpOffer {
                        option66: Some(option66.into()),
                        dns_servers: dns,
                        ..TftpOffer::default()
                    }),
                },
            ];
            events.extend(lookup(name, rcode.map(|r| (r, None))));
            judge_events(events)
        };
        let dns = vec![std::net::Ipv4Addr::new(10, 1, 1, 53)];
        let found = played(name, dns.clone(), Some(3));
        let f = found.iter().find(|f| f.0.starts_with("cm-name-unresolved"));
        let (msg, severity) = f.unwrap_or_else(|| panic!("{found:?}"));
        assert_eq!(*severity, Error);
        assert!(msg.contains("option 66 tftp.example.com"), "{msg}");
        assert!(
            msg.contains("NXDOMAIN") && msg.contains("10.1.1.53"),
            "{msg}"
        );
        // No answer at all: said so.
        let found = played(name, dns.clone(), None);
        let msg = &found.iter().find(|f| f.0.starts_with("cm-name")).unwrap().0;
        assert!(msg.contains("no answer to 1 query"), "{msg}");
        // Option 66 an address: nothing to resolve, no such finding.
        let found = played("10.1.1.5", dns, Some(3));
        assert!(
            !found.iter().any(|f| f.0.starts_with("cm-name")),
            "{found:?}"
        );
    }

    #[test]
    fn a_call_manager_name_that_does_not_resolve_is_said_with_what_dns_said() {
        use rules::Severity::Error;
        let dns = [std::net::Ipv4Addr::new(10, 1, 1, 53)];
        let cms = ["cucm1.example.com", "cucm2.example.com"];
        // SERVFAIL for the first, no answer for the second.
        let found = judged(
            &dns,
            &cms,
            &[
                ("cucm1.example.com", Some((2, None))),
                ("cucm2.example.com", None),
            ],
            Vec::new(),
        );
        assert!(
            codes(&found).contains(&("cm-name-unresolved", Error)),
            "{found:?}"
        );
        let msg = &found.iter().find(|f| f.0.starts_with("cm-name")).unwrap().0;
        assert!(
            msg.contains("SERVFAIL") && msg.contains("10.1.1.53"),
            "{msg}"
        );
        // Without option 6 and without a lookup, the message says DHCP gave no DNS server.
        let found = judged(&[], &cms, &[], Vec::new());
        let msg = &found.iter().find(|f| f.0.starts_with("cm-name")).unwrap().0;
        assert!(msg.contains("no DNS server (option 6)"), "{msg}");
        // A name that resolves, or an address, is no finding.
        let ok = judged(
            &dns,
            &["cucm1.example.com", "10.1.1.11"],
            &[(
                "cucm1.example.com",
                Some((0, Some(IpAddr::from([10, 1, 1, 10])))),
            )],
            Vec::new(),
        );
        assert!(!ok.iter().any(|f| f.0.starts_with("cm-name")), "{ok:?}");
        let by_address = judged(&[], &["10.1.1.10"], &[], Vec::new());
        assert!(
            !by_address.iter().any(|f| f.0.starts_with("cm-name")),
            "{by_address:?}"
        );
    }

    #[test]
    fn a_connection_to_another_member_of_the_group_clears_an_unresolved_name() {
        use crate::timeline::{EventKind, Signalling};
        let dns = [std::net::Ipv4Addr::new(10, 1, 1, 53)];
        let cm2 = IpAddr::from([10, 1, 1, 11]);
        let found = judged(
            &dns,
            &["cucm1.example.com", "cucm2.example.com"],
            &[
                ("cucm1.example.com", Some((3, None))),
                ("cucm2.example.com", Some((0, Some(cm2)))),
            ],
            vec![
                EventKind::CmSyn {
                    cm: cm2,
                    port: 2000,
                },
                EventKind::CmSynAck {
                    cm: cm2,
                    port: 2000,
                },
                EventKind::Register {
                    proto: Signalling::Sccp,
                    cm: cm2,
                    expires: None,
                },
                EventKind::RegisterAck {
                    proto: Signalling::Sccp,
                    cm: cm2,
                },
            ],
        );
        assert!(
            !found.iter().any(|f| f.0.starts_with("cm-name")),
            "{found:?}"
        );
        assert!(!found.iter().any(|f| f.0.starts_with("srst")), "{found:?}");
    }

    #[test]
    fn a_tvs_that_refuses_the_phone_is_a_likely_trust_list_mismatch() {
        use crate::timeline::EventKind;
        let tvs = IpAddr::from([10, 1, 1, 10]);
        let found = judged(
            &[],
            &["10.1.1.10"],
            &[],
            vec![
                EventKind::TvsSyn { server: tvs },
                EventKind::TvsRst { server: tvs },
            ],
        );
        let f = found
            .iter()
            .find(|f| f.0.starts_with("trust-list-mismatch"))
            .expect("a finding");
        assert_eq!(f.1, rules::Severity::Warning);
        assert!(
            f.0.contains("10.1.1.10:2445") && f.0.contains("likely"),
            "{}",
            f.0
        );
        // A TVS that answers is none.
        let ok = judged(
            &[],
            &["10.1.1.10"],
            &[],
            vec![
                EventKind::TvsSyn { server: tvs },
                EventKind::TvsSynAck { server: tvs },
            ],
        );
        assert!(!ok.iter().any(|f| f.0.starts_with("trust-list")), "{ok:?}");
    }

    #[test]
    fn a_registration_by_the_gateway_is_srst_and_a_clear_one_under_a_secure_mode_is_said() {
        use crate::timeline::{EventKind, Signalling};
        let cm = IpAddr::from([10, 1, 1, 10]);
        let gateway = IpAddr::from([10, 100, 0, 1]);
        let register = |at: IpAddr| {
            vec![
                EventKind::CmSyn { cm: at, port: 2000 },
                EventKind::CmSynAck { cm: at, port: 2000 },
                EventKind::Register {
                    proto: Signalling::Sccp,
                    cm: at,
                    expires: None,
                },
                EventKind::RegisterAck {
                    proto: Signalling::Sccp,
                    cm: at,
                },
            ]
        };
        // The group is silent; the gateway (DHCP option 3) acknowledges.
        let mut after = vec![EventKind::CmSyn { cm, port: 2000 }; 3];
        after.extend(register(gateway));
        let found = judged(&[], &["10.1.1.10"], &[], after);
        let f = found
            .iter()
            .find(|f| f.0.starts_with("srst-fallback"))
            .unwrap();
        assert_eq!(f.1, rules::Severity::Warning);
        assert!(f.0.contains("default gateway (DHCP option 3)"), "{}", f.0);
        assert!(
            !found.iter().any(|f| f.0.starts_with("cucm-failover")),
            "{found:?}"
        );
        // Registered with its own call manager: neither.
        let found = judged(&[], &["10.1.1.10"], &[], register(cm));
        assert!(found.is_empty(), "{found:?}");
        // The same, under security mode 2: the clear Register is said.
        SECURITY.with(|c| c.set(Some(2)));
        let found = judged(&[], &["10.1.1.10"], &[], register(cm));
        SECURITY.with(|c| c.set(None));
        let f = found
            .iter()
            .find(|f| f.0.starts_with("secure-register-failed"))
            .unwrap();
        assert_eq!(f.1, rules::Severity::Error);
        assert!(f.0.contains("authenticated (2)"), "{}", f.0);
    }
}
