//! Shared inputs of the dependency evaluation (issue #13): the fixture inputs of
//! crates/learn/tests/reference.rs and boost.rs, rebuilt exactly as those tests build them,
//! the synthetic data of the speed runs, and a median timer.

use ndarray::{Array1, Array2, Axis};
use serde_json::Value;
use std::time::Instant;

/// Root of the repository (this project sits in tools/dep-eval/learn).
pub fn repo() -> String {
    format!("{}/../../..", env!("CARGO_MANIFEST_DIR"))
}

/// One JSON fixture of crates/learn/tests/fixtures.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/crates/learn/tests/fixtures/{name}", repo());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture JSON")
}

/// A JSON array of numbers.
pub fn vec_of(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A JSON array of rows.
pub fn matrix_of(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(vec_of).collect();
    Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j])
}

/// (names, daily returns T-1 × 5) of crates/datasets/data/factors_daily.csv, as the fixture
/// script derives them.
fn returns() -> (Vec<String>, Array2<f64>) {
    let path = format!("{}/crates/datasets/data/factors_daily.csv", repo());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let names: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .skip(1)
        .map(String::from)
        .collect();
    let closes: Vec<Vec<f64>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .skip(1)
                .map(|v| v.parse::<f64>().expect("close"))
                .collect()
        })
        .collect();
    let t = closes.len();
    let r = Array2::from_shape_fn((t - 1, names.len()), |(i, j)| {
        closes[i + 1][j] / closes[i][j] - 1.0
    });
    (names, r)
}

/// The regression of linear.json: MTUM on QUAL, SIZE, USMV, VLUE (daily returns), and the
/// WLS weights of the fixture.
pub fn linear_inputs() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let (names, r) = returns();
    let col = |n: &str| names.iter().position(|m| m == n).expect("column");
    let y = r.column(col("MTUM")).to_owned();
    let idx: Vec<usize> = ["QUAL", "SIZE", "USMV", "VLUE"].iter().map(|n| col(n)).collect();
    let x = r.select(Axis(1), &idx);
    let w = r.column(col("USMV")).mapv(|v| 1.0 / (0.5 + v.abs() * 100.0));
    (x, y, w)
}

/// The classification of logistic.json: 1[MTUM up] on the four returns in percent.
pub fn logistic_inputs() -> (Array2<f64>, Array1<f64>) {
    let (names, r) = returns();
    let col = |n: &str| names.iter().position(|m| m == n).expect("column");
    let y = r.column(col("MTUM")).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let idx: Vec<usize> = ["QUAL", "SIZE", "USMV", "VLUE"].iter().map(|n| col(n)).collect();
    let x = r.select(Axis(1), &idx).mapv(|v| 100.0 * v);
    (x, y)
}

/// splitmix64, the generator of crates/learn/benches/boost.rs.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform on [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The data of crates/learn/benches/learn.rs `ols_hc1` (x ~ U(-1,1)^p, y = 0.1 Σx + U(-1,1));
/// same distribution and size, drawn with splitmix instead of rand's StdRng.
pub fn ols_data(seed: u64, n: usize, p: usize) -> (Array2<f64>, Array1<f64>) {
    let mut g = SplitMix(seed);
    let x = Array2::from_shape_fn((n, p), |_| 2.0 * g.uniform() - 1.0);
    let y = Array1::from_shape_fn(n, |i| x.row(i).sum() * 0.1 + 2.0 * g.uniform() - 1.0);
    (x, y)
}

/// Logistic data: x ~ U(-1,1)^p, P(y = 1) = σ(0.2 + Σ_j β_j x_j) with β_j = (-1)^j / √p · 2.
pub fn logistic_data(seed: u64, n: usize, p: usize) -> (Array2<f64>, Array1<f64>) {
    let mut g = SplitMix(seed);
    let x = Array2::from_shape_fn((n, p), |_| 2.0 * g.uniform() - 1.0);
    let scale = 2.0 / (p as f64).sqrt();
    let y = Array1::from_shape_fn(n, |i| {
        let z: f64 = 0.2
            + x.row(i)
                .iter()
                .enumerate()
                .map(|(j, v)| if j % 2 == 0 { scale * v } else { -scale * v })
                .sum::<f64>();
        let prob = 1.0 / (1.0 + (-z).exp());
        if g.uniform() < prob {
            1.0
        } else {
            0.0
        }
    });
    (x, y)
}

/// The data of crates/learn/benches/boost.rs: x ~ U(-1,1)^p;
/// y = x0 + 0.5 x1 + exp(-1 + 0.8 x0 - 0.3 x2) ε (identical generator and seed).
pub fn hetero_data(seed: u64, n: usize, p: usize) -> (Array2<f64>, Array1<f64>) {
    let mut g = SplitMix(seed);
    let mut x = Array2::zeros((n, p));
    let mut y = Array1::zeros(n);
    for i in 0..n {
        for j in 0..p {
            x[[i, j]] = 2.0 * g.uniform() - 1.0;
        }
        let sig = (-1.0 + 0.8 * x[[i, 0]] - 0.3 * x[[i, 2 % p]]).exp();
        y[i] = x[[i, 0]] + 0.5 * x[[i, 1 % p]] + sig * g.normal();
    }
    (x, y)
}

/// Column-major copy of `x`, the layout perpetual's `Matrix` reads.
pub fn column_major(x: &Array2<f64>) -> Vec<f64> {
    x.t().iter().copied().collect()
}

/// Root mean squared difference.
pub fn rmse(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// CPU time of the whole process (all threads) in seconds: on a machine shared with other
/// jobs a single-threaded fit's CPU time is close to its unloaded wall time, while its wall
/// time counts every slice the scheduler gave to someone else.
pub fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and the clock id is a constant that Linux
    // supports; the call only writes `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Milliseconds per call of `runs` calls of `f` after `warmup` calls, as medians (and
/// minima) of wall time and of process CPU time.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Median wall time.
    pub wall_median: f64,
    /// Shortest wall time.
    pub wall_min: f64,
    /// Median process CPU time.
    pub cpu_median: f64,
    /// Shortest process CPU time.
    pub cpu_min: f64,
}

/// Times `runs` calls of `f` after `warmup` calls.
pub fn time_ms<T>(warmup: usize, runs: usize, mut f: impl FnMut() -> T) -> Timing {
    for _ in 0..warmup {
        std::hint::black_box(f());
    }
    let mut wall = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for _ in 0..runs {
        let c0 = process_cpu_seconds();
        let start = Instant::now();
        std::hint::black_box(f());
        wall.push(start.elapsed().as_secs_f64() * 1e3);
        cpu.push((process_cpu_seconds() - c0) * 1e3);
    }
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    Timing {
        wall_median: wall[runs / 2],
        wall_min: wall[0],
        cpu_median: cpu[runs / 2],
        cpu_min: cpu[0],
    }
}
