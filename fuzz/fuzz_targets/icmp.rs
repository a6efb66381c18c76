#![no_main]
//! Fuzz target `icmp`: the bytes as ICMP and as ICMPv6; whatever parses
//! re-emits to its input byte for byte.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for m in [parsers::icmp::parse_v4(data), parsers::icmp::parse_v6(data)]
        .into_iter()
        .flatten()
    {
        let _ = m.kind();
        if let Some(q) = m.quoted() {
            assert!(q.transport.len() <= 8);
            let _ = q.ports();
        }
        assert_eq!(m.to_vec().expect("a parsed message emits"), data);
    }
    bootscope_fuzz::icmp(data);
});
