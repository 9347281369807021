//! Benchmark-relative statistics against empyrical-reloaded 0.7.1
//! (`tests/fixtures/empyrical_benchmark.json`, made by
//! `tools/fixtures/metrics/benchmark_fixture.py`): an equal-weight portfolio of the 20
//! shipped S&P 500 stocks against the S&P 500 index, 2014-2018.

use prudentia_metrics::{
    alpha, beta, down_capture, information_ratio, tracking_error, up_capture, Annualization, PerPeriodRate,
    RelativeStats, Report, ReportConfig, Returns,
};
use serde_json::Value;

const D: Annualization = Annualization::Daily252;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/empyrical_benchmark.json")).expect("fixture")
}

fn series(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .expect(key)
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn close(got: f64, want: &Value, what: &str) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no expected value"));
    let tol = 1e-10 * want.abs().max(1.0);
    println!(
        "{what}: {got:.15e} vs empyrical {want:.15e}, relative difference {:.1e}",
        ((got - want) / want).abs()
    );
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, empyrical {want:e}, diff {:e}",
        got - want
    );
}

#[test]
fn benchmark_statistics_match_empyrical() {
    let f = fixture();
    let r = Returns::new(series(&f, "strategy")).unwrap();
    let b = Returns::new(series(&f, "benchmark")).unwrap();
    assert_eq!(r.len(), 1257);
    for case in f["cases"].as_array().unwrap() {
        let rf = PerPeriodRate::new(case["risk_free"].as_f64().unwrap()).unwrap();
        close(beta(&r, &b, rf).unwrap().value().unwrap(), &case["beta"], "beta");
        close(
            alpha(&r, &b, rf, D).unwrap().value().unwrap(),
            &case["alpha"],
            "alpha",
        );
    }
    close(
        up_capture(&r, &b, D).unwrap().value().unwrap(),
        &f["up_capture"],
        "up capture",
    );
    close(
        down_capture(&r, &b, D).unwrap().value().unwrap(),
        &f["down_capture"],
        "down capture",
    );
    close(
        information_ratio(&r, &b, D).unwrap().value().unwrap(),
        &f["information_ratio"],
        "information ratio",
    );
    close(
        tracking_error(&r, &b, D).unwrap().value().unwrap(),
        &f["tracking_error"],
        "tracking error",
    );
    let all = RelativeStats::compute(&r, &b, PerPeriodRate::ZERO, D).unwrap();
    close(all.correlation.value().unwrap(), &f["correlation"], "correlation");
    close(all.beta.value().unwrap(), &f["cases"][0]["beta"], "beta (all)");
    close(all.alpha.value().unwrap(), &f["cases"][0]["alpha"], "alpha (all)");
}

#[test]
fn report_with_benchmark_agrees_and_reloads() {
    let f = fixture();
    let r = Returns::new(series(&f, "strategy")).unwrap();
    let rep = Report::new(ReportConfig::default(), &r)
        .unwrap()
        .with_benchmark("S&P 500", &series(&f, "benchmark"))
        .unwrap();
    let b = rep.benchmark.as_ref().unwrap();
    // through the equity curve: a few ulps per return, far inside 1e-10
    close(
        b.relative.beta.value().unwrap(),
        &f["cases"][0]["beta"],
        "report beta",
    );
    close(
        b.relative.up_capture.value().unwrap(),
        &f["up_capture"],
        "report up capture",
    );
    let json = rep.to_json().unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.benchmark, rep.benchmark);
    // a benchmark of the wrong length is refused on load
    let mut v: Value = serde_json::from_str(&json).unwrap();
    v["benchmark"]["returns"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_str::<Report>(&v.to_string()).is_err());
    // and at attachment
    let short = Report::new(ReportConfig::default(), &r)
        .unwrap()
        .with_benchmark("x", &[0.0; 3]);
    assert!(short.is_err());
}

#[test]
fn undefined_relative_statistics_say_why() {
    let r = Returns::new(vec![0.01, 0.02, -0.01]).unwrap();
    let flat = Returns::new(vec![0.0; 3]).unwrap();
    let s = RelativeStats::compute(&r, &flat, PerPeriodRate::ZERO, D).unwrap();
    assert!(!s.beta.is_defined() && !s.alpha.is_defined());
    assert!(!s.up_capture.is_defined() && !s.down_capture.is_defined());
    assert!(s.tracking_error.is_defined());
    // identical series: no active risk
    let same = RelativeStats::compute(&r, &r, PerPeriodRate::ZERO, D).unwrap();
    assert!(!same.tracking_error.is_defined() && !same.information_ratio.is_defined());
    assert!((same.beta.value().unwrap() - 1.0).abs() < 1e-12);
    assert!(beta(&r, &Returns::new(vec![0.0; 2]).unwrap(), PerPeriodRate::ZERO).is_err());
}
