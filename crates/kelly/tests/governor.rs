//! The drawdown governor: continuity and monotonicity of the schedule (proptest), and the
//! state's checkpoint/restore.

use proptest::prelude::*;
use prudentia_kelly::governor::{DrawdownGovernor, DrawdownGovernorConfig};

fn config() -> impl Strategy<Value = DrawdownGovernorConfig> {
    (0.0..0.5f64, 0.01..0.5f64, 0.1..10.0f64).prop_map(|(start, width, p)| DrawdownGovernorConfig {
        start_drawdown: start,
        stop_drawdown: (start + width).min(1.0),
        exponent: p,
        recovery_half_life: None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn schedule_is_monotone_and_bounded(c in config(), a in 0.0..1.0f64, b in 0.0..1.0f64) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (g_lo, g_hi) = (c.multiplier(lo), c.multiplier(hi));
        prop_assert!((0.0..=1.0).contains(&g_lo) && (0.0..=1.0).contains(&g_hi));
        prop_assert!(g_hi <= g_lo, "g({hi}) = {g_hi} > g({lo}) = {g_lo}");
    }

    /// Continuity: |g(d + h) − g(d)| ≤ L h^min(p,1) with L = 1 / (d₁ − d₀)^min(p,1) · max(p, 1),
    /// i.e. no jump anywhere, including at the start and the hard stop.
    #[test]
    fn schedule_is_continuous(c in config(), d in 0.0..1.0f64, h in 1e-9..1e-4f64) {
        let w = c.stop_drawdown - c.start_drawdown;
        let q = c.exponent.min(1.0);
        let bound = c.exponent.max(1.0) * (h / w).powf(q) + 1e-12;
        let jump = (c.multiplier(d + h) - c.multiplier(d)).abs();
        prop_assert!(jump <= bound, "jump {jump} > {bound} at d = {d}, h = {h}");
    }

    #[test]
    fn endpoints(c in config()) {
        prop_assert_eq!(c.multiplier(c.start_drawdown), 1.0);
        prop_assert_eq!(c.multiplier(c.stop_drawdown), 0.0);
        // just before the stop: g(d₁ − ε) = (ε / (d₁ − d₀))^p
        let w = c.stop_drawdown - c.start_drawdown;
        let expected = (1e-9 / w).powf(c.exponent);
        prop_assert!((c.multiplier(c.stop_drawdown - 1e-9) - expected).abs() < 1e-6);
    }

    #[test]
    fn observed_multiplier_follows_equity(c in config(), path in prop::collection::vec(0.5..1.5f64, 1..50)) {
        let mut g = DrawdownGovernor::new(c).unwrap();
        let mut equity = 100.0;
        let mut peak: f64 = 0.0;
        for x in path {
            equity *= x;
            peak = peak.max(equity);
            let m = g.observe(equity).unwrap();
            let dd = 1.0 - equity / peak;
            prop_assert!((g.state().drawdown - dd).abs() < 1e-12);
            prop_assert_eq!(m, c.multiplier(g.state().drawdown));
        }
    }
}

#[test]
fn seed_rule_would_jump_but_ours_does_not() {
    // The seed's `1 − DD/threshold` with threshold 0.10 is negative just past 0.10 and was
    // clamped to 0 at once; the governor with start 0.10 is still at ~1 there.
    let c = DrawdownGovernorConfig {
        start_drawdown: 0.10,
        stop_drawdown: 0.25,
        ..Default::default()
    };
    assert!(c.multiplier(0.1001) > 0.999);
}

#[test]
fn checkpoint_restore_gives_identical_outputs() {
    let mut a = DrawdownGovernor::new(DrawdownGovernorConfig::default()).unwrap();
    for e in [100.0, 120.0, 108.0] {
        a.observe(e).unwrap();
    }
    let json = serde_json::to_string(&a).unwrap();
    let mut b: DrawdownGovernor = serde_json::from_str(&json).unwrap();
    assert_eq!(a, b);
    for e in [101.0, 99.0, 125.0, 110.0] {
        assert_eq!(a.observe(e).unwrap(), b.observe(e).unwrap());
    }
    assert_eq!(a.state(), b.state());
}

#[test]
fn tampered_checkpoints_are_refused_on_load() {
    let mut a = DrawdownGovernor::new(DrawdownGovernorConfig::default()).unwrap();
    for e in [100.0, 120.0, 108.0] {
        a.observe(e).unwrap();
    }
    let json = serde_json::to_value(&a).unwrap();
    let tamper = |path: [&str; 2], v: f64| {
        let mut j = json.clone();
        j[path[0]][path[1]] = serde_json::json!(v);
        serde_json::from_value::<DrawdownGovernor>(j)
    };
    assert!(tamper(["state", "peak_equity"], 120.0).is_ok());
    assert!(tamper(["state", "peak_equity"], 50.0).is_err()); // peak below equity
    assert!(tamper(["state", "drawdown"], 0.9).is_err()); // inconsistent with equity / peak
    assert!(tamper(["state", "max_drawdown"], 0.0).is_err()); // below the drawdown
    assert!(tamper(["config", "stop_drawdown"], 0.01).is_err());
    let mut state = serde_json::to_value(a.state()).unwrap();
    state["equity"] = serde_json::json!(-1.0);
    assert!(serde_json::from_value::<prudentia_kelly::governor::DrawdownState>(state).is_err());
}

#[test]
fn extreme_equity_and_budget_cap() {
    let mut g = DrawdownGovernor::new(DrawdownGovernorConfig {
        recovery_half_life: Some(1.0),
        ..Default::default()
    })
    .unwrap();
    for e in [f64::MAX, 5e-324, 0.0, f64::MAX, 1e-300] {
        let m = g.observe(e).unwrap();
        assert!((0.0..=1.0).contains(&m));
        g.state().validate().unwrap();
    }
    // a cap that would overflow is no cap (None), never +inf
    let fresh = DrawdownGovernor::new(DrawdownGovernorConfig::default()).unwrap();
    assert_eq!(fresh.budget_cap(1e-300, 1e-300).unwrap(), None);
    assert!(fresh.budget_cap(2.0, 0.01).unwrap().unwrap().is_finite());
    // a checkpoint at u64::MAX observations keeps counting without overflow
    let mut state = *fresh.state();
    state.observations = u64::MAX;
    let mut full = DrawdownGovernor::with_state(DrawdownGovernorConfig::default(), state).unwrap();
    full.observe(1.0).unwrap();
    assert_eq!(full.state().observations, u64::MAX);
}
