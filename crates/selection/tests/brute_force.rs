//! Property tests: the exact solver equals brute force on random instances (n ≤ 20), with
//! and without constraints; heuristics are feasible and never beat the optimum; bounds hold.

use crate::common;

use common::{brute_force, own_feasible, own_objective, random_instance};
use proptest::prelude::*;
use prudentia_core::Status;
use prudentia_selection::{
    root_upper_bound, Constraints, Dpp, DppConfig, ExactConfig, ExactSolver, GreedySwap, GreedySwapConfig,
    Mmr, MmrConfig, ProblemConfig, SelectionProblem,
};

fn check(p: &SelectionProblem, c: &Constraints) -> Result<(), TestCaseError> {
    let exact = ExactSolver::new(ExactConfig::default()).unwrap().solve(p);
    let bf = brute_force(p, c);
    match bf {
        None => {
            let infeasible = matches!(exact.status, Status::Infeasible { .. });
            prop_assert!(infeasible, "{:?}", exact.status)
        }
        Some((_, f)) => {
            prop_assert_eq!(&exact.status, &Status::Converged);
            prop_assert!(p.is_feasible(&exact.selected));
            // Judged by this test's own code, not the solver's.
            prop_assert!(own_feasible(p, c, &exact.selected));
            let own = own_objective(p, &exact.selected);
            prop_assert!(
                (exact.objective - own).abs() <= 1e-9 * (1.0 + own.abs()),
                "reported objective {} vs recomputed {}",
                exact.objective,
                own
            );
            prop_assert!(
                (exact.objective - f).abs() <= 1e-9 * (1.0 + f.abs()),
                "{} vs {}",
                exact.objective,
                f
            );
            prop_assert_eq!(exact.gap, Some(0.0));
            let ub = root_upper_bound(p);
            prop_assert!(
                ub >= f - 1e-9 * (1.0 + f.abs()),
                "root bound {} < optimum {}",
                ub,
                f
            );
            for h in [
                GreedySwap::new(GreedySwapConfig {
                    compute_bound: true,
                    ..Default::default()
                })
                .unwrap()
                .solve(p),
                Mmr::new(MmrConfig::default()).unwrap().solve(p),
                Dpp::new(DppConfig::default()).unwrap().solve(p),
            ] {
                if h.status == Status::Heuristic {
                    prop_assert!(p.is_feasible(&h.selected));
                    prop_assert!(own_feasible(p, c, &h.selected));
                    prop_assert!(h.objective <= f + 1e-9 * (1.0 + f.abs()));
                    let own = own_objective(p, &h.selected);
                    prop_assert!((h.objective - own).abs() <= 1e-9 * (1.0 + own.abs()));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn exact_equals_brute_force_unconstrained(
        seed in any::<u64>(),
        n in 1usize..=14,
        kf in 0.0f64..1.0,
        lambda in prop_oneof![Just(0.0), 0.0f64..3.0],
        factors in 1usize..4,
    ) {
        let k = 1 + ((n - 1) as f64 * kf) as usize;
        let (mu, rho) = random_instance(seed, n, factors, -0.5, 1.0);
        let cfg = ProblemConfig { k, lambda, return_scale: prudentia_selection::ReturnScale::Raw, ..Default::default() };
        let c = Constraints::default();
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &c).unwrap();
        check(&p, &c)?;
    }

    #[test]
    fn exact_equals_brute_force_constrained(
        seed in any::<u64>(),
        n in 3usize..=14,
        kf in 0.0f64..1.0,
        lambda in 0.0f64..2.0,
        cap in 1usize..4,
        include in proptest::collection::vec(0usize..14, 0..2),
        exclude in proptest::collection::vec(0usize..14, 0..3),
        min_ret in prop_oneof![Just(None), (0.0f64..1.0).prop_map(Some)],
    ) {
        let k = 1 + ((n - 1) as f64 * kf) as usize;
        let (mu, rho) = random_instance(seed, n, 2, -0.2, 1.0);
        let sectors = (0..n).map(|i| if i % 4 == 3 { None } else { Some(format!("s{}", i % 3)) }).collect();
        let include: Vec<usize> = include.into_iter().filter(|&i| i < n).collect();
        let exclude: Vec<usize> = exclude.into_iter().filter(|&i| i < n && !include.contains(&i)).collect();
        // min return as a fraction of the best k returns
        let mut sorted = mu.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let top: f64 = sorted[..k].iter().sum();
        let constraints = Constraints {
            sectors,
            max_per_sector: Some(cap),
            must_include: include,
            must_exclude: exclude,
            min_expected_return: min_ret.map(|f| f * top),
            ..Default::default()
        };
        let cfg = ProblemConfig { k, lambda, return_scale: prudentia_selection::ReturnScale::Raw, ..Default::default() };
        // infeasible constraint sets are typed errors, tested elsewhere
        if let Ok(p) = SelectionProblem::new(&mu, rho.view(), &cfg, &constraints) {
            check(&p, &constraints)?;
        }
    }
}

proptest! {
    // n up to 20: few cases, brute force enumerates up to C(20, 10) = 184756 subsets
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn exact_equals_brute_force_n15_to_20(
        seed in any::<u64>(),
        n in 15usize..=20,
        k in 2usize..=10,
        lambda in 0.0f64..2.0,
    ) {
        let (mu, rho) = random_instance(seed, n, 3, -0.2, 1.0);
        let cfg = ProblemConfig { k, lambda, return_scale: prudentia_selection::ReturnScale::Raw, ..Default::default() };
        let c = Constraints::default();
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &c).unwrap();
        check(&p, &c)?;
    }
}

#[test]
fn exact_equals_brute_force_n20() {
    // A few larger instances (C(20, 8) = 125970 subsets each).
    for seed in 0..3u64 {
        let (mu, rho) = random_instance(1000 + seed, 20, 3, -0.2, 1.0);
        for lambda in [0.1, 0.5, 2.0] {
            let cfg = ProblemConfig {
                return_scale: prudentia_selection::ReturnScale::Raw,
                k: 8,
                lambda,
                ..Default::default()
            };
            let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
            let exact = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
            let (set, f) = brute_force(&p, &Constraints::default()).unwrap();
            assert!(
                (exact.objective - f).abs() <= 1e-9 * (1.0 + f.abs()),
                "{} vs {f}",
                exact.objective
            );
            assert_eq!(exact.selected, set);
        }
    }
}
