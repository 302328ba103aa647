//! Engine hosts on wasmtime's pooling allocator: memories, tables and
//! instances for a fixed number of engine instances are reserved once, when
//! the host is built, and reused by every instance after, so loading a policy
//! into a fresh instance (a swap, a rebuild after a trap) maps no new memory.
//!
//! Each slot is sized from the host's [`Limits`]: the memory limit (or the
//! largest a 32-bit guest can address when it is sized per bundle), the
//! instance, table and memory counts, and the table elements.

use anyhow::Result;
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::limits::{Limits, MEMORY_CEILING};
use crate::runtime::EngineHost;

/// Compiles an engine component whose instances come from a pool of
/// `instances` slots. An instance beyond them fails to instantiate (the host
/// then reports the error as for any failed load).
pub fn pooled(bytes: &[u8], limits: Limits, instances: u32) -> Result<EngineHost> {
    let config = pooling_config(&limits, instances.max(1));
    EngineHost::with_config(bytes, limits, config)
}

/// The wasmtime configuration of a pool of `instances` engine instances within `limits`.
pub fn pooling_config(limits: &Limits, instances: u32) -> Config {
    let count = |per_instance: usize| u32::try_from(per_instance).unwrap_or(u32::MAX).max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .max_core_instances_per_component(count(limits.instances))
        .total_core_instances(instances.saturating_mul(count(limits.instances)))
        .max_memories_per_component(count(limits.memories))
        .total_memories(instances.saturating_mul(count(limits.memories)))
        .max_tables_per_component(count(limits.tables))
        .total_tables(instances.saturating_mul(count(limits.tables)))
        .table_elements(limits.table_elements)
        .max_memory_size(limits.memory.unwrap_or(MEMORY_CEILING).min(MEMORY_CEILING));
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}
