//! TLS between a phone and its call manager (SCCP 2443, SIP 5061, or a signalling
//! port whose connection starts with a handshake): the ClientHello, the suite the
//! ServerHello chose, alerts, the handshake finished, and an encrypted session that
//! stays up with records both ways (registered, by inference: its contents cannot
//! be read). A handshake fails on a fatal alert, a reset before it finished, or no
//! ServerHello within `tls_server_hello_ms` (`rules/windows.json`). Under a NULL
//! suite the dispatcher hands on the SCCP or SIP inside, judged as on a plain port.

use std::net::IpAddr;

use parsers::tls::{TlsAlertLevel, TlsBody, TlsContentType, TlsHandshake, TlsRecord, TlsVersion};

use super::cm;
use super::device::DeviceKey;
use super::shared::{Ctx, Shared};
use super::text::{clean, MAX_TEXT_BYTES};
use crate::dispatch::{TcpControl, TcpControlKind};
use crate::reassembly::FlowKey;
use crate::timeline::{EventKind, TlsFailure};
use crate::FastMap;

/// A connection: the phone's endpoint, then the call manager's.
type Conn = ((IpAddr, u16), (IpAddr, u16));

/// One TLS connection followed, from its ClientHello.
#[derive(Debug)]
struct Session {
    owner: DeviceKey,
    /// The ClientHello's context (for a failure found later by time).
    hello: Ctx,
    server_hello: bool,
    /// The phone went on past its ClientHello: the ServerHello came, seen or not.
    moved_on: bool,
    null: bool,
    tls13: bool,
    /// ChangeCipherSpec seen from the phone, from the call manager.
    ccs: [bool; 2],
    /// Application data records from the phone, from the call manager (before and
    /// after the handshake finished).
    data: [u32; 2],
    data_after_done: [u32; 2],
    done: bool,
    up: bool,
    failed: bool,
    last_ns: i64,
}

/// The TLS connections to call managers followed, bounded.
#[derive(Debug, Default)]
pub struct Tls {
    sessions: FastMap<Conn, Session>,
}

/// Connections followed at once, out of the transactions a table may hold: a phone
/// has one or two.
pub fn max_sessions(max_transactions: usize) -> usize {
    (max_transactions / 4).max(1)
}

/// The phone's end and the call manager's of a flow (the signalling port is the
/// call manager's), and whether the flow runs from the phone.
fn ends(flow: &FlowKey) -> Option<(Conn, bool)> {
    let a = (flow.src, flow.src_port);
    let b = (flow.dst, flow.dst_port);
    if cm::is_signalling_port(flow.dst_port) {
        Some(((a, b), true))
    } else if cm::is_signalling_port(flow.src_port) {
        Some(((b, a), false))
    } else {
        None
    }
}

impl Tls {
    /// The most heap the table takes with `max_transactions` per table.
    pub fn max_heap_bytes(max_transactions: usize) -> usize {
        let n = max_sessions(max_transactions);
        (n * 8 / 7).next_power_of_two() * (std::mem::size_of::<(Conn, Session)>() + 1)
            + n * (MAX_TEXT_BYTES + 64)
    }

    /// Connections followed.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// One TLS record of a signalling connection.
    pub fn record(&mut self, sh: &mut Shared<'_>, ctx: Ctx, r: &TlsRecord<'_>) {
        let Some(f) = ctx.flow else { return };
        let flow = FlowKey {
            src: f.src,
            dst: f.dst,
            src_port: f.sport,
            dst_port: f.dport,
        };
        let Some((conn, from_phone)) = ends(&flow) else {
            return;
        };
        let (cm_ip, port) = conn.1;
        // The session exists: said once per boot, as for any encrypted bytes.
        cm::encrypted(sh, ctx, flow);
        for h in r.handshakes() {
            if let (TlsHandshake::ClientHello(hello), true) = (h, from_phone) {
                let Some(owner) = sh.owner_of(conn.0, ctx.src_mac) else {
                    sh.unattributed += 1;
                    return;
                };
                let room = self.sessions.len() < max_sessions(sh.max_transactions);
                if !room && !self.sessions.contains_key(&conn) {
                    sh.transactions_evicted += 1;
                } else {
                    self.sessions.insert(conn, Session::new(owner.clone(), ctx));
                }
                let server_name = hello.server_name().map(|n| {
                    let n = String::from_utf8_lossy(n.get(..MAX_TEXT_BYTES).unwrap_or(n));
                    clean(&n).into()
                });
                let suites = u16::try_from(hello.cipher_suites.len()).unwrap_or(u16::MAX);
                let ev = EventKind::TlsClientHello {
                    cm: cm_ip,
                    port,
                    server_name,
                    suites,
                };
                sh.emit(&owner, ctx, ev, false);
            }
        }
        let Some(s) = self.sessions.get_mut(&conn) else {
            return;
        };
        s.last_ns = ctx.ts_ns;
        let owner = s.owner.clone();
        let mut events = Vec::new();
        let side = usize::from(!from_phone);
        // The phone's second flight (or data): a ServerHello came, seen or not (a
        // capture of the phone's side alone).
        let hello_again = r
            .handshakes()
            .iter()
            .any(|h| matches!(h, TlsHandshake::ClientHello(_)));
        if from_phone && !hello_again {
            s.moved_on = true;
        }
        for h in r.handshakes() {
            if let (TlsHandshake::ServerHello(sh_), false) = (h, from_phone) {
                s.server_hello = true;
                s.null = sh_.cipher_suite.null_mac_len().is_some();
                s.tls13 = sh_.negotiated_version() >= TlsVersion::TLS_1_3;
                events.push(EventKind::TlsServerHello {
                    cm: cm_ip,
                    port,
                    suite: sh_.cipher_suite.0,
                    null: s.null,
                });
            }
        }
        match r.body {
            TlsBody::ChangeCipherSpec(_) => {
                if let Some(c) = s.ccs.get_mut(side) {
                    *c = true;
                }
            }
            TlsBody::Alert { level, description } => {
                events.push(EventKind::TlsAlert {
                    cm: cm_ip,
                    port,
                    alert: Some((level.0, description.0)),
                    from_phone,
                });
                if level == TlsAlertLevel::FATAL && !s.carried_data() && !s.failed {
                    s.failed = true;
                    events.push(s.failure(conn, TlsFailure::Alert(Some(description.0))));
                }
            }
            TlsBody::Opaque(_) if r.content_type == TlsContentType::ALERT => {
                events.push(EventKind::TlsAlert {
                    cm: cm_ip,
                    port,
                    alert: None,
                    from_phone,
                });
                // Before the session carried data both ways: the handshake's own
                // failure (TLS 1.3 encrypts every alert after the ServerHello).
                if !s.carried_data() && !s.failed {
                    s.failed = true;
                    events.push(s.failure(conn, TlsFailure::Alert(None)));
                }
            }
            TlsBody::ApplicationData(_) => {
                if let Some(d) = s.data.get_mut(side) {
                    *d = d.saturating_add(1);
                }
                if s.done {
                    if let Some(d) = s.data_after_done.get_mut(side) {
                        *d = d.saturating_add(1);
                    }
                }
            }
            _ => {}
        }
        if !s.done && s.server_hello && !s.failed {
            // TLS 1.3 may skip ChangeCipherSpec: its handshake ends in records both ways.
            let both_data = s.data.iter().all(|&n| n > 0);
            if s.ccs == [true, true] || (s.tls13 && both_data) {
                s.done = true;
                events.push(EventKind::TlsHandshakeDone { cm: cm_ip, port });
            }
        }
        // A TLS 1.3 session's first records after the handshake may still be the
        // handshake's (tickets, the client's Finished): a second each way is data.
        let needed = if s.tls13 { 2 } else { 1 };
        if s.done && !s.up && !s.null && s.data_after_done.iter().all(|&n| n >= needed) {
            s.up = true;
            events.push(EventKind::TlsSessionUp { cm: cm_ip, port });
        }
        for ev in events {
            sh.emit(&owner, ctx, ev, false);
        }
    }

    /// A TCP reset or close on a signalling connection: a handshake not finished
    /// has failed.
    pub fn tcp(&mut self, sh: &mut Shared<'_>, ctx: Ctx, c: &TcpControl) {
        let Some((conn, _)) = ends(&c.flow) else {
            return;
        };
        let failure = match c.kind {
            TcpControlKind::Rst => TlsFailure::Reset,
            TcpControlKind::Fin => TlsFailure::NoServerHello,
            TcpControlKind::Syn | TcpControlKind::SynAck | TcpControlKind::Retransmission => return,
        };
        let Some(s) = self.sessions.get_mut(&conn) else {
            return;
        };
        let failed = match failure {
            TlsFailure::NoServerHello => !s.server_hello && !s.moved_on,
            _ => !s.done,
        };
        if failed && !s.failed {
            s.failed = true;
            let ev = s.failure(conn, failure);
            let owner = s.owner.clone();
            sh.emit(&owner, ctx, ev, false);
        }
    }

    /// ClientHellos unanswered for `window_ns` by `now` fail; sessions idle for long
    /// (`keep` false) are forgotten. Returns how many were forgotten.
    pub fn sweep(
        &mut self,
        sh: &mut Shared<'_>,
        now: i64,
        window_ns: i64,
        keep: impl Fn(i64) -> bool,
    ) -> u64 {
        for (conn, s) in &mut self.sessions {
            let waiting = !s.server_hello && !s.moved_on && !s.failed;
            if waiting && now.saturating_sub(s.hello.ts_ns) > window_ns {
                s.failed = true;
                let ev = s.failure(*conn, TlsFailure::NoServerHello);
                // Known at the end of the window; the ClientHello is its evidence.
                let ctx = Ctx {
                    ts_ns: s.hello.ts_ns.saturating_add(window_ns),
                    ..s.hello
                };
                sh.emit(&s.owner, ctx, ev, false);
            }
        }
        let before = self.sessions.len();
        self.sessions.retain(|_, s| keep(s.last_ns));
        (before - self.sessions.len()) as u64
    }
}

impl Session {
    fn new(owner: DeviceKey, hello: Ctx) -> Self {
        Session {
            owner,
            hello,
            server_hello: false,
            moved_on: false,
            null: false,
            tls13: false,
            ccs: [false; 2],
            data: [0; 2],
            data_after_done: [0; 2],
            done: false,
            up: false,
            failed: false,
            last_ns: hello.ts_ns,
        }
    }

    /// The session carried data both ways after its handshake: an alert now ends a
    /// session, not the handshake.
    fn carried_data(&self) -> bool {
        self.done && self.data_after_done.iter().all(|&n| n > 0)
    }

    fn failure(&self, conn: Conn, failure: TlsFailure) -> EventKind {
        EventKind::TlsHandshakeFailed {
            cm: conn.1 .0,
            port: conn.1 .1,
            failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::DeviceKey;
    use super::super::shared::harness::*;
    use super::*;
    use crate::model::encode;
    use crate::timeline::EventType;

    /// The phone (ip 20, port 51000) and the call manager (ip 10, `port`): a context
    /// either way at `frame` (`ms` after the start).
    fn way(frame: u64, ms: i64, port: u16, from_phone: bool) -> Ctx {
        let (p, c) = ((PHONE, ip(20), 51000), (SERVER, ip(10), port));
        let mut x = if from_phone {
            ctx(frame, p, c)
        } else {
            ctx(frame, c, p)
        };
        x.ts_ns = ms * 1_000_000;
        x
    }

    fn setup() -> (Shared<'static>, Tls, DeviceKey) {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        sh.device(&key, TEST_PHONE, way(0, 0, 2443, true)).unwrap();
        sh.attribution.bind_ip(ip(20), PHONE);
        (sh, Tls::default(), key)
    }

    /// Feed every record of `bytes` as one message each.
    fn feed(t: &mut Tls, sh: &mut Shared<'_>, c: Ctx, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (r, after) = parsers::tls::parse(rest).unwrap();
            t.record(sh, c, &r);
            rest = after;
        }
    }

    fn tls_types(sh: &Shared<'_>, key: &DeviceKey) -> Vec<EventType> {
        types(sh, key)
            .into_iter()
            .filter(|t| *t != EventType::CmTls)
            .collect()
    }

    #[test]
    fn an_encrypted_session_up_both_ways_is_the_registration_inferred() {
        let (mut sh, mut t, key) = setup();
        let hello = encode::tls_client_hello(Some("cucm-sub1"), &[0x002f, 0x0002]).unwrap();
        feed(&mut t, &mut sh, way(1, 1, 5061, true), &hello);
        let flight = encode::tls_server_flight(0x002f).unwrap();
        feed(&mut t, &mut sh, way(2, 2, 5061, false), &flight);
        feed(
            &mut t,
            &mut sh,
            way(3, 3, 5061, true),
            &encode::tls_finish(true, None).unwrap(),
        );
        feed(
            &mut t,
            &mut sh,
            way(4, 4, 5061, false),
            &encode::tls_finish(false, None).unwrap(),
        );
        let data = encode::tls_app_data(b"REGISTER", None).unwrap();
        feed(&mut t, &mut sh, way(5, 5, 5061, true), &data);
        assert!(!tls_types(&sh, &key).contains(&EventType::TlsSessionUp));
        feed(&mut t, &mut sh, way(6, 6, 5061, false), &data);
        assert_eq!(
            tls_types(&sh, &key),
            [
                EventType::TlsClientHello,
                EventType::TlsServerHello,
                EventType::TlsHandshakeDone,
                EventType::TlsSessionUp
            ]
        );
        // The encrypted close_notify that ends a session fails nothing.
        let close = parsers::tls::TlsRecord {
            content_type: parsers::tls::TlsContentType::ALERT,
            version: parsers::tls::TlsVersion::TLS_1_2,
            body: parsers::tls::TlsBody::Opaque(&[0x99; 32]),
        };
        t.record(&mut sh, way(7, 7, 5061, true), &close);
        let dev = sh.devices.get(&key).unwrap();
        assert!(dev.boot.registered);
        assert!(dev.boot.tls_failure.is_none());
        assert_eq!(dev.boot.count(EventType::TlsAlert), 1);
    }

    #[test]
    fn a_null_suite_session_is_no_inference_the_signalling_inside_decides() {
        let (mut sh, mut t, key) = setup();
        let hello = encode::tls_client_hello(None, &[0x0002]).unwrap();
        feed(&mut t, &mut sh, way(1, 1, 2443, true), &hello);
        let flight = encode::tls_server_flight(0x0002).unwrap();
        feed(&mut t, &mut sh, way(2, 2, 2443, false), &flight);
        feed(
            &mut t,
            &mut sh,
            way(3, 3, 2443, true),
            &encode::tls_finish(true, Some(20)).unwrap(),
        );
        feed(
            &mut t,
            &mut sh,
            way(4, 4, 2443, false),
            &encode::tls_finish(false, Some(20)).unwrap(),
        );
        let data = encode::tls_app_data(b"x", Some(20)).unwrap();
        feed(&mut t, &mut sh, way(5, 5, 2443, true), &data);
        feed(&mut t, &mut sh, way(6, 6, 2443, false), &data);
        assert!(!tls_types(&sh, &key).contains(&EventType::TlsSessionUp));
        assert!(!sh.devices.get(&key).unwrap().boot.registered);
    }

    #[test]
    fn a_fatal_alert_a_reset_and_silence_fail_the_handshake_once_each() {
        let hello = encode::tls_client_hello(None, &[0x002f]).unwrap();
        // A fatal alert from the call manager.
        let (mut sh, mut t, key) = setup();
        feed(&mut t, &mut sh, way(1, 1, 2443, true), &hello);
        let alert = encode::tls_fatal_alert(42).unwrap();
        feed(&mut t, &mut sh, way(2, 2, 2443, false), &alert);
        feed(&mut t, &mut sh, way(3, 3, 2443, false), &alert);
        let boot = &sh.devices.get(&key).unwrap().boot;
        assert_eq!(boot.count(EventType::TlsHandshakeFailed), 1);
        assert_eq!(boot.count(EventType::TlsAlert), 2);
        assert!(matches!(
            boot.tls_failure,
            Some((_, 2443, TlsFailure::Alert(Some(42))))
        ));
        // A reset before the handshake finished.
        let (mut sh, mut t, key) = setup();
        feed(&mut t, &mut sh, way(1, 1, 2443, true), &hello);
        let c = way(2, 2, 2443, false);
        let flow = FlowKey {
            src: ip(10),
            dst: ip(20),
            src_port: 2443,
            dst_port: 51000,
        };
        let rst = TcpControl {
            flow,
            kind: TcpControlKind::Rst,
            seq: 0,
            ack: 0,
        };
        t.tcp(&mut sh, c, &rst);
        let boot = &sh.devices.get(&key).unwrap().boot;
        assert!(matches!(boot.tls_failure, Some((_, _, TlsFailure::Reset))));
        // No ServerHello: failed once the window is over, not before.
        let (mut sh, mut t, key) = setup();
        feed(&mut t, &mut sh, way(1, 1_000, 2443, true), &hello);
        let window = 10_000 * 1_000_000;
        t.sweep(&mut sh, 10_999 * 1_000_000, window, |_| true);
        assert!(sh.devices.get(&key).unwrap().boot.tls_failure.is_none());
        t.sweep(&mut sh, 11_001 * 1_000_000, window, |_| true);
        t.sweep(&mut sh, 12_000 * 1_000_000, window, |_| true);
        let boot = &sh.devices.get(&key).unwrap().boot;
        assert_eq!(boot.count(EventType::TlsHandshakeFailed), 1);
        assert!(matches!(
            boot.tls_failure,
            Some((_, _, TlsFailure::NoServerHello))
        ));
    }

    #[test]
    fn a_phone_that_goes_on_past_its_hello_had_a_server_hello_unseen() {
        // The phone's side alone: its ClientHello, then its second flight.
        let (mut sh, mut t, key) = setup();
        let hello = encode::tls_client_hello(None, &[0x002f]).unwrap();
        feed(&mut t, &mut sh, way(1, 1_000, 2443, true), &hello);
        let finish = encode::tls_finish(true, None).unwrap();
        feed(&mut t, &mut sh, way(2, 1_050, 2443, true), &finish);
        t.sweep(&mut sh, 60_000 * 1_000_000, 10_000 * 1_000_000, |_| true);
        assert!(sh.devices.get(&key).unwrap().boot.tls_failure.is_none());
    }

    #[test]
    fn the_table_is_bounded() {
        let (mut sh, mut t, _) = setup();
        let hello = encode::tls_client_hello(None, &[0x002f]).unwrap();
        let cap = max_sessions(sh.max_transactions);
        for n in 0..cap + 10 {
            let mut c = way(1, 1, 2443, true);
            if let Some(f) = c.flow.as_mut() {
                f.sport = 1000 + u16::try_from(n).unwrap();
            }
            feed(&mut t, &mut sh, c, &hello);
        }
        assert_eq!(t.len(), cap);
        assert_eq!(sh.transactions_evicted, 10);
    }
}
