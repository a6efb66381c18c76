#![no_main]
//! Fuzz target `dns`: a UDP payload and a TCP stream buffer through the DNS
//! dissector; whatever parses re-emits to a prefix of its input and its names
//! print within their bound.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = parsers::dns::parse(data) {
        let out = m.to_vec().expect("a parsed message emits");
        assert!(data.starts_with(&out), "DNS emit differs from its input");
        for q in &m.questions {
            let mut s = String::new();
            q.name.write_to(&mut s, 64);
            assert!(s.len() <= 64);
        }
        for r in m.records() {
            let _ = r.name.to_dotted();
        }
    }
    let mut rest = data;
    while let Ok((m, after)) = parsers::dns::parse_tcp(rest) {
        assert!(after.len() < rest.len(), "DNS over TCP made no progress");
        let _ = m.to_vec_tcp();
        rest = after;
    }
    bootscope_fuzz::dns(data);
});
