//! Integration tests of prudentia-causal.

mod common;
mod diagnostics;
mod fixtures;
mod ground_truth;
