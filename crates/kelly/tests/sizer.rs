//! KellySizer: closed-form sizing, the allocation step, learning, checkpoints, Send + Sync.

use prudentia_core::traits::{OnlineLearner, Sizer, SizingContext};
use prudentia_core::{AssetInfo, CausalEffect, Forecast, Horizon, Opportunity, Outcome, Weights};
use prudentia_kelly::allocation::{AllocationConfig, AllocationMode};
use prudentia_kelly::governor::DrawdownGovernorConfig;
use prudentia_kelly::single::{Kelly, KellyConfig, KellyInput, MeanShrinkage, SizingLimit};
use prudentia_kelly::sizer::{KellySizer, KellySizerConfig, SizingMode};

fn opp(id: &str, price: f64, mean: f64, sigma: f64) -> Opportunity {
    Opportunity {
        asset: AssetInfo::new(id, price).unwrap(),
        forecast: Forecast::new(mean, sigma, Horizon::DAY).unwrap(),
    }
}

fn plain() -> KellyConfig {
    KellyConfig {
        fraction: 1.0,
        target_vol_annual: None,
        max_fraction: 100.0,
        shrinkage: MeanShrinkage::None,
        stress_sigmas: None,
        allow_short: true,
    }
}

#[test]
fn composition_in_documented_order() {
    // μ = 0.001, σ = 0.01 per day: full Kelly 10; half 5; vol cap 20 %/yr → 0.2/√252/0.01
    // ≈ 1.26; governor at drawdown 0.125 (band 0.05–0.20, linear) → ×0.5.
    let k = Kelly::new(KellyConfig {
        fraction: 0.5,
        target_vol_annual: Some(0.2),
        max_fraction: 2.0,
        ..plain()
    })
    .unwrap();
    let mut g = prudentia_kelly::governor::DrawdownGovernor::new(DrawdownGovernorConfig::default()).unwrap();
    g.observe(100.0).unwrap();
    g.observe(87.5).unwrap();
    let s = k.fraction(&KellyInput::daily(0.001, 0.01), Some(&g)).unwrap();
    let cap = 0.2 / 252f64.sqrt() / 0.01;
    assert!((s.stages.full_kelly - 10.0).abs() < 1e-9);
    assert!((s.stages.fractional - 5.0).abs() < 1e-9);
    assert!((s.stages.vol_capped - cap).abs() < 1e-12);
    assert!((s.fraction - 0.5 * cap).abs() < 1e-12);
    assert_eq!(
        s.binding,
        vec![
            SizingLimit::Fraction,
            SizingLimit::VolatilityCap,
            SizingLimit::Governor
        ]
    );
    // shorts keep their sign through the caps
    let s = k.fraction(&KellyInput::daily(-0.001, 0.01), Some(&g)).unwrap();
    assert!((s.fraction + 0.5 * cap).abs() < 1e-12);
}

#[test]
fn scale_target_is_portfolio_kelly() {
    // Two independent names, target 50/50: μ_p = 0.5(0.001 + 0.0005), σ_p² = 0.25(1e-4 + 1e-4)
    let sizer = KellySizer::new(KellySizerConfig {
        kelly: plain(),
        cap_at_target: false,
        ..Default::default()
    })
    .unwrap();
    let opps = [opp("A", 10.0, 0.001, 0.01), opp("B", 20.0, 0.0005, 0.01)];
    let target = Weights::new(vec!["A".into(), "B".into()], vec![0.3, 0.3]).unwrap();
    let out = sizer.size_detailed(&target, &opps, 1e6).unwrap();
    let k = 0.00075 / 0.00005;
    assert!((out.scale.unwrap() - k).abs() < 1e-9);
    assert!((out.weights.values[0] - 0.5 * k).abs() < 1e-9);
    // Box<dyn Sizer> works
    let boxed: Box<dyn Sizer> = Box::new(sizer);
    let current = Weights::default();
    let w = boxed
        .size(
            &target,
            &SizingContext {
                opportunities: &opps,
                equity: 1e6,
                current: &current,
            },
        )
        .unwrap();
    assert_eq!(w, out.weights);
}

#[test]
fn per_asset_mode_and_shrinkage_from_causal_se() {
    let sizer = KellySizer::new(KellySizerConfig {
        kelly: KellyConfig {
            shrinkage: MeanShrinkage::PositivePart,
            ..plain()
        },
        mode: SizingMode::PerAsset,
        ..Default::default()
    })
    .unwrap();
    let mut a = opp("A", 10.0, 0.002, 0.02);
    a.forecast.causal_effect = Some(CausalEffect {
        cate: 0.002,
        std_error: 0.001,
        p_value: 0.05,
    });
    let b = opp("B", 10.0, -0.001, 0.01);
    let target = Weights::new(vec!["A".into(), "B".into()], vec![0.5, 0.5]).unwrap();
    let out = sizer.size_detailed(&target, &[a, b], 1e6).unwrap();
    // A: 0.002 × (1 − 0.25) / 0.0004 = 3.75; B disagrees in sign with its target → 0
    assert!((out.weights.values[0] - 3.75).abs() < 1e-9);
    assert_eq!(out.weights.values[1], 0.0);
}

#[test]
fn allocation_step_applies_limits() {
    let sizer = KellySizer::new(KellySizerConfig {
        kelly: plain(),
        allocation: Some(AllocationConfig {
            max_name_fraction: 0.2,
            mode: AllocationMode::Continuous,
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    let opps = [opp("A", 10.0, 0.001, 0.01)];
    let target = Weights::new(vec!["A".into()], vec![1.0]).unwrap();
    let out = sizer.size_detailed(&target, &opps, 1e6).unwrap();
    assert!((out.weights.values[0] - 0.2).abs() < 1e-12);
    let alloc = out.allocation.unwrap();
    assert!(alloc.cuts.name_cap > 0.0);
}

#[test]
fn learning_moves_the_governor_and_checkpoints_restore() {
    let mut sizer = KellySizer::new(KellySizerConfig {
        kelly: plain(),
        cap_at_target: false,
        ..Default::default()
    })
    .unwrap();
    let opps = [opp("A", 10.0, 0.001, 0.01)];
    let target = Weights::new(vec!["A".into()], vec![1.0]).unwrap();
    let before = sizer.size_detailed(&target, &opps, 1e6).unwrap();
    for e in [1e6, 0.9e6] {
        sizer
            .learn(&Outcome {
                equity: Some(e),
                ..Default::default()
            })
            .unwrap();
    }
    sizer.learn(&Outcome::default()).unwrap();
    assert_eq!(sizer.state().skipped_outcomes, 1);
    let after = sizer.size_detailed(&target, &opps, 0.9e6).unwrap();
    // drawdown 0.10 in the band 0.05–0.20 → multiplier 2/3
    assert!((after.governor_multiplier - 2.0 / 3.0).abs() < 1e-12);
    assert!((after.weights.values[0] - before.weights.values[0] * 2.0 / 3.0).abs() < 1e-9);
    // checkpoint / restore
    let json = serde_json::to_string(&sizer).unwrap();
    let mut restored: KellySizer = serde_json::from_str(&json).unwrap();
    assert_eq!(restored, sizer);
    for e in [0.85e6, 0.95e6] {
        let o = Outcome {
            equity: Some(e),
            ..Default::default()
        };
        sizer.learn(&o).unwrap();
        restored.learn(&o).unwrap();
        assert_eq!(
            sizer.size_detailed(&target, &opps, e).unwrap(),
            restored.size_detailed(&target, &opps, e).unwrap()
        );
    }
    // a corrupted checkpoint is refused
    let bad = json.replace("\"stop_drawdown\":0.2", "\"stop_drawdown\":0.01");
    assert!(serde_json::from_str::<KellySizer>(&bad).is_err());
}

#[test]
fn configs_serialize() {
    let c = KellySizerConfig {
        allocation: Some(AllocationConfig::default()),
        kelly: KellyConfig {
            shrinkage: MeanShrinkage::Bayesian {
                prior_mean: 0.0,
                prior_sd: 0.001,
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<KellySizerConfig>(&json).unwrap(), c);
    // missing fields take their defaults
    let partial: KellySizerConfig = serde_json::from_str(r#"{"kelly":{"fraction":0.25}}"#).unwrap();
    assert_eq!(partial.kelly.fraction, 0.25);
    assert_eq!(partial.kelly.max_fraction, KellyConfig::default().max_fraction);
}

#[test]
fn send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<KellySizer>();
    check::<prudentia_kelly::allocation::Allocator>();
    check::<prudentia_kelly::governor::DrawdownGovernor>();
    check::<prudentia_kelly::KellyError>();
}

mod composition_props {
    use super::*;
    use proptest::prelude::*;
    use prudentia_kelly::governor::DrawdownGovernor;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

        /// Each stage only shrinks the magnitude, keeps the sign, respects its cap, and a
        /// deeper drawdown never gives a larger position.
        #[test]
        fn stages_shrink_and_governor_is_monotone(
            mean in -0.01..0.01f64,
            sigma in 0.001..0.1f64,
            fraction in 0.05..1.0f64,
            vol in 0.05..1.0f64,
            cap in 0.1..10.0f64,
            dd_a in 0.0..0.5f64,
            dd_b in 0.0..0.5f64,
        ) {
            let k = Kelly::new(KellyConfig {
                fraction,
                target_vol_annual: Some(vol),
                max_fraction: cap,
                stress_sigmas: Some(5.0),
                ..plain()
            }).unwrap();
            let input = KellyInput::daily(mean, sigma);
            let size_at = |dd: f64| {
                let mut g = DrawdownGovernor::new(DrawdownGovernorConfig::default()).unwrap();
                g.observe(1.0).unwrap();
                g.observe(1.0 - dd).unwrap();
                k.fraction(&input, Some(&g)).unwrap()
            };
            let s = size_at(dd_a);
            let st = s.stages;
            prop_assert!(st.vol_capped.abs() <= st.fractional.abs() + 1e-15);
            prop_assert!(st.vol_capped.abs() <= vol / 252f64.sqrt() / sigma * (1.0 + 1e-12));
            prop_assert!(st.leverage_capped.abs() <= cap);
            prop_assert!(st.governed.abs() <= st.leverage_capped.abs());
            prop_assert!(s.fraction.abs() <= st.governed.abs());
            prop_assert!(s.fraction * mean >= 0.0);
            let (lo, hi) = if dd_a <= dd_b { (dd_a, dd_b) } else { (dd_b, dd_a) };
            prop_assert!(size_at(hi).fraction.abs() <= size_at(lo).fraction.abs() + 1e-15);
        }
    }
}

#[test]
fn by_default_kelly_only_scales_the_target_down() {
    let capped = KellySizer::new(KellySizerConfig {
        kelly: plain(),
        ..Default::default()
    })
    .unwrap();
    let opps = [opp("A", 10.0, 0.001, 0.01), opp("B", 20.0, 0.0005, 0.01)];
    // Kelly wants 15x the normalized book; the target's gross 0.6 caps it
    let target = Weights::new(vec!["A".into(), "B".into()], vec![0.3, 0.3]).unwrap();
    let out = capped.size_detailed(&target, &opps, 1e6).unwrap();
    assert!((out.scale.unwrap() - 0.6).abs() < 1e-12);
    assert_eq!(out.weights.values, vec![0.3, 0.3]);
    // a negligible target (optimizer rounding noise) stays negligible
    let noise = Weights::new(vec!["A".into(), "B".into()], vec![1e-10, -2e-10]).unwrap();
    let out = capped.size_detailed(&noise, &opps, 1e6).unwrap();
    assert!(out.weights.gross() <= 3e-10 + 1e-18);
}

#[test]
fn skipped_outcomes_saturate_and_rejected_learning_changes_nothing() {
    let state = prudentia_kelly::sizer::KellySizerState {
        skipped_outcomes: u64::MAX,
        ..Default::default()
    };
    let mut sizer = KellySizer::restore(KellySizerConfig::default(), state).unwrap();
    sizer.learn(&Outcome::default()).unwrap();
    assert_eq!(sizer.state().skipped_outcomes, u64::MAX);
    sizer
        .learn(&Outcome {
            equity: Some(100.0),
            ..Default::default()
        })
        .unwrap();
    let before = sizer.clone();
    for bad in [f64::NAN, -1.0, f64::INFINITY] {
        assert!(sizer
            .learn(&Outcome {
                equity: Some(bad),
                ..Default::default()
            })
            .is_err());
        assert_eq!(sizer, before);
    }
}
