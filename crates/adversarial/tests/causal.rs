//! prudentia-causal under bad input: every learner's fit and effect, 2SLS, the
//! diagnostics, the filter's refit and filter, and every serde type with state.

use ndarray::{Array1, Array2, Axis};
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_causal::diagnostics::{balance, overlap, refute, RefuteConfig};
use prudentia_causal::filter::{AssetEffect, FilterConfig, SignalFilter, SignalHistory};
use prudentia_causal::iv::{IvCovariance, IvData, TwoSlsConfig, TwoSlsFit};
use prudentia_causal::logit::{Logit, LogitConfig};
use prudentia_causal::meta::{SLearner, SModel, TLearner, TModel, XLearner, XModel};
use prudentia_causal::{Bootstrap, CausalData, DrConfig, DrLearner, DrModel, Estimate, Folds, OutcomeModel};
use prudentia_core::traits::CausalFilter;
use prudentia_core::{AssetId, AssetInfo, CausalEffect, Forecast, Horizon, Opportunity, Status};
use prudentia_learn::linear::LinearRegression;

const BAD: [f64; 9] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    0.0,
];

/// A small confounded sample: deterministic, both arms, full rank.
fn base(n: usize, p: usize) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn((n, p), |(i, j)| {
        ((((i * 7 + j * 13) % 17) as f64) - 8.0) / 5.0 + 0.01 * (i * j) as f64
    });
    let t = Array1::from_shape_fn(n, |i| {
        if (i * 5 + 3) % 7 < 3 + usize::from(p > 0 && x[[i, 0]] > 0.0) {
            1.0
        } else {
            0.0
        }
    });
    let y = Array1::from_shape_fn(n, |i| {
        x.row(i).sum() * 0.3 + 0.2 * t[i] + ((i % 5) as f64 - 2.0) * 0.1
    });
    (x, t, y)
}

fn dr_ok(m: &DrModel) -> Result<(), String> {
    let json = serde_json::to_string(m).map_err(|e| e.to_string())?;
    let back: DrModel =
        serde_json::from_str(&json).map_err(|e| format!("own output does not reload: {e}"))?;
    if &back != m {
        return Err("reload differs".into());
    }
    if m.clipped() > m.n_obs() || m.n_treated() >= m.n_obs() {
        return Err("counts".into());
    }
    for e in m.coefficients().iter().chain([m.ate(), m.ate_given_x()].iter()) {
        if !(e.lower <= e.estimate && e.estimate <= e.upper && (0.0..=1.0).contains(&e.p_value)) {
            return Err(format!("estimate {e:?}"));
        }
    }
    let row = vec![0.5; m.n_features()];
    match m.cate_row(&row) {
        Ok(e) if e.lower > e.upper || e.lower.is_nan() => Err("cate interval".into()),
        _ => Ok(()),
    }
}

fn learner(folds: Folds, outcome_model: OutcomeModel) -> DrLearner {
    DrLearner::new(DrConfig {
        folds,
        outcome_model,
        ..DrConfig::default()
    })
}

fn opportunity(id: &str) -> Opportunity {
    Opportunity {
        asset: AssetInfo::new(id, 100.0).expect("asset"),
        forecast: Forecast::new(0.01, 0.02, Horizon::DAY).expect("forecast"),
    }
}

#[test]
fn causal_learners() {
    let mut s = Suite::new("causal learners");
    // a table of bad values in x, treatment and outcome, for both outcome models
    for om in [OutcomeModel::Pooled, OutcomeModel::PerArm] {
        for (bi, bad) in BAD.iter().copied().enumerate() {
            for target in 0..3 {
                s.check(
                    format!("dr {om:?} bad[{bi}]={bad:e} in {}", ["x", "t", "y"][target]),
                    move || {
                        let (mut x, mut t, mut y) = base(40, 2);
                        match target {
                            0 => x[[4, 1]] = bad,
                            1 => t[4] = bad,
                            _ => y[4] = bad,
                        }
                        let r = learner(Folds::Seeded { k: 2, seed: 1 }, om).fit(&CausalData::new(
                            x.view(),
                            t.view(),
                            y.view(),
                        ));
                        result_with(r, dr_ok)
                    },
                );
            }
            s.check(format!("dr {om:?} all scaled by {bad:e}"), move || {
                let (x, t, y) = base(40, 2);
                let (x, y) = (x.mapv(|v| v * bad), y.mapv(|v| v * bad));
                result_with(
                    learner(Folds::Seeded { k: 2, seed: 1 }, om).fit(&CausalData::new(
                        x.view(),
                        t.view(),
                        y.view(),
                    )),
                    dr_ok,
                )
            });
        }
    }
    // shapes: empty, too few rows, mismatched lengths, no columns, one arm
    for (n, p, nt, ny) in [
        (0, 0, 0, 0),
        (0, 2, 0, 0),
        (3, 2, 3, 3),
        (40, 2, 39, 40),
        (40, 2, 40, 39),
        (40, 0, 40, 40),
        (6, 5, 6, 6),
    ] {
        s.check(format!("dr shapes n={n} p={p} t={nt} y={ny}"), move || {
            let (x, _, _) = base(n, p);
            let t = Array1::from_shape_fn(nt, |i| (i % 2) as f64);
            let y = Array1::from_shape_fn(ny, |i| i as f64 * 0.1);
            result_with(
                DrLearner::new(DrConfig::default()).fit(&CausalData::new(x.view(), t.view(), y.view())),
                dr_ok,
            )
        });
    }
    for arm in [0.0, 1.0] {
        s.check(format!("dr constant treatment {arm}"), move || {
            let (x, _, y) = base(40, 2);
            let t = Array1::from_elem(40, arm);
            result(DrLearner::new(DrConfig::default()).fit(&CausalData::new(x.view(), t.view(), y.view())))
        });
    }
    s.check("dr separated propensity", || {
        let (x, _, y) = base(60, 2);
        let t = x.column(0).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
        match DrLearner::new(DrConfig::default()).fit(&CausalData::new(x.view(), t.view(), y.view())) {
            Ok(m) => Check::invariant(
                matches!(m.status(), Status::Separation { .. }),
                "separation not reported",
            )
            .and(|| result_with(Ok::<_, String>(m), dr_ok)),
            Err(_) => Check::Rejected,
        }
    });
    // folds and settings
    for folds in [
        Folds::Seeded {
            k: usize::MAX,
            seed: 0,
        },
        Folds::Seeded { k: 1 << 40, seed: 0 },
        Folds::Seeded { k: 0, seed: 0 },
        Folds::Seeded { k: 1, seed: 0 },
        Folds::Seeded { k: 40, seed: 0 },
        Folds::Explicit(vec![]),
        Folds::Explicit(vec![usize::MAX; 40]),
        Folds::Explicit(vec![0; 40]),
        Folds::Explicit((0..40).map(|i| 3 * (i % 2)).collect()),
        Folds::Explicit((0..40).map(|i| i % 2).collect()),
    ] {
        s.check(format!("dr folds {folds:?}"), move || {
            let (x, t, y) = base(40, 2);
            result_with(
                learner(folds, OutcomeModel::Pooled).fit(&CausalData::new(x.view(), t.view(), y.view())),
                dr_ok,
            )
        });
    }
    s.sweep("dr clip", any_f64(), |clip| {
        let (x, t, y) = base(40, 2);
        let c = DrConfig {
            propensity_clip: clip,
            folds: Folds::Seeded { k: 2, seed: 0 },
            ..DrConfig::default()
        };
        result_with(
            DrLearner::new(c).fit(&CausalData::new(x.view(), t.view(), y.view())),
            dr_ok,
        )
    });
    s.sweep("dr bootstrap", (any_size(), 0u64..4), |(replications, seed)| {
        let (x, t, y) = base(40, 2);
        let c = DrConfig {
            folds: Folds::Seeded { k: 2, seed },
            bootstrap: Some(Bootstrap {
                replications: replications.min(1 << 40),
                seed,
            }),
            ..DrConfig::default()
        };
        if replications > 200 && replications <= 10_000 {
            return Check::Rejected; // valid but slow; the table covers the limit
        }
        result_with(
            DrLearner::new(c).fit(&CausalData::new(x.view(), t.view(), y.view())),
            dr_ok,
        )
    });
    // hostile covariates with a fixed treatment pattern
    s.sweep(
        "dr hostile x",
        (matrix(0..50, 0..4), any_f64(), 2usize..4),
        |(x, scale, k)| {
            let n = x.nrows();
            let t = Array1::from_shape_fn(n, |i| ((i * 3 + 1) % 5 < 2) as u8 as f64);
            let y = Array1::from_shape_fn(n, |i| x.row(i).iter().sum::<f64>() * scale + (i % 3) as f64);
            result_with(
                learner(Folds::Seeded { k, seed: 3 }, OutcomeModel::PerArm).fit(&CausalData::new(
                    x.view(),
                    t.view(),
                    y.view(),
                )),
                dr_ok,
            )
        },
    );
    // CATE at hostile rows
    let (x, t, y) = base(60, 3);
    let model = DrLearner::new(DrConfig::default())
        .fit(&CausalData::new(x.view(), t.view(), y.view()))
        .expect("base fit");
    let m2 = model.clone();
    s.sweep("cate_row", vec_f64(0..5), move |row| {
        result_with(m2.cate_row(&row), |e| {
            if e.lower <= e.upper {
                Ok(())
            } else {
                Err("interval".into())
            }
        })
    });
    let m3 = model.clone();
    s.sweep("cate", matrix(0..5, 2..5), move |xs| result(m3.cate(xs.view())));
    // the meta-learners
    for (bi, bad) in BAD.iter().copied().enumerate() {
        s.check(format!("meta bad[{bi}]={bad:e}"), move || {
            let (mut x, t, y) = base(40, 2);
            x[[3, 0]] = bad;
            let data = CausalData::new(x.view(), t.view(), y.view());
            let q = Array2::from_elem((2, 2), bad);
            let a = TLearner::default().fit(&data).and_then(|m| m.effect(x.view()));
            let b = SLearner {
                interactions: true,
                ..SLearner::default()
            }
            .fit(&data)
            .and_then(|m| m.effect(q.view()));
            let c = XLearner::default().fit(&data).and_then(|m| m.effect(x.view()));
            all(vec![result(a), result(b), result(c)])
        });
    }
    s.sweep("meta hostile x", matrix(0..40, 0..4), |x| {
        let n = x.nrows();
        let t = Array1::from_shape_fn(n, |i| (i % 3 == 0) as u8 as f64);
        let y = Array1::from_shape_fn(n, |i| (i % 4) as f64);
        let data = CausalData::new(x.view(), t.view(), y.view());
        let a = TLearner::default().fit(&data).and_then(|m| m.effect(x.view()));
        let b = XLearner::default().fit(&data).and_then(|m| m.effect(x.view()));
        let c = SLearner::default().fit(&data).and_then(|m| m.effect(x.view()));
        all(vec![result(a), result(b), result(c)])
    });
    // checkpoints: load, then use
    s.checkpoint("DrModel", &model, |json| {
        match serde_json::from_str::<DrModel>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => {
                let row = vec![0.25; m.n_features()];
                let c = m.cate_row(&row);
                all(vec![
                    Check::ok_finite(&(m.coefficients(), m.ate(), m.ate_given_x(), m.covariance())),
                    result(c),
                ])
            }
        }
    });
    s.checkpoint(
        "DrConfig",
        &DrConfig::default(),
        |json| match serde_json::from_str::<DrConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let (x, t, y) = base(40, 2);
                result_with(
                    DrLearner::new(c).fit(&CausalData::new(x.view(), t.view(), y.view())),
                    dr_ok,
                )
            }
        },
    );
    let (x, t, y) = base(40, 2);
    let tm = TLearner::default()
        .fit(&CausalData::new(x.view(), t.view(), y.view()))
        .expect("t fit");
    s.checkpoint("TModel", &tm, |json| {
        match serde_json::from_str::<TModel<LinearRegression>>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => {
                let q = Array2::from_elem((2, 2), 0.3);
                result(m.effect(q.view()))
            }
        }
    });
    for interactions in [false, true] {
        let sm = SLearner {
            interactions,
            ..SLearner::default()
        }
        .fit(&CausalData::new(x.view(), t.view(), y.view()))
        .expect("s fit");
        s.checkpoint(
            &format!("SModel interactions={interactions}"),
            &sm,
            |json| match serde_json::from_str::<SModel<LinearRegression>>(&json) {
                Err(_) => Check::Rejected,
                Ok(m) => {
                    let q = Array2::from_elem((2, 2), 0.3);
                    result(m.effect(q.view()))
                }
            },
        );
    }
    let xm = XLearner::default()
        .fit(&CausalData::new(x.view(), t.view(), y.view()))
        .expect("x fit");
    s.checkpoint("XModel", &xm, |json| {
        match serde_json::from_str::<XModel<LinearRegression, Logit>>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => {
                let q = Array2::from_shape_fn((3, 2), |(i, j)| i as f64 - j as f64 * 0.5);
                result(m.effect(q.view()))
            }
        }
    });
    s.checkpoint(
        "Estimate",
        &Estimate::normal(0.2, 0.05).expect("estimate"),
        |json| match serde_json::from_str::<Estimate>(&json) {
            Err(_) => Check::Rejected,
            Ok(e) => Check::ok_finite(&(e, e.p_value_positive())).and(|| {
                Check::invariant(
                    e.lower <= e.upper && (0.0..=1.0).contains(&e.p_value),
                    "estimate invariants",
                )
            }),
        },
    );
    s.sweep("Estimate::normal", (any_f64(), any_f64()), |(e, se)| {
        result_with(Estimate::normal(e, se), |v| {
            if v.lower <= v.estimate && v.estimate <= v.upper {
                Ok(())
            } else {
                Err("interval".into())
            }
        })
    });
    // the propensity model (a newtype over prudentia-learn's lean fit): bad values, sizes,
    // settings, and its checkpoints
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for target in 0..2 {
            s.check(
                format!("LogitConfig::fit_xy bad[{bi}]={bad:e} in {}", ["x", "t"][target]),
                move || {
                    let (mut x, mut t, _) = base(40, 2);
                    if target == 0 {
                        x[[3, 1]] = bad;
                    } else {
                        t[3] = bad;
                    }
                    result(LogitConfig::default().fit_xy(x.view(), t.view()))
                },
            );
        }
    }
    s.sweep(
        "LogitConfig settings",
        (any_size(), any_f64()),
        |(max_iterations, tolerance)| {
            let (x, t, _) = base(40, 2);
            let c = LogitConfig {
                max_iterations,
                tolerance,
            };
            result(c.fit_xy(x.view(), t.view()))
        },
    );
    s.sweep("LogitConfig hostile x", matrix(0..40, 0..4), |x| {
        let t = Array1::from_shape_fn(x.nrows(), |i| {
            if x.row(i).sum() > 0.1 * (i % 3) as f64 {
                1.0
            } else {
                0.0
            }
        });
        result_with(LogitConfig::default().fit_xy(x.view(), t.view()), |m| {
            let json = serde_json::to_string(m).map_err(|e| e.to_string())?;
            serde_json::from_str::<Logit>(&json).map_err(|e| format!("own output does not reload: {e}"))?;
            Ok(())
        })
    });
    let (x, t, _) = base(60, 2);
    let logit = LogitConfig::default()
        .fit_xy(x.view(), t.view())
        .expect("base propensity fit");
    s.checkpoint("Logit", &logit, |json| {
        match serde_json::from_str::<Logit>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => {
                let xs =
                    Array2::from_shape_fn((2, m.coefficients().len() - 1), |(i, j)| (i + j) as f64 * 0.3);
                result(m.predict_proba(xs.view()))
            }
        }
    });
    s.checkpoint(
        "LogitConfig",
        &LogitConfig::default(),
        |json| match serde_json::from_str::<LogitConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let (x, t, _) = base(40, 2);
                result(c.fit_xy(x.view(), t.view()))
            }
        },
    );
    s.finish();
}

/// The first failure among `checks`; else `Rejected` if any was rejected; else `Ok`.
fn all(checks: Vec<Check>) -> Check {
    if let Some(bad) = checks.iter().find(|c| !matches!(c, Check::Ok | Check::Rejected)) {
        return bad.clone();
    }
    if checks.contains(&Check::Rejected) {
        Check::Rejected
    } else {
        Check::Ok
    }
}

fn iv_base(n: usize) -> (Array1<f64>, Array1<f64>, Array1<f64>) {
    let z = Array1::from_shape_fn(n, |i| (((i * 11) % 13) as f64 - 6.0) / 4.0);
    let u = Array1::from_shape_fn(n, |i| (((i * 7) % 5) as f64 - 2.0) / 3.0);
    let d = &z * 0.8 + &u;
    let y = &d * 0.5 + &u;
    (y, d, z)
}

#[test]
fn causal_iv_diagnostics_filter() {
    let mut s = Suite::new("causal iv, diagnostics, filter");
    for cov in [IvCovariance::Homoskedastic, IvCovariance::Robust] {
        for (bi, bad) in BAD.iter().copied().enumerate() {
            for target in 0..4 {
                s.check(
                    format!(
                        "2sls {cov:?} bad[{bi}]={bad:e} in {}",
                        ["y", "d", "z", "w"][target]
                    ),
                    move || {
                        let (mut y, mut d, mut z) = iv_base(30);
                        let mut w = Array2::from_shape_fn((30, 1), |(i, _)| ((i * 3) % 7) as f64);
                        match target {
                            0 => y[2] = bad,
                            1 => d[2] = bad,
                            2 => z[2] = bad,
                            _ => w[[2, 0]] = bad,
                        }
                        let zz = z.view().insert_axis(Axis(1));
                        let c = TwoSlsConfig {
                            covariance: cov,
                            ..TwoSlsConfig::default()
                        };
                        result(c.fit(&IvData::new(y.view(), d.view(), zz).with_controls(w.view())))
                    },
                );
            }
            s.check(format!("2sls {cov:?} all scaled by {bad:e}"), move || {
                let (y, d, z) = iv_base(30);
                let (y, d, z) = (y * bad, d * bad, z * bad);
                let zz = z.view().insert_axis(Axis(1));
                result(
                    TwoSlsConfig {
                        covariance: cov,
                        ..TwoSlsConfig::default()
                    }
                    .fit(&IvData::new(y.view(), d.view(), zz)),
                )
            });
        }
    }
    for (n, nd, nz, q) in [
        (0, 0, 0, 1),
        (2, 2, 2, 1),
        (30, 29, 30, 1),
        (30, 30, 29, 1),
        (30, 30, 30, 0),
        (30, 30, 30, 3),
    ] {
        s.check(format!("2sls shapes n={n} d={nd} z={nz} q={q}"), move || {
            let y = Array1::from_shape_fn(n, |i| i as f64);
            let d = Array1::from_shape_fn(nd, |i| (i % 3) as f64);
            let z = Array2::from_shape_fn((nz, q), |(i, j)| ((i + j) % 4) as f64);
            result(TwoSlsConfig::default().fit(&IvData::new(y.view(), d.view(), z.view())))
        });
    }
    s.sweep(
        "2sls hostile instruments",
        (matrix(0..40, 0..4), any_f64()),
        |(z, scale)| {
            let n = z.nrows();
            let d = Array1::from_shape_fn(n, |i| z.row(i).iter().sum::<f64>() + (i % 3) as f64);
            let y = Array1::from_shape_fn(n, |i| d[i] * scale + (i % 2) as f64);
            result(TwoSlsConfig::default().fit(&IvData::new(y.view(), d.view(), z.view())))
        },
    );
    s.sweep("2sls weak_threshold", any_f64(), |w| {
        let (y, d, z) = iv_base(30);
        let zz = z.view().insert_axis(Axis(1));
        result(
            TwoSlsConfig {
                weak_threshold: w,
                ..TwoSlsConfig::default()
            }
            .fit(&IvData::new(y.view(), d.view(), zz)),
        )
    });
    s.checkpoint(
        "TwoSlsConfig",
        &TwoSlsConfig::default(),
        move |json| match serde_json::from_str::<TwoSlsConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let (y, d, z) = iv_base(30);
                let zz = z.view().insert_axis(Axis(1));
                result(c.fit(&IvData::new(y.view(), d.view(), zz)))
            }
        },
    );
    let (y, d, z) = iv_base(30);
    let w = Array2::from_shape_fn((30, 1), |(i, _)| ((i * 3) % 7) as f64);
    let fit = TwoSlsConfig::default()
        .fit(&IvData::new(y.view(), d.view(), z.view().insert_axis(Axis(1))).with_controls(w.view()))
        .expect("2sls fit");
    s.checkpoint("TwoSlsFit", &fit, |json| {
        match serde_json::from_str::<TwoSlsFit>(&json) {
            Err(_) => Check::Rejected,
            Ok(f) => {
                let k = f.coefficients.len();
                let fs = f.first_stage;
                Check::ok_finite(&f).and(|| {
                    Check::invariant(
                        k >= 2
                            && f.effect == f.coefficients[1]
                            && (0.0..=1.0).contains(&fs.f_pvalue)
                            && (0.0..=1.0).contains(&fs.partial_r2)
                            && fs.df_den + fs.df_num + k - 1 == f.n_obs,
                        "2SLS fit invariants",
                    )
                })
            }
        }
    });
    // diagnostics
    s.sweep(
        "overlap/balance",
        (vec_f64(0..12), matrix(0..12, 0..3)),
        |(e, x)| {
            let n = e.len();
            let t = Array1::from_shape_fn(n, |i| (i % 2) as f64);
            let e = Array1::from(e);
            let a = overlap(t.view(), e.view());
            let b = balance(x.view(), t.view(), e.view());
            all(vec![result(a), result(b)])
        },
    );
    for (bi, bad) in BAD.iter().copied().enumerate() {
        s.check(format!("overlap/balance bad[{bi}]={bad:e}"), move || {
            let t = Array1::from_shape_fn(6, |i| (i % 2) as f64);
            let mut e = Array1::from_elem(6, 0.5);
            e[1] = bad;
            let x = Array2::from_elem((6, 2), bad);
            all(vec![
                result(overlap(t.view(), e.view())),
                result(balance(x.view(), t.view(), Array1::from_elem(6, 0.5).view())),
            ])
        });
    }
    s.sweep("refute subset_fraction", any_f64(), |f| {
        let (x, t, y) = base(40, 2);
        let l = learner(Folds::Seeded { k: 2, seed: 0 }, OutcomeModel::Pooled);
        result(refute(
            &l,
            &CausalData::new(x.view(), t.view(), y.view()),
            RefuteConfig {
                seed: 1,
                subset_fraction: f,
            },
        ))
    });
    // the filter
    s.sweep("filter config", (any_f64(), any_size()), |(fdr, min_history)| {
        result(SignalFilter::new(FilterConfig {
            fdr,
            min_history,
            ..FilterConfig::default()
        }))
    });
    s.sweep(
        "filter refit hostile histories",
        (matrix(0..80, 0..3), vec_f64(0..80)),
        |(x, r)| {
            let n = x.nrows();
            let sig = Array1::from_shape_fn(n, |i| (i % 3 == 0) as u8 as f64);
            let r = Array1::from(r);
            let mut f = SignalFilter::new(FilterConfig {
                min_history: 10,
                ..FilterConfig::default()
            })
            .expect("filter");
            let before = f.clone();
            let h = SignalHistory {
                covariates: x.view(),
                signal: sig.view(),
                forward_return: r.view(),
            };
            match f.refit(&[(AssetId::new("A"), h)]) {
                Err(_) => Check::invariant(f == before, "a refused refit changed the filter"),
                Ok(rep) => {
                    let kept = f.filter(vec![opportunity("A"), opportunity("B")]);
                    Check::invariant(rep.fitted.len() + rep.skipped.len() == 1, "report").and(|| result(kept))
                }
            }
        },
    );
    s.check("filter duplicate assets", || {
        let (x, t, y) = base(60, 2);
        let mut f = SignalFilter::new(FilterConfig::default()).expect("filter");
        let h = SignalHistory {
            covariates: x.view(),
            signal: t.view(),
            forward_return: y.view(),
        };
        match f.refit(&[(AssetId::new("A"), h), (AssetId::new("A"), h)]) {
            Err(_) => Check::invariant(f.is_empty(), "refused refit changed the filter"),
            Ok(_) => Check::Broken("duplicate assets accepted".into()),
        }
    });
    s.sweep(
        "filter set_effect",
        (any_f64(), any_f64(), any_f64(), any_size()),
        |(cate, std_error, p_value, n_obs)| {
            let mut f = SignalFilter::new(FilterConfig::default()).expect("filter");
            let e = AssetEffect {
                effect: CausalEffect {
                    cate,
                    std_error,
                    p_value,
                },
                n_obs,
                status: Status::Converged,
            };
            match f.set_effect(AssetId::new("A"), e) {
                Err(_) => Check::invariant(f.is_empty(), "refused set_effect changed the filter"),
                Ok(()) => result(f.filter(vec![opportunity("A")])),
            }
        },
    );
    // a fitted filter's checkpoint
    let (x, t, y) = base(80, 2);
    let mut f = SignalFilter::new(FilterConfig::default()).expect("filter");
    let h = SignalHistory {
        covariates: x.view(),
        signal: t.view(),
        forward_return: y.view(),
    };
    f.refit(&[(AssetId::new("A"), h), (AssetId::new("B"), h)])
        .expect("refit");
    s.checkpoint("SignalFilter", &f, |json| {
        match serde_json::from_str::<SignalFilter>(&json) {
            Err(_) => Check::Rejected,
            Ok(f) => result(f.filter(vec![opportunity("A"), opportunity("B"), opportunity("C")])),
        }
    });
    s.checkpoint(
        "FilterConfig",
        &FilterConfig::default(),
        |json| match serde_json::from_str::<FilterConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let (x, t, y) = base(80, 2);
                let h = SignalHistory {
                    covariates: x.view(),
                    signal: t.view(),
                    forward_return: y.view(),
                };
                match SignalFilter::new(c) {
                    Err(_) => Check::Rejected,
                    Ok(mut f) => match f.refit(&[(AssetId::new("A"), h)]) {
                        Err(_) => Check::Rejected,
                        Ok(_) => result(f.filter(vec![opportunity("A")])),
                    },
                }
            }
        },
    );
    s.finish();
}
