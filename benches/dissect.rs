//! Per-dissector throughput over real fixtures (parsers/testdata; see the READMEs there
//! for where each one was cut from). One group per protocol; every benchmark reports
//! `Throughput::Bytes` of the buffer it dissects.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use parsers::{cdp, dhcp, http, lldp, sccp, sip, tftp, tls};

/// CDP from a Cisco IP Phone 8851 (power request TLVs).
const CDP_PHONE: &[u8] = include_bytes!("../parsers/testdata/cdp/phone-8851.bin");
/// CDP from a switch with the VoIP VLAN Reply TLV (voice VLAN 10).
const CDP_SWITCH_VOICE: &[u8] = include_bytes!("../parsers/testdata/cdp/switch-voice-vlan.bin");
/// LLDP-MED from a ProCurve: network policy (voice VLAN 50), civic location, extended power.
const LLDP_MED_POLICY: &[u8] = include_bytes!("../parsers/testdata/lldp/procurve-med.bin");
/// LLDP-MED inventory TLVs from a Cisco SG200 (one 261-byte TLV).
const LLDP_SG200: &[u8] = include_bytes!("../parsers/testdata/lldp/sg200-inventory.bin");
/// DHCP Offer carrying option 150 (two TFTP servers).
const DHCP_OFFER_150: &[u8] = include_bytes!("../parsers/testdata/dhcp/rfc5859-offer.bin");
/// DHCP Discover asking for option 150 in its parameter request list.
const DHCP_DISCOVER: &[u8] = include_bytes!("../parsers/testdata/dhcp/rfc5859-discover.bin");
/// TFTP Read Request "file1", octet.
const TFTP_RRQ: &[u8] = include_bytes!("../parsers/testdata/tftp/rrq-file1.bin");
/// TFTP DATA block 1, 512 bytes.
const TFTP_DATA: &[u8] = include_bytes!("../parsers/testdata/tftp/data-block1.bin");
/// SCCP RegisterReq from a 7970 phone.
const SCCP_REGISTER_REQ: &[u8] = include_bytes!("../parsers/testdata/sccp/phone-register-req.bin");
/// One TCP segment holding seven SCCP PDUs of a call.
const SCCP_SEVEN_PDUS: &[u8] = include_bytes!("../parsers/testdata/sccp/call-seven-pdus.bin");
/// One TCP segment holding four SCCP PDUs (soft-key set of 784 data bytes, ...).
const SCCP_FOUR_PDUS: &[u8] = include_bytes!("../parsers/testdata/sccp/phone-four-pdus.bin");
/// SIP REGISTER (UDP) from a Cisco CP-8811.
const SIP_REGISTER_CP8811: &[u8] = include_bytes!("../parsers/testdata/sip/register-cp8811.bin");
/// SIP 503 to that REGISTER, from a CUBE.
const SIP_503: &[u8] = include_bytes!("../parsers/testdata/sip/register-503-cube.bin");
/// SIP over TCP: a 401 then a 200, consecutive on the server's side of one connection.
const SIP_TCP_401: &[u8] = include_bytes!("../parsers/testdata/sip/tcp-register-401.bin");
const SIP_TCP_200: &[u8] = include_bytes!("../parsers/testdata/sip/tcp-register-200.bin");
/// HTTP GET of a phone's SEP<mac>.cnf.xml on TCP 6970.
const HTTP_GET: &[u8] = include_bytes!("../parsers/testdata/http/get-sep-cnf.bin");
/// HTTP 200 with a text/xml body.
const HTTP_200_XML: &[u8] = include_bytes!("../parsers/testdata/http/200-ok-xml.bin");

/// TLS: the call manager's first flight (three records: ServerHello, Certificate,
/// CertificateRequest and ServerHelloDone) of a secure SCCP registration.
const TLS_SERVER_FLIGHT: &[u8] =
    include_bytes!("../parsers/testdata/tls/server-hello-certificate.bin");
/// TLS: one application data record under TLS_RSA_WITH_NULL_SHA (SCCP and its MAC).
const TLS_APP_DATA: &[u8] = include_bytes!("../parsers/testdata/tls/app-data-null-sccp.bin");

/// Benchmark `f` over `input`, reporting the input's size as throughput.
fn bytes<'i, R>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    input: &'i [u8],
    f: fn(&'i [u8]) -> R,
) {
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function(name, |b| b.iter(|| f(black_box(input))));
}

fn bench_cdp(c: &mut Criterion) {
    assert!(cdp::parse(CDP_PHONE).is_ok() && cdp::parse(CDP_SWITCH_VOICE).is_ok());
    let mut g = c.benchmark_group("cdp");
    bytes(&mut g, "phone_8851", CDP_PHONE, cdp::parse);
    bytes(&mut g, "switch_voice_vlan", CDP_SWITCH_VOICE, cdp::parse);
    g.finish();
}

fn bench_lldp(c: &mut Criterion) {
    assert!(lldp::parse(LLDP_MED_POLICY).is_ok() && lldp::parse(LLDP_SG200).is_ok());
    let mut g = c.benchmark_group("lldp");
    bytes(&mut g, "procurve_med_policy", LLDP_MED_POLICY, lldp::parse);
    bytes(&mut g, "sg200_inventory", LLDP_SG200, lldp::parse);
    g.finish();
}

fn bench_dhcp(c: &mut Criterion) {
    assert!(dhcp::parse(DHCP_OFFER_150).is_ok() && dhcp::parse(DHCP_DISCOVER).is_ok());
    let mut g = c.benchmark_group("dhcp");
    bytes(&mut g, "offer_option150", DHCP_OFFER_150, dhcp::parse);
    bytes(&mut g, "discover", DHCP_DISCOVER, dhcp::parse);
    g.finish();
}

fn bench_tftp(c: &mut Criterion) {
    assert!(tftp::parse(TFTP_RRQ).is_ok() && tftp::parse(TFTP_DATA).is_ok());
    let mut g = c.benchmark_group("tftp");
    bytes(&mut g, "rrq", TFTP_RRQ, tftp::parse);
    bytes(&mut g, "data_512", TFTP_DATA, tftp::parse);
    g.finish();
}

/// Every PDU of a segment, as the stream dispatcher walks it; returns how many parsed.
fn sccp_segment(buf: &[u8]) -> usize {
    sccp::pdus(buf).filter(Result::is_ok).count()
}

fn bench_sccp(c: &mut Criterion) {
    assert!(sccp::parse(SCCP_REGISTER_REQ).is_ok());
    assert_eq!(sccp_segment(SCCP_SEVEN_PDUS), 7);
    assert_eq!(sccp_segment(SCCP_FOUR_PDUS), 4);
    let mut g = c.benchmark_group("sccp");
    bytes(&mut g, "register_req", SCCP_REGISTER_REQ, sccp::parse);
    bytes(&mut g, "segment_seven_pdus", SCCP_SEVEN_PDUS, sccp_segment);
    bytes(&mut g, "segment_four_pdus", SCCP_FOUR_PDUS, sccp_segment);
    g.finish();
}

/// Every message of a TCP buffer; returns how many.
fn sip_stream(buf: &[u8]) -> usize {
    sip::messages(buf).count()
}

fn bench_sip(c: &mut Criterion) {
    assert!(sip::parse(SIP_REGISTER_CP8811).is_ok() && sip::parse(SIP_503).is_ok());
    let tcp = [SIP_TCP_401, SIP_TCP_200].concat();
    assert_eq!(sip_stream(&tcp), 2);
    let mut g = c.benchmark_group("sip");
    bytes(
        &mut g,
        "udp_register_cp8811",
        SIP_REGISTER_CP8811,
        sip::parse,
    );
    bytes(&mut g, "udp_503_cube", SIP_503, sip::parse);
    bytes(&mut g, "tcp_401_200_stream", &tcp, sip_stream);
    g.finish();
}

fn bench_http(c: &mut Criterion) {
    assert!(http::parse_head(HTTP_GET).is_ok() && http::parse_head(HTTP_200_XML).is_ok());
    let mut g = c.benchmark_group("http");
    bytes(&mut g, "get_sep_cnf", HTTP_GET, http::parse_head);
    bytes(&mut g, "head_200_xml", HTTP_200_XML, http::parse_head);
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// Every record of a TCP buffer, as the stream dispatcher walks it; returns how many.
fn tls_segment(mut buf: &[u8]) -> usize {
    let mut n = 0;
    while let Ok((_, rest)) = tls::parse(buf) {
        n += 1;
        buf = rest;
    }
    n
}

fn bench_tls(c: &mut Criterion) {
    assert_eq!(tls_segment(TLS_SERVER_FLIGHT), 3);
    assert_eq!(tls_segment(TLS_APP_DATA), 1);
    let mut g = c.benchmark_group("tls");
    bytes(&mut g, "server_flight", TLS_SERVER_FLIGHT, tls_segment);
    bytes(&mut g, "app_data_null", TLS_APP_DATA, tls_segment);
    g.finish();
}

criterion_group! {
    name = dissect;
    config = config();
    targets = bench_cdp, bench_lldp, bench_dhcp, bench_tftp, bench_sccp, bench_sip, bench_http,
        bench_tls
}
criterion_main!(dissect);
