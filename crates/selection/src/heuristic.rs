//! Fast heuristics for large n: lazy greedy + 1-swap local search, and maximal marginal
//! relevance (MMR).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::error::SelectionError;
use crate::problem::{SelectionProblem, NO_SECTOR};
use crate::solution::{Method, Selection};
use prudentia_core::Status;

/// Settings of [`GreedySwap`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GreedySwapConfig {
    /// Maximum passes of best-improvement 1-swap local search after the greedy. 0 disables it.
    /// Default 1000, range ≥ 0.
    pub max_swap_passes: usize,
    /// Also compute the root bound of [`root_upper_bound`] so that the result carries a gap.
    /// Costs O(n²) (about as much as the heuristic itself at n = 2000). Default false.
    pub compute_bound: bool,
}

impl Default for GreedySwapConfig {
    fn default() -> Self {
        Self {
            max_swap_passes: 1000,
            compute_bound: false,
        }
    }
}

/// Greedy construction plus 1-swap local search.
///
/// Greedy: starting from the required items, add the allowed item with the largest marginal
/// gain `g_j(S) = μ_j − λ Σ_{i∈S} ρ_ij` until K items are chosen. When every off-diagonal
/// correlation is ≥ 0 (and no minimum return is set) the gains only shrink as S grows, so
/// the *lazy* greedy of Minoux (1978) applies: stale gains in a max-heap are upper bounds and
/// only the top is re-evaluated. Otherwise every gain is updated incrementally (O(n) per
/// step). Local search: repeatedly apply the best improving swap `i ∈ S ↔ j ∉ S`, whose
/// change is `Δ = g_j(S) + λ ρ_ij − (μ_i − λ Σ_{l∈S∖i} ρ_il)`, evaluated for all K·n pairs
/// in O(1) each from maintained penalty sums, until no swap improves (a 1-swap local
/// optimum) or the pass limit is reached. Both steps respect every constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreedySwap {
    config: GreedySwapConfig,
}

impl GreedySwap {
    /// A validated heuristic (every setting is valid today; kept fallible for symmetry).
    pub fn new(config: GreedySwapConfig) -> Result<Self, SelectionError> {
        Ok(Self { config })
    }

    /// Runs greedy then local search.
    pub fn solve(&self, p: &SelectionProblem) -> Selection {
        let mut cur = Current::new(p);
        let ok = if p.min_return.is_some() {
            cur.eager_greedy(|cur, j| cur.p.mu[j] - cur.p.lambda * cur.pen[j])
        } else if p.all_offdiag_nonnegative() {
            cur.lazy_greedy()
        } else {
            cur.eager_gain_greedy()
        };
        if ok {
            cur.local_search(self.config.max_swap_passes);
        }
        finish(p, cur, ok, self.config.compute_bound, Method::GreedySwap)
    }
}

/// Settings of [`Mmr`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MmrConfig {
    /// Passes of 1-swap local search after MMR (0 = pure MMR). Default 0.
    pub max_swap_passes: usize,
    /// Also compute the root bound so that the result carries a gap. Default false.
    pub compute_bound: bool,
}

/// Maximal marginal relevance (Carbonell & Goldstein 1998, SIGIR), adapted to the objective's
/// units: pick next the allowed item maximizing `μ_j − λ |S| max_{i∈S} ρ_ij`, i.e. the
/// marginal gain with every pair charged at the item's worst correlation with the slate.
/// Penalizing the *nearest* neighbour rather than the sum spreads the slate more evenly; the
/// result is reported under the true objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mmr {
    config: MmrConfig,
}

impl Mmr {
    /// A validated MMR heuristic.
    pub fn new(config: MmrConfig) -> Result<Self, SelectionError> {
        Ok(Self { config })
    }

    /// Runs MMR (and the optional local search).
    pub fn solve(&self, p: &SelectionProblem) -> Selection {
        let mut cur = Current::new(p);
        let n = p.n;
        let mut maxr = vec![f64::NEG_INFINITY; n];
        for &i in &cur.set {
            for (l, m) in maxr.iter_mut().enumerate() {
                *m = m.max(p.rho[i * n + l]);
            }
        }
        let mut ok = true;
        while cur.set.len() < p.k {
            let s = cur.set.len() as f64;
            let j = {
                let maxr = &maxr;
                cur.best_allowed(|cur, j| {
                    let m = if maxr[j].is_finite() { maxr[j] } else { 0.0 };
                    cur.p.mu[j] - cur.p.lambda * s * m
                })
            };
            match j {
                Some(j) => {
                    cur.add(j);
                    for (l, m) in maxr.iter_mut().enumerate() {
                        *m = m.max(p.rho[j * n + l]);
                    }
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            cur.local_search(self.config.max_swap_passes);
        }
        finish(p, cur, ok, self.config.compute_bound, Method::Mmr)
    }
}

/// Settings of [`Dpp`]. Deserialization checks `alpha` (finite, ≥ 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct DppConfig {
    /// Weight α of `log det ρ_S` against `Σ μ`; `None` (default) uses the problem's λ. ≥ 0.
    pub alpha: Option<f64>,
    /// Passes of 1-swap local search (on the true objective) after the DPP greedy. Default 0.
    pub max_swap_passes: usize,
    /// Also compute the root bound so that the result carries a gap. Default false.
    pub compute_bound: bool,
}
prudentia_core::checked_serde!(DppConfig, DppConfig::check);

impl DppConfig {
    fn check(&mut self) -> Result<(), SelectionError> {
        if let Some(a) = self.alpha {
            prudentia_core::validate::check_non_negative("alpha", a)?;
        }
        Ok(())
    }
}

/// Greedy MAP inference for a determinantal point process (Chen, Zhang & Zhou 2018, "Fast
/// greedy MAP inference for determinantal point process to improve recommendation
/// diversity", NeurIPS): with kernel `L = diag(q) ρ diag(q)`, `q_i = exp(μ_i / (2α))`,
/// `log det L_S = (1/α) Σ_{i∈S} μ_i + log det ρ_S`, so the greedy adds the allowed item
/// maximizing `μ_j + α log d_j²`, where `d_j²` is j's variance conditional on the slate
/// (an incremental Cholesky row per pick: O(nK) per step). Volume-based diversity instead of
/// pairwise penalties; reported under the true objective. Needs a PSD correlation (which
/// [`SelectionProblem`] ensures unless its PSD check is off); an item whose conditional
/// variance is ≤ 1e-12 is redundant and taken only when nothing else is left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dpp {
    config: DppConfig,
}

impl Dpp {
    /// A validated DPP heuristic (`alpha` must be finite and ≥ 0).
    pub fn new(mut config: DppConfig) -> Result<Self, SelectionError> {
        config.check()?;
        Ok(Self { config })
    }

    /// Runs the DPP greedy (and the optional local search).
    #[allow(clippy::needless_range_loop)] // index loops over parallel arrays
    pub fn solve(&self, p: &SelectionProblem) -> Selection {
        let n = p.n;
        let k = p.k;
        let alpha = self.config.alpha.unwrap_or(p.lambda);
        let mut cur = Current::new_empty(p);
        // c: n × k Cholesky rows, d2: conditional variances
        let mut c = vec![0.0; n * k.max(1)];
        let mut d2 = vec![1.0; n];
        let mut step = 0usize;
        let pick = |cur: &mut Current<'_>, j: usize, c: &mut [f64], d2: &mut [f64], step: &mut usize| {
            let dj = d2[j].max(1e-300).sqrt();
            for i in 0..n {
                if i == j {
                    continue;
                }
                let dot: f64 = c[j * k..j * k + *step]
                    .iter()
                    .zip(&c[i * k..i * k + *step])
                    .map(|(a, b)| a * b)
                    .sum();
                let e = (p.rho[j * n + i] - dot) / dj;
                c[i * k + *step] = e;
                d2[i] -= e * e;
            }
            *step += 1;
            cur.add(j);
        };
        for &i in &p.must_include {
            pick(&mut cur, i, &mut c, &mut d2, &mut step);
        }
        let mut ok = true;
        while cur.set.len() < k {
            let j = {
                let d2 = &d2;
                cur.best_allowed(|cur, j| {
                    let v = d2[j];
                    if v > 1e-12 {
                        cur.p.mu[j] + alpha * v.ln()
                    } else {
                        f64::MIN / 2.0 + cur.p.mu[j]
                    }
                })
            };
            match j {
                Some(j) => pick(&mut cur, j, &mut c, &mut d2, &mut step),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && self.config.max_swap_passes > 0 {
            cur.local_search(self.config.max_swap_passes);
        }
        finish(p, cur, ok, self.config.compute_bound, Method::Dpp)
    }
}

/// The K largest μ among allowed items, respecting membership and sector caps but ignoring
/// correlation: the baseline a diversified slate is compared with.
pub fn top_k_by_return(p: &SelectionProblem) -> Selection {
    let mut cur = Current::new(p);
    let ok = cur.eager_greedy(|cur, j| cur.p.mu[j]);
    finish(p, cur, ok, false, Method::TopK)
}

fn finish(p: &SelectionProblem, cur: Current<'_>, ok: bool, bound: bool, method: Method) -> Selection {
    let ub = if bound { Some(root_upper_bound(p)) } else { None };
    if !ok || !p.is_feasible(&cur.set) {
        return Selection::from_set(p, Vec::new(), ub, 0, Status::NotFound, method);
    }
    Selection::from_set(p, cur.set, ub, 0, Status::Heuristic, method)
}

/// A valid upper bound on the optimum at the root: with `S` the required items and
/// `r = K − |S|` picks left among the allowed items `C`,
///
/// `f* ≤ f(S) + Σ_{top r j ∈ C} [ μ_j − λ Σ_{i∈S} ρ_ij − (λ/2) · (sum of the r−1 smallest ρ_jl, l ∈ C∖j) ]`,
///
/// because the pair penalty of the r new items splits evenly between the two ends of each
/// pair and each end has at least the r−1 smallest correlations to the others. O(n²).
pub fn root_upper_bound(p: &SelectionProblem) -> f64 {
    let n = p.n;
    let set = &p.must_include;
    let r = p.k - set.len();
    let base = p.objective_unchecked(set);
    if r == 0 {
        return base;
    }
    let allowed: Vec<usize> = (0..n).filter(|&j| !p.excluded[j] && !p.included[j]).collect();
    let mut row = Vec::with_capacity(allowed.len());
    let mut scores = Vec::with_capacity(allowed.len());
    for &j in &allowed {
        let pen: f64 = set.iter().map(|&i| p.rho[j * n + i]).sum();
        let mut minsum = 0.0;
        if r > 1 {
            row.clear();
            row.extend(allowed.iter().filter(|&&l| l != j).map(|&l| p.rho[j * n + l]));
            let m = r - 1;
            if m < row.len() {
                row.select_nth_unstable_by(m - 1, f64::total_cmp);
            }
            minsum = row[..m.min(row.len())].iter().sum();
        }
        scores.push(p.mu[j] - p.lambda * pen - 0.5 * p.lambda * minsum);
    }
    let r = r.min(scores.len());
    if r > 0 && r < scores.len() {
        scores.select_nth_unstable_by(r - 1, |a, b| b.total_cmp(a));
    }
    base + scores[..r].iter().sum::<f64>()
}

impl SelectionProblem {
    pub(crate) fn all_offdiag_nonnegative(&self) -> bool {
        let n = self.n;
        (0..n).all(|i| (0..n).all(|j| i == j || self.rho[i * n + j] >= 0.0))
    }
}

/// `max_j (μ_j − λ pen_j − block_j)` (−∞ when empty; NaN never wins), in eight independent
/// lanes so that the compiler vectorizes it.
fn max_gain(mu: &[f64], pen: &[f64], block: &[f64], lam: f64) -> f64 {
    const LANES: usize = 8;
    let mut m = [f64::NEG_INFINITY; LANES];
    let (cm, cp, cb) = (
        mu.chunks_exact(LANES),
        pen.chunks_exact(LANES),
        block.chunks_exact(LANES),
    );
    let rest = cm.remainder().iter().zip(cp.remainder()).zip(cb.remainder());
    for ((xm, xp), xb) in cm.zip(cp).zip(cb) {
        for l in 0..LANES {
            let g = xm[l] - lam * xp[l] - xb[l];
            m[l] = if g > m[l] { g } else { m[l] };
        }
    }
    let mut max = m
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    for ((&xm, &xp), &xb) in rest {
        let g = xm - lam * xp - xb;
        max = if g > max { g } else { max };
    }
    max
}

#[derive(Clone, Copy, PartialEq)]
struct HeapItem {
    gain: f64,
    j: usize,
    stamp: usize,
}
impl Eq for HeapItem {}
impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> Ordering {
        // larger gain first; ties to the smaller index (deterministic)
        self.gain.total_cmp(&other.gain).then(other.j.cmp(&self.j))
    }
}

/// A slate under construction with incrementally maintained penalty sums.
pub(crate) struct Current<'a> {
    pub(crate) p: &'a SelectionProblem,
    /// `pen[j] = Σ_{i∈S, i≠j} ρ_ij`.
    pub(crate) pen: Vec<f64>,
    pub(crate) in_set: Vec<bool>,
    pub(crate) set: Vec<usize>,
    sec_count: Vec<usize>,
    mu_sum: f64,
    pen_valid: bool,
}

impl<'a> Current<'a> {
    /// An empty slate (required items not yet added).
    fn new_empty(p: &'a SelectionProblem) -> Self {
        Self {
            p,
            pen: vec![0.0; p.n],
            in_set: vec![false; p.n],
            set: Vec::with_capacity(p.k),
            sec_count: vec![0; p.sector_names.len()],
            mu_sum: 0.0,
            pen_valid: true,
        }
    }

    pub(crate) fn new(p: &'a SelectionProblem) -> Self {
        let mut c = Self {
            p,
            pen: vec![0.0; p.n],
            in_set: vec![false; p.n],
            set: Vec::with_capacity(p.k),
            sec_count: vec![0; p.sector_names.len()],
            mu_sum: 0.0,
            pen_valid: true,
        };
        for &i in &p.must_include {
            c.add(i);
        }
        c
    }

    fn allowed(&self, j: usize) -> bool {
        if self.in_set[j] || self.p.excluded[j] {
            return false;
        }
        let s = self.p.sector[j];
        s == NO_SECTOR || self.sec_count[s] < self.p.sector_cap[s]
    }

    pub(crate) fn add(&mut self, j: usize) {
        let n = self.p.n;
        if self.pen_valid {
            let row = &self.p.rho[j * n..(j + 1) * n];
            for (pl, r) in self.pen.iter_mut().zip(row) {
                *pl += r;
            }
            self.pen[j] -= row[j];
        }
        self.in_set[j] = true;
        self.set.push(j);
        self.mu_sum += self.p.mu[j];
        let s = self.p.sector[j];
        if s != NO_SECTOR {
            self.sec_count[s] += 1;
        }
    }

    fn remove_at(&mut self, pos: usize) {
        let n = self.p.n;
        let i = self.set.swap_remove(pos);
        let row = &self.p.rho[i * n..(i + 1) * n];
        for (pl, r) in self.pen.iter_mut().zip(row) {
            *pl -= r;
        }
        self.pen[i] += row[i];
        self.in_set[i] = false;
        self.mu_sum -= self.p.mu[i];
        let s = self.p.sector[i];
        if s != NO_SECTOR {
            self.sec_count[s] -= 1;
        }
    }

    fn recompute_pen(&mut self) {
        let n = self.p.n;
        self.pen.iter_mut().for_each(|v| *v = 0.0);
        for &i in &self.set {
            let row = &self.p.rho[i * n..(i + 1) * n];
            for (pl, r) in self.pen.iter_mut().zip(row) {
                *pl += r;
            }
            self.pen[i] -= row[i];
        }
        self.pen_valid = true;
    }

    /// The allowed item with the largest `score`, also keeping the minimum return reachable
    /// (ignoring sector caps for the items still to come).
    fn best_allowed(&self, score: impl Fn(&Self, usize) -> f64) -> Option<usize> {
        let p = self.p;
        let r = p.k - self.set.len();
        // Minimum-return look-ahead: the r best allowed returns.
        let (need, top_sum_r, top_sum_r1, kth) = match p.min_return {
            Some(req) if r > 0 => {
                let mut top: Vec<f64> = (0..p.n).filter(|&j| self.allowed(j)).map(|j| p.mu[j]).collect();
                let rr = r.min(top.len());
                if rr > 0 && rr < top.len() {
                    top.select_nth_unstable_by(rr - 1, |a, b| b.total_cmp(a));
                }
                let top = &mut top[..rr];
                top.sort_unstable_by(|a, b| b.total_cmp(a));
                let s: f64 = top.iter().sum();
                let s1: f64 = top[..rr.saturating_sub(1)].iter().sum();
                (
                    Some(req - self.mu_sum - p.tol()),
                    s,
                    s1,
                    top.last().copied().unwrap_or(f64::NEG_INFINITY),
                )
            }
            _ => (None, 0.0, 0.0, 0.0),
        };
        let mut best: Option<(f64, usize)> = None;
        for j in 0..p.n {
            if !self.allowed(j) {
                continue;
            }
            if let Some(need) = need {
                let others = if p.mu[j] >= kth {
                    top_sum_r - p.mu[j]
                } else {
                    top_sum_r1
                };
                if p.mu[j] + others < need {
                    continue;
                }
            }
            let s = score(self, j);
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, j));
            }
        }
        best.map(|(_, j)| j)
    }

    /// Plain greedy on `score`, with incremental penalty sums. Returns false when it cannot
    /// complete a feasible slate.
    pub(crate) fn eager_greedy(&mut self, score: impl Fn(&Self, usize) -> f64) -> bool {
        while self.set.len() < self.p.k {
            match self.best_allowed(&score) {
                Some(j) => self.add(j),
                None => return false,
            }
        }
        true
    }

    /// [`eager_greedy`](Self::eager_greedy) on the marginal gain `μ_j − λ pen_j` without a
    /// minimum return: the same picks (the first index of the largest gain among the allowed
    /// items), each found by two branch-free passes over the n gains (their maximum in
    /// vectorized lanes, then its first index) instead of one branchy scan, which at n = 500,
    /// K = 50 was most of the select stage's solve (issue #18). A blocked item (in the slate,
    /// excluded, or its sector full) has its gain pushed to −∞; the gains of a valid problem
    /// are finite, and should none be left the generic scan decides.
    fn eager_gain_greedy(&mut self) -> bool {
        let p = self.p;
        let lam = p.lambda;
        let mut block: Vec<f64> = (0..p.n)
            .map(|j| if self.allowed(j) { 0.0 } else { f64::INFINITY })
            .collect();
        while self.set.len() < p.k {
            let max = max_gain(&p.mu, &self.pen, &block, lam);
            let first =
                p.mu.iter()
                    .zip(&self.pen)
                    .zip(&block)
                    .position(|((&m, &pen), &b)| m - lam * pen - b == max);
            let j = match first {
                Some(j) if max.is_finite() => j,
                _ => return self.eager_greedy(|cur, j| cur.p.mu[j] - cur.p.lambda * cur.pen[j]),
            };
            debug_assert!(self.allowed(j));
            self.add(j);
            block[j] = f64::INFINITY;
            let s = p.sector[j];
            if s != NO_SECTOR && self.sec_count[s] >= p.sector_cap[s] {
                for (b, &sj) in block.iter_mut().zip(&p.sector) {
                    if sj == s {
                        *b = f64::INFINITY;
                    }
                }
            }
        }
        true
    }

    /// Lazy greedy (valid when every off-diagonal ρ ≥ 0, so gains never grow).
    fn lazy_greedy(&mut self) -> bool {
        let p = self.p;
        let n = p.n;
        self.pen_valid = false;
        let mut heap: BinaryHeap<HeapItem> = (0..n)
            .filter(|&j| self.allowed(j))
            .map(|j| HeapItem {
                gain: p.mu[j] - p.lambda * self.pen[j],
                j,
                stamp: self.set.len(),
            })
            .collect();
        while self.set.len() < p.k {
            let Some(top) = heap.pop() else {
                return false;
            };
            if !self.allowed(top.j) {
                continue;
            }
            if top.stamp == self.set.len() {
                self.add(top.j);
                continue;
            }
            let pen: f64 = self.set.iter().map(|&i| p.rho[top.j * n + i]).sum();
            heap.push(HeapItem {
                gain: p.mu[top.j] - p.lambda * pen,
                j: top.j,
                stamp: self.set.len(),
            });
        }
        self.recompute_pen();
        true
    }

    /// Best-improvement 1-swap local search.
    ///
    /// Each pass finds the swap with the largest `Δ(i, j) = g_j + λ ρ_ij − c_i` (ties: the
    /// first slate position, then the smallest j), exactly as scanning all K·n pairs would,
    /// but visits the candidates j in decreasing order of `g_j` and stops once
    /// `g_j + λ·max ρ − c_i` cannot beat the best so far: the candidates are kept in a
    /// partially sorted order (the best [`SWAP_PREFIX`] sorted, the rest scanned with the same
    /// bound), so a pass costs O(n + K·few) instead of O(K·n) when λ is small next to the
    /// spread of the gains. Buffers are allocated once per call.
    #[allow(clippy::needless_range_loop)] // index loops over parallel arrays
    pub(crate) fn local_search(&mut self, max_passes: usize) {
        let p = self.p;
        let n = p.n;
        let lam = p.lambda;
        let tol = p.tol();
        // ρ ≤ 1 + 1e-9 for a checked correlation (the load check's tolerance)
        let bump = lam * (1.0 + 1e-9);
        let mut gain = vec![0.0; n];
        let mut order: Vec<usize> = Vec::with_capacity(n);
        for _ in 0..max_passes {
            order.clear();
            for j in 0..n {
                if self.in_set[j] || p.excluded[j] {
                    gain[j] = f64::NEG_INFINITY;
                } else {
                    gain[j] = p.mu[j] - lam * self.pen[j];
                    order.push(j);
                }
            }
            let by_gain = |a: &usize, b: &usize| gain[*b].total_cmp(&gain[*a]);
            let sorted = SWAP_PREFIX.min(order.len());
            if sorted > 0 && sorted < order.len() {
                order.select_nth_unstable_by(sorted - 1, by_gain);
            }
            order[..sorted].sort_unstable_by(by_gain);
            let (head, tail) = order.split_at(sorted);
            let mut best = (tol, usize::MAX, usize::MAX);
            for (pos, &i) in self.set.iter().enumerate() {
                if p.included[i] {
                    continue;
                }
                let contrib = p.mu[i] - lam * self.pen[i];
                let si = p.sector[i];
                let row = &p.rho[i * n..(i + 1) * n];
                let mu_out = self.mu_sum - p.mu[i];
                // the best (Δ, j) of this position among Δ > best.0, smallest j on ties
                let mut local: Option<(f64, usize)> = None;
                let consider = |j: usize, local: &mut Option<(f64, usize)>| {
                    let d = gain[j] + lam * row[j] - contrib;
                    if d <= best.0 {
                        return;
                    }
                    if let Some((dl, jl)) = *local {
                        if d < dl || (d == dl && j > jl) {
                            return;
                        }
                    }
                    let sj = p.sector[j];
                    if sj != NO_SECTOR && sj != si && self.sec_count[sj] >= p.sector_cap[sj] {
                        return;
                    }
                    if let Some(req) = p.min_return {
                        if mu_out + p.mu[j] < req - tol {
                            return;
                        }
                    }
                    *local = Some((d, j));
                };
                // An upper bound of Δ(i, j) below what can still win (strictly above best.0,
                // or tying this position's best) ends the sorted scan.
                let beaten = |ub: f64, local: &Option<(f64, usize)>| {
                    ub <= best.0 || local.is_some_and(|(dl, _)| ub < dl)
                };
                let mut exhausted = true;
                for &j in head {
                    if beaten(gain[j] + bump - contrib, &local) {
                        exhausted = false;
                        break;
                    }
                    consider(j, &mut local);
                }
                if exhausted {
                    for &j in tail {
                        if !beaten(gain[j] + bump - contrib, &local) {
                            consider(j, &mut local);
                        }
                    }
                }
                if let Some((d, j)) = local {
                    best = (d, pos, j);
                }
            }
            if best.1 == usize::MAX {
                break;
            }
            self.remove_at(best.1);
            self.add(best.2);
        }
    }

    /// The plain O(K·n)-per-pass best-improvement local search (the reference the fast one
    /// is tested against).
    #[cfg(test)]
    #[allow(clippy::needless_range_loop)]
    pub(crate) fn local_search_reference(&mut self, max_passes: usize) {
        let p = self.p;
        let n = p.n;
        let lam = p.lambda;
        let tol = p.tol();
        let mut gain = vec![0.0; n];
        for _ in 0..max_passes {
            for j in 0..n {
                gain[j] = if self.in_set[j] || p.excluded[j] {
                    f64::NEG_INFINITY
                } else {
                    p.mu[j] - lam * self.pen[j]
                };
            }
            let max_gain = gain.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut best = (tol, usize::MAX, usize::MAX);
            for (pos, &i) in self.set.iter().enumerate() {
                if p.included[i] {
                    continue;
                }
                let contrib = p.mu[i] - lam * self.pen[i];
                if max_gain + lam * (1.0 + 1e-9) - contrib <= best.0 {
                    continue;
                }
                let si = p.sector[i];
                let row = &p.rho[i * n..(i + 1) * n];
                let mu_out = self.mu_sum - p.mu[i];
                for j in 0..n {
                    let d = gain[j] + lam * row[j] - contrib;
                    if d <= best.0 {
                        continue;
                    }
                    let sj = p.sector[j];
                    if sj != NO_SECTOR && sj != si && self.sec_count[sj] >= p.sector_cap[sj] {
                        continue;
                    }
                    if let Some(req) = p.min_return {
                        if mu_out + p.mu[j] < req - tol {
                            continue;
                        }
                    }
                    best = (d, pos, j);
                }
            }
            if best.1 == usize::MAX {
                break;
            }
            self.remove_at(best.1);
            self.add(best.2);
        }
    }
}

/// Candidates the local search keeps fully sorted by gain per pass (the rest are scanned
/// with the same bound when the sorted ones do not settle a position).
const SWAP_PREFIX: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Constraints, ProblemConfig};
    use ndarray::Array2;

    #[test]
    fn uncorrelated_items_bound_is_tight_and_greedy_optimal() {
        let mu = [0.1, 0.5, 0.3, 0.4, 0.2];
        let rho = Array2::<f64>::eye(5);
        let cfg = ProblemConfig {
            return_scale: crate::ReturnScale::Raw,
            k: 3,
            lambda: 1.0,
            ..Default::default()
        };
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
        assert!((root_upper_bound(&p) - 1.2).abs() < 1e-15);
        let s = GreedySwap::new(GreedySwapConfig {
            compute_bound: true,
            ..Default::default()
        })
        .unwrap()
        .solve(&p);
        assert_eq!(s.selected, vec![1, 2, 3]);
        assert_eq!(s.gap, Some(0.0));
        assert_eq!(top_k_by_return(&p).selected, vec![1, 2, 3]);
        assert_eq!(
            Dpp::new(DppConfig::default()).unwrap().solve(&p).selected,
            vec![1, 2, 3]
        );
    }

    /// A seeded instance: a two-factor correlation with signed loadings (so some ρ < 0),
    /// optionally quantized (many exact ties), μ optionally on a coarse grid.
    fn seeded_instance(n: usize, seed: u64, quantize: bool) -> (Vec<f64>, Array2<f64>) {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut unif = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let f: Vec<[f64; 2]> = (0..n).map(|_| [unif() - 0.3, unif() - 0.5]).collect();
        let mut rho = Array2::from_shape_fn((n, n), |(i, j)| {
            let c = f[i][0] * f[j][0] + f[i][1] * f[j][1];
            let d = ((f[i][0].powi(2) + f[i][1].powi(2) + 0.3) * (f[j][0].powi(2) + f[j][1].powi(2) + 0.3))
                .sqrt();
            c / d
        });
        for i in 0..n {
            rho[[i, i]] = 1.0;
        }
        if quantize {
            rho.mapv_inplace(|v| (v * 8.0).round() / 8.0);
        }
        let mu = (0..n)
            .map(|_| {
                if quantize {
                    (unif() * 10.0).floor() * 0.01
                } else {
                    0.1 * unif()
                }
            })
            .collect();
        (mu, rho)
    }

    #[test]
    fn fast_local_search_finds_the_same_swaps_as_the_full_scan() {
        let mut checked = 0;
        for seed in 0..40u64 {
            let n = [12, 40, 120, 450][seed as usize % 4];
            let k = [3, 10, 25, 50][(seed as usize / 4) % 4].min(n - 2);
            let quantize = seed % 3 == 0;
            let lambda = [0.0, 1e-4, 0.01, 0.1, 1.0][seed as usize % 5];
            let (mu, rho) = seeded_instance(n, seed, quantize);
            let sectors = seed % 2 == 1;
            let constraints = Constraints {
                sectors: if sectors {
                    (0..n)
                        .map(|i| (i % 7 != 0).then(|| format!("s{}", i % 5)))
                        .collect()
                } else {
                    Vec::new()
                },
                max_per_sector: sectors.then_some(k / 3 + 1),
                must_include: if seed % 4 == 2 { vec![1, n / 2] } else { Vec::new() },
                must_exclude: if seed % 5 == 3 {
                    vec![0, 2, n - 1]
                } else {
                    Vec::new()
                },
                min_expected_return: (seed % 6 == 5).then(|| {
                    let mut m = mu.clone();
                    m.sort_by(|a, b| b.total_cmp(a));
                    0.8 * m[..k].iter().sum::<f64>()
                }),
                ..Default::default()
            };
            let cfg = ProblemConfig {
                return_scale: crate::ReturnScale::Raw,
                k,
                lambda,
                correlation: crate::problem::CorrelationConfig {
                    check_psd: false,
                    ..Default::default()
                },
            };
            let Ok(p) = SelectionProblem::new(&mu, rho.view(), &cfg, &constraints) else {
                continue;
            };
            for start in 0..2 {
                let mut fast = Current::new(&p);
                let mut slow = Current::new(&p);
                // a greedy start and a deliberately poor one (the lowest-μ allowed items)
                let ok = if start == 0 {
                    fast.eager_greedy(|c, j| c.p.mu[j] - c.p.lambda * c.pen[j])
                        && slow.eager_greedy(|c, j| c.p.mu[j] - c.p.lambda * c.pen[j])
                } else {
                    fast.eager_greedy(|c, j| -c.p.mu[j]) && slow.eager_greedy(|c, j| -c.p.mu[j])
                };
                if !ok {
                    continue;
                }
                assert_eq!(fast.set, slow.set);
                for passes in [1, 3, 1000] {
                    let (mut f, mut s) = (Current::new(&p), Current::new(&p));
                    for &i in &fast.set[p.must_include.len()..] {
                        f.add(i);
                        s.add(i);
                    }
                    f.local_search(passes);
                    s.local_search_reference(passes);
                    assert_eq!(f.set, s.set, "seed {seed} start {start} passes {passes}");
                    assert_eq!(f.pen, s.pen);
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "{checked} runs compared");
    }

    #[test]
    fn vectorized_eager_greedy_picks_as_the_generic_scan() {
        let mut checked = 0;
        for seed in 0..48u64 {
            let n = [5, 13, 64, 301, 500][seed as usize % 5];
            let k = [1, 4, 17, 50][(seed as usize / 5) % 4].min(n - 1);
            let (mu, rho) = seeded_instance(n, seed, seed % 3 == 0);
            let sectors = seed % 2 == 1;
            let constraints = Constraints {
                sectors: if sectors {
                    (0..n)
                        .map(|i| (i % 7 != 0).then(|| format!("s{}", i % 5)))
                        .collect()
                } else {
                    Vec::new()
                },
                max_per_sector: sectors.then_some(k / 4 + 1),
                must_include: if seed % 4 == 2 { vec![n / 2] } else { Vec::new() },
                must_exclude: if seed % 5 == 3 { vec![0, n - 1] } else { Vec::new() },
                ..Default::default()
            };
            let cfg = ProblemConfig {
                return_scale: crate::ReturnScale::Raw,
                k,
                lambda: [0.0, 1e-4, 0.01, 0.3, 2.0][seed as usize % 5],
                correlation: crate::problem::CorrelationConfig {
                    check_psd: false,
                    ..Default::default()
                },
            };
            let Ok(p) = SelectionProblem::new(&mu, rho.view(), &cfg, &constraints) else {
                continue;
            };
            let (mut fast, mut slow) = (Current::new(&p), Current::new(&p));
            let ok = fast.eager_gain_greedy();
            assert_eq!(ok, slow.eager_greedy(|c, j| c.p.mu[j] - c.p.lambda * c.pen[j]));
            assert_eq!(fast.set, slow.set, "seed {seed}");
            assert_eq!(fast.pen, slow.pen);
            checked += usize::from(ok);
        }
        assert!(checked > 30, "{checked} slates compared");
    }

    #[test]
    fn greedy_swap_slate_is_unchanged_on_seeded_instances() {
        // the public path end to end: GreedySwap::solve against greedy + the full-scan search
        for seed in 100..112u64 {
            let n = [60, 200, 450][seed as usize % 3];
            let (mu, rho) = seeded_instance(n, seed, seed % 2 == 0);
            let cfg = ProblemConfig {
                return_scale: crate::ReturnScale::Raw,
                k: 50,
                lambda: [1e-4, 0.02, 0.3][seed as usize % 3],
                ..Default::default()
            };
            let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
            let got = GreedySwap::new(GreedySwapConfig::default()).unwrap().solve(&p);
            let mut reference = Current::new(&p);
            let ok = if p.min_return.is_none() && p.all_offdiag_nonnegative() {
                reference.lazy_greedy()
            } else {
                reference.eager_greedy(|c, j| c.p.mu[j] - c.p.lambda * c.pen[j])
            };
            assert!(ok);
            reference.local_search_reference(GreedySwapConfig::default().max_swap_passes);
            let want = finish(&p, reference, ok, false, Method::GreedySwap);
            assert_eq!(got.selected, want.selected, "seed {seed}");
            assert_eq!(got.objective, want.objective);
        }
    }

    #[test]
    fn dpp_avoids_a_duplicate() {
        // items 0 and 1 are the same bet (ρ = 1): the DPP never takes both
        let mu = [0.5, 0.49, 0.3];
        let rho = ndarray::array![[1.0, 1.0, 0.2], [1.0, 1.0, 0.2], [0.2, 0.2, 1.0]];
        let cfg = ProblemConfig {
            return_scale: crate::ReturnScale::Raw,
            k: 2,
            lambda: 0.01,
            ..Default::default()
        };
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
        let s = Dpp::new(DppConfig::default()).unwrap().solve(&p);
        assert_eq!(s.selected, vec![0, 2]);
        assert_eq!(s.method, Method::Dpp);
        assert!(Dpp::new(DppConfig {
            alpha: Some(-1.0),
            ..Default::default()
        })
        .is_err());
    }
}
