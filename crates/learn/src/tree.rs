//! Histogram-binned regression trees (least-squares splits), the base learner of
//! [`crate::boost`] and of NGBoost in `prudentia-uncertainty`.
//!
//! Features are binned once into at most `max_bins` (≤ 256) bins whose edges are midpoints
//! between distinct sorted values (all of them when there are few, quantile-spaced ones
//! otherwise). A node is split on the (feature, bin edge) maximizing the least-squares gain
//! `S_L²/n_L + S_R²/n_R − S²/n` — the same ordering of splits as scikit-learn's
//! `friedman_mse` / `squared_error` criteria for unweighted data — built from per-node
//! gradient histograms. Leaves predict the mean target.

use ndarray::ArrayView2;
use prudentia_core::validate::{
    check_elements, check_finite_2d, check_len, check_size, MAX_DIM, MAX_ELEMENTS,
};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::{LearnError, LearnResult};

/// The most nodes a [`Tree`] may hold (a full tree of depth 15).
pub const MAX_NODES: usize = 1 << 16;

/// A feature matrix binned once for many tree fits: per feature at most `max_bins`
/// (≤ 256) bins, stored column-major as `u8`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binned {
    n: usize,
    p: usize,
    /// Per feature, strictly increasing edges; bin(x) = #{edges < x}.
    edges: Vec<Vec<f64>>,
    /// Column-major bins, `bins[j * n + i]`.
    bins: Vec<u8>,
}

impl Binned {
    /// Bins an n × p matrix into at most `max_bins` bins per feature (clamped to 2..=256).
    ///
    /// Errors: no rows or columns, a non-finite value, more than `MAX_DIM` columns or
    /// `MAX_ELEMENTS` values.
    pub fn new(x: ArrayView2<'_, f64>, max_bins: usize) -> LearnResult<Self> {
        let (n, p) = x.dim();
        check_len("x rows", n, 1)?;
        check_len("x columns", p, 1)?;
        check_size("x columns", p, MAX_DIM)?;
        check_elements("x", &[n, p], MAX_ELEMENTS)?;
        check_finite_2d("x", x)?;
        let max_bins = max_bins.clamp(2, 256);
        let mut edges = Vec::with_capacity(p);
        let mut bins = vec![0u8; n * p];
        let mut col = vec![0.0; n];
        for j in 0..p {
            for (c, v) in col.iter_mut().zip(x.column(j)) {
                *c = *v;
            }
            col.sort_by(f64::total_cmp);
            let mut distinct: Vec<f64> = Vec::new();
            for &v in &col {
                if distinct.last() != Some(&v) {
                    distinct.push(v);
                }
            }
            let mut e: Vec<f64> = Vec::new();
            if distinct.len() <= max_bins {
                for w in distinct.windows(2) {
                    e.push(midpoint(w[0], w[1]));
                }
            } else {
                for k in 1..max_bins {
                    let idx = k * n / max_bins;
                    if idx == 0 || idx >= n {
                        continue;
                    }
                    let (a, b) = (col[idx - 1], col[idx]);
                    if a < b {
                        let t = midpoint(a, b);
                        if e.last().is_none_or(|&l| t > l) {
                            e.push(t);
                        }
                    }
                }
            }
            for (i, v) in x.column(j).iter().enumerate() {
                bins[j * n + i] = e.partition_point(|&t| t < *v) as u8;
            }
            edges.push(e);
        }
        Ok(Self { n, p, edges, bins })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.p
    }

    /// The bin edges of feature `j` (`None` past the last feature).
    pub fn edges(&self, j: usize) -> Option<&[f64]> {
        self.edges.get(j).map(Vec::as_slice)
    }
}

/// A node of a fitted tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Node {
    /// A leaf with its prediction.
    Leaf(f64),
    /// Go left when `x[feature] <= threshold`.
    Split {
        /// Feature index.
        feature: usize,
        /// Split threshold on the raw feature.
        threshold: f64,
        /// Bin index of the threshold (left when bin ≤ this).
        bin: u8,
        /// Index of the left child.
        left: u32,
        /// Index of the right child.
        right: u32,
    },
}

/// A fitted regression tree.
///
/// Its nodes are private: a tree is built by a fit or by [`Tree::new`], and validated on
/// load, so every split points strictly forward to nodes in range (no cycle, no dangling
/// child), thresholds and leaf values are finite, and a traversal visits at most
/// `nodes().len()` nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Tree {
    nodes: Vec<Node>,
}

prudentia_core::checked_serde!(Tree, Tree::check);

fn bad_tree(detail: &'static str) -> LearnError {
    CoreError::Numerical {
        operation: "tree",
        detail,
    }
    .into()
}

/// The midpoint of `a < b` without overflow (`0.5 (a + b)` when that is finite).
fn midpoint(a: f64, b: f64) -> f64 {
    let t = 0.5 * (a + b);
    if t.is_finite() {
        t
    } else {
        0.5 * a + 0.5 * b
    }
}

impl Tree {
    /// A validated tree from its nodes, root first.
    ///
    /// Errors: no nodes, more than [`MAX_NODES`], a child index not strictly after its
    /// parent or out of range, a feature index above `MAX_DIM`, a non-finite threshold or
    /// leaf value.
    pub fn new(nodes: Vec<Node>) -> LearnResult<Self> {
        let mut t = Self { nodes };
        t.check()?;
        Ok(t)
    }

    fn check(&mut self) -> LearnResult<()> {
        let n = self.nodes.len();
        check_len("tree nodes", n, 1)?;
        check_size("tree nodes", n, MAX_NODES)?;
        for (k, node) in self.nodes.iter().enumerate() {
            match *node {
                Node::Leaf(v) => {
                    if !v.is_finite() {
                        return Err(bad_tree("non-finite leaf value"));
                    }
                }
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                    ..
                } => {
                    check_size("tree feature", feature, MAX_DIM - 1)?;
                    if !threshold.is_finite() {
                        return Err(bad_tree("non-finite split threshold"));
                    }
                    for c in [left as usize, right as usize] {
                        if c <= k || c >= n {
                            return Err(bad_tree("child index not strictly after its parent and in range"));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The nodes, root first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The largest feature index a split reads (`None` for a single leaf).
    pub fn max_feature(&self) -> Option<usize> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                Node::Split { feature, .. } => Some(*feature),
                Node::Leaf(_) => None,
            })
            .max()
    }

    /// Prediction for a raw feature row.
    ///
    /// Errors: a split reads a feature beyond `row.len()`.
    pub fn predict(&self, row: &[f64]) -> LearnResult<f64> {
        let mut k = 0usize;
        // Children are strictly after their parent: at most `nodes.len()` steps.
        for _ in 0..self.nodes.len() {
            match self.nodes.get(k) {
                Some(Node::Leaf(v)) => return Ok(*v),
                Some(&Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                    ..
                }) => {
                    // `ok_or_else`: the error (two Vecs) is built only when it happens
                    let x = *row.get(feature).ok_or_else(|| CoreError::ShapeMismatch {
                        field: "features",
                        expected: vec![feature + 1],
                        found: vec![row.len()],
                    })?;
                    k = if x <= threshold {
                        left as usize
                    } else {
                        right as usize
                    };
                }
                None => break,
            }
        }
        Err(bad_tree("traversal left the tree"))
    }

    /// Prediction for row `i` of binned data (for a tree built on `b`; a row or feature out
    /// of range reads as bin 0, a traversal that leaves the tree gives 0).
    pub fn predict_binned(&self, b: &Binned, i: usize) -> f64 {
        let mut k = 0usize;
        for _ in 0..self.nodes.len() {
            match self.nodes.get(k) {
                Some(Node::Leaf(v)) => return *v,
                Some(&Node::Split {
                    feature,
                    bin,
                    left,
                    right,
                    ..
                }) => {
                    let here = b.bins.get(feature * b.n + i).copied().unwrap_or(0);
                    k = if here <= bin {
                        left as usize
                    } else {
                        right as usize
                    };
                }
                None => break,
            }
        }
        0.0
    }
}

/// The deepest tree a [`TreeBuilder`] grows (a full tree of depth 15 has [`MAX_NODES`]
/// nodes).
pub const MAX_DEPTH: usize = 15;

/// Grows least-squares regression trees on [`Binned`] data; its histogram buffers are
/// reused across fits (no allocation per fit once warmed up).
#[derive(Debug, Default, Clone)]
pub struct TreeBuilder {
    hist_sum: Vec<f64>,
    hist_cnt: Vec<u32>,
}

impl TreeBuilder {
    /// Fits a tree of depth ≤ `max_depth` (1..=[`MAX_DEPTH`]) on the targets `g[i]` of the
    /// rows `idx` (ids into `b`; `g` has one entry per row of `b`), splitting only on
    /// `features`, with at least `min_leaf` rows per leaf. `idx` is reordered.
    ///
    /// Errors: `g` not of length `b.n_rows()`, a non-finite target among `idx`, a row id
    /// or feature index out of range, `max_depth` outside 1..=15.
    pub fn fit(
        &mut self,
        b: &Binned,
        idx: &mut [usize],
        g: &[f64],
        features: &[usize],
        max_depth: usize,
        min_leaf: usize,
    ) -> LearnResult<Tree> {
        prudentia_core::validate::check_shape("targets", &[b.n], &[g.len()])?;
        if !(1..=MAX_DEPTH).contains(&max_depth) {
            return Err(CoreError::OutOfRange {
                field: "max_depth",
                value: max_depth as f64,
                expected: "in 1..=15",
            }
            .into());
        }
        if let Some(&i) = idx.iter().find(|&&i| i >= b.n) {
            check_size("row id", i, b.n.saturating_sub(1))?;
        }
        if let Some(&f) = features.iter().find(|&&f| f >= b.p) {
            check_size("feature index", f, b.p.saturating_sub(1))?;
        }
        prudentia_core::validate::check_finite_iter("targets", idx.iter().map(|&i| &g[i]))?;
        let mut tree = self.grow(b, idx, g, features, max_depth, min_leaf);
        // Sums of targets near f64::MAX can overflow: such a tree is an error, not an Ok.
        tree.check()?;
        Ok(tree)
    }

    fn grow(
        &mut self,
        b: &Binned,
        idx: &mut [usize],
        g: &[f64],
        features: &[usize],
        max_depth: usize,
        min_leaf: usize,
    ) -> Tree {
        // g is indexed by sample id.
        let mut nodes = Vec::with_capacity(1 << (max_depth + 1));
        nodes.push(Node::Leaf(0.0));
        // Stack of (node index, start, end, depth).
        let mut stack = vec![(0usize, 0usize, idx.len(), 0usize)];
        self.hist_sum.resize(256, 0.0);
        self.hist_cnt.resize(256, 0);
        while let Some((node, s, e, depth)) = stack.pop() {
            let cnt = e - s;
            let sum: f64 = idx[s..e].iter().map(|&i| g[i]).sum();
            let mean = if cnt > 0 { sum / cnt as f64 } else { 0.0 };
            nodes[node] = Node::Leaf(mean);
            if depth >= max_depth || cnt < min_leaf.max(1).saturating_mul(2) {
                continue;
            }
            // Impurity zero → leaf.
            if idx[s..e].iter().all(|&i| g[i] == g[idx[s]]) {
                continue;
            }
            let parent = sum * sum / cnt as f64;
            let mut best: Option<(f64, usize, u8)> = None;
            for &f in features {
                let nb = b.edges[f].len() + 1;
                if nb < 2 {
                    continue;
                }
                let hs = &mut self.hist_sum[..nb];
                let hc = &mut self.hist_cnt[..nb];
                hs.iter_mut().for_each(|v| *v = 0.0);
                hc.iter_mut().for_each(|v| *v = 0);
                let col = &b.bins[f * b.n..(f + 1) * b.n];
                for &i in &idx[s..e] {
                    let k = col[i] as usize;
                    hs[k] += g[i];
                    hc[k] += 1;
                }
                let (mut sl, mut cl) = (0.0, 0usize);
                for k in 0..nb - 1 {
                    sl += hs[k];
                    cl += hc[k] as usize;
                    if hc[k] == 0 {
                        continue;
                    }
                    let cr = cnt - cl;
                    if cl < min_leaf.max(1) || cr < min_leaf.max(1) {
                        continue;
                    }
                    let sr = sum - sl;
                    let gain = sl * sl / cl as f64 + sr * sr / cr as f64 - parent;
                    if best.is_none_or(|(bg, _, _)| gain > bg) {
                        best = Some((gain, f, k as u8));
                    }
                }
            }
            let Some((gain, f, bin)) = best else { continue };
            if gain <= 1e-14 * parent.abs().max(1e-300) && gain <= 0.0 {
                continue;
            }
            // Partition idx[s..e] by bin ≤ bin.
            let col = &b.bins[f * b.n..(f + 1) * b.n];
            let mut lo = s;
            let mut hi = e;
            while lo < hi {
                if col[idx[lo]] <= bin {
                    lo += 1;
                } else {
                    hi -= 1;
                    idx.swap(lo, hi);
                }
            }
            let left = nodes.len();
            nodes.push(Node::Leaf(0.0));
            nodes.push(Node::Leaf(0.0));
            nodes[node] = Node::Split {
                feature: f,
                threshold: b.edges[f][bin as usize],
                bin,
                left: left as u32,
                right: (left + 1) as u32,
            };
            stack.push((left + 1, lo, e, depth + 1));
            stack.push((left, s, lo, depth + 1));
        }
        Tree { nodes }
    }
}
