//! Full vs half vs governed Kelly on 12 seeded synthetic markets (prudentia-datasets,
//! seeds 1–12, 10 assets, 2520 days, risk-on / risk-off regimes): on every one the governed
//! path's maximum drawdown stays below its hard stop, full Kelly's does not. The governor
//! without the drawdown-budget cap is run alongside and crosses the stop on 2 of the 12.
//!
//! The traded asset is the market's equal-weight index. The forecaster is deliberately
//! naive: the mean is the trailing 250-day average return, sigma an EWMA (λ = 0.94,
//! RiskMetrics) of squared returns, so it is slow to see a switch into the risk-off regime.
//! All paths cap leverage at 10; the governed path is full Kelly run through [`KellySizer`]
//! (the pipeline's `Sizer` + `OnlineLearner<Outcome>`), with the convex (p = 2) governor
//! from a 5 % to a 20 % drawdown and the drawdown-budget cap at 6 sigma.

use prudentia_core::traits::{OnlineLearner, Sizer, SizingContext};
use prudentia_core::{AssetInfo, Forecast, Horizon, Opportunity, Outcome, Weights};
use prudentia_datasets::synthetic::{SyntheticConfig, SyntheticMarket};
use prudentia_kelly::governor::{DrawdownGovernor, DrawdownGovernorConfig};
use prudentia_kelly::single::{Kelly, KellyConfig, KellyInput, MeanShrinkage};
use prudentia_kelly::sizer::{KellySizer, KellySizerConfig};

const WINDOW: usize = 250;
const MAX_LEVERAGE: f64 = 10.0;
const HARD_STOP: f64 = 0.20;

struct Path {
    equity: f64,
    peak: f64,
    max_dd: f64,
}

impl Path {
    fn new() -> Self {
        Self {
            equity: 1.0,
            peak: 1.0,
            max_dd: 0.0,
        }
    }
    fn step(&mut self, f: f64, r: f64) {
        self.equity *= 1.0 + f * r;
        self.peak = self.peak.max(self.equity);
        self.max_dd = self.max_dd.max(1.0 - self.equity / self.peak);
    }
}

fn ungoverned(fraction: f64) -> Kelly {
    Kelly::new(KellyConfig {
        fraction,
        target_vol_annual: None,
        max_fraction: MAX_LEVERAGE,
        shrinkage: MeanShrinkage::None,
        stress_sigmas: None,
        allow_short: false,
    })
    .unwrap()
}

/// Max drawdowns (full, half, governed, governor without budget cap) of one seeded market.
fn run(seed: u64) -> [f64; 4] {
    let market = SyntheticMarket::generate(&SyntheticConfig {
        n_assets: 10,
        n_days: 2520,
        seed,
        ..Default::default()
    })
    .unwrap();
    let r = &market.index_returns;
    let full = ungoverned(1.0);
    let half = ungoverned(0.5);
    let mut sizer = KellySizer::new(KellySizerConfig {
        kelly: KellyConfig {
            fraction: 1.0,
            target_vol_annual: None,
            max_fraction: MAX_LEVERAGE,
            shrinkage: MeanShrinkage::None,
            stress_sigmas: Some(6.0),
            allow_short: false,
        },
        governor: DrawdownGovernorConfig {
            start_drawdown: 0.05,
            stop_drawdown: HARD_STOP,
            exponent: 2.0,
            recovery_half_life: None,
        },
        ..Default::default()
    })
    .unwrap();
    // the governor alone (no drawdown-budget cap), for comparison
    let governor_only = Kelly::new(KellyConfig {
        stress_sigmas: None,
        ..sizer.config().kelly
    })
    .unwrap();
    let mut gov_alone = DrawdownGovernor::new(sizer.config().governor).unwrap();
    gov_alone.observe(1.0).unwrap();
    let mut p_alone = Path::new();
    let index = AssetInfo::new("INDEX", 100.0).unwrap();
    let target = Weights::new(vec![index.id.clone()], vec![1.0]).unwrap();
    let (mut p_full, mut p_half, mut p_gov) = (Path::new(), Path::new(), Path::new());
    sizer
        .learn(&Outcome {
            equity: Some(1.0),
            ..Default::default()
        })
        .unwrap();
    let mut ewma_var = r.iter().take(WINDOW).map(|x| x * x).sum::<f64>() / WINDOW as f64;
    let mut sum: f64 = r.iter().take(WINDOW).sum();
    let mut min_multiplier: f64 = 1.0;
    for t in WINDOW..r.len() {
        let mean = sum / WINDOW as f64;
        let sigma = ewma_var.sqrt();
        let input = KellyInput::daily(mean, sigma);
        let f_full = full.fraction(&input, None).unwrap().fraction;
        let f_half = half.fraction(&input, None).unwrap().fraction;
        let opp = Opportunity {
            asset: index.clone(),
            forecast: Forecast::new(mean, sigma, Horizon::DAY).unwrap(),
        };
        let current = Weights::default();
        let ctx = SizingContext {
            opportunities: std::slice::from_ref(&opp),
            equity: p_gov.equity,
            current: &current,
        };
        let f_gov = sizer.size(&target, &ctx).unwrap().values[0];
        min_multiplier = min_multiplier.min(sizer.governor().multiplier());
        assert!(f_gov <= f_full + 1e-12);
        p_full.step(f_full, r[t]);
        p_half.step(f_half, r[t]);
        p_gov.step(f_gov, r[t]);
        let f_alone = governor_only.fraction(&input, Some(&gov_alone)).unwrap().fraction;
        p_alone.step(f_alone, r[t]);
        gov_alone.observe(p_alone.equity).unwrap();
        sizer
            .learn(&Outcome {
                equity: Some(p_gov.equity),
                ..Default::default()
            })
            .unwrap();
        // update the forecaster with day t
        sum += r[t] - r[t - WINDOW];
        ewma_var = 0.94 * ewma_var + 0.06 * r[t] * r[t];
    }
    println!(
        "seed {seed}: max drawdown: full {:.3}, half {:.3}, governed {:.3} (hard stop {HARD_STOP}); \
         final equity: full {:.3}, half {:.3}, governed {:.3}; lowest governor multiplier {:.3}; \
         change points {}; governor without the budget cap: max drawdown {:.3}, final equity {:.3}",
        p_full.max_dd,
        p_half.max_dd,
        p_gov.max_dd,
        p_full.equity,
        p_half.equity,
        p_gov.equity,
        min_multiplier,
        market.change_points.len(),
        p_alone.max_dd,
        p_alone.equity
    );
    assert!((sizer.governor().state().max_drawdown - p_gov.max_dd).abs() < 1e-12);
    assert!(min_multiplier < 1.0, "the governor never engaged");
    [p_full.max_dd, p_half.max_dd, p_gov.max_dd, p_alone.max_dd]
}

#[test]
fn governed_kelly_respects_its_hard_stop() {
    let mut governor_alone_crossed = 0;
    for seed in 1..=12 {
        let [full, _half, governed, alone] = run(seed);
        assert!(full > HARD_STOP, "seed {seed}: full Kelly max drawdown {full}");
        assert!(
            governed < HARD_STOP,
            "seed {seed}: governed max drawdown {governed}"
        );
        if alone >= HARD_STOP {
            governor_alone_crossed += 1;
        }
    }
    // Without the budget cap a single large loss can jump the band (see the governor docs):
    // this happens on 2 of these 12 markets (seeds 3 and 12).
    println!("governor without budget cap crossed the stop on {governor_alone_crossed} of 12");
}
