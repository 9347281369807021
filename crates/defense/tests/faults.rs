//! Faults injected into a synthetic market: spikes of at least 12 MADs of the clean data's
//! own trailing 21-day log returns (computed by the test, not read from the validator) are
//! all quarantined with |z| ≥ 6 in the validator's own scale
//! with their reason, under 1% of clean observations are quarantined at default settings,
//! and every hard fault is caught with the right reason.

use crate::common;

use common::{day, market};

use prudentia_core::Timestamp;
use prudentia_defense::{
    InputDefense, InputDefenseConfig, Observation, Reason, ReasonKind, SnapshotGuardConfig, ValidatorConfig,
    Verdict, MAD_SCALE,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Clean,
    Spike,
    Nan,
    Missing,
    Stale,
    OutOfOrder,
    Duplicate,
    LevelShift,
}

/// The Student-t(5) market of `common` (fat tails, two volatility changes).
#[test]
fn injected_faults_are_caught_and_clean_data_passes_fat_tails() {
    let m = market(8, 3000, 7);
    check_faults(&m.prices, &m.vol_changes, "student-t market");
}

/// The datasets crate's regime-switching synthetic market (default seed, 20 assets, 2520 days).
#[test]
fn injected_faults_are_caught_and_clean_data_passes_synthetic_market() {
    let sm = prudentia_datasets::SyntheticMarket::generate(&Default::default()).unwrap();
    let (n_days, n_assets) = sm.prices.dim();
    let prices: Vec<Vec<f64>> = (0..n_assets)
        .map(|a| (0..n_days).map(|t| sm.prices[[t, a]]).collect())
        .collect();
    check_faults(&prices, &sm.change_points, "datasets SyntheticMarket");
}

/// Spike size, in robust standard deviations of the clean data. At 6 or 8 the validator's
/// own window sees some of these spikes at |z| 4.2-5.9 (repaired, or quarantined below 6):
/// its scale runs above the clean data's after earlier faults and repairs.
const SPIKE_MIN: f64 = 12.0;
/// Trailing window of clean log returns that sizes a spike (the validator's default length).
const CLEAN_WINDOW: usize = 21;

/// Median and MAD of the clean series' log returns over the `w` days before day `d`.
fn clean_median_mad(p: &[f64], d: usize, w: usize) -> (f64, f64) {
    let lo = d.saturating_sub(w).max(1);
    let mut r: Vec<f64> = (lo..d).map(|t| (p[t] / p[t - 1]).ln()).collect();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 1 {
            v[m]
        } else {
            0.5 * (v[m - 1] + v[m])
        }
    };
    let med = median(&mut r);
    let mut dev: Vec<f64> = r.iter().map(|x| (x - med).abs()).collect();
    (med, median(&mut dev))
}

#[allow(clippy::needless_range_loop)] // `a` also names the topic
fn check_faults(prices: &[Vec<f64>], vol_changes: &[usize], label: &str) {
    let (n_assets, n_days) = (prices.len(), prices[0].len());
    // The snapshot guard's former default price validator (issue #19 loosened the defaults;
    // `sp500_defaults.rs` tests them): log returns, 7-day staleness limit, every other
    // setting at the validator's default.
    let cfg = SnapshotGuardConfig::classic_hampel().defense;
    let mut defense = InputDefense::new(cfg).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let (mut spikes, mut spikes_caught) = (0, 0);
    let (mut clean, mut clean_quarantined, mut transition_clean, mut transition_q) = (0, 0, 0, 0);
    let mut hard = [0usize; 2]; // [injected, caught with the right reason]
    for a in 0..n_assets {
        let topic = format!("asset{a}");
        // Level shift: from a random day on, the feed reports prices ×1.5 (a unit change).
        let shift_day = 500 + rng.random_range(0..(n_days - 1000));
        let mut since_shift = usize::MAX;
        let mut prev_fault = Fault::Clean;
        for d in 0..n_days {
            let now = day(d as i64);
            let mut price = prices[a][d];
            if d >= shift_day {
                price *= 1.5;
                since_shift = d - shift_day;
            }
            let u = rng.random::<f64>();
            // A spike is injected only while the validator is settled (no quarantined
            // candidate level pending): right after a quarantined outlier, a value near that
            // outlier would be indistinguishable from a genuine move's confirmation.
            let settled = defense.validator(&topic).is_some_and(|v| v.pending().is_none());
            let fault = if d < 50 || since_shift < 30 {
                Fault::Clean
            } else if d == shift_day {
                Fault::LevelShift
            } else if u < 0.01 && settled {
                Fault::Spike
            } else if u < 0.015 {
                Fault::Nan
            } else if u < 0.02 {
                Fault::Missing
            } else if u < 0.025 {
                Fault::Stale
            } else if u < 0.03 {
                Fault::OutOfOrder
            } else if u < 0.035 {
                Fault::Duplicate
            } else {
                Fault::Clean
            };
            let v = defense.validator(&topic);
            let (obs, expect) = match fault {
                Fault::Clean | Fault::LevelShift => (Observation::new(now, price), None),
                Fault::Spike => {
                    // At least SPIKE_MIN robust standard deviations of the clean series' own
                    // trailing log returns (computed here, not read from the validator), from
                    // the clean previous price, either side.
                    let (med, mad) = clean_median_mad(&prices[a], d, CLEAN_WINDOW);
                    let k = SPIKE_MIN + 4.0 * rng.random::<f64>();
                    let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                    let reference = prices[a][d - 1] * if d > shift_day { 1.5 } else { 1.0 };
                    let r = med + sign * k * MAD_SCALE * mad;
                    (
                        Observation::new(now, reference * r.exp()),
                        Some(ReasonKind::Outlier),
                    )
                }
                Fault::Nan => (Observation::new(now, f64::NAN), Some(ReasonKind::NonFinite)),
                Fault::Missing => (Observation::missing(now), Some(ReasonKind::Missing)),
                Fault::Stale => (
                    Observation::new(day(d as i64 - 10), price),
                    Some(ReasonKind::OutOfOrder),
                ),
                Fault::OutOfOrder => {
                    let back = day(d as i64 - 3);
                    (
                        Observation::new(back, prices[a][d - 3]),
                        Some(ReasonKind::OutOfOrder),
                    )
                }
                Fault::Duplicate => {
                    let last = v.unwrap().last_time().unwrap();
                    (
                        Observation::new(last, price),
                        Some(ReasonKind::DuplicateTimestamp),
                    )
                }
            };
            let s = defense.process(&topic, &obs, Some(now));
            match (fault, expect) {
                (Fault::Spike, _) => {
                    spikes += 1;
                    match s.verdict {
                        Verdict::Quarantine {
                            reason: Reason::Outlier { z, .. },
                        } => {
                            assert!(z.abs() >= 6.0 - 1e-9, "z = {z}");
                            spikes_caught += 1;
                        }
                        other => panic!("spike on {topic} day {d} not quarantined: {other:?} (previous fault {prev_fault:?})"),
                    }
                }
                (Fault::Clean, _) => {
                    let in_transition = vol_changes.iter().any(|c| d >= *c && d < c + 21) || since_shift < 30;
                    let q = !s.verdict.is_admitted();
                    if in_transition {
                        transition_clean += 1;
                        transition_q += usize::from(q);
                    } else {
                        clean += 1;
                        clean_quarantined += usize::from(q);
                    }
                }
                (Fault::LevelShift, _) => {}
                (_, Some(kind)) => {
                    hard[0] += 1;
                    let got = s.verdict.reason().map(Reason::kind);
                    assert_eq!(got, Some(kind), "{fault:?} on {topic} day {d}: {:?}", s.verdict);
                    hard[1] += 1;
                }
                _ => unreachable!(),
            }
            prev_fault = fault;
            // After a (real) stale tick, time order is by source time: a tick 10 days old is
            // also out of order here, which the validator reports first. A stale tick that is
            // in order is tested separately below.
        }
    }
    let rate = clean_quarantined as f64 / clean as f64;
    let t_rate = (clean_quarantined + transition_q) as f64 / (clean + transition_clean) as f64;
    eprintln!(
        "{label}: spikes {spikes_caught}/{spikes} quarantined; hard faults {}/{}; clean quarantined {clean_quarantined}/{clean} = {:.3}% \
         (including 21 days after vol changes and 30 after level shifts: {:.3}%)",
        hard[1],
        hard[0],
        100.0 * rate,
        100.0 * t_rate
    );
    assert!(spikes > 100);
    assert_eq!(spikes_caught, spikes);
    assert!(rate < 0.01, "clean quarantine rate {rate}");
    let c = defense.total_counts();
    assert_eq!(c.accepted + c.repaired + c.quarantined, c.input);
    assert_eq!(c.input, (n_assets * n_days) as u64);
}

#[test]
fn in_order_stale_ticks_are_quarantined_as_stale() {
    let cfg = ValidatorConfig {
        max_age_ns: Some(2 * Timestamp::NANOS_PER_DAY),
        ..Default::default()
    };
    let mut defense = InputDefense::new(InputDefenseConfig {
        default_validator: cfg,
        ..Default::default()
    })
    .unwrap();
    let _ = defense.process("x", &Observation::new(day(1), 1.0), Some(day(1)));
    // Source time day 2 is in order, but it is processed on day 9.
    let s = defense.process("x", &Observation::new(day(2), 1.0), Some(day(9)));
    assert!(matches!(
        s.verdict,
        Verdict::Quarantine {
            reason: Reason::Stale { .. }
        }
    ));
}
