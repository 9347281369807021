//! The learned routing policy on the fill simulator: beats the best single fixed action
//! within 5,000 parent orders, and its regret against the oracle grows sublinearly.

use prudentia_execution::router::{ExecutionRouter, RouterConfig, RoutingPolicy, UniformRandom};
use prudentia_execution::N_FEATURES;
use prudentia_learn::bandit::{
    ArmFeatures, EpsilonGreedy, EpsilonGreedyConfig, LinUcb, LinUcbConfig, LinearThompson,
    LinearThompsonConfig,
};

use crate::common::*;

const T: usize = 5_000;

struct Run {
    /// Mean realized slippage, bps.
    mean_slippage: f64,
    /// Cumulative expected regret against the oracle after each order.
    regret: Vec<f64>,
}

fn run(policy: Box<dyn RoutingPolicy>) -> Run {
    let sim = simulator();
    let sp = space(&sim);
    let mut router = ExecutionRouter::new(RouterConfig::default(), sp.clone(), policy).unwrap();
    let mut total = 0.0;
    let mut regret = Vec::with_capacity(T);
    let mut cum = 0.0;
    for t in 0..T as u64 {
        let s = sim.sample_state(10_000 + t);
        let d = router.decide(&state(&s), None, t).unwrap();
        let (event, slip) = fill_for(&sim, &sp, &s, &d, 50_000 + t);
        router.learn_fill(&event).unwrap();
        total += slip;
        let costs = expected_costs(&sim, &sp, &s);
        let best = costs.iter().fold(f64::INFINITY, |m, c| m.min(*c));
        cum += costs[d.action] - best;
        regret.push(cum);
    }
    Run {
        mean_slippage: total / T as f64,
        regret,
    }
}

/// Mean realized slippage of each fixed action on the same orders and fill seeds, and of the
/// oracle (best expected action per order).
fn baselines() -> (Vec<f64>, f64) {
    let sim = simulator();
    let sp = space(&sim);
    let nv = sp.venues().len();
    let mut fixed = vec![0.0; sp.len()];
    let mut oracle = 0.0;
    for t in 0..T as u64 {
        let s = sim.sample_state(10_000 + t);
        let costs = expected_costs(&sim, &sp, &s);
        let mut best = 0;
        for a in 0..sp.len() {
            let f = sim
                .execute(&s, sp.action(a).unwrap().order_type, a % nv, 50_000 + t)
                .unwrap();
            fixed[a] += f.slippage_bps;
            if costs[a] < costs[best] {
                best = a;
            }
        }
        oracle += sim
            .execute(&s, sp.action(best).unwrap().order_type, best % nv, 50_000 + t)
            .unwrap()
            .slippage_bps;
    }
    (fixed.iter().map(|x| x / T as f64).collect(), oracle / T as f64)
}

fn report(name: &str, r: &Run, best_fixed: f64) {
    let at = |n: usize| r.regret[n - 1];
    println!(
        "{name}: mean slippage {:.3} bps (best fixed {best_fixed:.3}); regret at 625/1250/2500/5000: \
         {:.0} / {:.0} / {:.0} / {:.0}",
        r.mean_slippage,
        at(625),
        at(1250),
        at(2500),
        at(5000)
    );
}

/// Sublinear growth: each doubling of the horizon adds less regret than the previous
/// doubling did (for linear regret the increments would double).
fn assert_sublinear(name: &str, r: &Run) {
    let at = |n: usize| r.regret[n - 1];
    let first_half = at(2500);
    let second_half = at(5000) - at(2500);
    assert!(
        second_half < 0.75 * first_half,
        "{name}: regret over orders 2501-5000 ({second_half:.0}) not below 0.75 x that over 1-2500 ({first_half:.0})"
    );
    let q1 = at(1250);
    let q4 = at(5000) - at(3750);
    assert!(
        q4 < 0.6 * q1,
        "{name}: last-quarter regret {q4:.0} vs first-quarter {q1:.0}"
    );
}

#[test]
fn learned_routing_beats_the_best_fixed_action_with_sublinear_regret() {
    let (fixed, oracle) = baselines();
    let best_fixed = fixed.iter().fold(f64::INFINITY, |m, x| m.min(*x));
    println!("fixed actions' mean slippage (bps): {fixed:.3?}; oracle {oracle:.3}");

    let linucb = LinUcb::new(LinUcbConfig {
        n_actions: 8,
        dim: N_FEATURES,
        alpha: 1.0,
        ridge: 1.0,
        ..Default::default()
    })
    .unwrap();
    let r = run(Box::new(linucb));
    report("LinUCB", &r, best_fixed);
    assert!(
        r.mean_slippage < best_fixed,
        "LinUCB {} vs best fixed {best_fixed}",
        r.mean_slippage
    );
    assert_sublinear("LinUCB", &r);

    let ts = LinearThompson::new(LinearThompsonConfig {
        n_actions: 8,
        dim: N_FEATURES,
        ..Default::default()
    })
    .unwrap();
    let r = run(Box::new(ts));
    report("Thompson", &r, best_fixed);
    assert!(
        r.mean_slippage < best_fixed,
        "Thompson {} vs best fixed {best_fixed}",
        r.mean_slippage
    );
    assert_sublinear("Thompson", &r);
}

/// Mean realized slippage of a policy routing every order, without learning from its own
/// choices when `learn` is false.
fn mean_slippage(policy: Box<dyn RoutingPolicy>, n: usize, learn: bool) -> f64 {
    let sim = simulator();
    let sp = space(&sim);
    let mut router = ExecutionRouter::new(RouterConfig::default(), sp.clone(), policy).unwrap();
    let mut total = 0.0;
    for t in 0..n as u64 {
        let s = sim.sample_state(10_000 + t);
        let d = router.decide(&state(&s), None, t).unwrap();
        assert!(d.propensity > 0.0 && d.propensity <= 1.0);
        let (event, slip) = fill_for(&sim, &sp, &s, &d, 50_000 + t);
        if learn {
            router.learn_fill(&event).unwrap();
        }
        total += slip;
    }
    total / n as f64
}

#[test]
fn shared_feature_and_epsilon_greedy_policies_route_and_learn() {
    let n = 2_000;
    let uniform = mean_slippage(
        Box::new(UniformRandom {
            n_actions: 8,
            context_dim: N_FEATURES,
        }),
        n,
        false,
    );
    // shared coefficients over [one-hot order type ; one-hot venue ; context]
    let action_features: Vec<Vec<f64>> = (0..8)
        .map(|a| {
            let mut z = vec![0.0; 6];
            z[a / 2] = 1.0;
            z[4 + a % 2] = 1.0;
            z
        })
        .collect();
    let shared = LinUcb::new(LinUcbConfig {
        n_actions: 8,
        dim: N_FEATURES,
        features: ArmFeatures::Shared { action_features },
        ..Default::default()
    })
    .unwrap();
    let shared_mean = mean_slippage(Box::new(shared), n, true);
    let eps = EpsilonGreedy::new(EpsilonGreedyConfig {
        n_actions: 8,
        dim: N_FEATURES,
        epsilon: 0.1,
        ..Default::default()
    })
    .unwrap();
    let eps_mean = mean_slippage(Box::new(eps), n, true);
    println!("mean slippage over {n} orders: uniform {uniform:.3}, shared-feature LinUCB {shared_mean:.3}, epsilon-greedy {eps_mean:.3}");
    assert!(
        shared_mean < uniform,
        "shared LinUCB {shared_mean} vs uniform {uniform}"
    );
    assert!(
        eps_mean < uniform,
        "epsilon-greedy {eps_mean} vs uniform {uniform}"
    );
}
