//! Agreement with EconML 0.17, linearmodels 7.1 and statsmodels 0.15 on the checked-in
//! fixtures (`tools/fixtures/causal/`): point estimates 1e-6, standard errors 1e-4 relative,
//! CATE at test points 1e-6.

use prudentia_causal::{CausalData, DrConfig, DrLearner, FinalCovariance, Folds};

use crate::common::*;

struct Input {
    x: ndarray::Array2<f64>,
    t: ndarray::Array1<f64>,
    y: ndarray::Array1<f64>,
    fold: Vec<usize>,
    test: ndarray::Array2<f64>,
}

fn input() -> Input {
    let (h, c) = read_csv("causal_input.csv");
    let (th, tc) = read_csv("causal_test.csv");
    Input {
        x: matrix(&h, &c, &["x0", "x1", "x2"]),
        t: column(&h, &c, "t"),
        y: column(&h, &c, "y"),
        fold: column(&h, &c, "fold").iter().map(|&f| f as usize).collect(),
        test: matrix(&th, &tc, &["x0", "x1", "x2"]),
    }
}

#[test]
fn dr_learner_matches_econml_linear_dr_learner_hc1() {
    dr_case("dr", FinalCovariance::Hc1);
}

#[test]
fn dr_learner_matches_econml_linear_dr_learner_hc0() {
    dr_case("dr_hc0", FinalCovariance::Hc0);
}

fn dr_case(key: &str, covariance: FinalCovariance) {
    let inp = input();
    let r = reference();
    let dr = &r[key];
    let config = DrConfig {
        folds: Folds::Explicit(inp.fold.clone()),
        covariance,
        ..DrConfig::default()
    };
    let m = DrLearner::new(config)
        .fit(&CausalData::new(inp.x.view(), inp.t.view(), inp.y.view()))
        .unwrap();
    let coefs = m.coefficients();
    close(
        "intercept",
        coefs[0].estimate,
        dr["intercept"].as_f64().unwrap(),
        1e-6,
    );
    close_rel(
        "intercept se",
        coefs[0].std_error,
        dr["intercept_stderr"].as_f64().unwrap(),
        1e-4,
    );
    for (j, (want, want_se)) in floats(&dr["coef"])
        .into_iter()
        .zip(floats(&dr["coef_stderr"]))
        .enumerate()
    {
        close(&format!("coef {j}"), coefs[j + 1].estimate, want, 1e-6);
        close_rel(&format!("coef {j} se"), coefs[j + 1].std_error, want_se, 1e-4);
    }
    let cate = m.cate(inp.test.view()).unwrap();
    for (i, (want, want_se)) in floats(&dr["cate"])
        .into_iter()
        .zip(floats(&dr["cate_stderr"]))
        .enumerate()
    {
        close(&format!("cate {i}"), cate[i].estimate, want, 1e-6);
        close_rel(&format!("cate {i} se"), cate[i].std_error, want_se, 1e-4);
    }
    let ate = m.ate_given_x();
    close("ate", ate.estimate, dr["ate"].as_f64().unwrap(), 1e-6);
    close_rel("ate se", ate.std_error, dr["ate_stderr"].as_f64().unwrap(), 1e-4);
}

#[test]
fn two_sls_matches_linearmodels_iv2sls() {
    use prudentia_causal::iv::{InstrumentStrength, IvCovariance, IvData, TwoSlsConfig};
    let (h, c) = read_csv("iv_input.csv");
    let y = column(&h, &c, "y");
    let d = column(&h, &c, "d");
    let z = matrix(&h, &c, &["z1", "z2"]);
    let w = matrix(&h, &c, &["w"]);
    let r = reference();
    let data = IvData::new(y.view(), d.view(), z.view()).with_controls(w.view());
    for (key, covariance, small_sample) in [
        ("unadjusted_plain", IvCovariance::Homoskedastic, false),
        ("unadjusted_debiased", IvCovariance::Homoskedastic, true),
        ("robust_plain", IvCovariance::Robust, false),
        ("robust_debiased", IvCovariance::Robust, true),
    ] {
        let fit = TwoSlsConfig {
            covariance,
            small_sample,
            ..TwoSlsConfig::default()
        }
        .fit(&data)
        .unwrap();
        let want = &r["iv"][key];
        for (j, (b, se)) in floats(&want["params"])
            .into_iter()
            .zip(floats(&want["std_errors"]))
            .enumerate()
        {
            close(&format!("{key} coef {j}"), fit.coefficients[j].estimate, b, 1e-6);
            close_rel(&format!("{key} se {j}"), fit.coefficients[j].std_error, se, 1e-4);
        }
        let fs = &r["iv"]["first_stage"];
        close_rel(
            "first-stage F",
            fit.first_stage.f_stat,
            fs["f_stat"].as_f64().unwrap(),
            1e-6,
        );
        close_rel(
            "first-stage F p",
            fit.first_stage.f_pvalue,
            fs["f_pvalue"].as_f64().unwrap(),
            1e-4,
        );
        close_rel(
            "partial R2",
            fit.first_stage.partial_r2,
            fs["partial_r2"].as_f64().unwrap(),
            1e-6,
        );
        assert_eq!(fit.strength, InstrumentStrength::Strong);
    }
}

#[test]
fn meta_learners_match_econml() {
    use prudentia_causal::meta::{SLearner, TLearner, XLearner};
    let inp = input();
    let r = reference();
    let data = CausalData::new(inp.x.view(), inp.t.view(), inp.y.view());
    let t = TLearner::default()
        .fit(&data)
        .unwrap()
        .effect(inp.test.view())
        .unwrap();
    let s = SLearner::default()
        .fit(&data)
        .unwrap()
        .effect(inp.test.view())
        .unwrap();
    let x = XLearner::default()
        .fit(&data)
        .unwrap()
        .effect(inp.test.view())
        .unwrap();
    for (name, got, key) in [
        ("T", &t, "tlearner_cate"),
        ("S", &s, "slearner_cate"),
        ("X", &x, "xlearner_cate"),
    ] {
        for (i, want) in floats(&r[key]).into_iter().enumerate() {
            close(&format!("{name}-learner cate {i}"), got[i], want, 1e-6);
        }
    }
}
