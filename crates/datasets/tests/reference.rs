//! Loaders and the returns rule against pandas: tests/fixtures/pandas_reference.json, written by
//! tools/fixtures/datasets/pandas_reference.py (read_csv, `pct_change(fill_method=None)`,
//! `np.log(P_t / P_{t-1})`, std with ddof = 1; versions in the file's "provenance").

use prudentia_datasets::*;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/pandas_reference.json");

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-12 + 1e-9 * b.abs(),
        "{what}: {a:e} vs pandas {b:e}"
    );
}

/// (count, mean, std with ddof = 1) of the present values.
fn stats(x: ndarray::ArrayView1<'_, f64>, mask: ndarray::ArrayView1<'_, bool>) -> (usize, f64, f64) {
    let v: Vec<f64> = x.iter().zip(mask).filter(|(_, &m)| !m).map(|(&v, _)| v).collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (v.len(), mean, var.sqrt())
}

fn check_stats(frame: &Frame, expected: &Value, what: &str) {
    for (j, col) in frame.columns().iter().enumerate() {
        let e = &expected[col];
        let (count, mean, std) = stats(frame.values().column(j), frame.missing_mask().column(j));
        assert_eq!(count as u64, e["count"].as_u64().unwrap(), "{what} {col} count");
        close(mean, e["mean"].as_f64().unwrap(), &format!("{what} {col} mean"));
        close(std, e["std"].as_f64().unwrap(), &format!("{what} {col} std"));
    }
}

#[test]
fn every_loader_agrees_with_pandas() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    for (name, load) in LOADERS {
        let f = load().unwrap();
        let e = &fixture["files"][name];
        assert_eq!(f.n_rows() as u64, e["rows"].as_u64().unwrap(), "{name}");
        assert_eq!(f.first_date().to_string(), e["first_date"].as_str().unwrap());
        assert_eq!(f.last_date().to_string(), e["last_date"].as_str().unwrap());
        let cols: Vec<&str> = e["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(f.columns(), &cols[..], "{name}");
        for col in f.columns() {
            assert_eq!(
                f.missing_count(col).unwrap() as u64,
                e["missing"][col].as_u64().unwrap(),
                "{name} {col}"
            );
        }
        check_stats(&f, &e["level_stats"], name);
        if e.get("simple_return_stats").is_none() {
            continue;
        }
        let simple = f.simple_returns().unwrap();
        let log = f.log_returns().unwrap();
        check_stats(&simple, &e["simple_return_stats"], &format!("{name} simple"));
        check_stats(&log, &e["log_return_stats"], &format!("{name} log"));
        for col in f.columns() {
            assert_eq!(
                simple.missing_count(col).unwrap() as u64,
                e["simple_return_missing"][col].as_u64().unwrap(),
                "{name} {col} missing returns"
            );
        }
        for s in e["simple_return_samples"].as_array().unwrap() {
            let date = chrono::NaiveDate::parse_from_str(s["date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
            let t = simple.row_of(date).unwrap();
            let v = simple.column(s["column"].as_str().unwrap()).unwrap()[t];
            match s["value"].as_f64() {
                Some(x) => close(v, x, &format!("{name} {date}")),
                None => assert!(v.is_nan()),
            }
        }
    }
    let (r, v) = align(
        &sp500_stocks().unwrap().simple_returns().unwrap(),
        &vix().unwrap(),
    )
    .unwrap();
    assert_eq!(
        r.n_rows() as u64,
        fixture["stock_returns_with_vix_rows"].as_u64().unwrap()
    );
    assert_eq!(
        v.total_missing() as u64,
        fixture["stock_returns_with_vix_missing_vix"].as_u64().unwrap()
    );
}
