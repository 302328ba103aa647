//! What one engine instance may use: time per call, memory, tables, instances.
//!
//! Time is bounded with wasmtime's epoch interruption: a ticker thread per
//! [`wasmtime::Engine`] advances the epoch every [`TICK`], and each guest call
//! gets a deadline in ticks. A call that runs past it traps; the host denies
//! the check with `engine_failure` and rebuilds the instance. The bound on the
//! time a runaway call holds the host is therefore `deadline + TICK` (plus
//! the scheduler's delay in waking the ticker thread).
//!
//! Memory is bounded per instance by a [`wasmtime::StoreLimits`]: the guest's
//! `memory.grow` fails past the limit, which the engine reports as a trap.

use std::time::Duration;

use wasmtime::{Engine, EngineWeak};

/// How often the epoch advances.
pub const TICK: Duration = Duration::from_millis(5);

/// The smallest default memory limit per instance: 512 MiB.
pub const MEMORY_FLOOR: usize = 512 << 20;

/// The largest linear memory a 32-bit guest can address: 4 GiB.
pub const MEMORY_CEILING: usize = 4 << 30;

/// How much memory the default limit allows per byte of bundle. The engine
/// decodes the bundle into indexes several times its encoded size.
pub const MEMORY_PER_BUNDLE_BYTE: usize = 16;

/// The limits on one engine instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory of an instance, in bytes; `None` sizes it for the
    /// bundle: `max(MEMORY_FLOOR, MEMORY_PER_BUNDLE_BYTE × bundle length)`, at
    /// most [`MEMORY_CEILING`].
    pub memory: Option<usize>,
    /// Longest a check, `apply` or any other call may run.
    pub call_deadline: Duration,
    /// Longest loading a bundle may run (decoding and indexing a large world).
    pub load_deadline: Duration,
    /// Most table elements an instance may have.
    pub table_elements: usize,
    /// Most core instances, tables and memories a component instance may create.
    pub instances: usize,
    /// Most tables.
    pub tables: usize,
    /// Most memories.
    pub memories: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory: None,
            call_deadline: Duration::from_secs(1),
            load_deadline: Duration::from_secs(60),
            table_elements: 100_000,
            instances: 8,
            tables: 8,
            memories: 2,
        }
    }
}

impl Limits {
    /// The memory limit for an instance loading a bundle of `bundle_len` bytes.
    pub fn memory_for(&self, bundle_len: usize) -> usize {
        self.memory
            .unwrap_or_else(|| bundle_len.saturating_mul(MEMORY_PER_BUNDLE_BYTE).clamp(MEMORY_FLOOR, MEMORY_CEILING))
    }

    /// The store limits for an instance loading a bundle of `bundle_len` bytes.
    pub(crate) fn store_limits(&self, bundle_len: usize) -> wasmtime::StoreLimits {
        wasmtime::StoreLimitsBuilder::new()
            .memory_size(self.memory_for(bundle_len))
            .table_elements(self.table_elements)
            .instances(self.instances)
            .tables(self.tables)
            .memories(self.memories)
            .build()
    }
}

/// A deadline in epoch ticks: whole ticks, rounded up, at least one.
pub(crate) fn ticks(deadline: Duration) -> u64 {
    let tick = TICK.as_nanos();
    let n = deadline.as_nanos().div_ceil(tick).max(1);
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Starts the thread that advances `engine`'s epoch every [`TICK`]. It holds
/// only a weak reference and ends once the engine is dropped.
pub(crate) fn start_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak: EngineWeak = engine.weak();
    std::thread::Builder::new().name("finegrain-epoch".into()).spawn(move || {
        loop {
            std::thread::sleep(TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_whole_ticks() {
        assert_eq!(ticks(Duration::ZERO), 1);
        assert_eq!(ticks(Duration::from_millis(1)), 1);
        assert_eq!(ticks(Duration::from_millis(5)), 1);
        assert_eq!(ticks(Duration::from_millis(6)), 2);
        assert_eq!(ticks(Duration::from_secs(1)), 200);
    }

    #[test]
    fn the_default_memory_limit_grows_with_the_bundle() {
        let limits = Limits::default();
        assert_eq!(limits.memory_for(1000), MEMORY_FLOOR);
        assert_eq!(limits.memory_for(100 << 20), 1600 << 20);
        assert_eq!(limits.memory_for(1 << 30), MEMORY_CEILING);
        let fixed = Limits { memory: Some(64 << 20), ..Limits::default() };
        assert_eq!(fixed.memory_for(1 << 30), 64 << 20);
    }
}
