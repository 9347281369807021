//! Observational data and cross-fitting folds.

use ndarray::{ArrayView1, ArrayView2};
use prudentia_core::validate::{
    check_elements, check_finite_1d, check_finite_2d, check_len, check_shape, check_size, MAX_DIM,
    MAX_ELEMENTS, MAX_WINDOW,
};
use prudentia_core::CoreError;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{CausalError, CausalResult};

/// The largest number of cross-fitting folds.
pub const MAX_FOLDS: usize = 100;

/// Observational data: covariates `x` (n × p), a binary treatment (n, each 0 or 1) and an
/// outcome (n).
#[derive(Debug, Clone, Copy)]
pub struct CausalData<'a> {
    /// Covariates (effect modifiers and confounders), one row per unit.
    pub x: ArrayView2<'a, f64>,
    /// Treatment indicator, 0.0 or 1.0.
    pub treatment: ArrayView1<'a, f64>,
    /// Outcome.
    pub outcome: ArrayView1<'a, f64>,
}

/// What [`CausalData::validate`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub n: usize,
    pub p: usize,
    pub treated: usize,
}

impl<'a> CausalData<'a> {
    /// Bundles the three arrays (checked when an estimator uses them).
    pub fn new(x: ArrayView2<'a, f64>, treatment: ArrayView1<'a, f64>, outcome: ArrayView1<'a, f64>) -> Self {
        Self {
            x,
            treatment,
            outcome,
        }
    }

    /// Checks sizes, finiteness, a 0/1 treatment and at least `per_arm` units in each arm.
    pub(crate) fn validate(&self, per_arm: usize) -> CausalResult<Shape> {
        let (n, p) = self.x.dim();
        check_len("x (rows)", n, 1)?;
        check_size("x (rows)", n, MAX_WINDOW)?;
        check_size("x (columns)", p, MAX_DIM)?;
        check_elements("x", &[n, p], MAX_ELEMENTS)?;
        check_shape("treatment", &[n], &[self.treatment.len()])?;
        check_shape("outcome", &[n], &[self.outcome.len()])?;
        // a vectorized pass first; the element-wise check names the first bad value
        if !self.x.as_slice().is_some_and(all_finite) {
            check_finite_2d("x", self.x)?;
        }
        if !self.outcome.as_slice().is_some_and(all_finite) {
            check_finite_1d("outcome", self.outcome)?;
        }
        let mut treated = 0usize;
        for (index, &value) in self.treatment.iter().enumerate() {
            if value == 1.0 {
                treated += 1;
            } else if value != 0.0 {
                return Err(CausalError::NotBinary { index, value });
            }
        }
        check_arms(treated, n - treated, per_arm, String::new())?;
        Ok(Shape { n, p, treated })
    }
}

/// Whether every value is finite: `0 · v` is ±0 for a finite `v` and NaN otherwise, summed in
/// eight lanes (vectorizes).
fn all_finite(v: &[f64]) -> bool {
    let mut acc = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += 0.0 * x;
        }
    }
    acc.iter().chain(rest).all(|&a| 0.0 * a == 0.0)
}

pub(crate) fn check_arms(treated: usize, control: usize, needed: usize, context: String) -> CausalResult<()> {
    if treated < needed {
        return Err(CausalError::EmptyArm {
            arm: "treated",
            found: treated,
            needed,
            context,
        });
    }
    if control < needed {
        return Err(CausalError::EmptyArm {
            arm: "control",
            found: control,
            needed,
            context,
        });
    }
    Ok(())
}

/// How units are split into K folds for cross-fitting: nuisance models for the units of
/// fold `k` are fitted on all the other folds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Folds {
    /// `k` folds (2 ≤ k ≤ [`MAX_FOLDS`]), stratified by treatment: the treated units in a
    /// seeded random order are dealt to the folds in turn, then the controls (continuing the
    /// rotation), so every fold has a near-equal share of each arm.
    Seeded {
        /// Number of folds.
        k: usize,
        /// Seed of the `ChaCha8Rng` that orders the units.
        seed: u64,
    },
    /// The fold of every unit (labels `0..k`, every label used, `k ≥ 2`), as EconML's
    /// `cv=[(train, test), …]` with the test sets a partition.
    Explicit(Vec<usize>),
}

impl Default for Folds {
    fn default() -> Self {
        Folds::Seeded { k: 5, seed: 0 }
    }
}

impl Folds {
    /// Checks the settings that do not depend on the data.
    pub fn validate(&self) -> CausalResult<()> {
        match self {
            Folds::Seeded { k, .. } => {
                check_size("folds", *k, MAX_FOLDS)?;
                if *k < 2 {
                    return Err(CausalError::InvalidFolds {
                        reason: format!("{k} folds: cross-fitting needs at least 2"),
                    });
                }
            }
            Folds::Explicit(labels) => {
                check_size("fold labels", labels.len(), MAX_WINDOW)?;
                if let Some(&l) = labels.iter().find(|&&l| l >= MAX_FOLDS) {
                    return Err(CausalError::InvalidFolds {
                        reason: format!("fold label {l} beyond {}", MAX_FOLDS - 1),
                    });
                }
            }
        }
        Ok(())
    }

    /// The fold of every unit (into `labels`, using `order` as scratch) and the number of
    /// folds; checks that every training set (the complement of a fold) holds both arms.
    pub(crate) fn assign_into(
        &self,
        treatment: ArrayView1<'_, f64>,
        labels: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> CausalResult<usize> {
        self.validate()?;
        let n = treatment.len();
        let k = match self {
            Folds::Seeded { k, seed } => {
                if *k > n {
                    return Err(CausalError::InvalidFolds {
                        reason: format!("{k} folds for {n} units"),
                    });
                }
                let mut rng = ChaCha8Rng::seed_from_u64(*seed);
                // the treated units, then the controls, each in a seeded random order
                order.clear();
                let arm = |d: bool| {
                    treatment
                        .iter()
                        .enumerate()
                        .filter(move |&(_, &v)| (v == 1.0) == d)
                };
                order.extend(arm(true).map(|(i, _)| i));
                let treated = order.len();
                order.extend(arm(false).map(|(i, _)| i));
                let (t, c) = order.split_at_mut(treated);
                shuffle(t, &mut rng);
                shuffle(c, &mut rng);
                labels.clear();
                labels.resize(n, 0);
                let mut fold = 0;
                for &i in order.iter() {
                    labels[i] = fold;
                    fold += 1;
                    if fold == *k {
                        fold = 0;
                    }
                }
                *k
            }
            Folds::Explicit(given) => {
                check_shape("fold labels", &[n], &[given.len()])?;
                let k = given.iter().max().map_or(0, |m| m + 1);
                if k < 2 {
                    return Err(CausalError::InvalidFolds {
                        reason: format!("{k} distinct folds: cross-fitting needs at least 2"),
                    });
                }
                labels.clear();
                labels.extend_from_slice(given);
                k
            }
        };
        let mut size = vec![0usize; k];
        let mut treated_in = vec![0usize; k];
        for (&l, &d) in labels.iter().zip(treatment.iter()) {
            size[l] += 1;
            if d == 1.0 {
                treated_in[l] += 1;
            }
        }
        if let Some(f) = size.iter().position(|&s| s == 0) {
            return Err(CausalError::InvalidFolds {
                reason: format!("fold {f} is empty"),
            });
        }
        let total_treated: usize = treated_in.iter().sum();
        for f in 0..k {
            let t = total_treated - treated_in[f];
            let c = (n - total_treated) - (size[f] - treated_in[f]);
            check_arms(t, c, 1, format!(" in the training set of fold {f}"))?;
        }
        Ok(k)
    }
}

/// Fisher–Yates shuffle.
pub(crate) fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// A standard normal draw (Box–Muller).
pub(crate) fn std_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Checks a probability-like setting in an open interval.
pub(crate) fn check_open(
    field: &'static str,
    v: f64,
    lo: f64,
    hi: f64,
    expected: &'static str,
) -> CausalResult<()> {
    if v > lo && v < hi {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value: v,
            expected,
        }
        .into())
    }
}
