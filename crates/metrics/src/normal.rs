//! The standard normal distribution (re-exported from [`prudentia_core::normal`]): density,
//! CDF `Φ(x) = erfc(−x/√2)/2`, and quantile (Acklam's approximation refined by one Halley step).

pub use prudentia_core::normal::{cdf, pdf, quantile};
