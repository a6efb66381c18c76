//! The phone's and the network's timing, in milliseconds `(min, max)`: the single
//! source for the simulation's jitter and for the predictions the analyzer gets
//! from [`super::predict`]. Values follow PROTOCOLS.md and observed Cisco boots.

/// The switch answers the phone's CDP / LLDP.
pub const SWITCH_REPLY: (i64, i64) = (20, 80);
/// From the voice VLAN to the first DISCOVER.
pub const VLAN_TO_DHCP: (i64, i64) = (800, 1500);
/// Without a voice VLAN the phone waits for one, then boots on the native VLAN.
pub const NO_VLAN_TO_DHCP: (i64, i64) = (4000, 6000);
/// A DHCP server (through its relay) answers.
pub const DHCP_SERVER: (i64, i64) = (2, 30);
/// The phone turns an OFFER into a REQUEST.
pub const OFFER_TO_REQUEST: (i64, i64) = (5, 40);
/// The first DISCOVER retransmission (RFC 2131: 4 s ±1, doubling to 64 s).
pub const DISCOVER_RETRY_FIRST: i64 = 4000;
/// The last DISCOVER backoff.
pub const DISCOVER_RETRY_CAP: i64 = 64_000;
/// After a NAK, the phone starts over.
pub const NAK_TO_DISCOVER: (i64, i64) = (3000, 6000);
/// From the ACK to the first file request (CTL, over TFTP or HTTP 6970).
pub const ACK_TO_FIRST_FILE: (i64, i64) = (200, 600);
/// Between two file requests.
pub const BETWEEN_FILES: (i64, i64) = (50, 300);
/// A TFTP / HTTP server answers a request.
pub const FILE_SERVER: (i64, i64) = (2, 20);
/// From the configuration to the load check's first request.
pub const CONFIG_TO_FIRMWARE: (i64, i64) = (300, 900);
/// From the configuration to the TCP SYN (or REGISTER) to the first call manager.
pub const CONFIG_TO_CONNECT: (i64, i64) = (500, 1500);
/// After the firmware is written, the phone reboots.
pub const FIRMWARE_REBOOT: (i64, i64) = (15_000, 25_000);
/// A call manager answers a SYN, or a Register.
pub const CM_ANSWER: (i64, i64) = (1, 30);
/// From the connection to the Register.
pub const CONNECT_TO_REGISTER: (i64, i64) = (5, 40);
/// A Register over TCP that gets no answer is given up after this.
pub const REGISTER_TIMEOUT: (i64, i64) = (10_000, 12_000);
/// SIP over UDP: Timer F, after which an unanswered REGISTER is given up.
pub const SIP_TIMER_F: i64 = 32_000;
/// After the last call manager failed, the phone tries the list again.
pub const CM_LIST_RETRY: (i64, i64) = (10_000, 15_000);
/// After a failed registration, the phone reconnects.
pub const REGISTER_RETRY: (i64, i64) = (20_000, 30_000);
/// After a failure, a phone set to reset reboots.
pub const FAILURE_REBOOT: (i64, i64) = (5_000, 8_000);

/// The latest a step can come, with a margin for a loaded network (×2 + 1 s).
pub const fn deadline(range: (i64, i64)) -> i64 {
    range.1 * 2 + 1000
}
