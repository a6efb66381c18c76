#![no_main]
//! Fuzz target `eapol`: an EAPOL PDU that parses writes back, and reads back
//! the same; and its rendering for `dissect` is safe to print
//! (`bootscope_fuzz::eapol`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bootscope_fuzz::eapol(data);
    if let Ok(pdu) = parsers::eapol::parse(data) {
        let _ = pdu.identity();
        let bytes = pdu.to_vec().expect("a parsed EAPOL PDU writes back");
        assert_eq!(parsers::eapol::parse(&bytes).ok(), Some(pdu));
    }
});
