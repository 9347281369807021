//! Behaviour: limits give a status and a proven gap, explanations, the Selector role,
//! constraints in the heuristics, serde and thread-safety.

use crate::common;

use common::{brute_force, milp_fixture, random_instance, sector_instance};
use ndarray::Array2;
use prudentia_core::traits::{RoleError, Selector};
use prudentia_core::Status;
use prudentia_core::{AssetId, AssetInfo, CoreError, Forecast, Horizon, Opportunity};
use prudentia_selection::{
    explain, relative_gap, rolling_correlation, shrunk_correlation, top_k_by_return, Constraints,
    CorrelationPolicy, DiversityAwareSelector, Dpp, DppConfig, ExactConfig, ExactSolver, ExclusionReason,
    GreedySwap, GreedySwapConfig, Method, Mmr, MmrConfig, ProblemConfig, ReturnScore, Selection,
    SelectionError, SelectionMethod, SelectionProblem, SelectorConfig,
};

fn fixture_problem(lambda: f64) -> (SelectionProblem, f64) {
    let (v, mu, rho) = milp_fixture();
    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lambda"].as_f64().unwrap() == lambda)
        .unwrap();
    let cfg = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k: 10,
        lambda,
        ..Default::default()
    };
    (
        SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap(),
        case["objective"].as_f64().unwrap(),
    )
}

#[test]
fn node_limit_returns_best_slate_with_proven_gap() {
    let (p, optimum) = fixture_problem(2.0);
    for limit in [1u64, 10, 100, 1000] {
        let s = ExactSolver::new(ExactConfig {
            node_limit: limit,
            ..Default::default()
        })
        .unwrap()
        .solve(&p);
        assert!(matches!(s.status, Status::IterationLimit { .. }), "limit {limit}");
        assert!(s.nodes <= limit);
        assert!(p.is_feasible(&s.selected));
        let ub = s.upper_bound.unwrap();
        // the bound is valid and the gap brackets the true optimum (HiGHS fixture)
        assert!(
            ub >= optimum - 1e-9,
            "limit {limit}: bound {ub} < optimum {optimum}"
        );
        assert!(s.objective <= optimum + 1e-9);
        assert!((s.gap.unwrap() - relative_gap(ub, s.objective)).abs() < 1e-12);
    }
    // no warm start: still a feasible slate (or none) and a valid bound
    let s = ExactSolver::new(ExactConfig {
        node_limit: 50,
        warm_start: false,
        ..Default::default()
    })
    .unwrap()
    .solve(&p);
    assert!(s.upper_bound.unwrap() >= optimum - 1e-9);
}

#[test]
fn time_limit_is_a_status() {
    let (p, optimum) = fixture_problem(2.0);
    let s = ExactSolver::new(ExactConfig {
        time_limit_secs: Some(1e-9),
        ..Default::default()
    })
    .unwrap()
    .solve(&p);
    assert!(matches!(s.status, Status::TimeLimit { .. } | Status::Converged));
    assert!(s.upper_bound.unwrap() >= optimum - 1e-9);
}

#[test]
fn explanation_of_the_optimum() {
    let (p, _) = fixture_problem(0.5);
    let s = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
    let e = explain(&p, &s, 8).unwrap();
    assert_eq!(e.selected.len(), 10);
    // contribution = μ − λ Σ_{j∈S∖i} ρ_ij, and Σ penalties counts each pair twice
    let pen: f64 = e.selected.iter().map(|c| c.penalty).sum();
    assert!((pen - 2.0 * s.penalty).abs() < 1e-9);
    for c in &e.selected {
        assert!((c.contribution - (c.mu - c.penalty)).abs() < 1e-12);
        // dropping it loses exactly its contribution
        let rest: Vec<usize> = s.selected.iter().copied().filter(|&i| i != c.index).collect();
        assert!((s.objective - p.objective(&rest).unwrap() - c.contribution).abs() < 1e-9);
    }
    // at a proven optimum no excluded item has an improving swap
    assert_eq!(e.excluded.len(), 8);
    for x in &e.excluded {
        match &x.reason {
            ExclusionReason::SwapLoss { swap_out, loss } => {
                assert!(*loss >= -1e-9);
                assert!(s.selected.contains(swap_out));
                let mut swapped: Vec<usize> = s
                    .selected
                    .iter()
                    .map(|&i| if i == *swap_out { x.index } else { i })
                    .collect();
                swapped.sort_unstable();
                assert!((s.objective - p.objective(&swapped).unwrap() - loss).abs() < 1e-9);
            }
            r => panic!("unexpected reason {r:?}"),
        }
    }
}

#[test]
fn explanation_names_blocking_constraints() {
    // 0 and 1 in sector "a" (cap 1); 3 excluded; 2 required
    let mu = [0.9, 0.8, 0.1, 0.95, 0.2];
    let rho = Array2::eye(5);
    let c = Constraints {
        sectors: vec![Some("a".into()), Some("a".into()), None, None, None],
        max_per_sector: Some(1),
        must_include: vec![2],
        must_exclude: vec![3],
        ..Default::default()
    };
    let cfg = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k: 2,
        lambda: 0.1,
        ..Default::default()
    };
    let p = SelectionProblem::new(&mu, rho.view(), &cfg, &c).unwrap();
    let s = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
    assert_eq!(s.selected, vec![0, 2]);
    let e = explain(&p, &s, 3).unwrap();
    let reason = |i: usize| e.excluded.iter().find(|x| x.index == i).unwrap().reason.clone();
    assert_eq!(reason(3), ExclusionReason::MustExclude);
    // 1 would gain 0.7 by replacing 2, but sector "a" is full (and 2 is required);
    // replacing 0, its sector peer, loses 0.1
    assert_eq!(reason(1), ExclusionReason::SectorCap { sector: "a".into() });
    assert!(matches!(reason(4), ExclusionReason::RequiredItems));
    // pure MMR is not swap-optimal in general: an improving swap is reported as such
    let (mu, rho) = random_instance(7, 30, 2, 0.0, 1.0);
    let cfg = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k: 8,
        lambda: 0.5,
        ..Default::default()
    };
    let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
    let m = Mmr::new(MmrConfig::default()).unwrap().solve(&p);
    let e = explain(&p, &m, 30).unwrap();
    let gs = GreedySwap::new(GreedySwapConfig::default()).unwrap().solve(&p);
    let e2 = explain(&p, &gs, 30).unwrap();
    assert!(e2
        .excluded
        .iter()
        .all(|x| !matches!(x.reason, ExclusionReason::ImprovingSwap { .. })));
    for x in &e.excluded {
        if let ExclusionReason::ImprovingSwap { swap_out, gain } = x.reason {
            let swapped: Vec<usize> = m
                .selected
                .iter()
                .map(|&i| if i == swap_out { x.index } else { i })
                .collect();
            assert!((p.objective(&swapped).unwrap() - m.objective - gain).abs() < 1e-9);
            assert!(gain > 0.0);
        }
    }
}

#[test]
fn sector_caps_in_every_solver() {
    let (mu, rho) = random_instance(11, 14, 2, 0.0, 1.0);
    let c = Constraints {
        sectors: (0..14).map(|i| Some(format!("s{}", i % 3))).collect(),
        max_per_sector: Some(2),
        min_expected_return: Some(2.0),
        ..Default::default()
    };
    let cfg = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k: 5,
        lambda: 0.3,
        ..Default::default()
    };
    let p = SelectionProblem::new(&mu, rho.view(), &cfg, &c).unwrap();
    let (_, opt) = brute_force(&p, &c).unwrap();
    let ex = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
    assert!((ex.objective - opt).abs() < 1e-9);
    for s in [
        GreedySwap::new(GreedySwapConfig::default()).unwrap().solve(&p),
        Mmr::new(MmrConfig::default()).unwrap().solve(&p),
        Dpp::new(DppConfig::default()).unwrap().solve(&p),
        top_k_by_return(&p),
    ] {
        assert_eq!(s.status, Status::Heuristic);
        assert!(p.is_feasible(&s.selected), "{:?}", s.method);
        assert!(s.expected_return >= 2.0 - 1e-12);
    }
}

#[test]
fn lazy_and_eager_greedy_agree() {
    // ρ = 0.2·11ᵀ + 0.5·(same of 6 sectors) + 0.3·I: PSD, unit diagonal, all entries ≥ 0, so
    // the lazy path runs; a vacuous minimum return forces the eager path.
    let n = 60;
    let (mu, _) = random_instance(3, n, 1, 0.0, 1.0);
    let rho = Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            1.0
        } else {
            0.2 + if i % 6 == j % 6 { 0.5 } else { 0.0 }
        }
    });
    let cfg = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k: 12,
        lambda: 0.2,
        correlation: prudentia_selection::CorrelationConfig {
            policy: CorrelationPolicy::Reject,
            ..Default::default()
        },
    };
    let lazy_p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
    let vacuous = Constraints {
        min_expected_return: Some(-1e9),
        ..Default::default()
    };
    let eager_p = SelectionProblem::new(&mu, rho.view(), &cfg, &vacuous).unwrap();
    for passes in [0, 1000] {
        let g = GreedySwapConfig {
            max_swap_passes: passes,
            ..Default::default()
        };
        let a = GreedySwap::new(g).unwrap().solve(&lazy_p);
        let b = GreedySwap::new(g).unwrap().solve(&eager_p);
        assert_eq!(a.selected, b.selected);
        assert!((a.objective - b.objective).abs() < 1e-12);
    }
}

#[test]
fn heuristic_bound_is_reported() {
    let (p, optimum) = fixture_problem(0.5);
    let s = GreedySwap::new(GreedySwapConfig {
        compute_bound: true,
        ..Default::default()
    })
    .unwrap()
    .solve(&p);
    assert_eq!(s.method, Method::GreedySwap);
    let ub = s.upper_bound.unwrap();
    assert!(ub >= optimum);
    assert!(s.gap.unwrap() >= 0.0);
    assert!(GreedySwap::new(GreedySwapConfig::default())
        .unwrap()
        .solve(&p)
        .gap
        .is_none());
}

fn opportunities(mu: &[f64], sigma: &[f64]) -> Vec<Opportunity> {
    mu.iter()
        .zip(sigma)
        .enumerate()
        .map(|(i, (&m, &s))| {
            let mut asset = AssetInfo::new(format!("A{i}"), 10.0).unwrap();
            asset.sector = Some(if i % 2 == 0 { "even" } else { "odd" }.to_string());
            Opportunity {
                asset,
                forecast: Forecast::new(m, s, Horizon::DAY).unwrap(),
            }
        })
        .collect()
}

#[test]
fn selector_role_and_inputs() {
    let (mu, rho) = random_instance(5, 12, 2, 0.0, 0.01);
    let sigma: Vec<f64> = (0..12).map(|i| 0.01 + 0.002 * i as f64).collect();
    let opps = opportunities(&mu, &sigma);
    let mut cfg = SelectorConfig {
        score: ReturnScore::RiskAdjusted,
        max_per_sector: Some(2),
        must_include: vec![AssetId::new("A3")],
        must_exclude: vec![AssetId::new("A0"), AssetId::new("not offered")],
        ..Default::default()
    };
    cfg.problem.k = 4;
    cfg.problem.lambda = 0.05;
    let sel = DiversityAwareSelector::new(cfg.clone()).unwrap();
    let (s, p) = sel.select_detailed(&opps, rho.view()).unwrap();
    assert_eq!(s.status, Status::Converged);
    assert!(s.selected.contains(&3) && !s.selected.contains(&0));
    assert!((p.mu()[5] - mu[5] / sigma[5]).abs() < 1e-12);
    let slate = (&sel as &dyn Selector).select(&opps, rho.view()).unwrap();
    assert_eq!(slate.indices, s.selected);
    assert_eq!(slate.gap, Some(0.0));
    // every method through the role
    for m in [
        SelectionMethod::GreedySwap,
        SelectionMethod::Mmr,
        SelectionMethod::Auto { exact_max_n: 5 },
    ] {
        let c = SelectorConfig {
            method: m,
            ..cfg.clone()
        };
        let s = DiversityAwareSelector::new(c)
            .unwrap()
            .select(&opps, rho.view())
            .unwrap();
        assert_eq!(s.indices.len(), 4);
    }
    // horizon rescaling: a 5-day horizon scales every mean by 5
    let c = SelectorConfig {
        score: ReturnScore::Mean,
        horizon: Some(Horizon::trading_days(5.0).unwrap()),
        ..cfg.clone()
    };
    let (_, p5) = DiversityAwareSelector::new(c)
        .unwrap()
        .select_detailed(&opps, rho.view())
        .unwrap();
    assert!((p5.mu()[1] - 5.0 * mu[1]).abs() < 1e-15);
    // an unknown required asset is a typed error, kept as the role error's source
    let bad = SelectorConfig {
        must_include: vec![AssetId::new("nope")],
        ..cfg.clone()
    };
    let err = DiversityAwareSelector::new(bad)
        .unwrap()
        .select(&opps, rho.view())
        .unwrap_err();
    match err {
        RoleError::Implementation { source, .. } => {
            let e = source.downcast_ref::<SelectionError>().unwrap();
            assert!(matches!(e, SelectionError::Core(CoreError::UnknownId { .. })));
        }
        e => panic!("{e:?}"),
    }
    assert!(DiversityAwareSelector::new(SelectorConfig {
        min_expected_return: Some(f64::NAN),
        ..Default::default()
    })
    .is_err());
    assert!(sel.select(&[], Array2::zeros((0, 0)).view()).is_err());
}

#[test]
fn correlation_from_core_estimators() {
    let (_, rho) = random_instance(9, 6, 2, 0.0, 1.0);
    // returns with that correlation: x = L z
    let l = prudentia_core::linalg::cholesky(rho.view()).unwrap();
    let mut rng_state = 12345u64;
    let mut z = Array2::<f64>::zeros((600, 6));
    for v in z.iter_mut() {
        // a small LCG + Box-Muller keeps this test independent of rand's stream
        rng_state = rng_state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u1 = ((rng_state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        rng_state = rng_state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u2 = ((rng_state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        *v = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    }
    let x = z.dot(&l.t());
    let rc = rolling_correlation(x.view(), 500).unwrap();
    let sc = shrunk_correlation(x.view()).unwrap();
    for i in 0..6 {
        assert!((rc[[i, i]] - 1.0).abs() < 1e-12);
        assert!((sc[[i, i]] - 1.0).abs() < 1e-12);
        for j in 0..6 {
            assert!((rc[[i, j]] - rho[[i, j]]).abs() < 0.15);
            assert!((sc[[i, j]] - rho[[i, j]]).abs() < 0.15);
        }
    }
    assert!(rolling_correlation(x.view(), 601).is_err());
}

#[test]
fn serde_round_trip_and_determinism() {
    let (p, _) = fixture_problem(0.5);
    let json = serde_json::to_string(&p).unwrap();
    let q: SelectionProblem = serde_json::from_str(&json).unwrap();
    let a = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
    let b = ExactSolver::new(ExactConfig::default()).unwrap().solve(&q);
    assert_eq!(a, b);
    let s: Selection = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(s, a);
    let cfg = SelectorConfig::default();
    let back: SelectorConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    // pinned values: the fixture optimum at λ = 0.5 (HiGHS) and its node count here
    assert_eq!(a.selected, vec![1, 11, 17, 20, 21, 23, 25, 33, 35, 38]);
}

#[test]
fn send_sync() {
    fn check<T: Send + Sync>() {}
    check::<SelectionProblem>();
    check::<ExactSolver>();
    check::<GreedySwap>();
    check::<Mmr>();
    check::<DiversityAwareSelector>();
    check::<Selection>();
    check::<SelectionError>();
    let _boxed: Box<dyn Selector> = Box::new(DiversityAwareSelector::new(SelectorConfig::default()).unwrap());
}

#[test]
fn k_equals_n_and_all_required() {
    let (mu, rho) = random_instance(2, 5, 1, 0.0, 1.0);
    let cfg = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k: 5,
        lambda: 0.3,
        ..Default::default()
    };
    let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
    let s = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
    assert_eq!(s.selected, vec![0, 1, 2, 3, 4]);
    let c = Constraints {
        must_include: vec![4, 1],
        ..Default::default()
    };
    let p = SelectionProblem::new(&mu, rho.view(), &ProblemConfig { k: 2, ..cfg }, &c).unwrap();
    let s = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
    assert_eq!(s.selected, vec![1, 4]);
    assert_eq!(s.status, Status::Converged);
}

/// An infeasible selection reaches the caller of the `Selector` role as
/// `Status::Infeasible` naming the constraints present, not as a bare empty slate.
#[test]
fn infeasible_slate_carries_its_status_through_the_role() {
    let mu = [0.3, 0.1, 0.4, 0.05];
    let opps = opportunities(&mu, &[0.01; 4]);
    // sectors alternate even/odd: 0.4 + 0.3 = 0.7 reaches 0.65 only with two "even" names
    let mut cfg = SelectorConfig {
        max_per_sector: Some(1),
        min_expected_return: Some(0.65),
        ..Default::default()
    };
    cfg.problem.k = 2;
    let sel = DiversityAwareSelector::new(cfg).unwrap();
    let slate = (&sel as &dyn Selector)
        .select(&opps, Array2::eye(4).view())
        .unwrap();
    assert!(slate.indices.is_empty());
    assert_eq!(
        slate.status,
        Status::Infeasible {
            culprits: vec![
                "k".to_string(),
                "sector_caps".to_string(),
                "min_expected_return".to_string()
            ]
        }
    );
    // a feasible one says so
    let mut ok = SelectorConfig::default();
    ok.problem.k = 2;
    let slate = DiversityAwareSelector::new(ok)
        .unwrap()
        .select(&opps, Array2::eye(4).view())
        .unwrap();
    assert_eq!(slate.status, Status::Converged);
    assert_eq!(slate.indices, vec![0, 2]);
}

/// Issue #19: under the default `ReturnScale::Standardized` the slate does not depend on the
/// units of μ (μ × 1000, μ / 1000, μ in basis points), for the exact solver and the
/// heuristics; under `Raw` the same λ gives different slates at different scales.
#[test]
fn standardized_scale_gives_the_same_slate_whatever_the_units_of_mu() {
    use prudentia_selection::ReturnScale;
    let exact = ExactSolver::new(ExactConfig::default()).unwrap();
    let greedy = GreedySwap::new(GreedySwapConfig::default()).unwrap();
    let (mut raw_differs, mut diversifies) = (0, 0);
    for seed in 0..6u64 {
        let (mu, rho, _) = sector_instance(400 + seed, 18, 3, 0.7, 0.2, -0.002, 0.004);
        // The default λ = 1 and a stronger penalty.
        for lambda in [1.0, 4.0] {
            let solve = |mu: &[f64], scale: ReturnScale| {
                let cfg = ProblemConfig {
                    k: 5,
                    lambda,
                    return_scale: scale,
                    ..Default::default()
                };
                let p = SelectionProblem::new(mu, rho.view(), &cfg, &Constraints::default()).unwrap();
                let e = exact.solve(&p);
                assert_eq!(e.status, Status::Converged);
                (e.selected, greedy.solve(&p).selected, p)
            };
            let (base, base_greedy, p) = solve(&mu, ReturnScale::Standardized);
            // λ in units of μ is λ · s / (K − 1), s the population standard deviation of μ.
            let m = mu.iter().sum::<f64>() / mu.len() as f64;
            let s = (mu.iter().map(|v| (v - m).powi(2)).sum::<f64>() / mu.len() as f64).sqrt();
            assert!((p.lambda() - lambda * s / 4.0).abs() <= 1e-12 * s);
            assert!((p.penalty_scale() - s / 4.0).abs() <= 1e-12 * s);
            let (raw_base, _, _) = solve(&mu, ReturnScale::Raw);
            for c in [1e-3, 1e3, 1e4, 252.0] {
                let scaled: Vec<f64> = mu.iter().map(|v| v * c).collect();
                let (sel, sel_greedy, q) = solve(&scaled, ReturnScale::Standardized);
                assert_eq!(sel, base, "seed {seed}, λ {lambda}, μ × {c}");
                assert_eq!(
                    sel_greedy, base_greedy,
                    "seed {seed}, λ {lambda}, μ × {c} (greedy)"
                );
                assert!((q.lambda() / p.lambda() / c - 1.0).abs() < 1e-9);
                let (raw, _, _) = solve(&scaled, ReturnScale::Raw);
                raw_differs += usize::from(raw != raw_base);
            }
            // The penalty matters: the slate is not simply the top 5 by μ.
            diversifies += usize::from(top_k_by_return(&p).selected != base);
        }
    }
    assert!(raw_differs > 0, "a Raw λ should depend on the units of μ");
    assert!(diversifies > 0, "the penalty should diversify on some instance");
}

/// The documented rule of the default λ = 1 under `Standardized`: a candidate joining a
/// slate pays λ times its average correlation with the other K − 1 members, in
/// cross-sectional standard deviations of μ.
#[test]
fn default_lambda_rule_one_standard_deviation_per_unit_of_average_correlation() {
    // Three anchors always chosen (high μ, uncorrelated); the last slot goes to A (μ_a,
    // average correlation 0.6 with the anchors) or B (μ_b, uncorrelated). A wins exactly
    // when μ_a − μ_b > 0.6 · s (λ = 1).
    let n = 5;
    let mut rho = Array2::<f64>::eye(n);
    for j in 0..3 {
        rho[[3, j]] = 0.6;
        rho[[j, 3]] = 0.6;
    }
    let exact = ExactSolver::new(ExactConfig::default()).unwrap();
    let cfg = ProblemConfig {
        k: 4,
        ..Default::default()
    };
    assert_eq!(cfg.lambda, 1.0);
    for (gap_in_sd, a_wins) in [(0.55, false), (0.65, true)] {
        // Solve μ_a = μ_b + gap·s(μ) for μ_a by fixed point (s depends on μ_a).
        let mut mu = vec![10.0, 10.0, 10.0, 1.0, 1.0];
        for _ in 0..200 {
            let m = mu.iter().sum::<f64>() / n as f64;
            let s = (mu.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64).sqrt();
            mu[3] = mu[4] + gap_in_sd * s;
        }
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
        let sel = exact.solve(&p).selected;
        assert_eq!(sel.contains(&3), a_wins, "gap {gap_in_sd} s: {sel:?}");
    }
}
