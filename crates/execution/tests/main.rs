//! Behaviour tests of prudentia-execution (one binary).

mod common;
mod ope;
mod router;
