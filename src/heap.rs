//! The counting allocator: mimalloc, with the heap in use and its peak counted at
//! every allocation once [`count`] is called. A binary installs it with
//! `#[global_allocator] static HEAP: bootscope::heap::Counting = bootscope::heap::Counting;`
//! (`bootscope` for `BOOTSCOPE_HEAP_STATS=1`, the flood test for its bounds). Sizes
//! are the ones asked for (`Layout::size`), not what the allocator rounds them up
//! to; mapped capture files are not heap and are not counted.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

// mimalloc rather than glibc's malloc: the report phase allocates millions of
// small strings on every core at once, where glibc's arenas cost a tenth of
// the run.
use mimalloc::MiMalloc as Backing;

/// The global allocator that counts; see the module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Start counting. Off, an allocation costs one shared read: the counters' atomic
/// writes would have the threads of the report fight over one cache line. Blocks
/// allocated before are not counted; their frees are taken off saturating.
pub fn count() {
    ON.store(true, Relaxed);
}

/// Whether [`count`] was called.
pub fn counting() -> bool {
    ON.load(Relaxed)
}

/// The peak heap so far, in bytes.
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// The heap in use now, in bytes.
pub fn in_use() -> usize {
    IN_USE.load(Relaxed)
}

/// Start a new peak from the heap in use now, and return that: the peak a run adds
/// is then [`peak`] minus it.
pub fn reset_peak() -> usize {
    let now = in_use();
    PEAK.store(now, Relaxed);
    now
}

fn grow(bytes: usize) {
    let now = IN_USE.fetch_add(bytes, Relaxed).saturating_add(bytes);
    PEAK.fetch_max(now, Relaxed);
}

/// Saturating: blocks allocated before counting began may be freed.
fn release(bytes: usize) {
    let _ = IN_USE.fetch_update(Relaxed, Relaxed, |n| Some(n.saturating_sub(bytes)));
}

// SAFETY: every call is passed on to mimalloc unchanged, with the caller's
// arguments, and its answer returned unchanged: mimalloc's `GlobalAlloc` keeps the
// trait's promises, and the counting around it touches no memory it hands out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's promise for `l` (a non-zero size) is `alloc`'s own.
        let p = unsafe { Backing.alloc(l) };
        if !p.is_null() && ON.load(Relaxed) {
            grow(l.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: the caller promises `p` came from this allocator with `l`, and every
        // block of this allocator is mimalloc's.
        unsafe { Backing.dealloc(p, l) };
        if ON.load(Relaxed) {
            release(l.size());
        }
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: as in `dealloc` for `p` and `l`; the caller promises `new` is a
        // valid size for `l`'s alignment.
        let q = unsafe { Backing.realloc(p, l, new) };
        if !q.is_null() && ON.load(Relaxed) {
            match new.checked_sub(l.size()) {
                Some(more) => grow(more),
                None => release(l.size() - new),
            }
        }
        q
    }
}
