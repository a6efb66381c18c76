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
                if level == TlsAlertLevel::FATAL && !s.up && !s.failed {
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
                // After the handshake, before any data: the handshake's own failure
                // (TLS 1.3 encrypts every alert after the ServerHello).
                if !s.up && !s.failed && s.data_after_done == [0, 0] {
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
            TcpControlKind::Syn | TcpControlKind::SynAck => return,
        };
        let Some(s) = self.sessions.get_mut(&conn) else {
            return;
        };
        let failed = match failure {
            TlsFailure::NoServerHello => !s.server_hello,
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
            if !s.server_hello && !s.failed && now.saturating_sub(s.hello.ts_ns) > window_ns {
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

    fn failure(&self, conn: Conn, failure: TlsFailure) -> EventKind {
        EventKind::TlsHandshakeFailed {
            cm: conn.1 .0,
            port: conn.1 .1,
            failure,
        }
    }
}
