//! Diagnostics of an observational estimate: overlap, covariate balance, refutations.
//!
//! - **Overlap**: the range of the (cross-fitted) propensities per arm, the share outside
//!   `[0.05, 0.95]`, and the effective sample size of the inverse-propensity weights
//!   `ESS = (Σ wᵢ)² / Σ wᵢ²` per arm (Kish 1965), with `w = 1/e` for the treated and
//!   `1/(1 − e)` for the controls. An ESS far below the arm's size means a few units carry
//!   the estimate.
//! - **Balance**: the standardized mean difference of every covariate,
//!   `(x̄₁ − x̄₀) / √((s₁² + s₀²)/2)`, before and after inverse-propensity weighting (the
//!   denominator is the unweighted one in both, so that the two are comparable; Austin 2009,
//!   *Statistics in Medicine* 28). |SMD| < 0.1 is the usual bar.
//! - **Refutations** (as DoWhy's refuters, Sharma & Kiciman 2020): re-estimate the ATE with
//!   a placebo treatment (the treatment permuted at random: the effect should vanish), with
//!   an added random common cause (a standard normal covariate: the estimate should not
//!   move), and on a random subset (the estimate should move within its error).

use ndarray::{concatenate, Array1, Array2, ArrayView1, ArrayView2, Axis};
use prudentia_core::validate::{check_finite_1d, check_finite_2d, check_len, check_shape};
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::data::{check_open, shuffle, std_normal, CausalData};
use crate::dr::DrLearner;
use crate::error::{CausalError, CausalResult};
use crate::estimate::Estimate;
use crate::nuisance::{Classifier, Regressor};

/// Propensity overlap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    /// Smallest and largest propensity among the treated.
    pub treated_range: (f64, f64),
    /// Smallest and largest propensity among the controls.
    pub control_range: (f64, f64),
    /// Share of all units with a propensity outside `[0.05, 0.95]`.
    pub share_extreme: f64,
    /// Effective sample size of the treated arm's weights `1/e`.
    pub ess_treated: f64,
    /// Effective sample size of the control arm's weights `1/(1 − e)`.
    pub ess_control: f64,
    /// Treated units.
    pub n_treated: usize,
    /// Control units.
    pub n_control: usize,
}

fn check_propensity(treatment: ArrayView1<'_, f64>, propensity: ArrayView1<'_, f64>) -> CausalResult<usize> {
    let n = treatment.len();
    check_len("treatment", n, 1)?;
    check_shape("propensity", &[n], &[propensity.len()])?;
    check_finite_1d("propensity", propensity)?;
    for &e in propensity {
        check_open("propensity", e, 0.0, 1.0, "in (0, 1)")?;
    }
    let mut treated = 0;
    for (index, &value) in treatment.iter().enumerate() {
        if value == 1.0 {
            treated += 1;
        } else if value != 0.0 {
            return Err(CausalError::NotBinary { index, value });
        }
    }
    crate::data::check_arms(treated, n - treated, 1, String::new())?;
    Ok(treated)
}

/// Overlap of `propensity` (in (0, 1), e.g. [`crate::dr::CrossFit::propensity`]) between
/// the arms of `treatment` (0/1).
///
/// # Errors
/// Mismatched lengths, non-finite or out-of-range propensities, a non-binary treatment, an
/// empty arm.
pub fn overlap(treatment: ArrayView1<'_, f64>, propensity: ArrayView1<'_, f64>) -> CausalResult<Overlap> {
    let treated = check_propensity(treatment, propensity)?;
    let n = treatment.len();
    let mut tr = (f64::INFINITY, f64::NEG_INFINITY);
    let mut cr = (f64::INFINITY, f64::NEG_INFINITY);
    let mut extreme = 0usize;
    for (&d, &e) in treatment.iter().zip(propensity) {
        if !(0.05..=0.95).contains(&e) {
            extreme += 1;
        }
        if d == 1.0 {
            tr = (tr.0.min(e), tr.1.max(e));
        } else {
            cr = (cr.0.min(e), cr.1.max(e));
        }
    }
    let (w1, w0) = ipw_weights(treatment, propensity);
    let ess = |arm: f64, w: &dyn Fn(f64) -> f64| {
        let (mut s, mut q) = (0.0, 0.0);
        for (&d, &e) in treatment.iter().zip(propensity) {
            if d == arm {
                let u = w(e);
                s += u;
                q += u * u;
            }
        }
        s * s / q
    };
    let (ess_treated, ess_control) = (ess(1.0, &w1), ess(0.0, &w0));
    Ok(Overlap {
        treated_range: tr,
        control_range: cr,
        share_extreme: extreme as f64 / n as f64,
        ess_treated,
        ess_control,
        n_treated: treated,
        n_control: n - treated,
    })
}

/// Inverse-propensity weights per arm, divided by the arm's largest weight (so in (0, 1],
/// and never overflowing): `e_min / e` for the treated, `(1 − e_max) / (1 − e)` for the
/// controls. Ratios of sums (ESS, weighted means) do not change.
fn ipw_weights(
    treatment: ArrayView1<'_, f64>,
    propensity: ArrayView1<'_, f64>,
) -> (impl Fn(f64) -> f64, impl Fn(f64) -> f64) {
    let mut e_min = 1.0f64;
    let mut c_min = 1.0f64;
    for (&d, &e) in treatment.iter().zip(propensity) {
        if d == 1.0 {
            e_min = e_min.min(e);
        } else {
            c_min = c_min.min(1.0 - e);
        }
    }
    (move |e: f64| e_min / e, move |e: f64| c_min / (1.0 - e))
}

/// Balance of one covariate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    /// Column index.
    pub feature: usize,
    /// Standardized mean difference before weighting.
    pub smd_before: f64,
    /// Standardized mean difference after inverse-propensity weighting.
    pub smd_after: f64,
}

/// Standardized mean differences of every column of `x` before and after weighting by the
/// inverse propensity. A constant column has SMD 0.
///
/// # Errors
/// As [`overlap`], plus mismatched or non-finite `x`.
pub fn balance(
    x: ArrayView2<'_, f64>,
    treatment: ArrayView1<'_, f64>,
    propensity: ArrayView1<'_, f64>,
) -> CausalResult<Vec<Balance>> {
    check_propensity(treatment, propensity)?;
    check_shape("x rows", &[treatment.len()], &[x.nrows()])?;
    check_finite_2d("x", x)?;
    let (w1, w0) = ipw_weights(treatment, propensity);
    let mut out = Vec::with_capacity(x.ncols());
    for (j, col) in x.columns().into_iter().enumerate() {
        // scale the column so that sums cannot overflow
        let s = crate::linalg::pow2_scale(col.iter().fold(0.0f64, |m, v| m.max(v.abs())));
        let stats = |arm: f64, weighted: bool| {
            let (mut sw, mut sx) = (0.0, 0.0);
            let mut vals = Vec::new();
            for ((&d, &e), &v) in treatment.iter().zip(propensity).zip(col) {
                if d == arm {
                    let w = match (weighted, arm == 1.0) {
                        (false, _) => 1.0,
                        (true, true) => w1(e),
                        (true, false) => w0(e),
                    };
                    sw += w;
                    sx += w * (v / s);
                    vals.push(v / s);
                }
            }
            let mean = sx / sw;
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = if vals.len() > 1 {
                vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (vals.len() - 1) as f64
            } else {
                0.0
            };
            (mean, var)
        };
        let (m1, v1) = stats(1.0, false);
        let (m0, v0) = stats(0.0, false);
        let (w1, _) = stats(1.0, true);
        let (w0, _) = stats(0.0, true);
        let sd = ((v1 + v0) / 2.0).sqrt();
        let smd = |a: f64, b: f64| {
            let v = if sd > 0.0 { (a - b) / sd } else { 0.0 };
            if v.is_finite() {
                v
            } else {
                0.0
            }
        };
        out.push(Balance {
            feature: j,
            smd_before: smd(m1, m0),
            smd_after: smd(w1, w0),
        });
    }
    Ok(out)
}

/// Which refutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RefutationKind {
    /// The treatment permuted at random: the ATE should be near 0.
    PlaceboTreatment,
    /// A standard normal covariate added: the ATE should not move.
    RandomCommonCause,
    /// A random subset of the units: the ATE should move within its error.
    DataSubset,
}

/// One refutation: how the ATE moved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Refutation {
    /// Which one.
    pub kind: RefutationKind,
    /// The original ATE.
    pub original: Estimate,
    /// The ATE under the refutation.
    pub refuted: Estimate,
    /// `refuted − original`, in units of the original standard error (0 when it is 0).
    pub shift_in_se: f64,
}

/// Settings of [`refute`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefuteConfig {
    /// Seed of the permutation, the random covariate and the subset.
    pub seed: u64,
    /// Share of units kept by the subset refutation, in (0, 1). Default 0.8.
    pub subset_fraction: f64,
}

impl Default for RefuteConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            subset_fraction: 0.8,
        }
    }
}

/// Runs the three refutations of the population ATE of `learner` on `data`.
///
/// # Errors
/// As [`DrLearner::fit`], and a `subset_fraction` outside (0, 1). An explicit fold
/// assignment is not re-used on the subset (use seeded folds).
pub fn refute<P: Classifier + 'static, R: Regressor + 'static>(
    learner: &DrLearner<P, R>,
    data: &CausalData<'_>,
    config: RefuteConfig,
) -> CausalResult<Vec<Refutation>> {
    check_open("subset_fraction", config.subset_fraction, 0.0, 1.0, "in (0, 1)")?;
    let original = learner.fit(data)?.ate();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let n = data.outcome.len();
    let shift = |r: Estimate| {
        let v = if original.std_error > 0.0 {
            (r.estimate - original.estimate) / original.std_error
        } else {
            0.0
        };
        if v.is_finite() {
            v
        } else {
            f64::MAX.copysign(v)
        }
    };
    let mut out = Vec::with_capacity(3);

    let mut t: Vec<f64> = data.treatment.to_vec();
    shuffle(&mut t, &mut rng);
    let t = Array1::from(t);
    let refuted = learner
        .fit(&CausalData::new(data.x.view(), t.view(), data.outcome.view()))?
        .ate();
    out.push(Refutation {
        kind: RefutationKind::PlaceboTreatment,
        original,
        refuted,
        shift_in_se: shift(refuted),
    });

    let noise = Array2::from_shape_fn((n, 1), |_| std_normal(&mut rng));
    let x2 = concatenate(Axis(1), &[data.x.view(), noise.view()])
        .map_err(|_| CausalError::Overflow { what: "design" })?;
    let refuted = learner
        .fit(&CausalData::new(
            x2.view(),
            data.treatment.view(),
            data.outcome.view(),
        ))?
        .ate();
    out.push(Refutation {
        kind: RefutationKind::RandomCommonCause,
        original,
        refuted,
        shift_in_se: shift(refuted),
    });

    let mut idx: Vec<usize> = (0..n).collect();
    shuffle(&mut idx, &mut rng);
    let m = ((n as f64 * config.subset_fraction) as usize).max(1);
    idx.truncate(m);
    idx.sort_unstable();
    let xs = data.x.select(Axis(0), &idx);
    let ts = data.treatment.select(Axis(0), &idx);
    let ys = data.outcome.select(Axis(0), &idx);
    let refuted = learner
        .fit(&CausalData::new(xs.view(), ts.view(), ys.view()))?
        .ate();
    out.push(Refutation {
        kind: RefutationKind::DataSubset,
        original,
        refuted,
        shift_in_se: shift(refuted),
    });
    Ok(out)
}
