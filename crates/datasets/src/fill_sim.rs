//! A seeded fill simulator for execution policies: queue position, partial fills, adverse
//! selection on passive orders, square-root impact and venue fee/rebate differences.
//!
//! A parent order of `N` shares arrives with the mid `P₀` as arrival price, in a market state
//! [`SimMarketState`] (spread `s` bps, depth `D` and queue ahead `Q` shares at the touch,
//! daily volatility `σ`, participation `q = N / ADV`, time of day, imbalance `ι`). Costs are in
//! basis points of `P₀`, positive = worse than arrival, fees included; with `h = s / 2`,
//! the square-root impact `I = η · 10⁴ σ · √q` and venue `v`'s taker fee `f_v`, maker rebate
//! `b_v`, queue speed `k_v` and adverse-selection factor `a_v`:
//!
//! | order type | cost |
//! |---|---|
//! | market | `h + I + f_v` |
//! | limit (join the touch) | `F (−h − b_v + A) + (1 − F) C` |
//! | pegged (mid) | `F (−b_v / 2 + A) + (1 − F) C` |
//! | POV at rate ρ | `h / 2 + I · √(ρ / q) ∧ I + T + f_v / 2` |
//!
//! where `C = h + I + f_v + δ` is the clean-up of the unfilled rest by a market order after
//! the price drifted away by `δ = DRIFT · 10⁴ σ`, `A = a_v · ADVERSE · 10⁴ σ · (1 − ι) / 2`
//! is the adverse selection a filled passive order suffers, `T = TIMING · 10⁴ σ · √q` the
//! timing cost of working the order slowly, and `F` the filled fraction. The volume that
//! trades at the order's price level over the order's life is `V ~ Exponential(μ)` with
//! `μ = k_v · D · (1 + ι) / 2 + k_v · D / 4` (join) or `μ = k_v · D / 3` (mid peg, no queue);
//! the order fills `F = clamp((V − Q) / N, 0, 1)` (the peg has `Q = 0`), so
//! `E[F] = (μ / N) e^{−Q/μ} (1 − e^{−N/μ})`. Every fill adds noise `ε ~ N(0, (1 + 10⁴ σ /
//! 20)²)` bps. [`FillSimulator::expected_cost_bps`] is the exact expected cost, for an oracle.
//!
//! All randomness comes from `ChaCha8Rng::seed_from_u64(seed)`: the same state, action and
//! seed give the same fill on every platform.

use prudentia_core::validate::{check_len, check_range, check_size};
use prudentia_core::{CoreError, OrderType};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::DatasetResult;
use crate::synthetic::std_normal;

/// Square-root impact coefficient `η`.
pub const SIM_IMPACT_ETA: f64 = 0.4;
/// Adverse selection of a filled passive order, as a fraction of `10⁴ σ` bps.
pub const SIM_ADVERSE: f64 = 0.04;
/// Price drift before the clean-up of an unfilled rest, as a fraction of `10⁴ σ` bps.
pub const SIM_DRIFT: f64 = 0.08;
/// Timing cost of a POV order, as a fraction of `10⁴ σ √q` bps.
pub const SIM_TIMING: f64 = 0.5;

/// One venue's economics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimVenue {
    /// Venue name (matches core's `Venue`).
    pub name: String,
    /// Fee for taking liquidity, bps (negative = a rebate, as on inverted venues).
    pub taker_fee_bps: f64,
    /// Rebate for providing liquidity, bps (negative = a fee).
    pub maker_rebate_bps: f64,
    /// Queue speed `k_v`: volume at the touch per unit of displayed depth, > 0.
    pub queue_speed: f64,
    /// Adverse-selection factor `a_v`, ≥ 0.
    pub adverse_factor: f64,
}

/// Settings of the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct FillSimConfig {
    /// The venues (1 to 256). Default: a maker-taker lit venue `LIT` and an inverted venue
    /// `INV` with a faster queue and more adverse selection.
    pub venues: Vec<SimVenue>,
}
prudentia_core::checked_serde!(FillSimConfig, FillSimConfig::validate);

impl Default for FillSimConfig {
    fn default() -> Self {
        Self {
            venues: vec![
                SimVenue {
                    name: "LIT".into(),
                    taker_fee_bps: 0.30,
                    maker_rebate_bps: 0.20,
                    queue_speed: 1.0,
                    adverse_factor: 1.0,
                },
                SimVenue {
                    name: "INV".into(),
                    taker_fee_bps: -0.10,
                    maker_rebate_bps: -0.15,
                    queue_speed: 2.0,
                    adverse_factor: 1.6,
                },
            ],
        }
    }
}

impl FillSimConfig {
    /// Checks 1 to 256 venues with finite fees and rebates in [−100, 100] bps, queue speeds in
    /// (0, 100] and adverse factors in [0, 100].
    pub fn validate(&self) -> DatasetResult<()> {
        check_len("venues", self.venues.len(), 1)?;
        check_size("venues", self.venues.len(), 256)?;
        for v in &self.venues {
            check_range(
                "taker_fee_bps",
                v.taker_fee_bps,
                -100.0,
                100.0,
                "in [-100, 100] bps",
            )?;
            check_range(
                "maker_rebate_bps",
                v.maker_rebate_bps,
                -100.0,
                100.0,
                "in [-100, 100] bps",
            )?;
            check_range(
                "queue_speed",
                v.queue_speed,
                f64::MIN_POSITIVE,
                100.0,
                "in (0, 100]",
            )?;
            check_range("adverse_factor", v.adverse_factor, 0.0, 100.0, "in [0, 100]")?;
        }
        Ok(())
    }
}

/// The market state an order meets (same fields and ranges as prudentia-execution's
/// `MarketState`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SimMarketState {
    /// Quoted spread, bps, in (0, 10⁴].
    pub spread_bps: f64,
    /// Shares at the touch on the order's side, in [1, 10¹⁵].
    pub depth_shares: f64,
    /// Shares ahead of a new order joining the touch, in [0, 10¹⁵].
    pub queue_ahead_shares: f64,
    /// Daily volatility (decimal), in [0, 10].
    pub volatility: f64,
    /// Order shares over ADV, in [0, 100].
    pub participation: f64,
    /// Order shares, in (0, 10¹⁵].
    pub order_shares: f64,
    /// Fraction of the session elapsed, in [0, 1].
    pub time_of_day: f64,
    /// Book imbalance toward the order's side, in [−1, 1].
    pub imbalance: f64,
}

impl SimMarketState {
    fn check(&self) -> DatasetResult<()> {
        check_range(
            "spread_bps",
            self.spread_bps,
            f64::MIN_POSITIVE,
            1e4,
            "in (0, 1e4] bps",
        )?;
        check_range("depth_shares", self.depth_shares, 1.0, 1e15, "in [1, 1e15]")?;
        check_range(
            "queue_ahead_shares",
            self.queue_ahead_shares,
            0.0,
            1e15,
            "in [0, 1e15]",
        )?;
        check_range("volatility", self.volatility, 0.0, 10.0, "in [0, 10]")?;
        check_range("participation", self.participation, 0.0, 100.0, "in [0, 100]")?;
        check_range(
            "order_shares",
            self.order_shares,
            f64::MIN_POSITIVE,
            1e15,
            "in (0, 1e15]",
        )?;
        check_range("time_of_day", self.time_of_day, 0.0, 1.0, "in [0, 1]")?;
        check_range("imbalance", self.imbalance, -1.0, 1.0, "in [-1, 1]")?;
        Ok(())
    }
}

/// The outcome of one simulated parent order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SimFill {
    /// Fraction filled passively (at the order's own price), in [0, 1]; the rest was
    /// cleaned up by a market order (0 for market and POV orders).
    pub passive_fraction: f64,
    /// Cost against the arrival mid, bps of notional, fees included (positive = worse).
    pub slippage_bps: f64,
    /// The fees (positive) and rebates (negative) inside `slippage_bps`, bps.
    pub fees_bps: f64,
}

impl SimFill {
    /// The all-in average price of a buy (`buy = true`) or sell at arrival price `arrival`.
    pub fn average_price(&self, arrival: f64, buy: bool) -> f64 {
        let sign = if buy { 1.0 } else { -1.0 };
        arrival * (1.0 + sign * self.slippage_bps / 1e4)
    }
}

/// The simulator.
///
/// ```
/// use prudentia_core::OrderType;
/// use prudentia_datasets::fill_sim::{FillSimConfig, FillSimulator};
///
/// let sim = FillSimulator::new(FillSimConfig::default())?;
/// let state = sim.sample_state(7);
/// let a = sim.execute(&state, OrderType::Limit, 0, 42)?;
/// assert_eq!(a, sim.execute(&state, OrderType::Limit, 0, 42)?); // deterministic per seed
/// assert!((0.0..=1.0).contains(&a.passive_fraction));
/// let m = sim.execute(&state, OrderType::Market, 1, 42)?;
/// assert_eq!(m.passive_fraction, 0.0);
/// # Ok::<(), prudentia_datasets::DatasetError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FillSimulator {
    config: FillSimConfig,
}

/// The deterministic parts of one action's cost in one state.
struct Parts {
    /// Mean volume at the order's level (None: no passive part).
    mu: Option<f64>,
    queue: f64,
    passive_cost: f64,
    cleanup_cost: f64,
    fixed_cost: f64,
    /// Fees of the fixed part, or of the passive and the clean-up parts.
    fees: (f64, f64),
}

impl FillSimulator {
    /// A simulator after [`FillSimConfig::validate`].
    pub fn new(config: FillSimConfig) -> DatasetResult<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The settings.
    pub fn config(&self) -> &FillSimConfig {
        &self.config
    }

    /// A market state drawn from `seed`: spread log-uniform in [1, 30] bps, depth log-uniform
    /// in [200, 20,000] shares, queue ahead `depth × U[0, 1.5]`, volatility `U[0.005, 0.04]`,
    /// order shares log-uniform in [100, 20,000], ADV log-uniform in [10⁵, 10⁷], time of day
    /// and imbalance uniform. Draw order: spread, depth, queue, volatility, shares, ADV, time,
    /// imbalance.
    pub fn sample_state(&self, seed: u64) -> SimMarketState {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut u = || rng.random::<f64>();
        let log_uniform = |u: f64, lo: f64, hi: f64| (lo.ln() + u * (hi.ln() - lo.ln())).exp();
        let spread_bps = log_uniform(u(), 1.0, 30.0);
        let depth_shares = log_uniform(u(), 200.0, 20_000.0);
        let queue_ahead_shares = depth_shares * 1.5 * u();
        let volatility = 0.005 + 0.035 * u();
        let order_shares = log_uniform(u(), 100.0, 20_000.0);
        let adv = log_uniform(u(), 1e5, 1e7);
        SimMarketState {
            spread_bps,
            depth_shares,
            queue_ahead_shares,
            volatility,
            participation: order_shares / adv,
            order_shares,
            time_of_day: u(),
            imbalance: 2.0 * u() - 1.0,
        }
    }

    fn parts(&self, s: &SimMarketState, order_type: OrderType, venue: usize) -> DatasetResult<Parts> {
        s.check()?;
        let mut ot = order_type;
        ot.check()?;
        let v = self
            .config
            .venues
            .get(venue)
            .ok_or_else(|| CoreError::UnknownId {
                kind: "venue index",
                id: venue.to_string(),
            })?;
        let h = s.spread_bps / 2.0;
        let vol_bps = 1e4 * s.volatility;
        let impact = SIM_IMPACT_ETA * vol_bps * s.participation.sqrt();
        let adverse = v.adverse_factor * SIM_ADVERSE * vol_bps * (1.0 - s.imbalance) / 2.0;
        let cleanup = h + impact + v.taker_fee_bps + SIM_DRIFT * vol_bps;
        Ok(match ot {
            OrderType::Market => Parts {
                mu: None,
                queue: 0.0,
                passive_cost: 0.0,
                cleanup_cost: 0.0,
                fixed_cost: h + impact + v.taker_fee_bps,
                fees: (v.taker_fee_bps, 0.0),
            },
            OrderType::Limit => Parts {
                mu: Some(v.queue_speed * s.depth_shares * ((1.0 + s.imbalance) / 2.0 + 0.25)),
                queue: s.queue_ahead_shares,
                passive_cost: -h - v.maker_rebate_bps + adverse,
                cleanup_cost: cleanup,
                fixed_cost: 0.0,
                fees: (-v.maker_rebate_bps, v.taker_fee_bps),
            },
            OrderType::Pegged => Parts {
                mu: Some(v.queue_speed * s.depth_shares / 3.0),
                queue: 0.0,
                passive_cost: -v.maker_rebate_bps / 2.0 + adverse,
                cleanup_cost: cleanup,
                fixed_cost: 0.0,
                fees: (-v.maker_rebate_bps / 2.0, v.taker_fee_bps),
            },
            OrderType::Pov { rate } => {
                let slow = if s.participation > 0.0 {
                    impact * (rate / s.participation).sqrt().min(1.0)
                } else {
                    0.0
                };
                let timing = SIM_TIMING * vol_bps * s.participation.sqrt();
                Parts {
                    mu: None,
                    queue: 0.0,
                    passive_cost: 0.0,
                    cleanup_cost: 0.0,
                    fixed_cost: h / 2.0 + slow + timing + v.taker_fee_bps / 2.0,
                    fees: (v.taker_fee_bps / 2.0, 0.0),
                }
            }
        })
    }

    /// The exact expected cost (bps) of an order type at a venue (index into the config's
    /// venues) in state `s`: the oracle of a routing policy's regret.
    pub fn expected_cost_bps(
        &self,
        s: &SimMarketState,
        order_type: OrderType,
        venue: usize,
    ) -> DatasetResult<f64> {
        let p = self.parts(s, order_type, venue)?;
        Ok(match p.mu {
            None => p.fixed_cost,
            Some(mu) => {
                let n = s.order_shares;
                let ef = (mu / n) * (-p.queue / mu).exp() * (-(-n / mu).exp_m1());
                let ef = ef.clamp(0.0, 1.0);
                ef * p.passive_cost + (1.0 - ef) * p.cleanup_cost
            }
        })
    }

    /// Simulates one parent order of `order_type` at venue index `venue` in state `s`; the
    /// same arguments give the same fill.
    pub fn execute(
        &self,
        s: &SimMarketState,
        order_type: OrderType,
        venue: usize,
        seed: u64,
    ) -> DatasetResult<SimFill> {
        let p = self.parts(s, order_type, venue)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = (1.0 + 1e4 * s.volatility / 20.0) * std_normal(&mut rng);
        Ok(match p.mu {
            None => SimFill {
                passive_fraction: 0.0,
                slippage_bps: p.fixed_cost + noise,
                fees_bps: p.fees.0,
            },
            Some(mu) => {
                // V ~ Exponential(mu) by inversion of a uniform in (0, 1]
                let u = 1.0 - rng.random::<f64>();
                let volume = -mu * u.ln();
                let f = ((volume - p.queue) / s.order_shares).clamp(0.0, 1.0);
                SimFill {
                    passive_fraction: f,
                    slippage_bps: f * p.passive_cost + (1.0 - f) * p.cleanup_cost + noise,
                    fees_bps: f * p.fees.0 + (1.0 - f) * p.fees.1,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim() -> FillSimulator {
        FillSimulator::new(FillSimConfig::default()).unwrap()
    }

    const ACTIONS: [OrderType; 4] = [
        OrderType::Limit,
        OrderType::Market,
        OrderType::Pov { rate: 0.1 },
        OrderType::Pegged,
    ];

    #[test]
    fn deterministic_per_seed_and_value_stable() {
        let s = sim();
        let state = s.sample_state(1);
        assert_eq!(state, s.sample_state(1));
        assert_ne!(state, s.sample_state(2));
        for (i, a) in ACTIONS.iter().enumerate() {
            let f = s.execute(&state, *a, i % 2, 9).unwrap();
            assert_eq!(f, s.execute(&state, *a, i % 2, 9).unwrap());
            assert!(f.slippage_bps.is_finite());
        }
    }

    #[test]
    fn expected_cost_matches_the_simulated_mean() {
        let s = sim();
        for k in 0..6 {
            let state = s.sample_state(100 + k);
            for a in ACTIONS {
                for v in 0..2 {
                    let m = 20_000;
                    let mean: f64 = (0..m)
                        .map(|seed| s.execute(&state, a, v, seed).unwrap().slippage_bps)
                        .sum::<f64>()
                        / m as f64;
                    let e = s.expected_cost_bps(&state, a, v).unwrap();
                    let tol =
                        5.0 * (1.0 + 1e4 * state.volatility / 20.0 + e.abs()) / (m as f64).sqrt() + 0.05;
                    assert!(
                        (mean - e).abs() < tol,
                        "{a:?} venue {v}: simulated {mean}, expected {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn partial_fills_queue_and_venues_matter() {
        let s = sim();
        let mut state = s.sample_state(3);
        state.order_shares = state.depth_shares;
        let fracs: Vec<f64> = (0..2000)
            .map(|seed| {
                s.execute(&state, OrderType::Limit, 0, seed)
                    .unwrap()
                    .passive_fraction
            })
            .collect();
        assert!(fracs.contains(&0.0));
        assert!(fracs.iter().any(|f| *f > 0.0 && *f < 1.0), "no partial fill");
        // a longer queue ahead lowers the expected passive fill, so the expected cost rises
        // when the clean-up is dearer than the passive fill
        let mut long = state;
        long.queue_ahead_shares = 10.0 * state.depth_shares;
        let short_cost = s.expected_cost_bps(&state, OrderType::Limit, 0).unwrap();
        let long_cost = s.expected_cost_bps(&long, OrderType::Limit, 0).unwrap();
        assert!(long_cost > short_cost);
        // a market order differs across venues by exactly the taker fee difference
        let m0 = s.expected_cost_bps(&state, OrderType::Market, 0).unwrap();
        let m1 = s.expected_cost_bps(&state, OrderType::Market, 1).unwrap();
        assert!((m0 - m1 - 0.4).abs() < 1e-12);
        // square-root impact: four times the participation, twice the impact
        let mut big = state;
        big.participation = 4.0 * state.participation;
        let impact = |st: &SimMarketState| {
            s.expected_cost_bps(st, OrderType::Market, 0).unwrap() - st.spread_bps / 2.0 - 0.3
        };
        assert!((impact(&big) - 2.0 * impact(&state)).abs() < 1e-9);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let s = sim();
        let state = s.sample_state(4);
        assert!(s.execute(&state, OrderType::Market, 2, 0).is_err());
        assert!(s.execute(&state, OrderType::Pov { rate: 0.0 }, 0, 0).is_err());
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e300] {
            let mut st = state;
            st.spread_bps = bad;
            assert!(s.execute(&st, OrderType::Market, 0, 0).is_err());
            let mut st = state;
            st.depth_shares = bad;
            assert!(s.expected_cost_bps(&st, OrderType::Limit, 0).is_err());
        }
        let mut cfg = FillSimConfig::default();
        cfg.venues[0].queue_speed = 0.0;
        assert!(FillSimulator::new(cfg).is_err());
        assert!(FillSimulator::new(FillSimConfig { venues: vec![] }).is_err());
        // extreme but valid states stay finite
        let mut st = state;
        st.depth_shares = 1.0;
        st.queue_ahead_shares = 1e15;
        st.order_shares = 1e15;
        st.participation = 100.0;
        st.volatility = 10.0;
        st.spread_bps = 1e4;
        for a in ACTIONS {
            assert!(s.execute(&st, a, 1, 5).unwrap().slippage_bps.is_finite());
            assert!(s.expected_cost_bps(&st, a, 1).unwrap().is_finite());
        }
    }

    #[test]
    fn config_round_trips_and_is_validated_on_load() {
        let json = serde_json::to_string(&FillSimConfig::default()).unwrap();
        let back: FillSimConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, FillSimConfig::default());
        let bad = json.replace("\"queue_speed\":1.0", "\"queue_speed\":-1.0");
        assert!(serde_json::from_str::<FillSimConfig>(&bad).is_err());
    }
}
