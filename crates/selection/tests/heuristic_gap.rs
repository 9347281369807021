//! Heuristic quality: on synthetic n = 200, K = 20 sector instances the average gap of
//! greedy + 1-swap to the exact optimum (or the exact solver's best bound) is ≤ 1%, checked
//! by default at a λ where the correlation-blind top-μ pick is at least 3% worse (at the
//! small λ of the first test top-μ itself passes the 1% gate).

use crate::common;

use common::sector_instance;
use prudentia_core::Status;
use prudentia_selection::top_k_by_return;
use prudentia_selection::{
    Constraints, Dpp, DppConfig, ExactConfig, ExactSolver, GreedySwap, GreedySwapConfig, Mmr, MmrConfig,
    ProblemConfig, SelectionProblem,
};

fn run(seeds: std::ops::Range<u64>, n: usize, k: usize, lambdas: &[f64], node_limit: u64) -> Gaps {
    let mut gaps_gs = Vec::new();
    let mut gaps_mmr = Vec::new();
    let mut gaps_mmr_ls = Vec::new();
    let mut gaps_dpp = Vec::new();
    let mut gaps_top = Vec::new();
    for seed in seeds {
        let (mu, rho, _) = sector_instance(seed, n, 10, 0.6, 0.2, 0.0, 0.3);
        for &lambda in lambdas {
            let cfg = ProblemConfig {
                return_scale: prudentia_selection::ReturnScale::Raw,
                k,
                lambda,
                ..Default::default()
            };
            let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
            let exact = ExactSolver::new(ExactConfig {
                node_limit,
                ..Default::default()
            })
            .unwrap()
            .solve(&p);
            let reference = exact.upper_bound.unwrap();
            let gs = GreedySwap::new(GreedySwapConfig::default()).unwrap().solve(&p);
            let mmr = Mmr::new(MmrConfig::default()).unwrap().solve(&p);
            let mmr_ls = Mmr::new(MmrConfig {
                max_swap_passes: 1000,
                ..Default::default()
            })
            .unwrap()
            .solve(&p);
            let dpp = Dpp::new(DppConfig::default()).unwrap().solve(&p);
            let gap = |o: f64| (reference - o) / reference.abs();
            gaps_dpp.push(gap(dpp.objective));
            let top = top_k_by_return(&p);
            gaps_top.push(gap(top.objective));
            eprintln!(
                "seed {seed} λ={lambda}: exact {:?} obj {:.6} ub {:.6} nodes {} | greedy+swap gap {:.4}% | MMR gap {:.4}% | MMR+swap gap {:.4}% | DPP gap {:.4}% | top-μ gap {:.4}%",
                exact.status,
                exact.objective,
                reference,
                exact.nodes,
                100.0 * gap(gs.objective),
                100.0 * gap(mmr.objective),
                100.0 * gap(mmr_ls.objective),
                100.0 * gap(dpp.objective),
                100.0 * gap(top.objective)
            );
            assert_eq!(gs.status, Status::Heuristic);
            gaps_gs.push(gap(gs.objective));
            gaps_mmr.push(gap(mmr.objective));
            gaps_mmr_ls.push(gap(mmr_ls.objective));
        }
    }
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!("average DPP gap {:.4}%", 100.0 * avg(&gaps_dpp));
    Gaps {
        greedy_swap: avg(&gaps_gs),
        mmr: avg(&gaps_mmr),
        mmr_swap: avg(&gaps_mmr_ls),
        top_mu: avg(&gaps_top),
    }
}

/// Average relative gaps to the exact optimum (or best bound).
struct Gaps {
    greedy_swap: f64,
    mmr: f64,
    mmr_swap: f64,
    top_mu: f64,
}

/// Greedy + swap within 1% of the optimum, on instances where the correlation-blind top-μ
/// pick is at least `min_top_gap` worse (so the 1% gate measures the penalty handling).
fn report(name: &str, g: Gaps, min_top_gap: f64) {
    eprintln!(
        "{name}: average gap greedy+swap {:.4}%, MMR {:.4}%, MMR+swap {:.4}%, top-μ {:.4}%",
        100.0 * g.greedy_swap,
        100.0 * g.mmr,
        100.0 * g.mmr_swap,
        100.0 * g.top_mu
    );
    assert!(
        g.top_mu >= min_top_gap,
        "top-μ gap {} below {min_top_gap}: these λ do not discriminate",
        g.top_mu
    );
    assert!(g.greedy_swap <= 0.01, "average greedy+swap gap {}", g.greedy_swap);
}

#[test]
fn greedy_swap_gap_n200_k20() {
    report(
        "n=200 K=20 λ∈{0.01,0.03}",
        run(0..4, 200, 20, &[0.01, 0.03], 1_000_000),
        0.0,
    );
}

/// At λ = 0.05 the correlation-blind top-μ slate is several percent below the optimum
/// (about 7.5% on these seeds), so the 1% gate tests the penalty handling; runs by default.
#[test]
fn greedy_swap_gap_n200_k20_where_top_mu_fails() {
    report("n=200 K=20 λ=0.05", run(0..4, 200, 20, &[0.05], 2_000_000), 0.03);
}

/// The heavier figures for the report (λ = 0.05 and 0.1 need up to millions of nodes):
/// `cargo test --release -p prudentia-selection --test selection heuristic_gap -- --ignored --nocapture`
#[test]
#[ignore]
fn greedy_swap_gap_n200_k20_strong_penalty() {
    report(
        "n=200 K=20 λ∈{0.05,0.1}",
        run(0..5, 200, 20, &[0.05, 0.1], 5_000_000),
        0.03,
    );
}
