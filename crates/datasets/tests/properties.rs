//! Property tests of the frame invariants: CSV round trip, the returns rule, alignment.

use chrono::NaiveDate;
use ndarray::Array2;
use proptest::prelude::*;
use prudentia_core::Timestamp;
use prudentia_datasets::*;

/// A frame with `t` rows (random gaps between dates), `n` columns, positive prices and some
/// missing values.
fn frame_strategy() -> impl Strategy<Value = Frame> {
    (1usize..30, 1usize..4).prop_flat_map(|(t, n)| {
        (
            prop::collection::vec(1i64..5, t),
            prop::collection::vec(prop::option::weighted(0.8, 0.01f64..1000.0), t * n),
        )
            .prop_map(move |(gaps, vals)| {
                let base = NaiveDate::from_ymd_opt(2001, 1, 1).unwrap();
                let mut day = 0i64;
                let dates = gaps
                    .iter()
                    .map(|g| {
                        day += g;
                        Timestamp::from_date(base + chrono::Duration::days(day))
                    })
                    .collect();
                let columns = (0..n).map(|j| format!("c{j}")).collect();
                let values = Array2::from_shape_fn((t, n), |(i, j)| vals[i * n + j].unwrap_or(f64::NAN));
                Frame::new(dates, columns, values).unwrap()
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn csv_round_trip(f in frame_strategy()) {
        let back = parse_frame(&f.to_csv_string()).unwrap();
        prop_assert_eq!(&back, &f);
        prop_assert_eq!(back.missing_counts(), f.missing_counts());
    }

    #[test]
    fn returns_rule(f in frame_strategy()) {
        prop_assume!(f.n_rows() >= 2);
        let r = f.simple_returns().unwrap();
        let l = f.log_returns().unwrap();
        prop_assert_eq!(r.n_rows(), f.n_rows() - 1);
        prop_assert_eq!(r.dates(), &f.dates()[1..]);
        let (p, m) = (f.values(), f.missing_mask());
        for t in 0..r.n_rows() {
            for j in 0..r.n_columns() {
                let missing = m[[t, j]] || m[[t + 1, j]];
                prop_assert_eq!(r.missing_mask()[[t, j]], missing);
                prop_assert_eq!(l.missing_mask()[[t, j]], missing);
                if !missing {
                    let simple = p[[t + 1, j]] / p[[t, j]] - 1.0;
                    prop_assert_eq!(r.values()[[t, j]], simple);
                    prop_assert!((l.values()[[t, j]] - (1.0 + simple).ln()).abs() < 1e-12);
                } else {
                    prop_assert!(r.values()[[t, j]].is_nan());
                }
            }
        }
    }

    #[test]
    fn align_is_an_inner_join(a in frame_strategy(), b in frame_strategy()) {
        let common: Vec<Timestamp> =
            a.dates().iter().filter(|d| b.dates().contains(d)).copied().collect();
        match align(&a, &b) {
            Ok((x, y)) => {
                prop_assert_eq!(x.dates(), &common[..]);
                prop_assert_eq!(y.dates(), &common[..]);
                for (t, d) in common.iter().enumerate() {
                    let (ra, rb) = (a.row_of(d.date()).unwrap(), b.row_of(d.date()).unwrap());
                    for j in 0..a.n_columns() {
                        prop_assert_eq!(x.missing_mask()[[t, j]], a.missing_mask()[[ra, j]]);
                    }
                    for j in 0..b.n_columns() {
                        prop_assert_eq!(y.missing_mask()[[t, j]], b.missing_mask()[[rb, j]]);
                    }
                }
            }
            Err(e) => {
                prop_assert!(common.is_empty());
                prop_assert_eq!(e, DatasetError::NoCommonDates);
            }
        }
    }
}
