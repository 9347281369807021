//! Power-law market impact (Almgren, Thum, Hauptmann & Li 2005, "Direct estimation of equity
//! market impact", Risk 18(7)) for the per-order estimate, in basis points:
//!
//! ```text
//! cost = c + s/2 + η · (10⁴ σ) · q^β + γ · (10⁴ σ) · q,
//! ```
//!
//! with the quoted spread `s` (bps), daily volatility `σ` (decimal), participation
//! `q = quantity / ADV`, temporary impact `η` with exponent `β` (½ is the square-root law;
//! the paper estimates 0.6), permanent impact `γ` (the realized cost carries half of the
//! permanent move of `2γ…`, folded into `γ`) and an intercept `c` (fees, a mean residual).
//!
//! [`calibrate`] estimates `(c, η, β, γ)` from realized costs by nonlinear least squares
//! (Levenberg–Marquardt: Levenberg 1944, Marquardt 1963), with the classical standard errors
//! `sqrt(diag(σ̂² (JᵀJ)⁻¹))` at the optimum; how it ended is a [`Status`].

use prudentia_core::validate::{check_len, check_size, MAX_WINDOW};
use prudentia_core::{CoreError, Status};
use serde::{Deserialize, Serialize};

use crate::error::{CostsError, CostsResult};

/// Impact parameters (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ImpactParams {
    /// Intercept `c`, bps.
    pub intercept_bps: f64,
    /// Temporary impact coefficient `η` (≥ 0).
    pub eta: f64,
    /// Temporary impact exponent `β`, in `[0.05, 2]`.
    pub exponent: f64,
    /// Permanent impact coefficient `γ` (≥ 0).
    pub gamma: f64,
}
prudentia_core::checked_serde!(ImpactParams, ImpactParams::validate);

impl Default for ImpactParams {
    /// The square-root law with `η = 0.5` (a common prior; ATHL 2005 report η ≈ 0.14 for
    /// their exponent 0.6 on US large caps), no permanent term and no intercept.
    fn default() -> Self {
        Self {
            intercept_bps: 0.0,
            eta: 0.5,
            exponent: 0.5,
            gamma: 0.0,
        }
    }
}

impl ImpactParams {
    /// Checks the parameters.
    pub fn validate(&self) -> CostsResult<()> {
        let bad = |field, value, expected| -> CostsResult<()> {
            Err(CoreError::OutOfRange {
                field,
                value,
                expected,
            }
            .into())
        };
        if !self.intercept_bps.is_finite() || self.intercept_bps.abs() > 1e6 {
            return bad("intercept_bps", self.intercept_bps, "finite, |c| <= 1e6 bps");
        }
        if !(self.eta.is_finite() && (0.0..=1e6).contains(&self.eta)) {
            return bad("eta", self.eta, "in [0, 1e6]");
        }
        if !(self.exponent.is_finite() && (0.05..=2.0).contains(&self.exponent)) {
            return bad("exponent", self.exponent, "in [0.05, 2]");
        }
        if !(self.gamma.is_finite() && (0.0..=1e6).contains(&self.gamma)) {
            return bad("gamma", self.gamma, "in [0, 1e6]");
        }
        Ok(())
    }

    /// The modelled impact (spread included, intercept excluded) in bps, unchecked inputs
    /// (the callers validate).
    #[inline]
    pub(crate) fn impact_raw(&self, spread_bps: f64, volatility: f64, participation: f64) -> f64 {
        let a = 1e4 * volatility;
        0.5 * spread_bps + self.eta * a * participation.powf(self.exponent) + self.gamma * a * participation
    }

    /// The expected cost `c + s/2 + η (10⁴σ) q^β + γ (10⁴σ) q` in bps.
    ///
    /// Errors: spread or volatility negative or non-finite, participation not in `(0, 1e3]`.
    pub fn cost_bps(&self, spread_bps: f64, volatility: f64, participation: f64) -> CostsResult<f64> {
        check_inputs(spread_bps, volatility, participation)?;
        Ok(self.intercept_bps + self.impact_raw(spread_bps, volatility, participation))
    }
}

/// Checks one order's market inputs.
pub(crate) fn check_inputs(spread_bps: f64, volatility: f64, participation: f64) -> CostsResult<()> {
    for (field, v, max) in [("spread_bps", spread_bps, 1e5), ("volatility", volatility, 10.0)] {
        if !(v.is_finite() && (0.0..=max).contains(&v)) {
            return Err(CoreError::OutOfRange {
                field,
                value: v,
                expected: "finite, >= 0 and at most 1e5 bps spread / 1000% daily volatility",
            }
            .into());
        }
    }
    if !(participation.is_finite() && participation > 0.0) {
        return Err(CostsError::BadQuantity {
            field: "participation",
            value: participation,
        });
    }
    if participation > 1e3 {
        return Err(CoreError::OutOfRange {
            field: "participation",
            value: participation,
            expected: "<= 1000 (order size over ADV)",
        }
        .into());
    }
    Ok(())
}

/// One realized cost with its order's market inputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImpactObservation {
    /// Quoted spread, bps.
    pub spread_bps: f64,
    /// Daily volatility, decimal.
    pub volatility: f64,
    /// Quantity over ADV.
    pub participation: f64,
    /// Realized cost (implementation shortfall), bps.
    pub cost_bps: f64,
}

/// Settings of [`calibrate`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[serde(default)]
pub struct CalibrationConfig {
    /// Starting point (and the fixed values of the parameters not fitted).
    pub initial: ImpactParams,
    /// Fit the intercept `c` (default true).
    pub fit_intercept: bool,
    /// Fit the exponent `β` (default true; else fixed at `initial.exponent`).
    pub fit_exponent: bool,
    /// Fit the permanent `γ` (default false: from realized costs alone it is barely
    /// identified next to `η q^β`).
    pub fit_permanent: bool,
    /// Iteration limit, `1..=10_000` (default 200).
    pub max_iterations: usize,
    /// Relative tolerance on the sum of squares and the step (default 1e-12).
    pub tol: f64,
}
prudentia_core::checked_serde!(CalibrationConfig, CalibrationConfig::validate);

impl Default for CalibrationConfig {
    fn default() -> Self {
        Self {
            initial: ImpactParams::default(),
            fit_intercept: true,
            fit_exponent: true,
            fit_permanent: false,
            max_iterations: 200,
            tol: 1e-12,
        }
    }
}

impl CalibrationConfig {
    /// Checks the settings.
    pub fn validate(&self) -> CostsResult<()> {
        self.initial.validate()?;
        check_len("max_iterations", self.max_iterations, 1)?;
        check_size("max_iterations", self.max_iterations, 10_000)?;
        if !(self.tol.is_finite() && self.tol > 0.0 && self.tol < 1.0) {
            return Err(CoreError::OutOfRange {
                field: "tol",
                value: self.tol,
                expected: "in (0, 1)",
            }
            .into());
        }
        Ok(())
    }
}

/// A calibration: the parameters, their standard errors and how the fit ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The fitted parameters (the unfitted ones at their initial values).
    pub params: ImpactParams,
    /// Standard errors in the same layout (0 for parameters not fitted; `None` when the
    /// information matrix is singular).
    pub std_errors: Option<ImpactStdErrors>,
    /// Residual standard deviation, bps.
    pub residual_sd_bps: f64,
    /// Observations used.
    pub n: usize,
    /// Iterations made.
    pub iterations: usize,
    /// How the fit ended.
    pub status: Status,
}

/// Standard errors of the [`ImpactParams`] (0 for a parameter held fixed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImpactStdErrors {
    /// Of the intercept, bps.
    pub intercept_bps: f64,
    /// Of `η`.
    pub eta: f64,
    /// Of `β`.
    pub exponent: f64,
    /// Of `γ`.
    pub gamma: f64,
}

const NP: usize = 4;

fn to_vec(p: &ImpactParams) -> [f64; NP] {
    [p.intercept_bps, p.eta, p.exponent, p.gamma]
}

fn from_vec(v: &[f64; NP]) -> ImpactParams {
    ImpactParams {
        intercept_bps: v[0],
        eta: v[1],
        exponent: v[2],
        gamma: v[3],
    }
}

/// Keeps a trial point inside the valid parameter box.
fn project(v: &mut [f64; NP]) {
    v[0] = v[0].clamp(-1e6, 1e6);
    v[1] = v[1].clamp(0.0, 1e6);
    v[2] = v[2].clamp(0.05, 2.0);
    v[3] = v[3].clamp(0.0, 1e6);
}

fn sse(obs: &[ImpactObservation], p: &ImpactParams) -> f64 {
    obs.iter()
        .map(|o| {
            let r = o.cost_bps - p.intercept_bps - p.impact_raw(o.spread_bps, o.volatility, o.participation);
            r * r
        })
        .sum()
}

/// `JᵀJ` and `Jᵀr` over the active parameters (J = ∂model/∂θ).
fn normal_equations(obs: &[ImpactObservation], p: &ImpactParams, active: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let k = active.len();
    let mut jtj = vec![0.0; k * k];
    let mut jtr = vec![0.0; k];
    let mut g = [0.0; NP];
    for o in obs {
        let a = 1e4 * o.volatility;
        let qb = o.participation.powf(p.exponent);
        let r = o.cost_bps - p.intercept_bps - p.impact_raw(o.spread_bps, o.volatility, o.participation);
        g[0] = 1.0;
        g[1] = a * qb;
        g[2] = p.eta * a * qb * o.participation.ln();
        g[3] = a * o.participation;
        for (i, &ai) in active.iter().enumerate() {
            jtr[i] += g[ai] * r;
            for (j, &aj) in active.iter().enumerate().skip(i) {
                jtj[i * k + j] += g[ai] * g[aj];
            }
        }
    }
    for i in 0..k {
        for j in 0..i {
            jtj[i * k + j] = jtj[j * k + i];
        }
    }
    (jtj, jtr)
}

/// Solves the SPD system `a x = b` (k × k) by core's Cholesky; `None` if not SPD.
fn spd_solve(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let k = b.len();
    let m = ndarray::Array2::from_shape_vec((k, k), a.to_vec()).ok()?;
    let l = prudentia_core::linalg::cholesky(m.view()).ok()?;
    let mut y = vec![0.0; k];
    for i in 0..k {
        let s: f64 = (0..i).map(|j| l[[i, j]] * y[j]).sum();
        y[i] = (b[i] - s) / l[[i, i]];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|j| l[[j, i]] * x[j]).sum();
        x[i] = (y[i] - s) / l[[i, i]];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Calibrates the impact parameters from realized costs (see the [module docs](self)).
///
/// Errors: invalid settings or observations (non-finite, negative spread or volatility,
/// participation not in `(0, 1e3]`), fewer observations than fitted parameters + 1, more
/// than `MAX_WINDOW`.
///
/// ```
/// use prudentia_costs::impact::{calibrate, CalibrationConfig, ImpactObservation, ImpactParams};
/// let truth = ImpactParams { eta: 0.3, ..Default::default() };
/// let obs: Vec<ImpactObservation> = (1..200)
///     .map(|i| {
///         let q = i as f64 / 1000.0;
///         ImpactObservation { spread_bps: 10.0, volatility: 0.02, participation: q,
///             cost_bps: truth.cost_bps(10.0, 0.02, q).unwrap() }
///     })
///     .collect();
/// let cal = calibrate(&obs, &CalibrationConfig::default()).unwrap();
/// assert!((cal.params.eta - 0.3).abs() < 1e-6 && cal.status.is_converged());
/// ```
pub fn calibrate(obs: &[ImpactObservation], config: &CalibrationConfig) -> CostsResult<Calibration> {
    config.validate()?;
    check_size("observations", obs.len(), MAX_WINDOW)?;
    for o in obs {
        check_inputs(o.spread_bps, o.volatility, o.participation)?;
        if !(o.cost_bps.is_finite() && o.cost_bps.abs() <= 1e6) {
            return Err(CoreError::OutOfRange {
                field: "cost_bps",
                value: o.cost_bps,
                expected: "finite, |cost| <= 1e6 bps",
            }
            .into());
        }
    }
    let mut active = Vec::with_capacity(NP);
    if config.fit_intercept {
        active.push(0);
    }
    active.push(1);
    if config.fit_exponent {
        active.push(2);
    }
    if config.fit_permanent {
        active.push(3);
    }
    let k = active.len();
    check_len("observations", obs.len(), k + 1)?;
    let mut theta = to_vec(&config.initial);
    let mut cur = sse(obs, &from_vec(&theta));
    let mut mu = 1e-3;
    let mut status = Status::IterationLimit {
        iterations: config.max_iterations,
    };
    let mut iterations = 0;
    'outer: for it in 0..config.max_iterations {
        iterations = it + 1;
        let (jtj, jtr) = normal_equations(obs, &from_vec(&theta), &active);
        // Damped steps until one lowers the sum of squares (at most 40 tries).
        let mut accepted = false;
        for _ in 0..40 {
            let mut a = jtj.clone();
            for i in 0..k {
                a[i * k + i] += mu * jtj[i * k + i].max(1e-300);
            }
            let Some(step) = spd_solve(&a, &jtr) else {
                mu *= 10.0;
                continue;
            };
            let mut trial = theta;
            for (i, &ai) in active.iter().enumerate() {
                trial[ai] += step[i];
            }
            project(&mut trial);
            let s = sse(obs, &from_vec(&trial));
            if s.is_finite() && s <= cur {
                let rel_f = (cur - s) / cur.max(1e-300);
                let rel_x = active
                    .iter()
                    .map(|&ai| (trial[ai] - theta[ai]).abs() / theta[ai].abs().max(1e-8))
                    .fold(0.0, f64::max);
                theta = trial;
                cur = s;
                mu = (mu / 10.0).max(1e-12);
                accepted = true;
                if rel_f <= config.tol || rel_x <= config.tol.sqrt() * 1e-2 {
                    status = Status::Converged;
                    break 'outer;
                }
                break;
            }
            mu *= 10.0;
            if !mu.is_finite() || mu > 1e30 {
                break;
            }
        }
        if !accepted {
            // No damped step lowers the sum of squares: a (local) minimum to rounding.
            status = Status::Converged;
            break;
        }
    }
    let params = from_vec(&theta);
    let n = obs.len();
    let s2 = cur / (n - k) as f64;
    let (jtj, _) = normal_equations(obs, &params, &active);
    let std_errors = invert_diag(&jtj, k).map(|d| {
        let mut se = [0.0; NP];
        for (i, &ai) in active.iter().enumerate() {
            se[ai] = (s2 * d[i]).sqrt();
        }
        se
    });
    let std_errors = std_errors
        .filter(|se| se.iter().all(|v| v.is_finite()))
        .map(|se| ImpactStdErrors {
            intercept_bps: se[0],
            eta: se[1],
            exponent: se[2],
            gamma: se[3],
        });
    Ok(Calibration {
        params,
        std_errors,
        residual_sd_bps: s2.sqrt(),
        n,
        iterations,
        status,
    })
}

/// The diagonal of the inverse of an SPD k × k matrix.
fn invert_diag(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut d = vec![0.0; k];
    for (i, di) in d.iter_mut().enumerate() {
        let mut e = vec![0.0; k];
        e[i] = 1.0;
        *di = spd_solve(a, &e)?[i];
    }
    Some(d)
}
