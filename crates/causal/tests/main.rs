//! Integration tests of prudentia-causal.

mod bad_input;
mod common;
mod diagnostics;
mod fast_path;
mod filter;
mod fixtures;
mod ground_truth;
mod load_checks;
