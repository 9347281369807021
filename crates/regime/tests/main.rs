//! Integration tests of prudentia-regime (one binary, STYLE.md item 14).

mod bocpd_brute_force;
mod conditional_bandit;
mod detection_eval;
mod hmm_reference;
mod labels;
mod sp500_real;
mod state_and_inputs;
