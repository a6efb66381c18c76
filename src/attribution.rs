//! Which device an IP-level message belongs to. One rule per source, tried in this
//! order:
//!
//! 1. a `SEP<MAC>` name in the message itself (SCCP RegisterReq, SIP Contact
//!    `devicename`, a CTL/ITL/SEP file name): the MAC in the name, which also covers
//!    captures taken behind a router, where every L2 source is the router;
//! 2. the phone's TCP/UDP endpoint, once a named message bound it;
//! 3. the IP→MAC binding learned from a DHCP ACK (`yiaddr`↔`chaddr`), valid from
//!    the ACK on and replaced by the next ACK for that address;
//! 4. the L2 address on the phone's side, when that MAC is a device already seen
//!    and not a router (a MAC sending for several IP addresses is a router).
//!
//! Anything else stays unattributed: never guess.

use crate::FastMap;
use std::net::IpAddr;

use crate::link::MacAddr;

/// Bindings kept at most per table by default (IP→MAC, endpoint→MAC, sources);
/// past it new ones are refused and counted, so a flood cannot grow the tables
/// without bound. The engine sets its own ([`crate::engine::EngineLimits`]).
pub const MAX_BINDINGS: usize = 1 << 17;

/// The MAC in a Cisco device name: `SEP001122AABBCC` (any case), or a CTL/ITL or
/// configuration file named after it (`CTLSEP….tlv`, `SEP….cnf.xml`, a 7940/7960 SIP
/// load's `SIP001122AABBCC.cnf`).
pub fn mac_in_name(name: &str) -> Option<MacAddr> {
    // Called for every name on the wire: no allocation, no case-folded copy.
    let base = name.rsplit('/').next().unwrap_or(name).as_bytes();
    let prefixed = |p: &[u8]| {
        base.get(..p.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(p))
    };
    let at = if prefixed(b"SEP") || prefixed(b"SIP") {
        3
    } else if prefixed(b"CTLSEP") || prefixed(b"ITLSEP") {
        6
    } else {
        return None;
    };
    let hex = base.get(at..at + 12)?;
    // The name must end (or continue with a dot) right after the 12 digits.
    if !matches!(base.get(at + 12), None | Some(b'.')) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    let mut mac = [0u8; 6];
    for (byte, pair) in mac.iter_mut().zip(hex.chunks_exact(2)) {
        let &[hi, lo] = pair else { return None };
        *byte = u8::try_from(digit(hi)? << 4 | digit(lo)?).ok()?;
    }
    Some(MacAddr(mac))
}

/// What one MAC has been seen sending from (router detection).
#[derive(Debug, Clone, Copy)]
struct MacSource {
    ip: IpAddr,
    routed: bool,
}

/// The attribution tables of one analysis.
#[derive(Debug)]
pub struct Attribution {
    ip_to_mac: FastMap<IpAddr, MacAddr>,
    endpoint_to_mac: FastMap<(IpAddr, u16), MacAddr>,
    sources: FastMap<MacAddr, MacSource>,
    limit: usize,
    /// Bindings refused because a table was full.
    pub refused: u64,
}

impl Default for Attribution {
    fn default() -> Self {
        Attribution::with_limit(MAX_BINDINGS)
    }
}

impl Attribution {
    /// Tables of at most `limit` bindings each.
    pub fn with_limit(limit: usize) -> Self {
        Attribution {
            ip_to_mac: FastMap::default(),
            endpoint_to_mac: FastMap::default(),
            sources: FastMap::default(),
            limit,
            refused: 0,
        }
    }

    /// The heap the three tables can take at most, full (hashbrown: 8/7 buckets
    /// per entry rounded up to a power of two, one control byte each).
    pub fn max_heap_bytes(limit: usize) -> usize {
        use std::mem::size_of;
        let buckets = (limit * 8 / 7).next_power_of_two();
        buckets
            * (size_of::<(IpAddr, MacAddr)>()
                + size_of::<((IpAddr, u16), MacAddr)>()
                + size_of::<(MacAddr, MacSource)>()
                + 3)
    }

    /// A DHCP ACK leased `ip` to `mac`: from now on `ip` means `mac`.
    pub fn bind_ip(&mut self, ip: IpAddr, mac: MacAddr) {
        if ip.is_unspecified() {
            return;
        }
        if self.ip_to_mac.len() >= self.limit && !self.ip_to_mac.contains_key(&ip) {
            self.refused += 1;
            return;
        }
        self.ip_to_mac.insert(ip, mac);
    }

    /// The MAC `ip` is bound to, if any.
    pub fn bound_ip(&self, ip: IpAddr) -> Option<MacAddr> {
        self.ip_to_mac.get(&ip).copied()
    }

    /// A named message came from `endpoint`: the flow belongs to `mac`.
    pub fn bind_endpoint(&mut self, endpoint: (IpAddr, u16), mac: MacAddr) {
        if self.endpoint_to_mac.len() >= self.limit && !self.endpoint_to_mac.contains_key(&endpoint)
        {
            self.refused += 1;
            return;
        }
        self.endpoint_to_mac.insert(endpoint, mac);
    }

    /// Note that `mac` sent an IP packet from `ip` (a MAC seen with two source
    /// addresses is a router, and its L2 address never names a phone).
    pub fn saw_source(&mut self, mac: MacAddr, ip: IpAddr) {
        if ip.is_unspecified() {
            return;
        }
        let full = self.sources.len() >= self.limit;
        match self.sources.get_mut(&mac) {
            Some(s) if s.ip != ip => s.routed = true,
            Some(_) => {}
            None if !full => {
                self.sources.insert(mac, MacSource { ip, routed: false });
            }
            None => self.refused += 1,
        }
    }

    /// Whether `mac` has sent from more than one IP address.
    pub fn is_router(&self, mac: MacAddr) -> bool {
        self.sources.get(&mac).is_some_and(|s| s.routed)
    }

    /// The device behind a phone-side endpoint: rules 2–4 of the module doc (rule 1
    /// is the caller's, who holds the message). `l2` is the MAC on the phone's side
    /// of the frame; `known` says whether a MAC is a device already seen.
    pub fn resolve(
        &self,
        endpoint: (IpAddr, u16),
        l2: Option<MacAddr>,
        known: impl Fn(MacAddr) -> bool,
    ) -> Option<MacAddr> {
        if let Some(&m) = self.endpoint_to_mac.get(&endpoint) {
            return Some(m);
        }
        if let Some(&m) = self.ip_to_mac.get(&endpoint.0) {
            return Some(m);
        }
        l2.filter(|&m| known(m) && !self.is_router(m))
    }

    /// The L2 address on the phone's side if it can stand for a device: not a router,
    /// not multicast/broadcast.
    pub fn plausible_l2(&self, l2: Option<MacAddr>) -> Option<MacAddr> {
        l2.filter(|m| m.0[0] & 1 == 0 && !self.is_router(*m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const PHONE: MacAddr = MacAddr([0x00, 0x21, 0x55, 0xd5, 0x48, 0xac]);

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn names_give_macs() {
        for n in [
            "SEP002155D548AC",
            "sep002155d548ac",
            "CTLSEP002155D548AC.tlv",
            "ITLSEP002155D548AC.tlv",
            "SEP002155D548AC.cnf.xml",
            "/cfg/SEP002155D548AC.cnf.xml",
            "SIP002155D548AC.cnf",
        ] {
            assert_eq!(mac_in_name(n), Some(PHONE), "{n}");
        }
        for n in [
            "SEP002155D548A",
            "SEP002155D548ACX",
            "ANC288093711081",
            "XMLDefault.cnf.xml",
            "SIPDefault.cnf",
            "SEPG02155D548AC",
            "",
        ] {
            assert_eq!(mac_in_name(n), None, "{n}");
        }
    }

    #[test]
    fn endpoint_binding_wins_over_dhcp_binding_and_l2() {
        let mut a = Attribution::default();
        let other = MacAddr([2, 0, 0, 0, 0, 1]);
        a.bind_ip(ip(5), other);
        assert_eq!(a.resolve((ip(5), 50000), None, |_| false), Some(other));
        a.bind_endpoint((ip(5), 50000), PHONE);
        assert_eq!(a.resolve((ip(5), 50000), None, |_| false), Some(PHONE));
        // Another port of the same address still follows the DHCP binding.
        assert_eq!(a.resolve((ip(5), 50001), None, |_| false), Some(other));
    }

    #[test]
    fn a_router_mac_never_names_a_device() {
        let mut a = Attribution::default();
        let router = MacAddr([0x00, 0x0b, 0x45, 0x22, 0x72, 0x74]);
        a.saw_source(router, ip(1));
        assert_eq!(
            a.resolve((ip(1), 5060), Some(router), |_| true),
            Some(router)
        );
        a.saw_source(router, ip(2));
        assert!(a.is_router(router));
        assert_eq!(a.resolve((ip(1), 5060), Some(router), |_| true), None);
        // An unknown MAC is not taken either.
        assert_eq!(a.resolve((ip(9), 5060), Some(PHONE), |_| false), None);
    }
}
