//! Integration tests of prudentia-kelly (one binary, STYLE.md item 14).

mod allocation;
mod bad_input;
mod governor;
mod growth_optimal_fixture;
mod sizer;
mod synthetic_market;
