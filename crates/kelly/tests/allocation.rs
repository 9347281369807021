//! Allocation: closed-form cases, limit attribution, and invariants over random inputs.

use proptest::prelude::*;
use prudentia_core::AssetInfo;
use prudentia_kelly::allocation::{
    AllocationConfig, AllocationItem, AllocationMethod, AllocationMode, Allocator, Limit,
};

fn asset(
    id: &str,
    price: f64,
    lot: f64,
    adv: Option<f64>,
    borrow: Option<f64>,
    sector: Option<&str>,
) -> AssetInfo {
    let mut a = AssetInfo::new(id, price).unwrap();
    a.lot_size = lot;
    a.adv_shares = adv;
    a.borrow_available_shares = borrow;
    a.sector = sector.map(str::to_owned);
    a
}

#[test]
fn each_limit_cuts_what_it_should() {
    let assets = [
        asset("CAP", 10.0, 1.0, None, None, None), // target 0.3 > cap 0.1
        asset("ADV", 10.0, 1.0, Some(1_000.0), None, None), // ADV 10% × 1000 sh × 10 = 1000
        asset("BOR", 10.0, 1.0, None, Some(500.0), None), // short, borrow 500 sh = 5000
        asset("OK", 10.0, 1.0, None, None, None),
    ];
    let targets = [0.3, 0.05, -0.08, 0.02];
    let items: Vec<_> = assets
        .iter()
        .zip(targets)
        .map(|(a, t)| AllocationItem::new(a, t))
        .collect();
    let alloc = Allocator::new(AllocationConfig {
        mode: AllocationMode::Continuous,
        ..Default::default()
    })
    .unwrap()
    .allocate(&items, 100_000.0)
    .unwrap();
    let n: Vec<f64> = alloc.positions.iter().map(|p| p.notional).collect();
    assert!((n[0] - 10_000.0).abs() < 1e-6);
    assert!((n[1] - 1_000.0).abs() < 1e-6);
    assert!((n[2] + 5_000.0).abs() < 1e-6);
    assert!((n[3] - 2_000.0).abs() < 1e-6);
    assert!((alloc.cuts.name_cap - 20_000.0).abs() < 1e-6);
    assert!((alloc.cuts.adv - 4_000.0).abs() < 1e-6);
    assert!((alloc.cuts.borrow - 3_000.0).abs() < 1e-6);
    assert_eq!(alloc.cuts.capital, 0.0);
    assert_eq!(alloc.positions[0].binding, Some(Limit::NameCap));
    assert_eq!(alloc.positions[2].binding, Some(Limit::Borrow));
    assert_eq!(alloc.positions[3].binding, None);
    assert_eq!(alloc.method, AllocationMethod::Continuous);
}

#[test]
fn capital_and_sector_cuts() {
    // three names of 40% each in one sector; free share 50%, penalty 2 > priority 1:
    // only 50% is worth holding in the sector; the unsectored name gets 40%; gross 100%.
    let a = asset("A", 1.0, 1.0, None, None, Some("tech"));
    let b = asset("B", 1.0, 1.0, None, None, Some("tech"));
    let c = asset("C", 1.0, 1.0, None, None, Some("tech"));
    let d = asset("D", 1.0, 1.0, None, None, None);
    let items = vec![
        AllocationItem::new(&a, 0.4),
        AllocationItem::new(&b, 0.4),
        AllocationItem::new(&c, 0.4),
        AllocationItem::new(&d, 0.4),
    ];
    let cfg = AllocationConfig {
        max_name_fraction: 1.0,
        sector_free_fraction: 0.5,
        sector_penalty: 2.0,
        mode: AllocationMode::Continuous,
        ..Default::default()
    };
    let alloc = Allocator::new(cfg).unwrap().allocate(&items, 1_000.0).unwrap();
    let tech: f64 = alloc.positions[..3].iter().map(|p| p.notional).sum();
    assert!((tech - 500.0).abs() < 1e-9, "{tech}");
    assert!((alloc.positions[3].notional - 400.0).abs() < 1e-9);
    assert!((alloc.cuts.sector - 700.0).abs() < 1e-9);
    // objective: (900 − 0) / 1000
    assert!((alloc.objective - 0.9).abs() < 1e-12);
    // without the penalty, the gross budget binds instead
    let cfg = AllocationConfig {
        sector_penalty: 0.0,
        ..cfg
    };
    let alloc = Allocator::new(cfg).unwrap().allocate(&items, 1_000.0).unwrap();
    assert!((alloc.gross_notional() - 1_000.0).abs() < 1e-9);
    assert!((alloc.cuts.capital - 600.0).abs() < 1e-9);
}

#[test]
fn milp_beats_greedy_on_a_knapsack_trap() {
    // Budget 100. Greedy by priority takes the 60-lot name first (priority 1.2) and leaves
    // 40 unusable for 50-lots; the MILP takes two 50-lots (value 100 > 72 + 0).
    let big = asset("BIG", 60.0, 1.0, None, None, None);
    let h1 = asset("H1", 50.0, 1.0, None, None, None);
    let h2 = asset("H2", 50.0, 1.0, None, None, None);
    let items = vec![
        AllocationItem {
            asset: &big,
            target_fraction: 0.6,
            priority: 1.2,
        },
        AllocationItem::new(&h1, 0.5),
        AllocationItem::new(&h2, 0.5),
    ];
    let cfg = AllocationConfig {
        max_name_fraction: 1.0,
        mode: AllocationMode::Milp,
        ..Default::default()
    };
    let alloc = Allocator::new(cfg).unwrap().allocate(&items, 100.0).unwrap();
    assert_eq!(alloc.method, AllocationMethod::Milp);
    assert!(
        (alloc.greedy_objective - 0.72).abs() < 1e-12,
        "{}",
        alloc.greedy_objective
    );
    assert!((alloc.objective - 1.0).abs() < 1e-9, "{}", alloc.objective);
    assert_eq!(alloc.positions[0].shares, 0.0);
}

#[derive(Debug, Clone)]
struct Name {
    price: f64,
    lot: f64,
    adv: Option<f64>,
    borrow: Option<f64>,
    sector: Option<u8>,
    target: f64,
    priority: f64,
}

fn name() -> impl Strategy<Value = Name> {
    (
        1.0..500.0f64,
        prop_oneof![Just(1.0), Just(10.0), Just(100.0)],
        prop::option::of(100.0..1e6f64),
        prop::option::of(0.0..1e5f64),
        prop::option::of(0u8..4),
        -0.3..0.3f64,
        0.1..2.0f64,
    )
        .prop_map(|(price, lot, adv, borrow, sector, target, priority)| Name {
            price,
            lot,
            adv,
            borrow,
            sector,
            target,
            priority,
        })
}

fn config() -> impl Strategy<Value = AllocationConfig> {
    (0.01..1.0f64, 0.02..0.5f64, 0.2..2.0f64, 0.0..0.6f64, 0.0..3.0f64).prop_map(
        |(adv, cap, gross, free, pen)| AllocationConfig {
            adv_participation: adv,
            max_name_fraction: cap,
            max_gross: gross,
            sector_free_fraction: free,
            sector_penalty: pen,
            mode: AllocationMode::Milp,
            milp_time_limit_secs: 5.0,
            ..Default::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn allocations_never_break_a_limit(
        names in prop::collection::vec(name(), 1..12),
        cfg in config(),
        capital in 1e3..1e7f64,
        mode in prop_oneof![Just(AllocationMode::Continuous), Just(AllocationMode::GreedyLots), Just(AllocationMode::Milp)],
    ) {
        let assets: Vec<AssetInfo> = names.iter().enumerate().map(|(i, n)| {
            let sector = n.sector.map(|s| format!("S{s}"));
            asset(&format!("N{i}"), n.price, n.lot, n.adv, n.borrow, sector.as_deref())
        }).collect();
        let items: Vec<_> = assets.iter().zip(&names).map(|(a, n)| AllocationItem {
            asset: a, target_fraction: n.target, priority: n.priority,
        }).collect();
        let cfg = AllocationConfig { mode, ..cfg };
        let alloc = Allocator::new(cfg).unwrap().allocate(&items, capital).unwrap();
        let tol = 1e-9 * capital;
        let mut gross = 0.0;
        for ((p, a), n) in alloc.positions.iter().zip(&assets).zip(&names) {
            let abs = p.notional.abs();
            gross += abs;
            // direction and target
            prop_assert!(p.notional * n.target >= 0.0);
            prop_assert!(abs <= n.target.abs() * capital + tol);
            // per-name cap
            prop_assert!(abs <= cfg.max_name_fraction * capital + tol);
            // ADV participation
            if let Some(adv) = a.adv_shares {
                prop_assert!(p.shares.abs() <= cfg.adv_participation * adv * (1.0 + 1e-12) + 1e-9);
            }
            // borrow
            if p.shares < 0.0 {
                prop_assert!(-p.shares <= a.borrow_available_shares.unwrap_or(0.0) * (1.0 + 1e-12) + 1e-9);
            }
            // lots
            if mode != AllocationMode::Continuous {
                let lots = p.shares / a.lot_size;
                prop_assert!((lots - lots.round()).abs() < 1e-9, "lots {lots}");
            }
        }
        prop_assert!(gross <= cfg.max_gross * capital + tol, "gross {gross}");
        // cuts account for the gap between targets and positions
        let target_total: f64 = alloc.positions.iter().map(|p| p.target_notional.abs()).sum();
        prop_assert!((target_total - gross - alloc.cuts.total()).abs() <= 1e-6 * capital.max(target_total));
        if mode == AllocationMode::Milp {
            // the MILP ran and returned a solution (no silent fallback)
            prop_assert!(alloc.milp_objective.is_some(), "status {:?}", alloc.status);
        }
        if let Some(m) = alloc.milp_objective {
            prop_assert!(m >= alloc.greedy_objective - 1e-9, "milp {m} < greedy {}", alloc.greedy_objective);
        }
        prop_assert!(alloc.objective >= alloc.greedy_objective - 1e-9);
    }
}

/// Brute-force optimum over all lot counts (small problems only).
fn brute_force(names: &[(f64, f64, f64, usize)], cfg: &AllocationConfig, capital: f64) -> f64 {
    // names: (lot notional, max lots, priority, sector)
    let mut best = 0.0_f64;
    let mut counts = vec![0usize; names.len()];
    loop {
        let mut used = 0.0;
        let mut value = 0.0;
        let mut load = [0.0; 3];
        for (k, &(lot, _, u, s)) in names.iter().enumerate() {
            let x = counts[k] as f64 * lot;
            used += x;
            value += u * x;
            load[s] += x;
        }
        if used <= cfg.max_gross * capital * (1.0 + 1e-12) {
            let excess: f64 = load
                .iter()
                .map(|l| (l - cfg.sector_free_fraction * capital).max(0.0))
                .sum();
            best = best.max((value - cfg.sector_penalty * excess) / capital);
        }
        // next combination
        let mut k = 0;
        loop {
            if k == names.len() {
                return best;
            }
            if (counts[k] as f64) < names[k].1 {
                counts[k] += 1;
                break;
            }
            counts[k] = 0;
            k += 1;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// With lots that matter, the MILP (gap 0) reaches the brute-force optimum, and is never
    /// below the greedy allocation.
    #[test]
    fn milp_is_optimal_on_small_problems(
        spec in prop::collection::vec((10.0..200.0f64, 1u32..6, 0.2..2.0f64, 0usize..3), 1..5),
        gross in 0.3..1.5f64,
        free in 0.0..0.6f64,
        penalty in 0.0..2.0f64,
    ) {
        let capital = 1_000.0;
        // lot = 1 share at `price`; target fraction allows `max lots` lots exactly
        let assets: Vec<AssetInfo> = spec.iter().enumerate().map(|(i, &(price, _, _, s))| {
            let sector = format!("S{s}");
            asset(&format!("N{i}"), price, 1.0, None, None, Some(&sector))
        }).collect();
        let items: Vec<_> = assets.iter().zip(&spec).map(|(a, &(price, lots, u, _))| AllocationItem {
            asset: a,
            target_fraction: price * lots as f64 / capital,
            priority: u,
        }).collect();
        let cfg = AllocationConfig {
            max_name_fraction: 100.0,
            max_gross: gross,
            sector_free_fraction: free,
            sector_penalty: penalty,
            mode: AllocationMode::Milp,
            milp_relative_gap: 0.0,
            ..Default::default()
        };
        let alloc = Allocator::new(cfg).unwrap().allocate(&items, capital).unwrap();
        let names: Vec<_> = spec.iter().map(|&(p, l, u, s)| (p, l as f64, u, s)).collect();
        let best = brute_force(&names, &cfg, capital);
        let milp = alloc.milp_objective.expect("MILP ran");
        prop_assert!(milp >= alloc.greedy_objective - 1e-9);
        prop_assert!((alloc.objective - best).abs() < 1e-7, "MILP {} vs brute force {best}", alloc.objective);
    }
}

#[test]
fn auto_mode_uses_the_milp_only_when_lots_matter() {
    let cfg = AllocationConfig {
        max_name_fraction: 1.0,
        ..Default::default()
    };
    let alloc = Allocator::new(cfg).unwrap();
    // lot notional 1 % of a 10 000 position: rounding costs < 1 % → greedy lots
    let small = asset("S", 1.0, 1.0, None, None, None);
    let a = alloc
        .allocate(&[AllocationItem::new(&small, 0.1)], 100_000.0)
        .unwrap();
    assert_eq!(a.method, AllocationMethod::GreedyLots);
    assert!((a.positions[0].shares - 10_000.0).abs() < 1e-9);
    // lot notional 5 000 against a 7 000 target → lots matter → MILP
    let big = asset("B", 50.0, 100.0, None, None, None);
    let a = alloc
        .allocate(&[AllocationItem::new(&big, 0.07)], 100_000.0)
        .unwrap();
    assert_eq!(a.method, AllocationMethod::Milp);
    assert_eq!(a.positions[0].shares, 100.0);
    assert!((a.cuts.lot - 2_000.0).abs() < 1e-9);
    assert_eq!(a.positions[0].binding, Some(Limit::Lot));
}

/// Runs `f` on its own thread; panics if it does not finish within `secs` (a hang).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("the allocation hung")
}

#[test]
fn subnormal_lot_size_is_an_error_not_a_hang() {
    // issue #22 (4): lot_size 5e-324 made the greedy lot loop (and the MILP) run forever
    for mode in [
        AllocationMode::Auto,
        AllocationMode::GreedyLots,
        AllocationMode::Milp,
    ] {
        let r = within(20, move || {
            let a = asset("DUST", 10.0, 5e-324, None, None, None);
            let b = asset("B", 10.0, 1.0, None, None, None);
            let items = [AllocationItem::new(&a, 0.05), AllocationItem::new(&b, 0.05)];
            Allocator::new(AllocationConfig {
                mode,
                ..Default::default()
            })
            .unwrap()
            .allocate(&items, 1e6)
        });
        match r {
            Err(prudentia_kelly::KellyError::TooManyLots { asset, .. }) => assert_eq!(asset.as_str(), "DUST"),
            other => panic!("{mode:?}: expected TooManyLots, got {other:?}"),
        }
    }
    // fractional shares do not care about the lot
    let a = asset("DUST", 10.0, 5e-324, None, None, None);
    let items = [AllocationItem::new(&a, 0.05)];
    let r = Allocator::new(AllocationConfig {
        mode: AllocationMode::Continuous,
        ..Default::default()
    })
    .unwrap()
    .allocate(&items, 1e6)
    .unwrap();
    assert!((r.positions[0].notional - 5e4).abs() < 1e-6);
}

#[test]
fn leftover_lots_are_added_in_bulk() {
    // BIG (priority 2) floors from 99.5 to 99 lots of 1; the 0.5 left over goes to FINE in
    // lots of 1e-10 notional: 5e9 lots, which the old one-lot-at-a-time loop took seconds
    // to minutes to add. FINE needs 1e12 lots at its bound, under MAX_LOTS_PER_NAME.
    let r = within(5, || {
        let big = asset("BIG", 1.0, 1.0, None, None, None);
        let fine = asset("FINE", 1.0, 1e-10, None, None, None);
        let mut a = AllocationItem::new(&big, 0.995);
        a.priority = 2.0;
        let items = [a, AllocationItem::new(&fine, 1.0)];
        Allocator::new(AllocationConfig {
            mode: AllocationMode::GreedyLots,
            max_name_fraction: 1.0,
            max_gross: 1.0,
            sector_penalty: 0.0,
            ..Default::default()
        })
        .unwrap()
        .allocate(&items, 100.0)
        .unwrap()
    });
    assert_eq!(r.positions[0].shares, 99.0);
    assert!(r.gross_notional() <= 100.0 * (1.0 + 1e-12));
    assert!(
        (r.positions[1].notional - 1.0).abs() < 1e-6,
        "{:?}",
        r.positions[1]
    );
}

#[test]
fn overflowing_notionals_are_errors() {
    let a = asset("A", 1e300, 1e300, None, None, None);
    let items = [AllocationItem::new(&a, 0.05)];
    let alloc = Allocator::new(AllocationConfig::default()).unwrap();
    assert!(matches!(
        alloc.allocate(&items, 1e6),
        Err(prudentia_kelly::KellyError::Overflow { .. })
    ));
    let b = asset("B", 10.0, 1.0, None, None, None);
    let items = [AllocationItem::new(&b, 0.05)];
    let huge = Allocator::new(AllocationConfig {
        max_gross: 100.0,
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        huge.allocate(&items, f64::MAX),
        Err(prudentia_kelly::KellyError::Overflow { .. })
    ));
}

#[test]
fn allocator_checkpoints_are_validated_on_load() {
    let alloc = Allocator::new(AllocationConfig::default()).unwrap();
    let json = serde_json::to_string(&alloc).unwrap();
    assert_eq!(serde_json::from_str::<Allocator>(&json).unwrap(), alloc);
    let bad = json.replace("\"max_gross\":1.0", "\"max_gross\":-1.0");
    assert_ne!(bad, json);
    assert!(serde_json::from_str::<Allocator>(&bad).is_err());
    assert!(serde_json::from_str::<AllocationConfig>(r#"{"adv_participation": 0.0}"#).is_err());
}
