//! The objective `½xᵀPx + qᵀx` of the assembled problem (before scaling).

use super::{tail_scale, Context, CvarForm};
use crate::problem::CovarianceModel;

impl Context<'_, '_> {
    /// `q`: −μ on the weights, the cost per unit traded on `u`, the convex cost's fᵢ(D) on
    /// `v`, the CVaR penalty on `ζ` and on the tail (`z`, or `θ` for cuts).
    pub(super) fn linear_objective(&self) -> Vec<f64> {
        let (r, lay) = (self.r, &self.lay);
        let mut q = vec![0.0; lay.nvar];
        if self.on.expected_return {
            for (qi, m) in q.iter_mut().zip(r.mu) {
                *qi = -m;
            }
        }
        if self.on.cost {
            if let Some(u) = lay.u {
                for i in 0..r.n {
                    q[u + i] = r.costs[i] + self.cfg.turnover_penalty;
                }
            }
        }
        if let Some(v) = lay.v {
            for (k, (_, m, _)) in self.convex.iter().enumerate() {
                q[v + k] = *m;
            }
        }
        let pen = self.on.cvar_penalty;
        if pen > 0.0 {
            match self.spec.cvar {
                CvarForm::Full | CvarForm::Subset(_) => {
                    let (z, k) = lay.z.unwrap_or((0, 0));
                    q[lay.zeta.unwrap_or(0)] = pen;
                    let c = pen * tail_scale(self.cfg.alpha, r.scenarios.map_or(1, |s| s.nrows()));
                    for qz in &mut q[z..z + k] {
                        *qz = c;
                    }
                }
                CvarForm::Cuts(_) => {
                    q[lay.zeta.unwrap_or(0)] = pen;
                    q[lay.theta.unwrap_or(0)] = pen;
                }
                CvarForm::None => {}
            }
        }
        q
    }

    /// `P` (upper triangle, column-wise, as column pointers, row indices and values):
    /// 2γΣ on the weights for a full covariance; 2γ·diag(d) on the weights and 2γF on `y`
    /// for a factor model; empty without a variance term.
    pub(super) fn quadratic_objective(&self) -> (Vec<usize>, Vec<usize>, Vec<f64>) {
        let (n, lay) = (self.r.n, &self.lay);
        let mut pcolptr = Vec::with_capacity(lay.nvar + 1);
        let mut prow = Vec::new();
        let mut pval = Vec::new();
        pcolptr.push(0);
        let two_g = 2.0 * self.on.gamma;
        for j in 0..lay.nvar {
            if self.on.variance && self.on.gamma > 0.0 {
                match self.r.cov {
                    Some(CovarianceModel::Full(sig)) if j < n => {
                        for i in 0..=j {
                            prow.push(i);
                            pval.push(two_g * sig[[i, j]]);
                        }
                    }
                    Some(CovarianceModel::Factor { specific, .. }) if j < n => {
                        prow.push(j);
                        pval.push(two_g * specific[j]);
                    }
                    Some(CovarianceModel::Factor {
                        factor_covariance, ..
                    }) => {
                        if let Some((y, k)) = lay.y {
                            if j >= y && j < y + k {
                                for i in 0..=(j - y) {
                                    prow.push(y + i);
                                    pval.push(two_g * factor_covariance[[i, j - y]]);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            pcolptr.push(prow.len());
        }
        (pcolptr, prow, pval)
    }
}
