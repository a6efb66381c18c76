//! What a phone should do next, given what it was last seen doing and what the
//! network answered: the model's boot logic read forwards. Each prediction leads to a
//! step of the boot sequence, whose stage it takes, and is timed by the sequence's own
//! ranges ([`super::timing`]): the step's `model_ms`, or the phone's `model_timing`.
//! The analyzer states it for a stalled phone ("after the ACK with option 150 =
//! 10.1.1.5 a phone asks 10.1.1.5 for CTLSEP….tlv within 2.2 s; nothing came in 60 s").

use std::net::Ipv4Addr;

use rules::{ModelTiming, MsRange};

use super::timing::{deadline, StepTiming, Timing};
use super::truth::Stage;
use crate::link::MacAddr;
use crate::timeline::{FileClass, FileTransport};

/// The last step seen for a phone (and what the network answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The phone's own CDP / LLDP-MED (it powered on).
    PhoneDiscovery,
    /// The switch answered, with a voice VLAN or without one.
    SwitchAnswer {
        /// The voice VLAN offered.
        voice_vlan: Option<u16>,
    },
    /// An 802.1X message of the port's exchange short of its end (EAPOL-Start, an
    /// identity asked or given, a method).
    PortAuthenticating,
    /// EAP-Success: the port lets the phone in.
    PortAuthorised,
    /// EAP-Failure: the port stays shut.
    PortRefused,
    /// A DISCOVER.
    DhcpDiscover,
    /// An OFFER.
    DhcpOffer,
    /// A REQUEST.
    DhcpRequest,
    /// An ACK, with the TFTP servers it named (option 150, or 66 as an address).
    DhcpAck {
        /// The TFTP servers, in order.
        tftp: Vec<Ipv4Addr>,
    },
    /// A NAK.
    DhcpNak,
    /// The phone's DECLINE: the address it was given is taken.
    DhcpDecline,
    /// A file request (TFTP RRQ or HTTP GET) to a server.
    FileRequest {
        /// The file.
        file: String,
        /// What it is.
        class: FileClass,
        /// The server.
        server: Ipv4Addr,
        /// How the file travels.
        via: FileTransport,
    },
    /// A file was not found.
    FileNotFound {
        /// The file.
        file: String,
        /// What it is.
        class: FileClass,
    },
    /// A file arrived complete.
    FileReceived {
        /// The file.
        file: String,
        /// What it is.
        class: FileClass,
    },
    /// The configuration is in; its load differs from the running one or not.
    ConfigDone {
        /// The load it names, when it differs from the running load.
        new_load: Option<String>,
        /// The first call manager.
        callmanager: Option<Ipv4Addr>,
    },
    /// A SYN to a call manager.
    Syn {
        /// The call manager.
        callmanager: Ipv4Addr,
    },
    /// The call manager accepted the connection.
    Connected,
    /// An SCCP Register or SIP REGISTER.
    Register,
    /// A registration succeeded.
    Registered,
}

/// What should come next, and by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prediction {
    /// The stage of the sequence's step the predicted message reaches, or leads to (the
    /// phone's request leads to the step its answer reaches).
    pub stage: Stage,
    /// What should be seen, in words an engineer reads in a report.
    pub expect: String,
    /// It should come within this many milliseconds of the step seen.
    pub within_ms: i64,
    /// The boot ends here: the phone has nothing left to try (`expect` says why).
    pub dead_end: bool,
}

/// What a phone should do after `seen`, timed by `t`. `None` when the sequence lacks the step
/// the prediction leads to, or the range it would be timed by: the model says nothing then
/// rather than make a number up.
pub fn next(mac: MacAddr, seen: &Seen, t: &Timing<'_>) -> Option<Prediction> {
    let sep = format!("SEP{}", mac.to_sep_hex());
    let model = t.model;
    // The event that reaches step `s`, within the step's own range.
    let step = |s: Option<StepTiming>, expect: String| {
        let s = s?;
        Some(Prediction {
            stage: s.stage,
            expect,
            within_ms: deadline(s.ms?),
            dead_end: false,
        })
    };
    // The phone's own move towards step `s`, within one of the model's ranges.
    let phone = |s: Option<StepTiming>, expect: String, range: fn(&ModelTiming) -> MsRange| {
        Some(Prediction {
            stage: s?.stage,
            expect,
            within_ms: deadline(range(&model?)),
            dead_end: false,
        })
    };
    let end = |s: Option<StepTiming>, why: String| {
        Some(Prediction {
            stage: s?.stage,
            expect: why,
            within_ms: 0,
            dead_end: true,
        })
    };
    let answer_to = |class| t.file(class, None);
    // The connection to the call manager, or the Register when none is made (SIP over UDP).
    let connect = t.connected.or_else(|| t.register(None));
    match seen {
        Seen::PhoneDiscovery => step(
            t.switch_answer,
            "the switch answers the phone's CDP / LLDP-MED with its voice VLAN".into(),
        ),
        Seen::SwitchAnswer {
            voice_vlan: Some(v),
        } => step(t.discover, format!("a DHCP DISCOVER tagged with VLAN {v}")),
        Seen::SwitchAnswer { voice_vlan: None } => phone(
            t.discover,
            "a DHCP DISCOVER on the native VLAN, after the phone gives up waiting for a voice VLAN"
                .into(),
            |m| m.no_voice_vlan_ms,
        ),
        Seen::PortAuthenticating => step(
            t.port_auth,
            "EAP-Success from the switch port once the RADIUS server accepts the phone's \
             identity and certificate"
                .into(),
        ),
        Seen::PortAuthorised => phone(
            t.discover,
            "a DHCP DISCOVER now that the port lets the phone in".into(),
            |m| m.dot1x_success_to_discover_ms,
        ),
        Seen::PortRefused => phone(
            t.port_auth,
            "the switch port asking for the identity again after its quiet period, and \
             EAP-Success only once the server accepts the phone: until then its DISCOVERs \
             go nowhere"
                .into(),
            |m| MsRange {
                lo: m.dot1x_quiet_period_ms,
                hi: m.dot1x_quiet_period_ms,
            },
        ),
        Seen::DhcpDiscover => step(
            t.offer,
            "a DHCP OFFER from the server through the VLAN's relay (ip helper-address)".into(),
        ),
        Seen::DhcpOffer => step(
            t.request,
            "the phone's DHCP REQUEST for the offered address".into(),
        ),
        Seen::DhcpRequest => step(t.ack, "a DHCP ACK (or NAK) from the server".into()),
        Seen::DhcpAck { tftp } => match tftp.first() {
            Some(server) => phone(
                answer_to(FileClass::Ctl),
                format!(
                    "a request to {server} for CTL{sep}.tlv (TFTP, or HTTP on TCP 6970 for newer \
                     models)"
                ),
                |m| m.ack_to_first_file_ms,
            ),
            None => end(
                answer_to(FileClass::Ctl),
                "nothing: without option 150 or 66 the phone has no TFTP server to ask".into(),
            ),
        },
        Seen::DhcpNak => phone(
            t.discover,
            "a new DHCP DISCOVER as the phone starts over".into(),
            |m| m.nak_to_discover_ms,
        ),
        Seen::DhcpDecline => phone(
            t.discover,
            "a new DHCP DISCOVER as the phone starts over for another address".into(),
            |m| m.decline_to_discover_ms,
        ),
        Seen::FileRequest {
            file,
            class,
            server,
            via,
        } => step(
            t.file(*class, Some(*via)),
            format!("{server} answers the request for {file} (data, or an error)"),
        ),
        Seen::FileNotFound { file, class } | Seen::FileReceived { file, class } => {
            let found = matches!(seen, Seen::FileReceived { .. });
            match next_file_after(&sep, file, *class, found) {
                Next::File(class, expect) => {
                    phone(answer_to(class), expect, |m| m.between_files_ms)
                }
                Next::Reboot(expect) => phone(answer_to(FileClass::Firmware), expect, |m| {
                    m.firmware_reboot_ms
                }),
                Next::Connect(expect) => phone(connect, expect, |m| m.between_files_ms),
                Next::End(class, why) => end(answer_to(class), why),
            }
        }
        Seen::ConfigDone {
            new_load: Some(load),
            ..
        } => phone(
            answer_to(FileClass::Firmware),
            format!("a request for {load}.loads, then the load's image files"),
            |m| m.config_to_firmware_ms,
        ),
        Seen::ConfigDone {
            new_load: None,
            callmanager,
        } => phone(
            connect,
            match callmanager {
                Some(cm) => format!("a TCP SYN (or SIP REGISTER) to the first call manager, {cm}"),
                None => "a connection to the first call manager of the configuration".into(),
            },
            |m| m.config_to_connect_ms,
        ),
        Seen::Syn { callmanager } => step(t.connected, format!("a SYN-ACK from {callmanager}")),
        Seen::Connected => step(
            t.register(None),
            "the phone's SCCP Register or SIP REGISTER".into(),
        ),
        Seen::Register => step(
            t.registered,
            "a RegisterAck / 200 OK (or a reject) from the call manager".into(),
        ),
        Seen::Registered => phone(
            t.registered,
            "keepalives (SCCP every 30 s, SIP re-REGISTER before Expires)".into(),
            |m| MsRange {
                lo: m.keepalive_sccp_ms,
                hi: m.keepalive_sccp_ms,
            },
        ),
    }
}

/// What follows a file's answer.
#[derive(Debug)]
enum Next {
    /// A request for a file of this class.
    File(FileClass, String),
    /// The phone reboots into its new load.
    Reboot(String),
    /// The phone connects to its call manager.
    Connect(String),
    /// The boot ends, at the step of files of this class.
    End(FileClass, String),
}

impl Next {
    #[cfg(test)]
    fn text(&self) -> &str {
        match self {
            Next::File(_, t) | Next::Reboot(t) | Next::Connect(t) | Next::End(_, t) => t,
        }
    }
}

/// The request after `file`, in the order CTL → ITL → SEP config → XMLDefault.
fn next_file_after(sep: &str, file: &str, class: FileClass, found: bool) -> Next {
    if class == FileClass::Ctl {
        Next::File(FileClass::Itl, format!("a request for ITL{sep}.tlv"))
    } else if class == FileClass::Itl {
        Next::File(
            FileClass::DeviceConfig,
            format!("a request for {sep}.cnf.xml"),
        )
    } else if class == FileClass::DeviceConfig && !found {
        Next::File(
            FileClass::DefaultConfig,
            "a request for XMLDefault.cnf.xml (auto-registration)".into(),
        )
    } else if class == FileClass::DefaultConfig && !found {
        Next::End(
            FileClass::DefaultConfig,
            "nothing more: with neither its own configuration nor XMLDefault the phone cannot go on"
                .into(),
        )
    } else if class == FileClass::Firmware && !found {
        Next::End(
            FileClass::Firmware,
            "nothing more: the load is missing on the server".into(),
        )
    } else if class == FileClass::Firmware && file.ends_with(".sbn") {
        // The model's loads end with their .sbn image: after it, the phone reboots.
        Next::Reboot("a reboot: the phone's CDP and DHCP again, now running the new load".into())
    } else {
        Next::Connect("the load check, then a connection to the first call manager".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{fleet, sim};

    const MAC: MacAddr = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);

    fn builtin() -> Timing<'static> {
        Timing::builtin().unwrap()
    }

    fn model() -> ModelTiming {
        builtin().model.unwrap()
    }

    #[test]
    fn after_the_ack_the_phone_asks_the_first_tftp_server_for_its_ctl() {
        let pr = next(
            MAC,
            &Seen::DhcpAck {
                tftp: vec![Ipv4Addr::new(10, 1, 1, 5), Ipv4Addr::new(10, 1, 1, 6)],
            },
            &builtin(),
        )
        .unwrap();
        assert_eq!(pr.stage, Stage::Config);
        assert!(pr.expect.contains("10.1.1.5"), "{}", pr.expect);
        assert!(
            pr.expect.contains("CTLSEP001B54AA0001.tlv"),
            "{}",
            pr.expect
        );
        assert_eq!(pr.within_ms, model().ack_to_first_file_ms.hi * 2 + 1000);
    }

    #[test]
    fn file_order_follows_the_boot() {
        let classes = crate::analyze::load_rules(None).unwrap().files;
        let f = |file: &str, found| {
            next_file_after("SEP001B54AA0001", file, classes.classify(file), found)
        };
        assert!(f("CTLSEP001B54AA0001.tlv", false)
            .text()
            .contains("ITLSEP001B54AA0001.tlv"));
        assert!(f("ITLSEP001B54AA0001.tlv", false)
            .text()
            .contains("SEP001B54AA0001.cnf.xml"));
        assert!(f("SEP001B54AA0001.cnf.xml", false)
            .text()
            .contains("XMLDefault"));
        assert!(matches!(f("XMLDefault.cnf.xml", false), Next::End(..)));
        assert!(matches!(
            f("SCCP70.9-4-2SR3-1S.loads", false),
            Next::End(..)
        ));
        assert!(f("SCCP70.9-4-2SR3-1S.sbn", true).text().contains("reboot"));
    }

    #[test]
    fn no_tftp_server_means_no_next_step() {
        let pr = next(MAC, &Seen::DhcpAck { tftp: Vec::new() }, &builtin()).unwrap();
        assert_eq!(pr.within_ms, 0);
        assert!(pr.dead_end);
        assert!(pr.expect.contains("option 150 or 66"));
    }

    #[test]
    fn a_prediction_takes_the_stage_and_range_of_the_step_it_leads_to() {
        let t = builtin();
        let syn = Seen::Syn {
            callmanager: Ipv4Addr::new(10, 1, 1, 10),
        };
        let pr = next(MAC, &syn, &t).unwrap();
        let connect = t.connected.unwrap();
        assert_eq!(pr.stage, connect.stage);
        assert_eq!(pr.within_ms, deadline(connect.ms.unwrap()));
        // A file request: the step its answer reaches, by class and transport.
        let request = |file: &str, class| Seen::FileRequest {
            file: file.into(),
            class,
            server: Ipv4Addr::new(10, 1, 1, 5),
            via: FileTransport::Tftp,
        };
        let pr = next(MAC, &request("SCCP70.loads", FileClass::Firmware), &t).unwrap();
        assert_eq!(pr.stage, Stage::Firmware);
        assert_eq!(pr.within_ms, 20 * 2 + 1000);
        // A file no step is about: the model does not say when it is answered.
        assert_eq!(
            next(MAC, &request("RingList.xml", FileClass::Other), &t),
            None
        );
        // After the last image the phone reboots, in the model's time for that.
        let image = Seen::FileReceived {
            file: "SCCP70.sbn".into(),
            class: FileClass::Firmware,
        };
        let pr = next(MAC, &image, &t).unwrap();
        assert_eq!(pr.stage, Stage::Firmware);
        assert_eq!(pr.within_ms, deadline(model().firmware_reboot_ms));
    }

    #[test]
    fn after_a_decline_a_new_discover_comes_in_the_model_s_time() {
        let t = Timing::builtin().unwrap();
        let pr = next(MAC, &Seen::DhcpDecline, &t).unwrap();
        assert_eq!(pr.stage, Stage::Dhcp);
        assert!(pr.expect.contains("another address"), "{}", pr.expect);
        assert_eq!(pr.within_ms, deadline(model().decline_to_discover_ms));
        // Ten seconds at least (RFC 2131 §3.1), so the deadline is later than a NAK's.
        assert!(pr.within_ms > next(MAC, &Seen::DhcpNak, &t).unwrap().within_ms);
    }

    #[test]
    fn without_the_range_in_the_sequence_the_model_says_nothing() {
        let vocab = crate::engine::facts::vocabulary();
        let load = |text: &str| rules::Sequence::from_json("seq.json", text, &vocab).unwrap();
        // The OFFER's step without its model_ms: no OFFER predicted after a DISCOVER.
        let seq = load(&rules::BUILTIN_SEQUENCE.replace("\"model_ms\": [2, 30], ", ""));
        let t = Timing::new(&seq);
        assert_eq!(next(MAC, &Seen::DhcpDiscover, &t), None);
        assert!(next(MAC, &Seen::PhoneDiscovery, &t).is_some());
        // Without model_timing: nothing the phone does of itself, the steps' answers still.
        let text = rules::BUILTIN_SEQUENCE;
        let cut = text.find(",\n  \"model_timing\"").unwrap();
        let seq = load(&format!("{}\n}}\n", &text[..cut]));
        let t = Timing::new(&seq);
        assert_eq!(t.model, None);
        assert_eq!(next(MAC, &Seen::DhcpNak, &t), None);
        assert!(next(MAC, &Seen::DhcpDiscover, &t).is_some());
    }

    #[test]
    fn every_simulated_healthy_boot_meets_the_predicted_deadlines() {
        // The model's own output keeps the promises its predictions make: the time
        // from each DHCP ACK to the phone's next request is within the deadline.
        let mut sc = fleet::scenario(60, 5, 400);
        for p in &mut sc.phones {
            p.faults.clear();
            p.already_registered = false;
        }
        let (pcap, _) = sim::Sim::new(&sc, Vec::new()).unwrap().run().unwrap();
        let path = std::env::temp_dir().join("bootscope-predict-deadlines.pcap");
        std::fs::write(&path, &pcap).unwrap();
        let mut out = Vec::new();
        crate::dissect::run(&path, crate::dissect::Format::Json, &mut out).unwrap();
        let msgs: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let limit = deadline(model().ack_to_first_file_ms) as f64 / 1000.0;
        let mut checked = 0;
        let end = sc.start_epoch as f64 + sc.duration_s as f64;
        // Phones' ACKs (PCs get no TFTP server), early enough to see what follows.
        let acks = msgs.iter().filter(|m| {
            m["message_type"] == "ACK"
                && m["tftp_servers"].is_array()
                && m["time"].as_str().unwrap().parse::<f64>().unwrap() < end - 5.0
        });
        for ack in acks {
            let ip = ack["yiaddr"].as_str().unwrap();
            let t0: f64 = ack["time"].as_str().unwrap().parse().unwrap();
            let first = msgs
                .iter()
                .filter(|m| m["src_ip"] == ip && (m["proto"] == "tftp" || m["proto"] == "http"))
                .filter_map(|m| m["time"].as_str().and_then(|t| t.parse::<f64>().ok()))
                .find(|&t| t >= t0)
                .unwrap_or_else(|| panic!("{ip}: no request after the ACK"));
            assert!(first - t0 <= limit, "{ip}: {} s", first - t0);
            checked += 1;
        }
        assert!(checked >= 40, "{checked}");
    }
}
