#![no_main]
//! Fuzz target `arp`: an ARP packet that parses writes back its 28 bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(arp) = parsers::arp::parse(data) {
        let _ = (arp.is_probe(), arp.is_announcement());
        let bytes = arp.to_vec().expect("a parsed ARP packet writes back");
        assert_eq!(data.get(..bytes.len()), Some(&bytes[..]));
    }
    bootscope_fuzz::arp(data);
});
