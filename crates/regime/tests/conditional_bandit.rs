//! Regime-conditional heads: the exploration freeze and regret against a pooled head on a
//! regime-switching bandit driven by prudentia-datasets' `SyntheticMarket` regime path.

use std::sync::{Arc, Mutex};

use prudentia_core::traits::ActionChoice;
use prudentia_core::traits::{Fit, OnlinePolicy, RoleResult};
use prudentia_core::{RegimeLabel, RegimeState};
use prudentia_datasets::{SyntheticConfig, SyntheticMarket};
use prudentia_learn::bandit::{LinUcb, LinUcbConfig};
use prudentia_regime::conditional::{ConditionalPolicyConfig, RegimeConditionalPolicy};
use prudentia_regime::hmm::GaussianHmmConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// Records the `explore` flag of every `choose` call.
#[derive(Clone)]
struct Probe {
    log: Arc<Mutex<Vec<bool>>>,
}

impl OnlinePolicy for Probe {
    fn n_actions(&self) -> usize {
        2
    }
    fn choose(&self, _: &[f64], explore: bool, _: u64) -> RoleResult<ActionChoice> {
        self.log.lock().unwrap().push(explore);
        Ok(ActionChoice {
            action: 0,
            propensity: 1.0,
            scores: vec![0.0, 0.0],
        })
    }
    fn update(&mut self, _: &[f64], _: usize, _: f64) -> RoleResult<()> {
        Ok(())
    }
}

#[test]
fn exploration_is_frozen_for_exactly_n_decisions_after_a_change() {
    const N: usize = 7;
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut p = RegimeConditionalPolicy::new(
        ConditionalPolicyConfig {
            freeze_decisions: N,
            freeze_on_change_point: true,
        },
        Probe { log: log.clone() },
    )
    .unwrap();
    let on = RegimeState::certain(RegimeLabel::RISK_ON);
    let off = RegimeState::certain(RegimeLabel::RISK_OFF);
    // the first regime is not a change
    assert!(!p.observe_regime(&on));
    for _ in 0..5 {
        p.decide(&[0.0], 0).unwrap();
    }
    // a label change freezes exactly N decisions
    assert!(p.observe_regime(&off));
    for _ in 0..N + 5 {
        p.observe_regime(&off);
        p.decide(&[0.0], 0).unwrap();
    }
    // a change point inside the same label freezes again
    let mut cp = off.clone();
    cp.changed = true;
    assert!(p.observe_regime(&cp));
    for _ in 0..N + 3 {
        p.decide(&[0.0], 0).unwrap();
    }
    let flags = log.lock().unwrap().clone();
    let mut expected = vec![true; 5];
    expected.extend(std::iter::repeat_n(false, N));
    expected.extend(std::iter::repeat_n(true, 5));
    expected.extend(std::iter::repeat_n(false, N));
    expected.extend(std::iter::repeat_n(true, 3));
    assert_eq!(flags, expected);
    assert_eq!(p.n_heads(), 2);
    assert_eq!(p.frozen_remaining(), 0);
}

#[test]
fn unseen_regimes_start_from_the_conservative_template() {
    let template = LinUcb::new(LinUcbConfig {
        n_actions: 2,
        dim: 1,
        ridge: 50.0,
        ..Default::default()
    })
    .unwrap();
    let mut p = RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), template.clone()).unwrap();
    p.observe_regime(&RegimeState::certain(RegimeLabel::RISK_ON));
    for _ in 0..30 {
        let c = p.decide(&[1.0], 0).unwrap();
        p.update(&[1.0], c.action, 1.0).unwrap();
    }
    p.observe_regime(&RegimeState::certain(RegimeLabel::HIGH_VOL));
    assert_eq!(p.head(&RegimeLabel::HIGH_VOL), Some(&template));
    assert_ne!(p.head(&RegimeLabel::RISK_ON), Some(&template));
    // bad input reaches the caller as a typed error
    assert!(p.update(&[1.0], 9, 1.0).is_err());
    assert!(p.decide(&[f64::NAN], 0).is_err());
}

/// Expected reward of each arm in each regime: arm 0 leans into risk (good in risk-on),
/// arm 2 is defensive (good in risk-off), arm 1 is in between; context [1, z].
fn theta(regime: usize, arm: usize) -> [f64; 2] {
    match (regime, arm) {
        (0, 0) => [0.8, 0.3],
        (0, 1) => [0.4, 0.0],
        (0, 2) => [0.0, -0.2],
        (_, 0) => [-0.6, 0.3],
        (_, 1) => [0.1, 0.0],
        (_, _) => [0.5, -0.2],
    }
}

fn mean_reward(regime: usize, arm: usize, x: &[f64; 2]) -> f64 {
    let t = theta(regime, arm);
    t[0] * x[0] + t[1] * x[1]
}

fn label(regime: usize) -> RegimeLabel {
    if regime == 0 {
        RegimeLabel::RISK_ON
    } else {
        RegimeLabel::RISK_OFF
    }
}

/// Runs a policy over days `from..` with the given regime labels; returns cumulative regret.
fn run(
    regimes: &[usize],
    labels: &[usize],
    from: usize,
    mut decide: impl FnMut(usize, &[f64; 2]) -> usize,
    mut learn: impl FnMut(&[f64; 2], usize, f64),
) -> f64 {
    let mut rng = StdRng::seed_from_u64(99);
    let z = Normal::new(0.0, 1.0).unwrap();
    let mut regret = 0.0;
    for t in from..regimes.len() {
        let x = [1.0, z.sample(&mut rng)];
        let arm = decide(labels[t], &x);
        let best = (0..3)
            .map(|a| mean_reward(regimes[t], a, &x))
            .fold(f64::NEG_INFINITY, f64::max);
        let mean = mean_reward(regimes[t], arm, &x);
        regret += best - mean;
        learn(&x, arm, mean + 0.3 * z.sample(&mut rng));
    }
    regret
}

fn lin() -> LinUcb {
    LinUcb::new(LinUcbConfig {
        n_actions: 3,
        dim: 2,
        alpha: 0.5,
        ridge: 1.0,
        prior_mean: vec![],
        ..Default::default()
    })
    .unwrap()
}

fn regrets(regimes: &[usize], labels: &[usize], from: usize) -> (f64, f64) {
    let cond = std::cell::RefCell::new(
        RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), lin()).unwrap(),
    );
    let r_cond = run(
        regimes,
        labels,
        from,
        |l, x| {
            let mut c = cond.borrow_mut();
            c.observe_regime(&RegimeState::certain(label(l)));
            c.decide(x, 0).unwrap().action
        },
        |x, a, r| cond.borrow_mut().update(x, a, r).unwrap(),
    );
    let pooled = std::cell::RefCell::new(lin());
    let r_pool = run(
        regimes,
        labels,
        from,
        |_, x| pooled.borrow().choose(x, true, 0).unwrap().action,
        |x, a, r| pooled.borrow_mut().update(x, a, r).unwrap(),
    );
    (r_cond, r_pool)
}

#[test]
fn conditional_heads_beat_a_pooled_head_on_the_synthetic_market() {
    let m = SyntheticMarket::generate(&SyntheticConfig {
        seed: 3,
        n_assets: 10,
        n_sectors: 2,
        n_days: 2520,
        ..Default::default()
    })
    .unwrap();
    let regimes = m.regimes.clone();
    // (a) the true regime labels
    let (oracle, pooled) = regrets(&regimes, &regimes, 0);
    // (b) labels from an HMM fitted on the first 1000 days, filtered online afterwards
    let x = m.index_returns.to_vec();
    let fit = GaussianHmmConfig {
        n_states: 2,
        restarts: 3,
        tolerance: 1e-6,
        ..Default::default()
    }
    .fit(&x[..1000])
    .unwrap();
    let calm = if fit.model.params().variances[0] < fit.model.params().variances[1] {
        0
    } else {
        1
    };
    let mut filter = fit.model.filter();
    let mut detected = vec![0usize; x.len()];
    for t in 1..x.len() {
        // decide at t with returns up to t − 1
        let probs = filter.update(x[t - 1]).unwrap();
        let state = if probs[calm] >= 0.5 { calm } else { 1 - calm };
        detected[t] = if state == calm { 0 } else { 1 };
    }
    let agreement =
        (1000..x.len()).filter(|&t| detected[t] == regimes[t]).count() as f64 / (x.len() - 1000) as f64;
    let (hmm_cond, hmm_pooled) = regrets(&regimes, &detected, 1000);
    eprintln!(
        "cumulative regret over 2520 days: conditional (true labels) {oracle:.1} vs pooled {pooled:.1}; \
         days 1000-2519 with HMM-filtered labels ({:.1}% agreement): conditional {hmm_cond:.1} vs pooled {hmm_pooled:.1}",
        100.0 * agreement
    );
    assert!(oracle < pooled);
    assert!(hmm_cond < hmm_pooled);
}

#[test]
fn hmm_regime_detector_tracks_synthetic_regimes() {
    use prudentia_core::traits::RegimeDetector;
    use prudentia_core::{AssetId, MarketSnapshot, Quote, Timestamp};
    use prudentia_regime::detector::HmmRegimeDetector;
    let m = SyntheticMarket::generate(&SyntheticConfig {
        seed: 5,
        n_assets: 10,
        n_sectors: 2,
        n_days: 2000,
        ..Default::default()
    })
    .unwrap();
    let x = m.index_returns.to_vec();
    let fit = GaussianHmmConfig {
        restarts: 2,
        tolerance: 1e-6,
        ..Default::default()
    }
    .fit(&x[..1000])
    .unwrap();
    let mut det: Box<dyn RegimeDetector> = Box::new(HmmRegimeDetector::new(&fit.model, None));
    let mut price = 100.0;
    let mut agree = 0;
    for (t, r) in x.iter().enumerate() {
        // price after day t's return; the state at t uses returns up to t
        price *= r.exp();
        let time = Timestamp::from_nanos(t as i64 * Timestamp::NANOS_PER_DAY);
        let s = det
            .observe(&MarketSnapshot {
                time,
                quotes: vec![Quote {
                    asset: AssetId::new("IDX"),
                    time,
                    price,
                    volume: None,
                    spread_bps: None,
                }],
                indicators: vec![],
                assets: vec![],
            })
            .unwrap();
        let total: f64 = s.probabilities.iter().map(|p| p.1).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!((0.0..=1.0).contains(&s.change_probability));
        let truth_high = m.regimes[t] == 1;
        if t >= 1000 && (s.label == RegimeLabel::HIGH_VOL) == truth_high {
            agree += 1;
        }
    }
    let share = agree as f64 / 1000.0;
    eprintln!("HMM detector label agreement with the true regime on days 1000-1999: {share:.3}");
    assert!(share > 0.9);

    // a snapshot without the reference quote holds the current state without filtering
    let empty = MarketSnapshot {
        time: Timestamp::from_nanos(3000 * Timestamp::NANOS_PER_DAY),
        quotes: vec![],
        indicators: vec![],
        assets: vec![],
    };
    let mut held_det = HmmRegimeDetector::new(&fit.model, None);
    let mut twin = held_det.clone();
    let mut last = None;
    for (t, p) in [100.0, 101.0, 99.0].into_iter().enumerate() {
        let time = Timestamp::from_nanos(t as i64 * Timestamp::NANOS_PER_DAY);
        let s = MarketSnapshot {
            time,
            quotes: vec![Quote {
                asset: AssetId::new("IDX"),
                time,
                price: p,
                volume: None,
                spread_bps: None,
            }],
            indicators: vec![],
            assets: vec![],
        };
        last = Some(held_det.step(&s).unwrap());
        let _ = twin.step(&s).unwrap();
    }
    let last = last.unwrap();
    let held = held_det.step(&empty).unwrap();
    assert_eq!(held.label, last.label);
    assert_eq!(held.probabilities, last.probabilities);
    assert!(!held.changed);
    assert_eq!(held.change_probability, 0.0);
    assert_eq!(held_det, twin);
    assert!(HmmRegimeDetector::new(&fit.model, None).step(&empty).is_err());
}
