//! LinUCB and linear Thompson sampling against MABWiser 2.7.4 on the checked-in fixture
//! (tools/fixtures/learn/bandits/make_fixture.py): identical decision sequences over 5,000
//! rounds.

use prudentia_learn::bandit::{LinUcb, LinUcbConfig, LinearBandit, LinearThompson, LinearThompsonConfig};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    n_arms: usize,
    dim: usize,
    rounds: usize,
    contexts: Vec<Vec<f64>>,
    rewards: Vec<Vec<f64>>,
    ts_normals: Vec<Vec<f64>>,
    linucb_decisions: Vec<usize>,
    linucb_scores_every_50: Vec<Vec<f64>>,
    lints_decisions: Vec<usize>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/bandits.json");
    serde_json::from_str(text).expect("fixture")
}

/// One forced round per arm, as the reference's initial `fit`.
fn warm_up(p: &mut dyn LinearBandit, f: &Fixture) {
    for a in 0..f.n_arms {
        p.learn(&f.contexts[a], a, f.rewards[a][a]).unwrap();
    }
}

#[test]
fn linucb_decisions_equal_mabwiser() {
    let f = fixture();
    assert_eq!(f.linucb_decisions.len(), f.rounds);
    let mut p = LinUcb::new(LinUcbConfig {
        n_actions: f.n_arms,
        dim: f.dim,
        alpha: 1.0,
        ridge: 1.0,
        ..Default::default()
    })
    .unwrap();
    warm_up(&mut p, &f);
    let mut scores = vec![0.0; f.n_arms];
    let mut checked = 0;
    for t in 0..f.rounds {
        let x = &f.contexts[f.n_arms + t];
        let c = p.decide(x, None, true, t as u64, &mut scores).unwrap();
        assert_eq!(c.action, f.linucb_decisions[t], "round {t}");
        assert_eq!(c.propensity, 1.0);
        if let Some(row) = f.linucb_scores_every_50.iter().find(|r| r[0] as usize == t) {
            for a in 0..f.n_arms {
                let want = row[a + 1];
                assert!(
                    (scores[a] - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "round {t} arm {a}: {} vs {want}",
                    scores[a]
                );
            }
            checked += 1;
        }
        p.learn(x, c.action, f.rewards[f.n_arms + t][c.action]).unwrap();
    }
    assert_eq!(checked, f.rounds / 50);
}

#[test]
fn thompson_decisions_equal_mabwiser_with_the_same_normals() {
    let f = fixture();
    assert_eq!(f.lints_decisions.len(), f.rounds);
    let mut p = LinearThompson::new(LinearThompsonConfig {
        n_actions: f.n_arms,
        dim: f.dim,
        v: 1.0,
        ridge: 1.0,
        propensity_draws: 8,
        ..Default::default()
    })
    .unwrap();
    warm_up(&mut p, &f);
    let mut scores = vec![0.0; f.n_arms];
    for t in 0..f.rounds {
        let x = &f.contexts[f.n_arms + t];
        let c = p
            .decide_with_normals(x, None, &f.ts_normals[t], t as u64, &mut scores)
            .unwrap();
        assert_eq!(c.action, f.lints_decisions[t], "round {t}");
        assert!(c.propensity > 0.0 && c.propensity <= 1.0);
        p.learn(x, c.action, f.rewards[f.n_arms + t][c.action]).unwrap();
    }
}
