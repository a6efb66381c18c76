//! SIP registration: a REGISTER names its device (the Contact's `devicename`, or a
//! Cisco agent's `+sip.instance` MAC; any other agent is known by its address of
//! record) and waits, keyed by Call-ID and sender, for its final answer: 2xx
//! registers, 401/407 challenges, anything else rejects. A de-registration
//! (`Expires: 0`) reaches no step.

use std::net::IpAddr;

use parsers::sip;

use super::device::{DeviceKey, DeviceKind};
use super::shared::{Ctx, Shared};
use super::text::{clean, key_text, MAX_TEXT, MAX_TEXT_BYTES};
use crate::attribution::mac_in_name;
use crate::link::MacAddr;
use crate::timeline::{EventKind, Signalling};
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

    /// One SIP message: a REGISTER or the answer to one.
    pub fn message(&mut self, sh: &mut Shared<'_>, ctx: Ctx, m: &sip::SipMessage<'_>) {
        let Some(f) = ctx.flow else { return };
        let Some(call_id) = m.call_id() else { return };
        if m.is_request() {
            if m.method().map(|x| x.as_str()) != Some("REGISTER") {
                return;
            }
            self.register(sh, ctx, m, call_id);
            return;
        }
        let Some(status) = m.status() else { return };
        if m.cseq().map(|(_, method)| method.as_str()) != Some("REGISTER") || status < 200 {
            return;
        }
        let Some(tx) = self.transactions.get_mut(&(key_text(call_id), f.dst)) else {
            return;
        };
        tx.last_ns = ctx.ts_ns;
        tx.answered = true;
        let (owner, expires) = (tx.owner.clone(), tx.expires);
        let cm = f.src;
        let ev = match status {
            200..=299 if expires == Some(0) => return,
            200..=299 => EventKind::RegisterAck {
                proto: Signalling::Sip,
                cm,
            },
            401 | 407 => EventKind::RegisterChallenge { cm, code: status },
            _ => EventKind::RegisterReject {
                proto: Signalling::Sip,
                cm,
                code: status,
                reason: clean(m.reason_phrase().unwrap_or_default()).into(),
                unregister: expires == Some(0),
            },
        };
        sh.emit(&owner, ctx, ev, false);
    }

    fn register(&mut self, sh: &mut Shared<'_>, ctx: Ctx, m: &sip::SipMessage<'_>, call_id: &str) {
        let Some(f) = ctx.flow else { return };
        sh.note_source(ctx);
        let ua = m.user_agent();
        let cisco = ua.is_some_and(|u| sh.rules.phones.sip_user_agent(u));
        // The Contact header read once, for the device name and the instance.
        let contacts = m.contact();
        let contact = contacts.first();
        let named = contacts
            .iter()
            .find_map(|c| c.device_name())
            .and_then(mac_in_name)
            .map(|mac| (mac, "SIP Contact device name"))
            .or_else(|| {
                contact
                    .as_ref()
                    .and_then(|c| c.instance_mac())
                    .filter(|_| cisco)
                    .map(|mac| (MacAddr(mac), "SIP Contact instance"))
            });
        let key = match named {
            Some((mac, why)) => {
                sh.attribution.bind_endpoint((f.src, f.sport), mac);
                let key = DeviceKey::Mac(mac);
                if sh.device(&key, DeviceKind::Phone, why, ctx).is_none() {
                    return;
                }
                key
            }
            None => {
                let from = m.from();
                let aor = from
                    .as_ref()
                    .and_then(|a| a.uri_parts())
                    .map(|u| match u.user {
                        Some(user) => clean(&format!("{user}@{}", u.host)),
                        None => clean(u.host),
                    })
                    .unwrap_or_else(|| "?".into());
                let key = DeviceKey::Name(format!("sip:{aor} from {}", f.src).into());
                if sh
                    .device(&key, DeviceKind::SipAgent, "SIP REGISTER", ctx)
                    .is_none()
                {
                    return;
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
        let tx_key: (Box<str>, IpAddr) = (key_text(call_id), f.src);
        let cseq = m.cseq().map(|(n, _)| n);
        let mut renewed = false;
        let room = self.transactions.len() < sh.max_transactions;
        match self.transactions.get_mut(&tx_key) {
            Some(tx) if tx.cseq == cseq => {
                tx.sends += 1;
                tx.last_ns = ctx.ts_ns;
            }
            Some(tx) => {
                renewed = tx.renewed_unseen(cseq, ctx.ts_ns);
                *tx = Transaction::new(key.clone(), expires, cseq, ctx.ts_ns);
            }
            None if room => {
                let tx = Transaction::new(key.clone(), expires, cseq, ctx.ts_ns);
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

#[cfg(test)]
mod tests {
    use super::super::shared::harness::*;
    use super::*;
    use crate::timeline::EventType;

    fn register(contact_extra: &str, user_agent: &str) -> String {
        format!(
            "REGISTER sip:10.1.1.10 SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.1.20:5060;branch=z9hG4bK1\r\n\
             From: <sip:1001@10.1.1.10>;tag=1\r\nTo: <sip:1001@10.1.1.10>\r\n\
             Call-ID: abc@10.1.1.20\r\nCSeq: 2 REGISTER\r\n\
             Contact: <sip:1001@10.1.1.20:5060>{contact_extra}\r\n\
             User-Agent: {user_agent}\r\nContent-Length: 0\r\n\r\n"
        )
    }

    fn answer(code: u16) -> String {
        format!(
            "SIP/2.0 {code} Whatever\r\nVia: SIP/2.0/UDP 10.1.1.20:5060;branch=z9hG4bK1\r\n\
             From: <sip:1001@10.1.1.10>;tag=1\r\nTo: <sip:1001@10.1.1.10>;tag=2\r\n\
             Call-ID: abc@10.1.1.20\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n"
        )
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
    }

    #[test]
    fn a_de_registration_answered_200_registers_nothing() {
        let (mut sh, mut s) = (shared(), Sip::default());
        let contact = format!("{DEVICE};expires=0");
        run(
            &mut s,
            &mut sh,
            1,
            &register(&contact, "Cisco-CP8841/14.1"),
            true,
        );
        run(&mut s, &mut sh, 2, &answer(200), false);
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(types(&sh, &key), [EventType::Register]);
        assert!(!sh.devices.get(&key).unwrap().boot.registered);
    }

    #[test]
    fn an_agent_without_a_device_name_is_known_by_its_address_of_record() {
        let (mut sh, mut s) = (shared(), Sip::default());
        run(&mut s, &mut sh, 1, &register("", "Linphone/5"), true);
        run(&mut s, &mut sh, 2, &answer(403), false);
        let key = DeviceKey::Name("sip:1001@10.1.1.10 from 10.1.1.20".into());
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.kind, DeviceKind::SipAgent);
        assert_eq!(
            types(&sh, &key),
            [EventType::Register, EventType::RegisterReject]
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s.sweep(|_| false), 1);
    }
}
