//! The reference model's timing, carried by the boot sequence (`boot_sequence.json`): a step's
//! `model_ms`, how long a healthy network or phone takes to produce the event that reaches the
//! step, and `model_timing`, what the phone (and the model's network) does that is no step's
//! answer: its waits, retries and reboots. The analyzer's predictions ("… within 1.1 s") and the
//! simulator both read them here; bootscope keeps no other copy of these numbers.

use serde::Deserialize;

use crate::span::{Key, Source};
use crate::LoadError;

/// The longest time the model takes, in ms (a day): every value is at most this, so no
/// arithmetic on them overflows.
pub const MAX_MODEL_MS: i64 = 86_400_000;

/// A span of milliseconds, `[lo, hi]` in the file: a delay falls anywhere between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(from = "[i64; 2]")]
pub struct MsRange {
    /// The shortest.
    pub lo: i64,
    /// The longest.
    pub hi: i64,
}

impl From<[i64; 2]> for MsRange {
    fn from([lo, hi]: [i64; 2]) -> Self {
        MsRange { lo, hi }
    }
}

impl MsRange {
    /// What is wrong with the range, if anything: bounds outside 0..=a day, or `lo > hi`.
    pub(crate) fn fault(self) -> Option<String> {
        if !(0..=MAX_MODEL_MS).contains(&self.lo) || !(0..=MAX_MODEL_MS).contains(&self.hi) {
            Some(format!(
                "[{}, {}]: each bound must be between 0 and a day (ms)",
                self.lo, self.hi
            ))
        } else if self.lo > self.hi {
            Some(format!(
                "[{}, {}]: the first bound is above the second",
                self.lo, self.hi
            ))
        } else {
            None
        }
    }
}

/// What the reference model does that is no step's answer (`"model_timing"` in
/// `boot_sequence.json`), in milliseconds. The phone's side follows Cisco's boot and the RFCs
/// named; the few network answers here are the simulated servers' own pace, inside the range of
/// the step they reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelTiming {
    /// Without a voice VLAN from the switch, the phone waits for one, then sends its DISCOVER
    /// on the native VLAN: from the switch's answer to that DISCOVER.
    pub no_voice_vlan_ms: MsRange,
    /// The first DISCOVER retransmission (RFC 2131: 4 s, doubling).
    pub discover_retry_first_ms: i64,
    /// The longest DISCOVER backoff (RFC 2131: 64 s).
    pub discover_retry_cap_ms: i64,
    /// Each DISCOVER retransmission comes up to this much early or late (RFC 2131: ±1 s).
    pub discover_retry_spread_ms: i64,
    /// After a NAK, the phone starts over: from the NAK to its new DISCOVER.
    pub nak_to_discover_ms: MsRange,
    /// From the ACK to the first file request (CTL, over TFTP or HTTP on TCP 6970).
    pub ack_to_first_file_ms: MsRange,
    /// From a file's answer to the next file's request.
    pub between_files_ms: MsRange,
    /// An unanswered TFTP request is sent again after this, doubling (up to 8 times it).
    pub tftp_retry_first_ms: i64,
    /// Added to each TFTP retransmission's wait.
    pub tftp_retry_jitter_ms: MsRange,
    /// A phone whose TFTP timeout is drawn (a scenario's `tftp_timeout: drawn`) waits this
    /// long, drawn once per boot, before its first retransmission, doubling (up to 8 times
    /// it), instead of `tftp_retry_first_ms`. RFC 1350 leaves the timeout to the client and
    /// RFC 2349's timeout option counts whole seconds from 1; 1 to 4 s is the model's span for
    /// the phones' loads, an assumption.
    pub tftp_timeout_ms: MsRange,
    /// When its third SYN to TCP 6970 goes unanswered, or the server resets it, the phone asks
    /// over TFTP this long after that SYN or reset.
    pub http_fallback_ms: MsRange,
    /// The model's HTTP server answers a GET on TCP 6970.
    pub http_answer_ms: MsRange,
    /// From the configuration to the first request of a new load.
    pub config_to_firmware_ms: MsRange,
    /// From the configuration to the SYN, or the SIP REGISTER over UDP, to the first call
    /// manager.
    pub config_to_connect_ms: MsRange,
    /// After the firmware is written, the phone reboots: from the last image to its CDP.
    pub firmware_reboot_ms: MsRange,
    /// After a call manager failed, the phone tries the next of the list.
    pub cm_failover_ms: MsRange,
    /// After the last call manager of the list failed, the phone tries the list again.
    pub cm_list_retry_ms: MsRange,
    /// The model's call manager answers a Register.
    pub register_answer_ms: MsRange,
    /// From a SIP digest challenge to the REGISTER with credentials.
    pub challenge_to_register_ms: MsRange,
    /// A Register over TCP that gets no answer is given up after this.
    pub register_timeout_ms: MsRange,
    /// SIP over UDP: Timer A, the first REGISTER retransmission (RFC 3261: T1, doubling to 4 s).
    pub sip_timer_a_ms: i64,
    /// SIP over UDP: Timer F, after which an unanswered REGISTER is given up (RFC 3261: 64×T1).
    pub sip_timer_f_ms: i64,
    /// After a failed registration, the phone connects again.
    pub register_retry_ms: MsRange,
    /// After a failure, a phone set to reset on failure reboots.
    pub failure_reboot_ms: MsRange,
    /// A registered SCCP phone's KeepAlive period (the RegisterAck's).
    pub keepalive_sccp_ms: i64,
    /// A registered SIP phone's re-REGISTER period (before the Expires the call manager gave).
    pub keepalive_sip_ms: i64,
    /// Added to each keepalive period.
    pub keepalive_jitter_ms: MsRange,
    /// The model's call manager answers a keepalive.
    pub keepalive_answer_ms: MsRange,
    /// 802.1X: the next EAP message of the exchange, either way (the switch relaying the
    /// RADIUS server's answer, or the phone's).
    pub eap_answer_ms: MsRange,
    /// 802.1X: the switch port's EAP Request/Identity period while nobody answers
    /// (Cisco `dot1x timeout tx-period`, 30 s by default).
    pub dot1x_tx_period_ms: i64,
    /// 802.1X: after an EAP-Failure, the switch port's wait before it tries again (Cisco
    /// `dot1x timeout quiet-period`, 60 s by default).
    pub dot1x_quiet_period_ms: i64,
    /// 802.1X: from the EAP-Success (or MAB letting the phone in) to its DISCOVER.
    pub dot1x_success_to_discover_ms: MsRange,
    /// After a DECLINE (its address is taken), the phone starts over: from the DECLINE to its
    /// new DISCOVER (RFC 2131 §3.1: at least ten seconds).
    pub decline_to_discover_ms: MsRange,
    /// The model's DNS server answers a lookup of a call manager's name.
    pub dns_answer_ms: MsRange,
    /// A registered SCCP phone gives its call manager up after this many keepalives in a
    /// row unanswered (a count, not a time), then closes the connection and registers
    /// again, to the same call manager or the next of its group.
    pub keepalive_misses: i64,
    /// A secure registration: the call manager answers each TLS handshake flight.
    pub tls_answer_ms: MsRange,
    /// A secure registration: the phone waits this long for the ServerHello before it
    /// closes the connection and tries again.
    pub tls_hello_timeout_ms: MsRange,
}

/// One value of [`ModelTiming`]: a range, or one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelValue {
    /// `[lo, hi]`: a delay anywhere between.
    Range(MsRange),
    /// One time: a period, a timer or a first wait (positive), or a spread (may be 0).
    Ms(i64),
}

impl ModelTiming {
    /// Every value, by its name in the file, in the file's order.
    pub fn by_name(&self) -> [(&'static str, ModelValue); 37] {
        use ModelValue::{Ms, Range};
        // Every field named: a new one is a compile error until it is listed.
        let ModelTiming {
            no_voice_vlan_ms,
            discover_retry_first_ms,
            discover_retry_cap_ms,
            discover_retry_spread_ms,
            nak_to_discover_ms,
            ack_to_first_file_ms,
            between_files_ms,
            tftp_retry_first_ms,
            tftp_retry_jitter_ms,
            tftp_timeout_ms,
            http_fallback_ms,
            http_answer_ms,
            config_to_firmware_ms,
            config_to_connect_ms,
            firmware_reboot_ms,
            cm_failover_ms,
            cm_list_retry_ms,
            register_answer_ms,
            challenge_to_register_ms,
            register_timeout_ms,
            sip_timer_a_ms,
            sip_timer_f_ms,
            register_retry_ms,
            failure_reboot_ms,
            keepalive_sccp_ms,
            keepalive_sip_ms,
            keepalive_jitter_ms,
            keepalive_answer_ms,
            eap_answer_ms,
            dot1x_tx_period_ms,
            dot1x_quiet_period_ms,
            dot1x_success_to_discover_ms,
            decline_to_discover_ms,
            dns_answer_ms,
            keepalive_misses,
            tls_answer_ms,
            tls_hello_timeout_ms,
        } = *self;
        [
            ("no_voice_vlan_ms", Range(no_voice_vlan_ms)),
            ("discover_retry_first_ms", Ms(discover_retry_first_ms)),
            ("discover_retry_cap_ms", Ms(discover_retry_cap_ms)),
            ("discover_retry_spread_ms", Ms(discover_retry_spread_ms)),
            ("nak_to_discover_ms", Range(nak_to_discover_ms)),
            ("ack_to_first_file_ms", Range(ack_to_first_file_ms)),
            ("between_files_ms", Range(between_files_ms)),
            ("tftp_retry_first_ms", Ms(tftp_retry_first_ms)),
            ("tftp_retry_jitter_ms", Range(tftp_retry_jitter_ms)),
            ("tftp_timeout_ms", Range(tftp_timeout_ms)),
            ("http_fallback_ms", Range(http_fallback_ms)),
            ("http_answer_ms", Range(http_answer_ms)),
            ("config_to_firmware_ms", Range(config_to_firmware_ms)),
            ("config_to_connect_ms", Range(config_to_connect_ms)),
            ("firmware_reboot_ms", Range(firmware_reboot_ms)),
            ("cm_failover_ms", Range(cm_failover_ms)),
            ("cm_list_retry_ms", Range(cm_list_retry_ms)),
            ("register_answer_ms", Range(register_answer_ms)),
            ("challenge_to_register_ms", Range(challenge_to_register_ms)),
            ("register_timeout_ms", Range(register_timeout_ms)),
            ("sip_timer_a_ms", Ms(sip_timer_a_ms)),
            ("sip_timer_f_ms", Ms(sip_timer_f_ms)),
            ("register_retry_ms", Range(register_retry_ms)),
            ("failure_reboot_ms", Range(failure_reboot_ms)),
            ("keepalive_sccp_ms", Ms(keepalive_sccp_ms)),
            ("keepalive_sip_ms", Ms(keepalive_sip_ms)),
            ("keepalive_jitter_ms", Range(keepalive_jitter_ms)),
            ("keepalive_answer_ms", Range(keepalive_answer_ms)),
            ("eap_answer_ms", Range(eap_answer_ms)),
            ("dot1x_tx_period_ms", Ms(dot1x_tx_period_ms)),
            ("dot1x_quiet_period_ms", Ms(dot1x_quiet_period_ms)),
            (
                "dot1x_success_to_discover_ms",
                Range(dot1x_success_to_discover_ms),
            ),
            ("decline_to_discover_ms", Range(decline_to_discover_ms)),
            ("dns_answer_ms", Range(dns_answer_ms)),
            ("keepalive_misses", Ms(keepalive_misses)),
            ("tls_answer_ms", Range(tls_answer_ms)),
            ("tls_hello_timeout_ms", Range(tls_hello_timeout_ms)),
        ]
    }
}

/// Check a step's `model_ms` (at `node`).
pub(crate) fn check_step(
    src: &Source<'_>,
    node: Option<&crate::span::Node>,
    step: &str,
    r: MsRange,
) -> Result<(), LoadError> {
    match r.fault() {
        Some(why) => Err(src.error(node, format!("step `{step}`: model_ms {why}"))),
        None => Ok(()),
    }
}

/// Check `model_timing`: ranges as [`MsRange`] wants them, single times within a day and
/// positive (a spread may be 0), the first DISCOVER backoff at most the longest.
pub(crate) fn check_model(src: &Source<'_>, m: &ModelTiming) -> Result<(), LoadError> {
    let at = |field: &str| src.node(&[Key::Field("model_timing"), Key::Field(field)]);
    for (name, value) in m.by_name() {
        let fault = match value {
            ModelValue::Range(r) => r.fault(),
            ModelValue::Ms(ms) if !(0..=MAX_MODEL_MS).contains(&ms) => {
                Some(format!("{ms}: must be between 0 and a day (ms)"))
            }
            ModelValue::Ms(0) if !name.ends_with("_spread_ms") => {
                Some("0: must be positive".to_owned())
            }
            ModelValue::Ms(_) => None,
        };
        if let Some(why) = fault {
            return Err(src.error(at(name), format!("model_timing.{name} {why}")));
        }
    }
    if m.discover_retry_first_ms > m.discover_retry_cap_ms {
        return Err(src.error(
            at("discover_retry_first_ms"),
            "model_timing.discover_retry_first_ms is above discover_retry_cap_ms",
        ));
    }
    Ok(())
}
