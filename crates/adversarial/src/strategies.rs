//! Proptest strategies with adversarial values.
//!
//! Each draws mostly ordinary values with a large share of the ones that break numerical
//! code: NaN, ±inf, ±0, `1e300`, `-1e300`, `1e150`, `5e-324` (the smallest subnormal),
//! `f64::MIN_POSITIVE`, `f64::MAX`; sizes of 0, 1, 2⁴⁰ and `usize::MAX`; matrices with
//! duplicate, constant or near-collinear columns, scaled to 1e±150, or with NaN sprinkled in.

use ndarray::Array2;
use proptest::prelude::*;

/// The special values every float strategy mixes in.
pub const SPECIAL_F64: [f64; 14] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    1e300,
    -1e300,
    1e150,
    -1e150,
    5e-324,
    f64::MIN_POSITIVE,
    f64::MAX,
    f64::MIN,
    1e-300,
];

/// Only the special values.
pub fn special_f64() -> impl Strategy<Value = f64> {
    proptest::sample::select(SPECIAL_F64.to_vec())
}

/// Ordinary values in `[-10, 10]` (60%) and special values (40%).
pub fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![6 => -10.0..10.0f64, 4 => special_f64()]
}

/// Finite values only: ordinary, tiny, huge and subnormal.
pub fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -10.0..10.0f64,
        4 => proptest::sample::select(vec![0.0, -0.0, 1e300, -1e300, 1e150, -1e150, 5e-324, f64::MIN_POSITIVE, f64::MAX, f64::MIN, 1e-300])
    ]
}

/// A price-like value: mostly in `(1, 500)`, otherwise special.
pub fn price() -> impl Strategy<Value = f64> {
    prop_oneof![7 => 1.0..500.0f64, 3 => special_f64()]
}

/// Sizes: small (0–4), moderate (4–100), and absurd (2²⁰, 2⁴⁰, `usize::MAX`).
pub fn any_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..4,
        4 => 4usize..100,
        2 => proptest::sample::select(vec![1usize << 20, 1usize << 40, usize::MAX])
    ]
}

/// A vector of [`any_f64`] with its length in `len`.
pub fn vec_f64(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(any_f64(), len)
}

/// How a generated matrix is made hostile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Twist {
    /// Left as drawn (uniform in [-1, 1)).
    None,
    /// Multiplied by 1e150.
    Huge,
    /// Multiplied by 1e-150.
    Tiny,
    /// One NaN.
    OneNan,
    /// One +inf.
    OneInf,
    /// Column 1 copies column 0.
    DuplicateColumn,
    /// Column 0 is constant.
    ConstantColumn,
    /// Column 1 is column 0 plus 1e-12 noise.
    NearCollinear,
    /// All zeros.
    Zeros,
}

/// A `rows × cols` matrix (shapes drawn from the ranges) with one [`Twist`].
pub fn matrix(
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> impl Strategy<Value = Array2<f64>> {
    let twist = proptest::sample::select(vec![
        Twist::None,
        Twist::None,
        Twist::Huge,
        Twist::Tiny,
        Twist::OneNan,
        Twist::OneInf,
        Twist::DuplicateColumn,
        Twist::ConstantColumn,
        Twist::NearCollinear,
        Twist::Zeros,
    ]);
    (rows, cols, twist).prop_flat_map(|(r, c, t)| {
        proptest::collection::vec(-1.0..1.0f64, r * c).prop_map(move |data| {
            let mut m = Array2::from_shape_vec((r, c), data).unwrap_or_else(|_| Array2::zeros((r, c)));
            apply(&mut m, t);
            m
        })
    })
}

fn apply(m: &mut Array2<f64>, t: Twist) {
    let (r, c) = m.dim();
    if r == 0 || c == 0 {
        return;
    }
    match t {
        Twist::None => {}
        Twist::Huge => m.mapv_inplace(|x| x * 1e150),
        Twist::Tiny => m.mapv_inplace(|x| x * 1e-150),
        Twist::OneNan => m[[r / 2, c / 2]] = f64::NAN,
        Twist::OneInf => m[[r / 2, c / 2]] = f64::INFINITY,
        Twist::DuplicateColumn if c > 1 => {
            let col = m.column(0).to_owned();
            m.column_mut(1).assign(&col);
        }
        Twist::ConstantColumn => m.column_mut(0).fill(0.5),
        Twist::NearCollinear if c > 1 => {
            for i in 0..r {
                m[[i, 1]] = m[[i, 0]] + 1e-12 * (i as f64);
            }
        }
        Twist::Zeros => m.fill(0.0),
        _ => {}
    }
}
