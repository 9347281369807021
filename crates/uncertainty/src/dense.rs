//! Small dense solvers (p ≤ a few dozen) used by the Newton and polishing steps.

/// Solves `a x = b` for a square row-major `a` (n × n) by Gaussian elimination with partial
/// pivoting. Returns `None` when the matrix is singular to working precision.
pub(crate) fn solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut m = a.to_vec();
    let mut x = b.to_vec();
    let scale = m
        .iter()
        .fold(0.0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for k in 0..n {
        let mut piv = k;
        for i in k + 1..n {
            if m[i * n + k].abs() > m[piv * n + k].abs() {
                piv = i;
            }
        }
        if m[piv * n + k].abs() <= 1e-13 * scale {
            return None;
        }
        if piv != k {
            for j in 0..n {
                m.swap(k * n + j, piv * n + j);
            }
            x.swap(k, piv);
        }
        let d = m[k * n + k];
        for i in k + 1..n {
            let f = m[i * n + k] / d;
            if f != 0.0 {
                for j in k..n {
                    m[i * n + j] -= f * m[k * n + j];
                }
                x[i] -= f * x[k];
            }
        }
    }
    for k in (0..n).rev() {
        let mut s = x[k];
        for j in k + 1..n {
            s -= m[k * n + j] * x[j];
        }
        x[k] = s / m[k * n + k];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    #[test]
    fn solves_and_detects_singular() {
        let x = super::solve(&[2.0, 1.0, 1.0, 3.0], &[3.0, 5.0], 2).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-15 && (x[1] - 1.4).abs() < 1e-15);
        assert!(super::solve(&[1.0, 2.0, 2.0, 4.0], &[1.0, 2.0], 2).is_none());
    }
}
