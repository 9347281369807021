//! The fitted S-, T-, X-learners and 2SLS fits validate on load: their own output reloads,
//! a tampered checkpoint is refused.

use ndarray::{Array1, Array2, Axis};
use prudentia_causal::iv::{IvData, TwoSlsConfig, TwoSlsFit};
use prudentia_causal::logit::Logit;
use prudentia_causal::meta::{SLearner, SModel, TLearner, TModel, XLearner, XModel};
use prudentia_causal::CausalData;
use prudentia_learn::linear::LinearRegression;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

fn data() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let s = prudentia_datasets::causal_dataset(400, 2, 3).unwrap();
    let t = s.treatment_indicator();
    (s.x, t, s.outcome)
}

/// A named edit of a checkpoint.
type Edit<'a> = (&'a str, &'a dyn Fn(&mut Value));

/// The model's JSON reloads to an equal value; each edit is refused.
fn check<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(model: &T, edits: &[Edit<'_>]) {
    let v = serde_json::to_value(model).unwrap();
    let back: T = serde_json::from_value(v.clone()).expect("own output reloads");
    assert_eq!(&back, model);
    for (what, edit) in edits {
        let mut w = v.clone();
        edit(&mut w);
        assert!(
            serde_json::from_value::<T>(w).is_err(),
            "{what}: the tampered checkpoint loaded"
        );
    }
}

#[test]
fn meta_models_validate_on_load() {
    let (x, t, y) = data();
    let d = CausalData::new(x.view(), t.view(), y.view());
    let tm = TLearner::default().fit(&d).unwrap();
    check::<TModel<LinearRegression>>(
        &tm,
        &[
            ("wider", &|v| v["n_features"] = json!(3)),
            ("narrower", &|v| v["n_features"] = json!(1)),
            ("beyond the limit", &|v| v["n_features"] = json!(1u64 << 40)),
            ("unknown field", &|v| v["extra"] = json!(1)),
            ("arm model of another width", &|v| {
                let mu1 = v["mu1"].clone();
                v["mu0"] = json!(null);
                v["mu0"] = mu1;
                v["n_features"] = json!(5);
            }),
        ],
    );
    for interactions in [false, true] {
        let sm = SLearner {
            interactions,
            ..SLearner::default()
        }
        .fit(&d)
        .unwrap();
        check::<SModel<LinearRegression>>(
            &sm,
            &[
                ("interactions flipped", &|v| {
                    let b = v["interactions"].as_bool().unwrap();
                    v["interactions"] = json!(!b);
                }),
                ("wider", &|v| v["n_features"] = json!(3)),
                ("beyond the limit", &|v| v["n_features"] = json!(usize::MAX)),
            ],
        );
    }
    let xm = XLearner::default().fit(&d).unwrap();
    check::<XModel<LinearRegression, Logit>>(
        &xm,
        &[
            ("wider", &|v| v["n_features"] = json!(4)),
            ("propensity of another width", &|v| {
                v["propensity"]["n_features"] = json!(1);
                v["propensity"]["coefficients"] = json!([0.0, 1.0]);
            }),
            ("beyond the limit", &|v| v["n_features"] = json!(1u64 << 40)),
        ],
    );
}

#[test]
fn two_sls_fit_validates_on_load() {
    let s = prudentia_datasets::iv_dataset(500, 1.0, 3).unwrap();
    let z = s.instrument.view().insert_axis(Axis(1));
    let fit = TwoSlsConfig::default()
        .fit(&IvData::new(s.outcome.view(), s.treatment.view(), z))
        .unwrap();
    check::<TwoSlsFit>(
        &fit,
        &[
            ("n_obs", &|v| v["n_obs"] = json!(7)),
            ("n_obs overflowing", &|v| {
                v["first_stage"]["df_den"] = json!(u64::MAX)
            }),
            ("effect not the treatment's coefficient", &|v| {
                v["effect"] = v["coefficients"][0].clone();
            }),
            ("one coefficient", &|v| {
                let c = v["coefficients"][0].clone();
                v["coefficients"] = json!([c]);
            }),
            ("p-value", &|v| v["first_stage"]["f_pvalue"] = json!(2.0)),
            ("partial R2", &|v| v["first_stage"]["partial_r2"] = json!(-0.5)),
            ("negative F", &|v| v["first_stage"]["f_stat"] = json!(-1.0)),
            ("no df", &|v| v["first_stage"]["df_num"] = json!(0)),
            ("weak with another F", &|v| {
                v["strength"] = json!({"Weak": {"f_stat": 1.0, "threshold": 10.0}});
            }),
            ("weak above its threshold", &|v| {
                let f = v["first_stage"]["f_stat"].clone();
                v["strength"] = json!({"Weak": {"f_stat": f, "threshold": 1.0}});
            }),
        ],
    );
    // a weak instrument's own output reloads
    let weak = prudentia_datasets::iv_dataset(200, 0.05, 1).unwrap();
    let z = weak.instrument.view().insert_axis(Axis(1));
    if let Ok(f) = TwoSlsConfig::default().fit(&IvData::new(weak.outcome.view(), weak.treatment.view(), z)) {
        check::<TwoSlsFit>(&f, &[]);
    }
}
