//! Our answers and times on the problems of the portfolio benches, for the peer-timing script
//! (tools/fixtures/portfolio/peer_timing.py), which compares them with cvxpy + Clarabel before
//! it reports any ratio.
//!
//! For each bench problem (mean–CVaR at (T, n) = (1000, 50) and (5000, 200) with each CVaR
//! method; long-short mean–variance at n = 50, 200, 500 with the structured interior-point
//! method and with Clarabel) it solves the problem `reps` times end to end (problem
//! construction plus solve, as the benches time it) and writes one JSON object per problem:
//! its key, method, status, objective, weights and the median time per solve in seconds.
//!
//! `cargo run --release -p prudentia-portfolio --example peer_answers -- <out.json> [reps]`
//! (timings from a debug build mean nothing; the answers are the same).

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::Instant;

use prudentia_portfolio::{CvarMethod, PortfolioOptimizer, PortfolioProblem, PortfolioResult};
use serde_json::{json, Value};

/// Solves `reps` times; the last answer and the median seconds per solve.
fn timed(
    reps: usize,
    mut solve: impl FnMut() -> Result<PortfolioResult, Box<dyn std::error::Error>>,
) -> Result<(PortfolioResult, f64), Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        let r = solve()?;
        times.push(t0.elapsed().as_secs_f64());
        last = Some(r);
    }
    times.sort_by(f64::total_cmp);
    let res = last.ok_or("no solve")?;
    Ok((res, times[times.len() / 2]))
}

fn answer(problem: &str, key: Value, method: &str, res: &PortfolioResult, secs: f64) -> Value {
    eprintln!(
        "{problem} {key} {method}: status {} objective {:.10e} median {:.1} ms",
        res.status,
        res.objective.objective,
        secs * 1e3
    );
    json!({
        "problem": problem,
        "key": key,
        "method": method,
        "status": res.status.to_string(),
        "converged": res.status.is_converged(),
        "objective": res.objective.objective,
        "weights": res.weights,
        "median_seconds": secs,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: peer_answers <out.json> [reps]")?;
    let reps: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let mut answers = Vec::new();
    for (t, n) in [(1000usize, 50usize), (5000, 200)] {
        let (mu, r) = support::cvar_problem(t, n);
        for (label, method) in [
            ("scenario_generation", CvarMethod::ScenarioGeneration),
            ("cutting_plane", CvarMethod::CuttingPlane),
            ("full_lp", CvarMethod::FullLp),
        ] {
            let opt = PortfolioOptimizer::new(support::cvar_config(n, method))?;
            let (res, secs) = timed(reps, || {
                let p = PortfolioProblem::new(mu.clone()).with_scenarios(r.clone());
                Ok(opt.solve(&p)?)
            })?;
            answers.push(answer("mean_cvar", json!([t, n]), label, &res, secs));
        }
    }
    for n in [50usize, 200, 500] {
        let d = support::mv_data(n);
        for (label, structured) in [("structured", true), ("clarabel", false)] {
            let mut cfg = support::mv_config(n);
            cfg.solver.structured_qp = structured;
            let opt = PortfolioOptimizer::new(cfg)?;
            let (res, secs) = timed(reps, || Ok(opt.solve(&support::mv_problem(&d))?))?;
            answers.push(answer("mean_variance", json!([n]), label, &res, secs));
        }
    }
    let doc = json!({
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "reps": reps,
        "answers": answers,
    });
    std::fs::write(&out, serde_json::to_string_pretty(&doc)?)?;
    eprintln!("wrote {out}");
    Ok(())
}
