//! Without truncation, BOCPD's run-length posterior equals the posterior obtained by
//! enumerating every run-length path and scoring each segment with its closed-form
//! marginal likelihood (no sequential predictive involved).

use prudentia_regime::bocpd::{
    Bocpd, BocpdConfig, Detection, Hazard, NormalGammaPrior, NormalKnownVariancePrior, ObservationModel,
    Truncation,
};
use statrs::function::gamma::ln_gamma;

/// Closed-form log marginal likelihood of a segment under one model.
fn log_marginal(model: &ObservationModel, xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return 0.0;
    }
    match model {
        ObservationModel::NormalGamma(p) => {
            // Murphy (2007), eq. 95: Γ(αn)/Γ(α0) · β0^α0/βn^αn · (κ0/κn)^½ · (2π)^(−n/2)
            let mean = xs.iter().sum::<f64>() / n;
            let ss: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
            let kn = p.kappa + n;
            let an = p.alpha + n / 2.0;
            let bn = p.beta + 0.5 * ss + p.kappa * n * (mean - p.mu).powi(2) / (2.0 * kn);
            ln_gamma(an) - ln_gamma(p.alpha) + p.alpha * p.beta.ln() - an * bn.ln()
                + 0.5 * (p.kappa / kn).ln()
                - 0.5 * n * (2.0 * std::f64::consts::PI).ln()
        }
        ObservationModel::NormalKnownVariance(p) => {
            // x ~ N(μ1, σ²I + τ²11ᵀ): det = σ^(2(n−1))(σ² + nτ²),
            // quad = (Σd² − τ²(Σd)²/(σ² + nτ²))/σ²
            let s2 = p.noise_variance;
            let t2 = p.mean_variance;
            let d: Vec<f64> = xs.iter().map(|x| x - p.mu).collect();
            let sd: f64 = d.iter().sum();
            let sdd: f64 = d.iter().map(|v| v * v).sum();
            let c = s2 + n * t2;
            let logdet = (n - 1.0) * s2.ln() + c.ln();
            let quad = (sdd - t2 * sd * sd / c) / s2;
            -0.5 * (n * (2.0 * std::f64::consts::PI).ln() + logdet + quad)
        }
        _ => unreachable!(),
    }
}

fn brute_force(config: &BocpdConfig, data: &[Vec<f64>]) -> Vec<f64> {
    let t = data.len();
    let mut log_joint_by_r = vec![f64::NEG_INFINITY; t + 1];
    // path bit i = 1: r_{i+1} = 0 (the segment closes after x_{i+1})
    for mask in 0u32..(1 << t) {
        let mut lj = 0.0;
        let mut r = 0usize;
        let mut seg_start = 0usize;
        for i in 0..t {
            let h = config.hazard.at(r);
            let closes = mask >> i & 1 == 1;
            if closes {
                lj += h.ln();
                for (f, m) in config.features.iter().enumerate() {
                    let xs: Vec<f64> = data[seg_start..=i].iter().map(|x| x[f]).collect();
                    lj += log_marginal(m, &xs);
                }
                seg_start = i + 1;
                r = 0;
            } else {
                lj += (1.0 - h).ln();
                r += 1;
            }
        }
        for (f, m) in config.features.iter().enumerate() {
            let xs: Vec<f64> = data[seg_start..].iter().map(|x| x[f]).collect();
            lj += log_marginal(m, &xs);
        }
        let a = log_joint_by_r[r];
        let m = a.max(lj);
        log_joint_by_r[r] = m + ((a - m).exp() + (lj - m).exp()).ln();
    }
    let m = log_joint_by_r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = log_joint_by_r.iter().map(|v| (v - m).exp()).sum();
    log_joint_by_r.iter().map(|v| (v - m).exp() / z).collect()
}

fn check(config: BocpdConfig, data: &[Vec<f64>]) {
    let mut d = Bocpd::new(config.clone()).unwrap();
    for t in 0..data.len() {
        let _ = d.update(&data[t]).unwrap();
        let ours = d.dense_posterior();
        let bf = brute_force(&config, &data[..=t]);
        assert_eq!(ours.len(), bf.len(), "t = {t}");
        for (r, (a, b)) in ours.iter().zip(&bf).enumerate() {
            assert!((a - b).abs() < 1e-9, "t = {t}, r = {r}: {a} vs {b}");
        }
    }
}

fn series(n: usize, dims: usize) -> Vec<Vec<f64>> {
    // deterministic, with a level and scale shift half way
    (0..n)
        .map(|i| {
            (0..dims)
                .map(|f| {
                    let base = ((i * 7 + f * 3) as f64 * 1.3).sin();
                    if i < n / 2 {
                        0.5 * base
                    } else {
                        2.0 + 1.5 * base
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn normal_gamma_constant_hazard_equals_brute_force() {
    let config = BocpdConfig {
        features: vec![ObservationModel::NormalGamma(NormalGammaPrior {
            mu: 0.2,
            kappa: 0.5,
            alpha: 1.5,
            beta: 0.7,
        })],
        hazard: Hazard::Constant {
            expected_run_length: 5.0,
        },
        truncation: Truncation::none(),
        detection: Detection::default(),
    };
    check(config, &series(12, 1));
}

#[test]
fn known_variance_table_hazard_equals_brute_force() {
    let config = BocpdConfig {
        features: vec![ObservationModel::NormalKnownVariance(NormalKnownVariancePrior {
            mu: -0.1,
            mean_variance: 2.0,
            noise_variance: 0.6,
        })],
        hazard: Hazard::Table {
            probabilities: vec![0.05, 0.1, 0.2, 0.3, 0.15],
        },
        truncation: Truncation::none(),
        detection: Detection::default(),
    };
    check(config, &series(12, 1));
}

#[test]
fn multivariate_mixed_models_equal_brute_force() {
    let config = BocpdConfig {
        features: vec![
            ObservationModel::NormalGamma(NormalGammaPrior::default()),
            ObservationModel::NormalKnownVariance(NormalKnownVariancePrior::default()),
        ],
        hazard: Hazard::Constant {
            expected_run_length: 8.0,
        },
        truncation: Truncation::none(),
        detection: Detection::default(),
    };
    check(config, &series(11, 2));
}
