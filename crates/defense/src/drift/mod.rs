//! Distribution drift: PSI, the two-sample Kolmogorov–Smirnov test, and a per-feature monitor.

pub mod kolmogorov;
pub mod ks;
pub mod monitor;
pub mod psi;

pub use kolmogorov::{kolmogorov_sf, smirnov};
pub use ks::{ks_2samp, ks_2samp_sorted, Alternative, KsMethod, KsResult};
pub use monitor::{DriftMonitor, DriftMonitorConfig, FeatureDrift};
pub use psi::{psi, PsiConfig, PsiReference};
