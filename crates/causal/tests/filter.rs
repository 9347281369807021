//! The causal filter: Benjamini–Hochberg across the slate keeps the false discovery rate at
//! or below its target on synthetic signals with known null effects.

use ndarray::{Array1, Array2};
use prudentia_causal::filter::{FilterConfig, SignalFilter, SignalHistory, Verdict};
use prudentia_core::traits::CausalFilter;
use prudentia_core::{AssetId, AssetInfo, Forecast, Horizon, Opportunity};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A confounded history: a covariate `c` raises both the chance the signal fires and the
/// forward return; the signal adds `effect` to the return.
pub fn history(n: usize, effect: f64, rng: &mut ChaCha8Rng) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let mut x = Array2::zeros((n, 1));
    let mut s = Array1::zeros(n);
    let mut r = Array1::zeros(n);
    for i in 0..n {
        let c = normal(rng);
        let p = 1.0 / (1.0 + (-0.8 * c).exp());
        let fired = if rng.random::<f64>() < p { 1.0 } else { 0.0 };
        x[[i, 0]] = c;
        s[i] = fired;
        r[i] = 0.3 * c + effect * fired + normal(rng);
    }
    (x, s, r)
}

pub fn opportunity(id: &str) -> Opportunity {
    Opportunity {
        asset: AssetInfo::new(id, 100.0).unwrap(),
        forecast: Forecast::new(0.01, 0.02, Horizon::DAY).unwrap(),
    }
}

#[test]
fn false_discovery_rate_stays_at_or_below_target() {
    let q = 0.10;
    let (assets, real, reps, n) = (50usize, 10usize, 30u64, 300usize);
    let mut fdp_sum = 0.0;
    let mut power_sum = 0.0;
    let mut naive_fdp_sum = 0.0;
    for rep in 0..reps {
        let mut rng = ChaCha8Rng::seed_from_u64(900 + rep);
        let data: Vec<_> = (0..assets)
            .map(|a| history(n, if a < real { 0.5 } else { 0.0 }, &mut rng))
            .collect();
        let ids: Vec<AssetId> = (0..assets).map(|a| AssetId::new(format!("A{a:02}"))).collect();
        let histories: Vec<(AssetId, SignalHistory<'_>)> = data
            .iter()
            .zip(&ids)
            .map(|((x, s, r), id)| {
                (
                    id.clone(),
                    SignalHistory {
                        covariates: x.view(),
                        signal: s.view(),
                        forward_return: r.view(),
                    },
                )
            })
            .collect();
        let mut f = SignalFilter::new(FilterConfig {
            fdr: q,
            ..FilterConfig::default()
        })
        .unwrap();
        let report = f.refit(&histories).unwrap();
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        let slate: Vec<Opportunity> = ids.iter().map(|id| opportunity(id.as_str())).collect();
        let kept = f.filter(slate.clone()).unwrap();
        let is_real = |o: &Opportunity| o.asset.id.as_str()[1..].parse::<usize>().unwrap() < real;
        let false_kept = kept.iter().filter(|o| !is_real(o)).count();
        fdp_sum += false_kept as f64 / kept.len().max(1) as f64;
        power_sum += kept.iter().filter(|o| is_real(o)).count() as f64 / real as f64;
        // ranked by effect, each with its estimate
        for w in kept.windows(2) {
            assert!(
                w[0].forecast.causal_effect.as_ref().unwrap().cate
                    >= w[1].forecast.causal_effect.as_ref().unwrap().cate
            );
        }
        // the naive rule (each name at 5%, one-sided) for comparison
        let naive: Vec<_> = f
            .screen(&slate)
            .into_iter()
            .filter(|s| s.p_one_sided.unwrap() < 0.05)
            .collect();
        let naive_false = naive
            .iter()
            .filter(|s| s.asset.as_str()[1..].parse::<usize>().unwrap() >= real)
            .count();
        naive_fdp_sum += naive_false as f64 / naive.len().max(1) as f64;
    }
    let fdr = fdp_sum / reps as f64;
    let power = power_sum / reps as f64;
    let naive = naive_fdp_sum / reps as f64;
    println!("filter FDR {fdr:.3} (target {q}), power {power:.2}; one test per name at 5%: FDR {naive:.3}");
    assert!(fdr <= q, "FDR {fdr} above {q}");
    assert!(power > 0.5, "power {power}");
}

fn h<'a>(x: &'a Array2<f64>, s: &'a Array1<f64>, r: &'a Array1<f64>) -> SignalHistory<'a> {
    SignalHistory {
        covariates: x.view(),
        signal: s.view(),
        forward_return: r.view(),
    }
}

#[test]
fn screening_explains_each_verdict() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (x1, s1, r1) = history(2_000, 0.5, &mut rng);
    let (x2, s2, r2) = history(2_000, -0.5, &mut rng);
    let (x3, s3, r3) = history(60, 0.02, &mut rng);
    let mut f = SignalFilter::new(FilterConfig::default()).unwrap();
    let (e1, e2, e3) = (h(&x1, &s1, &r1), h(&x2, &s2, &r2), h(&x3, &s3, &r3));
    let short = (Array2::zeros((10, 1)), Array1::zeros(10), Array1::zeros(10));
    let e4 = h(&short.0, &short.1, &short.2);
    let report = f
        .refit(&[
            (AssetId::new("UP"), e1),
            (AssetId::new("DOWN"), e2),
            (AssetId::new("WEAK"), e3),
            (AssetId::new("SHORT"), e4),
        ])
        .unwrap();
    assert_eq!(report.fitted.len(), 3);
    assert_eq!(report.skipped.len(), 1);
    let slate = vec![
        opportunity("DOWN"),
        opportunity("UP"),
        opportunity("NEW"),
        opportunity("WEAK"),
        opportunity("SHORT"),
    ];
    let s = f.screen(&slate);
    assert_eq!(s[0].verdict, Verdict::NotPositive);
    assert_eq!(s[1].verdict, Verdict::Kept);
    assert_eq!(s[2].verdict, Verdict::NoEstimate);
    assert!(
        matches!(
            s[3].verdict,
            Verdict::NotSignificant { .. } | Verdict::NotPositive
        ),
        "{:?}",
        s[3]
    );
    assert_eq!(s[4].verdict, Verdict::NoEstimate);
    let kept = f.filter(slate).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].asset.id.as_str(), "UP");
    let e = kept[0].forecast.causal_effect.as_ref().unwrap();
    assert!(e.cate > 0.3 && e.std_error > 0.0 && e.p_value < 1e-6);

    // the filter round-trips through serde and filters the same
    let json = serde_json::to_string(&f).unwrap();
    let g: SignalFilter = serde_json::from_str(&json).unwrap();
    assert_eq!(g, f);
    // an empty slate, and a filter with no estimates, keep nothing
    assert!(f.filter(vec![]).unwrap().is_empty());
    let empty = SignalFilter::new(FilterConfig::default()).unwrap();
    assert!(empty.filter(vec![opportunity("UP")]).unwrap().is_empty());
}

#[test]
fn filter_config_is_validated() {
    for fdr in [0.0, 1.0, f64::NAN, -0.1] {
        assert!(SignalFilter::new(FilterConfig {
            fdr,
            ..FilterConfig::default()
        })
        .is_err());
    }
    let mut c = FilterConfig::default();
    c.dr.folds = prudentia_causal::Folds::Explicit(vec![0, 1]);
    assert!(SignalFilter::new(c).is_err());
    assert!(serde_json::from_str::<FilterConfig>(r#"{"fdr": 1.5}"#).is_err());
}
