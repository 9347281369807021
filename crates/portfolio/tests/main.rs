//! Integration tests of prudentia-portfolio (one binary, STYLE.md item 14).

mod bad_input;
mod behaviour;
mod common;
mod controller;
mod convex_cost;
mod fixtures;
mod structured_qp;
