#![allow(missing_docs)]
//! Long-only mean–CVaR at (T, n) = (1000, 50) and (5000, 200), end to end: problem construction
//! (copying the scenario matrix into the problem) plus solve. Scenario generation, Künzi-Bay–Mayer
//! cutting planes and the full Rockafellar–Uryasev LP.

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
}

criterion_group!(benches, bench);
criterion_main!(benches);
