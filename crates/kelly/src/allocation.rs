//! From target fractions to positions: capital, ADV participation, borrow, per-name caps,
//! lot sizes and a sector crowding penalty.
//!
//! # Problem
//! For each name `i` with signed target fraction `fᵢ`, price `pᵢ` and lot `ℓᵢ` shares, choose a
//! notional `xᵢ ≥ 0` in the target's direction (the position is `sign(fᵢ) xᵢ / pᵢ` shares)
//! to maximize
//!
//! ```text
//!     (1/C) [ Σᵢ uᵢ xᵢ − λ Σₛ eₛ ]      eₛ = max(0, Σ_{i∈s} xᵢ − φ C)
//! ```
//!
//! subject to `xᵢ ≤ bᵢ = min(|fᵢ| C, κ C, ρ ADVᵢ pᵢ, borrowᵢ pᵢ [shorts only])` and
//! `Σᵢ xᵢ ≤ γ C`, where `C` is capital, `uᵢ` a priority (default 1: the objective is the
//! deployed share of the targets), `κ` the per-name cap, `ρ` the ADV participation limit,
//! `γ` the gross limit, and `λ` the crowding penalty on sector exposure above a free share
//! `φ` of capital. With lots, `xᵢ = nᵢ ℓᵢ pᵢ` with integer `nᵢ`. The ADV limit bounds the
//! whole position (the trade from flat), a conservative bound on the trade from the current
//! book; shorts without known borrow (`None`) get no borrow.
//!
//! # Methods
//! - **Continuous** (fractional shares): the problem is a fractional knapsack with a concave
//!   piecewise-linear value per sector, so a greedy fill is exact: each sector's names, in
//!   decreasing priority, are cut into "chunks" worth `uᵢ` up to the free level `φ C` and
//!   `uᵢ − λ` beyond it; the chunks are filled in decreasing value until the gross budget is
//!   used or no chunk has positive value. O(n log n).
//! - **Greedy lots**: the continuous solution rounded down to whole lots, then leftover budget
//!   spent lot by lot in chunk order. Feasible, not always optimal.
//! - **MILP** (when lots matter): the exact integer program with `good_lp` and the pure-Rust
//!   `microlp` branch-and-bound solver, warm-started with the greedy-lots solution (so its
//!   objective is never below greedy's) and stopped at a time limit.
//!
//! # Scale limits
//! In the lot modes a name may need at most [`MAX_LOTS_PER_NAME`] (2⁴⁰) lots to reach its
//! bound: a lot notional `lot_size × price` below 2⁻⁴⁰ of the name's bound (e.g. a lot size
//! of `5e-324`) is a [`KellyError::TooManyLots`] error, not a loop over ~10³⁰⁰ lots. Every
//! derived notional (`capital × max_gross`, `|target| × capital`, the lot notional, the
//! objective) must be finite, else [`KellyError::Overflow`]. The greedy steps add or remove
//! lots in bulk, so their work is O(n log n) whatever the lot counts.
//!
//! # What each limit cut ([`LimitCuts`])
//! Per name, the target is cut in order by the per-name cap, the ADV limit, borrow
//! availability and rounding to lots; the rest of the gap between the per-name bound and the
//! allocation is attributed to the sector penalty when the name's sector is at or above
//! its free level, and to the gross (capital) budget otherwise.

use std::collections::BTreeMap;

use good_lp::{
    microlp, variable, variables, Expression, ResolutionError, Solution, SolutionStatus, SolverModel,
    Variable, WithInitialSolution, WithMipGap, WithTimeLimit,
};
use serde::{Deserialize, Serialize};

use prudentia_core::validate::{check_finite, check_non_negative, check_positive, check_range};
use prudentia_core::{AssetId, AssetInfo, CoreError, Status};

use crate::error::{check_capital, finite, KellyError, KellyResult};

/// The most lots one name may need in the lot modes (2⁴⁰ ≈ 1.1 × 10¹²); more is
/// [`KellyError::TooManyLots`]. Lot counts stay exact integers in `f64` far below this.
pub const MAX_LOTS_PER_NAME: f64 = (1u64 << 40) as f64;

/// Which allocation method to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AllocationMode {
    /// `Milp` when lots matter (some name's lot notional exceeds `lot_materiality` of its
    /// bound), `GreedyLots` otherwise.
    #[default]
    Auto,
    /// Fractional shares, exact greedy.
    Continuous,
    /// Whole lots by greedy rounding.
    GreedyLots,
    /// Whole lots by mixed-integer programming.
    Milp,
}

/// Settings of an [`Allocator`] (validated on deserialization).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct AllocationConfig {
    /// Largest position as a share of average daily volume, `ρ`. Default 0.10; range `(0, 1]`.
    pub adv_participation: f64,
    /// Per-name cap on |notional| as a fraction of capital, `κ`. Default 0.10; range `(0, 100]`.
    pub max_name_fraction: f64,
    /// Gross budget `Σ|notional| ≤ γ C`, `γ`. Default 1.0; range `(0, 100]`.
    pub max_gross: f64,
    /// Sector exposure share of capital that is free of the crowding penalty, `φ`. Default
    /// 0.25; range `[0, 100]`.
    pub sector_free_fraction: f64,
    /// Crowding penalty `λ` per unit of sector exposure above the free level (in objective
    /// units, where a priority-1 unit of notional is worth 1). Default 0.5; range `[0, 1e6]`.
    pub sector_penalty: f64,
    /// Method. Default `Auto`.
    pub mode: AllocationMode,
    /// In `Auto`, lots matter when `lot notional > lot_materiality × per-name bound` for some
    /// name. Default 0.01; range `[0, 1]`.
    pub lot_materiality: f64,
    /// Time limit of the MILP in seconds. Default 2; range `(0, 3600]`.
    pub milp_time_limit_secs: f64,
    /// Relative optimality gap at which the MILP may stop (0 = prove optimality). Default
    /// 1e-6 (far below the value of one lot in typical books); range `[0, 0.1]`.
    pub milp_relative_gap: f64,
}

impl Default for AllocationConfig {
    fn default() -> Self {
        Self {
            adv_participation: 0.10,
            max_name_fraction: 0.10,
            max_gross: 1.0,
            sector_free_fraction: 0.25,
            sector_penalty: 0.5,
            mode: AllocationMode::Auto,
            lot_materiality: 0.01,
            milp_time_limit_secs: 2.0,
            milp_relative_gap: 1e-6,
        }
    }
}

impl AllocationConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_positive("adv_participation", self.adv_participation)?;
        check_range("adv_participation", self.adv_participation, 0.0, 1.0, "in (0, 1]")?;
        check_positive("max_name_fraction", self.max_name_fraction)?;
        check_range(
            "max_name_fraction",
            self.max_name_fraction,
            0.0,
            100.0,
            "in (0, 100]",
        )?;
        check_positive("max_gross", self.max_gross)?;
        check_range("max_gross", self.max_gross, 0.0, 100.0, "in (0, 100]")?;
        check_range(
            "sector_free_fraction",
            self.sector_free_fraction,
            0.0,
            100.0,
            "in [0, 100]",
        )?;
        check_range("sector_penalty", self.sector_penalty, 0.0, 1e6, "in [0, 1e6]")?;
        check_range("lot_materiality", self.lot_materiality, 0.0, 1.0, "in [0, 1]")?;
        check_positive("milp_time_limit_secs", self.milp_time_limit_secs)?;
        check_range(
            "milp_time_limit_secs",
            self.milp_time_limit_secs,
            0.0,
            3600.0,
            "in (0, 3600]",
        )?;
        check_range(
            "milp_relative_gap",
            self.milp_relative_gap,
            0.0,
            0.1,
            "in [0, 0.1]",
        )?;
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(AllocationConfig, AllocationConfig::check);

/// One name to allocate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllocationItem<'a> {
    /// The asset (price, lot size, ADV, borrow, sector).
    pub asset: &'a AssetInfo,
    /// Signed target fraction of capital (negative = short).
    pub target_fraction: f64,
    /// Priority `uᵢ` per unit of notional (>= 0; default 1).
    pub priority: f64,
}

impl<'a> AllocationItem<'a> {
    /// An item with priority 1.
    pub fn new(asset: &'a AssetInfo, target_fraction: f64) -> Self {
        Self {
            asset,
            target_fraction,
            priority: 1.0,
        }
    }
}

/// A limit that can cut a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Limit {
    /// Per-name cap.
    NameCap,
    /// ADV participation.
    Adv,
    /// Borrow availability (shorts).
    Borrow,
    /// Rounding to whole lots.
    Lot,
    /// Gross (capital) budget.
    Capital,
    /// Sector crowding penalty.
    Sector,
}

/// Notional (currency units) cut from the targets by each limit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LimitCuts {
    /// By the per-name cap.
    pub name_cap: f64,
    /// By the ADV participation limit.
    pub adv: f64,
    /// By borrow availability.
    pub borrow: f64,
    /// By rounding to lots.
    pub lot: f64,
    /// By the gross budget.
    pub capital: f64,
    /// By the sector crowding penalty.
    pub sector: f64,
}

impl LimitCuts {
    fn add(&mut self, limit: Limit, v: f64) {
        match limit {
            Limit::NameCap => self.name_cap += v,
            Limit::Adv => self.adv += v,
            Limit::Borrow => self.borrow += v,
            Limit::Lot => self.lot += v,
            Limit::Capital => self.capital += v,
            Limit::Sector => self.sector += v,
        }
    }

    /// Total notional cut.
    pub fn total(&self) -> f64 {
        self.name_cap + self.adv + self.borrow + self.lot + self.capital + self.sector
    }
}

/// One allocated position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The asset.
    pub asset: AssetId,
    /// Signed shares (whole lots except in `Continuous` mode).
    pub shares: f64,
    /// Signed notional (currency units).
    pub notional: f64,
    /// Signed fraction of capital.
    pub fraction: f64,
    /// Signed target notional.
    pub target_notional: f64,
    /// The first limit that cut this name (`None` if it got its target).
    pub binding: Option<Limit>,
}

/// The method that produced an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AllocationMethod {
    /// Exact continuous greedy.
    Continuous,
    /// Greedy rounding to lots.
    GreedyLots,
    /// Mixed-integer program.
    Milp,
}

/// The result of [`Allocator::allocate`] (every number finite, also checked on
/// deserialization).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct Allocation {
    /// Positions, in input order.
    pub positions: Vec<Position>,
    /// Notional cut by each limit.
    pub cuts: LimitCuts,
    /// Objective of the returned allocation (see the module docs).
    pub objective: f64,
    /// Objective of the greedy allocation of the same problem (continuous greedy in
    /// `Continuous` mode, greedy lots otherwise).
    pub greedy_objective: f64,
    /// Objective of the raw MILP solution, when the MILP ran and returned one.
    pub milp_objective: Option<f64>,
    /// Method used.
    pub method: AllocationMethod,
    /// How the allocation ended: `Converged` (continuous greedy, or MILP proven optimal),
    /// `Heuristic` (greedy rounding to lots), `ReducedAccuracy` (MILP within its relative
    /// gap), `TimeLimit` (MILP incumbent at the time limit) or `Fallback` (greedy lots, with
    /// the MILP's own ending as the cause).
    pub status: Status,
}

impl Allocation {
    /// Σ|notional|.
    pub fn gross_notional(&self) -> f64 {
        self.positions.iter().map(|p| p.notional.abs()).sum()
    }

    /// Checks that every number is finite (run on deserialization).
    pub fn validate(&self) -> Result<(), CoreError> {
        let c = &self.cuts;
        check_finite(
            "allocation",
            &[
                self.objective,
                self.greedy_objective,
                self.milp_objective.unwrap_or(0.0),
                c.name_cap,
                c.adv,
                c.borrow,
                c.lot,
                c.capital,
                c.sector,
            ],
        )?;
        for p in &self.positions {
            check_finite(
                "allocation position",
                &[p.shares, p.notional, p.fraction, p.target_notional],
            )?;
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(Allocation, Allocation::check);

/// Turns target fractions into positions (a validated [`AllocationConfig`], also on
/// deserialization).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Allocator {
    config: AllocationConfig,
}

/// Per-name data after the individual limits.
struct Prepared {
    /// |target notional|
    target: f64,
    /// bound after cap, ADV, borrow (currency)
    bound: f64,
    /// lot notional
    lot: f64,
    /// bound in whole lots
    bound_lots: f64,
    sign: f64,
    priority: f64,
    sector: Option<usize>,
    cuts: [(Limit, f64); 3],
}

impl Allocator {
    /// Validates the settings.
    pub fn new(config: AllocationConfig) -> KellyResult<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The settings.
    pub fn config(&self) -> &AllocationConfig {
        &self.config
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.config.validate()
    }

    /// Allocates `capital` (currency units, >= 0) to the items.
    ///
    /// Errors: negative or non-finite capital ([`KellyError::NegativeCapital`]), an ADV of 0
    /// or less ([`KellyError::ZeroAdv`]; use `None` for unknown), a bad lot size, a
    /// non-finite target or price, a negative priority; in the lot modes, a name that would
    /// need more than [`MAX_LOTS_PER_NAME`] lots ([`KellyError::TooManyLots`]); a derived
    /// notional or the objective that overflows ([`KellyError::Overflow`]).
    pub fn allocate(&self, items: &[AllocationItem<'_>], capital: f64) -> KellyResult<Allocation> {
        check_capital("capital", capital)?;
        let cfg = &self.config;
        finite("capital × max_gross", cfg.max_gross * capital)?;
        finite("capital × max_name_fraction", cfg.max_name_fraction * capital)?;
        finite(
            "capital × sector_free_fraction",
            cfg.sector_free_fraction * capital,
        )?;
        let (prep, n_sectors) = self.prepare(items, capital)?;
        let mode = resolve_mode(cfg, &prep);
        if mode != AllocationMode::Continuous {
            check_lot_counts(items, &prep)?;
        }
        let Solved {
            mut x,
            method,
            status,
            greedy_objective,
            milp_objective,
        } = solve_mode(mode, &prep, n_sectors, cfg, capital);
        // safety net: never exceed a bound through roundoff
        for (xi, p) in x.iter_mut().zip(&prep) {
            *xi = xi.clamp(0.0, p.bound);
        }
        let objective_value = finite("objective", objective(&prep, &x, n_sectors, cfg, capital))?;
        let greedy_objective = finite("greedy objective", greedy_objective)?;
        let milp_objective = milp_objective.filter(|v| v.is_finite());
        let lots_mode = method != AllocationMethod::Continuous;
        let (positions, cuts) = positions_and_cuts(items, &prep, &x, n_sectors, cfg, capital, lots_mode);
        let allocation = Allocation {
            positions,
            cuts,
            objective: objective_value,
            greedy_objective,
            milp_objective,
            method,
            status,
        };
        allocation.validate().map_err(|_| KellyError::Overflow {
            quantity: "allocation (positions or cuts)",
        })?;
        Ok(allocation)
    }

    fn prepare(&self, items: &[AllocationItem<'_>], capital: f64) -> KellyResult<(Vec<Prepared>, usize)> {
        let cfg = &self.config;
        let mut sectors: BTreeMap<&str, usize> = BTreeMap::new();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let a = item.asset;
            check_finite("target_fraction", &[item.target_fraction])?;
            check_non_negative("priority", item.priority)?;
            check_positive("price", a.price)?;
            if !(a.lot_size.is_finite() && a.lot_size > 0.0) {
                return Err(KellyError::BadLotSize {
                    asset: a.id.clone(),
                    value: a.lot_size,
                });
            }
            if let Some(adv) = a.adv_shares {
                if !(adv.is_finite() && adv > 0.0) {
                    return Err(KellyError::ZeroAdv {
                        asset: a.id.clone(),
                        value: adv,
                    });
                }
            }
            if let Some(b) = a.borrow_available_shares {
                check_non_negative("borrow_available_shares", b)?;
            }
            let target = finite(
                "|target_fraction| × capital",
                item.target_fraction.abs() * capital,
            )?;
            let sign = if item.target_fraction < 0.0 { -1.0 } else { 1.0 };
            let after_cap = target.min(cfg.max_name_fraction * capital);
            let adv_bound = a
                .adv_shares
                .map_or(f64::INFINITY, |v| cfg.adv_participation * v * a.price);
            let after_adv = after_cap.min(adv_bound);
            let borrow_bound = if sign < 0.0 {
                a.borrow_available_shares.unwrap_or(0.0) * a.price
            } else {
                f64::INFINITY
            };
            let bound = after_adv.min(borrow_bound);
            // may underflow to 0: then any positive bound holds "infinitely many" lots, which
            // the lot modes report as TooManyLots (and a zero bound holds none)
            let lot = finite("lot notional lot_size × price", a.lot_size * a.price)?;
            // whole lots that fit; a relative 1e-12 tolerance keeps a bound that equals a
            // whole number of lots up to roundoff (e.g. target = price × lots / capital × capital)
            let bound_lots = if bound > 0.0 {
                (bound / lot * (1.0 + 1e-12)).floor().max(0.0)
            } else {
                0.0
            };
            let sector = a.sector.as_deref().map(|s| {
                let k = sectors.len();
                *sectors.entry(s).or_insert(k)
            });
            out.push(Prepared {
                target,
                bound,
                lot,
                bound_lots,
                sign,
                priority: item.priority,
                sector,
                cuts: [
                    (Limit::NameCap, target - after_cap),
                    (Limit::Adv, after_cap - after_adv),
                    (Limit::Borrow, after_adv - bound),
                ],
            });
        }
        Ok((out, sectors.len()))
    }
}

/// Objective `(Σ uᵢ xᵢ − λ Σₛ max(0, loadₛ − φC)) / C`.
fn objective(prep: &[Prepared], x: &[f64], n_sectors: usize, cfg: &AllocationConfig, capital: f64) -> f64 {
    if capital <= 0.0 {
        return 0.0;
    }
    let mut load = vec![0.0; n_sectors];
    let mut v = 0.0;
    for (p, xi) in prep.iter().zip(x) {
        v += p.priority * xi;
        if let Some(s) = p.sector {
            load[s] += xi;
        }
    }
    let free = cfg.sector_free_fraction * capital;
    let excess: f64 = load.iter().map(|l| (l - free).max(0.0)).sum();
    (v - cfg.sector_penalty * excess) / capital
}

/// A piece of one name's capacity with a constant marginal value.
struct Chunk {
    value: f64,
    name: usize,
    amount: f64,
}

/// Chunks in sector walk order (see the module docs); stable-sorted by value they give the
/// exact continuous solution.
fn chunks(prep: &[Prepared], n_sectors: usize, cfg: &AllocationConfig, capital: f64) -> Vec<Chunk> {
    let free = cfg.sector_free_fraction * capital;
    let mut by_sector: Vec<Vec<usize>> = vec![Vec::new(); n_sectors];
    let mut out = Vec::with_capacity(prep.len() + n_sectors);
    for (i, p) in prep.iter().enumerate() {
        if p.bound <= 0.0 || p.priority <= 0.0 {
            continue;
        }
        match p.sector {
            Some(s) => by_sector[s].push(i),
            None => out.push(Chunk {
                value: p.priority,
                name: i,
                amount: p.bound,
            }),
        }
    }
    for names in &mut by_sector {
        names.sort_by(|&a, &b| prep[b].priority.total_cmp(&prep[a].priority).then(a.cmp(&b)));
        let mut used = 0.0;
        for &i in names.iter() {
            let p = &prep[i];
            let free_part = (free - used).clamp(0.0, p.bound);
            if free_part > 0.0 {
                out.push(Chunk {
                    value: p.priority,
                    name: i,
                    amount: free_part,
                });
            }
            let rest = p.bound - free_part;
            if rest > 0.0 {
                out.push(Chunk {
                    value: p.priority - cfg.sector_penalty,
                    name: i,
                    amount: rest,
                });
            }
            used += p.bound;
        }
    }
    out.sort_by(|a, b| b.value.total_cmp(&a.value));
    out
}

fn greedy_continuous(prep: &[Prepared], n_sectors: usize, cfg: &AllocationConfig, capital: f64) -> Vec<f64> {
    let mut x = vec![0.0; prep.len()];
    let mut budget = cfg.max_gross * capital;
    for c in chunks(prep, n_sectors, cfg, capital) {
        if c.value <= 0.0 || budget <= 0.0 {
            break;
        }
        let take = c.amount.min(budget);
        x[c.name] += take;
        budget -= take;
    }
    x
}

fn greedy_lots(
    prep: &[Prepared],
    continuous: &[f64],
    n_sectors: usize,
    cfg: &AllocationConfig,
    capital: f64,
) -> Vec<f64> {
    let budget = cfg.max_gross * capital;
    let free = cfg.sector_free_fraction * capital;
    let mut lots: Vec<f64> = prep
        .iter()
        .zip(continuous)
        .map(|(p, xi)| {
            if p.bound_lots >= 1.0 {
                (xi / p.lot * (1.0 + 1e-12)).floor().clamp(0.0, p.bound_lots)
            } else {
                0.0
            }
        })
        .collect();
    let mut used: f64 = lots.iter().zip(prep).map(|(n, p)| n * p.lot).sum();
    // roundoff guard: remove lots from the last names, in bulk (a few steps per name)
    let mut i = prep.len();
    while used > budget && i > 0 {
        i -= 1;
        for _ in 0..3 {
            if used <= budget || lots[i] <= 0.0 {
                break;
            }
            let d = ((used - budget) / prep[i].lot).ceil().clamp(1.0, lots[i]);
            lots[i] -= d;
            used -= d * prep[i].lot;
        }
    }
    let mut load = vec![0.0; n_sectors];
    for (n, p) in lots.iter().zip(prep) {
        if let Some(s) = p.sector {
            load[s] += n * p.lot;
        }
    }
    // spend the leftover lot by lot, best marginal value first
    let mut order: Vec<usize> = (0..prep.len()).collect();
    order.sort_by(|&a, &b| prep[b].priority.total_cmp(&prep[a].priority).then(a.cmp(&b)));
    // The marginal value of the next lot is non-increasing (concave sector penalty), so the
    // lots worth adding are counted in bulk: all that fit while the marginal is positive.
    for &i in &order {
        let p = &prep[i];
        if p.priority <= 0.0 {
            continue;
        }
        let room = p.bound_lots - lots[i];
        if room < 1.0 {
            continue;
        }
        let mut k = room.min(((budget - used) / p.lot).floor()).max(0.0);
        if let Some(s) = p.sector {
            if cfg.sector_penalty > 0.0 && p.priority <= cfg.sector_penalty {
                // lots beyond the free level have marginal <= 0: take the lots inside it, and
                // the one straddling it if its marginal is still positive
                let free_room = free - load[s];
                let worth = if free_room <= 0.0 {
                    0.0
                } else {
                    let inside = (free_room / p.lot).floor();
                    let over = (load[s] + (inside + 1.0) * p.lot - free).max(0.0)
                        - (load[s] + inside * p.lot - free).max(0.0);
                    if p.priority * p.lot - cfg.sector_penalty * over > 0.0 {
                        inside + 1.0
                    } else {
                        inside
                    }
                };
                k = k.min(worth);
            }
        }
        // roundoff: never past the budget
        for _ in 0..3 {
            if k > 0.0 && used + k * p.lot > budget {
                k -= 1.0;
            }
        }
        if k <= 0.0 || used + k * p.lot > budget {
            continue;
        }
        lots[i] += k;
        used += k * p.lot;
        if let Some(s) = p.sector {
            load[s] += k * p.lot;
        }
    }
    lots.iter().zip(prep).map(|(n, p)| n * p.lot).collect()
}

/// The mode an `Auto` allocation runs in: MILP when some lot is material against its bound.
fn resolve_mode(cfg: &AllocationConfig, prep: &[Prepared]) -> AllocationMode {
    match cfg.mode {
        AllocationMode::Auto => {
            let matters = prep
                .iter()
                .any(|p| p.bound > 0.0 && p.lot > cfg.lot_materiality * p.bound);
            if matters {
                AllocationMode::Milp
            } else {
                AllocationMode::GreedyLots
            }
        }
        m => m,
    }
}

/// In the lot modes, no name may need more than [`MAX_LOTS_PER_NAME`] lots.
fn check_lot_counts(items: &[AllocationItem<'_>], prep: &[Prepared]) -> KellyResult<()> {
    for (item, p) in items.iter().zip(prep) {
        let lots = p.bound / p.lot;
        if p.bound > 0.0 && (lots.is_nan() || lots > MAX_LOTS_PER_NAME) {
            return Err(KellyError::TooManyLots {
                asset: item.asset.id.clone(),
                lots,
                lot_notional: p.lot,
            });
        }
    }
    Ok(())
}

/// What a mode's solve produced, before the safety clamp.
struct Solved {
    x: Vec<f64>,
    method: AllocationMethod,
    status: Status,
    greedy_objective: f64,
    milp_objective: Option<f64>,
}

/// Runs the mode: continuous greedy, greedy lots, or the MILP (falling back to greedy lots,
/// with the MILP's own ending as the cause).
fn solve_mode(
    mode: AllocationMode,
    prep: &[Prepared],
    n_sectors: usize,
    cfg: &AllocationConfig,
    capital: f64,
) -> Solved {
    let continuous = greedy_continuous(prep, n_sectors, cfg, capital);
    let (x, method, status, greedy_objective, milp_objective) = match mode {
        AllocationMode::Continuous => {
            let obj = objective(prep, &continuous, n_sectors, cfg, capital);
            (
                continuous,
                AllocationMethod::Continuous,
                Status::Converged,
                obj,
                None,
            )
        }
        _ => {
            let greedy = greedy_lots(prep, &continuous, n_sectors, cfg, capital);
            let g_obj = objective(prep, &greedy, n_sectors, cfg, capital);
            if mode == AllocationMode::GreedyLots {
                (
                    greedy,
                    AllocationMethod::GreedyLots,
                    Status::Heuristic,
                    g_obj,
                    None,
                )
            } else {
                match solve_milp(prep, &greedy, n_sectors, cfg, capital) {
                    Ok((xm, st)) => {
                        let m_obj = objective(prep, &xm, n_sectors, cfg, capital);
                        if m_obj + 1e-12 >= g_obj {
                            (xm, AllocationMethod::Milp, st, g_obj, Some(m_obj))
                        } else {
                            (
                                greedy,
                                AllocationMethod::GreedyLots,
                                Status::Fallback {
                                    reason: "greedy lots: MILP incumbent below the greedy allocation".into(),
                                    cause: Box::new(st),
                                },
                                g_obj,
                                Some(m_obj),
                            )
                        }
                    }
                    Err(e) => (
                        greedy,
                        AllocationMethod::GreedyLots,
                        Status::Fallback {
                            reason: "greedy lots: the MILP failed".into(),
                            cause: Box::new(Status::Numerical {
                                message: e.to_string(),
                            }),
                        },
                        g_obj,
                        None,
                    ),
                }
            }
        }
    };
    Solved {
        x,
        method,
        status,
        greedy_objective,
        milp_objective,
    }
}

/// Positions (input order) with the limit that bound each, and the notional cut per limit.
fn positions_and_cuts(
    items: &[AllocationItem<'_>],
    prep: &[Prepared],
    x: &[f64],
    n_sectors: usize,
    cfg: &AllocationConfig,
    capital: f64,
    lots_mode: bool,
) -> (Vec<Position>, LimitCuts) {
    let mut sector_load = vec![0.0; n_sectors];
    for (xi, p) in x.iter().zip(prep) {
        if let Some(s) = p.sector {
            sector_load[s] += xi;
        }
    }
    let free = cfg.sector_free_fraction * capital;
    let mut cuts = LimitCuts::default();
    let mut positions = Vec::with_capacity(items.len());
    for ((item, p), xi) in items.iter().zip(prep).zip(x) {
        let mut binding = None;
        for &(limit, v) in &p.cuts {
            if v > 0.0 {
                cuts.add(limit, v);
                binding.get_or_insert(limit);
            }
        }
        let attainable = if lots_mode {
            let lot_cut = p.bound - p.bound_lots * p.lot;
            if lot_cut > 1e-9 * p.bound.max(1.0) {
                cuts.add(Limit::Lot, lot_cut);
                binding.get_or_insert(Limit::Lot);
            }
            p.bound_lots * p.lot
        } else {
            p.bound
        };
        let short = (attainable - xi).max(0.0);
        if short > 1e-9 * attainable.max(1.0) {
            let crowded = p
                .sector
                .is_some_and(|s| cfg.sector_penalty > 0.0 && sector_load[s] >= free * (1.0 - 1e-9));
            let limit = if crowded { Limit::Sector } else { Limit::Capital };
            cuts.add(limit, short);
            binding.get_or_insert(limit);
        }
        let price = item.asset.price;
        let shares = if *xi == 0.0 {
            0.0
        } else if lots_mode {
            let lots = (xi / p.lot).round();
            lots * item.asset.lot_size
        } else {
            xi / price
        };
        let notional = p.sign * shares * price;
        positions.push(Position {
            asset: item.asset.id.clone(),
            shares: p.sign * shares,
            notional,
            fraction: if capital > 0.0 { notional / capital } else { 0.0 },
            target_notional: p.sign * p.target,
            binding,
        });
    }
    (positions, cuts)
}

/// The MILP time limit in whole milliseconds (saturating; the limit is validated finite).
fn time_limit_ms(secs: f64) -> u64 {
    let ms = (secs * 1000.0).round();
    if ms >= u64::MAX as f64 {
        u64::MAX
    } else {
        ms.max(0.0) as u64
    }
}

fn solve_milp(
    prep: &[Prepared],
    warm: &[f64],
    n_sectors: usize,
    cfg: &AllocationConfig,
    capital: f64,
) -> Result<(Vec<f64>, Status), ResolutionError> {
    if capital <= 0.0 {
        return Ok((vec![0.0; prep.len()], Status::Converged));
    }
    let mut vars = variables!();
    // work in units of capital for conditioning
    let scale = 1.0 / capital;
    let mut lot_vars: Vec<Option<Variable>> = Vec::with_capacity(prep.len());
    let mut initial: Vec<(Variable, f64)> = Vec::new();
    let mut obj = Expression::from(0.0);
    let mut gross = Expression::from(0.0);
    let mut sector_expr: Vec<Expression> = (0..n_sectors).map(|_| Expression::from(0.0)).collect();
    for (i, p) in prep.iter().enumerate() {
        if p.bound_lots < 1.0 || p.priority <= 0.0 {
            lot_vars.push(None);
            continue;
        }
        let v = vars.add(variable().integer().min(0.0).max(p.bound_lots));
        let c = p.lot * scale;
        obj += p.priority * c * v;
        gross += c * v;
        if let Some(s) = p.sector {
            sector_expr[s] += c * v;
        }
        initial.push((v, (warm[i] / p.lot).round()));
        lot_vars.push(Some(v));
    }
    let mut sector_loads = Vec::new();
    let mut excess_vars = Vec::with_capacity(n_sectors);
    for (s, expr) in sector_expr.into_iter().enumerate() {
        let e = vars.add(variable().min(0.0));
        obj -= cfg.sector_penalty * e;
        let load: f64 = prep
            .iter()
            .zip(warm)
            .filter(|(p, _)| p.sector == Some(s))
            .map(|(_, x)| x * scale)
            .sum();
        initial.push((e, (load - cfg.sector_free_fraction).max(0.0)));
        excess_vars.push(e);
        sector_loads.push(expr);
    }
    let mut problem = vars
        .maximise(obj)
        .using(microlp)
        .with_time_limit(cfg.milp_time_limit_secs)
        .with_initial_solution(initial)
        .with_mip_gap(cfg.milp_relative_gap as f32)
        .map_err(|_| ResolutionError::Str("invalid MILP gap".into()))?;
    problem.add_constraint(gross.leq(cfg.max_gross));
    for (expr, e) in sector_loads.into_iter().zip(&excess_vars) {
        problem.add_constraint((expr - *e).leq(cfg.sector_free_fraction));
    }
    let solution = problem.solve()?;
    let status = match solution.status() {
        SolutionStatus::Optimal => Status::Converged,
        SolutionStatus::GapLimit => Status::ReducedAccuracy {
            reason: format!(
                "MILP stopped within its relative gap {} of the optimum",
                cfg.milp_relative_gap
            ),
        },
        _ => Status::TimeLimit {
            elapsed_ms: time_limit_ms(cfg.milp_time_limit_secs),
        },
    };
    let x = prep
        .iter()
        .zip(&lot_vars)
        .map(|(p, v)| match v {
            Some(v) => solution.value(*v).round().clamp(0.0, p.bound_lots) * p.lot,
            None => 0.0,
        })
        .collect::<Vec<_>>();
    // rounding the solver's near-integers could nudge the budget: trim if needed
    let mut x = x;
    let cap = cfg.max_gross * capital * (1.0 + 1e-12);
    let mut used: f64 = x.iter().sum();
    let mut i = x.len();
    while used > cap && i > 0 {
        i -= 1;
        // remove whole lots from the last names, in bulk (a few steps per name)
        for _ in 0..3 {
            if used <= cap || x[i] <= 0.0 {
                break;
            }
            let have = (x[i] / prep[i].lot).round();
            let d = ((used - cap) / prep[i].lot).ceil().clamp(1.0, have.max(1.0));
            let new = (have - d).max(0.0) * prep[i].lot;
            used -= x[i] - new;
            x[i] = new;
        }
    }
    Ok((x, status))
}

prudentia_core::checked_serde!(Allocator, Allocator::check);
