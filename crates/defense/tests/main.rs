//! Integration tests of prudentia-defense (one binary, STYLE.md item 14).

mod bad_input;
mod checkpoint;
mod common;
mod conservation;
mod faults;
mod guard;
mod ks_reference;
mod sp500_defaults;
