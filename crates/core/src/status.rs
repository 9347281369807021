//! How a fit or a solve ended: one status enum for every prudentia learner and solver.
//!
//! A status is an *outcome*, not an error (STYLE.md item 6): `Err` means the call itself was
//! wrong (bad input, impossible configuration); a model or solution that exists but did not
//! end as hoped (stopped at its iteration limit, separated data, reduced accuracy) carries a
//! [`Status`] beside its numbers, so that whoever uses the result can see how it was made.
//!
//! ```
//! use prudentia_core::status::{SeparationKind, Status};
//!
//! let s = Status::Separation { kind: SeparationKind::Quasi, observations: 12 };
//! assert!(!s.is_converged());
//! assert_eq!(s.to_string(), "quasi-complete separation (12 observations fitted exactly)");
//! assert!(Status::Converged.is_converged());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which kind of separation a binary classifier ran into (Albert & Anderson 1984,
/// Biometrika 71): with separation the maximum-likelihood estimate does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SeparationKind {
    /// Complete separation: a hyperplane puts every observation strictly on its label's side.
    Complete,
    /// Quasi-complete separation: a hyperplane separates the labels with some observations
    /// on it; those with a strict margin are fitted with probability 0 or 1.
    Quasi,
}

/// How a fit or a solve ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Status {
    /// Converged to the requested tolerance, or solved exactly (a direct method on a
    /// well-conditioned problem): the optimal answer.
    Converged,
    /// An answer was produced, but with less accuracy than requested (e.g. an
    /// ill-conditioned system); the reason says why.
    ReducedAccuracy {
        /// Why the accuracy is reduced, in words.
        reason: String,
    },
    /// Stopped at the iteration limit; the numbers are the last iterate.
    IterationLimit {
        /// Iterations made.
        iterations: usize,
    },
    /// Stopped at the time limit; the numbers are the last iterate.
    TimeLimit {
        /// Time spent, in milliseconds.
        elapsed_ms: u64,
    },
    /// The constraints cannot hold together; names the conflicting ones.
    Infeasible {
        /// The conflicting constraints or limits.
        culprits: Vec<String>,
    },
    /// The data are separated: the maximum-likelihood estimate does not exist, and the
    /// coefficients are those of the last iterate (their size means nothing).
    Separation {
        /// Complete or quasi-complete.
        kind: SeparationKind,
        /// Number of observations fitted with probability (numerically) 0 or 1.
        observations: usize,
    },
    /// The solver failed numerically; the message is its own.
    Numerical {
        /// What went wrong, as the solver reported it.
        message: String,
    },
    /// A heuristic produced the answer: it meets every constraint, but its optimality is not
    /// proven (no accuracy was requested and missed, so this is not
    /// [`Status::ReducedAccuracy`]).
    Heuristic,
    /// A search found no answer meeting every constraint, but did not prove that none exists
    /// (unlike [`Status::Infeasible`]); an exact method decides.
    NotFound,
    /// A fallback policy produced the answer because the primary solve ended with `cause`
    /// (kept whole, e.g. the culprits of an infeasible solve).
    Fallback {
        /// Which fallback, in words.
        reason: String,
        /// How the primary solve ended.
        cause: Box<Status>,
    },
}

impl Status {
    /// `true` only for [`Status::Converged`].
    pub fn is_converged(&self) -> bool {
        matches!(self, Status::Converged)
    }

    /// `true` when the answer exists and meets the constraints, though it may not be
    /// optimal: converged, reduced accuracy, iteration or time limit, heuristic, or a
    /// fallback. `false` for infeasible, not found, separation and numerical failure.
    pub fn has_answer(&self) -> bool {
        matches!(
            self,
            Status::Converged
                | Status::ReducedAccuracy { .. }
                | Status::IterationLimit { .. }
                | Status::TimeLimit { .. }
                | Status::Heuristic
                | Status::Fallback { .. }
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Converged => f.write_str("converged"),
            Status::ReducedAccuracy { reason } => write!(f, "reduced accuracy: {reason}"),
            Status::IterationLimit { iterations } => {
                write!(f, "stopped at the iteration limit ({iterations} iterations)")
            }
            Status::TimeLimit { elapsed_ms } => {
                write!(f, "stopped at the time limit ({elapsed_ms} ms)")
            }
            Status::Infeasible { culprits } => write!(f, "infeasible: {}", culprits.join(", ")),
            Status::Separation { kind, observations } => {
                let k = match kind {
                    SeparationKind::Complete => "complete",
                    SeparationKind::Quasi => "quasi-complete",
                };
                write!(f, "{k} separation ({observations} observations fitted exactly)")
            }
            Status::Numerical { message } => write!(f, "numerical failure: {message}"),
            Status::Heuristic => f.write_str("heuristic (optimality not proven)"),
            Status::NotFound => f.write_str("no feasible answer found (infeasibility not proven)"),
            Status::Fallback { reason, cause } => write!(f, "fallback: {reason} (after: {cause})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_roundtrip() {
        let all = [
            Status::Converged,
            Status::ReducedAccuracy {
                reason: "condition number 1e13".into(),
            },
            Status::IterationLimit { iterations: 100 },
            Status::TimeLimit { elapsed_ms: 5 },
            Status::Infeasible {
                culprits: vec!["gross".into(), "net".into()],
            },
            Status::Separation {
                kind: SeparationKind::Complete,
                observations: 3,
            },
            Status::Numerical {
                message: "Hessian not positive definite".into(),
            },
            Status::Heuristic,
            Status::NotFound,
            Status::Fallback {
                reason: "kept current weights".into(),
                cause: Box::new(Status::Infeasible {
                    culprits: vec!["gross".into()],
                }),
            },
        ];
        for s in all {
            assert!(!s.to_string().is_empty());
            assert_eq!(s.is_converged(), s == Status::Converged);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
        }
        assert_eq!(
            Status::Infeasible {
                culprits: vec!["gross".into(), "net".into()]
            }
            .to_string(),
            "infeasible: gross, net"
        );
    }
}
