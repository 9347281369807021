//! Boosted trees and their base trees (moved from prudentia-uncertainty with NGBoost's
//! tree tests, assertions unchanged), against scikit-learn's HistGradientBoostingRegressor.

use ndarray::{Array1, Array2};
use prudentia_core::traits::{Fit, Predict};
use prudentia_learn::boost::{BatchRefit, BatchRefitConfig, BoostConfig, BoostData, BoostedTrees};
use prudentia_learn::tree::{Node, Tree};
use serde_json::Value;

fn fixture() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/boost.json"))
        .expect("fixture");
    serde_json::from_str(&text).expect("json")
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows = v.as_array().expect("rows");
    let p = rows[0].as_array().expect("row").len();
    Array2::from_shape_fn((rows.len(), p), |(i, j)| rows[i][j].as_f64().expect("number"))
}

fn vector(v: &Value) -> Array1<f64> {
    v.as_array()
        .expect("vector")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn rmse(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    ((a - b).mapv(|e| e * e).sum() / a.len() as f64).sqrt()
}

/// Issue #22 (4), the tree half (moved from prudentia-uncertainty tests/ngboost.rs): a tree
/// whose node points to itself (or backwards) used to load and then hang `predict`; it is
/// now refused on load.
#[test]
fn cyclic_or_dangling_trees_are_refused_on_load() {
    let cyclic = r#"{"nodes":[{"Split":{"feature":0,"threshold":0.5,"bin":0,"left":0,"right":0}}]}"#;
    assert!(serde_json::from_str::<Tree>(cyclic).is_err());
    let backwards = r#"{"nodes":[{"Leaf":1.0},{"Split":{"feature":0,"threshold":0.5,"bin":0,"left":0,"right":2}},{"Leaf":2.0}]}"#;
    assert!(serde_json::from_str::<Tree>(backwards).is_err());
    let dangling =
        r#"{"nodes":[{"Split":{"feature":0,"threshold":0.5,"bin":0,"left":1,"right":7}},{"Leaf":1.0}]}"#;
    assert!(serde_json::from_str::<Tree>(dangling).is_err());
    let ok = r#"{"nodes":[{"Split":{"feature":3,"threshold":0.5,"bin":0,"left":1,"right":2}},{"Leaf":1.0},{"Leaf":2.0}]}"#;
    let t: Tree = serde_json::from_str(ok).unwrap();
    assert_eq!(t.predict(&[0.0, 0.0, 0.0, 1.0]).unwrap(), 2.0);
    assert!(t.predict(&[0.0]).is_err(), "a short row is an error, not a panic");
}

/// Issue #22 (11) (moved from prudentia-uncertainty tests/bad_input.rs
/// `no_panics_and_no_silent_infinities`): the tree constructor validates.
#[test]
fn tree_constructor_validates() {
    assert!(Tree::new(vec![]).is_err());
    assert!(Tree::new(vec![Node::Leaf(f64::NAN)]).is_err());
}

/// On Friedman #1 the test RMSE is within 5% of scikit-learn's HistGradientBoostingRegressor
/// with the same settings (tools/fixtures/learn/make_boost_fixture.py).
#[test]
fn boosted_trees_match_sklearn_accuracy() {
    let f = fixture();
    let (xtr, ytr) = (matrix(&f["x_train"]), vector(&f["y_train"]));
    let (xte, yte) = (matrix(&f["x_test"]), vector(&f["y_test"]));
    let sk_rmse = f["sklearn_rmse_test"].as_f64().unwrap();
    let sk_pred = vector(&f["sklearn_pred_test"]);
    let cfg = BoostConfig {
        n_rounds: 200,
        learning_rate: 0.1,
        max_depth: 3,
        min_samples_leaf: 5,
        ..Default::default()
    };
    let m = Fit::fit(&cfg, &BoostData::new(xtr.view(), ytr.view())).unwrap();
    assert!(m.status().is_converged());
    let ours = Predict::predict(&m, xte.view()).unwrap();
    let r = rmse(&ours, &yte);
    let gap = rmse(&ours, &sk_pred);
    println!(
        "boosted trees Friedman#1 test RMSE: ours {r:.4}, sklearn {sk_rmse:.4}, ours vs sklearn {gap:.4}"
    );
    assert!(r <= 1.05 * sk_rmse, "ours {r} vs sklearn {sk_rmse}");
    assert!(gap < 0.5, "predictions differ from sklearn's by RMSE {gap}");
    // The training loss falls round after round.
    let l = m.train_mse();
    assert!(l.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-12)));
}

/// Subsampling is seeded: the same seed gives the same model, another seed another one.
#[test]
fn subsampling_is_reproducible_from_the_seed() {
    let f = fixture();
    let (x, y) = (matrix(&f["x_train"]), vector(&f["y_train"]));
    let cfg = BoostConfig {
        n_rounds: 30,
        subsample: 0.5,
        col_sample: 0.6,
        seed: 7,
        ..Default::default()
    };
    let data = BoostData::new(x.view(), y.view());
    let a = cfg.fit(&data).unwrap();
    let b = cfg.fit(&data).unwrap();
    assert_eq!(a, b);
    let c = BoostConfig { seed: 8, ..cfg }.fit(&data).unwrap();
    assert_ne!(a, c);
    let text = serde_json::to_string(&a).unwrap();
    let back: BoostedTrees = serde_json::from_str(&text).unwrap();
    assert_eq!(back.predict(x.view()).unwrap(), a.predict(x.view()).unwrap());
}

/// Targets in units from 5e-324 to 1e300 fit (the target is rescaled internally).
#[test]
fn extreme_target_scales_fit() {
    let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * (3 + j)) % 17) as f64);
    let base = Array1::from_shape_fn(200, |i| if x[[i, 0]] > 8.0 { 2.0 } else { -1.0 });
    for unit in [1e300, f64::MAX / 2.0, 1e-300, 5e-324] {
        let y = base.mapv(|v| v * unit);
        let m = BoostConfig {
            n_rounds: 50,
            learning_rate: 0.5,
            ..Default::default()
        }
        .fit(&BoostData::new(x.view(), y.view()))
        .unwrap();
        let p = m.predict(x.view()).unwrap();
        assert!(p.iter().all(|v| v.is_finite()));
        let err = rmse(&p.mapv(|v| v / unit), &base) / 2.0;
        assert!(err < 0.01, "unit {unit:e}: relative rmse {err}");
    }
}

/// The batch refitter refits every `every` rows on its window, refuses bad rows without a
/// trace, and a checkpoint continues identically.
#[test]
fn batch_refit_refits_on_schedule_and_restores() {
    let cfg = BatchRefitConfig {
        boost: BoostConfig {
            n_rounds: 20,
            ..Default::default()
        },
        window: 300,
        every: 100,
        min_rows: 150,
        n_features: 2,
    };
    let mut r = BatchRefit::new(cfg).unwrap();
    let row = |i: usize| [((i * 7) % 13) as f64, ((i * 5) % 11) as f64];
    let target = |i: usize| row(i)[0] * 0.5 - row(i)[1];
    let mut refits = Vec::new();
    for i in 0..400 {
        if r.push(&row(i), target(i)).unwrap() {
            refits.push(i);
        }
    }
    assert_eq!(refits, vec![149, 249, 349]);
    assert_eq!(r.len(), 300);
    let before = r.clone();
    assert!(r.push(&[1.0], 0.0).is_err());
    assert!(r.push(&[1.0, f64::NAN], 0.0).is_err());
    assert!(r.push(&[1.0, 2.0], f64::INFINITY).is_err());
    assert_eq!(r, before, "a rejected row changes nothing");
    let p = r.predict_one(&row(3)).unwrap().unwrap();
    assert!((p - target(3)).abs() < 1.0, "{p}");

    let mut restored: BatchRefit = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    for i in 400..650 {
        assert_eq!(
            r.push(&row(i), target(i)).unwrap(),
            restored.push(&row(i), target(i)).unwrap()
        );
    }
    assert_eq!(r, restored);
}

/// Bad settings and data are typed errors.
#[test]
fn boost_bad_input_is_refused() {
    let x = Array2::from_shape_fn((10, 2), |(i, j)| (i + j) as f64);
    let y = Array1::from_shape_fn(10, |i| i as f64);
    let ok = BoostConfig::default();
    assert!(ok
        .fit(&BoostData::new(x.view(), y.slice(ndarray::s![..9])))
        .is_err());
    let mut yn = y.clone();
    yn[3] = f64::NAN;
    assert!(ok.fit(&BoostData::new(x.view(), yn.view())).is_err());
    for bad in [
        BoostConfig { n_rounds: 0, ..ok },
        BoostConfig {
            n_rounds: usize::MAX,
            ..ok
        },
        BoostConfig {
            learning_rate: 0.0,
            ..ok
        },
        BoostConfig {
            learning_rate: f64::NAN,
            ..ok
        },
        BoostConfig { subsample: 1.5, ..ok },
        BoostConfig { max_depth: 13, ..ok },
        BoostConfig { max_bins: 1, ..ok },
    ] {
        assert!(bad.fit(&BoostData::new(x.view(), y.view())).is_err(), "{bad:?}");
    }
    assert!(BatchRefit::new(BatchRefitConfig {
        window: 1 << 40,
        ..BatchRefitConfig::new(3)
    })
    .is_err());
}

/// A full window recycles its oldest row: the stored rows are the last `window`, in order.
#[test]
fn batch_refit_full_window_keeps_the_latest_rows_in_order() {
    let cfg = BatchRefitConfig {
        window: 3,
        every: 1000,
        min_rows: 3,
        ..BatchRefitConfig::new(2)
    };
    let mut r = BatchRefit::new(cfg).unwrap();
    for i in 0..10 {
        assert!(!r.push(&[i as f64, -(i as f64)], 10.0 * i as f64).unwrap());
    }
    assert_eq!(r.len(), 3);
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(v["x"], serde_json::json!([[7.0, -7.0], [8.0, -8.0], [9.0, -9.0]]));
    assert_eq!(v["y"], serde_json::json!([70.0, 80.0, 90.0]));
}
