//! Integration tests of prudentia-pipeline (one binary, STYLE.md item 14).

mod common;
mod flows;
mod reliability;
mod scale;
mod statuses;
