//! Build-time probe: depends only on linfa-logistic (and linfa for its traits).
pub use linfa_logistic::LogisticRegression;
