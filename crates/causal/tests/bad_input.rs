//! Bad input: each a typed error or a reported status.

use ndarray::{arr1, Array1, Array2, Axis};
use prudentia_causal::iv::{InstrumentStrength, IvData, TwoSlsConfig};
use prudentia_causal::meta::{SLearner, TLearner, XLearner};
use prudentia_causal::{Bootstrap, CausalData, CausalError, DrConfig, DrLearner, DrModel, Folds};
use prudentia_core::{CoreError, Status};
use prudentia_datasets::{causal_dataset, iv_dataset};

fn sample(n: usize) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let s = causal_dataset(n, 3, 5).unwrap();
    let t = s.treatment_indicator();
    (s.x, t, s.outcome)
}

fn dr(x: &Array2<f64>, t: &Array1<f64>, y: &Array1<f64>) -> Result<DrModel, CausalError> {
    DrLearner::new(DrConfig::default()).fit(&CausalData::new(x.view(), t.view(), y.view()))
}

#[test]
fn no_treated_or_no_control_units() {
    let (x, _, y) = sample(200);
    for (value, arm) in [(0.0, "treated"), (1.0, "control")] {
        let t = Array1::from_elem(200, value); // a constant treatment
        let e = dr(&x, &t, &y).unwrap_err();
        assert!(
            matches!(e, CausalError::EmptyArm { arm: a, found: 0, .. } if a == arm),
            "{e}"
        );
        let data = CausalData::new(x.view(), t.view(), y.view());
        assert!(matches!(
            TLearner::default().fit(&data),
            Err(CausalError::EmptyArm { .. })
        ));
        assert!(matches!(
            SLearner::default().fit(&data),
            Err(CausalError::EmptyArm { .. })
        ));
        assert!(matches!(
            XLearner::default().fit(&data),
            Err(CausalError::EmptyArm { .. })
        ));
    }
    // one treated unit: a training fold without the treated arm
    let mut t = Array1::zeros(200);
    t[3] = 1.0;
    t[7] = 1.0;
    let e = DrLearner::new(DrConfig {
        folds: Folds::Explicit((0..200).map(|i| usize::from(i >= 100)).collect()),
        ..DrConfig::default()
    })
    .fit(&CausalData::new(x.view(), t.view(), y.view()))
    .unwrap_err();
    assert!(matches!(e, CausalError::EmptyArm { arm: "treated", .. }), "{e}");
}

#[test]
fn non_binary_treatment() {
    let (x, mut t, y) = sample(100);
    t[4] = 0.5;
    assert!(matches!(
        dr(&x, &t, &y),
        Err(CausalError::NotBinary { index: 4, .. })
    ));
}

#[test]
fn perfect_separation_in_the_propensity_model_is_a_status() {
    let (x, _, y) = sample(400);
    let t: Array1<f64> = x.column(0).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let m = dr(&x, &t, &y).unwrap();
    assert!(
        matches!(m.status(), Status::Separation { .. }),
        "{:?}",
        m.status()
    );
    // and the model still reloads
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<DrModel>(&json).unwrap(), m);
}

#[test]
fn collinear_covariates() {
    let (mut x, t, y) = sample(300);
    let c = x.column(0).to_owned() * 2.0 - x.column(1).to_owned();
    x.column_mut(2).assign(&c);
    let e = dr(&x, &t, &y).unwrap_err();
    assert!(matches!(e, CausalError::Collinear { column: 3, .. }), "{e}");
    // a constant column is collinear with the intercept
    let (mut x, t, y) = sample(300);
    x.column_mut(1).fill(3.0);
    assert!(matches!(
        dr(&x, &t, &y),
        Err(CausalError::Collinear { column: 2, .. })
    ));
}

#[test]
fn non_finite_input_and_mismatched_lengths() {
    let (x, t, y) = sample(100);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut xb = x.clone();
        xb[[5, 1]] = bad;
        assert!(matches!(
            dr(&xb, &t, &y),
            Err(CausalError::Core(CoreError::NonFinite { .. }))
        ));
        let mut yb = y.clone();
        yb[9] = bad;
        assert!(matches!(
            dr(&x, &t, &yb),
            Err(CausalError::Core(CoreError::NonFinite { .. }))
        ));
        let mut tb = t.clone();
        tb[0] = bad;
        assert!(matches!(
            dr(&x, &tb, &y),
            Err(CausalError::NotBinary { index: 0, .. })
        ));
    }
    let short = y.slice(ndarray::s![..99]).to_owned();
    assert!(matches!(
        dr(&x, &t, &short),
        Err(CausalError::Core(CoreError::ShapeMismatch { .. }))
    ));
    let ts = t.slice(ndarray::s![..99]).to_owned();
    assert!(matches!(
        dr(&x, &ts, &y),
        Err(CausalError::Core(CoreError::ShapeMismatch { .. }))
    ));
    let m = dr(&x, &t, &y).unwrap();
    assert!(m.cate_row(&[0.0, 1.0]).is_err());
    assert!(m.cate_row(&[0.0, f64::NAN, 1.0]).is_err());
    for big in [1e300, f64::MAX, -f64::MAX] {
        match m.cate_row(&[big, big, -big]) {
            Ok(e) => assert!(
                e.estimate.is_finite()
                    && e.std_error.is_finite()
                    && e.lower.is_finite()
                    && e.upper.is_finite()
            ),
            Err(e) => assert!(matches!(e, CausalError::Overflow { .. }), "{e}"),
        }
    }
    assert!(m.cate(Array2::zeros((2, 4)).view()).is_err());
}

#[test]
fn absurd_sizes_and_settings() {
    let (x, t, y) = sample(100);
    let data = CausalData::new(x.view(), t.view(), y.view());
    for folds in [
        Folds::Seeded {
            k: usize::MAX,
            seed: 0,
        },
        Folds::Seeded { k: 1 << 40, seed: 0 },
        Folds::Seeded { k: 1, seed: 0 },
        Folds::Seeded { k: 0, seed: 0 },
        Folds::Seeded { k: 101, seed: 0 },
        Folds::Explicit(vec![0; 100]),
        Folds::Explicit(vec![usize::MAX; 100]),
        Folds::Explicit((0..100).map(|i| 2 * (i % 2)).collect()), // fold 1 empty
        Folds::Explicit(vec![0, 1]),
    ] {
        let r = DrLearner::new(DrConfig {
            folds: folds.clone(),
            ..DrConfig::default()
        })
        .fit(&data);
        assert!(r.is_err(), "{folds:?}");
    }
    for clip in [0.0, 0.5, -1.0, f64::NAN, f64::INFINITY] {
        let c = DrConfig {
            propensity_clip: clip,
            ..DrConfig::default()
        };
        assert!(c.validate().is_err());
    }
    for replications in [0, usize::MAX, 1 << 40] {
        let c = DrConfig {
            bootstrap: Some(Bootstrap {
                replications,
                seed: 0,
            }),
            ..DrConfig::default()
        };
        assert!(c.validate().is_err());
    }
    // fewer observations than coefficients
    let (x, t, y) = sample(4);
    let t = if t.sum() == 0.0 || t.sum() == 4.0 {
        arr1(&[0.0, 1.0, 0.0, 1.0])
    } else {
        t
    };
    assert!(dr(&x, &t, &y).is_err());
}

#[test]
fn bootstrap_intervals_are_seeded() {
    let (x, t, y) = sample(500);
    let c = DrConfig {
        bootstrap: Some(Bootstrap {
            replications: 200,
            seed: 9,
        }),
        ..DrConfig::default()
    };
    let data = CausalData::new(x.view(), t.view(), y.view());
    let a = DrLearner::new(c.clone()).fit(&data).unwrap();
    let b = DrLearner::new(c).fit(&data).unwrap();
    assert_eq!(a, b);
    let bi = a.bootstrap().unwrap();
    assert!(bi.ate.0 < a.ate().estimate && a.ate().estimate < bi.ate.1);
    // the bootstrap and the normal intervals agree roughly in width
    let w_boot = bi.ate.1 - bi.ate.0;
    let w_norm = a.ate().upper - a.ate().lower;
    assert!((w_boot / w_norm - 1.0).abs() < 0.3, "{w_boot} vs {w_norm}");
}

#[test]
fn tampered_model_checkpoints_are_refused() {
    let (x, t, y) = sample(300);
    let m = dr(&x, &t, &y).unwrap();
    let v: serde_json::Value = serde_json::to_value(&m).unwrap();
    let tamper = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut w = v.clone();
        f(&mut w);
        serde_json::from_value::<DrModel>(w)
    };
    assert!(tamper(&|w| w["n_features"] = 7.into()).is_err());
    assert!(tamper(&|w| w["coefficients"][0] = serde_json::Value::Null).is_err());
    assert!(tamper(&|w| w["std_errors"][0] = (-1.0).into()).is_err());
    assert!(tamper(&|w| w["correlation"][0] = 0.5.into()).is_err());
    assert!(tamper(&|w| w["correlation"][1] = 1.5.into()).is_err());
    assert!(tamper(&|w| w["correlation"][1] = 0.25.into()).is_err()); // no longer symmetric
    assert!(tamper(&|w| w["n_treated"] = 0.into()).is_err());
    assert!(tamper(&|w| w["n_obs"] = 2.into()).is_err());
    assert!(tamper(&|w| w["propensity_clip"] = 0.7.into()).is_err());
    assert!(tamper(&|w| w["ate"]["p_value"] = 2.0.into()).is_err());
    assert!(tamper(&|w| w["ate"]["lower"] = 1e9.into()).is_err());
    assert!(tamper(&|_| {}).is_ok());
}

#[test]
fn instrument_uncorrelated_with_the_treatment() {
    // exactly orthogonal: an error
    let n = 200;
    let d: Array1<f64> = (0..n).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let z: Array1<f64> = (0..n)
        .map(|i| if (i / 2) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let y = &d * 0.5;
    let zz = z.view().insert_axis(Axis(1));
    let e = TwoSlsConfig::default()
        .fit(&IvData::new(y.view(), d.view(), zz))
        .unwrap_err();
    assert!(matches!(e, CausalError::Unidentified { .. }), "{e}");
    // weak (random, unrelated): a status
    let s = iv_dataset(1_000, 0.0, 4).unwrap();
    let zz = s.instrument.view().insert_axis(Axis(1));
    let fit = TwoSlsConfig::default()
        .fit(&IvData::new(s.outcome.view(), s.treatment.view(), zz))
        .unwrap();
    assert!(
        matches!(fit.strength, InstrumentStrength::Weak { .. }),
        "{:?}",
        fit.first_stage
    );
    // and bad IV input
    let mut yb = s.outcome.clone();
    yb[0] = f64::NAN;
    assert!(TwoSlsConfig::default()
        .fit(&IvData::new(yb.view(), s.treatment.view(), zz))
        .is_err());
    let short = s.treatment.slice(ndarray::s![..10]);
    assert!(TwoSlsConfig::default()
        .fit(&IvData::new(s.outcome.view(), short, zz))
        .is_err());
    let z2 = ndarray::concatenate(Axis(1), &[zz, zz]).unwrap();
    assert!(matches!(
        TwoSlsConfig::default().fit(&IvData::new(s.outcome.view(), s.treatment.view(), z2.view())),
        Err(CausalError::Collinear { .. })
    ));
    let none = Array2::<f64>::zeros((1_000, 0));
    assert!(TwoSlsConfig::default()
        .fit(&IvData::new(s.outcome.view(), s.treatment.view(), none.view()))
        .is_err());
    for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(TwoSlsConfig {
            weak_threshold: w,
            ..TwoSlsConfig::default()
        }
        .validate()
        .is_err());
    }
}

#[test]
fn extreme_scales_work_or_are_refused() {
    let (x, t, y) = sample(300);
    for scale in [1e300, 1e-300, 5e-324 * 1e10] {
        let xs = &x * scale;
        let ys = &y * scale;
        match dr(&xs, &t, &ys) {
            Ok(m) => {
                let json = serde_json::to_string(&m).unwrap();
                serde_json::from_str::<DrModel>(&json).unwrap();
            }
            Err(e) => assert!(
                !matches!(e, CausalError::Core(CoreError::NonFinite { .. })),
                "{e}"
            ),
        }
    }
    let s = iv_dataset(500, 1.0, 2).unwrap();
    for scale in [1e300, 1e-300] {
        let y = &s.outcome * scale;
        let d = &s.treatment * scale;
        let z = (&s.instrument * scale).insert_axis(Axis(1));
        let fit = TwoSlsConfig::default()
            .fit(&IvData::new(y.view(), d.view(), z.view()))
            .unwrap();
        assert!(
            (fit.effect.estimate - 0.5).abs() < 0.2,
            "{scale}: {:?}",
            fit.effect
        );
    }
}

#[test]
fn logit_reports_separation_and_refuses_bad_labels() {
    use prudentia_causal::LogitConfig;
    let (x, _, _) = sample(200);
    let t: Array1<f64> = x.column(0).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let m = LogitConfig::default().fit_xy(x.view(), t.view()).unwrap();
    assert!(
        matches!(
            m.status(),
            Status::Separation { .. } | Status::IterationLimit { .. } | Status::Numerical { .. }
        ),
        "{:?}",
        m.status()
    );
    assert!(!matches!(m.status(), Status::Converged));
    let mut bad = t.clone();
    bad[0] = 2.0;
    assert!(matches!(
        LogitConfig::default().fit_xy(x.view(), bad.view()),
        Err(CausalError::NotBinary { index: 0, .. })
    ));
    // a fit on overlapping data converges and reloads
    let (x, t, _) = sample(500);
    let m = LogitConfig::default().fit_xy(x.view(), t.view()).unwrap();
    assert_eq!(m.status(), &Status::Converged);
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<prudentia_causal::Logit>(&json).unwrap(), m);
    assert!(serde_json::from_str::<prudentia_causal::Logit>(
        &json.replace("\"n_features\":3", "\"n_features\":4")
    )
    .is_err());
}
