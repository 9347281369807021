//! Passes over a row-major n × n matrix for the correlation check (issue #18).
//!
//! Each pass reads the matrix once: rows in lanes the compiler vectorizes, and the
//! transposed pairs `(a_ij, a_ji)` tile by tile so that both tiles stay in the first cache
//! level (a column walk of a 500 × 500 matrix misses on every entry). The
//! values they compute do not depend on the order of the pass (maxima of finite numbers,
//! bitwise comparisons and pairwise operations), so they equal the straightforward
//! row-by-row loops; the functions that name an entry (`first_*`) scan in row-major order and
//! run only on the error path.

/// Lanes of the vectorized row passes.
const LANES: usize = 8;

/// Side of the square tiles of the transposed-pair passes (two 8 KiB tiles, 32 × 32 × 8
/// bytes each, inside a 32 KiB first-level cache).
const TILE: usize = 32;

/// Largest `|x_i|` of a slice (0 when empty; NaN never wins) and whether every entry is
/// finite.
fn max_abs_finite(x: &[f64]) -> (f64, bool) {
    let mut m = [0.0_f64; LANES];
    let mut ok = [true; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let a = c[l].abs();
            ok[l] &= a <= f64::MAX;
            m[l] = if a > m[l] { a } else { m[l] };
        }
    }
    let mut max = 0.0_f64;
    let mut finite = true;
    for l in 0..LANES {
        max = if m[l] > max { m[l] } else { max };
        finite &= ok[l];
    }
    for &v in rest {
        let a = v.abs();
        finite &= a <= f64::MAX;
        max = if a > max { a } else { max };
    }
    (max, finite)
}

/// What one pass over the rows of a square matrix found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowScan {
    /// Every entry finite.
    pub finite: bool,
    /// Largest `|a_ij|`, `i ≠ j` (0 for n = 1).
    pub max_offdiag_abs: f64,
    /// Largest `|a_ii − 1|`.
    pub max_diagonal_error: f64,
}

impl RowScan {
    fn new() -> Self {
        Self {
            finite: true,
            max_offdiag_abs: 0.0,
            max_diagonal_error: 0.0,
        }
    }

    /// Adds row `i`.
    #[inline]
    fn row(&mut self, i: usize, row: &[f64]) {
        let (before, rest) = row.split_at(i);
        let (diag, after) = (rest[0], &rest[1..]);
        let (m1, f1) = max_abs_finite(before);
        let (m2, f2) = max_abs_finite(after);
        self.finite &= f1 && f2 && diag.is_finite();
        self.max_offdiag_abs = self.max_offdiag_abs.max(m1).max(m2);
        self.max_diagonal_error = self.max_diagonal_error.max((diag - 1.0).abs());
    }
}

/// The rows of `a` (row-major n × n): finiteness, the largest off-diagonal magnitude and the
/// largest diagonal error. The maxima are meaningful when `finite`.
pub(crate) fn scan_rows(a: &[f64], n: usize) -> RowScan {
    let mut s = RowScan::new();
    for (i, row) in a.chunks_exact(n.max(1)).take(n).enumerate() {
        s.row(i, row);
    }
    s
}

/// A copy of the row-major n × n `src` with its [`scan_rows`], in one pass: each row is
/// measured while it is in the first-level cache.
pub(crate) fn copy_rows(src: &[f64], n: usize) -> (Vec<f64>, RowScan) {
    let mut out = Vec::with_capacity(n * n);
    let mut s = RowScan::new();
    for (i, row) in src.chunks_exact(n.max(1)).take(n).enumerate() {
        out.extend_from_slice(row);
        s.row(i, row);
    }
    (out, s)
}

/// Whether some pair `(a_ij, a_ji)` differs in its bits (`0.0` against `−0.0` counts:
/// averaging the pair would change it). Tile by tile: each tile `(I, J)` above the diagonal
/// is compared with its mirror `(J, I)` while both are in the first-level cache.
pub(crate) fn asymmetric_bits(a: &[f64], n: usize) -> bool {
    let mut diff = 0u64;
    for_upper_pairs(n, |i, j| diff |= a[i * n + j].to_bits() ^ a[j * n + i].to_bits());
    diff != 0
}

/// Calls `f(i, j)` for every pair `i < j` of an n × n matrix, tile by tile.
#[inline(always)]
fn for_upper_pairs(n: usize, mut f: impl FnMut(usize, usize)) {
    for ib in (0..n).step_by(TILE) {
        let ie = (ib + TILE).min(n);
        for jb in (ib..n).step_by(TILE) {
            let je = (jb + TILE).min(n);
            for i in ib..ie {
                for j in jb.max(i + 1)..je {
                    f(i, j);
                }
            }
        }
    }
}

/// Largest `|a_ij − a_ji|` over `i < j` of a finite row-major n × n matrix (0 for a
/// symmetric one).
pub(crate) fn max_asymmetry(a: &[f64], n: usize) -> f64 {
    let mut worst = 0.0_f64;
    for_upper_pairs(n, |i, j| {
        worst = worst.max((a[i * n + j] - a[j * n + i]).abs());
    });
    worst
}

/// Replaces each pair `(a_ij, a_ji)` by its mean `(a_ij + a_ji)/2`.
pub(crate) fn symmetrize(a: &mut [f64], n: usize) {
    for_upper_pairs(n, |i, j| {
        let m = 0.5 * (a[i * n + j] + a[j * n + i]);
        a[i * n + j] = m;
        a[j * n + i] = m;
    });
}

/// Clamps every entry to [−1, 1] and sets the diagonal to exactly 1.
pub(crate) fn clamp_unit_diagonal(a: &mut [f64], n: usize) {
    for (i, row) in a.chunks_exact_mut(n.max(1)).enumerate() {
        for v in row.iter_mut() {
            *v = v.clamp(-1.0, 1.0);
        }
        row[i] = 1.0;
    }
}

/// The first pair `(i, j)`, `i < j`, in row-major order with `|a_ij − a_ji| == d`.
pub(crate) fn first_asymmetric_pair(a: &[f64], n: usize, d: f64) -> Option<(usize, usize)> {
    (0..n).find_map(|i| {
        ((i + 1)..n)
            .find(|&j| (a[i * n + j] - a[j * n + i]).abs() == d)
            .map(|j| (i, j))
    })
}

/// The first off-diagonal entry in row-major order with `|a_ij| == m`.
pub(crate) fn first_offdiag_with_abs(a: &[f64], n: usize, m: f64) -> Option<f64> {
    a.chunks_exact(n.max(1))
        .take(n)
        .enumerate()
        .find_map(|(i, row)| row.iter().enumerate().find(|&(j, v)| j != i && v.abs() == m))
        .map(|(_, &v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic n × n matrix with values in (−2, 2), a few exact ties and signed zeros.
    fn matrix(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n * n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                match s % 11 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 0.5,
                    _ => 4.0 * ((s >> 11) as f64 / (1u64 << 53) as f64) - 2.0,
                }
            })
            .collect()
    }

    #[test]
    fn passes_equal_the_row_by_row_loops() {
        for (n, seed) in [(1, 1), (2, 2), (7, 3), (33, 4), (64, 5), (97, 6)] {
            for symmetric in [false, true] {
                let mut a = matrix(n, seed);
                if symmetric {
                    for i in 0..n {
                        for j in 0..i {
                            a[i * n + j] = a[j * n + i];
                        }
                    }
                }
                let mut want = RowScan::new();
                let mut asymmetric = false;
                let mut worst = 0.0_f64;
                for i in 0..n {
                    want.max_diagonal_error = want.max_diagonal_error.max((a[i * n + i] - 1.0).abs());
                    for j in 0..n {
                        if j != i {
                            want.max_offdiag_abs = want.max_offdiag_abs.max(a[i * n + j].abs());
                        }
                        if j > i {
                            worst = worst.max((a[i * n + j] - a[j * n + i]).abs());
                            asymmetric |= a[i * n + j].to_bits() != a[j * n + i].to_bits();
                        }
                    }
                }
                assert_eq!(asymmetric, !symmetric && n > 1);
                assert_eq!(asymmetric_bits(&a, n), asymmetric, "n {n}");
                assert_eq!(scan_rows(&a, n), want, "n {n}");
                let (copy, scan) = copy_rows(&a, n);
                assert_eq!(scan, want, "n {n}");
                assert!(
                    copy.len() == a.len() && copy.iter().zip(&a).all(|(x, y)| x.to_bits() == y.to_bits())
                );
                assert_eq!(max_asymmetry(&a, n), worst);
                let mut sym = a.clone();
                symmetrize(&mut sym, n);
                for i in 0..n {
                    for j in 0..n {
                        let m = if i == j {
                            a[i * n + i]
                        } else {
                            0.5 * (a[i * n + j] + a[j * n + i])
                        };
                        assert_eq!(sym[i * n + j].to_bits(), m.to_bits());
                    }
                }
                assert!(!asymmetric_bits(&sym, n));
                if n > 1 && !symmetric {
                    let (i, j) = first_asymmetric_pair(&a, n, worst).unwrap();
                    assert!(i < j && (a[i * n + j] - a[j * n + i]).abs() == worst);
                    let v = first_offdiag_with_abs(&a, n, want.max_offdiag_abs).unwrap();
                    assert_eq!(v.abs(), want.max_offdiag_abs);
                }
            }
        }
    }

    #[test]
    fn a_non_finite_entry_anywhere_is_seen() {
        for n in [1, 5, 9, 40] {
            for at in [0, n * n / 2, n * n - 1, n + 1] {
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    let mut a = vec![0.25; n * n];
                    if at < a.len() {
                        a[at] = bad;
                        assert!(
                            !scan_rows(&a, n).finite && !copy_rows(&a, n).1.finite,
                            "n {n} at {at} {bad}"
                        );
                    }
                }
            }
            assert!(scan_rows(&vec![f64::MAX; n * n], n).finite);
        }
    }
}
