//! Integration tests of prudentia-audit (one binary).

mod bad_input;
mod common;
mod crash;
mod replay;
mod store;
mod tamper;
