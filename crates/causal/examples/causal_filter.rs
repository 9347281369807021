//! Which signals survive the causal filter, and why.
//!
//! Eight assets, each with 500 periods of history: a covariate `momentum` that raises both
//! the chance the asset's signal fires and its forward return, the signal, and the return.
//! The true effects of the signals differ: some help, some do nothing but ride on momentum
//! (their naive "fired vs not fired" difference looks good), one hurts. The filter refits
//! every asset's effect with the DR-learner (as the learn flow would, on its schedule), then
//! keeps the opportunities whose effect is positive and significant after
//! Benjamini–Hochberg at a 10% false discovery rate, ranked by effect.
//!
//! `cargo run -p prudentia-causal --example causal_filter`

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

/// `n` periods: momentum `m ~ N(0,1)`, the signal fires with probability
/// `logistic(confounding · m)`, the forward return (in %) is `0.5 m + effect · signal + ε`.
fn history(
    n: usize,
    effect: f64,
    confounding: f64,
    rng: &mut ChaCha8Rng,
) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let mut x = Array2::zeros((n, 1));
    let (mut s, mut r) = (Array1::zeros(n), Array1::zeros(n));
    for i in 0..n {
        let m = normal(rng);
        let fired = rng.random::<f64>() < 1.0 / (1.0 + (-confounding * m).exp());
        x[[i, 0]] = m;
        s[i] = if fired { 1.0 } else { 0.0 };
        r[i] = 0.5 * m + effect * s[i] + normal(rng);
    }
    (x, s, r)
}

fn naive(s: &Array1<f64>, r: &Array1<f64>) -> f64 {
    let (mut a, mut na, mut b, mut nb) = (0.0, 0.0, 0.0, 0.0);
    for (&d, &y) in s.iter().zip(r) {
        if d == 1.0 {
            a += y;
            na += 1.0;
        } else {
            b += y;
            nb += 1.0;
        }
    }
    a / na - b / nb
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    // (asset, true effect of its signal in %, how strongly momentum drives the signal)
    let truth = [
        ("MOMO", 0.0, 1.5),  // rides on momentum only: looks great naively
        ("EARN", 0.40, 0.5), // a real effect
        ("FLOW", 0.25, 1.0), // a real, confounded effect
        ("NEWS", 0.0, 0.0),  // nothing
        ("SEAS", 0.15, 0.3), // a small real effect
        ("REVR", -0.30, 1.0),
        ("VOLA", 0.0, 0.8),
        ("SHRT", 0.5, 0.0), // too little history for an estimate
    ];
    let data: Vec<_> = truth
        .iter()
        .map(|&(_, e, c)| history(500, e, c, &mut rng))
        .collect();
    let ids: Vec<AssetId> = truth.iter().map(|t| AssetId::new(t.0)).collect();
    let histories: Vec<(AssetId, SignalHistory<'_>)> = data
        .iter()
        .zip(&ids)
        .map(|((x, s, r), id)| {
            let n = if id.as_str() == "SHRT" { 30 } else { x.nrows() };
            (
                id.clone(),
                SignalHistory {
                    covariates: x.slice(ndarray::s![..n, ..]),
                    signal: s.slice(ndarray::s![..n]),
                    forward_return: r.slice(ndarray::s![..n]),
                },
            )
        })
        .collect();

    let mut filter = SignalFilter::new(FilterConfig::default())?;
    let report = filter.refit(&histories)?; // the learn flow's job
    for (id, why) in &report.skipped {
        println!("no estimate for {}: {why}", id.as_str());
    }

    let slate: Vec<Opportunity> = ids
        .iter()
        .map(|id| {
            Ok(Opportunity {
                asset: AssetInfo::new(id.clone(), 100.0)?,
                forecast: Forecast::new(0.004, 0.02, Horizon::DAY)?,
            })
        })
        .collect::<Result<_, prudentia_core::CoreError>>()?;

    println!(
        "\n{:<6} {:>7} {:>7} {:>8} {:>7} {:>9}  verdict",
        "asset", "true", "naive", "DR", "se", "p(>0)"
    );
    for (i, s) in filter.screen(&slate).iter().enumerate() {
        let (_, sig, r) = &data[i];
        let (est, se) = s.effect.map_or((f64::NAN, f64::NAN), |e| (e.cate, e.std_error));
        let verdict = match &s.verdict {
            Verdict::Kept => "KEPT: positive, significant after Benjamini-Hochberg".to_string(),
            Verdict::NoEstimate => "dropped: no estimate (history too short)".to_string(),
            Verdict::NotPositive => "dropped: effect not positive".to_string(),
            Verdict::NotSignificant { cutoff } => format!("dropped: p above the BH cut-off {cutoff:.4}"),
            other => format!("{other:?}"),
        };
        println!(
            "{:<6} {:>7.2} {:>7.2} {:>8.3} {:>7.3} {:>9.2e}  {verdict}",
            s.asset.as_str(),
            truth[i].1,
            naive(sig, r),
            est,
            se,
            s.p_one_sided.unwrap_or(f64::NAN),
        );
    }

    let kept = filter.filter(slate)?;
    println!("\nkept, ranked by effect:");
    for o in &kept {
        let e = o.forecast.causal_effect.as_ref().ok_or("missing effect")?;
        println!(
            "  {:<6} effect {:.3} (se {:.3}, two-sided p {:.1e})",
            o.asset.id.as_str(),
            e.cate,
            e.std_error,
            e.p_value
        );
    }
    Ok(())
}
