//! Behaviour tests of prudentia-execution (one binary).

mod ope;
