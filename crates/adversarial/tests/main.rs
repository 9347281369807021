//! The adversarial suite of the workspace: one module per crate.
//!
//! Each module feeds its crate's public entry points a table of bad inputs and seeded random
//! sweeps (`PRUDENTIA_ADVERSARIAL_CASES` cases each), and mutates every stateful type's
//! checkpoint field by field. Every call runs under `catch_unwind` and a watchdog; a module's
//! test fails on any panic, hang, non-finite `Ok` or broken invariant, and prints its counts
//! (`cargo test -p prudentia-adversarial -- --nocapture`).

mod audit;
mod causal;
mod core_types;
mod cost_drift;
mod costs;
mod datasets;
mod defense;
mod execution;
mod kelly;
mod learn;
mod metrics;
mod monitor;
mod pipeline;
mod pipeline_state;
mod portfolio;
mod regime;
mod selection;
mod uncertainty;
