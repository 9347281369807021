//! Fitted models serialize and predict identically after a round trip; public types are
//! Send + Sync; invariants hold (proptest).

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use prudentia_core::{Forecast, Horizon, RegimeLabel};
use prudentia_uncertainty::calibrate::{
    CalibratedBlender, CalibrationEvent, CalibratorConfig, RegimeCalibrator,
};
use prudentia_uncertainty::conformal::{AciConfig, AdaptiveConformal, SplitConformal};
use prudentia_uncertainty::convert::{forecast_from_quantiles, normal_quantiles, CrossingRepair};
use prudentia_uncertainty::hetero::{HeteroConfig, HeteroModel, HeteroscedasticRegression};
use prudentia_uncertainty::isotonic::{pav_in_place, IsotonicConfig, IsotonicModel, IsotonicRegression};
use prudentia_uncertainty::ngboost::{NgBoost, NgBoostConfig, NgBoostModel};
use prudentia_uncertainty::platt::PlattScaling;
use prudentia_uncertainty::quantreg::{QuantRegConfig, QuantileRegression, QuantileRegressionModel};
use serde::{de::DeserializeOwned, Serialize};

fn rt<T: Serialize + DeserializeOwned>(v: &T) -> T {
    serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
}

fn data() -> (Array2<f64>, Array1<f64>) {
    let n = 200;
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        ((i * 7 + j * 13) % 17) as f64 / 17.0 - 0.5 + 0.001 * i as f64
    });
    let y = Array1::from_shape_fn(n, |i| {
        x[[i, 0]] + (1.0 + x[[i, 1]]) * (((i * 31) % 23) as f64 / 23.0 - 0.5)
    });
    (x, y)
}

#[test]
fn models_predict_identically_after_round_trip() {
    let (x, y) = data();
    let row = [0.1, -0.2];
    let q: QuantileRegressionModel = QuantileRegression::new(QuantRegConfig::default())
        .unwrap()
        .fit(x.view(), y.view())
        .unwrap();
    assert_eq!(
        rt(&q).predict(&row, CrossingRepair::Rearrange).unwrap(),
        q.predict(&row, CrossingRepair::Rearrange).unwrap()
    );
    let h: HeteroModel = HeteroscedasticRegression::new(HeteroConfig::default())
        .unwrap()
        .fit(x.view(), y.view())
        .unwrap();
    assert_eq!(rt(&h).predict(&row).unwrap(), h.predict(&row).unwrap());
    let ng: NgBoostModel = NgBoost::new(NgBoostConfig {
        n_estimators: 50,
        ..Default::default()
    })
    .unwrap()
    .fit(x.view(), y.view(), None)
    .unwrap();
    assert_eq!(rt(&ng).predict(&row).unwrap(), ng.predict(&row).unwrap());
    let xs: Vec<f64> = x.column(0).to_vec();
    let ys: Vec<f64> = y.to_vec();
    let iso: IsotonicModel = IsotonicRegression::new(IsotonicConfig::default())
        .unwrap()
        .fit(&xs, &ys, None)
        .unwrap();
    assert_eq!(rt(&iso).predict(0.05).unwrap(), iso.predict(0.05).unwrap());
    let labels: Vec<bool> = ys.iter().map(|&v| v > 0.0).collect();
    let p = PlattScaling::fit(&xs, &labels, &Default::default()).unwrap();
    assert_eq!(rt(&p).predict(0.3).unwrap(), p.predict(0.3).unwrap());
}

#[test]
fn online_state_checkpoint_restore_gives_identical_outputs() {
    let f = Forecast::new(0.0, 1.0, Horizon::DAY).unwrap();
    let seq: Vec<f64> = (0..600)
        .map(|i| ((i * 37 % 101) as f64 / 101.0 - 0.5) * if i > 300 { 6.0 } else { 2.0 })
        .collect();
    let mut aci = AdaptiveConformal::new(AciConfig::default()).unwrap();
    let mut cal = RegimeCalibrator::new(CalibratorConfig {
        min_samples: 10,
        ..Default::default()
    })
    .unwrap();
    let r = RegimeLabel::HIGH_VOL;
    for &y in &seq[..300] {
        let _ = aci.update(&f, y, &r).unwrap();
        cal.learn_one(&f, y, &r);
    }
    let mut aci2: AdaptiveConformal = rt(&aci);
    let mut cal2: RegimeCalibrator = rt(&cal);
    for &y in &seq[300..] {
        assert_eq!(aci.interval(&f, &r).unwrap(), aci2.interval(&f, &r).unwrap());
        assert_eq!(aci.update(&f, y, &r).unwrap(), aci2.update(&f, y, &r).unwrap());
        cal.learn_one(&f, y, &r);
        cal2.learn_one(&f, y, &r);
        assert_eq!(
            cal.calibrate_detailed(&f, &r).unwrap(),
            cal2.calibrate_detailed(&f, &r).unwrap()
        );
    }
    let sc = SplitConformal::calibrate(Default::default(), &vec![f.clone(); 300], &seq[..300], None).unwrap();
    assert_eq!(rt(&sc).interval(&f, &r).unwrap(), sc.interval(&f, &r).unwrap());
}

trait LearnOne {
    fn learn_one(&mut self, f: &Forecast, y: f64, r: &RegimeLabel);
}

impl LearnOne for RegimeCalibrator {
    fn learn_one(&mut self, f: &Forecast, y: f64, r: &RegimeLabel) {
        use prudentia_core::traits::OnlineLearner;
        self.learn(&CalibrationEvent {
            forecast: f.clone(),
            regime: r.clone(),
            outcome: y,
        })
        .unwrap();
    }
}

#[test]
fn public_types_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<RegimeCalibrator>();
    check::<CalibratedBlender>();
    check::<AdaptiveConformal>();
    check::<SplitConformal>();
    check::<NgBoostModel>();
    check::<QuantileRegressionModel>();
    check::<prudentia_uncertainty::UncertaintyError>();
    let _: Box<dyn prudentia_core::traits::Calibrator> =
        Box::new(RegimeCalibrator::new(Default::default()).unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pav_output_is_monotone_and_preserves_weighted_mean(y in prop::collection::vec(-10.0f64..10.0, 1..60)) {
        let mut z = y.clone();
        let w = vec![1.0; y.len()];
        pav_in_place(&mut z, &w).unwrap();
        prop_assert!(z.windows(2).all(|p| p[0] <= p[1] + 1e-12));
        let (a, b): (f64, f64) = (y.iter().sum(), z.iter().sum());
        prop_assert!((a - b).abs() < 1e-9);
    }

    #[test]
    fn normal_quantiles_round_trip(mean in -1.0f64..1.0, sigma in 0.001f64..2.0) {
        let levels = [0.05, 0.25, 0.5, 0.75, 0.95];
        let q = normal_quantiles(mean, sigma, &levels).unwrap();
        let v: Vec<f64> = q.iter().map(|q| q.value).collect();
        let f = forecast_from_quantiles(&levels, &v, Horizon::DAY, CrossingRepair::Error).unwrap();
        prop_assert!((f.mean - mean).abs() < 1e-10 && (f.sigma - sigma).abs() < 1e-10 * sigma.max(1.0));
    }

    #[test]
    fn conformal_quantile_is_a_score(scores in prop::collection::vec(0.0f64..5.0, 1..100), alpha in 0.01f64..0.99) {
        let f = Forecast::new(0.0, 1.0, Horizon::DAY).unwrap();
        let sc = SplitConformal::calibrate(
            prudentia_uncertainty::conformal::ConformalConfig { alpha, ..Default::default() },
            &vec![f.clone(); scores.len()], &scores, None).unwrap();
        let iv = sc.interval(&f, &RegimeLabel::UNKNOWN).unwrap();
        prop_assert!(scores.iter().any(|&s| (s - iv.upper).abs() < 1e-15));
        let covered = scores.iter().filter(|&&s| iv.contains(s)).count() as f64 / scores.len() as f64;
        prop_assert!(covered >= 1.0 - alpha - 1e-12 || covered == 1.0);
    }
}

/// Issue #22 (6): a `HeteroModel` fitted on noiseless data wrote `objective: null` and could
/// not be loaded. Its objective is now finite and the model reloads and predicts the same.
#[test]
fn hetero_model_fitted_on_noiseless_data_reloads() {
    let n = 50;
    let x = Array2::from_shape_fn((n, 1), |(i, _)| i as f64 / 10.0);
    let y = Array1::from_shape_fn(n, |i| 1.0 + 2.0 * x[[i, 0]]);
    let h = HeteroscedasticRegression::new(HeteroConfig::default())
        .unwrap()
        .fit(x.view(), y.view())
        .unwrap();
    assert!(h.objective().is_finite());
    let text = serde_json::to_string(&h).unwrap();
    let back: HeteroModel = serde_json::from_str(&text).unwrap();
    assert_eq!(back, h);
    let (m, s) = back.predict(&[0.5]).unwrap();
    assert!((m - 2.0).abs() < 1e-9 && s.is_finite() && s > 0.0);
}

/// Issue #22 (6): tampered checkpoints of stateful types are load errors, never a later
/// panic or NaN.
#[test]
fn tampered_checkpoints_are_refused() {
    use prudentia_uncertainty::conformal::ScoreWindow;
    // Isotonic knots out of order, or none at all.
    assert!(serde_json::from_str::<IsotonicModel>(r#"{"x":[],"y":[],"out_of_bounds":"Clip"}"#).is_err());
    assert!(
        serde_json::from_str::<IsotonicModel>(r#"{"x":[2.0,1.0],"y":[0.0,1.0],"out_of_bounds":"Clip"}"#)
            .is_err()
    );
    assert!(
        serde_json::from_str::<IsotonicModel>(r#"{"x":[1.0,2.0],"y":[0.0],"out_of_bounds":"Clip"}"#).is_err()
    );
    // Unsorted scores, FIFO not matching them, an absurd window.
    assert!(serde_json::from_str::<ScoreWindow>(r#"{"sorted":[2.0,1.0],"fifo":[],"window":0}"#).is_err());
    assert!(
        serde_json::from_str::<ScoreWindow>(r#"{"sorted":[1.0,2.0],"fifo":[1.0,3.0],"window":5}"#).is_err()
    );
    assert!(
        serde_json::from_str::<ScoreWindow>(r#"{"sorted":[],"fifo":[],"window":1099511627776}"#).is_err()
    );
    assert!(
        serde_json::from_str::<ScoreWindow>(r#"{"sorted":[1.0,2.0],"fifo":[2.0,1.0],"window":5}"#).is_ok()
    );
    // A Platt map with a null (NaN) slope; a hetero model with mismatched coefficients.
    assert!(serde_json::from_str::<PlattScaling>(
        r#"{"a":null,"b":0.0,"iterations":1,"status":"Converged"}"#
    )
    .is_err());
    let (x, y) = data();
    let h = HeteroscedasticRegression::new(HeteroConfig::default())
        .unwrap()
        .fit(x.view(), y.view())
        .unwrap();
    let mut v = serde_json::to_value(&h).unwrap();
    v["log_sigma_coef"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<HeteroModel>(v).is_err());
    // An ACI state with more misses than observations.
    let mut aci = AdaptiveConformal::new(AciConfig::default()).unwrap();
    let f = Forecast::new(0.0, 1.0, Horizon::DAY).unwrap();
    aci.update(&f, 0.5, &RegimeLabel::UNKNOWN).unwrap();
    let mut v = serde_json::to_value(&aci).unwrap();
    v["pooled"]["misses"] = serde_json::json!(5);
    assert!(serde_json::from_value::<AdaptiveConformal>(v).is_err());
    // A calibrator whose statistics overflow.
    let mut cal = RegimeCalibrator::new(CalibratorConfig::default()).unwrap();
    cal.learn_one(&f, 0.3, &RegimeLabel::UNKNOWN);
    let mut v = serde_json::to_value(&cal).unwrap();
    v["pooled"]["stats"]["s0"] = serde_json::json!(1e308);
    v["pooled"]["stats"]["s1"] = serde_json::json!(-1e308);
    assert!(serde_json::from_value::<RegimeCalibrator>(v).is_err());
}
