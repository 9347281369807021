//! Risk figures and limit checks evaluated directly at given weights.

use ndarray::ArrayView2;

use crate::build::Resolved;
use crate::config::PortfolioConfig;
use crate::result::{LimitId, RiskReport};

/// Portfolio losses ℓₛ = −rₛᵀw over the scenarios, written into `out`.
pub(crate) fn losses_into(scenarios: ArrayView2<'_, f64>, w: &[f64], out: &mut Vec<f64>) {
    out.clear();
    out.extend(
        scenarios
            .rows()
            .into_iter()
            .map(|r| -r.iter().zip(w).map(|(a, b)| a * b).sum::<f64>()),
    );
}

/// Empirical VaR and CVaR at level α of equally likely losses (Rockafellar & Uryasev 2000),
/// by core's one routine [`prudentia_core::tail::var_cvar`]; NaN for no losses or α outside
/// `[0, 1)`.
pub fn var_cvar(losses: &[f64], alpha: f64) -> (f64, f64) {
    prudentia_core::tail::var_cvar(losses, alpha).unwrap_or((f64::NAN, f64::NAN))
}

/// Exposures, turnover and risk at `w`.
pub(crate) fn risk_report(cfg: &PortfolioConfig, r: &Resolved<'_>, w: &[f64]) -> RiskReport {
    let gross = w.iter().map(|x| x.abs()).sum();
    let net = w.iter().sum();
    let long = w.iter().map(|x| x.max(0.0)).sum();
    let short = w.iter().map(|x| (-x).max(0.0)).sum();
    let turnover = w.iter().zip(r.current).map(|(a, b)| (a - b).abs()).sum();
    let mut rep = RiskReport {
        gross,
        net,
        long,
        short,
        turnover,
        ..Default::default()
    };
    let mut ls = Vec::new();
    if let Some(s) = r.scenarios {
        losses_into(s, w, &mut ls);
        let (var, cvar) = var_cvar(&ls, cfg.alpha);
        rep.var = Some(var);
        rep.cvar = Some(cvar);
    }
    if let Some(c) = r.cov {
        // shapes were validated; a non-finite value fails the result check of the solve
        rep.variance = Some(c.variance_unchecked(w));
    } else if ls.len() > 1 {
        let m = ls.iter().sum::<f64>() / ls.len() as f64;
        rep.variance = Some(ls.iter().map(|l| (l - m) * (l - m)).sum::<f64>() / (ls.len() - 1) as f64);
    }
    rep
}

/// The limits violated at `w` by more than `tol · max(1, |bound|)`.
pub(crate) fn violations(
    cfg: &PortfolioConfig,
    r: &Resolved<'_>,
    w: &[f64],
    rep: &RiskReport,
    tol: f64,
) -> Vec<LimitId> {
    let l = &cfg.limits;
    let over = |v: f64, bound: f64| v > bound + tol * bound.abs().max(1.0);
    let mut out = Vec::new();
    for (i, &wi) in w.iter().enumerate().take(r.n) {
        if over(wi, r.upper[i]) {
            out.push(LimitId::WeightMax { asset: i });
        }
        if over(-wi, -r.lower[i]) {
            out.push(LimitId::WeightMin { asset: i });
        }
    }
    if l.gross_max.is_some_and(|g| over(rep.gross, g)) {
        out.push(LimitId::GrossMax);
    }
    if l.net_min.is_some_and(|g| over(-rep.net, -g)) {
        out.push(LimitId::NetMin);
    }
    if l.net_max.is_some_and(|g| over(rep.net, g)) {
        out.push(LimitId::NetMax);
    }
    if let Some(lv) = l.leverage_max {
        if over(rep.long, lv) {
            out.push(LimitId::LeverageLong);
        }
        if over(rep.short, lv) {
            out.push(LimitId::LeverageShort);
        }
    }
    for (s, m) in r.sector_members().iter().enumerate() {
        let sector = &r.sector_names[s];
        let net: f64 = m.iter().map(|&i| w[i]).sum();
        let gross: f64 = m.iter().map(|&i| w[i].abs()).sum();
        let (sector_lo, sector_hi) = l.sector_net_bounds(sector);
        if sector_hi.is_some_and(|g| over(net, g)) {
            out.push(LimitId::SectorNetMax {
                sector: sector.clone(),
            });
        }
        if sector_lo.is_some_and(|g| over(-net, -g)) {
            out.push(LimitId::SectorNetMin {
                sector: sector.clone(),
            });
        }
        if l.sector_gross_max.is_some_and(|g| over(gross, g)) {
            out.push(LimitId::SectorGrossMax {
                sector: sector.clone(),
            });
        }
    }
    if l.turnover_max.is_some_and(|g| over(rep.turnover, g)) {
        out.push(LimitId::TurnoverMax);
    }
    if let (Some(c), Some(cv)) = (l.cvar_max, rep.cvar) {
        if over(cv, c) {
            out.push(LimitId::CvarMax);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_cvar_by_hand() {
        // losses 1..=10, alpha 0.8: VaR = 8th smallest = 8, CVaR = mean of {9, 10} tail beyond
        // VaR weighted: 8 + ((9-8)+(10-8))/(0.2*10) = 8 + 3/2 = 9.5 = mean of top 2.
        let l: Vec<f64> = (1..=10).map(f64::from).collect();
        let (v, c) = var_cvar(&l, 0.8);
        assert_eq!(v, 8.0);
        assert!((c - 9.5).abs() < 1e-12);
        // alpha 0.95 with T = 500: k = 475, CVaR = mean of the 25 largest.
        let l: Vec<f64> = (0..500).map(|i| ((i * 37) % 500) as f64).collect();
        let (v, c) = var_cvar(&l, 0.95);
        assert_eq!(v, 474.0);
        let top: f64 = (475..500).map(f64::from).sum::<f64>() / 25.0;
        assert!((c - top).abs() < 1e-9, "{c} vs {top}");
    }
}
