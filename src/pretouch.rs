//! Fresh heap pages faulted in ahead, off the thread the pass waits for. The kernel
//! zeroes a page at its first write; a big capture's pass grows the heap by tens of
//! MB, and on the analysing thread those first writes cost a tenth of its time. A
//! thread that runs only when a core would otherwise idle maps them in first.
//!
//! `MADV_POPULATE_WRITE` (Linux 5.14) maps pages in without writing a byte, so it is
//! safe while the allocator hands the same memory out; elsewhere this does nothing.

/// Heap to fault in ahead: where the allocator hands out a thread's next blocks, and
/// how many bytes from there.
#[derive(Debug, Clone, Copy)]
pub struct Pretouch {
    from: usize,
    bytes: usize,
}

impl Pretouch {
    /// Up to `bytes` from where the calling thread's blocks start (the allocator hands
    /// memory out upwards from there).
    pub fn here(bytes: usize) -> Self {
        let probe = Box::new(0u64);
        let from = std::ptr::from_ref(&*probe) as usize & !(PAGE - 1);
        drop(probe);
        Pretouch { from, bytes }
    }

    /// Fault the pages in on an idle-priority thread; where the mapping ends, or on a
    /// kernel without the advice, it stops. Start it once the other threads are
    /// running: the advice holds the address space's lock for reading, and a thread
    /// starting up (its stack, its guard page) must take it for writing, so it would
    /// wait on a thread that runs only when a core idles.
    pub fn start(self) {
        let Pretouch { from, bytes } = self;
        let _ = std::thread::Builder::new()
            .name("pretouch".into())
            .spawn(move || {
                if idle_priority() {
                    populate(from, from.saturating_add(bytes));
                }
            });
    }
}

const PAGE: usize = 4096;

/// Lower the calling thread to `SCHED_IDLE`.
#[cfg(target_os = "linux")]
fn idle_priority() -> bool {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: a plain system call on the calling thread's own policy.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn idle_priority() -> bool {
    false
}

/// Map in the pages of `from..to` (page-aligned `from`), a huge page's span at a
/// time; false if the kernel refused a span (then the rest is left).
#[cfg(target_os = "linux")]
fn populate(from: usize, to: usize) -> bool {
    const HUGE: usize = 2 << 20;
    let mut at = from;
    while at < to {
        let next = ((at | (HUGE - 1)) + 1).min(to.next_multiple_of(PAGE));
        // SAFETY: the advice writes no byte and only maps pages in; a range the
        // process has not mapped is refused (ENOMEM), not faulted.
        let r = unsafe {
            libc::madvise(
                at as *mut libc::c_void,
                next - at,
                libc::MADV_POPULATE_WRITE,
            )
        };
        if r != 0 {
            return false;
        }
        at = next;
    }
    true
}

#[cfg(not(target_os = "linux"))]
fn populate(_from: usize, _to: usize) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Pages of `len` bytes at `at` that are resident.
    fn resident(at: usize, len: usize) -> usize {
        let mut vec = vec![0u8; len.div_ceil(PAGE)];
        // SAFETY: `at..at + len` is a mapping of this test; `vec` has a byte a page.
        let r = unsafe { libc::mincore(at as *mut libc::c_void, len, vec.as_mut_ptr()) };
        assert_eq!(r, 0);
        vec.iter().filter(|&&b| b & 1 == 1).count()
    }

    #[test]
    fn populating_maps_fresh_pages_in_and_changes_no_byte() {
        const LEN: usize = 64 * PAGE;
        // SAFETY: a fresh private anonymous mapping, unmapped below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        let at = map as usize;
        // SAFETY: within the mapping.
        let bytes = unsafe { std::slice::from_raw_parts_mut(map.cast::<u8>(), LEN) };
        bytes[..PAGE].fill(0xa5);
        let before = resident(at, LEN);
        if !populate(at, at + LEN) {
            // A kernel older than 5.14 refuses the advice: nothing else to check.
            eprintln!("MADV_POPULATE_WRITE refused by this kernel");
        } else {
            assert_eq!(resident(at, LEN), 64, "{before} resident before");
            assert!(before < 64);
        }
        assert!(bytes[..PAGE].iter().all(|&b| b == 0xa5));
        assert!(bytes[PAGE..].iter().all(|&b| b == 0));
        // SAFETY: unmapping this test's own mapping.
        assert_eq!(unsafe { libc::munmap(map, LEN) }, 0);
    }
}
