//! Integration tests of prudentia-costs (one binary).

mod ac;
mod bad_input;
mod calibration;
mod common;
mod drift;
mod online;
