//! Exact branch and bound for the cardinality-constrained binary QP.

use std::time::{Duration, Instant};

use prudentia_core::validate::check_positive;
use serde::{Deserialize, Serialize};

use crate::error::SelectionError;
use crate::heuristic::{GreedySwap, GreedySwapConfig};
use crate::problem::{SelectionProblem, NO_SECTOR};
use crate::solution::{Method, Selection};
use prudentia_core::Status;

/// Settings of [`ExactSolver`]. Deserialization runs [`validate`](Self::validate).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct ExactConfig {
    /// Stop after this many nodes and return the best slate with its gap. Default 10⁶
    /// (about a second at n = 200), ≥ 1.
    pub node_limit: u64,
    /// Stop after this many seconds (wall clock). Default `None`. A time limit makes the
    /// result depend on machine speed; prefer the node limit when decisions must replay.
    pub time_limit_secs: Option<f64>,
    /// Start from the greedy + 1-swap slate as incumbent. Default true.
    pub warm_start: bool,
}

impl Default for ExactConfig {
    fn default() -> Self {
        Self {
            node_limit: 1_000_000,
            time_limit_secs: None,
            warm_start: true,
        }
    }
}

prudentia_core::checked_serde!(ExactConfig, ExactConfig::check);

impl ExactConfig {
    fn check(&mut self) -> Result<(), SelectionError> {
        self.validate()
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), SelectionError> {
        if self.node_limit == 0 {
            return Err(prudentia_core::CoreError::OutOfRange {
                field: "node_limit",
                value: 0.0,
                expected: ">= 1",
            }
            .into());
        }
        if let Some(t) = self.time_limit_secs {
            check_positive("time_limit_secs", t)?;
        }
        Ok(())
    }
}

/// Depth-first branch and bound over subsets.
///
/// A node is a partial slate `S` (|S| = s, r = K − s picks left) and a candidate set `C`.
/// Its children add one candidate each, best first; the t-th child also forbids the
/// candidates tried before it, so every K-subset is reached once. With the marginal gain
/// `g_j = μ_j − λ Σ_{i∈S} ρ_ij` (kept incrementally, one O(n) row add per level),
/// the score of a candidate is
///
/// `u_j = g_j − (λ/2) · (sum of the r−1 smallest ρ_jl, l ∈ C∖j)`
///
/// and `f(S) + Σ_{top r} u_j ≥ f(S ∪ T)` for every completion `T ⊆ C`, |T| = r: the
/// penalty of a pair inside T is split between its two ends, and each end has at least the
/// r − 1 smallest correlations to the others (valid for any sign of ρ, λ ≥ 0). Candidates
/// are sorted by `u_j`, so the bound of the children from the t-th on is the sum of `u`
/// over positions `t..t+r`: the first child whose bound does not beat the incumbent ends the
/// loop. Sector caps remove a full sector's items from `C`; a minimum return prunes a node
/// whose best r returns cannot reach it. The incumbent starts from [`GreedySwap`].
///
/// At a node limit or time limit the best slate is returned with the largest bound over the
/// unexplored subtrees, hence a proven gap. Reference for the problem class and its bounds:
/// Billionnet & Elloumi (2007), Math. Programming 109.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExactSolver {
    config: ExactConfig,
}

impl ExactSolver {
    /// A validated solver.
    pub fn new(config: ExactConfig) -> Result<Self, SelectionError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The settings.
    pub fn config(&self) -> &ExactConfig {
        &self.config
    }

    /// Solves `p` to optimality, or to the node/time limit.
    pub fn solve(&self, p: &SelectionProblem) -> Selection {
        let mut b = Bnb::new(p, &self.config);
        if self.config.warm_start {
            let h = GreedySwap::new(GreedySwapConfig::default())
                .map(|g| g.solve(p))
                .ok()
                .filter(|s| s.status == Status::Heuristic);
            if let Some(h) = h {
                b.best_obj = h.objective;
                b.best.clear();
                b.best.extend_from_slice(&h.selected);
                b.has_best = true;
            }
        }
        b.run();
        let status = match b.stop.clone() {
            Some(s) => s,
            None if b.has_best => Status::Converged,
            None => Status::Infeasible {
                culprits: p.constraint_names(),
            },
        };
        let ub = if b.stop.is_some() {
            Some(if b.has_best {
                b.open_ub.max(b.best_obj)
            } else {
                b.open_ub
            })
        } else if b.has_best {
            Some(b.best_obj)
        } else {
            None
        };
        let set = if b.has_best { b.best.clone() } else { Vec::new() };
        Selection::from_set(p, set, ub, b.nodes, status, Method::Exact)
    }
}

const AVAIL: u8 = 0;
const CHOSEN: u8 = 1;
const OUT: u8 = 2;

struct Bnb<'a> {
    p: &'a SelectionProblem,
    n: usize,
    lam: f64,
    /// Per item, the other items sorted by ρ ascending (n × (n−1)).
    nb: Vec<u32>,
    state: Vec<u8>,
    /// Penalty sums per level: `pens[d·n + j] = Σ_{i∈S_d} ρ_ij`.
    pens: Vec<f64>,
    chosen: Vec<usize>,
    sec_count: Vec<usize>,
    sec_members: Vec<Vec<u32>>,
    /// Items removed from C because their sector filled, as a stack.
    undo: Vec<u32>,
    /// Scratch per level: (score, item), sorted descending.
    keyed: Vec<Vec<(f64, u32)>>,
    /// Items by μ descending (minimum-return pruning).
    mu_order: Vec<u32>,
    best_obj: f64,
    best: Vec<usize>,
    has_best: bool,
    nodes: u64,
    node_limit: u64,
    deadline: Option<Instant>,
    next_time_check: u64,
    stop: Option<Status>,
    started: Instant,
    open_ub: f64,
    tol: f64,
}

impl<'a> Bnb<'a> {
    fn new(p: &'a SelectionProblem, cfg: &ExactConfig) -> Self {
        let n = p.n;
        let mut nb = Vec::with_capacity(n * n.saturating_sub(1));
        let mut row: Vec<u32> = Vec::with_capacity(n);
        for j in 0..n {
            row.clear();
            row.extend((0..n as u32).filter(|&l| l as usize != j));
            row.sort_by(|&a, &b| p.rho[j * n + a as usize].total_cmp(&p.rho[j * n + b as usize]));
            nb.extend_from_slice(&row);
        }
        let mut mu_order: Vec<u32> = (0..n as u32).collect();
        mu_order.sort_by(|&a, &b| p.mu[b as usize].total_cmp(&p.mu[a as usize]));
        let mut sec_members = vec![Vec::new(); p.sector_names.len()];
        for j in 0..n {
            if p.sector[j] != NO_SECTOR {
                sec_members[p.sector[j]].push(j as u32);
            }
        }
        let levels = p.k + 1;
        Self {
            p,
            n,
            lam: p.lambda,
            nb,
            state: vec![AVAIL; n],
            pens: vec![0.0; levels * n],
            chosen: Vec::with_capacity(p.k),
            sec_count: vec![0; p.sector_names.len()],
            sec_members,
            undo: Vec::with_capacity(n),
            keyed: (0..levels).map(|_| Vec::with_capacity(n)).collect(),
            mu_order,
            best_obj: f64::NEG_INFINITY,
            best: Vec::with_capacity(p.k),
            has_best: false,
            nodes: 0,
            node_limit: cfg.node_limit,
            deadline: cfg
                .time_limit_secs
                .map(|t| Instant::now() + Duration::from_secs_f64(t.min(1e9))),
            next_time_check: 0,
            stop: None,
            started: Instant::now(),
            open_ub: f64::NEG_INFINITY,
            tol: p.tol(),
        }
    }

    fn run(&mut self) {
        let p = self.p;
        for j in 0..self.n {
            if p.excluded[j] {
                self.state[j] = OUT;
            }
        }
        let mut obj = 0.0;
        let mut mu_sum = 0.0;
        for &i in &p.must_include {
            let d = self.chosen.len();
            obj += p.mu[i] - self.lam * self.pens[d * self.n + i];
            mu_sum += p.mu[i];
            self.push(i);
        }
        // A sector already at its cap before any pick (a cap of 0, or required items that
        // fill it) takes no further item: `push` only closes a sector when an item joins it.
        for s in 0..self.sec_members.len() {
            if self.sec_count[s] >= p.sector_cap[s] {
                for &m in &self.sec_members[s] {
                    if self.state[m as usize] == AVAIL {
                        self.state[m as usize] = OUT;
                    }
                }
            }
        }
        self.dfs(obj, mu_sum);
    }

    /// Adds `j` to S: next level's penalty sums, sector bookkeeping. Returns the undo mark.
    #[inline]
    fn push(&mut self, j: usize) -> usize {
        let n = self.n;
        let d = self.chosen.len();
        let (lo, hi) = self.pens.split_at_mut((d + 1) * n);
        let src = &lo[d * n..];
        let dst = &mut hi[..n];
        let row = &self.p.rho[j * n..(j + 1) * n];
        for ((o, s), r) in dst.iter_mut().zip(src).zip(row) {
            *o = s + r;
        }
        self.state[j] = CHOSEN;
        self.chosen.push(j);
        let mark = self.undo.len();
        let s = self.p.sector[j];
        if s != NO_SECTOR {
            self.sec_count[s] += 1;
            if self.sec_count[s] >= self.p.sector_cap[s] {
                for &m in &self.sec_members[s] {
                    if self.state[m as usize] == AVAIL {
                        self.state[m as usize] = OUT;
                        self.undo.push(m);
                    }
                }
            }
        }
        mark
    }

    #[inline]
    fn pop(&mut self, mark: usize) {
        if let Some(j) = self.chosen.pop() {
            let s = self.p.sector[j];
            if s != NO_SECTOR {
                self.sec_count[s] -= 1;
            }
            self.state[j] = AVAIL;
        }
        while self.undo.len() > mark {
            if let Some(m) = self.undo.pop() {
                self.state[m as usize] = AVAIL;
            }
        }
    }

    fn limits_hit(&mut self) -> bool {
        if self.stop.is_some() {
            return true;
        }
        if self.nodes >= self.node_limit {
            self.stop = Some(Status::IterationLimit {
                iterations: usize::try_from(self.nodes).unwrap_or(usize::MAX),
            });
            return true;
        }
        if let Some(d) = self.deadline {
            if self.nodes >= self.next_time_check {
                self.next_time_check = self.nodes + 256;
                if Instant::now() >= d {
                    let ms = self.started.elapsed().as_millis();
                    self.stop = Some(Status::TimeLimit {
                        elapsed_ms: u64::try_from(ms).unwrap_or(u64::MAX),
                    });
                    return true;
                }
            }
        }
        false
    }

    fn record(&mut self, obj: f64, extra: Option<usize>) {
        self.best_obj = obj;
        self.best.clear();
        self.best.extend_from_slice(&self.chosen);
        if let Some(j) = extra {
            self.best.push(j);
        }
        self.has_best = true;
    }

    /// One node: the partial slate `chosen` with objective `obj` and total return `mu_sum`.
    fn dfs(&mut self, obj: f64, mu_sum: f64) {
        self.nodes += 1;
        let d = self.chosen.len();
        let r = self.p.k - d;
        if r == 0 {
            self.leaf(obj, mu_sum);
            return;
        }
        let need = self.p.min_return.map(|req| req - mu_sum - self.tol);
        if let Some(need) = need {
            if !self.reachable(r, need) {
                return;
            }
        }
        if r == 1 {
            self.complete_with_one(obj, need);
            return;
        }
        let mut keyed = std::mem::take(&mut self.keyed[d]);
        self.score_candidates(r, &mut keyed);
        if keyed.len() >= r {
            keyed.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            self.branch(obj, mu_sum, r, &keyed);
        }
        self.keyed[d] = keyed;
    }

    /// A full slate: recorded when it meets the minimum return and beats the incumbent.
    fn leaf(&mut self, obj: f64, mu_sum: f64) {
        if let Some(req) = self.p.min_return {
            if mu_sum < req - self.tol {
                return;
            }
        }
        if !self.has_best || obj > self.best_obj + self.tol {
            self.record(obj, None);
        }
    }

    /// Minimum-return reachability: whether the best `r` available returns add up to `need`.
    fn reachable(&self, r: usize, need: f64) -> bool {
        let mut got = 0.0;
        let mut c = 0;
        for &j in &self.mu_order {
            if self.state[j as usize] == AVAIL {
                got += self.p.mu[j as usize];
                c += 1;
                if c == r {
                    break;
                }
            }
        }
        !(c < r || got < need)
    }

    /// Leaf parent (one pick left): the best single completion directly.
    fn complete_with_one(&mut self, obj: f64, need: Option<f64>) {
        let p = self.p;
        let n = self.n;
        let d = self.chosen.len();
        let pen = &self.pens[d * n..(d + 1) * n];
        let mut best: Option<(f64, usize)> = None;
        for (j, &pen_j) in pen.iter().enumerate() {
            if self.state[j] != AVAIL {
                continue;
            }
            if let Some(need) = need {
                if p.mu[j] < need {
                    continue;
                }
            }
            let g = p.mu[j] - self.lam * pen_j;
            if best.is_none_or(|(b, _)| g > b) {
                best = Some((g, j));
            }
        }
        if let Some((g, j)) = best {
            let v = obj + g;
            if !self.has_best || v > self.best_obj + self.tol {
                self.record(v, Some(j));
            }
        }
    }

    /// The score `u_j = g_j − (λ/2) · (sum of the r−1 smallest ρ_jl, l ∈ C∖j)` of every
    /// available candidate, into `keyed` (unsorted).
    #[allow(clippy::needless_range_loop)] // index loops over parallel arrays
    fn score_candidates(&self, r: usize, keyed: &mut Vec<(f64, u32)>) {
        let p = self.p;
        let n = self.n;
        let lam = self.lam;
        let d = self.chosen.len();
        let pen = &self.pens[d * n..(d + 1) * n];
        keyed.clear();
        let m = r - 1;
        let half = 0.5 * lam;
        let stride = n - 1;
        for j in 0..n {
            if self.state[j] != AVAIL {
                continue;
            }
            let mut s = 0.0;
            let mut c = 0;
            for &l in &self.nb[j * stride..(j + 1) * stride] {
                if self.state[l as usize] == AVAIL {
                    s += p.rho[j * n + l as usize];
                    c += 1;
                    if c == m {
                        break;
                    }
                }
            }
            keyed.push((p.mu[j] - lam * pen[j] - half * s, j as u32));
        }
    }

    /// The children of a node, best first (`keyed` sorted by score, at least `r` of them):
    /// the t-th adds `keyed[t]` and excludes the ones before it; the loop ends at the first
    /// child whose bound (the sum of the next `r` scores) cannot beat the incumbent, or at a
    /// limit (its bound then enters the open bound). The excluded candidates are restored.
    fn branch(&mut self, obj: f64, mu_sum: f64, r: usize, keyed: &[(f64, u32)]) {
        let p = self.p;
        let n = self.n;
        let d = self.chosen.len();
        let mut window: f64 = keyed[..r].iter().map(|x| x.0).sum();
        let len = keyed.len();
        let mut tried = 0;
        for t in 0..len {
            if len - t < r {
                break;
            }
            if t > 0 {
                window += keyed[t + r - 1].0 - keyed[t - 1].0;
            }
            let bound = obj + window;
            if self.has_best && bound <= self.best_obj + self.tol {
                break;
            }
            if self.limits_hit() {
                self.open_ub = self.open_ub.max(bound);
                break;
            }
            let j = keyed[t].1 as usize;
            let g = p.mu[j] - self.lam * self.pens[d * n + j];
            let mark = self.push(j);
            self.dfs(obj + g, mu_sum + p.mu[j]);
            self.pop(mark);
            self.state[j] = OUT; // later siblings exclude it
            tried = t + 1;
        }
        for x in &keyed[..tried] {
            self.state[x.1 as usize] = AVAIL;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Constraints, ProblemConfig};
    use ndarray::array;

    fn problem(k: usize, lambda: f64) -> SelectionProblem {
        let mu = [0.5, 0.45, 0.3, 0.2, 0.1];
        let rho = array![
            [1.0, 0.9, 0.1, 0.0, -0.2],
            [0.9, 1.0, 0.1, 0.1, 0.0],
            [0.1, 0.1, 1.0, 0.3, 0.0],
            [0.0, 0.1, 0.3, 1.0, 0.2],
            [-0.2, 0.0, 0.0, 0.2, 1.0]
        ];
        let cfg = ProblemConfig {
            return_scale: crate::ReturnScale::Raw,
            k,
            lambda,
            ..Default::default()
        };
        SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap()
    }

    #[test]
    fn bookkeeping_is_restored_after_search() {
        let p = problem(3, 0.4);
        let mut b = Bnb::new(&p, &ExactConfig::default());
        b.run();
        assert!(b.state.iter().all(|&s| s == AVAIL));
        assert!(b.chosen.is_empty() && b.undo.is_empty());
        assert!(b.has_best && b.stop.is_none());
    }

    #[test]
    fn small_instance_by_hand() {
        // λ = 0: the top 2 returns; λ = 0.4: 0 and 1 cost 0.36, so 0 and 2 (penalty 0.04)
        let s = ExactSolver::new(ExactConfig::default())
            .unwrap()
            .solve(&problem(2, 0.0));
        assert_eq!(s.selected, vec![0, 1]);
        let s = ExactSolver::new(ExactConfig::default())
            .unwrap()
            .solve(&problem(2, 0.4));
        assert_eq!(s.selected, vec![0, 2]);
        assert!((s.objective - (0.8 - 0.4 * 0.1)).abs() < 1e-15);
        assert!((s.penalty - 0.04).abs() < 1e-15);
    }
}
