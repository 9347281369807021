//! Integration tests of prudentia-audit (one binary).

mod bad_input;
mod common;
mod crash;
#[path = "../benches/main_example.rs"]
mod main_example;
mod pipeline;
mod replay;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod tamper;
