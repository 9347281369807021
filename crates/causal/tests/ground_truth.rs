//! Ground truth on `prudentia_datasets::causal_dataset` (true ATE 0.2, `τ(x) = 0.5 x₀ + 0.2`).

use prudentia_causal::{CausalData, DrConfig, DrLearner, Folds, OutcomeModel};
use prudentia_datasets::{causal_dataset, CAUSAL_TRUE_ATE};

fn learner(seed: u64) -> DrLearner {
    DrLearner::new(DrConfig {
        folds: Folds::Seeded { k: 2, seed },
        outcome_model: OutcomeModel::PerArm,
        ..DrConfig::default()
    })
}

/// 100 seeded replications at n = 2,000: the 95% interval of the population ATE covers 0.2
/// in at least 93 of them.
#[test]
fn ate_interval_covers_the_truth() {
    let mut covered = 0;
    let mut estimates = Vec::new();
    for seed in 0..100u64 {
        let s = causal_dataset(2_000, 3, 1_000 + seed).unwrap();
        let t = s.treatment_indicator();
        let m = learner(seed)
            .fit(&CausalData::new(s.x.view(), t.view(), s.outcome.view()))
            .unwrap();
        let ate = m.ate();
        if ate.lower <= CAUSAL_TRUE_ATE && CAUSAL_TRUE_ATE <= ate.upper {
            covered += 1;
        }
        estimates.push(ate.estimate);
    }
    let mean = estimates.iter().sum::<f64>() / 100.0;
    println!("ATE coverage {covered}/100, mean estimate {mean:.4}");
    assert!(covered >= 93, "coverage {covered}/100");
}

/// The naive difference in means is biased upwards (x₀ raises both treatment and outcome);
/// the DR estimate is not: over 20 replications at n = 5,000 the naive mean is more than
/// 10 standard errors above 0.2 and the DR mean within 3.
#[test]
fn naive_difference_is_biased_and_dr_is_not() {
    let reps = 20;
    let (mut naive, mut dr) = (Vec::new(), Vec::new());
    for seed in 0..reps {
        let s = causal_dataset(5_000, 3, 5_000 + seed).unwrap();
        let t = s.treatment_indicator();
        naive.push(s.naive_difference());
        let m = learner(seed)
            .fit(&CausalData::new(s.x.view(), t.view(), s.outcome.view()))
            .unwrap();
        dr.push(m.ate().estimate);
    }
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        (m, sd / n.sqrt())
    };
    let (nm, nse) = stats(&naive);
    let (dm, dse) = stats(&dr);
    println!("naive difference {nm:.4} (se {nse:.4}), DR {dm:.4} (se {dse:.4}), truth {CAUSAL_TRUE_ATE}");
    assert!((nm - CAUSAL_TRUE_ATE) / nse > 10.0, "naive {nm} not biased");
    assert!(((dm - CAUSAL_TRUE_ATE) / dse).abs() < 3.0, "DR {dm} biased");
}

/// The CATE slope recovers τ(x) = 0.5 x₀ + 0.2.
#[test]
fn cate_recovers_the_effect_function() {
    let s = causal_dataset(20_000, 3, 77).unwrap();
    let t = s.treatment_indicator();
    let m = learner(1)
        .fit(&CausalData::new(s.x.view(), t.view(), s.outcome.view()))
        .unwrap();
    let c = m.coefficients();
    assert!(c[0].lower < 0.2 && 0.2 < c[0].upper, "{:?}", c[0]);
    assert!(c[1].lower < 0.5 && 0.5 < c[1].upper, "{:?}", c[1]);
    assert!(c[2].p_value > 0.001 && c[3].p_value > 0.001);
}
