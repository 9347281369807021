//! Behaviour tests of prudentia-execution (one binary).

mod common;
mod learning;
mod ope;
mod router;
