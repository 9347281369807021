//! What a solve that does not end optimal returns: a diagnosed infeasibility, the best
//! iterate of a solve stopped by its limits, or the weights of the chosen
//! [`FallbackPolicy`] with a record of its use (never a silent substitute).

use prudentia_core::Status;

use super::conic::{is_infeasible, map_status, Raw};
use super::PortfolioOptimizer;
use crate::build::Resolved;
use crate::config::{FallbackPolicy, PortfolioConfig};
use crate::error::PortfolioError;
use crate::result::{FallbackRecord, LimitId, PortfolioResult, SolveInfo};
use crate::risk_measures::{risk_report, violations};

/// Whether `w` keeps every limit (to 1e-9).
fn keeps_all(cfg: &PortfolioConfig, r: &Resolved<'_>, w: &[f64]) -> bool {
    let rep = risk_report(cfg, r, w);
    violations(cfg, r, w, &rep, 1e-9).is_empty()
}

/// Whether `w` keeps every cap (to 1e-9): scaling down can only help caps; floors and
/// turnover are not its business.
fn keeps_caps(cfg: &PortfolioConfig, r: &Resolved<'_>, w: &[f64]) -> bool {
    let rep = risk_report(cfg, r, w);
    violations(cfg, r, w, &rep, 1e-9).iter().all(|v| {
        matches!(
            v,
            LimitId::NetMin | LimitId::SectorNetMin { .. } | LimitId::TurnoverMax | LimitId::WeightMin { .. }
        )
    })
}

/// [`FallbackPolicy::ScaleDownCurrent`]: the current weights times the largest scale in
/// [0, 1] (to 1e-3) that keeps every cap, or zero weights when no scale on the grid does.
fn scale_down_current(cfg: &PortfolioConfig, r: &Resolved<'_>) -> (Vec<f64>, FallbackRecord) {
    let scaled = |s: f64| r.current.iter().map(|x| x * s).collect::<Vec<f64>>();
    let check = |w: &[f64]| keeps_caps(cfg, r, w);
    // the feasible scales form an interval (all limits are convex in w): scan a coarse grid
    // from the top, then bisect between the first feasible point and the grid point above it.
    let found = (0..=100)
        .rev()
        .map(|k| k as f64 / 100.0)
        .find(|&s| check(&scaled(s)));
    let Some(s0) = found else {
        return (
            vec![0.0; r.n],
            FallbackRecord {
                policy: FallbackPolicy::ScaleDownCurrent,
                scale: 0.0,
                satisfies_limits: false,
            },
        );
    };
    let (mut lo, mut hi) = (s0, (s0 + 0.01).min(1.0));
    if hi > lo {
        while hi - lo > 1e-3 {
            let mid = 0.5 * (lo + hi);
            if check(&scaled(mid)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
    }
    (
        scaled(lo),
        FallbackRecord {
            policy: FallbackPolicy::ScaleDownCurrent,
            scale: lo,
            satisfies_limits: keeps_all(cfg, r, &scaled(lo)),
        },
    )
}

impl PortfolioOptimizer {
    /// A solve that ended neither solved nor in error: an infeasible problem is diagnosed;
    /// a solve stopped by its iteration or time limit returns its best iterate (when finite
    /// and no fallback policy took over); anything else is [`Self::failed`].
    pub(super) fn not_solved(&self, r: &Resolved<'_>, raw: &Raw, info: SolveInfo) -> PortfolioResult {
        if is_infeasible(raw.status) {
            let inf = self.diagnose(r);
            let mut res = self.failed(r, inf.status(), info);
            res.infeasibility = Some(inf);
            return res;
        }
        let w = &raw.x[..r.n];
        let status = map_status(raw.status, &info, &self.config);
        let stopped = matches!(status, Status::IterationLimit { .. } | Status::TimeLimit { .. });
        let mut res = self.failed(r, status.clone(), info);
        if stopped && res.fallback.is_none() && w.iter().all(|v| v.is_finite()) {
            // the best iterate is more useful than the current weights
            res = self.evaluate(r, w.to_vec(), status, info);
        }
        res
    }

    /// A solve that could not run (the solver refused the assembled problem): `Numerical`.
    pub(super) fn solver_error(&self, r: &Resolved<'_>, e: &PortfolioError) -> PortfolioResult {
        let status = Status::Numerical {
            message: e.to_string(),
        };
        self.failed(r, status, SolveInfo::default())
    }

    /// A non-optimal outcome: the current weights, or the fallback policy's weights.
    pub(super) fn failed(&self, r: &Resolved<'_>, status: Status, info: SolveInfo) -> PortfolioResult {
        let cfg = &self.config;
        let (w, record) = match cfg.fallback {
            FallbackPolicy::None => (r.current.to_vec(), None),
            FallbackPolicy::KeepCurrent => (
                r.current.to_vec(),
                Some(FallbackRecord {
                    policy: FallbackPolicy::KeepCurrent,
                    scale: 1.0,
                    satisfies_limits: keeps_all(cfg, r, r.current),
                }),
            ),
            FallbackPolicy::ScaleDownCurrent => {
                let (w, record) = scale_down_current(cfg, r);
                (w, Some(record))
            }
        };
        let mut res = self.evaluate(r, w, status, info);
        res.fallback = record;
        res
    }
}
