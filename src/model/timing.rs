//! The reference model's timing, read from a boot sequence (`rules/boot_sequence.json`): each
//! step's `model_ms`, found by the event that reaches the step, and the sequence's
//! `model_timing` (the phone's waits, retries and reboots). The simulator draws its delays
//! from the builtin sequence's ([`Timing::builtin`]); the predictions the analyzer prints
//! ([`super::predict`]) come from the sequence the analysis runs with, so `--rules DIR`
//! changes both the verdict and the "within" it prints. A range the sequence lacks is a
//! prediction the model does not make: nothing is made up here.

use std::sync::OnceLock;

use rules::{
    FileClass, FileVia, LoadError, ModelTiming, MsRange, Protocol, Qualities, Sequence, Stage,
};

use crate::timeline::EventType;

/// A step the model speaks of: its stage, and how long the event reaching it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTiming {
    /// The step's stage.
    pub stage: Stage,
    /// Its `model_ms`, when the sequence gives one.
    pub ms: Option<MsRange>,
}

/// The steps the model speaks of, each found by the event that reaches it, and the model's
/// other timing.
#[derive(Debug, Clone, Copy)]
pub struct Timing<'s> {
    /// The switch's CDP / LLDP-MED answer with the voice VLAN (`switch_voice_vlan`).
    pub switch_answer: Option<StepTiming>,
    /// The switch port's EAP-Success (`eap_success`), counted from the phone's last EAP
    /// message.
    pub port_auth: Option<StepTiming>,
    /// The phone's DISCOVER (`dhcp_discover`), counted from the voice VLAN.
    pub discover: Option<StepTiming>,
    /// The server's OFFER (`dhcp_offer`).
    pub offer: Option<StepTiming>,
    /// The phone's REQUEST (`dhcp_request`).
    pub request: Option<StepTiming>,
    /// The server's ACK (`dhcp_ack`); a NAK comes as soon.
    pub ack: Option<StepTiming>,
    /// The call manager's SYN-ACK (`cm_syn_ack`).
    pub connected: Option<StepTiming>,
    /// The call manager's acknowledgement of a registration (`register_ack`).
    pub registered: Option<StepTiming>,
    /// The model's other timing (`model_timing`).
    pub model: Option<ModelTiming>,
    /// The sequence, for the steps found by their qualifiers (files, registrations).
    sequence: &'s Sequence,
}

impl<'s> Timing<'s> {
    /// The model's timing in `seq`.
    pub fn new(seq: &'s Sequence) -> Timing<'s> {
        let step = |t: EventType| step_timing(seq, t, &Qualities::default());
        Timing {
            switch_answer: step(EventType::SwitchVoiceVlan),
            port_auth: step(EventType::EapSuccess),
            discover: step(EventType::DhcpDiscover),
            offer: step(EventType::DhcpOffer),
            request: step(EventType::DhcpRequest),
            ack: step(EventType::DhcpAck),
            connected: step(EventType::CmSynAck),
            registered: step(EventType::RegisterAck),
            model: seq.model_timing().copied(),
            sequence: seq,
        }
    }

    /// The builtin sequence's timing: the simulator's.
    ///
    /// # Errors
    /// The builtin rules do not load (a test sees that they do).
    pub fn builtin() -> Result<Timing<'static>, &'static LoadError> {
        static BUILTIN: OnceLock<Result<Sequence, LoadError>> = OnceLock::new();
        let seq = BUILTIN
            .get_or_init(|| crate::analyze::load_rules(None).map(|r| r.sequence))
            .as_ref()?;
        Ok(Timing::new(seq))
    }

    /// The step a file of `class` reaches when it comes (`file_received`), over `via` (`None`:
    /// either way).
    pub fn file(&self, class: FileClass, via: Option<FileVia>) -> Option<StepTiming> {
        let q = Qualities {
            file: Some(class),
            via,
            ..Qualities::default()
        };
        step_timing(self.sequence, EventType::FileReceived, &q)
    }

    /// The step a Register (not an un-register) over `proto` reaches (`None`: either protocol).
    pub fn register(&self, proto: Option<Protocol>) -> Option<StepTiming> {
        let q = Qualities {
            proto,
            deregister: Some(false),
            ..Qualities::default()
        };
        step_timing(self.sequence, EventType::Register, &q)
    }

    /// The first range the simulator needs that the sequence lacks, by name; `None` when it
    /// has them all.
    pub fn missing_for_simulation(&self) -> Option<&'static str> {
        use FileClass::{Ctl, DefaultConfig, DeviceConfig, Firmware, Itl};
        let ms = |s: Option<StepTiming>| s.and_then(|s| s.ms).is_some();
        let steps = [
            ("switch_voice_vlan", ms(self.switch_answer)),
            ("dhcp_discover", ms(self.discover)),
            ("dhcp_offer", ms(self.offer)),
            ("dhcp_request", ms(self.request)),
            ("dhcp_ack", ms(self.ack)),
            ("register (sccp)", ms(self.register(Some(Protocol::Sccp)))),
            ("register (sip)", ms(self.register(Some(Protocol::Sip)))),
            ("model_timing", self.model.is_some()),
        ];
        let files = [Ctl, Itl, DeviceConfig, DefaultConfig, Firmware].map(|c| {
            (
                "file_received (tftp)",
                ms(self.file(c, Some(FileVia::Tftp))),
            )
        });
        steps
            .into_iter()
            .chain(files)
            .find(|(_, there)| !there)
            .map(|(name, _)| name)
    }
}

/// The step `event` with qualities `q` reaches, with its timing.
fn step_timing(seq: &Sequence, event: EventType, q: &Qualities) -> Option<StepTiming> {
    let s = seq.step(seq.reached_by(event.name(), q)?);
    Some(StepTiming {
        stage: s.stage,
        ms: s.model_ms,
    })
}

/// The latest a message can come after the one it answers or follows, with a margin for a
/// loaded network: twice the longest the model takes, and a second.
pub const fn deadline(range: MsRange) -> i64 {
    range.hi * 2 + 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_sequence_has_every_range_the_simulator_needs() {
        let t = Timing::builtin().unwrap();
        assert_eq!(t.missing_for_simulation(), None);
        assert_eq!(t.offer.unwrap().ms, Some(MsRange { lo: 2, hi: 30 }));
        assert_eq!(t.offer.unwrap().stage, Stage::Dhcp);
        let firmware = t.file(FileClass::Firmware, None).unwrap();
        assert_eq!(firmware.stage, Stage::Firmware);
        assert_eq!(
            t.file(FileClass::DeviceConfig, Some(FileVia::Http))
                .unwrap()
                .ms,
            Some(MsRange { lo: 2, hi: 20 })
        );
        assert!(t.file(FileClass::Other, None).is_none());
        assert_eq!(deadline(MsRange { lo: 2, hi: 30 }), 1060);
    }

    #[test]
    fn a_sequence_without_ranges_gives_none() {
        let rules = crate::analyze::load_rules(None).unwrap();
        let text = rules::BUILTIN_SEQUENCE.replace("\"model_ms\": [2, 30], ", "");
        let seq =
            Sequence::from_json("seq.json", &text, &crate::engine::facts::vocabulary()).unwrap();
        let t = Timing::new(&seq);
        assert_eq!(t.offer.unwrap().ms, None);
        assert_eq!(t.missing_for_simulation(), Some("dhcp_offer"));
        assert_eq!(
            Timing::new(&rules.sequence).offer.unwrap().ms.unwrap().hi,
            30
        );
    }
}
