//! Cache hints, bootscope's one speed trick outside the link layer's fast path, in two
//! places: the walker asks for a mapped file's bytes a few kilobytes ahead of the
//! record it reads ([`file_ahead`]), and the analysing thread asks for a frame's bytes
//! and its batch entry a few frames before it judges the frame ([`frames_ahead`]), so
//! that misses overlap instead of stalling a thread one by one.
//!
//! Measured (docs/performance.md: release build, `analyze --format json`, 15 paired
//! runs, medians of the time ratios) on the 10 000-phone fleet and on the browsing
//! fleet: without [`frames_ahead`] 1.25 and 1.23 times as long (its frame bytes'
//! part alone: 1.10 and 1.14); without [`file_ahead`] 1.13 times on both. Hints for
//! the TCP stream's bucket and the devices' state (asked of the stream table and the
//! engine) saved 1 to 3 %: they were taken out, so no layer carries a prefetch method.
//!
//! A hint reads nothing the program sees and cannot fault, whatever the address; on
//! targets other than x86-64 these are no-ops.

/// How many frames ahead of the one being judged its bytes are asked for (its batch
/// entry twice as far): about the time one frame takes to judge covers a fetch from
/// memory or from the other core's cache.
pub const DISTANCE: usize = 4;

/// Ask for what judging `items[at + DISTANCE]` will read (its `bytes`) and for the
/// entry `items[at + 2 * DISTANCE]` itself.
#[inline(always)]
pub fn frames_ahead<T>(items: &[T], at: usize, bytes_of: impl Fn(&T) -> &[u8]) {
    if let Some(later) = items.get(at + DISTANCE) {
        bytes(bytes_of(later));
    }
    if let Some(later) = items.get(at + 2 * DISTANCE) {
        value(std::ptr::from_ref(later));
    }
}

/// How far ahead of the record being read a walk asks for a mapped file's bytes.
pub const FILE_AHEAD: usize = 4096;

/// Ask for `file`'s lines up to [`FILE_AHEAD`] bytes past `at`, from `asked` on (moved
/// past them). A mapped file's pages are scattered in memory: the hardware's stream
/// prefetch stops at each page's end, and every new page's first record waited.
#[inline(always)]
pub fn file_ahead(file: &[u8], asked: &mut usize, at: usize) {
    let ahead = file.len().min(at.saturating_add(FILE_AHEAD));
    while *asked < ahead {
        line(file.as_ptr().wrapping_add(*asked));
        *asked += 64;
    }
}

/// Bytes of a frame fetched ahead: the headers and what the dissectors read of the
/// payload (a DHCP message's options end within the first 600 bytes or so).
pub const FRAME_BYTES: usize = 640;

/// Ask for the cache line holding `at`.
#[inline(always)]
pub fn line(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it reads nothing the program sees and cannot
    // fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// Ask for the first [`FRAME_BYTES`] of a frame.
#[inline(always)]
pub fn bytes(data: &[u8]) {
    for chunk in data.get(..FRAME_BYTES).unwrap_or(data).chunks(64) {
        line(chunk.as_ptr());
    }
}

/// Ask for the cache lines of the value at `at` (not read: it may be one past the
/// end of a vector).
#[inline(always)]
pub fn value<T>(at: *const T) {
    let start = at.cast::<u8>();
    let size = std::mem::size_of::<T>();
    for offset in (0..size).step_by(64) {
        line(start.wrapping_add(offset));
    }
    // The value need not start on a line: its last byte may be one line further.
    if size > 0 {
        line(start.wrapping_add(size - 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_never_fault_and_change_nothing() {
        // Addresses a hint may be given: null, one past a vector's end, and ones
        // never mapped (the first page, the top of the address space), where a
        // read would fault.
        let data: Vec<u8> = (0..=255).collect();
        let before = data.clone();
        bytes(&data);
        bytes(&[]);
        bytes(&data[200..]);
        value(std::ptr::null::<[u8; 200]>());
        value(data.as_ptr().wrapping_add(data.len()));
        value(usize::MAX as *const [u64; 4]);
        line(8 as *const u8);
        value(std::ptr::from_ref(&()));
        let mut asked = 0;
        file_ahead(&data, &mut asked, 0);
        assert_eq!(asked, 256);
        file_ahead(&data, &mut asked, usize::MAX);
        assert_eq!(asked, 256);
        let frames = [&data[..], &data[10..], &[]];
        for at in 0..frames.len() + 3 {
            frames_ahead(&frames, at, |f| f);
        }
        assert_eq!(data, before);
    }
}
