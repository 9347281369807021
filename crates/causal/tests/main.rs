//! Integration tests of prudentia-causal.

mod common;
mod fixtures;
mod ground_truth;
