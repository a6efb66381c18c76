//! Write to every page of N MiB of fresh memory, then free it (`benches/compare.sh`
//! runs it before its rounds). On a virtual machine whose host backs the guest's
//! memory only when first written, a process's first pages cost more than its work:
//! 2 to 3 ms per MiB on a fresh machine of this project's kind, nearly half a second
//! of CPU time for the 176 MiB a 10 000-phone analysis commits. Written once here,
//! that memory is backed for the runs that follow, whichever tool takes it; on a
//! machine whose memory is backed already this changes nothing.

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: warm_memory MIB");
    let started = std::time::Instant::now();
    let mut block = vec![0u8; mib << 20];
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&block);
    drop(block);
    println!(
        "{mib} MiB written and freed in {:.3} s",
        started.elapsed().as_secs_f64()
    );
}
