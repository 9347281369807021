#![allow(missing_docs)]
//! Long-only mean–CVaR at (T, n) = (1000, 50) and (5000, 200), end to end: problem construction
//! (copying the scenario matrix into the problem) plus solve. Scenario generation, Künzi-Bay–Mayer
//! cutting planes and the full Rockafellar–Uryasev LP. Plus the optimize stage of the root
//! `decide` bench (issue #18): K = 50 selected assets, T = 252 scenarios, long only, wᵢ ≤ 0.1,
//! fully invested, the default method (`Auto`, scenario generation at T > 4K), with the
//! structured interior-point method (the default) and with Clarabel alone; and the whole stage
//! as `decide` runs it (`stage_ledoit_wolf`: the Ledoit–Wolf covariance of the scenarios, the
//! problem with the covariance and the scenarios, the solve), whose CPU time per call is
//! printed first (steadier than the wall clock on a shared machine).

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use prudentia_portfolio::{CvarMethod, PortfolioOptimizer, PortfolioProblem};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mean_cvar");
    g.sample_size(10);
    for (t, n) in [(1000usize, 50usize), (5000, 200)] {
        let (mu, r) = support::cvar_problem(t, n);
        for (label, method) in [
            ("scenario_generation", CvarMethod::ScenarioGeneration),
            ("cutting_plane", CvarMethod::CuttingPlane),
            ("full_lp", CvarMethod::FullLp),
        ] {
            let opt = PortfolioOptimizer::new(support::cvar_config(n, method)).unwrap();
            let res = opt
                .solve(&PortfolioProblem::new(mu.clone()).with_scenarios(r.clone()))
                .unwrap();
            eprintln!(
                "mean_cvar T={t} n={n} {label}: status {} objective {:.10e} cvar {:.6e} rounds {}",
                res.status,
                res.objective.objective,
                res.risk.cvar.unwrap_or(f64::NAN),
                res.info.cut_rounds
            );
            g.bench_with_input(BenchmarkId::new(label, format!("T{t}_n{n}")), &(), |b, _| {
                b.iter(|| {
                    let p = PortfolioProblem::new(mu.clone()).with_scenarios(r.clone());
                    black_box(opt.solve(&p).unwrap())
                })
            });
        }
    }
    g.finish();
    let mut g = c.benchmark_group("mean_cvar_decide");
    g.sample_size(20);
    let (t, n) = (252usize, 50usize);
    let (mu, r) = support::cvar_problem(t, n);
    for (label, method, structured) in [
        ("auto_structured", CvarMethod::Auto, true),
        ("auto_clarabel", CvarMethod::Auto, false),
        ("full_lp_structured", CvarMethod::FullLp, true),
        ("full_lp_clarabel", CvarMethod::FullLp, false),
    ] {
        let mut cfg = support::cvar_config(n, method);
        cfg.solver.structured_qp = structured;
        cfg.solver.structured_cvar = structured;
        let opt = PortfolioOptimizer::new(cfg).unwrap();
        let res = opt
            .solve(&PortfolioProblem::new(mu.clone()).with_scenarios(r.clone()))
            .unwrap();
        eprintln!(
            "mean_cvar_decide T={t} n={n} {label}: status {} objective {:.10e} iterations {} rounds {} structured {}",
            res.status, res.objective.objective, res.info.iterations, res.info.cut_rounds, res.info.structured
        );
        g.bench_with_input(BenchmarkId::new(label, format!("T{t}_n{n}")), &(), |b, _| {
            b.iter(|| {
                let p = PortfolioProblem::new(mu.clone()).with_scenarios(r.clone());
                black_box(opt.solve(&p).unwrap())
            })
        });
    }
    // the whole optimize stage of `decide`: the Ledoit–Wolf covariance of the scenarios (which
    // the optimizer PSD-checks and reports wᵀΣw from), the problem built from them, the solve
    let opt = PortfolioOptimizer::new(support::cvar_config(n, CvarMethod::Auto)).unwrap();
    let stage = || {
        let cov = prudentia_core::estimators::ledoit_wolf(r.view(), false)
            .unwrap()
            .covariance;
        let p = PortfolioProblem::new(mu.clone())
            .with_scenarios(r.clone())
            .with_covariance(cov);
        black_box(opt.solve(&p).unwrap())
    };
    // on a loaded machine the thread's CPU time is steadier than the wall clock
    if let Some(cpu) = thread_cpu_ns() {
        let reps = 200;
        let mut best = u64::MAX;
        for _ in 0..5 {
            let t0 = thread_cpu_ns().unwrap_or(cpu);
            for _ in 0..reps {
                let _ = stage();
            }
            best = best.min(thread_cpu_ns().unwrap_or(t0).saturating_sub(t0));
        }
        eprintln!(
            "mean_cvar_decide stage_ledoit_wolf: {:.1} µs CPU per call (best of 5 × {reps})",
            best as f64 / reps as f64 / 1e3
        );
    }
    g.bench_with_input(
        BenchmarkId::new("stage_ledoit_wolf", format!("T{t}_n{n}")),
        &(),
        |b, _| b.iter(stage),
    );
    g.finish();
}

/// The CPU time of this thread in nanoseconds (Linux: the first field of
/// `/proc/thread-self/schedstat`), `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

criterion_group!(benches, bench);
criterion_main!(benches);
