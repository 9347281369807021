//! prudentia-selection under bad input: problem construction, every solver, explain, the
//! selector role, and checkpoint mutation of the problem, its configs and a selection.

use std::collections::BTreeMap;

use ndarray::Array2;
use proptest::prelude::*;
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::Selector;
use prudentia_core::{AssetInfo, Forecast, Horizon, Opportunity};
use prudentia_selection::*;

fn corr(n: usize, rho: f64) -> Array2<f64> {
    Array2::from_shape_fn((n, n), |(i, j)| if i == j { 1.0 } else { rho })
}

fn base_problem() -> SelectionProblem {
    let mu = [0.10, 0.09, 0.08, 0.05, 0.04, 0.02];
    let c = Constraints {
        sectors: vec![
            Some("a".into()),
            Some("a".into()),
            Some("b".into()),
            None,
            Some("b".into()),
            None,
        ],
        max_per_sector: Some(1),
        must_include: vec![3],
        must_exclude: vec![5],
        min_expected_return: Some(0.1),
        ..Default::default()
    };
    let cfg = ProblemConfig {
        k: 3,
        lambda: 0.05,
        ..Default::default()
    };
    SelectionProblem::new(&mu, corr(6, 0.3).view(), &cfg, &c).unwrap_or_else(|e| panic!("fixture: {e}"))
}

/// Runs every solver on `p` and checks each result: finite, feasible when a slate is given,
/// gap ≥ 0, explain works on it.
fn solve_all(p: &SelectionProblem) -> Check {
    let mut out = Check::Ok;
    let sols = [
        ExactSolver::new(ExactConfig {
            node_limit: 20_000,
            ..Default::default()
        })
        .map(|s| s.solve(p)),
        GreedySwap::new(GreedySwapConfig {
            compute_bound: true,
            ..Default::default()
        })
        .map(|s| s.solve(p)),
        Mmr::new(MmrConfig {
            max_swap_passes: 3,
            compute_bound: true,
        })
        .map(|s| s.solve(p)),
        Dpp::new(DppConfig::default()).map(|s| s.solve(p)),
        Ok(top_k_by_return(p)),
    ];
    for s in sols {
        let s = match s {
            Ok(s) => s,
            Err(_) => return Check::Broken("a default solver config was refused".into()),
        };
        out = out.and(|| {
            result_with(Ok::<_, String>(s.clone()), |s| {
                if !s.selected.is_empty() && !p.is_feasible(&s.selected) {
                    return Err(format!(
                        "{:?} returned an infeasible slate {:?}",
                        s.method, s.selected
                    ));
                }
                if s.gap.is_some_and(|g| g < 0.0) {
                    return Err("negative gap".into());
                }
                Ok(())
            })
        });
        out = out.and(|| result(explain(p, &s, 3)));
    }
    out.and(|| Check::ok_finite(&root_upper_bound(p)))
}

#[test]
fn selection_entry_points() {
    let mut s = Suite::new("selection");

    // Problem construction: hostile μ, λ, k and correlation.
    s.sweep(
        "SelectionProblem::new",
        (vec_f64(0..7), any_f64(), 0usize..8, matrix(0..7, 0..7)),
        |(mu, lambda, k, m)| {
            let n = m.nrows().min(m.ncols());
            let sym = Array2::from_shape_fn((n, n), |(i, j)| {
                if i == j {
                    1.0
                } else {
                    m[[i.min(j), i.max(j)]].clamp(-1.0, 1.0)
                }
            });
            let cfg = ProblemConfig {
                k,
                lambda,
                ..Default::default()
            };
            match SelectionProblem::new(&mu, sym.view(), &cfg, &Constraints::default()) {
                Err(_) => Check::Rejected,
                Ok(p) => solve_all(&p),
            }
        },
    );
    s.sweep(
        "SelectionProblem::new raw correlation",
        (matrix(1..6, 1..6), any::<bool>()),
        |(m, reject)| {
            let n = m.nrows();
            let mu: Vec<f64> = (0..n).map(|i| 0.1 - 0.01 * i as f64).collect();
            let policy = if reject {
                CorrelationPolicy::Reject
            } else {
                CorrelationPolicy::default()
            };
            let cfg = ProblemConfig {
                k: 1.max(n / 2),
                lambda: 0.1,
                return_scale: ReturnScale::default(),
                correlation: CorrelationConfig {
                    policy,
                    ..Default::default()
                },
            };
            match SelectionProblem::new(&mu, m.view(), &cfg, &Constraints::default()) {
                Err(_) => Check::Rejected,
                Ok(p) => Check::ok_finite(p.correlation_report()).and(|| solve_all(&p)),
            }
        },
    );
    s.sweep(
        "constraints",
        (
            proptest::collection::vec(any_size(), 0..3),
            proptest::collection::vec(any_size(), 0..3),
            proptest::option::of(any_size()),
            proptest::option::of(any_f64()),
            1usize..5,
        ),
        |(inc, exc, cap, min_ret, k)| {
            let c = Constraints {
                sectors: vec![Some("a".into()), Some("a".into()), Some("b".into()), None, None],
                max_per_sector: cap,
                must_include: inc,
                must_exclude: exc,
                min_expected_return: min_ret,
                sector_caps: BTreeMap::new(),
            };
            let cfg = ProblemConfig {
                k,
                lambda: 0.2,
                ..Default::default()
            };
            match SelectionProblem::new(&[0.3, 0.2, 0.1, 0.05, 0.01], corr(5, 0.2).view(), &cfg, &c) {
                Err(_) => Check::Rejected,
                Ok(p) => solve_all(&p),
            }
        },
    );

    // Accessors and bad indices.
    let p = base_problem();
    for set in [vec![], vec![0], vec![0, 99], vec![usize::MAX], vec![1, 1]] {
        let (p1, p2, p3) = (p.clone(), p.clone(), p.clone());
        let (s1, s2, s3) = (set.clone(), set.clone(), set.clone());
        s.check(format!("objective {set:?}"), move || result(p1.objective(&s1)));
        s.check(format!("average_correlation {set:?}"), move || {
            result(p2.average_correlation(&s2))
        });
        s.check(format!("explain {set:?}"), move || {
            let mut sel = top_k_by_return(&p3);
            sel.selected = s3;
            result(explain(&p3, &sel, usize::MAX))
        });
    }
    for (i, j) in [(0, 0), (5, 5), (6, 0), (usize::MAX, usize::MAX)] {
        let p = p.clone();
        s.check(format!("rho({i}, {j}) / sector_of"), move || {
            Check::ok_finite(&(p.rho(i, j), p.sector_of(i).map(str::len), p.is_feasible(&[i, j])))
        });
    }
    s.sweep("with_lambda", any_f64(), {
        let p = p.clone();
        move |l| match p.with_lambda(l) {
            Err(_) => Check::Rejected,
            Ok(q) => solve_all(&q),
        }
    });
    s.sweep("relative_gap", (any_f64(), any_f64()), |(u, o)| {
        let g = relative_gap(u, o);
        Check::invariant(g >= 0.0 && !g.is_nan() && g.is_finite(), format!("gap {g}"))
    });

    // Solver configs.
    s.sweep(
        "ExactConfig",
        (any::<u64>(), proptest::option::of(any_f64()), any::<bool>()),
        |(node_limit, time_limit_secs, warm_start)| {
            let cfg = ExactConfig {
                node_limit: node_limit % 100_000,
                time_limit_secs: time_limit_secs.map(|t| t.min(5.0)),
                warm_start,
            };
            match ExactSolver::new(cfg) {
                Err(_) => Check::Rejected,
                Ok(e) => result(Ok::<_, String>(e.solve(&base_problem()))),
            }
        },
    );
    s.sweep("Dpp alpha", any_f64(), |a| {
        match Dpp::new(DppConfig {
            alpha: Some(a),
            ..Default::default()
        }) {
            Err(_) => Check::Rejected,
            Ok(d) => result(Ok::<_, String>(d.solve(&base_problem()))),
        }
    });

    // The selector role and its helpers.
    s.sweep(
        "DiversityAwareSelector",
        (
            proptest::collection::vec((any_f64(), any_f64(), price()), 0..6),
            0usize..5,
            any_f64(),
        ),
        |(rows, k, h)| {
            let opps: Vec<Opportunity> = rows
                .iter()
                .enumerate()
                .filter_map(|(i, &(m, sd, p))| {
                    Some(Opportunity {
                        asset: AssetInfo::new(format!("A{i}"), p).ok()?,
                        forecast: Forecast::new(m, sd, Horizon::DAY).ok()?,
                    })
                })
                .collect();
            let cfg = SelectorConfig {
                problem: ProblemConfig {
                    k,
                    ..Default::default()
                },
                score: ReturnScore::RiskAdjusted,
                horizon: Horizon::trading_days(h).ok(),
                ..Default::default()
            };
            let sel = match DiversityAwareSelector::new(cfg) {
                Ok(s) => s,
                Err(_) => return Check::Rejected,
            };
            let n = opps.len();
            result(sel.select(&opps, corr(n, 0.4).view()))
        },
    );
    s.sweep(
        "rolling_correlation",
        (matrix(0..30, 1..5), any_size()),
        |(m, w)| result(rolling_correlation(m.view(), w)),
    );
    // A correlation proven PSD by its producer (the rolling correlation's certificate) skips
    // only the O(n³) check: the problem and the slate equal those of the plain matrix.
    s.sweep(
        "select_psd / SelectionProblem::new_psd (rolling correlation)",
        (matrix(0..30, 1..7), 1usize..4, any_f64()),
        |(m, k, lambda)| {
            let (t, n) = m.dim();
            let Ok(mut rc) = prudentia_core::estimators::RollingCorrelation::new(n, t.max(2)) else {
                return Check::Rejected;
            };
            for row in m.rows() {
                if rc.update(&row.to_vec()).is_err() {
                    return Check::Rejected;
                }
            }
            let columns: Vec<usize> = (0..n).chain(0..1).collect();
            let proven = match rc.correlation_of_psd(&columns) {
                Ok(c) => c,
                Err(_) => return Check::Rejected,
            };
            let plain = proven.view().to_owned();
            let opps: Vec<Opportunity> = columns
                .iter()
                .map(|&i| Opportunity {
                    asset: AssetInfo::new(format!("A{i}"), 10.0).unwrap_or_else(|e| panic!("{e}")),
                    forecast: Forecast::new(0.01 * (i as f64 - 2.0), 0.02, Horizon::DAY)
                        .unwrap_or_else(|e| panic!("{e}")),
                })
                .collect();
            let cfg = SelectorConfig {
                problem: ProblemConfig {
                    k: k.min(columns.len()),
                    lambda: if lambda.is_finite() {
                        lambda.abs().min(10.0)
                    } else {
                        1.0
                    },
                    ..Default::default()
                },
                ..Default::default()
            };
            let Ok(sel) = DiversityAwareSelector::new(cfg) else {
                return Check::Rejected;
            };
            let a = sel.select_psd(&opps, &proven);
            let b = sel.select(&opps, plain.view());
            let pa = sel.problem_psd(&opps, &proven).map_err(|e| e.to_string());
            let pb = sel.problem(&opps, plain.view()).map_err(|e| e.to_string());
            match (&a, &b) {
                (Ok(x), Ok(y)) if x == y && pa == pb => result(a),
                (Err(x), Err(y)) if x.to_string() == y.to_string() => Check::Rejected,
                _ => Check::Broken(format!("select_psd {a:?} vs select {b:?}")),
            }
        },
    );
    // The greedy path at pipeline-like sizes (n > 60): the certified matrix (its symmetry is
    // not compared again in release builds) gives the problem and slate of the plain matrix,
    // with sector caps and some negative correlations (the vectorized eager greedy).
    s.sweep(
        "select_psd n in 61..160 (greedy + swap)",
        (
            any::<u64>(),
            61usize..160,
            1usize..30,
            prop_oneof![Just(0.0), 1e-4..1.0f64],
        ),
        |(seed, n, k, lambda)| {
            let mut state = seed | 1;
            let mut unif = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            };
            let t = 40;
            let Ok(mut rc) = prudentia_core::estimators::RollingCorrelation::new(n, t) else {
                return Check::Broken("rolling correlation refused a valid size".into());
            };
            for _ in 0..t {
                let market = unif();
                let row: Vec<f64> = (0..n)
                    .map(|i| 0.01 * (market * (i % 3) as f64 + unif()))
                    .collect();
                if rc.update(&row).is_err() {
                    return Check::Broken("rolling correlation refused finite returns".into());
                }
            }
            let columns: Vec<usize> = (0..n).collect();
            let Ok(proven) = rc.correlation_of_psd(&columns) else {
                return Check::Rejected;
            };
            let plain = proven.view().to_owned();
            let opps: Vec<Opportunity> = columns
                .iter()
                .map(|&i| Opportunity {
                    asset: AssetInfo {
                        sector: Some(format!("s{}", i % 7)),
                        ..AssetInfo::new(format!("A{i}"), 10.0).unwrap_or_else(|e| panic!("{e}"))
                    },
                    forecast: Forecast::new(0.001 * unif(), 0.02, Horizon::DAY)
                        .unwrap_or_else(|e| panic!("{e}")),
                })
                .collect();
            let Ok(sel) = DiversityAwareSelector::new(SelectorConfig {
                problem: ProblemConfig {
                    k,
                    lambda,
                    return_scale: ReturnScale::Raw,
                    ..Default::default()
                },
                max_per_sector: Some(k / 5 + 1),
                ..Default::default()
            }) else {
                return Check::Broken("a valid selector config was refused".into());
            };
            let a = sel.select_psd(&opps, &proven);
            let b = sel.select(&opps, plain.view());
            let pa = sel.problem_psd(&opps, &proven).map_err(|e| e.to_string());
            let pb = sel.problem(&opps, plain.view()).map_err(|e| e.to_string());
            match (&a, &b) {
                (Ok(x), Ok(y)) if x == y && pa == pb => result(a),
                (Err(x), Err(y)) if x.to_string() == y.to_string() => Check::Rejected,
                _ => Check::Broken(format!("select_psd {a:?} vs select {b:?}")),
            }
        },
    );
    s.sweep("shrunk_correlation", matrix(0..20, 1..5), |m| {
        result(shrunk_correlation(m.view()))
    });
    s.sweep(
        "expected_returns",
        (any_f64(), any_f64(), any_f64()),
        |(m, sd, h)| {
            let o = match (AssetInfo::new("A", 10.0), Forecast::new(m, sd, Horizon::DAY)) {
                (Ok(asset), Ok(forecast)) => Opportunity { asset, forecast },
                _ => return Check::Rejected,
            };
            match Horizon::trading_days(h) {
                Err(_) => Check::Rejected,
                Ok(h) => result(expected_returns(&[o], ReturnScore::RiskAdjusted, Some(h))),
            }
        },
    );

    // Checkpoints: load, then solve and explain with the loaded value.
    s.checkpoint(
        "SelectionProblem",
        &base_problem(),
        |json| match serde_json::from_str::<SelectionProblem>(&json) {
            Err(_) => Check::Rejected,
            Ok(p) => solve_all(&p),
        },
    );
    let sel = ExactSolver::new(ExactConfig::default())
        .map(|e| e.solve(&base_problem()))
        .unwrap_or_else(|_| top_k_by_return(&base_problem()));
    s.checkpoint("Selection", &sel, |json| {
        match serde_json::from_str::<Selection>(&json) {
            Err(_) => Check::Rejected,
            Ok(s) => result(explain(&base_problem(), &s, 5)),
        }
    });
    let cfg = SelectorConfig {
        max_per_sector: Some(4),
        min_expected_return: Some(0.01),
        must_exclude: vec!["A9".into()],
        ..Default::default()
    };
    s.checkpoint("SelectorConfig", &cfg, |json| {
        match serde_json::from_str::<SelectorConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match DiversityAwareSelector::new(c) {
                Err(_) => Check::Rejected,
                Ok(sel) => {
                    let opps: Vec<Opportunity> = (0..12)
                        .filter_map(|i| {
                            let mut asset = AssetInfo::new(format!("A{i}"), 10.0).ok()?;
                            asset.sector = Some(format!("s{}", i % 3));
                            Some(Opportunity {
                                asset,
                                forecast: Forecast::new(0.01 * i as f64, 0.1, Horizon::DAY).ok()?,
                            })
                        })
                        .collect();
                    result(sel.select_detailed(&opps, corr(12, 0.2).view()).map(|x| x.0))
                }
            },
        }
    });
    s.checkpoint(
        "ExactSolver",
        &ExactSolver::new(ExactConfig::default()).ok(),
        |json| match serde_json::from_str::<Option<ExactSolver>>(&json) {
            Err(_) | Ok(None) => Check::Rejected,
            Ok(Some(e)) => {
                let c = *e.config();
                let e = ExactSolver::new(ExactConfig {
                    node_limit: c.node_limit.min(50_000),
                    ..c
                });
                match e {
                    Err(_) => Check::Rejected,
                    Ok(e) => result(Ok::<_, String>(e.solve(&base_problem()))),
                }
            }
        },
    );
    s.checkpoint(
        "Dpp",
        &Dpp::new(DppConfig::default()).ok(),
        |json| match serde_json::from_str::<Option<Dpp>>(&json) {
            Err(_) | Ok(None) => Check::Rejected,
            Ok(Some(d)) => result(Ok::<_, String>(d.solve(&base_problem()))),
        },
    );

    s.finish();
}

/// Issue #19: the scale-free λ. Every μ the problem accepts (finite, |μ| ≤ 1e100, subnormal,
/// all equal, all zero) gives a finite positive penalty scale and solvable problems under
/// both scales; a λ that the scale pushes beyond 1e100 is a typed error.
#[test]
fn selection_return_scale() {
    let mut s = Suite::new("selection: return scale");
    let table: Vec<(&str, Vec<f64>)> = vec![
        ("all zero", vec![0.0; 6]),
        ("all equal", vec![0.03; 6]),
        ("subnormal", vec![5e-324, 0.0, -5e-324, 1e-320, 0.0, 2e-323]),
        ("1e100", vec![1e100, -1e100, 5e99, 0.0, 1e99, -3e99]),
        ("mixed scales", vec![1e100, 5e-324, -1e-300, 0.0, 1.0, -1.0]),
        ("one huge", vec![1e100, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ];
    for (label, mu) in table {
        for scale in [ReturnScale::Standardized, ReturnScale::Raw] {
            for lambda in [0.0, 1.0, 1e100] {
                let mu = mu.clone();
                s.check(format!("{label} {scale:?} λ {lambda:e}"), move || {
                    let cfg = ProblemConfig {
                        k: 3,
                        lambda,
                        return_scale: scale,
                        ..Default::default()
                    };
                    match SelectionProblem::new(&mu, corr(6, 0.3).view(), &cfg, &Constraints::default()) {
                        Err(_) => Check::Rejected,
                        Ok(p) => Check::invariant(
                            p.penalty_scale().is_finite()
                                && p.penalty_scale() > 0.0
                                && p.lambda().is_finite(),
                            "finite positive penalty scale and λ",
                        )
                        .and(|| result(p.with_lambda(lambda)))
                        .and(|| solve_all(&p)),
                    }
                });
            }
        }
    }
    s.sweep("standardized μ", vec_f64(1..12), |mu| {
        let n = mu.len();
        let cfg = ProblemConfig {
            k: (n / 2).max(1),
            ..Default::default()
        };
        match SelectionProblem::new(&mu, corr(n, 0.2).view(), &cfg, &Constraints::default()) {
            Err(_) => Check::Rejected,
            Ok(p) => solve_all(&p),
        }
    });
    s.finish();
}
