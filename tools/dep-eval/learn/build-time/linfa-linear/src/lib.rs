//! Build-time probe: depends only on linfa-linear (and linfa for its traits).
pub use linfa_linear::LinearRegression;
