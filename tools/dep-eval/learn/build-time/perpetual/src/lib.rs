//! Build-time probe: depends only on perpetual (needs RUSTC_BOOTSTRAP=perpetual on stable).
pub use perpetual::PerpetualBooster;
