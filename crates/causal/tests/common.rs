//! Shared helpers of the tests.

use ndarray::{Array1, Array2};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/fixtures/causal");

/// Reads a numeric CSV with a header into columns.
pub fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut cols = vec![Vec::new(); header.len()];
    for l in lines.filter(|l| !l.is_empty()) {
        for (c, v) in cols.iter_mut().zip(l.split(',')) {
            c.push(v.parse::<f64>().unwrap());
        }
    }
    (header, cols)
}

pub fn column(h: &[String], cols: &[Vec<f64>], name: &str) -> Array1<f64> {
    let i = h.iter().position(|c| c == name).expect(name);
    Array1::from(cols[i].clone())
}

pub fn matrix(h: &[String], cols: &[Vec<f64>], names: &[&str]) -> Array2<f64> {
    let n = cols[0].len();
    Array2::from_shape_fn((n, names.len()), |(i, j)| column(h, cols, names[j])[i])
}

pub fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/reference.json")).unwrap()).unwrap()
}

pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn close(what: &str, got: f64, want: f64, abs: f64) {
    assert!(
        (got - want).abs() <= abs,
        "{what}: got {got}, want {want} (tolerance {abs})"
    );
}

pub fn close_rel(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, want {want} (relative tolerance {rel})"
    );
}
