//! Integration tests of prudentia-learn (one binary, STYLE.md item 14).

mod bad_input;
mod bandit;
mod bandit_reference;
mod boost;
mod reference;
mod rls;
mod roundtrip;
mod status;
