//! What a solver returns.

use prudentia_core::Status;
use serde::{Deserialize, Serialize};

/// Which algorithm produced a [`Selection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Method {
    /// Branch and bound ([`ExactSolver`](crate::ExactSolver)).
    Exact,
    /// Greedy plus 1-swap local search ([`GreedySwap`](crate::GreedySwap)).
    GreedySwap,
    /// Maximal marginal relevance ([`Mmr`](crate::Mmr)).
    Mmr,
    /// Greedy DPP MAP ([`Dpp`](crate::Dpp)).
    Dpp,
    /// The K largest μ, ignoring correlation ([`top_k_by_return`](crate::top_k_by_return)).
    TopK,
}

/// A selected slate and how good it is known to be.
///
/// Deserialization checks the indices (strictly increasing), every number finite, the gap
/// ≥ 0, and an empty slate for [`Status::Infeasible`] and [`Status::NotFound`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct Selection {
    /// Selected item indices, ascending.
    pub selected: Vec<usize>,
    /// Objective `Σ μ_i − λ Σ_{i<j} ρ_ij` over the slate.
    pub objective: f64,
    /// Total expected return `Σ μ_i` of the slate.
    pub expected_return: f64,
    /// Correlation penalty `λ Σ_{i<j} ρ_ij` of the slate.
    pub penalty: f64,
    /// Proven upper bound on the optimal objective, when known.
    pub upper_bound: Option<f64>,
    /// Relative optimality gap `(upper_bound − objective) / max(|objective|, 1e-9)`, when a
    /// bound is known (0 when proven optimal).
    pub gap: Option<f64>,
    /// Branch-and-bound nodes explored (0 for heuristics).
    pub nodes: u64,
    /// How the solve ended: `Converged` (proven optimal, gap 0 up to the comparison
    /// tolerance); `IterationLimit` (the exact solver's node limit; `iterations` = nodes) or
    /// `TimeLimit` (the slate is the best found, `gap` bounds its distance to the optimum);
    /// `Heuristic` (optimality not proven); `Infeasible` (proven: no slate satisfies every
    /// constraint, the culprits name the constraints present); `NotFound` (a heuristic found
    /// no slate meeting every constraint, one may still exist). With `Infeasible` and
    /// `NotFound`, `selected` is empty and `objective` 0.
    pub status: Status,
    /// Which algorithm produced the slate.
    pub method: Method,
}
prudentia_core::checked_serde!(Selection, Selection::check);

/// Relative gap `(ub − obj) / max(|obj|, 1e-9)`, clamped to `[0, f64::MAX]` (NaN input
/// gives `f64::MAX`: an unknown distance is never reported as 0).
pub fn relative_gap(upper_bound: f64, objective: f64) -> f64 {
    let g = (upper_bound - objective) / objective.abs().max(1e-9);
    if g.is_nan() {
        f64::MAX
    } else {
        g.clamp(0.0, f64::MAX)
    }
}

impl Selection {
    fn check(&mut self) -> Result<(), prudentia_core::CoreError> {
        use prudentia_core::validate::{check_finite, check_non_negative};
        if let Some(i) = self.selected.windows(2).position(|w| w[1] <= w[0]) {
            return Err(prudentia_core::CoreError::NotIncreasing {
                field: "selected",
                index: i + 1,
            });
        }
        check_finite("objective", &[self.objective, self.expected_return, self.penalty])?;
        if let Some(u) = self.upper_bound {
            check_finite("upper_bound", &[u])?;
        }
        if let Some(g) = self.gap {
            check_non_negative("gap", g)?;
        }
        if matches!(self.status, Status::Infeasible { .. } | Status::NotFound) && !self.selected.is_empty() {
            return Err(prudentia_core::CoreError::ShapeMismatch {
                field: "selected (no slate was found)",
                expected: vec![0],
                found: vec![self.selected.len()],
            });
        }
        Ok(())
    }

    pub(crate) fn from_set(
        p: &crate::SelectionProblem,
        mut set: Vec<usize>,
        upper_bound: Option<f64>,
        nodes: u64,
        status: Status,
        method: Method,
    ) -> Self {
        set.sort_unstable();
        if matches!(status, Status::Infeasible { .. } | Status::NotFound) || set.is_empty() {
            return Self {
                selected: Vec::new(),
                objective: 0.0,
                expected_return: 0.0,
                penalty: 0.0,
                upper_bound,
                gap: None,
                nodes,
                status,
                method,
            };
        }
        let objective = p.objective_unchecked(&set);
        let expected_return: f64 = set.iter().map(|&i| p.mu[i]).sum();
        let ub = upper_bound.map(|u| u.max(objective));
        let optimal = status.is_converged();
        let gap = match (optimal, ub) {
            (true, _) => Some(0.0),
            (_, Some(u)) => Some(relative_gap(u, objective)),
            _ => None,
        };
        Self {
            selected: set,
            objective,
            expected_return,
            penalty: expected_return - objective,
            upper_bound: if optimal { Some(objective) } else { ub },
            gap,
            nodes,
            status,
            method,
        }
    }
}

impl std::fmt::Display for Selection {
    /// `slate [0, 3, 5]: objective 0.012 = return 0.015 - penalty 0.003 (Optimal, exact)`,
    /// with the gap when known. Indices refer to the problem's candidates.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "slate {:?}: objective {:.6} = return {:.6} - penalty {:.6} ({:?}, {:?}",
            self.selected, self.objective, self.expected_return, self.penalty, self.status, self.method
        )?;
        if let Some(g) = self.gap {
            write!(f, ", gap {g:.2e}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_gap_definition() {
        assert_eq!(relative_gap(1.1, 1.0), 0.10000000000000009);
        assert_eq!(relative_gap(1.0, 1.0), 0.0);
        assert_eq!(relative_gap(0.9, 1.0), 0.0); // clamped
        assert!((relative_gap(-1.0, -2.0) - 0.5).abs() < 1e-15);
        assert!((relative_gap(1e-9, 0.0) - 1.0).abs() < 1e-12);
    }
}
