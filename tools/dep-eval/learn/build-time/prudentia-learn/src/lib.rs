//! Build-time probe: depends only on prudentia-learn.
pub use prudentia_learn::linear::LinearRegressionConfig;
