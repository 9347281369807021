//! The validated selection problem: returns, correlations, slate size, penalty and constraints.

use std::collections::BTreeMap;

use ndarray::ArrayView2;
use prudentia_core::estimators::{nearest_correlation, NearestCorrelationConfig, PsdCorrelation};
use prudentia_core::linalg::{cholesky, symmetric_eigen};
use prudentia_core::validate::{
    check_elements, check_finite, check_len, check_non_negative, check_shape, MAX_ELEMENTS,
};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::SelectionError;
use crate::matrix;

/// The largest magnitude accepted for an expected return `|μ_i|`, the penalty λ and the
/// minimum expected return (1e100): every objective, bound and gap of a problem within it
/// is a finite number.
pub const MAX_MAGNITUDE: f64 = 1e100;

fn check_magnitude(field: &'static str, v: f64) -> Result<(), SelectionError> {
    if v.is_finite() && v.abs() <= MAX_MAGNITUDE {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value: v,
            expected: "finite with magnitude <= 1e100",
        }
        .into())
    }
}

/// What to do with a correlation matrix that is not symmetric, has a diagonal other than one,
/// or is not positive semi-definite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CorrelationPolicy {
    /// Fail with [`CoreError::NotSymmetric`], [`CoreError::NotPositiveSemiDefinite`] or
    /// [`CoreError::OutOfRange`] (diagonal or an entry outside [−1, 1]).
    Reject,
    /// Symmetrize `(A + Aᵀ)/2` if needed, then project onto the nearest correlation matrix
    /// (Higham 2002, via [`prudentia_core::estimators::nearest_correlation`]); what changed is
    /// recorded in the [`CorrelationReport`].
    Repair(NearestCorrelationConfig),
}

impl Default for CorrelationPolicy {
    fn default() -> Self {
        CorrelationPolicy::Repair(NearestCorrelationConfig::default())
    }
}

/// How the correlation matrix is checked before selection. Deserialization runs
/// [`validate`](Self::validate).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct CorrelationConfig {
    /// Reject or repair a bad matrix. Default: repair with the default Higham settings.
    pub policy: CorrelationPolicy,
    /// Largest tolerated `|ρ_ij − ρ_ji|` (absolute). Default 1e-9, range ≥ 0.
    pub symmetry_tolerance: f64,
    /// Smallest tolerated eigenvalue is `−psd_tolerance`. Default 1e-9, range ≥ 0.
    pub psd_tolerance: f64,
    /// Whether to check positive semi-definiteness: a Cholesky factorization of
    /// `ρ + psd_tolerance·I`, and an eigendecomposition only when that fails (both O(n³)).
    /// Default true; turn off for very large n when the matrix comes from an estimator that
    /// guarantees it (sample, Ledoit–Wolf, rolling correlation).
    pub check_psd: bool,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            policy: CorrelationPolicy::default(),
            symmetry_tolerance: 1e-9,
            psd_tolerance: 1e-9,
            check_psd: true,
        }
    }
}

prudentia_core::checked_serde!(CorrelationConfig, CorrelationConfig::check);

impl CorrelationConfig {
    fn check(&mut self) -> Result<(), SelectionError> {
        self.validate()
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), SelectionError> {
        check_non_negative("symmetry_tolerance", self.symmetry_tolerance)?;
        check_non_negative("psd_tolerance", self.psd_tolerance)?;
        if let CorrelationPolicy::Repair(c) = &self.policy {
            c.validate()?;
        }
        Ok(())
    }
}

/// What the correlation check found and, under [`CorrelationPolicy::Repair`], what it did.
///
/// Deserialization checks every number finite and ≥ 0 (the eigenvalue finite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(remote = "Self")]
pub struct CorrelationReport {
    /// Largest `|ρ_ij − ρ_ji|` of the input.
    pub max_asymmetry: f64,
    /// Largest `|ρ_ii − 1|` of the input.
    pub max_diagonal_error: f64,
    /// Smallest eigenvalue of the (symmetrized) input, when the PSD check computed it: a
    /// Cholesky factorization of `ρ + psd_tolerance·I` is tried first, and when it succeeds
    /// the matrix is PSD within tolerance and this stays `None`.
    pub min_eigenvalue: Option<f64>,
    /// Whether the matrix used differs from the input.
    pub repaired: bool,
    /// Frobenius norm of the change, ‖used − input‖_F (0 when not repaired).
    pub frobenius_change: f64,
    /// Higham iterations used by the repair (0 when not repaired).
    pub iterations: usize,
}
prudentia_core::checked_serde!(CorrelationReport, CorrelationReport::check);

impl CorrelationReport {
    fn check(&mut self) -> Result<(), SelectionError> {
        check_non_negative("max_asymmetry", self.max_asymmetry)?;
        check_non_negative("max_diagonal_error", self.max_diagonal_error)?;
        check_non_negative("frobenius_change", self.frobenius_change)?;
        if let Some(m) = self.min_eigenvalue {
            check_finite("min_eigenvalue", &[m])?;
        }
        Ok(())
    }
}

/// Constraints on the slate besides its size. Deserialization checks the minimum expected
/// return (finite, `|R| ≤` [`MAX_MAGNITUDE`]); the rest depends on the data and is checked by
/// [`SelectionProblem::new`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Constraints {
    /// Sector of each item (length n), or empty when no item has a sector. Items with `None`
    /// are in no sector and never capped.
    pub sectors: Vec<Option<String>>,
    /// Cap on the number of selected items per sector, for every sector not listed in
    /// `sector_caps`. Default `None` (no cap).
    pub max_per_sector: Option<usize>,
    /// Per-sector caps overriding `max_per_sector`.
    pub sector_caps: BTreeMap<String, usize>,
    /// Items (indices) that must be in the slate.
    pub must_include: Vec<usize>,
    /// Items (indices) that must not be in the slate.
    pub must_exclude: Vec<usize>,
    /// Minimum total expected return `Σ μ_i x_i` of the slate (same units as μ). Default none.
    pub min_expected_return: Option<f64>,
}
prudentia_core::checked_serde!(Constraints, Constraints::check);

impl Constraints {
    fn check(&mut self) -> Result<(), SelectionError> {
        if let Some(r) = self.min_expected_return {
            check_magnitude("min_expected_return", r)?;
        }
        Ok(())
    }
}

/// The units in which the return term and the correlation penalty meet.
///
/// Under [`Standardized`](Self::Standardized) (the default) the objective is
///
/// ```text
/// Σ_i μ_i x_i / s  −  λ/(K − 1) · Σ_{i<j} ρ_ij x_i x_j,     s = cross-sectional dispersion of μ
/// ```
///
/// so λ is unit-free and does not depend on K: a candidate joining the other K − 1 members of
/// a slate pays `λ · ρ̄` cross-sectional standard deviations of μ, where ρ̄ is its average
/// correlation with them. The same λ then serves daily or annual returns, percent or
/// fractions, risk-adjusted scores, equities or futures: multiplying every μ by a constant
/// c > 0 leaves the slate unchanged. **Rule for the default λ = 1:** one standard deviation
/// of μ across the candidates buys one unit of average correlation (a candidate whose average
/// correlation with the slate is 0.5 needs an expected return half a standard deviation
/// higher than an uncorrelated one to be preferred).
///
/// Under [`Raw`](Self::Raw) (the behaviour before this option existed) the objective is
/// `Σ μ_i x_i − λ Σ_{i<j} ρ_ij x_i x_j` and λ is in the units of μ.
///
/// Either way the problem keeps μ in its own units and folds the scaling into the penalty
/// ([`SelectionProblem::lambda`] is the λ in units of μ, λ · s/(K − 1) when standardized),
/// so objectives, expected returns, the minimum expected return and the explanations stay in
/// the units of μ; the argmax is the same as with standardized μ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReturnScale {
    /// μ divided by its cross-sectional dispersion `s` and the pair penalty by
    /// `max(K − 1, 1)`. `s` is the population standard deviation of the n expected returns;
    /// when every μ is equal it is their mean absolute value, and 1 when they are all zero
    /// (the return term cannot tell candidates apart then, and any positive penalty gives the
    /// same slate). Default.
    #[default]
    Standardized,
    /// μ and λ as given: λ in the units of μ, per pair.
    Raw,
}

/// Size, penalty and correlation handling of a selection problem. Deserialization runs
/// [`validate`](Self::validate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct ProblemConfig {
    /// Slate size K, `1 ≤ K ≤ n`. Default 10.
    pub k: usize,
    /// Correlation penalty λ ≥ 0, at most [`MAX_MAGNITUDE`]. Under the default
    /// [`ReturnScale::Standardized`] it is unit-free (standard deviations of μ per unit of a
    /// candidate's average correlation with the rest of the slate); under
    /// [`ReturnScale::Raw`] it is in the units of μ per unit of pairwise correlation.
    /// Default 1 (see [`ReturnScale`] for the rule).
    pub lambda: f64,
    /// How μ and the penalty are put on one scale. Default [`ReturnScale::Standardized`];
    /// [`ReturnScale::Raw`] reproduces results from before the option existed.
    pub return_scale: ReturnScale,
    /// Correlation checks and repair.
    pub correlation: CorrelationConfig,
}

impl Default for ProblemConfig {
    fn default() -> Self {
        Self {
            k: 10,
            lambda: 1.0,
            return_scale: ReturnScale::Standardized,
            correlation: CorrelationConfig::default(),
        }
    }
}

prudentia_core::checked_serde!(ProblemConfig, ProblemConfig::check);

impl ProblemConfig {
    fn check(&mut self) -> Result<(), SelectionError> {
        self.validate()
    }

    /// Checks the fields that do not depend on the data.
    pub fn validate(&self) -> Result<(), SelectionError> {
        if self.k == 0 {
            return Err(SelectionError::ZeroK);
        }
        check_lambda(self.lambda)?;
        self.correlation.validate()
    }
}

/// The factor that turns the configured λ into the λ in units of μ: 1 under
/// [`ReturnScale::Raw`], `s / max(K − 1, 1)` under [`ReturnScale::Standardized`] (see there
/// for `s`). Always finite and > 0 for μ within [`MAX_MAGNITUDE`].
pub(crate) fn penalty_scale(mu: &[f64], k: usize, scale: ReturnScale) -> f64 {
    match scale {
        ReturnScale::Raw => 1.0,
        ReturnScale::Standardized => {
            let n = mu.len().max(1) as f64;
            // Scaled by the largest |μ| so that squares cannot overflow (|μ| ≤ 1e100).
            let m = mu.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
            let s = if m > 0.0 {
                let mean = mu.iter().map(|v| v / m).sum::<f64>() / n;
                let var = mu.iter().map(|v| (v / m - mean).powi(2)).sum::<f64>() / n;
                let sd = var.sqrt() * m;
                if sd > 0.0 && sd.is_finite() {
                    sd
                } else {
                    (mean.abs() * m).max(f64::MIN_POSITIVE)
                }
            } else {
                1.0
            };
            (s / (k.saturating_sub(1).max(1) as f64)).max(f64::MIN_POSITIVE)
        }
    }
}

fn check_lambda(lambda: f64) -> Result<(), SelectionError> {
    check_non_negative("lambda", lambda)?;
    check_magnitude("lambda", lambda)
}

pub(crate) const NO_SECTOR: usize = usize::MAX;

/// A validated instance of
///
/// ```text
/// maximize   f(x) = Σ_i μ_i x_i − λ Σ_{i<j} ρ_ij x_i x_j
/// subject to Σ_i x_i = K,  x ∈ {0,1}ⁿ,
///            Σ_{i ∈ sector s} x_i ≤ cap_s,  x_i = 1 (must include),  x_i = 0 (must exclude),
///            Σ_i μ_i x_i ≥ R (minimum expected return).
/// ```
///
/// **Convention:** each pair is penalized once (`i < j`) and the diagonal is left out. The
/// full quadratic form `Σ_{i,j} ρ_ij x_i x_j` of the original specification equals
/// `K + 2 Σ_{i<j} ρ_ij x_i x_j` for binary x with a unit diagonal, so its optimum is ours with
/// λ doubled (the constant `λK` does not move the argmax).
///
/// Deserialization re-checks every invariant [`new`](Self::new) established (sizes,
/// indices, a symmetric unit-diagonal correlation with entries in [−1, 1], consistent
/// membership, feasible sector caps), so a tampered checkpoint is a load error, never a
/// panic in a solver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct SelectionProblem {
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) lambda: f64,
    pub(crate) mu: Vec<f64>,
    /// Row-major n × n, symmetric, unit diagonal.
    pub(crate) rho: Vec<f64>,
    /// Sector index of each item, `NO_SECTOR` for none.
    pub(crate) sector: Vec<usize>,
    pub(crate) sector_names: Vec<String>,
    /// Cap per sector index (`usize::MAX` = none).
    pub(crate) sector_cap: Vec<usize>,
    pub(crate) must_include: Vec<usize>,
    pub(crate) excluded: Vec<bool>,
    pub(crate) included: Vec<bool>,
    pub(crate) min_return: Option<f64>,
    pub(crate) report: CorrelationReport,
    /// The configured λ is `lambda / penalty_scale` (1 under `ReturnScale::Raw`; absent in
    /// checkpoints from before the option, which were raw).
    #[serde(default = "one")]
    pub(crate) penalty_scale: f64,
}
prudentia_core::checked_serde!(SelectionProblem, SelectionProblem::check);

fn one() -> f64 {
    1.0
}

/// Checks (and under [`CorrelationPolicy::Repair`] repairs) a correlation matrix. With
/// `proven_psd` (the matrix came as a [`PsdCorrelation`], PSD and symmetric by its
/// producer's construction) the O(n³) positive semi-definiteness check and the O(n²)
/// symmetry comparison are skipped; everything else is checked.
///
/// Cost for a certified matrix that needs nothing (the pipeline's rolling correlation): one
/// pass that copies and checks it (issue #18); the symmetrizing, clamping and PSD passes run
/// only when they would change something or were asked for.
fn check_correlation(
    rho: ArrayView2<'_, f64>,
    cfg: &CorrelationConfig,
    proven_psd: bool,
) -> Result<(Vec<f64>, CorrelationReport), SelectionError> {
    let n = rho.nrows();
    // One row-major copy, made by the pass that measures its rows; every pass below reads
    // contiguous slices or cache-sized tiles (the matrix of a large slate does not fit in the first
    // cache levels, and indexed ndarray access is slower).
    let (mut sym, scan) = match rho.as_slice() {
        Some(src) => matrix::copy_rows(src, n),
        None => {
            let sym: Vec<f64> = rho.iter().copied().collect();
            let scan = matrix::scan_rows(&sym, n);
            (sym, scan)
        }
    };
    if !scan.finite {
        // names the first non-finite entry in row-major order
        check_finite("correlation", &sym)?;
    }
    // A certified matrix is symmetric by construction (its producer writes each mirrored
    // pair from one number), so its O(n²) transposed comparison, a cache-missing walk of
    // both triangles, is not repeated in release builds; the rest of its check is fused with
    // the copy and costs next to nothing.
    let asymmetric_bits = if proven_psd {
        debug_assert!(
            !matrix::asymmetric_bits(&sym, n),
            "a certified correlation matrix is symmetric"
        );
        false
    } else {
        matrix::asymmetric_bits(&sym, n)
    };
    let max_asymmetry = if asymmetric_bits {
        matrix::max_asymmetry(&sym, n)
    } else {
        0.0
    };
    let mut report = CorrelationReport {
        max_asymmetry,
        max_diagonal_error: scan.max_diagonal_error,
        ..Default::default()
    };
    let asym = max_asymmetry > cfg.symmetry_tolerance;
    let bad_diag = scan.max_diagonal_error > 1e-12;
    let bad_entry = scan.max_offdiag_abs > 1.0 + 1e-12;
    if cfg.policy == CorrelationPolicy::Reject {
        reject_bad_correlation(rho, &sym, &scan, max_asymmetry, cfg)?;
    }
    // exact symmetry (averaging also removes rounding-level asymmetry; a matrix equal to its
    // transpose bit for bit is left as it is, which is what averaging would give)
    if asymmetric_bits {
        matrix::symmetrize(&mut sym, n);
    }
    let not_psd = check_psd(&sym, n, cfg, proven_psd, &mut report)?;
    if let CorrelationPolicy::Repair(hc) = cfg.policy {
        if asym || bad_diag || bad_entry || not_psd {
            sym = repair_correlation(rho, &sym, n, &hc, &mut report)?;
        }
    }
    // The diagonal is exactly one (an input within 1e-12 of it is accepted as is), and a
    // repair stopped at its iteration limit may leave an entry just outside [−1, 1]: clamp,
    // so the problem's own state always passes its load check. (The symmetrized mean of two
    // entries in [−1, 1] is in [−1, 1]: with neither a repair, an entry above 1 nor a
    // diagonal other than 1 there is nothing to clamp.)
    if report.repaired || scan.max_offdiag_abs > 1.0 || scan.max_diagonal_error != 0.0 {
        matrix::clamp_unit_diagonal(&mut sym, n);
    }
    Ok((sym, report))
}

/// Under [`CorrelationPolicy::Reject`]: the asymmetry, diagonal and range errors, in that
/// order, naming the worst pair (the first in row-major order among equals), the worst
/// diagonal entry and the largest entry.
fn reject_bad_correlation(
    rho: ArrayView2<'_, f64>,
    sym: &[f64],
    scan: &matrix::RowScan,
    max_asymmetry: f64,
    cfg: &CorrelationConfig,
) -> Result<(), SelectionError> {
    let n = rho.nrows();
    if max_asymmetry > cfg.symmetry_tolerance {
        let (row, col) = matrix::first_asymmetric_pair(sym, n, max_asymmetry).unwrap_or((0, 0));
        return Err(CoreError::NotSymmetric {
            field: "correlation",
            row,
            col,
            diff: max_asymmetry,
        }
        .into());
    }
    if scan.max_diagonal_error > 1e-12 {
        let i = (0..n)
            .max_by(|&a, &b| (rho[[a, a]] - 1.0).abs().total_cmp(&(rho[[b, b]] - 1.0).abs()))
            .unwrap_or(0);
        return Err(CoreError::OutOfRange {
            field: "correlation diagonal",
            value: rho[[i, i]],
            expected: "equal to 1",
        }
        .into());
    }
    if scan.max_offdiag_abs > 1.0 + 1e-12 {
        return Err(CoreError::OutOfRange {
            field: "correlation",
            value: matrix::first_offdiag_with_abs(sym, n, scan.max_offdiag_abs)
                .unwrap_or(scan.max_offdiag_abs),
            expected: "in [-1, 1]",
        }
        .into());
    }
    Ok(())
}

/// The positive semi-definiteness check of [`CorrelationConfig::check_psd`] on the
/// symmetrized matrix, unless `proven_psd`: whether it failed (an error under
/// [`CorrelationPolicy::Reject`]); the smallest eigenvalue goes into the report when computed.
fn check_psd(
    sym: &[f64],
    n: usize,
    cfg: &CorrelationConfig,
    proven_psd: bool,
    report: &mut CorrelationReport,
) -> Result<bool, SelectionError> {
    if !cfg.check_psd || proven_psd || n <= 1 {
        return Ok(false);
    }
    // Fast path: a Cholesky factorization of ρ + tol·I (n³/3 flops, about 20× cheaper than
    // the eigendecomposition at n = 500) proves λ_min ≥ −tol; the spectrum is computed only
    // when it fails.
    let mut shifted = sym.to_vec();
    for i in 0..n {
        shifted[i * n + i] += cfg.psd_tolerance;
    }
    if ArrayView2::from_shape((n, n), &shifted)
        .ok()
        .is_some_and(|v| cholesky(v).is_ok())
    {
        return Ok(false);
    }
    let (vals, _) = symmetric_eigen(square_view(sym, n)?)?;
    let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
    report.min_eigenvalue = Some(min);
    let not_psd = min < -cfg.psd_tolerance;
    if not_psd && cfg.policy == CorrelationPolicy::Reject {
        return Err(CoreError::NotPositiveSemiDefinite {
            field: "correlation",
            min_eigenvalue: min,
        }
        .into());
    }
    Ok(not_psd)
}

/// Higham's nearest correlation matrix to the symmetrized `sym`, with what changed against
/// the input `rho` recorded in the report.
fn repair_correlation(
    rho: ArrayView2<'_, f64>,
    sym: &[f64],
    n: usize,
    hc: &NearestCorrelationConfig,
    report: &mut CorrelationReport,
) -> Result<Vec<f64>, SelectionError> {
    let rep = nearest_correlation(square_view(sym, n)?, hc)?;
    report.repaired = true;
    report.iterations = rep.iterations;
    report.frobenius_change = rep
        .matrix
        .iter()
        .zip(rho.iter())
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    Ok(rep.matrix.iter().copied().collect())
}

/// A row-major n × n slice as a view.
fn square_view(a: &[f64], n: usize) -> Result<ArrayView2<'_, f64>, SelectionError> {
    ArrayView2::from_shape((n, n), a).map_err(|_| {
        CoreError::ShapeMismatch {
            field: "correlation",
            expected: vec![n, n],
            found: vec![a.len()],
        }
        .into()
    })
}

/// The sector index of each item (`NO_SECTOR` for none) and the sector names in order of
/// first appearance, from `sectors` (length n, or empty for no sectors).
fn sector_indices(sectors: &[Option<String>], n: usize) -> Result<(Vec<usize>, Vec<String>), SelectionError> {
    let mut sector = vec![NO_SECTOR; n];
    let mut sector_names: Vec<String> = Vec::new();
    if !sectors.is_empty() {
        check_shape("sectors", &[n], &[sectors.len()])?;
        let mut map: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, s) in sectors.iter().enumerate() {
            if let Some(s) = s {
                let next = map.len();
                let id = *map.entry(s.as_str()).or_insert(next);
                if id == sector_names.len() {
                    sector_names.push(s.clone());
                }
                sector[i] = id;
            }
        }
    }
    Ok((sector, sector_names))
}

/// The cap of each sector: its own entry of `sector_caps`, else `max_per_sector`, else none
/// (`usize::MAX`).
fn sector_caps(sector_names: &[String], constraints: &Constraints) -> Vec<usize> {
    sector_names
        .iter()
        .map(|s| {
            constraints
                .sector_caps
                .get(s)
                .copied()
                .or(constraints.max_per_sector)
                .unwrap_or(usize::MAX)
        })
        .collect()
}

/// Must-include / must-exclude as the problem stores them.
struct Memberships {
    /// Per item: must not be selected.
    excluded: Vec<bool>,
    /// Per item: must be selected.
    included: Vec<bool>,
    /// The required items, ascending and distinct.
    must_include: Vec<usize>,
}

/// The memberships of `constraints`. Errors: an index `≥ n`, an item both required and
/// excluded, more than `k` required items.
fn memberships(constraints: &Constraints, n: usize, k: usize) -> Result<Memberships, SelectionError> {
    let mut excluded = vec![false; n];
    for &i in &constraints.must_exclude {
        if i >= n {
            return Err(SelectionError::IndexOutOfRange {
                field: "must_exclude",
                index: i,
                n,
            });
        }
        excluded[i] = true;
    }
    let mut included = vec![false; n];
    let mut must_include = Vec::new();
    for &i in &constraints.must_include {
        if i >= n {
            return Err(SelectionError::IndexOutOfRange {
                field: "must_include",
                index: i,
                n,
            });
        }
        if excluded[i] {
            return Err(SelectionError::ConflictingMembership { index: i });
        }
        if !included[i] {
            included[i] = true;
            must_include.push(i);
        }
    }
    must_include.sort_unstable();
    if must_include.len() > k {
        return Err(SelectionError::TooManyIncluded {
            count: must_include.len(),
            k,
        });
    }
    Ok(Memberships {
        excluded,
        included,
        must_include,
    })
}

/// Sector feasibility: no sector holds more required items than its cap, and the items not
/// excluded, each sector counted up to its cap, can fill a slate of `k`.
fn check_sector_capacity(
    sector: &[usize],
    sector_names: &[String],
    sector_cap: &[usize],
    excluded: &[bool],
    included: &[bool],
    k: usize,
) -> Result<(), SelectionError> {
    let ns = sector_names.len();
    let mut avail_per_sector = vec![0usize; ns];
    let mut incl_per_sector = vec![0usize; ns];
    let mut capacity = 0usize;
    for ((&s, &out), &inc) in sector.iter().zip(excluded).zip(included) {
        if out {
            continue;
        }
        if s == NO_SECTOR {
            capacity += 1;
        } else {
            avail_per_sector[s] += 1;
            incl_per_sector[s] += usize::from(inc);
        }
    }
    for s in 0..ns {
        if incl_per_sector[s] > sector_cap[s] {
            return Err(SelectionError::IncludedExceedSectorCap {
                sector: sector_names[s].clone(),
                count: incl_per_sector[s],
                cap: sector_cap[s],
            });
        }
        capacity += avail_per_sector[s].min(sector_cap[s]);
    }
    if capacity < k {
        return Err(SelectionError::InfeasibleSectorCaps { capacity, k });
    }
    Ok(())
}

/// The minimum expected return `r` within [`MAX_MAGNITUDE`] and reachable ignoring sector
/// caps: the required items plus the best others.
fn check_min_return_reachable(
    mu: &[f64],
    excluded: &[bool],
    included: &[bool],
    must_include: &[usize],
    k: usize,
    r: f64,
) -> Result<(), SelectionError> {
    check_magnitude("min_expected_return", r)?;
    let mut others: Vec<f64> = (0..mu.len())
        .filter(|&i| !excluded[i] && !included[i])
        .map(|i| mu[i])
        .collect();
    others.sort_unstable_by(|a, b| b.total_cmp(a));
    let achievable: f64 = must_include.iter().map(|&i| mu[i]).sum::<f64>()
        + others.iter().take(k - must_include.len()).sum::<f64>();
    if achievable < r - 1e-12 * r.abs().max(1.0) {
        return Err(SelectionError::InfeasibleMinReturn {
            required: r,
            achievable,
        });
    }
    Ok(())
}

impl SelectionProblem {
    /// Validates the data and constraints into a problem.
    ///
    /// `mu` (length n ≥ 1, finite) are expected returns, `correlation` is n × n. Errors: empty
    /// or non-finite μ, `k = 0`, `k > n`, a bad correlation under
    /// [`CorrelationPolicy::Reject`], bad indices, conflicting or too many required items,
    /// sector caps that cannot hold K items, or an unreachable minimum return.
    pub fn new(
        mu: &[f64],
        correlation: ArrayView2<'_, f64>,
        config: &ProblemConfig,
        constraints: &Constraints,
    ) -> Result<Self, SelectionError> {
        Self::build(mu, correlation, false, config, constraints)
    }

    /// [`new`](Self::new) for a correlation matrix its producer proved positive
    /// semi-definite ([`PsdCorrelation`], e.g. from
    /// [`RollingCorrelation::correlation_of_psd`](prudentia_core::estimators::RollingCorrelation::correlation_of_psd)):
    /// the O(n³) check of [`CorrelationConfig::check_psd`] is skipped, and so is the O(n²)
    /// comparison of the matrix with its transpose (the certificate's producer writes every
    /// mirrored pair from one number; debug builds still compare). The unit diagonal, entries
    /// in [−1, 1] and finiteness are checked as by `new`, in the pass that copies the matrix.
    /// The same problem as `new` gives for that matrix.
    pub fn new_psd(
        mu: &[f64],
        correlation: &PsdCorrelation,
        config: &ProblemConfig,
        constraints: &Constraints,
    ) -> Result<Self, SelectionError> {
        Self::build(mu, correlation.view(), true, config, constraints)
    }

    fn build(
        mu: &[f64],
        correlation: ArrayView2<'_, f64>,
        proven_psd: bool,
        config: &ProblemConfig,
        constraints: &Constraints,
    ) -> Result<Self, SelectionError> {
        config.validate()?;
        check_len("mu", mu.len(), 1)?;
        check_finite("mu", mu)?;
        for &m in mu {
            check_magnitude("mu", m)?;
        }
        let n = mu.len();
        let k = config.k;
        if k > n {
            return Err(SelectionError::KExceedsN { k, n });
        }
        check_shape("correlation", &[n, n], correlation.shape())?;
        let (rho, report) = check_correlation(correlation, &config.correlation, proven_psd)?;
        let (sector, sector_names) = sector_indices(&constraints.sectors, n)?;
        let sector_cap = sector_caps(&sector_names, constraints);
        let Memberships {
            excluded,
            included,
            must_include,
        } = memberships(constraints, n, k)?;
        check_sector_capacity(&sector, &sector_names, &sector_cap, &excluded, &included, k)?;
        let min_return = constraints.min_expected_return;
        if let Some(r) = min_return {
            check_min_return_reachable(mu, &excluded, &included, &must_include, k, r)?;
        }
        let penalty_scale = penalty_scale(mu, k, config.return_scale);
        let lambda = config.lambda * penalty_scale;
        check_magnitude("lambda (in units of mu: lambda × return scale)", lambda)?;
        Ok(Self {
            n,
            k,
            lambda,
            mu: mu.to_vec(),
            rho,
            sector,
            sector_names,
            sector_cap,
            must_include,
            excluded,
            included,
            min_return,
            report,
            penalty_scale,
        })
    }

    /// Number of items n.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Slate size K.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Penalty λ in the units of μ, as it enters the objective
    /// `Σ μ_i − λ Σ_{i<j} ρ_ij`: the configured λ times [`penalty_scale`](Self::penalty_scale).
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The factor between the configured λ and [`lambda`](Self::lambda): 1 under
    /// [`ReturnScale::Raw`], `s / max(K − 1, 1)` under [`ReturnScale::Standardized`] with `s`
    /// the cross-sectional dispersion of μ.
    pub fn penalty_scale(&self) -> f64 {
        self.penalty_scale
    }

    /// Expected returns μ.
    pub fn mu(&self) -> &[f64] {
        &self.mu
    }

    /// The correlation actually used (after any repair), row-major n × n.
    pub fn correlation(&self) -> &[f64] {
        &self.rho
    }

    /// `ρ_ij` as used; `None` if `i` or `j` is not below `n`.
    #[inline]
    pub fn rho(&self, i: usize, j: usize) -> Option<f64> {
        if i < self.n && j < self.n {
            self.rho.get(i * self.n + j).copied()
        } else {
            None
        }
    }

    /// `ρ_ij` for indices the caller has checked.
    #[inline]
    pub(crate) fn rho_at(&self, i: usize, j: usize) -> f64 {
        self.rho[i * self.n + j]
    }

    /// Fails with [`SelectionError::IndexOutOfRange`] (field `set`) for an index `≥ n`.
    pub(crate) fn check_indices(&self, set: &[usize]) -> Result<(), SelectionError> {
        match set.iter().find(|&&i| i >= self.n) {
            Some(&index) => Err(SelectionError::IndexOutOfRange {
                field: "set",
                index,
                n: self.n,
            }),
            None => Ok(()),
        }
    }

    /// What the correlation check found and did.
    pub fn correlation_report(&self) -> &CorrelationReport {
        &self.report
    }

    /// Sector name of item `i`, if any.
    pub fn sector_of(&self, i: usize) -> Option<&str> {
        match self.sector.get(i) {
            Some(&s) if s != NO_SECTOR => Some(self.sector_names[s].as_str()),
            _ => None,
        }
    }

    /// Same problem with another configured λ (in the problem's [`ReturnScale`]: multiplied
    /// by [`penalty_scale`](Self::penalty_scale)); the correlation checks are not repeated.
    pub fn with_lambda(&self, lambda: f64) -> Result<Self, SelectionError> {
        check_lambda(lambda)?;
        let effective = lambda * self.penalty_scale;
        check_magnitude("lambda (in units of mu: lambda × return scale)", effective)?;
        let mut p = self.clone();
        p.lambda = effective;
        Ok(p)
    }

    /// Objective `Σ μ_i − λ Σ_{i<j} ρ_ij` of a set of distinct indices (no feasibility check;
    /// a repeated index counts as often as it appears).
    ///
    /// # Errors
    /// [`SelectionError::IndexOutOfRange`] (field `set`) for an index `≥ n`.
    pub fn objective(&self, set: &[usize]) -> Result<f64, SelectionError> {
        self.check_indices(set)?;
        Ok(self.objective_unchecked(set))
    }

    /// [`objective`](Self::objective) of a set whose indices are known to be in range.
    pub(crate) fn objective_unchecked(&self, set: &[usize]) -> f64 {
        let mut f = 0.0;
        for (a, &i) in set.iter().enumerate() {
            f += self.mu[i];
            for &j in &set[a + 1..] {
                f -= self.lambda * self.rho_at(i, j);
            }
        }
        f
    }

    /// Average pairwise correlation `Σ_{i<j} ρ_ij / (K(K−1)/2)` of a set (0 for fewer than 2).
    ///
    /// # Errors
    /// [`SelectionError::IndexOutOfRange`] (field `set`) for an index `≥ n`.
    pub fn average_correlation(&self, set: &[usize]) -> Result<f64, SelectionError> {
        self.check_indices(set)?;
        let m = set.len();
        if m < 2 {
            return Ok(0.0);
        }
        let mut s = 0.0;
        for (a, &i) in set.iter().enumerate() {
            for &j in &set[a + 1..] {
                s += self.rho_at(i, j);
            }
        }
        Ok(s / (m as f64 * (m as f64 - 1.0) / 2.0))
    }

    /// Checks a deserialized problem: every invariant [`new`](Self::new) establishes.
    fn check(&mut self) -> Result<(), SelectionError> {
        self.check_sizes()?;
        self.check_correlation_state()?;
        self.check_sectors()?;
        self.check_memberships()?;
        check_sector_capacity(
            &self.sector,
            &self.sector_names,
            &self.sector_cap,
            &self.excluded,
            &self.included,
            self.k,
        )?;
        if let Some(r) = self.min_return {
            check_magnitude("min_expected_return", r)?;
        }
        self.report.check()
    }

    /// n ≥ 1 within the element limit, `1 ≤ k ≤ n`, λ and the penalty scale, μ.
    fn check_sizes(&self) -> Result<(), SelectionError> {
        let n = self.n;
        let k = self.k;
        check_len("n", n, 1)?;
        check_elements("n × n", &[n, n], MAX_ELEMENTS)?;
        if k == 0 {
            return Err(SelectionError::ZeroK);
        }
        if k > n {
            return Err(SelectionError::KExceedsN { k, n });
        }
        check_lambda(self.lambda)?;
        if !(self.penalty_scale.is_finite() && self.penalty_scale > 0.0) {
            return Err(CoreError::OutOfRange {
                field: "penalty_scale",
                value: self.penalty_scale,
                expected: "finite and > 0",
            }
            .into());
        }
        check_shape("mu", &[n], &[self.mu.len()])?;
        for &m in &self.mu {
            check_magnitude("mu", m)?;
        }
        Ok(())
    }

    /// The correlation: n × n, finite, unit diagonal, symmetric, entries in [−1, 1] (the
    /// first failing entry in row-major order).
    fn check_correlation_state(&self) -> Result<(), SelectionError> {
        let n = self.n;
        // (n × n is within MAX_ELEMENTS: check_sizes ran first)
        check_shape("correlation", &[n.saturating_mul(n)], &[self.rho.len()])?;
        check_finite("correlation", &self.rho)?;
        for i in 0..n {
            if self.rho[i * n + i] != 1.0 {
                return Err(CoreError::OutOfRange {
                    field: "correlation diagonal",
                    value: self.rho[i * n + i],
                    expected: "equal to 1",
                }
                .into());
            }
            for j in (i + 1)..n {
                let (a, b) = (self.rho[i * n + j], self.rho[j * n + i]);
                if a != b {
                    return Err(CoreError::NotSymmetric {
                        field: "correlation",
                        row: i,
                        col: j,
                        diff: (a - b).abs(),
                    }
                    .into());
                }
                if a.abs() > 1.0 + 1e-9 {
                    return Err(CoreError::OutOfRange {
                        field: "correlation",
                        value: a,
                        expected: "in [-1, 1]",
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Sizes of the per-item and per-sector vectors, sector indices in range, distinct
    /// sector names.
    fn check_sectors(&self) -> Result<(), SelectionError> {
        let n = self.n;
        let ns = self.sector_names.len();
        check_shape("sector", &[n], &[self.sector.len()])?;
        check_shape("sector_cap", &[ns], &[self.sector_cap.len()])?;
        check_shape("excluded", &[n], &[self.excluded.len()])?;
        check_shape("included", &[n], &[self.included.len()])?;
        if let Some(&s) = self.sector.iter().find(|&&s| s != NO_SECTOR && s >= ns) {
            return Err(SelectionError::IndexOutOfRange {
                field: "sector",
                index: s,
                n: ns,
            });
        }
        let mut names: Vec<&String> = self.sector_names.iter().collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(CoreError::OutOfRange {
                field: "sector_names",
                value: ns as f64,
                expected: "distinct sector names",
            }
            .into());
        }
        Ok(())
    }

    /// Required items in range and strictly increasing, flagged exactly by `included`, none
    /// excluded, at most k of them.
    fn check_memberships(&self) -> Result<(), SelectionError> {
        let n = self.n;
        if let Some(&index) = self.must_include.iter().find(|&&i| i >= n) {
            return Err(SelectionError::IndexOutOfRange {
                field: "must_include",
                index,
                n,
            });
        }
        if self.must_include.windows(2).any(|w| w[1] <= w[0]) {
            return Err(CoreError::NotIncreasing {
                field: "must_include",
                index: 0,
            }
            .into());
        }
        let mut flagged = vec![false; n];
        for &i in &self.must_include {
            flagged[i] = true;
        }
        if flagged != self.included {
            return Err(CoreError::OutOfRange {
                field: "included",
                value: self.must_include.len() as f64,
                expected: "exactly the items of must_include",
            }
            .into());
        }
        if let Some(index) = (0..n).find(|&i| self.included[i] && self.excluded[i]) {
            return Err(SelectionError::ConflictingMembership { index });
        }
        if self.must_include.len() > self.k {
            return Err(SelectionError::TooManyIncluded {
                count: self.must_include.len(),
                k: self.k,
            });
        }
        Ok(())
    }

    /// The names of the constraints this problem carries besides the slate size `k` (the
    /// culprits of an infeasible selection): `must_include`, `must_exclude`, `sector_caps`,
    /// `min_expected_return`.
    pub fn constraint_names(&self) -> Vec<String> {
        let mut names = vec!["k".to_string()];
        if !self.must_include.is_empty() {
            names.push("must_include".into());
        }
        if self.excluded.iter().any(|&e| e) {
            names.push("must_exclude".into());
        }
        if self.sector_cap.iter().any(|&c| c != usize::MAX) {
            names.push("sector_caps".into());
        }
        if self.min_return.is_some() {
            names.push("min_expected_return".into());
        }
        names
    }

    /// Whether a set satisfies every constraint (size, membership, sector caps, min return).
    pub fn is_feasible(&self, set: &[usize]) -> bool {
        if set.len() != self.k {
            return false;
        }
        let mut seen = vec![false; self.n];
        let mut count = vec![0usize; self.sector_names.len()];
        for &i in set {
            if i >= self.n || seen[i] || self.excluded[i] {
                return false;
            }
            seen[i] = true;
            if self.sector[i] != NO_SECTOR {
                count[self.sector[i]] += 1;
            }
        }
        if self.must_include.iter().any(|&i| !seen[i]) {
            return false;
        }
        if count.iter().zip(&self.sector_cap).any(|(c, cap)| c > cap) {
            return false;
        }
        if let Some(r) = self.min_return {
            let m: f64 = set.iter().map(|&i| self.mu[i]).sum();
            if m < r - self.tol() {
                return false;
            }
        }
        true
    }

    /// Absolute tolerance used in comparisons of objectives and returns.
    pub(crate) fn tol(&self) -> f64 {
        let scale = self.mu.iter().fold(self.lambda, |a, m| a.max(m.abs()));
        1e-12 * scale.max(1e-300) * self.k as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn each_pair_once_equals_full_form_with_half_lambda() {
        // Σ_{i,j} ρ_ij x_i x_j = K + 2 Σ_{i<j} ρ_ij x_i x_j for binary x, unit diagonal
        let mu = [0.3, 0.25, 0.2, 0.1];
        let rho = array![
            [1.0, 0.8, 0.2, 0.1],
            [0.8, 1.0, 0.3, 0.0],
            [0.2, 0.3, 1.0, 0.4],
            [0.1, 0.0, 0.4, 1.0]
        ];
        let cfg = ProblemConfig {
            return_scale: ReturnScale::Raw,
            k: 2,
            lambda: 0.2,
            ..Default::default()
        };
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
        let set = [0, 1];
        let full: f64 = set
            .iter()
            .map(|&i| set.iter().map(|&j| rho[[i, j]]).sum::<f64>())
            .sum();
        let lam_full = 0.1;
        let f_full = 0.55 - lam_full * full;
        assert!((p.objective(&set).unwrap() - (f_full + lam_full * 2.0)).abs() < 1e-15);
        assert!((p.objective(&set).unwrap() - (0.55 - 0.2 * 0.8)).abs() < 1e-15);
        assert!((p.average_correlation(&[0, 1, 2]).unwrap() - (0.8 + 0.2 + 0.3) / 3.0).abs() < 1e-15);
    }

    #[test]
    fn feasibility_checks_every_constraint() {
        let mu = [0.3, 0.25, 0.2, 0.1];
        let rho = ndarray::Array2::<f64>::eye(4);
        let c = Constraints {
            sectors: vec![Some("a".into()), Some("a".into()), None, None],
            max_per_sector: Some(1),
            must_include: vec![3],
            must_exclude: vec![2],
            min_expected_return: Some(0.35),
            ..Default::default()
        };
        let cfg = ProblemConfig {
            return_scale: ReturnScale::Raw,
            k: 2,
            ..Default::default()
        };
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &c).unwrap();
        assert!(p.is_feasible(&[0, 3]));
        assert!(!p.is_feasible(&[0, 1])); // sector cap, missing required
        assert!(!p.is_feasible(&[2, 3])); // excluded
        assert!(!p.is_feasible(&[3, 3])); // duplicate
        assert!(!p.is_feasible(&[0])); // size
        let low = Constraints {
            min_expected_return: Some(0.36),
            ..c
        };
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &low).unwrap();
        assert!(!p.is_feasible(&[1, 3])); // 0.35 < 0.36
        assert_eq!(p.sector_of(0), Some("a"));
        assert_eq!(p.sector_of(3), None);
        assert!(p.with_lambda(-1.0).is_err());
        assert_eq!(p.with_lambda(0.5).unwrap().lambda(), 0.5);
    }
}
