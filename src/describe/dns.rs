//! DNS rendering for `bootscope dissect`: tshark's Info column ("Standard query
//! 0x1a2b A cucm-sub1.example.com", "Standard query response 0x1a2b A
//! cucm-sub1.example.com A 10.1.1.10", "... No such name ...") and the decoded
//! fields (questions, answers with their data, rcode).

use std::fmt::Write;

use parsers::dns::{DnsMessage, DnsRcode, DnsRdata, DnsRecord};
use serde_json::{Map, Value};

use super::push_str;

/// Most characters of a name written (a name is at most 255 bytes on the wire;
/// escapes may lengthen it).
const MAX_NAME: usize = 1024;

fn push_name(out: &mut String, name: &parsers::dns::DnsName<'_>) {
    let mut s = String::new();
    name.write_to(&mut s, MAX_NAME);
    push_str(out, &s);
}

fn name_text(name: &parsers::dns::DnsName<'_>) -> String {
    let mut s = String::new();
    push_name(&mut s, name);
    s
}

/// A record's data as tshark writes it after the type (`10.1.1.10`, a name, an SRV's
/// `0 5 5060 cucm.example.com`); `None` for raw data.
fn rdata_text(r: &DnsRecord<'_>) -> Option<String> {
    match &r.rdata {
        DnsRdata::A(a) => Some(a.to_string()),
        DnsRdata::Aaaa(a) => Some(a.to_string()),
        DnsRdata::Cname(n) => Some(name_text(n)),
        DnsRdata::Srv {
            priority,
            weight,
            port,
            target,
        } => Some(format!("{priority} {weight} {port} {}", name_text(target))),
        DnsRdata::Other(_) => None,
    }
}

/// One-line tshark-like summary.
pub fn summary(msg: &DnsMessage<'_>, out: &mut String) {
    let h = &msg.header;
    out.push_str("DNS ");
    out.push_str(h.opcode.name().unwrap_or("Unknown operation"));
    if h.response {
        out.push_str(" response");
    }
    let _ = write!(out, " {:#06x}", h.id);
    if h.response && h.rcode != DnsRcode::NOERROR {
        let _ = write!(out, " {}", h.rcode.name().unwrap_or("Unknown error"));
    }
    for q in &msg.questions {
        let _ = write!(out, " {} ", q.qtype.name().unwrap_or("Unknown"));
        push_name(out, &q.name);
    }
    for r in &msg.answers {
        if let Some(data) = rdata_text(r) {
            let _ = write!(out, " {} {data}", r.rtype.name().unwrap_or("Unknown"));
        }
    }
}

/// Decoded fields for `dissect --format json`: `id`, `response`, `opcode`, `rcode`
/// (number) and `rcode_name`, `questions` [{`name`, `type`}], `answers` [{`name`,
/// `type`, `ttl`, `data` (decoded types only)}].
pub fn fields(msg: &DnsMessage<'_>, out: &mut Map<String, Value>) {
    let h = &msg.header;
    out.insert("id".into(), h.id.into());
    out.insert("response".into(), h.response.into());
    out.insert("opcode".into(), h.opcode.0.into());
    out.insert("rcode".into(), h.rcode.0.into());
    if let Some(n) = h.rcode.name() {
        out.insert("rcode_name".into(), n.into());
    }
    let questions = msg
        .questions
        .iter()
        .map(|q| {
            let mut o = Map::new();
            o.insert("name".into(), name_text(&q.name).into());
            o.insert("type".into(), q.qtype.0.into());
            Value::Object(o)
        })
        .collect();
    out.insert("questions".into(), Value::Array(questions));
    let answers = msg
        .answers
        .iter()
        .map(|r| {
            let mut o = Map::new();
            o.insert("name".into(), name_text(&r.name).into());
            o.insert("type".into(), r.rtype.0.into());
            o.insert("ttl".into(), r.ttl.into());
            if let Some(d) = rdata_text(r) {
                o.insert("data".into(), d.into());
            }
            Value::Object(o)
        })
        .collect();
    out.insert("answers".into(), Value::Array(answers));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::encode;

    #[test]
    fn a_query_and_its_answer_read_as_tshark_says() {
        let q = encode::dns_a_query(0x1a2b, "cucm-sub1.example.com").unwrap();
        let m = parsers::dns::parse(&q).unwrap();
        let mut s = String::new();
        summary(&m, &mut s);
        assert_eq!(s, "DNS Standard query 0x1a2b A cucm-sub1.example.com");
        let a = encode::dns_a_answer(0x1a2b, "cucm-sub1.example.com", &[[10, 1, 1, 10].into()])
            .unwrap();
        let m = parsers::dns::parse(&a).unwrap();
        let mut s = String::new();
        summary(&m, &mut s);
        assert_eq!(
            s,
            "DNS Standard query response 0x1a2b A cucm-sub1.example.com A 10.1.1.10"
        );
        let mut f = Map::new();
        fields(&m, &mut f);
        assert_eq!(f["answers"][0]["data"], Value::from("10.1.1.10"));
        let nx = encode::dns_a_answer(7, "gone.example.com", &[]).unwrap();
        let m = parsers::dns::parse(&nx).unwrap();
        let mut s = String::new();
        summary(&m, &mut s);
        assert_eq!(
            s,
            "DNS Standard query response 0x0007 No such name A gone.example.com"
        );
    }
}
