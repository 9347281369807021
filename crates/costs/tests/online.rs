//! The online residual model on synthetic fills: RMSE against the base model alone, against
//! the noise floor, after a change of the true residual; checkpoint/restore.

use prudentia_core::OrderType;
use prudentia_costs::model::{AdaptiveCostModel, ResidualLearner};
use prudentia_datasets::fills::{
    fill_impact_bps, fills, FillSample, FILL_NOISE_SD_BPS, TIME_OF_DAY_PEAK_BPS,
};

use crate::common::{config, event, rmse, short_memory_config};

/// Per fill, before learning it: (expected − truth) of the full model and of its base
/// (spread + impact) alone, and (realized − expected) of the full model.
struct Trace {
    full: Vec<f64>,
    base: Vec<f64>,
    realized: Vec<f64>,
}

fn run(model: &mut AdaptiveCostModel, s: &FillSample, truth: &[f64], slippage: &[f64], t: &mut Trace) {
    for r in 0..s.len() {
        let e = event(s, r, slippage[r]);
        let c = model
            .estimate_order(
                e.fill.quantity,
                &e.fill.order_type,
                Some(&format!("V{}", s.venue[r])),
                &e.context,
            )
            .unwrap();
        t.full.push(c.expected_bps - truth[r]);
        t.base.push(c.spread_bps + c.impact_bps - truth[r]);
        t.realized.push(slippage[r] - c.expected_bps);
        let _ = model.learn_fill(&e).unwrap();
    }
}

fn window(v: &[f64], a: usize, b: usize) -> f64 {
    rmse(&v[a..b])
}

#[test]
fn residual_beats_base_and_reaches_the_noise_floor() {
    let s = fills(10_000, 11).unwrap();
    let truth: Vec<f64> = (0..s.len())
        .map(|r| s.impact_bps[r] + s.residual_mean_bps[r])
        .collect();
    let slip: Vec<f64> = s.slippage_bps.to_vec();
    let mut m = AdaptiveCostModel::new(config()).unwrap();
    let mut t = Trace {
        full: vec![],
        base: vec![],
        realized: vec![],
    };
    run(&mut m, &s, &truth, &slip, &mut t);
    let (full_2k, base_2k) = (window(&t.full, 1500, 2000), window(&t.base, 1500, 2000));
    let (full_r2k, base_r2k) = (
        window(&t.realized, 1500, 2000),
        rmse(
            &(1500..2000)
                .map(|r| slip[r] - truth[r] - t.base[r])
                .collect::<Vec<_>>(),
        ),
    );
    let real_10k = window(&t.realized, 9000, 10_000);
    let full_10k = window(&t.full, 9000, 10_000);
    println!(
        "fills 1500-2000: RMSE vs the true expected cost: full {full_2k:.3} bps, base alone {base_2k:.3} bps ({:.0}% lower); vs realized: full {full_r2k:.3}, base {base_r2k:.3}",
        100.0 * (1.0 - full_2k / base_2k)
    );
    println!(
        "fills 9000-10000: realized RMSE {real_10k:.3} bps (noise floor {FILL_NOISE_SD_BPS}), vs truth {full_10k:.3}; held-out RMSE [base, rls, trees] {:?}, learner {:?}",
        m.held_out_rmse(),
        m.learner()
    );
    // Against the true expected cost and against the realized costs (#15): 30% below the
    // base model within 2,000 fills; within 10% of the noise floor by 10,000.
    assert!(full_2k <= 0.7 * base_2k, "{full_2k} vs base {base_2k}");
    assert!(
        full_r2k <= 0.7 * base_r2k,
        "realized: {full_r2k} vs base {base_r2k}"
    );
    assert!(real_10k <= 1.1 * FILL_NOISE_SD_BPS, "{real_10k}");
    assert_ne!(m.learner(), ResidualLearner::None);
}

#[test]
fn recovers_within_1000_fills_after_the_residual_changes() {
    let a = fills(4000, 21).unwrap();
    let b = fills(2000, 22).unwrap();
    // The second regime: other venue and order-type offsets, the same impact and noise.
    let venue2 = [2.0, -1.5, 0.5];
    let type2 = [1.0, -2.0, 1.5, 0.0];
    let resid2 = |r: usize| {
        type2[b.order_type[r]]
            + venue2[b.venue[r]]
            + TIME_OF_DAY_PEAK_BPS * (2.0 * b.time_of_day[r] - 1.0).powi(2)
    };
    let truth_a: Vec<f64> = (0..a.len())
        .map(|r| a.impact_bps[r] + a.residual_mean_bps[r])
        .collect();
    let truth_b: Vec<f64> = (0..b.len())
        .map(|r| fill_impact_bps(b.spread_bps[r], b.volatility[r], b.participation[r]) + resid2(r))
        .collect();
    let slip_b: Vec<f64> = (0..b.len())
        .map(|r| b.slippage_bps[r] - b.residual_mean_bps[r] + resid2(r))
        .collect();
    // The default memory (RLS forgetting 0.998, trees on the last 2,000 fills) is still 0.62 bp
    // off the new truth 700-1,000 fills after the change (realized RMSE 1.23 bp against a 1 bp
    // floor); a model meant to follow changes is configured with a shorter one.
    let mut m = AdaptiveCostModel::new(short_memory_config()).unwrap();
    let mut t = Trace {
        full: vec![],
        base: vec![],
        realized: vec![],
    };
    run(&mut m, &a, &truth_a, &a.slippage_bps.to_vec(), &mut t);
    let before = window(&t.full, 3000, 4000);
    run(&mut m, &b, &truth_b, &slip_b, &mut t);
    let just_after = window(&t.full, 4000, 4100);
    let recovered = window(&t.full, 4700, 5000);
    let realized = window(&t.realized, 4700, 5000);
    println!(
        "residual change at fill 4000: RMSE vs truth before {before:.3}, fills 0-100 after {just_after:.3}, fills 700-1000 after {recovered:.3} (realized {realized:.3}, noise floor {FILL_NOISE_SD_BPS})"
    );
    assert!(just_after > 1.5, "the change is visible: {just_after}");
    assert!(realized <= 1.1 * FILL_NOISE_SD_BPS, "{realized}");
    assert!(recovered <= 0.92, "{recovered}");
}

#[test]
fn checkpoint_restore_continues_identically() {
    let s = fills(3000, 5).unwrap();
    let mut m = AdaptiveCostModel::new(config()).unwrap();
    for r in 0..1800 {
        let _ = m.learn_fill(&event(&s, r, s.slippage_bps[r])).unwrap();
    }
    let json = serde_json::to_string(&m).unwrap();
    let mut back: AdaptiveCostModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
    for r in 1800..3000 {
        let e = event(&s, r, s.slippage_bps[r]);
        assert_eq!(m.learn_fill(&e).unwrap(), back.learn_fill(&e).unwrap());
    }
    assert_eq!(back, m);
    let e = event(&s, 7, 1.0);
    assert_eq!(
        m.estimate_order(1e4, &OrderType::Market, Some("V1"), &e.context)
            .unwrap(),
        back.estimate_order(1e4, &OrderType::Market, Some("V1"), &e.context)
            .unwrap()
    );
}
