//! The device table and its memory budget. Every device the engine follows is
//! charged what it holds and the report entry it will become ([`Device::charge`]);
//! the sum stays within the budget. When the table or the budget is full, the
//! oldest device never shown to be a phone is forgotten first, so a phone booting
//! into a flood of made-up clients is still followed; when only phones are left,
//! a growing device is frozen (it grows no list) and new devices are refused.

use std::collections::VecDeque;

use super::device::{self, Clue, Device, DeviceKey, DeviceKind};
use super::text::MAX_TEXT_BYTES;

use crate::timeline::Event;
use crate::FastMap;

/// What the budget cost, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetStats {
    /// New devices not followed: the table (or the budget) was full of phones.
    pub refused: u64,
    /// Devices forgotten to make room (never shown to be phones, oldest first).
    pub evicted: u64,
    /// Devices frozen because the budget was spent on phones.
    pub frozen: u64,
    /// Events of frozen devices not recorded: their strings did not fit.
    pub events_dropped: u64,
}

/// The devices followed, within `max_devices` and `max_bytes`.
pub struct Devices {
    max_devices: usize,
    max_bytes: usize,
    // Hashed, not ordered: looked up for every message; ordered once, for the report.
    // Boxed: the table then holds 24 bytes a device, not 720, so it stays in the
    // cache, and growing it moves and maps little (a device is allocated once, with
    // the other small blocks, rather than moved at every doubling).
    table: FastMap<DeviceKey, Box<Device>>,
    /// Devices never shown to be phones, oldest first, with their serials: stale
    /// entries (a device since taken for a phone, or gone) are skipped when popped.
    unconfirmed: VecDeque<(DeviceKey, u64)>,
    serials: u64,
    /// The sum of the devices' charges.
    bytes: usize,
    /// What the budget cost.
    pub stats: BudgetStats,
}

impl Devices {
    /// An empty table for at most `max_devices` devices charged `max_bytes` in all.
    pub fn new(max_devices: usize, max_bytes: usize) -> Self {
        Devices {
            max_devices,
            max_bytes,
            table: FastMap::default(),
            unconfirmed: VecDeque::new(),
            serials: 0,
            bytes: 0,
            stats: BudgetStats::default(),
        }
    }

    /// The most heap the table's slots and the queue of unconfirmed devices take
    /// (the devices themselves are charged apart).
    pub fn max_heap_bytes(max_devices: usize) -> usize {
        use std::mem::size_of;
        let buckets = (max_devices * 8 / 7).next_power_of_two();
        buckets * (size_of::<(DeviceKey, Device)>() + 1)
            + 2 * max_devices * size_of::<(DeviceKey, u64)>()
    }

    /// The sum of the devices' charges.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The device keyed `key`.
    pub fn get(&self, key: &DeviceKey) -> Option<&Device> {
        self.table.get(key).map(|d| &**d)
    }

    /// The device keyed `key`, to change what the budget need not see at once (a
    /// name, an address): the next event recorded on it charges the change.
    pub fn get_mut(&mut self, key: &DeviceKey) -> Option<&mut Device> {
        self.table.get_mut(key).map(|d| &mut **d)
    }

    /// Whether `key` is followed.
    pub fn contains(&self, key: &DeviceKey) -> bool {
        self.table.contains_key(key)
    }

    /// The kind of the device keyed `key`, if followed.
    pub fn kind(&self, key: &DeviceKey) -> Option<DeviceKind> {
        self.table.get(key).map(|d| d.kind)
    }

    /// The devices, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.table.values().map(|d| &**d)
    }

    /// Every device, out of the table (freed at once), in the table's order. Still
    /// boxed: the report puts them in key order, and a box moves a word, not a device.
    #[allow(clippy::vec_box)]
    pub fn drain(&mut self) -> Vec<Box<Device>> {
        let devices = self.table.drain().map(|(_, d)| d).collect();
        self.table = FastMap::default();
        self.unconfirmed = VecDeque::new();
        devices
    }

    /// The device for `key`, created when new (unless there is no room: counted as
    /// refused) and taken for what `clue` says; a device already followed weighs it
    /// ([`Device::take`]). One no longer taken for a phone may be forgotten again.
    pub fn open(
        &mut self,
        key: &DeviceKey,
        clue: Clue,
        ts_ns: i64,
        frame: u64,
    ) -> Option<&mut Device> {
        if !self.table.contains_key(key) {
            if !self.make_room() {
                self.stats.refused += 1;
                return None;
            }
            self.serials += 1;
            let mut dev = Device::new(key.clone(), clue, ts_ns, frame);
            dev.serial = self.serials;
            if clue.kind != DeviceKind::Phone {
                self.unconfirmed.push_back((key.clone(), dev.serial));
            }
            recharge(&mut self.bytes, &mut dev);
            self.table.insert(key.clone(), Box::new(dev));
            return self.table.get_mut(key).map(|d| &mut **d);
        }
        let dev = self.table.get_mut(key)?;
        let was_phone = dev.kind == DeviceKind::Phone;
        if dev.take(clue) && was_phone {
            self.unconfirmed.push_back((key.clone(), dev.serial));
        }
        Some(&mut **dev)
    }

    /// Let `key`'s device take `ev`: `record` changes it, then it is charged its new
    /// size. The budget holds before the device grows, not after: room is made
    /// first, or the device is frozen; an event that still does not fit is dropped
    /// (counted).
    pub fn grow(&mut self, key: &DeviceKey, ev: Event, record: impl FnOnce(&mut Device, Event)) {
        // One lookup unless room must be made.
        let Some(dev) = self.table.get_mut(key) else {
            return;
        };
        let growth = dev.growth_bound(&ev);
        if self.bytes + growth <= self.max_bytes {
            record(dev, ev);
            recharge(&mut self.bytes, dev);
            return;
        }
        if !self.make_room_for(key, &ev, growth) {
            // Unless the device itself made the room (it was the oldest unconfirmed).
            if self.table.contains_key(key) {
                self.stats.events_dropped += 1;
            }
            return;
        }
        let Some(dev) = self.table.get_mut(key) else {
            return;
        };
        record(dev, ev);
        recharge(&mut self.bytes, dev);
    }

    /// Forget the oldest device never shown to be a phone; false when there is none.
    fn evict_one(&mut self) -> bool {
        while let Some((key, serial)) = self.unconfirmed.pop_front() {
            let evictable = self
                .table
                .get(&key)
                .is_some_and(|d| d.serial == serial && d.kind != DeviceKind::Phone);
            if evictable {
                if let Some(d) = self.table.remove(&key) {
                    self.bytes = self.bytes.saturating_sub(d.charged);
                }
                self.stats.evicted += 1;
                return true;
            }
        }
        false
    }

    /// Room for one more device: forget unconfirmed ones while the table or the
    /// budget is full. False when only phones are left.
    fn make_room(&mut self) -> bool {
        // A new device's first charge, at most.
        let first = device::REPORT_PER_PHONE + 2 * MAX_TEXT_BYTES;
        while self.table.len() >= self.max_devices || self.bytes + first > self.max_bytes {
            if !self.evict_one() {
                return false;
            }
        }
        true
    }

    /// Room in the budget for `key`'s device to take `ev` (growing by `growth` at
    /// most): forget unconfirmed devices (the device itself, too, if it is the
    /// oldest); if only phones are left, freeze it, so it grows no list, and see if
    /// the event's strings fit then. False when the device is gone or the event
    /// does not fit.
    fn make_room_for(&mut self, key: &DeviceKey, ev: &Event, mut growth: usize) -> bool {
        while self.bytes + growth > self.max_bytes {
            if self.evict_one() {
                continue;
            }
            let Some(dev) = self.table.get_mut(key) else {
                return false;
            };
            if dev.is_frozen() {
                return false;
            }
            dev.freeze();
            self.stats.frozen += 1;
            growth = dev.growth_bound(ev);
            recharge(&mut self.bytes, dev);
        }
        self.table.contains_key(key)
    }
}

/// Count `dev` at its current size in `bytes`, the sum over the devices.
fn recharge(bytes: &mut usize, dev: &mut Device) {
    let now = dev.charge();
    *bytes = bytes.saturating_sub(dev.charged) + now;
    dev.charged = now;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::MacAddr;
    use crate::timeline::EventKind;

    fn key(i: u8) -> DeviceKey {
        DeviceKey::Mac(MacAddr([2, 0, 0, 0, 0, i]))
    }

    const PC: Clue = Clue::default(DeviceKind::DhcpClient, "pc");
    const PHONE: Clue = Clue::sure(DeviceKind::Phone, "phone");

    fn alarm(frame: u64, text: &str) -> Event {
        Event {
            ts_ns: 0,
            frame,
            kind: EventKind::Alarm { text: text.into() },
        }
    }

    #[test]
    fn the_oldest_unconfirmed_device_makes_room_and_phones_stay() {
        let mut d = Devices::new(2, usize::MAX);
        d.open(&key(1), PC, 0, 1).unwrap();
        d.open(&key(2), PHONE, 0, 2).unwrap();
        d.open(&key(3), PC, 0, 3).unwrap();
        assert!(!d.contains(&key(1)) && d.contains(&key(2)) && d.contains(&key(3)));
        assert_eq!(d.stats.evicted, 1);
        // A device taken for a phone since is no longer evictable.
        d.open(&key(3), PHONE, 0, 4).unwrap();
        assert!(d.open(&key(4), PC, 0, 5).is_none());
        assert_eq!(d.stats.refused, 1);
    }

    #[test]
    fn a_phone_on_a_hint_shown_to_be_something_else_may_be_forgotten_again() {
        let mut d = Devices::new(2, usize::MAX);
        let keepalives = Clue::hint(DeviceKind::Phone, "keepalives");
        d.open(&key(1), keepalives, 0, 1).unwrap();
        d.open(&key(2), PHONE, 0, 2).unwrap();
        // Phones only: no room.
        assert!(d.open(&key(3), PC, 0, 3).is_none());
        // A sure sign of a gateway outweighs the hint; a mere DHCP client does not
        // outweigh a sure phone.
        let gateway = Clue::sure(DeviceKind::VoiceGateway, "gateway");
        assert_eq!(
            d.open(&key(1), gateway, 0, 4).unwrap().kind,
            DeviceKind::VoiceGateway
        );
        assert_eq!(d.open(&key(2), PC, 0, 5).unwrap().kind, DeviceKind::Phone);
        assert!(d.open(&key(3), PC, 0, 6).is_some());
        assert!(!d.contains(&key(1)) && d.contains(&key(2)) && d.contains(&key(3)));
    }

    #[test]
    fn charges_add_up_and_leave_with_their_device() {
        let mut d = Devices::new(8, usize::MAX);
        d.open(&key(1), PC, 0, 1).unwrap();
        d.grow(&key(1), alarm(2, "a long enough alarm text"), |dev, ev| {
            dev.record(ev);
        });
        let one = d.get(&key(1)).unwrap();
        assert_eq!(one.charged, one.charge());
        assert_eq!(d.bytes(), one.charged);
        let drained = d.drain();
        assert_eq!(drained.len(), 1);
        assert!(d.iter().next().is_none());
    }

    #[test]
    fn a_spent_budget_freezes_a_phone_and_drops_what_does_not_fit() {
        // Nothing fits a budget of zero, not even the first device.
        let mut d = Devices::new(8, 0);
        assert!(d.open(&key(1), PHONE, 0, 1).is_none());
        assert_eq!(d.stats.refused, 1);
        // The least budget a new device is let in with: the first event's strings
        // (heap ev.heap_bytes(), copied four times) cannot fit then.
        let mut d = Devices::new(8, device::REPORT_PER_PHONE + 2 * MAX_TEXT_BYTES);
        d.open(&key(1), PHONE, 0, 1).unwrap();
        d.grow(&key(1), alarm(2, &"x".repeat(1000)), |dev, ev| {
            dev.record(ev)
        });
        assert!(d.get(&key(1)).unwrap().is_frozen());
        assert_eq!(d.stats.frozen, 1);
        assert_eq!(d.stats.events_dropped, 1);
        assert!(d.bytes() <= d.max_bytes);
    }
}
