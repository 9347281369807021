//! Integration tests of the facade `prudentia` (one binary, STYLE.md item 14). They use
//! every role crate, so the binary requires every feature (all are on by default).

mod audit_replay;
mod config;
mod end_to_end;
mod monitor_live;
mod reliability;
