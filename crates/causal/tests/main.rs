//! Integration tests of prudentia-causal.

mod common;
mod diagnostics;
mod filter;
mod fixtures;
mod ground_truth;
