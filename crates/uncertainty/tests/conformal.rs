//! Conformal intervals through regime changes and per regime (Mondrian).

use prudentia_core::{Forecast, Horizon, RegimeLabel};
use prudentia_uncertainty::conformal::{
    AciConfig, AdaptiveConformal, ConformalConfig, Cqr, IntervalSource, SplitConformal,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn f(mean: f64, sigma: f64) -> Forecast {
    Forecast::new(mean, sigma, Horizon::DAY).unwrap()
}

/// Volatility alternates between 1 and 3 every 1000 steps; the forecaster always says
/// N(0, 1).
fn regime_switching(seed: u64, t: usize) -> Vec<(f64, RegimeLabel)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..t)
        .map(|i| {
            let high = (i / 1000) % 2 == 1;
            let z: f64 = StandardNormal.sample(&mut rng);
            if high {
                (3.0 * z, RegimeLabel::HIGH_VOL)
            } else {
                (z, RegimeLabel::LOW_VOL)
            }
        })
        .collect()
}

#[test]
fn aci_keeps_running_coverage_where_split_conformal_does_not() {
    let data = regime_switching(1, 8000);
    let fc = f(0.0, 1.0);
    // Split conformal calibrated on the first 500 (low-vol) observations, then fixed.
    let cal_y: Vec<f64> = data[..500].iter().map(|d| d.0).collect();
    let split =
        SplitConformal::calibrate(ConformalConfig::default(), &vec![fc.clone(); 500], &cal_y, None).unwrap();
    let cfg = AciConfig {
        conformal: ConformalConfig {
            window: 100,
            ..Default::default()
        },
        gamma: 0.01,
    };
    let mut aci = AdaptiveConformal::new(cfg).unwrap();
    // Warm up ACI's score window on the same calibration data.
    for &(y, ref r) in &data[..500] {
        let _ = aci.update(&fc, y, r).unwrap();
    }
    let (mut split_cov, mut aci_cov) = (0usize, 0usize);
    let test = &data[500..];
    for (k, (y, r)) in test.iter().enumerate() {
        if split.interval(&fc, r).unwrap().contains(*y) {
            split_cov += 1;
        }
        if aci.update(&fc, *y, r).unwrap() {
            aci_cov += 1;
        }
        let t = k + 1;
        // Running coverage checked at the end of every regime after the first full one.
        if t >= 1500 && (t + 500) % 1000 == 0 {
            let c = aci_cov as f64 / t as f64;
            assert!((c - 0.9).abs() <= 0.02, "ACI running coverage {c} at t = {t}");
        }
    }
    let n = test.len() as f64;
    let aci_c = aci_cov as f64 / n;
    let split_c = split_cov as f64 / n;
    assert!((aci_c - 0.9).abs() <= 0.02, "ACI {aci_c}");
    assert!((split_c - 0.9).abs() > 0.02, "split {split_c}");
    assert!(split_c < 0.8);
}

/// Two regimes whose forecasters are mis-scaled differently (over-confident by 2 in one,
/// under-confident by 2 in the other).
fn two_regimes(seed: u64, n: usize) -> (Vec<Forecast>, Vec<f64>, Vec<RegimeLabel>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut fs, mut ys, mut rs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let z: f64 = StandardNormal.sample(&mut rng);
        let mean = 0.1 * ((i % 7) as f64 - 3.0);
        let true_sigma = 0.5 + 0.1 * (i % 5) as f64;
        let (label, said) = if i % 2 == 0 {
            (RegimeLabel::RISK_ON, true_sigma / 2.0)
        } else {
            (RegimeLabel::RISK_OFF, true_sigma * 2.0)
        };
        fs.push(f(mean, said));
        ys.push(mean + true_sigma * z);
        rs.push(label);
    }
    (fs, ys, rs)
}

fn coverage_by_regime(
    interval: impl Fn(&Forecast, &RegimeLabel) -> (f64, f64),
    fs: &[Forecast],
    ys: &[f64],
    rs: &[RegimeLabel],
) -> [f64; 2] {
    let mut hit = [0usize; 2];
    let mut cnt = [0usize; 2];
    for ((fc, y), r) in fs.iter().zip(ys).zip(rs) {
        let k = usize::from(*r == RegimeLabel::RISK_OFF);
        let (lo, hi) = interval(fc, r);
        cnt[k] += 1;
        hit[k] += usize::from(lo <= *y && *y <= hi);
    }
    [hit[0] as f64 / cnt[0] as f64, hit[1] as f64 / cnt[1] as f64]
}

#[test]
fn mondrian_split_conformal_covers_each_regime() {
    let (fc, yc, rc) = two_regimes(2, 10_000);
    let (ft, yt, rt) = two_regimes(3, 10_000);
    let mondrian = SplitConformal::calibrate(
        ConformalConfig {
            mondrian: true,
            ..Default::default()
        },
        &fc,
        &yc,
        Some(&rc),
    )
    .unwrap();
    let cov = coverage_by_regime(
        |f, r| {
            let i = mondrian.interval(f, r).unwrap();
            assert!(matches!(i.source, IntervalSource::Regime(_)));
            (i.lower, i.upper)
        },
        &ft,
        &yt,
        &rt,
    );
    for c in cov {
        assert!((0.88..=0.92).contains(&c), "Mondrian coverage {cov:?}");
    }
    // Pooled scores miss in both regimes.
    let pooled = SplitConformal::calibrate(ConformalConfig::default(), &fc, &yc, None).unwrap();
    let cov = coverage_by_regime(
        |f, r| {
            let i = pooled.interval(f, r).unwrap();
            (i.lower, i.upper)
        },
        &ft,
        &yt,
        &rt,
    );
    assert!(cov[0] < 0.85 && cov[1] > 0.95, "pooled {cov:?}");
}

#[test]
fn mondrian_aci_covers_each_regime() {
    let (ft, yt, rt) = two_regimes(4, 20_000);
    let cfg = AciConfig {
        conformal: ConformalConfig {
            mondrian: true,
            window: 300,
            ..Default::default()
        },
        gamma: 0.01,
    };
    let mut aci = AdaptiveConformal::new(cfg).unwrap();
    for ((fc, y), r) in ft.iter().zip(&yt).zip(&rt) {
        let _ = aci.update(fc, *y, r).unwrap();
    }
    for r in [RegimeLabel::RISK_ON, RegimeLabel::RISK_OFF] {
        let c = aci.regime(&r).unwrap().coverage().unwrap();
        assert!((0.88..=0.92).contains(&c), "{r}: {c}");
    }
}

#[test]
fn cqr_covers_and_keeps_shape() {
    // True quantiles of N(0, s²) scaled down by 2 (too narrow); CQR widens them.
    let mut rng = StdRng::seed_from_u64(5);
    let z05 = 1.644_853_626_951_472_2; // Φ⁻¹(0.95), table value
    let mut gen = |n: usize| {
        let mut lo = Vec::new();
        let mut hi = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let s = 0.5 + (i % 4) as f64;
            let z: f64 = StandardNormal.sample(&mut rng);
            lo.push(-z05 * s / 2.0);
            hi.push(z05 * s / 2.0);
            y.push(s * z);
        }
        (lo, hi, y)
    };
    let (lc, hc, yc) = gen(5000);
    let (lt, ht, yt) = gen(5000);
    let cqr = Cqr::calibrate(ConformalConfig::default(), &lc, &hc, &yc, None).unwrap();
    let mut hit = 0;
    for i in 0..lt.len() {
        let iv = cqr.interval(lt[i], ht[i], &RegimeLabel::UNKNOWN).unwrap();
        hit += usize::from(iv.contains(yt[i]));
    }
    let c = hit as f64 / lt.len() as f64;
    assert!((0.88..=0.92).contains(&c), "CQR coverage {c}");
}

/// Issue #22: an update whose score overflows (σ = 5e-324) used to store an infinite score
/// and make every later interval infinite. It is now refused and changes nothing.
#[test]
fn overflowing_scores_are_refused_and_change_nothing() {
    let r = RegimeLabel::UNKNOWN;
    let mut split = SplitConformal::new(ConformalConfig::default()).unwrap();
    let mut aci = AdaptiveConformal::new(AciConfig::default()).unwrap();
    for i in 0..50 {
        let y = (i as f64 / 50.0) - 0.5;
        split.update(&f(0.0, 1.0), y, &r).unwrap();
        aci.update(&f(0.0, 1.0), y, &r).unwrap();
    }
    let (s0, a0) = (split.clone(), aci.clone());
    let tiny = f(0.0, 5e-324);
    assert!(split.update(&tiny, 1.0, &r).is_err());
    assert!(aci.update(&tiny, 1.0, &r).is_err());
    assert_eq!(split, s0);
    assert_eq!(aci, a0);
    let i = split.interval(&f(0.0, 1.0), &r).unwrap();
    assert!(i.lower.is_finite() && i.upper.is_finite());
    let i = aci.interval(&f(0.0, 1.0), &r).unwrap();
    assert!(i.lower.is_finite() && i.upper.is_finite());
    // Intervals that would overflow are errors, not infinities.
    assert!(split.interval(&f(1.7e308, 1e308), &r).is_err());
    // A forecast built by hand with a NaN sigma is refused.
    let mut bad = f(0.0, 1.0);
    bad.sigma = f64::NAN;
    assert!(split.update(&bad, 0.0, &r).is_err());
    assert!(aci.interval(&bad, &r).is_err());
}
