//! Reference test: the exact solver against HiGHS on a McCormick MILP (n = 40, K = 10).
//! Fixture: tests/fixtures/milp_n40.json from tools/fixtures/selection/milp_n40.py.

use prudentia_core::Status;
use prudentia_selection::{
    Constraints, CorrelationConfig, CorrelationPolicy, ExactConfig, ExactSolver, ProblemConfig,
    SelectionProblem,
};

use crate::common;
use common::milp_fixture;

#[test]
fn exact_matches_highs_milp() {
    let (v, mu, rho) = milp_fixture();
    assert_eq!(mu.len(), 40);
    for case in v["cases"].as_array().unwrap() {
        let lambda = case["lambda"].as_f64().unwrap();
        let k = case["k"].as_u64().unwrap() as usize;
        let expected_set: Vec<usize> = case["optimal_set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let expected_obj = case["objective"].as_f64().unwrap();
        let cfg = ProblemConfig {
            return_scale: prudentia_selection::ReturnScale::Raw,
            k,
            lambda,
            correlation: CorrelationConfig {
                policy: CorrelationPolicy::Reject,
                ..Default::default()
            },
        };
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
        let t0 = std::time::Instant::now();
        let s = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
        eprintln!(
            "lambda={lambda}: nodes={} time={:?} obj={} (HiGHS {expected_obj}, {} nodes; its time is printed by the script)",
            s.nodes,
            t0.elapsed(),
            s.objective,
            case["highs_nodes"]
        );
        assert_eq!(s.status, Status::Converged);
        assert_eq!(s.gap, Some(0.0));
        assert!(
            (s.objective - expected_obj).abs() < 1e-9,
            "{} vs {}",
            s.objective,
            expected_obj
        );
        assert_eq!(s.selected, expected_set);
    }
}
