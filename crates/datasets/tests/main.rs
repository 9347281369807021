//! Integration tests of prudentia-datasets (one binary, STYLE.md item 14).

mod bad_input;
mod loaders;
mod onramp;
mod properties;
mod reference;
mod synthetic;
mod value_stability;
