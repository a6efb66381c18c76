//! SIP: who speaks it, and the phones' registrations. A voice gateway is known by its
//! User-Agent / Server (`phones.json`), whatever it sends, and the REGISTERs of its lines
//! are its own. A REGISTER names its device (the Contact's `devicename`, or a Cisco
//! agent's `+sip.instance` MAC; a Cisco phone's agent without them, and any other agent,
//! is known by its address of record) and waits, keyed by Call-ID and sender, for its
//! final answer: 2xx registers (or, to a de-registration, `Expires: 0` in the header or
//! the Contact, ends the registration), 401/407 challenges, anything else rejects. A
//! de-registration reaches no step. Any other message that names a phone (a Contact's
//! Cisco device name, a Cisco phone's agent as the sender) shows it in a call with the
//! call manager: registered.
//!
//! Once registered, a refresh unanswered past Timer F or refused loses the registration
//! (a 401 / 407 asks for credentials, a 423 for a longer period: no loss); a challenge
//! again after the REGISTER with credentials refuses them. A refusal's words (reason
//! phrase, `Warning`, `Min-Expires`) are kept, escaped.

use std::net::IpAddr;

use parsers::sip;

use super::device::{Clue, DeviceKey, DeviceKind, NameSource, Weight};
use super::shared::{Ctx, Shared};
use super::text::{clean, key_text, MAX_TEXT, MAX_TEXT_BYTES};
use crate::attribution::mac_in_name;
use crate::link::MacAddr;
use crate::timeline::{EventKind, LossCause, Signalling};
use crate::FastMap;

/// A SIP REGISTER waiting for its final answer, keyed by Call-ID and the address
/// that sent it (a proxy forwards the same Call-ID on its own leg; the answer goes
/// back to the sender's address, maybe another port).
#[derive(Debug)]
struct Transaction {
    owner: DeviceKey,
    expires: Option<u32>,
    last_ns: i64,
    /// The REGISTER's CSeq number: a retransmission repeats it, a refresh does not.
    cseq: Option<u32>,
    /// Times it was sent (retransmissions included).
    sends: u32,
    /// When it was first sent.
    first_ns: i64,
    /// A final answer was seen.
    answered: bool,
    /// It carried credentials (Authorization / Proxy-Authorization): it answers a
    /// challenge.
    credentials: bool,
}

impl Transaction {
    fn new(owner: DeviceKey, expires: Option<u32>, cseq: Option<u32>, ts_ns: i64) -> Self {
        Transaction {
            owner,
            expires,
            last_ns: ts_ns,
            cseq,
            sends: 1,
            first_ns: ts_ns,
            answered: false,
            credentials: false,
        }
    }

    /// Whether `next`, a REGISTER of the same Call-ID with another CSeq at `ts_ns`,
    /// renews this one as a registered phone does, this one sent once and never
    /// answered in the capture: then it was answered out of the capture's sight, and
    /// registered. A REGISTER left unanswered is retransmitted over UDP, or given up
    /// after Timer F (32 s) over TCP and tried again soon after; a refused one is
    /// tried again at once. The registrar grants the period in its answer (CUCM: 120
    /// s, whatever the phone asked), so a renewal is known by coming a minute or more
    /// later, within the period the phone asked for.
    fn renewed_unseen(&self, next_cseq: Option<u32>, ts_ns: i64) -> bool {
        const RENEWAL_NS: i64 = 60_000_000_000;
        let gap = ts_ns.saturating_sub(self.first_ns);
        let asked_ns = self
            .expires
            .map_or(i64::MAX, |e| i64::from(e) * 1_000_000_000);
        !self.answered
            && self.sends == 1
            && self.expires != Some(0)
            && next_cseq.is_some()
            && next_cseq != self.cseq
            && gap >= RENEWAL_NS
            && gap <= asked_ns
    }
}

/// The REGISTERs waiting for answers.
#[derive(Debug, Default)]
pub struct Sip {
    transactions: FastMap<(Box<str>, IpAddr), Transaction>,
}

impl Sip {
    /// The most heap `n` open transactions take, their strings included.
    pub fn max_heap_bytes(n: usize) -> usize {
        use std::mem::size_of;
        (n * 8 / 7).next_power_of_two() * (size_of::<((Box<str>, IpAddr), Transaction)>() + 1)
            // An owner named by a SIP name, and the Call-ID.
            + n * (MAX_TEXT_BYTES + 64 + MAX_TEXT)
    }

    /// Open transactions.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    /// Forget what `keep` says is idle too long; returns how many were.
    pub fn sweep(&mut self, keep: impl Fn(i64) -> bool) -> u64 {
        let before = self.transactions.len();
        self.transactions.retain(|_, t| keep(t.last_ns));
        (before - self.transactions.len()) as u64
    }

    /// One SIP message: a REGISTER or the answer to one; any other (a call's INVITE
    /// and answers, BYE, REFER, NOTIFY, …) when it names a phone. A voice gateway is
    /// known by its User-Agent / Server, whatever the message.
    pub fn message(&mut self, sh: &mut Shared<'_>, ctx: Ctx, m: &sip::SipMessage<'_>) {
        let request = m.is_request();
        // The sender's product: a request's User-Agent, an answer's Server (either, when
        // the other is absent).
        let agent = if request {
            m.user_agent().or_else(|| m.server())
        } else {
            m.server().or_else(|| m.user_agent())
        };
        let gateway = agent
            .filter(|a| sh.rules.phones.sip_gateway(a))
            .and_then(|a| voice_gateway(sh, ctx, a));
        let method = if request {
            m.method().map(|x| x.as_str())
        } else {
            m.cseq().map(|(_, method)| method.as_str())
        };
        if method == Some("REGISTER") {
            let Some(call_id) = m.call_id() else { return };
            if request {
                self.register(sh, ctx, m, call_id, gateway);
            } else {
                self.register_answer(sh, ctx, m, call_id);
            }
            return;
        }
        call(sh, ctx, m, agent);
    }

    /// An answer to a REGISTER: to the device that sent it (by Call-ID and address).
    fn register_answer(
        &mut self,
        sh: &mut Shared<'_>,
        ctx: Ctx,
        m: &sip::SipMessage<'_>,
        call_id: &str,
    ) {
        let Some(f) = ctx.flow else { return };
        let Some(status) = m.status() else { return };
        if status < 200 {
            return;
        }
        let Some(tx) = self.transactions.get_mut(&(key_text(call_id), f.dst)) else {
            return;
        };
        tx.last_ns = ctx.ts_ns;
        tx.answered = true;
        let (owner, expires, credentials) = (tx.owner.clone(), tx.expires, tx.credentials);
        let cm = f.src;
        // Challenged again after answering a challenge with credentials (a stale nonce
        // aside): the credentials are refused.
        let challenged = sh
            .devices
            .get(&owner)
            .is_some_and(|d| d.boot.challenge_pending);
        let stale = m
            .www_authenticate()
            .or_else(|| m.proxy_authenticate())
            .and_then(|c| c.param("stale"))
            .is_some_and(|v| v.trim_matches('"').eq_ignore_ascii_case("true"));
        let credentials_refused =
            matches!(status, 401 | 407) && credentials && challenged && !stale;
        let ev = match status {
            // A de-registration accepted: the phone is no longer registered.
            200..=299 if expires == Some(0) => EventKind::Unregistered {
                proto: Signalling::Sip,
                cm,
            },
            200..=299 => EventKind::RegisterAck {
                proto: Signalling::Sip,
                cm,
            },
            401 | 407 if !credentials_refused => EventKind::RegisterChallenge { cm, code: status },
            _ => EventKind::RegisterReject {
                proto: Signalling::Sip,
                cm,
                code: status,
                reason: refusal_reason(m, status, credentials_refused).into(),
                unregister: expires == Some(0),
            },
        };
        // 423 asks for a longer period, which the phone's next REGISTER gives: no loss.
        let refused = !matches!(status, 200..=299 | 401 | 407 | 423) && expires != Some(0);
        sh.emit(&owner, ctx, ev, false);
        // A refresh refused while registered: the registration is lost.
        let holding = sh.devices.get(&owner).is_some_and(|d| {
            d.boot.registered
                && d.boot
                    .steady
                    .as_deref()
                    .is_some_and(|s| s.answers_seen && s.lost.is_none() && s.cm == cm)
        });
        if refused && holding {
            let cause = LossCause::RefreshRejected(status);
            sh.lose_registration(&owner, ctx, cm, cause);
        }
    }

    fn register(
        &mut self,
        sh: &mut Shared<'_>,
        ctx: Ctx,
        m: &sip::SipMessage<'_>,
        call_id: &str,
        gateway: Option<DeviceKey>,
    ) {
        let Some(f) = ctx.flow else { return };
        sh.note_source(ctx);
        let ua = m.user_agent();
        let cisco = ua.is_some_and(|u| sh.rules.phones.sip_user_agent(u));
        // The Contact header read once, for the device name and the instance.
        let contacts = m.contact();
        let contact = contacts.first();
        let device_name = contacts.iter().find_map(|c| c.device_name());
        let named = device_name
            .and_then(mac_in_name)
            .map(|mac| (mac, CONTACT_DEVICE_NAME))
            .or_else(|| {
                contact
                    .as_ref()
                    .and_then(|c| c.instance_mac())
                    .filter(|_| cisco)
                    .map(|mac| (MacAddr(mac), CONTACT_INSTANCE))
            });
        let key = match (gateway, named) {
            // A gateway registers its lines: they are the gateway's.
            (Some(key), _) => key,
            (None, Some((mac, clue))) => {
                sh.attribution.bind_endpoint((f.src, f.sport), mac);
                let key = DeviceKey::Mac(mac);
                let Some(dev) = sh.device(&key, clue, ctx) else {
                    return;
                };
                if let Some(n) = device_name {
                    dev.set_name(clean(n), NameSource::Registration);
                }
                key
            }
            (None, None) => {
                let key = DeviceKey::Name(agent_label(m.from().as_ref(), f.src).into());
                let clue = if cisco { PHONE_AGENT } else { SIP_AGENT };
                let Some(dev) = sh.device(&key, clue, ctx) else {
                    return;
                };
                match device_name {
                    Some(n) => dev.set_name(clean(n), NameSource::Registration),
                    None => dev.set_name(key_name(&key), NameSource::AddressOfRecord),
                }
                key
            }
        };
        let expires = contact
            .as_ref()
            .and_then(|c| c.expires())
            .or_else(|| m.expires());
        if let Some(dev) = sh.devices.get_mut(&key) {
            if let (None, Some(u)) = (&dev.model, ua) {
                dev.set_model(clean(u));
            }
            if matches!(key, DeviceKey::Name(_)) || dev.ip.is_none() {
                dev.ip = Some(f.src);
            }
        }
        if let Some(alarm) = m.cisco_alarm() {
            let text = alarm.last().unwrap_or(alarm.name().unwrap_or_default());
            let ev = EventKind::Alarm {
                text: clean(m.reason().unwrap_or(text)).into(),
            };
            sh.emit(&key, ctx, ev, false);
        }
        let cseq = m.cseq().map(|(n, _)| n);
        if expires != Some(0) {
            refresh_sent(sh, &key, ctx, f.dst);
        }
        let tx_key: (Box<str>, IpAddr) = (key_text(call_id), f.src);
        let mut renewed = false;
        let room = self.transactions.len() < sh.max_transactions;
        let credentials = m.authorization().is_some() || m.proxy_authorization().is_some();
        match self.transactions.get_mut(&tx_key) {
            Some(tx) if tx.cseq == cseq => {
                tx.sends += 1;
                tx.last_ns = ctx.ts_ns;
            }
            Some(tx) => {
                renewed = tx.renewed_unseen(cseq, ctx.ts_ns);
                *tx = Transaction::new(key.clone(), expires, cseq, ctx.ts_ns);
                tx.credentials = credentials;
            }
            None if room => {
                let mut tx = Transaction::new(key.clone(), expires, cseq, ctx.ts_ns);
                tx.credentials = credentials;
                self.transactions.insert(tx_key, tx);
            }
            None => sh.transactions_evicted += 1,
        }
        if renewed {
            let ev = EventKind::Keepalive {
                proto: Signalling::Sip,
                cm: f.dst,
            };
            sh.emit(&key, ctx, ev, false);
        }
        let ev = EventKind::Register {
            proto: Signalling::Sip,
            cm: f.dst,
            expires,
        };
        sh.emit(&key, ctx, ev, false);
    }
}

const CONTACT_DEVICE_NAME: Clue = Clue::sure(DeviceKind::Phone, "SIP Contact device name");
const CONTACT_INSTANCE: Clue = Clue::sure(DeviceKind::Phone, "SIP Contact instance");
const PHONE_AGENT: Clue = Clue::sure(
    DeviceKind::Phone,
    "SIP User-Agent / Server of a Cisco phone",
);
const SIP_AGENT: Clue = Clue::default(DeviceKind::SipAgent, "SIP REGISTER");
const SIP_GATEWAY: Clue = Clue::sure(
    DeviceKind::VoiceGateway,
    "SIP User-Agent / Server of a voice gateway",
);

/// How a SIP agent without a device name is known: its address of record and the
/// address it sent from (`sip:1001@10.1.1.10 from 10.1.1.20`).
fn agent_label(aor: Option<&sip::SipNameAddr<'_>>, from: IpAddr) -> String {
    let aor = aor
        .and_then(|a| a.uri_parts())
        .map(|u| match u.user {
            Some(user) => clean(&format!("{user}@{}", u.host)),
            None => clean(u.host),
        })
        .unwrap_or_else(|| "?".into());
    format!("sip:{aor} from {from}")
}

/// The text of a key known by name.
fn key_name(key: &DeviceKey) -> String {
    match key {
        DeviceKey::Name(n) => n.to_string(),
        DeviceKey::Mac(m) => m.to_string(),
    }
}

/// The words of a refusal of a REGISTER, escaped: the reason phrase, what the call
/// manager adds (a `Warning:` header, the `Min-Expires` a 423 asks for), and for a
/// challenge repeated after the credentials, that they are refused.
fn refusal_reason(m: &sip::SipMessage<'_>, status: u16, credentials_refused: bool) -> String {
    let mut reason = m.reason_phrase().unwrap_or_default().to_owned();
    if credentials_refused {
        reason.push_str(
            " (challenged again after the REGISTER with credentials: wrong user name or password)",
        );
    }
    if status == 423 {
        if let Some(min) = m.header("Min-Expires") {
            reason.push_str(&format!(" (Min-Expires: {})", min.trim()));
        }
    }
    // One Warning quoted: one that speaks of security when there are several (CUCM's
    // `399 <host> "Device security mismatch"` to a phone whose profile wants TLS).
    let warning = m
        .header_values("Warning")
        .find(|w| w.to_ascii_lowercase().contains("secur"))
        .or_else(|| m.header("Warning"));
    if let Some(w) = warning {
        reason.push_str(&format!(" (Warning: {})", w.trim()));
    }
    clean(&reason)
}

/// A REGISTER (not a de-registration) of `key` to `cm`: once registered, with the call
/// manager's answers in the capture, a refresh waits for its answer until Timer F (the
/// model's `sip_timer_f_ms`, RFC 3261's 64×T1); one still unanswered when the phone
/// sends another past that time lost the registration. Only the loss is an event.
fn refresh_sent(sh: &mut Shared<'_>, key: &DeviceKey, ctx: Ctx, cm: IpAddr) {
    let timer_f_ns = sh
        .rules
        .sequence
        .model_timing()
        .map_or(32_000, |m| m.sip_timer_f_ms)
        .saturating_mul(1_000_000);
    let Some(dev) = sh.devices.get_mut(key) else {
        return;
    };
    let registered = dev.boot.registered;
    let Some(s) = dev.boot.steady.as_deref_mut() else {
        return;
    };
    if !registered || !s.answers_seen || s.lost.is_some() {
        return;
    }
    match s.refresh_due {
        Some(due) if due <= ctx.ts_ns => {
            let had = s.cm;
            sh.lose_registration(key, ctx, had, LossCause::RefreshUnanswered);
        }
        Some(_) => {}
        None if s.cm == cm => s.refresh_due = Some(ctx.ts_ns.saturating_add(timer_f_ns)),
        None => {}
    }
}

/// The voice gateway that sent a message whose User-Agent / Server is `agent`: the
/// device no phone already at its address (or endpoint), else a new one, keyed by
/// its frames' MAC when that MAC is its own (it sends for no other address), else by
/// its address. `None` when it is known for a phone by a sure sign.
fn voice_gateway(sh: &mut Shared<'_>, ctx: Ctx, agent: &str) -> Option<DeviceKey> {
    let f = ctx.flow?;
    sh.note_source(ctx);
    let not_sure_phone = |sh: &Shared<'_>, k: &DeviceKey| {
        sh.devices
            .get(k)
            .is_some_and(|d| d.kind != DeviceKind::Phone || d.weight < Weight::Sure)
    };
    let key = sh
        .host_of(f.src)
        .or_else(|| {
            sh.owner_of((f.src, f.sport), ctx.src_mac)
                .filter(|k| not_sure_phone(sh, k))
        })
        .unwrap_or_else(|| match sh.attribution.plausible_l2(ctx.src_mac) {
            Some(mac) => DeviceKey::Mac(mac),
            None => DeviceKey::Name(format!("host {}", f.src).into()),
        });
    let dev = sh.device(&key, SIP_GATEWAY, ctx)?;
    if dev.kind != DeviceKind::VoiceGateway {
        return None;
    }
    if dev.model.is_none() {
        dev.set_model(clean(agent));
    }
    dev.ip.get_or_insert(f.src);
    sh.note_host(f.src, ctx.src_mac, &key, SIP_GATEWAY);
    Some(key)
}

/// A SIP message of a call or a service (not REGISTER) that names a phone: its
/// Contact's Cisco device name (whoever sent it: the call manager names the phone it
/// connects), or a Cisco phone's User-Agent / Server as the sender's. Only a
/// registered phone is in calls: the phone is registered with the call manager.
fn call(sh: &mut Shared<'_>, ctx: Ctx, m: &sip::SipMessage<'_>, agent: Option<&str>) {
    let Some(f) = ctx.flow else { return };
    let from_phone = agent.is_some_and(|a| sh.rules.phones.sip_user_agent(a));
    if from_phone {
        sh.note_source(ctx);
    }
    let contacts = m.contact();
    let device_name = contacts.iter().find_map(|c| c.device_name());
    let (key, clue) = match device_name.and_then(mac_in_name) {
        Some(mac) => (DeviceKey::Mac(mac), CONTACT_DEVICE_NAME),
        None if from_phone => {
            let instance = contacts.first().and_then(|c| c.instance_mac());
            match instance {
                Some(mac) => (DeviceKey::Mac(MacAddr(mac)), CONTACT_INSTANCE),
                None => {
                    // The device the sender's endpoint is, else its frames' MAC when
                    // that MAC sends for no other address (the phone's own, on its
                    // LAN), else its address of record: the caller's of a request,
                    // the callee's of an answer.
                    let owner = sh
                        .owner_of((f.src, f.sport), ctx.src_mac)
                        .filter(|k| matches!(k, DeviceKey::Mac(_)))
                        .or_else(|| sh.attribution.plausible_l2(ctx.src_mac).map(DeviceKey::Mac));
                    let aor = if m.is_request() { m.from() } else { m.to() };
                    let key = owner.unwrap_or_else(|| {
                        DeviceKey::Name(agent_label(aor.as_ref(), f.src).into())
                    });
                    (key, PHONE_AGENT)
                }
            }
        }
        None => return,
    };
    let Some(dev) = sh.device(&key, clue, ctx) else {
        return;
    };
    if dev.kind != DeviceKind::Phone {
        return;
    }
    match device_name {
        Some(n) if from_phone || mac_in_name(n).is_some() => {
            dev.set_name(clean(n), NameSource::Registration);
        }
        _ => {
            if let DeviceKey::Name(n) = &key {
                dev.set_name(n.to_string(), NameSource::AddressOfRecord);
            }
        }
    }
    if from_phone {
        if let (None, Some(a)) = (&dev.model, agent) {
            dev.set_model(clean(a));
        }
        dev.ip.get_or_insert(f.src);
        if let DeviceKey::Mac(mac) = key {
            sh.attribution.bind_endpoint((f.src, f.sport), mac);
        }
    }
    let message = match (m.method(), m.status()) {
        (Some(method), _) => clean(method.as_str()),
        (None, Some(code)) => clean(&format!("{code} {}", m.reason_phrase().unwrap_or_default())),
        (None, None) => return,
    };
    let ev = EventKind::SipCall {
        cm: if from_phone { f.dst } else { f.src },
        message: message.into(),
        from_phone,
    };
    sh.emit(&key, ctx, ev, false);
}

#[cfg(test)]
mod tests {
    use super::super::shared::harness::*;
    use super::*;
    use crate::timeline::EventType;

    /// A REGISTER of CSeq `cseq` with `headers` after the Contact (which ends in
    /// `contact_extra`).
    fn register_with(cseq: u32, contact_extra: &str, headers: &str) -> String {
        format!(
            "REGISTER sip:10.1.1.10 SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.1.20:5060;branch=z9hG4bK{cseq}\r\n\
             From: <sip:1001@10.1.1.10>;tag=1\r\nTo: <sip:1001@10.1.1.10>\r\n\
             Call-ID: abc@10.1.1.20\r\nCSeq: {cseq} REGISTER\r\n\
             Contact: <sip:1001@10.1.1.20:5060>{contact_extra}\r\n\
             {headers}Content-Length: 0\r\n\r\n"
        )
    }

    fn register(contact_extra: &str, user_agent: &str) -> String {
        register_with(2, contact_extra, &format!("User-Agent: {user_agent}\r\n"))
    }

    fn answer_to(cseq: u32, code: u16, headers: &str) -> String {
        format!(
            "SIP/2.0 {code} Whatever\r\nVia: SIP/2.0/UDP 10.1.1.20:5060;branch=z9hG4bK{cseq}\r\n\
             From: <sip:1001@10.1.1.10>;tag=1\r\nTo: <sip:1001@10.1.1.10>;tag=2\r\n\
             Call-ID: abc@10.1.1.20\r\nCSeq: {cseq} REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
        )
    }

    fn answer(code: u16) -> String {
        answer_to(2, code, "")
    }

    fn run(sip_state: &mut Sip, sh: &mut Shared<'_>, frame: u64, text: &str, up: bool) {
        let phone = (PHONE, ip(20), 5060);
        let cm = (SERVER, ip(10), 5060);
        let c = if up {
            ctx(frame, phone, cm)
        } else {
            ctx(frame, cm, phone)
        };
        sip_state.message(sh, c, &sip::parse(text.as_bytes()).unwrap());
    }

    const DEVICE: &str = ";+u.sip!devicename.ccm.cisco.com=\"SEP001B54AA0001\"";

    #[test]
    fn a_device_named_register_and_its_200_register_the_phone() {
        let (mut sh, mut s) = (shared(), Sip::default());
        run(
            &mut s,
            &mut sh,
            1,
            &register(DEVICE, "Cisco-CP8841/14.1"),
            true,
        );
        run(&mut s, &mut sh, 2, &answer(401), false);
        run(&mut s, &mut sh, 3, &answer(200), false);
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(
            types(&sh, &key),
            [
                EventType::Register,
                EventType::RegisterChallenge,
                EventType::RegisterAck
            ]
        );
        let dev = sh.devices.get(&key).unwrap();
        assert!(dev.boot.registered);
        assert_eq!(dev.model.as_deref(), Some("Cisco-CP8841/14.1"));
        assert_eq!(
            (dev.name.as_deref(), dev.name_source),
            (Some("SEP001B54AA0001"), Some(NameSource::Registration))
        );
    }

    #[test]
    fn a_de_registration_answered_200_ends_the_registration() {
        // RFC 3261 10.2.2: a Contact's `expires` parameter, or the Expires header,
        // of zero removes the binding; both forms, answered 200.
        let ua = "User-Agent: Cisco-CP8841/14.1\r\n";
        for (contact, header) in [
            (format!("{DEVICE};expires=0"), ua.to_owned()),
            (DEVICE.to_owned(), format!("{ua}Expires: 0\r\n")),
        ] {
            let (mut sh, mut s) = (shared(), Sip::default());
            let up = format!("{ua}Expires: 3600\r\n");
            run(&mut s, &mut sh, 1, &register_with(2, DEVICE, &up), true);
            run(&mut s, &mut sh, 2, &answer_to(2, 200, ""), false);
            let key = DeviceKey::Mac(PHONE);
            assert!(sh.devices.get(&key).unwrap().boot.registered);
            run(
                &mut s,
                &mut sh,
                3,
                &register_with(3, &contact, &header),
                true,
            );
            run(&mut s, &mut sh, 4, &answer_to(3, 200, ""), false);
            assert_eq!(
                types(&sh, &key),
                [
                    EventType::Register,
                    EventType::RegisterAck,
                    EventType::Register,
                    EventType::Unregistered
                ],
                "{contact} {header}"
            );
            let boot = &sh.devices.get(&key).unwrap().boot;
            assert!(!boot.registered, "{contact} {header}");
            assert_eq!(boot.unregistered, Some(ip(10)));
        }
    }

    #[test]
    fn an_agent_without_a_device_name_is_known_by_its_address_of_record() {
        let (mut sh, mut s) = (shared(), Sip::default());
        run(&mut s, &mut sh, 1, &register("", "Linphone/5"), true);
        run(&mut s, &mut sh, 2, &answer(403), false);
        let key = DeviceKey::Name("sip:1001@10.1.1.10 from 10.1.1.20".into());
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.kind, DeviceKind::SipAgent);
        assert_eq!(dev.name_source, Some(NameSource::AddressOfRecord));
        assert_eq!(
            types(&sh, &key),
            [EventType::Register, EventType::RegisterReject]
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s.sweep(|_| false), 1);
    }

    #[test]
    fn a_gateway_registering_its_lines_is_a_voice_gateway() {
        let (mut sh, mut s) = (shared(), Sip::default());
        run(
            &mut s,
            &mut sh,
            1,
            &register("", "Cisco-SIPGateway/IOS-16.9.1"),
            true,
        );
        run(&mut s, &mut sh, 2, &answer(200), false);
        // Its frames' MAC sends for no other address: the gateway is known by it.
        let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
        assert_eq!(dev.kind, DeviceKind::VoiceGateway);
        assert!(dev.boot.registered);
        assert_eq!(dev.name, None);
        assert_eq!(dev.model.as_deref(), Some("Cisco-SIPGateway/IOS-16.9.1"));
        assert_eq!(sh.devices.iter().count(), 1);
    }

    fn call_message(first_line: &str, cseq: &str, contact: &str, agent: &str) -> String {
        format!(
            "{first_line}\r\nVia: SIP/2.0/UDP 10.1.1.10:5060;branch=z9hG4bK9\r\n\
             From: <sip:2000@10.1.1.10>;tag=a\r\nTo: <sip:1001@10.1.1.20>;tag=b\r\n\
             Call-ID: call@10.1.1.10\r\nCSeq: {cseq}\r\nContact: {contact}\r\n\
             {agent}Content-Length: 0\r\n\r\n"
        )
    }

    #[test]
    fn a_phone_seen_only_in_a_call_is_a_registered_phone() {
        // The call manager's INVITE, the phone's 180 and 200 (Server: Cisco-CP8841,
        // its Contact naming it), the call manager's BYE.
        let (mut sh, mut s) = (shared(), Sip::default());
        let cm_contact = "<sip:2000@10.1.1.10:5060>";
        let phone_contact = format!("<sip:1001@10.1.1.20:5060>{DEVICE}");
        let cm_agent = "User-Agent: Cisco-CUCM14.0\r\n";
        let phone_agent = "Server: Cisco-CP8841/14.1.1\r\n";
        let invite = "INVITE sip:1001@10.1.1.20:5060 SIP/2.0";
        run(
            &mut s,
            &mut sh,
            1,
            &call_message(invite, "101 INVITE", cm_contact, cm_agent),
            false,
        );
        assert_eq!(
            sh.devices.iter().count(),
            0,
            "the call manager's INVITE names no phone"
        );
        for (frame, line) in [(2, "SIP/2.0 180 Ringing"), (3, "SIP/2.0 200 OK")] {
            let m = call_message(line, "101 INVITE", &phone_contact, phone_agent);
            run(&mut s, &mut sh, frame, &m, true);
        }
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(types(&sh, &key), [EventType::SipCall]);
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.kind, DeviceKind::Phone);
        assert_eq!(dev.evidence_of_kind, "SIP Contact device name");
        assert_eq!(dev.name.as_deref(), Some("SEP001B54AA0001"));
        assert_eq!(dev.model.as_deref(), Some("Cisco-CP8841/14.1.1"));
        assert_eq!(dev.ip, Some(ip(20)));
        assert!(dev.boot.registered && dev.boot.registered_before);
        assert_eq!(dev.boot.registered_cm, Some(ip(10)));
        assert_eq!(dev.boot.count(EventType::SipCall), 2);
        match &dev.timeline.events[0].kind {
            EventKind::SipCall {
                cm,
                message,
                from_phone,
            } => assert_eq!(
                (*cm, &**message, *from_phone),
                (ip(10), "180 Ringing", true)
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_device_name_the_call_manager_gives_names_the_phone_not_the_sender() {
        // CUCM's 180 to a gateway names the phone it rang (+u.sip!devicename): that
        // phone is registered; the call manager is no phone.
        let (mut sh, mut s) = (shared(), Sip::default());
        let contact = format!("<sip:1001@10.1.1.10:5060>{DEVICE}");
        let m = call_message(
            "SIP/2.0 180 Ringing",
            "101 INVITE",
            &contact,
            "Server: Cisco-CUCM12.0\r\n",
        );
        run(&mut s, &mut sh, 1, &m, false);
        let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
        assert!(dev.boot.registered);
        assert_eq!(dev.ip, None, "the sender's address is the call manager's");
        assert_eq!(dev.boot.registered_cm, Some(ip(10)));
        assert_eq!(sh.devices.iter().count(), 1);
    }

    const AGENT: &str = "User-Agent: Cisco-CP8841/14.1\r\n";
    const AUTH: &str = "Authorization: Digest username=\"1001\", realm=\"ccmsipline\", \
                        nonce=\"abc\", uri=\"sip:10.1.1.10\", response=\"00\"\r\n";

    fn reject_of(sh: &Shared<'_>) -> Option<(u16, String)> {
        let dev = sh.devices.get(&DeviceKey::Mac(PHONE))?;
        dev.boot.reject.as_ref().map(|r| (r.0, r.1.to_string()))
    }

    #[test]
    fn a_challenge_again_after_the_credentials_refuses_them_and_a_first_one_does_not() {
        let (mut sh, mut s) = (shared(), Sip::default());
        let with_auth = format!("{AGENT}{AUTH}");
        run(&mut s, &mut sh, 1, &register_with(1, DEVICE, AGENT), true);
        run(&mut s, &mut sh, 2, &answer_to(1, 401, ""), false);
        assert_eq!(reject_of(&sh), None, "a first challenge is a wait");
        run(
            &mut s,
            &mut sh,
            3,
            &register_with(2, DEVICE, &with_auth),
            true,
        );
        run(&mut s, &mut sh, 4, &answer_to(2, 401, ""), false);
        let (code, reason) = reject_of(&sh).unwrap();
        assert_eq!(code, 401);
        assert!(reason.contains("credentials"), "{reason}");
        // A stale nonce is no refusal: the phone answers with the new one.
        let (mut sh, mut s) = (shared(), Sip::default());
        let stale = "WWW-Authenticate: Digest realm=\"ccmsipline\", nonce=\"n2\", stale=true\r\n";
        run(&mut s, &mut sh, 1, &register_with(1, DEVICE, AGENT), true);
        run(&mut s, &mut sh, 2, &answer_to(1, 401, ""), false);
        run(
            &mut s,
            &mut sh,
            3,
            &register_with(2, DEVICE, &with_auth),
            true,
        );
        run(&mut s, &mut sh, 4, &answer_to(2, 401, stale), false);
        assert_eq!(reject_of(&sh), None);
    }

    #[test]
    fn a_423_retried_with_min_expires_registers_and_its_words_are_kept() {
        let (mut sh, mut s) = (shared(), Sip::default());
        let short = format!("{AGENT}Expires: 60\r\n");
        let long = format!("{AGENT}Expires: 3600\r\n");
        run(&mut s, &mut sh, 1, &register_with(1, DEVICE, &short), true);
        run(
            &mut s,
            &mut sh,
            2,
            &answer_to(1, 423, "Min-Expires: 3600\r\n"),
            false,
        );
        assert_eq!(
            reject_of(&sh).map(|r| r.1),
            Some("Whatever (Min-Expires: 3600)".into())
        );
        run(&mut s, &mut sh, 3, &register_with(2, DEVICE, &long), true);
        run(&mut s, &mut sh, 4, &answer_to(2, 200, ""), false);
        let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
        assert!(dev.boot.registered);
    }

    #[test]
    fn a_warning_header_is_quoted_escaped_in_the_refusal() {
        let (mut sh, mut s) = (shared(), Sip::default());
        run(&mut s, &mut sh, 1, &register_with(1, DEVICE, AGENT), true);
        let warning = "Warning: 399 cucm \"Device security mismatch\u{1b}[31m\"\r\n";
        run(&mut s, &mut sh, 2, &answer_to(1, 403, warning), false);
        let (code, reason) = reject_of(&sh).unwrap();
        assert_eq!(code, 403);
        assert!(reason.contains("Warning: 399 cucm"), "{reason}");
        assert!(reason.contains("Device security mismatch"), "{reason}");
        assert!(!reason.contains('\u{1b}'), "escaped: {reason}");
    }

    #[test]
    fn a_refresh_refused_or_unanswered_past_timer_f_loses_the_registration() {
        use crate::timeline::LossCause;
        let lost = |sh: &Shared<'_>| {
            let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
            dev.boot.steady.as_deref().and_then(|s| s.lost).map(|l| l.1)
        };
        let (mut sh, mut s) = (shared(), Sip::default());
        run(&mut s, &mut sh, 1, &register_with(1, DEVICE, AGENT), true);
        run(&mut s, &mut sh, 2, &answer_to(1, 200, ""), false);
        run(&mut s, &mut sh, 120, &register_with(2, DEVICE, AGENT), true);
        run(&mut s, &mut sh, 121, &answer_to(2, 503, ""), false);
        assert_eq!(lost(&sh), Some(LossCause::RefreshRejected(503)));
        // Unanswered: the refresh waits until Timer F (32 s); the next REGISTER after
        // that finds it lost, one before does not.
        let (mut sh, mut s) = (shared(), Sip::default());
        run(&mut s, &mut sh, 1, &register_with(1, DEVICE, AGENT), true);
        run(&mut s, &mut sh, 2, &answer_to(1, 200, ""), false);
        run(&mut s, &mut sh, 120, &register_with(2, DEVICE, AGENT), true);
        run(&mut s, &mut sh, 140, &register_with(2, DEVICE, AGENT), true);
        assert_eq!(lost(&sh), None);
        run(&mut s, &mut sh, 153, &register_with(3, DEVICE, AGENT), true);
        assert_eq!(lost(&sh), Some(LossCause::RefreshUnanswered));
    }

    #[test]
    fn a_refusal_keeps_a_warning_that_speaks_of_security() {
        // A REGISTER refused with `code` and `warning`: the refusal's code and reason.
        let refused = |code: u16, warning: &str| {
            let (mut sh, mut s) = (shared(), Sip::default());
            run(
                &mut s,
                &mut sh,
                1,
                &register(DEVICE, "Cisco-CP8841/14.1"),
                true,
            );
            run(&mut s, &mut sh, 2, &answer_to(2, code, warning), false);
            let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
            let (code, reason, _) = dev.boot.reject.clone().unwrap();
            (code, reason)
        };
        let (code, reason) = refused(
            403,
            "Warning: 399 cucm-sub1 \"Device security mismatch\"\r\n",
        );
        assert_eq!(code, 403);
        assert_eq!(
            &*reason,
            "Whatever (Warning: 399 cucm-sub1 \"Device security mismatch\")"
        );
        // Another Warning is quoted too; it says nothing of security.
        let (_, reason) = refused(404, "Warning: 399 cucm-sub1 \"Line not configured\"\r\n");
        assert_eq!(
            &*reason,
            "Whatever (Warning: 399 cucm-sub1 \"Line not configured\")"
        );
    }
}
