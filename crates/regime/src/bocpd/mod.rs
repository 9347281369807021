//! Bayesian online change-point detection (Adams & MacKay 2007, arXiv:0710.3742).
//!
//! The detector keeps the posterior over the *run length* `r_t`, the number of
//! observations since the last change point, and updates it with one observation at a
//! time (Adams & MacKay, Algorithm 1):
//!
//! ```text
//! growth:  p(r_t = r + 1, x_{1:t}) = p(r_{t-1} = r, x_{1:t-1}) · π_r(x_t) · (1 − H(r))
//! change:  p(r_t = 0,     x_{1:t}) = Σ_r p(r_{t-1} = r, x_{1:t-1}) · π_r(x_t) · H(r)
//! posterior: p(r_t | x_{1:t}) = p(r_t, x_{1:t}) / Σ_r p(r_t = r, x_{1:t})
//! ```
//!
//! where `π_r(x_t) = p(x_t | the last r observations)` is the conjugate posterior
//! predictive and `H(r)` the hazard: the probability that a run holding `r` observations
//! ends after the next one. A run length of `r` means the last `r` observations form the
//! current segment (`r_t = 0` right after a change: the next observation starts a new
//! segment, so `P(r_t = 0 | x_{1:t}) = H` for a constant hazard and carries no signal).
//!
//! Everything is computed in log space. Run lengths whose posterior probability falls
//! below [`Truncation::min_probability`] are dropped and at most
//! [`Truncation::max_run_lengths`] are kept, so memory and time per update stay bounded;
//! with truncation off the posterior is exact (tested against brute-force enumeration of
//! all segmentations). Buffers are reused: in steady state an update does not allocate.
//!
//! Observation models (per feature; a multivariate input is modelled as independent
//! features, the predictive being the product of the features' predictives):
//! - [`NormalGammaPrior`]: unknown mean and variance, Student-t predictive
//!   `x ~ t_{2α}(μ, β(κ+1)/(ακ))` (Murphy 2007, "Conjugate Bayesian analysis of the
//!   Gaussian distribution", eq. 110);
//! - [`NormalKnownVariancePrior`]: unknown mean, known variance σ², Normal predictive
//!   `x ~ N(μ, τ² + σ²)`.

mod detector;
mod hazard;
mod models;

pub use detector::{Bocpd, BocpdConfig, BocpdStep, Detection, Truncation};
pub use hazard::Hazard;
#[cfg(test)]
use models::predict_and_update;
pub use models::{NormalGammaPrior, NormalKnownVariancePrior, ObservationModel, MAX_SHAPE, PRIOR_MAX};

#[cfg(test)]
mod tests {
    use super::*;
    use prudentia_core::CoreError;
    use statrs::function::gamma::ln_gamma;

    #[test]
    fn posterior_sums_to_one_and_grows() {
        let mut d = Bocpd::new(BocpdConfig::default()).unwrap();
        for i in 0..50 {
            let s = d.update_scalar((i as f64 * 0.7).sin()).unwrap();
            assert_eq!(s.index, i);
        }
        let total: f64 = d.run_length_posterior().map(|(_, p)| p).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn student_t_predictive_matches_statrs() {
        use statrs::distribution::{Continuous, StudentsT};
        let p = NormalGammaPrior {
            mu: 0.3,
            kappa: 2.0,
            alpha: 3.0,
            beta: 1.5,
        };
        let model = ObservationModel::NormalGamma(p);
        let mut s = Vec::new();
        model.write_prior(&mut s);
        let x = -0.8;
        let lp = predict_and_update(&model, &mut s, x);
        let scale = (p.beta * (p.kappa + 1.0) / (p.alpha * p.kappa)).sqrt();
        let t = StudentsT::new(p.mu, scale, 2.0 * p.alpha).unwrap();
        assert!((lp - t.ln_pdf(x)).abs() < 1e-12);
        // the recursion for lnΓ(α+½) − lnΓ(α) stays exact
        assert!((s[4] - (ln_gamma(3.5 + 0.5) - ln_gamma(3.5))).abs() < 1e-12);
    }

    #[test]
    fn validate_rejects_bad_fields() {
        let mut c = BocpdConfig {
            hazard: Hazard::Constant {
                expected_run_length: 1.0,
            },
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(CoreError::OutOfRange {
                field: "hazard.expected_run_length",
                ..
            })
        ));
        c.hazard = Hazard::Table {
            probabilities: vec![0.1, 1.0],
        };
        assert!(c.validate().is_err());
        c.hazard = Hazard::Table {
            probabilities: vec![],
        };
        assert!(c.validate().is_err());
        let mut c = BocpdConfig::univariate(ObservationModel::NormalGamma(NormalGammaPrior {
            beta: 0.0,
            ..Default::default()
        }));
        assert!(matches!(
            c.validate(),
            Err(CoreError::OutOfRange {
                field: "normal_gamma.beta",
                ..
            })
        ));
        c.features = vec![];
        assert!(c.validate().is_err());
        let c = BocpdConfig::univariate(ObservationModel::NormalKnownVariance(NormalKnownVariancePrior {
            noise_variance: f64::NAN,
            ..Default::default()
        }));
        assert!(Bocpd::new(c).is_err());
        let mut c = BocpdConfig::default();
        c.truncation.min_probability = 1.0;
        assert!(c.validate().is_err());
        let mut c = BocpdConfig::default();
        c.detection.threshold = 0.0;
        assert!(c.validate().is_err());
    }
}
