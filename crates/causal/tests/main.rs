//! Integration tests of prudentia-causal.

mod common;
mod fixtures;
