//! Pre-checks: contradictions visible from the limits alone, found before any solve and
//! reported with the conflicting limit groups (and the assets or sectors involved).

use std::collections::BTreeMap;

use crate::build::Resolved;
use crate::config::{Limits, PortfolioConfig};
use crate::result::LimitGroup;

/// Contradictions visible from the limits alone: conflicting groups, a note, and the members
/// (assets, sectors) of a group the conflict was traced to.
pub(super) fn precheck(
    cfg: &PortfolioConfig,
    r: &Resolved<'_>,
) -> Option<(Vec<LimitGroup>, String, Members)> {
    let l = &cfg.limits;
    let eps = 1e-12;
    let bad: Vec<usize> = (0..r.n).filter(|&i| r.lower[i] > r.upper[i] + eps).collect();
    if let Some(&i) = bad.first() {
        let names: Vec<String> = bad.iter().map(|&i| r.asset_name(i)).collect();
        return Some((
            vec![LimitGroup::WeightBounds],
            format!(
                "asset {}: lower bound {} above upper bound {}",
                r.asset_name(i),
                r.lower[i],
                r.upper[i]
            ),
            Members::from([(LimitGroup::WeightBounds, names)]),
        ));
    }
    precheck_groups(l, r, eps)
        .map(|(g, d)| (g, d, Members::new()))
        .or_else(|| precheck_sectors(l, r, eps))
}

pub(super) type Members = BTreeMap<LimitGroup, Vec<String>>;

/// Conflicts between whole limit groups.
fn precheck_groups(l: &Limits, r: &Resolved<'_>, eps: f64) -> Option<(Vec<LimitGroup>, String)> {
    use LimitGroup as G;
    if let (Some(lo), Some(hi)) = (l.net_min, l.net_max) {
        if lo > hi + eps {
            return Some((vec![G::Net], format!("net_min {lo} above net_max {hi}")));
        }
    }
    if let Some(g) = l.gross_max {
        if let Some(lo) = l.net_min.filter(|lo| *lo > g + eps) {
            return Some((
                vec![G::Net, G::Gross],
                format!("net_min {lo} above gross_max {g} (|net| ≤ gross)"),
            ));
        }
        if let Some(hi) = l.net_max.filter(|hi| *hi < -g - eps) {
            return Some((
                vec![G::Net, G::Gross],
                format!("net_max {hi} below -gross_max {g} (|net| ≤ gross)"),
            ));
        }
        let forced: f64 = (0..r.n)
            .map(|i| r.lower[i].max(0.0) + (-r.upper[i]).max(0.0))
            .sum();
        if forced > g + eps {
            return Some((
                vec![G::WeightBounds, G::Gross],
                format!("weight bounds force gross {forced} above gross_max {g}"),
            ));
        }
    }
    if let Some(lv) = l.leverage_max {
        if let Some(lo) = l.net_min.filter(|lo| *lo > lv + eps) {
            return Some((
                vec![G::Net, G::Leverage],
                format!("net_min {lo} above leverage_max {lv} (net ≤ long book)"),
            ));
        }
        if let Some(hi) = l.net_max.filter(|hi| *hi < -lv - eps) {
            return Some((
                vec![G::Net, G::Leverage],
                format!("net_max {hi} below -leverage_max {lv}"),
            ));
        }
    }
    let sum_lo: f64 = r.lower.iter().sum();
    let sum_hi: f64 = r.upper.iter().sum();
    if let Some(hi) = l.net_max.filter(|hi| sum_lo > *hi + eps) {
        return Some((
            vec![G::WeightBounds, G::Net],
            format!("weight lower bounds sum to {sum_lo}, above net_max {hi}"),
        ));
    }
    if let Some(lo) = l.net_min.filter(|lo| sum_hi < *lo - eps) {
        return Some((
            vec![G::WeightBounds, G::Net],
            format!("weight upper bounds sum to {sum_hi}, below net_min {lo}"),
        ));
    }
    precheck_sector_totals(l, r, eps)
}

/// Conflicts of the net band with the sectors' bounds summed, when every asset is in a
/// sector (the sector bounds then add up to bounds on the net).
fn precheck_sector_totals(l: &Limits, r: &Resolved<'_>, eps: f64) -> Option<(Vec<LimitGroup>, String)> {
    use LimitGroup as G;
    if r.sector_names.is_empty() || !r.sector_of.iter().all(Option::is_some) {
        return None;
    }
    let k = r.sector_names.len() as f64;
    let his: Option<Vec<f64>> = r.sector_names.iter().map(|s| l.sector_net_bounds(s).1).collect();
    let los: Option<Vec<f64>> = r.sector_names.iter().map(|s| l.sector_net_bounds(s).0).collect();
    if let (Some(lo), Some(his)) = (l.net_min, his) {
        let total: f64 = his.iter().sum();
        if lo > total + eps {
            return Some((
                vec![G::Net, G::SectorNet],
                format!("net_min {lo} above the {k} sectors' net maxima, summing to {total}"),
            ));
        }
    }
    if let (Some(hi), Some(los)) = (l.net_max, los) {
        let total: f64 = los.iter().sum();
        if hi < total - eps {
            return Some((
                vec![G::Net, G::SectorNet],
                format!("net_max {hi} below the {k} sectors' net minima, summing to {total}"),
            ));
        }
    }
    if let (Some(lo), Some(sg)) = (l.net_min, l.sector_gross_max) {
        if lo > k * sg + eps {
            return Some((
                vec![G::Net, G::SectorGross],
                format!("net_min {lo} above {k} sectors × sector_gross_max {sg}"),
            ));
        }
    }
    None
}

/// Conflicts of particular sectors' bounds, with the sectors (and assets) named.
fn precheck_sectors(l: &Limits, r: &Resolved<'_>, eps: f64) -> Option<(Vec<LimitGroup>, String, Members)> {
    use LimitGroup as G;
    if r.sector_names.is_empty() {
        return None;
    }
    let members = r.sector_members();
    let bounds: Vec<(Option<f64>, Option<f64>)> =
        r.sector_names.iter().map(|s| l.sector_net_bounds(s)).collect();
    let named = |pred: &dyn Fn(usize) -> bool| -> Vec<usize> {
        (0..r.sector_names.len()).filter(|&s| pred(s)).collect()
    };
    let sector_list =
        |idx: &[usize]| -> Vec<String> { idx.iter().map(|&s| r.sector_names[s].clone()).collect() };
    if let Some(sg) = l.sector_gross_max {
        let bad = named(&|s| {
            bounds[s].0.is_some_and(|lo| lo > sg + eps) || bounds[s].1.is_some_and(|hi| hi < -sg - eps)
        });
        if !bad.is_empty() {
            let names = sector_list(&bad);
            return Some((
                vec![G::SectorNet, G::SectorGross],
                format!(
                    "sector net bounds of {} outside ±sector_gross_max {sg}",
                    names.join(", ")
                ),
                Members::from([(G::SectorNet, names.clone()), (G::SectorGross, names)]),
            ));
        }
    }
    // A sector's net bounds against its members' weight bounds.
    let sum = |s: usize, v: &[f64]| -> f64 { members[s].iter().map(|&i| v[i]).sum() };
    let bad = named(&|s| {
        bounds[s].1.is_some_and(|hi| sum(s, &r.lower) > hi + eps)
            || bounds[s].0.is_some_and(|lo| sum(s, &r.upper) < lo - eps)
    });
    if !bad.is_empty() {
        let names = sector_list(&bad);
        let assets: Vec<String> = bad
            .iter()
            .flat_map(|&s| members[s].iter().map(|&i| r.asset_name(i)))
            .collect();
        let detail = bad
            .iter()
            .map(|&s| {
                let (lo, hi) = bounds[s];
                format!(
                    "sector {}: members' weights within [{}, {}], sector net bounds [{}, {}]",
                    r.sector_names[s],
                    sum(s, &r.lower),
                    sum(s, &r.upper),
                    lo.map_or("-inf".into(), |v| v.to_string()),
                    hi.map_or("inf".into(), |v| v.to_string()),
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Some((
            vec![G::WeightBounds, G::SectorNet],
            detail,
            Members::from([(G::WeightBounds, assets), (G::SectorNet, names)]),
        ));
    }
    None
}
