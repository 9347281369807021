//! A seeded synthetic market with known ground truth: regime-switching returns with known
//! change points, assets in sectors with a block correlation structure, and the exact
//! conditional mean and volatility that drew every return.
//!
//! # Model
//! Regimes `k = 0..K` with spec `(m_k, v_k, ρ_in_k, ρ_x_k)`
//! ([`RegimeSpec`]), a row-stochastic transition matrix `A` and assets `i = 0..n` in sectors
//! `g(i) = ⌊i·G/n⌋` (contiguous, as equal as possible).
//!
//! - Regime path: `s_0 = initial_regime`, `P(s_t = j | s_{t−1} = i) = A[i][j]`; a change
//!   point is a day `t ≥ 1` with `s_t ≠ s_{t−1}`. The mean stay in regime `i` is
//!   `1 / (1 − A[i][i])` days.
//! - Assets: alpha `a_i ~ N(0, alpha_sd²)`, volatility multiplier
//!   `w_i ~ U[1 − vol_dispersion, 1 + vol_dispersion]`.
//! - Correlation in regime `k`: `C_k[i][j] = 1` if `i = j`, `ρ_in_k` if `g(i) = g(j)`,
//!   `ρ_x_k` otherwise; `C_k = L_k L_kᵀ` (Cholesky).
//! - Returns (simple, daily): `r_{t,i} = μ_{t,i} + σ_{t,i} z_{t,i}` with
//!   `μ_{t,i} = m_{s_t} + a_i` ([`SyntheticMarket::true_mean`]),
//!   `σ_{t,i} = v_{s_t} · w_i` ([`SyntheticMarket::true_sigma`]) and
//!   `z_t = L_{s_t} ε_t`, `ε_t ~ N(0, I)` independent over days.
//! - Prices: `P_{t,i} = P_{t−1,i} (1 + r_{t,i})` from an initial price `P_{−1,i}`
//!   ([`SyntheticMarket::initial_prices`]), so row `t` of the prices is the close of day `t`.
//! - Equal-weight index (rebalanced daily): `I_t = (1/n) Σ_i r_{t,i}`.
//! - Dates: business days (Monday–Friday, no holidays) from 2000-01-03.
//!
//! # Randomness
//! One `ChaCha8Rng` (portable, value-stable) seeded with `seed_from_u64(config.seed)` draws,
//! in this order: per asset `(a_i, w_i, initial price, ADV, borrow fraction)`; the regime
//! path `s_1..s_{T−1}`; then per day the `n` standard normals `ε_t`. Same config → the same
//! market, bit for bit.

use chrono::{Datelike, NaiveDate, Weekday};
use ndarray::{Array1, Array2};
use prudentia_core::{AssetInfo, CoreError, Indicator, MarketSnapshot, Quote, RegimeLabel, Timestamp};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::error::{DatasetError, DatasetResult};
use crate::frame::Frame;

/// The generator every seeded function of this crate uses: ChaCha with 8 rounds, whose output
/// for a given seed is fixed by its algorithm (unlike `StdRng`, which rand may change).
pub(crate) fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// One standard normal draw.
pub(crate) fn std_normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
}

/// One uniform draw in `[0, 1)`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}

/// The parameters of one market regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeSpec {
    /// Label, e.g. [`RegimeLabel::RISK_ON`].
    pub label: RegimeLabel,
    /// Common daily mean return `m_k` (decimal, e.g. `5e-4` = 5 bps/day); finite, `|m| ≤ 0.05`.
    pub daily_mean: f64,
    /// Daily volatility `v_k` of an asset with multiplier 1 (decimal); in `(0, 0.1]`.
    pub daily_vol: f64,
    /// Correlation `ρ_in` between two assets of the same sector; in `(−1, 1)`.
    pub intra_sector_corr: f64,
    /// Correlation `ρ_x` between assets of different sectors; in `(−1, 1)`.
    pub cross_sector_corr: f64,
}

impl RegimeSpec {
    /// Calm, rising market: mean 5 bps/day, vol 0.8 %/day, correlations 0.5 within and 0.2
    /// across sectors.
    pub fn risk_on() -> Self {
        Self {
            label: RegimeLabel::RISK_ON,
            daily_mean: 5e-4,
            daily_vol: 0.008,
            intra_sector_corr: 0.5,
            cross_sector_corr: 0.2,
        }
    }

    /// Stressed, falling market: mean −10 bps/day, vol 2.5 %/day, correlations 0.8 within and
    /// 0.6 across sectors.
    pub fn risk_off() -> Self {
        Self {
            label: RegimeLabel::RISK_OFF,
            daily_mean: -1e-3,
            daily_vol: 0.025,
            intra_sector_corr: 0.8,
            cross_sector_corr: 0.6,
        }
    }
}

/// Configuration of a [`SyntheticMarket`]. Deserialization runs
/// [`validate`](Self::validate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct SyntheticConfig {
    /// Number of assets `n` (default 20, `1 ≤ n ≤` [`MAX_DIM`](prudentia_core::validate::MAX_DIM),
    /// with `n² ≤` [`MAX_ELEMENTS`](prudentia_core::validate::MAX_ELEMENTS) and `T · n` too).
    pub n_assets: usize,
    /// Number of sectors `G` (default 4, `1 ≤ G ≤ n`); sector `g` holds the contiguous assets
    /// with `⌊i·G/n⌋ = g`.
    pub n_sectors: usize,
    /// Number of trading days `T` (default 2520 ≈ 10 years, `2 ≤ T ≤`
    /// [`MAX_WINDOW`](prudentia_core::validate::MAX_WINDOW)).
    pub n_days: usize,
    /// Seed of the generator (default 3: the first seed whose 2520-day path is close to the
    /// default chain's long-run behaviour, 31.6 % of days in `risk_off` against a stationary
    /// 1/3 and 14 change points against about 17 expected, the first on day 135).
    pub seed: u64,
    /// The regimes (default [`RegimeSpec::risk_on`], [`RegimeSpec::risk_off`]); at least one.
    pub regimes: Vec<RegimeSpec>,
    /// Row-stochastic `K × K` transition matrix, `transition[i][j] = P(s_t = j | s_{t−1} = i)`
    /// (default `[[0.995, 0.005], [0.01, 0.99]]`: mean stays of 200 and 100 days). Rows must
    /// sum to 1 within 1e-9.
    pub transition: Vec<Vec<f64>>,
    /// Regime of day 0 (default 0).
    pub initial_regime: usize,
    /// Standard deviation of the per-asset daily alphas `a_i` (default 2e-4; ≥ 0, ≤ 0.01).
    pub alpha_sd: f64,
    /// Half-width of the per-asset volatility multipliers `w_i ~ U[1 − d, 1 + d]`
    /// (default 0.3; in `[0, 0.9]`).
    pub vol_dispersion: f64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            n_assets: 20,
            n_sectors: 4,
            n_days: 2520,
            seed: 3,
            regimes: vec![RegimeSpec::risk_on(), RegimeSpec::risk_off()],
            transition: vec![vec![0.995, 0.005], vec![0.01, 0.99]],
            initial_regime: 0,
            alpha_sd: 2e-4,
            vol_dispersion: 0.3,
        }
    }
}

prudentia_core::checked_serde!(SyntheticConfig, SyntheticConfig::check);

impl SyntheticConfig {
    fn check(&mut self) -> DatasetResult<()> {
        self.validate()
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`CoreError::TooLarge`] for sizes beyond their limits;
    /// [`CoreError::EmptyInput`] for `n_assets = 0`, `n_days < 2` or no regime;
    /// [`CoreError::OutOfRange`] for `n_sectors`, `initial_regime`, `alpha_sd`,
    /// `vol_dispersion` or a regime parameter out of range (NaN included);
    /// [`CoreError::ShapeMismatch`] unless `transition` is `K × K`;
    /// [`DatasetError::NotStochastic`] for a transition row that is not a distribution;
    /// [`DatasetError::CorrelationNotPositiveDefinite`] if a regime's block correlation matrix
    /// is not positive definite.
    pub fn validate(&self) -> DatasetResult<()> {
        self.validate_and_factor().map(|_| ())
    }

    /// Validates and returns each regime's correlation matrix and Cholesky factor.
    fn validate_and_factor(&self) -> DatasetResult<Vec<(Array2<f64>, Array2<f64>)>> {
        use prudentia_core::validate::{
            check_elements, check_len, check_range, check_size, MAX_DIM, MAX_ELEMENTS, MAX_WINDOW,
        };
        check_len("n_assets", self.n_assets, 1)?;
        check_len("n_days", self.n_days, 2)?;
        check_len("regimes", self.regimes.len(), 1)?;
        check_size("n_assets", self.n_assets, MAX_DIM)?;
        check_size("n_days", self.n_days, MAX_WINDOW)?;
        check_size("regimes", self.regimes.len(), MAX_DIM)?;
        check_elements("n_days × n_assets", &[self.n_days, self.n_assets], MAX_ELEMENTS)?;
        check_elements(
            "n_assets × n_assets",
            &[self.n_assets, self.n_assets],
            MAX_ELEMENTS,
        )?;
        check_elements(
            "regimes × n_assets × n_assets",
            &[self.regimes.len(), self.n_assets, self.n_assets],
            MAX_ELEMENTS,
        )?;
        if self.n_sectors == 0 || self.n_sectors > self.n_assets {
            return Err(CoreError::OutOfRange {
                field: "n_sectors",
                value: self.n_sectors as f64,
                expected: "in 1 ..= n_assets",
            }
            .into());
        }
        let k = self.regimes.len();
        if self.initial_regime >= k {
            return Err(CoreError::OutOfRange {
                field: "initial_regime",
                value: self.initial_regime as f64,
                expected: "below the number of regimes",
            }
            .into());
        }
        check_range("alpha_sd", self.alpha_sd, 0.0, 0.01, "in [0, 0.01]")?;
        check_range("vol_dispersion", self.vol_dispersion, 0.0, 0.9, "in [0, 0.9]")?;
        let rows = self.transition.len();
        let cols = self.transition.iter().map(Vec::len).find(|&c| c != k);
        if rows != k || cols.is_some() {
            return Err(CoreError::ShapeMismatch {
                field: "transition",
                expected: vec![k, k],
                found: vec![rows, cols.unwrap_or(k)],
            }
            .into());
        }
        for (row, p) in self.transition.iter().enumerate() {
            let valid = p.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x));
            let sum: f64 = p.iter().sum();
            if !valid || (sum - 1.0).abs() > 1e-9 {
                return Err(DatasetError::NotStochastic {
                    row,
                    sum: if valid { sum } else { f64::NAN },
                });
            }
        }
        let sectors = sector_assignment(self.n_assets, self.n_sectors);
        let mut factors = Vec::with_capacity(k);
        for (regime, r) in self.regimes.iter().enumerate() {
            check_range(
                "regimes.daily_mean",
                r.daily_mean,
                -0.05,
                0.05,
                "in [-0.05, 0.05]",
            )?;
            if !(r.daily_vol.is_finite() && r.daily_vol > 0.0 && r.daily_vol <= 0.1) {
                return Err(CoreError::OutOfRange {
                    field: "regimes.daily_vol",
                    value: r.daily_vol,
                    expected: "in (0, 0.1]",
                }
                .into());
            }
            for (field, rho) in [
                ("regimes.intra_sector_corr", r.intra_sector_corr),
                ("regimes.cross_sector_corr", r.cross_sector_corr),
            ] {
                if !(rho.is_finite() && rho > -1.0 && rho < 1.0) {
                    return Err(CoreError::OutOfRange {
                        field,
                        value: rho,
                        expected: "in the open interval (-1, 1)",
                    }
                    .into());
                }
            }
            let corr = block_correlation(&sectors, r.intra_sector_corr, r.cross_sector_corr);
            let chol = prudentia_core::linalg::cholesky(corr.view()).map_err(|_| {
                DatasetError::CorrelationNotPositiveDefinite {
                    regime,
                    label: r.label.to_string(),
                    intra_sector_corr: r.intra_sector_corr,
                    cross_sector_corr: r.cross_sector_corr,
                }
            })?;
            factors.push((corr, chol));
        }
        Ok(factors)
    }
}

/// Sector of each asset: `g(i) = ⌊i·G/n⌋`.
pub fn sector_assignment(n_assets: usize, n_sectors: usize) -> Vec<usize> {
    (0..n_assets).map(|i| i * n_sectors / n_assets).collect()
}

/// The block correlation matrix: 1 on the diagonal, `intra` within a sector, `cross` across.
pub fn block_correlation(sectors: &[usize], intra: f64, cross: f64) -> Array2<f64> {
    let n = sectors.len();
    Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            1.0
        } else if sectors[i] == sectors[j] {
            intra
        } else {
            cross
        }
    })
}

/// Business days (Monday–Friday) starting at `start` (moved forward to a weekday).
pub fn business_days(start: NaiveDate, n: usize) -> Vec<Timestamp> {
    let mut out = Vec::with_capacity(n);
    let mut d = start;
    while out.len() < n {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(Timestamp::from_date(d));
        }
        d = d.succ_opt().unwrap_or(d);
    }
    out
}

/// First date of every synthetic market: Monday 2000-01-03.
pub fn synthetic_start_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 3).unwrap_or_default()
}

/// A generated market with its ground truth. All `T × n` arrays have one row per day
/// ([`dates`](Self::dates)) and one column per asset ([`assets`](Self::assets)). See the
/// [module docs](self) for the equations.
///
/// Deserialization checks the configuration and that every array has the size it implies,
/// every index (regime, sector) is in range, the change points match the regime path, and
/// every number is finite, so a tampered checkpoint never panics an accessor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct SyntheticMarket {
    /// The configuration it was generated from.
    pub config: SyntheticConfig,
    /// Trading days (business days from 2000-01-03), length `T`.
    pub dates: Vec<Timestamp>,
    /// Assets `SYN00`, `SYN01`, …: sector name, last price, ADV (shares, log-uniform in
    /// [1e5, 1e7]), shares available to borrow (`ADV × U[0, 0.5]`, but exactly 0 for every
    /// fifth asset, `i % 5 == 4`: hard to borrow), lot size (100 for `i % 4 == 3`, else 1).
    pub assets: Vec<AssetInfo>,
    /// Sector names `sector_0`, `sector_1`, …, length `G`.
    pub sectors: Vec<String>,
    /// Sector index of each asset, `g(i) = ⌊i·G/n⌋`.
    pub asset_sector: Vec<usize>,
    /// True per-asset daily alphas `a_i`.
    pub alphas: Array1<f64>,
    /// True per-asset volatility multipliers `w_i`.
    pub vol_multipliers: Array1<f64>,
    /// Regime index `s_t` of each day (into `config.regimes`).
    pub regimes: Vec<usize>,
    /// Days `t ≥ 1` with `s_t ≠ s_{t−1}`, increasing.
    pub change_points: Vec<usize>,
    /// `T × n` simple daily returns.
    pub returns: Array2<f64>,
    /// `T × n` closing prices, `P_t = P_{t−1}(1 + r_t)`.
    pub prices: Array2<f64>,
    /// Prices before day 0 (log-uniform in [20, 200]).
    pub initial_prices: Array1<f64>,
    /// `T × n` true conditional means `μ_{t,i} = m_{s_t} + a_i`.
    pub true_mean: Array2<f64>,
    /// `T × n` true conditional volatilities `σ_{t,i} = v_{s_t} w_i`.
    pub true_sigma: Array2<f64>,
    /// Per-regime true correlation matrices `C_k` (`n × n`, block structure by sector).
    pub regime_correlations: Vec<Array2<f64>>,
    /// Equal-weight index return `I_t = (1/n) Σ_i r_{t,i}`, length `T`.
    pub index_returns: Array1<f64>,
}
prudentia_core::checked_serde!(SyntheticMarket, SyntheticMarket::check);

impl SyntheticMarket {
    /// Generates the market described by `config`.
    ///
    /// # Errors
    /// Any error of [`SyntheticConfig::validate`].
    pub fn generate(config: &SyntheticConfig) -> DatasetResult<SyntheticMarket> {
        let factors = config.validate_and_factor()?;
        let (n, t_len, g) = (config.n_assets, config.n_days, config.n_sectors);
        let mut rng = seeded_rng(config.seed);
        let asset_sector = sector_assignment(n, g);
        let sectors: Vec<String> = (0..g).map(|k| format!("sector_{k}")).collect();

        let mut alphas = Array1::zeros(n);
        let mut vol_multipliers = Array1::zeros(n);
        let mut initial_prices = Array1::zeros(n);
        let mut adv = vec![0.0; n];
        let mut borrow_fraction = vec![0.0; n];
        for i in 0..n {
            alphas[i] = config.alpha_sd * std_normal(&mut rng);
            vol_multipliers[i] = 1.0 + config.vol_dispersion * (2.0 * uniform(&mut rng) - 1.0);
            initial_prices[i] = (20f64.ln() + uniform(&mut rng) * 10f64.ln()).exp();
            adv[i] = (1e5f64.ln() + uniform(&mut rng) * 100f64.ln()).exp();
            borrow_fraction[i] = 0.5 * uniform(&mut rng);
        }

        let mut regimes = Vec::with_capacity(t_len);
        regimes.push(config.initial_regime);
        for t in 1..t_len {
            let row = &config.transition[regimes[t - 1]];
            let u = uniform(&mut rng);
            let mut acc = 0.0;
            let mut next = row.len() - 1;
            for (j, p) in row.iter().enumerate() {
                acc += p;
                if u < acc {
                    next = j;
                    break;
                }
            }
            // Guard against rounding in the last bucket: never land on a zero-probability state.
            if row[next] == 0.0 {
                next = row.iter().rposition(|&p| p > 0.0).unwrap_or(next);
            }
            regimes.push(next);
        }
        let change_points: Vec<usize> = (1..t_len).filter(|&t| regimes[t] != regimes[t - 1]).collect();

        let mut returns = Array2::zeros((t_len, n));
        let mut true_mean = Array2::zeros((t_len, n));
        let mut true_sigma = Array2::zeros((t_len, n));
        let mut eps = vec![0.0; n];
        for t in 0..t_len {
            let spec = &config.regimes[regimes[t]];
            let chol = &factors[regimes[t]].1;
            for e in eps.iter_mut() {
                *e = std_normal(&mut rng);
            }
            for i in 0..n {
                let z: f64 = (0..=i).map(|j| chol[[i, j]] * eps[j]).sum();
                let mu = spec.daily_mean + alphas[i];
                let sigma = spec.daily_vol * vol_multipliers[i];
                true_mean[[t, i]] = mu;
                true_sigma[[t, i]] = sigma;
                returns[[t, i]] = mu + sigma * z;
            }
        }

        let mut prices = Array2::zeros((t_len, n));
        for i in 0..n {
            let mut p = initial_prices[i];
            for t in 0..t_len {
                p *= 1.0 + returns[[t, i]];
                prices[[t, i]] = p;
            }
        }
        let index_returns = returns.mean_axis(ndarray::Axis(1)).unwrap_or_default();

        let assets = (0..n)
            .map(|i| {
                let last = prices[[t_len - 1, i]];
                let mut a = AssetInfo::new(format!("SYN{i:02}"), last)?;
                a.sector = Some(sectors[asset_sector[i]].clone());
                a.adv_shares = Some(adv[i]);
                a.borrow_available_shares = Some(if i % 5 == 4 {
                    0.0
                } else {
                    adv[i] * borrow_fraction[i]
                });
                a.lot_size = if i % 4 == 3 { 100.0 } else { 1.0 };
                Ok(a)
            })
            .collect::<Result<Vec<_>, CoreError>>()?;

        Ok(SyntheticMarket {
            config: config.clone(),
            dates: business_days(synthetic_start_date(), t_len),
            assets,
            sectors,
            asset_sector,
            alphas,
            vol_multipliers,
            regimes,
            change_points,
            returns,
            prices,
            initial_prices,
            true_mean,
            true_sigma,
            regime_correlations: factors.into_iter().map(|(c, _)| c).collect(),
            index_returns,
        })
    }

    fn check(&mut self) -> DatasetResult<()> {
        use prudentia_core::validate::{check_finite_iter, check_shape, check_strictly_increasing};
        self.config.validate()?;
        let (n, t, g, k) = (
            self.config.n_assets,
            self.config.n_days,
            self.config.n_sectors,
            self.config.regimes.len(),
        );
        check_shape("dates", &[t], &[self.dates.len()])?;
        check_strictly_increasing("dates", &self.dates)?;
        check_shape("assets", &[n], &[self.assets.len()])?;
        check_shape("sectors", &[g], &[self.sectors.len()])?;
        check_shape("asset_sector", &[n], &[self.asset_sector.len()])?;
        check_shape("regimes", &[t], &[self.regimes.len()])?;
        for (field, a) in [
            ("alphas", &self.alphas),
            ("vol_multipliers", &self.vol_multipliers),
            ("initial_prices", &self.initial_prices),
        ] {
            check_shape(field, &[n], a.shape())?;
            check_finite_iter(field, a.iter())?;
        }
        check_shape("index_returns", &[t], self.index_returns.shape())?;
        check_finite_iter("index_returns", self.index_returns.iter())?;
        for (field, a) in [
            ("returns", &self.returns),
            ("prices", &self.prices),
            ("true_mean", &self.true_mean),
            ("true_sigma", &self.true_sigma),
        ] {
            check_shape(field, &[t, n], a.shape())?;
            check_finite_iter(field, a.iter())?;
        }
        // σ = v·w with v ≤ 0.1 and w ≤ 1.9, |μ| = |m + a| ≤ 0.05 + 10 alpha_sd: anything far
        // outside is tampering (and a huge σ would overflow `true_covariance`).
        if let Some(&s) = self.true_sigma.iter().find(|&&s| !(s > 0.0 && s <= 1.0)) {
            return Err(CoreError::OutOfRange {
                field: "true_sigma",
                value: s,
                expected: "in (0, 1]",
            }
            .into());
        }
        if let Some(&m) = self.true_mean.iter().find(|&&m| m.abs() > 1.0) {
            return Err(CoreError::OutOfRange {
                field: "true_mean",
                value: m,
                expected: "in [-1, 1]",
            }
            .into());
        }
        check_shape("regime_correlations", &[k], &[self.regime_correlations.len()])?;
        for c in &self.regime_correlations {
            check_shape("regime_correlations", &[n, n], c.shape())?;
            check_finite_iter("regime_correlations", c.iter())?;
        }
        let out_of_range = |field: &'static str, v: usize| -> DatasetError {
            CoreError::OutOfRange {
                field,
                value: v as f64,
                expected: "an index below its count",
            }
            .into()
        };
        if let Some(&s) = self.asset_sector.iter().find(|&&s| s >= g) {
            return Err(out_of_range("asset_sector", s));
        }
        if let Some(&r) = self.regimes.iter().find(|&&r| r >= k) {
            return Err(out_of_range("regimes", r));
        }
        let expected: Vec<usize> = (1..t)
            .filter(|&d| self.regimes[d] != self.regimes[d - 1])
            .collect();
        if expected != self.change_points {
            return Err(CoreError::ShapeMismatch {
                field: "change_points (they must match the regime path)",
                expected: vec![expected.len()],
                found: vec![self.change_points.len()],
            }
            .into());
        }
        Ok(())
    }

    /// Number of days `T`.
    pub fn n_days(&self) -> usize {
        self.dates.len()
    }

    /// Number of assets `n`.
    pub fn n_assets(&self) -> usize {
        self.assets.len()
    }

    /// Asset ids as strings, in column order.
    pub fn asset_names(&self) -> Vec<String> {
        self.assets.iter().map(|a| a.id.0.clone()).collect()
    }

    /// The label of day `t`'s regime, `None` past the end.
    pub fn regime_label(&self, t: usize) -> Option<&RegimeLabel> {
        self.regimes
            .get(t)
            .and_then(|&k| self.config.regimes.get(k))
            .map(|r| &r.label)
    }

    /// The true covariance of day `t`'s returns, `diag(σ_t) C_{s_t} diag(σ_t)`; `None` past
    /// the end.
    pub fn true_covariance(&self, t: usize) -> Option<Array2<f64>> {
        let k = *self.regimes.get(t)?;
        let c = self.regime_correlations.get(k)?;
        if t >= self.true_sigma.nrows() || c.dim() != (self.true_sigma.ncols(), self.true_sigma.ncols()) {
            return None;
        }
        let s = self.true_sigma.row(t);
        Some(Array2::from_shape_fn(c.dim(), |(i, j)| s[i] * c[[i, j]] * s[j]))
    }

    /// The returns as a [`Frame`] (columns = asset ids, no missing value).
    ///
    /// # Errors
    /// None in practice (the market's arrays are finite and dated).
    pub fn returns_frame(&self) -> DatasetResult<Frame> {
        Frame::new(self.dates.clone(), self.asset_names(), self.returns.clone())
    }

    /// The prices as a [`Frame`]; its [`Frame::simple_returns`] equals rows `1..` of
    /// [`returns`](Self::returns) up to rounding.
    ///
    /// # Errors
    /// None in practice.
    pub fn prices_frame(&self) -> DatasetResult<Frame> {
        Frame::new(self.dates.clone(), self.asset_names(), self.prices.clone())
    }

    /// Runs of constant regime as `(start, end_exclusive, regime)`.
    pub fn regime_segments(&self) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        let mut start = 0;
        for &cp in &self.change_points {
            if cp <= start || cp >= self.regimes.len() {
                continue;
            }
            out.push((start, cp, self.regimes[start]));
            start = cp;
        }
        if let Some(&r) = self.regimes.get(start) {
            out.push((start, self.regimes.len(), r));
        }
        out
    }

    /// Price of every asset at the close of day `t − 1`, i.e. just before day `t`'s return
    /// (the initial prices for `t = 0`); `None` if `t ≥ T`.
    pub fn prices_before(&self, t: usize) -> Option<Array1<f64>> {
        if t >= self.n_days() || t > self.prices.nrows() {
            None
        } else if t == 0 {
            Some(self.initial_prices.clone())
        } else {
            Some(self.prices.row(t - 1).to_owned())
        }
    }

    /// What a decision for day `t` may see, taken at the close of day `t − 1`: quotes at the
    /// prices [`prices_before(t)`](Self::prices_before), the assets re-priced there, and the
    /// indicator `realized_vol_20`: the annualized standard deviation, in percent, of the
    /// equal-weight index over the last `min(20, t)` returns before `t` (`NaN` for `t < 2`,
    /// which defense layers are expected to catch), a VIX-like input for rule-based regime
    /// labels. Its outcome is row `t` of [`returns`](Self::returns). `None` if `t ≥ T`.
    ///
    /// The snapshot's time is the date of day `t − 1` (for `t = 0`, the day before
    /// 2000-01-03).
    pub fn snapshot_before(&self, t: usize) -> Option<MarketSnapshot> {
        let prices = self.prices_before(t)?;
        let time = if t == 0 {
            Timestamp::from_nanos(self.dates[0].as_nanos().saturating_sub(Timestamp::NANOS_PER_DAY))
        } else {
            self.dates[t - 1]
        };
        let quotes = self
            .assets
            .iter()
            .zip(prices.iter())
            .map(|(a, &price)| Quote {
                asset: a.id.clone(),
                time,
                price,
                volume: a.adv_shares,
                spread_bps: None,
            })
            .collect();
        let assets = self
            .assets
            .iter()
            .zip(prices.iter())
            .map(|(a, &price)| AssetInfo { price, ..a.clone() })
            .collect();
        let index = self.index_returns.as_slice().unwrap_or(&[]);
        let window = index.get(t.saturating_sub(20)..t).unwrap_or(&[]);
        let vol = if window.len() < 2 {
            f64::NAN
        } else {
            let m = window.iter().sum::<f64>() / window.len() as f64;
            let var = window.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (window.len() - 1) as f64;
            100.0 * (252.0 * var).sqrt()
        };
        Some(MarketSnapshot {
            time,
            quotes,
            indicators: vec![Indicator {
                name: "realized_vol_20".to_owned(),
                time,
                value: vol,
            }],
            assets,
        })
    }

    /// A human-readable summary of the ground truth: size, sectors, and per regime its spec,
    /// number of days, number of spells and mean spell length.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "synthetic market: {} days ({} ..= {}), {} assets in {} sectors, seed {}, {} change points",
            self.n_days(),
            self.dates.first().copied().unwrap_or(Timestamp::from_nanos(0)),
            self.dates.last().copied().unwrap_or(Timestamp::from_nanos(0)),
            self.n_assets(),
            self.sectors.len(),
            self.config.seed,
            self.change_points.len()
        );
        let segments = self.regime_segments();
        for (k, spec) in self.config.regimes.iter().enumerate() {
            let spells: Vec<usize> = segments.iter().filter(|s| s.2 == k).map(|s| s.1 - s.0).collect();
            let days: usize = spells.iter().sum();
            let mean_spell = if spells.is_empty() {
                0.0
            } else {
                days as f64 / spells.len() as f64
            };
            let _ = writeln!(
                out,
                "  regime {k} `{}`: mean {:+.2} bps/day, vol {:.2} %/day, corr {:.2} in / {:.2} across sectors; {days} days in {} spells (mean {mean_spell:.0} days)",
                spec.label,
                spec.daily_mean * 1e4,
                spec.daily_vol * 100.0,
                spec.intra_sector_corr,
                spec.cross_sector_corr,
                spells.len()
            );
        }
        out
    }
}
