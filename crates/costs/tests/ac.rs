//! The Almgren–Chriss worked example (2000, §3.1) against the closed form and a direct QP
//! solve with Clarabel.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};
use prudentia_costs::ac::{closed_form_cost, cost_moments, efficient_frontier, optimal_trajectory, AcParams};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// min over u = x / X (u₀ = 1, u_N = 0) of Σ (uⱼ₋₁ − uⱼ)² + c Σⱼ≥₁ uⱼ², c = λσ²τ²/η̃:
/// E + λV up to constants and the factor X² η̃ / τ, as a QP with two equality constraints.
fn qp_holdings(p: &AcParams, lambda: f64) -> Vec<f64> {
    let n = p.periods + 1;
    let c = lambda * p.sigma * p.sigma * p.tau() * p.tau() / p.eta_tilde();
    // P = 2 (L + c diag(0, 1, …, 1)), upper triangle, column-major.
    let (mut colptr, mut rowval, mut nzval) = (vec![0usize], Vec::new(), Vec::new());
    for j in 0..n {
        if j > 0 {
            rowval.push(j - 1);
            nzval.push(-2.0);
        }
        let deg = if j == 0 || j == n - 1 { 1.0 } else { 2.0 };
        let cc = if j == 0 { 0.0 } else { c };
        rowval.push(j);
        nzval.push(2.0 * (deg + cc));
        colptr.push(rowval.len());
    }
    let pm = CscMatrix::new(n, n, colptr, rowval, nzval);
    let q = vec![0.0; n];
    let a = CscMatrix::new(
        2,
        n,
        {
            let mut cp = vec![0usize; n + 1];
            for (j, v) in cp.iter_mut().enumerate().skip(1) {
                *v = if j >= n { 2 } else { 1 };
            }
            cp
        },
        vec![0, 1],
        vec![1.0, 1.0],
    );
    let b = vec![1.0, 0.0];
    let cones = [SupportedConeT::ZeroConeT(2)];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-14)
        .tol_gap_rel(1e-14)
        .tol_feas(1e-14)
        .build()
        .unwrap();
    let mut solver = DefaultSolver::new(&pm, &q, &a, &b, &cones, settings).unwrap();
    solver.solve();
    assert!(
        matches!(
            solver.solution.status,
            SolverStatus::Solved | SolverStatus::AlmostSolved
        ),
        "{:?}",
        solver.solution.status
    );
    solver.solution.x.iter().map(|u| u * p.shares).collect()
}

#[test]
fn paper_worked_example_matches_closed_form_and_qp() {
    let p = AcParams::paper_example();
    for lambda in [1e-6, 2e-6] {
        let t = optimal_trajectory(&p, lambda).unwrap();
        assert_eq!(t.holdings.len(), 6);
        assert_eq!(t.holdings[0], 1e6);
        assert_eq!(t.holdings[5], 0.0);
        // trade list sums to X
        assert!(rel(t.trades.iter().sum::<f64>(), 1e6) < 1e-12);
        let (e, v) = closed_form_cost(&p, lambda).unwrap();
        assert!(rel(t.expected_cost, e) < 1e-10, "E {} vs {}", t.expected_cost, e);
        assert!(rel(t.variance, v) < 1e-10, "V {} vs {}", t.variance, v);
        assert!(rel(t.objective(), e + lambda * v) < 1e-10);
        // the trade list from the paper's eq. for n_j
        let (k, tau, tt) = (t.kappa, p.tau(), p.horizon);
        for (j, n) in t.trades.iter().enumerate() {
            let nj = 2.0 * (0.5 * k * tau).sinh() / (k * tt).sinh()
                * (k * (tt - (j as f64 + 0.5) * tau)).cosh()
                * 1e6;
            assert!(rel(*n, nj) < 1e-10, "trade {j}: {n} vs {nj}");
        }
        // a direct QP solve of the same problem
        let x = qp_holdings(&p, lambda);
        let worst = x
            .iter()
            .zip(&t.holdings)
            .map(|(a, b)| (a - b).abs() / 1e6)
            .fold(0.0, f64::max);
        let (eq, vq) = cost_moments(&p, &x).unwrap();
        let obj_q = eq + lambda * vq;
        println!(
            "AC lambda {lambda:e}: kappa {k:.6}, holdings {:?}, E {:.6}, V {:.6e}, E+lV {:.6}; QP |x - x*|/X {worst:.2e}, objective rel {:.2e}",
            t.holdings,
            t.expected_cost,
            t.variance,
            t.objective(),
            rel(obj_q, t.objective())
        );
        assert!(worst < 1e-10, "QP holdings differ by {worst:e} of X");
        assert!(rel(obj_q, t.objective()) < 1e-10);
        assert!(
            obj_q >= t.objective() * (1.0 - 1e-12),
            "the closed form is optimal"
        );
    }
    // λ = 1e-6: κ ≈ 0.6 per day, a half-life of about 1.7 days (paper §3.1).
    let t = optimal_trajectory(&p, 1e-6).unwrap();
    assert!((t.kappa - 0.6).abs() < 0.01, "{}", t.kappa);
    assert!((1.0 / t.kappa - 1.7).abs() < 0.06); // the paper rounds 1/κ = 1.647 to 1.7
}

#[test]
fn frontier_is_monotone_and_lambda_zero_is_linear() {
    let p = AcParams::paper_example();
    let t0 = optimal_trajectory(&p, 0.0).unwrap();
    for (j, x) in t0.holdings.iter().enumerate() {
        assert!(rel(*x + 1e-300, 1e6 * (1.0 - j as f64 / 5.0) + 1e-300) < 1e-12 || *x == 0.0);
    }
    let (e0, v0) = closed_form_cost(&p, 0.0).unwrap();
    assert!(rel(t0.expected_cost, e0) < 1e-12 && rel(t0.variance, v0) < 1e-12);
    let f = efficient_frontier(&p, &[0.0, 1e-7, 1e-6, 2e-6, 1e-5, 1e-4]).unwrap();
    for w in f.windows(2) {
        assert!(w[1].expected_cost >= w[0].expected_cost);
        assert!(w[1].variance <= w[0].variance);
    }
    // strong risk aversion with many periods: no overflow
    let big = AcParams { periods: 1000, ..p };
    let t = optimal_trajectory(&big, 1.0).unwrap();
    assert!(t.holdings.iter().all(|v| v.is_finite() && *v >= 0.0));
}

#[test]
fn long_trajectory_matches_the_sinh_ratio() {
    // The recurrences of `fill_trajectory` against xⱼ = X sinh(κ(T − tⱼ)) / sinh(κT)
    // evaluated point by point (whose own argument rounding is up to N ulps near the end),
    // over small, moderate and large κT, N = 1,000 and 5,000.
    for (periods, lambda) in [
        (1000, 1e-9),
        (1000, 2e-6),
        (1000, 1e-4),
        (5000, 2e-6),
        (5000, 3e-5),
    ] {
        let p = AcParams {
            periods,
            ..AcParams::paper_example()
        };
        let t = optimal_trajectory(&p, lambda).unwrap();
        let (k, tau, tt) = (t.kappa, p.tau(), p.horizon);
        assert!(k * tt < 300.0, "kappa T {}", k * tt);
        let mut worst = 0.0f64;
        for (j, x) in t.holdings.iter().enumerate() {
            let want = p.shares * (k * (tt - j as f64 * tau)).sinh() / (k * tt).sinh();
            worst = worst.max((x - want).abs() / want.abs().max(1e-300));
        }
        assert!(worst < 1e-11, "N {periods} lambda {lambda:e}: rel {worst:e}");
        assert!(t.holdings.windows(2).all(|w| w[1] <= w[0]));
    }
}
