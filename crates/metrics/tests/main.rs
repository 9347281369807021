//! Integration tests of prudentia-metrics (one binary, STYLE.md item 14).

mod backtest;
mod benchmark_fixture;
mod charts;
mod common;
mod edge_cases;
mod empyrical_fixtures;
mod export;
mod properties;
mod published_examples;
mod report;
mod synthetic_ground_truth;
mod tearsheet_browser;
