//! # prudentia-adversarial
//!
//! The harness of the workspace's adversarial suite (`tests/main.rs`, one module per crate).
//! Every public constructor, fit, solve, update, decide and deserialize entry point is fed bad
//! input — NaN and ±inf, extremes such as `1e300` and `5e-324`, absurd sizes, out-of-range
//! indices, tampered checkpoints — and each call runs on its own thread under
//! `catch_unwind` and a watchdog. A call passes when it returns a typed error, or returns
//! `Ok` with only finite numbers and its invariants intact; a panic, a hang, a non-finite
//! number inside an `Ok` or a broken invariant is a failure.
//!
//! - [`Suite`] runs the calls and counts the verdicts per crate;
//! - [`Check`] and its helpers ([`result`], [`finite`]) judge one call's result;
//! - [`strategies`] holds proptest strategies with adversarial values for seeded sweeps
//!   ([`Suite::sweep`]);
//! - [`mutate`] makes every single-field mutation of a serialized checkpoint
//!   ([`Suite::checkpoint`]).
//!
//! The number of random cases per sweep is `PRUDENTIA_ADVERSARIAL_CASES` (default 48; a long
//! run sets thousands) and the watchdog is `PRUDENTIA_ADVERSARIAL_TIMEOUT_S` (default 30 s).
//!
//! ```
//! use prudentia_adversarial::{result, Check, Suite};
//!
//! let mut suite = Suite::new("doc");
//! suite.check("parse a float", || result("1e400".parse::<f64>().map_err(|e| e.to_string())));
//! suite.check("sqrt of -1 is refused", || {
//!     let x: f64 = -1.0;
//!     if x < 0.0 { Check::Rejected } else { Check::ok_finite(&x.sqrt()) }
//! });
//! let counts = suite.counts();
//! assert_eq!(counts.calls, 2);
//! assert_eq!(counts.non_finite, 1); // 1e400 parses to +inf: a silent non-finite `Ok`
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod finite;
pub mod mutate;
pub mod strategies;
mod suite;

pub use finite::{first_non_finite, NonFiniteAt};
pub use suite::{cases, finite, result, result_with, Check, Counts, Suite};
