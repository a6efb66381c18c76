//! What a phone says of its hardware and software, and what its switch says of the
//! port, kept for the inventory (`bootscope inventory`): CDP platform and software
//! version, LLDP-MED model and software revision, DHCP option 60, the switch's
//! device id or system name and its data VLAN. Boxed on the device and made only when
//! one of these messages names something, so a device that never says costs a null
//! pointer; each string is escaped and cut at [`MAX_INVENTORY_TEXT`] bytes.

use parsers::{cdp, lldp};

use super::device::Device;

/// Wire bytes kept of one inventory string (a platform, a load name, a switch name).
pub const MAX_INVENTORY_TEXT: usize = 64;

/// A device's inventory facts, as the wire first (or, for its software, last) gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// CDP platform, else the LLDP-MED model.
    pub platform: Option<Box<str>>,
    /// The software it runs: CDP software version, else LLDP-MED software revision
    /// (the last one announced: a phone announces its new load after an upgrade).
    pub firmware: Option<Box<str>>,
    /// DHCP option 60 (vendor class identifier).
    pub vendor_class: Option<Box<str>>,
    /// The switch that answered it: CDP device id, else LLDP system name.
    pub switch_name: Option<Box<str>>,
    /// The port's data VLAN: the switch's CDP native VLAN, else its LLDP port VLAN id.
    pub data_vlan: Option<u16>,
}

impl Inventory {
    /// Heap bytes beyond the box itself.
    pub fn heap_bytes(&self) -> usize {
        [
            &self.platform,
            &self.firmware,
            &self.vendor_class,
            &self.switch_name,
        ]
        .iter()
        .map(|s| s.as_ref().map_or(0, |s| s.len()))
        .sum()
    }
}

/// What the inventory reads of a device at the end: what it and its switch said, and
/// what the engine keeps anyway (the port, the voice VLAN, the alarm).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// What CDP, LLDP and DHCP said.
    pub said: Inventory,
    /// The switch port, as the switch's CDP / LLDP Port ID names it.
    pub switch_port: Option<Box<str>>,
    /// The voice VLAN the switch gave (the last boot that had one).
    pub voice_vlan: Option<u16>,
    /// The phone's last SCCP alarm text in its current boot (`Name=… Load=… Last=…`).
    pub alarm: Option<Box<str>>,
}

impl Facts {
    /// The facts of `dev`; `None` when it has none (most devices that are no phone).
    pub fn of(dev: &Device) -> Option<Box<Self>> {
        let boots = || std::iter::once(&dev.boot).chain(dev.earlier.iter().rev());
        let facts = Facts {
            said: dev.inventory.as_deref().cloned().unwrap_or_default(),
            switch_port: dev.switch_port.clone(),
            voice_vlan: boots().find_map(|b| b.voice_vlan),
            alarm: dev.boot.alarm.clone(),
        };
        (facts != Facts::default()).then(|| Box::new(facts))
    }
}

/// Wire bytes as inventory text: escaped (no terminal control passes) and cut.
pub fn text(b: &[u8]) -> Box<str> {
    let kept = b.get(..MAX_INVENTORY_TEXT).unwrap_or(b);
    let mut s = String::with_capacity(kept.len());
    crate::escape::push_text(&mut s, kept);
    if kept.len() < b.len() {
        s.push('…');
    }
    s.into()
}

fn slot(dev: &mut Device) -> &mut Inventory {
    dev.inventory.get_or_insert_with(Box::default)
}

/// Fill `field` from `value` when it is empty (or, `latest`, when the value changed).
fn keep(
    dev: &mut Device,
    value: Option<&[u8]>,
    latest: bool,
    field: fn(&mut Inventory) -> &mut Option<Box<str>>,
) {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return;
    };
    let current = dev.inventory.as_deref_mut().map(field);
    match current {
        Some(Some(have)) if !latest || have.as_bytes() == v => {}
        _ => *field(slot(dev)) = Some(text(v)),
    }
}

/// A phone's CDP: its platform and software version.
pub fn cdp_phone(dev: &mut Device, p: &cdp::CdpPacket<'_>) {
    keep(dev, p.platform(), false, |i| &mut i.platform);
    keep(dev, p.software_version(), true, |i| &mut i.firmware);
}

/// A phone's LLDP-MED inventory: its model and software revision.
pub fn lldp_phone(dev: &mut Device, p: &lldp::LldpPdu<'_>) {
    let inv = p.inventory();
    keep(dev, inv.model, false, |i| &mut i.platform);
    keep(dev, inv.software_revision, true, |i| &mut i.firmware);
}

/// The switch's CDP answer to the phone `dev`: its device id and native VLAN.
pub fn cdp_switch(dev: &mut Device, p: &cdp::CdpPacket<'_>) {
    keep(dev, p.device_id(), false, |i| &mut i.switch_name);
    if let Some(v) = p.native_vlan() {
        slot(dev).data_vlan.get_or_insert(v);
    }
}

/// The switch's LLDP answer to the phone `dev`: its system name and port VLAN id.
pub fn lldp_switch(dev: &mut Device, p: &lldp::LldpPdu<'_>) {
    keep(dev, p.system_name(), false, |i| &mut i.switch_name);
    if let Some(v) = p.pvid() {
        slot(dev).data_vlan.get_or_insert(v);
    }
}

/// A client's DHCP option 60.
pub fn vendor_class(dev: &mut Device, class: Option<&[u8]>) {
    keep(dev, class, false, |i| &mut i.vendor_class);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_text_is_escaped_and_cut() {
        let t = text(b"sw\x1b[2Jitch");
        assert!(!t.contains('\x1b'), "{t}");
        let long = vec![b'a'; MAX_INVENTORY_TEXT * 2];
        let t = text(&long);
        assert_eq!(t.len(), MAX_INVENTORY_TEXT + '…'.len_utf8());
    }
}
