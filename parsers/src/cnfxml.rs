//! A Cisco IP phone's device configuration (`SEP<MAC>.cnf.xml`, `XMLDefault.cnf.xml`),
//! read for what decides its registration: the call-manager group in priority order with
//! its ports, the SRST reference, the device security mode, the TVS and CAPF servers, the
//! load, the transport and the load server. Cisco publishes no schema of the file: the
//! element names and nesting are those of the configurations Unified CM's TFTP service
//! builds, as public copies and the provisioning templates written after them show
//! (`devicePool/callManagerGroup/members/member[@priority]/callManager`, `srstInfo`,
//! `deviceSecurityMode`, `capfList/capf`); the signed and encrypted forms and the TVS are
//! those of Cisco technote 116232, "Communications Manager Security By Default and ITL
//! Operation and Troubleshooting". The security modes are Unified CM's device security
//! profile's (Non Secure, Authenticated, Encrypted), numbered 1 to 3 in the file.
//!
//! A small scanner, not an XML parser: tags are followed by name on a bounded stack, text
//! is borrowed from the input (entities are not decoded; the fields read hold none),
//! comments, processing instructions, CDATA and DOCTYPE are skipped. Every step moves
//! forward, so the scan is linear in the input; the lists are capped. A document cut short
//! (the caller keeps only the first bytes) is read as far as it goes (`complete` says so).
//!
//! A signed file (`.sgn`) is the XML behind a signature header: TLVs of a 1-byte tag and a
//! 2-byte big-endian length, the first `HEADER_VERSION` (1), the second `HEADER_LENGTH`
//! (2), whose value is where the file starts (as the `stripsgn` tool of usecallmanager.nz's
//! certutils reads it). A header not of that form is searched for the XML's start. An
//! encrypted file (`.enc.sgn`) cannot be read: [`parse_signed`] tells it apart.

use crate::error::{DissectError, ErrorKind, Proto};

/// Call managers kept from a group (Unified CM puts at most three in one).
pub const MAX_CALL_MANAGERS: usize = 8;
/// TVS servers kept.
pub const MAX_TVS: usize = 4;
/// CAPF servers kept.
pub const MAX_CAPF: usize = 4;
/// SRST references a configuration names (`ipAddr1` to `ipAddr3`).
pub const SRST_SLOTS: usize = 3;
/// Nesting followed; deeper elements are skipped whole.
const MAX_DEPTH: usize = 24;
/// How far into a signed file's bytes the XML is searched for when its header is not the
/// documented one.
const SIGNED_HEADER_SEARCH: usize = 4096;

/// How the configuration came: plain, signed (XML behind a signature) or encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Envelope {
    /// `.cnf.xml`: the XML itself.
    #[default]
    Plain,
    /// `.cnf.xml.sgn`: a signature header, then the XML.
    Signed,
    /// `.cnf.xml.enc.sgn`: signed and encrypted; nothing of it can be read.
    Encrypted,
}

/// One call manager of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallManager<'a> {
    /// The member's `priority` attribute (0 first).
    pub priority: Option<u16>,
    /// Its `<name>` (the server's name in Unified CM).
    pub name: &'a [u8],
    /// Its `<processNodeName>`: the address or host name the phone connects to.
    pub node: &'a [u8],
    /// `ports/ethernetPhonePort`: SCCP (2000).
    pub sccp_port: Option<u16>,
    /// `ports/sipPort` (5060).
    pub sip_port: Option<u16>,
    /// `ports/securedSipPort` (5061).
    pub secured_sip_port: Option<u16>,
}

impl<'a> CallManager<'a> {
    /// What the phone connects to: the node name, else the name.
    pub fn host(&self) -> &'a [u8] {
        if self.node.is_empty() {
            self.name
        } else {
            self.node
        }
    }
}

/// A router of the SRST reference (`ipAddrN` / `portN`, `sipIpAddrN` / `sipPortN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SrstRouter<'a> {
    /// `ipAddrN`: the SCCP fallback address.
    pub addr: &'a [u8],
    /// `portN` (2000).
    pub port: Option<u16>,
    /// `sipIpAddrN`: the SIP fallback address.
    pub sip_addr: &'a [u8],
    /// `sipPortN` (5060).
    pub sip_port: Option<u16>,
}

/// The SRST reference (`srstInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Srst<'a> {
    /// `<name>` of the reference.
    pub name: &'a [u8],
    /// `srstOption`: `Disable`, `Enable`, `User Specific`, …
    pub option: &'a [u8],
    /// The routers, slot 1 to 3.
    pub routers: [SrstRouter<'a>; SRST_SLOTS],
}

impl<'a> Srst<'a> {
    /// The routers named, in slot order (SCCP address, else SIP address).
    pub fn addresses(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.routers.iter().filter_map(|r| {
            let a = if r.addr.is_empty() {
                r.sip_addr
            } else {
                r.addr
            };
            (!a.is_empty()).then_some(a)
        })
    }

    /// Whether the option turns SRST off.
    pub fn disabled(&self) -> bool {
        self.option.eq_ignore_ascii_case(b"Disable")
    }
}

/// A server named by address and port (a TVS or CAPF member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Server<'a> {
    /// Its `<address>` (TVS) or `<processNodeName>` (CAPF).
    pub address: &'a [u8],
    /// Its `<port>` (TVS, 2445) or `<phonePort>` (CAPF, 3804).
    pub port: Option<u16>,
}

/// What a device configuration says, borrowed from its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CnfXml<'a> {
    /// Plain or signed (an encrypted file never gets this far).
    pub envelope: Envelope,
    /// `deviceProtocol`: `SCCP` or `SIP`.
    pub device_protocol: &'a [u8],
    /// The call-manager group's members, in document order (at most
    /// [`MAX_CALL_MANAGERS`]); [`CnfXml::by_priority`] sorts them.
    pub call_managers: Vec<CallManager<'a>>,
    /// Members past the cap.
    pub call_managers_dropped: usize,
    /// `srstInfo`, when present.
    pub srst: Option<Srst<'a>>,
    /// `deviceSecurityMode`: 1 non-secure, 2 authenticated, 3 encrypted.
    pub device_security_mode: Option<u8>,
    /// `TVS` members (at most [`MAX_TVS`]).
    pub tvs: Vec<Server<'a>>,
    /// `capfAuthMode`.
    pub capf_auth_mode: Option<u8>,
    /// `capfList` members (at most [`MAX_CAPF`]).
    pub capf: Vec<Server<'a>>,
    /// `loadInformation`: the load the phone is to run.
    pub load_information: &'a [u8],
    /// `transportLayerProtocol` (1 UDP, 2 TCP, 3 TLS, 4 TCP preferred; as Unified CM
    /// numbers them).
    pub transport_layer_protocol: Option<u8>,
    /// `loadServer`: where the load is fetched from when not the TFTP server.
    pub load_server: &'a [u8],
    /// The root `<device>` element was closed: the whole document was read.
    pub complete: bool,
}

impl<'a> CnfXml<'a> {
    /// The call managers in priority order (members without a priority after, in
    /// document order).
    pub fn by_priority(&self) -> Vec<CallManager<'a>> {
        let mut v = self.call_managers.clone();
        v.sort_by_key(|c| c.priority.unwrap_or(u16::MAX));
        v
    }

    /// Whether the phone must register securely (mode 2 or 3).
    pub fn secure(&self) -> bool {
        self.device_security_mode.is_some_and(|m| m >= 2)
    }
}

/// Read a plain configuration.
///
/// # Errors
/// The bytes hold no `<device>` element: not a device configuration.
pub fn parse(input: &[u8]) -> Result<CnfXml<'_>, DissectError> {
    let mut out = CnfXml::default();
    let mut sc = Scanner {
        out: &mut out,
        stack: [&[]; MAX_DEPTH],
        depth: 0,
        seen_device: false,
    };
    sc.run(input);
    if !sc.seen_device {
        return Err(DissectError {
            proto: Proto::CnfXml,
            offset: 0,
            kind: ErrorKind::Malformed("no <device> element"),
        });
    }
    Ok(out)
}

/// Read a signed configuration (`.sgn`): the XML behind its signature header.
///
/// # Errors
/// No XML behind the header, or none with a `<device>` element; the offset is where the
/// XML was looked for.
pub fn parse_signed(input: &[u8]) -> Result<CnfXml<'_>, DissectError> {
    let start = signed_body_start(input).ok_or(DissectError {
        proto: Proto::CnfXml,
        offset: 0,
        kind: ErrorKind::Malformed("no XML behind the signature header"),
    })?;
    let body = input.get(start..).unwrap_or_default();
    let mut c = parse(body).map_err(|mut e| {
        e.offset = e.offset.saturating_add(start);
        e
    })?;
    c.envelope = Envelope::Signed;
    Ok(c)
}

/// Where a signed file's content starts: the `HEADER_LENGTH` of a documented header when
/// the XML starts there, else the first `<?xml` or `<device` within the first bytes.
fn signed_body_start(input: &[u8]) -> Option<usize> {
    if let [1, 0, 2, _, _, 2, 0, 2, hi, lo, ..] = input {
        let at = usize::from(u16::from_be_bytes([*hi, *lo]));
        if input.get(at..).is_some_and(starts_xml) {
            return Some(at);
        }
    }
    let window = input.get(..SIGNED_HEADER_SEARCH).unwrap_or(input);
    [b"<?xml".as_slice(), b"<device"]
        .iter()
        .filter_map(|pat| find(window, pat))
        .min()
}

fn starts_xml(b: &[u8]) -> bool {
    let b = trim(b);
    b.starts_with(b"<?xml") || b.starts_with(b"<device")
}

/// Whether bytes look like an XML document rather than ciphertext (an `.enc.sgn`'s body
/// behind the header): for the engine to say "encrypted" only when it cannot read it.
pub fn looks_like_xml(input: &[u8]) -> bool {
    signed_body_start(input).is_some() || starts_xml(input)
}

struct Scanner<'o, 'a> {
    out: &'o mut CnfXml<'a>,
    stack: [&'a [u8]; MAX_DEPTH],
    /// Open elements; above `MAX_DEPTH` only counted.
    depth: usize,
    seen_device: bool,
}

impl<'a> Scanner<'_, 'a> {
    fn run(&mut self, input: &'a [u8]) {
        let mut i = 0usize;
        while let Some(rest) = input.get(i..) {
            let Some(lt) = memchr::memchr(b'<', rest) else {
                break;
            };
            if lt > 0 {
                self.text(rest.get(..lt).unwrap_or_default());
            }
            let tag = rest.get(lt..).unwrap_or_default();
            let used = self.markup(tag);
            // `markup` consumes at least the `<`: the scan always moves on.
            i = i.saturating_add(lt).saturating_add(used.max(1));
        }
    }

    /// One piece of markup starting at `<`; returns the bytes it takes (to the end of
    /// the input when it is not closed).
    fn markup(&mut self, tag: &'a [u8]) -> usize {
        let until = |pat: &[u8]| find(tag, pat).map_or(tag.len(), |p| p + pat.len());
        if tag.starts_with(b"<!--") {
            return until(b"-->");
        }
        if tag.starts_with(b"<![CDATA[") {
            return until(b"]]>");
        }
        if tag.starts_with(b"<?") || tag.starts_with(b"<!") {
            return until(b">");
        }
        let Some(gt) = memchr::memchr(b'>', tag) else {
            return tag.len();
        };
        let inner = tag.get(1..gt).unwrap_or_default();
        if let Some(name) = inner.strip_prefix(b"/") {
            self.close(trim(name));
        } else {
            let self_closing = inner.ends_with(b"/");
            let inner = if self_closing {
                inner.get(..inner.len() - 1).unwrap_or_default()
            } else {
                inner
            };
            let name_end = inner
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(inner.len());
            let (name, attrs) = inner.split_at(name_end);
            if !name.is_empty() {
                self.open(name, attrs);
                if self_closing {
                    self.close(name);
                }
            }
        }
        gt + 1
    }

    fn open(&mut self, name: &'a [u8], attrs: &'a [u8]) {
        if name == b"device" {
            self.seen_device = true;
        }
        if let Some(slot) = self.stack.get_mut(self.depth) {
            *slot = name;
        }
        self.depth = self.depth.saturating_add(1);
        if self.depth > MAX_DEPTH {
            return;
        }
        let cm_member = name == b"member" && self.parent_is(&[b"callManagerGroup", b"members"]);
        let tvs_member = name == b"member" && self.parent_is(&[b"TVS", b"members"]);
        let capf = name == b"capf" && self.parent_is(&[b"capfList"]);
        let out = &mut *self.out;
        if cm_member {
            if out.call_managers.len() < MAX_CALL_MANAGERS {
                out.call_managers.push(CallManager {
                    priority: attr(attrs, b"priority").and_then(number),
                    ..CallManager::default()
                });
            } else {
                out.call_managers_dropped += 1;
            }
        } else if tvs_member {
            if out.tvs.len() < MAX_TVS {
                out.tvs.push(Server::default());
            }
        } else if capf {
            if out.capf.len() < MAX_CAPF {
                out.capf.push(Server::default());
            }
        } else if name == b"srstInfo" && out.srst.is_none() {
            out.srst = Some(Srst::default());
        }
    }

    /// Close the innermost element of that name (tolerating a missing close tag).
    fn close(&mut self, name: &[u8]) {
        let followed = self.depth.min(MAX_DEPTH);
        if self.depth > MAX_DEPTH {
            // Inside a skipped subtree: the stack holds nothing to match.
            self.depth -= 1;
            return;
        }
        let at = self
            .stack
            .get(..followed)
            .and_then(|s| s.iter().rposition(|n| *n == name));
        if let Some(at) = at {
            if at == 0 && name == b"device" {
                self.out.complete = true;
            }
            self.depth = at;
        }
    }

    /// Whether the open elements end in `path` followed by the element just opened.
    fn parent_is(&self, path: &[&[u8]]) -> bool {
        let open = self
            .stack
            .get(..self.depth.saturating_sub(1))
            .unwrap_or_default();
        open.len() >= path.len() && open.ends_with(path)
    }

    fn text(&mut self, raw: &'a [u8]) {
        let t = trim(raw);
        if t.is_empty() || self.depth == 0 || self.depth > MAX_DEPTH {
            return;
        }
        // The stack is a few pointers: a copy frees `self.out` for writing.
        let stack = self.stack;
        let path = stack.get(..self.depth).unwrap_or_default();
        let Some((&leaf, up)) = path.split_last() else {
            return;
        };
        let parent = up.last().copied().unwrap_or_default();
        let in_path = |name: &[u8]| up.contains(&name);
        let out = &mut *self.out;
        if in_path(b"callManagerGroup") && in_path(b"member") {
            let Some(cm) = out.call_managers.last_mut() else {
                return;
            };
            match (parent, leaf) {
                (b"callManager", b"name") => cm.name = t,
                (b"callManager", b"processNodeName") => cm.node = t,
                (b"ports", b"ethernetPhonePort") => cm.sccp_port = number(t),
                (b"ports", b"sipPort") => cm.sip_port = number(t),
                (b"ports", b"securedSipPort") => cm.secured_sip_port = number(t),
                _ => {}
            }
        } else if parent == b"srstInfo" {
            let Some(srst) = out.srst.as_mut() else {
                return;
            };
            let slot = |prefix: &[u8]| {
                leaf.strip_prefix(prefix)
                    .and_then(|n| match n {
                        b"1" => Some(0),
                        b"2" => Some(1),
                        b"3" => Some(2),
                        _ => None,
                    })
                    .and_then(|k: usize| srst.routers.get(k).map(|_| k))
            };
            if leaf == b"name" {
                srst.name = t;
            } else if leaf == b"srstOption" {
                srst.option = t;
            } else if let Some(k) = slot(b"ipAddr") {
                if let Some(r) = srst.routers.get_mut(k) {
                    r.addr = t;
                }
            } else if let Some(k) = slot(b"sipIpAddr") {
                if let Some(r) = srst.routers.get_mut(k) {
                    r.sip_addr = t;
                }
            } else if let Some(k) = slot(b"sipPort") {
                if let Some(r) = srst.routers.get_mut(k) {
                    r.sip_port = number(t);
                }
            } else if let Some(k) = slot(b"port") {
                if let Some(r) = srst.routers.get_mut(k) {
                    r.port = number(t);
                }
            }
        } else if in_path(b"TVS") && parent == b"member" {
            if let Some(s) = out.tvs.last_mut() {
                match leaf {
                    b"address" => s.address = t,
                    b"port" => s.port = number(t),
                    _ => {}
                }
            }
        } else if parent == b"capf" && in_path(b"capfList") {
            if let Some(s) = out.capf.last_mut() {
                match leaf {
                    b"processNodeName" => s.address = t,
                    b"phonePort" => s.port = number(t),
                    _ => {}
                }
            }
        } else {
            match leaf {
                b"deviceSecurityMode" => out.device_security_mode = number(t),
                b"capfAuthMode" => out.capf_auth_mode = number(t),
                b"transportLayerProtocol" => out.transport_layer_protocol = number(t),
                b"loadInformation" if out.load_information.is_empty() => {
                    out.load_information = t;
                }
                b"loadServer" => out.load_server = t,
                b"deviceProtocol" if parent == b"device" => out.device_protocol = t,
                _ => {}
            }
        }
    }
}

/// The value of attribute `name` (quoted with `"` or `'`).
fn attr<'a>(attrs: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut rest = attrs;
    loop {
        let at = find(rest, name)?;
        let before_ok = at == 0 || rest.get(at - 1).is_some_and(|b| b.is_ascii_whitespace());
        let after = rest.get(at + name.len()..)?;
        let after_eq = trim(after).strip_prefix(b"=").map(trim);
        if let (true, Some(v)) = (before_ok, after_eq) {
            let (&q, body) = v.split_first()?;
            if q == b'"' || q == b'\'' {
                let end = memchr::memchr(q, body)?;
                return body.get(..end);
            }
        }
        rest = after;
    }
}

/// A decimal number of the type's range; anything else is `None`.
fn number<T: TryFrom<u32>>(t: &[u8]) -> Option<T> {
    let t = trim(t);
    if t.is_empty() || t.len() > 9 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = t.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    T::try_from(n).ok()
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A configuration of the shape Unified CM's TFTP service writes (the element names
    /// and nesting of public copies of such files; the `<TVS>` member as technote 116232
    /// describes the TVS, port 2445): three call managers out of priority order, an SRST
    /// reference, authenticated mode, a TVS and a CAPF (3804).
    const CUCM_SECURE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<device xsi:type="axl:XIPPhone" ctiid="1566101">
  <fullConfig>true</fullConfig>
  <deviceProtocol>SIP</deviceProtocol>
  <sshUserId></sshUserId>
  <devicePool uuid="{1b1b9eb6-7803-11d3-bdf0-00108302ead1}">
    <revertPriority>0</revertPriority>
    <name>Branch-DP</name>
    <dateTimeSetting uuid="{9ec4850a-7748-11d3-bdf0-00108302ead1}">
      <name>CMLocal</name>
    </dateTimeSetting>
    <callManagerGroup>
      <name>Default</name>
      <tftpDefault>true</tftpDefault>
      <members>
        <member priority="1">
          <callManager>
            <name>cucm2</name>
            <ports>
              <ethernetPhonePort>2000</ethernetPhonePort>
              <sipPort>5060</sipPort>
              <securedSipPort>5061</securedSipPort>
              <mgcpPorts><listen>2427</listen><keepAlive>2428</keepAlive></mgcpPorts>
            </ports>
            <processNodeName>cucm2.example.com</processNodeName>
          </callManager>
        </member>
        <member priority="0">
          <callManager>
            <name>cucm1</name>
            <ports>
              <ethernetPhonePort>2000</ethernetPhonePort>
              <sipPort>5060</sipPort>
              <securedSipPort>5061</securedSipPort>
            </ports>
            <processNodeName>cucm1.example.com</processNodeName>
          </callManager>
        </member>
        <member priority="2">
          <callManager>
            <name>10.1.1.12</name>
            <ports><ethernetPhonePort>2000</ethernetPhonePort></ports>
            <processNodeName>10.1.1.12</processNodeName>
          </callManager>
        </member>
      </members>
    </callManagerGroup>
    <srstInfo uuid="{cd241e11-4a58-4d3d-9661-f06c912a18a3}">
      <name>Branch-SRST</name>
      <srstOption>User Specific</srstOption>
      <userModifiable>false</userModifiable>
      <ipAddr1>10.1.1.1</ipAddr1>
      <port1>2000</port1>
      <ipAddr2></ipAddr2>
      <port2>2000</port2>
      <sipIpAddr1>10.1.1.1</sipIpAddr1>
      <sipPort1>5060</sipPort1>
      <isSecure>false</isSecure>
    </srstInfo>
    <connectionMonitorDuration>120</connectionMonitorDuration>
  </devicePool>
  <TVS>
    <members>
      <member priority="0">
        <port>2445</port>
        <address>cucm1.example.com</address>
      </member>
    </members>
  </TVS>
  <!-- a comment <with><tags> -->
  <loadInformation>sip88xx.14-2-1-0001-14</loadInformation>
  <capfAuthMode>0</capfAuthMode>
  <capfList>
    <capf>
      <phonePort>3804</phonePort>
      <processNodeName>cucm1.example.com</processNodeName>
    </capf>
  </capfList>
  <deviceSecurityMode>2</deviceSecurityMode>
  <transportLayerProtocol>2</transportLayerProtocol>
  <loadServer></loadServer>
  <certHash></certHash>
</device>
"#;

    #[test]
    fn a_cucm_configuration_reads_whole() {
        let c = parse(CUCM_SECURE.as_bytes()).unwrap();
        assert!(c.complete);
        assert_eq!(c.envelope, Envelope::Plain);
        assert_eq!(c.device_protocol, b"SIP");
        let cms = c.by_priority();
        let hosts: Vec<&[u8]> = cms.iter().map(CallManager::host).collect();
        assert_eq!(
            hosts,
            [
                b"cucm1.example.com".as_slice(),
                b"cucm2.example.com",
                b"10.1.1.12"
            ]
        );
        assert_eq!(cms[0].name, b"cucm1");
        assert_eq!(
            (cms[0].sccp_port, cms[0].sip_port, cms[0].secured_sip_port),
            (Some(2000), Some(5060), Some(5061))
        );
        // The mgcpPorts' numbers are no signalling port of the phone.
        assert_eq!(cms[1].sip_port, Some(5060));
        assert_eq!((cms[2].sccp_port, cms[2].sip_port), (Some(2000), None));
        let srst = c.srst.unwrap();
        assert_eq!(srst.name, b"Branch-SRST");
        assert_eq!(srst.option, b"User Specific");
        assert!(!srst.disabled());
        assert_eq!(srst.routers[0].addr, b"10.1.1.1");
        assert_eq!(srst.routers[0].port, Some(2000));
        assert_eq!(srst.routers[0].sip_port, Some(5060));
        assert_eq!(srst.addresses().collect::<Vec<_>>(), [b"10.1.1.1"]);
        assert_eq!(c.device_security_mode, Some(2));
        assert!(c.secure());
        assert_eq!(
            c.tvs,
            [Server {
                address: b"cucm1.example.com",
                port: Some(2445)
            }]
        );
        assert_eq!(c.capf_auth_mode, Some(0));
        assert_eq!(
            c.capf,
            [Server {
                address: b"cucm1.example.com",
                port: Some(3804)
            }]
        );
        assert_eq!(c.load_information, b"sip88xx.14-2-1-0001-14");
        assert_eq!(c.transport_layer_protocol, Some(2));
        assert_eq!(c.load_server, b"");
    }

    #[test]
    fn a_document_cut_short_reads_as_far_as_it_goes() {
        let cut = CUCM_SECURE.find("<srstInfo").unwrap();
        let c = parse(&CUCM_SECURE.as_bytes()[..cut]).unwrap();
        assert!(!c.complete);
        assert_eq!(c.call_managers.len(), 3);
        assert_eq!(c.srst, None);
        assert_eq!(c.device_security_mode, None);
        // Cut inside a tag: nothing of the tag is taken.
        let mid = CUCM_SECURE.find("<processNodeName>cucm2").unwrap() + 5;
        let c = parse(&CUCM_SECURE.as_bytes()[..mid]).unwrap();
        assert_eq!(c.call_managers.len(), 1);
        assert_eq!(c.call_managers[0].node, b"");
    }

    #[test]
    fn bytes_without_a_device_element_are_refused() {
        let e = parse(b"<html><body>404</body></html>").unwrap_err();
        assert_eq!(e.proto, Proto::CnfXml);
        assert_eq!(e.kind, ErrorKind::Malformed("no <device> element"));
        assert!(parse(b"").is_err());
        assert!(parse(b"line1_name: 5001\n").is_err());
    }

    #[test]
    fn a_signed_file_is_read_behind_its_header() {
        // The documented header: HEADER_VERSION (1) 1.0, HEADER_LENGTH (2) = 16, then
        // other TLVs up to byte 16.
        let mut sgn = vec![1, 0, 2, 1, 0, 2, 0, 2, 0, 16, 3, 0, 3, b'a', b'b', b'c'];
        sgn.extend_from_slice(CUCM_SECURE.as_bytes());
        let c = parse_signed(&sgn).unwrap();
        assert_eq!(c.envelope, Envelope::Signed);
        assert_eq!(c.call_managers.len(), 3);
        // Another header: the XML is searched for.
        let mut other = vec![0x01, 0x02, 0x00, 0x90];
        other.extend(std::iter::repeat_n(0xa5, 140));
        other.extend_from_slice(CUCM_SECURE.as_bytes());
        assert_eq!(parse_signed(&other).unwrap().device_security_mode, Some(2));
        // Ciphertext behind it: nothing to read.
        let noise: Vec<u8> = (0..600u32).map(|k| (k * 37 % 251) as u8).collect();
        assert!(!looks_like_xml(&noise));
        assert!(parse_signed(&noise).is_err());
    }

    #[test]
    fn the_lists_are_capped() {
        let mut doc = String::from("<device><devicePool><callManagerGroup><members>");
        for k in 0..20 {
            doc.push_str(&format!(
                "<member priority=\"{k}\"><callManager><processNodeName>10.0.0.{k}\
                 </processNodeName></callManager></member>"
            ));
        }
        doc.push_str("</members></callManagerGroup></devicePool></device>");
        let c = parse(doc.as_bytes()).unwrap();
        assert_eq!(c.call_managers.len(), MAX_CALL_MANAGERS);
        assert_eq!(c.call_managers_dropped, 20 - MAX_CALL_MANAGERS);
        assert!(c.complete);
    }

    #[test]
    fn deep_nesting_and_stray_close_tags_do_not_confuse_it() {
        let mut doc = String::from("<device>");
        for _ in 0..100 {
            doc.push_str("<a>");
        }
        doc.push_str("<deviceSecurityMode>3</deviceSecurityMode>");
        for _ in 0..100 {
            doc.push_str("</a>");
        }
        doc.push_str("</nothing><deviceSecurityMode>3</deviceSecurityMode></device>");
        let c = parse(doc.as_bytes()).unwrap();
        // The deep one is skipped, the one at the top read.
        assert_eq!(c.device_security_mode, Some(3));
        assert!(c.complete);
    }

    #[test]
    fn attributes_and_numbers_are_read_strictly() {
        assert_eq!(attr(b" priority=\"2\"", b"priority"), Some(b"2".as_slice()));
        assert_eq!(
            attr(b" xpriority='1' priority='3'", b"priority"),
            Some(b"3".as_slice())
        );
        assert_eq!(attr(b" priority=2", b"priority"), None);
        assert_eq!(number::<u16>(b" 2445 "), Some(2445));
        assert_eq!(number::<u16>(b"70000"), None);
        assert_eq!(number::<u8>(b"-1"), None);
        assert_eq!(number::<u16>(b"9999999999"), None);
    }

    #[test]
    fn the_model_s_configuration_reads_as_written() {
        // The shape `model::encode::config_xml` writes (an address as node).
        let doc = "<?xml version=\"1.0\"?>\n<device><deviceProtocol>SCCP</deviceProtocol>\
            <devicePool><callManagerGroup><members><member priority=\"0\"><callManager>\
            <name>cucm-pub</name><ports><ethernetPhonePort>2000</ethernetPhonePort>\
            <sipPort>5060</sipPort><securedSipPort>5061</securedSipPort></ports>\
            <processNodeName>10.1.1.10</processNodeName></callManager></member>\
            </members></callManagerGroup></devicePool>\
            <loadInformation>SCCP70.9-4-2SR3-1S</loadInformation></device>\n";
        let c = parse(doc.as_bytes()).unwrap();
        assert_eq!(c.call_managers[0].host(), b"10.1.1.10");
        assert_eq!(c.device_protocol, b"SCCP");
        assert_eq!(c.srst, None);
        assert_eq!(c.device_security_mode, None);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&data);
            let _ = parse_signed(&data);
            let _ = looks_like_xml(&data);
        }

        #[test]
        fn never_panics_on_tag_soup(parts in proptest::collection::vec(
            prop_oneof![
                Just("<device>"), Just("</device>"), Just("<member priority=\"1\">"),
                Just("</member>"), Just("<callManagerGroup>"), Just("<members>"),
                Just("<srstInfo>"), Just("<ipAddr3>"), Just("<port9>"), Just("<TVS>"),
                Just("<capfList>"), Just("<capf>"), Just("<!--"), Just("<![CDATA["),
                Just("<?"), Just("2000"), Just("<"), Just(">"), Just("/>"), Just("</"),
            ], 0..64)) {
            let doc: String = parts.concat();
            if let Ok(c) = parse(doc.as_bytes()) {
                prop_assert!(c.call_managers.len() <= MAX_CALL_MANAGERS);
                prop_assert!(c.tvs.len() <= MAX_TVS);
            }
        }
    }
}
