//! What a phone should do next, given what it was last seen doing and what the
//! network answered: the model's boot logic read forwards, with the deadlines of
//! [`super::timing`]. The analyzer states it for a stalled phone ("after the ACK
//! with option 150 = 10.1.1.5 a phone asks 10.1.1.5 for CTLSEP….tlv within 2.2 s;
//! nothing came in 60 s").

use std::net::Ipv4Addr;

use super::timing::{self, deadline};
use super::truth::Stage;
use crate::link::MacAddr;
use crate::timeline::FileClass;

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
    /// A file request (TFTP RRQ or HTTP GET) to a server.
    FileRequest {
        /// The file.
        file: String,
        /// What it is.
        class: FileClass,
        /// The server.
        server: Ipv4Addr,
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
    /// The stage the next step belongs to.
    pub stage: Stage,
    /// What should be seen, in words an engineer reads in a report.
    pub expect: String,
    /// It should come within this many milliseconds of the step seen.
    pub within_ms: i64,
    /// The boot ends here: the phone has nothing left to try (`expect` says why).
    pub dead_end: bool,
}

/// What a phone should do after `seen`.
pub fn next(mac: MacAddr, seen: &Seen) -> Prediction {
    let sep = format!("SEP{}", mac.to_sep_hex());
    let p = |stage, expect: String, within_ms| Prediction {
        stage,
        expect,
        within_ms,
        dead_end: false,
    };
    let end = |stage, why: String| Prediction {
        stage,
        expect: why,
        within_ms: 0,
        dead_end: true,
    };
    match seen {
        Seen::PhoneDiscovery => p(
            Stage::Discovery,
            "the switch answers the phone's CDP / LLDP-MED with its voice VLAN".into(),
            deadline(timing::SWITCH_REPLY),
        ),
        Seen::SwitchAnswer {
            voice_vlan: Some(v),
        } => p(
            Stage::Dhcp,
            format!("a DHCP DISCOVER tagged with VLAN {v}"),
            deadline(timing::VLAN_TO_DHCP),
        ),
        Seen::SwitchAnswer { voice_vlan: None } => p(
            Stage::Dhcp,
            "a DHCP DISCOVER on the native VLAN, after the phone gives up waiting for a voice VLAN"
                .into(),
            deadline(timing::NO_VLAN_TO_DHCP),
        ),
        Seen::DhcpDiscover => p(
            Stage::Dhcp,
            "a DHCP OFFER from the server through the VLAN's relay (ip helper-address)".into(),
            deadline(timing::DHCP_SERVER),
        ),
        Seen::DhcpOffer => p(
            Stage::Dhcp,
            "the phone's DHCP REQUEST for the offered address".into(),
            deadline(timing::OFFER_TO_REQUEST),
        ),
        Seen::DhcpRequest => p(
            Stage::Dhcp,
            "a DHCP ACK (or NAK) from the server".into(),
            deadline(timing::DHCP_SERVER),
        ),
        Seen::DhcpAck { tftp } => match tftp.first() {
            Some(server) => p(
                Stage::Config,
                format!(
                    "a request to {server} for CTL{sep}.tlv (TFTP, or HTTP on TCP 6970 for newer \
                     models)"
                ),
                deadline(timing::ACK_TO_FIRST_FILE),
            ),
            None => end(
                Stage::Config,
                "nothing: without option 150 or 66 the phone has no TFTP server to ask".into(),
            ),
        },
        Seen::DhcpNak => p(
            Stage::Dhcp,
            "a new DHCP DISCOVER as the phone starts over".into(),
            deadline(timing::NAK_TO_DISCOVER),
        ),
        Seen::FileRequest {
            file,
            class,
            server,
        } => p(
            class.stage(),
            format!("{server} answers the request for {file} (data, or an error)"),
            deadline(timing::FILE_SERVER),
        ),
        Seen::FileNotFound { file, class } | Seen::FileReceived { file, class } => {
            let found = matches!(seen, Seen::FileReceived { .. });
            match next_file_after(&sep, file, *class, found) {
                Next::Step(stage, expect) => p(stage, expect, deadline(timing::BETWEEN_FILES)),
                Next::End(stage, why) => end(stage, why),
            }
        }
        Seen::ConfigDone {
            new_load: Some(load),
            ..
        } => p(
            Stage::Firmware,
            format!("a request for {load}.loads, then the load's image files"),
            deadline(timing::CONFIG_TO_FIRMWARE),
        ),
        Seen::ConfigDone {
            new_load: None,
            callmanager,
        } => p(
            Stage::Registration,
            match callmanager {
                Some(cm) => format!("a TCP SYN (or SIP REGISTER) to the first call manager, {cm}"),
                None => "a connection to the first call manager of the configuration".into(),
            },
            deadline(timing::CONFIG_TO_CONNECT),
        ),
        Seen::Syn { callmanager } => p(
            Stage::Registration,
            format!("a SYN-ACK from {callmanager}"),
            deadline(timing::CM_ANSWER),
        ),
        Seen::Connected => p(
            Stage::Registration,
            "the phone's SCCP Register or SIP REGISTER".into(),
            deadline(timing::CONNECT_TO_REGISTER),
        ),
        Seen::Register => p(
            Stage::Registration,
            "a RegisterAck / 200 OK (or a reject) from the call manager".into(),
            deadline(timing::CM_ANSWER),
        ),
        Seen::Registered => p(
            Stage::Registration,
            "keepalives (SCCP every 30 s, SIP re-REGISTER before Expires)".into(),
            30_000 * 2 + 1000,
        ),
    }
}

/// What follows a file's answer: a step, or the end of the boot.
#[derive(Debug)]
enum Next {
    Step(Stage, String),
    End(Stage, String),
}

impl Next {
    #[cfg(test)]
    fn text(&self) -> &str {
        match self {
            Next::Step(_, t) | Next::End(_, t) => t,
        }
    }
}

/// The request after `file`, in the order CTL → ITL → SEP config → XMLDefault.
fn next_file_after(sep: &str, file: &str, class: FileClass, found: bool) -> Next {
    if class == FileClass::Ctl {
        Next::Step(Stage::Config, format!("a request for ITL{sep}.tlv"))
    } else if class == FileClass::Itl {
        Next::Step(Stage::Config, format!("a request for {sep}.cnf.xml"))
    } else if class == FileClass::DeviceConfig && !found {
        Next::Step(
            Stage::Config,
            "a request for XMLDefault.cnf.xml (auto-registration)".into(),
        )
    } else if class == FileClass::DefaultConfig && !found {
        Next::End(
            Stage::Config,
            "nothing more: with neither its own configuration nor XMLDefault the phone cannot go on"
                .into(),
        )
    } else if class == FileClass::Firmware && !found {
        Next::End(
            Stage::Firmware,
            "nothing more: the load is missing on the server".into(),
        )
    } else if class == FileClass::Firmware && file.ends_with(".sbn") {
        // The model's loads end with their .sbn image: after it, the phone reboots.
        Next::Step(
            Stage::Firmware,
            "a reboot: the phone's CDP and DHCP again, now running the new load".into(),
        )
    } else {
        Next::Step(
            Stage::Registration,
            "the load check, then a connection to the first call manager".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{fleet, sim};

    const MAC: MacAddr = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);

    #[test]
    fn after_the_ack_the_phone_asks_the_first_tftp_server_for_its_ctl() {
        let pr = next(
            MAC,
            &Seen::DhcpAck {
                tftp: vec![Ipv4Addr::new(10, 1, 1, 5), Ipv4Addr::new(10, 1, 1, 6)],
            },
        );
        assert_eq!(pr.stage, Stage::Config);
        assert!(pr.expect.contains("10.1.1.5"), "{}", pr.expect);
        assert!(
            pr.expect.contains("CTLSEP001B54AA0001.tlv"),
            "{}",
            pr.expect
        );
        assert_eq!(pr.within_ms, timing::ACK_TO_FIRST_FILE.1 * 2 + 1000);
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
        let pr = next(MAC, &Seen::DhcpAck { tftp: Vec::new() });
        assert_eq!(pr.within_ms, 0);
        assert!(pr.dead_end);
        assert!(pr.expect.contains("option 150 or 66"));
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
        let limit = deadline(timing::ACK_TO_FIRST_FILE) as f64 / 1000.0;
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
