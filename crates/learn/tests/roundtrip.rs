//! Every model reloads from its own checkpoint, and tampered checkpoints are load errors.

use ndarray::{array, Array1, Array2};
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegression, LinearRegressionConfig};
use prudentia_learn::logistic::{BinaryData, LogisticRegression, LogisticRegressionConfig};
use prudentia_learn::rls::{RecursiveLeastSquares, RlsConfig};

fn data() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn((30, 2), |(i, j)| ((i * (j + 3) * 7) % 17) as f64 / 17.0);
    let y = Array1::from_shape_fn(30, |i| x[[i, 0]] - x[[i, 1]] + ((i % 5) as f64 - 2.0) * 0.1);
    let labels = y.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    (x, y, labels)
}

#[test]
fn models_roundtrip_bit_for_bit() {
    let (x, y, labels) = data();
    let clusters: Vec<u64> = (0..30).map(|i| i / 5).collect();
    let lin = LinearRegressionConfig::ols(CovarianceKind::Clustered)
        .fit(&LinearData::new(x.view(), y.view()).clustered(&clusters))
        .unwrap();
    let back: LinearRegression = serde_json::from_str(&serde_json::to_string(&lin).unwrap()).unwrap();
    assert_eq!(back, lin);
    let logit = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), labels.view()))
        .unwrap();
    let back: LogisticRegression = serde_json::from_str(&serde_json::to_string(&logit).unwrap()).unwrap();
    assert_eq!(back, logit);
    let mut rls = RecursiveLeastSquares::new(RlsConfig::new(2)).unwrap();
    for (r, &v) in x.rows().into_iter().zip(y.iter()) {
        let _ = rls.update(r.as_slice().unwrap(), v).unwrap();
    }
    let back: RecursiveLeastSquares = serde_json::from_str(&serde_json::to_string(&rls).unwrap()).unwrap();
    assert_eq!(back, rls);
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        serde_json::to_string(&rls).unwrap()
    );
    // the reloaded model keeps learning (scratch rebuilt)
    let mut back = back;
    let _ = back.update(&[0.5, 0.5], 0.0).unwrap();
}

#[test]
fn tampered_checkpoints_are_refused() {
    let (x, y, _) = data();
    let lin = LinearRegressionConfig::default()
        .fit(&LinearData::new(x.view(), y.view()))
        .unwrap();
    let mut v = serde_json::to_value(&lin).unwrap();
    v["coefficients"] = serde_json::json!([1.0]);
    assert!(serde_json::from_value::<LinearRegression>(v).is_err());
    let mut v = serde_json::to_value(&lin).unwrap();
    v["correlation"][1] = serde_json::json!(0.5);
    assert!(serde_json::from_value::<LinearRegression>(v).is_err());
    let mut v = serde_json::to_value(&lin).unwrap();
    v["config"]["ridge"] = serde_json::json!(-1.0);
    assert!(serde_json::from_value::<LinearRegression>(v).is_err());

    let mut rls = RecursiveLeastSquares::new(RlsConfig::new(2)).unwrap();
    let _ = rls.update(&[1.0, 2.0], 1.0).unwrap();
    // P is saved as its square root S (P = S Sᵀ); a legacy checkpoint carries P itself
    let mut v = serde_json::to_value(&rls).unwrap();
    let _ = v.as_object_mut().unwrap().remove("s");
    v["p"] = serde_json::json!([-1.0, 0.0, 0.0, 1.0]);
    assert!(serde_json::from_value::<RecursiveLeastSquares>(v).is_err());
    let mut v = serde_json::to_value(&rls).unwrap();
    v["s"] = serde_json::json!([0.0, 0.0, 0.0, 1.0]);
    assert!(serde_json::from_value::<RecursiveLeastSquares>(v).is_err());
    let mut v = serde_json::to_value(&rls).unwrap();
    v["config"]["n_features"] = serde_json::json!(3);
    assert!(serde_json::from_value::<RecursiveLeastSquares>(v).is_err());
    let mut v = serde_json::to_value(&rls).unwrap();
    v["config"]["forgetting"] = serde_json::json!(1.5);
    assert!(serde_json::from_value::<RecursiveLeastSquares>(v).is_err());
    assert!(serde_json::from_str::<LinearRegressionConfig>(r#"{"ridge": -2.0}"#).is_err());
    let c: LinearRegressionConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(c, LinearRegressionConfig::default());
    let _ = array![0.0];
}
