//! A phone's ladder diagram as data: the lanes (phone, switch, DHCP server, each
//! TFTP/HTTP server, each call manager), one row per message or group of
//! retransmissions, and the stall: where the expected next message never came, with
//! the lane and direction the reference model predicts for it. Everything that
//! decides what is drawn is here; the page's script only places it.

use serde::Serialize;

use crate::report::{PhoneReport, Status};
use crate::timeline::EventType;
use rules::{Severity, Stage};

/// Row flag: the message went either way (TLS data): drawn with two heads.
pub const FLAG_BOTH_WAYS: u8 = 1;
/// Row flag: a frame of the row is evidence of an error finding.
pub const FLAG_ERROR_EVIDENCE: u8 = 2;
/// Row flag: a frame of the row is evidence of a warning.
pub const FLAG_WARNING_EVIDENCE: u8 = 4;

/// One lane.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lane {
    /// `phone`, `switch`, `authenticator` (the switch port's 802.1X), `dhcp_server`,
    /// `file_server` or `call_manager`.
    pub role: &'static str,
    /// The heading (`TFTP/HTTP`, `call manager`, or the phone's name).
    pub label: String,
    /// The address under it, when known.
    pub addr: Option<String>,
}

/// One arrow: `[time, frame, from lane, to lane, type, stage, text, flags]`, an array
/// in the page's data to keep 10 000 phones small. `from == to` is a note on that
/// lane (a message with no peer, such as a malformed one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row<'a>(
    pub f64,
    pub u64,
    pub usize,
    pub usize,
    pub usize,
    pub usize,
    pub &'a str,
    pub u8,
);

/// Retransmissions (or repeats) of a row: the same message again, to the same peer,
/// with nothing in between. `[row index, [[time, frame], …]]`, the first excluded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group(pub usize, pub Vec<(f64, u64)>);

/// Where the boot stopped, or where the capture ended on a boot still going.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stall {
    /// `stalled`, or `pending` for a phone still booting when the capture ended.
    pub kind: &'static str,
    /// Drawn after this row (rows.len() - 1 at most).
    pub after_row: usize,
    /// The predicted message's lanes (`from`, `to`), when the model predicts one.
    pub from: Option<usize>,
    /// See `from`.
    pub to: Option<usize>,
    /// The label: what was expected, and within what.
    pub label: String,
    /// How long nothing came (or how much later the capture ended).
    pub waited: String,
}

/// Everything the page needs about one phone.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneView<'a> {
    /// Heading: device name, else MAC.
    pub name: &'a str,
    /// MAC.
    pub mac: Option<&'a str>,
    /// Identity lines (`[key, value]`), already worded.
    pub facts: Vec<(&'static str, String)>,
    /// registered, stalled, in_progress.
    pub status: &'static str,
    /// The lanes, phone first.
    pub lanes: Vec<Lane>,
    /// The arrows.
    pub rows: Vec<Row<'a>>,
    /// Grouped retransmissions.
    pub groups: Vec<Group>,
    /// The row the last boot starts at, when the phone booted more than once.
    pub boot_row: Option<usize>,
    /// Boots seen.
    pub boots: u32,
    /// The stall marker.
    pub stall: Option<Stall>,
    /// "Expected next" lines, for a phone not registered.
    pub expected: Vec<String>,
    /// Findings: `[severity, code, stage, message, evidence frames]`.
    pub findings: Vec<(&'static str, &'a str, &'static str, &'a str, &'a [u64])>,
    /// The next checks, in order.
    pub checks: Vec<&'a str>,
    /// Timeline entries the engine did not keep.
    pub dropped: u64,
}

/// The event type names, in the order rows refer to them.
pub fn type_names() -> Vec<&'static str> {
    EventType::ALL.iter().map(|t| t.name()).collect()
}

fn type_index(name: &str) -> usize {
    EventType::ALL
        .iter()
        .position(|t| t.name() == name)
        .unwrap_or(0)
}

fn stage_index(stage: Stage) -> usize {
    Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0)
}

fn lane_label(role: &str) -> &'static str {
    match role {
        "switch" => "switch",
        "authenticator" => "switch port (802.1X)",
        "dhcp_server" => "DHCP server",
        "file_server" => "TFTP/HTTP",
        "dns_server" => "DNS server",
        _ => "call manager",
    }
}

/// The lanes: phone, switch, the switch port as 802.1X authenticator when the boot
/// has EAPOL, DHCP server (one lane, with every server address seen), then each DNS
/// server (when the boot looked names up), each file server and each call manager in
/// order of first appearance. A role whose address is never known gets one lane without
/// address. An ICMP error is drawn from the lane of the server the phone's packet was
/// for.
struct Lanes {
    lanes: Vec<Lane>,
}

impl Lanes {
    fn new(p: &PhoneReport) -> Self {
        let phone = Lane {
            role: "phone",
            label: p
                .device_name
                .clone()
                .or_else(|| p.mac.clone())
                .unwrap_or_else(|| "phone".into()),
            addr: p.ip.clone(),
        };
        let fixed = |role: &'static str| Lane {
            role,
            label: lane_label(role).into(),
            addr: None,
        };
        Lanes {
            lanes: vec![phone, fixed("switch"), fixed("dhcp_server")],
        }
    }

    /// The lane of a peer, added when new.
    fn of(&mut self, role: &'static str, addr: Option<&str>) -> usize {
        let at = |lanes: &[Lane], role: &str| lanes.iter().position(|l| l.role == role);
        match role {
            "switch" => at(&self.lanes, "switch").unwrap_or(1),
            // Beside the switch, before the DHCP server: the port opens before DHCP.
            "authenticator" => at(&self.lanes, role).unwrap_or_else(|| {
                let after = at(&self.lanes, "switch").map_or(1, |i| i + 1);
                self.lanes.insert(
                    after,
                    Lane {
                        role,
                        label: lane_label(role).into(),
                        addr: None,
                    },
                );
                after
            }),
            "dhcp_server" => {
                let i = at(&self.lanes, role).unwrap_or(2);
                if let (Some(a), Some(l)) = (addr, self.lanes.get_mut(i)) {
                    match &mut l.addr {
                        Some(list) if list.split(", ").any(|x| x == a) => {}
                        // A few servers at most: a NAK from a rogue, a second scope.
                        Some(list) if list.len() < 80 => {
                            list.push_str(", ");
                            list.push_str(a);
                        }
                        Some(_) => {}
                        None => l.addr = Some(a.to_owned()),
                    }
                }
                i
            }
            _ => {
                let found = self.lanes.iter().position(|l| {
                    l.role == role
                        && match addr {
                            Some(a) => l.addr.as_deref() == Some(a),
                            // No address: the lane of that role drawn last, else a new one.
                            None => true,
                        }
                });
                let found = match (found, addr) {
                    (Some(i), None) => self.lanes.iter().rposition(|l| l.role == role).or(Some(i)),
                    (f, _) => f,
                };
                found.unwrap_or_else(|| {
                    // Keep the roles together: DNS servers, then file servers, then call
                    // managers.
                    let after: &[&str] = match role {
                        "dns_server" => &["file_server", "call_manager"],
                        "file_server" => &["call_manager"],
                        _ => &[],
                    };
                    let at = self
                        .lanes
                        .iter()
                        .position(|l| after.contains(&l.role))
                        .unwrap_or(self.lanes.len());
                    self.lanes.insert(
                        at,
                        Lane {
                            role,
                            label: lane_label(role).into(),
                            addr: addr.map(str::to_owned),
                        },
                    );
                    at
                })
            }
        }
    }
}

fn role_name(role: &str) -> Option<&'static str> {
    [
        "switch",
        "authenticator",
        "dhcp_server",
        "dns_server",
        "file_server",
        "call_manager",
    ]
    .into_iter()
    .find(|r| *r == role)
}

/// Build one phone's view.
pub fn view(p: &PhoneReport) -> PhoneView<'_> {
    // Lanes of a file server inserted before the call managers shift the indices
    // of later lanes: collect every peer first, then place the rows.
    let mut lanes = Lanes::new(p);
    for e in &p.timeline {
        if let Some(role) = e.peer_role.and_then(role_name) {
            lanes.of(role, e.peer.as_deref());
        }
    }
    let model = p.expected_next.as_ref().and_then(|x| x.model.as_ref());
    if let Some(role) = model.and_then(|m| m.peer_role).and_then(role_name) {
        let addr = model.and_then(|m| m.peer.as_deref());
        // A predicted peer without an address is the one of that role seen last.
        if addr.is_some() || !lanes.lanes.iter().any(|l| l.role == role) {
            lanes.of(role, addr);
        }
    }

    let evidence = |frame: u64, sev: Severity| {
        p.findings
            .iter()
            .any(|f| f.severity == sev && f.evidence.contains(&frame))
    };
    let flags_of = |frame: u64| {
        let mut f = 0;
        if evidence(frame, Severity::Error) {
            f |= FLAG_ERROR_EVIDENCE;
        }
        if evidence(frame, Severity::Warning) {
            f |= FLAG_WARNING_EVIDENCE;
        }
        f
    };

    let mut rows: Vec<Row<'_>> = Vec::with_capacity(p.timeline.len());
    let mut groups: Vec<Group> = Vec::new();
    let mut boot_row = None;
    let mut prev: Option<&crate::report::TimelineEntry> = None;
    for e in &p.timeline {
        let same = prev.is_some_and(|q| {
            q.kind == e.kind
                && q.event == e.event
                && q.peer_role == e.peer_role
                && q.peer == e.peer
                && q.dir == e.dir
        });
        prev = Some(e);
        if same {
            let row = rows.len().saturating_sub(1);
            if let Some(r) = rows.last_mut() {
                r.7 |= flags_of(e.frame);
            }
            match groups.last_mut() {
                Some(g) if g.0 == row => g.1.push((e.time.as_secs(), e.frame)),
                _ => groups.push(Group(row, vec![(e.time.as_secs(), e.frame)])),
            }
            continue;
        }
        if p.boots > 1 && boot_row.is_none() && e.time >= p.boot_started && !rows.is_empty() {
            boot_row = Some(rows.len());
        }
        let peer = e
            .peer_role
            .and_then(role_name)
            .map(|role| lanes.of(role, e.peer.as_deref()));
        let (from, to) = match (peer, e.dir) {
            (None, _) => (0, 0),
            (Some(l), Some("to_phone")) => (l, 0),
            (Some(l), _) => (0, l),
        };
        let mut flags = flags_of(e.frame);
        if peer.is_some() && e.dir.is_none() {
            flags |= FLAG_BOTH_WAYS;
        }
        rows.push(Row(
            e.time.as_secs(),
            e.frame,
            from,
            to,
            type_index(e.kind),
            stage_index(e.stage),
            &e.event,
            flags,
        ));
    }

    let stall = stall(p, &rows, &groups, &mut lanes);
    let expected = expected_lines(p);
    let status = match p.stalled_stage {
        Some(s) => format!("{} at {s}", p.status.as_str()),
        None => p.status.as_str().to_owned(),
    };
    let mut facts: Vec<(&'static str, String)> = vec![("status", status)];
    let mut fact = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            facts.push((k, v));
        }
    };
    fact("MAC", p.mac.clone());
    fact("model", p.model.clone());
    fact("VLAN", p.vlan.map(|v| v.to_string()));
    fact("IP", p.ip.clone());
    fact("protocol", p.protocol.map(str::to_owned));
    fact("call manager", p.callmanager.clone());
    fact("boot time", p.boot_duration.map(|d| format!("{d:.3} s")));
    fact("boots seen", Some(p.boots.to_string()));
    fact(
        "identified by",
        Some(format!("{} ({})", p.identified_by, p.kind)),
    );
    PhoneView {
        name: p
            .device_name
            .as_deref()
            .or(p.mac.as_deref())
            .unwrap_or("(unnamed)"),
        mac: p.mac.as_deref(),
        facts,
        status: p.status.as_str(),
        lanes: lanes.lanes,
        rows,
        groups,
        boot_row,
        boots: p.boots,
        stall,
        expected,
        findings: p
            .findings
            .iter()
            .map(|f| {
                (
                    f.severity.as_str(),
                    f.code.as_str(),
                    f.stage.as_str(),
                    f.message.as_str(),
                    f.evidence.as_slice(),
                )
            })
            .collect(),
        checks: p
            .findings
            .iter()
            .flat_map(|f| &f.checks)
            .map(String::as_str)
            .collect(),
        dropped: p.timeline_dropped,
    }
}

/// The stall marker: after the row of the event the model's prediction starts from
/// (the boot's last event), else after the last row.
fn stall(p: &PhoneReport, rows: &[Row<'_>], groups: &[Group], lanes: &mut Lanes) -> Option<Stall> {
    let x = p.expected_next.as_ref()?;
    let kind = match p.status {
        Status::Stalled => "stalled",
        Status::InProgress => "pending",
        Status::Registered | Status::Seen => return None,
    };
    let last = rows.len().checked_sub(1)?;
    let model = x.model.as_ref();
    let row_of = |frame: u64| {
        rows.iter().position(|r| r.1 == frame).or_else(|| {
            groups
                .iter()
                .find(|g| g.1.iter().any(|(_, f)| *f == frame))
                .map(|g| g.0)
        })
    };
    let after_row = model.and_then(|m| row_of(m.after_frame)).unwrap_or(last);
    let (from, to) = match model.and_then(|m| Some((m.peer_role.and_then(role_name)?, m))) {
        Some((role, m)) => {
            let lane = lanes.of(role, m.peer.as_deref());
            match m.dir {
                Some("to_phone") => (Some(lane), Some(0)),
                _ => (Some(0), Some(lane)),
            }
        }
        None => (None, None),
    };
    let waited = if x.waited.as_secs() < 0.05 {
        "the capture ends here".to_owned()
    } else if kind == "stalled" {
        format!("nothing came in {:.1} s", x.waited)
    } else {
        format!("the capture ended {:.1} s later", x.waited)
    };
    let label = match model {
        Some(m) if from.is_some() => format!("expected: {} within {:.1} s", m.expect, m.within),
        Some(m) => format!("the reference model expects {}", m.expect),
        None => format!("expected: {}", x.expected.join(" or ")),
    };
    Some(Stall {
        kind,
        after_row,
        from,
        to,
        label,
        waited,
    })
}

/// The "expected next" paragraph, as the text report words it.
fn expected_lines(p: &PhoneReport) -> Vec<String> {
    let Some(x) = &p.expected_next else {
        return Vec::new();
    };
    let mut out = vec![format!(
        "After {} (frame {}), the boot sequence expects {} ({} stage) within {:.0} s; {} {:.1} s.",
        x.after,
        x.after_frame,
        x.expected.join(" or "),
        x.stage,
        x.timeout,
        if p.status == Status::Stalled {
            "nothing came in"
        } else {
            "the capture ended after"
        },
        x.waited
    )];
    if let Some(m) = &x.model {
        // A dead end has no deadline to state.
        let within = if !m.is_dead_end() {
            format!(" within {:.1} s", m.within)
        } else {
            String::new()
        };
        out.push(format!(
            "The reference model, from frame {}, predicts: {}{within}.",
            m.after_frame, m.expect
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TimelineEntry;

    fn entry(
        frame: u64,
        kind: &'static str,
        event: &str,
        peer: Option<(&'static str, &str, &'static str)>,
    ) -> TimelineEntry {
        TimelineEntry {
            time: crate::report::Seconds::from_secs(frame as f64),
            frame,
            stage: Stage::Registration,
            event: event.into(),
            kind,
            peer_role: peer.map(|p| p.0),
            peer: peer.map(|p| p.1).filter(|a| !a.is_empty()).map(Into::into),
            dir: peer.map(|p| p.2),
        }
    }

    fn phone(timeline: Vec<TimelineEntry>) -> PhoneReport {
        PhoneReport {
            mac: Some("00:11:22:33:44:55".into()),
            device_name: Some("SEP001122334455".into()),
            name_source: Some("cdp_device_id"),
            status: Status::Registered,
            stalled_stage: None,
            findings: Vec::new(),
            timeline,
            kind: "phone",
            identified_by: "test",
            model: None,
            vlan: None,
            ip: None,
            protocol: None,
            callmanager: None,
            boots: 1,
            boot_started: crate::report::Seconds::default(),
            boot_duration: None,
            expected_next: None,
            directions: "both",
            inferred_steps: Vec::new(),
            config: None,
            timeline_dropped: 0,
            inventory: None,
        }
    }

    #[test]
    fn file_servers_sit_before_call_managers_whatever_the_order_seen() {
        let cm = Some(("call_manager", "10.1.1.10", "from_phone"));
        let p = phone(vec![
            entry(1, "cm_syn", "SYN", cm),
            entry(
                2,
                "file_request",
                "RRQ",
                Some(("file_server", "10.1.1.5", "from_phone")),
            ),
            entry(
                3,
                "file_not_found",
                "not found",
                Some(("file_server", "10.1.1.5", "to_phone")),
            ),
            entry(
                4,
                "register_ack",
                "ack",
                Some(("call_manager", "10.1.1.10", "to_phone")),
            ),
            entry(5, "malformed", "malformed SIP", None),
        ]);
        let v = view(&p);
        let roles: Vec<&str> = v.lanes.iter().map(|l| l.role).collect();
        assert_eq!(
            roles,
            [
                "phone",
                "switch",
                "dhcp_server",
                "file_server",
                "call_manager"
            ]
        );
        let ends: Vec<(usize, usize)> = v.rows.iter().map(|r| (r.2, r.3)).collect();
        // The SYN placed before the file server's lane existed still points at the
        // call manager, now lane 4.
        assert_eq!(ends, [(0, 4), (0, 3), (3, 0), (4, 0), (0, 0)]);
    }

    #[test]
    fn eapol_gets_the_authenticators_lane_beside_the_switch() {
        let auth = |dir| Some(("authenticator", "", dir));
        let p = phone(vec![
            entry(
                1,
                "phone_announce",
                "CDP",
                Some(("switch", "", "from_phone")),
            ),
            entry(2, "eapol_start", "EAPOL-Start", auth("from_phone")),
            entry(3, "eap_failure", "EAP-Failure", auth("to_phone")),
            entry(
                4,
                "dhcp_discover",
                "DISCOVER",
                Some(("dhcp_server", "", "from_phone")),
            ),
        ]);
        let v = view(&p);
        let roles: Vec<&str> = v.lanes.iter().map(|l| l.role).collect();
        assert_eq!(roles, ["phone", "switch", "authenticator", "dhcp_server"]);
        let ends: Vec<(usize, usize)> = v.rows.iter().map(|r| (r.2, r.3)).collect();
        assert_eq!(ends, [(0, 1), (0, 2), (2, 0), (0, 3)]);
        // A boot without EAPOL has no such lane.
        let plain = phone(vec![entry(
            1,
            "dhcp_discover",
            "DISCOVER",
            Some(("dhcp_server", "", "from_phone")),
        )]);
        let roles: Vec<&str> = view(&plain).lanes.iter().map(|l| l.role).collect();
        assert_eq!(roles, ["phone", "switch", "dhcp_server"]);
    }

    #[test]
    fn a_dns_server_gets_its_lane_before_the_servers_it_names() {
        let p = phone(vec![
            entry(
                1,
                "file_request",
                "RRQ",
                Some(("file_server", "10.1.1.5", "from_phone")),
            ),
            entry(
                2,
                "icmp_unreachable",
                "ICMP port unreachable",
                Some(("file_server", "10.1.1.5", "to_phone")),
            ),
            entry(
                3,
                "cm_syn",
                "SYN",
                Some(("call_manager", "10.1.1.10", "from_phone")),
            ),
            entry(
                4,
                "dns_query",
                "DNS query A cucm",
                Some(("dns_server", "10.1.1.53", "from_phone")),
            ),
            entry(
                5,
                "dns_answer",
                "DNS answer",
                Some(("dns_server", "10.1.1.53", "to_phone")),
            ),
        ]);
        let v = view(&p);
        let lanes: Vec<(&str, Option<&str>)> = v
            .lanes
            .iter()
            .map(|l| (l.role, l.addr.as_deref()))
            .collect();
        assert_eq!(
            lanes,
            [
                ("phone", None),
                ("switch", None),
                ("dhcp_server", None),
                ("dns_server", Some("10.1.1.53")),
                ("file_server", Some("10.1.1.5")),
                ("call_manager", Some("10.1.1.10")),
            ]
        );
        let ends: Vec<(usize, usize)> = v.rows.iter().map(|r| (r.2, r.3)).collect();
        // The ICMP error comes from the file server's lane.
        assert_eq!(ends, [(0, 4), (4, 0), (0, 5), (0, 3), (3, 0)]);
    }

    #[test]
    fn only_the_same_message_to_the_same_peer_is_grouped() {
        let to = |a| Some(("call_manager", a, "from_phone"));
        let p = phone(vec![
            entry(1, "cm_syn", "SYN", to("10.1.1.10")),
            entry(2, "cm_syn", "SYN", to("10.1.1.10")),
            entry(3, "cm_syn", "SYN", to("10.1.1.11")),
            entry(4, "cm_syn", "SYN", to("10.1.1.10")),
        ]);
        let v = view(&p);
        assert_eq!(v.rows.len(), 3);
        assert_eq!(v.groups, [Group(0, vec![(2.0, 2)])]);
    }
}
