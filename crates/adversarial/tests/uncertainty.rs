//! prudentia-uncertainty under bad input: every constructor, fit, predict/calibrate/interval,
//! learn/update and deserialize entry point, with a table of bad values, seeded sweeps over
//! adversarial matrices and vectors, and checkpoint mutation of every stateful type (each
//! mutated checkpoint is loaded and then used).

use ndarray::{Array1, Array2};
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::{Calibrator, Forecaster, OnlineLearner};
use prudentia_core::{AssetInfo, Forecast, Horizon, RegimeLabel, RegimeState};
use prudentia_uncertainty::calibrate::{
    BlendEvent, BlendMethod, BlenderConfig, CalibratedBlender, CalibrationEvent, CalibratorConfig,
    CalibratorSelection, RegimeCalibrator,
};
use prudentia_uncertainty::conformal::{
    AciConfig, AdaptiveConformal, ConformalConfig, Cqr, ScoreKind, ScoreWindow, SplitConformal,
};
use prudentia_uncertainty::convert::{
    check_quantiles, forecast_from_quantiles, forecast_quantile, forecast_with_quantiles, normal_quantiles,
    CrossingRepair,
};
use prudentia_uncertainty::hetero::{HeteroConfig, HeteroForecaster, HeteroModel, HeteroscedasticRegression};
use prudentia_uncertainty::isotonic::{
    pav_in_place, IsotonicConfig, IsotonicModel, IsotonicRegression, OutOfBounds,
};
use prudentia_uncertainty::ngboost::{NgBoost, NgBoostConfig, NgBoostForecaster, NgBoostModel};
use prudentia_uncertainty::platt::{PlattConfig, PlattScaling};
use prudentia_uncertainty::probability::{ProbabilityConfig, ProbabilityMethod, RegimeProbabilityCalibrator};
use prudentia_uncertainty::quantreg::{
    QuantRegConfig, QuantRegSolver, QuantileForecaster, QuantileRegression, QuantileRegressionModel,
};
use prudentia_uncertainty::scores::{
    crps_normal, ece, interval_score, pit_histogram, pit_normal, quantile_calibration_error, Binning,
};
use serde::de::DeserializeOwned;

/// The bad values of the table.
const BAD: [f64; 10] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    0.0,
    -0.0,
];

/// Absurd sizes.
const SIZES: [usize; 4] = [0, 1 << 20, 1 << 40, usize::MAX];

/// A forecast with the given numbers put into its public fields (bypassing
/// `Forecast::new`, as a caller or a JSON file may).
fn raw(mean: f64, sigma: f64) -> Forecast {
    let mut f = Forecast::new(0.0, 1.0, Horizon::DAY).expect("valid");
    f.mean = mean;
    f.sigma = sigma;
    f
}

/// A deterministic, well-conditioned design and a heteroscedastic response.
fn data(n: usize, p: usize) -> (Array2<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn((n, p), |(i, j)| {
        (((i * 7 + j * 13) % 17) as f64 / 17.0 - 0.5) + 0.001 * i as f64 * (j as f64 + 1.0)
    });
    let y = Array1::from_shape_fn(n, |i| {
        x[[i, 0]] + (1.0 + x[[i, p - 1]].abs()) * (((i * 31) % 23) as f64 / 23.0 - 0.5)
    });
    (x, y)
}

fn events(n: usize) -> Vec<CalibrationEvent> {
    (0..n)
        .map(|i| {
            let z = ((i * 37 % 101) as f64 + 0.5) / 101.0 - 0.5;
            CalibrationEvent {
                forecast: Forecast::new(0.001 * (i % 7) as f64, 0.01, Horizon::DAY).expect("valid"),
                regime: if i % 3 == 0 {
                    RegimeLabel::HIGH_VOL
                } else {
                    RegimeLabel::LOW_VOL
                },
                outcome: 0.03 * z,
            }
        })
        .collect()
}

fn blend_events(n: usize) -> Vec<BlendEvent> {
    events(n)
        .into_iter()
        .enumerate()
        .map(|(i, e)| BlendEvent {
            forecasts: vec![
                e.forecast.clone(),
                Forecast::new(e.outcome * 0.5 + 0.001 * (i % 5) as f64, 0.02, Horizon::DAY).expect("valid"),
            ],
            regime: e.regime,
            outcome: e.outcome,
        })
        .collect()
}

fn iso_model() -> IsotonicModel {
    let x: Vec<f64> = (0..30).map(|i| i as f64 / 10.0).collect();
    let y: Vec<f64> = (0..30)
        .map(|i| ((i * 7) % 11) as f64 / 11.0 + i as f64 / 30.0)
        .collect();
    IsotonicRegression::new(IsotonicConfig::default())
        .expect("valid")
        .fit(&x, &y, None)
        .expect("fits")
}

fn ng_model() -> NgBoostModel {
    let (x, y) = data(60, 2);
    NgBoost::new(NgBoostConfig {
        n_estimators: 4,
        max_depth: 2,
        ..Default::default()
    })
    .expect("valid")
    .fit(x.view(), y.view(), None)
    .expect("fits")
}

fn finite_pair(v: &(f64, f64)) -> Result<(), String> {
    if v.1 > 0.0 {
        Ok(())
    } else {
        Err(format!("sigma {} not > 0", v.1))
    }
}

#[test]
fn uncertainty_fits_and_predictions() {
    let mut s = Suite::new("uncertainty (fits)");

    // Quantile regression, both solvers, on a table of poisoned responses and designs.
    for solver in [QuantRegSolver::FrischNewton, QuantRegSolver::Clarabel] {
        for &b in &BAD {
            s.check(format!("quantreg {solver:?} y[3] = {b:e}"), move || {
                let (x, mut y) = data(40, 2);
                y[3] = b;
                let qr = QuantileRegression::new(QuantRegConfig {
                    solver,
                    ..Default::default()
                })
                .expect("valid");
                result(qr.fit(x.view(), y.view()))
            });
            s.check(format!("quantreg {solver:?} x scaled {b:e}"), move || {
                let (mut x, y) = data(40, 2);
                x.mapv_inplace(|v| v * b);
                let qr = QuantileRegression::new(QuantRegConfig {
                    solver,
                    ..Default::default()
                })
                .expect("valid");
                match qr.fit(x.view(), y.view()) {
                    Ok(m) => {
                        result(m.predict(&[0.1, 0.2], CrossingRepair::Rearrange)).and(|| Check::ok_finite(&m))
                    }
                    Err(_) => Check::Rejected,
                }
            });
        }
    }
    for (i, levels) in [vec![], vec![0.5, 0.5], vec![0.0], vec![f64::NAN], vec![0.2, 1.0]]
        .into_iter()
        .enumerate()
    {
        s.check(format!("QuantRegConfig levels #{i}"), move || {
            result(QuantileRegression::new(QuantRegConfig {
                levels,
                ..Default::default()
            }))
        });
    }
    s.check("QuantRegConfig max_iter u32::MAX", || {
        result(QuantileRegression::new(QuantRegConfig {
            max_iter: u32::MAX,
            ..Default::default()
        }))
    });
    s.sweep(
        "quantreg fit (adversarial matrix)",
        (matrix(0..30, 0..4), vec_f64(0..30)),
        |(x, y)| {
            let y = Array1::from(y);
            let qr = QuantileRegression::new(QuantRegConfig::default()).expect("valid");
            match qr.fit(x.view(), y.view()) {
                Ok(m) => {
                    let row = vec![0.3; m.n_features()];
                    Check::ok_finite(&m)
                        .and(|| result(m.predict(&row, CrossingRepair::Rearrange)))
                        .and(|| result(m.predict_level(x.view(), usize::MAX)))
                        .and(|| result(m.predict_level(x.view(), 0)))
                }
                Err(_) => Check::Rejected,
            }
        },
    );

    // Heteroscedastic regression.
    for &b in &BAD {
        s.check(format!("hetero y[5] = {b:e}"), move || {
            let (x, mut y) = data(40, 2);
            y[5] = b;
            let h = HeteroscedasticRegression::new(HeteroConfig::default()).expect("valid");
            match h.fit(x.view(), y.view()) {
                Ok(m) => Check::ok_finite(&m).and(|| result_with(m.predict(&[0.1, 0.2]), finite_pair)),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("hetero predict feature {b:e}"), move || {
            let (x, y) = data(40, 2);
            let m = HeteroscedasticRegression::new(HeteroConfig::default())
                .expect("valid")
                .fit(x.view(), y.view())
                .expect("fits");
            result_with(m.predict(&[b, 1.0]), finite_pair)
        });
        s.check(format!("HeteroConfig tol {b:e}"), move || {
            result(HeteroscedasticRegression::new(HeteroConfig {
                tol: b,
                ..Default::default()
            }))
        });
    }
    s.check("hetero noiseless data reloads", || {
        let x = Array2::from_shape_fn((30, 1), |(i, _)| i as f64);
        let y = Array1::from_shape_fn(30, |i| 3.0 - 0.5 * i as f64);
        match HeteroscedasticRegression::new(HeteroConfig::default())
            .expect("valid")
            .fit(x.view(), y.view())
        {
            Ok(m) => {
                let text = serde_json::to_string(&m).expect("serializes");
                match serde_json::from_str::<HeteroModel>(&text) {
                    Ok(back) => Check::invariant(back == m, "reloaded model differs"),
                    Err(e) => Check::Broken(format!("own output does not reload: {e}")),
                }
            }
            Err(_) => Check::Rejected,
        }
    });
    s.sweep(
        "hetero fit (adversarial matrix)",
        (matrix(0..30, 1..4), vec_f64(0..30)),
        |(x, y)| {
            let y = Array1::from(y);
            match HeteroscedasticRegression::new(HeteroConfig::default())
                .expect("valid")
                .fit(x.view(), y.view())
            {
                Ok(m) => {
                    let row = vec![0.5; m.n_features()];
                    Check::ok_finite(&m).and(|| match m.predict(&row) {
                        Ok(v) => Check::ok_finite(&v),
                        Err(_) => Check::Ok,
                    })
                }
                Err(_) => Check::Rejected,
            }
        },
    );

    // NGBoost.
    for &b in &BAD {
        s.check(format!("ngboost y[0] = {b:e}"), move || {
            let (x, mut y) = data(40, 2);
            y[0] = b;
            let ng = NgBoost::new(NgBoostConfig {
                n_estimators: 10,
                ..Default::default()
            })
            .expect("valid");
            match ng.fit(x.view(), y.view(), None) {
                Ok(m) => Check::ok_finite(&m).and(|| result_with(m.predict(&[0.0, 0.0]), finite_pair)),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("ngboost validation y = {b:e}"), move || {
            let (x, y) = data(40, 2);
            let (xv, mut yv) = data(10, 2);
            yv[1] = b;
            let ng = NgBoost::new(NgBoostConfig {
                n_estimators: 10,
                early_stopping_rounds: Some(2),
                ..Default::default()
            })
            .expect("valid");
            result(ng.fit(x.view(), y.view(), Some((xv.view(), yv.view()))))
        });
        for field in ["learning_rate", "minibatch_frac", "col_sample", "tol"] {
            s.check(format!("NgBoostConfig {field} = {b:e}"), move || {
                let mut c = NgBoostConfig::default();
                match field {
                    "learning_rate" => c.learning_rate = b,
                    "minibatch_frac" => c.minibatch_frac = b,
                    "col_sample" => c.col_sample = b,
                    _ => c.tol = b,
                }
                result(NgBoost::new(c))
            });
        }
    }
    s.check("ngboost tol 0 (no gradient stop)", || {
        let (x, y) = data(30, 1);
        let ng = NgBoost::new(NgBoostConfig {
            n_estimators: 30,
            tol: 0.0,
            learning_rate: 1.0,
            ..Default::default()
        })
        .expect("valid");
        result(ng.fit(x.view(), y.view(), None))
    });
    for n in SIZES {
        s.check(format!("NgBoostConfig sizes {n}"), move || {
            let c = NgBoostConfig {
                n_estimators: n,
                min_samples_leaf: n.max(1),
                max_bins: n,
                max_depth: n,
                early_stopping_rounds: Some(n),
                ..Default::default()
            };
            result(NgBoost::new(c))
        });
        s.check(format!("NgBoostConfig n_estimators {n}"), move || {
            result(NgBoost::new(NgBoostConfig {
                n_estimators: n,
                ..Default::default()
            }))
        });
        s.check(format!("NgBoostConfig min_samples_leaf {n}"), move || {
            result(NgBoost::new(NgBoostConfig {
                min_samples_leaf: n,
                ..Default::default()
            }))
        });
    }
    s.sweep(
        "ngboost fit (adversarial matrix)",
        (matrix(0..25, 0..4), vec_f64(0..25)),
        |(x, y)| {
            let y = Array1::from(y);
            let ng = NgBoost::new(NgBoostConfig {
                n_estimators: 8,
                learning_rate: 0.5,
                ..Default::default()
            })
            .expect("valid");
            match ng.fit(x.view(), y.view(), None) {
                Ok(m) => {
                    let row = vec![0.1; m.n_features()];
                    Check::ok_finite(&m).and(|| match m.predict(&row) {
                        Ok(v) => Check::ok_finite(&v),
                        Err(_) => Check::Ok,
                    })
                }
                Err(_) => Check::Rejected,
            }
        },
    );
    s.sweep("ngboost predict", vec_f64(0..4), |row| {
        let m = ng_model();
        match m.predict(&row) {
            Ok(v) => Check::ok_finite(&v).and(|| Check::invariant(v.1 > 0.0, "sigma > 0")),
            Err(_) => Check::Rejected,
        }
    });

    // (The hand-built tree checks moved with the trees to the `learn` module.)

    // Isotonic regression and models.
    for &b in &BAD {
        s.check(format!("isotonic fit y = {b:e}"), move || {
            let iso = IsotonicRegression::new(IsotonicConfig::default()).expect("valid");
            match iso.fit(
                &[0.0, 1.0, 1.0, 2.0],
                &[1.0, b, b, 0.0],
                Some(&[1.0, b.abs(), 1.0, 2.0]),
            ) {
                Ok(m) => Check::ok_finite(&m).and(|| result(m.predict(0.5))),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("isotonic predict/inverse {b:e}"), move || {
            let m = iso_model();
            result(m.predict(b))
                .and(|| result(m.inverse(b)))
                .and(|| result(m.predict_many(&[b, 0.1])))
        });
        s.check(format!("IsotonicConfig y_min {b:e}"), move || {
            result(IsotonicRegression::new(IsotonicConfig {
                y_min: Some(b),
                y_max: Some(1.0),
                ..Default::default()
            }))
        });
        s.check(
            format!("IsotonicModel::new knot {b:e}"),
            move || match IsotonicModel::new(vec![0.0, b, 2.0], vec![0.0, 0.5, b], OutOfBounds::Error) {
                Ok(m) => result(m.predict(1.0)).and(|| result(m.inverse(0.25))),
                Err(_) => Check::Rejected,
            },
        );
        s.check(format!("pav_in_place weight {b:e}"), move || {
            let mut y = vec![3.0, 1.0, 2.0, b];
            match pav_in_place(&mut y, &[1.0, b, 1.0, 1.0]) {
                Ok(()) => Check::ok_finite(&y),
                Err(_) => Check::Rejected,
            }
        });
    }
    s.check("pav_in_place mismatched lengths", || {
        let mut y = vec![1.0, 2.0, 3.0];
        result(pav_in_place(&mut y, &[1.0]))
    });
    s.sweep(
        "isotonic fit",
        (vec_f64(0..40), vec_f64(0..40), any_f64()),
        |(x, y, q)| {
            let n = x.len().min(y.len());
            let iso = IsotonicRegression::new(IsotonicConfig::default()).expect("valid");
            match iso.fit(&x[..n], &y[..n], None) {
                Ok(m) => Check::ok_finite(&m).and(|| match m.predict(q) {
                    Ok(v) => Check::ok_finite(&v),
                    Err(_) => Check::Ok,
                }),
                Err(_) => Check::Rejected,
            }
        },
    );

    // Platt scaling.
    for &b in &BAD {
        s.check(
            format!("platt scores with {b:e}"),
            move || match PlattScaling::fit(
                &[b, 1.0, 2.0, -1.0],
                &[true, false, true, false],
                &PlattConfig::default(),
            ) {
                Ok(p) => Check::ok_finite(&p).and(|| result(p.predict(0.5))),
                Err(_) => Check::Rejected,
            },
        );
        s.check(format!("platt scaled scores {b:e}"), move || {
            let scores: Vec<f64> = [-2.0, -1.0, 1.0, 2.0, 0.5].iter().map(|v| v * b).collect();
            match PlattScaling::fit(
                &scores,
                &[false, true, false, true, true],
                &PlattConfig::default(),
            ) {
                Ok(p) => Check::ok_finite(&p).and(|| result(p.predict(b))),
                Err(_) => Check::Rejected,
            }
        });
        s.check(
            format!("platt predict {b:e}"),
            move || match PlattScaling::from_coefficients(b, 1.0) {
                Ok(p) => result(p.predict(b)),
                Err(_) => Check::Rejected,
            },
        );
        s.check(format!("PlattConfig tol {b:e}"), move || {
            result(
                PlattConfig {
                    tol: b,
                    ..Default::default()
                }
                .validate(),
            )
        });
    }
    s.sweep(
        "platt fit",
        (
            vec_f64(0..30),
            proptest::collection::vec(proptest::bool::ANY, 0..30),
        ),
        |(sc, lb)| {
            let n = sc.len().min(lb.len());
            match PlattScaling::fit(&sc[..n], &lb[..n], &PlattConfig::default()) {
                Ok(p) => Check::ok_finite(&p).and(|| result(p.predict(1.0))),
                Err(_) => Check::Rejected,
            }
        },
    );

    // Per-regime probability calibration.
    for method in [ProbabilityMethod::Platt, ProbabilityMethod::Isotonic] {
        for &b in &BAD {
            s.check(format!("probability {method:?} score {b:e}"), move || {
                let scores: Vec<f64> = (0..20).map(|i| i as f64 / 20.0).chain([b]).collect();
                let outcomes: Vec<bool> = (0..21).map(|i| i % 3 != 0).collect();
                let regimes: Vec<RegimeLabel> = (0..21)
                    .map(|i| {
                        if i % 2 == 0 {
                            RegimeLabel::HIGH_VOL
                        } else {
                            RegimeLabel::LOW_VOL
                        }
                    })
                    .collect();
                let cfg = ProbabilityConfig {
                    method,
                    min_samples: 2,
                };
                match RegimeProbabilityCalibrator::fit(cfg, &scores, &outcomes, &regimes) {
                    Ok(c) => result(c.calibrate(0.3, &RegimeLabel::HIGH_VOL))
                        .and(|| result(c.calibrate(b, &RegimeLabel::UNKNOWN))),
                    Err(_) => Check::Rejected,
                }
            });
        }
        for n in SIZES {
            s.check(format!("probability {method:?} min_samples {n}"), move || {
                let cfg = ProbabilityConfig {
                    method,
                    min_samples: n,
                };
                result(RegimeProbabilityCalibrator::fit(
                    cfg,
                    &[0.1, 0.9, 0.4],
                    &[false, true, true],
                    &[RegimeLabel::UNKNOWN, RegimeLabel::UNKNOWN, RegimeLabel::UNKNOWN],
                ))
            });
        }
    }

    // Metrics and conversions.
    for &b in &BAD {
        s.check(format!("crps_normal {b:e}"), move || {
            result(crps_normal(0.0, 1.0, b))
                .and(|| result(crps_normal(b, 1e-300, 1.0)))
                .and(|| result(crps_normal(0.0, b, 1.0)))
        });
        s.check(format!("pit_normal {b:e}"), move || {
            result(pit_normal(&[0.0, b], &[1.0, 1e-300], &[b, 1.0]))
        });
        s.check(format!("interval_score {b:e}"), move || {
            result(interval_score(&[-b.abs(), 0.0], &[b.abs(), 1.0], &[0.0, b]))
        });
        s.check(format!("normal_quantiles {b:e}"), move || {
            result(normal_quantiles(b, 1e308, &[0.01, 0.5, 0.99]))
                .and(|| result(normal_quantiles(0.0, b, &[0.5])))
                .and(|| result(forecast_with_quantiles(b, 1.0, Horizon::DAY, &[0.1, 0.9])))
        });
        s.check(format!("forecast_from_quantiles {b:e}"), move || {
            result(forecast_from_quantiles(
                &[0.1, 0.5, 0.9],
                &[-b, 0.0, b],
                Horizon::DAY,
                CrossingRepair::Rearrange,
            ))
            .and(|| result(check_quantiles(&[0.1, 0.9], &[b, 0.0], CrossingRepair::Error)))
        });
        s.check(format!("forecast_quantile {b:e}"), move || {
            result(forecast_quantile(&raw(b, 1.0), 0.3))
                .and(|| result(forecast_quantile(&raw(1.7e308, 1e308), 0.99)))
                .and(|| result(forecast_quantile(&raw(0.0, 1.0), b)))
        });
    }
    for n in SIZES {
        s.check(format!("ece n_bins {n}"), move || {
            result(ece(&[0.1, 0.9], &[false, true], n, Binning::EqualWidth))
                .and(|| result(ece(&[0.1, 0.9], &[false, true], n, Binning::EqualMass)))
        });
        s.check(format!("pit_histogram n_bins {n}"), move || {
            result(pit_histogram(&[0.1, 0.9], n))
        });
    }
    s.sweep("ece", (vec_f64(0..30), 0usize..40), |(p, nb)| {
        let o: Vec<bool> = p.iter().map(|v| *v > 0.0).collect();
        result(ece(&p, &o, nb, Binning::EqualMass))
            .and(|| result(pit_histogram(&p, nb)))
            .and(|| result(quantile_calibration_error(&p, &[0.1, 0.5])))
    });

    s.finish();
}

#[test]
fn uncertainty_online_learning() {
    let mut s = Suite::new("uncertainty (online)");

    // RegimeCalibrator: bad events are refused and change nothing; later calibrations are
    // finite.
    s.sweep(
        "RegimeCalibrator learn",
        (any_f64(), any_f64(), any_f64()),
        |(m, sd, y)| {
            let mut cal = RegimeCalibrator::new(CalibratorConfig {
                min_samples: 5,
                ..Default::default()
            })
            .expect("valid");
            for e in events(40) {
                if cal.learn_event(&e).is_err() {
                    return Check::Broken("a normal event was refused".into());
                }
            }
            let before = cal.clone();
            let e = CalibrationEvent {
                forecast: raw(m, sd),
                regime: RegimeLabel::HIGH_VOL,
                outcome: y,
            };
            match cal.learn_event(&e) {
                Ok(()) => {}
                Err(_) => {
                    if cal != before {
                        return Check::Broken("a refused event changed the calibrator".into());
                    }
                }
            }
            let f = Forecast::new(0.001, 0.01, Horizon::DAY).expect("valid");
            result(cal.calibrate_detailed(&f, &RegimeLabel::HIGH_VOL))
                .and(|| result(cal.calibrate_detailed(&raw(m, sd), &RegimeLabel::LOW_VOL)))
                .and(|| {
                    let text = serde_json::to_string(&cal).expect("serializes");
                    Check::invariant(
                        serde_json::from_str::<RegimeCalibrator>(&text).is_ok(),
                        "own state does not reload",
                    )
                })
        },
    );
    for isotonic in [false, true] {
        for &b in &BAD {
            s.check(
                format!("RegimeCalibrator::fit isotonic={isotonic} outcome {b:e}"),
                move || {
                    let mut ev = events(60);
                    ev[7].outcome = b;
                    ev[9].forecast = raw(b, 0.01);
                    let cfg = CalibratorConfig {
                        min_samples: 5,
                        isotonic,
                        ..Default::default()
                    };
                    match RegimeCalibrator::fit(cfg, &ev) {
                        Ok(c) => result(c.calibrate_detailed(&ev[0].forecast, &RegimeLabel::HIGH_VOL)),
                        Err(_) => Check::Rejected,
                    }
                },
            );
            s.check(format!("CalibratorConfig forgetting {b:e}"), move || {
                result(RegimeCalibrator::new(CalibratorConfig {
                    forgetting: b,
                    ..Default::default()
                }))
            });
        }
    }
    s.check("CalibratorConfig quantile_levels too many", || {
        let levels: Vec<f64> = (1..=70_000).map(|i| i as f64 / 70_001.0).collect();
        result(RegimeCalibrator::new(CalibratorConfig {
            quantile_levels: levels,
            ..Default::default()
        }))
    });
    s.check("Calibrator trait with a NaN forecast", || {
        let cal = RegimeCalibrator::fit(
            CalibratorConfig {
                min_samples: 5,
                ..Default::default()
            },
            &events(40),
        )
        .expect("fits");
        result(cal.calibrate(&raw(f64::NAN, 1.0), &RegimeState::certain(RegimeLabel::HIGH_VOL)))
    });

    // CalibratedBlender.
    for method in [BlendMethod::InverseVariance, BlendMethod::Stacking] {
        for &b in &BAD {
            s.check(format!("blender {method:?} fit mean {b:e}"), move || {
                let mut ev = blend_events(60);
                ev[3].forecasts[1] = raw(b, 0.02);
                let cfg = BlenderConfig {
                    method,
                    calibrator: CalibratorConfig {
                        min_samples: 5,
                        ..Default::default()
                    },
                };
                match CalibratedBlender::fit(cfg, &ev) {
                    Ok(bl) => result(bl.blend_and_calibrate(&ev[0].forecasts, &RegimeLabel::HIGH_VOL)),
                    Err(_) => Check::Rejected,
                }
            });
            s.check(format!("blender {method:?} blend/learn sigma {b:e}"), move || {
                let ev = blend_events(60);
                let cfg = BlenderConfig {
                    method,
                    calibrator: CalibratorConfig {
                        min_samples: 5,
                        ..Default::default()
                    },
                };
                let mut bl = CalibratedBlender::fit(cfg, &ev).expect("fits");
                let before = bl.clone();
                let fs = vec![raw(0.0, b), raw(b, 1.0)];
                let r = result(bl.blend(&fs, &RegimeLabel::HIGH_VOL))
                    .and(|| result(bl.blend(&[], &RegimeLabel::HIGH_VOL)));
                let bad = BlendEvent {
                    forecasts: fs,
                    regime: RegimeLabel::HIGH_VOL,
                    outcome: b,
                };
                if bl.learn(&bad).is_err() && bl != before {
                    return Check::Broken("a refused event changed the blender".into());
                }
                r
            });
        }
    }
    s.check("blender with 100 stacked forecasters", || {
        let ev: Vec<BlendEvent> = events(10)
            .into_iter()
            .map(|e| BlendEvent {
                forecasts: vec![e.forecast.clone(); 100],
                regime: e.regime,
                outcome: e.outcome,
            })
            .collect();
        result(CalibratedBlender::fit(
            BlenderConfig {
                method: BlendMethod::Stacking,
                ..Default::default()
            },
            &ev,
        ))
    });

    // Conformal: split, CQR, ACI; all-or-nothing updates and finite intervals.
    for score in [ScoreKind::Absolute, ScoreKind::Normalized] {
        s.sweep(
            &format!("conformal update {score:?}"),
            (any_f64(), any_f64(), any_f64(), any_f64()),
            move |(m, sd, y, q)| {
                let cfg = ConformalConfig {
                    score,
                    mondrian: true,
                    min_samples: 3,
                    window: 8,
                    ..Default::default()
                };
                let r = RegimeLabel::HIGH_VOL;
                let mut split = SplitConformal::new(cfg).expect("valid");
                let mut aci = AdaptiveConformal::new(AciConfig {
                    conformal: cfg,
                    gamma: 0.05,
                })
                .expect("valid");
                let mut cqr = Cqr::new(cfg).expect("valid");
                let f = Forecast::new(0.0, 1.0, Horizon::DAY).expect("valid");
                for i in 0..12 {
                    let y0 = (i as f64 - 6.0) / 4.0;
                    if split.update(&f, y0, &r).is_err()
                        || aci.update(&f, y0, &r).is_err()
                        || cqr.update(-1.0, 1.0, y0, &r).is_err()
                    {
                        return Check::Broken("a normal update was refused".into());
                    }
                }
                let (s0, a0, c0) = (split.clone(), aci.clone(), cqr.clone());
                let bad = raw(m, sd);
                if split.update(&bad, y, &r).is_err() && split != s0 {
                    return Check::Broken("a refused split update changed state".into());
                }
                if aci.update(&bad, y, &r).is_err() && aci != a0 {
                    return Check::Broken("a refused ACI update changed state".into());
                }
                if cqr.update(m, m + sd.abs(), y, &r).is_err() && cqr != c0 {
                    return Check::Broken("a refused CQR update changed state".into());
                }
                result(split.interval(&f, &r))
                    .and(|| result(aci.interval(&f, &r)))
                    .and(|| result(cqr.interval(-1.0, 1.0, &r)))
                    .and(|| result(split.interval(&bad, &RegimeLabel::UNKNOWN)))
                    .and(|| result(aci.interval(&bad, &r)))
                    .and(|| result(cqr.interval(m, m + q.abs(), &r)))
                    .and(|| {
                        let ok = serde_json::to_string(&aci)
                            .ok()
                            .and_then(|t| serde_json::from_str::<AdaptiveConformal>(&t).ok())
                            .is_some();
                        Check::invariant(ok, "own ACI state does not reload")
                    })
            },
        );
    }
    s.check("ACI with gamma 1 over 2000 misses", || {
        let mut aci = AdaptiveConformal::new(AciConfig {
            gamma: 1.0,
            ..Default::default()
        })
        .expect("valid");
        let f = Forecast::new(0.0, 1.0, Horizon::DAY).expect("valid");
        for i in 0..2000 {
            if aci.update(&f, 1e3 * i as f64, &RegimeLabel::UNKNOWN).is_err() {
                return Check::Rejected;
            }
        }
        result(aci.interval(&f, &RegimeLabel::UNKNOWN)).and(|| Check::ok_finite(&aci))
    });
    for &b in &BAD {
        s.check(format!("AciConfig gamma {b:e}"), move || {
            result(AdaptiveConformal::new(AciConfig {
                gamma: b,
                ..Default::default()
            }))
        });
        s.check(format!("ConformalConfig alpha {b:e}"), move || {
            result(SplitConformal::new(ConformalConfig {
                alpha: b,
                ..Default::default()
            }))
        });
        s.check(format!("SplitConformal::calibrate outcome {b:e}"), move || {
            let fs = vec![Forecast::new(0.0, 1.0, Horizon::DAY).expect("valid"); 3];
            match SplitConformal::calibrate(ConformalConfig::default(), &fs, &[0.1, b, 0.3], None) {
                Ok(c) => result(c.interval(&fs[0], &RegimeLabel::UNKNOWN)),
                Err(_) => Check::Rejected,
            }
        });
        s.check(
            format!("Cqr::calibrate bound {b:e}"),
            move || match Cqr::calibrate(
                ConformalConfig::default(),
                &[-1.0, b],
                &[1.0, 2.0],
                &[0.0, 0.5],
                None,
            ) {
                Ok(c) => result(c.interval(-1.0, 1.0, &RegimeLabel::UNKNOWN)),
                Err(_) => Check::Rejected,
            },
        );
        s.check(format!("ScoreWindow push {b:e}"), move || {
            let mut w = ScoreWindow::new(3).expect("valid");
            let _ = w.push(1.0);
            match w.push(b) {
                Ok(()) => Check::ok_finite(&w).and(|| Check::ok_finite(&w.quantile(0.1))),
                Err(_) => Check::invariant(w.len() == 1, "a refused push changed the window"),
            }
        });
    }
    for n in SIZES {
        s.check(format!("conformal window {n}"), move || {
            let cfg = ConformalConfig {
                window: n,
                min_samples: n.max(1),
                ..Default::default()
            };
            result(SplitConformal::new(cfg))
                .and(|| result(Cqr::new(cfg)))
                .and(|| {
                    result(AdaptiveConformal::new(AciConfig {
                        conformal: cfg,
                        ..Default::default()
                    }))
                })
                .and(|| result(ScoreWindow::new(n)))
        });
    }
    s.check("conformal regimes length mismatch", || {
        let fs = vec![Forecast::new(0.0, 1.0, Horizon::DAY).expect("valid"); 3];
        result(SplitConformal::calibrate(
            ConformalConfig::default(),
            &fs,
            &[0.1, 0.2, 0.3],
            Some(&[RegimeLabel::UNKNOWN]),
        ))
    });

    // Forecasters built on the fitted models.
    s.sweep("forecasters", vec_f64(0..4), |features| {
        let (x, y) = data(60, 2);
        let h = HeteroscedasticRegression::new(HeteroConfig::default())
            .expect("valid")
            .fit(x.view(), y.view())
            .expect("fits");
        let q: QuantileRegressionModel = QuantileRegression::new(QuantRegConfig::default())
            .expect("valid")
            .fit(x.view(), y.view())
            .expect("fits");
        let mut asset = AssetInfo::new("A", 10.0).expect("valid");
        asset.features = features;
        let st = RegimeState::certain(RegimeLabel::UNKNOWN);
        let hf = HeteroForecaster {
            model: h,
            horizon: Horizon::DAY,
        };
        let nf = NgBoostForecaster {
            model: ng_model(),
            horizon: Horizon::DAY,
        };
        let qf = QuantileForecaster {
            model: q,
            horizon: Horizon::DAY,
        };
        result(hf.forecast(&asset, &st))
            .and(|| result(nf.forecast(&asset, &st)))
            .and(|| result(qf.forecast(&asset, &st)))
    });

    s.finish();
}

/// Loads a mutated checkpoint and judges its use.
fn load<T: DeserializeOwned>(json: &str) -> Option<T> {
    serde_json::from_str(json).ok()
}

#[test]
fn uncertainty_checkpoints() {
    let mut s = Suite::new("uncertainty (checkpoints)");
    let f = Forecast::new(0.001, 0.01, Horizon::DAY).expect("valid");

    s.checkpoint("IsotonicModel", &iso_model(), |json| {
        match load::<IsotonicModel>(&json) {
            Some(m) => {
                result(m.predict(0.7))
                    .and(|| result(m.predict(-1e300)))
                    .and(|| match m.inverse(0.4) {
                        Ok(v) => Check::ok_finite(&v),
                        Err(_) => Check::Ok,
                    })
            }
            None => Check::Rejected,
        }
    });

    let labels: Vec<bool> = (0..30).map(|i| i % 3 != 0).collect();
    let scores: Vec<f64> = (0..30).map(|i| i as f64 / 10.0).collect();
    let platt = PlattScaling::fit(&scores, &labels, &PlattConfig::default()).expect("fits");
    s.checkpoint("PlattScaling", &platt, |json| match load::<PlattScaling>(&json) {
        Some(p) => result(p.predict(0.5)).and(|| result(p.predict(1e300))),
        None => Check::Rejected,
    });

    let (x, y) = data(60, 2);
    let q = QuantileRegression::new(QuantRegConfig::default())
        .expect("valid")
        .fit(x.view(), y.view())
        .expect("fits");
    s.checkpoint("QuantileRegressionModel", &q, |json| {
        match load::<QuantileRegressionModel>(&json) {
            Some(m) => {
                let row = vec![0.2; m.n_features()];
                let (x, _) = data(5, 2);
                result(m.predict(&row, CrossingRepair::Rearrange)).and(|| {
                    if m.n_features() == 2 {
                        result(m.predict_level(x.view(), 1))
                    } else {
                        Check::Ok
                    }
                })
            }
            None => Check::Rejected,
        }
    });
    s.checkpoint(
        "QuantileRegression",
        &QuantileRegression::new(QuantRegConfig::default()).expect("valid"),
        |json| match load::<QuantileRegression>(&json) {
            Some(qr) => {
                let (x, y) = data(30, 1);
                result(qr.fit(x.view(), y.view()))
            }
            None => Check::Rejected,
        },
    );

    let h = HeteroscedasticRegression::new(HeteroConfig::default())
        .expect("valid")
        .fit(x.view(), y.view())
        .expect("fits");
    s.checkpoint("HeteroModel", &h, |json| match load::<HeteroModel>(&json) {
        Some(m) => {
            let row = vec![0.2; m.n_features()];
            match m.predict(&row) {
                Ok(v) => Check::ok_finite(&v),
                Err(_) => Check::Ok,
            }
        }
        None => Check::Rejected,
    });

    s.checkpoint("NgBoostModel", &ng_model(), |json| {
        match load::<NgBoostModel>(&json) {
            Some(m) => {
                let row = vec![0.2; m.n_features()];
                match m.predict(&row) {
                    Ok(v) => Check::ok_finite(&v),
                    Err(_) => Check::Ok,
                }
            }
            None => Check::Rejected,
        }
    });
    s.checkpoint(
        "NgBoost",
        &NgBoost::new(NgBoostConfig {
            n_estimators: 3,
            ..Default::default()
        })
        .expect("valid"),
        |json| match load::<NgBoost>(&json) {
            Some(ng) => {
                if ng.config().n_estimators > 50 || ng.config().max_depth > 6 {
                    return Check::Ok;
                }
                let (x, y) = data(30, 2);
                result(ng.fit(x.view(), y.view(), None))
            }
            None => Check::Rejected,
        },
    );

    // Fixed selection: variance scaling + isotonic maps in the checkpoint.
    let mut cal = RegimeCalibrator::fit(
        CalibratorConfig {
            min_samples: 5,
            isotonic: true,
            selection: CalibratorSelection::Fixed,
            ..Default::default()
        },
        &events(60),
    )
    .expect("fits");
    let _ = cal.learn_event(&events(3)[1]);
    let fc = f.clone();
    s.checkpoint("RegimeCalibrator", &cal, move |json| {
        match load::<RegimeCalibrator>(&json) {
            Some(mut c) => result(c.calibrate_detailed(&fc, &RegimeLabel::HIGH_VOL))
                .and(|| result(c.calibrate_detailed(&fc, &RegimeLabel::UNKNOWN)))
                .and(|| {
                    let e = CalibrationEvent {
                        forecast: fc.clone(),
                        regime: RegimeLabel::HIGH_VOL,
                        outcome: 0.02,
                    };
                    match c.learn_event(&e) {
                        Ok(()) => result(c.calibrate_detailed(&fc, &RegimeLabel::HIGH_VOL)),
                        Err(_) => Check::Ok,
                    }
                }),
            None => Check::Rejected,
        }
    });

    let blender = CalibratedBlender::fit(
        BlenderConfig {
            method: BlendMethod::Stacking,
            calibrator: CalibratorConfig {
                min_samples: 5,
                ..Default::default()
            },
        },
        &blend_events(60),
    )
    .expect("fits");
    s.checkpoint("CalibratedBlender", &blender, |json| {
        match load::<CalibratedBlender>(&json) {
            Some(mut b) => {
                let ev = &blend_events(2)[0];
                result(b.blend_and_calibrate(&ev.forecasts, &RegimeLabel::HIGH_VOL)).and(|| {
                    match b.learn(ev) {
                        Ok(()) => result(b.blend_and_calibrate(&ev.forecasts, &RegimeLabel::LOW_VOL)),
                        Err(_) => Check::Ok,
                    }
                })
            }
            None => Check::Rejected,
        }
    });

    let regimes: Vec<RegimeLabel> = (0..30)
        .map(|i| {
            if i % 2 == 0 {
                RegimeLabel::HIGH_VOL
            } else {
                RegimeLabel::LOW_VOL
            }
        })
        .collect();
    for method in [ProbabilityMethod::Platt, ProbabilityMethod::Isotonic] {
        let pc = RegimeProbabilityCalibrator::fit(
            ProbabilityConfig {
                method,
                min_samples: 5,
            },
            &scores,
            &labels,
            &regimes,
        )
        .expect("fits");
        s.checkpoint(
            &format!("RegimeProbabilityCalibrator {method:?}"),
            &pc,
            |json| match load::<RegimeProbabilityCalibrator>(&json) {
                Some(c) => result_with(c.calibrate(0.4, &RegimeLabel::HIGH_VOL), |(p, _)| {
                    if (0.0..=1.0).contains(p) {
                        Ok(())
                    } else {
                        Err(format!("probability {p} outside [0, 1]"))
                    }
                }),
                None => Check::Rejected,
            },
        );
    }

    let cfg = ConformalConfig {
        mondrian: true,
        min_samples: 3,
        window: 6,
        ..Default::default()
    };
    let mut split = SplitConformal::new(cfg).expect("valid");
    let mut cqr = Cqr::new(cfg).expect("valid");
    let mut aci = AdaptiveConformal::new(AciConfig {
        conformal: cfg,
        gamma: 0.05,
    })
    .expect("valid");
    for (i, e) in events(12).iter().enumerate() {
        let _ = split.update(&e.forecast, e.outcome, &e.regime);
        let _ = cqr.update(-0.01, 0.01 + 0.001 * i as f64, e.outcome, &e.regime);
        let _ = aci.update(&e.forecast, e.outcome, &e.regime);
    }
    let fc = f.clone();
    s.checkpoint("SplitConformal", &split, move |json| {
        match load::<SplitConformal>(&json) {
            Some(mut c) => result(c.interval(&fc, &RegimeLabel::HIGH_VOL)).and(|| {
                match c.update(&fc, 0.01, &RegimeLabel::HIGH_VOL) {
                    Ok(()) => result(c.interval(&fc, &RegimeLabel::HIGH_VOL)),
                    Err(_) => Check::Ok,
                }
            }),
            None => Check::Rejected,
        }
    });
    s.checkpoint("Cqr", &cqr, |json| match load::<Cqr>(&json) {
        Some(mut c) => result(c.interval(-0.01, 0.01, &RegimeLabel::LOW_VOL)).and(|| {
            match c.update(-0.01, 0.01, 0.5, &RegimeLabel::LOW_VOL) {
                Ok(()) => result(c.interval(-0.01, 0.01, &RegimeLabel::LOW_VOL)),
                Err(_) => Check::Ok,
            }
        }),
        None => Check::Rejected,
    });
    let fc = f.clone();
    s.checkpoint("AdaptiveConformal", &aci, move |json| {
        match load::<AdaptiveConformal>(&json) {
            Some(mut c) => result(c.interval(&fc, &RegimeLabel::HIGH_VOL)).and(|| {
                for y in [0.5, -0.5, 0.001] {
                    if c.update(&fc, y, &RegimeLabel::HIGH_VOL).is_err() {
                        return Check::Ok;
                    }
                }
                result(c.interval(&fc, &RegimeLabel::HIGH_VOL)).and(|| Check::ok_finite(&c))
            }),
            None => Check::Rejected,
        }
    });
    let mut w = ScoreWindow::new(4).expect("valid");
    for v in [0.3, 0.1, 0.2, 0.5, 0.4] {
        let _ = w.push(v);
    }
    s.checkpoint("ScoreWindow", &w, |json| match load::<ScoreWindow>(&json) {
        Some(mut w) => result(w.push(0.25)).and(|| Check::ok_finite(&w.quantile(0.2))),
        None => Check::Rejected,
    });
    let hf = HeteroForecaster {
        model: h,
        horizon: Horizon::DAY,
    };
    s.checkpoint("HeteroForecaster", &hf, |json| {
        match load::<HeteroForecaster>(&json) {
            Some(m) => {
                let mut asset = AssetInfo::new("A", 10.0).expect("valid");
                asset.features = vec![0.1; m.model.n_features()];
                match m.forecast(&asset, &RegimeState::certain(RegimeLabel::UNKNOWN)) {
                    Ok(v) => Check::ok_finite(&v),
                    Err(_) => Check::Ok,
                }
            }
            None => Check::Rejected,
        }
    });

    s.finish();
}

/// Issue #19: the held-out choice of the default calibrator under bad input — bad events
/// anywhere in either split, bad validation fractions, tiny and degenerate inputs — and
/// checkpoint mutation of a calibrator that carries its fit report.
#[test]
fn uncertainty_held_out_calibrator() {
    let mut s = Suite::new("uncertainty (held-out calibrator)");
    let f = Forecast::new(0.001, 0.01, Horizon::DAY).expect("valid");
    for &b in &BAD {
        for at in [3usize, 150] {
            s.check(format!("fit held-out, event {at} outcome {b:e}"), move || {
                let mut ev = events(200);
                ev[at].outcome = b;
                match RegimeCalibrator::fit(CalibratorConfig::default(), &ev) {
                    Ok(c) => result(c.calibrate_detailed(&ev[0].forecast, &RegimeLabel::HIGH_VOL)),
                    Err(_) => Check::Rejected,
                }
            });
            s.check(format!("fit held-out, event {at} sigma {b:e}"), move || {
                let mut ev = events(200);
                match Forecast::new(0.0, b, Horizon::DAY) {
                    Ok(fc) => ev[at].forecast = fc,
                    Err(_) => return Check::Rejected,
                }
                match RegimeCalibrator::fit(CalibratorConfig::default(), &ev) {
                    Ok(c) => result(c.calibrate_detailed(&ev[0].forecast, &RegimeLabel::LOW_VOL)),
                    Err(_) => Check::Rejected,
                }
            });
        }
        s.check(format!("validation_fraction {b:e}"), move || {
            let cfg = CalibratorConfig {
                selection: CalibratorSelection::HeldOut {
                    validation_fraction: b,
                },
                ..Default::default()
            };
            match RegimeCalibrator::fit(cfg, &events(200)) {
                Ok(c) => result(c.calibrate_detailed(&events(1)[0].forecast, &RegimeLabel::HIGH_VOL)),
                Err(_) => Check::Rejected,
            }
        });
    }
    for n in [1usize, 2, 20, 71, 72, 400] {
        s.check(format!("fit held-out on {n} events"), move || {
            let ev = events(n);
            result_with(RegimeCalibrator::fit(CalibratorConfig::default(), &ev), |c| {
                let r = c.fit_report().ok_or("a held-out fit without a report")?;
                if r.training_events + r.validation_events != n {
                    return Err("the split does not cover every event".into());
                }
                c.calibrate_detailed(&ev[0].forecast, &RegimeLabel::HIGH_VOL)
                    .map(|_| ())
                    .map_err(|e| format!("a fitted calibrator refuses a valid forecast: {e}"))
            })
        });
    }
    s.check("fit held-out, identical outcomes", || {
        let mut ev = events(300);
        for e in &mut ev {
            e.outcome = e.forecast.mean;
        }
        match RegimeCalibrator::fit(CalibratorConfig::default(), &ev) {
            Ok(c) => result(c.calibrate_detailed(&ev[0].forecast, &RegimeLabel::HIGH_VOL)),
            Err(_) => Check::Rejected,
        }
    });
    s.sweep("fit held-out, outcomes", vec_f64(1..300), |ys| {
        let mut ev = events(ys.len());
        for (e, y) in ev.iter_mut().zip(&ys) {
            e.outcome = *y;
        }
        match RegimeCalibrator::fit(CalibratorConfig::default(), &ev) {
            Ok(c) => result(c.calibrate_detailed(&ev[0].forecast, &RegimeLabel::HIGH_VOL)),
            Err(_) => Check::Rejected,
        }
    });
    let cal = RegimeCalibrator::fit(
        CalibratorConfig {
            min_samples: 20,
            ..Default::default()
        },
        &events(300),
    )
    .expect("fits");
    assert!(cal.fit_report().is_some());
    s.checkpoint("RegimeCalibrator (held-out)", &cal, move |json| {
        match load::<RegimeCalibrator>(&json) {
            Some(c) => result(c.calibrate_detailed(&f, &RegimeLabel::HIGH_VOL))
                .and(|| result(c.calibrate_detailed(&f, &RegimeLabel::UNKNOWN))),
            None => Check::Rejected,
        }
    });
    s.checkpoint(
        "CalibratorConfig",
        &CalibratorConfig::default(),
        move |json| match load::<CalibratorConfig>(&json) {
            Some(c) => match RegimeCalibrator::fit(c, &events(120)) {
                Ok(c) => result(c.calibrate_detailed(&events(1)[0].forecast, &RegimeLabel::HIGH_VOL)),
                Err(_) => Check::Rejected,
            },
            None => Check::Rejected,
        },
    );
    s.finish();
}
