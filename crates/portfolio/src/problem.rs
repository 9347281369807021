//! Problem data: expected returns, risk model, current weights, sectors, costs, bounds.

use ndarray::{Array1, Array2};
use prudentia_core::error::CoreError;
use prudentia_core::validate::{
    check_finite, check_finite_2d, check_len, check_shape, check_size, check_square, check_symmetric, MAX_DIM,
};
use serde::{Deserialize, Serialize};

use crate::error::PortfolioError;

/// A covariance model of asset returns over the decision horizon.
///
/// Deserialization checks the model on its own ([`CovarianceModel::validate`]: square,
/// consistent shapes, finite, symmetric, specific variances `>= 0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum CovarianceModel {
    /// A full n × n covariance Σ.
    Full(Array2<f64>),
    /// A factor model Σ = B F Bᵀ + diag(d): loadings B (n × k), factor covariance F (k × k),
    /// specific variances d (n, ≥ 0). Solved as y = Bᵀw with risk yᵀFy + Σ dᵢwᵢ², which keeps
    /// the problem sparse.
    Factor {
        /// Loadings B (n × k).
        loadings: Array2<f64>,
        /// Factor covariance F (k × k).
        factor_covariance: Array2<f64>,
        /// Specific (idiosyncratic) variances d (n).
        specific: Array1<f64>,
    },
}

impl CovarianceModel {
    /// The number of assets the model covers (rows of Σ or of the loadings).
    pub fn n_assets(&self) -> usize {
        match self {
            CovarianceModel::Full(s) => s.nrows(),
            CovarianceModel::Factor { loadings, .. } => loadings.nrows(),
        }
    }

    /// Checks the model on its own: square and finite, symmetric to 1e-10; for a factor
    /// model, loadings `n × k` for a `k × k` factor covariance and `n` specific variances
    /// `>= 0`. Returns `n`.
    pub fn validate(&self) -> Result<usize, PortfolioError> {
        match self {
            CovarianceModel::Full(c) => {
                let n = check_square("covariance", c.view())?;
                check_finite_2d("covariance", c.view())?;
                check_symmetric("covariance", c.view(), 1e-10)?;
                Ok(n)
            }
            CovarianceModel::Factor {
                loadings,
                factor_covariance,
                specific,
            } => {
                let n = loadings.nrows();
                let k = check_square("factor_covariance", factor_covariance.view())?;
                check_shape("loadings", &[n, k], &[loadings.nrows(), loadings.ncols()])?;
                check_shape("specific", &[n], &[specific.len()])?;
                check_finite_2d("loadings", loadings.view())?;
                check_finite_2d("factor_covariance", factor_covariance.view())?;
                check_symmetric("factor_covariance", factor_covariance.view(), 1e-10)?;
                prudentia_core::validate::check_finite_1d("specific", specific.view())?;
                if let Some(&d) = specific.iter().find(|d| **d < 0.0) {
                    return Err(CoreError::OutOfRange {
                        field: "specific",
                        value: d,
                        expected: ">= 0",
                    }
                    .into());
                }
                Ok(n)
            }
        }
    }

    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate().map(|_| ())
    }

    /// wᵀΣw.
    ///
    /// Errors: `w` whose length is not the model's number of assets, a model with
    /// inconsistent shapes ([`CoreError::ShapeMismatch`]), or a variance that is not
    /// representable ([`PortfolioError::Overflow`]).
    pub fn variance(&self, w: &[f64]) -> Result<f64, PortfolioError> {
        let n = self.n_assets();
        check_shape("weights", &[n], &[w.len()])?;
        if let CovarianceModel::Factor {
            loadings,
            factor_covariance,
            specific,
        } = self
        {
            let k = factor_covariance.nrows();
            check_shape("factor_covariance", &[k, k], &[k, factor_covariance.ncols()])?;
            check_shape("loadings", &[n, k], &[loadings.nrows(), loadings.ncols()])?;
            check_shape("specific", &[n], &[specific.len()])?;
        } else if let CovarianceModel::Full(s) = self {
            check_shape("covariance", &[n, n], &[s.nrows(), s.ncols()])?;
        }
        let v = self.variance_unchecked(w);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(PortfolioError::Overflow { quantity: "wᵀΣw" })
        }
    }

    /// wᵀΣw for a model and weights whose shapes were checked (may be non-finite).
    pub(crate) fn variance_unchecked(&self, w: &[f64]) -> f64 {
        match self {
            CovarianceModel::Full(s) => {
                let n = w.len();
                let mut v = 0.0;
                for i in 0..n {
                    let mut r = 0.0;
                    for j in 0..n {
                        r += s[[i, j]] * w[j];
                    }
                    v += w[i] * r;
                }
                v
            }
            CovarianceModel::Factor {
                loadings,
                factor_covariance,
                specific,
            } => {
                let k = factor_covariance.nrows();
                let y: Vec<f64> = (0..k)
                    .map(|j| (0..w.len()).map(|i| loadings[[i, j]] * w[i]).sum())
                    .collect();
                let mut v: f64 = (0..w.len()).map(|i| specific[i] * w[i] * w[i]).sum();
                for a in 0..k {
                    for b in 0..k {
                        v += y[a] * factor_covariance[[a, b]] * y[b];
                    }
                }
                v
            }
        }
    }
}

prudentia_core::checked_serde!(CovarianceModel, CovarianceModel::check);

/// The data of one portfolio decision over `n` assets.
///
/// Build with [`PortfolioProblem::new`] and the `with_*` methods; the optimizer validates the
/// shapes and values when it solves (typed [`PortfolioError`]s, never panics), and so does
/// deserialization ([`PortfolioProblem::validate`]). At most `MAX_DIM` (65,536) assets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PortfolioProblem {
    /// Expected returns μ over the horizon (n).
    pub expected_returns: Vec<f64>,
    /// Covariance model (needed by the variance objectives).
    pub covariance: Option<CovarianceModel>,
    /// Return scenarios, T × n, one row per scenario, equally likely (needed for CVaR).
    pub scenarios: Option<Array2<f64>>,
    /// Current weights w₀ (n; default zeros), the reference of turnover and costs.
    pub current: Vec<f64>,
    /// Sector label per asset (n, `None` = no sector) or empty for no sectors.
    pub sectors: Vec<Option<String>>,
    /// Name of each asset (n) or empty: binding limits and infeasibility culprits name
    /// assets by it (by index when empty). The [`Optimizer`](prudentia_core::traits::Optimizer)
    /// role fills it with the asset ids.
    #[serde(default)]
    pub asset_names: Vec<String>,
    /// Linear transaction cost per unit of traded weight, per asset (n, ≥ 0), or empty for none.
    pub costs: Vec<f64>,
    /// Per-name bounds (lower, upper), each n long, overriding the config's scalar bounds;
    /// `None` uses `limits.weight_min` / `limits.weight_max` for every name.
    pub bounds: Option<(Vec<f64>, Vec<f64>)>,
}

impl PortfolioProblem {
    /// A problem over `expected_returns.len()` assets, starting from zero weights.
    pub fn new(expected_returns: Vec<f64>) -> Self {
        let n = expected_returns.len();
        Self {
            expected_returns,
            covariance: None,
            scenarios: None,
            current: vec![0.0; n],
            sectors: Vec::new(),
            asset_names: Vec::new(),
            costs: Vec::new(),
            bounds: None,
        }
    }
    /// Sets a full covariance matrix.
    pub fn with_covariance(mut self, covariance: Array2<f64>) -> Self {
        self.covariance = Some(CovarianceModel::Full(covariance));
        self
    }
    /// Sets a factor covariance Σ = B F Bᵀ + diag(d).
    pub fn with_factor_covariance(
        mut self,
        loadings: Array2<f64>,
        factor_covariance: Array2<f64>,
        specific: Array1<f64>,
    ) -> Self {
        self.covariance = Some(CovarianceModel::Factor {
            loadings,
            factor_covariance,
            specific,
        });
        self
    }
    /// Sets the return scenarios (T × n).
    pub fn with_scenarios(mut self, scenarios: Array2<f64>) -> Self {
        self.scenarios = Some(scenarios);
        self
    }
    /// Sets the current weights.
    pub fn with_current(mut self, current: Vec<f64>) -> Self {
        self.current = current;
        self
    }
    /// Sets one sector label per asset.
    pub fn with_sectors<S: Into<String>>(mut self, sectors: impl IntoIterator<Item = S>) -> Self {
        self.sectors = sectors.into_iter().map(|s| Some(s.into())).collect();
        self
    }
    /// Sets the asset names (used in binding-limit and infeasibility reports).
    pub fn with_asset_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.asset_names = names.into_iter().map(Into::into).collect();
        self
    }
    /// Sets linear costs per unit traded (e.g. 0.001 = 10 bps).
    pub fn with_costs(mut self, costs: Vec<f64>) -> Self {
        self.costs = costs;
        self
    }
    /// Sets per-name bounds.
    pub fn with_bounds(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Self {
        self.bounds = Some((lower, upper));
        self
    }
    /// Number of assets.
    pub fn n_assets(&self) -> usize {
        self.expected_returns.len()
    }

    /// Checks shapes and values (everything except positive semi-definiteness, which the
    /// optimizer handles per its [`crate::PsdPolicy`]).
    pub fn validate(&self) -> Result<(), PortfolioError> {
        let n = self.n_assets();
        check_len("expected_returns", n, 1)?;
        check_size("assets", n, MAX_DIM)?;
        check_finite("expected_returns", &self.expected_returns)?;
        check_shape("current", &[n], &[self.current.len()])?;
        check_finite("current", &self.current)?;
        if !self.sectors.is_empty() {
            check_shape("sectors", &[n], &[self.sectors.len()])?;
        }
        if !self.asset_names.is_empty() {
            check_shape("asset_names", &[n], &[self.asset_names.len()])?;
        }
        if !self.costs.is_empty() {
            check_shape("costs", &[n], &[self.costs.len()])?;
            check_finite("costs", &self.costs)?;
            if let Some((i, &c)) = self.costs.iter().enumerate().find(|(_, c)| **c < 0.0) {
                let _ = i;
                return Err(CoreError::OutOfRange {
                    field: "costs",
                    value: c,
                    expected: ">= 0",
                }
                .into());
            }
        }
        if let Some((lo, hi)) = &self.bounds {
            check_shape("bounds.lower", &[n], &[lo.len()])?;
            check_shape("bounds.upper", &[n], &[hi.len()])?;
            if let Some(i) = lo.iter().position(|v| v.is_nan() || *v == f64::INFINITY) {
                return Err(CoreError::NonFinite {
                    field: "bounds.lower",
                    index: i,
                    value: lo[i],
                }
                .into());
            }
            if let Some(i) = hi.iter().position(|v| v.is_nan() || *v == f64::NEG_INFINITY) {
                return Err(CoreError::NonFinite {
                    field: "bounds.upper",
                    index: i,
                    value: hi[i],
                }
                .into());
            }
        }
        if let Some(s) = &self.scenarios {
            let (t, m) = s.dim();
            check_len("scenarios", t, 1)?;
            check_shape("scenarios", &[t, n], &[t, m])?;
            check_finite_2d("scenarios", s.view())?;
        }
        if let Some(c) = &self.covariance {
            let m = c.validate()?;
            match c {
                CovarianceModel::Full(_) => check_shape("covariance", &[n, n], &[m, m])?,
                CovarianceModel::Factor { .. } => check_shape("loadings", &[n], &[m])?,
            }
        }
        Ok(())
    }
}

impl PortfolioProblem {
    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(PortfolioProblem, PortfolioProblem::check);
