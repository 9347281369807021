//! The linear bandits: LinUCB (moved here from prudentia-regime with its tests), linear
//! Thompson sampling and ε-greedy; masks, propensities, seeds, checkpoints, bad input.

use prudentia_core::traits::OnlinePolicy;
use prudentia_core::CoreError;
use prudentia_learn::bandit::{
    ArmFeatures, EpsilonGreedy, EpsilonGreedyConfig, LinUcb, LinUcbConfig, LinearBandit, LinearThompson,
    LinearThompsonConfig,
};
use prudentia_learn::LearnError;

#[test]
fn linucb_corrupted_checkpoints_are_rejected_at_load() {
    // LinUCB: a state array of the wrong size, a non-finite value, an invalid config
    let p = LinUcb::new(LinUcbConfig {
        n_actions: 3,
        dim: 2,
        ..Default::default()
    })
    .unwrap();
    let good: serde_json::Value = serde_json::to_value(&p).unwrap();
    assert!(serde_json::from_value::<LinUcb>(good.clone()).is_ok());
    let mut short = good.clone();
    short["state"]["a_inv"].as_array_mut().unwrap().pop();
    let err = serde_json::from_value::<LinUcb>(short).unwrap_err().to_string();
    assert!(err.contains("linucb.a_inv"), "{err}");
    let mut counts = good.clone();
    counts["state"]["counts"] = serde_json::json!([0, 0]);
    assert!(serde_json::from_value::<LinUcb>(counts).is_err());
    let mut bad_cfg = good;
    bad_cfg["config"]["dim"] = serde_json::json!(0);
    assert!(serde_json::from_value::<LinUcb>(bad_cfg).is_err());
}

#[test]
fn linucb_accessors_are_checked_not_panicking() {
    let mut p = LinUcb::new(LinUcbConfig {
        n_actions: 2,
        dim: 2,
        ..Default::default()
    })
    .unwrap();
    p.learn(&[1.0, 0.5], 1, 0.3).unwrap();
    assert_eq!(p.theta(1).map(<[f64]>::len), Some(2));
    assert!(p.theta(2).is_none());
    assert!(p.theta(usize::MAX).is_none());
    assert!(matches!(
        p.mean_and_width(2, &[1.0, 0.5]),
        Err(LearnError::UnknownAction {
            action: 2,
            n_actions: 2
        })
    ));
    assert!(matches!(
        p.mean_and_width(0, &[1.0]),
        Err(LearnError::Core(CoreError::ShapeMismatch { .. }))
    ));
    assert!(p.mean_and_width(0, &[f64::NAN, 1.0]).is_err());
    let (m, w) = p.mean_and_width(1, &[1.0, 0.5]).unwrap();
    assert!(m.is_finite() && w > 0.0);
}

#[test]
fn linucb_extreme_updates_are_rejected_without_change_and_sizes_are_capped() {
    let mut p = LinUcb::new(LinUcbConfig {
        n_actions: 2,
        dim: 2,
        ..Default::default()
    })
    .unwrap();
    p.learn(&[1.0, 0.5], 0, 0.3).unwrap();
    let before = p.clone();
    for (x, r) in [
        ([1e300, 1.0], 1.0),
        ([1.0, 1.0], f64::MAX),
        ([f64::MAX, f64::MAX], 0.0),
    ] {
        assert!(p.learn(&x, 0, r).is_err(), "{x:?} {r}");
        assert_eq!(p, before);
    }
    // scores that overflow are errors, not infinite Ok scores
    assert!(p.select(&[1e300, 1e300], true).is_err());
    let json = serde_json::to_string(&p).unwrap();
    assert!(serde_json::from_str::<LinUcb>(&json).is_ok());
    for (k, d) in [(usize::MAX, 1), (1, usize::MAX), (1 << 40, 2), (1 << 10, 1 << 10)] {
        assert!(matches!(
            LinUcb::new(LinUcbConfig {
                n_actions: k,
                dim: d,
                ..Default::default()
            }),
            Err(LearnError::Core(CoreError::TooLarge { .. }))
        ));
    }
}

fn ctx(t: u64) -> [f64; 3] {
    [1.0, (t as f64 * 0.37).sin(), (t as f64 * 0.11).cos()]
}

/// Reward of each of 4 actions: action 2 best when ctx[1] > 0, action 0 otherwise.
fn reward(t: u64, a: usize) -> f64 {
    let x = ctx(t);
    let th = [
        [0.3, -0.5, 0.1],
        [0.1, 0.0, 0.0],
        [0.2, 0.8, -0.1],
        [0.0, 0.1, 0.1],
    ];
    th[a].iter().zip(&x).map(|(p, q)| p * q).sum::<f64>() + 0.05 * ((t * 7919 % 101) as f64 / 101.0 - 0.5)
}

fn policies(features: ArmFeatures) -> Vec<Box<dyn LinearBandit>> {
    vec![
        Box::new(
            LinUcb::new(LinUcbConfig {
                n_actions: 4,
                dim: 3,
                features: features.clone(),
                ..Default::default()
            })
            .unwrap(),
        ),
        Box::new(
            LinearThompson::new(LinearThompsonConfig {
                n_actions: 4,
                dim: 3,
                v: 0.3,
                features: features.clone(),
                ..Default::default()
            })
            .unwrap(),
        ),
        Box::new(
            EpsilonGreedy::new(EpsilonGreedyConfig {
                n_actions: 4,
                dim: 3,
                epsilon: 0.2,
                decay: 0.01,
                min_epsilon: 0.01,
                features,
                ..Default::default()
            })
            .unwrap(),
        ),
    ]
}

fn one_hot_features() -> ArmFeatures {
    ArmFeatures::Shared {
        action_features: (0..4)
            .map(|a| (0..4).map(|j| if j == a { 1.0 } else { 0.0 }).collect())
            .collect(),
    }
}

/// Runs `rounds` choose/learn steps; returns the chosen actions.
fn run(p: &mut dyn LinearBandit, rounds: u64, seed: u64, mask: Option<&[bool]>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut scores = vec![0.0; p.n_actions()];
    for t in 0..rounds {
        let c = p
            .decide(
                &ctx(t),
                mask,
                true,
                seed.wrapping_mul(1_000_003).wrapping_add(t),
                &mut scores,
            )
            .unwrap();
        assert!(c.propensity > 0.0 && c.propensity <= 1.0, "{c:?}");
        assert!(scores.iter().all(|s| s.is_finite()));
        p.learn(&ctx(t), c.action, reward(t, c.action)).unwrap();
        out.push(c.action);
    }
    out
}

#[test]
fn every_policy_learns_the_best_action_disjoint_and_shared() {
    for features in [ArmFeatures::Disjoint, one_hot_features()] {
        for mut p in policies(features.clone()) {
            let _ = run(p.as_mut(), 600, 1, None);
            // greedy choices after learning: the best action in most contexts
            let mut right = 0;
            for t in 1000..1200 {
                let c = p.choose_masked(&ctx(t), None, false, 0).unwrap();
                let best = (0..4)
                    .max_by(|&a, &b| reward(t, a).total_cmp(&reward(t, b)))
                    .unwrap();
                right += usize::from(c.action == best);
                assert_eq!(c.propensity, 1.0);
            }
            // the shared one-hot model has no context interaction: it learns one best
            // action on average, which is right about half the time here
            let need = if matches!(features, ArmFeatures::Disjoint) {
                170
            } else {
                60
            };
            assert!(right >= need, "{right} of 200 ({features:?})");
        }
    }
}

#[test]
fn same_seed_same_sequence_and_different_seeds_differ() {
    for features in [ArmFeatures::Disjoint, one_hot_features()] {
        let mut ps = policies(features.clone());
        let mut qs = policies(features.clone());
        let mut rs = policies(features);
        for (i, ((p, q), r)) in ps.iter_mut().zip(qs.iter_mut()).zip(rs.iter_mut()).enumerate() {
            let a = run(p.as_mut(), 300, 5, None);
            let b = run(q.as_mut(), 300, 5, None);
            let c = run(r.as_mut(), 300, 6, None);
            assert_eq!(a, b, "policy {i}");
            if i > 0 {
                // Thompson sampling and ε-greedy are random: another seed, another path
                assert_ne!(a, c, "policy {i}");
            }
        }
    }
}

#[test]
fn masks_are_honoured_and_an_empty_mask_is_an_error() {
    let mask = [true, false, false, true];
    for features in [ArmFeatures::Disjoint, one_hot_features()] {
        for mut p in policies(features) {
            let chosen = run(p.as_mut(), 200, 3, Some(&mask));
            assert!(chosen.iter().all(|&a| mask[a]));
            let mut scores = [0.0; 4];
            assert!(matches!(
                p.decide(&ctx(0), Some(&[false; 4]), true, 0, &mut scores),
                Err(LearnError::NoAllowedAction { n_actions: 4 })
            ));
            assert!(matches!(
                p.decide(&ctx(0), Some(&[true; 3]), true, 0, &mut scores),
                Err(LearnError::Core(CoreError::ShapeMismatch { .. }))
            ));
            assert!(matches!(
                p.decide(&ctx(0), None, true, 0, &mut [0.0; 3]),
                Err(LearnError::Core(CoreError::ShapeMismatch { .. }))
            ));
            // a single allowed action is chosen with certainty
            let c = p
                .decide(&ctx(1), Some(&[false, false, true, false]), true, 9, &mut scores)
                .unwrap();
            assert_eq!((c.action, c.propensity), (2, 1.0));
        }
    }
}

#[test]
fn bad_input_is_typed_and_changes_nothing() {
    for features in [ArmFeatures::Disjoint, one_hot_features()] {
        for mut p in policies(features) {
            let _ = run(p.as_mut(), 20, 1, None);
            let before = serde_json_of(p.as_ref());
            let mut scores = [0.0; 4];
            assert!(matches!(
                p.decide(&[1.0, 2.0], None, true, 0, &mut scores),
                Err(LearnError::Core(CoreError::ShapeMismatch { .. }))
            ));
            assert!(matches!(
                p.decide(&[1.0, f64::NAN, 0.0], None, true, 0, &mut scores),
                Err(LearnError::Core(CoreError::NonFinite { .. }))
            ));
            assert!(p
                .decide(&[1.0, f64::INFINITY, 0.0], None, false, 0, &mut scores)
                .is_err());
            assert!(matches!(
                p.learn(&ctx(1), 4, 1.0),
                Err(LearnError::UnknownAction {
                    action: 4,
                    n_actions: 4
                })
            ));
            assert!(p.learn(&ctx(1), usize::MAX, 1.0).is_err());
            assert!(p.learn(&ctx(1), 0, f64::NAN).is_err());
            assert!(p.learn(&ctx(1), 0, f64::NEG_INFINITY).is_err());
            assert!(p.learn(&[1.0, f64::NAN, 0.0], 0, 1.0).is_err());
            assert!(p.learn(&[1e300, 1e300, 1e300], 0, 1.0).is_err());
            assert!(p.learn(&ctx(1), 0, f64::MAX).is_err());
            assert!(p.learn_row(&[1.0], 0, 1.0).is_err());
            assert!(p.decide_rows(&[1.0; 3], None, true, 0, &mut scores).is_err());
            // a score that overflows is an error, not an infinite Ok
            for x in [
                [1e300, 1e300, 1e300],
                [f64::MAX, -f64::MAX, f64::MAX],
                [5e-324, 0.0, -5e-324],
            ] {
                match p.decide(&x, None, true, 0, &mut scores) {
                    Ok(c) => assert!(scores.iter().all(|s| s.is_finite()) && c.propensity > 0.0),
                    Err(e) => assert!(matches!(e, LearnError::Core(CoreError::Numerical { .. })), "{e}"),
                }
            }
            assert_eq!(
                before,
                serde_json_of(p.as_ref()),
                "a rejected call changed the policy"
            );
            // the trait's errors are typed too
            assert!(p.update(&ctx(1), 7, 1.0).is_err());
            assert!(p.choose(&[0.0], true, 0).is_err());
        }
    }
}

/// The checkpoint of a boxed policy (through its concrete type).
fn serde_json_of(p: &dyn LinearBandit) -> Vec<u64> {
    // the counts and greedy scores on a fixed context identify the state well enough here
    let mut s = vec![0.0; p.n_actions()];
    let _ = p.decide(&ctx(99), None, false, 0, &mut s).unwrap();
    p.counts()
        .iter()
        .copied()
        .chain(s.iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn sizes_beyond_the_limits_are_typed_errors() {
    for (k, d) in [
        (usize::MAX, 1),
        (1, usize::MAX),
        (1 << 40, 2),
        (1 << 10, 1 << 10),
        (0, 1),
        (1, 0),
    ] {
        assert!(LinUcb::new(LinUcbConfig {
            n_actions: k,
            dim: d,
            ..Default::default()
        })
        .is_err());
        assert!(LinearThompson::new(LinearThompsonConfig {
            n_actions: k,
            dim: d,
            ..Default::default()
        })
        .is_err());
        assert!(EpsilonGreedy::new(EpsilonGreedyConfig {
            n_actions: k,
            dim: d,
            ..Default::default()
        })
        .is_err());
    }
    // a shared model with 2¹⁶ actions and a wide row: n_actions × row_dim beyond 2²⁸
    let wide = ArmFeatures::Shared {
        action_features: vec![vec![0.0; 1]; 1 << 16],
    };
    assert!(matches!(
        LinUcb::new(LinUcbConfig {
            n_actions: 1 << 16,
            dim: 1 << 13,
            features: wide,
            ..Default::default()
        }),
        Err(LearnError::Core(CoreError::TooLarge { .. }))
    ));
    // action features of ragged width, of the wrong count, non-finite
    for action_features in [
        vec![vec![1.0], vec![1.0, 2.0]],
        vec![vec![1.0]],
        vec![vec![f64::NAN], vec![1.0]],
        vec![vec![1e300], vec![1.0]],
    ] {
        assert!(LinUcb::new(LinUcbConfig {
            features: ArmFeatures::Shared { action_features },
            ..Default::default()
        })
        .is_err());
    }
    for (eps, decay, floor) in [
        (1.5, 0.0, 0.0),
        (f64::NAN, 0.0, 0.0),
        (0.1, -1.0, 0.0),
        (0.1, 0.0, 0.2),
    ] {
        assert!(EpsilonGreedy::new(EpsilonGreedyConfig {
            epsilon: eps,
            decay,
            min_epsilon: floor,
            ..Default::default()
        })
        .is_err());
    }
    for draws in [0, usize::MAX] {
        assert!(LinearThompson::new(LinearThompsonConfig {
            propensity_draws: draws,
            ..Default::default()
        })
        .is_err());
    }
    assert!(LinearThompson::new(LinearThompsonConfig {
        v: f64::INFINITY,
        ..Default::default()
    })
    .is_err());
}

#[test]
fn ties_are_split_evenly_with_the_seed() {
    // a fresh policy scores every action the same
    let p = LinUcb::new(LinUcbConfig {
        n_actions: 4,
        dim: 2,
        ..Default::default()
    })
    .unwrap();
    let mut seen = [0usize; 4];
    for seed in 0..400 {
        let c = p.choose_masked(&[1.0, 0.5], None, true, seed).unwrap();
        assert_eq!(c.propensity, 0.25);
        seen[c.action] += 1;
    }
    assert!(seen.iter().all(|&n| (60..=140).contains(&n)), "{seen:?}");
    // within a mask: split among the allowed tied actions
    let c = p
        .choose_masked(&[1.0, 0.5], Some(&[false, true, true, false]), true, 3)
        .unwrap();
    assert!(c.action == 1 || c.action == 2);
    assert_eq!(c.propensity, 0.5);
}

#[test]
fn epsilon_greedy_propensities_are_exact_and_match_frequencies() {
    let mut p = EpsilonGreedy::new(EpsilonGreedyConfig {
        n_actions: 4,
        dim: 1,
        epsilon: 0.3,
        decay: 0.5,
        min_epsilon: 0.1,
        ..Default::default()
    })
    .unwrap();
    p.learn(&[1.0], 1, 1.0).unwrap();
    // ε after one update: max(0.1, 0.3 / 1.5) = 0.2
    assert!((p.epsilon() - 0.2).abs() < 1e-15);
    let mask = [true, true, false, true];
    let mut counts = [0usize; 4];
    let n = 20_000;
    for seed in 0..n {
        let c = p.choose_masked(&[1.0], Some(&mask), true, seed).unwrap();
        let want = if c.action == 1 { 0.8 + 0.2 / 3.0 } else { 0.2 / 3.0 };
        assert!((c.propensity - want).abs() < 1e-12, "{c:?}");
        counts[c.action] += 1;
    }
    assert_eq!(counts[2], 0);
    let freq = counts[1] as f64 / n as f64;
    assert!((freq - (0.8 + 0.2 / 3.0)).abs() < 0.01, "{freq}");
    // greedy: no exploration
    let g = p.choose_masked(&[1.0], Some(&mask), false, 1).unwrap();
    assert_eq!((g.action, g.propensity), (1, 1.0));
    // decays to the floor
    for _ in 0..100 {
        p.learn(&[1.0], 0, 0.0).unwrap();
    }
    assert_eq!(p.epsilon(), 0.1);
}

#[test]
fn thompson_propensity_estimates_the_choice_frequency() {
    let mut p = LinearThompson::new(LinearThompsonConfig {
        n_actions: 3,
        dim: 2,
        v: 1.0,
        propensity_draws: 400,
        ..Default::default()
    })
    .unwrap();
    for t in 0..30 {
        let x = [1.0, (t as f64).sin()];
        p.learn(&x, (t % 3) as usize, [0.2, 0.3, 0.25][(t % 3) as usize])
            .unwrap();
    }
    let x = [1.0, 0.3];
    let n = 3000;
    let mut counts = [0usize; 3];
    let mut mean_prop = [0.0; 3];
    for seed in 0..n {
        let c = p.choose_masked(&x, None, true, seed).unwrap();
        counts[c.action] += 1;
        mean_prop[c.action] += c.propensity;
    }
    for a in 0..3 {
        if counts[a] > 100 {
            let freq = counts[a] as f64 / n as f64;
            let est = mean_prop[a] / counts[a] as f64;
            assert!(
                (freq - est).abs() < 0.05,
                "action {a}: frequency {freq}, propensity {est}"
            );
        }
    }
    assert!(counts.iter().filter(|&&c| c > 0).count() >= 2, "{counts:?}");
}

#[test]
fn checkpoints_restore_identical_decisions() {
    fn check<P>(mut p: P)
    where
        P: LinearBandit + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let _ = run(&mut p, 100, 2, None);
        let json = serde_json::to_string(&p).unwrap();
        let mut q: P = serde_json::from_str(&json).unwrap();
        assert_eq!(p, q);
        assert_eq!(run(&mut p, 100, 3, None), run(&mut q, 100, 3, None));
        assert_eq!(p, q);
    }
    for features in [ArmFeatures::Disjoint, one_hot_features()] {
        check(
            LinUcb::new(LinUcbConfig {
                n_actions: 4,
                dim: 3,
                features: features.clone(),
                ..Default::default()
            })
            .unwrap(),
        );
        check(
            LinearThompson::new(LinearThompsonConfig {
                n_actions: 4,
                dim: 3,
                features: features.clone(),
                ..Default::default()
            })
            .unwrap(),
        );
        check(
            EpsilonGreedy::new(EpsilonGreedyConfig {
                n_actions: 4,
                dim: 3,
                features,
                ..Default::default()
            })
            .unwrap(),
        );
    }
}

#[test]
fn tampered_thompson_and_epsilon_checkpoints_are_rejected() {
    let p = LinearThompson::new(LinearThompsonConfig {
        n_actions: 2,
        dim: 2,
        ..Default::default()
    })
    .unwrap();
    let good = serde_json::to_value(&p).unwrap();
    assert!(serde_json::from_value::<LinearThompson>(good.clone()).is_ok());
    // an A⁻¹ that is not positive definite (positive diagonal, |off-diagonal| too large)
    let mut v = good.clone();
    v["state"]["a_inv"][1] = serde_json::json!(5.0);
    v["state"]["a_inv"][2] = serde_json::json!(5.0);
    assert!(serde_json::from_value::<LinearThompson>(v).is_err());
    let mut v = good.clone();
    v["config"]["propensity_draws"] = serde_json::json!(0);
    assert!(serde_json::from_value::<LinearThompson>(v).is_err());
    let mut v = good;
    v["state"]["theta"][0] = serde_json::json!(3.0);
    assert!(serde_json::from_value::<LinearThompson>(v).is_err());

    let e = EpsilonGreedy::new(EpsilonGreedyConfig::default()).unwrap();
    let good = serde_json::to_value(&e).unwrap();
    let mut v = good.clone();
    v["config"]["epsilon"] = serde_json::json!(2.0);
    assert!(serde_json::from_value::<EpsilonGreedy>(v).is_err());
    let mut v = good;
    v["state"]["counts"] = serde_json::json!([1]);
    assert!(serde_json::from_value::<EpsilonGreedy>(v).is_err());
}

#[test]
fn rows_entry_points_equal_the_context_ones_for_shared_models() {
    let f = one_hot_features();
    let mut a = LinUcb::new(LinUcbConfig {
        n_actions: 4,
        dim: 3,
        features: f.clone(),
        ..Default::default()
    })
    .unwrap();
    let mut b = a.clone();
    let rows_of = |t: u64| -> Vec<f64> {
        (0..4)
            .flat_map(|k| {
                let mut r: Vec<f64> = (0..4).map(|j| if j == k { 1.0 } else { 0.0 }).collect();
                r.extend_from_slice(&ctx(t));
                r
            })
            .collect()
    };
    assert_eq!(b.row_dim(), 7);
    let (mut sa, mut sb) = ([0.0; 4], [0.0; 4]);
    for t in 0..100 {
        let ca = a.decide(&ctx(t), None, true, t, &mut sa).unwrap();
        let cb = b.decide_rows(&rows_of(t), None, true, t, &mut sb).unwrap();
        assert_eq!(ca, cb);
        assert_eq!(sa, sb);
        a.learn(&ctx(t), ca.action, reward(t, ca.action)).unwrap();
        let r = rows_of(t);
        b.learn_row(
            &r[ca.action * 7..(ca.action + 1) * 7],
            cb.action,
            reward(t, cb.action),
        )
        .unwrap();
    }
    assert_eq!(a, b);
}

#[test]
fn policies_are_send_sync_and_object_safe() {
    fn check<T: Send + Sync>() {}
    check::<LinUcb>();
    check::<LinearThompson>();
    check::<EpsilonGreedy>();
    let boxed: Vec<Box<dyn OnlinePolicy>> = vec![
        Box::new(LinUcb::new(LinUcbConfig::default()).unwrap()),
        Box::new(LinearThompson::new(LinearThompsonConfig::default()).unwrap()),
        Box::new(EpsilonGreedy::new(EpsilonGreedyConfig::default()).unwrap()),
    ];
    for p in boxed {
        let c = p.choose(&[1.0], true, 1).unwrap();
        assert!(c.action < 2 && c.propensity > 0.0 && c.scores.len() == 2);
    }
}
