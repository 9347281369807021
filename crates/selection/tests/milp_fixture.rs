//! Reference test: the exact solver against HiGHS on a McCormick MILP (n = 40, K = 10).
//! Fixture: tests/fixtures/milp_n40.json from tools/fixtures/selection/milp_n40.py.

use ndarray::Array2;
use prudentia_selection::{
    Constraints, CorrelationConfig, CorrelationPolicy, ExactConfig, ExactSolver, ProblemConfig,
    SelectionProblem, SelectionStatus,
};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/milp_n40.json");
    serde_json::from_str(text).unwrap()
}

fn data(v: &Value) -> (Vec<f64>, Array2<f64>) {
    let mu: Vec<f64> = v["mu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let n = mu.len();
    let mut rho = Array2::zeros((n, n));
    for (i, row) in v["rho"].as_array().unwrap().iter().enumerate() {
        for (j, x) in row.as_array().unwrap().iter().enumerate() {
            rho[[i, j]] = x.as_f64().unwrap();
        }
    }
    (mu, rho)
}

#[test]
fn exact_matches_highs_milp() {
    let v = fixture();
    let (mu, rho) = data(&v);
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
            "lambda={lambda}: nodes={} time={:?} obj={} (HiGHS {expected_obj}, {} nodes, {} s)",
            s.nodes,
            t0.elapsed(),
            s.objective,
            case["highs_nodes"],
            case["highs_seconds_median_of_3"]
        );
        assert_eq!(s.status, SelectionStatus::Optimal);
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
