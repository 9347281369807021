//! Integration tests of prudentia-uncertainty (one binary, STYLE.md item 14).

mod bad_input;
mod calibration;
mod conformal;
mod forecasters;
mod ngboost;
mod reference;
mod roundtrip;
mod synthetic_market;
