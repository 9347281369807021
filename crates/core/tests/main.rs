//! Integration tests of prudentia-core (one binary, STYLE.md item 14).

mod ledoit_wolf_fixture;
