//! Risk budgets over time: a Lagrangian primal–dual controller (the constrained-MDP part).
//!
//! The per-period problem is the Lagrangian relaxation of "maximize the average return
//! subject to average CVaR ≤ b_c and average turnover ≤ b_τ" (Altman 1999, constrained MDPs):
//! the optimizer maximizes `μᵀw − λ_c·CVaR_α(w) − λ_τ·Σ|w − w₀|` for the current multipliers,
//! and after each period the multipliers take a projected dual (sub)gradient step on the
//! measured constraint violations (Boyd & Vandenberghe 2004, ch. 5):
//!
//! `λ_c ← Π_[0, λ_c,max]( λ_c + η_c,t · (CVaR_t − ρ·b_c) / b_c )`
//! `λ_τ ← Π_[0, λ_τ,max]( λ_τ + η_τ,t · (turnover_t − ρ·b_τ) / b_τ )`
//!
//! where ρ ≤ 1 (`target_fraction`) aims the multipliers slightly inside the budgets: the
//! stochastic dual iterates oscillate around their target, and the headroom keeps the
//! realized averages under the budget itself.
//!
//! **Step-size rule.** `η_·,t = η_·,0 · (1 + t)^(−κ)` with `κ ∈ [0, 1)`. The violation is
//! normalized by its budget so that η is in penalty units per 100 % overshoot. κ > 0 gives
//! diminishing steps with Σ η_t = ∞, the classical condition under which the running averages
//! of projected dual subgradient iterates approach the constraint set; κ = 0 (constant steps)
//! keeps tracking a drifting market at the price of a steady-state oscillation of order η.

use serde::{Deserialize, Serialize};

use prudentia_core::traits::{OnlineLearner, Role, RoleError, RoleResult};

use crate::config::PortfolioConfig;
use crate::error::PortfolioError;

/// Configuration of [`PrimalDualController`] (validated on deserialization).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct PrimalDualConfig {
    /// Budget b_c for the per-period CVaR_α (fraction of equity; default 0.03, > 0).
    pub cvar_budget: f64,
    /// Budget b_τ for the per-period L1 turnover (default 0.2, > 0).
    pub turnover_budget: f64,
    /// Initial λ_c (default 0, ≥ 0).
    pub initial_cvar_penalty: f64,
    /// Initial λ_τ (default 0, ≥ 0).
    pub initial_turnover_penalty: f64,
    /// η_c,0, the CVaR multiplier's base step (default 0.5, > 0).
    pub cvar_step: f64,
    /// η_τ,0, the turnover multiplier's base step (default 0.002, > 0).
    pub turnover_step: f64,
    /// κ, the step decay exponent (default 0.3, in [0, 1)).
    pub decay: f64,
    /// ρ, the fraction of each budget the multipliers aim at (default 0.9, in (0, 1]).
    pub target_fraction: f64,
    /// Upper projection bound of λ_c (default 100, > 0).
    pub max_cvar_penalty: f64,
    /// Upper projection bound of λ_τ (default 1, > 0).
    pub max_turnover_penalty: f64,
}

impl Default for PrimalDualConfig {
    fn default() -> Self {
        Self {
            cvar_budget: 0.03,
            turnover_budget: 0.2,
            initial_cvar_penalty: 0.0,
            initial_turnover_penalty: 0.0,
            cvar_step: 0.5,
            turnover_step: 0.002,
            decay: 0.3,
            target_fraction: 0.9,
            max_cvar_penalty: 100.0,
            max_turnover_penalty: 1.0,
        }
    }
}

impl PrimalDualConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), PortfolioError> {
        let pos = |field: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(PortfolioError::InvalidConfig {
                    field,
                    value: v,
                    expected: "finite and > 0",
                })
            }
        };
        pos("cvar_budget", self.cvar_budget)?;
        pos("turnover_budget", self.turnover_budget)?;
        pos("cvar_step", self.cvar_step)?;
        pos("turnover_step", self.turnover_step)?;
        pos("max_cvar_penalty", self.max_cvar_penalty)?;
        pos("max_turnover_penalty", self.max_turnover_penalty)?;
        for (field, v, hi) in [
            (
                "initial_cvar_penalty",
                self.initial_cvar_penalty,
                self.max_cvar_penalty,
            ),
            (
                "initial_turnover_penalty",
                self.initial_turnover_penalty,
                self.max_turnover_penalty,
            ),
        ] {
            if !(v.is_finite() && v >= 0.0 && v <= hi) {
                return Err(PortfolioError::InvalidConfig {
                    field,
                    value: v,
                    expected: "in [0, max penalty]",
                });
            }
        }
        if !(self.target_fraction > 0.0 && self.target_fraction <= 1.0) {
            return Err(PortfolioError::InvalidConfig {
                field: "target_fraction",
                value: self.target_fraction,
                expected: "in (0, 1]",
            });
        }
        if !(self.decay.is_finite() && (0.0..1.0).contains(&self.decay)) {
            return Err(PortfolioError::InvalidConfig {
                field: "decay",
                value: self.decay,
                expected: "in [0, 1)",
            });
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(PrimalDualConfig, PrimalDualConfig::check);

/// What one period measured: the realized CVaR and turnover of the chosen portfolio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskOutcome {
    /// Realized (or ex-post estimated) CVaR_α of the period's portfolio.
    pub cvar: f64,
    /// Realized L1 turnover of the period's rebalance.
    pub turnover: f64,
}

/// The serializable state of [`PrimalDualController`].
///
/// Invariants (checked on deserialization, [`PrimalDualState::validate`]): every number
/// finite, both penalties `>= 0`, average turnover `>= 0`. The penalties' upper bounds
/// belong to the config and are checked by [`PrimalDualController::from_state`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(remote = "Self")]
pub struct PrimalDualState {
    /// Periods observed (saturating).
    pub periods: u64,
    /// Current λ_c.
    pub cvar_penalty: f64,
    /// Current λ_τ.
    pub turnover_penalty: f64,
    /// Running average of the measured CVaR.
    pub average_cvar: f64,
    /// Running average of the measured turnover.
    pub average_turnover: f64,
}

impl PrimalDualState {
    /// Checks the invariants listed on the type, naming the first bad field.
    pub fn validate(&self) -> Result<(), PortfolioError> {
        for (field, v) in [
            ("cvar_penalty", self.cvar_penalty),
            ("turnover_penalty", self.turnover_penalty),
            ("average_turnover", self.average_turnover),
        ] {
            prudentia_core::validate::check_non_negative(field, v)?;
        }
        prudentia_core::validate::check_finite("average_cvar", &[self.average_cvar])?;
        Ok(())
    }

    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(PrimalDualState, PrimalDualState::check);

/// Lagrangian primal–dual controller of the CVaR and turnover penalties (see the module docs
/// for the update and the step-size rule). Deserialization validates the config, the state
/// and the penalties against their upper bounds (as [`PrimalDualController::from_state`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PrimalDualController {
    config: PrimalDualConfig,
    state: PrimalDualState,
}

impl PrimalDualController {
    /// A validated controller starting at the initial penalties.
    pub fn new(config: PrimalDualConfig) -> Result<Self, PortfolioError> {
        config.validate()?;
        Ok(Self {
            state: PrimalDualState {
                cvar_penalty: config.initial_cvar_penalty,
                turnover_penalty: config.initial_turnover_penalty,
                ..Default::default()
            },
            config,
        })
    }

    /// Restores a controller from a checkpointed state: the config valid, the state valid
    /// ([`PrimalDualState::validate`]) and each penalty within `[0, max penalty]`.
    pub fn from_state(config: PrimalDualConfig, state: PrimalDualState) -> Result<Self, PortfolioError> {
        let mut c = Self { config, state };
        c.check()?;
        Ok(c)
    }

    fn check(&mut self) -> Result<(), PortfolioError> {
        self.config.validate()?;
        self.state.validate()?;
        prudentia_core::validate::check_range(
            "cvar_penalty",
            self.state.cvar_penalty,
            0.0,
            self.config.max_cvar_penalty,
            "in [0, max_cvar_penalty]",
        )?;
        prudentia_core::validate::check_range(
            "turnover_penalty",
            self.state.turnover_penalty,
            0.0,
            self.config.max_turnover_penalty,
            "in [0, max_turnover_penalty]",
        )?;
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &PrimalDualConfig {
        &self.config
    }

    /// The state (for checkpointing).
    pub fn state(&self) -> &PrimalDualState {
        &self.state
    }

    /// Current (λ_c, λ_τ).
    pub fn penalties(&self) -> (f64, f64) {
        (self.state.cvar_penalty, self.state.turnover_penalty)
    }

    /// Writes the current penalties into an optimizer configuration (`cvar_penalty`,
    /// `turnover_penalty`).
    pub fn apply(&self, config: &mut PortfolioConfig) {
        config.cvar_penalty = self.state.cvar_penalty;
        config.turnover_penalty = self.state.turnover_penalty;
    }

    /// The step size at the current period: η₀ · (1 + t)^(−κ).
    pub fn step_scale(&self) -> f64 {
        (1.0 + self.state.periods as f64).powf(-self.config.decay)
    }

    /// One projected dual-ascent step on the measured CVaR and turnover of the last period.
    ///
    /// The new state is computed aside and committed only when every number in it is
    /// finite: a rejected outcome (non-finite, negative turnover, or a running average that
    /// would overflow, e.g. CVaR `f64::MAX` after `-f64::MAX`) changes nothing. A step
    /// that overflows (`cvar_step × violation` beyond `f64::MAX`) projects to the bound.
    pub fn update(&mut self, outcome: &RiskOutcome) -> Result<(), PortfolioError> {
        prudentia_core::validate::check_finite("outcome", &[outcome.cvar, outcome.turnover])?;
        prudentia_core::validate::check_non_negative("outcome.turnover", outcome.turnover)?;
        let c = &self.config;
        let s = &self.state;
        let eta = (1.0 + s.periods as f64).powf(-c.decay);
        let rho = c.target_fraction;
        let gc = (outcome.cvar - rho * c.cvar_budget) / c.cvar_budget;
        let gt = (outcome.turnover - rho * c.turnover_budget) / c.turnover_budget;
        let periods = s.periods.saturating_add(1);
        let k = periods as f64;
        let next = PrimalDualState {
            periods,
            cvar_penalty: project(s.cvar_penalty, c.cvar_step * eta, gc, c.max_cvar_penalty),
            turnover_penalty: project(
                s.turnover_penalty,
                c.turnover_step * eta,
                gt,
                c.max_turnover_penalty,
            ),
            average_cvar: running_mean(s.average_cvar, outcome.cvar, k),
            average_turnover: running_mean(s.average_turnover, outcome.turnover, k),
        };
        next.validate().map_err(|_| PortfolioError::Overflow {
            quantity: "controller running averages",
        })?;
        self.state = next;
        Ok(())
    }
}

/// `Π_[0, max](λ + step · g)`; an overflowing step (±inf, or `0 · inf`) projects to the bound
/// its sign points at.
fn project(lambda: f64, step: f64, g: f64, max: f64) -> f64 {
    let moved = lambda + step * g;
    if moved.is_nan() {
        // step·g is 0·inf: no movement
        return lambda.clamp(0.0, max);
    }
    moved.clamp(0.0, max)
}

/// `m + (x − m) / k`, or `m·(1 − 1/k) + x/k` when the difference overflows (the mean of
/// finite values is bounded by their largest magnitude).
fn running_mean(m: f64, x: f64, k: f64) -> f64 {
    let v = m + (x - m) / k;
    if v.is_finite() {
        v
    } else {
        m * (1.0 - 1.0 / k) + x / k
    }
}

prudentia_core::checked_serde!(PrimalDualController, PrimalDualController::check);

impl OnlineLearner<RiskOutcome> for PrimalDualController {
    fn learn(&mut self, event: &RiskOutcome) -> RoleResult<()> {
        self.update(event)
            .map_err(|e| RoleError::implementation(Role::Optimizer, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_when_over_and_lowers_when_under() {
        let mut c = PrimalDualController::new(PrimalDualConfig {
            target_fraction: 1.0,
            initial_cvar_penalty: 1.0,
            initial_turnover_penalty: 0.01,
            decay: 0.0,
            ..Default::default()
        })
        .unwrap();
        c.update(&RiskOutcome {
            cvar: 0.06,
            turnover: 0.4,
        })
        .unwrap();
        // over by 100 %: λ_c = 1 + 0.5, λ_τ = 0.01 + 0.002
        assert!((c.penalties().0 - 1.5).abs() < 1e-12);
        assert!((c.penalties().1 - 0.012).abs() < 1e-12);
        c.update(&RiskOutcome {
            cvar: 0.0,
            turnover: 0.0,
        })
        .unwrap();
        assert!((c.penalties().0 - 1.0).abs() < 1e-12);
        assert!((c.penalties().1 - 0.010).abs() < 1e-12);
        // projection at zero
        for _ in 0..100 {
            c.update(&RiskOutcome {
                cvar: 0.0,
                turnover: 0.0,
            })
            .unwrap();
        }
        assert_eq!(c.penalties(), (0.0, 0.0));
        assert!(c
            .update(&RiskOutcome {
                cvar: f64::NAN,
                turnover: 0.0
            })
            .is_err());
    }

    #[test]
    fn checkpoint_restore_continues_identically() {
        let cfg = PrimalDualConfig::default();
        let mut a = PrimalDualController::new(cfg).unwrap();
        for k in 0..10 {
            a.update(&RiskOutcome {
                cvar: 0.02 + 0.003 * k as f64,
                turnover: 0.1 * (k % 3) as f64,
            })
            .unwrap();
        }
        let json = serde_json::to_string(a.state()).unwrap();
        let mut b = PrimalDualController::from_state(cfg, serde_json::from_str(&json).unwrap()).unwrap();
        for k in 0..10 {
            let o = RiskOutcome {
                cvar: 0.05 - 0.002 * k as f64,
                turnover: 0.05 * k as f64,
            };
            a.update(&o).unwrap();
            b.update(&o).unwrap();
            assert_eq!(a.penalties(), b.penalties());
        }
        assert_eq!(a, b);
    }

    #[test]
    fn config_validation_names_field() {
        let e = PrimalDualController::new(PrimalDualConfig {
            decay: 1.0,
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, PortfolioError::InvalidConfig { field: "decay", .. }));
    }
}
