//! The bounds of an analysis (docs/usage.md "Limits"). `--max-memory` is the heap an
//! analysis may take, its report included. The tables whose size their entry caps
//! fix (TCP streams and their pending bytes, TFTP transfers, transactions,
//! bindings, the flood detectors) are reserved at their worst, a margin is kept
//! for what no table holds (reader buffers, the rules, the rendered table), and the
//! devices get the rest: the engine counts what each device holds and keeps the
//! sum within it ([`crate::engine::EngineLimits::max_device_bytes`]).

use crate::dispatch::Dispatcher;
use crate::engine::{EngineLimits, DEFAULT_MAX_DEVICES, DEFAULT_MAX_TRANSACTIONS};
use crate::reassembly::StreamLimits;

/// The default `--max-memory`, in MiB.
pub const DEFAULT_MAX_MEMORY_MB: usize = 512;
/// The default `--max-streams`.
pub const DEFAULT_MAX_STREAMS: usize = 65_536;
/// Kept for what no table holds: the capture readers' buffers (a record is at most
/// 16 MiB), the rules, the warnings, the rendered fleet table.
pub const MARGIN: usize = 40 << 20;
/// The least the devices may be given.
pub const MIN_DEVICE_BYTES: usize = 8 << 20;

impl Default for EngineLimits {
    /// The engine's part of [`Limits::default`].
    fn default() -> Self {
        Limits::default().engine
    }
}

/// Limits that do not fit together.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "--max-memory {max_memory_mb} MB is too small: the tables take up to {tables_mb} MB at \
     these sizes and the devices need at least {min_mb} MB; raise --max-memory or lower \
     --max-streams / --max-flows / --max-devices"
)]
pub struct LimitsError {
    /// What was asked, in MiB.
    pub max_memory_mb: usize,
    /// What the fixed tables and the margin take, in MiB (rounded up).
    pub tables_mb: usize,
    /// The least the devices need, in MiB.
    pub min_mb: usize,
}

/// Every bound of an analysis, from one memory budget and the table sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The engine's bounds.
    pub engine: EngineLimits,
    /// The TCP streams' bounds.
    pub streams: StreamLimits,
    /// The whole budget, in bytes.
    pub max_memory: usize,
}

impl Limits {
    /// The limits for a heap of `max_memory_mb` MiB with these table sizes. The TCP
    /// streams may hold a sixteenth of it in pending and out-of-order bytes.
    ///
    /// # Errors
    /// The fixed tables and the margin leave the devices less than
    /// [`MIN_DEVICE_BYTES`].
    pub fn new(
        max_memory_mb: usize,
        max_devices: usize,
        max_streams: usize,
        max_flows: usize,
    ) -> Result<Self, LimitsError> {
        let max_memory = max_memory_mb.saturating_mul(1 << 20);
        let streams = StreamLimits {
            max_streams,
            max_pending_total: max_memory / 16,
            ..StreamLimits::default()
        };
        let mut engine = EngineLimits {
            max_devices,
            max_device_bytes: 0,
            max_transactions: max_flows,
            max_bindings: 4 * max_devices,
            max_config_bytes: crate::engine::DEFAULT_MAX_CONFIG_BYTES,
        };
        let fixed = Self::fixed_bytes(&engine, &streams);
        let rest = max_memory.saturating_sub(fixed);
        if rest < MIN_DEVICE_BYTES {
            return Err(LimitsError {
                max_memory_mb,
                tables_mb: fixed.div_ceil(1 << 20),
                min_mb: MIN_DEVICE_BYTES >> 20,
            });
        }
        engine.max_device_bytes = rest;
        Ok(Limits {
            engine,
            streams,
            max_memory,
        })
    }

    /// What the tables other than the devices take at most, and the margin.
    fn fixed_bytes(engine: &EngineLimits, streams: &StreamLimits) -> usize {
        Dispatcher::max_heap_bytes(streams) + engine.max_table_heap_bytes() + MARGIN
    }

    /// The budget's parts (name, bytes), as docs/usage.md's "Limits" lists them.
    pub fn parts(&self) -> Vec<(&'static str, usize)> {
        vec![
            (
                "TCP streams (table, pending and held bytes) and TFTP transfers",
                Dispatcher::max_heap_bytes(&self.streams),
            ),
            (
                "device table, transactions, attribution bindings, flood detectors",
                self.engine.max_table_heap_bytes(),
            ),
            ("margin (readers, rules, rendering)", MARGIN),
            (
                "devices and their report entries",
                self.engine.max_device_bytes,
            ),
        ]
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(
            DEFAULT_MAX_MEMORY_MB,
            DEFAULT_MAX_DEVICES,
            DEFAULT_MAX_STREAMS,
            DEFAULT_MAX_TRANSACTIONS,
        )
        .unwrap_or_else(|e| unreachable!("the default limits fit: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_add_up_to_the_budget_and_the_defaults_agree() {
        let l = Limits::default();
        assert_eq!(l.parts().iter().map(|p| p.1).sum::<usize>(), l.max_memory);
        assert_eq!(l.engine, EngineLimits::default());
        assert_eq!(l.streams, StreamLimits::default());
        for (name, bytes) in l.parts() {
            eprintln!("{name}: {:.1} MiB", bytes as f64 / f64::from(1 << 20));
        }
    }

    #[test]
    fn a_budget_too_small_for_the_tables_says_so() {
        let e = Limits::new(64, 25_000, 65_536, 8192).unwrap_err();
        assert!(e.tables_mb > 56, "{e}");
        assert!(
            e.to_string().contains("--max-memory 64 MB is too small"),
            "{e}"
        );
        // Smaller tables fit.
        let l = Limits::new(96, 1000, 1024, 256).unwrap();
        assert!(l.engine.max_device_bytes >= MIN_DEVICE_BYTES);
        assert_eq!(l.parts().iter().map(|p| p.1).sum::<usize>(), 96 << 20);
    }
}
