//! Why each item is in the slate, and why the best excluded items are not.

use serde::{Deserialize, Serialize};

use crate::error::SelectionError;
use crate::problem::{SelectionProblem, NO_SECTOR};
use crate::solution::Selection;

/// The contribution of one selected item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Item index.
    pub index: usize,
    /// Its expected return μ_i.
    pub mu: f64,
    /// Its correlation penalty with the rest of the slate, `λ Σ_{j∈S, j≠i} ρ_ij`.
    pub penalty: f64,
    /// Marginal contribution `μ_i − λ Σ_{j∈S, j≠i} ρ_ij`: how much the objective would fall
    /// if the item were dropped.
    pub contribution: f64,
    /// The slate member it is most correlated with, and that correlation.
    pub most_correlated: Option<(usize, f64)>,
}

/// Why an item is not in the slate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ExclusionReason {
    /// It was on the must-exclude list.
    MustExclude,
    /// Even the best swap for it would lower the objective by `loss` ≥ 0.
    SwapLoss {
        /// The member it would best replace.
        swap_out: usize,
        /// Objective lost by that swap.
        loss: f64,
    },
    /// A swap would raise the objective, but the item's sector is at its cap.
    SectorCap {
        /// The full sector.
        sector: String,
    },
    /// A swap would raise the objective, but it would break the minimum expected return.
    MinReturn,
    /// A swap would raise the objective, but only by dropping a required item.
    RequiredItems,
    /// A feasible swap would raise the objective by `gain` (the slate is not 1-swap optimal,
    /// e.g. pure MMR or a solve stopped at a limit).
    ImprovingSwap {
        /// The member it should replace.
        swap_out: usize,
        /// Objective gained by that swap.
        gain: f64,
    },
}

/// One excluded item and why it lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    /// Item index.
    pub index: usize,
    /// Its expected return μ_j.
    pub mu: f64,
    /// Objective change if it were added on top of the slate, `μ_j − λ Σ_{i∈S} ρ_ij`.
    pub gain_if_added: f64,
    /// The slate member it is most correlated with, and that correlation.
    pub most_correlated: Option<(usize, f64)>,
    /// Why it is out.
    pub reason: ExclusionReason,
}

/// Explanation of a slate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Every selected item, by contribution descending.
    pub selected: Vec<Contribution>,
    /// The `top_excluded` excluded items with the largest μ, by μ descending.
    pub excluded: Vec<Excluded>,
}

fn most_correlated(p: &SelectionProblem, j: usize, set: &[usize]) -> Option<(usize, f64)> {
    set.iter()
        .filter(|&&i| i != j)
        .map(|&i| (i, p.rho_at(i, j)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Explains `selection` (a slate of `p`): each member's marginal contribution and, for the
/// `top_excluded` non-members with the largest μ, why they lost (best 1-swap and the
/// constraint that blocks it, if any).
///
/// # Errors
/// [`SelectionError::IndexOutOfRange`] (field `set`) if the selection holds an index `≥ n`
/// (e.g. a slate of another problem); [`SelectionError::Core`] with
/// [`NotIncreasing`](prudentia_core::CoreError::NotIncreasing) if it repeats an index.
pub fn explain(
    p: &SelectionProblem,
    selection: &Selection,
    top_excluded: usize,
) -> Result<Explanation, SelectionError> {
    let set = &selection.selected;
    p.check_indices(set)?;
    let n = p.n;
    let lam = p.lambda;
    let tol = p.tol();
    let mut in_set = vec![false; n];
    for (pos, &i) in set.iter().enumerate() {
        if in_set[i] {
            return Err(prudentia_core::CoreError::NotIncreasing {
                field: "selection (repeated index)",
                index: pos,
            }
            .into());
        }
        in_set[i] = true;
    }
    let pen = |j: usize| -> f64 { set.iter().filter(|&&i| i != j).map(|&i| p.rho_at(i, j)).sum() };
    let mut selected: Vec<Contribution> = set
        .iter()
        .map(|&i| {
            let pe = lam * pen(i);
            Contribution {
                index: i,
                mu: p.mu[i],
                penalty: pe,
                contribution: p.mu[i] - pe,
                most_correlated: most_correlated(p, i, set),
            }
        })
        .collect();
    selected.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    let contrib: Vec<(usize, f64)> = set.iter().map(|&i| (i, p.mu[i] - lam * pen(i))).collect();
    let mu_sum: f64 = set.iter().map(|&i| p.mu[i]).sum();
    let mut sec_count = vec![0usize; p.sector_names.len()];
    for &i in set {
        if p.sector[i] != NO_SECTOR {
            sec_count[p.sector[i]] += 1;
        }
    }
    let mut out: Vec<usize> = (0..n).filter(|&j| !in_set[j]).collect();
    out.sort_by(|&a, &b| p.mu[b].total_cmp(&p.mu[a]).then(a.cmp(&b)));
    out.truncate(top_excluded);
    let excluded = out
        .into_iter()
        .map(|j| {
            let gj = p.mu[j] - lam * pen(j);
            let reason = if p.excluded[j] {
                ExclusionReason::MustExclude
            } else {
                // best swap overall, and best feasible swap
                let mut best_any: Option<(usize, f64)> = None;
                let mut best_feasible: Option<(usize, f64)> = None;
                let mut blocked_sector = false;
                let mut blocked_return = false;
                let mut blocked_required = false;
                for &(i, ci) in &contrib {
                    let delta = gj + lam * p.rho_at(i, j) - ci;
                    if best_any.is_none_or(|(_, b)| delta > b) {
                        best_any = Some((i, delta));
                    }
                    let sj = p.sector[j];
                    let cap_ok = sj == NO_SECTOR || sj == p.sector[i] || sec_count[sj] < p.sector_cap[sj];
                    let ret_ok = p.min_return.is_none_or(|r| mu_sum - p.mu[i] + p.mu[j] >= r - tol);
                    let req_ok = !p.included[i];
                    if cap_ok && ret_ok && req_ok {
                        if best_feasible.is_none_or(|(_, b)| delta > b) {
                            best_feasible = Some((i, delta));
                        }
                    } else if delta > tol {
                        blocked_sector |= !cap_ok;
                        blocked_return |= cap_ok && !ret_ok;
                        blocked_required |= cap_ok && ret_ok && !req_ok;
                    }
                }
                match (best_any, best_feasible) {
                    (_, Some((i, d))) if d > tol => ExclusionReason::ImprovingSwap { swap_out: i, gain: d },
                    (Some((i, d)), _) if d <= tol => ExclusionReason::SwapLoss {
                        swap_out: i,
                        loss: -d,
                    },
                    _ if blocked_sector => ExclusionReason::SectorCap {
                        sector: p.sector_of(j).unwrap_or_default().to_string(),
                    },
                    _ if blocked_return => ExclusionReason::MinReturn,
                    _ if blocked_required => ExclusionReason::RequiredItems,
                    (Some((i, d)), _) => ExclusionReason::SwapLoss {
                        swap_out: i,
                        loss: -d,
                    },
                    (None, _) => ExclusionReason::RequiredItems,
                }
            };
            Excluded {
                index: j,
                mu: p.mu[j],
                gain_if_added: gj,
                most_correlated: most_correlated(p, j, set),
                reason,
            }
        })
        .collect();
    Ok(Explanation { selected, excluded })
}
