//! prudentia-kelly under bad input: every constructor, sizing, allocation, solve, update and
//! deserialize entry point, with a table of bad values, seeded sweeps and checkpoint
//! mutations (load, then use).

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::{OnlineLearner, Sizer, SizingContext};
use prudentia_core::{AssetInfo, Forecast, Horizon, Opportunity, Outcome, Weights};
use prudentia_kelly::allocation::{
    Allocation, AllocationConfig, AllocationItem, AllocationMode, Allocator, MAX_LOTS_PER_NAME,
};
use prudentia_kelly::governor::{DrawdownGovernor, DrawdownGovernorConfig, DrawdownState};
use prudentia_kelly::multi::{
    gaussian_growth_optimal, gaussian_kelly_weights, growth_optimal, GrowthOptimal, GrowthOptimalConfig,
};
use prudentia_kelly::single::{binary_kelly, gaussian_kelly, Kelly, KellyConfig, KellyInput, MeanShrinkage};
use prudentia_kelly::sizer::{KellySizer, KellySizerConfig, KellySizerState, SizingMode};

const BAD: [f64; 10] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    0.0,
    -1.0,
    1e-300,
];

fn asset(
    id: &str,
    price: f64,
    lot: f64,
    adv: Option<f64>,
    borrow: Option<f64>,
    sector: Option<&str>,
) -> AssetInfo {
    let mut a = AssetInfo::new(id, 1.0).expect("valid asset");
    a.price = price;
    a.lot_size = lot;
    a.adv_shares = adv;
    a.borrow_available_shares = borrow;
    a.sector = sector.map(str::to_owned);
    a
}

fn opportunity(id: &str, price: f64, mean: f64, sigma: f64) -> Option<Opportunity> {
    Some(Opportunity {
        asset: AssetInfo::new(id, price).ok()?,
        forecast: Forecast::new(mean, sigma, Horizon::DAY).ok()?,
    })
}

fn governor_at(equities: &[f64]) -> DrawdownGovernor {
    let mut g = DrawdownGovernor::new(DrawdownGovernorConfig::default()).expect("default config");
    for e in equities {
        let _ = g.observe(*e);
    }
    g
}

/// Invariants of a sized fraction: caps hold, no short when shorts are off.
fn sized_ok(c: &KellyConfig, f: f64) -> Result<(), String> {
    if f.abs() > c.max_fraction * (1.0 + 1e-12) {
        return Err(format!("|fraction| {f} above max_fraction {}", c.max_fraction));
    }
    if !c.allow_short && f < 0.0 {
        return Err(format!("short fraction {f} with allow_short = false"));
    }
    Ok(())
}

/// Invariants of an allocation: one position per item, signs follow the targets, the gross
/// and per-name caps hold.
fn allocation_ok(
    a: &Allocation,
    cfg: &AllocationConfig,
    targets: &[f64],
    capital: f64,
) -> Result<(), String> {
    if a.positions.len() != targets.len() {
        return Err("one position per item".into());
    }
    let tol = 1e-9;
    if a.gross_notional() > cfg.max_gross * capital * (1.0 + tol) + f64::MIN_POSITIVE {
        return Err(format!(
            "gross {} above {}",
            a.gross_notional(),
            cfg.max_gross * capital
        ));
    }
    for (p, t) in a.positions.iter().zip(targets) {
        if p.notional * t < 0.0 {
            return Err(format!("{}: notional {} against target {t}", p.asset, p.notional));
        }
        if p.notional.abs() > cfg.max_name_fraction * capital * (1.0 + tol) + f64::MIN_POSITIVE {
            return Err(format!(
                "{}: notional {} above the per-name cap",
                p.asset, p.notional
            ));
        }
    }
    Ok(())
}

/// Invariants of a growth-optimal solve called Optimal: inside the box and the gross limit.
fn growth_ok(g: &GrowthOptimal, c: &GrowthOptimalConfig) -> Result<(), String> {
    if g.full.len() != g.weights.len() {
        return Err("full and weights differ in length".into());
    }
    if g.status != prudentia_core::Status::Converged {
        return Ok(());
    }
    let tol = 1e-6 * c.upper.abs().max(c.lower.abs()).max(1.0);
    for w in &g.full {
        if *w < c.lower - tol || *w > c.upper + tol {
            return Err(format!("Optimal weight {w} outside [{}, {}]", c.lower, c.upper));
        }
    }
    if let Some(m) = c.max_gross {
        let gross: f64 = g.full.iter().map(|w| w.abs()).sum();
        if gross > m * (1.0 + 1e-6) + 1e-9 {
            return Err(format!("Optimal gross {gross} above {m}"));
        }
    }
    Ok(())
}

#[test]
fn single_asset_and_governor() {
    let mut s = Suite::new("kelly: single + governor");

    // closed forms: a table and sweeps
    for m in BAD {
        for sd in BAD {
            s.check(format!("gaussian_kelly({m:e}, {sd:e})"), move || {
                result(gaussian_kelly(m, sd))
            });
        }
        s.check(format!("binary_kelly({m:e}, 1)"), move || {
            result(binary_kelly(m, 1.0))
        });
        s.check(format!("binary_kelly(0.6, {m:e})"), move || {
            result(binary_kelly(0.6, m))
        });
    }
    s.check("gaussian_kelly(0.001, 1e-300)", || {
        result(gaussian_kelly(0.001, 1e-300))
    });
    s.sweep("gaussian_kelly", (any_f64(), any_f64()), |(m, sd)| {
        result(gaussian_kelly(m, sd))
    });
    s.sweep("binary_kelly", (any_f64(), any_f64()), |(p, b)| {
        result(binary_kelly(p, b))
    });

    // Kelly::new over bad configs
    s.sweep(
        "Kelly::new",
        (
            any_f64(),
            any_f64(),
            any_f64(),
            any_f64(),
            any_f64(),
            any::<bool>(),
        ),
        |(fraction, tv, maxf, prior_sd, k, short)| {
            let c = KellyConfig {
                fraction,
                target_vol_annual: Some(tv),
                max_fraction: maxf,
                shrinkage: MeanShrinkage::Bayesian {
                    prior_mean: 0.0,
                    prior_sd,
                },
                stress_sigmas: Some(k),
                allow_short: short,
            };
            result(Kelly::new(c))
        },
    );

    // Kelly::fraction over extreme inputs, with a governor in an extreme state
    let configs = [
        KellyConfig::default(),
        KellyConfig {
            fraction: 1.0,
            target_vol_annual: None,
            max_fraction: 100.0,
            shrinkage: MeanShrinkage::None,
            stress_sigmas: Some(3.0),
            allow_short: false,
        },
        KellyConfig {
            shrinkage: MeanShrinkage::Bayesian {
                prior_mean: 0.0,
                prior_sd: 1e-300,
            },
            stress_sigmas: Some(1e-300),
            ..Default::default()
        },
    ];
    for (ci, cfg) in configs.into_iter().enumerate() {
        s.sweep(
            &format!("Kelly::fraction config {ci}"),
            (
                any_f64(),
                any_f64(),
                prop::option::of(any_f64()),
                any_f64(),
                prop::collection::vec(finite_f64(), 0..4),
            ),
            move |(mean, sigma, se, h, equities)| {
                let k = match Kelly::new(cfg) {
                    Ok(k) => k,
                    Err(_) => return Check::Rejected,
                };
                let g = governor_at(&equities);
                let input = KellyInput {
                    mean,
                    sigma,
                    mean_std_error: se,
                    horizon_days: h,
                };
                result_with(k.fraction(&input, Some(&g)), |f| sized_ok(&cfg, f.fraction))
            },
        );
    }

    // governor: constructors, observe sequences, restore, budget cap
    for x in BAD {
        s.check(format!("governor start {x:e}"), move || {
            result(DrawdownGovernor::new(DrawdownGovernorConfig {
                start_drawdown: x,
                ..Default::default()
            }))
        });
        s.check(format!("governor half-life {x:e}"), move || {
            result(DrawdownGovernor::new(DrawdownGovernorConfig {
                recovery_half_life: Some(x),
                ..Default::default()
            }))
        });
    }
    s.sweep(
        "DrawdownGovernor::observe",
        (
            prop::collection::vec(any_f64(), 0..12),
            prop::option::of(any_f64()),
            any_f64(),
        ),
        |(equities, half_life, exponent)| {
            let cfg = DrawdownGovernorConfig {
                recovery_half_life: half_life,
                exponent,
                ..Default::default()
            };
            let mut g = match DrawdownGovernor::new(cfg) {
                Ok(g) => g,
                Err(_) => return Check::Rejected,
            };
            for e in equities {
                let before = g.clone();
                match g.observe(e) {
                    Ok(m) if !(0.0..=1.0).contains(&m) => {
                        return Check::Broken(format!("multiplier {m} outside [0, 1]"))
                    }
                    Ok(_) => {}
                    Err(_) if g != before => {
                        return Check::Broken("a rejected observe changed the state".into())
                    }
                    Err(_) => {}
                }
                if let Err(e) = g.state().validate() {
                    return Check::Broken(format!("observe broke the state: {e}"));
                }
            }
            // the governor's own output reloads
            match serde_json::to_string(&g).map(|j| serde_json::from_str::<DrawdownGovernor>(&j)) {
                Ok(Ok(back)) if back == g => Check::ok_finite(&g),
                _ => Check::Broken("the governor's own checkpoint does not reload".into()),
            }
        },
    );
    s.sweep(
        "DrawdownGovernor::with_state",
        (any_f64(), any_f64(), any_f64(), any_f64(), any::<u64>()),
        |(peak_equity, equity, drawdown, max_drawdown, observations)| {
            let state = DrawdownState {
                peak_equity,
                equity,
                drawdown,
                max_drawdown,
                observations,
            };
            result_with(
                DrawdownGovernor::with_state(DrawdownGovernorConfig::default(), state),
                |g| {
                    let m = g.multiplier();
                    if (0.0..=1.0).contains(&m) {
                        Ok(())
                    } else {
                        Err(format!("multiplier {m}"))
                    }
                },
            )
        },
    );
    s.sweep(
        "DrawdownGovernor::budget_cap",
        (prop::collection::vec(finite_f64(), 0..4), any_f64(), any_f64()),
        |(equities, k, sigma)| {
            let g = governor_at(&equities);
            result_with(g.budget_cap(k, sigma), |cap| match cap {
                Some(c) if *c < 0.0 => Err(format!("negative cap {c}")),
                _ => Ok(()),
            })
        },
    );

    // checkpoints: load, then use
    let mut g = DrawdownGovernor::new(DrawdownGovernorConfig {
        recovery_half_life: Some(20.0),
        ..Default::default()
    })
    .expect("config");
    for e in [100.0, 120.0, 95.0] {
        g.observe(e).expect("equity");
    }
    s.checkpoint("DrawdownGovernor", &g, |json| {
        match serde_json::from_str::<DrawdownGovernor>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut g) => {
                let before = g.multiplier();
                if !(0.0..=1.0).contains(&before) {
                    return Check::Broken(format!("multiplier {before}"));
                }
                let r = g
                    .observe(90.0)
                    .map(|m| (m, g.budget_cap(2.0, 0.01).ok().flatten(), *g.state()));
                result_with(r, |(m, _, st)| {
                    st.validate().map_err(|e| e.to_string())?;
                    if (0.0..=1.0).contains(m) {
                        Ok(())
                    } else {
                        Err(format!("multiplier {m}"))
                    }
                })
            }
        }
    });
    s.checkpoint("DrawdownState", g.state(), |json| {
        match serde_json::from_str::<DrawdownState>(&json) {
            Err(_) => Check::Rejected,
            Ok(st) => result(
                DrawdownGovernor::with_state(DrawdownGovernorConfig::default(), st).map(|g| g.multiplier()),
            ),
        }
    });
    let kelly = Kelly::new(KellyConfig {
        stress_sigmas: Some(2.0),
        shrinkage: MeanShrinkage::Bayesian {
            prior_mean: 0.0,
            prior_sd: 0.01,
        },
        ..Default::default()
    })
    .expect("config");
    s.checkpoint("Kelly", &kelly, move |json| {
        match serde_json::from_str::<Kelly>(&json) {
            Err(_) => Check::Rejected,
            Ok(k) => {
                let mut input = KellyInput::daily(0.001, 0.01);
                input.mean_std_error = Some(0.0005);
                let cfg = *k.config();
                result_with(k.fraction(&input, Some(&governor_at(&[100.0, 90.0]))), |f| {
                    sized_ok(&cfg, f.fraction)
                })
            }
        }
    });
    s.checkpoint(
        "DrawdownGovernorConfig",
        g.config(),
        |json| match serde_json::from_str::<DrawdownGovernorConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => result(DrawdownGovernor::new(c).and_then(|mut g| {
                g.observe(100.0)?;
                g.observe(80.0)
            })),
        },
    );
    s.finish();
}

#[test]
fn allocation() {
    let mut s = Suite::new("kelly: allocation");
    let modes = [
        AllocationMode::Auto,
        AllocationMode::Continuous,
        AllocationMode::GreedyLots,
        AllocationMode::Milp,
    ];
    // the reported hang: a subnormal lot size, in every mode
    for mode in modes {
        for lot in [5e-324, 1e-300, f64::MIN_POSITIVE, 1e-12, 1e300, f64::MAX] {
            s.check(format!("allocate lot_size {lot:e} {mode:?}"), move || {
                let cfg = AllocationConfig {
                    mode,
                    milp_time_limit_secs: 0.5,
                    ..Default::default()
                };
                let a = asset("A", 10.0, lot, None, None, Some("s"));
                let b = asset("B", 10.0, 1.0, Some(1e6), Some(100.0), Some("s"));
                let items = [AllocationItem::new(&a, 0.05), AllocationItem::new(&b, -0.05)];
                let alloc = match Allocator::new(cfg) {
                    Ok(a) => a,
                    Err(_) => return Check::Rejected,
                };
                result_with(alloc.allocate(&items, 1e6), |r| {
                    allocation_ok(r, &cfg, &[0.05, -0.05], 1e6)
                })
            });
        }
        for capital in BAD {
            s.check(format!("allocate capital {capital:e} {mode:?}"), move || {
                let cfg = AllocationConfig {
                    mode,
                    milp_time_limit_secs: 0.5,
                    ..Default::default()
                };
                let a = asset("A", 10.0, 1.0, None, None, None);
                let items = [AllocationItem::new(&a, 0.5)];
                let alloc = Allocator::new(cfg).expect("config");
                result_with(alloc.allocate(&items, capital), |r| {
                    allocation_ok(r, &cfg, &[0.5], capital)
                })
            });
        }
    }
    s.check("allocate nothing", || {
        result(
            Allocator::new(AllocationConfig::default())
                .expect("config")
                .allocate(&[], 1e6),
        )
    });
    s.check("MAX_LOTS_PER_NAME is 2^40", || {
        Check::invariant(MAX_LOTS_PER_NAME == (1u64 << 40) as f64, "documented limit")
    });
    s.sweep(
        "Allocator::new",
        (
            any_f64(),
            any_f64(),
            any_f64(),
            any_f64(),
            any_f64(),
            any_f64(),
            any_f64(),
            any_f64(),
        ),
        |(adv, name, gross, free, pen, mat, t, gap)| {
            result(Allocator::new(AllocationConfig {
                adv_participation: adv,
                max_name_fraction: name,
                max_gross: gross,
                sector_free_fraction: free,
                sector_penalty: pen,
                lot_materiality: mat,
                milp_time_limit_secs: t,
                milp_relative_gap: gap,
                mode: AllocationMode::Auto,
            }))
        },
    );
    let item = (
        price(),
        prop_oneof![3 => Just(1.0), 1 => any_f64()],
        prop::option::of(any_f64()),
        prop::option::of(any_f64()),
        any_f64(),
        prop_oneof![Just(None), Just(Some("x")), Just(Some("y"))],
        prop_oneof![3 => Just(1.0), 1 => any_f64()],
    );
    s.sweep(
        "Allocator::allocate",
        (
            prop::collection::vec(item, 0..4),
            prop_oneof![4 => 1e3..1e7f64, 1 => any_f64()],
            proptest::sample::select(modes.to_vec()),
            prop_oneof![Just(0.0), Just(0.5), Just(2.0)],
        ),
        |(items, capital, mode, sector_penalty)| {
            let cfg = AllocationConfig {
                mode,
                sector_penalty,
                max_name_fraction: 0.5,
                milp_time_limit_secs: 0.5,
                ..Default::default()
            };
            let assets: Vec<AssetInfo> = items
                .iter()
                .enumerate()
                .map(|(i, (p, lot, adv, borrow, _, sector, _))| {
                    asset(&format!("A{i}"), *p, *lot, *adv, *borrow, *sector)
                })
                .collect();
            let alloc_items: Vec<AllocationItem<'_>> = assets
                .iter()
                .zip(&items)
                .map(|(a, it)| AllocationItem {
                    asset: a,
                    target_fraction: it.4,
                    priority: it.6,
                })
                .collect();
            let targets: Vec<f64> = items.iter().map(|it| it.4).collect();
            let alloc = Allocator::new(cfg).expect("config");
            result_with(alloc.allocate(&alloc_items, capital), |r| {
                allocation_ok(r, &cfg, &targets, capital)
            })
        },
    );

    // checkpoints
    let cfg = AllocationConfig {
        mode: AllocationMode::GreedyLots,
        ..Default::default()
    };
    let alloc = Allocator::new(cfg).expect("config");
    s.checkpoint("Allocator", &alloc, |json| {
        match serde_json::from_str::<Allocator>(&json) {
            Err(_) => Check::Rejected,
            Ok(alloc) => {
                let cfg = *alloc.config();
                let a = asset("A", 25.0, 10.0, Some(1e5), None, Some("s"));
                let b = asset("B", 40.0, 1.0, None, Some(1e3), Some("s"));
                let items = [AllocationItem::new(&a, 0.2), AllocationItem::new(&b, -0.1)];
                result_with(alloc.allocate(&items, 1e6), |r| {
                    allocation_ok(r, &cfg, &[0.2, -0.1], 1e6)
                })
            }
        }
    });
    s.checkpoint("AllocationConfig", &cfg, |json| {
        match serde_json::from_str::<AllocationConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let cfg = AllocationConfig {
                    milp_time_limit_secs: c.milp_time_limit_secs.min(0.5),
                    ..c
                };
                let a = asset("A", 25.0, 10.0, Some(1e5), None, None);
                let items = [AllocationItem::new(&a, 0.2)];
                match Allocator::new(cfg) {
                    Err(_) => Check::Rejected,
                    Ok(alloc) => result_with(alloc.allocate(&items, 1e6), |r| {
                        allocation_ok(r, &cfg, &[0.2], 1e6)
                    }),
                }
            }
        }
    });
    let a = asset("A", 25.0, 10.0, Some(1e5), None, Some("s"));
    let done = alloc
        .allocate(&[AllocationItem::new(&a, 0.2)], 1e6)
        .expect("allocation");
    s.checkpoint("Allocation", &done, |json| {
        match serde_json::from_str::<Allocation>(&json) {
            Err(_) => Check::Rejected,
            Ok(a) => Check::ok_finite(&(a.gross_notional(), a.cuts.total(), a)),
        }
    });
    s.finish();
}

#[test]
fn multi_asset() {
    let mut s = Suite::new("kelly: multi");
    let small = GrowthOptimalConfig {
        max_iterations: 200,
        ..Default::default()
    };
    for n in [0usize, 1 << 13] {
        s.check(format!("growth_optimal {n} columns"), move || {
            result(growth_optimal(
                Array2::zeros((1, n)).view(),
                &GrowthOptimalConfig::default(),
            ))
        });
    }
    for it in [0usize, 1 << 40, usize::MAX] {
        s.check(format!("growth_optimal max_iterations {it}"), move || {
            let c = GrowthOptimalConfig {
                max_iterations: it,
                ..Default::default()
            };
            result(growth_optimal(ndarray::array![[0.1], [-0.05]].view(), &c))
        });
    }
    s.sweep(
        "GrowthOptimalConfig",
        (
            any_f64(),
            any_f64(),
            prop::option::of(any_f64()),
            any_f64(),
            any_f64(),
            any_size(),
        ),
        |(lower, upper, max_gross, fraction, tolerance, max_iterations)| {
            let c = GrowthOptimalConfig {
                lower,
                upper,
                max_gross,
                fraction,
                tolerance,
                max_iterations: max_iterations.min(1 << 40),
            };
            // a cheap problem: 2 scenarios × 1 asset
            let c2 = GrowthOptimalConfig {
                max_iterations: c.max_iterations.min(300),
                ..c
            };
            if c.validate().is_err() {
                return result(growth_optimal(ndarray::array![[0.1], [-0.05]].view(), &c));
            }
            result_with(growth_optimal(ndarray::array![[0.1], [-0.05]].view(), &c2), |g| {
                growth_ok(g, &c2)
            })
        },
    );
    let configs = [
        small,
        GrowthOptimalConfig {
            lower: -1.0,
            upper: 2.0,
            max_gross: Some(1.5),
            fraction: 0.5,
            ..small
        },
        GrowthOptimalConfig {
            lower: -1e6,
            upper: 1e6,
            max_gross: None,
            ..small
        },
    ];
    for (ci, cfg) in configs.into_iter().enumerate() {
        s.sweep(
            &format!("growth_optimal config {ci}"),
            matrix(1..12, 1..4),
            move |r| result_with(growth_optimal(r.view(), &cfg), |g| growth_ok(g, &cfg)),
        );
        s.sweep(
            &format!("gaussian_growth_optimal config {ci}"),
            (matrix(3..6, 1..4), any_f64()),
            move |(x, m)| {
                let n = x.ncols();
                let cov = x.t().dot(&x);
                let mu = Array1::from_elem(n, m);
                result_with(gaussian_growth_optimal(mu.view(), cov.view(), &cfg), |g| {
                    growth_ok(g, &cfg)
                })
            },
        );
    }
    s.sweep(
        "gaussian_kelly_weights",
        (matrix(3..6, 1..4), vec_f64(1..4)),
        |(x, m)| {
            let cov = x.t().dot(&x);
            let mu = Array1::from_vec(m);
            result(gaussian_kelly_weights(mu.view(), cov.view()))
        },
    );
    s.check("gaussian_kelly_weights mismatched", || {
        result(gaussian_kelly_weights(
            Array1::zeros(3).view(),
            Array2::eye(2).view(),
        ))
    });
    // checkpoints
    s.checkpoint(
        "GrowthOptimalConfig",
        &configs[1],
        |json| match serde_json::from_str::<GrowthOptimalConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let c = GrowthOptimalConfig {
                    max_iterations: c.max_iterations.min(300),
                    ..c
                };
                let r = ndarray::array![[0.1, -0.02], [-0.05, 0.03], [0.02, 0.01]];
                result_with(growth_optimal(r.view(), &c), |g| growth_ok(g, &c))
            }
        },
    );
    let done = growth_optimal(ndarray::array![[0.1, -0.02], [-0.05, 0.03]].view(), &small).expect("solve");
    s.checkpoint("GrowthOptimal", &done, |json| {
        match serde_json::from_str::<GrowthOptimal>(&json) {
            Err(_) => Check::Rejected,
            Ok(g) => {
                Check::invariant(g.full.len() == g.weights.len(), "lengths").and(|| Check::ok_finite(&g))
            }
        }
    });
    s.finish();
}

fn sizing_opps(n: usize, mean: f64, sigma: f64, price: f64) -> Option<Vec<Opportunity>> {
    (0..n)
        .map(|i| opportunity(&format!("A{i}"), price, mean, sigma))
        .collect()
}

#[test]
fn sizer() {
    let mut s = Suite::new("kelly: sizer");
    let with_alloc = KellySizerConfig {
        allocation: Some(AllocationConfig {
            milp_time_limit_secs: 0.5,
            ..Default::default()
        }),
        ..Default::default()
    };
    let per_asset = KellySizerConfig {
        mode: SizingMode::PerAsset,
        cap_at_target: false,
        ..Default::default()
    };
    for (ci, cfg) in [KellySizerConfig::default(), with_alloc, per_asset]
        .into_iter()
        .enumerate()
    {
        s.sweep(
            &format!("KellySizer::size config {ci}"),
            (
                vec_f64(0..4),
                any_f64(),
                any_f64(),
                price(),
                any_f64(),
                prop::collection::vec(finite_f64(), 0..3),
            ),
            move |(w, mean, sigma, px, equity, history)| {
                let Some(opps) = sizing_opps(w.len(), mean, sigma, px) else {
                    return Check::Rejected;
                };
                let mut sizer = KellySizer::new(cfg).expect("config");
                for e in history {
                    let _ = sizer.observe_equity(e);
                }
                let ids = (0..w.len()).map(|i| format!("A{i}").into()).collect();
                let Ok(target) = Weights::new(ids, w) else {
                    return Check::Rejected;
                };
                let gross = target.gross();
                result_with(sizer.size_detailed(&target, &opps, equity), |sw| {
                    if !(0.0..=1.0).contains(&sw.governor_multiplier) {
                        return Err(format!("multiplier {}", sw.governor_multiplier));
                    }
                    if cfg.cap_at_target
                        && cfg.allocation.is_none()
                        && sw.weights.gross() > gross * (1.0 + 1e-9)
                    {
                        return Err(format!(
                            "sized gross {} above the target's {gross}",
                            sw.weights.gross()
                        ));
                    }
                    Ok(())
                })
            },
        );
    }
    s.check("size with no opportunity", || {
        let sizer = KellySizer::new(KellySizerConfig::default()).expect("config");
        let target = Weights::new(vec!["X".into()], vec![1.0]).expect("weights");
        let current = Weights::default();
        let ctx = SizingContext {
            opportunities: &[],
            equity: 1e6,
            current: &current,
        };
        match sizer.size(&target, &ctx) {
            Ok(w) => Check::ok_finite(&w),
            Err(_) => Check::Rejected,
        }
    });
    s.sweep(
        "KellySizer::learn",
        (
            prop::collection::vec(prop::option::of(any_f64()), 0..10),
            any::<u64>(),
        ),
        |(equities, skipped)| {
            let state = KellySizerState {
                skipped_outcomes: skipped,
                ..Default::default()
            };
            let mut sizer = KellySizer::restore(KellySizerConfig::default(), state).expect("state");
            for e in equities {
                let before = sizer.clone();
                let r = sizer.learn(&Outcome {
                    equity: e,
                    ..Default::default()
                });
                if r.is_err() && sizer != before {
                    return Check::Broken("a rejected learn changed the sizer".into());
                }
            }
            match serde_json::to_string(&sizer).map(|j| serde_json::from_str::<KellySizer>(&j)) {
                Ok(Ok(back)) if back == sizer => Check::ok_finite(&sizer.state()),
                _ => Check::Broken("the sizer's own checkpoint does not reload".into()),
            }
        },
    );
    s.sweep(
        "KellySizer::restore",
        (any_f64(), any_f64(), any_f64(), any_f64(), any::<u64>()),
        |(peak_equity, equity, drawdown, max_drawdown, skipped)| {
            let state = KellySizerState {
                drawdown: DrawdownState {
                    peak_equity,
                    equity,
                    drawdown,
                    max_drawdown,
                    observations: skipped,
                },
                skipped_outcomes: skipped,
            };
            result(KellySizer::restore(KellySizerConfig::default(), state).map(|s| s.state()))
        },
    );
    // checkpoints: load, then size and learn
    let mut sizer = KellySizer::new(with_alloc).expect("config");
    for e in [1e6, 1.1e6, 0.95e6] {
        sizer.observe_equity(e).expect("equity");
    }
    let use_sizer = |mut sizer: KellySizer| -> Check {
        let Some(opps) = sizing_opps(2, 0.001, 0.02, 50.0) else {
            return Check::Rejected;
        };
        let target = Weights::new(vec!["A0".into(), "A1".into()], vec![0.3, -0.2]).expect("weights");
        let sized = sizer.size_detailed(&target, &opps, 1e6);
        let learned = sizer.learn(&Outcome {
            equity: Some(0.9e6),
            ..Default::default()
        });
        match (sized, learned) {
            (Ok(sw), Ok(())) => Check::ok_finite(&(sw, sizer.state())),
            _ => Check::Rejected,
        }
    };
    s.checkpoint("KellySizer", &sizer, move |json| {
        match serde_json::from_str::<KellySizer>(&json) {
            Err(_) => Check::Rejected,
            Ok(sizer) => use_sizer(sizer),
        }
    });
    s.checkpoint(
        "KellySizerConfig",
        sizer.config(),
        move |json| match serde_json::from_str::<KellySizerConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut c) => {
                if let Some(a) = &mut c.allocation {
                    a.milp_time_limit_secs = a.milp_time_limit_secs.min(0.5);
                }
                match KellySizer::new(c) {
                    Err(_) => Check::Rejected,
                    Ok(sizer) => use_sizer(sizer),
                }
            }
        },
    );
    s.checkpoint(
        "KellySizerState",
        &sizer.state(),
        move |json| match serde_json::from_str::<KellySizerState>(&json) {
            Err(_) => Check::Rejected,
            Ok(st) => match KellySizer::restore(with_alloc, st) {
                Err(_) => Check::Rejected,
                Ok(sizer) => use_sizer(sizer),
            },
        },
    );
    s.finish();
}
