//! Almgren–Chriss optimal execution (Almgren & Chriss 2000, "Optimal execution of portfolio
//! transactions", Journal of Risk 3(2), 5–39), discrete time, linear impact.
//!
//! Sell (or buy) `X` shares over `T` in `N` periods of `τ = T/N`. With the holdings
//! `x₀ = X, …, x_N = 0` and trades `nⱼ = xⱼ₋₁ − xⱼ`, permanent impact `g(v) = γ v`,
//! temporary impact `h(v) = ε sgn(v) + η v` and price volatility `σ`, the cost has
//!
//! ```text
//! E = ½ γ X² + ε Σ |nⱼ| + (η̃ / τ) Σ nⱼ²,   η̃ = η − ½ γ τ,     V = σ² τ Σⱼ₌₁ᴺ xⱼ²,
//! ```
//!
//! and the trajectory minimising `E + λ V` (λ ≥ 0) is (paper eq. 18, with κ from eq. 19,
//! `(2/τ²)(cosh κτ − 1) = κ̃² = λ σ² / η̃`)
//!
//! ```text
//! xⱼ = X sinh(κ (T − tⱼ)) / sinh(κ T),   tⱼ = j τ,
//! ```
//!
//! the straight line when λ = 0. The closed forms of `E` and `V` on the optimal trajectory
//! (paper eq. 20) are in [`closed_form_cost`]. Large `κT` (strong risk aversion) is
//! evaluated in the ratio form `e^{−κ tⱼ} (1 − e^{−2κ(T−tⱼ)}) / (1 − e^{−2κT})`, so no
//! `sinh` overflows.

use prudentia_core::validate::{check_len, check_size, MAX_WINDOW};
use serde::{Deserialize, Serialize};

use crate::error::{CostsError, CostsResult};

fn positive(field: &'static str, v: f64) -> CostsResult<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(prudentia_core::CoreError::OutOfRange {
            field,
            value: v,
            expected: "finite and > 0",
        }
        .into())
    }
}

fn non_negative(field: &'static str, v: f64) -> CostsResult<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(prudentia_core::CoreError::OutOfRange {
            field,
            value: v,
            expected: "finite and >= 0",
        }
        .into())
    }
}

/// The market and impact parameters of an Almgren–Chriss problem (paper §2, Table 1 for
/// the worked example: [`AcParams::paper_example`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct AcParams {
    /// Shares to trade `X` (> 0; the direction does not change the cost).
    pub shares: f64,
    /// Horizon `T` in the units of `σ²` (e.g. days), > 0.
    pub horizon: f64,
    /// Number of periods `N`, `1..=MAX_WINDOW`.
    pub periods: usize,
    /// Volatility `σ` of the price in currency per share per √time, ≥ 0.
    pub sigma: f64,
    /// Fixed cost `ε` per share (half the spread plus fees), ≥ 0.
    pub epsilon: f64,
    /// Temporary impact `η` (currency per share per share/time), > 0.
    pub eta: f64,
    /// Permanent impact `γ` (currency per share per share), ≥ 0, with `η̃ = η − γτ/2 > 0`.
    pub gamma: f64,
}
prudentia_core::checked_serde!(AcParams, AcParams::validate);

impl AcParams {
    /// The paper's worked example (§3.1): `X = 10⁶`, `T = 5` days, `N = 5`, `σ = 0.95`,
    /// `ε = 0.0625`, `η = 2.5·10⁻⁶`, `γ = 2.5·10⁻⁷`.
    pub fn paper_example() -> Self {
        Self {
            shares: 1e6,
            horizon: 5.0,
            periods: 5,
            sigma: 0.95,
            epsilon: 0.0625,
            eta: 2.5e-6,
            gamma: 2.5e-7,
        }
    }

    /// Checks the parameters, naming the bad one.
    pub fn validate(&self) -> CostsResult<()> {
        if !(self.shares.is_finite() && self.shares > 0.0) {
            return Err(CostsError::BadQuantity {
                field: "shares",
                value: self.shares,
            });
        }
        positive("horizon", self.horizon)?;
        check_len("periods", self.periods, 1)?;
        check_size("periods", self.periods, MAX_WINDOW)?;
        non_negative("sigma", self.sigma)?;
        non_negative("epsilon", self.epsilon)?;
        positive("eta", self.eta)?;
        non_negative("gamma", self.gamma)?;
        positive("tau", self.tau())?;
        positive("eta_tilde (eta - gamma tau / 2)", self.eta_tilde())?;
        Ok(())
    }

    /// Period length `τ = T / N`.
    pub fn tau(&self) -> f64 {
        self.horizon / self.periods as f64
    }

    /// `η̃ = η − ½ γ τ`.
    pub fn eta_tilde(&self) -> f64 {
        self.eta - 0.5 * self.gamma * self.tau()
    }

    /// The urgency `κ` for risk aversion `λ` (0 for λ = 0 or σ = 0).
    pub fn kappa(&self, lambda: f64) -> CostsResult<f64> {
        self.validate()?;
        non_negative("lambda", lambda)?;
        let tau = self.tau();
        let kt2 = lambda * self.sigma * self.sigma / self.eta_tilde();
        if !kt2.is_finite() {
            return Err(prudentia_core::CoreError::OutOfRange {
                field: "lambda",
                value: lambda,
                expected: "lambda sigma^2 / eta_tilde finite",
            }
            .into());
        }
        // acosh(1 + z) with z = κ̃²τ²/2, accurate for small z: ln(1 + z + sqrt(z(z+2))).
        let z = 0.5 * kt2 * tau * tau;
        let k = if z.is_finite() {
            (z + (z * (z + 2.0)).sqrt()).ln_1p() / tau
        } else {
            // κ̃τ beyond f64: acosh(1+z) ≈ ln(2z) = ln(κ̃²τ²).
            2.0 * (kt2.sqrt() * tau).ln() / tau
        };
        if !k.is_finite() {
            return Err(prudentia_core::CoreError::Numerical {
                operation: "Almgren-Chriss kappa",
                detail: "urgency outside the f64 range",
            }
            .into());
        }
        Ok(k)
    }
}

/// An execution trajectory with its cost moments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// Risk aversion λ it was optimised for.
    pub lambda: f64,
    /// Urgency κ (1/time).
    pub kappa: f64,
    /// Holdings `x₀ = X, …, x_N = 0` (N + 1 entries).
    pub holdings: Vec<f64>,
    /// Trades `nⱼ = xⱼ₋₁ − xⱼ` (N entries).
    pub trades: Vec<f64>,
    /// Expected cost `E` (currency).
    pub expected_cost: f64,
    /// Variance of the cost `V` (currency²).
    pub variance: f64,
}

impl Trajectory {
    /// The objective `E + λ V`.
    pub fn objective(&self) -> f64 {
        self.expected_cost + self.lambda * self.variance
    }
}

/// The expected cost and variance of any trajectory `holdings` (`x₀ = X, …, x_N = 0`)
/// under `params` (paper eqs. 5–6; `Σ|nⱼ|` taken literally, so non-monotone trajectories
/// pay the fixed cost on both directions).
pub fn cost_moments(params: &AcParams, holdings: &[f64]) -> CostsResult<(f64, f64)> {
    params.validate()?;
    prudentia_core::validate::check_shape("holdings", &[params.periods + 1], &[holdings.len()])?;
    prudentia_core::validate::check_finite("holdings", holdings)?;
    let tau = params.tau();
    let x = params.shares;
    let (mut abs_n, mut n2, mut x2) = (0.0, 0.0, 0.0);
    for w in holdings.windows(2) {
        let n = w[0] - w[1];
        abs_n += n.abs();
        n2 += n * n;
    }
    for &h in &holdings[1..] {
        x2 += h * h;
    }
    let e = 0.5 * params.gamma * x * x + params.epsilon * abs_n + params.eta_tilde() / tau * n2;
    let v = params.sigma * params.sigma * tau * x2;
    if !(e.is_finite() && v.is_finite()) {
        return Err(prudentia_core::CoreError::Numerical {
            operation: "Almgren-Chriss cost",
            detail: "cost or variance beyond the f64 range (rescale the units)",
        }
        .into());
    }
    Ok((e, v))
}

/// The optimal trajectory for risk aversion `λ ≥ 0` (paper eq. 18), with `E` and `V`.
///
/// ```
/// use prudentia_costs::ac::{optimal_trajectory, AcParams};
/// let t = optimal_trajectory(&AcParams::paper_example(), 2e-6).unwrap();
/// assert_eq!(t.holdings.len(), 6);
/// assert!(t.trades[0] > t.trades[4]); // front-loaded
/// ```
pub fn optimal_trajectory(params: &AcParams, lambda: f64) -> CostsResult<Trajectory> {
    let mut holdings = vec![0.0; params.periods.saturating_add(1).min(MAX_WINDOW + 1)];
    let kappa = fill_trajectory(params, lambda, &mut holdings)?;
    let trades: Vec<f64> = holdings.windows(2).map(|w| w[0] - w[1]).collect();
    let (expected_cost, variance) = cost_moments(params, &holdings)?;
    Ok(Trajectory {
        lambda,
        kappa,
        holdings,
        trades,
        expected_cost,
        variance,
    })
}

/// Writes the optimal holdings into `out` (length `N + 1`) without allocating; returns κ.
pub fn fill_trajectory(params: &AcParams, lambda: f64, out: &mut [f64]) -> CostsResult<f64> {
    let kappa = params.kappa(lambda)?;
    prudentia_core::validate::check_shape("holdings", &[params.periods + 1], &[out.len()])?;
    let n = params.periods;
    let x = params.shares;
    let kt = kappa * params.horizon;
    if kt < 1e-8 {
        // λ → 0: the straight line (the sinh ratio to O(κ²T²)).
        for (j, o) in out.iter_mut().enumerate() {
            *o = if j == 0 {
                x
            } else if j == n {
                0.0
            } else {
                x * (1.0 - j as f64 / n as f64)
            };
        }
        return Ok(kappa);
    }
    // xⱼ = X e^{−κ tⱼ} uₙ₋ⱼ / u_N with u_m = 1 − e^{−2κτm} (the sinh ratio, no overflow),
    // by recurrences instead of a transcendental per point: u_{m+1} = (1 − p) + p u_m with
    // p = e^{−2κτ} (a sum of non-negative terms: no cancellation even for small κτ), and
    // e^{−κ tⱼ} = qʲ with q = e^{−κτ}. Both are re-anchored on the exact value every
    // `ANCHOR` points, so the rounding error stays within a few dozen ulps for any N.
    const ANCHOR: usize = 64;
    let a = kappa * params.tau();
    let q = (-a).exp();
    let p = (-2.0 * a).exp();
    let one_minus_p = -(-2.0 * a).exp_m1();
    // backward: out[j] = u_{N−j}
    let mut u = 0.0;
    for (m, o) in out.iter_mut().rev().enumerate() {
        if m > 0 {
            u = if m % ANCHOR == 0 {
                -(-2.0 * a * m as f64).exp_m1()
            } else {
                one_minus_p + p * u
            };
        }
        *o = u;
    }
    // forward: xⱼ = X qʲ u_{N−j} / u_N
    let scale = x / -(-2.0 * kt).exp_m1();
    let mut e = 1.0;
    for (j, o) in out.iter_mut().enumerate() {
        if j > 0 {
            e = if j % ANCHOR == 0 {
                (-a * j as f64).exp()
            } else {
                e * q
            };
        }
        *o = if j == 0 {
            x
        } else if j == n {
            0.0
        } else {
            scale * e * *o
        };
    }
    Ok(kappa)
}

/// `E` and `V` of the optimal trajectory from the paper's closed forms (eq. 20):
///
/// ```text
/// E = ½γX² + εX + η̃X² tanh(½κτ) (τ sinh(2κT) + 2T sinh(κτ)) / (2τ² sinh²(κT)),
/// V = ½σ²X² (τ sinh(κT) cosh(κ(T−τ)) − T sinh(κτ)) / (sinh²(κT) sinh(κτ)),
/// ```
///
/// and for λ = 0 (κ = 0) their limits `E = ½γX² + εX + η̃X²/T`,
/// `V = ⅓σ²X²T(1 − 1/N)(1 − 1/(2N))`. For checking [`optimal_trajectory`]; needs `κT`
/// below about 350 (sinh overflows beyond).
pub fn closed_form_cost(params: &AcParams, lambda: f64) -> CostsResult<(f64, f64)> {
    let k = params.kappa(lambda)?;
    let (x, t, tau, g, eps, et, s) = (
        params.shares,
        params.horizon,
        params.tau(),
        params.gamma,
        params.epsilon,
        params.eta_tilde(),
        params.sigma,
    );
    let n = params.periods as f64;
    let base = 0.5 * g * x * x + eps * x;
    if k == 0.0 {
        let e = base + et * x * x / t;
        let v = s * s * x * x * t * (1.0 - 1.0 / n) * (1.0 - 0.5 / n) / 3.0;
        return Ok((e, v));
    }
    let skt = (k * t).sinh();
    let e = base
        + et * x * x * (0.5 * k * tau).tanh() * (tau * (2.0 * k * t).sinh() + 2.0 * t * (k * tau).sinh())
            / (2.0 * tau * tau * skt * skt);
    let v = 0.5 * s * s * x * x * (tau * skt * (k * (t - tau)).cosh() - t * (k * tau).sinh())
        / (skt * skt * (k * tau).sinh());
    if !(e.is_finite() && v.is_finite()) {
        return Err(prudentia_core::CoreError::Numerical {
            operation: "Almgren-Chriss closed form",
            detail: "kappa T too large for the sinh form",
        }
        .into());
    }
    Ok((e, v))
}

/// The efficient frontier: the optimal trajectories' `(λ, E, V)` for each `λ` given.
pub fn efficient_frontier(params: &AcParams, lambdas: &[f64]) -> CostsResult<Vec<Trajectory>> {
    check_size("lambdas", lambdas.len(), MAX_WINDOW)?;
    params.validate()?;
    lambdas.iter().map(|&l| optimal_trajectory(params, l)).collect()
}
