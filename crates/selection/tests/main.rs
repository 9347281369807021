//! Integration tests of prudentia-selection (one binary, STYLE.md item 14).

mod bad_input;
mod behaviour;
mod brute_force;
mod common;
mod heuristic_gap;
mod milp_fixture;
mod sp500;
