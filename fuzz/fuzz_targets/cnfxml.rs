#![no_main]
//! Fuzz target `cnfxml`: a device configuration's bytes through the scanner, plain and
//! signed; whatever reads keeps its lists within their caps and borrows from the input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use parsers::cnfxml;
    for c in [cnfxml::parse(data), cnfxml::parse_signed(data)]
        .into_iter()
        .flatten()
    {
        assert!(c.call_managers.len() <= cnfxml::MAX_CALL_MANAGERS);
        assert!(c.tvs.len() <= cnfxml::MAX_TVS);
        assert!(c.capf.len() <= cnfxml::MAX_CAPF);
        let sorted = c.by_priority();
        assert_eq!(sorted.len(), c.call_managers.len());
        for cm in &sorted {
            assert!(cm.host().len() <= data.len());
        }
        if let Some(s) = c.srst {
            assert!(s.addresses().count() <= cnfxml::SRST_SLOTS);
        }
    }
    let _ = cnfxml::looks_like_xml(data);
});
